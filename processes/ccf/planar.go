package ccf

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"fabcell/planners/graph"

	"github.com/golang/geo/r2"
	"github.com/golang/geo/r3"
)

// Faces of the plane graph and the outline of the layer.
//
// A CCF graph is a straight-line drawing in the bed plane (all z equal).
// Its edges may cross (fibres crossing on the layer), so the drawing is
// first planarized (Planarize: crossings become vertices). A plane graph rotating around
// each node by angle gives the combinatorial embedding, and following
// "next edge clockwise after the one we came from" traces every face with
// the face on the left — bounded faces counter-clockwise (positive signed
// area), the outer face of each connected piece clockwise (negative area).
// The outer face is the layer outline; a bounded face much larger than the
// lattice cells (area ≥ HoleAreaFactor × median bounded face area) is a
// hole through the part (the bore of Bearing, the two holes of Shell).
// Nodes on the outline or on a hole rim are boundary nodes.

// Loop is a closed polygon (the last vertex is not repeated) of vertices of
// the planarized drawing: ids below the graph's node count are graph nodes,
// larger ids are edge crossings (see Planarize).
type Loop struct {
	Nodes []int
	// Pts are the vertex positions in the bed's xy plane (mm).
	Pts []r2.Point
	// AreaMM2 is the signed shoelace area in the bed's xy plane (mm²):
	// positive = counter-clockwise.
	AreaMM2 float64
}

// Outline describes the material region of the layer.
type Outline struct {
	// Outer is the outer face walk, counter-clockwise (reversed from the
	// face walk so that material is on its left). Dangling edges are walked
	// out and back; LoopPolygon removes such spikes.
	Outer Loop
	// Holes are the hole faces, clockwise (material on the left).
	Holes []Loop
	// Boundary marks graph nodes on Outer or on a hole.
	Boundary []bool
	// Crossings is the number of proper edge crossings of the drawing
	// (fibres crossing on the layer; Bearing has some).
	Crossings int
}

// ErrNotPlane reports a drawing whose faces cannot be traced.
var ErrNotPlane = errors.New("graph drawing has no outer face")

// crossing is an intersection of two edges away from shared end nodes.
type crossing struct {
	e1, e2 int
	// t1, t2: parameters along e1 and e2 (from Edges[e].A, in (0,1) for a
	// proper crossing; a T-junction has one end node w of the other edge).
	t1, t2 float64
	// w is the end node of e2 lying inside e1 (T-junction), or -1 for a
	// proper crossing at point x, y.
	w    int
	x, y float64
}

// intersections lists every pair of edges of g whose segments (in the xy
// plane) meet other than at a shared end node: proper crossings and nodes
// lying inside another edge. It buckets edges on a uniform grid of cell ≈
// mean edge length, so the cost is about linear for lattice-like graphs.
// Pairs are reported once, ordered by (e1, e2).
func intersections(g *graph.Graph) []crossing {
	m := g.NumEdges()
	if m < 2 {
		return nil
	}
	lo, hi := g.Bounds()
	cell := g.MeanLengthMM()
	if !(cell > 0) {
		cell = 1
	}
	for (hi.X-lo.X)/cell*(hi.Y-lo.Y)/cell > 4e6 {
		cell *= 2
	}
	nx := int((hi.X-lo.X)/cell) + 1
	ny := int((hi.Y-lo.Y)/cell) + 1
	buckets := map[int][]int32{}
	cellOf := func(x, y float64) (int, int) {
		return min(nx-1, max(0, int((x-lo.X)/cell))), min(ny-1, max(0, int((y-lo.Y)/cell)))
	}
	for e, ed := range g.Edges {
		a, b := g.Pos[ed.A], g.Pos[ed.B]
		x0, y0 := cellOf(math.Min(a.X, b.X), math.Min(a.Y, b.Y))
		x1, y1 := cellOf(math.Max(a.X, b.X), math.Max(a.Y, b.Y))
		for i := x0; i <= x1; i++ {
			for j := y0; j <= y1; j++ {
				k := j*nx + i
				buckets[k] = append(buckets[k], int32(e))
			}
		}
	}
	seen := map[[2]int32]bool{}
	var out []crossing
	for _, es := range buckets {
		for i := 0; i < len(es); i++ {
			for j := i + 1; j < len(es); j++ {
				e1, e2 := es[i], es[j]
				if e1 > e2 {
					e1, e2 = e2, e1
				}
				k := [2]int32{e1, e2}
				if seen[k] {
					continue
				}
				seen[k] = true
				out = append(out, intersect(g, int(e1), int(e2))...)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].e1 != out[j].e1 {
			return out[i].e1 < out[j].e1
		}
		if out[i].e2 != out[j].e2 {
			return out[i].e2 < out[j].e2
		}
		return out[i].w < out[j].w
	})
	return out
}

