// Package clicheck is an independent reader and checker of the CLI files
// package lpbf emits, for tests only. It re-reads the bytes of an ASCII or
// binary CLI file ("Common Layer Interface (CLI) Version 2.0", header
// $$HEADERSTART … $$HEADEREND, ASCII commands or little-endian binary
// commands 127–132) without package commonlayer or the planner's
// structures, applies $$UNITS once, and checks the marked geometry of a
// layer against a mask given as a set of grid cells:
//
//   - every marked point (hatch segments, sampled every pitch/8, and every
//     polyline edge) lies in a part cell — closed cell, so a vector may run
//     along a cell edge but never over a powder cell or a hole;
//   - every part cell is melted exactly once under the documented
//     convention of package lpbf: a hatch is an axis-parallel segment from
//     the centre of its first cell to the centre of its last and melts the
//     cells whose centres it passes through (a zero-length hatch melts its
//     one cell);
//   - the laser is off between hatches (CLI hatches are independent marks;
//     polylines mark continuously and are counted as marks).
//
// It imports nothing of fabcell, so it cannot share a bug with the writer.
package clicheck

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Segment is one hatch as a reader sees it: mm after $$UNITS, with the
// vendor parameters in force ($$POWER W, $$SPEED mm/s; NaN when none).
type Segment struct {
	AX, AY, BX, BY   float64
	PowerW, SpeedMMS float64
}

// Len returns the segment length in mm.
func (s Segment) Len() float64 { return math.Hypot(s.BX-s.AX, s.BY-s.AY) }

// Layer is one $$LAYER.
type Layer struct {
	ZMM       float64
	Hatches   []Segment
	Polylines [][][2]float64
}

// File is a parsed CLI file.
type File struct {
	Binary     bool
	UnitsMM    float64
	Version    int
	LayersDecl int
	Dim        []float64 // $$DIMENSION x1,y1,z1,x2,y2,z2 in mm, nil if absent
	Labels     map[int]string
	Layers     []Layer
}

// Parse reads a CLI file from bytes, strictly: any command it does not
// know (apart from one-number vendor parameters in ASCII geometry) is an
// error, as it would be for a strict machine reader.
func Parse(data []byte) (*File, error) {
	const end = "$$HEADEREND"
	i := bytes.Index(data, []byte(end))
	if i < 0 {
		return nil, fmt.Errorf("no $$HEADEREND")
	}
	hdr := strings.Split(strings.ReplaceAll(string(data[:i]), "\r\n", "\n"), "\n")
	f := &File{Labels: map[int]string{}, LayersDecl: -1}
	if strings.TrimSpace(hdr[0]) != "$$HEADERSTART" {
		return nil, fmt.Errorf("first line %q, want $$HEADERSTART", hdr[0])
	}
	seen := map[string]bool{}
	for _, ln := range hdr[1:] {
		ln = strings.TrimSpace(ln)
		if ln == "" {
			continue
		}
		if !strings.HasPrefix(ln, "$$") {
			return nil, fmt.Errorf("header line %q is not a $$ command", ln)
		}
		cmd, arg, _ := strings.Cut(ln[2:], "/")
		seen[cmd] = true
		var err error
		switch cmd {
		case "ASCII":
		case "BINARY":
			f.Binary = true
		case "UNITS":
			f.UnitsMM, err = strconv.ParseFloat(arg, 64)
		case "VERSION":
			f.Version, err = strconv.Atoi(arg)
		case "LAYERS":
			f.LayersDecl, err = strconv.Atoi(arg)
		case "DATE":
		case "DIMENSION":
			for _, s := range strings.Split(arg, ",") {
				v, e := strconv.ParseFloat(s, 64)
				if e != nil {
					err = e
				}
				f.Dim = append(f.Dim, v)
			}
			if len(f.Dim) != 6 {
				err = fmt.Errorf("%d numbers", len(f.Dim))
			}
		case "LABEL":
			id, text, _ := strings.Cut(arg, ",")
			var n int
			n, err = strconv.Atoi(id)
			f.Labels[n] = text
		default:
			return nil, fmt.Errorf("unknown header command $$%s", cmd)
		}
		if err != nil {
			return nil, fmt.Errorf("header $$%s: %v", cmd, err)
		}
	}
	if seen["ASCII"] == seen["BINARY"] {
		return nil, fmt.Errorf("header needs exactly one of $$ASCII, $$BINARY")
	}
	for _, k := range []string{"UNITS", "VERSION", "LAYERS"} {
		if !seen[k] {
			return nil, fmt.Errorf("header has no $$%s", k)
		}
	}
	if !(f.UnitsMM > 0) {
		return nil, fmt.Errorf("$$UNITS/%v", f.UnitsMM)
	}
	// $$DIMENSION is in mm, not in units (CLI 2.0; the sample files agree)
	body := data[i+len(end):]
	var err error
	if f.Binary {
		err = f.parseBinary(body)
	} else {
		err = f.parseASCII(body)
	}
	if err != nil {
		return nil, err
	}
	if f.LayersDecl != len(f.Layers) {
		return nil, fmt.Errorf("$$LAYERS/%d but %d layers", f.LayersDecl, len(f.Layers))
	}
	return f, nil
}

