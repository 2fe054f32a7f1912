package wireframe

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"

	"github.com/golang/geo/r3"
)

// randomFrame is a random connected frame of n nodes in a 60 × 60 × 40 mm
// box, the lowest few on the bed (grounded), each later node joined to its
// nearest earlier one plus extra short struts.
func randomFrame(t testing.TB, rng *rand.Rand, n, extra int) *graph.Graph {
	pos := make([]r3.Vector, n)
	ground := make([]bool, n)
	for i := range pos {
		pos[i] = r3.Vector{X: 60 * rng.Float64(), Y: 60 * rng.Float64(), Z: 40 * rng.Float64()}
		if i < 3 {
			pos[i].Z, ground[i] = 0, true
		}
	}
	slices.SortStableFunc(pos[3:], func(a, b r3.Vector) int { return int(a.Z - b.Z) })
	has := map[[2]int]bool{}
	var edges []graph.Edge
	add := func(a, b int) {
		k := [2]int{min(a, b), max(a, b)}
		if a == b || has[k] || (ground[a] && ground[b]) {
			return
		}
		has[k] = true
		edges = append(edges, graph.Edge{A: a, B: b})
	}
	nearest := func(v, below int, skip int) int {
		best, bd := -1, 0.0
		for u := 0; u < below; u++ {
			if d := pos[u].Sub(pos[v]).Norm(); u != v && u != skip && (best < 0 || d < bd) {
				best, bd = u, d
			}
		}
		return best
	}
	for v := 3; v < n; v++ {
		add(v, nearest(v, v, -1))
	}
	for k := 0; k < extra; k++ {
		v := 3 + rng.IntN(n-3)
		if u := nearest(v, n, nearest(v, n, -1)); u >= 0 {
			add(v, u)
		}
	}
	return mustGraph(t, pos, edges, ground)
}

// planFortifiable plans g with the wire-frame planner settings of cfg
// changed by set (the default warm-up, 16 moves, would be most of the
// small frames these tests plan, so set chooses it).
func planFortifiable(t *testing.T, cfg config.Cell, g *graph.Graph, planner string, set func(*config.Planner)) (*Session, []planners.Move, error) {
	t.Helper()
	c := cfg
	c.Planner = c.PlannerFor("wireframe")
	set(&c.Planner)
	p := newProc(t, c)
	s := open(t, p, g)
	pl, err := planners.NewPlanner(planner, planners.Options{Config: c.Planner, Process: p})
	if err != nil {
		t.Fatal(err)
	}
	moves, err := planners.Run(context.Background(), pl, s, nil)
	return s, moves, err
}

// TestFortifiedRandomFrames: the property of TestFortifiedNotAboveGreedy
// over random frames (FEA terms only: no head, arm or climb term, so the
// sag decides), the default reward and Eq. 8 alone, random horizons and
// checkpoint spacings. The unfortified planner ends above greedy on some
// of them (seed 11: 0.0589 mm against greedy's 0.0201 mm), which the
// fortified one never does.
func TestFortifiedRandomFrames(t *testing.T) {
	n := 30
	if testing.Short() {
		n = 12
	}
	plainAbove := 0
	for seed := uint64(1); seed <= uint64(n); seed++ {
		rng := rand.New(rand.NewPCG(seed, 5))
		cfg := feaOnlyCfg()
		if seed%2 == 0 { // Eq. 8 alone: the summed sag lures the look-ahead
			cfg.Wireframe.PeakDisplacementWeightPerMM = 0
			cfg.Wireframe.DisplacementWeightPerMM = 1000
		}
		g := randomFrame(t, rng, 10+rng.IntN(9), 6+rng.IntN(10))
		ring, every := 2+rng.IntN(2), 1+rng.IntN(4)
		plan := func(planner string, every int) *Session {
			s, moves, err := planFortifiable(t, cfg, g, planner, func(c *config.Planner) {
				c.Ring, c.FortifyEvery, c.Seed = ring, every, int64(seed)
				c.FortifyWarmup, c.FortifyRetries = int(seed%2), int(seed/2%3)
				if seed%4 >= 2 {
					c.FortifyAgainst = "greedy"
				}
				c.FortifyCompletionRing = int(seed % 3) // greedy, bfs n = 1, 2
			})
			if err != nil {
				t.Fatalf("seed %d %s every %d: %v", seed, planner, every, err)
			}
			if !slices.Equal(moves, s.Moves()) || !s.Done() {
				t.Fatalf("seed %d %s every %d: emitted moves are not the finished session's", seed, planner, every)
			}
			return s
		}
		gc := plan("greedy", 0).ObjectiveCost()
		pc := plan("lsg-dqn", 0).ObjectiveCost()
		fc := plan("lsg-dqn", every).ObjectiveCost()
		if !planners.NoWorse(pc, gc) {
			plainAbove++
		}
		t.Logf("seed %d (%d struts, n=%d, every %d): greedy %v, unfortified %v, fortified %v", seed, g.NumEdges(), ring, every, gc, pc, fc)
		if !planners.NoWorse(fc, gc) {
			t.Errorf("seed %d: fortified cost %v above greedy's %v", seed, fc, gc)
		}
	}
	t.Logf("unfortified lsg-dqn above greedy in %d of %d frames", plainAbove, n)
	if plainAbove == 0 {
		t.Fatal("the unfortified planner never ended above greedy: the test checks nothing")
	}
}

