// Package raster draws on RGBA images — Bresenham lines, anti-gap thick
// lines, discs and rings at sub-pixel positions, and bitmap-font labels —
// for the process plots (toolpaths, displacement curves) and the run
// report's charts.
package raster

import (
	"image"
	"image/color"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Line draws the segment (x0, y0)–(x1, y1) with Bresenham's algorithm,
// each point a w×w pixel square (w ≥ 1) extending right and down; both
// ends are drawn. Pixels outside img are ignored.
func Line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA, w int) {
	w = max(w, 1)
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	err := dx + dy
	for {
		for ox := 0; ox < w; ox++ {
			for oy := 0; oy < w; oy++ {
				img.SetRGBA(x0+ox, y0+oy, c)
			}
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * err
		if e2 >= dy {
			err += dy
			x0 += sx
		}
		if e2 <= dx {
			err += dx
			y0 += sy
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Label draws ASCII text in the 7×13 bitmap font with its baseline at
// (x, y).
func Label(img *image.RGBA, x, y int, text string, c color.RGBA) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(text)
}

// ThickLine draws the segment (x0, y0)–(x1, y1), in pixel coordinates
// with sub-pixel precision, width pixels wide, by stamping discs of
// diameter width every half pixel along it (round caps and joins).
func ThickLine(img *image.RGBA, x0, y0, x1, y1, width float64, c color.RGBA) {
	n := int(math.Ceil(math.Hypot(x1-x0, y1-y0)*2)) + 1
	for i := 0; i <= n; i++ {
		f := float64(i) / float64(n)
		Disc(img, x0+(x1-x0)*f, y0+(y1-y0)*f, width/2, c)
	}
}

// Disc fills the pixels whose centres lie within r (+ a quarter pixel² of
// slack, so r = 0.5 still covers the centre pixel) of (cx, cy).
func Disc(img *image.RGBA, cx, cy, r float64, c color.RGBA) {
	for y := int(math.Floor(cy - r)); y <= int(math.Ceil(cy+r)); y++ {
		for x := int(math.Floor(cx - r)); x <= int(math.Ceil(cx+r)); x++ {
			if (float64(x)-cx)*(float64(x)-cx)+(float64(y)-cy)*(float64(y)-cy) <= r*r+0.25 {
				img.SetRGBA(x, y, c)
			}
		}
	}
}

// Ring draws the circle of radius r about (cx, cy), width pixels wide
// (pixels whose centre is within width/2 of the circle).
func Ring(img *image.RGBA, cx, cy, r, width float64, c color.RGBA) {
	for y := int(math.Floor(cy - r - width)); y <= int(math.Ceil(cy+r+width)); y++ {
		for x := int(math.Floor(cx - r - width)); x <= int(math.Ceil(cx+r+width)); x++ {
			d := math.Hypot(float64(x)-cx, float64(y)-cy)
			if math.Abs(d-r) <= width/2 {
				img.SetRGBA(x, y, c)
			}
		}
	}
}
