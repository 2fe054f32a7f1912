package lsgdqn

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"fabcell/planners"
	"fabcell/planners/dqn"
	"fabcell/planners/lsg"
)

// Stats count what one planning run did.
type Stats struct {
	Decisions     int // moves chosen at a node with ≥ 2 feasible moves (learned or inferred)
	Inferred      int // of which taken from a stored network without learning (Options.ReuseSimilarity)
	Forced        int // moves taken because they were the only feasible one
	JumpChains    int // dead ends left through Session.Jump
	Episodes      int // learning episodes over all decisions
	Updates       int // gradient steps
	Exhausted     int // learned decisions whose episodes (with the exact search's) covered every sequence of the LSG, so learning stopped early with the exact best return
	QAgree        int // decisions where argmax Q agreed with the best-return move
	PriorReused   int // decisions initialised from the prior bank
	RewardCalls   int // Session.Reward evaluations (memo misses)
	Expansions    int // Session.Candidates evaluations of the explorer (memo misses)
	KeptNodes     int // memoised prefixes carried from one decision to the next (Options.NoReuseTree off)
	MemoDrops     int // memos dropped because the session was not where the explorer left it
	ExplorerNodes int // memoised prefixes created
	// Fortify counts the fortified rollout's work (Options.FortifyEvery; not
	// summed by add).
	Fortify FortifyStats
	// Exact hybrid (Options.ExactMaxLeaves):
	Exact       int // decisions resolved by the exact n-step search
	OverBudget  int // decisions whose exact search needed more than ExactMaxLeaves episodes (then learned)
	ProbeLeaves int // episodes evaluated by the exact search, over all decisions
}

func (s *Stats) add(o Stats) {
	s.Decisions += o.Decisions
	s.Inferred += o.Inferred
	s.Forced += o.Forced
	s.JumpChains += o.JumpChains
	s.Episodes += o.Episodes
	s.Updates += o.Updates
	s.Exhausted += o.Exhausted
	s.QAgree += o.QAgree
	s.PriorReused += o.PriorReused
	s.RewardCalls += o.RewardCalls
	s.Expansions += o.Expansions
	s.KeptNodes += o.KeptNodes
	s.MemoDrops += o.MemoDrops
	s.ExplorerNodes += o.ExplorerNodes
	s.Exact += o.Exact
	s.OverBudget += o.OverBudget
	s.ProbeLeaves += o.ProbeLeaves
}

type transition struct {
	x, c  int32
	a     int32 // LSG local index (action)
	r     float64
	done  bool
	valid bool
}

// decisionInfo is reported to a test hook after each learned decision.
type decisionInfo struct {
	center   int
	active   int
	move     planners.Move
	q        []float64 // Q(S_c, ·) from the decision backend
	qGo      []float64 // Q(S_c, ·) from the Go network (always)
	actions  []int32
	bestRet  []float64
	episodes int
	inferred bool    // taken from a stored network without learning
	exact    bool    // resolved by the exact n-step search (no learning)
	probe    float64 // best episode return the exact search evaluated before learning (−Inf: none)
	sim      float64
}

// runner plans one toolpath attempt. It owns its networks, buffers and
// random source; nothing is shared with other attempts except the
// read-only options.
type runner struct {
	opt   *Options
	s     planners.Session
	b     *lsg.Builder
	ex    *lsg.Explorer
	exact *lsg.Exact // nil when Options.ExactMaxLeaves = 0
	leaf  func(first int, ret float64)
	lo    lsg.Layout
	rng   *rand.Rand
	bank  *Bank
	stats Stats

	online, target *dqn.Net
	onnxLib        string
	hook           func(decisionInfo)

	root, work []float64
	batchBufs  [][]float64
	batchOv    []lsg.Overlay
	workOv     lsg.Overlay
	q, qt      []float64
	replay     []transition
	rHead      int
	rLen       int
	batch      []dqn.Sample
	picked     []int
	bestRet    []float64 // per root action
	rootActs   []lsg.Action
	tq         []tqEntry // target-Q cache by node
	tqEpoch    uint32
	state      State
	steps      int
	moveReward float64   // Σ Session.Reward of the committed moves
	rews       []float64 // Session.Reward of each committed move
	cands      []planners.Move
	// step, when set, runs at the top of every planning step, with only
	// committed moves applied besides the explorer's path (the fortifier).
	step func() error
}

