package ir

import "math"

// run is a maximal connected stretch of a plan, printed as a unit.
type run struct {
	first, last int // steps[first:last]
	a, b        Vec // endpoints in source orientation (a = start of steps[first])
	rev         bool
}

func (r *run) s() Vec {
	if r.rev {
		return r.b
	}
	return r.a
}

func (r *run) e() Vec {
	if r.rev {
		return r.a
	}
	return r.b
}

// travelCost is the cost of a travel between two points: its time from
// rest to rest at TravelMMS and TravelAccel (a trapezoid, or a triangle
// when short) when those are set, else its length. Time is what matters:
// it is concave in the length for short moves, so two short travels may
// cost more than one long one.
func (g *Graph) travelCost(a, b Vec) float64 {
	tm := g.travelModel()
	t, crossing := tm.base(a, b)
	if crossing {
		t += g.CrossCost(a, b)
	}
	return t
}

// travelModel holds the constants of travelCost.
type travelModel struct {
	v, acc    float64 // mm/s, mm/s²
	vOverAcc  float64 // v/acc (s)
	triangleD float64 // v²/acc (mm): shorter travels never reach v
	timed     bool    // time costs (else length)
	cross     bool    // CrossCost applies
}

func (g *Graph) travelModel() travelModel {
	v, acc := g.TravelMMS, g.TravelAccel
	if !(v > 0) || !(acc > 0) {
		// Lengths: base's second branch gives d/1 + 0 = d exactly.
		return travelModel{v: 1}
	}
	return travelModel{v: v, acc: acc, vOverAcc: v / acc, triangleD: v * v / acc, timed: true, cross: g.CrossCost != nil}
}

// base is travelCost without the CrossCost term, and whether that term
// applies (CrossCost set, time costs, a > 0 mm travel). travelCost is
// base plus a term ≥ 0, so base is a lower bound of it (also in floating
// point: rounding is monotone).
//
// Written to stay within the inlining budget (it is the hottest call of
// ImproveRuns): an untimed model has triangleD = 0 (first branch never
// taken), v = 1, vOverAcc = 0 and cross = false, so it returns d exactly.
func (tm *travelModel) base(a, b Vec) (float64, bool) {
	d := dist(a, b)
	if d < tm.triangleD {
		return 2 * math.Sqrt(d/tm.acc), tm.cross && d > 0
	}
	return d/tm.v + tm.vOverAcc, tm.cross
}

// baseTime is base's time alone (the same arithmetic, cheaper to inline).
func (tm *travelModel) baseTime(a, b *Vec) float64 {
	dx, dy := a[0]-b[0], a[1]-b[1] // dist(a, b)
	d := math.Sqrt(dx*dx + dy*dy)
	if d < tm.triangleD {
		return 2 * math.Sqrt(d/tm.acc)
	}
	return d/tm.v + tm.vOverAcc
}

// crossCache memoises CrossCost by unordered pair of point keys (open
// addressing, linear probing). Keys are < 2³¹, so ^0 marks an empty slot.
type crossCache struct {
	keys []uint64
	vals []float64
	n    int
}

const emptyKey = ^uint64(0)

// reset empties the cache, sized for about n entries.
func (c *crossCache) reset(n int) {
	size := 64
	for size < 2*n {
		size *= 2
	}
	if cap(c.keys) >= size { // only keys[:size] is cleared and used
		c.keys, c.vals = c.keys[:size], c.vals[:size]
	} else {
		c.keys, c.vals = make([]uint64, size), make([]float64, size)
	}
	for i := range c.keys {
		c.keys[i] = emptyKey
	}
	c.n = 0
}

func cacheSlot(k uint64, mask int) int {
	return int((k*0x9e3779b97f4a7c15)>>32) & mask
}

// get returns the value stored under key k.
func (c *crossCache) get(k uint64) (float64, bool) {
	mask := len(c.keys) - 1
	for i := cacheSlot(k, mask); ; i = (i + 1) & mask {
		switch c.keys[i] {
		case k:
			return c.vals[i], true
		case emptyKey:
			return 0, false
		}
	}
}

