package script

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"fabcell/robot/ur/rtde"
)

// Register command channel (ur_rtde style, spec §1 item 2): a dispatcher
// URScript, uploaded through the secondary interface, loops every control
// cycle reading a command code and a sequence number from RTDE input int
// registers and the parameters from input double registers, executes the
// command and acknowledges through output int registers. The Go side
// writes the registers with one RTDE input recipe and waits for the
// acknowledgement in the output stream.
//
// Register layout, all indices relative to the offset (0, or 24 for the
// upper range like ur_rtde's UPPER_RANGE_REGISTERS):
//
//	input_int_register    +0  command code        +1  sequence number
//	input_double_register +0 … +9  parameters
//	output_int_register   +0  last acknowledged sequence number
//	                      +1  status: 1 ready, 2 busy, 0 dispatcher exited
//	                      +2  nonce of the running dispatcher instance
//	                      +3  error code of the last command (0 = ok)
//
// A move with a blend radius is acknowledged when the controller starts
// blending (the URScript call returns early), so the next move can blend
// into it; a move without blend is acknowledged when the arm stopped.

// Command codes.
const (
	CmdMoveJ       = 1  // q[6], a, v, t, r
	CmdMoveJPose   = 2  // pose[6], a, v, t, r
	CmdMoveL       = 3  // pose[6], a, v, t, r
	CmdMoveP       = 4  // pose[6], a, v, r
	CmdStopL       = 5  // a
	CmdStopJ       = 6  // a
	CmdStdDigital  = 7  // pin, value
	CmdToolDigital = 8  // pin, value
	CmdConfDigital = 9  // pin, value
	CmdStdAnalog   = 10 // pin, fraction
	CmdDwell       = 11 // seconds
	CmdQuit        = 12
	CmdSetTCP      = 13 // pose[6]: flange → TCP
	numParams      = 10
	statusExited   = 0
	statusReady    = 1
	statusBusy     = 2
	errUnknownCmd  = 1
	defaultJAccel  = 1.4
	defaultJSpeed  = 1.05
	defaultLAccel  = 1.2
	defaultLSpeed  = 0.25
)

// DispatcherInputs returns the input recipe the dispatcher needs.
func DispatcherInputs(offset int) []string {
	names := []string{rtde.InputIntRegister(offset), rtde.InputIntRegister(offset + 1)}
	for i := 0; i < numParams; i++ {
		names = append(names, rtde.InputDoubleRegister(offset+i))
	}
	return names
}

// DispatcherOutputs returns the output fields the dispatcher needs in the
// client's output recipe.
func DispatcherOutputs(offset int) []string {
	out := []string{"runtime_state", "safety_mode"}
	for i := 0; i < 4; i++ {
		out = append(out, rtde.OutputIntRegister(offset+i))
	}
	return out
}

func checkOffset(offset int) error {
	if offset != 0 && offset != 24 {
		return fmt.Errorf("script: register offset must be 0 or 24, got %d", offset)
	}
	return nil
}

