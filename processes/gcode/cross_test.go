package gcode

import (
	"os"
	"sync"
	"testing"

	"fabcell/processes/gcode/ir"
)

// TestRetractionFollowsCrossingRule optimises sample files and checks every
// retraction decision the emitter makes for a generated or retargeted
// travel against the rule evaluated by brute force (no grid, no strips):
// the travel crosses a perimeter (ir.TravelCrosses over the chunk's
// perimeter segments listed from its input lines, arcs as the index's 1 mm
// chords, at the chunk's eps, half the resolution) or runs outside the part
// (ir.TravelOutsideLoops over the closed outer-wall loops, when the chunk
// has any). It also counts the travels that cross only through a perimeter
// vertex or along a wall, which the rule before vertex contacts let through
// without retraction, and those that retract only because they run over
// air (seam to seam between islands, across a hole), which the rule before
// the part region let through.
func TestRetractionFollowsCrossingRule(t *testing.T) {
	files := []string{"testdata/puzzle_cura-2.3.1_reprap.gcode", "testdata/benchy_prusaslicer-2.6.1_marlin2.gcode", "testdata/screw_prusaslicer-2.7.4_arcs.gcode"}
	if testing.Short() {
		files = files[:1]
	}
	airTotal := 0
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var decisions, crossed, vertexOnly, overAir int
		crossHook = func(j *job, a, b ir.Vec, got bool) {
			A, B := perimeterSegments(j, 1)
			LA, LB := outerLoops(j)
			eps := j.g.Res / 2
			crosses := ir.TravelCrosses(a, b, A, B, eps)
			air := !crosses && len(LA) > 0 && ir.TravelOutsideLoops(a, b, LA, LB, eps)
			want := crosses || air
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
			if crosses {
				crossed++
				if !proper {
					vertexOnly++
				}
			}
			if air {
				overAir++
			}
		}
		out, _ := optimize(t, in, DefaultOptions())
		crossHook = nil
		verifyOK(t, in, out)
		t.Logf("%s: %d retraction decisions, %d crossing, %d of them only through a vertex or along a wall; %d over air", f, decisions, crossed, vertexOnly, overAir)
		if decisions < 100 || crossed == 0 {
			t.Fatalf("%s: only %d decisions, %d crossing", f, decisions, crossed)
		}
		airTotal += overAir
	}
	if airTotal == 0 {
		t.Fatal("no travel over air in the sample files: the part region is not exercised")
	}
}
