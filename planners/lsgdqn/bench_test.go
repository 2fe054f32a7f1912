package lsgdqn

import (
	"context"
	"fmt"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
)

const bunny = "testdata/NodeBunny_wireframe.txt"

// benchRunner returns a runner on a fresh travel session over the Bunny,
// begun at the first start node.
func benchRunner(b testing.TB, opt Options) *runner {
	g, err := graph.Load(bunny, graph.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	proc := &planners.TravelProcess{Cfg: config.Defaults(), TurnWeight: 0.1}
	s, _ := proc.NewSession(g)
	if err := s.Begin(s.Starts()[0]); err != nil {
		b.Fatal(err)
	}
	if err := opt.Validate(); err != nil {
		b.Fatal(err)
	}
	r, err := newRunner(&opt, s, NewBank(opt.PriorK, opt.PriorBeta, opt.Net), 0)
	if err != nil {
		b.Fatal(err)
	}
	r.ex.Reset()
	return r
}

// step advances the runner by one learned decision (taking forced moves
// and jumps on the way) and reports false when the toolpath is complete.
func (r *runner) stepDecision(ctx context.Context) (bool, error) {
	emit := func(planners.Move) error { return nil }
	for {
		r.ex.SyncRoot()
		if r.s.Done() {
			return false, nil
		}
		r.cands = r.s.Candidates(r.cands[:0])
		switch len(r.cands) {
		case 0:
			for _, m := range append([]planners.Move(nil), r.s.Jump()...) {
				if err := r.commit(m, emit); err != nil {
					return false, err
				}
			}
		case 1:
			if err := r.commit(r.cands[0], emit); err != nil {
				return false, err
			}
		default:
			m, err := r.decide(ctx)
			if err != nil {
				return false, err
			}
			r.stats.Decisions++
			return true, r.commit(m, emit)
		}
	}
}

// RecommendedOptions are the defaults recommended for config.Planner on a
// 2-core machine (see README): the release's algorithm with a 4× smaller
// episode budget and a narrower network.
func recommendedOptions(n int) Options {
	o := DefaultOptions()
	o.Ring = n
	o.NMax = 40 * n
	o.EpisodeFactor = 10
	o.Net.E2E = [2]int{4, 4}
	o.Net.E2N = 4
	o.Net.Hidden = 64
	o.ExactMaxLeaves = 0 // every decision learned
	return o
}

// releaseOptions are the release's budget (40·n episodes, patience 5·n,
// E2E 8 channels, hidden 128).
func releaseOptions(n int) Options {
	o := DefaultOptions()
	o.Ring = n
	o.NMax = 40 * n
	o.ExactMaxLeaves = 0
	return o
}

// BenchmarkDecision measures learned decisions per second on the Bunny
// (travel process) for n = 2…6, with (K = 10) and without (K = 0) prior
// reuse. One iteration = one learned decision at the next node of the
// toolpath; forced moves and jumps on the way are included. The first
// K+2 decisions (bank filling, buffer growth) are not timed, so B/op and
// allocs/op are the steady-state memory per decision. The release budget
// is benchmarked up to n = 4 (n = 6 takes ~18 CPU s per decision).
// "hybrid" is the recommended budget with the default exact budget
// (exact_max_leaves 256): decisions whose exact search fits are not
// learned (exact/decision reports their share).
func BenchmarkDecision(b *testing.B) {
	for _, budget := range []string{"recommended", "release", "hybrid"} {
		for _, n := range []int{2, 3, 4, 5, 6} {
			if budget == "release" && n > 4 {
				continue
			}
			for _, k := range []int{0, 10} {
				if budget == "hybrid" && k > 0 {
					continue
				}
				b.Run(fmt.Sprintf("%s/n%d/K%d", budget, n, k), func(b *testing.B) {
					opt := recommendedOptions(n)
					switch budget {
					case "release":
						opt = releaseOptions(n)
					case "hybrid":
						opt.ExactMaxLeaves = DefaultOptions().ExactMaxLeaves
					}
					opt.PriorK = k
					r := benchRunner(b, opt)
					ctx := context.Background()
					for i := 0; i < k+2; i++ {
						if _, err := r.stepDecision(ctx); err != nil {
							b.Fatal(err)
						}
					}
					r.stats = Stats{}
					b.ReportAllocs()
					cpu0 := cpuNow()
					b.ResetTimer()
					for b.Loop() {
						more, err := r.stepDecision(ctx)
						if err != nil {
							b.Fatal(err)
						}
						if !more {
							b.Fatal("toolpath finished during the benchmark")
						}
					}
					b.StopTimer()
					cpu := cpuNow() - cpu0
					st := r.stats
					b.ReportMetric(cpu.Seconds()/float64(st.Decisions), "cpu-s/decision")
					b.ReportMetric(float64(st.Decisions)/b.Elapsed().Seconds(), "decisions/s")
					b.ReportMetric(avg(st.Episodes, st.Decisions), "episodes/decision")
					b.ReportMetric(avg(st.Updates, st.Decisions), "updates/decision")
					b.ReportMetric(avg(st.RewardCalls, st.Decisions), "rewards/decision")
					b.ReportMetric(avg(st.Exact, st.Decisions), "exact/decision")
				})
			}
		}
	}
}
