package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"fabcell/robot/ur/rtde"
	"fabcell/simulation/ursim"

	"github.com/spf13/cobra"
)

func init() { addCommand("sim", newSimCmd) }

func newSimCmd() *cobra.Command {
	var (
		host, rtdeAddr, dashAddr, scriptAddr, programDir string
		timeScale                                        float64
		ready, local                                     bool
		measure                                          time.Duration
		verbose                                          bool
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the built-in UR5e controller simulator (RTDE 30004, dashboard 29999, secondary 30002)",
		Long: `sim starts fabcell's UR5e controller simulator and prints the addresses it serves:
RTDE (robot.rtde_port), the Dashboard server (robot.dashboard_port) and the secondary
interface that accepts URScript (robot.script_port), on 127.0.0.1 unless --host or the
address flags say otherwise. Any client of the real controller can connect, UR's own
RTDE Python client included. It runs until interrupted.

The robot starts powered off like a real controller; use the dashboard ("power on",
"brake release") or --ready. --time-scale runs controller time faster or slower than the
wall clock. --measure D also runs an RTDE client against the simulator for D and prints
the receive jitter and dropped packages.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			addr := func(flag, val string, port int) string {
				if cmd.Flags().Changed(flag) {
					return val
				}
				return net.JoinHostPort(host, strconv.Itoa(port))
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			sim, err := ursim.Start(ursim.Options{
				RTDEAddr:      addr("rtde-addr", rtdeAddr, cfg.Robot.RTDEPort),
				DashboardAddr: addr("dashboard-addr", dashAddr, cfg.Robot.DashboardPort),
				ScriptAddr:    addr("script-addr", scriptAddr, cfg.Robot.ScriptPort),
				TimeScale:     timeScale, Ready: ready, LocalMode: local, ProgramDir: programDir,
				InitialQRad: cfg.Robot.HomeJointsRad, Logger: logger,
			})
			if err != nil {
				return err
			}
			defer sim.Close()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "fabcell UR5e simulator (time scale %g)\n", timeScale)
			fmt.Fprintf(out, "rtde       %s\n", sim.RTDEAddr())
			fmt.Fprintf(out, "dashboard  %s\n", sim.DashboardAddr())
			fmt.Fprintf(out, "secondary  %s\n", sim.ScriptAddr())
			if measure > 0 {
				rep, err := rtde.MeasureJitter(cmd.Context(), sim.RTDEAddr(), rtde.MaxFrequencyHz, measure)
				if err != nil {
					return err
				}
				fmt.Fprintln(out, rep)
				return nil
			}
			<-cmd.Context().Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&host, "host", "127.0.0.1", "listen host for the default addresses")
	f.StringVar(&rtdeAddr, "rtde-addr", "", "RTDE listen address (default host:robot.rtde_port)")
	f.StringVar(&dashAddr, "dashboard-addr", "", "dashboard listen address (default host:robot.dashboard_port)")
	f.StringVar(&scriptAddr, "script-addr", "", "secondary/script listen address (default host:robot.script_port)")
	f.Float64Var(&timeScale, "time-scale", 1, "controller seconds per wall-clock second, (0, 100]")
	f.BoolVar(&ready, "ready", false, "start powered on with brakes released")
	f.BoolVar(&local, "local", false, "start the pendant in Local control (dashboard and scripts refused)")
	f.StringVar(&programDir, "program-dir", "", "directory of URScript .script files for dashboard load")
	f.DurationVar(&measure, "measure", 0, "measure RTDE receive jitter for this long, print it and exit")
	f.BoolVar(&verbose, "verbose", false, "log connections and program events")
	return cmd
}
