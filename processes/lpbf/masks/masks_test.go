package masks

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"fabcell/planners/graph"
)

var update = flag.Bool("update", false, "rewrite testdata/*.png from the generators")

// TestCommittedMasks regenerates every committed mask and compares it pixel
// by pixel with the file in testdata.
func TestCommittedMasks(t *testing.T) {
	for name, gen := range Committed() {
		img := gen()
		path := filepath.Join("testdata", name)
		if *update {
			var buf bytes.Buffer
			if err := Encode(&buf, img); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to generate)", err)
		}
		got, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Bounds() != img.Bounds() {
			t.Fatalf("%s: committed %v, generated %v", name, got.Bounds(), img.Bounds())
		}
		diff := 0
		for y := 0; y < img.Bounds().Dy(); y++ {
			for x := 0; x < img.Bounds().Dx(); x++ {
				r, _, _, _ := got.At(x, y).RGBA()
				if (r < 0x8000) != (img.GrayAt(x, y).Y == 0) {
					diff++
				}
			}
		}
		if diff > 0 {
			t.Fatalf("%s: %d pixels differ from the generator (run go test -update after a deliberate change)", name, diff)
		}
		// the loader reads it as one connected layer of Count(img) pixels
		g, err := graph.Load(path, graph.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, nc := g.Components(); g.NumNodes() != Count(img) || nc != 1 {
			t.Fatalf("%s: loaded %d pixels in %d components, want %d in 1", name, g.NumNodes(), nc, Count(img))
		}
		t.Logf("%s: %d×%d, %d pixels", name, img.Bounds().Dx(), img.Bounds().Dy(), g.NumNodes())
	}
}

// Inside tests at pixel centres: a disc of radius r covers about πr²
// pixels, and Render marks exactly the centres inside.
func TestRender(t *testing.T) {
	img := Render(101, 101, disc(50.5, 50.5, 40))
	want := 0
	for j := 0; j < 101; j++ {
		for i := 0; i < 101; i++ {
			dx, dy := float64(i)-50, float64(j)-50
			if dx*dx+dy*dy <= 1600 {
				want++
			}
		}
	}
	if got := Count(img); got != want {
		t.Fatalf("disc: %d pixels, want %d", got, want)
	}
	if img.Bounds() != image.Rect(0, 0, 101, 101) {
		t.Fatal(img.Bounds())
	}
}
