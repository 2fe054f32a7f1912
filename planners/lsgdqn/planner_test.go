package lsgdqn

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/dqn"
	"fabcell/planners/graph"

	"github.com/golang/geo/r3"
	"go.uber.org/goleak"
)

func TestTerminationRule(t *testing.T) {
	// ring 2, factors 3/2 → at least 6 episodes, patience 4, cap 10
	cases := []struct {
		name    string
		returns []float64
		stopAt  int // episodes after which Done first reports true
	}{
		{"flat", []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 6},
		{"late improvement", []float64{1, 1, 1, 1, 1, 2, 2, 2, 2, 2}, 10},
		{"keeps improving", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10},
		{"improvement at 3 then flat", []float64{0, 0, 5, 5, 5, 5, 5, 5, 5, 5}, 7},
		{"negative returns", []float64{-3, -2, -2, -2, -2, -2, -2, -2}, 6},
	}
	for _, c := range cases {
		term := NewTermination(2, 3, 2, 10)
		got := -1
		for i, r := range c.returns {
			if term.Done() {
				t.Fatalf("%s: done before episode %d", c.name, i+1)
			}
			term.Observe(r)
			if term.Done() {
				got = i + 1
				break
			}
		}
		if got != c.stopAt {
			t.Errorf("%s: stopped after %d episodes, want %d", c.name, got, c.stopAt)
		}
	}
}

func denseState(vals map[int32]float64) State {
	var s State
	keys := make([]int32, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s.Idx = append(s.Idx, k)
		s.Val = append(s.Val, vals[k])
	}
	return s
}

func TestSimilarityEq3(t *testing.T) {
	a := denseState(map[int32]float64{0: 1, 5: -0.5, 9: 0.25})
	b := denseState(map[int32]float64{5: 0.5, 7: 1})
	// independent dense computation
	da, db := make([]float64, 12), make([]float64, 12)
	for i, k := range a.Idx {
		da[k] = a.Val[i]
	}
	for i, k := range b.Idx {
		db[k] = b.Val[i]
	}
	ss := 0.0
	for i := range da {
		ss += (da[i] - db[i]) * (da[i] - db[i])
	}
	want := 1 / (1 + 0.2*math.Sqrt(ss))
	if got := Similarity(a, b, 0.2); math.Abs(got-want) > 1e-15 {
		t.Errorf("sim = %v, want %v", got, want)
	}
	if got := Similarity(a, a, 0.2); got != 1 {
		t.Errorf("self similarity %v", got)
	}
	if Similarity(a, b, 0.2) != Similarity(b, a, 0.2) {
		t.Error("not symmetric")
	}
	// StateFromBuffer normalises by the largest absolute entry over the
	// three channels and ignores the extra rows.
	lo := fastOptions(1).layout()
	buf := make([]float64, lo.Len())
	buf[lo.Index(0, 0, 1)] = 0.5
	buf[lo.Index(0, 1, 0)] = 0.5
	buf[lo.Index(2, 1, 0)] = -2
	buf[lo.Index(1, lo.N+1, 0)] = 7 // extra row: not part of S
	st := StateFromBuffer(lo, buf, 2, State{})
	if len(st.Idx) != 3 || st.Val[2] != -1 || st.Val[0] != 0.25 {
		t.Errorf("state %+v", st)
	}
}

// scalar states: one entry, so ‖a−b‖ = |a−b| and the similarity order is
// the order of distances.
func scalar(v float64) State { return State{Idx: []int32{0}, Val: []float64{v}} }

func bankValues(b *Bank) []float64 {
	var out []float64
	for _, e := range b.entries {
		if len(e.state.Val) > 0 {
			out = append(out, e.state.Val[0])
		} else {
			out = append(out, 0)
		}
	}
	slices.Sort(out)
	return out
}

