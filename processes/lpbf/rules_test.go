package lpbf

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
)

// rulesProcess is a process with the given session rules (everything else
// at the defaults).
func rulesProcess(t *testing.T, maxResid float64, stranding, rewardHeat string) *Process {
	t.Helper()
	return testProcess(t, func(c *config.Cell) {
		c.LPBF.MaxResidualHeat = maxResid
		c.LPBF.Stranding = stranding
		c.LPBF.RewardHeat = rewardHeat
		c.LPBF.HotAreaWeight = 0
	})
}

func node(t *testing.T, s *Session, col, row int32) int {
	t.Helper()
	v, ok := s.Lattice().Node(col, row)
	if !ok {
		t.Fatalf("no pixel at (%d, %d)", col, row)
	}
	return v
}

func targets(ms []planners.Move) []int {
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = m.To
	}
	return out
}

// The hot-spot rule on a 2 × 200 wall (the shape of box#101): at the end
// of the first row the only neighbour left was heated from the side (and
// more than the neighbour below the laser in mid-row, which the laser
// passes while it is still moving away), so with a threshold between the
// two the laser must jump — to the cold start of the second row — instead
// of turning; in mid-row, where both neighbours are cool, nothing changes;
// with a threshold above the turn's residual heat, or the rule off, the
// turn is offered.
func TestHotSpotRuleJumpsAtTheTurn(t *testing.T) {
	const w = 200
	g := maskGraph(t, w, 2, func(c, r int) bool { return true })
	// walk scans the first row and returns the residual heat of the pixel
	// below the laser at mid-row (checking that both neighbours are offered
	// there) and of the turn pixel at the end.
	walk := func(s *Session) (mid, turn float64) {
		if err := s.Begin(node(t, s, 0, 1)); err != nil {
			t.Fatal(err)
		}
		rf := s.Residual() // nil with the rule off: no values returned
		for c := int32(1); c < w; c++ {
			if c == 100 {
				if got := targets(s.Candidates(nil)); len(got) != 2 {
					t.Fatalf("mid-row candidates %v, want the next pixel and the one below", got)
				}
				if rf != nil {
					mid = rf.Temp(node(t, s, c-1, 0))
				}
			}
			s.Apply(s.MoveTo(node(t, s, c, 1)))
		}
		if rf == nil {
			return 0, 0
		}
		return mid, rf.Temp(node(t, s, w-1, 0))
	}
	turn := func(s *Session) int { return node(t, s, w-1, 0) }

	s := session(t, rulesProcess(t, 1000, "off", "capped"), g) // rule on (never hot): the session keeps the residual field
	mid, r := walk(s)
	if !(r > mid && mid > 0.5) {
		t.Fatalf("scenario: residual heat mid-row %v, at the turn %v; want 0.5 < mid < turn", mid, r)
	}
	thr := (mid + r) / 2
	s = session(t, rulesProcess(t, thr, "off", "capped"), g)
	if m2, r2 := walk(s); m2 != mid || r2 != r {
		t.Fatalf("residual field depends on the threshold: %v/%v vs %v/%v", m2, r2, mid, r)
	}
	if c := s.Candidates(nil); len(c) != 0 {
		t.Fatalf("threshold %v: candidates %v at the turn (residual %v), want none (jump)", thr, c, r)
	}
	j := s.Jump()
	if len(j) != 1 || j[0].Kind != planners.Jump || j[0].To != node(t, s, 0, 0) {
		t.Fatalf("jump %v, want to the cold start of the second row (node %d)", j, node(t, s, 0, 0))
	}
	if u := s.Residual().Temp(j[0].To); u != 0 {
		t.Fatalf("jump target residual %v, want 0", u)
	}
	// the residual heat the rule read is the one the evaluator reports when
	// the laser turns there
	s.Apply(s.MoveTo(turn(s)))
	ev, err := Evaluate(s.proc.cfg.LPBF, g, s.order())
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.Thermal.Residual[turn(s)]; got != r {
		t.Fatalf("evaluator residual at the turn %v, session %v", got, r)
	}

	for _, tc := range []struct {
		thr  float64
		name string
	}{{r + 0.01, "threshold above"}, {0, "rule off"}} {
		s := session(t, rulesProcess(t, tc.thr, "off", "capped"), g)
		walk(s)
		if c := targets(s.Candidates(nil)); len(c) != 1 || c[0] != turn(s) {
			t.Fatalf("%s: candidates %v, want the turn %d", tc.name, c, turn(s))
		}
	}

	// whole plans (greedy drives the session): with the rule the peak
	// residual heat stays at or below the threshold, without it the
	// serpentine's return pass exceeds it.
	for _, th := range []float64{0, thr} {
		p := rulesProcess(t, th, "off", "capped")
		s := session(t, p, g)
		moves := plan(t, p, "greedy", s, p.cfg.Planner)
		ev, err := Evaluate(p.cfg.LPBF, g, planners.PathOf(moves))
		if err != nil {
			t.Fatal(err)
		}
		peak := ev.Thermal.PeakResidual
		if th > 0 && (peak > th || ev.Jumps == 0) {
			t.Fatalf("greedy with the rule: peak %v (threshold %v), %d jumps", peak, th, ev.Jumps)
		}
		if th == 0 && !(peak > thr) {
			t.Fatalf("greedy without the rule: peak %v, want above %v", peak, thr)
		}
	}
}

