package wireframe

import (
	"fmt"
	"math"
	"time"

	"github.com/golang/geo/r3"

	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/robot/ur/script"
	"fabcell/simulation/collision"
	"fabcell/simulation/geom"
)

// StepKind says what a motion step does.
type StepKind uint8

const (
	// StepMoveJ moves in joint space to Joints (URScript movej).
	StepMoveJ StepKind = iota
	// StepMoveL moves the tool in a straight line to TCP (movel).
	StepMoveL
	// StepMoveP moves the tool in a straight line to TCP at constant speed
	// (movep, the extrusion move).
	StepMoveP
	// StepExtrude switches the extruder: tool digital output Output = On.
	StepExtrude
	// StepFeed sets the feed: standard analog output Output = Fraction.
	StepFeed
	// StepDwell waits Dwell (cooling after a strut).
	StepDwell
)

var stepNames = [...]string{"movej", "movel", "movep", "extrude", "feed", "dwell"}

func (k StepKind) String() string {
	if int(k) < len(stepNames) {
		return stepNames[k]
	}
	return fmt.Sprintf("StepKind(%d)", int(k))
}

// Step is one robot instruction of a wire-frame program. Frames and
// units are those at the wire: TCP poses in the robot base frame in
// metres with rotation matrices (script.PoseFromGeom gives the URScript
// p[x, y, z, rx, ry, rz]), joints in radians, Motion in SI (movej: rad/s²,
// rad/s; movel/movep: m/s², m/s; blend radius m).
type Step struct {
	Kind StepKind
	// Move is the index of the planner move the step belongs to (−1 for
	// the program prologue and epilogue).
	Move int
	// TCP is the target pose of a move step (base frame, metres); for
	// StepMoveJ it is FK(Joints).
	TCP geom.Pose
	// Joints are the joint angles at the target (rad): on the session's
	// arm branch, each joint the 2π representative nearest the previous
	// target's (so the sequence is continuous and can be streamed as
	// joint targets).
	Joints [6]float64
	// Motion holds acceleration, speed and blend radius.
	Motion script.Motion
	// Output, On and Fraction drive StepExtrude (tool digital output) and
	// StepFeed (standard analog output, fraction of its range).
	Output   int
	On       bool
	Fraction float64
	// Dwell is the wait of StepDwell.
	Dwell time.Duration
	// Collides marks a move the collision check could not clear (the
	// printed move itself or a transition/lift); such plans are reported
	// in the metrics and must not be sent to a robot.
	Collides bool
	// CollidesWhy says what the check found when Collides is set (the
	// first reason found).
	CollidesWhy string
	// Note says what the step is for (approach, print, retract, lift,
	// travel, home).
	Note string
}

// durationS estimates the step's duration in seconds: a trapezoidal
// profile over the translation (or the largest joint motion for movej,
// the rotation for a pure reorientation) from the previous step's pose and
// joints, ignoring blends (so slightly pessimistic).
func (st Step) durationS(prevTCP geom.Pose, prevQ [6]float64, rotSpeed, rotAccel float64) float64 {
	switch st.Kind {
	case StepDwell:
		return st.Dwell.Seconds()
	case StepMoveJ:
		d := 0.0
		for j := range 6 {
			d = math.Max(d, math.Abs(st.Joints[j]-prevQ[j]))
		}
		return trapezoidS(d, st.Motion.Speed, st.Motion.Accel)
	case StepMoveL, StepMoveP:
		l := st.TCP.P.Sub(prevTCP.P).Norm()
		ang := prevTCP.R.T().Mul(st.TCP.R).Angle()
		return math.Max(trapezoidS(l, st.Motion.Speed, st.Motion.Accel), trapezoidS(ang, rotSpeed, rotAccel))
	}
	return 0
}

// trapezoidS is the time to cover distance d from rest to rest at speed
// limit v and acceleration a.
func trapezoidS(d, v, a float64) float64 {
	if d <= 0 || v <= 0 || a <= 0 {
		return 0
	}
	if d <= v*v/a {
		return 2 * math.Sqrt(d/a)
	}
	return d/v + v/a
}

