package thermal

import (
	"math"
	"sort"

	"fabcell/planners/graph"
)

// kEntry is one node of a kernel disc and the heat it receives.
type kEntry struct {
	v int32
	h float64
}

// discIndex finds the nodes within the kernel radius of a node.
type discIndex interface {
	// appendDisc appends every node v with ‖v − c‖ ≤ r and h(‖v − c‖) > 0.
	appendDisc(dst []kEntry, c int) []kEntry
	// maxDisc is an upper bound of the disc size.
	maxDisc() int
}

// newDiscIndex picks the lattice index for pixel graphs whose nodes sit on
// the grid of pitch SpacingMM in one plane, and a uniform hash grid
// otherwise.
func newDiscIndex(g *graph.Graph, p Params, rMM float64) discIndex {
	if li := newLatticeIndex(g, p, rMM); li != nil {
		return li
	}
	return newHashIndex(g, p, rMM)
}

// latticeIndex serves pixel graphs: nodes are cells (col, row) of a square
// grid; the disc is a fixed stencil of offsets whose heat is precomputed,
// and cells are found per stencil row by binary search in the sorted row.
type latticeIndex struct {
	col, row []int32 // per node
	rowLo    int32
	rowStart []int32 // sorted cells of row rowLo+i: byCol[rowStart[i]:rowStart[i+1]]
	byCol    []int32 // columns, sorted within each row
	byNode   []int32 // node of each entry of byCol
	half     int32   // stencil half width in rows/cols
	width    []int32 // width[dr+half] = max |dc| in stencil row dr, -1 if empty
	heat     [][]float64
	size     int
}

func newLatticeIndex(g *graph.Graph, p Params, rMM float64) *latticeIndex {
	s := g.SpacingMM
	n := g.NumNodes()
	if g.Kind != graph.Pixel || !(s > 0) || n == 0 {
		return nil
	}
	li := &latticeIndex{col: make([]int32, n), row: make([]int32, n)}
	z0 := g.Pos[0].Z
	tol := 1e-6 * s
	rmin, rmax := int64(math.MaxInt32), int64(math.MinInt32)
	for v, q := range g.Pos {
		c, r := math.Round(q.X/s-0.5), math.Round(q.Y/s-0.5)
		if math.Abs(q.X-(c+0.5)*s) > tol || math.Abs(q.Y-(r+0.5)*s) > tol || math.Abs(q.Z-z0) > tol ||
			math.Abs(c) > 1<<30 || math.Abs(r) > 1<<30 {
			return nil
		}
		li.col[v], li.row[v] = int32(c), int32(r)
		rmin, rmax = min(rmin, int64(r)), max(rmax, int64(r))
	}
	if rmax-rmin > 1<<26 {
		return nil
	}
	li.rowLo = int32(rmin)
	h := int(rmax-rmin) + 1
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	sort.Slice(order, func(a, b int) bool {
		va, vb := order[a], order[b]
		if li.row[va] != li.row[vb] {
			return li.row[va] < li.row[vb]
		}
		return li.col[va] < li.col[vb]
	})
	li.rowStart = make([]int32, h+1)
	li.byCol = make([]int32, n)
	li.byNode = make([]int32, n)
	for i, v := range order {
		li.byCol[i], li.byNode[i] = li.col[v], v
		li.rowStart[li.row[v]-li.rowLo+1]++
	}
	for i := 1; i <= h; i++ {
		li.rowStart[i] += li.rowStart[i-1]
	}
	for i := 1; i < n; i++ {
		if li.row[order[i]] == li.row[order[i-1]] && li.col[order[i]] == li.col[order[i-1]] {
			return nil // two nodes in one cell: not a lattice
		}
	}
	// stencil: offsets with distance s·√(dc²+dr²) ≤ r and positive heat
	li.half = int32(math.Floor(rMM/s + 1e-9))
	k := int(li.half)
	li.width = make([]int32, 2*k+1)
	li.heat = make([][]float64, 2*k+1)
	for dr := -k; dr <= k; dr++ {
		li.width[dr+k] = -1
		var row []float64
		for w := k; w >= 0; w-- {
			d := s * math.Sqrt(float64(w*w+dr*dr))
			if d <= rMM && p.Kernel(d, rMM) > 0 {
				li.width[dr+k] = int32(w)
				row = make([]float64, 2*w+1)
				for dc := -w; dc <= w; dc++ {
					row[dc+w] = p.Kernel(s*math.Sqrt(float64(dc*dc+dr*dr)), rMM)
				}
				li.size += 2*w + 1
				break
			}
		}
		li.heat[dr+k] = row
	}
	return li
}

