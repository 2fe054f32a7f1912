package wireframe

import (
	"fmt"
	"math"

	"github.com/golang/geo/r3"

	"fabcell/planners/graph"
	"fabcell/robot/ur/kin"
	"fabcell/simulation/collision"
	"fabcell/simulation/geom"
)

// Branch identifies one of the UR arm's eight inverse-kinematics solution
// families (Hawkins 2013): the sign of the wrist point's in-plane offset
// from the base axis (shoulder), of sin q3 (elbow) and of sin q5 (wrist).
// Solutions of one family form a smooth map of the TCP pose away from the
// singularities that separate the families, so a program that stays on one
// branch and away from singularities never flips configuration.
type Branch struct{ Shoulder, Elbow, Wrist int8 }

func (b Branch) String() string {
	s := func(x int8) byte {
		if x < 0 {
			return '-'
		}
		return '+'
	}
	return fmt.Sprintf("shoulder%c elbow%c wrist%c", s(b.Shoulder), s(b.Elbow), s(b.Wrist))
}

// Code returns the branch as a number 0..7 (bit 2 shoulder, 1 elbow, 0
// wrist; a bit is set for a negative sign) for metrics.
func (b Branch) Code() int {
	c := 0
	if b.Shoulder < 0 {
		c |= 4
	}
	if b.Elbow < 0 {
		c |= 2
	}
	if b.Wrist < 0 {
		c |= 1
	}
	return c
}

func sign(x float64) int8 {
	if x < 0 {
		return -1
	}
	return 1
}

// branchOf classifies joint angles q of model m.
func branchOf(m *kin.Model, q [6]float64) Branch {
	dh := m.DH()
	a2, a3, d5 := dh.A[1], dh.A[2], dh.D[4]
	x1 := a2*math.Cos(q[1]) + a3*math.Cos(q[1]+q[2]) + d5*math.Sin(q[1]+q[2]+q[3])
	return Branch{Shoulder: sign(x1), Elbow: sign(math.Sin(q[2])), Wrist: sign(math.Sin(q[4]))}
}

// armFail is the outcome of an arm-level check, ordered by how far the
// check got (a later stage is a more specific reason).
type armFail uint8

const (
	armUnknown  armFail = iota
	armOK               // passed
	armNoIK             // the pose is outside the arm's reach
	armNoBranch         // reachable only on another arm branch
	armLimit            // joint limits
	armSingular         // too close to a singularity
	armSpeed            // joint speed limit at the programmed TCP speed
	armBed              // an arm link reaches the bed
	armKeepOut          // an arm link enters a safety.keep_out box
	armStrut            // an arm link hits a printed strut
	numArmFail
)

var armFailText = [...]string{
	armUnknown:  "not checked",
	armOK:       "ok",
	armNoIK:     "outside the UR5e's reach (no IK solution)",
	armNoBranch: "reachable only by switching the arm configuration",
	armLimit:    "every IK solution violates the joint limits",
	armSingular: "too close to a kinematic singularity",
	armSpeed:    "needs joint speeds above safety.joint_speed_rad_s",
	armBed:      "an arm link would hit the bed",
	armKeepOut:  "an arm link would enter a safety.keep_out box",
	armStrut:    "an arm link would hit the printed structure",
}

func (f armFail) String() string {
	if int(f) < len(armFailText) {
		return armFailText[f]
	}
	return fmt.Sprintf("armFail(%d)", int(f))
}

// arm is the arm-level model of one session's cell: kinematics, the bed
// frame, the tool rotation table and a lazily filled cache of the
// structure-independent part of the check per (strut, axis, yaw).
type arm struct {
	m          *kin.Model
	bedToBaseM geom.Pose // bed frame → base frame, metres
	baseToBed  geom.Pose // base frame → bed frame, mm
	branch     Branch
	rot        [][]geom.Mat3 // [axis][yaw] TCP rotation, base frame
	nAxes      int
	nYaw       int
	offMM      float64 // approach/retract offset along the axis checked at both ends
	sampleMM   float64
	printMMS   float64
	travelMMS  float64
	jointRadS  float64
	clearMM    float64
	bedZ       float64
	keepOut    []collision.Shape // bed frame

	static []armFail              // (edge·nAxes + axis)·nYaw + yaw
	joints map[int32][][6]float64 // joint samples of passed combos
	// linksClear memo per combo: the strut insertion that blocked it, or
	// the world serial (+1) at which its links were clear
	clear     map[int32]linkMemo
	nodeCache map[uint64]nodeSample // samples at/above nodes
	g         *graph.Graph
	axes      []r3.Vector
}

