package ir

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// crossEps is the compiler's eps for files at 1e-3 mm resolution.
const crossEps = 5e-4

// checkCross evaluates one travel by brute force and through indexes of
// several cell sizes, in both directions, and fails unless all agree with
// want.
func checkCross(t *testing.T, name string, p, q Vec, a, b []Vec, eps float64, want bool) {
	t.Helper()
	for _, dir := range [2][2]Vec{{p, q}, {q, p}} {
		if got := TravelCrosses(dir[0], dir[1], a, b, eps); got != want {
			t.Errorf("%s: TravelCrosses(%v→%v) = %v, want %v", name, dir[0], dir[1], got, want)
		}
		for _, cell := range []float64{0, 0.5, 1, 5, 100} {
			var idx SegIndex
			idx.Build(a, b, cell)
			if got := idx.Crosses(dir[0], dir[1], eps, nil); got != want {
				t.Errorf("%s: index (cell %g) %v→%v = %v, want %v", name, cell, dir[0], dir[1], got, want)
			}
		}
	}
}

// ring returns the closed polygon's edges.
func ring(pts ...Vec) (a, b []Vec) { return loopSegs(nil, nil, pts...) }

func polySegs(pts ...Vec) (a, b []Vec) {
	for i := 0; i+1 < len(pts); i++ {
		a = append(a, pts[i])
		b = append(b, pts[i+1])
	}
	return a, b
}

func joinSegs(parts ...[2][]Vec) (a, b []Vec) {
	for _, s := range parts {
		a = append(a, s[0]...)
		b = append(b, s[1]...)
	}
	return a, b
}

func pair(a, b []Vec) [2][]Vec { return [2][]Vec{a, b} }

