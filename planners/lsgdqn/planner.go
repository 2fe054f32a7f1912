// Package lsgdqn is fabcell's on-the-fly toolpath planner after Huang et
// al. 2024, "Learning Based Toolpath Planner on Diverse Graphs for 3D
// Printing" (spec lsg-dqn.md): at every node v_c it builds the local search
// graph (package lsg), initialises a Q-network (package dqn) from the most
// similar stored network (prior reuse, Eq. 3, §6), learns Q inside the LSG
// by ε-greedy episodes of at most n steps with the discounted step rewards
// of the process (Eq. 4), stops by the hybrid rule of §10, and commits one
// 1-ring move; dead ends are left through the process's jump rule (§7.3)
// and an outer loop tries several start nodes (§4, §7.2).
//
// Exact hybrid (Options.ExactMaxLeaves, a fabcell extension): before
// learning, a decision runs the exhaustive n-step search of the bfs
// baseline (lsg.Exact) over the memoised prefix tree; when that needs at
// most ExactMaxLeaves episodes its move is taken — the LSG optimum the
// episodes approximate — and nothing is learned. The DQN is the
// approximator for the LSGs whose feasible tree is too large to enumerate;
// those start learning with every reward and episode return the search
// evaluated, and stop early once the episodes and the search together
// have covered every action sequence (the best return is then exact).
//
// Fortified rollout (Options.FortifyEvery, a fabcell extension after
// Bertsekas; fortify.go): proposed moves are held back and checked every
// FortifyEvery moves against the best complete toolpath known (greedy's
// completion at first) on the session's planners.Objective; only moves of
// that toolpath are emitted, so the plan is never worse than the greedy
// baseline's from the same start in any measure of the objective.
//
// Moves are emitted as soon as they are decided (with the fortified
// rollout, once checked), so a controller can run the planner ahead of
// execution and cancel it (planners.Stream).
package lsgdqn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"fabcell/planners"
)

func init() {
	planners.RegisterPlanner("lsg-dqn", "LSG-DQN: learn Q inside the n-ring local search graph at every node, with prior network reuse (Huang et al. 2024)", nil,
		func(o planners.Options) (planners.Planner, error) { return New(o) })
}

// Planner is the LSG-DQN planner. A Planner keeps its prior bank between
// Plan calls (and in Options.BankPath between jobs); Plan must not be
// called concurrently on one Planner.
type Planner struct {
	opt      Options
	proc     planners.Process
	log      io.Writer
	progress func(done, total int)

	bank       *Bank
	bankLoaded bool
	last       Stats
	hook       func(decisionInfo) // test hook, called per learned decision
}

var _ planners.Planner = (*Planner)(nil)

// New builds the planner from planners.Options (config.Planner).
func New(o planners.Options) (*Planner, error) {
	opt, err := OptionsFromConfig(o.Config)
	if err != nil {
		return nil, err
	}
	return NewWithOptions(opt, o.Process, o.Log, o.Progress)
}

// NewWithOptions builds the planner from explicit Options. proc (may be
// nil) lets restarts run in parallel on fresh sessions; log receives a
// one-paragraph summary per Plan (nil = discard).
func NewWithOptions(opt Options, proc planners.Process, log io.Writer, progress func(done, total int)) (*Planner, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	p := &Planner{opt: opt, proc: proc, log: log, progress: progress}
	p.bank = NewBank(opt.PriorK, opt.PriorBeta, opt.Net)
	return p, nil
}

// Name implements planners.Planner.
func (p *Planner) Name() string { return "lsg-dqn" }

// Options returns the planner's options.
func (p *Planner) Options() Options { return p.opt }

// Stats returns the counters of the last Plan (the chosen attempt).
func (p *Planner) Stats() Stats { return p.last }

// Bank returns the prior bank.
func (p *Planner) Bank() *Bank { return p.bank }

