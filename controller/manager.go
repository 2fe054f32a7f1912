package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"fabcell/config"
)

// Options configure a Manager.
type Options struct {
	// Cell is the server's cell configuration (jobs may bring their own).
	Cell config.Cell
	// IO holds the cell's connections (robot, extruder, LPBF machine) or
	// the simulators of a dry run.
	IO *CellIO
	// ModelDir resolves relative model paths of jobs submitted over the
	// network ("" = current directory). Paths may not leave it.
	ModelDir string
	// AutoStart starts queued jobs as soon as the cell is free; otherwise a
	// job waits for Start (e.g. from the pendant).
	AutoStart bool
	// Log receives diagnostics (default slog.Default()).
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// StopGrace bounds how long Close waits for the running job to reach
	// a step boundary before it interrupts the step in flight: 0 =
	// controller.ack_timeout_s; negative = interrupt at once (what a
	// crash does; for tests of the journal's in-flight recovery).
	StopGrace time.Duration
}

// Manager owns the job queue of one cell: one job runs at a time (the cell
// has one robot); submission is idempotent by job id.
type Manager struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	jobs    map[string]*job
	order   []string
	running *job
	subs    map[int]chan Event
	nextSub int
	dropped int
	closed  bool

	wake chan struct{}
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// Event is published to subscribers on every job change and periodically
// for telemetry.
type Event struct {
	Kind  string   `json:"kind"` // "state", "progress", "telemetry", "error", "refusal"
	JobID string   `json:"job_id,omitempty"`
	Info  *JobInfo `json:"info,omitempty"`
	// Telemetry is set for Kind "telemetry".
	Telemetry map[string]float64 `json:"telemetry,omitempty"`
	// Message explains errors and refusals.
	Message string    `json:"message,omitempty"`
	At      time.Time `json:"at"`
}

// JobInfo is a snapshot of a job for status reports.
type JobInfo struct {
	ID           string             `json:"id"`
	Process      string             `json:"process"`
	Planner      string             `json:"planner"`
	Model        string             `json:"model"`
	State        State              `json:"state"`
	Reason       string             `json:"reason,omitempty"`
	StepsDone    int                `json:"steps_done"`
	MovesDone    int                `json:"moves_done"`
	MovesPlanned int                `json:"moves_planned"`
	PlannerLead  int                `json:"planner_lead"`
	Progress     float64            `json:"progress"` // 0..1 of coverage acknowledged
	ETA          float64            `json:"eta_s,omitempty"`
	Starved      int                `json:"starved"`
	Pauses       int                `json:"pauses"`
	Metrics      map[string]float64 `json:"metrics,omitempty"`
	History      []Transition       `json:"history,omitempty"`
	Submitted    time.Time          `json:"submitted"`
	Report       string             `json:"report,omitempty"`
	Resumed      bool               `json:"resumed,omitempty"`
	// AlreadyCompleted: the job's journal records that it completed
	// before; nothing was dispatched (remove the journal, or use another
	// job id, to print it again).
	AlreadyCompleted bool `json:"already_completed,omitempty"`
}

type job struct {
	spec      JobSpec
	sm        *StateMachine
	submitted time.Time
	start     chan struct{} // closed by Start when not AutoStart
	started   bool

	mu        sync.Mutex
	info      JobInfo
	pauseReq  bool
	pauseMsg  string
	resumeCh  chan struct{}
	stopReq   chan struct{} // closed by Stop: end at the next step boundary
	stopOnce  sync.Once
	cancel    context.CancelFunc
	cancelMsg string
	done      chan struct{}
}

// ErrUnknownJob is returned for commands naming a job that does not exist.
var ErrUnknownJob = errors.New("unknown job")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("controller closed")

// NewManager starts a manager. Close it to stop the running job safely.
func NewManager(opts Options) *Manager {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, stop := context.WithCancel(context.Background())
	m := &Manager{opts: opts, log: opts.Log, jobs: map[string]*job{}, subs: map[int]chan Event{}, wake: make(chan struct{}, 1), ctx: ctx, stop: stop}
	m.wg.Add(1)
	go m.loop()
	return m
}