// Property test of the hot-spot rule and of Residual on random walks over
// a holed layer, against brute force over every pixel: the offered moves
// are exactly the cool neighbours; none when all neighbours are hot and a
// cool pixel is left anywhere (the jump then lands on a cool one); the
// coolest pixels when nothing cool is left. The residual heat the session
// reads before each step is, bit for bit, what the evaluator reports.
func TestHotSpotRuleProperty(t *testing.T) {
	g := maskGraph(t, 14, 11, func(c, r int) bool {
		return !(c >= 5 && c <= 7 && r >= 4 && r <= 6) && !(c == 11 && r > 2)
	})
	for _, thr := range []float64{0.9, 1.2, 1.6} {
		p := rulesProcess(t, thr, "off", "capped")
		rng := rand.New(rand.NewPCG(7, uint64(thr*10)))
		hotEnds := 0
		for run := 0; run < 6; run++ {
			s := session(t, p, g)
			if err := s.Begin(rng.IntN(g.NumNodes())); err != nil {
				t.Fatal(err)
			}
			met := map[int]float64{}
			sawJump := false
			for !s.Done() {
				resid := s.Residual()
				base := s.BaseCandidates(nil)
				anyCool, lo := false, math.Inf(1)
				for v := 0; v < g.NumNodes(); v++ {
					if s.Visits(v) == 0 {
						anyCool = anyCool || resid.Temp(v) <= thr
						lo = math.Min(lo, resid.Temp(v))
					}
				}
				var want []int
				for _, m := range base {
					if resid.Temp(m.To) <= thr {
						want = append(want, m.To)
					}
				}
				if len(want) == 0 && !anyCool {
					if len(base) > 0 {
						hotEnds++
					}
					for _, m := range base {
						if resid.Temp(m.To) <= lo {
							want = append(want, m.To)
						}
					}
				}
				got := s.Candidates(nil)
				if gt := targets(got); !slices.Equal(gt, want) {
					t.Fatalf("threshold %v: candidates %v, brute force %v (base %v)", thr, gt, want, targets(base))
				}
				var m planners.Move
				if len(got) == 0 {
					j := s.Jump()
					if len(j) != 1 {
						t.Fatalf("no candidates and jump %v", j)
					}
					m = j[0]
					if u := resid.Temp(m.To); (anyCool && u > thr) || (!anyCool && u != lo) {
						t.Fatalf("threshold %v: jump to residual %v (cool left %v, coolest %v)", thr, u, anyCool, lo)
					}
					sawJump = sawJump || len(base) > 0
				} else {
					m = got[rng.IntN(len(got))]
				}
				met[m.To] = resid.Temp(m.To)
				s.Apply(m)
			}
			if !sawJump && thr < 1 {
				t.Fatalf("threshold %v: the walk never jumped away from hot neighbours", thr)
			}
			ev, err := Evaluate(p.cfg.LPBF, g, s.order())
			if err != nil {
				t.Fatal(err)
			}
			for v, r := range met {
				if ev.Thermal.Residual[v] != r {
					t.Fatalf("pixel %d: session residual %v, evaluator %v", v, r, ev.Thermal.Residual[v])
				}
			}
		}
		if thr < 1 && hotEnds == 0 {
			t.Fatalf("threshold %v: no state where every pixel left was hot", thr)
		}
		t.Logf("threshold %v: %d states with every pixel left hot", thr, hotEnds)
	}
}

