package baseline

import (
	"context"
	"fmt"
	"math/rand/v2"

	"fabcell/planners"
)

func init() {
	planners.RegisterPlanner("random", "take a uniformly random feasible 1-ring move (seeded by planner.seed)", nil,
		func(o planners.Options) (planners.Planner, error) { return &Random{opts: o}, nil })
}

// Random picks a uniformly random candidate at every node (a lower
// reference for the learned planners); when stuck it follows Session.Jump.
// The same planner.seed gives the same toolpath.
type Random struct{ opts planners.Options }

var _ planners.Planner = (*Random)(nil)

// Name implements planners.Planner.
func (r *Random) Name() string { return "random" }

// Plan implements planners.Planner.
func (r *Random) Plan(ctx context.Context, s planners.Session, emit func(planners.Move) error) error {
	if err := begin(s); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(r.opts.Config.Seed), 0x7a2d0))
	var cand []planners.Move
	for !s.Done() {
		if err := ctx.Err(); err != nil {
			return err
		}
		cand = s.Candidates(cand[:0])
		var moves []planners.Move
		if len(cand) == 0 {
			moves = append(moves, s.Jump()...) // copy: Apply may reuse Jump's slice
			if len(moves) == 0 {
				return fmt.Errorf("%w at node %d", planners.ErrStuck, s.Current())
			}
		} else {
			moves = append(moves, cand[rng.IntN(len(cand))])
		}
		for _, m := range moves {
			s.Apply(m)
			if err := emit(m); err != nil {
				return err
			}
		}
		if r.opts.Progress != nil {
			r.opts.Progress(s.Progress())
		}
	}
	return nil
}

// begin places the tool at the first start node unless s is already begun
// or has nothing to cover (the empty plan is complete).
func begin(s planners.Session) error {
	if s.Current() >= 0 || planners.NothingToCover(s) {
		return nil
	}
	starts := s.Starts()
	if len(starts) == 0 {
		return fmt.Errorf("%w: no start node", planners.ErrStuck)
	}
	return s.Begin(starts[0])
}
