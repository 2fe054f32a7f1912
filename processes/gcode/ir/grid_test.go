package ir

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// TestPointGridBruteForce checks knn and nearest against a brute-force
// scan on clustered, collinear, duplicated and sparse point sets, with
// points removed and queries outside the grid: the same distances (at the
// k-th place, points at equal distance are taken in scan order), and the
// very same points as the versions with the plain ring bound (knnRef,
// nearestRef, the code before ringSlack), on which the plans depend.
func TestPointGridBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	type cand struct {
		d float64
		j int32
	}
	brute := func(pts []Vec, alive []bool, q Vec, except int32) []cand {
		var cs []cand
		for j, p := range pts {
			if int32(j) == except || !alive[j] {
				continue
			}
			cs = append(cs, cand{dist(q, p), int32(j)})
		}
		sort.Slice(cs, func(a, b int) bool { return cs[a].d < cs[b].d || cs[a].d == cs[b].d && cs[a].j < cs[b].j })
		return cs
	}
	for trial := range 120 {
		n := 1 + rng.IntN(400)
		pts := make([]Vec, n)
		scale := math.Pow(10, float64(rng.IntN(5))-1)
		for i := range pts {
			switch rng.IntN(4) {
			case 0: // on a grid of 0.1 mm (exact ties)
				pts[i] = Vec{float64(rng.IntN(30)) * 0.1 * scale, float64(rng.IntN(30)) * 0.1 * scale}
			case 1: // on a line
				x := rng.Float64() * 100 * scale
				pts[i] = Vec{x, 3 + 0.5*x}
			case 2: // duplicate
				if i > 0 {
					pts[i] = pts[rng.IntN(i)]
					break
				}
				fallthrough
			default:
				pts[i] = Vec{rng.NormFloat64() * 20 * scale, rng.NormFloat64() * 5 * scale}
			}
		}
		var g pointGrid
		g.build(pts)
		k := 1 + rng.IntN(12)
		for i := range pts {
			got := g.knn(int32(i), k, nil)
			want := brute(pts, g.alive, pts[i], int32(i))
			want = want[:min(k, len(want))]
			if len(got) != len(want) {
				t.Fatalf("trial %d: knn(%d, %d): %d points, want %d", trial, i, k, len(got), len(want))
			}
			ref := g.knnRef(int32(i), k, nil)
			for r := range got {
				if got[r] != ref[r] {
					t.Fatalf("trial %d: knn(%d, %d)[%d] = %d, reference %d", trial, i, k, r, got[r], ref[r])
				}
				if d := dist(pts[i], pts[got[r]]); d != want[r].d {
					t.Fatalf("trial %d: knn(%d, %d)[%d] at %v, want %v", trial, i, k, r, d, want[r].d)
				}
			}
			for r := range got {
				if r == len(got)-1 || want[r].d == want[len(want)-1].d {
					break // ties at the k-th distance: scan order
				}
				if got[r] != want[r].j {
					t.Fatalf("trial %d: knn(%d, %d)[%d] = %d (d %v), want %d (d %v); pts %v %v %v cell %v", trial, i, k, r, got[r], dist(pts[i], pts[got[r]]), want[r].j, want[r].d, pts[i], pts[got[r]], pts[want[r].j], g.cell)
				}
			}
		}
		// Remove some points (nearest re-indexes when few are left).
		for i := range pts {
			if rng.IntN(3) > 0 {
				g.remove(int32(i))
			}
		}
		for range 50 {
			var q Vec
			if rng.IntN(4) == 0 { // anywhere, often outside the grid
				q = Vec{(rng.Float64()*400 - 200) * scale, (rng.Float64()*400 - 200) * scale}
			} else {
				q = pts[rng.IntN(n)]
			}
			except := int32(rng.IntN(n+1) - 1)
			got := g.nearest(q, except)
			want := brute(pts, g.alive, q, except)
			w := int32(-1)
			if len(want) > 0 {
				w = want[0].j
			}
			if ref := g.nearestRef(q, except); got != ref {
				t.Fatalf("trial %d: nearest(%v, except %d) = %d, reference %d", trial, q, except, got, ref)
			}
			if got != w {
				t.Fatalf("trial %d: nearest(%v, except %d) = %d, want %d", trial, q, except, got, w)
			}
		}
	}
}

