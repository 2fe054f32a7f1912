package parse

import (
	"math"
)

// Op classifies what a line did to the machine.
type Op uint8

// Line effects reported by Machine.Exec.
const (
	OpNone    Op = iota // blank or comment-only line
	OpMove              // G0/G1/G2/G3 (or G10/G11 firmware retraction): Machine.Move holds it
	OpFeed              // G0/G1 with only an F word: sets the feed, no motion
	OpHome              // G28: Machine.Move holds the homing move (From → To)
	OpDwell             // G4: Machine.DwellS holds the duration
	OpSetPos            // G92
	OpMode              // G90/G91/M82/M83/G20/G21/G17/G18/G19
	OpSetting           // a state command that does not wait (temperatures, fan, limits, factors)
	OpWait              // M109/M190/M116/M400/M191: the firmware synchronises
	OpTool              // T<n>
	OpOther             // anything else, preserved verbatim by every consumer
)

var opNames = [...]string{"none", "move", "feed", "home", "dwell", "setpos", "mode", "setting", "wait", "tool", "other"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "op?"
}

// MoveKind is the geometry of a move.
type MoveKind uint8

// Move kinds.
const (
	Linear MoveKind = iota
	ArcCW           // G2 (clockwise seen from +Z)
	ArcCCW          // G3
)

// Move is one motion in physical millimetres (G92 offsets applied, inches
// converted). Arcs keep their centre so consumers can re-emit them or split
// them into chords (Chords).
type Move struct {
	Kind   MoveKind
	From   [3]float64 // X, Y, Z at the start (mm)
	To     [3]float64 // X, Y, Z at the end (mm)
	DE     float64    // filament fed (mm, signed, before the M221 flow factor)
	FeedMM float64    // modal feed F in effect (mm/min, before the M220 factor)
	Rapid  bool       // written as G0
	// Firmware is set for G10/G11 firmware retraction (DE from M207/M208).
	Firmware bool
	// Arc geometry (Kind != Linear): centre (mm), radius (mm) and the swept
	// angle (rad, > 0; the direction is in Kind).
	Center [2]float64
	Radius float64
	Sweep  float64
}

// XYLength is the length of the path projected on XY (arc length for arcs).
func (m *Move) XYLength() float64 {
	if m.Kind != Linear {
		return m.Radius * m.Sweep
	}
	return math.Hypot(m.To[0]-m.From[0], m.To[1]-m.From[1])
}

// Length is the XYZ path length (helical for arcs).
func (m *Move) Length() float64 {
	dz := m.To[2] - m.From[2]
	if m.Kind != Linear {
		return math.Hypot(m.Radius*m.Sweep, dz)
	}
	return math.Sqrt(sq(m.To[0]-m.From[0]) + sq(m.To[1]-m.From[1]) + sq(dz))
}

// IsExtrusion reports a move that lays material: XY motion with positive
// filament feed.
func (m *Move) IsExtrusion() bool {
	return m.DE > 0 && (m.To[0] != m.From[0] || m.To[1] != m.From[1] || m.Kind != Linear)
}

// HasXY reports motion in X or Y.
func (m *Move) HasXY() bool {
	return m.To[0] != m.From[0] || m.To[1] != m.From[1] || m.Kind != Linear
}

// ArcSegments is the number of chords Chords uses for an arc: one per
// segMM of arc length (Marlin's MM_PER_ARC_SEGMENT), at least one.
func (m *Move) ArcSegments(segMM float64) int {
	if m.Kind == Linear {
		return 1
	}
	if !(segMM > 0) {
		segMM = 1
	}
	n := int(math.Floor(m.Length() / segMM))
	return max(1, min(n, 1<<16))
}

// ArcPoint returns the XYZ position at fraction t ∈ [0,1] of an arc's
// sweep (Z interpolated linearly, helical).
func (m *Move) ArcPoint(t float64) [3]float64 {
	if t >= 1 {
		return m.To
	}
	a0 := math.Atan2(m.From[1]-m.Center[1], m.From[0]-m.Center[0])
	ang := m.Sweep * t
	if m.Kind == ArcCW {
		ang = -ang
	}
	s, c := math.Sincos(a0 + ang)
	return [3]float64{m.Center[0] + m.Radius*c, m.Center[1] + m.Radius*s, m.From[2] + (m.To[2]-m.From[2])*t}
}

