package lpbf

import (
	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/simulation/thermal"
)

// Session is the planning state of one layer: the tracker (coverage: every
// pixel once), the temperature field after every laser step, and the list
// of unvisited pixels for the jump rule. Apply and Undo cost O(active set
// of the field), independent of the layer size; Reward is O(1); Jump is
// O(unvisited pixels).
type Session struct {
	*planners.Tracker
	proc  *Process
	lat   *Lattice
	field *thermal.Field
	hmax  float64

	unvisited []int32 // unordered
	pos       []int32 // index in unvisited, -1 when visited
	undoIdx   []int32 // per applied move: where its target was removed, -1 if not
	jumpBuf   []planners.Move
	evalField *thermal.Field
}

var (
	_ planners.Session       = (*Session)(nil)
	_ planners.HeatSource    = (*Session)(nil)
	_ planners.RewardBounder = (*Session)(nil)
)

func newSession(p *Process, g *graph.Graph, lat *Lattice, f *thermal.Field) *Session {
	return &Session{
		Tracker: planners.NewTracker(g, planners.NodesOnce),
		proc:    p, lat: lat, field: f, hmax: p.tp.HMax,
		pos: make([]int32, g.NumNodes()),
	}
}

// Field returns the live temperature field (read only).
func (s *Session) Field() *thermal.Field { return s.field }

// Lattice returns the grid index of the layer.
func (s *Session) Lattice() *Lattice { return s.lat }

// Starts implements planners.Session: node 0 (the top-left pixel) first,
// then every other boundary pixel (fewer than four neighbours) in index
// order.
func (s *Session) Starts() []int {
	out := []int{0}
	for v := 1; v < s.G.NumNodes(); v++ {
		if s.G.Degree(v) < 4 {
			out = append(out, v)
		}
	}
	return out
}

// Begin implements planners.Session: the laser starts at v and heats it.
func (s *Session) Begin(v int) error {
	if err := s.Tracker.Begin(v); err != nil {
		return err
	}
	s.field.Reset()
	s.field.Step(v)
	n := s.G.NumNodes()
	s.unvisited = s.unvisited[:0]
	for u := 0; u < n; u++ {
		s.pos[u] = -1
		if u != v {
			s.pos[u] = int32(len(s.unvisited))
			s.unvisited = append(s.unvisited, int32(u))
		}
	}
	s.undoIdx = s.undoIdx[:0]
	return nil
}

// Candidates implements planners.Session: unvisited 4-neighbours.
func (s *Session) Candidates(dst []planners.Move) []planners.Move { return s.BaseCandidates(dst) }

// Reward implements planners.Session (Eq. 13 without D(k); package
// comment): H_max − T(m.To) − H_max·[m is not a scan step onto a new pixel].
func (s *Session) Reward(m planners.Move) float64 {
	r := s.hmax - s.field.Temp(m.To)
	if m.Kind != planners.Print || s.Visits(m.To) > 0 {
		r -= s.hmax
	}
	return r
}

// MaxStepReward implements planners.RewardBounder: a scan step onto a cold
// pixel earns H_max; a jump chain earns at most 0.
func (s *Session) MaxStepReward() float64 { return s.hmax }

// NodeHeat implements planners.HeatSource: T(v)/H_max ∈ [0, 1] (spec §5.1,
// §8.3: the heat row of the LSG state).
func (s *Session) NodeHeat(v int) float64 { return s.field.Temp(v) / s.hmax }

// Apply implements planners.Session: the laser moves to m.To (scanning it,
// also after a jump) and the field takes one step.
func (s *Session) Apply(m planners.Move) {
	fresh := s.Visits(m.To) == 0
	s.ApplyBase(m)
	s.field.Step(m.To)
	idx := int32(-1)
	if fresh {
		idx = s.pos[m.To]
		last := s.unvisited[len(s.unvisited)-1]
		s.unvisited[idx] = last
		s.pos[last] = idx
		s.unvisited = s.unvisited[:len(s.unvisited)-1]
		s.pos[m.To] = -1
	}
	s.undoIdx = append(s.undoIdx, idx)
}

