package baseline

import (
	"context"
	"fmt"
	"slices"

	"fabcell/planners"
	"fabcell/planners/lsg"
)

func init() {
	planners.RegisterPlanner("bfs", "exhaustive search of all move sequences inside the n-ring LSG (the paper's BFS baseline); takes the first move of the best", nil,
		func(o planners.Options) (planners.Planner, error) { return NewBFS(o) })
	planners.RegisterPlanner("bfs-exhaustive", "bfs without branch and bound: every sequence inside the n-ring LSG is scored (the paper's BFS cost; same moves as bfs)", nil,
		func(o planners.Options) (planners.Planner, error) {
			b, err := NewBFS(o)
			if err != nil {
				return nil, err
			}
			b.Exhaustive = true
			return b, nil
		})
}

// BFS is the paper's baseline (spec §1 Fig. 1, "BFS O(k^n)"): at every node
// it enumerates every sequence of at most n feasible moves inside the
// n-ring LSG, scores each by the same discounted return the LSG-DQN
// episodes use (Σ_k D(k)·R_k, Eq. 4, plus the dead-end jump charge of
// lsg.ExplorerConfig.JumpLookahead), and commits the first move of the best
// one (ties: the earlier candidate move).
//
// The search is lsg.Exact without an episode budget: rewards are memoised
// per action prefix (lsg.Explorer), so the subtree below the committed move
// is not re-evaluated at the next node, and when the session bounds its
// rewards (planners.RewardBounder, planners.PotentialBounder; lsg.Bound) a
// branch is cut when even the bound on its remaining steps cannot beat the
// best return found (branch and bound). Neither changes the chosen move.
type BFS struct {
	opts planners.Options
	disc lsg.Discount
	// Exhaustive turns the bound off (planner name "bfs-exhaustive"): every
	// feasible sequence of at most n moves gets its rewards, as in the
	// paper's BFS, so its cost can be compared with the bounded search. The
	// chosen moves are the same.
	Exhaustive bool
	// Stats of the last Plan.
	Evaluated int // transitions taken (rewards asked, memoised or not)
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
func (b *BFS) Name() string {
	if b.Exhaustive {
		return "bfs-exhaustive"
	}
	return "bfs"
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
	var bound *lsg.Bound
	if !b.Exhaustive {
		bound = lsg.NewBound(ex, s)
	}
	sr := lsg.NewExact(ex, bound)
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
			first, _, _, err := sr.Solve(ctx, 0, nil)
			if err != nil {
				return err
			}
			b.Evaluated += sr.Evaluated
			b.Pruned += sr.Pruned
			m = cand[0] // when every candidate leaves the LSG
			if first >= 0 {
				m = ex.ActionMove(ex.Root(), ex.Actions(ex.Root())[first])
			}
		}
		ex.Commit(m)
		if err := emit(m); err != nil {
			return err
		}
		b.progress(s)
	}
	return nil
}

func (b *BFS) progress(s planners.Session) {
	if b.opts.Progress != nil {
		b.opts.Progress(s.Progress())
	}
}