// DispatcherScript returns the dispatcher program for a register offset
// and instance nonce.
func DispatcherScript(offset int, nonce int32) (string, error) {
	if err := checkOffset(offset); err != nil {
		return "", err
	}
	o := offset
	in := func(i int) string { return fmt.Sprintf("read_input_float_register(%d)", o+i) }
	six := func() string {
		s := make([]string, 6)
		for i := range s {
			s[i] = in(i)
		}
		return strings.Join(s, ", ")
	}
	var b strings.Builder
	w := func(indent int, format string, args ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	w(0, "def fabcell_dispatch():")
	w(1, "# fabcell register command channel: registers %d..%d", o, o+numParams-1)
	w(1, "write_output_integer_register(%d, %d)", o+1, statusBusy)
	w(1, "write_output_integer_register(%d, 0)", o+3)
	w(1, "last = read_input_integer_register(%d)", o+1)
	w(1, "write_output_integer_register(%d, last)", o)
	w(1, "write_output_integer_register(%d, %d)", o+2, nonce)
	w(1, "write_output_integer_register(%d, %d)", o+1, statusReady)
	w(1, "running = True")
	w(1, "while running:")
	w(2, "seq = read_input_integer_register(%d)", o+1)
	w(2, "if seq != last:")
	w(3, "cmd = read_input_integer_register(%d)", o)
	w(3, "write_output_integer_register(%d, %d)", o+1, statusBusy)
	w(3, "err = 0")
	w(3, "if cmd == %d:", CmdMoveJ)
	w(4, "movej([%s], a=%s, v=%s, t=%s, r=%s)", six(), in(6), in(7), in(8), in(9))
	w(3, "elif cmd == %d:", CmdMoveJPose)
	w(4, "movej(p[%s], a=%s, v=%s, t=%s, r=%s)", six(), in(6), in(7), in(8), in(9))
	w(3, "elif cmd == %d:", CmdMoveL)
	w(4, "movel(p[%s], a=%s, v=%s, t=%s, r=%s)", six(), in(6), in(7), in(8), in(9))
	w(3, "elif cmd == %d:", CmdMoveP)
	w(4, "movep(p[%s], a=%s, v=%s, r=%s)", six(), in(6), in(7), in(9))
	w(3, "elif cmd == %d:", CmdStopL)
	w(4, "stopl(%s)", in(0))
	w(3, "elif cmd == %d:", CmdStopJ)
	w(4, "stopj(%s)", in(0))
	w(3, "elif cmd == %d:", CmdStdDigital)
	w(4, "set_standard_digital_out(floor(%s + 0.5), %s > 0.5)", in(0), in(1))
	w(3, "elif cmd == %d:", CmdToolDigital)
	w(4, "set_tool_digital_out(floor(%s + 0.5), %s > 0.5)", in(0), in(1))
	w(3, "elif cmd == %d:", CmdConfDigital)
	w(4, "set_configurable_digital_out(floor(%s + 0.5), %s > 0.5)", in(0), in(1))
	w(3, "elif cmd == %d:", CmdStdAnalog)
	w(4, "set_standard_analog_out(floor(%s + 0.5), %s)", in(0), in(1))
	w(3, "elif cmd == %d:", CmdSetTCP)
	w(4, "set_tcp(p[%s])", six())
	w(3, "elif cmd == %d:", CmdDwell)
	w(4, "sleep(%s)", in(0))
	w(3, "elif cmd == %d:", CmdQuit)
	w(4, "running = False")
	w(3, "else:")
	w(4, "err = %d", errUnknownCmd)
	w(3, "end")
	w(3, "write_output_integer_register(%d, err)", o+3)
	w(3, "write_output_integer_register(%d, seq)", o)
	w(3, "write_output_integer_register(%d, %d)", o+1, statusReady)
	w(3, "last = seq")
	w(2, "end")
	w(2, "sync()")
	w(1, "end")
	w(1, "write_output_integer_register(%d, %d)", o+1, statusExited)
	w(0, "end")
	return b.String(), nil
}

// Dispatcher drives the dispatcher script. Commands are serialised: each
// call returns after the acknowledgement (or an error).
type Dispatcher struct {
	c      *rtde.Client
	in     *rtde.InputRecipe
	offset int
	nonce  int32
	seq    int32
	cmdCh  chan struct{} // 1-token semaphore
}

// Errors of the command channel.
var (
	ErrProtectiveStop = errors.New("script: robot is protective-stopped")
	ErrSafetyStop     = errors.New("script: robot safety stop")
	ErrProgramStopped = errors.New("script: dispatcher program is not running")
	ErrCommandFailed  = errors.New("script: dispatcher rejected the command")
)

// NewDispatcher uploads the dispatcher through sender and waits until it
// reports ready. c must have been dialed with DispatcherOutputs(offset) in
// its outputs and DispatcherInputs(offset) as input recipe inputIdx, and
// be started.
func NewDispatcher(ctx context.Context, c *rtde.Client, inputIdx int, sender *Sender, offset int) (*Dispatcher, error) {
	if err := checkOffset(offset); err != nil {
		return nil, err
	}
	out := c.OutputRecipe()
	for _, n := range DispatcherOutputs(offset) {
		if out.Index(n) < 0 {
			return nil, fmt.Errorf("script: RTDE output recipe lacks %q (include DispatcherOutputs(%d))", n, offset)
		}
	}
	in, err := c.InputRecipe(inputIdx)
	if err != nil {
		return nil, err
	}
	want := DispatcherInputs(offset)
	if strings.Join(in.Names(), ",") != strings.Join(want, ",") {
		return nil, fmt.Errorf("script: input recipe %d is %v, want DispatcherInputs(%d) = %v", inputIdx, in.Names(), offset, want)
	}
	d := &Dispatcher{c: c, in: in, offset: offset, nonce: rand.Int32N(math.MaxInt32-1) + 1, cmdCh: make(chan struct{}, 1)}
	// reset the sequence so the new instance's baseline is known
	zero := make([]rtde.Value, len(want))
	zero[0], zero[1] = rtde.Int32Value(0), rtde.Int32Value(0)
	for i := 2; i < len(zero); i++ {
		zero[i] = rtde.DoubleValue(0)
	}
	if err := in.SendValues(ctx, zero); err != nil {
		return nil, err
	}
	prog, err := DispatcherScript(offset, d.nonce)
	if err != nil {
		return nil, err
	}
	if _, err := sender.Send(ctx, prog); err != nil {
		return nil, err
	}
	reg := func(f *rtde.Frame, i int) int32 { v, _ := f.Int32(rtde.OutputIntRegister(offset + i)); return v }
	f, err := c.Wait(ctx, func(f *rtde.Frame) bool {
		return reg(f, 2) == d.nonce && reg(f, 1) == statusReady
	})
	if err != nil {
		return nil, fmt.Errorf("script: waiting for the dispatcher to start: %w", err)
	}
	d.seq = reg(f, 0) // the sequence number the dispatcher took as its baseline
	return d, nil
}

// do sends one command and waits for its acknowledgement.
func (d *Dispatcher) do(ctx context.Context, cmd int32, params ...float64) error {
	if len(params) > numParams {
		panic("script: too many parameters")
	}
	for _, p := range params {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return fmt.Errorf("script: command %d: parameter %v is not finite", cmd, p)
		}
	}
	select {
	case d.cmdCh <- struct{}{}:
		defer func() { <-d.cmdCh }()
	case <-ctx.Done():
		return ctx.Err()
	}
	seq := d.seq + 1
	vals := make([]rtde.Value, 2+numParams)
	vals[0], vals[1] = rtde.Int32Value(cmd), rtde.Int32Value(seq)
	for i := 0; i < numParams; i++ {
		x := 0.0
		if i < len(params) {
			x = params[i]
		}
		vals[2+i] = rtde.DoubleValue(x)
	}
	if err := d.in.SendValues(ctx, vals); err != nil {
		return err
	}
	d.seq = seq
	reg := func(f *rtde.Frame, i int) int32 { v, _ := f.Int32(rtde.OutputIntRegister(d.offset + i)); return v }
	var failure error
	f, err := d.c.Wait(ctx, func(f *rtde.Frame) bool {
		if reg(f, 0) == seq && (reg(f, 1) == statusReady || cmd == CmdQuit) {
			return true
		}
		sm, _ := f.Int32("safety_mode")
		rs, _ := f.Uint32("runtime_state")
		switch {
		case rtde.SafetyMode(sm) == rtde.SafetyProtectiveStop:
			failure = ErrProtectiveStop
		case sm != int32(rtde.SafetyNormal) && sm != int32(rtde.SafetyReduced) && sm != 0:
			failure = fmt.Errorf("%w: %s", ErrSafetyStop, rtde.SafetyMode(sm))
		case reg(f, 2) != d.nonce:
			failure = fmt.Errorf("%w: another program replaced it", ErrProgramStopped)
		case rtde.RuntimeState(rs) == rtde.RuntimeStopped || reg(f, 1) == statusExited:
			failure = ErrProgramStopped
		}
		return failure != nil
	})
	if err != nil {
		return fmt.Errorf("script: command %d seq %d: %w", cmd, seq, err)
	}
	if failure != nil {
		return fmt.Errorf("script: command %d seq %d: %w", cmd, seq, failure)
	}
	if code := reg(f, 3); code != 0 {
		return fmt.Errorf("%w: command %d error code %d", ErrCommandFailed, cmd, code)
	}
	return nil
}

