package lpbf

import (
	"math"
	"testing"

	"fabcell/config"
)

// The shared evaluator's peak_temperature (peak residual heat) and
// peak_preheat on layers small enough to compute by hand. Kernel of
// Eq. 12 at r = 3 pitches, h_max = 1: h(1) = 1 − 3^−0.8 = 0.5847564,
// h(√2) = 1 − (√2/3)^0.8 = 0.4520827, h(2) = 1 − (2/3)^0.8 = 0.2770188.
func TestPeakTemperatureHandComputed(t *testing.T) {
	const (
		h1, hs2, h2 = 0.5847564, 0.4520827, 0.2770188
	)
	// default configuration: physical calibration at 50 µm, 800 mm/s,
	// 4.05 mm²/s: Fo = α = 0.10125, one sub-step, δ = 1 − Fo = 0.89875.
	// A 3-pixel line scanned left to right: after step 0 the field is
	// (1, h1, h2); step 1 relaxes the end pixel (degree 1) to
	// δ·((1 − α)·h2 + α·h1) and deposits h1 there, so the laser meets
	// R_2 = 0.89875·(0.89875·h2 + 0.10125·h1) + h1 = 0.8617307, below the
	// cap (peak_preheat is the same).
	const a, d = 0.10125, 0.89875
	line := maskGraph(t, 3, 1, func(c, r int) bool { return true })
	lat, _ := NewLattice(line)
	lineOrder := make([]int, 3)
	for v := range lat.Col {
		lineOrder[lat.Col[v]-lat.ColMin] = v
	}
	// release model (thermal_model: decay, δ = 0.52, window 8): a 3×3
	// block, border first (clockwise from a corner), centre last. The
	// centre meets the sum of the eight border deposits,
	//   h1·(1 + δ² + δ⁴ + δ⁶) + h(√2)·(δ + δ³ + δ⁵ + δ⁷) = 1.1176762,
	// while the capped field is at the cap 1 there (the only capped step).
	block := maskGraph(t, 3, 3, func(c, r int) bool { return true })
	bl, _ := NewLattice(block)
	cell := map[[2]int32]int{}
	for v := range bl.Col {
		cell[[2]int32{bl.Col[v] - bl.ColMin, bl.Row[v] - bl.RowMin}] = v
	}
	var ring []int
	for _, c := range [][2]int32{{0, 0}, {1, 0}, {2, 0}, {2, 1}, {2, 2}, {1, 2}, {0, 2}, {0, 1}, {1, 1}} {
		ring = append(ring, cell[c])
	}
	e := 0.52
	blockPeak := h1*(1+e*e+math.Pow(e, 4)+math.Pow(e, 6)) + hs2*(e+math.Pow(e, 3)+math.Pow(e, 5)+math.Pow(e, 7))
	for _, tc := range []struct {
		name   string
		mod    func(*config.LPBFProcess)
		block  bool
		order  []int
		peak   float64 // hand formula
		number float64 // the same, as the decimal number above
		pre    float64 // peak_preheat
		capped float64
	}{
		{"line/physical", nil, false, lineOrder, d*((1-a)*h2+a*h1) + h1, 0.8617307, d*((1-a)*h2+a*h1) + h1, 0},
		{"block/release", func(l *config.LPBFProcess) { l.Model, l.Decay, l.DecayWindow = "decay", 0.52, 8 }, true, ring,
			blockPeak, 1.1176762, 1, 1},
	} {
		cfg := config.Defaults()
		if tc.mod != nil {
			tc.mod(&cfg.LPBF)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		g := line
		if tc.block {
			g = block
		}
		ev, err := Evaluate(cfg.LPBF, g, tc.order)
		if err != nil {
			t.Fatal(err)
		}
		m := ev.Map()
		if math.Abs(tc.peak-tc.number) > 1e-6 {
			t.Fatalf("%s: hand formula %v, hand number %v", tc.name, tc.peak, tc.number)
		}
		if math.Abs(m["peak_temperature"]-tc.peak) > 1e-6 || math.Abs(m["peak_preheat"]-tc.pre) > 1e-6 || m["capped_steps"] != tc.capped {
			t.Errorf("%s: peak_temperature %.7f peak_preheat %.7f capped_steps %v; hand %.7f %.7f %v",
				tc.name, m["peak_temperature"], m["peak_preheat"], m["capped_steps"], tc.peak, tc.pre, tc.capped)
		}
		if (m["peak_temperature"] > 1) != (tc.pre == 1) { // not clipped where the capped field is
			t.Errorf("%s: peak_temperature %v", tc.name, m["peak_temperature"])
		}
		if m["residual_heat_p95"] != m["peak_temperature"] || !(m["mean_residual_heat"] > 0 && m["mean_residual_heat"] < m["peak_temperature"]) {
			t.Errorf("%s: p95 %v mean %v", tc.name, m["residual_heat_p95"], m["mean_residual_heat"])
		}
	}
}
