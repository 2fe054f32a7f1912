package collision

import (
	"math"

	"github.com/golang/geo/r3"

	"fabcell/simulation/geom"
)

// GJK (Gilbert–Johnson–Keerthi) on the Minkowski difference A − B with the
// signed-volumes distance subalgorithm of Montanari, Petrinic & Barbieri,
// "Improving the GJK algorithm for faster and more reliable distance queries
// between convex objects", ACM TOG 36(3), 2017. Termination (van den Bergen,
// "Collision Detection in Interactive 3D Environments", §4.3.5): stop when
//   - ‖v‖² − v·w ≤ relTol·‖v‖² (v is within relTol of the true distance),
//   - the new support point w is already a simplex vertex, or ‖v‖ did not
//     decrease (no progress: numerical floor),
//   - the simplex is a tetrahedron containing the origin or ‖v‖ ≈ 0
//     (intersection), or
//   - maxIter iterations (curved shapes converge linearly; the best upper
//     bound ‖v‖ is returned).
//
// Boolean queries (WithinDistance, Intersects) exit early as soon as an
// upper bound ‖v‖ ≤ margin or a lower bound v·w/‖v‖ > margin is known.

const (
	gjkMaxIter = 96
	gjkRelTol  = 1e-12 // on squared distances: relative distance error ~1e-12
)

type vertex struct{ w, a, b r3.Vector } // w = a − b

type simplex struct {
	v   [4]vertex
	lam [4]float64
	n   int
}

// sub is a candidate sub-simplex: indices into simplex.v with barycentric
// weights, the closest point v and its squared norm.
type sub struct {
	idx [4]int
	lam [4]float64
	n   int
	v   r3.Vector
	d2  float64
}

func (s *simplex) single(i int) sub {
	w := s.v[i].w
	return sub{idx: [4]int{i}, lam: [4]float64{1}, n: 1, v: w, d2: w.Norm2()}
}

// s1d: closest point of segment (i, j) to the origin.
func (s *simplex) s1d(i, j int) sub {
	p, q := s.v[i].w, s.v[j].w
	t := q.Sub(p)
	tt := t.Norm2()
	if tt == 0 {
		return s.single(i)
	}
	u := -p.Dot(t) / tt
	switch {
	case u <= 0:
		return s.single(i)
	case u >= 1:
		return s.single(j)
	}
	v := p.Mul(1 - u).Add(q.Mul(u))
	return sub{idx: [4]int{i, j}, lam: [4]float64{1 - u, u}, n: 2, v: v, d2: v.Norm2()}
}

func sameSign(a, b float64) bool { return (a > 0 && b > 0) || (a < 0 && b < 0) }

// area2 returns the signed doubled area of 2-D triangle (a, b, c).
func area2(au, av, bu, bv, cu, cv float64) float64 {
	return (bu-au)*(cv-av) - (bv-av)*(cu-au)
}

// proj2 drops coordinate m, keeping the cyclic order so that area2 of the
// projected triangle equals component m of its 3-D normal.
func proj2(p r3.Vector, m int) (float64, float64) {
	switch m {
	case 0:
		return p.Y, p.Z
	case 1:
		return p.Z, p.X
	}
	return p.X, p.Y
}

func better(a, b sub) sub {
	if b.d2 < a.d2 {
		return b
	}
	return a
}