// attemptResult is one finished (or failed) attempt.
type attemptResult struct {
	start  int
	moves  []planners.Move
	reward float64
	cost   []float64 // J of the moves (fortified attempts only; fortify.go)
	err    error
	stats  Stats
	bank   *Bank
}

// Plan implements planners.Planner.
//
// With Restarts = 1 (or when s is already started) moves are emitted as
// they are decided. With Restarts > 1 the attempts run to completion first
// (in parallel on fresh sessions when the planner knows the process), the
// best one — complete before incomplete, then the highest total step
// reward, then the earlier attempt — is replayed onto s and only then
// emitted: streaming needs the buffer because the winner is known only at
// the end.
func (p *Planner) Plan(ctx context.Context, s planners.Session, emit func(planners.Move) error) error {
	t0 := time.Now()
	if err := p.loadBank(); err != nil {
		return err
	}
	if s.Current() < 0 && planners.NothingToCover(s) {
		return nil // nothing to cover: the empty plan is complete
	}
	var res attemptResult
	if s.Current() >= 0 || p.opt.Restarts == 1 {
		if s.Current() < 0 {
			starts := s.Starts()
			if len(starts) == 0 {
				return fmt.Errorf("%w: the process offers no start node", planners.ErrStuck)
			}
			if err := s.Begin(starts[0]); err != nil {
				return err
			}
		}
		res = p.attempt(ctx, s, p.bank, 0, emit)
		p.bank = res.bank
	} else {
		var err error
		res, err = p.restarts(ctx, s)
		if err != nil {
			return err
		}
		p.bank = res.bank
		if res.err == nil || errors.Is(res.err, planners.ErrStuck) {
			if err := replay(s, res.start, res.moves, emit, p.progress); err != nil {
				return err
			}
		}
	}
	p.last = res.stats
	p.summary(res, time.Since(t0))
	if p.opt.BankPath != "" && p.opt.PriorK > 0 && p.bank.Len() > 0 && !errors.Is(res.err, context.Canceled) {
		if err := p.bank.Save(p.opt.BankPath); err != nil && res.err == nil {
			return err
		}
	}
	return res.err
}

func (p *Planner) loadBank() error {
	if p.bankLoaded || p.opt.BankPath == "" || p.opt.PriorK == 0 {
		return nil
	}
	b, err := LoadBank(p.opt.BankPath, p.opt.PriorK, p.opt.PriorBeta, p.opt.Net)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(p.log, "lsg-dqn: prior bank %s does not exist yet; starting empty\n", p.opt.BankPath)
	case err != nil:
		return fmt.Errorf("planner.bank_path: %w", err)
	default:
		p.bank = b
		fmt.Fprintf(p.log, "lsg-dqn: loaded %d prior networks from %s\n", b.Len(), p.opt.BankPath)
	}
	p.bankLoaded = true
	return nil
}

// attempt runs one toolpath on s (already begun) with its own runner.
func (p *Planner) attempt(ctx context.Context, s planners.Session, bank *Bank, k int, emit func(planners.Move) error) attemptResult {
	if p.fortifiable(s) {
		return p.attemptFortified(ctx, s, bank, k, emit)
	}
	res := attemptResult{start: s.Current(), bank: bank}
	r, emit, progress, err := p.attemptRunner(s, bank, k, emit, &res)
	if err != nil {
		res.err = err
		return res
	}
	res.err = r.run(ctx, emit, progress)
	res.reward = r.moveReward
	r.stats.ExplorerNodes = r.ex.Nodes()
	es := r.ex.Stats()
	r.stats.Expansions, r.stats.KeptNodes, r.stats.MemoDrops = es.Expansions, es.Kept, es.Drops
	res.stats = r.stats
	return res
}

// attemptRunner makes an attempt's runner; a nil emit collects the moves
// in res (restarts: the attempts are compared before any is emitted) and
// reports no progress.
func (p *Planner) attemptRunner(s planners.Session, bank *Bank, k int, emit func(planners.Move) error, res *attemptResult) (*runner, func(planners.Move) error, func(int, int), error) {
	r, err := newRunner(&p.opt, s, bank, k)
	if err != nil {
		return nil, nil, nil, err
	}
	r.hook = p.hook
	progress := p.progress
	if emit == nil {
		progress = nil
		emit = func(m planners.Move) error { res.moves = append(res.moves, m); return nil }
	}
	return r, emit, progress, nil
}

