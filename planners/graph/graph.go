// Package graph is fabcell's model of a printable graph: nodes with positions
// in millimetres, undirected edges (struts, fibre segments, pixel links),
// grounded flags, adjacency, edge lengths and connected components.
//
// Every loader in this package returns node indices in the 0-based order of
// the input file and edge indices in the order of the edge list, so a path
// written by any other tool against the same file can be compared with
// fabcell's own output. Formats (Load picks one by name and content; each
// loader's file documents its exact rules): the RL3DP Node/Edge text pair
// (rl3dp.go), assembly_instances / Choreo JSON (assembly.go), conmech JSON
// (conmech.go), Wavefront OBJ meshes (obj.go), binary PNG masks (pixel.go)
// and layers of Common Layer Interface files (cli.go, package commonlayer).
// Pixel graphs number their cells row-major from the top row.
//
// Invariants of a *Graph returned by a loader or by New:
//   - len(Pos) == len(Grounded) == NumNodes();
//   - every coordinate is finite;
//   - every edge joins two distinct, in-range nodes and no two edges join the
//     same pair (multigraph inputs such as the doubled CCF edge lists are
//     collapsed and the multiplicity kept in Passes);
//   - adjacency lists are sorted by neighbour index, so iteration is
//     deterministic.
package graph

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/golang/geo/r3"
)

// Kind tells what physical process a graph was built for; it only changes
// defaults (grounding rule, planar encoding), never the data layout.
type Kind int

const (
	// Wireframe is a 3-D strut frame printed by a robot arm (grounded nodes
	// on the bed).
	Wireframe Kind = iota
	// Planar is a single-layer graph (CCF fibre paths); all z equal.
	Planar
	// Pixel is a rasterised LPBF layer: nodes on a square grid, 4-neighbour
	// edges.
	Pixel
)

