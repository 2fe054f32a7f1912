package dqn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Gradient tolerance: central differences with step gradH on the
// full-tensor reference (refLoss) have truncation error O(h²·f”') ≈ 1e-10
// and round-off ≈ 1e-16/h ≈ 1e-10 for these O(1) losses; a kink of the
// leaky ReLU within h of a pre-activation is improbable at h = 1e-6.
const (
	gradH   = 1e-6
	gradAbs = 1e-7
	gradRel = 1e-5
)

func closeGrad(analytic, numeric float64) bool {
	return math.Abs(analytic-numeric) <= gradAbs+gradRel*math.Max(math.Abs(analytic), math.Abs(numeric))
}

// paramGroups names the parameter groups of the flat vector.
func paramGroups(n *Net) []struct {
	name     string
	off, len int
} {
	c, l := n.cfg, n.lay
	R := c.rows()
	type g = struct {
		name     string
		off, len int
	}
	var col []g
	if l.nU >= 0 {
		col = append(col, g{"e2n.col", l.nU, l.nIn * l.nOut * R})
	}
	return append([]g{
		{"e2e1.row", l.e1.r, l.e1.in * l.e1.out * c.N},
		{"e2e1.col", l.e1.c, l.e1.in * l.e1.out * R},
		{"e2e1.bias", l.e1.b, l.e1.out},
		{"e2e2.row", l.e2.r, l.e2.in * l.e2.out * c.N},
		{"e2e2.col", l.e2.c, l.e2.in * l.e2.out * R},
		{"e2e2.bias", l.e2.b, l.e2.out},
		{"e2n.w", l.nW, l.nIn * l.nOut * c.N},
		{"e2n.bias", l.nB, l.nOut}},
		append(col,
			g{"fc1.w", l.f1W, c.Hidden * c.E2N * R},
			g{"fc1.bias", l.f1B, c.Hidden},
			g{"fc2.w", l.f2W, c.N * c.Hidden},
			g{"fc2.bias", l.f2B, c.N})...)
}

func TestParamGroupsCoverLayout(t *testing.T) {
	for _, c := range smallConfigs() {
		n := mustNew(t, c)
		off := 0
		for _, g := range paramGroups(n) {
			if g.off != off {
				t.Fatalf("%s at %d, want %d", g.name, g.off, off)
			}
			off += g.len
		}
		if off != n.NumParams() {
			t.Fatalf("groups cover %d of %d parameters", off, n.NumParams())
		}
	}
}

// TestParameterGradients checks every parameter of every group against
// central differences of the independent full-tensor reference, on a batch
// of three states with different Active counts (ExtraRows > 0 included).
func TestParameterGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	for ci, c := range smallConfigs() {
		t.Run(fmt.Sprintf("config%d", ci), func(t *testing.T) {
			n := mustNew(t, c)
			scramble(n, rng, 0.3)
			var batch []Sample
			for _, A := range []int{c.N, c.N - 1, c.N/2 + 1} {
				in := randInput(rng, c, A)
				batch = append(batch, Sample{S: in, A: rng.IntN(A), Y: rng.NormFloat64()})
			}
			loss := n.lossGrad(batch)
			if want := refLoss(n, batch); math.Abs(loss-want) > 1e-12*(1+want) {
				t.Fatalf("loss %.17g, reference %.17g", loss, want)
			}
			grad := append([]float64(nil), n.grad...)
			for _, g := range paramGroups(n) {
				nonzero := 0
				for i := g.off; i < g.off+g.len; i++ {
					p0 := n.params[i]
					n.params[i] = p0 + gradH
					lp := refLoss(n, batch)
					n.params[i] = p0 - gradH
					lm := refLoss(n, batch)
					n.params[i] = p0
					num := (lp - lm) / (2 * gradH)
					if !closeGrad(grad[i], num) {
						t.Errorf("%s[%d]: backprop %.10g, finite difference %.10g", g.name, i-g.off, grad[i], num)
					}
					if grad[i] != 0 {
						nonzero++
					}
				}
				if nonzero == 0 {
					t.Errorf("%s: every gradient is zero; the test exercises nothing", g.name)
				}
			}
		})
	}
}

// inputGrad returns ∂Q(in, a)/∂X in the full padded layout.
func inputGrad(n *Net, in Input, a int) []float64 {
	c := n.cfg
	if n.grad == nil {
		n.grad = make([]float64, n.lay.total)
	}
	A, N, R := in.Active, c.N, c.rows()
	Ra := A + c.ExtraRows
	dx := make([]float64, c.Channels*Ra*A)
	n.forward(in)
	n.backward(A, a, 1, dx)
	full := make([]float64, c.InputLen())
	for m := 0; m < c.Channels; m++ {
		for ii := 0; ii < Ra; ii++ {
			r := rowOf(ii, A, N)
			copy(full[(m*R+r)*N:(m*R+r)*N+A], dx[(m*Ra+ii)*A:(m*Ra+ii+1)*A])
		}
	}
	return full
}

func TestInputGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	for ci, c := range smallConfigs() {
		n := mustNew(t, c)
		scramble(n, rng, 0.3)
		for _, A := range []int{c.N, c.N - 2} {
			in := randInput(rng, c, A)
			a := rng.IntN(A)
			got := inputGrad(n, in, a)
			nonzero := 0
			for k := range in.X {
				x0 := in.X[k]
				in.X[k] = x0 + gradH
				qp := refForward(n, in)[a]
				in.X[k] = x0 - gradH
				qm := refForward(n, in)[a]
				in.X[k] = x0
				num := (qp - qm) / (2 * gradH)
				if !closeGrad(got[k], num) {
					t.Errorf("config %d Active %d: ∂Q/∂X[%d]: backprop %.10g, finite difference %.10g", ci, A, k, got[k], num)
				}
				if got[k] != 0 {
					nonzero++
				}
			}
			if nonzero == 0 {
				t.Errorf("config %d: input gradient identically zero", ci)
			}
		}
	}
}