// attemptFortified is attempt under the fortified rollout (fortify.go):
// the runner proposes, the fortifier emits.
func (p *Planner) attemptFortified(ctx context.Context, s planners.Session, bank *Bank, k int, emit func(planners.Move) error) attemptResult {
	res := attemptResult{start: s.Current(), bank: bank}
	if ms := s.Moves(); len(ms) > 0 {
		res.start = ms[0].From
	}
	r, emit, progress, err := p.attemptRunner(s, bank, k, emit, &res)
	if err != nil {
		res.err = err
		return res
	}
	f, err := newFortifier(ctx, p.proc, s, p.opt.FortifyEvery, p.opt.FortifyWarmup, emit, progress)
	if err != nil {
		res.err = err
		return res
	}
	f.retries, f.againstStart, f.completionRing = p.opt.FortifyRetries, p.opt.FortifyAgainstStart, p.opt.FortifyCompletionRing
	r.step = func() error { return f.step(r) }
	propose := func(planners.Move) error { return nil } // the fortifier emits
	if err := f.warmup(); err != nil {
		res.err = err
	}
	for res.err == nil {
		err := r.run(f.ctx, propose, nil)
		if err != nil && !errors.Is(err, planners.ErrStuck) {
			res.err = err
			break
		}
		final, err := f.finish(r)
		if err != nil {
			res.err = err
			break
		}
		if final {
			if !s.Done() {
				d, t := s.Progress()
				res.err = fmt.Errorf("%w at node %d (%d of %d covered; fortified)", planners.ErrStuck, s.Current(), d, t)
			}
			break
		}
	}
	f.close()
	if res.err != nil && ctx.Err() != nil {
		res.err = ctx.Err() // the evaluation's cancellation is the caller's
	}
	res.reward = r.moveReward
	res.cost = f.cost
	f.stats.FinalCost = f.cost
	r.stats.Fortify = f.stats
	r.stats.ExplorerNodes = r.ex.Nodes()
	es := r.ex.Stats()
	r.stats.Expansions, r.stats.KeptNodes, r.stats.MemoDrops = es.Expansions, es.Kept, es.Drops
	res.stats = r.stats
	return res
}

// restarts runs Restarts attempts from different start nodes: attempt 0
// from Starts()[0], the others from distinct seeded-random picks.
func (p *Planner) restarts(ctx context.Context, s planners.Session) (attemptResult, error) {
	starts := s.Starts()
	if len(starts) == 0 {
		return attemptResult{}, fmt.Errorf("%w: the process offers no start node", planners.ErrStuck)
	}
	rng := rand.New(rand.NewPCG(uint64(p.opt.Seed), 0x57a27))
	order := []int{starts[0]}
	rest := append([]int(nil), starts[1:]...)
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	order = append(order, rest...)
	n := min(p.opt.Restarts, len(order))
	results := make([]attemptResult, n)
	run := func(k int, sess planners.Session) {
		if err := sess.Begin(order[k]); err != nil {
			results[k] = attemptResult{start: order[k], err: err}
			return
		}
		results[k] = p.attempt(ctx, sess, p.bank.Clone(), k, nil)
	}
	workers := p.opt.Workers
	if p.proc == nil {
		workers = 1
	}
	if workers <= 1 {
		for k := 0; k < n; k++ {
			run(k, s)
		}
	} else {
		var wg sync.WaitGroup
		next := make(chan int)
		var firstErr error
		var mu sync.Mutex
		for w := 0; w < min(workers, n); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range next {
					sess, err := p.proc.NewSession(s.Graph())
					if err != nil {
						mu.Lock()
						firstErr = cmpErr(firstErr, err)
						mu.Unlock()
						continue
					}
					run(k, sess)
				}
			}()
		}
	feed:
		for k := 0; k < n; k++ {
			select {
			case next <- k:
			case <-ctx.Done():
				break feed
			}
		}
		close(next)
		wg.Wait()
		if firstErr != nil {
			return attemptResult{}, firstErr
		}
	}
	if err := ctx.Err(); err != nil {
		return attemptResult{bank: p.bank, err: err}, nil
	}
	best := -1
	for k, r := range results {
		if r.err != nil && !errors.Is(r.err, planners.ErrStuck) {
			return r, nil // a real failure (process error), not a dead end
		}
		if k > 0 && results[0].cost != nil && !planners.NoWorse(r.cost, results[0].cost) {
			// fortified: attempt 0 is no worse than greedy from Starts()[0]
			// in every component; only attempts no worse than it keep that
			continue
		}
		if best < 0 || better(r, results[best]) {
			best = k
		}
	}
	return results[best], nil
}

