package dqn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refForward is an independent, deliberately naive implementation of the
// network on the FULL padded tensor: every layer is computed at every
// position (i, j) of the (N+ExtraRows)×N grid straight from Eqs. 14–15, and
// the result is multiplied by the 0/1 mask afterwards. It shares only the
// parameter layout with the fast passes.
func refForward(n *Net, in Input) []float64 {
	c, l := n.cfg, n.lay
	N, R, A := c.N, c.rows(), in.Active
	w := n.params
	mask := func(i, j int) float64 {
		if j >= A || (i < N && i >= A) {
			return 0
		}
		return 1
	}
	act := func(u float64) float64 {
		if u < 0 {
			return c.LeakySlope * u
		}
		return u
	}
	// x[m][i][j]
	x := make([][][]float64, c.Channels)
	for m := range x {
		x[m] = make([][]float64, R)
		for i := 0; i < R; i++ {
			x[m][i] = make([]float64, N)
			for j := 0; j < N; j++ {
				x[m][i][j] = in.X[(m*R+i)*N+j] * mask(i, j)
			}
		}
	}
	e2e := func(e e2eParams, x [][][]float64) [][][]float64 {
		out := make([][][]float64, e.out)
		for p := 0; p < e.out; p++ {
			out[p] = make([][]float64, R)
			for i := 0; i < R; i++ {
				out[p][i] = make([]float64, N)
				for j := 0; j < N; j++ {
					s := w[e.b+p]
					for m := 0; m < e.in; m++ {
						for k := 0; k < N; k++ { // row filter over the columns of row i
							s += w[e.r+(m*e.out+p)*N+k] * x[m][i][k]
						}
						for k := 0; k < R; k++ { // column filter over the rows of column j
							s += w[e.c+(m*e.out+p)*R+k] * x[m][k][j]
						}
					}
					out[p][i][j] = act(s) * mask(i, j)
				}
			}
		}
		return out
	}
	h := e2e(l.e2, e2e(l.e1, x))
	// E2N over every row, masked by rows (any column 0 < Active works).
	flat := make([]float64, c.E2N*R)
	for p := 0; p < c.E2N; p++ {
		for i := 0; i < R; i++ {
			s := w[l.nB+p]
			for m := 0; m < l.nIn; m++ {
				for k := 0; k < N; k++ {
					s += w[l.nW+(m*c.E2N+p)*N+k] * h[m][i][k]
				}
				if c.E2NColumn && i < N { // column i over every row k
					for k := 0; k < R; k++ {
						s += w[l.nU+(m*c.E2N+p)*R+k] * h[m][k][i]
					}
				}
			}
			rm := 1.0
			if i < N && i >= A {
				rm = 0
			}
			flat[p*R+i] = act(s) * rm
		}
	}
	z := make([]float64, c.Hidden)
	for hh := range z {
		s := w[l.f1B+hh]
		for k, v := range flat {
			s += w[l.f1W+hh*len(flat)+k] * v
		}
		z[hh] = act(s)
	}
	q := make([]float64, N)
	for i := 0; i < A; i++ {
		s := w[l.f2B+i]
		for hh, v := range z {
			s += w[l.f2W+i*c.Hidden+hh] * v
		}
		q[i] = s
	}
	return q
}

// refLoss is the batch loss (Eq. 2) evaluated with refForward.
func refLoss(n *Net, batch []Sample) float64 {
	s := 0.0
	for _, b := range batch {
		d := refForward(n, b.S)[b.A] - b.Y
		s += d * d
	}
	return s / float64(len(batch))
}

// smallConfigs are the random small shapes used by the exactness tests.
func smallConfigs() []Config {
	return []Config{
		{N: 6, Channels: 3, ExtraRows: 0, E2E: [2]int{3, 4}, E2N: 2, Hidden: 5, LeakySlope: 0.1, LearningRate: 1e-3, WeightDecay: 0.01, Seed: 1},
		{N: 7, Channels: 3, ExtraRows: 4, E2E: [2]int{4, 3}, E2N: 3, E2NColumn: true, Hidden: 6, LeakySlope: 0.33, LearningRate: 1e-3, WeightDecay: 0.01, Seed: 2},
		{N: 9, Channels: 2, ExtraRows: 2, E2E: [2]int{2, 2}, E2N: 1, Hidden: 4, LeakySlope: 0, LearningRate: 1e-3, WeightDecay: 0, Seed: 3},
		{N: 5, Channels: 1, ExtraRows: 1, E2E: [2]int{5, 2}, E2N: 4, E2NColumn: true, Hidden: 3, LeakySlope: 0.01, LearningRate: 1e-3, WeightDecay: 0.1, Seed: 4},
	}
}

// randInput returns a state with random values everywhere, padding
// included (the network must ignore it), and about half of the adjacency
// entries zero like a sparse LSG.
func randInput(rng *rand.Rand, c Config, active int) Input {
	x := make([]float64, c.InputLen())
	for i := range x {
		if rng.IntN(2) == 0 {
			x[i] = rng.Float64()*2 - 1
		}
	}
	return Input{Active: active, X: x}
}

func mustNew(t testing.TB, c Config) *Net {
	t.Helper()
	n, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// scramble perturbs every parameter (including biases, zero at init) so
// that tests do not rely on the initialisation's structure.
func scramble(n *Net, rng *rand.Rand, scale float64) {
	for i := range n.params {
		n.params[i] += scale * (rng.Float64()*2 - 1)
	}
}

func TestForwardMatchesFullPaddedReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for ci, c := range smallConfigs() {
		n := mustNew(t, c)
		scramble(n, rng, 0.3)
		q := make([]float64, c.N)
		for A := 0; A <= c.N; A++ {
			for rep := 0; rep < 3; rep++ {
				in := randInput(rng, c, A)
				n.Forward(in, q)
				want := refForward(n, in)
				for i := range q {
					if d := math.Abs(q[i] - want[i]); d > 1e-12*(1+math.Abs(want[i])) {
						t.Fatalf("config %d Active %d: q[%d] = %.17g, reference %.17g", ci, A, i, q[i], want[i])
					}
					if i >= A && q[i] != 0 {
						t.Fatalf("config %d Active %d: padded q[%d] = %g, want 0", ci, A, i, q[i])
					}
				}
			}
		}
	}
}

func TestPaddingNeverChangesQ(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for ci, c := range smallConfigs() {
		n := mustNew(t, c)
		scramble(n, rng, 0.3)
		R := c.rows()
		for _, A := range []int{1, c.N / 2, c.N - 1} {
			in := randInput(rng, c, A)
			clean := Input{Active: A, X: append([]float64(nil), in.X...)}
			for m := 0; m < c.Channels; m++ {
				for i := 0; i < R; i++ {
					for j := 0; j < c.N; j++ {
						if j >= A || (i < c.N && i >= A) {
							clean.X[(m*R+i)*c.N+j] = 0
							in.X[(m*R+i)*c.N+j] = []float64{math.NaN(), math.Inf(1), 1e300, -7}[rng.IntN(4)]
						}
					}
				}
			}
			q1, q2 := make([]float64, c.N), make([]float64, c.N)
			n.Forward(clean, q1)
			n.Forward(in, q2)
			for i := range q1 {
				if q1[i] != q2[i] {
					t.Fatalf("config %d Active %d: q[%d] %v with zero padding, %v with garbage padding", ci, A, i, q1[i], q2[i])
				}
			}
		}
	}
}