// TestTravelCrossesCases pins the crossing rule (cross.go) on the
// geometric cases it distinguishes.
func TestTravelCrossesCases(t *testing.T) {
	square := pair(ring(Vec{0, 0}, Vec{10, 0}, Vec{10, 10}, Vec{0, 10}))
	diamond := pair(ring(Vec{0, 5}, Vec{5, 0}, Vec{10, 5}, Vec{5, 10}))
	ell := pair(ring(Vec{0, 0}, Vec{10, 0}, Vec{10, 5}, Vec{5, 5}, Vec{5, 10}, Vec{0, 10}))
	stairs := pair(polySegs(Vec{0, -5}, Vec{0, 0}, Vec{10, 0}, Vec{10, 5}))
	bump := pair(polySegs(Vec{0, 5}, Vec{0, 0}, Vec{10, 0}, Vec{10, 5}))
	square2 := pair(ring(Vec{10, 10}, Vec{20, 10}, Vec{20, 20}, Vec{10, 20}))
	// The square's edges, reversed and in another order: the rule does not
	// depend on orientation or order.
	sqA, sqB := square[0], square[1]
	revSquare := pair(slices.Clone(sqB), slices.Clone(sqA))
	slices.Reverse(revSquare[0])
	slices.Reverse(revSquare[1])
	// The square's bottom-right corner split into pieces meeting 0.4 µm
	// apart (within eps): one contact.
	nearlyJoined := pair([]Vec{{5, -5}, {5.0004, 0}}, []Vec{{5, 0}, {5.0004, 5}})
	apart := pair([]Vec{{5, -5}, {5.002, 0}}, []Vec{{5, 0}, {5.002, 5}})
	off := func(dy float64) [2][]Vec { return pair(polySegs(Vec{5, -5}, Vec{5, dy}, Vec{5, 5})) }
	cases := []struct {
		name string
		p, q Vec
		segs [2][]Vec
		want bool
	}{
		{"through an edge", Vec{5, 5}, Vec{15, 5}, square, true},
		{"inside only", Vec{2, 2}, Vec{8, 7}, square, false},
		{"outside only", Vec{12, 2}, Vec{18, 7}, square, false},
		{"corner, inside to outside", Vec{5, 5}, Vec{15, 15}, square, true},
		{"corner, reversed edges", Vec{5, 5}, Vec{15, 15}, revSquare, true},
		{"symmetry axis through two vertices", Vec{-5, 5}, Vec{15, 5}, diamond, true},
		{"axis from inside through one vertex", Vec{5, 5}, Vec{15, 5}, diamond, true},
		{"grazing a corner from outside", Vec{20, 0}, Vec{0, 20}, square, false},
		{"grazing a diamond's tip", Vec{-5, 10}, Vec{15, 10}, diamond, false},
		{"reflex vertex, staying inside", Vec{3, 7}, Vec{7, 3}, ell, false},
		{"reflex vertex, leaving into the notch", Vec{2, 2}, Vec{8, 8}, ell, true},
		{"from a seam vertex inwards", Vec{10, 10}, Vec{5, 5}, square, false},
		{"from a seam vertex outwards", Vec{10, 10}, Vec{20, 20}, square, false},
		{"seam to seam across the inside", Vec{0, 0}, Vec{10, 10}, square, false},
		{"seam through the opposite corner", Vec{0, 0}, Vec{20, 20}, square, true},
		{"seam to seam along an edge", Vec{0, 0}, Vec{10, 0}, square, false},
		{"along a wall, both ends up", Vec{-5, 0}, Vec{15, 0}, bump, false},
		{"along a wall of the square", Vec{-5, 0}, Vec{15, 0}, square, false},
		{"along a wall, switching sides", Vec{-5, 0}, Vec{15, 0}, stairs, true},
		{"along a wall from the start", Vec{0, 0}, Vec{15, 0}, stairs, false},
		{"along a wall to the end", Vec{-5, 0}, Vec{10, 0}, stairs, false},
		{"open wall's end", Vec{0, 5}, Vec{10, 5}, pair(polySegs(Vec{5, 0}, Vec{5, 5})), false},
		{"wall's end beyond the travel", Vec{0, 5}, Vec{10, 5}, pair(polySegs(Vec{12, 0}, Vec{12, 5}, Vec{13, 9})), false},
		{"between two touching squares (diagonal)", Vec{5, 5}, Vec{15, 15}, pair(joinSegs(square, square2)), true},
		{"between two touching corners", Vec{5, 15}, Vec{15, 5}, pair(joinSegs(square, square2)), true},
		{"vertex 0.3 µm off the line", Vec{0, 0}, Vec{10, 0}, off(0.0003), true},
		{"vertex 0.3 µm below the line", Vec{0, 0}, Vec{10, 0}, off(-0.0003), true},
		{"vertex 1 µm off (a proper crossing)", Vec{0, 0}, Vec{10, 0}, off(0.001), true},
		{"vertex at the end (within eps)", Vec{0, 0}, Vec{5.0003, 0}, off(0), false},
		{"vertex 1 µm before the end", Vec{0, 0}, Vec{5.001, 0}, off(0), true},
		{"vertex within eps of the start", Vec{4.9996, 0}, Vec{10, 0}, off(0), false},
		{"two wall ends within eps", Vec{0, 0}, Vec{10, 0}, nearlyJoined, true},
		{"two wall ends 2 µm apart", Vec{0, 0}, Vec{10, 0}, apart, false},
		{"degenerate travel", Vec{5, 0}, Vec{5, 0}, off(0), false},
		{"zero-length segment on the line", Vec{0, 0}, Vec{10, 0}, pair([]Vec{{5, 0}, {5, 0}}, []Vec{{5, 0}, {5, 5}}), false},
		{"duplicated wall, crossed at a vertex", Vec{0, 0}, Vec{10, 0}, pair(joinSegs(off(0), off(0))), true},
	}
	for _, c := range cases {
		checkCross(t, c.name, c.p, c.q, c.segs[0], c.segs[1], crossEps, c.want)
	}
}

// ipt is a lattice point (the exact oracles' coordinates).
type ipt [2]int64

func (a ipt) sub(b ipt) ipt { return ipt{a[0] - b[0], a[1] - b[1]} }
func icross(a, b ipt) int64 { return a[0]*b[1] - a[1]*b[0] }
func idot(a, b ipt) int64   { return a[0]*b[0] + a[1]*b[1] }

type exactContact struct {
	t0, t1      *big.Rat // parameters along p→q, 0 at p and 1 at q
	left, right bool
	transversal bool // a segment crossing the travel's line at an interior point of the segment
}

