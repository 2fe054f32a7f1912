package lpbf

import (
	"math"

	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/simulation/thermal"
)

// Session is the planning state of one layer: the tracker (coverage: every
// pixel once), the temperature field after every laser step, the
// residual-heat field when a session rule reads it (package comment,
// "Session rules"), and the list of unvisited pixels for the jump rule.
// Apply and Undo cost O(active set of the fields), independent of the
// layer size (plus O(kernel disc) with the reheat or line rule); Reward
// is O(1) (O(active set) with the hot-area term); Candidates is O(1)
// (O(lpbf.line_run_px) with the line rule), O(active set) per candidate
// with the reheat rule or when every neighbour is above the hot-spot
// threshold, O(unvisited pixels) when every candidate reheats; Jump is
// O(unvisited pixels). Building a session classes the pixels by local
// width once (O(pixels)) when a thin rule is on.
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

	rules     rules
	strandBuf []int // scratch of Candidates: stranded pixels per candidate
	// resid is the residual-heat field (uncapped twin of field, stepped
	// with it; thermal.Field.NewResidual), nil when no rule reads it.
	resid *thermal.Field
	// near counts, per pixel, the scanned pixels inside its kernel disc
	// (reheat and line rules: jumps prefer pixels with none); nil when
	// both rules are off.
	near    []int32
	discOff [][2]int32 // lattice offsets of the kernel disc, centre excluded
	// width is the local width class of every pixel (localWidth): 1 on
	// 1-px lines, 2 on 2-px features, 3 elsewhere; nil when neither the
	// thin tie-break nor the line rule is on.
	width []uint8
}

// rules are the session rules of the lpbf configuration, fabcell
// extensions of Eq. 13 and the §11 jump rule (spec lsg-dqn.md §8.3, §11;
// package comment, "Session rules"): Eq. 13 alone is myopic and reads a
// field capped at H_max, so above the cap every move looks equally hot and
// the laser can curl around a pixel and enter it last; the hot-spot rule
// and the stranding mask keep it out of such pixels, the residual reward
// lets Eq. 13 see above the cap.
type rules struct {
	maxResid      float64 // hot-spot threshold in the units of T (MaxResidualHeat·H_max); 0 = off
	strand        strandMode
	strandPenalty float64 // per stranded pixel, units of T
	residReward   bool    // Eq. 13 reads the residual heat
	hotWeight     float64 // hot-area term: units of T per scanned pixel hot after the step; 0 = off
	hotThr        float64 // hot threshold of the hot-area metric, units of T
	reheatJump    int     // reheat rule: jump when every step reheats ≥ this many scanned pixels; 0 = off
	warnsdorff    bool    // offer only the steps onto neighbours with the fewest unvisited neighbours
	jumpNear      bool    // among equally cool jump targets, the nearest (not the farthest)
	jumpMinD2     float64 // with jumpNear: targets closer than this (squared, mm²) come after the others
	thinWidth     int     // thin tie-break: on pixels of local width ≤ this, fewest-neighbours ties go to the fewest free 8-neighbours; 0 = off
	lineRun       int     // line rule: on 1-px lines, jump after runs of this many pixels (the jump may split a line); 0 = off
	lineJumpMinD2 float64 // line rule: with jumpNear, its targets closer than this (squared, mm²) come after the others
}

type strandMode uint8

const (
	strandOff strandMode = iota
	strandMask
	strandPenalty
)

func rulesFromConfig(p *Process) rules {
	c, h := p.cfg.LPBF, p.tp.HMax
	r := rules{maxResid: c.MaxResidualHeat * h, strandPenalty: c.StrandingPenalty * h, residReward: c.RewardHeat == "residual",
		hotWeight: c.HotAreaWeight * h, hotThr: c.HotThreshold * h,
		reheatJump: c.ReheatJump, warnsdorff: c.Warnsdorff == "mask", jumpNear: c.JumpTarget == "nearest",
		thinWidth: c.ThinWidthPX, lineRun: c.LineRunPX}
	d := c.JumpMinRadii * c.HeatRadiusFactor * c.SpacingMM // kernel radius r = heat_radius_factor × pitch
	r.jumpMinD2 = d * d
	d = c.LineJumpRadii * c.HeatRadiusFactor * c.SpacingMM
	r.lineJumpMinD2 = d * d
	switch c.Stranding {
	case "mask":
		r.strand = strandMask
	case "penalty":
		r.strand = strandPenalty
	}
	return r
}

