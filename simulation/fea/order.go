package fea

import (
	"fmt"
	"slices"

	"github.com/golang/geo/r3"
)

// Ordering selects the fill-reducing node ordering of the direct solver.
// Orderings are computed once per Frame over all its nodes and elements;
// the analysis of a partial structure uses the induced order.
type Ordering int

const (
	// AutoOrdering (default) computes NestedDissection, MinimumDegree and
	// RCM for the whole frame and keeps the one whose symbolic
	// factorisation predicts the least work. Measured here: nested
	// dissection or minimum degree win on the mesh-like RL3DP models,
	// RCM on the long DJMM_bridge.
	AutoOrdering Ordering = iota
	// NestedDissection recursively bisects the node set along the
	// coordinate or principal axis that gives the smallest vertex
	// separator and numbers separators last (George 1973, geometric
	// variant). Frames always have coordinates.
	NestedDissection
	// MinimumDegree is the greedy minimum-degree ordering (Tinney–Walker).
	MinimumDegree
	// RCM is reverse Cuthill–McKee (a bandwidth/envelope ordering), the
	// classic choice for skyline solvers.
	RCM
	// Natural numbers nodes as given (for tests).
	Natural
)

func (o Ordering) String() string {
	switch o {
	case AutoOrdering:
		return "auto"
	case NestedDissection:
		return "nested-dissection"
	case MinimumDegree:
		return "minimum-degree"
	case RCM:
		return "rcm"
	case Natural:
		return "natural"
	}
	return fmt.Sprintf("Ordering(%d)", int(o))
}

// ndLeaf is the set size below which nested dissection stops splitting.
const ndLeaf = 8

// rank returns the elimination rank of every node (lower = earlier) for
// ordering o over the whole frame, computing it on first use.
func (f *Frame) rank(o Ordering) ([]int32, error) {
	f.orderMu.Lock()
	defer f.orderMu.Unlock()
	if f.ranks == nil {
		f.ranks = map[Ordering][]int32{}
	}
	if r, ok := f.ranks[o]; ok {
		return r, nil
	}
	n := len(f.PosM)
	nodes := make([]int32, n)
	for i := range nodes {
		nodes[i] = int32(i)
	}
	var order []int32
	switch o {
	case AutoOrdering:
		// Candidates are computed without holding the lock; the choice is
		// published once, so concurrent callers never see a partial pick.
		best, bestR, choice := -1.0, []int32(nil), NestedDissection
		f.orderMu.Unlock()
		for _, c := range []Ordering{NestedDissection, MinimumDegree, RCM} {
			r, err := f.rank(c)
			if err != nil {
				f.orderMu.Lock()
				return nil, err
			}
			if w := f.predictWork(r); best < 0 || w < best {
				best, bestR, choice = w, r, c
			}
		}
		f.orderMu.Lock()
		if r, ok := f.ranks[AutoOrdering]; ok {
			return r, nil // another caller published first (same choice)
		}
		f.ranks[AutoOrdering], f.autoChoice = bestR, choice
		return bestR, nil
	case NestedDissection:
		order = nestedDissection(f.PosM, f.adjStart, f.adjOther, nodes, nil)
	case MinimumDegree, RCM:
		in := make([]bool, n)
		for i := range in {
			in[i] = true
		}
		if o == RCM {
			order = rcmOrder(f.adjStart, f.adjOther, nodes, in)
		} else {
			order = minimumDegree(f.adjStart, f.adjOther, nodes, in)
		}
	case Natural:
		order = nodes
	default:
		return nil, fmt.Errorf("fea: unknown ordering %v", o)
	}
	r := make([]int32, n)
	for p, v := range order {
		r[v] = int32(p)
	}
	f.ranks[o] = r
	return r, nil
}

// ChosenOrdering reports which ordering AutoOrdering chose for this frame.
func (f *Frame) ChosenOrdering() Ordering {
	if _, err := f.rank(AutoOrdering); err != nil {
		return AutoOrdering
	}
	f.orderMu.Lock()
	defer f.orderMu.Unlock()
	return f.autoChoice
}

// predictWork returns the factorisation work (block multiply-adds) of the
// whole frame under the given rank, from a symbolic analysis.
func (f *Frame) predictWork(rank []int32) float64 {
	s := newSystem(f)
	list := make([]int32, f.NumElems())
	act := make([]bool, f.NumElems())
	for i := range list {
		list[i] = int32(i)
		act[i] = true
	}
	s.number(list, act, nil, rank)
	s.symbolic()
	return s.flops()
}

