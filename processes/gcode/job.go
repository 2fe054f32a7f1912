package gcode

import (
	"hash/maphash"
	"math"
	"strings"
	"sync"

	"fabcell/processes/gcode/ir"
	"fabcell/processes/gcode/parse"
	"fabcell/processes/gcode/timing"
)

type jobKind uint8

const (
	jobChunk   jobKind = iota // a chunk of buffered lines
	jobBarrier                // one pinned line
)

// chunkInfo describes a buffered chunk.
type chunkInfo struct {
	startLimits timing.Limits // limits in force before items[0]
	startState  int32         // state index before items[0]
	startPos    [3]float64    // input position before items[0]
	startR      float64       // input retraction depth before items[0]
	z           float64       // extrusion height
	haveZ       bool
	lastExtr    int
	nExtr       int
	locked      string     // why the order must be kept ("" = may reorder)
	priorMaxZ   float64    // highest extrusion printed before this chunk (mm)
	offset      [3]float64 // G92 offset (physical − logical)
}

// fwRetract is the firmware-retraction setting (M207/M208).
type fwRetract struct{ mm, feed, extra, recoverFeed float64 }

// job is the unit passed between the pipeline stages: a chunk (its lines,
// moves and settings states, then its IR and plan) or a pinned line. Each
// job owns its memory; stages never share mutable state.
type job struct {
	kind jobKind

	big bool // pooled as a big job (see jobPool)

	// chunk
	items  []item
	arena  []byte
	moves  []parse.Move
	states [][]slotVal // settings states referenced by items (slices of slab)
	slab   []slotVal
	sinfo  []stateInfo
	chunk  chunkInfo
	slots  regSnap
	dec    decimals
	fw     fwRetract

	// filled by prepare (stage 2)
	first, last, n int
	reason         string // why the chunk is kept as is
	g              *ir.Graph
	cg             *chunkGraph // set by reset
	steps          []ir.Step
	pst            ir.PlanStats
	popt           ir.PlanOptions
	tours          ir.Tours // stage 2a → 2b
	toured         bool     // tours is set: the chunk is to be planned
	planned        bool     // steps is a plan from planStart
	startKnown     bool     // stage 2b will start the plan at start (startFinder)
	start          [3]float64
	inEnd          struct { // inputEnd's facts of the lines, once computed
		p                  [3]float64 // the last absolute XY position set
		set, planEnd, done bool
	}
	cross  func(a, b ir.Vec) bool // does a travel cross a perimeter
	crossV func(a, b ir.Vec) bool // the same, for compiler.verb
	// combPath, when set, is the combed route of a crossing travel (see
	// comb); nil when combing does not apply to the chunk.
	combPath  func(a, b ir.Vec) ([]ir.Vec, bool)
	end       ir.Vec // where the input goes after the body
	hasEnd    bool
	planStart ir.Vec // where the plan starts

	// barrier
	line         []byte
	sensitive    bool
	toRelative   bool // the line leaves XYZ relative (what follows depends on the position)
	toInch       bool // the line leaves inch units (generated millimetre moves would be wrong)
	pos          [3]float64
	eLog, feed   float64
	ff, flow     float64
	relE         bool
	offset       [3]float64 // G92 offset after the line
	barrierState []slotVal
}

// raw returns the text of a buffered line.
func (j *job) raw(it *item) []byte { return j.arena[it.off : it.off+it.n] }

// pushState appends a snapshot of s.
func (j *job) pushState(s []slotVal) {
	start := len(j.slab)
	j.slab = append(j.slab, s...)
	j.states = append(j.states, j.slab[start:len(j.slab):len(j.slab)])
}

// stateBefore is the settings state before items[i].
func (j *job) stateBefore(items []item, i int) []slotVal {
	if i == 0 {
		return j.states[j.chunk.startState]
	}
	return j.states[items[i-1].state]
}

// jobPool recycles chunk jobs (their slices and graph workspace) within
// one Optimize call: the writer returns every job once emitted, the reader
// takes them back. Bounded free lists, not a sync.Pool, so the memory
// survives garbage collections; last in, first out, so the job reused is
// the one most likely still in cache. Small jobs (at most smallItems lines)
// are kept apart from big ones: files without planar layers (spiral vases)
// make a chunk per line, and those must not pin layer-sized memory.
type jobPool struct {
	mu         sync.Mutex
	small, big []*job
	maxSmall   int
	maxBig     int
}

// smallItems is the size (lines) up to which a chunk stays in a small job;
// the reader moves a growing chunk into a big job (reader.upgrade).
const smallItems = 128

