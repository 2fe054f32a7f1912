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

// The RL3DP text pair (github.com/yuminghuang1995/RL3DPToolpathPlanner,
// data/): Node<Model>.txt holds one node per line, "x y z" in millimetres
// separated by blanks or tabs; Edge<Model>.txt holds one edge per line,
// "i j" with 0-based node indices. Blank lines and lines starting with '#'
// are ignored. CCF files (<Model>_CCF) list every edge twice — the doubled
// edge list — which is collapsed into one edge with Passes = 2; in
// wire-frame files a repeated edge is an error.

func init() {
	RegisterFormat(Loader{
		Name: "rl3dp-txt",
		Match: func(path string) bool {
			b := filepath.Base(path)
			return strings.HasSuffix(strings.ToLower(b), ".txt") &&
				(strings.HasPrefix(b, "Node") || strings.HasPrefix(b, "Edge"))
		},
		Load: LoadRL3DP,
	})
}

// RL3DPPair returns the node and edge file paths for either file of a pair.
func RL3DPPair(path string) (nodes, edges string) {
	dir, b := filepath.Split(path)
	switch {
	case strings.HasPrefix(b, "Node"):
		return path, filepath.Join(dir, "Edge"+b[4:])
	case strings.HasPrefix(b, "Edge"):
		return filepath.Join(dir, "Node"+b[4:]), path
	}
	return path, path
}

// LoadRL3DP reads an RL3DP Node/Edge text pair given either file's path.
func LoadRL3DP(path string, opts LoadOptions) (*Graph, error) {
	nodePath, edgePath := RL3DPPair(path)
	pos, err := readNodeTxt(nodePath, opts.maxNodes())
	if err != nil {
		return nil, err
	}
	name := ModelName(nodePath)
	kind := Wireframe
	if strings.Contains(strings.ToUpper(name), "_CCF") {
		kind = Planar
	}
	if opts.Kind != nil {
		kind = *opts.Kind
	}
	edges, passes, err := readEdgeTxt(edgePath, len(pos), kind == Planar)
	if err != nil {
		return nil, err
	}
	g := &Graph{Name: name, Source: nodePath, Kind: kind, Pos: pos, Edges: edges, Grounded: make([]bool, len(pos))}
	if kind == Planar {
		g.Passes = passes
	} else {
		g.GroundBelow(opts.groundZ())
	}
	return finishGraph(nodePath, g)
}

func readNodeTxt(path string, maxNodes int) ([]r3.Vector, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("node file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var pos []r3.Vector
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if line == 1 {
			s = strings.TrimPrefix(s, "\ufeff") // UTF-8 BOM (Windows editors)
		}
		s = strings.TrimSpace(s)
		if s == "" || s[0] == '#' {
			continue
		}
		fs := strings.Fields(s)
		if len(fs) != 3 {
			return nil, perr(path, line, ErrSyntax, "want 3 coordinates \"x y z\", got %d fields", len(fs))
		}
		var v [3]float64
		for k, t := range fs {
			x, err := strconv.ParseFloat(t, 64)
			if err != nil {
				return nil, perr(path, line, ErrSyntax, "coordinate %d %q is not a number", k+1, t)
			}
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, perr(path, line, ErrNonFinite, "coordinate %d is %s", k+1, t)
			}
			v[k] = x
		}
		if len(pos) >= maxNodes {
			return nil, perr(path, line, ErrTooLarge, "more than %d nodes", maxNodes)
		}
		pos = append(pos, r3.Vector{X: v[0], Y: v[1], Z: v[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, perr(path, line+1, ErrSyntax, "read: %v", err)
	}
	if len(pos) == 0 {
		return nil, perr(path, 0, ErrEmpty, "no nodes (empty file)")
	}
	return pos, nil
}

// readEdgeTxt reads the edge list. With multi=true a repeated pair raises
// the pass count (max 255) instead of failing.
func readEdgeTxt(path string, n int, multi bool) ([]Edge, []uint8, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("edge file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var edges []Edge
	var passes []uint8
	seen := make(map[[2]int]int)
	firstLine := make(map[int]int)
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if line == 1 {
			s = strings.TrimPrefix(s, "\ufeff") // UTF-8 BOM (Windows editors)
		}
		s = strings.TrimSpace(s)
		if s == "" || s[0] == '#' {
			continue
		}
		fs := strings.Fields(s)
		if len(fs) != 2 {
			return nil, nil, perr(path, line, ErrSyntax, "want 2 node indices \"i j\", got %d fields", len(fs))
		}
		var ij [2]int
		for k, t := range fs {
			x, err := strconv.Atoi(t)
			if err != nil {
				// tolerate "3.0"-style integers written by numpy
				fv, ferr := strconv.ParseFloat(t, 64)
				if ferr != nil || fv != math.Trunc(fv) || math.Abs(fv) > 1e15 {
					return nil, nil, perr(path, line, ErrSyntax, "node index %q is not an integer", t)
				}
				x = int(fv)
			}
			if x < 0 || x >= n {
				return nil, nil, perr(path, line, ErrIndex, "node index %d out of range [0,%d)", x, n)
			}
			ij[k] = x
		}
		if ij[0] == ij[1] {
			return nil, nil, perr(path, line, ErrSelfLoop, "self-loop on node %d", ij[0])
		}
		k := pairKey(ij[0], ij[1])
		if e, ok := seen[k]; ok {
			if !multi {
				return nil, nil, perr(path, line, ErrDuplicate, "duplicate edge %d-%d (first on line %d)", ij[0], ij[1], firstLine[e])
			}
			if passes[e] < 255 {
				passes[e]++
			}
			continue
		}
		if len(edges) >= MaxEdges {
			return nil, nil, perr(path, line, ErrTooLarge, "more than %d edges", MaxEdges)
		}
		seen[k] = len(edges)
		firstLine[len(edges)] = line
		edges = append(edges, Edge{A: ij[0], B: ij[1]})
		passes = append(passes, 1)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, perr(path, line+1, ErrSyntax, "read: %v", err)
	}
	if len(edges) == 0 {
		return nil, nil, perr(path, 0, ErrNoEdges, "no edges (empty file)")
	}
	return edges, passes, nil
}
