package lsgdqn

import (
	"context"
	"errors"
	"fabcell/config"
	"fmt"
	"slices"

	"fabcell/planners"
	"fabcell/planners/baseline"
)

// Fortified rollout (Options.FortifyEvery; config planner.fortify_every).
//
// LSG-DQN is a rollout-style look-ahead policy: it optimises the process
// reward over n steps, which is not the objective a job is judged by (for
// wire-frames the largest sag of any partial structure, reached far beyond
// the horizon). Bertsekas' rollout with a base heuristic has the cost
// improvement property — the rollout policy is no worse than its base
// policy — only when the look-ahead evaluates the base policy's true
// completion cost; a truncated or learned look-ahead loses it. The
// fortified rollout restores it (D. P. Bertsekas, "Rollout Algorithms for
// Discrete Optimization: A Survey", Handbook of Combinatorial Optimization,
// 2013, §2.2; Bertsekas, Tsitsiklis & Wu, "Rollout Algorithms for
// Combinatorial Optimization", J. Heuristics 3, 1997: the "fortified"
// variant keeps the best complete trajectory found so far and follows it
// whenever the new proposal's completion is worse).
//
// Here the base policy is the greedy baseline (baseline.Greedy) and the
// trajectory cost J is a vector: the coverage units left when a
// trajectory gets stuck, then the session's planners.Objective (wire-frames:
// print collisions, unreachable struts, max_displacement_mm). "No worse"
// is componentwise (planners.NoWorse), a partial order, so the guarantee
// holds for every measure separately; a lexicographic order would let a
// plan that leaves fewer struts out through with a larger sag (measured:
// Bunny n = 2, README "Wire-frame"). The fortifier keeps an incumbent: a
// trajectory from Begin to its end (Done, or stuck) with cost J_inc, at
// first greedy's completion from the planner's start state. LSG-DQN
// proposes moves on the real session as usual; the proposed moves are
// held back. After every FortifyEvery proposed moves (a checkpoint) the
// proposal C = committed prefix + proposed segment + greedy completion is
// evaluated on a second session (replaying the incumbent's state, on
// another goroutine while LSG-DQN keeps proposing the next segment
// speculatively):
//
//   - J(C) ≤ J_inc in every component: C becomes the incumbent and the
//     segment is emitted;
//   - otherwise the speculative moves are undone, the incumbent's next
//     moves (as many as the segment held) are applied and emitted, and
//     LSG-DQN resumes from there (its memo is rebuilt: lsg.Explorer.Reset).
//
// A segment equal to the incumbent's next moves is accepted without
// evaluation (C is the incumbent).
//
// Guarantee: every emitted move is a move of the incumbent at the time it
// is emitted, and the emitted moves are always a prefix of the incumbent;
// J_inc never increases in any component. When planning ends the emitted
// sequence is the final incumbent, so, componentwise,
//
//	J(plan) ≤ J(greedy completion from the state Plan started in)
//
// — for a fresh session, ≤ J of baseline.Greedy's plan (both begin at
// Starts()[0]); with Restarts > 1 the plan is the lexicographically best
// attempt among those no worse than attempt 0 (which starts at
// Starts()[0]), so the same bound holds. This is exact on the Objective's
// values (the wire-frame's are the rounded metrics `fabcell bench`
// prints), not in expectation; it needs a deterministic greedy (it is)
// and sessions whose Objective depends only on the applied moves.
//
// Latency: a move is emitted at most 2·FortifyEvery proposed moves after
// LSG-DQN decided it (one segment under evaluation, one being proposed),
// plus the evaluation; the first move waits for greedy's initial
// completion and the first checkpoint's — unless FortifyWarmup W > 0:
// greedy's first W moves then leave as greedy decides them (the first in
// milliseconds), LSG-DQN proposes from there, and the next move waits for
// the rest of greedy's completion and the first checkpoint. W is a number
// of moves, not a time: on the robot, W struts of printing cover that
// wait (README "Wire-frame"); a W as large as FortifyEvery hands a
// small model's first part to greedy (Femur, n = 4: 1.000× greedy's sag
// with W = 400 against 0.822× without warm-up). Cost: one greedy
// completion per checkpoint whose segment differs from the incumbent.

