package masks

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"fabcell/planners/graph"
)

// The held-out layers are deterministic, named uniquely, of the intended
// size, and load as pixel graphs with the expected number of islands.
func TestHeldOut(t *testing.T) {
	islands := map[string]int{"text": 4, "blob-1": 2, "blob-2": 4} // letters; random blobs
	seen := map[string]bool{}
	dir := t.TempDir()
	for _, l := range HeldOut() {
		if seen[l.Name] {
			t.Fatalf("layer %q twice", l.Name)
		}
		seen[l.Name] = true
		a, b := l.Gen(), l.Gen()
		if !bytes.Equal(a.Pix, b.Pix) {
			t.Fatalf("%s: two generations differ", l.Name)
		}
		n := Count(a)
		if n < 100 || n > 21000 {
			t.Fatalf("%s: %d pixels, want 100..21000", l.Name, n)
		}
		var buf bytes.Buffer
		if err := Encode(&buf, a); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, l.Name+".png")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		g, err := graph.Load(path, graph.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := islands[l.Name]
		if want == 0 {
			want = 1
		}
		if _, nc := g.Components(); g.NumNodes() != n || nc != want {
			t.Fatalf("%s: loaded %d pixels in %d islands, want %d in %d", l.Name, g.NumNodes(), nc, n, want)
		}
		t.Logf("%-18s %3d×%-3d %6d pixels", l.Name, a.Bounds().Dx(), a.Bounds().Dy(), n)
	}
	if n := Count(Plate(0.969)); n < 19000 || n > 21000 {
		t.Fatalf("plate-20k: %d pixels", n)
	}
}

// Independent answers: axis-aligned walls are exactly l × w pixels with
// every row (column) full; a ring matches the brute-force count of pixel
// centres between the radii; a w-wide wall at an angle covers about l·w
// pixels (up to 18 % more at 45°, where the band's edges pass through
// rows of pixel centres: |x−y| ≤ 1.5·√2 takes 5 diagonals of 141).
func TestHeldOutShapes(t *testing.T) {
	for _, tc := range []struct{ l, w int }{{60, 2}, {250, 6}} {
		img := Wall(tc.l, tc.w, 0)
		if n := Count(img); n != tc.l*tc.w {
			t.Fatalf("wall %d×%d: %d pixels", tc.l, tc.w, n)
		}
		if n := Count(Wall(tc.l, tc.w, 90)); n != tc.l*tc.w {
			t.Fatalf("vertical wall %d×%d: %d pixels", tc.l, tc.w, n)
		}
	}
	ro, ri := 30.0, 22.0
	img := Annulus(ro, ri)
	c := float64(img.Bounds().Dx()) / 2
	want := 0
	for j := 0; j < img.Bounds().Dy(); j++ {
		for i := 0; i < img.Bounds().Dx(); i++ {
			r := math.Hypot(float64(i)+0.5-c, float64(j)+0.5-c)
			if r <= ro && r >= ri {
				want++
			}
		}
	}
	if got := Count(img); got != want {
		t.Fatalf("annulus: %d pixels, brute force %d", got, want)
	}
	for _, deg := range []float64{30, 45} {
		n := Count(Wall(200, 3, deg))
		if n < 600*0.97 || n > 600*1.2 {
			t.Fatalf("wall at %v°: %d pixels, want about 600", deg, n)
		}
	}
	if Count(Gear(24, 70, 60, 20, 0.45)) <= Count(Annulus(60, 20))-400 {
		t.Fatal("gear smaller than its root disc minus the keyway")
	}
}
