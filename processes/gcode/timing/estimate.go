package timing

import (
	"context"
	"fmt"
	"io"
	"math"

	"fabcell/processes/gcode/parse"
)

// JunctionMode chooses the junction model of an estimate.
type JunctionMode uint8

// Junction modes.
const (
	// JunctionAuto uses classic jerk when the file sets per-axis jerk
	// (M205 X/Y) and no junction deviation (M205 J), else junction
	// deviation — "classic jerk when the file says so".
	JunctionAuto JunctionMode = iota
	JunctionForceDeviation
	JunctionForceJerk
)

// Config is the estimator's configuration: machine defaults (overridden by
// the file's M201/M203/M204/M205) and how the file is interpreted.
type Config struct {
	Limits   Limits
	Junction JunctionMode
	// ArcSegmentMM is the chord length arcs are split into (Marlin
	// MM_PER_ARC_SEGMENT, 1 mm).
	ArcSegmentMM float64
	// HomingFeedMMS is the G28 speed per axis X, Y, Z (Marlin
	// HOMING_FEEDRATE_MM_M {50·60, 50·60, 4·60} → {50, 50, 4} mm/s).
	HomingFeedMMS [3]float64
	// M203PerMinute reads M203 in mm/min (RepRapFirmware) instead of mm/s.
	M203PerMinute bool
	// SlicerLimits starts a file from the machine model its slicer assumed
	// for the embedded estimate (SlicerLimits: legacy CuraEngine's fixed
	// constants) instead of Limits, when the header names such a slicer
	// before any move or M201–M205; the file's own M201–M205 still
	// override it, and a forced junction mode is kept. Set it only when
	// Limits are defaults, not a configured machine.
	SlicerLimits bool
	// UltiGCodeFilamentMM is the filament diameter (mm) that turns the
	// volumetric E of Cura's UltiGCode flavour into length; the file does
	// not carry it (the printer's material setting does). 0 means
	// DefaultUltiGCodeFilamentMM.
	UltiGCodeFilamentMM float64
	// SlicerSettings are the settings a file carries in its footer, read
	// ahead with parse.ReadFooter by callers that can seek (nil: none).
	// With SlicerLimits, a PrusaSlicer-family file is then timed with the
	// machine model its slicer assumed (PrusaLimits).
	SlicerSettings map[string]string
	Parse          parse.Options
}

// DefaultUltiGCodeFilamentMM is the filament of the Ultimaker 2 family,
// the printers that read UltiGCode (2.85 mm).
const DefaultUltiGCodeFilamentMM = 2.85

// DefaultConfig is MarlinDefaults with automatic junction selection, 1 mm
// arc chords, Marlin's homing feeds and slicer-assumed limits.
func DefaultConfig() Config {
	return Config{Limits: MarlinDefaults(), ArcSegmentMM: 1, HomingFeedMMS: [3]float64{50, 50, 4}, SlicerLimits: true}
}

// Estimator turns an interpreted G-code stream into time. Feed it every
// line with Line (after Machine.Exec) and call Finish.
type Estimator struct {
	cfg  Config
	P    *Planner
	mode JunctionMode

	// LimitsOnly makes Line track the machine limits without timing moves
	// (cheap; for callers that only need Limits at some point).
	LimitsOnly bool

	DwellS  float64 // G4 time
	HomeS   float64 // G28 time
	Moves   int
	sawJerk bool
	sawJD   bool

	// Model names the slicer's machine model in use (AssumeSlicer), ""
	// for the configured limits.
	Model      string
	sawLimits  bool // an M201–M205 was applied
	sawMove    bool // a move was seen
	slicerDone bool // AssumeSlicer has decided
}

