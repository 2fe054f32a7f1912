package ccf

import (
	"fmt"
	"math"

	"fabcell/planners"
	"fabcell/planners/graph"
)

// Session is the planning state of one CCF fibre stroke (spec lsg-dqn.md §2
// application 2): one continuous stroke, every edge covered at least once
// and at most its pass count (2 for the doubled CCF edge lists), no jumps.
//
// Candidates are the 1-ring print moves that keep the rest of the coverage
// completable (the dead-end guard, guard.go). Reward is the undiscounted
// step reward of Eq. 11 without D(k): r_θ (Eq. 9) + r_e (Eq. 10) plus the
// release's U-turn term; the planner applies the discount.
type Session struct {
	*planners.Tracker
	rp         RewardParams
	lMaxMM     float64
	sharpRad   float64
	boundary   []bool
	starts     []int
	uDeg       []int32 // uncovered edges at each node
	exact      bool
	gd         guard
	outline    *Outline
	outlineErr error
}

var (
	_ planners.Session       = (*Session)(nil)
	_ planners.RewardBounder = (*Session)(nil)
)

// newSession builds a session; p supplies the parameters.
func newSession(g *graph.Graph, rp RewardParams, sharpDeg, holeFactor float64) (*Session, error) {
	if g.NumEdges() == 0 {
		return nil, fmt.Errorf("ccf: %s: %w", g.Name, graph.ErrNoEdges)
	}
	if !g.IsPlanar(planarTolMM) {
		lo, hi := g.Bounds()
		return nil, fmt.Errorf("ccf: %s: a CCF layer must be planar, but z spans %.4g..%.4g mm", g.Name, lo.Z, hi.Z)
	}
	if a, b, ok := coincidentNodes(g, coincidentTolMM); ok {
		pa := g.Pos[a]
		return nil, fmt.Errorf("ccf: %s: nodes %d and %d coincide at (%.6g, %.6g) mm: a zero-length edge or two nodes at one point hide the fibre's real turns and passes; merge them in the model",
			g.Name, a, b, pa.X, pa.Y)
	}
	// every edge in one connected piece (isolated nodes are ignored)
	comp, _ := g.Components()
	c0 := comp[g.Edges[0].A]
	for e, ed := range g.Edges {
		if comp[ed.A] != c0 {
			return nil, fmt.Errorf("ccf: %s: %w: edge %d (%d-%d) is not connected to edge 0 (%d-%d), so no single stroke covers both",
				g.Name, graph.ErrDisconnect, e, ed.A, ed.B, g.Edges[0].A, g.Edges[0].B)
		}
	}
	allOne, allTwo := true, true
	for e := range g.Edges {
		p := g.PassesOf(e)
		if p < 1 {
			return nil, fmt.Errorf("ccf: %s: edge %d has pass count %d", g.Name, e, p)
		}
		allOne = allOne && p == 1
		allTwo = allTwo && p == 2
	}
	s := &Session{
		Tracker:  planners.NewTracker(g, planners.EdgesOnceOrTwice),
		rp:       rp,
		lMaxMM:   g.MaxLengthMM(),
		sharpRad: sharpDeg * math.Pi / 180,
		uDeg:     make([]int32, g.NumNodes()),
		exact:    allTwo,
		gd:       newGuard(g.NumNodes()),
	}
	s.outline, s.outlineErr = ComputeOutline(g, holeFactor)
	if s.outlineErr == nil {
		s.boundary = s.outline.Boundary
	} else {
		s.boundary = convexHullNodes(g)
	}
	odd := 0
	for v := 0; v < g.NumNodes(); v++ {
		if g.Degree(v)%2 == 1 {
			odd++
		}
	}
	if allOne && odd > 2 {
		return nil, fmt.Errorf("ccf: %s: every edge may be printed only once (the edge list names each edge once) and %d nodes have odd degree, so no single stroke exists (at most 2 allowed); list each edge twice to allow a second pass", g.Name, odd)
	}
	s.starts = startOrder(g, s.boundary, allOne && odd == 2)
	return s, nil
}

// planarTolMM is the z spread below which a graph counts as one layer.
const planarTolMM = 1e-3

// coincidentTolMM is the xy distance below which two nodes of a layer are
// one point: a fibre cannot turn or be laid on a shorter edge, and the
// turning angle at a zero-length edge is undefined (a reversal through it
// would score as a straight continuation).
const coincidentTolMM = 1e-3

// coincidentNodes returns two nodes with edges whose xy positions lie within
// tolMM of each other (per axis; isolated nodes are ignored), hashing the
// nodes into cells of side tolMM so the cost is O(n).
func coincidentNodes(g *graph.Graph, tolMM float64) (a, b int, ok bool) {
	cells := make(map[[2]float64][]int)
	for v := 0; v < g.NumNodes(); v++ {
		if g.Degree(v) == 0 {
			continue
		}
		p := g.Pos[v]
		cx, cy := math.Floor(p.X/tolMM), math.Floor(p.Y/tolMM)
		for dx := -1.0; dx <= 1; dx++ {
			for dy := -1.0; dy <= 1; dy++ {
				for _, w := range cells[[2]float64{cx + dx, cy + dy}] {
					if q := g.Pos[w]; math.Abs(q.X-p.X) <= tolMM && math.Abs(q.Y-p.Y) <= tolMM {
						return w, v, true
					}
				}
			}
		}
		k := [2]float64{cx, cy}
		cells[k] = append(cells[k], v)
	}
	return 0, 0, false
}

