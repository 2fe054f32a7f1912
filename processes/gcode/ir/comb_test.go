package ir

import (
	"math"
	"math/rand"
	"testing"

	"fabcell/processes/gcode/internal/brute"
)

// loopSegs appends the closed polygon pts as segments.
func loopSegs(a, b []Vec, pts ...Vec) ([]Vec, []Vec) {
	for i := range pts {
		a = append(a, pts[i])
		b = append(b, pts[(i+1)%len(pts)])
	}
	return a, b
}

// circleSegs appends a closed n-gon of radius r around c.
func circleSegs(a, b []Vec, c Vec, r float64, n int) ([]Vec, []Vec) {
	pts := make([]Vec, n)
	for i := range pts {
		t := 2 * math.Pi * float64(i) / float64(n)
		pts[i] = Vec{c[0] + r*math.Cos(t), c[1] + r*math.Sin(t)}
	}
	return loopSegs(a, b, pts...)
}

// checkCombed verifies a combed travel p → ways… → q by brute force over
// every perimeter segment: no leg meets any segment, except that a leg may
// touch segments at the travel's own endpoints p and q (the nozzle may
// start or end on a perimeter): those legs are shortened by 0.01 mm at
// that end first. Every point stays inside [lo, hi].
func checkCombed(t *testing.T, A, B []Vec, lo, hi, p, q Vec, ways []Vec) {
	t.Helper()
	pts := append(append([]Vec{p}, ways...), q)
	for i := 0; i+1 < len(pts); i++ {
		u, v := pts[i], pts[i+1]
		l := math.Hypot(v[0]-u[0], v[1]-u[1])
		if l == 0 {
			continue
		}
		const shrink = 0.01
		if i == 0 {
			u = Vec{u[0] + (v[0]-u[0])*shrink/l, u[1] + (v[1]-u[1])*shrink/l}
		}
		if i+1 == len(pts)-1 {
			v = Vec{v[0] + (pts[i][0]-v[0])*shrink/l, v[1] + (pts[i][1]-v[1])*shrink/l}
		}
		for k := range A {
			if brute.ClosedIntersect(u, v, A[k], B[k]) {
				t.Fatalf("leg %d %v→%v of %v→%v meets perimeter %v→%v", i, pts[i], pts[i+1], p, q, A[k], B[k])
			}
		}
	}
	for _, w := range pts {
		if w[0] < lo[0] || w[0] > hi[0] || w[1] < lo[1] || w[1] > hi[1] {
			t.Fatalf("waypoint %v outside %v–%v", w, lo, hi)
		}
	}
}

func pathLen(p, q Vec, ways []Vec) float64 {
	pts := append(append([]Vec{p}, ways...), q)
	s := 0.0
	for i := 0; i+1 < len(pts); i++ {
		s += dist(pts[i], pts[i+1])
	}
	return s
}

func TestCombAroundHole(t *testing.T) {
	var A, B []Vec
	// A 20 mm square part with a round hole (a nut trap, say): outer wall,
	// hole wall.
	A, B = loopSegs(A, B, Vec{0, 0}, Vec{20, 0}, Vec{20, 20}, Vec{0, 20})
	A, B = circleSegs(A, B, Vec{10, 10}, 3, 48)
	lo, hi := Vec{0, 0}, Vec{20, 20}
	var c Comber
	c.Reset(A, B, lo, hi, 0.2, 1e-3)
	cases := []struct {
		name     string
		p, q     Vec
		want     bool
		straight float64
	}{
		{"across the hole", Vec{5, 10.3}, Vec{15, 10.3}, true, 10},
		{"from the outer wall (on a perimeter)", Vec{0, 10.2}, Vec{20, 10.2}, true, 20},
		{"from a hole-wall vertex to across", Vec{13, 10}, Vec{2, 9.7}, true, 11},
		{"inside the hole to the part", Vec{10, 10}, Vec{2, 10.4}, false, 8},
	}
	for _, tc := range cases {
		if !ProperCrossAny(A, B, tc.p, tc.q) {
			t.Fatalf("%s: the straight travel should cross a perimeter", tc.name)
		}
		ways, l, ok := c.Path(tc.p, tc.q, 3*tc.straight, nil)
		if ok != tc.want {
			t.Fatalf("%s: ok %v, want %v", tc.name, ok, tc.want)
		}
		if !ok {
			continue
		}
		checkCombed(t, A, B, lo, hi, tc.p, tc.q, ways)
		if got := pathLen(tc.p, tc.q, ways); math.Abs(got-l) > 1e-9 {
			t.Fatalf("%s: length %v, path is %v", tc.name, l, got)
		}
		// Around a radius-3 hole the shortest path is 2·√(d²−9) + arc;
		// the pulled raster path must be within 15 % of it.
		if l > tc.straight+3*math.Pi*1.15 || l < tc.straight {
			t.Fatalf("%s: length %.3f for a %.1f mm travel", tc.name, l, tc.straight)
		}
		// Symmetric: the reverse query gives the reverse path.
		rw, rl, rok := c.Path(tc.q, tc.p, 3*tc.straight, nil)
		if !rok || rl != l || len(rw) != len(ways) {
			t.Fatalf("%s: reverse %v %v %d, forward %v %d", tc.name, rok, rl, len(rw), l, len(ways))
		}
		for i := range rw {
			if rw[i] != ways[len(ways)-1-i] {
				t.Fatalf("%s: reverse path differs", tc.name)
			}
		}
		// A detour bound below the path length refuses it.
		if _, _, ok := c.Path(tc.p, tc.q, l*0.9, nil); ok {
			t.Fatalf("%s: path of %.3f mm accepted under a %.3f mm bound", tc.name, l, l*0.9)
		}
	}
}

