package fea

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuClock reports process CPU time per op next to wall time: the build
// machine is shared, so wall-clock ns/op varies with load while CPU time
// (user + system, all threads) is what the work costs.
type cpuClock struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startCPU must be called right after b.ResetTimer.
func startCPU() cpuClock { return cpuClock{start: cpuNow()} }

func (c cpuClock) report(b *testing.B, ops int) {
	b.ReportMetric(float64(cpuNow()-c.start)/float64(max(ops, 1)), "cpu-ns/op")
}

// Benchmarks of the planner's FEA workload (README "FEA" section).
//
// A decision is simulated from a partial structure printed in layered
// order (30 % or 60 % of the struts): the next strut of the order is where
// the tool is, and the candidates are the unprinted struts at either of
// its nodes (the 1-ring moves a planner scores). Every candidate is
// evaluated, then the next strut is printed (Add) and the next decision
// follows. One benchmark op is one candidate evaluation, amortising the
// per-decision work (factorisation of the new printed set, node columns).

var benchModels = []struct{ name, path string }{
	{"Bunny", "testdata/rl3dp/NodeBunny_wireframe.txt"},
	{"Lounge", "testdata/rl3dp/NodeLounge_wireframe.txt"},
}

type benchSetup struct {
	f     *Frame
	order []int
}

var (
	benchMu    sync.Mutex
	benchCache = map[string]*benchSetup{}
)

func benchLoad(b *testing.B, path string) *benchSetup {
	benchMu.Lock()
	defer benchMu.Unlock()
	if s, ok := benchCache[path]; ok {
		return s
	}
	_, f := loadModel(b, path)
	s := &benchSetup{f: f, order: layeredOrder(f)}
	f.rank(AutoOrdering)
	benchCache[path] = s
	return s
}

// decision is one step of the simulated planner.
type decision struct {
	next  int   // strut printed after the decision
	cands []int // candidates evaluated (stable ones only)
	nodes []int // LSG window (ring around the tool)
}

// decisions builds the decision sequence from order[k:], keeping only
// stable candidates (a planner masks floating struts cheaply).
func (bs *benchSetup) decisions(k, n, ringK int) []decision {
	f := bs.f
	printed := make([]bool, f.NumElems())
	for _, e := range bs.order[:k] {
		printed[e] = true
	}
	reached := make([]bool, f.NumNodes())
	for v := range reached {
		reached[v] = f.Supports[v].Any()
	}
	for _, e := range bs.order[:k] {
		reached[f.Elems[e].A], reached[f.Elems[e].B] = true, true
	}
	var out []decision
	for i := 0; i < n && k+i < len(bs.order); i++ {
		next := bs.order[k+i]
		d := decision{next: next}
		seen := map[int]bool{}
		for _, v := range []int{f.Elems[next].A, f.Elems[next].B} {
			f.Incident(v, func(e, _ int) {
				if printed[e] || seen[e] {
					return
				}
				seen[e] = true
				if reached[f.Elems[e].A] || reached[f.Elems[e].B] {
					d.cands = append(d.cands, e)
				}
			})
		}
		tool := f.Elems[next].A
		if reached[tool] && f.Degree(f.Elems[next].B) > 0 {
			tool = f.Elems[next].B
		}
		d.nodes = ring(f, tool, ringK)
		out = append(out, d)
		printed[next] = true
		reached[f.Elems[next].A], reached[f.Elems[next].B] = true, true
	}
	return out
}

const benchDecisions = 40

