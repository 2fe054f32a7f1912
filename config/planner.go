package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Planner configures the toolpath planner (spec lsg-dqn.md). Defaults are
// the values of the authors' release unless noted.
type Planner struct {
	// Name selects the planner: lsg-dqn, bfs, greedy, random (and
	// process-specific baselines such as euler, dfs, zigzag, chessboard).
	Name string `yaml:"name"`
	// Ring is the LSG range n (BFS rings around the current node), 1..8.
	Ring int `yaml:"ring"`
	// NMax is the padded LSG size; 0 = 40·Ring (release, §5.4).
	NMax int `yaml:"n_max"`
	// Seed makes planning deterministic.
	Seed int64 `yaml:"seed"`
	// Restarts is the number of start nodes tried by the outer loop (§4);
	// the best complete toolpath is kept.
	Restarts int `yaml:"restarts"`

	// DQN hyper-parameters (§3, §9, §10).
	LearningRate   float64 `yaml:"learning_rate"`
	WeightDecay    float64 `yaml:"weight_decay"`
	Gamma          float64 `yaml:"gamma"`
	Epsilon        float64 `yaml:"epsilon"`
	ReplayCapacity int     `yaml:"replay_capacity"`
	BatchSize      int     `yaml:"batch_size"`
	TargetSync     int     `yaml:"target_sync"`
	Hidden         int     `yaml:"hidden"`
	E2EChannels    int     `yaml:"e2e_channels"`
	// Termination (§10): stop after ≥ EpisodeFactor·Ring episodes with no
	// improvement in the last PatienceFactor·Ring, or at MaxEpisodes.
	EpisodeFactor  int `yaml:"episode_factor"`
	PatienceFactor int `yaml:"patience_factor"`
	MaxEpisodes    int `yaml:"max_episodes"`
	// Discount selects D(k): "gaussian" (Eq. 4, σ = Sigma, μ = 1),
	// "inverse-square" (release default) or "exponential" (Eq. 16, γ^k).
	Discount string  `yaml:"discount"`
	Sigma    float64 `yaml:"sigma"`

	// Prior reuse (§6): K stored networks (0 disables), similarity scale β.
	PriorK    int     `yaml:"prior_k"`
	PriorBeta float64 `yaml:"prior_beta"`
	// ReuseSimilarity enables inference-only prior reuse (a fabcell
	// extension of §6): a decision whose most similar stored state has
	// Eq. 3 similarity ≥ ReuseSimilarity is taken from that stored network
	// (argmax Q over the feasible moves) without learning; 0 = off (every
	// decision learns), in [0, 1], needs PriorK > 0.
	ReuseSimilarity float64 `yaml:"reuse_similarity"`
	// BankPath loads the prior bank before a job and saves it after (""=off).
	BankPath string `yaml:"bank_path"`
	// ExactMaxLeaves (lsg-dqn, a fabcell extension) resolves a decision by
	// the exhaustive n-step search of the bfs baseline when the search
	// needs at most this many episodes (leaves; branches cut by the exact
	// bound cost none), and learns only the larger ones, reusing every
	// reward and episode return the search evaluated; 0 = off (every
	// decision learns), in [0, 10⁷]. Default 256 (covers 99.4–100 % of the
	// Femur's decisions at n = 2…6 and > 99.5 % of the Bunny's at n = 4,
	// README "The planner"); wire-frames 4096, ccf and lpbf 0 via
	// per_process (DefaultPerProcess).
	ExactMaxLeaves int `yaml:"exact_max_leaves"`
	// FortifyEvery (lsg-dqn, a fabcell extension; Bertsekas' fortified
	// rollout) makes the plan no worse than the greedy baseline's from the
	// same start in each measure of the process's trajectory objective
	// (wire-frames: print collisions, unreachable struts,
	// max_displacement_mm): every FortifyEvery proposed moves the proposal
	// plus a greedy completion is compared with the incumbent complete
	// toolpath (greedy's at first), and only moves of the incumbent are
	// emitted, up to 2·FortifyEvery moves after they are decided (the first
	// after greedy's whole completion and one more). 0 = off, in [0, 10⁶];
	// processes without an objective are not fortified.
	FortifyEvery int `yaml:"fortify_every"`
	// FortifyWarmup (with FortifyEvery > 0) is a number of moves: greedy's
	// first FortifyWarmup moves are emitted as greedy decides them, so the
	// first move leaves at once instead of after greedy's whole completion
	// and the first check, and the robot has work while they are computed;
	// LSG-DQN proposes from there (the guarantee is unchanged; every warm-up
	// move is a greedy move LSG-DQN did not choose). 0 = off, in [0, 10⁶].
	FortifyWarmup int `yaml:"fortify_warmup"`
	// FortifyRetries (with FortifyEvery > 0): a proposal whose greedy
	// completion is worse than the incumbent is evaluated again, up to
	// this many times in a row, with FortifyEvery more of LSG-DQN's moves
	// instead of being rejected at once (moves are then held back up to
	// (2 + FortifyRetries)·FortifyEvery proposed moves). 0 = reject at
	// once, in [0, 100].
	FortifyRetries int `yaml:"fortify_retries"`
	// FortifyAgainst is what a proposal's completion must be no worse than
	// to be accepted: "incumbent" (the best complete toolpath so far) or
	// "greedy" (greedy's toolpath from the start: more of LSG-DQN's moves
	// pass, with the same guarantee against greedy). Default "incumbent".
	FortifyAgainst string `yaml:"fortify_against"`
	// FortifyCompletionRing (with FortifyEvery > 0): proposals are
	// completed by the exact n-step search (bfs) of this ring instead of
	// greedy, so a proposal is judged by a better continuation; greedy's
	// plan stays the first incumbent, so the guarantee against greedy is
	// unchanged. 0 = greedy, in [0, 6].
	FortifyCompletionRing int `yaml:"fortify_completion_ring"`
	// Backend for Q inference: "go" or "onnx" (needs OnnxLibPath or the
	// ONNXRUNTIME_LIB environment variable).
	Backend     string `yaml:"backend"`
	OnnxLibPath string `yaml:"onnx_lib_path"`

	// PerProcess holds partial planner settings per process (see
	// PerProcessPlanners and Cell.PlannerFor).
	PerProcess PerProcessPlanners `yaml:"per_process,omitempty"`
}