func (li *latticeIndex) maxDisc() int { return li.size }

func (li *latticeIndex) appendDisc(dst []kEntry, c int) []kEntry {
	c0, r0 := li.col[c], li.row[c]
	k := li.half
	nRows := int32(len(li.rowStart) - 1)
	for dr := -k; dr <= k; dr++ {
		w := li.width[dr+k]
		if w < 0 {
			continue
		}
		ri := r0 + dr - li.rowLo
		if ri < 0 || ri >= nRows {
			continue
		}
		lo, hi := li.rowStart[ri], li.rowStart[ri+1]
		cols := li.byCol[lo:hi]
		first := c0 - w
		i := sort.Search(len(cols), func(i int) bool { return cols[i] >= first })
		heat := li.heat[dr+k]
		for ; i < len(cols) && cols[i] <= c0+w; i++ {
			if h := heat[cols[i]-first]; h > 0 {
				dst = append(dst, kEntry{v: li.byNode[int(lo)+i], h: h})
			}
		}
	}
	return dst
}

// hashIndex serves general graphs: a uniform grid of cubic cells of edge r.
type hashIndex struct {
	g     *graph.Graph
	p     Params
	r     float64
	cells map[[3]int64][]int32
	size  int
}

func newHashIndex(g *graph.Graph, p Params, rMM float64) *hashIndex {
	hi := &hashIndex{g: g, p: p, r: rMM, cells: map[[3]int64][]int32{}}
	for v, q := range g.Pos {
		k := hi.key(q.X, q.Y, q.Z)
		hi.cells[k] = append(hi.cells[k], int32(v))
	}
	// the disc of any node lies in its 27 neighbouring cells
	for k := range hi.cells {
		s := 0
		for dx := int64(-1); dx <= 1; dx++ {
			for dy := int64(-1); dy <= 1; dy++ {
				for dz := int64(-1); dz <= 1; dz++ {
					s += len(hi.cells[[3]int64{k[0] + dx, k[1] + dy, k[2] + dz}])
				}
			}
		}
		hi.size = max(hi.size, s)
	}
	return hi
}

func (hi *hashIndex) key(x, y, z float64) [3]int64 {
	return [3]int64{int64(math.Floor(x / hi.r)), int64(math.Floor(y / hi.r)), int64(math.Floor(z / hi.r))}
}

func (hi *hashIndex) maxDisc() int { return hi.size }

func (hi *hashIndex) appendDisc(dst []kEntry, c int) []kEntry {
	pc := hi.g.Pos[c]
	k := hi.key(pc.X, pc.Y, pc.Z)
	for dx := int64(-1); dx <= 1; dx++ {
		for dy := int64(-1); dy <= 1; dy++ {
			for dz := int64(-1); dz <= 1; dz++ {
				for _, v := range hi.cells[[3]int64{k[0] + dx, k[1] + dy, k[2] + dz}] {
					d := hi.g.Pos[v].Sub(pc).Norm()
					if h := hi.p.Kernel(d, hi.r); h > 0 {
						dst = append(dst, kEntry{v: v, h: h})
					}
				}
			}
		}
	}
	return dst
}
