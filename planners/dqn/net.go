// Package dqn is the Q-network of the LSG-DQN toolpath planner (Huang et al.
// 2024; spec lsg-dqn.md §3, §9): a BrainNetCNN-style network (Kawahara 2017)
// of two edge-to-edge layers, one edge-to-node layer and two fully connected
// layers that maps the short-term-memory state S = [A, A†, A‡] of a local
// search graph (LSG) to one Q-value per LSG node (Eqs. 14–15).
//
// Forward and backward passes are hand-written in float64 and trained with
// AdamW on the DQN loss (Eq. 2). The network can be serialised
// (MarshalBinary), exported as an ONNX model (ExportONNX) and evaluated
// through onnxruntime (NewONNX) as an alternative inference backend.
//
// # Masking (deviation from the release)
//
// The authors' release bilinearly resizes the (C, n+4, n) state to the fixed
// network size, which breaks the node-index ↔ output-index correspondence;
// the spec (§9) recommends zero padding instead, which is what we do. An LSG
// with Active < N nodes occupies rows and columns [0, Active) of every N×N
// channel block; the ExtraRows feature rows below the block keep their rows
// but only columns [0, Active). Everything else is padding. Because biases
// would make padded positions non-zero after the first layer, every
// activation at a padded position is forced to zero after every layer
// (input included): the network is exactly "the full padded tensor
// multiplied by the mask after each layer". Padding content therefore never
// influences any Q-value, Q[i] = 0 for i ≥ Active, and the passes only loop
// over the active part, so their cost scales with the real LSG size
// (≈ 40–130 nodes) rather than with N (160–240).
package dqn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Config describes the network. The input tensor has shape
// (Channels, N+ExtraRows, N), layout [c][row][col] row-major.
type Config struct {
	// N is the padded LSG size N_max = number of actions (one Q per LSG node).
	N int
	// Channels is the number of input channels (3: A, A†, A‡ — short-term
	// memory, spec §5.3).
	Channels int
	// ExtraRows is the number of feature rows appended under each channel's
	// N×N block (e.g. node x, y, z, heat; spec §5.1); 0 allowed.
	ExtraRows int
	// E2E holds the output channels of the two edge-to-edge layers (Eq. 14).
	E2E [2]int
	// E2N is the number of output channels of the edge-to-node layer (Eq. 15).
	E2N int
	// E2NColumn adds the column term of Eq. 15 (Kawahara's full E2N): node
	// i then also sums column i, e[p][i] += Σ_m Σ_k u[m,p,k]·h[m][k][i]
	// over the node and feature rows k, which is the only path by which a
	// node's own feature-row entries (ExtraRows) reach its Q-value. false =
	// the release's (1, N) convolution over row i only.
	E2NColumn bool
	// Hidden is the width of the first fully connected layer.
	Hidden int
	// LeakySlope is the activation slope for x < 0 (0 = ReLU), in [0, 1).
	LeakySlope float64
	// LearningRate and WeightDecay parameterise AdamW (β1 0.9, β2 0.999,
	// ε 1e-8; weight decay decoupled, applied to every parameter as in
	// PyTorch's AdamW).
	LearningRate, WeightDecay float64
	// Seed drives the weight initialisation.
	Seed uint64
}

// Recommended sizes (measured trade-off, see README): small channel counts
// keep one decision's ~200–600 training steps cheap.
const (
	DefaultE2E1         = 8
	DefaultE2E2         = 8
	DefaultE2N          = 4
	DefaultE2NColumn    = true // Eq. 15 with its column term (see Config.E2NColumn)
	DefaultHidden       = 128
	DefaultLeakySlope   = 0.01
	DefaultLearningRate = 5e-4 // release (spec §3)
	DefaultWeightDecay  = 0.01 // PyTorch AdamW default, used by the release
)