// ProperCrossAny is the brute-force straight-travel crossing test.
func ProperCrossAny(A, B []Vec, p, q Vec) bool {
	for k := range A {
		if ProperCross(p, q, A[k], B[k], 5e-4) {
			return true
		}
	}
	return false
}

func TestCombImpossible(t *testing.T) {
	var A, B []Vec
	// Two islands; the second has an inner and outer wall (nested loops).
	A, B = loopSegs(A, B, Vec{0, 0}, Vec{10, 0}, Vec{10, 10}, Vec{0, 10})
	A, B = loopSegs(A, B, Vec{20, 0}, Vec{30, 0}, Vec{30, 10}, Vec{20, 10})
	A, B = loopSegs(A, B, Vec{20.45, 0.45}, Vec{29.55, 0.45}, Vec{29.55, 9.55}, Vec{20.45, 9.55})
	// The area leaves 2 mm around the islands (a brim, say).
	lo, hi := Vec{-2, -2}, Vec{32, 12}
	var c Comber
	c.Reset(A, B, lo, hi, 0.2, 1e-3)
	for _, tc := range []struct{ p, q Vec }{
		{Vec{5, 5}, Vec{25, 5}},         // island to island
		{Vec{5, 5}, Vec{15, 5}},         // inside a closed loop to outside
		{Vec{25, 5}, Vec{20.2, 5}},      // inner region into the gap between walls
		{Vec{0, 5}, Vec{25, 5}},         // from a wall into the other island
		{Vec{20.45, 5}, Vec{10.0, 5.0}}, // from the inner wall to the first island's wall
	} {
		if !ProperCrossAny(A, B, tc.p, tc.q) {
			continue
		}
		if ways, _, ok := c.Path(tc.p, tc.q, 1000, nil); ok {
			t.Fatalf("%v→%v: combed through %v, but the endpoints are in different faces", tc.p, tc.q, ways)
		}
	}
	// Outside both islands, wall to wall around the first island: possible
	// (0,5) is on island 1's wall, (20,5) on island 2's outer wall.
	ways, _, ok := c.Path(Vec{0, 5}, Vec{20, 5}, 1000, nil)
	if !ok {
		t.Fatal("wall-to-wall around an island: no path")
	}
	checkCombed(t, A, B, lo, hi, Vec{0, 5}, Vec{20, 5}, ways)
}

// TestCombRandom: random parts (a square with random round holes), random
// point pairs. Every path found is checked by brute force; a pair inside
// the same hole or in the part region with the straight line crossing is
// expected to comb at least sometimes.
func TestCombRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	found, tried := 0, 0
	for trial := 0; trial < 40; trial++ {
		var A, B []Vec
		A, B = loopSegs(A, B, Vec{0, 0}, Vec{40, 0}, Vec{40, 30}, Vec{0, 30})
		type hole struct {
			c Vec
			r float64
		}
		var holes []hole
		for len(holes) < 1+rng.Intn(6) {
			h := hole{Vec{3 + rng.Float64()*34, 3 + rng.Float64()*24}, 0.5 + rng.Float64()*2.5}
			ok := h.c[0]-h.r > 1 && h.c[0]+h.r < 39 && h.c[1]-h.r > 1 && h.c[1]+h.r < 29
			for _, o := range holes {
				if dist(o.c, h.c) < o.r+h.r+1 {
					ok = false
				}
			}
			if ok {
				holes = append(holes, h)
				A, B = circleSegs(A, B, h.c, h.r, 8+rng.Intn(40))
			}
		}
		lo, hi := Vec{0, 0}, Vec{40, 30}
		var c Comber
		c.Reset(A, B, lo, hi, 0.1+rng.Float64()*0.2, 1e-3)
		for k := 0; k < 60; k++ {
			p := Vec{rng.Float64() * 40, rng.Float64() * 30}
			q := Vec{rng.Float64() * 40, rng.Float64() * 30}
			if rng.Intn(4) == 0 { // start on a perimeter vertex
				p = A[rng.Intn(len(A))]
			}
			if !ProperCrossAny(A, B, p, q) {
				continue
			}
			tried++
			ways, l, ok := c.Path(p, q, 4*dist(p, q), nil)
			inHole := func(x Vec) int {
				for i, h := range holes {
					if dist(x, h.c) < h.r*math.Cos(math.Pi/8)-1e-6 {
						return i
					}
				}
				return -1
			}
			if ok {
				found++
				checkCombed(t, A, B, lo, hi, p, q, ways)
				if l > 4*dist(p, q)+1e-9 {
					t.Fatalf("path %.3f over the bound", l)
				}
				if hp, hq := inHole(p), inHole(q); hp != hq {
					t.Fatalf("%v (hole %d) → %v (hole %d) combed", p, hp, q, hq)
				}
			}
		}
	}
	if found < tried/3 {
		t.Fatalf("combed %d of %d crossing travels", found, tried)
	}
	t.Logf("combed %d of %d crossing travels", found, tried)
}

