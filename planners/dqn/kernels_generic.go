//go:build !amd64 || purego

package dqn

// useAVX2 reports whether the AVX2/FMA kernels are in use (never on this
// build).
var useAVX2 = false

func gemmNTImpl(c []float64, ldc int, a []float64, lda int, b []float64, ldb int, m, n, kk int) {
	gemmNTGo(c, ldc, a, lda, b, ldb, m, n, kk)
}

func gemmNNImpl(c []float64, ldc int, a []float64, ai, ak int, b []float64, ldb int, m, n, kk int) {
	gemmNNGo(c, ldc, a, ai, ak, b, ldb, m, n, kk)
}

func adamStep(p, g, m, v []float64, k *adamCoef) { adamStepGo(p, g, m, v, k) }

func actRow(dst, cb []float64, base, slope float64) { actRowGo(dst, cb, base, slope) }

func dactRow(out, d, db []float64, slope float64) float64 { return dactRowGo(out, d, db, slope) }
