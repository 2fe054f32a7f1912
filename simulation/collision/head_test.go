package collision

import (
	"math"
	"strings"
	"testing"

	"github.com/golang/geo/r3"

	"fabcell/config"
	"fabcell/simulation/geom"
)

const deg = math.Pi / 180

// releaseHead is the head of the RL3DP release with fabcell's default
// nozzle length.
func releaseHead() Head {
	return Head{NozzleLengthMM: 3, ConeHeightMM: 41, ConeRadiusMM: 32, CylinderHeightMM: 150, CylinderRadiusMM: 32}
}

// tiltedAxis returns the unit axis tilted by tilt from +z toward azimuth az.
func tiltedAxis(tilt, az float64) r3.Vector {
	return r3.Vector{X: math.Sin(tilt) * math.Cos(az), Y: math.Sin(tilt) * math.Sin(az), Z: math.Cos(tilt)}
}

func TestHeadFromConfigDefaults(t *testing.T) {
	cfg := config.Defaults().Wireframe
	h, err := HeadFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if h != releaseHead() {
		t.Fatalf("default head %+v, want the release dimensions %+v", h, releaseHead())
	}
	if got := StrutRadiusMM(cfg); got != 1 {
		t.Fatalf("strut radius %v", got)
	}
	// the nozzle must be longer than strut radius + clearance
	_, err = config.Parse(strings.NewReader("wireframe:\n  nozzle_length_mm: 1.2\n"))
	if err == nil || !strings.Contains(err.Error(), "nozzle_length_mm") {
		t.Fatalf("short nozzle accepted: %v", err)
	}
	_, err = config.Parse(strings.NewReader("wireframe:\n  nozzle_length_mm: 50\n"))
	if err == nil || !strings.Contains(err.Error(), "nozzle_length_mm") {
		t.Fatalf("nozzle longer than the cone accepted: %v", err)
	}
	for _, bad := range []Head{
		{NozzleLengthMM: 0, ConeHeightMM: 41, ConeRadiusMM: 32},
		{NozzleLengthMM: 41, ConeHeightMM: 41, ConeRadiusMM: 32},
		{NozzleLengthMM: 3, ConeHeightMM: 41, ConeRadiusMM: 0},
		{NozzleLengthMM: 3, ConeHeightMM: 41, ConeRadiusMM: 32, CylinderHeightMM: math.NaN()},
		{NozzleLengthMM: 3, ConeHeightMM: 41, ConeRadiusMM: 32, CylinderRadiusMM: -1},
	} {
		if bad.Validate() == nil {
			t.Fatalf("bad head %+v accepted", bad)
		}
	}
}

// TestHeadShapeIsHullOfConeAndCylinder compares the hand-written swept head
// with the generic combinators: (frustum ∪ cylinder) hull ⊕ segment.
func TestHeadShapeIsHullOfConeAndCylinder(t *testing.T) {
	r := rng(20)
	for _, h := range []Head{releaseHead(), {NozzleLengthMM: 5, ConeHeightMM: 30, ConeRadiusMM: 20, CylinderHeightMM: 60, CylinderRadiusMM: 35},
		{NozzleLengthMM: 2, ConeHeightMM: 30, ConeRadiusMM: 20}} {
		for i := 0; i < 200; i++ {
			tip, axis := randVec(r, 50), randUnit(r)
			b := tip.Add(randVec(r, 20))
			if i%4 == 0 {
				b = tip
			}
			r0 := h.ConeRadiusMM * h.NozzleLengthMM / h.ConeHeightMM
			cone, _ := NewFrustum(tip.Add(axis.Mul(h.NozzleLengthMM)), tip.Add(axis.Mul(h.ConeHeightMM)), r0, h.ConeRadiusMM)
			parts := HullOf{cone}
			if h.CylinderHeightMM > 0 {
				cyl, _ := NewCylinder(tip.Add(axis.Mul(h.ConeHeightMM)), tip.Add(axis.Mul(h.TopMM())), h.CylinderRadiusMM)
				parts = append(parts, cyl)
			}
			ref := Sweep(parts, b.Sub(tip))
			got := h.Swept(tip, b, axis)
			for k := 0; k < 20; k++ {
				d := randUnit(r)
				if k == 0 {
					d = axis // degenerate: face normal
				}
				if gv, rv := got.Support(d).Dot(d), ref.Support(d).Dot(d); !near(gv, rv, 1e-9) {
					t.Fatalf("head %+v dir %v: support value %v, reference %v", h, d, gv, rv)
				}
			}
			gb, rb := BoundsOf(got), BoundsOf(opaque{ref})
			if gb.Min.Sub(rb.Min).Norm() > 1e-9 || gb.Max.Sub(rb.Max).Norm() > 1e-9 {
				t.Fatalf("bounds %v vs %v", gb, rb)
			}
			// lowest point
			if lz, rz := got.(*headShape).lowestZ(), ref.Support(ez.Mul(-1)).Z; !near(lz, rz, 1e-9) {
				t.Fatalf("lowest z %v, support %v", lz, rz)
			}
		}
	}
}

