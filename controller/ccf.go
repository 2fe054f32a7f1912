package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/processes/ccf"
	"fabcell/processes/ccf/layerprog"
	"fabcell/robot/extruder"
	"fabcell/robot/extruder/boardsim"
	"fabcell/robot/ur/kin"
	"fabcell/safety"

	"github.com/golang/geo/r2"
	"github.com/golang/geo/r3"
)

// The CCF process executed by the UR5e-carried dual-nozzle head: the arm
// moves the head (robot motions through the RTDE register channel) and
// the head's controller board extrudes (Marlin G-code over serial,
// robot/extruder). The layer program (processes/ccf/layerprog) has the
// matrix layers (perimeters + zig-zag infill of the layer outline, T0) and
// the fibre layer (T1) whose path is the planner's one-stroke order,
// streamed as the planner emits it:
//
//   - matrix layers below the fibre layer are dispatched first, one step per
//     path (approach, down, per segment a board extrusion "G1 E… F…" whose
//     feed rate makes it last exactly as long as the arm's movep at
//     ccf.matrix_feed_mm_s, retract, lift);
//   - the fibre stroke: one step per planner move (T1 extrusion at
//     ccf.fiber_feed_ratio per mm synchronised with the movep at
//     ccf.fiber_feed_mm_s); T1's tip is ccf.fiber_offset_mm from T0's, so
//     the arm is commanded at target − offset;
//   - at the end of the stroke the fibre is cut (M400, ccf.fiber_cut_gcode),
//     the head lifts, and matrix layers above the fibre layer follow.
//
// Checks before dispatch: continuity (no jump, each move starts where the
// last ended: rule continuity), at most the model's pass count per edge
// (fiber_passes), the turning angle against safety.max_fiber_turn_deg
// (turning_angle), IK from the previous joints and safety.Gate.CheckMotion
// for every arm motion (workspace, keep-outs, height, joints, speeds), the
// heater set-points against the safety window, and before every extruding
// step the nozzle's measured temperature (nozzle_temperature).
//
// Safe point between steps: the board's queue is drained (M400), so no
// filament is fed; the head stays where it is (lifting mid-stroke would
// pull the fibre).
func init() { RegisterAdapter("ccf", newCCFAdapter) }

// ccfCmd is one command of a CCF step: a robot motion or a board line.
type ccfCmd struct {
	Robot *RobotCmd
	GCode string
}

// ccfPayload is the payload of a CCF step.
type ccfPayload struct {
	Tool    layerprog.Tool // the extruding tool (for the temperature check)
	Extrude bool
	Cmds    []ccfCmd
}

func (p ccfPayload) robotCmds() int {
	n := 0
	for _, c := range p.Cmds {
		if c.Robot != nil {
			n++
		}
	}
	return n
}

type ccfAdapter struct {
	env   *Env
	cell  config.Cell
	sess  *ccf.Session
	model *kin.Model
	prog  *layerprog.Program
	fibZ  float64 // nozzle height of the streamed fibre layer
	first int     // index of the first fibre layer

	q        [6]float64
	posMM    r3.Vector // arm TCP (T0 tip), base frame
	leftHome bool      // the first motion (a joint move from home) is planned
	ePerMM   [2]float64
	fFeed    [2]float64 // board feed rate per tool, mm/min of filament
	started  bool       // fibre stroke begun
	stroke   []r2.Point
	steps    int
	fiberMM  float64
	matMM    float64
	turnMax  float64
	pending  []planners.Move
	cache    *ccfNext
}

type ccfNext struct {
	m     planners.Move
	pl    ccfPayload
	q     [6]float64
	posMM r3.Vector
	lenMM float64
	left  bool
	err   error
}

