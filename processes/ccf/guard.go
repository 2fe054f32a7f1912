package ccf

// The dead-end guard.
//
// CCF forbids jumps, so a planner that walks into a state from which the
// remaining edges cannot be covered in one stroke has failed. Candidates
// therefore only offers moves after which completion is still possible.
//
// Let R be the graph of edges with passes left (Remaining ≥ 1) and U the
// uncovered edges (never printed; U ⊆ R). The guard keeps the invariant
//
//	(I) every uncovered edge lies in the connected component of R that
//	    contains the tool's node.
//
// (I) is necessary for completion (the stroke can only use edges of R). It
// is also sufficient when every edge allows exactly two passes (the CCF
// rule, the doubled RL3DP edge lists): an edge printed once has one pass
// left (R1), untouched edges two, used-up edges none. The path printed so
// far gives every node an even degree except the start s and the tool c,
// so the R1 edges have odd degree exactly at s and c (if s ≠ c). Contract
// each connected piece of U to one node; contraction keeps that parity, so
// the R1 edges of c's component have an Euler trail from c's node (ending
// at s's node or back at c's). Lifting it — each contracted U piece covered
// by printing its edges twice, which keeps every degree even — gives a
// completing stroke that uses R1 edges once and U edges at most twice. So
// in that setting Candidates never leads into a dead end, and every
// planner that only takes candidates completes. For other pass counts (an
// edge that may be printed once only) (I) is necessary but not sufficient;
// see Session.Exact.
//
// Maintaining (I) is Fleury's rule for this capacitated setting: a move
// over an edge e with two or more passes left keeps R unchanged, so it is
// always safe. A move c → v over an edge with one pass left removes e from
// R; it is safe unless e is a bridge of R whose c side still holds an
// uncovered edge. Bridge test: a bidirectional breadth-first search from c
// and from v in R − e, expanding the smaller frontier first, stopping as
// soon as the two searches meet (then e is not a bridge) or one side is
// exhausted (then that side is the whole component: count its uncovered
// edges through the per-node uncovered degree). On lattices the searches
// meet within a few steps around e; the cost is bounded by the size of the
// smaller side otherwise. Marks are epoch-stamped, so nothing is cleared
// between calls and Apply/Undo only update the uncovered degrees.

// guard holds the scratch state of the bridge test.
type guard struct {
	markA, markB []uint32
	epoch        uint32
	qa, qb       []int32
	// Checks counts bridge tests (tests and benchmarks read it).
	checks int
}

func newGuard(n int) guard {
	return guard{markA: make([]uint32, n), markB: make([]uint32, n)}
}

func (gd *guard) nextEpoch() uint32 {
	gd.epoch++
	if gd.epoch == 0 {
		clear(gd.markA)
		clear(gd.markB)
		gd.epoch = 1
	}
	return gd.epoch
}

// safeLastPass reports whether taking the last pass of edge e from c to v
// keeps invariant (I). uAfter is the number of uncovered edges after the
// move; uDeg(x) the number of uncovered edges at x after the move.
func (s *Session) safeLastPass(c, v, e int, uAfter int, uDeg func(x int) int) bool {
	if uAfter == 0 {
		return true
	}
	gd := &s.gd
	gd.checks++
	ep := gd.nextEpoch()
	gd.qa = append(gd.qa[:0], int32(c))
	gd.qb = append(gd.qb[:0], int32(v))
	gd.markA[c] = ep
	gd.markB[v] = ep
	sumA, sumB := uDeg(c), uDeg(v)
	ha, hb := 0, 0
	g := s.G
	for {
		// expand the side with the smaller pending frontier
		fromA := len(gd.qa)-ha <= len(gd.qb)-hb
		if fromA {
			if ha == len(gd.qa) {
				// c's side is a whole component without v: it must hold
				// no uncovered edge
				return sumA == 0
			}
			x := int(gd.qa[ha])
			ha++
			for _, h := range g.Neighbors(x) {
				f, y := int(h.Edge), int(h.To)
				if f == e || s.Remaining(f) == 0 {
					continue
				}
				if gd.markB[y] == ep {
					return true
				}
				if gd.markA[y] != ep {
					gd.markA[y] = ep
					gd.qa = append(gd.qa, int32(y))
					sumA += uDeg(y)
				}
			}
		} else {
			if hb == len(gd.qb) {
				// v's side is a whole component: it must hold every
				// uncovered edge (each counted at both of its ends)
				return sumB == 2*uAfter
			}
			x := int(gd.qb[hb])
			hb++
			for _, h := range g.Neighbors(x) {
				f, y := int(h.Edge), int(h.To)
				if f == e || s.Remaining(f) == 0 {
					continue
				}
				if gd.markA[y] == ep {
					return true
				}
				if gd.markB[y] != ep {
					gd.markB[y] = ep
					gd.qb = append(gd.qb, int32(y))
					sumB += uDeg(y)
				}
			}
		}
	}
}

// Feasible reports whether invariant (I) holds in the current state: every
// uncovered edge is reachable from the tool over edges with passes left.
// It is a full O(V+E) search, used by tests and by Begin's checks; planners
// rely on Candidates instead.
func (s *Session) Feasible() bool {
	c := s.Current()
	if c < 0 {
		return false
	}
	done, total := s.Progress()
	if done == total {
		return true
	}
	gd := &s.gd
	ep := gd.nextEpoch()
	gd.qa = append(gd.qa[:0], int32(c))
	gd.markA[c] = ep
	sum := int(s.uDeg[c])
	for h := 0; h < len(gd.qa); h++ {
		x := int(gd.qa[h])
		for _, hh := range s.G.Neighbors(x) {
			f, y := int(hh.Edge), int(hh.To)
			if s.Remaining(f) == 0 || gd.markA[y] == ep {
				continue
			}
			gd.markA[y] = ep
			gd.qa = append(gd.qa, int32(y))
			sum += int(s.uDeg[y])
		}
	}
	return sum == 2*(total-done)
}