func (p *Planner) applyDefaults() {
	def(&p.Name, "lsg-dqn")
	def(&p.Ring, 4)
	def(&p.Seed, 1)
	def(&p.Restarts, 1)
	def(&p.LearningRate, 5e-4)
	def(&p.WeightDecay, 0.01)
	def(&p.Gamma, 0.98)
	def(&p.Epsilon, 0.5)
	def(&p.ReplayCapacity, 500)
	def(&p.BatchSize, 3)
	def(&p.TargetSync, 10)
	def(&p.Hidden, 64)
	def(&p.E2EChannels, 4)
	def(&p.EpisodeFactor, 10)
	def(&p.PatienceFactor, 5)
	def(&p.MaxEpisodes, 500)
	def(&p.Discount, "gaussian")
	def(&p.Sigma, 0.865)
	def(&p.PriorK, 10)
	def(&p.PriorBeta, 0.2)
	def(&p.Backend, "go")
	def(&p.FortifyAgainst, "incumbent")
	def(&p.ExactMaxLeaves, 256)
	if p.PerProcess == nil {
		p.PerProcess = DefaultPerProcess()
	}
}

// NMaxOrDefault returns NMax or 40·Ring.
func (p Planner) NMaxOrDefault() int {
	if p.NMax > 0 {
		return p.NMax
	}
	return 40 * p.Ring
}

func (p Planner) validate(v *validator) {
	p.validateAt(v, "planner")
	for _, name := range p.PerProcess.names() {
		at := "planner.per_process." + name
		if !slices.Contains(KnownProcesses, name) {
			v.add(at, "unknown process %q (want one of %s)", name, strings.Join(KnownProcesses, ", "))
			continue
		}
		// Report only what the override adds: problems of the resolved
		// settings that planner.* does not already have.
		var base, eff validator
		p.validateAt(&base, at)
		p.For(name).validateAt(&eff, at)
		for _, e := range eff.errs {
			if !slices.ContainsFunc(base.errs, func(b error) bool { return b.Error() == e.Error() }) {
				v.errs = append(v.errs, e)
			}
		}
	}
}