func motion(m Motion, da, dv float64) (a, v, t, r float64) {
	a, v = m.Accel, m.Speed
	if a <= 0 {
		a = da
	}
	if v <= 0 {
		v = dv
	}
	return a, v, m.Time.Seconds(), m.BlendM
}

// MoveJ moves to joint angles q (rad).
func (d *Dispatcher) MoveJ(ctx context.Context, q [6]float64, m Motion) error {
	a, v, t, r := motion(m, defaultJAccel, defaultJSpeed)
	return d.do(ctx, CmdMoveJ, q[0], q[1], q[2], q[3], q[4], q[5], a, v, t, r)
}

// MoveJPose moves in joint space to a pose (IK on the controller).
func (d *Dispatcher) MoveJPose(ctx context.Context, x Pose, m Motion) error {
	a, v, t, r := motion(m, defaultJAccel, defaultJSpeed)
	return d.do(ctx, CmdMoveJPose, x[0], x[1], x[2], x[3], x[4], x[5], a, v, t, r)
}

// MoveL moves the tool in a straight line.
func (d *Dispatcher) MoveL(ctx context.Context, x Pose, m Motion) error {
	a, v, t, r := motion(m, defaultLAccel, defaultLSpeed)
	return d.do(ctx, CmdMoveL, x[0], x[1], x[2], x[3], x[4], x[5], a, v, t, r)
}

