package ccf

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/processes/ccf/matching"
)

func init() {
	planners.RegisterPlanner("euler",
		"CCF baseline: duplicate the least edge length to make the graph Eulerian (exact min-weight perfect matching of odd nodes over shortest paths, each edge at most its pass count), then Hierholzer with the straightest continuation",
		[]string{"ccf"}, func(o planners.Options) (planners.Planner, error) { return NewEuler(o) })
}

// Euler is the classic one-stroke baseline for CCF layers (the Chinese
// postman construction; cf. Yamamoto et al. 2022, Hierholzer with
// constraints):
//
//  1. T = the odd-degree nodes. A T-join J (edge set in which exactly the
//     nodes of T have odd degree) of minimum length, over edges whose pass
//     count allows a second pass, is printed twice; the multigraph G + J
//     then has every degree even — or, with ccf.euler_trail "open", all but
//     the two ends of the stroke, chosen optimally by two zero-cost dummy
//     partners in the matching. The minimum T-join is the symmetric
//     difference of the shortest paths between the pairs of a
//     minimum-weight perfect matching of T on shortest-path distances
//     (Edmonds & Johnson 1973), computed exactly with the blossom algorithm
//     (package matching) for up to ExactMatchingLimit odd nodes, over each
//     node's SparseMatchingK nearest partners beyond; the symmetric
//     difference uses every edge at most once, so no edge exceeds two
//     passes.
//  2. With ccf.euler_turns "straightest" (default, the baseline)
//     Hierholzer's algorithm builds the stroke: a walk that at every node
//     takes the unused edge with the straightest continuation (highest
//     turning-angle reward, Eq. 9); closed sub-walks left over are spliced
//     in at the occurrence and orientation that add the least turning
//     penalty. A closed stroke starts at the interior node whose turn is
//     the sharpest, which removes that turn. With "matched" the stroke
//     follows the least-penalty pairing of arc ends at every node instead
//     (transitionTour): same length, far fewer sharp turns.
//
// With "open" the length is optimal: no one-stroke covering is shorter
// (ending at an even node never helps when odd nodes exist). A closed
// circuit may end with duplicated edges that only lead back to its start;
// the stroke stops as soon as every edge is covered. The turns are only
// locally optimised.
type Euler struct {
	opts  planners.Options
	rp    RewardParams
	trail string
	turns string
	// Stats of the last Plan.
	AddedMM  float64 // length duplicated to make the multigraph Eulerian
	OddNodes int
	MatchK   int // candidate partners per odd node (OddNodes−1 = exact)
}

var _ planners.Planner = (*Euler)(nil)

// NewEuler builds the baseline; the CCF settings come from the process in
// o.Process (defaults when it is not the ccf process).
func NewEuler(o planners.Options) (*Euler, error) {
	c := ccfConfig(o)
	rp, err := ParamsFromConfig(c)
	if err != nil {
		return nil, err
	}
	if c.EulerTrail != "open" && c.EulerTrail != "closed" {
		return nil, fmt.Errorf("euler: ccf.euler_trail must be open or closed, got %q", c.EulerTrail)
	}
	if c.EulerTurns != "straightest" && c.EulerTurns != "matched" {
		return nil, fmt.Errorf("euler: ccf.euler_turns must be straightest or matched, got %q", c.EulerTurns)
	}
	return &Euler{opts: o, rp: rp, trail: c.EulerTrail, turns: c.EulerTurns}, nil
}

func ccfConfig(o planners.Options) config.CCFProcess {
	if p, ok := o.Process.(*Process); ok {
		return p.cfg.CCF
	}
	return config.Defaults().CCF
}

// Name implements planners.Planner.
func (e *Euler) Name() string { return "euler" }

