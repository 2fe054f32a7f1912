package ir

import (
	"math/rand"
	"testing"
)

// planCost is the cost ImproveRuns minimises: travel cost (travelCost,
// with CrossCost) from start through every gap of the plan, and to end.
func planCost(g *Graph, start Vec, end *Vec, steps []Step) float64 {
	c, cur := 0.0, start
	for _, s := range steps {
		if p := g.Pts[g.From(s)]; p != cur {
			c += g.travelCost(cur, p)
		}
		cur = g.Pts[g.To(s)]
	}
	if end != nil && *end != cur {
		c += g.travelCost(cur, *end)
	}
	return c
}

// runSet returns the runs of a plan as multisets of edges (an edge's
// direction is not part of it), to check that runs are moved whole.
func runSet(g *Graph, steps []Step) map[string]int {
	b := g.Runs(steps)
	out := map[string]int{}
	for k := 0; k+1 < len(b); k++ {
		key := make([]byte, 0, 8*(b[k+1]-b[k]))
		ids := make([]int32, 0, b[k+1]-b[k])
		for _, s := range steps[b[k]:b[k+1]] {
			ids = append(ids, s.Edge)
		}
		// closed runs may be rotated, open ones reversed: order-free key
		for i := range ids {
			for j := i + 1; j < len(ids); j++ {
				if ids[j] < ids[i] {
					ids[i], ids[j] = ids[j], ids[i]
				}
			}
		}
		for _, id := range ids {
			key = append(key, byte(id), byte(id>>8), byte(id>>16), byte(id>>24))
		}
		out[string(key)]++
	}
	return out
}

// setCosts gives g one of the cost models of ImproveRuns by k: length,
// travel time, or travel time plus a crossing cost at three walls.
func setCosts(g *Graph, k int) {
	walls := []float64{20, 45, 70}
	side := func(x float64) int {
		n := 0
		for _, w := range walls {
			if x > w {
				n++
			}
		}
		return n
	}
	switch k % 3 {
	case 0:
		g.TravelMMS, g.TravelAccel, g.CrossCost = 0, 0, nil
	case 1:
		g.TravelMMS, g.TravelAccel, g.CrossCost = 150, 2000, nil
	default:
		g.TravelMMS, g.TravelAccel = 120, 1500
		g.CrossCost = func(a, b Vec) float64 {
			if side(a[0]) != side(b[0]) {
				return 0.4
			}
			return 0
		}
	}
}

// TestRestartRunsMatchesReference holds RestartRuns to its definition: the
// same local search continued from where ImproveRuns stopped, for the new
// start, whose nearest run endpoints are 2-opt candidates too. The
// reference runs the plain scans (improveRunsRef) from scratch on the plan
// ImproveRuns returned, with the new start: on layers of
// separate random lines (no shared vertices, so no closed runs to rotate
// and no ties between neighbours) both must make the same moves and end
// with the same plan, step for step — also for a second restart.
func TestRestartRunsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(23))
	moved := 0
	for k := 0; k < 150; k++ {
		g := NewGraph(1e-3)
		n := 3 + rng.Intn(160)
		for i := 0; i < n; i++ {
			a := Vec{rng.Float64() * 100, rng.Float64() * 100}
			b := Vec{a[0] + (rng.Float64()-0.5)*12, a[1] + (rng.Float64()-0.5)*12}
			g.AddLine(a, b, uint64(rng.Intn(3)), int32(i), false)
		}
		setCosts(g, k)
		var end *Vec
		if k%4 != 0 {
			end = &Vec{rng.Float64() * 100, rng.Float64() * 100}
		}
		s0 := Vec{rng.Float64() * 100, rng.Float64() * 100}
		steps, _ := g.Plan(s0, PlanOptions{Matching: Improved, Improve: true, End: ptrOr(end), HasEnd: end != nil})
		for r, start := range []Vec{{rng.Float64() * 100, rng.Float64() * 100}, {rng.Float64() * 100, rng.Float64() * 100}} {
			want := g.improveRunsRef(start, end, append([]Step(nil), steps...), 8)
			got, ok := g.RestartRuns(start)
			if !ok {
				t.Fatalf("layer %d: no ImproveRuns state to restart from", k)
			}
			if len(got) != len(want) {
				t.Fatalf("layer %d, restart %d: %d steps, reference %d", k, r, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("layer %d, restart %d (%d runs): step %d is %v, reference %v", k, r, len(g.Runs(steps))-1, i, got[i], want[i])
				}
			}
			for i := range got {
				if got[i] != steps[i] {
					moved++
					break
				}
			}
			steps = got
		}
	}
	if moved < 100 {
		t.Errorf("only %d of 300 restarts changed the plan: the test does not exercise the search", moved)
	}
}

