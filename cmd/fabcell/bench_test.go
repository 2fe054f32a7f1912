package main

import (
	"strings"
	"testing"
)

// TestBenchPlannerRejectsBadRuns: an empty planner list panicked, ring 0 ran
// the default ring while the table said n=0, a negative move budget meant
// "complete", and a bad name failed only after the planners before it had
// run. Each is now a usage error before anything runs; a good bench prints
// one row per run with the baseline first.
func TestBenchPlannerRejectsBadRuns(t *testing.T) {
	dir := t.TempDir()
	model := writeCCFModel(t, dir, "Square", [][2]float64{{0, 0}, {40, 0}, {40, 40}, {0, 40}}, [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 0}, {0, 2}})
	base := []string{"bench", "planner", "--process", "ccf", "--model", model}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--planners", ""}, "--planners lists no planner"},
		{[]string{"--planners", "euler,lsg-dqn", "--rings", "0"}, "ring size 0"},
		{[]string{"--planners", "euler,lsg-dqn", "--rings", "99"}, "planner.ring"},
		{[]string{"--planners", "euler", "--max-decisions", "-3"}, "--max-decisions"},
		{[]string{"--planners", "euler", "--timeout", "0s"}, "--timeout"},
		{[]string{"--planners", "euler,nope"}, `unknown planner "nope"`},
	} {
		_, stderr, err := runFabcell(append(base, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.want)
		}
		if strings.Contains(stderr, "moves in") {
			t.Errorf("%v: a planner ran before the error:\n%s", c.args, stderr)
		}
	}
	out, stderr, err := runFabcell(append(base, "--planners", "euler,greedy,lsg-dqn", "--rings", "2")...)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[2], "euler ") || !strings.HasPrefix(lines[4], "lsg-dqn  2 ") {
		t.Errorf("table:\n%s", out)
	}
}