// Plan implements planners.Planner. A session already begun (without
// moves) fixes the start node; a session with moves is refused.
func (e *Euler) Plan(ctx context.Context, s planners.Session, emit func(planners.Move) error) error {
	if len(s.Moves()) > 0 {
		return fmt.Errorf("euler: plans whole strokes only, the session already has %d moves", len(s.Moves()))
	}
	g := s.Graph()
	fixed := s.Current()
	var boundary func(int) bool
	if cs, ok := s.(*Session); ok {
		boundary = cs.Boundary
	} else {
		boundary = func(int) bool { return false }
	}
	mult, ends, err := e.eulerize(ctx, g, fixed)
	if err != nil {
		return err
	}
	start := fixed
	if start < 0 {
		start = e.pickStart(s, ends)
	}
	var seq []int
	if e.turns == "matched" {
		seq, err = e.matchedStroke(g, mult, ends, start, fixed >= 0, boundary)
	} else {
		seq, err = e.hierholzer(g, mult, start, len(ends) == 0, fixed >= 0, boundary)
	}
	if err != nil {
		return err
	}
	if s.Current() < 0 {
		if err := s.Begin(seq[0]); err != nil {
			return err
		}
	}
	var cands []planners.Move
	// a closed circuit may end with duplicated edges that only lead back
	// to its start: the stroke stops as soon as every edge is covered
	for i := 1; i < len(seq) && !s.Done(); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := s.MoveTo(seq[i])
		cands = s.Candidates(cands[:0])
		ok := false
		for _, c := range cands {
			ok = ok || (c.To == m.To && c.Edge == m.Edge)
		}
		if m.Kind != planners.Print || !ok {
			return fmt.Errorf("euler: internal error: step %d (%d→%d) is not a feasible print move", i, m.From, m.To)
		}
		s.Apply(m)
		if err := emit(m); err != nil {
			return err
		}
		if e.opts.Progress != nil {
			d, t := s.Progress()
			e.opts.Progress(d, t)
		}
	}
	if !s.Done() {
		return fmt.Errorf("euler: internal error: stroke ends with coverage incomplete")
	}
	return nil
}

// pickStart chooses the stroke start among the trail ends (interior first,
// in the session's start order), or the first session start for a
// circuit.
func (e *Euler) pickStart(s planners.Session, ends []int) int {
	starts := s.Starts()
	if len(ends) == 0 {
		if len(starts) > 0 {
			return starts[0]
		}
		return -1
	}
	rank := map[int]int{}
	for i, v := range starts {
		rank[v] = i
	}
	best := ends[0]
	for _, v := range ends[1:] {
		rv, ok1 := rank[v]
		rb, ok2 := rank[best]
		if ok1 && (!ok2 || rv < rb) {
			best = v
		}
	}
	return best
}

// distScale converts mm to the integer matching weights (0.1 µm).
const distScale = 1e4

// eulerize returns the multiplicity of every edge in the Eulerian
// multigraph (1 + duplication) and the free ends of the stroke (empty for
// a circuit, two odd nodes for an open trail, the other end for a fixed
// start).
func (e *Euler) eulerize(ctx context.Context, g *graph.Graph, fixed int) ([]int, []int, error) {
	n := g.NumNodes()
	var odd []int
	for v := 0; v < n; v++ {
		if g.Degree(v)%2 == 1 {
			odd = append(odd, v)
		}
	}
	e.OddNodes = len(odd)
	mult := make([]int, g.NumEdges())
	for i := range mult {
		mult[i] = 1
	}
	e.AddedMM = 0
	// targets of the matching and the dummies
	targets := append([]int(nil), odd...)
	dummies := 0
	switch {
	case fixed >= 0:
		if g.Degree(fixed)%2 == 1 {
			// the start is one end: drop it, one dummy picks the other end
			targets = targets[:0]
			for _, v := range odd {
				if v != fixed {
					targets = append(targets, v)
				}
			}
			dummies = 1
		} else if len(odd) > 0 {
			// the stroke starts at an even node: it either returns there
			// (dummy pairs with the start) or ends at an odd node
			targets = append(targets, fixed)
			dummies = 1
		}
	case e.trail == "open" && len(odd) >= 2:
		dummies = 2
	}
	if len(targets)+dummies == 0 {
		return mult, nil, nil
	}
	dup := func(ei int) bool { return g.PassesOf(ei) >= 2 }
	sp := newPathFinder(g, dup)
	nt := len(targets)
	isTarget := make(map[int]int, nt)
	for i, v := range targets {
		isTarget[v] = i
	}
	// candidate pairs: every pair when the matching is small enough to be
	// solved on the complete graph (exact), else each target's k nearest
	// targets, doubling k until a perfect matching exists
	k := nt - 1
	if nt > ExactMatchingLimit {
		k = min(nt-1, SparseMatchingK)
	}
	var mate []int
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		seen := map[[2]int]bool{}
		var edges []matching.Edge
		for i, v := range targets {
			for _, f := range sp.nearest(v, k, isTarget) {
				j := f.idx
				key := [2]int{min(i, j), max(i, j)}
				if !seen[key] {
					seen[key] = true
					edges = append(edges, matching.Edge{I: i, J: j, W: f.d})
				}
			}
		}
		for d := 0; d < dummies; d++ {
			for i := 0; i < nt; i++ {
				edges = append(edges, matching.Edge{I: i, J: nt + d, W: 0})
			}
		}
		var err error
		mate, _, err = matching.MinWeightPerfect(nt+dummies, edges)
		if err == nil {
			break
		}
		if !errors.Is(err, matching.ErrNoPerfect) {
			return nil, nil, fmt.Errorf("euler: %w", err)
		}
		if k >= nt-1 {
			return nil, nil, fmt.Errorf("euler: %w: the odd nodes cannot be paired over edges that allow a second pass, so no single stroke exists", planners.ErrStuck)
		}
		k = min(nt-1, 2*k)
	}
	e.MatchK = k
	var ends []int
	if fixed >= 0 {
		ends = append(ends, fixed)
	}
	for i := 0; i < nt; i++ {
		j := mate[i]
		if j >= nt {
			if targets[i] != fixed {
				ends = append(ends, targets[i])
			}
			continue
		}
		if i > j {
			continue
		}
		// XOR the shortest path targets[i] → targets[j] into the join
		for _, ei := range sp.path(targets[i], targets[j]) {
			mult[ei] ^= 3 // 1 ↔ 2: symmetric difference
		}
	}
	for ei, m := range mult {
		if m == 2 {
			e.AddedMM += g.LengthMM(ei)
		}
	}
	if fixed >= 0 && len(ends) == 1 {
		ends = nil // the stroke returns to the start: a circuit
	}
	return mult, ends, nil
}

