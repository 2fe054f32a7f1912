package compare

import (
	"bytes"
	"path/filepath"
	"testing"

	"fabcell/planners"
	"fabcell/processes/lpbf/internal/clicheck"
)

// TestLSGDQNExposureIndependentCheck: lsg-dqn (the fast preset) passes the
// independent CLI check of package lpbf (internal/clicheck) on the
// generated masks: both encodings, re-read from bytes, melt every part
// pixel exactly once and nothing else, with the configured power and
// speed.
func TestLSGDQNExposureIndependentCheck(t *testing.T) {
	cfg := loadConfig(t)
	proc, err := planners.NewProcess("lpbf", cfg)
	if err != nil {
		t.Fatal(err)
	}
	arts := proc.(planners.ArtifactProvider).Artifacts()
	dir := t.TempDir()
	names := []string{"single", "offset1", "islands", "thin", "staircase", "holes"}
	if testing.Short() {
		names = names[:4]
	}
	masks := clicheck.Masks()
	for _, name := range names {
		rows := masks[name]
		path := filepath.Join(dir, name+".png")
		if err := clicheck.WritePNG(path, rows); err != nil {
			t.Fatal(err)
		}
		g, err := proc.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := proc.NewSession(g)
		if err != nil {
			t.Fatal(err)
		}
		pc := cfg.PlannerFor("lpbf")
		pc.Name = "lsg-dqn"
		pl, err := planners.NewPlanner(pc.Name, planners.Options{Config: pc, Process: proc})
		if err != nil {
			t.Fatal(err)
		}
		moves, err := planners.Run(t.Context(), pl, s, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r := &planners.Result{Process: "lpbf", Planner: pc.Name, Model: path, Graph: g, Session: s, Moves: moves, Metrics: s.Metrics(), Config: cfg}
		m := clicheck.MaskFromRows(cfg.LPBF.SpacingMM, rows)
		for _, a := range arts {
			if a.Name != "cli" && a.Name != "cli-binary" {
				continue
			}
			var buf bytes.Buffer
			if err := a.Write(&buf, r); err != nil {
				t.Fatalf("%s %s: %v", name, a.Name, err)
			}
			_, rep, err := clicheck.Verify(buf.Bytes(), m, clicheck.Expect{PowerW: cfg.LPBF.PowerW, SpeedMMS: cfg.LPBF.ScanSpeedMMS})
			if err != nil {
				t.Fatalf("%s %s: unreadable: %v", name, a.Name, err)
			}
			if err := rep.Err(); err != nil {
				t.Fatalf("%s %s: %v", name, a.Name, err)
			}
			if a.Name == "cli" {
				t.Logf("%-9s %4d px: %4d hatches, %4d of zero length", name, len(m.In), rep.Hatches, rep.ZeroLength)
			}
		}
	}
}