// nestedDissection orders the nodes in `nodes` (adjacency restricted to
// that set) and appends them to out. Separators come after both halves.
// Each level tries cuts across the three coordinate axes and the principal
// axis of the point set, at 40–60 % of the nodes, and keeps the cut with
// the smallest vertex separator (ties: the more balanced cut).
func nestedDissection(pos []r3.Vector, adjStart, adj []int32, nodes []int32, out []int32) []int32 {
	side := make([]int32, len(pos)) // labels of the current trial split
	tag := int32(0)
	buf := make([]int32, len(nodes))
	key := make([]float64, len(pos))
	fracs := [...]float64{0.5, 0.45, 0.55, 0.4, 0.6}
	var rec func(set []int32)
	sortBy := func(work []int32, dir r3.Vector) {
		for _, v := range work {
			key[v] = pos[v].Dot(dir)
		}
		slices.SortFunc(work, func(a, b int32) int {
			ka, kb := key[a], key[b]
			switch {
			case ka < kb:
				return -1
			case ka > kb:
				return 1
			}
			return int(a - b)
		})
	}
	// sepSize labels work[:mid] left and the rest right and returns the
	// smaller one-sided boundary and whether it is on the left.
	sepSize := func(work []int32, mid int) (int, bool) {
		tag += 2
		left, right := tag-1, tag
		for i, v := range work {
			if i < mid {
				side[v] = left
			} else {
				side[v] = right
			}
		}
		var sl, sr int
		for i, v := range work {
			want := right
			if i >= mid {
				want = left
			}
			for p := adjStart[v]; p < adjStart[v+1]; p++ {
				if side[adj[p]] == want {
					if i < mid {
						sl++
					} else {
						sr++
					}
					break
				}
			}
		}
		if sr < sl {
			return sr, false
		}
		return sl, true
	}
	rec = func(set []int32) {
		n := len(set)
		if n <= ndLeaf {
			out = append(out, set...)
			return
		}
		dirs := [4]r3.Vector{{X: 1}, {Y: 1}, {Z: 1}, principalAxis(pos, set)}
		bestDir, bestSep, bestMid, bestImb := -1, n+1, 0, n
		work := buf[:n]
		for d, dir := range dirs {
			if dir == (r3.Vector{}) {
				continue
			}
			copy(work, set)
			sortBy(work, dir)
			for _, fr := range fracs {
				mid := int(fr * float64(n))
				if mid < 1 || mid >= n {
					continue
				}
				sep, _ := sepSize(work, mid)
				imb := abs(n - 2*mid)
				if sep < bestSep || (sep == bestSep && imb < bestImb) {
					bestDir, bestSep, bestMid, bestImb = d, sep, mid, imb
				}
			}
		}
		copy(work, set)
		sortBy(work, dirs[bestDir])
		_, fromLeft := sepSize(work, bestMid)
		left, right := tag-1, tag
		sepSide, otherSide := left, right
		if !fromLeft {
			sepSide, otherSide = right, left
		}
		var a, b, s []int32
		for _, v := range work {
			if side[v] == sepSide {
				isSep := false
				for p := adjStart[v]; p < adjStart[v+1]; p++ {
					if side[adj[p]] == otherSide {
						isSep = true
						break
					}
				}
				if isSep {
					s = append(s, v)
				} else {
					b = append(b, v)
				}
			} else {
				a = append(a, v)
			}
		}
		k := copy(set, a)
		k += copy(set[k:], b)
		copy(set[k:], s)
		na, nb := len(a), len(b)
		if na == n || nb == n || len(s) == n {
			out = append(out, set...)
			return
		}
		rec(set[:na])
		rec(set[na : na+nb])
		out = append(out, set[na+nb:]...)
	}
	set := append([]int32(nil), nodes...)
	rec(set)
	return out
}

