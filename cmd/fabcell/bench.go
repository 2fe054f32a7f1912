package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"fabcell/planners"
	"fabcell/robot/ur/rtde"
	"fabcell/simulation/ursim"

	"github.com/spf13/cobra"
)

func init() { addCommand("bench", newBenchCmd) }

// fabcell bench measures what matters for running a cell, on this machine,
// and prints every number next to its baseline with the ratio. It never
// asserts a speed: goals are read off the output (and `go test -bench`).
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure planner speed and quality against baselines, and the RTDE loop against the simulator",
	}
	cmd.AddCommand(newBenchPlannerCmd(), newBenchRTDECmd())
	return cmd
}

func newBenchPlannerCmd() *cobra.Command {
	var (
		process, model string
		plannersList   []string
		rings          []int
		seed           int64
		maxDecisions   int
		timeout        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "planner --process P --model M [--planners lsg-dqn,greedy,bfs] [--rings 2,3,4]",
		Short: "Plan the same model with several planners and ring sizes; report time, decisions/s and metrics side by side",
		Long: `planner runs each planner (for each ring size, where it applies) on MODEL with the same process
and seed, measuring wall time, CPU-independent decision counts and the process metrics with the
same code that 'plan' and 'evaluate' use. The first planner in --planners is the baseline of the
ratio columns. --max-decisions stops each run early (partial plans are marked), so expensive
planners (bfs at n = 6) can be sampled.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if process == "" || model == "" {
				return usagef("--process and --model are required")
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			proc, err := planners.NewProcess(process, cfg)
			if err != nil {
				return usageError{err}
			}
			g, err := proc.Load(model)
			if err != nil {
				return err
			}
			type row struct {
				name      string
				ring      int
				elapsed   time.Duration
				first     time.Duration // until the first move was emitted
				decisions int
				complete  bool
				metrics   map[string]float64
				err       error
			}
			// every run is set up (and its settings validated) before the
			// first one starts, so a bad name or ring fails at once
			type run struct {
				name string
				ring int
				pl   planners.Planner
			}
			if len(plannersList) == 0 {
				return usagef("--planners lists no planner")
			}
			if maxDecisions < 0 {
				return usagef("--max-decisions must be >= 0 (0 = complete), got %d", maxDecisions)
			}
			if timeout <= 0 {
				return usagef("--timeout must be > 0, got %v", timeout)
			}
			var runs []run
			for _, name := range plannersList {
				rs := rings
				if name == "greedy" || name == "random" || !usesRing(name) {
					rs = []int{0}
				} else if len(rs) == 0 {
					return usagef("--rings lists no ring size for %s", name)
				}
				for _, n := range rs {
					c := cfg
					c.Planner = c.PlannerFor(process)
					c.Planner.Name, c.Planner.Seed = name, seed
					if n != 0 {
						c.Planner.Ring = n
					} else if usesRing(name) {
						return usagef("--rings: ring size 0 for %s (must be >= 1)", name)
					}
					if err := c.Validate(); err != nil {
						return usageError{fmt.Errorf("%s n=%d: %w", name, n, err)}
					}
					pl, err := planners.NewPlanner(name, planners.Options{Config: c.Planner, Process: proc, Log: cmd.ErrOrStderr()})
					if err != nil {
						return usageError{err}
					}
					runs = append(runs, run{name: name, ring: n, pl: pl})
				}
			}
			var rows []row
			out := cmd.OutOrStdout()
			for _, ru := range runs {
				name, n, pl := ru.name, ru.ring, ru.pl
				sess, err := proc.NewSession(g)
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
				dec := 0
				start := time.Now()
				var first time.Duration
				perr := pl.Plan(ctx, sess, func(planners.Move) error {
					if dec == 0 {
						first = time.Since(start)
					}
					dec++
					if maxDecisions > 0 && dec >= maxDecisions {
						return errStopBench
					}
					return nil
				})
				el := time.Since(start)
				cancel()
				r := row{name: name, ring: n, elapsed: el, first: first, decisions: dec, complete: sess.Done(), metrics: sess.Metrics()}
				if perr != nil && perr != errStopBench && !strings.Contains(perr.Error(), errStopBench.Error()) {
					r.err = perr
				}
				rows = append(rows, r)
				fmt.Fprintf(cmd.ErrOrStderr(), "  %s n=%d: %d moves in %v\n", name, n, dec, el.Round(time.Millisecond))
			}
			keys := benchMetricKeys(process)
			tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "# %s on %s (%d nodes, %d edges), seed %d, %s/%s, %d CPUs\n", process, g.Name, g.NumNodes(), g.NumEdges(), seed, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
			fmt.Fprintf(tw, "planner\tn\tmoves\tcomplete\ttime_s\tfirst_move_s\tµs/move\ttime/move ratio\t%s\n", strings.Join(keys, "\t"))
			base := rows[0]
			for _, r := range rows {
				perMove := 0.0
				if r.decisions > 0 {
					perMove = float64(r.elapsed.Microseconds()) / float64(r.decisions)
				}
				ratio := "-"
				if base.decisions > 0 && r.decisions > 0 {
					ratio = fmt.Sprintf("%.2f", (float64(r.elapsed)/float64(r.decisions))/(float64(base.elapsed)/float64(base.decisions)))
				}
				vals := make([]string, len(keys))
				for i, k := range keys {
					if v, ok := r.metrics[k]; ok {
						vals[i] = fmt.Sprintf("%.4g", v)
						if bv, ok := base.metrics[k]; ok && bv != 0 && r.name != base.name {
							vals[i] += fmt.Sprintf(" (%.3f×)", v/bv)
						}
					} else {
						vals[i] = "-"
					}
				}
				comp := fmt.Sprint(r.complete)
				if r.err != nil {
					comp = "error: " + r.err.Error()
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.2f\t%.3f\t%.0f\t%s\t%s\n", r.name, r.ring, r.decisions, comp, r.elapsed.Seconds(), r.first.Seconds(), perMove, ratio, strings.Join(vals, "\t"))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&process, "process", "", "process")
	f.StringVar(&model, "model", "", "model file")
	f.StringSliceVar(&plannersList, "planners", []string{"greedy", "lsg-dqn"}, "planners to compare; the first is the baseline")
	f.IntSliceVar(&rings, "rings", []int{4}, "LSG ring sizes for ring-based planners")
	f.Int64Var(&seed, "seed", 1, "seed")
	f.IntVar(&maxDecisions, "max-decisions", 0, "stop each run after this many moves (0 = complete)")
	f.DurationVar(&timeout, "timeout", 2*time.Hour, "give up on a run after this long")
	return cmd
}

var errStopBench = fmt.Errorf("bench: move budget reached")

func usesRing(name string) bool {
	return name == "lsg-dqn" || name == "bfs" || name == "bfs-exhaustive"
}

// benchMetricKeys are the columns shown for each process.
func benchMetricKeys(process string) []string {
	switch process {
	case "wireframe":
		return []string{"max_displacement_mm", "final_displacement_mm", "collisions", "unreachable", "jumps", "travel_mm"}
	case "ccf":
		return []string{"sharp_turns", "turns_over_90", "length_mm", "retraversed_edges"}
	case "lpbf":
		return []string{"hot_area_fraction", "peak_temperature", "residual_heat_p95", "temperature_std", "jumps", "scan_time_s"}
	}
	return []string{"total_reward", "jumps", "travel_mm", "jump_mm"}
}

func newBenchRTDECmd() *cobra.Command {
	var (
		addr     string
		hz       float64
		duration time.Duration
	)
	cmd := &cobra.Command{
		Use:   "rtde [--addr HOST:30004] [--hz 500] [--duration 60s]",
		Short: "Measure the RTDE receive loop: period jitter p50/p99/max and dropped packages",
		Long: `rtde streams the controller timestamp at --hz for --duration and reports the arrival-period
jitter and packages the controller skipped. Without --addr it starts the built-in UR5e simulator
on loopback (real-time pacing) and measures against it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if addr == "" {
				sim, err := ursim.Start(ursim.Options{RTDEAddr: "127.0.0.1:0", DashboardAddr: "-", ScriptAddr: "-", Ready: true})
				if err != nil {
					return err
				}
				defer sim.Close()
				addr = sim.RTDEAddr()
				fmt.Fprintf(os.Stderr, "measuring against the built-in simulator at %s for %v\n", addr, duration)
			}
			rep, err := rtde.MeasureJitter(cmd.Context(), addr, hz, duration)
			if err != nil {
				return err
			}
			printJitter(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "RTDE address of a controller (default: start the simulator)")
	cmd.Flags().Float64Var(&hz, "hz", 500, "output frequency")
	cmd.Flags().DurationVar(&duration, "duration", 60*time.Second, "measurement time")
	return cmd
}

func printJitter(w io.Writer, r rtde.JitterReport) {
	nominal := time.Duration(float64(time.Second) / r.FrequencyHz)
	fmt.Fprintf(w, "RTDE %.0f Hz for %v: %d packages, mean period %v (nominal %v, ratio %.6f)\n",
		r.FrequencyHz, r.Duration.Round(time.Millisecond), r.Packages, r.MeanPeriod, nominal, float64(r.MeanPeriod)/float64(nominal))
	fmt.Fprintf(w, "  jitter p50 %v  p99 %v  max %v\n  dropped by controller %d, missed by subscriber %d\n",
		r.JitterP50, r.JitterP99, r.JitterMax, r.Dropped, r.SubscriberDrops)
}