var (
	_ planners.Session       = (*Session)(nil)
	_ planners.HeatSource    = (*Session)(nil)
	_ planners.RewardBounder = (*Session)(nil)
)

func newSession(p *Process, g *graph.Graph, lat *Lattice, f *thermal.Field) *Session {
	s := &Session{
		Tracker: planners.NewTracker(g, planners.NodesOnce),
		proc:    p, lat: lat, field: f, hmax: p.tp.HMax,
		pos:   make([]int32, g.NumNodes()),
		rules: rulesFromConfig(p),
	}
	if s.rules.maxResid > 0 || s.rules.residReward {
		s.resid = f.NewResidual()
	}
	if s.rules.thinWidth > 0 || s.rules.lineRun > 0 {
		s.width = localWidth(lat)
	}
	if s.rules.reheatJump > 0 || s.rules.lineRun > 0 {
		s.near = make([]int32, g.NumNodes())
		r := p.cfg.LPBF.HeatRadiusFactor
		k := int32(math.Ceil(r))
		for dr := -k; dr <= k; dr++ {
			for dc := -k; dc <= k; dc++ {
				if d2 := float64(dc*dc + dr*dr); d2 > 0 && d2 < r*r {
					s.discOff = append(s.discOff, [2]int32{dc, dr})
				}
			}
		}
	}
	return s
}

// Residual returns the residual-heat field (read only): the uncapped twin
// of Field that the evaluator's residual-heat metrics are computed from,
// or nil when no session rule needs it (lpbf.max_residual_heat 0 and
// lpbf.reward_heat capped).
func (s *Session) Residual() *thermal.Field { return s.resid }

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
	if s.resid != nil {
		s.resid.Reset()
		s.resid.Step(v)
	}
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
	if s.near != nil {
		clear(s.near)
		s.addNear(v, 1)
	}
	return nil
}

// addNear adds d to the near count of every pixel within the kernel disc
// of v (O(disc)).
func (s *Session) addNear(v int, d int32) {
	l := s.lat
	c, r := l.Col[v], l.Row[v]
	for _, o := range s.discOff {
		if u, ok := l.Node(c+o[0], r+o[1]); ok {
			s.near[u] += d
		}
	}
}

