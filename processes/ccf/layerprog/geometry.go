package layerprog

import (
	"fmt"
	"math"
	"sort"

	"github.com/golang/geo/r2"
)

// Polygon geometry in the bed's xy plane, millimetres. A loop is a closed
// polygon without repeating its first point. Region loops are oriented
// with the material on their left: the outer loop counter-clockwise, hole
// loops clockwise.

// SignedArea returns the shoelace area of the loop (mm², positive =
// counter-clockwise).
func SignedArea(loop []r2.Point) float64 {
	a := 0.0
	for i, p := range loop {
		q := loop[(i+1)%len(loop)]
		a += p.X*q.Y - q.X*p.Y
	}
	return a / 2
}

// Length returns the length of the polyline (closed adds the closing
// segment), mm.
func Length(pts []r2.Point, closed bool) float64 {
	l := 0.0
	for i := 1; i < len(pts); i++ {
		l += pts[i].Sub(pts[i-1]).Norm()
	}
	if closed && len(pts) > 1 {
		l += pts[0].Sub(pts[len(pts)-1]).Norm()
	}
	return l
}

func cross(a, b r2.Point) float64 { return a.X*b.Y - a.Y*b.X }

// CleanLoop removes repeated points, collinear points and spikes (a point
// where the loop turns straight back, left by walking a dangling edge out
// and back) until none is left. tol is a length tolerance (mm).
func CleanLoop(loop []r2.Point, tol float64) []r2.Point {
	out := append([]r2.Point(nil), loop...)
	for changed := true; changed && len(out) >= 3; {
		changed = false
		for i := 0; i < len(out) && len(out) >= 3; i++ {
			n := len(out)
			p, q, r := out[(i-1+n)%n], out[i], out[(i+1)%n]
			u, w := q.Sub(p), r.Sub(q)
			lu, lw := u.Norm(), w.Norm()
			if lu <= tol {
				out = append(out[:i], out[i+1:]...)
				changed = true
				i--
				continue
			}
			// collinear (straight on) or spike (straight back)
			if math.Abs(cross(u, w)) <= tol*math.Max(lu, lw) && lw > 0 {
				out = append(out[:i], out[i+1:]...)
				changed = true
				i--
			}
		}
	}
	if len(out) < 3 {
		return nil
	}
	return out
}

// segCross reports whether segments ab and cd cross properly or overlap
// (touching at a shared end point does not count).
func segCross(a, b, c, d r2.Point) bool {
	d1 := cross(b.Sub(a), c.Sub(a))
	d2 := cross(b.Sub(a), d.Sub(a))
	d3 := cross(d.Sub(c), a.Sub(c))
	d4 := cross(d.Sub(c), b.Sub(c))
	return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))
}

// SelfIntersection returns the indices (i, j) of two non-adjacent crossing
// edges of the loop (edge i joins points i and i+1), or (−1, −1).
func SelfIntersection(loop []r2.Point) (int, int) {
	n := len(loop)
	for i := 0; i < n; i++ {
		a, b := loop[i], loop[(i+1)%n]
		for j := i + 2; j < n; j++ {
			if i == 0 && j == n-1 {
				continue
			}
			if segCross(a, b, loop[j], loop[(j+1)%n]) {
				return i, j
			}
		}
	}
	return -1, -1
}

// loopsCross reports whether two loops cross each other.
func loopsCross(a, b []r2.Point) bool {
	for i := range a {
		p, q := a[i], a[(i+1)%len(a)]
		for j := range b {
			if segCross(p, q, b[j], b[(j+1)%len(b)]) {
				return true
			}
		}
	}
	return false
}

