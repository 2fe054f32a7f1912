package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"fabcell/planners"

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
				}
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
			pf := planners.NewPlanFile(res, cfg.Planner.Ring, cfg.Planner.Seed)
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
				if err := writeArtifact(*p, a, res); err != nil {
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
	f.StringVar(&model, "model", "", "model file (see `fabcell validate` for formats)")
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

func writeArtifact(path string, a planners.Artifact, r *planners.Result) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := a.Write(f, r); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
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
