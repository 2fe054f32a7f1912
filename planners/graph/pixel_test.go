package graph

import (
	"errors"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"fabcell/planners/graph/commonlayer"
)

var update = flag.Bool("update", false, "regenerate the committed PNG masks in testdata")

// Committed PNG masks: made by these generators (go test -run
// TestCommittedPNGMasks -update rewrites them).
var pngMasks = map[string]func() image.Image{
	"png/ring_gray.png": func() image.Image { // 8-bit grey annulus, black on white
		m := image.NewGray(image.Rect(0, 0, 40, 30))
		for y := 0; y < 30; y++ {
			for x := 0; x < 40; x++ {
				d := math.Hypot(float64(x)-19.5, float64(y)-14.5)
				m.SetGray(x, y, color.Gray{255})
				if d >= 6 && d <= 13 {
					m.SetGray(x, y, color.Gray{0})
				}
			}
		}
		return m
	},
	"png/letter_alpha.png": func() image.Image { // opaque blue "L" on a transparent background
		m := image.NewNRGBA(image.Rect(0, 0, 12, 16))
		for y := 0; y < 16; y++ {
			for x := 0; x < 12; x++ {
				if (x >= 2 && x < 5 && y >= 1 && y < 15) || (y >= 12 && y < 15 && x >= 2 && x < 11) {
					m.SetNRGBA(x, y, color.NRGBA{20, 40, 200, 255})
				} else {
					m.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 0})
				}
			}
		}
		return m
	},
	"png/islands_paletted.png": func() image.Image { // two-colour palette, three islands
		m := image.NewPaletted(image.Rect(0, 0, 20, 10), color.Palette{color.White, color.Black})
		for _, r := range []image.Rectangle{image.Rect(1, 1, 5, 4), image.Rect(8, 2, 9, 9), image.Rect(12, 5, 19, 8)} {
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					m.SetColorIndex(x, y, 1)
				}
			}
		}
		return m
	},
	"bad/nonbinary_gradient.png": func() image.Image { // anti-aliased: many grey levels
		m := image.NewGray(image.Rect(0, 0, 16, 4))
		for y := 0; y < 4; y++ {
			for x := 0; x < 16; x++ {
				m.SetGray(x, y, color.Gray{uint8(x * 16)})
			}
		}
		return m
	},
	"bad/blank.png": func() image.Image { // nothing dark
		m := image.NewGray(image.Rect(0, 0, 8, 8))
		for i := range m.Pix {
			m.Pix[i] = 255
		}
		return m
	},
	"bad/semi_transparent.png": func() image.Image { // black at three alpha levels: 3 greys after compositing
		m := image.NewNRGBA(image.Rect(0, 0, 3, 1))
		m.SetNRGBA(0, 0, color.NRGBA{0, 0, 0, 255})
		m.SetNRGBA(1, 0, color.NRGBA{0, 0, 0, 128})
		m.SetNRGBA(2, 0, color.NRGBA{0, 0, 0, 0})
		return m
	},
}

func TestCommittedPNGMasks(t *testing.T) {
	for name, gen := range pngMasks {
		path := filepath.Join("testdata", name)
		want := gen()
		if *update {
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, want); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%s: bounds %v, generator %v", name, got.Bounds(), want.Bounds())
		}
		for y := 0; y < want.Bounds().Dy(); y++ {
			for x := 0; x < want.Bounds().Dx(); x++ {
				if grey(got.At(x, y)) != grey(want.At(x, y)) {
					t.Fatalf("%s: pixel %d,%d differs from its generator", name, x, y)
				}
			}
		}
	}
}

// bruteMaskGraph builds the expected pixel graph independently: classify
// every pixel with the documented rule, number the in-pixels row-major from
// the top, and join every pair at Manhattan distance 1.
func bruteMaskGraph(img image.Image, pitch float64) (pos [][3]float64, edges map[[2]int]bool) {
	b := img.Bounds()
	h := b.Dy()
	id := map[[2]int]int{}
	for y := 0; y < h; y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			// composite over white, Rec. 601 luma, < 50 %
			wr := float64(r) + float64(0xffff-a)
			wg := float64(g) + float64(0xffff-a)
			wb := float64(bl) + float64(0xffff-a)
			if 0.299*wr+0.587*wg+0.114*wb < 0x8000 {
				id[[2]int{x, y}] = len(pos)
				pos = append(pos, [3]float64{(float64(x) + 0.5) * pitch, (float64(h-1-y) + 0.5) * pitch, 0})
			}
		}
	}
	edges = map[[2]int]bool{}
	for p, i := range id {
		for _, d := range [][2]int{{1, 0}, {0, 1}} {
			if j, ok := id[[2]int{p[0] + d[0], p[1] + d[1]}]; ok {
				edges[pairKey(i, j)] = true
			}
		}
	}
	return pos, edges
}

