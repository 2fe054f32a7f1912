package lsgdqn

import (
	"fmt"
	"runtime"

	"fabcell/config"
	"fabcell/planners/dqn"
	"fabcell/planners/lsg"
)

// Decision selects how the move at v_c is chosen after learning (spec §4
// line 15, §13 item 9).
type Decision uint8

const (
	// BestReturn takes the first move of the highest-return episode seen
	// in the LSG (the release); ties go to the higher Q(S_c, ·), then to
	// the lower LSG index. Learning also stops early once every action
	// sequence of the LSG has been tried (the best return is then exact).
	BestReturn Decision = iota
	// ArgmaxQ takes argmax over feasible 1-ring moves of Q(S_c, ·) (the
	// paper); ties go to the higher best return, then the lower index.
	ArgmaxQ
)

func (d Decision) String() string {
	if d == ArgmaxQ {
		return "q"
	}
	return "best-return"
}

// Options configure the LSG-DQN planner. OptionsFromConfig fills them from
// config.Planner; the extra fields below have no config key yet and keep
// their documented defaults.
type Options struct {
	Ring     int   // LSG range n (§5.1) = episode length
	NMax     int   // padded LSG size (§5.4)
	Seed     int64 // drives ε-greedy, replay sampling, restarts, weights
	Restarts int   // start nodes tried by the outer loop (§4)

	Gamma          float64 // Bellman γ (Eq. 1)
	Epsilon        float64 // ε of ε-greedy during learning
	ReplayCapacity int
	BatchSize      int
	TargetSync     int // updates between target-network copies
	// Termination (§10): stop after ≥ EpisodeFactor·n episodes with no
	// improvement of the best return in the last PatienceFactor·n, or at
	// MaxEpisodes.
	EpisodeFactor, PatienceFactor, MaxEpisodes int
	Discount                                   lsg.Discount

	PriorK    int     // stored networks (§6); 0 disables reuse
	PriorBeta float64 // β of Eq. 3
	BankPath  string  // bank file loaded before and saved after a job
	// ReuseSimilarity enables inference-only prior reuse: when the most
	// similar stored state has Eq. 3 similarity ≥ ReuseSimilarity, the
	// decision is taken from that stored network alone — argmax of its
	// Q(S_c, ·) over the feasible 1-ring moves (spec §4 line 15, ties to
	// the lower LSG index) — with no learning episodes and no bank
	// insertion (Stats.Inferred). 0 disables it (every decision learns);
	// it needs PriorK > 0. A fabcell extension of §6 (the paper reuses a
	// stored network only as the initialisation of learning).
	ReuseSimilarity float64

	Backend     string // "go" or "onnx"
	OnnxLibPath string

	// ExactMaxLeaves turns on the exact hybrid (a fabcell extension): at
	// each decision the exhaustive n-step search of the bfs baseline
	// (lsg.Exact: same return, discount and jump charge as the episodes,
	// same choice rule as bfs) runs first over the memoised prefix tree;
	// when it needs at most ExactMaxLeaves episodes its choice is taken
	// and nothing is learned, otherwise learning runs as usual, starting
	// from every reward and episode return the search evaluated. The DQN
	// is then the approximator for LSGs whose feasible tree is too large
	// to enumerate. 0 = off (every decision learns).
	ExactMaxLeaves int
	// FortifyEvery turns on the fortified rollout (fortify.go; config
	// planner.fortify_every): every FortifyEvery proposed moves, the
	// proposal plus greedy's completion is compared with the incumbent
	// complete toolpath on the session's planners.Objective, and only the
	// better one's moves are emitted. 0 = off. Needs a process (restarts
	// and the second session) and a session implementing
	// planners.Objective; otherwise planning is not fortified.
	FortifyEvery int
	// FortifyWarmup emits greedy's first FortifyWarmup moves as greedy
	// decides them (config planner.fortify_warmup; fortify.go). 0 = off.
	FortifyWarmup int
	// FortifyRetries lets a rejected proposal be evaluated again, up to
	// this many times in a row, once LSG-DQN has proposed FortifyEvery
	// moves more (config planner.fortify_retries; fortify.go). 0 = reject
	// at once.
	FortifyRetries int
	// FortifyAgainstStart accepts a proposal whose completion is no worse
	// than greedy's plan from the start (the first incumbent) instead of
	// no worse than the current incumbent (config planner.fortify_against:
	// "greedy" or "incumbent"). The guarantee is the same — every
	// incumbent is no worse than greedy's — but more of LSG-DQN's proposals
	// pass. fortify.go.
	FortifyAgainstStart bool
	// FortifyCompletionRing completes proposals with the exact n-step
	// search (bfs) of this ring instead of greedy; 0 = greedy (config
	// planner.fortify_completion_ring). The first incumbent is greedy's
	// plan either way. fortify.go.
	FortifyCompletionRing int

	Net dqn.Config // network shape and optimiser (N, ExtraRows set by the planner)

	// Extensions (no config key yet):

	// Encoding of the LSG nodes (§5.2); auto by graph kind.
	Encoding lsg.Encoding
	// JumpLookahead charges episodes that lock the tool in with the jump
	// cost (see lsg.ExplorerConfig); default true.
	JumpLookahead bool
	// Decision rule; default BestReturn.
	Decision Decision
	// Workers run restarts in parallel (each on its own session and bank
	// copy, so results do not depend on it); default GOMAXPROCS.
	Workers int
	// TrainEvery takes one gradient step every TrainEvery environment
	// steps (release: 1).
	TrainEvery int
	// NoReuseTree makes every decision start from an empty prefix tree
	// (lsg.ExplorerConfig.DropOnCommit) instead of the subtree of the
	// committed move, which the default keeps: the rewards and feasible
	// moves memoised below that move at one decision are the next
	// decision's, for the exact search and the learning episodes alike.
	// Plans are identical either way (tests); it exists to measure what
	// the re-rooting saves. Default false (re-rooting on).
	NoReuseTree bool
	// Directed makes the ε branch of ε-greedy pick uniformly among the
	// actions whose subtree still holds an untried action sequence (all
	// actions when none does) instead of among all actions; default false
	// (the release's uniform ε).
	Directed bool
}

