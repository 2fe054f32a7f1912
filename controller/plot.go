package controller

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"fabcell/simulation/raster"
)

// Series is one line of a chart.
type Series struct {
	Name  string
	X, Y  []float64
	Color color.RGBA
}

// Chart is a minimal line chart rendered to PNG (no external plotting
// dependency: the standard image packages and x/image's basic font).
type Chart struct {
	Title, XLabel, YLabel string
	Series                []Series
	W, H                  int
}

var palette = []color.RGBA{{31, 119, 180, 255}, {214, 39, 40, 255}, {44, 160, 44, 255}, {255, 127, 14, 255}, {148, 103, 189, 255}}

// WritePNG renders the chart.
func (c Chart) WritePNG(w io.Writer) error {
	if c.W == 0 {
		c.W, c.H = 800, 360
	}
	img := image.NewRGBA(image.Rect(0, 0, c.W, c.H))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	const left, right, top, bottom = 70, 20, 30, 45
	pw, ph := c.W-left-right, c.H-top-bottom
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for i := range s.X {
			if math.IsNaN(s.Y[i]) || math.IsInf(s.Y[i], 0) {
				continue
			}
			xmin, xmax = math.Min(xmin, s.X[i]), math.Max(xmax, s.X[i])
			ymin, ymax = math.Min(ymin, s.Y[i]), math.Max(ymax, s.Y[i])
		}
	}
	if math.IsInf(xmin, 0) {
		xmin, xmax, ymin, ymax = 0, 1, 0, 1
	}
	if ymin > 0 {
		ymin = 0
	}
	if xmax == xmin {
		xmax = xmin + 1
	}
	if ymax == ymin {
		ymax = ymin + 1
	}
	ymax += (ymax - ymin) * 0.05
	gray := color.RGBA{200, 200, 200, 255}
	black := color.RGBA{0, 0, 0, 255}
	for i := 0; i <= 4; i++ {
		y := top + ph - i*ph/4
		hline(img, left, left+pw, y, gray)
		raster.Label(img, 4, y+4, fmt.Sprintf("%.3g", ymin+(ymax-ymin)*float64(i)/4), black)
		x := left + i*pw/4
		vline(img, x, top, top+ph, gray)
		raster.Label(img, x-10, top+ph+15, fmt.Sprintf("%.3g", xmin+(xmax-xmin)*float64(i)/4), black)
	}
	hline(img, left, left+pw, top+ph, black)
	vline(img, left, top, top+ph, black)
	raster.Label(img, left, 18, c.Title, black)
	raster.Label(img, left+pw/2-len(c.XLabel)*3, c.H-8, c.XLabel, black)
	raster.Label(img, 4, 12, c.YLabel, black)
	for si, s := range c.Series {
		col := s.Color
		if col.A == 0 {
			col = palette[si%len(palette)]
		}
		px := func(i int) (int, int) {
			return left + int(float64(pw)*(s.X[i]-xmin)/(xmax-xmin)), top + ph - int(float64(ph)*(s.Y[i]-ymin)/(ymax-ymin))
		}
		for i := 1; i < len(s.X); i++ {
			x0, y0 := px(i - 1)
			x1, y1 := px(i)
			raster.Line(img, x0, y0, x1, y1, col, 1)
		}
		if len(s.X) == 1 {
			x, y := px(0)
			img.Set(x, y, col)
		}
		raster.Label(img, left+10, top+15+12*si, s.Name, col)
	}
	return png.Encode(w, img)
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	for x := x0; x <= x1; x++ {
		img.SetRGBA(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	for y := y0; y <= y1; y++ {
		img.SetRGBA(x, y, c)
	}
}