// Chords calls fn for each linear piece of the move: one call for a line,
// ArcSegments(segMM) calls for an arc, with the filament split evenly.
func (m *Move) Chords(segMM float64, fn func(from, to [3]float64, de float64)) {
	if m.Kind == Linear {
		fn(m.From, m.To, m.DE)
		return
	}
	n := m.ArcSegments(segMM)
	prev := m.From
	a0 := math.Atan2(m.From[1]-m.Center[1], m.From[0]-m.Center[0])
	step := m.Sweep / float64(n)
	if m.Kind == ArcCW {
		step = -step
	}
	de := m.DE / float64(n)
	for i := 1; i <= n; i++ {
		var p [3]float64
		if i == n {
			p = m.To
		} else {
			s, c := math.Sincos(a0 + step*float64(i))
			p = [3]float64{m.Center[0] + m.Radius*c, m.Center[1] + m.Radius*s, m.From[2] + (m.To[2]-m.From[2])*float64(i)/float64(n)}
		}
		fn(prev, p, de)
		prev = p
	}
}

// Options select dialect differences. The zero value is the common
// convention (RepRapFirmware, Klipper, PrusaSlicer's own G-code processor).
type Options struct {
	// G90ResetsE makes G90 also switch E to absolute, as Marlin 2 does
	// (set_relative_mode clears every axis). Off by default: files from
	// every slicer re-issue M82/M83 after G90.
	G90ResetsE bool
}

// Machine interprets lines and keeps the modal state. The zero value is not
// usable; call NewMachine.
type Machine struct {
	Opt Options

	AbsXYZ bool // G90 (true) / G91
	AbsE   bool // M82 (true) / M83
	Inches bool // G20
	Plane  int  // 17, 18 or 19

	pos [4]float64 // logical X Y Z E (mm)
	off [3]float64 // physical = logical + off (G92 on XYZ)

	FeedMM     float64 // modal F (mm/min)
	FeedFactor float64 // M220 S/100
	FlowFactor float64 // M221 S/100
	Tool       int

	// Firmware retraction (M207/M208): length (mm), feeds (mm/min), extra
	// recover length (mm).
	FwRetractMM, FwRetractFeed, FwRecoverExtraMM, FwRecoverFeed float64
	fwRetracted                                                 bool

	// Volumetric extrusion (M200): when Volumetric, E words are volumes
	// (mm³) of filament FilamentMM in diameter.
	Volumetric bool
	FilamentMM float64

	// Results of the last Exec.
	Move   Move
	DwellS float64

	// G92Axes is the parameter mask of the last G92 (bit 'A'+i).
	G92Axes uint32
}

// NewMachine returns a machine at the origin in absolute mode (Marlin's
// power-on state), feed 0, factors 100 %, firmware retraction 3 mm.
func NewMachine(opt Options) *Machine {
	return &Machine{
		Opt: opt, AbsXYZ: true, AbsE: true, Plane: 17,
		FeedFactor: 1, FlowFactor: 1,
		FwRetractMM: 3, FwRetractFeed: 45 * 60, FwRecoverFeed: 8 * 60,
	}
}

// Pos returns the physical position X, Y, Z (mm).
func (m *Machine) Pos() [3]float64 {
	return [3]float64{m.pos[0] + m.off[0], m.pos[1] + m.off[1], m.pos[2] + m.off[2]}
}

// LogicalE returns the E coordinate as the file sees it (mm).
func (m *Machine) LogicalE() float64 { return m.pos[3] }

// Offset returns the G92 workspace offset (physical − logical, mm).
func (m *Machine) Offset() [3]float64 { return m.off }

// ERelative reports whether E words are relative.
func (m *Machine) ERelative() bool { return !m.AbsE || !m.AbsXYZ }

