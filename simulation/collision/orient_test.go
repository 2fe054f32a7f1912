package collision

import (
	"math"
	"slices"
	"sort"
	"testing"

	"github.com/golang/geo/r3"

	"fabcell/config"
	"fabcell/simulation/geom"
)

// freeConeScene: a strut runs along y above and slightly left of the move
// (blocking the vertical head and small tilts) and a wall of vertical
// struts stands at x = −40 (blocking every tilt toward −x). Only axes
// tilted toward +x are free.
func freeConeScene() (struts [][2]r3.Vector, a, b r3.Vector) {
	struts = append(struts, [2]r3.Vector{v3(-15, -60, 120), v3(-15, 70, 120)})
	for y := -40.0; y <= 50; y += 15 {
		struts = append(struts, [2]r3.Vector{v3(-40, y, 0), v3(-40, y, 150)})
	}
	return struts, v3(0, 0, 20), v3(0, 10, 20)
}

// oracleFree classifies every axis with the meridian-section distance
// (strut radius 1 + clearance 0.5); ambiguous axes (within 1e-6 mm of the
// limit) are reported separately.
func oracleFree(h Head, axes []r3.Vector, struts [][2]r3.Vector, a, b r3.Vector) (free map[int]bool, ambiguous map[int]bool) {
	free, ambiguous = map[int]bool{}, map[int]bool{}
	for i, ax := range axes {
		body := headRevolved(h, a, ax)
		minD := math.Inf(1)
		for _, s := range struts {
			minD = math.Min(minD, sweptSegDist(body, b.Sub(a), s[0], s[1]))
		}
		// the bed (z = 0): lowest point of the cut disc
		lz := math.Min(a.Z, b.Z) + h.NozzleLengthMM*ax.Z - h.NozzleLengthMM*h.ConeRadiusMM/h.ConeHeightMM*math.Sqrt(1-ax.Z*ax.Z)
		if math.Abs(minD-1.5) < 1e-6 || math.Abs(lz-0.5) < 1e-6 {
			ambiguous[i] = true
		}
		free[i] = minD > 1.5 && lz > 0.5
	}
	return free, ambiguous
}

func TestOrientationSearchFindsTheFreeCone(t *testing.T) {
	struts, a, b := freeConeScene()
	axes, err := FibonacciAxes(64, 60*deg)
	if err != nil {
		t.Fatal(err)
	}
	_, c := worldWith(t, struts, 1, axes)
	free := c.FreeAxes(a, b, nil)
	want, amb := oracleFree(releaseHead(), axes, struts, a, b)
	nFree := 0
	for i := range axes {
		got := slices.Contains(free, i)
		if !amb[i] && got != want[i] {
			t.Fatalf("axis %d %v (tilt %.1f°): free = %v, oracle %v", i, axes[i], geom.AngleBetween(axes[i], ez)/deg, got, want[i])
		}
		if got {
			nFree++
			if axes[i].X <= 0 {
				t.Fatalf("free axis %d %v is not tilted toward +x", i, axes[i])
			}
		}
	}
	plusX := 0
	for _, ax := range axes {
		if ax.X > 0 {
			plusX++
		}
	}
	if nFree == 0 || nFree == plusX {
		t.Fatalf("%d free axes of %d tilted toward +x: the scene does not constrain", nFree, plusX)
	}
	t.Logf("%d of %d axes free, all tilted toward +x", nFree, len(axes))

	// Eq. 6 from several previous axes: the answer is the free axis with
	// the smallest angle (brute force over the free set).
	for _, prev := range []r3.Vector{ez, tiltedAxis(30*deg, 0), tiltedAxis(50*deg, math.Pi/2), tiltedAxis(45*deg, math.Pi), {}} {
		o, ok := c.Best(a, b, prev)
		if !ok {
			t.Fatalf("prev %v: no orientation", prev)
		}
		p := prev
		if p.Norm2() == 0 {
			p = ez
		}
		best, bestAng := -1, math.Inf(1)
		for _, i := range free {
			if ang := geom.AngleBetween(p, axes[i]); ang < bestAng {
				best, bestAng = i, ang
			}
		}
		if o.Index != best || !near(o.AngleRad, bestAng, 1e-12) || o.Axis != c.Axes()[best] {
			t.Fatalf("prev %v: Best %+v, brute force axis %d at %v rad", prev, o, best, bestAng)
		}
		if o.Axis.X <= 0 {
			t.Fatalf("result %v outside the free cone", o.Axis)
		}
	}

	// BestAccept: rejecting the nearest axis yields the second nearest.
	var order []int
	order = append(order, free...)
	sort.SliceStable(order, func(i, j int) bool {
		return geom.AngleBetween(ez, axes[order[i]]) < geom.AngleBetween(ez, axes[order[j]])
	})
	first := order[0]
	calls := 0
	o, ok := c.BestAccept(a, b, ez, func(o Orientation) bool { calls++; return o.Index != first })
	if !ok || o.Index != order[1] || calls != 2 {
		t.Fatalf("BestAccept %+v ok=%v calls=%d, want axis %d after rejecting %d", o, ok, calls, order[1], first)
	}
	if _, ok := c.BestAccept(a, b, ez, func(Orientation) bool { return false }); ok {
		t.Fatal("BestAccept rejecting everything returned an axis")
	}
}