// OptionsFromConfig maps config.Planner (defaults already applied) to
// Options.
func OptionsFromConfig(c config.Planner) (Options, error) {
	disc, err := lsg.ParseDiscount(c.Discount, c.Sigma, c.Gamma)
	if err != nil {
		return Options{}, err
	}
	o := Options{
		Ring: c.Ring, NMax: c.NMaxOrDefault(), Seed: c.Seed, Restarts: c.Restarts,
		Gamma: c.Gamma, Epsilon: c.Epsilon, ReplayCapacity: c.ReplayCapacity, BatchSize: c.BatchSize,
		TargetSync: c.TargetSync, EpisodeFactor: c.EpisodeFactor, PatienceFactor: c.PatienceFactor,
		MaxEpisodes: c.MaxEpisodes, Discount: disc,
		PriorK: c.PriorK, PriorBeta: c.PriorBeta, BankPath: c.BankPath, ReuseSimilarity: c.ReuseSimilarity,
		Backend: c.Backend, OnnxLibPath: c.OnnxLibPath, ExactMaxLeaves: c.ExactMaxLeaves,
		FortifyEvery: c.FortifyEvery, FortifyWarmup: c.FortifyWarmup, FortifyRetries: c.FortifyRetries, FortifyAgainstStart: c.FortifyAgainst == "greedy", FortifyCompletionRing: c.FortifyCompletionRing, JumpLookahead: true, Decision: BestReturn, TrainEvery: 1,
	}
	o.Net = dqn.DefaultConfig(o.NMax, lsg.ExtraRows)
	if c.E2EChannels > 0 {
		o.Net.E2E = [2]int{c.E2EChannels, c.E2EChannels}
	}
	if c.Hidden > 0 {
		o.Net.Hidden = c.Hidden
	}
	if c.LearningRate > 0 {
		o.Net.LearningRate = c.LearningRate
	}
	o.Net.WeightDecay = c.WeightDecay
	o.Net.Seed = uint64(c.Seed)
	return o, o.Validate()
}

