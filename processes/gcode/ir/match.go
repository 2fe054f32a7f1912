package ir

import (
	"container/heap"
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

type pairHeap []pairItem

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].d != h[j].d {
		return h[i].d < h[j].d
	}
	if h[i].a != h[j].a {
		return h[i].a < h[j].a
	}
	return h[i].b < h[j].b
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairItem)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
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
			h = append(h, pairItem{dist(pts[a], pts[b]), a, b})
			heap.Fix(&h, len(h)-1)
		}
	}
	for i := 0; i < n; i++ {
		b := grid.nearest(pts[i], int32(i))
		if b >= 0 {
			h = append(h, pairItem{dist(pts[i], pts[b]), int32(i), b})
		}
	}
	heap.Init(&h)
	left := n
	for h.Len() > 0 && left >= 2 {
		it := heap.Pop(&h).(pairItem)
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
	for pass := 0; pass < 100; pass++ {
		improved := false
		for a := int32(0); int(a) < n; a++ {
			b := partner[a]
			if b < 0 {
				continue
			}
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
				}
			}
		}
		if !improved {
			break
		}
	}
}
