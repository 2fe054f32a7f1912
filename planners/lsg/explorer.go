package lsg

import (
	"fmt"
	"math"
	"slices"

	"fabcell/planners"
)

// ExplorerConfig sets the episode model inside an LSG.
type ExplorerConfig struct {
	// Horizon is the episode length n (= the ring range, spec §3 table).
	Horizon int
	// Discount weights the k-th step reward (Eq. 4).
	Discount Discount
	// JumpLookahead charges an episode that ends in a dead end of the whole
	// graph (no candidate move, coverage not met) with the reward of the
	// jump the process would make there, weighted D(k+1). The paper ends
	// such episodes without a charge; with it, planners learn to avoid
	// locking themselves in (§7.3) — a fabcell extension.
	JumpLookahead bool
	// SignedPasses stores edges with two or more passes left as negative
	// lengths (the release's CCF convention, §5.1).
	SignedPasses bool
	// DropOnCommit makes Commit discard the whole tree instead of
	// re-rooting it at the committed move, so every decision starts from
	// an empty memo. Off (re-rooting) is the default; on exists to measure
	// what re-rooting saves. Both give the same rewards, candidates and
	// therefore plans, by the Session contract (a reward depends only on
	// the state the moves since Begin reached).
	DropOnCommit bool
}

// ExplorerStats count the session work of an explorer since NewExplorer:
// the evaluations are the memo misses (each prefix's reward and candidate
// list is asked from the session once while it stays in the tree).
type ExplorerStats struct {
	Rewards    int // Session.Reward calls: tree moves and dead-end jump chains
	Expansions int // Session.Candidates calls: one per expanded prefix
	Reroots    int // commits that kept the committed move's subtree
	Kept       int // prefixes carried over by those re-rootings (roots included)
	Drops      int // memos discarded because the session was not where the explorer left it
}

// Extra rows under each N×N channel of the state (§5.1; release: x, y, z,
// heat). fabcell uses the flattened (u, v) — invariant under rigid motions —
// the height above v_c (gravity matters for wire-frames) and the heat.
const (
	RowU = iota
	RowV
	RowDZ
	RowHeat
	ExtraRows
)

// Channels is the number of state channels: A, A†, A‡ (§5.3).
const Channels = 3

// Layout describes the dense state tensor: Channels × (N+ExtraRows) × N,
// row-major, index c·(N+ExtraRows)·N + row·N + col. Rows and columns ≥
// the LSG size are zero padding.
type Layout struct{ N int }

// Rows returns N + ExtraRows.
func (lo Layout) Rows() int { return lo.N + ExtraRows }

// Len returns the number of floats of one state.
func (lo Layout) Len() int { return Channels * lo.Rows() * lo.N }

// Index returns the flat index of (channel, row, col).
func (lo Layout) Index(c, row, col int) int { return (c*lo.Rows()+row)*lo.N + col }

// Action is a feasible move inside the LSG from an explorer node.
type Action struct {
	// Local is the LSG local index of the move's target: the Q-network's
	// action index.
	Local int32
	cand  int32
}

type tnode struct {
	parent     int32
	depth      int32 // steps from the current root
	move       planners.Move
	reward     float64 // Session.Reward(move) at the parent's state
	undisc     float64 // its undiscounted part (planners.UndiscountedRewarder; 0 without)
	remBefore  int32   // Remaining(move.Edge) before the move
	expanded   bool
	done       bool
	deadEnd    bool
	jumpOK     bool
	jumpReward float64 // Σ Reward of the process's jump chain at a dead end
	jumpUnd    float64 // Σ of their undiscounted parts
	candStart  int32
	candLen    int32
}

type cand struct {
	m     planners.Move
	child int32
}

type lnode struct {
	epoch      uint32
	actStart   int32
	actLen     int32
	diffStart  int32
	diffLen    int32
	heatStart  int32 // -1 = no heat
	visited    bool
	complete   bool
	nComplete  int32
	terminal   bool
	terminalOK bool // terminal has been determined
	full       bool // actions, diffs and heat computed (a horizon leaf has only the flags)
}

type diffEntry struct {
	k   int32 // LSG edge
	rem int32
}

type histStep struct {
	m         planners.Move
	remBefore int32
	ok        bool
}

