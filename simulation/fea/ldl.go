package fea

import (
	"math"
	"slices"
)

// DefaultPivotTol is the relative pivot threshold of the LDLᵀ
// factorisation: a pivot d_k ≤ PivotTol·K_kk (the DOF's own assembled
// stiffness) means the DOF is (numerically) a linear combination of the
// DOFs eliminated before it — a mechanism. Legitimate but flexible frames
// stay far above it: measured (TestLongChainIsNotAMechanism), a cantilever
// chain of 400 PLA struts of 5 mm (2 m, L/r = 2000) has a smallest
// d_k/K_kk of 1.6e-8, falling as n⁻³; the mechanisms of
// TestUnstableStructures give round-off, |d_k/K_kk| ≤ 2e-14.
const DefaultPivotTol = 1e-11

// system is the stiffness system of a set of active elements of a frame,
// factorised as K = L·D·Lᵀ with 6×6 node blocks. Nodes whose six DOFs are
// all restrained are left out (their displacement is zero); a restrained or
// dropped DOF of a node in the system is an identity row. All buffers are
// owned and reused, so repeated analyses do not allocate once warm.
//
// Positions (0..nb-1) number the free nodes in elimination order.
type system struct {
	f *Frame

	// inputs of the last setup
	elems      []int32 // active element indices
	isActive   []bool  // per element
	extraFixed []bool  // per node, nil = none

	touched []int32 // nodes touched by active elements (incl. fixed)
	inTouch []bool  // per node
	nb      int
	node    []int32 // position → node
	pos     []int32 // node → position, -1 = not free or not touched
	restr   []bool  // nb*6: identity DOF (restrained or dropped)
	dropped []bool  // nb*6: dropped for lack of stiffness
	dOrig   []float64

	// symbolic
	parent []int32
	colPtr []int32
	rowIdx []int32
	// numeric
	lx []float64 // 36 per off-diagonal block, row-major (rows: row block DOFs)
	ld []float64 // 36 per diagonal block: unit lower triangle
	d  []float64 // 6 per block

	pivotTol float64
	factored bool

	// work
	iw1, iw2, iw3, slot []int32
	uf                  []int32 // union-find parent per node
	ufAnch              []bool
	nz                  []bool // solveBlock6: blocks that may be non-zero
}

func newSystem(f *Frame) *system {
	n := len(f.PosM)
	s := &system{f: f, pos: make([]int32, n), inTouch: make([]bool, n), pivotTol: DefaultPivotTol}
	for i := range s.pos {
		s.pos[i] = -1
	}
	return s
}

// nodeRestr returns the restrained DOFs of node v in this analysis.
func (s *system) nodeRestr(v int32) Fixity {
	fx := s.f.Supports[v]
	if s.extraFixed != nil && s.extraFixed[v] {
		fx = FullyFixed
	}
	return fx
}

// setup numbers the free nodes of the active elements, checks that every
// connected part is anchored, finds dropped DOFs and runs the symbolic
// factorisation. rank gives the elimination order of nodes (lower first).
func (s *system) setup(elems []int32, isActive []bool, extraFixed []bool, rank []int32) error {
	s.number(elems, isActive, extraFixed, rank)
	if err := s.checkAnchored(); err != nil {
		return err
	}
	if err := s.classify(); err != nil {
		return err
	}
	s.symbolic()
	return nil
}

// number collects the nodes touched by the active elements and numbers
// those with a free DOF in rank order.
func (s *system) number(elems []int32, isActive []bool, extraFixed []bool, rank []int32) {
	f := s.f
	s.factored = false
	s.elems, s.isActive, s.extraFixed = elems, isActive, extraFixed
	for _, v := range s.touched {
		s.pos[v] = -1
		s.inTouch[v] = false
	}
	s.touched = s.touched[:0]
	for _, e := range elems {
		ed := &f.el[e]
		for _, v := range [2]int32{ed.a, ed.b} {
			if !s.inTouch[v] {
				s.inTouch[v] = true
				s.touched = append(s.touched, v)
			}
		}
	}
	s.node = s.node[:0]
	for _, v := range s.touched {
		if s.nodeRestr(v) != FullyFixed {
			s.node = append(s.node, v)
		}
	}
	slices.SortFunc(s.node, func(a, b int32) int { return int(rank[a]) - int(rank[b]) })
	s.nb = len(s.node)
	for p, v := range s.node {
		s.pos[v] = int32(p)
	}
}

