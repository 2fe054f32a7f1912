// Package masks generates the synthetic LPBF test layers of fabcell: binary
// PNG masks of a bracket and a hook outline, after the Bracket (15,194
// pixels) and Hook (13,038 pixels) metal layers of Huang et al. 2024
// Table 1 (spec lsg-dqn.md §12), whose geometry was not published. The
// shapes are defined analytically in pixel units (one pixel = one laser
// spot; the pitch comes from lpbf.spacing_mm when the mask is loaded) and
// rasterised at pixel centres, so the output is exactly reproducible; the
// committed files in testdata are checked against a fresh generation by
// the package test (go test ./processes/lpbf/masks -update rewrites them).
//
// Mask convention (planners/graph pixel.go): black pixels are part of the
// layer, white are not.
package masks

import (
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
)

// Shape is an inside test in pixel units (x right, y down, origin at the
// top-left corner of the image).
type Shape func(x, y float64) bool

// Render rasterises s on a w×h image: pixel (i, j) is black when its
// centre (i+0.5, j+0.5) is inside.
func Render(w, h int, s Shape) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for j := 0; j < h; j++ {
		for i := 0; i < w; i++ {
			c := color.Gray{Y: 255}
			if s(float64(i)+0.5, float64(j)+0.5) {
				c.Y = 0
			}
			img.SetGray(i, j, c)
		}
	}
	return img
}

// Count returns the number of black pixels.
func Count(img *image.Gray) int {
	n := 0
	for _, p := range img.Pix {
		if p == 0 {
			n++
		}
	}
	return n
}

// Encode writes img as a PNG.
func Encode(w io.Writer, img *image.Gray) error { return png.Encode(w, img) }

func disc(cx, cy, r float64) Shape {
	return func(x, y float64) bool { return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r }
}

// roundRect is the rectangle [x0,x1]×[y0,y1] with corners rounded by r.
func roundRect(x0, y0, x1, y1, r float64) Shape {
	return func(x, y float64) bool {
		if x < x0 || x > x1 || y < y0 || y > y1 {
			return false
		}
		cx := math.Max(x0+r, math.Min(x, x1-r))
		cy := math.Max(y0+r, math.Min(y, y1-r))
		return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r
	}
}

func union(ss ...Shape) Shape {
	return func(x, y float64) bool {
		for _, s := range ss {
			if s(x, y) {
				return true
			}
		}
		return false
	}
}

func minus(a Shape, bs ...Shape) Shape {
	return func(x, y float64) bool {
		if !a(x, y) {
			return false
		}
		for _, b := range bs {
			if b(x, y) {
				return false
			}
		}
		return true
	}
}

// Bracket returns an L-shaped angle bracket seen from the side, scaled by
// k (k = 1: 200×160 px image, 15,201 pixels): a horizontal flange and a
// vertical web of thickness 61k, rounded outer corners, a concave fillet
// of radius 28k in the inner corner, a bolt hole in each leg and a slot in
// the web.
func Bracket(k float64) *image.Gray {
	w, h := int(math.Ceil(200*k)), int(math.Ceil(160*k))
	t := 61 * k
	x0, y0 := 6*k, 6*k // outer top-left
	x1, y1 := 194*k, 154*k
	flange := roundRect(x0, y1-t, x1, y1, 14*k)
	web := roundRect(x0, y0, x0+t, y1, 14*k)
	// fillet: the inner corner square minus the quarter disc centred away from it
	fr := 28 * k
	cx, cy := x0+t, y1-t // inner corner
	fillet := func(x, y float64) bool {
		if x < cx || x > cx+fr || y > cy || y < cy-fr {
			return false
		}
		dx, dy := x-(cx+fr), y-(cy-fr)
		return dx*dx+dy*dy >= fr*fr
	}
	holes := []Shape{
		disc(x1-40*k, y1-t/2, 13*k),
		disc(x0+t/2, y0+34*k, 13*k),
		roundRect(x0+t/2-9*k, y0+62*k, x0+t/2+9*k, y0+92*k, 9*k), // slot
	}
	return Render(w, h, minus(union(flange, web, fillet), holes...))
}

// Hook returns a crane-hook outline scaled by k (k = 1: 170×230 px image,
// 12,825 pixels): an eye with a hole at the top, a straight shank on
// the left, and a J-shaped bowl — an annulus sector from the shank side
// (180°) down through the bottom and up to +20° — ending in a rounded tip.
func Hook(k float64) *image.Gray {
	w, h := int(math.Ceil(170*k)), int(math.Ceil(230*k))
	bx, by := 94*k, 150*k
	rin, rout := 27*k, 66*k
	mid := (rin + rout) / 2
	sx0, sx1 := bx-rout, bx-rin // the shank continues the bowl's left side
	eye := minus(disc((sx0+sx1)/2, 34*k, 30*k), disc((sx0+sx1)/2, 34*k, 12*k))
	shank := roundRect(sx0, 40*k, sx1, by, 4*k)
	bowl := func(x, y float64) bool {
		dx, dy := x-bx, by-y // y up
		r := math.Hypot(dx, dy)
		if r < rin || r > rout {
			return false
		}
		a := math.Atan2(dy, dx) * 180 / math.Pi
		return a <= 20 || a >= 180-1e-9
	}
	tipA := 20 * math.Pi / 180
	tip := disc(bx+mid*math.Cos(tipA), by-mid*math.Sin(tipA), (rout-rin)/2)
	return Render(w, h, union(eye, shank, bowl, tip))
}

// Committed lists the masks kept in testdata: file name → generator.
// bracket.png and hook.png match the sizes of the paper's Bracket and Hook
// layers; bracket-20k.png is the bracket scaled to just under 20,000
// pixels.
func Committed() map[string]func() *image.Gray {
	return map[string]func() *image.Gray{
		"bracket.png":     func() *image.Gray { return Bracket(1) },
		"hook.png":        func() *image.Gray { return Hook(1) },
		"bracket-20k.png": func() *image.Gray { return Bracket(1.145) },
	}
}
