package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var gcodeTD = filepath.Join("..", "..", "processes", "gcode", "testdata")

func TestGcodeEstimate(t *testing.T) {
	f := filepath.Join(gcodeTD, "vase_prusaslicer-2.7.4_spiral.gcode")
	out, stderr, err := runCLI(t, "gcode", "estimate", f)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"estimated 1h 7m", "classic-jerk", "slicer (PrusaSlicer, estimated printing time (normal mode)): 1h 6m 40s (4000 s); difference +0.7"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runCLI(t, "gcode", "estimate", "--json", f)
	if err != nil {
		t.Fatal(err)
	}
	var res []map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if s := res[0]["estimate_s"].(float64); s < 3900 || s > 4100 {
		t.Errorf("estimate_s %v", s)
	}
	if _, _, err := runCLI(t, "gcode", "estimate", filepath.Join(gcodeTD, "missing.gcode")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestGcodeOptimizeAndVerify(t *testing.T) {
	in := filepath.Join(gcodeTD, "screw_prusaslicer-2.7.4_arcs.gcode")
	dir := t.TempDir()
	outPath := filepath.Join(dir, "screw.gcode")
	out, stderr, err := runCLI(t, "gcode", "optimize", in, "-o", outPath, "--verify")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, stderr)
	}
	for _, want := range []string{"lines", "extrusion moves", "travel distance (mm)", "retractions", "estimated time", "verify: ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(outPath); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, "gcode", "verify", in, outPath)
	if err != nil || !strings.Contains(out, ": ok:") {
		t.Errorf("verify: %v\n%s", err, out)
	}
	// JSON with the greedy matching and feature scope.
	out, _, err = runCLI(t, "gcode", "optimize", in, "-o", outPath, "--matching", "greedy", "--scope", "feature", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if res["matching"] != "greedy" || res["estimate_s_out"].(float64) > res["estimate_s_in"].(float64) {
		t.Errorf("json result %v", res)
	}
	// A broken output is caught: drop an extrusion line.
	data, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if i > len(lines)/2 && strings.HasPrefix(l, "G1 X") && strings.Contains(l, " E") {
			lines = append(lines[:i], lines[i+1:]...)
			break
		}
	}
	broken := filepath.Join(dir, "broken.gcode")
	if err := os.WriteFile(broken, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, "gcode", "verify", in, broken)
	if err == nil || !strings.Contains(out, "FAILED") {
		t.Errorf("broken file passed verify: %v\n%s", err, out)
	}
}

func TestGcodeUsageErrors(t *testing.T) {
	in := filepath.Join(gcodeTD, "vase_prusaslicer-2.7.4_spiral.gcode")
	cases := [][]string{
		{"gcode", "optimize", in},                                        // no -o
		{"gcode", "optimize", in, "-o", in},                              // overwrite input
		{"gcode", "optimize", in, "-o", "x.gcode", "--matching", "best"}, // bad value
		{"gcode", "verify", in},                                          // one file
	}
	for _, args := range cases {
		if _, _, err := runCLI(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.gcode")
	if err := os.WriteFile(bad, []byte("G90\nG1 X1 Y1 E1\nG2 X2 Y2 E1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCLI(t, "gcode", "optimize", bad, "-o", filepath.Join(t.TempDir(), "o.gcode"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("bad input: %v", err)
	}
}