// armKey indexes static/joints.
func (a *arm) key(e, axis, yaw int) int32 { return int32((e*a.nAxes+axis)*a.nYaw + yaw) }

// tcpRotation returns the TCP rotation in the base frame for head axis ax
// (bed frame, unit, tip → head) and yaw k of n: TCP z = −ax; TCP x is the
// base frame's −X projected perpendicular to z (base +Y when that is
// degenerate), turned by 2πk/n about z.
func tcpRotation(bedToBase geom.Pose, ax r3.Vector, k, n int) geom.Mat3 {
	rb := bedToBase.R
	z := rb.MulVec(ax).Mul(-1).Normalize() // base frame
	ref := r3.Vector{X: -1}
	x := ref.Sub(z.Mul(ref.Dot(z)))
	if x.Norm() < 1e-6 {
		ref = r3.Vector{Y: 1}
		x = ref.Sub(z.Mul(ref.Dot(z)))
	}
	x = x.Normalize()
	y := z.Cross(x)
	s, c := math.Sincos(2 * math.Pi * float64(k) / float64(n))
	x, y = x.Mul(c).Add(y.Mul(s)), y.Mul(c).Sub(x.Mul(s))
	return geom.FromCols(x, y, z)
}

// newArm builds the arm model for graph g. home seeds the branch choice.
func (p *Process) newArm(g *graph.Graph, bedToBase geom.Pose, bedZ float64, keepOut []collision.Shape) (*arm, error) {
	w := p.cfg.Wireframe
	r := p.cfg.Robot
	a := &arm{
		m:          p.arm,
		bedToBaseM: bedToBase.Scale(1e-3),
		baseToBed:  bedToBase.Inverse(),
		nAxes:      len(p.axes),
		nYaw:       w.YawSamples,
		offMM:      math.Max(r.ApproachMM, r.RetractMM),
		sampleMM:   w.ArmSampleMM,
		printMMS:   r.PrintSpeedMMS,
		travelMMS:  r.TravelSpeedMMS,
		jointRadS:  p.cfg.Safety.JointSpeedRadS,
		clearMM:    w.ArmClearanceMM,
		bedZ:       bedZ,
		keepOut:    keepOut,
		joints:     map[int32][][6]float64{},
		clear:      map[int32]linkMemo{},
		nodeCache:  map[uint64]nodeSample{},
		g:          g,
		axes:       p.axes,
	}
	a.rot = make([][]geom.Mat3, len(p.axes))
	for i, ax := range p.axes {
		a.rot[i] = make([]geom.Mat3, a.nYaw)
		for k := range a.nYaw {
			a.rot[i][k] = tcpRotation(bedToBase, ax, k, a.nYaw)
		}
	}
	n := g.NumEdges() * a.nAxes * a.nYaw
	if n > 1<<28 {
		return nil, fmt.Errorf("wireframe: %d struts × %d axes × %d yaws is too many for the arm check", g.NumEdges(), a.nAxes, a.nYaw)
	}
	a.static = make([]armFail, n)
	a.branch = a.chooseBranch(g, r.HomeJointsRad)
	return a, nil
}