// Motions turns planner moves into robot steps, one move at a time, so a
// controller can stream them (e.g. through the RTDE register dispatcher of
// package robot/ur/script) while the planner is still running. Each move
// becomes:
//
//	print v→w, head axis a: transition to v + a·approach_mm (a straight
//	    move if the swept head is clear, else a lift over the printed
//	    structure), movel down to v, extruder on, movep v→w at
//	    print_speed_mm_s, extruder off, dwell cooling_dwell_s, movel up to
//	    w + a·retract_mm
//	travel v→w over a printed strut: movel parallel to it at the retract
//	    offset when clear, else a lift
//	jump: a lift (up above the printed structure by lift_clearance_mm,
//	    across, down along the head axis)
//
// The tool keeps the head axis of the last print; its yaw about the axis
// is the one the arm check accepted. Start gives the prologue (extruder
// off, feed, movej home) and Finish the epilogue (lift, movej home).
//
// A Motions replays the moves on its own Session (it must receive the
// moves in plan order, starting with the first) and is independent of the
// planning session, so it may run in another goroutine. It is not safe for
// concurrent use itself.
type Motions struct {
	s   *Session
	arm *arm
	cfg motionCfg

	q       [6]float64 // joints at the last target
	tcp     geom.Pose  // TCP at the last target (base, m)
	tip     r3.Vector  // nozzle tip at the last target (bed, mm)
	axis    int        // head axis index at the last target
	yaw     int
	started bool
	placed  bool // the tool has reached a point above the structure

	// statistics
	durS       float64
	collisions int
	lifts      int
	jointMoves int
}

type motionCfg struct {
	printV, travelV, linA float64 // m/s, m/s, m/s²
	jointV, jointA        float64 // rad/s, rad/s²
	blendM                float64
	approachMM, retractMM float64
	liftMM                float64
	extrudeOut, feedOut   int
	feed                  float64
	dwell                 time.Duration
	home                  [6]float64
	clearMM               float64
}

// NewMotions returns a step generator for graph g (the graph the moves
// refer to).
func (p *Process) NewMotions(g *graph.Graph) (*Motions, error) {
	s, err := p.Open(g)
	if err != nil {
		return nil, err
	}
	return s.newMotions()
}

func (s *Session) newMotions() (*Motions, error) {
	p := s.p
	a := s.arm
	if a == nil {
		var err error
		if a, err = p.newArm(s.G, s.bedToBase, s.bedZ, nil); err != nil {
			return nil, err
		}
	}
	r, w := p.cfg.Robot, p.cfg.Wireframe
	mo := &Motions{s: s, arm: a, cfg: motionCfg{
		printV: r.PrintSpeedMMS / 1e3, travelV: r.TravelSpeedMMS / 1e3, linA: r.LinearAccelMMS2 / 1e3,
		jointV: r.JointSpeedRadS, jointA: r.JointAccelRadS2, blendM: r.BlendRadiusMM / 1e3,
		approachMM: r.ApproachMM, retractMM: r.RetractMM, liftMM: w.LiftClearanceMM,
		extrudeOut: w.ExtrudeToolOutput, feedOut: w.FeedAnalogOutput, feed: w.FeedFraction,
		dwell: time.Duration(w.CoolingDwellS * float64(time.Second)), home: r.HomeJointsRad,
		clearMM: w.CollisionClearanceMM,
	}}
	mo.q = mo.cfg.home
	mo.tcp = a.m.FK(mo.q)
	return mo, nil
}

// ToolOffset returns the TCP offset for set_tcp (flange → TCP, metres).
func (mo *Motions) ToolOffset() script.Pose { return script.PoseFromGeom(mo.arm.m.TCP()) }

// Session returns the replay session (read-only use: metrics, moves).
func (mo *Motions) Session() *Session { return mo.s }

// DurationS returns the estimated duration of the steps produced so far
// (seconds).
func (mo *Motions) DurationS() float64 { return mo.durS }

// Collisions returns how many produced move steps the collision check
// could not clear.
func (mo *Motions) Collisions() int { return mo.collisions }

// Lifts returns how many lifts over the structure were produced.
func (mo *Motions) Lifts() int { return mo.lifts }

// JointMoves returns how many transitions became joint moves because the
// arm could not follow the straight line (see linearPath).
func (mo *Motions) JointMoves() int { return mo.jointMoves }

