package controller

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/processes/ccf/layerprog"
	"fabcell/robot/extruder/boardsim"
	"fabcell/simulation/ursim"
)

// doWatch records rising edges of one digital output bit over RTDE.
type doWatch struct {
	mu    sync.Mutex
	rises int
	on    bool // the bit's last value
	stop  func()
}

func (w *doWatch) isOn() bool { w.mu.Lock(); defer w.mu.Unlock(); return w.on }

func watchDO(t *testing.T, io *CellIO, bit uint) *doWatch {
	t.Helper()
	link, err := io.Robot()
	if err != nil {
		t.Fatal(err)
	}
	sub := link.RTDE.Subscribe(8192)
	w := &doWatch{}
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		prev := false
		for {
			select {
			case f, ok := <-sub.C():
				if !ok {
					return // the cell closed the RTDE client
				}
				if b, err := f.Uint64("actual_digital_output_bits"); err == nil {
					on := b&(1<<bit) != 0
					w.mu.Lock()
					if on && !prev {
						w.rises++
					}
					w.on = on
					w.mu.Unlock()
					prev = on
				}
			case <-quit:
				return
			}
		}
	}()
	w.stop = func() { close(quit); <-done; sub.Close() }
	return w
}

func absPath(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// printedOnce checks that every print move in the journal was
// acknowledged exactly once and returns how many edges were printed.
func printedOnce(t *testing.T, cell config.Cell, id string) map[int]int {
	t.Helper()
	rec, err := ReadJournal(filepath.Join(cell.Controller.JournalDir, id+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.InFlight != nil {
		t.Fatalf("step %d still in flight", rec.InFlight.Seq)
	}
	printed := map[int]int{}
	for _, mv := range rec.Acked {
		if mv.Kind == planners.Print {
			printed[mv.Edge]++
		}
	}
	for e, n := range printed {
		if n != 1 {
			t.Fatalf("edge %d acknowledged %d times", e, n)
		}
	}
	return printed
}

// TestDryRunWireframeOnSimulator prints a small frame on the UR5e
// simulator: every printable strut is checked, dispatched and
// acknowledged exactly once, the extruder output switches on once per
// strut, the checked sag stays within the limit, and the strut the head
// cannot reach is reported in the final reason.
func TestDryRunWireframeOnSimulator(t *testing.T) {
	cell := testCell(t)
	cell.Controller.TimeScale = 100
	ctx, io := dryCell(t, cell, 3*time.Minute)
	w := watchDO(t, io, 16+uint(cell.Wireframe.ExtrudeToolOutput))
	m := autoManager(t, cell, io)
	spec := JobSpec{ID: "wf", Process: "wireframe", Model: absPath(t, "../processes/wireframe/testdata/simple_frame.json")}
	submit(t, m, spec)
	info := waitEnded(t, ctx, m, "wf")
	w.stop()
	if info.State != Completed {
		t.Fatalf("state %s: %s", info.State, info.Reason)
	}
	printed := printedOnce(t, cell, "wf")
	// simple_frame has 19 struts; one cannot be reached by the head
	// (processes/wireframe tests), and the reason must say so.
	if len(printed) != 18 || !strings.Contains(info.Reason, "1 unreachable") {
		t.Fatalf("printed %d struts, reason %q", len(printed), info.Reason)
	}
	if w.rises != len(printed) {
		t.Fatalf("extruder switched on %d times for %d struts", w.rises, len(printed))
	}
	rep := readReport(t, cell, "wf")
	if d := rep.Metrics["checked_max_displacement_mm"]; !(d > 0 && d <= cell.Safety.MaxDisplacementMM) {
		t.Fatalf("checked max displacement %v mm (limit %v)", d, cell.Safety.MaxDisplacementMM)
	}
	if rep.Metrics["collisions"] != 0 {
		t.Fatalf("collisions %v", rep.Metrics["collisions"])
	}
}

// TestWireframeRefusalStopsDispatch: with a sag limit no cantilevered
// strut can meet, the first such strut is refused before dispatch with
// the rule named, and it never reaches the robot.
func TestWireframeRefusalStopsDispatch(t *testing.T) {
	cell := testCell(t)
	cell.Controller.TimeScale = 100
	cell.Safety.MaxDisplacementMM = 1e-9
	ctx, io := dryCell(t, cell, 2*time.Minute)
	w := watchDO(t, io, 16+uint(cell.Wireframe.ExtrudeToolOutput))
	m := autoManager(t, cell, io)
	spec := JobSpec{ID: "wf-refused", Process: "wireframe", Model: absPath(t, "../processes/wireframe/testdata/simple_frame.json")}
	submit(t, m, spec)
	info := waitEnded(t, ctx, m, "wf-refused")
	w.stop()
	if info.State != Failed || !strings.Contains(info.Reason, "fea_displacement") || !strings.Contains(info.Reason, "refused") {
		t.Fatalf("state %s reason %q", info.State, info.Reason)
	}
	rec, err := ReadJournal(filepath.Join(cell.Controller.JournalDir, "wf-refused.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// Only struts with both ends on the bed (zero sag) may have been
	// printed; each of them switched the extruder on once.
	n := 0
	for _, mv := range rec.Acked {
		if mv.Kind == planners.Print {
			n++
		}
	}
	if rec.InFlight != nil || w.rises != n {
		t.Fatalf("acked prints %d, extruder rises %d, in flight %v", n, w.rises, rec.InFlight)
	}
}

// TestWireframeProtectiveStopPausesAndResumes: a protective stop in the
// middle of a job pauses it with the reason; after the operator unlocks
// the stop and presses play (dashboard), the job resumes and completes
// with every strut printed exactly once.
func TestWireframeProtectiveStopPausesAndResumes(t *testing.T) {
	cell := testCell(t)
	cell.Controller.TimeScale = 20
	ctx, io := dryCell(t, cell, 3*time.Minute)
	m := autoManager(t, cell, io)
	spec := JobSpec{ID: "wf-stop", Process: "wireframe", Model: absPath(t, "../processes/wireframe/testdata/simple_frame.json")}
	submit(t, m, spec)
	d, _ := io.Device("ursim")
	sim := d.(*ursim.Sim)
	waitFor(t, func() bool {
		info, _ := m.Job("wf-stop")
		return info.StepsDone >= 4
	})
	sim.ProtectiveStop("test: collision detected")
	waitFor(t, func() bool {
		info, _ := m.Job("wf-stop")
		return info.State == Paused
	})
	info, _ := m.Job("wf-stop")
	if !strings.Contains(strings.ToUpper(info.Reason), "PROTECTIVE") {
		t.Fatalf("paused with reason %q", info.Reason)
	}
	link, _ := io.Robot()
	// UR refuses the unlock until 5 s after the stop (as the real
	// controller does); the operator retries.
	for {
		err := link.Dash.UnlockProtectiveStop(ctx)
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "cannot be unlocked yet") || ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := link.Dash.Play(ctx); err != nil {
		t.Fatal(err)
	}
	info = waitEnded(t, ctx, m, "wf-stop")
	if info.State != Completed {
		t.Fatalf("state %s: %s", info.State, info.Reason)
	}
	if p := printedOnce(t, cell, "wf-stop"); len(p) != 18 {
		t.Fatalf("printed %d struts", len(p))
	}
	rep := readReport(t, cell, "wf-stop")
	if rep.Metrics["pauses"] < 1 {
		t.Fatalf("pauses %v", rep.Metrics["pauses"])
	}
}

// TestDryRunCCFOnSimulator runs a CCF part (one matrix layer + the fibre
// layer on a 4×4 lattice) on the UR5e simulator and the head's board
// simulator over a pseudo-terminal: the nozzles are heated before any
// extrusion, the stroke is one continuous fibre covering every edge,
// the board pushed exactly the filament the program asks for per tool,
// and the fibre was cut.
func TestDryRunCCFOnSimulator(t *testing.T) {
	cell := testCell(t)
	cell.Controller.TimeScale = 100
	cell.CCF.Layers = 1
	cell.CCF.InfillSpacingMM = 5
	ctx, io := dryCell(t, cell, 3*time.Minute)
	m := autoManager(t, cell, io)
	spec := JobSpec{ID: "ccf", Process: "ccf", Model: absPath(t, "testdata/NodeGrid_CCF.txt")}
	submit(t, m, spec)
	info := waitEnded(t, ctx, m, "ccf")
	if info.State != Completed {
		t.Fatalf("state %s: %s", info.State, info.Reason)
	}
	rep := readReport(t, cell, "ccf")
	if rep.Metrics["complete"] != 1 || rep.Metrics["one_stroke"] != 1 || rep.Metrics["jumps"] != 0 {
		t.Fatalf("metrics %v", rep.Metrics)
	}
	d, ok := io.Simulator("boardsim")
	if !ok {
		t.Fatal("no board simulator")
	}
	b := d.(*boardsim.Board)
	snap := b.Snapshot()
	fiber := rep.Metrics["fiber_dispatched_mm"] * cell.CCF.FiberFeedRatio
	if math.Abs(snap.ExtrudedMM[1]-fiber) > 1e-3*fiber+1e-3 {
		t.Fatalf("T1 pushed %.4f mm of fibre filament, the stroke needs %.4f", snap.ExtrudedMM[1], fiber)
	}
	if fiber < rep.Metrics["length_mm"]*cell.CCF.FiberFeedRatio-1e-6 {
		t.Fatalf("fibre %.3f mm shorter than the stroke %.3f mm", fiber, rep.Metrics["length_mm"])
	}
	mat := rep.Metrics["matrix_mm"] * layerprog.MatrixEPerMM(cell.CCF, cell.CCF.LayerHeightMM)
	if math.Abs(snap.ExtrudedMM[0]-mat) > 1e-3*mat+1e-3 || mat <= 0 {
		t.Fatalf("T0 pushed %.4f mm of matrix filament, the program needs %.4f", snap.ExtrudedMM[0], mat)
	}
	var heatedBeforeExtrusion, cut bool
	waited := map[string]bool{}
	for _, e := range b.Executed() {
		c := strings.Fields(e.Cmd)
		switch {
		case len(c) > 0 && (c[0] == "M109" || c[0] == "M190"):
			waited[e.Cmd] = true
		case len(c) > 1 && c[0] == "G1" && strings.HasPrefix(c[1], "E") && !heatedBeforeExtrusion:
			heatedBeforeExtrusion = len(waited) >= 2
			if !heatedBeforeExtrusion {
				t.Fatalf("extrusion %q before the heaters were waited for (%v)", e.Cmd, waited)
			}
		case strings.HasPrefix(e.Cmd, strings.Fields(cell.CCF.FiberCutGcode)[0]):
			cut = true
		}
	}
	if !cut {
		t.Fatal("the fibre was never cut")
	}
	for i, tc := range snap.TargetsC[:2] {
		if tc != 0 {
			t.Fatalf("T%d heater left at %v °C", i, tc)
		}
	}
}

func readReport(t *testing.T, cell config.Cell, id string) Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cell.Controller.ReportDir, id, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// dryCell opens the dry-run cell (UR5e and board simulators on loopback)
// with a deadline for the whole test; both are closed when the test ends.
func dryCell(t *testing.T, cell config.Cell, timeout time.Duration) (context.Context, *CellIO) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	io, err := OpenCell(ctx, cell, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { io.Close() })
	return ctx, io
}

// autoManager returns a manager on io that starts jobs as they are
// submitted, closed when the test ends (before the cell).
func autoManager(t *testing.T, cell config.Cell, io *CellIO) *Manager {
	m := NewManager(Options{Cell: cell, IO: io, AutoStart: true})
	t.Cleanup(func() { m.Close() })
	return m
}

// waitEnded waits for job id to end; if ctx ends first the test fails with
// where the job stood (state, reason, steps, planner lead), so a hang
// names its stage.
func waitEnded(t testing.TB, ctx context.Context, m *Manager, id string) JobInfo {
	t.Helper()
	info, err := m.Wait(ctx, id)
	if err != nil {
		t.Fatalf("job %s: %v; it stood at state %s (%q), %d steps done, %d of %d planned moves acknowledged, lead %d, %d pauses",
			id, err, info.State, info.Reason, info.StepsDone, info.MovesDone, info.MovesPlanned, info.PlannerLead, info.Pauses)
	}
	return info
}

func submit(t *testing.T, m *Manager, spec JobSpec) {
	t.Helper()
	if _, _, err := m.Submit(spec); err != nil {
		t.Fatal(err)
	}
}

// TestWireframeProgramPausedOnRobot: an operator pausing the program on
// the robot (pendant pause button; here the dashboard "pause") pauses the
// job with the reason, and play continues it to completion with every
// strut printed once. The job used to stay "running" (to the MES, the
// pendant and the web page) while the arm stood still.
func TestWireframeProgramPausedOnRobot(t *testing.T) {
	cell := testCell(t)
	cell.Controller.TimeScale = 20
	ctx, io := dryCell(t, cell, 3*time.Minute)
	m := autoManager(t, cell, io)
	spec := JobSpec{ID: "wf-pp", Process: "wireframe", Model: absPath(t, "../processes/wireframe/testdata/simple_frame.json")}
	submit(t, m, spec)
	waitFor(t, func() bool { info, _ := m.Job("wf-pp"); return info.StepsDone >= 4 })
	link, _ := io.Robot()
	if err := link.Dash.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { info, _ := m.Job("wf-pp"); return info.State == Paused })
	info, _ := m.Job("wf-pp")
	if !strings.Contains(info.Reason, "runtime_state") || !strings.Contains(info.Reason, "paused") {
		t.Fatalf("paused with reason %q", info.Reason)
	}
	n := info.StepsDone
	time.Sleep(300 * time.Millisecond)
	if info, _ := m.Job("wf-pp"); info.StepsDone > n+1 || info.State != Paused {
		t.Fatalf("while the program was paused: %s, %d → %d steps", info.State, n, info.StepsDone)
	}
	if err := link.Dash.Play(ctx); err != nil {
		t.Fatal(err)
	}
	info = waitEnded(t, ctx, m, "wf-pp")
	if info.State != Completed || info.Pauses < 1 {
		t.Fatalf("state %s pauses %d: %s", info.State, info.Pauses, info.Reason)
	}
	if p := printedOnce(t, cell, "wf-pp"); len(p) != 18 {
		t.Fatalf("printed %d struts", len(p))
	}
}

// TestWireframeCancelMidStrutSwitchesExtruderOff: a job cancelled while a
// strut is being extruded (MES cancel, pendant or web abort) leaves the
// cell safe: the extruder is switched off. It used to stay on after the
// job had ended (the step was interrupted between "extruder on" and
// "extruder off").
func TestWireframeCancelMidStrutSwitchesExtruderOff(t *testing.T) {
	cell := testCell(t)
	cell.Controller.TimeScale = 2
	ctx, io := dryCell(t, cell, 2*time.Minute)
	w := watchDO(t, io, 16+uint(cell.Wireframe.ExtrudeToolOutput))
	defer w.stop()
	m := autoManager(t, cell, io)
	submit(t, m, JobSpec{ID: "wf-cancel", Process: "wireframe", Model: absPath(t, "../processes/wireframe/testdata/simple_frame.json")})
	waitFor(t, func() bool { info, _ := m.Job("wf-cancel"); return info.StepsDone >= 1 && w.isOn() })
	if err := m.Cancel("wf-cancel", "order withdrawn"); err != nil {
		t.Fatal(err)
	}
	info := waitEnded(t, ctx, m, "wf-cancel")
	if info.State != Aborted {
		t.Fatalf("state %s: %s", info.State, info.Reason)
	}
	time.Sleep(500 * time.Millisecond) // a stray command would have run by now
	if w.isOn() {
		t.Fatal("the extruder is still on after the job was cancelled mid-strut")
	}
}
