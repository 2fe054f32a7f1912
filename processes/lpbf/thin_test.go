package lpbf

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
)

// bruteWidth is the local width class by definition: the largest k ≤ 3
// such that some k × k square of layer pixels contains v (every square
// containing v is tried).
func bruteWidth(l *Lattice, v int) int {
	c, r := l.Col[v], l.Row[v]
	for k := int32(3); k >= 2; k-- {
		for c0 := c - k + 1; c0 <= c; c0++ {
			for r0 := r - k + 1; r0 <= r; r0++ {
				full := true
				for dc := int32(0); dc < k && full; dc++ {
					for dr := int32(0); dr < k && full; dr++ {
						_, full = l.Node(c0+dc, r0+dr)
					}
				}
				if full {
					return int(k)
				}
			}
		}
	}
	return 1
}

// thinMask returns a random w × h mask of horizontal and vertical bars 1–4
// px wide, outlines of rectangles and single pixels: every local width
// class occurs.
func thinMask(rng *rand.Rand, w, h int) func(c, r int) bool {
	in := make([]bool, w*h)
	set := func(c, r int) {
		if c >= 0 && c < w && r >= 0 && r < h {
			in[r*w+c] = true
		}
	}
	for range 5 {
		bw, c0, r0 := 1+rng.IntN(4), rng.IntN(w), rng.IntN(h)
		n := 3 + rng.IntN(w)
		vertical := rng.IntN(2) == 0
		for i := range n {
			for j := range bw {
				if vertical {
					set(c0+j, r0+i)
				} else {
					set(c0+i, r0+j)
				}
			}
		}
	}
	c0, r0 := rng.IntN(w/2), rng.IntN(h/2)
	c1, r1 := c0+3+rng.IntN(w/2), r0+3+rng.IntN(h/2)
	for c := c0; c <= c1; c++ {
		set(c, r0)
		set(c, r1)
	}
	for r := r0; r <= r1; r++ {
		set(c0, r)
		set(c1, r)
	}
	for range 4 {
		set(rng.IntN(w), rng.IntN(h))
	}
	return func(c, r int) bool { return in[r*w+c] }
}

// localWidth against the definition on random masks and on shapes of
// known width (1-px line, 2-px wall, 3-px wall, solid block).
func TestLocalWidth(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 7))
	classes := [4]int{}
	for range 40 {
		g := maskGraph(t, 20, 14, thinMask(rng, 20, 14))
		l, err := NewLattice(g)
		if err != nil {
			t.Fatal(err)
		}
		w := localWidth(l)
		for v := range g.NumNodes() {
			if want := bruteWidth(l, v); int(w[v]) != want {
				t.Fatalf("pixel (%d, %d): local width %d, by definition %d", l.Col[v], l.Row[v], w[v], want)
			}
			classes[w[v]]++
		}
	}
	if classes[1] == 0 || classes[2] == 0 || classes[3] == 0 {
		t.Fatalf("random masks lack a width class: %v", classes)
	}
	for _, tc := range []struct{ w, h, want int }{{30, 1, 1}, {1, 30, 1}, {30, 2, 2}, {2, 30, 2}, {30, 3, 3}, {8, 8, 3}} {
		g := maskGraph(t, tc.w, tc.h, func(c, r int) bool { return true })
		l, _ := NewLattice(g)
		for v, x := range localWidth(l) {
			if int(x) != tc.want {
				t.Fatalf("%d × %d block: pixel %d has width %d, want %d", tc.w, tc.h, v, x, tc.want)
			}
		}
	}
}

// lattice4 and lattice8 count the unvisited side (4) or side-and-corner
// (8) neighbours of u, not counting except — from the lattice, not the
// session's helpers.
func latticeFree(s *Session, u, except int, corners bool) int {
	l := s.Lattice()
	n := 0
	for dr := int32(-1); dr <= 1; dr++ {
		for dc := int32(-1); dc <= 1; dc++ {
			if (dc == 0 && dr == 0) || (!corners && dc != 0 && dr != 0) {
				continue
			}
			if w, ok := l.Node(l.Col[u]+dc, l.Row[u]+dr); ok && w != except && s.Visits(w) == 0 {
				n++
			}
		}
	}
	return n
}

