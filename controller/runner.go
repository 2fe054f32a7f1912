package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/safety"

	"gopkg.in/yaml.v3"
)

// planProcessCheck rejects a spec whose process cannot run, before it is
// queued.
func planProcessCheck(spec JobSpec) (AdapterFactory, error) {
	known := false
	for _, p := range planners.ProcessNames() {
		known = known || p == spec.Process
	}
	if !known {
		return nil, fmt.Errorf("job %s: unknown process %q (known: %s)", spec.ID, spec.Process, strings.Join(planners.ProcessNames(), ", "))
	}
	return adapterFor(spec.Process)
}

// runner executes one job: planner → look-ahead buffer → checker/step
// builder → dispatcher, with the safety monitor alongside.
type runner struct {
	m *Manager
	j *job

	cell  config.Cell
	env   *Env
	ad    Adapter
	ex    Executor
	jr    *Journal
	total int // coverage units

	planned    atomic.Int64 // moves emitted by the planner
	ackedMoves atomic.Int64
	stepsDone  atomic.Int64
	cov        *coverage // acknowledged coverage (dispatcher goroutine writes)

	mu          sync.Mutex
	robotPaused bool
	robotReason string
	userPaused  bool
	pauses      int
	skipBelow   int           // steps numbered below were acknowledged in an earlier run
	pausedAt    time.Time     // start of the current pause (zero when not paused)
	pausedFor   time.Duration // total time of the pauses that ended
	starved     int
	starvedFor  time.Duration
	refusal     error
	leadSeries  []LeadSample
	stepSeries  []StepSample
	abortErr    error
	began       time.Time
	watchdog    *safety.Watchdog
	// stoppedEarly explains a completion before full coverage (max_steps).
	stoppedEarly string
	report       *Report
}

// LeadSample records the planner's lead over execution at one moment.
type LeadSample struct {
	T    float64 `json:"t_s"`
	Lead int     `json:"lead_moves"`
	Step int     `json:"step"`
}

// StepSample records one executed step.
type StepSample struct {
	Seq       int     `json:"seq"`
	Label     string  `json:"label"`
	Moves     int     `json:"moves"`
	DurationS float64 `json:"duration_s"`
	EndS      float64 `json:"end_s"`
}

func (r *runner) log() func(msg string, args ...any) { return r.m.log.Info }