// Submit queues a job. Submitting an id that already exists returns the
// existing job's info and existed=true — never a second print.
func (m *Manager) Submit(spec JobSpec) (info JobInfo, existed bool, err error) {
	if err := spec.Validate(); err != nil {
		return JobInfo{}, false, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return JobInfo{}, false, ErrClosed
	}
	if j, ok := m.jobs[spec.ID]; ok {
		m.mu.Unlock()
		return j.snapshot(), true, nil
	}
	if _, err := planProcessCheck(spec); err != nil {
		m.mu.Unlock()
		return JobInfo{}, false, err
	}
	j := &job{spec: spec, sm: NewStateMachine(m.opts.Now), submitted: m.opts.Now(), start: make(chan struct{}), resumeCh: make(chan struct{}, 1), stopReq: make(chan struct{}), done: make(chan struct{})}
	j.info = JobInfo{ID: spec.ID, Process: spec.Process, Planner: spec.Planner, Model: spec.Model, State: Queued, Submitted: j.submitted}
	if spec.Model == "" {
		j.info.Model = "(inline " + spec.ModelFormat + ")"
	}
	if m.opts.AutoStart {
		close(j.start)
		j.started = true
	}
	m.jobs[spec.ID] = j
	m.order = append(m.order, spec.ID)
	m.mu.Unlock()
	m.publish(Event{Kind: "state", JobID: spec.ID, Info: ptr(j.snapshot())})
	m.kick()
	return j.snapshot(), false, nil
}

// Start releases a queued job that waits for an operator (AutoStart off).
func (m *Manager) Start(id string) error {
	j, err := m.get(id)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if st, _ := j.sm.State(); st != Queued {
		return fmt.Errorf("job %s is %s, not queued", id, st)
	}
	if !j.started {
		j.started = true
		close(j.start)
	}
	m.kick()
	return nil
}

// Pause asks the job to stop at the next safe point (between steps).
func (m *Manager) Pause(id, reason string) error {
	j, err := m.get(id)
	if err != nil {
		return err
	}
	st, _ := j.sm.State()
	if st.Terminal() || st == Queued {
		return fmt.Errorf("job %s is %s: cannot pause", id, st)
	}
	j.mu.Lock()
	j.pauseReq = true
	j.pauseMsg = reason
	j.mu.Unlock()
	return nil
}

// Resume continues a job paused by Pause.
func (m *Manager) Resume(id string) error {
	j, err := m.get(id)
	if err != nil {
		return err
	}
	st, _ := j.sm.State()
	if st.Terminal() {
		return fmt.Errorf("job %s is %s: cannot resume", id, st)
	}
	j.mu.Lock()
	was := j.pauseReq
	j.pauseReq = false
	j.mu.Unlock()
	if !was && st != Paused {
		return fmt.Errorf("job %s is %s, not paused", id, st)
	}
	select {
	case j.resumeCh <- struct{}{}:
	default:
	}
	return nil
}

// Cancel aborts a job (queued or running); the running step is finished or
// interrupted safely and the journal keeps what was done.
func (m *Manager) Cancel(id, reason string) error {
	j, err := m.get(id)
	if err != nil {
		return err
	}
	if reason == "" {
		reason = "cancelled"
	}
	st, _ := j.sm.State()
	if st.Terminal() {
		return fmt.Errorf("job %s is already %s", id, st)
	}
	j.mu.Lock()
	j.cancelMsg = reason
	c := j.cancel
	j.mu.Unlock()
	if c != nil {
		c()
		return nil
	}
	m.abortQueued(j, reason)
	return nil
}

// abortQueued aborts a job that has not started running. The check and
// the transition happen under m.mu, which nextRunnable holds while it
// picks a job, so a job is either aborted here or run — never both (the
// job's done channel is closed once).
func (m *Manager) abortQueued(j *job, reason string) {
	m.mu.Lock()
	ok := m.running != j && j.sm.To(Aborted, reason) == nil
	m.mu.Unlock()
	if ok {
		j.setState(Aborted, reason)
		m.publish(Event{Kind: "state", JobID: j.spec.ID, Info: ptr(j.snapshot())})
		close(j.done)
	}
}

// Stop ends a job gracefully with reason: a running job finishes and
// acknowledges the step in flight, goes to the executor's safe point and
// ends aborted at that step boundary, so its journal holds no step in
// flight and running it again resumes exactly where it stopped (nothing
// dispatched twice). A paused or planning job stops at once; a queued one
// is aborted. Cancel, by contrast, interrupts the step in flight.
func (m *Manager) Stop(id, reason string) error {
	j, err := m.get(id)
	if err != nil {
		return err
	}
	if reason == "" {
		reason = "stopped"
	}
	st, _ := j.sm.State()
	if st.Terminal() {
		return fmt.Errorf("job %s is already %s", id, st)
	}
	j.mu.Lock()
	if j.cancelMsg == "" {
		j.cancelMsg = reason
	}
	running := j.cancel != nil
	j.mu.Unlock()
	j.stopOnce.Do(func() { close(j.stopReq) })
	if !running {
		m.abortQueued(j, reason) // (a job picked meanwhile sees stopReq)
	}
	return nil
}