func TestEvictionRule(t *testing.T) {
	o := fastOptions(1)
	net := newRunnerNet(t, o)
	b := NewBank(3, 0.2, o.Net)
	for _, v := range []float64{0.01, 0.1, 0.5} {
		if !b.Offer(scalar(v), net) {
			t.Fatalf("offer %v rejected while not full", v)
		}
	}
	// + 0.9: closest pair (0.01, 0.1); s_0.01 = sim(|0.01−0.5|), s_0.1 =
	// sim(|0.1−0.5|) is larger → 0.1 goes.
	if !b.Offer(scalar(0.9), net) {
		t.Fatal("0.9 rejected")
	}
	if got := bankValues(b); !slices.Equal(got, []float64{0.01, 0.5, 0.9}) {
		t.Fatalf("bank %v, want [0.01 0.5 0.9]", got)
	}
	// + 0.05: closest pair (0.01, 0.05); s_0.05 = sim(|0.05−0.5|) beats
	// s_0.01 = sim(|0.01−0.5|) → the new pair is the one dropped.
	if b.Offer(scalar(0.05), net) {
		t.Fatal("0.05 should have been evicted on arrival")
	}
	if got := bankValues(b); !slices.Equal(got, []float64{0.01, 0.5, 0.9}) {
		t.Fatalf("bank %v", got)
	}
	// tie: {−0.5, 0.5} then 0 → pairs (−0.5,0) and (0,0.5) tie at distance
	// 0.5; the first found is (−0.5, 0): s_−0.5 = sim(1) < s_0 = sim(0.5)
	// → 0 (the new one) is dropped.
	b2 := NewBank(2, 0.2, o.Net)
	b2.Offer(scalar(-0.5), net)
	b2.Offer(scalar(0.5), net)
	if b2.Offer(scalar(0), net) {
		t.Errorf("middle state kept: %v", bankValues(b2))
	}
	// exact tie of s_a and s_b: K = 1 has no third state; the older goes.
	b1 := NewBank(1, 0.2, o.Net)
	b1.Offer(scalar(0.3), net)
	if !b1.Offer(scalar(0.7), net) || !slices.Equal(bankValues(b1), []float64{0.7}) {
		t.Errorf("K=1 bank %v, want the newer [0.7]", bankValues(b1))
	}
	// Best picks the most similar entry.
	if k, sim := b.Best(scalar(0.6)); b.entries[k].state.Val[0] != 0.5 || math.Abs(sim-1/(1+0.2*0.1)) > 1e-12 {
		t.Errorf("best %d (%v) sim %v", k, b.entries[k].state.Val, sim)
	}
	// K = 0 disables the bank.
	if NewBank(0, 0.2, o.Net).Offer(scalar(1), net) {
		t.Error("K=0 bank stored a network")
	}
}

func newRunnerNet(t testing.TB, o Options) *dqn.Net {
	t.Helper()
	r, err := newRunner(&o, newSession(t, gridGraph(t, 3, 3, true)), NewBank(0, 0.2, o.Net), 0)
	if err != nil {
		t.Fatal(err)
	}
	return r.online
}

func TestBankSaveLoad(t *testing.T) {
	o := fastOptions(2)
	dir := t.TempDir()
	path := filepath.Join(dir, "bank.bin")
	g := gridGraph(t, 6, 6, true)
	// learn on a grid with K = 4 and save
	o.PriorK = 4
	o.BankPath = path
	p := newPlanner(t, o)
	s := newSession(t, g)
	if _, err := planners.Run(context.Background(), p, s, nil); err != nil {
		t.Fatal(err)
	}
	if p.Bank().Len() != 4 || p.Stats().PriorReused == 0 {
		t.Fatalf("bank %d entries, reused %d", p.Bank().Len(), p.Stats().PriorReused)
	}
	b, err := LoadBank(path, 4, 0.2, p.opt.Net)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 4 {
		t.Fatalf("loaded %d entries", b.Len())
	}
	// same states and same Q-values
	lo := o.layout()
	in := make([]float64, lo.Len())
	for i := range 30 {
		in[lo.Index(0, i%7, (i*3)%7)] = 0.3
	}
	q1, q2 := make([]float64, o.NMax), make([]float64, o.NMax)
	for i := range b.entries {
		e1, e2 := p.Bank().entries[i], b.entries[i]
		if !slices.Equal(e1.state.Idx, e2.state.Idx) || !slices.Equal(e1.state.Val, e2.state.Val) {
			t.Fatalf("entry %d state differs after round trip", i)
		}
		e1.net.Forward(dqnInput(7, in), q1)
		e2.net.Forward(dqnInput(7, in), q2)
		if !slices.Equal(q1, q2) {
			t.Fatalf("entry %d network differs after round trip", i)
		}
	}
	// a smaller K reduces the bank by the eviction rule
	if b2, err := LoadBank(path, 2, 0.2, p.opt.Net); err != nil || b2.Len() != 2 {
		t.Fatalf("K=2 load: %v, %d entries", err, b2.Len())
	}
	// a second job loads the bank and starts from it
	p2 := newPlanner(t, o)
	if _, err := planners.Run(context.Background(), p2, newSession(t, g), nil); err != nil {
		t.Fatal(err)
	}
	if p2.Stats().PriorReused != p2.Stats().Decisions {
		t.Errorf("second job reused the bank %d times in %d decisions", p2.Stats().PriorReused, p2.Stats().Decisions)
	}
	// corrupt, truncated, wrong shape, missing
	data, _ := os.ReadFile(path)
	bad := slices.Clone(data)
	bad[len(bad)/2] ^= 0xff
	os.WriteFile(filepath.Join(dir, "corrupt"), bad, 0o644)
	os.WriteFile(filepath.Join(dir, "short"), data[:len(data)/3], 0o644)
	os.WriteFile(filepath.Join(dir, "junk"), []byte("hello"), 0o644)
	for _, name := range []string{"corrupt", "short", "junk"} {
		if _, err := LoadBank(filepath.Join(dir, name), 4, 0.2, p.opt.Net); !errors.Is(err, ErrBankFile) {
			t.Errorf("%s: %v, want ErrBankFile", name, err)
		}
	}
	other := fastOptions(3).Net
	if _, err := LoadBank(path, 4, 0.2, other); !errors.Is(err, ErrBankFile) {
		t.Errorf("shape mismatch: %v", err)
	}
	if _, err := LoadBank(filepath.Join(dir, "none"), 4, 0.2, p.opt.Net); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	// the planner reports a bad bank as a configuration error
	o.BankPath = filepath.Join(dir, "corrupt")
	if _, err := planners.Run(context.Background(), newPlanner(t, o), newSession(t, g), nil); err == nil || !errors.Is(err, ErrBankFile) {
		t.Errorf("plan with corrupt bank: %v", err)
	}
}

