package commonlayer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sample describes a testdata file with counts taken from
// shared/data/lpbf/SOURCES.md (checked there with an independent walker).
type sample struct {
	file          string
	enc           Encoding
	unitsMM       float64
	layers        int
	polylines     int
	openPolylines int
	hatchBlocks   int
	emptyLayers   int
}

var samples = []sample{
	{"frustrum_ASCII.cli", ASCII, 0.005, 100, 100, 0, 100, 0},
	{"Box_support_solid_ascii_with_params.cli", ASCII, 0.001, 1012, 910, 910, 0, 102},
	{"s_Cylinder_ex.cli", Binary, 0.01, 8, 233, 0, 0, 0},
	{"Lanze_bottomdown_20mm_onlyblocksupport_p_s.cli", Binary, 0.01, 82, 730, 730, 0, 0},
	{"s_MiniCooper_ex.cli", Binary, 0.01, 27, 1593, 0, 0, 0},
}

func readSample(t testing.TB, name string) *File {
	t.Helper()
	f, err := ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestReadSamples(t *testing.T) {
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			f := readSample(t, s.file)
			st := f.Stats()
			if f.Header.Encoding != s.enc || f.Header.UnitsMM != s.unitsMM {
				t.Errorf("header: %v units %v, want %v units %v", f.Header.Encoding, f.Header.UnitsMM, s.enc, s.unitsMM)
			}
			if st.Layers != s.layers || st.Polylines != s.polylines || st.OpenPolylines != s.openPolylines ||
				st.HatchBlocks != s.hatchBlocks || st.EmptyLayers != s.emptyLayers {
				t.Errorf("stats %+v, want layers %d polylines %d open %d hatches %d empty %d",
					st, s.layers, s.polylines, s.openPolylines, s.hatchBlocks, s.emptyLayers)
			}
			if f.Header.Layers != s.layers {
				t.Errorf("$$LAYERS = %d, file holds %d", f.Header.Layers, s.layers)
			}
			// Independent check of the decoding (units, signedness, float
			// layout): every coordinate must lie inside the header's
			// $$DIMENSION, which the writing software computed itself, to
			// within one unit; and the extremes must reach it.
			dim := f.Header.Dimension
			if dim == nil {
				t.Fatal("no $$DIMENSION")
			}
			var lo, hi Point
			first := true
			for i := range f.Layers {
				l := &f.Layers[i]
				a, b, ok := l.Bounds()
				if !ok {
					continue
				}
				if first {
					lo, hi, first = a, b, false
				}
				lo.X, lo.Y = math.Min(lo.X, a.X), math.Min(lo.Y, a.Y)
				hi.X, hi.Y = math.Max(hi.X, b.X), math.Max(hi.Y, b.Y)
			}
			tol := 1.01 * s.unitsMM
			got := [6]float64{lo.X, lo.Y, 0, hi.X, hi.Y, 0}
			for k := range got {
				if k == 2 || k == 5 {
					continue // z extent: see below
				}
				if math.Abs(got[k]-dim[k]) > tol {
					t.Errorf("geometry extent[%d] = %.5f mm, $$DIMENSION says %.5f mm", k, got[k], dim[k])
				}
			}
			// z: the non-empty layers span exactly the $$DIMENSION z range
			zlo, zhi := math.Inf(1), math.Inf(-1)
			for i := range f.Layers {
				if !f.Layers[i].Empty() {
					zlo, zhi = math.Min(zlo, f.Layers[i].ZMM), math.Max(zhi, f.Layers[i].ZMM)
				}
			}
			if math.Abs(zlo-dim[2]) > tol || math.Abs(zhi-dim[5]) > tol {
				t.Errorf("non-empty layers at z %.4f..%.4f mm, $$DIMENSION z %.4f..%.4f", zlo, zhi, dim[2], dim[5])
			}
		})
	}
}