// exactContacts lists, exactly, where the closed travel p→q meets each
// segment: a point (a crossing, with perimeter on both sides; an endpoint
// on the travel, with the side of the other end) or a collinear interval.
// Independent of cross.go: integer orientations and rational parameters,
// no tolerance, transversal crossings as contacts instead of ProperCross.
func exactContacts(p, q ipt, segs [][2]ipt) []exactContact {
	d := q.sub(p)
	dd := idot(d, d)
	par := func(x ipt) *big.Rat { return big.NewRat(idot(x.sub(p), d), dd) }
	in01 := func(r *big.Rat) bool { return r.Sign() >= 0 && r.Cmp(big.NewRat(1, 1)) <= 0 }
	var out []exactContact
	for _, s := range segs {
		a, b := s[0], s[1]
		if a == b {
			continue
		}
		oa, ob := icross(d, a.sub(p)), icross(d, b.sub(p))
		switch {
		case oa > 0 && ob > 0, oa < 0 && ob < 0:
		case oa == 0 && ob == 0:
			t0, t1 := par(a), par(b)
			if t0.Cmp(t1) > 0 {
				t0, t1 = t1, t0
			}
			if t1.Sign() < 0 || t0.Cmp(big.NewRat(1, 1)) > 0 {
				continue
			}
			out = append(out, exactContact{t0: t0, t1: t1})
		case oa == 0 || ob == 0:
			on, other := a, ob
			if ob == 0 {
				on, other = b, oa
			}
			if t0 := par(on); in01(t0) {
				out = append(out, exactContact{t0: t0, t1: t0, left: other > 0, right: other < 0})
			}
		default: // strictly opposite sides: meets the line at a + (b−a)·oa/(oa−ob)
			// t = ((a−p)·d + oa/(oa−ob)·(b−a)·d) / dd
			f := big.NewRat(oa, oa-ob)
			num := new(big.Rat).Mul(f, big.NewRat(idot(b.sub(a), d), 1))
			num.Add(num, big.NewRat(idot(a.sub(p), d), 1))
			tt := num.Quo(num, big.NewRat(dd, 1))
			if in01(tt) {
				out = append(out, exactContact{t0: tt, t1: tt, left: true, right: true, transversal: true})
			}
		}
	}
	slices.SortFunc(out, func(x, y exactContact) int { return x.t0.Cmp(y.t0) })
	return out
}

// exactCross is the crossing rule without tolerance: a transversal
// crossing strictly inside (0, 1), or a group of touching contacts strictly
// inside (0, 1) with perimeter on both sides.
func exactCross(p, q ipt, segs [][2]ipt) bool {
	c := exactContacts(p, q, segs)
	one := big.NewRat(1, 1)
	for _, x := range c {
		if x.transversal && x.t0.Sign() > 0 && x.t0.Cmp(one) < 0 {
			return true
		}
	}
	for i := 0; i < len(c); {
		g0, g1 := c[i].t0, c[i].t1
		var l, r bool
		j := i
		for ; j < len(c) && c[j].t0.Cmp(g1) <= 0; j++ {
			if c[j].t1.Cmp(g1) > 0 {
				g1 = c[j].t1
			}
			l, r = l || c[j].left, r || c[j].right
		}
		if l && r && g0.Sign() > 0 && g1.Cmp(one) < 0 {
			return true
		}
		i = j
	}
	return false
}

