package ccf

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	_ "fabcell/planners/baseline" // greedy, random
)

func sig(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// TestTurnRewardEq9 checks r_θ against values derived by hand from Eq. 9
// (θ₁ = 60°, θ₂ = 120°, scale 30°, κ = 10): exact midpoints and the
// plateaus of spec §8.2.
func TestTurnRewardEq9(t *testing.T) {
	rp, err := ParamsFromConfig(config.Defaults().CCF)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		deg, want, tol float64
	}{
		{0, 1, 1e-6},      // straight: plateau 1
		{30, 1, 1e-4},     // below θ₁: plateau 1
		{60, 0.95, 1e-8},  // S(0) + 0.9·(S(0) − S(−20)) = 0.5 + 0.45
		{75, 0.9, 1e-2},   // tolerated band: plateau 0.9
		{90, 0.9, 1e-4},   //
		{110, 0.9, 0.04},  // still ≈ 0.9 (spec: "0.9 for 60°–110°")
		{120, 0.45, 1e-8}, // exactly 0.9·S(0) plus S(−20)
		{135, 0.0, 0.01},  // ≈ 0 above 135°
		{150, 0.0, 1e-4},  //
		{180, 0.0, 1e-8},  // U-turn direction
		{100, 0.9*(sig(40.0/3)-sig(-20.0/3)) + sig(-40.0/3), 1e-12}, // closed form
	} {
		got := rp.Turn(c.deg * math.Pi / 180)
		if math.Abs(got-c.want) > c.tol {
			t.Errorf("r_θ(%v°) = %.9f, want %.9f ± %g", c.deg, got, c.want, c.tol)
		}
	}
	// strictly decreasing (derivative −κ/scale·(0.1 S' + 0.9 S') < 0)
	prev := math.Inf(1)
	for d := 0.0; d <= 180; d += 0.5 {
		v := rp.Turn(d * math.Pi / 180)
		if !(v < prev) && d > 0 && v != prev {
			t.Fatalf("r_θ not decreasing at %v°: %v after %v", d, v, prev)
		}
		if v > prev {
			t.Fatalf("r_θ increases at %v°", d)
		}
		prev = v
	}
	if rp.MaxTurn() > 1 || rp.MaxTurn() < 0.999999 {
		t.Errorf("max r_θ = %v", rp.MaxTurn())
	}
}

// A square a(0,0) b(10,0) c(10,10) d(0,10) with a centre node e(5,5) joined
// to all four: e is interior, the corners are boundary nodes.
func wheel(t *testing.T) *Session {
	g := mkGraph(t, [][2]float64{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {5, 5}},
		[][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 0}, {0, 4}, {1, 4}, {2, 4}, {3, 4}}, 2)
	return session(t, g)
}

func TestBoundaryAndStarts(t *testing.T) {
	s := wheel(t)
	for v, want := range []bool{true, true, true, true, false} {
		if s.Boundary(v) != want {
			t.Errorf("boundary(%d) = %v, want %v", v, s.Boundary(v), want)
		}
	}
	if st := s.Starts(); len(st) != 5 || st[0] != 4 {
		t.Errorf("starts %v: want the interior node 4 first", st)
	}
}

func move(s *Session, to int) planners.Move { return s.MoveTo(to) }

// TestRetraversalAndUTurn checks Eq. 10 and the U-turn term on the wheel
// (spokes 5√2 mm, sides 10 mm = l_max).
func TestRetraversalAndUTurn(t *testing.T) {
	spoke := 5 * math.Sqrt2
	for _, unit := range []bool{false, true} {
		cfg := config.Defaults()
		cfg.CCF.RetraversalPenalty = "length"
		if unit {
			cfg.CCF.RetraversalPenalty = "unit"
		}
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s, err := p.Session(wheel(t).G)
		if err != nil {
			t.Fatal(err)
		}
		rp := s.Params()
		second := -spoke / 10
		if unit {
			second = -1
		}
		walk := func(start int, path ...int) {
			if err := s.Begin(start); err != nil {
				t.Fatal(err)
			}
			for _, v := range path {
				s.Apply(s.MoveTo(v))
			}
		}
		check := func(name string, to int, want float64) {
			t.Helper()
			if r := s.Reward(s.MoveTo(to)); math.Abs(r-want) > 1e-12 {
				t.Errorf("unit=%v %s: reward %.12f, want %.12f", unit, name, r, want)
			}
		}
		walk(4)
		check("first move", 0, rp.Turn(0))
		walk(4, 0)
		check("U-turn at boundary node a, second pass", 4, rp.Turn(math.Pi)+second-0.5)
		walk(0, 4)
		check("U-turn at interior node e, second pass", 0, rp.Turn(math.Pi)+second-1)
		walk(0, 4)
		check("90° at e, first pass", 1, rp.Turn(math.Pi/2))
		check("straight through e", 2, rp.Turn(0))
		walk(0, 4, 1, 4)
		check("b → e → d is straight, first pass of e-d", 3, rp.Turn(0))
		walk(4, 0, 4)
		if m := s.MoveTo(0); m.Kind != planners.Travel {
			t.Errorf("third pass classified %v, want travel", m.Kind)
		} else {
			check("third pass (travel, U-turn at interior)", 0, rp.Turn(math.Pi)-1-spoke/10-1)
		}
	}
}