// put stores v under k (k not present), growing at half load.
func (c *crossCache) put(k uint64, v float64) {
	if 2*(c.n+1) > len(c.keys) {
		keys, vals := c.keys, c.vals
		c.keys, c.vals = make([]uint64, 2*len(keys)), make([]float64, 2*len(keys))
		for i := range c.keys {
			c.keys[i] = emptyKey
		}
		c.n = 0
		for i, ok := range keys {
			if ok != emptyKey {
				c.put(ok, vals[i])
			}
		}
	}
	mask := len(c.keys) - 1
	i := cacheSlot(k, mask)
	for c.keys[i] != emptyKey {
		i = (i + 1) & mask
	}
	c.keys[i], c.vals[i] = k, v
	c.n++
}

// runScratch is ImproveRuns' memory, kept in the graph between calls. It
// also holds the search state at the end of the last call (warm), from
// which RestartRuns continues.
type runScratch struct {
	rs                                           []run
	vid, order, pos, nbr, off, chg, seen2, seenO []int32
	rev                                          []int32 // rs[r].rev as 0/1 (read in the hot loops)
	near                                         []int32 // near[q]: max of chg[q..q+2] (positions q−1..q+1)
	pts                                          []Vec
	gapMemo                                      []float64

	warm      bool   // the fields below describe the last ImproveRuns call
	nE, nV    int    // graph size then (a changed graph has no warm state)
	in        []Step // its input plan (rs indexes into it)
	bounds    []int  // its runs
	end       Vec    // its end anchor, if hasEnd
	hasEnd    bool
	clock     int32   // the don't-look clock
	lastTouch int32   // clock of the last move
	startKey  int32   // crossing-memo key of the current start point
	startNbr  []int32 // the run endpoints nearest the start (RestartRuns)
}

// resize returns *s resized to n zero elements, reusing its memory.
func resize[T any](s *[]T, n int) []T {
	if cap(*s) < n {
		*s = make([]T, n)
	} else {
		*s = (*s)[:n]
		clear(*s)
	}
	return *s
}

// ImproveRuns reorders the runs of a plan (maximal stretches without
// travel) to lower the total travel cost from start through all runs:
// 2-opt moves (reverse a stretch of runs, each run reversed) and Or-opt
// moves (move a chain of one to three runs elsewhere, either way round),
// both over 8-nearest-neighbour candidate lists of the run endpoints, until
// no move gains more than 1 µm (10 µs for time costs); then closed runs are
// rotated to the vertex that minimises their entry plus exit cost. The cost
// of a travel is its length, or with TravelMMS/TravelAccel its time, plus
// CrossCost (e.g. a retraction when it crosses a perimeter). Runs are never
// split, so what is printed between two travels stays as it was, and the
// result never costs more than the input.
//
// end, when not nil, is where the head goes afterwards: the final travel to
// it is part of the cost.
//
// Speed without changing the result (ref_test.go holds it to the plain
// scans): the costs of the current tour's travels are memoised, CrossCost
// (a crossing test) is memoised per vertex pair and evaluated only when a
// move could win on the travel times alone, and a scan that found no move
// is not repeated until a run it reads has moved (exact don't-look bits).
// The search state stays in g for RestartRuns until g is reset or changed.
func (g *Graph) ImproveRuns(start Vec, end *Vec, steps []Step) []Step {
	ws := &g.runWS
	ws.warm, ws.nE, ws.nV = true, len(g.Edges), len(g.Pts)
	ws.in = append(ws.in[:0], steps...)
	ws.hasEnd = end != nil
	if end != nil {
		ws.end = *end
	}
	bounds := g.Runs(steps)
	ws.bounds = append(ws.bounds[:0], bounds...)
	m := len(bounds) - 1
	if m < 2 {
		return g.rotateClosed(start, end, steps, bounds)
	}
	rs := resize(&ws.rs, m)
	vid := resize(&ws.vid, 2*m+2) // graph vertex of each point id (−1: start/end)
	for k := 0; k < m; k++ {
		f, l := bounds[k], bounds[k+1]
		rs[k] = run{first: f, last: l, a: g.Pts[g.From(steps[f])], b: g.Pts[g.To(steps[l-1])]}
		vid[2*k], vid[2*k+1] = g.From(steps[f]), g.To(steps[l-1])
	}
	vid[2*m], vid[2*m+1] = -1, -1
	// order[pos] = run index; pos[run] = position.
	order := resize(&ws.order, m)
	pos := resize(&ws.pos, m)
	for k := range order {
		order[k] = int32(k)
		pos[k] = int32(k)
	}
	// Points by id: endpoint 2r is rs[r].a, 2r+1 is rs[r].b; then the
	// start and the end anchor.
	startID, endID := int32(2*m), int32(2*m+1)
	pts := resize(&ws.pts, 2*m+2)
	for r := range rs {
		pts[2*r] = rs[r].a
		pts[2*r+1] = rs[r].b
	}
	pts[startID] = start
	if end != nil {
		pts[endID] = *end
	}
	grid := &g.grid
	grid.build(pts[:2*m])
	const k = 8
	nbr := resize(&ws.nbr, 2*m*k)[:0]
	off := resize(&ws.off, 2*m+1)
	for i := 0; i < 2*m; i++ {
		nbr = grid.knn(int32(i), k, nbr)
		off[i+1] = int32(len(nbr))
	}
	ws.nbr = nbr
	g.xcache.reset(8 * m)
	// Don't-look state: nothing seen yet.
	resize(&ws.gapMemo, m+1)
	resize(&ws.chg, m+2) // chg[0]: the start point; chg[m+1]: the end anchor (never changes)
	resize(&ws.near, m)
	resize(&ws.rev, m)
	seen2 := resize(&ws.seen2, m+1) // 2-opt index i at seen2[i+1]
	seenO := resize(&ws.seenO, 3*m) // Or-opt (L, p) at seenO[(L−1)·m+p]
	for k := range seen2 {
		seen2[k] = -1
	}
	for k := range seenO {
		seenO[k] = -1
	}
	for q := range ws.gapMemo {
		ws.gapMemo[q] = math.NaN()
	}
	ws.clock, ws.lastTouch = 0, 0
	ws.startNbr = ws.startNbr[:0]
	ws.startKey = int32(len(g.Pts)) + 1
	return g.searchRuns(steps, end)
}

