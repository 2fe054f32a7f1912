package commonlayer

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// FillRule decides which pixel centres lie inside a set of closed contours.
type FillRule int

const (
	// EvenOdd: a centre is inside when a ray from it crosses the contours
	// an odd number of times. It ignores the declared dir and the vertex
	// order, so it is robust to files whose holes are mis-oriented; it
	// treats the overlap of two overlapping outer contours as a hole.
	EvenOdd FillRule = iota
	// NonZero: a centre is inside when the winding number of the
	// contours around it is not zero (vertex order matters: a hole must
	// run opposite to its outer contour, as CLI 2.0 prescribes).
	NonZero
)

func (r FillRule) String() string {
	if r == NonZero {
		return "nonzero"
	}
	return "evenodd"
}

// DefaultSpacingMM is the default raster pitch: the 50 µm LPBF spot.
const DefaultSpacingMM = 0.05

// DefaultMaxCells caps the number of cells a rasterisation may produce.
const DefaultMaxCells = 5_000_000

// RasterOptions tune Rasterize. The zero value uses DefaultSpacingMM,
// EvenOdd and DefaultMaxCells.
type RasterOptions struct {
	SpacingMM float64
	Rule      FillRule
	MaxCells  int
}

// Span is a run of cells [C0, C1) of one raster row; columns are relative
// to Raster.Col0.
type Span struct{ C0, C1 int32 }

// Raster is a rasterised layer on the global square grid of pitch
// SpacingMM: global cell (col, row) covers [col·s, (col+1)·s) ×
// [row·s, (row+1)·s) mm and its centre is ((col+0.5)·s, (row+0.5)·s). Grid
// lines do not depend on the layer, so the cells of consecutive layers
// stack exactly.
//
// Raster rows are stored top row first (like image rows): raster row i is
// global row Row0+Height-1-i; within a row cells run left to right. The
// raster is tight: its first and last rows and columns hold cells.
type Raster struct {
	SpacingMM     float64
	ZMM           float64
	Col0, Row0    int // global index of the lower-left cell
	Width, Height int
	// RowStart[i]..RowStart[i+1] index the Spans of raster row i (sorted,
	// disjoint, non-adjacent).
	RowStart []int32
	Spans    []Span
	// Cells is the number of cells (sum of span lengths).
	Cells int
}

// Row returns the spans of raster row i (0 = top).
func (r *Raster) Row(i int) []Span { return r.Spans[r.RowStart[i]:r.RowStart[i+1]] }

// Center returns the centre (mm) of the cell in raster row i, column c
// (relative to Col0).
func (r *Raster) Center(i int, c int) Point {
	s := r.SpacingMM
	return Point{X: (float64(r.Col0+c) + 0.5) * s, Y: (float64(r.Row0+r.Height-1-i) + 0.5) * s}
}

// Contains reports whether raster row i, column c (relative) is a cell.
func (r *Raster) Contains(i, c int) bool {
	if i < 0 || i >= r.Height {
		return false
	}
	row := r.Row(i)
	k := sort.Search(len(row), func(k int) bool { return int(row[k].C1) > c })
	return k < len(row) && int(row[k].C0) <= c
}

// Rasterize rasterises layer li of f; errors name the layer and its z.
func (f *File) Rasterize(li int, opts RasterOptions) (*Raster, error) {
	if li < 0 || li >= len(f.Layers) {
		return nil, fmt.Errorf("%w: layer %d does not exist (file has %d layers)", ErrRange, li, len(f.Layers))
	}
	r, err := f.Layers[li].Rasterize(opts)
	if err != nil {
		return nil, fmt.Errorf("layer %d (z=%.4g mm): %w", li, f.Layers[li].ZMM, err)
	}
	return r, nil
}