func (r *runner) run(ctx context.Context) (retErr error) {
	spec := r.j.spec
	r.began = r.m.opts.Now()
	cell := r.m.opts.Cell
	if p := spec.CellPath(); p != "" {
		c, err := config.Load(p)
		if err != nil {
			return err
		}
		cell = c
	}
	cell, err := ApplyOverrides(cell, spec)
	if err != nil {
		return err
	}
	r.cell = cell
	gate := safety.New(cell)
	proc, err := planners.NewProcess(spec.Process, cell)
	if err != nil {
		return err
	}
	factory, err := adapterFor(spec.Process)
	if err != nil {
		return err
	}
	modelPath, err := r.m.resolveModel(spec)
	if err != nil {
		return err
	}
	g, err := proc.Load(modelPath)
	if err != nil {
		return err
	}
	sess, err := proc.NewSession(g)
	if err != nil {
		return err
	}
	pl, err := planners.NewPlanner(cell.Planner.Name, planners.Options{Config: cell.Planner, Process: proc})
	if err != nil {
		return err
	}
	r.j.mu.Lock()
	r.j.info.Planner = cell.Planner.Name
	r.j.mu.Unlock()
	r.env = &Env{Job: spec, Cell: cell, Gate: gate, Graph: g, Process: proc, IO: r.m.opts.IO}
	ad, ex, err := factory(ctx, r.env)
	if err != nil {
		return err
	}
	r.ad, r.ex = ad, ex
	defer ex.Close()

	// Journal: recover what was acknowledged before.
	jpath := r.m.journalPath(spec.ID)
	rec, err := ReadJournal(jpath)
	if err != nil {
		return err
	}
	if rec.Job != nil && (rec.Job.Process != spec.Process || rec.Job.Model != spec.Model || rec.Job.ModelInline != spec.ModelInline) {
		return fmt.Errorf("journal %s belongs to a different job (process %s, model %s)", jpath, rec.Job.Process, rec.Job.Model)
	}
	jr, err := OpenJournal(jpath, true)
	if err != nil {
		return err
	}
	r.jr = jr // closed by finish, after it journals the final state
	if rec.Job == nil {
		sp := spec
		if err := jr.Append(JournalEntry{Kind: "job", Job: &sp}); err != nil {
			return err
		}
	}
	_, r.total = sess.Progress()
	r.cov = newCoverage(sess.Coverage(), g.NumNodes(), g.NumEdges())
	if err := r.j.sm.To(Planning, "planning and checking ahead of execution"); err != nil {
		return err
	}
	r.publishState()

	// Replay acknowledged steps into the planner's and the checker's state.
	replay := func(moves []planners.Move) ([]Step, error) {
		var steps []Step
		for _, mv := range moves {
			if sess.Current() < 0 {
				if err := sess.Begin(mv.From); err != nil {
					return nil, err
				}
			}
			if mv.From != sess.Current() {
				return nil, fmt.Errorf("journal move %d→%d does not start at node %d", mv.From, mv.To, sess.Current())
			}
			sess.Apply(mv)
			st, err := ad.Apply(mv)
			if err != nil {
				return nil, err
			}
			steps = append(steps, st...)
		}
		return steps, nil
	}
	// Steps are numbered in the order the adapter emits them, including
	// steps that carry no planner move (CCF matrix layers, the fibre cut);
	// those numbered below skipBelow were acknowledged before and are not
	// dispatched again. replayed counts the steps the acknowledged moves
	// regenerate; the acknowledged move-less steps after them (e.g. matrix
	// layers done before the first fibre step) are the difference.
	replayed := 0
	if rec.AckedSteps > 0 {
		steps, err := replay(rec.Acked)
		if err != nil {
			return fmt.Errorf("resume from journal: %w", err)
		}
		if len(steps) > rec.AckedSteps {
			return fmt.Errorf("resume from journal %s: its %d acknowledged moves make %d steps, more than the %d acknowledged", jpath, len(rec.Acked), len(steps), rec.AckedSteps)
		}
		replayed = len(steps)
		r.skipBelow = rec.AckedSteps
		r.stepsDone.Store(int64(rec.AckedSteps))
		r.ackedMoves.Store(int64(len(rec.Acked)))
		r.planned.Store(int64(len(rec.Acked)))
		for _, mv := range rec.Acked {
			r.cov.add(mv)
		}
		r.j.mu.Lock()
		r.j.info.Resumed = true
		r.j.mu.Unlock()
		r.m.log.Info("resuming from journal", "job", spec.ID, "acked_steps", rec.AckedSteps, "acked_moves", len(rec.Acked))
	}
	if rec.LastState == Completed {
		// The job ran to its end before (epilogue included): moving the
		// robot again would repeat the epilogue, and printing again needs
		// a new journal.
		r.j.mu.Lock()
		r.j.info.Resumed, r.j.info.AlreadyCompleted = true, true
		r.j.mu.Unlock()
		r.m.log.Info("job already completed according to its journal; nothing dispatched", "job", spec.ID, "journal", jpath)
		return nil
	}
	// From Begin on (it may already heat), a job that ends in an error —
	// cancelled during heat-up, aborted, a failed step, the controller
	// stopping — switches the process hardware off (Shutdowner).
	defer func() {
		if retErr != nil {
			r.shutdownHW(ex)
		}
	}()
	if err := ex.Begin(ctx); err != nil {
		return fmt.Errorf("executor: %w", err)
	}
	var pending []Step
	if rec.InFlight != nil {
		done, known, err := ex.Completed(ctx, *rec.InFlight)
		if err != nil {
			return fmt.Errorf("check in-flight step %d: %w", rec.InFlight.Seq, err)
		}
		steps, err := replay(rec.InFlight.Moves)
		if err != nil {
			return fmt.Errorf("resume in-flight step: %w", err)
		}
		r.planned.Add(int64(len(rec.InFlight.Moves)))
		if known && done {
			if err := jr.Append(JournalEntry{Kind: "acked", Seq: rec.InFlight.Seq, Note: "confirmed by hardware after restart"}); err != nil {
				return err
			}
			r.stepsDone.Add(1)
			r.skipBelow = rec.InFlight.Seq + 1
			r.ackedMoves.Add(int64(len(rec.InFlight.Moves)))
			for _, mv := range rec.InFlight.Moves {
				r.cov.add(mv)
			}
			replayed += len(steps)
		} else {
			if !known {
				r.m.log.Warn("in-flight step state unknown after restart; dispatching it again", "job", spec.ID, "seq", rec.InFlight.Seq)
				r.m.publish(Event{Kind: "error", JobID: spec.ID, Message: fmt.Sprintf("step %d was in flight at the crash and the hardware cannot confirm it; dispatching it again", rec.InFlight.Seq)})
			}
			for i := range steps {
				steps[i].Seq = replayed + i
			}
			replayed += len(steps)
			pending = steps
		}
	}

	r.watchdog = safety.NewWatchdog(time.Duration(cell.Safety.WatchdogS*float64(time.Second)), nil)
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(2)
	go func() { defer wg.Done(); r.monitor(runCtx, cancelRun) }()
	go func() {
		defer wg.Done()
		r.watchdog.Run(runCtx, func(v *safety.Violation) {
			r.m.log.Error("watchdog", "job", spec.ID, "err", v)
			r.m.publish(Event{Kind: "error", JobID: spec.ID, Message: v.Error()})
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			_ = ex.SafePoint(sctx)
			c()
		})
	}()

	depth := cell.Controller.LookaheadDepth
	steps := make(chan Step, depth)
	checkErr := make(chan error, 1)
	nextSeq := replayed
	if !sess.Done() {
		moves, wait := planners.Stream(runCtx, pl, sess, depth)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(steps)
			emit := func(ss []Step) bool {
				for _, s := range ss {
					s.Seq = nextSeq
					nextSeq++
					select {
					case steps <- s:
					case <-runCtx.Done():
						return false
					}
				}
				return true
			}
			for mv := range moves {
				r.planned.Add(1)
				if err := ad.Check(mv); err != nil {
					r.mu.Lock()
					r.refusal = fmt.Errorf("move %d (%d→%d %s) refused: %w", r.planned.Load()-1, mv.From, mv.To, mv.Kind, err)
					r.mu.Unlock()
					checkErr <- r.refusal
					cancelRun()
					for range moves {
					}
					wait()
					return
				}
				ss, err := ad.Apply(mv)
				if err != nil {
					checkErr <- err
					cancelRun()
					for range moves {
					}
					wait()
					return
				}
				if !emit(ss) {
					for range moves {
					}
					wait()
					return
				}
			}
			if err := wait(); err != nil {
				if runCtx.Err() == nil {
					checkErr <- fmt.Errorf("planner: %w", err)
				}
				return
			}
			ss, err := ad.Flush()
			if err != nil {
				checkErr <- err
				return
			}
			emit(ss)
		}()
	} else {
		ss, err := ad.Flush()
		if err != nil {
			return err
		}
		for _, s := range ss {
			s.Seq = nextSeq
			nextSeq++
			pending = append(pending, s)
		}
		close(steps)
	}

	err = r.dispatch(runCtx, ctx, pending, steps, checkErr)
	cancelRun()
	if err != nil {
		// Whatever ended the dispatch (cancel, abort, a failed step), leave
		// the cell in its safe state: a step interrupted between "extruder
		// on" and "extruder off" would leave the extruder running. The
		// robot finishes the command it is executing first.
		sctx, c := context.WithTimeout(context.Background(), time.Duration(cell.Controller.AckTimeoutS*float64(time.Second)))
		if serr := ex.SafePoint(sctx); serr != nil {
			r.m.log.Warn("safe point after the job stopped", "job", spec.ID, "err", serr)
		}
		c()
		return r.explain(ctx, err)
	}
	select {
	case e := <-checkErr:
		return e
	default:
	}
	// (with max_steps the planner goroutine may still be applying moves
	// to sess: it is not read then)
	if spec.MaxSteps == 0 && !sess.Done() {
		return errors.New("plan ended before coverage was complete")
	}
	endCtx, c := context.WithTimeout(context.Background(), 30*time.Second)
	defer c()
	if err := ex.End(endCtx); err != nil {
		return fmt.Errorf("executor end: %w", err)
	}
	return nil
}

// explain turns a dispatch error into the job's final error.
// shutdownHW switches the process hardware off after the job stopped
// without reaching End (Shutdowner); a failure is an error event, since
// the operator must check the heaters.
func (r *runner) shutdownHW(ex Executor) {
	sd, ok := ex.(Shutdowner)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id := r.j.spec.ID
	if err := sd.Shutdown(ctx); err != nil {
		msg := fmt.Sprintf("could not switch the process hardware off after the job stopped (check the heaters): %v", err)
		r.m.log.Error(msg, "job", id)
		r.m.publish(Event{Kind: "error", JobID: id, Message: msg})
		return
	}
	r.m.log.Info("process hardware switched off after the job stopped", "job", id)
}

func (r *runner) explain(ctx context.Context, err error) error {
	r.mu.Lock()
	ref, ab := r.refusal, r.abortErr
	r.mu.Unlock()
	switch {
	case ref != nil:
		return ref
	case ab != nil:
		return &abortError{ab}
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return err
}

// dispatch executes steps in order, journaling each before and after.
func (r *runner) dispatch(ctx, jobCtx context.Context, pending []Step, steps <-chan Step, checkErr <-chan error) error {
	first := true
	next := func() (Step, bool, error) {
		if len(pending) > 0 {
			s := pending[0]
			pending = pending[1:]
			return s, true, nil
		}
		select {
		case e := <-checkErr:
			return Step{}, false, e
		default:
		}
		select {
		case s, ok := <-steps:
			return s, ok, nil
		default:
		}
		// The look-ahead buffer is empty while planning continues: the
		// robot would wait for the planner. Go to a safe point first.
		if !first {
			r.mu.Lock()
			r.starved++
			r.mu.Unlock()
			t0 := time.Now()
			if err := r.ex.SafePoint(ctx); err != nil {
				return Step{}, false, fmt.Errorf("safe point: %w", err)
			}
			defer func() {
				r.mu.Lock()
				r.starvedFor += time.Since(t0)
				r.mu.Unlock()
			}()
		}
		select {
		case e := <-checkErr:
			return Step{}, false, e
		case s, ok := <-steps:
			return s, ok, nil
		case <-r.j.stopReq:
			return Step{}, false, errStopRequested
		case <-ctx.Done():
			return Step{}, false, ctx.Err()
		}
	}
	for {
		r.watchdog.Kick()
		if err := r.waitIfPaused(ctx); err != nil {
			return err
		}
		if err := r.stopRequested(ctx); err != nil {
			return err
		}
		s, ok, err := next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if s.Seq < r.skipBelow {
			continue // acknowledged before the restart (journal)
		}
		if first {
			first = false
			if st, _ := r.j.sm.State(); st == Planning {
				if err := r.j.sm.To(Running, "executing checked steps"); err != nil {
					return err
				}
				r.publishState()
			}
		}
		if p, ok := r.ex.(Preparer); ok {
			if err := p.Prepare(ctx, &s); err != nil {
				return fmt.Errorf("step %d (%s): prepare: %w", s.Seq, s.Label, err)
			}
		}
		if err := r.jr.Append(JournalEntry{Kind: "dispatched", Seq: s.Seq, Moves: s.Moves, Note: s.Label, HW: s.HW}); err != nil {
			return err
		}
		t0 := time.Now()
		if err := r.ex.Do(ctx, s); err != nil {
			return fmt.Errorf("step %d (%s): %w", s.Seq, s.Label, err)
		}
		if err := r.jr.Append(JournalEntry{Kind: "acked", Seq: s.Seq}); err != nil {
			return err
		}
		r.stepsDone.Add(1)
		r.ackedMoves.Add(int64(len(s.Moves)))
		for _, mv := range s.Moves {
			r.cov.add(mv)
		}
		now := time.Since(r.began).Seconds()
		r.mu.Lock()
		r.stepSeries = append(r.stepSeries, StepSample{Seq: s.Seq, Label: s.Label, Moves: len(s.Moves), DurationS: time.Since(t0).Seconds(), EndS: now})
		r.leadSeries = append(r.leadSeries, LeadSample{T: now, Lead: int(r.planned.Load() - r.ackedMoves.Load()), Step: s.Seq})
		r.mu.Unlock()
		r.updateInfo()
		if max := r.j.spec.MaxSteps; max > 0 && int(r.stepsDone.Load())-r.skipBelow >= max {
			r.mu.Lock()
			r.stoppedEarly = fmt.Sprintf("stopped after max_steps=%d (run again to continue from the journal)", max)
			r.mu.Unlock()
			return nil
		}
	}
}

// errStopRequested ends a job at a step boundary after Manager.Stop (or
// Close): nothing is in flight, the journal resumes it exactly.
var errStopRequested = errors.New("stop requested")

// stopRequested returns errStopRequested, after taking the executor to its
// safe point, when Manager.Stop asked the job to end; it is called only
// between steps.
func (r *runner) stopRequested(ctx context.Context) error {
	select {
	case <-r.j.stopReq:
	default:
		return nil
	}
	if err := r.ex.SafePoint(ctx); err != nil {
		return fmt.Errorf("safe point: %w", err)
	}
	return errStopRequested
}

// waitIfPaused blocks between steps while the operator paused the job.
func (r *runner) waitIfPaused(ctx context.Context) error {
	r.j.mu.Lock()
	req, why := r.j.pauseReq, r.j.pauseMsg
	r.j.mu.Unlock()
	if !req {
		return nil
	}
	if err := r.ex.SafePoint(ctx); err != nil {
		return fmt.Errorf("safe point: %w", err)
	}
	if why == "" {
		why = "paused by operator"
	}
	r.setPaused(true, false, why)
	for {
		r.j.mu.Lock()
		req = r.j.pauseReq
		r.j.mu.Unlock()
		if !req {
			r.setPaused(false, false, "resumed by operator")
			return nil
		}
		select {
		case <-r.j.stopReq:
			return errStopRequested // ends paused → aborted
		case <-r.j.resumeCh:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		r.watchdog.Kick()
	}
}

// setPaused records a pause source (operator or robot) and moves the state
// machine: paused while any source holds, running when none does.
func (r *runner) setPaused(on, robot bool, reason string) {
	r.mu.Lock()
	before := r.userPaused || r.robotPaused
	if robot {
		r.robotPaused, r.robotReason = on, reason
	} else {
		r.userPaused = on
	}
	after := r.userPaused || r.robotPaused
	switch {
	case !before && after:
		r.pauses++
		r.pausedAt = time.Now()
	case before && !after:
		r.pausedFor += time.Since(r.pausedAt)
		r.pausedAt = time.Time{}
	}
	pauses := r.pauses
	r.mu.Unlock()
	r.j.mu.Lock()
	r.j.info.Pauses = pauses
	r.j.mu.Unlock()
	st, _ := r.j.sm.State()
	switch {
	case after && st != Paused && !st.Terminal():
		if r.j.sm.To(Paused, reason) == nil {
			r.publishState()
		}
	case !after && st == Paused:
		if r.j.sm.To(Running, reason) == nil {
			r.publishState()
		}
	}
}

// monitor watches the robot through the executor's status and applies the
// safety verdicts; it also publishes rate-limited telemetry.
func (r *runner) monitor(ctx context.Context, cancel context.CancelFunc) {
	period := 10 * time.Millisecond
	telEvery := time.Duration(float64(time.Second) / r.cell.MQTT.TelemetryHz)
	t := time.NewTicker(period)
	defer t.Stop()
	lastTel := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.watchdog.Kick()
			if st, ok := r.ex.Status(); ok {
				v, viol := r.env.Gate.Assess(st)
				switch v {
				case safety.Continue:
					r.mu.Lock()
					was := r.robotPaused
					r.mu.Unlock()
					if was {
						r.setPaused(false, true, "robot back to normal")
					}
				case safety.Pause:
					r.mu.Lock()
					was, why := r.robotPaused, r.robotReason
					r.mu.Unlock()
					if !was || why != viol.Error() {
						r.setPaused(true, true, viol.Error())
					}
				case safety.Abort:
					r.mu.Lock()
					r.abortErr = viol
					r.mu.Unlock()
					r.m.publish(Event{Kind: "error", JobID: r.j.spec.ID, Message: viol.Error()})
					cancel()
					return
				}
			}
			if now.Sub(lastTel) >= telEvery {
				lastTel = now
				tel := map[string]float64{
					"planner_lead_moves": float64(r.planned.Load() - r.ackedMoves.Load()),
					"step":               float64(r.stepsDone.Load()),
				}
				for k, v := range r.ex.Telemetry() {
					tel[k] = v
				}
				r.m.publish(Event{Kind: "telemetry", JobID: r.j.spec.ID, Telemetry: tel})
			}
		}
	}
}

func (r *runner) updateInfo() {
	done := r.stepsDone.Load()
	r.mu.Lock()
	starved, pauses := r.starved, r.pauses
	// the ETA extrapolates the time spent working: pauses do not count
	active := time.Since(r.began) - r.pausedFor
	if !r.pausedAt.IsZero() {
		active -= time.Since(r.pausedAt)
	}
	r.mu.Unlock()
	elapsed := active.Seconds()
	r.j.mu.Lock()
	r.j.info.StepsDone = int(done)
	r.j.info.MovesDone = int(r.ackedMoves.Load())
	r.j.info.MovesPlanned = int(r.planned.Load())
	r.j.info.PlannerLead = r.j.info.MovesPlanned - r.j.info.MovesDone
	if r.total > 0 {
		r.j.info.Progress = math.Min(1, float64(r.cov.count())/float64(r.total))
	}
	switch p := r.j.info.Progress; {
	case r.j.info.State.Terminal():
		r.j.info.ETA = 0 // nothing left to wait for
	case p > 0 && p < 1:
		r.j.info.ETA = elapsed * (1 - p) / p
	}
	r.j.info.Starved, r.j.info.Pauses = starved, pauses
	r.j.mu.Unlock()
	r.m.publish(Event{Kind: "progress", JobID: r.j.spec.ID, Info: ptr(r.j.snapshot())})
}

func (r *runner) publishState() {
	r.m.publish(Event{Kind: "state", JobID: r.j.spec.ID, Info: ptr(r.j.snapshot())})
}

// finish records metrics and writes the run report.
func (r *runner) finish() {
	if r.jr != nil {
		defer r.jr.Close()
	}
	if r.ad == nil {
		return
	}
	r.updateInfo()
	metrics := r.ad.Metrics()
	r.mu.Lock()
	metrics["starved"] = float64(r.starved)
	metrics["starved_s"] = r.starvedFor.Seconds()
	metrics["pauses"] = float64(r.pauses)
	r.mu.Unlock()
	metrics["steps"] = float64(r.stepsDone.Load())
	metrics["elapsed_s"] = time.Since(r.began).Seconds()
	r.j.mu.Lock()
	r.j.info.Metrics = metrics
	r.j.mu.Unlock()
	r.mu.Lock()
	early := r.stoppedEarly != ""
	r.mu.Unlock()
	if r.jr != nil && !early {
		// the final state: a completed job is not dispatched again (one
		// stopped by max_steps is not finished: the next run continues it)
		st, reason := r.j.sm.State()
		if err := r.jr.Append(JournalEntry{Kind: "state", State: st, Note: reason}); err != nil {
			r.m.log.Error("journal final state", "job", r.j.spec.ID, "err", err)
		}
	}
	path, err := r.writeReport(metrics)
	if err != nil {
		r.m.log.Error("run report", "job", r.j.spec.ID, "err", err)
		return
	}
	r.j.mu.Lock()
	r.j.info.Report = path
	r.j.mu.Unlock()
}