// principalAxis returns the dominant eigenvector of the covariance of the
// positions in set (power iteration), or zero if degenerate.
func principalAxis(pos []r3.Vector, set []int32) r3.Vector {
	var c r3.Vector
	for _, v := range set {
		c = c.Add(pos[v])
	}
	c = c.Mul(1 / float64(len(set)))
	var m [3][3]float64
	for _, v := range set {
		d := pos[v].Sub(c)
		a := [3]float64{d.X, d.Y, d.Z}
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				m[i][j] += a[i] * a[j]
			}
		}
	}
	x := r3.Vector{X: 1, Y: 0.7, Z: 0.3}
	for it := 0; it < 50; it++ {
		y := r3.Vector{
			X: m[0][0]*x.X + m[0][1]*x.Y + m[0][2]*x.Z,
			Y: m[1][0]*x.X + m[1][1]*x.Y + m[1][2]*x.Z,
			Z: m[2][0]*x.X + m[2][1]*x.Y + m[2][2]*x.Z,
		}
		n := y.Norm()
		if !(n > 0) {
			return r3.Vector{}
		}
		x = y.Mul(1 / n)
	}
	return x
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// rcmOrder returns a reverse Cuthill–McKee order of `nodes`, restricted to
// the edges among them (inSet marks membership).
func rcmOrder(adjStart, adj []int32, nodes []int32, inSet []bool) []int32 {
	deg := func(v int32) int {
		d := 0
		for p := adjStart[v]; p < adjStart[v+1]; p++ {
			if inSet[adj[p]] {
				d++
			}
		}
		return d
	}
	visited := make(map[int32]bool, len(nodes))
	order := make([]int32, 0, len(nodes))
	sorted := append([]int32(nil), nodes...)
	slices.SortFunc(sorted, func(a, b int32) int { return deg(a) - deg(b) })
	var nb []int32
	bfs := func(root int32, mark map[int32]bool, emit bool) (last int32, levels int) {
		queue := []int32{root}
		mark[root] = true
		for len(queue) > 0 {
			levels++
			var next []int32
			for _, v := range queue {
				if emit {
					order = append(order, v)
				}
				last = v
				nb = nb[:0]
				for p := adjStart[v]; p < adjStart[v+1]; p++ {
					w := adj[p]
					if inSet[w] && !mark[w] {
						mark[w] = true
						nb = append(nb, w)
					}
				}
				slices.SortFunc(nb, func(a, b int32) int { return deg(a) - deg(b) })
				next = append(next, nb...)
			}
			queue = next
		}
		return last, levels
	}
	for _, s := range sorted {
		if visited[s] {
			continue
		}
		// pseudo-peripheral start: repeat BFS from the last node reached
		root := s
		_, lv := bfs(root, map[int32]bool{}, false)
		for it := 0; it < 4; it++ {
			far, _ := bfs(root, map[int32]bool{}, false)
			_, lv2 := bfs(far, map[int32]bool{}, false)
			if lv2 <= lv {
				break
			}
			root, lv = far, lv2
		}
		bfs(root, visited, true)
	}
	slices.Reverse(order)
	return order
}

// minimumDegree returns a minimum-degree elimination order (Tinney–Walker
// scheme 2 on the explicit elimination graph, ties broken by node index)
// of `nodes`, restricted to edges among them (inSet marks membership).
// Memory and time are bounded by the fill it creates, which is what it
// minimises greedily.
func minimumDegree(adjStart, adj []int32, nodes []int32, inSet []bool) []int32 {
	n := len(nodes)
	local := make(map[int32]int32, n)
	for i, v := range nodes {
		local[v] = int32(i)
	}
	nbr := make([][]int32, n)
	for i, v := range nodes {
		for p := adjStart[v]; p < adjStart[v+1]; p++ {
			if w := adj[p]; inSet[w] {
				nbr[i] = append(nbr[i], local[w])
			}
		}
		slices.Sort(nbr[i])
		nbr[i] = slices.Compact(nbr[i])
	}
	h := &degHeap{}
	for i := range nbr {
		h.push(int32(len(nbr[i])), int32(i))
	}
	done := make([]bool, n)
	order := make([]int32, 0, n)
	var merged []int32
	for len(order) < n {
		d, v := h.pop()
		if done[v] || int(d) != len(nbr[v]) {
			continue // stale entry
		}
		done[v] = true
		order = append(order, nodes[v])
		nv := nbr[v]
		for _, u := range nv {
			// nbr[u] = (nbr[u] ∪ nv) \ {u, v}
			merged = merged[:0]
			a, b := nbr[u], nv
			i, j := 0, 0
			for i < len(a) || j < len(b) {
				var x int32
				switch {
				case j >= len(b) || (i < len(a) && a[i] < b[j]):
					x = a[i]
					i++
				case i >= len(a) || b[j] < a[i]:
					x = b[j]
					j++
				default:
					x = a[i]
					i++
					j++
				}
				if x != u && x != v {
					merged = append(merged, x)
				}
			}
			nbr[u] = append(nbr[u][:0], merged...)
			h.push(int32(len(nbr[u])), u)
		}
		nbr[v] = nil
	}
	return order
}

// degHeap is a binary min-heap of (degree, node) with lazy deletion.
type degHeap struct{ d, v []int32 }

func (h *degHeap) less(i, j int) bool {
	return h.d[i] < h.d[j] || (h.d[i] == h.d[j] && h.v[i] < h.v[j])
}

func (h *degHeap) swap(i, j int) {
	h.d[i], h.d[j] = h.d[j], h.d[i]
	h.v[i], h.v[j] = h.v[j], h.v[i]
}

func (h *degHeap) push(d, v int32) {
	h.d = append(h.d, d)
	h.v = append(h.v, v)
	for i := len(h.d) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.swap(i, p)
		i = p
	}
}

func (h *degHeap) pop() (d, v int32) {
	d, v = h.d[0], h.v[0]
	last := len(h.d) - 1
	h.swap(0, last)
	h.d, h.v = h.d[:last], h.v[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && h.less(l, m) {
			m = l
		}
		if r < last && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h.swap(i, m)
		i = m
	}
	return d, v
}