// TestGuardExactOnSmallGraphs compares Candidates with the brute-force
// oracle in random states of small graphs with pass count 2: a move is a
// candidate exactly when the coverage can still be completed after it.
func TestGuardExactOnSmallGraphs(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	checked := 0
	trials := 150
	if testing.Short() {
		trials = 40
	}
	for trial := 0; trial < trials; trial++ {
		g := gridGraph(t, rng, 2+rng.IntN(2), 1+rng.IntN(2), 0.5, 2)
		s := session(t, g)
		if !s.Exact() {
			t.Fatal("pass count 2 must make the guard exact")
		}
		starts := s.Starts()
		if err := s.Begin(starts[rng.IntN(len(starts))]); err != nil {
			t.Fatal(err)
		}
		memo := map[string]bool{}
		// random walk over all moves allowed by pass counts, while feasible
		for step := 0; !s.Done(); step++ {
			cands := s.Candidates(nil)
			all := allMoves(s)
			in := map[planners.Move]bool{}
			for _, c := range cands {
				in[c] = true
			}
			var feasible []planners.Move
			for _, m := range all {
				s.Apply(m)
				ok := canComplete(s, memo)
				s.Undo()
				if ok != in[m] {
					t.Fatalf("trial %d step %d: move %d→%d: guard says %v, oracle %v", trial, step, m.From, m.To, in[m], ok)
				}
				if ok {
					feasible = append(feasible, m)
				}
				checked++
			}
			if len(feasible) == 0 {
				t.Fatalf("trial %d: dead end reached at step %d", trial, step)
			}
			s.Apply(feasible[rng.IntN(len(feasible))])
			if !s.Feasible() {
				t.Fatalf("trial %d step %d: invariant (I) broken after a feasible move", trial, step)
			}
		}
	}
	t.Logf("%d moves checked against the oracle", checked)
}

// TestGuardSoundWithSinglePasses: with pass count 1 (or mixed) the guard
// is only necessary: it must never filter a move after which completion is
// possible.
func TestGuardSoundWithSinglePasses(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	trials := 100
	if testing.Short() {
		trials = 30
	}
	for trial := 0; trial < trials; trial++ {
		g := gridGraph(t, rng, 2, 2, 0.6, 2)
		for e := range g.Passes {
			g.Passes[e] = uint8(1 + rng.IntN(2))
		}
		s := session(t, g)
		start := s.Starts()[rng.IntN(len(s.Starts()))]
		if err := s.Begin(start); err != nil {
			t.Fatal(err)
		}
		memo := map[string]bool{}
		for !s.Done() {
			in := map[planners.Move]bool{}
			for _, c := range s.Candidates(nil) {
				in[c] = true
			}
			var feasible []planners.Move
			for _, m := range allMoves(s) {
				s.Apply(m)
				ok := canComplete(s, memo)
				s.Undo()
				if ok && !in[m] {
					t.Fatalf("trial %d: feasible move %d→%d filtered", trial, m.From, m.To)
				}
				if ok {
					feasible = append(feasible, m)
				}
			}
			if len(feasible) == 0 {
				break // infeasible start for mixed passes: fine
			}
			s.Apply(feasible[rng.IntN(len(feasible))])
		}
	}
}