// OffsetLoop moves every edge of the loop by d to its left (into the
// material for region loops) and joins neighbours at the intersection of
// the moved edges (miter). That is the exact erosion at convex corners and
// a slightly conservative one at reflex corners. Edges that the offset
// turns around (shorter than the offset allows, e.g. at a thin tooth tip)
// are dropped and the offset recomputed. It fails when the loop collapses
// or the result self-intersects (a feature narrower than the offset).
func OffsetLoop(loop []r2.Point, d float64) ([]r2.Point, error) {
	cur := CleanLoop(loop, 1e-9)
	for iter := 0; ; iter++ {
		n := len(cur)
		if n < 3 {
			return nil, fmt.Errorf("offset %.3g mm: loop collapses", d)
		}
		normal := make([]r2.Point, n) // left normal of edge i (cur[i] → cur[i+1])
		for i := 0; i < n; i++ {
			e := cur[(i+1)%n].Sub(cur[i])
			l := e.Norm()
			normal[i] = r2.Point{X: -e.Y / l, Y: e.X / l}
		}
		out := make([]r2.Point, n)
		for i := 0; i < n; i++ {
			// vertex i joins edge i-1 and edge i: miter point p + c·(2d/|c|²)
			c := normal[(i-1+n)%n].Add(normal[i])
			cl2 := c.Dot(c)
			if cl2 < 1e-12 {
				return nil, fmt.Errorf("offset %.3g mm: loop folds back on itself at point %d", d, i)
			}
			out[i] = cur[i].Add(c.Mul(2 * d / cl2))
		}
		// an output edge running against its source edge marks a source
		// edge the offset turned around; drop the shortest such edge
		bad, badLen := -1, math.Inf(1)
		for i := 0; i < n; i++ {
			orig := cur[(i+1)%n].Sub(cur[i])
			if out[(i+1)%n].Sub(out[i]).Dot(orig) < 0 {
				if l := orig.Norm(); l < badLen {
					bad, badLen = i, l
				}
			}
		}
		if bad < 0 {
			for i, p := range out {
				if math.IsNaN(p.X) || math.IsNaN(p.Y) || math.IsInf(p.X, 0) || math.IsInf(p.Y, 0) {
					return nil, fmt.Errorf("offset %.3g mm: degenerate loop at point %d", d, i)
				}
			}
			res := CleanLoop(out, 1e-9)
			if len(res) < 3 || SignedArea(res)*SignedArea(loop) <= 0 {
				return nil, fmt.Errorf("offset %.3g mm: loop collapses", d)
			}
			if i, j := SelfIntersection(res); i >= 0 {
				return nil, fmt.Errorf("offset %.3g mm: loop self-intersects (edges %d and %d): a feature is narrower than the offset", d, i, j)
			}
			return res, nil
		}
		// remove edge bad: its end points merge at the intersection of the
		// neighbouring edges' lines
		nxt := (bad + 1) % n
		prv := (bad - 1 + n) % n
		p, ok := lineIntersect(cur[prv], cur[bad], cur[nxt], cur[(nxt+1)%n])
		if !ok {
			p = cur[bad].Add(cur[nxt]).Mul(0.5)
		}
		next := make([]r2.Point, 0, n-1)
		for i := 0; i < n; i++ {
			switch i {
			case bad:
				next = append(next, p)
			case nxt:
			default:
				next = append(next, cur[i])
			}
		}
		// merging can leave coincident points or a zero-width spike (an
		// arm narrower than 2d whose tip edge was dropped): clean them, or
		// the next pass divides by a zero edge length
		cur = CleanLoop(next, 1e-9)
		if iter > len(loop)+2 {
			return nil, fmt.Errorf("offset %.3g mm: did not converge", d)
		}
	}
}

// lineIntersect returns the intersection of lines ab and cd.
func lineIntersect(a, b, c, d r2.Point) (r2.Point, bool) {
	u, w := b.Sub(a), d.Sub(c)
	den := cross(u, w)
	if math.Abs(den) < 1e-12*u.Norm()*w.Norm() {
		return r2.Point{}, false
	}
	t := cross(c.Sub(a), w) / den
	return a.Add(u.Mul(t)), true
}

// Region is the material of a layer: an outer loop (counter-clockwise) and
// holes (clockwise), bed coordinates in mm.
type Region struct {
	Outer []r2.Point
	Holes [][]r2.Point
}

// Loops returns the outer loop followed by the holes.
func (r Region) Loops() [][]r2.Point { return append([][]r2.Point{r.Outer}, r.Holes...) }

// Validate checks the region: at least 3 points per loop, correct
// orientations, no self-intersections and no crossings between loops.
func (r Region) Validate() error {
	if len(r.Outer) < 3 {
		return fmt.Errorf("outline has %d points", len(r.Outer))
	}
	if SignedArea(r.Outer) <= 0 {
		return fmt.Errorf("outline is not counter-clockwise (area %.6g mm²)", SignedArea(r.Outer))
	}
	for k, l := range r.Loops() {
		for _, p := range l {
			if math.IsNaN(p.X) || math.IsNaN(p.Y) || math.IsInf(p.X, 0) || math.IsInf(p.Y, 0) {
				return fmt.Errorf("loop %d has a non-finite point", k)
			}
		}
		if i, j := SelfIntersection(l); i >= 0 {
			return fmt.Errorf("loop %d self-intersects (edges %d and %d)", k, i, j)
		}
	}
	for k, h := range r.Holes {
		if len(h) < 3 || SignedArea(h) >= 0 {
			return fmt.Errorf("hole %d is not a clockwise loop", k)
		}
	}
	ls := r.Loops()
	for i := range ls {
		for j := i + 1; j < len(ls); j++ {
			if loopsCross(ls[i], ls[j]) {
				return fmt.Errorf("loops %d and %d cross", i, j)
			}
		}
	}
	return nil
}