// startOrder lists nodes with edges: interior before boundary (the fibre
// is anchored inside the part; spec §4 line 1: "random non-boundary
// node"), odd degree before even within each group (a stroke that starts
// at an odd node saves one duplicated connection), then by index. With
// oddOnly (every edge once, two odd nodes) only the odd nodes can start.
func startOrder(g *graph.Graph, boundary []bool, oddOnly bool) []int {
	var groups [4][]int
	for v := 0; v < g.NumNodes(); v++ {
		d := g.Degree(v)
		if d == 0 || (oddOnly && d%2 == 0) {
			continue
		}
		k := 0
		if boundary[v] {
			k = 2
		}
		if d%2 == 0 {
			k++
		}
		groups[k] = append(groups[k], v)
	}
	var out []int
	for _, gr := range groups {
		out = append(out, gr...)
	}
	return out
}

// Exact reports whether the dead-end guard is exact for this graph (every
// edge allows exactly two passes): then every sequence of candidates
// completes the coverage.
func (s *Session) Exact() bool { return s.exact }

// Boundary reports whether v lies on the layer outline or a hole rim.
func (s *Session) Boundary(v int) bool { return s.boundary[v] }

// Outline returns the layer outline, or the error that prevented it (a
// drawing with crossing edges).
func (s *Session) Outline() (*Outline, error) { return s.outline, s.outlineErr }

// Params returns the reward constants.
func (s *Session) Params() RewardParams { return s.rp }

// Starts implements planners.Session.
func (s *Session) Starts() []int { return s.starts }

// Begin implements planners.Session.
func (s *Session) Begin(v int) error {
	if err := s.Tracker.Begin(v); err != nil {
		return err
	}
	if s.G.Degree(v) == 0 {
		return fmt.Errorf("ccf: start node %d has no edge", v)
	}
	for i := range s.uDeg {
		s.uDeg[i] = int32(s.G.Degree(i))
	}
	return nil
}

// Candidates implements planners.Session: print moves over incident edges
// with passes left that keep invariant (I) (guard.go). Never jumps.
func (s *Session) Candidates(dst []planners.Move) []planners.Move {
	c := s.Current()
	if c < 0 || s.Done() {
		return dst
	}
	done, total := s.Progress()
	for _, h := range s.G.Neighbors(c) {
		e, v := int(h.Edge), int(h.To)
		r := s.Remaining(e)
		if r == 0 {
			continue
		}
		if r == 1 {
			fresh := s.Passes(e) == 0
			uAfter := total - done
			if fresh {
				uAfter--
			}
			ok := s.safeLastPass(c, v, e, uAfter, func(x int) int {
				d := int(s.uDeg[x])
				if fresh && (x == c || x == v) {
					d--
				}
				return d
			})
			if !ok {
				continue
			}
		}
		dst = append(dst, planners.Move{From: c, To: v, Kind: planners.Print, Edge: e})
	}
	return dst
}

// prevNode returns the node before the current one, or -1.
func (s *Session) prevNode() int {
	if m, ok := s.LastMove(); ok && m.To == s.Current() {
		return m.From
	}
	return -1
}

// Reward implements planners.Session: the undiscounted CCF step reward
// r_θ(θ) + r_e (Eqs. 9–11 without D(k)), with θ the turning angle at the
// current node (0 for the first move) and r_e = −l/l_max (or −1) on a
// second pass. Going straight back along the edge just traversed adds the
// release's U-turn penalty (−1 interior, −0.5 boundary). Moves that only
// `evaluate` produces: a Travel (a pass beyond the edge's pass count) costs
// r_θ − 1 − l/l_max, a Jump −1 − d/l_max (the stroke is broken).
func (s *Session) Reward(m planners.Move) float64 {
	prev := s.prevNode()
	theta := 0.0
	if prev >= 0 {
		theta = planners.TurnAngle(s.G, prev, m.From, m.To)
	}
	var r float64
	switch m.Kind {
	case planners.Print:
		r = s.rp.Turn(theta) + s.rp.Retraversal(s.G.LengthMM(m.Edge), s.lMaxMM, s.Passes(m.Edge) == 0)
	case planners.Travel:
		r = s.rp.Turn(theta) - 1 - s.G.LengthMM(m.Edge)/s.lMaxMM
	default:
		return -1 - s.G.Pos[m.From].Sub(s.G.Pos[m.To]).Norm()/s.lMaxMM
	}
	if prev >= 0 && prev == m.To {
		r += s.rp.UTurnPenalty(s.boundary[m.From])
	}
	return r
}

