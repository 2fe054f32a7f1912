package lpbf

import (
	"testing"

	"fabcell/config"
	"fabcell/planners"
	_ "fabcell/planners/baseline" // greedy
	"fabcell/planners/graph"
	"fabcell/planners/graph/commonlayer"
)

// Test layers: generated masks (package masks) and layers of the CLI
// samples of package commonlayer (OpenVectorFormatTools, LGPL-2.1; see
// planners/graph/commonlayer/testdata/SOURCES.md).
const (
	bracketPNG    = "masks/testdata/bracket.png"
	hookPNG       = "masks/testdata/hook.png"
	bracket20k    = "masks/testdata/bracket-20k.png"
	cliDir        = "../../planners/graph/commonlayer/testdata/"
	cylinderCLI   = cliDir + "s_Cylinder_ex.cli"
	lanzeCLI      = cliDir + "Lanze_bottomdown_20mm_onlyblocksupport_p_s.cli"
	boxCLI        = cliDir + "Box_support_solid_ascii_with_params.cli"
	frustrumCLI   = cliDir + "frustrum_ASCII.cli"
	miniCooperCLI = cliDir + "s_MiniCooper_ex.cli"
)

func testProcess(tb testing.TB, mod func(*config.Cell)) *Process {
	tb.Helper()
	cfg := config.Defaults()
	if mod != nil {
		mod(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	p, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func load(tb testing.TB, p *Process, path string) *graph.Graph {
	tb.Helper()
	g, err := p.Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

func session(tb testing.TB, p *Process, g *graph.Graph) *Session {
	tb.Helper()
	s, err := p.Session(g)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// maskGraph builds a pixel graph from a mask function (row 0 at the
// bottom) at pitch 0.05 mm, with the loader's construction.
func maskGraph(tb testing.TB, w, h int, in func(c, r int) bool) *graph.Graph {
	tb.Helper()
	r := &commonlayer.Raster{SpacingMM: 0.05, Width: w, Height: h, RowStart: make([]int32, h+1)}
	for i := 0; i < h; i++ {
		row := h - 1 - i
		start := -1
		for c := 0; c <= w; c++ {
			ok := c < w && in(c, row)
			if ok && start < 0 {
				start = c
			}
			if !ok && start >= 0 {
				r.Spans = append(r.Spans, commonlayer.Span{C0: int32(start), C1: int32(c)})
				r.Cells += c - start
				start = -1
			}
		}
		r.RowStart[i+1] = int32(len(r.Spans))
	}
	g, err := graph.FromRaster(r, 0, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// plan runs the named planner on s to completion.
func plan(tb testing.TB, p *Process, name string, s planners.Session, pc config.Planner) []planners.Move {
	tb.Helper()
	pl, err := planners.NewPlanner(name, planners.Options{Config: pc, Process: p})
	if err != nil {
		tb.Fatal(err)
	}
	moves, err := planners.Run(tb.Context(), pl, s, nil)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return moves
}