// s2d: closest point of triangle (i, j, k) to the origin (signed areas in
// the coordinate plane of largest projected area).
func (s *simplex) s2d(i, j, k int) sub {
	a, b, c := s.v[i].w, s.v[j].w, s.v[k].w
	n := b.Sub(a).Cross(c.Sub(a))
	nn := n.Norm2()
	scale := b.Sub(a).Norm2() * c.Sub(a).Norm2()
	if !(nn > 1e-24*scale) || nn == 0 {
		// degenerate (collinear) triangle: best edge
		return better(better(s.s1d(i, j), s.s1d(j, k)), s.s1d(i, k))
	}
	p0 := n.Mul(a.Dot(n) / nn) // origin projected onto the plane
	m, mu := 0, n.X
	if math.Abs(n.Y) > math.Abs(mu) {
		m, mu = 1, n.Y
	}
	if math.Abs(n.Z) > math.Abs(mu) {
		m, mu = 2, n.Z
	}
	au, av := proj2(a, m)
	bu, bv := proj2(b, m)
	cu, cv := proj2(c, m)
	pu, pv := proj2(p0, m)
	ci := area2(pu, pv, bu, bv, cu, cv)
	cj := area2(au, av, pu, pv, cu, cv)
	ck := area2(au, av, bu, bv, pu, pv)
	if sameSign(mu, ci) && sameSign(mu, cj) && sameSign(mu, ck) {
		li, lj, lk := ci/mu, cj/mu, ck/mu
		v := a.Mul(li).Add(b.Mul(lj)).Add(c.Mul(lk))
		return sub{idx: [4]int{i, j, k}, lam: [4]float64{li, lj, lk}, n: 3, v: v, d2: v.Norm2()}
	}
	best := sub{d2: math.Inf(1)}
	if !sameSign(mu, ci) {
		best = better(best, s.s1d(j, k))
	}
	if !sameSign(mu, cj) {
		best = better(best, s.s1d(i, k))
	}
	if !sameSign(mu, ck) {
		best = better(best, s.s1d(i, j))
	}
	return best
}

// s3d: closest point of tetrahedron (0, 1, 2, 3) to the origin.
func (s *simplex) s3d() sub {
	a, b, c, d := s.v[0].w, s.v[1].w, s.v[2].w, s.v[3].w
	ab, ac, ad := b.Sub(a), c.Sub(a), d.Sub(a)
	det := ab.Dot(ac.Cross(ad))
	// signed volumes with one vertex replaced by the origin
	ca := b.Dot(c.Cross(d))
	cb := -a.Dot(ac.Cross(ad))
	cc := ab.Dot(a.Mul(-1).Cross(ad))
	cd := ab.Dot(ac.Cross(a.Mul(-1)))
	scale := math.Sqrt(ab.Norm2() * ac.Norm2() * ad.Norm2())
	if !(math.Abs(det) > 1e-12*scale) {
		// flat tetrahedron: best face
		return better(better(s.s2d(0, 1, 2), s.s2d(0, 1, 3)), better(s.s2d(0, 2, 3), s.s2d(1, 2, 3)))
	}
	if sameSign(det, ca) && sameSign(det, cb) && sameSign(det, cc) && sameSign(det, cd) {
		return sub{idx: [4]int{0, 1, 2, 3}, lam: [4]float64{ca / det, cb / det, cc / det, cd / det}, n: 4}
	}
	best := sub{d2: math.Inf(1)}
	if !sameSign(det, ca) {
		best = better(best, s.s2d(1, 2, 3))
	}
	if !sameSign(det, cb) {
		best = better(best, s.s2d(0, 2, 3))
	}
	if !sameSign(det, cc) {
		best = better(best, s.s2d(0, 1, 3))
	}
	if !sameSign(det, cd) {
		best = better(best, s.s2d(0, 1, 2))
	}
	return best
}

// solve replaces the simplex by the smallest sub-simplex whose hull holds
// the point closest to the origin and returns that point.
func (s *simplex) solve() (r3.Vector, float64) {
	var r sub
	switch s.n {
	case 1:
		r = s.single(0)
	case 2:
		r = s.s1d(0, 1)
	case 3:
		r = s.s2d(0, 1, 2)
	default:
		r = s.s3d()
	}
	var nv [4]vertex
	for k := 0; k < r.n; k++ {
		nv[k] = s.v[r.idx[k]]
		s.lam[k] = r.lam[k]
	}
	s.v = nv
	s.n = r.n
	return r.v, r.d2
}

// witnesses returns the closest points on A and B from the barycentric
// weights.
func (s *simplex) witnesses() (pa, pb r3.Vector) {
	for k := 0; k < s.n; k++ {
		pa = pa.Add(s.v[k].a.Mul(s.lam[k]))
		pb = pb.Add(s.v[k].b.Mul(s.lam[k]))
	}
	return pa, pb
}

// gjkOut is the raw GJK outcome on two (core) shapes.
type gjkOut struct {
	dist      float64 // upper bound on the distance (exact on convergence)
	lower     float64 // proven lower bound
	intersect bool    // the origin is in A − B (within tolerance)
	bad       bool    // a support point was not finite
	s         simplex
	iters     int
}

