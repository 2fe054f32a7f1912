package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"sync"
	"time"

	"fabcell/config"
	"fabcell/robot/ur/dashboard"
	"fabcell/robot/ur/rtde"
	"fabcell/robot/ur/script"
	"fabcell/safety"
	"fabcell/simulation/geom"

	"github.com/golang/geo/r3"
)

// RobotLink is fabcell's connection to a UR controller (real or the
// built-in simulator): RTDE state at up to 500 Hz, the dashboard, and the
// register command channel (a dispatcher URScript driven through RTDE
// registers). All unit conversion to metres happens in RobotCmd → wire.
type RobotLink struct {
	cfg    config.Robot
	RTDE   *rtde.Client
	Dash   *dashboard.Client
	Sender *script.Sender
	log    *slog.Logger

	mu   sync.Mutex
	disp *script.Dispatcher
	// prevNonce/prevAck are the dispatcher registers found at connect: the
	// instance that ran before this controller started (crash recovery).
	prevNonce, prevAck int32
}

// robotOutputs is the RTDE output recipe of the link.
func robotOutputs(offset int) []string {
	out := []string{"timestamp", "actual_q", "actual_qd", "actual_TCP_pose", "robot_mode", "safety_mode",
		"actual_digital_input_bits", "actual_digital_output_bits"}
	for _, n := range script.DispatcherOutputs(offset) {
		dup := false
		for _, o := range out {
			dup = dup || o == n
		}
		if !dup {
			out = append(out, n)
		}
	}
	return out
}

// DialRobot connects to the controller at host (ports from cfg).
func DialRobot(ctx context.Context, cfg config.Robot, host string, rtdePort, dashPort, scriptPort int, log *slog.Logger) (*RobotLink, error) {
	if log == nil {
		log = slog.Default()
	}
	addr := func(p int) string { return net.JoinHostPort(host, strconv.Itoa(p)) }
	timeout := time.Duration(cfg.ConnectTimeoutS * float64(time.Second))
	c, err := rtde.Dial(ctx, addr(rtdePort), rtde.Options{
		FrequencyHz: cfg.RTDEFrequencyHz,
		Outputs:     robotOutputs(cfg.RegisterOffset),
		Inputs:      [][]string{script.DispatcherInputs(cfg.RegisterOffset)},
		DialTimeout: timeout,
		Logger:      log,
	})
	if err != nil {
		return nil, fmt.Errorf("robot RTDE %s: %w", addr(rtdePort), err)
	}
	if err := c.Start(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("robot RTDE start: %w", err)
	}
	f, err := c.Wait(ctx, func(*rtde.Frame) bool { return true })
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("robot RTDE first frame: %w", err)
	}
	l := &RobotLink{cfg: cfg, RTDE: c, Sender: &script.Sender{Addr: addr(scriptPort), Timeout: timeout}, log: log}
	l.prevAck, _, l.prevNonce, _ = script.DispatcherRegisters(f, cfg.RegisterOffset)
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d, err := dashboard.Dial(dctx, addr(dashPort))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("robot dashboard %s: %w", addr(dashPort), err)
	}
	l.Dash = d
	return l, nil
}

// Close closes the connections (the dispatcher program is asked to quit).
func (l *RobotLink) Close() error {
	l.mu.Lock()
	d := l.disp
	l.disp = nil
	l.mu.Unlock()
	if d != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = d.Quit(ctx)
		cancel()
	}
	err := l.RTDE.Close()
	if l.Dash != nil {
		l.Dash.Close()
	}
	return err
}

// Status returns the robot status for the safety monitor.
func (l *RobotLink) Status() (safety.RobotStatus, bool) {
	f := l.RTDE.Latest()
	if f == nil {
		return safety.RobotStatus{}, false
	}
	rm, _ := f.Int32("robot_mode")
	sm, _ := f.Int32("safety_mode")
	rs, _ := f.Uint32("runtime_state")
	di, _ := f.Uint64("actual_digital_input_bits")
	return safety.RobotStatus{RobotMode: rm, SafetyMode: sm, RuntimeState: rs, DigitalInputs: di}, true
}

// Joints returns the actual joint positions (rad).
func (l *RobotLink) Joints() ([6]float64, bool) {
	f := l.RTDE.Latest()
	if f == nil {
		return [6]float64{}, false
	}
	q, err := f.Vector6D("actual_q")
	return q, err == nil
}

