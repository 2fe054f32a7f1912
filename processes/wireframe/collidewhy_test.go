package wireframe

import (
	"strings"
	"testing"

	"fabcell/planners"
	"fabcell/planners/graph"

	"github.com/golang/geo/r3"
)

// TestCollidingStepSaysWhy: a plan that prints a strut straight through
// a printed post (the planner would never choose it; a hand-made or
// foreign plan can) yields motion steps marked colliding, and each says
// what the check found, for the controller's refusal message.
func TestCollidingStepSaysWhy(t *testing.T) {
	p := newProc(t, defaults())
	g := mustGraph(t,
		[]r3.Vector{{}, {Z: 30}, {X: -20, Z: 5}, {X: 20, Z: 5}},
		[]graph.Edge{{A: 0, B: 1}, {A: 2, B: 3}}, []bool{true, false, true, true})
	mo, err := p.NewMotions(g)
	if err != nil {
		t.Fatal(err)
	}
	mo.Start()
	var steps []Step
	for _, m := range []planners.Move{
		{From: 0, To: 1, Kind: planners.Print, Edge: 0},
		{From: 1, To: 2, Kind: planners.Jump, Edge: -1},
		{From: 2, To: 3, Kind: planners.Print, Edge: 1},
	} {
		st, err := mo.Next(m)
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		steps = append(steps, st...)
	}
	colliding := 0
	for i, st := range steps {
		if !st.Collides {
			continue
		}
		colliding++
		if st.CollidesWhy == "" || !strings.Contains(st.CollidesWhy, "printed structure") && !strings.Contains(st.CollidesWhy, "check") {
			t.Errorf("step %d (%s %s) collides without a reason: %q", i, st.Kind, st.Note, st.CollidesWhy)
		}
		t.Logf("step %d (%s %s): %s", i, st.Kind, st.Note, st.CollidesWhy)
	}
	if colliding == 0 {
		t.Fatal("printing through the post was not marked colliding")
	}
}

// TestCollideKeepsFirstReason: the first reason found stays.
func TestCollideKeepsFirstReason(t *testing.T) {
	var st Step
	st.collide(false, "a")
	if st.Collides || st.CollidesWhy != "" {
		t.Fatalf("%+v", st)
	}
	st.collide(true, "b")
	st.collide(true, "c")
	if !st.Collides || st.CollidesWhy != "b" {
		t.Fatalf("collides %v why %q, want b", st.Collides, st.CollidesWhy)
	}
}