// ApplyOverrides applies the spec's planner/ring/seed and params (YAML
// paths such as "robot.print_speed_mm_s") to a copy of the cell and
// re-validates it. Front ends call it at submission so a bad override is
// refused before the job is queued. Cell settings (cellOnlyKeys: safety
// limits, connections, directories, robot calibration) cannot be
// overridden by a job.
func ApplyOverrides(cell config.Cell, spec JobSpec) (config.Cell, error) {
	// planner.per_process.<process> first, so the job's own fields win.
	cell.Planner = cell.PlannerFor(spec.Process)
	if spec.Planner != "" {
		cell.Planner.Name = spec.Planner
	}
	if spec.Ring > 0 {
		cell.Planner.Ring = spec.Ring
	}
	if spec.Seed != 0 {
		cell.Planner.Seed = spec.Seed
	}
	if len(spec.Params) > 0 {
		data, err := cell.Marshal()
		if err != nil {
			return cell, err
		}
		var tree map[string]any
		if err := yaml.Unmarshal(data, &tree); err != nil {
			return cell, err
		}
		for _, k := range sortedKeys(spec.Params) {
			if sec := cellOnly(k); sec != "" {
				return cell, fmt.Errorf("job %s: param %q: %s is a cell setting, not a job parameter (set it in the cell configuration)", spec.ID, k, sec)
			}
			parts := strings.Split(k, ".")
			node := tree
			for i, p := range parts {
				if i == len(parts)-1 {
					if _, ok := node[p]; !ok {
						return cell, fmt.Errorf("job %s: param %q: unknown configuration key", spec.ID, k)
					}
					node[p] = spec.Params[k]
					break
				}
				next, ok := node[p].(map[string]any)
				if !ok {
					return cell, fmt.Errorf("job %s: param %q: unknown configuration key", spec.ID, k)
				}
				node = next
			}
		}
		out, err := yaml.Marshal(tree)
		if err != nil {
			return cell, err
		}
		c, err := config.Parse(strings.NewReader(string(out)))
		if err != nil {
			// name the parameter (the YAML error's line numbers refer to
			// an internal document)
			if len(spec.Params) == 1 {
				for k, v := range spec.Params {
					msg := err.Error()
					if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(msg, "unmarshal") {
						msg = msg[i+2:]
					}
					return cell, fmt.Errorf("job %s: param %q = %v: %s", spec.ID, k, v, msg)
				}
			}
			for _, k := range sortedKeys(spec.Params) {
				one := spec
				one.Params = map[string]any{k: spec.Params[k]}
				one.Planner, one.Ring, one.Seed = "", 0, 0
				if _, e := ApplyOverrides(cell, one); e != nil {
					return cell, e
				}
			}
			return cell, fmt.Errorf("job %s: params: %w", spec.ID, err)
		}
		cell = c
	}
	if err := cell.Validate(); err != nil {
		return cell, fmt.Errorf("job %s: %w", spec.ID, err)
	}
	return cell, nil
}

