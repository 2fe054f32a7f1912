package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"fabcell/planners"
	"fabcell/planners/graph"

	"github.com/spf13/cobra"
)

func init() { addCommand("plan", newPlanCmd) }

// artifactFlags collects every artifact name offered by any registered
// process, so `plan` can expose one --NAME PATH flag per artifact.
func artifactFlags() map[string]string {
	out := map[string]string{}
	for _, name := range planners.ProcessNames() {
		p, err := planners.NewProcess(name, defaultCell())
		if err != nil {
			continue
		}
		if ap, ok := p.(planners.ArtifactProvider); ok {
			for _, a := range ap.Artifacts() {
				if h, ok := out[a.Name]; ok && !strings.Contains(h, name) {
					out[a.Name] = h + "; " + name + ": " + a.Help
				} else if !ok {
					out[a.Name] = name + ": " + a.Help
				}
			}
		}
	}
	return out
}

func newPlanCmd() *cobra.Command {
	var (
		process, model, plannerName, out string
		ring                             int
		seed                             int64
		quiet                            bool
	)
	artifacts := artifactFlags()
	artPaths := map[string]*string{}
	cmd := &cobra.Command{
		Use:   "plan --process wireframe|ccf|lpbf|travel --model PATH --out plan.json",
		Short: "Plan a toolpath and write plan.json (path, moves, metrics) plus optional artifacts",
		Long: `plan loads MODEL with the process's rules, runs the planner (default: planner.name from
the config, lsg-dqn) and writes a JSON plan with process, planner, model, nodes, edges, path
(node visiting order), moves ({from,to,kind,edge[,axis]} with kind print, travel or jump),
metrics (process-specific, units in key names) and elapsed_s. Process artifacts (URScript,
G-code, CLI scan vectors, plots) are written with their own flags.

If the planner cannot complete the coverage, the partial plan is still written (metrics
complete=0) with the requested diagnostics (wire-frame --report, which gives every
unreachable strut's reason, and --plot), the command fails naming the cause, and machine
programs (URScript, G-code, CLI) are not written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if process == "" || model == "" || out == "" {
				return usagef("--process, --model and --out are required (processes: %s)", strings.Join(planners.ProcessNames(), ", "))
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			// planner.per_process.<process> first, so explicit flags win.
			cfg.Planner = cfg.PlannerFor(process)
			if cmd.Flags().Changed("planner") {
				cfg.Planner.Name = plannerName
			}
			if cmd.Flags().Changed("ring") {
				cfg.Planner.Ring = ring
			}
			if cmd.Flags().Changed("seed") {
				cfg.Planner.Seed = seed
			}
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			proc, err := planners.NewProcess(process, cfg)
			if err != nil {
				return usageError{err}
			}
			var provided map[string]planners.Artifact
			if ap, ok := proc.(planners.ArtifactProvider); ok {
				provided = map[string]planners.Artifact{}
				for _, a := range ap.Artifacts() {
					provided[a.Name] = a
				}
			}
			for name, p := range artPaths {
				if *p != "" {
					if _, ok := provided[name]; !ok {
						return usagef("--%s is not available for process %s", name, process)
					}
					if *p == "-" {
						return usagef("--%s writes a file; - (standard output) is only for --out", name)
					}
					// plots are PNG images: a .svg or .jpg name would get PNG bytes
					if ext := filepath.Ext(*p); name == "plot" && ext != "" && !strings.EqualFold(ext, ".png") {
						return usagef("--plot writes a PNG image, but %s has the extension %s", *p, ext)
					}
				}
			}
			outs := [][2]string{{"--out", out}}
			for _, name := range slices.Sorted(maps.Keys(artPaths)) {
				if p := *artPaths[name]; p != "" {
					outs = append(outs, [2]string{"--" + name, p})
				}
			}
			if err := checkOutputs(model, outs); err != nil {
				return err
			}
			g, err := proc.Load(model)
			if err != nil {
				return err
			}
			sess, err := proc.NewSession(g)
			if err != nil {
				return err
			}
			bar := newProgress(fmt.Sprintf("%s/%s", process, cfg.Planner.Name))
			if quiet {
				bar = nil
			}
			pl, err := planners.NewPlanner(cfg.Planner.Name, planners.Options{Config: cfg.Planner, Process: proc, Log: logWriter(quiet)})
			if err != nil {
				return usageError{err}
			}
			start := time.Now()
			moves, planErr := planners.Run(cmd.Context(), pl, sess, bar.Update)
			bar.Done()
			res := &planners.Result{
				Process: process, Planner: cfg.Planner.Name, Model: model, Graph: g,
				Session: sess, Moves: moves, Metrics: sess.Metrics(), Config: cfg,
				ElapsedS: time.Since(start).Seconds(),
			}
			pf := planFile(res, cfg.Planner.Ring, cfg.Planner.Seed)
			if err := writeJSON(out, pf); err != nil {
				return err
			}
			var skipped, partial []string
			for _, name := range slices.Sorted(maps.Keys(artPaths)) {
				p := artPaths[name]
				if *p == "" {
					continue
				}
				a := provided[name]
				if planErr != nil && !a.Partial {
					skipped = append(skipped, "--"+name)
					continue
				}
				if err := writeArtifact(cmd.Context(), *p, a, res); err != nil {
					if planErr != nil {
						// the plan's own error is the one to report
						fmt.Fprintf(cmd.ErrOrStderr(), "fabcell: --%s of the partial plan not written: %v\n", name, err)
						continue
					}
					return fmt.Errorf("--%s: %w", name, err)
				}
				if planErr != nil {
					partial = append(partial, fmt.Sprintf("--%s %s", name, *p))
				}
			}
			printMetrics(cmd.ErrOrStderr(), res)
			if planErr != nil {
				what := fmt.Sprintf("partial plan (%d moves) written to %s", len(moves), out)
				if len(partial) > 0 {
					what += "; of the partial plan: " + strings.Join(partial, ", ")
				}
				if len(skipped) > 0 {
					what += "; not written for an incomplete plan: " + strings.Join(skipped, ", ")
				}
				if n := res.Metrics["unreachable"]; n > 0 {
					what += fmt.Sprintf("; %d unreachable (each with its reason in --report)", int(n))
				}
				if errors.Is(planErr, cmd.Context().Err()) {
					return fmt.Errorf("planning interrupted after %d moves; %s", len(moves), what)
				}
				return fmt.Errorf("%w; %s", planErr, what)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&process, "process", "", "process: "+strings.Join(planners.ProcessNames(), ", "))
	f.StringVar(&model, "model", "", "model file (formats: see fabcell validate --help)")
	f.StringVar(&plannerName, "planner", "", "planner: "+strings.Join(planners.PlannerNames(""), ", ")+" (default planner.name)")
	f.IntVar(&ring, "ring", 0, "LSG ring range n (default planner.ring)")
	f.Int64Var(&seed, "seed", 0, "random seed (default planner.seed)")
	f.StringVar(&out, "out", "", "output plan JSON (- = stdout)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress bar or diagnostics")
	names := make([]string, 0, len(artifacts))
	for n := range artifacts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		artPaths[n] = new(string)
		f.StringVar(artPaths[n], n, "", "write "+artifacts[n])
	}
	return cmd
}

// checkOutputs refuses output paths ({flag, path}; "-" is stdout) in a
// directory that does not exist, that name the same file twice (one output would silently replace the other) or a
// file of the model (an RL3DP pair counts both files; "#N" layer suffixes
// are ignored), which would be overwritten.
func checkOutputs(model string, outs [][2]string) error {
	m := model
	if i := strings.LastIndexByte(m, '#'); i > 0 {
		if _, err := strconv.Atoi(m[i+1:]); err == nil {
			m = m[:i]
		}
	}
	nodes, edges := graph.RL3DPPair(m)
	for i, o := range outs {
		if o[1] == "-" {
			continue
		}
		// fail before a long planning run, not when writing its result
		if st, err := os.Stat(filepath.Dir(o[1])); err != nil || !st.IsDir() {
			return usagef("%s %s: directory %s does not exist", o[0], o[1], filepath.Dir(o[1]))
		}
		for _, in := range []string{nodes, edges} {
			if sameFile(o[1], in) {
				return usagef("%s %s would overwrite the model file %s", o[0], o[1], in)
			}
		}
		for _, p := range outs[:i] {
			if p[1] != "-" && sameFile(o[1], p[1]) {
				return usagef("%s and %s both write %s", p[0], o[0], o[1])
			}
		}
	}
	return nil
}

// sameFile reports whether two paths name one file: the same absolute path,
// or (both existing) the same file through links.
func sameFile(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == ab {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// planFile is planners.NewPlanFile keeping the start node of a plan without
// moves (a one-pixel layer, a single node): its path is [start], not null,
// so that evaluate and the controller can read the plan back.
func planFile(r *planners.Result, ring int, seed int64) planners.PlanFile {
	pf := planners.NewPlanFile(r, ring, seed)
	if len(pf.Path) == 0 && r.Session != nil && r.Session.Current() >= 0 {
		pf.Path = []int{r.Session.Current()}
	}
	if pf.Moves == nil {
		pf.Moves = []planners.Move{}
	}
	return pf
}

// writeArtifact writes one artifact through a temporary file next to path
// (renamed over it when complete). The writer runs in its own goroutine so
// that an interrupt (ctx: SIGINT, SIGTERM) ends the command at once, with the
// temporary file removed, even when the writer itself does not stop (a
// layer program over a huge model); the goroutine ends with the process.
func writeArtifact(ctx context.Context, path string, a planners.Artifact, r *planners.Result) error {
	f, err := createAtomic(path)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- a.Write(f, r) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		f.abort()
		return fmt.Errorf("interrupted while writing %s: %w", path, context.Cause(ctx))
	}
	if err != nil {
		f.abort()
		return err
	}
	return f.commit()
}

func printMetrics(w io.Writer, r *planners.Result) {
	keys := make([]string, 0, len(r.Metrics))
	for k := range r.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "%s %s on %s: %d moves in %.2f s\n", r.Process, r.Planner, r.Model, len(r.Moves), r.ElapsedS)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-28s %g\n", k, r.Metrics[k])
	}
}

func logWriter(quiet bool) io.Writer {
	if quiet {
		return io.Discard
	}
	return os.Stderr
}
