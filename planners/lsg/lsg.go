// Package lsg builds the Local Search Graph (LSG) state of the LSG-DQN
// toolpath planner (Huang et al. 2024; spec lsg-dqn.md §5) and the
// memoised prefix tree that planners explore inside it:
//
//   - Builder: the n-ring breadth-first neighbourhood of the current node
//     v_c (§5.1), truncated to N_max nodes in BFS order (§5.4), with its
//     pattern encoding (§5.2): LSCM conformal flattening (Lévy et al. 2002)
//     of the LSG's faces with v_{c−1} pinned at (−1,0) and v_c at (0,0),
//     nodes sorted by (v, u); the planar rotate/mirror rule for planar
//     graphs and LSGs without faces; grid (index) order for pixel graphs;
//   - Explorer: the tree of action prefixes inside one LSG with memoised
//     step rewards, feasibility, jump costs and per-prefix LSG state
//     differences, and the dense state tensor [A, A†, A‡] plus extra rows
//     (§5.3) the Q-network reads;
//   - Exact: the exhaustive n-step search over the Explorer's tree (the
//     paper's BFS baseline, with exact branch and bound) under an episode
//     budget — the bfs planner's decision rule, and LSG-DQN's exact path
//     for LSGs small enough to enumerate (planner.exact_max_leaves);
//   - Discount: the step weights D(k) (Eq. 4, Eq. 16, release default).
//
// All lengths in the state are normalised by the LSG's longest edge, so the
// state is unit-free; positions given to the builder are millimetres.
package lsg

import (
	"errors"
	"fmt"
	"math"

	"fabcell/planners"
	"fabcell/planners/graph"

	"github.com/golang/geo/r3"
)

// Encoding selects how LSG nodes are ordered (spec §5.2).
type Encoding uint8

const (
	// EncodeAuto picks by graph kind: LSCM for wire-frames, Planar for
	// planar (CCF) graphs, Index for pixel (LPBF) graphs.
	EncodeAuto Encoding = iota
	// EncodeLSCM flattens the LSG's faces by least-squares conformal maps
	// (Lévy et al. 2002) and falls back to Planar when it has no faces.
	EncodeLSCM
	// EncodePlanar projects onto the LSG's best-fit plane and applies the
	// pin similarity (the release's rotate/mirror rule for planar graphs).
	EncodePlanar
	// EncodeIndex keeps ascending global node index (the release's grid
	// order for LPBF; no reordering).
	EncodeIndex
)

