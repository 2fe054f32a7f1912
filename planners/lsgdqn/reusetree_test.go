package lsgdqn

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/baseline"
	"fabcell/planners/graph"
	_ "fabcell/processes/wireframe" // registers the wireframe process for TestReuseTreeModel
)

var reuseModel = flag.String("reuse-model", "", "TestReuseTreeModel: wire-frame model (e.g. NodeFemur_wireframe.txt) planned with the prefix tree re-rooted and dropped; empty = skip")
var reuseRings = flag.String("reuse-rings", "4", "TestReuseTreeModel: comma-separated rings")
var reuseVariants = flag.String("reuse-variants", "on,off,bfs", "TestReuseTreeModel: runs among on (re-rooted), off (dropped), bfs; plans are compared when two or more run, else compare the logged plan hashes")

// twoIslands is a triangulated 3×3 grid and a separate 2×2 grid 60 mm
// away: planning it needs at least one jump chain.
func twoIslands(t *testing.T) *graph.Graph {
	a := gridGraph(t, 3, 3, true)
	var pos = slices.Clone(a.Pos)
	var edges []graph.Edge
	for _, e := range a.Edges {
		edges = append(edges, graph.Edge{A: e.A, B: e.B})
	}
	off := len(pos)
	b := gridGraph(t, 2, 2, false)
	for _, p := range b.Pos {
		p.X += 60
		pos = append(pos, p)
	}
	for _, e := range b.Edges {
		edges = append(edges, graph.Edge{A: e.A + off, B: e.B + off})
	}
	return mustGraph(t, pos, edges)
}

// TestReuseTreeSamePlans: keeping the committed move's subtree across
// decisions (the default) and dropping it (Options.NoReuseTree) give the
// same plan move for move — on the exact path (then also bfs's plan), on
// the learning path (same seed: the random draws, replay and networks do
// not depend on the memo) and on the hybrid with a small budget — while
// re-rooting evaluates fewer rewards and feasible-move lists. Graphs with
// jumps included; the planner never changes the session behind the
// explorer, so no memo is ever dropped for that.
func TestReuseTreeSamePlans(t *testing.T) {
	graphs := smallGraphs(t)
	graphs["tri6x5"] = gridGraph(t, 6, 5, true)
	graphs["grid5x4"] = gridGraph(t, 5, 4, false)
	graphs["islands"] = twoIslands(t)
	type mode struct {
		name   string
		leaves int
		rings  []int
	}
	modes := []mode{{"exact", 1 << 30, []int{1, 2, 3, 4}}, {"learned", 0, []int{2, 3}}, {"hybrid6", 6, []int{3}}}
	if testing.Short() {
		modes = []mode{{"exact", 1 << 30, []int{2, 4}}, {"learned", 0, []int{2}}}
	}
	jumps := 0
	for _, md := range modes {
		var on, off Stats
		for name, g := range graphs {
			for _, n := range md.rings {
				o := fastOptions(n)
				o.ExactMaxLeaves = md.leaves
				keep, pk := planMoves(t, o, g)
				o.NoReuseTree = true
				drop, pd := planMoves(t, o, g)
				if !slices.Equal(keep, drop) {
					t.Fatalf("%s %s n=%d: plans differ with and without re-rooting:\n%v\n%v", md.name, name, n, keep, drop)
				}
				if md.leaves == 1<<30 {
					if want := bfsMoves(t, g, n); !slices.Equal(keep, want) {
						t.Fatalf("%s %s n=%d: lsg-dqn and bfs plans differ:\n%v\n%v", md.name, name, n, keep, want)
					}
				}
				sk, sd := pk.Stats(), pd.Stats()
				if sk.RewardCalls > sd.RewardCalls || sk.Expansions > sd.Expansions || sd.KeptNodes != 0 || sk.MemoDrops != 0 || sd.MemoDrops != 0 {
					t.Fatalf("%s %s n=%d: re-rooted %+v, dropped %+v", md.name, name, n, sk, sd)
				}
				if sk.Decisions != sd.Decisions || sk.Episodes != sd.Episodes || sk.Updates != sd.Updates || sk.Exact != sd.Exact {
					t.Fatalf("%s %s n=%d: the runs took different paths: %+v vs %+v", md.name, name, n, sk, sd)
				}
				on.add(sk)
				off.add(sd)
				jumps += sk.JumpChains
			}
		}
		t.Logf("%s: %d decisions; reward evaluations %d re-rooted vs %d dropped, feasible-move lists %d vs %d, %d prefixes kept",
			md.name, on.Decisions, on.RewardCalls, off.RewardCalls, on.Expansions, off.Expansions, on.KeptNodes)
		if on.KeptNodes == 0 || on.RewardCalls >= off.RewardCalls || on.Expansions >= off.Expansions {
			t.Errorf("%s: re-rooting saved nothing: %+v vs %+v", md.name, on, off)
		}
	}
	if jumps == 0 {
		t.Error("no jump chain planned: the test does not exercise the drop on jumps")
	}
}

