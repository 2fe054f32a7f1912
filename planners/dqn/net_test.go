package dqn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig(160, 4)
	if err := ok.Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"N zero", func(c *Config) { c.N = 0 }, "N = 0"},
		{"N huge", func(c *Config) { c.N = 1 << 20 }, "N = 1048576"},
		{"channels", func(c *Config) { c.Channels = 0 }, "Channels = 0"},
		{"extra negative", func(c *Config) { c.ExtraRows = -1 }, "ExtraRows = -1"},
		{"e2e0", func(c *Config) { c.E2E[0] = 0 }, "E2E[0] = 0"},
		{"e2e1", func(c *Config) { c.E2E[1] = -3 }, "E2E[1] = -3"},
		{"e2n", func(c *Config) { c.E2N = 0 }, "E2N = 0"},
		{"hidden", func(c *Config) { c.Hidden = 0 }, "Hidden = 0"},
		{"slope negative", func(c *Config) { c.LeakySlope = -0.1 }, "LeakySlope"},
		{"slope one", func(c *Config) { c.LeakySlope = 1 }, "LeakySlope"},
		{"slope NaN", func(c *Config) { c.LeakySlope = math.NaN() }, "LeakySlope"},
		{"lr zero", func(c *Config) { c.LearningRate = 0 }, "LearningRate"},
		{"lr inf", func(c *Config) { c.LearningRate = math.Inf(1) }, "LearningRate"},
		{"wd negative", func(c *Config) { c.WeightDecay = -1 }, "WeightDecay"},
		{"wd NaN", func(c *Config) { c.WeightDecay = math.NaN() }, "WeightDecay"},
		{"too many params", func(c *Config) { c.N, c.Hidden, c.E2N = 4096, 1<<16, 64 }, "parameters exceed"},
	}
	for _, tc := range cases {
		c := ok
		tc.mutate(&c)
		err := c.Validate()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want ErrConfig mentioning %q", tc.name, err, tc.want)
		}
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted an invalid config", tc.name)
		}
	}
}

func TestCheckInputAndPanics(t *testing.T) {
	c := smallConfigs()[1]
	n := mustNew(t, c)
	for _, in := range []Input{
		{Active: -1, X: make([]float64, c.InputLen())},
		{Active: c.N + 1, X: make([]float64, c.InputLen())},
		{Active: 2, X: make([]float64, c.InputLen()-1)},
	} {
		if err := n.CheckInput(in); err == nil {
			t.Errorf("CheckInput accepted Active %d len %d", in.Active, len(in.X))
		}
		mustPanic(t, "Forward", func() { n.Forward(in, make([]float64, c.N)) })
	}
	good := Input{Active: 3, X: make([]float64, c.InputLen())}
	if err := n.CheckInput(good); err != nil {
		t.Fatal(err)
	}
	mustPanic(t, "short q", func() { n.Forward(good, make([]float64, c.N-1)) })
	mustPanic(t, "action padded", func() { n.TrainBatch([]Sample{{S: good, A: 3}}) })
	mustPanic(t, "action negative", func() { n.TrainBatch([]Sample{{S: good, A: -1}}) })
	mustPanic(t, "zero Net", func() { new(Net).Forward(good, make([]float64, c.N)) })
	if l := n.TrainBatch(nil); l != 0 || n.Steps() != 0 {
		t.Fatalf("empty batch: loss %v steps %d", l, n.Steps())
	}
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Errorf("%s: no panic", what)
			return
		}
		if s, ok := r.(string); !ok || !strings.HasPrefix(s, "dqn: ") {
			t.Errorf("%s: panic %v, want a \"dqn: \" message", what, r)
		}
	}()
	f()
}

func TestActiveZeroGivesZeroQ(t *testing.T) {
	c := smallConfigs()[1]
	n := mustNew(t, c)
	q := make([]float64, c.N)
	for i := range q {
		q[i] = 1
	}
	n.Forward(randInput(rand.New(rand.NewPCG(1, 2)), c, 0), q)
	for i, v := range q {
		if v != 0 {
			t.Fatalf("q[%d] = %v with Active 0", i, v)
		}
	}
}

func TestTrainBatchReducesLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	c := DefaultConfig(24, 4)
	c.Seed = 5
	n := mustNew(t, c)
	batch := []Sample{
		{S: randInput(rng, c, 24), A: 3, Y: 1.5},
		{S: randInput(rng, c, 17), A: 16, Y: -0.7},
		{S: randInput(rng, c, 9), A: 0, Y: 0.3},
	}
	first := n.TrainBatch(batch)
	last := first
	for i := 0; i < 300; i++ {
		last = n.TrainBatch(batch)
	}
	if !(last < 1e-3*first) {
		t.Fatalf("loss %.4g after 300 steps, started at %.4g", last, first)
	}
	if n.Steps() != 301 {
		t.Fatalf("Steps() = %d, want 301", n.Steps())
	}
}

