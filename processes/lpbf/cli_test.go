package lpbf

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/planners/graph/commonlayer"
)

// planned returns a finished greedy plan on a layer and its result.
func planned(t *testing.T, p *Process, path, planner string) *planners.Result {
	t.Helper()
	g := load(t, p, path)
	s := session(t, p, g)
	moves := plan(t, p, planner, s, config.Defaults().Planner)
	return &planners.Result{Process: "lpbf", Planner: planner, Model: path, Graph: g, Session: s, Moves: moves, Metrics: s.Metrics(), Config: p.cfg}
}

func artifact(t *testing.T, p *Process, name string, r *planners.Result) []byte {
	t.Helper()
	for _, a := range p.Artifacts() {
		if a.Name == name {
			var buf bytes.Buffer
			if err := a.Write(&buf, r); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return buf.Bytes()
		}
	}
	t.Fatalf("no artifact %q", name)
	return nil
}

// Reading back the CLI we wrote gives the same vectors, in both encodings:
// every segment maps back to the first and last pixel of its vector, the
// order is kept, and the ASCII file carries power and speed per block.
func TestCLIRoundTrip(t *testing.T) {
	p := testProcess(t, nil)
	for _, tc := range []struct{ path, planner string }{
		{hookPNG, "greedy"},
		{cylinderCLI + "#3", "chessboard"},
		{boxCLI + "#101", "zigzag"},
	} {
		r := planned(t, p, tc.path, tc.planner)
		s := r.Session.(*Session)
		vecs := ScanVectors(s.lat, planners.PathOf(r.Moves))
		if int(r.Metrics["scan_vectors"]) != len(vecs) {
			t.Fatalf("metrics say %v vectors, ScanVectors %d", r.Metrics["scan_vectors"], len(vecs))
		}
		for _, enc := range []string{"cli", "cli-binary"} {
			data := artifact(t, p, enc, r)
			f, err := commonlayer.Parse(enc, data)
			if err != nil {
				t.Fatalf("%s %s: read back: %v", tc.path, enc, err)
			}
			if (enc == "cli-binary") != (f.Header.Encoding == commonlayer.Binary) || len(f.Layers) != 1 {
				t.Fatalf("%s: encoding %v, %d layers", enc, f.Header.Encoding, len(f.Layers))
			}
			l := f.Layers[0]
			if math.Abs(l.ZMM-r.Graph.Pos[0].Z) > 1e-9 {
				t.Fatalf("%s: layer z %v, want %v", enc, l.ZMM, r.Graph.Pos[0].Z)
			}
			var segs []commonlayer.Segment
			for _, h := range l.Hatches {
				if h.ID != PartID {
					t.Fatalf("hatch id %d", h.ID)
				}
				if enc == "cli" {
					if len(h.Params) != 2 || h.Params[0] != (commonlayer.Param{Name: "POWER", Value: 200}) || h.Params[1] != (commonlayer.Param{Name: "SPEED", Value: 800}) {
						t.Fatalf("ascii params %v", h.Params)
					}
				}
				segs = append(segs, h.Segments...)
			}
			if len(segs) != len(vecs) {
				t.Fatalf("%s %s: %d segments, %d vectors", tc.path, enc, len(segs), len(vecs))
			}
			for i, sg := range segs {
				a, okA := s.lat.NodeAt(sg.A.X, sg.A.Y)
				b, okB := s.lat.NodeAt(sg.B.X, sg.B.Y)
				pa, pb := r.Graph.Pos[vecs[i].From], r.Graph.Pos[vecs[i].To]
				if !okA || !okB || a != vecs[i].From || b != vecs[i].To ||
					math.Hypot(sg.A.X-pa.X, sg.A.Y-pa.Y) > 1e-9 || math.Hypot(sg.B.X-pb.X, sg.B.Y-pb.Y) > 1e-9 {
					t.Fatalf("%s %s: segment %d %v does not match vector %+v", tc.path, enc, i, sg, vecs[i])
				}
			}
			if len(f.Header.Labels) != 1 || !strings.Contains(f.Header.Labels[0].Text, "power_w=200") || !strings.Contains(f.Header.Labels[0].Text, "scan_speed_mm_s=800") {
				t.Fatalf("%s: labels %v", enc, f.Header.Labels)
			}
		}
	}
}