// classify marks restrained DOFs, sums the diagonal stiffness per DOF and
// drops rotations that no element stiffens. A translation without
// stiffness is a mechanism.
func (s *system) classify() error {
	f := s.f
	nb := s.nb
	s.restr = grow(s.restr, nb*6)
	s.dropped = grow(s.dropped, nb*6)
	s.dOrig = growF(s.dOrig, nb*6)
	clear(s.dOrig)
	for p, v := range s.node {
		fx := s.nodeRestr(v)
		for c := 0; c < 6; c++ {
			s.restr[p*6+c] = fx[c]
			s.dropped[p*6+c] = false
		}
		for q := f.adjStart[v]; q < f.adjStart[v+1]; q++ {
			e := f.adjElem[q]
			if !s.isActive[e] {
				continue
			}
			ed := &f.el[e]
			off := 0
			if ed.b == v {
				off = 6
			}
			for c := 0; c < 6; c++ {
				s.dOrig[p*6+c] += ed.k[(off+c)*13]
			}
		}
		for c := 0; c < 6; c++ {
			if !s.restr[p*6+c] && s.dOrig[p*6+c] == 0 {
				if c < 3 {
					// a translation nothing resists: the node moves freely
					return &MechanismError{Node: int(v), DOF: c, Nodes: []int{int(v)}}
				}
				s.restr[p*6+c] = true
				s.dropped[p*6+c] = true
			}
		}
	}
	return nil
}

// checkAnchored reports the first connected part of the active structure
// that has no restrained DOF (a floating strut or component).
func (s *system) checkAnchored() error {
	f := s.f
	n := len(f.PosM)
	if len(s.uf) < n {
		s.uf = make([]int32, n)
		s.ufAnch = make([]bool, n)
	}
	find := func(x int32) int32 {
		for s.uf[x] != x {
			s.uf[x] = s.uf[s.uf[x]]
			x = s.uf[x]
		}
		return x
	}
	for _, v := range s.touched {
		s.uf[v] = v
		s.ufAnch[v] = false
	}
	for _, e := range s.elems {
		ra, rb := find(f.el[e].a), find(f.el[e].b)
		if ra != rb {
			s.uf[ra] = rb
		}
	}
	for _, v := range s.touched {
		if s.nodeRestr(v).Any() {
			s.ufAnch[find(v)] = true
		}
	}
	for _, v := range s.touched {
		if r := find(v); !s.ufAnch[r] {
			var nodes []int
			for _, w := range s.touched {
				if find(w) == r {
					nodes = append(nodes, int(w))
				}
			}
			slices.Sort(nodes)
			return &FloatingError{Nodes: nodes}
		}
	}
	return nil
}

// lowerNeighbors calls fn with the position of every free neighbour of the
// node at position i (through active elements) whose position is < i.
func (s *system) forNeighbors(i int, fn func(k int32)) {
	f := s.f
	v := s.node[i]
	for q := f.adjStart[v]; q < f.adjStart[v+1]; q++ {
		if !s.isActive[f.adjElem[q]] {
			continue
		}
		if k := s.pos[f.adjOther[q]]; k >= 0 {
			fn(k)
		}
	}
}

