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
// When the session bounds its rewards (planners.RewardBounder per step,
// planners.PotentialBounder by potential; see Bound), a branch is cut when
// even the bound on its remaining steps cannot beat the best return found
// (ties included, in the tie order). The bound of a child (Bound.Step
// plus the bound on the steps after it) is known before its reward, so a
// child that cannot win is cut without asking the process for its reward
// (for wire-frames: an FEA solve), and children are searched best-first
// by that bound so that good returns are found early. Neither changes the
// chosen action; cut branches cost no budget.
type Exact struct {
	ex      *Explorer
	bound   *Bound // nil = no bound
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
	r    float64 // discounted step reward (Transition), once eval
	done bool
	eval bool    // Transition taken
	u    float64 // bound on the return after the parent (Bound.Step + Remaining)
	ref  Ref     // reference potential after the move
}

// NewExact returns the search over ex, cutting branches with b (usually
// NewBound(ex); nil cuts nothing).
func NewExact(ex *Explorer, b *Bound) *Exact {
	return &Exact{ex: ex, bound: b, kids: make([][]exactKid, ex.cfg.Horizon+2)}
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
	var ref Ref
	if s.bound != nil {
		ref = s.bound.Begin()
	}
	if err := s.search(ctx, ex.Root(), 0, 0, -1, ref); err != nil {
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

// search explores x at depth d with accumulated return g and reference
// potential ref (Bound); first is the index of the root action the branch
// started with.
func (s *Exact) search(ctx context.Context, x int32, d int, g float64, first int, ref Ref) error {
	ex := s.ex
	if d == 1 && ctx.Err() != nil {
		return ctx.Err()
	}
	ks := s.kids[d][:0]
	k1 := d + 1 // the children's step
	lazy := s.bound.PerMove()
	for _, a := range ex.Actions(x) {
		if !lazy {
			c, r, done := ex.Transition(x, a)
			kref := ref
			if s.bound != nil {
				kref = s.bound.Next(ref, ex.ActionMove(x, a))
			}
			ks = append(ks, exactKid{a: a, c: c, r: r, done: done, eval: true, ref: kref})
			s.Evaluated++
			continue
		}
		// the child's reward is asked only if its bound can still win
		m := ex.ActionMove(x, a)
		kref, u := s.bound.Step(k1, ref, m)
		if k1 < ex.cfg.Horizon {
			u += s.bound.Remaining(k1+1, kref)
		}
		ks = append(ks, exactKid{a: a, u: u, ref: kref})
	}
	if s.bound != nil {
		// best-first: by the bound when children were not evaluated,
		// otherwise by their reward
		key := func(k *exactKid) float64 {
			if lazy {
				return k.u
			}
			return k.r
		}
		slices.SortStableFunc(ks, func(p, q exactKid) int {
			switch kp, kq := key(&p), key(&q); {
			case kp > kq:
				return -1
			case kp < kq:
				return 1
			}
			return 0
		})
	}
	s.kids[d] = ks
	for i := range ks {
		f := first
		if d == 0 {
			f = slices.Index(s.root, s.kids[d][i].a)
		}
		if kd := &s.kids[d][i]; !kd.eval {
			if u := g + kd.u; u < s.best || (u == s.best && f > s.bestA) {
				s.Pruned++
				continue
			}
			kd.c, kd.r, kd.done = ex.Transition(x, kd.a)
			kd.eval = true
			s.Evaluated++
		}
		k := s.kids[d][i]
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
		if s.bound != nil {
			if u := v + s.bound.Remaining(d+2, k.ref); u < s.best || (u == s.best && f > s.bestA) {
				s.Pruned++
				continue
			}
		}
		if err := s.search(ctx, k.c, d+1, v, f, k.ref); err != nil {
			return err
		}
		if s.stopped {
			return nil
		}
	}
	return nil
}
