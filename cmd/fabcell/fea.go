package main

import (
	"fmt"
	"io"
	"math"
	"strings"

	"fabcell/config"
	"fabcell/planners/graph"
	"fabcell/simulation/fea"

	"github.com/spf13/cobra"
)

func init() { addCommand("fea", newFEACmd) }

// feaFile is what `fabcell fea --out` writes. Units are in the keys:
// displacements in m and rad, forces in kN and kN·m, global axes (the
// model's axes); element end forces in each element's local axes.
type feaFile struct {
	Model     string        `json:"model"`
	Loads     string        `json:"loads,omitempty"`
	Nodes     int           `json:"nodes"`
	Elements  int           `json:"elements"`
	Material  string        `json:"material"`
	Solver    string        `json:"solver"`
	LoadCases []feaLoadCase `json:"loadcases"`
}

type feaLoadCase struct {
	Name               string        `json:"name"`
	MaxTranslationM    float64       `json:"max_translation_m"`
	MaxTranslationNode int           `json:"max_translation_node"`
	AppliedKN          [3]float64    `json:"applied_load_kN"`
	ReactionSumKN      [3]float64    `json:"reaction_sum_kN"`
	ResidualKN         float64       `json:"max_residual_kN"`
	Iterations         int           `json:"pcg_iterations,omitempty"`
	Displacements      []feaDisp     `json:"displacements"`
	Reactions          []feaReaction `json:"reactions"`
	Dropped            []string      `json:"dropped_dofs,omitempty"`
	EndForces          []feaEnd      `json:"element_end_forces,omitempty"`
}

type feaDisp struct {
	Node        int        `json:"node"`
	TranslateM  [3]float64 `json:"translation_m"`
	RotationRad [3]float64 `json:"rotation_rad"`
}

type feaReaction struct {
	Node     int        `json:"node"`
	ForceKN  [3]float64 `json:"force_kN"`
	MomentKN [3]float64 `json:"moment_kNm"`
}

// feaEnd: local axes, end A then end B: N, Vy, Vz (kN) and T, My, Mz (kN·m).
type feaEnd struct {
	Element  int        `json:"element"`
	AForceKN [3]float64 `json:"a_force_kN"`
	AMomKNm  [3]float64 `json:"a_moment_kNm"`
	BForceKN [3]float64 `json:"b_force_kN"`
	BMomKNm  [3]float64 `json:"b_moment_kNm"`
}

func newFEACmd() *cobra.Command {
	var (
		model, loads, loadcase, material, out, method string
		diameterMM                                    float64
		endForces                                     bool
	)
	cmd := &cobra.Command{
		Use:   "fea --model FRAME [--loads LOADS.json] --out result.json",
		Short: "Linear 3-D frame analysis of a wire-frame model (displacements, reactions, d_max)",
		Long: `fea analyses MODEL as a 3-D Euler–Bernoulli frame (6 DOF per node) and writes nodal
displacements (m, rad, global axes), support reactions (kN, kN·m) and the maximal nodal
translation with its node, per load case.

MODEL is any wire-frame format fabcell reads: conmech or assembly_instances JSON, an
RL3DP Node/Edge text pair, an OBJ mesh. Supports: the file's fixities, else grounded nodes
(RL3DP/OBJ: z below wireframe.ground_z_mm) fully fixed.

LOADS is a conmech loads file: {"loadcases": {"0": {"ploads": [...], "eloads": [...],
"gravity": {...}}}} or the flat {"ploads", "eloads", "gravity"}; element loads name
elements by "elem_tags" or "elem_inds". Units default to kN, kNm, kN/m. Without --loads
the load case is self-weight (gravity along −Z). --loadcase picks one case (default all).

Material: the model's declared material and sections when it declares them; otherwise
the wireframe.material preset with round struts of wireframe.strut_diameter_mm. --material
NAME forces a preset (pla, abs, pla-rl3dp) for every element, --material model requires the
model's, --strut-diameter-mm overrides the preset strut diameter.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if model == "" || out == "" {
				return usagef("--model and --out are required")
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			var m fea.Method
			switch method {
			case "direct":
				m = fea.Direct
			case "pcg":
				m = fea.PCG
			default:
				return usagef("--method %q: want direct or pcg", method)
			}
			if diameterMM < 0 || math.IsNaN(diameterMM) || diameterMM > 1000 {
				return usagef("--strut-diameter-mm %v: want a diameter in (0, 1000] mm", diameterMM)
			}
			g, err := graph.Load(model, graph.LoadOptions{GroundZMM: cfg.Wireframe.GroundZMM})
			if err != nil {
				return err
			}
			fo, err := feaFrameOptions(cfg, g, material, diameterMM)
			if err != nil {
				return err
			}
			f, err := fea.FromGraph(g, fo.opts)
			if err != nil {
				return err
			}
			cases := []fea.LoadCase{fea.SelfWeight()}
			if loads != "" {
				if cases, err = fea.ReadLoads(loads, f, g.Meta.ElemTags); err != nil {
					return err
				}
			}
			if loadcase != "" {
				var pick []fea.LoadCase
				var names []string
				for _, c := range cases {
					names = append(names, c.Name)
					if c.Name == loadcase {
						pick = append(pick, c)
					}
				}
				if pick == nil {
					return usagef("--loadcase %q: not in the loads (have %s)", loadcase, strings.Join(names, ", "))
				}
				cases = pick
			}
			file := feaFile{Model: model, Loads: loads, Nodes: f.NumNodes(), Elements: f.NumElems(), Material: fo.desc}
			file.Solver = m.String()
			if m == fea.Direct {
				file.Solver = fmt.Sprintf("direct block LDLᵀ, %v ordering", f.ChosenOrdering())
			}
			for _, lc := range cases {
				res, err := f.Solve(cmd.Context(), lc, fea.Options{Method: m})
				if err != nil {
					return fmt.Errorf("%s: load case %q: %w", model, lc.Name, err)
				}
				file.LoadCases = append(file.LoadCases, feaCase(f, lc, res, endForces))
				printFEASummary(cmd.OutOrStdout(), file.LoadCases[len(file.LoadCases)-1])
			}
			return writeJSON(out, file)
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "frame model (conmech/assembly_instances JSON, RL3DP Node/Edge .txt, .obj)")
	cmd.Flags().StringVar(&loads, "loads", "", "conmech loads JSON (default: self-weight)")
	cmd.Flags().StringVar(&loadcase, "loadcase", "", "analyse only this load case (default: all)")
	cmd.Flags().StringVar(&material, "material", "", "material preset (pla, abs, pla-rl3dp) or \"model\" (default: model's, else wireframe.material)")
	cmd.Flags().Float64Var(&diameterMM, "strut-diameter-mm", 0, "strut diameter for preset materials (default wireframe.strut_diameter_mm)")
	cmd.Flags().StringVar(&method, "method", "direct", "linear solver: direct or pcg")
	cmd.Flags().BoolVar(&endForces, "element-forces", false, "also write element end forces (local axes)")
	cmd.Flags().StringVar(&out, "out", "", "result JSON (\"-\" = stdout)")
	return cmd
}

type feaFrameChoice struct {
	opts fea.FrameOptions
	desc string
}

// feaFrameOptions resolves --material / --strut-diameter-mm against the
// configuration and what the model declares.
func feaFrameOptions(cfg config.Cell, g *graph.Graph, material string, diameterMM float64) (feaFrameChoice, error) {
	declared := g.Meta.Material != nil || g.Meta.ElemMaterial != nil
	d := cfg.Wireframe.StrutDiameterMM
	if diameterMM > 0 {
		d = diameterMM
	}
	preset := cfg.Wireframe.Material
	useModel := declared
	switch strings.ToLower(material) {
	case "":
	case "model":
		if !declared {
			return feaFrameChoice{}, usagef("--material model: %s declares no material", g.Source)
		}
		useModel = true
	default:
		preset, useModel = material, false
	}
	pm, err := config.LookupMaterial(preset)
	if err != nil {
		return feaFrameChoice{}, usageError{err}
	}
	fo := fea.FrameOptions{Material: pm, StrutDiameterMM: d, UseModel: useModel}
	desc := fo.Describe()
	if useModel {
		desc = "as declared by the model"
		if g.Meta.Material != nil {
			m := g.Meta.Material
			desc = fmt.Sprintf("model: %s (E %.4g GPa, G %.4g GPa, A %.4g mm², Iy %.4g mm⁴, Iz %.4g mm⁴, J %.4g mm⁴)",
				m.Name, m.EPa/1e9, m.GPa/1e9, m.AreaM2*1e6, m.IyM4*1e12, m.IzM4*1e12, m.JM4*1e12)
		}
	}
	return feaFrameChoice{opts: fo, desc: desc}, nil
}

func feaCase(f *fea.Frame, lc fea.LoadCase, res *fea.Result, endForces bool) feaLoadCase {
	const kN = 1e-3
	c := feaLoadCase{Name: lc.Name, MaxTranslationM: res.MaxTranslationM, MaxTranslationNode: res.MaxNode,
		ResidualKN: res.ResidualN * kN, Iterations: res.Iterations}
	F, _ := lc.TotalForceN(f, nil)
	c.AppliedKN = [3]float64{F.X * kN, F.Y * kN, F.Z * kN}
	for v, d := range res.Disp {
		if !res.InStructure[v] {
			continue
		}
		c.Displacements = append(c.Displacements, feaDisp{Node: v, TranslateM: [3]float64{d[0], d[1], d[2]}, RotationRad: [3]float64{d[3], d[4], d[5]}})
	}
	for _, r := range res.Reactions {
		fr := feaReaction{Node: r.Node, ForceKN: [3]float64{r.F[0] * kN, r.F[1] * kN, r.F[2] * kN}, MomentKN: [3]float64{r.F[3] * kN, r.F[4] * kN, r.F[5] * kN}}
		for i := 0; i < 3; i++ {
			c.ReactionSumKN[i] += fr.ForceKN[i]
		}
		c.Reactions = append(c.Reactions, fr)
	}
	for _, d := range res.Dropped {
		c.Dropped = append(c.Dropped, fmt.Sprintf("%d:%s", d.Node, fea.DOFName(d.DOF)))
	}
	if endForces {
		for e, ef := range res.EndForces {
			c.EndForces = append(c.EndForces, feaEnd{Element: e,
				AForceKN: [3]float64{ef[0] * kN, ef[1] * kN, ef[2] * kN}, AMomKNm: [3]float64{ef[3] * kN, ef[4] * kN, ef[5] * kN},
				BForceKN: [3]float64{ef[6] * kN, ef[7] * kN, ef[8] * kN}, BMomKNm: [3]float64{ef[9] * kN, ef[10] * kN, ef[11] * kN}})
		}
	}
	return c
}

func printFEASummary(w io.Writer, c feaLoadCase) {
	fmt.Fprintf(w, "load case %s: max translation %.6g mm at node %d; applied (%.6g, %.6g, %.6g) kN; reactions (%.6g, %.6g, %.6g) kN\n",
		c.Name, c.MaxTranslationM*1e3, c.MaxTranslationNode,
		c.AppliedKN[0], c.AppliedKN[1], c.AppliedKN[2], c.ReactionSumKN[0], c.ReactionSumKN[1], c.ReactionSumKN[2])
}
