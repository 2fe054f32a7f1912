package rtde_test

import (
	"context"
	"fmt"
	"time"

	"fabcell/robot/ur/rtde"
	"fabcell/simulation/ursim"
)

// Stream the robot state at 500 Hz and read the newest frame.
func ExampleDial() {
	sim, err := ursim.Start(ursim.Options{Ready: true, RTDEAddr: "127.0.0.1:0", DashboardAddr: "-", ScriptAddr: "-", Logger: quietLogger()})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{
		FrequencyHz: 500,
		Outputs:     []string{"timestamp", "actual_q", "robot_mode"},
		Inputs:      [][]string{{"input_int_register_24"}},
	})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Println(c.OutputRecipe().TypeString())
	if err := c.Start(ctx); err != nil {
		panic(err)
	}
	f, err := c.Wait(ctx, func(*rtde.Frame) bool { return true })
	if err != nil {
		panic(err)
	}
	mode, _ := f.Int32("robot_mode")
	fmt.Println(rtde.RobotMode(mode))
	in, _ := c.InputRecipe(0)
	fmt.Println(in.Set(ctx, map[string]any{"input_int_register_24": 42}))
	// Output:
	// DOUBLE,VECTOR6D,INT32
	// RUNNING
	// <nil>
}