// intersect returns the intersections of edges e1 and e2 other than a
// shared end node: a proper crossing, or end nodes of one edge lying
// inside the other (reported with the containing edge first).
func intersect(g *graph.Graph, e1, e2 int) []crossing {
	a, b := g.Edges[e1], g.Edges[e2]
	p, q := g.Pos[a.A], g.Pos[a.B]
	r, s := g.Pos[b.A], g.Pos[b.B]
	o1 := orient(p.X, p.Y, q.X, q.Y, r.X, r.Y)
	o2 := orient(p.X, p.Y, q.X, q.Y, s.X, s.Y)
	o3 := orient(r.X, r.Y, s.X, s.Y, p.X, p.Y)
	o4 := orient(r.X, r.Y, s.X, s.Y, q.X, q.Y)
	if o1*o2 < 0 && o3*o4 < 0 {
		d1x, d1y := q.X-p.X, q.Y-p.Y
		d2x, d2y := s.X-r.X, s.Y-r.Y
		den := d1x*d2y - d1y*d2x
		t1 := ((r.X-p.X)*d2y - (r.Y-p.Y)*d2x) / den
		t2 := ((r.X-p.X)*d1y - (r.Y-p.Y)*d1x) / den
		return []crossing{{e1: e1, e2: e2, t1: t1, t2: t2, w: -1, x: p.X + t1*d1x, y: p.Y + t1*d1y}}
	}
	var out []crossing
	inside := func(e, w int, o float64, ax, ay, bx, by, cx, cy float64) {
		ed := g.Edges[e]
		if o != 0 || w == ed.A || w == ed.B || !onSeg(ax, ay, bx, by, cx, cy) {
			return
		}
		dx, dy := bx-ax, by-ay
		t := ((cx-ax)*dx + (cy-ay)*dy) / (dx*dx + dy*dy)
		if t > 0 && t < 1 {
			out = append(out, crossing{e1: e, e2: -1, t1: t, w: w})
		}
	}
	inside(e1, b.A, o1, p.X, p.Y, q.X, q.Y, r.X, r.Y)
	inside(e1, b.B, o2, p.X, p.Y, q.X, q.Y, s.X, s.Y)
	inside(e2, a.A, o3, r.X, r.Y, s.X, s.Y, p.X, p.Y)
	inside(e2, a.B, o4, r.X, r.Y, s.X, s.Y, q.X, q.Y)
	return out
}