func (k Kind) String() string {
	switch k {
	case Wireframe:
		return "wireframe"
	case Planar:
		return "planar"
	case Pixel:
		return "pixel"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Edge is an undirected edge between two node indices, stored in file order
// (A is the first index written in the file).
type Edge struct {
	A, B int
}

// Other returns the end of e that is not v. v must be an end of e.
func (e Edge) Other(v int) int {
	if e.A == v {
		return e.B
	}
	return e.A
}

// Half is one entry of a node's adjacency list: the neighbour and the index
// of the edge that leads to it.
type Half struct {
	To   int32
	Edge int32
}

// Graph is an undirected simple graph with node positions in millimetres.
// Build it with New (or a loader); the exported slices must not be resized
// afterwards, because the adjacency index is derived from them.
type Graph struct {
	// Name is the model name (file stem without the Node/Edge prefixes).
	Name string
	// Source is the path the graph was read from (for error messages).
	Source string
	// Kind tells which process the graph is meant for.
	Kind Kind

	// Pos holds node positions in millimetres, index = node id.
	Pos []r3.Vector
	// Edges holds the undirected edges, index = edge id.
	Edges []Edge
	// Grounded marks nodes that rest on the bed (fixed supports for FEA,
	// legal first-strut starts for the wire-frame process).
	Grounded []bool
	// Passes is the number of times each edge was listed in the input
	// (1 for simple graphs, 2 for the doubled CCF edge lists). nil means all 1.
	Passes []uint8

	// SpacingMM is the grid pitch of a Pixel graph (0 for other kinds).
	SpacingMM float64

	// Meta carries optional format-specific data (materials, bed frame,
	// designer layer ids, supports). Zero value means "not given".
	Meta Meta

	lengthMM []float64
	adjStart []int32
	adj      []Half
}

// Meta is format-specific information that some loaders can provide.
type Meta struct {
	// Unit is the unit the file declared (positions are always converted to mm).
	Unit string
	// LayerID is the designer's layer id per edge (assembly_instances), or nil.
	LayerID []int
	// Material is the uniform strut material declared in the file, in SI
	// units, or nil.
	Material *Material
	// BedFrame is the print-bed frame expressed in the robot base frame, or nil.
	BedFrame *Frame
	// Fixities holds per-node support conditions (true = fixed) for
	// tx, ty, tz, rx, ry, rz when the file lists them; grounded nodes without
	// an entry are fully fixed.
	Fixities map[int][6]bool
	// ElemTags holds conmech element tags per edge, or nil.
	ElemTags []string
	// ElemMaterial holds a per-edge material and section when the file
	// gives them per element (conmech cross_secs/materials), or nil when
	// Material applies to all edges.
	ElemMaterial []*Material
	// BendingStiff is false for edges declared as pin-ended/truss members
	// (conmech "bending_stiff": false); nil means all rigid.
	BendingStiff []bool
	// Warnings lists recoverable oddities the loader noticed and how it
	// resolved them (e.g. two disagreeing bed-frame origins), one line each.
	Warnings []string
}

// Material is an isotropic strut material with a round (or given) section,
// all in SI units. It is what a file declared; config presets live in
// package config.
type Material struct {
	Name         string
	EPa          float64 // Young's modulus, Pa
	GPa          float64 // shear modulus, Pa
	DensityKgM3  float64 // mass density, kg/m³
	AreaM2       float64 // cross-section area, m²
	IyM4, IzM4   float64 // second moments of area, m⁴
	JM4          float64 // torsion constant, m⁴
	YieldPa      float64 // tensile yield stress, Pa (0 = unknown)
	SourceNote   string  // where the numbers came from
	UnitWeightNM float64 // weight per unit volume, N/m³ (ρ·g) if the file gave it that way
}

// Frame is a rigid frame: origin in millimetres and unit axes.
type Frame struct {
	OriginMM     r3.Vector
	X, Y, Z      r3.Vector
	DeclaredUnit string
}

// Errors shared by the loaders and Validate.
var (
	ErrEmpty      = errors.New("graph has no nodes")
	ErrNoEdges    = errors.New("graph has no edges")
	ErrSelfLoop   = errors.New("self-loop")
	ErrDuplicate  = errors.New("duplicate edge")
	ErrIndex      = errors.New("node index out of range")
	ErrNonFinite  = errors.New("non-finite coordinate")
	ErrTooLarge   = errors.New("input exceeds size limit")
	ErrSyntax     = errors.New("syntax error")
	ErrUnit       = errors.New("unsupported unit")
	ErrDisconnect = errors.New("graph is disconnected")
	// ErrMissing: a required field or section is absent.
	ErrMissing = errors.New("missing field")
	// ErrTruncated: the file ends in the middle of a record.
	ErrTruncated = errors.New("truncated input")
	// ErrNonBinary: a PNG mask has more than two grey levels.
	ErrNonBinary = errors.New("image is not a binary mask")
	// ErrUnsupported: a valid feature of the format fabcell cannot represent.
	ErrUnsupported = errors.New("unsupported feature")
	// ErrEmptyLayer: a layer of a layered file (CLI) has no geometry at
	// all. It wraps ErrEmpty; `fabcell validate` skips such layers when it
	// walks a whole file.
	ErrEmptyLayer = fmt.Errorf("%w: empty layer", ErrEmpty)
	// ErrNotModel: the file is a companion of a model (e.g. a conmech
	// load-case file), not a model itself.
	ErrNotModel = errors.New("not a model file")
)

// Limits bound what a loader accepts, so that a hostile or corrupt file
// cannot make fabcell allocate without bound.
var (
	// MaxNodes is the largest node count any loader accepts.
	MaxNodes = 5_000_000
	// MaxEdges is the largest edge count any loader accepts.
	MaxEdges = 20_000_000
)

// New builds a graph from positions (mm), edges and grounded flags and
// validates it. grounded may be nil (no grounded nodes).
func New(pos []r3.Vector, edges []Edge, grounded []bool) (*Graph, error) {
	if grounded == nil {
		grounded = make([]bool, len(pos))
	}
	g := &Graph{Pos: pos, Edges: edges, Grounded: grounded}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	g.Index()
	return g, nil
}

// Validate checks the invariants listed in the package comment.
func (g *Graph) Validate() error {
	if len(g.Pos) == 0 {
		return ErrEmpty
	}
	if len(g.Grounded) != len(g.Pos) {
		return fmt.Errorf("grounded flags: %d for %d nodes", len(g.Grounded), len(g.Pos))
	}
	if g.Passes != nil && len(g.Passes) != len(g.Edges) {
		return fmt.Errorf("passes: %d for %d edges", len(g.Passes), len(g.Edges))
	}
	for i, p := range g.Pos {
		if !finite(p.X) || !finite(p.Y) || !finite(p.Z) {
			return fmt.Errorf("node %d: %w (%v, %v, %v)", i, ErrNonFinite, p.X, p.Y, p.Z)
		}
	}
	seen := make(map[[2]int]int, len(g.Edges))
	n := len(g.Pos)
	for i, e := range g.Edges {
		if e.A < 0 || e.A >= n || e.B < 0 || e.B >= n {
			return fmt.Errorf("edge %d (%d,%d): %w (have %d nodes)", i, e.A, e.B, ErrIndex, n)
		}
		if e.A == e.B {
			return fmt.Errorf("edge %d (%d,%d): %w", i, e.A, e.B, ErrSelfLoop)
		}
		k := pairKey(e.A, e.B)
		if j, ok := seen[k]; ok {
			return fmt.Errorf("edge %d (%d,%d): %w of edge %d", i, e.A, e.B, ErrDuplicate, j)
		}
		seen[k] = i
	}
	return nil
}

// Index (re)builds the adjacency lists and edge lengths. Loaders call it;
// call it yourself only after building a Graph literal by hand.
func (g *Graph) Index() {
	n := len(g.Pos)
	deg := make([]int32, n+1)
	for _, e := range g.Edges {
		deg[e.A+1]++
		deg[e.B+1]++
	}
	for i := 1; i <= n; i++ {
		deg[i] += deg[i-1]
	}
	g.adjStart = deg
	g.adj = make([]Half, 2*len(g.Edges))
	fill := make([]int32, n)
	for i, e := range g.Edges {
		g.adj[deg[e.A]+fill[e.A]] = Half{To: int32(e.B), Edge: int32(i)}
		fill[e.A]++
		g.adj[deg[e.B]+fill[e.B]] = Half{To: int32(e.A), Edge: int32(i)}
		fill[e.B]++
	}
	for v := 0; v < n; v++ {
		sortHalves(g.adj[deg[v]:deg[v+1]])
	}
	g.lengthMM = make([]float64, len(g.Edges))
	for i, e := range g.Edges {
		g.lengthMM[i] = g.Pos[e.A].Sub(g.Pos[e.B]).Norm()
	}
}

// sortHalves sorts an adjacency list by neighbour. Lists are short (a
// handful of struts, 4 pixel neighbours), so insertion sort avoids the
// per-call allocation of sort.Slice; long lists use slices.SortFunc.
func sortHalves(s []Half) {
	if len(s) > 16 {
		slices.SortFunc(s, func(a, b Half) int { return int(a.To) - int(b.To) })
		return
	}
	for i := 1; i < len(s); i++ {
		h := s[i]
		j := i
		for j > 0 && s[j-1].To > h.To {
			s[j] = s[j-1]
			j--
		}
		s[j] = h
	}
}

// NumNodes returns the number of nodes.
func (g *Graph) NumNodes() int { return len(g.Pos) }

// NumEdges returns the number of (distinct) edges.
func (g *Graph) NumEdges() int { return len(g.Edges) }

// Neighbors returns v's adjacency list, sorted by neighbour index. The slice
// is shared; do not modify it.
func (g *Graph) Neighbors(v int) []Half {
	return g.adj[g.adjStart[v]:g.adjStart[v+1]]
}

// Degree returns the number of edges at v.
func (g *Graph) Degree(v int) int { return int(g.adjStart[v+1] - g.adjStart[v]) }

// LengthMM returns the length of edge e in millimetres.
func (g *Graph) LengthMM(e int) float64 { return g.lengthMM[e] }

// MaxLengthMM returns the longest edge length (0 for an edgeless graph).
func (g *Graph) MaxLengthMM() float64 {
	m := 0.0
	for _, l := range g.lengthMM {
		m = math.Max(m, l)
	}
	return m
}

// MeanLengthMM returns the mean edge length (0 for an edgeless graph).
func (g *Graph) MeanLengthMM() float64 {
	if len(g.lengthMM) == 0 {
		return 0
	}
	s := 0.0
	for _, l := range g.lengthMM {
		s += l
	}
	return s / float64(len(g.lengthMM))
}

// TotalLengthMM returns the sum of all edge lengths.
func (g *Graph) TotalLengthMM() float64 {
	s := 0.0
	for _, l := range g.lengthMM {
		s += l
	}
	return s
}

// EdgeBetween returns the edge joining a and b, if there is one.
func (g *Graph) EdgeBetween(a, b int) (int, bool) {
	if a < 0 || b < 0 || a >= len(g.Pos) || b >= len(g.Pos) {
		return -1, false
	}
	if g.Degree(a) > g.Degree(b) {
		a, b = b, a
	}
	nb := g.Neighbors(a)
	i := sort.Search(len(nb), func(i int) bool { return int(nb[i].To) >= b })
	if i < len(nb) && int(nb[i].To) == b {
		return int(nb[i].Edge), true
	}
	return -1, false
}

// PassesOf returns how many times edge e may be traversed according to the
// input (1 unless the file listed it more often).
func (g *Graph) PassesOf(e int) int {
	if g.Passes == nil {
		return 1
	}
	return int(g.Passes[e])
}

// NumGrounded returns the number of grounded nodes.
func (g *Graph) NumGrounded() int {
	c := 0
	for _, b := range g.Grounded {
		if b {
			c++
		}
	}
	return c
}

// Bounds returns the axis-aligned bounding box of all nodes, in mm.
func (g *Graph) Bounds() (lo, hi r3.Vector) {
	if len(g.Pos) == 0 {
		return
	}
	lo, hi = g.Pos[0], g.Pos[0]
	for _, p := range g.Pos[1:] {
		lo = r3.Vector{X: math.Min(lo.X, p.X), Y: math.Min(lo.Y, p.Y), Z: math.Min(lo.Z, p.Z)}
		hi = r3.Vector{X: math.Max(hi.X, p.X), Y: math.Max(hi.Y, p.Y), Z: math.Max(hi.Z, p.Z)}
	}
	return lo, hi
}

// Components labels connected components. comp[v] is the component of node
// v (0-based, numbered in order of their smallest node); n is their count.
// Isolated nodes form components of their own.
func (g *Graph) Components() (comp []int, n int) {
	comp = make([]int, len(g.Pos))
	for i := range comp {
		comp[i] = -1
	}
	stack := make([]int, 0, 64)
	for s := range g.Pos {
		if comp[s] >= 0 {
			continue
		}
		comp[s] = n
		stack = append(stack[:0], s)
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, h := range g.Neighbors(v) {
				if comp[h.To] < 0 {
					comp[h.To] = n
					stack = append(stack, int(h.To))
				}
			}
		}
		n++
	}
	return comp, n
}

// GroundBelow marks every node with z < zMM as grounded (the RL3DP rule is
// zMM = 1) and returns how many were marked.
func (g *Graph) GroundBelow(zMM float64) int {
	c := 0
	for i, p := range g.Pos {
		g.Grounded[i] = p.Z < zMM
		if g.Grounded[i] {
			c++
		}
	}
	return c
}

// IsPlanar reports whether all nodes share one z within tolMM.
func (g *Graph) IsPlanar(tolMM float64) bool {
	lo, hi := g.Bounds()
	return hi.Z-lo.Z <= tolMM
}

func pairKey(a, b int) [2]int {
	if a > b {
		a, b = b, a
	}
	return [2]int{a, b}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
