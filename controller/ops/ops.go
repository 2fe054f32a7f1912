// Package ops holds what fabcell's operator and shop-floor interfaces
// (MQTT API, teach-pendant XML-RPC, web pendant) share: the job-manager
// interface they drive and the idempotent job commands.
package ops

import (
	"fmt"
	"time"

	"fabcell/controller"
)

// Jobs is the part of the controller the interfaces drive
// (*controller.Manager implements it).
type Jobs interface {
	Submit(spec controller.JobSpec) (controller.JobInfo, bool, error)
	Start(id string) error
	Pause(id, reason string) error
	Resume(id string) error
	Cancel(id, reason string) error
	Job(id string) (controller.JobInfo, error)
	Jobs() []controller.JobInfo
	Subscribe(n int) (<-chan controller.Event, func())
}

var _ Jobs = (*controller.Manager)(nil)

// Job commands.
const (
	Start  = "start"
	Pause  = "pause"
	Resume = "resume"
	Cancel = "cancel"
)

// Active reports whether a job in state s occupies the cell (planning,
// running or paused).
func Active(s controller.State) bool {
	return s == controller.Planning || s == controller.Running || s == controller.Paused
}

// Current returns the job that occupies the cell, if any.
func Current(jobs Jobs) (controller.JobInfo, bool) {
	for _, j := range jobs.Jobs() {
		if Active(j.State) {
			return j, true
		}
	}
	return controller.JobInfo{}, false
}

// Latest returns the job an operator wants to see: the active one, else
// the one that ended last, else the oldest queued one.
func Latest(jobs Jobs) (controller.JobInfo, bool) {
	all := jobs.Jobs()
	var ended, queued *controller.JobInfo
	for i := range all {
		j := &all[i]
		switch {
		case Active(j.State):
			return *j, true
		case j.State == controller.Queued:
			if queued == nil {
				queued = j
			}
		case ended == nil || lastChange(*j).After(lastChange(*ended)):
			ended = j
		}
	}
	if ended != nil {
		return *ended, true
	}
	if queued != nil {
		return *queued, true
	}
	return controller.JobInfo{}, false
}

func lastChange(j controller.JobInfo) time.Time {
	if n := len(j.History); n > 0 {
		return j.History[n-1].At
	}
	return j.Submitted
}

// Apply executes a job command (start, pause, resume, cancel) idempotently:
// repeating a command that already took effect is acknowledged, not an
// error; a command impossible in the job's state returns an error naming
// the state. who names the operator interface in reasons ("MES",
// "pendant", "web"). The pendant and web servers share it.
func Apply(jobs Jobs, info controller.JobInfo, verb, reason, who string) (string, error) {
	id, st := info.ID, info.State
	switch verb {
	case Start:
		switch {
		case st == controller.Queued:
			if err := jobs.Start(id); err != nil {
				return "", err
			}
			return "job " + id + " started (runs when the cell is free)", nil
		case !st.Terminal():
			return "job " + id + " already started (" + string(st) + ")", nil
		}
		return "", fmt.Errorf("job %s is %s: it cannot be started again (submit a new job id)", id, st)
	case Pause:
		switch st {
		case controller.Planning, controller.Running:
			if reason == "" {
				reason = "paused by " + who
			}
			if err := jobs.Pause(id, reason); err != nil {
				return "", err
			}
			return "job " + id + " pausing at the next safe point", nil
		case controller.Paused:
			return "job " + id + " already paused", nil
		case controller.Queued:
			return "", fmt.Errorf("job %s is queued: nothing to pause (cancel it to drop it)", id)
		}
		return "", fmt.Errorf("job %s is already %s: cannot pause", id, st)
	case Resume:
		switch st {
		case controller.Paused, controller.Planning, controller.Running:
			if err := jobs.Resume(id); err != nil {
				if st != controller.Paused {
					return "job " + id + " is " + string(st) + ": not paused, nothing to resume", nil
				}
				return "", err
			}
			return "job " + id + " resuming", nil
		case controller.Queued:
			return "", fmt.Errorf("job %s is queued, not paused (use start)", id)
		}
		return "", fmt.Errorf("job %s is already %s: cannot resume", id, st)
	case Cancel:
		switch {
		case st == controller.Aborted:
			return "job " + id + " already aborted", nil
		case st.Terminal():
			return "", fmt.Errorf("job %s is already %s: nothing to cancel", id, st)
		}
		if reason == "" {
			reason = "cancelled by " + who
		}
		if err := jobs.Cancel(id, reason); err != nil {
			return "", err
		}
		return "job " + id + " cancelling: " + reason, nil
	}
	return "", fmt.Errorf("unknown command %q", verb)
}
