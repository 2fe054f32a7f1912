package thermal

import (
	"fmt"
	"testing"
)

// BenchmarkStep measures one laser step (Eq. 12 kernel + n Laplacian
// sub-steps + decay, or the decay model's window rebuild) on square layers
// of 10⁴…10⁶ pixels along a walk in the middle of the layer: ns/op must
// not grow with the layer (locality).
func BenchmarkStep(b *testing.B) {
	for _, model := range []Model{Diffusion, Decay} {
		for _, n := range []int{100, 316, 1000} {
			b.Run(fmt.Sprintf("%v/nodes=%d", model, n*n), func(b *testing.B) {
				g := square(b, n)
				p := defaultParams(b)
				p.Model = model
				f := newField(b, g, p)
				local := walk(square(b, 60), 20000, 3)
				path := make([]int, len(local))
				for i, v := range local {
					c, r := v%60, 59-v/60
					path[i] = (n-1-(r+n/2-30))*n + c + n/2 - 30
				}
				b.ResetTimer()
				cpu := startCPU()
				for i := 0; i < b.N; i++ {
					k := i % len(path)
					if k == 0 {
						f.Reset()
					}
					f.Step(path[k])
				}
				cpu.stop(b)
				b.ReportMetric(float64(f.MaxActive()), "max-active")
			})
		}
	}
}

// BenchmarkStepUndo measures the look-ahead pattern of the planners: a
// step and its undo.
func BenchmarkStepUndo(b *testing.B) {
	g := square(b, 316)
	f := newField(b, g, defaultParams(b))
	path := walk(g, 2000, 9)
	for _, v := range path[:1000] {
		f.Step(v)
	}
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		f.Step(path[1000+i%1000])
		f.Undo()
	}
	cpu.stop(b)
}

var sinkReport Report

// BenchmarkEvaluate is the shared evaluator on a 100k-step order:
// "capped" is the planner's field plus its uncapped twin (the residual
// heat), "uncapped-only" a field that is its own twin — the difference is
// the cost of the residual-heat metrics.
func BenchmarkEvaluate(b *testing.B) {
	for _, uncapped := range []bool{false, true} {
		name := "capped"
		if uncapped {
			name = "uncapped-only"
		}
		b.Run(name, func(b *testing.B) {
			g := square(b, 316)
			p := defaultParams(b)
			p.Uncapped = uncapped
			f := newField(b, g, p)
			order := walk(g, 100000, 4)
			b.ResetTimer()
			cpu := startCPU()
			for i := 0; i < b.N; i++ {
				r, err := Evaluate(f, order, 0.5)
				if err != nil {
					b.Fatal(err)
				}
				sinkReport = r
			}
			cpu.stop(b)
		})
	}
}