func newCCFAdapter(ctx context.Context, env *Env) (Adapter, Executor, error) {
	proc, ok := env.Process.(*ccf.Process)
	if !ok {
		return nil, nil, fmt.Errorf("ccf adapter: process is %T", env.Process)
	}
	link, err := env.IO.Robot()
	if err != nil {
		return nil, nil, err
	}
	dev, err := env.IO.DeviceErr("extruder")
	if err != nil {
		return nil, nil, fmt.Errorf("dual-nozzle head: %w", err)
	}
	drv := dev.(*extruder.Driver)
	sess, err := proc.Session(env.Graph)
	if err != nil {
		return nil, nil, err
	}
	reg, err := sess.Region()
	if err != nil {
		return nil, nil, err
	}
	c := env.Cell
	// The stroke is planned on the fly; the program is built around a
	// placeholder stroke whose fibre layers are replaced while streaming.
	p0 := env.Graph.Pos[0]
	prog, err := layerprog.Build(reg, []r2.Point{{X: p0.X, Y: p0.Y}, {X: p0.X, Y: p0.Y}}, layerprog.SettingsFromConfig(c.CCF))
	if err != nil {
		return nil, nil, fmt.Errorf("ccf layer program: %w", err)
	}
	a := &ccfAdapter{env: env, cell: c, sess: sess, model: kin.UR5e().WithTCP(ToolOffset(c.Robot)), prog: prog,
		q: c.Robot.HomeJointsRad, first: -1}
	if sf := c.Safety; sf.JointMinRad != sf.JointMaxRad {
		if a.model, err = a.model.WithLimits(sf.JointMinRad, sf.JointMaxRad); err != nil {
			return nil, nil, fmt.Errorf("safety joint limits: %w", err)
		}
	}
	a.posMM = a.model.FK(a.q).P.Mul(1000)
	for i, l := range prog.Layers {
		if l.Tool == layerprog.Fiber {
			if a.first < 0 {
				a.first, a.fibZ = i, l.ZMM
			}
		}
	}
	a.ePerMM = [2]float64{layerprog.MatrixEPerMM(c.CCF, c.CCF.LayerHeightMM), c.CCF.FiberFeedRatio}
	a.fFeed = [2]float64{a.ePerMM[0] * c.CCF.MatrixFeedMMS * 60, a.ePerMM[1] * c.CCF.FiberFeedMMS * 60}
	// Fail fast: every matrix point must be reachable before anything moves.
	if err := a.precheck(); err != nil {
		return nil, nil, err
	}
	for t, target := range []float64{c.CCF.MatrixTempC, c.CCF.FiberTempC} {
		if err := env.Gate.CheckNozzleTarget("ccf", t, target); err != nil {
			return nil, nil, err
		}
	}
	if err := env.Gate.CheckBedTemp("ccf bed set-point", c.CCF.BedTempC); err != nil {
		return nil, nil, err
	}
	ex := &ccfExecutor{RobotExecutor: RobotExecutor{Link: link, Home: c.Robot.HomeJointsRad}, drv: drv, cell: c, gate: env.Gate}
	ex.Telem = ex.temps
	return a, ex, nil
}

// precheck plans every matrix layer from home (IK chain and gate) without
// keeping the result.
func (a *ccfAdapter) precheck() error {
	q, pos, lh := a.q, a.posMM, a.leftHome
	defer func() { a.q, a.posMM, a.matMM, a.leftHome = q, pos, 0, lh }()
	for li, l := range a.prog.Layers {
		if l.Tool != layerprog.Matrix {
			continue
		}
		for pi, p := range l.Paths {
			if _, err := a.pathStep(li, pi, p, l.ZMM); err != nil {
				return fmt.Errorf("ccf matrix layer %d path %d: %w", li, pi, err)
			}
		}
	}
	return nil
}

// at returns the arm target (T0 tip, bed frame mm) that puts tool t's tip
// at bed point p.
func (a *ccfAdapter) at(t layerprog.Tool, p r2.Point, z float64) r3.Vector {
	v := r3.Vector{X: p.X, Y: p.Y, Z: z}
	if t == layerprog.Fiber {
		o := a.cell.CCF.FiberOffsetXYMM
		v = v.Sub(r3.Vector{X: o[0], Y: o[1], Z: o[2]})
	}
	return v
}

