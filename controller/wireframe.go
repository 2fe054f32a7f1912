package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"fabcell/planners"
	"fabcell/processes/wireframe"
	"fabcell/robot/ur/kin"
	"fabcell/safety"
	"fabcell/simulation/geom"

	"github.com/golang/geo/r3"
)

// The wire-frame process executed on the UR5e: every strut the planner
// emits is replayed on the adapter's own wire-frame session (the shadow
// state: printed structure in the FEA and the collision world, the arm
// check), turned into robot motions by wireframe.Motions (approach,
// extruder on, movep along the strut, extruder off, cooling dwell,
// retract) and checked before it may be dispatched:
//
//   - head and arm: the print must have a collision-free head axis and pass
//     the arm-level check (IK along the strut on one branch, link capsules
//     clear of the structure, bed and keep-outs); transitions and lifts must
//     be clear (rules head_collision, arm_collision);
//   - FEA: the gravity sag of the printed structure including the new strut,
//     from the whole-frame analysis, must stay within
//     safety.max_displacement_mm (rule fea_displacement); a floating or
//     unstable partial structure is refused;
//   - every robot motion passes safety.Gate.CheckMotion: workspace, keep-out
//     boxes, TCP height above the bed, joint limits and continuity, TCP and
//     joint speeds.
//
// Travel and jump moves of the planner have no motions of their own (the
// robot goes to the next print's approach point, which is checked); they
// are journaled with the next print. One print is one dispatch step, so a
// step always ends with the extruder off and the nozzle retracted — the
// safe point between steps.
func init() { RegisterAdapter("wireframe", newWireframeAdapter) }

type wireframeAdapter struct {
	env   *Env
	mo    *wireframe.Motions
	sess  *wireframe.Session
	model *kin.Model
	// baseToBed maps base-frame mm to the bed frame; bedZ is the bed plane
	// (the lowest node) in bed-frame z.
	baseToBed geom.Pose
	bedZ      float64

	q     [6]float64 // joints after the last checked motion
	posMM r3.Vector  // TCP after the last checked motion (base frame, mm)

	pending []planners.Move // travel/jump moves waiting for the next print
	cache   *wfNext         // Check's result for the move Apply will get

	disp       []float64 // global d_max after each applied move (mm)
	lastDisp   float64
	maxDisp    float64
	prints     int
	robotCmds  int
	lastDurS   float64
	checkedMov int
}

// wfNext is the outcome of replaying one move.
type wfNext struct {
	m     planners.Move
	cmds  []RobotCmd
	q     [6]float64
	posMM r3.Vector
	disp  float64
	estS  float64
	err   error
}

func newWireframeAdapter(ctx context.Context, env *Env) (Adapter, Executor, error) {
	proc, ok := env.Process.(*wireframe.Process)
	if !ok {
		return nil, nil, fmt.Errorf("wireframe adapter: process is %T", env.Process)
	}
	link, err := env.IO.Robot()
	if err != nil {
		return nil, nil, err
	}
	mo, err := proc.NewMotions(env.Graph)
	if err != nil {
		return nil, nil, err
	}
	bed, _ := proc.BedFrame(env.Graph)
	lo, _ := env.Graph.Bounds()
	a := &wireframeAdapter{env: env, mo: mo, sess: mo.Session(), model: kin.UR5e().WithTCP(ToolOffset(env.Cell.Robot)),
		baseToBed: bed.Inverse(), bedZ: lo.Z, q: env.Cell.Robot.HomeJointsRad}
	a.posMM = a.model.FK(a.q).P.Mul(1000)
	off := RobotCmd{Kind: CmdToolOut, Pin: env.Cell.Wireframe.ExtrudeToolOutput, On: false}
	ex := &RobotExecutor{Link: link, Home: env.Cell.Robot.HomeJointsRad, Safe: []RobotCmd{off}}
	return a, ex, nil
}