// validateAt checks the fields of p, naming them under prefix.
func (p Planner) validateAt(v *validator, prefix string) {
	f := func(key string) string { return prefix + "." + key }
	if p.Ring < 1 || p.Ring > 8 {
		v.add(f("ring"), "must be in [1, 8], got %d", p.Ring)
	}
	if p.NMax < 0 || p.NMax > 4096 {
		v.add(f("n_max"), "must be in [0, 4096], got %d", p.NMax)
	}
	if p.Restarts < 1 || p.Restarts > 10000 {
		v.add(f("restarts"), "must be in [1, 10000], got %d", p.Restarts)
	}
	v.within(f("learning_rate"), p.LearningRate, 1e-9, 1)
	v.within(f("weight_decay"), p.WeightDecay, 0, 1)
	v.within(f("gamma"), p.Gamma, 0, 1)
	v.within(f("epsilon"), p.Epsilon, 0, 1)
	v.within(f("replay_capacity"), float64(p.ReplayCapacity), 1, 1e7)
	v.within(f("batch_size"), float64(p.BatchSize), 1, 1e4)
	v.within(f("target_sync"), float64(p.TargetSync), 1, 1e6)
	v.within(f("hidden"), float64(p.Hidden), 1, 4096)
	v.within(f("e2e_channels"), float64(p.E2EChannels), 1, 256)
	v.within(f("episode_factor"), float64(p.EpisodeFactor), 1, 1e4)
	v.within(f("patience_factor"), float64(p.PatienceFactor), 1, 1e4)
	v.within(f("max_episodes"), float64(p.MaxEpisodes), 1, 1e6)
	v.oneOf(f("discount"), p.Discount, "gaussian", "inverse-square", "exponential")
	v.positive(f("sigma"), p.Sigma)
	v.within(f("prior_k"), float64(p.PriorK), 0, 10000)
	v.positive(f("prior_beta"), p.PriorBeta)
	v.within(f("reuse_similarity"), p.ReuseSimilarity, 0, 1)
	if p.ReuseSimilarity > 0 && p.PriorK == 0 {
		v.add(f("reuse_similarity"), "%v needs stored networks: set prior_k > 0 or reuse_similarity 0", p.ReuseSimilarity)
	}
	v.within(f("exact_max_leaves"), float64(p.ExactMaxLeaves), 0, 1e7)
	v.within(f("fortify_every"), float64(p.FortifyEvery), 0, 1e6)
	v.within(f("fortify_warmup"), float64(p.FortifyWarmup), 0, 1e6)
	v.within(f("fortify_retries"), float64(p.FortifyRetries), 0, 100)
	v.oneOf(f("fortify_against"), p.FortifyAgainst, "incumbent", "greedy")
	v.within(f("fortify_completion_ring"), float64(p.FortifyCompletionRing), 0, 6)
	v.oneOf(f("backend"), p.Backend, "go", "onnx")
}

// KnownProcesses are the process names planner.per_process accepts: the
// processes of `fabcell plan --process` (the planners registry lives above
// this package, so the list is kept here; a test of cmd/fabcell checks it
// against the registry).
var KnownProcesses = []string{"wireframe", "ccf", "lpbf", "travel"}

// PlannerOverride is a partial planner section: every key of Planner
// except per_process, as a pointer; a nil field keeps planner.<key>.
type PlannerOverride struct {
	Name                  *string  `yaml:"name,omitempty"`
	Ring                  *int     `yaml:"ring,omitempty"`
	NMax                  *int     `yaml:"n_max,omitempty"`
	Seed                  *int64   `yaml:"seed,omitempty"`
	Restarts              *int     `yaml:"restarts,omitempty"`
	LearningRate          *float64 `yaml:"learning_rate,omitempty"`
	WeightDecay           *float64 `yaml:"weight_decay,omitempty"`
	Gamma                 *float64 `yaml:"gamma,omitempty"`
	Epsilon               *float64 `yaml:"epsilon,omitempty"`
	ReplayCapacity        *int     `yaml:"replay_capacity,omitempty"`
	BatchSize             *int     `yaml:"batch_size,omitempty"`
	TargetSync            *int     `yaml:"target_sync,omitempty"`
	Hidden                *int     `yaml:"hidden,omitempty"`
	E2EChannels           *int     `yaml:"e2e_channels,omitempty"`
	EpisodeFactor         *int     `yaml:"episode_factor,omitempty"`
	PatienceFactor        *int     `yaml:"patience_factor,omitempty"`
	MaxEpisodes           *int     `yaml:"max_episodes,omitempty"`
	Discount              *string  `yaml:"discount,omitempty"`
	Sigma                 *float64 `yaml:"sigma,omitempty"`
	PriorK                *int     `yaml:"prior_k,omitempty"`
	PriorBeta             *float64 `yaml:"prior_beta,omitempty"`
	ReuseSimilarity       *float64 `yaml:"reuse_similarity,omitempty"`
	BankPath              *string  `yaml:"bank_path,omitempty"`
	ExactMaxLeaves        *int     `yaml:"exact_max_leaves,omitempty"`
	FortifyEvery          *int     `yaml:"fortify_every,omitempty"`
	FortifyWarmup         *int     `yaml:"fortify_warmup,omitempty"`
	FortifyRetries        *int     `yaml:"fortify_retries,omitempty"`
	FortifyAgainst        *string  `yaml:"fortify_against,omitempty"`
	FortifyCompletionRing *int     `yaml:"fortify_completion_ring,omitempty"`
	Backend               *string  `yaml:"backend,omitempty"`
	OnnxLibPath           *string  `yaml:"onnx_lib_path,omitempty"`
}

