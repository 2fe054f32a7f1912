package lpbf

import (
	"math"
	"testing"

	"fabcell/config"
	"fabcell/planners"
)

// On a 5×4 rectangle (nodes row-major from the top row) the zig-zag order
// is four row vectors of 5 pixels joined by one-pitch hops.
func TestZigzagVectorsAndTiming(t *testing.T) {
	p := testProcess(t, nil)
	g := maskGraph(t, 5, 4, func(c, r int) bool { return true })
	lat, err := NewLattice(g)
	if err != nil {
		t.Fatal(err)
	}
	order := (&Zigzag{}).Order(lat)
	want := []int{0, 1, 2, 3, 4, 9, 8, 7, 6, 5, 10, 11, 12, 13, 14, 19, 18, 17, 16, 15}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("zigzag order %v, want %v", order, want)
		}
	}
	vecs := ScanVectors(lat, order)
	if len(vecs) != 4 {
		t.Fatalf("%d vectors: %v", len(vecs), vecs)
	}
	for i, v := range vecs {
		if v.Pixels != 5 || v.From != order[5*i] || v.To != order[5*i+4] {
			t.Fatalf("vector %d = %+v", i, v)
		}
	}
	c := p.cfg.LPBF
	tm := EstimateTime(c, g, vecs)
	// 4 vectors of 4 pitches (0.2 mm), 3 hops of one pitch (0.05 mm)
	wantT := 4*(0.2/c.ScanSpeedMMS+c.MarkDelayS) + 3*(0.05/c.JumpSpeedMMS+c.JumpDelayS)
	if math.Abs(tm.MarkMM-0.8) > 1e-12 || math.Abs(tm.LaserOffMM-0.15) > 1e-12 || math.Abs(tm.TotalS-wantT) > 1e-15 {
		t.Fatalf("timing %+v, want mark 0.8 mm, off 0.15 mm, %v s", tm, wantT)
	}
}

// Vectors partition any order: each entry in exactly one vector, runs
// maximal and straight.
func TestScanVectorsPartition(t *testing.T) {
	g := maskGraph(t, 9, 9, func(c, r int) bool { return (c+r)%7 != 3 })
	lat, _ := NewLattice(g)
	// a staircase and some jumps
	var order []int
	for v := 0; v < g.NumNodes(); v += 1 + v%3 {
		order = append(order, v)
	}
	vecs := ScanVectors(lat, order)
	k := 0
	for i, v := range vecs {
		if v.From != order[k] || v.To != order[k+v.Pixels-1] {
			t.Fatalf("vector %d %+v does not cover order[%d:%d]", i, v, k, k+v.Pixels)
		}
		if v.Pixels > 1 {
			dc, dr, ok := lat.Adjacent(order[k], order[k+1])
			for j := k + 1; j < k+v.Pixels; j++ {
				ec, er, ok2 := lat.Adjacent(order[j-1], order[j])
				if !ok || !ok2 || ec != dc || er != dr {
					t.Fatalf("vector %d is not straight at %d", i, j)
				}
			}
			// maximal: the next entry does not continue it
			if end := k + v.Pixels; end < len(order) {
				if ec, er, ok := lat.Adjacent(order[end-1], order[end]); ok && ec == dc && er == dr {
					t.Fatalf("vector %d could continue", i)
				}
			}
		}
		k += v.Pixels
	}
	if k != len(order) {
		t.Fatalf("vectors cover %d of %d entries", k, len(order))
	}
	if len(ScanVectors(lat, nil)) != 0 || len(ScanVectors(lat, []int{3})) != 1 {
		t.Fatal("empty / single-entry orders")
	}
}

// Session.Metrics, planners.Evaluate (the path `fabcell evaluate` takes)
// and lpbf.Evaluate give the same numbers for a plan.
func TestOneEvaluator(t *testing.T) {
	p := testProcess(t, nil)
	g := load(t, p, hookPNG)
	s := session(t, p, g)
	moves := plan(t, p, "chessboard", s, config.Defaults().Planner)
	m1 := s.Metrics()
	s2 := session(t, p, g)
	m2, _, err := planners.Evaluate(s2, planners.PathOf(moves))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Evaluate(p.cfg.LPBF, g, planners.PathOf(moves))
	if err != nil {
		t.Fatal(err)
	}
	m3 := e.Map()
	for _, k := range []string{"peak_temperature", "residual_heat_p95", "mean_residual_heat", "peak_preheat", "hot_area_fraction", "temperature_std", "jumps", "scan_vectors", "scan_time_s", "mark_mm", "jump_mm"} {
		if _, ok := m1[k]; !ok {
			t.Fatalf("metric %s missing", k)
		}
		if m1[k] != m2[k] || m1[k] != m3[k] {
			t.Fatalf("%s: plan %v, evaluate %v, Evaluate %v", k, m1[k], m2[k], m3[k])
		}
	}
	if m1["complete"] != 1 || m1["revisits"] != 0 || m1["unvisited"] != 0 || int(m1["prints"]+m1["jumps"]) != g.NumNodes()-1 {
		t.Fatalf("coverage metrics %v", m1)
	}
	// a foreign order with a revisit and a missing pixel is reported as such
	order := append(planners.PathOf(moves)[:g.NumNodes()-1:g.NumNodes()-1], planners.PathOf(moves)[3])
	e2, err := Evaluate(p.cfg.LPBF, g, order)
	if err != nil {
		t.Fatal(err)
	}
	if e2.Revisits != 1 || e2.Unvisited != 1 {
		t.Fatalf("revisits %d unvisited %d", e2.Revisits, e2.Unvisited)
	}
	if _, err := Evaluate(p.cfg.LPBF, g, []int{0, g.NumNodes()}); err == nil {
		t.Fatal("out-of-range order accepted")
	}
}
