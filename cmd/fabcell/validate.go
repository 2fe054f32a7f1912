package main

import (
	"fmt"
	"io"
	"os"

	"fabcell/planners/graph"

	"github.com/spf13/cobra"
)

func init() { addCommand("validate", newValidateCmd) }

// modelReport is what `fabcell validate` prints per model (or layer).
type modelReport struct {
	Model       string     `json:"model"`
	Name        string     `json:"name"`
	Kind        string     `json:"kind"`
	Nodes       int        `json:"nodes"`
	Edges       int        `json:"edges"`
	Components  int        `json:"components"`
	Grounded    int        `json:"grounded"`
	BBoxMinMM   [3]float64 `json:"bbox_min_mm"`
	BBoxMaxMM   [3]float64 `json:"bbox_max_mm"`
	MeanEdgeMM  float64    `json:"mean_edge_mm"`
	MaxEdgeMM   float64    `json:"max_edge_mm"`
	MaxDegree   int        `json:"max_degree"`
	DoubledEdge int        `json:"doubled_edges,omitempty"`
}

func reportGraph(path string, g *graph.Graph) modelReport {
	_, nc := g.Components()
	lo, hi := g.Bounds()
	r := modelReport{
		Model: path, Name: g.Name, Kind: g.Kind.String(),
		Nodes: g.NumNodes(), Edges: g.NumEdges(), Components: nc, Grounded: g.NumGrounded(),
		BBoxMinMM:  [3]float64{lo.X, lo.Y, lo.Z},
		BBoxMaxMM:  [3]float64{hi.X, hi.Y, hi.Z},
		MeanEdgeMM: g.MeanLengthMM(), MaxEdgeMM: g.MaxLengthMM(),
	}
	for v := 0; v < g.NumNodes(); v++ {
		r.MaxDegree = max(r.MaxDegree, g.Degree(v))
	}
	for e := 0; e < g.NumEdges(); e++ {
		if g.PassesOf(e) > 1 {
			r.DoubledEdge++
		}
	}
	return r
}

func printReport(w io.Writer, r modelReport) {
	fmt.Fprintf(w, "%s: %s (%s) nodes=%d edges=%d components=%d grounded=%d bbox=[%.3f %.3f %.3f]..[%.3f %.3f %.3f] mm edge mean=%.3f max=%.3f mm max_degree=%d",
		r.Model, r.Name, r.Kind, r.Nodes, r.Edges, r.Components, r.Grounded,
		r.BBoxMinMM[0], r.BBoxMinMM[1], r.BBoxMinMM[2], r.BBoxMaxMM[0], r.BBoxMaxMM[1], r.BBoxMaxMM[2],
		r.MeanEdgeMM, r.MaxEdgeMM, r.MaxDegree)
	if r.DoubledEdge > 0 {
		fmt.Fprintf(w, " doubled_edges=%d", r.DoubledEdge)
	}
	fmt.Fprintln(w)
}

func newValidateCmd() *cobra.Command {
	var (
		asJSON    bool
		kind      string
		groundZ   float64
		pixelMM   float64
		spacingMM float64
	)
	cmd := &cobra.Command{
		Use:   "validate MODEL...",
		Short: "Load models and report nodes, edges, components, grounded nodes and bounding box",
		Long: `validate loads each MODEL (RL3DP Node/Edge .txt pair, assembly_instances / Choreo or
conmech .json, .obj mesh, .png mask, .cli layer file) and reports its graph. For a layered
file (CLI) every layer is loaded unless the path ends in #N. Without MODEL it validates the
--config file. Any error names the file, the line and the problem; the exit status is 1 if
any model failed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "config ok (cell %q)\n", cfg.Name)
				return nil
			}
			opts := graph.LoadOptions{GroundZMM: groundZ, PixelMM: pixelMM, SpacingMM: spacingMM}
			if groundZ == 0 {
				opts.GroundZMM = cfg.Wireframe.GroundZMM
			}
			if spacingMM == 0 {
				opts.SpacingMM = cfg.LPBF.SpacingMM
			}
			if kind != "" {
				k, err := parseKind(kind)
				if err != nil {
					return usageError{err}
				}
				opts.Kind = &k
			}
			var reports []modelReport
			failed := 0
			for _, path := range args {
				n, err := graph.LayerCount(path)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					failed++
					continue
				}
				paths := []string{path}
				if n > 1 {
					paths = paths[:0]
					for i := 0; i < n; i++ {
						paths = append(paths, fmt.Sprintf("%s#%d", path, i))
					}
				}
				for _, p := range paths {
					g, err := graph.Load(p, opts)
					if err != nil {
						fmt.Fprintln(os.Stderr, err)
						failed++
						continue
					}
					r := reportGraph(p, g)
					reports = append(reports, r)
					if !asJSON {
						printReport(cmd.OutOrStdout(), r)
					}
				}
			}
			if asJSON {
				if err := writeJSON("-", reports); err != nil {
					return err
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d models failed to load", failed, failed+len(reports))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the reports as JSON")
	cmd.Flags().StringVar(&kind, "kind", "", "force the graph kind: wireframe, planar or pixel")
	cmd.Flags().Float64Var(&groundZ, "ground-z-mm", 0, "grounded-node height for formats without flags (default wireframe.ground_z_mm)")
	cmd.Flags().Float64Var(&pixelMM, "pixel-mm", 0, "pixel pitch of PNG masks in mm (default 0.05)")
	cmd.Flags().Float64Var(&spacingMM, "spacing-mm", 0, "raster pitch for CLI layers in mm (default lpbf.spacing_mm)")
	return cmd
}

func parseKind(s string) (graph.Kind, error) {
	switch s {
	case "wireframe":
		return graph.Wireframe, nil
	case "planar", "ccf":
		return graph.Planar, nil
	case "pixel", "lpbf":
		return graph.Pixel, nil
	}
	return 0, fmt.Errorf("--kind %q: want wireframe, planar or pixel", s)
}
