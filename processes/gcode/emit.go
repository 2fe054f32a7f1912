package gcode

import (
	"math"
	"strconv"

	"fabcell/processes/gcode/ir"
	"fabcell/processes/gcode/parse"
	"fabcell/processes/gcode/timing"
)

// emitState is what the emitted stream has done so far ("act") next to
// what the input had done at the same point ("orig"). Verbatim lines are
// preceded by whatever re-synchronisation they need.
type emitState struct {
	act, orig   [3]float64 // physical XYZ (mm)
	eAct, eOrig float64    // logical E (mm)
	fAct, fOrig float64    // modal F (mm/min)
	state       []slotVal  // settings as emitted
	dirty       bool       // state may differ from the input's
	ff, flow    float64    // M220 / M221 factors in force
	rOrig       float64    // input's filament retraction depth (mm)
	// recent extrusion path, newest last (for wipes)
	path []ir.Vec
	// the last moves emitted (ring), to warm up the planner before timing
	// a candidate chunk
	recent  [recentMoves]timedMove
	nRecent int
}

const recentMoves = 16

type timedMove struct {
	mv       parse.Move
	ff, flow float64
}

func (s *emitState) clone() emitState {
	t := *s
	t.state = cloneState(s.state)
	t.path = append([]ir.Vec(nil), s.path...)
	return t
}

const maxPath = 64

type emitter struct {
	c   *compiler
	st  emitState
	buf []byte
	est *timing.Estimator // nil: do not time

	// per-candidate counters
	travelMM float64
	retracts int
	lines    int

	rOrigTail float64 // input retraction depth after the last line handled

	// modal: the emitted stream is in relative or inch XYZ mode, where
	// the emitter generates no motion (see barrier)
	modal bool

	// chunk context for generated lines
	relE   bool
	offset [3]float64
	z      float64
	res    float64
	cross  func(a, b ir.Vec) bool
	// comb, when set, routes a crossing travel around the perimeters
	// (job.combPath); combed counts the travels it routed.
	comb   func(a, b ir.Vec) ([]ir.Vec, bool)
	combed int
	wipeAt int // wipe cursor into path while regenerating a wipe
	// wipeSet: wipeAt was written since the candidate began; wipeEarly:
	// it was read before that (the candidate depends on its start value).
	wipeSet, wipeEarly bool
}

func (e *emitter) init(c *compiler) {
	e.c = c
	e.st = emitState{ff: 1, flow: 1}
}

// ---- number formatting ----

