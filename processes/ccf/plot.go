package ccf

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"

	"fabcell/planners"
	"fabcell/simulation/raster"
)

// PlotSizePx is the longer side of the plot artifact, in pixels.
const PlotSizePx = 1200

func (p *Process) writePlot(w io.Writer, r *planners.Result) error {
	s, err := p.resultSession(r)
	if err != nil {
		return err
	}
	img := Plot(s, fmt.Sprintf("%s - %s", jobName(r), r.Planner))
	return png.Encode(w, img)
}

// Plot renders the session's stroke: graph edges in light grey, the path
// coloured by order (blue at the start through green and yellow to red at
// the end), sharp turns (θ > ccf.sharp_turn_deg) circled in magenta, the
// start as a green disc and the end as a black square, and a caption with
// the metrics. The bed's y axis points up.
func Plot(s *Session, title string) *image.RGBA {
	g := s.G
	lo, hi := g.Bounds()
	const margin, header = 30.0, 40.0
	span := math.Max(hi.X-lo.X, hi.Y-lo.Y)
	if !(span > 0) {
		span = 1
	}
	sc := (PlotSizePx - 2*margin) / span
	wpx := int(math.Ceil((hi.X-lo.X)*sc + 2*margin))
	hpx := int(math.Ceil((hi.Y-lo.Y)*sc + 2*margin + header))
	img := image.NewRGBA(image.Rect(0, 0, wpx, hpx))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	at := func(v int) (float64, float64) {
		q := g.Pos[v]
		return margin + (q.X-lo.X)*sc, header + margin + (hi.Y-q.Y)*sc
	}
	grey := color.RGBA{205, 205, 205, 255}
	for _, e := range g.Edges {
		x0, y0 := at(e.A)
		x1, y1 := at(e.B)
		raster.ThickLine(img, x0, y0, x1, y1, 1, grey)
	}
	ms := s.Moves()
	for i, m := range ms {
		f := 0.0
		if len(ms) > 1 {
			f = float64(i) / float64(len(ms)-1)
		}
		x0, y0 := at(m.From)
		x1, y1 := at(m.To)
		raster.ThickLine(img, x0, y0, x1, y1, 2.2, orderColor(f))
	}
	magenta := color.RGBA{220, 0, 200, 255}
	for _, t := range s.Turns() {
		if t.AngleRad > s.SharpTurnRad() {
			x, y := at(t.Node)
			raster.Ring(img, x, y, 7, 2, magenta)
		}
	}
	if len(ms) > 0 {
		x, y := at(ms[0].From)
		raster.Disc(img, x, y, 6, color.RGBA{0, 170, 0, 255})
		x, y = at(ms[len(ms)-1].To)
		for dx := -5; dx <= 5; dx++ {
			for dy := -5; dy <= 5; dy++ {
				img.Set(int(x)+dx, int(y)+dy, color.Black)
			}
		}
	}
	m := s.Metrics()
	caption := fmt.Sprintf("%s: %g sharp turns (>%.0f deg), %.2f m fibre, %g/%d edges twice, one stroke=%g",
		title, m["sharp_turns"], s.SharpTurnRad()*180/math.Pi, m["length_mm"]/1000, m["retraversed_edges"], g.NumEdges(), m["one_stroke"])
	raster.Label(img, int(margin), int(header*0.6), caption, color.RGBA{0, 0, 0, 255})
	return img
}

// orderColor maps f ∈ [0,1] to a hue from blue (240°) to red (0°).
func orderColor(f float64) color.RGBA {
	h := (1 - f) * 240 / 60
	x := 1 - math.Abs(math.Mod(h, 2)-1)
	var r, gg, b float64
	switch int(h) {
	case 0:
		r, gg = 1, x
	case 1:
		r, gg = x, 1
	case 2:
		gg, b = 1, x
	default:
		gg, b = x, 1
	}
	k := 0.85 // a little darker than full saturation, readable on white
	return color.RGBA{uint8(255 * r * k), uint8(255 * gg * k), uint8(255 * b * k), 255}
}