func bfsWith(t *testing.T, c config.Planner) *baseline.BFS {
	t.Helper()
	b, err := baseline.NewBFS(planners.Options{Config: c})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// TestReuseTreeModel plans a wire-frame model (-reuse-model, default
// config, seed 1) with lsg-dqn re-rooting its prefix tree, dropping it,
// and bfs, checks the three plans are move for move equal and logs CPU
// seconds and the evaluation counters. A measurement harness: skipped
// without the flag (CI has no model data).
func TestReuseTreeModel(t *testing.T) {
	if *reuseModel == "" {
		t.Skip("no -reuse-model")
	}
	cfg := config.Defaults()
	proc, err := planners.NewProcess("wireframe", cfg)
	if err != nil {
		t.Fatal(err)
	}
	g, err := proc.Load(*reuseModel)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Split(*reuseRings, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			t.Fatal(err)
		}
		c := cfg.PlannerFor("wireframe")
		c.Ring = n
		plan := func(name string, p planners.Planner) []planners.Move {
			s, err := proc.NewSession(g)
			if err != nil {
				t.Fatal(err)
			}
			c0 := cpuSeconds()
			moves, err := planners.Run(context.Background(), p, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			line := ""
			if lp, ok := p.(*Planner); ok {
				st := lp.Stats()
				line = strconv.Itoa(st.Decisions) + " decisions (" + strconv.Itoa(st.Exact) + " exact), " +
					strconv.Itoa(st.RewardCalls) + " reward evaluations, " + strconv.Itoa(st.Expansions) + " feasible-move lists, " +
					strconv.Itoa(st.KeptNodes) + " prefixes kept"
			}
			h := fnv.New64a()
			for _, m := range moves {
				fmt.Fprintf(h, "%d %d %d %d|", m.From, m.To, m.Kind, m.Edge)
			}
			t.Logf("%s n=%d: %d moves (plan hash %016x), %.2f CPU s; %s", name, n, len(moves), h.Sum64(), cpuSeconds()-c0, line)
			return moves
		}
		var plans [][]planners.Move
		for _, v := range strings.Split(*reuseVariants, ",") {
			o, err := OptionsFromConfig(c)
			if err != nil {
				t.Fatal(err)
			}
			switch v {
			case "on", "off":
				o.NoReuseTree = v == "off"
				p, err := NewWithOptions(o, proc, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				plans = append(plans, plan("lsg-dqn reuse "+v, p))
			case "bfs":
				plans = append(plans, plan("bfs", bfsWith(t, c)))
			default:
				t.Fatalf("unknown variant %q", v)
			}
		}
		for i := 1; i < len(plans); i++ {
			if !slices.Equal(plans[0], plans[i]) {
				t.Errorf("n=%d: plans of variants 1 and %d differ (%s)", n, i+1, *reuseVariants)
			}
		}
	}
}
