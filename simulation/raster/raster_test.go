package raster

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func count(img *image.RGBA, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.RGBAAt(x, y) == c {
				n++
			}
		}
	}
	return n
}

// TestLine: a Bresenham segment has max(|dx|, |dy|) + 1 points, both ends
// included, in either direction; width w paints w×w squares; pixels
// outside the image are dropped.
func TestLine(t *testing.T) {
	red := color.RGBA{255, 0, 0, 255}
	for _, tc := range []struct {
		x0, y0, x1, y1, w, want int
	}{
		{2, 3, 12, 3, 1, 11},  // horizontal
		{5, 1, 5, 9, 1, 9},    // vertical
		{0, 0, 7, 7, 1, 8},    // diagonal
		{9, 8, 1, 2, 1, 9},    // steep-ish, reversed: max(8, 6) + 1
		{3, 3, 3, 3, 1, 1},    // a point
		{2, 2, 6, 2, 2, 12},   // 2×2 squares at x = 2…6: columns 2…7, 2 rows
		{-5, 4, 30, 4, 1, 20}, // clipped to the 20-pixel width
	} {
		img := image.NewRGBA(image.Rect(0, 0, 20, 20))
		Line(img, tc.x0, tc.y0, tc.x1, tc.y1, red, tc.w)
		if n := count(img, red); n != tc.want {
			t.Errorf("%+v: %d pixels, want %d", tc, n, tc.want)
		}
		if tc.x0 >= 0 && tc.x1 < 20 && (img.RGBAAt(tc.x0, tc.y0) != red || img.RGBAAt(tc.x1, tc.y1) != red) {
			t.Errorf("%+v: an end is not drawn", tc)
		}
	}
}

func TestLabel(t *testing.T) {
	blue := color.RGBA{0, 0, 255, 255}
	img := image.NewRGBA(image.Rect(0, 0, 60, 20))
	Label(img, 2, 14, "fab", blue)
	n := count(img, blue)
	if n < 15 || n > 3*7*13 {
		t.Fatalf("label painted %d pixels", n)
	}
	// nothing to the right of three 7-pixel glyphs
	for y := 0; y < 20; y++ {
		for x := 2 + 3*7; x < 60; x++ {
			if img.RGBAAt(x, y) == blue {
				t.Fatalf("pixel at (%d, %d) beyond the text", x, y)
			}
		}
	}
}

// TestDiscAndRing: pixel counts against brute-force lattice counts of the
// defining inequalities, and the area of a large disc ≈ πr².
func TestDiscAndRing(t *testing.T) {
	red := color.RGBA{255, 0, 0, 255}
	for _, tc := range []struct{ cx, cy, r float64 }{{10, 10, 0.5}, {10.3, 9.6, 3}, {20, 20, 12.5}} {
		img := image.NewRGBA(image.Rect(0, 0, 50, 50))
		Disc(img, tc.cx, tc.cy, tc.r, red)
		want := 0
		for y := 0; y < 50; y++ {
			for x := 0; x < 50; x++ {
				dx, dy := float64(x)-tc.cx, float64(y)-tc.cy
				if dx*dx+dy*dy <= tc.r*tc.r+0.25 {
					want++
				}
			}
		}
		if n := count(img, red); n != want || n == 0 {
			t.Errorf("disc %+v: %d pixels, want %d", tc, n, want)
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	Disc(img, 100, 100, 60, red)
	if n, a := float64(count(img, red)), math.Pi*60*60; math.Abs(n-a)/a > 0.01 {
		t.Errorf("disc r=60: %g pixels, πr² = %g", n, a)
	}
	img = image.NewRGBA(image.Rect(0, 0, 200, 200))
	Ring(img, 100, 100, 50, 2, red)
	want := 0
	for y := 0; y < 200; y++ {
		for x := 0; x < 200; x++ {
			if math.Abs(math.Hypot(float64(x)-100, float64(y)-100)-50) <= 1 {
				want++
			}
		}
	}
	// lattice points exactly on the two rims count, hence ~4 % over 2πr·w
	if n, a := float64(count(img, red)), 2*math.Pi*50*2; int(n) != want || math.Abs(n-a)/a > 0.05 {
		t.Errorf("ring r=50 w=2: %g pixels, want %d (2πr·w = %g)", n, want, a)
	}
	if img.RGBAAt(100, 100) == red || img.RGBAAt(150, 100) != red {
		t.Error("ring: centre painted or rim missing")
	}
}

// TestThickLine: a horizontal thick line covers its rectangle plus round
// caps, and nothing beyond width/2 from the segment.
func TestThickLine(t *testing.T) {
	red := color.RGBA{255, 0, 0, 255}
	img := image.NewRGBA(image.Rect(0, 0, 60, 30))
	ThickLine(img, 10, 15, 50, 15, 6, red)
	for x := 10; x <= 50; x++ {
		for y := 13; y <= 17; y++ {
			if img.RGBAAt(x, y) != red {
				t.Fatalf("(%d,%d) inside the stroke is not painted", x, y)
			}
		}
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			px := math.Max(10, math.Min(50, float64(x)))
			d := math.Hypot(float64(x)-px, float64(y)-15)
			if img.RGBAAt(x, y) == red && d*d > 9+0.25+1e-9 {
				t.Fatalf("(%d,%d) painted %.2f px from the segment", x, y, d)
			}
		}
	}
}