// chooseBranch picks the arm branch that reaches the most nodes (with the
// vertical head axis, yaw 0, at the node and above it by the approach
// offset) clear of singularities; ties go to the branch of the home joints,
// then to the lower Code.
func (a *arm) chooseBranch(g *graph.Graph, home [6]float64) Branch {
	var count [8]int
	var br [8]Branch
	for c := range 8 {
		br[c] = Branch{Shoulder: 1 - 2*int8(c>>2&1), Elbow: 1 - 2*int8(c>>1&1), Wrist: 1 - 2*int8(c&1)}
	}
	for v := range g.NumNodes() {
		var okAt [8]int
		for _, off := range []float64{0, a.offMM} {
			tip := g.Pos[v].Add(r3.Vector{Z: off})
			for _, q := range a.m.IK(a.pose(tip, 0, 0)) {
				if _, meas := a.m.Singularity(q); meas < 1 {
					continue
				}
				okAt[branchOf(a.m, q).Code()]++
			}
		}
		for c := range 8 {
			if okAt[c] >= 2 {
				count[c]++
			}
		}
	}
	hb := branchOf(a.m, home).Code()
	best := hb
	for c := range 8 {
		if count[c] > count[best] {
			best = c
		}
	}
	return br[best]
}

// pose returns the base-frame TCP pose (metres) with the tip at tip (bed
// frame, mm), head axis index axis and yaw index yaw.
func (a *arm) pose(tip r3.Vector, axis, yaw int) geom.Pose {
	return geom.Pose{R: a.rot[axis][yaw], P: a.bedToBaseM.Apply(tip.Mul(1e-3))}
}

// ikBranch returns the solution for pose on the session's branch with
// every joint the 2π representative nearest ref (within limits).
func (a *arm) ikBranch(pose geom.Pose, ref *[6]float64) ([6]float64, armFail) {
	sols := a.m.IK(pose)
	if len(sols) == 0 {
		return [6]float64{}, armNoIK
	}
	for _, q := range sols {
		if branchOf(a.m, q) != a.branch {
			continue
		}
		if ref != nil {
			lo, hi := a.m.Limits()
			for j := range 6 {
				x, ok := nearestRep(q[j], ref[j], lo[j], hi[j])
				if !ok {
					return q, armLimit
				}
				q[j] = x
			}
		}
		return q, armOK
	}
	return [6]float64{}, armNoBranch
}

// nearestRep returns x + 2πk within [lo, hi] nearest to ref.
func nearestRep(x, ref, lo, hi float64) (float64, bool) {
	k := math.Round((ref - x) / (2 * math.Pi))
	best, bestD, ok := 0.0, math.Inf(1), false
	for dk := -1.0; dk <= 1; dk++ {
		y := x + 2*math.Pi*(k+dk)
		if y < lo-1e-12 || y > hi+1e-12 {
			continue
		}
		if d := math.Abs(y - ref); d < bestD {
			best, bestD, ok = y, d, true
		}
	}
	return best, ok
}

// armSample is one checked point of a strut motion: the tip (bed frame,
// mm) and the TCP speed (mm/s) of the motion arriving there.
type armSample struct {
	tip   r3.Vector
	speed float64
}

// samples returns the checked points of strut a→b with head axis ax: the
// point off mm above a along ax (approach), a, interior points at most
// sampleMM apart, b, and off above b (retract).
func (a *arm) samples(pa, pb, ax r3.Vector, dst []armSample) []armSample {
	dst = append(dst, armSample{tip: pa.Add(ax.Mul(a.offMM))}, armSample{tip: pa, speed: a.travelMMS})
	l := pb.Sub(pa).Norm()
	n := int(math.Ceil(l / a.sampleMM))
	for i := 1; i < n; i++ {
		dst = append(dst, armSample{tip: pa.Add(pb.Sub(pa).Mul(float64(i) / float64(n))), speed: a.printMMS})
	}
	dst = append(dst, armSample{tip: pb, speed: a.printMMS}, armSample{tip: pb.Add(ax.Mul(a.offMM)), speed: a.travelMMS})
	return dst
}