// PerProcessPlanners maps a process name (KnownProcesses) to the planner
// keys that differ for it: planner.per_process.P.K replaces planner.K for
// jobs of process P (Cell.PlannerFor). Planner defaults that suit
// wire-frames (ring 4, every decision learned) do not suit LPBF layers of
// 10⁴ pixels, hence the built-in entry for lpbf (DefaultPerProcess).
//
// In a file, keys an entry omits keep their default — the built-in lpbf
// entry included — so `per_process: {lpbf: {ring: 3}}` changes the ring
// only; an entry written as null (`lpbf: null` or `lpbf: ~`) drops every
// override of that process, built-in ones included.
type PerProcessPlanners map[string]PlannerOverride

// DefaultPerProcess returns the built-in per-process planner settings:
// LPBF uses LSG range 2 (a pixel's 2-ring already holds its 1-ring and
// the next cell straight ahead: 13 nodes), K = 100 stored networks and
// inference-only reuse above similarity 0.99 — pixel layers repeat fewer
// than 100 distinct 2-ring patterns, so almost every decision finds a
// stored network trained on the same pattern (README "LPBF"). CCF and
// LPBF keep every decision learned (exact_max_leaves 0): the exact hybrid
// was measured on wire-frames only, and their README figures are those of
// learned decisions. Wire-frames resolve decisions of up to 4096 episodes
// exactly: with the incremental FEA the search is cheaper than learning
// (Duck, n = 6: 128 CPU s and bfs's 0.01233 mm, against 519 CPU s and
// 0.01355 mm at 256; README "Wire-frame"), and fortify the rollout every
// 400 moves after 16 warm-up moves of greedy, proposals completed by bfs
// at n = 2: the toolpath is then never
// worse than greedy's in print collisions, unreachable struts or max
// displacement (lsgdqn "Fortified rollout"), for 2.6-5x the CPU, and the
// first move leaves at once (README "Wire-frame").
func DefaultPerProcess() PerProcessPlanners {
	return PerProcessPlanners{
		"lpbf":      {Ring: ptr(2), PriorK: ptr(100), ReuseSimilarity: ptr(0.99), ExactMaxLeaves: ptr(0)},
		"ccf":       {ExactMaxLeaves: ptr(0)},
		"wireframe": {ExactMaxLeaves: ptr(4096), FortifyEvery: ptr(400), FortifyWarmup: ptr(16), FortifyCompletionRing: ptr(2)},
	}
}

func ptr[T any](v T) *T { return &v }

// names returns the process names in sorted order.
func (m PerProcessPlanners) names() []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// overrideFields maps each PlannerOverride field to the Planner field with
// the same YAML key (checked by a test: the two structs list the same
// keys with the same types).
var overrideFields = sync.OnceValue(func() [][2]int {
	pt, ot := reflect.TypeFor[Planner](), reflect.TypeFor[PlannerOverride]()
	byKey := map[string]int{}
	for i := 0; i < pt.NumField(); i++ {
		byKey[yamlKey(pt.Field(i))] = i
	}
	var out [][2]int
	for i := 0; i < ot.NumField(); i++ {
		j, ok := byKey[yamlKey(ot.Field(i))]
		if !ok || pt.Field(j).Type != ot.Field(i).Type.Elem() {
			panic(fmt.Sprintf("config: PlannerOverride.%s does not match a Planner field", ot.Field(i).Name))
		}
		out = append(out, [2]int{i, j})
	}
	return out
})

func yamlKey(f reflect.StructField) string { return strings.Split(f.Tag.Get("yaml"), ",")[0] }