// TestFortifiedNotAboveGreedy: lsg-dqn with the fortified rollout
// (planner.fortify_every) never ends above greedy's plan in any measure
// of the objective (ObjectiveCost: print collisions, unreachable struts,
// the largest sag of any partial structure, as `fabcell bench` reports
// them),
// on small frames, both reward forms (the default peak-rise term, and
// Eq. 8 alone, whose summed sag lures the look-ahead away from the least
// maximum), several horizons and checkpoint spacings. Without the
// safeguard some of these cases end above greedy (logged and counted:
// the comparison is not vacuous).
func TestFortifiedNotAboveGreedy(t *testing.T) {
	frames := []string{simplePath, fourPath, "testdata/topopt-101_tiny.json"}
	rings := []int{2, 3}
	if testing.Short() {
		frames, rings = frames[:2], rings[:1]
	}
	eq8 := func(c *config.Cell) {
		c.Wireframe.PeakDisplacementWeightPerMM = 0
		c.Wireframe.DisplacementWeightPerMM = 1000
	}
	plainAbove, cases := 0, 0
	for _, form := range []struct {
		name string
		set  func(*config.Cell)
	}{{"default", func(*config.Cell) {}}, {"eq8", eq8}} {
		for _, path := range frames {
			cfg := defaults()
			form.set(&cfg)
			g := load(t, newProc(t, cfg), path)
			plan := func(planner string, ring, every int) (*Session, []planners.Move) {
				s, moves, err := planFortifiable(t, cfg, g, planner, func(c *config.Planner) {
					c.Ring, c.FortifyEvery = ring, every
					c.FortifyWarmup, c.FortifyRetries = 0, every%3
				})
				if err != nil {
					t.Fatalf("%s %s n=%d every %d: %v", path, planner, ring, every, err)
				}
				return s, moves
			}
			gs, _ := plan("greedy", 2, 0)
			gc := gs.ObjectiveCost()
			for _, n := range rings {
				ps, _ := plan("lsg-dqn", n, 0)
				cases++
				if !planners.NoWorse(ps.ObjectiveCost(), gc) {
					plainAbove++
				}
				for _, every := range []int{1, 4} {
					s, moves := plan("lsg-dqn", n, every)
					fc := s.ObjectiveCost()
					t.Logf("%s %s n=%d every %d: greedy %v, unfortified %v, fortified %v", form.name, path, n, every, gc, ps.ObjectiveCost(), fc)
					if !planners.NoWorse(fc, gc) {
						t.Errorf("%s %s n=%d every %d: fortified cost %v above greedy's %v", form.name, path, n, every, fc, gc)
					}
					if !slices.Equal(moves, s.Moves()) || !s.Done() {
						t.Errorf("%s %s n=%d every %d: emitted moves are not the finished session's", form.name, path, n, every)
					}
					m, gm := s.Metrics(), gs.Metrics()
					if m["head_collisions"]+m["arm_failures"]+m["floating_prints"] > gm["head_collisions"]+gm["arm_failures"]+gm["floating_prints"] ||
						m["unreachable"] > gm["unreachable"] || m["max_displacement_mm"] > gm["max_displacement_mm"] {
						t.Errorf("%s %s n=%d every %d: metrics %v above greedy's %v", form.name, path, n, every, m, gm)
					}
				}
			}
		}
	}
	t.Logf("unfortified lsg-dqn above greedy in %d of %d cases", plainAbove, cases)
}

// TestObjectiveBoundBelowCost: along random plans on random frames (with
// the default reward, the peak term on, and collision checks on), the
// bound after every move is at most the finished plan's ObjectiveCost in
// every component, and the sag component is the running maximum of the
// displacement series so far.
func TestObjectiveBoundBelowCost(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		rng := rand.New(rand.NewPCG(seed, 9))
		g := randomFrame(t, rng, 10+rng.IntN(6), 6+rng.IntN(8))
		s := open(t, newProc(t, defaults()), g)
		if err := s.Begin(s.Starts()[0]); err != nil {
			t.Fatal(err)
		}
		var bounds [][]float64
		for !s.Done() {
			m, ok := randomStep(s, rng)
			if !ok {
				break
			}
			s.Apply(m)
			bounds = append(bounds, s.ObjectiveBound())
			if disp, _, err := s.DisplacementSeries(); err == nil {
				run := 0.0
				for _, x := range disp {
					if x == x {
						run = max(run, x)
					}
				}
				if b := bounds[len(bounds)-1][2]; b != round6(run) {
					t.Fatalf("seed %d move %d: bound sag %v, running maximum of the series %v", seed, len(bounds), b, round6(run))
				}
			}
		}
		c := s.ObjectiveCost()
		for i, b := range bounds {
			if !planners.NoWorse(b, c) {
				t.Fatalf("seed %d: bound %v after move %d above the plan's cost %v", seed, b, i+1, c)
			}
		}
	}
}
