package timing

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"

	"fabcell/processes/gcode/parse"
)

// TestCuraEngine413 checks the Cura machine model against the CuraEngine
// 4.13 binary's own estimates (testdata/cura4/SOURCES.md): over the span
// the engine times (the layers, not the profile's start and end G-code),
// our total is within 1 % of its last ";TIME_ELAPSED:", and every layer's
// running total within 2 percentage points of progress.
func TestCuraEngine413(t *testing.T) {
	cases := []struct {
		file   string
		layers int
		jerk   bool // the file sets M204/M205 per feature
		model  string
	}{
		{"bunny15_cura4.13.gcode", 133, false, CuraModel},
		{"ducks4_cura4.13_accel-jerk.gcode", 49, true, CuraModel},
		// UltiGCode: volumetric E (2.85 mm filament) and the Ultimaker 2
		// profile's acceleration and feeds.
		{"duck12_cura4.13_ultimaker2-ultigcode.gcode", 97, false, CuraUltimaker2Model},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			f, err := os.Open("../testdata/cura4/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := EstimateReader(context.Background(), f, DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if r.Model != c.model || r.Junction != Marlin1Jerk {
				t.Fatalf("model %q junction %v, want %q with Marlin 1.0 junctions", r.Model, r.Junction, c.model)
			}
			if r.Meta.EmbeddedSource != ";TIME_ELAPSED:" || r.Meta.EmbeddedS == 6666 {
				t.Fatalf("slicer estimate %v s from %q: the ;TIME:6666 placeholder won", r.Meta.EmbeddedS, r.Meta.EmbeddedSource)
			}
			if len(r.Progress) != c.layers {
				t.Fatalf("%d progress marks, want one per layer (%d)", len(r.Progress), c.layers)
			}
			sp := r.SlicerSpan
			if sp == nil {
				t.Fatal("no slicer span")
			}
			diff := sp.OursS/sp.SlicerS - 1
			t.Logf("%s: whole file %.1f s (%+.2f %%), layers %.1f s vs CuraEngine %.1f s (%+.2f %%)",
				c.file, r.Seconds, (r.Seconds/r.Meta.EmbeddedS-1)*100, sp.OursS, sp.SlicerS, diff*100)
			if math.Abs(diff) > 0.01 {
				t.Errorf("layers: ours %.2f s, CuraEngine %.2f s (%+.2f %%), want within 1 %%", sp.OursS, sp.SlicerS, diff*100)
			}
			if r.Seconds <= sp.OursS {
				t.Errorf("whole file %.2f s not longer than its layers %.2f s (start G-code homes and primes)", r.Seconds, sp.OursS)
			}
			// Layer by layer over the same span.
			var t0 float64 = r.Seconds - sp.OursS - (r.Seconds - r.Progress[len(r.Progress)-1].ElapsedS)
			for _, cp := range r.Progress {
				ours := (cp.ElapsedS - t0) / sp.OursS * 100
				slicer := cp.SlicerElapsedS / sp.SlicerS * 100
				if math.Abs(ours-slicer) > 2 {
					t.Errorf("line %d: %.2f %% of the layers' time, CuraEngine %.2f %%", cp.Line, ours, slicer)
					break
				}
			}
			if c.jerk {
				// The file's per-feature M204 S / M205 X Y (3,000–5,000
				// mm/s², 20–30 mm/s) are applied: without them the
				// layers take longer at the profile's 4,000 mm/s² and
				// 20 mm/s, and the junction model stays Cura's.
				data, err := os.ReadFile("../testdata/cura4/" + c.file)
				if err != nil {
					t.Fatal(err)
				}
				var kept []string
				for _, ln := range strings.Split(string(data), "\n") {
					if !strings.HasPrefix(ln, "M204 ") && !strings.HasPrefix(ln, "M205 ") {
						kept = append(kept, ln)
					}
				}
				plain := estimateText(t, strings.Join(kept, "\n"), DefaultConfig())
				t.Logf("without M204/M205: layers %.1f s", plain.SlicerSpan.OursS)
				if plain.Junction != Marlin1Jerk || plain.SlicerSpan.OursS <= sp.OursS*1.001 {
					t.Errorf("without M204/M205: layers %.2f s (%v), with them %.2f s (%v)", plain.SlicerSpan.OursS, plain.Junction, sp.OursS, r.Junction)
				}
			}
		})
	}
}

// TestTimeElapsedWinsOverPlaceholder: CuraEngine without the Cura front
// end writes ";TIME:6666"; its running ";TIME_ELAPSED:" totals are the
// estimate, the last one is the total, and they become progress marks.
func TestTimeElapsedWinsOverPlaceholder(t *testing.T) {
	const text = ";FLAVOR:Marlin\n;TIME:6666\n;Generated with Cura_SteamEngine 4.13.0\nG90\nM82\n;LAYER:0\n" +
		"G1 F1200 X10 Y0 E1\n;TIME_ELAPSED:0.75\n;LAYER:1\nG1 X10 Y10 E2\n;TIME_ELAPSED:1.5\nG1 X0 Y0\n"
	r := estimateText(t, text, DefaultConfig())
	if r.Meta.EmbeddedS != 1.5 || r.Meta.EmbeddedSource != ";TIME_ELAPSED:" {
		t.Fatalf("embedded %v s from %q, want 1.5 s from ;TIME_ELAPSED:", r.Meta.EmbeddedS, r.Meta.EmbeddedSource)
	}
	if len(r.Progress) != 2 || r.Progress[0].Percent != 50 || r.Progress[1].Percent != 100 || r.Progress[1].RemainM != 0 {
		t.Fatalf("progress %+v", r.Progress)
	}
	if r.SlicerSpan == nil || r.SlicerSpan.FromLine != 6 || r.SlicerSpan.ToLine != 11 {
		t.Fatalf("span %+v, want lines 6-11", r.SlicerSpan)
	}
	if r.SlicerSpan.OursS >= r.Seconds {
		t.Errorf("span %.3f s includes the travel after the last layer (whole %.3f s)", r.SlicerSpan.OursS, r.Seconds)
	}
	for _, bad := range []string{"TIME_ELAPSED:", "TIME_ELAPSED:-1", "TIME_ELAPSED:abc", "TIME_ELAPSED:nan", "TIME_ELAPSED:inf"} {
		if v, ok := parse.TimeElapsed([]byte(bad)); ok {
			t.Errorf("TimeElapsed(%q) = %v, accepted", bad, v)
		}
	}
}