// motion plans one arm motion to bed point p (T0 tip) and appends it. The
// first motion of the job leaves home with a joint move; linear motions
// are checked along their whole length (IK every linearCheckMM on one
// continuous branch), as the controller would refuse them mid-way.
func (a *ccfAdapter) motion(cmds []ccfCmd, where string, kind RobotCmdKind, p r3.Vector, speedMMS float64) ([]ccfCmd, error) {
	pose := layerprog.TCPPose(a.cell, p)
	unreach := func(err error) error {
		return &safety.Violation{Rule: safety.RuleReach, Where: where, Value: math.NaN(), Limit: math.NaN(),
			Detail: fmt.Sprintf("bed point (%.2f, %.2f, %.2f) mm: %v", p.X, p.Y, p.Z, err)}
	}
	q, err := a.model.IKNear(pose, a.q)
	if err != nil {
		return cmds, unreach(err)
	}
	to := pose.P.Mul(1000)
	r := a.cell.Robot
	if !a.leftHome {
		mo := safety.Motion{Where: where, FromMM: a.posMM, ToMM: to, BedZMM: p.Z, QFrom: a.q, QTo: q, HasJoints: true,
			JointSpeedRadS: r.JointSpeedRadS, JointAccelRadS2: r.JointAccelRadS2}
		if err := a.env.Gate.CheckMotion(mo); err != nil {
			return cmds, err
		}
		a.q, a.posMM, a.leftHome = q, to, true
		return append(cmds, ccfCmd{Robot: &RobotCmd{Kind: CmdMoveJ, Q: q, Speed: r.JointSpeedRadS, Accel: r.JointAccelRadS2}}), nil
	}
	// along the line: constant orientation, IK from the previous sample
	if n := int(to.Sub(a.posMM).Norm() / linearCheckMM); n > 1 {
		qs := a.q
		for i := 1; i < n; i++ {
			mid := pose
			mid.P = a.posMM.Add(to.Sub(a.posMM).Mul(float64(i) / float64(n))).Mul(0.001)
			if qs, err = a.model.IKNear(mid, qs); err != nil {
				return cmds, unreach(fmt.Errorf("on the way, at %.0f%% of the move: %w", 100*float64(i)/float64(n), err))
			}
		}
	}
	mo := safety.Motion{Where: where, Linear: true, FromMM: a.posMM, ToMM: to, BedZMM: p.Z, QFrom: a.q, QTo: q, HasJoints: true, TCPSpeedMMS: speedMMS}
	if err := a.env.Gate.CheckMotion(mo); err != nil {
		return cmds, err
	}
	c := linearCmd(kind, pose, speedMMS, r.LinearAccelMMS2, 0)
	c.Q, c.HasQ = q, true
	a.q, a.posMM = q, to
	return append(cmds, ccfCmd{Robot: &c}), nil
}

// linearCheckMM is the sampling step of the IK check along linear motions.
const linearCheckMM = 10.0

// extrudeTo appends the board extrusion and the synchronised movep of one
// segment of tool t.
func (a *ccfAdapter) extrudeTo(cmds []ccfCmd, where string, t layerprog.Tool, from, to r2.Point, z float64) ([]ccfCmd, float64, error) {
	l := to.Sub(from).Norm()
	feed := a.cell.CCF.MatrixFeedMMS
	if t == layerprog.Fiber {
		feed = a.cell.CCF.FiberFeedMMS
	}
	if l > 1e-9 {
		cmds = append(cmds, ccfCmd{GCode: fmt.Sprintf("G1 E%.5f F%.1f", l*a.ePerMM[t], a.fFeed[t])})
	}
	cmds, err := a.motion(cmds, where, CmdMoveP, a.at(t, to, z), feed)
	return cmds, l, err
}

// pathStep builds the step of one matrix path.
func (a *ccfAdapter) pathStep(li, pi int, p layerprog.Path, z float64) (ccfPayload, error) {
	pl := ccfPayload{Tool: p.Tool, Extrude: true}
	pts := p.Points
	if p.Closed {
		pts = append(append([]r2.Point(nil), pts...), pts[0])
	}
	if len(pts) < 2 {
		return pl, nil
	}
	r, c := a.cell.Robot, a.cell.CCF
	where := fmt.Sprintf("layer %d %s path %d", li, p.Kind, pi)
	var err error
	cmds := []ccfCmd{{GCode: fmt.Sprintf("T%d", p.Tool)}}
	if cmds, err = a.motion(cmds, where+" approach", CmdMoveL, a.at(p.Tool, pts[0], z+r.ApproachMM), r.TravelSpeedMMS); err != nil {
		return pl, err
	}
	if cmds, err = a.motion(cmds, where+" down", CmdMoveL, a.at(p.Tool, pts[0], z), r.TravelSpeedMMS); err != nil {
		return pl, err
	}
	if c.MatrixRetractMM > 0 {
		cmds = append(cmds, ccfCmd{GCode: fmt.Sprintf("G1 E%.5f F%.1f", c.MatrixRetractMM, 40.0*60)})
	}
	for i := 1; i < len(pts); i++ {
		var l float64
		if cmds, l, err = a.extrudeTo(cmds, fmt.Sprintf("%s point %d", where, i), p.Tool, pts[i-1], pts[i], z); err != nil {
			return pl, err
		}
		a.matMM += l
	}
	if c.MatrixRetractMM > 0 {
		cmds = append(cmds, ccfCmd{GCode: fmt.Sprintf("G1 E%.5f F%.1f", -c.MatrixRetractMM, 40.0*60)})
	}
	if cmds, err = a.motion(cmds, where+" retract", CmdMoveL, a.at(p.Tool, pts[len(pts)-1], z+r.RetractMM), r.TravelSpeedMMS); err != nil {
		return pl, err
	}
	pl.Cmds = cmds
	return pl, nil
}

