package dqn

import "math"

// Forward and backward passes over the active part of the state.
//
// Activations are stored compactly: a tensor with P channels over the
// Ra = Active+ExtraRows active rows and the Active active columns is laid
// out t[p·Ra·A + ii·A + j]. Compact row ii maps to padded row rowOf(ii):
// ii for ii < Active (node rows), N + (ii−Active) for the feature rows.
// Padded positions are identically zero after every layer (package doc), so
// leaving them out gives exactly the masked full-tensor result.

// fwdWS holds the forward activations of the last Forward call.
type fwdWS struct {
	x0     []float64 // compact input, Channels·Ra·A
	h1, h2 []float64 // E2E outputs after activation, E2E[i]·Ra·A
	ra, cb []float64 // E2E row sums (P·Ra) and column sums (P·A) scratch
	cw     []float64 // column-filter weights gathered to compact rows, P·Ra
	e      []float64 // E2N output after activation, E2N·Ra
	z      []float64 // FC1 output after activation, Hidden
	q      []float64 // Q-values (first Active entries valid), N
}

// bwdWS holds gradients with respect to activations (same layouts).
type bwdWS struct {
	dh1, dh2 []float64
	gc       []float64 // column-filter gradient in compact rows, P·Ra
	// acat (2P·Ra) and bcat (2P·A) hold the operands of the fused input
	// gradient dx = [da | cw]ᵀ·[r; db] (one GEMM with K = 2P instead of two
	// with K = P: half the read-modify-write traffic on dx).
	acat, bcat []float64
	de, dz     []float64
}

type workspace struct {
	f fwdWS
	b *bwdWS
}

func newWorkspace(c Config) *workspace { return &workspace{f: newFwdWS(c)} }

func newFwdWS(c Config) fwdWS {
	R, N := c.rows(), c.N
	p := max(c.E2E[0], c.E2E[1], c.E2N)
	return fwdWS{
		x0: make([]float64, c.Channels*R*N),
		h1: make([]float64, c.E2E[0]*R*N),
		h2: make([]float64, c.E2E[1]*R*N),
		ra: make([]float64, p*R),
		cb: make([]float64, p*N),
		cw: make([]float64, p*R),
		e:  make([]float64, c.E2N*R),
		z:  make([]float64, c.Hidden),
		q:  make([]float64, N),
	}
}

func newBwdWS(c Config) *bwdWS {
	R, N := c.rows(), c.N
	p := max(c.E2E[0], c.E2E[1], c.E2N)
	return &bwdWS{
		dh1:  make([]float64, c.E2E[0]*R*N),
		dh2:  make([]float64, c.E2E[1]*R*N),
		gc:   make([]float64, p*R),
		acat: make([]float64, 2*p*R),
		bcat: make([]float64, 2*p*N),
		de:   make([]float64, c.E2N*R),
		dz:   make([]float64, c.Hidden),
	}
}

// rowOf maps compact row ii to the padded row index.
func rowOf(ii, active, n int) int {
	if ii < active {
		return ii
	}
	return n + ii - active
}

// forward runs the network on in (already checked) and leaves every
// activation in n.ws.f; Q-values in n.ws.f.q[:Active].
func (n *Net) forward(in Input) {
	n.ensureWS()
	c := n.cfg
	f := &n.ws.f
	A, N, R := in.Active, c.N, c.rows()
	Ra := A + c.ExtraRows

	// Input mask: copy the active rows/columns into the compact layout.
	for m := 0; m < c.Channels; m++ {
		src := in.X[m*R*N : (m+1)*R*N]
		dst := f.x0[m*Ra*A : (m+1)*Ra*A]
		for ii := 0; ii < Ra; ii++ {
			r := rowOf(ii, A, N)
			copy(dst[ii*A:ii*A+A], src[r*N:r*N+A])
		}
	}
	n.e2eForward(n.lay.e1, f.x0, f.h1, A, Ra)
	n.e2eForward(n.lay.e2, f.h1, f.h2, A, Ra)
	n.e2nForward(A, Ra)
	n.fcForward(A, Ra)
}

