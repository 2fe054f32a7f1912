package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"fabcell/config"
	"fabcell/controller"
	"fabcell/controller/mes"

	"github.com/spf13/cobra"
)

func init() { addCommand("run", newRunCmd) }

func newRunCmd() *cobra.Command {
	var (
		dryRun    bool
		timeScale float64
		maxSteps  int
		quiet     bool
		verbose   bool
	)
	cmd := &cobra.Command{
		Use:   "run [--dry-run] JOB.yaml",
		Short: "Run a job: plan on the fly, check every step, dispatch to the cell (or its simulators)",
		Long: `run executes a job file (process, model, planner; see config/examples/jobs/). The planner runs
ahead of execution into a bounded look-ahead buffer; every move is checked against simulation and
the safety gate before it is dispatched; every acknowledged step is journaled (fsync) so that a
second run of the same job resumes where it stopped. --dry-run starts fabcell's own simulators
(UR5e controller on loopback, dual-nozzle board on a pseudo-terminal, LPBF machine on the
embedded MQTT broker). Without --dry-run, fabcell connects to the robot in the cell
configuration and refuses to start unless it is in Remote Control with safety NORMAL.

A run report (JSON + HTML with PNG plots) is written to controller.report_dir/<job id>/.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := controller.LoadJobSpec(args[0])
			if err != nil {
				return usageError{err}
			}
			if maxSteps > 0 {
				spec.MaxSteps = maxSteps
			}
			cell, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if p := spec.CellPath(); p != "" && !cmd.Flags().Changed("config") {
				if cell, err = config.Load(p); err != nil {
					return err
				}
				spec.Cell = ""
			}
			if cmd.Flags().Changed("time-scale") {
				cell.Controller.TimeScale = timeScale
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			ctx := cmd.Context()
			if cell.MQTT.Broker == "" && spec.Process == "lpbf" {
				// The LPBF machine link runs over MQTT: start the embedded
				// broker (on a free loopback port in a dry run, where it is
				// private to this process).
				if dryRun {
					cell.MQTT.EmbeddedAddr = "127.0.0.1:0"
				}
				b, err := mes.StartBroker(cell.MQTT, log)
				if err != nil {
					return err
				}
				defer b.Close()
				cell.MQTT.EmbeddedAddr = b.Addr()
			}
			// Connections live until the job is finished or safely stopped,
			// not until the first Ctrl-C: open them on a background context.
			io, err := controller.OpenCell(context.WithoutCancel(ctx), cell, dryRun, log)
			if err != nil {
				return err
			}
			defer io.Close()
			m := controller.NewManager(controller.Options{Cell: cell, IO: io, AutoStart: true, Log: log})
			defer m.Close()
			events, unsub := m.Subscribe(1024)
			defer unsub()
			if _, existed, err := m.Submit(spec); err != nil {
				return err
			} else if existed {
				return fmt.Errorf("job %s already exists", spec.ID)
			}
			bar := newProgress(fmt.Sprintf("%s %s", spec.ID, spec.Process))
			if quiet {
				bar = nil
			}
			done := make(chan controller.JobInfo, 1)
			go func() {
				info, _ := m.Wait(context.Background(), spec.ID)
				done <- info
			}()
			out := cmd.ErrOrStderr()
			lastState := controller.State("")
			for {
				select {
				case <-ctx.Done():
					// The first signal stops between steps (the step in
					// flight is finished and acknowledged, so the journal
					// resumes exactly); a second one interrupts that step.
					again := make(chan os.Signal, 1)
					signal.Notify(again, os.Interrupt, syscall.SIGTERM)
					defer signal.Stop(again)
					fmt.Fprintln(out, "\ninterrupted: finishing the step in flight and stopping at a safe point (interrupt again to stop at once); run the same job again to resume from the journal")
					m.Stop(spec.ID, "interrupted by operator (signal)")
					var info controller.JobInfo
					select {
					case info = <-done:
					case <-again:
						fmt.Fprintln(out, "interrupted again: stopping the step in flight")
						m.Cancel(spec.ID, "interrupted by operator (second signal, step in flight interrupted)")
						info = <-done
					}
					bar.Done()
					return fmt.Errorf("job %s %s: %s", info.ID, info.State, info.Reason)
				case info := <-done:
					bar.Update(int(info.Progress*1000), 1000)
					bar.Done()
					printRunSummary(out, info)
					if info.State != controller.Completed {
						return fmt.Errorf("job %s %s: %s", info.ID, info.State, info.Reason)
					}
					return nil
				case e, ok := <-events:
					if !ok {
						continue
					}
					if e.Info != nil {
						if bar != nil {
							bar.SetExtra(fmt.Sprintf("step %d lead %d %s", e.Info.StepsDone, e.Info.PlannerLead, e.Info.State))
							bar.Update(int(e.Info.Progress*1000), 1000)
						}
						if e.Info.State != lastState {
							lastState = e.Info.State
							if bar == nil || !bar.tty {
								fmt.Fprintf(out, "%s %s: %s %s\n", time.Now().Format("15:04:05"), e.Info.ID, e.Info.State, e.Info.Reason)
							}
						}
					}
					if e.Kind == "error" && e.Message != "" {
						fmt.Fprintf(out, "\n%s: %s\n", e.JobID, e.Message)
					}
				}
			}
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "run on fabcell's built-in simulators (no hardware)")
	cmd.Flags().Float64Var(&timeScale, "time-scale", 1, "simulated seconds per wall-clock second in a dry run (controller.time_scale)")
	cmd.Flags().IntVar(&maxSteps, "max-steps", 0, "stop after this many steps of this run (0 = all); run again to continue from the journal")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log connection and pipeline events")
	return cmd
}

func printRunSummary(w interface{ Write([]byte) (int, error) }, info controller.JobInfo) {
	fmt.Fprintf(w, "job %s: %s", info.ID, info.State)
	if info.Reason != "" {
		fmt.Fprintf(w, " (%s)", info.Reason)
	}
	fmt.Fprintf(w, "\n  steps %d, moves %d, planner lead at end %d, robot waited for the planner %d times, pauses %d\n",
		info.StepsDone, info.MovesDone, info.PlannerLead, info.Starved, info.Pauses)
	if info.Resumed {
		fmt.Fprintln(w, "  resumed from the journal")
	}
	for _, k := range sortedMetricKeys(info.Metrics) {
		fmt.Fprintf(w, "  %-28s %g\n", k, info.Metrics[k])
	}
	if info.Report != "" {
		fmt.Fprintf(w, "  report: %s\n", filepath.Join(filepath.Dir(info.Report), "report.html"))
	}
}

func sortedMetricKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