// runDecisions evaluates decisions with session s (or LSG windows when
// window is true) until b.N candidate evaluations are done.
func runDecisions(b *testing.B, s *Session, ds []decision, window bool) {
	var w *Session
	added := 0
	sink := 0.0
	b.ResetTimer()
	clk := startCPU()
	var paused time.Duration
	for done := 0; done < b.N; {
		for _, d := range ds {
			eval := s
			if window {
				var err error
				if w, err = s.Window(d.nodes, w); err != nil {
					b.Fatal(err)
				}
				eval = w
			}
			for _, c := range d.cands {
				if window && !eval.inWindow[s.f.Elems[c].A] || window && !eval.inWindow[s.f.Elems[c].B] {
					continue
				}
				m, err := eval.WithCandidate(c)
				if err != nil && !errors.Is(err, ErrUnstable) {
					b.Fatal(err)
				}
				sink += m
				done++
			}
			if err := s.Add(d.next); err != nil {
				b.Fatal(err)
			}
			added++
			if done >= b.N {
				break
			}
		}
		b.StopTimer()
		p0 := cpuNow()
		for i := added - 1; i >= 0; i-- {
			if err := s.Remove(ds[i].next); err != nil {
				b.Fatal(err)
			}
		}
		added = 0
		paused += cpuNow() - p0
		b.StartTimer()
	}
	clk.start += paused
	clk.report(b, b.N)
	if math.IsNaN(sink) {
		b.Fatal("NaN")
	}
}

// BenchmarkCandidate compares the incremental methods per candidate
// ("woodbury" is the default session, whose printed sets after each Add
// go through the delta path; "woodbury-per-state" factorises each).
func BenchmarkCandidate(b *testing.B) {
	for _, m := range benchModels {
		for _, pct := range []int{30, 60} {
			for _, meth := range []struct {
				name     string
				method   Incremental
				window   bool
				maxDelta int
			}{
				{"refactor", Refactor, false, 0},
				{"warm-pcg", WarmPCG, false, 0},
				{"woodbury", Woodbury, false, 0}, // default: delta path on
				{"woodbury-per-state", Woodbury, false, -1},
				{"lsg-local", Woodbury, true, 0},
			} {
				b.Run(fmt.Sprintf("%s/%d%%/%s", m.name, pct, meth.name), func(b *testing.B) {
					bs := benchLoad(b, m.path)
					k := len(bs.order) * pct / 100
					ds := bs.decisions(k, benchDecisions, 4)
					s, err := bs.f.NewSession(SelfWeight(), SessionOptions{Method: meth.method, MaxDelta: meth.maxDelta})
					if err != nil {
						b.Fatal(err)
					}
					for _, e := range bs.order[:k] {
						if err := s.Add(e); err != nil {
							b.Fatal(err)
						}
					}
					if _, _, err := s.MaxDisplacement(); err != nil && meth.method != WarmPCG {
						b.Fatal(err)
					}
					runDecisions(b, s, ds, meth.window)
				})
			}
		}
	}
}

// BenchmarkCandidateWarm is the marginal cost of one more candidate on a
// state whose factorisation and node columns are ready (Woodbury), i.e.
// the O(n) update, cycling over the candidates of one decision.
func BenchmarkCandidateWarm(b *testing.B) {
	for _, m := range benchModels {
		for _, pct := range []int{30, 60} {
			b.Run(fmt.Sprintf("%s/%d%%", m.name, pct), func(b *testing.B) {
				bs := benchLoad(b, m.path)
				k := len(bs.order) * pct / 100
				ds := bs.decisions(k, 1, 4)
				s, _ := bs.f.NewSession(SelfWeight(), SessionOptions{})
				for _, e := range bs.order[:k] {
					s.Add(e)
				}
				cands := ds[0].cands
				for _, c := range cands {
					s.WithCandidate(c)
				}
				b.ResetTimer()
				clk := startCPU()
				for i := 0; i < b.N; i++ {
					s.WithCandidate(cands[i%len(cands)])
				}
				clk.report(b, b.N)
			})
		}
	}
}

