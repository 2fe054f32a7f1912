package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"fabcell/processes/gcode"
	"fabcell/processes/gcode/parse"
	"fabcell/processes/gcode/timing"
	"fabcell/processes/gcode/verify"

	"github.com/spf13/cobra"
)

func init() { addCommand("gcode", newGcodeCmd) }

func newGcodeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gcode",
		Short: "Re-compile slicer G-code for faster printing, estimate print time, verify a re-compiled file",
		Long: `gcode works on ordinary slicer G-code (Marlin / RepRap / Klipper flavours) after Li 2020,
"G-code re-compilation and optimization for faster 3D printing": optimize reorders the
extrusions of every layer (Euler tours over the layer graph, minimum-length pairing of odd
vertices, run reordering) without changing what is printed; estimate times a file with a
Marlin-style look-ahead planner and compares with the slicer's own estimate; verify checks
a re-compiled file against its original from the text of both.`,
	}
	cmd.AddCommand(newGcodeOptimizeCmd(), newGcodeEstimateCmd(), newGcodeVerifyCmd())
	return cmd
}

// gcodeFlags are the optimiser options settable on the command line.
type gcodeFlags struct {
	matching, scope, retractWhen, seams, wallOrder, junction string
	noRunReorder, force                                      bool
	noSlicerLimits                                           bool
	comb, noComb                                             bool
	combMaxDetour                                            float64
}

func (f *gcodeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.matching, "matching", "", "odd-vertex pairing: greedy or improved (default from config: improved)")
	cmd.Flags().StringVar(&f.scope, "scope", "", "reordering scope: layer or feature (default from config: layer)")
	cmd.Flags().StringVar(&f.retractWhen, "retract-when", "", "retract on travels that are crossing a perimeter or on every travel (default from config: crossing)")
	cmd.Flags().StringVar(&f.seams, "seams", "", "closed perimeter loops: keep their seam or free (default from config: keep)")
	cmd.Flags().StringVar(&f.wallOrder, "wall-order", "", "perimeter loops of an island or hole: keep the input's order or free (default from config: keep)")
	cmd.Flags().StringVar(&f.junction, "junction", "", "time model junctions: auto, deviation or jerk (default from config: auto)")
	cmd.Flags().BoolVar(&f.noRunReorder, "no-run-reorder", false, "skip the 2-opt/Or-opt pass over runs (the paper's construction only)")
	cmd.Flags().BoolVar(&f.comb, "comb", false, "route travels that cross a perimeter around the perimeters, without retraction, when faster (default from config: off)")
	cmd.Flags().BoolVar(&f.noComb, "no-comb", false, "never comb: every travel crossing a perimeter retracts")
	cmd.Flags().Float64Var(&f.combMaxDetour, "comb-max-detour", 0, "longest combed path relative to the straight travel, 1..100 (default from config: 3)")
	cmd.Flags().BoolVar(&f.force, "force", false, "emit reordered layers even when the estimate is not faster (measurements only)")
	registerSlicerLimits(cmd, &f.noSlicerLimits)
}

func registerSlicerLimits(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "no-slicer-limits", false, "time Cura files with the configured limits instead of the machine model Cura's own estimator assumes (fdmprinter.def.json defaults; legacy Cura's constants)")
}

// options merges the configuration's gcode section with the flags.
func (f *gcodeFlags) options(cmd *cobra.Command) (gcode.Options, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return gcode.Options{}, err
	}
	g := cfg.GCode
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&g.Matching, f.matching)
	set(&g.Scope, f.scope)
	set(&g.RetractWhen, f.retractWhen)
	set(&g.Seams, f.seams)
	set(&g.WallOrder, f.wallOrder)
	set(&g.Junction, f.junction)
	if f.noRunReorder {
		g.ReorderRuns = "off"
	}
	switch {
	case f.comb && f.noComb:
		return gcode.Options{}, usagef("--comb and --no-comb exclude each other")
	case f.comb:
		g.Comb = "on"
	case f.noComb:
		g.Comb = "off"
	}
	if cmd.Flags().Changed("comb-max-detour") {
		g.CombMaxDetour = f.combMaxDetour
	}
	cfg.GCode = g
	if err := cfg.Validate(); err != nil {
		return gcode.Options{}, usageError{err}
	}
	o, err := gcode.FromConfig(g)
	if err != nil {
		return o, usageError{err}
	}
	o.ForceReorder = f.force
	if f.noSlicerLimits {
		o.Timing.SlicerLimits = false
	}
	return o, nil
}

