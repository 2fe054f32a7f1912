// Package layerprog builds the layer program of a CCF part — matrix layers
// (perimeters of the layer outline plus zig-zag infill) and the fibre
// layer(s) carrying the planned one-stroke fibre path — and writes it as
// Marlin G-code for the dual-nozzle head (T0 PA matrix, T1 flat CCF
// nozzle) or as a URScript motion program for the UR5e that carries the
// head.
//
// Frames and units: a Program is in the print-bed frame, millimetres
// (model coordinates are bed coordinates, config robot.bed_frame maps them
// to the robot base). The z of a layer is the height of the nozzle tip
// while printing it: the top of that layer.
package layerprog

import (
	"errors"
	"fmt"
	"math"

	"fabcell/config"

	"github.com/golang/geo/r2"
)

// Tool is a nozzle of the dual head.
type Tool int

const (
	// Matrix is T0, the PA matrix nozzle.
	Matrix Tool = 0
	// Fiber is T1, the flat continuous-fibre nozzle.
	Fiber Tool = 1
)

func (t Tool) String() string {
	if t == Fiber {
		return "fiber"
	}
	return "matrix"
}

// PathKind tells what a path prints.
type PathKind int

const (
	Perimeter PathKind = iota
	Infill
	FiberStroke
)

func (k PathKind) String() string {
	switch k {
	case Perimeter:
		return "perimeter"
	case Infill:
		return "infill"
	}
	return "fiber"
}

// Path is one extruding polyline (bed frame, mm). A closed path returns to
// its first point at the end.
type Path struct {
	Kind   PathKind
	Tool   Tool
	Points []r2.Point
	Closed bool
}

// LengthMM returns the printed length.
func (p Path) LengthMM() float64 { return Length(p.Points, p.Closed) }

// Layer is one layer of the program.
type Layer struct {
	Index    int
	Tool     Tool    // Matrix or Fiber layer
	ZMM      float64 // nozzle tip height while printing (top of the layer)
	HeightMM float64
	// InfillAngleRad is the matrix infill direction of this layer.
	InfillAngleRad float64
	Paths          []Path
}

// Program is the whole layer stack.
type Program struct {
	Region Region
	Layers []Layer
}

// Settings are the layer-program parameters (config ccf section).
type Settings struct {
	Layers             int     // matrix layers
	FiberEvery         int     // a fibre layer after every k-th matrix layer; 0 = one after the last
	LayerHeightMM      float64 // matrix layer height
	FiberLayerHeightMM float64
	LineWidthMM        float64 // matrix line width
	InfillSpacingMM    float64
	Perimeters         int
	InfillAngleDeg     float64 // layer 0; odd matrix layers add 90°
}

// SettingsFromConfig copies the layer settings of the ccf section.
func SettingsFromConfig(c config.CCFProcess) Settings {
	return Settings{
		Layers: c.Layers, FiberEvery: c.FiberEvery, LayerHeightMM: c.LayerHeightMM,
		FiberLayerHeightMM: c.FiberLayerHeightMM, LineWidthMM: c.MatrixLineWidthMM,
		InfillSpacingMM: c.InfillSpacingMM, Perimeters: c.Perimeters, InfillAngleDeg: c.InfillAngleDeg,
	}
}

// ErrSettings wraps invalid layer settings.
var ErrSettings = errors.New("layer program settings")

func (s Settings) validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrSettings}, a...)...) }
	switch {
	case s.Layers < 0 || s.FiberEvery < 0 || s.Perimeters < 0:
		return bad("layers, fiber_every and perimeters must be >= 0 (got %d, %d, %d)", s.Layers, s.FiberEvery, s.Perimeters)
	case !(s.LayerHeightMM > 0) || !(s.FiberLayerHeightMM > 0):
		return bad("layer heights must be > 0 (got %v, %v)", s.LayerHeightMM, s.FiberLayerHeightMM)
	case !(s.LineWidthMM > 0) || !(s.InfillSpacingMM > 0):
		return bad("line width and infill spacing must be > 0 (got %v, %v)", s.LineWidthMM, s.InfillSpacingMM)
	case math.IsNaN(s.InfillAngleDeg) || math.IsInf(s.InfillAngleDeg, 0):
		return bad("infill angle %v", s.InfillAngleDeg)
	}
	return nil
}