// regionCross is the meaning the rule is for, on closed, pairwise disjoint
// simple loops: the travel crosses when two consecutive stretches of it
// that touch no perimeter lie inside different sets of loops (even-odd
// point-in-polygon at each stretch's midpoint, in rationals).
func regionCross(p, q ipt, loops [][]ipt) bool {
	var segs [][2]ipt
	for _, l := range loops {
		for i := range l {
			segs = append(segs, [2]ipt{l[i], l[(i+1)%len(l)]})
		}
	}
	c := exactContacts(p, q, segs)
	// Free stretches: the gaps of (0, 1) between the merged contacts.
	var gaps [][2]*big.Rat
	cur := big.NewRat(0, 1)
	for i := 0; i < len(c); {
		g0, g1 := c[i].t0, c[i].t1
		j := i
		for ; j < len(c) && c[j].t0.Cmp(g1) <= 0; j++ {
			if c[j].t1.Cmp(g1) > 0 {
				g1 = c[j].t1
			}
		}
		if g0.Cmp(cur) > 0 {
			gaps = append(gaps, [2]*big.Rat{cur, g0})
		}
		if g1.Cmp(cur) > 0 {
			cur = g1
		}
		i = j
	}
	if one := big.NewRat(1, 1); cur.Cmp(one) < 0 {
		gaps = append(gaps, [2]*big.Rat{cur, one})
	}
	sig := func(t *big.Rat) uint64 {
		x := new(big.Rat).Add(big.NewRat(p[0], 1), new(big.Rat).Mul(t, big.NewRat(q[0]-p[0], 1)))
		y := new(big.Rat).Add(big.NewRat(p[1], 1), new(big.Rat).Mul(t, big.NewRat(q[1]-p[1], 1)))
		var m uint64
		for li, l := range loops {
			inside := false
			for i := range l {
				a, b := l[i], l[(i+1)%len(l)]
				ay, by := big.NewRat(a[1], 1), big.NewRat(b[1], 1)
				if (ay.Cmp(y) > 0) == (by.Cmp(y) > 0) {
					continue
				}
				// x of the edge at y: a.x + (y − a.y)(b.x − a.x)/(b.y − a.y)
				xi := new(big.Rat).Sub(y, ay)
				xi.Mul(xi, big.NewRat(b[0]-a[0], b[1]-a[1]))
				xi.Add(xi, big.NewRat(a[0], 1))
				if x.Cmp(xi) < 0 {
					inside = !inside
				}
			}
			if inside {
				m |= 1 << li
			}
		}
		return m
	}
	for i := 1; i < len(gaps); i++ {
		m0 := new(big.Rat).Add(gaps[i-1][0], gaps[i-1][1])
		m1 := new(big.Rat).Add(gaps[i][0], gaps[i][1])
		m0.Quo(m0, big.NewRat(2, 1))
		m1.Quo(m1, big.NewRat(2, 1))
		if sig(m0) != sig(m1) {
			return true
		}
	}
	return false
}

// randomLoops places disjoint simple lattice polygons in a 4×4 arrangement
// of 12-unit slots: rectangles (some with a hole), diamonds (some with a
// concentric inner diamond), L shapes, hexagons and convex hulls.
func randomLoops(rng *rand.Rand) [][]ipt {
	var loops [][]ipt
	for sx := int64(0); sx < 4; sx++ {
		for sy := int64(0); sy < 4; sy++ {
			if rng.IntN(5) == 0 {
				continue
			}
			ox, oy := sx*12+1, sy*12+1 // the slot's usable box is [ox, ox+10]²
			switch rng.IntN(5) {
			case 0:
				x0, y0 := ox+rng.Int64N(3), oy+rng.Int64N(3)
				x1, y1 := ox+7+rng.Int64N(4), oy+7+rng.Int64N(4)
				loops = append(loops, []ipt{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}})
				if rng.IntN(2) == 0 {
					loops = append(loops, []ipt{{x0 + 2, y0 + 2}, {x0 + 2, y1 - 2}, {x1 - 2, y1 - 2}, {x1 - 2, y0 + 2}})
				}
			case 1:
				r := 3 + rng.Int64N(3)
				cx, cy := ox+5, oy+5
				loops = append(loops, []ipt{{cx - r, cy}, {cx, cy - r}, {cx + r, cy}, {cx, cy + r}})
				if rng.IntN(2) == 0 {
					r2 := 1 + rng.Int64N(r-1)
					loops = append(loops, []ipt{{cx - r2, cy}, {cx, cy + r2}, {cx + r2, cy}, {cx, cy - r2}})
				}
			case 2:
				a, b := 3+rng.Int64N(4), 3+rng.Int64N(4)
				loops = append(loops, []ipt{{ox, oy}, {ox + 10, oy}, {ox + 10, oy + a}, {ox + b, oy + a}, {ox + b, oy + 10}, {ox, oy + 10}})
			case 3:
				cx, cy := ox+5, oy+5
				loops = append(loops, []ipt{{cx - 4, cy}, {cx - 2, cy - 4}, {cx + 2, cy - 4}, {cx + 4, cy}, {cx + 2, cy + 4}, {cx - 2, cy + 4}})
			default:
				var pts []ipt
				for range 6 + rng.IntN(6) {
					pts = append(pts, ipt{ox + rng.Int64N(11), oy + rng.Int64N(11)})
				}
				if h := hull(pts); len(h) >= 3 {
					loops = append(loops, h)
				}
			}
		}
	}
	return loops
}