// TestRandomPlannerAlwaysCompletes: with the exact guard, even the random
// planner never locks itself in, on larger graphs too.
func TestRandomPlannerAlwaysCompletes(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	p := testProcess(t)
	n := 60
	if testing.Short() {
		n = 15
	}
	for trial := 0; trial < n; trial++ {
		g := gridGraph(t, rng, 3+rng.IntN(8), 3+rng.IntN(8), rng.Float64(), 2)
		s := session(t, g)
		cfg := config.Defaults().Planner
		cfg.Seed = int64(trial + 1)
		pl, err := planners.NewPlanner("random", planners.Options{Config: cfg, Process: p})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := planners.Run(context.Background(), pl, s, nil); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		m := s.Metrics()
		if m["complete"] != 1 || m["one_stroke"] != 1 || m["overpassed_edges"] != 0 {
			t.Fatalf("trial %d: metrics %v", trial, m)
		}
	}
}

func TestUndoRestoresState(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	g := gridGraph(t, rng, 5, 4, 0.5, 2)
	s := session(t, g)
	if err := s.Begin(s.Starts()[0]); err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 30 && !s.Done(); k++ {
		c := s.Candidates(nil)
		s.Apply(c[rng.IntN(len(c))])
	}
	before := s.Candidates(nil)
	uBefore := append([]int32(nil), s.uDeg...)
	rBefore := make([]float64, len(before))
	for i, m := range before {
		rBefore[i] = s.Reward(m)
	}
	for i := 0; i < 10; i++ {
		c := s.Candidates(nil)
		s.Apply(c[rng.IntN(len(c))])
	}
	for i := 0; i < 10; i++ {
		s.Undo()
	}
	after := s.Candidates(nil)
	if len(after) != len(before) {
		t.Fatalf("candidates %v after undo, want %v", after, before)
	}
	for i := range after {
		if after[i] != before[i] || s.Reward(after[i]) != rBefore[i] {
			t.Fatalf("candidate %d differs after undo", i)
		}
	}
	for v := range uBefore {
		if uBefore[v] != s.uDeg[v] {
			t.Fatalf("uncovered degree of %d: %d after undo, want %d", v, s.uDeg[v], uBefore[v])
		}
	}
}

func TestNewSessionRejects(t *testing.T) {
	p := testProcess(t)
	// disconnected edges
	g := mkGraph(t, [][2]float64{{0, 0}, {1, 0}, {5, 5}, {6, 5}}, [][2]int{{0, 1}, {2, 3}}, 2)
	if _, err := p.Session(g); err == nil {
		t.Error("disconnected graph accepted")
	}
	// non-planar z
	g = mkGraph(t, [][2]float64{{0, 0}, {1, 0}}, [][2]int{{0, 1}}, 2)
	g.Pos[1].Z = 3
	if _, err := p.Session(g); err == nil {
		t.Error("non-planar graph accepted")
	}
	// single passes and four odd nodes: no single stroke
	g = mkGraph(t, [][2]float64{{0, 0}, {10, 0}, {0, 10}, {-10, 0}, {0, -10}},
		[][2]int{{0, 1}, {0, 2}, {0, 3}, {0, 4}}, 1)
	if _, err := p.Session(g); err == nil {
		t.Error("star with single passes accepted")
	}
	// no Passes: the process's default (2) applies, the graph is untouched
	g = mkGraph(t, [][2]float64{{0, 0}, {10, 0}, {0, 10}, {-10, 0}, {0, -10}},
		[][2]int{{0, 1}, {0, 2}, {0, 3}, {0, 4}}, 0)
	s, err := p.Session(g)
	if err != nil {
		t.Fatal(err)
	}
	if g.Passes != nil || s.G.PassesOf(0) != 2 {
		t.Errorf("default passes: graph %v, session %d", g.Passes, s.G.PassesOf(0))
	}
	if s.Jump() != nil {
		t.Error("CCF must never jump")
	}
}

