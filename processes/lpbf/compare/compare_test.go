package compare

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/planners"
	_ "fabcell/planners/baseline" // greedy
	"fabcell/planners/lsgdqn"     // lsg-dqn
	"fabcell/processes/lpbf"
	"fabcell/processes/lpbf/masks"
)

var (
	tableFlag   = flag.Bool("table", false, "run every LPBF planner on every test layer and print the README table (slow: ~10 CPU minutes)")
	tableOut    = flag.String("table-out", "", "with -table: also write the markdown table to this file")
	tableOnly   = flag.String("layers", "", "with -table: comma-separated layer names or sets to run: \"table\" (the README layers, default), \"heldout\" (layers the session rules were not tuned on), \"all\"")
	tableConfig = flag.String("config", "testdata/lpbf-fast.yaml", "cell configuration of the comparison")
	tablePlan   = flag.String("planners", "", "with -table: comma-separated planner names to run (default all)")
)

// layers are the test layers: the generated masks (package masks) and
// layers of the OpenVectorFormatTools CLI samples kept in
// planners/graph/commonlayer/testdata (LGPL-2.1, see SOURCES.md there),
// rasterised at lpbf.spacing_mm.
var layers = []struct{ name, path string }{
	{"bracket", bracketPNG},
	{"hook", hookPNG},
	{"bracket-20k", bracket20k},
	{"cylinder#0", cliDir + "s_Cylinder_ex.cli#0"},
	{"cylinder#5", cliDir + "s_Cylinder_ex.cli#5"},
	{"lanze#0", cliDir + "Lanze_bottomdown_20mm_onlyblocksupport_p_s.cli#0"},
	{"box#101", cliDir + "Box_support_solid_ascii_with_params.cli#101"},
	{"frustrum#99", cliDir + "frustrum_ASCII.cli#99"},
	{"minicooper#0", cliDir + "s_MiniCooper_ex.cli#0"},
}

// heldoutCLI are CLI layers of the same files that are not in the README
// table (other parts of the build: the cylinder's top, the lance's
// narrowing supports, the box's walls lower and higher up, an earlier
// frustrum slice).
var heldoutCLI = []struct{ name, path string }{
	{"cylinder#2", cliDir + "s_Cylinder_ex.cli#2"},
	{"cylinder#7", cliDir + "s_Cylinder_ex.cli#7"},
	{"lanze#60", cliDir + "Lanze_bottomdown_20mm_onlyblocksupport_p_s.cli#60"},
	{"lanze#70", cliDir + "Lanze_bottomdown_20mm_onlyblocksupport_p_s.cli#70"},
	{"box#300", cliDir + "Box_support_solid_ascii_with_params.cli#300"},
	{"box#600", cliDir + "Box_support_solid_ascii_with_params.cli#600"},
	{"box#1000", cliDir + "Box_support_solid_ascii_with_params.cli#1000"},
	{"frustrum#90", cliDir + "frustrum_ASCII.cli#90"},
}

type layer struct{ name, path string }

// heldoutLayers writes the generated held-out masks (masks.HeldOut) as PNG
// files into dir and returns them after the held-out CLI layers.
func heldoutLayers(tb testing.TB, dir string) []layer {
	tb.Helper()
	var out []layer
	for _, l := range masks.HeldOut() {
		var buf bytes.Buffer
		if err := masks.Encode(&buf, l.Gen()); err != nil {
			tb.Fatal(err)
		}
		path := filepath.Join(dir, l.Name+".png")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
		out = append(out, layer{l.Name, path})
	}
	for _, l := range heldoutCLI {
		out = append(out, layer(l))
	}
	return out
}