// AssumeSlicer switches to the machine model of the slicer named in m
// (Config.SlicerLimits, SlicerLimits) if nothing has been planned and no
// M201–M205 applied yet; it decides once, when m first names a slicer.
// Call it after parse.Meta.Observe for every line.
func (e *Estimator) AssumeSlicer(m *parse.Meta) {
	if e.slicerDone || m.Slicer == parse.SlicerUnknown {
		return
	}
	e.slicerDone = true
	if m.Flavor == "UltiGCode" && e.P.L.EAreaMM2 == 0 && e.P.Blocks == 0 {
		// Cura's UltiGCode flavour writes E as volume; the printer (an
		// Ultimaker 2) divides by its material's cross-section.
		d := e.cfg.UltiGCodeFilamentMM
		if !(d > 0) {
			d = DefaultUltiGCodeFilamentMM
		}
		e.P.L.EAreaMM2 = math.Pi / 4 * d * d
	}
	if !e.cfg.SlicerLimits || e.sawLimits || e.sawMove || e.P.Blocks > 0 {
		return
	}
	l, name, ok := SlicerLimits(m, e.P.L.Lookahead)
	switch m.Slicer {
	case parse.SlicerPrusa, parse.SlicerSuperSlicer, parse.SlicerOrca:
		l, ok = PrusaLimits(e.cfg.SlicerSettings, e.P.L.Lookahead)
		name = PrusaModel
	}
	if !ok {
		return
	}
	switch e.mode {
	case JunctionForceJerk:
		l.Junction = ClassicJerk
	case JunctionForceDeviation:
		l.Junction = JunctionDeviation
	}
	l.EAreaMM2 = e.P.L.EAreaMM2
	e.P.L = l
	e.Model = name
}

// NewEstimator returns an estimator with the configuration's limits.
func NewEstimator(cfg Config) *Estimator {
	if !(cfg.ArcSegmentMM > 0) {
		cfg.ArcSegmentMM = 1
	}
	l := cfg.Limits
	switch cfg.Junction {
	case JunctionForceJerk:
		l.Junction = ClassicJerk
	case JunctionForceDeviation:
		l.Junction = JunctionDeviation
	}
	return &Estimator{cfg: cfg, P: NewPlanner(l), mode: cfg.Junction}
}

// Limits returns the limits in force.
func (e *Estimator) Limits() Limits { return e.P.L }

// Line applies one executed line: limits commands change the planner,
// moves become blocks, dwell and waits drain the buffer.
func (e *Estimator) Line(l *parse.Line, op parse.Op, m *parse.Machine) {
	if e.LimitsOnly && op != parse.OpSetting {
		if op == parse.OpMove || op == parse.OpHome {
			e.sawMove = true
		}
		return
	}
	switch op {
	case parse.OpMove:
		e.sawMove = true
		e.move(&m.Move, m)
	case parse.OpHome:
		e.sawMove = true
		e.home(&m.Move)
	case parse.OpDwell:
		e.DwellS += m.DwellS
		e.P.Dwell(m.DwellS)
	case parse.OpWait:
		e.P.Flush()
	case parse.OpSetting:
		if l.Letter == 'M' {
			e.setting(l, m)
		}
	}
}

// MoveDirect adds a move without a parse.Line (used by the optimiser to
// time candidate orders). flow and feedFactor are M221/M220 as fractions.
func (e *Estimator) MoveDirect(mv *parse.Move, feedFactor, flow float64) {
	e.addMove(mv, feedFactor, flow)
}

func (e *Estimator) move(mv *parse.Move, m *parse.Machine) {
	e.addMove(mv, m.FeedFactor, m.FlowFactor)
}

