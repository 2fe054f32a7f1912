package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"fabcell/planners/graph"
)

var graphTD = filepath.Join("..", "..", "planners", "graph", "testdata")
var cliTD = filepath.Join("..", "..", "planners", "graph", "commonlayer", "testdata")

// runCLI runs the command tree in-process.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errb.String(), err
}

func TestValidateModels(t *testing.T) {
	models := []string{
		filepath.Join(graphTD, "NodeFemur_wireframe.txt"),
		filepath.Join(graphTD, "NodeBearing_CCF.txt"),
		filepath.Join(graphTD, "Femur_wireframe.obj"),
		filepath.Join(graphTD, "assembly_instances", "duck.json"),
		filepath.Join(graphTD, "conmech", "tower_3D.json"),
		filepath.Join(graphTD, "png", "islands_paletted.png"),
		filepath.Join(cliTD, "s_Cylinder_ex.cli"),
	}
	stdout, stderr, err := runCLI(t, append([]string{"validate"}, models...)...)
	if err != nil {
		t.Fatalf("validate: %v\nstderr: %s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	// 6 single models + 8 CLI layers + 1 CLI summary line
	if len(lines) != 15 {
		t.Fatalf("%d output lines:\n%s", len(lines), stdout)
	}
	// each report line states what the loader returns
	for i, m := range models[:6] {
		g, err := graph.Load(m, graph.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, nc := g.Components()
		want := fmt.Sprintf("%s: %s (%s) nodes=%d edges=%d components=%d grounded=%d bbox=", m, g.Name, g.Kind, g.NumNodes(), g.NumEdges(), nc, g.NumGrounded())
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d:\n got %s\nwant %s...", i, lines[i], want)
		}
	}
	// sizes from the data's SOURCES.md
	for _, w := range []string{"nodes=263 edges=772", "nodes=294 edges=575", "nodes=305 edges=909 components=1 grounded=72", "nodes=10 edges=24", "doubled_edges=575"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if !strings.Contains(stdout, "material=[Steel E=2.1e+11 Pa") || !strings.Contains(stdout, "material=[PLA E=3.5e+09 Pa") {
		t.Errorf("materials not reported:\n%s", stdout)
	}
	if !strings.Contains(stdout, "s_Cylinder_ex.cli#7: s_Cylinder_ex (pixel)") || !strings.Contains(stdout, "s_Cylinder_ex.cli: 8 layers: 8 loaded, 0 empty") {
		t.Errorf("CLI layers not reported:\n%s", stdout)
	}
	if stderr != "" {
		t.Errorf("unexpected stderr: %s", stderr)
	}
}

func TestValidateLayeredSummaryAndSkips(t *testing.T) {
	stdout, stderr, err := runCLI(t, "validate", "--summary",
		filepath.Join(cliTD, "Box_support_solid_ascii_with_params.cli"),
		filepath.Join(graphTD, "conmech", "tower_3D_loads.json"),
		filepath.Join(graphTD, "assembly_instances", "tre_foil_knot.json"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "Box_support_solid_ascii_with_params.cli: 1012 layers: 910 loaded, 102 empty (skipped: #0-#100, #1011)") {
		t.Errorf("summary:\n%s", stdout)
	}
	if strings.Contains(stdout, ".cli#") {
		t.Errorf("--summary printed layer lines")
	}
	if !strings.Contains(stdout, "skipped: "+filepath.Join(graphTD, "conmech", "tower_3D_loads.json")+": conmech load-case file") {
		t.Errorf("load-case file not skipped:\n%s", stdout)
	}
	if !strings.Contains(stderr, "tre_foil_knot.json: warning: base_frame_in_rob_base: Origin (600, 0, 25) and OriginX/Y/Z (600, 0, 23.5) disagree; using Origin") {
		t.Errorf("warning missing:\n%s", stderr)
	}
}

func TestValidateBadFile(t *testing.T) {
	bad := filepath.Join(graphTD, "bad", "face_bad_index.obj")
	good := filepath.Join(graphTD, "NodeFemur_wireframe.txt")
	stdout, stderr, err := runCLI(t, "validate", good, bad)
	if err == nil || err.Error() != "1 of 2 models failed to load" {
		t.Fatalf("err %v", err)
	}
	var ue usageError
	if errors.As(err, &ue) {
		t.Error("a bad model is not a usage error (exit 1, not 2)")
	}
	want := bad + ":6: face: vertex index 9 out of range [1,3]\n"
	if stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	if !strings.Contains(stdout, "nodes=263") {
		t.Errorf("the good model was not reported: %s", stdout)
	}
	// a CLI layer that fails is counted per layer
	_, stderr, err = runCLI(t, "validate", filepath.Join(graphTD, "bad", "cli_truncated_binary.cli"))
	if err == nil || !strings.Contains(stderr, "cli_truncated_binary.cli: byte 4") {
		t.Errorf("truncated CLI: %v %q", err, stderr)
	}
}

func TestValidateJSON(t *testing.T) {
	stdout, _, err := runCLI(t, "validate", "--json", "--spacing-mm", "0.1", filepath.Join(cliTD, "s_Cylinder_ex.cli#0"), filepath.Join(graphTD, "conmech", "four-frame.json"))
	if err != nil {
		t.Fatal(err)
	}
	var reps []modelReport
	if err := json.Unmarshal([]byte(stdout), &reps); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(reps) != 2 || reps[0].Kind != "pixel" || reps[0].SpacingMM != 0.1 || reps[1].Nodes != 5 || reps[1].Edges != 4 || reps[1].Grounded != 2 || len(reps[1].Materials) != 1 {
		t.Errorf("reports %+v", reps)
	}
	g, err := graph.Load(filepath.Join(cliTD, "s_Cylinder_ex.cli#0"), graph.LoadOptions{SpacingMM: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if reps[0].Nodes != g.NumNodes() || reps[0].Edges != g.NumEdges() {
		t.Errorf("CLI report %+v vs graph %d/%d", reps[0], g.NumNodes(), g.NumEdges())
	}
}

func TestValidateUsageAndConfig(t *testing.T) {
	_, _, err := runCLI(t, "validate", "--kind", "bogus", filepath.Join(graphTD, "NodeFemur_wireframe.txt"))
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("--kind bogus: %v, want a usage error", err)
	}
	_, _, err = runCLI(t, "validate", "--spacing-mm", "-1", filepath.Join(cliTD, "s_Cylinder_ex.cli"))
	if !errors.As(err, &ue) {
		t.Errorf("negative spacing: %v, want a usage error", err)
	}
	stdout, _, err := runCLI(t, "validate")
	if err != nil || !strings.Contains(stdout, `config ok (cell "cell1")`) {
		t.Errorf("no args: %v %q", err, stdout)
	}
	_, _, err = runCLI(t, "validate", "--config", filepath.Join("..", "..", "config", "examples", "cell.yaml"))
	if err != nil {
		t.Errorf("example config: %v", err)
	}
	_, _, err = runCLI(t, "validate", filepath.Join(graphTD, "SOURCES.md"))
	if err == nil {
		t.Error("a non-model file validated")
	}
}

// NaN and infinite lengths are usage errors (exit 2), like negative ones;
// NaN used to pass the "< 0" test and load with a NaN pitch.
func TestValidateRejectsNonFiniteLengths(t *testing.T) {
	model := filepath.Join(graphTD, "NodeFemur_wireframe.txt")
	for _, flag := range []string{"--pixel-mm=nan", "--spacing-mm=+Inf", "--ground-z-mm=-1", "--ground-z-mm=NaN"} {
		_, _, err := runCLI(t, "validate", flag, model)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "must be finite and not negative") {
			t.Errorf("%s: %v", flag, err)
		}
	}
}