// Offset moves every loop of the region by d into the material (the outer
// loop shrinks, holes grow). It fails when a loop collapses or offset loops
// run into each other (material narrower than 2d).
func (r Region) Offset(d float64) (Region, error) {
	var out Region
	o, err := OffsetLoop(r.Outer, d)
	if err != nil {
		return out, fmt.Errorf("outline: %w", err)
	}
	out.Outer = o
	for k, h := range r.Holes {
		oh, err := OffsetLoop(h, d)
		if err != nil {
			return out, fmt.Errorf("hole %d: %w", k, err)
		}
		out.Holes = append(out.Holes, oh)
	}
	ls := out.Loops()
	for i := range ls {
		for j := i + 1; j < len(ls); j++ {
			if loopsCross(ls[i], ls[j]) {
				return out, fmt.Errorf("offset %.3g mm: loops %d and %d run into each other (material narrower than %.3g mm)", d, i, j, 2*d)
			}
		}
	}
	return out, nil
}

// Contains reports whether p lies inside the material (even-odd rule over
// all loops).
func (r Region) Contains(p r2.Point) bool {
	in := false
	for _, l := range r.Loops() {
		for i := range l {
			a, b := l[i], l[(i+1)%len(l)]
			if (a.Y > p.Y) != (b.Y > p.Y) {
				x := a.X + (p.Y-a.Y)*(b.X-a.X)/(b.Y-a.Y)
				if x > p.X {
					in = !in
				}
			}
		}
	}
	return in
}

// boundaryDist returns the distance from p to the nearest loop edge.
func (r Region) boundaryDist(p r2.Point) float64 {
	best := math.Inf(1)
	for _, l := range r.Loops() {
		for i := range l {
			a, b := l[i], l[(i+1)%len(l)]
			ab := b.Sub(a)
			t := 0.0
			if d := ab.Dot(ab); d > 0 {
				t = math.Max(0, math.Min(1, p.Sub(a).Dot(ab)/d))
			}
			best = math.Min(best, p.Sub(a.Add(ab.Mul(t))).Norm())
		}
	}
	return best
}

// crossesBoundary reports whether segment ab crosses any loop edge.
func (r Region) crossesBoundary(a, b r2.Point) bool {
	for _, l := range r.Loops() {
		for i := range l {
			if segCross(a, b, l[i], l[(i+1)%len(l)]) {
				return true
			}
		}
	}
	return false
}

func rotate(p r2.Point, c, s float64) r2.Point {
	return r2.Point{X: c*p.X - s*p.Y, Y: s*p.X + c*p.Y}
}