// FortifyStats count what the fortifier did in one attempt.
type FortifyStats struct {
	Checkpoints int // segments compared with the incumbent
	Same        int // of which equal to the incumbent's next moves (no evaluation)
	Accepted    int // evaluated and accepted (J(C) ≤ J_inc)
	Rejected    int // evaluated and rejected: the incumbent's moves were emitted
	Cut         int // of which stopped early (planners.ObjectiveBounder)
	// Retried counts rejected evaluations that were retried with the
	// longer proposal instead (Options.FortifyRetries); not in Rejected.
	Retried     int
	GreedyMoves int // moves of greedy completions computed (the initial one included)
	// InitialCost and FinalCost are J of greedy's completion from the start
	// state and J of the plan (FinalCost ≤ InitialCost componentwise).
	InitialCost, FinalCost []float64
}

// evalResult is a finished greedy completion on the base session.
type evalResult struct {
	initial  bool
	seg      int // proposed moves evaluated (0 for the initial completion)
	accepted bool
	moves    []planners.Move // the new incumbent (accepted or initial)
	cost     []float64
	greedy   int
	cut      bool // the completion stopped early: its bound was already worse
	err      error
}

// errWorse stops a greedy completion whose cost bound is already worse
// than the incumbent's.
var errWorse = errors.New("lsg-dqn: fortify: completion worse than the incumbent")

// fortifier runs on the planner's goroutine; the base session belongs to
// at most one evaluation goroutine at a time (pending != nil) and to
// nobody else.
type fortifier struct {
	ctx    context.Context
	cancel context.CancelFunc
	every  int
	s      planners.Session // the real session LSG-DQN proposes on
	base   planners.Session // holds the incumbent (when nothing is pending)
	inc    []planners.Move  // incumbent, from Begin
	cost   []float64        // J(inc)
	done   int              // moves of s emitted (a prefix of inc)
	broken bool             // base lost its state (an evaluation failed)

	pending chan evalResult // nil: no evaluation running
	// pendingSeg is the proposed-move count of the pending evaluation;
	// pendingRetry marks it as a retry (Options.FortifyRetries), collected
	// FortifyEvery proposed moves after it instead of at 2·FortifyEvery.
	pendingSeg     int
	pendingRetry   bool
	retries        int                // Options.FortifyRetries
	againstStart   bool               // Options.FortifyAgainstStart
	completionRing int                // Options.FortifyCompletionRing
	retried        int                // consecutive retries of the current proposal
	warm           chan planners.Move // greedy's first moves (Options.FortifyWarmup)
	emit           func(planners.Move) error
	prog           func(done, total int)
	stats          FortifyStats
}

// trajectoryCost is J of the moves applied to s: the coverage units left
// when s is not done (0 when it is), then the session's Objective.
func trajectoryCost(s planners.Session) []float64 {
	left := 0.0
	if !s.Done() {
		d, t := s.Progress()
		left = float64(max(t-d, 1))
	}
	return append([]float64{left}, s.(planners.Objective).ObjectiveCost()...)
}

// fortifiable reports whether p can fortify an attempt on s.
func (p *Planner) fortifiable(s planners.Session) bool {
	_, ok := s.(planners.Objective)
	return p.opt.FortifyEvery > 0 && ok && p.proc != nil
}

// newFortifier replays s's moves onto a fresh session of the process and
// starts greedy's completion from there (the initial incumbent) in the
// background.
func newFortifier(ctx context.Context, proc planners.Process, s planners.Session, every, warmup int, emit func(planners.Move) error, prog func(int, int)) (*fortifier, error) {
	base, err := proc.NewSession(s.Graph())
	if err != nil {
		return nil, err
	}
	if err := replayOnto(base, s); err != nil {
		return nil, err
	}
	f := &fortifier{every: every, s: s, base: base, done: len(s.Moves()), emit: emit, prog: prog}
	f.ctx, f.cancel = context.WithCancel(ctx)
	out := make(chan evalResult, 1)
	f.pending = out
	if warmup > 0 {
		f.warm = make(chan planners.Move, warmup)
	}
	warm := f.warm
	go func() {
		n0 := len(base.Moves())
		stream := func(planners.Move) error {
			if warm != nil {
				if ms := base.Moves(); len(ms)-n0 <= warmup {
					warm <- ms[len(ms)-1] // buffered: never blocks
				}
				if len(base.Moves())-n0 == warmup {
					close(warm)
					warm = nil
				}
			}
			return nil
		}
		err := (&baseline.Greedy{}).Plan(f.ctx, base, stream)
		if warm != nil {
			close(warm)
		}
		res := evalResult{initial: true, greedy: len(base.Moves()) - n0}
		if err != nil && !errors.Is(err, planners.ErrStuck) {
			res.err = err
		} else {
			res.moves = slices.Clone(base.Moves())
			res.cost = trajectoryCost(base)
		}
		out <- res
	}()
	return f, nil
}

