package main

import (
	"fmt"
	"strings"

	"fabcell/planners"

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
			order, _, err := planners.ReadOrder(plan)
			if err != nil {
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
			if out != "" {
				return writeJSON(out, planners.NewPlanFile(res, 0, 0))
			}
			printMetrics(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().StringVar(&process, "process", "", "process: "+strings.Join(planners.ProcessNames(), ", "))
	cmd.Flags().StringVar(&model, "model", "", "model file")
	cmd.Flags().StringVar(&plan, "plan", "", "plan.json, RL3DP result or one index per line")
	cmd.Flags().StringVar(&out, "out", "", "also write a plan JSON with the recomputed metrics")
	return cmd
}
