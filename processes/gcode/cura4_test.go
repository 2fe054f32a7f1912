package gcode

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCuraEngine413Files optimises the two CuraEngine 4.13 files of
// testdata/cura4 (a slicer and a printer profile none of the five sample
// files come from; one with per-feature M204/M205): the output verifies
// against the input and is not slower under the estimator's Cura model.
func TestCuraEngine413Files(t *testing.T) {
	files, _ := filepath.Glob("testdata/cura4/*.gcode")
	if len(files) != 2 {
		t.Fatalf("%d CuraEngine 4.13 files", len(files))
	}
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		opt := DefaultOptions()
		out, rep := optimize(t, in, opt)
		vr := verifyOK(t, in, out)
		before, after := estimate(t, in, opt.Timing), estimate(t, out, opt.Timing)
		t.Logf("%s: %.1f → %.1f s (%+.2f %%; model %q), travel %.0f → %.0f mm, chunks %d reordered %d; %s",
			filepath.Base(f), before.Seconds, after.Seconds, (after.Seconds/before.Seconds-1)*100, before.Model,
			before.TravelMM, after.TravelMM, rep.Chunks, rep.Reordered, vr.Summary())
		if after.Seconds > before.Seconds+1e-6 {
			t.Errorf("%s: slower: %.3f > %.3f s", f, after.Seconds, before.Seconds)
		}
	}
}
