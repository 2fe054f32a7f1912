package lsgdqn

import (
	"context"
	"math"
	"slices"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/baseline"
	"fabcell/planners/graph"
)

// bfsMoves plans g with the bfs baseline at ring n (default discount).
func bfsMoves(t *testing.T, g *graph.Graph, n int) []planners.Move {
	t.Helper()
	c := config.Defaults().Planner
	c.Ring = n
	b, err := baseline.NewBFS(planners.Options{Config: c})
	if err != nil {
		t.Fatal(err)
	}
	moves, err := planners.Run(context.Background(), b, newSession(t, g), nil)
	if err != nil {
		t.Fatal(err)
	}
	return moves
}

// TestExactHybridMatchesBFS: with a budget no LSG exceeds, every decision
// of lsg-dqn is resolved by the exact search and the whole plan is the bfs
// baseline's, move for move (same return, discount, jump charge and tie
// rule); nothing is learned.
func TestExactHybridMatchesBFS(t *testing.T) {
	graphs := smallGraphs(t)
	graphs["tri6x5"] = gridGraph(t, 6, 5, true)
	graphs["grid5x4"] = gridGraph(t, 5, 4, false)
	for name, g := range graphs {
		for _, n := range []int{1, 2, 3, 4} {
			o := fastOptions(n)
			o.ExactMaxLeaves = 1 << 30
			got, p := planMoves(t, o, g)
			want := bfsMoves(t, g, n)
			if !slices.Equal(got, want) {
				t.Fatalf("%s n=%d: lsg-dqn (exact) and bfs plans differ:\n%v\n%v", name, n, got, want)
			}
			st := p.Stats()
			if st.Decisions == 0 || st.Exact != st.Decisions || st.OverBudget != 0 || st.Episodes != 0 || st.Updates != 0 {
				t.Fatalf("%s n=%d: stats %+v, want every decision exact and no learning", name, n, st)
			}
		}
	}
}

// TestHybridFallsBackToLearning: with a budget of a few episodes, small
// trees are resolved exactly and the others learned; the plan is complete,
// valid, deterministic under the seed, and an over-budget decision starts
// learning with the search's episode returns (its best-return table is
// never below the best episode the search evaluated).
func TestHybridFallsBackToLearning(t *testing.T) {
	g := gridGraph(t, 6, 5, true)
	o := fastOptions(3)
	o.ExactMaxLeaves = 6
	var learned, exact int
	p := newPlanner(t, o)
	p.hook = func(d decisionInfo) {
		if d.exact {
			exact++
			return
		}
		learned++
		best := math.Inf(-1)
		for _, v := range d.bestRet {
			best = math.Max(best, v)
		}
		if math.IsInf(d.probe, -1) || best < d.probe {
			t.Errorf("learned decision at %d: best return %v, the exact search had found %v", d.center, best, d.probe)
		}
	}
	m1, err := planners.Run(context.Background(), p, newSession(t, g), nil)
	if err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Exact == 0 || st.OverBudget == 0 || st.Exact+st.OverBudget != st.Decisions || exact != st.Exact || learned != st.OverBudget {
		t.Fatalf("stats %+v (hook: %d exact, %d learned): want both paths taken", st, exact, learned)
	}
	if st.Episodes == 0 || st.ProbeLeaves < st.Exact {
		t.Fatalf("stats %+v", st)
	}
	_, m := totalReward(t, g, m1)
	if m["complete"] != 1 {
		t.Fatalf("incomplete: %v", m)
	}
	m2, _ := planMoves(t, o, g)
	if !slices.Equal(m1, m2) {
		t.Fatal("same seed gave different plans")
	}
	// directed exploration (ε among untried sequences): valid and deterministic too
	o.Directed = true
	d1, _ := planMoves(t, o, g)
	d2, _ := planMoves(t, o, g)
	if _, m := totalReward(t, g, d1); m["complete"] != 1 || !slices.Equal(d1, d2) {
		t.Fatalf("directed: complete %v, deterministic %v", m["complete"], slices.Equal(d1, d2))
	}
	t.Logf("%d decisions: %d exact, %d learned (%d episodes), %d probe episodes", st.Decisions, st.Exact, st.OverBudget, st.Episodes, st.ProbeLeaves)
}

// TestHybridNearOptimal: the 88 % bound of TestNearOptimalOnSmallGraphs
// holds for the hybrid at the default budget too (there every decision of
// these graphs is exact, so it reaches what the exact n-step search does).
func TestHybridNearOptimal(t *testing.T) {
	for name, g := range smallGraphs(t) {
		opt, _ := bruteForceOptimum(t, g)
		o := fastOptions(4)
		o.ExactMaxLeaves = DefaultOptions().ExactMaxLeaves
		o.Restarts = len(newSession(t, g).Starts())
		moves, _ := planMoves(t, o, g)
		got, m := totalReward(t, g, moves)
		if m["complete"] != 1 {
			t.Fatalf("%s: incomplete plan: %v", name, m)
		}
		t.Logf("%s: optimum %.4f, hybrid %.4f (%.2f%%)", name, opt, got, 100*got/opt)
		if got > opt+1e-9 || got < opt-optimalityMargin*math.Abs(opt) {
			t.Errorf("%s: hybrid total reward %.4f vs optimum %.4f (margin %.0f%%)", name, got, opt, 100*optimalityMargin)
		}
	}
}

func TestExactMaxLeavesValidated(t *testing.T) {
	o := fastOptions(2)
	o.ExactMaxLeaves = -1
	if err := o.Validate(); err == nil {
		t.Fatal("negative exact_max_leaves accepted")
	}
	c := config.Defaults().Planner
	c.ExactMaxLeaves = 77
	oc, err := OptionsFromConfig(c)
	if err != nil || oc.ExactMaxLeaves != 77 {
		t.Fatalf("exact_max_leaves not mapped: %v %v", oc.ExactMaxLeaves, err)
	}
}
