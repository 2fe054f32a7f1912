package wireframe

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/lsg"
)

// boundCfgs are the configurations the potential bound is checked under:
// the defaults (slack 0: the collision penalty exceeds any climb) and a
// steep climb weight with a small penalty, where a print charged the
// penalty alone would break a slack-free bound.
func boundCfgs() map[string]func() config.Cell {
	return map[string]func() config.Cell{
		"default": defaults,
		// rewards are the climb term alone: the bound is nearly tight
		"climb-only": func() config.Cell {
			c := feaOnlyCfg()
			c.Wireframe.ClimbWeightPerMM = 1
			c.Wireframe.DisplacementWeightPerMM = 0
			c.Wireframe.PeakDisplacementWeightPerMM = 0
			return c
		},
		"steep-climb": func() config.Cell {
			c := defaults()
			c.Wireframe.ClimbWeightPerMM = 40
			c.Wireframe.CollisionPenalty = 5
			return c
		},
	}
}

// TestPotentialBoundHolds checks the session's planners.PotentialBounder
// contract through lsg.Bound by brute force: from random states of random
// jobs, every sequence of up to n moves the session offers (candidates, and
// the jump chain at a dead end, as the explorer charges it) is applied,
// and for every step k ≥ 2 the discounted rewards of steps k… must not
// exceed Bound.Remaining(k, ref) with the reference potential after step
// k−1. Under the defaults the test also checks the bound is much tighter
// than the per-step one somewhere (what it is for).
func TestPotentialBoundHolds(t *testing.T) {
	n := 4
	if testing.Short() {
		n = 3
	}
	for name, mk := range boundCfgs() {
		for _, path := range []string{simplePath, "testdata/topopt-101_tiny.json", "testdata/klein_bottle_trail.json"} {
			cfg := mk()
			cfg.Planner.Ring = n
			p := newProc(t, cfg)
			g := load(t, p, path)
			rng := rand.New(rand.NewPCG(7, uint64(len(path))))
			checked, tighter := 0, 0
			for run := 0; run < 3; run++ {
				s := open(t, p, g)
				if err := s.Begin(s.Starts()[rng.IntN(len(s.Starts()))]); err != nil {
					t.Fatal(err)
				}
				for !s.Done() {
					if rng.IntN(6) == 0 {
						c, tt := checkBoundFrom(t, s, n)
						checked += c
						tighter += tt
					}
					if !applyRandom(s, rng) {
						break
					}
				}
			}
			if checked == 0 {
				t.Fatalf("%s %s: no sequence checked", name, path)
			}
			if tighter == 0 && name == "default" {
				t.Fatalf("%s %s: the potential bound was never tighter than the per-step bound", name, path)
			}
			t.Logf("%s %s: %d suffix sums checked, potential bound tighter on %d", name, path, checked, tighter)
		}
	}
}

// checkBoundFrom enumerates every move sequence of up to n steps from the
// session's state and checks the bound on every suffix; the session is left
// in the state it was in.
func checkBoundFrom(t *testing.T, s *Session, n int) (checked, tighter int) {
	t.Helper()
	ex, err := lsg.NewExplorer(s, lsg.ExplorerConfig{Horizon: n, Discount: lsg.Discount{Kind: lsg.Gaussian}, JumpLookahead: true})
	if err != nil {
		t.Fatal(err)
	}
	ex.Reset()
	b := lsg.NewBound(ex, s)
	perStep := lsg.NewStepBound(ex, s.MaxStepReward())
	root := b.Begin()
	type step struct {
		r   float64 // D(k)·R_k (jump chain: D(k)·Σ R)
		ref lsg.Ref // reference after the step
	}
	var path []step
	check := func() {
		// suffix sums: steps k..len(path), k ≥ 2
		sum := 0.0
		for k := len(path); k >= 2; k-- {
			sum += path[k-1].r
			ref := path[k-2].ref
			u := b.Remaining(k, ref)
			if sum > u+1e-9*math.Max(1, math.Abs(u)) {
				t.Fatalf("after %v: steps %d..%d sum to %.9g > bound %.9g (ref %+v)", s.Moves()[len(s.Moves())-len(path):], k, len(path), sum, u, ref)
			}
			checked++
			if u < perStep.Remaining(k, ref)/4 {
				tighter++
			}
		}
	}
	var dfs func(ref lsg.Ref)
	dfs = func(ref lsg.Ref) {
		k := len(path) + 1
		if k > n || s.Done() {
			check()
			return
		}
		c := s.Candidates(nil)
		if len(c) == 0 {
			// the explorer's dead-end charge: the whole jump chain as one term
			js := slices.Clone(s.Jump())
			if len(js) > 0 {
				r := 0.0
				for _, m := range js {
					r += s.Reward(m)
					s.Apply(m)
				}
				path = append(path, step{ex.D(k) * r, ref})
				for _, m := range js {
					ref = b.Next(ref, m)
				}
				path[len(path)-1].ref = ref
				check()
				path = path[:len(path)-1]
				for range js {
					s.Undo()
				}
			} else {
				check()
			}
			return
		}
		for _, m := range c {
			r := s.Reward(m)
			s.Apply(m)
			nref := b.Next(ref, m)
			path = append(path, step{ex.D(k) * r, nref})
			dfs(nref)
			path = path[:len(path)-1]
			s.Undo()
		}
	}
	dfs(root)
	return checked, tighter
}