// Candidates implements planners.Session: the unvisited 4-neighbours,
// filtered by the session rules in this order (package comment, "Session
// rules"): with the line rule, none (a jump) when the laser on a 1-px line
// has scanned lpbf.line_run_px such pixels in a row and another unvisited
// pixel is left; with the fewest-neighbours rule, only the neighbours with
// the fewest unvisited neighbours, and with the thin tie-break, when the
// laser's pixel has local width ≤ lpbf.thin_width_px, only those of them
// with the fewest unvisited 8-neighbours; with the hot-spot rule, neighbours whose
// residual heat exceeds lpbf.max_residual_heat are dropped while a cooler
// one is left, and none is offered (the planner then jumps, §11) when all
// are that hot but a cooler unvisited pixel exists elsewhere; with the
// reheat rule, none when every remaining step reheats at least
// lpbf.reheat_jump cooled pixels and the jump target that many fewer; with
// stranding "mask", only the remaining moves that strand the fewest pixels.
// Cost: see Session.
func (s *Session) Candidates(dst []planners.Move) []planners.Move {
	n0 := len(dst)
	dst = s.BaseCandidates(dst)
	if len(dst)-n0 == 0 {
		return dst
	}
	if len(s.unvisited) > len(dst)-n0 && s.lineRunDone() {
		return dst[:n0] // a run of lpbf.line_run_px pixels along a 1-px line: jump
	}
	if s.rules.warnsdorff && len(dst)-n0 > 1 {
		cur, best := s.Current(), math.MaxInt
		for _, m := range dst[n0:] {
			best = min(best, s.freeDegree(m.To, cur))
		}
		k := n0
		for _, m := range dst[n0:] {
			if s.freeDegree(m.To, cur) == best {
				dst[k] = m
				k++
			}
		}
		dst = dst[:k]
		if w := s.rules.thinWidth; w > 0 && int(s.width[cur]) <= w && k-n0 > 1 {
			best = math.MaxInt
			for _, m := range dst[n0:] {
				best = min(best, s.freeDegree8(m.To, cur))
			}
			k = n0
			for _, m := range dst[n0:] {
				if s.freeDegree8(m.To, cur) == best {
					dst[k] = m
					k++
				}
			}
			dst = dst[:k]
		}
	}
	if thr := s.rules.maxResid; thr > 0 {
		k := n0
		for _, m := range dst[n0:] {
			if s.resid.Temp(m.To) <= thr {
				dst[k] = m
				k++
			}
		}
		switch {
		case k > n0:
			dst = dst[:k]
		case s.coolUnvisited():
			return dst[:n0] // every neighbour is hot: jump
		default:
			// The whole rest of the layer is hot (the end of a layer, or
			// of a part that is all within the kernel radius): melt the
			// coolest pixel left — a neighbour if it is one, else jump
			// there (Jump does the same in this state).
			lo := s.coolestUnvisited()
			k = n0
			for _, m := range dst[n0:] {
				if s.resid.Temp(m.To) <= lo {
					dst[k] = m
					k++
				}
			}
			dst = dst[:k]
			if k == n0 {
				return dst
			}
		}
	}
	if m := s.rules.reheatJump; m > 0 && len(s.unvisited) > len(dst)-n0 {
		lo := -1
		for _, c := range dst[n0:] {
			if _, r := s.hotAfter(c.To); lo < 0 || r < lo {
				lo = r
			}
		}
		if lo >= m {
			if js := s.Jump(); len(js) == 1 {
				if _, r := s.hotAfter(js[0].To); lo-r >= m {
					return dst[:n0] // every step reheats cooled pixels, the jump fewer: jump
				}
			}
		}
	}
	if s.rules.strand == strandMask && len(dst)-n0 > 1 {
		cur := s.Current()
		cnt := s.strandBuf[:0] // strands per candidate, counted once
		best := -1
		for i, m := range dst[n0:] {
			cnt = append(cnt, s.strands(cur, m.To))
			if best < 0 || cnt[i] < best {
				best = cnt[i]
			}
		}
		k := n0
		for i, m := range dst[n0:] {
			if cnt[i] == best {
				dst[k] = m
				k++
			}
		}
		dst = dst[:k]
		s.strandBuf = cnt
	}
	return dst
}

// coolUnvisited reports whether some unvisited pixel has residual heat ≤
// the hot-spot threshold. Only pixels of the field's active set can be
// hotter than 0, so it counts the hot unvisited ones there: O(active set).
func (s *Session) coolUnvisited() bool {
	hot := 0
	thr := s.rules.maxResid
	for _, v := range s.resid.Active() {
		if s.pos[v] >= 0 && s.resid.Temp(int(v)) > thr {
			hot++
		}
	}
	return hot < len(s.unvisited)
}

// coolestUnvisited returns the lowest residual heat of an unvisited
// pixel when every unvisited pixel is hotter than 0 (all lie in the active
// set; O(active set)), 0 otherwise.
func (s *Session) coolestUnvisited() float64 {
	n, lo := 0, math.Inf(1)
	for _, v := range s.resid.Active() {
		if s.pos[v] >= 0 {
			n++
			lo = math.Min(lo, s.resid.Temp(int(v)))
		}
	}
	if n < len(s.unvisited) {
		return 0
	}
	return lo
}

// strands returns the number of unvisited pixels that a scan step from
// cur to t leaves without an unvisited neighbour (stranded pixels, which
// can only be entered from a dead end or by a jump): neighbours of t other
// than cur whose only unvisited neighbour is t, and neighbours of cur
// other than t that already have none. Cost O(1) (≤ 8 pixels × 4
// neighbours).
func (s *Session) strands(cur, t int) int {
	n := 0
	for _, h := range s.G.Neighbors(t) {
		if u := int(h.To); u != cur && s.Visits(u) == 0 && s.freeDegree(u, t) == 0 {
			n++
		}
	}
	if cur >= 0 {
		for _, h := range s.G.Neighbors(cur) {
			if u := int(h.To); u != t && s.Visits(u) == 0 && s.freeDegree(u, t) == 0 {
				n++
			}
		}
	}
	return n
}