// Explorer is the tree of action prefixes rooted at the session's current
// state: per prefix it memoises the step reward (so FEA/collision rewards of
// a prefix are computed once per LSG and reused across episodes and, after
// Commit, across decisions), the candidate moves, the coverage state and
// the dead-end jump cost. It drives the session by Apply/Undo, applying a
// prefix only when something about it is not memoised yet.
//
// The session must not be modified by anyone else between Reset and the
// last Commit.
type Explorer struct {
	s    planners.Session
	heat planners.HeatSource
	und  planners.UndiscountedRewarder // nil: the whole reward is discounted
	cfg  ExplorerConfig
	disc []float64

	nodes  []tnode
	cands  []cand
	nodes2 []tnode
	cands2 []cand
	remap  []int32
	queue  []int32

	applied []int32 // nodes applied on top of the root state
	path    []int32
	tmpMv   []planners.Move

	hist [2]histStep // real path: hist[0] = last move, hist[1] = the one before

	// per-LSG state
	l       *LSG
	epoch   uint32
	rootRem []int32
	ln      []lnode
	acts    []Action
	diffs   []diffEntry
	heats   []float64
	seenTo  []uint32
	seenTag uint32

	real     []planners.Move // Session.Moves() at the root state (sessions without StateID)
	rootID   uint64          // root state id (planners.StateIdentifier)
	rootIDOK bool
	stats    ExplorerStats

	err error // first non-finite reward
}

// NewExplorer returns an explorer over s. Call Reset before use.
func NewExplorer(s planners.Session, cfg ExplorerConfig) (*Explorer, error) {
	if cfg.Horizon < 1 {
		return nil, fmt.Errorf("lsg: horizon must be >= 1, got %d", cfg.Horizon)
	}
	e := &Explorer{s: s, cfg: cfg}
	e.heat, _ = s.(planners.HeatSource)
	e.und, _ = s.(planners.UndiscountedRewarder)
	e.disc = cfg.Discount.Table(cfg.Horizon, nil)
	e.seenTo = make([]uint32, s.Graph().NumNodes())
	return e, nil
}

// Err returns the first error met while exploring: a non-finite reward from
// the process. Planners check it after each search and stop.
func (e *Explorer) Err() error { return e.err }

// Config returns the episode model.
func (e *Explorer) Config() ExplorerConfig { return e.cfg }

// D returns the discount of step k (1-based, k ≤ Horizon+1).
func (e *Explorer) D(k int) float64 { return e.disc[k] }

// Reset discards the tree and roots it at the session's current state. The
// last two moves already in the session become the short-term memory
// (their pass counts are read by undoing and re-applying them). Call it
// whenever the session was changed by anyone else (a controller's Undo, a
// Begin, moves applied outside Commit); Bind and Commit also call it when
// they find the session elsewhere than at the root (ExplorerStats.Drops).
func (e *Explorer) Reset() {
	e.resetTree()
	e.hist = [2]histStep{}
	ms := e.s.Moves()
	e.real = e.real[:0]
	if _, ok := stateID(e.s); !ok {
		e.real = append(e.real, ms...)
	}
	k := min(len(ms), 2)
	defer e.markRoot()
	if k == 0 {
		return
	}
	saved := append(e.tmpMv[:0], ms[len(ms)-k:]...)
	for i := 0; i < k; i++ {
		e.s.Undo()
	}
	for i := 0; i < k; i++ {
		m := saved[i]
		rb := int32(0)
		if m.Edge >= 0 {
			rb = int32(e.s.Remaining(m.Edge))
		}
		e.s.Apply(m)
		e.hist[1] = e.hist[0]
		e.hist[0] = histStep{m: m, remBefore: rb, ok: true}
	}
	e.tmpMv = saved[:0]
}

func (e *Explorer) resetTree() {
	e.nodes = append(e.nodes[:0], tnode{parent: -1, move: planners.Move{From: -1, To: e.s.Current(), Edge: -1}})
	e.cands = e.cands[:0]
	e.applied = e.applied[:0]
	e.l = nil
}

// Stats returns the explorer's counters.
func (e *Explorer) Stats() ExplorerStats { return e.stats }

