package fea

import (
	"fmt"
	"math"

	"github.com/golang/geo/r3"
)

// Incremental selects how Session.WithCandidate evaluates "printed set +
// one strut".
type Incremental int

const (
	// Woodbury (default) reuses the LDLᵀ factorisation of the printed set:
	// a strut between two printed (or supported) nodes is a symmetric
	// rank-≤6 update K + B·Bᵀ (B from the element's natural modes), solved
	// with the Sherman–Morrison–Woodbury identity and the K⁻¹ columns of its
	// end nodes; a strut hanging from the printed set at a new node is
	// exact static condensation (its weight moves to the root as a force
	// and a moment; the tip follows the root rigidly plus its own
	// cantilever deflection). Node columns are cached per printed state,
	// so all candidates around the tool share them.
	Woodbury Incremental = iota
	// Refactor factorises "printed set + candidate" from scratch (the
	// reference; no state reuse except buffers).
	Refactor
	// WarmPCG runs block-Jacobi PCG on "printed set + candidate" starting
	// from the printed set's displacements.
	WarmPCG
)

func (m Incremental) String() string {
	switch m {
	case Woodbury:
		return "woodbury"
	case Refactor:
		return "refactor"
	case WarmPCG:
		return "warm-pcg"
	}
	return fmt.Sprintf("Incremental(%d)", int(m))
}

// SessionOptions configure a Session. The zero value gives the defaults.
type SessionOptions struct {
	Method   Incremental
	Ordering Ordering
	// PivotTol: see Options (0 = DefaultPivotTol).
	PivotTol float64
	// PCGTol is WarmPCG's relative residual target (0 = 1e-8).
	PCGTol float64
	// States is how many factorised printed states are kept for undo/redo
	// (0 = 4).
	States int
	// NodeColumns is how many nodes' K⁻¹ columns each state caches for
	// Woodbury queries (0 = 16).
	NodeColumns int
	// MaxDelta (Woodbury only) lets WithCandidate on a printed set without
	// a factorisation of its own use a cached state that lacks at most
	// this many of its struts (bordered update, see delta.go) instead of
	// factorising it; without one, the prefix MaxDelta/2 struts back is
	// factorised for the sets that follow. 0 = 8, < 0 = off (factorise
	// every printed set).
	MaxDelta int
	// DeltaColumns is the node-column cache per state when the delta path
	// is on (0 = 64; at least NodeColumns).
	DeltaColumns int
}

// Session is the incremental gravity analysis of a growing printed set of
// a frame's elements (spec §8.1: d_max of the partial structure P ∪ e_k,
// Eq. 8). It follows the planner's apply/undo pattern: Add and Remove
// change the printed set; WithCandidate and MaxDisplacement do not.
// Factorisations are computed lazily and cached per printed set (keyed by
// a Zobrist hash), so undo → redo and repeated episodes from the same
// state do not refactor. After warm-up, WithCandidate does not allocate.
// A Session is not safe for concurrent use; create one per goroutine (the
// Frame is shared).
type Session struct {
	f     *Frame
	opt   SessionOptions
	lc    LoadCase
	loads *loadMap
	point [][6]float64 // per node applied load (N, N·m); nil if none
	rank  []int32

	// window restriction (nil for a whole-frame session)
	inWindow   []bool
	extraFixed []bool
	windowNode []int32
	windowFix  []int32

	printed []bool
	list    []int32
	where   []int32
	hash    uint64

	states []*state
	cur    *state
	tick   uint64

	// scratch for Refactor / fallback solves
	candSys  *system
	candList []int32
	candX    []float64

	// WarmPCG
	pcg pcgState

	local *Session // reused by Local

	// delta path: prefix hashes of list (prefix[k] = hash of list[:k],
	// the first prefixN valid) and scratch
	prefix  []uint64
	prefixN int
	ds      deltaScratch
	// deltaHits counts WithCandidate answers from the delta path (tests)
	deltaHits int
	noPrune   bool // tests: sweep every node in the delta path
}

