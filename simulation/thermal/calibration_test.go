package thermal

import (
	"errors"
	"math"
	"testing"

	"fabcell/config"
	"fabcell/planners/graph"
)

// TestPhysicalCalibration checks the derivation against values computed by
// hand: Δt = h/v, Fo = α·Δt/h², n = ⌈Fo·(4+G)⌉, rate = Fo/n,
// decay = (1 − G·rate)^n.
func TestPhysicalCalibration(t *testing.T) {
	if math.Abs(Diffusivity316LMM2S-4.05) > 1e-12 {
		t.Errorf("316L diffusivity %v mm²/s, want 16.2/(8000·500) m²/s = 4.05 mm²/s", Diffusivity316LMM2S)
	}
	for _, tc := range []struct {
		name        string
		ph          Physical
		stepS, fo   float64
		rings       int
		rate, decay float64
	}{
		// 316L, 50 µm, 800 mm/s on solid: 62.5 µs, Fo = 4.05·62.5e-6/0.0025
		{"default", Physical{4.05, 0.05, 800, 1}, 62.5e-6, 0.10125, 1, 0.10125, 0.89875},
		// 100 mm/s: Fo = 0.81, 0.81·5 = 4.05 → 5 sub-steps of 0.162, 0.838^5
		{"slow scan", Physical{4.05, 0.05, 100, 1}, 5e-4, 0.81, 5, 0.162, 0.41325688057916793},
		// powder below: G = 0.01, one sub-step, decay 1 − 0.01·0.10125
		{"over powder", Physical{4.05, 0.05, 800, 0.01}, 62.5e-6, 0.10125, 1, 0.10125, 0.9989875},
		// exactly at the stability limit: Fo·5 = 1 → still 1 sub-step
		{"at the limit", Physical{8, 0.05, 800, 1}, 62.5e-6, 0.2, 1, 0.2, 0.8},
		// just above it: Fo = 0.25 → 2 sub-steps of 0.125
		{"above the limit", Physical{10, 0.05, 800, 1}, 62.5e-6, 0.25, 2, 0.125, 0.765625},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ph.StepS(); math.Abs(got-tc.stepS) > 1e-15 {
				t.Errorf("Δt = %v s, want %v", got, tc.stepS)
			}
			if got := tc.ph.Fourier(); math.Abs(got-tc.fo) > 1e-12 {
				t.Errorf("Fo = %v, want %v", got, tc.fo)
			}
			n, rate, decay, err := tc.ph.Derive()
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.rings || math.Abs(rate-tc.rate) > 1e-12 || math.Abs(decay-tc.decay) > 1e-12 {
				t.Errorf("derived n = %d, rate = %v, decay = %v; want %d, %v, %v", n, rate, decay, tc.rings, tc.rate, tc.decay)
			}
			if rate*(4+tc.ph.SubstrateConductance) > 1+1e-12 {
				t.Errorf("rate %v breaks the maximum principle of the 5-link stencil", rate)
			}
		})
	}
	for _, bad := range []Physical{
		{0, 0.05, 800, 1}, {math.NaN(), 0.05, 800, 1}, {4.05, 0, 800, 1}, {4.05, 0.05, 0, 1},
		{4.05, 0.05, 800, 0}, {4.05, 0.05, math.Inf(1), 1},
		{4.05, 0.05, 1, 1}, // Fo = 81: 405 sub-steps
	} {
		if _, _, _, err := bad.Derive(); !errors.Is(err, ErrParams) {
			t.Errorf("%+v: err = %v, want ErrParams", bad, err)
		}
	}
	// FromConfig: physical by default, manual on request, decay model untouched
	c := config.Defaults().LPBF
	p, err := FromConfig(c)
	if err != nil || p.Model != Diffusion || p.Rings != 1 || math.Abs(p.Rate-0.10125) > 1e-15 || math.Abs(p.Decay-0.89875) > 1e-15 {
		t.Errorf("default params %+v, %v", p, err)
	}
	c.ScanSpeedMMS = 400 // twice the time per step: Fo = 0.2025, 5·Fo > 1 → 2 sub-steps
	if p, _ := FromConfig(c); p.Rings != 2 || math.Abs(p.Rate-0.10125) > 1e-12 || math.Abs(p.Decay-0.89875*0.89875) > 1e-12 {
		t.Errorf("400 mm/s: %+v", p)
	}
	c.ThermalCalibration = "manual"
	if p, _ := FromConfig(c); p.Rings != c.DiffusionRings || p.Rate != c.DiffusionRate || p.Decay != c.Decay {
		t.Errorf("manual: %+v", p)
	}
	c.ThermalCalibration = "fitted"
	if _, err := FromConfig(c); !errors.Is(err, ErrParams) {
		t.Errorf("unknown calibration: %v", err)
	}
	c = config.Defaults().LPBF
	c.Model = "decay"
	if p, _ := FromConfig(c); p.Decay != 0.52 || p.Window != 8 {
		t.Errorf("decay model: %+v", p)
	}
}