// e2eForward evaluates one edge-to-edge layer (Eq. 14, Kawahara 2017):
// out[p][i][j] = act( Σ_m Σ_k r[m,p,k]·x[m][i][k] + Σ_m Σ_k c[m,p,k]·x[m][k][j] + b[p] ),
// the row filter running over the columns of row i, the column filter over
// the rows (node rows and feature rows) of column j.
func (n *Net) e2eForward(l e2eParams, x, out []float64, A, Ra int) {
	N, R := n.cfg.N, n.cfg.rows()
	P := l.out
	ra := n.ws.f.ra[:P*Ra]
	cb := n.ws.f.cb[:P*A]
	cw := n.ws.f.cw[:P*Ra]
	clear(ra)
	clear(cb)
	for m := 0; m < l.in; m++ {
		xm := x[m*Ra*A : (m+1)*Ra*A]
		// ra[p][ii] += Σ_k r[m,p,k]·x[m][ii][k]
		gemmNT(ra, Ra, n.params[l.r+m*P*N:], N, xm, A, P, Ra, A)
		// cb[p][j] += Σ_ii c[m,p,row(ii)]·x[m][ii][j]
		n.gatherRows(cw, l.c+m*P*R, P, A, Ra)
		gemmNN(cb, A, cw, Ra, 1, xm, A, P, A, Ra)
	}
	slope := n.cfg.LeakySlope
	for p := 0; p < P; p++ {
		b := n.params[l.b+p]
		o := out[p*Ra*A : (p+1)*Ra*A]
		cbp := cb[p*A : p*A+A]
		for ii := 0; ii < Ra; ii++ {
			actRow(o[ii*A:ii*A+A], cbp, ra[p*Ra+ii]+b, slope)
		}
	}
}

// e2nForward evaluates the edge-to-node layer (Eq. 15): the (1, N)
// convolution e[p][i] = act( Σ_m Σ_k w[m,p,k]·h2[m][i][k] + b[p] ) for every
// active row i (node rows and feature rows), plus with E2NColumn the column
// term Σ_m Σ_k u[m,p,k]·h2[m][k][i] for the node rows i < Active.
func (n *Net) e2nForward(A, Ra int) {
	f := &n.ws.f
	N := n.cfg.N
	P := n.lay.nOut
	e := f.e[:P*Ra]
	for p := 0; p < P; p++ {
		b := n.params[n.lay.nB+p]
		for ii := 0; ii < Ra; ii++ {
			e[p*Ra+ii] = b
		}
	}
	for m := 0; m < n.lay.nIn; m++ {
		gemmNT(e, Ra, n.params[n.lay.nW+m*P*N:], N, f.h2[m*Ra*A:(m+1)*Ra*A], A, P, Ra, A)
	}
	if n.lay.nU >= 0 {
		// Column term for the node rows: ce[p][j] = Σ_m Σ_ii u[m,p,row(ii)]·h2[m][ii][j].
		R := n.cfg.rows()
		ce := f.cb[:P*A]
		cw := f.cw[:P*Ra]
		clear(ce)
		for m := 0; m < n.lay.nIn; m++ {
			n.gatherRows(cw, n.lay.nU+m*P*R, P, A, Ra)
			gemmNN(ce, A, cw, Ra, 1, f.h2[m*Ra*A:(m+1)*Ra*A], A, P, A, Ra)
		}
		for p := 0; p < P; p++ {
			axpy(e[p*Ra:p*Ra+A], 1, ce[p*A:p*A+A])
		}
	}
	leaky(e, n.cfg.LeakySlope)
}

// fcForward evaluates the two fully connected layers on the flattened E2N
// output (index p·(N+ExtraRows) + row): z = act(W1·e + b1), q = W2·z + b2
// (q only for the active nodes).
func (n *Net) fcForward(A, Ra int) {
	f := &n.ws.f
	c := n.cfg
	N, R, E, H := c.N, c.rows(), c.ExtraRows, c.Hidden
	P := c.E2N
	K := P * R
	e := f.e[:P*Ra]
	z := f.z[:H]
	for h := range z {
		w := n.params[n.lay.f1W+h*K : n.lay.f1W+(h+1)*K]
		s := n.params[n.lay.f1B+h]
		for p := 0; p < P; p++ {
			s += dot(w[p*R:p*R+A], e[p*Ra:p*Ra+A])
			if E > 0 {
				s += dot(w[p*R+N:p*R+R], e[p*Ra+A:p*Ra+Ra])
			}
		}
		z[h] = s
	}
	leaky(z, c.LeakySlope)
	q := f.q[:A]
	for i := range q {
		q[i] = n.params[n.lay.f2B+i] + dot(n.params[n.lay.f2W+i*H:n.lay.f2W+(i+1)*H], z)
	}
}

