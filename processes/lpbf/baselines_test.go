package lpbf

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"fabcell/config"
	"fabcell/planners"
)

// Chessboard on a 12×8 layer with 4-pixel islands: 3×2 islands; the even
// islands (0,0), (2,0), (1,1) first, along x, then the odd ones along y;
// every island is scanned contiguously.
func TestChessboardOrder(t *testing.T) {
	g := maskGraph(t, 12, 8, func(c, r int) bool { return true })
	lat, _ := NewLattice(g)
	for _, order := range []string{"checkerboard", "raster"} {
		cb, err := NewChessboard(0.2, order)
		if err != nil {
			t.Fatal(err)
		}
		o := cb.Order(lat)
		if len(o) != 96 {
			t.Fatalf("%d pixels", len(o))
		}
		seen := map[int]bool{}
		island := func(v int) [2]int32 { return [2]int32{(lat.Col[v] - lat.ColMin) / 4, (lat.RowMax - lat.Row[v]) / 4} }
		var islands [][2]int32
		for i, v := range o {
			if seen[v] {
				t.Fatalf("pixel %d twice", v)
			}
			seen[v] = true
			if i == 0 || island(v) != island(o[i-1]) {
				islands = append(islands, island(v))
			}
			if i > 0 && island(v) == island(o[i-1]) {
				dc, dr, adj := lat.Adjacent(o[i-1], v)
				alongX := (island(v)[0]+island(v)[1])%2 == 0
				// inside an island: steps along the scan axis, or a one-pitch
				// hop to the next line at a line end
				if !adj || (alongX && dc == 0 && (i%4 != 0)) || (!alongX && dr == 0 && (i%4 != 0)) {
					t.Fatalf("%s: step %d %d→%d (dc %d dr %d) inside island %v (alongX %v)", order, i, o[i-1], v, dc, dr, island(v), alongX)
				}
			}
		}
		want := [][2]int32{{0, 0}, {2, 0}, {1, 1}, {1, 0}, {0, 1}, {2, 1}}
		if order == "raster" {
			want = [][2]int32{{0, 0}, {1, 0}, {2, 0}, {0, 1}, {1, 1}, {2, 1}}
		}
		if len(islands) != len(want) {
			t.Fatalf("%s: islands %v", order, islands)
		}
		for i := range want {
			if islands[i] != want[i] {
				t.Fatalf("%s: island order %v, want %v", order, islands, want)
			}
		}
	}
	if _, err := NewChessboard(0, "raster"); err == nil {
		t.Fatal("island 0 accepted")
	}
	if _, err := NewChessboard(5, "spiral"); err == nil {
		t.Fatal("unknown order accepted")
	}
}

// Every planner registered for LPBF, on every test layer, scans each pixel
// exactly once — checked on the plan file (JSON) as `fabcell plan` writes
// it. lsg-dqn is checked in package compare. The layers run as parallel
// subtests (the process is immutable; each subtest has its own graph and
// sessions), so the test takes about half the wall time on two free cores.
func TestEachPixelOnce(t *testing.T) {
	p := testProcess(t, nil)
	layers := []string{bracketPNG, hookPNG, cylinderCLI + "#0", cylinderCLI + "#5", lanzeCLI + "#0", boxCLI + "#101"}
	if !testing.Short() {
		layers = append(layers, bracket20k)
	}
	for _, path := range layers {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			eachPixelOnce(t, p, path)
		})
	}
}

func eachPixelOnce(t *testing.T, p *Process, path string) {
	g := load(t, p, path)
	for _, name := range []string{"zigzag", "chessboard", "greedy"} {
		s := session(t, p, g)
		moves := plan(t, p, name, s, config.Defaults().Planner)
		res := &planners.Result{Process: "lpbf", Planner: name, Model: path, Graph: g, Session: s, Moves: moves, Metrics: s.Metrics()}
		data, err := json.Marshal(planners.NewPlanFile(res, 0, 1))
		if err != nil {
			t.Fatal(err)
		}
		order, pmoves, err := planners.ParseOrder(path, data)
		if err != nil {
			t.Fatal(err)
		}
		if len(order) != g.NumNodes() || len(pmoves) != g.NumNodes()-1 {
			t.Fatalf("%s %s: path of %d for %d pixels", path, name, len(order), g.NumNodes())
		}
		seen := make([]bool, g.NumNodes())
		for _, v := range order {
			if v < 0 || v >= g.NumNodes() || seen[v] {
				t.Fatalf("%s %s: pixel %d out of range or twice", path, name, v)
			}
			seen[v] = true
		}
		for i, m := range pmoves {
			if m.From != order[i] || m.To != order[i+1] || (m.Kind == planners.Jump) != (m.Edge < 0) || m.Kind == planners.Travel {
				t.Fatalf("%s %s: move %d %+v", path, name, i, m)
			}
		}
		if res.Metrics["complete"] != 1 || res.Metrics["revisits"] != 0 {
			t.Fatalf("%s %s: metrics %v", path, name, res.Metrics)
		}
		t.Logf("%-60s %-10s %6d px  hot %.3g mm²  peak %.3f  residual p95 %.3f  %4.0f jumps  %.3f s", path, name, g.NumNodes(),
			res.Metrics["hot_area_mm2"], res.Metrics["peak_temperature"], res.Metrics["residual_heat_p95"], res.Metrics["jumps"], res.Metrics["scan_time_s"])
	}
}

// The baselines continue a started session, skipping scanned pixels.
func TestBaselinesContinue(t *testing.T) {
	p := testProcess(t, nil)
	g := maskGraph(t, 10, 10, func(c, r int) bool { return true })
	for _, name := range []string{"zigzag", "chessboard"} {
		s := session(t, p, g)
		if err := s.Begin(55); err != nil {
			t.Fatal(err)
		}
		s.Apply(s.MoveTo(56))
		moves := plan(t, p, name, s, config.Defaults().Planner)
		if !s.Done() || len(moves) != 98 || s.Metrics()["revisits"] != 0 {
			t.Fatalf("%s: %d moves, done %v", name, len(moves), s.Done())
		}
	}
	// baselines are registered for lpbf only
	for _, name := range []string{"zigzag", "chessboard"} {
		proc, err := planners.NewProcess("travel", config.Defaults())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := planners.NewPlanner(name, planners.Options{Process: proc}); err == nil {
			t.Fatalf("%s accepted for process travel", name)
		}
	}
}
