package dqn

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// ortLib returns the onnxruntime library path, or skips (fails when CI
// sets FABCELL_REQUIRE_ONNX=1) if it is absent.
func ortLib(t testing.TB) string {
	t.Helper()
	p, err := ORTLibraryPath("")
	if err == nil && !ortAvailable {
		err = errors.New("built without cgo")
	}
	if err != nil {
		if os.Getenv("FABCELL_REQUIRE_ONNX") == "1" {
			t.Fatalf("FABCELL_REQUIRE_ONNX=1 but %v", err)
		}
		t.Skipf("onnxruntime backend not tested: %v", err)
	}
	return p
}

func exportONNX(t testing.TB, n *Net) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := n.ExportONNX(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestONNXMatchesGo: for random networks (ReLU and leaky, with and
// without feature rows, after training so that biases are non-zero) and
// inputs at several Active counts, onnxruntime and the Go passes agree
// within 1e-4 (float32 inference).
func TestONNXMatchesGo(t *testing.T) {
	lib := ortLib(t)
	rng := rand.New(rand.NewPCG(81, 81))
	cfgs := []Config{
		smallConfigs()[0], smallConfigs()[1], smallConfigs()[2],
		DefaultConfig(40, 4),
		{N: 33, Channels: 3, ExtraRows: 0, E2E: [2]int{5, 6}, E2N: 3, E2NColumn: true, Hidden: 17, LeakySlope: 0, LearningRate: 1e-3, Seed: 3},
	}
	for ci, c := range cfgs {
		t.Run(fmt.Sprintf("config%d", ci), func(t *testing.T) {
			n := mustNew(t, c)
			scramble(n, rng, 0.05)
			for i := 0; i < 5; i++ { // a few AdamW steps: realistic weights
				a := 1 + rng.IntN(c.N)
				n.TrainBatch([]Sample{{S: benchInput(rng, c, a), A: rng.IntN(a), Y: rng.NormFloat64()}})
			}
			o, err := NewONNX(lib, exportONNX(t, n), c)
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			qg, qo := make([]float64, c.N), make([]float64, c.N)
			maxDiff, maxQ := 0.0, 0.0
			for _, A := range []int{0, 1, c.N / 3, c.N - 1, c.N} {
				for rep := 0; rep < 2; rep++ {
					in := benchInput(rng, c, A)
					if rep == 1 { // garbage in the padding
						in = randInput(rng, c, A)
					}
					n.Forward(in, qg)
					if err := o.ForwardErr(in, qo); err != nil {
						t.Fatal(err)
					}
					for i := range qg {
						d := math.Abs(qg[i] - qo[i])
						maxDiff = math.Max(maxDiff, d)
						maxQ = math.Max(maxQ, math.Abs(qg[i]))
						if d > 1e-4 {
							t.Fatalf("Active %d: q[%d] Go %.7g, ONNX %.7g", A, i, qg[i], qo[i])
						}
						if i >= A && qo[i] != 0 {
							t.Fatalf("Active %d: ONNX padded q[%d] = %v", A, i, qo[i])
						}
					}
				}
			}
			if maxQ < 1e-3 {
				t.Fatalf("all |Q| < 1e-3: comparison is vacuous")
			}
			t.Logf("max |Go − ONNX| = %.2g over |Q| ≤ %.3g", maxDiff, maxQ)
			if o.Err() != nil {
				t.Fatal(o.Err())
			}
		})
	}
}

func TestONNXLifecycleAndErrors(t *testing.T) {
	lib := ortLib(t)
	c := smallConfigs()[1]
	n := mustNew(t, c)
	model := exportONNX(t, n)
	// Repeated creation shares the process-global environment.
	var nets []*ONNXNet
	for i := 0; i < 3; i++ {
		o, err := NewONNX(lib, model, c)
		if err != nil {
			t.Fatalf("NewONNX #%d: %v", i, err)
		}
		nets = append(nets, o)
	}
	in := randInput(rand.New(rand.NewPCG(1, 1)), c, 5)
	q := make([]float64, c.N)
	for _, o := range nets {
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		if err := o.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
	o := nets[0]
	if err := o.ForwardErr(in, q); !errors.Is(err, ErrClosed) || !math.IsNaN(q[0]) {
		t.Fatalf("Forward after Close: %v, q[0] = %v", err, q[0])
	}
	o.Forward(in, q)
	if !errors.Is(o.Err(), ErrClosed) {
		t.Fatalf("Err() = %v", o.Err())
	}

	other := c
	other.N++
	if _, err := NewONNX(lib, model, other); err == nil {
		t.Fatal("NewONNX accepted a model of another shape")
	}
	if _, err := NewONNX(lib, []byte("not an onnx model"), c); err == nil {
		t.Fatal("NewONNX accepted garbage")
	}
	if _, err := NewONNX(lib, nil, c); err == nil {
		t.Fatal("NewONNX accepted an empty model")
	}
	if _, err := NewONNX(lib, model, Config{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("NewONNX with zero config: %v", err)
	}
	if _, err := NewONNX(lib+".missing", model, c); err == nil {
		t.Fatal("NewONNX accepted a different library after initialisation")
	}
}

func TestORTLibraryPathMissing(t *testing.T) {
	if _, err := ORTLibraryPath("/nonexistent/libonnxruntime.so"); !errors.Is(err, ErrNoORT) {
		t.Fatalf("got %v, want ErrNoORT", err)
	}
}

func BenchmarkONNXForward(b *testing.B) {
	lib := ortLib(b)
	for _, bc := range benchCases {
		b.Run(fmt.Sprintf("N%d_A%d", bc.n, bc.active), func(b *testing.B) {
			c := DefaultConfig(bc.n, 4)
			n := mustNew(b, c)
			o, err := NewONNX(lib, exportONNX(b, n), c)
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close()
			in := benchInput(rand.New(rand.NewPCG(1, 1)), c, bc.active)
			q := make([]float64, c.N)
			cpuLoop(b, func() { o.Forward(in, q) })
			sinkQ += q[0]
		})
	}
}

// BenchmarkONNXExportAndLoad: ExportONNX + NewONNX + Close of a default
// network (the cost of moving a freshly trained Net to onnxruntime).
func BenchmarkONNXExportAndLoad(b *testing.B) {
	lib := ortLib(b)
	c := DefaultConfig(160, 4)
	n := mustNew(b, c)
	cpuLoop(b, func() {
		var buf bytes.Buffer
		if err := n.ExportONNX(&buf); err != nil {
			b.Fatal(err)
		}
		o, err := NewONNX(lib, buf.Bytes(), c)
		if err != nil {
			b.Fatal(err)
		}
		o.Close()
	})
}
