package lsg

import (
	"context"
	"math"
	"slices"
)

// Exact is the exhaustive n-step search inside the bound LSG (the paper's
// BFS baseline, spec §1 Fig. 1 "BFS O(k^n)") over the explorer's memoised
// prefix tree, with a budget on the episodes it may evaluate. It scores
// every action sequence of at most Horizon steps by the same discounted
// return the learning episodes use (Σ_k D(k)·R_k, Eq. 4, plus the dead-end
// jump charge of ExplorerConfig.JumpLookahead) and returns the first action
// of the best one; ties go to the earlier root action (Actions(Root())
// order). Every reward it evaluates stays memoised in the explorer, so a
// search that runs out of budget leaves its work to whatever runs next, and
// every transition it takes counts for Explorer.Complete.
//
// When the session bounds its step reward (planners.RewardBounder), a
// branch is cut when even the maximal reward on every remaining step cannot
// beat the best return found (ties included, in the tie order); children
// are searched best-first by their discounted step reward so that good
// returns are found early. Neither changes the chosen action; cut branches
// cost no budget.
type Exact struct {
	ex      *Explorer
	ub      []float64 // ub[k] = Σ_{j≥k} D(j)·max(Rmax, 0); nil = no bound
	kids    [][]exactKid
	root    []Action
	best    float64
	bestA   int
	limit   int
	onLeaf  func(first int, ret float64)
	stopped bool

	// Counters of the last Solve.
	Leaves    int // episodes (terminal sequences) evaluated
	Evaluated int // transitions taken
	Pruned    int // branches cut by the bound
}

type exactKid struct {
	a    Action
	c    int32
	r    float64
	done bool
}

// NewExact returns the search over ex. bounded says whether maxStep bounds
// every step reward of the session (and every summed jump chain);
// otherwise no branch is cut.
func NewExact(ex *Explorer, maxStep float64, bounded bool) *Exact {
	n := ex.cfg.Horizon
	s := &Exact{ex: ex, kids: make([][]exactKid, n+2)}
	if bounded {
		rmax := math.Max(maxStep, 0)
		s.ub = make([]float64, n+3)
		for k := n + 1; k >= 1; k-- {
			s.ub[k] = s.ub[k+1] + ex.disc[k]*rmax
		}
	}
	return s
}

// Solve searches from the root of the bound LSG. maxLeaves > 0 caps the
// number of episodes evaluated: when the search needs more than maxLeaves,
// it stops and returns ok = false (first and ret are then meaningless);
// maxLeaves ≤ 0 means no cap. onLeaf (may be nil) is called with the index
// of the root action and the return of every episode evaluated, also when
// the search runs out of budget. With ok, first indexes Actions(Root())
// (−1 when the root has no in-LSG action) and ret is the best return.
// ctx is checked between root subtrees; the error is ctx's or the
// explorer's (a non-finite reward).
func (s *Exact) Solve(ctx context.Context, maxLeaves int, onLeaf func(first int, ret float64)) (first int, ret float64, ok bool, err error) {
	ex := s.ex
	s.root = append(s.root[:0], ex.Actions(ex.Root())...)
	s.Leaves, s.Evaluated, s.Pruned = 0, 0, 0
	if len(s.root) == 0 {
		return -1, 0, true, ex.Err()
	}
	s.best, s.bestA = math.Inf(-1), -1
	s.limit, s.onLeaf, s.stopped = maxLeaves, onLeaf, false
	if err := s.search(ctx, ex.Root(), 0, 0, -1); err != nil {
		return 0, 0, false, err
	}
	if err := ex.Err(); err != nil {
		return 0, 0, false, err
	}
	if s.stopped {
		return 0, 0, false, nil
	}
	return s.bestA, s.best, true, nil
}

// search explores x at depth d with accumulated return g; first is the
// index of the root action the branch started with.
func (s *Exact) search(ctx context.Context, x int32, d int, g float64, first int) error {
	ex := s.ex
	if d == 1 && ctx.Err() != nil {
		return ctx.Err()
	}
	ks := s.kids[d][:0]
	for _, a := range ex.Actions(x) {
		c, r, done := ex.Transition(x, a)
		ks = append(ks, exactKid{a: a, c: c, r: r, done: done})
		s.Evaluated++
	}
	if s.ub != nil {
		slices.SortStableFunc(ks, func(p, q exactKid) int {
			switch {
			case p.r > q.r:
				return -1
			case p.r < q.r:
				return 1
			}
			return 0
		})
	}
	s.kids[d] = ks
	for i := range ks {
		k := s.kids[d][i]
		f := first
		if d == 0 {
			f = slices.Index(s.root, k.a)
		}
		v := g + k.r
		if k.done {
			if s.limit > 0 && s.Leaves >= s.limit {
				s.stopped = true
				return nil
			}
			s.Leaves++
			if s.onLeaf != nil {
				s.onLeaf(f, v)
			}
			if v > s.best || (v == s.best && f < s.bestA) {
				s.best, s.bestA = v, f
			}
			continue
		}
		if s.ub != nil {
			if u := v + s.ub[d+2]; u < s.best || (u == s.best && f > s.bestA) {
				s.Pruned++
				continue
			}
		}
		if err := s.search(ctx, k.c, d+1, v, f); err != nil {
			return err
		}
		if s.stopped {
			return nil
		}
	}
	return nil
}
