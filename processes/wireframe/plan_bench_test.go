package wireframe

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"testing"

	"fabcell/planners"
	_ "fabcell/planners/baseline"
)

var (
	planModel = flag.String("wf.model", femurPath, "BenchmarkPlan: model file")
	planMoves = flag.Int("wf.moves", 0, "BenchmarkPlan: stop after this many moves (0 = complete plan)")
)

// BenchmarkPlan runs whole plans (default config, ring 4, seed 1) with the
// planners that share the process's reward: LSG-DQN and the bfs baseline.
// It is the end-to-end measure of where wire-frame planning time goes
// (profile with -cpuprofile: fea.Session.WithCandidate and
// collision.Checker.BestAccept dominate). One op = one plan of the model
// given by -wf.model (default Femur), cut after -wf.moves moves if set;
// the print order's FNV hash is reported so runs can be compared for
// identical plans. lsg-dqn-fortify100 is LSG-DQN with the fortified
// rollout checked every 100 moves (planner.fortify_every), for its cost;
// its largest sag is reported too.
func BenchmarkPlan(b *testing.B) {
	for _, tc := range []struct {
		name, planner string
		fortify       int
	}{{"lsg-dqn", "lsg-dqn", 0}, {"bfs", "bfs", 0}, {"lsg-dqn-fortify100", "lsg-dqn", 100}} {
		planner := tc.planner
		b.Run(tc.name, func(b *testing.B) {
			cfg := defaults()
			cfg.Planner.Ring, cfg.Planner.Seed, cfg.Planner.FortifyEvery = 4, 1, tc.fortify
			p := newProc(b, cfg)
			g := load(b, p, *planModel)
			for i := 0; i < b.N; i++ {
				s := open(b, p, g)
				pl, err := planners.NewPlanner(planner, planners.Options{Config: cfg.Planner, Process: p})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				n := 0
				_, err = planners.Run(ctx, pl, s, func(int, int) {
					if n++; *planMoves > 0 && n >= *planMoves {
						cancel()
					}
				})
				cancel()
				if err != nil && *planMoves == 0 {
					b.Fatal(err)
				}
				if i == 0 {
					h := fnv.New64a()
					for _, e := range printOrder(s) {
						fmt.Fprintf(h, "%d,", e)
					}
					b.ReportMetric(float64(h.Sum64()%1e6), "order-hash6")
					b.ReportMetric(s.ObjectiveCost()[2], "max-sag-mm")
				}
			}
		})
	}
}