// TestSweptHeadDistanceOracle compares GJK on the swept head with the
// meridian cross-section distance minimised over the sweep and the strut.
func TestSweptHeadDistanceOracle(t *testing.T) {
	r := rng(21)
	h := releaseHead()
	n := 150
	if testing.Short() {
		n = 40
	}
	for i := 0; i < n; i++ {
		tip := randVec(r, 20)
		axis := tiltedAxis(r.Float64()*70*deg, r.Float64()*2*math.Pi)
		b := tip.Add(randVec(r, 15))
		p := tip.Add(randVec(r, 80))
		q := p.Add(randVec(r, 30))
		want := sweptSegDist(headRevolved(h, tip, axis), b.Sub(tip), p, q)
		got := Distance(h.Swept(tip, b, axis), Segment{p, q})
		if want < 1e-6 {
			if !got.Intersect && got.Dist > 1e-6 {
				t.Fatalf("case %d: oracle touches (%v), GJK distance %v", i, want, got.Dist)
			}
			continue
		}
		if !near(got.Dist, want, 1e-6*(1+want)) {
			t.Fatalf("case %d: GJK %v, oracle %v", i, got.Dist, want)
		}
	}
}

// worldWith builds a world from capsules (ids = indices) and a checker with
// the release head, the given axes and clearance 0.5 mm.
func worldWith(t testing.TB, struts [][2]r3.Vector, radius float64, axes []r3.Vector) (*World, *Checker) {
	t.Helper()
	w, err := NewWorld(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range struts {
		if err := w.Add(i, s[0], s[1], radius); err != nil {
			t.Fatal(err)
		}
	}
	if axes == nil {
		axes = []r3.Vector{ez}
	}
	c, err := NewChecker(w, releaseHead(), axes, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	return w, c
}

func v3(x, y, z float64) r3.Vector { return r3.Vector{X: x, Y: y, Z: z} }

func TestHeadVersusStruts(t *testing.T) {
	tip := v3(0, 0, 10)
	cases := []struct {
		name  string
		strut [2]r3.Vector
		a, b  r3.Vector
		axis  r3.Vector
		hit   bool
	}{
		{"vertical head above a strut lying below the move", [2]r3.Vector{v3(-40, 20, 0), v3(40, 20, 0)}, v3(0, 15, 12), v3(0, 25, 12), ez, false},
		{"vertical head passes over a crossing strut 2 mm below the tip", [2]r3.Vector{v3(-40, 0, 8), v3(40, 0, 8)}, v3(0, -10, 10), v3(0, 10, 10), ez, false},
		{"strut crossing the swept cone above the tip", [2]r3.Vector{v3(-40, 0, 20), v3(40, 0, 20)}, v3(0, -10, 10), v3(0, 10, 10), ez, true},
		{"horizontal strut meeting the node (nozzle contact)", [2]r3.Vector{tip, v3(30, 0, 10)}, v3(-20, 0, 10), tip, ez, false},
		{"strut meeting the node from below", [2]r3.Vector{v3(0, 10, 0), tip}, v3(0, -15, 10), tip, ez, false},
		{"strut leaving the node 20° upward (below the cone)", [2]r3.Vector{tip, tip.Add(tiltedAxis(70*deg, 0).Mul(20))}, v3(0, -15, 10), tip, ez, false},
		{"strut leaving the node 35° upward grazes the cone", [2]r3.Vector{tip, tip.Add(tiltedAxis(55*deg, 0).Mul(20))}, v3(0, -15, 10), tip, ez, true},
		{"strut leaving the node 70° upward (inside the cone)", [2]r3.Vector{tip, tip.Add(tiltedAxis(20*deg, 0).Mul(20))}, v3(0, -15, 10), tip, ez, true},
		{"same strut, head tilted away", [2]r3.Vector{tip, tip.Add(tiltedAxis(20*deg, 0).Mul(20))}, v3(0, -15, 10), tip, tiltedAxis(45*deg, math.Pi), false},
		{"taller neighbour, vertical head", [2]r3.Vector{v3(40, 5, 0), v3(40, 5, 30)}, v3(0, 0, 10), v3(0, 10, 10), ez, false},
		{"taller neighbour, head tilted toward it sweeps into it", [2]r3.Vector{v3(40, 5, 0), v3(40, 5, 30)}, v3(0, 0, 10), v3(0, 10, 10), tiltedAxis(40*deg, 0), true},
		{"taller neighbour, head tilted away", [2]r3.Vector{v3(40, 5, 0), v3(40, 5, 30)}, v3(0, 0, 10), v3(0, 10, 10), tiltedAxis(40*deg, math.Pi), false},
		{"neighbour hit only during the sweep, not at either end", [2]r3.Vector{v3(10, 50, 0), v3(10, 50, 60)}, v3(0, 0, 10), v3(0, 100, 10), ez, true},
	}
	h := releaseHead()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, c := worldWith(t, [][2]r3.Vector{tc.strut}, 1, nil)
			got, hit := c.MoveHit(tc.a, tc.b, tc.axis)
			if hit != tc.hit {
				t.Fatalf("hit = %v (%v), want %v", hit, got, tc.hit)
			}
			if hit && (got.Kind != HitStrut || got.ID != 0) {
				t.Fatalf("hit %v, want strut 0", got)
			}
			// independent answer: distance from the meridian model
			d := sweptSegDist(headRevolved(h, tc.a, tc.axis), tc.b.Sub(tc.a), tc.strut[0], tc.strut[1])
			if (d <= 1.5) != tc.hit {
				t.Fatalf("oracle distance %v disagrees with the expectation %v", d, tc.hit)
			}
		})
	}
	// ends only: the sweep matters
	_, c := worldWith(t, [][2]r3.Vector{{v3(10, 50, 0), v3(10, 50, 60)}}, 1, nil)
	if !c.MoveFree(v3(0, 0, 10), v3(0, 0, 10), ez) || !c.MoveFree(v3(0, 100, 10), v3(0, 100, 10), ez) {
		t.Fatal("the head at either end of the move must be free")
	}
}

