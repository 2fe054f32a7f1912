package planners

import (
	"testing"

	"github.com/golang/geo/r3"

	"fabcell/planners/graph"
)

// TestTrackerStateID checks the StateIdentifier contract on a path graph:
// Apply and Begin mint fresh ids, Undo restores the previous one, and
// re-applying an undone move does not bring its old id back.
func TestTrackerStateID(t *testing.T) {
	pos := []r3.Vector{{X: 0}, {X: 10}, {X: 20}, {X: 30}}
	g, err := graph.New(pos, []graph.Edge{{A: 0, B: 1}, {A: 1, B: 2}, {A: 2, B: 3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTracker(g, EdgesOnce)
	id := func() uint64 {
		t.Helper()
		v, ok := tr.StateID()
		if !ok {
			t.Fatal("Tracker.StateID not ok")
		}
		return v
	}
	if err := tr.Begin(0); err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	root := id()
	seen[root] = true
	var stack []uint64
	for step := 0; step < 3; step++ {
		stack = append(stack, id())
		tr.ApplyBase(tr.MoveTo(step + 1))
		if seen[id()] {
			t.Fatalf("step %d: id %d reused", step, id())
		}
		seen[id()] = true
	}
	for len(stack) > 0 {
		tr.UndoBase()
		want := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if got := id(); got != want {
			t.Fatalf("after Undo: id %d, want %d", got, want)
		}
	}
	tr.ApplyBase(tr.MoveTo(1))
	if seen[id()] {
		t.Fatalf("re-applied move got an old id %d", id())
	}
	if err := tr.Begin(0); err != nil {
		t.Fatal(err)
	}
	if id() == root {
		t.Fatal("Begin restored the first Begin's id")
	}
}