type tqEntry struct {
	epoch uint32
	v     float64
}

// countingSession counts memo misses of the explorer.
type countingSession struct {
	planners.Session
	n *int
}

func (c countingSession) Reward(m planners.Move) float64 { *c.n++; return c.Session.Reward(m) }

// StateID forwards the wrapped session's planners.StateIdentifier.
func (c countingSession) StateID() (uint64, bool) {
	if si, ok := c.Session.(planners.StateIdentifier); ok {
		return si.StateID()
	}
	return 0, false
}

// RewardSplit forwards the wrapped session's planners.UndiscountedRewarder
// (u = 0 without one: the whole reward is discounted, as for a session
// that does not implement it), counted like Reward.
func (c countingSession) RewardSplit(m planners.Move) (r, u float64) {
	*c.n++
	if us, ok := c.Session.(planners.UndiscountedRewarder); ok {
		return us.RewardSplit(m)
	}
	return c.Session.Reward(m), 0
}

// NodeHeat forwards the optional heat of the wrapped session.
type countingHeatSession struct {
	countingSession
	h planners.HeatSource
}

func (c countingHeatSession) NodeHeat(v int) float64 { return c.h.NodeHeat(v) }

func newRunner(opt *Options, s planners.Session, bank *Bank, attempt int) (*runner, error) {
	r := &runner{opt: opt, s: s, bank: bank, lo: opt.layout()}
	r.rng = rand.New(rand.NewPCG(uint64(opt.Seed), 0x5eed0000+uint64(attempt)))
	b, err := lsg.NewBuilder(s.Graph(), lsg.Config{Ring: opt.Ring, NMax: opt.NMax, Encoding: opt.Encoding})
	if err != nil {
		return nil, err
	}
	r.b = b
	var es planners.Session = countingSession{s, &r.stats.RewardCalls}
	if h, ok := s.(planners.HeatSource); ok {
		es = countingHeatSession{countingSession{s, &r.stats.RewardCalls}, h}
	}
	r.ex, err = lsg.NewExplorer(es, lsg.ExplorerConfig{
		Horizon: opt.Ring, Discount: opt.Discount, JumpLookahead: opt.JumpLookahead,
		SignedPasses: s.Coverage() == planners.EdgesOnceOrTwice, DropOnCommit: opt.NoReuseTree,
	})
	if err != nil {
		return nil, err
	}
	if opt.ExactMaxLeaves > 0 {
		r.exact = lsg.NewExact(r.ex, lsg.NewBound(r.ex, s))
		r.leaf = func(first int, ret float64) { r.bestRet[first] = math.Max(r.bestRet[first], ret) }
	}
	ncfg := opt.Net
	ncfg.Seed = opt.Net.Seed + uint64(attempt)*0x9e3779b97f4a7c15
	if r.online, err = dqn.New(ncfg); err != nil {
		return nil, err
	}
	r.target = r.online.Clone()
	n := r.lo.Len()
	r.root = make([]float64, n)
	r.work = make([]float64, n)
	r.batchBufs = make([][]float64, opt.BatchSize)
	for i := range r.batchBufs {
		r.batchBufs[i] = make([]float64, n)
	}
	r.batchOv = make([]lsg.Overlay, opt.BatchSize)
	r.batch = make([]dqn.Sample, opt.BatchSize)
	r.q = make([]float64, opt.NMax)
	r.qt = make([]float64, opt.NMax)
	r.replay = make([]transition, opt.ReplayCapacity)
	if opt.Backend == "onnx" {
		lib, err := dqn.ORTLibraryPath(opt.OnnxLibPath)
		if err != nil {
			return nil, err
		}
		r.onnxLib = lib
	}
	return r, nil
}

// commit applies m for real and emits it.
func (r *runner) commit(m planners.Move, emit func(planners.Move) error) error {
	r.ex.SyncRoot()
	rw := r.s.Reward(m)
	r.rews = append(r.rews, rw)
	r.moveReward += rw
	r.ex.Commit(m)
	return emit(m)
}