func (mo *Motions) emit(dst []Step, st Step) []Step {
	rot := mo.cfg.jointV // reorientation speed/accel: use the joint limits as a rotational bound
	mo.durS += st.durationS(mo.tcp, mo.q, rot, mo.cfg.jointA)
	if st.Kind <= StepMoveP {
		mo.q, mo.tcp = st.Joints, st.TCP
		if st.Collides {
			mo.collisions++
		}
	}
	return append(dst, st)
}

// collide marks st colliding for why when bad (the first reason stays).
func (st *Step) collide(bad bool, why string) {
	if !bad {
		return
	}
	if !st.Collides || st.CollidesWhy == "" {
		st.CollidesWhy = why
	}
	st.Collides = true
}

// Start returns the prologue: feed set, extruder off, joint move home.
func (mo *Motions) Start() []Step {
	mo.started = true
	var out []Step
	out = mo.emit(out, Step{Kind: StepFeed, Move: -1, Output: mo.cfg.feedOut, Fraction: mo.cfg.feed, Note: "feed"})
	out = mo.emit(out, Step{Kind: StepExtrude, Move: -1, Output: mo.cfg.extrudeOut, On: false, Note: "extruder off"})
	out = mo.emit(out, Step{Kind: StepMoveJ, Move: -1, Joints: mo.cfg.home, TCP: mo.arm.m.FK(mo.cfg.home),
		Motion: script.Motion{Speed: mo.cfg.jointV, Accel: mo.cfg.jointA}, Note: "home"})
	return out
}

// target builds a move step to tip (bed, mm) with head axis/yaw indices.
func (mo *Motions) target(kind StepKind, i int, tip r3.Vector, axis, yaw int, m script.Motion, note string) (Step, error) {
	pose := mo.arm.pose(tip, axis, yaw)
	q, f := mo.arm.ikBranch(pose, &mo.q)
	if f != armOK {
		return Step{}, fmt.Errorf("wireframe: move %d: %s at tip (%.1f, %.1f, %.1f) mm (bed frame): %s", i, note, tip.X, tip.Y, tip.Z, f)
	}
	if mo.s.arm != nil && !mo.linksFree(q) {
		return Step{Kind: kind, Move: i, TCP: pose, Joints: q, Motion: m, Note: note, Collides: true,
			CollidesWhy: "an arm link would hit the printed structure, the bed or a keep-out box at the target pose"}, nil
	}
	return Step{Kind: kind, Move: i, TCP: pose, Joints: q, Motion: m, Note: note}, nil
}

// linksFree checks the arm links at q against the printed struts.
func (mo *Motions) linksFree(q [6]float64) bool {
	s := mo.s
	a := mo.arm
	var buf [10]linkCapsule
	m := s.strutR + a.clearMM
	maxZ := s.maxZ[len(s.maxZ)-1]
	for i, c := range a.links(q, buf[:0]) {
		if i >= 2 && math.Min(c.a.Z, c.b.Z)-c.r <= a.bedZ+a.clearMM {
			return false
		}
		if math.Min(c.a.Z, c.b.Z)-c.r > maxZ+m {
			continue
		}
		hit := false
		s.world.QueryBox(geom.SegmentAABB(c.a, c.b, c.r), m, func(_ int, st collision.Capsule) bool {
			if _, _, d := geom.SegmentSegment(c.a, c.b, st.A, st.B); d <= c.r+st.R+a.clearMM {
				hit = true
				return false
			}
			return true
		})
		if hit {
			return false
		}
	}
	return true
}

// headFreeStatic reports whether the head at tip with axis ax is clear.
func (mo *Motions) headFreeStatic(tip, ax r3.Vector) bool {
	_, hit := mo.s.world.FirstHit(mo.s.p.head.Shape(tip, ax), mo.cfg.clearMM, nil)
	return !hit
}

