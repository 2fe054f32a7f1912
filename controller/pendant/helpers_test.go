package pendant

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/controller"
	_ "fabcell/planners/baseline"
)

func quietLog() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// model returns the absolute path of a shipped test model.
func model(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("../../planners/graph/testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("test model: %v", err)
	}
	return p
}

// dryRun starts a Manager on a dry-run cell (the UR5e simulator over TCP,
// via controller.OpenCell) and a Hub; jobs wait for a start command.
func dryRun(t *testing.T) (*controller.Manager, *Hub, config.Cell) {
	t.Helper()
	cell := config.Defaults()
	dir := t.TempDir()
	cell.Controller.JournalDir = filepath.Join(dir, "journal")
	cell.Controller.ReportDir = filepath.Join(dir, "reports")
	cell.Controller.TimeScale = 50
	cell.Planner.Name = "greedy"
	cell.Robot.PrintSpeedMMS = 20
	cell.MQTT.TelemetryHz = 20
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cio, err := controller.OpenCell(ctx, cell, true, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	mgr := controller.NewManager(controller.Options{Cell: cell, IO: cio, Log: quietLog()})
	hub := NewHub(mgr)
	t.Cleanup(func() {
		mgr.Close()
		hub.Close()
		cio.Close()
	})
	return mgr, hub, cell
}

func waitJob(t *testing.T, mgr *controller.Manager, id string, timeout time.Duration, cond func(controller.JobInfo) bool) controller.JobInfo {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		info, err := mgr.Job(id)
		if err == nil && cond(info) {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: condition not reached (state %s: %s)", id, info.State, info.Reason)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
