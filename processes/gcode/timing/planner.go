// Package timing estimates print time the way Marlin 2.x executes G-code
// (spec robot-protocols.md §5 "Marlin planner facts"): every linear move
// becomes a block with a trapezoidal (or triangular) speed profile; a
// look-ahead planner over a bounded block buffer runs a reverse pass
// (entry speeds capped so that the newest block can still stop) and a
// forward pass (entry speeds capped by what acceleration allows), with
// junction speeds from junction deviation or from classic per-axis jerk.
// Feed and acceleration are limited per axis (M201/M203), M220/M221 scale
// feed and extrusion, G4 and heater waits drain the buffer.
//
// Units: mm, s, mm/s, mm/s²; feeds in G-code are mm/min and are converted
// once, in Add.
package timing

import (
	"math"
)

// Axis indices into the four-axis arrays.
const (
	X = iota
	Y
	Z
	E
)

// Junction selects how the speed at the junction of two blocks is limited.
type Junction uint8

// Junction models.
const (
	// JunctionDeviation is Marlin 2's default: v² = a·JD·sin(θ/2)/(1−sin(θ/2)),
	// with the small-segment curvature cap (JD_HANDLE_SMALL_SEGMENTS).
	JunctionDeviation Junction = iota
	// ClassicJerk limits the instantaneous per-axis speed change (M205 X/Y/Z/E).
	ClassicJerk
	// Marlin1Jerk is Marlin 1.0's planner as copied into CuraEngine's
	// TimeEstimateCalculator (all Cura versions): the jerk of the
	// XY speed vector is limited to JerkMMS[X] (Z and E per axis), a block
	// starting from rest may enter at half the jerk, and an axis whose
	// share of the acceleration exceeds its M201 limit replaces the
	// acceleration by that limit (not scaled by the axis' share).
	Marlin1Jerk
)

func (j Junction) String() string {
	switch j {
	case ClassicJerk:
		return "classic-jerk"
	case Marlin1Jerk:
		return "marlin1-xy-jerk"
	}
	return "junction-deviation"
}

// Limits are the planner settings. Zero fields are not defaults: use
// MarlinDefaults() and override.
type Limits struct {
	MaxFeedMMS    [4]float64 // M203, per axis X Y Z E (mm/s)
	MaxAccelMMS2  [4]float64 // M201, per axis (mm/s²)
	PrintAccel    float64    // M204 P (mm/s²): moves with E and XYZ
	RetractAccel  float64    // M204 R: E-only moves
	TravelAccel   float64    // M204 T: moves without E
	Junction      Junction
	JunctionDevMM float64    // M205 J (mm)
	JerkMMS       [4]float64 // M205 X Y Z E (mm/s), classic jerk
	MinFeedMMS    float64    // M205 S: floor for moves with E (mm/s)
	MinTravelMMS  float64    // M205 T: floor for moves without E (mm/s)
	// MinPlannerSpeedMMS is Marlin's MINIMUM_PLANNER_SPEED (0.05 mm/s): the
	// speed the newest block must be able to reach at its end.
	MinPlannerSpeedMMS float64
	// Lookahead is the block buffer size (Marlin BLOCK_BUFFER_SIZE = 16).
	Lookahead int
	// EAreaMM2 > 0 says E words are volumes (mm³: M200 D on Marlin and
	// RepRapFirmware, Cura's UltiGCode flavour); the estimator divides
	// them by this filament cross-section (mm²) before planning, as the
	// firmware does. Firmware retraction (G10/G11) is filament length
	// either way. 0 = E is filament length.
	EAreaMM2 float64
	// FirmwareRetractUntimed makes G10/G11 take no time, as in
	// PrusaSlicer's estimator (PrusaLimits); the firmware's own M207/M208
	// retraction is timed otherwise.
	FirmwareRetractUntimed bool
}