func (f *File) parseASCII(body []byte) error {
	u := f.UnitsMM
	power, speed := math.NaN(), math.NaN()
	lines := strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n")
	if lines[0] != "" {
		return fmt.Errorf("text after $$HEADEREND on its line: %q", lines[0])
	}
	state := 0 // 0 before GEOMETRYSTART, 1 inside, 2 after GEOMETRYEND
	for n, ln := range lines[1:] {
		ln = strings.TrimSpace(ln)
		if ln == "" {
			continue
		}
		if state == 2 {
			return fmt.Errorf("line %d after $$GEOMETRYEND: %q", n+2, ln)
		}
		cmd, arg, _ := strings.Cut(strings.TrimPrefix(ln, "$$"), "/")
		if state == 0 {
			if ln != "$$GEOMETRYSTART" {
				return fmt.Errorf("want $$GEOMETRYSTART, got %q", ln)
			}
			state = 1
			continue
		}
		var nums []float64
		if arg != "" {
			for _, s := range strings.Split(arg, ",") {
				v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
				if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("line %d: $$%s: bad number %q", n+2, cmd, s)
				}
				nums = append(nums, v)
			}
		}
		switch cmd {
		case "GEOMETRYEND":
			state = 2
		case "LAYER":
			if len(nums) != 1 {
				return fmt.Errorf("line %d: $$LAYER wants one number", n+2)
			}
			f.Layers = append(f.Layers, Layer{ZMM: nums[0] * u})
		case "HATCHES":
			if len(f.Layers) == 0 || len(nums) < 2 || len(nums) != 2+4*int(nums[1]) {
				return fmt.Errorf("line %d: malformed $$HATCHES (%d numbers)", n+2, len(nums))
			}
			l := &f.Layers[len(f.Layers)-1]
			for k := 2; k < len(nums); k += 4 {
				l.Hatches = append(l.Hatches, Segment{nums[k] * u, nums[k+1] * u, nums[k+2] * u, nums[k+3] * u, power, speed})
			}
		case "POLYLINE":
			if len(f.Layers) == 0 || len(nums) < 3 || len(nums) != 3+2*int(nums[2]) {
				return fmt.Errorf("line %d: malformed $$POLYLINE", n+2)
			}
			var pts [][2]float64
			for k := 3; k < len(nums); k += 2 {
				pts = append(pts, [2]float64{nums[k] * u, nums[k+1] * u})
			}
			l := &f.Layers[len(f.Layers)-1]
			l.Polylines = append(l.Polylines, pts)
		case "POWER", "SPEED":
			if len(nums) != 1 {
				return fmt.Errorf("line %d: $$%s wants one number", n+2, cmd)
			}
			if cmd == "POWER" {
				power = nums[0]
			} else {
				speed = nums[0]
			}
		default:
			return fmt.Errorf("line %d: unknown command $$%s", n+2, cmd)
		}
	}
	if state != 2 {
		return fmt.Errorf("no $$GEOMETRYEND")
	}
	return nil
}

