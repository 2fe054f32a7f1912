package fea

import (
	"math"

	"github.com/golang/geo/r3"
)

// Delta evaluation (SessionOptions.MaxDelta): WithCandidate on a printed
// set P that has no factorisation of its own, against the factorisation
// of a cached earlier state B ⊆ P (a prefix of the print order) with
// Δ = P \ B plus the candidate: the planner's look-ahead tree visits many
// printed sets that differ from the decision's root by a few struts, and
// factorising each costs far more than the few K_B⁻¹ columns this needs.
//
// Let T be the nodes of B's system the struts of Δ∪{e} touch (free DOFs
// only, 6 per node, x_T their displacements) and N the nodes that are new
// (y). With A the struts' assembled stiffness, δf_T / g_N their consistent
// loads (plus point loads at new nodes), u₀ = K_B⁻¹ f_B and Z = K_B⁻¹ P_T
// (the cached node columns), G = P_Tᵀ Z:
//
//	(K_B + P A_TT Pᵀ) x + P A_TN y = f_B + P δf_T
//	A_NT Pᵀ x + A_NN y = g_N
//
// eliminates to the bordered system of dimension 6(|T|+|N|)
//
//	(I + G A_TT) x_T + G A_TN y = Pᵀu₀ + G δf_T
//	A_NT x_T + A_NN y = g_N
//
// (dense LU with partial pivoting) and x = u₀ + Z (δf_T − A_TT x_T − A_TN y).
// d_max is the largest translation of x and y. This is exact algebra;
// rounding differs from a fresh factorisation at the 1e-12 level (tested
// against Refactor). Anything outside the rigid-frame case (pin-ended
// members, partially restrained new nodes, dropped rotations, parts not
// connected to B or the supports, a near-singular bordered system) falls
// back to factorising P as before, so errors are the same.

// defaults of the delta path
const (
	defaultMaxDelta     = 8
	defaultDeltaColumns = 64
)

// prefixHash returns the Zobrist hash of s.list[:k].
func (s *Session) prefixHash(k int) uint64 {
	if len(s.prefix) == 0 {
		s.prefix = append(s.prefix, 0) // hash of the empty set
	}
	s.prefix = s.prefix[:max(1, min(s.prefixN, len(s.prefix)))]
	for n := len(s.prefix); n <= k; n++ {
		s.prefix = append(s.prefix, s.prefix[n-1]^zobrist(s.list[n-1]))
	}
	s.prefixN = len(s.prefix)
	return s.prefix[k]
}

// cachedState returns the valid, stable cached state with hash h, or nil.
func (s *Session) cachedState(h uint64) *state {
	for _, st := range s.states {
		if st.valid && st.hash == h {
			return st
		}
	}
	return nil
}

// deltaBase returns a factorised stable state for a prefix list[:k] with
// len(list)−k ≤ MaxDelta, factorising list[:len−MaxDelta/2] when none is
// cached; nil when the delta path does not apply.
func (s *Session) deltaBase() (*state, int) {
	n := len(s.list)
	if s.opt.MaxDelta <= 0 || s.inWindow != nil || n == 0 {
		return nil, 0
	}
	if s.cachedState(s.hash) != nil {
		return nil, 0 // the printed set itself is factorised: plain Woodbury
	}
	lo := max(0, n-s.opt.MaxDelta)
	for k := n - 1; k >= lo; k-- {
		if st := s.cachedState(s.prefixHash(k)); st != nil {
			if st.err != nil {
				return nil, 0
			}
			s.tick++
			st.lastUse = s.tick
			return st, k
		}
	}
	// factorise an earlier prefix that the next printed sets share
	k := max(0, n-max(1, s.opt.MaxDelta/2))
	h := s.prefixHash(k)
	saveHash := s.hash
	for _, e := range s.list[k:] {
		s.printed[e] = false
	}
	full := s.list
	s.list, s.hash, s.cur = full[:k], h, nil
	st := s.ensureState()
	s.list, s.hash, s.cur = full, saveHash, nil
	for _, e := range full[k:] {
		s.printed[e] = true
	}
	if st.err != nil {
		return nil, 0
	}
	return st, k
}

// deltaScratch holds the delta path's buffers (reused; no allocation
// when warm).
type deltaScratch struct {
	elems   []int32
	touched []int32 // node ids given a slot (reset after use)
	tNode   []int32 // positions in the base system
	nNode   []int32 // new node ids
	slot    []int32 // node id → local block (−1), reset after use
	zs      [][]float64
	idx     [][12]int32
	gt      []float64
	df      []float64
	M       []float64
	b       []float64
	rv      []float64
	piv     []int
	uf      []int32
	zn      [][]float64 // translation-row norms of the T columns
	rn      []float64   // |r_j| per T node
}

// deltaCandidate evaluates d_max (m) of the printed set + e through the
// bordered update of a cached prefix state; ok is false when the delta
// path does not apply (the caller then factorises).
func (s *Session) deltaCandidate(e int) (float64, bool) {
	base, k := s.deltaBase()
	if base == nil {
		return 0, false
	}
	f := s.f
	sys := base.sys
	ds := &s.ds
	if len(ds.slot) < f.NumNodes() {
		ds.slot = make([]int32, f.NumNodes())
		for i := range ds.slot {
			ds.slot[i] = -1
		}
	}
	ds.elems = append(append(ds.elems[:0], s.list[k:]...), int32(e))
	ds.tNode, ds.nNode = ds.tNode[:0], ds.nNode[:0]
	ds.touched = ds.touched[:0]
	defer func() {
		for _, v := range ds.touched {
			ds.slot[v] = -1
		}
	}()
	// classify the ends; T blocks first (slot < |T|), N after
	for _, el := range ds.elems {
		ed := &f.el[el]
		if ed.pinned {
			return 0, false
		}
		for _, v := range [2]int32{ed.a, ed.b} {
			if ds.slot[v] != -1 {
				continue // seen (−2: new, numbered below)
			}
			if p := sys.pos[v]; p >= 0 {
				for c := 3; c < 6; c++ {
					if sys.dropped[int(p)*6+c] {
						return 0, false
					}
				}
				ds.slot[v] = int32(len(ds.tNode))
				ds.tNode = append(ds.tNode, p)
				ds.touched = append(ds.touched, v)
				continue
			}
			fx := sys.nodeRestr(v)
			if fx == FullyFixed {
				continue
			}
			if fx.Any() || sys.inTouch[v] {
				return 0, false
			}
			ds.nNode = append(ds.nNode, v)
			ds.slot[v] = -2 // new; numbered below
			ds.touched = append(ds.touched, v)
		}
	}
	nt, nn := len(ds.tNode), len(ds.nNode)
	capSlots := max(s.opt.NodeColumns, s.opt.DeltaColumns)
	if nt > capSlots-1 {
		return 0, false
	}
	for i, v := range ds.nNode {
		ds.slot[v] = int32(nt + i)
	}
	// every new node must reach B's system or a support through Δ∪{e}
	if nn > 0 {
		ds.uf = grow(ds.uf, nt+nn+1)
		for i := range ds.uf {
			ds.uf[i] = int32(i)
		}
		find := func(x int32) int32 {
			for ds.uf[x] != x {
				ds.uf[x] = ds.uf[ds.uf[x]]
				x = ds.uf[x]
			}
			return x
		}
		anchor := int32(nt + nn)
		blk := func(v int32) int32 {
			if sl := ds.slot[v]; sl >= 0 {
				if int(sl) < nt {
					return anchor
				}
				return sl
			}
			return anchor // fully fixed
		}
		for _, el := range ds.elems {
			ed := &f.el[el]
			a, b := find(blk(ed.a)), find(blk(ed.b))
			if a != b {
				ds.uf[a] = b
			}
		}
		for i := 0; i < nn; i++ {
			if find(int32(nt+i)) != find(anchor) {
				return 0, false
			}
		}
	}
	dim := 6 * (nt + nn)
	tDim := 6 * nt
	// node columns of T (fetched together so none is evicted meanwhile)
	ds.zs = ds.zs[:0]
	for _, p := range ds.tNode {
		ds.zs = append(ds.zs, base.zcols(p, capSlots))
	}
	// local DOF of every element DOF (−1: fully fixed end or restrained)
	ds.idx = grow(ds.idx, len(ds.elems))
	for n, el := range ds.elems {
		ed := &f.el[el]
		for j, v := range [2]int32{ed.a, ed.b} {
			sl := ds.slot[v]
			for c := 0; c < 6; c++ {
				ix := int32(-1)
				if sl >= 0 && !(int(sl) < nt && sys.restr[int(ds.tNode[sl])*6+c]) {
					ix = sl*6 + int32(c)
				}
				ds.idx[n][j*6+c] = ix
			}
		}
	}
	// GT = Gᵀ (tDim×tDim): GT[j][i] = K_B⁻¹ entry (T DOF i, T DOF j); zero
	// rows and columns at restrained DOFs
	ds.gt = growF(ds.gt, tDim*tDim)
	gt := ds.gt
	for j := 0; j < tDim; j++ {
		z := ds.zs[j/6]
		for i := 0; i < tDim; i++ {
			gt[j*tDim+i] = z[int(ds.tNode[i/6])*36+(i%6)*6+j%6]
		}
	}
	// loads δf_T, g_N
	ds.df = growF(ds.df, dim)
	df := ds.df
	clear(df)
	for n, el := range ds.elems {
		w := s.loads.w[el]
		if w == (r3.Vector{}) {
			continue
		}
		var fe [12]float64
		f.el[el].equivalentLoad(w, &fe)
		for r, ir := range ds.idx[n] {
			if ir >= 0 {
				df[ir] += fe[r]
			}
		}
	}
	if s.point != nil {
		for i, v := range ds.nNode {
			for c := 0; c < 6; c++ {
				df[(nt+i)*6+c] += s.point[v][c]
			}
		}
	}
	// bordered system M (dim×dim), rhs b:
	//   T rows: [I + G A_TT | G A_TN], u₀_T + G δf_T
	//   N rows: [A_NT | A_NN],          g_N
	ds.M = growF(ds.M, dim*dim)
	M := ds.M[:dim*dim]
	clear(M)
	for i := 0; i < tDim; i++ {
		M[i*dim+i] = 1
	}
	for n, el := range ds.elems {
		k := &f.el[el].k
		id := &ds.idx[n]
		for r, ir := range id {
			if ir < 0 {
				continue
			}
			kr := k[r*12 : r*12+12]
			if int(ir) >= tDim {
				row := M[int(ir)*dim:]
				for c, ic := range id {
					if ic >= 0 {
						row[ic] += kr[c]
					}
				}
				continue
			}
			g := gt[int(ir)*tDim : int(ir)*tDim+tDim] // G[:, ir]
			for c, ic := range id {
				if ic < 0 || kr[c] == 0 {
					continue
				}
				kv := kr[c]
				for i, gi := range g {
					M[i*dim+int(ic)] += gi * kv
				}
			}
		}
	}
	ds.b = growF(ds.b, dim)
	x := ds.b
	copy(x[tDim:], df[tDim:])
	for i := 0; i < tDim; i++ {
		t := base.u[int(ds.tNode[i/6])*6+i%6]
		for j := 0; j < tDim; j++ {
			t += gt[j*tDim+i] * df[j]
		}
		x[i] = t
	}
	if !luSolve(M, x, dim, &ds.piv) {
		return 0, false
	}
	// r = δf_T − A_TT x_T − A_TN y
	ds.rv = growF(ds.rv, tDim)
	rv := ds.rv
	copy(rv, df[:tDim])
	for n, el := range ds.elems {
		k := &f.el[el].k
		id := &ds.idx[n]
		for r, ir := range id {
			if ir < 0 || int(ir) >= tDim {
				continue
			}
			kr := k[r*12 : r*12+12]
			t := 0.0
			for c, ic := range id {
				if ic >= 0 {
					t += kr[c] * x[ic]
				}
			}
			rv[ir] -= t
		}
	}
	// d_max: the new nodes (y), then B's nodes (u₀ + Z r). A node whose
	// bound |u₀_q| + Σ_j ‖Z_qj‖_F ‖r_j‖ cannot reach the running maximum
	// is skipped (the bound carries a 1e-9 relative margin over rounding,
	// so the maximum is the one of the full sweep).
	best := 0.0
	for i := 0; i < nn; i++ {
		y := x[(nt+i)*6:]
		if t := y[0]*y[0] + y[1]*y[1] + y[2]*y[2]; t > best {
			best = t
		} else if t != t {
			return 0, false // NaN: let the factorisation decide
		}
	}
	ds.zn = ds.zn[:0]
	ds.rn = growF(ds.rn, nt)
	for j, p := range ds.tNode {
		sl := base.zSlot[p]
		ds.zn = append(ds.zn, base.zNorm[sl])
		rj := rv[j*6 : j*6+6]
		ds.rn[j] = math.Sqrt(rj[0]*rj[0] + rj[1]*rj[1] + rj[2]*rj[2] + rj[3]*rj[3] + rj[4]*rj[4] + rj[5]*rj[5])
	}
	rn := ds.rn[:nt]
	nb := sys.nb
	u := base.u
	exact := func(q int) float64 {
		d0, d1, d2 := u[q*6], u[q*6+1], u[q*6+2]
		for j, z := range ds.zs {
			zq := z[q*36 : q*36+18]
			rj := rv[j*6 : j*6+6]
			d0 += zq[0]*rj[0] + zq[1]*rj[1] + zq[2]*rj[2] + zq[3]*rj[3] + zq[4]*rj[4] + zq[5]*rj[5]
			d1 += zq[6]*rj[0] + zq[7]*rj[1] + zq[8]*rj[2] + zq[9]*rj[3] + zq[10]*rj[4] + zq[11]*rj[5]
			d2 += zq[12]*rj[0] + zq[13]*rj[1] + zq[14]*rj[2] + zq[15]*rj[3] + zq[16]*rj[4] + zq[17]*rj[5]
		}
		return d0*d0 + d1*d1 + d2*d2
	}
	// seed with the base's maximum node
	if mp := base.maxNode; mp >= 0 {
		if q := sys.pos[mp]; q >= 0 {
			if t := exact(int(q)); t > best {
				best = t
			} else if t != t {
				return 0, false
			}
		}
	}
	lim := math.Sqrt(best)
	for q := 0; q < nb; q++ {
		b := base.uNorm[q]
		for j, zn := range ds.zn {
			b += zn[q] * rn[j]
		}
		if b*(1+1e-9) < lim && !s.noPrune {
			continue
		}
		if t := exact(q); t > best {
			best = t
			lim = math.Sqrt(best)
		} else if t != t {
			return 0, false
		}
	}
	if math.IsInf(best, 0) {
		return 0, false
	}
	s.deltaHits++
	return math.Sqrt(best), true
}

// luSolve solves the dense n×n system M x = b in place (b ← x) by LU with
// partial pivoting; false if a pivot is negligible against its column
// (then the caller factorises the structure and reports the mechanism).
func luSolve(M, b []float64, n int, pivBuf *[]int) bool {
	*pivBuf = grow(*pivBuf, n)
	piv := *pivBuf
	scale := 0.0
	for _, v := range M[:n*n] {
		scale = math.Max(scale, math.Abs(v))
	}
	if !(scale > 0) || math.IsInf(scale, 0) {
		return false
	}
	for k := 0; k < n; k++ {
		p, best := k, math.Abs(M[k*n+k])
		for i := k + 1; i < n; i++ {
			if a := math.Abs(M[i*n+k]); a > best {
				p, best = i, a
			}
		}
		if !(best > 1e-13*scale) {
			return false
		}
		piv[k] = p
		if p != k {
			rk, rp := M[k*n:k*n+n], M[p*n:p*n+n]
			for c := range rk {
				rk[c], rp[c] = rp[c], rk[c]
			}
			b[k], b[p] = b[p], b[k]
		}
		inv := 1 / M[k*n+k]
		rk := M[k*n+k+1 : k*n+n]
		for i := k + 1; i < n; i++ {
			m := M[i*n+k]
			if m == 0 {
				continue
			}
			m *= inv
			M[i*n+k] = m
			ri := M[i*n+k+1 : i*n+n]
			for c, v := range rk {
				ri[c] -= m * v
			}
			b[i] -= m * b[k]
		}
	}
	for k := n - 1; k >= 0; k-- {
		t := b[k]
		for c := k + 1; c < n; c++ {
			t -= M[k*n+c] * b[c]
		}
		b[k] = t / M[k*n+k]
	}
	return true
}