// Keys returns the YAML keys the override sets, in field order.
func (o PlannerOverride) Keys() []string {
	ov := reflect.ValueOf(o)
	var out []string
	for _, ij := range overrideFields() {
		if f := ov.Field(ij[0]); !f.IsNil() {
			out = append(out, yamlKey(ov.Type().Field(ij[0])))
		}
	}
	return out
}

// apply writes the fields o sets into p.
func (o PlannerOverride) apply(p *Planner) {
	ov, pv := reflect.ValueOf(o), reflect.ValueOf(p).Elem()
	for _, ij := range overrideFields() {
		if f := ov.Field(ij[0]); !f.IsNil() {
			pv.Field(ij[1]).Set(f.Elem())
		}
	}
}

// merge returns o with the fields of top that are set replacing its own.
func (o PlannerOverride) merge(top PlannerOverride) PlannerOverride {
	ov, tv := reflect.ValueOf(&o).Elem(), reflect.ValueOf(top)
	for _, ij := range overrideFields() {
		if f := tv.Field(ij[0]); !f.IsNil() {
			ov.Field(ij[0]).Set(f)
		}
	}
	return o
}

// For returns the planner settings of a job of the given process:
// planner.<key> replaced by planner.per_process.<process>.<key> where
// set. The result is resolved: its per_process map is empty (not nil), so
// it marshals as "no per-process overrides" and resolving it again changes
// nothing. Callers that also take explicit overrides (CLI --planner,
// --ring, --seed; job fields) apply them to the result, so they win.
func (p Planner) For(process string) Planner {
	o, ok := p.PerProcess[process]
	p.PerProcess = PerProcessPlanners{}
	if ok {
		o.apply(&p)
	}
	return p
}

// IsZero reports whether m is nil (an unset map; yaml omitempty). An
// empty non-nil map is a resolved planner section and is written out.
func (m PerProcessPlanners) IsZero() bool { return m == nil }

// MarshalYAML writes the entries of m and a null entry for every built-in
// process m does not hold, so that parsing the output gives m back
// (parsing merges over DefaultPerProcess).
func (m PerProcessPlanners) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	names := m.names()
	for k := range DefaultPerProcess() {
		if _, ok := m[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		var v yaml.Node
		if o, ok := m[k]; ok {
			if err := v.Encode(o); err != nil {
				return nil, err
			}
		} else {
			v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, &v)
	}
	return n, nil
}

// PlannerFor returns c.Planner.For(process): the planner settings for a
// job of that process (see Planner.For).
func (c Cell) PlannerFor(process string) Planner { return c.Planner.For(process) }

// UnmarshalYAML decodes planner.per_process over the existing map (the
// defaults): an entry's keys replace the same keys of the existing entry,
// keys it omits keep their value, and a null entry removes the process.
// Unknown keys are errors with their line, as everywhere in the file.
func (m *PerProcessPlanners) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: planner.per_process must map process names to planner keys", n.Line)}}
	}
	known := map[string]bool{}
	for _, ij := range overrideFields() {
		known[yamlKey(reflect.TypeFor[PlannerOverride]().Field(ij[0]))] = true
	}
	out := PerProcessPlanners{}
	for k, v := range *m {
		out[k] = v
	}
	seen := map[string]int{}
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		name := kn.Value
		if l, dup := seen[name]; dup {
			errs = append(errs, fmt.Sprintf("line %d: mapping key %q already defined at line %d", kn.Line, name, l))
			continue
		}
		seen[name] = kn.Line
		if vn.Kind == yaml.ScalarNode && vn.Tag == "!!null" {
			delete(out, name)
			continue
		}
		if vn.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Sprintf("line %d: planner.per_process.%s must be a mapping of planner keys", vn.Line, name))
			continue
		}
		keys := map[string]int{}
		bad := false
		for j := 0; j+1 < len(vn.Content); j += 2 {
			key := vn.Content[j]
			if !known[key.Value] {
				errs = append(errs, fmt.Sprintf("line %d: field %s not found in type config.PlannerOverride", key.Line, key.Value))
				bad = true
			} else if l, dup := keys[key.Value]; dup {
				errs = append(errs, fmt.Sprintf("line %d: mapping key %q already defined at line %d", key.Line, key.Value, l))
				bad = true
			}
			keys[key.Value] = key.Line
		}
		if bad {
			continue
		}
		var o PlannerOverride
		if err := vn.Decode(&o); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				errs = append(errs, te.Errors...)
				continue
			}
			return err
		}
		out[name] = out[name].merge(o)
	}
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	*m = out
	return nil
}