// backward accumulates into n.grad the gradient of g·Q(s, act) for the
// state whose activations the last forward call left in n.ws.f. If dx is not
// nil the gradient with respect to the compact input is written to it.
func (n *Net) backward(A, act int, g float64, dx []float64) {
	c := n.cfg
	if n.ws.b == nil {
		n.ws.b = newBwdWS(c)
	}
	f, b := &n.ws.f, n.ws.b
	N, R, E, H := c.N, c.rows(), c.ExtraRows, c.Hidden
	Ra := A + E
	P := c.E2N
	K := P * R
	slope := c.LeakySlope
	grad := n.grad

	// FC2: only output act carries gradient.
	z := f.z[:H]
	dz := b.dz[:H]
	w2 := n.params[n.lay.f2W+act*H : n.lay.f2W+(act+1)*H]
	axpy(grad[n.lay.f2W+act*H:n.lay.f2W+(act+1)*H], g, z)
	grad[n.lay.f2B+act] += g
	for h, zh := range z {
		dz[h] = g * w2[h] * dact(zh, slope)
	}

	// FC1.
	e := f.e[:P*Ra]
	de := b.de[:P*Ra]
	clear(de)
	// gb1 += dz; gW1[h][seg] += dz[h]·e[seg]; de[seg] = Σ_h dz[h]·W1[h][seg]
	axpy(grad[n.lay.f1B:n.lay.f1B+H], 1, dz)
	for p := 0; p < P; p++ {
		off := n.lay.f1W + p*R
		gemmNN(grad[off:], K, dz, 1, 0, e[p*Ra:], Ra, H, A, 1)
		gemmNN(de[p*Ra:], Ra, dz, 0, 1, n.params[off:], K, 1, A, H)
		if E > 0 {
			gemmNN(grad[off+N:], K, dz, 1, 0, e[p*Ra+A:], Ra, H, E, 1)
			gemmNN(de[p*Ra+A:], Ra, dz, 0, 1, n.params[off+N:], K, 1, E, H)
		}
	}

	// E2N.
	for p := 0; p < P; p++ {
		s := 0.0
		for ii := 0; ii < Ra; ii++ {
			k := p*Ra + ii
			d := de[k] * dact(e[k], slope)
			de[k] = d
			s += d
		}
		grad[n.lay.nB+p] += s
	}
	M := n.lay.nIn
	dh2 := b.dh2[:M*Ra*A]
	clear(dh2)
	if n.lay.nU >= 0 {
		copy(b.acat[:P*Ra], de)
		for p := 0; p < P; p++ {
			copy(b.bcat[(P+p)*A:(P+p+1)*A], de[p*Ra:p*Ra+A])
		}
	}
	for m := 0; m < M; m++ {
		hm := f.h2[m*Ra*A : (m+1)*Ra*A]
		woff := n.lay.nW + m*P*N
		// gw[m][p][k] += Σ_ii de[p][ii]·h2[m][ii][k]
		gemmNN(grad[woff:], N, de, Ra, 1, hm, A, P, A, Ra)
		if n.lay.nU < 0 {
			// dh2[m][ii][k] = Σ_p de[p][ii]·w[m][p][k]
			gemmNN(dh2[m*Ra*A:(m+1)*Ra*A], A, de, 1, Ra, n.params[woff:], N, Ra, A, P)
			continue
		}
		// Column term: gu[m][p][row(ii)] += Σ_j de[p][j]·h2[m][ii][j].
		uoff := n.lay.nU + m*P*R
		gcc := b.gc[:P*Ra]
		clear(gcc)
		gemmNT(gcc, Ra, de, Ra, hm, A, P, Ra, A)
		n.scatterRows(grad, uoff, gcc, P, A, Ra)
		// dh2[m][ii][j] = Σ_p de[p][ii]·w[m][p][j] + Σ_p u[m,p,row(ii)]·de[p][j],
		// fused as [de | u]ᵀ·[w; de] (acat/bcat hold de from before the loop).
		n.gatherRows(b.acat[P*Ra:2*P*Ra], uoff, P, A, Ra)
		for p := 0; p < P; p++ {
			copy(b.bcat[p*A:(p+1)*A], n.params[woff+p*N:woff+p*N+A])
		}
		gemmNN(dh2[m*Ra*A:(m+1)*Ra*A], A, b.acat, 1, Ra, b.bcat, A, Ra, A, 2*P)
	}

	// E2E layers.
	n.e2eBackward(n.lay.e2, f.h1, f.h2, dh2, b.dh1, A, Ra)
	n.e2eBackward(n.lay.e1, f.x0, f.h1, b.dh1, dx, A, Ra)
}

