package ir

import (
	"math"
	"math/rand"
	"testing"
)

func square(a, b []Vec, x0, y0, x1, y1 float64) ([]Vec, []Vec) {
	return loopSegs(a, b, Vec{x0, y0}, Vec{x1, y0}, Vec{x1, y1}, Vec{x0, y1})
}

// TestRegionCases: two islands, one with a hole; points and travels whose
// answers are known.
func TestRegionCases(t *testing.T) {
	var a, b []Vec
	a, b = square(a, b, 0, 0, 20, 20) // island with a hole
	a, b = square(a, b, 5, 5, 15, 15) // the hole
	a, b = square(a, b, 30, 0, 40, 10)
	var r Region
	r.Build(a, b, 1e-3)
	const eps = 5e-4
	points := []struct {
		p    Vec
		want int
	}{
		{Vec{2, 2}, 1}, {Vec{10, 10}, -1}, {Vec{25, 5}, -1}, {Vec{35, 5}, 1}, {Vec{-1, 10}, -1},
		{Vec{0, 10}, 0}, {Vec{5, 5}, 0}, {Vec{40, 10}, 0}, {Vec{50, 50}, -1}, {Vec{2, 18}, 1},
		{Vec{10, 2.5}, 1}, {Vec{0.0004, 10}, 0}, {Vec{0.001, 10}, 1},
	}
	for _, c := range points {
		if got := r.Classify(c.p, eps); got != c.want {
			t.Errorf("Classify(%v) = %d, want %d", c.p, got, c.want)
		}
		if got := ClassifyPoint(c.p, a, b, eps); got != c.want {
			t.Errorf("ClassifyPoint(%v) = %d, want %d", c.p, got, c.want)
		}
	}
	travels := []struct {
		p, q Vec
		want bool
		why  string
	}{
		{Vec{20, 5}, Vec{30, 5}, true, "seam to seam between islands, over air"},
		{Vec{5, 10}, Vec{15, 10}, true, "across the hole, wall to wall"},
		{Vec{0, 10}, Vec{5, 10}, false, "outer wall to hole wall, through material"},
		{Vec{2, 2}, Vec{4, 4}, false, "inside the island"},
		{Vec{0, 0}, Vec{20, 0}, false, "along a wall all the way"},
		{Vec{0, 0}, Vec{0, 20}, false, "along a wall all the way"},
		{Vec{20, 20}, Vec{30, 10}, true, "corner to corner over air"},
		{Vec{2, 2}, Vec{2, 2}, false, "zero length"},
	}
	for _, c := range travels {
		for _, rev := range []bool{false, true} {
			p, q := c.p, c.q
			if rev {
				p, q = q, p
			}
			if got := r.TravelOutside(p, q, eps); got != c.want {
				t.Errorf("TravelOutside(%v→%v) = %v, want %v (%s)", p, q, got, c.want, c.why)
			}
			if got := TravelOutsideLoops(p, q, a, b, eps); got != c.want {
				t.Errorf("TravelOutsideLoops(%v→%v) = %v, want %v (%s)", p, q, got, c.want, c.why)
			}
		}
	}
	var empty Region
	if !empty.Empty() || empty.Classify(Vec{1, 1}, eps) != -1 {
		t.Error("the zero Region is not empty")
	}
}

// TestRegionMatchesBruteForce: the strip index answers exactly as the
// brute-force definition on random star polygons (some nested as holes),
// for random points, points on vertices and on edges.
func TestRegionMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	inside, outside, on := 0, 0, 0
	for trial := 0; trial < 60; trial++ {
		var a, b []Vec
		for k := 0; k < 1+rng.Intn(6); k++ {
			c := Vec{rng.Float64() * 100, rng.Float64() * 100}
			n := 3 + rng.Intn(40)
			var pts []Vec
			for i := 0; i < n; i++ {
				th := 2 * math.Pi * (float64(i) + rng.Float64()*0.8) / float64(n)
				rad := 2 + rng.Float64()*15
				// on a 1e-3 grid, as G-code coordinates are
				pts = append(pts, Vec{math.Round((c[0]+rad*math.Cos(th))*1e3) / 1e3, math.Round((c[1]+rad*math.Sin(th))*1e3) / 1e3})
			}
			a, b = loopSegs(a, b, pts...)
		}
		var r Region
		pad := 1e-3
		r.Build(a, b, pad)
		for q := 0; q < 400; q++ {
			var p Vec
			switch q % 4 {
			case 0, 1:
				p = Vec{rng.Float64()*130 - 15, rng.Float64()*130 - 15}
			case 2:
				p = a[rng.Intn(len(a))]
			default:
				i := rng.Intn(len(a))
				s := rng.Float64()
				p = Vec{a[i][0] + s*(b[i][0]-a[i][0]), a[i][1] + s*(b[i][1]-a[i][1])}
				if q%8 == 7 { // just off the wall
					p[0] += 2e-3
				}
			}
			for _, eps := range []float64{5e-4, pad} {
				got, want := r.Classify(p, eps), ClassifyPoint(p, a, b, eps)
				if got != want {
					t.Fatalf("trial %d: Classify(%v, %g) = %d, brute force %d", trial, p, eps, got, want)
				}
				switch want {
				case 1:
					inside++
				case -1:
					outside++
				default:
					on++
				}
			}
			// Beyond the pad the index defers to the brute force.
			if got, want := r.Classify(p, 0.5), ClassifyPoint(p, a, b, 0.5); got != want {
				t.Fatalf("eps 0.5: %d vs %d", got, want)
			}
		}
	}
	t.Logf("inside %d, outside %d, on a wall %d", inside, outside, on)
	if inside < 1000 || outside < 1000 || on < 1000 {
		t.Fatal("the random set does not exercise every answer")
	}
}