// checkStatic runs the structure-independent arm check of strut e with
// head axis index axis and yaw: IK on the branch at every sample,
// continuous joints within limits, clear of singularities, joint speeds
// within the limit, links clear of the bed and keep-out boxes. The result
// is cached per (strut, axis, yaw); the samples at and above the strut's
// nodes are cached per node, since every strut meeting there shares them.
func (a *arm) checkStatic(e, axis, yaw int) armFail {
	k := a.key(e, axis, yaw)
	if f := a.static[k]; f != armUnknown {
		return f
	}
	f, qs := a.runStatic(e, axis, yaw)
	a.static[k] = f
	if f == armOK {
		a.joints[k] = qs
	}
	return f
}

// nodeSample is the cached check of one pose at (or above) a node.
type nodeSample struct {
	q    [6]float64
	fail armFail // IK, singularity or static link failure
}

func (a *arm) nodeKey(v, axis, yaw int, above bool) uint64 {
	k := uint64(v)<<40 | uint64(axis)<<10 | uint64(yaw)<<1 // v < 2^23, axis < 2^17, yaw < 2^9
	if above {
		k |= 1
	}
	return k
}

// sampleAt checks the pose with the tip at tip (IK on the branch with the
// smallest-|θ| representatives, singularity, links vs bed and keep-out).
func (a *arm) sampleAt(tip r3.Vector, axis, yaw int) nodeSample {
	q, f := a.ikBranch(a.pose(tip, axis, yaw), nil)
	if f != armOK {
		return nodeSample{fail: f}
	}
	if _, meas := a.m.Singularity(q); meas < 1 {
		return nodeSample{q: q, fail: armSingular}
	}
	return nodeSample{q: q, fail: a.linksStatic(q)}
}

func (a *arm) nodeSample(v, axis, yaw int, above bool) nodeSample {
	k := a.nodeKey(v, axis, yaw, above)
	if ns, ok := a.nodeCache[k]; ok {
		return ns
	}
	tip := a.g.Pos[v]
	if above {
		tip = tip.Add(a.axes[axis].Mul(a.offMM))
	}
	ns := a.sampleAt(tip, axis, yaw)
	a.nodeCache[k] = ns
	return ns
}

func (a *arm) runStatic(e, axis, yaw int) (armFail, [][6]float64) {
	ed := a.g.Edges[e]
	pa, pb := a.g.Pos[ed.A], a.g.Pos[ed.B]
	ax := a.axes[axis]
	var buf [64]armSample
	smp := a.samples(pa, pb, ax, buf[:0])
	qs := make([][6]float64, len(smp))
	lo, hi := a.m.Limits()
	last := len(smp) - 1
	for i, sm := range smp {
		var ns nodeSample
		switch i {
		case 0:
			ns = a.nodeSample(ed.A, axis, yaw, true)
		case 1:
			ns = a.nodeSample(ed.A, axis, yaw, false)
		case last - 1:
			ns = a.nodeSample(ed.B, axis, yaw, false)
		case last:
			ns = a.nodeSample(ed.B, axis, yaw, true)
		default:
			ns = a.sampleAt(sm.tip, axis, yaw)
		}
		if ns.fail != armOK {
			return ns.fail, nil
		}
		q := ns.q
		if i > 0 {
			for j := range 6 {
				x, ok := nearestRep(q[j], qs[i-1][j], lo[j], hi[j])
				if !ok {
					return armLimit, nil
				}
				q[j] = x
			}
			dt := sm.tip.Sub(smp[i-1].tip).Norm() / sm.speed
			for j := range 6 {
				if math.Abs(q[j]-qs[i-1][j]) > a.jointRadS*dt+1e-9 {
					return armSpeed, nil
				}
			}
		}
		qs[i] = q
	}
	return armOK, qs
}

// linkCapsule is an arm link in the bed frame (mm).
type linkCapsule struct {
	a, b r3.Vector
	r    float64
	link int
}

// links returns the arm's link capsules at q in the bed frame (mm).
func (a *arm) links(q [6]float64, dst []linkCapsule) []linkCapsule {
	for _, c := range a.m.LinkCapsules(q) {
		dst = append(dst, linkCapsule{
			a:    a.baseToBed.Apply(c.A.Mul(1e3)),
			b:    a.baseToBed.Apply(c.B.Mul(1e3)),
			r:    c.RadiusM * 1e3,
			link: c.Link,
		})
	}
	return dst
}