// atRoot reports whether the session (with no exploratory move applied) is
// in the root state: at the root's node with exactly the move sequence the
// explorer read at Reset and committed since. By the Session contract the
// state — hence every memoised reward and candidate list — is a function
// of that sequence, so a session changed behind the explorer (a
// controller's Undo, Begin, moves applied outside Commit) fails it. With
// state ids, re-applying the same moves also fails it (fresh ids; the memo
// is dropped though it would still be valid); without, only a different
// sequence fails it.
// O(1) for sessions that implement planners.StateIdentifier (every
// process session, through planners.Tracker), O(moves) for the others.
func (e *Explorer) atRoot() bool {
	if e.s.Current() != e.nodes[0].move.To {
		return false
	}
	if id, ok := stateID(e.s); ok {
		return e.rootIDOK && id == e.rootID
	}
	return slices.Equal(e.s.Moves(), e.real)
}

// markRoot records the root state's id (sessions that implement
// planners.StateIdentifier; the others are checked by their move list).
func (e *Explorer) markRoot() {
	e.rootID, e.rootIDOK = stateID(e.s)
}

// stateID is s's planners.StateIdentifier id, ok = false if it has none.
func stateID(s planners.Session) (uint64, bool) {
	if si, ok := s.(planners.StateIdentifier); ok {
		return si.StateID()
	}
	return 0, false
}

// Nodes returns the number of memoised prefixes.
func (e *Explorer) Nodes() int { return len(e.nodes) }

// Root returns the root node id (always 0).
func (e *Explorer) Root() int32 { return 0 }

// Depth returns the number of moves from the root to x.
func (e *Explorer) Depth(x int32) int { return int(e.nodes[x].depth) }

// Parent returns x's parent (-1 for the root).
func (e *Explorer) Parent(x int32) int32 { return e.nodes[x].parent }

// Move returns the move leading into x.
func (e *Explorer) Move(x int32) planners.Move { return e.nodes[x].move }

// Reward returns the undiscounted step reward of the move into x.
func (e *Explorer) Reward(x int32) float64 { return e.nodes[x].reward }

// Done reports whether the coverage is complete at x.
func (e *Explorer) Done(x int32) bool { e.expand(x); return e.nodes[x].done }

// DeadEnd reports whether x has no candidate move while coverage is not
// met, and the reward of the process's jump chain there (ok = a jump exists).
func (e *Explorer) DeadEnd(x int32) (dead bool, jumpReward float64, ok bool) {
	e.expand(x)
	n := &e.nodes[x]
	return n.deadEnd, n.jumpReward, n.jumpOK
}

// Session returns the session (its state is the explorer's business until
// SyncRoot is called).
func (e *Explorer) Session() planners.Session { return e.s }

// SyncRoot undoes every exploratory move: the session is back in the root
// state.
func (e *Explorer) SyncRoot() {
	for len(e.applied) > 0 {
		e.s.Undo()
		e.applied = e.applied[:len(e.applied)-1]
	}
}

// syncTo applies/undoes moves so that the session is in x's state.
func (e *Explorer) syncTo(x int32) {
	e.path = e.path[:0]
	for y := x; y > 0; y = e.nodes[y].parent {
		e.path = append(e.path, y)
	}
	// path is x..child-of-root; reverse to root-side first
	for i, j := 0, len(e.path)-1; i < j; i, j = i+1, j-1 {
		e.path[i], e.path[j] = e.path[j], e.path[i]
	}
	common := 0
	for common < len(e.applied) && common < len(e.path) && e.applied[common] == e.path[common] {
		common++
	}
	for len(e.applied) > common {
		e.s.Undo()
		e.applied = e.applied[:len(e.applied)-1]
	}
	for _, y := range e.path[common:] {
		e.s.Apply(e.nodes[y].move)
		e.applied = append(e.applied, y)
	}
}

// expand memoises x's LSG-independent data.
func (e *Explorer) expand(x int32) {
	if e.nodes[x].expanded {
		return
	}
	e.syncTo(x)
	s := e.s
	done := s.Done()
	e.tmpMv = s.Candidates(e.tmpMv[:0])
	e.stats.Expansions++
	start := int32(len(e.cands))
	for _, m := range e.tmpMv {
		e.cands = append(e.cands, cand{m: m, child: -1})
	}
	n := &e.nodes[x]
	n.expanded = true
	n.done = done
	n.candStart, n.candLen = start, int32(len(e.tmpMv))
	n.deadEnd = len(e.tmpMv) == 0 && !done
	if n.deadEnd && e.cfg.JumpLookahead {
		js := s.Jump()
		if len(js) > 0 {
			js = append(e.tmpMv[:0], js...) // Jump's slice may be shared
			r, u := 0.0, 0.0
			for _, m := range js {
				rm, um := e.reward(m)
				e.stats.Rewards++
				if (math.IsNaN(rm) || math.IsInf(rm, 0)) && e.err == nil {
					e.err = fmt.Errorf("lsg: the process returned reward %v for jump move %d→%d", rm, m.From, m.To)
				}
				r += rm
				u += um
				s.Apply(m)
			}
			for range js {
				s.Undo()
			}
			n = &e.nodes[x]
			n.jumpOK, n.jumpReward, n.jumpUnd = true, r, u
		}
	}
}

