// Package matching computes maximum-weight and minimum-weight perfect
// matchings in general (non-bipartite) graphs with Edmonds' blossom
// algorithm in the primal-dual form of Galil ("Efficient algorithms for
// finding maximum matching in graphs", ACM Computing Surveys 18(1), 1986),
// O(n³) time. The implementation follows the structure of Joris van
// Rantwijk's public-domain mwmatching.py (the reference implementation
// also used by NetworkX), with integer weights so that every dual update
// is exact: slacks are computed as π_i + π_j − 2w, which keeps all duals
// integral.
//
// The CCF euler baseline uses MinWeightPerfect to pair odd-degree nodes
// over shortest-path distances (the Chinese-postman T-join).
package matching

import (
	"errors"
	"fmt"
)

// Edge is an undirected edge between vertices I and J (0-based, I ≠ J)
// with weight W.
type Edge struct {
	I, J int
	W    int64
}

// ErrNoPerfect is returned when the graph has no perfect matching.
var ErrNoPerfect = errors.New("matching: graph has no perfect matching")

// MaxWeight returns a maximum-weight matching of the graph on n vertices:
// mate[v] is v's partner or −1. With maxCardinality it returns, among the
// matchings of maximum cardinality, one of maximum weight. Vertices not
// mentioned by any edge stay unmatched. Weights may be negative (such
// edges are never used unless maxCardinality forces them).
func MaxWeight(n int, edges []Edge, maxCardinality bool) ([]int, error) {
	for k, e := range edges {
		if e.I < 0 || e.J < 0 || e.I >= n || e.J >= n || e.I == e.J {
			return nil, fmt.Errorf("matching: edge %d (%d,%d) invalid for %d vertices", k, e.I, e.J, n)
		}
	}
	m := newMatcher(n, edges)
	m.run(maxCardinality)
	mate := make([]int, n)
	for v := range mate {
		mate[v] = -1
		if m.mate[v] >= 0 {
			mate[v] = m.endpoint[m.mate[v]]
		}
	}
	return mate, nil
}

// MinWeightPerfect returns a minimum-weight perfect matching (mate[v] is
// v's partner) and its weight, or ErrNoPerfect. It runs MaxWeight with
// maximum cardinality on the weights C − w, C > max w, which turns the
// minimum-weight perfect matching into the maximum-weight
// maximum-cardinality one.
func MinWeightPerfect(n int, edges []Edge) ([]int, int64, error) {
	if n%2 == 1 {
		return nil, 0, fmt.Errorf("%w: odd vertex count %d", ErrNoPerfect, n)
	}
	if n == 0 {
		return []int{}, 0, nil
	}
	var maxW int64
	for _, e := range edges {
		if e.W > maxW {
			maxW = e.W
		}
		if e.W < 0 {
			return nil, 0, fmt.Errorf("matching: negative weight %d on edge (%d,%d)", e.W, e.I, e.J)
		}
	}
	if maxW > 1<<52 {
		return nil, 0, fmt.Errorf("matching: weight %d too large (max 2^52)", maxW)
	}
	tr := make([]Edge, len(edges))
	for k, e := range edges {
		tr[k] = Edge{I: e.I, J: e.J, W: maxW + 1 - e.W}
	}
	mate, err := MaxWeight(n, tr, true)
	if err != nil {
		return nil, 0, err
	}
	for v, w := range mate {
		if w < 0 {
			return nil, 0, fmt.Errorf("%w: vertex %d stays unmatched", ErrNoPerfect, v)
		}
	}
	// weight of the matching in the original weights (cheapest parallel
	// edge per pair, as the algorithm would pick it)
	best := map[[2]int]int64{}
	for _, e := range edges {
		k := [2]int{min(e.I, e.J), max(e.I, e.J)}
		if w, ok := best[k]; !ok || e.W < w {
			best[k] = e.W
		}
	}
	var total int64
	for v, w := range mate {
		if v < w {
			total += best[[2]int{v, w}]
		}
	}
	return mate, total, nil
}

