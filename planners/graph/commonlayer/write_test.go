package commonlayer

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sameGeometry compares two files layer by layer within tol mm.
func sameGeometry(t *testing.T, a, b *File, tol float64) {
	t.Helper()
	if len(a.Layers) != len(b.Layers) {
		t.Fatalf("layers %d vs %d", len(a.Layers), len(b.Layers))
	}
	near := func(x, y float64) bool { return math.Abs(x-y) <= tol }
	for i := range a.Layers {
		la, lb := &a.Layers[i], &b.Layers[i]
		if !near(la.ZMM, lb.ZMM) {
			t.Fatalf("layer %d z %v vs %v", i, la.ZMM, lb.ZMM)
		}
		if len(la.Polylines) != len(lb.Polylines) || len(la.Hatches) != len(lb.Hatches) {
			t.Fatalf("layer %d: %d/%d polylines, %d/%d hatches", i, len(la.Polylines), len(lb.Polylines), len(la.Hatches), len(lb.Hatches))
		}
		for k, p := range la.Polylines {
			q := lb.Polylines[k]
			if p.ID != q.ID || p.Dir != q.Dir || len(p.Points) != len(q.Points) || !sameParams(p.Params, q.Params) {
				t.Fatalf("layer %d polyline %d: id %d/%d dir %v/%v n %d/%d params %v/%v", i, k, p.ID, q.ID, p.Dir, q.Dir, len(p.Points), len(q.Points), p.Params, q.Params)
			}
			for m := range p.Points {
				if !near(p.Points[m].X, q.Points[m].X) || !near(p.Points[m].Y, q.Points[m].Y) {
					t.Fatalf("layer %d polyline %d point %d: %v vs %v", i, k, m, p.Points[m], q.Points[m])
				}
			}
		}
		for k, h := range la.Hatches {
			g := lb.Hatches[k]
			if h.ID != g.ID || len(h.Segments) != len(g.Segments) || !sameParams(h.Params, g.Params) {
				t.Fatalf("layer %d hatches %d differ", i, k)
			}
			for m, s := range h.Segments {
				r := g.Segments[m]
				if !near(s.A.X, r.A.X) || !near(s.A.Y, r.A.Y) || !near(s.B.X, r.B.X) || !near(s.B.Y, r.B.Y) {
					t.Fatalf("layer %d hatches %d segment %d: %v vs %v", i, k, m, s, r)
				}
			}
		}
	}
}

func geometryPart(b []byte) []byte {
	return b[bytes.Index(b, []byte("$$HEADEREND")):]
}

func sameParams(a, b []Param) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func roundTrip(t *testing.T, f *File, opts WriteOptions) (*File, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, f, opts); err != nil {
		t.Fatal(err)
	}
	g, err := Parse("roundtrip.cli", buf.Bytes())
	if err != nil {
		t.Fatalf("reading back: %v", err)
	}
	return g, buf.Bytes()
}

// largest |coordinate| in units, for the float32 tolerance
func maxAbsUnits(f *File) float64 {
	m := 0.0
	for i := range f.Layers {
		lo, hi, ok := f.Layers[i].Bounds()
		if ok {
			m = math.Max(m, math.Max(math.Max(-lo.X, -lo.Y), math.Max(hi.X, hi.Y)))
		}
		m = math.Max(m, math.Abs(f.Layers[i].ZMM))
	}
	return m / f.Header.UnitsMM
}

func stripParams(f *File) *File {
	c := *f
	c.Layers = make([]Layer, len(f.Layers))
	for i, l := range f.Layers {
		c.Layers[i].ZMM = l.ZMM
		for _, p := range l.Polylines {
			p.Params = nil
			c.Layers[i].Polylines = append(c.Layers[i].Polylines, p)
		}
		for _, h := range l.Hatches {
			h.Params = nil
			c.Layers[i].Hatches = append(c.Layers[i].Hatches, h)
		}
	}
	return &c
}

