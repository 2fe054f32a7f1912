package gcode

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"fabcell/processes/gcode/parse"
	"fabcell/processes/gcode/timing"
)

// cls is the role of a line inside a chunk.
type cls uint8

const (
	cFloat    cls = iota // comment, blank, M73/M117: kept, placed by extrusion progress
	cMarker              // layer change comment: starts a chunk
	cBarrier             // pinned command: ends a chunk and is emitted in place
	cExtrude             // extrusion move
	cMotion              // any other move (travel, retract, wipe, z-hop, unretract)
	cFeed                // G0/G1 with only F
	cSetting             // state command bound to edges (fan, acceleration, jerk, factors, PA)
	cAttr                // feature comment bound to edges (;TYPE:, ;WIDTH:, ...)
	cWipeMark            // ;WIPE_START / ;WIPE_END
	cNoop                // mode line that changes nothing
	cSetE                // G92 E only
	cFeature             // feature comment that also starts a chunk (scope feature, ironing)
)

// item is one buffered input line.
type item struct {
	off, n int32 // raw text in the arena
	num    int32 // line number
	cls    cls
	mi     int32   // index into moves (motion lines), −1 otherwise
	state  int32   // settings state after the line (index into states)
	setAbs uint8   // bit i: the line sets axis i (X, Y, Z) absolutely
	arcRel bool    // arc, relative or single-axis XY: geometry depends on the start
	rel    bool    // relative XYZ at this line
	relE   bool    // relative E at this line
	inch   bool    // inch units at this line
	feed   float64 // modal F after the line (mm/min)
	eLog   float64 // logical E after the line
	ff     float64 // M220 factor after the line
	flow   float64 // M221 factor after the line
	r      float64 // filament retraction depth after the line (mm ≥ 0)
	after  [3]float64
}

// Report summarises an optimisation.
type Report struct {
	LinesIn, LinesOut int
	Layers            int // layer-change markers seen
	Chunks            int // chunks with at least two extrusions
	Reordered         int // chunks emitted in a new order
	Kept              map[string]int
	EdgesIn           int // extrusion moves in the input
	EdgesOut          int // extrusion moves in the output (split pieces counted)
	Splits            int // pieces added by segmentation
	// Travel and retractions of the candidate chunks (input vs output).
	TravelInMM, TravelOutMM float64
	RetractsIn, RetractsOut int
	// Combed counts the travels of reordered chunks routed around the
	// perimeters instead of retracting (Options.Comb).
	Combed int
	// Chunk-local time estimates (s) of the chunks considered.
	ChunkTimeInS, ChunkTimeOutS float64
	OddVertices                 int
	MatchingMM                  float64
	Matching                    string
	Meta                        parse.Meta
}

func (r *Report) kept(reason string) {
	if r.Kept == nil {
		r.Kept = map[string]int{}
	}
	r.Kept[reason]++
}

// Pipeline shape: jobs travel between stages in batches of at most
// maxBatch jobs (a batch ends at the first chunk with something to plan),
// and at most pipeDepth batches wait between two stages (prepWorkers·
// pipeDepth at stage 2a), which bounds memory to a few chunks (about a
// layer each) per stage.
const (
	pipeDepth   = 2
	maxBatch    = 32
	prepWorkers = 2
	// lookJobs is how many jobs after a chunk stage 3 sees (compiler.ahead).
	lookJobs = 8
)

// prepItem is a batch handed to the stage 2a workers; done is closed once
// every chunk in it is prepared.
type prepItem struct {
	b    []*job
	done chan struct{}
}