// MarlinDefaults returns Marlin 2.x's example-configuration defaults
// (spec §5): feeds {300,300,5,25} mm/s, accelerations {3000,3000,100,10000}
// mm/s², M204 3000/3000/3000, JD 0.013 mm, jerk {10,10,0.3,5} mm/s,
// MINIMUM_PLANNER_SPEED 0.05 mm/s, 16 blocks.
func MarlinDefaults() Limits {
	return Limits{
		MaxFeedMMS:         [4]float64{300, 300, 5, 25},
		MaxAccelMMS2:       [4]float64{3000, 3000, 100, 10000},
		PrintAccel:         3000,
		RetractAccel:       3000,
		TravelAccel:        3000,
		Junction:           JunctionDeviation,
		JunctionDevMM:      0.013,
		JerkMMS:            [4]float64{10, 10, 0.3, 5},
		MinPlannerSpeedMMS: 0.05,
		Lookahead:          16,
	}
}

// block is one planned linear move.
type block struct {
	dist     float64 // mm (XYZ length, or |E| for E-only moves)
	nominal  float64 // cruise speed (mm/s)
	accel    float64 // mm/s²
	maxEntry float64 // junction limit (mm/s)
	rev      float64 // entry speed after the reverse pass (mm/s)
	entry    float64 // planned entry speed (mm/s)
	nomLen   bool    // the block can accelerate from/decelerate to rest within its length
	class    Class
	seq      uint64 // 0-based sequence number of the block
}

// Class labels blocks for the time breakdown.
type Class uint8

// Block classes.
const (
	ClassPrint   Class = iota // XY motion with extrusion
	ClassTravel               // XY motion without extrusion (travels, wipes)
	ClassRetract              // filament only (retract, unretract, prime)
	ClassZ                    // Z only (layer change, z-hop)
	NumClasses
)

var classNames = [NumClasses]string{"print", "travel", "retract", "z"}

func (c Class) String() string {
	if c < NumClasses {
		return classNames[c]
	}
	return "?"
}

// Planner is a streaming Marlin-style look-ahead planner. Add blocks with
// Add; Flush plans the remaining blocks to a stop; Time is the total.
type Planner struct {
	L Limits

	buf  []block // FIFO of planned blocks; buf[head] has a frozen entry speed
	head int

	// Previous block, for the junction computation.
	havePrev     bool
	prevUnit     [4]float64
	prevNominal  float64
	prevAxisV    [4]float64 // classic jerk: signed axis speeds at nominal
	prevSafe     float64    // classic jerk: previous safe speed
	total        float64    // seconds of finished blocks and dwells
	nextSeq      uint64
	doneSeq      uint64 // blocks finished
	marks        []mark
	firstPending int
	// Blocks counts blocks added.
	Blocks int
	// ByClass is the time of finished blocks per class (s).
	ByClass [NumClasses]float64
}

type mark struct {
	seq  uint64 // time is taken when doneSeq reaches seq
	t    float64
	done bool
}

// NewPlanner returns a planner with limits l.
func NewPlanner(l Limits) *Planner {
	if l.Lookahead < 2 {
		l.Lookahead = 2
	}
	return &Planner{L: l, buf: make([]block, 0, l.Lookahead+bufSlack)}
}

// bufSlack is the room in the block buffer beyond the look-ahead window:
// the window slides through it and is copied back to the front only when
// it reaches the end (with room for one block that was a copy of the
// whole window on every move).
const bufSlack = 256

// Reset empties the planner and sets new limits, keeping buffers.
func (p *Planner) Reset(l Limits) {
	if l.Lookahead < 2 {
		l.Lookahead = 2
	}
	*p = Planner{L: l, buf: p.buf[:0], marks: p.marks[:0]}
}

// Time returns the seconds of all finished blocks and dwells (call Flush
// first for the total).
func (p *Planner) Time() float64 { return p.total }

// Dwell drains the buffer (the firmware synchronises) and adds s seconds.
func (p *Planner) Dwell(s float64) {
	p.Flush()
	if s > 0 {
		p.total += s
	}
	p.resolveMarks()
}

// Mark records a checkpoint at the current position of the stream; its time
// (seconds from the start to the end of every block added so far) is
// available from MarkTime once those blocks are finished (after Flush at
// the latest).
func (p *Planner) Mark() int {
	p.marks = append(p.marks, mark{seq: p.nextSeq})
	p.resolveMarks()
	return len(p.marks) - 1
}

// MarkTime returns the time of checkpoint i and whether it is resolved.
func (p *Planner) MarkTime(i int) (float64, bool) {
	if i < 0 || i >= len(p.marks) {
		return 0, false
	}
	return p.marks[i].t, p.marks[i].done
}

