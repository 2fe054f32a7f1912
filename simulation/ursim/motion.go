package ursim

import (
	"math"
	"sort"

	"github.com/golang/geo/r3"

	"fabcell/simulation/geom"
)

// Motion execution. Accepted moves (movej, movel, movep) become path
// segments; the executor moves along them at the control rate with an
// online trapezoidal speed profile: the path speed is the smallest of the
// segment speed v, the previous speed + a·dt, and the speed from which the
// arm can still stop (or slow to the next segment's speed) within the
// remaining known path, sqrt(v_next² + 2·a·d). Blends (r > 0) between two
// segments of the same kind replace the corner by a quadratic Bézier
// curve from the point where the remaining distance equals the blend
// radius to the point at the same distance into the next segment (movel,
// movep: Cartesian curve with interpolated orientation; movej: joint-space
// curve). Path units: joint segments measure length in the leading
// joint's radians (v, a in rad/s, rad/s²), Cartesian segments in metres of
// tool travel (m/s, m/s²); a pure reorientation measures its rotation
// angle in rad (v, a then in rad/s, rad/s²). Velocity commands (speedj,
// speedl), servoj set-points and stops have their own modes.

type segKind uint8

const (
	segJoint segKind = iota
	segCart
	segCartRot // pure reorientation: length = angle
)

type seg struct {
	kind   segKind
	id     uint64
	prefix bool // blend curve leading into the segment with the same id
	// linear segments
	q0, q1 [6]float64
	x0     geom.Pose
	dp     r3.Vector // x1.P − x0.P
	drot   r3.Vector // rotation vector of x1.R·x0.Rᵀ (base frame)
	// Bézier blends
	bez   bool
	jb    [3][6]float64
	cb    [3]r3.Vector
	table []float64 // cumulative length at u = k/(len−1)
	L     float64
	v, a  float64
	r     float64 // blend radius of the end corner, path units
}

const bezSamples = 33

// point is a position on a path: joints for joint segments, a pose for
// Cartesian ones.
type point struct {
	q    [6]float64
	x    geom.Pose
	cart bool
}

func (s *seg) param(pos float64) float64 {
	if s.L <= 0 {
		return 1
	}
	t := pos / s.L
	if !s.bez {
		return math.Max(0, math.Min(1, t))
	}
	// arc length → Bézier parameter via the table
	n := len(s.table) - 1
	k := sort.SearchFloat64s(s.table, pos)
	if k <= 0 {
		return 0
	}
	if k > n {
		return 1
	}
	l0, l1 := s.table[k-1], s.table[k]
	f := 0.0
	if l1 > l0 {
		f = (pos - l0) / (l1 - l0)
	}
	return (float64(k-1) + f) / float64(n)
}

func (s *seg) eval(pos float64) point {
	u := s.param(pos)
	if s.kind == segJoint {
		var q [6]float64
		if s.bez {
			a, b, c := (1-u)*(1-u), 2*u*(1-u), u*u
			for j := range q {
				q[j] = a*s.jb[0][j] + b*s.jb[1][j] + c*s.jb[2][j]
			}
		} else {
			for j := range q {
				q[j] = s.q0[j] + (s.q1[j]-s.q0[j])*u
			}
		}
		return point{q: q}
	}
	var p r3.Vector
	if s.bez {
		a, b, c := (1-u)*(1-u), 2*u*(1-u), u*u
		p = s.cb[0].Mul(a).Add(s.cb[1].Mul(b)).Add(s.cb[2].Mul(c))
	} else {
		p = s.x0.P.Add(s.dp.Mul(u))
	}
	return point{cart: true, x: geom.Pose{R: geom.FromRotVec(s.drot.Mul(u)).Mul(s.x0.R), P: p}}
}

// end returns the segment's end point.
func (s *seg) end() point { return s.eval(s.L) }

