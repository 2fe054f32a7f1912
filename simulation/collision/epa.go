package collision

import (
	"math"

	"github.com/golang/geo/r3"

	"fabcell/simulation/geom"
)

// Contact describes the penetration of two intersecting shapes: translating
// B by Depth·Normal (or A by −Depth·Normal) makes them touch. Normal is a
// unit vector; PA is the point of A deepest inside B and PB the point of B
// deepest inside A, with PA − PB = Depth·Normal.
type Contact struct {
	Depth  float64
	Normal r3.Vector
	PA, PB r3.Vector
}

const (
	epaMaxIter = 128
	epaRelTol  = 1e-9
)

// Penetration returns the penetration depth of two intersecting shapes
// (EPA, the expanding polytope algorithm: van den Bergen 2001). ok is false
// when the shapes do not intersect (use Distance then) or a shape is not
// finite. Rounded shapes add their radii to the depth of their cores, so
// sphere and capsule pairs are exact; curved cores (discs, cylinders, cones)
// are resolved to a relative tolerance of about 1e-9 of their size or
// after 128 expansions, whichever comes first.
//
// The collision and orientation queries of this package need only
// separation tests; Penetration serves diagnostics (how deep a rejected
// move would dig) and callers that resolve contacts.
func Penetration(a, b Shape) (Contact, bool) {
	ca, ra := split(a)
	cb, rb := split(b)
	if a0, a1, ok := segmentOf(ca); ok {
		if b0, b1, ok := segmentOf(cb); ok {
			s, t, d := geom.SegmentSegment(a0, a1, b0, b1)
			pa, pb := a0.Add(a1.Sub(a0).Mul(s)), b0.Add(b1.Sub(b0).Mul(t))
			return roundedContact(pa, pb, d, ra, rb, a0.Sub(a1), b0.Sub(b1))
		}
	}
	o := gjk(ca, cb, false, 0)
	if o.bad {
		return Contact{}, false
	}
	if !o.intersect {
		pa, pb := o.s.witnesses()
		return roundedContact(pa, pb, o.dist, ra, rb, r3.Vector{}, r3.Vector{})
	}
	c, ok := epa(ca, cb, o.s)
	if !ok {
		return Contact{}, false
	}
	c.PA = c.PA.Add(c.Normal.Mul(ra))
	c.PB = c.PB.Sub(c.Normal.Mul(rb))
	c.Depth += ra + rb
	return c, true
}

// roundedContact handles cores at distance d > 0 (or coincident point
// cores) whose balls may overlap. da, db are core directions used to pick a
// normal when the cores touch.
func roundedContact(pa, pb r3.Vector, d, ra, rb float64, da, db r3.Vector) (Contact, bool) {
	if !finite(d) || d > ra+rb || (d == ra+rb && d > 0) {
		return Contact{}, false
	}
	var n r3.Vector
	if d > 0 {
		n = pb.Sub(pa).Mul(1 / d)
	} else {
		// cores touch: any normal perpendicular to both cores is a minimal
		// direction for segments; fall back to a perpendicular
		n = da.Cross(db)
		if n.Norm2() < 1e-24 {
			switch {
			case da.Norm2() > 0:
				n = geom.Perpendicular(da)
			case db.Norm2() > 0:
				n = geom.Perpendicular(db)
			default:
				n = ez
			}
		}
		n = n.Normalize()
	}
	depth := ra + rb - d
	return Contact{Depth: depth, Normal: n, PA: pa.Add(n.Mul(ra)), PB: pb.Sub(n.Mul(rb))}, true
}

type epaFace struct {
	i, j, k int
	n       r3.Vector // outward unit normal
	d       float64   // distance of the face plane from the origin
	alive   bool
}

type epaPoly struct {
	v     []vertex
	f     []epaFace
	a, b  Shape
	scale float64
}

func (p *epaPoly) support(d r3.Vector) vertex {
	pa, pb := p.a.Support(d), p.b.Support(d.Mul(-1))
	return vertex{w: pa.Sub(pb), a: pa, b: pb}
}

func (p *epaPoly) addFace(i, j, k int) bool {
	a, b, c := p.v[i].w, p.v[j].w, p.v[k].w
	n := b.Sub(a).Cross(c.Sub(a))
	l := n.Norm()
	if !(l > 1e-14*p.scale*p.scale) {
		return false
	}
	n = n.Mul(1 / l)
	p.f = append(p.f, epaFace{i: i, j: j, k: k, n: n, d: n.Dot(a), alive: true})
	return true
}

