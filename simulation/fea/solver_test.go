package fea

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golang/geo/r3"
	"gonum.org/v1/gonum/mat"
)

var seed = flag.Uint64("seed", 1, "seed for randomised frame tests")

// randomFrame builds a connected random space frame with n nodes: a random
// spanning tree plus extra members, random sections (Iy ≠ Iz), some
// pin-ended members (never at a node that would be left without
// rotational stiffness unless allowPinnedOnly) and random orientation
// vectors; node 0 and a few others clamped, some partially supported.
func randomFrame(r *rand.Rand, n, extra int) *Frame {
	pos := make([]r3.Vector, n)
	for i := range pos {
		pos[i] = r3.Vector{X: r.Float64() * 3, Y: r.Float64() * 3, Z: r.Float64() * 2}
	}
	sup := make([]Fixity, n)
	sup[0] = FullyFixed
	for i := 1; i < n; i++ {
		switch r.IntN(8) {
		case 0:
			sup[i] = FullyFixed
		case 1:
			sup[i] = Fixity{true, true, true} // pinned support
		case 2:
			sup[i] = Fixity{false, false, true, false, false, false} // roller
		}
	}
	type pair struct{ a, b int }
	seen := map[pair]bool{}
	var els []Element
	add := func(a, b int, pinned bool) {
		if a == b || seen[pair{min(a, b), max(a, b)}] {
			return
		}
		seen[pair{min(a, b), max(a, b)}] = true
		d := 0.02 + 0.03*r.Float64()
		sec := Section{AreaM2: d * d, IyM4: d * d * d * d / 12 * (0.5 + r.Float64()), IzM4: d * d * d * d / 12 * (0.5 + r.Float64()), JM4: d * d * d * d / 10}
		var o r3.Vector
		if r.IntN(2) == 0 {
			o = r3.Vector{X: r.NormFloat64(), Y: r.NormFloat64(), Z: r.NormFloat64()}
		}
		els = append(els, Element{A: a, B: b, Section: sec, Material: Material{EPa: 70e9 * (0.5 + r.Float64()), GPa: 26e9, UnitWeightNPerM3: 27e3}, Pinned: pinned, OrientXZ: o})
	}
	for i := 1; i < n; i++ {
		add(r.IntN(i), i, false) // tree members are rigid
	}
	for k := 0; k < extra; k++ {
		add(r.IntN(n), r.IntN(n), r.IntN(4) == 0)
	}
	f, err := NewFrame(pos, sup, els)
	if err != nil {
		panic(err)
	}
	return f
}

func randomLoads(r *rand.Rand, f *Frame) LoadCase {
	lc := LoadCase{Name: "random", Gravity: r3.Vector{X: 0.1, Y: -0.2, Z: -1}}
	for i := 0; i < f.NumNodes()/3; i++ {
		lc.Points = append(lc.Points, PointLoad{Node: r.IntN(f.NumNodes()),
			ForceN:   r3.Vector{X: r.NormFloat64(), Y: r.NormFloat64(), Z: r.NormFloat64()}.Mul(1e3),
			MomentNm: r3.Vector{X: r.NormFloat64(), Y: r.NormFloat64(), Z: r.NormFloat64()}.Mul(1e2)})
	}
	for i := 0; i < f.NumElems()/4; i++ {
		lc.Elems = append(lc.Elems, ElementLoad{Elem: r.IntN(f.NumElems()), WNPerM: r3.Vector{X: r.NormFloat64(), Y: r.NormFloat64(), Z: r.NormFloat64()}.Mul(500)})
	}
	return lc
}

