package gcode

import (
	"os"
	"sync"
	"testing"

	"fabcell/processes/gcode/ir"
)

// TestRetractionFollowsCrossingRule optimises sample files and checks every
// crossing decision the emitter makes for a generated or retargeted travel
// against the crossing rule evaluated by brute force (ir.TravelCrosses, no
// grid) over the chunk's perimeter segments listed from its input lines
// (arcs as the index's 1 mm chords), at the chunk's eps (half the
// resolution). It also counts the travels that cross only through a
// perimeter vertex or along a wall, which the rule before vertex contacts
// let through without retraction.
func TestRetractionFollowsCrossingRule(t *testing.T) {
	files := []string{"testdata/puzzle_cura-2.3.1_reprap.gcode", "testdata/benchy_prusaslicer-2.6.1_marlin2.gcode", "testdata/screw_prusaslicer-2.7.4_arcs.gcode"}
	if testing.Short() {
		files = files[:1]
	}
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var decisions, crossed, vertexOnly int
		crossHook = func(j *job, a, b ir.Vec, got bool) {
			A, B := perimeterSegments(j, 1)
			eps := j.g.Res / 2
			want := ir.TravelCrosses(a, b, A, B, eps)
			proper := false
			for k := range A {
				proper = proper || ir.ProperCross(a, b, A[k], B[k], eps)
			}
			mu.Lock()
			defer mu.Unlock()
			decisions++
			if got != want {
				t.Errorf("%s: travel %v→%v: emitter crossed=%v, rule %v", f, a, b, got, want)
			}
			if want {
				crossed++
				if !proper {
					vertexOnly++
				}
			}
		}
		out, _ := optimize(t, in, DefaultOptions())
		crossHook = nil
		verifyOK(t, in, out)
		t.Logf("%s: %d crossing decisions, %d crossing, %d of them only through a vertex or along a wall", f, decisions, crossed, vertexOnly)
		if decisions < 100 || crossed == 0 {
			t.Fatalf("%s: only %d decisions, %d crossing", f, decisions, crossed)
		}
	}
}
