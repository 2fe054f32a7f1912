package lsgdqn

import (
	"context"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/processes/lpbf"
	"fabcell/processes/lpbf/masks"
)

// TestInferenceOnlyReuse: with a reuse threshold every decision whose most
// similar stored state reaches it is taken from the stored network alone —
// argmax of its Q over the feasible moves — without episodes or bank
// insertion; below it the decision learns as before.
func TestInferenceOnlyReuse(t *testing.T) {
	g := gridGraph(t, 6, 6, true)
	for _, tc := range []struct {
		name      string
		threshold float64
	}{{"any similarity", 1e-9}, {"exact states only", 1}, {"0.6", 0.6}} {
		t.Run(tc.name, func(t *testing.T) {
			o := fastOptions(2)
			o.PriorK = 4
			o.ReuseSimilarity = tc.threshold
			p := newPlanner(t, o)
			var infos []decisionInfo
			p.hook = func(d decisionInfo) { infos = append(infos, d) }
			s := newSession(t, g)
			if _, err := planners.Run(context.Background(), p, s, nil); err != nil {
				t.Fatal(err)
			}
			if !s.Done() {
				t.Fatal("incomplete")
			}
			st := p.Stats()
			if len(infos) != st.Decisions {
				t.Fatalf("%d hook calls for %d decisions", len(infos), st.Decisions)
			}
			inferred, episodes := 0, 0
			for i, d := range infos {
				if !d.inferred {
					episodes += d.episodes
					if d.sim >= tc.threshold {
						t.Errorf("decision %d learned although a stored state is %.4f similar", i, d.sim)
					}
					continue
				}
				inferred++
				if i == 0 || d.sim < tc.threshold || d.episodes != 0 || d.bestRet != nil {
					t.Errorf("decision %d inferred with sim %.4f, %d episodes", i, d.sim, d.episodes)
				}
				// the move is the argmax of the stored network's Q over the feasible moves
				best := d.actions[0]
				for _, a := range d.actions {
					if d.q[a] > d.q[best] || (d.q[a] == d.q[best] && a < best) {
						best = a
					}
				}
				if !slices.Contains(d.actions, best) || d.q[best] != slices.Max(pick(d.q, d.actions)) {
					t.Errorf("decision %d: not the argmax", i)
				}
			}
			if inferred != st.Inferred || st.Episodes != episodes {
				t.Errorf("stats %+v, counted %d inferred, %d episodes", st, inferred, episodes)
			}
			learned := st.Decisions - st.Inferred
			if tc.threshold == 1e-9 && (learned != 1 || p.Bank().Len() != 1) {
				t.Errorf("any-similarity threshold: %d learned decisions, bank %d; want 1 and 1", learned, p.Bank().Len())
			}
			if tc.threshold < 1 && st.Inferred == 0 {
				t.Error("no inferred decision: the test exercises nothing")
			}
		})
	}
	// 0 keeps the learning planner: same plan as without the field
	o := fastOptions(2)
	o.PriorK = 4
	m0, p0 := planMoves(t, o, g)
	if p0.Stats().Inferred != 0 {
		t.Errorf("reuse off inferred %d decisions", p0.Stats().Inferred)
	}
	o.ReuseSimilarity = 0
	m1, _ := planMoves(t, o, g)
	if !slices.Equal(m0, m1) {
		t.Error("reuse_similarity 0 changed the plan")
	}
	// validation
	for _, bad := range []struct {
		k    int
		sim  float64
		want string
	}{{4, 1.5, "reuse_similarity must be in [0,1]"}, {4, -0.1, "reuse_similarity must be in [0,1]"}, {0, 0.99, "needs stored networks"}, {4, math.NaN(), "reuse_similarity"}} {
		o := fastOptions(2)
		o.PriorK, o.ReuseSimilarity = bad.k, bad.sim
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("prior_k %d reuse %v: %v, want %q", bad.k, bad.sim, err, bad.want)
		}
	}
	c := config.Defaults().PlannerFor("lpbf")
	if o, err := OptionsFromConfig(c); err != nil || o.ReuseSimilarity != 0.99 || o.PriorK != 100 || o.Ring != 2 {
		t.Errorf("lpbf options from config: %+v, %v", o, err)
	}
}

