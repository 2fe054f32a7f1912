package thermal

import (
	"fmt"
	"math"
	"sort"
)

// Report is the thermal history of one laser order on one layer: the
// shared evaluator every LPBF planner is measured with. Temperatures are in
// units of HMax.
type Report struct {
	// Steps is the number of laser positions (len(order)).
	Steps int
	// PeakPreheat is the highest temperature the laser met on arrival: the
	// maximum over k ≥ 1 of T_{k−1}(v_k), the field the planner saw when it
	// chose v_k (Eq. 13 penalises exactly this value).
	PeakPreheat float64
	// MeanPreheat is the mean of T_{k−1}(v_k) over k ≥ 1.
	MeanPreheat float64
	// PreheatStd is the standard deviation over the visited nodes of their
	// preheat (the start node has 0): how uniform the melting conditions are.
	PreheatStd float64
	// PreheatP95 is the 95th percentile of T_{k−1}(v_k) over k ≥ 1 (nearest
	// rank), a robust companion of the peak.
	PreheatP95 float64
	// CappedSteps counts the steps at which the laser met material at the
	// cap (T_{k−1}(v_k) = HMax).
	CappedSteps int
	// PeakResidual is the peak residual heat (the evaluator's
	// peak_temperature; package comment, "Metrics"): the maximum over
	// k ≥ 1 of R_k = U_{k−1}(v_k), where U is the uncapped twin of the
	// field (same model, parameters and laser order, kernels added without
	// the cap; Params.Uncapped). R_k is the heat that the earlier
	// exposures left in pixel v_k when the laser reaches it, in units of
	// HMax (1 = as much heat as one laser deposit puts into its own
	// pixel); unlike PeakPreheat it is not clipped at HMax. For an
	// uncapped field R_k = T_{k−1}(v_k).
	PeakResidual float64
	// ResidualP95 is the 95th percentile (nearest rank) and MeanResidual
	// the mean of R_k over k ≥ 1.
	ResidualP95, MeanResidual float64
	// HotAreaNodes is the mean over the steps k of the number of visited
	// nodes whose temperature T_k exceeds HotThreshold·HMax (multiply by the
	// pixel area for mm²).
	HotAreaNodes float64
	// HotAreaFraction is HotAreaNodes divided by the number of nodes of the
	// layer: the share of the layer that is scanned and hot, averaged over
	// the scan. (Dividing by the nodes visited so far at each step instead
	// would weight the first hundred steps of a 15,000-step scan as much as
	// all the others, since that count starts at 1.)
	HotAreaFraction float64
	// HotThreshold is the threshold used, as a fraction of HMax.
	HotThreshold float64
	// Preheat per node: the largest T met on arrival over its visits (0 for
	// unvisited nodes and the start).
	Preheat []float64
	// Residual per node: the largest R met on arrival over its visits (0
	// for unvisited nodes and the start).
	Residual []float64
	// HotSteps per node: the number of steps during which it was visited
	// and hot (its hot-area history).
	HotSteps []int32
	// HotNodes per step k: the number of hot visited nodes after step k.
	HotNodes []int32
	// Visited per node: how often the laser reached it.
	Visited []int32
	// MaxActive is the largest active set during the evaluation.
	MaxActive int
}

