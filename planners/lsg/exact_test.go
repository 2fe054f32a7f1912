package lsg

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"fabcell/planners"
	"fabcell/planners/graph"
)

// bruteDecision enumerates, by Apply/Undo on the session alone (no
// explorer), every sequence of at most n moves from the current state whose
// targets lie in l (first candidate per target node, as Explorer.Actions),
// scoring each by Σ_k D(k)·R_k plus D(k+1)·R(jump chain) when step k < n
// ends in a dead end of the graph. It returns the best return per first
// move (indexed like the in-LSG root candidates) and the number of
// sequences.
func bruteDecision(s planners.Session, l *LSG, d func(int) float64, n int) (firstTo []int, best []float64, leaves int) {
	inLSG := func() []planners.Move {
		var out []planners.Move
		for _, m := range s.Candidates(nil) {
			if l.Local(m.To) >= 0 && !slices.ContainsFunc(out, func(o planners.Move) bool { return o.To == m.To }) {
				out = append(out, m)
			}
		}
		return out
	}
	var rec func(k int, g float64, first int)
	rec = func(k int, g float64, first int) {
		for i, m := range inLSG() {
			f := first
			if k == 1 {
				f = i
				firstTo = append(firstTo, m.To)
				best = append(best, math.Inf(-1))
			}
			r := d(k) * s.Reward(m)
			s.Apply(m)
			cands := s.Candidates(nil)
			if len(cands) == 0 && !s.Done() && k < n {
				if js := slices.Clone(s.Jump()); len(js) > 0 {
					jr := 0.0
					for _, jm := range js {
						jr += s.Reward(jm)
						s.Apply(jm)
					}
					for range js {
						s.Undo()
					}
					r += d(k+1) * jr
				}
			}
			v := g + r
			if k == n || len(inLSG()) == 0 {
				leaves++
				best[f] = math.Max(best[f], v)
			} else {
				rec(k+1, v, f)
			}
			s.Undo()
		}
	}
	rec(1, 0, -1)
	return firstTo, best, leaves
}