// run plans from the session's current node to completion.
func (r *runner) run(ctx context.Context, emit func(planners.Move) error, progress func(done, total int)) error {
	s := r.s
	r.ex.Reset()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.step != nil {
			if err := r.step(); err != nil {
				return err
			}
		}
		r.ex.SyncRoot()
		if s.Done() {
			return nil
		}
		r.cands = s.Candidates(r.cands[:0])
		switch len(r.cands) {
		case 0:
			js := s.Jump()
			if len(js) == 0 {
				d, t := s.Progress()
				return fmt.Errorf("%w at node %d (%d of %d covered)", planners.ErrStuck, s.Current(), d, t)
			}
			js = append([]planners.Move(nil), js...)
			r.stats.JumpChains++
			for _, m := range js {
				if err := r.commit(m, emit); err != nil {
					return err
				}
			}
		case 1:
			r.stats.Forced++
			if err := r.commit(r.cands[0], emit); err != nil {
				return err
			}
		default:
			m, err := r.decide(ctx)
			if err != nil {
				return err
			}
			r.stats.Decisions++
			if err := r.commit(m, emit); err != nil {
				return err
			}
		}
		if progress != nil {
			progress(s.Progress())
		}
	}
}

// decide builds the LSG at the current node, learns Q inside it and
// returns the chosen 1-ring move (spec §4 lines 3–16).
func (r *runner) decide(ctx context.Context) (planners.Move, error) {
	s, ex, lo, opt := r.s, r.ex, r.lo, r.opt
	l, err := r.b.BuildAt(s)
	if err != nil {
		return planners.Move{}, err
	}
	if err := ex.Bind(l); err != nil {
		return planners.Move{}, err
	}
	ex.FillRoot(lo, r.root)
	copy(r.work, r.root)
	for _, bb := range r.batchBufs {
		copy(bb, r.root)
	}
	active := l.Size()
	r.rootActs = append(r.rootActs[:0], ex.Actions(0)...)
	if len(r.rootActs) == 0 {
		// every candidate leaves the LSG (N_max smaller than the 1-ring)
		r.cands = s.Candidates(r.cands[:0])
		return r.cands[0], nil
	}
	r.bestRet = r.bestRet[:0]
	for range r.rootActs {
		r.bestRet = append(r.bestRet, math.Inf(-1))
	}

	// Exact hybrid: resolve the decision by the exhaustive n-step search
	// when its tree has at most ExactMaxLeaves episodes; otherwise learn,
	// starting from every reward and episode return the search evaluated.
	if r.exact != nil {
		first, _, ok, err := r.exact.Solve(ctx, opt.ExactMaxLeaves, r.leaf)
		r.stats.ProbeLeaves += r.exact.Leaves
		if err != nil {
			return planners.Move{}, err
		}
		if ok {
			r.stats.Exact++
			m := ex.ActionMove(ex.Root(), r.rootActs[first])
			if r.hook != nil {
				r.hook(decisionInfo{center: l.Center, active: active, move: m, actions: r.actionLocals(),
					bestRet: append([]float64(nil), r.bestRet...), exact: true})
			}
			return m, nil
		}
		r.stats.OverBudget++
	}
	probe := math.Inf(-1)
	for _, v := range r.bestRet {
		probe = math.Max(probe, v)
	}

	// Line 5: prior selection (§6).
	sim := -1.0
	if opt.PriorK > 0 {
		r.state = StateFromBuffer(lo, r.root, active, r.state)
		var k int
		if k, sim = r.bank.Best(r.state); k >= 0 {
			r.online.CopyFrom(r.bank.Net(k)) // weights and optimiser state (§6)
			r.stats.PriorReused++
			if opt.ReuseSimilarity > 0 && sim >= opt.ReuseSimilarity {
				return r.infer(l, active, sim)
			}
		}
	}
	r.target.CopyWeightsFrom(r.online)
	r.tqEpoch++
	r.rHead, r.rLen = 0, 0

	// Lines 6–14: episodes inside the LSG.
	term := NewTermination(opt.Ring, opt.EpisodeFactor, opt.PatienceFactor, opt.MaxEpisodes)
	exhausted := false
	for !term.Done() {
		if err := ctx.Err(); err != nil {
			return planners.Move{}, err
		}
		x := ex.Root()
		ret := 0.0
		first := -1
		for {
			acts := ex.Actions(x)
			ai := r.chooseAction(x, acts, active)
			a := acts[ai]
			if first < 0 {
				first = ai
			}
			c, rew, done := ex.Transition(x, a)
			r.push(transition{x: x, c: c, a: a.Local, r: rew, done: done, valid: true})
			r.steps++
			if r.rLen > 2 && r.steps%opt.TrainEvery == 0 {
				r.train(active)
			}
			ret += rew
			x = c
			if done {
				break
			}
		}
		r.bestRet[first] = math.Max(r.bestRet[first], ret)
		term.Observe(ret)
		if opt.Decision == BestReturn && ex.Complete(ex.Root()) {
			exhausted = true
			break
		}
	}
	if err := ex.Err(); err != nil {
		return planners.Move{}, err
	}
	r.stats.Episodes += term.Episodes()
	if exhausted {
		r.stats.Exhausted++
	}

	// Line 15: decision.
	in := dqn.Input{Active: active, X: r.root}
	r.online.Forward(in, r.q)
	qDec := r.q
	var qONNX []float64
	if opt.Backend == "onnx" {
		var err error
		if qONNX, err = r.onnxQ(in); err != nil {
			return planners.Move{}, err
		}
		qDec = qONNX
	}
	bestQ, bestR := 0, 0
	for i, a := range r.rootActs {
		if qDec[a.Local] > qDec[r.rootActs[bestQ].Local] ||
			(qDec[a.Local] == qDec[r.rootActs[bestQ].Local] && r.bestRet[i] > r.bestRet[bestQ]) {
			bestQ = i
		}
		if r.bestRet[i] > r.bestRet[bestR]+1e-12 ||
			(math.Abs(r.bestRet[i]-r.bestRet[bestR]) <= 1e-12 && qDec[a.Local] > qDec[r.rootActs[bestR].Local]) {
			bestR = i
		}
	}
	if bestQ == bestR || math.Abs(r.bestRet[bestQ]-r.bestRet[bestR]) <= 1e-12 {
		r.stats.QAgree++
	}
	pick := bestR
	if opt.Decision == ArgmaxQ {
		pick = bestQ
	}
	m := ex.ActionMove(ex.Root(), r.rootActs[pick])

	// Line 16: store (S_c, Q_θ).
	if opt.PriorK > 0 {
		r.bank.Offer(r.state, r.online)
	}
	if r.hook != nil {
		info := decisionInfo{center: l.Center, active: active, move: m, qGo: append([]float64(nil), r.q...),
			actions: r.actionLocals(), bestRet: append([]float64(nil), r.bestRet...), episodes: term.Episodes(), sim: sim, probe: probe}
		info.q = info.qGo
		if qONNX != nil {
			info.q = qONNX
		}
		r.hook(info)
	}
	return m, nil
}

