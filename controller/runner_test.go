package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/planners"
	_ "fabcell/planners/baseline"
	"fabcell/safety"

	"github.com/golang/geo/r3"
)

// recExec records the steps it executes; it is the executor of the
// pipeline unit tests (the end-to-end tests use the robot simulator).
type recExec struct {
	mu       sync.Mutex
	steps    []Step
	delay    time.Duration
	safe     int
	failAt   int // seq to fail (−1 none)
	blockAt  int // seq at which Do blocks until ctx ends (−1 none)
	status   safety.RobotStatus
	hasRobot bool
	done     map[int]bool // steps the "hardware" completed (for Completed)
}

func (e *recExec) Begin(context.Context) error { return nil }
func (e *recExec) Do(ctx context.Context, s Step) error {
	if s.Seq == e.blockAt {
		<-ctx.Done()
		return ctx.Err()
	}
	if s.Seq == e.failAt {
		return errors.New("hardware fault")
	}
	select {
	case <-time.After(e.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	e.mu.Lock()
	e.steps = append(e.steps, s)
	e.mu.Unlock()
	return nil
}
func (e *recExec) SafePoint(context.Context) error { e.mu.Lock(); e.safe++; e.mu.Unlock(); return nil }
func (e *recExec) Completed(_ context.Context, je JournalEntry) (bool, bool, error) {
	if e.done == nil {
		return false, false, nil
	}
	return e.done[je.Seq], true, nil
}
func (e *recExec) End(context.Context) error { return nil }
func (e *recExec) Status() (safety.RobotStatus, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status, e.hasRobot
}
func (e *recExec) Telemetry() map[string]float64 { return nil }
func (e *recExec) Close() error                  { return nil }
func (e *recExec) executed() []Step {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Step(nil), e.steps...)
}

// recAdapter: one step per move; refuses the move with index refuseAt.
type recAdapter struct {
	gate     *safety.Gate
	n        int
	refuseAt int
}

func (a *recAdapter) Check(m planners.Move) error {
	if a.n == a.refuseAt {
		return a.gate.CheckMotion(safety.Motion{Where: fmt.Sprintf("move %d", a.n), Linear: true,
			FromMM: r3.Vector{X: 400, Z: 100}, ToMM: r3.Vector{X: 410, Z: 100}, TCPSpeedMMS: 99999, BedZMM: math.NaN()})
	}
	return nil
}
func (a *recAdapter) Apply(m planners.Move) ([]Step, error) {
	a.n++
	return []Step{{Moves: []planners.Move{m}, Label: fmt.Sprintf("%s %d→%d", m.Kind, m.From, m.To)}}, nil
}
func (a *recAdapter) Flush() ([]Step, error) { return nil, nil }
func (a *recAdapter) Metrics() map[string]float64 {
	return map[string]float64{"applied": float64(a.n)}
}
func (a *recAdapter) Series() map[string][]float64 { return nil }

var (
	testExecMu sync.Mutex
	testExec   *recExec
	refuseAt   = -1
)

func init() {
	planners.RegisterProcess("travel-rec", func(cfg config.Cell) (planners.Process, error) {
		return &planners.TravelProcess{Cfg: cfg, TurnWeight: 0.1}, nil
	})
	RegisterAdapter("travel-rec", func(ctx context.Context, env *Env) (Adapter, Executor, error) {
		testExecMu.Lock()
		defer testExecMu.Unlock()
		return &recAdapter{gate: env.Gate, refuseAt: refuseAt}, testExec, nil
	})
}

func setExec(e *recExec, refuse int) {
	testExecMu.Lock()
	testExec, refuseAt = e, refuse
	testExecMu.Unlock()
}

const femur = "../planners/graph/testdata/rl3dp/NodeFemur_wireframe.txt"

func testCell(t *testing.T) config.Cell {
	c := config.Defaults()
	dir := t.TempDir()
	c.Controller.JournalDir = filepath.Join(dir, "journal")
	c.Controller.ReportDir = filepath.Join(dir, "reports")
	c.Controller.LookaheadDepth = 8
	c.Planner.Name = "greedy"
	return c
}

func modelPath(t *testing.T) string {
	for _, p := range []string{femur, "../planners/graph/testdata/NodeFemur_wireframe.txt"} {
		if _, err := os.Stat(p); err == nil {
			abs, _ := filepath.Abs(p)
			return abs
		}
	}
	t.Skip("Femur test model not found")
	return ""
}

func TestPipelineCompletes(t *testing.T) {
	ex := &recExec{failAt: -1, blockAt: -1}
	setExec(ex, -1)
	m := NewManager(Options{Cell: testCell(t), AutoStart: true})
	defer m.Close()
	events, unsub := m.Subscribe(4096)
	defer unsub()
	if _, existed, err := m.Submit(JobSpec{ID: "femur", Process: "travel-rec", Model: modelPath(t)}); err != nil || existed {
		t.Fatal(err, existed)
	}
	// duplicate submission: same job, not a second print
	if info, existed, err := m.Submit(JobSpec{ID: "femur", Process: "travel-rec", Model: modelPath(t)}); err != nil || !existed || info.ID != "femur" {
		t.Fatalf("duplicate: %v %v", err, existed)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	info := waitEnded(t, ctx, m, "femur")
	if info.State != Completed {
		t.Fatalf("state %s: %s", info.State, info.Reason)
	}
	steps := ex.executed()
	seen := map[int]bool{}
	edges := map[int]bool{}
	for i, s := range steps {
		if s.Seq != i || seen[s.Seq] {
			t.Fatalf("step %d has seq %d (dup %v)", i, s.Seq, seen[s.Seq])
		}
		seen[s.Seq] = true
		for _, mv := range s.Moves {
			if mv.Kind == planners.Print {
				if edges[mv.Edge] {
					t.Fatalf("edge %d printed twice", mv.Edge)
				}
				edges[mv.Edge] = true
			}
		}
	}
	if len(edges) != 772 || info.Progress != 1 {
		t.Fatalf("printed %d edges, progress %v", len(edges), info.Progress)
	}
	// state transitions observed in order
	var got []State
	for len(events) > 0 {
		e := <-events
		if e.Kind == "state" && e.JobID == "femur" {
			if n := len(got); n == 0 || got[n-1] != e.Info.State {
				got = append(got, e.Info.State)
			}
		}
	}
	want := []State{Queued, Planning, Running, Completed}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("states %v want %v", got, want)
	}
	if _, err := os.Stat(info.Report); err != nil {
		t.Fatalf("report: %v", err)
	}
}

func TestPipelineRefusalStopsDispatch(t *testing.T) {
	ex := &recExec{failAt: -1, blockAt: -1}
	setExec(ex, 5)
	m := NewManager(Options{Cell: testCell(t), AutoStart: true})
	defer m.Close()
	m.Submit(JobSpec{ID: "r", Process: "travel-rec", Model: modelPath(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, _ := m.Wait(ctx, "r")
	if info.State != Failed || !strings.Contains(info.Reason, "tcp_speed") || !strings.Contains(info.Reason, "refused") {
		t.Fatalf("state %s reason %q", info.State, info.Reason)
	}
	for _, s := range ex.executed() {
		if s.Seq >= 5 {
			t.Fatalf("step %d dispatched after the refused move", s.Seq)
		}
	}
}

func TestPipelinePauseResumeCancel(t *testing.T) {
	ex := &recExec{failAt: -1, blockAt: -1, delay: 2 * time.Millisecond}
	setExec(ex, -1)
	m := NewManager(Options{Cell: testCell(t), AutoStart: true})
	defer m.Close()
	m.Submit(JobSpec{ID: "p", Process: "travel-rec", Model: modelPath(t)})
	waitFor(t, func() bool { i, _ := m.Job("p"); return i.StepsDone > 10 })
	if err := m.Pause("p", "operator"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { i, _ := m.Job("p"); return i.State == Paused })
	n := len(ex.executed())
	time.Sleep(50 * time.Millisecond)
	if got := len(ex.executed()); got != n {
		t.Fatalf("steps executed while paused: %d → %d", n, got)
	}
	if err := m.Resume("p"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { i, _ := m.Job("p"); return i.State == Running && i.StepsDone > n+5 })
	if err := m.Cancel("p", "operator abort"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, _ := m.Wait(ctx, "p")
	if info.State != Aborted || info.Reason != "operator abort" || info.Pauses != 1 {
		t.Fatalf("state %s reason %q pauses %d", info.State, info.Reason, info.Pauses)
	}
	if err := m.Cancel("nope", ""); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("unknown job: %v", err)
	}
}

func TestPipelineRobotPauseAndAbort(t *testing.T) {
	ex := &recExec{failAt: -1, blockAt: -1, delay: 2 * time.Millisecond, hasRobot: true,
		status: safety.RobotStatus{RobotMode: safety.RobotModeRunning, SafetyMode: safety.SafetyModeNormal}}
	setExec(ex, -1)
	m := NewManager(Options{Cell: testCell(t), AutoStart: true})
	defer m.Close()
	m.Submit(JobSpec{ID: "s", Process: "travel-rec", Model: modelPath(t)})
	waitFor(t, func() bool { i, _ := m.Job("s"); return i.StepsDone > 5 })
	ex.mu.Lock()
	ex.status.SafetyMode = safety.SafetyModeProtectiveStop
	ex.mu.Unlock()
	waitFor(t, func() bool {
		i, _ := m.Job("s")
		return i.State == Paused && strings.Contains(i.Reason, "PROTECTIVE_STOP")
	})
	ex.mu.Lock()
	ex.status.SafetyMode = safety.SafetyModeNormal
	ex.mu.Unlock()
	waitFor(t, func() bool { i, _ := m.Job("s"); return i.State == Running })
	ex.mu.Lock()
	ex.status.SafetyMode = safety.SafetyModeRobotEmergencyStop
	ex.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, _ := m.Wait(ctx, "s")
	if info.State != Aborted || !strings.Contains(info.Reason, "ROBOT_EMERGENCY_STOP") {
		t.Fatalf("state %s reason %q", info.State, info.Reason)
	}
}

func TestPipelineResumeFromJournal(t *testing.T) {
	cell := testCell(t)
	// First run: the "controller" dies while step 40 is in flight.
	ex1 := &recExec{failAt: -1, blockAt: 40}
	setExec(ex1, -1)
	m1 := NewManager(Options{Cell: cell, AutoStart: true, StopGrace: -1}) // Close: a crash
	m1.Submit(JobSpec{ID: "crash", Process: "travel-rec", Model: modelPath(t)})
	waitFor(t, func() bool { i, _ := m1.Job("crash"); return i.StepsDone == 40 })
	time.Sleep(20 * time.Millisecond)
	m1.Close() // abort with step 40 in flight
	first := ex1.executed()
	if len(first) != 40 {
		t.Fatalf("first run executed %d steps", len(first))
	}
	// Second run: the hardware says step 40 did not complete.
	ex2 := &recExec{failAt: -1, blockAt: -1, done: map[int]bool{}}
	setExec(ex2, -1)
	m2 := NewManager(Options{Cell: cell, AutoStart: true})
	defer m2.Close()
	m2.Submit(JobSpec{ID: "crash", Process: "travel-rec", Model: modelPath(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	info, _ := m2.Wait(ctx, "crash")
	if info.State != Completed || !info.Resumed {
		t.Fatalf("state %s resumed %v: %s", info.State, info.Resumed, info.Reason)
	}
	second := ex2.executed()
	if second[0].Seq != 40 {
		t.Fatalf("resume started at seq %d, want 40", second[0].Seq)
	}
	printed := map[int]int{}
	for _, s := range append(first, second...) {
		for _, mv := range s.Moves {
			if mv.Kind == planners.Print {
				printed[mv.Edge]++
			}
		}
	}
	for e, n := range printed {
		if n != 1 {
			t.Fatalf("edge %d printed %d times", e, n)
		}
	}
	if len(printed) != 772 {
		t.Fatalf("%d edges printed in total", len(printed))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestCompletedJobIsNotDispatchedAgain: a job whose journal records its
// completion is not dispatched again when submitted again (the epilogue
// used to be re-sent on every re-run); the job completes at once, says so,
// and the journal gains no dispatched step.
func TestCompletedJobIsNotDispatchedAgain(t *testing.T) {
	cell := testCell(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ex1 := &recExec{failAt: -1, blockAt: -1}
	setExec(ex1, -1)
	m1 := NewManager(Options{Cell: cell, AutoStart: true})
	m1.Submit(JobSpec{ID: "once", Process: "travel-rec", Model: modelPath(t)})
	info, _ := m1.Wait(ctx, "once")
	m1.Close()
	if info.State != Completed || info.AlreadyCompleted {
		t.Fatalf("first run: state %s already %v: %s", info.State, info.AlreadyCompleted, info.Reason)
	}
	n := len(ex1.executed())
	rec, err := ReadJournal(filepath.Join(cell.Controller.JournalDir, "once.jsonl"))
	if err != nil || rec.LastState != Completed || rec.AckedSteps != n {
		t.Fatalf("journal after the first run: state %q, %d acked steps of %d, err %v", rec.LastState, rec.AckedSteps, n, err)
	}
	ex2 := &recExec{failAt: -1, blockAt: -1, done: map[int]bool{}}
	setExec(ex2, -1)
	m2 := NewManager(Options{Cell: cell, AutoStart: true})
	defer m2.Close()
	m2.Submit(JobSpec{ID: "once", Process: "travel-rec", Model: modelPath(t)})
	info, _ = m2.Wait(ctx, "once")
	if info.State != Completed || !info.AlreadyCompleted || !strings.Contains(info.Reason, "already completed") {
		t.Fatalf("second run: state %s already %v: %s", info.State, info.AlreadyCompleted, info.Reason)
	}
	if got := ex2.executed(); len(got) != 0 {
		t.Fatalf("second run dispatched %d steps", len(got))
	}
	rec2, err := ReadJournal(filepath.Join(cell.Controller.JournalDir, "once.jsonl"))
	if err != nil || rec2.AckedSteps != n || rec2.InFlight != nil {
		t.Fatalf("journal after the second run: %d acked steps (was %d), in flight %v, err %v", rec2.AckedSteps, n, rec2.InFlight, err)
	}
}
