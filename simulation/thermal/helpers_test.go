package thermal

import (
	"testing"

	"fabcell/config"
	"fabcell/planners/graph"
	"fabcell/planners/graph/commonlayer"
)

// pixelGraph builds the pixel graph of a w×h mask (in(col,row) with row 0 at
// the bottom) at pitch s with the loader's own construction (FromRaster).
func pixelGraph(tb testing.TB, w, h int, s float64, in func(c, r int) bool) *graph.Graph {
	tb.Helper()
	r := &commonlayer.Raster{SpacingMM: s, Width: w, Height: h, RowStart: make([]int32, h+1)}
	for i := 0; i < h; i++ { // raster row i = global row h-1-i
		row := h - 1 - i
		start := -1
		for c := 0; c <= w; c++ {
			ok := c < w && in(c, row)
			if ok && start < 0 {
				start = c
			}
			if !ok && start >= 0 {
				r.Spans = append(r.Spans, commonlayer.Span{C0: int32(start), C1: int32(c)})
				r.Cells += c - start
				start = -1
			}
		}
		r.RowStart[i+1] = int32(len(r.Spans))
	}
	g, err := graph.FromRaster(r, 0, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

func square(tb testing.TB, n int) *graph.Graph {
	return pixelGraph(tb, n, n, 0.05, func(c, r int) bool { return true })
}

// holed is a square with a ring-shaped hole and a separate island: a
// pixel graph with boundary nodes of degree 1..3 and two components.
func holed(tb testing.TB, n int) *graph.Graph {
	return pixelGraph(tb, n+8, n, 0.05, func(c, r int) bool {
		if c >= n+2 {
			return c < n+6 && r < 4 // island
		}
		if c >= n {
			return false
		}
		dx, dy := c-n/2, r-n/2
		d2 := dx*dx + dy*dy
		return d2 < n*n/16 || d2 > n*n/9
	})
}

func defaultParams(tb testing.TB) Params {
	tb.Helper()
	p, err := FromConfig(config.Defaults().LPBF)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func newField(tb testing.TB, g *graph.Graph, p Params) *Field {
	tb.Helper()
	f, err := New(g, p)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// walk returns a deterministic pseudo-random walk of k steps over g that
// mostly moves to neighbours and sometimes jumps (xorshift).
func walk(g *graph.Graph, k int, seed uint64) []int {
	x := seed | 1
	rnd := func(n int) int {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return int(x % uint64(n))
	}
	out := make([]int, 0, k)
	v := rnd(g.NumNodes())
	for i := 0; i < k; i++ {
		out = append(out, v)
		nb := g.Neighbors(v)
		if len(nb) == 0 || rnd(20) == 0 {
			v = rnd(g.NumNodes())
		} else {
			v = int(nb[rnd(len(nb))].To)
		}
	}
	return out
}