// Dispatcher returns the running dispatcher, uploading it (and setting the
// TCP from robot.tool_offset) on first use.
func (l *RobotLink) Dispatcher(ctx context.Context) (*script.Dispatcher, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.disp != nil {
		return l.disp, nil
	}
	d, err := script.NewDispatcher(ctx, l.RTDE, 0, l.Sender, l.cfg.RegisterOffset)
	if err != nil {
		return nil, err
	}
	tcp := ToolOffset(l.cfg)
	if err := d.SetTCP(ctx, script.PoseFromGeom(tcp)); err != nil {
		return nil, fmt.Errorf("set TCP: %w", err)
	}
	l.disp = d
	return d, nil
}

// PreviousDispatcher returns the nonce and last acknowledged sequence
// number of the dispatcher that ran before this link connected.
func (l *RobotLink) PreviousDispatcher() (nonce, lastAck int32) { return l.prevNonce, l.prevAck }

// ToolOffset returns robot.tool_offset as a pose in metres.
func ToolOffset(c config.Robot) geom.Pose {
	t := c.ToolOffset
	return geom.PoseFromRotVec(r3.Vector{X: t.XMM / 1000, Y: t.YMM / 1000, Z: t.ZMM / 1000}, r3.Vector{X: t.RXRad, Y: t.RYRad, Z: t.RZRad})
}

// BedFrame returns robot.bed_frame as a pose in millimetres (bed → base).
func BedFrame(c config.Robot) geom.Pose {
	b := c.BedFrame
	return geom.PoseFromRotVec(r3.Vector{X: b.XMM, Y: b.YMM, Z: b.ZMM}, r3.Vector{X: b.RXRad, Y: b.RYRad, Z: b.RZRad})
}

// RobotCmdKind is the kind of one robot command.
type RobotCmdKind int

// Robot command kinds.
const (
	CmdMoveJ RobotCmdKind = iota
	CmdMoveL
	CmdMoveP
	CmdToolOut
	CmdStdOut
	CmdAnalogOut
	CmdDwell
)

// RobotCmd is one command of a robot step. Poses are TCP poses in the
// robot base frame in metres (converted at the wire only).
type RobotCmd struct {
	Kind RobotCmdKind
	Pose geom.Pose  // MoveL/MoveP target (m)
	Q    [6]float64 // MoveJ target (rad)
	// SpeedMS / AccelMS2 for linear moves (m/s, m/s²); rad/s, rad/s² for
	// MoveJ. BlendM is the blend radius (m).
	Speed, Accel, BlendM float64
	Pin                  int
	On                   bool
	Value                float64 // analog fraction 0..1
	Dwell                time.Duration
	// HasQ tells that Q holds the joints at the target of a MoveL/MoveP
	// (the adapter's IK solution), used to re-position the arm when a
	// step is resumed part-way after a restart.
	HasQ bool
}

// RobotExecutor executes steps whose payload is []RobotCmd through the
// link's dispatcher. It is shared by the wire-frame, CCF and travel
// adapters.
type RobotExecutor struct {
	Link *RobotLink
	Home [6]float64
	// Safe are the commands that bring the process to a safe state
	// (extrusion off); run by SafePoint.
	Safe []RobotCmd
	// Extra is called after each step (e.g. to sync an extruder); may be nil.
	Telem func() map[string]float64

	mu   sync.Mutex
	skip map[int]int // step seq → commands already done (crash recovery)
	q    [6]float64
	// atHome: Begin left the arm at home and no motion ran since. After a
	// restart the first motion of the resumed job may be a linear move
	// planned from where the previous step ended; it is run as a joint
	// move to its target instead (a straight line from home may cross
	// the singular cylinder around the base axis).
	atHome bool
}

var _ Executor = (*RobotExecutor)(nil)
var _ Preparer = (*RobotExecutor)(nil)

// Begin uploads the dispatcher and moves the arm home.
func (e *RobotExecutor) Begin(ctx context.Context) error {
	if e.Link == nil {
		return errors.New("no robot connection (set robot.host, or use --dry-run)")
	}
	if st, ok := e.Link.Status(); ok {
		if st.SafetyMode != safety.SafetyModeNormal && st.SafetyMode != safety.SafetyModeReduced {
			return fmt.Errorf("robot safety mode is %s", safety.SafetyModeName(st.SafetyMode))
		}
		if st.RobotMode != safety.RobotModeRunning {
			return fmt.Errorf("robot mode is %s (power on and release the brakes)", safety.RobotModeName(st.RobotMode))
		}
	}
	d, err := e.Link.Dispatcher(ctx)
	if err != nil {
		return err
	}
	// A controller that stopped mid-job may have left the process on
	// (extrusion): switch it off before the arm moves.
	if err := e.SafePoint(ctx); err != nil {
		return err
	}
	if err := d.MoveJ(ctx, e.Home, script.Motion{Speed: e.Link.cfg.JointSpeedRadS, Accel: e.Link.cfg.JointAccelRadS2}); err != nil {
		return err
	}
	e.atHome = true
	return nil
}

