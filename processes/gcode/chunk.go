package gcode

import (
	"fmt"
	"math"
	"strings"

	"fabcell/processes/gcode/ir"
	"fabcell/processes/gcode/parse"
	"fabcell/processes/gcode/timing"
)

// loop is a seam-locked closed stroke: body item indices in print order.
// loop is a seam-locked perimeter loop — or a wall block of n loops
// printed one after the other (Options.KeepWallOrder) — as the items of
// its extrusions in input order.
type loop struct {
	items []int
	n     int
}

// chunkGraph is the IR of one chunk plus what emission needs.
type chunkGraph struct {
	src    []int // ir Src → item index (line/arc edges)
	loops  []loop
	perimA []ir.Vec
	perimB []ir.Vec
	perim  ir.SegIndex
	perimQ ir.SegQuery // query scratch of the verbatim candidate (compiler.verb)
	// The part region (ir.Region): outer-wall strokes, their closed loops.
	outA, outB   []ir.Vec
	outStrokes   []ir.Stroke
	loopA, loopB []ir.Vec
	region       ir.Region
	comber       ir.Comber // combed travels (Options.Comb)
	cm           combModel
}

// loopCloseMM is how far an outer wall's end may stop short of its start
// (or of the next piece of the same loop) and still close the loop of the
// part region (PrusaSlicer's seam gap is 15 % of the nozzle diameter).
const loopCloseMM = 0.5

// processChunk emits items (a complete, prepared chunk) in the best legal
// order.
func (c *compiler) processChunk(items []item) {
	e := &c.emit
	n, first, last := c.n, c.first, c.last
	// Modes of this chunk for generated lines (mode changes are pinned
	// lines, so they are constant within a chunk).
	if len(items) > 0 {
		e.relE = items[0].relE
	}
	e.offset = c.chunk.offset
	c.rep.EdgesIn += n
	if n < 2 {
		c.rep.EdgesOut += n
		c.verbatimChunk(items)
		return
	}
	c.rep.Chunks++
	c.observe(items)
	if c.reason != "" {
		c.keepChunk(items, n)
		return
	}
	steps, pst, cg := c.steps, c.pst, c.cg
	c.rep.OddVertices += pst.OddVertices
	c.rep.MatchingMM += pst.MatchingMM
	e.cross, e.comb = c.cross, c.combPath
	// The plan started where the input's head was; re-optimise the run
	// order from where the emitted head really is (cheap: the tour is
	// already locally optimal away from its start).
	if c.opt.Improve {
		if start := (ir.Vec{e.st.act[0], e.st.act[1]}); start != c.planStart {
			c.restart(start)
			if c.reason != "" {
				c.keepChunk(items, n)
				return
			}
			steps = c.steps
		}
	}

	saved := e.st.clone()
	savedTail := e.rOrigTail
	// Candidate 2 (as is) starts on the helper from the same state. The
	// emitter's wipe cursor is the one state the candidates hand on
	// (candidate 2 starts with candidate 1's, the next chunk with candidate
	// 2's); the helper guesses it and is re-run here if it read it first
	// and the guess was wrong.
	v := c.verb
	const wipeGuess = -1
	v.job, v.next, v.ahead, v.style = c.job, c.next, c.ahead, c.style
	ve := &v.emit
	ve.st, ve.rOrigTail = saved.clone(), savedTail
	ve.relE, ve.offset, ve.cross = e.relE, e.offset, c.crossV
	ve.wipeAt, ve.wipeSet, ve.wipeEarly = wipeGuess, false, false
	var tVerb float64
	done := make(chan struct{})
	go func() {
		defer close(done)
		tVerb = v.verbatimCandidate(items)
	}()
	// Candidate 1: reordered.
	c.cand.Reset(c.chunk.startLimits)
	e.warmUp(c.cand)
	e.buf, e.est = c.bufOpt[:0], c.cand
	e.travelMM, e.retracts, e.lines, e.combed = 0, 0, 0, 0
	c.emitReordered(items, first, last, steps, cg)
	c.exitMove(e.st.act)
	tOpt := c.cand.Finish()
	optBuf, optState, optTail := e.buf, e.st, e.rOrigTail
	optTravel, optRetr, optCombed := e.travelMM, e.retracts, e.combed
	c.bufOpt = optBuf
	<-done
	verbBuf := ve.buf
	if ve.wipeEarly && e.wipeAt != wipeGuess {
		// Candidate 2 as it would run after candidate 1, here.
		e.st, e.rOrigTail = saved, savedTail
		tVerb = c.verbatimCandidate(items)
		verbBuf = e.buf
	} else {
		e.st, e.rOrigTail = ve.st, ve.rOrigTail
		e.travelMM, e.retracts, e.lines = ve.travelMM, ve.retracts, ve.lines
		if ve.wipeSet { // else candidate 2 left candidate 1's cursor
			e.wipeAt = ve.wipeAt
		}
	}
	c.rep.TravelInMM += e.travelMM
	c.rep.RetractsIn += e.retracts
	c.rep.ChunkTimeInS += tVerb
	// The chunk-local estimate approximates the planner state at both ends
	// of the chunk; a reordering must win by more than that error.
	if tOpt < tVerb-minGainS-minGainRel*tVerb || c.opt.ForceReorder {
		c.rep.Reordered++
		c.rep.Splits += len(c.g.Edges) - len(cg.src) - len(cg.loops)
		c.rep.EdgesOut += n + (len(c.g.Edges) - len(cg.src) - len(cg.loops))
		c.rep.TravelOutMM += optTravel
		c.rep.RetractsOut += optRetr
		c.rep.Combed += optCombed
		c.rep.ChunkTimeOutS += tOpt
		e.st, e.rOrigTail = optState, optTail
		c.write(optBuf)
	} else {
		c.rep.kept("not faster")
		c.rep.EdgesOut += n
		c.rep.TravelOutMM += e.travelMM
		c.rep.RetractsOut += e.retracts
		c.rep.ChunkTimeOutS += tVerb
		c.write(verbBuf)
	}
	e.est = nil
	e.cross, e.comb = nil, nil
	v.job, v.next, v.ahead = nil, nil, nil
}