func (e *Estimator) addMove(mv *parse.Move, feedFactor, flow float64) {
	e.Moves++
	if mv.Firmware && e.P.L.FirmwareRetractUntimed {
		return
	}
	v := mv.FeedMM / 60 * feedFactor
	if mv.Firmware {
		v = mv.FeedMM / 60 // firmware retraction feeds ignore M220
	}
	if a := e.P.L.EAreaMM2; a > 0 && !mv.Firmware {
		flow /= a // volumetric E (mm³) → filament length (mm)
	}
	if mv.Kind == parse.Linear {
		d := [4]float64{mv.To[0] - mv.From[0], mv.To[1] - mv.From[1], mv.To[2] - mv.From[2], mv.DE * flow}
		e.P.Move(d, v)
		return
	}
	mv.Chords(e.cfg.ArcSegmentMM, func(a, b [3]float64, de float64) {
		e.P.Move([4]float64{b[0] - a[0], b[1] - a[1], b[2] - a[2], de * flow}, v)
	})
}

// home drains the buffer and moves the homed axes at homing speed
// (bounded by the axis limits), one axis group after the other.
func (e *Estimator) home(mv *parse.Move) {
	e.P.Flush()
	t0 := e.P.Time()
	d := [4]float64{mv.To[0] - mv.From[0], mv.To[1] - mv.From[1], 0, 0}
	if d[0] != 0 || d[1] != 0 {
		e.P.Move(d, min(e.cfg.HomingFeedMMS[0], e.cfg.HomingFeedMMS[1]))
		e.P.Flush()
	}
	if dz := mv.To[2] - mv.From[2]; dz != 0 {
		e.P.Move([4]float64{0, 0, dz, 0}, e.cfg.HomingFeedMMS[2])
		e.P.Flush()
	}
	e.HomeS += e.P.Time() - t0
}

func (e *Estimator) setting(l *parse.Line, m *parse.Machine) {
	lim := &e.P.L
	pos := func(c byte) (float64, bool) {
		v, ok := l.Get(c)
		if !ok || !(v >= 0) || math.IsInf(v, 0) {
			return 0, false
		}
		if m.Inches {
			v *= 25.4
		}
		return v, true
	}
	switch l.Code {
	case 201, 203, 204, 205:
		e.sawLimits = true
	}
	switch l.Code {
	case 200:
		if a := m.EAreaMM2(); a > 0 || lim.EAreaMM2 > 0 {
			lim.EAreaMM2 = a
		}
	case 201:
		for a, c := range [4]byte{'X', 'Y', 'Z', 'E'} {
			if v, ok := pos(c); ok && v > 0 {
				lim.MaxAccelMMS2[a] = v
			}
		}
	case 203:
		for a, c := range [4]byte{'X', 'Y', 'Z', 'E'} {
			if v, ok := pos(c); ok && v > 0 {
				if e.cfg.M203PerMinute {
					v /= 60
				}
				lim.MaxFeedMMS[a] = v
			}
		}
	case 204:
		if v, ok := pos('S'); ok && v > 0 {
			lim.PrintAccel, lim.TravelAccel = v, v
		}
		if v, ok := pos('P'); ok && v > 0 {
			lim.PrintAccel = v
		}
		if v, ok := pos('R'); ok && v > 0 {
			lim.RetractAccel = v
		}
		if v, ok := pos('T'); ok && v > 0 {
			lim.TravelAccel = v
		}
	case 205:
		jerkSet, jdSet := false, false
		for a, c := range [4]byte{'X', 'Y', 'Z', 'E'} {
			if v, ok := pos(c); ok {
				lim.JerkMMS[a] = v
				if a < 2 {
					e.sawJerk, jerkSet = true, true
				}
			}
		}
		if v, ok := pos('J'); ok && v > 0 {
			lim.JunctionDevMM = v
			e.sawJD, jdSet = true, true
		}
		if v, ok := pos('S'); ok {
			lim.MinFeedMMS = v
		}
		if v, ok := pos('T'); ok {
			lim.MinTravelMMS = v
		}
		// Auto: the file's M205 chooses the junction model, except under
		// a Cura model (Marlin1Jerk comes only from SlicerLimits), whose
		// calculator keeps Marlin 1.0 junctions and takes M205 X as its
		// XY jerk (CuraEngine GCodeExport::writeJerk).
		if e.mode == JunctionAuto && (jerkSet || jdSet) && lim.Junction != Marlin1Jerk {
			if e.sawJerk && !e.sawJD {
				lim.Junction = ClassicJerk
			} else {
				lim.Junction = JunctionDeviation
			}
		}
	}
}

