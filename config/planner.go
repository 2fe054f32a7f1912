package config

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
	// BankPath loads the prior bank before a job and saves it after (""=off).
	BankPath string `yaml:"bank_path"`
	// Backend for Q inference: "go" or "onnx" (needs OnnxLibPath or the
	// ONNXRUNTIME_LIB environment variable).
	Backend     string `yaml:"backend"`
	OnnxLibPath string `yaml:"onnx_lib_path"`
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
}

// NMaxOrDefault returns NMax or 40·Ring.
func (p Planner) NMaxOrDefault() int {
	if p.NMax > 0 {
		return p.NMax
	}
	return 40 * p.Ring
}

func (p Planner) validate(v *validator) {
	if p.Ring < 1 || p.Ring > 8 {
		v.add("planner.ring", "must be in [1, 8], got %d", p.Ring)
	}
	if p.NMax < 0 || p.NMax > 4096 {
		v.add("planner.n_max", "must be in [0, 4096], got %d", p.NMax)
	}
	if p.Restarts < 1 || p.Restarts > 10000 {
		v.add("planner.restarts", "must be in [1, 10000], got %d", p.Restarts)
	}
	v.within("planner.learning_rate", p.LearningRate, 1e-9, 1)
	v.within("planner.weight_decay", p.WeightDecay, 0, 1)
	v.within("planner.gamma", p.Gamma, 0, 1)
	v.within("planner.epsilon", p.Epsilon, 0, 1)
	v.within("planner.replay_capacity", float64(p.ReplayCapacity), 1, 1e7)
	v.within("planner.batch_size", float64(p.BatchSize), 1, 1e4)
	v.within("planner.target_sync", float64(p.TargetSync), 1, 1e6)
	v.within("planner.hidden", float64(p.Hidden), 1, 4096)
	v.within("planner.e2e_channels", float64(p.E2EChannels), 1, 256)
	v.within("planner.episode_factor", float64(p.EpisodeFactor), 1, 1e4)
	v.within("planner.patience_factor", float64(p.PatienceFactor), 1, 1e4)
	v.within("planner.max_episodes", float64(p.MaxEpisodes), 1, 1e6)
	v.oneOf("planner.discount", p.Discount, "gaussian", "inverse-square", "exponential")
	v.positive("planner.sigma", p.Sigma)
	v.within("planner.prior_k", float64(p.PriorK), 0, 10000)
	v.positive("planner.prior_beta", p.PriorBeta)
	v.oneOf("planner.backend", p.Backend, "go", "onnx")
}