// RestartRuns continues the last ImproveRuns call on g for a head that
// starts at start instead: the run order its search ended with is improved
// further by the same 2-opt/Or-opt moves — the 2-opt scan from the start
// also trying the exits among the 8 run endpoints nearest the new start
// (enter there, the runs before it reversed) — and the plan is returned
// with closed runs rotated as by ImproveRuns. It is cheap: ImproveRuns'
// search ended with every scan done and finding no move, and only the
// scans that read the start point are repeated (plus those the moves they
// make disturb), exactly as ImproveRuns' don't-look bits would repeat them
// (TestRestartRunsMatchesReference holds it to the plain scans). So a
// layer can be planned before the layer before it, from a provisional
// start, and adjusted once its real start is known. The result is a local
// optimum of the same neighbourhood for the new start, and the moves only
// lower the cost; it generally differs from ImproveRuns(start, ...) on the
// same input (neither is better in general). ok is false, and nothing is
// done, when g has no ImproveRuns result to continue (none was made, or g
// was reset or changed since). Calls may be repeated; each continues from
// the state the previous one left.
func (g *Graph) RestartRuns(start Vec) (steps []Step, ok bool) {
	ws := &g.runWS
	if !ws.warm || ws.nE != len(g.Edges) || ws.nV != len(g.Pts) {
		return nil, false
	}
	var end *Vec
	if ws.hasEnd {
		e := ws.end
		end = &e
	}
	m := len(ws.bounds) - 1
	if m < 2 {
		out := append([]Step(nil), ws.in...)
		return g.rotateClosed(start, end, out, ws.bounds), true
	}
	ws.pts[2*m] = start
	ws.startNbr = nearestK(ws.pts[:2*m], start, 8, ws.startNbr[:0])
	ws.clock++
	ws.chg[0] = ws.clock // the start point changed
	ws.near[0] = ws.clock
	ws.startKey++ // crossing-memo entries of the old start no longer apply
	ws.gapMemo[0] = math.NaN()
	return g.searchRuns(ws.in, end), true
}