func newJointSeg(q0, q1 [6]float64, v, a float64) *seg {
	s := &seg{kind: segJoint, q0: q0, q1: q1, v: v, a: a}
	for j := range q0 {
		s.L = math.Max(s.L, math.Abs(q1[j]-q0[j]))
	}
	return s
}

func newCartSeg(x0, x1 geom.Pose, v, a float64) *seg {
	s := &seg{kind: segCart, x0: x0, dp: x1.P.Sub(x0.P), drot: x1.R.Mul(x0.R.T()).RotVec(), v: v, a: a}
	s.L = s.dp.Norm()
	if s.L < 1e-7 {
		s.kind = segCartRot
		s.L = s.drot.Norm()
	}
	return s
}

// timed returns (v, a) so that a trapezoidal profile over length L with
// the given acceleration takes t seconds (URScript t > 0 overrides v);
// when a is too small for t, the profile becomes a triangle with
// a = 4L/t².
func timed(L, a, t float64) (float64, float64) {
	if t <= 0 || L <= 0 {
		return 0, a
	}
	disc := a*a*t*t - 4*a*L
	if disc < 0 || a <= 0 {
		a = 4 * L / (t * t)
		return a * t / 2, a
	}
	return (a*t - math.Sqrt(disc)) / 2, a
}

type execMode uint8

const (
	modePath execMode = iota
	modeSpeedJ
	modeSpeedL
	modeServo
)

type executor struct {
	mode   execMode
	segs   []*seg
	s, sd  float64
	nextID uint64
	doneID uint64

	stopping bool
	stopA    float64

	// velocity modes: target and current velocity, joint (rad/s) or tool
	// twist (m/s, rad/s in the base frame)
	velTarget, velCur [6]float64
	velA              float64
	velEnd            bool // stop command: leave the mode at zero speed

	servoQ     [6]float64
	servoLeft  float64
	servoValid bool
}

// queued is the number of distinct moves waiting or running.
func (e *executor) queued() int {
	n := 0
	var last uint64
	for _, s := range e.segs {
		if s.id != last {
			n++
			last = s.id
		}
	}
	return n
}

func (e *executor) idle() bool {
	switch e.mode {
	case modePath:
		return len(e.segs) == 0
	case modeSpeedJ, modeSpeedL:
		return false
	}
	return e.servoLeft <= 0
}

// running reports whether the move with id is executing (or done).
func (e *executor) reached(id uint64) bool {
	if e.doneID >= id {
		return true
	}
	return len(e.segs) > 0 && e.segs[0].id == id
}

func (e *executor) push(s *seg) uint64 {
	if e.mode != modePath {
		e.mode = modePath
		e.velCur, e.velTarget = [6]float64{}, [6]float64{}
		e.servoValid = false
	}
	e.stopping = false
	e.nextID++
	s.id = e.nextID
	if s.L <= 1e-12 {
		e.doneID = s.id // nothing to do
		return s.id
	}
	e.segs = append(e.segs, s)
	return s.id
}

// stop starts a controlled stop with deceleration a (path units/s² or
// rad/s², m/s² in velocity modes).
func (e *executor) stop(a float64) {
	if a <= 0 {
		a = 1e9
	}
	switch e.mode {
	case modePath:
		if len(e.segs) > 0 {
			e.stopping, e.stopA = true, a
		}
	case modeSpeedJ, modeSpeedL:
		e.velTarget, e.velA, e.velEnd = [6]float64{}, a, true
	case modeServo:
		e.servoLeft = 0
	}
}

// halt stops at once (protective stop) and keeps the path for a resume.
func (e *executor) halt() {
	e.sd = 0
	e.velCur, e.velTarget = [6]float64{}, [6]float64{}
	if e.mode == modeSpeedJ || e.mode == modeSpeedL {
		e.mode = modePath
	}
	e.servoLeft = 0
}

// clear drops everything (program stopped, e-stop, power off).
func (e *executor) clear() {
	e.segs = nil
	e.s, e.sd = 0, 0
	e.doneID = e.nextID
	e.stopping = false
	e.mode = modePath
	e.velCur, e.velTarget = [6]float64{}, [6]float64{}
	e.servoLeft = 0
}