// symbolic computes the elimination tree (Liu 1986) and the block column
// structures of L by row subtrees; rows of each column come out sorted.
func (s *system) symbolic() {
	nb := s.nb
	s.parent = grow(s.parent, nb)
	anc := grow(s.iw1, nb)
	s.iw1 = anc
	for i := 0; i < nb; i++ {
		s.parent[i] = -1
		anc[i] = -1
		s.forNeighbors(i, func(k int32) {
			if int(k) >= i {
				return
			}
			for r := k; r != -1 && int(r) != i; {
				next := anc[r]
				anc[r] = int32(i)
				if next == -1 {
					s.parent[r] = int32(i)
				}
				r = next
			}
		})
	}
	count := grow(s.iw2, nb+1)
	s.iw2 = count
	mark := grow(s.iw3, nb)
	s.iw3 = mark
	clear(count)
	for i := 0; i < nb; i++ {
		mark[i] = int32(i)
		s.forNeighbors(i, func(k int32) {
			if int(k) >= i {
				return
			}
			for r := k; mark[r] != int32(i); r = s.parent[r] {
				count[r]++
				mark[r] = int32(i)
			}
		})
	}
	s.colPtr = grow(s.colPtr, nb+1)
	s.colPtr[0] = 0
	for j := 0; j < nb; j++ {
		s.colPtr[j+1] = s.colPtr[j] + count[j]
	}
	nnz := int(s.colPtr[nb])
	s.rowIdx = grow(s.rowIdx, nnz)
	fill := count[:nb]
	clear(fill)
	for i := 0; i < nb; i++ {
		mark[i] = int32(i)
		s.forNeighbors(i, func(k int32) {
			if int(k) >= i {
				return
			}
			for r := k; mark[r] != int32(i); r = s.parent[r] {
				s.rowIdx[s.colPtr[r]+fill[r]] = int32(i)
				fill[r]++
				mark[r] = int32(i)
			}
		})
	}
}

// nnzBlocks returns the number of off-diagonal 6×6 blocks of L.
func (s *system) nnzBlocks() int { return int(s.colPtr[s.nb]) }

// flops estimates the multiply-adds of the numeric factorisation.
func (s *system) flops() float64 {
	t := 0.0
	for j := 0; j < s.nb; j++ {
		c := float64(s.colPtr[j+1] - s.colPtr[j])
		t += 216 * (c*(c+1)/2 + c + 1)
	}
	return t
}

