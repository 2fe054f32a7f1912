package planners

import (
	"fmt"
	"math"

	"fabcell/planners/graph"
)

// Tracker is the process-independent bookkeeping of a partial toolpath:
// moves, per-edge pass counts, per-node visit counts and the coverage
// counter, with O(1) Apply/Undo. Processes embed it and add their own
// state; the embedded methods satisfy most of Session.
type Tracker struct {
	G    *graph.Graph
	Rule Coverage

	moves   []Move
	passes  []uint8 // passes made over each edge by Print moves
	travels []int32 // travel count per edge (for metrics)
	visits  []int32 // how often each node was reached (start counts once)
	cur     int
	covered int // edges with passes>0 (edge rules) or nodes with visits>0
	total   int
	jumpBuf []Move
	ids     []uint64 // ids[i]: state id after i moves (StateIdentifier)
	nextID  uint64
}

// NewTracker returns a tracker for g under rule.
func NewTracker(g *graph.Graph, rule Coverage) *Tracker {
	t := &Tracker{G: g, Rule: rule, cur: -1}
	t.passes = make([]uint8, g.NumEdges())
	t.travels = make([]int32, g.NumEdges())
	t.visits = make([]int32, g.NumNodes())
	if rule == NodesOnce {
		t.total = g.NumNodes()
	} else {
		t.total = g.NumEdges()
	}
	return t
}

// Graph returns the graph.
func (t *Tracker) Graph() *graph.Graph { return t.G }

// Coverage returns the completion rule.
func (t *Tracker) Coverage() Coverage { return t.Rule }

// Begin resets the tracker and places the tool at v.
func (t *Tracker) Begin(v int) error {
	if v < 0 || v >= t.G.NumNodes() {
		return fmt.Errorf("start node %d out of range [0,%d)", v, t.G.NumNodes())
	}
	t.moves = t.moves[:0]
	t.nextID++
	t.ids = append(t.ids[:0], t.nextID)
	clear(t.passes)
	clear(t.travels)
	clear(t.visits)
	t.covered = 0
	t.cur = v
	t.visits[v] = 1
	if t.Rule == NodesOnce {
		t.covered = 1
	}
	return nil
}

// Current returns the tool's node (-1 before Begin).
func (t *Tracker) Current() int { return t.cur }

// Moves returns the applied moves (shared slice).
func (t *Tracker) Moves() []Move { return t.moves }

// StateID names the move history (see StateIdentifier): fresh on Begin and
// every ApplyBase, restored by UndoBase. 0 before the first Begin.
func (t *Tracker) StateID() (uint64, bool) {
	if len(t.ids) == 0 {
		return 0, true
	}
	return t.ids[len(t.ids)-1], true
}

var _ StateIdentifier = (*Tracker)(nil)

// Passes returns how often edge e was printed.
func (t *Tracker) Passes(e int) int { return int(t.passes[e]) }

// Visits returns how often node v was reached.
func (t *Tracker) Visits(v int) int { return int(t.visits[v]) }

// Previous returns the node before the current one in the path (k steps
// back, k >= 1), or -1.
func (t *Tracker) Previous(k int) int {
	i := len(t.moves) - k
	if i < 0 {
		return -1
	}
	return t.moves[i].From
}

// LastMove returns the last applied move and whether there is one.
func (t *Tracker) LastMove() (Move, bool) {
	if len(t.moves) == 0 {
		return Move{}, false
	}
	return t.moves[len(t.moves)-1], true
}

// Remaining returns how many more print passes edge e allows under the
// coverage rule (for NodesOnce: 1 while the far end of e from some visited
// node is unvisited, i.e. while either end is unvisited).
func (t *Tracker) Remaining(e int) int {
	switch t.Rule {
	case EdgesOnce:
		if t.passes[e] == 0 {
			return 1
		}
		return 0
	case EdgesOnceOrTwice:
		r := t.G.PassesOf(e) - int(t.passes[e])
		if r < 0 {
			return 0
		}
		return r
	default:
		ed := t.G.Edges[e]
		if t.visits[ed.A] == 0 || t.visits[ed.B] == 0 {
			return 1
		}
		return 0
	}
}

// BaseCandidates appends the moves the coverage rule allows from the
// current node: prints along edges with passes left (EdgesOnce,
// EdgesOnceOrTwice) or steps to unvisited neighbours (NodesOnce).
func (t *Tracker) BaseCandidates(dst []Move) []Move {
	if t.cur < 0 {
		return dst
	}
	for _, h := range t.G.Neighbors(t.cur) {
		e, to := int(h.Edge), int(h.To)
		switch t.Rule {
		case NodesOnce:
			if t.visits[to] == 0 {
				dst = append(dst, Move{From: t.cur, To: to, Kind: Print, Edge: e})
			}
		default:
			if t.Remaining(e) > 0 {
				dst = append(dst, Move{From: t.cur, To: to, Kind: Print, Edge: e})
			}
		}
	}
	return dst
}

// MoveTo classifies a step from the current node to v (see Session.MoveTo).
func (t *Tracker) MoveTo(v int) Move {
	if e, ok := t.G.EdgeBetween(t.cur, v); ok {
		switch t.Rule {
		case NodesOnce:
			if t.visits[v] == 0 {
				return Move{From: t.cur, To: v, Kind: Print, Edge: e}
			}
			return Move{From: t.cur, To: v, Kind: Travel, Edge: e}
		default:
			if t.Remaining(e) > 0 {
				return Move{From: t.cur, To: v, Kind: Print, Edge: e}
			}
			return Move{From: t.cur, To: v, Kind: Travel, Edge: e}
		}
	}
	return Move{From: t.cur, To: v, Kind: Jump, Edge: -1}
}