var pow10i = [...]int64{1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// appendFixed appends v with at most dec decimals, trailing zeros removed.
func appendFixed(b []byte, v float64, dec int) []byte {
	dec = min(max(dec, 0), 9)
	if math.Abs(v) > 9e17/float64(pow10i[dec]) || math.IsNaN(v) {
		return strconv.AppendFloat(b, v, 'f', dec, 64)
	}
	n := int64(ir.RoundHalfAway(v * float64(pow10i[dec])))
	return appendUnits(b, n, dec)
}

// appendUnits appends n·10^−dec exactly, trailing zeros removed. The
// digits are written right to left into one buffer, in unsigned arithmetic
// with constant divisors for the usual resolutions (it formats every
// coordinate and E value the emitter writes; a 64-bit division by a
// variable costs more than the rest).
func appendUnits(b []byte, n int64, dec int) []byte {
	if n == math.MinInt64 { // −n overflows; never a real coordinate
		return appendUnitsSlow(b, n, dec)
	}
	neg := n < 0
	if neg {
		n = -n
	}
	u := uint64(n)
	var ip, fp uint64
	switch dec {
	case 0:
		ip = u
	case 1:
		ip, fp = u/10, u%10
	case 2:
		ip, fp = u/100, u%100
	case 3:
		ip, fp = u/1000, u%1000
	case 4:
		ip, fp = u/1e4, u%1e4
	case 5:
		ip, fp = u/1e5, u%1e5
	case 6:
		ip, fp = u/1e6, u%1e6
	default:
		p := uint64(pow10i[dec])
		ip, fp = u/p, u%p
	}
	var tmp [32]byte
	i := len(tmp)
	if fp != 0 {
		k := dec
		for fp%10 == 0 {
			fp /= 10
			k--
		}
		for ; k >= 2; k -= 2 { // two digits at a time
			q := fp / 100
			r := 2 * (fp - 100*q)
			i -= 2
			tmp[i], tmp[i+1] = digitPairs[r], digitPairs[r+1]
			fp = q
		}
		if k == 1 {
			i--
			tmp[i] = byte('0' + fp)
		}
		i--
		tmp[i] = '.'
	}
	for ip >= 100 {
		q := ip / 100
		r := 2 * (ip - 100*q)
		i -= 2
		tmp[i], tmp[i+1] = digitPairs[r], digitPairs[r+1]
		ip = q
	}
	if ip >= 10 {
		i -= 2
		tmp[i], tmp[i+1] = digitPairs[2*ip], digitPairs[2*ip+1]
	} else {
		i--
		tmp[i] = byte('0' + ip)
	}
	if neg {
		i--
		tmp[i] = '-'
	}
	return append(b, tmp[i:]...)
}

// digitPairs holds "00" to "99" (appendUnits writes two digits per division).
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendUnitsSlow is appendUnits through strconv (the reference of
// TestAppendUnits, and the path for math.MinInt64).
func appendUnitsSlow(b []byte, n int64, dec int) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	p := pow10i[dec]
	ip, fp := n/p, n%p
	b = strconv.AppendInt(b, ip, 10)
	if fp == 0 {
		return b
	}
	var tmp [9]byte
	for i := dec - 1; i >= 0; i-- {
		tmp[i] = byte('0' + fp%10)
		fp /= 10
	}
	k := dec
	for k > 0 && tmp[k-1] == '0' {
		k--
	}
	b = append(b, '.')
	return append(b, tmp[:k]...)
}

// snap rounds p to dec decimals.
func snap(p ir.Vec, dec int) ir.Vec {
	f := float64(pow10i[min(max(dec, 0), 9)])
	return ir.Vec{ir.RoundHalfAway(p[0]*f) / f, ir.RoundHalfAway(p[1]*f) / f}
}

func (e *emitter) units(v float64) int64 {
	return int64(ir.RoundHalfAway(v * float64(pow10i[e.c.dec.e])))
}

func (e *emitter) fromUnits(n int64) float64 {
	return float64(n) / float64(pow10i[e.c.dec.e])
}

func (e *emitter) nl() {
	e.buf = append(e.buf, '\n')
	e.lines++
}

func (e *emitter) appendXY(p ir.Vec) {
	e.buf = append(e.buf, " X"...)
	e.buf = appendFixed(e.buf, p[0]-e.offset[0], e.c.dec.xy)
	e.buf = append(e.buf, " Y"...)
	e.buf = appendFixed(e.buf, p[1]-e.offset[1], e.c.dec.xy)
}

func (e *emitter) appendF(f float64) {
	if f != e.st.fAct {
		e.buf = append(e.buf, " F"...)
		e.buf = appendFixed(e.buf, f, 3)
		e.st.fAct = f
	}
}

// ---- estimator hooks ----

func (e *emitter) timeMove(mv *parse.Move) {
	if e.est != nil {
		e.est.MoveDirect(mv, e.st.ff, e.st.flow)
	}
	e.st.recent[e.st.nRecent%recentMoves] = timedMove{*mv, e.st.ff, e.st.flow}
	e.st.nRecent++
}

// warmUp feeds the last emitted moves to est (oldest first), so a
// candidate is timed with the planner in the state the real stream leaves
// it in, not from rest.
func (e *emitter) warmUp(est *timing.Estimator) {
	n := min(e.st.nRecent, recentMoves)
	for i := e.st.nRecent - n; i < e.st.nRecent; i++ {
		m := &e.st.recent[i%recentMoves]
		est.MoveDirect(&m.mv, m.ff, m.flow)
	}
}

// ---- generated motion ----

// travelTo moves in XY at the current Z (mm/min feed f).
func (e *emitter) travelTo(p ir.Vec, f float64) {
	from := e.st.act
	if from[0] == p[0] && from[1] == p[1] {
		return
	}
	if e.c.style.cur.g0 {
		e.buf = append(e.buf, "G0"...)
	} else {
		e.buf = append(e.buf, "G1"...)
	}
	e.appendF(f)
	e.appendXY(p)
	e.nl()
	to := [3]float64{p[0], p[1], from[2]}
	mv := parse.Move{From: from, To: to, FeedMM: f, Rapid: e.c.style.cur.g0}
	e.timeMove(&mv)
	e.travelMM += math.Hypot(p[0]-from[0], p[1]-from[1])
	e.st.act = to
}

// zTo moves Z only.
func (e *emitter) zTo(z, f float64) {
	if e.st.act[2] == z {
		return
	}
	e.buf = append(e.buf, "G1 Z"...)
	e.buf = appendFixed(e.buf, z-e.offset[2], max(e.c.dec.z, 3))
	e.appendF(f)
	e.nl()
	from := e.st.act
	to := from
	to[2] = z
	mv := parse.Move{From: from, To: to, FeedMM: f}
	e.timeMove(&mv)
	e.st.act = to
}

// eMove feeds filament by de (mm, exact decimal at decE) without motion.
func (e *emitter) eMove(de float64, f float64) {
	n := e.units(de)
	if n == 0 {
		return
	}
	e.buf = append(e.buf, "G1 E"...)
	if e.relE {
		e.buf = appendUnits(e.buf, n, e.c.dec.e)
	} else {
		e.buf = appendUnits(e.buf, e.units(e.st.eAct)+n, e.c.dec.e)
	}
	e.appendF(f)
	e.nl()
	d := e.fromUnits(n)
	e.st.eAct = e.fromUnits(e.units(e.st.eAct) + n)
	mv := parse.Move{From: e.st.act, To: e.st.act, DE: d, FeedMM: f}
	e.timeMove(&mv)
}

func (e *emitter) comment(s string) {
	e.buf = append(e.buf, s...)
	e.nl()
}

// retract pulls the filament back per the learned style; wipe along the
// recent path when the file wipes.
func (e *emitter) retract() {
	s := &e.c.style.cur
	e.retracts++
	if s.firmware {
		e.buf = append(e.buf, "G10"...)
		e.nl()
		mv := parse.Move{From: e.st.act, To: e.st.act, DE: -e.c.fw.mm, FeedMM: e.c.fw.feed, Firmware: true}
		e.timeMove(&mv)
		return
	}
	wipeE := s.retractMM * s.wipeFrac
	pre := s.retractMM - wipeE
	if s.wipeLenMM <= 0 || len(e.st.path) < 2 {
		pre, wipeE = s.retractMM, 0
	}
	e.eMove(-pre, s.retractFeed)
	if wipeE > 0 {
		if s.wipeMarks {
			e.comment(";WIPE_START")
		}
		e.wipeAt, e.wipeSet = -1, true
		rest := e.wipeAlong(s.wipeLenMM, -wipeE, s.wipeFeed)
		if rest != 0 {
			e.eMove(rest, s.retractFeed)
		}
		if s.wipeMarks {
			e.comment(";WIPE_END")
		}
	}
}

// unretract restores the filament (plus extra, mm).
func (e *emitter) unretract(extra float64) {
	s := &e.c.style.cur
	if s.firmware {
		e.buf = append(e.buf, "G11"...)
		e.nl()
		mv := parse.Move{From: e.st.act, To: e.st.act, DE: e.c.fw.mm + e.c.fw.extra, FeedMM: e.c.fw.recoverFeed, Firmware: true}
		e.timeMove(&mv)
		if extra != 0 {
			e.eMove(extra, s.unretractFeed)
		}
		return
	}
	e.eMove(s.unretractMM+extra, s.unretractFeed)
}

// wipeAlong moves back along the recent extrusion path (from the wipe
// cursor) for up to lenMM while feeding de (≤ 0) proportionally to the
// distance; it returns the filament not fed for lack of path. Every wipe
// move lies on already printed material of this layer, at the layer height.
func (e *emitter) wipeAlong(lenMM, de float64, f float64) float64 {
	if lenMM <= 0 || de == 0 {
		return de
	}
	total := e.units(de)
	done := int64(0)
	left := lenMM
	walked := 0.0
	if !e.wipeSet {
		e.wipeEarly = true
	}
	e.wipeSet = true
	if e.wipeAt < 0 || e.wipeAt >= len(e.st.path) {
		e.wipeAt = len(e.st.path) - 1
	}
	for e.wipeAt > 0 && left > 1e-9 {
		b := e.st.path[e.wipeAt-1]
		cur := ir.Vec{e.st.act[0], e.st.act[1]}
		seg := math.Hypot(b[0]-cur[0], b[1]-cur[1])
		if seg <= 1e-9 {
			e.wipeAt--
			continue
		}
		var tgt ir.Vec
		step := seg
		if seg > left {
			t := left / seg
			tgt = ir.Vec{cur[0] + (b[0]-cur[0])*t, cur[1] + (b[1]-cur[1])*t}
			tgt = snap(tgt, e.c.dec.xy)
			step = left
		} else {
			tgt = b
			e.wipeAt--
		}
		walked += step
		left -= step
		n := int64(ir.RoundHalfAway(float64(total) * walked / lenMM))
		if left <= 1e-9 {
			n = total
		}
		piece := n - done
		done = n
		e.buf = append(e.buf, "G1"...)
		e.appendF(f)
		e.appendXY(tgt)
		e.buf = append(e.buf, " E"...)
		if e.relE {
			e.buf = appendUnits(e.buf, piece, e.c.dec.e)
		} else {
			e.buf = appendUnits(e.buf, e.units(e.st.eAct)+piece, e.c.dec.e)
		}
		e.nl()
		from := e.st.act
		to := [3]float64{tgt[0], tgt[1], from[2]}
		e.st.eAct = e.fromUnits(e.units(e.st.eAct) + piece)
		mv := parse.Move{From: from, To: to, DE: e.fromUnits(piece), FeedMM: f}
		e.timeMove(&mv)
		e.travelMM += step
		e.st.act = to
	}
	return e.fromUnits(total - done)
}

// crossHook, when set (tests only), sees every crossing decision the
// emitter makes for a travel a→b in job j (crossed: it retracts, or combs).
var crossHook func(j *job, a, b ir.Vec, crossed bool)

// connector travels from the current position to p at layer height z,
// retracting (and hopping) per the policy; retracted reports that the
// filament is already retracted; extra is filament to add on unretract.
func (e *emitter) connector(p ir.Vec, retracted bool, extra float64) (didRetract bool) {
	cur := ir.Vec{e.st.act[0], e.st.act[1]}
	d := math.Hypot(p[0]-cur[0], p[1]-cur[1])
	if d == 0 {
		return false
	}
	s := &e.c.style.cur
	need := !retracted && s.ok && d >= s.minTravelMM
	if need && e.c.opt.Retract == RetractCrossing && e.cross != nil {
		need = e.cross(cur, p)
		if crossHook != nil {
			crossHook(e.c.job, cur, p, need)
		}
		if need && e.comb != nil {
			// Around the perimeters, at the layer height, no retraction
			// and no z-hop: plain travels.
			if ways, ok := e.comb(cur, p); ok {
				if combHook != nil {
					combHook(e.c.job, cur, ways, p)
				}
				for _, w := range ways {
					e.travelTo(w, s.travelFeed)
				}
				e.travelTo(p, s.travelFeed)
				e.combed++
				return false
			}
		}
	}
	if !need {
		e.travelTo(p, s.travelFeed)
		return false
	}
	e.retract()
	z := e.st.act[2]
	if s.hopMM > 0 {
		e.zTo(z+s.hopMM, s.zFeed)
	}
	e.travelTo(p, s.travelFeed)
	if s.hopMM > 0 {
		e.zTo(z, s.zFeed)
	}
	e.unretract(extra)
	return true
}

// pushPath records an extruded point for wipes (and resets the wipe
// cursor to the newest point).
func (e *emitter) pushPath(p ir.Vec) {
	e.wipeAt, e.wipeSet = -1, true
	if len(e.st.path) >= maxPath {
		copy(e.st.path, e.st.path[len(e.st.path)-maxPath/2:])
		e.st.path = e.st.path[:maxPath/2]
	}
	e.st.path = append(e.st.path, p)
}

// ---- verbatim lines ----

// syncSettings brings the emitted settings to want when they may differ.
func (e *emitter) syncSettings(want []slotVal) {
	if !e.st.dirty {
		return
	}
	before := len(e.buf)
	e.buf = e.c.slots.stateDiff(e.st.state, want, e.buf)
	for _, ch := range e.buf[before:] {
		if ch == '\n' {
			e.lines++
		}
	}
	// Replay limits commands on the estimator.
	if e.est != nil && len(e.buf) > before {
		e.timeSettingLines(e.buf[before:])
	}
	e.st.state = append(e.st.state[:0], want...)
	e.st.dirty = false
}

func (e *emitter) timeSettingLines(b []byte) {
	start := 0
	for i, ch := range b {
		if ch != '\n' {
			continue
		}
		var l parse.Line
		if parse.LexLine(b[start:i], &l) == nil && l.Letter == 'M' {
			switch l.Code {
			case 201, 203, 204, 205:
				e.est.ApplySetting(&l, false)
			case 220:
				if v, ok := l.Get('S'); ok && v > 0 {
					e.st.ff = v / 100
				}
			case 221:
				if v, ok := l.Get('S'); ok && v > 0 {
					e.st.flow = v / 100
				}
			}
		}
		start = i + 1
	}
}

// relResync is resync in relative XYZ mode: relative moves by the
// difference between the input's position and the emitted one (Z up
// first, down last; retracting around a long travel as resync does).
func (e *emitter) relResync() {
	a, o := e.st.act, e.st.orig
	if a == o {
		return
	}
	s := &e.c.style.cur
	rel := func(axis byte, d float64, dec int) {
		e.buf = append(e.buf, ' ', axis)
		e.buf = appendFixed(e.buf, d, dec)
	}
	moveZ := func(z float64) {
		e.buf = append(e.buf, "G1"...)
		rel('Z', z-e.st.act[2], max(e.c.dec.z, 3))
		e.appendF(s.zFeed)
		e.nl()
		to := e.st.act
		to[2] = z
		mv := parse.Move{From: e.st.act, To: to, FeedMM: s.zFeed}
		e.timeMove(&mv)
		e.st.act = to
	}
	if o[2] > a[2] {
		moveZ(o[2])
	}
	if a[0] != o[0] || a[1] != o[1] {
		d := math.Hypot(o[0]-a[0], o[1]-a[1])
		wrap := e.st.rOrig <= 1e-9 && s.ok && d >= s.minTravelMM
		if wrap {
			e.retract()
		}
		from := e.st.act
		e.buf = append(e.buf, "G1"...)
		e.appendF(s.travelFeed)
		rel('X', o[0]-from[0], e.c.dec.xy)
		rel('Y', o[1]-from[1], e.c.dec.xy)
		e.nl()
		to := [3]float64{o[0], o[1], from[2]}
		mv := parse.Move{From: from, To: to, FeedMM: s.travelFeed}
		e.timeMove(&mv)
		e.travelMM += d
		e.st.act = to
		if wrap {
			e.unretract(0)
		}
	}
	if e.st.act[2] != o[2] {
		moveZ(o[2])
	}
	e.st.path = e.st.path[:0]
}

// resync travels to the input's XY (and Z) position.
func (e *emitter) resync() {
	a, o := e.st.act, e.st.orig
	if a[0] == o[0] && a[1] == o[1] && a[2] == o[2] {
		return
	}
	s := &e.c.style.cur
	if o[2] > a[2] {
		e.zTo(o[2], s.zFeed)
	}
	if a[0] != o[0] || a[1] != o[1] {
		p := ir.Vec{o[0], o[1]}
		d := math.Hypot(o[0]-a[0], o[1]-a[1])
		if e.st.rOrig <= 1e-9 && s.ok && d >= s.minTravelMM {
			e.retract()
			e.travelTo(p, s.travelFeed)
			e.unretract(0)
		} else {
			e.travelTo(p, s.travelFeed)
		}
	}
	if e.st.act[2] != o[2] {
		e.zTo(o[2], s.zFeed)
	}
}

// verbatim emits a buffered line unchanged, after re-synchronising what it
// depends on. before is the settings state before the line.
func (e *emitter) verbatim(it *item, before []slotVal) {
	c := e.c
	e.syncSettings(before)
	raw := c.raw(it)
	wrap := false
	if it.mi >= 0 && e.modal && it.rel {
		// Relative XYZ: the input's move is copied; if it moves in XY, or
		// Z differs, it must start where the input's started.
		if mv := &c.moves[it.mi]; mv.HasXY() || e.st.act[2] != e.st.orig[2] {
			e.relResync()
		}
	}
	if it.mi >= 0 {
		mv := &c.moves[it.mi]
		moved := e.st.act[0] != e.st.orig[0] || e.st.act[1] != e.st.orig[1]
		if moved && it.cls == cMotion && mv.HasXY() && mv.DE < 0 && !mv.Firmware {
			e.regenWipe(it)
			return
		}
		if moved && it.cls == cMotion && mv.Kind == parse.Linear && mv.DE == 0 && it.setAbs == 3 && e.st.rOrig <= 1e-9 && !hasWord(raw, 'E') {
			// A travel of the input from somewhere else: retract around
			// it if the new travel calls for it.
			s := &c.style.cur
			cur := ir.Vec{e.st.act[0], e.st.act[1]}
			p := ir.Vec{mv.To[0], mv.To[1]}
			d := math.Hypot(p[0]-cur[0], p[1]-cur[1])
			wrap = s.ok && d >= s.minTravelMM
			if wrap && c.opt.Retract == RetractCrossing && e.cross != nil {
				wrap = e.cross(cur, p)
				if crossHook != nil {
					crossHook(c.job, cur, p, wrap)
				}
			}
			if wrap {
				e.retract()
			}
		}
		if (it.arcRel || it.cls == cExtrude) && (e.st.act[0] != e.st.orig[0] || e.st.act[1] != e.st.orig[1]) {
			e.resync()
		}
		if it.cls == cExtrude && e.st.act[2] != e.st.orig[2] {
			e.resync()
		}
		if !it.relE && mv.DE != 0 && !sameE(e.st.eAct, e.st.eOrig) {
			e.g92()
		}
		// The F the line relies on (after any generated move).
		if e.st.fAct != e.st.fOrig {
			e.buf = append(e.buf, "G1 F"...)
			e.buf = appendFixed(e.buf, e.st.fOrig, 3)
			e.nl()
			e.st.fAct = e.st.fOrig
		}
	}
	e.buf = append(e.buf, raw...)
	e.nl()
	e.apply(it)
	if wrap {
		e.unretract(0)
	}
}

// hasWord reports whether the code part of a raw line contains letter c
// (either case).
func hasWord(raw []byte, c byte) bool {
	for _, b := range raw {
		if b == ';' {
			return false
		}
		if b == c || b == c+32 {
			return true
		}
	}
	return false
}

// regenWipe replaces a wipe of the input (a move with negative E) made
// where the emitted head is not: the same filament and length are wiped
// back along the path actually printed last.
func (e *emitter) regenWipe(it *item) {
	c := e.c
	mv := &c.moves[it.mi]
	if e.st.fAct != it.feed {
		e.buf = append(e.buf, "G1 F"...)
		e.buf = appendFixed(e.buf, it.feed, 3)
		e.nl()
		e.st.fAct = it.feed
	}
	e.relE = it.relE
	rest := e.wipeAlong(mv.XYLength(), mv.DE, it.feed)
	if rest != 0 {
		e.eMove(rest, it.feed)
	}
	e.st.orig = it.after
	e.st.fOrig = it.feed
	e.st.eOrig = it.eLog
	if it.relE {
		e.st.eOrig = e.st.eAct
	}
	e.st.ff, e.st.flow = it.ff, it.flow
	e.st.rOrig = it.r
	e.rOrigTail = it.r
}

// sameE reports E coordinates equal below any written resolution.
func sameE(a, b float64) bool { return math.Abs(a-b) < 1e-7 }

// g92 re-bases the emitted E coordinate on the input's.
func (e *emitter) g92() {
	e.buf = append(e.buf, "G92 E"...)
	e.buf = appendFixed(e.buf, e.st.eOrig, e.c.dec.e)
	e.nl()
	e.st.eAct = e.st.eOrig
}

// apply advances the state over a line emitted verbatim.
func (e *emitter) apply(it *item) {
	c := e.c
	if it.mi >= 0 {
		mv := &c.moves[it.mi]
		before := e.st.act
		for a := 0; a < 3; a++ {
			if it.setAbs&(1<<a) != 0 {
				e.st.act[a] = it.after[a]
			} else {
				e.st.act[a] += it.after[a] - e.st.orig[a]
			}
		}
		e.st.orig = it.after
		e.st.eAct += it.eLog - e.st.eOrig
		if sameE(e.st.eAct, it.eLog) {
			e.st.eAct = it.eLog // no drift from float sums
		}
		e.st.eOrig = it.eLog
		e.st.fAct, e.st.fOrig = it.feed, it.feed
		tm := *mv
		if tm.Kind == parse.Linear {
			tm.From, tm.To = before, e.st.act
		}
		e.st.ff, e.st.flow = it.ff, it.flow
		e.timeMove(&tm)
		switch {
		case it.cls == cExtrude:
			e.extruded(&tm)
		case mv.HasXY():
			if mv.DE >= 0 {
				e.st.path = e.st.path[:0]
			}
			e.travelMM += tm.XYLength()
		}
		if !mv.HasXY() && mv.DE < 0 {
			e.retracts++
		}
	}
	switch it.cls {
	case cFeed:
		e.st.fAct, e.st.fOrig = it.feed, it.feed
	case cSetE:
		e.st.eAct, e.st.eOrig = it.eLog, it.eLog
	case cSetting, cAttr, cFeature:
		e.st.state = append(e.st.state[:0], c.states[it.state]...)
		if e.est != nil && it.cls == cSetting {
			c.applySetting(e.est, it)
		}
	}
	e.st.ff, e.st.flow = it.ff, it.flow
	e.st.rOrig = it.r
	e.rOrigTail = it.r
}

// extruded records the path of an extrusion move (chords for arcs) for
// later wipes.
func (e *emitter) extruded(mv *parse.Move) {
	from := ir.Vec{mv.From[0], mv.From[1]}
	if n := len(e.st.path); n == 0 || e.st.path[n-1] != from {
		e.st.path = append(e.st.path[:0], from)
	}
	if mv.Kind == parse.Linear {
		e.pushPath(ir.Vec{mv.To[0], mv.To[1]})
		return
	}
	mv.Chords(1, func(_, b [3]float64, _ float64) { e.pushPath(ir.Vec{b[0], b[1]}) })
}

// barrier emits a pinned line outside any chunk; b carries the input's
// state after the line.
func (e *emitter) barrier(b *job) {
	c := e.c
	e.buf = e.buf[:0]
	e.est = nil
	// e.relE stays the E mode before the line (the mode of whatever is
	// generated ahead of it) until the line is written.
	e.syncSettings(b.barrierState)
	if e.st.fAct != e.st.fOrig {
		e.buf = append(e.buf, "G1 F"...)
		e.buf = appendFixed(e.buf, e.st.fOrig, 3)
		e.nl()
		e.st.fAct = e.st.fOrig
	}
	if !b.relE && !sameE(e.st.eAct, e.st.eOrig) {
		e.g92()
	}
	// The emitted head must be where the input's is before a line that
	// depends on the position, and before inch mode (generated moves are
	// millimetres). In relative mode (e.modal) relResync moves there
	// relatively, before the first line that needs it (verbatim); chunks in
	// relative or inch mode are never reordered.
	switch {
	case e.modal && b.sensitive:
		e.relResync()
	case !e.modal && (b.sensitive || b.toInch):
		e.resync()
	}
	e.buf = append(e.buf, b.line...)
	e.nl()
	e.relE = b.relE
	e.modal = b.toRelative || b.toInch
	e.offset = b.offset
	// After the line.
	if b.pos != e.st.orig || b.sensitive {
		e.st.act, e.st.orig = b.pos, b.pos
	}
	if e.st.eOrig != b.eLog {
		e.st.eAct, e.st.eOrig = b.eLog, b.eLog
	}
	e.st.fAct, e.st.fOrig = b.feed, b.feed
	e.st.ff, e.st.flow = b.ff, b.flow
	e.st.path = e.st.path[:0]
	c.write(e.buf)
	e.buf = e.buf[:0]
}

// positionSensitive reports pinned commands that may move the head relative
// to where it is (tool changes, macros, homing, unknown G-codes): the
// emitted position is synchronised with the input's before them.
func positionSensitive(l *parse.Line) bool {
	switch l.Letter {
	case 0:
		return false
	case 'M':
		switch l.Code {
		case 17, 18, 73, 75, 76, 77, 82, 83, 84, 104, 105, 106, 107, 109, 110, 111, 112, 114, 115, 117, 118, 119,
			140, 141, 190, 191, 201, 203, 204, 205, 220, 221, 300, 400, 486, 500, 501, 502, 503, 572, 862, 900:
			return false
		}
		return true
	case 'G':
		switch l.Code {
		case 4, 17, 20, 21, 90, 91:
			return false
		}
		return true
	}
	return true
}
