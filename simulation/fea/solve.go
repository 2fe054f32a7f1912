package fea

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/golang/geo/r3"
)

// Method selects the linear solver.
type Method int

const (
	// Direct is the block sparse LDLᵀ factorisation (default).
	Direct Method = iota
	// PCG is block-Jacobi preconditioned conjugate gradients.
	PCG
)

func (m Method) String() string {
	switch m {
	case Direct:
		return "direct"
	case PCG:
		return "pcg"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// Options tune a solve. The zero value gives the defaults.
type Options struct {
	Method   Method
	Ordering Ordering // direct solver only
	// PivotTol is the relative mechanism threshold (0 = DefaultPivotTol).
	PivotTol float64
	// Tol is PCG's relative residual target ‖r‖/‖f‖ (0 = 1e-10); MaxIter
	// its iteration limit (0 = 10·DOFs + 100).
	Tol     float64
	MaxIter int
}

// Reaction is the support reaction at a node: force (N) and moment (N·m)
// the support exerts on the structure, global axes. Only restrained DOFs
// carry a reaction; the others are zero.
type Reaction struct {
	Node int
	F    [6]float64
}

// DOFRef names one DOF of one node.
type DOFRef struct {
	Node, DOF int
}

// Result is a solved load case.
type Result struct {
	Case string
	// Disp holds each node's displacement: ux, uy, uz (m) and rx, ry, rz
	// (rad), global axes. Nodes outside the analysed structure are zero.
	Disp [][6]float64
	// InStructure marks the nodes touched by the analysed elements.
	InStructure []bool
	// Reactions lists nodes with restrained DOFs, sorted by node.
	Reactions []Reaction
	// EndForces holds each element's end forces in its local axes: N, Vy,
	// Vz (N), T, My, Mz (N·m) at end A, then at end B — the forces the
	// nodes exert on the element (so axial tension is −N_A = +N_B > 0).
	// Elements outside the analysis are zero.
	EndForces [][12]float64
	// MaxTranslationM is max over nodes of ‖(ux, uy, uz)‖, at MaxNode
	// (−1 if nothing was analysed).
	MaxTranslationM float64
	MaxNode         int
	// Dropped lists DOFs without any stiffness that were solved as zero.
	Dropped []DOFRef
	// ResidualN is the largest out-of-balance nodal force (N or N·m) at a
	// free DOF after the solve — a check on the solver.
	ResidualN float64
	// Iterations of PCG (0 for the direct solver).
	Iterations int
}

// Solve analyses the whole frame under lc.
func (f *Frame) Solve(ctx context.Context, lc LoadCase, opt Options) (*Result, error) {
	elems := make([]int, f.NumElems())
	for i := range elems {
		elems[i] = i
	}
	return f.SolveSubset(ctx, elems, lc, opt)
}

// SolveSubset analyses the structure made of the given elements only (a
// partial structure); the other elements neither stiffen nor load it.
func (f *Frame) SolveSubset(ctx context.Context, elems []int, lc LoadCase, opt Options) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := lc.Validate(f); err != nil {
		return nil, fmt.Errorf("fea: %w", err)
	}
	act := make([]bool, f.NumElems())
	list := make([]int32, 0, len(elems))
	for _, e := range elems {
		if e < 0 || e >= f.NumElems() {
			return nil, fmt.Errorf("fea: element %d out of range [0,%d)", e, f.NumElems())
		}
		if !act[e] {
			act[e] = true
			list = append(list, int32(e))
		}
	}
	s := newSystem(f)
	if opt.PivotTol > 0 {
		s.pivotTol = opt.PivotTol
	}
	rank, err := f.rank(opt.Ordering)
	if err != nil {
		return nil, err
	}
	if err := s.setup(list, act, nil, rank); err != nil {
		return nil, err
	}
	loads := newLoadMap(f, &lc)
	x := make([]float64, s.nb*6)
	if err := s.rhs(&lc, loads, x, true); err != nil {
		return nil, err
	}
	res := &Result{Case: lc.Name}
	switch opt.Method {
	case Direct:
		if err := s.factor(); err != nil {
			return nil, err
		}
		s.solve(x)
	case PCG:
		var b blockCSR
		b.build(s)
		rhs := append([]float64(nil), x...)
		clear(x)
		var ws pcgWork
		it, err := b.pcg(ctx, rhs, x, opt.Tol, opt.MaxIter, &ws)
		res.Iterations = it
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("fea: unknown method %v", opt.Method)
	}
	s.fillResult(res, x, &lc, loads)
	return res, nil
}

// loadMap holds the distributed load (N/m, global) of each element in a
// load case: self-weight plus the explicit element loads.
type loadMap struct {
	w []r3.Vector
}

func newLoadMap(f *Frame, lc *LoadCase) *loadMap {
	m := &loadMap{w: make([]r3.Vector, f.NumElems())}
	if lc.Gravity != (r3.Vector{}) {
		for e := range m.w {
			m.w[e] = lc.Gravity.Mul(f.el[e].wPerG)
		}
	}
	for _, el := range lc.Elems {
		m.w[el.Elem] = m.w[el.Elem].Add(el.WNPerM)
	}
	return m
}

// rhs assembles the load vector (position order) into x. A point load on
// a node outside the analysed structure is an error when strict (a solve)
// and ignored otherwise (a partial structure during planning).
func (s *system) rhs(lc *LoadCase, loads *loadMap, x []float64, strict bool) error {
	f := s.f
	clear(x[:s.nb*6])
	for _, e := range s.elems {
		ed := &f.el[e]
		w := loads.w[e]
		if w == (r3.Vector{}) {
			continue
		}
		var fe [12]float64
		ed.equivalentLoad(w, &fe)
		for end, v := range [2]int32{ed.a, ed.b} {
			if p := s.pos[v]; p >= 0 {
				for c := 0; c < 6; c++ {
					x[int(p)*6+c] += fe[end*6+c]
				}
			}
		}
	}
	for i, pl := range lc.Points {
		v := pl.Node
		if !s.inTouch[v] {
			if strict && pl.ForceN != (r3.Vector{}) || pl.MomentNm != (r3.Vector{}) {
				return fmt.Errorf("fea: load case %q: point load %d acts on node %d, which no analysed element touches", lc.Name, i, v)
			}
			continue
		}
		if p := s.pos[v]; p >= 0 {
			vals := [6]float64{pl.ForceN.X, pl.ForceN.Y, pl.ForceN.Z, pl.MomentNm.X, pl.MomentNm.Y, pl.MomentNm.Z}
			for c := 0; c < 6; c++ {
				x[int(p)*6+c] += vals[c]
			}
		}
	}
	for i := 0; i < s.nb*6; i++ {
		if s.restr[i] {
			if s.dropped[i] && math.Abs(x[i]) > 0 {
				return fmt.Errorf("fea: load case %q: node %d %s: %w (only pin-ended members meet there)", lc.Name, s.node[i/6], DOFName(i%6), ErrUnresisted)
			}
			x[i] = 0
		}
	}
	return nil
}

// fillResult expands the position-ordered solution x into res: nodal
// displacements, element end forces, reactions, maximum translation and
// the equilibrium residual.
func (s *system) fillResult(res *Result, x []float64, lc *LoadCase, loads *loadMap) {
	f := s.f
	n := f.NumNodes()
	res.Disp = make([][6]float64, n)
	res.InStructure = make([]bool, n)
	res.EndForces = make([][12]float64, f.NumElems())
	res.MaxNode = -1
	for _, v := range s.touched {
		res.InStructure[v] = true
	}
	for p, v := range s.node {
		copy(res.Disp[v][:], x[p*6:p*6+6])
		for c := 0; c < 6; c++ {
			if s.dropped[p*6+c] {
				res.Dropped = append(res.Dropped, DOFRef{Node: int(v), DOF: c})
			}
		}
	}
	// nodal sums of element end forces (global)
	sum := make([][6]float64, n)
	for _, e := range s.elems {
		ed := &f.el[e]
		var u [12]float64
		copy(u[:6], res.Disp[ed.a][:])
		copy(u[6:], res.Disp[ed.b][:])
		g := ed.mulK(&u)
		var fe [12]float64
		ed.equivalentLoad(loads.w[e], &fe)
		for i := range g {
			g[i] -= fe[i]
		}
		for c := 0; c < 6; c++ {
			sum[ed.a][c] += g[c]
			sum[ed.b][c] += g[6+c]
		}
		res.EndForces[e] = ed.localize(&g)
	}
	applied := make([][6]float64, n)
	for _, pl := range lc.Points {
		a := &applied[pl.Node]
		a[0] += pl.ForceN.X
		a[1] += pl.ForceN.Y
		a[2] += pl.ForceN.Z
		a[3] += pl.MomentNm.X
		a[4] += pl.MomentNm.Y
		a[5] += pl.MomentNm.Z
	}
	for _, v := range s.touched {
		fx := s.nodeRestr(v)
		var r Reaction
		r.Node = int(v)
		for c := 0; c < 6; c++ {
			net := sum[v][c] - applied[v][c]
			restr := fx[c]
			if p := s.pos[v]; p >= 0 && s.dropped[int(p)*6+c] {
				restr = true
			}
			if restr {
				r.F[c] = net
			} else {
				res.ResidualN = math.Max(res.ResidualN, math.Abs(net))
			}
		}
		if fx.Any() {
			res.Reactions = append(res.Reactions, r)
		}
	}
	slices.SortFunc(res.Reactions, func(a, b Reaction) int { return a.Node - b.Node })
	for _, v := range s.touched {
		d := res.Disp[v]
		t := math.Sqrt(d[0]*d[0] + d[1]*d[1] + d[2]*d[2])
		if t > res.MaxTranslationM || (t == res.MaxTranslationM && (res.MaxNode < 0 || int(v) < res.MaxNode)) {
			res.MaxTranslationM, res.MaxNode = t, int(v)
		}
	}
}
