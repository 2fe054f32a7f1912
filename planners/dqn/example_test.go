package dqn_test

import (
	"bytes"
	"fmt"

	"fabcell/planners/dqn"
)

// A Q-network for LSGs padded to 160 nodes with 4 feature rows: evaluate
// an LSG of 61 real nodes, take one AdamW step towards a Bellman target,
// sync a target network and export the model for onnxruntime.
func Example() {
	cfg := dqn.DefaultConfig(160, 4)
	cfg.Seed = 1
	net, err := dqn.New(cfg)
	if err != nil {
		panic(err)
	}
	state := dqn.Input{Active: 61, X: make([]float64, cfg.InputLen())}
	// Channel 0 (A), rows/cols 0 and 5: unprinted edge 0–5 of normalised
	// length 0.8; X is laid out [channel][row][col].
	state.X[0*cfg.N+5] = 0.8
	state.X[5*cfg.N+0] = 0.8

	q := make([]float64, cfg.N)
	net.Forward(state, q)
	fmt.Println("Q for padded node 100:", q[100])

	target := net.Clone()
	y := 1.0 // r + γ·max Q_target(s′, ·), computed by the caller (Eq. 1)
	net.TrainBatch([]dqn.Sample{{S: state, A: 5, Y: y}})
	target.CopyWeightsFrom(net) // every 10 updates (spec §3)

	var model bytes.Buffer
	if err := net.ExportONNX(&model); err != nil {
		panic(err)
	}
	fmt.Println("parameters:", net.NumParams(), "steps:", net.Steps())
	// Output:
	// Q for padded node 100: 0
	// parameters: 143636 steps: 1
}