// notch is a 4 × 2 block where pixels (0,1) and (2,1) are already scanned
// and the laser stands at (1,0): the pixel above it, (1,1), has no other
// unvisited neighbour, so stepping on to (2,0) strands it; stepping into it
// strands nothing ((2,0) keeps (3,0)).
func notch(t *testing.T, p *Process) (*Session, int, int) {
	t.Helper()
	g := maskGraph(t, 4, 2, func(c, r int) bool { return true })
	s := session(t, p, g)
	if err := s.Begin(node(t, s, 0, 1)); err != nil {
		t.Fatal(err)
	}
	for _, cr := range [][2]int32{{2, 1}, {0, 0}, {1, 0}} {
		s.Apply(s.MoveTo(node(t, s, cr[0], cr[1])))
	}
	return s, node(t, s, 1, 1), node(t, s, 2, 0)
}

func TestStrandingRule(t *testing.T) {
	// off: both neighbours offered, Eq. 13 rewards
	s, pocket, on := notch(t, rulesProcess(t, 0, "off", "capped"))
	if got := targets(s.Candidates(nil)); len(got) != 2 {
		t.Fatalf("off: candidates %v, want both", got)
	}
	if st := s.strands(s.Current(), on); st != 1 {
		t.Fatalf("strands(→(2,0)) = %d, want 1", st)
	}
	if st := s.strands(s.Current(), pocket); st != 0 {
		t.Fatalf("strands(→pocket) = %d, want 0", st)
	}
	base := s.Reward(s.MoveTo(on))
	// mask: only the pocket is offered
	s, pocket, on = notch(t, rulesProcess(t, 0, "mask", "capped"))
	if got := targets(s.Candidates(nil)); len(got) != 1 || got[0] != pocket {
		t.Fatalf("mask: candidates %v, want only the pocket %d", got, pocket)
	}
	// penalty: the stranding move loses stranding_penalty·h_max
	p := testProcess(t, func(c *config.Cell) {
		c.LPBF.MaxResidualHeat, c.LPBF.Stranding, c.LPBF.StrandingPenalty, c.LPBF.HMax, c.LPBF.HotAreaWeight = 0, "penalty", 0.75, 2, 0
	})
	s, _, on = notch(t, p)
	if got := targets(s.Candidates(nil)); len(got) != 2 {
		t.Fatalf("penalty: candidates %v, want both", got)
	}
	f := s.Field()
	if r, want := s.Reward(s.MoveTo(on)), 2-f.Temp(on)-0.75*2; math.Abs(r-want) > 1e-15 {
		t.Fatalf("penalty: reward %v, want %v (Eq. 13 %v)", r, want, base)
	}

	// an L shape: from the corner's neighbour, the move that keeps the arm
	// reachable is preferred; strands agrees with brute force on random
	// walks (count the unvisited pixels next to the laser's old or new
	// pixel that have no unvisited neighbour after the move).
	g := maskGraph(t, 9, 7, func(c, r int) bool { return c < 3 || r < 2 || (c == 6 && r == 4) })
	ps := rulesProcess(t, 0, "mask", "capped")
	rng := rand.New(rand.NewPCG(3, 4))
	for run := 0; run < 20; run++ {
		s := session(t, ps, g)
		if err := s.Begin(rng.IntN(g.NumNodes())); err != nil {
			t.Fatal(err)
		}
		for !s.Done() {
			base := s.BaseCandidates(nil)
			best := math.MaxInt
			counts := make([]int, len(base))
			for i, m := range base {
				counts[i] = bruteStrands(s, g, m)
				if st := s.strands(m.From, m.To); st != counts[i] {
					t.Fatalf("strands(%d→%d) = %d, brute force %d", m.From, m.To, st, counts[i])
				}
				best = min(best, counts[i])
			}
			var want []int
			for i, m := range base {
				if counts[i] == best {
					want = append(want, m.To)
				}
			}
			got := s.Candidates(nil)
			if !slices.Equal(targets(got), want) {
				t.Fatalf("mask: candidates %v, want %v", targets(got), want)
			}
			if len(got) == 0 {
				s.Apply(s.Jump()[0])
			} else {
				s.Apply(got[rng.IntN(len(got))])
			}
		}
	}
}

