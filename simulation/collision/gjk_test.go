package collision

import (
	"flag"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golang/geo/r3"

	"fabcell/simulation/geom"
)

var seed = flag.Uint64("seed", 1, "seed for randomised collision tests")

func rng(stream uint64) *rand.Rand { return rand.New(rand.NewPCG(*seed, stream)) }

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// checkWitness verifies a separated Result: the points are Dist apart and
// the plane through them perpendicular to PB − PA separates the shapes.
func checkWitness(t *testing.T, name string, a, b Shape, r Result, tol float64) {
	t.Helper()
	if r.Intersect {
		return
	}
	if d := r.PB.Sub(r.PA).Norm(); !near(d, r.Dist, tol) {
		t.Fatalf("%s: |PB−PA| = %v, Dist = %v", name, d, r.Dist)
	}
	n := r.PB.Sub(r.PA).Normalize()
	if ha := a.Support(n).Dot(n); ha > r.PA.Dot(n)+tol {
		t.Fatalf("%s: A reaches %v beyond its witness %v along n", name, ha, r.PA.Dot(n))
	}
	if lb := b.Support(n.Mul(-1)).Dot(n); lb < r.PB.Dot(n)-tol {
		t.Fatalf("%s: B reaches %v before its witness %v along n", name, lb, r.PB.Dot(n))
	}
}

func TestSphereSphere(t *testing.T) {
	r := rng(1)
	for i := 0; i < 500; i++ {
		c1, c2 := randVec(r, 10), randVec(r, 10)
		r1, r2 := r.Float64()*5, r.Float64()*5
		want := c1.Sub(c2).Norm() - r1 - r2
		s1, s2 := Sphere{c1, r1}, Sphere{c2, r2}
		got := Distance(s1, s2)
		if want > 0 && !near(got.Dist, want, 1e-12) || want <= 0 && !got.Intersect {
			t.Fatalf("closed form: got %+v want %v", got, want)
		}
		checkWitness(t, "sphere closed form", s1, s2, got, 1e-9)
		// GJK on the curved support functions (no rounded fast path)
		g := Distance(opaque{s1}, opaque{s2})
		if want > 1e-6 && !near(g.Dist, want, 1e-6*(1+want)) {
			t.Fatalf("GJK curved spheres: got %v want %v (%d)", g.Dist, want, i)
		}
		if want < -1e-6 && !g.Intersect {
			t.Fatalf("GJK curved spheres: want intersection (depth %v), got %+v", -want, g)
		}
		if math.Abs(want) > 1e-6 && Intersects(opaque{s1}, opaque{s2}) != (want <= 0) {
			t.Fatalf("Intersects curved spheres disagrees: want %v", want <= 0)
		}
		// EPA depth
		if want < 0 {
			c, ok := Penetration(s1, s2)
			if !ok || !near(c.Depth, -want, 1e-9) {
				t.Fatalf("penetration got %+v ok=%v want %v", c, ok, -want)
			}
			if !near(c.PA.Sub(c.PB).Norm(), -want, 1e-9) {
				t.Fatalf("contact points %v %v not depth apart", c.PA, c.PB)
			}
		}
	}
}