// The thin tie-break against brute force on random walks over random thin
// masks: the session offers the unvisited neighbours with the fewest
// unvisited side neighbours (fewest-neighbours rule) and, when the
// laser's pixel has local width ≤ thin_width_px, only those of them with
// the fewest unvisited side-and-corner neighbours; on wider pixels the
// ties stay. Both branches must occur.
func TestThinTieBreak(t *testing.T) {
	for _, tw := range []int{1, 2} {
		p := testProcess(t, func(c *config.Cell) {
			c.LPBF.MaxResidualHeat, c.LPBF.Stranding, c.LPBF.Warnsdorff, c.LPBF.ReheatJump, c.LPBF.HotAreaWeight = 0, "off", "mask", 0, 0
			c.LPBF.ThinWidthPX, c.LPBF.LineRunPX = tw, 0
		})
		rng := rand.New(rand.NewPCG(3, uint64(tw)))
		broken, kept := 0, 0
		for run := range 30 {
			g := maskGraph(t, 18, 12, thinMask(rng, 18, 12))
			s := session(t, p, g)
			if err := s.Begin(rng.IntN(g.NumNodes())); err != nil {
				t.Fatal(err)
			}
			for !s.Done() {
				cur := s.Current()
				base := s.BaseCandidates(nil)
				pick := func(ms []planners.Move, score func(int) int) []planners.Move {
					lo := math.MaxInt
					for _, m := range ms {
						lo = min(lo, score(m.To))
					}
					var out []planners.Move
					for _, m := range ms {
						if score(m.To) == lo {
							out = append(out, m)
						}
					}
					return out
				}
				want := pick(base, func(u int) int { return latticeFree(s, u, cur, false) })
				if len(want) > 1 {
					if bruteWidth(s.Lattice(), cur) <= tw {
						if w8 := pick(want, func(u int) int { return latticeFree(s, u, cur, true) }); len(w8) < len(want) {
							broken++
							want = w8
						}
					} else {
						kept++
					}
				}
				got := s.Candidates(nil)
				if !slices.Equal(targets(got), targets(want)) {
					t.Fatalf("thin_width_px %d, run %d, at (%d, %d) width %d: candidates %v, brute force %v (base %v)", tw, run,
						s.Lattice().Col[cur], s.Lattice().Row[cur], bruteWidth(s.Lattice(), cur), targets(got), targets(want), targets(base))
				}
				if len(got) == 0 {
					s.Apply(s.Jump()[0])
				} else {
					s.Apply(got[rng.IntN(len(got))])
				}
			}
		}
		if broken == 0 || kept == 0 {
			t.Fatalf("thin_width_px %d: %d ties broken on thin pixels, %d ties kept on wide ones: the walks did not exercise both branches", tw, broken, kept)
		}
		t.Logf("thin_width_px %d: %d ties broken on thin pixels, %d kept on wider pixels", tw, broken, kept)
	}
}