// verbatimCandidate emits the chunk as is from the emitter's state,
// timed on c.cand, and returns the time (s) including the way to where the
// next lines start (exitMove).
func (c *compiler) verbatimCandidate(items []item) float64 {
	e := &c.emit
	c.cand.Reset(c.chunk.startLimits)
	e.warmUp(c.cand)
	e.buf, e.est = c.bufVerb[:0], c.cand
	e.travelMM, e.retracts, e.lines = 0, 0, 0
	c.emitVerbatimItems(items)
	c.exitMove(e.st.act)
	c.bufVerb = e.buf
	return c.cand.Finish()
}

// Smallest gain (s, and relative to the chunk's time) for which a chunk is
// emitted reordered: below it the chunk-local estimate's boundary error
// (planner state across chunk ends) could make the file slower.
const (
	minGainS   = 0.02
	minGainRel = 0.002
)

// exitMove times, on the candidate estimator, what the emitter will do
// after the chunk to reach where the input goes next (see entryPoint),
// mirroring the emitter's own rules: a re-synchronising travel retracts
// when long enough (resync), the next chunk's first travel retracts when
// long enough and crossing a perimeter and the input is not retracted
// there (verbatim travels and retargeted lead-in travels). Timing it with
// both candidates keeps a reordering from winning by ending somewhere that
// costs more afterwards.
func (c *compiler) exitMove(end [3]float64) {
	ep, n, ok := c.entryPoint()
	if !ok || (ep.p[0] == end[0] && ep.p[1] == end[1]) {
		return
	}
	s := &c.style.cur
	from := ir.Vec{end[0], end[1]}
	d := math.Hypot(ep.p[0]-end[0], ep.p[1]-end[1])
	// A travel of the input copied where the input made it (the head is
	// where the input's is: end is the input's position) is not wrapped in
	// a retraction (emitter.verbatim), a moved one or a resync may be.
	moved := end[0] != c.emit.st.orig[0] || end[1] != c.emit.st.orig[1]
	wrap := s.ok && d >= s.minTravelMM && ep.r <= 1e-9 && !s.firmware && (moved || ep.resync)
	// The next chunk's travel retracts by that chunk's perimeters when it
	// is planned, else (no perimeter index) whenever it is long enough.
	var cross func(a, b ir.Vec) bool
	if n != nil && n.kind == jobChunk && n.n >= 2 && n.reason == "" {
		cross = n.cross
		if c.verb == nil { // the helper: its own query scratch
			cross = n.crossV
		}
	}
	if wrap && !ep.resync && c.opt.Retract == RetractCrossing && cross != nil {
		wrap = cross(from, ep.p)
	}
	ff := c.emit.st.ff
	if ep.limits != nil {
		// Limits and feed factor in force where the input travels (a layer
		// change may set another acceleration first); the whole-file
		// planner applies them without draining, so does this.
		c.cand.P.L = *ep.limits
		ff = ep.ff
	}
	if wrap {
		r := parse.Move{From: end, To: end, DE: -s.retractMM, FeedMM: s.retractFeed}
		c.cand.MoveDirect(&r, ff, 1)
		if s.hopMM > 0 && !ep.resync {
			h := parse.Move{From: end, To: [3]float64{end[0], end[1], end[2] + s.hopMM}, FeedMM: s.zFeed}
			c.cand.MoveDirect(&h, ff, 1)
		}
	}
	feed := s.travelFeed
	if !ep.resync && ep.feed > 0 {
		feed = ep.feed // the input's travel, copied or retargeted
	}
	mv := parse.Move{From: end, To: [3]float64{ep.p[0], ep.p[1], end[2]}, FeedMM: feed}
	c.cand.MoveDirect(&mv, ff, 1)
	if wrap {
		if s.hopMM > 0 && !ep.resync {
			h := parse.Move{From: mv.To, To: [3]float64{mv.To[0], mv.To[1], mv.To[2] + s.hopMM}, FeedMM: s.zFeed}
			c.cand.MoveDirect(&h, ff, 1)
		}
		u := parse.Move{From: mv.To, To: mv.To, DE: s.unretractMM, FeedMM: s.unretractFeed}
		c.cand.MoveDirect(&u, ff, 1)
	}
}