// matrixSteps builds the steps of matrix layers [lo, hi).
func (a *ccfAdapter) matrixSteps(lo, hi int) ([]Step, error) {
	var out []Step
	for li := lo; li < hi && li < len(a.prog.Layers); li++ {
		l := a.prog.Layers[li]
		if l.Tool != layerprog.Matrix {
			continue
		}
		for pi, p := range l.Paths {
			pl, err := a.pathStep(li, pi, p, l.ZMM)
			if err != nil {
				return nil, err
			}
			if len(pl.Cmds) == 0 {
				continue
			}
			out = append(out, Step{Label: fmt.Sprintf("layer %d %s %d", li, p.Kind, pi), Payload: pl,
				Estimate: secs(p.LengthMM() / a.cell.CCF.MatrixFeedMMS)})
		}
	}
	return out, nil
}

// next checks fibre move m and builds its commands.
func (a *ccfAdapter) next(m planners.Move) *ccfNext {
	n := &ccfNext{m: m}
	q0, pos0, lh := a.q, a.posMM, a.leftHome
	defer func() { n.q, n.posMM, n.left = a.q, a.posMM, a.leftHome; a.q, a.posMM, a.leftHome = q0, pos0, lh }()
	where := fmt.Sprintf("fibre move %d (%d→%d)", len(a.sess.Moves()), m.From, m.To)
	bad := func(rule safety.Rule, detail string, v, lim float64, unit string) *ccfNext {
		n.err = &safety.Violation{Rule: rule, Where: where, Value: v, Limit: lim, Unit: unit, Detail: detail}
		return n
	}
	g := a.env.Graph
	if m.Kind == planners.Jump || m.Kind == planners.Travel {
		return bad(safety.RuleContinuity, "a CCF layer is one continuous fibre: no jumps or travels", math.NaN(), math.NaN(), "")
	}
	if cur := a.sess.Current(); cur >= 0 && m.From != cur {
		return bad(safety.RuleContinuity, fmt.Sprintf("the fibre ends at node %d", cur), math.NaN(), math.NaN(), "")
	}
	e, ok := g.EdgeBetween(m.From, m.To)
	if !ok || e != m.Edge {
		return bad(safety.RuleContinuity, fmt.Sprintf("no edge %d between nodes %d and %d", m.Edge, m.From, m.To), math.NaN(), math.NaN(), "")
	}
	if a.sess.Current() >= 0 && a.sess.Remaining(e) <= 0 {
		return bad(safety.RuleFiberPasses, fmt.Sprintf("edge %d already has all its passes", e), float64(a.sess.Passes(e)+1), float64(a.sess.Passes(e)), "passes")
	}
	if last, ok := a.sess.LastMove(); ok {
		d0, d1 := g.Pos[last.To].Sub(g.Pos[last.From]), g.Pos[m.To].Sub(g.Pos[m.From])
		turn := d0.Angle(d1).Degrees()
		if turn > a.cell.Safety.MaxFiberTurnDeg {
			return bad(safety.RuleTurn, fmt.Sprintf("turn at node %d", m.From), turn, a.cell.Safety.MaxFiberTurnDeg, "°")
		}
	}
	pl := ccfPayload{Tool: layerprog.Fiber, Extrude: true}
	from := r2.Point{X: g.Pos[m.From].X, Y: g.Pos[m.From].Y}
	to := r2.Point{X: g.Pos[m.To].X, Y: g.Pos[m.To].Y}
	var err error
	if !a.started {
		r := a.cell.Robot
		pl.Cmds = []ccfCmd{{GCode: "T1"}}
		if pl.Cmds, err = a.motion(pl.Cmds, where+" approach", CmdMoveL, a.at(layerprog.Fiber, from, a.fibZ+r.ApproachMM), r.TravelSpeedMMS); err != nil {
			n.err = err
			return n
		}
		if pl.Cmds, err = a.motion(pl.Cmds, where+" down", CmdMoveL, a.at(layerprog.Fiber, from, a.fibZ), r.TravelSpeedMMS); err != nil {
			n.err = err
			return n
		}
	}
	if pl.Cmds, n.lenMM, err = a.extrudeTo(pl.Cmds, where, layerprog.Fiber, from, to, a.fibZ); err != nil {
		n.err = err
		return n
	}
	n.pl = pl
	return n
}

