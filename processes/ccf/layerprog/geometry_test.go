package layerprog

import (
	"math"
	"testing"

	"github.com/golang/geo/r2"
)

func pts(xy ...float64) []r2.Point {
	out := make([]r2.Point, len(xy)/2)
	for i := range out {
		out[i] = r2.Point{X: xy[2*i], Y: xy[2*i+1]}
	}
	return out
}

func near(a, b r2.Point, tol float64) bool { return a.Sub(b).Norm() <= tol }

func TestOffsetLoopExact(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []r2.Point
		d    float64
		want []r2.Point
		area float64
	}{
		{"square", pts(0, 0, 100, 0, 100, 100, 0, 100), 5, pts(5, 5, 95, 5, 95, 95, 5, 95), 90 * 90},
		// L-shape: the reflex corner (50,50) moves to (45,45) (miter)
		{"L", pts(0, 0, 100, 0, 100, 50, 50, 50, 50, 100, 0, 100), 5,
			pts(5, 5, 95, 5, 95, 45, 45, 45, 45, 95, 5, 95), 90*40 + 40*50},
		// a clockwise hole grows
		{"hole", pts(40, 40, 40, 60, 60, 60, 60, 40), 2, pts(38, 38, 38, 62, 62, 62, 62, 38), -24 * 24},
	} {
		got, err := OffsetLoop(c.in, c.d)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(got) != len(c.want) {
			t.Fatalf("%s: %v, want %v", c.name, got, c.want)
		}
		for i := range got {
			if !near(got[i], c.want[i], 1e-9) {
				t.Errorf("%s: point %d = %v, want %v", c.name, i, got[i], c.want[i])
			}
		}
		if a := SignedArea(got); math.Abs(a-c.area) > 1e-6 {
			t.Errorf("%s: area %v, want %v", c.name, a, c.area)
		}
	}
}

// A thin spike (a tooth narrower than twice the offset) is cut off
// instead of turning the loop inside out.
func TestOffsetLoopDropsThinSpike(t *testing.T) {
	// square 0..100 with a 2 mm wide, 30 mm long tooth on top
	in := pts(0, 0, 100, 0, 100, 100, 51, 100, 50, 130, 49, 100, 0, 100)
	got, err := OffsetLoop(in, 3)
	if err != nil {
		t.Fatal(err)
	}
	if i, j := SelfIntersection(got); i >= 0 {
		t.Fatalf("self-intersection %d/%d in %v", i, j, got)
	}
	for _, p := range got {
		if p.Y > 97+1e-9 {
			t.Errorf("point %v left in the spike", p)
		}
	}
	if a := SignedArea(got); math.Abs(a-94*94) > 1 {
		t.Errorf("area %v, want ≈ %v", a, 94*94)
	}
	// a loop too small for the offset collapses with an error
	if _, err := OffsetLoop(pts(0, 0, 4, 0, 4, 4, 0, 4), 3); err == nil {
		t.Error("collapsed loop accepted")
	}
}