// entry is where the input's next lines start from: p, whether the
// emitter will re-synchronise to it (resync) or reach it with the next
// chunk's own first travel, and the input's retraction depth there.
type entry struct {
	p      ir.Vec
	resync bool
	r      float64
	feed   float64 // the input travel's feed (mm/min), 0 for a resync
	// limits in force at the input's travel when they may differ from
	// those at the end of this chunk (nil: the same), and the M220 factor.
	limits *timing.Limits
	ff     float64
}

// entryPoint finds where the input's next lines start (see entry) and
// the job they belong to: the target of the first absolute XY travel of
// the jobs ahead, or the input's position when the first XY move depends
// on it (extrusion, arc, relative move) or a pinned command
// re-synchronises. Jobs that do not move in XY (a layer change's Z move,
// pinned lines that are not position-sensitive) are looked through; the
// head stays where this chunk leaves it over them. ok is false when
// nothing within the look-ahead (compiler.ahead) decides it.
func (c *compiler) entryPoint() (entry, *job, bool) {
	orig := ir.Vec{c.emit.st.orig[0], c.emit.st.orig[1]}
	for _, n := range c.ahead {
		if n.kind == jobBarrier {
			if n.sensitive || n.toRelative || n.toInch {
				return entry{p: orig, resync: true, r: c.emit.st.rOrig}, n, true
			}
			continue
		}
		for i := range n.items {
			it := &n.items[i]
			if it.mi < 0 {
				continue
			}
			mv := &n.moves[it.mi]
			if !mv.HasXY() || it.cls == cMotion && mv.DE < 0 {
				continue // wipes are regenerated where the head is
			}
			if it.cls == cMotion && mv.Kind == parse.Linear && mv.DE == 0 && it.setAbs&3 == 3 {
				ep := entry{p: ir.Vec{mv.To[0], mv.To[1]}, r: it.r, feed: it.feed, ff: it.ff}
				if n != c.next || c.settingsBefore(n, i) {
					ep.limits = c.limitsAt(n, i)
				}
				return ep, n, true
			}
			return entry{p: ir.Vec{mv.From[0], mv.From[1]}, resync: true, r: c.emit.st.rOrig}, n, true
		}
	}
	return entry{}, nil, false
}

// settingsBefore reports whether chunk n has a limits line before item k.
func (c *compiler) settingsBefore(n *job, k int) bool {
	for i := range k {
		if n.items[i].cls == cSetting {
			return true
		}
	}
	return false
}