func bruteStrands(s *Session, g *graph.Graph, m planners.Move) int {
	near := map[int]bool{}
	for _, h := range g.Neighbors(m.From) {
		near[int(h.To)] = true
	}
	for _, h := range g.Neighbors(m.To) {
		near[int(h.To)] = true
	}
	s.Apply(m)
	defer s.Undo()
	n := 0
	for u := range near {
		if s.Visits(u) > 0 {
			continue
		}
		free := 0
		for _, h := range g.Neighbors(u) {
			if s.Visits(int(h.To)) == 0 {
				free++
			}
		}
		if free == 0 {
			n++
		}
	}
	return n
}

// reward_heat residual: Eq. 13 reads the residual heat (above the cap),
// capped: the planner's capped field.
func TestRewardHeatResidual(t *testing.T) {
	g := maskGraph(t, 6, 6, func(c, r int) bool { return true })
	p := rulesProcess(t, 0, "off", "residual")
	s := session(t, p, g)
	if err := s.Begin(0); err != nil {
		t.Fatal(err)
	}
	above := false
	for !s.Done() {
		c := s.Candidates(nil)
		if len(c) == 0 {
			j := s.Jump()[0]
			if r := s.Reward(j); r != -s.Residual().Temp(j.To) {
				t.Fatalf("jump reward %v, want %v", r, -s.Residual().Temp(j.To))
			}
			s.Apply(j)
			continue
		}
		for _, m := range c {
			u := s.Residual().Temp(m.To)
			if r := s.Reward(m); r != 1-u || r > s.MaxStepReward() {
				t.Fatalf("reward %v, want 1 − residual = %v", r, 1-u)
			}
			above = above || u > 1
		}
		s.Apply(c[len(c)-1]) // the last candidate: curls, so the residual heat exceeds the cap
	}
	if !above {
		t.Fatal("scenario: no candidate above the cap")
	}
	// with the default (capped) the session keeps no residual field
	s2 := session(t, rulesProcess(t, 0, "off", "capped"), g)
	if s2.Residual() != nil {
		t.Fatal("capped reward without hot-spot rule keeps a residual field")
	}
}

// Bad rule settings are rejected by the configuration with the key named.
func TestSessionRuleConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		key string
		mod func(*config.LPBFProcess)
	}{
		{"lpbf.max_residual_heat", func(l *config.LPBFProcess) { l.MaxResidualHeat = math.NaN() }},
		{"lpbf.max_residual_heat", func(l *config.LPBFProcess) { l.MaxResidualHeat = -0.5 }},
		{"lpbf.max_residual_heat", func(l *config.LPBFProcess) { l.MaxResidualHeat = math.Inf(1) }},
		{"lpbf.stranding", func(l *config.LPBFProcess) { l.Stranding = "sometimes" }},
		{"lpbf.stranding_penalty", func(l *config.LPBFProcess) { l.StrandingPenalty = math.NaN() }},
		{"lpbf.stranding_penalty", func(l *config.LPBFProcess) { l.StrandingPenalty = -1 }},
		{"lpbf.reward_heat", func(l *config.LPBFProcess) { l.RewardHeat = "hot" }},
		{"lpbf.hot_area_weight", func(l *config.LPBFProcess) { l.HotAreaWeight = math.NaN() }},
		{"lpbf.hot_area_weight", func(l *config.LPBFProcess) { l.HotAreaWeight = -0.1 }},
		{"lpbf.hot_area_weight", func(l *config.LPBFProcess) { l.HotAreaWeight = math.Inf(1) }},
	} {
		c := config.Defaults()
		tc.mod(&c.LPBF)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: error %v", tc.key, err)
		}
	}
	c, err := config.Parse(strings.NewReader("lpbf:\n  max_residual_heat: .nan\n"))
	if err == nil || !strings.Contains(err.Error(), "lpbf.max_residual_heat") {
		t.Errorf("YAML NaN: %v %+v", err, c.LPBF)
	}
	c, err = config.Parse(strings.NewReader("lpbf:\n  max_residual_heat: 0\n  stranding: \"off\"\n  hot_area_weight: 0\n"))
	if err != nil || c.LPBF.MaxResidualHeat != 0 || c.LPBF.Stranding != "off" || c.LPBF.HotAreaWeight != 0 {
		t.Errorf("explicit off: %v %+v", err, c.LPBF)
	}
	if d := config.Defaults().LPBF.HotAreaWeight; d != 0.3 {
		t.Errorf("default hot_area_weight %v, want 0.3", d)
	}
}

