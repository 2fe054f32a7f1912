package wireframe

import (
	"testing"

	"github.com/golang/geo/r3"

	"fabcell/planners"
	"fabcell/planners/graph"
)

// TestFinishLiftsAlongHeadAxis: the program's last lift leaves along the
// head axis, as a transition's lift does. After a print with a tilted head,
// a strut right above the tip (below the lift height) blocks a lift
// straight up but not one along the axis. Found by planning
// assembly_instances' klein_bottle_trail, whose plan ended under an
// overhang and was reported with one motion collision.
func TestFinishLiftsAlongHeadAxis(t *testing.T) {
	cfg := defaults()
	p := newProc(t, cfg)
	pos := []r3.Vector{{X: -100, Y: 100}, {X: -100, Y: 100, Z: 30}, {X: -90, Y: 100, Z: 30}}
	g := mustGraph(t, pos, []graph.Edge{{A: 0, B: 1}, {A: 1, B: 2}}, []bool{true, false, false})
	mo, err := p.NewMotions(g)
	if err != nil {
		t.Fatal(err)
	}
	mo.Start()
	// the most tilted sampled axis leaning back (−X) from the print direction
	s := mo.Session()
	best := -1
	for i, a := range s.p.axes {
		if a.X < 0 && (best < 0 || a.Z < s.p.axes[best].Z) {
			best = i
		}
	}
	if best < 0 || s.p.axes[best].Z > 0.9 {
		t.Fatalf("no tilted axis among %d samples", len(s.p.axes))
	}
	ax := s.p.axes[best]
	if _, err := mo.Next(planners.Move{From: 0, To: 1, Kind: planners.Print, Edge: 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := mo.Next(planners.Move{From: 1, To: 2, Kind: planners.Print, Edge: 1, Axis: ax}); err != nil {
		t.Fatal(err)
	}
	if n := mo.Collisions(); n != 0 {
		t.Fatalf("test geometry: %d motion collisions before the end", n)
	}
	if mo.axis != best {
		t.Fatalf("printed at axis %v, want the given %v", s.p.axes[mo.axis], ax)
	}
	tip := mo.tip
	zs := s.maxZ[len(s.maxZ)-1] + mo.cfg.liftMM + mo.headBelowTipMM(ax)
	h := (zs - tip.Z) / 2
	if h < 3 {
		t.Fatalf("test geometry: lift of %.1f mm too short", zs-tip.Z)
	}
	o := tip.Add(r3.Vector{Z: h})
	// a horizontal strut across the axis' lean, right above the tip
	across := r3.Vector{X: -ax.Y, Y: ax.X}.Normalize().Mul(20)
	if err := s.world.Add(1000, o.Sub(across), o.Add(across), s.strutR); err != nil {
		t.Fatal(err)
	}
	if s.chk.MoveFree(tip, r3.Vector{X: tip.X, Y: tip.Y, Z: zs}, ax) {
		t.Fatal("test geometry: a straight-up lift clears the strut above the tip; the test would prove nothing")
	}
	steps, err := mo.Finish()
	if err != nil {
		t.Fatal(err)
	}
	lifted := false
	for _, st := range steps {
		if st.Collides {
			t.Errorf("final step %q collides", st.Note)
		}
		lifted = lifted || st.Note == "lift"
	}
	if !lifted {
		t.Fatal("no final lift")
	}
	if mo.Collisions() != 0 {
		t.Fatalf("%d motion collisions", mo.Collisions())
	}
}