func TestCapsuleCapsuleMatchesSegmentSegment(t *testing.T) {
	r := rng(2)
	for i := 0; i < 2000; i++ {
		a0, a1, b0, b1 := randVec(r, 10), randVec(r, 10), randVec(r, 10), randVec(r, 10)
		switch i % 5 { // degenerate and parallel cases
		case 1:
			a1 = a0
		case 2:
			b1 = b0.Add(a1.Sub(a0)).Add(randVec(r, 1e-9))
			b0 = b0.Add(randVec(r, 1e-9))
		case 3:
			b0, b1 = a0.Add(r3.Vector{Z: 3}), a1.Add(r3.Vector{Z: 3}) // exactly parallel
		}
		ra, rb := r.Float64()*2, r.Float64()*2
		_, _, d := geom.SegmentSegment(a0, a1, b0, b1)
		want := d - ra - rb
		// GJK on the bare segments (opaque disables the closed form)
		g := Distance(opaque{Segment{a0, a1}}, opaque{Segment{b0, b1}})
		tol := 1e-9 * (1 + d)
		if i%5 == 2 {
			// nearly parallel: geom.SegmentSegment forms a·e − b² with
			// cancellation and is good to ~1e-8 relative here
			tol = 1e-7 * (1 + d)
		}
		if !near(g.Dist, d, tol) {
			t.Fatalf("case %d: GJK segment distance %v, SegmentSegment %v", i, g.Dist, d)
		}
		checkWitness(t, "segments", Segment{a0, a1}, Segment{b0, b1}, g, 100*tol)
		// rounded GJK path: segment core inside an opaque Inflated
		ca := Inflated{S: opaque{Segment{a0, a1}}, R: ra}
		cb := Inflated{S: opaque{Segment{b0, b1}}, R: rb}
		got := Distance(ca, cb)
		if want > 0 && !near(got.Dist, want, tol) || want <= 0 && !got.Intersect {
			t.Fatalf("case %d: capsule GJK %+v want %v", i, got, want)
		}
		if math.Abs(want) > 1e-9 {
			if w := WithinDistance(ca, cb, 0.5); w != (want <= 0.5) {
				t.Fatalf("case %d: WithinDistance(0.5) = %v, distance %v", i, w, want)
			}
			if w := WithinDistance(Capsule{a0, a1, ra}, Capsule{b0, b1, rb}, 0); w != (want <= 0) {
				t.Fatalf("case %d: closed-form intersect %v, distance %v", i, w, want)
			}
		}
	}
}

func TestRandomHullsAgainstLPAndBruteForce(t *testing.T) {
	r := rng(3)
	n := 400
	if testing.Short() {
		n = 120
	}
	var inter, sep int
	for i := 0; i < n; i++ {
		mk := func(c r3.Vector) []r3.Vector {
			k := 4 + r.IntN(9)
			s := 0.5 + r.Float64()*3
			var ps []r3.Vector
			for j := 0; j < k; j++ {
				ps = append(ps, c.Add(randVec(r, s)))
			}
			if i%7 == 0 { // flat hulls (polygons) and a needle
				for j := range ps {
					ps[j].Z = c.Z
				}
			}
			return ps
		}
		pa := mk(r3.Vector{})
		pb := mk(randVec(r, 3))
		ha, _ := NewHull(pa)
		hb, _ := NewHull(pb)
		feasible, err := lpIntersect(pa, pb)
		if err != nil {
			continue // LP numerically ill-posed (rank deficient flat pair); skip
		}
		res := Distance(ha, hb)
		brute := bruteHullDist(pa, pb)
		if feasible {
			inter++
			if !res.Intersect && res.Dist > 1e-9 {
				t.Fatalf("case %d: LP says intersecting, GJK distance %v (brute %v)", i, res.Dist, brute)
			}
			if brute < 1e-7 { // touching: depth ill-defined
				continue
			}
			c, ok := Penetration(ha, hb)
			if !ok || c.Depth < -1e-9 {
				t.Fatalf("case %d: penetration %+v ok=%v", i, c, ok)
			}
			// translating B by the depth along the normal separates (to
			// tolerance); a shorter translation does not
			moved := func(f float64) Shape {
				return Transformed{S: hb, Pose: geom.Pose{R: geom.Identity(), P: c.Normal.Mul(c.Depth * f)}}
			}
			if d := Distance(ha, moved(1+1e-6)); d.Intersect && c.Depth > 1e-6 {
				t.Fatalf("case %d: moving B by depth %v along %v does not separate", i, c.Depth, c.Normal)
			}
			if c.Depth > 1e-6 && !Distance(ha, moved(0.99)).Intersect {
				t.Fatalf("case %d: depth %v is not minimal along its normal", i, c.Depth)
			}
			continue
		}
		sep++
		if res.Intersect || !near(res.Dist, brute, 1e-9*(1+brute)) {
			t.Fatalf("case %d: GJK %+v, brute force %v", i, res, brute)
		}
		checkWitness(t, "hulls", ha, hb, res, 1e-8)
		if _, ok := Penetration(ha, hb); ok && brute > 1e-9 {
			t.Fatalf("case %d: penetration reported for separated hulls", i)
		}
	}
	if inter < n/10 || sep < n/10 {
		t.Fatalf("unbalanced sample: %d intersecting, %d separated", inter, sep)
	}
}