// state is the analysis of one printed set.
type state struct {
	hash    uint64
	sys     *system
	u       []float64 // displacements by position
	maxM    float64
	maxNode int32
	err     error // non-nil if this printed set is unstable
	lastUse uint64
	// node-column cache: columns of K⁻¹ for a node's 6 DOFs
	zSlot  []int32 // position → slot, −1
	zOwner []int32 // slot → position, −1
	zUse   []uint64
	zData  [][]float64
	// zNorm[slot][q]: Frobenius norm of the translation rows (3×6) of
	// node q in the slot's columns; uNorm[q]: |translation of u| at q
	// (bounds for the delta path's sweep)
	zNorm  [][]float64
	uNorm  []float64
	zClock uint64
	valid  bool
}

// NewSession starts an empty printed set on f under load case lc
// (normally SelfWeight()).
func (f *Frame) NewSession(lc LoadCase, opt SessionOptions) (*Session, error) {
	if err := lc.Validate(f); err != nil {
		return nil, fmt.Errorf("fea: %w", err)
	}
	rank, err := f.rank(opt.Ordering)
	if err != nil {
		return nil, err
	}
	if opt.States <= 0 {
		opt.States = 4
	}
	if opt.NodeColumns <= 0 {
		opt.NodeColumns = 16
	}
	if opt.PCGTol <= 0 {
		opt.PCGTol = 1e-8
	}
	if opt.MaxDelta == 0 {
		opt.MaxDelta = defaultMaxDelta
	}
	if opt.DeltaColumns <= 0 {
		opt.DeltaColumns = defaultDeltaColumns
	}
	s := &Session{f: f, opt: opt, lc: lc, loads: newLoadMap(f, &lc), rank: rank,
		printed: make([]bool, f.NumElems()), where: make([]int32, f.NumElems())}
	for i := range s.where {
		s.where[i] = -1
	}
	if len(lc.Points) > 0 {
		s.point = make([][6]float64, f.NumNodes())
		for _, p := range lc.Points {
			a := &s.point[p.Node]
			for c, v := range [6]float64{p.ForceN.X, p.ForceN.Y, p.ForceN.Z, p.MomentNm.X, p.MomentNm.Y, p.MomentNm.Z} {
				a[c] += v
			}
		}
	}
	return s, nil
}

// Frame returns the session's frame.
func (s *Session) Frame() *Frame { return s.f }

// zobrist returns the hash key of element e (splitmix64).
func zobrist(e int32) uint64 {
	z := uint64(e) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (s *Session) checkElem(e int) error {
	if e < 0 || e >= s.f.NumElems() {
		return fmt.Errorf("fea: element %d out of range [0,%d)", e, s.f.NumElems())
	}
	if s.inWindow != nil {
		ed := &s.f.el[e]
		if !s.inWindow[ed.a] || !s.inWindow[ed.b] {
			return fmt.Errorf("fea: element %d (%d,%d) is not inside the window", e, ed.a, ed.b)
		}
	}
	return nil
}

// Add prints element e.
func (s *Session) Add(e int) error {
	if err := s.checkElem(e); err != nil {
		return err
	}
	if s.printed[e] {
		return fmt.Errorf("fea: element %d is already printed", e)
	}
	s.printed[e] = true
	s.where[e] = int32(len(s.list))
	s.list = append(s.list, int32(e))
	s.hash ^= zobrist(int32(e))
	s.cur = nil
	return nil
}

// Remove un-prints element e (undo).
func (s *Session) Remove(e int) error {
	if err := s.checkElem(e); err != nil {
		return err
	}
	if !s.printed[e] {
		return fmt.Errorf("fea: element %d is not printed", e)
	}
	i := s.where[e]
	s.prefixN = min(s.prefixN, int(i)+1)
	last := s.list[len(s.list)-1]
	s.list[i] = last
	s.where[last] = i
	s.list = s.list[:len(s.list)-1]
	s.where[e] = -1
	s.printed[e] = false
	s.hash ^= zobrist(int32(e))
	s.cur = nil
	return nil
}

// Printed reports whether element e is printed.
func (s *Session) Printed(e int) bool { return s.printed[e] }

// NumPrinted returns the number of printed elements.
func (s *Session) NumPrinted() int { return len(s.list) }

// PrintedElems returns the printed elements (order unspecified; shared,
// valid until the next Add/Remove).
func (s *Session) PrintedElems() []int32 { return s.list }

// MaxDisplacement returns d_max of the printed set (m) and its node (−1 if
// nothing is printed).
func (s *Session) MaxDisplacement() (float64, int, error) {
	if s.opt.Method == WarmPCG {
		return s.pcgCurrent()
	}
	st := s.ensureState()
	return st.maxM, int(st.maxNode), st.err
}

// Displacement returns node v's displacement in the printed set (m, rad,
// global axes; zero for nodes outside it or fully restrained).
func (s *Session) Displacement(v int) ([6]float64, error) {
	st := s.ensureState()
	if st.err != nil {
		return [6]float64{}, st.err
	}
	var d [6]float64
	if p := st.sys.pos[v]; p >= 0 {
		copy(d[:], st.u[int(p)*6:int(p)*6+6])
	}
	return d, nil
}

// ensureState returns the analysed current printed set, from the cache or
// computed now.
func (s *Session) ensureState() *state {
	if s.cur != nil {
		return s.cur
	}
	s.tick++
	var victim *state
	for _, st := range s.states {
		if st.valid && st.hash == s.hash {
			st.lastUse = s.tick
			s.cur = st
			return st
		}
		if victim == nil || st.lastUse < victim.lastUse {
			victim = st
		}
	}
	if len(s.states) < s.opt.States {
		victim = &state{sys: newSystem(s.f)}
		if s.opt.PivotTol > 0 {
			victim.sys.pivotTol = s.opt.PivotTol
		}
		s.states = append(s.states, victim)
	}
	st := victim
	st.hash, st.lastUse, st.valid = s.hash, s.tick, true
	st.err = s.analyse(st)
	s.cur = st
	return st
}

// analyse factorises and solves the current printed set into st.
func (s *Session) analyse(st *state) error {
	sys := st.sys
	st.maxM, st.maxNode = 0, -1
	for i := range st.zOwner {
		st.zOwner[i] = -1
		st.zUse[i] = 0
	}
	if err := sys.setup(s.list, s.printed, s.extraFixed, s.rank); err != nil {
		sys.nb = 0
		return err
	}
	if err := sys.factor(); err != nil {
		return err
	}
	st.u = growF(st.u, sys.nb*6)
	if err := sys.rhs(&s.lc, s.loads, st.u, false); err != nil {
		return err
	}
	sys.solve(st.u)
	st.maxM, st.maxNode = maxTranslation(st.u, sys.node)
	st.uNorm = growF(st.uNorm, sys.nb)
	for q := range st.uNorm {
		x, y, z := st.u[q*6], st.u[q*6+1], st.u[q*6+2]
		st.uNorm[q] = math.Sqrt(x*x + y*y + z*z)
	}
	st.zSlot = grow(st.zSlot, sys.nb)
	for i := range st.zSlot {
		st.zSlot[i] = -1
	}
	return nil
}

func maxTranslation(u []float64, node []int32) (float64, int32) {
	best, at := 0.0, int32(-1)
	for p := range node {
		x, y, z := u[p*6], u[p*6+1], u[p*6+2]
		t := x*x + y*y + z*z
		if t > best || at < 0 {
			best, at = t, node[p]
		}
	}
	return math.Sqrt(best), at
}

// zcols returns the 6 columns of K⁻¹ for the node at position p (layout
// of solveBlock6: X[q*36 + r*6 + c]); restrained DOFs of p give zero
// columns. Up to capSlots nodes are cached (least recently used evicted).
func (st *state) zcols(p int32, capSlots int) []float64 {
	st.zClock++
	if sl := st.zSlot[p]; sl >= 0 {
		st.zUse[sl] = st.zClock
		return st.zData[sl]
	}
	var sl int32
	if len(st.zData) < capSlots {
		st.zData = append(st.zData, nil)
		st.zNorm = append(st.zNorm, nil)
		st.zOwner = append(st.zOwner, -1)
		st.zUse = append(st.zUse, 0)
		sl = int32(len(st.zData) - 1)
	} else {
		for i := range st.zUse {
			if st.zUse[i] < st.zUse[sl] {
				sl = int32(i)
			}
		}
	}
	if o := st.zOwner[sl]; o >= 0 && int(o) < len(st.zSlot) && st.zSlot[o] == sl {
		st.zSlot[o] = -1
	}
	nb := st.sys.nb
	X := growF(st.zData[sl], nb*36)
	clear(X)
	for r := 0; r < 6; r++ {
		if !st.sys.restr[int(p)*6+r] {
			X[int(p)*36+r*6+r] = 1
		}
	}
	st.sys.solveBlock6(X)
	st.zData[sl] = X
	zn := growF(st.zNorm[sl], nb)
	for q := range zn {
		t := 0.0
		for _, v := range X[q*36 : q*36+18] {
			t += v * v
		}
		zn[q] = math.Sqrt(t)
	}
	st.zNorm[sl] = zn
	st.zOwner[sl] = p
	st.zSlot[p] = sl
	st.zUse[sl] = st.zClock
	return X
}

// endKind classifies a node for a candidate query against state st.
type endKind uint8

const (
	endInSys   endKind = iota // in the factorised system
	endFixed                  // all six DOFs restrained
	endNew                    // not in the structure yet, unsupported
	endAwkward                // new with a partial support: use the fallback
)

func (s *Session) endKind(st *state, v int32) endKind {
	if st.sys.pos[v] >= 0 {
		return endInSys
	}
	fx := st.sys.nodeRestr(v)
	if fx == FullyFixed {
		return endFixed
	}
	if st.sys.inTouch[v] || fx.Any() {
		return endAwkward
	}
	return endNew
}

// WithCandidate returns d_max (m) of the printed set plus element e,
// without changing the session. An unstable result returns an error
// wrapping ErrUnstable.
func (s *Session) WithCandidate(e int) (float64, error) {
	if err := s.checkElem(e); err != nil {
		return 0, err
	}
	if s.printed[e] {
		return 0, fmt.Errorf("fea: element %d is already printed", e)
	}
	switch s.opt.Method {
	case Refactor:
		return s.direct(e)
	case WarmPCG:
		return s.pcgCandidate(e)
	}
	if d, ok := s.deltaCandidate(e); ok {
		return d, nil
	}
	st := s.ensureState()
	if st.err != nil {
		// The printed set alone is unstable; the candidate may complete
		// it, so decide from scratch.
		return s.direct(e)
	}
	ed := &s.f.el[e]
	a, b := ed.a, ed.b
	ka, kb := s.endKind(st, a), s.endKind(st, b)
	if ka == endAwkward || kb == endAwkward {
		return s.direct(e)
	}
	switch {
	case ka == endNew && kb == endNew:
		return 0, s.f.floatingStrut(e)
	case ka == endFixed && kb == endFixed:
		return st.maxM, nil
	case ka == endNew || kb == endNew:
		if ed.pinned {
			return s.direct(e) // a hanging truss member: let the factorisation name the mechanism
		}
		tipIsB := kb == endNew
		return s.hanging(st, e, tipIsB)
	}
	if s.touchesDropped(st, ed) {
		return s.direct(e)
	}
	return s.woodbury(st, e)
}

// touchesDropped reports whether a rigid candidate would stiffen a DOF the
// state dropped (so the DOF set changes and the update does not apply).
func (s *Session) touchesDropped(st *state, ed *elemData) bool {
	if ed.pinned {
		return false
	}
	for _, v := range [2]int32{ed.a, ed.b} {
		if p := st.sys.pos[v]; p >= 0 {
			for c := 3; c < 6; c++ {
				if st.sys.dropped[int(p)*6+c] {
					return true
				}
			}
		}
	}
	return false
}

// hanging evaluates a rigid strut whose tip is a new node and whose root
// is in the system or fully fixed: exact static condensation.
func (s *Session) hanging(st *state, e int, tipIsB bool) (float64, error) {
	ed := &s.f.el[e]
	var fe [12]float64
	ed.equivalentLoad(s.loads.w[e], &fe)
	root, tip := ed.a, ed.b
	ro, to := 0, 6
	if !tipIsB {
		root, tip, ro, to = ed.b, ed.a, 6, 0
	}
	var ft, fr [6]float64
	copy(ft[:], fe[to:to+6])
	copy(fr[:], fe[ro:ro+6])
	if s.point != nil {
		for c := 0; c < 6; c++ {
			ft[c] += s.point[tip][c]
		}
	}
	arm := s.f.PosM[tip].Sub(s.f.PosM[root])
	// transfer the tip load to the root: force, moment + arm × force
	F := r3.Vector{X: ft[0], Y: ft[1], Z: ft[2]}
	M := arm.Cross(F)
	df := [6]float64{fr[0] + ft[0], fr[1] + ft[1], fr[2] + ft[2], fr[3] + ft[3] + M.X, fr[4] + ft[4] + M.Y, fr[5] + ft[5] + M.Z}
	own, ok := ed.tipSolve(tipIsB, ft)
	if !ok {
		return s.direct(e)
	}
	sys := st.sys
	p := sys.pos[root]
	if p < 0 { // root fully fixed: the printed set does not change
		t := math.Sqrt(own[0]*own[0] + own[1]*own[1] + own[2]*own[2])
		return math.Max(st.maxM, t), nil
	}
	for c := 0; c < 6; c++ {
		if sys.restr[int(p)*6+c] {
			df[c] = 0
		}
	}
	Z := st.zcols(p, s.opt.NodeColumns)
	// u' = u + Z·Δf; translations of every node, all six DOFs at the root
	best := 0.0
	for q := 0; q < sys.nb; q++ {
		zq := Z[q*36 : q*36+18]
		var d [3]float64
		for r := 0; r < 3; r++ {
			d[r] = st.u[q*6+r] + zq[r*6]*df[0] + zq[r*6+1]*df[1] + zq[r*6+2]*df[2] + zq[r*6+3]*df[3] + zq[r*6+4]*df[4] + zq[r*6+5]*df[5]
		}
		best = math.Max(best, d[0]*d[0]+d[1]*d[1]+d[2]*d[2])
	}
	var ua [6]float64
	zp := Z[int(p)*36 : int(p)*36+36]
	for r := 0; r < 6; r++ {
		ua[r] = st.u[int(p)*6+r] + zp[r*6]*df[0] + zp[r*6+1]*df[1] + zp[r*6+2]*df[2] + zp[r*6+3]*df[3] + zp[r*6+4]*df[4] + zp[r*6+5]*df[5]
	}
	th := r3.Vector{X: ua[3], Y: ua[4], Z: ua[5]}
	tb := r3.Vector{X: ua[0], Y: ua[1], Z: ua[2]}.Add(th.Cross(arm)).Add(r3.Vector{X: own[0], Y: own[1], Z: own[2]})
	return math.Sqrt(math.Max(best, tb.Norm2())), nil
}

// woodbury evaluates a strut between two nodes already in the structure
// (or one fully fixed): K' = K + B̃ B̃ᵀ with B̃ the element's natural-mode
// factor restricted to the free DOFs of its ends, and
//
//	u' = u + Z y,  y = Δf − B̃ (I + B̃ᵀ G B̃)⁻¹ B̃ᵀ (Uᵀu + G Δf),  G = Uᵀ Z,
//
// where Z holds the K⁻¹ columns of the end nodes and Δf the candidate's
// consistent loads at them (Sherman–Morrison–Woodbury; the 6×6 capacitance
// is symmetric positive definite).
func (s *Session) woodbury(st *state, e int) (float64, error) {
	ed := &s.f.el[e]
	sys := st.sys
	B, rank := ed.naturalFactor()
	var fe [12]float64
	ed.equivalentLoad(s.loads.w[e], &fe)
	// ends in the system
	var pos [2]int32
	var off [2]int
	var Z [2][]float64
	m := 0
	for k, v := range [2]int32{ed.a, ed.b} {
		if p := sys.pos[v]; p >= 0 {
			pos[m], off[m] = p, k*6
			m++
		}
	}
	for i := 0; i < m; i++ {
		Z[i] = st.zcols(pos[i], s.opt.NodeColumns)
	}
	n := 6 * m
	// B̃ (n×rank), Δf (n), masked at restrained DOFs
	var Bt [72]float64
	var df [12]float64
	for i := 0; i < m; i++ {
		for r := 0; r < 6; r++ {
			if sys.restr[int(pos[i])*6+r] {
				continue
			}
			df[i*6+r] = fe[off[i]+r]
			copy(Bt[(i*6+r)*6:(i*6+r)*6+rank], B[(off[i]+r)*6:(off[i]+r)*6+rank])
		}
	}
	// G = Uᵀ Z (n×n): block (i,j) = rows of Z[j] at node pos[i]
	var G [144]float64
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			zb := Z[j][int(pos[i])*36 : int(pos[i])*36+36]
			for r := 0; r < 6; r++ {
				for c := 0; c < 6; c++ {
					G[(i*6+r)*12+j*6+c] = zb[r*6+c]
				}
			}
		}
	}
	// w = Uᵀu + G Δf
	var w [12]float64
	for i := 0; i < m; i++ {
		for r := 0; r < 6; r++ {
			w[i*6+r] = st.u[int(pos[i])*6+r]
		}
	}
	for r := 0; r < n; r++ {
		t := 0.0
		for c := 0; c < n; c++ {
			t += G[r*12+c] * df[c]
		}
		w[r] += t
	}
	// capacitance Ĝ = I + B̃ᵀ G B̃ (rank×rank), rhs B̃ᵀ w
	var GB [72]float64 // n×rank
	for r := 0; r < n; r++ {
		for c := 0; c < rank; c++ {
			t := 0.0
			for k := 0; k < n; k++ {
				t += G[r*12+k] * Bt[k*6+c]
			}
			GB[r*6+c] = t
		}
	}
	var cap [36]float64
	var rhs [6]float64
	for i := 0; i < 6; i++ {
		cap[i*6+i] = 1
	}
	for i := 0; i < rank; i++ {
		for j := 0; j < rank; j++ {
			t := 0.0
			for k := 0; k < n; k++ {
				t += Bt[k*6+i] * GB[k*6+j]
			}
			cap[i*6+j] += t
		}
		t := 0.0
		for k := 0; k < n; k++ {
			t += Bt[k*6+i] * w[k]
		}
		rhs[i] = t
	}
	if !solveDense6(&cap, &rhs) {
		return s.direct(e)
	}
	var y [12]float64
	for r := 0; r < n; r++ {
		t := 0.0
		for c := 0; c < rank; c++ {
			t += Bt[r*6+c] * rhs[c]
		}
		y[r] = df[r] - t
	}
	// u' = u + Z y, translations only
	best := 0.0
	for q := 0; q < sys.nb; q++ {
		var d [3]float64
		d[0], d[1], d[2] = st.u[q*6], st.u[q*6+1], st.u[q*6+2]
		for i := 0; i < m; i++ {
			zq := Z[i][q*36 : q*36+18]
			yi := y[i*6 : i*6+6]
			for r := 0; r < 3; r++ {
				d[r] += zq[r*6]*yi[0] + zq[r*6+1]*yi[1] + zq[r*6+2]*yi[2] + zq[r*6+3]*yi[3] + zq[r*6+4]*yi[4] + zq[r*6+5]*yi[5]
			}
		}
		best = math.Max(best, d[0]*d[0]+d[1]*d[1]+d[2]*d[2])
	}
	return math.Sqrt(best), nil
}

// direct factorises "printed set + e" from scratch in a reusable system.
func (s *Session) direct(e int) (float64, error) {
	if s.candSys == nil {
		s.candSys = newSystem(s.f)
		if s.opt.PivotTol > 0 {
			s.candSys.pivotTol = s.opt.PivotTol
		}
	}
	s.printed[e] = true
	defer func() { s.printed[e] = false }()
	s.candList = append(append(s.candList[:0], s.list...), int32(e))
	sys := s.candSys
	if err := sys.setup(s.candList, s.printed, s.extraFixed, s.rank); err != nil {
		return 0, err
	}
	if err := sys.factor(); err != nil {
		return 0, err
	}
	s.candX = growF(s.candX, sys.nb*6)
	if err := sys.rhs(&s.lc, s.loads, s.candX, false); err != nil {
		return 0, err
	}
	sys.solve(s.candX)
	m, _ := maxTranslation(s.candX, sys.node)
	return m, nil
}
