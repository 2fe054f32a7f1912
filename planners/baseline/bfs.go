package baseline

import (
	"context"
	"fmt"
	"math"
	"slices"

	"fabcell/planners"
	"fabcell/planners/lsg"
)

func init() {
	planners.RegisterPlanner("bfs", "exhaustive search of all move sequences inside the n-ring LSG (the paper's BFS baseline); takes the first move of the best", nil,
		func(o planners.Options) (planners.Planner, error) { return NewBFS(o) })
}

// BFS is the paper's baseline (spec §1 Fig. 1, "BFS O(k^n)"): at every node
// it enumerates every sequence of at most n feasible moves inside the
// n-ring LSG, scores each by the same discounted return the LSG-DQN
// episodes use (Σ_k D(k)·R_k, Eq. 4, plus the dead-end jump charge of
// lsg.ExplorerConfig.JumpLookahead), and commits the first move of the best
// one (ties: the earlier candidate move).
//
// Exact pruning: rewards are memoised per action prefix (lsg.Explorer), so
// the subtree below the committed move is not re-evaluated at the next
// node; when the session implements planners.RewardBounder, a branch is cut
// when even the maximal reward on every remaining step cannot beat the best
// return found (branch and bound; children are searched best-first by
// their immediate reward so good returns are found early). Neither changes
// the chosen move.
type BFS struct {
	opts planners.Options
	disc lsg.Discount
	// Stats of the last Plan.
	Evaluated int // search-tree nodes visited
	Pruned    int // branches cut by the bound
}

var _ planners.Planner = (*BFS)(nil)

// NewBFS builds the baseline from the planner options (ring, discount).
func NewBFS(o planners.Options) (*BFS, error) {
	if o.Config.Ring < 1 {
		return nil, fmt.Errorf("bfs: ring must be >= 1, got %d", o.Config.Ring)
	}
	d, err := lsg.ParseDiscount(o.Config.Discount, o.Config.Sigma, o.Config.Gamma)
	if err != nil {
		return nil, fmt.Errorf("bfs: %w", err)
	}
	return &BFS{opts: o, disc: d}, nil
}

// Name implements planners.Planner.
func (b *BFS) Name() string { return "bfs" }

type bfsSearch struct {
	ex      *lsg.Explorer
	n       int
	ub      []float64 // ub[k] = Σ_{j≥k} D(j)·max(Rmax, 0): bound on steps k..n
	bounded bool
	best    float64
	bestA   int
	root    []lsg.Action
	eval    int
	pruned  int
	kids    [][]kid
}

type kid struct {
	a    lsg.Action
	c    int32
	r    float64
	done bool
}

// Plan implements planners.Planner.
func (b *BFS) Plan(ctx context.Context, s planners.Session, emit func(planners.Move) error) error {
	if err := begin(s); err != nil {
		return err
	}
	ring := b.opts.Config.Ring
	nmax := b.opts.Config.NMaxOrDefault()
	bl, err := lsg.NewBuilder(s.Graph(), lsg.Config{Ring: ring, NMax: nmax})
	if err != nil {
		return err
	}
	ex, err := lsg.NewExplorer(s, lsg.ExplorerConfig{Horizon: ring, Discount: b.disc, JumpLookahead: true,
		SignedPasses: s.Coverage() == planners.EdgesOnceOrTwice})
	if err != nil {
		return err
	}
	sr := &bfsSearch{ex: ex, n: ring, kids: make([][]kid, ring+2)}
	if rb, ok := s.(planners.RewardBounder); ok {
		sr.bounded = true
		rmax := math.Max(rb.MaxStepReward(), 0)
		sr.ub = make([]float64, ring+3)
		for k := ring + 1; k >= 1; k-- {
			sr.ub[k] = sr.ub[k+1] + b.disc.At(k)*rmax
		}
	}
	b.Evaluated, b.Pruned = 0, 0
	ex.Reset()
	var cand []planners.Move
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ex.SyncRoot()
		if s.Done() {
			break
		}
		cand = s.Candidates(cand[:0])
		var m planners.Move
		switch len(cand) {
		case 0:
			js := s.Jump()
			if len(js) == 0 {
				return fmt.Errorf("%w at node %d", planners.ErrStuck, s.Current())
			}
			for _, jm := range slices.Clone(js) {
				ex.Commit(jm)
				if err := emit(jm); err != nil {
					return err
				}
			}
			b.progress(s)
			continue
		case 1:
			m = cand[0]
		default:
			l, err := bl.BuildAt(s)
			if err != nil {
				return err
			}
			if err := ex.Bind(l); err != nil {
				return err
			}
			m, err = sr.decide(ctx)
			if err != nil {
				return err
			}
			if m.From < 0 { // every candidate leaves the LSG
				m = cand[0]
			}
		}
		ex.Commit(m)
		if err := emit(m); err != nil {
			return err
		}
		b.progress(s)
	}
	b.Evaluated, b.Pruned = sr.eval, sr.pruned
	return nil
}

func (b *BFS) progress(s planners.Session) {
	if b.opts.Progress != nil {
		b.opts.Progress(s.Progress())
	}
}

// decide runs the exhaustive search from the root and returns the first
// move of the best sequence (From = -1 if the root has no in-LSG action).
func (sr *bfsSearch) decide(ctx context.Context) (planners.Move, error) {
	ex := sr.ex
	sr.root = append(sr.root[:0], ex.Actions(ex.Root())...)
	if len(sr.root) == 0 {
		return planners.Move{From: -1}, nil
	}
	sr.best, sr.bestA = math.Inf(-1), -1
	if err := sr.search(ctx, ex.Root(), 0, 0, -1); err != nil {
		return planners.Move{}, err
	}
	if err := ex.Err(); err != nil {
		return planners.Move{}, err
	}
	return ex.ActionMove(ex.Root(), sr.root[sr.bestA]), nil
}

// search explores x at depth d with accumulated return g; first is the
// index of the root action the branch started with.
func (sr *bfsSearch) search(ctx context.Context, x int32, d int, g float64, first int) error {
	ex := sr.ex
	if d == 1 && ctx.Err() != nil {
		return ctx.Err()
	}
	acts := ex.Actions(x)
	ks := sr.kids[d][:0]
	for _, a := range acts {
		c, r, done := ex.Transition(x, a)
		ks = append(ks, kid{a: a, c: c, r: r, done: done})
		sr.eval++
	}
	if sr.bounded {
		slices.SortStableFunc(ks, func(p, q kid) int {
			switch {
			case p.r > q.r:
				return -1
			case p.r < q.r:
				return 1
			}
			return 0
		})
	}
	sr.kids[d] = ks
	for i := range ks {
		k := sr.kids[d][i]
		f := first
		if d == 0 {
			f = slices.IndexFunc(sr.root, func(a lsg.Action) bool { return a == k.a })
		}
		v := g + k.r
		if k.done {
			if v > sr.best || (v == sr.best && f < sr.bestA) {
				sr.best, sr.bestA = v, f
			}
			continue
		}
		if sr.bounded {
			if u := v + sr.ub[d+2]; u < sr.best || (u == sr.best && f > sr.bestA) {
				sr.pruned++
				continue
			}
		}
		if err := sr.search(ctx, k.c, d+1, v, f); err != nil {
			return err
		}
	}
	return nil
}
