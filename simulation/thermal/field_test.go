package thermal

import (
	"errors"
	"math"
	"testing"

	"fabcell/planners/graph"

	"gonum.org/v1/gonum/mat"
)

func TestKernelEq12(t *testing.T) {
	p := Params{HMax: 2, RadiusFactor: 3}
	r := 0.15
	for _, tc := range []struct {
		d, want float64
	}{
		{0, 2},
		{r, 0},
		{r / 2, 2 * (1 - math.Pow(0.5, 0.8))}, // 0.851301...
		{0.05, 2 * (1 - math.Pow(1.0/3, 0.8))},
		{r * 1.0000001, 0},
		{1, 0},
		{-0.01, 0},
		{math.NaN(), 0},
	} {
		if got := p.Kernel(tc.d, r); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("Kernel(%v, %v) = %v, want %v", tc.d, r, got, tc.want)
		}
	}
	// 1 − 0.5^0.8 = 1 − 2^(−4/5) = 1 − 0.57434917750 = 0.42565082250
	if got := (Params{HMax: 1, RadiusFactor: 3}).Kernel(1, 2); math.Abs(got-0.4256508225) > 1e-10 {
		t.Errorf("h(r/2) = %v, want 0.4256508225", got)
	}
}

// The first step from a cold field is the kernel itself, for both models,
// for the lattice index and the generic hash index.
func TestFirstStepIsKernel(t *testing.T) {
	for _, g := range []*graph.Graph{square(t, 30), holed(t, 40)} {
		planar := *g
		planar.Kind = graph.Planar // forces the hash index
		for _, gg := range []*graph.Graph{g, &planar} {
			for _, model := range []Model{Diffusion, Decay} {
				p := defaultParams(t)
				p.Model = model
				f := newField(t, gg, p)
				r := 3 * 0.05
				if math.Abs(f.RadiusMM()-r) > 1e-12 {
					t.Fatalf("radius %v, want %v", f.RadiusMM(), r)
				}
				for _, c := range []int{0, g.NumNodes() / 2, g.NumNodes() - 1} {
					f.Reset()
					f.Step(c)
					heated := 0
					for v := 0; v < g.NumNodes(); v++ {
						want := p.Kernel(g.Pos[v].Sub(g.Pos[c]).Norm(), r)
						if want > 1e-12 { // nodes at exactly r may get ±1 ulp of distance
							heated++
						}
						if got := f.Temp(v); math.Abs(got-want) > 1e-12 {
							t.Fatalf("%v %v node %d after Step(%d): T = %v, want h = %v", gg.Kind, model, v, c, got, want)
						}
					}
					if gg.Kind == graph.Pixel && len(f.Active()) != heated {
						t.Fatalf("active set %d, want %d heated nodes", len(f.Active()), heated)
					}
				}
			}
		}
	}
	// the interior disc: offsets with x²+y² < 9 (h(r) = 0 at exactly r)
	want := 0
	for x := -3; x <= 3; x++ {
		for y := -3; y <= 3; y++ {
			if x*x+y*y < 9 {
				want++
			}
		}
	}
	f := newField(t, square(t, 20), defaultParams(t))
	f.Step(10*20 + 10)
	if len(f.Active()) != want || f.KernelSize() != want {
		t.Fatalf("interior kernel heats %d nodes (index bound %d), want %d", len(f.Active()), f.KernelSize(), want)
	}
}

// fieldFromWalk returns a field with a rich temperature pattern.
func fieldFromWalk(t *testing.T, g *graph.Graph, p Params, k int) *Field {
	f := newField(t, g, p)
	for _, v := range walk(g, k, 7) {
		f.Step(v)
	}
	return f
}

