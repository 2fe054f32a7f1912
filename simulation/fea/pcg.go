package fea

import (
	"context"
	"fmt"
	"math"
)

// blockCSR is the assembled stiffness of a system in block compressed
// rows (6×6 blocks, full symmetric storage), restrained DOFs as identity
// rows, with the inverse diagonal blocks as block-Jacobi preconditioner.
type blockCSR struct {
	n      int
	rowPtr []int32
	col    []int32
	val    []float64 // 36 per block, row-major
	pinv   []float64 // 36 per block: inverse of the diagonal block
}

// build assembles s's active elements (s must be set up).
func (b *blockCSR) build(s *system) {
	f := s.f
	nb := s.nb
	b.n = nb
	b.rowPtr = grow(b.rowPtr, nb+1)
	b.rowPtr[0] = 0
	// count: diagonal + free neighbours (duplicates merged below by scan)
	for i := 0; i < nb; i++ {
		c := int32(1)
		s.forNeighbors(i, func(int32) { c++ })
		b.rowPtr[i+1] = b.rowPtr[i] + c
	}
	nnz := int(b.rowPtr[nb])
	b.col = grow(b.col, nnz)
	b.val = growF(b.val, nnz*36)
	clear(b.val)
	b.pinv = growF(b.pinv, nb*36)
	for i := 0; i < nb; i++ {
		p := b.rowPtr[i]
		b.col[p] = int32(i)
		end := p + 1
		v := s.node[i]
		for q := f.adjStart[v]; q < f.adjStart[v+1]; q++ {
			e := f.adjElem[q]
			if !s.isActive[e] {
				continue
			}
			ed := &f.el[e]
			offV, offW := 0, 6
			if ed.b == v {
				offV, offW = 6, 0
			}
			addBlock(b.val[int(p)*36:], &ed.k, offV, offV)
			j := s.pos[f.adjOther[q]]
			if j < 0 {
				continue
			}
			slot := int32(-1)
			for t := p + 1; t < end; t++ {
				if b.col[t] == j {
					slot = t
					break
				}
			}
			if slot < 0 {
				slot = end
				b.col[slot] = j
				end++
			}
			addBlock(b.val[int(slot)*36:], &ed.k, offV, offW)
		}
		for t := end; t < b.rowPtr[i+1]; t++ { // merged duplicates: empty blocks
			b.col[t] = int32(i)
			clear(b.val[int(t)*36 : int(t)*36+36])
		}
		// restraints
		ri := s.restr[i*6 : i*6+6]
		for t := p; t < b.rowPtr[i+1]; t++ {
			blk := b.val[int(t)*36 : int(t)*36+36]
			rj := s.restr[int(b.col[t])*6 : int(b.col[t])*6+6]
			for r := 0; r < 6; r++ {
				for c := 0; c < 6; c++ {
					if ri[r] || rj[c] {
						blk[r*6+c] = 0
					}
				}
			}
		}
		for r := 0; r < 6; r++ {
			if ri[r] {
				b.val[int(p)*36+r*7] = 1
			}
		}
		invertSPD6(b.val[int(p)*36:int(p)*36+36], b.pinv[i*36:i*36+36])
	}
}

// addBlock adds the 6×6 block (rows r0.., cols c0..) of a 12×12 matrix.
func addBlock(dst []float64, k *[144]float64, r0, c0 int) {
	for r := 0; r < 6; r++ {
		row := k[(r0+r)*12+c0 : (r0+r)*12+c0+6]
		d := dst[r*6 : r*6+6]
		for c := 0; c < 6; c++ {
			d[c] += row[c]
		}
	}
}

// invertSPD6 writes the inverse of the symmetric 6×6 block a into inv
// (Cholesky; a non-positive pivot is replaced by the identity so the
// preconditioner stays defined — PCG then reports non-convergence).
func invertSPD6(a, inv []float64) {
	for c := 0; c < 6; c++ {
		var b [6]float64
		b[c] = 1
		var m [36]float64
		copy(m[:], a[:36])
		if !solveDense6(&m, &b) {
			clear(inv[:36])
			for i := 0; i < 6; i++ {
				d := a[i*7]
				if d > 0 {
					inv[i*7] = 1 / d
				} else {
					inv[i*7] = 1
				}
			}
			return
		}
		for r := 0; r < 6; r++ {
			inv[r*6+c] = b[r]
		}
	}
}

