package wireframe

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"github.com/golang/geo/r3"

	"fabcell/planners"
	"fabcell/simulation/raster"
)

// Plot geometry (pixels).
const (
	plotW     = 1400
	plotH     = 700
	panelW    = 700
	plotPad   = 40
	plotTitle = 24
)

func (p *Process) writePlot(w io.Writer, r *planners.Result) error {
	s, err := p.resultSession(r)
	if err != nil {
		return err
	}
	img, err := s.Plot()
	if err != nil {
		return err
	}
	return png.Encode(w, img)
}

// Plot renders the applied moves: on the left the struts in an oblique
// 3-D view (azimuth −45°, elevation 30°), coloured by print order from
// dark blue (first) to yellow (last), unprinted struts light grey; on the
// right the global d_max of every partial structure over the print
// sequence (mm), with the nozzle limit as a red line when it is in range.
func (s *Session) Plot() (*image.RGBA, error) {
	disp, _, err := s.DisplacementSeries()
	if err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, plotW, plotH))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	g := s.G

	// left: projected toolpath
	az, el := -math.Pi/4, math.Pi/6
	ca, sa := math.Cos(az), math.Sin(az)
	ce, se := math.Cos(el), math.Sin(el)
	proj := func(p r3.Vector) (float64, float64) {
		x := ca*p.X - sa*p.Y
		y := sa*p.X + ca*p.Y
		return x, se*y + ce*p.Z // screen x, screen up
	}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range g.Pos {
		x, y := proj(p)
		minX, maxX = math.Min(minX, x), math.Max(maxX, x)
		minY, maxY = math.Min(minY, y), math.Max(maxY, y)
	}
	span := math.Max(maxX-minX, maxY-minY)
	if span <= 0 {
		span = 1
	}
	scale := float64(panelW-2*plotPad) / span
	top := plotTitle + plotPad
	toPix := func(p r3.Vector) (int, int) {
		x, y := proj(p)
		px := plotPad + int((x-minX)*scale+0.5) + int((span-(maxX-minX))*scale/2)
		py := top + int((maxY-y)*scale+0.5) + int((span-(maxY-minY))*scale/2)
		return px, py
	}
	printed := make([]bool, g.NumEdges())
	var order []int
	for _, m := range s.Moves() {
		if m.Kind == planners.Print {
			printed[m.Edge] = true
			order = append(order, m.Edge)
		}
	}
	grey := color.RGBA{210, 210, 210, 255}
	for e, ed := range g.Edges {
		if !printed[e] {
			x0, y0 := toPix(g.Pos[ed.A])
			x1, y1 := toPix(g.Pos[ed.B])
			raster.Line(img, x0, y0, x1, y1, grey, 1)
		}
	}
	for i, e := range order {
		ed := g.Edges[e]
		x0, y0 := toPix(g.Pos[ed.A])
		x1, y1 := toPix(g.Pos[ed.B])
		t := 0.0
		if len(order) > 1 {
			t = float64(i) / float64(len(order)-1)
		}
		raster.Line(img, x0, y0, x1, y1, viridis(t), 2)
	}
	raster.Label(img, plotPad, plotTitle, fmt.Sprintf("%s: %d of %d struts printed, colour = order (blue first, yellow last)", g.Name, len(order), g.NumEdges()), labelInk)

	// right: displacement curve
	ox, oy := panelW+plotPad+30, plotH-plotPad-20 // origin
	cw, ch := panelW-2*plotPad-40, plotH-2*plotPad-plotTitle-30
	black := color.RGBA{0, 0, 0, 255}
	raster.Line(img, ox, oy, ox+cw, oy, black, 1)
	raster.Line(img, ox, oy, ox, oy-ch, black, 1)
	maxD := 0.0
	for _, d := range disp {
		if !math.IsNaN(d) {
			maxD = math.Max(maxD, d)
		}
	}
	lim := s.cfg.DisplacementLimitMM()
	yMax := maxD * 1.1
	if yMax <= 0 {
		yMax = 1e-3
	}
	if lim <= yMax*1.5 && lim > yMax {
		yMax = lim * 1.05
	}
	n := len(disp)
	xAt := func(i int) int {
		if n <= 1 {
			return ox
		}
		return ox + int(float64(i)/float64(n-1)*float64(cw)+0.5)
	}
	yAt := func(d float64) int { return oy - int(d/yMax*float64(ch)+0.5) }
	if lim <= yMax {
		red := color.RGBA{220, 30, 30, 255}
		for x := ox; x < ox+cw; x += 8 {
			raster.Line(img, x, yAt(lim), min(x+4, ox+cw), yAt(lim), red, 1)
		}
		raster.Label(img, ox+cw-170, yAt(lim)-4, fmt.Sprintf("nozzle limit %.3g mm", lim), labelInk)
	}
	blue := color.RGBA{20, 60, 200, 255}
	px, py := -1, -1
	for i, d := range disp {
		if math.IsNaN(d) {
			px = -1
			continue
		}
		x, y := xAt(i), yAt(d)
		if px >= 0 {
			raster.Line(img, px, py, x, y, blue, 1)
		} else {
			img.Set(x, y, blue)
		}
		px, py = x, y
	}
	for k := 0; k <= 4; k++ {
		v := yMax * float64(k) / 4
		y := yAt(v)
		raster.Line(img, ox-4, y, ox, y, black, 1)
		raster.Label(img, ox-panelW/10-8, y+4, fmt.Sprintf("%.3g", v), labelInk)
	}
	for k := 0; k <= 4; k++ {
		i := (n - 1) * k / 4
		x := xAt(i)
		raster.Line(img, x, oy, x, oy+4, black, 1)
		raster.Label(img, x-10, oy+18, fmt.Sprintf("%d", i+1), labelInk)
	}
	raster.Label(img, panelW+plotPad, plotTitle, fmt.Sprintf("global d_max of each partial structure (mm), max %.4g mm", maxD), labelInk)
	raster.Label(img, ox+cw/2-40, plotH-8, "print step", labelInk)
	return img, nil
}

// viridis approximates the viridis colour map at t in [0, 1].
// labelInk is the colour of the plot's text.
var labelInk = color.RGBA{0, 0, 0, 255}

func viridis(t float64) color.RGBA {
	stops := [...][3]float64{{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}}
	t = math.Max(0, math.Min(1, t)) * float64(len(stops)-1)
	i := int(t)
	if i >= len(stops)-1 {
		i = len(stops) - 2
	}
	f := t - float64(i)
	c := func(k int) uint8 { return uint8(stops[i][k] + (stops[i+1][k]-stops[i][k])*f + 0.5) }
	return color.RGBA{c(0), c(1), c(2), 255}
}
