package script_test

import (
	"fmt"
	"time"

	"fabcell/robot/ur/script"
)

// Build a program from user-supplied names: the job name becomes a safe
// identifier and the message a closed string literal.
func ExampleNewProgram() {
	p := script.NewProgram(`bracket"); halt #`)
	p.MoveJ([6]float64{0, -1.5708, 1.5708, -1.5708, -1.5708, 0}, script.Motion{Speed: 1.05, Accel: 1.4}).
		SetToolDigitalOut(0, true).
		Sleep(500 * time.Millisecond).
		TextMsg("layer 3 of \"bracket\"\nend")
	src, err := p.Build()
	if err != nil {
		panic(err)
	}
	fmt.Print(src)
	// Output:
	// def bracket____halt__():
	//   movej([0, -1.5708, 1.5708, -1.5708, -1.5708, 0], a=1.4, v=1.05)
	//   set_tool_digital_out(0, True)
	//   sleep(0.5)
	//   textmsg("layer 3 of 'bracket' end")
	// end
}
