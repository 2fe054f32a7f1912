package lpbf

import (
	"context"
	"fmt"
	"math"
	"sort"

	"fabcell/config"
	"fabcell/planners"
)

func init() {
	planners.RegisterPlanner("zigzag", "LPBF baseline: raster rows along x from the top, alternating direction per row", []string{"lpbf"},
		func(o planners.Options) (planners.Planner, error) { return &Zigzag{}, nil })
	planners.RegisterPlanner("chessboard", "LPBF baseline: square islands (lpbf.chessboard_island_mm), zig-zag inside, scan orientation alternating by island colour, islands in lpbf.chessboard_order", []string{"lpbf"},
		func(o planners.Options) (planners.Planner, error) {
			c := config.Defaults().LPBF
			if p, ok := o.Process.(*Process); ok {
				c = p.cfg.LPBF
			}
			return NewChessboard(c.ChessboardIslandMM, c.ChessboardOrder)
		})
}

// Zigzag is the raster baseline: grid rows from the top (largest y) down,
// each scanned along x, left to right on the first row and alternating
// afterwards; gaps within a row and the step to the next row are jumps or
// scan steps as the geometry gives (Session.MoveTo).
type Zigzag struct{}

var _ planners.Planner = (*Zigzag)(nil)

// Name implements planners.Planner.
func (z *Zigzag) Name() string { return "zigzag" }

// Order returns the zig-zag order of every pixel of the layer.
func (z *Zigzag) Order(lat *Lattice) []int {
	out := make([]int, 0, len(lat.Col))
	k := 0
	for _, row := range lat.Rows() {
		if len(row) == 0 {
			continue
		}
		out = appendLine(out, row, k%2 == 1)
		k++
	}
	return out
}

// Plan implements planners.Planner.
func (z *Zigzag) Plan(ctx context.Context, s planners.Session, emit func(planners.Move) error) error {
	lat, err := sessionLattice(s)
	if err != nil {
		return err
	}
	return follow(ctx, s, z.Order(lat), emit)
}

// Chessboard is the island baseline of LPBF practice: the layer's bounding
// box is cut into square islands of IslandMM (aligned with its top-left
// corner); each island is scanned zig-zag, along x on islands of one
// colour (island column + row even) and along y on the others; islands
// are visited in checkerboard order (all even islands in raster order
// from the top left, then all odd ones) or in raster order.
type Chessboard struct {
	IslandMM float64
	// Checkerboard selects the island order ("checkerboard" = true,
	// "raster" = false).
	Checkerboard bool
}

var _ planners.Planner = (*Chessboard)(nil)

// NewChessboard builds the baseline; order is "checkerboard" or "raster".
func NewChessboard(islandMM float64, order string) (*Chessboard, error) {
	if !(islandMM > 0) || math.IsInf(islandMM, 0) {
		return nil, fmt.Errorf("chessboard: island size %v mm: want > 0", islandMM)
	}
	switch order {
	case "checkerboard", "":
		return &Chessboard{IslandMM: islandMM, Checkerboard: true}, nil
	case "raster":
		return &Chessboard{IslandMM: islandMM}, nil
	}
	return nil, fmt.Errorf("chessboard: island order %q: want checkerboard or raster", order)
}

// Name implements planners.Planner.
func (c *Chessboard) Name() string { return "chessboard" }

// Order returns the chessboard order of every pixel of the layer.
func (c *Chessboard) Order(lat *Lattice) []int {
	k := int32(max(1, math.Round(c.IslandMM/lat.S)))
	type island struct {
		ix, iy int32
		nodes  []int32
	}
	byKey := map[[2]int32]*island{}
	var islands []*island
	for v := range lat.Col {
		ix, iy := (lat.Col[v]-lat.ColMin)/k, (lat.RowMax-lat.Row[v])/k
		is := byKey[[2]int32{ix, iy}]
		if is == nil {
			is = &island{ix: ix, iy: iy}
			byKey[[2]int32{ix, iy}] = is
			islands = append(islands, is)
		}
		is.nodes = append(is.nodes, int32(v))
	}
	colour := func(is *island) int32 { return (is.ix + is.iy) % 2 }
	sort.Slice(islands, func(a, b int) bool {
		ia, ib := islands[a], islands[b]
		if c.Checkerboard && colour(ia) != colour(ib) {
			return colour(ia) < colour(ib)
		}
		if ia.iy != ib.iy {
			return ia.iy < ib.iy
		}
		return ia.ix < ib.ix
	})
	out := make([]int, 0, len(lat.Col))
	for _, is := range islands {
		alongX := colour(is) == 0
		// lines: rows (top first) for x islands, columns (left first) for y islands
		line := func(v int32) int32 {
			if alongX {
				return lat.RowMax - lat.Row[v]
			}
			return lat.Col[v]
		}
		pos := func(v int32) int32 {
			if alongX {
				return lat.Col[v]
			}
			return lat.RowMax - lat.Row[v] // top to bottom
		}
		ns := is.nodes
		sort.Slice(ns, func(a, b int) bool {
			if la, lb := line(ns[a]), line(ns[b]); la != lb {
				return la < lb
			}
			return pos(ns[a]) < pos(ns[b])
		})
		for i, n := 0, 0; i < len(ns); n++ {
			j := i
			for j < len(ns) && line(ns[j]) == line(ns[i]) {
				j++
			}
			out = appendLine(out, ns[i:j], n%2 == 1)
			i = j
		}
	}
	return out
}

// Plan implements planners.Planner.
func (c *Chessboard) Plan(ctx context.Context, s planners.Session, emit func(planners.Move) error) error {
	lat, err := sessionLattice(s)
	if err != nil {
		return err
	}
	return follow(ctx, s, c.Order(lat), emit)
}

func appendLine(out []int, line []int32, reverse bool) []int {
	if reverse {
		for i := len(line) - 1; i >= 0; i-- {
			out = append(out, int(line[i]))
		}
		return out
	}
	for _, v := range line {
		out = append(out, int(v))
	}
	return out
}

func sessionLattice(s planners.Session) (*Lattice, error) {
	if ls, ok := s.(*Session); ok {
		return ls.lat, nil
	}
	return NewLattice(s.Graph())
}

// follow drives s along a fixed order: it begins at the first node (unless
// s is already started, in which case the nodes already reached are
// skipped) and applies Session.MoveTo for every further node.
func follow(ctx context.Context, s planners.Session, order []int, emit func(planners.Move) error) error {
	if len(order) == 0 {
		return fmt.Errorf("%w: empty layer", planners.ErrStuck)
	}
	seen := make([]bool, s.Graph().NumNodes())
	if s.Current() < 0 {
		if err := s.Begin(order[0]); err != nil {
			return err
		}
	}
	seen[s.Current()] = true
	for _, m := range s.Moves() {
		seen[m.From], seen[m.To] = true, true
	}
	for i, v := range order {
		if seen[v] {
			continue
		}
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		m := s.MoveTo(v)
		s.Apply(m)
		seen[v] = true
		if err := emit(m); err != nil {
			return err
		}
	}
	if !s.Done() {
		d, t := s.Progress()
		return fmt.Errorf("%w: %d of %d covered after the fixed order", planners.ErrStuck, d, t)
	}
	return nil
}