// denseSolve assembles the full stiffness matrix and load vector with
// gonum, eliminates restrained and stiffness-free DOFs, and solves by
// dense Cholesky — an independent check of assembly, ordering, the sparse
// factorisation and the solve.
func denseSolve(t *testing.T, f *Frame, lc LoadCase) []float64 {
	t.Helper()
	n := f.NumNodes() * 6
	K := mat.NewSymDense(n, nil)
	F := make([]float64, n)
	for e := range f.Elems {
		k := f.GlobalStiffness(e)
		dofs := [12]int{}
		for i := 0; i < 6; i++ {
			dofs[i] = f.Elems[e].A*6 + i
			dofs[6+i] = f.Elems[e].B*6 + i
		}
		for i := 0; i < 12; i++ {
			for j := i; j < 12; j++ {
				a, b := dofs[i], dofs[j]
				if a > b {
					a, b = b, a
				}
				if dofs[i] == dofs[j] && i != j {
					continue
				}
				K.SetSym(a, b, K.At(a, b)+k[i*12+j])
			}
		}
		// consistent loads written out here again (not via the package)
		el := f.Elems[e]
		w := lc.Gravity.Mul(el.Material.UnitWeightNPerM3 * el.Section.AreaM2)
		for _, l := range lc.Elems {
			if l.Elem == e {
				w = w.Add(l.WNPerM)
			}
		}
		L := f.LengthM(e)
		x := f.PosM[el.B].Sub(f.PosM[el.A]).Normalize()
		for end, v := range []int{el.A, el.B} {
			F[v*6] += w.X * L / 2
			F[v*6+1] += w.Y * L / 2
			F[v*6+2] += w.Z * L / 2
			if !el.Pinned {
				m := x.Cross(w).Mul(L * L / 12)
				if end == 1 {
					m = m.Mul(-1)
				}
				F[v*6+3] += m.X
				F[v*6+4] += m.Y
				F[v*6+5] += m.Z
			}
		}
	}
	for _, p := range lc.Points {
		for c, v := range [6]float64{p.ForceN.X, p.ForceN.Y, p.ForceN.Z, p.MomentNm.X, p.MomentNm.Y, p.MomentNm.Z} {
			F[p.Node*6+c] += v
		}
	}
	var free []int
	for i := 0; i < n; i++ {
		if !f.Supports[i/6][i%6] && K.At(i, i) != 0 {
			free = append(free, i)
		}
	}
	Kr := mat.NewSymDense(len(free), nil)
	Fr := mat.NewVecDense(len(free), nil)
	for a, i := range free {
		Fr.SetVec(a, F[i])
		for b := a; b < len(free); b++ {
			Kr.SetSym(a, b, K.At(i, free[b]))
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(Kr) {
		t.Fatal("dense Cholesky failed: random frame not stable")
	}
	var x mat.VecDense
	if err := ch.SolveVecTo(&x, Fr); err != nil {
		t.Fatal(err)
	}
	u := make([]float64, n)
	for a, i := range free {
		u[i] = x.AtVec(a)
	}
	return u
}

// TestSparseMatchesDense compares the sparse solvers (three orderings, and
// PCG) with a dense gonum Cholesky solve on random frames.
func TestSparseMatchesDense(t *testing.T) {
	r := rand.New(rand.NewPCG(*seed, 7))
	for trial := 0; trial < 12; trial++ {
		n := 3 + r.IntN(40)
		f := randomFrame(r, n, r.IntN(2*n))
		lc := randomLoads(r, f)
		want := denseSolve(t, f, lc)
		scale := 0.0
		for _, v := range want {
			scale = math.Max(scale, math.Abs(v))
		}
		for _, opt := range []Options{{Ordering: NestedDissection}, {Ordering: RCM}, {Ordering: Natural}, {Method: PCG, Tol: 1e-13}} {
			name := fmt.Sprintf("trial %d (%d nodes, %d elements) %v/%v", trial, n, f.NumElems(), opt.Method, opt.Ordering)
			res, err := f.Solve(context.Background(), lc, opt)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			worst := 0.0
			for v := 0; v < n; v++ {
				for c := 0; c < 6; c++ {
					worst = math.Max(worst, math.Abs(res.Disp[v][c]-want[v*6+c]))
				}
			}
			tol := 1e-9
			if opt.Method == PCG {
				tol = 1e-6
			}
			if worst > tol*scale {
				t.Errorf("%s: max |Δu| = %.3g (scale %.3g)", name, worst, scale)
			}
			checkEquilibrium(t, name, f, nil, lc, res, 1e-7)
		}
	}
}

// checkEquilibrium verifies Σ reactions + Σ applied loads = 0 (forces and
// moments about the origin) and the nodal residual.
func checkEquilibrium(t *testing.T, name string, f *Frame, elems []int, lc LoadCase, res *Result, tol float64) {
	t.Helper()
	F, M := lc.TotalForceN(f, elems)
	scaleF := F.Norm()
	for _, rc := range res.Reactions {
		Fi := r3.Vector{X: rc.F[0], Y: rc.F[1], Z: rc.F[2]}
		F = F.Add(Fi)
		M = M.Add(r3.Vector{X: rc.F[3], Y: rc.F[4], Z: rc.F[5]}).Add(f.PosM[rc.Node].Cross(Fi))
		scaleF = math.Max(scaleF, Fi.Norm())
	}
	lo, hi := bbox(f)
	size := hi.Sub(lo).Norm()
	if F.Norm() > tol*scaleF || M.Norm() > tol*scaleF*size {
		t.Errorf("%s: reactions do not balance the loads: ΣF = %v N, ΣM = %v N·m (load scale %.3g N)", name, F, M, scaleF)
	}
	if res.ResidualN > tol*scaleF*math.Max(1, size) {
		t.Errorf("%s: nodal residual %.3g", name, res.ResidualN)
	}
}

func bbox(f *Frame) (lo, hi r3.Vector) {
	lo, hi = f.PosM[0], f.PosM[0]
	for _, p := range f.PosM {
		lo = r3.Vector{X: math.Min(lo.X, p.X), Y: math.Min(lo.Y, p.Y), Z: math.Min(lo.Z, p.Z)}
		hi = r3.Vector{X: math.Max(hi.X, p.X), Y: math.Max(hi.Y, p.Y), Z: math.Max(hi.Z, p.Z)}
	}
	return
}

// TestElementMatrixProperties checks, on random members, properties any
// correct space-frame element has, independently of how it was built:
// symmetry, zero energy for the six rigid-body motions, rank 6 (rigid) or
// 1 (pinned), and the transformation Tᵀ k T recomputed with gonum.
func TestElementMatrixProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(*seed, 3))
	for trial := 0; trial < 50; trial++ {
		a := r3.Vector{X: r.NormFloat64(), Y: r.NormFloat64(), Z: r.NormFloat64()}
		d := r3.Vector{X: r.NormFloat64(), Y: r.NormFloat64(), Z: r.NormFloat64()}
		if trial%5 == 0 {
			d = r3.Vector{Z: r.Float64() + 0.1} // vertical
		}
		pinned := trial%7 == 3
		sec := Section{AreaM2: 1e-3, IyM4: 2e-7, IzM4: 5e-7, JM4: 3e-7}
		f, err := NewFrame([]r3.Vector{a, a.Add(d)}, nil, []Element{{A: 0, B: 1, Section: sec, Material: steel, Pinned: pinned}})
		if err != nil {
			t.Fatal(err)
		}
		k := f.GlobalStiffness(0)
		K := mat.NewDense(12, 12, k[:])
		// rigid body modes: translations and small rotations about node A
		for m := 0; m < 6; m++ {
			var u [12]float64
			if m < 3 {
				u[m], u[6+m] = 1, 1
			} else {
				w := unitVec(m - 3)
				u[m], u[6+m] = 1, 1
				tr := w.Cross(d) // translation of B = ω × (B − A)
				u[6], u[7], u[8] = tr.X, tr.Y, tr.Z
			}
			var f mat.VecDense
			f.MulVec(K, mat.NewVecDense(12, u[:]))
			if n := mat.Norm(&f, math.Inf(1)); n > 1e-6*mat.Norm(K, math.Inf(1)) {
				t.Fatalf("trial %d: rigid mode %d has force %.3g", trial, m, n)
			}
		}
		var eig mat.EigenSym
		sym := mat.NewSymDense(12, k[:])
		if !eig.Factorize(sym, false) {
			t.Fatal("eigen")
		}
		vals := eig.Values(nil)
		maxv := vals[11]
		rank := 0
		for _, v := range vals {
			if v < -1e-9*maxv {
				t.Fatalf("trial %d: negative eigenvalue %g", trial, v)
			}
			if v > 1e-12*maxv {
				rank++
			}
		}
		want := 6
		if pinned {
			want = 1
		}
		if rank != want {
			t.Errorf("trial %d: rank %d, want %d (eigenvalues %v)", trial, rank, want, vals)
		}
		// the natural-mode factor used by the Woodbury update: B·Bᵀ = k
		Bf, rk := f.el[0].naturalFactor()
		if (pinned && rk != 1) || (!pinned && rk != 6) {
			t.Fatalf("trial %d: natural factor rank %d", trial, rk)
		}
		var bbt mat.Dense
		Bm := mat.NewDense(12, 6, Bf[:])
		bbt.Mul(Bm, Bm.T())
		var dk mat.Dense
		dk.Sub(&bbt, K)
		if n := mat.Norm(&dk, math.Inf(1)); n > 1e-9*mat.Norm(K, math.Inf(1)) {
			t.Errorf("trial %d: B·Bᵀ differs from k by %.3g", trial, n)
		}
		// recompute Tᵀ k_local T with gonum from the local axes
		x, y, z := f.LocalAxes(0)
		if math.Abs(x.Dot(y))+math.Abs(x.Dot(z))+math.Abs(y.Dot(z)) > 1e-12 || math.Abs(x.Cross(y).Sub(z).Norm()) > 1e-12 {
			t.Fatalf("trial %d: local axes not right-handed orthonormal", trial)
		}
		G := mat.NewDense(3, 3, []float64{x.X, x.Y, x.Z, y.X, y.Y, y.Z, z.X, z.Y, z.Z})
		T := mat.NewDense(12, 12, nil)
		for b := 0; b < 4; b++ {
			T.Slice(b*3, b*3+3, b*3, b*3+3).(*mat.Dense).Copy(G)
		}
		kl := f.el[0].localStiffness()
		var tk, kg mat.Dense
		tk.Mul(T.T(), mat.NewDense(12, 12, kl[:]))
		kg.Mul(&tk, T)
		var diff mat.Dense
		diff.Sub(&kg, K)
		if n := mat.Norm(&diff, math.Inf(1)); n > 1e-9*mat.Norm(K, math.Inf(1)) {
			t.Errorf("trial %d: Tᵀ k T differs by %.3g", trial, n)
		}
	}
}

