package lpbf_test

import (
	"fmt"

	"fabcell/config"
	"fabcell/planners/graph"
	"fabcell/planners/graph/commonlayer"
	"fabcell/processes/lpbf"
)

// The zig-zag order of a 4×3-pixel layer, its scan vectors and the shared
// evaluator's scan metrics with the default laser settings.
func ExampleEvaluate() {
	r := &commonlayer.Raster{SpacingMM: 0.05, Width: 4, Height: 3, RowStart: []int32{0, 1, 2, 3},
		Spans: []commonlayer.Span{{C0: 0, C1: 4}, {C0: 0, C1: 4}, {C0: 0, C1: 4}}, Cells: 12}
	g, err := graph.FromRaster(r, 0, 0)
	if err != nil {
		panic(err)
	}
	lat, err := lpbf.NewLattice(g)
	if err != nil {
		panic(err)
	}
	order := (&lpbf.Zigzag{}).Order(lat)
	fmt.Println("order:", order)
	for _, v := range lpbf.ScanVectors(lat, order) {
		fmt.Printf("vector %d→%d, %d pixels\n", v.From, v.To, v.Pixels)
	}
	e, err := lpbf.Evaluate(config.Defaults().LPBF, g, order)
	if err != nil {
		panic(err)
	}
	m := e.Map()
	fmt.Printf("jumps %v, scan vectors %v, mark %v mm, laser off %v mm, scan time %.6f s\n",
		m["jumps"], m["scan_vectors"], m["mark_mm"], m["laser_off_mm"], m["scan_time_s"])
	// Output:
	// order: [0 1 2 3 7 6 5 4 8 9 10 11]
	// vector 0→3, 4 pixels
	// vector 7→4, 4 pixels
	// vector 8→11, 4 pixels
	// jumps 0, scan vectors 3, mark 0.45 mm, laser off 0.1 mm, scan time 0.001883 s
}
