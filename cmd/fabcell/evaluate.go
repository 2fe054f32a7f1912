package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"fabcell/planners"
	"fabcell/planners/graph"

	"github.com/spf13/cobra"
)

func init() { addCommand("evaluate", newEvaluateCmd) }

func newEvaluateCmd() *cobra.Command {
	var process, model, plan, out string
	cmd := &cobra.Command{
		Use:   "evaluate --process P --model M --plan FILE",
		Short: "Recompute the metrics of any node order with the same code `plan` uses",
		Long: `evaluate replays a node visiting order on MODEL and prints the process metrics. FILE may be
a fabcell plan.json, an RL3DP result ("Path: [i, j, ...]") or plain text with one node index
per line. Consecutive nodes joined by a still-printable edge are prints, by an already
printed edge travels, otherwise jumps — so orders from any planner compare side by side.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if process == "" || model == "" || plan == "" {
				return usagef("--process, --model and --plan are required (processes: %s)", strings.Join(planners.ProcessNames(), ", "))
			}
			if out != "" {
				if err := checkOutputs(model, [][2]string{{"--out", out}}); err != nil {
					return err
				}
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
			order, recorded, err := planners.ReadOrder(plan)
			if err != nil {
				return err
			}
			if len(recorded) > 0 && !slices.Equal(planners.PathOf(recorded), order) {
				return fmt.Errorf("%s: plan JSON is inconsistent: its path (%d nodes) is not the node sequence of its moves (%d moves)", plan, len(order), len(recorded))
			}
			if err := checkPlanHeader(plan, process, g); err != nil {
				return err
			}
			sess, err := proc.NewSession(g)
			if err != nil {
				return err
			}
			metrics, moves, err := planners.Evaluate(sess, order)
			if err != nil {
				return fmt.Errorf("%s: %w", plan, err)
			}
			res := &planners.Result{Process: process, Planner: "evaluate:" + plan, Model: model, Graph: g, Session: sess, Moves: moves, Metrics: metrics, Config: cfg}
			w := cmd.OutOrStdout()
			if out == "-" {
				w = cmd.ErrOrStderr() // stdout carries the plan JSON
			}
			printMetrics(w, res)
			if out != "" {
				return writeJSON(out, planFile(res, 0, 0))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&process, "process", "", "process: "+strings.Join(planners.ProcessNames(), ", "))
	cmd.Flags().StringVar(&model, "model", "", "model file")
	cmd.Flags().StringVar(&plan, "plan", "", "plan.json, RL3DP result or one index per line")
	cmd.Flags().StringVar(&out, "out", "", "also write a plan JSON with the recomputed metrics (- = stdout; the metrics then go to stderr)")
	return cmd
}

// checkPlanHeader refuses a fabcell plan JSON written for another process or
// for a model with another node count: its node indices would name other
// nodes, and the metrics would silently describe a different toolpath.
// RL3DP results and index lists carry no header and are not checked.
func checkPlanHeader(path, process string, g *graph.Graph) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read plan: %w", err)
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return nil
	}
	var h struct {
		Process string `json:"process"`
		Model   string `json:"model"`
		Nodes   *int   `json:"nodes"`
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return fmt.Errorf("%s: plan JSON: %v", path, err)
	}
	if h.Process != "" && h.Process != process {
		return fmt.Errorf("%s: plan is for process %s, not %s", path, h.Process, process)
	}
	if h.Nodes != nil && *h.Nodes != g.NumNodes() {
		return fmt.Errorf("%s: plan was made on a model with %d nodes (%s), but %s has %d", path, *h.Nodes, h.Model, g.Name, g.NumNodes())
	}
	return nil
}