// searchRuns is the 2-opt/Or-opt search of ImproveRuns from the state in
// g.runWS (runs, order, neighbour lists, don't-look bits, memos), and the
// plan it ends with.
func (g *Graph) searchRuns(steps []Step, end *Vec) []Step {
	ws := &g.runWS
	rs, order, pos, pts := ws.rs, ws.order, ws.pos, ws.pts
	nbr, off := ws.nbr, ws.off
	m := len(rs)
	startID := int32(2 * m)
	start := pts[startID]
	rx := &runSearch{g: g, rs: rs, vid: ws.vid, order: order, pos: pos, pts: pts, rv: ws.rev,
		nbr: nbr, off: off, m: m, startID: startID, endID: startID + 1, nV: int32(len(g.Pts)),
		startKey: ws.startKey, xc: &g.xcache, tm: g.travelModel(), end: end, gapMemo: ws.gapMemo,
		clock: ws.clock, lastTouch: ws.lastTouch, chg: ws.chg, near: ws.near, startNbr: ws.startNbr}
	startNbr := ws.startNbr
	seen2, seenO := ws.seen2, ws.seenO
	eps := 1e-3 // mm, or 10 µs when the cost is time
	if g.TravelMMS > 0 && g.TravelAccel > 0 {
		eps = 1e-5
	}
	for pass := 0; pass < 50; pass++ {
		improved := false
		// 2-opt: travels (x1 = rx.exitAt(i) → y1 = entry(i+1)) and (x2 =
		// rx.exitAt(j) → y2 = entry(j+1)) become x1→x2 and y1→y2, reversing
		// positions i+1..j.
		for i := -1; i < m-1; i++ {
			// (t ≥ lastTouch: no run moved since the scan, so only the
			// start can have changed, which only i = −1 reads.)
			if t := seen2[i+1]; t >= 0 && rx.chgAt(i) <= t && (t >= rx.lastTouch || rx.chgAt(i+1) <= t && rx.chgAt(m-1) <= t &&
				!rx.nbrChanged(rx.exitAt(i), t) && !rx.nbrChanged(rx.sID(order[i+1]), t)) {
				continue
			}
			clock0 := rx.clock
			x1 := rx.exitAt(i)
			tryJ := func(j int) bool {
				if j <= i || j >= m {
					return false
				}
				x2 := rx.exitAt(j)
				old := rx.curGap(i+1) + rx.curGap(j+1)
				y1 := rx.sID(order[i+1])
				// Lower bound first: the move cannot win unless it wins
				// on base costs.
				lb := rx.tm.baseTime(&pts[x1], &pts[x2])
				if !(lb < old-eps) {
					return false
				}
				if j+1 < m {
					lb += rx.tm.baseTime(&pts[y1], &pts[rx.sID(order[j+1])])
				} else if end != nil {
					lb += rx.tm.baseTime(&pts[y1], &pts[rx.endID])
				}
				if !(lb < old-eps) {
					return false
				}
				nw := rx.cost(x1, x2)
				if j+1 < m {
					nw += rx.cost(y1, rx.sID(order[j+1]))
				} else if end != nil {
					nw += rx.cost(y1, rx.endID)
				}
				if nw < old-eps {
					rx.reverse(i+1, j)
					return true
				}
				return false
			}
			// x1's neighbours that are exits of a run at j (the start's
			// nearest run endpoints after RestartRuns).
			list := startNbr
			if i >= 0 {
				ep := rx.eID(order[i])
				list = nbr[off[ep]:off[ep+1]]
			}
			for _, q := range list {
				if rx.isEnd(q) && tryJ(int(pos[q>>1])) {
					improved = true
					break
				}
			}
			// Tail reversal (j = m−1) is always a candidate.
			if tryJ(m - 1) {
				improved = true
			}
			if i+1 < m {
				// y1's neighbours that are entries of a run at j+1.
				ep := rx.sID(order[i+1])
				for _, q := range nbr[off[ep]:off[ep+1]] {
					if !rx.isEnd(q) {
						if j := int(pos[q>>1]) - 1; j > i && tryJ(j) {
							improved = true
							break
						}
					}
				}
			}
			if rx.clock == clock0 {
				seen2[i+1] = rx.clock
			}
		}
		// Or-opt: move positions p..p+L−1 between q and q+1.
		for L := 1; L <= 3; L++ {
			for p := 0; p+L <= m; p++ {
				segS := rx.sID(order[p])
				segE := rx.eID(order[p+L-1])
				// frontOnly: since the scan was seen only the start point
				// changed, which (p > 0) only the insertion in front of
				// position 0 reads; the other insertions still gain
				// nothing.
				frontOnly := false
				if t := seenO[(L-1)*m+p]; t >= 0 {
					same := t >= rx.lastTouch
					if !same {
						same = rx.chgAt(0) <= t
						for q := max(p-1, 0); q <= p+L && same; q++ {
							same = rx.chgAt(q) <= t
						}
						same = same && !rx.nbrChanged(segS, t) && !rx.nbrChanged(segE, t)
					}
					if same && rx.chgAt(-1) <= t {
						continue
					}
					frontOnly = same && p > 0
				}
				seenO[(L-1)*m+p] = rx.clock // no move (reset below if one is made)
				prevE := rx.exitAt(p - 1)
				// removeGain is decreasing in the cost of the new gap:
				// its base gives an upper bound.
				kept := rx.curGap(p) + rx.curGap(p+L)
				if kept-rx.gapBase(prevE, p+L) <= eps {
					continue
				}
				removeGain := kept - rx.gap(prevE, p+L)
				if removeGain <= eps {
					continue
				}
				bestQ, bestRev, bestD := -2, false, eps
				consider := func(q int) { // insert after position q (q ∉ [p−1, p+L−1])
					if q >= p-1 && q <= p+L-1 || q < -1 || q >= m {
						return
					}
					x := rx.exitAt(q)
					old := rx.curGap(q + 1)
					// d is decreasing in fwd (rev): bound it with base
					// costs before evaluating crossing terms.
					// (one term first, then both, then the exact value).
					if b := rx.tm.baseTime(&pts[x], &pts[segS]); removeGain-(b-old) > bestD && removeGain-((b+rx.gapBase(segE, q+1))-old) > bestD {
						fwd := rx.cost(x, segS) + rx.gap(segE, q+1)
						if d := removeGain - (fwd - old); d > bestD {
							bestQ, bestRev, bestD = q, false, d
						}
					}
					if b := rx.tm.baseTime(&pts[x], &pts[segE]); removeGain-(b-old) > bestD && removeGain-((b+rx.gapBase(segS, q+1))-old) > bestD {
						rev := rx.cost(x, segE) + rx.gap(segS, q+1)
						if d := removeGain - (rev - old); d > bestD {
							bestQ, bestRev, bestD = q, true, d
						}
					}
				}
				consider(-1)
				for _, ep := range [2]int32{segS, segE} {
					if frontOnly {
						break
					}
					for _, q := range nbr[off[ep]:off[ep+1]] {
						qp := int(pos[q>>1])
						if rx.isEnd(q) {
							consider(qp)
						} else {
							consider(qp - 1)
						}
					}
				}
				if bestQ == -2 {
					continue
				}
				// Apply: move the chain (optionally reversed) after
				// bestQ by rotating the positions in between.
				var chain [3]int32
				copy(chain[:L], order[p:p+L])
				if bestRev {
					for a, b := 0, L-1; a < b; a, b = a+1, b-1 {
						chain[a], chain[b] = chain[b], chain[a]
					}
					for _, r := range chain[:L] {
						rx.flip(r)
					}
				}
				lo, hi := 0, 0
				if bestQ > p+L-1 { // move right: shift p+L..bestQ left by L
					copy(order[p:], order[p+L:bestQ+1])
					copy(order[bestQ-L+1:], chain[:L])
					lo, hi = p, bestQ
				} else { // move left: shift bestQ+1..p−1 right by L
					copy(order[bestQ+1+L:p+L], order[bestQ+1:p])
					copy(order[bestQ+1:], chain[:L])
					lo, hi = bestQ+1, p+L-1
				}
				for i := lo; i <= hi; i++ {
					pos[order[i]] = int32(i)
				}
				rx.forget(lo, hi+1)
				rx.touch(lo, hi)
				seenO[(L-1)*m+p] = -1
				improved = true
			}
		}
		if !improved {
			break
		}
	}
	ws.clock, ws.lastTouch = rx.clock, rx.lastTouch
	out := make([]Step, 0, len(steps))
	nb := []int{0}
	for _, r := range order {
		ru := &rs[r]
		if !ru.rev {
			out = append(out, steps[ru.first:ru.last]...)
		} else {
			for i := ru.last - 1; i >= ru.first; i-- {
				s := steps[i]
				if g.Edges[s.Edge].Kind != Fixed {
					s.Rev = !s.Rev
				}
				out = append(out, s)
			}
		}
		nb = append(nb, len(out))
	}
	return g.rotateClosed(start, end, out, nb)
}

