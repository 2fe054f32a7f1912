// Package raster draws on RGBA images — Bresenham lines and bitmap-font
// labels — for the process plots (toolpaths, displacement curves) and the
// run report's charts.
package raster

import (
	"image"
	"image/color"

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
