package gcode

import (
	"math"

	"fabcell/processes/gcode/ir"
	"fabcell/processes/gcode/timing"
)

// combModel decides the combed travels of one chunk (Options.Comb): a
// travel whose straight line crosses a perimeter is routed around the
// perimeters (ir.Comber) when the route's travel time is below the
// straight travel's plus the retraction's. Run reordering sees the same
// decision through ir.Graph.CrossCost (the smaller of the two extra
// costs), the emitter through job.combPath, so the plan is costed as it
// is emitted. Used by one goroutine at a time (the job's stage, then the
// writer).
type combModel struct {
	cb        *ir.Comber
	rc        float64 // retraction time (s) a combed travel saves
	v, acc    float64 // travel feed (mm/s) and acceleration (mm/s²)
	maxDetour float64 // bound of path length / straight length
	buf       []ir.Vec
	lim       timing.Limits   // the chunk's limits at its start
	pl        *timing.Planner // times straight and combed travels
	region    *ir.Region      // the part region (nil: unknown)
	eps       float64         // its query tolerance (mm)
}

// comb sets up the chunk's combing for a retraction costing rc seconds:
// the paths stay inside the bounding box of what the chunk prints (so
// inside the print area) at the layer's height.
func (j *job) comb(opt Options, rc float64) *combModel {
	cg := j.cg
	lo := ir.Vec{math.Inf(1), math.Inf(1)}
	hi := ir.Vec{math.Inf(-1), math.Inf(-1)}
	grow := func(p ir.Vec) {
		lo = ir.Vec{min(lo[0], p[0]), min(lo[1], p[1])}
		hi = ir.Vec{max(hi[0], p[0]), max(hi[1], p[1])}
	}
	for _, p := range j.g.Pts {
		grow(p)
	}
	for i := range cg.perimA {
		grow(cg.perimA[i])
		grow(cg.perimB[i])
	}
	cg.comber.Reset(cg.perimA, cg.perimB, lo, hi, opt.CombClearanceMM, j.g.Res)
	cg.comber.Keep = nil
	if !cg.region.Empty() {
		eps := j.g.Res / 2
		cg.comber.Keep = func(p ir.Vec) bool { return cg.region.Classify(p, eps) >= 0 }
	}
	pl := cg.cm.pl
	if pl == nil {
		pl = timing.NewPlanner(j.chunk.startLimits)
	}
	cg.cm = combModel{cb: &cg.comber, rc: rc, v: j.g.TravelMMS, acc: j.g.TravelAccel,
		maxDetour: opt.CombMaxDetour, buf: cg.cm.buf[:0], lim: j.chunk.startLimits, pl: pl}
	if !cg.region.Empty() {
		cg.cm.region, cg.cm.eps = &cg.region, j.g.Res/2
	}
	return &cg.cm
}

// travelS is the time (s) of a travel of d mm from rest to rest: the
// trapezoid (or triangle) profile at the chunk's travel feed and
// acceleration, as run reordering's travel cost.
func (m *combModel) travelS(d float64) float64 {
	if d <= 0 {
		return 0
	}
	if d < m.v*m.v/m.acc {
		return 2 * math.Sqrt(d/m.acc)
	}
	return d/m.v + m.v/m.acc
}

// lenFor is the inverse of travelS: the longest travel taking t seconds.
func (m *combModel) lenFor(t float64) float64 {
	if t <= 0 {
		return 0
	}
	if t <= 2*m.v/m.acc {
		return m.acc * t * t / 4
	}
	return (t - m.v/m.acc) * m.v
}

// polyS is the planner's time (s) of travels a → ways… → b at the chunk's
// travel feed and limits, from rest to rest (junctions as the firmware
// takes them).
func (m *combModel) polyS(a ir.Vec, ways []ir.Vec, b ir.Vec) float64 {
	m.pl.Reset(m.lim)
	prev := a
	for _, w := range ways {
		m.pl.Move([4]float64{w[0] - prev[0], w[1] - prev[1]}, m.v)
		prev = w
	}
	m.pl.Move([4]float64{b[0] - prev[0], b[1] - prev[1]}, m.v)
	m.pl.Flush()
	return m.pl.Time()
}

// route returns the interior waypoints of the combed travel a → b and its
// extra time over the straight travel (s, ≥ 0, < rc), or ok false when
// retracting is at least as fast or no path exists. Both are timed with the
// planner from rest to rest. The result depends only on the unordered pair
// (the cost must be symmetric).
func (m *combModel) route(a, b ir.Vec) ([]ir.Vec, float64, bool) {
	rev := b[0] < a[0] || b[0] == a[0] && b[1] < a[1]
	if rev {
		a, b = b, a
	}
	d := math.Hypot(b[0]-a[0], b[1]-a[1])
	t0 := m.travelS(d)
	maxLen := min(m.maxDetour*d, m.lenFor(t0+m.rc))
	ways, _, ok := m.cb.Path(a, b, maxLen, m.buf[:0])
	m.buf = ways
	if !ok || m.overAir(a, ways, b) {
		return nil, 0, false
	}
	extra := max(m.polyS(a, ways, b)-m.polyS(a, nil, b), 0)
	if !(extra < m.rc) {
		return nil, 0, false
	}
	if rev {
		for l, r := 0, len(ways)-1; l < r; l, r = l+1, r-1 {
			ways[l], ways[r] = ways[r], ways[l]
		}
	}
	return ways, extra, true
}

// overAir reports whether a leg of the route a → ways… → b runs outside
// the part region: the legs cross no perimeter, but a route between two
// seams may go round the outside, and that travel would string.
func (m *combModel) overAir(a ir.Vec, ways []ir.Vec, b ir.Vec) bool {
	if m.region == nil {
		return false
	}
	prev := a
	for _, w := range ways {
		if m.region.TravelOutside(prev, w, m.eps) {
			return true
		}
		prev = w
	}
	return m.region.TravelOutside(prev, b, m.eps)
}

// extra is route's extra time alone (the crossing cost of run reordering).
func (m *combModel) extra(a, b ir.Vec) (float64, bool) {
	_, x, ok := m.route(a, b)
	return x, ok
}

// path is route's waypoints alone (the emitter's; valid until the next
// call).
func (m *combModel) path(a, b ir.Vec) ([]ir.Vec, bool) {
	w, _, ok := m.route(a, b)
	return w, ok
}

// combHook, when set (tests only), sees every combed travel the emitter
// writes: from a through ways to b, in job j.
var combHook func(j *job, a ir.Vec, ways []ir.Vec, b ir.Vec)
