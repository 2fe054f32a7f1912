// Package ir is the geometric intermediate representation of one layer of
// G-code after Li 2020 ("G-code re-compilation and optimization for faster
// 3D printing", spec gcode-compiler.md): an undirected multigraph whose
// vertices are XY positions on the axis-resolution grid and whose edges are
// extrusion movements carrying their settings, plus the passes that reorder
// it — segmentation at intersections (spatial hash), connected components,
// a minimum-length pairing of odd vertices (greedy, as in the paper, or
// greedy improved by 2-opt exchanges), Hierholzer Euler tours with the
// paper's next-edge heuristic (same settings, then least direction change),
// component ordering by nearest next vertex, and a 2-opt/Or-opt pass on the
// resulting runs.
//
// All coordinates are millimetres in the layer's XY plane. The graph never
// changes material: a split edge's pieces carry fractions [T0, T1] of their
// source extrusion, and every source is covered exactly once.
package ir

import (
	"math"
)

// Vec is an XY point or direction (mm).
type Vec [2]float64

func (a Vec) sub(b Vec) Vec       { return Vec{a[0] - b[0], a[1] - b[1]} }
func (a Vec) dot(b Vec) float64   { return a[0]*b[0] + a[1]*b[1] }
func (a Vec) cross(b Vec) float64 { return a[0]*b[1] - a[1]*b[0] }
func dist(a, b Vec) float64 {
	dx, dy := a[0]-b[0], a[1]-b[1]
	return math.Sqrt(dx*dx + dy*dy)
}
func lerp(a, b Vec, t float64) Vec { return Vec{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t} }
func unit(v Vec) Vec {
	n := math.Sqrt(v[0]*v[0] + v[1]*v[1])
	if n == 0 {
		return Vec{}
	}
	return Vec{v[0] / n, v[1] / n}
}

// EdgeKind is the geometry of an edge.
type EdgeKind uint8

// Edge kinds.
const (
	Line  EdgeKind = iota // straight segment U→V
	Arc                   // circular arc U→V (never split)
	Fixed                 // a seam-locked closed loop: U == V, printed as a unit in its own direction
)

// Edge is one extrusion unit of the layer.
type Edge struct {
	U, V int32 // endpoint vertices in the source direction
	Kind EdgeKind
	// Key identifies the settings (feed, fan, acceleration, ...): the
	// next-edge heuristic prefers edges with the key of the edge just
	// printed.
	Key uint64
	// Src is the caller's index of the source extrusion; T0 < T1 are the
	// fractions of the source this edge covers (0, 1 unless split).
	Src    int32
	T0, T1 float64
	// Len is the XY length (mm).
	Len float64
	// Out is the unit tangent leaving U, In the unit tangent arriving at V
	// (source direction).
	Out, In Vec
	// Perimeter marks edges whose crossing by a travel calls for a
	// retraction.
	Perimeter bool
}

// Graph is one layer's extrusion graph.
type Graph struct {
	Pts   []Vec
	Edges []Edge
	// Res is the axis resolution (mm): vertices are identified on this
	// grid and new intersection vertices are rounded to it.
	Res float64
	// TravelMMS and TravelAccel (mm/s, mm/s²), when set, make run
	// reordering minimise travel time instead of travel length.
	TravelMMS, TravelAccel float64
	// CrossCost, when set, is the extra cost (s) of a travel from a to b,
	// e.g. the retraction a travel across a perimeter needs.
	CrossCost func(a, b Vec) float64

	index map[[2]int64]int32
	ws    [12][]int32 // scratch reused by the passes
	wsB   [3][]bool
}

// i32 returns scratch slot k resized to n zeroed elements.
func (g *Graph) i32(k, n int) []int32 {
	b := g.ws[k]
	if cap(b) < n {
		b = make([]int32, n, n+n/4)
	} else {
		b = b[:n]
		clear(b)
	}
	g.ws[k] = b
	return b
}

// bools returns boolean scratch slot k resized to n false elements.
func (g *Graph) bools(k, n int) []bool {
	b := g.wsB[k]
	if cap(b) < n {
		b = make([]bool, n, n+n/4)
	} else {
		b = b[:n]
		clear(b)
	}
	g.wsB[k] = b
	return b
}

// NewGraph returns an empty graph with resolution res (mm, > 0).
func NewGraph(res float64) *Graph {
	g := &Graph{}
	g.Reset(res)
	return g
}

// Reset empties the graph, keeping its memory.
func (g *Graph) Reset(res float64) {
	if !(res > 0) {
		res = 1e-3
	}
	g.Res = res
	g.Pts = g.Pts[:0]
	g.Edges = g.Edges[:0]
	if g.index == nil {
		g.index = make(map[[2]int64]int32)
	} else {
		clear(g.index)
	}
}