func TestRoundTripSamples(t *testing.T) {
	for _, s := range samples {
		f := readSample(t, s.file)
		u := f.Header.UnitsMM
		t.Run(s.file+"/ascii", func(t *testing.T) {
			a := *f
			a.Header.Encoding = ASCII
			g, out1 := roundTrip(t, &a, WriteOptions{})
			// ASCII keeps 6 decimals of a unit
			sameGeometry(t, f, g, 1e-6*u)
			if g.Header.Encoding != ASCII || g.Header.UnitsMM != u || len(g.Header.Labels) != len(f.Header.Labels) {
				t.Errorf("header %+v", g.Header)
			}
			// writing what we read is a fixed point
			_, out2 := roundTrip(t, g, WriteOptions{})
			if !bytes.Equal(out1, out2) {
				t.Error("second ASCII write differs from the first")
			}
		})
		t.Run(s.file+"/binary-long", func(t *testing.T) {
			b := *stripParams(f)
			b.Header.Encoding = Binary
			g, out1 := roundTrip(t, &b, WriteOptions{})
			// float32 keeps 24 bits
			sameGeometry(t, &b, g, maxAbsUnits(f)*u*math.Pow(2, -23))
			// the geometry is a fixed point after one round (the header's
			// $$DIMENSION is recomputed from the quantised geometry, so it
			// may differ in the last printed digit)
			g2, out2 := roundTrip(t, g, WriteOptions{})
			if !bytes.Equal(geometryPart(out1), geometryPart(out2)) {
				t.Error("second binary write differs from the first")
			}
			if _, out3 := roundTrip(t, g2, WriteOptions{}); !bytes.Equal(out2, out3) {
				t.Error("third binary write differs from the second")
			}
		})
		t.Run(s.file+"/binary-short", func(t *testing.T) {
			b := *stripParams(f)
			b.Header.Encoding = Binary
			var buf bytes.Buffer
			err := Write(&buf, &b, WriteOptions{Short16: true})
			if maxAbsUnits(f) > 32767 {
				if err == nil {
					t.Skip("coordinates need uint16")
				}
				t.Skipf("not representable in 16 bits: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			g, err := Parse("short.cli", buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			// one unit of quantisation (the binary samples are integral
			// already, so they come back exactly)
			tol := u / 2 * (1 + 1e-9)
			if s.enc == Binary {
				tol = 1e-9 * u
			}
			sameGeometry(t, f, g, tol)
		})
	}
}

// TestRoundTripSynthetic writes random geometry with every feature the
// format has and reads it back in both encodings.
func TestRoundTripSynthetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	f := &File{Header: Header{Encoding: ASCII, UnitsMM: 0.001, Labels: []Label{{1, "part one"}, {2, "part2"}}, Date: "240101", Extra: []string{"USERDATA/fabcell,3,abc"}}}
	for li := 0; li < 20; li++ {
		l := Layer{ZMM: 0.03 * float64(li+1)}
		for k := 0; k < 1+rng.IntN(4); k++ {
			n := 1 + rng.IntN(30)
			p := Polyline{ID: 1 + rng.IntN(2), Dir: Dir(rng.IntN(3))}
			for m := 0; m < n; m++ {
				p.Points = append(p.Points, Point{rng.Float64()*200 - 100, rng.Float64()*200 - 100})
			}
			if li >= 5 {
				p.Params = []Param{{"POWER", 100 + float64(li)}, {"SPEED", 800}}
			}
			l.Polylines = append(l.Polylines, p)
		}
		if li%3 == 0 {
			h := Hatches{ID: 1}
			for k := 0; k < rng.IntN(50); k++ {
				h.Segments = append(h.Segments, Segment{Point{rng.Float64() * 50, rng.Float64() * 50}, Point{rng.Float64() * 50, rng.Float64() * 50}})
			}
			if li >= 5 {
				h.Params = []Param{{"POWER", 100 + float64(li)}, {"SPEED", 800}}
			}
			l.Hatches = append(l.Hatches, h)
		}
		f.Layers = append(f.Layers, l)
	}
	f.Layers = append(f.Layers, Layer{ZMM: 1}) // an empty layer survives
	g, out := roundTrip(t, f, WriteOptions{})
	sameGeometry(t, f, g, 1e-9)
	if g.Header.Date != "240101" || len(g.Header.Labels) != 2 || g.Header.Labels[0].Text != "part one" || len(g.Header.Extra) != 1 {
		t.Errorf("header %+v", g.Header)
	}
	if !strings.Contains(string(out), "$$POWER/105\n") {
		t.Error("parameters not written")
	}
	b := stripParams(f)
	b.Header.Encoding = Binary
	g, _ = roundTrip(t, b, WriteOptions{})
	sameGeometry(t, b, g, 100/0.001*0.001*math.Pow(2, -23))
	b.Header.UnitsMM = 0.01 // ±100 mm = ±10000 units fits int16
	g, _ = roundTrip(t, b, WriteOptions{Short16: true})
	sameGeometry(t, b, g, 0.005*(1+1e-9))
}

func TestWriteErrors(t *testing.T) {
	base := func() *File {
		return &File{Header: Header{Encoding: Binary, UnitsMM: 0.01}, Layers: []Layer{{ZMM: 1,
			Polylines: []Polyline{{ID: 1, Dir: CounterClockwise, Points: []Point{{0, 0}, {1, 0}, {0, 1}, {0, 0}}}}}}}
	}
	cases := []struct {
		name string
		mod  func(f *File)
		opts WriteOptions
		msg  string
	}{
		{"no units", func(f *File) { f.Header.UnitsMM = 0 }, WriteOptions{}, "UnitsMM"},
		{"params in binary", func(f *File) { f.Layers[0].Polylines[0].Params = []Param{{"POWER", 1}} }, WriteOptions{}, "cannot carry vendor parameters"},
		{"short range", func(f *File) { f.Layers[0].Polylines[0].Points[1].X = 1000 }, WriteOptions{Short16: true}, "no 16-bit encoding"},
		{"short z", func(f *File) { f.Layers[0].ZMM = -1 }, WriteOptions{Short16: true}, "z -1 mm"},
		{"nan", func(f *File) { f.Layers[0].Polylines[0].Points[1].X = math.NaN(); f.Header.Encoding = ASCII }, WriteOptions{}, "not finite"},
		{"unset param", func(f *File) {
			f.Header.Encoding = ASCII
			f.Layers[0].Polylines[0].Params = []Param{{"POWER", 1}}
			f.Layers[0].Polylines = append(f.Layers[0].Polylines, f.Layers[0].Polylines[0])
			f.Layers[0].Polylines[1].Params = nil
		}, WriteOptions{}, "cannot be unset"},
		{"reserved param", func(f *File) { f.Header.Encoding = ASCII; f.Layers[0].Polylines[0].Params = []Param{{"LAYER", 1}} }, WriteOptions{}, "parameter name"},
		{"label newline", func(f *File) { f.Header.Labels = []Label{{1, "a\nb"}} }, WriteOptions{}, "line break"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := base()
			c.mod(f)
			err := Write(&bytes.Buffer{}, f, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("err %v, want %q", err, c.msg)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	f := readSample(t, "s_Cylinder_ex.cli")
	path := filepath.Join(t.TempDir(), "out.cli")
	if err := WriteFile(path, f, WriteOptions{Short16: true}); err != nil {
		t.Fatal(err)
	}
	g, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sameGeometry(t, f, g, 1e-12)
}

// TestWriteMatchesThirdPartyBinary: re-encoding the binary samples with
// 16-bit commands reproduces the original writer's geometry bytes exactly.
func TestWriteMatchesThirdPartyBinary(t *testing.T) {
	for _, s := range samples {
		if s.enc != Binary {
			continue
		}
		orig, err := os.ReadFile(filepath.Join("testdata", s.file))
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(s.file, orig)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Write(&buf, f, WriteOptions{Short16: true}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(geometryPart(buf.Bytes()), geometryPart(orig)) {
			t.Errorf("%s: geometry bytes differ from the original (%d vs %d bytes)", s.file, len(geometryPart(buf.Bytes())), len(geometryPart(orig)))
		}
	}
}