// Undo implements planners.Session; the state (field included) is restored
// exactly.
func (s *Session) Undo() {
	m := s.UndoBase()
	s.field.Undo()
	idx := s.undoIdx[len(s.undoIdx)-1]
	s.undoIdx = s.undoIdx[:len(s.undoIdx)-1]
	if idx >= 0 { // reverse the swap-remove: the list order is restored too
		v := int32(m.To)
		s.unvisited = append(s.unvisited, v)
		j := int32(len(s.unvisited) - 1)
		if idx != j {
			w := s.unvisited[idx]
			s.unvisited[j] = w
			s.pos[w] = j
			s.unvisited[idx] = v
		}
		s.pos[v] = idx
	}
}

// Unvisited returns the number of pixels not scanned yet.
func (s *Session) Unvisited() int { return len(s.unvisited) }

// Jump implements planners.Session (spec §11; package comment): a single
// Jump to the coolest unvisited pixel, the farthest one among equally cool
// pixels, skipping pixels that would split a scan line.
func (s *Session) Jump() []planners.Move {
	cur := s.Current()
	if cur < 0 || len(s.unvisited) == 0 {
		return nil
	}
	pc := s.G.Pos[cur]
	type key struct {
		t, d float64
		v    int32
	}
	better := func(a, b key) bool { // a before b
		if a.t != b.t {
			return a.t < b.t
		}
		if a.d != b.d {
			return a.d > b.d
		}
		return a.v < b.v
	}
	best, anyK := key{v: -1}, key{v: -1}
	for _, v := range s.unvisited {
		q := s.G.Pos[v]
		dx, dy := q.X-pc.X, q.Y-pc.Y
		k := key{t: s.field.Temp(int(v)), d: dx*dx + dy*dy, v: v}
		if anyK.v < 0 || better(k, anyK) {
			anyK = k
		}
		if (best.v < 0 || better(k, best)) && !s.splitsLine(int(v)) {
			best = k
		}
	}
	if best.v < 0 {
		best = anyK
	}
	s.jumpBuf = append(s.jumpBuf[:0], planners.Move{From: cur, To: int(best.v), Kind: planners.Jump, Edge: -1})
	return s.jumpBuf
}

// splitsLine reports whether v has exactly two unvisited neighbours and
// they lie on opposite sides of it.
func (s *Session) splitsLine(v int) bool {
	var a, b int32 = -1, -1
	n := 0
	for _, h := range s.G.Neighbors(v) {
		if s.Visits(int(h.To)) == 0 {
			n++
			if n > 2 {
				return false
			}
			if a < 0 {
				a = h.To
			} else {
				b = h.To
			}
		}
	}
	if n != 2 {
		return false
	}
	l := s.lat
	return l.Col[a]+l.Col[b] == 2*l.Col[v] && l.Row[a]+l.Row[b] == 2*l.Row[v]
}

// Metrics implements planners.Session with the shared evaluator over the
// moves applied so far (Evaluate), plus the tracker's move counts.
func (s *Session) Metrics() map[string]float64 {
	m := s.BaseMetrics()
	order := s.order()
	if s.evalField == nil {
		f, err := thermal.New(s.G, s.proc.tp)
		if err != nil { // New succeeded for the live field with the same inputs
			panic(err)
		}
		s.evalField = f
	}
	ev, err := evaluate(s.proc.cfg.LPBF, s.G, s.lat, s.evalField, order)
	if err != nil {
		panic(err) // the order comes from applied moves: always in range
	}
	for k, v := range ev.Map() {
		m[k] = v
	}
	return m
}

// order returns the laser order of the applied moves (the start alone
// before the first move, nil before Begin).
func (s *Session) order() []int {
	order := planners.PathOf(s.Moves())
	if order == nil && s.Current() >= 0 {
		order = []int{s.Current()}
	}
	return order
}