// DefaultConfig returns the recommended configuration for an LSG padded to
// n nodes with 3 memory channels and the given number of feature rows.
func DefaultConfig(n, extraRows int) Config {
	return Config{
		N: n, Channels: 3, ExtraRows: extraRows,
		E2E: [2]int{DefaultE2E1, DefaultE2E2}, E2N: DefaultE2N, E2NColumn: DefaultE2NColumn, Hidden: DefaultHidden,
		LeakySlope: DefaultLeakySlope, LearningRate: DefaultLearningRate, WeightDecay: DefaultWeightDecay,
	}
}

// ErrConfig is wrapped by every configuration validation error.
var ErrConfig = errors.New("dqn: invalid config")

// Size limits that keep a corrupt or hostile configuration from allocating
// unbounded memory.
const (
	maxN        = 4096
	maxChannels = 1024
	maxExtra    = 1024
	maxHidden   = 1 << 16
	maxParams   = 1 << 28
)

// Validate reports the first problem of c, wrapping ErrConfig.
func (c Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	switch {
	case c.N < 1 || c.N > maxN:
		return bad("N = %d out of range [1, %d]", c.N, maxN)
	case c.Channels < 1 || c.Channels > maxChannels:
		return bad("Channels = %d out of range [1, %d]", c.Channels, maxChannels)
	case c.ExtraRows < 0 || c.ExtraRows > maxExtra:
		return bad("ExtraRows = %d out of range [0, %d]", c.ExtraRows, maxExtra)
	case c.E2E[0] < 1 || c.E2E[0] > maxChannels:
		return bad("E2E[0] = %d out of range [1, %d]", c.E2E[0], maxChannels)
	case c.E2E[1] < 1 || c.E2E[1] > maxChannels:
		return bad("E2E[1] = %d out of range [1, %d]", c.E2E[1], maxChannels)
	case c.E2N < 1 || c.E2N > maxChannels:
		return bad("E2N = %d out of range [1, %d]", c.E2N, maxChannels)
	case c.Hidden < 1 || c.Hidden > maxHidden:
		return bad("Hidden = %d out of range [1, %d]", c.Hidden, maxHidden)
	case !(c.LeakySlope >= 0 && c.LeakySlope < 1):
		return bad("LeakySlope = %v not in [0, 1)", c.LeakySlope)
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0):
		return bad("LearningRate = %v must be finite and > 0", c.LearningRate)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return bad("WeightDecay = %v must be finite and >= 0", c.WeightDecay)
	}
	if p := c.paramCount(); p > maxParams {
		return bad("%d parameters exceed the limit %d", p, maxParams)
	}
	return nil
}

// rows is the number of rows per input channel, N+ExtraRows.
func (c Config) rows() int { return c.N + c.ExtraRows }

// InputLen is the length of Input.X: Channels·(N+ExtraRows)·N.
func (c Config) InputLen() int { return c.Channels * c.rows() * c.N }

// paramCount returns the number of trainable parameters (no overflow on
// 64-bit platforms for the ranges Validate checks first).
func (c Config) paramCount() int {
	l := c.layout()
	return l.total
}

// e2eParams locates one E2E layer's parameters in the flat parameter vector:
// row filter r[m][p][k] (k over the N columns), column filter c[m][p][k]
// (k over the N+ExtraRows rows), bias b[p].
type e2eParams struct{ in, out, r, c, b int }

// layout is the offset table of the flat parameter vector.
type layout struct {
	e1, e2 e2eParams
	// E2N: w[m][p][k] (k over N columns), bias b[p], and with E2NColumn the
	// column filter u[m][p][k] (k over the N+ExtraRows rows; nU < 0 if off).
	nIn, nOut, nW, nB, nU int
	// FC1: W[h][p·R + i], bias b[h]. FC2: W[i][h], bias b[i].
	f1W, f1B, f2W, f2B int
	total              int
}