// TestCalibratedSpreadMatchesHeatEquation: on a grid large enough for the
// heat not to reach the boundary, the calibrated field spreads a kernel
// exactly like the continuous heat equation in mean square — the variance
// of the normalised heat distribution grows by 2αt per axis (mm²) — and
// loses heat exactly as δ^k (the in-plane diffusion conserves it).
func TestCalibratedSpreadMatchesHeatEquation(t *testing.T) {
	g := square(t, 81)
	c := config.Defaults().LPBF
	p, err := FromConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	p.Tolerance = 1e-12
	f := newField(t, g, p)
	f.Step(40*81 + 40)
	moments := func() (sum, vx, vy float64) {
		var mx, my float64
		for v, x := range f.t {
			q := g.Pos[v]
			sum += x
			mx += x * q.X
			my += x * q.Y
		}
		mx /= sum
		my /= sum
		for v, x := range f.t {
			q := g.Pos[v]
			vx += x * (q.X - mx) * (q.X - mx)
			vy += x * (q.Y - my) * (q.Y - my)
		}
		return sum, vx / sum, vy / sum
	}
	s0, vx0, vy0 := moments()
	ph := PhysicalFromConfig(c)
	for k := 1; k <= 40; k++ {
		f.relax()
		s, vx, vy := moments()
		tS := float64(k) * ph.StepS()
		want := 2 * ph.DiffusivityMM2S * tS // mm²
		// exact (1e-15) until the truncation of values below
		// Tolerance·(1−δ) starts to drop the far tails (1e-9 after 28 steps)
		if math.Abs((vx-vx0)-want) > 1e-7*want || math.Abs((vy-vy0)-want) > 1e-7*want {
			t.Fatalf("step %d: variance grew by (%.6g, %.6g) mm², heat equation 2αt = %.6g mm²", k, vx-vx0, vy-vy0, want)
		}
		if math.Abs(s-s0*math.Pow(p.Decay, float64(k))) > 1e-9*s0 {
			t.Fatalf("step %d: heat %v, want %v·δ^k = %v", k, s, s0, s0*math.Pow(p.Decay, float64(k)))
		}
	}
	if vx0 <= 0 {
		t.Fatal("no spread measured")
	}
}

// rosenthalTrailMM is the length behind a moving point source on a thick
// plate over which the surface stays above the temperature rise dT (K):
// on the track axis behind the source the quasi-steady Rosenthal solution
// is T − T0 = A·P/(2π·k·R), so R = A·P/(2π·k·dT).
func rosenthalTrailMM(absorptivity, powerW, kWmK, dTK float64) float64 {
	return 1e3 * absorptivity * powerW / (2 * math.Pi * kWmK * dTK)
}