// mul computes y = K x.
func (b *blockCSR) mul(x, y []float64) {
	for i := 0; i < b.n; i++ {
		var acc [6]float64
		for t := b.rowPtr[i]; t < b.rowPtr[i+1]; t++ {
			blk := b.val[int(t)*36 : int(t)*36+36]
			xj := x[int(b.col[t])*6 : int(b.col[t])*6+6]
			x0, x1, x2, x3, x4, x5 := xj[0], xj[1], xj[2], xj[3], xj[4], xj[5]
			for r := 0; r < 6; r++ {
				acc[r] += blk[r*6]*x0 + blk[r*6+1]*x1 + blk[r*6+2]*x2 + blk[r*6+3]*x3 + blk[r*6+4]*x4 + blk[r*6+5]*x5
			}
		}
		copy(y[i*6:i*6+6], acc[:])
	}
}

// precond computes z = P⁻¹ r (block Jacobi).
func (b *blockCSR) precond(r, z []float64) {
	for i := 0; i < b.n; i++ {
		p := b.pinv[i*36 : i*36+36]
		ri := r[i*6 : i*6+6]
		for a := 0; a < 6; a++ {
			z[i*6+a] = p[a*6]*ri[0] + p[a*6+1]*ri[1] + p[a*6+2]*ri[2] + p[a*6+3]*ri[3] + p[a*6+4]*ri[4] + p[a*6+5]*ri[5]
		}
	}
}

type pcgWork struct{ r, z, p, q []float64 }

// pcg solves K x = rhs starting from the x given (warm start) and returns
// the iteration count. Convergence: ‖r‖₂ ≤ tol·‖rhs‖₂ (default 1e-10).
func (b *blockCSR) pcg(ctx context.Context, rhs, x []float64, tol float64, maxIter int, ws *pcgWork) (int, error) {
	n := b.n * 6
	if tol <= 0 {
		tol = 1e-10
	}
	if maxIter <= 0 {
		maxIter = 10*n + 100
	}
	ws.r = growF(ws.r, n)
	ws.z = growF(ws.z, n)
	ws.p = growF(ws.p, n)
	ws.q = growF(ws.q, n)
	r, z, p, q := ws.r, ws.z, ws.p, ws.q
	b.mul(x, q)
	bn := 0.0
	for i := 0; i < n; i++ {
		r[i] = rhs[i] - q[i]
		bn += rhs[i] * rhs[i]
	}
	bn = math.Sqrt(bn)
	if bn == 0 {
		clear(x[:n])
		return 0, nil
	}
	b.precond(r, z)
	copy(p, z)
	rz := dot(r, z)
	for it := 1; it <= maxIter; it++ {
		if it%64 == 0 {
			if err := ctx.Err(); err != nil {
				return it, err
			}
		}
		if math.Sqrt(dot(r, r)) <= tol*bn {
			return it - 1, nil
		}
		b.mul(p, q)
		pq := dot(p, q)
		if !(pq > 0) {
			return it, fmt.Errorf("fea: pcg: %w (matrix not positive definite: pᵀKp = %g; structure may be a mechanism)", ErrNotConverged, pq)
		}
		alpha := rz / pq
		for i := 0; i < n; i++ {
			x[i] += alpha * p[i]
			r[i] -= alpha * q[i]
		}
		b.precond(r, z)
		rz2 := dot(r, z)
		beta := rz2 / rz
		rz = rz2
		for i := 0; i < n; i++ {
			p[i] = z[i] + beta*p[i]
		}
	}
	res := math.Sqrt(dot(r, r)) / bn
	if res <= tol {
		return maxIter, nil
	}
	return maxIter, fmt.Errorf("fea: pcg: %w after %d iterations (relative residual %.2g)", ErrNotConverged, maxIter, res)
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
