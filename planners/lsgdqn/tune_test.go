package lsgdqn

import (
	"context"
	"flag"
	"math"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"fabcell/planners/lsg"
)

var tuneFlag = flag.String("tune", "", "comma-separated tuning variants to run on the Bunny (TestTune); empty = skip")
var tuneDecisions = flag.Int("tune-decisions", 60, "learned decisions per tuning variant")
var tuneRing = flag.Int("tune-ring", 4, "ring for TestTune")

// exactValues returns, for each root action of the bound LSG, the best
// episode return reachable after it (exhaustive search over the explorer:
// the independent answer the learned decision approximates).
func exactValues(ex *lsg.Explorer) []float64 {
	var dfs func(x int32) float64
	dfs = func(x int32) float64 {
		best := math.Inf(-1)
		for _, a := range slices.Clone(ex.Actions(x)) {
			c, r, done := ex.Transition(x, a)
			v := r
			if !done {
				v += dfs(c)
			}
			best = math.Max(best, v)
		}
		return best
	}
	root := slices.Clone(ex.Actions(ex.Root()))
	out := make([]float64, len(root))
	for i, a := range root {
		c, r, done := ex.Transition(ex.Root(), a)
		out[i] = r
		if !done {
			out[i] += dfs(c)
		}
	}
	return out
}

type tuneResult struct {
	secPerDecision, meanRegret, optimal float64
	updates, episodes                   float64
}

// tune runs `decisions` learned decisions of variant opt on the Bunny and
// measures time per decision and the regret of each decision against the
// exact LSG optimum (same state, exhaustive search after the decision).
func tune(t *testing.T, opt Options, decisions int) tuneResult {
	r := benchRunner(t, opt)
	var regret []float64
	var spent time.Duration
	r.hook = func(info decisionInfo) {
		t0 := cpuNow()
		vals := exactValues(r.ex)
		best := slices.Max(vals)
		chosen := -1
		for i := range info.actions {
			if m := r.ex.ActionMove(r.ex.Root(), r.rootActs[i]); m.To == info.move.To && m.Edge == info.move.Edge {
				chosen = i
			}
		}
		regret = append(regret, best-vals[chosen])
		spent += cpuNow() - t0
	}
	ctx := context.Background()
	t0 := cpuNow()
	for r.stats.Decisions < decisions {
		more, err := r.stepDecision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
	}
	el := cpuNow() - t0 - spent
	opt0 := 0
	sum := 0.0
	for _, g := range regret {
		sum += g
		if g <= 1e-9 {
			opt0++
		}
	}
	n := float64(len(regret))
	return tuneResult{el.Seconds() / n, sum / n, float64(opt0) / n, avg(r.stats.Updates, r.stats.Decisions), avg(r.stats.Episodes, r.stats.Decisions)}
}

// TestTune compares planner variants (run with -tune=all or a list).
func TestTune(t *testing.T) {
	if *tuneFlag == "" {
		t.Skip("tuning harness; run with -tune=all")
	}
	c4 := func(o *Options) { o.Net.E2E = [2]int{4, 4}; o.Net.E2N = 4 }
	rec := func(o *Options) { o.EpisodeFactor = 10; c4(o); o.Net.Hidden = 64 }
	variants := map[string]func(*Options){
		"release":    func(o *Options) {},
		"ep20":       func(o *Options) { o.EpisodeFactor = 20 },
		"ep10":       func(o *Options) { o.EpisodeFactor = 10 },
		"ep10p3":     func(o *Options) { o.EpisodeFactor = 10; o.PatienceFactor = 3 },
		"ep5p2":      func(o *Options) { o.EpisodeFactor = 5; o.PatienceFactor = 2 },
		"train2":     func(o *Options) { o.TrainEvery = 2 },
		"h64":        func(o *Options) { o.Net.Hidden = 64 },
		"c4":         c4,
		"nmax-tight": func(o *Options) { o.NMax = 1 + 3*o.Ring*(o.Ring+1) + 8*o.Ring },
		"eps0.3":     func(o *Options) { o.Epsilon = 0.3 },
		"q":          func(o *Options) { o.Decision = ArgmaxQ },
		"k0":         func(o *Options) { o.PriorK = 0 },
		"rec":        rec,
		"rec-train2": func(o *Options) { rec(o); o.TrainEvery = 2 },
		"rec-q":      func(o *Options) { rec(o); o.Decision = ArgmaxQ },
		"rec-k0":     func(o *Options) { rec(o); o.PriorK = 0 },
		"rec-ep5":    func(o *Options) { rec(o); o.EpisodeFactor = 5 },
		"rec-k0-dir": func(o *Options) { rec(o); o.PriorK = 0; o.Directed = true },
		"hybrid":     func(o *Options) { rec(o); o.ExactMaxLeaves = DefaultOptions().ExactMaxLeaves },
		"hybrid-dir": func(o *Options) { rec(o); o.ExactMaxLeaves = DefaultOptions().ExactMaxLeaves; o.Directed = true },
	}
	names := strings.Split(*tuneFlag, ",")
	if *tuneFlag == "all" {
		names = nil
		for k := range variants {
			names = append(names, k)
		}
		slices.Sort(names)
	}
	for _, name := range names {
		f, ok := variants[name]
		if !ok {
			t.Fatalf("unknown variant %q", name)
		}
		opt := DefaultOptions()
		opt.ExactMaxLeaves = 0 // learned decisions unless the variant says otherwise
		opt.Ring = *tuneRing
		opt.NMax = 40 * opt.Ring
		f(&opt)
		res := tune(t, opt, *tuneDecisions)
		t.Logf("%-10s ring %d: %.3f CPU s/decision, %.0f episodes, %.0f updates, mean regret %.4f, optimal %.0f%%",
			name, opt.Ring, res.secPerDecision, res.episodes, res.updates, res.meanRegret, 100*res.optimal)
	}
}

// cpuNow returns the process CPU time (user+system): the machine is shared,
// so wall time is not a fair measure of a variant.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
