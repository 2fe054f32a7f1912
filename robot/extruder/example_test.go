package extruder_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"fabcell/config"
	"fabcell/robot/extruder"
	"fabcell/robot/extruder/boardsim"
)

// A dry run: the simulated board on a pty (100× faster than real time) and
// the driver opened on it like a serial port.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	board, err := boardsim.Start(ctx, boardsim.Options{Speed: 100})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer board.Close()
	cell := config.Defaults()
	d, err := extruder.Open(ctx, board.Path(), cell.Serial, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()

	// Heat the fibre nozzle T1, then extrude with it.
	if err := d.WaitTemp(ctx, 1, cell.CCF.FiberTempC, nil); err != nil {
		fmt.Println(err)
		return
	}
	n, err := d.Stream(ctx, slices.Values([]string{"T1", "M83", "G1 X10 E0.5 F600", "G1 X20 E0.5", "M280 P0 S90 ; cut"}))
	fmt.Println(n, err)
	t, _ := d.QueryTemps(ctx)
	fmt.Printf("T1 %.0f/%.0f °C\n", t.Tools[1].CurrentC, t.Tools[1].TargetC)
	fmt.Printf("T1 extruded %.1f mm, acknowledged up to N%d\n", board.Snapshot().ExtrudedMM[1], d.Status().LastAcked)
	// Output:
	// 5 <nil>
	// T1 240/240 °C
	// T1 extruded 1.0 mm, acknowledged up to N7
}