// limitsAt returns the limits in force before item k of chunk n: its start
// limits with its setting lines before k replayed (c.limits is scratch).
func (c *compiler) limitsAt(n *job, k int) *timing.Limits {
	if c.limEst == nil {
		c.limEst = timing.NewEstimator(c.opt.Timing)
	}
	c.limEst.Reset(n.chunk.startLimits)
	for i := range k {
		if it := &n.items[i]; it.cls == cSetting {
			c.lexLine.Num = int(it.num)
			if parse.LexLine(n.raw(it), &c.lexLine) == nil {
				c.limEst.ApplySetting(&c.lexLine, it.inch)
			}
		}
	}
	c.limits = c.limEst.Limits()
	return &c.limits
}

// keepChunk emits a chunk of n extrusion edges as the input has it, for
// c.reason (counted in the report).
func (c *compiler) keepChunk(items []item, n int) {
	c.rep.kept(c.reason)
	c.rep.EdgesOut += n
	c.verbatimChunk(items)
}

// verbatimChunk writes items unchanged (after any re-synchronisation).
func (c *compiler) verbatimChunk(items []item) {
	e := &c.emit
	e.buf, e.est = c.bufVerb[:0], nil
	c.emitVerbatimItems(items)
	c.bufVerb = e.buf
	c.write(e.buf)
}

func (c *compiler) emitVerbatimItems(items []item) {
	for i := range items {
		c.emit.verbatim(&items[i], c.stateBefore(items, i))
	}
}

func isTravel(c *compiler, it *item) bool {
	if it.cls != cMotion || it.mi < 0 {
		return false
	}
	mv := &c.job.moves[it.mi]
	return mv.HasXY() && mv.DE == 0 && !mv.Firmware
}

// isPerimeterType reports feature types whose crossing calls for a
// retraction and whose loops keep their seam.
func isPerimeterType(t string) bool {
	for i := 0; i < len(t); i++ {
		if t[i] >= 0x80 {
			// Unicode case mapping (e.g. U+0130 lower-cases to 'i').
			l := strings.ToLower(t)
			return strings.Contains(l, "perimeter") || strings.Contains(l, "wall") ||
				strings.Contains(l, "outer") || strings.Contains(l, "inner")
		}
	}
	return containsFold(t, "perimeter") || containsFold(t, "wall") ||
		containsFold(t, "outer") || containsFold(t, "inner")
}

// isOuterType reports perimeter types that are outer walls (PrusaSlicer
// and Slic3r "External perimeter", Cura "WALL-OUTER", Simplify3D "outer
// perimeter", Bambu Studio/OrcaSlicer "Outer wall"): their closed loops
// bound the part region.
func isOuterType(t string) bool {
	for i := 0; i < len(t); i++ {
		if t[i] >= 0x80 {
			l := strings.ToLower(t)
			return strings.Contains(l, "outer") || strings.Contains(l, "external")
		}
	}
	return containsFold(t, "outer") || containsFold(t, "external")
}

// containsFold reports whether the ASCII string s contains the lower-case
// word w, ignoring case.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		k := 0
		for k < len(w) {
			c := s[i+k]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != w[k] {
				break
			}
			k++
		}
		if k == len(w) {
			return true
		}
	}
	return false
}

