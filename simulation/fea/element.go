package fea

import (
	"fmt"
	"math"

	"github.com/golang/geo/r3"
)

// verticalSin is the sine of the angle to global Z below which a member
// counts as vertical for the default local-axis choice.
const verticalSin = 1e-6

// init fills the element's axes and global stiffness. d = B − A (m).
func (ed *elemData) init(e *Element, d r3.Vector, L float64) error {
	ed.a, ed.b = int32(e.A), int32(e.B)
	ed.lengthM = L
	ed.pinned = e.Pinned
	x := d.Mul(1 / L)
	ed.ex = x
	v := e.OrientXZ
	if v == (r3.Vector{}) {
		v = r3.Vector{Z: 1}
		if x.Cross(v).Norm() < verticalSin {
			v = r3.Vector{X: 1}
		}
	}
	y := v.Cross(x)
	ny := y.Norm()
	if ny < verticalSin*v.Norm() {
		return fmt.Errorf("orientation vector %v is parallel to the member", e.OrientXZ)
	}
	y = y.Mul(1 / ny)
	z := x.Cross(y)
	ed.rot = [9]float64{x.X, x.Y, x.Z, y.X, y.Y, y.Z, z.X, z.Y, z.Z}

	s, m := e.Section, e.Material
	ed.ea = m.EPa * s.AreaM2
	if !e.Pinned {
		ed.gj = m.GPa * s.JM4
		ed.eiy = m.EPa * s.IyM4
		ed.eiz = m.EPa * s.IzM4
	}
	ed.wPerG = m.UnitWeightNPerM3 * s.AreaM2
	kl := ed.localStiffness()
	ed.k = toGlobal(&kl, &ed.rot)
	for _, v := range ed.k {
		if !finite(v) {
			return fmt.Errorf("stiffness overflows (check units)")
		}
	}
	return nil
}

// localStiffness returns the 12×12 element stiffness in local axes
// (row-major). DOF order per end: u, v, w, θx, θy, θz.
func (ed *elemData) localStiffness() [144]float64 {
	var k [144]float64
	L := ed.lengthM
	set := func(i, j int, v float64) { k[i*12+j] = v; k[j*12+i] = v }
	ea := ed.ea / L
	set(0, 0, ea)
	set(6, 6, ea)
	set(0, 6, -ea)
	if ed.pinned {
		return k
	}
	gj := ed.gj / L
	set(3, 3, gj)
	set(9, 9, gj)
	set(3, 9, -gj)
	// bending in the local x–y plane (about z): v, θz
	a, b, c, dd := 12*ed.eiz/(L*L*L), 6*ed.eiz/(L*L), 4*ed.eiz/L, 2*ed.eiz/L
	set(1, 1, a)
	set(7, 7, a)
	set(1, 7, -a)
	set(1, 5, b)
	set(1, 11, b)
	set(5, 7, -b)
	set(7, 11, -b)
	set(5, 5, c)
	set(11, 11, c)
	set(5, 11, dd)
	// bending in the local x–z plane (about y): w, θy (θy = −dw/dx)
	a, b, c, dd = 12*ed.eiy/(L*L*L), 6*ed.eiy/(L*L), 4*ed.eiy/L, 2*ed.eiy/L
	set(2, 2, a)
	set(8, 8, a)
	set(2, 8, -a)
	set(2, 4, -b)
	set(2, 10, -b)
	set(4, 8, b)
	set(8, 10, b)
	set(4, 4, c)
	set(10, 10, c)
	set(4, 10, dd)
	return k
}

// toGlobal returns Tᵀ k T with T = diag(Γ,Γ,Γ,Γ), Γ row-major (rows =
// local axes in global coordinates).
func toGlobal(k *[144]float64, g *[9]float64) [144]float64 {
	var out [144]float64
	for bi := 0; bi < 4; bi++ {
		for bj := 0; bj < 4; bj++ {
			// block K_ij (3×3) → Γᵀ K_ij Γ
			var kb [9]float64
			for r := 0; r < 3; r++ {
				for c := 0; c < 3; c++ {
					kb[r*3+c] = k[(bi*3+r)*12+bj*3+c]
				}
			}
			var t [9]float64 // K_ij Γ
			for r := 0; r < 3; r++ {
				for c := 0; c < 3; c++ {
					t[r*3+c] = kb[r*3]*g[c] + kb[r*3+1]*g[3+c] + kb[r*3+2]*g[6+c]
				}
			}
			for r := 0; r < 3; r++ {
				for c := 0; c < 3; c++ {
					out[(bi*3+r)*12+bj*3+c] = g[r]*t[c] + g[3+r]*t[3+c] + g[6+r]*t[6+c]
				}
			}
		}
	}
	// exact symmetry
	for i := 0; i < 12; i++ {
		for j := i + 1; j < 12; j++ {
			s := 0.5 * (out[i*12+j] + out[j*12+i])
			out[i*12+j], out[j*12+i] = s, s
		}
	}
	return out
}

// equivalentLoad adds to f (global, 12 entries: end A then end B) the
// consistent nodal loads of a uniform load w (N/m, global axes) on the
// element: forces wL/2 at both ends and, for rigid elements, end moments
// ±(L²/12)·(x̂ × w) (the fixed-end moments wL²/12 of each transverse
// component; spec §8.1 "self-weight lumped to the end nodes" with the
// moments added).
func (ed *elemData) equivalentLoad(w r3.Vector, f *[12]float64) {
	L := ed.lengthM
	h := w.Mul(L / 2)
	f[0] += h.X
	f[1] += h.Y
	f[2] += h.Z
	f[6] += h.X
	f[7] += h.Y
	f[8] += h.Z
	if ed.pinned {
		return
	}
	m := ed.ex.Cross(w).Mul(L * L / 12)
	f[3] += m.X
	f[4] += m.Y
	f[5] += m.Z
	f[9] -= m.X
	f[10] -= m.Y
	f[11] -= m.Z
}

// localize returns Γ v for the 3-vectors of a 12-vector.
func (ed *elemData) localize(g *[12]float64) (l [12]float64) {
	r := &ed.rot
	for b := 0; b < 4; b++ {
		x, y, z := g[b*3], g[b*3+1], g[b*3+2]
		l[b*3] = r[0]*x + r[1]*y + r[2]*z
		l[b*3+1] = r[3]*x + r[4]*y + r[5]*z
		l[b*3+2] = r[6]*x + r[7]*y + r[8]*z
	}
	return l
}

// mulK returns k·u for the element's global stiffness.
func (ed *elemData) mulK(u *[12]float64) (out [12]float64) {
	for i := 0; i < 12; i++ {
		row := ed.k[i*12 : i*12+12]
		s := 0.0
		for j, v := range row {
			s += v * u[j]
		}
		out[i] = s
	}
	return out
}

// solveDense6 solves the symmetric positive definite 6×6 system a·x = b in
// place (x returned in b) by Cholesky; false if a is not positive definite.
func solveDense6(a *[36]float64, b *[6]float64) bool {
	var l [36]float64
	for j := 0; j < 6; j++ {
		s := a[j*6+j]
		for k := 0; k < j; k++ {
			s -= l[j*6+k] * l[j*6+k]
		}
		if !(s > 0) {
			return false
		}
		d := math.Sqrt(s)
		l[j*6+j] = d
		for i := j + 1; i < 6; i++ {
			t := a[i*6+j]
			for k := 0; k < j; k++ {
				t -= l[i*6+k] * l[j*6+k]
			}
			l[i*6+j] = t / d
		}
	}
	for i := 0; i < 6; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= l[i*6+k] * b[k]
		}
		b[i] = s / l[i*6+i]
	}
	for i := 5; i >= 0; i-- {
		s := b[i]
		for k := i + 1; k < 6; k++ {
			s -= l[k*6+i] * b[k]
		}
		b[i] = s / l[i*6+i]
	}
	return true
}

// naturalFactor returns B (12×6, row-major, global axes) with
// k_global = B·Bᵀ, from the element's natural deformation modes (McGuire,
// Gallagher & Ziemian ch. 4): elongation (EA/L), twist (GJ/L) and the two
// end rotations relative to the chord in each bending plane
// (EI/L·[[4,2],[2,4]], factorised as √(EI/L)·[[2,0],[1,√3]]). A pinned
// element has only the first column (the others are zero); rank = the
// returned count.
func (ed *elemData) naturalFactor() (b [72]float64, rank int) {
	L := ed.lengthM
	var bl [72]float64 // local 12×6
	set := func(r, c int, v float64) { bl[r*6+c] = v }
	sa := math.Sqrt(ed.ea / L)
	set(0, 0, -sa)
	set(6, 0, sa)
	rank = 1
	if !ed.pinned {
		rank = 6
		st := math.Sqrt(ed.gj / L)
		set(3, 1, -st)
		set(9, 1, st)
		// x–y plane: e3 = θzA − (vB − vA)/L, e4 = θzB − (vB − vA)/L
		sz := math.Sqrt(ed.eiz / L)
		r00, r10, r11 := 2*sz, sz, math.Sqrt(3)*sz
		// columns 2, 3 = Dᵀ R: col2 = r00·∂e3 + r10·∂e4, col3 = r11·∂e4
		set(1, 2, (r00+r10)/L)
		set(7, 2, -(r00+r10)/L)
		set(5, 2, r00)
		set(11, 2, r10)
		set(1, 3, r11/L)
		set(7, 3, -r11/L)
		set(11, 3, r11)
		// x–z plane: e5 = θyA + (wB − wA)/L, e6 = θyB + (wB − wA)/L
		sy := math.Sqrt(ed.eiy / L)
		r00, r10, r11 = 2*sy, sy, math.Sqrt(3)*sy
		set(2, 4, -(r00+r10)/L)
		set(8, 4, (r00+r10)/L)
		set(4, 4, r00)
		set(10, 4, r10)
		set(2, 5, -r11/L)
		set(8, 5, r11/L)
		set(10, 5, r11)
	}
	g := &ed.rot
	for blk := 0; blk < 4; blk++ {
		for c := 0; c < 6; c++ {
			x, y, z := bl[(blk*3)*6+c], bl[(blk*3+1)*6+c], bl[(blk*3+2)*6+c]
			// global = Γᵀ local
			b[(blk*3)*6+c] = g[0]*x + g[3]*y + g[6]*z
			b[(blk*3+1)*6+c] = g[1]*x + g[4]*y + g[7]*z
			b[(blk*3+2)*6+c] = g[2]*x + g[5]*y + g[8]*z
		}
	}
	return b, rank
}

// tipSolve returns k_tt⁻¹·ft: the displacement (global) of end `tip` of
// the element when the other end is clamped and the tip carries ft (force,
// moment). False for pinned elements (a hanging truss member is a
// mechanism).
func (ed *elemData) tipSolve(tipIsB bool, ft [6]float64) ([6]float64, bool) {
	if ed.pinned {
		return [6]float64{}, false
	}
	off := 0
	if tipIsB {
		off = 6
	}
	var kt [36]float64
	for i := 0; i < 6; i++ {
		for j := 0; j < 6; j++ {
			kt[i*6+j] = ed.k[(off+i)*12+off+j]
		}
	}
	if !solveDense6(&kt, &ft) {
		return [6]float64{}, false
	}
	return ft, true
}