// DefaultOptions returns OptionsFromConfig(config.Defaults().Planner).
func DefaultOptions() Options {
	o, err := OptionsFromConfig(config.Defaults().Planner)
	if err != nil {
		panic(err) // the defaults are valid
	}
	return o
}

// Validate checks ranges; it also fills Net.N, Net.ExtraRows, Net.Channels
// from NMax and the LSG layout.
func (o *Options) Validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("lsg-dqn: "+f, a...) }
	switch {
	case o.Ring < 1:
		return bad("ring must be >= 1, got %d", o.Ring)
	case o.NMax < 2:
		return bad("n_max must be >= 2, got %d", o.NMax)
	case o.Restarts < 1:
		return bad("restarts must be >= 1, got %d", o.Restarts)
	case !(o.Gamma >= 0 && o.Gamma <= 1):
		return bad("gamma must be in [0,1], got %v", o.Gamma)
	case !(o.Epsilon >= 0 && o.Epsilon <= 1):
		return bad("epsilon must be in [0,1], got %v", o.Epsilon)
	case o.ReplayCapacity < 1 || o.BatchSize < 1 || o.TargetSync < 1:
		return bad("replay_capacity, batch_size and target_sync must be >= 1 (got %d, %d, %d)", o.ReplayCapacity, o.BatchSize, o.TargetSync)
	case o.EpisodeFactor < 1 || o.PatienceFactor < 1 || o.MaxEpisodes < 1:
		return bad("episode_factor, patience_factor and max_episodes must be >= 1 (got %d, %d, %d)", o.EpisodeFactor, o.PatienceFactor, o.MaxEpisodes)
	case o.PriorK < 0:
		return bad("prior_k must be >= 0, got %d", o.PriorK)
	case !(o.PriorBeta > 0):
		return bad("prior_beta must be > 0, got %v", o.PriorBeta)
	case !(o.ReuseSimilarity >= 0 && o.ReuseSimilarity <= 1):
		return bad("reuse_similarity must be in [0,1] (0 = off), got %v", o.ReuseSimilarity)
	case o.ReuseSimilarity > 0 && o.PriorK == 0:
		return bad("reuse_similarity %v needs stored networks (prior_k > 0)", o.ReuseSimilarity)
	case o.Backend != "go" && o.Backend != "onnx" && o.Backend != "":
		return bad("backend must be go or onnx, got %q", o.Backend)
	case o.Decision > ArgmaxQ:
		return bad("unknown decision rule %d", o.Decision)
	case o.ExactMaxLeaves < 0:
		return bad("exact_max_leaves must be >= 0 (0 = off), got %d", o.ExactMaxLeaves)
	case o.FortifyEvery < 0:
		return bad("fortify_every must be >= 0 (0 = off), got %d", o.FortifyEvery)
	case o.TrainEvery < 0:
		return bad("train_every must be >= 0, got %d", o.TrainEvery)
	}
	if o.Backend == "" {
		o.Backend = "go"
	}
	if o.TrainEvery == 0 {
		o.TrainEvery = 1
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	o.Net.N = o.NMax
	o.Net.Channels = lsg.Channels
	o.Net.ExtraRows = lsg.ExtraRows
	if err := o.Net.Validate(); err != nil {
		return fmt.Errorf("lsg-dqn: network: %w", err)
	}
	return nil
}

// layout returns the state layout.
func (o Options) layout() lsg.Layout { return lsg.Layout{N: o.NMax} }
