package gcode

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"fabcell/processes/gcode/parse"
)

// TestCuraEngine413Files optimises the CuraEngine 4.13 files of
// testdata/cura4 (a slicer and printer profiles none of the five sample
// files come from; one with per-feature M204/M205, one in the UltiGCode
// flavour with volumetric E): the output verifies against the input and is
// not slower under the estimator's Cura model.
func TestCuraEngine413Files(t *testing.T) {
	optimizeFixtures(t, "testdata/cura4/*.gcode", 3)
}

// TestPrusaSlicer25Files does the same for the PrusaSlicer 2.5 files of
// testdata/prusa25 (machine limits only in the settings footer; firmware
// retraction on RepRapFirmware), timed with the PrusaSlicer model the
// footer gives, as `fabcell gcode optimize` does.
func TestPrusaSlicer25Files(t *testing.T) {
	optimizeFixtures(t, "testdata/prusa25/*.gcode", 2)
}

func optimizeFixtures(t *testing.T, glob string, n int) {
	files, _ := filepath.Glob(glob)
	if len(files) != n {
		t.Fatalf("%s: %d files, want %d", glob, len(files), n)
	}
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		opt := DefaultOptions()
		if opt.Timing.SlicerSettings, err = parse.ReadFooter(bytes.NewReader(in), int64(len(in))); err != nil {
			t.Fatal(err)
		}
		out, rep := optimize(t, in, opt)
		vr := verifyOK(t, in, out)
		before, after := estimate(t, in, opt.Timing), estimate(t, out, opt.Timing)
		t.Logf("%s: %.1f → %.1f s (%+.2f %%; model %q), travel %.0f → %.0f mm, chunks %d reordered %d; %s",
			filepath.Base(f), before.Seconds, after.Seconds, (after.Seconds/before.Seconds-1)*100, before.Model,
			before.TravelMM, after.TravelMM, rep.Chunks, rep.Reordered, vr.Summary())
		if before.Model == "" {
			t.Errorf("%s: timed with the configured limits, want the slicer's model", f)
		}
		if after.Seconds > before.Seconds+1e-6 {
			t.Errorf("%s: slower: %.3f > %.3f s", f, after.Seconds, before.Seconds)
		}
	}
}