// Optimize reads G-code from r and writes the re-compiled G-code to w.
//
// It runs as a pipeline — (1) lexing, interpretation and chunking, (2a) IR
// construction, segmentation, matching and Euler tours, (2b) chaining and
// run reordering from the predicted start, (3) emission, timing and choice
// — connected by bounded channels, so memory stays bounded by a few chunks
// and the stages share the cores. Stage 2a does not depend on other chunks
// and runs on prepWorkers goroutines (results are taken in order); stage
// 2b is sequential because each plan starts where the previous chunk is
// predicted to end. When that start does not depend on the previous plan
// (it is where the input's own lines put the head: after a pinned line, an
// absolute travel, a lead-out travel), the chunk is chained in stage 2a
// instead (startFinder), so on files whose layers end with a travel the
// chaining runs on both workers. ctx cancels all stages; every goroutine
// has returned when Optimize returns.
func Optimize(ctx context.Context, r io.Reader, w io.Writer, opt Options) (Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pool := newJobPool()
	rd := newReader(opt)
	rd.pool = pool
	wr := newWriter(w, opt)
	parsed := make(chan []*job, pipeDepth)
	work := make(chan prepItem, prepWorkers*pipeDepth)
	order := make(chan prepItem, prepWorkers*pipeDepth)
	planned := make(chan []*job, pipeDepth)
	var wg sync.WaitGroup
	var rdErr error
	wg.Add(3 + prepWorkers)
	go func() { // stage 1
		defer wg.Done()
		defer close(parsed)
		rdErr = rd.run(ctx, r, parsed)
	}()
	go func() { // stage 2a dispatch: every batch to a worker, and in order to 2b
		// (and the chunks whose plan start is known already are marked
		// to be chained by the worker)
		defer wg.Done()
		defer close(work)
		defer close(order)
		var sf startFinder
		for b := range parsed {
			for _, j := range b {
				sf.next(j)
			}
			it := prepItem{b, make(chan struct{})}
			select {
			case work <- it:
			case <-ctx.Done():
				continue
			}
			select {
			case order <- it:
			case <-ctx.Done():
			}
		}
	}()
	for range prepWorkers { // stage 2a workers
		go func() {
			defer wg.Done()
			for it := range work {
				for _, j := range it.b {
					if j.kind == jobChunk && ctx.Err() == nil {
						j.prepare(opt)
					}
				}
				close(it.done)
			}
		}()
	}
	go func() { // stage 2b
		defer wg.Done()
		defer close(planned)
		// Each plan starts where the previous job is predicted to leave
		// the head (assuming planned chunks are emitted reordered); the
		// writer re-optimises the few whose prediction fails.
		var pred [3]float64
		havePred := false
		for it := range order {
			select {
			case <-it.done:
			case <-ctx.Done():
				continue
			}
			for _, j := range it.b {
				if j.kind == jobChunk && ctx.Err() == nil {
					start := j.chunk.startPos
					if havePred {
						start = pred
					}
					j.planFrom(start)
				}
				pred, havePred = j.predictEnd(pred, havePred)
			}
			select {
			case planned <- it.b:
			case <-ctx.Done():
			}
		}
	}()
	var wrErr error
	// Stage 3 holds up to lookJobs jobs back: a chunk is decided knowing
	// where the input goes next, which may lie beyond jobs that do not
	// move in XY (a layer change's Z move, a temperature line).
	queue := make([]*job, 0, lookJobs+1)
	step := func() {
		if wrErr != nil {
			return
		}
		if err := ctx.Err(); err != nil {
			wrErr = err
			cancel()
			return
		}
		j := queue[0]
		wr.handle(j, queue[1:])
		pool.put(j)
		queue = queue[:copy(queue, queue[1:])]
		if wr.werr != nil {
			wrErr = wr.werr
			cancel()
		}
	}
	for b := range planned { // stage 3
		for _, j := range b {
			queue = append(queue, j)
			if len(queue) > lookJobs {
				step()
			}
		}
	}
	for len(queue) > 0 && wrErr == nil {
		step()
	}
	wg.Wait()
	pool.release()
	rep := wr.rep
	rep.LinesIn = rd.lines
	rep.Layers = rd.layers
	rep.Meta = rd.meta
	rep.Matching = opt.Matching.String()
	if rdErr != nil && !errors.Is(rdErr, context.Canceled) || rdErr != nil && wrErr == nil {
		return rep, rdErr
	}
	if wrErr != nil {
		return rep, wrErr
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if err := wr.out.Flush(); err != nil {
		return rep, fmt.Errorf("gcode: write: %w", err)
	}
	wr.out.Reset(nil)
	spareOut.Put(wr.out)
	return rep, nil
}

// ---- stage 1: reader ----

type reader struct {
	opt    Options
	m      *parse.Machine
	est    *timing.Estimator // limits in force
	meta   parse.Meta
	lines  int
	layers int

	slots    slotReg
	curState []slotVal
	dec      decimals
	rTail    float64 // filament retraction depth after the last line
	maxZ     float64 // highest extrusion so far (mm)

	// the chunk being buffered
	maxSize jobSize // the biggest chunk so far
	lastBig bool    // the last chunk sent had smallItems lines or more
	j       *job
	pool    *jobPool
	out     chan<- []*job
	batch   []*job // jobs not yet handed on
	ctx     context.Context
}

// decimals written in the input so far (the axis resolution).
type decimals struct{ xy, z, e, ij int }

func newReader(opt Options) *reader {
	rd := &reader{opt: opt, m: parse.NewMachine(opt.Parse), est: timing.NewEstimator(opt.Timing),
		dec: decimals{3, 3, 5, 3}}
	rd.est.LimitsOnly = true
	return rd
}

func (rd *reader) run(ctx context.Context, r io.Reader, out chan<- []*job) error {
	rd.ctx, rd.out = ctx, out
	rd.j = rd.newJob()
	sc := parse.NewScanner(r)
	for sc.Scan() {
		if err := rd.line(sc.Line()); err != nil {
			return err
		}
		if rd.lines&0xfff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := rd.flush(len(rd.j.items)); err != nil {
		return err
	}
	return rd.sendBatch()
}

// send queues a job for the next stage; the batch is handed on when it
// ends with a chunk to plan or is full.
func (rd *reader) send(j *job) error {
	rd.batch = append(rd.batch, j)
	if len(rd.batch) >= maxBatch || j.kind == jobChunk && j.chunk.nExtr >= 2 {
		return rd.sendBatch()
	}
	return nil
}

// sendBatch hands the queued jobs to the next stage.
func (rd *reader) sendBatch() error {
	if len(rd.batch) == 0 {
		return nil
	}
	b := rd.batch
	rd.batch = make([]*job, 0, maxBatch)
	select {
	case rd.out <- b:
		return nil
	case <-rd.ctx.Done():
		return rd.ctx.Err()
	}
}

// newJob starts an empty chunk whose state 0 is the current state.
func (rd *reader) newJob() *job {
	var j *job
	if rd.lastBig { // chunks come in runs of similar size (layers)
		j = rd.pool.getBig()
	}
	if j == nil {
		j = rd.pool.get()
	}
	j.chunk = chunkInfo{startLimits: rd.est.Limits(), lastExtr: -1}
	j.pushState(rd.curState)
	return j
}

// line processes one input line.
func (rd *reader) line(l *parse.Line) error {
	rd.lines++
	prevAbs, prevAbsE, prevInch := rd.m.AbsXYZ, rd.m.AbsE, rd.m.Inches
	op, err := rd.m.Exec(l)
	if err != nil {
		return err
	}
	rd.meta.Observe(l)
	rd.est.AssumeSlicer(&rd.meta)
	k := rd.classify(l, op, prevAbs, prevAbsE, prevInch)
	if (k == cSetting || k == cAttr || k == cFeature) && !rd.slotAvailable(l, k) {
		k = cBarrier
	}
	if k == cMarker {
		rd.layers++
	}
	switch k {
	case cMarker, cFeature:
		if err := rd.flush(len(rd.j.items)); err != nil {
			return err
		}
	case cBarrier:
		if err := rd.flush(len(rd.j.items)); err != nil {
			return err
		}
		rd.est.Line(l, op, rd.m)
		rd.updateRes(l)
		b := &job{kind: jobBarrier, line: append([]byte(nil), l.Raw...), sensitive: positionSensitive(l),
			toRelative: !rd.m.AbsXYZ, toInch: rd.m.Inches,
			pos: rd.m.Pos(), eLog: rd.m.LogicalE(), feed: rd.m.FeedMM, ff: rd.m.FeedFactor, flow: rd.m.FlowFactor,
			relE: rd.m.ERelative(), dec: rd.dec, offset: rd.m.Offset()}
		b.barrierState = cloneState(rd.curState)
		b.slots = rd.slots.snapshot()
		if err := rd.send(b); err != nil {
			return err
		}
		return nil
	case cExtrude:
		mv := &rd.m.Move
		z := mv.To[2]
		planar := mv.From[2] == mv.To[2]
		j := rd.j
		if j.chunk.nExtr > 0 && (!planar || math.Abs(z-j.chunk.z) > 1e-9) {
			if err := rd.flush(j.chunk.lastExtr + 1); err != nil {
				return err
			}
		}
		if !planar && rd.j.chunk.locked == "" {
			rd.j.chunk.locked = "non-planar"
		}
	}
	rd.add(l, op, k)
	rd.est.Line(l, op, rd.m)
	rd.updateRes(l)
	return nil
}

func (rd *reader) updateRes(l *parse.Line) {
	if l.Letter != 'G' {
		return
	}
	d := &rd.dec
	for _, a := range [2]byte{'X', 'Y'} {
		if v := l.Decimals(a); v > d.xy && v <= 9 {
			d.xy = v
		}
	}
	if v := l.Decimals('Z'); v > d.z && v <= 9 {
		d.z = v
	}
	if v := l.Decimals('E'); v > d.e && v <= 9 {
		d.e = v
	}
	for _, a := range [2]byte{'I', 'J'} {
		if v := l.Decimals(a); v > d.ij && v <= 9 {
			d.ij = v
		}
	}
}

// classify decides the role of a line (after it was executed).
func (rd *reader) classify(l *parse.Line, op parse.Op, prevAbs, prevAbsE, prevInch bool) cls {
	m := rd.m
	switch op {
	case parse.OpNone:
		if len(l.Comment) == 0 {
			return cFloat
		}
		cm := l.Comment
		if parse.LayerMarker(cm) {
			return cMarker
		}
		if fam, ok := attrFamily(cm); ok {
			if (fam == "TYPE" || fam == "FEATURE") && (rd.opt.Scope == ScopeFeature || isIroning(cm) ||
				isIroning(rd.curAttr("TYPE")) || isIroning(rd.curAttr("FEATURE"))) {
				return cFeature
			}
			return cAttr
		}
		if bytes.Equal(cm, []byte("WIPE_START")) || bytes.Equal(cm, []byte("WIPE_END")) {
			return cWipeMark
		}
		if objectComment(cm) {
			return cBarrier
		}
		return cFloat
	case parse.OpMove:
		if m.Move.IsExtrusion() && !m.Move.Firmware {
			return cExtrude
		}
		return cMotion
	case parse.OpFeed:
		return cFeed
	case parse.OpMode:
		if l.Letter == 'G' && (l.Code == 90 || l.Code == 91) && m.AbsXYZ == prevAbs && m.AbsE == prevAbsE {
			return cNoop
		}
		if l.Letter == 'M' && (l.Code == 82 || l.Code == 83) && m.AbsE == prevAbsE {
			return cNoop
		}
		if l.Letter == 'G' && (l.Code == 20 || l.Code == 21) && m.Inches == prevInch {
			return cNoop
		}
		return cBarrier
	case parse.OpSetPos:
		if m.G92Axes == 1<<('E'-'A') {
			return cSetE
		}
		return cBarrier
	case parse.OpSetting:
		if l.Letter == 'M' {
			switch l.Code {
			case 104, 140, 141, 200: // temperatures and volumetric mode stay in place
				return cBarrier
			}
		}
		return cSetting
	case parse.OpOther:
		if l.Letter == 'M' && (l.Code == 73 || l.Code == 117) {
			return cFloat
		}
		return cBarrier
	}
	return cBarrier
}

// attrFamily recognises feature comments: "TYPE:x", "WIDTH:x", "HEIGHT:x",
// "MESH:x" (Cura), "FEATURE: x" (Orca/Bambu), Simplify3D "feature x" and
// "tool H.. W..".
func attrFamily(cm []byte) (string, bool) {
	if i := bytes.IndexByte(cm, ':'); i > 0 && i <= 8 {
		switch string(cm[:i]) { // returns constants: no allocation
		case "TYPE":
			return "TYPE", true
		case "WIDTH":
			return "WIDTH", true
		case "HEIGHT":
			return "HEIGHT", true
		case "MESH":
			return "MESH", true
		case "FEATURE":
			return "FEATURE", true
		}
	}
	if bytes.HasPrefix(cm, []byte("feature ")) {
		return "TYPE", true
	}
	if bytes.HasPrefix(cm, []byte("tool H")) {
		return "TOOL", true
	}
	return "", false
}

func isIroning(cm []byte) bool {
	return bytes.Contains(bytes.ToLower(cm), []byte("ironing"))
}

// objectComment reports PrusaSlicer's object labels, which delimit objects
// for cancel-object support and must not be interleaved.
func objectComment(cm []byte) bool {
	return bytes.HasPrefix(cm, []byte("printing object ")) || bytes.HasPrefix(cm, []byte("stop printing object "))
}

// curAttr returns the current raw line of an attribute family, or nil.
func (rd *reader) curAttr(fam string) []byte {
	i, ok := rd.slots.index[slotKey{fam: fam}]
	if !ok || i >= len(rd.curState) {
		return nil
	}
	return []byte(rd.curState[i].text)
}

// add buffers a line in the current chunk.
func (rd *reader) add(l *parse.Line, op parse.Op, k cls) {
	j := rd.j
	m := rd.m
	if len(j.items) == 0 {
		j.chunk.startLimits = rd.est.Limits()
		j.chunk.offset = m.Offset()
		j.chunk.startR = rd.rTail
	}
	it := item{
		off: int32(len(j.arena)), n: int32(len(l.Raw)), num: int32(l.Num), cls: k, mi: -1,
		rel: !m.AbsXYZ, relE: m.ERelative(), inch: m.Inches,
		feed: m.FeedMM, eLog: m.LogicalE(), ff: m.FeedFactor, flow: m.FlowFactor,
		after: m.Pos(),
	}
	j.arena = append(j.arena, l.Raw...)
	prevR := rd.rTail
	it.r = prevR
	switch op {
	case parse.OpMove:
		mv := m.Move
		it.mi = int32(len(j.moves))
		j.moves = append(j.moves, mv)
		if m.AbsXYZ {
			for a, w := range [3]byte{'X', 'Y', 'Z'} {
				if l.Has(w) {
					it.setAbs |= 1 << a
				}
			}
		}
		if mv.HasXY() && (mv.Kind != parse.Linear || !m.AbsXYZ || it.setAbs&3 != 3) {
			it.arcRel = true
		}
		switch {
		case k == cExtrude:
			it.r = 0
			if prevR > 1e-6 && j.chunk.locked == "" {
				j.chunk.locked = "extrusion while retracted"
			}
		case mv.DE < 0:
			it.r = prevR - mv.DE
		case mv.DE > 0:
			it.r = max(0, prevR-mv.DE)
		}
	}
	rd.rTail = it.r
	switch k {
	case cSetting, cAttr, cFeature:
		rd.setSlot(l, k)
		j.pushState(rd.curState)
	}
	it.state = int32(len(j.states) - 1)
	if k == cExtrude {
		mv := &j.moves[it.mi]
		if j.chunk.nExtr == 0 {
			j.chunk.z = mv.To[2]
			j.chunk.haveZ = true
			j.chunk.priorMaxZ = rd.maxZ
		}
		rd.maxZ = max(rd.maxZ, max(mv.From[2], mv.To[2]))
		j.chunk.nExtr++
		j.chunk.lastExtr = len(j.items)
		if (!m.AbsXYZ || m.Inches) && j.chunk.locked == "" {
			j.chunk.locked = "relative or inch coordinates"
		}
	}
	j.items = append(j.items, it)
	if len(j.items) == smallItems && !j.big {
		rd.upgrade()
	}
}

// jobSize is the length of a job's buffers.
type jobSize struct{ items, moves, arena, slab, states int }

func (z *jobSize) update(j *job) {
	z.items = max(z.items, len(j.items))
	z.moves = max(z.moves, len(j.moves))
	z.arena = max(z.arena, len(j.arena))
	z.slab = max(z.slab, len(j.slab))
	z.states = max(z.states, len(j.states))
}

// upgrade moves the chunk being buffered from a small job into a big one
// (see jobPool): a free one, or a new one.
func (rd *reader) upgrade() {
	j := rd.j
	b := rd.pool.getBig()
	if b == nil {
		// A new big job, sized like the biggest chunk so far: a chunk
		// is usually a layer, and layers are alike.
		b = &job{big: true}
		b.reset()
		b.items = make([]item, 0, max(2*smallItems, rd.maxSize.items))
		b.moves = make([]parse.Move, 0, max(2*smallItems, rd.maxSize.moves))
		b.arena = make([]byte, 0, max(64*smallItems, rd.maxSize.arena))
		b.slab = make([]slotVal, 0, max(len(j.slab), rd.maxSize.slab))
		b.states = make([][]slotVal, 0, max(len(j.states), rd.maxSize.states))
	}
	b.items = append(b.items, j.items...)
	b.arena = append(b.arena, j.arena...)
	b.moves = append(b.moves, j.moves...)
	for _, st := range j.states {
		b.pushState(st)
	}
	b.chunk = j.chunk
	rd.pool.put(j)
	rd.j = b
}

// flush sends items[:end] of the current chunk and keeps items[end:] as
// the start of the next one.
func (rd *reader) flush(end int) error {
	j := rd.j
	if len(j.items) == 0 {
		// Nothing buffered: restart the same job from the current state.
		rd.pool.put(j)
		rd.j = rd.newJob()
		return nil
	}
	if end >= len(j.items) {
		j.finish(rd)
		rd.maxSize.update(j)
		rd.lastBig = len(j.items) >= smallItems
		if err := rd.send(j); err != nil {
			return err
		}
		rd.j = rd.newJob()
		return nil
	}
	// Split: the rest starts the next chunk.
	rest := rd.newJob()
	rest.chunk.startState = 0
	// Limits at the split point: replay the settings before it.
	est := timing.NewEstimator(rd.opt.Timing)
	est.Reset(j.chunk.startLimits)
	var lx parse.Line
	for i := 0; i < end; i++ {
		if j.items[i].cls == cSetting {
			lx.Num = int(j.items[i].num)
			if parse.LexLine(j.raw(&j.items[i]), &lx) == nil {
				est.ApplySetting(&lx, j.items[i].inch)
			}
		}
	}
	rest.chunk.startLimits = est.Limits()
	rest.chunk.offset = j.chunk.offset
	rest.chunk.startR = j.items[end-1].r
	rest.states = rest.states[:0]
	rest.slab = rest.slab[:0]
	base := j.items[end-1].state
	for s := base; s < int32(len(j.states)); s++ {
		rest.pushState(j.states[s])
	}
	for i := end; i < len(j.items); i++ {
		it := j.items[i]
		raw := j.raw(&j.items[i])
		it.off = int32(len(rest.arena))
		rest.arena = append(rest.arena, raw...)
		if it.mi >= 0 {
			rest.moves = append(rest.moves, j.moves[it.mi])
			it.mi = int32(len(rest.moves) - 1)
		}
		it.state -= base
		if it.cls == cExtrude {
			mv := &rest.moves[it.mi]
			if rest.chunk.nExtr == 0 {
				rest.chunk.z = mv.To[2]
				rest.chunk.haveZ = true
			}
			rest.chunk.nExtr++
			rest.chunk.lastExtr = len(rest.items)
			if mv.From[2] != mv.To[2] && rest.chunk.locked == "" {
				rest.chunk.locked = "non-planar"
			}
		}
		rest.items = append(rest.items, it)
	}
	j.items = j.items[:end]
	j.finish(rd)
	rd.maxSize.update(j)
	rd.lastBig = len(j.items) >= smallItems
	if err := rd.send(j); err != nil {
		return err
	}
	rd.j = rest
	return nil
}

// ---- stage 3: writer ----

type compiler struct {
	*job         // the chunk being emitted
	next  *job   // the job after it (nil at the end)
	ahead []*job // the jobs after it, next first (at most lookJobs)
	opt   Options
	rep   Report

	out  *bufio.Writer
	werr error

	emit  emitter
	style styleStats

	cand    *timing.Estimator
	bufOpt  []byte
	bufVerb []byte
	lexLine parse.Line
	limEst  *timing.Estimator // scratch of limitsAt
	limits  timing.Limits

	// verb emits and times the verbatim candidate of a chunk on another
	// goroutine while this one does the reordered candidate (nil on verb
	// itself). It shares the chunk read-only and has its own emitter,
	// estimator and crossing-query scratch.
	verb *compiler
}

// spareOut keeps output buffers (1 MiB) between Optimize calls.
var spareOut sync.Pool

func newWriter(w io.Writer, opt Options) *compiler {
	out, _ := spareOut.Get().(*bufio.Writer)
	if out == nil {
		out = bufio.NewWriterSize(w, 1<<20)
	} else {
		out.Reset(w)
	}
	c := &compiler{opt: opt, out: out, cand: timing.NewEstimator(opt.Timing)}
	c.emit.init(c)
	c.verb = &compiler{opt: opt, cand: timing.NewEstimator(opt.Timing)}
	c.verb.emit.init(c.verb)
	return c
}

func (c *compiler) handle(j *job, ahead []*job) {
	var next *job
	if len(ahead) > 0 {
		next = ahead[0]
	}
	c.job, c.next, c.ahead = j, next, ahead
	switch j.kind {
	case jobBarrier:
		c.emit.barrier(j)
	case jobChunk:
		c.processChunk(j.items)
	}
	c.job, c.next, c.ahead = nil, nil, nil
}

// applySetting replays a buffered limits command on an estimator.
func (c *compiler) applySetting(e *timing.Estimator, it *item) {
	c.lexLine.Num = int(it.num)
	if parse.LexLine(c.raw(it), &c.lexLine) == nil {
		e.ApplySetting(&c.lexLine, it.inch)
	}
}

func (c *compiler) write(b []byte) {
	if c.werr != nil {
		return
	}
	if _, err := c.out.Write(b); err != nil {
		c.werr = fmt.Errorf("gcode: write: %w", err)
	}
	c.rep.LinesOut += bytes.Count(b, []byte{'\n'})
}
