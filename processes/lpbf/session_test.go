package lpbf

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
)

// snapshot is everything observable about a session.
type snapshot struct {
	cur       int
	heat      []float64
	cands     []planners.Move
	jump      []planners.Move
	unvisited int
	done, tot int
	moves     int
	rewards   []float64
}

func snap(s *Session) snapshot {
	n := s.G.NumNodes()
	sn := snapshot{cur: s.Current(), heat: make([]float64, n), unvisited: s.Unvisited(), moves: len(s.Moves())}
	for v := 0; v < n; v++ {
		sn.heat[v] = s.NodeHeat(v)
	}
	sn.cands = s.Candidates(nil)
	for _, m := range sn.cands {
		sn.rewards = append(sn.rewards, s.Reward(m))
	}
	sn.jump = append([]planners.Move(nil), s.Jump()...)
	sn.done, sn.tot = s.Progress()
	return sn
}

func sameSnap(t *testing.T, what string, a, b snapshot) {
	t.Helper()
	if a.cur != b.cur || a.unvisited != b.unvisited || a.done != b.done || a.moves != b.moves || len(a.cands) != len(b.cands) || len(a.jump) != len(b.jump) {
		t.Fatalf("%s: cur %d/%d unvisited %d/%d done %d/%d moves %d/%d cands %d/%d jump %v/%v", what,
			a.cur, b.cur, a.unvisited, b.unvisited, a.done, b.done, a.moves, b.moves, len(a.cands), len(b.cands), a.jump, b.jump)
	}
	for v := range a.heat {
		if math.Float64bits(a.heat[v]) != math.Float64bits(b.heat[v]) {
			t.Fatalf("%s: heat of node %d %v vs %v", what, v, a.heat[v], b.heat[v])
		}
	}
	for i := range a.cands {
		if a.cands[i] != b.cands[i] || a.rewards[i] != b.rewards[i] {
			t.Fatalf("%s: candidate %d %v (r %v) vs %v (r %v)", what, i, a.cands[i], a.rewards[i], b.cands[i], b.rewards[i])
		}
	}
	for i := range a.jump {
		if a.jump[i] != b.jump[i] {
			t.Fatalf("%s: jump %v vs %v", what, a.jump, b.jump)
		}
	}
}

// Apply/Undo in any interleaving leaves the session exactly as a fresh
// replay of the remaining moves would (field, candidates, rewards, jump).
func TestSessionUndoExact(t *testing.T) {
	p := testProcess(t, nil)
	g := maskGraph(t, 24, 18, func(c, r int) bool {
		return !(c > 8 && c < 14 && r > 5 && r < 11) && (c < 20 || r < 6)
	})
	for _, model := range []string{"diffusion", "decay"} {
		p := testProcess(t, func(c *config.Cell) { c.LPBF.Model = model })
		s, ref := session(t, p, g), session(t, p, g)
		rng := rand.New(rand.NewPCG(1, 2))
		if err := s.Begin(0); err != nil {
			t.Fatal(err)
		}
		for op := 0; op < 1500; op++ {
			if len(s.Moves()) > 0 && rng.IntN(3) == 0 {
				for k := 1 + rng.IntN(5); k > 0 && len(s.Moves()) > 0; k-- {
					s.Undo()
				}
			} else if !s.Done() {
				c := s.Candidates(nil)
				if len(c) == 0 {
					c = s.Jump()
				}
				s.Apply(c[rng.IntN(len(c))])
			} else {
				continue
			}
			if _, err := planners.Replay(ref, append([]int{0}, planners.PathOf(s.Moves())[min(1, len(s.Moves())):]...)); err != nil {
				t.Fatal(err)
			}
			if len(s.Moves()) == 0 {
				if err := ref.Begin(0); err != nil {
					t.Fatal(err)
				}
			}
			sameSnap(t, model, snap(s), snap(ref))
		}
	}
	_ = p
}

// Reward is Eq. 13 without D(k): H_max − T(to) for a scan step, −T(to) for
// a jump or a travel onto a scanned pixel; NodeHeat is T/H_max. The
// session rules are off here (Eq. 13 as in the paper; rules_test.go covers
// them): the walk relies on the last move being a scan step.
func TestRewardEq13(t *testing.T) {
	p := testProcess(t, func(c *config.Cell) {
		c.LPBF.HMax, c.LPBF.MaxResidualHeat, c.LPBF.Stranding, c.LPBF.HotAreaWeight = 2.5, 0, "off", 0
		c.LPBF.Warnsdorff, c.LPBF.ReheatJump = "off", 0
	})
	g := maskGraph(t, 12, 12, func(c, r int) bool { return true })
	s := session(t, p, g)
	if err := s.Begin(5); err != nil {
		t.Fatal(err)
	}
	f := s.Field()
	for step := 0; step < 60 && !s.Done(); step++ {
		c := s.Candidates(nil)
		for _, m := range c {
			want := 2.5 - f.Temp(m.To)
			if r := s.Reward(m); r != want || r > s.MaxStepReward() || r < 0 {
				t.Fatalf("scan step %v: reward %v, want %v (bound %v)", m, r, want, s.MaxStepReward())
			}
			if h := s.NodeHeat(m.To); h != f.Temp(m.To)/2.5 || h < 0 || h > 1 {
				t.Fatalf("NodeHeat %v", h)
			}
		}
		if len(c) == 0 {
			j := s.Jump()
			if r := s.Reward(j[0]); r != -f.Temp(j[0].To) {
				t.Fatalf("jump reward %v, want %v", r, -f.Temp(j[0].To))
			}
			s.Apply(j[0])
			continue
		}
		// a travel back onto the previous pixel is penalised
		if prev := s.Current(); len(s.Moves()) > 0 {
			back := s.MoveTo(s.Moves()[len(s.Moves())-1].From)
			if back.Kind != planners.Travel || s.Reward(back) != -f.Temp(back.To) {
				t.Fatalf("travel %v from %d: reward %v", back, prev, s.Reward(back))
			}
		}
		s.Apply(c[len(c)-1])
	}
}