// TestPointHistoryAndTrail checks the physical plausibility of the
// calibrated model on a straight scan line and on a zig-zag: a point's
// temperature history after the laser passed, and how far back along the
// row the scanned track is still above the hot threshold — against the
// release constants and against Rosenthal's thick-plate estimate for a
// 200 W, 800 mm/s laser on 316L (A = 0.3–0.5, k = 16.2–25 W/(m·K),
// threshold = half the 1355 K rise to the solidus): 0.56–1.45 mm, i.e.
// 11–29 pixels (60 W/(2π·25 W/(m·K)·677.5 K) = 0.564 mm). The calibrated model must be within that order of
// magnitude — it sits below its short end, 8 pixels, see the package
// comment — while the release constants (decay 0.52) keep 3 pixels hot.
func TestPointHistoryAndTrail(t *testing.T) {
	const w, h = 300, 41
	g := pixelGraph(t, w, h, 0.05, func(c, r int) bool { return true })
	lat := latticeOf(t, g)
	row := make([]int, w)
	for c := 0; c < w; c++ {
		row[c] = lat[[2]int{c, h / 2}]
	}
	thr := config.Defaults().LPBF.HotThreshold
	trail := func(p Params) (length int, history []float64) {
		f := newField(t, g, p)
		probe := row[100]
		for c := 0; c < 250; c++ {
			f.Step(row[c])
			if c >= 100 {
				history = append(history, f.Temp(probe))
			}
		}
		for d := 0; d < 250 && f.Temp(row[249-d]) > thr; d++ {
			length++
		}
		return length, history
	}
	phys := defaultParams(t)
	lPhys, hist := trail(phys)
	rel := phys
	rel.Model, rel.Decay, rel.Window = Decay, 0.52, 8
	lRel, _ := trail(rel)
	lo := rosenthalTrailMM(0.3, 200, 25, 0.5*1355) / 0.05
	hi := rosenthalTrailMM(0.5, 200, 16.2, 0.5*1355) / 0.05
	t.Logf("track above %.2f·H_max behind the laser: calibrated %d px, release %d px; Rosenthal %.1f–%.1f px", thr, lPhys, lRel, lo, hi)
	if math.Abs(lo-11.28) > 0.01 || math.Abs(hi-29.00) > 0.01 {
		t.Fatalf("Rosenthal range %.2f–%.2f px, want 11.28–29.00", lo, hi)
	}
	if float64(lPhys) < lo/2 || float64(lPhys) > hi {
		t.Errorf("calibrated trail %d px outside [%.1f, %.1f] (half Rosenthal's low estimate to its high one)", lPhys, lo/2, hi)
	}
	if lRel*2 > lPhys {
		t.Errorf("release trail %d px is not far shorter than the calibrated %d px", lRel, lPhys)
	}
	// the point's history: at the cap while the laser is within a pitch or
	// two, then cooling monotonically, each step by at most the loss and at
	// least the loss plus the in-plane spreading
	capped := 0
	for capped < len(hist) && hist[capped] >= 1-1e-12 {
		capped++
	}
	if capped < 2 || capped > 4 {
		t.Errorf("point capped for %d steps, want 2–4: %v", capped, hist[:8])
	}
	for k := capped + 1; k < 60; k++ {
		ratio := hist[k] / hist[k-1]
		if !(ratio < 1) || ratio < phys.Decay*(1-4*phys.Rate) {
			t.Fatalf("step %d after the pass: T %v → %v (ratio %.4f), want cooling within [δ(1−4·rate), 1) = [%.4f, 1)",
				k, hist[k-1], hist[k], ratio, phys.Decay*(1-4*phys.Rate))
		}
	}

	// Zig-zag: rows of 100 pixels, alternating; right after the turn into
	// row 2 the previous row is still hot near the turn, as far back as a
	// straight track stays hot (± 2 pixels: the turn adds the kernel of the
	// new row's first pixels).
	f := newField(t, g, phys)
	for c := 0; c < 100; c++ {
		f.Step(lat[[2]int{c, 10}])
	}
	f.Step(lat[[2]int{99, 11}])
	back := 0
	for c := 99; c >= 0 && f.Temp(lat[[2]int{c, 10}]) > thr; c-- {
		back++
	}
	t.Logf("zig-zag: previous row above threshold %d px back from the turn", back)
	if back < lPhys-2 || back > lPhys+2 {
		t.Errorf("zig-zag: %d px of the previous row hot at the turn, straight trail %d px", back, lPhys)
	}
}

// latticeOf maps (col, row) to the node of a pixel graph at pitch 0.05.
func latticeOf(t *testing.T, g *graph.Graph) map[[2]int]int {
	t.Helper()
	out := map[[2]int]int{}
	for v, q := range g.Pos {
		out[[2]int{int(math.Floor(q.X / 0.05)), int(math.Floor(q.Y / 0.05))}] = v
	}
	return out
}