// noPotential hides the session's PotentialBounder (the method below
// shadows the promoted one with another signature), leaving the per-step
// bound alone.
type noPotential struct{ *Session }

func (noPotential) Potential() {}

var _ planners.RewardBounder = noPotential{}

// TestPotentialBoundKeepsPlans: bfs and the exact hybrid of lsg-dqn plan
// the same moves with and without the potential bound (it only cuts
// branches that cannot win), and under the defaults the bound cuts
// branches bfs searched.
func TestPotentialBoundKeepsPlans(t *testing.T) {
	for name, mk := range boundCfgs() {
		for _, path := range []string{simplePath, "testdata/topopt-101_tiny.json"} {
			if testing.Short() && name != "default" && path != simplePath {
				continue
			}
			for _, pl := range []string{"bfs", "lsg-dqn"} {
				cfg := mk()
				cfg.Planner.Ring = 4
				p := newProc(t, cfg)
				g := load(t, p, path)
				with, w := planWith(t, pl, p, open(t, p, g))
				without, wo := planWith(t, pl, p, noPotential{open(t, p, g)})
				if !slices.Equal(with, without) {
					t.Fatalf("%s %s %s: plans differ with the potential bound\n%v\n%v", name, path, pl, with, without)
				}
				if pl == "bfs" && name == "default" && w >= wo {
					t.Fatalf("%s %s: bfs evaluated %d nodes with the potential bound, %d without", name, path, w, wo)
				}
				if pl == "bfs" {
					// the paper's BFS: no bound at all, same plan, more rewards
					all, we := planWith(t, "bfs-exhaustive", p, open(t, p, g))
					if !slices.Equal(with, all) {
						t.Fatalf("%s %s: bfs-exhaustive plans differently from bfs\n%v\n%v", name, path, with, all)
					}
					if name == "default" && we <= w {
						t.Fatalf("%s %s: bfs-exhaustive evaluated %d nodes, bfs %d", name, path, we, w)
					}
				}
				t.Logf("%s %s %s: %d moves; bfs nodes %d with the bound, %d without", name, path, pl, len(with), w, wo)
			}
		}
	}
}

// applyRandom applies a random candidate, or the jump chain at a dead end;
// false when there is neither.
func applyRandom(s *Session, rng *rand.Rand) bool {
	c := s.Candidates(nil)
	ms := s.Jump()
	if len(c) > 0 {
		ms = []planners.Move{c[rng.IntN(len(c))]}
	}
	for _, m := range ms {
		s.Apply(m)
	}
	return len(ms) > 0
}

// TestPotentialContractAllMoves checks the contract move by move, also for
// the moves no planner offers (a printed strut again, a strut from an
// unsupported node: charged the collision penalty alone, which the slack
// covers): from random states, every print move m has
// Reward(m) ≤ φ(last print) − φ(m) + slack (≤ slack before the first
// print), travels and jumps ≤ slack, and every unprinted strut has
// φ ≥ floor.
func TestPotentialContractAllMoves(t *testing.T) {
	for name, mk := range boundCfgs() {
		cfg := mk()
		p := newProc(t, cfg)
		g := load(t, p, "testdata/topopt-101_tiny.json")
		s := open(t, p, g)
		rng := rand.New(rand.NewPCG(11, 13))
		if err := s.Begin(s.Starts()[0]); err != nil {
			t.Fatal(err)
		}
		checked := 0
		for step := 0; !s.Done(); step++ {
			last, lastOK, floor, slack := s.PotentialState()
			if lastOK != (step > 0 && s.lastPrintEdge() >= 0) {
				t.Fatalf("%s step %d: lastOK %v", name, step, lastOK)
			}
			for e := range g.NumEdges() {
				ed := g.Edges[e]
				for _, from := range [2]int{ed.A, ed.B} {
					m := planners.Move{From: from, To: ed.A + ed.B - from, Kind: planners.Print, Edge: e}
					phi, ok := s.Potential(m)
					if !ok {
						t.Fatalf("%s: print move without potential", name)
					}
					if s.Passes(e) == 0 && phi < floor {
						t.Fatalf("%s step %d: strut %d has φ %g below the floor %g", name, step, e, phi, floor)
					}
					if s.Current() != from {
						continue // rewards are asked at the current node
					}
					ub := slack
					if lastOK {
						ub += last - phi
					}
					if r := s.Reward(m); r > ub+1e-9 {
						t.Fatalf("%s step %d: print %d from %d (passes %d) has reward %g > φ(last) − φ + slack = %g", name, step, e, from, s.Passes(e), r, ub)
					}
					checked++
				}
			}
			for _, m := range s.Jump() {
				if _, ok := s.Potential(m); ok {
					t.Fatalf("%s: jump move with a potential", name)
				}
				if r := s.Reward(m); r > slack {
					t.Fatalf("%s: jump reward %g > slack %g", name, r, slack)
				}
			}
			if !applyRandom(s, rng) {
				break
			}
		}
		if checked == 0 {
			t.Fatalf("%s: nothing checked", name)
		}
	}
}