// The jump target is the coolest unvisited pixel, then the farthest, and
// never a pixel whose two free neighbours are opposite (unless all are).
func TestJumpRule(t *testing.T) {
	p := testProcess(t, func(c *config.Cell) { c.LPBF.LineRunPX = 0 }) // §11 alone (the line rule's jumps split lines: TestLineRule)
	// a 1-pixel line of 41 cells: scan 0..4, jump to 40, scan 40..34
	g := maskGraph(t, 41, 1, func(c, r int) bool { return true })
	s := session(t, p, g)
	if err := s.Begin(0); err != nil {
		t.Fatal(err)
	}
	for _, v := range []int{1, 2, 3, 4, 40, 39, 38, 37, 36, 35, 34} {
		s.Apply(s.MoveTo(v))
	}
	f := s.Field()
	// scenario: the middle of the free run 5..33 is cold (T = 0), its ends
	// are warm — the coolest pixels are all splitters
	if !(f.Temp(20) == 0 && f.Temp(5) > 0 && f.Temp(33) > f.Temp(5)) {
		t.Fatalf("scenario: T5 %v T20 %v T33 %v", f.Temp(5), f.Temp(20), f.Temp(33))
	}
	j := s.Jump()
	if len(j) != 1 || j[0].Kind != planners.Jump || j[0].Edge != -1 || j[0].From != 34 {
		t.Fatalf("jump %v", j)
	}
	if j[0].To != 5 {
		t.Fatalf("jump to %d, want 5, the cooler end (T: 5=%v 20=%v 33=%v)", j[0].To, f.Temp(5), f.Temp(20), f.Temp(33))
	}
	if !s.splitsLine(20) || s.splitsLine(5) || s.splitsLine(33) {
		t.Fatal("splitsLine")
	}
	// without a non-splitter left, the coolest farthest splitter is taken
	g2 := maskGraph(t, 3, 3, func(c, r int) bool { return r == 1 || c == 1 }) // plus sign
	s2 := session(t, p, g2)
	if err := s2.Begin(0); err != nil {
		t.Fatal(err)
	}
	if s2.Jump()[0].To == 0 {
		t.Fatal("jump to the current pixel")
	}
	// Jump on a finished layer returns nil
	g3 := maskGraph(t, 1, 1, func(c, r int) bool { return true })
	s3 := session(t, p, g3)
	if err := s3.Begin(0); err != nil || !s3.Done() || s3.Jump() != nil {
		t.Fatalf("single pixel: %v done %v jump %v", err, s3.Done(), s3.Jump())
	}
}

func TestStartsAndCandidates(t *testing.T) {
	p := testProcess(t, func(c *config.Cell) { // base candidates: no session rule filters
		c.LPBF.MaxResidualHeat, c.LPBF.Stranding, c.LPBF.Warnsdorff, c.LPBF.ReheatJump = 0, "off", "off", 0
		c.LPBF.LineRunPX = 0
	})
	g := maskGraph(t, 5, 4, func(c, r int) bool { return true })
	s := session(t, p, g)
	st := s.Starts()
	if st[0] != 0 || len(st) != 14 { // 20 pixels, 6 interior
		t.Fatalf("starts %v", st)
	}
	if err := s.Begin(7); err != nil {
		t.Fatal(err)
	}
	c := s.Candidates(nil)
	if len(c) != 4 {
		t.Fatalf("interior pixel: %d candidates", len(c))
	}
	for _, m := range c {
		if m.Kind != planners.Print || m.From != 7 {
			t.Fatalf("candidate %v", m)
		}
	}
	if err := s.Begin(99); err == nil {
		t.Fatal("Begin out of range accepted")
	}
}

func TestNotPixelGraph(t *testing.T) {
	p := testProcess(t, nil)
	g, err := graph.Load("../../planners/graph/testdata/NodeFemur_wireframe.txt", graph.LoadOptions{})
	if err != nil {
		t.Skip(err)
	}
	if _, err := p.NewSession(g); !errors.Is(err, ErrNotPixel) {
		t.Fatalf("wire-frame accepted: %v", err)
	}
	bad := maskGraph(t, 3, 3, func(c, r int) bool { return true })
	bad.Pos[4].X += 0.01
	if _, err := p.NewSession(bad); !errors.Is(err, ErrNotPixel) || !strings.Contains(err.Error(), "node 4") {
		t.Fatalf("off-grid node: %v", err)
	}
	if _, err := p.Load("testdata/does-not-exist.png"); err == nil {
		t.Fatal("missing file accepted")
	}
	// a CCF edge list (each edge listed twice) is refused for what it is,
	// not read as a pixel graph with duplicate edges
	for _, m := range []string{"../../planners/graph/testdata/NodeGear_CCF.txt", "../../planners/graph/testdata/Duck_wireframe.obj"} {
		_, err := p.Load(m)
		if !errors.Is(err, ErrNotPixel) || strings.Contains(err.Error(), "duplicate") || !strings.Contains(err.Error(), "PNG mask or a CLI layer") {
			t.Errorf("%s: err = %v, want ErrNotPixel naming the formats", m, err)
		}
	}
}