// actionLocals returns the LSG indices of the root actions (a copy).
func (r *runner) actionLocals() []int32 {
	acts := make([]int32, len(r.rootActs))
	for i, a := range r.rootActs {
		acts[i] = a.Local
	}
	return acts
}

// infer is an inference-only decision (Options.ReuseSimilarity): the
// online network holds a copy of the stored network whose state is at
// least ReuseSimilarity similar to S_c; the move is argmax over the
// feasible 1-ring moves of its Q(S_c, ·) (spec §4 line 15, the paper's
// rule; ties to the lower LSG index). No episode runs, nothing is learned
// and the bank is left unchanged: a state that similar is already stored.
func (r *runner) infer(l *lsg.LSG, active int, sim float64) (planners.Move, error) {
	in := dqn.Input{Active: active, X: r.root}
	r.online.Forward(in, r.q)
	q := r.q
	if r.opt.Backend == "onnx" {
		var err error
		if q, err = r.onnxQ(in); err != nil {
			return planners.Move{}, err
		}
	}
	best := 0
	for i, a := range r.rootActs {
		if b := r.rootActs[best].Local; q[a.Local] > q[b] || (q[a.Local] == q[b] && a.Local < b) {
			best = i
		}
	}
	m := r.ex.ActionMove(r.ex.Root(), r.rootActs[best])
	r.stats.Inferred++
	if r.hook != nil {
		acts := make([]int32, len(r.rootActs))
		for i, a := range r.rootActs {
			acts[i] = a.Local
		}
		r.hook(decisionInfo{center: l.Center, active: active, move: m, q: append([]float64(nil), q...), qGo: append([]float64(nil), r.q...),
			actions: acts, inferred: true, sim: sim})
	}
	return m, nil
}

