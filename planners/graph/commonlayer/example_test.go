package commonlayer_test

import (
	"bytes"
	"fmt"
	"os"

	"fabcell/planners/graph/commonlayer"
)

// Write one layer with a square contour and two hatches, then read it back
// and rasterise it at 0.5 mm.
func Example() {
	f := &commonlayer.File{
		Header: commonlayer.Header{Encoding: commonlayer.ASCII, UnitsMM: 0.01, Labels: []commonlayer.Label{{ID: 1, Text: "part"}}},
		Layers: []commonlayer.Layer{{
			ZMM: 0.03,
			Polylines: []commonlayer.Polyline{{ID: 1, Dir: commonlayer.CounterClockwise,
				Points: []commonlayer.Point{{X: 0, Y: 0}, {X: 2, Y: 0}, {X: 2, Y: 2}, {X: 0, Y: 2}, {X: 0, Y: 0}},
				Params: []commonlayer.Param{{Name: "POWER", Value: 200}}}},
			Hatches: []commonlayer.Hatches{{ID: 1, Segments: []commonlayer.Segment{
				{A: commonlayer.Point{X: 0.25, Y: 0.5}, B: commonlayer.Point{X: 1.75, Y: 0.5}},
				{A: commonlayer.Point{X: 1.75, Y: 1.5}, B: commonlayer.Point{X: 0.25, Y: 1.5}}},
				Params: []commonlayer.Param{{Name: "POWER", Value: 200}}}},
		}},
	}
	var buf bytes.Buffer
	if err := commonlayer.Write(&buf, f, commonlayer.WriteOptions{Date: "010126"}); err != nil {
		fmt.Println(err)
		return
	}
	os.Stdout.Write(buf.Bytes())
	g, err := commonlayer.Parse("square.cli", buf.Bytes())
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := g.Rasterize(0, commonlayer.RasterOptions{SpacingMM: 0.5})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d cells, %d×%d, first centre %+v\n", r.Cells, r.Width, r.Height, r.Center(0, 0))
	// Output:
	// $$HEADERSTART
	// $$ASCII
	// $$UNITS/0.01
	// $$VERSION/200
	// $$LABEL/1,part
	// $$DATE/010126
	// $$DIMENSION/0.000000,0.000000,0.030000,2.000000,2.000000,0.030000
	// $$LAYERS/1
	// $$HEADEREND
	// $$GEOMETRYSTART
	// $$LAYER/3
	// $$POWER/200
	// $$POLYLINE/1,1,5,0,0,200,0,200,200,0,200,0,0
	// $$HATCHES/1,2,25,50,175,50,175,150,25,150
	// $$GEOMETRYEND
	// 16 cells, 4×4, first centre {X:0.25 Y:1.75}
}
