package dqn

// Register-blocked float64 kernels for the small matrix products of the
// passes (M, N ≈ 4–130, K ≈ 8–130). Every slice is re-sliced to its exact
// length before the inner loop so the compiler drops the bounds checks.

// dot returns Σ a[i]·b[i] over len(a) (len(b) ≥ len(a)).
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	for len(a) >= 4 && len(b) >= 4 {
		s0 += a[0] * b[0]
		s1 += a[1] * b[1]
		s2 += a[2] * b[2]
		s3 += a[3] * b[3]
		a, b = a[4:], b[4:]
	}
	for i, x := range a {
		s0 += x * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy computes y[i] += alpha·x[i] over len(y) (len(x) ≥ len(y)).
func axpy(y []float64, alpha float64, x []float64) {
	x = x[:len(y)]
	for len(y) >= 4 && len(x) >= 4 {
		y[0] += alpha * x[0]
		y[1] += alpha * x[1]
		y[2] += alpha * x[2]
		y[3] += alpha * x[3]
		x, y = x[4:], y[4:]
	}
	for i, v := range x {
		y[i] += alpha * v
	}
}

// gemmNT computes C[i·ldc+j] += Σ_k A[i·lda+k]·B[j·ldb+k] for i < m, j < n,
// k < kk (both operands row-major with the contraction index contiguous).
// It panics if a slice is too short (the assembly kernels rely on it).
func gemmNT(c []float64, ldc int, a []float64, lda int, b []float64, ldb int, m, n, kk int) {
	if m <= 0 || n <= 0 || kk <= 0 {
		return
	}
	if len(a) < (m-1)*lda+kk || len(b) < (n-1)*ldb+kk || len(c) < (m-1)*ldc+n {
		panic("dqn: gemmNT operand too short")
	}
	gemmNTImpl(c, ldc, a, lda, b, ldb, m, n, kk)
}

// gemmNN computes C[i·ldc+j] += Σ_k A(i,k)·B[k·ldb+j] for i < m, j < n,
// k < kk, where A(i,k) = a[i·ai + k·ak] (so a row-major A is (lda, 1) and a
// transposed one (1, lda)); strides are non-negative. It panics if a slice
// is too short (the assembly kernels rely on it).
func gemmNN(c []float64, ldc int, a []float64, ai, ak int, b []float64, ldb int, m, n, kk int) {
	if m <= 0 || n <= 0 || kk <= 0 {
		return
	}
	if ai < 0 || ak < 0 || len(a) < (m-1)*ai+(kk-1)*ak+1 || len(b) < (kk-1)*ldb+n || len(c) < (m-1)*ldc+n {
		panic("dqn: gemmNN operand too short")
	}
	gemmNNImpl(c, ldc, a, ai, ak, b, ldb, m, n, kk)
}

// gemmNTGo is the portable gemmNT. It computes C[i·ldc+j] += Σ_k A[i·lda+k]·B[j·ldb+k] for i < m, j < n,
// k < kk (both operands row-major with the contraction index contiguous).
// Blocked 4 rows of A × 2 rows of B: 8 accumulators, 6 loads per 8
// multiply-adds.
func gemmNTGo(c []float64, ldc int, a []float64, lda int, b []float64, ldb int, m, n, kk int) {
	if m == 0 || n == 0 || kk == 0 {
		return
	}
	i := 0
	for ; i+4 <= m; i += 4 {
		a0 := a[i*lda : i*lda+kk]
		a1 := a[(i+1)*lda : (i+1)*lda+kk]
		a2 := a[(i+2)*lda : (i+2)*lda+kk]
		a3 := a[(i+3)*lda : (i+3)*lda+kk]
		c0 := c[i*ldc : i*ldc+n]
		c1 := c[(i+1)*ldc : (i+1)*ldc+n]
		c2 := c[(i+2)*ldc : (i+2)*ldc+n]
		c3 := c[(i+3)*ldc : (i+3)*ldc+n]
		j := 0
		for ; j+2 <= n; j += 2 {
			b0 := b[j*ldb : j*ldb+kk]
			b1 := b[(j+1)*ldb : (j+1)*ldb+kk]
			b0 = b0[:len(a0)]
			b1 = b1[:len(a0)]
			a1 = a1[:len(a0)]
			a2 = a2[:len(a0)]
			a3 = a3[:len(a0)]
			var s00, s01, s10, s11, s20, s21, s30, s31 float64
			for k, x0 := range a0 {
				y0, y1 := b0[k], b1[k]
				x1, x2, x3 := a1[k], a2[k], a3[k]
				s00 += x0 * y0
				s01 += x0 * y1
				s10 += x1 * y0
				s11 += x1 * y1
				s20 += x2 * y0
				s21 += x2 * y1
				s30 += x3 * y0
				s31 += x3 * y1
			}
			c0[j] += s00
			c0[j+1] += s01
			c1[j] += s10
			c1[j+1] += s11
			c2[j] += s20
			c2[j+1] += s21
			c3[j] += s30
			c3[j+1] += s31
		}
		if j < n {
			b0 := b[j*ldb : j*ldb+kk]
			c0[j] += dot(a0, b0)
			c1[j] += dot(a1, b0)
			c2[j] += dot(a2, b0)
			c3[j] += dot(a3, b0)
		}
	}
	for ; i < m; i++ {
		ai := a[i*lda : i*lda+kk]
		ci := c[i*ldc : i*ldc+n]
		for j := range ci {
			ci[j] += dot(ai, b[j*ldb:j*ldb+kk])
		}
	}
}

// gemmNNGo is the portable gemmNN. It computes C[i·ldc+j] += Σ_k A(i,k)·B[k·ldb+j] for i < m, j < n,
// k < kk, where A(i,k) = a[i·ai + k·ak] (so a row-major A is (lda, 1) and a
// transposed one (1, lda)). Blocked 2 rows of C × 4 rows of B: per column
// 4 loads of B and 2 load/stores of C for 8 multiply-adds.
func gemmNNGo(c []float64, ldc int, a []float64, ai, ak int, b []float64, ldb int, m, n, kk int) {
	if m == 0 || n == 0 || kk == 0 {
		return
	}
	i := 0
	for ; i+2 <= m; i += 2 {
		c0 := c[i*ldc : i*ldc+n]
		c1 := c[(i+1)*ldc : (i+1)*ldc+n]
		c1 = c1[:len(c0)]
		k := 0
		for ; k+4 <= kk; k += 4 {
			p0, p1 := i*ai+k*ak, (i+1)*ai+k*ak
			x00, x01, x02, x03 := a[p0], a[p0+ak], a[p0+2*ak], a[p0+3*ak]
			x10, x11, x12, x13 := a[p1], a[p1+ak], a[p1+2*ak], a[p1+3*ak]
			b0 := b[k*ldb : k*ldb+n]
			b1 := b[(k+1)*ldb : (k+1)*ldb+n]
			b2 := b[(k+2)*ldb : (k+2)*ldb+n]
			b3 := b[(k+3)*ldb : (k+3)*ldb+n]
			b0 = b0[:len(c0)]
			b1 = b1[:len(c0)]
			b2 = b2[:len(c0)]
			b3 = b3[:len(c0)]
			for j, y0 := range b0 {
				y1, y2, y3 := b1[j], b2[j], b3[j]
				c0[j] += x00*y0 + x01*y1 + x02*y2 + x03*y3
				c1[j] += x10*y0 + x11*y1 + x12*y2 + x13*y3
			}
		}
		for ; k < kk; k++ {
			bk := b[k*ldb : k*ldb+n]
			axpy(c0, a[i*ai+k*ak], bk)
			axpy(c1, a[(i+1)*ai+k*ak], bk)
		}
	}
	if i < m {
		ci := c[i*ldc : i*ldc+n]
		k := 0
		for ; k+4 <= kk; k += 4 {
			p := i*ai + k*ak
			x0, x1, x2, x3 := a[p], a[p+ak], a[p+2*ak], a[p+3*ak]
			b0 := b[k*ldb : k*ldb+n]
			b1 := b[(k+1)*ldb : (k+1)*ldb+n]
			b2 := b[(k+2)*ldb : (k+2)*ldb+n]
			b3 := b[(k+3)*ldb : (k+3)*ldb+n]
			b0 = b0[:len(ci)]
			b1 = b1[:len(ci)]
			b2 = b2[:len(ci)]
			b3 = b3[:len(ci)]
			for j, y0 := range b0 {
				ci[j] += x0*y0 + x1*b1[j] + x2*b2[j] + x3*b3[j]
			}
		}
		for ; k < kk; k++ {
			axpy(ci, a[i*ai+k*ak], b[k*ldb:k*ldb+n])
		}
	}
}

// actRowGo sets dst[j] = act(base + cb[j], slope) (the E2E output of one row).
func actRowGo(dst, cb []float64, base, slope float64) {
	cb = cb[:len(dst)]
	for j, v := range cb {
		dst[j] = act(base+v, slope)
	}
}

// dactRowGo turns the output gradient d of one E2E row into the
// pre-activation gradient (d[j] *= act′ read from out[j]), adds it to db
// and returns its sum.
func dactRowGo(out, d, db []float64, slope float64) float64 {
	d = d[:len(out)]
	db = db[:len(out)]
	s := 0.0
	for j, ov := range out {
		dv := d[j] * dact(ov, slope)
		d[j] = dv
		s += dv
		db[j] += dv
	}
	return s
}