// hull is the convex hull (monotone chain), strictly convex vertices only.
func hull(pts []ipt) []ipt {
	slices.SortFunc(pts, func(a, b ipt) int {
		if a[0] != b[0] {
			return int(a[0] - b[0])
		}
		return int(a[1] - b[1])
	})
	pts = slices.Compact(pts)
	if len(pts) < 3 {
		return nil
	}
	var h []ipt
	for pass := 0; pass < 2; pass++ {
		start := len(h)
		for _, p := range pts {
			for len(h) >= start+2 && icross(h[len(h)-1].sub(h[len(h)-2]), p.sub(h[len(h)-2])) <= 0 {
				h = h[:len(h)-1]
			}
			h = append(h, p)
		}
		h = h[:len(h)-1]
		slices.Reverse(pts)
	}
	return h
}

// randomTravel picks a travel that often runs through vertices: from a
// vertex or lattice point through another vertex, reflected through a
// centre, or between random points and vertices.
func randomTravel(rng *rand.Rand, verts []ipt, loops [][]ipt) (ipt, ipt) {
	lat := func() ipt { return ipt{rng.Int64N(50) - 1, rng.Int64N(50) - 1} }
	vert := func() ipt { return verts[rng.IntN(len(verts))] }
	for {
		var p, q ipt
		c := rng.IntN(5)
		if len(loops) > 0 && rng.IntN(2) == 0 {
			c = 5
		}
		switch c {
		case 5: // through two vertices of one loop, a few lattice steps beyond
			l := loops[rng.IntN(len(loops))]
			v, w := l[rng.IntN(len(l))], l[rng.IntN(len(l))]
			d := w.sub(v)
			g := gcd(abs64(d[0]), abs64(d[1]))
			if g == 0 {
				continue
			}
			k1, k2 := rng.Int64N(4), rng.Int64N(4)
			p = ipt{v[0] - d[0]/g*k1, v[1] - d[1]/g*k1}
			q = ipt{w[0] + d[0]/g*k2, w[1] + d[1]/g*k2}
		case 0: // through a vertex, extended beyond it by lattice steps
			v := vert()
			p = lat()
			if rng.IntN(2) == 0 {
				p = vert()
			}
			d := v.sub(p)
			g := gcd(abs64(d[0]), abs64(d[1]))
			if g == 0 {
				continue
			}
			k := 1 + rng.Int64N(6)
			q = ipt{v[0] + d[0]/g*k, v[1] + d[1]/g*k}
		case 1: // a vertex reflected through another
			v, w := vert(), vert()
			p, q = v, ipt{2*w[0] - v[0], 2*w[1] - v[1]}
		case 2:
			p, q = vert(), vert()
		case 3:
			p, q = lat(), vert()
		default:
			p, q = lat(), lat()
		}
		if p != q {
			return p, q
		}
	}
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func toVec(p ipt, scale float64, off Vec) Vec {
	return Vec{float64(p[0])*scale + off[0], float64(p[1])*scale + off[1]}
}

// TestTravelCrossesExact holds TravelCrosses and the index to two
// independent exact answers on random lattice layers: the rule evaluated
// in integers and rationals without tolerance (exactCross), and, on
// disjoint closed loops, its meaning (regionCross: the set of loops the
// travel is in changes). Coordinates are lattice units of 1 mm and, to
// exercise the tolerances, of 0.4 mm shifted to (100.05, 37.3) mm, where
// the lattice's distances off a line (≥ 0.007 mm) are far beyond eps and
// on-line distances are rounding (≈ 1e-14 mm).
func TestTravelCrossesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 1))
	layouts := []struct {
		scale float64
		off   Vec
	}{{1, Vec{}}, {0.4, Vec{100.05, 37.3}}}
	var total, vertexOnly, positives int
	for layer := range 60 {
		loops := randomLoops(rng)
		var segs [][2]ipt
		var verts []ipt
		for _, l := range loops {
			verts = append(verts, l...)
			for i := range l {
				segs = append(segs, [2]ipt{l[i], l[(i+1)%len(l)]})
			}
		}
		if len(segs) == 0 {
			continue
		}
		idx := make([]SegIndex, len(layouts))
		A := make([][]Vec, len(layouts))
		B := make([][]Vec, len(layouts))
		for k, lay := range layouts {
			for _, s := range segs {
				A[k] = append(A[k], toVec(s[0], lay.scale, lay.off))
				B[k] = append(B[k], toVec(s[1], lay.scale, lay.off))
			}
			// Cells of one lattice unit (every vertex on a cell corner) or
			// picked from the segments.
			cell := 0.0
			if layer%2 == 0 {
				cell = lay.scale
			}
			idx[k].Build(A[k], B[k], cell)
		}
		for range 150 {
			p, q := randomTravel(rng, verts, loops)
			want := exactCross(p, q, segs)
			if r := regionCross(p, q, loops); r != want {
				t.Fatalf("layer %d travel %v→%v: rule %v, regions %v (loops %v)", layer, p, q, want, r, loops)
			}
			total++
			if want {
				positives++
			}
			for k, lay := range layouts {
				pv, qv := toVec(p, lay.scale, lay.off), toVec(q, lay.scale, lay.off)
				eps := crossEps * lay.scale
				if got := TravelCrosses(pv, qv, A[k], B[k], eps); got != want {
					t.Fatalf("layer %d travel %v→%v (scale %g): TravelCrosses %v, exact %v", layer, p, q, lay.scale, got, want)
				}
				if got := idx[k].Crosses(qv, pv, eps, nil); got != want {
					t.Fatalf("layer %d travel %v→%v (scale %g): index %v, exact %v", layer, q, p, lay.scale, got, want)
				}
				if k == 0 && want {
					proper := false
					for i := range A[k] {
						proper = proper || ProperCross(pv, qv, A[k][i], B[k][i], eps)
					}
					if !proper {
						vertexOnly++
					}
				}
			}
		}
	}
	t.Logf("%d travels, %d crossing, %d of them only through vertices or along walls", total, positives, vertexOnly)
	if vertexOnly < total/20 || positives > total*9/10 {
		t.Fatalf("weak sample: %d travels, %d crossing, %d through vertices only", total, positives, vertexOnly)
	}
}

