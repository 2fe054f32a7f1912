//go:build cgo

package dqn

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ONNX Runtime backend (github.com/yalue/onnxruntime_go v1.27, C API 1.24.1;
// the shared library comes from the npm package onnxruntime-node, installed
// by .ci/setup). Needs cgo; ort_nocgo.go stands in without it.

// ortAvailable reports whether this build has the onnxruntime backend.
const ortAvailable = true

// ortEnv guards the process-global onnxruntime environment: it is created
// once, on the first successful NewONNX, and lives until the process exits.
var ortEnv struct {
	mu       sync.Mutex
	path     string // library the environment was created with
	external bool   // initialised by another package: library unknown
}

func initORT(libPath string) error {
	ortEnv.mu.Lock()
	defer ortEnv.mu.Unlock()
	if ortEnv.external {
		return nil
	}
	if ortEnv.path != "" {
		if libPath != "" {
			if p, err := filepath.Abs(libPath); err == nil && p != ortEnv.path {
				return fmt.Errorf("dqn: onnxruntime already initialised from %s, cannot switch to %s", ortEnv.path, p)
			}
		}
		return nil
	}
	if ort.IsInitialized() { // initialised by another package of the process
		ortEnv.external = true
		return nil
	}
	p, err := ORTLibraryPath(libPath)
	if err != nil {
		return err
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	ort.SetSharedLibraryPath(p)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("dqn: initialise onnxruntime from %s: %w", p, err)
	}
	ortEnv.path = p
	return nil
}

// ONNXNet evaluates an exported network with onnxruntime. It is safe for
// concurrent use (calls are serialised); Close frees the session.
type ONNXNet struct {
	mu    sync.Mutex
	cfg   Config
	sess  *ort.AdvancedSession
	state *ort.Tensor[float32]
	mask  *ort.Tensor[float32]
	q     *ort.Tensor[float32]
	err   error // first Forward error
}

var _ QFunc = (*ONNXNet)(nil)

// NewONNX loads model (as written by ExportONNX) for a network of shape cfg
// into an onnxruntime session (single-threaded: the planner calls it from
// its own loop). libPath selects the shared library (see ORTLibraryPath);
// the process-global runtime environment is initialised on the first call,
// so NewONNX may be called any number of times.
func NewONNX(libPath string, model []byte, cfg Config) (*ONNXNet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(model) == 0 {
		return nil, errors.New("dqn: NewONNX: empty model")
	}
	if err := initORT(libPath); err != nil {
		return nil, err
	}
	if err := checkONNXInterface(model, cfg); err != nil {
		return nil, err
	}
	R, N := int64(cfg.rows()), int64(cfg.N)
	o := &ONNXNet{cfg: cfg}
	var err error
	if o.state, err = ort.NewEmptyTensor[float32](ort.NewShape(1, int64(cfg.Channels), R, N)); err != nil {
		return nil, fmt.Errorf("dqn: NewONNX: %w", err)
	}
	if o.mask, err = ort.NewEmptyTensor[float32](ort.NewShape(1, N)); err != nil {
		o.Close()
		return nil, fmt.Errorf("dqn: NewONNX: %w", err)
	}
	if o.q, err = ort.NewEmptyTensor[float32](ort.NewShape(1, N)); err != nil {
		o.Close()
		return nil, fmt.Errorf("dqn: NewONNX: %w", err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		o.Close()
		return nil, fmt.Errorf("dqn: NewONNX: %w", err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		o.Close()
		return nil, fmt.Errorf("dqn: NewONNX: %w", err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		o.Close()
		return nil, fmt.Errorf("dqn: NewONNX: %w", err)
	}
	o.sess, err = ort.NewAdvancedSessionWithONNXData(model,
		[]string{ONNXInputState, ONNXInputMask}, []string{ONNXOutputQ},
		[]ort.Value{o.state, o.mask}, []ort.Value{o.q}, opts)
	if err != nil {
		o.Close()
		return nil, fmt.Errorf("dqn: NewONNX: create session: %w", err)
	}
	return o, nil
}

// checkONNXInterface verifies that the model's inputs and outputs match cfg.
func checkONNXInterface(model []byte, cfg Config) error {
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		return fmt.Errorf("dqn: NewONNX: read model: %w", err)
	}
	want := map[string]ort.Shape{
		ONNXInputState: ort.NewShape(1, int64(cfg.Channels), int64(cfg.rows()), int64(cfg.N)),
		ONNXInputMask:  ort.NewShape(1, int64(cfg.N)),
	}
	if len(ins) != 2 || len(outs) != 1 {
		return fmt.Errorf("dqn: NewONNX: model has %d inputs and %d outputs, want 2 (%s, %s) and 1 (%s)",
			len(ins), len(outs), ONNXInputState, ONNXInputMask, ONNXOutputQ)
	}
	for _, in := range ins {
		s, ok := want[in.Name]
		if !ok {
			return fmt.Errorf("dqn: NewONNX: unexpected model input %q", in.Name)
		}
		if !in.Dimensions.Equals(s) || in.DataType != ort.TensorElementDataTypeFloat {
			return fmt.Errorf("dqn: NewONNX: model input %s, want float %s for this config", in.String(), s)
		}
	}
	qs := ort.NewShape(1, int64(cfg.N))
	if outs[0].Name != ONNXOutputQ || !outs[0].Dimensions.Equals(qs) {
		return fmt.Errorf("dqn: NewONNX: model output %s, want %q float %s", outs[0].String(), ONNXOutputQ, qs)
	}
	return nil
}

// Config returns the network shape the model was loaded for.
func (o *ONNXNet) Config() Config { return o.cfg }

// Forward implements QFunc. On a runtime error (or after Close) q is filled
// with NaN and the error is kept for Err; use ForwardErr to get it directly.
// It panics if in or q does not fit the configuration, like Net.Forward.
func (o *ONNXNet) Forward(in Input, q []float64) {
	if err := o.ForwardErr(in, q); err != nil {
		o.mu.Lock()
		if o.err == nil {
			o.err = err
		}
		o.mu.Unlock()
	}
}

// ForwardErr is Forward with the runtime error returned.
func (o *ONNXNet) ForwardErr(in Input, q []float64) error {
	if err := checkInput(o.cfg, in); err != nil {
		panic(err.Error())
	}
	if len(q) != o.cfg.N {
		panic(fmt.Sprintf("dqn: len(q) = %d, want N = %d", len(q), o.cfg.N))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	fail := func(err error) error {
		for i := range q {
			q[i] = math.NaN()
		}
		return err
	}
	if o.sess == nil {
		return fail(ErrClosed)
	}
	// Copy only the active part so that padding content (even NaN) cannot
	// reach the masked multiplications.
	A, N, R := in.Active, o.cfg.N, o.cfg.rows()
	st := o.state.GetData()
	clear(st)
	for m := 0; m < o.cfg.Channels; m++ {
		for ii := 0; ii < A+o.cfg.ExtraRows; ii++ {
			r := rowOf(ii, A, N)
			src := in.X[(m*R+r)*N : (m*R+r)*N+A]
			dst := st[(m*R+r)*N : (m*R+r)*N+A]
			for j, v := range src {
				dst[j] = float32(v)
			}
		}
	}
	mk := o.mask.GetData()
	for i := range mk {
		mk[i] = 0
		if i < A {
			mk[i] = 1
		}
	}
	if err := o.sess.Run(); err != nil {
		return fail(fmt.Errorf("dqn: onnxruntime run: %w", err))
	}
	for i, v := range o.q.GetData() {
		q[i] = float64(v)
	}
	clear(q[A:])
	return nil
}

// Err returns the first error met by Forward, if any.
func (o *ONNXNet) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// Close frees the session and its tensors; it is idempotent. The global
// onnxruntime environment stays initialised for later NewONNX calls.
func (o *ONNXNet) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var errs []error
	if o.sess != nil {
		errs = append(errs, o.sess.Destroy())
		o.sess = nil
	}
	for _, t := range []**ort.Tensor[float32]{&o.state, &o.mask, &o.q} {
		if *t != nil {
			errs = append(errs, (*t).Destroy())
			*t = nil
		}
	}
	return errors.Join(errs...)
}
