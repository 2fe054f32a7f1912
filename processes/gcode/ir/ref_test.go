package ir

import "math"

// improveRunsRef is ImproveRuns as first written (plain 2-opt/Or-opt scans,
// every candidate costed in full, a Go map as memo): the reference that
// TestImproveRunsMatchesReference holds the optimised version to. With
// startNbr > 0 the 2-opt scan from the start also tries the exits among
// the startNbr run endpoints nearest the start, as RestartRuns' does
// (TestRestartRunsMatchesReference).
func (g *Graph) improveRunsRef(start Vec, end *Vec, steps []Step, startNbr int) []Step {
	bounds := g.Runs(steps)
	m := len(bounds) - 1
	if m < 2 {
		return g.rotateClosed(start, end, steps, bounds)
	}
	rs := make([]run, m)
	vid := make([]int32, 2*m+2) // graph vertex of each point id (−1: start/end)
	for k := 0; k < m; k++ {
		f, l := bounds[k], bounds[k+1]
		rs[k] = run{first: f, last: l, a: g.Pts[g.From(steps[f])], b: g.Pts[g.To(steps[l-1])]}
		vid[2*k], vid[2*k+1] = g.From(steps[f]), g.To(steps[l-1])
	}
	vid[2*m], vid[2*m+1] = -1, -1
	// order[pos] = run index; pos[run] = position.
	order := make([]int32, m)
	pos := make([]int32, m)
	for k := range order {
		order[k] = int32(k)
		pos[k] = int32(k)
	}
	// Points by id: endpoint 2r is rs[r].a, 2r+1 is rs[r].b; then the
	// start and the end anchor.
	startID, endID := int32(2*m), int32(2*m+1)
	pts := make([]Vec, 2*m+2)
	for r := range rs {
		pts[2*r] = rs[r].a
		pts[2*r+1] = rs[r].b
	}
	pts[startID] = start
	if end != nil {
		pts[endID] = *end
	}
	var grid pointGrid
	grid.build(pts[:2*m])
	const k = 8
	nbr := make([]int32, 0, 2*m*k)
	off := make([]int32, 2*m+1)
	for i := 0; i < 2*m; i++ {
		nbr = grid.knn(int32(i), k, nbr)
		off[i+1] = int32(len(nbr))
	}
	// cost between point ids, cached when it involves a crossing test.
	var cache map[uint64]float64
	if g.CrossCost != nil {
		cache = make(map[uint64]float64, 8*m)
	}
	cost := func(a, b int32) float64 {
		va, vb := vid[a], vid[b]
		if cache == nil || va < 0 || vb < 0 {
			return g.travelCost(pts[a], pts[b])
		}
		if va > vb {
			va, vb = vb, va
		}
		key := uint64(va)<<32 | uint64(uint32(vb))
		if v, ok := cache[key]; ok {
			return v
		}
		v := g.travelCost(pts[a], pts[b])
		cache[key] = v
		return v
	}
	sID := func(r int32) int32 { // entry of run r
		if rs[r].rev {
			return 2*r + 1
		}
		return 2 * r
	}
	eID := func(r int32) int32 { // exit of run r
		if rs[r].rev {
			return 2 * r
		}
		return 2*r + 1
	}
	// exitAt(p) is the exit of the run at position p (p = −1: start).
	exitAt := func(p int) int32 {
		if p < 0 {
			return startID
		}
		return eID(order[p])
	}
	// gap is the travel from point x to the entry of position q.
	gap := func(x int32, q int) float64 {
		if q >= m {
			if end != nil {
				return cost(x, endID)
			}
			return 0
		}
		return cost(x, sID(order[q]))
	}
	isEnd := func(ep int32) bool { // endpoint ep is the current exit of its run
		r := &rs[ep/2]
		return (ep%2 == 1) != r.rev
	}
	reverse := func(i, j int) { // reverse positions i..j
		for i < j {
			order[i], order[j] = order[j], order[i]
			rs[order[i]].rev = !rs[order[i]].rev
			rs[order[j]].rev = !rs[order[j]].rev
			pos[order[i]] = int32(i)
			pos[order[j]] = int32(j)
			i++
			j--
		}
		if i == j {
			rs[order[i]].rev = !rs[order[i]].rev
		}
	}
	eps := 1e-3 // mm, or 10 µs when the cost is time
	if g.TravelMMS > 0 && g.TravelAccel > 0 {
		eps = 1e-5
	}
	for pass := 0; pass < 50; pass++ {
		improved := false
		// 2-opt: travels (x1 = exitAt(i) → y1 = entry(i+1)) and (x2 =
		// exitAt(j) → y2 = entry(j+1)) become x1→x2 and y1→y2, reversing
		// positions i+1..j.
		for i := -1; i < m-1; i++ {
			x1 := exitAt(i)
			tryJ := func(j int) bool {
				if j <= i || j >= m {
					return false
				}
				x2 := exitAt(j)
				old := gap(x1, i+1) + gap(x2, j+1)
				y1 := sID(order[i+1])
				nw := cost(x1, x2)
				if j+1 < m {
					nw += cost(y1, sID(order[j+1]))
				} else if end != nil {
					nw += cost(y1, endID)
				}
				if nw < old-eps {
					reverse(i+1, j)
					return true
				}
				return false
			}
			var list []int32
			if i >= 0 {
				ep := eID(order[i])
				list = nbr[off[ep]:off[ep+1]]
			} else if startNbr > 0 {
				list = nearestK(pts[:2*m], start, startNbr, nil)
			}
			for _, q := range list {
				if isEnd(q) && tryJ(int(pos[q/2])) {
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
				ep := sID(order[i+1])
				for _, q := range nbr[off[ep]:off[ep+1]] {
					if !isEnd(q) {
						if j := int(pos[q/2]) - 1; j > i && tryJ(j) {
							improved = true
							break
						}
					}
				}
			}
		}
		// Or-opt: move positions p..p+L−1 between q and q+1.
		for L := 1; L <= 3; L++ {
			for p := 0; p+L <= m; p++ {
				segS := sID(order[p])
				segE := eID(order[p+L-1])
				prevE := exitAt(p - 1)
				removeGain := gap(prevE, p) + gap(segE, p+L) - gap(prevE, p+L)
				if removeGain <= eps {
					continue
				}
				bestQ, bestRev, bestD := -2, false, eps
				consider := func(q int) { // insert after position q (q ∉ [p−1, p+L−1])
					if q >= p-1 && q <= p+L-1 || q < -1 || q >= m {
						return
					}
					x := exitAt(q)
					base := gap(x, q+1)
					fwd := cost(x, segS) + gap(segE, q+1)
					rev := cost(x, segE) + gap(segS, q+1)
					if d := removeGain - (fwd - base); d > bestD {
						bestQ, bestRev, bestD = q, false, d
					}
					if d := removeGain - (rev - base); d > bestD {
						bestQ, bestRev, bestD = q, true, d
					}
				}
				consider(-1)
				for _, ep := range [2]int32{segS, segE} {
					for _, q := range nbr[off[ep]:off[ep+1]] {
						qp := int(pos[q/2])
						if isEnd(q) {
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
						rs[r].rev = !rs[r].rev
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
				improved = true
			}
		}
		if !improved {
			break
		}
	}
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

// improvePairsRef is improvePairs as first written (every point scanned in
// every pass), the reference for TestImprovePairsMatchesReference.
func improvePairsRef(pts []Vec, partner []int32) {
	n := len(pts)
	const k = 10
	var grid pointGrid
	grid.build(pts)
	nbr := make([]int32, 0, n*k)
	off := make([]int32, n+1)
	for i := 0; i < n; i++ {
		nbr = grid.knn(int32(i), k, nbr)
		off[i+1] = int32(len(nbr))
	}
	const eps = 1e-9
	for pass := 0; pass < 100; pass++ {
		improved := false
		for a := int32(0); int(a) < n; a++ {
			b := partner[a]
			if b < 0 {
				continue
			}
			for _, c := range nbr[off[a]:off[a+1]] {
				b = partner[a]
				d := partner[c]
				if c == b || d < 0 || c == a {
					continue
				}
				cur := dist(pts[a], pts[b]) + dist(pts[c], pts[d])
				// {a,c},{b,d}
				alt := dist(pts[a], pts[c]) + dist(pts[b], pts[d])
				if alt < cur-eps && !math.IsNaN(alt) {
					partner[a], partner[c] = c, a
					partner[b], partner[d] = d, b
					improved = true
				}
			}
		}
		if !improved {
			break
		}
	}
}
