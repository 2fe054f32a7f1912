package lpbf

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"path/filepath"

	"fabcell/planners"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Plot layout constants (screen pixels).
const (
	plotPanelPx = 560 // target size of the longer side of a map panel
	plotMargin  = 12
	plotChartH  = 170
	plotBarH    = 10
)

// PlotOptions label the heat map.
type PlotOptions struct {
	Title string
}

// WritePlot draws the thermal history of an evaluation as a PNG: the
// residual heat each pixel held when the laser arrived (left; the heat the
// earlier exposures left there, uncapped — thermal.Report.Residual, whose
// maximum is the peak_temperature metric), the number of
// steps each scanned pixel stayed above the hot threshold — its hot-area
// history (right), both on the layer's grid (x right, y up; white = not
// part of the layer, grey = never scanned), and below them the hot scanned
// area over the scan. Maps longer than plotPanelPx cells show the maximum
// of each block of cells.
func WritePlot(w io.Writer, lat *Lattice, e *Evaluation, opts PlotOptions) error {
	W, H := lat.Width(), lat.Height()
	k, b := plotScale(W, H)
	pw, ph := (W+b-1)/b*k, (H+b-1)/b*k
	face := basicfont.Face7x13
	lineH := 16
	top := plotMargin + 2*lineH
	// a panel is at least as wide as its caption (7 px per character), so
	// the captions of a narrow layer's two panels do not overlap
	panelW := max(pw, 7*len("residual heat met by the laser (x h_max)")+plotMargin/2)
	imgW := max(3*plotMargin+2*panelW, 2*plotMargin+7*150)
	legend := 8 + lineH + plotBarH + lineH // label, bar, numbers
	imgH := top + ph + legend + plotMargin + plotChartH + lineH + plotMargin
	img := image.NewRGBA(image.Rect(0, 0, imgW, imgH))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	text := func(x, y int, s string) {
		d := font.Drawer{Dst: img, Src: image.Black, Face: face, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	rep := e.Thermal
	hmax := 0.0
	for _, x := range rep.Residual {
		hmax = math.Max(hmax, x)
	}
	maxHot := int32(0)
	for _, x := range rep.HotSteps {
		maxHot = max(maxHot, x)
	}
	title := opts.Title
	if title == "" {
		title = "lpbf thermal history"
	}
	text(plotMargin, plotMargin+11, title)
	text(plotMargin, plotMargin+lineH+11, fmt.Sprintf("residual heat met by the laser: peak %.3f p95 %.3f mean %.3f (x h_max); hot area %.4g mm2 (%.4g); %d vectors, %d jumps, %.3f s",
		rep.PeakResidual, rep.ResidualP95, rep.MeanResidual, e.Thermal.HotAreaNodes*e.PixelMM2, rep.HotAreaFraction,
		e.Timing.Vectors, e.Jumps, e.Timing.TotalS))

	type panel struct {
		x0    int
		value func(v int) (float64, bool) // normalised 0..1, scanned
		label string
		hi    string
	}
	panels := []panel{
		{x0: plotMargin, label: "residual heat met by the laser (x h_max)", hi: fmt.Sprintf("%.3f", hmax),
			value: func(v int) (float64, bool) {
				if hmax == 0 {
					return 0, rep.Visited[v] > 0
				}
				return rep.Residual[v] / hmax, rep.Visited[v] > 0
			}},
		{x0: 2*plotMargin + panelW, label: "steps hot after scanning", hi: fmt.Sprintf("%d", maxHot),
			value: func(v int) (float64, bool) {
				if maxHot == 0 {
					return 0, rep.Visited[v] > 0
				}
				return float64(rep.HotSteps[v]) / float64(maxHot), rep.Visited[v] > 0
			}},
	}
	grey := color.RGBA{200, 200, 200, 255}
	for _, p := range panels {
		// block maxima, then paint
		bw, bh := (W+b-1)/b, (H+b-1)/b
		val := make([]float64, bw*bh)
		state := make([]uint8, bw*bh) // 0 empty, 1 unscanned part, 2 scanned
		for v := range lat.Col {
			bx := int(lat.Col[v]-lat.ColMin) / b
			by := int(lat.RowMax-lat.Row[v]) / b
			i := by*bw + bx
			x, ok := p.value(v)
			if ok {
				state[i] = 2
				val[i] = math.Max(val[i], x)
			} else if state[i] == 0 {
				state[i] = 1
			}
		}
		for by := 0; by < bh; by++ {
			for bx := 0; bx < bw; bx++ {
				var c color.RGBA
				switch state[by*bw+bx] {
				case 0:
					continue
				case 1:
					c = grey
				default:
					c = inferno(val[by*bw+bx])
				}
				r := image.Rect(p.x0+bx*k, top+by*k, p.x0+(bx+1)*k, top+(by+1)*k)
				draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
			}
		}
		y := top + ph + 8
		text(p.x0, y+11, p.label)
		y += lineH
		for x := 0; x < 200; x++ {
			draw.Draw(img, image.Rect(p.x0+x, y, p.x0+x+1, y+plotBarH), &image.Uniform{inferno(float64(x) / 199)}, image.Point{}, draw.Src)
		}
		text(p.x0, y+plotBarH+13, "0")
		text(p.x0+200-7*len(p.hi), y+plotBarH+13, p.hi)
	}

	// hot scanned area over the scan
	cy := top + ph + legend + plotMargin
	cx, cw := plotMargin+40, imgW-2*plotMargin-40
	axis := color.RGBA{60, 60, 60, 255}
	draw.Draw(img, image.Rect(cx, cy, cx+1, cy+plotChartH), &image.Uniform{axis}, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(cx, cy+plotChartH, cx+cw, cy+plotChartH+1), &image.Uniform{axis}, image.Point{}, draw.Src)
	n := len(rep.HotNodes)
	hot := make([]float64, n) // hot scanned area per step, mm²
	peak := 0.0
	for i := 0; i < n; i++ {
		hot[i] = float64(rep.HotNodes[i]) * e.PixelMM2
		peak = math.Max(peak, hot[i])
	}
	if n > 0 && peak > 0 {
		line := color.RGBA{200, 40, 30, 255}
		for x := 0; x < cw; x++ {
			i0, i1 := x*n/cw, max(x*n/cw+1, (x+1)*n/cw)
			if i0 >= n {
				break
			}
			lo, hi := math.Inf(1), math.Inf(-1)
			for i := i0; i < min(i1, n); i++ {
				lo, hi = math.Min(lo, hot[i]), math.Max(hi, hot[i])
			}
			y0 := cy + plotChartH - int(math.Round(hi/peak*float64(plotChartH-1)))
			y1 := cy + plotChartH - int(math.Round(lo/peak*float64(plotChartH-1)))
			draw.Draw(img, image.Rect(cx+1+x, y0, cx+2+x, y1+1), &image.Uniform{line}, image.Point{}, draw.Src)
		}
	}
	text(plotMargin, cy+11, fmt.Sprintf("%.3g", peak))
	text(plotMargin, cy+plotChartH, "0")
	text(cx+8, cy+11, "hot scanned area (mm2) over the scan")
	text(cx, cy+plotChartH+14, "step 0")
	end := fmt.Sprintf("step %d", n)
	text(cx+cw-7*len(end), cy+plotChartH+14, end)
	return png.Encode(w, img)
}

// plotScale returns the screen pixels per cell k (at most 12) and the cells
// per screen pixel b of a W×H-cell map; one of them is 1.
func plotScale(W, H int) (k, b int) {
	k, b = 1, 1
	if m := max(W, H); m <= plotPanelPx {
		k = max(1, min(12, plotPanelPx/m))
	} else {
		b = (m + plotPanelPx - 1) / plotPanelPx
	}
	return k, b
}

// inferno maps x ∈ [0, 1] to a perceptually ordered dark-to-bright colour
// (piecewise-linear through five points of matplotlib's "inferno").
func inferno(x float64) color.RGBA {
	pts := [...][3]float64{{0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}}
	if !(x > 0) {
		x = 0
	}
	if x > 1 {
		x = 1
	}
	f := x * float64(len(pts)-1)
	i := min(int(f), len(pts)-2)
	t := f - float64(i)
	var c [3]uint8
	for j := range c {
		c[j] = uint8(math.Round(pts[i][j] + t*(pts[i+1][j]-pts[i][j])))
	}
	return color.RGBA{c[0], c[1], c[2], 255}
}

func (p *Process) writePlot(w io.Writer, r *planners.Result) error {
	s, err := p.resultSession(r)
	if err != nil {
		return err
	}
	order := s.order()
	if len(order) == 0 {
		return fmt.Errorf("lpbf: the plan has no moves: nothing to plot")
	}
	e, err := Evaluate(p.cfg.LPBF, s.G, order)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("lpbf / %s on %s (%d pixels, %g mm, thermal model %s)", r.Planner, filepath.Base(r.Model), s.G.NumNodes(), s.lat.S, p.tp.Model)
	return WritePlot(w, s.lat, e, PlotOptions{Title: title})
}