func cmpErr(old, e error) error {
	if old != nil {
		return old
	}
	return e
}

// better orders attempts: complete first, then (fortified attempts) the
// lexicographically lower trajectory cost, then higher reward. Fortified
// restarts rank only the attempts no worse than attempt 0 (restarts).
func better(a, b attemptResult) bool {
	ac, bc := a.err == nil, b.err == nil
	if ac != bc {
		return ac
	}
	if a.cost != nil && b.cost != nil {
		if c := planners.CompareCost(a.cost, b.cost); c != 0 {
			return c < 0
		}
	}
	return a.reward > b.reward+1e-9*math.Max(1, math.Abs(b.reward))
}

// replay applies a finished attempt's moves to s and emits them.
func replay(s planners.Session, start int, moves []planners.Move, emit func(planners.Move) error, progress func(int, int)) error {
	if err := s.Begin(start); err != nil {
		return err
	}
	for _, m := range moves {
		s.Apply(m)
		if err := emit(m); err != nil {
			return err
		}
		if progress != nil {
			progress(s.Progress())
		}
	}
	return nil
}

func (p *Planner) summary(r attemptResult, el time.Duration) {
	st := r.stats
	per := 0.0
	if st.Decisions > 0 {
		per = el.Seconds() / float64(st.Decisions)
	}
	learned := st.Decisions - st.Inferred - st.Exact
	fmt.Fprintf(p.log, "lsg-dqn: ring %d, %d decisions: %d exact (≤ %d episodes; %d over budget, %d probe episodes), %d learned (%.1f episodes, %.1f updates each; %d exhaustive), %d inferred from stored networks (similarity ≥ %g); %d forced, %d jump chains; prior reused %d×, bank %d/%d; Q agreed with best return %d×; %d reward and %d feasible-move evaluations (%d prefixes kept across decisions); %.3f ms/decision\n",
		p.opt.Ring, st.Decisions, st.Exact, p.opt.ExactMaxLeaves, st.OverBudget, st.ProbeLeaves, learned, avg(st.Episodes, learned), avg(st.Updates, learned), st.Exhausted, st.Inferred, p.opt.ReuseSimilarity,
		st.Forced, st.JumpChains, st.PriorReused, p.bank.Len(), p.opt.PriorK, st.QAgree, st.RewardCalls, st.Expansions, st.KeptNodes, 1e3*per)
	if fs := st.Fortify; fs.InitialCost != nil {
		fmt.Fprintf(p.log, "lsg-dqn: fortified every %d moves: %d checkpoints (%d equal to the incumbent, %d accepted, %d rejected, %d retried with a longer proposal; %d cut short by the bound), %d greedy completion moves; cost [left, planners.Objective...] of greedy from the start %v, of the plan %v\n",
			p.opt.FortifyEvery, fs.Checkpoints, fs.Same, fs.Accepted, fs.Rejected, fs.Retried, fs.Cut, fs.GreedyMoves, fs.InitialCost, fs.FinalCost)
	}
}

func avg(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