// One Laplacian sub-step with α ≤ 1/deg_max conserves the total heat and
// never creates a new maximum (each value becomes a convex combination of
// its closed neighbourhood).
func TestDiffusionConservesAndNoNewMaxima(t *testing.T) {
	for _, g := range []*graph.Graph{square(t, 40), holed(t, 50)} {
		for _, rate := range []float64{0.05, 0.25} {
			p := defaultParams(t)
			p.Rate = rate
			f := fieldFromWalk(t, g, p, 300)
			for sub := 0; sub < 20; sub++ {
				old := append([]float64(nil), f.t...)
				sum0, max0 := 0.0, 0.0
				for _, x := range old {
					sum0 += x
					max0 = math.Max(max0, x)
				}
				f.diffuse()
				sum1, max1 := 0.0, 0.0
				for v, x := range f.t {
					if x < 0 {
						t.Fatalf("negative temperature %v at node %d", x, v)
					}
					sum1 += x
					max1 = math.Max(max1, x)
					local := old[v]
					for _, h := range g.Neighbors(v) {
						local = math.Max(local, old[h.To])
					}
					if x > local*(1+1e-15) {
						t.Fatalf("node %d: %v exceeds the max %v of its closed neighbourhood", v, x, local)
					}
				}
				if math.Abs(sum1-sum0) > 1e-12*sum0 {
					t.Fatalf("rate %v sub-step %d: heat %v -> %v not conserved", rate, sub, sum0, sum1)
				}
				if max1 > max0*(1+1e-15) {
					t.Fatalf("new maximum %v > %v", max1, max0)
				}
			}
		}
	}
}

// The sub-step equals the dense product (I − αL)·T with L = D − A built
// independently with gonum.
func TestDiffusionMatchesDenseLaplacian(t *testing.T) {
	g := holed(t, 16)
	n := g.NumNodes()
	p := defaultParams(t)
	p.Rate = 0.2
	f := fieldFromWalk(t, g, p, 40)
	T := mat.NewVecDense(n, append([]float64(nil), f.t...))
	M := mat.NewDense(n, n, nil)
	for v := 0; v < n; v++ {
		M.Set(v, v, 1)
	}
	for _, e := range g.Edges { // I − α(D − A)
		M.Set(e.A, e.A, M.At(e.A, e.A)-p.Rate)
		M.Set(e.B, e.B, M.At(e.B, e.B)-p.Rate)
		M.Set(e.A, e.B, p.Rate)
		M.Set(e.B, e.A, p.Rate)
	}
	var want mat.VecDense
	want.MulVec(M, T)
	f.diffuse()
	for v := 0; v < n; v++ {
		if math.Abs(f.t[v]-want.AtVec(v)) > 1e-14 {
			t.Fatalf("node %d: %v, dense product %v", v, f.t[v], want.AtVec(v))
		}
	}
}

// The truncated field stays within Tolerance·HMax of a practically
// untruncated one, and the active set is much smaller.
func TestTruncationErrorBound(t *testing.T) {
	g := square(t, 60)
	for _, decay := range []float64{0.52, 0.9} {
		p := defaultParams(t)
		p.Decay = decay
		p.Tolerance = 1e-3
		ref := p
		ref.Tolerance = 1e-13
		f, e := newField(t, g, p), newField(t, g, ref)
		worst := 0.0
		for _, v := range walk(g, 2000, 3) {
			f.Step(v)
			e.Step(v)
			for u := range f.t {
				worst = math.Max(worst, math.Abs(f.t[u]-e.t[u]))
			}
		}
		if worst > f.ErrorBound() {
			t.Fatalf("decay %v: max-norm error %v exceeds the bound %v", decay, worst, f.ErrorBound())
		}
		if f.MaxActive() >= e.MaxActive() {
			t.Fatalf("decay %v: truncation did not shrink the active set (%d vs %d)", decay, f.MaxActive(), e.MaxActive())
		}
		t.Logf("decay %v: error %.3g ≤ bound %.3g; max active %d (untruncated %d)", decay, worst, f.ErrorBound(), f.MaxActive(), e.MaxActive())
	}
}

