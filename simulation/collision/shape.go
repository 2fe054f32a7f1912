package collision

import (
	"errors"
	"fmt"
	"math"

	"github.com/golang/geo/r3"

	"fabcell/simulation/geom"
)

// Shape is a compact convex set given by its support function.
//
// Support returns a point of the set that maximises d·x. d need not be unit
// and may be the zero vector, in which case any point of the set is a valid
// answer. Implementations must be deterministic and, for finite shapes,
// return finite points for every finite d.
type Shape interface {
	Support(d r3.Vector) r3.Vector
}

// Rounded is a shape given as a core shape swept by a ball: the set
// Core() ⊕ B(Radius()). GJK runs on the cores and subtracts the radii, which
// is exact and converges in a few iterations for spheres and capsules where
// the raw curved support would converge only linearly.
type Rounded interface {
	Shape
	Core() Shape
	Radius() float64
}

// Bounder is an optional ability: a shape that knows its axis-aligned
// bounding box faster than six support calls.
type Bounder interface {
	Bounds() geom.AABB
}

// ErrBadShape is wrapped by every constructor error (non-finite numbers,
// negative radii, empty point sets, degenerate axes).
var ErrBadShape = errors.New("collision: bad shape")

var (
	ex = r3.Vector{X: 1}
	ey = r3.Vector{Y: 1}
	ez = r3.Vector{Z: 1}
)