func (c Config) layout() layout {
	var l layout
	off := 0
	take := func(n int) int { o := off; off += n; return o }
	R := c.rows()
	e2e := func(in, out int) e2eParams {
		return e2eParams{in: in, out: out, r: take(in * out * c.N), c: take(in * out * R), b: take(out)}
	}
	l.e1 = e2e(c.Channels, c.E2E[0])
	l.e2 = e2e(c.E2E[0], c.E2E[1])
	l.nIn, l.nOut = c.E2E[1], c.E2N
	l.nW = take(c.E2E[1] * c.E2N * c.N)
	l.nB = take(c.E2N)
	l.nU = -1
	if c.E2NColumn {
		l.nU = take(c.E2E[1] * c.E2N * R)
	}
	l.f1W = take(c.Hidden * c.E2N * R)
	l.f1B = take(c.Hidden)
	l.f2W = take(c.N * c.Hidden)
	l.f2B = take(c.N)
	l.total = off
	return l
}

// Input is one network input.
type Input struct {
	// Active is the number of real (unpadded) LSG nodes, 0 ≤ Active ≤ N.
	// Rows/columns ≥ Active of the N×N blocks and columns ≥ Active of the
	// extra rows are padding and are ignored.
	Active int
	// X has length Channels·(N+ExtraRows)·N, layout [c][row][col].
	X []float64
}

// QFunc evaluates Q-values; implemented by *Net and *ONNXNet.
type QFunc interface {
	// Forward writes Q(in, i) to q[i] for i < in.Active and 0 for the
	// padded actions; len(q) must be N.
	Forward(in Input, q []float64)
}

var (
	_ QFunc = (*Net)(nil)
	_ QFunc = (*ONNXNet)(nil)
)

// Sample is one training example: state, action taken, and the Bellman
// target Y = r + γ·max Q_target(s′, ·) computed by the caller (Eq. 1).
type Sample struct {
	S Input
	A int
	Y float64
}

// Net is the LSG Q-network with its AdamW optimiser state. A Net is not safe
// for concurrent use (it owns its scratch buffers); Clone it per goroutine.
type Net struct {
	cfg Config
	lay layout
	// params, grad, m1, m2: flat vectors of length lay.total (weights,
	// gradient of the current batch, Adam first and second moments); grad
	// and ws are allocated on first use.
	params, grad, m1, m2 []float64
	step                 int64 // Adam step count t
	ws                   *workspace
}

// New builds a network with freshly initialised weights (Kaiming-uniform
// for the activation slope, biases zero, output layer ±1/√Hidden), seeded by
// cfg.Seed.
func New(cfg Config) (*Net, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := alloc(cfg)
	n.init()
	return n, nil
}

// alloc allocates a zero network (no initialisation) for a valid cfg.
func alloc(cfg Config) *Net {
	l := cfg.layout()
	buf := make([]float64, 3*l.total)
	return &Net{
		cfg: cfg, lay: l,
		params: buf[0*l.total : 1*l.total : 1*l.total],
		m1:     buf[1*l.total : 2*l.total : 2*l.total],
		m2:     buf[2*l.total : 3*l.total : 3*l.total],
	}
}

// ensureWS allocates the scratch buffers on first use, so that networks that
// are only stored (prior bank, §6) cost no more than their parameters.
func (n *Net) ensureWS() {
	if n.params == nil {
		panic("dqn: use of a zero Net (use New or UnmarshalBinary)")
	}
	if n.ws == nil {
		n.ws = newWorkspace(n.cfg)
	}
}

