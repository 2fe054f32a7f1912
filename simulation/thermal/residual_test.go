package thermal

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// Hand-computed kernel values of Eq. 12 at r = 3 pitches, H_max = 1:
// h(d) = 1 − (d/3)^0.8 with d in pitches.
const (
	h1     = 0.5847564 // 1 − 3^−0.8 = 1 − 0.4152436
	hSqrt2 = 0.4520827 // 1 − (√2/3)^0.8 = 1 − 0.5479173
	h2     = 0.2770188 // 1 − (2/3)^0.8 = 1 − 0.7229812
)

func manualParams(model Model) Params {
	return Params{HMax: 1, RadiusFactor: 3, Model: model, Rings: 1, Rate: 0.1, Decay: 0.9, Window: 16}
}

// The residual-heat metrics on tiny layers whose values are computed by
// hand above (not with the package's kernel code).
func TestResidualHandComputed(t *testing.T) {
	line := pixelGraph(t, 3, 1, 0.05, func(c, r int) bool { return true })
	block := pixelGraph(t, 3, 3, 0.05, func(c, r int) bool { return true })
	at := func(c, r int) int { // node of cell (c, r) in the 3×3 block
		for v, q := range block.Pos {
			if int(q.X/0.05) == c && int(q.Y/0.05) == r {
				return v
			}
		}
		t.Fatalf("no node at (%d,%d)", c, r)
		return -1
	}
	// the eight border cells clockwise from a corner, then the centre
	ring := []int{at(0, 0), at(1, 0), at(2, 0), at(2, 1), at(2, 2), at(1, 2), at(0, 2), at(0, 1), at(1, 1)}
	lineOrder := make([]int, 3) // left to right
	for v, q := range line.Pos {
		lineOrder[int(q.X/0.05)] = v
	}

	for _, tc := range []struct {
		name      string
		p         Params
		order     []int
		graph     int // 0 line, 1 block
		peakRes   float64
		meanRes   float64
		peakPre   float64
		cappedHit int
	}{
		// decay model, δ = 0.5, window ≥ steps: R_k = Σ_{j<k} δ^(k−1−j) h(d_jk).
		// line: R_1 = h1, R_2 = h1 + 0.5·h2 = 0.7232658; no cap is hit, so
		// residual = preheat.
		{"line/decay", Params{HMax: 1, RadiusFactor: 3, Model: Decay, Decay: 0.5, Window: 16}, lineOrder, 0,
			h1 + 0.5*h2, (h1 + h1 + 0.5*h2) / 2, h1 + 0.5*h2, 0},
		// diffusion α = 0.1, δ = 0.9 on the 3-pixel line: after step 0
		// U = (1, h1, h2); R_1 = h1; step 1 relaxes node 2 to
		// 0.9·(0.9·h2 + 0.1·h1) and adds h1: R_2 = 0.8617697.
		{"line/diffusion", manualParams(Diffusion), lineOrder, 0,
			0.9*(0.9*h2+0.1*h1) + h1, (h1 + 0.9*(0.9*h2+0.1*h1) + h1) / 2, 0.9*(0.9*h2+0.1*h1) + h1, 0},
		// 3×3 block, border first, centre last, decay model δ = 0.5: the
		// centre's residual is
		//   h1·(1 + 0.5² + 0.5⁴ + 0.5⁶) + h√2·(0.5 + 0.5³ + 0.5⁵ + 0.5⁷)
		//   = 1.328125·h1 + 0.6640625·h√2 = 1.0768407 > 1,
		// while the capped field already sits at the cap (1) when the
		// laser arrives: the peak preheat is 1, the peak residual is not
		// clipped.
		{"block/decay", Params{HMax: 1, RadiusFactor: 3, Model: Decay, Decay: 0.5, Window: 16}, ring, 1,
			1.328125*h1 + 0.6640625*hSqrt2, -1, 1, 1},
	} {
		g := line
		if tc.graph == 1 {
			g = block
		}
		f := newField(t, g, tc.p)
		rep, err := Evaluate(f, tc.order, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(rep.PeakResidual-tc.peakRes) > 1e-6 {
			t.Errorf("%s: peak residual %.7f, hand %.7f", tc.name, rep.PeakResidual, tc.peakRes)
		}
		if tc.meanRes >= 0 && math.Abs(rep.MeanResidual-tc.meanRes) > 1e-6 {
			t.Errorf("%s: mean residual %.7f, hand %.7f", tc.name, rep.MeanResidual, tc.meanRes)
		}
		if math.Abs(rep.PeakPreheat-tc.peakPre) > 1e-6 || rep.CappedSteps != tc.cappedHit {
			t.Errorf("%s: peak preheat %.7f (%d capped steps), hand %.7f (%d)", tc.name, rep.PeakPreheat, rep.CappedSteps, tc.peakPre, tc.cappedHit)
		}
		last := tc.order[len(tc.order)-1]
		if rep.Residual[last] != rep.PeakResidual || rep.Residual[tc.order[0]] != 0 {
			t.Errorf("%s: per-node residual %v", tc.name, rep.Residual)
		}
		if rep.ResidualP95 != rep.PeakResidual { // nearest rank of ≤ 8 values is the largest
			t.Errorf("%s: p95 %v, peak %v", tc.name, rep.ResidualP95, rep.PeakResidual)
		}
	}
	if math.Abs(1.328125*h1+0.6640625*hSqrt2-1.0768407) > 1e-6 || math.Abs(h1+0.5*h2-0.7232658) > 1e-6 ||
		math.Abs(0.9*(0.9*h2+0.1*h1)+h1-0.8617697) > 1e-6 {
		t.Fatal("hand arithmetic")
	}
	// the kernel constants above against Eq. 12
	p := Params{HMax: 1, RadiusFactor: 3}
	for _, c := range []struct{ d, h float64 }{{1, h1}, {math.Sqrt2, hSqrt2}, {2, h2}} {
		if got := p.Kernel(c.d, 3); math.Abs(got-c.h) > 1e-7 {
			t.Fatalf("h(%v) = %v, hand %v", c.d, got, c.h)
		}
	}
}

// An uncapped field adds kernels without the cap: the same node heated
// again and again holds Σ δ^i, not H_max.
func TestUncappedField(t *testing.T) {
	g := square(t, 9)
	c := 4*9 + 4
	for _, model := range []Model{Decay, Diffusion} {
		p := manualParams(model)
		p.Rate = 0
		p.Decay = 0.5
		p.Window = 8
		p.Uncapped = true
		f := newField(t, g, p)
		for i := 0; i < 10; i++ {
			f.Step(c)
		}
		want := 1.9921875 // Σ_{i<8} 0.5^i (window 8)
		if model == Diffusion {
			want = 1.998046875 // Σ_{i<10} 0.5^i
		}
		if math.Abs(f.Temp(c)-want) > 1e-12 {
			t.Errorf("%v: T = %v after 10 deposits, want %v", model, f.Temp(c), want)
		}
		p.Uncapped = false
		fc := newField(t, g, p)
		for i := 0; i < 10; i++ {
			fc.Step(c)
		}
		if fc.Temp(c) != 1 {
			t.Errorf("%v capped: T = %v, want the cap 1", model, fc.Temp(c))
		}
	}
}

// The residual heat of Evaluate equals a dense, untruncated, uncapped
// recomputation U_k = δ(I − αL)^n U_{k−1} + K(v_k) within the truncation
// bound, on a layer with holes and an island and a walk with jumps.
func TestResidualMatchesDenseLinearModel(t *testing.T) {
	g := holed(t, 16)
	n := g.NumNodes()
	p := defaultParams(t)
	f := newField(t, g, p)
	order := walk(g, 600, 5)
	rep, err := Evaluate(f, order, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	S := mat.NewDense(n, n, nil) // I − αL
	for v := 0; v < n; v++ {
		S.Set(v, v, 1)
	}
	for _, e := range g.Edges {
		S.Set(e.A, e.A, S.At(e.A, e.A)-p.Rate)
		S.Set(e.B, e.B, S.At(e.B, e.B)-p.Rate)
		S.Set(e.A, e.B, S.At(e.A, e.B)+p.Rate)
		S.Set(e.B, e.A, S.At(e.B, e.A)+p.Rate)
	}
	M := mat.NewDense(n, n, nil)
	M.Scale(p.Decay, S)
	for i := 1; i < p.Rings; i++ {
		M.Mul(M, S)
	}
	r := f.RadiusMM()
	U := mat.NewVecDense(n, nil)
	var next mat.VecDense
	peak, sum := 0.0, 0.0
	resid := make([]float64, n)
	exceeded := false
	for k, v := range order {
		if k > 0 {
			x := U.AtVec(v)
			peak = math.Max(peak, x)
			sum += x
			resid[v] = math.Max(resid[v], x)
			exceeded = exceeded || x > p.HMax
			next.MulVec(M, U)
			U.CopyVec(&next)
		}
		for u := 0; u < n; u++ {
			d := g.Pos[u].Sub(g.Pos[v]).Norm()
			if d <= r {
				U.SetVec(u, U.AtVec(u)+p.HMax*(1-math.Pow(d/r, 0.8)))
			}
		}
	}
	tol := f.ErrorBound() + 1e-12
	if math.Abs(rep.PeakResidual-peak) > tol || math.Abs(rep.MeanResidual-sum/float64(len(order)-1)) > tol {
		t.Fatalf("peak %v mean %v; dense %v %v (bound %v)", rep.PeakResidual, rep.MeanResidual, peak, sum/float64(len(order)-1), tol)
	}
	for v := range resid {
		if math.Abs(rep.Residual[v]-resid[v]) > tol {
			t.Fatalf("node %d: residual %v, dense %v", v, rep.Residual[v], resid[v])
		}
	}
	if !exceeded || !(rep.PeakResidual > rep.PeakPreheat) {
		t.Fatalf("walk never exceeds the cap (peak residual %v, preheat %v): the test does not exercise the cap", rep.PeakResidual, rep.PeakPreheat)
	}
	// an uncapped field is its own twin: residual = preheat
	pu := p
	pu.Uncapped = true
	repU, err := Evaluate(newField(t, g, pu), order, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if repU.PeakResidual != repU.PeakPreheat || math.Abs(repU.PeakResidual-rep.PeakResidual) > 1e-12 {
		t.Fatalf("uncapped field: residual %v preheat %v, twin %v", repU.PeakResidual, repU.PeakPreheat, rep.PeakResidual)
	}
}

// Evaluate keeps no undo snapshots of its replay; Undo right after it
// still restores the previous field exactly (rebuilt from the history),
// and Step/Undo keep snapshots again afterwards.
func TestUndoAfterEvaluate(t *testing.T) {
	g := holed(t, 20)
	p := defaultParams(t)
	order := walk(g, 200, 9)
	f := newField(t, g, p)
	if _, err := Evaluate(f, order, 0.5); err != nil {
		t.Fatal(err)
	}
	f.Undo()
	ref := newField(t, g, p)
	for _, v := range order[:len(order)-1] {
		ref.Step(v)
	}
	for v := range f.t {
		if math.Float64bits(f.t[v]) != math.Float64bits(ref.t[v]) {
			t.Fatalf("node %d after Evaluate+Undo: %v, replay %v", v, f.t[v], ref.t[v])
		}
	}
	f.Step(order[0])
	if len(f.snaps) == 0 {
		t.Fatal("Step after Evaluate kept no snapshot")
	}
	f.Undo()
	for v := range f.t {
		if math.Float64bits(f.t[v]) != math.Float64bits(ref.t[v]) {
			t.Fatalf("node %d after Step+Undo: %v, replay %v", v, f.t[v], ref.t[v])
		}
	}
}

// NewResidual: a residual field stepped beside the planner's field shows,
// before each step, exactly the R_k that Evaluate reports (bit for bit,
// per node and peak), for both models; Undo on it is exact and the
// evaluator's own twin is not disturbed by it.
func TestNewResidualMatchesEvaluate(t *testing.T) {
	g := holed(t, 20)
	for _, model := range []Model{Diffusion, Decay} {
		p := defaultParams(t)
		p.Model = model
		if model == Decay {
			p.Decay, p.Window = 0.52, 8
		}
		order := walk(g, 400, 3)
		f := newField(t, g, p)
		rep, err := Evaluate(f, order, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		r := f.NewResidual()
		if !r.Params().Uncapped || r.Steps() != 0 {
			t.Fatalf("%v: NewResidual is not a cold uncapped field: %+v, %d steps", model, r.Params(), r.Steps())
		}
		got := make([]float64, g.NumNodes())
		peak := 0.0
		for k, v := range order {
			if k > 0 {
				got[v] = math.Max(got[v], r.Temp(v))
				peak = math.Max(peak, r.Temp(v))
			}
			r.Step(v)
		}
		for v := range got {
			if math.Float64bits(got[v]) != math.Float64bits(rep.Residual[v]) {
				t.Fatalf("%v: node %d: residual field %v, Evaluate %v", model, v, got[v], rep.Residual[v])
			}
		}
		if peak != rep.PeakResidual || peak <= p.HMax {
			t.Fatalf("%v: peak %v, Evaluate %v (want above h_max for this walk)", model, peak, rep.PeakResidual)
		}
		// exact Undo: back 37 steps, compare with a replay of the prefix
		for range 37 {
			r.Undo()
		}
		ref := f.NewResidual()
		for _, v := range order[:len(order)-37] {
			ref.Step(v)
		}
		for v := range ref.t {
			if math.Float64bits(r.Temp(v)) != math.Float64bits(ref.Temp(v)) {
				t.Fatalf("%v: node %d after Undo: %v, replay %v", model, v, r.Temp(v), ref.Temp(v))
			}
		}
		// the evaluator's twin is separate: a second Evaluate is unchanged
		rep2, err := Evaluate(f, order, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		if rep2.PeakResidual != rep.PeakResidual {
			t.Fatalf("%v: Evaluate after NewResidual: peak %v, was %v", model, rep2.PeakResidual, rep.PeakResidual)
		}
	}
}