func TestBoxBoxSAT(t *testing.T) {
	r := rng(4)
	var inter, sep int
	for i := 0; i < 600; i++ {
		mk := func(c r3.Vector) Box {
			b, err := NewBox(geom.Pose{R: randRot(r), P: c}, r3.Vector{X: 0.2 + r.Float64()*2, Y: 0.2 + r.Float64()*2, Z: 0.2 + r.Float64()*2})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		a, b := mk(r3.Vector{}), mk(randVec(r, 3.5))
		if i%6 == 0 { // axis-aligned pairs share face normals
			a.Pose.R, b.Pose.R = geom.Identity(), geom.Identity()
		}
		ov := satBoxes(a, b)
		if math.Abs(ov) < 1e-7 {
			continue
		}
		res := Distance(a, b)
		if ov > 0 {
			inter++
			if !res.Intersect || !Intersects(a, b) {
				t.Fatalf("case %d: SAT overlap %v but GJK %+v", i, ov, res)
			}
			c, ok := Penetration(a, b)
			if !ok || !near(c.Depth, ov, 1e-6*(1+ov)) {
				t.Fatalf("case %d: EPA depth %v, SAT minimum overlap %v", i, c.Depth, ov)
			}
			continue
		}
		sep++
		if res.Intersect || Intersects(a, b) {
			t.Fatalf("case %d: SAT separates (gap %v) but GJK %+v", i, -ov, res)
		}
		brute := bruteHullDist(boxVerts(a), boxVerts(b))
		if !near(res.Dist, brute, 1e-9*(1+brute)) {
			t.Fatalf("case %d: GJK %v, brute force %v", i, res.Dist, brute)
		}
		checkWitness(t, "boxes", a, b, res, 1e-8)
	}
	if inter < 100 || sep < 100 {
		t.Fatalf("unbalanced sample: %d intersecting, %d separated", inter, sep)
	}
}

// TestFrustumSphere checks cylinders, cones and truncated cones against a
// sphere, compared with the meridian cross-section distance.
func TestFrustumSphere(t *testing.T) {
	r := rng(5)
	for i := 0; i < 1500; i++ {
		a := randVec(r, 5)
		b := a.Add(randUnit(r).Mul(0.5 + r.Float64()*6))
		ra, rb := r.Float64()*3, r.Float64()*3
		switch i % 3 {
		case 0:
			rb = ra // cylinder
		case 1:
			ra = 0 // cone
		}
		f, err := NewFrustum(a, b, ra, rb)
		if err != nil {
			t.Fatal(err)
		}
		ax := b.Sub(a)
		want3 := newRevolved(a, ax, []pt2{{0, ra}, {ax.Norm(), rb}})
		c := randVec(r, 9)
		sr := r.Float64() * 2
		want := want3.dist(c) - sr
		got := Distance(f, Sphere{c, sr})
		if math.Abs(want) < 1e-6 {
			continue
		}
		if want > 0 {
			if got.Intersect || !near(got.Dist, want, 1e-7*(1+want)) {
				t.Fatalf("case %d: frustum(%v,%v) vs sphere: GJK %v want %v", i, ra, rb, got.Dist, want)
			}
			checkWitness(t, "frustum", f, Sphere{c, sr}, got, 1e-6)
		} else if !got.Intersect {
			t.Fatalf("case %d: want intersection, got %v", i, got.Dist)
		}
		if WithinDistance(f, Sphere{c, sr}, 0.25) != (want <= 0.25) && math.Abs(want-0.25) > 1e-6 {
			t.Fatalf("case %d: WithinDistance(0.25) wrong for distance %v", i, want)
		}
	}
}

// polyFrustum returns the inscribed (circ=false) or circumscribed polygonal
// prism/pyramid of f with k sides.
func polyFrustum(f Frustum, k int, circ bool) *Hull {
	n := f.B.Sub(f.A).Normalize()
	u := geom.Perpendicular(n)
	v := n.Cross(u)
	s := 1.0
	if circ {
		s = 1 / math.Cos(math.Pi/float64(k))
	}
	var ps []r3.Vector
	for j := 0; j < k; j++ {
		sn, cs := math.Sincos(2 * math.Pi * float64(j) / float64(k))
		d := u.Mul(cs).Add(v.Mul(sn))
		ps = append(ps, f.A.Add(d.Mul(f.RA*s)), f.B.Add(d.Mul(f.RB*s)))
	}
	h, _ := NewHull(ps)
	return h
}

// TestCurvedPairsBracketedByPolytopes: for cylinder/cone pairs the exact
// distance lies between the distances of the circumscribed and inscribed
// polytopes (polytope GJK is validated against brute force above).
func TestCurvedPairsBracketedByPolytopes(t *testing.T) {
	r := rng(6)
	for i := 0; i < 300; i++ {
		mk := func(c r3.Vector) Frustum {
			b := c.Add(randUnit(r).Mul(1 + r.Float64()*5))
			ra, rb := 0.3+r.Float64()*2, 0.3+r.Float64()*2
			if i%2 == 0 {
				rb = ra
			}
			f, _ := NewFrustum(c, b, ra, rb)
			return f
		}
		fa, fb := mk(r3.Vector{}), mk(randVec(r, 6))
		got := Distance(fa, fb)
		lo := Distance(polyFrustum(fa, 64, true), polyFrustum(fb, 64, true))
		hi := Distance(polyFrustum(fa, 64, false), polyFrustum(fb, 64, false))
		if got.Dist < lo.Dist-1e-9 || got.Dist > hi.Dist+1e-9 {
			t.Fatalf("case %d: distance %v outside [%v, %v]", i, got.Dist, lo.Dist, hi.Dist)
		}
		if !hi.Intersect && !lo.Intersect {
			checkWitness(t, "frusta", fa, fb, got, 1e-5) // curved: direction good to ~sqrt(tol)
		}
		if hi.Intersect && !got.Intersect {
			t.Fatalf("case %d: inscribed polytopes intersect, frusta do not", i)
		}
		if !lo.Intersect && got.Intersect {
			t.Fatalf("case %d: circumscribed polytopes separated, frusta intersect", i)
		}
	}
}

func TestMixedPairs(t *testing.T) {
	// Every pair type against a closed form or another representation of
	// the same set.
	r := rng(7)
	for i := 0; i < 300; i++ {
		pose := geom.Pose{R: randRot(r), P: randVec(r, 4)}
		half := r3.Vector{X: 0.5 + r.Float64(), Y: 0.5 + r.Float64(), Z: 0.5 + r.Float64()}
		box, _ := NewBox(pose, half)
		hull, _ := NewHull(boxVerts(box))
		c := randVec(r, 6)
		sr := r.Float64() * 1.5
		// sphere–box: clamp the centre in the box frame
		l := pose.Inverse().Apply(c)
		cl := r3.Vector{X: math.Max(-half.X, math.Min(half.X, l.X)), Y: math.Max(-half.Y, math.Min(half.Y, l.Y)), Z: math.Max(-half.Z, math.Min(half.Z, l.Z))}
		want := l.Sub(cl).Norm() - sr
		if math.Abs(want) < 1e-6 {
			continue
		}
		for name, s := range map[string]Shape{"box": box, "hull": hull, "transformed": Transform(Box{Pose: geom.IdentityPose(), Half: half}, pose)} {
			got := Distance(s, Sphere{c, sr})
			if want > 0 && !near(got.Dist, want, 1e-9) || want < 0 && !got.Intersect {
				t.Fatalf("case %d %s–sphere: got %+v want %v", i, name, got, want)
			}
		}
		// capsule–box vs box ⊕ ball around a segment: Minkowski sum form
		a, b := randVec(r, 6), randVec(r, 6)
		capsule := Capsule{a, b, sr}
		viaSum := MinkowskiSum(Segment{a, b}, Sphere{R: sr})
		d1, d2 := Distance(box, capsule), Distance(box, viaSum)
		if !near(d1.Dist, d2.Dist, 1e-9) || d1.Intersect != d2.Intersect {
			t.Fatalf("case %d: capsule %+v vs Minkowski sum %+v", i, d1, d2)
		}
		// swept box = hull of the box at both ends
		delta := randVec(r, 3)
		moved := boxVerts(Box{Pose: geom.Pose{R: pose.R, P: pose.P.Add(delta)}, Half: half})
		sweptHull, _ := NewHull(append(boxVerts(box), moved...))
		sp := Sphere{randVec(r, 8), sr}
		e1, e2 := Distance(Sweep(box, delta), sp), Distance(sweptHull, sp)
		if !near(e1.Dist, e2.Dist, 1e-9) || e1.Intersect != e2.Intersect {
			t.Fatalf("case %d: Sweep %+v vs hull %+v", i, e1, e2)
		}
		// HullOf(two spheres) = capsule
		p, q := randVec(r, 4), randVec(r, 4)
		ho := HullOf{Sphere{p, sr}, Sphere{q, sr}}
		f1, f2 := Distance(opaque{ho}, sp), Distance(Capsule{p, q, sr}, sp)
		if sr > 0.1 && (!near(f1.Dist, f2.Dist, 1e-6) || f1.Intersect != f2.Intersect) && math.Abs(f2.Dist) > 1e-6 {
			t.Fatalf("case %d: HullOf spheres %+v vs capsule %+v", i, f1, f2)
		}
	}
}

func TestBoundsOfIsExact(t *testing.T) {
	r := rng(8)
	for i := 0; i < 200; i++ {
		f, _ := NewFrustum(randVec(r, 3), randVec(r, 3).Add(r3.Vector{X: 0.1}), r.Float64(), r.Float64())
		box, _ := NewBox(geom.Pose{R: randRot(r), P: randVec(r, 3)}, r3.Vector{X: r.Float64(), Y: r.Float64(), Z: r.Float64()})
		for _, s := range []Shape{f, box, Capsule{randVec(r, 3), randVec(r, 3), r.Float64()}} {
			got := BoundsOf(s)
			want := BoundsOf(opaque{s}) // six support calls
			if !near(got.Min.Sub(want.Min).Norm(), 0, 1e-12) || !near(got.Max.Sub(want.Max).Norm(), 0, 1e-12) {
				t.Fatalf("%T bounds %v, support bounds %v", s, got, want)
			}
		}
	}
}

func TestDegenerateAndBadInput(t *testing.T) {
	p := Point{r3.Vector{X: 1}}
	if d := Distance(p, p); !d.Intersect || d.Dist != 0 {
		t.Fatalf("identical points: %+v", d)
	}
	// a point on a box face: touching counts
	box, _ := BoxFromAABB(geom.AABB{Min: r3.Vector{}, Max: r3.Vector{X: 1, Y: 1, Z: 1}})
	if !Intersects(Point{r3.Vector{X: 1, Y: 0.5, Z: 0.5}}, box) {
		t.Fatal("point on a face must intersect")
	}
	if Intersects(Point{r3.Vector{X: 1 + 1e-9, Y: 0.5, Z: 0.5}}, box) {
		t.Fatal("point 1e-9 outside a face must not intersect")
	}
	// identical boxes: EPA depth = full overlap (1)
	c, ok := Penetration(box, box)
	if !ok || !near(c.Depth, 1, 1e-9) {
		t.Fatalf("identical unit boxes: depth %v ok=%v", c.Depth, ok)
	}
	// flat contact: two unit squares in the same plane overlapping
	sq1, _ := NewHull([]r3.Vector{{}, {X: 1}, {X: 1, Y: 1}, {Y: 1}})
	sq2, _ := NewHull([]r3.Vector{{X: 0.5}, {X: 1.5}, {X: 1.5, Y: 1}, {X: 0.5, Y: 1}})
	if !Intersects(sq1, sq2) {
		t.Fatal("coplanar overlapping squares must intersect")
	}
	if c, ok := Penetration(sq1, sq2); !ok || c.Depth > 1e-9 {
		t.Fatalf("coplanar squares: depth %v ok=%v (want 0: they separate along the normal)", c.Depth, ok)
	}
	nan := math.NaN()
	if d := Distance(Point{r3.Vector{X: nan}}, box); !math.IsNaN(d.Dist) {
		t.Fatalf("NaN point: %+v", d)
	}
	if !Intersects(opaque{Point{r3.Vector{X: math.Inf(1)}}}, box) {
		t.Fatal("non-finite shapes must fail safe (report a hit)")
	}
	for _, err := range []error{
		func() error { _, e := NewSphere(r3.Vector{X: nan}, 1); return e }(),
		func() error { _, e := NewCapsule(r3.Vector{}, r3.Vector{}, -1); return e }(),
		func() error { _, e := NewFrustum(r3.Vector{}, r3.Vector{}, 1, 1); return e }(),
		func() error { _, e := NewHull(nil); return e }(),
		func() error { _, e := NewHull([]r3.Vector{{Y: math.Inf(-1)}}); return e }(),
		func() error {
			_, e := NewBox(geom.Pose{R: geom.Mat3{{2, 0, 0}, {0, 1, 0}, {0, 0, 1}}}, r3.Vector{X: 1, Y: 1, Z: 1})
			return e
		}(),
		func() error { _, e := BoxFromAABB(geom.EmptyAABB()); return e }(),
	} {
		if err == nil {
			t.Fatal("bad shape accepted")
		}
	}
}

func TestGJKIterationsStayLow(t *testing.T) {
	// Convergence guard: polytopes converge in a handful of iterations,
	// curved shapes within the cap.
	r := rng(9)
	worst := 0
	for i := 0; i < 500; i++ {
		f1, _ := NewCylinder(randVec(r, 4), randVec(r, 4).Add(r3.Vector{Z: 0.1}), 0.5+r.Float64())
		f2, _ := NewCone(randVec(r, 4), randVec(r, 4).Add(r3.Vector{Z: 0.1}), 0.5+r.Float64())
		o := gjk(f1, f2, false, 0)
		worst = max(worst, o.iters)
	}
	if worst >= gjkMaxIter {
		t.Fatalf("GJK hit the iteration cap (%d) on cylinder–cone pairs", worst)
	}
	t.Logf("worst cylinder–cone GJK iterations: %d", worst)
}

func TestPenetrationKnownCases(t *testing.T) {
	slab := func(zmin, zmax float64) Box {
		b, _ := BoxFromAABB(geom.AABB{Min: r3.Vector{X: -5, Y: -5, Z: zmin}, Max: r3.Vector{X: 5, Y: 5, Z: zmax}})
		return b
	}
	cyl, _ := NewCylinder(r3.Vector{}, r3.Vector{Z: 2}, 1)
	cone, _ := NewCone(r3.Vector{Z: -0.4}, r3.Vector{Z: 3}, 1) // apex 0.4 into a slab below z = 0
	for _, tc := range []struct {
		name   string
		a, b   Shape
		depth  float64
		normal r3.Vector
		tol    float64
	}{
		{"cylinder top in slab", cyl, slab(1.7, 3), 0.3, r3.Vector{Z: 1}, 1e-7},
		{"sphere on slab (rounded path)", Sphere{r3.Vector{Z: 0.5}, 1}, slab(-5, 0), 0.5, r3.Vector{Z: -1}, 1e-12},
		{"capsule core inside slab (EPA + radius)", Capsule{r3.Vector{X: -1, Z: -1}, r3.Vector{X: 1, Z: -1}, 0.5}, slab(-5, 0), 1.5, r3.Vector{Z: -1}, 1e-9},
		{"cone apex in slab", cone, slab(-5, 0), 0.4, r3.Vector{Z: -1}, 1e-7},
	} {
		c, ok := Penetration(tc.a, tc.b)
		if !ok || !near(c.Depth, tc.depth, tc.tol) || c.Normal.Sub(tc.normal).Norm() > 1e-6 {
			t.Fatalf("%s: %+v ok=%v, want depth %v normal %v", tc.name, c, ok, tc.depth, tc.normal)
		}
		if !near(c.PA.Sub(c.PB).Norm(), tc.depth, 1e-6) {
			t.Fatalf("%s: contact points %v %v are not depth apart", tc.name, c.PA, c.PB)
		}
	}
}