// e2eBackward back-propagates through one E2E layer with input x and output
// out (after activation). dout (gradient w.r.t. out) is overwritten with the
// gradient w.r.t. the pre-activation. If dx is not nil it receives the
// gradient w.r.t. x.
func (n *Net) e2eBackward(l e2eParams, x, out, dout, dx []float64, A, Ra int) {
	N, R := n.cfg.N, n.cfg.rows()
	slope := n.cfg.LeakySlope
	P := l.out
	b := n.ws.b
	// Layout for the fused dx GEMM: acat = [da | cw], bcat = [r | db].
	da := b.acat[:P*Ra]
	cw := b.acat[P*Ra : 2*P*Ra]
	rc := b.bcat[:P*A]
	db := b.bcat[P*A : 2*P*A]
	clear(db)
	grad := n.grad
	for p := 0; p < P; p++ {
		o := out[p*Ra*A : (p+1)*Ra*A]
		d := dout[p*Ra*A : (p+1)*Ra*A]
		dbp := db[p*A : p*A+A]
		tot := 0.0
		for ii := 0; ii < Ra; ii++ {
			s := dactRow(o[ii*A:ii*A+A], d[ii*A:ii*A+A], dbp, slope)
			da[p*Ra+ii] = s
			tot += s
		}
		grad[l.b+p] += tot
	}
	if dx != nil {
		clear(dx[:l.in*Ra*A])
	}
	gcc := b.gc[:P*Ra]
	for m := 0; m < l.in; m++ {
		xm := x[m*Ra*A : (m+1)*Ra*A]
		roff := l.r + m*P*N
		coff := l.c + m*P*R
		// gr[m][p][k] += Σ_ii da[p][ii]·x[m][ii][k]
		gemmNN(grad[roff:], N, da, Ra, 1, xm, A, P, A, Ra)
		// gc[m][p][row(ii)] += Σ_j db[p][j]·x[m][ii][j]
		clear(gcc)
		gemmNT(gcc, Ra, db, A, xm, A, P, Ra, A)
		n.scatterRows(grad, coff, gcc, P, A, Ra)
		if dx != nil {
			dxm := dx[m*Ra*A : (m+1)*Ra*A]
			// dx[m][ii][k] += Σ_p da[p][ii]·r[m,p,k] + Σ_p c[m,p,row(ii)]·db[p][k]
			n.gatherRows(cw, coff, P, A, Ra)
			for p := 0; p < P; p++ {
				copy(rc[p*A:(p+1)*A], n.params[roff+p*N:roff+p*N+A])
			}
			gemmNN(dxm, A, b.acat, 1, Ra, b.bcat, A, Ra, A, 2*P)
		}
	}
}

// scatterRows adds src (P·Ra, compact rows) to the P vectors of length
// N+ExtraRows at dst[off:] (indexed by padded row); inverse of gatherRows.
func (n *Net) scatterRows(dst []float64, off int, src []float64, P, A, Ra int) {
	N, R := n.cfg.N, n.cfg.rows()
	for p := 0; p < P; p++ {
		d := dst[off+p*R : off+(p+1)*R]
		axpy(d[:A], 1, src[p*Ra:p*Ra+A])
		axpy(d[N:R], 1, src[p*Ra+A:p*Ra+Ra])
	}
}

// gatherRows copies the P vectors of length N+ExtraRows at params[off:]
// (column-filter weights indexed by padded row) to dst in compact-row order
// (P·Ra).
func (n *Net) gatherRows(dst []float64, off, P, A, Ra int) {
	N, R := n.cfg.N, n.cfg.rows()
	for p := 0; p < P; p++ {
		src := n.params[off+p*R : off+(p+1)*R]
		copy(dst[p*Ra:p*Ra+A], src[:A])
		copy(dst[p*Ra+A:p*Ra+Ra], src[N:R])
	}
}

// act is the leaky-ReLU activation max(u, slope·u) for 0 ≤ slope < 1
// (branch-free: pre-activations have random signs, so a branch would be
// mispredicted half of the time).
func act(u, slope float64) float64 { return max(u, slope*u) }

// dact is the derivative of act expressed through its output y = act(u):
// 1 if y > 0, else slope (the PyTorch convention at u = 0). Branch-free:
// "y ≤ 0" is read from the IEEE bits (sign bit set, or +0).
func dact(y, slope float64) float64 {
	b := math.Float64bits(y)
	nonpos := uint64(int64(b-1)>>63 | int64(b)>>63) // all ones iff y ≤ 0
	return math.Float64frombits(oneBits&^nonpos | math.Float64bits(slope)&nonpos)
}

var oneBits = math.Float64bits(1)

// leaky applies act in place.
func leaky(v []float64, slope float64) {
	for i, x := range v {
		v[i] = act(x, slope)
	}
}