// TestTravelCrossesSegmentSoup: open lattice polylines that share
// vertices, overlap collinearly, touch and cross (not loops, so only the
// exact rule applies), against exactCross; and the index, with random
// keep filters and cell sizes, against TravelCrosses over the kept
// segments.
func TestTravelCrossesSegmentSoup(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 2))
	var total, positives int
	for layer := range 80 {
		var segs [][2]ipt
		for range 3 + rng.IntN(10) {
			cur := ipt{rng.Int64N(21), rng.Int64N(21)}
			for range 1 + rng.IntN(8) {
				next := ipt{min(max(cur[0]+rng.Int64N(9)-4, 0), 20), min(max(cur[1]+rng.Int64N(9)-4, 0), 20)}
				if rng.IntN(3) == 0 { // axis-parallel steps: collinear runs
					next[rng.IntN(2)] = cur[rng.IntN(2)]
				}
				segs = append(segs, [2]ipt{cur, next})
				cur = next
			}
		}
		var verts []ipt
		for _, s := range segs {
			verts = append(verts, s[0], s[1])
		}
		scale, off := 1.0, Vec{}
		if layer%2 == 1 {
			scale, off = 0.4, Vec{-12.3, 250.01}
		}
		var A, B []Vec
		for _, s := range segs {
			A = append(A, toVec(s[0], scale, off))
			B = append(B, toVec(s[1], scale, off))
		}
		var idx SegIndex
		cell := []float64{0, scale, 3 * scale, 0.37}[layer%4]
		idx.Build(A, B, cell)
		keepSet := make([]bool, len(A))
		for i := range keepSet {
			keepSet[i] = rng.IntN(4) != 0
		}
		keep := func(i int32) bool { return keepSet[i] }
		var kA, kB []Vec
		var kSegs [][2]ipt
		for i := range A {
			if keepSet[i] {
				kA, kB = append(kA, A[i]), append(kB, B[i])
				kSegs = append(kSegs, segs[i])
			}
		}
		var w SegQuery
		for range 120 {
			p, q := randomTravel(rng, verts, nil)
			pv, qv := toVec(p, scale, off), toVec(q, scale, off)
			eps := crossEps * scale
			want := exactCross(p, q, segs)
			total++
			if want {
				positives++
			}
			if got := TravelCrosses(pv, qv, A, B, eps); got != want {
				t.Fatalf("layer %d travel %v→%v: TravelCrosses %v, exact %v (segments %v)", layer, p, q, got, want, segs)
			}
			if got := idx.Crosses(pv, qv, eps, nil); got != want {
				t.Fatalf("layer %d travel %v→%v: index %v, exact %v", layer, p, q, got, want)
			}
			wantK := exactCross(p, q, kSegs)
			if got := TravelCrosses(qv, pv, kA, kB, eps); got != wantK {
				t.Fatalf("layer %d travel %v→%v, kept segments: TravelCrosses %v, exact %v", layer, p, q, got, wantK)
			}
			if got := idx.CrossesWith(&w, qv, pv, eps, keep); got != wantK {
				t.Fatalf("layer %d travel %v→%v, kept segments: index %v, exact %v", layer, q, p, got, wantK)
			}
		}
	}
	if positives < total/10 || positives > total*9/10 {
		t.Fatalf("weak sample: %d of %d travels cross", positives, total)
	}
}