// Check implements Adapter (the result is kept for Apply).
func (a *ccfAdapter) Check(m planners.Move) error {
	if a.cache == nil || a.cache.m != m {
		a.cache = a.next(m)
	}
	return a.cache.err
}

// Apply implements Adapter.
func (a *ccfAdapter) Apply(m planners.Move) ([]Step, error) {
	n := a.cache
	a.cache = nil
	if n == nil || n.m != m {
		n = a.next(m) // journal replay
		var v *safety.Violation
		if n.err != nil && !errors.As(n.err, &v) {
			return nil, n.err
		}
	} else if n.err != nil {
		return nil, n.err
	}
	var out []Step
	if !a.started {
		// matrix layers below the fibre layer go first
		below, err := a.matrixSteps(0, a.first)
		if err != nil {
			return nil, err
		}
		if len(below) > 0 {
			// the fibre move was checked from home: re-plan it from the
			// end of the matrix layers
			if n = a.next(m); n.err != nil {
				return nil, n.err
			}
		}
		out = append(out, below...)
		a.started = true
	}
	if a.sess.Current() < 0 {
		if err := a.sess.Begin(m.From); err != nil {
			return nil, err
		}
	}
	a.sess.Apply(m)
	a.q, a.posMM, a.leftHome = n.q, n.posMM, n.left
	a.fiberMM += n.lenMM
	if len(a.stroke) == 0 {
		a.stroke = append(a.stroke, r2.Point{X: a.env.Graph.Pos[m.From].X, Y: a.env.Graph.Pos[m.From].Y})
	}
	a.stroke = append(a.stroke, r2.Point{X: a.env.Graph.Pos[m.To].X, Y: a.env.Graph.Pos[m.To].Y})
	out = append(out, Step{Moves: []planners.Move{m}, Label: fmt.Sprintf("fibre %d→%d", m.From, m.To), Payload: n.pl,
		Estimate: secs(n.lenMM / a.cell.CCF.FiberFeedMMS)})
	return out, nil
}