// ExactMatchingLimit is the largest number of odd nodes paired on the
// complete graph of their distances (exact T-join). Above it each odd node
// is offered only its SparseMatchingK nearest odd nodes (k doubled until a
// perfect matching exists): the blossom algorithm is O(n³) and the
// complete graph has n²/2 edges. BenchmarkEulerLarge measures the gap.
var (
	ExactMatchingLimit = 400
	SparseMatchingK    = 16
)

// pathFinder runs Dijkstra over the edges allowed by ok, with lengths in
// units of 1/distScale mm, reusing its buffers (epoch-stamped).
type pathFinder struct {
	g     *graph.Graph
	ok    func(int) bool
	w     []int64
	dist  []int64
	pred  []int32
	stamp []uint32
	epoch uint32
	h     distHeap
}

type found struct {
	idx int // target index
	d   int64
}

func newPathFinder(g *graph.Graph, ok func(int) bool) *pathFinder {
	n := g.NumNodes()
	pf := &pathFinder{g: g, ok: ok, w: make([]int64, g.NumEdges()),
		dist: make([]int64, n), pred: make([]int32, n), stamp: make([]uint32, n)}
	for i := range pf.w {
		pf.w[i] = int64(math.Round(g.LengthMM(i) * distScale))
	}
	return pf
}

// run searches from src until stop(v) reports true for a settled node v
// (or the component is exhausted).
func (pf *pathFinder) run(src int, stop func(v int) bool) {
	pf.epoch++
	if pf.epoch == 0 {
		clear(pf.stamp)
		pf.epoch = 1
	}
	ep := pf.epoch
	get := func(v int) int64 {
		if pf.stamp[v] != ep {
			return math.MaxInt64
		}
		return pf.dist[v]
	}
	pf.stamp[src], pf.dist[src], pf.pred[src] = ep, 0, -1
	pf.h = append(pf.h[:0], distItem{src, 0})
	for len(pf.h) > 0 {
		it := heap.Pop(&pf.h).(distItem)
		if it.d != get(it.v) {
			continue
		}
		if stop(it.v) {
			return
		}
		for _, hh := range pf.g.Neighbors(it.v) {
			ei := int(hh.Edge)
			if !pf.ok(ei) {
				continue
			}
			nd := it.d + pf.w[ei]
			y := int(hh.To)
			if d := get(y); nd < d || (nd == d && int32(ei) < pf.pred[y]) {
				pf.stamp[y], pf.dist[y], pf.pred[y] = ep, nd, int32(ei)
				heap.Push(&pf.h, distItem{y, nd})
			}
		}
	}
}