// ZigZag fills the region with parallel lines spacing apart at angle
// angleRad (0 = along x), connected at alternate ends into zig-zag
// polylines where the connector stays inside the region and is at most
// 3·spacing long. Scan lines sit at half a spacing from the region's
// extremes. The result is a list of open polylines (mm).
func ZigZag(r Region, spacing, angleRad float64) [][]r2.Point {
	c, s := math.Cos(-angleRad), math.Sin(-angleRad)
	rr := Region{Outer: rotLoop(r.Outer, c, s)}
	for _, h := range r.Holes {
		rr.Holes = append(rr.Holes, rotLoop(h, c, s))
	}
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, p := range rr.Outer {
		ymin, ymax = math.Min(ymin, p.Y), math.Max(ymax, p.Y)
	}
	type seg struct{ x0, x1 float64 }
	var lines [][]seg
	var ys []float64
	for y := ymin + spacing/2; y < ymax; y += spacing {
		var xs []float64
		for _, l := range rr.Loops() {
			for i := range l {
				a, b := l[i], l[(i+1)%len(l)]
				if (a.Y > y) != (b.Y > y) {
					xs = append(xs, a.X+(y-a.Y)*(b.X-a.X)/(b.Y-a.Y))
				}
			}
		}
		sort.Float64s(xs)
		var segs []seg
		for i := 0; i+1 < len(xs); i += 2 {
			if xs[i+1]-xs[i] > 1e-6 {
				segs = append(segs, seg{xs[i], xs[i+1]})
			}
		}
		lines = append(lines, segs)
		ys = append(ys, y)
	}
	used := make([][]bool, len(lines))
	for k := range lines {
		used[k] = make([]bool, len(lines[k]))
	}
	ic, is := math.Cos(angleRad), math.Sin(angleRad)
	var out [][]r2.Point
	for k := range lines {
		for i := range lines[k] {
			if used[k][i] {
				continue
			}
			used[k][i] = true
			sg := lines[k][i]
			poly := []r2.Point{{X: sg.x0, Y: ys[k]}, {X: sg.x1, Y: ys[k]}}
			rightEnd := true // the polyline currently ends at the segment's right end
			cur, kk := sg, k
			for kk+1 < len(lines) {
				end := poly[len(poly)-1]
				best, bestD := -1, math.Inf(1)
				for j, nx := range lines[kk+1] {
					if used[kk+1][j] || nx.x1 <= cur.x0 || nx.x0 >= cur.x1 {
						continue
					}
					x := nx.x0
					if rightEnd {
						x = nx.x1
					}
					if d := math.Abs(x - end.X); d < bestD {
						best, bestD = j, d
					}
				}
				if best < 0 {
					break
				}
				nx := lines[kk+1][best]
				var a, b r2.Point
				if rightEnd {
					a, b = r2.Point{X: nx.x1, Y: ys[kk+1]}, r2.Point{X: nx.x0, Y: ys[kk+1]}
				} else {
					a, b = r2.Point{X: nx.x0, Y: ys[kk+1]}, r2.Point{X: nx.x1, Y: ys[kk+1]}
				}
				conn := a.Sub(end).Norm()
				mid := a.Add(end).Mul(0.5)
				if conn > 3*spacing || rr.crossesBoundary(end, a) || !(rr.Contains(mid) || rr.boundaryDist(mid) < 1e-9*(1+conn)) {
					break
				}
				used[kk+1][best] = true
				poly = append(poly, a, b)
				rightEnd = !rightEnd
				cur, kk = nx, kk+1
			}
			for i := range poly {
				poly[i] = rotate(poly[i], ic, is)
			}
			out = append(out, poly)
		}
	}
	return out
}

func rotLoop(l []r2.Point, c, s float64) []r2.Point {
	out := make([]r2.Point, len(l))
	for i, p := range l {
		out[i] = rotate(p, c, s)
	}
	return out
}

// MergeTouching splices every hole that shares a vertex with the outer
// loop (or with another hole) into it: the merged loop walks around the
// hole at the shared vertex and carries on (material stays on the left,
// the loop touches itself there but does not cross). A lattice whose bore
// meets the outline at one node is one pinched region, not an outline
// plus a hole whose offsets run into each other at the pinch (which made
// Build refuse the part). Points closer than tolMM count as shared.
func (r Region) MergeTouching(tolMM float64) Region {
	out := Region{Outer: append([]r2.Point(nil), r.Outer...)}
	holes := make([][]r2.Point, 0, len(r.Holes))
	for _, h := range r.Holes {
		holes = append(holes, append([]r2.Point(nil), h...))
	}
	shared := func(a, b []r2.Point) (int, int) {
		for i, p := range a {
			for j, q := range b {
				if p.Sub(q).Norm() <= tolMM {
					return i, j
				}
			}
		}
		return -1, -1
	}
	splice := func(a, b []r2.Point, i, j int) []r2.Point {
		m := make([]r2.Point, 0, len(a)+len(b)+1)
		m = append(m, a[:i+1]...)
		m = append(m, b[j+1:]...)
		m = append(m, b[:j]...)
		m = append(m, a[i]) // back at the shared vertex
		return append(m, a[i+1:]...)
	}
	for changed := true; changed; {
		changed = false
		for k := 0; k < len(holes) && !changed; k++ {
			if i, j := shared(out.Outer, holes[k]); i >= 0 {
				out.Outer = splice(out.Outer, holes[k], i, j)
				holes = append(holes[:k], holes[k+1:]...)
				changed = true
				break
			}
			for l := k + 1; l < len(holes); l++ {
				if i, j := shared(holes[k], holes[l]); i >= 0 {
					holes[k] = splice(holes[k], holes[l], i, j)
					holes = append(holes[:l], holes[l+1:]...)
					changed = true
					break
				}
			}
		}
	}
	out.Holes = holes
	return out
}
