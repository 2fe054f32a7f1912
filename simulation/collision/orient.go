package collision

import (
	"fmt"
	"math"

	"github.com/golang/geo/r3"

	"fabcell/config"
	"fabcell/simulation/geom"
)

// Checker answers the wire-frame collision questions of spec §8.1 against
// a World: is a straight move of the nozzle tip from a to b at a constant
// tool axis free (Eq. 5), and which sampled axis is free with the smallest
// rotation from the previous one (Eqs. 6–7).
//
// Exact geometry replaces the release's 5 mm point sampling: the swept head
// (convex) is tested with GJK against each printed capsule the grid returns
// near the move. Per candidate strut the cheap tests run first: grid cell,
// bounding boxes, a bounding capsule of the swept head (closed form), then
// GJK with early exit.
//
// A Checker is not safe for concurrent use; it shares its World.
type Checker struct {
	w         *World
	head      Head
	axes      []r3.Vector
	clearance float64

	sh   headShape
	seg  Segment
	cosv []float64
	done []bool
	// recent blockers: slots of the last struts that hit a swept head.
	// Neighbouring axes of one move are usually blocked by the same strut,
	// so these are tried before the grid walk (a hit is a hit whichever
	// strut the slot now holds; a miss falls through to the full test).
	recent  [4]int32
	nRecent int
	hitSlot int32 // slot of the strut the last hitSet hit (−1: none / not a strut)
	noCache bool  // benchmarks: disable the blocker cache
}

// Orientation is a chosen tool axis.
type Orientation struct {
	Index    int       // index into Checker.Axes
	Axis     r3.Vector // unit tool axis (tip → head), bed frame
	AngleRad float64   // rotation from the previous axis (Eq. 6/7: ang(o*, o_prev))
}

// NewChecker returns a checker for head against w, sampling the given tool
// axes (normalised; at least one, all non-zero) and requiring clearanceMM
// (≥ 0) between the head and every strut, obstacle and the bed.
func NewChecker(w *World, head Head, axes []r3.Vector, clearanceMM float64) (*Checker, error) {
	if w == nil {
		return nil, fmt.Errorf("%w: nil world", ErrBadInput)
	}
	if err := head.Validate(); err != nil {
		return nil, err
	}
	if len(axes) == 0 {
		return nil, fmt.Errorf("%w: no candidate tool axes", ErrBadInput)
	}
	if !(clearanceMM >= 0) || !finite(clearanceMM) {
		return nil, fmt.Errorf("%w: clearance %v mm must be finite and ≥ 0", ErrBadInput, clearanceMM)
	}
	c := &Checker{w: w, head: head, clearance: clearanceMM,
		cosv: make([]float64, len(axes)), done: make([]bool, len(axes))}
	for i, a := range axes {
		if !finiteVec(a) || !(a.Norm() > 0) {
			return nil, fmt.Errorf("%w: tool axis %d %v is not a finite non-zero vector", ErrBadInput, i, a)
		}
		c.axes = append(c.axes, a.Normalize())
	}
	return c, nil
}

// NewCheckerFromConfig builds the head, the Fibonacci axes
// (OrientationSamples within MaxTiltDeg) and the clearance from a
// wire-frame process configuration.
func NewCheckerFromConfig(w *World, cfg config.WireframeProcess) (*Checker, error) {
	head, err := HeadFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	axes, err := FibonacciAxes(cfg.OrientationSamples, cfg.MaxTiltDeg*math.Pi/180)
	if err != nil {
		return nil, err
	}
	return NewChecker(w, head, axes, cfg.CollisionClearanceMM)
}

// StrutRadiusMM is the physical radius of printed struts in a wire-frame
// configuration (World.Add takes it; the checker adds the clearance).
func StrutRadiusMM(cfg config.WireframeProcess) float64 { return cfg.StrutDiameterMM / 2 }

// Axes returns the candidate tool axes (do not modify).
func (c *Checker) Axes() []r3.Vector { return c.axes }

// Head returns the head model.
func (c *Checker) Head() Head { return c.head }

// World returns the world the checker queries.
func (c *Checker) World() *World { return c.w }

// ClearanceMM returns the required clearance.
func (c *Checker) ClearanceMM() float64 { return c.clearance }

// MoveHit tests the move of the tip from a to b (bed frame, mm) at the
// given tool axis and returns the first object the swept head comes within
// the clearance of (bed, obstacles, then struts).
func (c *Checker) MoveHit(a, b, axis r3.Vector) (Hit, bool) {
	if !finiteVec(a) || !finiteVec(b) || !finiteVec(axis) || axis.Norm2() == 0 {
		return Hit{Kind: HitInvalid}, true // fail safe
	}
	sh := &c.sh
	sh.set(c.head, a, b, axis)
	return c.hitSet()
}