// SetLimits replaces the limits in force (the buffer is drained first).
func (e *Estimator) SetLimits(l Limits) {
	e.P.Flush()
	e.P.L = l
}

// Reset starts a new estimate from rest with limits l.
func (e *Estimator) Reset(l Limits) {
	e.P.Reset(l)
	e.DwellS, e.HomeS, e.Moves = 0, 0, 0
	e.sawJerk = l.Junction == ClassicJerk
	e.sawJD = false
	e.slicerDone = true // l is the model now
}

// ApplySetting applies a limits or factor command (M201/M203/M204/M205)
// given as a lexed line; inches converts lengths.
func (e *Estimator) ApplySetting(l *parse.Line, inches bool) {
	if l.Letter != 'M' {
		return
	}
	m := parse.Machine{Inches: inches}
	e.setting(l, &m)
}

// Finish drains the planner and returns the total time (s).
func (e *Estimator) Finish() float64 {
	e.P.Flush()
	return e.P.Time()
}

// Checkpoint is an M73 progress line compared with our estimate.
type Checkpoint struct {
	Line     int
	Percent  float64 // M73 P, or SlicerElapsedS as a share of the slicer's total
	RemainM  float64 // M73 R (minutes), or the slicer's remaining time; -1 if absent
	ElapsedS float64 // our time from the start to this line
	// SlicerElapsedS is CuraEngine's ";TIME_ELAPSED:" (s), 0 for M73.
	SlicerElapsedS float64
}

// Span is our time and the slicer's over a part of a file.
type Span struct {
	FromLine, ToLine int     // 1-based input lines (inclusive)
	OursS, SlicerS   float64 // seconds
}

// Result is a whole-file estimate.
type Result struct {
	Seconds float64
	ByClass [NumClasses]float64 // moves by class (s)
	DwellS  float64
	HomeS   float64
	Lines   int
	Blocks  int
	// Path statistics of the file.
	ExtrusionMoves int     // moves with XY motion and positive E
	TravelMM       float64 // XY length of moves without extrusion (travels, wipes)
	Retracts       int     // filament-only moves pulling back (and G10)
	ZHops          int     // Z-only moves upwards
	Junction       Junction
	Limits         Limits // at the end of the file
	// Model names the slicer's machine model the estimate started from
	// (Config.SlicerLimits), "" for the configured limits.
	Model string
	Meta  parse.Meta
	// SlicerSpan compares our time with the slicer's over the part of
	// the file the slicer times, when that is not the whole file
	// (CuraEngine: from the first layer to the last ;TIME_ELAPSED:); nil
	// otherwise.
	SlicerSpan *Span
	Progress   []Checkpoint // M73 lines (first extruder's progress) and ;TIME_ELAPSED: marks
}

// ProgressError compares the slicer's progress marks (M73 P/R lines, or
// CuraEngine's per-layer ";TIME_ELAPSED:") with the estimate: the largest
// and mean absolute difference between the slicer's and our elapsed
// percentage (points), and the largest difference between the slicer's
// and our remaining time (minutes). ok is false without progress marks.
func (r *Result) ProgressError() (maxPct, meanPct, maxRemainMin float64, ok bool) {
	if len(r.Progress) == 0 || r.Seconds <= 0 {
		return 0, 0, 0, false
	}
	for _, cp := range r.Progress {
		ours := cp.ElapsedS / r.Seconds * 100
		d := math.Abs(ours - cp.Percent)
		maxPct = max(maxPct, d)
		meanPct += d
		if cp.RemainM >= 0 {
			rem := (r.Seconds - cp.ElapsedS) / 60
			maxRemainMin = max(maxRemainMin, math.Abs(rem-cp.RemainM))
		}
	}
	return maxPct, meanPct / float64(len(r.Progress)), maxRemainMin, true
}