// hot_area_weight: every move's reward loses weight·H_max per scanned
// pixel that is hot after it — checked against the evaluator's hot-area
// history of the order extended by the move (thermal.Report.HotNodes,
// independent replay), for scan steps and jumps along random walks with
// every other rule on, and the session state is unchanged by Reward.
func TestHotAreaWeightReward(t *testing.T) {
	g := maskGraph(t, 13, 9, func(c, r int) bool {
		return !(c >= 4 && c <= 6 && r >= 3 && r <= 5) && !(c == 10 && r > 1)
	})
	for _, w := range []float64{0.3, 2} {
		p := testProcess(t, func(c *config.Cell) { c.LPBF.HotAreaWeight = w })
		off := testProcess(t, func(c *config.Cell) { c.LPBF.HotAreaWeight = 0 })
		rng := rand.New(rand.NewPCG(11, uint64(w*10)))
		checked, differ := 0, 0
		for run := 0; run < 3; run++ {
			s, ref := session(t, p, g), session(t, off, g)
			start := rng.IntN(g.NumNodes())
			if err := s.Begin(start); err != nil {
				t.Fatal(err)
			}
			if err := ref.Begin(start); err != nil {
				t.Fatal(err)
			}
			for !s.Done() {
				ms := s.Candidates(nil)
				if len(ms) == 0 {
					ms = s.Jump()
				}
				order := s.order()
				for _, m := range ms {
					before := append([]float64(nil), s.Field().Temp(m.To), s.Residual().Temp(m.To))
					steps := s.Field().Steps()
					r := s.Reward(m)
					if s.Field().Steps() != steps || s.Field().Temp(m.To) != before[0] || s.Residual().Temp(m.To) != before[1] {
						t.Fatal("Reward changed the session's fields")
					}
					ev, err := Evaluate(p.cfg.LPBF, g, append(order[:len(order):len(order)], m.To))
					if err != nil {
						t.Fatal(err)
					}
					hot := float64(ev.Thermal.HotNodes[len(ev.Thermal.HotNodes)-1])
					if want := ref.Reward(m) - w*hot; math.Abs(r-want) > 1e-12 {
						t.Fatalf("w %v: reward of %v %v, want Eq. 13 %v − %v·%v hot = %v", w, m.Kind, r, ref.Reward(m), w, hot, want)
					}
					if hot < 1 || r > s.MaxStepReward() {
						t.Fatalf("w %v: %v hot pixels after a step (the melted pixel is hot), reward %v", w, hot, r)
					}
					checked++
				}
				if len(ms) > 1 && s.Reward(ms[0])-ref.Reward(ms[0]) != s.Reward(ms[1])-ref.Reward(ms[1]) {
					differ++
				}
				m := ms[rng.IntN(len(ms))]
				s.Apply(m)
				ref.Apply(m)
			}
		}
		if differ == 0 {
			t.Fatalf("w %v: the hot-area term never told two candidates apart (%d rewards checked)", w, checked)
		}
		t.Logf("w %v: %d rewards checked, %d states where the term differs between candidates", w, checked, differ)
	}
}

// On a 250 × 6 wall the hot-area term turns the plain rules' row-by-row
// order, which is hotter than the zig-zag raster, into one that is cooler
// (the wall of the held-out set, README "LPBF"); the peak stays at the
// hot-spot threshold.
func TestHotAreaWeightWall(t *testing.T) {
	g := maskGraph(t, 250, 6, func(c, r int) bool { return true })
	hot := func(w float64) (float64, float64) {
		p := testProcess(t, func(c *config.Cell) { c.LPBF.HotAreaWeight = w })
		s := session(t, p, g)
		plan(t, p, "greedy", s, config.Defaults().Planner)
		m := s.Metrics()
		return m["hot_area_mm2"], m["peak_temperature"]
	}
	p := testProcess(t, nil)
	ev, err := Evaluate(p.cfg.LPBF, g, (&Zigzag{}).Order(session(t, p, g).Lattice()))
	if err != nil {
		t.Fatal(err)
	}
	zz := ev.Map()["hot_area_mm2"]
	h0, _ := hot(0)
	h1, peak := hot(0.3)
	if !(h0 > zz && h1 < zz) || peak > p.cfg.LPBF.MaxResidualHeat {
		t.Fatalf("hot area: rules without the term %.5f, with %.5f (peak %.3f), zigzag %.5f; want without > zigzag > with, peak ≤ %v", h0, h1, peak, zz, p.cfg.LPBF.MaxResidualHeat)
	}
	t.Logf("hot area: without %.5f, with %.5f, zigzag %.5f mm²", h0, h1, zz)
}