func TestReadVendorParameters(t *testing.T) {
	f := readSample(t, "Box_support_solid_ascii_with_params.cli")
	// From the file text: "$$LAYER/3030, $$POWER/100.0, $$SPEED/200.0,
	// $$FOCUS/1.0, $$POLYLINE..."; "$$LAYER/3120, $$POWER/150.0";
	// "$$LAYER/3150, $$POWER/100.0, $$SPEED/100.0".
	want := map[float64][]Param{
		3.030: {{"FOCUS", 1}, {"POWER", 100}, {"SPEED", 200}},
		3.060: {{"FOCUS", 1}, {"POWER", 100}, {"SPEED", 200}},
		3.120: {{"FOCUS", 1}, {"POWER", 150}, {"SPEED", 200}},
		3.150: {{"FOCUS", 1}, {"POWER", 100}, {"SPEED", 100}},
	}
	found := 0
	for _, l := range f.Layers {
		for z, ps := range want {
			if math.Abs(l.ZMM-z) < 1e-9 {
				found++
				if len(l.Polylines) != 1 {
					t.Fatalf("z=%v: %d polylines", z, len(l.Polylines))
				}
				got := l.Polylines[0].Params
				if len(got) != len(ps) {
					t.Fatalf("z=%v: params %v, want %v", z, got, ps)
				}
				for i := range ps {
					if got[i] != ps[i] {
						t.Errorf("z=%v: params %v, want %v", z, got, ps)
					}
				}
			}
		}
	}
	if found != len(want) {
		t.Errorf("found %d of %d layers", found, len(want))
	}
	if f.Layers[0].ZMM != 0 || math.Abs(f.Layers[1].ZMM-0.030) > 1e-12 {
		t.Errorf("first layer heights %v %v, want 0 and 0.030 mm", f.Layers[0].ZMM, f.Layers[1].ZMM)
	}
}

func TestReadFrustrumFirstLayer(t *testing.T) {
	f := readSample(t, "frustrum_ASCII.cli")
	l := f.Layers[0]
	// "$$LAYER/20.0" × 0.005 mm; "$$POLYLINE/1,1,23,3984.00122,1971.80029,..."
	if math.Abs(l.ZMM-0.1) > 1e-12 {
		t.Errorf("z = %v, want 0.1 mm", l.ZMM)
	}
	p := l.Polylines[0]
	if p.ID != 1 || p.Dir != CounterClockwise || len(p.Points) != 23 {
		t.Fatalf("polyline id %d dir %v n %d", p.ID, p.Dir, len(p.Points))
	}
	if math.Abs(p.Points[0].X-3984.00122*0.005) > 1e-12 || math.Abs(p.Points[0].Y-1971.80029*0.005) > 1e-12 {
		t.Errorf("first point %v", p.Points[0])
	}
	if p.Points[0] != p.Points[22] {
		t.Errorf("contour not closed: %v vs %v", p.Points[0], p.Points[22])
	}
	if len(l.Hatches) != 1 || len(l.Hatches[0].Segments) != 39 {
		t.Errorf("hatches %d", len(l.Hatches))
	}
}

// binFile assembles a binary CLI from a header and little-endian fields.
func binFile(header string, fields ...any) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	for _, f := range fields {
		binary.Write(&b, binary.LittleEndian, f)
	}
	return b.Bytes()
}

const binHdr = "$$HEADERSTART\n$$BINARY\n$$UNITS/0.01\n$$VERSION/200\n$$LAYERS/1\n$$HEADEREND"

