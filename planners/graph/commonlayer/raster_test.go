package commonlayer

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// pnpoly is W. R. Franklin's even-odd point-in-polygon test over several
// polygons (independent of the scan-line rasteriser).
func pnpoly(polys [][]Point, x, y float64) bool {
	in := false
	for _, ps := range polys {
		n := len(ps)
		for i, j := 0, n-1; i < n; j, i = i, i+1 {
			if (ps[i].Y > y) != (ps[j].Y > y) && x < (ps[j].X-ps[i].X)*(y-ps[i].Y)/(ps[j].Y-ps[i].Y)+ps[i].X {
				in = !in
			}
		}
	}
	return in
}

// winding is the winding number of the polygons around (x, y) (Sunday's
// crossing-with-direction form, same half-open convention as pnpoly).
func winding(polys [][]Point, x, y float64) int {
	w := 0
	for _, ps := range polys {
		n := len(ps)
		for i := 0; i < n; i++ {
			a, b := ps[i], ps[(i+1)%n]
			if (a.Y > y) != (b.Y > y) && x < (b.X-a.X)*(y-a.Y)/(b.Y-a.Y)+a.X {
				if b.Y > a.Y {
					w++
				} else {
					w--
				}
			}
		}
	}
	return w
}

// bruteCompare checks r against the brute-force classification of every
// cell centre of the global grid around the polygons.
func bruteCompare(t *testing.T, polys [][]Point, r *Raster, s float64, rule FillRule) {
	t.Helper()
	lo := Point{math.Inf(1), math.Inf(1)}
	hi := Point{math.Inf(-1), math.Inf(-1)}
	for _, ps := range polys {
		for _, p := range ps {
			lo.X, lo.Y, hi.X, hi.Y = math.Min(lo.X, p.X), math.Min(lo.Y, p.Y), math.Max(hi.X, p.X), math.Max(hi.Y, p.Y)
		}
	}
	count, bad, tie := 0, 0, 0
	for gr := int(math.Floor(lo.Y/s)) - 1; gr <= int(math.Floor(hi.Y/s))+1; gr++ {
		for gc := int(math.Floor(lo.X/s)) - 1; gc <= int(math.Floor(hi.X/s))+1; gc++ {
			x, y := (float64(gc)+0.5)*s, (float64(gr)+0.5)*s
			want := pnpoly(polys, x, y)
			if rule == NonZero {
				want = winding(polys, x, y) != 0
			}
			got := r != nil && r.Contains(r.Row0+r.Height-1-gr, gc-r.Col0)
			if want {
				count++
			}
			if got != want && onBoundary(polys, x, y, 1e-9) {
				// a centre exactly on an edge: either answer is right,
				// the two codes round the crossing differently
				tie++
				continue
			}
			if got != want {
				bad++
				if bad < 5 {
					t.Errorf("cell (%d,%d) centre (%.6f, %.6f): raster %v, brute force %v", gc, gr, x, y, got, want)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d cells differ", bad)
	}
	if tie > 0 {
		t.Logf("%d centres on an edge", tie)
	}
	if r != nil && (r.Cells < count-tie || r.Cells > count+tie) {
		t.Errorf("Cells = %d, brute force %d (±%d ties)", r.Cells, count, tie)
	}
}

// onBoundary reports whether (x, y) lies within eps of a polygon edge.
func onBoundary(polys [][]Point, x, y, eps float64) bool {
	for _, ps := range polys {
		n := len(ps)
		for i := 0; i < n; i++ {
			a, b := ps[i], ps[(i+1)%n]
			dx, dy := b.X-a.X, b.Y-a.Y
			t := 0.0
			if l2 := dx*dx + dy*dy; l2 > 0 {
				t = math.Max(0, math.Min(1, ((x-a.X)*dx+(y-a.Y)*dy)/l2))
			}
			if math.Hypot(a.X+t*dx-x, a.Y+t*dy-y) <= eps {
				return true
			}
		}
	}
	return false
}

func TestRasterRectangleExact(t *testing.T) {
	// [0,1]×[0,0.5] at 0.1 mm: centres 0.05..0.95 × 0.05..0.45 → 10×5.
	l := Layer{ZMM: 0.3, Polylines: []Polyline{{Dir: CounterClockwise, Points: []Point{{0, 0}, {1, 0}, {1, 0.5}, {0, 0.5}, {0, 0}}}}}
	r, err := l.Rasterize(RasterOptions{SpacingMM: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Cells != 50 || r.Width != 10 || r.Height != 5 || r.Col0 != 0 || r.Row0 != 0 || r.ZMM != 0.3 {
		t.Fatalf("raster %+v", r)
	}
	if c := r.Center(0, 0); math.Abs(c.X-0.05) > 1e-12 || math.Abs(c.Y-0.45) > 1e-12 {
		t.Errorf("top-left centre %v, want (0.05, 0.45)", c)
	}
	// a square hole [0.2,0.4]² in the middle removes 2×2 cells
	l.Polylines = append(l.Polylines, Polyline{Dir: Clockwise, Points: []Point{{0.2, 0.2}, {0.2, 0.4}, {0.4, 0.4}, {0.4, 0.2}}})
	for _, rule := range []FillRule{EvenOdd, NonZero} {
		r, err = l.Rasterize(RasterOptions{SpacingMM: 0.1, Rule: rule})
		if err != nil {
			t.Fatal(err)
		}
		if r.Cells != 46 || r.Contains(1, 2) || !r.Contains(1, 1) {
			t.Errorf("%v: %d cells, want 46 with a hole", rule, r.Cells)
		}
	}
}

func randomPolygon(rng *rand.Rand, cx, cy, rmax float64, n int, star bool) []Point {
	ps := make([]Point, n)
	for i := range ps {
		if star {
			a := 2 * math.Pi * (float64(i) + rng.Float64()*0.9) / float64(n)
			r := rmax * (0.2 + 0.8*rng.Float64())
			ps[i] = Point{cx + r*math.Cos(a), cy + r*math.Sin(a)}
		} else {
			ps[i] = Point{cx + rmax*(2*rng.Float64()-1), cy + rmax*(2*rng.Float64()-1)}
		}
	}
	return ps
}

func TestRasterMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 60; trial++ {
		var l Layer
		var polys [][]Point
		for k := 0; k < 1+rng.IntN(4); k++ {
			ps := randomPolygon(rng, rng.Float64()*4-2, rng.Float64()*4-2, 0.3+rng.Float64()*2, 3+rng.IntN(25), trial%2 == 0)
			if rng.IntN(2) == 0 {
				ps = append(ps, ps[0]) // explicitly closed
			}
			polys = append(polys, ps)
			l.Polylines = append(l.Polylines, Polyline{Dir: Dir(rng.IntN(2)), Points: ps})
		}
		s := 0.02 + rng.Float64()*0.1
		for _, rule := range []FillRule{EvenOdd, NonZero} {
			r, err := l.Rasterize(RasterOptions{SpacingMM: s, Rule: rule})
			if errors.Is(err, ErrEmpty) {
				r = nil
			} else if err != nil {
				t.Fatal(err)
			}
			bruteCompare(t, polys, r, s, rule)
		}
	}
}

func TestRasterSampleLayersMatchBruteForce(t *testing.T) {
	for _, c := range []struct {
		file  string
		layer int
	}{{"frustrum_ASCII.cli", 0}, {"frustrum_ASCII.cli", 99}, {"s_MiniCooper_ex.cli", 13}, {"s_Cylinder_ex.cli", 4}} {
		f := readSample(t, c.file)
		var polys [][]Point
		for _, p := range f.Layers[c.layer].Polylines {
			polys = append(polys, p.Points)
		}
		r, err := f.Rasterize(c.layer, RasterOptions{SpacingMM: 0.05})
		if err != nil {
			t.Fatal(err)
		}
		bruteCompare(t, polys, r, 0.05, EvenOdd)
	}
}

func TestTraverse4Connected(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := 0.05
	for trial := 0; trial < 2000; trial++ {
		a := Point{rng.Float64()*4 - 2, rng.Float64()*4 - 2}
		b := Point{rng.Float64()*4 - 2, rng.Float64()*4 - 2}
		switch trial % 4 {
		case 1: // exactly on grid lines and corners
			a = Point{float64(rng.IntN(40)-20) * s, float64(rng.IntN(40)-20) * s}
			b = Point{float64(rng.IntN(40)-20) * s, float64(rng.IntN(40)-20) * s}
		case 2: // axis-aligned
			b.Y = a.Y
		case 3: // short
			b = Point{a.X + rng.Float64()*s, a.Y - rng.Float64()*s}
		}
		var cells [][2]int
		traverse(a, b, s, func(c, r int) { cells = append(cells, [2]int{c, r}) })
		first := [2]int{int(math.Floor(a.X / s)), int(math.Floor(a.Y / s))}
		last := [2]int{int(math.Floor(b.X / s)), int(math.Floor(b.Y / s))}
		if cells[0] != first || cells[len(cells)-1] != last {
			t.Fatalf("%v→%v: starts %v ends %v, want %v %v", a, b, cells[0], cells[len(cells)-1], first, last)
		}
		set := map[[2]int]bool{}
		for i, c := range cells {
			set[c] = true
			if i > 0 {
				d := math.Abs(float64(c[0]-cells[i-1][0])) + math.Abs(float64(c[1]-cells[i-1][1]))
				if d != 1 {
					t.Fatalf("%v→%v: step %v→%v is not a 4-neighbour step", a, b, cells[i-1], c)
				}
			}
			// every cell touches the segment (closed cell, 1e-9 slack)
			if !segmentHitsBox(a, b, float64(c[0])*s-1e-9, float64(c[1])*s-1e-9, float64(c[0]+1)*s+1e-9, float64(c[1]+1)*s+1e-9) {
				t.Fatalf("%v→%v: cell %v does not touch the segment", a, b, c)
			}
		}
		// every cell holding a point of the segment is emitted
		for k := 0; k <= 400; k++ {
			u := float64(k) / 400
			p := Point{a.X + u*(b.X-a.X), a.Y + u*(b.Y-a.Y)}
			c := [2]int{int(math.Floor(p.X / s)), int(math.Floor(p.Y / s))}
			if !set[c] {
				// points within 1e-9 of a grid line may land on either side
				fx, fy := p.X/s-math.Round(p.X/s), p.Y/s-math.Round(p.Y/s)
				if math.Abs(fx) > 1e-7 && math.Abs(fy) > 1e-7 {
					t.Fatalf("%v→%v: point %v in cell %v not emitted", a, b, p, c)
				}
			}
		}
	}
}

// segmentHitsBox is a Liang–Barsky clip test.
func segmentHitsBox(a, b Point, x0, y0, x1, y1 float64) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := b.X-a.X, b.Y-a.Y
	for _, c := range [][2]float64{{-dx, a.X - x0}, {dx, x1 - a.X}, {-dy, a.Y - y0}, {dy, y1 - a.Y}} {
		p, q := c[0], c[1]
		if p == 0 {
			if q < 0 {
				return false
			}
			continue
		}
		r := q / p
		if p < 0 {
			t0 = math.Max(t0, r)
		} else {
			t1 = math.Min(t1, r)
		}
	}
	return t0 <= t1
}

func TestRasterOpenAndHatches(t *testing.T) {
	s := 0.1
	// an open L-shaped line: cells along it, 4-connected
	l := Layer{Polylines: []Polyline{{Dir: Open, Points: []Point{{0.05, 0.05}, {0.95, 0.05}, {0.95, 0.55}}}}}
	r, err := l.Rasterize(RasterOptions{SpacingMM: s})
	if err != nil {
		t.Fatal(err)
	}
	// 10 cells along x (cols 0..9, row 0) + 5 more up column 9 (rows 1..5)
	if r.Cells != 15 {
		t.Errorf("open polyline: %d cells, want 15", r.Cells)
	}
	// hatches alone are tracks
	h := Layer{Hatches: []Hatches{{Segments: []Segment{{Point{0.05, 0.05}, Point{0.35, 0.05}}, {Point{0.05, 0.25}, Point{0.35, 0.25}}}}}}
	r, err = h.Rasterize(RasterOptions{SpacingMM: s})
	if err != nil || r.Cells != 8 {
		t.Errorf("hatch tracks: %v cells, err %v; want 8", r, err)
	}
	// with a contour, hatches add nothing
	h.Polylines = []Polyline{{Dir: CounterClockwise, Points: []Point{{0, 0}, {0.4, 0}, {0.4, 0.3}, {0, 0.3}}}}
	r, err = h.Rasterize(RasterOptions{SpacingMM: s})
	if err != nil || r.Cells != 12 {
		t.Errorf("contour with hatches: %v cells, err %v; want 12", r, err)
	}
}

func TestRasterGridIsGlobal(t *testing.T) {
	f := readSample(t, "frustrum_ASCII.cli")
	s := 0.05
	for _, li := range []int{0, 50, 99} {
		r, err := f.Rasterize(li, RasterOptions{SpacingMM: s})
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, r.Height / 2, r.Height - 1} {
			sp := r.Row(i)[0]
			c := r.Center(i, int(sp.C0))
			if fx := c.X/s - 0.5; math.Abs(fx-math.Round(fx)) > 1e-6 {
				t.Errorf("layer %d: centre x %v not on the global grid", li, c.X)
			}
			if fy := c.Y/s - 0.5; math.Abs(fy-math.Round(fy)) > 1e-6 {
				t.Errorf("layer %d: centre y %v not on the global grid", li, c.Y)
			}
		}
	}
}

func TestRasterErrors(t *testing.T) {
	f := readSample(t, "frustrum_ASCII.cli")
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	_, err := f.Rasterize(3, RasterOptions{SpacingMM: 1e-5})
	runtime.ReadMemStats(&m1)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 64<<20 {
		t.Errorf("refusing an oversized raster allocated %d bytes", alloc)
	}
	if want := "layer 3 (z=0.4 mm)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err %q does not name %q", err, want)
	}
	if _, err := f.Rasterize(3, RasterOptions{SpacingMM: 0.05, MaxCells: 1000}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("cap: err %v", err)
	}
	if _, err := f.Rasterize(100, RasterOptions{}); !errors.Is(err, ErrRange) {
		t.Errorf("layer index: err %v", err)
	}
	if _, err := (&Layer{}).Rasterize(RasterOptions{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty layer: %v", err)
	}
	// a sliver narrower than the spacing encloses no centre
	sl := Layer{Polylines: []Polyline{{Dir: CounterClockwise, Points: []Point{{0.01, 0.01}, {5, 0.01}, {5, 0.02}, {0.01, 0.02}}}}}
	if _, err := sl.Rasterize(RasterOptions{SpacingMM: 0.05}); !errors.Is(err, ErrEmpty) {
		t.Errorf("sliver: %v", err)
	}
	if _, err := sl.Rasterize(RasterOptions{SpacingMM: -1}); !errors.Is(err, ErrRange) {
		t.Errorf("negative spacing: %v", err)
	}
}

func readBytes(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }

func BenchmarkRasterizeFrustrumLayer(b *testing.B) {
	f := readSample(b, "frustrum_ASCII.cli")
	b.ReportAllocs()
	cells := 0
	for b.Loop() {
		r, err := f.Rasterize(0, RasterOptions{SpacingMM: 0.05})
		if err != nil {
			b.Fatal(err)
		}
		cells += r.Cells
	}
	b.ReportMetric(float64(cells)/float64(b.N), "cells/op")
}

func BenchmarkReadBinaryCLI(b *testing.B) {
	data, err := readBytes("s_MiniCooper_ex.cli")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("m.cli", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadASCIICLI(b *testing.B) {
	data, err := readBytes("frustrum_ASCII.cli")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("f.cli", data); err != nil {
			b.Fatal(err)
		}
	}
}