// matcher holds the state of one run (names follow mwmatching.py).
type matcher struct {
	nv, ne   int
	edges    []Edge
	endpoint []int   // endpoint[p]: vertex at endpoint p (edge p/2)
	neighb   [][]int // neighb[v]: remote endpoints of v's edges
	mate     []int   // mate[v]: remote endpoint of v's matched edge, or −1

	label       []int // 0 free, 1 S, 2 T (5 = S being scanned); per vertex/blossom
	labelend    []int
	inblossom   []int
	bparent     []int
	bchilds     [][]int
	bbase       []int
	bendps      [][]int
	bestedge    []int
	bbestedges  [][]int
	hasBest     []bool // bbestedges[b] valid
	unused      []int
	dual        []int64
	allowedge   []bool
	queue       []int
	bestedgeto  []int
	leavesStack []int
}

func newMatcher(n int, edges []Edge) *matcher {
	m := &matcher{nv: n, ne: len(edges), edges: edges}
	m.endpoint = make([]int, 2*m.ne)
	m.neighb = make([][]int, n)
	for k, e := range edges {
		m.endpoint[2*k] = e.I
		m.endpoint[2*k+1] = e.J
		m.neighb[e.I] = append(m.neighb[e.I], 2*k+1)
		m.neighb[e.J] = append(m.neighb[e.J], 2*k)
	}
	var maxW int64
	for _, e := range edges {
		if e.W > maxW {
			maxW = e.W
		}
	}
	m.mate = fill(n, -1)
	m.label = make([]int, 2*n)
	m.labelend = fill(2*n, -1)
	m.inblossom = make([]int, n)
	for i := range m.inblossom {
		m.inblossom[i] = i
	}
	m.bparent = fill(2*n, -1)
	m.bchilds = make([][]int, 2*n)
	m.bbase = fill(2*n, -1)
	for i := 0; i < n; i++ {
		m.bbase[i] = i
	}
	m.bendps = make([][]int, 2*n)
	m.bestedge = fill(2*n, -1)
	m.bbestedges = make([][]int, 2*n)
	m.hasBest = make([]bool, 2*n)
	for b := 2*n - 1; b >= n; b-- {
		m.unused = append(m.unused, b)
	}
	m.dual = make([]int64, 2*n)
	for i := 0; i < n; i++ {
		m.dual[i] = maxW
	}
	m.allowedge = make([]bool, m.ne)
	m.bestedgeto = fill(2*n, -1)
	return m
}