// Rasterize turns the layer into cells of the global grid (see Raster):
//
//   - the area of the closed contours (dir 0 and 1; a contour whose last
//     point differs from its first is closed implicitly): every cell whose
//     centre is inside under opts.Rule. A centre exactly on an edge is
//     inside when the edge is on its left (half-open spans [xa, xb)), and
//     rows use the half-open rule ymin <= yc < ymax, so two contours that
//     share an edge never both claim a centre;
//   - the tracks of open polylines (dir 2): every cell the line passes
//     through, found by a 4-connected grid traversal (Amanatides & Woo
//     1987; at an exact corner crossing the x step is taken first), so a
//     track is always a 4-connected chain of cells;
//   - hatches count as tracks only in a layer without closed contours;
//     with contours they lie inside the area and add nothing.
//
// The union of area and tracks is returned. Errors wrap ErrEmpty (nothing
// to rasterise, or no cell centre inside at this spacing), ErrTooLarge
// (more than opts.MaxCells cells, checked before the cells are
// allocated) or ErrRange (bad spacing).
func (l *Layer) Rasterize(opts RasterOptions) (*Raster, error) {
	s := opts.SpacingMM
	if s == 0 {
		s = DefaultSpacingMM
	}
	if !(s > 0) || math.IsInf(s, 0) {
		return nil, fmt.Errorf("%w: spacing %v mm, want > 0", ErrRange, s)
	}
	maxCells := opts.MaxCells
	if maxCells <= 0 {
		maxCells = DefaultMaxCells
	}
	var closed [][]Point
	var tracks [][]Point
	for _, p := range l.Polylines {
		switch {
		case p.Dir.Closed() && len(p.Points) >= 3:
			closed = append(closed, p.Points)
		case p.Dir == Open && len(p.Points) > 0:
			tracks = append(tracks, p.Points)
		}
	}
	if len(closed) == 0 {
		for _, h := range l.Hatches {
			for _, sg := range h.Segments {
				tracks = append(tracks, []Point{sg.A, sg.B})
			}
		}
	}
	if len(closed) == 0 && len(tracks) == 0 {
		if l.Empty() {
			return nil, fmt.Errorf("%w: empty layer (no polylines or hatches)", ErrEmpty)
		}
		return nil, fmt.Errorf("%w: no closed contour with at least 3 points and no open polyline", ErrEmpty)
	}

	// global cell bounds of the input
	lo := Point{math.Inf(1), math.Inf(1)}
	hi := Point{math.Inf(-1), math.Inf(-1)}
	for _, set := range [][][]Point{closed, tracks} {
		for _, ps := range set {
			for _, q := range ps {
				lo.X, lo.Y = math.Min(lo.X, q.X), math.Min(lo.Y, q.Y)
				hi.X, hi.Y = math.Max(hi.X, q.X), math.Max(hi.Y, q.Y)
			}
		}
	}
	const maxIndex = 1 << 30
	if math.Max(math.Abs(lo.X), math.Abs(hi.X))/s > maxIndex || math.Max(math.Abs(lo.Y), math.Abs(hi.Y))/s > maxIndex {
		return nil, fmt.Errorf("%w: coordinates up to %.6g mm at spacing %g mm exceed the grid index range", ErrTooLarge, math.Max(math.Max(-lo.X, hi.X), math.Max(-lo.Y, hi.Y)), s)
	}
	colLo, colHi := int(math.Floor(lo.X/s)), int(math.Floor(hi.X/s))
	rowLo, rowHi := int(math.Floor(lo.Y/s)), int(math.Floor(hi.Y/s))
	w, h := colHi-colLo+1, rowHi-rowLo+1
	if h > maxCells || w > maxCells {
		return nil, fmt.Errorf("%w: bounding box of %d×%d cells at %g mm exceeds the limit of %d cells", ErrTooLarge, w, h, s, maxCells)
	}

	var area, track rowSpans
	if len(closed) > 0 {
		var err error
		if area, err = fillArea(closed, s, rowLo, h, colLo, colHi, opts.Rule, maxCells); err != nil {
			return nil, err
		}
	}
	if len(tracks) > 0 {
		var err error
		if track, err = addTracks(tracks, s, rowLo, h, colLo, maxCells); err != nil {
			return nil, err
		}
	}

	// union, tighten, count and flatten (top row first)
	row := func(r int) []Span { return unionSpans(area.row(r), track.row(r)) }
	cells, nspans := 0, 0
	rMin, rMax := -1, -1
	cMin, cMax := int32(math.MaxInt32), int32(math.MinInt32)
	for r := 0; r < h; r++ {
		sp := row(r)
		if len(sp) == 0 {
			continue
		}
		if rMin < 0 {
			rMin = r
		}
		rMax = r
		nspans += len(sp)
		cMin = min(cMin, sp[0].C0)
		cMax = max(cMax, sp[len(sp)-1].C1)
		for _, x := range sp {
			cells += int(x.C1 - x.C0)
		}
		if cells > maxCells {
			return nil, fmt.Errorf("%w: more than %d cells at %g mm", ErrTooLarge, maxCells, s)
		}
	}
	if cells == 0 {
		return nil, fmt.Errorf("%w: no cell centre inside the closed contours at spacing %g mm (features narrower than the spacing?)", ErrEmpty, s)
	}
	out := &Raster{
		SpacingMM: s, ZMM: l.ZMM,
		Col0: colLo + int(cMin), Row0: rowLo + rMin,
		Width: int(cMax - cMin), Height: rMax - rMin + 1,
		RowStart: make([]int32, 0, rMax-rMin+2),
		Spans:    make([]Span, 0, nspans),
		Cells:    cells,
	}
	for r := rMax; r >= rMin; r-- {
		out.RowStart = append(out.RowStart, int32(len(out.Spans)))
		for _, x := range row(r) {
			out.Spans = append(out.Spans, Span{x.C0 - cMin, x.C1 - cMin})
		}
	}
	out.RowStart = append(out.RowStart, int32(len(out.Spans)))
	return out, nil
}

