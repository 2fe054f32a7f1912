package controller

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/safety"
)

// Step is one unit of dispatch and acknowledgement: a strut (approach,
// extrude, retract), a fibre segment, or a chunk of laser scan vectors.
// A step is journaled as dispatched before it is sent and as acknowledged
// only after the executor confirms it, so a step is the granularity of
// resume.
type Step struct {
	Seq   int
	Moves []planners.Move
	// Label names the step in logs, refusals and reports.
	Label string
	// Payload is adapter-specific (robot motions, G-code lines, vectors).
	Payload any
	// Estimate is the expected execution time (for ETA and lead reports).
	Estimate time.Duration
	// HW holds hardware references an executor records before dispatch
	// (e.g. the robot dispatcher's instance nonce and the command sequence
	// number that ends the step), journaled so that after a crash
	// Completed can ask the hardware whether the step finished.
	HW map[string]int64
}

// Preparer is implemented by executors that record hardware references in
// a step (Step.HW) right before it is journaled and dispatched.
type Preparer interface {
	Prepare(ctx context.Context, s *Step) error
}

// Adapter binds a process to the pipeline. It keeps a shadow session (its
// own copy of the process state, advanced only by checked moves) so checks
// never race with the planner's look-ahead search.
type Adapter interface {
	// Check validates m against the current shadow state and the safety
	// gate without changing state. A refusal is a *safety.Violation (or an
	// error wrapping one) naming the rule.
	Check(m planners.Move) error
	// Apply advances the shadow state by m (after Check passed) and returns
	// the steps that became complete (zero or more).
	Apply(m planners.Move) ([]Step, error)
	// Flush returns the remaining partial step at the end of the plan.
	Flush() ([]Step, error)
	// Metrics returns the process metrics of everything applied so far.
	Metrics() map[string]float64
	// Series returns per-step values worth plotting (e.g. "displacement_mm",
	// "hot_area_mm2"), aligned with applied moves.
	Series() map[string][]float64
}

// Executor performs steps on the cell (or its simulators).
type Executor interface {
	// Begin readies the hardware (connect, home, heat) for the job.
	Begin(ctx context.Context) error
	// Do dispatches step s and returns after it is acknowledged. While the
	// robot is paused (protective stop) Do keeps waiting; it returns an
	// error only when the step cannot complete.
	Do(ctx context.Context, s Step) error
	// SafePoint brings the process to a safe state between steps (nozzle
	// retracted, extrusion off, laser off) before a pause or a starved
	// look-ahead buffer.
	SafePoint(ctx context.Context) error
	// Completed tells whether the step journaled as e (dispatched, not
	// acknowledged, when the controller stopped) completed on the hardware;
	// known=false when the hardware cannot tell.
	Completed(ctx context.Context, e JournalEntry) (done, known bool, err error)
	// End finishes the job on the hardware (move home, heaters off).
	End(ctx context.Context) error
	// Status returns the latest robot status for the safety monitor;
	// ok=false when the executor has no robot.
	Status() (st safety.RobotStatus, ok bool)
	// Telemetry returns process values for status reports (temperatures,
	// joint positions); may be nil.
	Telemetry() map[string]float64
	Close() error
}

// Shutdowner is implemented by executors with hardware that must be
// switched off when a job stops for good without reaching End (cancel,
// abort, a failed step, the controller stopping): CCF heaters. The runner
// calls it after the safe point; a pause does not.
type Shutdowner interface {
	Shutdown(ctx context.Context) error
}

// Env is what an adapter factory gets: the job, its cell configuration, the
// safety gate and the cell's connections.
type Env struct {
	Job     JobSpec
	Cell    config.Cell
	Gate    *safety.Gate
	Graph   *graph.Graph
	Process planners.Process
	// IO holds the cell's connections (nil when the manager has none).
	IO *CellIO
}

// AdapterFactory builds the adapter and executor of a process for a job.
type AdapterFactory func(ctx context.Context, env *Env) (Adapter, Executor, error)

var (
	adMu     sync.RWMutex
	adapters = map[string]AdapterFactory{}
)

// RegisterAdapter registers the pipeline binding of a process. It panics on
// duplicates.
func RegisterAdapter(process string, f AdapterFactory) {
	adMu.Lock()
	defer adMu.Unlock()
	if _, dup := adapters[process]; dup {
		panic("controller: duplicate adapter " + process)
	}
	adapters[process] = f
}

func adapterFor(process string) (AdapterFactory, error) {
	adMu.RLock()
	defer adMu.RUnlock()
	f, ok := adapters[process]
	if !ok {
		names := make([]string, 0, len(adapters))
		for n := range adapters {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("process %q cannot be executed (executable: %v)", process, names)
	}
	return f, nil
}
