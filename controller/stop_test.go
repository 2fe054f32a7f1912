package controller

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/planners"
)

// TestStopFinishesStepInFlight: Stop (a SIGINT of fabcell run) and Close
// (a SIGTERM of fabcell serve) end a running job at a step boundary: the
// step in flight when the request comes is finished and acknowledged, the
// journal holds no step in flight, and the re-run resumes after it without
// dispatching anything twice. Both used to cancel the step in flight, so
// every resume re-dispatched it ("hardware cannot confirm it").
func TestStopFinishesStepInFlight(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stop   func(m *Manager, id string)
		reason string
	}{
		{"Stop", func(m *Manager, id string) { m.Stop(id, "interrupted by operator") }, "interrupted by operator"},
		{"Close", func(m *Manager, id string) { m.Close() }, "controller shutting down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cell := testCell(t)
			ex1 := &recExec{failAt: -1, blockAt: -1, delay: 30 * time.Millisecond}
			setExec(ex1, -1)
			m1 := NewManager(Options{Cell: cell, AutoStart: true})
			m1.Submit(JobSpec{ID: "stop", Process: "travel-rec", Model: modelPath(t)})
			waitFor(t, func() bool { i, _ := m1.Job("stop"); return i.StepsDone >= 5 })
			tc.stop(m1, "stop")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			info := waitEnded(t, ctx, m1, "stop")
			m1.Close()
			if info.State != Aborted || info.Reason != tc.reason {
				t.Fatalf("state %s reason %q, want aborted %q", info.State, info.Reason, tc.reason)
			}
			first := ex1.executed()
			if len(first) != info.StepsDone {
				t.Fatalf("%d steps executed, %d acknowledged", len(first), info.StepsDone)
			}
			rec, err := ReadJournal(filepath.Join(cell.Controller.JournalDir, "stop.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if rec.InFlight != nil {
				t.Fatalf("step %d left in flight by a graceful stop", rec.InFlight.Seq)
			}
			if rec.AckedSteps != len(first) {
				t.Fatalf("journal acknowledges %d steps, %d executed", rec.AckedSteps, len(first))
			}

			// Re-run: resumes after the last acknowledged step; the hardware
			// knows nothing (done == nil) and is not asked to confirm anything.
			ex2 := &recExec{failAt: -1, blockAt: -1}
			setExec(ex2, -1)
			m2 := NewManager(Options{Cell: cell, AutoStart: true})
			defer m2.Close()
			m2.Submit(JobSpec{ID: "stop", Process: "travel-rec", Model: modelPath(t)})
			info2 := waitEnded(t, ctx, m2, "stop")
			if info2.State != Completed || !info2.Resumed {
				t.Fatalf("re-run: state %s resumed %v: %s", info2.State, info2.Resumed, info2.Reason)
			}
			second := ex2.executed()
			if second[0].Seq != len(first) {
				t.Fatalf("re-run started at seq %d, want %d", second[0].Seq, len(first))
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
		})
	}
}