// buildGraph builds the chunk's IR from the body's extrusions.
func (c *job) buildGraph(opt Options) string {
	items, first, last, cg := c.items, c.first, c.last, c.cg
	res := 1 / float64(pow10i[min(c.dec.xy, 9)])
	if c.g == nil {
		c.g = ir.NewGraph(res)
	}
	c.g.Reset(res)
	c.g.Reserve(c.n)
	g := c.g
	haveType := false
	if c.slots.typeSlot >= 0 {
		for i := first; i <= last; i++ {
			if len(c.info(items[i].state).typ) > 0 {
				haveType = true
				break
			}
		}
	}
	key := func(it *item) uint64 { return c.hardKey(it.state, it.feed) }
	perimeter := func(it *item) bool {
		if !haveType {
			return true
		}
		return c.info(it.state).perimeter
	}
	addPerim := func(mv *parse.Move) {
		mv.Chords(1, func(a, b [3]float64, _ float64) {
			cg.perimA = append(cg.perimA, ir.Vec{a[0], a[1]})
			cg.perimB = append(cg.perimB, ir.Vec{b[0], b[1]})
		})
	}
	// Strokes: consecutive extrusions joined end to start with no motion
	// in between.
	var stroke []int
	// Wall blocks (Options.KeepWallOrder): a loop joins the pending block
	// of the loop printed just before it (no other stroke between) when
	// one lies inside the other's bounding box — the walls of one island
	// or hole — and the block becomes one fixed edge: its loops are
	// printed together, in the input's order, and run reordering moves
	// them as a unit.
	type wallBlock struct {
		items   []int
		n       int // loops
		p0      ir.Vec
		length  float64
		out, in ir.Vec
		key     uint64
		lo, hi  ir.Vec // the last loop's bounding box
	}
	var pend wallBlock
	flushBlock := func() {
		if pend.n == 0 {
			return
		}
		g.AddFixed(pend.p0, pend.length, pend.out, pend.in, pend.key, int32(len(cg.loops)), true)
		cg.loops = append(cg.loops, loop{items: pend.items, n: pend.n})
		pend = wallBlock{}
	}
	flushStroke := func() {
		if len(stroke) == 0 {
			return
		}
		fi, li := &items[stroke[0]], &items[stroke[len(stroke)-1]]
		fm, lm := &c.moves[fi.mi], &c.moves[li.mi]
		p0 := ir.Vec{fm.From[0], fm.From[1]}
		p1 := ir.Vec{lm.To[0], lm.To[1]}
		closed := g.Snap(p0) == g.Snap(p1) && (len(stroke) >= 2 || fm.Kind != parse.Linear)
		length := 0.0
		if opt.KeepSeams && perimeter(fi) {
			for _, k := range stroke {
				length += c.moves[items[k].mi].XYLength()
			}
			// A perimeter that stops a seam gap short of its start
			// (PrusaSlicer's external perimeters) is a loop too: kept
			// whole, from its seam, in its direction.
			if gap := math.Hypot(p1[0]-p0[0], p1[1]-p0[1]); !closed && len(stroke) >= 3 &&
				gap <= min(loopCloseMM, 0.25*length) {
				closed = true
			}
		}
		if opt.KeepSeams && closed && perimeter(fi) {
			// The loop's bounding box decides whether it joins the
			// pending wall block.
			lo := ir.Vec{math.Inf(1), math.Inf(1)}
			hi := ir.Vec{math.Inf(-1), math.Inf(-1)}
			for _, k := range stroke {
				c.moves[items[k].mi].Chords(1, func(a, _ [3]float64, _ float64) {
					lo = ir.Vec{min(lo[0], a[0]), min(lo[1], a[1])}
					hi = ir.Vec{max(hi[0], a[0]), max(hi[1], a[1])}
				})
			}
			if pend.n > 0 && opt.KeepWallOrder && (boxIn(lo, hi, pend.lo, pend.hi) || boxIn(pend.lo, pend.hi, lo, hi)) {
				pend.items = append(pend.items, stroke...)
				pend.n++
				pend.length += length
				pend.in, pend.lo, pend.hi = tangentEnd(lm), lo, hi
			} else {
				flushBlock()
				pend = wallBlock{items: append([]int(nil), stroke...), n: 1, p0: p0, length: length,
					out: tangentStart(fm), in: tangentEnd(lm), key: key(fi), lo: lo, hi: hi}
			}
		} else {
			flushBlock()
			for _, k := range stroke {
				it := &items[k]
				mv := &c.moves[it.mi]
				a := ir.Vec{mv.From[0], mv.From[1]}
				b := ir.Vec{mv.To[0], mv.To[1]}
				src := int32(len(cg.src))
				if mv.Kind == parse.Linear {
					g.AddLine(a, b, key(it), src, perimeter(it))
				} else {
					g.AddArc(a, b, mv.XYLength(), tangentStart(mv), tangentEnd(mv), key(it), src, perimeter(it))
				}
				cg.src = append(cg.src, k)
			}
		}
		outer := false
		for _, k := range stroke {
			if perimeter(&items[k]) {
				addPerim(&c.moves[items[k].mi])
			}
			outer = outer || haveType && c.info(items[k].state).outer
		}
		if outer {
			lo := int32(len(cg.outA))
			for _, k := range stroke {
				c.moves[items[k].mi].Chords(1, func(a, b [3]float64, _ float64) {
					cg.outA = append(cg.outA, ir.Vec{a[0], a[1]})
					cg.outB = append(cg.outB, ir.Vec{b[0], b[1]})
				})
			}
			cg.outStrokes = append(cg.outStrokes, ir.Stroke{Lo: lo, Hi: int32(len(cg.outA))})
		}
		stroke = stroke[:0]
	}
	for i := first; i <= last; i++ {
		it := &items[i]
		switch it.cls {
		case cExtrude:
			if len(stroke) > 0 {
				pm := &c.moves[items[stroke[len(stroke)-1]].mi]
				mv := &c.moves[it.mi]
				if pm.To[0] != mv.From[0] || pm.To[1] != mv.From[1] {
					flushStroke()
				}
			}
			stroke = append(stroke, i)
		case cMotion:
			// A move that goes nowhere (PrusaSlicer writes "G1 X… Y… E0"
			// at its own position inside perimeters) does not end a
			// stroke; like every motion of the body it is not re-emitted.
			if mv := &c.moves[it.mi]; mv.From == mv.To && mv.DE == 0 && !mv.Firmware {
				continue
			}
			flushStroke()
		}
	}
	flushStroke()
	flushBlock()
	if len(g.Edges) < 2 {
		return "single stroke"
	}
	g.Segment()
	cg.perim.Build(cg.perimA, cg.perimB, 0)
	eps := res / 2
	cg.loopA, cg.loopB = ir.Loops(cg.outA, cg.outB, cg.outStrokes, loopCloseMM, cg.loopA[:0], cg.loopB[:0])
	cg.region.Build(cg.loopA, cg.loopB, eps)
	if cg.region.Empty() {
		// Nothing says where the part is: the crossing rule alone.
		c.cross = func(a, b ir.Vec) bool { return cg.perim.Crosses(a, b, eps, nil) }
		c.crossV = func(a, b ir.Vec) bool { return cg.perim.CrossesWith(&cg.perimQ, a, b, eps, nil) }
	} else {
		c.cross = func(a, b ir.Vec) bool {
			return cg.perim.Crosses(a, b, eps, nil) || cg.region.TravelOutside(a, b, eps)
		}
		c.crossV = func(a, b ir.Vec) bool {
			return cg.perim.CrossesWith(&cg.perimQ, a, b, eps, nil) || cg.region.TravelOutside(a, b, eps)
		}
	}
	return ""
}