// factor assembles and factorises K. On a mechanism it returns a
// *MechanismError.
func (s *system) factor() error {
	f := s.f
	nb := s.nb
	nnz := s.nnzBlocks()
	s.lx = growF(s.lx, nnz*36)
	s.ld = growF(s.ld, nb*36)
	s.d = growF(s.d, nb*6)
	s.slot = grow(s.slot, nb)
	head := grow(s.iw1, nb)
	s.iw1 = head
	nextCol := grow(s.iw2, nb+1)
	s.iw2 = nextCol
	colCur := grow(s.iw3, nb)
	s.iw3 = colCur
	for i := 0; i < nb; i++ {
		head[i] = -1
	}
	var w [36]float64
	var m [36]float64
	for j := 0; j < nb; j++ {
		c0, c1 := s.colPtr[j], s.colPtr[j+1]
		for q := c0; q < c1; q++ {
			s.slot[s.rowIdx[q]] = q
		}
		blk := s.lx[int(c0)*36 : int(c1)*36]
		clear(blk)
		clear(w[:])
		// assemble column j
		v := s.node[j]
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
			for r := 0; r < 6; r++ {
				row := ed.k[(offV+r)*12+offV:]
				for c := 0; c < 6; c++ {
					w[r*6+c] += row[c]
				}
			}
			if i := s.pos[f.adjOther[q]]; int(i) > j {
				dst := s.lx[int(s.slot[i])*36:]
				for r := 0; r < 6; r++ {
					row := ed.k[(offW+r)*12+offV:]
					for c := 0; c < 6; c++ {
						dst[r*6+c] += row[c]
					}
				}
			}
		}
		// restraints: identity rows/columns
		rj := s.restr[j*6 : j*6+6]
		for c := 0; c < 6; c++ {
			if !rj[c] {
				continue
			}
			for r := 0; r < 6; r++ {
				w[r*6+c] = 0
				w[c*6+r] = 0
			}
			w[c*6+c] = 1
			for q := c0; q < c1; q++ {
				b := s.lx[int(q)*36:]
				for r := 0; r < 6; r++ {
					b[r*6+c] = 0
				}
			}
		}
		for q := c0; q < c1; q++ {
			ri := s.restr[int(s.rowIdx[q])*6:]
			b := s.lx[int(q)*36:]
			for r := 0; r < 6; r++ {
				if ri[r] {
					clear(b[r*6 : r*6+6])
				}
			}
		}
		// left-looking updates from columns k with L_jk ≠ 0
		for k := head[j]; k != -1; {
			kNext := nextCol[k]
			p := colCur[k]
			ljk := s.lx[int(p)*36 : int(p)*36+36]
			dk := s.d[int(k)*6 : int(k)*6+6]
			// m = D_k · L_jkᵀ (6×6, m[c][r] = d_c L_jk[r][c])
			for c := 0; c < 6; c++ {
				for r := 0; r < 6; r++ {
					m[c*6+r] = dk[c] * ljk[r*6+c]
				}
			}
			// diagonal: W_jj -= L_jk m (lower triangle suffices; do full)
			mulSub6(w[:], ljk, m[:])
			for q := p + 1; q < s.colPtr[k+1]; q++ {
				i := s.rowIdx[q]
				mulSub6(s.lx[int(s.slot[i])*36:int(s.slot[i])*36+36], s.lx[int(q)*36:int(q)*36+36], m[:])
			}
			colCur[k] = p + 1
			if p+1 < s.colPtr[k+1] {
				r := s.rowIdx[p+1]
				nextCol[k] = head[r]
				head[r] = k
			}
			k = kNext
		}
		// factor the diagonal block: W = L_jj D_j L_jjᵀ
		lj := s.ld[j*36 : j*36+36]
		dj := s.d[j*6 : j*6+6]
		clear(lj)
		for c := 0; c < 6; c++ {
			t := w[c*6+c]
			for q := 0; q < c; q++ {
				t -= lj[c*6+q] * lj[c*6+q] * dj[q]
			}
			ref := s.dOrig[j*6+c]
			if s.restr[j*6+c] {
				ref = 1
			}
			if !(t > s.pivotTol*ref) {
				s.d[j*6+c] = t
				return s.mechanism(j, c, t/ref)
			}
			dj[c] = t
			for r := c + 1; r < 6; r++ {
				u := w[r*6+c]
				for q := 0; q < c; q++ {
					u -= lj[r*6+q] * lj[c*6+q] * dj[q]
				}
				lj[r*6+c] = u / t
			}
		}
		// off-diagonal blocks: L_ij = W_ij L_jj⁻ᵀ D_j⁻¹
		for q := c0; q < c1; q++ {
			b := s.lx[int(q)*36 : int(q)*36+36]
			for r := 0; r < 6; r++ {
				row := b[r*6 : r*6+6]
				for c := 0; c < 6; c++ {
					u := row[c]
					for t := 0; t < c; t++ {
						u -= lj[c*6+t] * row[t]
					}
					row[c] = u
				}
				for c := 0; c < 6; c++ {
					row[c] /= dj[c]
				}
			}
		}
		if c0 < c1 {
			colCur[j] = c0
			r := s.rowIdx[c0]
			nextCol[j] = head[r]
			head[r] = int32(j)
		}
	}
	s.factored = true
	return nil
}

// mulSub6 computes dst -= a·m for 6×6 row-major blocks.
func mulSub6(dst, a, m []float64) {
	_ = dst[35]
	_ = a[35]
	_ = m[35]
	for r := 0; r < 6; r++ {
		a0, a1, a2, a3, a4, a5 := a[r*6], a[r*6+1], a[r*6+2], a[r*6+3], a[r*6+4], a[r*6+5]
		d := dst[r*6 : r*6+6 : r*6+6]
		d[0] -= a0*m[0] + a1*m[6] + a2*m[12] + a3*m[18] + a4*m[24] + a5*m[30]
		d[1] -= a0*m[1] + a1*m[7] + a2*m[13] + a3*m[19] + a4*m[25] + a5*m[31]
		d[2] -= a0*m[2] + a1*m[8] + a2*m[14] + a3*m[20] + a4*m[26] + a5*m[32]
		d[3] -= a0*m[3] + a1*m[9] + a2*m[15] + a3*m[21] + a4*m[27] + a5*m[33]
		d[4] -= a0*m[4] + a1*m[10] + a2*m[16] + a3*m[22] + a4*m[28] + a5*m[34]
		d[5] -= a0*m[5] + a1*m[11] + a2*m[17] + a3*m[23] + a4*m[29] + a5*m[35]
	}
}

