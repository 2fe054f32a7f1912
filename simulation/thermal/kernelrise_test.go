package thermal

import (
	"math"
	"testing"
)

// KernelRise against an independent replay: the same history ending with
// a step onto a far island (whose disc misses the block) leaves every
// block pixel at the temperature it had before the kernel of the real last
// step — the time step of both models does not depend on where the laser
// goes — and the kernel then adds Eq. 12, capped.
func TestKernelRise(t *testing.T) {
	const w, h = 14, 5
	g := pixelGraph(t, w+20, h, 0.05, func(c, r int) bool { return c < w || c >= w+16 })
	far := -1
	for v := range g.NumNodes() {
		if g.Pos[v].X > float64(w+16)*0.05 {
			far = v
			break
		}
	}
	var block []int
	for v := range g.NumNodes() {
		if g.Pos[v].X < float64(w)*0.05 {
			block = append(block, v)
		}
	}
	for _, model := range []Model{Diffusion, Decay} {
		p := defaultParams(t)
		if model == Decay {
			p.Model, p.Window, p.Decay = Decay, 8, 0.52
		}
		r := p.RadiusFactor * g.MeanLengthMM()
		a, b := newField(t, g, p), newField(t, g, p)
		x := uint64(7)
		var hist []int
		for k := range 120 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			c := block[x%uint64(len(block))]
			a.Step(c)
			b.Reset()
			for _, v := range hist {
				b.Step(v)
			}
			b.Step(far)
			n := 0
			a.KernelRise(func(v int, before, after float64) {
				n++
				want := math.Min(p.HMax, before+p.Kernel(g.Pos[v].Sub(g.Pos[c]).Norm(), r))
				if before != b.Temp(v) || after != a.Temp(v) || math.Abs(after-want) > 1e-12 {
					t.Fatalf("%v step %d node %d: before %v (replay %v), after %v (field %v, kernel %v)", model, k, v, before, b.Temp(v), after, a.Temp(v), want)
				}
			})
			if n == 0 {
				t.Fatalf("%v step %d: no disc", model, k)
			}
			hist = append(hist, c)
		}
	}
}