// child returns (creating it, with its memoised reward) the child of x
// along candidate ci.
func (e *Explorer) child(x int32, ci int32) int32 {
	c := &e.cands[e.nodes[x].candStart+ci]
	if c.child >= 0 {
		return c.child
	}
	e.syncTo(x)
	m := c.m
	rb := int32(0)
	if m.Edge >= 0 {
		rb = int32(e.s.Remaining(m.Edge))
	}
	r, u := e.reward(m)
	e.stats.Rewards++
	if (math.IsNaN(r) || math.IsInf(r, 0)) && e.err == nil {
		e.err = fmt.Errorf("lsg: the process returned reward %v for move %d→%d (%v)", r, m.From, m.To, m.Kind)
	}
	id := int32(len(e.nodes))
	e.nodes = append(e.nodes, tnode{parent: x, depth: e.nodes[x].depth + 1, move: m, reward: r, undisc: u, remBefore: rb})
	e.cands[e.nodes[x].candStart+ci].child = id
	return id
}

// reward returns Session.Reward(m) in the current state and its
// undiscounted part (planners.UndiscountedRewarder; 0 for sessions without
// one), recording a non-finite or positive part as the explorer's error.
func (e *Explorer) reward(m planners.Move) (r, u float64) {
	if e.und == nil {
		return e.s.Reward(m), 0
	}
	r, u = e.und.RewardSplit(m)
	if !(u <= 0) && e.err == nil { // NaN too
		e.err = fmt.Errorf("lsg: the process returned undiscounted reward %v (want ≤ 0) for move %d→%d (%v)", u, m.From, m.To, m.Kind)
	}
	return r, u
}

// weigh returns the return contribution of a step reward r with
// undiscounted part u at discount d: d·(r − u) + u.
func weigh(d, r, u float64) float64 { return d*(r-u) + u }

// Commit makes m (a candidate of the root, a jump or any move the session
// accepts) part of the real path: the session returns to the root state,
// applies m, and the tree is re-rooted at m's child, keeping every memoised
// reward and candidate list below it (the session state after m is the
// state that prefix described); other branches are dropped. The tree is
// dropped instead when m is not a memoised root candidate (a jump, a move
// the root never expanded), with ExplorerConfig.DropOnCommit, and when the
// session was not in the root state (changed behind the explorer; the
// memo is then re-rooted at whatever state it is in, as by Reset).
func (e *Explorer) Commit(m planners.Move) {
	e.SyncRoot()
	if !e.atRoot() {
		e.stats.Drops++
		e.Reset()
	}
	rb := int32(0)
	if m.Edge >= 0 {
		rb = int32(e.s.Remaining(m.Edge))
	}
	keep := int32(-1)
	root := &e.nodes[0]
	if root.expanded {
		for i := int32(0); i < root.candLen; i++ {
			c := e.cands[root.candStart+i]
			if c.child >= 0 && c.m == m { // the whole move: the head axis is state too
				keep = c.child
				break
			}
		}
	}
	e.s.Apply(m)
	e.hist[1] = e.hist[0]
	e.hist[0] = histStep{m: m, remBefore: rb, ok: true}
	if e.rootIDOK {
		e.markRoot()
	} else if ms := e.s.Moves(); len(ms) > 0 {
		e.real = append(e.real, ms[len(ms)-1])
	}
	if keep < 0 || e.cfg.DropOnCommit {
		e.resetTree()
		return
	}
	e.reroot(keep)
	e.stats.Reroots++
	e.stats.Kept += len(e.nodes)
}

