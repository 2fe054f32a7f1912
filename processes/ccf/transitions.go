package ccf

import (
	"fmt"
	"math"

	"fabcell/planners/graph"
	"fabcell/processes/ccf/matching"
)

// transitionTour is the "matched" stroke construction of the euler
// baseline (ccf.euler_turns: matched), an alternative to Hierholzer's
// walk: it chooses at every node how the stroke passes through it, then
// joins the resulting closed trails.
//
//  1. The Eulerian multigraph (edge e present mult[e] times; for an open
//     trail a virtual arc joins the two ends so every degree is even) has
//     at each node v an even number of arc ends. A transition pairs two of
//     them: the stroke arrives along one and leaves along the other, with
//     turning penalty pen (0 next to the virtual arc, where the stroke
//     starts or ends). At every node the pairing of least total penalty is
//     an exact minimum-weight perfect matching of its arc ends (package
//     matching; nodes have at most a few dozen ends).
//  2. The transitions split the multigraph into closed trails. Two trails
//     that pass through the same node are joined by re-pairing one
//     transition of each ((a,b),(c,d) → (a,c),(b,d) or (a,d),(b,c)); each
//     round applies the cheapest such join anywhere (cost = new − old
//     penalty) until one closed trail is left.
//  3. The closed trail is cut at the virtual arc (open) or returned as a
//     circuit.
//
// It returns the node sequence (closed: first == last).
func transitionTour(g *graph.Graph, mult []int, ends []int, pen func(p, v, w int) float64) ([]int, error) {
	type arc struct{ u, v, e int } // e = −1: virtual
	var arcs []arc
	for e, m := range mult {
		for k := 0; k < m; k++ {
			arcs = append(arcs, arc{g.Edges[e].A, g.Edges[e].B, e})
		}
	}
	if len(ends) == 2 {
		arcs = append(arcs, arc{ends[0], ends[1], -1})
	} else if len(ends) != 0 {
		return nil, fmt.Errorf("euler: internal error: %d stroke ends", len(ends))
	}
	// slot 2a+side is the end of arc a at node u (side 0) or v (side 1)
	nodeOf := func(s int) int {
		if s&1 == 0 {
			return arcs[s/2].u
		}
		return arcs[s/2].v
	}
	farOf := func(s int) int { return nodeOf(s ^ 1) }
	virtual := func(s int) bool { return arcs[s/2].e < 0 }
	slots := make([][]int, g.NumNodes())
	for s := 0; s < 2*len(arcs); s++ {
		slots[nodeOf(s)] = append(slots[nodeOf(s)], s)
	}
	// cost of passing v arriving through slot a and leaving through slot b
	cost := func(a, b int) float64 {
		if virtual(a) || virtual(b) {
			return 0
		}
		return pen(farOf(a), nodeOf(a), farOf(b))
	}
	partner := make([]int, 2*len(arcs))
	for v, ss := range slots {
		if len(ss)%2 == 1 {
			return nil, fmt.Errorf("euler: internal error: node %d has odd degree %d in the Eulerian multigraph", v, len(ss))
		}
		if len(ss) == 0 {
			continue
		}
		var es []matching.Edge
		for i := range ss {
			for j := i + 1; j < len(ss); j++ {
				es = append(es, matching.Edge{I: i, J: j, W: int64(math.Round(cost(ss[i], ss[j]) * 1e6))})
			}
		}
		mate, _, err := matching.MinWeightPerfect(len(ss), es)
		if err != nil {
			return nil, fmt.Errorf("euler: transitions at node %d: %w", v, err)
		}
		for i, j := range mate {
			partner[ss[i]] = ss[j]
		}
	}
	// label the closed trails
	trail := make([]int, 2*len(arcs))
	for i := range trail {
		trail[i] = -1
	}
	label := func(s0, id int) {
		for s := s0; ; {
			trail[s], trail[s^1] = id, id
			s = partner[s^1]
			if s == s0 {
				return
			}
		}
	}
	ntrails := 0
	for s := range trail {
		if trail[s] < 0 {
			label(s, ntrails)
			ntrails++
		}
	}
	// join trails: cheapest re-pairing first
	for ; ntrails > 1; ntrails-- {
		bestC := math.Inf(1)
		var ba, bb, bc, bd int
		for _, ss := range slots {
			for i, a := range ss {
				b := partner[a]
				if b < a {
					continue
				}
				for _, c := range ss[i+1:] {
					d := partner[c]
					if d < c || trail[c] == trail[a] {
						continue
					}
					old := cost(a, b) + cost(c, d)
					if x := cost(a, c) + cost(b, d) - old; x < bestC {
						bestC, ba, bb, bc, bd = x, a, b, c, d
					}
					if x := cost(a, d) + cost(b, c) - old; x < bestC {
						bestC, ba, bb, bc, bd = x, a, b, d, c
					}
				}
			}
		}
		if math.IsInf(bestC, 1) {
			return nil, fmt.Errorf("euler: internal error: %d closed trails share no node (graph not connected?)", ntrails)
		}
		partner[ba], partner[bc] = bc, ba
		partner[bb], partner[bd] = bd, bb
		label(ba, trail[ba]) // relabel the joined trail
	}
	// walk the single closed trail, starting after the virtual arc
	s0 := 0
	if len(ends) == 2 {
		v := 2 * (len(arcs) - 1) // virtual arc, side at ends[0]
		s0 = partner[v]          // the stroke leaves ends[0] here
	}
	seq := []int{nodeOf(s0)}
	for s := s0; ; {
		if virtual(s) {
			break
		}
		seq = append(seq, farOf(s))
		s = partner[s^1]
		if s == s0 {
			break
		}
	}
	return seq, nil
}