func TestOrientationSearchNoFreeAxis(t *testing.T) {
	// a ceiling of struts 40 mm above the tip blocks every axis
	var struts [][2]r3.Vector
	for y := -200.0; y <= 200; y += 20 {
		struts = append(struts, [2]r3.Vector{v3(-200, y, 60), v3(200, y, 60)})
	}
	axes, _ := FibonacciAxes(64, 60*deg)
	_, c := worldWith(t, struts, 1, axes)
	if free := c.FreeAxes(v3(0, 0, 20), v3(0, 5, 20), nil); len(free) != 0 {
		t.Fatalf("free axes under a ceiling: %v", free)
	}
	if o, ok := c.Best(v3(0, 0, 20), v3(0, 5, 20), ez); ok {
		t.Fatalf("Best under a ceiling: %+v", o)
	}
}

func TestOrientationSearchRandomScenesMatchBruteForce(t *testing.T) {
	// random scenes: Best equals the minimum over the brute-force free
	// set (every strut tested with GJK, no grid)
	r := rng(50)
	axes, _ := FibonacciAxes(64, 60*deg)
	h := releaseHead()
	n := 40
	if testing.Short() {
		n = 10
	}
	for k := 0; k < n; k++ {
		var struts [][2]r3.Vector
		ref := bruteWorld{}
		for i := 0; i < 60; i++ {
			p, q := randStrut(r, 70)
			struts = append(struts, [2]r3.Vector{p, q})
			ref[i] = Capsule{p, q, 1}
		}
		_, c := worldWith(t, struts, 1, axes)
		a := v3(r.Float64()*40-20, r.Float64()*40-20, 5+r.Float64()*40)
		b := a.Add(randVec(r, 10))
		if b.Z < 1 {
			b.Z = 1
		}
		prev := tiltedAxis(r.Float64()*60*deg, r.Float64()*2*math.Pi)
		best, bestAng := -1, math.Inf(1)
		for i, ax := range axes {
			swept := h.Swept(a, b, ax)
			if len(ref.hits(swept, 0.5)) > 0 || swept.(*headShape).lowestZ() <= 0.5 {
				continue
			}
			if ang := geom.AngleBetween(prev, ax); ang < bestAng {
				best, bestAng = i, ang
			}
		}
		o, ok := c.Best(a, b, prev)
		if ok != (best >= 0) || ok && o.Index != best {
			t.Fatalf("scene %d: Best %+v ok=%v, brute force %d (%v rad)", k, o, ok, best, bestAng)
		}
	}
}

func TestCheckerFromConfig(t *testing.T) {
	w, _ := NewWorld(Options{})
	cfg := config.Defaults().Wireframe
	c, err := NewCheckerFromConfig(w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Axes()) != cfg.OrientationSamples || c.ClearanceMM() != cfg.CollisionClearanceMM || c.Head().ConeHeightMM != 41 || c.World() != w {
		t.Fatalf("checker %d axes, clearance %v", len(c.Axes()), c.ClearanceMM())
	}
	cfg.NozzleLengthMM = 0
	if _, err := NewCheckerFromConfig(w, cfg); err == nil {
		t.Fatal("zero nozzle accepted")
	}
}