// The line rule against brute force on random walks over random thin
// masks: no scan step is offered exactly when the laser's last
// line_run_px pixels (its own included) have local width 1 and were
// reached by scan steps, and an unvisited pixel other than the offered
// neighbours is left; the jump then goes to a coolest unvisited pixel and
// may split a 1-px line (it must, somewhere in the walks).
func TestLineRule(t *testing.T) {
	for _, run := range []int{1, 2, 3} {
		p := testProcess(t, func(c *config.Cell) {
			c.LPBF.MaxResidualHeat, c.LPBF.Stranding, c.LPBF.Warnsdorff, c.LPBF.ReheatJump, c.LPBF.HotAreaWeight = 0, "off", "off", 0, 0
			c.LPBF.ThinWidthPX, c.LPBF.LineRunPX = 0, run
		})
		rng := rand.New(rand.NewPCG(11, uint64(run)))
		fired, splits := 0, 0
		for walk := range 30 {
			g := maskGraph(t, 18, 12, thinMask(rng, 18, 12))
			s := session(t, p, g)
			l := s.Lattice()
			order := []int{rng.IntN(g.NumNodes())}
			var stepped []bool // stepped[i]: order[i+1] was reached by a scan step
			if err := s.Begin(order[0]); err != nil {
				t.Fatal(err)
			}
			for !s.Done() {
				base := s.BaseCandidates(nil)
				k := len(order) - 1
				n := 0 // pixels of the run ending at the laser: width 1, joined by scan steps
				for n < run {
					j := k - n
					if j < 0 || bruteWidth(l, order[j]) != 1 || (n > 0 && !stepped[j]) {
						break
					}
					n++
				}
				want := targets(base)
				if len(base) > 0 && n == run && s.Unvisited() > len(base) {
					want = []int{}
				}
				got := s.Candidates(nil)
				if gt := targets(got); !slices.Equal(gt, want) {
					t.Fatalf("line_run_px %d, walk %d, step %d at (%d, %d): candidates %v, brute force %v", run, walk, k, l.Col[order[k]], l.Row[order[k]], gt, want)
				}
				var m planners.Move
				if len(got) == 0 {
					if len(base) > 0 {
						fired++
					}
					m = s.Jump()[0]
					if want := bruteLineJump(s, order[k], n == run); m.To != want {
						t.Fatalf("line_run_px %d, walk %d, step %d: jump to (%d, %d), brute force (%d, %d)", run, walk, k,
							l.Col[m.To], l.Row[m.To], l.Col[want], l.Row[want])
					}
					if len(base) > 0 && splitsBrute(s, m.To) {
						splits++
					}
				} else {
					m = got[rng.IntN(len(got))]
				}
				s.Apply(m)
				order = append(order, m.To)
				stepped = append(stepped, m.Kind == planners.Print)
			}
		}
		if fired == 0 || splits == 0 {
			t.Fatalf("line_run_px %d: %d runs ended by the rule, %d jumps splitting a line: the walks did not exercise the rule", run, fired, splits)
		}
		t.Logf("line_run_px %d: %d runs ended by the rule, %d of their jumps split a line", run, fired, splits)
	}
}

// bruteLineJump is the jump target by enumeration (hot-spot rule off,
// jump_target nearest): among the unvisited pixels — only those that do
// not split a line unless lineRun (the line rule ended the run) or no
// other is left — the lowest temperature, then no scanned pixel closer
// than the kernel radius, then at least line_jump_radii (lineRun) or
// jump_min_radii kernel radii from the laser, then the nearest, then the
// lowest index.
func bruteLineJump(s *Session, cur int, lineRun bool) int {
	c := s.proc.cfg.LPBF
	l := s.Lattice()
	radii := c.JumpMinRadii
	if lineRun {
		radii = c.LineJumpRadii
	}
	minD2 := math.Pow(radii*c.HeatRadiusFactor*c.SpacingMM, 2)
	type key struct {
		t, d      float64
		near, low bool
		v         int
	}
	less := func(a, b key) bool {
		switch {
		case a.t != b.t:
			return a.t < b.t
		case a.near != b.near:
			return !a.near
		case a.low != b.low:
			return !a.low
		case a.d != b.d:
			return a.d < b.d
		}
		return a.v < b.v
	}
	best, anyBest := key{v: -1}, key{v: -1}
	for v := range s.G.NumNodes() {
		if s.Visits(v) != 0 {
			continue
		}
		near := false
		for u := range s.G.NumNodes() {
			dc, dr := float64(l.Col[u]-l.Col[v]), float64(l.Row[u]-l.Row[v])
			if u != v && s.Visits(u) > 0 && dc*dc+dr*dr < c.HeatRadiusFactor*c.HeatRadiusFactor {
				near = true
				break
			}
		}
		d := s.G.Pos[v].Sub(s.G.Pos[cur]).Norm2()
		k := key{t: s.Field().Temp(v), d: d, near: near, low: d < minD2, v: v}
		if anyBest.v < 0 || less(k, anyBest) {
			anyBest = k
		}
		if (lineRun || !splitsBrute(s, v)) && (best.v < 0 || less(k, best)) {
			best = k
		}
	}
	if best.v < 0 {
		return anyBest.v
	}
	return best.v
}

