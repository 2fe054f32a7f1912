package ccf

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
)

// jitteredGrid is gridGraph with node positions moved by up to ±2.5 mm so
// that edge lengths are generic (no ties).
func jitteredGrid(t *testing.T, rng *rand.Rand, w, h int, diag float64) *graph.Graph {
	g := gridGraph(t, rng, w, h, diag, 2)
	for i := range g.Pos {
		g.Pos[i].X += (rng.Float64() - 0.5) * 5
		g.Pos[i].Y += (rng.Float64() - 0.5) * 5
	}
	g.Index()
	return g
}

// bruteAdded returns the least total length of an edge subset D such that
// G + D has an Euler trail of the requested kind: closed (no odd node),
// open (at most two odd nodes) or starting at start (no odd node, or two
// with start among them).
func bruteAdded(g *graph.Graph, kind string, start int) float64 {
	m := g.NumEdges()
	best := math.Inf(1)
	deg := make([]int, g.NumNodes())
	for mask := 0; mask < 1<<m; mask++ {
		for v := range deg {
			deg[v] = g.Degree(v)
		}
		l := 0.0
		for e := 0; e < m; e++ {
			if mask&(1<<e) != 0 {
				deg[g.Edges[e].A]++
				deg[g.Edges[e].B]++
				l += g.LengthMM(e)
			}
		}
		if l >= best {
			continue
		}
		var odd []int
		for v, d := range deg {
			if d%2 == 1 {
				odd = append(odd, v)
			}
		}
		ok := false
		switch kind {
		case "closed":
			ok = len(odd) == 0
		case "open":
			ok = len(odd) <= 2
		default:
			ok = len(odd) == 0 || (len(odd) == 2 && (odd[0] == start || odd[1] == start))
		}
		if ok {
			best = l
		}
	}
	return best
}

func runPlanner(t *testing.T, p *Process, name string, s planners.Session) planners.Planner {
	t.Helper()
	pl, err := planners.NewPlanner(name, planners.Options{Config: config.Defaults().Planner, Process: p})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := planners.Run(context.Background(), pl, s, nil); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return pl
}

// checkStroke verifies independently of the session's counters that the
// moves form one stroke covering every edge 1..passes times, and returns
// the stroke length.
func checkStroke(t *testing.T, g *graph.Graph, moves []planners.Move) float64 {
	t.Helper()
	count := make([]int, g.NumEdges())
	l := 0.0
	for i, m := range moves {
		if i > 0 && moves[i-1].To != m.From {
			t.Fatalf("move %d starts at %d, previous ended at %d", i, m.From, moves[i-1].To)
		}
		e, ok := g.EdgeBetween(m.From, m.To)
		if !ok || m.Kind != planners.Print {
			t.Fatalf("move %d (%d→%d, %v) is not a print along an edge", i, m.From, m.To, m.Kind)
		}
		count[e]++
		l += g.Pos[m.From].Sub(g.Pos[m.To]).Norm()
	}
	for e, c := range count {
		if c < 1 || c > g.PassesOf(e) {
			t.Fatalf("edge %d covered %d times (allowed 1..%d)", e, c, g.PassesOf(e))
		}
	}
	return l
}

func TestEulerAddedLengthIsOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	trials := 40
	if testing.Short() {
		trials = 10
	}
	for trial := 0; trial < trials; trial++ {
		g := jitteredGrid(t, rng, 2, 2, 0.3+0.7*rng.Float64())
		if g.NumEdges() > 16 {
			continue
		}
		for _, variant := range []string{"open", "closed", "fixed", "open/matched", "closed/matched", "fixed/matched"} {
			kind, turns, _ := strings.Cut(variant, "/")
			cfg := config.Defaults()
			if kind != "fixed" {
				cfg.CCF.EulerTrail = kind
			}
			if turns != "" {
				cfg.CCF.EulerTurns = turns
			}
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			s, err := p.Session(g)
			if err != nil {
				t.Fatal(err)
			}
			start := -1
			if kind == "fixed" {
				start = rng.IntN(g.NumNodes())
				if err := s.Begin(start); err != nil {
					t.Fatal(err)
				}
			}
			pl := runPlanner(t, p, "euler", s).(*Euler)
			want := bruteAdded(g, kind, start)
			if math.Abs(pl.AddedMM-want) > 1e-3 {
				t.Fatalf("trial %d %s: euler added %.6f mm, brute force optimum %.6f mm", trial, kind, pl.AddedMM, want)
			}
			l := checkStroke(t, g, s.Moves())
			// a closed circuit (also a fixed even start's) may drop a
			// redundant tail; no stroke beats the open optimum
			lo := g.TotalLengthMM() + bruteAdded(g, "open", -1)
			hi := g.TotalLengthMM() + want
			if l < lo-1e-3 || l > hi+1e-3 || (kind == "open" && l < hi-1e-3) {
				t.Fatalf("trial %d %s: stroke %.6f mm outside [%.6f, %.6f]", trial, kind, l, lo, hi)
			}
			if start >= 0 && s.Moves()[0].From != start {
				t.Fatalf("trial %d: fixed start %d ignored", trial, start)
			}
		}
	}
}

func TestEulerOnModels(t *testing.T) {
	for _, variant := range []string{"straightest", "matched"} {
		cfg := config.Defaults()
		cfg.CCF.EulerTurns = variant
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		testEulerOnModels(t, p, variant)
	}
}

func testEulerOnModels(t *testing.T, p *Process, variant string) {
	for _, model := range []string{"Bearing", "Gear", "Shell"} {
		g, err := p.Load("testdata/Node" + model + "_CCF.txt")
		if err != nil {
			t.Fatal(err)
		}
		s, _ := p.Session(g)
		pl := runPlanner(t, p, "euler", s).(*Euler)
		t.Logf("%s %s: %v sharp, %.1f mm", model, variant, s.Metrics()["sharp_turns"], s.Metrics()["length_mm"])
		l := checkStroke(t, g, s.Moves())
		if math.Abs(l-g.TotalLengthMM()-pl.AddedMM) > 1e-3 {
			t.Errorf("%s: stroke %.3f ≠ edges %.3f + added %.3f", model, l, g.TotalLengthMM(), pl.AddedMM)
		}
		// lower bound: every odd node except two trail ends needs at least
		// one duplicated edge, so added ≥ (odd−2)/2 · shortest edge
		minL := math.Inf(1)
		for e := range g.Edges {
			minL = math.Min(minL, g.LengthMM(e))
		}
		if pl.AddedMM < float64(pl.OddNodes-2)/2*minL {
			t.Errorf("%s: added %.3f below the lower bound", model, pl.AddedMM)
		}
	}
}

// fakeClock advances by step on every reading.
type fakeClock struct {
	t    time.Time
	step time.Duration
	n    int
}

func (c *fakeClock) now() time.Time { c.n++; c.t = c.t.Add(c.step); return c.t }

// TestDFSTimeBound: with a clock that runs 1 s per reading and a 3 s
// limit, the search must stop backtracking after a handful of readings and
// still complete the stroke.
func TestDFSTimeBound(t *testing.T) {
	cfg := config.Defaults()
	cfg.CCF.DFSTimeLimitS = 3
	cfg.CCF.DFSBacktrackBudget = 1 << 30
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g, err := p.Load("testdata/NodeGear_CCF.txt")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := p.Session(g)
	pl, err := NewDFS(planners.Options{Config: cfg.Planner, Process: p})
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Unix(0, 0), step: time.Second}
	pl.now = clk.now
	if _, err := planners.Run(context.Background(), pl, s, nil); err != nil {
		t.Fatal(err)
	}
	if !pl.Stats.TimedOut {
		t.Fatalf("time limit not reached: %+v, %d clock readings", pl.Stats, clk.n)
	}
	// the clock is read every 256 iterations: the limit (3 readings after
	// the start) is noticed within 4·256 iterations, after which no move
	// is undone any more
	if pl.Stats.Backtracks > 4*256 {
		t.Errorf("%d backtracks despite the 3 s limit", pl.Stats.Backtracks)
	}
	checkStroke(t, g, s.Moves())
}