// TestAdamWHandComputed checks two AdamW steps parameter by parameter
// against the textbook update written out independently here.
func TestAdamWHandComputed(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 31))
	c := smallConfigs()[1]
	c.LearningRate, c.WeightDecay = 0.01, 0.2
	n := mustNew(t, c)
	scramble(n, rng, 0.3)
	b1 := []Sample{{S: randInput(rng, c, 7), A: 2, Y: 0.5}, {S: randInput(rng, c, 4), A: 1, Y: -1}}
	b2 := []Sample{{S: randInput(rng, c, 6), A: 5, Y: 2}}

	// Gradients at θ0 and at θ1 from an independent clone.
	probe := n.Clone()
	probe.lossGrad(b1)
	g1 := append([]float64(nil), probe.grad...)
	theta0 := append([]float64(nil), n.params...)

	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	lr, wd := c.LearningRate, c.WeightDecay
	theta1 := make([]float64, len(theta0))
	m1 := make([]float64, len(theta0))
	v1 := make([]float64, len(theta0))
	for i := range theta0 {
		m1[i] = (1 - beta1) * g1[i]
		v1[i] = (1 - beta2) * g1[i] * g1[i]
		mh := m1[i] / (1 - beta1)
		vh := v1[i] / (1 - beta2)
		theta1[i] = theta0[i] - lr*wd*theta0[i] - lr*mh/(math.Sqrt(vh)+eps)
	}
	n.TrainBatch(b1)
	for i := range theta1 {
		if math.Abs(n.params[i]-theta1[i]) > 1e-15*(1+math.Abs(theta1[i])) {
			t.Fatalf("step 1: θ[%d] = %.17g, hand-computed %.17g", i, n.params[i], theta1[i])
		}
	}
	probe.CopyWeightsFrom(n)
	probe.lossGrad(b2)
	g2 := probe.grad
	for i := range theta1 {
		m := beta1*m1[i] + (1-beta1)*g2[i]
		v := beta2*v1[i] + (1-beta2)*g2[i]*g2[i]
		mh := m / (1 - beta1*beta1)
		vh := v / (1 - beta2*beta2)
		theta1[i] = theta1[i] - lr*wd*theta1[i] - lr*mh/(math.Sqrt(vh)+eps)
	}
	n.TrainBatch(b2)
	for i := range theta1 {
		if math.Abs(n.params[i]-theta1[i]) > 1e-14*(1+math.Abs(theta1[i])) {
			t.Fatalf("step 2: θ[%d] = %.17g, hand-computed %.17g", i, n.params[i], theta1[i])
		}
	}
}

// TestWeightDecayDecoupled: with a zero loss gradient AdamW must only
// shrink every weight by (1 − η·λ); an L2 penalty folded into the gradient
// (plain Adam) would instead move every weight by ≈ η.
func TestWeightDecayDecoupled(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 41))
	c := smallConfigs()[0]
	c.LearningRate, c.WeightDecay = 0.05, 0.3
	n := mustNew(t, c)
	scramble(n, rng, 0.3)
	in := randInput(rng, c, 5)
	q := make([]float64, c.N)
	n.Forward(in, q)
	before := append([]float64(nil), n.params...)
	loss := n.TrainBatch([]Sample{{S: in, A: 4, Y: q[4]}})
	if loss != 0 {
		t.Fatalf("loss %v, want 0 for Y = Q", loss)
	}
	f := 1 - c.LearningRate*c.WeightDecay
	for i, p := range n.params {
		if math.Abs(p-before[i]*f) > 1e-16 {
			t.Fatalf("θ[%d] = %.17g, want %.17g", i, p, before[i]*f)
		}
		if n.m1[i] != 0 || n.m2[i] != 0 {
			t.Fatalf("Adam moments moved without gradient at %d", i)
		}
	}
}

func TestCloneAndCopyWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 51))
	c := smallConfigs()[1]
	a := mustNew(t, c)
	batch := []Sample{{S: randInput(rng, c, 7), A: 3, Y: 1}, {S: randInput(rng, c, 5), A: 0, Y: -1}}
	a.TrainBatch(batch)
	b := a.Clone()
	if b.Steps() != a.Steps() {
		t.Fatal("Clone lost the step count")
	}
	// Same optimiser state ⇒ identical trajectories.
	la, lb := a.TrainBatch(batch), b.TrainBatch(batch)
	if la != lb || !equalF(a.params, b.params) || !equalF(a.m2, b.m2) {
		t.Fatal("clone diverged from original on the same batch")
	}
	// Independence.
	b.TrainBatch(batch)
	if equalF(a.params, b.params) {
		t.Fatal("training the clone changed the original (shared storage)")
	}
	// CopyWeightsFrom copies weights only.
	tgt := mustNew(t, c)
	tgt.CopyWeightsFrom(b)
	if !equalF(tgt.params, b.params) || tgt.Steps() != 0 || equalF(tgt.m1, b.m1) {
		t.Fatal("CopyWeightsFrom must copy weights and nothing else")
	}
	q1, q2 := make([]float64, c.N), make([]float64, c.N)
	tgt.Forward(batch[0].S, q1)
	b.Forward(batch[0].S, q2)
	if !equalF(q1, q2) {
		t.Fatal("synced target gives different Q")
	}
	other := c
	other.Hidden++
	mustPanic(t, "CopyWeightsFrom shape", func() { tgt.CopyWeightsFrom(mustNew(t, other)) })
	mustPanic(t, "CopyFrom shape", func() { tgt.CopyFrom(mustNew(t, other)) })

	// CopyFrom copies everything: both then train identically.
	tgt.CopyFrom(a)
	if tgt.Steps() != a.Steps() || !equalF(tgt.m1, a.m1) || !equalF(tgt.m2, a.m2) {
		t.Fatal("CopyFrom must copy the optimiser state")
	}
	if tgt.TrainBatch(batch) != a.TrainBatch(batch) || !equalF(tgt.params, a.params) {
		t.Fatal("CopyFrom copy trains differently")
	}
}

func equalF(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDeterministicInit(t *testing.T) {
	c := DefaultConfig(40, 4)
	c.Seed = 9
	a, b := mustNew(t, c), mustNew(t, c)
	if !equalF(a.params, b.params) {
		t.Fatal("same seed, different weights")
	}
	c.Seed = 10
	if equalF(a.params, mustNew(t, c).params) {
		t.Fatal("different seeds, same weights")
	}
}

// TestInitScale keeps the initial Q-values O(1) on a realistic padded
// state, so early TD targets are not dominated by initialisation.
func TestInitScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 61))
	c := DefaultConfig(160, 4)
	n := mustNew(t, c)
	q := make([]float64, c.N)
	n.Forward(benchInput(rng, c, 61), q)
	maxAbs, nonzero := 0.0, 0
	for _, v := range q[:61] {
		maxAbs = math.Max(maxAbs, math.Abs(v))
		if v != 0 {
			nonzero++
		}
	}
	if maxAbs > 10 || nonzero < 61 || maxAbs < 1e-4 {
		t.Fatalf("initial |Q| max %.3g, %d of 61 non-zero", maxAbs, nonzero)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 71))
	c := smallConfigs()[1]
	c.Seed = 1234567890123
	n := mustNew(t, c)
	batch := []Sample{{S: randInput(rng, c, 7), A: 3, Y: 1}}
	n.TrainBatch(batch)
	n.TrainBatch(batch)
	data, err := n.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var m Net
	if err := m.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if m.Config() != n.Config() || m.Steps() != n.Steps() ||
		!equalF(m.params, n.params) || !equalF(m.m1, n.m1) || !equalF(m.m2, n.m2) {
		t.Fatal("round trip changed the network")
	}
	// Training continues identically.
	if n.TrainBatch(batch) != m.TrainBatch(batch) || !equalF(m.params, n.params) {
		t.Fatal("restored network trains differently")
	}
}

func TestUnmarshalRejectsBadData(t *testing.T) {
	c := smallConfigs()[0]
	n := mustNew(t, c)
	good, err := n.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	// reseal recomputes the checksum so that the check under test, not the
	// checksum, must catch the change.
	reseal := func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], crcTable))
		return b
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "shorter than"},
		{"short", good[:20], "shorter than"},
		{"truncated", good[:len(good)-9], "bytes, want"},
		{"trailing", append(append([]byte(nil), good...), 0), "bytes, want"},
		{"magic", mod(func(b []byte) []byte { b[0] = 'X'; return b }), "magic"},
		{"version", mod(func(b []byte) []byte { b[8] = 9; return reseal(b) }), "version 9"},
		{"payload", mod(func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b }), "checksum"},
		{"checksum", mod(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), "checksum"},
		{"config", mod(func(b []byte) []byte { b[12], b[13] = 0, 0; return reseal(b) }), "N = 0"},
		{"count", mod(func(b []byte) []byte { b[headerLen-8]++; return reseal(b) }), "parameter count"},
		{"flags", mod(func(b []byte) []byte { b[40] = 6; return reseal(b) }), "unknown flags"},
		{"nan", mod(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[headerLen+16:], math.Float64bits(math.NaN()))
			return reseal(b)
		}), "non-finite"},
	}
	for _, tc := range cases {
		var m Net
		err := m.UnmarshalBinary(tc.data)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want ErrCorrupt mentioning %q", tc.name, err, tc.want)
		}
		if m.params != nil {
			t.Errorf("%s: receiver modified on error", tc.name)
		}
	}
	// A NaN weight (with a valid checksum) is rejected too.
	n.params[3] = math.NaN()
	if _, err := n.MarshalBinary(); err == nil {
		t.Error("MarshalBinary accepted a NaN weight")
	}
}

