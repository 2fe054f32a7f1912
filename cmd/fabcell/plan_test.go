package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
