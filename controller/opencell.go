package controller

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"fabcell/config"
	"fabcell/safety"
	"fabcell/simulation/ursim"
)

// OpenCell connects to the cell's devices. In a dry run it first starts
// fabcell's simulators on loopback (the UR5e controller simulator, and
// the other process simulators as their adapters need them) and connects
// the same clients to them. A real run connects to robot.host and refuses
// to start unless the robot is in Remote Control with safety NORMAL.
func OpenCell(ctx context.Context, cell config.Cell, dryRun bool, log *slog.Logger) (*CellIO, error) {
	if log == nil {
		log = slog.Default()
	}
	io := NewCellIO(dryRun)
	// The LPBF machine is opened when an LPBF job first needs it. In a dry
	// run the caller must have started the embedded broker (mqtt.broker
	// empty → mqtt.embedded_addr).
	io.SetLazy("lpbf", func() (any, func() error, error) {
		octx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		link, closer, err := OpenLPBF(octx, cell, dryRun, log)
		if err != nil {
			return nil, nil, err
		}
		return link, closer, nil
	})
	// The dual-nozzle head's board is opened when a CCF job first needs it
	// (the board simulator on a pseudo-terminal in a dry run).
	io.SetLazy("extruder", func() (any, func() error, error) {
		octx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		drv, board, closer, err := OpenExtruder(octx, cell, dryRun, log)
		if err != nil {
			return nil, nil, err
		}
		if board != nil {
			io.sims.Store("boardsim", board)
		}
		return drv, closer, nil
	})
	host, rp, dp, sp := cell.Robot.Host, cell.Robot.RTDEPort, cell.Robot.DashboardPort, cell.Robot.ScriptPort
	if dryRun {
		sim, err := ursim.Start(ursim.Options{
			RTDEAddr: "127.0.0.1:0", DashboardAddr: "127.0.0.1:0", ScriptAddr: "127.0.0.1:0",
			TimeScale: cell.Controller.TimeScale, Ready: true, InitialQRad: cell.Robot.HomeJointsRad,
			JointMinRad: &cell.Safety.JointMinRad, JointMaxRad: &cell.Safety.JointMaxRad,
			JointSpeedLimitRadS: cell.Safety.JointSpeedRadS, Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("start UR5e simulator: %w", err)
		}
		io.Set("ursim", sim, sim.Close)
		host = "127.0.0.1"
		rp, dp, sp = port(sim.RTDEAddr()), port(sim.DashboardAddr()), port(sim.ScriptAddr())
	}
	if host == "" {
		log.Warn("robot.host is empty: no robot connection (jobs needing the robot will fail; use --dry-run for the simulator)")
		return io, nil
	}
	link, err := DialRobot(ctx, cell.Robot, host, rp, dp, sp, log)
	if err != nil {
		io.Close()
		return nil, err
	}
	io.Set("robot", link, link.Close)
	if !dryRun && !cell.Robot.AllowLocalScript {
		remote, err := link.Dash.IsInRemoteControl(ctx)
		if err != nil {
			io.Close()
			return nil, fmt.Errorf("robot: is in remote control: %w", err)
		}
		st, _ := link.Status()
		if err := safety.New(cell).ReadyToStart(st, remote); err != nil {
			io.Close()
			return nil, fmt.Errorf("robot not ready: %w", err)
		}
	}
	return io, nil
}

func port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}