// The written CLI, loaded as a model, rasterises (cells crossed by the
// hatches) to exactly the layer that was planned.
func TestCLIReloadsToTheSameLayer(t *testing.T) {
	p := testProcess(t, nil)
	r := planned(t, p, hookPNG, "zigzag")
	dir := t.TempDir()
	for _, enc := range []string{"cli", "cli-binary"} {
		path := filepath.Join(dir, "hook-"+enc+".cli")
		if err := os.WriteFile(path, artifact(t, p, enc, r), 0o644); err != nil {
			t.Fatal(err)
		}
		g2, err := p.Load(path + "#0")
		if err != nil {
			t.Fatal(err)
		}
		if g2.NumNodes() != r.Graph.NumNodes() {
			t.Fatalf("%s: reloaded %d pixels, planned %d", enc, g2.NumNodes(), r.Graph.NumNodes())
		}
		l1 := r.Session.(*Session).lat
		for v, q := range g2.Pos {
			if _, ok := l1.NodeAt(q.X, q.Y); !ok {
				t.Fatalf("%s: reloaded pixel %d at (%v, %v) is not in the layer", enc, v, q.X, q.Y)
			}
		}
	}
}

// Several layers in one file keep their order and heights.
func TestCLIMultiLayer(t *testing.T) {
	p := testProcess(t, nil)
	c := p.cfg.LPBF
	var layers []commonlayer.Layer
	for i := 0; i < 3; i++ {
		g, err := graph.Load(cylinderCLI+"#"+string(rune('0'+i)), graph.LoadOptions{SpacingMM: c.SpacingMM})
		if err != nil {
			t.Fatal(err)
		}
		lat, _ := NewLattice(g)
		layers = append(layers, CLILayer(c, g, ScanVectors(lat, (&Zigzag{}).Order(lat))))
	}
	for _, enc := range []commonlayer.Encoding{commonlayer.ASCII, commonlayer.Binary} {
		var buf bytes.Buffer
		if err := WriteCLI(&buf, c, layers, enc); err != nil {
			t.Fatal(err)
		}
		f, err := commonlayer.Parse("multi", buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Layers) != 3 {
			t.Fatalf("%v: %d layers", enc, len(f.Layers))
		}
		for i := range layers {
			n0, n1 := 0, 0
			for _, h := range layers[i].Hatches {
				n0 += len(h.Segments)
			}
			for _, h := range f.Layers[i].Hatches {
				n1 += len(h.Segments)
			}
			if math.Abs(f.Layers[i].ZMM-layers[i].ZMM) > 1e-6 || n0 != n1 {
				t.Fatalf("%v layer %d: z %v/%v, %d/%d segments", enc, i, f.Layers[i].ZMM, layers[i].ZMM, n1, n0)
			}
		}
	}
}

func TestArtifactsOfAnEmptyPlan(t *testing.T) {
	p := testProcess(t, nil)
	g := maskGraph(t, 1, 1, func(c, r int) bool { return true })
	s := session(t, p, g)
	moves := plan(t, p, "zigzag", s, config.Defaults().Planner)
	r := &planners.Result{Process: "lpbf", Planner: "zigzag", Model: "dot", Graph: g, Session: s, Moves: moves}
	// a single pixel is one zero-length vector
	f, err := commonlayer.Parse("dot", artifact(t, p, "cli", r))
	if err != nil || len(f.Layers) != 1 || len(f.Layers[0].Hatches) != 1 || len(f.Layers[0].Hatches[0].Segments) != 1 {
		t.Fatalf("single pixel CLI: %v %+v", err, f)
	}
	// a result without a session is replayed
	r2 := &planners.Result{Graph: g, Moves: nil}
	for _, a := range p.Artifacts() {
		var buf bytes.Buffer
		if err := a.Write(&buf, r2); err == nil {
			t.Fatalf("%s: a result with no start wrote %d bytes", a.Name, buf.Len())
		}
	}
}

// TestCLIRefusesVectorsOutsideTheField: a layer beyond the scan field
// (lpbf.field_size_mm, centred on the origin like the safety gate's laser
// check) used to be written as a CLI program the machine cannot run; both
// encodings now refuse it naming the first vector, and a layer inside the
// field is written.
func TestCLIRefusesVectorsOutsideTheField(t *testing.T) {
	g := maskGraph(t, 10, 10, func(c, r int) bool { return true }) // 0..0.5 mm
	for _, c := range []struct {
		fieldMM float64
		ok      bool
	}{{0.6, false}, {0.96, true}, {250, true}} {
		p := testProcess(t, func(cfg *config.Cell) { cfg.LPBF.FieldSizeMM = c.fieldMM })
		s := session(t, p, g)
		moves := plan(t, p, "zigzag", s, config.Defaults().Planner)
		r := &planners.Result{Process: "lpbf", Planner: "zigzag", Model: "square", Graph: g, Session: s, Moves: moves}
		for _, name := range []string{"cli", "cli-binary"} {
			for _, a := range p.Artifacts() {
				if a.Name != name {
					continue
				}
				var buf bytes.Buffer
				err := a.Write(&buf, r)
				if c.ok && err != nil {
					t.Errorf("field %g mm, %s: %v", c.fieldMM, name, err)
				}
				if !c.ok && (err == nil || !strings.Contains(err.Error(), "scan field")) {
					t.Errorf("field %g mm, %s: err = %v, want the scan field named", c.fieldMM, name, err)
				}
			}
		}
	}
}