// TestSegIndexCrossesFloat holds the index to TravelCrosses on float
// layers with shared vertices at arbitrary coordinates (polylines of
// random steps, closed rings), travels from vertex to vertex and through
// vertices, and grids whose cell boundaries run through vertices.
func TestSegIndexCrossesFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 3))
	for layer := range 40 {
		var A, B []Vec
		var verts []Vec
		for range 5 + rng.IntN(20) {
			cur := Vec{rng.Float64()*80 - 40, rng.Float64()*80 - 40}
			first := cur
			n := 2 + rng.IntN(12)
			for s := range n {
				next := Vec{cur[0] + rng.NormFloat64()*4, cur[1] + rng.NormFloat64()*4}
				if s == n-1 && rng.IntN(2) == 0 {
					next = first // a closed ring
				}
				A, B = append(A, cur), append(B, next)
				verts = append(verts, cur)
				cur = next
			}
		}
		var idx SegIndex
		cell := 0.0
		if layer%3 == 1 {
			cell = 0.2 + rng.Float64()*5
		}
		idx.Build(A, B, cell)
		for range 300 {
			var p, q Vec
			v, w := verts[rng.IntN(len(verts))], verts[rng.IntN(len(verts))]
			switch rng.IntN(3) {
			case 0:
				p, q = v, w
			case 1: // through w, beyond it
				p, q = v, Vec{2*w[0] - v[0], 2*w[1] - v[1]}
			default:
				p, q = Vec{rng.Float64()*100 - 50, rng.Float64()*100 - 50}, w
			}
			for _, eps := range []float64{crossEps, 0, 0.05} {
				want := TravelCrosses(p, q, A, B, eps)
				if got := idx.Crosses(p, q, eps, nil); got != want {
					t.Fatalf("layer %d travel %v→%v eps %g: index %v, brute force %v", layer, p, q, eps, got, want)
				}
				if TravelCrosses(q, p, A, B, eps) != want {
					t.Fatalf("layer %d travel %v→%v eps %g: not symmetric", layer, p, q, eps)
				}
			}
		}
	}
}