// reroot compacts the subtree under x into fresh pools with x as root.
func (e *Explorer) reroot(x int32) {
	if cap(e.remap) < len(e.nodes) {
		e.remap = make([]int32, len(e.nodes))
	}
	e.remap = e.remap[:len(e.nodes)]
	for i := range e.remap {
		e.remap[i] = -1
	}
	e.nodes2 = e.nodes2[:0]
	e.cands2 = e.cands2[:0]
	e.queue = append(e.queue[:0], x)
	e.remap[x] = 0
	e.nodes2 = append(e.nodes2, e.nodes[x])
	for h := 0; h < len(e.queue); h++ {
		old := e.queue[h]
		ni := e.remap[old]
		n := e.nodes[old]
		nn := &e.nodes2[ni]
		nn.depth = n.depth - e.nodes[x].depth
		if old == x {
			nn.parent = -1
		} else {
			nn.parent = e.remap[n.parent]
		}
		if !n.expanded {
			continue
		}
		start := int32(len(e.cands2))
		for i := int32(0); i < n.candLen; i++ {
			c := e.cands[n.candStart+i]
			if c.child >= 0 {
				id := int32(len(e.nodes2))
				e.remap[c.child] = id
				e.nodes2 = append(e.nodes2, e.nodes[c.child])
				e.queue = append(e.queue, c.child)
				c.child = id
			}
			e.cands2 = append(e.cands2, c)
		}
		e.nodes2[ni].candStart = start
	}
	e.nodes, e.nodes2 = e.nodes2, e.nodes
	e.cands, e.cands2 = e.cands2, e.cands
	e.applied = e.applied[:0]
	e.l = nil
}

// Bind attaches the LSG built around the root's node. It must be called
// after each Reset/Commit before Actions, Transition or the state methods.
// A session found elsewhere than in the root state drops the memo first
// (as Reset; ExplorerStats.Drops).
func (e *Explorer) Bind(l *LSG) error {
	e.SyncRoot()
	if !e.atRoot() {
		e.stats.Drops++
		e.Reset()
	}
	if l.Center != e.nodes[0].move.To {
		return fmt.Errorf("lsg: LSG centred at %d bound to root at node %d", l.Center, e.nodes[0].move.To)
	}
	e.l = l
	e.epoch++
	if e.epoch == 0 {
		for i := range e.ln {
			e.ln[i].epoch = 0
		}
		e.epoch = 1
	}
	e.rootRem = e.rootRem[:0]
	for _, ed := range l.Edges {
		e.rootRem = append(e.rootRem, int32(e.s.Remaining(int(ed.E))))
	}
	e.acts = e.acts[:0]
	e.diffs = e.diffs[:0]
	e.heats = e.heats[:0]
	return nil
}

// LSG returns the bound LSG.
func (e *Explorer) LSG() *LSG { return e.l }

// leafNode returns x's per-LSG flags (visited, complete, terminal) under
// the bound LSG, without computing its actions, pass counts or heat: a
// prefix reached at the horizon needs no more, and its candidate moves —
// the feasible-move search of the process — are left to whoever needs them
// (the next decision, after Commit kept it, at a shallower depth).
func (e *Explorer) leafNode(x int32) *lnode {
	if int(x) >= len(e.ln) {
		e.ln = append(e.ln, make([]lnode, int(x)+1-len(e.ln)+len(e.ln)/2)...)
	}
	if e.ln[x].epoch != e.epoch {
		e.ln[x] = lnode{epoch: e.epoch, heatStart: -1}
	}
	return &e.ln[x]
}