// replayOnto begins dst where src began and applies src's moves.
func replayOnto(dst, src planners.Session) error {
	ms := src.Moves()
	start := src.Current()
	if len(ms) > 0 {
		start = ms[0].From
	}
	if err := dst.Begin(start); err != nil {
		return err
	}
	for _, m := range ms {
		dst.Apply(m)
	}
	if dst.Current() != src.Current() {
		return fmt.Errorf("lsg-dqn: fortify: replaying %d moves ends at node %d, the session is at %d", len(ms), dst.Current(), src.Current())
	}
	return nil
}

// warmup applies and emits greedy's first moves as the initial
// completion decides them (Options.FortifyWarmup): they are the
// incumbent's first moves whatever it ends as.
func (f *fortifier) warmup() error {
	if f.warm == nil {
		return nil
	}
	for {
		select {
		case m, ok := <-f.warm:
			if !ok {
				f.warm = nil
				return nil
			}
			f.s.Apply(m)
			if err := f.emitUpTo(len(f.s.Moves())); err != nil {
				return err
			}
		case <-f.ctx.Done():
			return f.ctx.Err()
		}
	}
}

// completer is the policy that completes a proposal: greedy, or the
// exact n-step search (bfs) at Options.FortifyCompletionRing. The initial
// incumbent stays greedy's plan, so the guarantee against greedy holds
// whatever completes the proposals; a better completion only lets more
// of them pass (README "The planner").
func (f *fortifier) completer() planners.Planner {
	if f.completionRing > 0 {
		c := config.Defaults().Planner
		c.Ring = f.completionRing
		if b, err := baseline.NewBFS(planners.Options{Config: c}); err == nil {
			return b
		}
	}
	return &baseline.Greedy{}
}

// close cancels a running evaluation and waits for it.
func (f *fortifier) close() {
	f.cancel()
	if f.pending != nil {
		<-f.pending
		f.pending = nil
	}
}

// proposed returns the moves of s not yet emitted.
func (f *fortifier) proposed() []planners.Move { return f.s.Moves()[f.done:] }

// launch starts the evaluation of the proposed moves, or accepts them
// outright when they are the incumbent's next moves. Nothing may be pending.
func (f *fortifier) launch() error {
	seg := slices.Clone(f.proposed())
	if len(seg) == 0 {
		return nil
	}
	f.stats.Checkpoints++
	if f.done+len(seg) <= len(f.inc) && slices.Equal(seg, f.inc[f.done:f.done+len(seg)]) {
		f.stats.Same++
		return f.emitUpTo(f.done + len(seg))
	}
	if f.broken {
		return errors.New("lsg-dqn: fortify: the incumbent session was lost")
	}
	done, inc, cost, base := f.done, f.inc, f.cost, f.base
	if f.againstStart {
		// accept whatever ends no worse than greedy's plan from the start
		// (InitialCost): follow LSG-DQN as far as the guarantee allows
		cost = f.stats.InitialCost
	}
	out := make(chan evalResult, 1)
	f.pending, f.pendingSeg = out, len(seg)
	go func() {
		res := evalResult{seg: len(seg)}
		for len(base.Moves()) > done {
			base.Undo()
		}
		for _, m := range seg {
			base.Apply(m)
		}
		n0 := len(base.Moves())
		// stop as soon as the completion is known to end worse than the
		// incumbent (the bound only grows along the trajectory)
		check := func(planners.Move) error { return nil }
		if ob, ok := base.(planners.ObjectiveBounder); ok {
			check = func(planners.Move) error {
				if b := append([]float64{0}, ob.ObjectiveBound()...); !planners.NoWorse(b, cost) {
					return errWorse
				}
				return nil
			}
		}
		err := check(planners.Move{})
		if err == nil {
			err = f.completer().Plan(f.ctx, base, check)
		}
		res.greedy = len(base.Moves()) - n0
		if err != nil && !errors.Is(err, planners.ErrStuck) && err != errWorse {
			res.err = err
			out <- res
			return
		}
		if err == errWorse {
			res.cost = nil
			res.cut = true
		} else {
			res.cost = trajectoryCost(base)
		}
		if res.cost != nil && planners.NoWorse(res.cost, cost) {
			res.accepted = true
			res.moves = slices.Clone(base.Moves())
		} else {
			for len(base.Moves()) > done {
				base.Undo()
			}
			for _, m := range inc[done:] {
				base.Apply(m)
			}
		}
		out <- res
	}()
	return nil
}