// EstimateReader parses r and estimates it. ctx is checked every 64k lines.
func EstimateReader(ctx context.Context, r io.Reader, cfg Config) (Result, error) {
	sc := parse.NewScanner(r)
	m := parse.NewMachine(cfg.Parse)
	est := NewEstimator(cfg)
	var res Result
	type pending struct {
		cp   Checkpoint
		mark int
	}
	var marks []pending
	firstLayer, firstLayerLine := -1, 0 // planner mark and line of the first layer marker
	n := 0
	for sc.Scan() {
		l := sc.Line()
		n++
		if n&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return Result{}, err
			}
		}
		op, err := m.Exec(l)
		if err != nil {
			return Result{}, err
		}
		res.Meta.Observe(l)
		est.AssumeSlicer(&res.Meta)
		if l.Letter == 0 && len(l.Comment) > 0 {
			if v, ok := parse.TimeElapsed(l.Comment); ok {
				marks = append(marks, pending{Checkpoint{Line: l.Num, SlicerElapsedS: v, RemainM: -1}, est.P.Mark()})
			} else if firstLayer < 0 && parse.LayerMarker(l.Comment) {
				firstLayer, firstLayerLine = est.P.Mark(), l.Num
			}
		}
		if l.Letter == 'M' && l.Code == 73 {
			if p, ok := l.Get('P'); ok {
				cp := Checkpoint{Line: l.Num, Percent: p, RemainM: -1}
				if r, ok := l.Get('R'); ok {
					cp.RemainM = r
				}
				marks = append(marks, pending{cp, est.P.Mark()})
			}
		}
		if op == parse.OpMove {
			mv := &m.Move
			switch {
			case mv.IsExtrusion() && !mv.Firmware:
				res.ExtrusionMoves++
			case mv.HasXY():
				res.TravelMM += mv.XYLength()
			case mv.DE < 0:
				res.Retracts++
			case mv.To[2] > mv.From[2]:
				res.ZHops++
			}
		}
		est.Line(l, op, m)
	}
	if err := sc.Err(); err != nil {
		return Result{}, err
	}
	res.Seconds = est.Finish()
	res.ByClass = est.P.ByClass
	res.DwellS = est.DwellS
	res.HomeS = est.HomeS
	res.Lines = n
	res.Blocks = est.P.Blocks
	res.Junction = est.P.L.Junction
	res.Limits = est.P.L
	res.Model = est.Model
	for _, p := range marks {
		t, ok := est.P.MarkTime(p.mark)
		if !ok {
			return Result{}, fmt.Errorf("estimate: internal: unresolved checkpoint at line %d", p.cp.Line)
		}
		p.cp.ElapsedS = t
		if p.cp.SlicerElapsedS > 0 && res.Meta.EmbeddedS > 0 {
			// ;TIME_ELAPSED: the last one is the slicer's total
			// (Meta.EmbeddedS), so it gives the percentage and the
			// remaining time as M73 P and R would.
			p.cp.Percent = p.cp.SlicerElapsedS / res.Meta.EmbeddedS * 100
			p.cp.RemainM = (res.Meta.EmbeddedS - p.cp.SlicerElapsedS) / 60
		}
		res.Progress = append(res.Progress, p.cp)
	}
	// CuraEngine times the layers only (not the start and end G-code it
	// copies from the printer profile): compare over that span.
	if k := len(res.Progress) - 1; k >= 0 && res.Progress[k].SlicerElapsedS > 0 && firstLayer >= 0 {
		if t0, ok := est.P.MarkTime(firstLayer); ok {
			res.SlicerSpan = &Span{FromLine: firstLayerLine, ToLine: res.Progress[k].Line, OursS: res.Progress[k].ElapsedS - t0, SlicerS: res.Progress[k].SlicerElapsedS}
		}
	}
	return res, nil
}