// next replays m on the shadow session and checks what it produced.
func (a *wireframeAdapter) next(m planners.Move) *wfNext {
	n := &wfNext{m: m, q: a.q, posMM: a.posMM, disp: a.lastDisp}
	where := fmt.Sprintf("move %d (%s %d→%d", a.checkedMov, m.Kind, m.From, m.To)
	if m.Kind == planners.Print {
		where += fmt.Sprintf(", strut %d", m.Edge)
	}
	where += ")"
	before := a.mo.DurationS()
	steps, err := a.mo.Next(m)
	if err != nil {
		n.err = err
		return n
	}
	n.estS = a.mo.DurationS() - before
	if m.Kind == planners.Print {
		if st, reason, ok := a.sess.LastPrint(); ok && st != wireframe.StatusOK {
			rule := safety.RuleHeadCollision
			detail := "no sampled head axis avoids the printed structure, the bed and the keep-out boxes"
			switch st {
			case wireframe.StatusArm:
				rule, detail = safety.RuleArmCollision, "arm-level check failed at every head axis: "+reason
			case wireframe.StatusFloating:
				rule, detail = safety.RuleDisplacement, "the strut starts at a node that is neither grounded nor on the printed structure (floating strut)"
			}
			n.err = &safety.Violation{Rule: rule, Where: where, Value: math.NaN(), Limit: math.NaN(), Detail: detail}
			return n
		}
		d, node, err := a.sess.DisplacementMM()
		if err != nil {
			n.err = &safety.Violation{Rule: safety.RuleDisplacement, Where: where, Value: math.NaN(), Limit: a.env.Cell.Safety.MaxDisplacementMM,
				Unit: "mm", Detail: "the FEA of the printed structure with this strut failed: " + err.Error()}
			return n
		}
		if err := a.env.Gate.CheckDisplacement(fmt.Sprintf("%s at node %d", where, node), d); err != nil {
			n.err = err
			return n
		}
		n.disp = d
	}
	q, pos := a.q, a.posMM
	for _, st := range steps {
		w := fmt.Sprintf("%s %s", where, st.Note)
		c, err := wfCmd(st)
		if err != nil {
			n.err = err
			return n
		}
		// the gate first: its refusal names the rule and the place (a
		// keep-out box, the workspace, a joint limit)
		if q, pos, err = a.gate(w, st, q, pos, true); err != nil {
			n.err = err
			return n
		}
		if st.Collides {
			to := st.TCP.P.Mul(1000)
			why := st.CollidesWhy
			if why == "" {
				why = "the head or arm would touch the printed struts, the bed or a safety.keep_out box"
			}
			n.err = &safety.Violation{Rule: safety.RuleHeadCollision, Where: w, Value: math.NaN(), Limit: math.NaN(),
				Detail: fmt.Sprintf("the collision check could not clear this motion towards TCP (%.1f, %.1f, %.1f) mm, base frame: %s", to.X, to.Y, to.Z, why)}
			return n
		}
		n.cmds = append(n.cmds, c)
	}
	n.q, n.posMM = q, pos
	return n
}

// gate checks a motion step (other kinds pass) from joints q and TCP pos
// (base frame, mm) with safety.Gate.CheckMotion and returns the joints and
// TCP after it. withBed checks the TCP height above the bed at the lower
// end of the motion.
func (a *wireframeAdapter) gate(where string, st wireframe.Step, q [6]float64, pos r3.Vector, withBed bool) ([6]float64, r3.Vector, error) {
	if st.Kind != wireframe.StepMoveJ && st.Kind != wireframe.StepMoveL && st.Kind != wireframe.StepMoveP {
		return q, pos, nil
	}
	to := st.TCP.P.Mul(1000)
	bz := math.NaN()
	if withBed {
		bz = math.Min(a.baseToBed.Apply(pos).Z, a.baseToBed.Apply(to).Z) - a.bedZ
	}
	mo := safety.Motion{Where: where, Linear: st.Kind != wireframe.StepMoveJ, FromMM: pos, ToMM: to, BedZMM: bz,
		QFrom: q, QTo: st.Joints, HasJoints: true}
	if mo.Linear {
		mo.TCPSpeedMMS = st.Motion.Speed * 1000
	} else {
		mo.JointSpeedRadS, mo.JointAccelRadS2 = st.Motion.Speed, st.Motion.Accel
	}
	if err := a.env.Gate.CheckMotion(mo); err != nil {
		return q, pos, err
	}
	return st.Joints, to, nil
}