func TestExportONNXWellFormed(t *testing.T) {
	n := mustNew(t, smallConfigs()[1])
	var buf bytes.Buffer
	if err := n.ExportONNX(&buf); err != nil {
		t.Fatal(err)
	}
	msg := decodeProto(t, buf.Bytes())
	if got := msg.varint(fModelIRVersion); got != onnxIRVersion {
		t.Fatalf("ir_version %d", got)
	}
	g := decodeProto(t, msg.bytes(fModelGraph)[0])
	if len(g.bytes(fGraphInput)) != 2 || len(g.bytes(fGraphOutput)) != 1 {
		t.Fatal("graph must have 2 inputs and 1 output")
	}
	// Every float initializer holds exactly the float32-rounded weights:
	// total count equals NumParams plus the ExtraRows ones and, with
	// E2NColumn, the E2N·ExtraRows zero padding of the column term.
	floats := 0
	for _, init := range g.bytes(fGraphInitializer) {
		tp := decodeProto(t, init)
		if tp.varint(fTensorDataType) == dtFloat {
			floats += len(tp.bytes(fTensorRawData)[0]) / 4
		}
	}
	want := n.NumParams() + n.cfg.ExtraRows
	if n.cfg.E2NColumn {
		want += n.cfg.E2N * n.cfg.ExtraRows
	}
	if floats != want {
		t.Fatalf("%d float initializer values, want %d", floats, want)
	}
}

// TestSteadyStateAllocs: Forward and TrainBatch must not allocate once the
// scratch buffers exist (they run ~10⁵ times per job).
func TestSteadyStateAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 91))
	c := DefaultConfig(40, 4)
	n := mustNew(t, c)
	batch := []Sample{{S: benchInput(rng, c, 30), A: 2, Y: 1}, {S: benchInput(rng, c, 25), A: 0, Y: 0}, {S: benchInput(rng, c, 12), A: 11, Y: -1}}
	q := make([]float64, c.N)
	n.TrainBatch(batch)
	if a := testing.AllocsPerRun(20, func() { n.Forward(batch[0].S, q) }); a != 0 {
		t.Errorf("Forward: %v allocations", a)
	}
	if a := testing.AllocsPerRun(20, func() { n.TrainBatch(batch) }); a != 0 {
		t.Errorf("TrainBatch: %v allocations", a)
	}
	m := n.Clone()
	if a := testing.AllocsPerRun(20, func() { m.CopyFrom(n); m.CopyWeightsFrom(n) }); a != 0 {
		t.Errorf("CopyFrom/CopyWeightsFrom: %v allocations", a)
	}
}

func TestNonFiniteBatchLeavesNetUnchanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(95, 95))
	c := smallConfigs()[1]
	n := mustNew(t, c)
	before := n.Clone()
	in := randInput(rng, c, 6)
	bad := Input{Active: 6, X: append([]float64(nil), in.X...)}
	bad.X[2] = math.Inf(1) // active entry (row 0, column 2)
	for _, b := range [][]Sample{
		{{S: in, A: 1, Y: math.NaN()}},
		{{S: in, A: 1, Y: 0}, {S: bad, A: 2, Y: 0}},
	} {
		if l := n.TrainBatch(b); !math.IsNaN(l) && !math.IsInf(l, 0) {
			t.Fatalf("loss %v, want non-finite", l)
		}
	}
	if n.Steps() != 0 || !equalF(n.params, before.params) || !equalF(n.m2, before.m2) {
		t.Fatal("a non-finite batch changed the network")
	}
}

// FuzzUnmarshalBinary: arbitrary bytes give an error or a valid network,
// never a panic. (go test -fuzz FuzzUnmarshalBinary ./planners/dqn/)
func FuzzUnmarshalBinary(f *testing.F) {
	for _, c := range smallConfigs() {
		n, err := New(c)
		if err != nil {
			f.Fatal(err)
		}
		b, err := n.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("FCDQNET\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var n Net
		if err := n.UnmarshalBinary(data); err != nil {
			return
		}
		in := Input{Active: n.cfg.N, X: make([]float64, n.cfg.InputLen())}
		n.Forward(in, make([]float64, n.cfg.N))
		if _, err := n.MarshalBinary(); err != nil {
			t.Fatalf("re-marshal of an accepted network: %v", err)
		}
	})
}
