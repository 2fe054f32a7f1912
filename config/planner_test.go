package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestPlannerOverrideMirrorsPlanner: PlannerOverride lists every planner
// key except per_process, each as a pointer to the Planner field's type.
func TestPlannerOverrideMirrorsPlanner(t *testing.T) {
	pt, ot := reflect.TypeFor[Planner](), reflect.TypeFor[PlannerOverride]()
	var want, got []string
	for i := 0; i < pt.NumField(); i++ {
		if k := yamlKey(pt.Field(i)); k != "per_process" {
			want = append(want, k+" "+pt.Field(i).Type.String())
		}
	}
	for i := 0; i < ot.NumField(); i++ {
		got = append(got, yamlKey(ot.Field(i))+" "+ot.Field(i).Type.Elem().String())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("PlannerOverride keys\n%v\nwant (Planner)\n%v", got, want)
	}
	if n := len(overrideFields()); n != ot.NumField() {
		t.Fatalf("%d mapped fields of %d", n, ot.NumField())
	}
	// every key can be set and applied
	var o PlannerOverride
	ov := reflect.ValueOf(&o).Elem()
	for i := 0; i < ov.NumField(); i++ {
		ov.Field(i).Set(reflect.New(ot.Field(i).Type.Elem()))
	}
	if len(o.Keys()) != ot.NumField() {
		t.Errorf("Keys() = %v", o.Keys())
	}
}