// ApplyBase records m. It panics if m does not start at the current node
// (programmer error in a planner).
func (t *Tracker) ApplyBase(m Move) {
	if m.From != t.cur {
		panic(fmt.Sprintf("planners: move %d->%d applied at node %d", m.From, m.To, t.cur))
	}
	switch m.Kind {
	case Print:
		if m.Edge >= 0 {
			if t.passes[m.Edge] == 0 && t.Rule != NodesOnce {
				t.covered++
			}
			t.passes[m.Edge]++
		}
	case Travel:
		if m.Edge >= 0 {
			t.travels[m.Edge]++
		}
	}
	if t.visits[m.To] == 0 && t.Rule == NodesOnce {
		t.covered++
	}
	t.visits[m.To]++
	t.cur = m.To
	t.moves = append(t.moves, m)
	t.nextID++
	t.ids = append(t.ids, t.nextID)
}

// UndoBase reverts the last ApplyBase and returns the reverted move.
func (t *Tracker) UndoBase() Move {
	m := t.moves[len(t.moves)-1]
	t.moves = t.moves[:len(t.moves)-1]
	t.ids = t.ids[:len(t.ids)-1]
	t.visits[m.To]--
	if t.visits[m.To] == 0 && t.Rule == NodesOnce {
		t.covered--
	}
	switch m.Kind {
	case Print:
		if m.Edge >= 0 {
			t.passes[m.Edge]--
			if t.passes[m.Edge] == 0 && t.Rule != NodesOnce {
				t.covered--
			}
		}
	case Travel:
		if m.Edge >= 0 {
			t.travels[m.Edge]--
		}
	}
	t.cur = m.From
	return m
}

// Done reports whether the coverage rule is met.
func (t *Tracker) Done() bool { return t.covered == t.total }

// Progress returns covered units and their total.
func (t *Tracker) Progress() (int, int) { return t.covered, t.total }

// TravelPathToNearest finds, by breadth-first search over edges that may be
// travelled (already printed ones), the nearest node (in hops, ties by
// index) satisfying want, and returns the Travel moves leading there.
// maxHops bounds the search (0 = unbounded). It returns nil if no such node
// is reachable over printed edges.
func (t *Tracker) TravelPathToNearest(want func(v int) bool, maxHops int) []Move {
	if t.cur < 0 {
		return nil
	}
	n := t.G.NumNodes()
	prevEdge := make(map[int]int, 64)
	prevEdge[t.cur] = -1
	frontier := []int{t.cur}
	for hop := 0; len(frontier) > 0 && (maxHops == 0 || hop < maxHops); hop++ {
		var next []int
		for _, v := range frontier {
			for _, h := range t.G.Neighbors(v) {
				e, to := int(h.Edge), int(h.To)
				if t.passes[e] == 0 {
					continue
				}
				if _, seen := prevEdge[to]; seen {
					continue
				}
				prevEdge[to] = e
				if want(to) {
					var rev []Move
					for x := to; x != t.cur; {
						pe := prevEdge[x]
						from := t.G.Edges[pe].Other(x)
						rev = append(rev, Move{From: from, To: x, Kind: Travel, Edge: pe})
						x = from
					}
					for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
						rev[i], rev[j] = rev[j], rev[i]
					}
					return rev
				}
				next = append(next, to)
			}
		}
		_ = n
		frontier = next
	}
	return nil
}

// BaseMetrics returns the process-independent metrics of the applied moves:
// move counts by kind, print/travel/jump lengths (mm) and coverage.
func (t *Tracker) BaseMetrics() map[string]float64 {
	m := map[string]float64{}
	var prints, travels, jumps int
	var printMM, travelMM, jumpMM float64
	for _, mv := range t.moves {
		d := t.G.Pos[mv.From].Sub(t.G.Pos[mv.To]).Norm()
		switch mv.Kind {
		case Print:
			prints++
			printMM += d
		case Travel:
			travels++
			travelMM += d
		case Jump:
			jumps++
			jumpMM += d
		}
	}
	m["moves"] = float64(len(t.moves))
	m["prints"] = float64(prints)
	m["travels"] = float64(travels)
	m["jumps"] = float64(jumps)
	m["print_mm"] = round6(printMM)
	m["travel_mm"] = round6(travelMM)
	m["jump_mm"] = round6(jumpMM)
	m["covered"] = float64(t.covered)
	m["coverage_total"] = float64(t.total)
	if t.covered == t.total {
		m["complete"] = 1
	} else {
		m["complete"] = 0
	}
	return m
}

// TurnAngle returns the turning angle (radians, 0 = straight on, π = full
// reversal) at node b when going a → b → c.
func TurnAngle(g *graph.Graph, a, b, c int) float64 {
	u := g.Pos[b].Sub(g.Pos[a])
	w := g.Pos[c].Sub(g.Pos[b])
	nu, nw := u.Norm(), w.Norm()
	if nu == 0 || nw == 0 {
		return 0
	}
	cs := u.Dot(w) / (nu * nw)
	return math.Acos(math.Max(-1, math.Min(1, cs)))
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }
