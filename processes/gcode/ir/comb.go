package ir

import (
	"math"
)

// Comber finds "combed" travels: a path between two points of a layer
// that crosses none of the layer's perimeter segments, so that the travel
// needs no retraction (Cura's combing, PrusaSlicer's "avoid crossing
// perimeters"). Both endpoints then lie in the same face of the perimeter
// arrangement; the path stays inside the bounding box it was given (the
// printed area of the layer), so it never leaves the print area.
//
// Method: a coarse occupancy raster of the perimeters dilated by the
// clearance (a cell is blocked when a perimeter passes within
// clearance + cell·√2/2 of its centre, i.e. within the clearance of some
// point of the cell), connected components of the free cells (a fast
// rejection when the endpoints lie in different faces), A* over the free
// cells (8-connected, Euclidean step costs and heuristic) from the free
// cells seen from the start to those seen from the end, and string pulling.
// Every leg of the returned path is verified against the exact segments
// (legClear): it keeps at least the clearance/2 from every perimeter
// segment, except segments through a travel endpoint (the nozzle may start
// or end on a perimeter it has just printed), which it must not properly
// cross. The raster only proposes; the exact test decides.
//
// All lengths are millimetres in the layer's XY plane. The zero value is
// unusable until Reset; a Comber is used by one goroutine at a time.
type Comber struct {
	A, B []Vec // perimeter segments A[i]→B[i]
	// Keep, when set, is asked once per face (at the centre of one of its
	// free cells) whether paths may use it; faces it refuses are blocked
	// (the compiler refuses those outside the part region: a route there
	// would run over air).
	Keep   func(p Vec) bool
	lo, hi Vec // the area paths must stay in
	clear  float64
	res    float64
	built  bool

	h      float64 // cell size (mm)
	nx, ny int
	reach  float64 // clear + h·√2/2: listing radius around a cell centre
	start  []int32 // CSR offsets per cell (len nx*ny+1)
	items  []int32 // segments listed per cell
	comp   []int32 // component of a free cell, −1 blocked

	segStamp []uint32
	segCur   uint32
	cstamp   []uint32 // A* visit stamps per cell
	ccur     uint32
	gcost    []float64
	parent   []int32
	closed   []uint32
	goalCost []float64
	goalSt   []uint32
	heap     []combNode
	cells    []int32
	raw      []Vec
	seeds    []combSeed
	ends     map[Vec]combEnd
	runs     []combRun // label's scratch
	par, lab []int32
	keep     []bool
}

type combNode struct {
	f float64
	n int32
}

// combWeight inflates A*'s heuristic (weighted A*): the search runs
// towards the goal and stops at the first goal cell, with a raw path at
// most combWeight times the shortest over the raster; string pulling then
// straightens it. Pruning uses the plain (admissible) bound on length; a
// cell is expanded once, so a search can miss a path within the bound that
// reaches a cell only later by a shorter way (the cost is then a
// retraction, never an illegal travel).
const combWeight = 2

// maxCombCells bounds the raster (memory and build time stay bounded for
// large beds).
const maxCombCells = 1 << 15

// Reset prepares the comber for the perimeter segments a[i]→b[i] (kept,
// not copied), paths inside the rectangle [lo, hi] and the clearance (mm,
// > 0; half the line width) at the axis resolution res (mm). The raster is
// built on the first Path call.
func (c *Comber) Reset(a, b []Vec, lo, hi Vec, clearMM, res float64) {
	c.A, c.B, c.lo, c.hi = a, b, lo, hi
	c.clear = clearMM
	c.res = res
	c.built = false
}

func (c *Comber) build() {
	c.built = true
	c.seeds = c.seeds[:0]
	if c.ends == nil {
		c.ends = make(map[Vec]combEnd)
	}
	clear(c.ends)
	w, ht := c.hi[0]-c.lo[0], c.hi[1]-c.lo[1]
	if !(w >= 0 && ht >= 0) || !(c.clear > 0) || math.IsInf(w+ht, 0) {
		c.nx, c.ny = 0, 0
		return
	}
	h := max(2*c.clear, math.Sqrt(w*ht/maxCombCells), 1e-3)
	for (w/h+1)*(ht/h+1) > maxCombCells {
		h *= 1.25
	}
	c.h = h
	c.nx, c.ny = int(w/h)+1, int(ht/h)+1
	c.reach = c.clear + h*math.Sqrt2/2
	nc := c.nx * c.ny
	c.start = growInt32(c.start, nc+1)
	clear(c.start)
	for i := range c.A {
		c.listSeg(int32(i), false)
	}
	for k := 0; k < nc; k++ {
		c.start[k+1] += c.start[k]
	}
	c.items = growInt32(c.items, int(c.start[nc]))
	// fill: use comp as the cursor array before labelling
	c.comp = growInt32(c.comp, nc)
	copy(c.comp, c.start[:nc])
	for i := range c.A {
		c.listSeg(int32(i), true)
	}
	c.label()
	// Visit stamps keep counting across builds: stale entries are older
	// than any current stamp, so the arrays are never cleared here.
	for _, s := range []*[]uint32{&c.cstamp, &c.closed, &c.goalSt} {
		if cap(*s) < nc {
			*s = make([]uint32, nc)
			c.ccur = 0
		} else {
			*s = (*s)[:nc]
		}
	}
	if c.ccur == 0 {
		clear(c.cstamp[:cap(c.cstamp)])
		clear(c.closed[:cap(c.closed)])
		clear(c.goalSt[:cap(c.goalSt)])
	}
	if cap(c.gcost) < nc {
		c.gcost, c.goalCost, c.parent = make([]float64, nc), make([]float64, nc), make([]int32, nc)
	} else {
		c.gcost, c.goalCost, c.parent = c.gcost[:nc], c.goalCost[:nc], c.parent[:nc]
	}
	if cap(c.segStamp) < len(c.A) {
		c.segStamp = make([]uint32, len(c.A))
	} else {
		c.segStamp = c.segStamp[:len(c.A)]
		clear(c.segStamp)
	}
	c.segCur = 0
}

// combRun is a run of free cells x0..x1 of one raster row.
type combRun struct{ y, x0, x1 int32 }

// label sets comp: −1 for blocked cells, else the component of the free
// cell, 8-connected as A* moves. Free runs per row are joined by
// union-find with the runs of the row below that overlap them or touch
// them diagonally.
func (c *Comber) label() {
	runs, par := c.runs[:0], c.par[:0]
	find := func(x int32) int32 {
		for par[x] != x {
			par[x] = par[par[x]]
			x = par[x]
		}
		return x
	}
	prev0, prev1 := 0, 0
	for iy := 0; iy < c.ny; iy++ {
		row := iy * c.nx
		cur0 := len(runs)
		j := prev0
		for ix := 0; ix < c.nx; {
			if c.start[row+ix] != c.start[row+ix+1] {
				ix++
				continue
			}
			x0 := ix
			for ix < c.nx && c.start[row+ix] == c.start[row+ix+1] {
				ix++
			}
			id := int32(len(runs))
			runs = append(runs, combRun{int32(iy), int32(x0), int32(ix - 1)})
			par = append(par, id)
			// Runs of the previous row within x0−1 … ix (diagonal contact).
			for j < prev1 && runs[j].x1 < int32(x0-1) {
				j++
			}
			for k := j; k < prev1 && runs[k].x0 <= int32(ix); k++ {
				if a, b := find(id), find(int32(k)); a != b {
					par[a] = b
				}
			}
		}
		prev0, prev1 = cur0, len(runs)
	}
	for k := range c.comp {
		c.comp[k] = -1
	}
	// Compact labels in order of first appearance.
	lab := c.lab[:0]
	for range runs {
		lab = append(lab, -1)
	}
	next := int32(0)
	keep := c.keep[:0]
	for r, ru := range runs {
		root := find(int32(r))
		if lab[root] < 0 {
			lab[root] = next
			next++
			keep = append(keep, c.Keep == nil || c.Keep(c.centre(int32(int(ru.y)*c.nx+int(ru.x0)))))
		}
		l := lab[root]
		if !keep[l] {
			continue // comp stays −1: blocked
		}
		row := int(ru.y) * c.nx
		for x := ru.x0; x <= ru.x1; x++ {
			c.comp[row+int(x)] = l
		}
	}
	c.keep = keep
	c.runs, c.par, c.lab = runs, par, lab
}

// listSeg counts (fill false) or stores (fill true, comp holding the
// cursors) segment i in every cell whose centre is within reach of it —
// and in some more: per row, every cell within reach (in x) of the part of
// the segment within reach (in y) of the row's centre line, a superset
// that needs no distance test (listing more only blocks more).
func (c *Comber) listSeg(i int32, fill bool) {
	a, b := c.A[i], c.B[i]
	r := c.reach
	y0, y1 := min(a[1], b[1])-r, max(a[1], b[1])+r
	iy0 := max(int(math.Floor((y0-c.lo[1])/c.h-0.5)), 0)
	iy1 := min(int(math.Ceil((y1-c.lo[1])/c.h-0.5)), c.ny-1)
	for iy := iy0; iy <= iy1; iy++ {
		yc := c.lo[1] + (float64(iy)+0.5)*c.h
		// x range of the part of the segment within r of this row's line.
		xa, xb := a[0], b[0]
		if dy := b[1] - a[1]; dy != 0 {
			t0 := (yc - r - a[1]) / dy
			t1 := (yc + r - a[1]) / dy
			if t0 > t1 {
				t0, t1 = t1, t0
			}
			t0, t1 = max(t0, 0), min(t1, 1)
			if t0 > t1 {
				continue
			}
			xa, xb = a[0]+(b[0]-a[0])*t0, a[0]+(b[0]-a[0])*t1
		} else if math.Abs(a[1]-yc) > r {
			continue
		}
		if xa > xb {
			xa, xb = xb, xa
		}
		ix0 := max(int(math.Floor((xa-r-c.lo[0])/c.h-0.5)), 0)
		ix1 := min(int(math.Ceil((xb+r-c.lo[0])/c.h-0.5)), c.nx-1)
		for ix := ix0; ix <= ix1; ix++ {
			k := iy*c.nx + ix
			if fill {
				c.items[c.comp[k]] = i
				c.comp[k]++
			} else {
				c.start[k+1]++
			}
		}
	}
}

// centre is the waypoint of cell k: its centre rounded to the resolution
// (the legs verified are the legs written), clamped into [lo, hi].
func (c *Comber) centre(k int32) Vec {
	ix, iy := int(k)%c.nx, int(k)/c.nx
	x, y := c.lo[0]+(float64(ix)+0.5)*c.h, c.lo[1]+(float64(iy)+0.5)*c.h
	if c.res > 0 {
		x = RoundHalfAway(x/c.res) * c.res
		y = RoundHalfAway(y/c.res) * c.res
	}
	return Vec{min(max(x, c.lo[0]), c.hi[0]), min(max(y, c.lo[1]), c.hi[1])}
}

func (c *Comber) inside(p Vec) bool {
	return p[0] >= c.lo[0] && p[0] <= c.hi[0] && p[1] >= c.lo[1] && p[1] <= c.hi[1]
}

func (c *Comber) cellXY(p Vec) (int, int) {
	return gridCell(c.lo[0], c.lo[1], c.h, c.nx, c.ny, p)
}