// TestCombLabelsMatchFloodFill holds the run-based component labelling to
// a plain 8-connected flood fill of the free cells on random rasters.
func TestCombLabelsMatchFloodFill(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for trial := 0; trial < 30; trial++ {
		var A, B []Vec
		for i := 0; i < 5+rng.Intn(60); i++ {
			p := Vec{rng.Float64() * 30, rng.Float64() * 20}
			A = append(A, p)
			B = append(B, Vec{p[0] + rng.NormFloat64()*6, p[1] + rng.NormFloat64()*6})
		}
		var c Comber
		c.Reset(A, B, Vec{0, 0}, Vec{30, 20}, 0.1+rng.Float64()*0.5, 1e-3)
		c.build()
		nc := c.nx * c.ny
		ref := make([]int32, nc)
		for k := range ref {
			ref[k] = -2
			if c.start[k] != c.start[k+1] {
				ref[k] = -1
			}
		}
		next := int32(0)
		for k := range ref {
			if ref[k] != -2 {
				continue
			}
			stack := []int{k}
			ref[k] = next
			for len(stack) > 0 {
				n := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				ix, iy := n%c.nx, n/c.nx
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						jx, jy := ix+dx, iy+dy
						if jx >= 0 && jy >= 0 && jx < c.nx && jy < c.ny && ref[jy*c.nx+jx] == -2 {
							ref[jy*c.nx+jx] = next
							stack = append(stack, jy*c.nx+jx)
						}
					}
				}
			}
			next++
		}
		// Same partition: a bijection between labels.
		fwd, back := map[int32]int32{}, map[int32]int32{}
		for k := 0; k < nc; k++ {
			a, b := c.comp[k], ref[k]
			if (a < 0) != (b < 0) {
				t.Fatalf("trial %d cell %d: blocked %v vs %v", trial, k, a < 0, b < 0)
			}
			if a < 0 {
				continue
			}
			if x, ok := fwd[a]; ok && x != b {
				t.Fatalf("trial %d: label %d maps to %d and %d", trial, a, x, b)
			}
			if x, ok := back[b]; ok && x != a {
				t.Fatalf("trial %d: flood component %d maps to %d and %d", trial, b, x, a)
			}
			fwd[a], back[b] = b, a
		}
		if int32(len(back)) != next {
			t.Fatalf("trial %d: %d components, flood fill %d", trial, len(back), next)
		}
	}
}

// TestCombKeep: with Keep refusing the faces outside the part, a combed
// travel never runs over air — between two islands there is no path, and
// from one side of a hole to the other the path goes round the hole
// through the material instead of straight across it.
func TestCombKeep(t *testing.T) {
	var A, B []Vec
	A, B = loopSegs(A, B, Vec{0, 0}, Vec{10, 0}, Vec{10, 10}, Vec{0, 10})   // island 1
	A, B = loopSegs(A, B, Vec{14, 0}, Vec{24, 0}, Vec{24, 10}, Vec{14, 10}) // island 2
	A, B = loopSegs(A, B, Vec{30, 0}, Vec{50, 0}, Vec{50, 20}, Vec{30, 20}) // island 3 …
	A, B = loopSegs(A, B, Vec{36, 6}, Vec{44, 6}, Vec{44, 14}, Vec{36, 14}) // … with a hole
	var region Region
	region.Build(A, B, 5e-4)
	lo, hi := Vec{0, 0}, Vec{50, 20}
	for _, keep := range []bool{false, true} {
		var c Comber
		c.Reset(A, B, lo, hi, 0.2, 1e-3)
		if keep {
			c.Keep = func(p Vec) bool { return region.Classify(p, 5e-4) >= 0 }
		}
		// Island to island, wall to wall: only over air.
		_, _, ok := c.Path(Vec{10, 5}, Vec{14, 5}, 100, nil)
		if ok == keep {
			t.Errorf("keep %v: island to island: path %v", keep, ok)
		}
		// Across the hole, hole wall to hole wall.
		p, q := Vec{36, 10}, Vec{44, 10}
		ways, l, ok := c.Path(p, q, 100, nil)
		if !ok {
			t.Fatalf("keep %v: no path across the hole", keep)
		}
		pts := append(append([]Vec{p}, ways...), q)
		air := false
		for i := 0; i+1 < len(pts); i++ {
			air = air || TravelOutsideLoops(pts[i], pts[i+1], A, B, 5e-4)
		}
		if air != !keep {
			t.Errorf("keep %v: across the hole: over air %v (%d waypoints, %.2f mm)", keep, air, len(ways), l)
		}
		if keep {
			checkCombed(t, A, B, lo, hi, p, q, ways)
		}
	}
}
