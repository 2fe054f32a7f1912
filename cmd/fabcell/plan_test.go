package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fabcell/planners"
)

// TestPlanIncompleteWritesDiagnostics plans conmech's 10 m steel tower,
// which no UR5e can reach: the command fails naming the cause, writes the
// partial plan and the per-strut report (every strut with its reason), and
// does not write a URScript program.
func TestPlanIncompleteWritesDiagnostics(t *testing.T) {
	dir := t.TempDir()
	out, rep, scr := filepath.Join(dir, "plan.json"), filepath.Join(dir, "report.json"), filepath.Join(dir, "p.script")
	root := newRootCmd()
	var buf bytes.Buffer
	root.SetOut(&buf)
	root.SetErr(&buf)
	root.SetArgs([]string{"plan", "--process", "wireframe", "--planner", "greedy", "-q",
		"--model", filepath.Join(feaData, "conmech/tower_3D.json"), "--out", out, "--report", rep, "--urscript", scr})
	err := root.Execute()
	if err == nil {
		t.Fatal("planning an unreachable tower succeeded")
	}
	for _, want := range []string{"partial plan (0 moves)", "--report " + rep, "not written for an incomplete plan: --urscript", "24 unreachable"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := os.Stat(scr); !os.IsNotExist(err) {
		t.Errorf("URScript of an incomplete plan written (stat: %v)", err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("partial plan: %v", err)
	}
	data, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Unreachable []struct {
			Edge   int    `json:"edge"`
			Reason string `json:"reason"`
		} `json:"unreachable"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Unreachable) != 24 {
		t.Fatalf("report lists %d unreachable struts, want all 24", len(r.Unreachable))
	}
	for _, u := range r.Unreachable {
		if u.Reason == "" {
			t.Errorf("strut %d unreachable without a reason", u.Edge)
		}
	}
}

// TestPlanPlotIsPNG: --plot writes PNG bytes, so a name with another image
// extension is refused before anything is planned or written.
func TestPlanPlotIsPNG(t *testing.T) {
	dir := t.TempDir()
	model := writeCCFModel(t, dir, "Tri", [][2]float64{{0, 0}, {40, 0}, {20, 30}}, [][2]int{{0, 1}, {1, 2}, {2, 0}})
	plan := filepath.Join(dir, "plan.json")
	_, _, err := runFabcell("plan", "-q", "--process", "ccf", "--planner", "euler", "--model", model, "--out", plan, "--plot", filepath.Join(dir, "stroke.svg"))
	if err == nil || !strings.Contains(err.Error(), "PNG") || !strings.Contains(err.Error(), ".svg") {
		t.Fatalf("--plot stroke.svg: err = %v", err)
	}
	if _, err := os.Stat(plan); !os.IsNotExist(err) {
		t.Errorf("plan written although the command was refused (stat: %v)", err)
	}
	png := filepath.Join(dir, "stroke.PNG")
	if _, stderr, err := runFabcell("plan", "-q", "--process", "ccf", "--planner", "euler", "--model", model, "--out", plan, "--plot", png); err != nil {
		t.Fatalf("--plot stroke.PNG: %v\n%s", err, stderr)
	}
	if b, _ := os.ReadFile(png); !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("plot is not a PNG: % x", b[:min(8, len(b))])
	}
}

// TestWriteArtifactInterrupted: an interrupt (ctx) ends an artifact that is
// still being written at once, with no file and no temporary file left,
// even when the artifact's writer does not stop by itself.
func TestWriteArtifactInterrupted(t *testing.T) {
	dir := t.TempDir()
	release := make(chan struct{})
	defer close(release)
	slow := planners.Artifact{Name: "slow", Write: func(w io.Writer, _ *planners.Result) error {
		w.Write([]byte("G1 X0\n"))
		<-release // a writer that ignores the interrupt
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- writeArtifact(ctx, filepath.Join(dir, "layer.gcode"), slow, &planners.Result{}) }()
	cancel()
	select {
	case err := <-errc:
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want the interrupt", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("writeArtifact did not return after the interrupt")
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("left behind: %v", es)
	}
	// a writer's error removes the temporary file as well
	bad := planners.Artifact{Name: "bad", Write: func(w io.Writer, _ *planners.Result) error {
		w.Write([]byte("half"))
		return errors.New("layer outline: no area")
	}}
	if err := writeArtifact(context.Background(), filepath.Join(dir, "x.gcode"), bad, &planners.Result{}); err == nil {
		t.Fatal("writer error lost")
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("left behind after a writer error: %v", es)
	}
}

// TestPlanHelpModelFlag: the --model flag's usage shows its type, not a
// back-quoted phrase that pflag would take for the value name.
func TestPlanHelpModelFlag(t *testing.T) {
	usage := newPlanCmd().Flags().FlagUsages()
	if !strings.Contains(usage, "--model string ") {
		t.Errorf("--model in the help:\n%s", usage)
	}
}

// TestPlanOnePixelLayerRoundTrips: a layer of one pixel is planned with no
// moves; its plan keeps the start node (path [0], moves []) instead of null,
// and evaluate reads it back as complete.
func TestPlanOnePixelLayerRoundTrips(t *testing.T) {
	dir := t.TempDir()
	mask := filepath.Join(dir, "dot.png")
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	img.SetGray(1, 1, color.Gray{})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(mask, b.Bytes(), 0o644)
	plan := filepath.Join(dir, "plan.json")
	if _, stderr, err := runFabcell("plan", "-q", "--process", "lpbf", "--planner", "greedy", "--model", mask, "--out", plan); err != nil {
		t.Fatalf("plan: %v\n%s", err, stderr)
	}
	data, _ := os.ReadFile(plan)
	var pf struct {
		Path  []int             `json:"path"`
		Moves []json.RawMessage `json:"moves"`
	}
	if err := json.Unmarshal(data, &pf); err != nil || len(pf.Path) != 1 || pf.Path[0] != 0 || pf.Moves == nil {
		t.Fatalf("plan of one pixel: path %v, moves %v (err %v)\n%s", pf.Path, pf.Moves, err, data)
	}
	out, _, err := runFabcell("evaluate", "--process", "lpbf", "--model", mask, "--plan", plan)
	if err != nil || !strings.Contains(out, "complete                     1") {
		t.Fatalf("evaluate: err %v\n%s", err, out)
	}
}

// TestPlanOutputsDoNotCollide: --out onto the model (either file of an
// RL3DP pair) or two outputs on one path used to succeed, destroying the
// model or one output, and an output in a missing directory failed only
// after planning; all are refused before anything is planned or written,
// and the model is unchanged.
func TestPlanOutputsDoNotCollide(t *testing.T) {
	dir := t.TempDir()
	model := writeCCFModel(t, dir, "Tri", [][2]float64{{0, 0}, {40, 0}, {20, 30}}, [][2]int{{0, 1}, {1, 2}, {2, 0}})
	edges := filepath.Join(dir, "EdgeTri_CCF.txt")
	before, _ := os.ReadFile(edges)
	plan := filepath.Join(dir, "plan.json")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", model}, "would overwrite the model"},
		{[]string{"--out", edges}, "would overwrite the model"},
		{[]string{"--out", plan, "--gcode", filepath.Join(dir, "sub", "..", "plan.json")}, "--out and --gcode both write"},
		{[]string{"--out", plan, "--gcode", filepath.Join(dir, "l.g"), "--urscript", filepath.Join(dir, "l.g")}, "both write"},
		{[]string{"--out", filepath.Join(dir, "missing", "plan.json")}, "does not exist"},
		{[]string{"--out", "-", "--gcode", "-"}, "only for --out"},
		{[]string{"--out", plan, "--plot", filepath.Join(plan, "x.png")}, "does not exist"},
	} {
		args := append([]string{"plan", "-q", "--process", "ccf", "--planner", "euler", "--model", model}, c.args...)
		if _, _, err := runFabcell(args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.want)
		}
	}
	if after, _ := os.ReadFile(edges); !bytes.Equal(before, after) {
		t.Fatal("model file changed")
	}
	if _, err := os.Stat(plan); !os.IsNotExist(err) {
		t.Errorf("plan written by a refused command (stat: %v)", err)
	}
	if _, _, err := runFabcell("evaluate", "--process", "ccf", "--model", model, "--plan", model, "--out", model); err == nil || !strings.Contains(err.Error(), "would overwrite the model") {
		t.Errorf("evaluate --out MODEL: err = %v", err)
	}
}
