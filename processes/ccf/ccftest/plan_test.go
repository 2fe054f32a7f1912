// Package ccftest runs every planner registered for the CCF process on the
// RL3DP models the way `fabcell plan` does (process → session → planner →
// plan JSON), then re-reads the JSON and checks it independently of the
// planner and the session: its own parser of the Node/Edge files, its own
// pass counting and turning angles.
package ccftest

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/planners"
	_ "fabcell/planners/baseline"
	_ "fabcell/planners/lsgdqn"
	_ "fabcell/processes/ccf"
)

const dataDir = "../testdata"

// model is an independent reading of an RL3DP Node/Edge pair.
type model struct {
	xy    [][2]float64
	mult  map[[2]int]int // undirected pair → times listed
	total float64        // Σ distinct edge lengths, mm
}

func readModel(t *testing.T, name string) model {
	t.Helper()
	read := func(path string) [][]string {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var rows [][]string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fs := strings.Fields(sc.Text()); len(fs) > 0 {
				rows = append(rows, fs)
			}
		}
		return rows
	}
	var m model
	for _, r := range read(filepath.Join(dataDir, "Node"+name+"_CCF.txt")) {
		x, _ := strconv.ParseFloat(r[0], 64)
		y, _ := strconv.ParseFloat(r[1], 64)
		m.xy = append(m.xy, [2]float64{x, y})
	}
	m.mult = map[[2]int]int{}
	for _, r := range read(filepath.Join(dataDir, "Edge"+name+"_CCF.txt")) {
		a, _ := strconv.Atoi(r[0])
		b, _ := strconv.Atoi(r[1])
		k := [2]int{min(a, b), max(a, b)}
		if m.mult[k] == 0 {
			m.total += math.Hypot(m.xy[a][0]-m.xy[b][0], m.xy[a][1]-m.xy[b][1])
		}
		m.mult[k]++
	}
	return m
}

// verdict is what the independent check finds in a plan's path.
type verdict struct {
	lengthMM      float64
	sharp, over90 int
	twice         int
}

func check(t *testing.T, m model, path []int, sharpDeg float64) verdict {
	t.Helper()
	var v verdict
	count := map[[2]int]int{}
	for i := 1; i < len(path); i++ {
		a, b := path[i-1], path[i]
		k := [2]int{min(a, b), max(a, b)}
		if m.mult[k] == 0 {
			t.Fatalf("step %d: %d→%d is not an edge of the model (a jump: not one stroke)", i, a, b)
		}
		count[k]++
		v.lengthMM += math.Hypot(m.xy[a][0]-m.xy[b][0], m.xy[a][1]-m.xy[b][1])
		if i >= 2 {
			p := path[i-2]
			ux, uy := m.xy[a][0]-m.xy[p][0], m.xy[a][1]-m.xy[p][1]
			wx, wy := m.xy[b][0]-m.xy[a][0], m.xy[b][1]-m.xy[a][1]
			deg := math.Atan2(math.Abs(ux*wy-uy*wx), ux*wx+uy*wy) * 180 / math.Pi
			if deg > sharpDeg {
				v.sharp++
			}
			if deg > 90 {
				v.over90++
			}
		}
	}
	for k, n := range m.mult {
		c := count[k]
		if c < 1 || c > n {
			t.Fatalf("edge %v covered %d times, the model allows 1..%d", k, c, n)
		}
		if c == 2 {
			v.twice++
		}
	}
	if len(count) != len(m.mult) {
		t.Fatalf("path uses %d distinct edges, model has %d", len(count), len(m.mult))
	}
	return v
}