// splitsBrute: v has exactly two unvisited side neighbours, on opposite
// sides.
func splitsBrute(s *Session, v int) bool {
	l := s.Lattice()
	var free [][2]int32
	for _, d := range [][2]int32{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
		if u, ok := l.Node(l.Col[v]+d[0], l.Row[v]+d[1]); ok && s.Visits(u) == 0 {
			free = append(free, d)
		}
	}
	return len(free) == 2 && free[0][0] == -free[1][0] && free[0][1] == -free[1][1]
}

// End to end with greedy (the one-step planner on the same session): on a
// 2-px wall and on a 1-px rectangular loop, the default rules give a lower
// hot area and a lower peak temperature than both baselines; with the
// thin tie-break and the line rule off they do not (README "LPBF": the
// walls and loops that failed the goal before these rules).
func TestThinRulesBeatBaselines(t *testing.T) {
	for _, tc := range []struct {
		name string
		g    *graph.Graph
	}{
		{"wall 120x2", maskGraph(t, 120, 2, func(c, r int) bool { return true })},
		{"loop 101x41", maskGraph(t, 101, 41, func(c, r int) bool { return c == 0 || c == 100 || r == 0 || r == 40 })},
	} {
		p := testProcess(t, nil)
		lat := session(t, p, tc.g).Lattice()
		cb, err := NewChessboard(p.cfg.LPBF.ChessboardIslandMM, p.cfg.LPBF.ChessboardOrder)
		if err != nil {
			t.Fatal(err)
		}
		hot, peak := math.Inf(1), math.Inf(1)
		for _, o := range [][]int{(&Zigzag{}).Order(lat), cb.Order(lat)} {
			ev, err := Evaluate(p.cfg.LPBF, tc.g, o)
			if err != nil {
				t.Fatal(err)
			}
			m := ev.Map()
			hot, peak = math.Min(hot, m["hot_area_mm2"]), math.Min(peak, m["peak_temperature"])
		}
		greedy := func(p *Process) map[string]float64 {
			s := session(t, p, tc.g)
			plan(t, p, "greedy", s, config.Defaults().Planner)
			return s.Metrics()
		}
		on := greedy(p)
		off := greedy(testProcess(t, func(c *config.Cell) { c.LPBF.ThinWidthPX, c.LPBF.LineRunPX = 0, 0 }))
		if on["hot_area_mm2"] >= hot || on["peak_temperature"] >= peak {
			t.Errorf("%s: hot area %.5f mm², peak %.3f; baselines' best %.5f, %.3f", tc.name, on["hot_area_mm2"], on["peak_temperature"], hot, peak)
		}
		if off["hot_area_mm2"] < hot && off["peak_temperature"] < peak {
			t.Errorf("%s: without the thin rules hot area %.5f, peak %.3f already below the baselines' %.5f, %.3f: the test no longer shows the rules' effect",
				tc.name, off["hot_area_mm2"], off["peak_temperature"], hot, peak)
		}
		t.Logf("%s: hot area %.5f mm² (rules off %.5f), peak %.3f (off %.3f), %v jumps (off %v); baselines' best %.5f, %.3f", tc.name,
			on["hot_area_mm2"], off["hot_area_mm2"], on["peak_temperature"], off["peak_temperature"], on["jumps"], off["jumps"], hot, peak)
	}
}
