package compare

import (
	"fmt"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/dqn"
	"fabcell/planners/lsg"
	"fabcell/planners/lsgdqn"
	"fabcell/processes/lpbf"
)

// BenchmarkInferenceOnlyDecision measures the floor of a decision without
// learning — what an inference-only decision of a fast LSG-DQN mode would
// cost on a 15k-pixel LPBF layer: build the n-ring LSG, fill the state
// (adjacency + heat rows, spec §5), extract the similarity state, find the
// most similar of K stored networks (Eq. 3) and run one forward pass. One
// op = one decision along the greedy order of the bracket (the moves
// themselves are applied as the real planner would, through the
// explorer). It also reports which share of the decisions would find a
// stored state at least 0.9 / 0.99 similar (the bank is filled by the
// paper's diversity rule as the run goes, as in the planner).
func BenchmarkInferenceOnlyDecision(b *testing.B) {
	for _, tc := range []struct{ ring, k int }{{2, 10}, {2, 100}, {2, 1000}, {3, 10}, {3, 100}, {4, 10}} {
		ring := tc.ring
		b.Run(fmt.Sprintf("n%d/K%d", ring, tc.k), func(b *testing.B) {
			cfg := config.Defaults()
			p, err := lpbf.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			g, err := p.Load(bracketPNG)
			if err != nil {
				b.Fatal(err)
			}
			opt := recommended(ring)
			opt.PriorK = tc.k
			if err := opt.Validate(); err != nil {
				b.Fatal(err)
			}
			// the order to follow: greedy's (cheap, same kind of states)
			gs, _ := p.NewSession(g)
			gp, _ := planners.NewPlanner("greedy", planners.Options{Config: cfg.Planner, Process: p})
			moves, err := planners.Run(b.Context(), gp, gs, nil)
			if err != nil {
				b.Fatal(err)
			}
			s, _ := p.NewSession(g)
			if err := s.Begin(moves[0].From); err != nil {
				b.Fatal(err)
			}
			bld, err := lsg.NewBuilder(g, lsg.Config{Ring: opt.Ring, NMax: opt.NMax})
			if err != nil {
				b.Fatal(err)
			}
			ex, err := lsg.NewExplorer(s, lsg.ExplorerConfig{Horizon: opt.Ring, Discount: opt.Discount})
			if err != nil {
				b.Fatal(err)
			}
			ex.Reset()
			net, err := dqn.New(opt.Net)
			if err != nil {
				b.Fatal(err)
			}
			bank := lsgdqn.NewBank(opt.PriorK, opt.PriorBeta, opt.Net)
			lo := lsg.Layout{N: opt.NMax}
			buf := make([]float64, lo.Len())
			q := make([]float64, opt.NMax)
			var st lsgdqn.State
			var decisions, sim90, sim99 int
			i := 0
			b.ResetTimer()
			cpu0 := processCPU()
			for b.Loop() {
				if i == len(moves) {
					b.StopTimer()
					if err := s.Begin(moves[0].From); err != nil {
						b.Fatal(err)
					}
					ex.Reset()
					i = 0
					b.StartTimer()
				}
				m := moves[i]
				i++
				prev := -1
				if ms := s.Moves(); len(ms) > 0 {
					prev = ms[len(ms)-1].From
				}
				l, err := bld.Build(s.Current(), prev)
				if err != nil {
					b.Fatal(err)
				}
				if err := ex.Bind(l); err != nil {
					b.Fatal(err)
				}
				ex.FillRoot(lo, buf)
				st = lsgdqn.StateFromBuffer(lo, buf, l.Size(), st)
				if _, sim := bank.Best(st); sim >= 0.99 {
					sim99++
					sim90++
				} else if sim >= 0.9 {
					sim90++
				}
				net.Forward(dqn.Input{Active: l.Size(), X: buf}, q)
				bank.Offer(st, net)
				decisions++
				ex.Commit(m)
			}
			cpu := processCPU() - cpu0
			b.ReportMetric(float64(cpu.Microseconds())/float64(decisions), "cpu-µs/decision")
			b.ReportMetric(float64(sim90)/float64(decisions), "share-sim≥0.9")
			b.ReportMetric(float64(sim99)/float64(decisions), "share-sim≥0.99")
		})
	}
}