// MaxStepReward implements planners.RewardBounder: r_θ ≤ r_θ(0) and the
// other terms are never positive.
func (s *Session) MaxStepReward() float64 { return s.rp.MaxTurn() }

// Apply implements planners.Session.
func (s *Session) Apply(m planners.Move) {
	if m.Kind == planners.Print && m.Edge >= 0 && s.Passes(m.Edge) == 0 {
		ed := s.G.Edges[m.Edge]
		s.uDeg[ed.A]--
		s.uDeg[ed.B]--
	}
	s.ApplyBase(m)
}

// Undo implements planners.Session.
func (s *Session) Undo() {
	m := s.UndoBase()
	if m.Kind == planners.Print && m.Edge >= 0 && s.Passes(m.Edge) == 0 {
		ed := s.G.Edges[m.Edge]
		s.uDeg[ed.A]++
		s.uDeg[ed.B]++
	}
}

// Jump implements planners.Session: CCF is one continuous stroke, so there
// is never a jump (spec §8.2: "CCF never needed a jump").
func (s *Session) Jump() []planners.Move { return nil }

// Turn describes the turn at one interior node of the path.
type Turn struct {
	Index    int     // the turn is between Moves()[Index-1] and Moves()[Index]
	Node     int     // node where the turn happens
	AngleRad float64 // turning angle, 0 = straight on
}

// Turns returns the turning angle at every interior node of the applied
// path.
func (s *Session) Turns() []Turn {
	ms := s.Moves()
	out := make([]Turn, 0, len(ms))
	for i := 1; i < len(ms); i++ {
		if ms[i-1].To != ms[i].From {
			continue
		}
		out = append(out, Turn{Index: i, Node: ms[i].From, AngleRad: planners.TurnAngle(s.G, ms[i-1].From, ms[i].From, ms[i].To)})
	}
	return out
}

// SharpTurnRad returns the sharp-turn threshold (ccf.sharp_turn_deg).
func (s *Session) SharpTurnRad() float64 { return s.sharpRad }

// Metrics implements planners.Session. Keys (units in names):
//
//	sharp_turns        turns with θ > ccf.sharp_turn_deg (default 120°)
//	turns_over_90      turns with θ > 90°
//	max_turn_deg       the largest turning angle
//	u_turns            reversals along the edge just traversed
//	length_mm          total tool path length
//	fiber_mm           fibre laid: every print and travel move (the stroke
//	                   has no lead-in/out; a jump cuts the fibre)
//	retraversed_edges  edges printed twice or more
//	overpassed_edges   edges used more often than their pass count allows
//	                   (only replayed foreign paths can do this)
//	one_stroke         1 if the path has no jump and no travel move
//	total_reward       Σ undiscounted step rewards (Eq. 11 without D(k))
//
// plus the Tracker's base metrics (covered, coverage_total, complete, ...).
func (s *Session) Metrics() map[string]float64 {
	m := s.BaseMetrics()
	ms := s.Moves()
	var sharp, over90, uturns int
	maxTurn, length, fiber, total := 0.0, 0.0, 0.0, 0.0
	for i, mv := range ms {
		d := s.G.Pos[mv.From].Sub(s.G.Pos[mv.To]).Norm()
		length += d
		if mv.Kind != planners.Jump {
			fiber += d
		}
		if i > 0 && ms[i-1].To == mv.From {
			th := planners.TurnAngle(s.G, ms[i-1].From, mv.From, mv.To)
			if th > s.sharpRad {
				sharp++
			}
			if th > math.Pi/2 {
				over90++
			}
			maxTurn = math.Max(maxTurn, th)
			if ms[i-1].From == mv.To {
				uturns++
			}
		}
	}
	// replay the rewards in order (Reward depends on the pass counts
	// before each move)
	for i := len(ms) - 1; i >= 0; i-- {
		s.Undo()
	}
	for _, mv := range ms {
		total += s.Reward(mv)
		s.Apply(mv)
	}
	ms = s.Moves()
	retrav, overpass := 0, 0
	travels := make(map[int]bool)
	for _, mv := range ms {
		if mv.Kind == planners.Travel {
			travels[mv.Edge] = true
		}
	}
	for e := range s.G.Edges {
		if s.Passes(e) >= 2 || (s.Passes(e) >= 1 && travels[e]) {
			retrav++
		}
		if travels[e] {
			overpass++
		}
	}
	m["sharp_turns"] = float64(sharp)
	m["turns_over_90"] = float64(over90)
	m["max_turn_deg"] = round6(maxTurn * 180 / math.Pi)
	m["u_turns"] = float64(uturns)
	m["length_mm"] = round6(length)
	m["fiber_mm"] = round6(fiber)
	m["retraversed_edges"] = float64(retrav)
	m["overpassed_edges"] = float64(overpass)
	one := 1.0
	if m["jumps"] > 0 || m["travels"] > 0 {
		one = 0
	}
	m["one_stroke"] = one
	m["total_reward"] = round6(total)
	return m
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }
