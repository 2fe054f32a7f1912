package lsg

import (
	"math"
	"slices"

	"github.com/golang/geo/r3"
)

// Flattening for the pattern encoding (spec §5.2).
//
// Faces. The graph carries no faces, so the LSG's faces are its 3-cycles
// (triangles); in regions whose edges lie on no triangle (quad-dominant
// wire-frames) chordless 4-cycles are used too, split along the shorter
// diagonal. Faces are oriented consistently per edge-connected component
// (neighbouring faces traverse their shared edge in opposite directions)
// and each component is turned to agree with the best-fit plane normal.
//
// LSCM (Lévy et al. 2002). For a face with local planar coordinates
// (x_j, y_j), twice-area d > 0, the conformal energy is
// |Σ_j W_j U_j|² / (2d) with U_j = u_j + i v_j and
// W_j = (y_{j+1} − y_{j+2}) + i (x_{j+2} − x_{j+1}); it is zero exactly for
// orientation-preserving similarities. v_c is pinned at (0,0) and the pin
// node at (−1,0). A weak anchor λ·Σ|U_i − P_i|² (λ = anchorWeight) towards
// the planar projection P (below) makes the problem well posed for nodes on
// no face and for face components other than the one holding both pins
// (components are edge-connected); nodes of that pinned component carry no
// anchor, so it is flattened by pure LSCM.
//
// Planar rule / fallback. P is the projection onto the LSG's best-fit
// (least-squares) plane, followed by the similarity taking the pin node to
// (−1,0) and v_c to (0,0) — the release's "translate v_c to the origin,
// rotate v_{c−1} onto the x-axis" rule, generalised to any plane. It is
// used alone for planar graphs and for LSGs without faces.
//
// Mirror canonicalisation. A rotated copy of a surface is flattened either
// as the same layout or as its mirror image about the pin axis (the face
// orientation of an unoriented wire-frame is not defined), so the final
// layout is reflected (v → −v) when its first non-vanishing moment among
// Σv, Σuv, Σv³ is negative. With it the encoding is invariant under
// translations, rotations, reflections and uniform scaling of the LSG.

// anchorWeight is λ of the weak anchor towards the planar projection.
const anchorWeight = 1e-6

type face [3]int32

type flattener struct {
	faces   []face
	coef    [][6]float64 // per face: a_0, b_0, a_1, b_1, a_2, b_2 (W_j/√d)
	comp    []int32
	queue   []int32
	edgeFac map[uint64][]int32
	triEdge map[uint64]struct{}
	p       [][2]float64 // planar projection P
	// CG buffers, length 2n
	x, r, z, pv, hp, diag, rhs []float64
	fixed                      []bool
	w                          []float64 // anchor weight per node
	usedComp                   []int32
}

func pairKey(a, b int32) uint64 {
	if a > b {
		a, b = b, a
	}
	return uint64(uint32(a))<<32 | uint64(uint32(b))
}

func hasNeighbour(adj []int32, v int32) bool {
	_, ok := slices.BinarySearch(adj, v)
	return ok
}

// flatten writes uv for every node (BFS-local indices, centre c, pin node
// pin or -1) and returns the method used and the number of LSCM faces.
func (f *flattener) flatten(pos []r3.Vector, adjStart, adj []int32, c, pin int, method Encoding, uv [][2]float64) (Encoding, int) {
	n := len(pos)
	if n == 1 || pin < 0 {
		for i := range uv {
			uv[i] = [2]float64{}
		}
		if method == EncodeLSCM {
			method = EncodePlanar
		}
		return method, 0
	}
	normal, e1, e2, centroid := bestFitPlane(pos)
	f.project(pos, c, pin, e1, e2, centroid)
	nf := 0
	if method == EncodeLSCM {
		f.findFaces(pos, adjStart, adj)
		f.orient(pos, normal)
		nf = f.lscm(pos, c, pin, uv)
		if nf == 0 {
			method = EncodePlanar
		}
	}
	if method != EncodeLSCM {
		copy(uv, f.p)
	}
	canonicalMirror(uv)
	return method, nf
}

// bestFitPlane returns the least-squares plane of pts: unit normal (smallest
// principal axis), in-plane axes e1 (largest), e2 = normal × e1, centroid.
func bestFitPlane(pts []r3.Vector) (normal, e1, e2, centroid r3.Vector) {
	for _, p := range pts {
		centroid = centroid.Add(p)
	}
	centroid = centroid.Mul(1 / float64(len(pts)))
	var a [3][3]float64
	for _, p := range pts {
		d := p.Sub(centroid)
		v := [3]float64{d.X, d.Y, d.Z}
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				a[i][j] += v[i] * v[j]
			}
		}
	}
	vals, vecs := jacobiEigen3(a)
	// sort ascending
	idx := [3]int{0, 1, 2}
	for i := 0; i < 3; i++ {
		for j := i + 1; j < 3; j++ {
			if vals[idx[j]] < vals[idx[i]] {
				idx[i], idx[j] = idx[j], idx[i]
			}
		}
	}
	col := func(k int) r3.Vector { return r3.Vector{X: vecs[0][k], Y: vecs[1][k], Z: vecs[2][k]} }
	normal = col(idx[0]).Normalize()
	e1 = col(idx[2]).Normalize()
	e2 = normal.Cross(e1).Normalize()
	return
}

// jacobiEigen3 diagonalises a symmetric 3×3 matrix: a = V diag(vals) Vᵀ,
// eigenvectors in the columns of V.
func jacobiEigen3(a [3][3]float64) (vals [3]float64, v [3][3]float64) {
	for i := 0; i < 3; i++ {
		v[i][i] = 1
	}
	for sweep := 0; sweep < 50; sweep++ {
		off := a[0][1]*a[0][1] + a[0][2]*a[0][2] + a[1][2]*a[1][2]
		scale := a[0][0]*a[0][0] + a[1][1]*a[1][1] + a[2][2]*a[2][2]
		if off <= 1e-30*scale || off == 0 {
			break
		}
		for p := 0; p < 2; p++ {
			for q := p + 1; q < 3; q++ {
				if a[p][q] == 0 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := 1 / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				if theta < 0 {
					t = -t
				}
				cs := 1 / math.Sqrt(t*t+1)
				sn := t * cs
				for k := 0; k < 3; k++ { // A ← A·J
					akp, akq := a[k][p], a[k][q]
					a[k][p] = cs*akp - sn*akq
					a[k][q] = sn*akp + cs*akq
				}
				for k := 0; k < 3; k++ { // A ← Jᵀ·A
					apk, aqk := a[p][k], a[q][k]
					a[p][k] = cs*apk - sn*aqk
					a[q][k] = sn*apk + cs*aqk
				}
				for k := 0; k < 3; k++ {
					vkp, vkq := v[k][p], v[k][q]
					v[k][p] = cs*vkp - sn*vkq
					v[k][q] = sn*vkp + cs*vkq
				}
			}
		}
	}
	return [3]float64{a[0][0], a[1][1], a[2][2]}, v
}

// project fills f.p with the planar projection taken to the pin frame:
// z ↦ (z − z_c)/(z_c − z_pin), so z_c → 0 and z_pin → −1. If the pin edge
// projects to (almost) a point (it is parallel to the plane normal), the
// layout is only translated and scaled to unit RMS radius.
func (f *flattener) project(pos []r3.Vector, c, pin int, e1, e2, centroid r3.Vector) {
	n := len(pos)
	if cap(f.p) < n {
		f.p = make([][2]float64, n)
	}
	f.p = f.p[:n]
	for i, p := range pos {
		d := p.Sub(centroid)
		f.p[i] = [2]float64{d.Dot(e1), d.Dot(e2)}
	}
	zc := complex(f.p[c][0], f.p[c][1])
	zp := complex(f.p[pin][0], f.p[pin][1])
	den := zc - zp
	rms := 0.0
	for i := range f.p {
		dz := complex(f.p[i][0], f.p[i][1]) - zc
		rms += real(dz)*real(dz) + imag(dz)*imag(dz)
	}
	rms = math.Sqrt(rms / float64(n))
	degenerate := !(math.Hypot(real(den), imag(den)) > 1e-9*rms)
	if degenerate {
		if rms == 0 {
			rms = 1
		}
		den = complex(rms, 0)
	}
	for i := range f.p {
		z := (complex(f.p[i][0], f.p[i][1]) - zc) / den
		f.p[i] = [2]float64{real(z), imag(z)}
	}
	f.p[c] = [2]float64{0, 0}
	if !degenerate {
		f.p[pin] = [2]float64{-1, 0} // exact, not up to rounding
	}
}

// maxFacesPerNode bounds the face count (dense graphs have O(n³) triangles).
const maxFacesPerNode = 16

// findFaces collects triangles, and chordless 4-cycles on edges that lie on
// no triangle, in a deterministic order.
func (f *flattener) findFaces(pos []r3.Vector, adjStart, adj []int32) {
	n := len(pos)
	limit := maxFacesPerNode * n
	f.faces = f.faces[:0]
	if f.triEdge == nil {
		f.triEdge = map[uint64]struct{}{}
	}
	clear(f.triEdge)
	nb := func(v int32) []int32 { return adj[adjStart[v]:adjStart[v+1]] }
	for i := int32(0); int(i) < n; i++ {
		for _, j := range nb(i) {
			if j <= i {
				continue
			}
			for _, k := range nb(j) {
				if k <= j || !hasNeighbour(nb(i), k) {
					continue
				}
				if len(f.faces) >= limit {
					return
				}
				f.faces = append(f.faces, face{i, j, k})
				f.triEdge[pairKey(i, j)] = struct{}{}
				f.triEdge[pairKey(j, k)] = struct{}{}
				f.triEdge[pairKey(i, k)] = struct{}{}
			}
		}
	}
	free := func(a, b int32) bool { _, in := f.triEdge[pairKey(a, b)]; return !in }
	for a := int32(0); int(a) < n; a++ {
		na := nb(a)
		for x, b := range na {
			if b <= a || !free(a, b) {
				continue
			}
			for _, d := range na[x+1:] {
				if d <= a || !free(a, d) || hasNeighbour(nb(b), d) {
					continue
				}
				for _, c := range nb(b) {
					if c <= a || c == d || !hasNeighbour(nb(d), c) || hasNeighbour(na, c) || !free(b, c) || !free(c, d) {
						continue
					}
					if len(f.faces)+2 > limit {
						return
					}
					if pos[a].Sub(pos[c]).Norm2() <= pos[b].Sub(pos[d]).Norm2() {
						f.faces = append(f.faces, face{a, b, c}, face{a, c, d})
					} else {
						f.faces = append(f.faces, face{a, b, d}, face{b, c, d})
					}
				}
			}
		}
	}
}

func faceNormal(pos []r3.Vector, t face) r3.Vector {
	return pos[t[1]].Sub(pos[t[0]]).Cross(pos[t[2]].Sub(pos[t[0]]))
}

// orient makes neighbouring faces traverse shared edges in opposite
// directions (breadth-first per edge-connected component, first face kept)
// and flips each component whose summed area vector points against normal.
func (f *flattener) orient(pos []r3.Vector, normal r3.Vector) {
	nf := len(f.faces)
	if f.edgeFac == nil {
		f.edgeFac = map[uint64][]int32{}
	}
	for k, v := range f.edgeFac {
		f.edgeFac[k] = v[:0]
	}
	for i, t := range f.faces {
		for e := 0; e < 3; e++ {
			k := pairKey(t[e], t[(e+1)%3])
			f.edgeFac[k] = append(f.edgeFac[k], int32(i))
		}
	}
	f.comp = slices.Grow(f.comp[:0], nf)[:nf]
	for i := range f.comp {
		f.comp[i] = -1
	}
	// directed reports whether t traverses a→b.
	directed := func(t face, a, b int32) bool {
		for e := 0; e < 3; e++ {
			if t[e] == a && t[(e+1)%3] == b {
				return true
			}
		}
		return false
	}
	ncomp := int32(0)
	for s := range f.faces {
		if f.comp[s] >= 0 {
			continue
		}
		f.comp[s] = ncomp
		f.queue = append(f.queue[:0], int32(s))
		area := r3.Vector{}
		for h := 0; h < len(f.queue); h++ {
			fi := f.queue[h]
			t := f.faces[fi]
			area = area.Add(faceNormal(pos, t))
			for e := 0; e < 3; e++ {
				a, b := t[e], t[(e+1)%3]
				for _, g := range f.edgeFac[pairKey(a, b)] {
					if f.comp[g] >= 0 {
						continue
					}
					f.comp[g] = ncomp
					if directed(f.faces[g], a, b) {
						f.faces[g][1], f.faces[g][2] = f.faces[g][2], f.faces[g][1]
					}
					f.queue = append(f.queue, g)
				}
			}
		}
		if area.Dot(normal) < 0 {
			for _, fi := range f.queue {
				f.faces[fi][1], f.faces[fi][2] = f.faces[fi][2], f.faces[fi][1]
			}
		}
		ncomp++
	}
}

// lscm solves the pinned LSCM with the weak anchor by Jacobi-preconditioned
// conjugate gradients on the normal equations and writes uv. It returns the
// number of non-degenerate faces used (0 = nothing to solve; uv untouched).
func (f *flattener) lscm(pos []r3.Vector, c, pin int, uv [][2]float64) int {
	n := len(pos)
	f.coef = f.coef[:0]
	f.usedComp = f.usedComp[:0]
	used := f.faces[:0:0]
	for fi, t := range f.faces {
		pa, pb, pc := pos[t[0]], pos[t[1]], pos[t[2]]
		ab := pb.Sub(pa)
		lab := ab.Norm()
		nrm := ab.Cross(pc.Sub(pa))
		d := nrm.Norm() // twice the area
		scale := math.Max(lab*lab, pc.Sub(pa).Norm2())
		if lab == 0 || !(d > 1e-10*scale) {
			continue
		}
		ex := ab.Mul(1 / lab)
		ey := nrm.Mul(1 / d).Cross(ex)
		xb := lab
		xc, yc := pc.Sub(pa).Dot(ex), pc.Sub(pa).Dot(ey)
		s := 1 / math.Sqrt(xb*yc)
		// W_0 = (y1−y2) + i(x2−x1), W_1 = (y2−y0) + i(x0−x2), W_2 = (y0−y1) + i(x1−x0)
		f.coef = append(f.coef, [6]float64{-yc * s, (xc - xb) * s, yc * s, -xc * s, 0, xb * s})
		used = append(used, t)
		f.usedComp = append(f.usedComp, f.comp[fi])
	}
	if len(used) == 0 {
		return 0
	}
	// The pinned component: a face component touching both pins.
	touches := func(t face, v int) bool { return t[0] == int32(v) || t[1] == int32(v) || t[2] == int32(v) }
	pinComps := f.queue[:0]
	for k, t := range used {
		if touches(t, pin) && !slices.Contains(pinComps, f.usedComp[k]) {
			pinComps = append(pinComps, f.usedComp[k])
		}
	}
	pinned := int32(-1)
	for k, t := range used {
		if touches(t, c) && slices.Contains(pinComps, f.usedComp[k]) {
			pinned = f.usedComp[k]
			break
		}
	}
	f.queue = pinComps[:0]
	f.w = slices.Grow(f.w[:0], n)[:n]
	for i := range f.w {
		f.w[i] = anchorWeight
	}
	for k, t := range used {
		if f.usedComp[k] == pinned {
			f.w[t[0]], f.w[t[1]], f.w[t[2]] = 0, 0, 0
		}
	}
	dim := 2 * n
	grow := func(b []float64) []float64 { return slices.Grow(b[:0], dim)[:dim] }
	f.x, f.r, f.z, f.pv, f.hp, f.diag, f.rhs = grow(f.x), grow(f.r), grow(f.z), grow(f.pv), grow(f.hp), grow(f.diag), grow(f.rhs)
	f.fixed = slices.Grow(f.fixed[:0], n)[:n]
	clear(f.fixed)
	f.fixed[c], f.fixed[pin] = true, true

	// Full vector x holds all 2n unknowns; pinned entries hold the pins and
	// are excluded from the CG iteration by masking.
	for i := 0; i < n; i++ {
		f.x[2*i], f.x[2*i+1] = f.p[i][0], f.p[i][1]
	}
	f.x[2*c], f.x[2*c+1] = 0, 0
	f.x[2*pin], f.x[2*pin+1] = -1, 0

	// diag of H over free entries
	clear(f.diag)
	for k, t := range used {
		cf := &f.coef[k]
		for j := 0; j < 3; j++ {
			a, b := cf[2*j], cf[2*j+1]
			v := t[j]
			// row1: a u − b v ; row2: b u + a v
			f.diag[2*v] += a*a + b*b
			f.diag[2*v+1] += a*a + b*b
		}
	}
	// rhs = λP − (H x_fixed part): computed as b = λP_free − H·x_pinnedOnly
	clear(f.pv)
	f.pv[2*c], f.pv[2*c+1] = 0, 0
	f.pv[2*pin], f.pv[2*pin+1] = -1, 0
	f.applyH(used, f.pv, f.hp, false)
	for i := 0; i < n; i++ {
		if f.fixed[i] {
			f.rhs[2*i], f.rhs[2*i+1] = 0, 0
			continue
		}
		f.rhs[2*i] = f.w[i]*f.p[i][0] - f.hp[2*i]
		f.rhs[2*i+1] = f.w[i]*f.p[i][1] - f.hp[2*i+1]
	}
	// Unknown vector y = free part (pinned entries 0): solve H_ff y = rhs.
	y := f.pv
	for i := 0; i < n; i++ {
		if f.fixed[i] {
			y[2*i], y[2*i+1] = 0, 0
		} else {
			y[2*i], y[2*i+1] = f.x[2*i], f.x[2*i+1]
		}
	}
	f.cg(used, y)
	for i := 0; i < n; i++ {
		if f.fixed[i] {
			continue
		}
		uv[i] = [2]float64{y[2*i], y[2*i+1]}
	}
	uv[c] = [2]float64{0, 0}
	uv[pin] = [2]float64{-1, 0}
	return len(used)
}

// applyH computes out = Mᵀ M in (+ λ in on free entries when anchor) with
// out's pinned entries zeroed when anchor is true (i.e. the free-free block
// applied to a vector whose pinned entries are zero).
func (f *flattener) applyH(used []face, in, out []float64, anchor bool) {
	clear(out)
	for k, t := range used {
		cf := &f.coef[k]
		var r1, r2 float64
		for j := 0; j < 3; j++ {
			a, b := cf[2*j], cf[2*j+1]
			u, v := in[2*t[j]], in[2*t[j]+1]
			r1 += a*u - b*v
			r2 += b*u + a*v
		}
		for j := 0; j < 3; j++ {
			a, b := cf[2*j], cf[2*j+1]
			out[2*t[j]] += a*r1 + b*r2
			out[2*t[j]+1] += -b*r1 + a*r2
		}
	}
	if anchor {
		for i := range f.fixed {
			if f.fixed[i] {
				out[2*i], out[2*i+1] = 0, 0
				continue
			}
			out[2*i] += f.w[i] * in[2*i]
			out[2*i+1] += f.w[i] * in[2*i+1]
		}
	}
}

// cg solves H_ff y = rhs (pinned entries of y stay 0) from the initial y.
func (f *flattener) cg(used []face, y []float64) {
	dim := len(y)
	f.applyH(used, y, f.hp, true)
	bnorm := 0.0
	for i := 0; i < dim; i++ {
		f.r[i] = f.rhs[i] - f.hp[i]
		bnorm += f.rhs[i] * f.rhs[i]
	}
	pre := func(i int) float64 {
		if f.fixed[i/2] {
			return 0
		}
		return 1 / (f.diag[i] + f.w[i/2])
	}
	rz := 0.0
	for i := 0; i < dim; i++ {
		f.z[i] = f.r[i] * pre(i)
		f.x[i] = f.z[i] // x reused as search direction p
		rz += f.r[i] * f.z[i]
	}
	tol := 1e-24 * math.Max(bnorm, 1e-300)
	maxIter := 4*dim + 100
	for it := 0; it < maxIter; it++ {
		rr := 0.0
		for i := 0; i < dim; i++ {
			rr += f.r[i] * f.r[i]
		}
		if rr <= tol || rz == 0 {
			return
		}
		f.applyH(used, f.x, f.hp, true)
		php := 0.0
		for i := 0; i < dim; i++ {
			php += f.x[i] * f.hp[i]
		}
		if !(php > 0) {
			return
		}
		alpha := rz / php
		for i := 0; i < dim; i++ {
			y[i] += alpha * f.x[i]
			f.r[i] -= alpha * f.hp[i]
		}
		rzNew := 0.0
		for i := 0; i < dim; i++ {
			f.z[i] = f.r[i] * pre(i)
			rzNew += f.r[i] * f.z[i]
		}
		beta := rzNew / rz
		rz = rzNew
		for i := 0; i < dim; i++ {
			f.x[i] = f.z[i] + beta*f.x[i]
		}
	}
}

// canonicalMirror reflects v → −v when the first non-vanishing moment of
// (Σv, Σuv, Σv³) is negative.
func canonicalMirror(uv [][2]float64) {
	var m [3]float64
	scale := 0.0
	for _, p := range uv {
		u, v := p[0], p[1]
		m[0] += v
		m[1] += u * v
		m[2] += v * v * v
		scale += math.Abs(u) + math.Abs(v)
	}
	tol := 1e-9 * (1 + scale)
	for k, x := range m {
		t := tol
		if k > 0 {
			t = tol * (1 + scale) // higher moments scale with size
		}
		if math.Abs(x) <= t {
			continue
		}
		if x < 0 {
			for i := range uv {
				uv[i][1] = -uv[i][1]
			}
		}
		return
	}
}
