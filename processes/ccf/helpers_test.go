package ccf

import (
	"math"
	"math/rand/v2"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"

	"github.com/golang/geo/r3"
)

// testProcess returns the process with default settings.
func testProcess(t testing.TB) *Process {
	t.Helper()
	p, err := New(config.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mkGraph builds a planar graph from xy points and edges, every edge with
// the given pass count (0 = no Passes slice).
func mkGraph(t testing.TB, xy [][2]float64, edges [][2]int, passes int) *graph.Graph {
	t.Helper()
	pos := make([]r3.Vector, len(xy))
	for i, p := range xy {
		pos[i] = r3.Vector{X: p[0], Y: p[1]}
	}
	es := make([]graph.Edge, len(edges))
	for i, e := range edges {
		es[i] = graph.Edge{A: e[0], B: e[1]}
	}
	g, err := graph.New(pos, es, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.Name = "test"
	g.Kind = graph.Planar
	if passes > 0 {
		g.Passes = uniformPasses(len(edges), passes)
	}
	return g
}

// gridGraph is a w×h grid of unit squares (spacing 10 mm) with one
// diagonal per square chosen at random (seeded), optionally with cells
// removed to make holes. It is a plane graph.
func gridGraph(t testing.TB, rng *rand.Rand, w, h int, diag float64, passes int) *graph.Graph {
	t.Helper()
	var xy [][2]float64
	id := func(i, j int) int { return j*(w+1) + i }
	for j := 0; j <= h; j++ {
		for i := 0; i <= w; i++ {
			xy = append(xy, [2]float64{10 * float64(i), 10 * float64(j)})
		}
	}
	var edges [][2]int
	for j := 0; j <= h; j++ {
		for i := 0; i <= w; i++ {
			if i < w {
				edges = append(edges, [2]int{id(i, j), id(i+1, j)})
			}
			if j < h {
				edges = append(edges, [2]int{id(i, j), id(i, j+1)})
			}
			if i < w && j < h && rng.Float64() < diag {
				if rng.IntN(2) == 0 {
					edges = append(edges, [2]int{id(i, j), id(i+1, j+1)})
				} else {
					edges = append(edges, [2]int{id(i+1, j), id(i, j+1)})
				}
			}
		}
	}
	return mkGraph(t, xy, edges, passes)
}

// session builds a session with default parameters.
func session(t testing.TB, g *graph.Graph) *Session {
	t.Helper()
	s, err := testProcess(t).Session(g)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// turnDeg is an independent turning angle (degrees) at b for a → b → c.
func turnDeg(g *graph.Graph, a, b, c int) float64 {
	ux, uy := g.Pos[b].X-g.Pos[a].X, g.Pos[b].Y-g.Pos[a].Y
	wx, wy := g.Pos[c].X-g.Pos[b].X, g.Pos[c].Y-g.Pos[b].Y
	ang := math.Abs(math.Atan2(ux*wy-uy*wx, ux*wx+uy*wy))
	return ang * 180 / math.Pi
}

// canComplete is the brute-force oracle: can the coverage still be
// completed from the session's current state by print moves within the
// pass counts? It searches all continuations (memoised on node + pass
// vector), so use it on tiny graphs only.
func canComplete(s planners.Session, memo map[string]bool) bool {
	if s.Done() {
		return true
	}
	g := s.Graph()
	key := make([]byte, 0, g.NumEdges()+2)
	key = append(key, byte(s.Current()))
	for e := 0; e < g.NumEdges(); e++ {
		key = append(key, byte(s.Remaining(e)), byte(g.PassesOf(e)-s.Remaining(e)))
	}
	if v, ok := memo[string(key)]; ok {
		return v
	}
	res := false
	for _, h := range g.Neighbors(s.Current()) {
		e := int(h.Edge)
		if s.Remaining(e) == 0 {
			continue
		}
		s.Apply(planners.Move{From: s.Current(), To: int(h.To), Kind: planners.Print, Edge: e})
		ok := canComplete(s, memo)
		s.Undo()
		if ok {
			res = true
			break
		}
	}
	memo[string(key)] = res
	return res
}

// allMoves lists the print moves allowed by the pass counts alone.
func allMoves(s planners.Session) []planners.Move {
	var out []planners.Move
	for _, h := range s.Graph().Neighbors(s.Current()) {
		if s.Remaining(int(h.Edge)) > 0 {
			out = append(out, planners.Move{From: s.Current(), To: int(h.To), Kind: planners.Print, Edge: int(h.Edge)})
		}
	}
	return out
}
