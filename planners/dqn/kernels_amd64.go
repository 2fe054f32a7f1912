//go:build amd64 && !purego

package dqn

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2/FMA assembly kernels (kernels_amd64.s); the
// portable Go kernels are used on other CPUs. Tests switch it to compare
// both paths.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// tailMasks[r] enables the first r of 4 lanes (VMASKMOVPD masks for the
// last partial vector; masked lanes are neither read nor written).
var tailMasks = [4][4]int64{{0, 0, 0, 0}, {-1, 0, 0, 0}, {-1, -1, 0, 0}, {-1, -1, -1, 0}}

// ntKernel4 computes, for r < 4 and j < 2·npairs,
// C[r·ldc+j] += Σ_{k<kk} A[r·lda+k]·B[j·ldb+k]; mask = &tailMasks[kk%4].
//
//go:noescape
func ntKernel4(c *float64, ldc int, a *float64, lda int, b *float64, ldb int, npairs int, kk int, mask *[4]int64)

// nnKernel4 computes, for r < 4 and j < n,
// C[r·ldc+j] += Σ_{k<kk} a[r·ai+k·ak]·B[k·ldb+j] (kk ≥ 1);
// mask = &tailMasks[n%4].
//
//go:noescape
func nnKernel4(c *float64, ldc int, a *float64, ai, ak int, b *float64, ldb int, n int, kk int, mask *[4]int64)

func gemmNTImpl(c []float64, ldc int, a []float64, lda int, b []float64, ldb int, m, n, kk int) {
	if !useAVX2 {
		gemmNTGo(c, ldc, a, lda, b, ldb, m, n, kk)
		return
	}
	mask := &tailMasks[kk&3]
	i := 0
	for ; i+4 <= m; i += 4 {
		if n >= 2 {
			ntKernel4(&c[i*ldc], ldc, &a[i*lda], lda, &b[0], ldb, n/2, kk, mask)
		}
		if n&1 == 1 {
			j := n - 1
			bj := b[j*ldb : j*ldb+kk]
			for r := i; r < i+4; r++ {
				c[r*ldc+j] += dot(a[r*lda:r*lda+kk], bj)
			}
		}
	}
	if i < m {
		gemmNTGo(c[i*ldc:], ldc, a[i*lda:], lda, b, ldb, m-i, n, kk)
	}
}

func gemmNNImpl(c []float64, ldc int, a []float64, ai, ak int, b []float64, ldb int, m, n, kk int) {
	if !useAVX2 {
		gemmNNGo(c, ldc, a, ai, ak, b, ldb, m, n, kk)
		return
	}
	mask := &tailMasks[n&3]
	i := 0
	for ; i+4 <= m; i += 4 {
		nnKernel4(&c[i*ldc], ldc, &a[i*ai], ai, ak, &b[0], ldb, n, kk, mask)
	}
	if i < m {
		gemmNNGo(c[i*ldc:], ldc, a[i*ai:], ai, ak, b, ldb, m-i, n, kk)
	}
}

// adamKernel applies adamStepGo's update to n4 (a multiple of 4) elements
// with 4-wide AVX (vector square root and division).
//
//go:noescape
func adamKernel(p, gr, m, v *float64, n4 int, k *adamCoef)

func adamStep(p, g, m, v []float64, k *adamCoef) {
	n := len(p)
	if len(g) < n || len(m) < n || len(v) < n {
		panic("dqn: adamStep operand too short")
	}
	n4 := n &^ 3
	if useAVX2 && n4 > 0 {
		adamKernel(&p[0], &g[0], &m[0], &v[0], n4, k)
	} else {
		n4 = 0
	}
	adamStepGo(p[n4:], g[n4:n], m[n4:n], v[n4:n], k)
}

//go:noescape
func actRowKernel(dst, cb *float64, n4 int, base, slope float64)

//go:noescape
func dactRowKernel(out, d, db *float64, n4 int, slope float64) float64

// actRow sets dst[j] = act(base + cb[j], slope).
func actRow(dst, cb []float64, base, slope float64) {
	n := len(dst)
	cb = cb[:n]
	n4 := n &^ 3
	if useAVX2 && n4 > 0 {
		actRowKernel(&dst[0], &cb[0], n4, base, slope)
	} else {
		n4 = 0
	}
	actRowGo(dst[n4:], cb[n4:], base, slope)
}

// dactRow: see dactRowGo.
func dactRow(out, d, db []float64, slope float64) float64 {
	n := len(out)
	d = d[:n]
	db = db[:n]
	n4 := n &^ 3
	s := 0.0
	if useAVX2 && n4 > 0 {
		s = dactRowKernel(&out[0], &d[0], &db[0], n4, slope)
	} else {
		n4 = 0
	}
	return s + dactRowGo(out[n4:], d[n4:], db[n4:], slope)
}