// gjk runs GJK on shapes a and b. With early = true it stops as soon as the
// distance is proven ≤ margin (upper bound) or > margin (lower bound); out
// then holds the bound that decided. With early = false it runs to
// convergence and margin is ignored.
func gjk(a, b Shape, early bool, margin float64) gjkOut {
	return gjkFrom(a, b, r3.Vector{}, early, margin)
}

// gjkFrom is gjk warm-started in direction d0 (roughly from A toward B):
// the first simplex vertex is sA(d0) − sB(−d0), which for a good guess is
// already near the closest pair. A zero d0 starts from arbitrary points.
func gjkFrom(a, b Shape, d0 r3.Vector, early bool, margin float64) gjkOut {
	var out gjkOut
	s := &out.s
	pa, pb := a.Support(d0), b.Support(d0.Mul(-1))
	v := pa.Sub(pb)
	if !finiteVec(v) {
		out.bad = true
		out.dist = math.NaN()
		return out
	}
	s.v[0] = vertex{w: v, a: pa, b: pb}
	s.lam[0] = 1
	s.n = 1
	vv := v.Norm2()
	scale2 := vv
	margin2 := margin * margin
	for it := 0; it < gjkMaxIter; it++ {
		out.iters = it + 1
		if vv <= 1e-26*scale2 || vv == 0 {
			out.intersect = true
			vv = 0
			break
		}
		if early && vv <= margin2 {
			break
		}
		pa, pb = a.Support(v.Mul(-1)), b.Support(v)
		w := pa.Sub(pb)
		if !finiteVec(w) {
			out.bad = true
			out.dist = math.NaN()
			return out
		}
		if w2 := w.Norm2(); w2 > scale2 {
			scale2 = w2
		}
		vw := v.Dot(w)
		if vw > 0 {
			if lb := vw * vw / vv; lb > out.lower*out.lower {
				out.lower = math.Sqrt(lb)
			}
			if early && vw*vw > margin2*vv {
				break // separated by more than margin
			}
		}
		if vv-vw <= gjkRelTol*vv {
			break // converged
		}
		dup := false
		for k := 0; k < s.n; k++ {
			if s.v[k].w == w {
				dup = true
				break
			}
		}
		if dup {
			break
		}
		prev := *s
		s.v[s.n] = vertex{w: w, a: pa, b: pb}
		s.n++
		nv, nvv := s.solve()
		if s.n == 4 {
			out.intersect = true
			vv = 0
			v = r3.Vector{}
			break
		}
		if !(nvv < vv) {
			*s = prev // no progress: keep the better simplex
			break
		}
		v, vv = nv, nvv
	}
	out.dist = math.Sqrt(vv)
	if out.intersect {
		out.dist, out.lower = 0, 0
	}
	if out.lower > out.dist {
		out.lower = out.dist
	}
	return out
}

// Result is the outcome of a distance query between two shapes.
type Result struct {
	// Dist is the Euclidean distance between the shapes (same unit as the
	// coordinates), 0 when they intersect, NaN when a shape produced a
	// non-finite support point.
	Dist float64
	// PA and PB are the closest points on A and B. When the shapes
	// intersect both are set to one point common to both shapes (exact for
	// rounded shapes whose cores are disjoint, otherwise a point of the
	// GJK simplex within tolerance).
	PA, PB r3.Vector
	// Intersect reports Dist == 0 (touching counts).
	Intersect bool
}

// split returns the core of s and its rounding radius (0 for plain shapes).
func split(s Shape) (Shape, float64) {
	if r, ok := s.(Rounded); ok {
		return r.Core(), r.Radius()
	}
	return s, 0
}

// segmentOf returns the segment form of point and segment cores.
func segmentOf(s Shape) (r3.Vector, r3.Vector, bool) {
	switch c := s.(type) {
	case Point:
		return c.P, c.P, true
	case Segment:
		return c.A, c.B, true
	case *Segment:
		return c.A, c.B, true
	}
	return r3.Vector{}, r3.Vector{}, false
}

