package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fabcell/processes/gcode"
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

// TestGcodeEstimateReadsFooter: the CLI reads a PrusaSlicer file's settings
// footer ahead of the stream and times the file with the machine limits
// recorded only there; --no-slicer-limits times it with the configured
// ones.
func TestGcodeEstimateReadsFooter(t *testing.T) {
	f := filepath.Join(gcodeTD, "prusa25", "duck12_prusaslicer-2.5.0_marlin2-limits.gcode")
	out, stderr, err := runCLI(t, "gcode", "estimate", f)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"PrusaSlicer GCodeProcessor, machine limits from the file's settings", "(247 s); difference -0.3"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runCLI(t, "gcode", "estimate", "--no-slicer-limits", f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "PrusaSlicer GCodeProcessor") || !strings.Contains(out, "configured limits") {
		t.Errorf("--no-slicer-limits still uses the slicer's model:\n%s", out)
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
	// Combing flags: exclusive, and a bad detour is named by its key.
	o := filepath.Join(t.TempDir(), "c.gcode")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--comb", "--no-comb"}, "--no-comb"},
		{[]string{"--comb-max-detour", "0.5"}, "gcode.comb_max_detour"},
	} {
		_, _, err := runCLI(t, append([]string{"gcode", "optimize", in, "-o", o}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error naming %s", c.args, err, c.want)
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

// TestGcodeOptimizeKeepsInputWhenSlower: when the re-compiled file is
// estimated slower as a whole, optimize writes the input unchanged and
// says so. The optimiser is run with ForceReorder on a program that this
// makes 1 % slower (a real slower output, not a mock estimate).
func TestGcodeOptimizeKeepsInputWhenSlower(t *testing.T) {
	in := filepath.Join(gcodeTD, "random", "slower-when-forced.gcode")
	orig, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	defer func(f func(context.Context, io.Reader, io.Writer, gcode.Options) (gcode.Report, error)) {
		optimizeGcode = f
	}(optimizeGcode)
	optimizeGcode = func(ctx context.Context, r io.Reader, w io.Writer, opt gcode.Options) (gcode.Report, error) {
		opt.ForceReorder = true
		return gcode.Optimize(ctx, r, w, opt)
	}
	outPath := filepath.Join(t.TempDir(), "out.gcode")
	out, stderr, err := runCLI(t, "gcode", "optimize", in, "-o", outPath, "--json", "--verify")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	rejected, _ := res["estimate_s_rejected"].(float64)
	if res["kept_input"] != true || !strings.Contains(fmt.Sprint(res["kept_input_reason"]), "slower") ||
		rejected <= res["estimate_s_in"].(float64) || res["estimate_s_out"] != res["estimate_s_in"] {
		t.Errorf("slower output not rejected: %v", res)
	}
	got, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, orig) {
		t.Error("output is not the unchanged input")
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(outPath), ".*tmp*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
	// The same input through --force keeps the (slower) reordered file.
	out, _, err = runCLI(t, "gcode", "optimize", in, "-o", outPath, "--force")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "kept the input") {
		t.Errorf("--force kept the input:\n%s", out)
	}
	// The real optimiser: never slower, so never needs the net here.
	optimizeGcode = gcode.Optimize
	out, _, err = runCLI(t, "gcode", "optimize", in, "-o", outPath)
	if err != nil || strings.Contains(out, "kept the input") {
		t.Errorf("default optimiser: %v\n%s", err, out)
	}
}

// TestGcodeOptimizePipes: "-" reads standard input and writes standard
// output (the report then goes to standard error); the piped result is
// byte for byte the file-to-file one.
func TestGcodeOptimizePipes(t *testing.T) {
	in := filepath.Join(gcodeTD, "screw_prusaslicer-2.7.4_arcs.gcode")
	outPath := filepath.Join(t.TempDir(), "screw.gcode")
	if _, _, err := runCLI(t, "gcode", "optimize", in, "-o", outPath); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetIn(bytes.NewReader(src))
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs([]string{"gcode", "optimize", "-", "-o", "-", "--verify"})
	if err := root.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("piped output differs from the file output (%d vs %d bytes)", out.Len(), len(want))
	}
	for _, w := range []string{"estimated time", "verify: ok", "stdin", "stdout"} {
		if !strings.Contains(errb.String(), w) {
			t.Errorf("report on stderr lacks %q:\n%s", w, errb.String())
		}
	}
	// estimate - : the same estimate as the file's
	fileOut, _, err := runCLI(t, "gcode", "estimate", in)
	if err != nil {
		t.Fatal(err)
	}
	root = newRootCmd()
	out.Reset()
	root.SetIn(bytes.NewReader(src))
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs([]string{"gcode", "estimate", "-"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Replace(out.String(), "stdin:", in+":", 1); got != fileOut {
		t.Fatalf("estimate of standard input:\n%s\nof the file:\n%s", out.String(), fileOut)
	}
}