func pick(q []float64, idx []int32) []float64 {
	out := make([]float64, len(idx))
	for i, a := range idx {
		out[i] = q[a]
	}
	return out
}

var regretLayer = flag.String("regret-layer", "", "TestReuseRegret: PNG mask or CLI layer to measure on instead of the generated hook")

// TestReuseRegret measures the quality of inference-only decisions on an
// LPBF layer against the exact LSG optimum (exhaustive search of the same
// discounted Eq. 13 return over every action sequence of the LSG, after
// the decision): the regret of a decision is the best return minus the
// return reachable after the chosen move; 0 = optimal. Learned decisions
// (best-return rule) are exact by construction when their LSG was searched
// exhaustively; the test reports both kinds and bounds the inferred ones.
func TestReuseRegret(t *testing.T) {
	path := *regretLayer
	if path == "" {
		path = filepath.Join(t.TempDir(), "hook.png")
		k := 0.25
		if testing.Short() {
			k = 0.15
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := masks.Encode(f, masks.Hook(k)); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// Stated bounds (measured, see README "LPBF"), in units of one cold
	// scan step's reward (H_max = 1) per decision: below 0.05 with the
	// plain Eq. 13 reward; below 0.25 with the default hot-area term,
	// which reads heat beyond the LSG's feature rows, so stored networks
	// transfer worse (0.16 measured, 60 % LSG-optimal).
	t.Run("eq13", func(t *testing.T) { reuseRegret(t, path, 0, 0.05) })
	t.Run("default", func(t *testing.T) { reuseRegret(t, path, config.Defaults().LPBF.HotAreaWeight, 0.25) })
}

func reuseRegret(t *testing.T, path string, hotWeight, bound float64) {
	cfg := config.Defaults()
	cfg.LPBF.HotAreaWeight = hotWeight
	proc, err := lpbf.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g, err := proc.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	o, err := OptionsFromConfig(cfg.PlannerFor("lpbf"))
	if err != nil {
		t.Fatal(err)
	}
	o.Workers = 1
	type acc struct {
		n, optimal  int
		regret, max float64
	}
	var learned, inferred acc
	var r *runner
	p, err := NewWithOptions(o, proc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.hook = func(d decisionInfo) {
		// r is the attempt's runner: reach it through the explorer of the
		// session the hook runs in (captured below)
		vals := exactValues(r.ex)
		chosen := -1
		for i, a := range r.rootActs {
			if m := r.ex.ActionMove(r.ex.Root(), a); m.To == d.move.To && m.Kind == d.move.Kind {
				chosen = i
			}
		}
		reg := slices.Max(vals) - vals[chosen]
		a := &learned
		if d.inferred {
			a = &inferred
		}
		a.n++
		a.regret += reg
		a.max = math.Max(a.max, reg)
		if reg <= 1e-9 {
			a.optimal++
		}
	}
	s, err := proc.NewSession(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Begin(s.Starts()[0]); err != nil {
		t.Fatal(err)
	}
	res := func() attemptResult {
		rr, err := newRunner(&p.opt, s, p.bank, 0)
		if err != nil {
			t.Fatal(err)
		}
		rr.hook = p.hook
		r = rr
		err = rr.run(context.Background(), func(planners.Move) error { return nil }, nil)
		return attemptResult{err: err, stats: rr.stats}
	}()
	if res.err != nil || !s.Done() {
		t.Fatalf("plan: %v", res.err)
	}
	report := func(name string, a acc) float64 {
		if a.n == 0 {
			t.Logf("%s: no decisions", name)
			return 0
		}
		mean := a.regret / float64(a.n)
		t.Logf("%-8s %5d decisions: mean regret %.4f (max %.4f) of the discounted LSG return, %.1f%% optimal",
			name, a.n, mean, a.max, 100*float64(a.optimal)/float64(a.n))
		return mean
	}
	t.Logf("%d pixels, stats %+v", g.NumNodes(), res.stats)
	report("learned", learned)
	mi := report("inferred", inferred)
	if inferred.n == 0 {
		t.Fatal("no inferred decision")
	}
	if mi > bound {
		t.Errorf("inferred decisions: mean regret %.4f > %.2f", mi, bound)
	}
}