// BoundsOf returns the exact axis-aligned bounding box of s (a convex set's
// box is given by its support in ±x, ±y, ±z).
func BoundsOf(s Shape) geom.AABB {
	if b, ok := s.(Bounder); ok {
		return b.Bounds()
	}
	return geom.AABB{
		Min: r3.Vector{X: s.Support(ex.Mul(-1)).X, Y: s.Support(ey.Mul(-1)).Y, Z: s.Support(ez.Mul(-1)).Z},
		Max: r3.Vector{X: s.Support(ex).X, Y: s.Support(ey).Y, Z: s.Support(ez).Z},
	}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func finiteVec(v r3.Vector) bool { return finite(v.X) && finite(v.Y) && finite(v.Z) }

func checkVec(name string, v r3.Vector) error {
	if !finiteVec(v) {
		return fmt.Errorf("%w: %s %v is not finite", ErrBadShape, name, v)
	}
	return nil
}

func checkRadius(name string, r float64) error {
	if !(r >= 0) || !finite(r) {
		return fmt.Errorf("%w: %s %v must be finite and ≥ 0", ErrBadShape, name, r)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Point and segment (the cores of spheres and capsules).

// Point is a single point.
type Point struct{ P r3.Vector }

// Support implements Shape.
func (p Point) Support(r3.Vector) r3.Vector { return p.P }

// Bounds implements Bounder.
func (p Point) Bounds() geom.AABB { return geom.AABB{Min: p.P, Max: p.P} }

// Segment is the line segment AB.
type Segment struct{ A, B r3.Vector }

// Support implements Shape.
func (s Segment) Support(d r3.Vector) r3.Vector {
	if d.Dot(s.B) > d.Dot(s.A) {
		return s.B
	}
	return s.A
}

// Bounds implements Bounder.
func (s Segment) Bounds() geom.AABB { return geom.EmptyAABB().Grow(s.A).Grow(s.B) }

// ---------------------------------------------------------------------------
// Sphere and capsule.

// Sphere is the ball of radius R around C.
type Sphere struct {
	C r3.Vector
	R float64
}

// NewSphere validates and returns a sphere.
func NewSphere(c r3.Vector, r float64) (Sphere, error) {
	if err := checkVec("sphere centre", c); err != nil {
		return Sphere{}, err
	}
	if err := checkRadius("sphere radius", r); err != nil {
		return Sphere{}, err
	}
	return Sphere{C: c, R: r}, nil
}

// Support implements Shape.
func (s Sphere) Support(d r3.Vector) r3.Vector { return s.C.Add(unitOrZero(d).Mul(s.R)) }

// Core implements Rounded.
func (s Sphere) Core() Shape { return Point{s.C} }

// Radius implements Rounded.
func (s Sphere) Radius() float64 { return s.R }

// Bounds implements Bounder.
func (s Sphere) Bounds() geom.AABB { return geom.AABB{Min: s.C, Max: s.C}.Expand(s.R) }

// Capsule is segment AB swept by a ball of radius R (a printed strut, an
// arm link).
type Capsule struct {
	A, B r3.Vector
	R    float64
}

// NewCapsule validates and returns a capsule.
func NewCapsule(a, b r3.Vector, r float64) (Capsule, error) {
	if err := checkVec("capsule end A", a); err != nil {
		return Capsule{}, err
	}
	if err := checkVec("capsule end B", b); err != nil {
		return Capsule{}, err
	}
	if err := checkRadius("capsule radius", r); err != nil {
		return Capsule{}, err
	}
	return Capsule{A: a, B: b, R: r}, nil
}

// Support implements Shape.
func (c Capsule) Support(d r3.Vector) r3.Vector {
	return Segment{c.A, c.B}.Support(d).Add(unitOrZero(d).Mul(c.R))
}

// Core implements Rounded.
func (c Capsule) Core() Shape { return Segment{c.A, c.B} }

// Radius implements Rounded.
func (c Capsule) Radius() float64 { return c.R }

// Bounds implements Bounder.
func (c Capsule) Bounds() geom.AABB { return geom.SegmentAABB(c.A, c.B, c.R) }

// Inflated is Shape ⊕ B(R): any core swept by a ball (rounded boxes, a hull
// with a clearance margin).
type Inflated struct {
	S Shape
	R float64
}

// Inflate returns s ⊕ B(r). Inflating a Rounded shape adds to its radius.
func Inflate(s Shape, r float64) Shape {
	if rs, ok := s.(Rounded); ok {
		return Inflated{S: rs.Core(), R: rs.Radius() + r}
	}
	return Inflated{S: s, R: r}
}

// Support implements Shape.
func (f Inflated) Support(d r3.Vector) r3.Vector { return f.S.Support(d).Add(unitOrZero(d).Mul(f.R)) }

// Core implements Rounded.
func (f Inflated) Core() Shape { return f.S }

// Radius implements Rounded.
func (f Inflated) Radius() float64 { return f.R }

// Bounds implements Bounder.
func (f Inflated) Bounds() geom.AABB { return BoundsOf(f.S).Expand(f.R) }

// ---------------------------------------------------------------------------
// Discs, cylinders, cones.

// Disc is the flat disc of radius R centred at C with unit normal N.
type Disc struct {
	C, N r3.Vector
	R    float64
}

// Support implements Shape.
func (c Disc) Support(d r3.Vector) r3.Vector {
	// project d onto the disc plane; its direction gives the rim point
	u, ok := rimDir(d, c.N)
	if !ok {
		return c.C
	}
	return c.C.Add(u.Mul(c.R))
}

// rimDir returns the unit direction of d projected onto the plane with unit
// normal n. When d is within 1e-9 rad of ±n every rim point is a support
// point (up to R·1e-9) and ok is false: the rounding noise of the
// projection would otherwise pick a direction that is not even in the
// plane. The projection is applied twice so the result is perpendicular to
// n to rounding precision.
func rimDir(d, n r3.Vector) (r3.Vector, bool) {
	p := d.Sub(n.Mul(d.Dot(n)))
	n2 := p.Norm2()
	if !(n2 > 1e-18*d.Norm2()) {
		return r3.Vector{}, false
	}
	p = p.Sub(n.Mul(p.Dot(n)))
	return p.Mul(1 / math.Sqrt(p.Norm2())), true
}

// Bounds implements Bounder: the half-extent of a disc along axis i is
// R·sqrt(1 − N_i²).
func (c Disc) Bounds() geom.AABB {
	e := discExtent(c.N, c.R)
	return geom.AABB{Min: c.C.Sub(e), Max: c.C.Add(e)}
}

func discExtent(n r3.Vector, r float64) r3.Vector {
	return r3.Vector{
		X: r * math.Sqrt(math.Max(0, 1-n.X*n.X)),
		Y: r * math.Sqrt(math.Max(0, 1-n.Y*n.Y)),
		Z: r * math.Sqrt(math.Max(0, 1-n.Z*n.Z)),
	}
}

// Frustum is the truncated cone between the disc of radius RA at A and the
// disc of radius RB at B (both perpendicular to AB). RA = RB is a cylinder,
// RA = 0 a cone with its apex at A. It is the convex hull of the two discs.
type Frustum struct {
	A, B   r3.Vector
	RA, RB float64
	n      r3.Vector // unit A→B
}

// NewFrustum validates and returns the truncated cone from (a, ra) to
// (b, rb). a and b must differ.
func NewFrustum(a, b r3.Vector, ra, rb float64) (Frustum, error) {
	if err := checkVec("frustum end A", a); err != nil {
		return Frustum{}, err
	}
	if err := checkVec("frustum end B", b); err != nil {
		return Frustum{}, err
	}
	if err := checkRadius("frustum radius A", ra); err != nil {
		return Frustum{}, err
	}
	if err := checkRadius("frustum radius B", rb); err != nil {
		return Frustum{}, err
	}
	l := b.Sub(a).Norm()
	if !(l > 0) {
		return Frustum{}, fmt.Errorf("%w: frustum axis has zero length", ErrBadShape)
	}
	return Frustum{A: a, B: b, RA: ra, RB: rb, n: b.Sub(a).Mul(1 / l)}, nil
}

// NewCylinder returns the cylinder of radius r with axis AB.
func NewCylinder(a, b r3.Vector, r float64) (Frustum, error) { return NewFrustum(a, b, r, r) }

// NewCone returns the cone with its apex at apex and a base disc of radius r
// centred at base.
func NewCone(apex, base r3.Vector, r float64) (Frustum, error) {
	return NewFrustum(apex, base, 0, r)
}

func (f Frustum) axis() r3.Vector {
	if f.n == (r3.Vector{}) { // built as a literal, not by NewFrustum
		return f.B.Sub(f.A).Normalize()
	}
	return f.n
}

// Support implements Shape.
func (f Frustum) Support(d r3.Vector) r3.Vector {
	n := f.axis()
	pa := Disc{C: f.A, N: n, R: f.RA}.Support(d)
	pb := Disc{C: f.B, N: n, R: f.RB}.Support(d)
	if d.Dot(pb) > d.Dot(pa) {
		return pb
	}
	return pa
}

// Bounds implements Bounder.
func (f Frustum) Bounds() geom.AABB {
	n := f.axis()
	return Disc{C: f.A, N: n, R: f.RA}.Bounds().Union(Disc{C: f.B, N: n, R: f.RB}.Bounds())
}

// ---------------------------------------------------------------------------
// Boxes and hulls.

// Box is an oriented box: the pose maps the box frame (centred, axes along
// the half-extents) into the world.
type Box struct {
	Pose geom.Pose
	Half r3.Vector // half-extents, ≥ 0
}

// NewBox validates and returns an oriented box with half-extents half placed
// by pose (pose.R must be a rotation).
func NewBox(pose geom.Pose, half r3.Vector) (Box, error) {
	if err := checkVec("box centre", pose.P); err != nil {
		return Box{}, err
	}
	if !(half.X >= 0 && half.Y >= 0 && half.Z >= 0) || !finiteVec(half) {
		return Box{}, fmt.Errorf("%w: box half-extents %v must be finite and ≥ 0", ErrBadShape, half)
	}
	if d := pose.R.Det(); !(math.Abs(d-1) < 1e-6) {
		return Box{}, fmt.Errorf("%w: box rotation has determinant %v, not 1", ErrBadShape, d)
	}
	return Box{Pose: pose, Half: half}, nil
}

// BoxFromAABB returns the axis-aligned box b.
func BoxFromAABB(b geom.AABB) (Box, error) {
	if b.IsEmpty() {
		return Box{}, fmt.Errorf("%w: empty AABB", ErrBadShape)
	}
	c := b.Min.Add(b.Max).Mul(0.5)
	return NewBox(geom.Pose{R: geom.Identity(), P: c}, b.Max.Sub(b.Min).Mul(0.5))
}

// Support implements Shape.
func (b Box) Support(d r3.Vector) r3.Vector {
	l := b.Pose.R.T().MulVec(d)
	s := r3.Vector{X: signHalf(l.X, b.Half.X), Y: signHalf(l.Y, b.Half.Y), Z: signHalf(l.Z, b.Half.Z)}
	return b.Pose.Apply(s)
}

func signHalf(x, h float64) float64 {
	if x < 0 {
		return -h
	}
	return h
}

// Bounds implements Bounder.
func (b Box) Bounds() geom.AABB {
	var e r3.Vector
	m := b.Pose.R
	e.X = math.Abs(m[0][0])*b.Half.X + math.Abs(m[0][1])*b.Half.Y + math.Abs(m[0][2])*b.Half.Z
	e.Y = math.Abs(m[1][0])*b.Half.X + math.Abs(m[1][1])*b.Half.Y + math.Abs(m[1][2])*b.Half.Z
	e.Z = math.Abs(m[2][0])*b.Half.X + math.Abs(m[2][1])*b.Half.Y + math.Abs(m[2][2])*b.Half.Z
	return geom.AABB{Min: b.Pose.P.Sub(e), Max: b.Pose.P.Add(e)}
}

// Hull is the convex hull of a finite point set. Support is a linear scan,
// so keep hulls small (tens of points); interior points are harmless.
type Hull struct {
	pts []r3.Vector
	box geom.AABB
}

// NewHull returns the convex hull of pts (copied). At least one point;
// every coordinate finite.
func NewHull(pts []r3.Vector) (*Hull, error) {
	if len(pts) == 0 {
		return nil, fmt.Errorf("%w: hull of no points", ErrBadShape)
	}
	h := &Hull{pts: append([]r3.Vector(nil), pts...), box: geom.EmptyAABB()}
	for i, p := range pts {
		if !finiteVec(p) {
			return nil, fmt.Errorf("%w: hull point %d %v is not finite", ErrBadShape, i, p)
		}
		h.box = h.box.Grow(p)
	}
	return h, nil
}

// Points returns the hull's generating points (do not modify).
func (h *Hull) Points() []r3.Vector { return h.pts }

// Support implements Shape.
func (h *Hull) Support(d r3.Vector) r3.Vector {
	best, bd := h.pts[0], d.Dot(h.pts[0])
	for _, p := range h.pts[1:] {
		if v := d.Dot(p); v > bd {
			best, bd = p, v
		}
	}
	return best
}

// Bounds implements Bounder.
func (h *Hull) Bounds() geom.AABB { return h.box }

// ---------------------------------------------------------------------------
// Combinators.

// Transformed is shape S moved by a rigid pose (x ↦ R·x + P).
type Transformed struct {
	S    Shape
	Pose geom.Pose
}

// Transform returns s moved by pose. Rounded shapes stay rounded (a ball is
// invariant under rotation), so GJK keeps its fast path.
func Transform(s Shape, pose geom.Pose) Shape {
	if rs, ok := s.(Rounded); ok {
		return Inflated{S: Transformed{S: rs.Core(), Pose: pose}, R: rs.Radius()}
	}
	return Transformed{S: s, Pose: pose}
}

// Support implements Shape.
func (t Transformed) Support(d r3.Vector) r3.Vector {
	return t.Pose.Apply(t.S.Support(t.Pose.R.T().MulVec(d)))
}

// Sum is the Minkowski sum A ⊕ B = {a + b}: convex when A and B are. A
// shape swept along a straight line at constant orientation is
// Sum{shape, Segment{0, B−A}} (spec §8.1: the swept volume H(o) of a move).
type Sum struct{ A, B Shape }

// MinkowskiSum returns a ⊕ b, keeping the rounded structure of either
// operand ((C ⊕ B(r)) ⊕ S = (C ⊕ S) ⊕ B(r)).
func MinkowskiSum(a, b Shape) Shape {
	var r float64
	if ra, ok := a.(Rounded); ok {
		a, r = ra.Core(), r+ra.Radius()
	}
	if rb, ok := b.(Rounded); ok {
		b, r = rb.Core(), r+rb.Radius()
	}
	if r > 0 {
		return Inflated{S: Sum{a, b}, R: r}
	}
	return Sum{a, b}
}

// Sweep returns the volume swept by s translated along the vector delta
// (s ⊕ segment(0, delta)).
func Sweep(s Shape, delta r3.Vector) Shape { return MinkowskiSum(s, Segment{B: delta}) }

// Support implements Shape.
func (s Sum) Support(d r3.Vector) r3.Vector { return s.A.Support(d).Add(s.B.Support(d)) }

// Bounds implements Bounder.
func (s Sum) Bounds() geom.AABB {
	a, b := BoundsOf(s.A), BoundsOf(s.B)
	return geom.AABB{Min: a.Min.Add(b.Min), Max: a.Max.Add(b.Max)}
}

// HullOf is the convex hull of the union of its parts (e.g. the print head
// = hull(cone ∪ cylinder)). It must not be empty.
type HullOf []Shape

// Support implements Shape.
func (h HullOf) Support(d r3.Vector) r3.Vector {
	best := h[0].Support(d)
	bd := d.Dot(best)
	for _, s := range h[1:] {
		p := s.Support(d)
		if v := d.Dot(p); v > bd {
			best, bd = p, v
		}
	}
	return best
}

// Bounds implements Bounder.
func (h HullOf) Bounds() geom.AABB {
	b := geom.EmptyAABB()
	for _, s := range h {
		b = b.Union(BoundsOf(s))
	}
	return b
}

func unitOrZero(d r3.Vector) r3.Vector {
	n := d.Norm()
	if !(n > 0) {
		return r3.Vector{}
	}
	return d.Mul(1 / n)
}

var (
	_ Rounded = Sphere{}
	_ Rounded = Capsule{}
	_ Rounded = (*Capsule)(nil)
	_ Rounded = Inflated{}
	_ Shape   = Point{}
	_ Shape   = Segment{}
	_ Shape   = Disc{}
	_ Shape   = Frustum{}
	_ Shape   = Box{}
	_ Shape   = (*Hull)(nil)
	_ Shape   = Transformed{}
	_ Shape   = Sum{}
	_ Shape   = HullOf{}
	_ Bounder = Frustum{}
	_ Bounder = Box{}
)