func (g *pointGrid) knnRef(i int32, k int, out []int32) []int32 {
	k = min(k, 32)
	if g.nAlive == 0 || k <= 0 {
		return out
	}
	q := g.pts[i]
	cx, cy := g.cellXY(q)
	allAlive := g.nAlive == len(g.pts)
	type cand struct {
		d, d2 float64 // distance, and the square it was computed from
		j     int32
	}
	var buf [32]cand
	cs := buf[:0]
	for r := 0; ; r++ {
		if len(cs) >= k && (float64(r)-1)*g.cell > cs[len(cs)-1].d {
			break
		}
		if r > 0 && g.outside(cx, cy, r-1) {
			break
		}
		var buf [64]int32
		for _, c := range g.ringCells(cx, cy, r, buf[:0]) {
			lo, hi := g.start[c], g.start[c+1]
			for s, j := range g.items[lo:hi] {
				if j == i || !allAlive && !g.alive[j] {
					continue
				}
				pj := &g.cpts[int(lo)+s]
				dx, dy := q[0]-pj[0], q[1]-pj[1]
				d2 := dx*dx + dy*dy
				// d2 > worst² implies √d2 ≥ worst (√ is monotone): skip
				// without the square root.
				if len(cs) == k && d2 > cs[len(cs)-1].d2 {
					continue
				}
				d := math.Sqrt(d2)
				if len(cs) == k && d >= cs[len(cs)-1].d {
					continue
				}
				if len(cs) < k {
					cs = append(cs, cand{})
				}
				p := len(cs) - 1
				for p > 0 && (cs[p-1].d > d || cs[p-1].d == d && cs[p-1].j > j) {
					cs[p] = cs[p-1]
					p--
				}
				cs[p] = cand{d, d2, j}
			}
		}
	}
	for _, c := range cs {
		out = append(out, c.j)
	}
	return out
}

func (g *pointGrid) nearestRef(q Vec, except int32) int32 {
	if g.nAlive == 0 {
		return -1
	}
	if g.nAlive*4 < g.indexed {
		g.index()
	}
	cx, cy := g.cellXY(q)
	best := int32(-1)
	bestD, bestD2 := math.Inf(1), math.Inf(1)
	var buf [64]int32
	for r := 0; ; r++ {
		// Every point in ring r is at least (r−1) cells away.
		if best >= 0 && (float64(r)-1)*g.cell > bestD {
			break
		}
		if r > 0 && g.outside(cx, cy, r-1) {
			break
		}
		cells := g.ringCells(cx, cy, r, buf[:0])
		for _, c := range cells {
			lo, hi := g.start[c], g.start[c+1]
			for s, i := range g.items[lo:hi] {
				if !g.alive[i] || i == except {
					continue
				}
				p := &g.cpts[int(lo)+s]
				dx, dy := q[0]-p[0], q[1]-p[1]
				d2 := dx*dx + dy*dy
				if d2 > bestD2 && i > best {
					continue // √d2 ≥ bestD and no tie-break win
				}
				if d := math.Sqrt(d2); d < bestD || (d == bestD && i < best) {
					bestD, bestD2, best = d, d2, i
				}
			}
		}
	}
	return best
}

// TestRoundHalfAway compares RoundHalfAway with math.Round bit for bit on
// special values, halves, neighbours of halves and random bit patterns.
func TestRoundHalfAway(t *testing.T) {
	xs := []float64{0, math.Copysign(0, -1), 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994,
		1 << 52, 1<<52 - 0.5, -(1<<52 - 0.5), 1 << 53, 1e300, -1e300, math.Inf(1), math.Inf(-1), math.NaN(),
		math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, math.MaxFloat64, 4503599627370495.5}
	rng := rand.New(rand.NewPCG(3, 5))
	for range 200000 {
		xs = append(xs, math.Float64frombits(rng.Uint64()), (rng.Float64()-0.5)*1e6, float64(rng.IntN(2001)-1000)+0.5)
		h := float64(rng.IntN(1<<20)) + 0.5
		xs = append(xs, math.Nextafter(h, 0), math.Nextafter(h, math.Inf(1)), -math.Nextafter(h, 0))
	}
	for _, x := range xs {
		got, want := RoundHalfAway(x), math.Round(x)
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("RoundHalfAway(%v) = %v, math.Round %v", x, got, want)
		}
	}
}