func TestPlannerFor(t *testing.T) {
	c := Defaults()
	l := c.PlannerFor("lpbf")
	if l.Ring != 2 || l.PriorK != 100 || l.ReuseSimilarity != 0.99 {
		t.Errorf("lpbf: ring %d prior_k %d reuse %v, want 2 100 0.99", l.Ring, l.PriorK, l.ReuseSimilarity)
	}
	if l.PerProcess == nil || len(l.PerProcess) != 0 {
		t.Errorf("resolved per_process %v, want empty", l.PerProcess)
	}
	// untouched keys and other processes keep planner.*
	want := c.Planner
	want.PerProcess = PerProcessPlanners{}
	for _, p := range []string{"travel", "unknown"} {
		if got := c.PlannerFor(p); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want the planner section", p, got)
		}
	}
	// the exact hybrid: 256 by default, 4096 for wire-frames, off for ccf and lpbf
	w := c.PlannerFor("wireframe")
	if want.ExactMaxLeaves != 256 || w.ExactMaxLeaves != 4096 || l.ExactMaxLeaves != 0 {
		t.Errorf("exact_max_leaves: planner %d, wireframe %d, lpbf %d; want 256, 4096, 0", want.ExactMaxLeaves, w.ExactMaxLeaves, l.ExactMaxLeaves)
	}
	// the fortified rollout: off by default, every 400 moves with warm-up for wire-frames
	if want.FortifyEvery != 0 || want.FortifyWarmup != 0 || w.FortifyEvery != 400 || w.FortifyWarmup != 16 {
		t.Errorf("fortify: planner %d/%d, wireframe %d/%d; want 0/0, 400/16", want.FortifyEvery, want.FortifyWarmup, w.FortifyEvery, w.FortifyWarmup)
	}
	if want.FortifyCompletionRing != 0 || w.FortifyCompletionRing != 2 {
		t.Errorf("fortify_completion_ring: planner %d, wireframe %d; want 0, 2", want.FortifyCompletionRing, w.FortifyCompletionRing)
	}
	w.ExactMaxLeaves, w.FortifyEvery, w.FortifyWarmup, w.FortifyCompletionRing = want.ExactMaxLeaves, want.FortifyEvery, want.FortifyWarmup, want.FortifyCompletionRing
	if !reflect.DeepEqual(w, want) {
		t.Errorf("wireframe changed more than its overrides: %+v", w)
	}
	cc := c.PlannerFor("ccf")
	if cc.ExactMaxLeaves != 0 {
		t.Errorf("ccf exact_max_leaves %d, want 0", cc.ExactMaxLeaves)
	}
	cc.ExactMaxLeaves = want.ExactMaxLeaves
	if !reflect.DeepEqual(cc, want) {
		t.Errorf("ccf changed more than its overrides: %+v", cc)
	}
	l.Ring, l.PriorK, l.ReuseSimilarity, l.ExactMaxLeaves = want.Ring, want.PriorK, want.ReuseSimilarity, want.ExactMaxLeaves
	if !reflect.DeepEqual(l, want) {
		t.Errorf("lpbf changed more than its overrides: %+v", l)
	}
	// resolving twice changes nothing; the defaults are not mutated
	if r := c.PlannerFor("lpbf").For("lpbf"); r.Ring != 2 || r.PriorK != 100 {
		t.Errorf("re-resolved %+v", r)
	}
	if c.Planner.Ring != 4 || c.Planner.PerProcess["lpbf"].Ring == nil {
		t.Error("PlannerFor mutated the cell")
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPerProcessParse(t *testing.T) {
	cases := []struct {
		name, yaml string
		check      func(t *testing.T, c Cell)
	}{
		{"partial entry keeps the built-in keys", "planner:\n  per_process:\n    lpbf:\n      ring: 3\n", func(t *testing.T, c Cell) {
			l := c.PlannerFor("lpbf")
			if l.Ring != 3 || l.PriorK != 100 || l.ReuseSimilarity != 0.99 {
				t.Errorf("lpbf %d %d %v", l.Ring, l.PriorK, l.ReuseSimilarity)
			}
		}},
		{"top-level keys do not beat a process entry", "planner:\n  ring: 5\n  prior_k: 7\n", func(t *testing.T, c Cell) {
			if l := c.PlannerFor("lpbf"); l.Ring != 2 || l.PriorK != 100 {
				t.Errorf("lpbf %d %d", l.Ring, l.PriorK)
			}
			if w := c.PlannerFor("wireframe"); w.Ring != 5 || w.PriorK != 7 {
				t.Errorf("wireframe %d %d", w.Ring, w.PriorK)
			}
		}},
		{"null drops a process", "planner:\n  ring: 5\n  per_process:\n    lpbf: null\n", func(t *testing.T, c Cell) {
			if l := c.PlannerFor("lpbf"); l.Ring != 5 || l.PriorK != 10 || l.ReuseSimilarity != 0 {
				t.Errorf("lpbf %+v", l)
			}
		}},
		{"new process entry, explicit zero kept", "planner:\n  per_process:\n    ccf:\n      epsilon: 0\n      name: dfs\n", func(t *testing.T, c Cell) {
			if cc := c.PlannerFor("ccf"); cc.Epsilon != 0 || cc.Name != "dfs" {
				t.Errorf("ccf %+v", cc)
			}
			if c.PlannerFor("lpbf").Ring != 2 {
				t.Error("built-in lpbf entry lost")
			}
		}},
		{"exact_max_leaves: explicit zero kept, process entries win", "planner:\n  exact_max_leaves: 0\n  per_process:\n    ccf:\n      exact_max_leaves: 64\n", func(t *testing.T, c Cell) {
			if c.Planner.ExactMaxLeaves != 0 || c.PlannerFor("travel").ExactMaxLeaves != 0 {
				t.Errorf("explicit 0 replaced: %d", c.Planner.ExactMaxLeaves)
			}
			if got := c.PlannerFor("wireframe").ExactMaxLeaves; got != 4096 {
				t.Errorf("wireframe %d: the built-in process entry must win over the top-level key", got)
			}
			if c.PlannerFor("ccf").ExactMaxLeaves != 64 || c.PlannerFor("lpbf").ExactMaxLeaves != 0 {
				t.Errorf("ccf %d lpbf %d", c.PlannerFor("ccf").ExactMaxLeaves, c.PlannerFor("lpbf").ExactMaxLeaves)
			}
		}},
		{"empty map changes nothing", "planner:\n  per_process: {}\n", func(t *testing.T, c Cell) {
			if !reflect.DeepEqual(c, Defaults()) {
				t.Error("differs from the defaults")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestPerProcessErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"planner:\n  per_process:\n    lpbf:\n      rign: 2\n", "line 4: field rign not found"},
		{"planner:\n  per_process:\n    lpbf:\n      ring: two\n", "line 4: planner.per_process.lpbf.ring: cannot unmarshal !!str `two` into int"},
		{"planner:\n  per_process:\n    lpbf: 3\n", "line 3: planner.per_process.lpbf must be a mapping"},
		{"planner:\n  per_process: [lpbf]\n", "line 2: planner.per_process must map"},
		{"planner:\n  per_process:\n    lpbf:\n      ring: 2\n      ring: 3\n", "line 5: mapping key \"ring\" already defined at line 4"},
		{"planner:\n  per_process:\n    lbpf:\n      ring: 2\n", "planner.per_process.lbpf: unknown process \"lbpf\""},
		{"planner:\n  per_process:\n    lpbf:\n      ring: 9\n", "planner.per_process.lpbf.ring: must be in [1, 8], got 9"},
		{"planner:\n  exact_max_leaves: -1\n", "planner.exact_max_leaves: must be in [0, 1e+07], got -1"},
		{"planner:\n  per_process:\n    wireframe:\n      exact_max_leaves: 20000000\n", "planner.per_process.wireframe.exact_max_leaves: must be in [0, 1e+07]"},
		{"planner:\n  per_process:\n    lpbf:\n      prior_k: 0\n", "planner.per_process.lpbf.reuse_similarity: 0.99 needs stored networks"},
		{"planner:\n  fortify_every: -1\n", "planner.fortify_every: must be in [0, 1e+06], got -1"},
		{"planner:\n  per_process:\n    wireframe:\n      fortify_every: 2000000\n", "planner.per_process.wireframe.fortify_every: must be in [0, 1e+06]"},
		{"planner:\n  fortify_warmup: -3\n", "planner.fortify_warmup: must be in [0, 1e+06], got -3"},
		{"planner:\n  fortify_warmup: true\n", "line 2: planner.fortify_warmup: cannot unmarshal !!bool `true` into int"},
		{"planner:\n  per_process:\n    wireframe:\n      fortify_warmup: yes\n", "line 4: planner.per_process.wireframe.fortify_warmup: cannot unmarshal"},
		{"planner:\n  reuse_similarity: 1.5\n", "planner.reuse_similarity: must be in [0, 1], got 1.5"},
	} {
		_, err := Parse(strings.NewReader(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want %q", c.yaml, err, c.want)
		}
	}
	// a top-level problem is reported once, not again per process
	_, err := Parse(strings.NewReader("planner:\n  gamma: 2\n"))
	if err == nil || strings.Count(err.Error(), "gamma") != 1 || !errors.Is(err, ErrInvalid) {
		t.Errorf("gamma 2: %v", err)
	}
}

// TestResolvedPlannerRoundTrip: a resolved planner section with an explicit
// override on top (what `fabcell plan --ring 3` and job overrides build)
// survives Marshal → Parse, and resolving it again changes nothing.
func TestResolvedPlannerRoundTrip(t *testing.T) {
	c := Defaults()
	c.Planner = c.PlannerFor("lpbf")
	c.Planner.Ring = 3
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "lpbf: null") {
		t.Errorf("resolved section marshals without dropping the built-in entry:\n%s", data)
	}
	back, err := Parse(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(back), c) {
		t.Errorf("round trip differs: %+v vs %+v", back.Planner, c.Planner)
	}
	if r := back.PlannerFor("lpbf"); r.Ring != 3 || r.PriorK != 100 {
		t.Errorf("re-resolved lpbf ring %d prior_k %d, want 3 100", r.Ring, r.PriorK)
	}
	// a custom map round-trips too (for a process without a built-in
	// entry: parsing merges an entry over the built-in one)
	c = Defaults()
	c.Planner.PerProcess = PerProcessPlanners{"travel": {Ring: ptr(3)}}
	data, _ = c.Marshal()
	back, err = Parse(strings.NewReader(string(data)))
	if err != nil || !reflect.DeepEqual(normalize(back), c) {
		t.Errorf("custom map round trip: %v\n%s", err, data)
	}
}
