package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

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
	SpacingMM   float64    `json:"spacing_mm,omitempty"`
	// Materials summarises the material/section data the file declares
	// (SI), one entry per distinct material.
	Materials []string `json:"materials,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
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
		SpacingMM: g.SpacingMM,
		Warnings:  g.Meta.Warnings,
	}
	for v := 0; v < g.NumNodes(); v++ {
		r.MaxDegree = max(r.MaxDegree, g.Degree(v))
	}
	for e := 0; e < g.NumEdges(); e++ {
		if g.PassesOf(e) > 1 {
			r.DoubledEdge++
		}
	}
	seen := map[*graph.Material]bool{}
	mats := append([]*graph.Material{g.Meta.Material}, g.Meta.ElemMaterial...)
	for _, m := range mats {
		if m == nil || seen[m] {
			continue
		}
		seen[m] = true
		r.Materials = append(r.Materials, fmt.Sprintf("%s E=%.4g Pa G=%.4g Pa rho=%.5g kg/m3 A=%.4g m2 Iy=%.4g Iz=%.4g J=%.4g m4",
			m.Name, m.EPa, m.GPa, m.DensityKgM3, m.AreaM2, m.IyM4, m.IzM4, m.JM4))
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
	if r.SpacingMM > 0 {
		fmt.Fprintf(w, " spacing=%g mm", r.SpacingMM)
	}
	for _, m := range r.Materials {
		fmt.Fprintf(w, " material=[%s]", m)
	}
	fmt.Fprintln(w)
}

// validateResult counts the outcome of one `validate` run.
type validateResult struct {
	reports []modelReport
	failed  int
	skipped int
}

// validateModel loads one MODEL argument: every layer of a layered file
// unless the path selects one with #N. Empty layers of a layered file and
// companion files that are not models are reported and skipped, not
// failures.
func validateModel(out, errw io.Writer, path string, opts graph.LoadOptions, quietLayers bool, res *validateResult) {
	n, err := graph.LayerCount(path)
	if err != nil {
		fmt.Fprintln(errw, err)
		res.failed++
		return
	}
	layered := n > 1
	paths := []string{path}
	if layered {
		paths = paths[:0]
		for i := 0; i < n; i++ {
			paths = append(paths, fmt.Sprintf("%s#%d", path, i))
		}
	}
	warned := map[string]bool{}
	var empty []int
	loaded, failed := 0, 0
	for i, p := range paths {
		g, err := graph.Load(p, opts)
		switch {
		case err == nil:
		case layered && errors.Is(err, graph.ErrEmptyLayer):
			empty = append(empty, i)
			continue
		case errors.Is(err, graph.ErrNotModel):
			fmt.Fprintf(out, "skipped: %v\n", err)
			res.skipped++
			continue
		default:
			fmt.Fprintln(errw, err)
			failed++
			continue
		}
		loaded++
		r := reportGraph(p, g)
		res.reports = append(res.reports, r)
		if !(quietLayers && layered) {
			printReport(out, r)
		}
		for _, w := range g.Meta.Warnings {
			if !warned[w] {
				warned[w] = true
				fmt.Fprintf(errw, "%s: warning: %s\n", path, w)
			}
		}
	}
	res.failed += failed
	res.skipped += len(empty)
	if layered {
		fmt.Fprintf(out, "%s: %d layers: %d loaded, %d empty", path, n, loaded, len(empty))
		if len(empty) > 0 {
			fmt.Fprintf(out, " (skipped: %s)", layerRanges(empty))
		}
		if failed > 0 {
			fmt.Fprintf(out, ", %d failed", failed)
		}
		fmt.Fprintln(out)
	}
}

// layerRanges formats sorted layer indices as "#0-#101, #205".
func layerRanges(ix []int) string {
	var parts []string
	for i := 0; i < len(ix); {
		j := i
		for j+1 < len(ix) && ix[j+1] == ix[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("#%d-#%d", ix[i], ix[j]))
		} else {
			parts = append(parts, fmt.Sprintf("#%d", ix[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

func newValidateCmd() *cobra.Command {
	var (
		asJSON      bool
		kind        string
		groundZ     float64
		pixelMM     float64
		spacingMM   float64
		quietLayers bool
	)
	cmd := &cobra.Command{
		Use:   "validate [MODEL...]",
		Short: "Load models and report nodes, edges, components, grounded nodes and bounding box",
		Long: `validate loads each MODEL and reports its graph: nodes, edges, connected components,
grounded nodes, bounding box (mm), edge lengths and the declared material (SI units).

Formats (by extension / content):
  Node<M>.txt + Edge<M>.txt   RL3DP text pair (wire-frame; "_CCF" models are planar)
  *.json with node_list        assembly_instances / Choreo extrusion model
  other *.json                 conmech model (load-case files are reported and skipped)
  *.obj                        mesh; its face edges form the wire-frame
  *.png                        binary LPBF mask, pixel pitch --pixel-mm
  *.cli                        Common Layer Interface (ASCII or binary); every layer is
                               rasterised at --spacing-mm unless the path ends in #N

Empty layers of a CLI file are listed and skipped. Without MODEL it validates the --config
file. Errors name the file, the line (or byte) and the problem; the exit status is 1 if any
model failed.`,
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
			if !(groundZ >= 0) || !(pixelMM >= 0) || !(spacingMM >= 0) || math.IsInf(groundZ+pixelMM+spacingMM, 0) {
				return usagef("--ground-z-mm, --pixel-mm and --spacing-mm must be finite and not negative")
			}
			if kind != "" {
				k, err := parseKind(kind)
				if err != nil {
					return usageError{err}
				}
				opts.Kind = &k
			}
			out := cmd.OutOrStdout()
			text := out
			if asJSON {
				text = io.Discard
			}
			var res validateResult
			for _, path := range args {
				validateModel(text, cmd.ErrOrStderr(), path, opts, quietLayers, &res)
			}
			if asJSON {
				data, err := json.MarshalIndent(res.reports, "", "  ")
				if err != nil {
					return err
				}
				if _, err := out.Write(append(data, '\n')); err != nil {
					return err
				}
			}
			if res.failed > 0 {
				return fmt.Errorf("%d of %d models failed to load", res.failed, res.failed+len(res.reports))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the reports as JSON")
	cmd.Flags().StringVar(&kind, "kind", "", "force the graph kind: wireframe, planar or pixel")
	cmd.Flags().Float64Var(&groundZ, "ground-z-mm", 0, "grounded-node height for formats without flags (default wireframe.ground_z_mm)")
	cmd.Flags().Float64Var(&pixelMM, "pixel-mm", 0, "pixel pitch of PNG masks in mm (default 0.05)")
	cmd.Flags().Float64Var(&spacingMM, "spacing-mm", 0, "raster pitch for CLI layers in mm (default lpbf.spacing_mm)")
	cmd.Flags().BoolVar(&quietLayers, "summary", false, "for layered files print only the per-file summary, not one line per layer")
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
