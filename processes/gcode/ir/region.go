package ir

import (
	"iter"
	"math"
	"slices"
)

// Part region: where a layer has material, for the second half of the
// retraction rule (README "Travels"). A travel that crosses no perimeter
// (cross.go) may still run over air: from the seam of one island's outer
// wall to the seam of another, or across a hole from one side of it to
// the other. PrusaSlicer's "only retract when crossing perimeters" skips
// the retraction only for travels inside the part; so does fabcell: a
// travel that crosses no perimeter retracts when it runs outside the
// region bounded by the layer's outer walls.
//
// The region is the even–odd interior of the closed outer-wall loops: a
// point is inside when a ray from it to +x crosses the loops' segments an
// odd number of times (a hole's outer wall is a loop inside the island's,
// so the hole is outside). Only closed loops take part — an open outer
// chain (a thin wall, a loop the input split and did not close) would flip
// the parity of everything on one side of it. Loops are found by Loops
// from the outer-wall strokes: a stroke whose end lies within closeMM of
// its start closes itself (PrusaSlicer ends its external perimeters a
// seam gap short of the start), and open strokes whose ends meet within
// closeMM (each end's nearest other end, mutually) join into a loop when
// every end of the group is joined.

// Stroke is a polyline of outer-wall segments A[i]→B[i], i in [Lo, Hi),
// printed end to start.
type Stroke struct{ Lo, Hi int32 }