// lineShape recognises shapes whose core is a point or a segment (points,
// segments, spheres, capsules) without boxing their cores, and returns the
// core segment and the radius.
func lineShape(s Shape) (a, b r3.Vector, r float64, ok bool) {
	switch c := s.(type) {
	case Capsule:
		return c.A, c.B, c.R, true
	case *Capsule:
		return c.A, c.B, c.R, true
	case Sphere:
		return c.C, c.C, c.R, true
	case *Sphere:
		return c.C, c.C, c.R, true
	case Segment:
		return c.A, c.B, 0, true
	case *Segment:
		return c.A, c.B, 0, true
	case Point:
		return c.P, c.P, 0, true
	case *Point:
		return c.P, c.P, 0, true
	case Inflated:
		if a, b, r0, ok := lineShape(c.S); ok {
			return a, b, r0 + c.R, true
		}
	}
	return r3.Vector{}, r3.Vector{}, 0, false
}

// lineDistance is Distance for two line shapes (closed form).
func lineDistance(a0, a1 r3.Vector, ra float64, b0, b1 r3.Vector, rb float64) Result {
	s, t, d := geom.SegmentSegment(a0, a1, b0, b1)
	if !finite(d) {
		return Result{Dist: math.NaN()}
	}
	return roundResult(d, a0.Add(a1.Sub(a0).Mul(s)), b0.Add(b1.Sub(b0).Mul(t)), ra, rb)
}

// coreDistance returns the distance between two cores with closest points;
// point/segment pairs use the closed form (geom.SegmentSegment).
func coreDistance(a, b Shape) (float64, r3.Vector, r3.Vector, bool) {
	if a0, a1, ok := segmentOf(a); ok {
		if b0, b1, ok := segmentOf(b); ok {
			s, t, d := geom.SegmentSegment(a0, a1, b0, b1)
			return d, a0.Add(a1.Sub(a0).Mul(s)), b0.Add(b1.Sub(b0).Mul(t)), finite(d)
		}
	}
	o := gjk(a, b, false, 0)
	if o.bad {
		return math.NaN(), r3.Vector{}, r3.Vector{}, false
	}
	pa, pb := o.s.witnesses()
	return o.dist, pa, pb, true
}

// Distance returns the distance and closest points between two convex
// shapes (GJK; closed form for sphere/capsule/segment/point pairs).
func Distance(a, b Shape) Result {
	if a0, a1, ra, ok := lineShape(a); ok {
		if b0, b1, rb, ok := lineShape(b); ok {
			return lineDistance(a0, a1, ra, b0, b1, rb)
		}
	}
	ca, ra := split(a)
	cb, rb := split(b)
	d, pa, pb, ok := coreDistance(ca, cb)
	if !ok {
		return Result{Dist: math.NaN()}
	}
	return roundResult(d, pa, pb, ra, rb)
}

// roundResult turns the distance d and closest points pa, pb of two cores
// into the result for the cores inflated by ra and rb.
func roundResult(d float64, pa, pb r3.Vector, ra, rb float64) Result {
	r := ra + rb
	if d == 0 {
		return Result{PA: pa, PB: pa, Intersect: true}
	}
	n := pb.Sub(pa).Mul(1 / d)
	if d <= r {
		// cores disjoint, balls overlap: a point in both shapes
		c := pa.Add(n.Mul((d - rb + ra) / 2))
		return Result{PA: c, PB: c, Intersect: true}
	}
	return Result{Dist: d - r, PA: pa.Add(n.Mul(ra)), PB: pb.Sub(n.Mul(rb))}
}

// WithinDistance reports whether the distance between a and b is at most
// marginMM (≥ 0; touching counts). It stops GJK as soon as a bound decides,
// which is much cheaper than Distance for clearly separated or clearly
// overlapping pairs. Non-finite shapes report true (fail safe: treated as a
// collision).
func WithinDistance(a, b Shape, marginMM float64) bool {
	if a0, a1, ra, ok := lineShape(a); ok {
		if b0, b1, rb, ok := lineShape(b); ok {
			_, _, d := geom.SegmentSegment(a0, a1, b0, b1)
			return !(d > marginMM+ra+rb)
		}
	}
	ca, ra := split(a)
	cb, rb := split(b)
	m := marginMM + ra + rb
	if a0, a1, ok := segmentOf(ca); ok {
		if b0, b1, ok := segmentOf(cb); ok {
			_, _, d := geom.SegmentSegment(a0, a1, b0, b1)
			return !(d > m)
		}
	}
	o := gjk(ca, cb, true, m)
	if o.bad {
		return true
	}
	return o.intersect || o.dist <= m
}

// Intersects reports whether a and b share a point (touching counts).
func Intersects(a, b Shape) bool { return WithinDistance(a, b, 0) }