// cellOnlyKeys are the configuration keys (sections end in '.') that
// belong to the cell, not to a job: its name, safety limits, connections,
// operator interfaces, journal and report directories, and the robot's
// connection and calibration. A job's params may not change them — a job
// submitted over MQTT must not relax a safety limit, point the journal or
// the reports at another directory, or move the bed frame.
var cellOnlyKeys = []string{
	"name", "safety.", "controller.", "mqtt.", "pendant.", "serial.",
	"robot.model", "robot.host", "robot.rtde_port", "robot.dashboard_port", "robot.script_port",
	"robot.rtde_frequency_hz", "robot.connect_timeout_s", "robot.register_offset", "robot.allow_local_script",
	"robot.tool_offset", "robot.bed_frame", "robot.home_joints_rad",
}

// cellOnly returns the cell-only key or section that param key k names
// ("" if a job may set it).
func cellOnly(k string) string {
	for _, c := range cellOnlyKeys {
		if k == strings.TrimSuffix(c, ".") || strings.HasPrefix(k, c) || (!strings.HasSuffix(c, ".") && strings.HasPrefix(k, c+".")) {
			if strings.HasSuffix(c, ".") {
				return strings.TrimSuffix(c, ".") + ".*"
			}
			return c
		}
	}
	return ""
}

// coverage counts what acknowledged steps covered, under the process's
// coverage rule: distinct printed edges, or distinct visited nodes (the
// start node included) for NodesOnce.
type coverage struct {
	mu    sync.Mutex
	rule  planners.Coverage
	nodes []bool
	edges []bool
	n     int
}

func newCoverage(rule planners.Coverage, nodes, edges int) *coverage {
	return &coverage{rule: rule, nodes: make([]bool, nodes), edges: make([]bool, edges)}
}

func (c *coverage) add(mv planners.Move) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rule == planners.NodesOnce {
		for _, v := range []int{mv.From, mv.To} {
			if v >= 0 && v < len(c.nodes) && !c.nodes[v] {
				c.nodes[v] = true
				c.n++
			}
		}
		return
	}
	if mv.Kind == planners.Print && mv.Edge >= 0 && mv.Edge < len(c.edges) && !c.edges[mv.Edge] {
		c.edges[mv.Edge] = true
		c.n++
	}
}

func (c *coverage) count() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
