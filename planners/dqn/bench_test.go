package dqn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchInput builds a realistic LSG state: a symmetric sparse adjacency
// (about 6 neighbours per node, normalised lengths in (0, 1]) in all three
// memory channels, node coordinates and heat in the feature rows, zero
// padding.
func benchInput(rng *rand.Rand, c Config, active int) Input {
	N, R := c.N, c.rows()
	x := make([]float64, c.InputLen())
	for i := 0; i < active; i++ {
		for k := 0; k < 3; k++ {
			j := rng.IntN(active)
			if j == i {
				continue
			}
			l := 0.5 + 0.5*rng.Float64()
			for m := 0; m < c.Channels; m++ {
				x[(m*R+i)*N+j] = l
				x[(m*R+j)*N+i] = l
			}
		}
	}
	for m := 0; m < c.Channels; m++ {
		for e := 0; e < c.ExtraRows; e++ {
			for j := 0; j < active; j++ {
				x[(m*R+N+e)*N+j] = rng.Float64()*2 - 1
			}
		}
	}
	return Input{Active: active, X: x}
}

var benchCases = []struct{ n, active int }{{160, 61}, {240, 127}}

var sinkQ float64

func BenchmarkForward(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(fmt.Sprintf("N%d_A%d", bc.n, bc.active), func(b *testing.B) {
			c := DefaultConfig(bc.n, 4)
			n := mustNew(b, c)
			in := benchInput(rand.New(rand.NewPCG(1, 1)), c, bc.active)
			q := make([]float64, c.N)
			cpuLoop(b, func() { n.Forward(in, q) })
			sinkQ += q[0]
		})
	}
}

func BenchmarkTrainBatch3(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(fmt.Sprintf("N%d_A%d", bc.n, bc.active), func(b *testing.B) {
			c := DefaultConfig(bc.n, 4)
			n := mustNew(b, c)
			rng := rand.New(rand.NewPCG(2, 2))
			batch := make([]Sample, 3)
			for i := range batch {
				a := bc.active - 2*i // Active varies a little inside one LSG's replay
				batch[i] = Sample{S: benchInput(rng, c, a), A: rng.IntN(a), Y: rng.NormFloat64()}
			}
			cpuLoop(b, func() { sinkQ += n.TrainBatch(batch) })
		})
	}
}

// BenchmarkTrainBatch3Sizes compares channel/hidden sizes at N = 160,
// Active = 61 (the trade-off behind the defaults).
func BenchmarkTrainBatch3Sizes(b *testing.B) {
	for _, s := range []struct {
		e1, e2, e2n, hidden int
		col                 bool
	}{
		{8, 8, 4, 128, true}, {8, 8, 4, 128, false}, {8, 8, 8, 128, true}, {8, 8, 4, 256, true},
		{16, 16, 4, 128, true}, {32, 32, 4, 128, true},
	} {
		b.Run(fmt.Sprintf("E2E%d-%d_E2N%d_col%v_H%d", s.e1, s.e2, s.e2n, s.col, s.hidden), func(b *testing.B) {
			c := DefaultConfig(160, 4)
			c.E2E, c.E2N, c.E2NColumn, c.Hidden = [2]int{s.e1, s.e2}, s.e2n, s.col, s.hidden
			n := mustNew(b, c)
			rng := rand.New(rand.NewPCG(2, 2))
			batch := make([]Sample, 3)
			for i := range batch {
				batch[i] = Sample{S: benchInput(rng, c, 61), A: rng.IntN(61), Y: rng.NormFloat64()}
			}
			cpuLoop(b, func() { sinkQ += n.TrainBatch(batch) })
			b.ReportMetric(float64(n.NumParams()), "params")
		})
	}
}