// Job returns a job's info.
func (m *Manager) Job(id string) (JobInfo, error) {
	j, err := m.get(id)
	if err != nil {
		return JobInfo{}, err
	}
	return j.snapshot(), nil
}

// Jobs lists all jobs in submission order.
func (m *Manager) Jobs() []JobInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]JobInfo, 0, len(m.order))
	for _, id := range m.order {
		out = append(out, m.jobs[id].snapshot())
	}
	return out
}

// Wait blocks until the job ends (or ctx ends) and returns its info.
func (m *Manager) Wait(ctx context.Context, id string) (JobInfo, error) {
	j, err := m.get(id)
	if err != nil {
		return JobInfo{}, err
	}
	select {
	case <-j.done:
		return j.snapshot(), nil
	case <-ctx.Done():
		return j.snapshot(), ctx.Err()
	}
}

// Subscribe returns a channel of events (capacity n; a slow subscriber
// loses events, counted, and never stalls a job) and a cancel function.
func (m *Manager) Subscribe(n int) (<-chan Event, func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := make(chan Event, n)
	id := m.nextSub
	m.nextSub++
	m.subs[id] = c
	return c, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if _, ok := m.subs[id]; ok {
			delete(m.subs, id)
			close(c)
		}
	}
}

// Close stops the running job between steps (Stop: the step in flight is
// finished and acknowledged, so a re-run resumes exactly; it is
// interrupted only when it does not end within controller.ack_timeout_s),
// aborts it with reason "controller shutting down", and stops the manager.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	run := m.running
	m.mu.Unlock()
	if run != nil {
		// Stop between steps (the step in flight is finished and
		// acknowledged, so a re-run resumes exactly); interrupt it only
		// if it does not end within the acknowledgement timeout.
		run.mu.Lock()
		if run.cancelMsg == "" {
			run.cancelMsg = "controller shutting down"
		}
		run.mu.Unlock()
		grace := m.opts.StopGrace
		if grace == 0 {
			grace = time.Duration(m.opts.Cell.Controller.AckTimeoutS * float64(time.Second))
		}
		if grace > 0 {
			run.stopOnce.Do(func() { close(run.stopReq) })
			select {
			case <-run.done:
			case <-time.After(grace):
				m.log.Warn("running job did not reach a step boundary in time; interrupting it", "job", run.spec.ID, "waited", grace)
			}
		}
		run.mu.Lock()
		c := run.cancel
		run.mu.Unlock()
		if c != nil {
			c()
		}
	}
	m.stop()
	m.wg.Wait()
	m.mu.Lock()
	for id, c := range m.subs {
		close(c)
		delete(m.subs, id)
	}
	m.mu.Unlock()
	return nil
}

// Cell returns the manager's cell configuration.
func (m *Manager) Cell() config.Cell { return m.opts.Cell }

func (m *Manager) get(id string) (*job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownJob, id)
	}
	return j, nil
}

func (m *Manager) kick() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Manager) publish(e Event) {
	if e.At.IsZero() {
		e.At = m.opts.Now()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.subs {
		select {
		case c <- e:
		default:
			m.dropped++
		}
	}
}

// loop runs queued jobs one at a time, in submission order among the
// started ones.
func (m *Manager) loop() {
	defer m.wg.Done()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.wake:
		}
		for {
			j := m.nextRunnable()
			if j == nil {
				break
			}
			m.runJob(j)
			if m.ctx.Err() != nil {
				return
			}
		}
	}
}

func (m *Manager) nextRunnable() *job {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	for _, id := range m.order {
		j := m.jobs[id]
		st, _ := j.sm.State()
		if st != Queued {
			continue
		}
		select {
		case <-j.start:
			m.running = j
			return j
		default:
		}
	}
	return nil
}