func newJobPool() *jobPool {
	// Batches wait between stages (pipeDepth each, prepWorkers·pipeDepth
	// twice at stage 2a) or are in a stage (one per goroutine); a batch
	// holds one big chunk at most; stage 3 holds lookJobs more.
	inFlight := (2+2*prepWorkers)*pipeDepth + 3 + prepWorkers + lookJobs
	return &jobPool{maxSmall: inFlight * maxBatch, maxBig: inFlight + 1}
}

// spareSmall and spareBig keep the jobs of finished Optimize calls (see
// jobPool.release) for the next ones, e.g. a controller re-compiling file
// after file. A sync.Pool, so the memory goes back to the runtime when
// no call needs it (it is dropped over two garbage collections).
var spareSmall, spareBig sync.Pool

// get returns an empty chunk job, reusing a small one when one is free.
func (p *jobPool) get() *job {
	var j *job
	p.mu.Lock()
	if n := len(p.small); n > 0 {
		j = p.small[n-1]
		p.small = p.small[:n-1]
	}
	p.mu.Unlock()
	if j == nil {
		if s, ok := spareSmall.Get().(*job); ok {
			j = s
		} else {
			j = &job{}
		}
	}
	j.reset()
	return j
}

// getBig returns an empty big job, or nil if none is free.
func (p *jobPool) getBig() *job {
	var j *job
	p.mu.Lock()
	if n := len(p.big); n > 0 {
		j = p.big[n-1]
		p.big = p.big[:n-1]
	}
	p.mu.Unlock()
	if j == nil {
		j, _ = spareBig.Get().(*job)
	}
	if j != nil {
		j.reset()
	}
	return j
}

// release hands the free jobs to the spare pools for later Optimize
// calls (the pool must not be used afterwards).
func (p *jobPool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, j := range p.small {
		spareSmall.Put(j)
	}
	for _, j := range p.big {
		spareBig.Put(j)
	}
	p.small, p.big = nil, nil
}

// reset empties a job for reuse, keeping its memory: every field is zero
// but the emptied slices, the graph and the chunk graph (emptied; its
// segment index and query scratch keep their memory). It clears the job
// in place (a composite literal of the whole job went through a 1.4 kB
// temporary: a tenth of the reader's time on a spiral vase, which makes a
// job per line).
func (j *job) reset() {
	g, cg, big := j.g, j.cg, j.big
	items, arena, moves, states := j.items[:0], j.arena[:0], j.moves[:0], j.states[:0]
	slab, sinfo, steps := j.slab[:0], j.sinfo[:0], j.steps[:0]
	*j = job{}
	j.kind, j.items, j.arena, j.moves, j.states = jobChunk, items, arena, moves, states
	j.slab, j.sinfo, j.steps = slab, sinfo, steps
	j.g, j.big = g, big
	if cg == nil {
		cg = &chunkGraph{}
	}
	cg.src, cg.loops, cg.perimA, cg.perimB = cg.src[:0], nil, cg.perimA[:0], cg.perimB[:0]
	cg.outA, cg.outB, cg.outStrokes = cg.outA[:0], cg.outB[:0], cg.outStrokes[:0]
	j.cg = cg
}

// put returns a job to the pool (the caller no longer uses it).
func (p *jobPool) put(j *job) {
	if j.kind != jobChunk || cap(j.arena) > 64<<20 {
		return
	}
	j.cross, j.crossV, j.combPath = nil, nil, nil
	j.barrierState = nil
	if !j.big && (cap(j.items) > 4*smallItems || cap(j.arena) > 256*smallItems) {
		return // a small job that grew (a chunk split off a big one)
	}
	p.mu.Lock()
	if j.big && len(p.big) < p.maxBig {
		p.big = append(p.big, j)
	} else if !j.big && len(p.small) < p.maxSmall {
		p.small = append(p.small, j)
	}
	p.mu.Unlock()
}

// finish snapshots what later stages need from the reader.
func (j *job) finish(rd *reader) {
	j.slots = rd.slots.snapshot()
	j.dec = rd.dec
	m := rd.m
	j.fw = fwRetract{m.FwRetractMM, m.FwRetractFeed, m.FwRecoverExtraMM, m.FwRecoverFeed}
	if len(j.items) > 0 {
		// Input position before the chunk: walk back from the first item.
		j.chunk.startPos = j.items[0].after
		if j.items[0].mi >= 0 {
			j.chunk.startPos = j.moves[j.items[0].mi].From
		}
	}
}

// stateInfo caches per-state facts used while building a chunk graph.
type stateInfo struct {
	done      bool
	hard      uint64 // hash of the command slots
	typ       string // feature type text
	perimeter bool
	outer     bool // an outer wall (bounds the part region)
}

