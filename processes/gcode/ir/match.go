package ir

import (
	"math"
)

// Matching selects how odd vertices are paired by accessory (travel) edges.
type Matching uint8

// Pairing algorithms.
const (
	// Greedy pairs the globally closest unmatched pair first (Li 2020's
	// shortest-pair heuristic), using a point grid instead of a distance
	// matrix.
	Greedy Matching = iota
	// Improved starts from Greedy and applies 2-opt exchanges — replace
	// pairs {a,b},{c,d} by {a,c},{b,d} or {a,d},{b,c} when shorter — over
	// each point's nearest neighbours until no exchange helps. Not
	// guaranteed optimal (that needs Edmonds' blossom algorithm), but never
	// longer than Greedy.
	Improved
)

func (m Matching) String() string {
	if m == Improved {
		return "improved"
	}
	return "greedy"
}

type pairItem struct {
	d    float64
	a, b int32
}

// pairHeap is a binary min-heap of pairs ordered by (d, a, b), a total
// order, so the pop sequence is fully determined.
type pairHeap []pairItem

func (h pairHeap) less(i, j int) bool {
	if h[i].d != h[j].d {
		return h[i].d < h[j].d
	}
	if h[i].a != h[j].a {
		return h[i].a < h[j].a
	}
	return h[i].b < h[j].b
}

func (h pairHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}

func (h pairHeap) down(i int) {
	n := len(h)
	for {
		j := 2*i + 1
		if j >= n {
			return
		}
		if r := j + 1; r < n && h.less(r, j) {
			j = r
		}
		if !h.less(j, i) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

func (h *pairHeap) init() {
	for i := len(*h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *pairHeap) push(x pairItem) {
	*h = append(*h, x)
	h.up(len(*h) - 1)
}

func (h *pairHeap) pop() pairItem {
	old := *h
	n := len(old) - 1
	old[0], old[n] = old[n], old[0]
	x := old[n]
	*h = old[:n]
	h.down(0)
	return x
}

// Match pairs the points (an even number) and returns partner[i] for each
// point and the total length of the pairs (mm). An odd count leaves the
// last unmatched point with partner −1.
func Match(pts []Vec, m Matching) ([]int32, float64) {
	n := len(pts)
	partner := make([]int32, n)
	for i := range partner {
		partner[i] = -1
	}
	if n < 2 {
		return partner, 0
	}
	var grid pointGrid
	grid.build(pts)
	h := make(pairHeap, 0, n)
	push := func(a int32) {
		b := grid.nearest(pts[a], a)
		if b >= 0 {
			h.push(pairItem{dist(pts[a], pts[b]), a, b})
		}
	}
	for i := 0; i < n; i++ {
		b := grid.nearest(pts[i], int32(i))
		if b >= 0 {
			h = append(h, pairItem{dist(pts[i], pts[b]), int32(i), b})
		}
	}
	h.init()
	left := n
	for len(h) > 0 && left >= 2 {
		it := h.pop()
		am, bm := partner[it.a] >= 0, partner[it.b] >= 0
		switch {
		case !am && !bm:
			partner[it.a], partner[it.b] = it.b, it.a
			grid.remove(it.a)
			grid.remove(it.b)
			left -= 2
		case !am:
			push(it.a)
		case !bm:
			push(it.b)
		}
	}
	if m == Improved {
		improvePairs(pts, partner)
	}
	total := 0.0
	for i, p := range partner {
		if p > int32(i) {
			total += dist(pts[i], pts[p])
		}
	}
	return partner, total
}

// improvePairs runs 2-opt exchanges over k-nearest-neighbour candidates.
func improvePairs(pts []Vec, partner []int32) {
	n := len(pts)
	const k = 10
	var grid pointGrid
	grid.build(pts)
	nbr := make([]int32, 0, n*k)
	off := make([]int32, n+1)
	for i := 0; i < n; i++ {
		nbr = grid.knn(int32(i), k, nbr)
		off[i+1] = int32(len(nbr))
	}
	const eps = 1e-9
	// Exact don't-look bits: a scan of a reads only the partners of a and
	// of its neighbours; one that exchanged nothing is skipped while none of
	// those partners has changed since (pchg: clock of the last change).
	clock := int32(0)
	pchg := make([]int32, n)
	seen := make([]int32, n)
	for i := range seen {
		seen[i] = -1
	}
	for pass := 0; pass < 100; pass++ {
		improved := false
		for a := int32(0); int(a) < n; a++ {
			b := partner[a]
			if b < 0 {
				continue
			}
			if t := seen[a]; t >= 0 && pchg[a] <= t {
				same := true
				for _, c := range nbr[off[a]:off[a+1]] {
					if pchg[c] > t {
						same = false
						break
					}
				}
				if same {
					continue
				}
			}
			clock0 := clock
			for _, c := range nbr[off[a]:off[a+1]] {
				b = partner[a]
				d := partner[c]
				if c == b || d < 0 || c == a {
					continue
				}
				cur := dist(pts[a], pts[b]) + dist(pts[c], pts[d])
				// {a,c},{b,d}
				alt := dist(pts[a], pts[c]) + dist(pts[b], pts[d])
				if alt < cur-eps && !math.IsNaN(alt) {
					partner[a], partner[c] = c, a
					partner[b], partner[d] = d, b
					improved = true
					clock++
					pchg[a], pchg[b], pchg[c], pchg[d] = clock, clock, clock, clock
				}
			}
			if clock == clock0 {
				seen[a] = clock
			}
		}
		if !improved {
			break
		}
	}
}