func TestReadErrors(t *testing.T) {
	ascii := func(geo string) []byte {
		return []byte("$$HEADERSTART\n$$ASCII\n$$UNITS/0.001\n$$HEADEREND\n$$GEOMETRYSTART\n" + geo)
	}
	cases := []struct {
		name     string
		data     []byte
		sentinel error
		msg      string
	}{
		{"empty", nil, ErrHeader, "empty file"},
		{"no header start", []byte("$$ASCII\n$$UNITS/1\n"), ErrHeader, "does not start with $$HEADERSTART"},
		{"no header end", []byte("$$HEADERSTART\n$$ASCII\n$$UNITS/1\n$$LAYER/1\n"), ErrHeader, "before $$HEADEREND"},
		{"no encoding", []byte("$$HEADERSTART\n$$UNITS/1\n$$HEADEREND\n"), ErrHeader, "neither $$ASCII nor $$BINARY"},
		{"no units", []byte("$$HEADERSTART\n$$ASCII\n$$HEADEREND\n"), ErrUnit, "no $$UNITS"},
		{"zero units", []byte("$$HEADERSTART\n$$ASCII\n$$UNITS/0\n$$HEADEREND\n"), ErrUnit, "$$UNITS/0"},
		{"bad dimension", []byte("$$HEADERSTART\n$$ASCII\n$$UNITS/1\n$$DIMENSION/1,2,3\n$$HEADEREND\n"), ErrHeader, "got 3 values"},
		{"bad layers", []byte("$$HEADERSTART\n$$ASCII\n$$UNITS/1\n$$LAYERS/-4\n$$HEADEREND\n"), ErrHeader, "$$LAYERS/-4"},
		{"aligned binary", []byte("$$HEADERSTART\n$$BINARY\n$$ALIGN\n$$UNITS/1\n$$HEADEREND"), ErrUnsupported, "$$ALIGN"},
		{"garbage", []byte("$$HEADERSTART\n$$ASCII\nhello\n$$UNITS/1\n$$HEADEREND\n"), ErrSyntax, `unexpected text "hello" after $$ASCII`},
		{"polyline before layer", ascii("$$POLYLINE/1,1,2,0,0,1,1\n$$GEOMETRYEND\n"), ErrSyntax, "before the first $$LAYER"},
		{"huge declared count", ascii("$$LAYER/1\n$$POLYLINE/1,1,2000000000,0,0,1,1\n$$GEOMETRYEND\n"), ErrSyntax, "declares 2000000000 points but holds 4"},
		{"odd coordinates", ascii("$$LAYER/1\n$$POLYLINE/1,1,2,0,0,1\n$$GEOMETRYEND\n"), ErrSyntax, "declares 2 points but holds 3"},
		{"bad dir", ascii("$$LAYER/1\n$$POLYLINE/1,7,1,0,0\n$$GEOMETRYEND\n"), ErrRange, "dir 7"},
		{"nan coordinate", ascii("$$LAYER/1\n$$POLYLINE/1,1,1,nan,0\n$$GEOMETRYEND\n"), ErrNonFinite, "not finite"},
		{"inf layer", ascii("$$LAYER/1e999\n$$GEOMETRYEND\n"), ErrNonFinite, "not finite"},
		{"word coordinate", ascii("$$LAYER/1\n$$POLYLINE/1,1,1,abc,0\n$$GEOMETRYEND\n"), ErrSyntax, `"abc" is not a number`},
		{"hatch count", ascii("$$LAYER/1\n$$HATCHES/1,3,0,0,1,1\n$$GEOMETRYEND\n"), ErrSyntax, "declares 3 hatches but holds 4"},
		{"missing end", ascii("$$LAYER/1\n$$POLYLINE/1,1,1,0,0\n"), ErrTruncated, "without $$GEOMETRYEND"},
		{"after end", ascii("$$GEOMETRYEND\n$$LAYER/1\n"), ErrSyntax, "after $$GEOMETRYEND"},
		{"binary unknown command", binFile(binHdr, uint16(128), uint16(5), uint16(200)), ErrSyntax, "unknown binary command index 200"},
		{"binary truncated points", binFile(binHdr, uint16(128), uint16(5), uint16(129), uint16(1), uint16(1), uint16(3), uint16(0), uint16(0)), ErrTruncated, "declares 3 points"},
		{"binary huge long count", binFile(binHdr, uint16(127), float32(1), uint16(130), int32(1), int32(1), int32(1<<30)), ErrTruncated, "declares 1073741824 points"},
		{"binary negative count", binFile(binHdr, uint16(127), float32(1), uint16(130), int32(1), int32(1), int32(-5)), ErrRange, "declares -5 points"},
		{"binary truncated header", binFile(binHdr, uint16(127), float32(1), uint16(130), int32(1)), ErrTruncated, "polyline header"},
		{"binary odd byte", append(binFile(binHdr, uint16(128), uint16(5)), 0x81), ErrTruncated, "command index"},
		{"binary nan", binFile(binHdr, uint16(127), float32(math.NaN())), ErrNonFinite, "not finite"},
		{"binary hatches before layer", binFile(binHdr, uint16(131), uint16(1), uint16(0)), ErrSyntax, "before the first layer"},
		{"binary bad dir", binFile(binHdr, uint16(128), uint16(5), uint16(129), uint16(1), uint16(9), uint16(0)), ErrRange, "dir 9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("x.cli", c.data)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, c.sentinel) {
				t.Errorf("error %v does not wrap %v", err, c.sentinel)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "x.cli") || !strings.Contains(msg, c.msg) || strings.Contains(msg, "\n") {
				t.Errorf("message %q: want one line starting with the file and containing %q", msg, c.msg)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("not an *Error: %T", err)
			}
		})
	}
}

