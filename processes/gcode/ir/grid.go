package ir

import (
	"math"
)

// SegIndex is a uniform-grid spatial hash of XY segments (CSR layout). A
// segment is listed in every cell its line passes through (Amanatides–Woo
// traversal), so queries along another segment touch only the cells that
// segment crosses: building and querying are linear in the cells visited,
// never quadratic in the number of segments.
type SegIndex struct {
	A, B   []Vec
	minX   float64
	minY   float64
	cell   float64
	nx, ny int
	start  []int32 // CSR offsets per cell (len nx*ny+1)
	items  []int32
	gen    uint64 // build count (validates SegQuery scratch)
	q      SegQuery
	fill   []int32 // Build's scratch
}

// SegQuery is the scratch of queries on a SegIndex (seen-stamps and the
// cells walked). The index's own scratch serves Crosses; a goroutine that
// queries the same index concurrently brings its own SegQuery
// (CrossesWith). The zero value is ready to use.
type SegQuery struct {
	stamp    []uint32
	curStamp uint32
	cells    []int32
	gen      uint64
	tt       travelTest // the crossing query and its contacts
}

// MaxCellsPerSegment bounds the grid resolution relative to the number of
// segments (memory stays linear).
const maxCellsPerSegment = 8

// Build indexes segments a[i]→b[i]. cellMM ≤ 0 picks a cell size from the
// mean segment length.
func (s *SegIndex) Build(a, b []Vec, cellMM float64) {
	s.A, s.B = a, b
	n := len(a)
	if n == 0 {
		s.nx, s.ny = 0, 0
		return
	}
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	total := 0.0
	for i := 0; i < n; i++ {
		for _, p := range [2]Vec{a[i], b[i]} {
			minX = min(minX, p[0])
			minY = min(minY, p[1])
			maxX = max(maxX, p[0])
			maxY = max(maxY, p[1])
		}
		total += dist(a[i], b[i])
	}
	if !(cellMM > 0) {
		cellMM = max(total/float64(n), 0.05) * 2
	}
	w, h := maxX-minX, maxY-minY
	maxCells := float64(max(1024, maxCellsPerSegment*n))
	if cells := (w/cellMM + 1) * (h/cellMM + 1); cells > maxCells {
		cellMM = max(cellMM, math.Sqrt(w*h/maxCells)*1.01)
		for (w/cellMM+1)*(h/cellMM+1) > maxCells {
			cellMM *= 1.25
		}
	}
	s.cell = cellMM
	s.minX, s.minY = minX, minY
	s.nx = int(w/cellMM) + 1
	s.ny = int(h/cellMM) + 1
	nc := s.nx * s.ny
	s.start = growInt32(s.start, nc+1)
	clear(s.start)
	// Count, then fill.
	for i := 0; i < n; i++ {
		s.q.cells = s.walk(a[i], b[i], s.q.cells[:0])
		for _, c := range s.q.cells {
			s.start[c+1]++
		}
	}
	for c := 0; c < nc; c++ {
		s.start[c+1] += s.start[c]
	}
	s.items = growInt32(s.items, int(s.start[nc]))
	fill := resize(&s.fill, nc)
	copy(fill, s.start[:nc])
	for i := 0; i < n; i++ {
		s.q.cells = s.walk(a[i], b[i], s.q.cells[:0])
		for _, c := range s.q.cells {
			s.items[fill[c]] = int32(i)
			fill[c]++
		}
	}
	s.gen++
	s.q.prepare(s)
}

// prepare sizes the stamps for the index as last built.
func (w *SegQuery) prepare(s *SegIndex) {
	if w.gen == s.gen && len(w.stamp) == len(s.A) {
		return
	}
	n := len(s.A)
	if cap(w.stamp) < n {
		w.stamp = make([]uint32, n)
	} else {
		w.stamp = w.stamp[:n]
		clear(w.stamp)
	}
	w.curStamp = 0
	w.gen = s.gen
}

func growInt32(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n)
	}
	return b[:n]
}

func (s *SegIndex) cellOf(p Vec) (int, int) {
	return gridCell(s.minX, s.minY, s.cell, s.nx, s.ny, p)
}