func (p *Planner) resolveMarks() {
	for p.firstPending < len(p.marks) && p.marks[p.firstPending].seq <= p.doneSeq {
		p.marks[p.firstPending].t = p.total
		p.marks[p.firstPending].done = true
		p.firstPending++
	}
}

// Flush plans every buffered block to a stop and finishes them.
func (p *Planner) Flush() {
	for len(p.buf)-p.head > 0 {
		p.finishHead(p.L.MinPlannerSpeedMMS)
	}
	p.buf = p.buf[:0]
	p.head = 0
	p.havePrev = false
	p.resolveMarks()
}

// Move adds a linear move of d = (dx, dy, dz, de) millimetres at feed
// feedMMS (mm/s, already scaled by M220). de is the E-axis distance the
// motor turns (M221 already applied by the caller). Zero moves are ignored.
func (p *Planner) Move(d [4]float64, feedMMS float64) {
	xyz := math.Sqrt(d[X]*d[X] + d[Y]*d[Y] + d[Z]*d[Z])
	dist := xyz
	if xyz < 1e-9 {
		xyz = 0
		dist = math.Abs(d[E])
		if dist < 1e-9 {
			return
		}
	}
	l := &p.L
	hasE := math.Abs(d[E]) >= 1e-9
	// Minimum feeds (M205 S/T).
	v := feedMMS
	if hasE {
		v = max(v, l.MinFeedMMS)
	} else {
		v = max(v, l.MinTravelMMS)
	}
	if !(v > 0) {
		v = l.MinPlannerSpeedMMS
		if !(v > 0) {
			v = 0.05
		}
	}
	inv := 1 / dist
	// Per-axis feed limits (M203), axis by axis (unrolled).
	v = feedLimit(v, d[X], inv, l.MaxFeedMMS[X])
	v = feedLimit(v, d[Y], inv, l.MaxFeedMMS[Y])
	v = feedLimit(v, d[Z], inv, l.MaxFeedMMS[Z])
	v = feedLimit(v, d[E], inv, l.MaxFeedMMS[E])
	// Acceleration by move class (Marlin planner: no E steps → travel,
	// no XYZ → retract, else print), then per-axis limits (M201).
	acc := l.PrintAccel
	switch {
	case !hasE:
		acc = l.TravelAccel
	case xyz == 0:
		acc = l.RetractAccel
	}
	m1 := l.Junction == Marlin1Jerk
	acc = accelLimit(acc, d[X], inv, l.MaxAccelMMS2[X], m1)
	acc = accelLimit(acc, d[Y], inv, l.MaxAccelMMS2[Y], m1)
	acc = accelLimit(acc, d[Z], inv, l.MaxAccelMMS2[Z], m1)
	acc = accelLimit(acc, d[E], inv, l.MaxAccelMMS2[E], m1)
	if !(acc > 0) {
		acc = 1
	}

	b := block{dist: dist, nominal: v, accel: acc, seq: p.nextSeq}
	switch {
	case d[X] != 0 || d[Y] != 0:
		if d[E] > 0 {
			b.class = ClassPrint
		} else {
			b.class = ClassTravel
		}
	case d[Z] != 0:
		b.class = ClassZ
	default:
		b.class = ClassRetract
	}
	p.nextSeq++
	p.Blocks++

	unit := [4]float64{d[X] * inv, d[Y] * inv, d[Z] * inv, d[E] * inv}
	axisV := [4]float64{unit[X] * v, unit[Y] * v, unit[Z] * v, unit[E] * v}

	var vj float64
	switch l.Junction {
	case ClassicJerk:
		vj = p.jerkJunction(&b, axisV)
	case Marlin1Jerk:
		vj = p.marlin1Junction(&b, axisV)
	default:
		vj = p.deviationJunction(&b, d, xyz, hasE)
	}
	b.maxEntry = vj
	vmin := l.MinPlannerSpeedMMS
	b.nomLen = b.nominal <= maxAllowable(b.accel, vmin, b.dist)
	b.entry = min(vj, maxAllowable(b.accel, vmin, b.dist))
	b.rev = b.entry

	p.havePrev = true
	p.prevNominal = v
	p.prevAxisV = axisV
	if l.Junction == JunctionDeviation {
		// Unit vector for the next junction: XYZE normalised when the
		// block has E steps (Marlin normalize_junction_vector), else XYZ.
		if hasE {
			n := math.Sqrt(d[X]*d[X] + d[Y]*d[Y] + d[Z]*d[Z] + d[E]*d[E])
			for a := 0; a < 4; a++ {
				unit[a] = d[a] / n
			}
		} else {
			unit[E] = 0
		}
		p.prevUnit = unit
	}

	// Make room: the oldest block starts executing when the buffer is full.
	if len(p.buf)-p.head >= l.Lookahead {
		p.finishHead(-1)
	}
	if p.head > 0 && len(p.buf) == cap(p.buf) {
		n := copy(p.buf, p.buf[p.head:])
		p.buf = p.buf[:n]
		p.head = 0
	}
	p.buf = append(p.buf, b)
	p.replan()
}