// selectLayers resolves the -layers flag: sets "table", "heldout", "all"
// and single layer names of either set, in the order given.
func selectLayers(tb testing.TB, spec string) []layer {
	tb.Helper()
	table := make([]layer, len(layers))
	for i, l := range layers {
		table[i] = layer(l)
	}
	var held []layer
	heldout := func() []layer {
		if held == nil {
			held = heldoutLayers(tb, tb.TempDir())
		}
		return held
	}
	if spec == "" {
		spec = "table"
	}
	var out []layer
	for _, n := range strings.Split(spec, ",") {
		switch n {
		case "":
		case "table":
			out = append(out, table...)
		case "heldout":
			out = append(out, heldout()...)
		case "all":
			out = append(out, table...)
			out = append(out, heldout()...)
		default:
			found := false
			for _, l := range append(table, heldout()...) {
				if l.name == n {
					out = append(out, l)
					found = true
					break
				}
			}
			if !found {
				tb.Fatalf("-layers: no layer or set %q", n)
			}
		}
	}
	return out
}

var plannerNames = []string{"lsg-dqn", "zigzag", "chessboard", "greedy"}

type outcome struct {
	pixels    int
	metrics   map[string]float64
	cpu, wall time.Duration
	stats     *lsgdqn.Stats // lsg-dqn only
}

// planLayer plans one layer exactly as `fabcell plan` does (process from
// the registry, Process.Load, planner from the registry, planners.Run,
// NewPlanFile) and checks on the JSON plan file that every pixel is
// scanned exactly once.
func planLayer(t *testing.T, cfg config.Cell, plannerName, path string) outcome {
	t.Helper()
	proc, err := planners.NewProcess("lpbf", cfg)
	if err != nil {
		t.Fatal(err)
	}
	g, err := proc.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := proc.NewSession(g)
	if err != nil {
		t.Fatal(err)
	}
	pc := cfg.PlannerFor("lpbf") // as fabcell plan: planner.per_process.lpbf, then the explicit --planner
	pc.Name = plannerName
	pl, err := planners.NewPlanner(plannerName, planners.Options{Config: pc, Process: proc})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	c0, w0 := processCPU(), time.Now()
	moves, err := planners.Run(t.Context(), pl, s, nil)
	cpu, wall := processCPU()-c0, time.Since(w0)
	if err != nil {
		t.Fatalf("%s on %s: %v", plannerName, path, err)
	}
	res := &planners.Result{Process: "lpbf", Planner: plannerName, Model: path, Graph: g, Session: s, Moves: moves, Metrics: s.Metrics(), Config: cfg, ElapsedS: wall.Seconds()}
	data, err := json.Marshal(planners.NewPlanFile(res, pc.Ring, pc.Seed))
	if err != nil {
		t.Fatal(err)
	}
	order, _, err := planners.ParseOrder(path, data)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]bool, g.NumNodes())
	for _, v := range order {
		if v < 0 || v >= len(seen) || seen[v] {
			t.Fatalf("%s on %s: pixel %d scanned twice or out of range", plannerName, path, v)
		}
		seen[v] = true
	}
	if len(order) != g.NumNodes() {
		t.Fatalf("%s on %s: %d of %d pixels scanned", plannerName, path, len(order), g.NumNodes())
	}
	// the plan's metrics are the shared evaluator's on the plan's order
	ev, err := lpbf.Evaluate(cfg.LPBF, g, order)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range ev.Map() {
		if res.Metrics[k] != v {
			t.Fatalf("%s on %s: metric %s %v, evaluator %v", plannerName, path, k, res.Metrics[k], v)
		}
	}
	o := outcome{pixels: g.NumNodes(), metrics: res.Metrics, cpu: cpu, wall: wall}
	if lp, ok := pl.(*lsgdqn.Planner); ok {
		st := lp.Stats()
		o.stats = &st
	}
	return o
}

