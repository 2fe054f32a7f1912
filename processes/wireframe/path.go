package wireframe

import (
	"fmt"
	"math"

	"github.com/golang/geo/r3"

	"fabcell/robot/ur/script"
	"fabcell/simulation/geom"
)

// pathAngleStep is the largest TCP rotation between two checked samples of
// a straight motion (rad), and pathJointStep the largest joint change
// between two checked samples of a joint motion (rad).
const (
	pathAngleStep = 2 * math.Pi / 180
	pathJointStep = 0.02
)

// transitionSingularMargin is the singularity measure (kin.Model.Singularity:
// raw distance / threshold) a transition must keep. Struts and their
// approach and retract need 1 (the thresholds: 5° for wrist and elbow,
// 50 mm for the shoulder) because the TCP speed there is the print speed;
// transitions carry no extrusion, so where the controller's speed scaling
// slows them near a singularity it costs time, not quality: half the
// margin (2.5°, 25 mm) is required, enough to keep joint speeds bounded
// and far from where IK fails.
const transitionSingularMargin = 0.5

// linearPath checks the straight TCP motion from the current target
// (mo.tcp, mo.q) to pose the way the robot controller interpolates it
// (robot-protocols.md, movel/movep: position linear, rotation about the
// fixed axis of R1·R0ᵀ, IK from the previous cycle's joints): IK on the
// session's branch every arm_sample_mm and 2°, each joint the 2π
// representative nearest the previous sample within the limits, clear of
// singularities and of the bed and keep-out boxes. linksHit reports a link
// touching the printed structure on the way. q is the joint configuration
// reached at the end, continuous from mo.q.
//
// The arm check of a strut (arm.runStatic) covers the approach, print and
// retract motions; this covers the transitions between struts, which a
// UR controller would otherwise stop on (protective stop "tool path not
// reachable") when the line passes through the unreachable cylinder about
// the base axis or needs a branch change.
func (mo *Motions) linearPath(pose geom.Pose) (q [6]float64, fail armFail, linksHit bool) {
	a := mo.arm
	p0, r0 := mo.tcp.P, mo.tcp.R
	dp := pose.P.Sub(p0)
	drot := pose.R.Mul(r0.T()).RotVec()
	n := max(1, int(math.Ceil(dp.Norm()*1e3/a.sampleMM)), int(math.Ceil(drot.Norm()/pathAngleStep)))
	lo, hi := a.m.Limits()
	q = mo.q
	for i := 1; i <= n; i++ {
		u := float64(i) / float64(n)
		x := geom.Pose{R: geom.FromRotVec(drot.Mul(u)).Mul(r0), P: p0.Add(dp.Mul(u))}
		qi, f := a.ikBranch(x, nil)
		if f != armOK {
			return q, f, linksHit
		}
		for j := range 6 {
			v, ok := nearestRep(qi[j], q[j], lo[j], hi[j])
			if !ok {
				return q, armLimit, linksHit
			}
			qi[j] = v
		}
		if _, meas := a.m.Singularity(qi); meas < transitionSingularMargin {
			return q, armSingular, linksHit
		}
		if f := a.linksStatic(qi); f != armOK {
			return q, f, linksHit
		}
		if mo.s.arm != nil && !linksHit && !mo.linksFree(qi) {
			linksHit = true
		}
		q = qi
	}
	return q, armOK, linksHit
}

// straightOK checks the straight motion to st (a movel target built by
// target) with linearPath and, when the arm can follow it, sets st.Joints
// to the configuration the line ends in and marks a link collision.
func (mo *Motions) straightOK(st *Step) bool {
	q, f, hit := mo.linearPath(st.TCP)
	if f != armOK {
		return false
	}
	st.Joints = q
	st.collide(hit, "an arm link would hit the printed structure, the bed or a keep-out box along the straight line")
	return true
}

// jointMove turns st into a joint move (movej) to st.Joints — used when
// the arm cannot follow the straight line — and checks the joint-space
// path: every pathJointStep rad the head (at the tip and axis the forward
// kinematics give) must be clear of the printed structure and the bed, and
// the links clear of everything; otherwise st is marked colliding (the
// controller refuses it).
func (mo *Motions) jointMove(st *Step) {
	a := mo.arm
	c := mo.cfg
	st.Kind = StepMoveJ
	st.Motion = script.Motion{Speed: c.jointV, Accel: c.jointA}
	d := 0.0
	for j := range 6 {
		d = math.Max(d, math.Abs(st.Joints[j]-mo.q[j]))
	}
	n := max(1, int(math.Ceil(d/pathJointStep)))
	for i := 1; i < n && !st.Collides; i++ {
		u := float64(i) / float64(n)
		var q [6]float64
		for j := range 6 {
			q[j] = mo.q[j] + (st.Joints[j]-mo.q[j])*u
		}
		x := a.m.FK(q)
		tip := a.baseToBed.Apply(x.P.Mul(1e3))
		ax := a.baseToBed.ApplyDir(x.R.MulVec(r3.Vector{Z: -1})).Normalize()
		switch {
		case tip.Z-mo.headBelowTipMM(ax) < a.bedZ+c.clearMM,
			a.linksStatic(q) != armOK,
			mo.s.arm != nil && !mo.linksFree(q),
			mo.s.cfg.CollisionOn() && !mo.headFreeStatic(tip, ax):
			st.collide(true, fmt.Sprintf("the joint move passes a pose (%.0f %% of the way) where the head or an arm link would hit the printed structure or the bed", 100*u))
		}
	}
	if !st.Collides {
		// the end pose itself (target checked links only)
		st.collide(mo.s.cfg.CollisionOn() && !mo.headFreeStatic(a.baseToBed.Apply(st.TCP.P.Mul(1e3)), a.baseToBed.ApplyDir(st.TCP.R.MulVec(r3.Vector{Z: -1})).Normalize()),
			"the head would touch the printed structure at the joint move's end pose")
	}
}

// waypoint is a tip position (bed frame, mm) with a head axis and yaw.
type waypoint struct {
	tip       r3.Vector
	axis, yaw int
}

// chain returns straight motions from the current target through wps when
// the arm can follow every one of them (linearPath) and the head sweeps
// clear of the structure; ok=false otherwise. Nothing is emitted and the
// generator's state is left unchanged.
func (mo *Motions) chain(i int, wps []waypoint, m script.Motion, note string) (steps []Step, ok bool) {
	q, tcp, tip, axis, yaw := mo.q, mo.tcp, mo.tip, mo.axis, mo.yaw
	defer func() { mo.q, mo.tcp, mo.tip, mo.axis, mo.yaw = q, tcp, tip, axis, yaw }()
	for _, w := range wps {
		if w.tip.Sub(mo.tip).Norm() < 1e-9 && w.axis == mo.axis && w.yaw == mo.yaw {
			continue
		}
		st, err := mo.target(StepMoveL, i, w.tip, w.axis, w.yaw, m, note)
		if err != nil || st.Collides || !mo.sweptFree(mo.tip, w.tip, mo.axis, w.axis) || !mo.straightOK(&st) || st.Collides {
			return nil, false
		}
		steps = append(steps, st)
		mo.q, mo.tcp, mo.tip, mo.axis, mo.yaw = st.Joints, st.TCP, w.tip, w.axis, w.yaw
	}
	return steps, true
}

// uprightAxis returns the index of the head axis closest to vertical.
func (mo *Motions) uprightAxis() int {
	best := 0
	for i, ax := range mo.s.p.axes {
		if ax.Z > mo.s.p.axes[best].Z {
			best = i
		}
	}
	return best
}