func unitVec(c int) r3.Vector {
	switch c {
	case 0:
		return r3.Vector{X: 1}
	case 1:
		return r3.Vector{Y: 1}
	}
	return r3.Vector{Z: 1}
}

// TestUnstableStructures checks the typed errors for floating parts and
// mechanisms, and that legitimate cantilevers and truss nodes solve.
func TestUnstableStructures(t *testing.T) {
	sec := RoundSection(0.002)
	pla := Material{EPa: 3.5e9, GPa: 2.4e9, UnitWeightNPerM3: 12258}
	el := func(a, b int, pinned bool) Element {
		return Element{A: a, B: b, Section: sec, Material: pla, Pinned: pinned}
	}
	P := func(x, y, z float64) r3.Vector { return r3.Vector{X: x, Y: y, Z: z}.Mul(0.01) }
	pos := []r3.Vector{P(0, 0, 0), P(1, 0, 1), P(2, 0, 1), P(5, 5, 5), P(6, 5, 5), P(1, 1, 0), P(0, 2, 0)}
	sup := []Fixity{FullyFixed, {}, {}, {}, {}, {true, true, true}, {true, true, true}}
	cases := []struct {
		name  string
		elems []Element
		ok    bool
		float bool
		mech  bool
		nodes []int // expected node list of the error (subset check)
	}{
		{"cantilever strut", []Element{el(0, 1, false)}, true, false, false, nil},
		{"cantilever chain", []Element{el(0, 1, false), el(1, 2, false)}, true, false, false, nil},
		{"floating strut", []Element{el(0, 1, false), el(3, 4, false)}, false, true, false, []int{3, 4}},
		{"strut on a pinned support spins", []Element{el(5, 1, false)}, false, false, true, []int{1}},
		{"strut between pinned supports spins about its axis", []Element{el(5, 6, false)}, false, false, true, nil},
		{"hanging truss member", []Element{el(0, 1, false), el(1, 2, true)}, false, false, true, []int{2}},
		{"truss triangle on pins", []Element{el(5, 6, true), el(5, 1, true), el(6, 1, true)}, false, false, true, []int{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := NewFrame(pos, sup, c.elems)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.Solve(context.Background(), SelfWeight(), Options{})
			if c.ok {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !(res.MaxTranslationM > 0) || math.IsInf(res.MaxTranslationM, 0) {
					t.Fatalf("max translation %v", res.MaxTranslationM)
				}
				return
			}
			if err == nil {
				t.Fatalf("solved an unstable structure: max translation %v", res.MaxTranslationM)
			}
			if !errors.Is(err, ErrUnstable) {
				t.Fatalf("error %v does not wrap ErrUnstable", err)
			}
			var fe *FloatingError
			var me *MechanismError
			if c.float && !errors.As(err, &fe) {
				t.Fatalf("want FloatingError, got %v", err)
			}
			if c.mech && !errors.As(err, &me) {
				t.Fatalf("want MechanismError, got %v", err)
			}
			var got []int
			if fe != nil {
				got = fe.Nodes
			}
			if me != nil {
				got = me.Nodes
			}
			for _, w := range c.nodes {
				found := false
				for _, g := range got {
					found = found || g == w
				}
				if !found {
					t.Errorf("error %v does not name node %d", err, w)
				}
			}
			t.Log(err)
		})
	}
}

