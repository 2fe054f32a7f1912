package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeCCFModel writes an RL3DP CCF pair (every edge listed twice: two
// passes allowed) and returns the node file path.
func writeCCFModel(t *testing.T, dir, name string, xy [][2]float64, edges [][2]int) string {
	t.Helper()
	var nb, eb strings.Builder
	for _, p := range xy {
		fmt.Fprintf(&nb, "%g %g 0\n", p[0], p[1])
	}
	for pass := 0; pass < 2; pass++ {
		for _, e := range edges {
			fmt.Fprintf(&eb, "%d %d\n", e[0], e[1])
		}
	}
	node := filepath.Join(dir, "Node"+name+"_CCF.txt")
	if err := os.WriteFile(node, []byte(nb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Edge"+name+"_CCF.txt"), []byte(eb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return node
}

// runFabcell runs the root command in-process and returns its output.
func runFabcell(args ...string) (string, string, error) {
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errb.String(), err
}

// TestEvaluateChecksPlanHeader: a fabcell plan JSON made for another process
// or on a model with another node count is refused naming the mismatch (its
// node indices would name other nodes) or whose path contradicts its own
// moves is refused naming the mismatch; the same plan on its own model
// evaluates to the metrics plan wrote, and --out writes the JSON while the
// metrics are still printed.
func TestEvaluateChecksPlanHeader(t *testing.T) {
	dir := t.TempDir()
	square := writeCCFModel(t, dir, "Square", [][2]float64{{0, 0}, {40, 0}, {40, 40}, {0, 40}}, [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 0}, {0, 2}})
	tri := writeCCFModel(t, dir, "Tri", [][2]float64{{0, 0}, {40, 0}, {20, 30}}, [][2]int{{0, 1}, {1, 2}, {2, 0}})
	plan := filepath.Join(dir, "plan.json")
	if _, stderr, err := runFabcell("plan", "-q", "--process", "ccf", "--planner", "euler", "--model", square, "--out", plan); err != nil {
		t.Fatalf("plan: %v\n%s", err, stderr)
	}
	out, _, err := runFabcell("evaluate", "--process", "ccf", "--model", square, "--plan", plan)
	if err != nil || !strings.Contains(out, "complete                     1") {
		t.Fatalf("own model: err %v, output\n%s", err, out)
	}
	if _, _, err := runFabcell("evaluate", "--process", "ccf", "--model", tri, "--plan", plan); err == nil ||
		!strings.Contains(err.Error(), "4 nodes") || !strings.Contains(err.Error(), "has 3") {
		t.Errorf("plan of a 4-node model on a 3-node model: err = %v", err)
	}
	data, _ := os.ReadFile(plan)
	foreign := filepath.Join(dir, "wire.json")
	os.WriteFile(foreign, bytes.Replace(data, []byte(`"process": "ccf"`), []byte(`"process": "wireframe"`), 1), 0o644)
	if _, _, err := runFabcell("evaluate", "--process", "ccf", "--model", square, "--plan", foreign); err == nil ||
		!strings.Contains(err.Error(), "for process wireframe, not ccf") {
		t.Errorf("wire-frame plan evaluated as ccf: err = %v", err)
	}
	// a path that contradicts the plan's own moves (truncated, edited)
	cut := filepath.Join(dir, "cut.json")
	var pf map[string]any
	json.Unmarshal(data, &pf)
	pf["path"] = pf["path"].([]any)[:3]
	b, _ := json.Marshal(pf)
	os.WriteFile(cut, b, 0o644)
	if _, _, err := runFabcell("evaluate", "--process", "ccf", "--model", square, "--plan", cut); err == nil || !strings.Contains(err.Error(), "inconsistent") {
		t.Errorf("path contradicting the moves: err = %v", err)
	}
	again := filepath.Join(dir, "again.json")
	out, _, err = runFabcell("evaluate", "--process", "ccf", "--model", square, "--plan", plan, "--out", again)
	if err != nil || !strings.Contains(out, "one_stroke") {
		t.Errorf("--out: err %v, metrics not printed:\n%s", err, out)
	}
	if _, err := os.Stat(again); err != nil {
		t.Errorf("--out not written: %v", err)
	}
}