// nearest returns the k nearest other targets of src with their distances.
func (pf *pathFinder) nearest(src, k int, isTarget map[int]int) []found {
	var out []found
	pf.run(src, func(v int) bool {
		if i, ok := isTarget[v]; ok && v != src {
			out = append(out, found{i, pf.dist[v]})
		}
		return len(out) >= k
	})
	return out
}

// path returns the edges of a shortest path from a to b (b reachable).
func (pf *pathFinder) path(a, b int) []int {
	pf.run(a, func(v int) bool { return v == b })
	var out []int
	for v := b; v != a; {
		ei := int(pf.pred[v])
		out = append(out, ei)
		v = pf.g.Edges[ei].Other(v)
	}
	return out
}

type distItem struct {
	v int
	d int64
}

type distHeap []distItem

func (h distHeap) Len() int { return len(h) }
func (h distHeap) Less(i, j int) bool {
	return h[i].d < h[j].d || (h[i].d == h[j].d && h[i].v < h[j].v)
}
func (h distHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *distHeap) Push(x any)   { *h = append(*h, x.(distItem)) }
func (h *distHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// hierholzer builds an Euler trail (closed when circuit) of the multigraph
// with edge multiplicities mult, starting at start, choosing the
// straightest continuation at each node and splicing closed sub-walks in
// where they add the least turning penalty. fixedStart forbids rotating a
// circuit away from start.
func (e *Euler) hierholzer(g *graph.Graph, mult []int, start int, circuit, fixedStart bool, boundary func(int) bool) ([]int, error) {
	used := make([]int, len(mult))
	avail := make([]int, g.NumNodes())
	for ei, m := range mult {
		ed := g.Edges[ei]
		avail[ed.A] += m
		avail[ed.B] += m
	}
	pen := func(p, v, w int) float64 {
		if p < 0 || w < 0 {
			return 0
		}
		return e.rp.MaxTurn() - e.rp.Turn(planners.TurnAngle(g, p, v, w))
	}
	// step takes the best unused edge at v (coming from p, or -1; first
	// forces the first edge), returns the next node or -1.
	step := func(p, v, first int) int {
		bestE, bestW, bestC := -1, -1, math.Inf(1)
		for _, h := range g.Neighbors(v) {
			ei, w := int(h.Edge), int(h.To)
			if used[ei] >= mult[ei] {
				continue
			}
			if first >= 0 && ei != first {
				continue
			}
			c := pen(p, v, w)
			if c < bestC {
				bestE, bestW, bestC = ei, w, c
			}
		}
		if bestE < 0 {
			return -1
		}
		used[bestE]++
		avail[v]--
		avail[bestW]--
		return bestW
	}
	walk := func(p, v, first int) []int {
		seq := []int{v}
		for {
			w := step(p, v, first)
			first = -1
			if w < 0 {
				return seq
			}
			seq = append(seq, w)
			p, v = v, w
		}
	}
	// tour as a doubly linked list over a node pool
	var node, prev, next []int
	occ := map[int][]int{}
	push := func(v int) int {
		id := len(node)
		node = append(node, v)
		prev = append(prev, -1)
		next = append(next, -1)
		occ[v] = append(occ[v], id)
		return id
	}
	first := walk(-1, start, -1)
	last := -1
	for _, v := range first {
		id := push(v)
		if last >= 0 {
			next[last], prev[id] = id, last
		}
		last = id
	}
	nodeAt := func(id int) int {
		if id < 0 {
			return -1
		}
		return node[id]
	}
	for i := 0; i < len(node); i++ {
		v := node[i]
		for avail[v] > 0 {
			// first edge: the straightest continuation from any occurrence
			bestC, bestE := math.Inf(1), -1
			for _, o := range occ[v] {
				p := nodeAt(prev[o])
				for _, h := range g.Neighbors(v) {
					ei := int(h.Edge)
					if used[ei] >= mult[ei] {
						continue
					}
					if c := pen(p, v, int(h.To)); c < bestC {
						bestC, bestE = c, ei
					}
				}
			}
			sub := walk(-1, v, bestE)
			if len(sub) < 3 || sub[len(sub)-1] != v {
				return nil, fmt.Errorf("euler: internal error: sub-walk from %d does not close (%d nodes)", v, len(sub))
			}
			// splice at the occurrence and orientation of least added penalty
			bestO, bestRev, bestCost := -1, false, math.Inf(1)
			for _, o := range occ[v] {
				p, q := nodeAt(prev[o]), nodeAt(next[o])
				base := pen(p, v, q)
				for _, rev := range []bool{false, true} {
					a, b := sub[1], sub[len(sub)-2]
					if rev {
						a, b = b, a
					}
					c := pen(p, v, a) + pen(b, v, q) - base
					if c < bestCost-1e-12 {
						bestO, bestRev, bestCost = o, rev, c
					}
				}
			}
			if bestRev {
				for x, y := 0, len(sub)-1; x < y; x, y = x+1, y-1 {
					sub[x], sub[y] = sub[y], sub[x]
				}
			}
			after := next[bestO]
			cur := bestO
			for _, w := range sub[1:] {
				id := push(w)
				next[cur], prev[id] = id, cur
				cur = id
			}
			next[cur] = after
			if after >= 0 {
				prev[after] = cur
			}
		}
	}
	for ei := range mult {
		if used[ei] != mult[ei] {
			return nil, fmt.Errorf("euler: internal error: edge %d used %d of %d times (graph not connected?)", ei, used[ei], mult[ei])
		}
	}
	seq := make([]int, 0, len(node))
	for id := 0; id >= 0; id = next[id] {
		seq = append(seq, node[id])
	}
	if circuit && !fixedStart && len(seq) > 2 {
		seq = rotateCircuit(seq, pen, boundary)
	}
	return seq, nil
}

// pen is the turning penalty at v for p → v → w: how much r_θ (Eq. 9)
// falls short of a straight continuation.
func (e *Euler) pen(g *graph.Graph) func(p, v, w int) float64 {
	return func(p, v, w int) float64 {
		if p < 0 || w < 0 {
			return 0
		}
		return e.rp.MaxTurn() - e.rp.Turn(planners.TurnAngle(g, p, v, w))
	}
}

// matchedStroke runs transitionTour and orients the result: an open
// trail starts at the chosen end, a circuit at start (fixed) or at its
// most penalised interior turn.
func (e *Euler) matchedStroke(g *graph.Graph, mult []int, ends []int, start int, fixedStart bool, boundary func(int) bool) ([]int, error) {
	if len(ends) == 2 && ends[0] != start {
		ends = []int{ends[1], ends[0]}
	}
	seq, err := transitionTour(g, mult, ends, e.pen(g))
	if err != nil {
		return nil, err
	}
	if len(ends) == 2 {
		return seq, nil
	}
	if !fixedStart {
		return rotateCircuit(seq, e.pen(g), boundary), nil
	}
	// rotate to the occurrence of start with the most penalised turn
	cyc := seq[:len(seq)-1]
	k := len(cyc)
	best, bestC := -1, -1.0
	for i, v := range cyc {
		if v != start {
			continue
		}
		if c := e.pen(g)(cyc[(i-1+k)%k], v, cyc[(i+1)%k]); c > bestC {
			best, bestC = i, c
		}
	}
	if best < 0 {
		return nil, fmt.Errorf("euler: internal error: start %d not on the circuit", start)
	}
	out := append(append([]int(nil), cyc[best:]...), cyc[:best]...)
	return append(out, cyc[best]), nil
}

// rotateCircuit restarts the closed stroke seq (seq[0] == seq[len-1]) at
// the position whose turn is the most penalised, preferring interior
// nodes: starting there removes that turn from the stroke.
func rotateCircuit(seq []int, pen func(p, v, w int) float64, boundary func(int) bool) []int {
	cyc := seq[:len(seq)-1]
	k := len(cyc)
	best, bestC, bestInterior := 0, -1.0, false
	for i := 0; i < k; i++ {
		p, v, w := cyc[(i-1+k)%k], cyc[i], cyc[(i+1)%k]
		c := pen(p, v, w)
		in := !boundary(v)
		if (in && !bestInterior) || (in == bestInterior && c > bestC) {
			best, bestC, bestInterior = i, c, in
		}
	}
	out := make([]int, 0, len(seq))
	out = append(out, cyc[best:]...)
	out = append(out, cyc[:best]...)
	return append(out, cyc[best])
}