// deviationJunction is Marlin 2's junction-deviation limit (planner.cpp).
func (p *Planner) deviationJunction(b *block, d [4]float64, xyz float64, hasE bool) float64 {
	l := &p.L
	if !p.havePrev || p.prevNominal < 1e-6 {
		return 0
	}
	var u [4]float64
	if hasE {
		n := math.Sqrt(d[X]*d[X] + d[Y]*d[Y] + d[Z]*d[Z] + d[E]*d[E])
		for a := 0; a < 4; a++ {
			u[a] = d[a] / n
		}
	} else {
		for a := 0; a < 3; a++ {
			u[a] = d[a] / xyz
		}
	}
	pu := p.prevUnit
	cosT := -(pu[X]*u[X] + pu[Y]*u[Y] + pu[Z]*u[Z] + pu[E]*u[E])
	var vj2 float64
	if cosT > 0.999999 {
		vj2 = l.MinPlannerSpeedMMS * l.MinPlannerSpeedMMS
	} else {
		cosT = max(cosT, -0.999999)
		// Junction acceleration limited by the axes along u − u_prev.
		var ju [4]float64
		var jn float64
		for a := 0; a < 4; a++ {
			ju[a] = u[a] - pu[a]
			jn += ju[a] * ju[a]
		}
		ja := b.accel
		if jn > 0 {
			jn = math.Sqrt(jn)
			for a := 0; a < 4; a++ {
				c := math.Abs(ju[a] / jn)
				if c > 0 && l.MaxAccelMMS2[a] > 0 && ja*c > l.MaxAccelMMS2[a] {
					ja = l.MaxAccelMMS2[a] / c
				}
			}
		}
		sinH := math.Sqrt(0.5 * (1 - cosT))
		vj2 = ja * l.JunctionDevMM * sinH / (1 - sinH)
		// JD_HANDLE_SMALL_SEGMENTS: short blocks at sharp-ish corners are
		// treated as an arc through the junction.
		if b.dist < 1 && cosT < -0.7071067812 {
			theta := math.Acos(-cosT)
			if theta > 0 {
				vj2 = min(vj2, b.dist*ja/theta)
			}
		}
	}
	vj2 = min(vj2, min(b.nominal*b.nominal, p.prevNominal*p.prevNominal))
	return math.Sqrt(vj2)
}

// feedLimit lowers the speed v (mm/s) of a move so that its component
// along an axis with distance da (mm; inv = 1/length) stays within that
// axis' limit maxF (mm/s; ≤ 0: none).
func feedLimit(v, da, inv, maxF float64) float64 {
	if da == 0 || maxF <= 0 {
		return v
	}
	if va := v * math.Abs(da) * inv; va > maxF {
		v *= maxF / va
	}
	return v
}

// accelLimit is feedLimit for the acceleration (mm/s²); Marlin 1.0's rule
// (m1) replaces it by the axis limit instead of scaling it.
func accelLimit(acc, da, inv, maxA float64, m1 bool) float64 {
	if da == 0 || maxA <= 0 {
		return acc
	}
	if aa := acc * math.Abs(da) * inv; aa > maxA {
		if m1 {
			return maxA
		}
		return maxA / (math.Abs(da) * inv)
	}
	return acc
}

