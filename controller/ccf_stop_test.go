package controller

import (
	"testing"
	"time"

	"fabcell/robot/extruder/boardsim"
)

// TestCCFStopSwitchesHeatersOff: a CCF job that stops for good without
// reaching End — cancelled during the heat-up, or mid-part — leaves both
// nozzle heaters and the bed off on the board (they used to stay at their
// set-points after a cancel or abort: only End switched them off).
func TestCCFStopSwitchesHeatersOff(t *testing.T) {
	for _, tc := range []struct {
		name      string
		timeScale float64
		ready     func(m *Manager, b *boardsim.Board) bool
	}{
		{"during heat-up", 1, func(m *Manager, b *boardsim.Board) bool {
			info, _ := m.Job("ccf-stop")
			return info.StepsDone == 0 && b.Snapshot().TargetsC[0] > 0
		}},
		{"mid-part", 100, func(m *Manager, b *boardsim.Board) bool {
			info, _ := m.Job("ccf-stop")
			return info.StepsDone >= 3
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cell := testCell(t)
			cell.Controller.TimeScale = tc.timeScale
			cell.CCF.Layers = 1
			cell.CCF.InfillSpacingMM = 5
			ctx, io := dryCell(t, cell, 3*time.Minute)
			m := autoManager(t, cell, io)
			submit(t, m, JobSpec{ID: "ccf-stop", Process: "ccf", Model: absPath(t, "testdata/NodeGrid_CCF.txt")})
			var b *boardsim.Board // started with the job
			waitFor(t, func() bool {
				if b == nil {
					d, ok := io.Simulator("boardsim")
					if !ok {
						return false
					}
					b = d.(*boardsim.Board)
				}
				return tc.ready(m, b)
			})
			heated := b.Snapshot().TargetsC
			if err := m.Cancel("ccf-stop", "order withdrawn"); err != nil {
				t.Fatal(err)
			}
			info := waitEnded(t, ctx, m, "ccf-stop")
			if info.State != Aborted {
				t.Fatalf("state %s: %s", info.State, info.Reason)
			}
			// a job cancelled before its first step is reported aborted at
			// once; its runner switches the heaters off as it unwinds
			deadline := time.Now().Add(20 * time.Second)
			for {
				on := -1
				for i, c := range b.Snapshot().TargetsC {
					if c != 0 {
						on = i
					}
				}
				if on < 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("heater %d left at %v °C after the cancel (set-points when cancelled %v)", on, b.Snapshot().TargetsC[on], heated)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