// Path returns, appended to out, the interior waypoints of a combed travel
// from p to q whose length (mm) is at most maxLen, and that length; ok is
// false when there is none (different faces, no path found within maxLen,
// an endpoint outside the area). The result depends only on the unordered
// pair {p, q}: the path of (q, p) is the reverse of that of (p, q).
func (c *Comber) Path(p, q Vec, maxLen float64, out []Vec) ([]Vec, float64, bool) {
	if !c.built {
		c.build()
	}
	if c.nx == 0 || !c.inside(p) || !c.inside(q) || !(maxLen > 0) {
		return out, 0, false
	}
	rev := q[0] < p[0] || q[0] == p[0] && q[1] < p[1]
	if rev {
		p, q = q, p
	}
	base := len(out)
	raw, ok := c.search(p, q, maxLen)
	if !ok {
		return out, 0, false
	}
	// Raster steps in one direction make one leg (their cells are free,
	// so the merged leg is as clear as its steps; every leg is verified
	// below anyway).
	if len(raw) > 3 {
		w := 2
		for i := 2; i < len(raw)-1; i++ {
			a, b, d := raw[w-2], raw[w-1], raw[i]
			if i > 2 && (b[0]-a[0])*(d[1]-b[1])-(b[1]-a[1])*(d[0]-b[0]) == 0 &&
				(b[0]-a[0])*(d[0]-b[0])+(b[1]-a[1])*(d[1]-b[1]) > 0 {
				raw[w-1] = d
				continue
			}
			raw[w] = d
			w++
		}
		raw[w] = raw[len(raw)-1]
		raw = raw[:w+1]
	}
	// String pulling: from each anchor, the farthest waypoint in sequence
	// reachable by a clear leg.
	n := len(raw)
	total := 0.0
	i := 0
	for i < n-1 {
		j := i + 1
		for j+1 < n && c.legClear(raw[i], raw[j+1], i == 0, j+1 == n-1) {
			j++
		}
		if j == i+1 && !c.legClear(raw[i], raw[j], i == 0, j == n-1) {
			return out[:base], 0, false
		}
		total += dist(raw[i], raw[j])
		if j < n-1 {
			out = append(out, raw[j])
		}
		i = j
	}
	if total > maxLen {
		return out[:base], 0, false
	}
	if rev {
		w := out[base:]
		for l, r := 0, len(w)-1; l < r; l, r = l+1, r-1 {
			w[l], w[r] = w[r], w[l]
		}
	}
	return out, total, true
}

// seedRadius is how far around an endpoint free cells are looked for.
func (c *Comber) seedRadius() float64 { return 1.5*c.reach + 2*c.h }

// forCells calls fn for every free cell whose centre is within the seed
// radius of p.
func (c *Comber) forCells(p Vec, fn func(k int32)) {
	r := c.seedRadius()
	ix0, iy0 := c.cellXY(Vec{p[0] - r, p[1] - r})
	ix1, iy1 := c.cellXY(Vec{p[0] + r, p[1] + r})
	for iy := iy0; iy <= iy1; iy++ {
		for ix := ix0; ix <= ix1; ix++ {
			k := int32(iy*c.nx + ix)
			if c.comp[k] < 0 || dist(c.centre(k), p) > r {
				continue
			}
			fn(k)
		}
	}
}

// combSeed is a free cell k an endpoint sees by a clear leg of d mm.
type combSeed struct {
	k int32
	d float64
}

// combEnd is an endpoint's seeds: c.seeds[from:to].
type combEnd struct{ from, to int32 }

// end returns the seeds of endpoint p: the free cells within the seed
// radius whose centre p sees by a clear leg (legClear from p, p exempt).
// Memoised per point until the next build (an endpoint is a graph vertex,
// met in many candidate travels).
func (c *Comber) end(p Vec) combEnd {
	if e, ok := c.ends[p]; ok {
		return e
	}
	e := combEnd{from: int32(len(c.seeds))}
	c.forCells(p, func(k int32) {
		ck := c.centre(k)
		if c.legClear(p, ck, true, false) {
			c.seeds = append(c.seeds, combSeed{k, dist(p, ck)})
		}
	})
	e.to = int32(len(c.seeds))
	c.ends[p] = e
	return e
}

// search runs A* from p to q over the free cells and returns the raw path
// [p, centres…, q] in c.raw.
func (c *Comber) search(p, q Vec, maxLen float64) ([]Vec, bool) {
	c.ccur++
	if c.ccur == 0 {
		clear(c.cstamp)
		clear(c.closed)
		clear(c.goalSt)
		c.ccur = 1
	}
	cur := c.ccur
	// A raw grid path is up to ~8 % longer than its pulled version.
	bound := maxLen*1.1 + 2*c.h
	// The free cells each endpoint sees by a clear leg (memoised per
	// point): a path needs a seed near p and a goal near q in the same
	// component (the same face). Most crossing travels end here, between
	// faces, without a search.
	ep, eq := c.end(p), c.end(q)
	common := false
	for _, s := range c.seeds[eq.from:eq.to] {
		c.goalSt[s.k] = cur
		c.goalCost[s.k] = s.d
		if !common {
			for _, t := range c.seeds[ep.from:ep.to] {
				if c.comp[t.k] == c.comp[s.k] {
					common = true
					break
				}
			}
		}
	}
	if !common {
		return nil, false
	}
	hp := c.heap[:0]
	push := func(f float64, n int32) {
		hp = append(hp, combNode{f, n})
		i := len(hp) - 1
		for i > 0 {
			par := (i - 1) / 2
			if hp[par].f <= hp[i].f {
				break
			}
			hp[par], hp[i] = hp[i], hp[par]
			i = par
		}
	}
	pop := func() combNode {
		top := hp[0]
		last := len(hp) - 1
		hp[0] = hp[last]
		hp = hp[:last]
		i := 0
		for {
			l := 2*i + 1
			if l >= len(hp) {
				break
			}
			m := l
			if r := l + 1; r < len(hp) && hp[r].f < hp[l].f {
				m = r
			}
			if hp[i].f <= hp[m].f {
				break
			}
			hp[i], hp[m] = hp[m], hp[i]
			i = m
		}
		return top
	}
	for _, s := range c.seeds[ep.from:ep.to] {
		k, g := s.k, s.d
		hd := dist(c.centre(k), q)
		if g+hd > bound {
			continue
		}
		c.cstamp[k], c.gcost[k], c.parent[k] = cur, g, -1
		push(g+combWeight*hd, k)
	}
	bestCell := int32(-1)
	// Work bound: a weighted search reaching its goal expands a few cells
	// per cell of path; one that has not after this many gives up (a
	// retraction then), so a large open layer costs bounded time.
	budget := 256 + int(16*bound/c.h)
	for len(hp) > 0 && budget > 0 {
		k := pop().n
		if c.closed[k] == cur {
			continue
		}
		c.closed[k] = cur
		budget--
		g := c.gcost[k]
		if c.goalSt[k] == cur {
			bestCell = k
			break
		}
		ix, iy := int(k)%c.nx, int(k)/c.nx
		for dy := -1; dy <= 1; dy++ {
			jy := iy + dy
			if jy < 0 || jy >= c.ny {
				continue
			}
			hy := c.lo[1] + (float64(jy)+0.5)*c.h - q[1]
			for dx := -1; dx <= 1; dx++ {
				jx := ix + dx
				if dx == 0 && dy == 0 || jx < 0 || jx >= c.nx {
					continue
				}
				m := int32(jy*c.nx + jx)
				if c.comp[m] < 0 || c.closed[m] == cur {
					continue
				}
				step := c.h
				if dx != 0 && dy != 0 {
					step *= math.Sqrt2
				}
				ng := g + step
				if c.cstamp[m] == cur && ng >= c.gcost[m] {
					continue
				}
				hx := c.lo[0] + (float64(jx)+0.5)*c.h - q[0]
				hd := math.Sqrt(hx*hx + hy*hy)
				if ng+hd > bound {
					continue
				}
				c.cstamp[m], c.gcost[m], c.parent[m] = cur, ng, k
				push(ng+combWeight*hd, m)
			}
		}
	}
	c.heap = hp[:0]
	if bestCell < 0 {
		return nil, false
	}
	raw := append(c.raw[:0], q)
	for k := bestCell; k >= 0; k = c.parent[k] {
		raw = append(raw, c.centre(k))
	}
	raw = append(raw, p)
	for l, r := 0, len(raw)-1; l < r; l, r = l+1, r-1 {
		raw[l], raw[r] = raw[r], raw[l]
	}
	c.raw = raw
	return raw, true
}