// jerkSafe is one axis of jerkJunction's safe speed: an axis speed v
// (mm/s) over its jerk mj lowers safe (mm/s); limited is whether an axis
// before did.
func jerkSafe(safe float64, limited bool, nominal, v, mj float64) (float64, bool) {
	j := math.Abs(v)
	if j > mj {
		if limited {
			if mjerk := nominal * mj; j*safe > mjerk {
				safe = mjerk / j
			}
		} else {
			safe *= mj / j
			limited = true
		}
	}
	return safe, limited
}

// jerkFactor is one axis of jerkJunction's junction factor: the speed
// change from vExit to vEntry (mm/s, both scaled by vfac once an axis
// before was limited) over the axis' jerk mj lowers vfac.
func jerkFactor(vfac float64, limited bool, vExit, vEntry, mj float64) (float64, bool) {
	if limited {
		vExit *= vfac
		vEntry *= vfac
	}
	var j float64
	if vExit > vEntry {
		if vEntry > 0 || vExit < 0 {
			j = vExit - vEntry
		} else {
			j = max(vExit, -vEntry)
		}
	} else {
		if vEntry < 0 || vExit > 0 {
			j = vEntry - vExit
		} else {
			j = max(-vExit, vEntry)
		}
	}
	if j > mj {
		vfac *= mj / j
		limited = true
	}
	return vfac, limited
}

// jerkJunction is Marlin 2's classic-jerk junction (after Prusa firmware).
func (p *Planner) jerkJunction(b *block, axisV [4]float64) float64 {
	l := &p.L
	safe := b.nominal
	limited := false
	// axis by axis (unrolled)
	safe, limited = jerkSafe(safe, limited, b.nominal, axisV[X], l.JerkMMS[X])
	safe, limited = jerkSafe(safe, limited, b.nominal, axisV[Y], l.JerkMMS[Y])
	safe, limited = jerkSafe(safe, limited, b.nominal, axisV[Z], l.JerkMMS[Z])
	safe, _ = jerkSafe(safe, limited, b.nominal, axisV[E], l.JerkMMS[E])
	vj := safe
	if p.havePrev && p.prevNominal > 1e-6 {
		vfac := 1.0
		limited = false
		smaller := 1.0
		if b.nominal < p.prevNominal {
			vj = b.nominal
			smaller = vj / p.prevNominal
		} else {
			vj = p.prevNominal
		}
		pv := &p.prevAxisV
		vfac, limited = jerkFactor(vfac, limited, pv[X]*smaller, axisV[X], l.JerkMMS[X])
		vfac, limited = jerkFactor(vfac, limited, pv[Y]*smaller, axisV[Y], l.JerkMMS[Y])
		vfac, limited = jerkFactor(vfac, limited, pv[Z]*smaller, axisV[Z], l.JerkMMS[Z])
		vfac, limited = jerkFactor(vfac, limited, pv[E]*smaller, axisV[E], l.JerkMMS[E])
		if limited {
			vj *= vfac
		}
		th := vj * 0.99
		if p.prevSafe > th && safe > th {
			vj = safe
		}
	}
	p.prevSafe = safe
	return vj
}

// marlin1Junction is the junction limit of Marlin 1.0's planner and of
// CuraEngine's TimeEstimateCalculator::plan: from rest, half the jerk (XY,
// and Z/E when those axes move faster than half theirs); after a block,
// the nominal speed scaled so that the change of the XY speed vector stays
// within JerkMMS[X] and the Z/E speed changes within JerkMMS[Z]/[E], and
// at most the previous nominal speed.
func (p *Planner) marlin1Junction(b *block, axisV [4]float64) float64 {
	l := &p.L
	vj := l.JerkMMS[X] / 2
	if math.Abs(axisV[Z]) > l.JerkMMS[Z]/2 {
		vj = min(vj, l.JerkMMS[Z]/2)
	}
	if math.Abs(axisV[E]) > l.JerkMMS[E]/2 {
		vj = min(vj, l.JerkMMS[E]/2)
	}
	vj = min(vj, b.nominal)
	if p.havePrev && p.prevNominal > 0.0001 {
		dx, dy := axisV[X]-p.prevAxisV[X], axisV[Y]-p.prevAxisV[Y]
		f := 1.0
		if xy := math.Sqrt(dx*dx + dy*dy); xy > l.JerkMMS[X] {
			f = l.JerkMMS[X] / xy
		}
		for _, a := range [2]int{Z, E} {
			if dv := math.Abs(axisV[a] - p.prevAxisV[a]); dv > l.JerkMMS[a] {
				f = min(f, l.JerkMMS[a]/dv)
			}
		}
		vj = min(p.prevNominal, b.nominal*f)
	}
	return vj
}

