package lsgdqn

import (
	"context"
	"math"
	"os"
	"slices"
	"testing"

	"fabcell/planners"
	"fabcell/planners/dqn"
)

// TestONNXBackendMatchesGo plans with the ONNX backend taking the decisions
// (ArgmaxQ) and checks, at every learned decision, that onnxruntime's
// Q-values of S_c equal the Go network's to float32 precision and that the
// decision is the one the Go backend would take; the whole plan must then
// equal the Go-backend plan of the same seed.
func TestONNXBackendMatchesGo(t *testing.T) {
	if _, err := dqn.ORTLibraryPath(""); err != nil {
		if os.Getenv("FABCELL_REQUIRE_ONNX") == "1" {
			t.Fatal(err)
		}
		t.Skipf("onnxruntime not available: %v", err)
	}
	g := gridGraph(t, 5, 5, true)
	o := fastOptions(2)
	o.Decision = ArgmaxQ
	o.Backend = "onnx"
	p := newPlanner(t, o)
	var infos []decisionInfo
	p.hook = func(d decisionInfo) { infos = append(infos, d) }
	onnxMoves, err := planners.Run(context.Background(), p, newSession(t, g), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) == 0 {
		t.Fatal("no learned decision")
	}
	nearTie := false
	for k, d := range infos {
		scale := 0.0
		for _, a := range d.actions {
			scale = math.Max(scale, math.Abs(d.qGo[a]))
		}
		for _, a := range d.actions {
			if diff := math.Abs(d.q[a] - d.qGo[a]); diff > 1e-5*(1+scale) {
				t.Fatalf("decision %d: Q[%d] onnx %v vs go %v", k, a, d.q[a], d.qGo[a])
			}
		}
		argmax := func(q []float64) int32 {
			best := d.actions[0]
			for _, a := range d.actions {
				if q[a] > q[best] {
					best = a
				}
			}
			return best
		}
		ag, ao := argmax(d.qGo), argmax(d.q)
		if ag != ao {
			if math.Abs(d.qGo[ag]-d.qGo[ao]) > 1e-5*(1+scale) {
				t.Fatalf("decision %d: onnx picks %d, go picks %d", k, ao, ag)
			}
			nearTie = true
		}
	}
	o.Backend = "go"
	goMoves, err := planners.Run(context.Background(), newPlanner(t, o), newSession(t, g), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !nearTie && !slices.Equal(goMoves, onnxMoves) {
		t.Fatal("go and onnx backends produced different plans")
	}
	t.Logf("%d decisions compared; plans equal: %v", len(infos), slices.Equal(goMoves, onnxMoves))
}
