package collision

import (
	"math"

	"fabcell/simulation/geom"
)

// grid is a dense uniform grid of cubic cells over a box that grows on
// demand. Each cell heads a singly linked list of entries (pooled, with a
// free list); an entry names one strut slot. A strut is listed in every
// cell its bounding box overlaps. Insert/remove cost O(cells of the strut ×
// cell occupancy); a query visits the cells of its box, so its cost depends
// on the box size and the local strut density, not on the strut count.
type grid struct {
	cell    float64 // cell edge (mm)
	inv     float64
	org     [3]int // integer coordinates of cell (0, 0, 0)
	dim     [3]int // cells per axis (0 when empty)
	head    []int32
	ent     []gridEntry
	free    int32 // free-list head in ent, −1 none
	maxCell int   // cap on dim product before the cell size doubles
}

type gridEntry struct {
	slot int32
	next int32
}

func newGrid(cell float64, maxCells int) *grid {
	return &grid{cell: cell, inv: 1 / cell, free: -1, maxCell: maxCells}
}

// cellRange returns the inclusive integer cell range of box b.
func (g *grid) cellRange(b geom.AABB) (lo, hi [3]int) {
	lo = [3]int{g.floor(b.Min.X), g.floor(b.Min.Y), g.floor(b.Min.Z)}
	hi = [3]int{g.floor(b.Max.X), g.floor(b.Max.Y), g.floor(b.Max.Z)}
	return lo, hi
}

func (g *grid) floor(x float64) int {
	f := math.Floor(x * g.inv)
	// clamp to keep int conversion defined for absurd coordinates (inputs
	// are validated finite; ±2^40 cells is beyond any cell)
	return int(math.Max(-1<<40, math.Min(1<<40, f)))
}

func (g *grid) covers(lo, hi [3]int) bool {
	for i := 0; i < 3; i++ {
		if lo[i] < g.org[i] || hi[i] >= g.org[i]+g.dim[i] {
			return false
		}
	}
	return g.dim[0] > 0
}

func (g *grid) index(x, y, z int) int {
	return (x - g.org[0]) + g.dim[0]*((y-g.org[1])+g.dim[1]*(z-g.org[2]))
}

// resize reallocates the grid to cover [lo, hi] plus slack (half the
// extent, at least 4 cells, on each side, so growth is amortised) and
// empties it; the caller re-adds every item. It returns false, leaving the
// grid untouched, when that would exceed maxCell cells.
func (g *grid) resize(lo, hi [3]int) bool {
	var ndim [3]int
	total := 1.0
	for i := 0; i < 3; i++ {
		ext := hi[i] - lo[i] + 1
		pad := max(4, ext/2)
		lo[i] -= pad
		ndim[i] = ext + 2*pad
		total *= float64(ndim[i])
	}
	if total > float64(g.maxCell) {
		return false
	}
	g.org, g.dim = lo, ndim
	n := ndim[0] * ndim[1] * ndim[2]
	if cap(g.head) >= n {
		g.head = g.head[:n]
	} else {
		g.head = make([]int32, n)
	}
	for i := range g.head {
		g.head[i] = -1
	}
	g.ent = g.ent[:0]
	g.free = -1
	return true
}

// setCell changes the cell edge; the grid becomes empty and unallocated.
func (g *grid) setCell(cell float64) {
	g.cell, g.inv = cell, 1/cell
	g.dim = [3]int{}
	g.ent = g.ent[:0]
	g.free = -1
}

func (g *grid) newEntry(slot, next int32) int32 {
	if g.free >= 0 {
		e := g.free
		g.free = g.ent[e].next
		g.ent[e] = gridEntry{slot: slot, next: next}
		return e
	}
	g.ent = append(g.ent, gridEntry{slot: slot, next: next})
	return int32(len(g.ent) - 1)
}

// add lists slot in every cell of [lo, hi] (which the grid covers).
func (g *grid) add(slot int32, lo, hi [3]int) {
	for z := lo[2]; z <= hi[2]; z++ {
		for y := lo[1]; y <= hi[1]; y++ {
			i := g.index(lo[0], y, z)
			for x := lo[0]; x <= hi[0]; x++ {
				g.head[i] = g.newEntry(slot, g.head[i])
				i++
			}
		}
	}
}

// remove unlists slot from every cell of [lo, hi].
func (g *grid) remove(slot int32, lo, hi [3]int) {
	for z := lo[2]; z <= hi[2]; z++ {
		for y := lo[1]; y <= hi[1]; y++ {
			i := g.index(lo[0], y, z)
			for x := lo[0]; x <= hi[0]; x++ {
				prev := int32(-1)
				for e := g.head[i]; e >= 0; e = g.ent[e].next {
					if g.ent[e].slot == slot {
						if prev < 0 {
							g.head[i] = g.ent[e].next
						} else {
							g.ent[prev].next = g.ent[e].next
						}
						g.ent[e].next = g.free
						g.free = e
						break
					}
					prev = e
				}
				i++
			}
		}
	}
}

// visit calls fn for every entry in the cells overlapping box b, clipped to
// the grid. Slots may repeat (a strut spans several cells); fn
// de-duplicates. fn returns false to stop; visit then returns false.
func (g *grid) visit(b geom.AABB, fn func(slot int32) bool) bool {
	if g.dim[0] == 0 || b.IsEmpty() {
		return true
	}
	lo, hi := g.cellRange(b)
	for i := 0; i < 3; i++ {
		lo[i] = max(lo[i], g.org[i])
		hi[i] = min(hi[i], g.org[i]+g.dim[i]-1)
		if lo[i] > hi[i] {
			return true
		}
	}
	for z := lo[2]; z <= hi[2]; z++ {
		for y := lo[1]; y <= hi[1]; y++ {
			i := g.index(lo[0], y, z)
			for x := lo[0]; x <= hi[0]; x++ {
				for e := g.head[i]; e >= 0; e = g.ent[e].next {
					if !fn(g.ent[e].slot) {
						return false
					}
				}
				i++
			}
		}
	}
	return true
}