// legClear reports whether the leg p→q keeps clearance/2 from every
// perimeter segment. A travel endpoint (pEnd, qEnd) may lie on or near a
// perimeter (the nozzle has just printed it, or an infill line ends next
// to the wall): a segment within the clearance of it must instead not meet
// the leg once the leg is shortened by two resolution units at that end —
// touching or crossing anywhere else, a vertex included, fails. Complete:
// a segment within clearance/2 < reach of a point of the leg is listed in
// the cell containing that point, and the walk visits every cell the leg
// passes through.
func (c *Comber) legClear(p, q Vec, pEnd, qEnd bool) bool {
	l := dist(p, q)
	if l == 0 {
		return true
	}
	c.segCur++
	if c.segCur == 0 {
		clear(c.segStamp)
		c.segCur = 1
	}
	cur := c.segCur
	minD := c.clear / 2
	near := c.clear
	// The leg shortened at its travel endpoints.
	sp, sq := p, q
	if d := 2 * c.res; l > 4*d {
		if pEnd {
			sp = lerp(p, q, d/l)
		}
		if qEnd {
			sq = lerp(q, p, d/l)
		}
	} else if pEnd || qEnd {
		return false // too short to tell
	}
	c.cells = c.walk(p, q, c.cells[:0])
	for _, k := range c.cells {
		for _, i := range c.items[c.start[k]:c.start[k+1]] {
			if c.segStamp[i] == cur {
				continue
			}
			c.segStamp[i] = cur
			a, b := c.A[i], c.B[i]
			if pEnd && distPointSeg(p, a, b) <= near || qEnd && distPointSeg(q, a, b) <= near {
				if segsIntersect(sp, sq, a, b) {
					return false
				}
				continue
			}
			if segSegDist(p, q, a, b) <= minD {
				return false
			}
		}
	}
	return true
}

// walk appends the cells the segment p→q passes through, plus the cells
// diagonal steps only touch at a corner (both neighbours of the step).
func (c *Comber) walk(p, q Vec, out []int32) []int32 {
	return gridWalk(c.lo[0], c.lo[1], c.h, c.nx, c.ny, p, q, true, out)
}

// distPointSeg is the distance (mm) from p to segment a→b.
func distPointSeg(p, a, b Vec) float64 {
	d := b.sub(a)
	l2 := d.dot(d)
	if l2 == 0 {
		return dist(p, a)
	}
	t := min(max(p.sub(a).dot(d)/l2, 0), 1)
	return dist(p, Vec{a[0] + d[0]*t, a[1] + d[1]*t})
}

// segSegDist is the distance (mm) between segments p→q and a→b (0 when
// they intersect).
func segSegDist(p, q, a, b Vec) float64 {
	if segsIntersect(p, q, a, b) {
		return 0
	}
	return min(distPointSeg(p, a, b), distPointSeg(q, a, b), distPointSeg(a, p, q), distPointSeg(b, p, q))
}

// segsIntersect reports whether the closed segments p→q and a→b share a
// point (orientation test; collinear overlaps count).
func segsIntersect(p, q, a, b Vec) bool {
	d1 := orient(a, b, p)
	d2 := orient(a, b, q)
	d3 := orient(p, q, a)
	d4 := orient(p, q, b)
	if (d1 > 0 && d2 < 0 || d1 < 0 && d2 > 0) && (d3 > 0 && d4 < 0 || d3 < 0 && d4 > 0) {
		return true
	}
	return d1 == 0 && onSeg(a, b, p) || d2 == 0 && onSeg(a, b, q) ||
		d3 == 0 && onSeg(p, q, a) || d4 == 0 && onSeg(p, q, b)
}

func orient(a, b, c Vec) float64 { return b.sub(a).cross(c.sub(a)) }

func onSeg(a, b, p Vec) bool {
	return min(a[0], b[0]) <= p[0] && p[0] <= max(a[0], b[0]) &&
		min(a[1], b[1]) <= p[1] && p[1] <= max(a[1], b[1])
}
