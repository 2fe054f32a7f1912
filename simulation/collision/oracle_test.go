package collision

// Independent answers for the tests: closed forms, brute force over
// features, an LP feasibility test, SAT for boxes and a 2-D cross-section
// model of axisymmetric bodies. None of them uses GJK.

import (
	"errors"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/golang/geo/r3"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"

	"fabcell/simulation/geom"
)

// opaque hides the Rounded and segment fast paths so GJK runs on the raw
// support function.
type opaque struct{ s Shape }

func (o opaque) Support(d r3.Vector) r3.Vector { return o.s.Support(d) }

func randVec(r *rand.Rand, s float64) r3.Vector {
	return r3.Vector{X: (r.Float64()*2 - 1) * s, Y: (r.Float64()*2 - 1) * s, Z: (r.Float64()*2 - 1) * s}
}

func randUnit(r *rand.Rand) r3.Vector {
	for {
		v := randVec(r, 1)
		if n := v.Norm(); n > 0.1 && n <= 1 {
			return v.Mul(1 / n)
		}
	}
}

func randRot(r *rand.Rand) geom.Mat3 { return geom.AxisAngle(randUnit(r), r.Float64()*math.Pi) }

// closestOnTriangle is Ericson's ClosestPtPointTriangle (Real-Time
// Collision Detection §5.1.5), written out independently of the package.
func closestOnTriangle(p, a, b, c r3.Vector) r3.Vector {
	ab, ac, ap := b.Sub(a), c.Sub(a), p.Sub(a)
	d1, d2 := ab.Dot(ap), ac.Dot(ap)
	if d1 <= 0 && d2 <= 0 {
		return a
	}
	bp := p.Sub(b)
	d3, d4 := ab.Dot(bp), ac.Dot(bp)
	if d3 >= 0 && d4 <= d3 {
		return b
	}
	vc := d1*d4 - d3*d2
	if vc <= 0 && d1 >= 0 && d3 <= 0 {
		return a.Add(ab.Mul(d1 / (d1 - d3)))
	}
	cp := p.Sub(c)
	d5, d6 := ab.Dot(cp), ac.Dot(cp)
	if d6 >= 0 && d5 <= d6 {
		return c
	}
	vb := d5*d2 - d1*d6
	if vb <= 0 && d2 >= 0 && d6 <= 0 {
		return a.Add(ac.Mul(d2 / (d2 - d6)))
	}
	va := d3*d6 - d5*d4
	if va <= 0 && d4-d3 >= 0 && d5-d6 >= 0 {
		return b.Add(c.Sub(b).Mul((d4 - d3) / ((d4 - d3) + (d5 - d6))))
	}
	den := 1 / (va + vb + vc)
	return a.Add(ab.Mul(vb * den)).Add(ac.Mul(vc * den))
}

// bruteHullDist is the distance between the hulls of two point sets when
// they are disjoint: the closest pair lies on two boundary triangles, so the
// minimum over vertex–triangle and edge–edge pairs of all vertex triples
// and pairs is exact.
func bruteHullDist(pa, pb []r3.Vector) float64 {
	best := math.Inf(1)
	vt := func(ps, qs []r3.Vector) {
		for _, p := range ps {
			for i := range qs {
				for j := i + 1; j < len(qs); j++ {
					for k := j + 1; k < len(qs); k++ {
						best = math.Min(best, p.Sub(closestOnTriangle(p, qs[i], qs[j], qs[k])).Norm())
					}
				}
			}
		}
	}
	vt(pa, pb)
	vt(pb, pa)
	for i := range pa {
		for j := i; j < len(pa); j++ {
			for k := range pb {
				for l := k; l < len(pb); l++ {
					_, _, d := geom.SegmentSegment(pa[i], pa[j], pb[k], pb[l])
					best = math.Min(best, d)
				}
			}
		}
	}
	return best
}

// lpIntersect decides whether hull(pa) and hull(pb) share a point: is
// Σλ_i a_i − Σμ_j b_j = 0, Σλ = 1, Σμ = 1, λ, μ ≥ 0 feasible?
func lpIntersect(pa, pb []r3.Vector) (bool, error) {
	n := len(pa) + len(pb)
	a := mat.NewDense(5, n, nil)
	for i, p := range pa {
		a.Set(0, i, p.X)
		a.Set(1, i, p.Y)
		a.Set(2, i, p.Z)
		a.Set(3, i, 1)
	}
	for j, p := range pb {
		c := len(pa) + j
		a.Set(0, c, -p.X)
		a.Set(1, c, -p.Y)
		a.Set(2, c, -p.Z)
		a.Set(4, c, 1)
	}
	_, _, err := lp.Simplex(make([]float64, n), a, []float64{0, 0, 0, 1, 1}, 1e-10, nil)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, lp.ErrInfeasible):
		return false, nil
	}
	return false, err
}

// boxVerts returns the 8 corners of b.
func boxVerts(b Box) []r3.Vector {
	var v []r3.Vector
	for _, sx := range []float64{-1, 1} {
		for _, sy := range []float64{-1, 1} {
			for _, sz := range []float64{-1, 1} {
				v = append(v, b.Pose.Apply(r3.Vector{X: sx * b.Half.X, Y: sy * b.Half.Y, Z: sz * b.Half.Z}))
			}
		}
	}
	return v
}