// Undo restores the field bit for bit, within and beyond the snapshot
// depth.
func TestUndoExact(t *testing.T) {
	g := holed(t, 40)
	for _, model := range []Model{Diffusion, Decay} {
		p := defaultParams(t)
		p.Model = model
		p.UndoDepth = 3
		f := newField(t, g, p)
		ref := newField(t, g, p)
		w := walk(g, 400, 11)
		var hist []int
		x := uint64(99)
		for i := 0; i < len(w); i++ {
			x = x*6364136223846793005 + 1442695040888963407
			if len(hist) > 0 && x>>60 < 6 { // undo 1..4 steps
				k := min(len(hist), 1+int(x>>40)%4)
				for j := 0; j < k; j++ {
					f.Undo()
					hist = hist[:len(hist)-1]
				}
			} else {
				f.Step(w[i])
				hist = append(hist, w[i])
			}
			ref.Reset()
			for _, v := range hist {
				ref.Step(v)
			}
			for v := range f.t {
				if math.Float64bits(f.t[v]) != math.Float64bits(ref.t[v]) {
					t.Fatalf("%v: after op %d node %d: T = %v, replay gives %v", model, i, v, f.t[v], ref.t[v])
				}
			}
			if len(f.Active()) != len(ref.Active()) || f.Steps() != len(hist) {
				t.Fatalf("%v: active %d vs %d, steps %d vs %d", model, len(f.Active()), len(ref.Active()), f.Steps(), len(hist))
			}
		}
	}
}

// The incremental decay model equals a direct recomputation, node by node,
// from the last W laser positions: T = 0; T ← min(H, δT + h(‖v − w‖)).
func TestDecayModelEquivalence(t *testing.T) {
	for _, g := range []*graph.Graph{square(t, 25), holed(t, 30)} {
		for _, win := range []int{1, 8, 20} {
			p := defaultParams(t)
			p.Model, p.Window, p.Decay = Decay, win, 0.52
			f := newField(t, g, p)
			r := p.RadiusFactor * g.MeanLengthMM()
			w := walk(g, 300, uint64(win))
			for k, c := range w {
				f.Step(c)
				lo := max(0, k+1-win)
				for v := 0; v < g.NumNodes(); v++ {
					T := 0.0
					for _, u := range w[lo : k+1] {
						T = math.Min(p.HMax, T*p.Decay+p.Kernel(g.Pos[v].Sub(g.Pos[u]).Norm(), r))
					}
					if math.Abs(f.Temp(v)-T) > 1e-12 {
						t.Fatalf("window %d step %d node %d: T = %v, direct %v", win, k, v, f.Temp(v), T)
					}
				}
			}
		}
	}
}

// Locality: the same walk in the middle of a 400² and a 1000² layer gives
// bit-identical temperatures at corresponding nodes and the same
// active-set sizes — the layer size does not enter a step.
func TestLocality(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 10⁶-node layer")
	}
	small := square(t, 40)
	ws := walk(small, 3000, 5)
	type layer struct {
		n int
		f *Field
	}
	ls := []layer{{n: 400}, {n: 1000}}
	node := func(n, c, r int) int { return (n-1-r)*n + c } // row-major from the top row
	for i := range ls {
		ls[i].f = newField(t, square(t, ls[i].n), defaultParams(t))
	}
	for k, v := range ws {
		c, r := v%40, 39-v/40
		for i := range ls {
			n := ls[i].n
			ls[i].f.Step(node(n, c+n/2-20, r+n/2-20))
		}
		a, b := ls[0].f, ls[1].f
		if len(a.Active()) != len(b.Active()) {
			t.Fatalf("step %d: active %d on 400² vs %d on 1000²", k, len(a.Active()), len(b.Active()))
		}
		for _, u := range a.Active() {
			uc, ur := int(u)%400, 399-int(u)/400
			if math.Float64bits(a.Temp(int(u))) != math.Float64bits(b.Temp(node(1000, uc+300, ur+300))) {
				t.Fatalf("step %d node (%d,%d): %v vs %v", k, uc, ur, a.Temp(int(u)), b.Temp(node(1000, uc+300, ur+300)))
			}
		}
	}
	t.Logf("max active set %d nodes (kernel %d) on both layers", ls[1].f.MaxActive(), ls[1].f.KernelSize())
}

