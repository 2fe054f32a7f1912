// Package commonlayer reads and writes Common Layer Interface (CLI) files,
// the layer format of powder-bed machines ("Common Layer Interface (CLI)
// Version 2.0", BRITE-EURAM 1994; summary in shared/data/lpbf/SOURCES.md),
// in both encodings, and rasterises a layer onto a square grid.
//
// # File model
//
// A CLI file is an ASCII header ($$HEADERSTART … $$HEADEREND) followed by
// geometry, either ASCII commands ($$LAYER/z, $$POLYLINE/id,dir,n,x1,y1,…,
// $$HATCHES/id,n,x1s,y1s,x1e,y1e,…) or little-endian binary commands (uint16
// command index 127 layer-long, 128 layer-short, 129 polyline-short,
// 130 polyline-long, 131 hatches-short, 132 hatches-long). Every coordinate
// in the file is an integer or real number of "units"; $$UNITS gives the
// size of one unit in millimetres. This package converts once, at the wire:
// all coordinates in File, Layer, Polyline and Hatches are millimetres in
// the build frame (x, y in the layer plane, z up).
//
// Vendor lines such as $$POWER/100.0, $$SPEED/200.0 or $$FOCUS/1.0 inside
// the geometry (OpenVectorFormat's "marking parameters" extension) are
// tolerated: a vendor command with exactly one numeric argument sets a
// parameter that stays in force, across layers, until it is set again, and
// every following polyline or hatch block carries the parameter set in
// force (Params). Their units are whatever the vendor defines; this package
// does not interpret them. Vendor commands with other arguments are counted
// in File.Skipped and otherwise ignored.
//
// Errors are *Error values with a one-line message "FILE:LINE: problem"
// (ASCII) or "FILE: byte OFFSET: problem" (binary) that wrap one of the
// package sentinels (ErrSyntax, ErrTruncated, ErrHeader, ErrUnit, ErrRange,
// ErrTooLarge, ErrUnsupported, ErrEmpty). No count declared in a file is
// trusted for allocation: a polyline that declares more points than the
// file holds is an error before anything is allocated.
package commonlayer

import (
	"errors"
	"fmt"
	"math"
)

// Encoding is the geometry encoding of a CLI file.
type Encoding int

const (
	// ASCII geometry: one $$COMMAND/args per command.
	ASCII Encoding = iota
	// Binary geometry: little-endian commands after $$HEADEREND.
	Binary
)

func (e Encoding) String() string {
	if e == Binary {
		return "binary"
	}
	return "ascii"
}

// Dir is the orientation of a polyline as defined by CLI 2.0, seen looking
// down the negative z axis.
type Dir int

const (
	// Clockwise is an internal (hole) contour.
	Clockwise Dir = 0
	// CounterClockwise is an external contour.
	CounterClockwise Dir = 1
	// Open is an open line (no solid), e.g. a support wall scanned as a
	// single track.
	Open Dir = 2
)

func (d Dir) String() string {
	switch d {
	case Clockwise:
		return "cw"
	case CounterClockwise:
		return "ccw"
	case Open:
		return "open"
	}
	return fmt.Sprintf("Dir(%d)", int(d))
}

// Closed reports whether d denotes a closed contour (an area boundary).
func (d Dir) Closed() bool { return d == Clockwise || d == CounterClockwise }

// Point is a position in the layer plane, in millimetres.
type Point struct{ X, Y float64 }

// Segment is one hatch vector from A to B (mm).
type Segment struct{ A, B Point }

// Param is one vendor parameter in force for a vector block, e.g.
// {Name: "POWER", Value: 100}. Units are vendor-defined.
type Param struct {
	Name  string
	Value float64
}

// Polyline is a $$POLYLINE / command 129 or 130. ID is the part (label)
// id. A closed contour's last point equals its first in a well-formed file;
// the rasteriser closes it implicitly when it does not.
type Polyline struct {
	ID     int
	Dir    Dir
	Points []Point // mm
	// Params are the vendor parameters in force (sorted by Name), nil if
	// the file sets none. The slice is shared between blocks; do not modify.
	Params []Param
}

// Hatches is a $$HATCHES block / command 131 or 132: independent scan
// vectors of part ID.
type Hatches struct {
	ID       int
	Segments []Segment // mm
	Params   []Param
}

// Layer is one $$LAYER: its height and geometry in file order.
type Layer struct {
	ZMM       float64
	Polylines []Polyline
	Hatches   []Hatches
}

// Empty reports whether the layer holds no geometry.
func (l *Layer) Empty() bool { return len(l.Polylines) == 0 && len(l.Hatches) == 0 }

// Label is a $$LABEL/id,text header entry naming a part.
type Label struct {
	ID   int
	Text string
}