// Flush implements Adapter: cut the fibre, lift, then the layers above
// the first fibre layer (further fibre layers replay the stroke).
func (a *ccfAdapter) Flush() ([]Step, error) {
	if !a.started {
		return nil, errors.New("ccf: the planner produced no fibre move")
	}
	r, c := a.cell.Robot, a.cell.CCF
	end := a.stroke[len(a.stroke)-1]
	pl := ccfPayload{Tool: layerprog.Fiber, Cmds: []ccfCmd{{GCode: "M400"}}}
	for _, line := range strings.Split(c.FiberCutGcode, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			pl.Cmds = append(pl.Cmds, ccfCmd{GCode: line})
		}
	}
	pl.Cmds = append(pl.Cmds, ccfCmd{Robot: &RobotCmd{Kind: CmdDwell, Dwell: 500 * time.Millisecond}})
	var err error
	if pl.Cmds, err = a.motion(pl.Cmds, "fibre end retract", CmdMoveL, a.at(layerprog.Fiber, end, a.fibZ+r.RetractMM), r.TravelSpeedMMS); err != nil {
		return nil, err
	}
	out := []Step{{Label: "fibre cut and lift", Payload: pl}}
	for li := a.first + 1; li < len(a.prog.Layers); li++ {
		l := a.prog.Layers[li]
		if l.Tool == layerprog.Fiber {
			p := layerprog.Path{Kind: layerprog.FiberStroke, Tool: layerprog.Fiber, Points: a.stroke}
			st, err := a.pathStep(li, 0, p, l.ZMM)
			if err != nil {
				return nil, err
			}
			st.Cmds = append(st.Cmds[:len(st.Cmds)-1], append([]ccfCmd{{GCode: "M400"}}, pl.Cmds[1:]...)...)
			out = append(out, Step{Label: fmt.Sprintf("layer %d fibre", li), Payload: st, Estimate: secs(p.LengthMM() / c.FiberFeedMMS)})
			continue
		}
		ms, err := a.matrixSteps(li, li+1)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

// Metrics implements Adapter.
func (a *ccfAdapter) Metrics() map[string]float64 {
	m := a.sess.Metrics()
	m["fiber_dispatched_mm"] = a.fiberMM
	m["matrix_mm"] = a.matMM
	m["layers"] = float64(len(a.prog.Layers))
	return m
}

// Series implements Adapter: the turning angle of every fibre move (deg).
func (a *ccfAdapter) Series() map[string][]float64 {
	var out []float64
	for _, t := range a.sess.Turns() {
		out = append(out, t.AngleRad*180/math.Pi)
	}
	return map[string][]float64{"turn_deg": out}
}

// ccfExecutor drives the arm (RobotExecutor) and the head's board.
type ccfExecutor struct {
	RobotExecutor
	drv  *extruder.Driver
	cell config.Cell
	gate *safety.Gate
}

// Begin homes the arm and heats bed, T0 and T1 (waiting for each).
func (e *ccfExecutor) Begin(ctx context.Context) error {
	if err := e.RobotExecutor.Begin(ctx); err != nil {
		return err
	}
	c := e.cell.CCF
	for _, line := range []string{"M83"} {
		if _, err := e.drv.Send(ctx, line); err != nil {
			return fmt.Errorf("head board: %s: %w", line, err)
		}
	}
	if c.BedTempC > 0 {
		if err := e.drv.SetTemp(ctx, extruder.HeaterBed, c.BedTempC); err != nil {
			return fmt.Errorf("head board: bed: %w", err)
		}
	}
	for t, target := range []float64{c.MatrixTempC, c.FiberTempC} {
		if err := e.drv.SetTemp(ctx, t, target); err != nil {
			return fmt.Errorf("head board: T%d: %w", t, err)
		}
	}
	if c.BedTempC > 0 {
		if err := e.drv.WaitTemp(ctx, extruder.HeaterBed, c.BedTempC, nil); err != nil {
			return fmt.Errorf("head board: bed: %w", err)
		}
	}
	for t, target := range []float64{c.MatrixTempC, c.FiberTempC} {
		if err := e.drv.WaitTemp(ctx, t, target, nil); err != nil {
			return fmt.Errorf("head board: T%d: %w", t, err)
		}
	}
	return nil
}

// Prepare records the dispatcher references of the step's robot commands.
func (e *ccfExecutor) Prepare(ctx context.Context, s *Step) error {
	d, err := e.Link.Dispatcher(ctx)
	if err != nil {
		return err
	}
	pl, _ := s.Payload.(ccfPayload)
	s.HW = stepHW(d, pl.robotCmds())
	return nil
}

// Do checks the extruding nozzle's temperature, then runs the step:
// board lines are queued (each extrusion just before the arm motion it
// belongs to), arm motions wait for their acknowledgement, and the step
// ends when the board has executed everything (M400).
func (e *ccfExecutor) Do(ctx context.Context, s Step) error {
	pl, ok := s.Payload.(ccfPayload)
	if !ok {
		return fmt.Errorf("step payload is %T, want ccf payload", s.Payload)
	}
	if pl.Extrude {
		ts, err := e.drv.QueryTemps(ctx)
		if err != nil {
			return fmt.Errorf("head board: temperatures: %w", err)
		}
		h, ok := ts.Tool(int(pl.Tool))
		if !ok {
			return fmt.Errorf("head board reports no temperature for T%d", pl.Tool)
		}
		if err := e.gate.CheckNozzleTemp(s.Label, int(pl.Tool), h.CurrentC); err != nil {
			return err
		}
	}
	d, err := e.Link.Dispatcher(ctx)
	if err != nil {
		return err
	}
	skip := e.takeSkip(s.Seq)
	if skip > 0 {
		var done []RobotCmd
		for _, c := range pl.Cmds {
			if c.Robot != nil && len(done) < skip {
				done = append(done, *c.Robot)
			}
		}
		if err := e.reposition(ctx, d, done); err != nil {
			return fmt.Errorf("resume step part-way: %w", err)
		}
	}
	robot := 0
	var pend []*extruder.Pending
	for _, c := range pl.Cmds {
		if c.Robot == nil {
			if robot < skip && !strings.HasPrefix(c.GCode, "T") {
				continue // belongs to a motion that completed before the restart
			}
			p, err := e.drv.Submit(ctx, c.GCode)
			if err != nil {
				return fmt.Errorf("head board %q: %w", c.GCode, err)
			}
			pend = append(pend, p)
			continue
		}
		robot++
		if robot <= skip {
			continue
		}
		if err := e.runMotion(ctx, d, *c.Robot); err != nil {
			return fmt.Errorf("robot command %d: %w", robot, err)
		}
	}
	for _, p := range pend {
		if _, err := p.Wait(ctx); err != nil {
			return fmt.Errorf("head board line %d: %w", p.N(), err)
		}
	}
	if _, err := e.drv.Send(ctx, "M400"); err != nil {
		return fmt.Errorf("head board: M400: %w", err)
	}
	return nil
}

// SafePoint drains the board's queue (no filament fed while paused).
func (e *ccfExecutor) SafePoint(ctx context.Context) error {
	if _, err := e.drv.Send(ctx, "M400"); err != nil {
		return fmt.Errorf("head board: M400: %w", err)
	}
	return nil
}

// End lifts home and switches the heaters off.
func (e *ccfExecutor) End(ctx context.Context) error {
	err := e.RobotExecutor.End(ctx)
	if herr := e.Shutdown(ctx); herr != nil && err == nil {
		err = herr
	}
	return err
}

// Shutdown implements Shutdowner: both nozzle heaters and the bed off
// (every line is sent even if one fails). A job that stops for good —
// cancelled, aborted, failed, or the controller stopped — must not leave
// 200+ °C nozzles unattended; a paused job keeps its temperatures, and
// Begin heats again when the job is resumed from its journal.
func (e *ccfExecutor) Shutdown(ctx context.Context) error {
	var err error
	for _, line := range []string{"M104 T0 S0", "M104 T1 S0", "M140 S0"} {
		if _, herr := e.drv.Send(ctx, line); herr != nil && err == nil {
			err = fmt.Errorf("head board: %s: %w", line, herr)
		}
	}
	return err
}

// temps reports the head's temperatures for telemetry.
func (e *ccfExecutor) temps() map[string]float64 {
	ts, ok := e.drv.Temps()
	if !ok {
		return nil
	}
	out := map[string]float64{}
	for i, h := range ts.Tools {
		out[fmt.Sprintf("t%d_degC", i)] = h.CurrentC
	}
	if ts.HasBed {
		out["bed_degC"] = ts.Bed.CurrentC
	}
	return out
}

// OpenExtruder opens the dual-nozzle head's board: serial.extruder_port,
// or in a dry run (or with an empty port) fabcell's board simulator on a
// pseudo-terminal running at the dry run's time scale.
func OpenExtruder(ctx context.Context, cell config.Cell, dryRun bool, log *slog.Logger) (*extruder.Driver, *boardsim.Board, func() error, error) {
	port := cell.Serial.ExtruderPort
	var board *boardsim.Board
	if dryRun || port == "" {
		if !dryRun {
			return nil, nil, nil, errors.New("serial.extruder_port is empty (set it, or run with --dry-run for the board simulator)")
		}
		b, err := boardsim.Start(context.Background(), boardsim.Options{Speed: cell.Controller.TimeScale})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("start board simulator: %w", err)
		}
		board, port = b, b.Path()
	}
	drv, err := extruder.Open(ctx, port, cell.Serial, nil)
	if err != nil {
		if board != nil {
			board.Close()
		}
		return nil, nil, nil, fmt.Errorf("extruder %s: %w", port, err)
	}
	closer := func() error {
		err := drv.Close()
		if board != nil {
			err = errors.Join(err, board.Close())
		}
		return err
	}
	if log != nil {
		log.Info("dual-nozzle head connected", "port", port, "simulated", board != nil)
	}
	return drv, board, closer, nil
}