func planMoves(t *testing.T, o Options, g *graph.Graph) ([]planners.Move, *Planner) {
	t.Helper()
	p := newPlanner(t, o)
	moves, err := planners.Run(context.Background(), p, newSession(t, g), nil)
	if err != nil {
		t.Fatal(err)
	}
	return moves, p
}

func TestDeterministicUnderSeed(t *testing.T) {
	g := gridGraph(t, 6, 5, true)
	o := fastOptions(2)
	o.PriorK = 3
	m1, p1 := planMoves(t, o, g)
	m2, _ := planMoves(t, o, g)
	if !slices.Equal(m1, m2) {
		t.Fatal("same seed gave different plans")
	}
	if p1.Stats().Decisions == 0 {
		t.Fatal("no learned decision: the test exercises nothing")
	}
	// restarts: the plan does not depend on how many workers run them
	o.Restarts = 3
	o.Workers = 1
	m3, _ := planMoves(t, o, g)
	o.Workers = 2
	m4, _ := planMoves(t, o, g)
	if !slices.Equal(m3, m4) {
		t.Fatal("restarts depend on the worker count")
	}
	// the best of three attempts is at least as good as attempt 0 alone
	r1, _ := totalReward(t, g, m1)
	r3, _ := totalReward(t, g, m3)
	if r3 < r1-1e-9 {
		t.Errorf("3 restarts %.4f worse than one attempt %.4f", r3, r1)
	}
}

// TestCompletesRealGraph plans the Femur wire-frame (263 nodes, 772 struts)
// to completion and checks the plan with the evaluate code path.
func TestCompletesRealGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("Femur plan takes a few seconds")
	}
	g := loadGraph(t, femur)
	o := fastOptions(2)
	o.EpisodeFactor, o.PatienceFactor = 2, 1
	moves, p := planMoves(t, o, g)
	_, m := totalReward(t, g, moves)
	if m["complete"] != 1 || m["prints"] != float64(g.NumEdges()) {
		t.Fatalf("incomplete: %v", m)
	}
	st := p.Stats()
	if st.Decisions == 0 || st.PriorReused == 0 {
		t.Errorf("stats %+v", st)
	}
}

// stuckSession forbids jumps: the planner must report ErrStuck.
type stuckSession struct{ planners.Session }

func (stuckSession) Jump() []planners.Move { return nil }