var hashSeed = maphash.MakeSeed()

// info returns the cached facts of state idx. A state differs from the one
// before it in the slot of the line that made it, so the facts of idx−1 are
// reused for the parts that slot does not touch.
func (j *job) info(idx int32) *stateInfo {
	for len(j.sinfo) < len(j.states) {
		j.sinfo = append(j.sinfo, stateInfo{})
	}
	si := &j.sinfo[idx]
	if si.done {
		return si
	}
	s := j.states[idx]
	hard := j.slots.hard
	ts := j.slots.typeSlot
	sameType, sameHard := false, false
	var prev *stateInfo
	if idx > 0 && j.sinfo[idx-1].done && len(j.states[idx-1]) == len(s) {
		prev = &j.sinfo[idx-1]
		ps := j.states[idx-1]
		sameType = ts < 0 || slotAt(ps, ts).text == slotAt(s, ts).text
		sameHard = true
		for i := range s {
			if i < len(hard) && hard[i] && s[i].text != ps[i].text {
				sameHard = false
				break
			}
		}
	}
	si.done = true
	if sameType {
		si.typ, si.perimeter, si.outer = prev.typ, prev.perimeter, prev.outer
	} else {
		si.typ = j.typeOf(s)
		si.perimeter = isPerimeterType(si.typ)
		si.outer = si.perimeter && isOuterType(si.typ)
	}
	if sameHard {
		si.hard = prev.hard
	} else {
		var h maphash.Hash
		h.SetSeed(hashSeed)
		for i, v := range s {
			if i < len(hard) && hard[i] {
				h.WriteString(v.text)
				h.WriteByte(0)
			}
		}
		si.hard = h.Sum64()
	}
	return si
}

// typeOf returns the feature type text of a state (the ";TYPE:" comment,
// or Bambu Studio's / OrcaSlicer's "; FEATURE:" in files without one), or
// "".
func (j *job) typeOf(s []slotVal) string {
	if j.slots.typeSlot < 0 {
		return ""
	}
	t := slotAt(s, j.slots.typeSlot).text
	if k := strings.IndexByte(t, ';'); k >= 0 {
		return t[k+1:]
	}
	return t
}

// hardKey combines a state's command slots and a feed (mm/min): edges with
// equal keys print with the same settings.
func (j *job) hardKey(idx int32, feed float64) uint64 {
	h := j.info(idx).hard
	u := uint64(int64(ir.RoundHalfAway(feed * 1000)))
	h ^= u + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
	return h
}

// prepare is stage 2a: decide whether the chunk may be reordered, build
// its IR and the start-independent part of its plan (ir.Graph.Tours).
func (j *job) prepare(opt Options) {
	j.first, j.last, j.n = -1, -1, 0
	for i := range j.items {
		if j.items[i].cls == cExtrude {
			if j.first < 0 {
				j.first = i
			}
			j.last = i
			j.n++
		}
	}
	if j.n < 2 {
		return
	}
	j.reason = j.chunk.locked
	if j.reason == "" && j.chunk.priorMaxZ > j.chunk.z+1e-6 {
		// Material printed before is higher than this layer (sequential
		// printing, non-planar parts): new travels at this height could
		// hit it.
		j.reason = "below material printed before"
	}
	if j.reason == "" {
		j.reason = j.reorderable()
	}
	if j.reason != "" {
		return
	}
	if j.reason = j.buildGraph(opt); j.reason != "" {
		return
	}
	j.g.TravelMMS, j.g.TravelAccel = j.travelSpeed()
	j.g.CrossCost = nil
	j.combPath = nil
	if rc, minD := j.retractCost(opt); rc > 0 && opt.Retract == RetractCrossing && j.g.TravelMMS > 0 {
		cross := j.cross
		var cm *combModel
		if opt.Comb {
			cm = j.comb(opt, rc)
			j.combPath = cm.path
		}
		j.g.CrossCost = func(a, b ir.Vec) float64 {
			dx, dy := a[0]-b[0], a[1]-b[1]
			if dx*dx+dy*dy < minD*minD || !cross(a, b) {
				return 0
			}
			if cm != nil {
				if extra, ok := cm.extra(a, b); ok {
					return extra
				}
			}
			return rc
		}
	}
	popt := ir.PlanOptions{Matching: opt.Matching, Improve: opt.Improve}
	// Where the input goes after the body: the tour should end near it.
	for i := j.last + 1; i < len(j.items); i++ {
		if j.items[i].mi >= 0 && j.moves[j.items[i].mi].HasXY() {
			a := j.items[i].after
			popt.End, popt.HasEnd = ir.Vec{a[0], a[1]}, true
			j.end, j.hasEnd = popt.End, true
			break
		}
	}
	j.popt = popt
	j.tours = j.g.Tours(popt)
	j.toured = true
	if j.startKnown {
		// Stage 2b will start it where the input's lines leave the head:
		// plan it here (see startFinder).
		j.plan(j.start)
	}
}

