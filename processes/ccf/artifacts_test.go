package ccf

import (
	"bytes"
	"context"
	"image/png"
	"strings"
	"testing"

	"fabcell/config"
	"fabcell/planners"
)

// TestArtifactsOnModels writes the three artifacts of an euler stroke on
// every model: the G-code holds the whole stroke on T1 with the cut after
// it, the URScript passes the IK check of every point with the default
// cell, the plot is a PNG of the documented size.
func TestArtifactsOnModels(t *testing.T) {
	p := testProcess(t)
	arts := map[string]planners.Artifact{}
	for _, a := range p.Artifacts() {
		arts[a.Name] = a
	}
	for _, model := range []string{"Bearing", "Gear", "Shell"} {
		g, err := p.Load("testdata/Node" + model + "_CCF.txt")
		if err != nil {
			t.Fatal(err)
		}
		s, _ := p.Session(g)
		pl, _ := planners.NewPlanner("euler", planners.Options{Config: p.cfg.Planner, Process: p})
		moves, err := planners.Run(context.Background(), pl, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := &planners.Result{Process: "ccf", Planner: "euler", Model: "testdata/Node" + model + "_CCF.txt",
			Graph: g, Session: s, Moves: moves, Config: p.cfg}
		var gc, ur, img bytes.Buffer
		if err := arts["gcode"].Write(&gc, r); err != nil {
			t.Fatalf("%s gcode: %v", model, err)
		}
		if err := arts["urscript"].Write(&ur, r); err != nil {
			t.Fatalf("%s urscript: %v", model, err)
		}
		if err := arts["plot"].Write(&img, r); err != nil {
			t.Fatalf("%s plot: %v", model, err)
		}
		// G-code: one T1 block with one extruding move per stroke move
		text := gc.String()
		i := strings.Index(text, "\nT1\n")
		if i < 0 || strings.Count(text, "\nT1\n") != 1 {
			t.Fatalf("%s: want exactly one switch to T1", model)
		}
		fib := text[i:]
		if n := strings.Count(fib[:strings.Index(fib, "M400")], "\nG1 X"); n != len(moves) {
			t.Errorf("%s: %d fibre moves in the G-code, stroke has %d", model, n, len(moves))
		}
		if !strings.Contains(fib, "M400\n"+p.cfg.CCF.FiberCutGcode+"\n") {
			t.Errorf("%s: fibre cut missing after the stroke", model)
		}
		if !strings.HasPrefix(ur.String(), "def fabcell_ccf_") || !strings.HasSuffix(ur.String(), "\nend\n") {
			t.Errorf("%s: URScript not a def … end program", model)
		}
		im, err := png.Decode(&img)
		if err != nil {
			t.Fatalf("%s: plot is not a PNG: %v", model, err)
		}
		if b := im.Bounds(); max(b.Dx(), b.Dy()) < PlotSizePx-10 || max(b.Dx(), b.Dy()) > PlotSizePx+60 {
			t.Errorf("%s: plot %v", model, b)
		}
	}
}

func TestArtifactsRejectBadPlans(t *testing.T) {
	p := testProcess(t)
	g, err := p.Load("testdata/NodeBearing_CCF.txt")
	if err != nil {
		t.Fatal(err)
	}
	var gc bytes.Buffer
	// no moves
	r := &planners.Result{Process: "ccf", Graph: g, Config: p.cfg}
	if err := p.writeGCode(&gc, r); err == nil || !strings.Contains(err.Error(), "no moves") {
		t.Errorf("empty plan: %v", err)
	}
	// a foreign path with a jump (replayed: not one stroke)
	s, _ := p.Session(g)
	moves, err := planners.Replay(s, []int{0, 1, 2, 200})
	if err != nil {
		t.Fatal(err)
	}
	r = &planners.Result{Process: "ccf", Graph: g, Moves: moves, Config: p.cfg}
	if err := p.writeURScript(&gc, r); err == nil || !strings.Contains(err.Error(), "breaks the stroke") {
		t.Errorf("jump: %v", err)
	}
	if m := s.Metrics(); m["one_stroke"] != 0 || m["jumps"] != 1 || m["complete"] != 0 {
		t.Errorf("metrics of a broken stroke: %v", m)
	}
}

// TestFiberOnlyProgramOfAnOpenStroke: a layer whose edges enclose no area
// (here an L of two edges) has no outline for matrix layers, so with the
// default two matrix layers the G-code is refused naming that; with
// ccf.layers 0 the program is the fibre stroke alone and is written.
func TestFiberOnlyProgramOfAnOpenStroke(t *testing.T) {
	g := mkGraph(t, [][2]float64{{0, 0}, {30, 0}, {30, 20}}, [][2]int{{0, 1}, {1, 2}}, 2)
	for _, layers := range []int{2, 0} {
		cfg := config.Defaults()
		cfg.CCF.Layers = layers
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s, err := p.Session(g)
		if err != nil {
			t.Fatal(err)
		}
		moves, err := planners.Replay(s, []int{0, 1, 2})
		if err != nil {
			t.Fatal(err)
		}
		r := &planners.Result{Process: "ccf", Planner: "test", Graph: g, Session: s, Moves: moves, Config: cfg}
		var gc bytes.Buffer
		err = p.writeGCode(&gc, r)
		if layers > 0 {
			if err == nil || !strings.Contains(err.Error(), "enclose no area") {
				t.Errorf("layers %d: err = %v, want the missing outline named", layers, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("fibre-only program: %v", err)
		}
		out := gc.String()
		if strings.Count(out, ";LAYER:") != 1 || !strings.Contains(out, "fiber") || !strings.Contains(out, "G1 X30 Y20 E20") {
			t.Errorf("fibre-only G-code:\n%s", out)
		}
	}
}