// motion runs one command of a step: the first linear motion after Begin
// becomes a joint move to its target (see atHome).
func (e *RobotExecutor) motion(ctx context.Context, d *script.Dispatcher, c RobotCmd) error {
	switch c.Kind {
	case CmdMoveL, CmdMoveP:
		if e.atHome && c.HasQ {
			c = RobotCmd{Kind: CmdMoveJ, Q: c.Q, Speed: e.Link.cfg.JointSpeedRadS, Accel: e.Link.cfg.JointAccelRadS2}
		}
		e.atHome = false
	case CmdMoveJ:
		e.atHome = false
	}
	return e.exec(ctx, d, c)
}

// Prepare records the dispatcher instance and the sequence number that
// ends the step, for crash recovery.
func (e *RobotExecutor) Prepare(ctx context.Context, s *Step) error {
	d, err := e.Link.Dispatcher(ctx)
	if err != nil {
		return err
	}
	cmds, _ := s.Payload.([]RobotCmd)
	s.HW = stepHW(d, len(cmds))
	return nil
}

// stepHW is the journal's hardware reference of a step whose n robot
// commands are about to be sent on d: the dispatcher instance and the
// sequence numbers they will get.
func stepHW(d *script.Dispatcher, n int) map[string]int64 {
	seq := d.Seq()
	return map[string]int64{"nonce": int64(d.Nonce()), "seq_start": int64(seq) + 1, "seq_end": int64(seq) + int64(n)}
}

// takeSkip returns, and forgets, how many robot commands of step seq had
// completed before a restart (0 for a step that starts fresh).
func (e *RobotExecutor) takeSkip(seq int) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	skip := e.skip[seq]
	delete(e.skip, seq)
	return skip
}

// runMotion executes one robot command and rides out a protective or
// safety stop: the controller pauses the program, and after the operator
// clears the stop and resumes, it finishes this command.
func (e *RobotExecutor) runMotion(ctx context.Context, d *script.Dispatcher, c RobotCmd) error {
	err := e.motion(ctx, d, c)
	if errors.Is(err, script.ErrProtectiveStop) || errors.Is(err, script.ErrSafetyStop) {
		err = d.AwaitAck(ctx, d.Seq())
	}
	return err
}

// Do executes the step's commands, riding out protective stops.
func (e *RobotExecutor) Do(ctx context.Context, s Step) error {
	cmds, ok := s.Payload.([]RobotCmd)
	if !ok {
		return fmt.Errorf("step payload is %T, want []RobotCmd", s.Payload)
	}
	d, err := e.Link.Dispatcher(ctx)
	if err != nil {
		return err
	}
	skip := e.takeSkip(s.Seq)
	if skip > 0 && skip < len(cmds) {
		if err := e.reposition(ctx, d, cmds[:skip]); err != nil {
			return fmt.Errorf("resume step part-way: %w", err)
		}
	}
	for i, c := range cmds {
		if i < skip {
			continue
		}
		if err := e.runMotion(ctx, d, c); err != nil {
			return fmt.Errorf("command %d of %d: %w", i+1, len(cmds), err)
		}
	}
	return nil
}

// reposition restores, before the rest of a step that was cut part-way
// by a restart, what its completed commands had established: the arm at
// the target of the last completed motion (a joint move from wherever
// Begin left it) and the last value of every output they set.
func (e *RobotExecutor) reposition(ctx context.Context, d *script.Dispatcher, done []RobotCmd) error {
	for i := len(done) - 1; i >= 0; i-- {
		c := done[i]
		if c.Kind == CmdMoveJ || ((c.Kind == CmdMoveL || c.Kind == CmdMoveP) && c.HasQ) {
			if err := d.MoveJ(ctx, c.Q, script.Motion{Speed: e.Link.cfg.JointSpeedRadS, Accel: e.Link.cfg.JointAccelRadS2}); err != nil {
				return err
			}
			e.atHome = false
			break
		}
	}
	type pin struct {
		k RobotCmdKind
		n int
	}
	last := map[pin]RobotCmd{}
	var order []pin
	for _, c := range done {
		if c.Kind == CmdToolOut || c.Kind == CmdStdOut || c.Kind == CmdAnalogOut {
			k := pin{c.Kind, c.Pin}
			if _, ok := last[k]; !ok {
				order = append(order, k)
			}
			last[k] = c
		}
	}
	for _, k := range order {
		if err := e.exec(ctx, d, last[k]); err != nil {
			return err
		}
	}
	return nil
}