// runSearch is the state searchRuns' moves read and change, with the cost
// and bookkeeping helpers as methods (small enough to be inlined where
// the scans call them).
type runSearch struct {
	g                   *Graph
	rs                  []run
	vid, order, pos, rv []int32
	pts                 []Vec
	nbr, off            []int32
	m                   int
	startID, endID      int32
	nV, startKey        int32
	xc                  *crossCache
	tm                  travelModel
	end                 *Vec
	gapMemo             []float64
	clock, lastTouch    int32
	chg, near, startNbr []int32
}

// The cost of a travel between point ids is base + CrossCost. The crossing
// test is the expensive part: it is evaluated only when a move could still
// win on the base costs alone (base is a lower bound), and memoised per
// pair of graph vertices (the start and end anchors get their own keys).
func (rx *runSearch) key(a int32) int32 {
	switch v := rx.vid[a]; {
	case v >= 0:
		return v
	case a == rx.startID:
		return rx.startKey
	default:
		return rx.nV
	}
}

func (rx *runSearch) cost(a, b int32) float64 {
	t, crossing := rx.tm.base(rx.pts[a], rx.pts[b])
	if !crossing {
		return t
	}
	return t + rx.crossing(a, b)
}

// crossing is the memoised CrossCost term of cost.
func (rx *runSearch) crossing(a, b int32) float64 {
	ka, kb := rx.key(a), rx.key(b)
	if ka > kb {
		ka, kb = kb, ka
	}
	k := uint64(ka)<<32 | uint64(uint32(kb))
	x, ok := rx.xc.get(k)
	if !ok {
		x = rx.g.CrossCost(rx.pts[a], rx.pts[b])
		rx.xc.put(k, x)
	}
	return x
}