// lsgNode returns x's per-LSG data, computing it on first use.
func (e *Explorer) lsgNode(x int32) *lnode {
	if ln := e.leafNode(x); ln.full {
		return ln
	}
	e.expand(x)
	n := e.nodes[x]
	l := e.l
	ln := e.ln[x] // keeps the flags a horizon leaf may already have
	ln.full, ln.heatStart = true, -1
	// feasible in-LSG actions (first candidate per target node)
	ln.actStart = int32(len(e.acts))
	e.seenTag++
	if e.seenTag == 0 {
		clear(e.seenTo)
		e.seenTag = 1
	}
	for i := int32(0); i < n.candLen; i++ {
		to := e.cands[n.candStart+i].m.To
		loc := l.Local(to)
		if loc < 0 || e.seenTo[to] == e.seenTag {
			continue
		}
		e.seenTo[to] = e.seenTag
		e.acts = append(e.acts, Action{Local: int32(loc), cand: i})
	}
	ln.actLen = int32(len(e.acts)) - ln.actStart
	// pass counts that differ from the root's, and the heat
	ln.diffStart = int32(len(e.diffs))
	if x != 0 {
		e.syncTo(x)
		for k, ed := range l.Edges {
			if r := int32(e.s.Remaining(int(ed.E))); r != e.rootRem[k] {
				e.diffs = append(e.diffs, diffEntry{k: int32(k), rem: r})
			}
		}
	}
	ln.diffLen = int32(len(e.diffs)) - ln.diffStart
	if e.heat != nil {
		if x != 0 {
			e.syncTo(x)
		} else {
			e.SyncRoot()
		}
		ln.heatStart = int32(len(e.heats))
		for _, v := range l.Nodes {
			e.heats = append(e.heats, e.heat.NodeHeat(v))
		}
	}
	e.ln[x] = ln
	return &e.ln[x]
}

// Actions returns the feasible moves from x whose target lies in the LSG
// (the shared slice is valid until the next call that grows the tree).
func (e *Explorer) Actions(x int32) []Action {
	ln := e.lsgNode(x)
	return e.acts[ln.actStart : ln.actStart+ln.actLen]
}

// ActionMove returns the session move of action a at x.
func (e *Explorer) ActionMove(x int32, a Action) planners.Move {
	return e.cands[e.nodes[x].candStart+a.cand].m
}

// Transition takes action a at x under the episode model: step k =
// Depth(x)+1, reward r = D(k)·R(move) (+ D(k+1)·R(jump chain) when the
// child is a dead end of the graph, k < Horizon and JumpLookahead), done
// when k = Horizon or the child has no feasible in-LSG action. It marks the
// child visited for Complete. When the session implements
// planners.UndiscountedRewarder, its part U of R is weighted 1:
// r = D(k)·(R − U) + U (so a telescoping term sums over an episode to its
// telescoped value), the same for the jump chain.
func (e *Explorer) Transition(x int32, a Action) (child int32, r float64, done bool) {
	c := e.child(x, a.cand)
	k := int(e.nodes[c].depth)
	r = weigh(e.disc[k], e.nodes[c].reward, e.nodes[c].undisc)
	var ln *lnode
	if k >= e.cfg.Horizon {
		// the episode ends here whatever c's moves are: leave them unsearched
		ln = e.leafNode(c)
		ln.terminal, ln.terminalOK = true, true
	} else if ln = e.lsgNode(c); !ln.terminalOK {
		term := ln.actLen == 0
		ln = &e.ln[c]
		ln.terminal, ln.terminalOK = term, true
	}
	done = ln.terminal
	if k < e.cfg.Horizon {
		nd := &e.nodes[c]
		if nd.deadEnd && nd.jumpOK {
			r += weigh(e.disc[k+1], nd.jumpReward, nd.jumpUnd)
		}
	}
	if !ln.visited {
		ln.visited = true
		if done {
			e.markComplete(c)
		}
	}
	return c, r, done
}

func (e *Explorer) markComplete(x int32) {
	for {
		ln := &e.ln[x]
		if ln.complete {
			return
		}
		ln.complete = true
		p := e.nodes[x].parent
		if p < 0 {
			return
		}
		pl := e.lsgNode(p)
		pl.nComplete++
		if pl.nComplete < pl.actLen || (p != 0 && !pl.visited) {
			return
		}
		x = p
	}
}

// Explored reports whether every action sequence that starts with a at x
// has been taken by Transition under the bound LSG (a's subtree is
// complete); false when a was never taken.
func (e *Explorer) Explored(x int32, a Action) bool {
	c := e.cands[e.nodes[x].candStart+a.cand].child
	if c < 0 || int(c) >= len(e.ln) || e.ln[c].epoch != e.epoch {
		return false
	}
	return e.ln[c].complete
}

// Complete reports whether every action sequence from x to the horizon (or
// to a terminal state) has been taken by Transition under the bound LSG:
// the best return seen from x is then exact.
func (e *Explorer) Complete(x int32) bool {
	ln := e.lsgNode(x)
	if ln.complete {
		return true
	}
	if x == 0 && ln.actLen == 0 {
		return true
	}
	return false
}