// wfCmd converts one wire-frame robot step to a dispatcher command.
func wfCmd(st wireframe.Step) (RobotCmd, error) {
	m := st.Motion
	switch st.Kind {
	case wireframe.StepMoveJ:
		return RobotCmd{Kind: CmdMoveJ, Q: st.Joints, Speed: m.Speed, Accel: m.Accel, BlendM: m.BlendM}, nil
	case wireframe.StepMoveL:
		return RobotCmd{Kind: CmdMoveL, Pose: st.TCP, Q: st.Joints, HasQ: true, Speed: m.Speed, Accel: m.Accel, BlendM: m.BlendM}, nil
	case wireframe.StepMoveP:
		return RobotCmd{Kind: CmdMoveP, Pose: st.TCP, Q: st.Joints, HasQ: true, Speed: m.Speed, Accel: m.Accel, BlendM: m.BlendM}, nil
	case wireframe.StepExtrude:
		return RobotCmd{Kind: CmdToolOut, Pin: st.Output, On: st.On}, nil
	case wireframe.StepFeed:
		return RobotCmd{Kind: CmdAnalogOut, Pin: st.Output, Value: st.Fraction}, nil
	case wireframe.StepDwell:
		return RobotCmd{Kind: CmdDwell, Dwell: st.Dwell}, nil
	}
	return RobotCmd{}, fmt.Errorf("wireframe step kind %d is unknown", st.Kind)
}

// Check implements Adapter. The move is replayed on the shadow session
// here (the result is kept for Apply); a refused move ends the job, so
// the shadow state is never used again after a refusal.
func (a *wireframeAdapter) Check(m planners.Move) error {
	if a.cache != nil && a.cache.m == m {
		return a.cache.err
	}
	a.cache = a.next(m)
	a.checkedMov++
	return a.cache.err
}

// Apply implements Adapter.
func (a *wireframeAdapter) Apply(m planners.Move) ([]Step, error) {
	n := a.cache
	a.cache = nil
	if n == nil || n.m != m {
		// journal replay on resume: the move was checked and executed
		// before the restart
		n = a.next(m)
		a.checkedMov++
		var v *safety.Violation
		if n.err != nil && !errors.As(n.err, &v) {
			return nil, n.err
		}
	} else if n.err != nil {
		return nil, n.err
	}
	a.q, a.posMM = n.q, n.posMM
	a.robotCmds += len(n.cmds)
	a.pending = append(a.pending, m)
	if m.Kind == planners.Print {
		a.prints++
		a.lastDisp = n.disp
		a.maxDisp = math.Max(a.maxDisp, n.disp)
	}
	a.disp = append(a.disp, a.lastDisp)
	if m.Kind != planners.Print && len(n.cmds) == 0 {
		return nil, nil // journaled with the next print
	}
	s := Step{Moves: a.pending, Payload: n.cmds, Estimate: secs(n.estS),
		Label: fmt.Sprintf("strut %d (%d→%d)", m.Edge, m.From, m.To)}
	if m.Kind != planners.Print {
		s.Label = fmt.Sprintf("%s %d→%d", m.Kind, m.From, m.To)
	}
	a.pending = nil
	return []Step{s}, nil
}

// Flush implements Adapter: the epilogue (extruder off, lift above the
// structure, home) with the travel moves left after the last print.
func (a *wireframeAdapter) Flush() ([]Step, error) {
	steps, err := a.mo.Finish()
	if err != nil {
		return nil, err
	}
	var cmds []RobotCmd
	q, pos := a.q, a.posMM
	for _, st := range steps {
		c, err := wfCmd(st)
		if err != nil {
			return nil, err
		}
		if q, pos, err = a.gate("epilogue "+st.Note, st, q, pos, false); err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
	}
	if len(cmds) == 0 && len(a.pending) == 0 {
		return nil, nil
	}
	s := Step{Moves: a.pending, Payload: cmds, Label: "epilogue (lift, home)"}
	a.pending = nil
	return []Step{s}, nil
}

// Metrics implements Adapter: the wire-frame session's metrics of the
// executed order plus what the checker saw.
func (a *wireframeAdapter) Metrics() map[string]float64 {
	m := a.sess.Metrics()
	m["checked_max_displacement_mm"] = a.maxDisp
	m["robot_commands"] = float64(a.robotCmds)
	return m
}

// Series implements Adapter.
func (a *wireframeAdapter) Series() map[string][]float64 {
	return map[string][]float64{"displacement_mm": append([]float64(nil), a.disp...)}
}

// secs converts seconds to a duration.
func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