// BenchmarkSegIndexCrosses: queries between the vertices of a layer of
// 40 polygons of 24–96 vertices (the run search's pattern: travels from
// seam to seam, most touching perimeter vertices at their ends).
func BenchmarkSegIndexCrosses(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	var A, B, verts []Vec
	for range 40 {
		c := Vec{rng.Float64() * 150, rng.Float64() * 150}
		r := 2 + rng.Float64()*10
		A, B = circleSegs(A, B, c, r, 24+rng.IntN(72))
	}
	verts = append(verts, A...)
	var idx SegIndex
	idx.Build(A, B, 0)
	qs := make([][2]Vec, 4096)
	for i := range qs {
		qs[i] = [2]Vec{verts[rng.IntN(len(verts))], verts[rng.IntN(len(verts))]}
		if i%4 == 0 { // short hops
			v := verts[rng.IntN(len(verts))]
			qs[i] = [2]Vec{v, {v[0] + rng.NormFloat64()*5, v[1] + rng.NormFloat64()*5}}
		}
	}
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		q := qs[i%len(qs)]
		if idx.Crosses(q[0], q[1], crossEps, nil) {
			n++
		}
	}
	_ = n
}

// TestBandCoversNearbyPoints: every point within m (Euclidean) of a query
// segment, including points on cell boundaries and corners and outside the
// segment's span, has its cell (gridCell, as Build assigns) in band.
func TestBandCoversNearbyPoints(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 4))
	for trial := range 300 {
		var A, B []Vec
		for range 1 + rng.IntN(30) {
			p := Vec{rng.Float64() * 60, rng.Float64() * 40}
			A = append(A, p)
			B = append(B, Vec{p[0] + rng.NormFloat64()*5, p[1] + rng.NormFloat64()*5})
		}
		var s SegIndex
		cell := []float64{0, 0.5, 1, 3.7}[trial%4]
		s.Build(A, B, cell)
		m := []float64{0, 1e-3, 0.05, 0.6}[rng.IntN(4)]
		var p, q Vec
		switch rng.IntN(3) {
		case 0: // random
			p, q = Vec{rng.Float64()*80 - 10, rng.Float64()*60 - 10}, Vec{rng.Float64()*80 - 10, rng.Float64()*60 - 10}
		case 1: // along a cell boundary row or column
			y := s.minY + float64(rng.IntN(s.ny+1))*s.cell
			p, q = Vec{rng.Float64() * 60, y}, Vec{rng.Float64() * 60, y}
			if rng.IntN(2) == 0 {
				p, q = Vec{p[1], p[0]}, Vec{q[1], q[0]}
			}
		default: // corner to corner
			corner := func() Vec {
				return Vec{s.minX + float64(rng.IntN(s.nx+1))*s.cell, s.minY + float64(rng.IntN(s.ny+1))*s.cell}
			}
			p, q = corner(), corner()
		}
		cells := s.band(p, q, m+bandSlackMM, nil)
		in := map[int32]bool{}
		for _, c := range cells {
			if in[c] {
				t.Fatalf("trial %d: cell %d listed twice", trial, c)
			}
			in[c] = true
		}
		d := q.sub(p)
		for range 400 {
			u := rng.Float64()
			w := Vec{p[0] + d[0]*u, p[1] + d[1]*u}
			if rng.IntN(4) == 0 { // an end
				w = [2]Vec{p, q}[rng.IntN(2)]
			}
			r := m * rng.Float64()
			if rng.IntN(3) == 0 {
				r = m
			}
			a := rng.Float64() * 6.3
			z := Vec{w[0] + r*math.Cos(a), w[1] + r*math.Sin(a)}
			if z[0] < s.minX || z[1] < s.minY || z[0] > s.minX+float64(s.nx)*s.cell || z[1] > s.minY+float64(s.ny)*s.cell {
				continue // no indexed point lies outside the grid
			}
			ix, iy := s.cellOf(z)
			if !in[int32(iy*s.nx+ix)] {
				t.Fatalf("trial %d: point %v within %g of %v→%v: cell (%d,%d) not in band", trial, z, m, p, q, ix, iy)
			}
		}
	}
}