// BenchmarkLSGQuery is one LSG-local FEA as the paper runs it (spec §8.1,
// ~1.2 ms in the paper): open the window of the k-ring around the tool
// (k = 4, and k = 6, which bounds a valence-6 LSG at 127 nodes, spec §5.4),
// factorise its printed struts with the boundary fixed, and solve.
func BenchmarkLSGQuery(b *testing.B) {
	for _, m := range benchModels {
		for _, pct := range []int{30, 60} {
			for _, rk := range []int{4, 6} {
				b.Run(fmt.Sprintf("%s/%d%%/ring%d", m.name, pct, rk), func(b *testing.B) {
					bs := benchLoad(b, m.path)
					k := len(bs.order) * pct / 100
					ds := bs.decisions(k, benchDecisions, rk)
					s, _ := bs.f.NewSession(SelfWeight(), SessionOptions{})
					for _, e := range bs.order[:k] {
						s.Add(e)
					}
					var w *Session
					var err error
					nodes, struts := 0, 0
					for _, d := range ds {
						w, _ = s.Window(d.nodes, w)
						nodes += len(d.nodes)
						struts += w.NumPrinted()
					}
					b.ResetTimer()
					clk := startCPU()
					for i := 0; i < b.N; i++ {
						d := ds[i%len(ds)]
						if w, err = s.Window(d.nodes, w); err != nil {
							b.Fatal(err)
						}
						if _, _, err := w.MaxDisplacement(); err != nil && !errors.Is(err, ErrUnstable) {
							b.Fatal(err)
						}
					}
					clk.report(b, b.N)
					b.ReportMetric(float64(nodes)/float64(len(ds)), "nodes/LSG")
					b.ReportMetric(float64(struts)/float64(len(ds)), "printed-struts/LSG")
				})
			}
		}
	}
}

// BenchmarkFullSolve is the one-shot solve of whole models (load case
// self-weight, with result expansion), for the README.
func BenchmarkFullSolve(b *testing.B) {
	for _, m := range append(benchModels, struct{ name, path string }{"DJMM_bridge", "testdata/assembly_instances/DJMM_bridge.json"}) {
		b.Run(m.name, func(b *testing.B) {
			bs := benchLoad(b, m.path)
			b.ResetTimer()
			clk := startCPU()
			for i := 0; i < b.N; i++ {
				if _, err := bs.f.Solve(context.Background(), SelfWeight(), Options{}); err != nil {
					b.Fatal(err)
				}
			}
			clk.report(b, b.N)
		})
	}
}

// BenchmarkLSGAccuracy measures (not times) how the LSG-local d_max
// compares with the global analysis on the simulated decisions:
//
//   - mean-rel-dev: mean |d_local − d_global| / d_global over candidates,
//     d_global = max over all nodes (what Eq. 8 asks for);
//   - mean-rel-dev-win: the same against the global displacements
//     restricted to the window's nodes (isolates the error of fixing the
//     boundary and ignoring the rest of the print);
//   - same-choice: fraction of decisions where both pick the same
//     minimum-d_max candidate.
func BenchmarkLSGAccuracy(b *testing.B) {
	for _, m := range benchModels {
		for _, pct := range []int{30, 60} {
			b.Run(fmt.Sprintf("%s/%d%%", m.name, pct), func(b *testing.B) {
				bs := benchLoad(b, m.path)
				f := bs.f
				k := len(bs.order) * pct / 100
				ds := bs.decisions(k, benchDecisions, 4)
				var dev, devWin float64
				var nDev, same, nDec int
				for i := 0; i < b.N; i++ {
					s, _ := f.NewSession(SelfWeight(), SessionOptions{})
					for _, e := range bs.order[:k] {
						s.Add(e)
					}
					var w *Session
					dev, devWin, nDev, same, nDec = 0, 0, 0, 0, 0
					for _, d := range ds {
						w, _ = s.Window(d.nodes, w)
						bestG, bestL := -1, -1
						var minG, minL float64
						for _, c := range d.cands {
							if !w.inWindow[f.Elems[c].A] || !w.inWindow[f.Elems[c].B] {
								continue
							}
							g, errG := s.WithCandidate(c)
							l, errL := w.WithCandidate(c)
							if errG != nil || errL != nil {
								continue
							}
							elems := make([]int, 0, s.NumPrinted()+1)
							for _, e := range s.PrintedElems() {
								elems = append(elems, int(e))
							}
							res, err := f.SolveSubset(context.Background(), append(elems, c), SelfWeight(), Options{})
							if err != nil {
								b.Fatal(err)
							}
							gw := 0.0
							for _, v := range d.nodes {
								u := res.Disp[v]
								gw = math.Max(gw, math.Sqrt(u[0]*u[0]+u[1]*u[1]+u[2]*u[2]))
							}
							dev += math.Abs(l-g) / g
							devWin += math.Abs(l-gw) / gw
							nDev++
							if bestG < 0 || g < minG {
								bestG, minG = c, g
							}
							if bestL < 0 || l < minL {
								bestL, minL = c, l
							}
						}
						if bestG >= 0 {
							nDec++
							if bestG == bestL {
								same++
							}
						}
						s.Add(d.next)
					}
				}
				b.ReportMetric(dev/float64(max(nDev, 1)), "mean-rel-dev")
				b.ReportMetric(devWin/float64(max(nDev, 1)), "mean-rel-dev-win")
				b.ReportMetric(float64(same)/float64(max(nDec, 1)), "same-choice")
				b.ReportMetric(float64(nDev), "candidates")
			})
		}
	}
}

