package layerprog

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"fabcell/config"

	"github.com/golang/geo/r2"
)

// G-code for the dual-nozzle head board (Marlin dialect, the commands the
// fabcell extruder driver and board simulator speak, robot/extruder):
//
//   - G21 G90 M83: millimetres, absolute XYZ, relative E — every G1 E is the
//     feed of the active tool's extruder, so the amounts do not depend on
//     how the firmware keeps E positions across tool changes;
//   - temperatures: M140/M104 set bed, T0 and T1 at the start, M190/M109
//     wait for each; everything is switched off at the end;
//   - T0 prints the matrix layers: E per mm of path = line width × layer
//     height / filament cross-section (π d²/4); T1 lays the fibre with
//     E = ccf.fiber_feed_ratio per mm of path;
//   - coordinates are those of the active nozzle's tip: the firmware
//     positions T0, so T1 moves are commanded at target − ccf.fiber_offset_mm
//     (T1's tip sits at T0's tip + offset);
//   - travels lift by ccf.travel_lift_mm; matrix travels of at least
//     ccf.retract_min_travel_mm, and every matrix travel that leaves the
//     part (crosses the outline or a hole's rim, or runs outside), retract
//     ccf.matrix_retract_mm first; T0 also retracts before every switch
//     to T1 (it stays hot and is carried over the part) and primes back at
//     its next path's start;
//   - the fibre is cut at the end of each stroke: M400 (finish moves), then
//     the lines of ccf.fiber_cut_gcode (default "M280 P0 S90", the cutter
//     servo).

// GCodeMeta is text for the header comments (sanitised: printable ASCII,
// one line each, at most 160 bytes).
type GCodeMeta struct {
	Job      string
	Comments []string
}

// GCodeStats are totals of a written program.
type GCodeStats struct {
	Lines int
	// PrintE is the filament fed on extruding moves per tool (mm), RetractE
	// the net E of retract/unretract moves (≤ 0).
	PrintE   [2]float64
	RetractE [2]float64
	// PrintMM is the extruding path length per tool (mm).
	PrintMM [2]float64
	// ToolChanges counts T commands.
	ToolChanges int
}

// retractFeedMMS is the speed of retract and unretract moves.
const retractFeedMMS = 40

// MatrixEPerMM returns the matrix filament feed per mm of path: w·h/(π d²/4).
func MatrixEPerMM(c config.CCFProcess, layerHeightMM float64) float64 {
	r := c.FilamentDiameterMM / 2
	return c.MatrixLineWidthMM * layerHeightMM / (math.Pi * r * r)
}

// SanitizeComment makes text safe inside a G-code comment: printable ASCII
// only (others become '?'), no line breaks, at most 160 bytes.
func SanitizeComment(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
		if b.Len() >= 160 {
			break
		}
	}
	return b.String()
}

// fmtNum writes a number with up to prec decimals, no trailing zeros.
func fmtNum(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" || s == "" {
		s = "0"
	}
	return s
}

type gcodeWriter struct {
	w      *bufio.Writer
	region Region // the part (empty for fibre-only programs)
	c      config.CCFProcess
	st     GCodeStats
	tool   int
	pos    [3]float64 // commanded T0 coordinates
	known  bool
	retr   bool // T0's filament is retracted (T1 never retracts)
	err    error
}

func (g *gcodeWriter) line(format string, a ...any) {
	if g.err != nil {
		return
	}
	_, g.err = fmt.Fprintf(g.w, format+"\n", a...)
	g.st.Lines++
}

// cmdPos converts a target tip position of tool t to commanded coordinates.
func (g *gcodeWriter) cmdPos(t Tool, p r2.Point, z float64) [3]float64 {
	if t == Fiber {
		o := g.c.FiberOffsetXYMM
		return [3]float64{p.X - o[0], p.Y - o[1], z - o[2]}
	}
	return [3]float64{p.X, p.Y, z}
}