// solve overwrites x (6 per position) with K⁻¹x. Restrained DOFs of x must
// hold zero (prescribed displacement) on entry.
func (s *system) solve(x []float64) {
	nb := s.nb
	for j := 0; j < nb; j++ {
		xj := x[j*6 : j*6+6 : j*6+6]
		lj := s.ld[j*36 : j*36+36]
		for c := 1; c < 6; c++ {
			u := xj[c]
			for t := 0; t < c; t++ {
				u -= lj[c*6+t] * xj[t]
			}
			xj[c] = u
		}
		x0, x1, x2, x3, x4, x5 := xj[0], xj[1], xj[2], xj[3], xj[4], xj[5]
		for q := s.colPtr[j]; q < s.colPtr[j+1]; q++ {
			b := s.lx[int(q)*36 : int(q)*36+36]
			xi := x[int(s.rowIdx[q])*6 : int(s.rowIdx[q])*6+6]
			for r := 0; r < 6; r++ {
				xi[r] -= b[r*6]*x0 + b[r*6+1]*x1 + b[r*6+2]*x2 + b[r*6+3]*x3 + b[r*6+4]*x4 + b[r*6+5]*x5
			}
		}
	}
	for i := range x[:nb*6] {
		x[i] /= s.d[i]
	}
	for j := nb - 1; j >= 0; j-- {
		xj := x[j*6 : j*6+6 : j*6+6]
		var acc [6]float64
		for q := s.colPtr[j]; q < s.colPtr[j+1]; q++ {
			b := s.lx[int(q)*36 : int(q)*36+36]
			xi := x[int(s.rowIdx[q])*6 : int(s.rowIdx[q])*6+6]
			x0, x1, x2, x3, x4, x5 := xi[0], xi[1], xi[2], xi[3], xi[4], xi[5]
			for c := 0; c < 6; c++ {
				acc[c] += b[c]*x0 + b[6+c]*x1 + b[12+c]*x2 + b[18+c]*x3 + b[24+c]*x4 + b[30+c]*x5
			}
		}
		for c := 0; c < 6; c++ {
			xj[c] -= acc[c]
		}
		lj := s.ld[j*36 : j*36+36]
		for c := 4; c >= 0; c-- {
			u := xj[c]
			for t := c + 1; t < 6; t++ {
				u -= lj[t*6+c] * xj[t]
			}
			xj[c] = u
		}
	}
}

// mechanism builds the error for a failed pivot at position j, DOF c: the
// null vector z of the partial factor (Lᵀz = e_k restricted to the
// factorised part) is the mechanism mode; its significant entries name the
// nodes that move.
func (s *system) mechanism(j, c int, rel float64) error {
	z := make([]float64, (j+1)*6)
	z[j*6+c] = 1
	lj := s.ld[j*36 : j*36+36]
	for r := c - 1; r >= 0; r-- {
		u := 0.0
		for t := r + 1; t <= c; t++ {
			u -= lj[t*6+r] * z[j*6+t]
		}
		z[j*6+r] = u
	}
	for k := j - 1; k >= 0; k-- {
		var acc [6]float64
		for q := s.colPtr[k]; q < s.colPtr[k+1]; q++ {
			i := int(s.rowIdx[q])
			if i > j {
				break
			}
			b := s.lx[int(q)*36 : int(q)*36+36]
			for cc := 0; cc < 6; cc++ {
				for r := 0; r < 6; r++ {
					acc[cc] += b[r*6+cc] * z[i*6+r]
				}
			}
		}
		zk := z[k*6 : k*6+6]
		for cc := 0; cc < 6; cc++ {
			zk[cc] = -acc[cc]
		}
		lk := s.ld[k*36 : k*36+36]
		for cc := 4; cc >= 0; cc-- {
			u := zk[cc]
			for t := cc + 1; t < 6; t++ {
				u -= lk[t*6+cc] * zk[t]
			}
			zk[cc] = u
		}
	}
	// Scale each DOF by sqrt(K_ii) so translations and rotations compare
	// as strain-energy-like quantities.
	mx := 0.0
	for i := range z {
		if s.restr[i] {
			z[i] = 0
			continue
		}
		z[i] = math.Abs(z[i]) * math.Sqrt(math.Abs(s.dOrig[i]))
		mx = math.Max(mx, z[i])
	}
	var nodes []int
	for p := 0; p <= j; p++ {
		for cc := 0; cc < 6; cc++ {
			if z[p*6+cc] > 1e-6*mx {
				nodes = append(nodes, int(s.node[p]))
				break
			}
		}
	}
	slices.Sort(nodes)
	return &MechanismError{Node: int(s.node[j]), DOF: c, RelPivot: rel, Nodes: nodes}
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n, n+n/4)
	}
	return b[:n]
}