func checkPixelGraph(t *testing.T, g *Graph, pos [][3]float64, edges map[[2]int]bool) {
	t.Helper()
	if g.NumNodes() != len(pos) {
		t.Fatalf("nodes %d, want %d", g.NumNodes(), len(pos))
	}
	for i, p := range pos {
		q := g.Pos[i]
		if math.Abs(q.X-p[0]) > 1e-9 || math.Abs(q.Y-p[1]) > 1e-9 || math.Abs(q.Z-p[2]) > 1e-9 {
			t.Fatalf("node %d at %v, want %v", i, q, p)
		}
	}
	if g.NumEdges() != len(edges) {
		t.Fatalf("edges %d, want %d", g.NumEdges(), len(edges))
	}
	for i, e := range g.Edges {
		if !edges[pairKey(e.A, e.B)] {
			t.Fatalf("edge %d (%d,%d) is not a 4-neighbour pair", i, e.A, e.B)
		}
		if e.A >= e.B {
			t.Fatalf("edge %d (%d,%d): A must be the smaller index", i, e.A, e.B)
		}
		if i > 0 && e.A < g.Edges[i-1].A {
			t.Fatalf("edges not in node order at %d", i)
		}
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadPNGMasks(t *testing.T) {
	for _, c := range []struct {
		file       string
		pitch      float64
		components int
		wantPixels int // counted from the generator's rules
	}{
		{"png/ring_gray.png", 0, 1, -1},
		{"png/letter_alpha.png", 0.1, 1, 14*3 + 3*6},
		{"png/islands_paletted.png", 0.02, 3, 4*3 + 7 + 7*3},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", c.file)
			g, err := Load(path, LoadOptions{PixelMM: c.pitch})
			if err != nil {
				t.Fatal(err)
			}
			pitch := c.pitch
			if pitch == 0 {
				pitch = DefaultPixelMM
			}
			if g.Kind != Pixel || g.SpacingMM != pitch || g.NumGrounded() != 0 {
				t.Errorf("kind %v spacing %v grounded %d", g.Kind, g.SpacingMM, g.NumGrounded())
			}
			f, _ := os.Open(path)
			img, _ := png.Decode(f)
			f.Close()
			pos, edges := bruteMaskGraph(img, pitch)
			checkPixelGraph(t, g, pos, edges)
			if c.wantPixels >= 0 && g.NumNodes() != c.wantPixels {
				t.Errorf("%d pixels, want %d", g.NumNodes(), c.wantPixels)
			}
			if _, n := g.Components(); n != c.components {
				t.Errorf("components %d, want %d", n, c.components)
			}
		})
	}
}

func TestLoadPNGRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	dir := t.TempDir()
	for trial := 0; trial < 20; trial++ {
		w, h := 1+rng.IntN(40), 1+rng.IntN(40)
		m := image.NewGray(image.Rect(0, 0, w, h))
		any := false
		for i := range m.Pix {
			m.Pix[i] = 255
			if rng.IntN(3) == 0 {
				m.Pix[i], any = 0, true
			}
		}
		if !any {
			m.Pix[0] = 0
		}
		path := filepath.Join(dir, "r.png")
		f, _ := os.Create(path)
		png.Encode(f, m)
		f.Close()
		g, err := LoadPNG(path, LoadOptions{PixelMM: 0.07})
		if err != nil {
			t.Fatal(err)
		}
		pos, edges := bruteMaskGraph(m, 0.07)
		checkPixelGraph(t, g, pos, edges)
	}
}

func TestLoadPNGLimits(t *testing.T) {
	path := filepath.Join("testdata", "png", "ring_gray.png")
	_, err := Load(path, LoadOptions{MaxNodes: 100})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("err %v, want ErrTooLarge", err)
	}
	// W×H above 4×MaxNodes is refused before decoding
	_, err = Load(path, LoadOptions{MaxNodes: 10})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("err %v, want ErrTooLarge", err)
	}
}

// TestFromRasterMatchesRasterCells checks the pixel graph of a CLI layer
// against the raster it came from: one node per cell at the cell centre,
// edges exactly between side neighbours (brute force over the cells).
func TestFromRasterMatchesRasterCells(t *testing.T) {
	f, err := commonlayer.ReadFile(filepath.Join("commonlayer", "testdata", "s_MiniCooper_ex.cli"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Rasterize(5, commonlayer.RasterOptions{SpacingMM: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	g, err := FromRaster(r, f.Layers[5].ZMM, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pos [][3]float64
	id := map[[2]int]int{}
	for i := 0; i < r.Height; i++ {
		for c := 0; c < r.Width; c++ {
			if r.Contains(i, c) {
				p := r.Center(i, c)
				id[[2]int{c, i}] = len(pos)
				pos = append(pos, [3]float64{p.X, p.Y, f.Layers[5].ZMM})
			}
		}
	}
	edges := map[[2]int]bool{}
	for p, a := range id {
		for _, d := range [][2]int{{1, 0}, {0, 1}} {
			if b, ok := id[[2]int{p[0] + d[0], p[1] + d[1]}]; ok {
				edges[pairKey(a, b)] = true
			}
		}
	}
	checkPixelGraph(t, g, pos, edges)
	if _, err := FromRaster(r, 0, r.Cells-1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("cap: %v", err)
	}
}

func BenchmarkLoadCLILayer(b *testing.B) {
	path := filepath.Join("commonlayer", "testdata", "frustrum_ASCII.cli") + "#0"
	nodes := 0
	for b.Loop() {
		g, err := Load(path, LoadOptions{SpacingMM: 0.05})
		if err != nil {
			b.Fatal(err)
		}
		nodes += g.NumNodes()
	}
	b.ReportMetric(float64(nodes)/float64(b.N), "nodes/op")
}