func (g *gcodeWriter) selectTool(t Tool, liftZ float64) {
	if g.tool == int(t) {
		return
	}
	if g.tool == int(Matrix) && !g.retr && g.c.MatrixRetractMM > 0 {
		// the matrix nozzle stays hot and is carried over the part while
		// T1 works: retract its filament before leaving it (travel
		// unretracts at the next matrix path's start)
		g.retract()
	}
	if g.known {
		g.line("G0 Z%s F%s", fmtNum(liftZ, 3), fmtNum(g.c.TravelFeedMMS*60, 0))
		g.pos[2] = liftZ
	}
	g.line("T%d", int(t))
	g.line("G92 E0")
	g.st.ToolChanges++
	g.tool = int(t)
}

// retract and unretract move T0's filament (T0 must be the active tool).
func (g *gcodeWriter) retract() {
	g.line("G1 E-%s F%s", fmtNum(g.c.MatrixRetractMM, 5), fmtNum(retractFeedMMS*60, 0))
	g.st.RetractE[Matrix] -= g.c.MatrixRetractMM
	g.retr = true
}

func (g *gcodeWriter) unretract() {
	g.line("G1 E%s F%s", fmtNum(g.c.MatrixRetractMM, 5), fmtNum(retractFeedMMS*60, 0))
	g.st.RetractE[Matrix] += g.c.MatrixRetractMM
	g.retr = false
}

// leavesPart reports whether the straight T0 travel from a to b
// (commanded = tip coordinates) runs outside the part: it crosses a loop
// of the region or its midpoint lies outside (in a hole or beyond the
// outline). Such a travel retracts whatever its length — a short hop over
// a bore or between the arms of a part oozes a string across the gap.
func (g *gcodeWriter) leavesPart(a, b [3]float64) bool {
	if len(g.region.Outer) < 3 {
		return false
	}
	p, q := r2.Point{X: a[0], Y: a[1]}, r2.Point{X: b[0], Y: b[1]}
	return g.region.crossesBoundary(p, q) || !g.region.Contains(p.Add(q).Mul(0.5))
}

// travel moves the nozzle of tool t to p at height z (lift, move, lower).
func (g *gcodeWriter) travel(t Tool, p r2.Point, z float64) {
	target := g.cmdPos(t, p, z)
	dist := math.Hypot(target[0]-g.pos[0], target[1]-g.pos[1])
	if g.known && dist < 1e-6 && math.Abs(target[2]-g.pos[2]) < 1e-9 {
		if t == Matrix && g.retr {
			g.unretract()
		}
		return
	}
	tf := fmtNum(g.c.TravelFeedMMS*60, 0)
	if t == Matrix && g.c.MatrixRetractMM > 0 && !g.retr && g.known && (dist >= g.c.RetractMinTravelMM || g.leavesPart(g.pos, target)) {
		g.retract()
	}
	lift := math.Max(target[2], g.pos[2]) + g.c.TravelLiftMM
	if !g.known {
		lift = target[2] + g.c.TravelLiftMM
	}
	g.line("G0 Z%s F%s", fmtNum(lift, 3), tf)
	g.line("G0 X%s Y%s F%s", fmtNum(target[0], 3), fmtNum(target[1], 3), tf)
	g.line("G0 Z%s F%s", fmtNum(target[2], 3), tf)
	g.pos, g.known = target, true
	if t == Matrix && g.retr {
		g.unretract()
	}
}