// blowUp grows a GJK terminal simplex that contains the origin (possibly on
// its boundary) into a tetrahedron. ok=false means A − B is flat around the
// origin (zero-volume contact): depth 0.
func (p *epaPoly) blowUp(s simplex) bool {
	for k := 0; k < s.n; k++ {
		p.v = append(p.v, s.v[k])
	}
	dirs := [...]r3.Vector{ex, ey, ez, ex.Mul(-1), ey.Mul(-1), ez.Mul(-1)}
	eps := 1e-10 * p.scale
	if len(p.v) == 1 {
		for _, d := range dirs {
			w := p.support(d)
			if w.w.Sub(p.v[0].w).Norm() > eps {
				p.v = append(p.v, w)
				break
			}
		}
		if len(p.v) == 1 {
			return false
		}
	}
	if len(p.v) == 2 {
		line := p.v[1].w.Sub(p.v[0].w).Normalize()
		u := geom.Perpendicular(line)
		rot := geom.AxisAngle(line, math.Pi/3)
		for k := 0; k < 6; k++ {
			w := p.support(u)
			off := w.w.Sub(p.v[0].w)
			if off.Sub(line.Mul(off.Dot(line))).Norm() > eps {
				p.v = append(p.v, w)
				break
			}
			u = rot.MulVec(u)
		}
		if len(p.v) == 2 {
			return false
		}
	}
	if len(p.v) == 3 {
		n := p.v[1].w.Sub(p.v[0].w).Cross(p.v[2].w.Sub(p.v[0].w)).Normalize()
		for _, d := range []r3.Vector{n, n.Mul(-1)} {
			w := p.support(d)
			if math.Abs(w.w.Sub(p.v[0].w).Dot(n)) > eps {
				p.v = append(p.v, w)
				break
			}
		}
		if len(p.v) == 3 {
			return false
		}
	}
	// orient the four faces outward (away from the centroid)
	c := p.v[0].w.Add(p.v[1].w).Add(p.v[2].w).Add(p.v[3].w).Mul(0.25)
	for _, t := range [4][3]int{{0, 1, 2}, {0, 3, 1}, {0, 2, 3}, {1, 3, 2}} {
		i, j, k := t[0], t[1], t[2]
		n := p.v[j].w.Sub(p.v[i].w).Cross(p.v[k].w.Sub(p.v[i].w))
		if n.Dot(c.Sub(p.v[i].w)) > 0 {
			j, k = k, j
		}
		if !p.addFace(i, j, k) {
			return false
		}
	}
	return true
}

type epaEdge struct{ i, j int }

// epa expands the polytope from a GJK simplex containing the origin.
func epa(a, b Shape, s simplex) (Contact, bool) {
	ba, bb := BoundsOf(a), BoundsOf(b)
	scale := math.Max(ba.Max.Sub(ba.Min).Norm(), bb.Max.Sub(bb.Min).Norm())
	if !(scale > 0) {
		scale = 1
	}
	p := &epaPoly{a: a, b: b, scale: scale}
	if !p.blowUp(s) {
		// flat Minkowski difference: touching with zero depth
		pa, pb := s.witnesses()
		return Contact{Normal: ez, PA: pa, PB: pb}, true
	}
	var horizon []epaEdge
	best := -1
	for it := 0; it < epaMaxIter; it++ {
		best = -1
		for fi := range p.f {
			if p.f[fi].alive && (best < 0 || p.f[fi].d < p.f[best].d) {
				best = fi
			}
		}
		if best < 0 {
			return Contact{}, false
		}
		f := p.f[best]
		w := p.support(f.n)
		if !finiteVec(w.w) {
			return Contact{}, false
		}
		if w.w.Dot(f.n)-f.d <= epaRelTol*scale {
			break
		}
		// faces visible from w go; their boundary is the horizon
		horizon = horizon[:0]
		for fi := range p.f {
			g := &p.f[fi]
			if !g.alive || g.n.Dot(w.w.Sub(p.v[g.i].w)) <= 1e-14*scale {
				continue
			}
			g.alive = false
			for _, e := range [3]epaEdge{{g.i, g.j}, {g.j, g.k}, {g.k, g.i}} {
				found := false
				for hi, h := range horizon {
					if h.i == e.j && h.j == e.i {
						horizon[hi] = horizon[len(horizon)-1]
						horizon = horizon[:len(horizon)-1]
						found = true
						break
					}
				}
				if !found {
					horizon = append(horizon, e)
				}
			}
		}
		if len(horizon) == 0 {
			break
		}
		p.v = append(p.v, w)
		nw := len(p.v) - 1
		ok := true
		for _, e := range horizon {
			if !p.addFace(e.i, e.j, nw) {
				ok = false
			}
		}
		if !ok {
			// a sliver face: the polytope is as good as it gets; take the
			// best surviving face
			best = -1
			for fi := range p.f {
				if p.f[fi].alive && (best < 0 || p.f[fi].d < p.f[best].d) {
					best = fi
				}
			}
			break
		}
		// compact dead faces now and then
		if len(p.f) > 512 {
			live := p.f[:0]
			for _, g := range p.f {
				if g.alive {
					live = append(live, g)
				}
			}
			p.f = live
		}
		best = -1
	}
	if best < 0 {
		for fi := range p.f {
			if p.f[fi].alive && (best < 0 || p.f[fi].d < p.f[best].d) {
				best = fi
			}
		}
	}
	if best < 0 {
		return Contact{}, false
	}
	f := p.f[best]
	depth := math.Max(0, f.d)
	// barycentric coordinates of the origin's projection onto the face
	q := f.n.Mul(f.d)
	va, vb, vc := p.v[f.i], p.v[f.j], p.v[f.k]
	l0, l1, l2 := barycentric(q, va.w, vb.w, vc.w)
	pa := va.a.Mul(l0).Add(vb.a.Mul(l1)).Add(vc.a.Mul(l2))
	pb := va.b.Mul(l0).Add(vb.b.Mul(l1)).Add(vc.b.Mul(l2))
	// Contact normal convention: moving B by depth·n separates. The face
	// normal n of A − B satisfies max n·(a − b) = depth, i.e. A reaches
	// depth into B along n: B must move along +n.
	return Contact{Depth: depth, Normal: f.n, PA: pa, PB: pb}, true
}

// barycentric returns the barycentric coordinates of q in triangle abc
// (q assumed in its plane).
func barycentric(q, a, b, c r3.Vector) (float64, float64, float64) {
	v0, v1, v2 := b.Sub(a), c.Sub(a), q.Sub(a)
	d00, d01, d11 := v0.Dot(v0), v0.Dot(v1), v1.Dot(v1)
	d20, d21 := v2.Dot(v0), v2.Dot(v1)
	den := d00*d11 - d01*d01
	if den == 0 {
		return 1, 0, 0
	}
	v := (d11*d20 - d01*d21) / den
	w := (d00*d21 - d01*d20) / den
	return 1 - v - w, v, w
}