// wallTolMM is how far a wall loop's bounding box may stick out of the
// box of the loop it is nested in and still count as the same wall block
// (a line width or two: walls of one island are offsets of each other).
const wallTolMM = 1.0

// boxIn reports whether the box [lo, hi] lies inside [olo, ohi] grown by
// wallTolMM.
func boxIn(lo, hi, olo, ohi ir.Vec) bool {
	return lo[0] >= olo[0]-wallTolMM && lo[1] >= olo[1]-wallTolMM &&
		hi[0] <= ohi[0]+wallTolMM && hi[1] <= ohi[1]+wallTolMM
}

// tangentStart is the unit XY direction of a move at its start.
func tangentStart(mv *parse.Move) ir.Vec {
	if mv.Kind == parse.Linear {
		return unitVec(mv.To[0]-mv.From[0], mv.To[1]-mv.From[1])
	}
	rx, ry := mv.From[0]-mv.Center[0], mv.From[1]-mv.Center[1]
	if mv.Kind == parse.ArcCCW {
		return unitVec(-ry, rx)
	}
	return unitVec(ry, -rx)
}

func tangentEnd(mv *parse.Move) ir.Vec {
	if mv.Kind == parse.Linear {
		return unitVec(mv.To[0]-mv.From[0], mv.To[1]-mv.From[1])
	}
	rx, ry := mv.To[0]-mv.Center[0], mv.To[1]-mv.Center[1]
	if mv.Kind == parse.ArcCCW {
		return unitVec(-ry, rx)
	}
	return unitVec(ry, -rx)
}

func unitVec(x, y float64) ir.Vec {
	n := math.Hypot(x, y)
	if n == 0 {
		return ir.Vec{}
	}
	return ir.Vec{x / n, y / n}
}