// rv[r] is rs[r].rev as 0/1 (both are kept up to date).
func (rx *runSearch) sID(r int32) int32 { return 2*r + rx.rv[r] }     // entry of run r
func (rx *runSearch) eID(r int32) int32 { return 2*r + 1 - rx.rv[r] } // exit of run r

func (rx *runSearch) flip(r int32) {
	rx.rs[r].rev = !rx.rs[r].rev
	rx.rv[r] ^= 1
}

// exitAt(p) is the exit of the run at position p (p = −1: start).
func (rx *runSearch) exitAt(p int) int32 {
	if p < 0 {
		return rx.startID
	}
	return rx.eID(rx.order[p])
}

// gap is the travel from point x to the entry of position q.
func (rx *runSearch) gap(x int32, q int) float64 {
	if q >= rx.m {
		if rx.end != nil {
			return rx.cost(x, rx.endID)
		}
		return 0
	}
	return rx.cost(x, rx.sID(rx.order[q]))
}

// gapBase is gap without the crossing term (a lower bound of it).
func (rx *runSearch) gapBase(x int32, q int) float64 {
	if q >= rx.m {
		if rx.end != nil {
			return rx.tm.baseTime(&rx.pts[x], &rx.pts[rx.endID])
		}
		return 0
	}
	return rx.tm.baseTime(&rx.pts[x], &rx.pts[rx.sID(rx.order[q])])
}

// curGap(q) is gap(exitAt(q−1), q) for the current order, memoised in
// gapMemo (NaN = not known); moves forget the gaps they change.
func (rx *runSearch) curGap(q int) float64 {
	if v := rx.gapMemo[q]; v == v {
		return v
	}
	return rx.newGap(q)
}

func (rx *runSearch) newGap(q int) float64 {
	v := rx.gap(rx.exitAt(q-1), q)
	rx.gapMemo[q] = v
	return v
}

func (rx *runSearch) forget(lo, hi int) {
	for q := max(lo, 0); q <= min(hi, rx.m); q++ {
		rx.gapMemo[q] = math.NaN()
	}
}

// isEnd reports whether endpoint ep is the current exit of its run.
func (rx *runSearch) isEnd(ep int32) bool { return ep&1 != rx.rv[ep>>1] }