// lineRunDone reports whether the line rule ends the laser's run here:
// the laser is on a 1-px line (local width 1) and the last
// lpbf.line_run_px pixels it scanned, its own included, have local width 1
// and were reached by scan steps from one another (the run starts at the
// layer's first pixel or at a jump target). It reads only the move
// history, so Apply/Undo need no extra state. Cost O(line_run_px).
func (s *Session) lineRunDone() bool {
	r := s.rules.lineRun
	if r <= 0 || s.width[s.Current()] != 1 {
		return false
	}
	n := 1
	ms := s.Moves()
	for i := len(ms) - 1; i >= 0 && n < r; i-- {
		if m := ms[i]; m.Kind != planners.Print || s.width[m.From] != 1 {
			break
		}
		n++
	}
	return n >= r
}

// freeDegree8 returns the number of unvisited pixels among the eight
// lattice neighbours of u (sides and corners), except except. Cost O(1).
func (s *Session) freeDegree8(u, except int) int {
	l := s.lat
	c, r := l.Col[u], l.Row[u]
	n := 0
	for dr := int32(-1); dr <= 1; dr++ {
		for dc := int32(-1); dc <= 1; dc++ {
			if w, ok := l.Node(c+dc, r+dr); ok && w != u && w != except && s.Visits(w) == 0 {
				n++
			}
		}
	}
	return n
}

// localWidth returns the local width class of every pixel of the lattice:
// 3 when the pixel lies in a 3 × 3 square of pixels of the layer, else 2
// when it lies in a 2 × 2 square, else 1 (a 1-px line, its ends and
// corners). Cost O(13·pixels).
func localWidth(l *Lattice) []uint8 {
	n := len(l.Col)
	w := make([]uint8, n)
	for v := range w {
		w[v] = 1
	}
	for _, k := range []int32{2, 3} {
		for v := 0; v < n; v++ {
			c, r := l.Col[v], l.Row[v]
			full := true
			for dr := int32(0); dr < k && full; dr++ {
				for dc := int32(0); dc < k; dc++ {
					if _, ok := l.Node(c+dc, r+dr); !ok {
						full = false
						break
					}
				}
			}
			if !full {
				continue
			}
			for dr := int32(0); dr < k; dr++ {
				for dc := int32(0); dc < k; dc++ {
					u, _ := l.Node(c+dc, r+dr)
					w[u] = max(w[u], uint8(k))
				}
			}
		}
	}
	return w
}

// freeDegree returns the number of unvisited neighbours of u other than
// except.
func (s *Session) freeDegree(u, except int) int {
	n := 0
	for _, h := range s.G.Neighbors(u) {
		if w := int(h.To); w != except && s.Visits(w) == 0 {
			n++
		}
	}
	return n
}

// Reward implements planners.Session (Eq. 13 without D(k); package
// comment): H_max − T(m.To) − H_max·[m is not a scan step onto a new
// pixel], T the capped field or, with lpbf.reward_heat residual, the
// residual heat; with stranding "penalty" a scan step loses
// lpbf.stranding_penalty·H_max per pixel it strands; with
// lpbf.hot_area_weight every move loses weight·H_max per scanned pixel hot
// after it (hotAfter). Cost O(1), O(active set) with the hot-area term.
func (s *Session) Reward(m planners.Move) float64 {
	t := s.field.Temp(m.To)
	if s.rules.residReward {
		t = s.resid.Temp(m.To)
	}
	var hot float64
	if s.rules.hotWeight > 0 {
		h, _ := s.hotAfter(m.To)
		hot = s.rules.hotWeight * float64(h)
	}
	if m.Kind != planners.Print || s.Visits(m.To) > 0 {
		return -t - hot // (H_max − T) − H_max, without the rounding
	}
	r := s.hmax - t - hot
	if s.rules.strand == strandPenalty {
		r -= s.rules.strandPenalty * float64(s.strands(m.From, m.To))
	}
	return r
}