func TestJumpWhenStuck(t *testing.T) {
	// two triangles 10 mm apart: after the first is printed the tool must
	// jump to the other one
	pos := []r3.Vector{{}, {X: 10}, {X: 5, Y: 8}, {X: 40}, {X: 50}, {X: 45, Y: 8}}
	edges := []graph.Edge{{A: 0, B: 1}, {A: 1, B: 2}, {A: 0, B: 2}, {A: 3, B: 4}, {A: 4, B: 5}, {A: 3, B: 5}}
	g := mustGraph(t, pos, edges)
	o := fastOptions(2)
	moves, p := planMoves(t, o, g)
	jumps := 0
	for _, m := range moves {
		if m.Kind == planners.Jump {
			jumps++
			if m.Edge != -1 {
				t.Errorf("jump with edge %d", m.Edge)
			}
		}
	}
	if jumps != 1 || p.Stats().JumpChains != 1 || len(moves) != 7 {
		t.Errorf("%d jumps (%d chains) in %d moves: %v", jumps, p.Stats().JumpChains, len(moves), moves)
	}
	// a process that cannot jump leaves the planner stuck
	s := stuckSession{newSession(t, g)}
	_, err := planners.Run(context.Background(), newPlanner(t, o), s, nil)
	if !errors.Is(err, planners.ErrStuck) {
		t.Errorf("err = %v, want ErrStuck", err)
	}
	// a session already begun is continued from its node
	s2 := newSession(t, g)
	s2.Begin(4)
	moves, err = planners.Run(context.Background(), newPlanner(t, o), s2, nil)
	if err != nil || moves[0].From != 4 || !s2.Done() {
		t.Errorf("continue from node 4: %v, first %v", err, moves[0])
	}
}

func TestCancellation(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := loadGraph(t, bunny)
	o := DefaultOptions() // full budget: one decision takes long enough to be interrupted
	o.ExactMaxLeaves = 0  // every decision learns
	p := newPlanner(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, wait := planners.Stream(ctx, p, newSession(t, g), 1)
	// cancel in the middle of the first learned decision
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	cancel()
	done := make(chan error, 1)
	go func() {
		for range ch {
		}
		done <- wait()
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		t.Logf("stopped %v after cancellation", time.Since(t0))
	case <-time.After(10 * time.Second):
		t.Fatal("planner did not stop after cancellation")
	}
}

func TestStreamEmitsBeforeCompletion(t *testing.T) {
	g := gridGraph(t, 6, 6, true)
	o := fastOptions(2)
	s := newSession(t, g)
	p := newPlanner(t, o)
	var progressAtEmit []int
	err := p.Plan(context.Background(), s, func(m planners.Move) error {
		d, _ := s.Progress()
		progressAtEmit = append(progressAtEmit, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// each move is emitted right after it is applied: coverage grows with
	// the emissions instead of being complete at the first one
	if progressAtEmit[0] > 1 || progressAtEmit[len(progressAtEmit)-1] != g.NumEdges() {
		t.Errorf("coverage at emissions %v", progressAtEmit)
	}
	// an emit error stops planning and is returned
	stop := errors.New("consumer gone")
	n := 0
	err = newPlanner(t, o).Plan(context.Background(), newSession(t, g), func(planners.Move) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("err %v after %d emits", err, n)
	}
}

func TestOptionsFromConfig(t *testing.T) {
	c := config.Defaults().Planner
	o, err := OptionsFromConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	if o.NMax != 40*c.Ring || o.Net.N != o.NMax || o.Net.E2E[0] != c.E2EChannels || o.Net.Hidden != c.Hidden {
		t.Errorf("options %+v", o)
	}
	c.Discount = "cosine"
	if _, err := OptionsFromConfig(c); err == nil {
		t.Error("bad discount accepted")
	}
	bad := DefaultOptions()
	bad.Epsilon = 2
	if err := bad.Validate(); err == nil {
		t.Error("epsilon 2 accepted")
	}
}

func dqnInput(active int, x []float64) dqn.Input { return dqn.Input{Active: active, X: x} }

// nanSession returns NaN for prints into node 5.
type nanSession struct{ planners.Session }

func (s nanSession) Reward(m planners.Move) float64 {
	if m.To == 5 {
		return math.NaN()
	}
	return s.Session.Reward(m)
}

func TestNonFiniteRewardIsAnError(t *testing.T) {
	g := gridGraph(t, 4, 4, true)
	_, err := planners.Run(context.Background(), newPlanner(t, fastOptions(2)), nanSession{newSession(t, g)}, nil)
	if err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("err = %v, want a non-finite reward error", err)
	}
}

// A graph with nothing to print is complete before the first move; with
// one or several restarts and fortified, the plan is empty, not stuck.
func TestNothingToCover(t *testing.T) {
	g, err := graph.New([]r3.Vector{{}, {X: 10}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{fastOptions(2), func() Options { o := fastOptions(2); o.Restarts = 3; o.FortifyEvery = 5; return o }()} {
		s := newSession(t, g)
		moves, err := planners.Run(context.Background(), newPlanner(t, o), s, nil)
		if err != nil || len(moves) != 0 || !s.Done() {
			t.Errorf("restarts %d: %d moves, done %v, err %v; want the empty complete plan", o.Restarts, len(moves), s.Done(), err)
		}
	}
}