func (e Encoding) String() string {
	switch e {
	case EncodeAuto:
		return "auto"
	case EncodeLSCM:
		return "lscm"
	case EncodePlanar:
		return "planar"
	case EncodeIndex:
		return "index"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// ParseEncoding reads an encoding name ("" = auto).
func ParseEncoding(s string) (Encoding, error) {
	switch s {
	case "", "auto":
		return EncodeAuto, nil
	case "lscm":
		return EncodeLSCM, nil
	case "planar":
		return EncodePlanar, nil
	case "index":
		return EncodeIndex, nil
	}
	return 0, fmt.Errorf("unknown LSG encoding %q (want auto, lscm, planar or index)", s)
}

// Config sets the LSG size and encoding.
type Config struct {
	// Ring is the LSG range n: nodes within Ring BFS hops of v_c (§5.1).
	Ring int
	// NMax caps the LSG node count (the padded state size, §5.4); the NMax
	// nodes first in BFS order are kept.
	NMax int
	// Encoding orders the nodes (§5.2).
	Encoding Encoding
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Ring < 1 {
		return fmt.Errorf("lsg: ring must be >= 1, got %d", c.Ring)
	}
	if c.NMax < 2 {
		return fmt.Errorf("lsg: n_max must be >= 2, got %d", c.NMax)
	}
	if c.Encoding > EncodeIndex {
		return fmt.Errorf("lsg: unknown encoding %d", c.Encoding)
	}
	return nil
}

// Edge is an LSG edge between local node indices I < J.
type Edge struct {
	I, J int32
	// E is the global edge index.
	E int32
	// Len is the edge length divided by the LSG's longest edge (0, 1].
	Len float64
}

// LSG is one local search graph with its pattern encoding. Node-indexed
// slices use the encoded (local) order: local index 0 is the first node by
// (v, u). An LSG returned by Builder.Build is valid until the next Build on
// the same builder.
type LSG struct {
	// Center is v_c, the global index of the current node.
	Center int
	// Pin is the global node pinned at (−1, 0): v_{c−1} when it lies in the
	// LSG, else v_c's nearest neighbour; -1 when the LSG has one node.
	Pin int
	// Nodes are the global node indices in encoded order.
	Nodes []int
	// Ring is each node's BFS hop distance from v_c.
	Ring []int8
	// UV are the flattened coordinates (pins at (−1,0) and (0,0)), the
	// sort keys of the encoding. Unit: the pinned edge length.
	UV [][2]float64
	// DZ is each node's height above v_c divided by LMaxMM (world z up).
	DZ []float64
	// Edges are the graph edges with both ends in the LSG, sorted by (I, J).
	Edges []Edge
	// LMaxMM is the longest LSG edge in millimetres (1 if it has none).
	LMaxMM float64
	// Truncated reports that the n-ring held more than NMax nodes.
	Truncated bool
	// Method is the encoding actually used (LSCM falls back to Planar when
	// the LSG has no faces).
	Method Encoding
	// Faces is the number of triangles the LSCM used.
	Faces int

	b *Builder
}

// Size returns the node count.
func (l *LSG) Size() int { return len(l.Nodes) }

// Local returns v's local index, or -1 when v is not in the LSG.
func (l *LSG) Local(v int) int {
	if v < 0 || v >= len(l.b.stamp) || l.b.stamp[v] != l.b.epoch {
		return -1
	}
	return int(l.b.local[v])
}

// EdgeLocal returns the LSG edge index of global edge e, or -1.
func (l *LSG) EdgeLocal(e int) int {
	if e < 0 || e >= len(l.b.eStamp) || l.b.eStamp[e] != l.b.epoch {
		return -1
	}
	return int(l.b.eLocal[e])
}

// CenterLocal returns v_c's local index.
func (l *LSG) CenterLocal() int { return l.Local(l.Center) }

// Builder builds LSGs over one graph, reusing its buffers between calls.
// It is not safe for concurrent use.
type Builder struct {
	g   *graph.Graph
	cfg Config

	epoch  uint32
	stamp  []uint32 // node in current LSG iff stamp[v] == epoch
	local  []int32
	eStamp []uint32
	eLocal []int32

	lsg LSG

	// scratch
	bfs   []int
	ring  []int8
	pos   []r3.Vector
	order []int
	uv    [][2]float64
	keys  []sortKey
	flat  flattener
	// local adjacency in BFS-local indices (CSR, neighbours sorted)
	adjStart []int32
	adj      []int32
}

// ErrNode is returned for a centre node outside the graph.
var ErrNode = errors.New("lsg: node out of range")

// NewBuilder returns a builder for g.
func NewBuilder(g *graph.Graph, cfg Config) (*Builder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if g == nil || g.NumNodes() == 0 {
		return nil, errors.New("lsg: empty graph")
	}
	b := &Builder{g: g, cfg: cfg}
	b.stamp = make([]uint32, g.NumNodes())
	b.local = make([]int32, g.NumNodes())
	b.eStamp = make([]uint32, g.NumEdges())
	b.eLocal = make([]int32, g.NumEdges())
	b.lsg.b = b
	return b, nil
}

// Config returns the builder's configuration.
func (b *Builder) Config() Config { return b.cfg }

// Graph returns the graph.
func (b *Builder) Graph() *graph.Graph { return b.g }

// BuildAt returns the LSG around the session's current node, with the
// node the last move came from as v_{c−1} (Build; -1 before the first move).
func (b *Builder) BuildAt(s planners.Session) (*LSG, error) {
	prev := -1
	if ms := s.Moves(); len(ms) > 0 {
		prev = ms[len(ms)-1].From
	}
	return b.Build(s.Current(), prev)
}

// Build returns the LSG around center. prev is the previous path node
// v_{c−1} (-1 if none); it is pinned at (−1,0) when it lies in the LSG at a
// distinct position, otherwise v_c's nearest neighbour is (§5.2).
func (b *Builder) Build(center, prev int) (*LSG, error) {
	g := b.g
	if center < 0 || center >= g.NumNodes() {
		return nil, fmt.Errorf("%w: centre %d of %d", ErrNode, center, g.NumNodes())
	}
	b.nextEpoch()
	l := &b.lsg
	l.Center = center
	l.Truncated = false
	l.Faces = 0

	// §5.1: n-ring BFS; §5.4: keep the first NMax nodes in BFS order.
	b.bfs = append(b.bfs[:0], center)
	b.ring = append(b.ring[:0], 0)
	b.stamp[center] = b.epoch
	for head := 0; head < len(b.bfs); head++ {
		v, r := b.bfs[head], b.ring[head]
		if int(r) >= b.cfg.Ring {
			continue
		}
		for _, h := range g.Neighbors(v) {
			to := int(h.To)
			if b.stamp[to] == b.epoch {
				continue
			}
			if len(b.bfs) == b.cfg.NMax {
				l.Truncated = true
				break
			}
			b.stamp[to] = b.epoch
			b.bfs = append(b.bfs, to)
			b.ring = append(b.ring, r+1)
		}
	}
	n := len(b.bfs)
	for i, v := range b.bfs {
		b.local[v] = int32(i) // BFS index for now
	}

	// Pin choice (§5.2).
	pin := -1
	if prev >= 0 && prev < g.NumNodes() && prev != center && b.stamp[prev] == b.epoch &&
		g.Pos[prev].Sub(g.Pos[center]).Norm2() > 0 {
		pin = prev
	} else {
		pin = b.nearestNeighbour(center)
	}
	l.Pin = pin

	// Positions and the longest LSG edge.
	b.pos = b.pos[:0]
	for _, v := range b.bfs {
		b.pos = append(b.pos, g.Pos[v])
	}
	lmax := 0.0
	for _, v := range b.bfs {
		for _, h := range g.Neighbors(v) {
			if int(h.To) > v && b.stamp[h.To] == b.epoch {
				lmax = math.Max(lmax, g.LengthMM(int(h.Edge)))
			}
		}
	}
	if lmax <= 0 {
		lmax = 1
	}
	l.LMaxMM = lmax

	// Pattern encoding (§5.2) in BFS-local indices.
	method := b.cfg.Encoding
	if method == EncodeAuto {
		switch g.Kind {
		case graph.Planar:
			method = EncodePlanar
		case graph.Pixel:
			method = EncodeIndex
		default:
			method = EncodeLSCM
		}
	}
	pinLocal := -1
	if pin >= 0 {
		pinLocal = int(b.local[pin])
	}
	b.buildLocalAdjacency()
	b.uv = resize2(b.uv, n)
	l.Method, l.Faces = b.flat.flatten(b.pos, b.adjStart, b.adj, 0, pinLocal, method, b.uv)

	// Sort (v, u) (or global index) and renumber.
	b.order = b.order[:0]
	for i := 0; i < n; i++ {
		b.order = append(b.order, i)
	}
	if method == EncodeIndex {
		sortByIndex(b.order, b.bfs)
	} else {
		b.keys = sortUV(b.order, b.uv, b.keys)
	}
	l.Nodes = l.Nodes[:0]
	l.Ring = l.Ring[:0]
	l.UV = l.UV[:0]
	l.DZ = l.DZ[:0]
	cz := g.Pos[center].Z
	for _, old := range b.order {
		v := b.bfs[old]
		l.Nodes = append(l.Nodes, v)
		l.Ring = append(l.Ring, b.ring[old])
		l.UV = append(l.UV, b.uv[old])
		l.DZ = append(l.DZ, (g.Pos[v].Z-cz)/lmax)
	}
	for i, v := range l.Nodes {
		b.local[v] = int32(i)
	}

	// Edges in local order, sorted by (I, J).
	l.Edges = l.Edges[:0]
	for i, v := range l.Nodes {
		for _, h := range g.Neighbors(v) {
			if b.stamp[h.To] != b.epoch {
				continue
			}
			j := b.local[h.To]
			if j <= int32(i) {
				continue
			}
			e := int(h.Edge)
			l.Edges = append(l.Edges, Edge{I: int32(i), J: j, E: int32(e), Len: g.LengthMM(e) / lmax})
		}
	}
	sortEdges(l.Edges)
	for k, e := range l.Edges {
		b.eStamp[e.E] = b.epoch
		b.eLocal[e.E] = int32(k)
	}
	return l, nil
}

// nearestNeighbour returns the graph neighbour of v inside the LSG with the
// shortest non-zero edge (ties: lower index), else the Euclidean-nearest
// distinct LSG node, else -1.
func (b *Builder) nearestNeighbour(v int) int {
	g := b.g
	best, bestL := -1, math.Inf(1)
	for _, h := range g.Neighbors(v) {
		if b.stamp[h.To] != b.epoch {
			continue
		}
		if l := g.LengthMM(int(h.Edge)); l > 0 && l < bestL {
			best, bestL = int(h.To), l
		}
	}
	if best >= 0 {
		return best
	}
	for _, u := range b.bfs {
		if u == v {
			continue
		}
		if d := g.Pos[u].Sub(g.Pos[v]).Norm(); d > 0 && (d < bestL || (d == bestL && u < best)) {
			best, bestL = u, d
		}
	}
	return best
}

// buildLocalAdjacency fills adjStart/adj with the LSG's adjacency in
// BFS-local indices (b.local must hold BFS indices).
func (b *Builder) buildLocalAdjacency() {
	g := b.g
	b.adjStart = append(b.adjStart[:0], 0)
	b.adj = b.adj[:0]
	for _, v := range b.bfs {
		start := len(b.adj)
		for _, h := range g.Neighbors(v) {
			if b.stamp[h.To] == b.epoch {
				b.adj = append(b.adj, b.local[h.To])
			}
		}
		sortInt32(b.adj[start:])
		b.adjStart = append(b.adjStart, int32(len(b.adj)))
	}
}

func (b *Builder) nextEpoch() {
	b.epoch++
	if b.epoch == 0 { // wrapped: clear stamps once every 2^32 builds
		clear(b.stamp)
		clear(b.eStamp)
		b.epoch = 1
	}
}

func resize2(s [][2]float64, n int) [][2]float64 {
	if cap(s) < n {
		return make([][2]float64, n)
	}
	s = s[:n]
	clear(s)
	return s
}