func (m *Manager) runJob(j *job) {
	ctx, cancel := context.WithCancel(m.ctx)
	j.mu.Lock()
	j.cancel = cancel
	j.mu.Unlock()
	defer cancel()
	r := &runner{m: m, j: j}
	err := r.run(ctx)
	final, reason := j.sm.State()
	if !final.Terminal() {
		to, why := Failed, ""
		switch {
		case err == nil:
			to, why = Completed, "all steps acknowledged"
			j.mu.Lock()
			if j.info.AlreadyCompleted {
				why = "already completed according to its journal (" + m.journalPath(j.spec.ID) + "); nothing dispatched — remove the journal or use another job id to print it again"
			}
			j.mu.Unlock()
			r.mu.Lock()
			if r.stoppedEarly != "" {
				why = r.stoppedEarly
			}
			r.mu.Unlock()
			if r.ad != nil {
				// say so when the process could not cover the model (e.g.
				// wire-frame struts unreachable and skipped)
				if ms := r.ad.Metrics(); ms != nil {
					if c, ok := ms["complete"]; ok && c == 0 {
						why += fmt.Sprintf("; coverage incomplete: %g of %g covered", ms["covered"], ms["coverage_total"])
						if u := ms["unreachable"]; u > 0 {
							why += fmt.Sprintf(", %g unreachable (skipped, see the report)", u)
						}
					}
				}
			}
		case errors.Is(err, context.Canceled), errors.Is(err, errStopRequested):
			j.mu.Lock()
			why = j.cancelMsg
			j.mu.Unlock()
			to = Aborted
			if why == "" {
				why = "cancelled"
			}
		default:
			why = err.Error()
			var ab *abortError
			if errors.As(err, &ab) {
				to = Aborted
			}
		}
		if terr := j.sm.To(to, why); terr != nil {
			m.log.Error("job final state", "job", j.spec.ID, "err", terr)
		}
		final, reason = to, why
	}
	j.setState(final, reason)
	r.finish()
	m.publish(Event{Kind: "state", JobID: j.spec.ID, Info: ptr(j.snapshot()), Message: reason})
	m.mu.Lock()
	m.running = nil
	m.mu.Unlock()
	close(j.done)
}

// abortError marks failures that abort (emergency stop, operator) rather
// than fail the job.
type abortError struct{ err error }

func (e *abortError) Error() string { return e.err.Error() }
func (e *abortError) Unwrap() error { return e.err }

func (j *job) snapshot() JobInfo {
	j.mu.Lock()
	defer j.mu.Unlock()
	info := j.info
	info.History = j.sm.History()
	st, reason := j.sm.State()
	info.State, info.Reason = st, reason
	if j.info.Metrics != nil {
		info.Metrics = make(map[string]float64, len(j.info.Metrics))
		for k, v := range j.info.Metrics {
			info.Metrics[k] = v
		}
	}
	return info
}

func (j *job) setState(s State, reason string) {
	j.mu.Lock()
	j.info.State, j.info.Reason = s, reason
	if s.Terminal() {
		j.info.ETA = 0 // nothing left to wait for
	}
	j.mu.Unlock()
}

func ptr[T any](v T) *T { return &v }

// journalPath returns the journal file of a job.
func (m *Manager) journalPath(id string) string {
	return filepath.Join(m.opts.Cell.Controller.JournalDir, id+".jsonl")
}

// resolveModel returns the model path of a spec, materialising inline
// models into the journal directory.
func (m *Manager) resolveModel(s JobSpec) (string, error) {
	if s.ModelInline != "" {
		dir := filepath.Join(m.opts.Cell.Controller.JournalDir, "models")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		name := s.ID + s.ModelFormat
		if s.ModelFormat == "Node.txt" || s.ModelFormat == "txt" {
			return "", errors.New("inline RL3DP text pairs are not supported; send JSON or OBJ")
		}
		p := filepath.Join(dir, filepath.Base(name))
		if err := os.WriteFile(p, []byte(s.ModelInline), 0o644); err != nil {
			return "", err
		}
		return p, nil
	}
	p := s.ModelPath()
	if s.Dir() == "" && m.opts.ModelDir != "" && !filepath.IsAbs(p) {
		clean := filepath.Clean(p)
		if clean == ".." || filepath.IsAbs(clean) || len(clean) >= 3 && clean[:3] == ".."+string(filepath.Separator) {
			return "", fmt.Errorf("model %q leaves the model directory", s.Model)
		}
		p = filepath.Join(m.opts.ModelDir, clean)
	}
	file := p
	if i := strings.LastIndexByte(file, '#'); i > 0 {
		if _, err := strconv.Atoi(file[i+1:]); err == nil {
			file = file[:i] // layer selector of a layered format (CLI)
		}
	}
	if _, err := os.Stat(file); err != nil {
		return "", fmt.Errorf("model %q: %w", s.Model, err)
	}
	return p, nil
}

// sortedKeys is a small helper for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