// onnxQ exports the online network and evaluates the root state through
// onnxruntime (the optional inference backend).
func (r *runner) onnxQ(in dqn.Input) ([]float64, error) {
	var mb bytes.Buffer
	if err := r.online.ExportONNX(&mb); err != nil {
		return nil, fmt.Errorf("lsg-dqn: export ONNX: %w", err)
	}
	on, err := dqn.NewONNX(r.onnxLib, mb.Bytes(), r.opt.Net)
	if err != nil {
		return nil, fmt.Errorf("lsg-dqn: onnx backend: %w", err)
	}
	defer on.Close()
	q := make([]float64, r.opt.NMax)
	if err := on.ForwardErr(in, q); err != nil {
		return nil, fmt.Errorf("lsg-dqn: onnx backend: %w", err)
	}
	return q, nil
}

// chooseAction is ε-greedy over acts (spec §4 line 9).
func (r *runner) chooseAction(x int32, acts []lsg.Action, active int) int {
	if len(acts) == 1 {
		return 0
	}
	if r.rng.Float64() < r.opt.Epsilon {
		if !r.opt.Directed {
			return r.rng.IntN(len(acts))
		}
		open := 0
		for _, a := range acts {
			if !r.ex.Explored(x, a) {
				open++
			}
		}
		if open == 0 || open == len(acts) {
			return r.rng.IntN(len(acts))
		}
		k := r.rng.IntN(open)
		for i, a := range acts {
			if !r.ex.Explored(x, a) {
				if k == 0 {
					return i
				}
				k--
			}
		}
	}
	r.ex.Materialise(x, r.lo, r.work, &r.workOv)
	r.online.Forward(dqn.Input{Active: active, X: r.work}, r.q)
	r.workOv.Revert(r.work)
	best := 0
	for i, a := range acts {
		if r.q[a.Local] > r.q[acts[best].Local] {
			best = i
		}
	}
	return best
}

func (r *runner) push(t transition) {
	capy := len(r.replay)
	r.replay[(r.rHead+r.rLen)%capy] = t
	if r.rLen < capy {
		r.rLen++
	} else {
		r.rHead = (r.rHead + 1) % capy
	}
}

// maxTargetQ returns max over c's feasible actions of Q_target(c, ·),
// cached per node until the next target sync.
func (r *runner) maxTargetQ(c int32, active int) float64 {
	if int(c) >= len(r.tq) {
		r.tq = append(r.tq, make([]tqEntry, int(c)+1-len(r.tq)+len(r.tq)/2)...)
	}
	if e := r.tq[c]; e.epoch == r.tqEpoch {
		return e.v
	}
	acts := r.ex.Actions(c)
	r.ex.Materialise(c, r.lo, r.work, &r.workOv)
	r.target.Forward(dqn.Input{Active: active, X: r.work}, r.qt)
	r.workOv.Revert(r.work)
	m := math.Inf(-1)
	for _, a := range acts {
		m = math.Max(m, r.qt[a.Local])
	}
	if len(acts) == 0 {
		m = 0
	}
	r.tq[c] = tqEntry{epoch: r.tqEpoch, v: m}
	return m
}

// train samples a minibatch without replacement and takes one AdamW step
// on Eq. 2 with targets y = r + γ·max Q_target(s′, ·) (0 bootstrap when
// done), syncing the target network every TargetSync updates.
func (r *runner) train(active int) {
	bs := min(r.opt.BatchSize, r.rLen)
	r.picked = r.picked[:0]
	for len(r.picked) < bs {
		k := r.rng.IntN(r.rLen)
		dup := false
		for _, p := range r.picked {
			dup = dup || p == k
		}
		if !dup {
			r.picked = append(r.picked, k)
		}
	}
	for i, k := range r.picked {
		t := r.replay[(r.rHead+k)%len(r.replay)]
		y := t.r
		if !t.done {
			y += r.opt.Gamma * r.maxTargetQ(t.c, active)
		}
		r.ex.Materialise(t.x, r.lo, r.batchBufs[i], &r.batchOv[i])
		r.batch[i] = dqn.Sample{S: dqn.Input{Active: active, X: r.batchBufs[i]}, A: int(t.a), Y: y}
	}
	r.online.TrainBatch(r.batch[:bs])
	for i := 0; i < bs; i++ {
		r.batchOv[i].Revert(r.batchBufs[i])
	}
	r.stats.Updates++
	if r.stats.Updates%r.opt.TargetSync == 0 {
		r.target.CopyWeightsFrom(r.online)
		r.tqEpoch++
	}
}