func growF(b []float64, n int) []float64 { return grow(b, n) }

// solveBlock6 overwrites X with K⁻¹X for six right-hand sides stored as
// one 6×6 block per position (X[p*36 + r*6 + c] = row r of node p,
// right-hand side c). It is the building block of the node columns of K⁻¹
// used by the incremental queries.
func (s *system) solveBlock6(X []float64) {
	nb := s.nb
	// forward substitution touches only positions reachable from the
	// non-zero blocks of X (for one node's columns: its elimination-tree
	// path); zero blocks are skipped, which changes no value
	s.nz = grow(s.nz, nb)
	for j := 0; j < nb; j++ {
		s.nz[j] = !allZero36(X[j*36 : j*36+36])
	}
	for j := 0; j < nb; j++ {
		if !s.nz[j] {
			continue
		}
		xj := X[j*36 : j*36+36]
		lj := s.ld[j*36 : j*36+36]
		for r := 1; r < 6; r++ {
			for t := 0; t < r; t++ {
				l := lj[r*6+t]
				if l == 0 {
					continue
				}
				for c := 0; c < 6; c++ {
					xj[r*6+c] -= l * xj[t*6+c]
				}
			}
		}
		for q := s.colPtr[j]; q < s.colPtr[j+1]; q++ {
			i := int(s.rowIdx[q])
			mulSub6(X[i*36:i*36+36], s.lx[int(q)*36:int(q)*36+36], xj)
			s.nz[i] = true
		}
	}
	for j := 0; j < nb; j++ {
		for r := 0; r < 6; r++ {
			inv := 1 / s.d[j*6+r]
			row := X[j*36+r*6 : j*36+r*6+6]
			for c := range row {
				row[c] *= inv
			}
		}
	}
	for j := nb - 1; j >= 0; j-- {
		xj := X[j*36 : j*36+36]
		for q := s.colPtr[j]; q < s.colPtr[j+1]; q++ {
			i := int(s.rowIdx[q])
			mulSubT6(xj, s.lx[int(q)*36:int(q)*36+36], X[i*36:i*36+36])
		}
		lj := s.ld[j*36 : j*36+36]
		for r := 4; r >= 0; r-- {
			for t := r + 1; t < 6; t++ {
				l := lj[t*6+r]
				if l == 0 {
					continue
				}
				for c := 0; c < 6; c++ {
					xj[r*6+c] -= l * xj[t*6+c]
				}
			}
		}
	}
}

func allZero36(x []float64) bool {
	for _, v := range x[:36] {
		if v != 0 {
			return false
		}
	}
	return true
}

// mulSubT6 computes dst -= aᵀ·m for 6×6 row-major blocks.
func mulSubT6(dst, a, m []float64) {
	_ = dst[35]
	_ = a[35]
	_ = m[35]
	for r := 0; r < 6; r++ {
		a0, a1, a2, a3, a4, a5 := a[r], a[6+r], a[12+r], a[18+r], a[24+r], a[30+r]
		d := dst[r*6 : r*6+6 : r*6+6]
		d[0] -= a0*m[0] + a1*m[6] + a2*m[12] + a3*m[18] + a4*m[24] + a5*m[30]
		d[1] -= a0*m[1] + a1*m[7] + a2*m[13] + a3*m[19] + a4*m[25] + a5*m[31]
		d[2] -= a0*m[2] + a1*m[8] + a2*m[14] + a3*m[20] + a4*m[26] + a5*m[32]
		d[3] -= a0*m[3] + a1*m[9] + a2*m[15] + a3*m[21] + a4*m[27] + a5*m[33]
		d[4] -= a0*m[4] + a1*m[10] + a2*m[16] + a3*m[22] + a4*m[28] + a5*m[34]
		d[5] -= a0*m[5] + a1*m[11] + a2*m[17] + a3*m[23] + a4*m[29] + a5*m[35]
	}
}