// emitReordered writes the chunk with its body in plan order.
func (c *compiler) emitReordered(items []item, first, last int, steps []ir.Step, cg *chunkGraph) {
	e := &c.emit
	g := c.g
	e.z = c.chunk.z
	e.res = g.Res
	p0 := g.Pts[g.From(steps[0])]

	// Lead-in: verbatim except XY travels; the last one is retargeted.
	lastTravel := -1
	for i := 0; i < first; i++ {
		if isTravel(c, &items[i]) {
			lastTravel = i
		}
	}
	for i := 0; i < first; i++ {
		it := &items[i]
		if !isTravel(c, it) {
			e.verbatim(it, c.stateBefore(items, i))
			continue
		}
		if i != lastTravel {
			// The input moved here; we stay.
			e.st.orig = it.after
			e.st.fOrig = it.feed
			continue
		}
		e.syncSettings(c.stateBefore(items, i))
		c.retargetTravel(it, p0)
	}
	if lastTravel < 0 {
		e.connector(p0, e.st.rOrig > 1e-9, 0)
	}

	// Body.
	fmt.Fprintf((*byteWriter)(&e.buf), "; fabcell: reordered %d extrusions\n", len(steps))
	e.lines++
	type floating struct {
		i   int
		pos int64 // body extrusion (E units) before the line
	}
	var floats []floating
	var bodyE int64
	nonExtr := int64(0)
	for i := first; i <= last; i++ {
		it := &items[i]
		switch it.cls {
		case cFloat:
			floats = append(floats, floating{i, bodyE})
		case cExtrude:
			bodyE += e.units(c.moves[it.mi].DE)
		case cMotion:
			if !c.moves[it.mi].Firmware {
				nonExtr += e.units(c.moves[it.mi].DE)
			}
		}
	}
	nextFloat := 0
	var done int64
	emitFloats := func() {
		for nextFloat < len(floats) && floats[nextFloat].pos <= done {
			e.buf = append(e.buf, c.raw(&items[floats[nextFloat].i])...)
			e.nl()
			nextFloat++
		}
	}
	emitFloats()
	var stateIdx int32 = -1
	setState := func(it *item) {
		if it.state == stateIdx {
			return
		}
		before := len(e.buf)
		e.buf = c.slots.stateDiff(e.st.state, c.states[it.state], e.buf)
		if len(e.buf) > before {
			for _, ch := range e.buf[before:] {
				if ch == '\n' {
					e.lines++
				}
			}
			e.timeSettingLines(e.buf[before:])
		}
		e.st.state = append(e.st.state[:0], c.states[it.state]...)
		stateIdx = it.state
		e.st.ff, e.st.flow = it.ff, it.flow
	}
	for _, s := range steps {
		from := g.Pts[g.From(s)]
		if from[0] != e.st.act[0] || from[1] != e.st.act[1] {
			e.connector(from, false, 0)
		}
		ed := &g.Edges[s.Edge]
		switch ed.Kind {
		case ir.Fixed:
			for _, k := range cg.loops[ed.Src].items {
				it := &items[k]
				mv := c.moves[it.mi]
				if mv.From[0] != e.st.act[0] || mv.From[1] != e.st.act[1] {
					// The next loop of a wall block.
					e.connector(ir.Vec{mv.From[0], mv.From[1]}, false, 0)
				}
				setState(it)
				done += c.emitExtrusion(&mv, false, e.units(mv.DE))
			}
		default:
			it := &items[cg.src[ed.Src]]
			setState(it)
			mv := c.moves[it.mi]
			u := e.units(mv.DE)
			piece := int64(ir.RoundHalfAway(float64(u)*ed.T1)) - int64(ir.RoundHalfAway(float64(u)*ed.T0))
			if ed.T1 >= 1 {
				piece = u - int64(ir.RoundHalfAway(float64(u)*ed.T0))
			}
			if ed.Kind == ir.Line {
				a, b := g.Pts[ed.U], g.Pts[ed.V]
				if s.Rev {
					a, b = b, a
				}
				mv.From = [3]float64{a[0], a[1], mv.From[2]}
				mv.To = [3]float64{b[0], b[1], mv.To[2]}
				done += c.emitExtrusion(&mv, false, piece)
			} else {
				done += c.emitExtrusion(&mv, s.Rev, piece)
			}
		}
		emitFloats()
	}
	done = math.MaxInt64
	emitFloats()
	if nonExtr != 0 {
		e.eMove(e.fromUnits(nonExtr), c.style.cur.retractFeed)
	}
	// Back to the input's state at the end of the body.
	e.st.dirty = true
	li := &items[last]
	e.st.orig = li.after
	e.st.eOrig = li.eLog
	e.st.fOrig = li.feed
	e.st.rOrig = li.r
	e.rOrigTail = li.r

	// Lead-out: verbatim (wipes are regenerated along the new path by
	// verbatim, since the head is not where the input's was).
	for i := last + 1; i < len(items); i++ {
		e.verbatim(&items[i], c.stateBefore(items, i))
	}
}