// Evaluate replays order (laser node indices) on f from a cold field and
// returns the thermal report; f ends in the state after the last step
// (keeping no undo snapshots of the replay: an Undo right after Evaluate
// rebuilds the field from the laser history, exactly but in O(steps)).
// The residual-heat fields of the report come from an uncapped twin of f
// (built once per Field, sharing its kernel index) stepped alongside.
// hotThreshold is a fraction of HMax in [0, 1]. Cost O(Σ active set) — in
// practice linear in len(order), whatever the layer size.
func Evaluate(f *Field, order []int, hotThreshold float64) (Report, error) {
	n := f.g.NumNodes()
	if !(hotThreshold >= 0 && hotThreshold <= 1) {
		return Report{}, fmt.Errorf("thermal: hot threshold %v: want a fraction of h_max in [0, 1]", hotThreshold)
	}
	for i, v := range order {
		if v < 0 || v >= n {
			return Report{}, fmt.Errorf("thermal: order[%d] = %d: node index out of range [0,%d)", i, v, n)
		}
	}
	r := Report{
		Steps: len(order), HotThreshold: hotThreshold,
		Preheat: make([]float64, n), Residual: make([]float64, n), HotSteps: make([]int32, n), Visited: make([]int32, n),
		HotNodes: make([]int32, len(order)),
	}
	f.Reset()
	f.maxActive = 0
	f.noSnap = true // a replay never undoes; a later Undo rebuilds (exact)
	defer func() { f.noSnap = false }()
	u := f.uncappedTwin() // nil: f is uncapped itself
	if u != nil {
		u.Reset()
	}
	thr := hotThreshold * f.p.HMax
	visited := 0
	var sumPre, sumRes, sumHot float64
	pres := make([]float64, 0, max(0, len(order)-1))
	ress := make([]float64, 0, max(0, len(order)-1))
	for k, v := range order {
		if k > 0 {
			pre := f.t[v]
			pres = append(pres, pre)
			sumPre += pre
			r.PeakPreheat = math.Max(r.PeakPreheat, pre)
			r.Preheat[v] = math.Max(r.Preheat[v], pre)
			if pre >= f.p.HMax {
				r.CappedSteps++
			}
			res := pre
			if u != nil {
				res = u.t[v]
			}
			ress = append(ress, res)
			sumRes += res
			r.PeakResidual = math.Max(r.PeakResidual, res)
			r.Residual[v] = math.Max(r.Residual[v], res)
		}
		if r.Visited[v] == 0 {
			visited++
		}
		r.Visited[v]++
		f.Step(v)
		if u != nil {
			u.Step(v)
		}
		hot := 0
		for _, w := range f.active {
			if r.Visited[w] > 0 && f.t[w] > thr {
				hot++
				r.HotSteps[w]++
			}
		}
		r.HotNodes[k] = int32(hot)
		sumHot += float64(hot)
	}
	if len(pres) > 0 {
		r.MeanPreheat = sumPre / float64(len(pres))
		r.PreheatP95 = p95(pres)
		r.MeanResidual = sumRes / float64(len(ress))
		r.ResidualP95 = p95(ress)
	}
	if len(order) > 0 {
		r.HotAreaNodes = sumHot / float64(len(order))
		r.HotAreaFraction = r.HotAreaNodes / float64(n)
	}
	// two-pass standard deviation over visited nodes
	mean := 0.0
	for v := 0; v < n; v++ {
		if r.Visited[v] > 0 {
			mean += r.Preheat[v]
		}
	}
	if visited > 0 {
		mean /= float64(visited)
		ss := 0.0
		for v := 0; v < n; v++ {
			if r.Visited[v] > 0 {
				d := r.Preheat[v] - mean
				ss += d * d
			}
		}
		r.PreheatStd = math.Sqrt(ss / float64(visited))
	}
	r.MaxActive = f.maxActive
	return r, nil
}

// p95 returns the nearest-rank 95th percentile of x (len(x) > 0); x is
// sorted in place.
func p95(x []float64) float64 {
	sort.Float64s(x)
	return x[int(math.Ceil(0.95*float64(len(x))))-1]
}

// uncappedTwin returns the field's uncapped twin (Params.Uncapped, same
// graph, parameters and kernel index; its own state), or nil if f is
// uncapped itself.
func (f *Field) uncappedTwin() *Field {
	if f.p.Uncapped {
		return nil
	}
	if f.twin == nil {
		f.twin = f.NewResidual()
		f.twin.noSnap = true // Evaluate never undoes
	}
	return f.twin
}

// NewResidual returns a new cold uncapped field (Params.Uncapped) with f's
// graph, model, parameters and kernel index (shared, read only) and its own
// state and undo snapshots: the residual-heat field U that Evaluate steps
// alongside f. Stepped with the same laser order from a Reset, its
// Temp(v) before the laser reaches v is exactly the R_k that Evaluate
// reports (Report.PeakResidual, ResidualP95, MeanResidual), so a planner
// that keeps one beside its own field sees the values it will be measured
// with. Cost per Step/Undo as for f (local, independent of the layer
// size).
func (f *Field) NewResidual() *Field {
	p := f.p
	p.Uncapped = true
	n := len(f.t)
	return &Field{g: f.g, p: p, rMM: f.rMM, eps: f.eps, alpha: f.alpha, idx: f.idx, depth: f.depth,
		t: make([]float64, n), stamp: make([]uint32, n), slot: make([]int32, n)}
}
