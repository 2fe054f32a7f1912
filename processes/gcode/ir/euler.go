package ir

import (
	"math"
)

// PlanOptions configure Plan.
type PlanOptions struct {
	Matching Matching
	// Improve runs the 2-opt / Or-opt pass over the runs of the tour
	// (ImproveRuns) after the Euler construction.
	Improve bool
	// End, when HasEnd, is where the head goes after the plan: the travel
	// from the last run to End counts in ImproveRuns.
	End    Vec
	HasEnd bool
}

// PlanStats describe how a plan was built.
type PlanStats struct {
	OddVertices   int
	MatchingMM    float64 // total length of the accessory edges
	Components    int     // connected components of the extrusion graph
	AugComponents int     // components after adding accessory edges
	TravelEulerMM float64 // travel of the Euler construction alone
	TravelMM      float64 // travel of the returned plan
}

// Plan orders every edge of g once (Li 2020): odd vertices are paired by
// accessory edges (opt.Matching), each connected component of the augmented
// graph gets an Euler circuit (Hierholzer, next edge by same settings then
// least direction change, real edges before accessory ones), the longest
// accessory edge of each circuit is dropped to open it, and the pieces are
// chained from start by nearest next vertex (either end of an open piece,
// any vertex of a closed one). Consecutive steps that do not share a vertex
// are travels. With opt.Improve the runs are then reordered by ImproveRuns.
// Plan is Tours (everything before the chaining) followed by Chain.
func (g *Graph) Plan(start Vec, opt PlanOptions) ([]Step, PlanStats) {
	return g.Chain(start, g.Tours(opt), opt)
}

// piece is an Euler circuit, or a run of one cut at accessory edges.
type piece struct {
	steps  []Step // real edges only; travels implied
	lo, hi int32  // steps is tourScratch.steps[lo:hi]
	closed bool
}

// acc is an accessory edge between odd vertices u and v.
type acc struct{ u, v int32 }

// frame is a Hierholzer stack entry: at v, arrived by edge e from vertex from.
type frame struct {
	v, e, from int32
}

// tourScratch is the memory of Tours and Chain, kept in the graph. The
// pieces of a Tours result live in it until the next Tours call.
type tourScratch struct {
	odd     []int32
	oddPts  []Vec
	accs    []acc
	pieces  []piece
	steps   []Step
	stack   []frame
	circ    []Step
	circAcc []bool
	cands   []chainCand
	cpts    []Vec
}

// chainCand is a way into a piece for Chain: at step index at, or at the
// end running backwards (rev, open pieces).
type chainCand struct {
	piece int32
	at    int32
	rev   bool
}

// Tours is the part of a plan that does not depend on where the head
// starts (see Plan): odd vertices paired, one Euler circuit per augmented
// component, circuits opened or cut at accessory edges. Chain finishes the
// plan from a start point, so the two halves can run in different
// pipeline stages.
type Tours struct {
	pieces []piece
	st     PlanStats
}