// MoveP is a process move (constant tool speed, circular blends).
func (d *Dispatcher) MoveP(ctx context.Context, x Pose, m Motion) error {
	a, v, _, r := motion(m, defaultLAccel, defaultLSpeed)
	return d.do(ctx, CmdMoveP, x[0], x[1], x[2], x[3], x[4], x[5], a, v, 0, r)
}

// StopL decelerates linearly at a m/s².
func (d *Dispatcher) StopL(ctx context.Context, a float64) error { return d.do(ctx, CmdStopL, a) }

// StopJ decelerates in joint space at a rad/s².
func (d *Dispatcher) StopJ(ctx context.Context, a float64) error { return d.do(ctx, CmdStopJ, a) }

func pinCheck(kind string, n, hi int) error {
	if n < 0 || n > hi {
		return fmt.Errorf("script: %s output %d outside 0..%d", kind, n, hi)
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// SetStandardDigitalOut sets standard digital output n (0..7).
func (d *Dispatcher) SetStandardDigitalOut(ctx context.Context, n int, on bool) error {
	if err := pinCheck("standard digital", n, 7); err != nil {
		return err
	}
	return d.do(ctx, CmdStdDigital, float64(n), b2f(on))
}

// SetToolDigitalOut sets tool digital output n (0..1).
func (d *Dispatcher) SetToolDigitalOut(ctx context.Context, n int, on bool) error {
	if err := pinCheck("tool digital", n, 1); err != nil {
		return err
	}
	return d.do(ctx, CmdToolDigital, float64(n), b2f(on))
}

// SetConfigurableDigitalOut sets configurable digital output n (0..7).
func (d *Dispatcher) SetConfigurableDigitalOut(ctx context.Context, n int, on bool) error {
	if err := pinCheck("configurable digital", n, 7); err != nil {
		return err
	}
	return d.do(ctx, CmdConfDigital, float64(n), b2f(on))
}

// SetStandardAnalogOut sets analog output n (0..1) to frac ∈ [0, 1].
func (d *Dispatcher) SetStandardAnalogOut(ctx context.Context, n int, frac float64) error {
	if err := pinCheck("standard analog", n, 1); err != nil {
		return err
	}
	if !(frac >= 0 && frac <= 1) {
		return fmt.Errorf("script: analog fraction %v outside [0, 1]", frac)
	}
	return d.do(ctx, CmdStdAnalog, float64(n), frac)
}

// Dwell waits on the controller for dur.
func (d *Dispatcher) Dwell(ctx context.Context, dur time.Duration) error {
	if dur < 0 {
		return fmt.Errorf("script: negative dwell %v", dur)
	}
	return d.do(ctx, CmdDwell, dur.Seconds())
}

// Quit ends the dispatcher program.
func (d *Dispatcher) Quit(ctx context.Context) error { return d.do(ctx, CmdQuit) }

// SetTCP sets the tool centre point (flange → TCP, metres and rotation
// vector) for all following moves (URScript set_tcp).
func (d *Dispatcher) SetTCP(ctx context.Context, tcp Pose) error {
	return d.do(ctx, CmdSetTCP, tcp[0], tcp[1], tcp[2], tcp[3], tcp[4], tcp[5])
}

// Nonce returns the instance nonce of this dispatcher (output register +2
// while it runs).
func (d *Dispatcher) Nonce() int32 { return d.nonce }

// Seq returns the sequence number of the last command sent; the next
// command gets Seq()+1.
func (d *Dispatcher) Seq() int32 {
	d.cmdCh <- struct{}{}
	defer func() { <-d.cmdCh }()
	return d.seq
}

// AwaitAck waits until the dispatcher acknowledged command seq. Unlike the
// command methods it rides out protective and safeguard stops: after the
// operator unlocks the stop and resumes the program, the controller
// finishes the interrupted move and acknowledges it. It fails when the
// dispatcher program stops or is replaced, or ctx ends.
func (d *Dispatcher) AwaitAck(ctx context.Context, seq int32) error {
	var failure error
	f, err := d.c.Wait(ctx, func(f *rtde.Frame) bool {
		last, status, nonce, _ := DispatcherRegisters(f, d.offset)
		if nonce != d.nonce {
			failure = fmt.Errorf("%w: another program replaced it", ErrProgramStopped)
			return true
		}
		if status == statusExited {
			failure = ErrProgramStopped
			return true
		}
		return last >= seq && status == statusReady
	})
	if err != nil {
		return fmt.Errorf("script: awaiting ack of seq %d: %w", seq, err)
	}
	if failure != nil {
		return fmt.Errorf("script: awaiting ack of seq %d: %w", seq, failure)
	}
	if _, _, _, code := DispatcherRegisters(f, d.offset); code != 0 {
		return fmt.Errorf("%w: seq %d error code %d", ErrCommandFailed, seq, code)
	}
	return nil
}

// DispatcherRegisters reads a dispatcher's output registers from a frame:
// last acknowledged sequence number, status (1 ready, 2 busy, 0 exited),
// instance nonce and the last error code. After a controller restart these
// tell whether the command that was in flight completed.
func DispatcherRegisters(f *rtde.Frame, offset int) (lastAck, status, nonce, code int32) {
	reg := func(i int) int32 { v, _ := f.Int32(rtde.OutputIntRegister(offset + i)); return v }
	return reg(0), reg(1), reg(2), reg(3)
}
