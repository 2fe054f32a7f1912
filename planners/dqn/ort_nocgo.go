//go:build !cgo

package dqn

import (
	"errors"
	"fmt"
)

// Stand-in for the onnxruntime backend in builds without cgo: the network
// itself, its serialisation and ExportONNX work; NewONNX reports ErrNoORT.

const ortAvailable = false

// ONNXNet is the onnxruntime-backed QFunc; without cgo it cannot be created.
type ONNXNet struct{ cfg Config }

var _ QFunc = (*ONNXNet)(nil)

// NewONNX fails: this binary was built without cgo.
func NewONNX(libPath string, model []byte, cfg Config) (*ONNXNet, error) {
	return nil, fmt.Errorf("%w: built without cgo (CGO_ENABLED=0)", ErrNoORT)
}

// Config returns the network shape the model was loaded for.
func (o *ONNXNet) Config() Config { return o.cfg }

// Forward panics: no ONNXNet exists in builds without cgo.
func (o *ONNXNet) Forward(in Input, q []float64) {
	panic("dqn: onnxruntime backend not built (no cgo)")
}

// ForwardErr returns ErrClosed.
func (o *ONNXNet) ForwardErr(in Input, q []float64) error { return ErrClosed }

// Err returns nil.
func (o *ONNXNet) Err() error { return nil }

// Close does nothing.
func (o *ONNXNet) Close() error { return errors.Join() }