// plan finishes the plan of a prepared chunk from start3 (the emitter
// retargets the first travel to wherever the head really is).
func (j *job) plan(start3 [3]float64) {
	j.planStart = ir.Vec{start3[0], start3[1]}
	if !j.toured {
		return
	}
	j.steps, j.pst = j.g.Chain(j.planStart, j.tours, j.popt)
	j.planned = true
	if !j.g.CheckPlan(j.steps) {
		j.reason = "internal plan check failed"
	}
}

// planFrom is stage 2b: the plan of a prepared chunk for a head starting
// at start3, where the previous job is predicted to leave it (stage 2a
// planned the chunks whose start it could tell, see startFinder).
func (j *job) planFrom(start3 [3]float64) {
	if !j.planned {
		j.plan(start3)
		return
	}
	if start := (ir.Vec{start3[0], start3[1]}); j.reason == "" && start != j.planStart {
		// startFinder and stage 2b disagree (they should not): plan
		// again from where stage 2b says.
		if j.popt.Improve {
			j.restart(start)
		} else {
			j.plan(start3)
		}
	}
}

// restart re-optimises the run order of a planned chunk for a head
// starting at start: the writer, when the head is not where stage 2b
// predicted (ir.Graph.RestartRuns continues the plan's run reordering).
func (j *job) restart(start ir.Vec) {
	steps, ok := j.g.RestartRuns(start)
	if !ok {
		var end *ir.Vec
		if j.hasEnd {
			end = &j.end
		}
		steps = j.g.ImproveRuns(start, end, j.steps)
	}
	j.steps, j.planStart = steps, start
	if !j.g.CheckPlan(j.steps) {
		j.reason = "internal plan check failed"
	}
}

// predictEnd returns where the head will be after this job if a planned
// chunk is emitted reordered (else where the input leaves it).
func (j *job) predictEnd(prev [3]float64, have bool) ([3]float64, bool) {
	p, ok, _, planEnd := j.inputEnd(prev, have)
	if planEnd && j.reason == "" && len(j.steps) > 0 {
		// The body ends at the plan's last vertex (a loop at the end of
		// its last extrusion: a seam gap or a wall block leaves the head
		// short of its seam).
		v := j.planEnd()
		p = [3]float64{v[0], v[1], p[2]}
		ok = true
	}
	return p, ok
}

// planEnd is where the head stands after the plan's last step.
func (j *job) planEnd() ir.Vec {
	s := j.steps[len(j.steps)-1]
	if ed := &j.g.Edges[s.Edge]; ed.Kind == ir.Fixed {
		its := j.cg.loops[ed.Src].items
		to := j.moves[j.items[its[len(its)-1]].mi].To
		return ir.Vec{to[0], to[1]}
	}
	return j.g.Pts[j.g.To(s)]
}

// inputEnd is the part of predictEnd that does not depend on the plan:
// where the input's own lines leave the head after this job, whether they
// set its XY position whatever prev is (set: a pinned line, or an
// absolute or position-dependent XY move), and whether a plan of the chunk
// would replace that position by its last vertex (planEnd: no absolute XY
// move after the last extrusion).
func (j *job) inputEnd(prev [3]float64, have bool) (p [3]float64, ok, set, planEnd bool) {
	if j.kind == jobBarrier {
		// Either way the position is j.pos (prev when equal to it).
		if j.sensitive || j.pos != prev {
			return j.pos, true, true, false
		}
		return prev, have, true, false
	}
	e := &j.inEnd
	if !e.done { // (the lines do not change once the chunk is sent)
		for i := range j.items {
			it := &j.items[i]
			if it.mi >= 0 && (it.setAbs&3 == 3 || it.arcRel) {
				e.p, e.set = it.after, true
			}
		}
		e.planEnd = true
		for i := j.chunk.lastExtr + 1; i < len(j.items); i++ {
			if it := &j.items[i]; it.mi >= 0 && it.setAbs&3 == 3 {
				e.planEnd = false // the lead-out takes the head elsewhere
			}
		}
		e.done = true
	}
	if e.set {
		return e.p, true, true, e.planEnd
	}
	return prev, have, false, e.planEnd
}