// hitSet tests the swept head already in c.sh.
func (c *Checker) hitSet() (Hit, bool) {
	w, sh, m := c.w, &c.sh, c.clearance
	c.hitSlot = -1
	box := sh.Bounds()
	if w.bed && sh.lowestZ()-w.bedZ <= m {
		return Hit{Kind: HitBed}, true
	}
	for i := range w.obst {
		o := &w.obst[i]
		if o.box.Expand(m).Overlaps(box) && WithinDistance(sh, o.s, m) {
			return Hit{Kind: HitObstacle, ID: i}, true
		}
	}
	if !c.noCache {
		for k := 0; k < c.nRecent; k++ {
			if slot := c.recent[k]; int(slot) < len(w.slots) && w.slots[slot].live && c.strutHits(&w.slots[slot], box) {
				c.hitSlot = slot
				return Hit{Kind: HitStrut, ID: w.slots[slot].id}, true
			}
		}
	}
	var found Hit
	hit := false
	w.each(box.Expand(m), func(slot int32, st *strutSlot) bool {
		if !c.strutHits(st, box) {
			return true
		}
		found, hit = Hit{Kind: HitStrut, ID: st.id}, true
		c.hitSlot = slot
		c.remember(slot)
		return false
	})
	return found, hit
}

// remember puts slot at the front of the recent-blocker list.
func (c *Checker) remember(slot int32) {
	k := 0
	for k < c.nRecent && c.recent[k] != slot {
		k++
	}
	if k == c.nRecent && c.nRecent < len(c.recent) {
		c.nRecent++
	}
	if k == len(c.recent) {
		k--
	}
	copy(c.recent[1:k+1], c.recent[:k])
	c.recent[0] = slot
}

// strutHits tests one strut against the swept head in c.sh (box = its
// bounds): box overlap, the head's bounding capsule (closed form), then
// GJK with early exit at the clearance.
func (c *Checker) strutHits(st *strutSlot, box geom.AABB) bool {
	sh, m := &c.sh, c.clearance
	rm := st.r + m
	if !st.box.Expand(m).Overlaps(box) {
		return false
	}
	u, v, d := geom.SegmentSegment(st.a, st.b, sh.p0, sh.p1)
	if d > sh.rad+rm {
		return false
	}
	// warm start along the line from the head's axis to the strut
	dir := st.a.Add(st.b.Sub(st.a).Mul(u)).Sub(sh.p0.Add(sh.p1.Sub(sh.p0).Mul(v)))
	c.seg = Segment{A: st.a, B: st.b}
	o := gjkFrom(sh, &c.seg, dir, true, rm)
	return o.bad || o.intersect || o.dist <= rm
}

// MoveFree reports whether the move a → b at the given axis is
// collision-free.
func (c *Checker) MoveFree(a, b, axis r3.Vector) bool {
	_, hit := c.MoveHit(a, b, axis)
	return !hit
}

// FreeAxes appends to dst the indices of all candidate axes at which the
// move a → b is collision-free (the set O_free of Eq. 6), in index order.
func (c *Checker) FreeAxes(a, b r3.Vector, dst []int) []int {
	for i, ax := range c.axes {
		if c.MoveFree(a, b, ax) {
			dst = append(dst, i)
		}
	}
	return dst
}

// Best solves Eq. 6: among the collision-free candidate axes for the move
// a → b, the one with the smallest rotation angle (rad) from prev. A zero
// prev means vertical (+z). ok is false when no axis is free (Eq. 7 then
// takes the large penalty). Axes are tested in order of increasing angle
// and the search stops at the first free one, so a move that keeps its
// previous orientation costs one swept-head test.
func (c *Checker) Best(a, b, prev r3.Vector) (Orientation, bool) {
	return c.BestAccept(a, b, prev, nil)
}

// BestAccept is Best restricted to axes that accept also approves (e.g.
// the arm-level check: reachable with continuous joints, links clear of
// the world). accept is called only for collision-free axes, nearest
// first; nil accepts all. accept may query the World but must not call
// this Checker (it holds the search state).
func (c *Checker) BestAccept(a, b, prev r3.Vector, accept func(Orientation) bool) (Orientation, bool) {
	if !finiteVec(prev) || prev.Norm2() == 0 {
		prev = ez
	}
	p := prev.Normalize()
	for i, ax := range c.axes {
		c.cosv[i] = ax.Dot(p)
		c.done[i] = false
	}
	for range c.axes {
		k := -1
		for i := range c.axes {
			if !c.done[i] && (k < 0 || c.cosv[i] > c.cosv[k]) {
				k = i
			}
		}
		c.done[k] = true
		if !c.MoveFree(a, b, c.axes[k]) {
			continue
		}
		o := Orientation{Index: k, Axis: c.axes[k], AngleRad: geom.AngleBetween(p, c.axes[k])}
		if accept == nil || accept(o) {
			return o, true
		}
	}
	return Orientation{}, false
}