// Key returns the grid key of p.
func (g *Graph) key(p Vec) [2]int64 {
	return [2]int64{int64(math.Round(p[0] / g.Res)), int64(math.Round(p[1] / g.Res))}
}

// Vertex returns the vertex at p (same grid cell), adding it if needed. The
// first position seen is kept.
func (g *Graph) Vertex(p Vec) int32 {
	k := g.key(p)
	if v, ok := g.index[k]; ok {
		return v
	}
	v := int32(len(g.Pts))
	g.Pts = append(g.Pts, p)
	g.index[k] = v
	return v
}

// Snap rounds p to the resolution grid.
func (g *Graph) Snap(p Vec) Vec {
	k := g.key(p)
	return Vec{float64(k[0]) * g.Res, float64(k[1]) * g.Res}
}

// AddLine adds a straight extrusion from a to b (mm) and returns its index.
// Zero-length lines (a and b on the same grid cell) are added as lines with
// U == V.
func (g *Graph) AddLine(a, b Vec, key uint64, src int32, perimeter bool) int32 {
	u, v := g.Vertex(a), g.Vertex(b)
	pa, pb := g.Pts[u], g.Pts[v]
	d := unit(pb.sub(pa))
	g.Edges = append(g.Edges, Edge{U: u, V: v, Kind: Line, Key: key, Src: src, T0: 0, T1: 1,
		Len: dist(pa, pb), Out: d, In: d, Perimeter: perimeter})
	return int32(len(g.Edges) - 1)
}

// AddArc adds an arc from a to b with the given XY length and end tangents.
func (g *Graph) AddArc(a, b Vec, lenMM float64, out, in Vec, key uint64, src int32, perimeter bool) int32 {
	u, v := g.Vertex(a), g.Vertex(b)
	g.Edges = append(g.Edges, Edge{U: u, V: v, Kind: Arc, Key: key, Src: src, T0: 0, T1: 1,
		Len: lenMM, Out: out, In: in, Perimeter: perimeter})
	return int32(len(g.Edges) - 1)
}

// AddFixed adds a seam-locked closed loop starting and ending at seam.
func (g *Graph) AddFixed(seam Vec, lenMM float64, out, in Vec, key uint64, src int32, perimeter bool) int32 {
	u := g.Vertex(seam)
	g.Edges = append(g.Edges, Edge{U: u, V: u, Kind: Fixed, Key: key, Src: src, T0: 0, T1: 1,
		Len: lenMM, Out: out, In: in, Perimeter: perimeter})
	return int32(len(g.Edges) - 1)
}

// Step is one edge of a plan, traversed from U to V (Rev false) or V to U.
type Step struct {
	Edge int32
	Rev  bool
}

// From returns the start vertex of the step.
func (g *Graph) From(s Step) int32 {
	if s.Rev {
		return g.Edges[s.Edge].V
	}
	return g.Edges[s.Edge].U
}

// To returns the end vertex of the step.
func (g *Graph) To(s Step) int32 {
	if s.Rev {
		return g.Edges[s.Edge].U
	}
	return g.Edges[s.Edge].V
}

// TravelMM is the total straight-line travel of a plan starting at start:
// the gaps between consecutive steps that do not share a vertex.
func (g *Graph) TravelMM(start Vec, steps []Step) float64 {
	cur := start
	t := 0.0
	for _, s := range steps {
		p := g.Pts[g.From(s)]
		t += dist(cur, p)
		cur = g.Pts[g.To(s)]
	}
	return t
}

// Components labels the connected components of the edges (union-find
// over vertices) and returns the label per edge and the count.
func (g *Graph) Components() ([]int32, int) {
	parent := g.i32(10, len(g.Pts))
	for i := range parent {
		parent[i] = int32(i)
	}
	var find func(int32) int32
	find = func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, e := range g.Edges {
		a, b := find(e.U), find(e.V)
		if a != b {
			parent[a] = b
		}
	}
	label := g.i32(11, len(g.Pts))
	for i := range label {
		label[i] = -1
	}
	n := 0
	out := make([]int32, len(g.Edges))
	for i, e := range g.Edges {
		r := find(e.U)
		if label[r] < 0 {
			label[r] = int32(n)
			n++
		}
		out[i] = label[r]
	}
	return out, n
}

// Degrees returns the degree of every vertex (a self-loop counts twice).
func (g *Graph) Degrees() []int32 {
	deg := make([]int32, len(g.Pts))
	for _, e := range g.Edges {
		deg[e.U]++
		deg[e.V]++
	}
	return deg
}
