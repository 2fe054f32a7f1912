package dqn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// withKernels runs f once with the portable kernels and, when the CPU has
// them, once with the AVX2/FMA kernels.
func withKernels(t *testing.T, f func(t *testing.T)) {
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	useAVX2 = false
	t.Run("go", f)
	if saved {
		useAVX2 = true
		t.Run("avx2", f)
	}
}

func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.Float64()*2 - 1
	}
	return s
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*(1+math.Abs(b)) }

func TestGemmNTMatchesNaive(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 3))
		for trial := 0; trial < 300; trial++ {
			m, n, kk := 1+rng.IntN(11), 1+rng.IntN(11), 1+rng.IntN(19)
			lda, ldb, ldc := kk+rng.IntN(3), kk+rng.IntN(3), n+rng.IntN(3)
			// Exact-length operands: reading past them would be caught by
			// the Go path and is forbidden for the assembly.
			a := randSlice(rng, (m-1)*lda+kk)
			b := randSlice(rng, (n-1)*ldb+kk)
			c := randSlice(rng, (m-1)*ldc+n)
			want := append([]float64(nil), c...)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					s := 0.0
					for k := 0; k < kk; k++ {
						s += a[i*lda+k] * b[j*ldb+k]
					}
					want[i*ldc+j] += s
				}
			}
			gemmNT(c, ldc, a, lda, b, ldb, m, n, kk)
			for i := range c {
				if !near(c[i], want[i]) {
					t.Fatalf("m%d n%d k%d lda%d ldb%d ldc%d: c[%d] = %v, want %v", m, n, kk, lda, ldb, ldc, i, c[i], want[i])
				}
			}
		}
	})
}

func TestGemmNNMatchesNaive(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(4, 4))
		for trial := 0; trial < 300; trial++ {
			m, n, kk := 1+rng.IntN(11), 1+rng.IntN(21), 1+rng.IntN(11)
			var ai, ak int
			if rng.IntN(2) == 0 { // row-major A (m×kk)
				ai, ak = kk+rng.IntN(3), 1
			} else { // transposed storage (kk×m)
				ai, ak = 1, m+rng.IntN(3)
			}
			ldb, ldc := n+rng.IntN(3), n+rng.IntN(3)
			a := randSlice(rng, (m-1)*ai+(kk-1)*ak+1)
			b := randSlice(rng, (kk-1)*ldb+n)
			c := randSlice(rng, (m-1)*ldc+n)
			want := append([]float64(nil), c...)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					s := 0.0
					for k := 0; k < kk; k++ {
						s += a[i*ai+k*ak] * b[k*ldb+j]
					}
					want[i*ldc+j] += s
				}
			}
			// Sentinel gaps between C rows must stay untouched.
			gemmNN(c, ldc, a, ai, ak, b, ldb, m, n, kk)
			for i := range c {
				if !near(c[i], want[i]) {
					t.Fatalf("m%d n%d k%d ai%d ak%d: c[%d] = %v, want %v", m, n, kk, ai, ak, i, c[i], want[i])
				}
			}
		}
	})
}

func TestGemmPanicsOnShortOperands(t *testing.T) {
	a := make([]float64, 10)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	gemmNT(a, 4, a, 4, a, 4, 4, 4, 4)
}

// TestKernelPathsAgree runs a whole training step with both kernel sets.
func TestKernelPathsAgree(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2/FMA on this CPU: only the portable kernels exist")
	}
	rng := rand.New(rand.NewPCG(5, 5))
	c := DefaultConfig(40, 4)
	n := mustNew(t, c)
	batch := []Sample{{S: benchInput(rng, c, 33), A: 7, Y: 1}, {S: benchInput(rng, c, 21), A: 20, Y: -1}}
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	var losses [2]float64
	var grads [2][]float64
	for i, v := range []bool{false, true} {
		useAVX2 = v
		losses[i] = n.lossGrad(batch)
		grads[i] = append([]float64(nil), n.grad...)
	}
	if !near(losses[0], losses[1]) {
		t.Fatalf("loss %v (go) vs %v (avx2)", losses[0], losses[1])
	}
	for i := range grads[0] {
		if math.Abs(grads[0][i]-grads[1][i]) > 1e-10*(1+math.Abs(grads[0][i])) {
			t.Fatalf("grad[%d] %v (go) vs %v (avx2)", i, grads[0][i], grads[1][i])
		}
	}
}

func TestRowKernelsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, slope := range []float64{0, 0.01, 0.33} {
		for n := 1; n <= 13; n++ {
			cb, out, d, db := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
			out[0] = 0 // act′ at exactly 0 is slope
			base := rng.Float64() - 0.5
			want := make([]float64, n)
			got := make([]float64, n)
			actRowGo(want, cb, base, slope)
			actRow(got, cb, base, slope)
			for j := range want {
				if want[j] != got[j] {
					t.Fatalf("actRow n%d slope %v: [%d] %v want %v", n, slope, j, got[j], want[j])
				}
			}
			d2, db2 := append([]float64(nil), d...), append([]float64(nil), db...)
			sw := dactRowGo(out, d, db, slope)
			sg := dactRow(out, d2, db2, slope)
			if !near(sg, sw) || !equalF(d, d2) || !equalF(db, db2) {
				t.Fatalf("dactRow n%d slope %v: sum %v want %v", n, slope, sg, sw)
			}
		}
	}
}