// Tours computes the start-independent pieces of Plan.
func (g *Graph) Tours(opt PlanOptions) Tours {
	var st PlanStats
	nE := len(g.Edges)
	if nE == 0 {
		return Tours{st: st}
	}
	deg := g.i32(6, len(g.Pts))
	for _, e := range g.Edges {
		deg[e.U]++
		deg[e.V]++
	}
	ws := &g.tourWS
	odd, oddPts := ws.odd[:0], ws.oddPts[:0]
	for v, d := range deg {
		if d%2 == 1 {
			odd = append(odd, int32(v))
			oddPts = append(oddPts, g.Pts[v])
		}
	}
	ws.odd, ws.oddPts = odd, oddPts
	st.OddVertices = len(odd)
	partner, mcost := Match(oddPts, opt.Matching)
	st.MatchingMM = mcost
	// Accessory edges: nE + k.
	accs := ws.accs[:0]
	for i, p := range partner {
		if p > int32(i) {
			accs = append(accs, acc{odd[i], odd[p]})
		}
	}
	ws.accs = accs
	nA := len(accs)
	total := nE + nA
	// ends[2e], ends[2e+1]: the vertices of edge e (accessory edges too).
	ends := g.i32(7, 2*total)
	for e := range g.Edges {
		ends[2*e], ends[2*e+1] = g.Edges[e].U, g.Edges[e].V
	}
	for k, a := range accs {
		ends[2*(nE+k)], ends[2*(nE+k)+1] = a.u, a.v
	}
	eu := func(e int32) int32 { return ends[2*e] }
	ev := func(e int32) int32 { return ends[2*e+1] }
	// Adjacency (CSR), self-loops listed twice.
	nV := len(g.Pts)
	adjStart := g.i32(0, nV+1)
	for e := 0; e < total; e++ {
		adjStart[eu(int32(e))+1]++
		adjStart[ev(int32(e))+1]++
	}
	for v := 0; v < nV; v++ {
		adjStart[v+1] += adjStart[v]
	}
	adj := g.i32(1, int(adjStart[nV]))
	fill := g.i32(2, nV)
	copy(fill, adjStart[:nV])
	for e := 0; e < total; e++ {
		u, v := eu(int32(e)), ev(int32(e))
		adj[fill[u]] = int32(e)
		fill[u]++
		adj[fill[v]] = int32(e)
		fill[v]++
	}
	adjLen := g.i32(3, nV) // live entries per vertex
	for v := 0; v < nV; v++ {
		adjLen[v] = adjStart[v+1] - adjStart[v]
	}
	used := g.bools(0, total)

	// Direction helpers.
	outDir := func(e int32, from int32) Vec {
		if int(e) >= nE {
			o := eu(e)
			if o == from {
				o = ev(e)
			}
			return unit(g.Pts[o].sub(g.Pts[from]))
		}
		ed := &g.Edges[e]
		if ed.U == from {
			return ed.Out
		}
		return Vec{-ed.In[0], -ed.In[1]}
	}
	inDir := func(e int32, from int32) Vec { // arrival tangent after e from 'from'
		if int(e) >= nE {
			o := eu(e)
			if o == from {
				o = ev(e)
			}
			return unit(g.Pts[o].sub(g.Pts[from]))
		}
		ed := &g.Edges[e]
		if ed.U == from {
			return ed.In
		}
		return Vec{-ed.Out[0], -ed.Out[1]}
	}
	// pick chooses the next unused edge at v after arriving by edge a.
	pick := func(v int32, a int32, aFrom int32) int32 {
		s := adjStart[v]
		best := int32(-1)
		var bestReal, bestKey bool
		bestDot := math.Inf(-1)
		var din Vec
		var key uint64
		haveIn := a >= 0
		if haveIn {
			din = inDir(a, aFrom)
			if int(a) < nE {
				key = g.Edges[a].Key
			} else {
				haveIn = false // after a travel, any settings will do
				din = Vec{}
			}
		}
		for k := int32(0); k < adjLen[v]; {
			e := adj[s+k]
			if used[e] {
				adjLen[v]--
				adj[s+k] = adj[s+adjLen[v]]
				adj[s+adjLen[v]] = e
				continue
			}
			k++
			real := int(e) < nE
			same := haveIn && real && g.Edges[e].Key == key
			d := 0.0
			if a >= 0 {
				d = din.dot(outDir(e, v))
			}
			better := false
			switch {
			case best < 0:
				better = true
			case real != bestReal:
				better = real
			case same != bestKey:
				better = same
			case d != bestDot:
				better = d > bestDot
			default:
				better = e < best
			}
			if better {
				best, bestReal, bestKey, bestDot = e, real, same, d
			}
		}
		return best
	}

	// Augmented components (union-find).
	parent := g.i32(4, nV)
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	// Components of the real edges alone (as Components), counted when
	// they are all joined, before the accessory edges.
	countComponents := func() {
		counted := g.bools(2, nV)
		for i := range g.Edges {
			if r := find(g.Edges[i].U); !counted[r] {
				counted[r] = true
				st.Components++
			}
		}
	}
	for e := 0; e < total; e++ {
		if e == nE {
			countComponents()
		}
		a, b := find(eu(int32(e))), find(ev(int32(e)))
		if a != b {
			parent[a] = b
		}
	}
	if total == nE {
		countComponents()
	}

	// Circuits.
	// Pieces are spans of one slab (ws.steps), turned into slices at the
	// end, when the slab no longer moves.
	pieces := ws.pieces[:0]
	slab := ws.steps[:0]
	seenRoot := g.bools(1, nV)
	stack, circ, circAcc := ws.stack[:0], ws.circ[:0], ws.circAcc[:0]
	for e0 := 0; e0 < nE; e0++ {
		root := find(g.Edges[e0].U)
		if seenRoot[root] {
			continue
		}
		seenRoot[root] = true
		st.AugComponents++
		// Hierholzer from the start of the first edge of the component.
		stack = append(stack[:0], frame{g.Edges[e0].U, -1, -1})
		circ = circ[:0]
		circAcc = circAcc[:0]
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			e := pick(top.v, top.e, top.from)
			if e < 0 {
				stack = stack[:len(stack)-1]
				if top.e >= 0 {
					circ = append(circ, Step{Edge: top.e, Rev: top.from != eu(top.e)})
					circAcc = append(circAcc, int(top.e) >= nE)
				}
				continue
			}
			used[e] = true
			w := eu(e)
			if w == top.v {
				w = ev(e)
			}
			stack = append(stack, frame{w, e, top.v})
		}
		// circ is reversed.
		for i, j := 0, len(circ)-1; i < j; i, j = i+1, j-1 {
			circ[i], circ[j] = circ[j], circ[i]
			circAcc[i], circAcc[j] = circAcc[j], circAcc[i]
		}
		// Li 2020: open the circuit at its longest accessory edge. With
		// opt.Improve the circuit is cut at every accessory edge instead:
		// the runs are then chained and reordered as units.
		cut := -1
		longest := -1.0
		for i, isAcc := range circAcc {
			if isAcc {
				l := dist(g.Pts[eu(circ[i].Edge)], g.Pts[ev(circ[i].Edge)])
				if l > longest {
					longest, cut = l, i
				}
			}
		}
		n := len(circ)
		if cut < 0 {
			pieces = append(pieces, piece{lo: int32(len(slab)), hi: int32(len(slab) + len(circ)), closed: true})
			slab = append(slab, circ...)
			continue
		}
		p := piece{lo: int32(len(slab))}
		for k := 1; k <= n; k++ {
			i := (cut + k) % n
			if circAcc[i] {
				if opt.Improve && int32(len(slab)) > p.lo {
					p.hi = int32(len(slab))
					pieces = append(pieces, p)
					p = piece{lo: int32(len(slab))}
				}
				continue
			}
			s := circ[i]
			if g.Edges[s.Edge].Kind == Fixed {
				s.Rev = false
			}
			slab = append(slab, s)
		}
		if int32(len(slab)) > p.lo {
			p.hi = int32(len(slab))
			pieces = append(pieces, p)
		}
	}
	ws.stack, ws.circ, ws.circAcc, ws.steps, ws.pieces = stack, circ, circAcc, slab, pieces
	for i := range pieces {
		p := &pieces[i]
		p.steps = slab[p.lo:p.hi:p.hi]
	}
	for i := range pieces {
		p := &pieces[i]
		if p.closed {
			continue
		}
		// A run may close on itself (e.g. a loop between two accessory
		// edges at the same vertex): rotatable like a circuit.
		if len(p.steps) > 1 && g.From(p.steps[0]) == g.To(p.steps[len(p.steps)-1]) {
			p.closed = true
		}
	}
	return Tours{pieces: pieces, st: st}
}

