package thermal_test

import (
	"fmt"
	"strings"

	"fabcell/config"
	"fabcell/planners/graph"
	"fabcell/planners/graph/commonlayer"
	"fabcell/simulation/thermal"
)

// A laser step on a 9-pixel line (pitch 0.05 mm, kernel radius 3 pitches):
// the kernel of Eq. 12, then the same pixels one step later after the
// diffusion sub-step (316L at 800 mm/s: rate Fo = 0.10125), the decay to
// the substrate (0.89875) and the next kernel.
func ExampleField() {
	r := &commonlayer.Raster{SpacingMM: 0.05, Width: 9, Height: 1, RowStart: []int32{0, 1},
		Spans: []commonlayer.Span{{C0: 0, C1: 9}}, Cells: 9}
	g, err := graph.FromRaster(r, 0, 0)
	if err != nil {
		panic(err)
	}
	p, err := thermal.FromConfig(config.Defaults().LPBF)
	if err != nil {
		panic(err)
	}
	f, err := thermal.New(g, p)
	if err != nil {
		panic(err)
	}
	show := func() {
		row := make([]string, 9)
		for v := range row {
			row[v] = fmt.Sprintf("%.3f", f.Temp(v))
		}
		fmt.Println(strings.Join(row, " "))
	}
	f.Step(4)
	show()
	f.Step(5)
	show()
	// Output:
	// 0.000 0.000 0.277 0.585 1.000 0.585 0.277 0.000 0.000
	// 0.000 0.025 0.252 0.812 1.000 1.000 0.837 0.302 0.000
}