// Header holds the $$HEADERSTART … $$HEADEREND section.
type Header struct {
	Encoding Encoding
	// UnitsMM is $$UNITS: the size of one coordinate unit in millimetres.
	UnitsMM float64
	// Version is $$VERSION as written (200 = v2.00); 0 if absent.
	Version int
	// Date is $$DATE as written (often ddmmyy); "" if absent.
	Date string
	// Dimension is $$DIMENSION/x1,y1,z1,x2,y2,z2 in mm, nil if absent.
	Dimension *[6]float64
	// Layers is $$LAYERS as declared (0 if absent). It is informative only;
	// File.Layers holds what the file actually contains.
	Layers int
	Labels []Label
	// ShortUnsigned tells how the 16-bit coordinates of binary commands 129
	// and 131 are read. CLI 2.0 calls them unsigned, but real files (the
	// OpenVectorFormatTools samples, e.g. s_Cylinder_ex.cli, whose
	// $$DIMENSION has x from -4.94 mm) store two's-complement int16. The
	// reader therefore reads them signed, unless $$DIMENSION is all
	// non-negative and exceeds 32767 units, which only the unsigned reading
	// can represent. Layer heights (command 128) are always unsigned.
	ShortUnsigned bool
	// Align is $$ALIGN (binary data aligned to 4 bytes). Reading an aligned
	// binary file is not supported.
	Align bool
	// Extra keeps other header lines verbatim without "$$" (e.g.
	// "USERDATA/…"); Write writes them back.
	Extra []string
}

// File is a parsed CLI file.
type File struct {
	Header Header
	Layers []Layer
	// Skipped counts geometry commands that were tolerated but not used
	// (vendor lines that are not a single number), by name.
	Skipped map[string]int
}

// Sentinel errors wrapped by *Error.
var (
	ErrSyntax      = errors.New("syntax error")
	ErrTruncated   = errors.New("truncated file")
	ErrHeader      = errors.New("broken header")
	ErrUnit        = errors.New("bad units")
	ErrRange       = errors.New("value out of range")
	ErrNonFinite   = errors.New("non-finite number")
	ErrTooLarge    = errors.New("exceeds size limit")
	ErrUnsupported = errors.New("unsupported feature")
	ErrEmpty       = errors.New("nothing to rasterise")
)

// Error locates a problem in a CLI file. Line is 1-based for ASCII text
// (header or geometry); Offset is the byte offset of a binary command.
type Error struct {
	File   string
	Line   int   // 0 = not a text location
	Offset int64 // -1 = not a binary location
	Msg    string
	Err    error // one of the sentinels
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.Offset >= 0:
		return fmt.Sprintf("%s: byte %d: %s", e.File, e.Offset, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

func lineErr(file string, line int, sentinel error, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Offset: -1, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

func offErr(file string, off int64, sentinel error, format string, args ...any) *Error {
	return &Error{File: file, Offset: off, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

func fileErr(file string, sentinel error, format string, args ...any) *Error {
	return &Error{File: file, Offset: -1, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// Bounds returns the x/y bounding box (mm) of all geometry in the layer;
// ok is false for an empty layer.
func (l *Layer) Bounds() (lo, hi Point, ok bool) {
	lo = Point{math.Inf(1), math.Inf(1)}
	hi = Point{math.Inf(-1), math.Inf(-1)}
	add := func(p Point) {
		lo.X, lo.Y = math.Min(lo.X, p.X), math.Min(lo.Y, p.Y)
		hi.X, hi.Y = math.Max(hi.X, p.X), math.Max(hi.Y, p.Y)
		ok = true
	}
	for _, p := range l.Polylines {
		for _, q := range p.Points {
			add(q)
		}
	}
	for _, h := range l.Hatches {
		for _, s := range h.Segments {
			add(s.A)
			add(s.B)
		}
	}
	return lo, hi, ok
}

// Stats summarises a file's geometry.
type Stats struct {
	Layers, EmptyLayers        int
	Polylines, OpenPolylines   int
	HatchBlocks, HatchSegments int
	Points                     int
	MinZMM, MaxZMM             float64
	ParamNames                 []string
}

// Stats counts layers, polylines, hatches and points.
func (f *File) Stats() Stats {
	s := Stats{Layers: len(f.Layers), MinZMM: math.Inf(1), MaxZMM: math.Inf(-1)}
	names := map[string]bool{}
	for i := range f.Layers {
		l := &f.Layers[i]
		if l.Empty() {
			s.EmptyLayers++
		}
		s.MinZMM = math.Min(s.MinZMM, l.ZMM)
		s.MaxZMM = math.Max(s.MaxZMM, l.ZMM)
		for _, p := range l.Polylines {
			s.Polylines++
			if p.Dir == Open {
				s.OpenPolylines++
			}
			s.Points += len(p.Points)
			for _, q := range p.Params {
				names[q.Name] = true
			}
		}
		for _, h := range l.Hatches {
			s.HatchBlocks++
			s.HatchSegments += len(h.Segments)
			for _, q := range h.Params {
				names[q.Name] = true
			}
		}
	}
	for n := range names {
		s.ParamNames = append(s.ParamNames, n)
	}
	sortStrings(s.ParamNames)
	if len(f.Layers) == 0 {
		s.MinZMM, s.MaxZMM = 0, 0
	}
	return s
}