// sweptFree reports whether a straight tip move a→b that turns the head
// from axis a0 to a1 (slerp) stays clear, sampled every 2 mm and 3°; with
// a0 = a1 the exact swept-volume test is used.
func (mo *Motions) sweptFree(a, b r3.Vector, a0, a1 int) bool {
	s := mo.s
	if !s.cfg.CollisionOn() {
		return true
	}
	x0, x1 := s.p.axes[a0], s.p.axes[a1]
	if a0 == a1 {
		return s.chk.MoveFree(a, b, x0)
	}
	ang := geom.AngleBetween(x0, x1)
	n := max(2, int(math.Ceil(ang/(3*math.Pi/180))), int(math.Ceil(b.Sub(a).Norm()/2)))
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		if !mo.headFreeStatic(a.Add(b.Sub(a).Mul(t)), slerp(x0, x1, t)) {
			return false
		}
	}
	return true
}

// slerp interpolates unit vectors.
func slerp(a, b r3.Vector, t float64) r3.Vector {
	ang := geom.AngleBetween(a, b)
	if ang < 1e-9 {
		return a
	}
	s := math.Sin(ang)
	return a.Mul(math.Sin((1-t)*ang) / s).Add(b.Mul(math.Sin(t*ang) / s)).Normalize()
}

// headBelowTipMM is how far the head's lowest point lies below the tip
// for head axis ax (≥ 0).
func (mo *Motions) headBelowTipMM(ax r3.Vector) float64 {
	h := mo.s.p.head
	f := math.Sqrt(math.Max(0, 1-ax.Z*ax.Z))
	low := 0.0
	for _, d := range [][2]float64{{h.NozzleLengthMM, h.ConeRadiusMM * h.NozzleLengthMM / h.ConeHeightMM}, {h.ConeHeightMM, h.MaxRadiusMM()}, {h.TopMM(), h.CylinderRadiusMM}} {
		low = math.Min(low, d[0]*ax.Z-d[1]*f)
	}
	return -low
}