func TestBadInput(t *testing.T) {
	g := square(t, 5)
	ok := defaultParams(t)
	for name, mod := range map[string]func(*Params){
		"h_max":    func(p *Params) { p.HMax = 0 },
		"nan":      func(p *Params) { p.HMax = math.NaN() },
		"radius":   func(p *Params) { p.RadiusFactor = -1 },
		"rings":    func(p *Params) { p.Rings = 0 },
		"rate":     func(p *Params) { p.Rate = math.Inf(1) },
		"decay=1":  func(p *Params) { p.Decay = 1 },
		"window":   func(p *Params) { p.Model, p.Window = Decay, 0 },
		"model":    func(p *Params) { p.Model = 7 },
		"tol":      func(p *Params) { p.Tolerance = 2 },
		"exponent": func(p *Params) { p.Exponent = -1 },
	} {
		p := ok
		mod(&p)
		if _, err := New(g, p); !errors.Is(err, ErrParams) {
			t.Errorf("%s: New = %v, want ErrParams", name, err)
		}
	}
	p := ok
	p.Rate = 0.3 // > 1/4 on a 4-neighbour grid
	if _, err := New(g, p); !errors.Is(err, ErrParams) {
		t.Errorf("rate 0.3 on degree-4 graph: %v", err)
	}
	if _, err := New(&graph.Graph{}, ok); err == nil {
		t.Error("empty graph accepted")
	}
	if _, err := ParseModel("magic"); err == nil {
		t.Error("unknown model accepted")
	}
	f := newField(t, g, ok)
	if _, err := Evaluate(f, []int{0, 99}, 0.5); err == nil {
		t.Error("out-of-range order accepted")
	}
	if _, err := Evaluate(f, []int{0}, 1.5); err == nil {
		t.Error("threshold 1.5 accepted")
	}
}

// Evaluate against a brute-force recomputation that scans every node at
// every step.
func TestEvaluateBruteForce(t *testing.T) {
	g := holed(t, 30)
	for _, model := range []Model{Diffusion, Decay} {
		p := defaultParams(t)
		p.Model = model
		f := newField(t, g, p)
		order := walk(g, 500, 21)
		rep, err := Evaluate(f, order, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		ref := newField(t, g, p)
		visited := make([]bool, g.NumNodes())
		peak, sumHot, sumPre := 0.0, 0.0, 0.0
		var pres []float64
		capped := 0
		hotSteps := make([]int32, g.NumNodes())
		for k, v := range order {
			if k > 0 {
				peak = math.Max(peak, ref.Temp(v))
				sumPre += ref.Temp(v)
				pres = append(pres, ref.Temp(v))
				if ref.Temp(v) == p.HMax {
					capped++
				}
			}
			visited[v] = true
			ref.Step(v)
			hot := 0
			for u := 0; u < g.NumNodes(); u++ {
				if visited[u] && ref.Temp(u) > 0.5*p.HMax {
					hot++
					hotSteps[u]++
				}
			}
			if int32(hot) != rep.HotNodes[k] {
				t.Fatalf("step %d: %d hot nodes, brute force %d", k, rep.HotNodes[k], hot)
			}
			sumHot += float64(hot)
		}
		wantFrac := sumHot / float64(len(order)) / float64(g.NumNodes())
		if rep.PeakPreheat != peak || math.Abs(rep.HotAreaFraction-wantFrac) > 1e-12 ||
			math.Abs(rep.MeanPreheat-sumPre/float64(len(order)-1)) > 1e-12 || rep.CappedSteps != capped {
			t.Fatalf("%v: report peak %v frac %v mean %v capped %d; brute force %v %v %v %d", model, rep.PeakPreheat, rep.HotAreaFraction, rep.MeanPreheat, rep.CappedSteps,
				peak, wantFrac, sumPre/float64(len(order)-1), capped)
		}
		// nearest-rank 95th percentile: 95 % of the steps are at or below it
		below := 0
		for _, x := range pres {
			if x <= rep.PreheatP95 {
				below++
			}
		}
		if float64(below) < 0.95*float64(len(pres)) || rep.PreheatP95 > peak {
			t.Fatalf("p95 %v: %d of %d at or below", rep.PreheatP95, below, len(pres))
		}
		for u := range hotSteps {
			if hotSteps[u] != rep.HotSteps[u] {
				t.Fatalf("node %d hot steps %d, brute force %d", u, rep.HotSteps[u], hotSteps[u])
			}
		}
		if rep.PeakPreheat <= 0 || rep.PreheatStd <= 0 {
			t.Fatalf("degenerate report %+v", rep.PeakPreheat)
		}
	}
}
