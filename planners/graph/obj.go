package graph

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/golang/geo/r3"
)

// Wavefront OBJ meshes as wire-frames. Rules implemented by LoadOBJ:
//   - "v x y z [w | r g b]": a node, in file order (coordinates taken as
//     mm: OBJ has no units); extra values (weight, vertex colours) ignored;
//   - "f a b c ...": a polygon of ≥ 3 vertex references, each "i", "i/t",
//     "i//n" or "i/t/n"; only i is used. Positive i is 1-based, negative i
//     counts back from the last vertex defined so far (-1 = last). Each
//     polygon contributes its boundary edges (v0,v1), (v1,v2), …, (vk,v0);
//   - "l a b ...": a polyline element contributes (v0,v1), (v1,v2), …;
//   - an edge shared by several faces is kept once, at its first
//     occurrence (A = the vertex written first); edges of degenerate faces
//     that repeat a vertex are skipped and counted in Meta.Warnings;
//   - a trailing "\" continues a statement on the next line; '#' starts a
//     comment; other statements (vt, vn, g, o, s, usemtl, mtllib, …) are
//     ignored;
//   - grounded = z < LoadOptions.GroundZMM (default 1 mm); a mesh whose
//     nodes all share one z is Planar (and nothing is grounded).

func init() {
	RegisterFormat(Loader{
		Name:  "obj",
		Match: func(path string) bool { return strings.EqualFold(filepath.Ext(path), ".obj") },
		Load:  LoadOBJ,
	})
}

// LoadOBJ reads a Wavefront OBJ mesh as a wire-frame graph.
func LoadOBJ(path string, opts LoadOptions) (*Graph, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	var (
		pos        []r3.Vector
		edges      []Edge
		seen       = map[[2]int]struct{}{}
		degenerate int
		pending    []deferredRef // positive references beyond the vertices read so far
		line       int
		maxN       = opts.maxNodes()
	)
	addEdge := func(a, b int) error {
		if a == b {
			degenerate++
			return nil
		}
		k := pairKey(a, b)
		if _, ok := seen[k]; ok {
			return nil
		}
		if len(edges) >= MaxEdges {
			return perr(path, line, ErrTooLarge, "more than %d edges", MaxEdges)
		}
		seen[k] = struct{}{}
		edges = append(edges, Edge{A: a, B: b})
		return nil
	}
	var stmt strings.Builder
	stmtLine := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		if stmt.Len() == 0 {
			stmtLine = line
		}
		if t := strings.TrimRight(text, " \t\r"); strings.HasSuffix(t, "\\") {
			stmt.WriteString(strings.TrimSuffix(t, "\\"))
			stmt.WriteByte(' ')
			continue
		}
		stmt.WriteString(text)
		fs := strings.Fields(stmt.String())
		stmt.Reset()
		if len(fs) == 0 {
			continue
		}
		switch fs[0] {
		case "v":
			if len(fs) < 4 {
				return nil, perr(path, stmtLine, ErrSyntax, "vertex: want \"v x y z\", got %d values", len(fs)-1)
			}
			var v [3]float64
			for k := 0; k < 3; k++ {
				x, err := strconv.ParseFloat(fs[k+1], 64)
				if err != nil && !math.IsInf(x, 0) {
					return nil, perr(path, stmtLine, ErrSyntax, "vertex coordinate %d %q is not a number", k+1, fs[k+1])
				}
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return nil, perr(path, stmtLine, ErrNonFinite, "vertex coordinate %d is %s", k+1, fs[k+1])
				}
				v[k] = x
			}
			if len(pos) >= maxN {
				return nil, perr(path, stmtLine, ErrTooLarge, "more than %d vertices", maxN)
			}
			pos = append(pos, r3.Vector{X: v[0], Y: v[1], Z: v[2]})
		case "f", "l":
			min := 3
			what := "face"
			if fs[0] == "l" {
				min, what = 2, "line"
			}
			if len(fs)-1 < min {
				return nil, perr(path, stmtLine, ErrSyntax, "%s: want at least %d vertex references, got %d", what, min, len(fs)-1)
			}
			ix := make([]int, len(fs)-1)
			for k, ref := range fs[1:] {
				s, _, _ := strings.Cut(ref, "/")
				i, err := strconv.Atoi(s)
				if err != nil {
					return nil, perr(path, stmtLine, ErrSyntax, "%s: vertex reference %q is not an integer", what, ref)
				}
				switch {
				case i == 0:
					return nil, perr(path, stmtLine, ErrIndex, "%s: vertex index 0 (OBJ indices start at 1)", what)
				case i < 0:
					if -i > len(pos) {
						return nil, perr(path, stmtLine, ErrIndex, "%s: relative vertex index %d but only %d vertices defined so far", what, i, len(pos))
					}
					ix[k] = len(pos) + i
				default:
					ix[k] = i - 1
					if ix[k] >= len(pos) {
						pending = append(pending, deferredRef{line: stmtLine, index: i, what: what})
					}
				}
			}
			n := len(ix)
			for k := 0; k < n; k++ {
				if fs[0] == "l" && k == n-1 {
					break
				}
				if err := addEdge(ix[k], ix[(k+1)%n]); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, perr(path, line+1, ErrSyntax, "read: %v", err)
	}
	if stmt.Len() > 0 {
		return nil, perr(path, stmtLine, ErrTruncated, "file ends after a line continuation '\\'")
	}
	for _, p := range pending {
		if p.index > len(pos) {
			return nil, perr(path, p.line, ErrIndex, "%s: vertex index %d out of range [1,%d]", p.what, p.index, len(pos))
		}
	}
	if len(pos) == 0 {
		return nil, perr(path, 0, ErrEmpty, "no vertices (empty file?)")
	}
	if len(edges) == 0 {
		return nil, perr(path, 0, ErrNoEdges, "no faces or lines, so no edges")
	}
	g := &Graph{Kind: Wireframe, Pos: pos, Edges: edges, Grounded: make([]bool, len(pos))}
	g.Kind = inferKind(opts, g)
	if g.Kind == Wireframe {
		g.GroundBelow(opts.groundZ())
	}
	if degenerate > 0 {
		g.Meta.Warnings = append(g.Meta.Warnings, fmt.Sprintf("skipped %d zero-length edges of degenerate faces", degenerate))
	}
	return finishGraph(path, g)
}

type deferredRef struct {
	line, index int
	what        string
}