func TestNozzleLengthDecidesNodeContact(t *testing.T) {
	tip := v3(0, 0, 10)
	w, _ := worldWith(t, [][2]r3.Vector{{tip, v3(30, 0, 10)}}, 1, nil)
	for _, tc := range []struct {
		nozzle float64
		hit    bool
	}{{1.4, true}, {1.6, false}, {3, false}} {
		h := releaseHead()
		h.NozzleLengthMM = tc.nozzle
		c, err := NewChecker(w, h, []r3.Vector{ez}, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		if _, hit := c.MoveHit(v3(-20, 0, 10), tip, ez); hit != tc.hit {
			t.Fatalf("nozzle %v mm: hit = %v, want %v (strut radius + clearance = 1.5 mm)", tc.nozzle, hit, tc.hit)
		}
	}
}

func TestHeadAgainstBedAndObstacles(t *testing.T) {
	w, c := worldWith(t, nil, 1, nil)
	ground := v3(0, 0, 0)
	// The cone's half-angle is atan(32/41) = 38°, so tilted by 52° its
	// surface lies on the bed. With the 3 mm nozzle cut and 0.5 mm
	// clearance the limit is where the cut disc's rim comes within 0.5 mm
	// of the bed: 3·(cos θ − (32/41)·sin θ) = 0.5 → θ ≈ 44.5°.
	limit := 0.0
	for th := 0.0; th < 90*deg; th += 1e-4 {
		if 3*(math.Cos(th)-32.0/41*math.Sin(th)) <= 0.5 {
			limit = th
			break
		}
	}
	if !near(limit, 44.5*deg, 0.1*deg) {
		t.Fatalf("limit %v°", limit/deg)
	}
	for _, tc := range []struct {
		tilt float64
		hit  bool
	}{{0, false}, {40 * deg, false}, {limit - 0.01*deg, false}, {limit + 0.01*deg, true}, {54 * deg, true}, {70 * deg, true}} {
		got, hit := c.MoveHit(ground, v3(10, 0, 0), tiltedAxis(tc.tilt, 0))
		if hit != tc.hit || hit && got.Kind != HitBed {
			t.Fatalf("tilt %.0f°: %v %v, want hit=%v (bed)", tc.tilt/deg, got, hit, tc.hit)
		}
	}
	box, _ := BoxFromAABB(geom.AABB{Min: v3(-100, 60, 0), Max: v3(100, 80, 300)})
	if _, err := w.AddObstacle("fixture", box); err != nil {
		t.Fatal(err)
	}
	if got, hit := c.MoveHit(v3(0, 0, 10), v3(0, 10, 10), ez); hit {
		t.Fatalf("vertical head far from the fixture: %v", got)
	}
	if got, hit := c.MoveHit(v3(0, 0, 10), v3(0, 10, 10), tiltedAxis(40*deg, math.Pi/2)); !hit || got.Kind != HitObstacle {
		t.Fatalf("head tilted into the fixture: %v %v", got, hit)
	}
	nw, _ := NewWorld(Options{NoBed: true})
	nc, _ := NewChecker(nw, releaseHead(), []r3.Vector{ez}, 0.5)
	if !nc.MoveFree(ground, v3(10, 0, 0), tiltedAxis(70*deg, 0)) {
		t.Fatal("NoBed world must not report the bed")
	}
}

func TestFibonacciAxes(t *testing.T) {
	for _, tc := range []struct {
		n    int
		tilt float64
	}{{64, 60 * deg}, {37, 55 * deg}, {200, 90 * deg}, {1, 60 * deg}, {10, 0}} {
		axes, err := FibonacciAxes(tc.n, tc.tilt)
		if err != nil {
			t.Fatal(err)
		}
		want := tc.n
		if tc.tilt == 0 {
			want = 1
		}
		if len(axes) != want || axes[0] != ez {
			t.Fatalf("n=%d tilt=%v: %d axes, first %v", tc.n, tc.tilt, len(axes), axes[0])
		}
		for _, a := range axes {
			if !near(a.Norm(), 1, 1e-12) || geom.AngleBetween(a, ez) > tc.tilt+1e-12 {
				t.Fatalf("axis %v outside the cap or not unit", a)
			}
		}
		if tc.n < 30 || tc.tilt == 0 {
			continue
		}
		// coverage: every direction in the cap has a sample within the
		// spacing of an equal-area cell (√(cap area / n), ×1.5 slack)
		cap := 2 * math.Pi * (1 - math.Cos(tc.tilt))
		spacing := math.Sqrt(cap / float64(tc.n))
		r := rng(30)
		for k := 0; k < 2000; k++ {
			d := tiltedAxis(math.Acos(1-r.Float64()*(1-math.Cos(tc.tilt))), r.Float64()*2*math.Pi)
			best := math.Inf(1)
			for _, a := range axes {
				best = math.Min(best, geom.AngleBetween(a, d))
			}
			if best > 1.5*spacing {
				t.Fatalf("n=%d: direction %v is %.1f° from every sample (spacing %.1f°)", tc.n, d, best/deg, spacing/deg)
			}
		}
	}
	if _, err := FibonacciAxes(0, 1); err == nil {
		t.Fatal("0 samples accepted")
	}
	if _, err := FibonacciAxes(5, 2); err == nil {
		t.Fatal("tilt beyond π/2 accepted")
	}
	rel := ReleaseAxes()
	if len(rel) != 37 {
		t.Fatalf("release axes: %d", len(rel))
	}
	count := map[int]int{}
	for _, a := range rel {
		count[int(math.Round(geom.AngleBetween(a, ez)/deg))]++
	}
	if count[0] != 1 || count[29] != 12 || count[42] != 12 || count[55] != 12 {
		t.Fatalf("release tilts %v", count)
	}
}