// linksStatic checks the links at q against the bed (moving links from the
// upper arm on; the base column and shoulder housing stand beside the bed)
// and the keep-out boxes (all links).
func (a *arm) linksStatic(q [6]float64) armFail {
	var buf [10]linkCapsule
	for i, c := range a.links(q, buf[:0]) {
		if i >= 2 && math.Min(c.a.Z, c.b.Z)-c.r <= a.bedZ+a.clearMM {
			return armBed
		}
		for _, o := range a.keepOut {
			if collision.WithinDistance(collision.Capsule{A: c.a, B: c.b, R: c.r}, o, a.clearMM) {
				return armKeepOut
			}
		}
	}
	return armOK
}

// linksClear checks the links along a statically passed combo against the
// printed struts of w (maxZ = highest printed point, mm, for culling).
//
// The answer — is any strut of w within the clearance of a link — only
// changes when struts are added or removed, so it is memoised per combo
// against w's add serials (collision.World.Serial): a blocking strut that
// is still present decides "blocked"; links found clear at serial T only
// need the struts added since T (up to linkScanMax, else the full query).
func (a *arm) linksClear(k int32, w *collision.World, strutR, maxZ float64) bool {
	if a.clear == nil {
		return a.linksClearFull(k, w, strutR, maxZ, nil)
	}
	memo := a.clear[k]
	if w.Alive(memo.blocker) {
		return false
	}
	if memo.clearAt != 0 {
		if memo.clearAt == w.Serial()+1 {
			return true
		}
		var buf [10]linkCapsule
		var links []linkCapsule
		blocked := false
		if w.AddedSince(memo.clearAt-1, linkScanMax, func(id int, s collision.Capsule) bool {
			if links == nil {
				links = a.allLinks(a.joints[k], buf[:0])
			}
			for _, c := range links {
				if _, _, d := geom.SegmentSegment(c.a, c.b, s.A, s.B); d <= c.r+s.R+a.clearMM {
					blocked = true
					memo.blocker, _ = w.Ref(id)
					return false
				}
			}
			return true
		}) {
			if !blocked {
				memo.clearAt = w.Serial() + 1
			}
			a.clear[k] = memo
			return !blocked
		}
	}
	clear := a.linksClearFull(k, w, strutR, maxZ, &memo)
	if clear {
		memo.clearAt = w.Serial() + 1
	}
	a.clear[k] = memo
	return clear
}

// linksClearFull queries w for every link of combo k (recording the
// blocking strut in memo when given).
func (a *arm) linksClearFull(k int32, w *collision.World, strutR, maxZ float64, memo *linkMemo) bool {
	qs := a.joints[k]
	var buf [10]linkCapsule
	m := strutR + a.clearMM
	for _, q := range qs {
		for _, c := range a.links(q, buf[:0]) {
			if math.Min(c.a.Z, c.b.Z)-c.r > maxZ+m {
				continue
			}
			hit := -1
			box := geom.SegmentAABB(c.a, c.b, c.r)
			w.QueryBox(box, m, func(id int, s collision.Capsule) bool {
				if _, _, d := geom.SegmentSegment(c.a, c.b, s.A, s.B); d <= c.r+s.R+a.clearMM {
					hit = id
					return false
				}
				return true
			})
			if hit >= 0 {
				if memo != nil {
					memo.blocker, _ = w.Ref(hit)
				}
				return false
			}
		}
	}
	return true
}

// linkMemo is linksClear's memo of one combo.
type linkMemo struct {
	blocker collision.StrutRef
	clearAt uint64 // world serial + 1 at which the links were clear; 0 = never
}

// linkScanMax bounds the struts a memoised linksClear tests one by one.
const linkScanMax = 32

// allLinks appends the link capsules of every joint sample in qs.
func (a *arm) allLinks(qs [][6]float64, dst []linkCapsule) []linkCapsule {
	var buf [10]linkCapsule
	for _, q := range qs {
		dst = append(dst, a.links(q, buf[:0])...)
	}
	return dst
}