// BenchmarkLookahead is the planners' FEA pattern: at every decision a
// look-ahead tree (depth 3, the first 3 stable candidates expanded per
// level) is applied and undone, and every candidate at every tree node is
// evaluated; then the decision's strut is printed. One op = one candidate
// evaluation. "per-state" factorises every printed set of the tree
// (MaxDelta −1, the Woodbury path before the delta path), "delta" is the
// default (bordered update of a cached prefix state), "refactor"
// factorises every "set + candidate".
func BenchmarkLookahead(b *testing.B) {
	for _, m := range benchModels {
		for _, pct := range []int{30, 60} {
			for _, meth := range []struct {
				name string
				opt  SessionOptions
			}{
				{"per-state", SessionOptions{MaxDelta: -1}},
				{"delta", SessionOptions{}},
				{"refactor", SessionOptions{Method: Refactor}},
			} {
				b.Run(fmt.Sprintf("%s/%d%%/%s", m.name, pct, meth.name), func(b *testing.B) {
					bs := benchLoad(b, m.path)
					k := len(bs.order) * pct / 100
					s, err := bs.f.NewSession(SelfWeight(), meth.opt)
					if err != nil {
						b.Fatal(err)
					}
					for _, e := range bs.order[:k] {
						if err := s.Add(e); err != nil {
							b.Fatal(err)
						}
					}
					f := bs.f
					// stable candidates at the ends of the last printed strut
					cands := func(last int) []int {
						var out []int
						for _, v := range []int{f.Elems[last].A, f.Elems[last].B} {
							f.Incident(v, func(e, _ int) {
								if !s.Printed(e) && !slices.Contains(out, e) {
									out = append(out, e)
								}
							})
						}
						return out
					}
					sink, done := 0.0, 0
					var walk func(last, depth int)
					walk = func(last, depth int) {
						expanded := 0
						for _, c := range cands(last) {
							d, err := s.WithCandidate(c)
							if err != nil {
								continue
							}
							sink += d
							done++
							if depth > 1 && expanded < 3 {
								expanded++
								s.Add(c)
								walk(c, depth-1)
								s.Remove(c)
							}
						}
					}
					b.ResetTimer()
					clk := startCPU()
					i := k
					for done < b.N && i < len(bs.order) {
						walk(bs.order[i-1], 3)
						s.Add(bs.order[i])
						i++
					}
					clk.report(b, done)
					b.ReportMetric(float64(done)/float64(max(1, i-k)), "evals/decision")
					if math.IsNaN(sink) {
						b.Fatal("NaN")
					}
				})
			}
		}
	}
}