// rowSpans holds sorted, disjoint spans per raster row in ascending row
// order: row r is spans[start[r]:start[r+1]]. The zero value is empty.
type rowSpans struct {
	start []int32
	spans []Span
}

func (rs rowSpans) row(r int) []Span {
	if rs.start == nil {
		return nil
	}
	return rs.spans[rs.start[r]:rs.start[r+1]]
}

// appendSpan adds [c0, c1) to the current (last) row, merging with the
// previous span when they touch.
func (rs *rowSpans) appendSpan(rowStart int32, c0, c1 int32) {
	if k := len(rs.spans) - 1; k >= int(rowStart) && rs.spans[k].C1 >= c0 {
		rs.spans[k].C1 = max(rs.spans[k].C1, c1)
		return
	}
	rs.spans = append(rs.spans, Span{c0, c1})
}

type crossing struct {
	x float64
	w int8 // +1 upward edge, -1 downward
}

type scanEdge struct {
	a, b int // first and last relative row whose centre it crosses
	p, q Point
	w    int8
}

// fillArea scans rows bottom-up with an active edge table and returns the
// spans of cells whose centres are inside the contours. Memory is
// proportional to the edges, the rows and the cells produced; it stops as
// soon as more than maxCells cells are found.
func fillArea(closed [][]Point, s float64, rowLo, h, colLo, colHi int, rule FillRule, maxCells int) (rowSpans, error) {
	// rows whose centre yc satisfies ymin <= yc < ymax
	rowRange := func(y0, y1 float64) (int, int) {
		ymin, ymax := math.Min(y0, y1), math.Max(y0, y1)
		a := int(math.Ceil(ymin/s-0.5)) - rowLo
		b := int(math.Ceil(ymax/s-0.5)) - 1 - rowLo
		return max(a, 0), min(b, h-1)
	}
	var edges []scanEdge
	for _, ps := range closed {
		n := len(ps)
		for k := 0; k < n; k++ {
			p, q := ps[k], ps[(k+1)%n]
			if p.Y == q.Y {
				continue
			}
			a, b := rowRange(p.Y, q.Y)
			if a > b {
				continue
			}
			var w int8 = 1
			if q.Y < p.Y {
				w = -1
			}
			edges = append(edges, scanEdge{a: a, b: b, p: p, q: q, w: w})
		}
	}
	sort.Slice(edges, func(i, j int) bool { return edges[i].a < edges[j].a })
	out := rowSpans{start: make([]int32, h+1)}
	var active []int
	var xs []crossing
	next, cells := 0, 0
	for r := 0; r < h; r++ {
		out.start[r] = int32(len(out.spans))
		for next < len(edges) && edges[next].a == r {
			active = append(active, next)
			next++
		}
		if len(active) == 0 {
			if next == len(edges) {
				for rr := r + 1; rr <= h; rr++ {
					out.start[rr] = int32(len(out.spans))
				}
				return out, nil
			}
			continue
		}
		yc := (float64(r+rowLo) + 0.5) * s
		xs = xs[:0]
		keep := active[:0]
		for _, ei := range active {
			e := &edges[ei]
			t := (yc - e.p.Y) / (e.q.Y - e.p.Y)
			xs = append(xs, crossing{x: e.p.X + t*(e.q.X-e.p.X), w: e.w})
			if e.b > r {
				keep = append(keep, ei)
			}
		}
		active = keep
		sort.Slice(xs, func(i, j int) bool { return xs[i].x < xs[j].x })
		rowStart := out.start[r]
		add := func(xa, xb float64) {
			c0 := int(math.Ceil(xa/s-0.5)) - colLo
			c1 := int(math.Ceil(xb/s-0.5)) - colLo // exclusive
			c0, c1 = max(c0, 0), min(c1, colHi-colLo+1)
			if c0 >= c1 {
				return
			}
			cells += c1 - c0
			out.appendSpan(rowStart, int32(c0), int32(c1))
		}
		if rule == NonZero {
			wind := 0
			start := 0.0
			for _, c := range xs {
				prev := wind
				wind += int(c.w)
				if prev == 0 && wind != 0 {
					start = c.x
				} else if prev != 0 && wind == 0 {
					add(start, c.x)
				}
			}
		} else {
			for k := 0; k+1 < len(xs); k += 2 {
				add(xs[k].x, xs[k+1].x)
			}
		}
		if cells > maxCells {
			return rowSpans{}, fmt.Errorf("%w: more than %d cells at %g mm", ErrTooLarge, maxCells, s)
		}
	}
	out.start[h] = int32(len(out.spans))
	return out, nil
}