func ptrOr(p *Vec) Vec {
	if p == nil {
		return Vec{}
	}
	return *p
}

// TestRestartRunsValid restarts plans of segmented layers (shared vertices,
// closed runs, seam-locked loops) from random points: every restart is a
// valid plan of the same runs, its search never costs more than the state
// it continued from (checked before the rotation of closed runs, which
// only lowers the cost), a restart from the same start point repeats the
// plan, and a graph changed since ImproveRuns has no state to restart.
func TestRestartRunsValid(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for k := 0; k < 80; k++ {
		g := NewGraph(1e-3)
		n := 4 + rng.Intn(120)
		for i := 0; i < n; i++ {
			a := Vec{rng.Float64() * 100, rng.Float64() * 100}
			b := Vec{a[0] + (rng.Float64()-0.5)*20, a[1] + (rng.Float64()-0.5)*20}
			g.AddLine(a, b, uint64(rng.Intn(3)), int32(i), rng.Intn(2) == 0)
		}
		for i := 0; i < k%4; i++ { // seam-locked loops
			p := Vec{rng.Float64() * 100, rng.Float64() * 100}
			g.AddFixed(p, 10, Vec{1, 0}, Vec{1, 0}, 7, int32(n+i), true)
		}
		g.Segment()
		setCosts(g, k)
		var end *Vec
		if k%2 == 0 {
			end = &Vec{rng.Float64() * 100, rng.Float64() * 100}
		}
		s0 := Vec{rng.Float64() * 100, rng.Float64() * 100}
		steps, _ := g.Plan(s0, PlanOptions{Matching: Improved, Improve: true, End: ptrOr(end), HasEnd: end != nil})
		runs := runSet(g, steps)
		for r := 0; r < 3; r++ {
			start := Vec{rng.Float64() * 100, rng.Float64() * 100}
			// The state the restart continues from, unrotated: the
			// restart's input plan in its current run order.
			before := g.runWS.currentPlan(g)
			got, ok := g.RestartRuns(start)
			if !ok {
				t.Fatalf("layer %d: no state to restart from", k)
			}
			if !g.CheckPlan(got) {
				t.Fatalf("layer %d, restart %d: invalid plan", k, r)
			}
			after := g.runWS.currentPlan(g)
			if cb, ca := planCost(g, start, end, before), planCost(g, start, end, after); ca > cb+1e-9 {
				t.Errorf("layer %d, restart %d: search raised the cost from %.6f to %.6f", k, r, cb, ca)
			}
			if cr := planCost(g, start, end, got); cr > planCost(g, start, end, after)+1e-9 {
				t.Errorf("layer %d, restart %d: rotation raised the cost", k, r)
			}
			gotRuns := runSet(g, got)
			for key, c := range runs {
				if gotRuns[key] != c {
					t.Fatalf("layer %d, restart %d: runs changed", k, r)
				}
			}
			again, _ := g.RestartRuns(start)
			for i := range again {
				if again[i] != got[i] {
					t.Fatalf("layer %d, restart %d: a second restart from the same point changed the plan", k, r)
				}
			}
		}
		g.AddLine(Vec{0, 0}, Vec{1, 1}, 0, int32(n+10), false)
		if _, ok := g.RestartRuns(s0); ok {
			t.Fatalf("layer %d: restart after the graph changed", k)
		}
		g.Reset(1e-3)
		if _, ok := g.RestartRuns(s0); ok {
			t.Fatalf("layer %d: restart after Reset", k)
		}
	}
}

// currentPlan is the plan of the search state (runs in their current
// order and direction, before rotateClosed).
func (ws *runScratch) currentPlan(g *Graph) []Step {
	if len(ws.bounds)-1 < 2 {
		return append([]Step(nil), ws.in...)
	}
	var out []Step
	for _, r := range ws.order[:len(ws.rs)] {
		ru := &ws.rs[r]
		if !ru.rev {
			out = append(out, ws.in[ru.first:ru.last]...)
			continue
		}
		for i := ru.last - 1; i >= ru.first; i-- {
			s := ws.in[i]
			if g.Edges[s.Edge].Kind != Fixed {
				s.Rev = !s.Rev
			}
			out = append(out, s)
		}
	}
	return out
}