// satBoxes returns the minimum overlap of the projections of two boxes over
// the 15 separating axes (negative: separated by an axis; positive: the
// penetration depth of two boxes).
func satBoxes(a, b Box) float64 {
	va, vb := boxVerts(a), boxVerts(b)
	var axes []r3.Vector
	for j := 0; j < 3; j++ {
		axes = append(axes, a.Pose.R.Col(j), b.Pose.R.Col(j))
	}
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			c := a.Pose.R.Col(i).Cross(b.Pose.R.Col(j))
			if c.Norm() > 1e-6 {
				axes = append(axes, c.Normalize())
			}
		}
	}
	minOv := math.Inf(1)
	for _, l := range axes {
		loA, hiA := proj(va, l)
		loB, hiB := proj(vb, l)
		minOv = math.Min(minOv, math.Min(hiA-loB, hiB-loA))
	}
	return minOv
}

func proj(vs []r3.Vector, l r3.Vector) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		d := v.Dot(l)
		lo, hi = math.Min(lo, d), math.Max(hi, d)
	}
	return lo, hi
}

// ---------------------------------------------------------------------------
// Axisymmetric bodies through their meridian cross-section: the distance
// from a point to a convex body of revolution equals the 2-D distance from
// (axial, radial) to the cross-section polygon.

type pt2 struct{ h, r float64 }

// hull2 is Andrew's monotone chain (counter-clockwise).
func hull2(ps []pt2) []pt2 {
	ps = append([]pt2(nil), ps...)
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].h != ps[j].h {
			return ps[i].h < ps[j].h
		}
		return ps[i].r < ps[j].r
	})
	cross := func(o, a, b pt2) float64 { return (a.h-o.h)*(b.r-o.r) - (a.r-o.r)*(b.h-o.h) }
	var lower, upper []pt2
	for _, p := range ps {
		for len(lower) >= 2 && cross(lower[len(lower)-2], lower[len(lower)-1], p) <= 0 {
			lower = lower[:len(lower)-1]
		}
		lower = append(lower, p)
	}
	for i := len(ps) - 1; i >= 0; i-- {
		p := ps[i]
		for len(upper) >= 2 && cross(upper[len(upper)-2], upper[len(upper)-1], p) <= 0 {
			upper = upper[:len(upper)-1]
		}
		upper = append(upper, p)
	}
	return append(lower[:len(lower)-1], upper[:len(upper)-1]...)
}

// polyDist2 is the distance from q to the convex CCW polygon (0 inside).
func polyDist2(poly []pt2, q pt2) float64 {
	inside := true
	best := math.Inf(1)
	for i := range poly {
		a, b := poly[i], poly[(i+1)%len(poly)]
		if (b.h-a.h)*(q.r-a.r)-(b.r-a.r)*(q.h-a.h) < 0 {
			inside = false
		}
		dh, dr := b.h-a.h, b.r-a.r
		l2 := dh*dh + dr*dr
		t := 0.0
		if l2 > 0 {
			t = math.Max(0, math.Min(1, ((q.h-a.h)*dh+(q.r-a.r)*dr)/l2))
		}
		best = math.Min(best, math.Hypot(q.h-a.h-t*dh, q.r-a.r-t*dr))
	}
	if inside {
		return 0
	}
	return best
}

// revolved is an axisymmetric convex body: base point, unit axis, meridian
// polygon (axial offset, ±radius).
type revolved struct {
	base, axis r3.Vector
	poly       []pt2
}

func newRevolved(base, axis r3.Vector, profile []pt2) revolved {
	var ps []pt2
	for _, p := range profile {
		ps = append(ps, pt2{p.h, p.r}, pt2{p.h, -p.r})
	}
	return revolved{base: base, axis: axis.Normalize(), poly: hull2(ps)}
}

func (v revolved) dist(p r3.Vector) float64 {
	d := p.Sub(v.base)
	h := d.Dot(v.axis)
	r := d.Sub(v.axis.Mul(h)).Norm()
	return polyDist2(v.poly, pt2{h, r})
}

// ternary minimises a convex function on [0, 1] (golden-section search,
// interval 0.618^64 ≈ 4e-14).
func ternary(f func(float64) float64) float64 {
	const g = 0.6180339887498949
	lo, hi := 0.0, 1.0
	x1, x2 := hi-g*(hi-lo), lo+g*(hi-lo)
	f1, f2 := f(x1), f(x2)
	for i := 0; i < 64; i++ {
		if f1 <= f2 {
			hi, x2, f2 = x2, x1, f1
			x1 = hi - g*(hi-lo)
			f1 = f(x1)
		} else {
			lo, x1, f1 = x1, x2, f2
			x2 = lo + g*(hi-lo)
			f2 = f(x2)
		}
	}
	return math.Min(math.Min(f1, f2), math.Min(f(0), f(1)))
}

// sweptSegDist is the distance between segment pq and body v swept by
// delta: min over s, t of dist(q(s) − t·delta, v), a jointly convex
// function (nested ternary search).
func sweptSegDist(v revolved, delta, p, q r3.Vector) float64 {
	return ternary(func(s float64) float64 {
		x := p.Add(q.Sub(p).Mul(s))
		return ternary(func(t float64) float64 { return v.dist(x.Sub(delta.Mul(t))) })
	})
}

// headRevolved is the head model as a body of revolution.
func headRevolved(h Head, tip, axis r3.Vector) revolved {
	prof := []pt2{{h.NozzleLengthMM, h.ConeRadiusMM * h.NozzleLengthMM / h.ConeHeightMM}, {h.ConeHeightMM, h.ConeRadiusMM}}
	if h.CylinderHeightMM > 0 {
		prof = append(prof, pt2{h.ConeHeightMM, h.CylinderRadiusMM}, pt2{h.ConeHeightMM + h.CylinderHeightMM, h.CylinderRadiusMM})
	}
	return newRevolved(tip, axis, prof)
}