func fill(n, v int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func (m *matcher) slack(k int) int64 {
	e := m.edges[k]
	return m.dual[e.I] + m.dual[e.J] - 2*e.W
}

// leaves appends the vertices of blossom b to dst.
func (m *matcher) leaves(b int, dst []int) []int {
	if b < m.nv {
		return append(dst, b)
	}
	for _, t := range m.bchilds[b] {
		dst = m.leaves(t, dst)
	}
	return dst
}

// at indexes a slice with Python's negative-index wrap-around.
func at(s []int, j int) int {
	if j < 0 {
		j += len(s)
	}
	return s[j]
}

func indexOf(s []int, x int) int {
	for i, v := range s {
		if v == x {
			return i
		}
	}
	panic("matching: child not found")
}

func (m *matcher) assignLabel(w, t, p int) {
	b := m.inblossom[w]
	m.label[w], m.label[b] = t, t
	m.labelend[w], m.labelend[b] = p, p
	m.bestedge[w], m.bestedge[b] = -1, -1
	if t == 1 {
		m.queue = m.leaves(b, m.queue)
	} else if t == 2 {
		base := m.bbase[b]
		m.assignLabel(m.endpoint[m.mate[base]], 1, m.mate[base]^1)
	}
}

// scanBlossom traces back from v and w; it returns the base of a new
// blossom, or −1 if an augmenting path was found.
func (m *matcher) scanBlossom(v, w int) int {
	var path []int
	base := -1
	for v != -1 || w != -1 {
		b := m.inblossom[v]
		if m.label[b]&4 != 0 {
			base = m.bbase[b]
			break
		}
		path = append(path, b)
		m.label[b] = 5
		if m.labelend[b] == -1 {
			v = -1
		} else {
			v = m.endpoint[m.labelend[b]]
			b = m.inblossom[v]
			v = m.endpoint[m.labelend[b]]
		}
		if w != -1 {
			v, w = w, v
		}
	}
	for _, b := range path {
		m.label[b] = 1
	}
	return base
}

func (m *matcher) addBlossom(base, k int) {
	e := m.edges[k]
	v, w := e.I, e.J
	bb := m.inblossom[base]
	bv := m.inblossom[v]
	bw := m.inblossom[w]
	b := m.unused[len(m.unused)-1]
	m.unused = m.unused[:len(m.unused)-1]
	m.bbase[b] = base
	m.bparent[b] = -1
	m.bparent[bb] = b
	var path, endps []int
	for bv != bb {
		m.bparent[bv] = b
		path = append(path, bv)
		endps = append(endps, m.labelend[bv])
		v = m.endpoint[m.labelend[bv]]
		bv = m.inblossom[v]
	}
	path = append(path, bb)
	reverseInts(path)
	reverseInts(endps)
	endps = append(endps, 2*k)
	for bw != bb {
		m.bparent[bw] = b
		path = append(path, bw)
		endps = append(endps, m.labelend[bw]^1)
		w = m.endpoint[m.labelend[bw]]
		bw = m.inblossom[w]
	}
	m.bchilds[b] = path
	m.bendps[b] = endps
	m.label[b] = 1
	m.labelend[b] = m.labelend[bb]
	m.dual[b] = 0
	m.leavesStack = m.leaves(b, m.leavesStack[:0])
	for _, x := range m.leavesStack {
		if m.label[m.inblossom[x]] == 2 {
			m.queue = append(m.queue, x)
		}
		m.inblossom[x] = b
	}
	bestedgeto := m.bestedgeto
	for i := range bestedgeto {
		bestedgeto[i] = -1
	}
	consider := func(k int) {
		e := m.edges[k]
		i, j := e.I, e.J
		if m.inblossom[j] == b {
			i, j = j, i
		}
		_ = i
		bj := m.inblossom[j]
		if bj != b && m.label[bj] == 1 && (bestedgeto[bj] == -1 || m.slack(k) < m.slack(bestedgeto[bj])) {
			bestedgeto[bj] = k
		}
	}
	for _, sub := range path {
		if !m.hasBest[sub] {
			for _, x := range m.leaves(sub, nil) {
				for _, p := range m.neighb[x] {
					consider(p / 2)
				}
			}
		} else {
			for _, k := range m.bbestedges[sub] {
				consider(k)
			}
		}
		m.bbestedges[sub] = nil
		m.hasBest[sub] = false
		m.bestedge[sub] = -1
	}
	var list []int
	for _, k := range bestedgeto {
		if k != -1 {
			list = append(list, k)
		}
	}
	m.bbestedges[b] = list
	m.hasBest[b] = true
	m.bestedge[b] = -1
	for _, k := range list {
		if m.bestedge[b] == -1 || m.slack(k) < m.slack(m.bestedge[b]) {
			m.bestedge[b] = k
		}
	}
}

func reverseInts(s []int) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

func (m *matcher) expandBlossom(b int, endstage bool) {
	for _, s := range m.bchilds[b] {
		m.bparent[s] = -1
		if s < m.nv {
			m.inblossom[s] = s
		} else if endstage && m.dual[s] == 0 {
			m.expandBlossom(s, endstage)
		} else {
			for _, x := range m.leaves(s, nil) {
				m.inblossom[x] = s
			}
		}
	}
	if !endstage && m.label[b] == 2 {
		childs := m.bchilds[b]
		endps := m.bendps[b]
		entrychild := m.inblossom[m.endpoint[m.labelend[b]^1]]
		j := indexOf(childs, entrychild)
		var jstep, endptrick int
		if j&1 != 0 {
			j -= len(childs)
			jstep, endptrick = 1, 0
		} else {
			jstep, endptrick = -1, 1
		}
		p := m.labelend[b]
		for j != 0 {
			m.label[m.endpoint[p^1]] = 0
			m.label[m.endpoint[at(endps, j-endptrick)^endptrick^1]] = 0
			m.assignLabel(m.endpoint[p^1], 2, p)
			m.allowedge[at(endps, j-endptrick)/2] = true
			j += jstep
			p = at(endps, j-endptrick) ^ endptrick
			m.allowedge[p/2] = true
			j += jstep
		}
		bv := at(childs, j)
		m.label[m.endpoint[p^1]], m.label[bv] = 2, 2
		m.labelend[m.endpoint[p^1]], m.labelend[bv] = p, p
		m.bestedge[bv] = -1
		j += jstep
		for at(childs, j) != entrychild {
			bv = at(childs, j)
			if m.label[bv] == 1 {
				j += jstep
				continue
			}
			found := -1
			for _, x := range m.leaves(bv, nil) {
				if m.label[x] != 0 {
					found = x
					break
				}
			}
			if found >= 0 {
				m.label[found] = 0
				m.label[m.endpoint[m.mate[m.bbase[bv]]]] = 0
				m.assignLabel(found, 2, m.labelend[found])
			}
			j += jstep
		}
	}
	m.label[b], m.labelend[b] = -1, -1
	m.bchilds[b], m.bendps[b] = nil, nil
	m.bbase[b] = -1
	m.bbestedges[b] = nil
	m.hasBest[b] = false
	m.bestedge[b] = -1
	m.unused = append(m.unused, b)
}

func (m *matcher) augmentBlossom(b, v int) {
	t := v
	for m.bparent[t] != b {
		t = m.bparent[t]
	}
	if t >= m.nv {
		m.augmentBlossom(t, v)
	}
	childs := m.bchilds[b]
	endps := m.bendps[b]
	i := indexOf(childs, t)
	j := i
	var jstep, endptrick int
	if i&1 != 0 {
		j -= len(childs)
		jstep, endptrick = 1, 0
	} else {
		jstep, endptrick = -1, 1
	}
	for j != 0 {
		j += jstep
		t = at(childs, j)
		p := at(endps, j-endptrick) ^ endptrick
		if t >= m.nv {
			m.augmentBlossom(t, m.endpoint[p])
		}
		j += jstep
		t = at(childs, j)
		if t >= m.nv {
			m.augmentBlossom(t, m.endpoint[p^1])
		}
		m.mate[m.endpoint[p]] = p ^ 1
		m.mate[m.endpoint[p^1]] = p
	}
	m.bchilds[b] = append(append([]int(nil), childs[i:]...), childs[:i]...)
	m.bendps[b] = append(append([]int(nil), endps[i:]...), endps[:i]...)
	m.bbase[b] = m.bbase[m.bchilds[b][0]]
}

func (m *matcher) augmentMatching(k int) {
	e := m.edges[k]
	for _, sp := range [2][2]int{{e.I, 2*k + 1}, {e.J, 2 * k}} {
		s, p := sp[0], sp[1]
		for {
			bs := m.inblossom[s]
			if bs >= m.nv {
				m.augmentBlossom(bs, s)
			}
			m.mate[s] = p
			if m.labelend[bs] == -1 {
				break
			}
			t := m.endpoint[m.labelend[bs]]
			bt := m.inblossom[t]
			s = m.endpoint[m.labelend[bt]]
			j := m.endpoint[m.labelend[bt]^1]
			if bt >= m.nv {
				m.augmentBlossom(bt, j)
			}
			m.mate[j] = m.labelend[bt]
			p = m.labelend[bt] ^ 1
		}
	}
}

func (m *matcher) run(maxCardinality bool) {
	n := m.nv
	for stage := 0; stage < n; stage++ {
		for i := range m.label {
			m.label[i] = 0
			m.bestedge[i] = -1
		}
		for b := n; b < 2*n; b++ {
			m.bbestedges[b] = nil
			m.hasBest[b] = false
		}
		for k := range m.allowedge {
			m.allowedge[k] = false
		}
		m.queue = m.queue[:0]
		for v := 0; v < n; v++ {
			if m.mate[v] == -1 && m.label[m.inblossom[v]] == 0 {
				m.assignLabel(v, 1, -1)
			}
		}
		augmented := false
		for {
			for len(m.queue) > 0 && !augmented {
				v := m.queue[len(m.queue)-1]
				m.queue = m.queue[:len(m.queue)-1]
				for _, p := range m.neighb[v] {
					k := p / 2
					w := m.endpoint[p]
					if m.inblossom[v] == m.inblossom[w] {
						continue
					}
					var kslack int64
					if !m.allowedge[k] {
						kslack = m.slack(k)
						if kslack <= 0 {
							m.allowedge[k] = true
						}
					}
					if m.allowedge[k] {
						switch {
						case m.label[m.inblossom[w]] == 0:
							m.assignLabel(w, 2, p^1)
						case m.label[m.inblossom[w]] == 1:
							base := m.scanBlossom(v, w)
							if base >= 0 {
								m.addBlossom(base, k)
							} else {
								m.augmentMatching(k)
								augmented = true
							}
						case m.label[w] == 0:
							m.label[w] = 2
							m.labelend[w] = p ^ 1
						}
						if augmented {
							break
						}
					} else if m.label[m.inblossom[w]] == 1 {
						b := m.inblossom[v]
						if m.bestedge[b] == -1 || kslack < m.slack(m.bestedge[b]) {
							m.bestedge[b] = k
						}
					} else if m.label[w] == 0 {
						if m.bestedge[w] == -1 || kslack < m.slack(m.bestedge[w]) {
							m.bestedge[w] = k
						}
					}
				}
			}
			if augmented {
				break
			}
			deltatype := -1
			var delta int64
			deltaedge, deltablossom := -1, -1
			if !maxCardinality {
				deltatype = 1
				delta = m.dual[0]
				for v := 1; v < n; v++ {
					delta = min(delta, m.dual[v])
				}
			}
			for v := 0; v < n; v++ {
				if m.label[m.inblossom[v]] == 0 && m.bestedge[v] != -1 {
					d := m.slack(m.bestedge[v])
					if deltatype == -1 || d < delta {
						delta, deltatype, deltaedge = d, 2, m.bestedge[v]
					}
				}
			}
			for b := 0; b < 2*n; b++ {
				if m.bparent[b] == -1 && m.label[b] == 1 && m.bestedge[b] != -1 {
					d := m.slack(m.bestedge[b]) / 2 // slack between S-blossoms is even
					if deltatype == -1 || d < delta {
						delta, deltatype, deltaedge = d, 3, m.bestedge[b]
					}
				}
			}
			for b := n; b < 2*n; b++ {
				if m.bbase[b] >= 0 && m.bparent[b] == -1 && m.label[b] == 2 && (deltatype == -1 || m.dual[b] < delta) {
					delta, deltatype, deltablossom = m.dual[b], 4, b
				}
			}
			if deltatype == -1 {
				// maxCardinality: no further augmentation possible; make
				// the duals optimal for the weight problem and stop
				deltatype = 1
				delta = m.dual[0]
				for v := 1; v < n; v++ {
					delta = min(delta, m.dual[v])
				}
				delta = max(0, delta)
			}
			for v := 0; v < n; v++ {
				switch m.label[m.inblossom[v]] {
				case 1:
					m.dual[v] -= delta
				case 2:
					m.dual[v] += delta
				}
			}
			for b := n; b < 2*n; b++ {
				if m.bbase[b] >= 0 && m.bparent[b] == -1 {
					switch m.label[b] {
					case 1:
						m.dual[b] += delta
					case 2:
						m.dual[b] -= delta
					}
				}
			}
			if deltatype == 1 {
				break
			}
			switch deltatype {
			case 2:
				m.allowedge[deltaedge] = true
				e := m.edges[deltaedge]
				i := e.I
				if m.label[m.inblossom[i]] == 0 {
					i = e.J
				}
				m.queue = append(m.queue, i)
			case 3:
				m.allowedge[deltaedge] = true
				m.queue = append(m.queue, m.edges[deltaedge].I)
			case 4:
				m.expandBlossom(deltablossom, false)
			}
		}
		if !augmented {
			break
		}
		for b := n; b < 2*n; b++ {
			if m.bparent[b] == -1 && m.bbase[b] >= 0 && m.label[b] == 1 && m.dual[b] == 0 {
				m.expandBlossom(b, true)
			}
		}
	}
}