func (e *RobotExecutor) exec(ctx context.Context, d *script.Dispatcher, c RobotCmd) error {
	m := script.Motion{Speed: c.Speed, Accel: c.Accel, BlendM: c.BlendM}
	switch c.Kind {
	case CmdMoveJ:
		return d.MoveJ(ctx, c.Q, m)
	case CmdMoveL:
		return d.MoveL(ctx, script.PoseFromGeom(c.Pose), m)
	case CmdMoveP:
		return d.MoveP(ctx, script.PoseFromGeom(c.Pose), m)
	case CmdToolOut:
		return d.SetToolDigitalOut(ctx, c.Pin, c.On)
	case CmdStdOut:
		return d.SetStandardDigitalOut(ctx, c.Pin, c.On)
	case CmdAnalogOut:
		return d.SetStandardAnalogOut(ctx, c.Pin, c.Value)
	case CmdDwell:
		return d.Dwell(ctx, c.Dwell)
	}
	return fmt.Errorf("unknown robot command kind %d", c.Kind)
}

// SafePoint runs the safe-state commands (extrusion off).
func (e *RobotExecutor) SafePoint(ctx context.Context) error {
	if len(e.Safe) == 0 {
		return nil
	}
	d, err := e.Link.Dispatcher(ctx)
	if err != nil {
		return err
	}
	for _, c := range e.Safe {
		if err := e.exec(ctx, d, c); err != nil {
			return err
		}
	}
	return nil
}

// Completed compares the journaled dispatcher references with the
// registers the robot still held when this controller connected.
func (e *RobotExecutor) Completed(_ context.Context, je JournalEntry) (bool, bool, error) {
	nonce, last := e.Link.PreviousDispatcher()
	if je.HW == nil || int64(nonce) != je.HW["nonce"] || nonce == 0 {
		return false, false, nil
	}
	start, end := je.HW["seq_start"], je.HW["seq_end"]
	switch {
	case int64(last) >= end:
		return true, true, nil
	case int64(last) >= start:
		// Some commands of the step completed: skip them on re-dispatch.
		e.mu.Lock()
		if e.skip == nil {
			e.skip = map[int]int{}
		}
		e.skip[je.Seq] = int(int64(last) - start + 1)
		e.mu.Unlock()
	}
	return false, true, nil
}

// End moves the arm home and switches the process outputs off.
func (e *RobotExecutor) End(ctx context.Context) error {
	if err := e.SafePoint(ctx); err != nil {
		return err
	}
	d, err := e.Link.Dispatcher(ctx)
	if err != nil {
		return err
	}
	return d.MoveJ(ctx, e.Home, script.Motion{Speed: e.Link.cfg.JointSpeedRadS, Accel: e.Link.cfg.JointAccelRadS2})
}

// Status implements Executor.
func (e *RobotExecutor) Status() (safety.RobotStatus, bool) {
	if e.Link == nil {
		return safety.RobotStatus{}, false
	}
	return e.Link.Status()
}

// Telemetry reports joints and process values.
func (e *RobotExecutor) Telemetry() map[string]float64 {
	out := map[string]float64{}
	if e.Link != nil {
		if q, ok := e.Link.Joints(); ok {
			for i, v := range q {
				out["q"+strconv.Itoa(i)+"_rad"] = v
			}
		}
		if st, ok := e.Link.Status(); ok {
			out["safety_mode"] = float64(st.SafetyMode)
			out["robot_mode"] = float64(st.RobotMode)
		}
	}
	if e.Telem != nil {
		for k, v := range e.Telem() {
			out[k] = v
		}
	}
	return out
}

// Close implements Executor (the link is shared and closed by CellIO).
func (e *RobotExecutor) Close() error { return nil }

// linearCmd builds a linear move command with speeds in mm/s converted at
// the wire.
func linearCmd(kind RobotCmdKind, p geom.Pose, speedMMS, accelMMS2, blendMM float64) RobotCmd {
	return RobotCmd{Kind: kind, Pose: p, Speed: speedMMS / 1000, Accel: accelMMS2 / 1000, BlendM: blendMM / 1000}
}

// toolDown is the TCP orientation pointing straight down (tool z = −base z).
var toolDown = geom.RotX(math.Pi)