func TestDFSBudgetAndQuality(t *testing.T) {
	p := testProcess(t)
	g, err := p.Load("testdata/NodeShell_CCF.txt")
	if err != nil {
		t.Fatal(err)
	}
	// greedy for reference
	sg, _ := p.Session(g)
	runPlanner(t, p, "greedy", sg)
	for _, budget := range []int{1, 50, 5000} {
		cfg := config.Defaults()
		cfg.CCF.DFSBacktrackBudget = budget
		pp, _ := New(cfg)
		s, _ := pp.Session(g)
		pl := runPlanner(t, pp, "dfs", s).(*DFS)
		checkStroke(t, g, s.Moves())
		st := pl.Stats
		if st.TimedOut {
			t.Fatalf("budget %d: timed out", budget)
		}
		// each accepted sharp turn renews the budget once
		if st.Backtracks > budget*(st.Accepted+1) {
			t.Errorf("budget %d: %d backtracks for %d accepted turns", budget, st.Backtracks, st.Accepted)
		}
		// only accepted turns may be sharp
		if sharp := s.Metrics()["sharp_turns"]; sharp > float64(st.Accepted) {
			t.Errorf("budget %d: %v sharp turns but only %d accepted", budget, sharp, st.Accepted)
		}
		t.Logf("budget %d: %+v sharp %v (greedy %v)", budget, st, s.Metrics()["sharp_turns"], sg.Metrics()["sharp_turns"])
	}
}

// TestEulerSparseMatchingGap compares the sparse candidate set used above
// ExactMatchingLimit with the exact complete-graph matching on a graph
// with about 500 odd nodes.
func TestEulerSparseMatchingGap(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	rng := rand.New(rand.NewPCG(31, 32))
	g := jitteredGrid(t, rng, 30, 30, 0.5)
	p := testProcess(t)
	run := func(limit int) *Euler {
		old := ExactMatchingLimit
		ExactMatchingLimit = limit
		defer func() { ExactMatchingLimit = old }()
		s, err := p.Session(g)
		if err != nil {
			t.Fatal(err)
		}
		pl := runPlanner(t, p, "euler", s).(*Euler)
		checkStroke(t, g, s.Moves())
		return pl
	}
	exact := run(1 << 30)
	sparse := run(10)
	if exact.MatchK != exact.OddNodes-1 || sparse.MatchK >= sparse.OddNodes-1 {
		t.Fatalf("k: exact %d, sparse %d of %d odd nodes", exact.MatchK, sparse.MatchK, exact.OddNodes)
	}
	gap := (sparse.AddedMM - exact.AddedMM) / exact.AddedMM
	t.Logf("%d odd nodes: exact added %.3f mm, sparse (k=%d) %.3f mm, gap %.4f%%", exact.OddNodes, exact.AddedMM, sparse.MatchK, sparse.AddedMM, 100*gap)
	if gap < -1e-9 || gap > 0.01 {
		t.Errorf("sparse matching gap %.4f%%", 100*gap)
	}
}

// TestEulerMatchedOnGrid: on a square grid every node has a straight or
// right-angled pairing of its edges, so the matched transitions need no
// sharp turn, while the stroke length stays the Chinese-postman optimum.
func TestEulerMatchedOnGrid(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	g := gridGraph(t, rng, 6, 5, 0, 2)
	cfg := config.Defaults()
	cfg.CCF.EulerTurns = "matched"
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := p.Session(g)
	pl := runPlanner(t, p, "euler", s).(*Euler)
	l := checkStroke(t, g, s.Moves())
	if m := s.Metrics(); m["sharp_turns"] != 0 || m["u_turns"] != 0 {
		t.Errorf("matched stroke on a grid: %v sharp turns, %v U-turns", m["sharp_turns"], m["u_turns"])
	}
	if math.Abs(l-g.TotalLengthMM()-pl.AddedMM) > 1e-6 {
		t.Errorf("length %.3f ≠ %.3f + %.3f", l, g.TotalLengthMM(), pl.AddedMM)
	}
}