// plan runs one planner like `fabcell plan` and writes the plan JSON.
func plan(t *testing.T, cfg config.Cell, planner, name, out string) {
	t.Helper()
	cfg.Planner.Name = planner
	proc, err := planners.NewProcess("ccf", cfg)
	if err != nil {
		t.Fatal(err)
	}
	modelPath := filepath.Join(dataDir, "Node"+name+"_CCF.txt")
	g, err := proc.Load(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := proc.NewSession(g)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := planners.NewPlanner(planner, planners.Options{Config: cfg.Planner, Process: proc})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	moves, err := planners.Run(context.Background(), pl, s, nil)
	if err != nil {
		t.Fatalf("%s on %s: %v", planner, name, err)
	}
	res := &planners.Result{Process: "ccf", Planner: planner, Model: modelPath, Graph: g, Session: s,
		Moves: moves, Metrics: s.Metrics(), Config: cfg, ElapsedS: time.Since(t0).Seconds()}
	data, err := json.Marshal(planners.NewPlanFile(res, cfg.Planner.Ring, cfg.Planner.Seed))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readPlan(t *testing.T, path string) planners.PlanFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pf planners.PlanFile
	if err := json.Unmarshal(data, &pf); err != nil {
		t.Fatal(err)
	}
	return pf
}

func verify(t *testing.T, cfg config.Cell, m model, pf planners.PlanFile) verdict {
	t.Helper()
	for i, mv := range pf.Moves {
		if mv.Kind != planners.Print {
			t.Fatalf("move %d is a %v move: not one stroke", i, mv.Kind)
		}
	}
	v := check(t, m, pf.Path, cfg.CCF.SharpTurnDeg)
	for key, want := range map[string]float64{
		"sharp_turns": float64(v.sharp), "turns_over_90": float64(v.over90),
		"retraversed_edges": float64(v.twice), "one_stroke": 1, "complete": 1,
		"covered": float64(len(m.mult)), "jumps": 0,
	} {
		if pf.Metrics[key] != want {
			t.Errorf("metric %s = %v, independent count %v", key, pf.Metrics[key], want)
		}
	}
	for _, key := range []string{"length_mm", "fiber_mm"} {
		if math.Abs(pf.Metrics[key]-v.lengthMM) > 1e-3 {
			t.Errorf("metric %s = %v, independent length %v", key, pf.Metrics[key], v.lengthMM)
		}
	}
	if pf.Process != "ccf" || pf.Nodes != len(m.xy) || pf.Edges != len(m.mult) {
		t.Errorf("plan header %s %d/%d", pf.Process, pf.Nodes, pf.Edges)
	}
	return v
}

// TestBaselinesOnModels: euler (both stroke constructions), dfs, greedy
// and random on Bearing, Gear and Shell each give one stroke covering
// every edge once or twice.
func TestBaselinesOnModels(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"Bearing", "Gear", "Shell"} {
		m := readModel(t, name)
		for _, variant := range []string{"euler", "euler/matched", "dfs", "greedy", "random"} {
			pl, turns, _ := strings.Cut(variant, "/")
			cfg := config.Defaults()
			if turns != "" {
				cfg.CCF.EulerTurns = turns
			}
			out := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.json", name, pl, turns))
			plan(t, cfg, pl, name, out)
			v := verify(t, cfg, m, readPlan(t, out))
			t.Logf("%-8s %-14s sharp %4d  length %8.1f mm  twice %4d", name, variant, v.sharp, v.lengthMM, v.twice)
			if pl == "euler" && v.lengthMM > 1.2*m.total {
				t.Errorf("euler on %s: %.1f mm, more than 1.2 × the edge total %.1f", name, v.lengthMM, m.total)
			}
		}
	}
}

var long = flag.Bool("ccf.long", false, "plan all three models with lsg-dqn (ring 2; tens of minutes)")

// TestLSGDQNOnModels runs the learning planner. A full default run takes
// many minutes per model on this machine (see the README table), so by
// default it plans Bearing with ring 1 and few episodes — enough to check
// that the planner and the process together give one complete stroke;
// -ccf.long plans all three models with ring 2.
func TestLSGDQNOnModels(t *testing.T) {
	models := []string{"Bearing"}
	cfg := config.Defaults()
	cfg.Planner.Ring = 1
	cfg.Planner.EpisodeFactor = 10
	cfg.Planner.PatienceFactor = 3
	cfg.Planner.MaxEpisodes = 30
	if *long {
		models = []string{"Bearing", "Gear", "Shell"}
		cfg.Planner.Ring = 2
		cfg.Planner.MaxEpisodes = 40
	}
	dir := t.TempDir()
	for _, name := range models {
		m := readModel(t, name)
		out := filepath.Join(dir, name+"-lsg-dqn.json")
		plan(t, cfg, "lsg-dqn", name, out)
		v := verify(t, cfg, m, readPlan(t, out))
		t.Logf("%-8s lsg-dqn sharp %4d  length %8.1f mm  twice %4d", name, v.sharp, v.lengthMM, v.twice)
	}
}
