package raster

import (
	"image"
	"image/color"
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
