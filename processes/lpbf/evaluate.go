package lpbf

import (
	"fmt"
	"math"

	"fabcell/config"
	"fabcell/planners/graph"
	"fabcell/simulation/thermal"
)

// Evaluation is the output of the shared evaluator for one laser order.
type Evaluation struct {
	Order   []int
	Thermal thermal.Report
	Vectors []Vector
	Timing  Timing
	// Jumps counts consecutive entries that are not side-adjacent (the
	// paper's "lifts"); JumpMM is their total length.
	Jumps  int
	JumpMM float64
	// Revisits counts entries that reach an already scanned pixel;
	// Unvisited the pixels never reached.
	Revisits, Unvisited int
	// ErrorBound is the thermal model's truncation bound (units of H_max).
	ErrorBound float64
	PixelMM2   float64
}

// Map returns the metrics under their plan.json keys (units in the names;
// temperatures in units of lpbf.h_max; thermal.Report and the package
// comment of simulation/thermal, "Metrics", define them):
//
//	peak_temperature    peak residual heat: max over steps of the heat the
//	                    earlier exposures left in the pixel the laser
//	                    reaches, before its own deposit, not clipped at
//	                    h_max (the uncapped twin of the field)
//	residual_heat_p95   its 95th percentile over the steps
//	mean_residual_heat  its mean over the steps
//	peak_preheat        max over steps of the (capped) temperature met on
//	                    arrival, the value Eq. 13 penalises (≤ 1; before
//	                    this key existed it was called peak_temperature)
//	preheat_p95         its 95th percentile over the steps
//	capped_steps        steps at which the laser met material at the cap
//	mean_preheat        its mean over the steps
//	temperature_std     std of the per-pixel temperature met on arrival
//	hot_area_mm2        mean over steps of the scanned area hotter than
//	                    lpbf.hot_threshold·h_max
//	hot_area_fraction   hot_area_mm2 / layer area
//	jumps, jump_mm      non-adjacent steps of the order and their length
//	scan_vectors, mark_mm, laser_off_mm, mark_time_s, jump_time_s, scan_time_s
//	point_vectors       scan vectors of one pixel: zero-length hatches in
//	                    the CLI, marked for mark_delay_s only, while the
//	                    thermal model gives each pixel a full step of
//	                    spacing/scan speed (package comment)
//	revisits, unvisited, thermal_error_bound
func (e *Evaluation) Map() map[string]float64 {
	r := e.Thermal
	return map[string]float64{
		"peak_temperature":    round9(r.PeakResidual),
		"residual_heat_p95":   round9(r.ResidualP95),
		"mean_residual_heat":  round9(r.MeanResidual),
		"peak_preheat":        round9(r.PeakPreheat),
		"preheat_p95":         round9(r.PreheatP95),
		"capped_steps":        float64(r.CappedSteps),
		"mean_preheat":        round9(r.MeanPreheat),
		"temperature_std":     round9(r.PreheatStd),
		"hot_area_fraction":   round9(r.HotAreaFraction),
		"hot_area_mm2":        round9(r.HotAreaNodes * e.PixelMM2),
		"jumps":               float64(e.Jumps),
		"jump_mm":             round9(e.JumpMM),
		"scan_vectors":        float64(e.Timing.Vectors),
		"point_vectors":       float64(e.Timing.PointVectors),
		"mark_mm":             round9(e.Timing.MarkMM),
		"laser_off_mm":        round9(e.Timing.LaserOffMM),
		"mark_time_s":         round9(e.Timing.MarkS),
		"jump_time_s":         round9(e.Timing.JumpS),
		"scan_time_s":         round9(e.Timing.TotalS),
		"revisits":            float64(e.Revisits),
		"unvisited":           float64(e.Unvisited),
		"thermal_error_bound": e.ErrorBound,
	}
}

func round9(x float64) float64 { return math.Round(x*1e9) / 1e9 }

// Evaluate is the shared evaluator: the thermal history (package
// simulation/thermal, model and parameters of c), the scan vectors and the
// timing of a laser order (node indices) on the pixel graph g. Every
// planner's result and `fabcell evaluate` go through it.
func Evaluate(c config.LPBFProcess, g *graph.Graph, order []int) (*Evaluation, error) {
	lat, err := NewLattice(g)
	if err != nil {
		return nil, err
	}
	tp, err := thermal.FromConfig(c)
	if err != nil {
		return nil, fmt.Errorf("lpbf: %w", err)
	}
	f, err := thermal.New(g, tp)
	if err != nil {
		return nil, fmt.Errorf("lpbf: %w", err)
	}
	return evaluate(c, g, lat, f, order)
}

func evaluate(c config.LPBFProcess, g *graph.Graph, lat *Lattice, f *thermal.Field, order []int) (*Evaluation, error) {
	rep, err := thermal.Evaluate(f, order, c.HotThreshold)
	if err != nil {
		return nil, err
	}
	e := &Evaluation{Order: order, Thermal: rep, ErrorBound: f.ErrorBound(), PixelMM2: lat.S * lat.S}
	for i := 1; i < len(order); i++ {
		if _, _, ok := lat.Adjacent(order[i-1], order[i]); !ok {
			e.Jumps++
			e.JumpMM += g.Pos[order[i]].Sub(g.Pos[order[i-1]]).Norm()
		}
	}
	for _, n := range rep.Visited {
		if n == 0 {
			e.Unvisited++
		} else {
			e.Revisits += int(n) - 1
		}
	}
	e.Vectors = ScanVectors(lat, order)
	e.Timing = EstimateTime(c, g, e.Vectors)
	return e, nil
}
