package baseline

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/planners/lsg"

	"github.com/golang/geo/r3"
)

const femur = "../lsgdqn/testdata/NodeFemur_wireframe.txt"

func travelSession(t testing.TB, g *graph.Graph) planners.Session {
	t.Helper()
	p := &planners.TravelProcess{Cfg: config.Defaults(), TurnWeight: 0.1}
	s, err := p.NewSession(g)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func plannerCfg(ring int, seed int64) config.Planner {
	c := config.Defaults().Planner
	c.Ring = ring
	c.Seed = seed
	return c
}

func run(t *testing.T, name string, c config.Planner, s planners.Session) []planners.Move {
	t.Helper()
	p, err := planners.NewPlanner(name, planners.Options{Config: c})
	if err != nil {
		t.Fatal(err)
	}
	moves, err := planners.Run(context.Background(), p, s, nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return moves
}

func evaluate(t *testing.T, g *graph.Graph, moves []planners.Move) map[string]float64 {
	t.Helper()
	m, _, err := planners.Evaluate(travelSession(t, g), planners.PathOf(moves))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBaselinesCompleteFemur(t *testing.T) {
	g, err := graph.Load(femur, graph.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"greedy", "bfs", "random"} {
		moves := run(t, name, plannerCfg(3, 1), travelSession(t, g))
		m := evaluate(t, g, moves)
		if m["complete"] != 1 || m["prints"] != float64(g.NumEdges()) {
			t.Errorf("%s: incomplete %v", name, m)
		}
		t.Logf("%-6s total reward %.2f, %v travels, %v jumps", name, m["total_reward"], m["travels"], m["jumps"])
	}
}

func TestRandomIsSeeded(t *testing.T) {
	g, _ := graph.Load(femur, graph.LoadOptions{})
	a := run(t, "random", plannerCfg(1, 7), travelSession(t, g))
	b := run(t, "random", plannerCfg(1, 7), travelSession(t, g))
	c := run(t, "random", plannerCfg(1, 8), travelSession(t, g))
	if !slices.Equal(a, b) {
		t.Error("same seed, different random plans")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds gave the same random plan")
	}
}

// unbounded hides the travel session's RewardBounder, disabling branch and
// bound.
type unbounded struct{ planners.Session }

// TestBFSPruningIsExact: the bound only cuts branches that cannot win, so
// plans with and without it are identical, and the bound does cut.
func TestBFSPruningIsExact(t *testing.T) {
	g, _ := graph.Load(femur, graph.LoadOptions{})
	c := plannerCfg(4, 1)
	pb, _ := NewBFS(planners.Options{Config: c})
	withBound, err := planners.Run(context.Background(), pb, travelSession(t, g), nil)
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := NewBFS(planners.Options{Config: c})
	without, err := planners.Run(context.Background(), pu, unbounded{travelSession(t, g)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(withBound, without) {
		t.Fatal("branch and bound changed the plan")
	}
	if pb.Pruned == 0 || pb.Evaluated >= pu.Evaluated {
		t.Errorf("bound pruned %d branches, evaluated %d vs %d without", pb.Pruned, pb.Evaluated, pu.Evaluated)
	}
	t.Logf("ring 4 on the Femur: %d search nodes with the bound, %d without", pb.Evaluated, pu.Evaluated)
}

// TestBFSDecisionIsLSGOptimal checks every bfs decision on a grid against
// an independent enumeration of all move sequences of length ≤ n inside
// the LSG on a copy of the session (plain recursion with Apply/Undo and
// the discount of Eq. 4; no explorer, no memo, no bound).
func TestBFSDecisionIsLSGOptimal(t *testing.T) {
	var pos []r3.Vector
	var edges []graph.Edge
	w := 5
	for j := 0; j < 4; j++ {
		for i := 0; i < w; i++ {
			pos = append(pos, r3.Vector{X: 10 * float64(i), Y: 10*float64(j) + float64(i%2), Z: float64(i * j)})
			if i+1 < w {
				edges = append(edges, graph.Edge{A: j*w + i, B: j*w + i + 1})
			}
			if j > 0 {
				edges = append(edges, graph.Edge{A: (j-1)*w + i, B: j*w + i})
				if i+1 < w {
					edges = append(edges, graph.Edge{A: (j-1)*w + i, B: j*w + i + 1})
				}
			}
		}
	}
	g, err := graph.New(pos, edges, nil)
	if err != nil {
		t.Fatal(err)
	}
	ring := 3
	c := plannerCfg(ring, 1)
	disc, _ := lsg.ParseDiscount(c.Discount, c.Sigma, c.Gamma)
	moves := run(t, "bfs", c, travelSession(t, g))
	// replay; at every node with ≥ 2 candidates, enumerate independently
	ref := travelSession(t, g)
	ref.Begin(moves[0].From)
	b, _ := lsg.NewBuilder(g, lsg.Config{Ring: ring, NMax: 40 * ring})
	checked := 0
	for _, m := range moves {
		cand := ref.Candidates(nil)
		if len(cand) >= 2 && m.Kind == planners.Print {
			prev := -1
			if ms := ref.Moves(); len(ms) > 0 {
				prev = ms[len(ms)-1].From
			}
			l, _ := b.Build(ref.Current(), prev)
			var best float64 = math.Inf(-1)
			var value func(k int) float64
			value = func(k int) float64 { // best return of steps k..n from here
				if k > ring || ref.Done() {
					return 0
				}
				cs := ref.Candidates(nil)
				if len(cs) == 0 {
					js := slices.Clone(ref.Jump())
					r := 0.0
					for _, j := range js {
						r += ref.Reward(j)
						ref.Apply(j)
					}
					for range js {
						ref.Undo()
					}
					return disc.At(k) * r
				}
				v := math.Inf(-1)
				for _, c := range cs {
					if l.Local(c.To) < 0 {
						continue
					}
					r := disc.At(k) * ref.Reward(c)
					ref.Apply(c)
					v = math.Max(v, r+value(k+1))
					ref.Undo()
				}
				if math.IsInf(v, -1) {
					return 0 // every move leaves the LSG: the episode ends
				}
				return v
			}
			chosen := math.Inf(-1)
			for _, c := range cand {
				r := disc.At(1) * ref.Reward(c)
				ref.Apply(c)
				v := r + value(2)
				ref.Undo()
				best = math.Max(best, v)
				if c.To == m.To {
					chosen = v
				}
			}
			if chosen < best-1e-12 {
				t.Fatalf("at node %d bfs chose %d with return %.6f < optimum %.6f", ref.Current(), m.To, chosen, best)
			}
			checked++
		}
		ref.Apply(m)
	}
	if checked < 10 {
		t.Fatalf("only %d decisions checked", checked)
	}
}

func TestBFSRejectsBadConfig(t *testing.T) {
	c := plannerCfg(0, 1)
	if _, err := NewBFS(planners.Options{Config: c}); err == nil {
		t.Error("ring 0 accepted")
	}
	c = plannerCfg(2, 1)
	c.Discount = "nope"
	if _, err := NewBFS(planners.Options{Config: c}); err == nil {
		t.Error("bad discount accepted")
	}
}

// stuck forbids jumps.
type stuck struct{ planners.Session }

func (stuck) Jump() []planners.Move { return nil }

func TestBaselinesReportStuck(t *testing.T) {
	pos := []r3.Vector{{}, {X: 10}, {X: 40}, {X: 50}}
	g, _ := graph.New(pos, []graph.Edge{{A: 0, B: 1}, {A: 2, B: 3}}, nil)
	for _, name := range []string{"greedy", "bfs", "random"} {
		p, _ := planners.NewPlanner(name, planners.Options{Config: plannerCfg(2, 1)})
		_, err := planners.Run(context.Background(), p, stuck{travelSession(t, g)}, nil)
		if !errors.Is(err, planners.ErrStuck) {
			t.Errorf("%s: err %v, want ErrStuck", name, err)
		}
	}
}

func TestCancelled(t *testing.T) {
	g, _ := graph.Load(femur, graph.LoadOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, name := range []string{"greedy", "bfs", "random"} {
		p, _ := planners.NewPlanner(name, planners.Options{Config: plannerCfg(2, 1)})
		if _, err := planners.Run(ctx, p, travelSession(t, g), nil); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A graph with nothing to print is complete before the first move: every
// baseline returns the empty plan instead of failing for want of a start.
func TestBaselinesNothingToCover(t *testing.T) {
	g, err := graph.New([]r3.Vector{{}, {X: 10}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"greedy", "bfs", "bfs-exhaustive", "random"} {
		p, _ := planners.NewPlanner(name, planners.Options{Config: plannerCfg(2, 1)})
		s := travelSession(t, g)
		moves, err := planners.Run(context.Background(), p, s, nil)
		if err != nil || len(moves) != 0 || !s.Done() {
			t.Errorf("%s: %d moves, done %v, err %v; want the empty complete plan", name, len(moves), s.Done(), err)
		}
	}
}