func (f *File) parseBinary(b []byte) error {
	u := f.UnitsMM
	le := binary.LittleEndian
	off := 0
	need := func(n int) error {
		if off+n > len(b) {
			return fmt.Errorf("binary: truncated at byte %d (need %d)", off, n)
		}
		return nil
	}
	u16 := func() int { v := le.Uint16(b[off:]); off += 2; return int(v) }
	i32 := func() int { v := int32(le.Uint32(b[off:])); off += 4; return int(v) }
	f32 := func() float64 { v := math.Float32frombits(le.Uint32(b[off:])); off += 4; return float64(v) }
	for off < len(b) {
		if err := need(2); err != nil {
			return err
		}
		at := off
		cmd := u16()
		switch cmd {
		case 127, 128:
			if err := need(map[int]int{127: 4, 128: 2}[cmd]); err != nil {
				return err
			}
			z := 0.0
			if cmd == 127 {
				z = f32()
			} else {
				z = float64(u16())
			}
			f.Layers = append(f.Layers, Layer{ZMM: z * u})
		case 132, 131:
			long := cmd == 132
			if len(f.Layers) == 0 {
				return fmt.Errorf("binary: hatches before a layer at byte %d", at)
			}
			var n int
			if long {
				if err := need(8); err != nil {
					return err
				}
				_, n = i32(), i32()
			} else {
				if err := need(4); err != nil {
					return err
				}
				_, n = u16(), u16()
			}
			w := 2
			if long {
				w = 4
			}
			if n < 0 || need(n*4*w) != nil {
				return fmt.Errorf("binary: hatches at byte %d declare %d segments, file too short", at, n)
			}
			l := &f.Layers[len(f.Layers)-1]
			for range n {
				var v [4]float64
				for k := range v {
					if long {
						v[k] = f32() * u
					} else {
						v[k] = float64(int16(u16())) * u
					}
				}
				l.Hatches = append(l.Hatches, Segment{v[0], v[1], v[2], v[3], math.NaN(), math.NaN()})
			}
		case 130, 129:
			long := cmd == 130
			if len(f.Layers) == 0 {
				return fmt.Errorf("binary: polyline before a layer at byte %d", at)
			}
			var n int
			if long {
				if err := need(12); err != nil {
					return err
				}
				_, _, n = i32(), i32(), i32()
			} else {
				if err := need(6); err != nil {
					return err
				}
				_, _, n = u16(), u16(), u16()
			}
			w := 2
			if long {
				w = 4
			}
			if n < 0 || need(n*2*w) != nil {
				return fmt.Errorf("binary: polyline at byte %d declares %d points, file too short", at, n)
			}
			var pts [][2]float64
			for range n {
				if long {
					pts = append(pts, [2]float64{f32() * u, f32() * u})
				} else {
					pts = append(pts, [2]float64{float64(int16(u16())) * u, float64(int16(u16())) * u})
				}
			}
			l := &f.Layers[len(f.Layers)-1]
			l.Polylines = append(l.Polylines, pts)
		default:
			return fmt.Errorf("binary: unknown command %d at byte %d (big-endian or garbage?)", cmd, at)
		}
	}
	return nil
}

// Cell is a global grid cell: it covers [Col·p, (Col+1)·p) × [Row·p,
// (Row+1)·p) mm and its centre is ((Col+0.5)·p, (Row+0.5)·p).
type Cell struct{ Col, Row int }

// Mask is the part of one layer: a set of cells of pitch PitchMM.
type Mask struct {
	PitchMM float64
	In      map[Cell]bool
}

// CellOf returns the cell containing (x, y) mm.
func (m Mask) CellOf(x, y float64) Cell {
	return Cell{int(math.Floor(x / m.PitchMM)), int(math.Floor(y / m.PitchMM))}
}

// inClosed reports whether (x, y) lies in a closed part cell (within tol
// of one).
func (m Mask) inClosed(x, y, tol float64) bool {
	p := m.PitchMM
	for _, dx := range [3]float64{0, -tol, tol} {
		for _, dy := range [3]float64{0, -tol, tol} {
			if m.In[m.CellOf(x+dx, y+dy)] {
				// the point is within tol of this cell's closure
				c := m.CellOf(x+dx, y+dy)
				if x >= float64(c.Col)*p-tol && x <= float64(c.Col+1)*p+tol && y >= float64(c.Row)*p-tol && y <= float64(c.Row+1)*p+tol {
					return true
				}
			}
		}
	}
	return false
}

