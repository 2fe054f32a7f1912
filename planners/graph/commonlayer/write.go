package commonlayer

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// WriteOptions tune Write. The zero value writes long binary commands
// (float32 coordinates) or ASCII numbers with six decimals of a unit.
type WriteOptions struct {
	// Short16 writes binary files with the 16-bit commands 128/129/131:
	// coordinates are rounded to whole units and written as int16 when all
	// fit in [-32768, 32767], else as uint16 when all fit in [0, 65535]
	// (see Header.ShortUnsigned); layer z must fit in [0, 65535] units and
	// ids/counts in 16 bits. Ignored for ASCII.
	Short16 bool
	// Date overrides Header.Date in the written header ("" = keep).
	Date string
}

// asciiDecimals is the number of decimals of a unit written in ASCII files
// (with $$UNITS/0.001 that is 1e-9 mm).
const asciiDecimals = 6

// WriteFile writes f to path atomically (temporary file + rename).
func WriteFile(path string, f *File, opts WriteOptions) error {
	tmp, err := os.CreateTemp(dirOf(path), ".cli-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := Write(tmp, f, opts); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func dirOf(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// Write encodes f in f.Header.Encoding with f.Header.UnitsMM. $$DIMENSION
// and $$LAYERS are computed from the geometry; the other header fields are
// written as given. Reading the output back yields the same geometry up to
// the quantisation of the encoding: 1e-6 unit for ASCII, float32 for long
// binary commands, one unit for Short16.
func Write(w io.Writer, f *File, opts WriteOptions) error {
	h := f.Header
	u := h.UnitsMM
	if !(u > 0) || math.IsInf(u, 0) {
		return fmt.Errorf("commonlayer: write: Header.UnitsMM = %v, want > 0 (mm per unit)", u)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if err := writeHeader(bw, f, opts); err != nil {
		return err
	}
	var err error
	if h.Encoding == Binary {
		err = writeBinary(bw, f, opts)
	} else {
		err = writeASCII(bw, f)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func fmtUnits(v float64) string {
	s := strconv.FormatFloat(v, 'f', asciiDecimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func writeHeader(w *bufio.Writer, f *File, opts WriteOptions) error {
	h := f.Header
	fmt.Fprintf(w, "$$HEADERSTART\n")
	if h.Encoding == Binary {
		fmt.Fprintf(w, "$$BINARY\n")
	} else {
		fmt.Fprintf(w, "$$ASCII\n")
	}
	fmt.Fprintf(w, "$$UNITS/%s\n", strconv.FormatFloat(h.UnitsMM, 'f', -1, 64))
	v := h.Version
	if v == 0 {
		v = 200
	}
	fmt.Fprintf(w, "$$VERSION/%d\n", v)
	for _, l := range h.Labels {
		if strings.ContainsAny(l.Text, "\n\r$") || strings.Contains(l.Text, "//") {
			return fmt.Errorf("commonlayer: write: label %d %q contains a line break, '$' or //", l.ID, l.Text)
		}
		fmt.Fprintf(w, "$$LABEL/%d,%s\n", l.ID, l.Text)
	}
	date := h.Date
	if opts.Date != "" {
		date = opts.Date
	}
	if date != "" {
		fmt.Fprintf(w, "$$DATE/%s\n", date)
	}
	if dim, ok := dimension(f); ok {
		fmt.Fprintf(w, "$$DIMENSION/%s\n", strings.Join(func() []string {
			s := make([]string, 6)
			for i, x := range dim {
				s[i] = strconv.FormatFloat(x, 'f', 6, 64)
			}
			return s
		}(), ","))
	}
	fmt.Fprintf(w, "$$LAYERS/%d\n", len(f.Layers))
	for _, x := range h.Extra {
		if strings.ContainsAny(x, "\n\r$") || strings.Contains(x, "//") {
			return fmt.Errorf("commonlayer: write: header line %q contains a line break, '$' or //", x)
		}
		fmt.Fprintf(w, "$$%s\n", x)
	}
	if h.Encoding == Binary {
		_, err := w.WriteString("$$HEADEREND")
		return err
	}
	_, err := w.WriteString("$$HEADEREND\n")
	return err
}

// dimension returns x1,y1,z1,x2,y2,z2 (mm) of all geometry.
func dimension(f *File) ([6]float64, bool) {
	var d [6]float64
	any := false
	for i := range f.Layers {
		l := &f.Layers[i]
		lo, hi, ok := l.Bounds()
		if !ok {
			continue
		}
		if !any {
			d = [6]float64{lo.X, lo.Y, l.ZMM, hi.X, hi.Y, l.ZMM}
			any = true
			continue
		}
		d[0], d[1], d[2] = math.Min(d[0], lo.X), math.Min(d[1], lo.Y), math.Min(d[2], l.ZMM)
		d[3], d[4], d[5] = math.Max(d[3], hi.X), math.Max(d[4], hi.Y), math.Max(d[5], l.ZMM)
	}
	return d, any
}

// paramWriter emits vendor parameter lines when the set in force changes.
type paramWriter struct {
	state map[string]float64
}

func (pw *paramWriter) emit(w *bufio.Writer, li int, params []Param) error {
	for n := range pw.state {
		found := false
		for _, p := range params {
			if p.Name == n {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("commonlayer: write: layer %d: parameter %s cannot be unset once written (CLI parameters persist)", li, n)
		}
	}
	for _, p := range params {
		if !validParamName(p.Name) {
			return fmt.Errorf("commonlayer: write: layer %d: parameter name %q: want letters, digits, '_'", li, p.Name)
		}
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			return fmt.Errorf("commonlayer: write: layer %d: parameter %s = %v is not finite", li, p.Name, p.Value)
		}
		if old, ok := pw.state[p.Name]; ok && old == p.Value {
			continue
		}
		if pw.state == nil {
			pw.state = map[string]float64{}
		}
		pw.state[p.Name] = p.Value
		fmt.Fprintf(w, "$$%s/%s\n", p.Name, strconv.FormatFloat(p.Value, 'f', -1, 64))
	}
	return nil
}

var reservedNames = map[string]bool{"LAYER": true, "POLYLINE": true, "HATCHES": true, "GEOMETRYSTART": true, "GEOMETRYEND": true,
	"HEADERSTART": true, "HEADEREND": true}

func validParamName(s string) bool {
	if s == "" || reservedNames[strings.ToUpper(s)] {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

func finitePt(p Point) bool {
	return !math.IsNaN(p.X) && !math.IsInf(p.X, 0) && !math.IsNaN(p.Y) && !math.IsInf(p.Y, 0)
}

func writeASCII(w *bufio.Writer, f *File) error {
	u := f.Header.UnitsMM
	var pw paramWriter
	w.WriteString("$$GEOMETRYSTART\n")
	for li := range f.Layers {
		l := &f.Layers[li]
		if math.IsNaN(l.ZMM) || math.IsInf(l.ZMM, 0) {
			return fmt.Errorf("commonlayer: write: layer %d: z is not finite", li)
		}
		fmt.Fprintf(w, "$$LAYER/%s\n", fmtUnits(l.ZMM/u))
		for pi, p := range l.Polylines {
			if !p.Dir.Closed() && p.Dir != Open {
				return fmt.Errorf("commonlayer: write: layer %d polyline %d: dir %d", li, pi, p.Dir)
			}
			if err := pw.emit(w, li, p.Params); err != nil {
				return err
			}
			fmt.Fprintf(w, "$$POLYLINE/%d,%d,%d", p.ID, p.Dir, len(p.Points))
			for _, q := range p.Points {
				if !finitePt(q) {
					return fmt.Errorf("commonlayer: write: layer %d polyline %d: point is not finite", li, pi)
				}
				w.WriteByte(',')
				w.WriteString(fmtUnits(q.X / u))
				w.WriteByte(',')
				w.WriteString(fmtUnits(q.Y / u))
			}
			w.WriteByte('\n')
		}
		for hi, h := range l.Hatches {
			if err := pw.emit(w, li, h.Params); err != nil {
				return err
			}
			fmt.Fprintf(w, "$$HATCHES/%d,%d", h.ID, len(h.Segments))
			for _, s := range h.Segments {
				if !finitePt(s.A) || !finitePt(s.B) {
					return fmt.Errorf("commonlayer: write: layer %d hatches %d: point is not finite", li, hi)
				}
				for _, v := range [4]float64{s.A.X, s.A.Y, s.B.X, s.B.Y} {
					w.WriteByte(',')
					w.WriteString(fmtUnits(v / u))
				}
			}
			w.WriteByte('\n')
		}
	}
	_, err := w.WriteString("$$GEOMETRYEND\n")
	return err
}

func writeBinary(w *bufio.Writer, f *File, opts WriteOptions) error {
	u := f.Header.UnitsMM
	le := binary.LittleEndian
	var buf [16]byte
	put16 := func(v uint16) { le.PutUint16(buf[:2], v); w.Write(buf[:2]) }
	put32 := func(v int32) { le.PutUint32(buf[:4], uint32(v)); w.Write(buf[:4]) }
	putF := func(v float32) { le.PutUint32(buf[:4], math.Float32bits(v)); w.Write(buf[:4]) }
	// 16-bit coordinates are written as int16 when they all fit, else as
	// uint16; the computed $$DIMENSION then tells the reader which (see
	// Header.ShortUnsigned). Layer z is always uint16.
	unsigned := false
	if opts.Short16 {
		if dim, ok := dimension(f); ok {
			lo, hi := math.Min(dim[0], dim[1])/u, math.Max(dim[3], dim[4])/u
			if math.Round(lo) < -32768 || math.Round(hi) > 32767 {
				if math.Round(lo) < 0 || math.Round(hi) > 65535 {
					return fmt.Errorf("commonlayer: write: coordinates span %v..%v units, which no 16-bit encoding holds; use long commands", lo, hi)
				}
				unsigned = true
			}
		}
	}
	shortXY := func(mm float64, what string, li int) (uint16, error) {
		v := math.Round(mm / u)
		if unsigned {
			if !(v >= 0 && v <= 65535) {
				return 0, fmt.Errorf("commonlayer: write: layer %d: %s %v mm is %v units, outside [0, 65535]; use long commands", li, what, mm, v)
			}
			return uint16(v), nil
		}
		if !(v >= -32768 && v <= 32767) {
			return 0, fmt.Errorf("commonlayer: write: layer %d: %s %v mm is %v units, outside [-32768, 32767]; use long commands", li, what, mm, v)
		}
		return uint16(int16(v)), nil
	}
	short := func(mm float64, what string, li int) (uint16, error) {
		v := math.Round(mm / u)
		if !(v >= 0 && v <= 65535) {
			return 0, fmt.Errorf("commonlayer: write: layer %d: %s %v mm is %v units, outside the 16-bit range [0, 65535]; use long commands", li, what, mm, v)
		}
		return uint16(v), nil
	}
	long := func(mm float64, what string, li int) (float32, error) {
		v := mm / u
		if math.IsNaN(v) || math.Abs(v) > math.MaxFloat32 {
			return 0, fmt.Errorf("commonlayer: write: layer %d: %s %v mm does not fit a float32", li, what, mm)
		}
		return float32(v), nil
	}
	fit := func(n int, li int, what string) error {
		if opts.Short16 && (n < 0 || n > 65535) || n < 0 || n > math.MaxInt32 {
			return fmt.Errorf("commonlayer: write: layer %d: %s %d does not fit the command", li, what, n)
		}
		return nil
	}
	for li := range f.Layers {
		l := &f.Layers[li]
		if opts.Short16 {
			z, err := short(l.ZMM, "z", li)
			if err != nil {
				return err
			}
			put16(cmdLayerShort)
			put16(z)
		} else {
			z, err := long(l.ZMM, "z", li)
			if err != nil {
				return err
			}
			put16(cmdLayerLong)
			putF(z)
		}
		for _, p := range l.Polylines {
			if len(p.Params) > 0 {
				return fmt.Errorf("commonlayer: write: layer %d: binary CLI cannot carry vendor parameters (%s); write ASCII", li, p.Params[0].Name)
			}
			if p.Dir < 0 || p.Dir > 2 {
				return fmt.Errorf("commonlayer: write: layer %d: polyline dir %d", li, p.Dir)
			}
			if err := fit(p.ID, li, "polyline id"); err != nil {
				return err
			}
			if err := fit(len(p.Points), li, "polyline point count"); err != nil {
				return err
			}
			if opts.Short16 {
				put16(cmdPolylineShort)
				put16(uint16(p.ID))
				put16(uint16(p.Dir))
				put16(uint16(len(p.Points)))
				for _, q := range p.Points {
					x, err := shortXY(q.X, "x", li)
					if err != nil {
						return err
					}
					y, err := shortXY(q.Y, "y", li)
					if err != nil {
						return err
					}
					put16(x)
					put16(y)
				}
			} else {
				put16(cmdPolylineLong)
				put32(int32(p.ID))
				put32(int32(p.Dir))
				put32(int32(len(p.Points)))
				for _, q := range p.Points {
					x, err := long(q.X, "x", li)
					if err != nil {
						return err
					}
					y, err := long(q.Y, "y", li)
					if err != nil {
						return err
					}
					putF(x)
					putF(y)
				}
			}
		}
		for _, h := range l.Hatches {
			if len(h.Params) > 0 {
				return fmt.Errorf("commonlayer: write: layer %d: binary CLI cannot carry vendor parameters (%s); write ASCII", li, h.Params[0].Name)
			}
			if err := fit(h.ID, li, "hatches id"); err != nil {
				return err
			}
			if err := fit(len(h.Segments), li, "hatch count"); err != nil {
				return err
			}
			if opts.Short16 {
				put16(cmdHatchesShort)
				put16(uint16(h.ID))
				put16(uint16(len(h.Segments)))
			} else {
				put16(cmdHatchesLong)
				put32(int32(h.ID))
				put32(int32(len(h.Segments)))
			}
			for _, s := range h.Segments {
				for _, v := range [4]float64{s.A.X, s.A.Y, s.B.X, s.B.Y} {
					if opts.Short16 {
						x, err := shortXY(v, "hatch coordinate", li)
						if err != nil {
							return err
						}
						put16(x)
					} else {
						x, err := long(v, "hatch coordinate", li)
						if err != nil {
							return err
						}
						putF(x)
					}
				}
			}
		}
	}
	return nil
}