func TestReadLineNumbers(t *testing.T) {
	data := "$$HEADERSTART\n$$ASCII\n$$UNITS/1\n$$HEADEREND\n$$GEOMETRYSTART\n$$LAYER/1\n$$POLYLINE/1,1,2,\n0,0,\n1,1\n$$POLYLINE/1,1,1,x,0\n$$GEOMETRYEND\n"
	_, err := Parse("f.cli", []byte(data))
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 10 {
		t.Fatalf("err %v, want line 10", err)
	}
	// continuation lines and comments are accepted
	data = "$$HEADERSTART // made by hand //\n$$ASCII\n$$UNITS/1\n$$HEADEREND\n$$GEOMETRYSTART\n$$LAYER/1 // first\n$$POLYLINE/1,1,2,\n0,0,\n1,1\n$$GEOMETRYEND\n"
	f, err := Parse("f.cli", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Layers[0].Polylines[0].Points; len(got) != 2 || got[1] != (Point{1, 1}) {
		t.Errorf("points %v", got)
	}
}

func TestReadBinaryLeadingNewlineAndSigned(t *testing.T) {
	// A header line ending before the binary data is tolerated; 16-bit
	// coordinates are read as int16 unless $$DIMENSION needs uint16.
	data := binFile("$$HEADERSTART\n$$BINARY\n$$UNITS/0.5\n$$HEADEREND\r\n",
		uint16(128), uint16(4), uint16(129), uint16(3), uint16(2), uint16(2), int16(-10), int16(7), int16(32767), int16(-32768))
	f, err := Parse("s.cli", data)
	if err != nil {
		t.Fatal(err)
	}
	p := f.Layers[0].Polylines[0]
	if f.Layers[0].ZMM != 2 || p.ID != 3 || p.Dir != Open || p.Points[0] != (Point{-5, 3.5}) || p.Points[1] != (Point{16383.5, -16384}) {
		t.Errorf("got z %v %+v", f.Layers[0].ZMM, p)
	}
	data = binFile("$$HEADERSTART\n$$BINARY\n$$UNITS/1\n$$DIMENSION/0,0,0,40000,10,0\n$$HEADEREND",
		uint16(128), uint16(0), uint16(129), uint16(1), uint16(2), uint16(1), uint16(40000), uint16(10))
	f, err = Parse("u.cli", data)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Header.ShortUnsigned || f.Layers[0].Polylines[0].Points[0] != (Point{40000, 10}) {
		t.Errorf("unsigned reading: %v %+v", f.Header.ShortUnsigned, f.Layers[0].Polylines[0].Points)
	}
}

func TestReadFileLimits(t *testing.T) {
	old := MaxFileBytes
	defer func() { MaxFileBytes = old }()
	MaxFileBytes = 100
	_, err := ReadFile(filepath.Join("testdata", "s_Cylinder_ex.cli"))
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("err %v, want ErrTooLarge", err)
	}
	if _, err := ReadFile(filepath.Join("testdata", "nope.cli")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err %v, want not exist", err)
	}
}

// FuzzParse checks that no input makes the reader panic or return a File
// with non-finite coordinates.
func FuzzParse(f *testing.F) {
	for _, s := range samples {
		data, err := os.ReadFile(filepath.Join("testdata", s.file))
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 4096 {
			data = data[:4096]
		}
		f.Add(data)
	}
	f.Add([]byte("$$HEADERSTART\n$$ASCII\n$$UNITS/1\n$$HEADEREND\n$$GEOMETRYSTART\n$$LAYER/1\n$$POLYLINE/1,1,3,0,0,1,0,0,1\n$$GEOMETRYEND\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.cli", data)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, l := range file.Layers {
			lo, hi, ok := l.Bounds()
			if ok && (math.IsNaN(lo.X+lo.Y+hi.X+hi.Y) || math.IsInf(lo.X+lo.Y+hi.X+hi.Y, 0)) {
				t.Fatalf("non-finite geometry %v %v", lo, hi)
			}
			if _, err := l.Rasterize(RasterOptions{SpacingMM: 0.5, MaxCells: 10000}); err != nil &&
				!errors.Is(err, ErrEmpty) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("rasterize: %v", err)
			}
		}
	})
}