// addTracks returns the cells crossed by the polylines.
func addTracks(tracks [][]Point, s float64, rowLo, h, colLo int, maxCells int) (rowSpans, error) {
	// bound the work before walking
	var total int64
	for _, ps := range tracks {
		total++
		for k := 0; k+1 < len(ps); k++ {
			total += int64(math.Abs(math.Floor(ps[k+1].X/s)-math.Floor(ps[k].X/s))) +
				int64(math.Abs(math.Floor(ps[k+1].Y/s)-math.Floor(ps[k].Y/s))) + 1
		}
		if total > 2*int64(maxCells) {
			return rowSpans{}, fmt.Errorf("%w: open polylines cross more than %d cells at %g mm", ErrTooLarge, 2*maxCells, s)
		}
	}
	type cell struct{ r, c int32 }
	cs := make([]cell, 0, total)
	emit := func(c, r int) { cs = append(cs, cell{int32(r - rowLo), int32(c - colLo)}) }
	for _, ps := range tracks {
		if len(ps) == 1 {
			emit(int(math.Floor(ps[0].X/s)), int(math.Floor(ps[0].Y/s)))
			continue
		}
		for k := 0; k+1 < len(ps); k++ {
			traverse(ps[k], ps[k+1], s, emit)
		}
	}
	slices.SortFunc(cs, func(a, b cell) int {
		if a.r != b.r {
			return int(a.r - b.r)
		}
		return int(a.c - b.c)
	})
	out := rowSpans{start: make([]int32, h+1)}
	k := 0
	for r := 0; r < h; r++ {
		out.start[r] = int32(len(out.spans))
		for k < len(cs) && int(cs[k].r) == r {
			out.appendSpan(out.start[r], cs[k].c, cs[k].c+1)
			k++
		}
	}
	out.start[h] = int32(len(out.spans))
	return out, nil
}

// traverse emits every grid cell (col, row) the segment a→b passes
// through, 4-connected, starting with a's cell and ending with b's.
func traverse(a, b Point, s float64, emit func(c, r int)) {
	cx, cy := int(math.Floor(a.X/s)), int(math.Floor(a.Y/s))
	ex, ey := int(math.Floor(b.X/s)), int(math.Floor(b.Y/s))
	emit(cx, cy)
	nx, ny := ex-cx, ey-cy
	stepX, stepY := 1, 1
	if nx < 0 {
		nx, stepX = -nx, -1
	}
	if ny < 0 {
		ny, stepY = -ny, -1
	}
	dx, dy := b.X-a.X, b.Y-a.Y
	tMaxX, tDeltaX := math.Inf(1), math.Inf(1)
	if dx != 0 {
		next := float64(cx) * s
		if stepX > 0 {
			next += s
		}
		tMaxX, tDeltaX = (next-a.X)/dx, s/math.Abs(dx)
	}
	tMaxY, tDeltaY := math.Inf(1), math.Inf(1)
	if dy != 0 {
		next := float64(cy) * s
		if stepY > 0 {
			next += s
		}
		tMaxY, tDeltaY = (next-a.Y)/dy, s/math.Abs(dy)
	}
	for nx > 0 || ny > 0 {
		if ny == 0 || nx > 0 && tMaxX <= tMaxY {
			cx += stepX
			nx--
			tMaxX += tDeltaX
		} else {
			cy += stepY
			ny--
			tMaxY += tDeltaY
		}
		emit(cx, cy)
	}
}

// unionSpans merges two sorted disjoint span lists.
func unionSpans(a, b []Span) []Span {
	if len(a) == 0 {
		return b
	}
	out := make([]Span, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var x Span
		if j >= len(b) || i < len(a) && a[i].C0 <= b[j].C0 {
			x = a[i]
			i++
		} else {
			x = b[j]
			j++
		}
		if k := len(out) - 1; k >= 0 && out[k].C1 >= x.C0 {
			out[k].C1 = max(out[k].C1, x.C1)
			continue
		}
		out = append(out, x)
	}
	return out
}