// Planarize returns the plane graph of g's drawing: every crossing becomes
// a vertex (ids from g.NumNodes() on, in crossing order), edges are split
// at crossings and at nodes lying inside them, and collinear overlaps are
// merged. Vertices < g.NumNodes() are g's nodes with the same positions.
// It also returns the number of proper crossings.
func Planarize(g *graph.Graph) (*graph.Graph, int, error) {
	n := g.NumNodes()
	pos := append([]r3.Vector(nil), g.Pos...)
	z := 0.0
	if n > 0 {
		z = g.Pos[0].Z
	}
	type split struct {
		t float64
		v int
	}
	splits := make(map[int][]split)
	// merge crossing points that coincide (three or more edges through one
	// point) on a grid of 1e-6 mm
	ids := map[[2]int64]int{}
	crossings := 0
	for _, c := range intersections(g) {
		if c.w >= 0 {
			splits[c.e1] = append(splits[c.e1], split{c.t1, c.w})
			continue
		}
		crossings++
		k := [2]int64{int64(math.Round(c.x * 1e6)), int64(math.Round(c.y * 1e6))}
		v, ok := ids[k]
		if !ok {
			v = len(pos)
			ids[k] = v
			pos = append(pos, r3.Vector{X: c.x, Y: c.y, Z: z})
		}
		splits[c.e1] = append(splits[c.e1], split{c.t1, v})
		splits[c.e2] = append(splits[c.e2], split{c.t2, v})
	}
	var edges []graph.Edge
	have := map[[2]int]bool{}
	add := func(a, b int) {
		if a == b {
			return
		}
		k := [2]int{min(a, b), max(a, b)}
		if have[k] {
			return
		}
		have[k] = true
		edges = append(edges, graph.Edge{A: a, B: b})
	}
	for e, ed := range g.Edges {
		sp := splits[e]
		if len(sp) == 0 {
			add(ed.A, ed.B)
			continue
		}
		sort.Slice(sp, func(i, j int) bool { return sp[i].t < sp[j].t })
		prev := ed.A
		for _, x := range sp {
			add(prev, x.v)
			prev = x.v
		}
		add(prev, ed.B)
	}
	pg, err := graph.New(pos, edges, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("planarize: %w", err)
	}
	pg.Name = g.Name
	return pg, crossings, nil
}

// orient returns the sign of the cross product (b−a)×(c−a), with a relative
// tolerance so that nearly collinear triples count as collinear.
func orient(ax, ay, bx, by, cx, cy float64) float64 {
	v := (bx-ax)*(cy-ay) - (by-ay)*(cx-ax)
	scale := (math.Abs(bx-ax) + math.Abs(by-ay)) * (math.Abs(cx-ax) + math.Abs(cy-ay))
	if math.Abs(v) <= 1e-12*scale {
		return 0
	}
	if v > 0 {
		return 1
	}
	return -1
}

// onSeg reports whether c (collinear with ab) lies within segment ab.
func onSeg(ax, ay, bx, by, cx, cy float64) bool {
	return math.Min(ax, bx) <= cx && cx <= math.Max(ax, bx) && math.Min(ay, by) <= cy && cy <= math.Max(ay, by)
}

// Faces returns every face of the plane drawing of g as a node loop: bounded
// faces counter-clockwise (positive area), the outer face of each connected
// piece clockwise. g must have no crossing edges (see Planarize); isolated
// nodes belong to no face. Loop.Pts is left nil.
func Faces(g *graph.Graph) []Loop {
	n := g.NumNodes()
	// rotation system: neighbours of each node sorted by angle (CCW)
	start := make([]int, n+1)
	for v := 0; v < n; v++ {
		start[v+1] = start[v] + g.Degree(v)
	}
	rot := make([]int32, start[n]) // half-edge slot → neighbour
	for v := 0; v < n; v++ {
		nb := g.Neighbors(v)
		s := rot[start[v]:start[v+1]]
		for i, h := range nb {
			s[i] = h.To
		}
		p := g.Pos[v]
		ang := func(w int32) float64 { q := g.Pos[w]; return math.Atan2(q.Y-p.Y, q.X-p.X) }
		sort.SliceStable(s, func(i, j int) bool { return ang(s[i]) < ang(s[j]) })
	}
	// position of neighbour w in v's rotation
	posIn := func(v int, w int32) int {
		s := rot[start[v]:start[v+1]]
		for i, x := range s {
			if x == w {
				return i
			}
		}
		panic("ccf: rotation system inconsistent")
	}
	seen := make([]bool, start[n])
	var faces []Loop
	for v := 0; v < n; v++ {
		for k := start[v]; k < start[v+1]; k++ {
			if seen[k] {
				continue
			}
			var loop []int
			area := 0.0
			u, slot := v, k
			for !seen[slot] {
				seen[slot] = true
				w := int(rot[slot])
				loop = append(loop, u)
				pu, pw := g.Pos[u], g.Pos[w]
				area += pu.X*pw.Y - pw.X*pu.Y
				// at w, coming from u: next is the clockwise successor of u
				d := start[w+1] - start[w]
				i := posIn(w, int32(u))
				j := (i - 1 + d) % d
				u, slot = w, start[w]+j
			}
			faces = append(faces, Loop{Nodes: loop, AreaMM2: area / 2})
		}
	}
	return faces
}

// ComputeOutline derives the layer outline, the holes and the boundary
// nodes of the drawing of g (planarized first, so crossing edges are
// fine). holeFactor is ccf.hole_area_factor.
func ComputeOutline(g *graph.Graph, holeFactor float64) (*Outline, error) {
	pg, crossings, err := Planarize(g)
	if err != nil {
		return nil, err
	}
	faces := Faces(pg)
	outer := -1
	var bounded []int
	for i, f := range faces {
		if f.AreaMM2 < 0 {
			if outer < 0 || f.AreaMM2 < faces[outer].AreaMM2 {
				outer = i
			}
		} else {
			bounded = append(bounded, i)
		}
	}
	if outer < 0 {
		if g.NumEdges() > 0 {
			// a tree (one edge, a path, a star) has one face of zero area
			return nil, fmt.Errorf("%w: the %d edges of %s enclose no area (no closed loop), so the layer has no outline for the matrix",
				ErrNotPlane, g.NumEdges(), g.Name)
		}
		return nil, fmt.Errorf("%w: graph without edges", ErrNotPlane)
	}
	n := g.NumNodes()
	o := &Outline{Boundary: make([]bool, n), Crossings: crossings}
	mark := func(f Loop) {
		for _, v := range f.Nodes {
			if v < n {
				o.Boundary[v] = true
			}
		}
	}
	o.Outer = faces[outer].reversed(pg)
	mark(o.Outer)
	if len(bounded) >= 3 {
		areas := make([]float64, len(bounded))
		for i, fi := range bounded {
			areas[i] = faces[fi].AreaMM2
		}
		sort.Float64s(areas)
		med := areas[len(areas)/2]
		for _, fi := range bounded {
			if med > 0 && faces[fi].AreaMM2 >= holeFactor*med {
				h := faces[fi].reversed(pg)
				o.Holes = append(o.Holes, h)
				mark(h)
			}
		}
	}
	return o, nil
}

// reversed returns the loop walked the other way, with its points.
func (l Loop) reversed(pg *graph.Graph) Loop {
	out := Loop{Nodes: reversed(l.Nodes), AreaMM2: -l.AreaMM2}
	out.Pts = make([]r2.Point, len(out.Nodes))
	for i, v := range out.Nodes {
		out.Pts[i] = r2.Point{X: pg.Pos[v].X, Y: pg.Pos[v].Y}
	}
	return out
}

func reversed(s []int) []int {
	out := make([]int, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// convexHullNodes marks the nodes on the convex hull of the nodes that have
// edges (Andrew's monotone chain; collinear hull points included). It is the
// boundary fallback for drawings with crossing edges.
func convexHullNodes(g *graph.Graph) []bool {
	var pts []int
	for v := 0; v < g.NumNodes(); v++ {
		if g.Degree(v) > 0 {
			pts = append(pts, v)
		}
	}
	out := make([]bool, g.NumNodes())
	if len(pts) < 3 {
		for _, v := range pts {
			out[v] = true
		}
		return out
	}
	sort.Slice(pts, func(i, j int) bool {
		a, b := g.Pos[pts[i]], g.Pos[pts[j]]
		return a.X < b.X || (a.X == b.X && a.Y < b.Y)
	})
	cross := func(o, a, b int) float64 {
		po, pa, pb := g.Pos[o], g.Pos[a], g.Pos[b]
		return (pa.X-po.X)*(pb.Y-po.Y) - (pa.Y-po.Y)*(pb.X-po.X)
	}
	var hull []int
	for pass := 0; pass < 2; pass++ {
		base := len(hull)
		for _, p := range pts {
			for len(hull) >= base+2 && cross(hull[len(hull)-2], hull[len(hull)-1], p) < 0 {
				hull = hull[:len(hull)-1]
			}
			hull = append(hull, p)
		}
		for i, j := 0, len(pts)-1; i < j; i, j = i+1, j-1 {
			pts[i], pts[j] = pts[j], pts[i]
		}
	}
	for _, v := range hull {
		out[v] = true
	}
	return out
}