// WriteGCode writes the program for the dual-nozzle head.
func WriteGCode(w io.Writer, p *Program, c config.CCFProcess, meta GCodeMeta) (GCodeStats, error) {
	if len(c.FiberCutLines()) == 0 {
		return GCodeStats{}, fmt.Errorf("gcode: ccf.fiber_cut_gcode is empty")
	}
	if !(c.FilamentDiameterMM > 0) || !(c.FiberFeedRatio > 0) || !(c.MatrixFeedMMS > 0) || !(c.FiberFeedMMS > 0) || !(c.TravelFeedMMS > 0) {
		return GCodeStats{}, fmt.Errorf("gcode: filament diameter, fibre feed ratio and feeds must be > 0")
	}
	if err := p.CheckIdleClearance(c.FiberOffsetXYMM, c.MatrixLineWidthMM, c.FiberWidthMM, c.TravelLiftMM); err != nil {
		return GCodeStats{}, fmt.Errorf("gcode: %w", err)
	}
	g := &gcodeWriter{w: bufio.NewWriter(w), c: c, tool: -1, region: p.Region}
	st := p.Stats()
	g.line("; fabcell CCF layer program (dual-nozzle head: T0 PA matrix, T1 continuous fibre)")
	if meta.Job != "" {
		g.line("; job: %s", SanitizeComment(meta.Job))
	}
	for _, cm := range meta.Comments {
		g.line("; %s", SanitizeComment(cm))
	}
	g.line("; layers: %d matrix + %d fibre, top z %s mm; print length %s mm matrix, %s mm fibre",
		st.Layers[Matrix], st.Layers[Fiber], fmtNum(st.TopZMM, 3), fmtNum(st.PrintMM[Matrix], 1), fmtNum(st.PrintMM[Fiber], 1))
	g.line("G21")
	g.line("G90")
	g.line("M83")
	g.line("M107")
	g.line("M140 S%s", fmtNum(c.BedTempC, 1))
	g.line("M104 T0 S%s", fmtNum(c.MatrixTempC, 1))
	g.line("M104 T1 S%s", fmtNum(c.FiberTempC, 1))
	g.line("M190 S%s", fmtNum(c.BedTempC, 1))
	g.line("M109 T0 S%s", fmtNum(c.MatrixTempC, 1))
	g.line("M109 T1 S%s", fmtNum(c.FiberTempC, 1))
	for _, l := range p.Layers {
		g.line(";LAYER:%d %s z=%s", l.Index, l.Tool, fmtNum(l.ZMM, 3))
		for _, pa := range l.Paths {
			if len(pa.Points) < 2 {
				continue
			}
			g.selectTool(pa.Tool, g.pos[2]+c.TravelLiftMM)
			g.line(";TYPE:%s", pa.Kind)
			g.travel(pa.Tool, pa.Points[0], l.ZMM)
			ePerMM := c.FiberFeedRatio
			feed := c.FiberFeedMMS
			if pa.Tool == Matrix {
				ePerMM = MatrixEPerMM(c, l.HeightMM)
				feed = c.MatrixFeedMMS
			}
			pts := pa.Points
			if pa.Closed {
				pts = append(append([]r2.Point(nil), pts...), pts[0])
			}
			fset := false
			for _, q := range pts[1:] {
				t := g.cmdPos(pa.Tool, q, l.ZMM)
				d := math.Hypot(t[0]-g.pos[0], t[1]-g.pos[1])
				if d < 1e-9 {
					continue
				}
				e := d * ePerMM
				if !fset {
					g.line("G1 X%s Y%s E%s F%s", fmtNum(t[0], 3), fmtNum(t[1], 3), fmtNum(e, 5), fmtNum(feed*60, 0))
					fset = true
				} else {
					g.line("G1 X%s Y%s E%s", fmtNum(t[0], 3), fmtNum(t[1], 3), fmtNum(e, 5))
				}
				g.st.PrintE[pa.Tool] += e
				g.st.PrintMM[pa.Tool] += d
				g.pos = t
			}
			if pa.Kind == FiberStroke {
				g.line("; fibre cut at the end of the stroke")
				g.line("M400")
				for _, cl := range c.FiberCutLines() {
					g.line("%s", cl)
				}
				g.line("G0 Z%s F%s", fmtNum(g.pos[2]+c.TravelLiftMM, 3), fmtNum(c.TravelFeedMMS*60, 0))
				g.pos[2] += c.TravelLiftMM
			}
		}
	}
	g.line("; end")
	g.line("G0 Z%s F%s", fmtNum(g.pos[2]+10, 3), fmtNum(c.TravelFeedMMS*60, 0))
	g.line("M104 T0 S0")
	g.line("M104 T1 S0")
	g.line("M140 S0")
	g.line("M107")
	g.line("M84")
	if g.err == nil {
		g.err = g.w.Flush()
	}
	return g.st, g.err
}