// moveTo appends the steps that bring the tip from its current point to
// tip with head axis/yaw (axis, yaw): one movel when the swept head is
// clear, else a lift over the printed structure.
func (mo *Motions) moveTo(out []Step, i int, tip r3.Vector, axis, yaw int, note string) ([]Step, error) {
	c := mo.cfg
	travel := script.Motion{Speed: c.travelV, Accel: c.linA}
	if !mo.placed {
		// first placement: joint move from home to the target
		st, err := mo.target(StepMoveJ, i, tip, axis, yaw, script.Motion{Speed: c.jointV, Accel: c.jointA}, note)
		if err != nil {
			return out, err
		}
		st.collide(!mo.headFreeStatic(tip, mo.s.p.axes[axis]), "the head would touch the printed structure at the target")
		mo.jointMove(&st)
		mo.placed = true
		mo.tip, mo.axis, mo.yaw = tip, axis, yaw
		return mo.emit(out, st), nil
	}
	if tip.Sub(mo.tip).Norm() < 1e-9 && axis == mo.axis && yaw == mo.yaw {
		return out, nil
	}
	if mo.sweptFree(mo.tip, tip, mo.axis, axis) {
		st, err := mo.target(StepMoveL, i, tip, axis, yaw, travel, note)
		if err != nil {
			return out, err
		}
		if mo.straightOK(&st) {
			mo.tip, mo.axis, mo.yaw = tip, axis, yaw
			return mo.emit(out, st), nil
		}
		// the arm cannot follow the straight line: go over a lift
	}
	// lift: up at the old axis, across (turning) above the structure, down
	// along the new axis
	s := mo.s
	x0, x1 := s.p.axes[mo.axis], s.p.axes[axis]
	zs := s.maxZ[len(s.maxZ)-1] + c.liftMM + math.Max(mo.headBelowTipMM(x0), mo.headBelowTipMM(x1))
	// up and down along the head axes: a head moving along its own axis
	// sweeps only the column the print move already cleared, plus the
	// region above its top
	u1 := mo.tip
	if d := zs - u1.Z; d > 0 {
		u1 = u1.Add(x0.Mul(d / x0.Z))
	}
	u2 := tip
	if d := zs - tip.Z; d > 0 {
		u2 = tip.Add(x1.Mul(d / x1.Z))
	}
	mo.lifts++
	legs := []struct {
		to        r3.Vector
		axis, yaw int
		free      bool
		blendLeg  bool
		name      string
	}{
		{u1, mo.axis, mo.yaw, s.chk.MoveFree(mo.tip, u1, x0) || !s.cfg.CollisionOn(), true, "lift up"},
		{u2, axis, yaw, mo.sweptFree(u1, u2, mo.axis, axis), true, "lift across"},
		{tip, axis, yaw, s.chk.MoveFree(u2, tip, x1) || !s.cfg.CollisionOn(), false, "lift down"},
	}
	for k, l := range legs {
		if l.to.Sub(mo.tip).Norm() < 1e-9 && l.axis == mo.axis && l.yaw == mo.yaw {
			continue
		}
		m := travel
		if l.blendLeg && k+1 < len(legs) {
			seg := math.Min(l.to.Sub(mo.tip).Norm(), legs[k+1].to.Sub(l.to).Norm()) / 1e3
			m.BlendM = math.Min(c.blendM, 0.4*seg)
		}
		st, err := mo.target(StepMoveL, i, l.to, l.axis, l.yaw, m, note+": "+l.name)
		if err != nil {
			return out, err
		}
		st.collide(!l.free, "the head's path on this leg ("+l.name+") crosses the printed structure")
		if !mo.straightOK(&st) {
			// the arm cannot follow the line (singularity, reach):
			// no blend into the replacement
			if k > 0 && len(out) > 0 && out[len(out)-1].Kind <= StepMoveP {
				out[len(out)-1].Motion.BlendM = 0
			}
			if k == 1 {
				// across: turn on the spot then go straight, or go
				// straight then turn
				done := false
				cands := [][]waypoint{
					{{u1, axis, yaw}, {u2, axis, yaw}},
					{{u2, mo.axis, mo.yaw}, {u2, axis, yaw}},
				}
				// or through the most upright head axis (far from the
				// wrist singularity), at any yaw
				up := mo.uprightAxis()
				for y := range mo.arm.nYaw {
					cands = append(cands, []waypoint{{u1, up, y}, {u2, up, y}, {u2, axis, yaw}})
				}
				for _, wps := range cands {
					if steps, ok := mo.chain(i, wps, travel, note+": "+l.name); ok {
						for _, x := range steps {
							out = mo.emit(out, x)
						}
						done = true
						break
					}
				}
				if done {
					mo.tip, mo.axis, mo.yaw = l.to, l.axis, l.yaw
					continue
				}
			}
			// last resort: a joint move (its path is checked)
			mo.jointMove(&st)
			mo.jointMoves++
		}
		out = mo.emit(out, st)
		mo.tip, mo.axis, mo.yaw = l.to, l.axis, l.yaw
	}
	return out, nil
}