// maxAllowable is the highest speed at the start of a distance d from
// which acceleration a still reaches speed v at its end (mm/s).
func maxAllowable(a, v, d float64) float64 {
	return math.Sqrt(v*v + 2*a*d)
}

// replan runs the reverse pass (newest → oldest, stopping where nothing
// changes) and the forward pass over the affected blocks.
func (p *Planner) replan() {
	n := len(p.buf)
	if n-p.head < 1 {
		return
	}
	vmin := p.L.MinPlannerSpeedMMS
	next := vmin
	stop := p.head // first index whose reverse value did not change
	for i := n - 1; i > p.head; i-- {
		b := &p.buf[i]
		r := b.maxEntry
		if !b.nomLen {
			r = min(r, maxAllowable(b.accel, next, b.dist))
		}
		if r == b.rev && i < n-1 {
			stop = i
			break
		}
		b.rev = r
		next = r
	}
	// Forward pass from the last unchanged block.
	for i := stop; i < n-1; i++ {
		cur := &p.buf[i]
		nx := &p.buf[i+1]
		e := nx.rev
		if !cur.nomLen && cur.entry < e {
			e = min(e, maxAllowable(cur.accel, cur.entry, cur.dist))
		}
		nx.entry = e
	}
}

// finishHead executes the oldest block: its exit speed is the next
// block's planned entry (or exitLast for the last block), whose entry is
// then frozen.
func (p *Planner) finishHead(exitLast float64) {
	b := &p.buf[p.head]
	var exit float64
	if p.head+1 < len(p.buf) {
		exit = p.buf[p.head+1].entry
	} else {
		if exitLast < 0 {
			exitLast = p.L.MinPlannerSpeedMMS
		}
		exit = min(exitLast, maxAllowable(b.accel, 0, b.dist))
		exit = min(exit, b.nominal)
	}
	t := TrapezoidTime(b.dist, b.entry, b.nominal, exit, b.accel)
	p.total += t
	p.ByClass[b.class] += t
	p.head++
	p.doneSeq = b.seq + 1
	if p.head < len(p.buf) {
		// The new head's entry is now fixed: make its reverse value equal
		// so later reverse passes can stop there.
		h := &p.buf[p.head]
		h.rev = h.entry
	}
	p.resolveMarks()
}

// TrapezoidTime is the time (s) to cover d mm starting at v0, cruising at
// no more than vn and ending at v1, with acceleration and deceleration a:
// a trapezoid when vn is reachable, else a triangle whose peak satisfies
// v_p² = a·d + (v0² + v1²)/2 (spec §5: d_int = (2ad − v0² + v1²)/(4a)).
// Speeds that cannot be joined within d are treated as a constant
// acceleration between them.
func TrapezoidTime(d, v0, vn, v1, a float64) float64 {
	if d <= 0 {
		return 0
	}
	if v0 > vn {
		v0 = vn
	}
	if v1 > vn {
		v1 = vn
	}
	if !(a > 0) {
		return d / max(vn, 1e-9)
	}
	dAcc := (vn*vn - v0*v0) / (2 * a)
	dDec := (vn*vn - v1*v1) / (2 * a)
	if dAcc+dDec <= d {
		return (vn-v0)/a + (vn-v1)/a + (d-dAcc-dDec)/vn
	}
	vp2 := a*d + (v0*v0+v1*v1)/2
	vp := math.Sqrt(vp2)
	if vp < max(v0, v1) {
		// Inconsistent boundary speeds: uniform acceleration between them.
		avg := (v0 + v1) / 2
		if avg <= 0 {
			return d / 1e-9
		}
		return d / avg
	}
	return (vp-v0)/a + (vp-v1)/a
}