// Don't-look bookkeeping, exact: chg[q+1] is the clock of the last move
// that changed the run at position q (or its direction), chg[0] that of
// the start point (RestartRuns), chg[m+1] = 0 that of the end anchor. A
// scan of 2-opt index i or Or-opt segment (L, p) that applied no move is
// remembered (seen); it is skipped while no position it reads has changed
// since, because it would read the same points and find no move again.
// near[q] = max(chgAt(q−1), chgAt(q), chgAt(q+1)) for q in [0, m): the
// clock only grows, so a change sets it for the three positions around.

// touch notes that positions lo..hi changed.
func (rx *runSearch) touch(lo, hi int) {
	rx.clock++
	rx.lastTouch = rx.clock
	lo, hi = max(lo, 0), min(hi, rx.m-1)
	for q := lo; q <= hi; q++ {
		rx.chg[q+1] = rx.clock
	}
	for q := max(lo-1, 0); q <= min(hi+1, rx.m-1); q++ {
		rx.near[q] = rx.clock
	}
}

func (rx *runSearch) chgAt(q int) int32 { return rx.chg[q+1] } // q ∈ [−1, m]

// nbrChanged reports a change since t at any position a neighbour of ep
// sits at, or next to it (where the scans look for candidates).
func (rx *runSearch) nbrChanged(ep int32, t int32) bool {
	list := rx.startNbr
	if ep != rx.startID {
		list = rx.nbr[rx.off[ep]:rx.off[ep+1]]
	}
	for _, q := range list {
		// positions qp−1, qp, qp+1 of the run at qp = pos[q/2]
		if rx.near[rx.pos[q>>1]] > t {
			return true
		}
	}
	return false
}

// reverse reverses positions i..j (each run reversed too).
func (rx *runSearch) reverse(i, j int) {
	rx.forget(i, j+1)
	rx.touch(i, j)
	order, pos := rx.order, rx.pos
	for i < j {
		order[i], order[j] = order[j], order[i]
		rx.flip(order[i])
		rx.flip(order[j])
		pos[order[i]] = int32(i)
		pos[order[j]] = int32(j)
		i++
		j--
	}
	if i == j {
		rx.flip(order[i])
	}
}

// rotateClosed rotates every closed run (first vertex == last vertex) of
// the plan to the vertex minimising its entry travel plus its exit travel.
// bounds are the run boundaries of steps.
func (g *Graph) rotateClosed(start Vec, end *Vec, steps []Step, bounds []int) []Step {
	cur := start
	for k := 0; k+1 < len(bounds); k++ {
		f, l := bounds[k], bounds[k+1]
		if l-f >= 2 && g.From(steps[f]) == g.To(steps[l-1]) {
			var next Vec
			hasNext := l < len(steps) || end != nil
			if l < len(steps) {
				next = g.Pts[g.From(steps[l])]
			} else if end != nil {
				next = *end
			}
			best, bestD := 0, -1.0
			for i := f; i < l; i++ {
				p := g.Pts[g.From(steps[i])]
				d := dist(cur, p)
				if hasNext {
					d += dist(p, next)
				}
				if bestD < 0 || d < bestD-1e-9 {
					best, bestD = i-f, d
				}
			}
			if best > 0 {
				rot := make([]Step, 0, l-f)
				rot = append(rot, steps[f+best:l]...)
				rot = append(rot, steps[f:f+best]...)
				copy(steps[f:l], rot)
			}
		}
		cur = g.Pts[g.To(steps[l-1])]
	}
	return steps
}

// nearestK appends to out the indices of the k points of pts nearest p
// (nearest first, ties by index).
func nearestK(pts []Vec, p Vec, k int, out []int32) []int32 {
	type cand struct {
		d float64
		j int32
	}
	var buf [16]cand
	k = min(k, len(buf))
	cs := buf[:0]
	for j := range pts {
		d := dist(p, pts[j])
		if len(cs) == k && d >= cs[k-1].d {
			continue
		}
		if len(cs) < k {
			cs = append(cs, cand{})
		}
		i := len(cs) - 1
		for i > 0 && cs[i-1].d > d {
			cs[i] = cs[i-1]
			i--
		}
		cs[i] = cand{d, int32(j)}
	}
	for _, c := range cs {
		out = append(out, c.j)
	}
	return out
}