// TestStopWhilePaused: a paused job stops at once (it is at a safe point)
// and goes paused → aborted, without a spurious "resumed" transition.
func TestStopWhilePaused(t *testing.T) {
	ex := &recExec{failAt: -1, blockAt: -1, delay: 2 * time.Millisecond}
	setExec(ex, -1)
	m := NewManager(Options{Cell: testCell(t), AutoStart: true})
	defer m.Close()
	m.Submit(JobSpec{ID: "sp", Process: "travel-rec", Model: modelPath(t)})
	waitFor(t, func() bool { i, _ := m.Job("sp"); return i.StepsDone > 3 })
	m.Pause("sp", "")
	waitFor(t, func() bool { i, _ := m.Job("sp"); return i.State == Paused })
	if err := m.Stop("sp", "shift over"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info := waitEnded(t, ctx, m, "sp")
	h := info.History
	if info.State != Aborted || info.Reason != "shift over" || h[len(h)-1].From != Paused {
		t.Fatalf("state %s reason %q history %+v", info.State, info.Reason, h)
	}
	if err := m.Stop("sp", ""); err == nil {
		t.Fatal("Stop of an aborted job: no error")
	}
}

// TestPauseReasonAndETA: the reason given with a pause (MES, pendant, web)
// is the paused state's reason; the pause is counted while it lasts; the
// ETA extrapolates working time only (a long pause does not inflate it);
// a terminal status carries no ETA.
func TestPauseReasonAndETA(t *testing.T) {
	ex := &recExec{failAt: -1, blockAt: -1, delay: 5 * time.Millisecond}
	setExec(ex, -1)
	m := NewManager(Options{Cell: testCell(t), AutoStart: true})
	defer m.Close()
	m.Submit(JobSpec{ID: "eta", Process: "travel-rec", Model: modelPath(t)})
	waitFor(t, func() bool { i, _ := m.Job("eta"); return i.StepsDone > 20 })
	if err := m.Pause("eta", "check the nozzle"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { i, _ := m.Job("eta"); return i.State == Paused })
	paused, _ := m.Job("eta")
	if paused.Reason != "check the nozzle" || paused.Pauses != 1 {
		t.Fatalf("paused: reason %q pauses %d", paused.Reason, paused.Pauses)
	}
	// pause for longer than the job has been working so far
	var working time.Duration
	for _, h := range paused.History {
		if h.To == Paused {
			working = h.At.Sub(paused.History[0].At)
		}
	}
	time.Sleep(2*working + 200*time.Millisecond)
	m.Resume("eta")
	n := paused.StepsDone
	waitFor(t, func() bool { i, _ := m.Job("eta"); return i.StepsDone >= n+2 })
	after, _ := m.Job("eta")
	// remaining work per done work is unchanged by the pause: with the
	// pause counted the ETA would be about 3× larger
	perStepBefore := paused.ETA / (1 - paused.Progress) * paused.Progress
	perStepAfter := after.ETA / (1 - after.Progress) * after.Progress
	if !(perStepAfter < 1.8*perStepBefore) {
		t.Fatalf("ETA counts the pause: elapsed-equivalent %.3f s before the pause, %.3f s after a %v pause", perStepBefore, perStepAfter, 2*working)
	}
	m.Cancel("eta", "done testing")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	final := waitEnded(t, ctx, m, "eta")
	if final.ETA != 0 {
		t.Fatalf("terminal job keeps eta_s %v", final.ETA)
	}
	if !strings.Contains(final.Reason, "done testing") {
		t.Fatalf("reason %q", final.Reason)
	}
}

// prefixAdapter emits, like the CCF adapter, steps that carry no planner
// move: pre steps with the first move (matrix layers below the fibre
// layer) and post steps in Flush (fibre cut, layers above).
type prefixAdapter struct {
	recAdapter
	pre, post int
	started   bool
}

func (a *prefixAdapter) Apply(m planners.Move) ([]Step, error) {
	var out []Step
	if !a.started {
		a.started = true
		for i := 0; i < a.pre; i++ {
			out = append(out, Step{Label: fmt.Sprintf("pre %d", i)})
		}
	}
	st, err := a.recAdapter.Apply(m)
	return append(out, st...), err
}

func (a *prefixAdapter) Flush() ([]Step, error) {
	var out []Step
	for i := 0; i < a.post; i++ {
		out = append(out, Step{Label: fmt.Sprintf("post %d", i)})
	}
	return out, nil
}

func init() {
	planners.RegisterProcess("travel-pre", func(cfg config.Cell) (planners.Process, error) {
		return &planners.TravelProcess{Cfg: cfg, TurnWeight: 0.1}, nil
	})
	RegisterAdapter("travel-pre", func(ctx context.Context, env *Env) (Adapter, Executor, error) {
		testExecMu.Lock()
		defer testExecMu.Unlock()
		return &prefixAdapter{recAdapter: recAdapter{gate: env.Gate, refuseAt: -1}, pre: 30, post: 20}, testExec, nil
	})
}

// TestResumeMovelessSteps: a job stopped or crashed among steps that carry
// no planner move — before its first move-carrying step is acknowledged
// (CCF matrix layers below the fibre) or after its last (fibre cut, layers
// above) — resumes after the last acknowledged step. It used to start over
// (nothing resumed when no move was acknowledged; the Flush steps numbered
// again from the acknowledged count), dispatching those steps twice and
// leaving a journal the next run could not read.
func TestResumeMovelessSteps(t *testing.T) {
	cell := testCell(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var all []Step
	run := func(ex *recExec, stopAt func(JobInfo) bool, crash bool) JobInfo {
		t.Helper()
		setExec(ex, -1)
		grace := time.Duration(0)
		if crash {
			grace = -1 // Close interrupts the step in flight, as a crash does
		}
		m := NewManager(Options{Cell: cell, AutoStart: true, StopGrace: grace})
		m.Submit(JobSpec{ID: "pre", Process: "travel-pre", Model: modelPath(t)})
		if stopAt != nil {
			waitFor(t, func() bool { i, _ := m.Job("pre"); return stopAt(i) })
			if crash {
				time.Sleep(20 * time.Millisecond)
				m.Close()
			} else {
				m.Stop("pre", "stop")
			}
		}
		info := waitEnded(t, ctx, m, "pre")
		m.Close()
		all = append(all, ex.executed()...)
		return info
	}
	// 1: stopped among the pre steps; 2: crashed among them (step 25 in
	// flight, the hardware says it did not complete); 3: stopped among the
	// post steps; 4: to the end.
	run(&recExec{failAt: -1, blockAt: -1, delay: 10 * time.Millisecond}, func(i JobInfo) bool { return i.StepsDone >= 10 }, false)
	run(&recExec{failAt: -1, blockAt: 25, done: map[int]bool{}}, func(i JobInfo) bool { return i.StepsDone == 25 }, true)
	// the steps that carry moves: one per move of the plan
	refCell := testCell(t)
	setExec(&recExec{failAt: -1, blockAt: -1}, -1)
	ref := NewManager(Options{Cell: refCell, AutoStart: true})
	ref.Submit(JobSpec{ID: "ref", Process: "travel-rec", Model: modelPath(t)})
	refInfo := waitEnded(t, ctx, ref, "ref")
	ref.Close()
	total := 30 + refInfo.StepsDone + 20
	run(&recExec{failAt: -1, blockAt: -1, delay: time.Millisecond}, func(i JobInfo) bool { return i.StepsDone >= total-12 }, false)
	info := run(&recExec{failAt: -1, blockAt: -1}, nil, false)
	if info.State != Completed || !info.Resumed {
		t.Fatalf("last run: %s %q resumed %v", info.State, info.Reason, info.Resumed)
	}
	seen := map[int]string{}
	for _, s := range all {
		if prev, ok := seen[s.Seq]; ok {
			t.Fatalf("step %d dispatched twice (%q, %q)", s.Seq, prev, s.Label)
		}
		seen[s.Seq] = s.Label
	}
	if len(seen) != total {
		t.Fatalf("%d steps executed, want %d", len(seen), total)
	}
	for i := 0; i < total; i++ {
		want := ""
		switch {
		case i < 30:
			want = fmt.Sprintf("pre %d", i)
		case i >= total-20:
			want = fmt.Sprintf("post %d", i-(total-20))
		}
		if got, ok := seen[i]; !ok || (want != "" && got != want) {
			t.Fatalf("step %d is %q, want %q", i, got, want)
		}
	}
}

// TestMaxStepsContinues: a job stopped by max_steps is not finished: the
// next run continues it from the journal for another max_steps steps, and
// a run without the limit completes it, every step dispatched once. The
// journal used to record such a job as completed, so the "run again to
// continue" its reason promised dispatched nothing.
func TestMaxStepsContinues(t *testing.T) {
	cell := testCell(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var all []Step
	run := func(max int) JobInfo {
		t.Helper()
		ex := &recExec{failAt: -1, blockAt: -1}
		setExec(ex, -1)
		m := NewManager(Options{Cell: cell, AutoStart: true})
		defer m.Close()
		m.Submit(JobSpec{ID: "demo", Process: "travel-rec", Model: modelPath(t), MaxSteps: max})
		info := waitEnded(t, ctx, m, "demo")
		all = append(all, ex.executed()...)
		return info
	}
	for i, want := range []int{40, 80} {
		info := run(40)
		if info.State != Completed || info.StepsDone != want || !strings.Contains(info.Reason, "max_steps=40") {
			t.Fatalf("run %d: %s after %d steps (want %d): %q", i+1, info.State, info.StepsDone, want, info.Reason)
		}
	}
	info := run(0)
	if info.State != Completed || !info.Resumed || strings.Contains(info.Reason, "already completed") {
		t.Fatalf("last run: %s %q", info.State, info.Reason)
	}
	for i, s := range all {
		if s.Seq != i {
			t.Fatalf("step %d executed as seq %d", i, s.Seq)
		}
	}
	if len(all) != info.StepsDone {
		t.Fatalf("%d steps executed, %d acknowledged", len(all), info.StepsDone)
	}
}

// TestParamsCannotChangeCellSettings: a job's params (from a job file or
// an MES over MQTT) may tune the process and the planner, but not the
// cell's safety limits, connections, journal or report directories, or
// robot calibration: such keys are refused with a message naming them.
// They used to be accepted, so an MQTT submission could raise
// safety.max_tcp_speed_mm_s, switch the door interlock off or make the
// controller write its report into any directory. A value of the wrong
// type names the parameter (not a line of an internal YAML document).
func TestParamsCannotChangeCellSettings(t *testing.T) {
	cell := testCell(t)
	for _, tc := range []struct {
		params map[string]any
		want   string // "" = accepted
	}{
		{map[string]any{"robot.print_speed_mm_s": 6.0}, ""},
		{map[string]any{"wireframe.cooling_dwell_s": 1.0, "planner.seed": 3}, ""},
		{map[string]any{"safety.max_tcp_speed_mm_s": 5000.0}, `"safety.max_tcp_speed_mm_s": safety.* is a cell setting`},
		{map[string]any{"safety.door_interlock": false}, "safety.* is a cell setting"},
		{map[string]any{"safety.keep_out": []any{}}, "safety.* is a cell setting"},
		{map[string]any{"controller.report_dir": "/etc"}, "controller.* is a cell setting"},
		{map[string]any{"controller.journal_dir": "/tmp/x"}, "controller.* is a cell setting"},
		{map[string]any{"mqtt.broker": "tcp://elsewhere:1883"}, "mqtt.* is a cell setting"},
		{map[string]any{"robot.host": "10.0.0.9"}, "robot.host is a cell setting"},
		{map[string]any{"robot.bed_frame.z_mm": 5.0}, "robot.bed_frame is a cell setting"},
		{map[string]any{"name": "other"}, "name is a cell setting"},
		{map[string]any{"robot.print_speed_mm_s": "fast"}, `param "robot.print_speed_mm_s" = fast: cannot unmarshal`},
		{map[string]any{"robot.print_speed_mm_s": 6.0, "wireframe.cooling_dwell_s": "long"}, `param "wireframe.cooling_dwell_s" = long`},
	} {
		c, err := ApplyOverrides(cell, JobSpec{ID: "p", Process: "wireframe", Params: tc.params})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.params, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want %q", tc.params, err, tc.want)
		case tc.want != "" && strings.Contains(err.Error(), "line "):
			t.Errorf("%v: error names a YAML line: %v", tc.params, err)
		case tc.want == "" && tc.params["robot.print_speed_mm_s"] != nil && c.Robot.PrintSpeedMMS != 6:
			t.Errorf("%v: print speed %v", tc.params, c.Robot.PrintSpeedMMS)
		}
	}
}