// continues reports whether segs[i] flows into segs[i+1] without stopping
// and the blend length in path units.
func (e *executor) continues(i int) (bool, float64) {
	if i+1 >= len(e.segs) {
		return false, 0
	}
	a, b := e.segs[i], e.segs[i+1]
	if a.prefix {
		return true, 0
	}
	if a.r <= 0 || a.kind != b.kind || a.kind == segCartRot {
		return false, 0
	}
	rb := math.Min(a.r, math.Min(a.L/2, b.L/2))
	return rb > 1e-6, rb
}

// stepPath advances along the path by dt with speed scale k (0 = pause)
// and returns the new point, or ok=false when idle.
// capSpeed (path units/s, +Inf for none) bounds this cycle's speed: the
// controller lowers it when a Cartesian path would exceed the joint speed
// limit (speed scaling, as the real controller does near singularities).
func (e *executor) stepPath(dt, k, capSpeed float64) (point, bool) {
	if len(e.segs) == 0 {
		return point{}, false
	}
	// start a blend when the corner zone is reached
	if ok, rb := e.continues(0); ok && !e.segs[0].prefix && e.s >= e.segs[0].L-rb {
		e.startBlend(rb)
	}
	s0 := e.segs[0]
	a := s0.a
	if e.stopping {
		a = e.stopA
	}
	// hard limit: the arm must be able to stop (or slow to the next
	// segment's speed) within the known path
	hard := math.Inf(1)
	if !e.stopping {
		dist := s0.L - e.s
		for i := 0; ; i++ {
			ok, _ := e.continues(i)
			if !ok {
				hard = math.Min(hard, brakeLimit(0, dist, e.sd, a, dt))
				break
			}
			nx := e.segs[i+1]
			vj := math.Min(e.segs[i].v, nx.v) * k
			hard = math.Min(hard, brakeLimit(vj, dist, e.sd, a, dt))
			dist += nx.L
		}
	}
	// soft target: the commanded speed scaled by the speed slider (0 while
	// paused), reached with acceleration a
	target := s0.v * k
	if e.stopping {
		target = 0
	}
	sd := math.Max(e.sd-a*dt, math.Min(target, e.sd+a*dt))
	sd = math.Max(0, math.Min(sd, math.Min(hard, capSpeed)))
	ds := math.Min((e.sd+sd)/2, capSpeed) * dt
	if !e.stopping && k > 0 && ds < 1e-12 && s0.L-e.s < 1e-9 {
		ds = s0.L - e.s // snap the last nanometre
	}
	e.sd = sd
	e.s += ds
	if e.stopping && sd == 0 {
		p := s0.eval(math.Min(e.s, s0.L))
		e.segs = nil
		e.s = 0
		e.stopping = false
		e.doneID = e.nextID
		return p, true
	}
	for len(e.segs) > 0 && e.s >= e.segs[0].L-1e-12 {
		s0 = e.segs[0]
		over := math.Max(e.s-s0.L, 0)
		if !s0.prefix {
			e.doneID = max(e.doneID, s0.id)
		}
		ok, _ := e.continues(0)
		e.segs = e.segs[1:]
		if ok {
			e.s = over
			continue
		}
		e.s, e.sd = 0, 0
		return s0.end(), true
	}
	if len(e.segs) == 0 {
		return s0.end(), true
	}
	return e.segs[0].eval(e.s), true
}

