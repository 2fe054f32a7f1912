package lpbf

import (
	"bytes"
	"image/color"
	"image/png"
	"testing"

	"fabcell/planners"
)

func TestInferno(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want color.RGBA
	}{
		{0, color.RGBA{0, 0, 4, 255}}, {-1, color.RGBA{0, 0, 4, 255}}, {1, color.RGBA{252, 255, 164, 255}},
		{2, color.RGBA{252, 255, 164, 255}}, {0.5, color.RGBA{188, 55, 84, 255}},
		{0.125, color.RGBA{44, 8, 57, 255}}, // halfway between the first two points
	} {
		if got := inferno(tc.x); got != tc.want {
			t.Errorf("inferno(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
}

// The heat map paints every scanned pixel with the colour of its value,
// leaves the background white and marks unscanned part pixels grey.
func TestWritePlot(t *testing.T) {
	p := testProcess(t, nil)
	// an L of 3×3 + a separate pixel; the plan leaves the separate pixel
	// unscanned (partial order)
	g := maskGraph(t, 5, 3, func(c, r int) bool { return (c < 3 && (r == 0 || c == 0)) || (c == 4 && r == 2) })
	lat, _ := NewLattice(g)
	s := session(t, p, g)
	var order []int
	for v := 0; v < g.NumNodes(); v++ {
		if !(lat.Col[v] == 4) {
			order = append(order, v)
		}
	}
	if _, err := planners.Replay(s, order); err != nil {
		t.Fatal(err)
	}
	e, err := Evaluate(p.cfg.LPBF, g, order)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WritePlot(&buf, lat, e, PlotOptions{Title: "test"}); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	k, b := plotScale(5, 3)
	if k != 12 || b != 1 {
		t.Fatalf("scale %d, %d", k, b)
	}
	top := plotMargin + 2*16
	hmax := 0.0
	for _, x := range e.Thermal.Residual {
		hmax = max(hmax, x)
	}
	at := func(col, row int) color.RGBA { // cell (col, row from the top), first panel
		c := img.At(plotMargin+col*k+k/2, top+row*k+k/2)
		r, g, b, a := c.RGBA()
		return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
	}
	for v := range lat.Col {
		col, row := int(lat.Col[v]-lat.ColMin), int(lat.RowMax-lat.Row[v])
		want := inferno(e.Thermal.Residual[v] / hmax)
		if lat.Col[v] == 4 {
			want = color.RGBA{200, 200, 200, 255}
		}
		if got := at(col, row); got != want {
			t.Fatalf("cell (%d,%d): %v, want %v", col, row, got, want)
		}
	}
	if got := at(3, 1); got != (color.RGBA{255, 255, 255, 255}) {
		t.Fatalf("background %v", got)
	}
}

// TestPlotCaptionsOfANarrowLayer: the two heat maps of a narrow layer used
// to sit 200 px apart under a 280 px caption, so the captions overlapped;
// the second panel now starts after the first caption (7 px per character
// of basicfont.Face7x13).
func TestPlotCaptionsOfANarrowLayer(t *testing.T) {
	p := testProcess(t, nil)
	g := maskGraph(t, 1, 1, func(c, r int) bool { return true })
	e, err := Evaluate(p.cfg.LPBF, g, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	lat, _ := NewLattice(g)
	var buf bytes.Buffer
	if err := WritePlot(&buf, lat, e, PlotOptions{Title: "dot"}); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// the pixel of the second map (hot for 1 step of 1: the top colour)
	caption := 7 * len("residual heat met by the laser (x h_max)")
	top := plotMargin + 2*16
	x2 := -1
	for x := 0; x < img.Bounds().Dx() && x2 < 0; x++ {
		if c := color.RGBAModel.Convert(img.At(x, top+1)).(color.RGBA); c == inferno(1) {
			x2 = x
		}
	}
	if x2 < plotMargin+caption {
		t.Errorf("second map at x = %d, inside the first caption (%d..%d px)", x2, plotMargin, plotMargin+caption)
	}
}