// startFinder predicts, at stage 2a dispatch, where stage 2b will start
// each chunk's plan, for the chunks whose start does not depend on
// another chunk's plan (it is where the input's own lines leave the head:
// after a pinned line, an absolute travel, or a planned chunk's lead-out
// travel). Those chunks are planned completely in stage 2a, on both
// workers; the others wait for stage 2b. It mirrors stage 2b's use of
// predictEnd job by job, treating every chunk that may be planned as
// planned (if it is not, its successor is merely planned in stage 2b).
type startFinder struct {
	pred    [3]float64
	have    bool
	unknown bool // pred depends on a plan not made yet
}

// next notes job j (in input order) and, for a chunk whose plan start is
// known, sets j.startKnown and j.start.
func (f *startFinder) next(j *job) {
	mayPlan := j.kind == jobChunk && j.chunk.nExtr >= 2 && j.chunk.locked == ""
	if mayPlan && !f.unknown {
		j.startKnown = true
		j.start = j.chunk.startPos
		if f.have {
			j.start = f.pred
		}
	}
	p, ok, set, planEnd := j.inputEnd(f.pred, f.have)
	f.pred, f.have = p, ok
	switch {
	case mayPlan && planEnd:
		f.unknown = true
	case set:
		f.unknown = false
	}
}

// travelSpeed returns the chunk's travel feed (the most common feed of
// its XY travels, mm/s, capped by the X/Y limits) and travel acceleration
// (mm/s²) for the travel-time cost of run reordering.
func (j *job) travelSpeed() (float64, float64) {
	h := hist{}
	for i := range j.items {
		it := &j.items[i]
		if it.cls == cMotion && it.mi >= 0 {
			if mv := &j.moves[it.mi]; mv.HasXY() && mv.DE == 0 {
				h.add(mv.FeedMM)
			}
		}
	}
	l := &j.chunk.startLimits
	f, ok := h.mode()
	if !ok || f <= 0 {
		return 0, 0
	}
	v := min(f/60, min(l.MaxFeedMMS[0], l.MaxFeedMMS[1]))
	a := min(l.TravelAccel, min(l.MaxAccelMMS2[0], l.MaxAccelMMS2[1]))
	return v, a
}

// retractCost estimates, from the chunk's own connectors, the time a
// retraction adds to a travel (retract, unretract and z-hop at their
// feeds) and the shortest travel that retracted; zero without retractions.
func (j *job) retractCost(opt Options) (float64, float64) {
	var rc float64
	minD := math.Inf(1)
	var from [3]float64
	have := false
	var neg, feedR, feedU, hop, feedZ float64
	for i := range j.items {
		it := &j.items[i]
		if it.mi < 0 {
			continue
		}
		mv := &j.moves[it.mi]
		switch {
		case it.cls == cExtrude:
			if have && neg > 0 && feedR > 0 {
				t := neg / (feedR / 60)
				if feedU > 0 {
					t += neg / (feedU / 60)
				}
				if hop > 0 && feedZ > 0 {
					t += 2 * hop / (feedZ / 60)
				}
				rc = max(rc, t)
				minD = min(minD, math.Hypot(mv.From[0]-from[0], mv.From[1]-from[1]))
			}
			from, have = mv.To, true
			neg, feedR, feedU, hop, feedZ = 0, 0, 0, 0, 0
		case !mv.HasXY() && mv.DE < 0:
			neg -= mv.DE
			feedR = mv.FeedMM
		case !mv.HasXY() && mv.DE > 0:
			feedU = mv.FeedMM
		case mv.HasXY() && mv.DE < 0:
			neg -= mv.DE
		case !mv.HasXY() && mv.To[2] > mv.From[2]:
			hop = max(hop, mv.To[2]-j.chunk.z)
			feedZ = mv.FeedMM
		}
	}
	if math.IsInf(minD, 1) {
		minD = opt.RetractMinTravelMM
	}
	return rc, minD
}

// reorderable reports why a chunk must keep its order ("" = it may be
// reordered).
func (j *job) reorderable() string {
	for i := range j.items {
		it := &j.items[i]
		if it.rel || it.inch {
			return "relative or inch coordinates"
		}
		if it.mi < 0 {
			continue
		}
		mv := &j.moves[it.mi]
		if i < j.first && mv.HasXY() && it.arcRel && mv.DE >= 0 {
			return "position-dependent move before the first extrusion"
		}
		if i > j.first && i < j.last && it.cls == cMotion && mv.HasXY() && mv.To[2] < j.chunk.z-1e-9 {
			return "travel below the layer"
		}
	}
	return ""
}