// hotAfter returns the number of scanned pixels that are hot (capped
// field above lpbf.hot_threshold·H_max) after the laser steps to t, t
// included — the step's term of the hot-area metric (thermal.Report
// HotAreaNodes is its mean over the steps). The field takes the step and
// is undone (exact); cost O(active set).
func (s *Session) hotAfter(t int) (hot, reheated int) {
	s.field.Step(t)
	thr := s.rules.hotThr
	for _, w := range s.field.Active() {
		if (int(w) == t || s.Visits(int(w)) > 0) && s.field.Temp(int(w)) > thr {
			hot++
		}
	}
	s.field.KernelRise(func(v int, before, after float64) {
		if v != t && s.Visits(v) > 0 && before <= thr && after > thr {
			reheated++
		}
	})
	s.field.Undo()
	return hot, reheated
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
	if s.resid != nil {
		s.resid.Step(m.To)
	}
	idx := int32(-1)
	if fresh {
		idx = s.pos[m.To]
		last := s.unvisited[len(s.unvisited)-1]
		s.unvisited[idx] = last
		s.pos[last] = idx
		s.unvisited = s.unvisited[:len(s.unvisited)-1]
		s.pos[m.To] = -1
		if s.near != nil {
			s.addNear(m.To, 1)
		}
	}
	s.undoIdx = append(s.undoIdx, idx)
}

// Undo implements planners.Session; the state (field included) is restored
// exactly.
func (s *Session) Undo() {
	m := s.UndoBase()
	s.field.Undo()
	if s.resid != nil {
		s.resid.Undo()
	}
	idx := s.undoIdx[len(s.undoIdx)-1]
	s.undoIdx = s.undoIdx[:len(s.undoIdx)-1]
	if idx >= 0 { // reverse the swap-remove: the list order is restored too
		if s.near != nil {
			s.addNear(m.To, -1)
		}
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
// pixels (with lpbf.jump_target nearest, the default: the nearest one at
// least lpbf.jump_min_radii kernel radii away, nearer ones after all
// others; with the reheat or the line rule,
// pixels without a scanned pixel in their kernel disc first), skipping
// pixels that would split a scan line — except when the line rule ended
// the run (Candidates), whose jumps split 1-px lines on purpose. "Coolest" reads the residual heat
// when the session keeps it (Residual), the capped field otherwise. With
// the hot-spot rule a splitting pixel at or below the threshold is
// preferred to a hotter non-splitting one.
func (s *Session) Jump() []planners.Move {
	cur := s.Current()
	if cur < 0 || len(s.unvisited) == 0 {
		return nil
	}
	temp := s.field
	if s.resid != nil {
		temp = s.resid
	}
	pc := s.G.Pos[cur]
	type key struct {
		t, d float64
		v    int32
		near bool
	}
	// The line rule splits 1-px lines on purpose: its jumps may land on a
	// splitting pixel, at least lpbf.line_jump_radii kernel radii away.
	lineJump := s.lineRunDone()
	near, minD2 := s.rules.jumpNear, s.rules.jumpMinD2
	if lineJump {
		minD2 = s.rules.lineJumpMinD2
	}
	better := func(a, b key) bool { // a before b
		if a.t != b.t {
			return a.t < b.t
		}
		if a.near != b.near {
			return !a.near
		}
		if near {
			if ca, cb := a.d < minD2, b.d < minD2; ca != cb {
				return cb
			}
		}
		if a.d != b.d {
			return (a.d > b.d) != near
		}
		return a.v < b.v
	}
	// When no pixel left is at or below the hot-spot threshold, the
	// coolest one is taken even if it splits a scan line (Candidates
	// offers no neighbour then only if it is cooler than all of them).
	anySplit := s.rules.maxResid > 0 && !s.coolUnvisited()
	best, anyK := key{v: -1}, key{v: -1}
	for _, v := range s.unvisited {
		q := s.G.Pos[v]
		dx, dy := q.X-pc.X, q.Y-pc.Y
		k := key{t: temp.Temp(int(v)), d: dx*dx + dy*dy, v: v, near: s.near != nil && s.near[v] > 0}
		if anyK.v < 0 || better(k, anyK) {
			anyK = k
		}
		if (best.v < 0 || better(k, best)) && (lineJump || !s.splitsLine(int(v))) {
			best = k
		}
	}
	if best.v < 0 || anySplit || (s.rules.maxResid > 0 && best.t > s.rules.maxResid && anyK.t <= s.rules.maxResid) {
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
