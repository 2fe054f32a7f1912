package ir

import (
	"math"
	"sort"
)

// minSplitSin is sin(10°): edges meeting at a smaller angle are not split.
const minSplitSin = 0.17364817766693033

type split struct {
	t float64 // parameter along the edge (0..1, source direction)
	v int32   // vertex
}

// Segment splits straight edges where they cross other straight edges (a
// new vertex at the crossing, rounded to the resolution grid) or where an
// endpoint of another straight edge lies on their interior (a T-junction,
// split at that existing vertex), so that a tour may turn there (Li 2020
// "graph segmentation"). Candidate pairs come from a spatial hash of the
// layer's segments: the cost is linear in the number of (segment, cell)
// incidences plus the pairs sharing a cell, never all pairs. Arcs and
// seam-locked loops are not split. It returns the number of pieces added.
//
// Material is preserved exactly: a piece covers the fraction [T0, T1] of
// its source, and the pieces of a source partition its [T0, T1].
func (g *Graph) Segment() int {
	ws := &g.seg
	lines, a, b := ws.lines[:0], ws.a[:0], ws.b[:0]
	for i, e := range g.Edges {
		if e.Kind == Line && e.U != e.V {
			lines = append(lines, int32(i))
			a = append(a, g.Pts[e.U])
			b = append(b, g.Pts[e.V])
		}
	}
	ws.lines, ws.a, ws.b = lines, a, b
	if len(lines) < 2 {
		return 0
	}
	box := ws.box[:0]
	for i := range a {
		box = append(box, [4]float64{min(a[i][0], b[i][0]), min(a[i][1], b[i][1]), max(a[i][0], b[i][0]), max(a[i][1], b[i][1])})
	}
	ws.box = box
	idx := &ws.idx
	idx.Build(a, b, 0)
	eps := g.Res / 2
	var splits map[int32][]split
	addSplit := func(li int32, t float64, v int32) {
		e := &g.Edges[lines[li]]
		if v == e.U || v == e.V {
			return
		}
		if splits == nil {
			splits = make(map[int32][]split)
		}
		splits[li] = append(splits[li], split{t, v})
	}
	for i := range lines {
		ii := int32(i)
		ei := &g.Edges[lines[i]] // Segment appends edges only after this loop
		minX, minY, maxX, maxY := box[i][0], box[i][1], box[i][2], box[i][3]
		// Candidates: the segments sharing a grid cell with line i (each
		// once), as SegIndex.Candidates enumerates them.
		w := &idx.q
		cur := w.next(idx)
		w.cells = idx.walk(a[i], b[i], w.cells[:0])
		for _, c := range w.cells {
			for _, j := range idx.items[idx.start[c]:idx.start[c+1]] {
				// Pairs are tested from their lower index only, so the
				// others need no stamp.
				if j <= ii || w.stamp[j] == cur {
					continue
				}
				w.stamp[j] = cur
				// Bounding boxes (grown by eps) must overlap.
				bj := &box[j]
				if bj[2] < minX-eps || bj[0] > maxX+eps || bj[3] < minY-eps || bj[1] > maxY+eps {
					continue
				}
				ej := &g.Edges[lines[j]]
				if ei.U == ej.U || ei.U == ej.V || ei.V == ej.U || ei.V == ej.V {
					continue
				}
				// Nearly parallel pairs (overlapping gap fill, collinear
				// strokes) gain nothing from a split: a tour cannot turn
				// there usefully, and the split point is ill-conditioned.
				if math.Abs(ei.Out.cross(ej.Out)) < minSplitSin {
					continue
				}
				// T-junctions: an endpoint of one on the interior of the other.
				tj := false
				for _, w := range [2]int32{ej.U, ej.V} {
					if t, ok := onInterior(a[i], b[i], g.Pts[w], eps); ok {
						addSplit(ii, t, w)
						tj = true
					}
				}
				for _, w := range [2]int32{ei.U, ei.V} {
					if t, ok := onInterior(a[j], b[j], g.Pts[w], eps); ok {
						addSplit(j, t, w)
						tj = true
					}
				}
				if tj {
					continue
				}
				if ProperCross(a[i], b[i], a[j], b[j], eps) {
					ti, tjj, ok := intersect(a[i], b[i], a[j], b[j])
					if !ok {
						continue
					}
					x := g.Snap(lerp(a[i], b[i], ti))
					v := g.Vertex(x)
					addSplit(ii, ti, v)
					addSplit(j, tjj, v)
				}
			}
		}
	}
	if len(splits) == 0 {
		return 0
	}
	// Apply in a deterministic order.
	keys := make([]int32, 0, len(splits))
	for k := range splits {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(x, y int) bool { return keys[x] < keys[y] })
	added := 0
	for _, li := range keys {
		ss := splits[li]
		sort.Slice(ss, func(x, y int) bool {
			if ss[x].t != ss[y].t {
				return ss[x].t < ss[y].t
			}
			return ss[x].v < ss[y].v
		})
		ei := lines[li]
		src := g.Edges[ei]
		// Vertex chain U, splits (distinct, consecutive duplicates
		// dropped), V with their parameters.
		chainV := []int32{src.U}
		chainT := []float64{0}
		for _, s := range ss {
			if s.v == chainV[len(chainV)-1] || s.v == src.V {
				continue
			}
			if s.t <= chainT[len(chainT)-1] || s.t >= 1 {
				continue
			}
			chainV = append(chainV, s.v)
			chainT = append(chainT, s.t)
		}
		if len(chainV) == 1 {
			continue
		}
		chainV = append(chainV, src.V)
		chainT = append(chainT, 1)
		span := src.T1 - src.T0
		for k := 0; k+1 < len(chainV); k++ {
			p := src
			p.U, p.V = chainV[k], chainV[k+1]
			p.T0 = src.T0 + span*chainT[k]
			p.T1 = src.T0 + span*chainT[k+1]
			if k == len(chainV)-2 {
				p.T1 = src.T1
			}
			p.Len = dist(g.Pts[p.U], g.Pts[p.V])
			if k == 0 {
				g.Edges[ei] = p
			} else {
				g.Edges = append(g.Edges, p)
				added++
			}
		}
	}
	return added
}

// segScratch is Segment's reusable memory.
type segScratch struct {
	lines []int32
	a, b  []Vec
	box   [][4]float64
	idx   SegIndex
}

// onInterior reports whether p lies within eps of segment a→b and projects
// strictly inside it (more than eps from both ends), with its parameter.
func onInterior(a, b, p Vec, eps float64) (float64, bool) {
	d := b.sub(a)
	l2 := d.dot(d)
	if l2 == 0 {
		return 0, false
	}
	ap := p.sub(a)
	// Distance from the line first (no square root): |d × ap|² ≤ eps²·l².
	if cr := d.cross(ap); cr*cr > eps*eps*l2 {
		return 0, false
	}
	t := ap.dot(d) / l2
	// More than eps from both ends: t·l > eps and (1−t)·l > eps.
	if t <= 0 || t >= 1 || t*t*l2 <= eps*eps || (1-t)*(1-t)*l2 <= eps*eps {
		return 0, false
	}
	return t, true
}

// intersect returns the parameters of the intersection of lines a→b and
// c→d.
func intersect(a, b, c, d Vec) (float64, float64, bool) {
	r := b.sub(a)
	s := d.sub(c)
	den := r.cross(s)
	if den == 0 {
		return 0, 0, false
	}
	ca := c.sub(a)
	t := ca.cross(s) / den
	u := ca.cross(r) / den
	if t <= 0 || t >= 1 || u <= 0 || u >= 1 {
		return 0, 0, false
	}
	return t, u, true
}
