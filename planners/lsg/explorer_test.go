package lsg

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"

	"github.com/golang/geo/r3"
)

func travelSession(t testing.TB, g *graph.Graph) planners.Session {
	t.Helper()
	proc := &planners.TravelProcess{Cfg: config.Defaults(), TurnWeight: 0.1}
	s, err := proc.NewSession(g)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// countingSession counts Reward calls.
type countingSession struct {
	planners.Session
	rewards int
}

func (c *countingSession) Reward(m planners.Move) float64 {
	c.rewards++
	return c.Session.Reward(m)
}

func printTo(t testing.TB, s planners.Session, v int) planners.Move {
	t.Helper()
	for _, m := range s.Candidates(nil) {
		if m.To == v {
			return m
		}
	}
	t.Fatalf("no candidate %d -> %d", s.Current(), v)
	return planners.Move{}
}

// expectedState computes [A, A†, A‡] of the session's current state from
// the definitions (§5.1, §5.3), independently of the explorer: A from
// Remaining now; A† from the state before the last move, restricted to the
// last move's entry; A‡ likewise for the move before.
func expectedState(t *testing.T, s planners.Session, l *LSG, lo Layout) []float64 {
	out := make([]float64, Channels*lo.N*lo.N)
	at := func(c, i, j int) int { return (c*lo.N+i)*lo.N + j }
	val := func(k int) float64 {
		if s.Remaining(int(l.Edges[k].E)) > 0 {
			return l.Edges[k].Len
		}
		return 0
	}
	for k, ed := range l.Edges {
		v := val(k)
		for c := 0; c < Channels; c++ {
			out[at(c, int(ed.I), int(ed.J))] = v
			out[at(c, int(ed.J), int(ed.I))] = v
		}
	}
	ms := slices.Clone(s.Moves())
	// undo the last two moves, reading the entry values before each
	restore := func(depth int) (k int, v float64) {
		m := ms[len(ms)-depth]
		k = l.EdgeLocal(m.Edge)
		if k < 0 {
			return -1, 0
		}
		return k, val(k)
	}
	var ks [2]int
	var vs [2]float64
	n := min(2, len(ms))
	for d := 1; d <= n; d++ {
		s.Undo()
		ks[d-1], vs[d-1] = restore(d)
	}
	for d := n; d >= 1; d-- {
		s.Apply(ms[len(ms)-d])
	}
	if n >= 1 && ks[0] >= 0 {
		ed := l.Edges[ks[0]]
		for _, c := range []int{1, 2} {
			out[at(c, int(ed.I), int(ed.J))] = vs[0]
			out[at(c, int(ed.J), int(ed.I))] = vs[0]
		}
	}
	if n >= 2 && ks[1] >= 0 {
		ed := l.Edges[ks[1]]
		out[at(2, int(ed.I), int(ed.J))] = vs[1]
		out[at(2, int(ed.J), int(ed.I))] = vs[1]
	}
	return out
}

func compareBlocks(t *testing.T, what string, got []float64, lo Layout, want []float64) {
	t.Helper()
	for c := 0; c < Channels; c++ {
		for i := 0; i < lo.N; i++ {
			for j := 0; j < lo.N; j++ {
				g, w := got[lo.Index(c, i, j)], want[(c*lo.N+i)*lo.N+j]
				if g != w {
					t.Fatalf("%s: S[%d][%d][%d] = %v, want %v", what, c, i, j, g, w)
				}
			}
		}
	}
}

func TestMemoryChannels(t *testing.T) {
	g := gridGraph(t, 5, 5, true)
	s := travelSession(t, g)
	if err := s.Begin(12); err != nil {
		t.Fatal(err)
	}
	b, _ := NewBuilder(g, Config{Ring: 2, NMax: 30})
	ex, _ := NewExplorer(s, ExplorerConfig{Horizon: 2})
	lo := Layout{N: 30}
	buf := make([]float64, lo.Len())
	check := func(step string) {
		l, err := b.BuildAt(s)
		if err != nil {
			t.Fatal(err)
		}
		ex.Reset()
		if err := ex.Bind(l); err != nil {
			t.Fatal(err)
		}
		ex.FillRoot(lo, buf)
		compareBlocks(t, step, buf, lo, expectedState(t, s, l, lo))
	}
	check("start") // A‡ = A† = A
	s.Apply(printTo(t, s, 13))
	check("one print")
	s.Apply(printTo(t, s, 18))
	check("two prints")
	s.Apply(printTo(t, s, 17))
	check("three prints")
	// explicit entry checks on the last state: edge 18-17 is used (A = 0),
	// restored in A† and A‡; edge 13-18 only in A‡.
	l := ex.LSG()
	e1, _ := g.EdgeBetween(18, 17)
	e2, _ := g.EdgeBetween(13, 18)
	k1, k2 := l.EdgeLocal(e1), l.EdgeLocal(e2)
	ed1, ed2 := l.Edges[k1], l.Edges[k2]
	get := func(c int, ed Edge) float64 { return buf[lo.Index(c, int(ed.I), int(ed.J))] }
	if get(0, ed1) != 0 || get(1, ed1) != ed1.Len || get(2, ed1) != ed1.Len {
		t.Errorf("last move entries %v %v %v", get(0, ed1), get(1, ed1), get(2, ed1))
	}
	if get(0, ed2) != 0 || get(1, ed2) != 0 || get(2, ed2) != ed2.Len {
		t.Errorf("second move entries %v %v %v", get(0, ed2), get(1, ed2), get(2, ed2))
	}
	// extra rows: u, v and dz of every node, zero padding beyond
	for i := 0; i < lo.N; i++ {
		u := buf[lo.Index(0, lo.N+RowU, i)]
		if i >= l.Size() {
			if u != 0 {
				t.Fatalf("padding column %d = %v", i, u)
			}
			continue
		}
		if u != l.UV[i][0] || buf[lo.Index(2, lo.N+RowV, i)] != l.UV[i][1] {
			t.Fatalf("uv row col %d", i)
		}
	}
}

// Materialise of a prefix must equal the state obtained by really applying
// that prefix (independent recomputation), and Revert must restore the
// root state bit for bit.
func TestMaterialiseMatchesAppliedPrefix(t *testing.T) {
	g := loadFemur(t)
	s := travelSession(t, g)
	if err := s.Begin(40); err != nil {
		t.Fatal(err)
	}
	s.Apply(s.Candidates(nil)[0])
	s.Apply(s.Candidates(nil)[1])
	ring := 3
	b, _ := NewBuilder(g, Config{Ring: ring, NMax: 120})
	ms := s.Moves()
	l, _ := b.Build(s.Current(), ms[len(ms)-1].From)
	ex, _ := NewExplorer(s, ExplorerConfig{Horizon: ring, Discount: Discount{}})
	ex.Reset()
	if err := ex.Bind(l); err != nil {
		t.Fatal(err)
	}
	lo := Layout{N: 120}
	root := make([]float64, lo.Len())
	ex.FillRoot(lo, root)
	rootCopy := slices.Clone(root)
	rng := rand.New(rand.NewPCG(5, 5))
	var ov Overlay
	for ep := 0; ep < 40; ep++ {
		x := ex.Root()
		var path []planners.Move
		for {
			acts := ex.Actions(x)
			if len(acts) == 0 {
				break
			}
			a := acts[rng.IntN(len(acts))]
			path = append(path, ex.ActionMove(x, a))
			c, _, done := ex.Transition(x, a)
			x = c
			if done {
				break
			}
		}
		ex.Materialise(x, lo, root, &ov)
		got := slices.Clone(root)
		ov.Revert(root)
		if !slices.Equal(root, rootCopy) {
			t.Fatal("Revert did not restore the root state")
		}
		// independent: apply the path for real on a second session
		ex.SyncRoot()
		s2 := travelSession(t, g)
		for i, m := range s.Moves() {
			if i == 0 {
				s2.Begin(m.From)
			}
			s2.Apply(m)
		}
		for _, m := range path {
			s2.Apply(m)
		}
		compareBlocks(t, "materialised prefix", got, lo, expectedState(t, s2, l, lo))
	}
}

func TestExplorerMemoisesRewards(t *testing.T) {
	g := gridGraph(t, 4, 4, true)
	cs := &countingSession{Session: travelSession(t, g)}
	if err := cs.Begin(5); err != nil {
		t.Fatal(err)
	}
	b, _ := NewBuilder(g, Config{Ring: 2, NMax: 16})
	ex, _ := NewExplorer(cs, ExplorerConfig{Horizon: 2, Discount: Discount{}})
	ex.Reset()
	l, _ := b.Build(5, -1)
	ex.Bind(l)
	walk := func() (float64, []planners.Move) {
		x := ex.Root()
		ret := 0.0
		var ms []planners.Move
		for {
			acts := ex.Actions(x)
			a := acts[0]
			ms = append(ms, ex.ActionMove(x, a))
			c, r, done := ex.Transition(x, a)
			ret += r
			x = c
			if done {
				return ret, ms
			}
		}
	}
	r1, ms := walk()
	n1 := cs.rewards
	r2, _ := walk()
	if cs.rewards != n1 {
		t.Errorf("repeated prefix recomputed rewards: %d -> %d calls", n1, cs.rewards)
	}
	if r1 != r2 || n1 != 2 {
		t.Errorf("returns %v %v, %d reward calls (want 2)", r1, r2, n1)
	}
	// independent value: D(1)·R1 + D(2)·R2 with R from a fresh session
	s2 := travelSession(t, g)
	s2.Begin(5)
	want := 0.0
	for k, m := range ms {
		want += Discount{}.At(k+1) * s2.Reward(m)
		s2.Apply(m)
	}
	if math.Abs(want-r1) > 1e-15 {
		t.Errorf("return %v, want %v", r1, want)
	}
	// Commit the first move: the memoised child below survives.
	ex.Commit(ms[0])
	if cs.Session.Current() != ms[0].To || ex.Nodes() != 2 {
		t.Fatalf("after commit: at %d, %d nodes", cs.Session.Current(), ex.Nodes())
	}
	l2, _ := b.Build(ms[0].To, ms[0].From)
	ex.Bind(l2)
	before := cs.rewards
	x := ex.Root()
	for _, a := range ex.Actions(x) {
		if ex.ActionMove(x, a).To == ms[1].To {
			ex.Transition(x, a)
		}
	}
	if cs.rewards != before {
		t.Errorf("reward of a committed prefix recomputed")
	}
	ex.SyncRoot()
	if ms := cs.Session.Moves(); len(ms) != 1 {
		t.Errorf("session holds %d moves, want 1", len(ms))
	}
}

func TestCompleteAfterExhaustiveWalk(t *testing.T) {
	// a triangle 0-1-2 plus a tail 2-3: every action sequence within 3
	// steps from 0 is finite; a DFS over all of them completes the root.
	pos := []r3.Vector{{}, {X: 10}, {X: 5, Y: 8}, {X: 5, Y: 20}}
	g := mustGraph(t, pos, []graph.Edge{{A: 0, B: 1}, {A: 1, B: 2}, {A: 0, B: 2}, {A: 2, B: 3}})
	s := travelSession(t, g)
	s.Begin(0)
	b, _ := NewBuilder(g, Config{Ring: 3, NMax: 10})
	ex, _ := NewExplorer(s, ExplorerConfig{Horizon: 3})
	ex.Reset()
	l, _ := b.Build(0, -1)
	ex.Bind(l)
	leaves := 0
	var dfs func(x int32)
	dfs = func(x int32) {
		for _, a := range slices.Clone(ex.Actions(x)) {
			if ex.Complete(ex.Root()) {
				t.Fatal("root complete before the walk ended")
			}
			c, _, done := ex.Transition(x, a)
			if done {
				leaves++
				continue
			}
			dfs(c)
		}
	}
	dfs(ex.Root())
	if !ex.Complete(ex.Root()) {
		t.Fatal("root not complete after exhaustive walk")
	}
	// sequences: 0-1-2-0, 0-1-2-3, 0-2-1-0, 0-2-3 (dead end → terminal)
	if leaves != 4 {
		t.Errorf("%d leaves, want 4", leaves)
	}
}

func TestDeadEndJumpLookahead(t *testing.T) {
	// two separate struts: 0-1 and 2-3; after 0→1 the tool is stuck and
	// the travel process jumps to the nearest node with an open edge (2).
	pos := []r3.Vector{{}, {X: 10}, {X: 10, Y: 30}, {X: 20, Y: 30}}
	g := mustGraph(t, pos, []graph.Edge{{A: 0, B: 1}, {A: 2, B: 3}})
	for _, look := range []bool{false, true} {
		s := travelSession(t, g)
		s.Begin(0)
		b, _ := NewBuilder(g, Config{Ring: 2, NMax: 10})
		d := Discount{}
		ex, _ := NewExplorer(s, ExplorerConfig{Horizon: 2, Discount: d, JumpLookahead: look})
		ex.Reset()
		l, _ := b.Build(0, -1)
		ex.Bind(l)
		acts := ex.Actions(ex.Root())
		if len(acts) != 1 {
			t.Fatalf("%d actions", len(acts))
		}
		c, r, done := ex.Transition(ex.Root(), acts[0])
		dead, jr, ok := ex.DeadEnd(c)
		if !done || !dead {
			t.Fatalf("done %v dead %v", done, dead)
		}
		mean := g.MeanLengthMM()
		want := d.At(1) * 1.0
		if look {
			if !ok || math.Abs(jr-(-30/mean)) > 1e-12 {
				t.Fatalf("jump reward %v ok %v, want %v", jr, ok, -30/mean)
			}
			want += d.At(2) * (-30 / mean)
		}
		if math.Abs(r-want) > 1e-12 {
			t.Errorf("lookahead %v: r = %v, want %v", look, r, want)
		}
		if len(s.Moves()) > 1 {
			// the explorer may leave the prefix applied, never the jump
			t.Errorf("session holds %d moves", len(s.Moves()))
		}
	}
}

// passSession is a CCF-like session (edges with pass counts, 1–2 passes)
// with a per-node heat that records how often each node was reached.
type passSession struct {
	*planners.Tracker
}

func (s *passSession) Starts() []int                                  { return []int{0} }
func (s *passSession) Candidates(dst []planners.Move) []planners.Move { return s.BaseCandidates(dst) }
func (s *passSession) Reward(m planners.Move) float64                 { return 1 }
func (s *passSession) Apply(m planners.Move)                          { s.ApplyBase(m) }
func (s *passSession) Undo()                                          { s.UndoBase() }
func (s *passSession) Jump() []planners.Move                          { return nil }
func (s *passSession) Metrics() map[string]float64                    { return s.BaseMetrics() }
func (s *passSession) NodeHeat(v int) float64 {
	return float64(s.Visits(v)) + 0.5*float64(len(s.Moves()))
}

var (
	_ planners.Session    = (*passSession)(nil)
	_ planners.HeatSource = (*passSession)(nil)
)

func TestSignedPassesAndHeatRows(t *testing.T) {
	// a square 0-1-2-3 with every edge allowed twice
	pos := []r3.Vector{{}, {X: 10}, {X: 10, Y: 10}, {Y: 10}}
	g := mustGraph(t, pos, []graph.Edge{{A: 0, B: 1}, {A: 1, B: 2}, {A: 2, B: 3}, {A: 0, B: 3}})
	g.Passes = []uint8{2, 2, 2, 2}
	s := &passSession{planners.NewTracker(g, planners.EdgesOnceOrTwice)}
	s.Begin(0)
	b, _ := NewBuilder(g, Config{Ring: 2, NMax: 6})
	ex, _ := NewExplorer(s, ExplorerConfig{Horizon: 3, SignedPasses: true})
	ex.Reset()
	l, _ := b.Build(0, -1)
	ex.Bind(l)
	lo := Layout{N: 6}
	buf := make([]float64, lo.Len())
	ex.FillRoot(lo, buf)
	e01 := l.EdgeLocal(0)
	ed := l.Edges[e01]
	at := func(c int) float64 { return buf[lo.Index(c, int(ed.I), int(ed.J))] }
	if at(0) != -1 || at(1) != -1 || at(2) != -1 { // two passes left: negative length (10/10)
		t.Fatalf("root entries %v %v %v", at(0), at(1), at(2))
	}
	// walk 0→1 then 1→0 (the same edge twice) inside the explorer
	var x int32
	for _, to := range []int{1, 0} {
		found := false
		for _, a := range ex.Actions(x) {
			if ex.ActionMove(x, a).To == to {
				x, _, _ = ex.Transition(x, a)
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("no action to %d", to)
		}
	}
	var ov Overlay
	ex.Materialise(x, lo, buf, &ov)
	// A: used up (0); A†: before the last pass (one left, +1); A‡: before
	// the first pass (two left, −1)
	if at(0) != 0 || at(1) != 1 || at(2) != -1 {
		t.Errorf("after two passes: %v %v %v, want 0 1 -1", at(0), at(1), at(2))
	}
	// heat rows: channel c holds the heat c steps back along the prefix
	c0 := l.Local(0)
	for c := range Channels {
		got := buf[lo.Index(c, lo.N+RowHeat, c0)]
		var exp float64
		switch c {
		case 0: // state after 0→1→0: visits(0) = 2, 2 moves
			exp = 2 + 1
		case 1: // after 0→1: visits(0) = 1, 1 move
			exp = 1 + 0.5
		case 2: // root: visits(0) = 1, 0 moves
			exp = 1
		}
		if got != exp {
			t.Errorf("heat channel %d at node 0 = %v, want %v", c, got, exp)
		}
	}
	ov.Revert(buf)
	if at(0) != -1 || buf[lo.Index(0, lo.N+RowHeat, c0)] != 1 {
		t.Error("revert incomplete")
	}
}
