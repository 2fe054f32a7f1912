package controller

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	_ "fabcell/planners/lsgdqn" // registers lsg-dqn, the example jobs' planner
)

func TestJobSpecParse(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "femur.yaml")
	os.WriteFile(p, []byte("process: wireframe\nmodel: models/NodeFemur.txt\nplanner: greedy\nring: 3\n"), 0o644)
	s, err := LoadJobSpec(p)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "femur" || s.ModelPath() != filepath.Join(dir, "models/NodeFemur.txt") || s.Ring != 3 {
		t.Fatalf("spec %+v model %s", s, s.ModelPath())
	}
	bad := map[string]string{
		"unknown key":   "process: wireframe\nmodel: a.txt\nspeed: 3\n",
		"no process":    "model: a.txt\n",
		"no model":      "process: ccf\n",
		"both models":   "process: ccf\nmodel: a\nmodel_inline: b\nmodel_format: .obj\n",
		"inline no fmt": "process: ccf\nmodel_inline: b\n",
		"bad ring":      "process: ccf\nmodel: a\nring: 12\n",
		"bad id":        "id: \"../x\"\nprocess: ccf\nmodel: a\n",
		"neg layer":     "process: lpbf\nmodel: a.cli\nlayers: [-1]\n",
	}
	for name, body := range bad {
		q := filepath.Join(dir, "bad.yaml")
		os.WriteFile(q, []byte(body), 0o644)
		if _, err := LoadJobSpec(q); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "bad.yaml") {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if _, err := ParseJobJSON([]byte(`{"id":"a","process":"ccf","model":"x","extra":1}`), ""); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Fatalf("unknown JSON field: %v", err)
	}
	if _, err := ParseJobJSON([]byte(`{"id":"a","process":"ccf","model":"x"} {}`), ""); err == nil {
		t.Fatal("trailing JSON accepted")
	}
	if _, err := ParseJobJSON([]byte(`{"id":"a","process":"ccf","model":"x"}`), ""); err != nil {
		t.Fatal(err)
	}
}

func TestStateMachine(t *testing.T) {
	m := NewStateMachine(nil)
	sub := m.Subscribe()
	steps := []State{Planning, Running, Paused, Running, Completed}
	for _, s := range steps {
		if err := m.To(s, "because "+string(s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.To(Running, "again"); !errors.Is(err, ErrTransition) {
		t.Fatalf("transition from terminal state: %v", err)
	}
	for _, s := range steps {
		tr := <-sub
		if tr.To != s || tr.Reason != "because "+string(s) {
			t.Fatalf("got %+v want %s", tr, s)
		}
	}
	if st, r := m.State(); st != Completed || r != "because completed" {
		t.Fatalf("state %s %q", st, r)
	}
	m2 := NewStateMachine(nil)
	if err := m2.To(Running, "skip planning"); err == nil {
		t.Fatal("queued → running allowed")
	}
}

func TestJournalRecovery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j", "job.jsonl")
	j, err := OpenJournal(path, true)
	if err != nil {
		t.Fatal(err)
	}
	spec := JobSpec{ID: "x", Process: "travel", Model: "m"}
	must := func(e JournalEntry) {
		if err := j.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	must(JournalEntry{Kind: "job", Job: &spec})
	mv := func(a, b int) []planners.Move {
		return []planners.Move{{From: a, To: b, Kind: planners.Print, Edge: a}}
	}
	must(JournalEntry{Kind: "dispatched", Seq: 0, Moves: mv(0, 1)})
	must(JournalEntry{Kind: "acked", Seq: 0})
	must(JournalEntry{Kind: "dispatched", Seq: 1, Moves: mv(1, 2)})
	must(JournalEntry{Kind: "acked", Seq: 1})
	must(JournalEntry{Kind: "state", State: Paused, Note: "protective stop"})
	must(JournalEntry{Kind: "dispatched", Seq: 2, Moves: mv(2, 3)})
	j.Close()
	// simulate a crash mid-write: torn line
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"kind":"acked","se`)
	f.Close()

	r, err := ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Job == nil || r.Job.ID != "x" || r.AckedSteps != 2 || len(r.Acked) != 2 || r.Acked[1].To != 2 {
		t.Fatalf("recovered %+v", r)
	}
	if r.InFlight == nil || r.InFlight.Seq != 2 || r.LastState != Paused {
		t.Fatalf("in flight %+v state %s", r.InFlight, r.LastState)
	}

	// Corrupt middle line → error naming the line.
	data, _ := os.ReadFile(path)
	lines := strings.Split(string(data), "\n")
	lines[2] = "{oops"
	os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
	if _, err := ReadJournal(path); err == nil || !strings.Contains(err.Error(), ":3:") {
		t.Fatalf("corrupt line: %v", err)
	}
	// Out-of-order ack.
	p2 := filepath.Join(t.TempDir(), "k.jsonl")
	j2, _ := OpenJournal(p2, false)
	j2.Append(JournalEntry{Kind: "dispatched", Seq: 0, Moves: mv(0, 1)})
	j2.Append(JournalEntry{Kind: "acked", Seq: 1})
	j2.Close()
	if _, err := ReadJournal(p2); err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Fatalf("out-of-order ack: %v", err)
	}
	// Missing journal → empty.
	if r, err := ReadJournal(filepath.Join(t.TempDir(), "none")); err != nil || r.AckedSteps != 0 {
		t.Fatalf("missing: %v %+v", err, r)
	}
}

// TestExampleJobs loads every job shipped in config/examples/jobs: the spec
// parses, the process and planner exist, the model loads with the
// process's loader and the graph is valid.
func TestExampleJobs(t *testing.T) {
	paths, err := filepath.Glob("../config/examples/jobs/*.yaml")
	if err != nil || len(paths) < 3 {
		t.Fatalf("example jobs: %v (%d found)", err, len(paths))
	}
	seen := map[string]bool{}
	for _, p := range paths {
		s, err := LoadJobSpec(p)
		if err != nil {
			t.Fatal(err)
		}
		seen[s.Process] = true
		cell := config.Defaults()
		if cp := s.CellPath(); cp != "" {
			if cell, err = config.Load(cp); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
		}
		if cell, err = ApplyOverrides(cell, s); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		proc, err := planners.NewProcess(s.Process, cell)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if _, err := adapterFor(s.Process); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if _, err := planners.NewPlanner(cell.Planner.Name, planners.Options{Config: cell.Planner, Process: proc}); err != nil {
			t.Fatalf("%s: planner: %v", p, err)
		}
		g, err := proc.Load(s.ModelPath())
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if _, err := proc.NewSession(g); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	for _, proc := range []string{"wireframe", "ccf", "lpbf"} {
		if !seen[proc] {
			t.Errorf("no example job for %s", proc)
		}
	}
}