// TestTrussNodeDroppedRotations: a node held only by pin-ended members
// has no rotational stiffness; its rotations are dropped (solved as zero
// and listed), and a moment load there is refused.
func TestTrussNodeDroppedRotations(t *testing.T) {
	sec := RoundSection(0.01)
	m := Material{EPa: 200e9, GPa: 80e9, UnitWeightNPerM3: 77e3}
	pos := []r3.Vector{{}, {X: 1}, {Y: 1}, {Z: 1}}
	f, err := NewFrame(pos, []Fixity{{}, FullyFixed, FullyFixed, FullyFixed}, []Element{
		{A: 0, B: 1, Section: sec, Material: m, Pinned: true},
		{A: 0, B: 2, Section: sec, Material: m, Pinned: true},
		{A: 0, B: 3, Section: sec, Material: m, Pinned: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Solve(context.Background(), SelfWeight(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Dropped) != 3 || res.Dropped[0] != (DOFRef{0, 3}) {
		t.Errorf("dropped %v", res.Dropped)
	}
	// vertical bar 0–3 carries the node's share of all three weights.
	W := 0.0
	for e := 0; e < 3; e++ {
		W += f.WeightN(e) / 2
	}
	checkRel(t, "uz", -res.Disp[0][2], W*1/(m.EPa*sec.AreaM2), 1e-9)
	_, err = f.Solve(context.Background(), LoadCase{Points: []PointLoad{{Node: 0, MomentNm: r3.Vector{X: 1}}}}, Options{})
	if !errors.Is(err, ErrUnresisted) {
		t.Fatalf("moment on a truss node: got %v, want ErrUnresisted", err)
	}
}

func TestBadInputs(t *testing.T) {
	sec := RoundSection(0.002)
	m := Material{EPa: 3e9, GPa: 1e9, UnitWeightNPerM3: 1e4}
	good := []r3.Vector{{}, {X: 0.01}}
	cases := []struct {
		name string
		pos  []r3.Vector
		sup  []Fixity
		els  []Element
	}{
		{"no nodes", nil, nil, nil},
		{"NaN node", []r3.Vector{{X: math.NaN()}, {}}, nil, nil},
		{"index out of range", good, nil, []Element{{A: 0, B: 2, Section: sec, Material: m}}},
		{"self loop", good, nil, []Element{{A: 1, B: 1, Section: sec, Material: m}}},
		{"zero length", []r3.Vector{{}, {}}, nil, []Element{{A: 0, B: 1, Section: sec, Material: m}}},
		{"zero area", good, nil, []Element{{A: 0, B: 1, Material: m}}},
		{"negative E", good, nil, []Element{{A: 0, B: 1, Section: sec, Material: Material{EPa: -1, GPa: 1}}}},
		{"missing I on rigid", good, nil, []Element{{A: 0, B: 1, Section: Section{AreaM2: 1}, Material: m}}},
		{"supports length", good, []Fixity{{}}, nil},
		{"orientation parallel", good, nil, []Element{{A: 0, B: 1, Section: sec, Material: m, OrientXZ: r3.Vector{X: 2}}}},
	}
	for _, c := range cases {
		if _, err := NewFrame(c.pos, c.sup, c.els); err == nil {
			t.Errorf("%s: accepted", c.name)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
	f, err := NewFrame(good, []Fixity{FullyFixed, {}}, []Element{{A: 0, B: 1, Section: sec, Material: m}})
	if err != nil {
		t.Fatal(err)
	}
	for _, lc := range []LoadCase{
		{Points: []PointLoad{{Node: 5}}},
		{Points: []PointLoad{{Node: 1, ForceN: r3.Vector{X: math.Inf(1)}}}},
		{Elems: []ElementLoad{{Elem: 3}}},
		{Gravity: r3.Vector{Z: math.NaN()}},
	} {
		if _, err := f.Solve(context.Background(), lc, Options{}); err == nil {
			t.Errorf("load case %+v accepted", lc)
		}
	}
}

// TestLongChainIsNotAMechanism: a slender cantilever made of many short
// PLA struts (the most flexible legitimate structure a print produces)
// must solve, match PL³/3EI, and keep its smallest relative pivot far
// above DefaultPivotTol.
func TestLongChainIsNotAMechanism(t *testing.T) {
	for _, n := range []int{50, 400} {
		sec := RoundSection(0.002)
		m := Material{EPa: 3.5e9, GPa: 2.4e9}
		const seg = 0.005 // 5 mm struts
		pos := make([]r3.Vector, n+1)
		sup := make([]Fixity, n+1)
		sup[0] = FullyFixed
		var els []Element
		for i := range pos {
			pos[i] = r3.Vector{X: seg * float64(i), Z: 0.01}
			if i > 0 {
				els = append(els, Element{A: i - 1, B: i, Section: sec, Material: m})
			}
		}
		f, err := NewFrame(pos, sup, els)
		if err != nil {
			t.Fatal(err)
		}
		P := 1e-4 // N
		res := solveAll(t, f, LoadCase{Points: []PointLoad{{Node: n, ForceN: r3.Vector{Z: -P}}}})
		L := seg * float64(n)
		checkRel(t, "tip deflection", -res.Disp[n][2], P*L*L*L/(3*m.EPa*sec.IyM4), 1e-6)
		s := newSystem(f)
		list := make([]int32, len(els))
		act := make([]bool, len(els))
		for i := range list {
			list[i], act[i] = int32(i), true
		}
		rank, _ := f.rank(AutoOrdering)
		if err := s.setup(list, act, nil, rank); err != nil {
			t.Fatal(err)
		}
		if err := s.factor(); err != nil {
			t.Fatal(err)
		}
		minRel := math.Inf(1)
		for i := 0; i < s.nb*6; i++ {
			if !s.restr[i] {
				minRel = math.Min(minRel, s.d[i]/s.dOrig[i])
			}
		}
		t.Logf("%d struts (%.2f m, L/r = %.0f): smallest pivot/diagonal %.3g", n, L, L/0.001, minRel)
		if minRel < 1e3*DefaultPivotTol {
			t.Errorf("smallest relative pivot %.3g too close to the mechanism threshold %.3g", minRel, DefaultPivotTol)
		}
	}
}