func loadConfig(t *testing.T) config.Cell {
	t.Helper()
	cfg, err := config.Load(*tableConfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestEachPixelOnceLSGDQN: lsg-dqn (fast preset) and the baselines scan
// every pixel of small real layers exactly once. The full-size layers run
// with -table.
func TestEachPixelOnceLSGDQN(t *testing.T) {
	cfg := loadConfig(t)
	paths := []string{layers[5].path} // lanze#0, thin support walls with 11+ islands
	if !testing.Short() {
		paths = append(paths, layers[6].path, layers[4].path) // box#101, cylinder#5 (35 islands)
	}
	for _, path := range paths {
		for _, name := range plannerNames {
			o := planLayer(t, cfg, name, path)
			t.Logf("%-12s %-60s %5d px: hot %.4g mm², peak %.3f, residual p95 %.3f, %v jumps, %.2f CPU s", name, path, o.pixels,
				o.metrics["hot_area_mm2"], o.metrics["peak_temperature"], o.metrics["residual_heat_p95"], o.metrics["jumps"], o.cpu.Seconds())
		}
	}
}

// TestTable regenerates the README table (run with -table; one run, one
// configuration, the shared evaluator).
func TestTable(t *testing.T) {
	if !*tableFlag {
		t.Skip("run with -table (about 10 CPU minutes)")
	}
	cfg := loadConfig(t)
	var b strings.Builder
	fmt.Fprintf(&b, "| layer | pixels | planner | hot area (mm²) | hot_area_fraction | peak_temperature | residual_heat_p95 | mean_residual_heat | peak_preheat | mean_preheat | capped_steps | jumps | scan_vectors | scan_time_s | planning CPU s (wall s) |\n")
	fmt.Fprintf(&b, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	names := plannerNames
	if *tablePlan != "" {
		names = strings.Split(*tablePlan, ",")
	}
	var verdicts strings.Builder
	fmt.Fprintf(&verdicts, "\n| layer | pixels | lsg-dqn hot area (mm²) | best baseline | lsg-dqn peak | best baseline | lower hot area | lower peak |\n|---|---:|---:|---:|---:|---:|---|---|\n")
	nPass, nLayers := 0, 0
	write := func() {
		if *tableOut != "" {
			if err := os.WriteFile(*tableOut, []byte(b.String()+verdicts.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, l := range selectLayers(t, *tableOnly) {
		res := map[string]outcome{}
		for _, name := range names {
			o := planLayer(t, cfg, name, l.path)
			res[name] = o
			m := o.metrics
			row := fmt.Sprintf("| %s | %d | %s | %.5f | %.3e | %.3f | %.3f | %.4f | %.3f | %.4f | %.0f | %.0f | %.0f | %.3f | %.1f (%.1f) |",
				l.name, o.pixels, name, m["hot_area_mm2"], m["hot_area_fraction"], m["peak_temperature"], m["residual_heat_p95"],
				m["mean_residual_heat"], m["peak_preheat"], m["mean_preheat"], m["capped_steps"], m["jumps"], m["scan_vectors"], m["scan_time_s"],
				o.cpu.Seconds(), o.wall.Seconds())
			fmt.Fprintln(&b, row)
			t.Log(row)
			write()
		}
		if v, ok := verdict(l.name, res); ok {
			nLayers++
			if v.pass() {
				nPass++
			}
			fmt.Fprintln(&verdicts, v.row())
			t.Log(v.row())
			write()
		}
	}
	if nLayers > 0 {
		fmt.Fprintf(&verdicts, "\nlsg-dqn has a lower hot area and a lower peak temperature than zigzag and chessboard on %d of %d layers\n", nPass, nLayers)
		write()
	}
	fmt.Print(b.String(), verdicts.String())
}

// goal is the criterion on one layer: lsg-dqn's hot area and peak
// temperature against the better of zigzag and chessboard (strictly lower
// on the printed precision's underlying values).
type goal struct {
	layer          string
	pixels         int
	hot, baseHot   float64
	peak, basePeak float64
}

func (g goal) pass() bool { return g.hot < g.baseHot && g.peak < g.basePeak }

func (g goal) row() string {
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "**no**"
	}
	return fmt.Sprintf("| %s | %d | %.5f | %.5f | %.3f | %.3f | %s (%+.1f %%) | %s (%+.1f %%) |", g.layer, g.pixels, g.hot, g.baseHot, g.peak, g.basePeak,
		yn(g.hot < g.baseHot), 100*(g.hot/g.baseHot-1), yn(g.peak < g.basePeak), 100*(g.peak/g.basePeak-1))
}

// verdict returns the goal row of a layer when lsg-dqn and both baselines ran.
func verdict(name string, res map[string]outcome) (goal, bool) {
	l, ok1 := res["lsg-dqn"]
	z, ok2 := res["zigzag"]
	c, ok3 := res["chessboard"]
	if !ok1 || !ok2 || !ok3 {
		return goal{}, false
	}
	return goal{layer: name, pixels: l.pixels,
		hot: l.metrics["hot_area_mm2"], baseHot: math.Min(z.metrics["hot_area_mm2"], c.metrics["hot_area_mm2"]),
		peak: l.metrics["peak_temperature"], basePeak: math.Min(z.metrics["peak_temperature"], c.metrics["peak_temperature"])}, true
}

// BenchmarkPlan15k plans the whole 15,201-pixel bracket layer per op with
// each LPBF planner, configured as `fabcell plan` and TestTable configure
// it (testdata/lpbf-fast.yaml, then planner.per_process.lpbf), and reports
// the CPU seconds per plan next to the wall time (the machine is shared).
// Run with -benchtime 1x.
func BenchmarkPlan15k(b *testing.B) {
	cfg, err := config.Load("testdata/lpbf-fast.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range plannerNames {
		b.Run(name, func(b *testing.B) {
			proc, err := planners.NewProcess("lpbf", cfg)
			if err != nil {
				b.Fatal(err)
			}
			g, err := proc.Load(bracketPNG)
			if err != nil {
				b.Fatal(err)
			}
			c0 := processCPU()
			for b.Loop() {
				s, _ := proc.NewSession(g)
				pc := cfg.PlannerFor("lpbf")
				pc.Name = name
				pl, err := planners.NewPlanner(name, planners.Options{Config: pc, Process: proc})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := planners.Run(b.Context(), pl, s, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((processCPU()-c0).Seconds()/float64(b.N), "cpu-s/plan")
		})
	}
}

// TestHeldOutLayers: -layers resolves the sets and single names, every
// held-out layer loads as an LPBF layer, and the planners scan a held-out
// thin wall (and, without -short, the lattice) each pixel exactly once.
func TestHeldOutLayers(t *testing.T) {
	cfg := loadConfig(t)
	held := selectLayers(t, "heldout")
	if len(held) != len(masks.HeldOut())+len(heldoutCLI) {
		t.Fatalf("heldout: %d layers", len(held))
	}
	if all := selectLayers(t, "all"); len(all) != len(layers)+len(held) {
		t.Fatalf("all: %d layers", len(all))
	}
	if l := selectLayers(t, "box#101,wall-60x2"); len(l) != 2 || l[0].name != "box#101" || l[1].name != "wall-60x2" {
		t.Fatalf("names: %v", l)
	}
	proc, err := planners.NewProcess("lpbf", cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range held {
		if _, err := proc.Load(l.path); err != nil {
			t.Fatalf("%s: %v", l.name, err)
		}
	}
	names := []string{"wall-60x2"}
	if !testing.Short() {
		names = append(names, "lattice")
	}
	for _, l := range selectLayers(t, strings.Join(names, ",")) {
		for _, name := range plannerNames {
			o := planLayer(t, cfg, name, l.path)
			t.Logf("%-12s %-10s %5d px: hot %.4g mm², peak %.3f", name, l.name, o.pixels, o.metrics["hot_area_mm2"], o.metrics["peak_temperature"])
		}
	}
}
