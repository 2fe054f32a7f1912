package lsgdqn

import (
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"

	"github.com/golang/geo/r3"
)

const femur = "testdata/NodeFemur_wireframe.txt"

func travelProc() *planners.TravelProcess {
	return &planners.TravelProcess{Cfg: config.Defaults(), TurnWeight: 0.1}
}

func loadGraph(t testing.TB, path string) *graph.Graph {
	t.Helper()
	g, err := graph.Load(path, graph.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func newSession(t testing.TB, g *graph.Graph) planners.Session {
	t.Helper()
	s, err := travelProc().NewSession(g)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustGraph(t testing.TB, pos []r3.Vector, edges []graph.Edge) *graph.Graph {
	t.Helper()
	g, err := graph.New(pos, edges, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// gridGraph is a w×h grid (10 mm pitch, z = 0) with one diagonal per cell
// when diag is set.
func gridGraph(t testing.TB, w, h int, diag bool) *graph.Graph {
	var pos []r3.Vector
	var edges []graph.Edge
	id := func(i, j int) int { return j*w + i }
	for j := 0; j < h; j++ {
		for i := 0; i < w; i++ {
			pos = append(pos, r3.Vector{X: 10 * float64(i), Y: 10 * float64(j), Z: 0.5 * float64(i*j)})
		}
	}
	for j := 0; j < h; j++ {
		for i := 0; i < w; i++ {
			if i+1 < w {
				edges = append(edges, graph.Edge{A: id(i, j), B: id(i+1, j)})
			}
			if j+1 < h {
				edges = append(edges, graph.Edge{A: id(i, j), B: id(i, j+1)})
			}
			if diag && i+1 < w && j+1 < h {
				edges = append(edges, graph.Edge{A: id(i, j), B: id(i+1, j+1)})
			}
		}
	}
	return mustGraph(t, pos, edges)
}

// fastOptions are small-budget options for unit tests (the algorithm is
// the same; only episode counts and network width are reduced).
func fastOptions(ring int) Options {
	o := DefaultOptions()
	o.Ring = ring
	o.NMax = 40 * ring
	o.EpisodeFactor = 5
	o.PatienceFactor = 2
	o.MaxEpisodes = 100
	o.Net.E2E = [2]int{4, 4}
	o.Net.E2N = 4
	o.Net.Hidden = 32
	o.Workers = 1
	o.ExactMaxLeaves = 0 // every decision learns: these tests exercise the DQN path
	if err := o.Validate(); err != nil {
		panic(err)
	}
	return o
}

func newPlanner(t testing.TB, o Options) *Planner {
	t.Helper()
	p, err := NewWithOptions(o, travelProc(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// totalReward replays moves on a fresh session and returns the process's
// total_reward metric (the same code `fabcell evaluate` uses).
func totalReward(t testing.TB, g *graph.Graph, moves []planners.Move) (float64, map[string]float64) {
	t.Helper()
	s := newSession(t, g)
	m, _, err := planners.Evaluate(s, planners.PathOf(moves))
	if err != nil {
		t.Fatal(err)
	}
	return m["total_reward"], m
}
