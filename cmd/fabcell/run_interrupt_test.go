package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fabcell/controller"
)

// TestRunInterruptStopsBetweenSteps: SIGINT to `fabcell run --dry-run`
// finishes the step in flight and stops at a safe point, so the journal
// holds no step in flight, and running the job again completes it with
// every step dispatched exactly once. (The interrupt used to cancel the
// step in flight; the dry run's simulator is gone after the process, so
// the re-run dispatched that step a second time.)
func TestRunInterruptStopsBetweenSteps(t *testing.T) {
	dir := t.TempDir()
	model, _ := filepath.Abs("../../processes/wireframe/testdata/simple_frame.json")
	cfg := fmt.Sprintf(`robot:
  rtde_port: 0
  dashboard_port: 0
  script_port: 0
controller:
  journal_dir: %s
  report_dir: %s
planner:
  name: greedy
`, filepath.Join(dir, "journal"), filepath.Join(dir, "reports"))
	if err := os.WriteFile(filepath.Join(dir, "cell.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	job := fmt.Sprintf("id: sigint\nprocess: wireframe\nmodel: %s\n", model)
	if err := os.WriteFile(filepath.Join(dir, "job.yaml"), []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(dir, "journal", "sigint.jsonl")
	// entries returns the journal's entries.
	entries := func() []controller.JournalEntry {
		f, err := os.Open(journal)
		if err != nil {
			return nil
		}
		defer f.Close()
		var out []controller.JournalEntry
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var e controller.JournalEntry
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				out = append(out, e)
			}
		}
		return out
	}
	count := func(kind string) int {
		n := 0
		for _, e := range entries() {
			if e.Kind == kind {
				n++
			}
		}
		return n
	}

	first := fabcellCmd(t, dir, "--config", "cell.yaml", "run", "--dry-run", "--time-scale", "5", "-q", "job.yaml")
	var out1 strings.Builder
	first.Stdout, first.Stderr = &out1, &out1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for count("acked") < 4 {
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatalf("no progress:\n%s", out1.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err == nil || !strings.Contains(out1.String(), "aborted: interrupted by operator") {
		t.Fatalf("first run: %v\n%s", err, out1.String())
	}
	rec, err := controller.ReadJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	if rec.InFlight != nil || rec.LastState != controller.Aborted || rec.AckedSteps < 4 {
		t.Fatalf("after SIGINT: in flight %+v, last state %s, %d steps acknowledged", rec.InFlight, rec.LastState, rec.AckedSteps)
	}

	second := fabcellCmd(t, dir, "--config", "cell.yaml", "run", "--dry-run", "--time-scale", "50", "-q", "job.yaml")
	out2, err := second.CombinedOutput()
	if err != nil || !strings.Contains(string(out2), "resumed from the journal") {
		t.Fatalf("second run: %v\n%s", err, out2)
	}
	dispatched := map[int]int{}
	for _, e := range entries() {
		if e.Kind == "dispatched" {
			dispatched[e.Seq]++
		}
	}
	rec, err = controller.ReadJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	for seq, n := range dispatched {
		if n != 1 {
			t.Fatalf("step %d dispatched %d times", seq, n)
		}
	}
	if len(dispatched) != rec.AckedSteps || rec.LastState != controller.Completed {
		t.Fatalf("%d steps dispatched, %d acknowledged, last state %s", len(dispatched), rec.AckedSteps, rec.LastState)
	}
}