// Report is what Check found on one layer.
type Report struct {
	Problems   []string
	Exposures  map[Cell]int
	ZeroLength int     // hatches of zero length (single-cell exposures)
	MarkMM     float64 // Σ hatch lengths
	LaserOffMM float64 // Σ distances between consecutive hatches
	Hatches    int
}

func (r *Report) addf(format string, args ...any) {
	if len(r.Problems) < 20 {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	} else if len(r.Problems) == 20 {
		r.Problems = append(r.Problems, "...")
	}
}

// Err joins the problems, nil if there are none.
func (r *Report) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	return fmt.Errorf("%d+ problems:\n  %s", len(r.Problems), strings.Join(r.Problems, "\n  "))
}

// Check checks the marks of layer l against mask m (package comment).
func Check(l Layer, m Mask) *Report {
	r := &Report{Exposures: map[Cell]int{}, Hatches: len(l.Hatches)}
	p := m.PitchMM
	tol := 1e-4 * p
	for i, pl := range l.Polylines {
		r.addf("polyline %d (%d points): the writer emits hatches only; a polyline marks between its points", i, len(pl))
	}
	for i, s := range l.Hatches {
		L := s.Len()
		r.MarkMM += L
		if i > 0 {
			q := l.Hatches[i-1]
			r.LaserOffMM += math.Hypot(s.AX-q.BX, s.AY-q.BY)
		}
		// every marked point in a part cell
		n := int(math.Ceil(L/(p/8))) + 1
		for k := 0; k <= n; k++ {
			t := float64(k) / float64(n)
			x, y := s.AX+t*(s.BX-s.AX), s.AY+t*(s.BY-s.AY)
			if !m.inClosed(x, y, tol) {
				r.addf("hatch %d (%.6g,%.6g)->(%.6g,%.6g) marks (%.6g,%.6g) mm, cell %v, outside the part", i, s.AX, s.AY, s.BX, s.BY, x, y, m.CellOf(x, y))
				break
			}
		}
		// the exposed cells: centres on the segment
		ca, okA := centre(s.AX, s.AY, p, tol)
		cb, okB := centre(s.BX, s.BY, p, tol)
		if !okA || !okB {
			r.addf("hatch %d (%.6g,%.6g)->(%.6g,%.6g): an end is not a cell centre of the %g mm grid", i, s.AX, s.AY, s.BX, s.BY, p)
			continue
		}
		if ca.Col != cb.Col && ca.Row != cb.Row {
			r.addf("hatch %d %v->%v is not axis-parallel", i, ca, cb)
			continue
		}
		if ca == cb {
			r.ZeroLength++
		}
		dc, dr := sign(cb.Col-ca.Col), sign(cb.Row-ca.Row)
		for c := ca; ; c = (Cell{c.Col + dc, c.Row + dr}) {
			r.Exposures[c]++
			if c == cb {
				break
			}
		}
	}
	var cells []Cell
	for c := range m.In {
		cells = append(cells, c)
	}
	for c := range r.Exposures {
		if !m.In[c] {
			cells = append(cells, c)
		}
	}
	sort.Slice(cells, func(a, b int) bool {
		if cells[a].Row != cells[b].Row {
			return cells[a].Row < cells[b].Row
		}
		return cells[a].Col < cells[b].Col
	})
	for _, c := range cells {
		n := r.Exposures[c]
		switch {
		case m.In[c] && n == 0:
			r.addf("part cell %v is never melted", c)
		case m.In[c] && n > 1:
			r.addf("part cell %v is melted %d times", c, n)
		case !m.In[c] && n > 0:
			r.addf("powder cell %v is melted %d times", c, n)
		}
	}
	return r
}

func centre(x, y, p, tol float64) (Cell, bool) {
	c, r := math.Round(x/p-0.5), math.Round(y/p-0.5)
	ok := math.Abs(x-(c+0.5)*p) <= tol && math.Abs(y-(r+0.5)*p) <= tol
	return Cell{int(c), int(r)}, ok
}