// Loops returns the segments of the closed loops among the strokes over
// the segments a[i]→b[i] (see above): the strokes' own segments plus the
// closing segments across their gaps (none for gaps of zero length).
// Strokes that close nothing are left out.
func Loops(a, b []Vec, strokes []Stroke, closeMM float64, outA, outB []Vec) ([]Vec, []Vec) {
	type end struct {
		p      Vec
		stroke int32
		first  bool
	}
	var open []int32 // strokes that do not close themselves
	for i, s := range strokes {
		if s.Hi <= s.Lo {
			continue
		}
		p, q := a[s.Lo], b[s.Hi-1]
		if dist(p, q) <= closeMM {
			outA = append(outA, a[s.Lo:s.Hi]...)
			outB = append(outB, b[s.Lo:s.Hi]...)
			if p != q {
				outA, outB = append(outA, q), append(outB, p)
			}
			continue
		}
		open = append(open, int32(i))
	}
	if len(open) < 2 || !(closeMM > 0) {
		return outA, outB
	}
	ends := make([]end, 0, 2*len(open))
	for k, i := range open {
		s := strokes[i]
		ends = append(ends, end{a[s.Lo], int32(k), true}, end{b[s.Hi-1], int32(k), false})
	}
	// Nearest end of another stroke within closeMM (ties: the lower
	// index), through a grid of closeMM cells.
	cell := func(p Vec) [2]int64 {
		return [2]int64{int64(math.Floor(p[0] / closeMM)), int64(math.Floor(p[1] / closeMM))}
	}
	grid := make(map[[2]int64][]int32, len(ends))
	for k := range ends {
		c := cell(ends[k].p)
		grid[c] = append(grid[c], int32(k))
	}
	near := make([]int32, len(ends))
	for k := range ends {
		near[k] = -1
		best := closeMM
		c := cell(ends[k].p)
		for dx := int64(-1); dx <= 1; dx++ {
			for dy := int64(-1); dy <= 1; dy++ {
				for _, o := range grid[[2]int64{c[0] + dx, c[1] + dy}] {
					if ends[o].stroke == ends[k].stroke {
						continue
					}
					if d := dist(ends[k].p, ends[o].p); d < best || d == best && (near[k] < 0 || o < near[k]) {
						best, near[k] = d, o
					}
				}
			}
		}
	}
	// Groups of strokes joined by mutually nearest ends (union–find); a
	// group is a loop when every end in it is joined.
	parent := make([]int32, len(open))
	for k := range parent {
		parent[k] = int32(k)
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	joined := func(k int) bool { return near[k] >= 0 && near[near[k]] == int32(k) }
	for k := range ends {
		if joined(k) {
			x, y := find(ends[k].stroke), find(ends[near[k]].stroke)
			parent[max(x, y)] = min(x, y)
		}
	}
	bad := make([]bool, len(open))
	for k := range ends {
		if !joined(k) {
			bad[find(ends[k].stroke)] = true
		}
	}
	for k := range ends {
		if bad[find(ends[k].stroke)] {
			continue
		}
		if ends[k].first {
			s := strokes[open[ends[k].stroke]]
			outA = append(outA, a[s.Lo:s.Hi]...)
			outB = append(outB, b[s.Lo:s.Hi]...)
		}
		// Each gap once: from the end with the smaller index.
		if o := int(near[k]); k < o && ends[k].p != ends[o].p {
			outA, outB = append(outA, ends[k].p), append(outB, ends[o].p)
		}
	}
	return outA, outB
}

// Region answers point-in-part queries over the segments of closed loops
// (even–odd rule), indexed in horizontal strips so that a query reads only
// the segments whose y-range (widened by the build's pad) covers the
// point. The zero value is an empty region (every point outside); Empty
// tells callers that know nothing about the part.
type Region struct {
	A, B  []Vec
	minY  float64
	h     float64 // strip height (mm)
	inv   float64 // 1/h
	n     int     // strips
	pad   float64 // y-ranges are widened by pad (the largest eps answered exactly)
	start []int32 // CSR offsets per strip (len n+1)
	items []int32
	span  []int32 // Build's scratch: first and last strip per segment
	fill  []int32 // Build's scratch: cursors
}

// Build indexes the loop segments a[i]→b[i] for queries with eps ≤ padMM.
func (r *Region) Build(a, b []Vec, padMM float64) {
	r.A, r.B, r.pad = a, b, max(padMM, 0)
	n := len(a)
	r.n = 0
	if n == 0 {
		return
	}
	lo, hi, dy := math.Inf(1), math.Inf(-1), 0.0
	for i := range a {
		y0, y1 := a[i][1], b[i][1]
		lo = min(lo, y0, y1)
		hi = max(hi, y0, y1)
		dy += math.Abs(y1 - y0)
	}
	lo, hi = lo-r.pad, hi+r.pad
	dy += 2 * r.pad * float64(n)
	// About one strip per segment, but no more than keep the entries
	// (one per strip a segment's y-range touches) within 8 per segment.
	h := max((hi-lo)/float64(n), dy/float64(7*n), 1e-6)
	ns := min(int((hi-lo)/h)+1, 1<<20)
	r.minY, r.h, r.inv, r.n = lo, h, 1/h, ns
	r.start = growInt32(r.start, ns+1)
	clear(r.start)
	r.span = growInt32(r.span, 2*n)
	for i := 0; i < n; i++ {
		y0, y1 := a[i][1], b[i][1]
		s0, s1 := r.strip(min(y0, y1)-r.pad), r.strip(max(y0, y1)+r.pad)
		r.span[2*i], r.span[2*i+1] = int32(s0), int32(s1)
		for s := s0; s <= s1; s++ {
			r.start[s+1]++
		}
	}
	for s := 0; s < ns; s++ {
		r.start[s+1] += r.start[s]
	}
	r.items = growInt32(r.items, int(r.start[ns]))
	fill := growInt32(r.fill, ns)
	copy(fill, r.start[:ns])
	for i := 0; i < n; i++ {
		for s := r.span[2*i]; s <= r.span[2*i+1]; s++ {
			r.items[fill[s]] = int32(i)
			fill[s]++
		}
	}
	r.fill = fill
}

// strip is the strip of y ≥ minY (truncation is the floor there; the
// clamp keeps rounding at the ends inside).
func (r *Region) strip(y float64) int {
	return min(max(int((y-r.minY)*r.inv), 0), r.n-1)
}

// Empty reports a region without loops.
func (r *Region) Empty() bool { return r.n == 0 }

// Classify returns +1 when p lies inside the region, −1 outside, 0 within
// eps of a loop segment (on the wall: neither). It is exactly
// ClassifyPoint over all segments when eps ≤ the build's pad.
func (r *Region) Classify(p Vec, eps float64) int {
	if r.n == 0 {
		return -1
	}
	if eps > r.pad {
		return ClassifyPoint(p, r.A, r.B, eps)
	}
	if !(p[1] >= r.minY && p[1] < r.minY+float64(r.n)*r.h) {
		return -1 // no segment's padded y-range covers p
	}
	s := r.strip(p[1])
	return classify(p, r.A, r.B, eps, slices.Values(r.items[r.start[s]:r.start[s+1]]))
}

// ClassifyPoint is Region.Classify by brute force over the segments
// a[i]→b[i] (the definition).
func ClassifyPoint(p Vec, a, b []Vec, eps float64) int {
	return classify(p, a, b, eps, func(yield func(int32) bool) {
		for i := range int32(len(a)) {
			if !yield(i) {
				return
			}
		}
	})
}

// classify is the even–odd test of p over the segments segs of a→b: 0
// when p lies within eps of one, else +1 inside, −1 outside.
func classify(p Vec, a, b []Vec, eps float64, segs iter.Seq[int32]) int {
	odd := false
	for i := range segs {
		on, cr := pointSeg(p, a[i], b[i], eps)
		if on {
			return 0
		}
		odd = odd != cr
	}
	if odd {
		return 1
	}
	return -1
}

// pointSeg reports whether p lies within eps of the segment a→b, and
// whether the ray from p to +x crosses it (half-open in y, so a ray
// through a shared vertex counts it once).
func pointSeg(p, a, b Vec, eps float64) (on, crosses bool) {
	if p[0] >= min(a[0], b[0])-eps && p[0] <= max(a[0], b[0])+eps &&
		p[1] >= min(a[1], b[1])-eps && p[1] <= max(a[1], b[1])+eps && distPointSeg(p, a, b) <= eps {
		return true, false
	}
	if (a[1] > p[1]) != (b[1] > p[1]) {
		x := a[0] + (p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
		return false, x > p[0]
	}
	return false, false
}

// travelSamples are the positions (fractions of the travel) at which
// TravelOutside looks, in order: the first one off the walls decides.
var travelSamples = [...]float64{0.5, 0.25, 0.75, 0.125, 0.375, 0.625, 0.875}

// TravelOutside reports whether the travel p→q runs outside the region,
// for a travel that crosses no perimeter (the crossing rule, cross.go), so
// its open segment stays on one side of every outer wall: it is outside
// when its first sample point (travelSamples) farther than eps from the
// walls is. A travel along a wall all the way (every sample on it) is not
// outside. Symmetric: evaluated from the lexicographically smaller end.
func (r *Region) TravelOutside(p, q Vec, eps float64) bool {
	return travelOutside(p, q, func(x Vec) int { return r.Classify(x, eps) })
}

// TravelOutsideLoops is TravelOutside by brute force over the loop
// segments a[i]→b[i] (the definition).
func TravelOutsideLoops(p, q Vec, a, b []Vec, eps float64) bool {
	return travelOutside(p, q, func(x Vec) int { return ClassifyPoint(x, a, b, eps) })
}

func travelOutside(p, q Vec, classify func(Vec) int) bool {
	if q[0] < p[0] || q[0] == p[0] && q[1] < p[1] {
		p, q = q, p
	}
	if p == q || math.IsNaN(p[0]+p[1]+q[0]+q[1]) {
		return false
	}
	for _, t := range travelSamples {
		x := Vec{p[0] + t*(q[0]-p[0]), p[1] + t*(q[1]-p[1])}
		if c := classify(x); c != 0 {
			return c < 0
		}
	}
	return false
}