// init draws the initial weights. Fan-ins count every input an output unit
// sums over in the full padded tensor.
func (n *Net) init() {
	c, l := n.cfg, n.lay
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	gain := math.Sqrt(2 / (1 + c.LeakySlope*c.LeakySlope))
	uni := func(off, cnt int, bound float64) {
		for i := off; i < off+cnt; i++ {
			n.params[i] = (2*rng.Float64() - 1) * bound
		}
	}
	kaiming := func(fanIn int) float64 { return gain * math.Sqrt(3/float64(fanIn)) }
	R := c.rows()
	for _, e := range []e2eParams{l.e1, l.e2} {
		b := kaiming(e.in * (c.N + R))
		uni(e.r, e.in*e.out*c.N, b)
		uni(e.c, e.in*e.out*R, b)
	}
	if l.nU >= 0 {
		b := kaiming(l.nIn * (c.N + R))
		uni(l.nW, l.nIn*l.nOut*c.N, b)
		uni(l.nU, l.nIn*l.nOut*R, b)
	} else {
		uni(l.nW, l.nIn*l.nOut*c.N, kaiming(l.nIn*c.N))
	}
	uni(l.f1W, c.Hidden*c.E2N*R, kaiming(c.E2N*R))
	uni(l.f2W, c.N*c.Hidden, 1/math.Sqrt(float64(c.Hidden)))
}

// Config returns the network's configuration.
func (n *Net) Config() Config { return n.cfg }

// NumParams returns the number of trainable parameters.
func (n *Net) NumParams() int { return n.lay.total }

// Steps returns the number of AdamW steps taken so far.
func (n *Net) Steps() int64 { return n.step }

// CheckInput reports whether in fits the network (Active range, len(X)).
// Forward and TrainBatch panic on inputs that fail this check.
func (n *Net) CheckInput(in Input) error { return checkInput(n.cfg, in) }

func checkInput(c Config, in Input) error {
	if in.Active < 0 || in.Active > c.N {
		return fmt.Errorf("dqn: Active = %d out of range [0, %d]", in.Active, c.N)
	}
	if len(in.X) != c.InputLen() {
		return fmt.Errorf("dqn: len(X) = %d, want Channels·(N+ExtraRows)·N = %d", len(in.X), c.InputLen())
	}
	return nil
}

// Forward computes the Q-values of in into q (len N); q[i] = 0 for
// i ≥ in.Active. It panics if in or q does not fit the network (programmer
// error; see CheckInput). Zero allocations.
func (n *Net) Forward(in Input, q []float64) {
	n.ensureWS()
	if err := checkInput(n.cfg, in); err != nil {
		panic(err.Error())
	}
	if len(q) != n.cfg.N {
		panic(fmt.Sprintf("dqn: len(q) = %d, want N = %d", len(q), n.cfg.N))
	}
	n.forward(in)
	A := in.Active
	copy(q[:A], n.ws.f.q[:A])
	clear(q[A:])
}

// Clone returns a deep copy of n, including the optimiser state.
func (n *Net) Clone() *Net {
	c := alloc(n.cfg)
	copy(c.params, n.params)
	copy(c.m1, n.m1)
	copy(c.m2, n.m2)
	c.step = n.step
	return c
}

// CopyFrom makes n an exact copy of src — configuration, weights and AdamW
// state — without allocating (prior reuse, spec §6: "reuse initialises the
// weights and optimiser state"). It panics if the shapes differ.
func (n *Net) CopyFrom(src *Net) {
	if !sameShape(n.cfg, src.cfg) {
		panic("dqn: CopyFrom between networks of different shapes")
	}
	n.cfg = src.cfg
	copy(n.params, src.params)
	copy(n.m1, src.m1)
	copy(n.m2, src.m2)
	n.step = src.step
}

// CopyWeightsFrom copies src's weights into n (target-network sync, §3);
// the optimiser state of n is left unchanged. It panics if the two networks
// have different shapes.
func (n *Net) CopyWeightsFrom(src *Net) {
	if !sameShape(n.cfg, src.cfg) {
		panic("dqn: CopyWeightsFrom between networks of different shapes")
	}
	copy(n.params, src.params)
}

func sameShape(a, b Config) bool {
	return a.N == b.N && a.Channels == b.Channels && a.ExtraRows == b.ExtraRows &&
		a.E2E == b.E2E && a.E2N == b.E2N && a.E2NColumn == b.E2NColumn && a.Hidden == b.Hidden
}

