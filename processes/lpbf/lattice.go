package lpbf

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"fabcell/planners/graph"
)

// ErrNotPixel is returned for graphs that are not single-layer pixel
// graphs on a square grid.
var ErrNotPixel = errors.New("lpbf: not a pixel graph")

// Lattice maps the nodes of a pixel graph to the cells of its square grid:
// node v is the cell (Col[v], Row[v]) with centre ((Col+0.5)·S,
// (Row+0.5)·S) mm — the global grid of package commonlayer, row index
// growing with y.
type Lattice struct {
	S        float64 // pitch, mm
	ZMM      float64 // layer height
	Col, Row []int32
	// Bounds of the occupied cells (inclusive).
	ColMin, ColMax, RowMin, RowMax int32
	cells                          map[int64]int32
}

// NewLattice checks that g is a pixel graph (Kind Pixel, SpacingMM > 0,
// every node on a cell centre of one plane, at most one node per cell,
// edges only between side-adjacent cells) and indexes it.
func NewLattice(g *graph.Graph) (*Lattice, error) {
	s := g.SpacingMM
	if g.Kind != graph.Pixel || !(s > 0) {
		return nil, fmt.Errorf("%w: graph %q is %v with spacing %v mm; load a PNG mask or a CLI layer", ErrNotPixel, g.Name, g.Kind, s)
	}
	n := g.NumNodes()
	if n == 0 {
		return nil, fmt.Errorf("%w: graph %q has no pixels", ErrNotPixel, g.Name)
	}
	l := &Lattice{S: s, ZMM: g.Pos[0].Z, Col: make([]int32, n), Row: make([]int32, n), cells: make(map[int64]int32, n)}
	tol := 1e-6 * s
	l.ColMin, l.RowMin = math.MaxInt32, math.MaxInt32
	l.ColMax, l.RowMax = math.MinInt32, math.MinInt32
	for v, p := range g.Pos {
		c, r := math.Round(p.X/s-0.5), math.Round(p.Y/s-0.5)
		if math.Abs(p.X-(c+0.5)*s) > tol || math.Abs(p.Y-(r+0.5)*s) > tol || math.Abs(c) > 1<<30 || math.Abs(r) > 1<<30 {
			return nil, fmt.Errorf("%w: node %d at (%g, %g) mm is not a cell centre of the %g mm grid", ErrNotPixel, v, p.X, p.Y, s)
		}
		if math.Abs(p.Z-l.ZMM) > tol {
			return nil, fmt.Errorf("%w: node %d at z = %g mm, node 0 at %g mm: one layer only", ErrNotPixel, v, p.Z, l.ZMM)
		}
		ci, ri := int32(c), int32(r)
		k := key(ci, ri)
		if u, dup := l.cells[k]; dup {
			return nil, fmt.Errorf("%w: nodes %d and %d share the cell (%d, %d)", ErrNotPixel, u, v, ci, ri)
		}
		l.cells[k] = int32(v)
		l.Col[v], l.Row[v] = ci, ri
		l.ColMin, l.ColMax = min(l.ColMin, ci), max(l.ColMax, ci)
		l.RowMin, l.RowMax = min(l.RowMin, ri), max(l.RowMax, ri)
	}
	for i, e := range g.Edges {
		dc, dr := l.Col[e.A]-l.Col[e.B], l.Row[e.A]-l.Row[e.B]
		if abs32(dc)+abs32(dr) != 1 {
			return nil, fmt.Errorf("%w: edge %d joins cells (%d,%d) and (%d,%d), which do not share a side", ErrNotPixel, i,
				l.Col[e.A], l.Row[e.A], l.Col[e.B], l.Row[e.B])
		}
	}
	return l, nil
}

func key(c, r int32) int64 { return int64(c)<<32 | int64(uint32(r)) }

func abs32(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

// Node returns the node in cell (col, row), if any.
func (l *Lattice) Node(col, row int32) (int, bool) {
	v, ok := l.cells[key(col, row)]
	return int(v), ok
}

// NodeAt returns the node whose cell contains the point (x, y) mm, if any.
func (l *Lattice) NodeAt(xMM, yMM float64) (int, bool) {
	c, r := math.Floor(xMM/l.S), math.Floor(yMM/l.S)
	if math.Abs(c) > 1<<30 || math.Abs(r) > 1<<30 || math.IsNaN(c) || math.IsNaN(r) {
		return 0, false
	}
	return l.Node(int32(c), int32(r))
}

// Width and Height return the size of the occupied bounding box in cells.
func (l *Lattice) Width() int  { return int(l.ColMax-l.ColMin) + 1 }
func (l *Lattice) Height() int { return int(l.RowMax-l.RowMin) + 1 }

// Rows returns the nodes grouped by grid row, rows from the top (largest y)
// down, each sorted by column.
func (l *Lattice) Rows() [][]int32 {
	rows := make([][]int32, l.Height())
	for v := range l.Col {
		i := l.RowMax - l.Row[v]
		rows[i] = append(rows[i], int32(v))
	}
	for _, r := range rows {
		sort.Slice(r, func(a, b int) bool { return l.Col[r[a]] < l.Col[r[b]] })
	}
	return rows
}

// Adjacent reports whether u and v are side-adjacent cells, and the
// direction (dc, dr) from u to v.
func (l *Lattice) Adjacent(u, v int) (dc, dr int32, ok bool) {
	dc, dr = l.Col[v]-l.Col[u], l.Row[v]-l.Row[u]
	return dc, dr, abs32(dc)+abs32(dr) == 1
}