func newGcodeOptimizeCmd() *cobra.Command {
	var (
		fl       gcodeFlags
		out      string
		asJSON   bool
		doVerify bool
	)
	cmd := &cobra.Command{
		Use:   "optimize IN.gcode|- -o OUT.gcode|-",
		Short: "Reorder the extrusions of every layer and write a faster, equivalent G-code file",
		Long: `optimize streams IN through the re-compiler and writes OUT atomically. Each layer (or the
part of a layer between commands that must stay in place) is reordered when that is legal
and the time model says it is faster; otherwise it is copied unchanged. Then both files are
estimated and compared: lines, extrusion moves, travel distance, retractions, estimated time.
If the re-compiled file is estimated slower as a whole than the input (the optimiser decides
layer by layer), OUT is written as an unchanged copy of IN instead and the report says so
("kept the input unchanged", JSON kept_input); --force skips this check.
With --verify the verifier re-reads both files and the command fails if it finds a problem.
IN and OUT may be - for standard input and output (through temporary files); with -o - the
report goes to standard error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("-o OUT.gcode is required")
			}
			opt, err := fl.options(cmd)
			if err != nil {
				return err
			}
			in := args[0]
			if in != "-" && out != "-" {
				if abs1, _ := filepath.Abs(in); abs1 != "" {
					if abs2, _ := filepath.Abs(out); abs1 == abs2 {
						return usagef("output %s would overwrite the input", out)
					}
				}
			}
			// Pipes: the input is read three times (optimise, estimate,
			// never-slower copy) and the output twice, so "-" goes through
			// temporary files; with -o - the report goes to stderr.
			w := cmd.OutOrStdout()
			inName, outName := in, out
			if in == "-" {
				p, err := spool(cmd.InOrStdin(), "fabcell-in-*.gcode")
				if err != nil {
					return fmt.Errorf("read standard input: %w", err)
				}
				defer os.Remove(p)
				in, inName = p, "stdin"
			}
			if out == "-" {
				f, err := os.CreateTemp("", "fabcell-out-*.gcode")
				if err != nil {
					return err
				}
				f.Close()
				defer os.Remove(f.Name())
				out, outName = f.Name(), "stdout"
				w = cmd.ErrOrStderr()
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			t0 := time.Now()
			rep, err := optimizeFile(ctx, in, out, opt)
			if err != nil {
				return err
			}
			elapsed := time.Since(t0)
			before, err := estimateFile(ctx, in, opt.Timing)
			if err != nil {
				return err
			}
			after, err := estimateFile(ctx, out, opt.Timing)
			if err != nil {
				return err
			}
			// The whole-file promise: never slower than the input. The
			// optimiser decides chunk by chunk; if the file as a whole is
			// estimated slower all the same, the input is written unchanged
			// (not with --force, which asks for the reordered file).
			var keptReason string
			rejectedS := after.Seconds
			if !opt.ForceReorder && after.Seconds > before.Seconds {
				keptReason = fmt.Sprintf("the re-compiled file is estimated %.3f s slower than the input (%.3f → %.3f s)",
					after.Seconds-before.Seconds, before.Seconds, after.Seconds)
				if err := copyFileAtomic(in, out); err != nil {
					return err
				}
				after = before
				rep.LinesOut = rep.LinesIn
			}
			var vr *verify.Report
			if doVerify {
				r, err := verifyFiles(ctx, in, out)
				if err != nil {
					return err
				}
				vr = &r
			}
			if asJSON {
				res := map[string]any{
					"in": inName, "out": outName, "elapsed_s": elapsed.Seconds(),
					"lines_in": rep.LinesIn, "lines_out": rep.LinesOut,
					"layers": rep.Layers, "chunks": rep.Chunks, "reordered": rep.Reordered, "kept": rep.Kept,
					"extrusion_moves_in": before.ExtrusionMoves, "extrusion_moves_out": after.ExtrusionMoves,
					"travel_mm_in": before.TravelMM, "travel_mm_out": after.TravelMM,
					"retracts_in": before.Retracts, "retracts_out": after.Retracts,
					"estimate_s_in": before.Seconds, "estimate_s_out": after.Seconds,
					"matching": rep.Matching, "odd_vertices": rep.OddVertices, "matching_mm": rep.MatchingMM,
					"splits": rep.Splits, "combed": rep.Combed,
					"kept_input": keptReason != "",
				}
				if keptReason != "" {
					res["kept_input_reason"] = keptReason
					res["estimate_s_rejected"] = rejectedS
				}
				if vr != nil {
					res["verify_ok"] = vr.OK
					res["verify"] = vr.Summary()
				}
				if err := gcodeJSON(w, res); err != nil {
					return err
				}
			} else {
				printOptimizeReport(w, inName, outName, rep, before, after, elapsed)
				if keptReason != "" {
					fmt.Fprintf(w, "kept the input unchanged: %s\n", keptReason)
				}
				if vr != nil {
					fmt.Fprintf(w, "verify: %s\n", vr.Summary())
					for _, p := range vr.Problems {
						fmt.Fprintf(w, "  %s\n", p)
					}
				}
			}
			if vr != nil && !vr.OK {
				return fmt.Errorf("verify %s against %s: %d problems", outName, inName, len(vr.Problems))
			}
			if outName == "stdout" {
				f, err := os.Open(out)
				if err != nil {
					return err
				}
				defer f.Close()
				if _, err := io.Copy(cmd.OutOrStdout(), f); err != nil {
					return fmt.Errorf("write standard output: %w", err)
				}
			}
			return nil
		},
	}
	fl.register(cmd)
	cmd.Flags().StringVarP(&out, "out", "o", "", "output G-code file (written atomically; - = standard output, the report then goes to standard error)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the comparison as JSON")
	cmd.Flags().BoolVar(&doVerify, "verify", false, "verify the output against the input afterwards")
	return cmd
}

// spool copies r to a new temporary file (name pattern as os.CreateTemp)
// and returns its path.
func spool(r io.Reader, pattern string) (string, error) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// optimizeFile runs the re-compiler from in to a temporary file next to
// out and renames it into place.
func optimizeFile(ctx context.Context, in, out string, opt gcode.Options) (gcode.Report, error) {
	f, err := os.Open(in)
	if err != nil {
		return gcode.Report{}, err
	}
	defer f.Close()
	if opt.Timing, err = withFooter(f, opt.Timing); err != nil {
		return gcode.Report{}, fmt.Errorf("%s: %w", in, err)
	}
	tmp, err := createAtomic(out)
	if err != nil {
		return gcode.Report{}, err
	}
	rep, err := optimizeGcode(ctx, f, tmp, opt)
	if err != nil {
		tmp.abort()
		return rep, fmt.Errorf("%s: %w", in, err)
	}
	return rep, tmp.commit()
}

// optimizeGcode is the re-compiler optimizeFile runs (a test replaces it to
// produce a slower file).
var optimizeGcode = gcode.Optimize

// copyFileAtomic writes a copy of in to out through a temporary file next
// to out and a rename.
func copyFileAtomic(in, out string) error {
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := createAtomic(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.abort()
		return fmt.Errorf("write %s: %w", out, err)
	}
	return tmp.commit()
}

// withFooter reads the settings footer of a regular file ahead of the
// stream (PrusaSlicer and its forks write the machine limits their
// estimate assumed there) and leaves f at its start; pipes and other
// non-seekable inputs are timed without it.
func withFooter(f *os.File, cfg timing.Config) (timing.Config, error) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || !cfg.SlicerLimits {
		return cfg, nil
	}
	settings, err := parse.ReadFooter(f, st.Size())
	if err != nil {
		return cfg, err
	}
	cfg.SlicerSettings = settings
	return cfg, nil
}

func estimateFile(ctx context.Context, path string, cfg timing.Config) (timing.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return timing.Result{}, err
	}
	defer f.Close()
	if cfg, err = withFooter(f, cfg); err != nil {
		return timing.Result{}, fmt.Errorf("%s: %w", path, err)
	}
	r, err := timing.EstimateReader(ctx, f, cfg)
	if err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

func verifyFiles(ctx context.Context, orig, opt string) (verify.Report, error) {
	a, err := os.Open(orig)
	if err != nil {
		return verify.Report{}, err
	}
	defer a.Close()
	b, err := os.Open(opt)
	if err != nil {
		return verify.Report{}, err
	}
	defer b.Close()
	return verify.Verify(ctx, a, b, verify.Options{})
}

// fmtDuration prints seconds as "1h 2m 3s" with the seconds to 0.1.
func fmtDuration(s float64) string {
	if math.IsNaN(s) || s < 0 {
		return "?"
	}
	h := int(s / 3600)
	m := int(math.Mod(s, 3600) / 60)
	sec := math.Mod(s, 60)
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %dm %.0fs", h, m, sec)
	case m > 0:
		return fmt.Sprintf("%dm %.1fs", m, sec)
	}
	return fmt.Sprintf("%.1fs", sec)
}

func pct(a, b float64) string {
	if a == 0 {
		return ""
	}
	return fmt.Sprintf("%+.2f %%", (b/a-1)*100)
}

func printOptimizeReport(w io.Writer, in, out string, rep gcode.Report, before, after timing.Result, elapsed time.Duration) {
	fmt.Fprintf(w, "%s → %s (%.2f s, %.0f lines/s)\n", in, out, elapsed.Seconds(), float64(rep.LinesIn)/math.Max(elapsed.Seconds(), 1e-9))
	fmt.Fprintf(w, "%-22s %16s %16s %10s\n", "", "before", "after", "change")
	row := func(name string, a, b float64, f func(float64) string) {
		fmt.Fprintf(w, "%-22s %16s %16s %10s\n", name, f(a), f(b), pct(a, b))
	}
	num := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	row("lines", float64(rep.LinesIn), float64(rep.LinesOut), num)
	row("extrusion moves", float64(before.ExtrusionMoves), float64(after.ExtrusionMoves), num)
	row("travel distance (mm)", before.TravelMM, after.TravelMM, func(v float64) string { return fmt.Sprintf("%.1f", v) })
	row("retractions", float64(before.Retracts), float64(after.Retracts), num)
	row("estimated time", before.Seconds, after.Seconds, fmtDuration)
	if before.Meta.EmbeddedS > 0 {
		fmt.Fprintf(w, "slicer's estimate of the input (%s): %s; ours differs by %s\n",
			before.Meta.EmbeddedSource, fmtDuration(before.Meta.EmbeddedS), pct(before.Meta.EmbeddedS, before.Seconds))
	}
	var kept []string
	for k, n := range rep.Kept {
		kept = append(kept, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kept)
	fmt.Fprintf(w, "layers %d, chunks %d: reordered %d", rep.Layers, rep.Chunks, rep.Reordered)
	if len(kept) > 0 {
		fmt.Fprintf(w, ", kept (%s)", strings.Join(kept, ", "))
	}
	fmt.Fprintf(w, "; %s matching: %d odd vertices, %.1f mm of pairs; %d pieces from segmentation",
		rep.Matching, rep.OddVertices, rep.MatchingMM, rep.Splits)
	if rep.Combed > 0 {
		fmt.Fprintf(w, "; %d travels combed", rep.Combed)
	}
	fmt.Fprintln(w)
}

func newGcodeEstimateCmd() *cobra.Command {
	var (
		asJSON   bool
		junction string
		noSlicer bool
	)
	cmd := &cobra.Command{
		Use:   "estimate FILE...",
		Short: "Estimate print time with the Marlin planner model and compare with the slicer's own estimate",
		Long: `estimate times each FILE (- = standard input): trapezoidal moves with a look-ahead planner, junction deviation or
classic jerk (automatic: classic jerk when the file sets M205 X/Y), the file's M201-M205 limits
over the configured defaults (or over the machine model the slicer assumed, for Cura files),
M220/M221, G4, arcs. It prints the time by kind of motion, the slicer's embedded estimate
(PrusaSlicer "estimated printing time (normal mode)", Cura ";TIME_ELAPSED:"/";TIME:",
Simplify3D "Build time", Bambu Studio "total estimated time") and the difference (for Cura also over the layers alone, the span
CuraEngine times), and how well the slicer's progress marks (M73 lines, Cura's per-layer
";TIME_ELAPSED:") agree.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := gcodeFlags{junction: junction, noSlicerLimits: noSlicer}
			opt, err := fl.options(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			w := cmd.OutOrStdout()
			var failed error
			var all []map[string]any
			for _, path := range args {
				file := path
				if path == "-" { // standard input, through a file so its footer is read too
					p, err := spool(cmd.InOrStdin(), "fabcell-in-*.gcode")
					if err != nil {
						return fmt.Errorf("read standard input: %w", err)
					}
					defer os.Remove(p)
					file, path = p, "stdin"
				}
				r, err := estimateFile(ctx, file, opt.Timing)
				if err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "fabcell:", err)
					failed = errors.New("some files could not be estimated")
					continue
				}
				if asJSON {
					m := map[string]any{
						"file": path, "estimate_s": r.Seconds, "junction": r.Junction.String(), "machine_model": machineModel(r),
						"print_s": r.ByClass[timing.ClassPrint], "travel_s": r.ByClass[timing.ClassTravel],
						"retract_s": r.ByClass[timing.ClassRetract], "z_s": r.ByClass[timing.ClassZ],
						"dwell_s": r.DwellS, "home_s": r.HomeS, "travel_mm": r.TravelMM, "retracts": r.Retracts,
						"extrusion_moves": r.ExtrusionMoves, "lines": r.Lines,
						"embedded_s": r.Meta.EmbeddedS, "embedded_source": r.Meta.EmbeddedSource, "slicer": string(r.Meta.Slicer),
					}
					if sp := r.SlicerSpan; sp != nil {
						m["slicer_span"] = map[string]any{"from_line": sp.FromLine, "to_line": sp.ToLine, "ours_s": sp.OursS, "slicer_s": sp.SlicerS}
					}
					if mx, mean, rem, ok := r.ProgressError(); ok {
						m["progress_points"] = len(r.Progress)
						m["progress_max_abs_pct"], m["progress_mean_abs_pct"], m["progress_max_abs_remaining_min"] = mx, mean, rem
					}
					all = append(all, m)
					continue
				}
				printEstimate(w, path, r)
			}
			if asJSON {
				if err := gcodeJSON(w, all); err != nil {
					return err
				}
			}
			return failed
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&junction, "junction", "", "junction model: auto, deviation or jerk (default from config: auto)")
	registerSlicerLimits(cmd, &noSlicer)
	return cmd
}

// machineModel names the limits an estimate started from.
func machineModel(r timing.Result) string {
	if r.Model != "" {
		return "slicer's model: " + r.Model
	}
	return "configured limits"
}

func printEstimate(w io.Writer, path string, r timing.Result) {
	fmt.Fprintf(w, "%s: estimated %s (%.1f s; %s, %s, look-ahead %d blocks)\n", path, fmtDuration(r.Seconds), r.Seconds, machineModel(r), r.Junction, r.Limits.Lookahead)
	fmt.Fprintf(w, "  print %.1f s, travel %.1f s, retract %.1f s, z %.1f s, dwell %.1f s, homing %.1f s\n",
		r.ByClass[timing.ClassPrint], r.ByClass[timing.ClassTravel], r.ByClass[timing.ClassRetract], r.ByClass[timing.ClassZ], r.DwellS, r.HomeS)
	fmt.Fprintf(w, "  %d lines, %d extrusion moves, travel %.1f mm, %d retractions\n", r.Lines, r.ExtrusionMoves, r.TravelMM, r.Retracts)
	if r.Meta.EmbeddedS > 0 {
		fmt.Fprintf(w, "  slicer (%s, %s): %s (%.0f s); difference %s\n", r.Meta.Slicer, r.Meta.EmbeddedSource, fmtDuration(r.Meta.EmbeddedS), r.Meta.EmbeddedS, pct(r.Meta.EmbeddedS, r.Seconds))
		if sp := r.SlicerSpan; sp != nil {
			fmt.Fprintf(w, "  over the span the slicer times (lines %d-%d, without the profile's start and end G-code): ours %.1f s, slicer %.1f s; difference %s\n", sp.FromLine, sp.ToLine, sp.OursS, sp.SlicerS, pct(sp.SlicerS, sp.OursS))
		}
	} else {
		fmt.Fprintln(w, "  no slicer estimate in the file")
	}
	if mx, mean, rem, ok := r.ProgressError(); ok {
		fmt.Fprintf(w, "  slicer's progress marks (M73, ;TIME_ELAPSED:): %d points, |ΔP| max %.2f mean %.2f percentage points, |ΔR| max %.2f min\n", len(r.Progress), mx, mean, rem)
	}
}

func newGcodeVerifyCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify ORIG.gcode NEW.gcode",
		Short: "Check that NEW prints exactly what ORIG prints (same extruded segments and material per layer)",
		Long: `verify re-reads both files from their text, layer group by layer group, and checks: the same
sequence of layer heights; total extrusion per layer within 1e-6 relative; the same multiset of
extruded segments (identical segments match directly; segments split at intersections must be
covered exactly once by collinear pieces carrying their share of filament); and that NEW never
moves below material it has already printed. It fails (exit 1) on any problem.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			r, err := verifyFiles(ctx, args[0], args[1])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				if err := gcodeJSON(w, map[string]any{"ok": r.OK, "summary": r.Summary(), "problems": r.Problems,
					"groups": r.Groups, "segments_orig": r.SegmentsOrig, "segments_new": r.SegmentsNew,
					"e_orig_mm": r.EOrigMM, "e_new_mm": r.ENewMM, "max_group_rel_err": r.MaxGroupRelErr}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(w, "%s vs %s: %s\n", args[1], args[0], r.Summary())
				for _, p := range r.Problems {
					fmt.Fprintf(w, "  %s\n", p)
				}
			}
			if !r.OK {
				return fmt.Errorf("%s does not print what %s prints", args[1], args[0])
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// gcodeJSON writes v as indented JSON to w.
func gcodeJSON(w io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}