// emitUpTo emits the moves of s up to index n (they are the incumbent's).
func (f *fortifier) emitUpTo(n int) error {
	ms := f.s.Moves()
	for ; f.done < n; f.done++ {
		if err := f.emit(ms[f.done]); err != nil {
			return err
		}
		if f.prog != nil {
			f.prog(f.s.Progress())
		}
	}
	return nil
}

// collect waits for the pending evaluation and applies its verdict.
// rewound reports that s was moved back onto the incumbent (LSG-DQN's memo
// must be rebuilt). r receives the rewards of the moves applied to s (nil:
// not tracked).
func (f *fortifier) collect(r *runner) (rewound bool, err error) {
	if f.pending == nil {
		return false, nil
	}
	res := <-f.pending
	f.pending = nil
	f.pendingRetry = false
	f.stats.GreedyMoves += res.greedy
	if res.err != nil {
		f.broken = true
		return false, res.err
	}
	if res.initial {
		f.inc, f.cost = res.moves, res.cost
		f.stats.InitialCost = res.cost
		return false, nil
	}
	if res.accepted {
		f.stats.Accepted++
		f.retried = 0
		f.inc, f.cost = res.moves, res.cost
		return false, f.emitUpTo(f.done + res.seg)
	}
	if f.retried < f.retries && len(f.proposed()) > res.seg {
		// LSG-DQN has proposed further since: evaluate the longer proposal
		// (less of it is greedy's completion) before giving up on it
		f.retried++
		f.stats.Retried++
		if res.cut {
			f.stats.Cut++
		}
		err := f.launch()
		f.pendingRetry = f.pending != nil
		return false, err
	}
	f.retried = 0
	f.stats.Rejected++
	if res.cut {
		f.stats.Cut++
	}
	return true, f.follow(min(f.done+res.seg, len(f.inc)), r)
}

// follow undoes the proposed moves of s and applies and emits the
// incumbent's moves up to index n.
func (f *fortifier) follow(n int, r *runner) error {
	if r != nil {
		r.ex.SyncRoot()
	}
	for len(f.s.Moves()) > f.done {
		f.s.Undo()
		if r != nil && len(r.rews) > 0 {
			r.rews = r.rews[:len(r.rews)-1]
		}
	}
	for _, m := range f.inc[f.done:n] {
		if r != nil {
			r.rews = append(r.rews, f.s.Reward(m))
		}
		f.s.Apply(m)
	}
	if r != nil {
		r.moveReward = sum(r.rews)
	}
	return f.emitUpTo(n)
}

func sum(x []float64) float64 {
	t := 0.0
	for _, v := range x {
		t += v
	}
	return t
}

// step is the runner's hook at the top of every planning step (the
// session holds committed moves only, besides the explorer's path). The
// evaluation of a segment is collected when the next segment is complete
// (FortifyEvery more moves proposed; greedy's initial completion when the
// first one is), never earlier even if it finished: a rejection then
// always discards the same speculative moves, so the plan does not depend
// on thread timing (the learned decisions draw from the runner's random
// source). The next evaluation starts at once, so at most 2·FortifyEvery
// moves are held back.
func (f *fortifier) step(r *runner) error {
	var (
		rewound bool
		err     error
	)
	at := (2 - b2i(f.inc == nil)) * f.every
	if f.pendingRetry {
		at = f.pendingSeg + f.every
	}
	if f.pending != nil && len(f.proposed()) >= at {
		rewound, err = f.collect(r)
	}
	if err == nil && !rewound && f.pending == nil && len(f.proposed()) >= f.every {
		r.ex.SyncRoot()
		err = f.launch()
	}
	if rewound {
		r.ex.Reset()
	}
	return err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// finish settles everything after LSG-DQN stopped (done or stuck): it
// evaluates what is still proposed and reports whether the plan is final
// (s holds exactly the incumbent, all emitted). If not, s was moved back
// onto the incumbent and LSG-DQN must resume.
func (f *fortifier) finish(r *runner) (final bool, err error) {
	for {
		rewound, err := f.collect(r)
		if err != nil {
			return false, err
		}
		if rewound {
			return false, nil
		}
		if f.pending != nil {
			continue // a retry of the longer proposal
		}
		if len(f.proposed()) == 0 {
			break
		}
		r.ex.SyncRoot()
		if err := f.launch(); err != nil {
			return false, err
		}
	}
	if len(f.s.Moves()) != len(f.inc) {
		// LSG-DQN stopped short of the incumbent's end, which was better:
		// follow the incumbent to its end
		f.stats.Rejected++
		return true, f.follow(len(f.inc), r)
	}
	return true, nil
}