// TrainBatch takes one AdamW step on the mean squared TD error
// L = (1/B)·Σ_b (Q(S_b, A_b) − Y_b)² (Eq. 2) and returns L measured before
// the step. An empty batch returns 0 and takes no step; so does a batch
// whose loss is not finite (NaN/Inf in a state or target), which returns
// that loss and leaves the network unchanged. It panics if a
// sample does not fit the network or its action is not an active node
// (0 ≤ A < S.Active). Zero allocations.
func (n *Net) TrainBatch(batch []Sample) (loss float64) {
	if len(batch) == 0 {
		return 0
	}
	n.ensureWS()
	for i := range batch {
		s := &batch[i]
		if err := checkInput(n.cfg, s.S); err != nil {
			panic(fmt.Sprintf("dqn: TrainBatch sample %d: %v", i, err))
		}
		if s.A < 0 || s.A >= s.S.Active {
			panic(fmt.Sprintf("dqn: TrainBatch sample %d: action %d not an active node [0, %d)", i, s.A, s.S.Active))
		}
	}
	loss = n.lossGrad(batch)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss // a non-finite state or target must not corrupt the weights
	}
	n.adamW()
	return loss
}

// lossGrad sets n.grad to the gradient of the batch loss (Eq. 2) and returns
// the loss. Samples must have been checked.
func (n *Net) lossGrad(batch []Sample) (loss float64) {
	if n.grad == nil {
		n.grad = make([]float64, n.lay.total)
	}
	clear(n.grad)
	inv := 1 / float64(len(batch))
	for i := range batch {
		s := &batch[i]
		n.forward(s.S)
		d := n.ws.f.q[s.A] - s.Y
		loss += d * d
		n.backward(s.S.Active, s.A, 2*d*inv, nil)
	}
	return loss * inv
}

// adamW applies one decoupled-weight-decay Adam step (Loshchilov & Hutter
// 2019, as torch.optim.AdamW): θ ← θ − η·λ·θ; m ← β1·m + (1−β1)·g;
// v ← β2·v + (1−β2)·g²; θ ← θ − η·m̂/(√v̂ + ε) with m̂ = m/(1−β1^t),
// v̂ = v/(1−β2^t).
func (n *Net) adamW() {
	n.step++
	t := float64(n.step)
	lr := n.cfg.LearningRate
	k := adamCoef{
		b1: adamBeta1, omb1: 1 - adamBeta1, b2: adamBeta2, omb2: 1 - adamBeta2,
		decay: 1 - lr*n.cfg.WeightDecay,
		lrc1:  lr / (1 - math.Pow(adamBeta1, t)),
		c2:    1 / (1 - math.Pow(adamBeta2, t)),
		eps:   adamEps,
	}
	adamStep(n.params, n.grad, n.m1, n.m2, &k)
}

// AdamW constants (PyTorch defaults, as in the release).
const adamBeta1, adamBeta2, adamEps = 0.9, 0.999, 1e-8

// adamCoef holds the per-step AdamW coefficients; the layout is shared
// with the assembly kernel.
type adamCoef struct {
	b1, omb1, b2, omb2 float64 // β1, 1−β1, β2, 1−β2
	decay              float64 // 1 − η·λ
	lrc1               float64 // η/(1−β1^t)
	c2                 float64 // 1/(1−β2^t)
	eps                float64
}

// adamStepGo is the portable AdamW update over equal-length slices.
func adamStepGo(p, g, m, v []float64, k *adamCoef) {
	g = g[:len(p)]
	m = m[:len(p)]
	v = v[:len(p)]
	for i := range p {
		gi := g[i]
		mi := k.b1*m[i] + k.omb1*gi
		vi := k.b2*v[i] + k.omb2*gi*gi
		m[i], v[i] = mi, vi
		p[i] = p[i]*k.decay - k.lrc1*(mi/(math.Sqrt(vi*k.c2)+k.eps))
	}
}
