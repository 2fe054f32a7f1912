package wireframe_test

import (
	"fmt"

	"github.com/golang/geo/r3"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/processes/wireframe"
	"fabcell/robot/ur/script"
)

// A controller turns each planner move into robot steps as it arrives
// (here two struts forming an L on the bed) and sends them, e.g., through
// the RTDE register dispatcher. The second strut starts where the first
// ended, at the same head axis, so its approach point is the first one's
// retract point and the tool goes straight down.
// (Dispatcher calls: d.MoveL(ctx, script.PoseFromGeom(st.TCP),
// st.Motion), d.SetToolDigitalOut(ctx, st.Output, st.On), ...)
func ExampleMotions() {
	p, err := wireframe.New(config.Defaults())
	if err != nil {
		panic(err)
	}
	g, err := graph.New([]r3.Vector{{}, {X: 10}, {X: 10, Y: 10}}, []graph.Edge{{A: 0, B: 1}, {A: 1, B: 2}}, []bool{true, true, true})
	if err != nil {
		panic(err)
	}
	mo, err := p.NewMotions(g)
	if err != nil {
		panic(err)
	}
	tcp := mo.ToolOffset() // for set_tcp
	fmt.Printf("set_tcp z %.3f m\n", tcp[2])
	for _, st := range mo.Start() {
		fmt.Println(st.Kind, st.Note)
	}
	for _, m := range []planners.Move{{From: 0, To: 1, Kind: planners.Print, Edge: 0}, {From: 1, To: 2, Kind: planners.Print, Edge: 1}} {
		steps, err := mo.Next(m)
		if err != nil {
			panic(err)
		}
		for _, st := range steps {
			if st.Kind == wireframe.StepMoveP {
				x := script.PoseFromGeom(st.TCP)
				fmt.Printf("%s %s to (%.3f, %.3f, %.3f) m at %.3f m/s\n", st.Kind, st.Note, x[0], x[1], x[2], st.Motion.Speed)
				continue
			}
			fmt.Println(st.Kind, st.Note)
		}
	}
	fin, err := mo.Finish()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(fin), "closing steps")
	// Output:
	// set_tcp z 0.150 m
	// feed feed
	// extrude extruder off
	// movej home
	// movej approach
	// movel approach down
	// extrude extrude on
	// movep print strut 0 to (0.410, 0.000, 0.025) m at 0.008 m/s
	// extrude extrude off
	// dwell cool
	// movel retract
	// movel approach down
	// extrude extrude on
	// movep print strut 1 to (0.410, 0.010, 0.025) m at 0.008 m/s
	// extrude extrude off
	// dwell cool
	// movel retract
	// 3 closing steps
}