// TestOutlineOfModels checks the outline against independent facts: the
// bounded faces tile the outline (areas add up), Bearing has its bore,
// Shell its two holes, Gear none, and Bearing's drawing has crossing edges.
func TestOutlineOfModels(t *testing.T) {
	p := testProcess(t)
	for _, c := range []struct {
		model     string
		holes     int
		crossings bool
	}{{"Bearing", 1, true}, {"Gear", 0, false}, {"Shell", 2, false}} {
		g, err := p.Load("testdata/Node" + c.model + "_CCF.txt")
		if err != nil {
			t.Fatal(err)
		}
		o, err := ComputeOutline(g, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Holes) != c.holes || (o.Crossings > 0) != c.crossings {
			t.Errorf("%s: %d holes, %d crossings", c.model, len(o.Holes), o.Crossings)
		}
		pg, _, err := Planarize(g)
		if err != nil {
			t.Fatal(err)
		}
		if x := intersections(pg); len(x) != 0 {
			t.Errorf("%s: planarized drawing still has %d intersections", c.model, len(x))
		}
		sum := 0.0
		for _, f := range Faces(pg) {
			if f.AreaMM2 > 0 {
				sum += f.AreaMM2
			}
		}
		if math.Abs(sum-o.Outer.AreaMM2) > 1e-6*o.Outer.AreaMM2 {
			t.Errorf("%s: bounded faces sum to %.3f mm², outline %.3f mm²", c.model, sum, o.Outer.AreaMM2)
		}
		// the outline is the convex-hull-touching boundary: every hull node
		// lies on it
		hull := convexHullNodes(g)
		for v, h := range hull {
			if h && !o.Boundary[v] {
				t.Errorf("%s: hull node %d not on the boundary", c.model, v)
			}
		}
	}
}

func TestPlanarizeCross(t *testing.T) {
	// an X: two crossing edges plus a T-junction node on a third edge
	g := mkGraph(t, [][2]float64{{0, 0}, {10, 10}, {0, 10}, {10, 0}, {20, 0}, {15, 0}, {15, -5}},
		[][2]int{{0, 1}, {2, 3}, {3, 4}, {5, 6}}, 2)
	pg, n, err := Planarize(g)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || pg.NumNodes() != g.NumNodes()+1 {
		t.Fatalf("crossings %d, nodes %d", n, pg.NumNodes())
	}
	x := pg.Pos[g.NumNodes()]
	if math.Abs(x.X-5) > 1e-9 || math.Abs(x.Y-5) > 1e-9 {
		t.Errorf("crossing at %v, want (5,5)", x)
	}
	// 0-X, X-1, 2-X, X-3, 3-5, 5-4, 5-6
	if pg.NumEdges() != 7 {
		t.Errorf("%d edges after planarizing, want 7", pg.NumEdges())
	}
}

// TestNewSessionRejectsCoincidentNodes: a zero-length edge (or two nodes at
// one point joined through others) hides the fibre's turns — the stroke
// 2→0→1→2 over the degenerate triangle reverses 180° at 0≡1 but its turn
// through the zero-length edge scored as straight — so the session refuses
// it naming both nodes; isolated duplicates are ignored.
func TestNewSessionRejectsCoincidentNodes(t *testing.T) {
	p := testProcess(t)
	cases := []struct {
		name  string
		xy    [][2]float64
		edges [][2]int
		bad   bool
	}{
		{"zero-length edge", [][2]float64{{0, 0}, {0, 0}, {5, 5}}, [][2]int{{0, 1}, {1, 2}, {2, 0}}, true},
		{"overlapping triangles", [][2]float64{{0, 0}, {10, 0}, {10, 0.0004}, {0, 10}}, [][2]int{{0, 1}, {1, 3}, {3, 0}, {0, 2}, {2, 3}}, true},
		{"isolated duplicate", [][2]float64{{0, 0}, {10, 0}, {5, 8}, {10, 0}}, [][2]int{{0, 1}, {1, 2}, {2, 0}}, false},
		{"close but distinct", [][2]float64{{0, 0}, {10, 0}, {10, 0.01}, {0, 10}}, [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 0}}, false},
	}
	for _, c := range cases {
		_, err := p.Session(mkGraph(t, c.xy, c.edges, 2))
		if c.bad {
			if err == nil || !strings.Contains(err.Error(), "coincide") {
				t.Errorf("%s: err = %v, want nodes that coincide", c.name, err)
			}
		} else if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// TestOutlineOfTree: a layer whose edges enclose no area has no matrix
// outline; the error says so instead of suggesting the graph has no edges.
func TestOutlineOfTree(t *testing.T) {
	g := mkGraph(t, [][2]float64{{0, 0}, {30, 0}, {30, 20}}, [][2]int{{0, 1}, {1, 2}}, 2)
	_, err := ComputeOutline(g, 10)
	if !errors.Is(err, ErrNotPlane) || !strings.Contains(err.Error(), "enclose no area") || strings.Contains(err.Error(), "without edges") {
		t.Fatalf("err = %v", err)
	}
}