// TestExactMatchesBruteForce: from random mid-plan states of small graphs
// (dead ends and jumps included), Exact — with and without the bound —
// returns the best return and the first move of the brute-force
// enumeration (ties to the earlier root action), evaluates every episode
// when unbounded, respects the episode budget exactly, and re-solving
// evaluates no reward twice.
func TestExactMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	graphs := []struct {
		name string
		g    *graph.Graph
	}{
		{"grid4x3", gridGraph(t, 4, 3, false)},
		{"tri4x3", gridGraph(t, 4, 3, true)},
		{"tri5x4", gridGraph(t, 5, 4, true)},
		{"grid3x3", gridGraph(t, 3, 3, false)},
	}
	type namedDiscount struct {
		name string
		d    Discount
	}
	var discounts []namedDiscount
	for _, spec := range []struct {
		name  string
		sigma float64
		gamma float64
	}{{"gaussian", 0.865, 0.98}, {"exponential", 0.865, 1}, {"inverse-square", 0.865, 0.98}} {
		d, err := ParseDiscount(spec.name, spec.sigma, spec.gamma)
		if err != nil {
			t.Fatal(err)
		}
		discounts = append(discounts, namedDiscount{spec.name, d})
	}
	cases := 0
	for _, gr := range graphs {
		gname, g := gr.name, gr.g
		for _, dn := range discounts {
			dname, disc := dn.name, dn.d
			for n := 1; n <= 5; n++ {
				for trial := 0; trial < 3; trial++ {
					s := travelSession(t, g)
					if err := s.Begin(rng.IntN(g.NumNodes())); err != nil {
						t.Fatal(err)
					}
					// a random prefix (with jumps) so masks and history vary
					for k := rng.IntN(g.NumEdges() / 2); k > 0 && !s.Done(); k-- {
						c := s.Candidates(nil)
						if len(c) == 0 {
							for _, m := range slices.Clone(s.Jump()) {
								s.Apply(m)
							}
							continue
						}
						s.Apply(c[rng.IntN(len(c))])
					}
					if s.Done() || len(s.Candidates(nil)) == 0 {
						continue
					}
					cs := &countingSession{Session: s}
					b, err := NewBuilder(g, Config{Ring: n, NMax: 40 * n})
					if err != nil {
						t.Fatal(err)
					}
					l, err := b.BuildAt(s)
					if err != nil {
						t.Fatal(err)
					}
					firstTo, want, leaves := bruteDecision(s, l, disc.At, n)
					wantBest, wantFirst := math.Inf(-1), -1
					for i, v := range want {
						if v > wantBest {
							wantBest, wantFirst = v, i
						}
					}
					for _, bounded := range []bool{false, true} {
						ex, err := NewExplorer(cs, ExplorerConfig{Horizon: n, Discount: disc, JumpLookahead: true})
						if err != nil {
							t.Fatal(err)
						}
						ex.Reset()
						if err := ex.Bind(l); err != nil {
							t.Fatal(err)
						}
						ex.SyncRoot()
						sol := NewExact(ex, 1, bounded) // travel: MaxStepReward = 1
						acts := slices.Clone(ex.Actions(ex.Root()))
						if len(acts) != len(firstTo) {
							t.Fatalf("%s %s n=%d: %d root actions, brute force %d", gname, dname, n, len(acts), len(firstTo))
						}
						for i, a := range acts {
							if ex.ActionMove(ex.Root(), a).To != firstTo[i] {
								t.Fatalf("root action %d goes to %d, brute force %d", i, ex.ActionMove(ex.Root(), a).To, firstTo[i])
							}
						}
						seen := make([]float64, len(acts))
						for i := range seen {
							seen[i] = math.Inf(-1)
						}
						if !bounded {
							for i, a := range acts {
								if ex.Explored(ex.Root(), a) {
									t.Fatalf("root action %d explored before any search", i)
								}
							}
							// one episode short of the tree: over budget
							if leaves > 1 {
								_, _, ok, err := sol.Solve(context.Background(), leaves-1, nil)
								if err != nil || ok || sol.Leaves != leaves-1 {
									t.Fatalf("%s %s n=%d: budget %d of %d leaves: ok %v, %d leaves, err %v", gname, dname, n, leaves-1, leaves, ok, sol.Leaves, err)
								}
							}
						}
						first, ret, ok, err := sol.Solve(context.Background(), leaves, func(f int, v float64) { seen[f] = math.Max(seen[f], v) })
						if err != nil || !ok {
							t.Fatalf("%s %s n=%d: ok %v err %v", gname, dname, n, ok, err)
						}
						if math.Abs(ret-wantBest) > 1e-12 || math.Abs(want[first]-wantBest) > 1e-12 {
							t.Fatalf("%s %s n=%d bounded=%v: best %v via action %d (%v), brute force %v via %d (per first move %v)",
								gname, dname, n, bounded, ret, first, want[first], wantBest, wantFirst, want)
						}
						for i := 0; i < first; i++ { // ties go to the earlier action
							if math.Abs(want[i]-wantBest) <= 1e-12 && want[i] >= wantBest {
								t.Fatalf("tie: action %d also reaches %v but %d was chosen", i, wantBest, first)
							}
						}
						if !bounded {
							if sol.Leaves != leaves || sol.Pruned != 0 {
								t.Fatalf("unbounded: %d leaves (%d pruned), brute force %d", sol.Leaves, sol.Pruned, leaves)
							}
							for i := range want {
								if math.Abs(seen[i]-want[i]) > 1e-12 {
									t.Fatalf("leaf returns of action %d: best %v, brute force %v", i, seen[i], want[i])
								}
							}
							if !ex.Complete(ex.Root()) {
								t.Fatal("root not complete after an exhaustive solve")
							}
							for i, a := range acts {
								if !ex.Explored(ex.Root(), a) {
									t.Fatalf("root action %d not explored after an exhaustive solve", i)
								}
							}
						} else if sol.Leaves > leaves {
							t.Fatalf("bounded search evaluated %d leaves of %d", sol.Leaves, leaves)
						}
						mid := cs.rewards
						if _, _, _, err := sol.Solve(context.Background(), 0, nil); err != nil || cs.rewards != mid {
							t.Fatalf("re-solve evaluated %d rewards again (err %v)", cs.rewards-mid, err)
						}
						ex.SyncRoot()
						cases++
					}
				}
			}
		}
	}
	if cases < 100 {
		t.Fatalf("only %d cases", cases)
	}
	t.Logf("%d decisions checked", cases)
}