// walk appends the cells the segment a→b passes through.
func (s *SegIndex) walk(a, b Vec, out []int32) []int32 {
	return gridWalk(s.minX, s.minY, s.cell, s.nx, s.ny, a, b, false, out)
}

// gridCell is the cell of p in the uniform grid with origin (minX, minY),
// square cells of size cell (mm) and nx × ny cells, p clamped into it.
func gridCell(minX, minY, cell float64, nx, ny int, p Vec) (int, int) {
	ix := int(math.Floor((p[0] - minX) / cell))
	iy := int(math.Floor((p[1] - minY) / cell))
	return min(max(ix, 0), nx-1), min(max(iy, 0), ny-1)
}

// gridWalk appends the cells (iy·nx + ix) of that grid the segment a→b
// passes through, in order (Amanatides–Woo). With corners, where a step
// crosses a cell corner (the two crossings within rounding of each other)
// both neighbours of the step are appended too, so a segment grazing a
// corner misses no cell (the comber's clearance raster needs that; the
// segment index does not).
func gridWalk(minX, minY, cell float64, nx, ny int, a, b Vec, corners bool, out []int32) []int32 {
	ix, iy := gridCell(minX, minY, cell, nx, ny, a)
	jx, jy := gridCell(minX, minY, cell, nx, ny, b)
	out = append(out, int32(iy*nx+ix))
	if ix == jx && iy == jy {
		return out
	}
	dx, dy := b[0]-a[0], b[1]-a[1]
	stepX, stepY := 1, 1
	if dx < 0 {
		stepX = -1
	}
	if dy < 0 {
		stepY = -1
	}
	inf := math.Inf(1)
	tMaxX, tMaxY, tDX, tDY := inf, inf, inf, inf
	if dx != 0 {
		nb := minX + float64(ix)*cell
		if stepX > 0 {
			nb += cell
		}
		tMaxX = (nb - a[0]) / dx
		tDX = cell / math.Abs(dx)
	}
	if dy != 0 {
		nb := minY + float64(iy)*cell
		if stepY > 0 {
			nb += cell
		}
		tMaxY = (nb - a[1]) / dy
		tDY = cell / math.Abs(dy)
	}
	limit := abs(jx-ix) + abs(jy-iy) + 2
	for k := 0; k < limit && (ix != jx || iy != jy); k++ {
		if corners && math.Abs(tMaxX-tMaxY) <= 1e-9 {
			if x := ix + stepX; x >= 0 && x < nx {
				out = append(out, int32(iy*nx+x))
			}
			if y := iy + stepY; y >= 0 && y < ny {
				out = append(out, int32(y*nx+ix))
			}
		}
		if tMaxX < tMaxY {
			ix += stepX
			tMaxX += tDX
		} else {
			iy += stepY
			tMaxY += tDY
		}
		if ix < 0 || iy < 0 || ix >= nx || iy >= ny {
			break
		}
		out = append(out, int32(iy*nx+ix))
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Candidates calls fn once for every indexed segment sharing a cell with
// the segment p→q, until fn returns false.
func (s *SegIndex) Candidates(p, q Vec, fn func(i int32) bool) {
	if s.nx == 0 {
		return
	}
	w := &s.q
	cur := w.next(s)
	w.cells = s.walk(p, q, w.cells[:0])
	for _, c := range w.cells {
		for _, i := range s.items[s.start[c]:s.start[c+1]] {
			if w.stamp[i] == cur {
				continue
			}
			w.stamp[i] = cur
			if !fn(i) {
				return
			}
		}
	}
}

// next starts a query on s: segments stamped with the returned value have
// been seen by it.
func (w *SegQuery) next(s *SegIndex) uint32 {
	w.prepare(s)
	w.curStamp++
	if w.curStamp == 0 {
		clear(w.stamp)
		w.curStamp = 1
	}
	return w.curStamp
}

// Crosses reports whether the travel p→q crosses an indexed segment for
// which keep(i) is true (nil = all), under the crossing rule of cross.go:
// a transversal ProperCross, or a contact group (a vertex on the travel, a
// wall it runs along) strictly inside the travel with perimeter leaving it
// on both sides; eps in mm. The result is exactly TravelCrosses over the
// kept segments: the cells visited hold every segment within 2·eps of the
// travel (band; a segment is listed in the cells its walk passes, exact up
// to ≈ 1e-12 mm of rounding at cell boundaries, which band's slack
// covers), which is every segment that can take part; and a candidate is
// skipped before any division only when both its ends lie farther than eps
// on one side of the travel's line (two cross products against eps·|pq|,
// with a relative margin so that the skip never disagrees with the
// division the rule makes).
func (s *SegIndex) Crosses(p, q Vec, eps float64, keep func(i int32) bool) bool {
	return s.CrossesWith(&s.q, p, q, eps, keep)
}

// CrossesWith is Crosses with the caller's query scratch w, for queries
// concurrent with others on the same (unchanging) index.
func (s *SegIndex) CrossesWith(w *SegQuery, p, q Vec, eps float64, keep func(i int32) bool) bool {
	if s.nx == 0 {
		return false
	}
	t := &w.tt
	if !t.init(p, q, eps, t.cont) {
		return false
	}
	// |c| > e implies |c|/l > eps after rounding (1e-9 ≫ a few ulps).
	e := max(eps, 0) * t.l * (1 + 1e-9)
	cur := w.next(s)
	w.cells = s.band(t.p, t.q, 2*max(eps, 0)+bandSlackMM, w.cells[:0])
	stamp, A, B := w.stamp, s.A, s.B
	d, p0 := t.d, t.p
	for _, c := range w.cells {
		for _, i := range s.items[s.start[c]:s.start[c+1]] {
			if stamp[i] == cur {
				continue
			}
			stamp[i] = cur
			a, b := A[i], B[i]
			ca := d.cross(a.sub(p0))
			cb := d.cross(b.sub(p0))
			if ca > e && cb > e || ca < -e && cb < -e {
				continue
			}
			if keep != nil && !keep(i) {
				continue
			}
			if ca > e && cb < -e || ca < -e && cb > e {
				// Both ends beyond eps on opposite sides: what seg does
				// with them (rule 1), without the call.
				if properCrossRest(p0, t.q, a, b, ca/t.l, cb/t.l, eps) {
					return true
				}
				continue
			}
			if t.seg(a, b, ca, cb) {
				return true
			}
		}
	}
	return t.cross()
}

// bandSlackMM covers the rounding of band's arithmetic and of the cell
// walks (≈ 1e-12 mm at printer coordinates).
const bandSlackMM = 1e-6

// band appends every cell holding a point within m (mm, in each
// coordinate) of the segment p→q, possibly a few more: per cell column (or
// row, along the longer axis, so the slope is at most 1) the rows the
// line spans over the column widened by m, widened by m, and clamped to
// the rows of the segment's own extent widened by m. Cells are assigned
// by the floor of the scaled coordinate, which is monotone, so the result
// holds the cell of every such point (the rounding here, a few ulps of the
// scaled coordinates, ≈ 1e-12 mm, is covered by bandSlackMM in m); each
// cell appears once.
func (s *SegIndex) band(p, q Vec, m float64, out []int32) []int32 {
	ui, vi := 0, 1
	nu, nv := s.nx, s.ny
	ou, ov := s.minX, s.minY
	su, sv := 1, s.nx // cell index strides along u and v
	if math.Abs(q[1]-p[1]) > math.Abs(q[0]-p[0]) {
		ui, vi = 1, 0
		nu, nv = s.ny, s.nx
		ou, ov = s.minY, s.minX
		su, sv = s.nx, 1
	}
	pu, pv, qu, qv := p[ui], p[vi], q[ui], q[vi]
	if qu < pu {
		pu, pv, qu, qv = qu, qv, pu, pv
	}
	k := 0.0
	if qu > pu {
		k = (qv - pv) / (qu - pu)
	}
	inv := 1 / s.cell
	mi := m * inv
	i0, i1 := bandIndex((pu-ou)*inv-mi, nu), bandIndex((qu-ou)*inv+mi, nu)
	// Rows of the segment's v extent.
	vlo, vhi := pv, qv
	if vlo > vhi {
		vlo, vhi = vhi, vlo
	}
	jmin, jmax := bandIndex((vlo-ov)*inv-mi, nv), bandIndex((vhi-ov)*inv+mi, nv)
	// In scaled units (cells): column i spans u ∈ [i − mi, i + 1 + mi]
	// (from ou), where the line is at v = r0 + (u − pu·inv)·k; its lowest
	// and highest v there, widened by mi, are rl + (i − i0)·k and
	// rh + (i − i0)·k.
	pus := (pu - ou) * inv
	r0 := (pv - ov) * inv
	ua, ub := float64(i0)-mi-pus, float64(i0)+1+mi-pus
	rl, rh := r0+ua*k-mi, r0+ub*k+mi
	if k < 0 {
		rl, rh = r0+ub*k-mi, r0+ua*k+mi
	}
	for i := i0; i <= i1; i++ {
		di := float64(i-i0) * k
		j0, j1 := int(rl+di), int(rh+di) // truncation: clamped below like the floor
		if j0 < jmin {
			j0 = jmin
		}
		if j1 > jmax {
			j1 = jmax
		}
		for cell := i*su + j0*sv; j0 <= j1; j0, cell = j0+1, cell+sv {
			out = append(out, int32(cell))
		}
	}
	return out
}

// bandIndex is the clamped cell index at scaled coordinate x. Truncation
// equals the floor wherever clamping does not decide (x ≥ 0), and both
// clamp to 0 below.
func bandIndex(x float64, n int) int {
	i := int(x)
	if i < 0 {
		return 0
	}
	if i >= n {
		return n - 1
	}
	return i
}

// ProperCross reports whether segments p→q and a→b intersect at a point
// that lies strictly inside both, farther than eps (mm) from every
// endpoint's line. A travel through a vertex of a→b is not a proper
// crossing; Crosses (rule 1 of cross.go and the vertex contacts) is the
// retraction rule.
func ProperCross(p, q, a, b Vec, eps float64) bool {
	d1 := q.sub(p)
	l1 := math.Sqrt(d1[0]*d1[0] + d1[1]*d1[1])
	if l1 == 0 {
		return false
	}
	// Signed distances of a, b from line pq.
	return properCrossRest(p, q, a, b, d1.cross(a.sub(p))/l1, d1.cross(b.sub(p))/l1, eps)
}

// properCrossRest finishes ProperCross given the signed distances sa, sb
// (mm) of a and b from line pq (|pq| > 0).
func properCrossRest(p, q, a, b Vec, sa, sb, eps float64) bool {
	d2 := b.sub(a)
	l2 := math.Sqrt(d2[0]*d2[0] + d2[1]*d2[1])
	if l2 == 0 {
		return false
	}
	if (sa > eps && sb > eps) || (sa < -eps && sb < -eps) || math.Abs(sa) <= eps || math.Abs(sb) <= eps {
		return false
	}
	// Signed distances of p, q from line ab.
	sp := d2.cross(p.sub(a)) / l2
	sq := d2.cross(q.sub(a)) / l2
	if (sp > eps && sq > eps) || (sp < -eps && sq < -eps) || math.Abs(sp) <= eps || math.Abs(sq) <= eps {
		return false
	}
	return true
}

// pointGrid indexes points for nearest-neighbour queries with deletion.
// When fewer than a quarter of the indexed points are alive the grid is
// rebuilt from the live ones, so repeated queries stay near-linear.
type pointGrid struct {
	pts     []Vec
	alive   []bool
	minX    float64
	minY    float64
	cell    float64
	nx, ny  int
	start   []int32
	items   []int32
	nAlive  int
	indexed int     // points in the current grid
	fill    []int32 // index scratch
	cpts    []Vec   // cpts[s] = pts[items[s]]: the points in cell order
}

func (g *pointGrid) build(pts []Vec) {
	g.pts = pts
	g.alive = resize(&g.alive, len(pts))
	for i := range g.alive {
		g.alive[i] = true
	}
	g.nAlive = len(pts)
	g.index()
}

// index (re)builds the cells from the alive points.
func (g *pointGrid) index() {
	n := g.nAlive
	g.indexed = n
	if n == 0 {
		g.nx, g.ny = 0, 0
		return
	}
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for i, p := range g.pts {
		if !g.alive[i] {
			continue
		}
		minX = min(minX, p[0])
		minY = min(minY, p[1])
		maxX = max(maxX, p[0])
		maxY = max(maxY, p[1])
	}
	w, h := maxX-minX, maxY-minY
	// About two points per cell (also along a line of points), at most
	// 2048 cells per side.
	cell := math.Sqrt(max(w*h, 1e-12) / float64(n) * 2)
	cell = max(cell, max(w, h)*2/float64(n))
	cell = max(cell, max(w, h)/2048)
	cell = max(cell, 1e-3)
	g.cell = cell
	g.minX, g.minY = minX, minY
	g.nx = int(w/cell) + 1
	g.ny = int(h/cell) + 1
	nc := g.nx * g.ny
	g.start = growInt32(g.start, nc+1)
	clear(g.start)
	for i, p := range g.pts {
		if g.alive[i] {
			g.start[g.cellIndex(p)+1]++
		}
	}
	for c := 0; c < nc; c++ {
		g.start[c+1] += g.start[c]
	}
	g.items = growInt32(g.items, n)
	if cap(g.cpts) < n {
		g.cpts = make([]Vec, n)
	}
	g.cpts = g.cpts[:n]
	fill := resize(&g.fill, nc)
	copy(fill, g.start[:nc])
	for i, p := range g.pts {
		if !g.alive[i] {
			continue
		}
		c := g.cellIndex(p)
		g.items[fill[c]] = int32(i)
		g.cpts[fill[c]] = p
		fill[c]++
	}
}

func (g *pointGrid) cellXY(p Vec) (int, int) {
	ix := int(math.Floor((p[0] - g.minX) / g.cell))
	iy := int(math.Floor((p[1] - g.minY) / g.cell))
	return min(max(ix, 0), g.nx-1), min(max(iy, 0), g.ny-1)
}

func (g *pointGrid) cellIndex(p Vec) int {
	ix, iy := g.cellXY(p)
	return iy*g.nx + ix
}

// ringSlack returns m ∈ [0, 0.5] such that every point in ring r ≥ 1
// around q's cell is at least (r − 1 + m)·cell from q: m is q's distance to
// the nearest edge of its own cell, in cells, less 10⁻⁶ for the rounding
// of the cell coordinates (about 10⁻¹³ cells). Points are assigned to cells
// by floor, and clamping only moves a point's cell towards q's side of the
// grid, so a point is never nearer than its cell says. A query outside its
// (clamped) cell gets m = 0, the plain ring bound.
func (g *pointGrid) ringSlack(q Vec, cx, cy int) float64 {
	fx := (q[0]-g.minX)/g.cell - float64(cx)
	fy := (q[1]-g.minY)/g.cell - float64(cy)
	if !(fx >= 0 && fx <= 1 && fy >= 0 && fy <= 1) {
		return 0
	}
	return max(min(fx, 1-fx, fy, 1-fy)-1e-6, 0)
}

func (g *pointGrid) remove(i int32) {
	if g.alive[i] {
		g.alive[i] = false
		g.nAlive--
	}
}

// ringCells appends the non-empty cells of the square ring at Chebyshev
// radius r around (cx, cy) to out.
func (g *pointGrid) ringCells(cx, cy, r int, out []int32) []int32 {
	if r == 0 {
		c := cy*g.nx + cx
		if g.start[c] != g.start[c+1] {
			out = append(out, int32(c))
		}
		return out
	}
	x0, x1 := max(cx-r, 0), min(cx+r, g.nx-1)
	for _, iy := range [2]int{cy - r, cy + r} {
		if iy < 0 || iy >= g.ny {
			continue
		}
		row := iy * g.nx
		for ix := x0; ix <= x1; ix++ {
			if c := row + ix; g.start[c] != g.start[c+1] {
				out = append(out, int32(c))
			}
		}
	}
	if cx-r < 0 && cx+r >= g.nx {
		return out
	}
	y0, y1 := max(cy-r+1, 0), min(cy+r-1, g.ny-1)
	for iy := y0; iy <= y1; iy++ {
		row := iy * g.nx
		if ix := cx - r; ix >= 0 {
			if c := row + ix; g.start[c] != g.start[c+1] {
				out = append(out, int32(c))
			}
		}
		if ix := cx + r; ix < g.nx {
			if c := row + ix; g.start[c] != g.start[c+1] {
				out = append(out, int32(c))
			}
		}
	}
	return out
}

// outside reports whether the ring of radius r lies entirely outside the grid.
func (g *pointGrid) outside(cx, cy, r int) bool {
	return cx-r < 0 && cy-r < 0 && cx+r >= g.nx && cy+r >= g.ny
}

// nearest returns the alive point nearest to q other than except (−1 for
// none), or −1 if there is none.
func (g *pointGrid) nearest(q Vec, except int32) int32 {
	if g.nAlive == 0 {
		return -1
	}
	if g.nAlive*4 < g.indexed {
		g.index()
	}
	cx, cy := g.cellXY(q)
	slack := g.ringSlack(q, cx, cy)
	best := int32(-1)
	bestD, bestD2 := math.Inf(1), math.Inf(1)
	var buf [64]int32
	for r := 0; ; r++ {
		// Every point in ring r is at least r−1+slack cells away.
		if best >= 0 && (float64(r)-1+slack)*g.cell > bestD {
			break
		}
		if r > 0 && g.outside(cx, cy, r-1) {
			break
		}
		cells := g.ringCells(cx, cy, r, buf[:0])
		for _, c := range cells {
			lo, hi := g.start[c], g.start[c+1]
			for s, i := range g.items[lo:hi] {
				if !g.alive[i] || i == except {
					continue
				}
				p := &g.cpts[int(lo)+s]
				dx, dy := q[0]-p[0], q[1]-p[1]
				d2 := dx*dx + dy*dy
				if d2 > bestD2 && i > best {
					continue // √d2 ≥ bestD and no tie-break win
				}
				if d := math.Sqrt(d2); d < bestD || (d == bestD && i < best) {
					bestD, bestD2, best = d, d2, i
				}
			}
		}
	}
	return best
}

// knn appends up to k (≤ 32) alive points nearest to point i (excluding
// i) to out, nearest first.
func (g *pointGrid) knn(i int32, k int, out []int32) []int32 {
	k = min(k, 32)
	if g.nAlive == 0 || k <= 0 {
		return out
	}
	q := g.pts[i]
	cx, cy := g.cellXY(q)
	slack := g.ringSlack(q, cx, cy)
	allAlive := g.nAlive == len(g.pts)
	type cand struct {
		d, d2 float64 // distance, and the square it was computed from
		j     int32
	}
	var buf [32]cand
	cs := buf[:0]
	worstD2 := math.Inf(1) // cs[k−1].d2 once cs is full
	for r := 0; ; r++ {
		if len(cs) >= k && (float64(r)-1+slack)*g.cell > cs[len(cs)-1].d {
			break
		}
		if r > 0 && g.outside(cx, cy, r-1) {
			break
		}
		var buf [64]int32
		for _, c := range g.ringCells(cx, cy, r, buf[:0]) {
			lo, hi := g.start[c], g.start[c+1]
			for s, j := range g.items[lo:hi] {
				if j == i || !allAlive && !g.alive[j] {
					continue
				}
				pj := &g.cpts[int(lo)+s]
				dx, dy := q[0]-pj[0], q[1]-pj[1]
				d2 := dx*dx + dy*dy
				// d2 > worst² implies √d2 ≥ worst (√ is monotone): skip
				// without the square root.
				if d2 > worstD2 {
					continue
				}
				d := math.Sqrt(d2)
				if len(cs) == k && d >= cs[len(cs)-1].d {
					continue
				}
				if len(cs) < k {
					cs = append(cs, cand{})
				}
				p := len(cs) - 1
				for p > 0 && (cs[p-1].d > d || cs[p-1].d == d && cs[p-1].j > j) {
					cs[p] = cs[p-1]
					p--
				}
				cs[p] = cand{d, d2, j}
				if len(cs) == k {
					worstD2 = cs[k-1].d2
				}
			}
		}
	}
	for _, c := range cs {
		out = append(out, c.j)
	}
	return out
}