// Next applies planner move m (the next one of the plan) and returns its
// steps. m.Axis may be zero (the head axis is then chosen by Eq. 6 as in
// planning).
func (mo *Motions) Next(m planners.Move) ([]Step, error) {
	s := mo.s
	var out []Step
	if !mo.started {
		out = mo.Start()
	}
	if s.Current() < 0 {
		if err := s.Begin(m.From); err != nil {
			return nil, err
		}
	}
	if m.From != s.Current() {
		return nil, fmt.Errorf("wireframe: move %d starts at node %d, the tool is at node %d", len(s.Moves()), m.From, s.Current())
	}
	if m.To < 0 || m.To >= s.G.NumNodes() {
		return nil, fmt.Errorf("wireframe: move %d: node %d out of range", len(s.Moves()), m.To)
	}
	if m.Kind == planners.Print || m.Kind == planners.Travel {
		e, ok := s.G.EdgeBetween(m.From, m.To)
		if !ok || e != m.Edge {
			return nil, fmt.Errorf("wireframe: move %d: %s %d→%d is not along edge %d", len(s.Moves()), m.Kind, m.From, m.To, m.Edge)
		}
		if m.Kind == planners.Print && s.Passes(e) > 0 {
			return nil, fmt.Errorf("wireframe: move %d prints strut %d a second time", len(s.Moves()), e)
		}
	}
	i := len(s.Moves())
	pv, pw := s.G.Pos[m.From], s.G.Pos[m.To]
	c := mo.cfg
	travel := script.Motion{Speed: c.travelV, Accel: c.linA}
	if m.Kind != planners.Print {
		// travels and jumps only move the planner's tool; the robot goes
		// straight (or over a lift) to the next print's approach point,
		// where the head axis of that print is known and checked
		s.Apply(m)
		return out, nil
	}
	s.Apply(m)
	r := s.recs[len(s.recs)-1]
	axis, yaw := int(r.axis), int(r.yaw)
	ax := s.p.axes[axis]
	// transition and approach see the structure without the new strut
	s.world.Remove(m.Edge)
	var err error
	if out, err = mo.moveTo(out, i, pv.Add(ax.Mul(c.approachMM)), axis, yaw, "approach"); err != nil {
		s.world.Add(m.Edge, s.G.Pos[s.G.Edges[m.Edge].A], s.G.Pos[s.G.Edges[m.Edge].B], s.strutR)
		return out, err
	}
	st, err := mo.target(StepMoveL, i, pv, axis, yaw, travel, "approach down")
	if err == nil {
		st.collide(!mo.sweptFree(mo.tip, pv, axis, axis), "the head's approach sweep crosses the printed structure")
		out = mo.emit(out, st)
		mo.tip = pv
	}
	ed := s.G.Edges[m.Edge]
	s.world.Add(m.Edge, s.G.Pos[ed.A], s.G.Pos[ed.B], s.strutR)
	if err != nil {
		return out, err
	}
	out = mo.emit(out, Step{Kind: StepExtrude, Move: i, Output: c.extrudeOut, On: true, Note: "extrude on"})
	st, err = mo.target(StepMoveP, i, pw, axis, yaw, script.Motion{Speed: c.printV, Accel: c.linA}, fmt.Sprintf("print strut %d", m.Edge))
	if err != nil {
		return out, err
	}
	st.collide(r.status != StatusOK, fmt.Sprintf("the strut itself failed its check (%v)", r.status))
	out = mo.emit(out, st)
	mo.tip = pw
	out = mo.emit(out, Step{Kind: StepExtrude, Move: i, Output: c.extrudeOut, On: false, Note: "extrude off"})
	if c.dwell > 0 {
		out = mo.emit(out, Step{Kind: StepDwell, Move: i, Dwell: c.dwell, Note: "cool"})
	}
	up := pw.Add(ax.Mul(c.retractMM))
	if st, err = mo.target(StepMoveL, i, up, axis, yaw, travel, "retract"); err != nil {
		return out, err
	}
	st.collide(!mo.sweptFree(pw, up, axis, axis), "the head's retract sweep crosses the printed structure")
	out = mo.emit(out, st)
	mo.tip = up
	return out, nil
}

// Finish returns the epilogue: extruder off, lift above the structure
// along the head axis (as a transition's lift: the head then sweeps only
// the column its last print and retract cleared, plus the region above its
// top — straight up, a tilted head could sweep into an overhang), joint
// move home.
func (mo *Motions) Finish() ([]Step, error) {
	c := mo.cfg
	var out []Step
	out = mo.emit(out, Step{Kind: StepExtrude, Move: -1, Output: c.extrudeOut, On: false, Note: "extruder off"})
	if mo.placed {
		s := mo.s
		ax := s.p.axes[mo.axis]
		zs := s.maxZ[len(s.maxZ)-1] + c.liftMM + mo.headBelowTipMM(ax)
		if d := zs - mo.tip.Z; d > 0 {
			up := mo.tip.Add(ax.Mul(d / ax.Z))
			st, err := mo.target(StepMoveL, -1, up, mo.axis, mo.yaw, script.Motion{Speed: c.travelV, Accel: c.linA}, "lift")
			if err != nil {
				return out, err
			}
			st.collide(!(s.chk.MoveFree(mo.tip, up, ax) || !s.cfg.CollisionOn()), "the final lift crosses the printed structure")
			if !mo.straightOK(&st) {
				mo.jointMove(&st)
				mo.jointMoves++
			}
			out = mo.emit(out, st)
			mo.tip = up
		}
	}
	out = mo.emit(out, Step{Kind: StepMoveJ, Move: -1, Joints: c.home, TCP: mo.arm.m.FK(c.home),
		Motion: script.Motion{Speed: c.jointV, Accel: c.jointA}, Note: "home"})
	return out, nil
}
