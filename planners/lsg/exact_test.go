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

// randomMidState returns a travel session on g after a random prefix (with
// jumps, so masks and history vary), or nil when that prefix left no
// candidate.
func randomMidState(t *testing.T, g *graph.Graph, rng *rand.Rand) planners.Session {
	t.Helper()
	s := travelSession(t, g)
	if err := s.Begin(rng.IntN(g.NumNodes())); err != nil {
		t.Fatal(err)
	}
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
		return nil
	}
	return s
}

// boundExplorer returns an explorer over s (horizon n, jump look-ahead)
// rooted at its current state and bound to l.
func boundExplorer(t *testing.T, s planners.Session, l *LSG, n int, disc Discount) *Explorer {
	t.Helper()
	ex, err := NewExplorer(s, ExplorerConfig{Horizon: n, Discount: disc, JumpLookahead: true})
	if err != nil {
		t.Fatal(err)
	}
	ex.Reset()
	if err := ex.Bind(l); err != nil {
		t.Fatal(err)
	}
	return ex
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
					s := randomMidState(t, g, rng)
					if s == nil {
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
						ex := boundExplorer(t, cs, l, n, disc)
						ex.SyncRoot()
						var bd *Bound
						if bounded {
							bd = NewStepBound(ex, 1) // travel: every reward ≤ 1
						}
						sol := NewExact(ex, bd)
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

// climbSession adds a wire-frame-like climb term to a session whose print
// rewards are ≤ 1 and other rewards ≤ 0: a print to node v earns
// c·(h(u) − h(v)) more, u the target of the latest earlier print and h a
// node height, so it implements planners.PotentialBounder with φ = c·h(To)
// on prints, the floor c·min h and slack 1.
type climbSession struct {
	planners.Session
	h []float64
	c float64
}

var _ planners.PotentialBounder = climbSession{}

func (s climbSession) Potential(m planners.Move) (float64, bool) {
	if m.Kind != planners.Print {
		return 0, false
	}
	return s.c * s.h[m.To], true
}

func (s climbSession) last() (float64, bool) {
	ms := s.Moves()
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Kind == planners.Print {
			return s.c * s.h[ms[i].To], true
		}
	}
	return 0, false
}

func (s climbSession) Reward(m planners.Move) float64 {
	r := s.Session.Reward(m)
	if phi, ok := s.Potential(m); ok {
		if last, ok := s.last(); ok {
			r += last - phi
		}
	}
	return r
}

func (s climbSession) PotentialState() (last float64, lastOK bool, floor, slack float64) {
	last, lastOK = s.last()
	return last, lastOK, s.c * slices.Min(s.h), 1
}

// TestExactPotentialBoundMatchesBruteForce: with a potential bound
// (climbSession over random node heights), Exact — which then skips the
// rewards of moves whose bound cannot win — returns the brute-force best
// return and first move (ties to the earlier root action), and asks for
// fewer rewards than the unbounded search overall.
func TestExactPotentialBoundMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cases, withB, without := 0, 0, 0
	for _, g := range []*graph.Graph{gridGraph(t, 4, 3, false), gridGraph(t, 4, 3, true), gridGraph(t, 5, 4, true)} {
		for _, name := range []string{"gaussian", "exponential", "inverse-square"} {
			disc, err := ParseDiscount(name, 0.865, 0.98)
			if err != nil {
				t.Fatal(err)
			}
			for n := 1; n <= 5; n++ {
				for trial := 0; trial < 3; trial++ {
					h := make([]float64, g.NumNodes())
					for i := range h {
						h[i] = rng.Float64() * 3
						if trial == 2 {
							h[i] = float64(rng.IntN(3)) // levels: paths often reach the floor
						}
					}
					c := []float64{0.05, 0.5, 3}[trial]
					s := randomMidState(t, g, rng)
					if s == nil {
						continue
					}
					b, err := NewBuilder(g, Config{Ring: n, NMax: 40 * n})
					if err != nil {
						t.Fatal(err)
					}
					l, err := b.BuildAt(s)
					if err != nil {
						t.Fatal(err)
					}
					cnt := &countingSession{Session: s}
					cl := climbSession{Session: cnt, h: h, c: c}
					_, want, _ := bruteDecision(cl, l, disc.At, n)
					wantBest := slices.Max(want)
					var rewards [2]int
					for i, bounded := range []bool{false, true} {
						ex := boundExplorer(t, cl, l, n, disc)
						var bd *Bound
						if bounded {
							if bd = NewBound(ex, cl); !bd.PerMove() {
								t.Fatal("no potential bound")
							}
						}
						before := cnt.rewards
						first, ret, ok, err := NewExact(ex, bd).Solve(context.Background(), 0, nil)
						if err != nil || !ok {
							t.Fatalf("ok %v err %v", ok, err)
						}
						rewards[i] = cnt.rewards - before
						if math.Abs(ret-wantBest) > 1e-12 || math.Abs(want[first]-wantBest) > 1e-12 {
							t.Fatalf("%s n=%d c=%g bounded=%v: best %v via %d, brute force %v (per first move %v)", name, n, c, bounded, ret, first, wantBest, want)
						}
						for j := 0; j < first; j++ {
							if want[j] >= wantBest-1e-12 {
								t.Fatalf("tie: action %d also reaches %v but %d was chosen", j, wantBest, first)
							}
						}
						ex.SyncRoot()
					}
					withB += rewards[1]
					without += rewards[0]
					cases++
				}
			}
		}
	}
	if cases < 60 || withB >= without {
		t.Fatalf("%d cases; %d rewards asked with the potential bound, %d without", cases, withB, without)
	}
	t.Logf("%d decisions; %d rewards asked with the potential bound, %d without", cases, withB, without)
}
