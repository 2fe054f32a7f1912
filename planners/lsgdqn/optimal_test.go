package lsgdqn

import (
	"context"
	"math"
	"slices"
	"testing"

	"fabcell/planners"
	"fabcell/planners/graph"

	"github.com/golang/geo/r3"
)

// bruteForceOptimum enumerates every complete toolpath the planners can
// produce on a travel session over g — any start in Starts(), any
// candidate at every node, the process's jump chain at dead ends — and
// returns the maximal total reward and the number of complete toolpaths
// reached (those not cut by the bound).
// Branch and bound with the exact bound "every remaining edge printed
// with reward 1" keeps it fast; it never cuts an optimal branch.
func bruteForceOptimum(t *testing.T, g *graph.Graph) (best float64, paths int) {
	s := newSession(t, g)
	best = math.Inf(-1)
	var dfs func(acc float64)
	dfs = func(acc float64) {
		if s.Done() {
			paths++
			best = math.Max(best, acc)
			return
		}
		done, total := s.Progress()
		if acc+float64(total-done) <= best {
			return
		}
		cand := s.Candidates(nil)
		if len(cand) == 0 {
			js := slices.Clone(s.Jump())
			if len(js) == 0 {
				return
			}
			r := 0.0
			for _, m := range js {
				r += s.Reward(m)
				s.Apply(m)
			}
			dfs(acc + r)
			for range js {
				s.Undo()
			}
			return
		}
		for _, m := range cand {
			r := s.Reward(m)
			s.Apply(m)
			dfs(acc + r)
			s.Undo()
		}
	}
	for _, v := range s.Starts() {
		if err := s.Begin(v); err != nil {
			t.Fatal(err)
		}
		dfs(0)
	}
	return best, paths
}

// smallGraphs are graphs whose complete toolpaths can all be enumerated.
func smallGraphs(t *testing.T) map[string]*graph.Graph {
	out := map[string]*graph.Graph{}
	// octahedron (6 nodes, 12 edges, all degrees 4: an Euler circuit exists)
	oct := []r3.Vector{{X: 10}, {X: -10}, {Y: 10}, {Y: -10}, {Z: 10}, {Z: -10}}
	var oe []graph.Edge
	for i := 0; i < 6; i++ {
		for j := i + 1; j < 6; j++ {
			if j != i+1 || i%2 == 1 { // skip the antipodal pairs (0,1), (2,3), (4,5)
				oe = append(oe, graph.Edge{A: i, B: j})
			}
		}
	}
	out["octahedron"] = mustGraph(t, oct, oe)
	// 3×3 quad grid with a bend (9 nodes, 12 edges, 4 odd nodes: travels needed)
	out["grid3x3"] = gridGraph(t, 3, 3, false)
	// a triangulated strip 2×4 minus one diagonal (8 nodes, 12 edges)
	strip := gridGraph(t, 4, 2, true)
	strip.Edges = slices.DeleteFunc(slices.Clone(strip.Edges), func(e graph.Edge) bool { return e.A == 1 && e.B == 6 })
	out["strip"] = mustGraph(t, strip.Pos, strip.Edges)
	// a real patch: the 12-edge BFS neighbourhood of a Femur node
	out["femur-patch"] = femurPatch(t, 12)
	return out
}

// femurPatch returns the subgraph of the Femur induced by the nodes met
// first by a BFS from node 100, grown while it has at most maxEdges edges.
func femurPatch(t *testing.T, maxEdges int) *graph.Graph {
	g := loadGraph(t, femur)
	in := map[int]int{}
	var nodes []int
	add := func(v int) { in[v] = len(nodes); nodes = append(nodes, v) }
	countEdges := func() int {
		c := 0
		for _, e := range g.Edges {
			_, a := in[e.A]
			_, b := in[e.B]
			if a && b {
				c++
			}
		}
		return c
	}
	add(100)
	for q := 0; q < len(nodes); q++ {
		for _, h := range g.Neighbors(nodes[q]) {
			v := int(h.To)
			if _, ok := in[v]; ok {
				continue
			}
			add(v)
			if countEdges() > maxEdges {
				delete(in, v)
				nodes = nodes[:len(nodes)-1]
			}
		}
	}
	var pos []r3.Vector
	for _, v := range nodes {
		pos = append(pos, g.Pos[v])
	}
	var edges []graph.Edge
	for _, e := range g.Edges {
		a, okA := in[e.A]
		b, okB := in[e.B]
		if okA && okB {
			edges = append(edges, graph.Edge{A: a, B: b})
		}
	}
	return mustGraph(t, pos, edges)
}

// optimalityMargin is the stated bound: on graphs with ≤ 12 edges, the
// LSG-DQN toolpath (ring 4, one attempt per start node) reaches at least
// 88% of the optimal total reward of the travel process. Measured here:
// octahedron 100%, 3×3 grid 99.97%, strip 91.7%, Femur patch 89.6%. The
// gap is that of the LSG objective itself, not of the learning: the exact
// n-step search (bfs baseline, same discount, best start) reaches the same
// 91.5% and 89.6% on the last two — planning n ≤ 6 moves ahead with the
// Gaussian discount (Eq. 4) cannot see a dead end 8 prints away.
const optimalityMargin = 0.12

func TestNearOptimalOnSmallGraphs(t *testing.T) {
	for name, g := range smallGraphs(t) {
		t.Run(name, func(t *testing.T) {
			if g.NumEdges() > 12 {
				t.Fatalf("%d edges: too many for brute force", g.NumEdges())
			}
			opt, paths := bruteForceOptimum(t, g)
			o := fastOptions(4)
			o.Restarts = len(newSession(t, g).Starts())
			moves, _ := planMoves(t, o, g)
			got, m := totalReward(t, g, moves)
			if m["complete"] != 1 {
				t.Fatalf("incomplete plan: %v", m)
			}
			t.Logf("%d edges, %d complete toolpaths enumerated; optimum %.4f, lsg-dqn %.4f (%.2f%%)",
				g.NumEdges(), paths, opt, got, 100*got/opt)
			if got > opt+1e-9 {
				t.Fatalf("lsg-dqn %.6f beats the brute-force optimum %.6f: enumeration is wrong", got, opt)
			}
			if got < opt-optimalityMargin*math.Abs(opt) {
				t.Errorf("lsg-dqn total reward %.4f below optimum %.4f by more than %.0f%%", got, opt, 100*optimalityMargin)
			}
		})
	}
}

// TestPlanUsesOnlyValidMoves replays an lsg-dqn plan move by move against
// the session rules (every print is a candidate at its time).
func TestPlanUsesOnlyValidMoves(t *testing.T) {
	g := gridGraph(t, 5, 4, true)
	moves, _ := planMoves(t, fastOptions(3), g)
	s := newSession(t, g)
	s.Begin(moves[0].From)
	for i, m := range moves {
		if m.Kind == planners.Print && !slices.ContainsFunc(s.Candidates(nil), func(c planners.Move) bool { return c.To == m.To && c.Edge == m.Edge }) {
			t.Fatalf("move %d %v is not a candidate", i, m)
		}
		s.Apply(m)
	}
	if !s.Done() {
		t.Fatal("replayed plan incomplete")
	}
	_ = context.Background
}
