// Package baseline holds the reference planners every process can use:
// greedy (best immediate reward), random, and bfs (exhaustive search inside
// the n-ring LSG, the paper's baseline).
package baseline

import (
	"context"
	"fmt"

	"fabcell/planners"
)

func init() {
	planners.RegisterPlanner("greedy", "take the feasible 1-ring move with the best immediate reward", nil,
		func(o planners.Options) (planners.Planner, error) { return &Greedy{opts: o}, nil })
}

// Greedy picks, at every node, the candidate with the highest step reward
// (ties: lowest target node index); when stuck it follows Session.Jump.
type Greedy struct{ opts planners.Options }

var _ planners.Planner = (*Greedy)(nil)

// Name implements planners.Planner.
func (g *Greedy) Name() string { return "greedy" }

// Plan implements planners.Planner.
func (g *Greedy) Plan(ctx context.Context, s planners.Session, emit func(planners.Move) error) error {
	if s.Current() < 0 {
		if planners.NothingToCover(s) {
			return nil // the empty plan is complete
		}
		starts := s.Starts()
		if len(starts) == 0 {
			return fmt.Errorf("%w: no start node", planners.ErrStuck)
		}
		if err := s.Begin(starts[0]); err != nil {
			return err
		}
	}
	var cand []planners.Move
	for !s.Done() {
		if err := ctx.Err(); err != nil {
			return err
		}
		cand = s.Candidates(cand[:0])
		if len(cand) == 0 {
			jump := s.Jump()
			if len(jump) == 0 {
				return fmt.Errorf("%w at node %d", planners.ErrStuck, s.Current())
			}
			for _, m := range jump {
				s.Apply(m)
				if err := emit(m); err != nil {
					return err
				}
			}
			continue
		}
		best, bestR := 0, s.Reward(cand[0])
		for i := 1; i < len(cand); i++ {
			if r := s.Reward(cand[i]); r > bestR || (r == bestR && cand[i].To < cand[best].To) {
				best, bestR = i, r
			}
		}
		m := cand[best]
		s.Apply(m)
		if err := emit(m); err != nil {
			return err
		}
		if g.opts.Progress != nil {
			d, t := s.Progress()
			g.opts.Progress(d, t)
		}
	}
	return nil
}