// retargetTravel emits the lead-in travel of the input, aimed at p.
func (c *compiler) retargetTravel(it *item, p ir.Vec) {
	e := &c.emit
	mv := &c.moves[it.mi]
	s := &c.style.cur
	cur := ir.Vec{e.st.act[0], e.st.act[1]}
	d := math.Hypot(p[0]-cur[0], p[1]-cur[1])
	raw := c.raw(it)
	var lx parse.Line
	lx.Num = int(it.num)
	_ = parse.LexLine(raw, &lx)
	wrap := e.st.rOrig <= 1e-9 && s.ok && d >= s.minTravelMM
	if wrap && c.opt.Retract == RetractCrossing && e.cross != nil {
		wrap = e.cross(cur, p)
	}
	if wrap {
		e.retract()
	}
	if mv.Rapid {
		e.buf = append(e.buf, "G0"...)
	} else {
		e.buf = append(e.buf, "G1"...)
	}
	if lx.Has('F') || e.st.fAct != it.feed {
		e.buf = append(e.buf, " F"...)
		e.buf = appendFixed(e.buf, it.feed, 3)
		e.st.fAct = it.feed
	}
	e.appendXY(p)
	to := [3]float64{p[0], p[1], e.st.act[2]}
	if lx.Has('Z') {
		e.buf = append(e.buf, " Z"...)
		e.buf = appendFixed(e.buf, it.after[2]-e.offset[2], max(c.dec.z, 3))
		to[2] = it.after[2]
	}
	if len(lx.Comment) > 0 {
		e.buf = append(e.buf, " ;"...)
		e.buf = append(e.buf, lx.Comment...)
	}
	e.nl()
	tm := parse.Move{From: e.st.act, To: to, FeedMM: it.feed, Rapid: mv.Rapid}
	e.timeMove(&tm)
	e.travelMM += math.Hypot(to[0]-e.st.act[0], to[1]-e.st.act[1])
	e.st.act = to
	e.st.orig = it.after
	e.st.fOrig = it.feed
	e.st.path = e.st.path[:0]
	if wrap {
		e.unretract(0)
	}
	e.st.eOrig = it.eLog
	e.st.rOrig = it.r
	e.rOrigTail = it.r
}

// emitExtrusion writes one extrusion (line, or arc reversed when rev) with
// units of filament at the edge's feed, and returns units.
func (c *compiler) emitExtrusion(mv *parse.Move, rev bool, units int64) int64 {
	e := &c.emit
	from, to := mv.From, mv.To
	kind := mv.Kind
	if rev && kind != parse.Linear {
		from, to = to, from
		if kind == parse.ArcCW {
			kind = parse.ArcCCW
		} else {
			kind = parse.ArcCW
		}
	}
	switch kind {
	case parse.ArcCW:
		e.buf = append(e.buf, "G2"...)
	case parse.ArcCCW:
		e.buf = append(e.buf, "G3"...)
	default:
		e.buf = append(e.buf, "G1"...)
	}
	e.appendF(mv.FeedMM)
	e.appendXY(ir.Vec{to[0], to[1]})
	if kind != parse.Linear {
		dec := max(c.dec.xy, c.dec.ij)
		e.buf = append(e.buf, " I"...)
		e.buf = appendFixed(e.buf, mv.Center[0]-from[0], dec)
		e.buf = append(e.buf, " J"...)
		e.buf = appendFixed(e.buf, mv.Center[1]-from[1], dec)
	}
	e.buf = append(e.buf, " E"...)
	if e.relE {
		e.buf = appendUnits(e.buf, units, c.dec.e)
	} else {
		e.buf = appendUnits(e.buf, e.units(e.st.eAct)+units, c.dec.e)
	}
	e.nl()
	e.st.eAct = e.fromUnits(e.units(e.st.eAct) + units)
	tm := *mv
	tm.From, tm.To, tm.Kind = from, to, kind
	tm.DE = e.fromUnits(units)
	if kind != parse.Linear {
		tm.Radius = math.Hypot(from[0]-mv.Center[0], from[1]-mv.Center[1])
	}
	e.timeMove(&tm)
	e.extruded(&tm)
	e.st.act = to
	return units
}

// byteWriter appends to a byte slice (for fmt.Fprintf).
type byteWriter []byte

func (w *byteWriter) Write(p []byte) (int, error) {
	*w = append(*w, p...)
	return len(p), nil
}
