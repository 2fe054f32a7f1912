package fea

import (
	"context"
	"errors"
	"math"

	"github.com/golang/geo/r3"
)

// pcgState is WarmPCG's memory: the last solution per node.
type pcgState struct {
	sys   *system
	mat   blockCSR
	work  pcgWork
	rhs   []float64
	x     []float64
	uNode [][6]float64 // last solution of the printed set, per node
	uHash uint64
	have  bool
	cand  [][6]float64 // solution of the last candidate query, per node
	cHash uint64
	cHave bool
	cMax  float64
	Iters int // iterations of the last solve (for benchmarks)
}

// pcgSolve runs PCG on the given element list, warm-started from guess
// (per node; nil = zero), and returns the per-node solution in out.
func (s *Session) pcgSolve(list []int32, guess [][6]float64, out [][6]float64, hint func(v int32) ([6]float64, bool)) (float64, error) {
	ps := &s.pcg
	if ps.sys == nil {
		ps.sys = newSystem(s.f)
	}
	sys := ps.sys
	sys.number(list, s.printed, s.extraFixed, s.rank)
	if err := sys.checkAnchored(); err != nil {
		return 0, err
	}
	if err := sys.classify(); err != nil {
		return 0, err
	}
	ps.mat.build(sys)
	ps.rhs = growF(ps.rhs, sys.nb*6)
	if err := sys.rhs(&s.lc, s.loads, ps.rhs, false); err != nil {
		return 0, err
	}
	ps.x = growF(ps.x, sys.nb*6)
	for p, v := range sys.node {
		var g [6]float64
		ok := false
		if hint != nil {
			g, ok = hint(v)
		}
		if !ok && guess != nil {
			g = guess[v]
		}
		for c := 0; c < 6; c++ {
			if sys.restr[p*6+c] {
				g[c] = 0
			}
		}
		copy(ps.x[p*6:p*6+6], g[:])
	}
	it, err := ps.mat.pcg(context.Background(), ps.rhs, ps.x, s.opt.PCGTol, 0, &ps.work)
	ps.Iters = it
	if err != nil {
		return 0, err
	}
	for _, v := range sys.touched {
		out[v] = [6]float64{}
	}
	for p, v := range sys.node {
		copy(out[v][:], ps.x[p*6:p*6+6])
	}
	m, _ := maxTranslation(ps.x, sys.node)
	return m, nil
}

func (s *Session) pcgCurrent() (float64, int, error) {
	ps := &s.pcg
	n := s.f.NumNodes()
	if ps.uNode == nil {
		ps.uNode = make([][6]float64, n)
		ps.cand = make([][6]float64, n)
	}
	if ps.cHave && ps.cHash == s.hash {
		ps.uNode, ps.cand = ps.cand, ps.uNode
		ps.uHash, ps.have, ps.cHave = s.hash, true, false
	}
	if !(ps.have && ps.uHash == s.hash) {
		if _, err := s.pcgSolve(s.list, ps.uNode, ps.uNode, nil); err != nil {
			return 0, -1, err
		}
		ps.uHash, ps.have = s.hash, true
	}
	best, at := 0.0, -1
	for _, e := range s.list {
		for _, v := range [2]int32{s.f.el[e].a, s.f.el[e].b} {
			d := ps.uNode[v]
			t := math.Sqrt(d[0]*d[0] + d[1]*d[1] + d[2]*d[2])
			if t > best || at < 0 {
				best, at = t, int(v)
			}
		}
	}
	return best, at, nil
}

func (s *Session) pcgCandidate(e int) (float64, error) {
	if _, _, err := s.pcgCurrent(); err != nil && !errors.Is(err, ErrUnstable) {
		return 0, err
	}
	ps := &s.pcg
	ed := &s.f.el[e]
	s.printed[e] = true
	defer func() { s.printed[e] = false }()
	s.candList = append(append(s.candList[:0], s.list...), int32(e))
	// a new tip node starts where the root carries it rigidly
	touched := func(v int32) bool {
		for q := s.f.adjStart[v]; q < s.f.adjStart[v+1]; q++ {
			if x := s.f.adjElem[q]; x != int32(e) && s.printed[x] {
				return true
			}
		}
		return false
	}
	hint := func(v int32) ([6]float64, bool) {
		if v != ed.a && v != ed.b || touched(v) {
			return [6]float64{}, false
		}
		root := ed.a
		if v == ed.a {
			root = ed.b
		}
		g := ps.uNode[root]
		th := r3.Vector{X: g[3], Y: g[4], Z: g[5]}
		t := r3.Vector{X: g[0], Y: g[1], Z: g[2]}.Add(th.Cross(s.f.PosM[v].Sub(s.f.PosM[root])))
		return [6]float64{t.X, t.Y, t.Z, g[3], g[4], g[5]}, true
	}
	m, err := s.pcgSolve(s.candList, ps.uNode, ps.cand, hint)
	if err != nil {
		return 0, err
	}
	ps.cHash, ps.cHave, ps.cMax = s.hash^zobrist(int32(e)), true, m
	return m, nil
}