// startBlend replaces the corner between segs[0] and segs[1] by a Bézier
// prefix of segs[1].
func (e *executor) startBlend(rb float64) {
	a, b := e.segs[0], e.segs[1]
	pa := a.eval(e.s)
	pc := a.end()
	pb := b.eval(rb)
	blend := &seg{kind: a.kind, id: b.id, prefix: true, bez: true, v: b.v, a: b.a}
	if a.kind == segJoint {
		blend.jb = [3][6]float64{pa.q, pc.q, pb.q}
	} else {
		blend.cb = [3]r3.Vector{pa.x.P, pc.x.P, pb.x.P}
		blend.x0 = geom.Pose{R: pa.x.R}
		blend.drot = pb.x.R.Mul(pa.x.R.T()).RotVec()
	}
	// arc-length table
	blend.table = make([]float64, bezSamples)
	blend.L = 1 // so eval(u) sees the parameter directly while sampling
	prev := blend.evalU(0)
	for i := 1; i < bezSamples; i++ {
		p := blend.evalU(float64(i) / (bezSamples - 1))
		blend.table[i] = blend.table[i-1] + dist(a.kind, prev, p)
		prev = p
	}
	blend.L = blend.table[bezSamples-1]
	// trim the next segment to start rb in
	nb := *b
	if b.kind == segJoint {
		nb.q0 = pb.q
	} else {
		nb.x0 = pb.x
		x1 := b.end().x
		nb.dp = x1.P.Sub(pb.x.P)
		nb.drot = x1.R.Mul(pb.x.R.T()).RotVec()
	}
	nb.L = b.L - rb
	e.doneID = max(e.doneID, a.id)
	segs := []*seg{blend, &nb}
	e.segs = append(segs, e.segs[2:]...)
	e.s = 0
}

func (s *seg) evalU(u float64) point {
	save := s.table
	s.table = nil
	s.bez = true
	defer func() { s.table = save }()
	if s.kind == segJoint {
		var q [6]float64
		a, b, c := (1-u)*(1-u), 2*u*(1-u), u*u
		for j := range q {
			q[j] = a*s.jb[0][j] + b*s.jb[1][j] + c*s.jb[2][j]
		}
		return point{q: q}
	}
	a, b, c := (1-u)*(1-u), 2*u*(1-u), u*u
	p := s.cb[0].Mul(a).Add(s.cb[1].Mul(b)).Add(s.cb[2].Mul(c))
	return point{cart: true, x: geom.Pose{R: geom.FromRotVec(s.drot.Mul(u)).Mul(s.x0.R), P: p}}
}

func dist(k segKind, a, b point) float64 {
	if k == segJoint {
		d := 0.0
		for j := range a.q {
			d = math.Max(d, math.Abs(b.q[j]-a.q[j]))
		}
		return d
	}
	return b.x.P.Sub(a.x.P).Norm()
}

// rampVel moves cur toward target by at most a·dt (joint: leading joint;
// twist: linear and angular parts separately).
func rampVel(cur, target [6]float64, a, dt float64, twist bool) [6]float64 {
	step := a * dt
	if !twist {
		m := 0.0
		for j := range cur {
			m = math.Max(m, math.Abs(target[j]-cur[j]))
		}
		if m <= step {
			return target
		}
		for j := range cur {
			cur[j] += (target[j] - cur[j]) * step / m
		}
		return cur
	}
	for _, part := range [2]int{0, 3} {
		d := r3.Vector{X: target[part] - cur[part], Y: target[part+1] - cur[part+1], Z: target[part+2] - cur[part+2]}
		n := d.Norm()
		if n > step {
			d = d.Mul(step / n)
		}
		cur[part] += d.X
		cur[part+1] += d.Y
		cur[part+2] += d.Z
	}
	return cur
}

// brakeLimit is the largest speed w for the end of this cycle such that,
// after moving (sd + w)/2·dt, the remaining distance d' still allows
// slowing to vEnd with deceleration a: w² = vEnd² + 2a·d'. Solving the
// quadratic w² + a·dt·w − (vEnd² + 2a·d − a·dt·sd) = 0 makes the discrete
// profile reach the end of the path exactly like the continuous one.
func brakeLimit(vEnd, d, sd, a, dt float64) float64 {
	c := vEnd*vEnd + 2*a*math.Max(d, 0) - a*dt*sd
	if c <= 0 {
		return 0
	}
	return (-a*dt + math.Sqrt(a*a*dt*dt+4*c)) / 2
}