func (m *Machine) unit() float64 {
	if m.Inches {
		return 25.4
	}
	return 1
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func sq(x float64) float64 { return x * x }

// Exec applies one line and reports its effect.
func (m *Machine) Exec(l *Line) (Op, error) {
	switch l.Letter {
	case 0:
		return OpNone, nil
	case 1:
		return OpOther, nil
	case 'G':
		return m.execG(l)
	case 'M':
		return m.execM(l)
	case 'T':
		if l.Code < 0 {
			return OpOther, nil
		}
		m.Tool = l.Code
		return OpTool, nil
	}
	return OpOther, nil
}

func (m *Machine) badWord(l *Line) error {
	return lineErr(l.Num, "%s: bad parameter %q", l.CommandName(nil), l.BadWord)
}

func (m *Machine) execG(l *Line) (Op, error) {
	if l.Sub >= 0 {
		return OpOther, nil
	}
	switch l.Code {
	case 0, 1, 2, 3:
		if l.BadWord != nil {
			return OpNone, m.badWord(l)
		}
		return m.motion(l)
	case 4:
		if l.BadWord != nil {
			return OpNone, m.badWord(l)
		}
		m.DwellS = 0
		if v, ok := l.Get('P'); ok {
			m.DwellS = v / 1000
		}
		if v, ok := l.Get('S'); ok {
			m.DwellS = v
		}
		if !finite(m.DwellS) || m.DwellS < 0 || m.DwellS > 1e7 {
			return OpNone, lineErr(l.Num, "G4: dwell %v s out of range", m.DwellS)
		}
		return OpDwell, nil
	case 10, 11:
		if l.Has('P') || l.Has('L') || l.Has('R') || l.Has('S') {
			return OpOther, nil // RepRapFirmware tool offsets/temperatures
		}
		return m.firmwareRetract(l.Code == 10), nil
	case 17, 18, 19:
		m.Plane = l.Code
		return OpMode, nil
	case 20, 21:
		m.Inches = l.Code == 20
		return OpMode, nil
	case 28:
		return m.home(l)
	case 90:
		m.AbsXYZ = true
		if m.Opt.G90ResetsE {
			m.AbsE = true
		}
		return OpMode, nil
	case 91:
		m.AbsXYZ = false
		return OpMode, nil
	case 92:
		if l.BadWord != nil {
			return OpNone, m.badWord(l)
		}
		return m.setPos(l)
	}
	return OpOther, nil
}

func (m *Machine) execM(l *Line) (Op, error) {
	switch l.Code {
	case 82:
		m.AbsE = true
		return OpMode, nil
	case 83:
		m.AbsE = false
		return OpMode, nil
	case 220, 221:
		if l.BadWord != nil {
			return OpNone, m.badWord(l)
		}
		if v, ok := l.Get('S'); ok {
			if !finite(v) || v <= 0 || v > 10000 {
				return OpNone, lineErr(l.Num, "M%d: factor S%v%% out of range (0, 10000]", l.Code, v)
			}
			if l.Code == 220 {
				m.FeedFactor = v / 100
			} else {
				m.FlowFactor = v / 100
			}
		}
		return OpSetting, nil
	case 200:
		return m.volumetric(l)
	case 207:
		if v, ok := l.Get('S'); ok && finite(v) && v >= 0 {
			m.FwRetractMM = v * m.unit()
		}
		if v, ok := l.Get('F'); ok && finite(v) && v > 0 {
			m.FwRetractFeed = v * m.unit()
		}
		return OpSetting, nil
	case 208:
		if v, ok := l.Get('S'); ok && finite(v) {
			m.FwRecoverExtraMM = v * m.unit()
		}
		if v, ok := l.Get('F'); ok && finite(v) && v > 0 {
			m.FwRecoverFeed = v * m.unit()
		}
		return OpSetting, nil
	case 104, 140, 106, 107, 201, 203, 204, 205, 566, 900, 572, 141, 209:
		return OpSetting, nil
	case 109, 190, 191, 116, 400:
		return OpWait, nil
	}
	return OpOther, nil
}

func (m *Machine) setPos(l *Line) (Op, error) {
	u := m.unit()
	m.G92Axes = l.ParamMask()
	any := false
	for i, c := range [4]byte{'X', 'Y', 'Z', 'E'} {
		if !l.Has(c) {
			continue
		}
		any = true
		v, _ := l.Get(c) // "G92 E" without value means 0
		v *= u
		if !finite(v) || math.Abs(v) > 1e9 {
			return OpNone, lineErr(l.Num, "G92: %c%v out of range", c, v)
		}
		if i < 3 {
			phys := m.pos[i] + m.off[i]
			m.pos[i] = v
			m.off[i] = phys - v
		} else {
			m.pos[3] = v
		}
	}
	if !any { // bare G92: all axes to zero
		for i := 0; i < 3; i++ {
			phys := m.pos[i] + m.off[i]
			m.pos[i] = 0
			m.off[i] = phys
		}
		m.pos[3] = 0
		m.G92Axes = 1<<('X'-'A') | 1<<('Y'-'A') | 1<<('Z'-'A') | 1<<('E'-'A')
	}
	return OpSetPos, nil
}

// volumetric applies M200: D sets the filament diameter and switches
// volumetric E on (D0 off: Marlin 1/2, RepRapFirmware); Marlin 2's S1/S0
// switch it on and off with the last diameter (S1 without a diameter
// stays off: the firmware's default diameter is not known here).
func (m *Machine) volumetric(l *Line) (Op, error) {
	if l.BadWord != nil {
		return OpNone, m.badWord(l)
	}
	if d, ok := l.Get('D'); ok {
		if !finite(d) || d < 0 || d > 100 {
			return OpNone, lineErr(l.Num, "M200: filament diameter D%v mm out of range [0, 100]", d)
		}
		d *= m.unit()
		m.FilamentMM = d
		m.Volumetric = d > 0
	}
	if s, ok := l.Get('S'); ok {
		m.Volumetric = s != 0 && m.FilamentMM > 0
	}
	return OpSetting, nil
}

// EAreaMM2 is the filament cross-section (mm²) that E words are divided
// by to give filament length, 0 when E is length already.
func (m *Machine) EAreaMM2() float64 {
	if !m.Volumetric {
		return 0
	}
	return math.Pi / 4 * m.FilamentMM * m.FilamentMM
}

// home models G28 as a move of the named axes (all if none) to logical 0.
func (m *Machine) home(l *Line) (Op, error) {
	from := m.Pos()
	all := !l.Has('X') && !l.Has('Y') && !l.Has('Z')
	for i, c := range [3]byte{'X', 'Y', 'Z'} {
		if all || l.Has(c) {
			m.pos[i] = 0
			m.off[i] = 0
		}
	}
	m.Move = Move{Kind: Linear, From: from, To: m.Pos(), FeedMM: m.FeedMM}
	return OpHome, nil
}

func (m *Machine) firmwareRetract(retract bool) Op {
	p := m.Pos()
	mv := Move{Kind: Linear, From: p, To: p, Firmware: true}
	switch {
	case retract && !m.fwRetracted:
		mv.DE = -m.FwRetractMM
		mv.FeedMM = m.FwRetractFeed
		m.fwRetracted = true
	case !retract && m.fwRetracted:
		mv.DE = m.FwRetractMM + m.FwRecoverExtraMM
		mv.FeedMM = m.FwRecoverFeed
		m.fwRetracted = false
	default:
		mv.FeedMM = m.FeedMM
	}
	m.Move = mv
	return OpMove
}

func (m *Machine) motion(l *Line) (Op, error) {
	u := m.unit()
	if v, ok := l.Get('F'); ok {
		v *= u
		if !finite(v) || v <= 0 || v > 1e7 {
			return OpNone, lineErr(l.Num, "%s: feed F%v out of range (0, 1e7] mm/min", l.CommandName(nil), v)
		}
		m.FeedMM = v
	}
	const axes = 1<<('X'-'A') | 1<<('Y'-'A') | 1<<('Z'-'A') | 1<<('E'-'A')
	arc := l.Code == 2 || l.Code == 3
	if l.ParamMask()&axes == 0 && !arc {
		return OpFeed, nil // F only (or a bare G1): no motion
	}
	from := m.Pos()
	var tgt [4]float64
	for i, c := range [4]byte{'X', 'Y', 'Z', 'E'} {
		v, ok := l.Get(c)
		if !ok {
			if l.Has(c) {
				return OpNone, lineErr(l.Num, "%s: %c without a value", l.CommandName(nil), c)
			}
			tgt[i] = m.pos[i]
			continue
		}
		v *= u
		if !finite(v) || math.Abs(v) > 1e7 {
			return OpNone, lineErr(l.Num, "%s: %c%v out of range", l.CommandName(nil), c, v)
		}
		rel := !m.AbsXYZ
		if i == 3 {
			rel = m.ERelative()
		}
		if rel {
			tgt[i] = m.pos[i] + v
		} else {
			tgt[i] = v
		}
	}
	de := tgt[3] - m.pos[3]
	mv := Move{Kind: Linear, From: from, DE: de, FeedMM: m.FeedMM, Rapid: l.Code == 0}
	for i := 0; i < 3; i++ {
		mv.To[i] = tgt[i] + m.off[i]
	}
	if arc {
		if err := m.arc(l, &mv); err != nil {
			return OpNone, err
		}
	}
	m.pos = tgt
	m.Move = mv
	return OpMove, nil
}

// arc fills the arc geometry of mv (XY plane only) from I/J or R.
func (m *Machine) arc(l *Line, mv *Move) error {
	name := l.CommandName(nil)
	if m.Plane != 17 {
		return lineErr(l.Num, "%s: arcs are supported in the XY plane (G17) only, plane is G%d", name, m.Plane)
	}
	u := m.unit()
	cw := l.Code == 2
	sx, sy := mv.From[0], mv.From[1]
	ex, ey := mv.To[0], mv.To[1]
	var cx, cy float64
	iv, hasI := l.Get('I')
	jv, hasJ := l.Get('J')
	if r, ok := l.Get('R'); ok {
		r *= u
		dx, dy := ex-sx, ey-sy
		d := math.Hypot(dx, dy)
		if !finite(r) || r == 0 || d == 0 {
			return lineErr(l.Num, "%s: R form needs a nonzero radius and distinct end point", name)
		}
		h2 := 4*r*r - d*d
		if h2 < 0 {
			if h2 < -1e-6*4*r*r {
				return lineErr(l.Num, "%s: radius R%v too small for chord %.6g mm", name, r/u, d)
			}
			h2 = 0
		}
		h := -math.Sqrt(h2) / d
		if !cw {
			h = -h
		}
		if r < 0 {
			h = -h
		}
		cx = sx + 0.5*(dx-dy*h)
		cy = sy + 0.5*(dy+dx*h)
	} else {
		if !hasI && !hasJ {
			return lineErr(l.Num, "%s: needs I/J or R", name)
		}
		iv *= u
		jv *= u
		if !finite(iv) || !finite(jv) || math.Abs(iv) > 1e7 || math.Abs(jv) > 1e7 {
			return lineErr(l.Num, "%s: centre offset out of range", name)
		}
		cx, cy = sx+iv, sy+jv
	}
	r0 := math.Hypot(sx-cx, sy-cy)
	if !(r0 > 0) {
		return lineErr(l.Num, "%s: zero radius", name)
	}
	// Swept angle (Marlin plan_arc): angle from start to end radius vector.
	ax, ay := sx-cx, sy-cy
	bx, by := ex-cx, ey-cy
	ang := math.Atan2(ax*by-ay*bx, ax*bx+ay*by)
	if cw {
		if ang >= 0 {
			ang -= 2 * math.Pi
		}
		ang = -ang
	} else if ang <= 0 {
		ang += 2 * math.Pi
	}
	// Same start and end: a full circle (Marlin); a tiny nonzero angle
	// stays tiny.
	if sx == ex && sy == ey {
		ang = 2 * math.Pi
	}
	mv.Kind = ArcCCW
	if cw {
		mv.Kind = ArcCW
	}
	mv.Center = [2]float64{cx, cy}
	mv.Radius = r0
	mv.Sweep = ang
	return nil
}