func TestCleanLoop(t *testing.T) {
	// duplicate point, collinear point and a dangling spike 5→(5,20)→5
	in := pts(0, 0, 5, 0, 5, 0, 10, 0, 10, 10, 5, 10, 5, 20, 5, 10, 0, 10)
	got := CleanLoop(in, 1e-9)
	want := pts(0, 0, 10, 0, 10, 10, 0, 10)
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if !near(got[i], want[i], 1e-12) {
			t.Errorf("point %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func squareWithHole() Region {
	return Region{
		Outer: pts(0, 0, 60, 0, 60, 40, 0, 40),
		Holes: [][]r2.Point{pts(20, 10, 20, 30, 40, 30, 40, 10)},
	}
}

func TestZigZagCoverage(t *testing.T) {
	for _, c := range []struct {
		name   string
		r      Region
		angle  float64
		chains int // expected number of polylines (upper bound)
	}{
		{"square 0°", Region{Outer: pts(0, 0, 50, 0, 50, 30, 0, 30)}, 0, 1},
		{"square 90°", Region{Outer: pts(0, 0, 50, 0, 50, 30, 0, 30)}, math.Pi / 2, 1},
		{"square 45°", Region{Outer: pts(0, 0, 50, 0, 50, 30, 0, 30)}, math.Pi / 4, 1},
		{"with hole", squareWithHole(), 0, 4},
	} {
		sp := 0.5
		fill := ZigZag(c.r, sp, c.angle)
		if len(fill) == 0 || len(fill) > c.chains {
			t.Errorf("%s: %d polylines, want 1..%d", c.name, len(fill), c.chains)
		}
		area := SignedArea(c.r.Outer)
		for _, h := range c.r.Holes {
			area += SignedArea(h)
		}
		// scan lines only (connectors excluded): length ≈ area / spacing
		dir := r2.Point{X: math.Cos(c.angle), Y: math.Sin(c.angle)}
		scan := 0.0
		for _, pl := range fill {
			for i := 1; i < len(pl); i++ {
				d := pl[i].Sub(pl[i-1])
				mid := pl[i].Add(pl[i-1]).Mul(0.5)
				if !c.r.Contains(mid) && c.r.boundaryDist(mid) > 1e-9 {
					t.Fatalf("%s: segment %v-%v leaves the region", c.name, pl[i-1], pl[i])
				}
				if math.Abs(math.Abs(d.Dot(dir))-d.Norm()) < 1e-9 {
					scan += d.Norm()
				}
			}
		}
		if math.Abs(scan-area/sp) > 0.02*area/sp {
			t.Errorf("%s: scan length %.2f, want ≈ %.2f", c.name, scan, area/sp)
		}
	}
}

func TestRegionValidate(t *testing.T) {
	if err := squareWithHole().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []Region{
		{Outer: pts(0, 0, 10, 0)},                // too few points
		{Outer: pts(0, 0, 0, 10, 10, 10, 10, 0)}, // clockwise outer
		{Outer: pts(0, 0, 10, 10, 10, 0, 0, 10)}, // bow tie
		{Outer: pts(0, 0, 10, 0, 10, 10, 0, 10), Holes: [][]r2.Point{pts(2, 2, 8, 2, 8, 8, 2, 8)}}, // CCW hole
		{Outer: pts(0, 0, 10, 0, 10, 10, 0, 10), Holes: [][]r2.Point{pts(5, 5, 5, 15, 15, 15, 15, 5)}},
		{Outer: pts(0, 0, math.NaN(), 0, 10, 10)},
	}
	for i, r := range bad {
		if err := r.Validate(); err == nil {
			t.Errorf("bad region %d accepted", i)
		}
	}
}

// TestOffsetLoopThinArm: an arm narrower than twice the offset is cut off
// (its tip edge is dropped, the zero-width spike left behind removed);
// before the fix the result held NaN points and no error.
func TestOffsetLoopThinArm(t *testing.T) {
	in := pts(40, 0, 40, 20, 100, 20, 100, 21.5, 40, 21.5, 40, 40, 0, 40, 0, 0)
	got, err := OffsetLoop(in, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	want := pts(39.1, 0.9, 39.1, 39.1, 0.9, 39.1, 0.9, 0.9)
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if !near(got[i], want[i], 1e-9) {
			t.Errorf("point %d = %v, want %v", i, got[i], want[i])
		}
	}
	// the arm at 0.675 (< 0.75) survives as a 0.15 mm wide strip
	got, err = OffsetLoop(in, 0.675)
	if err != nil || len(got) != 8 {
		t.Fatalf("0.675: %v %v", got, err)
	}
}

// TestMergeTouching: a hole sharing a vertex with the outline is spliced
// into it (the loop walks around the hole at the vertex); the merged
// region keeps the material area, validates, and offsets without the
// loops running into each other.
func TestMergeTouching(t *testing.T) {
	r := Region{
		Outer: pts(20, 0, 80, 0, 80, 80, 0, 80, 0, 20, 20, 20),
		Holes: [][]r2.Point{pts(20, 20, 20, 60, 60, 60, 60, 20), pts(70, 70, 75, 70, 75, 65)}, // second hole free
	}
	if _, err := r.Offset(0.225); err == nil {
		t.Fatal("touching loops offset without error: test premise wrong")
	}
	m := r.MergeTouching(1e-9)
	if len(m.Holes) != 1 || len(m.Outer) != 6+4 {
		t.Fatalf("merged %d+%d points: %v", len(m.Outer), len(m.Holes), m)
	}
	area := func(r Region) float64 {
		a := SignedArea(r.Outer)
		for _, h := range r.Holes {
			a += SignedArea(h)
		}
		return a
	}
	if math.Abs(area(m)-area(r)) > 1e-9 {
		t.Errorf("area %v, want %v", area(m), area(r))
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	off, err := m.Offset(0.225)
	if err != nil {
		t.Fatal(err)
	}
	// the pinch vertex (20,20) becomes two corners, one in each cell
	var got int
	for _, q := range off.Outer {
		if near(q, r2.Point{X: 20.225, Y: 19.775}, 1e-9) || near(q, r2.Point{X: 19.775, Y: 20.225}, 1e-9) {
			got++
		}
	}
	if got != 2 {
		t.Errorf("pinch corners: %d of 2 in %v", got, off.Outer)
	}
}