// Chain finishes a plan (see Plan) from start: the pieces of t are chained
// by nearest next vertex and, with opt.Improve, the runs are reordered by
// ImproveRuns. t must come from Tours on g, unchanged since.
func (g *Graph) Chain(start Vec, t Tours, opt PlanOptions) ([]Step, PlanStats) {
	st := t.st
	pieces := t.pieces
	nE := len(g.Edges)
	if nE == 0 {
		return nil, st
	}

	// Chain pieces by nearest next vertex. Candidates: both ends of an open
	// piece, every vertex of a closed one.
	type cand = chainCand
	ws := &g.tourWS
	cands, cpts := ws.cands[:0], ws.cpts[:0]
	candStart := g.i32(5, len(pieces)+1)
	for pi, p := range pieces {
		candStart[pi] = int32(len(cands))
		if p.closed {
			for k, s := range p.steps {
				if k > 0 && g.From(s) == g.From(p.steps[k-1]) {
					continue
				}
				cands = append(cands, cand{int32(pi), int32(k), false})
				cpts = append(cpts, g.Pts[g.From(s)])
			}
			continue
		}
		cands = append(cands, cand{int32(pi), 0, false})
		cpts = append(cpts, g.Pts[g.From(p.steps[0])])
		cands = append(cands, cand{int32(pi), 0, true})
		cpts = append(cpts, g.Pts[g.To(p.steps[len(p.steps)-1])])
	}
	candStart[len(pieces)] = int32(len(cands))
	ws.cands, ws.cpts = cands, cpts
	grid := &g.grid
	grid.build(cpts)
	donePiece := g.bools(2, len(pieces))
	out := make([]Step, 0, nE)
	cur := start
	for left := len(pieces); left > 0; left-- {
		ci := grid.nearest(cur, -1)
		if ci < 0 {
			break
		}
		c := cands[ci]
		donePiece[c.piece] = true
		for k := candStart[c.piece]; k < candStart[c.piece+1]; k++ {
			grid.remove(k)
		}
		p := pieces[c.piece]
		switch {
		case p.closed:
			n := len(p.steps)
			for k := 0; k < n; k++ {
				out = append(out, p.steps[(int(c.at)+k)%n])
			}
		case c.rev:
			for k := len(p.steps) - 1; k >= 0; k-- {
				s := p.steps[k]
				if g.Edges[s.Edge].Kind != Fixed {
					s.Rev = !s.Rev
				}
				out = append(out, s)
			}
		default:
			out = append(out, p.steps...)
		}
		cur = g.Pts[g.To(out[len(out)-1])]
	}
	st.TravelEulerMM = g.TravelMM(start, out)
	if opt.Improve {
		var end *Vec
		if opt.HasEnd {
			end = &opt.End
		}
		out = g.ImproveRuns(start, end, out)
	}
	st.TravelMM = g.TravelMM(start, out)
	return out, st
}

// Runs splits a plan into maximal runs of connected steps: run k is
// steps[b[k]:b[k+1]].
func (g *Graph) Runs(steps []Step) []int {
	b := []int{0}
	for i := 1; i < len(steps); i++ {
		if g.From(steps[i]) != g.To(steps[i-1]) {
			b = append(b, i)
		}
	}
	return append(b, len(steps))
}

// CheckPlan reports whether steps use every edge exactly once.
func (g *Graph) CheckPlan(steps []Step) bool {
	if len(steps) != len(g.Edges) {
		return false
	}
	seen := g.bools(0, len(g.Edges))
	for _, s := range steps {
		if s.Edge < 0 || int(s.Edge) >= len(seen) || seen[s.Edge] {
			return false
		}
		if g.Edges[s.Edge].Kind == Fixed && s.Rev {
			return false
		}
		seen[s.Edge] = true
	}
	return true
}