func sign(x int) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// ScanTimeS recomputes the mark/jump time estimate of package lpbf's
// documentation from the hatches as read: Σ(length/speed + markDelay) +
// Σ_gaps(distance/jumpSpeed + jumpDelay).
func ScanTimeS(l Layer, speedMMS, jumpMMS, markDelayS, jumpDelayS float64) float64 {
	t := 0.0
	for i, s := range l.Hatches {
		t += s.Len()/speedMMS + markDelayS
		if i > 0 {
			q := l.Hatches[i-1]
			t += math.Hypot(s.AX-q.BX, s.AY-q.BY)/jumpMMS + jumpDelayS
		}
	}
	return t
}

// MaskFromRows builds a mask from picture rows (top row first, '#' = part)
// placed as a PNG of pitch p is by package graph: image pixel (col, row)
// is the global cell (col, H−1−row).
func MaskFromRows(p float64, rows []string) Mask {
	m := Mask{PitchMM: p, In: map[Cell]bool{}}
	H := len(rows)
	for row, s := range rows {
		for col := 0; col < len(s); col++ {
			if s[col] == '#' {
				m.In[Cell{col, H - 1 - row}] = true
			}
		}
	}
	return m
}

// PointInPolygons is the even-odd rule over closed contours (mm).
func PointInPolygons(x, y float64, polys [][][2]float64) bool {
	in := false
	for _, pl := range polys {
		n := len(pl)
		for i, j := 0, n-1; i < n; j, i = i, i+1 {
			xi, yi, xj, yj := pl[i][0], pl[i][1], pl[j][0], pl[j][1]
			if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
				in = !in
			}
		}
	}
	return in
}

// Expect are the laser settings the file must carry.
type Expect struct {
	PowerW, SpeedMMS float64
}

// Verify parses one emitted single-layer CLI file and checks it: header
// ($$VERSION/200, $$LAYERS/1, $$DIMENSION enclosing every mark), laser
// parameters (ASCII: $$POWER/$$SPEED in force at every hatch; binary: the
// part label names power_w= and scan_speed_mm_s=), and the marks against
// m (Check). The parse error, if any, is returned as err; problems are in
// the report.
func Verify(data []byte, m Mask, e Expect) (*File, *Report, error) {
	f, err := Parse(data)
	if err != nil {
		return nil, nil, err
	}
	if len(f.Layers) != 1 {
		return f, nil, fmt.Errorf("%d layers, want 1", len(f.Layers))
	}
	l := f.Layers[0]
	r := Check(l, m)
	if f.Version != 200 {
		r.addf("$$VERSION/%d, want 200 (CLI 2.0)", f.Version)
	}
	if f.Dim == nil {
		r.addf("no $$DIMENSION")
	} else {
		tol := 1e-6
		for i, s := range l.Hatches {
			for _, q := range [2][2]float64{{s.AX, s.AY}, {s.BX, s.BY}} {
				if q[0] < f.Dim[0]-tol || q[0] > f.Dim[3]+tol || q[1] < f.Dim[1]-tol || q[1] > f.Dim[4]+tol {
					r.addf("hatch %d end (%g,%g) outside $$DIMENSION %v", i, q[0], q[1], f.Dim)
				}
			}
		}
		if l.ZMM < f.Dim[2]-tol || l.ZMM > f.Dim[5]+tol {
			r.addf("layer z %g outside $$DIMENSION %v", l.ZMM, f.Dim)
		}
	}
	label := ""
	for _, t := range f.Labels {
		label = t
	}
	want := []string{fmt.Sprintf("power_w=%g", e.PowerW), fmt.Sprintf("scan_speed_mm_s=%g", e.SpeedMMS)}
	for _, w := range want {
		if !strings.Contains(" "+label+" ", " "+w+" ") {
			r.addf("part label %q does not name %s", label, w)
		}
	}
	if !f.Binary {
		for i, s := range l.Hatches {
			if s.PowerW != e.PowerW || s.SpeedMMS != e.SpeedMMS {
				r.addf("hatch %d marks at %v W, %v mm/s; want %v W, %v mm/s", i, s.PowerW, s.SpeedMMS, e.PowerW, e.SpeedMMS)
				break
			}
		}
	}
	return f, r, nil
}