// Build assembles the program: Layers matrix layers (perimeters at (k+½)
// line widths inside the outline and holes, then zig-zag infill inside the
// innermost perimeter, alternating between InfillAngleDeg and +90°) with a
// fibre layer carrying the stroke (bed-frame points in planned order)
// after every FiberEvery-th matrix layer, or a single fibre layer on top
// when FiberEvery is 0 or exceeds Layers. With no matrix layers the region
// is not used (any stroke, even one that encloses no area, is printable).
func Build(region Region, stroke []r2.Point, s Settings) (*Program, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if len(stroke) < 2 {
		return nil, fmt.Errorf("fibre stroke has %d points, need at least 2", len(stroke))
	}
	var perims [][]Path // perimeter paths per ring (outer ring first)
	var infillRegion Region
	if s.Layers > 0 { // a fibre-only program needs no outline
		if err := region.Validate(); err != nil {
			return nil, fmt.Errorf("layer outline: %w", err)
		}
		for k := 0; k < s.Perimeters; k++ {
			off, err := region.Offset((float64(k) + 0.5) * s.LineWidthMM)
			if err != nil {
				return nil, fmt.Errorf("perimeter %d: %w", k+1, err)
			}
			var ring []Path
			for _, l := range off.Loops() {
				ring = append(ring, Path{Kind: Perimeter, Tool: Matrix, Points: l, Closed: true})
			}
			perims = append(perims, ring)
		}
		inset := float64(s.Perimeters) * s.LineWidthMM
		if s.Perimeters == 0 {
			inset = s.LineWidthMM / 2
		}
		var err error
		if infillRegion, err = region.Offset(inset); err != nil {
			return nil, fmt.Errorf("infill boundary: %w", err)
		}
	}
	p := &Program{Region: region}
	z := 0.0
	pos := stroke[0]
	addFiber := func() {
		z += s.FiberLayerHeightMM
		path := Path{Kind: FiberStroke, Tool: Fiber, Points: append([]r2.Point(nil), stroke...)}
		p.Layers = append(p.Layers, Layer{Index: len(p.Layers), Tool: Fiber, ZMM: z, HeightMM: s.FiberLayerHeightMM, Paths: []Path{path}})
		pos = stroke[len(stroke)-1]
	}
	for i := 0; i < s.Layers; i++ {
		z += s.LayerHeightMM
		ang := s.InfillAngleDeg * math.Pi / 180
		if i%2 == 1 {
			ang += math.Pi / 2
		}
		var paths []Path
		// perimeters inner ring first (the outer surface is printed last)
		var loops []Path
		for k := len(perims) - 1; k >= 0; k-- {
			loops = append(loops, perims[k]...)
		}
		paths, pos = orderPaths(loops, pos, true)
		var fill []Path
		for _, pl := range ZigZag(infillRegion, s.InfillSpacingMM, ang) {
			fill = append(fill, Path{Kind: Infill, Tool: Matrix, Points: pl})
		}
		var ordered []Path
		ordered, pos = orderPaths(fill, pos, false)
		paths = append(paths, ordered...)
		p.Layers = append(p.Layers, Layer{Index: len(p.Layers), Tool: Matrix, ZMM: z, HeightMM: s.LayerHeightMM, InfillAngleRad: ang, Paths: paths})
		if s.FiberEvery > 0 && (i+1)%s.FiberEvery == 0 {
			addFiber()
		}
	}
	if s.FiberEvery == 0 || s.Layers < s.FiberEvery {
		addFiber() // always at least one fibre layer
	}
	return p, nil
}

// orderPaths orders paths nearest-neighbour from pos: a closed path starts
// at its vertex nearest to the tool, an open one at its nearer end. keep
// keeps the given order (only rotating closed loops) — perimeters ring by
// ring.
func orderPaths(paths []Path, pos r2.Point, keep bool) ([]Path, r2.Point) {
	out := make([]Path, 0, len(paths))
	used := make([]bool, len(paths))
	for range paths {
		best, bestD, bestRev, bestStart := -1, math.Inf(1), false, 0
		for i, pa := range paths {
			if used[i] {
				continue
			}
			if pa.Closed {
				for k, q := range pa.Points {
					if d := q.Sub(pos).Norm(); d < bestD {
						best, bestD, bestStart, bestRev = i, d, k, false
					}
				}
			} else {
				if d := pa.Points[0].Sub(pos).Norm(); d < bestD {
					best, bestD, bestRev, bestStart = i, d, false, 0
				}
				if d := pa.Points[len(pa.Points)-1].Sub(pos).Norm(); d < bestD {
					best, bestD, bestRev, bestStart = i, d, true, 0
				}
			}
			if keep {
				break
			}
		}
		used[best] = true
		pa := paths[best]
		pts := make([]r2.Point, 0, len(pa.Points))
		if pa.Closed {
			pts = append(pts, pa.Points[bestStart:]...)
			pts = append(pts, pa.Points[:bestStart]...)
			pos = pts[0]
		} else {
			pts = append(pts, pa.Points...)
			if bestRev {
				for i, j := 0, len(pts)-1; i < j; i, j = i+1, j-1 {
					pts[i], pts[j] = pts[j], pts[i]
				}
			}
			pos = pts[len(pts)-1]
		}
		pa.Points = pts
		out = append(out, pa)
	}
	return out, pos
}

// Stats sums the program per tool.
type Stats struct {
	PrintMM [2]float64 // extruding path length per tool (mm)
	Paths   [2]int
	Layers  [2]int
	TopZMM  float64
}

// Stats returns the program totals.
func (p *Program) Stats() Stats {
	var st Stats
	for _, l := range p.Layers {
		st.Layers[l.Tool]++
		st.TopZMM = math.Max(st.TopZMM, l.ZMM)
		for _, pa := range l.Paths {
			st.PrintMM[pa.Tool] += pa.LengthMM()
			st.Paths[pa.Tool]++
		}
	}
	return st
}