// segSet is the loop segments as an order-free multiset (either
// direction).
func segSet(a, b []Vec) map[[2]Vec]int {
	m := map[[2]Vec]int{}
	for i := range a {
		p, q := a[i], b[i]
		if q[0] < p[0] || q[0] == p[0] && q[1] < p[1] {
			p, q = q, p
		}
		m[[2]Vec{p, q}]++
	}
	return m
}

// TestLoops: closed strokes, strokes closed across a seam gap, a loop
// printed as three open strokes, and open chains that must stay out.
func TestLoops(t *testing.T) {
	var a, b []Vec
	var strokes []Stroke
	add := func(pts ...Vec) {
		lo := int32(len(a))
		for i := 0; i+1 < len(pts); i++ {
			a, b = append(a, pts[i]), append(b, pts[i+1])
		}
		strokes = append(strokes, Stroke{lo, int32(len(a))})
	}
	add(Vec{0, 0}, Vec{10, 0}, Vec{10, 10}, Vec{0, 10}, Vec{0, 0})       // closed exactly
	add(Vec{20, 0}, Vec{30, 0}, Vec{30, 10}, Vec{20, 10}, Vec{20, 0.06}) // seam gap 0.06 mm
	add(Vec{40, 0}, Vec{50, 0})                                          // a loop in three strokes,
	add(Vec{50.1, 0}, Vec{50, 10}, Vec{40.05, 10})                       // with gaps
	add(Vec{40, 10}, Vec{40, 0.2})
	add(Vec{60, 0}, Vec{70, 0}, Vec{70, 10}) // an open chain (a thin wall)
	add(Vec{80, 0}, Vec{90, 0})              // two strokes joined at one end only
	add(Vec{90.2, 0}, Vec{90, 10})
	ga, gb := Loops(a, b, strokes, 0.3, nil, nil)
	got := segSet(ga, gb)
	var wa, wb []Vec
	wa, wb = append(wa, a[:4]...), append(wb, b[:4]...)
	wa, wb = append(wa, a[4:8]...), append(wb, b[4:8]...)
	wa, wb = append(wa, Vec{20, 0.06}), append(wb, Vec{20, 0})
	wa, wb = append(wa, a[8:12]...), append(wb, b[8:12]...)
	wa, wb = append(wa, Vec{50, 0}, Vec{40.05, 10}, Vec{40, 0.2}), append(wb, Vec{50.1, 0}, Vec{40, 10}, Vec{40, 0})
	want := segSet(wa, wb)
	if len(got) != len(want) || len(ga) != len(wa) {
		t.Fatalf("Loops: %d segments, want %d:\n got  %v\n want %v", len(ga), len(wa), got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("Loops: segment %v %d×, want %d×", k, got[k], n)
		}
	}
	// The region of the loops: inside each closed square, not inside the
	// open ones.
	var r Region
	r.Build(ga, gb, 1e-3)
	for _, c := range []struct {
		p    Vec
		want int
	}{{Vec{5, 5}, 1}, {Vec{25, 5}, 1}, {Vec{45, 5}, 1}, {Vec{65, 5}, -1}, {Vec{85, 5}, -1}, {Vec{15, 5}, -1}, {Vec{-5, 5}, -1}} {
		if got := r.Classify(c.p, 5e-4); got != c.want {
			t.Errorf("Classify(%v) = %d, want %d", c.p, got, c.want)
		}
	}
}
