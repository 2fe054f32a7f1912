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
	// e.g. the retraction a travel across a perimeter needs. It must be
	// ≥ 0, symmetric and depend only on the two points: run reordering
	// memoises it and skips it for moves that cannot win without it.
	CrossCost func(a, b Vec) float64

	index  vertexIndex
	ws     [12][]int32 // scratch reused by the passes
	xcache crossCache  // ImproveRuns' memo of CrossCost
	seg    segScratch  // Segment's memory
	wsB    [3][]bool
	// the last vertex Vertex returned, by key
	lastKey [2]int64
	lastV   int32
	lastOK  bool
	runWS   runScratch // ImproveRuns' memory
	grid    pointGrid  // Chain's and ImproveRuns' point grid
	tourWS  tourScratch
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
	g.index.reset()
	g.lastOK = false
	g.runWS.warm = false
}

// Reserve makes room for about n more edges (and their vertices), so that
// building a layer of known size does not grow the graph step by step.
func (g *Graph) Reserve(n int) {
	if n <= 0 {
		return
	}
	g.Edges = growCap(g.Edges, n+n/8)
	g.Pts = growCap(g.Pts, n+n/8)
	for 2*(g.index.n+n+1) > len(g.index.vals) {
		g.index.grow()
	}
}

// growCap returns s with room for n more elements.
func growCap[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	t := make([]T, len(s), len(s)+n)
	copy(t, s)
	return t
}

// Key returns the grid key of p.
func (g *Graph) key(p Vec) [2]int64 {
	return [2]int64{int64(RoundHalfAway(p[0] / g.Res)), int64(RoundHalfAway(p[1] / g.Res))}
}

// RoundHalfAway is math.Round (half away from zero; ±0, ±Inf and NaN
// returned as they are), bit for bit, in a form the compiler inlines to a
// hardware truncation: for |x| < 2⁵² the fraction x − Trunc(x) is exact,
// and larger floats are integers already (TestRoundHalfAway).
func RoundHalfAway(x float64) float64 {
	t := math.Trunc(x)
	if math.Abs(x-t) >= 0.5 {
		return t + math.Copysign(1, x)
	}
	return t
}

// Vertex returns the vertex at p (same grid cell), adding it if needed. The
// first position seen is kept.
func (g *Graph) Vertex(p Vec) int32 {
	k := g.key(p)
	if g.lastOK && k == g.lastKey {
		return g.lastV // consecutive strokes share an endpoint
	}
	slot, ok := g.index.find(k)
	if ok {
		v := g.index.vals[slot]
		g.lastKey, g.lastV, g.lastOK = k, v, true
		return v
	}
	v := int32(len(g.Pts))
	g.Pts = append(g.Pts, p)
	g.index.insert(slot, k, v)
	g.lastKey, g.lastV, g.lastOK = k, v, true
	return v
}

// vertexIndex maps grid keys to vertices: an open-addressing hash table
// with linear probing (a Go map of [2]int64 keys costs several times more
// per lookup, and building the graph is a lookup per endpoint).
type vertexIndex struct {
	keys [][2]int64
	vals []int32 // −1: empty slot
	n    int
}

// reset empties the index, keeping its memory.
func (x *vertexIndex) reset() {
	for i := range x.vals {
		x.vals[i] = -1
	}
	x.n = 0
}

func (x *vertexIndex) hash(k [2]int64) int {
	h := uint64(k[0])*0x9e3779b97f4a7c15 ^ uint64(k[1])*0xc2b2ae3d27d4eb4f
	h ^= h >> 29
	return int(h & uint64(len(x.vals)-1))
}

// find returns the slot of k and true, or the empty slot where k belongs
// and false.
func (x *vertexIndex) find(k [2]int64) (int, bool) {
	if 2*(x.n+1) > len(x.vals) {
		x.grow()
	}
	mask := len(x.vals) - 1
	for i := x.hash(k); ; i = (i + 1) & mask {
		if x.vals[i] < 0 {
			return i, false
		}
		if x.keys[i] == k {
			return i, true
		}
	}
}

// insert stores k → v in the empty slot returned by find.
func (x *vertexIndex) insert(slot int, k [2]int64, v int32) {
	x.keys[slot], x.vals[slot] = k, v
	x.n++
}

// grow doubles the table (at least 64 slots) and re-inserts every entry.
func (x *vertexIndex) grow() {
	keys, vals := x.keys, x.vals
	size := max(64, 2*len(vals))
	x.keys, x.vals = make([][2]int64, size), make([]int32, size)
	for i := range x.vals {
		x.vals[i] = -1
	}
	x.n = 0
	for i, v := range vals {
		if v >= 0 {
			slot, _ := x.find(keys[i])
			x.insert(slot, keys[i], v)
		}
	}
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
	// unit(pb − pa) and dist(pa, pb) share one square root (the squares
	// of ±δ are equal, so both are bit-identical to the separate calls).
	dv := pb.sub(pa)
	n := math.Sqrt(dv[0]*dv[0] + dv[1]*dv[1])
	var d Vec
	if n != 0 {
		d = Vec{dv[0] / n, dv[1] / n}
	}
	g.Edges = append(g.Edges, Edge{U: u, V: v, Kind: Line, Key: key, Src: src, T0: 0, T1: 1,
		Len: n, Out: d, In: d, Perimeter: perimeter})
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
		if p := g.Pts[g.From(s)]; p != cur { // (dist 0 adds nothing)
			t += dist(cur, p)
		}
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
