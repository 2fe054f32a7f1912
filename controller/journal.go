package controller

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"fabcell/planners"
)

// The journal is an append-only file of JSON lines, one per event, fsynced
// after every append, so that after a crash, a robot disconnect or a broker
// outage a job resumes from the last acknowledged step: nothing printed
// twice, nothing skipped.
//
// Line kinds:
//
//	{"kind":"job", ...}                 job header (spec, config hash) — first line
//	{"kind":"dispatched","seq":N,...}   step N handed to the executor
//	{"kind":"acked","seq":N,...}        step N acknowledged by the executor
//	{"kind":"state","state":"paused",..} job state change
//
// A torn last line (crash mid-write) is ignored on read; anything else
// malformed is an error naming the line.

// JournalEntry is one journal line.
type JournalEntry struct {
	Kind  string          `json:"kind"`
	Seq   int             `json:"seq,omitempty"`
	Moves []planners.Move `json:"moves,omitempty"`
	State State           `json:"state,omitempty"`
	Note  string          `json:"note,omitempty"`
	Job   *JobSpec        `json:"job,omitempty"`
	// HW are the executor's hardware references of a dispatched step.
	HW map[string]int64 `json:"hw,omitempty"`
	At time.Time        `json:"at"`
}

// Journal appends entries durably.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	path string
	sync bool
}

// OpenJournal opens (creating if needed) the journal at path for appending.
// syncWrites=false skips fsync (tests of unrelated behaviour only).
func OpenJournal(path string, syncWrites bool) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &Journal{f: f, path: path, sync: syncWrites}, nil
}

// Path returns the journal file path.
func (j *Journal) Path() string { return j.path }

// Append writes e and fsyncs before returning.
func (j *Journal) Append(e JournalEntry) error {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("journal: closed")
	}
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("journal append: %w", err)
	}
	if j.sync {
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("journal fsync: %w", err)
		}
	}
	return nil
}

// Close closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// Recovered is what a journal says about a job after a restart.
type Recovered struct {
	Job *JobSpec
	// Acked holds the moves of every acknowledged step in order.
	Acked []planners.Move
	// AckedSteps is the number of acknowledged steps; the next step to
	// dispatch has seq AckedSteps.
	AckedSteps int
	// InFlight is the step that was dispatched but not acknowledged when
	// the journal ended (nil if none). The executor decides whether it
	// completed (e.g. by reading the robot's last-completed register).
	InFlight *JournalEntry
	// LastState is the last recorded job state ("" if none).
	LastState State
}

// ReadJournal reads a journal. A missing file yields an empty Recovered.
func ReadJournal(path string) (Recovered, error) {
	var r Recovered
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	line := 0
	acked := map[int]bool{}
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			line++
			torn := b[len(b)-1] != '\n'
			var e JournalEntry
			if uerr := json.Unmarshal(b, &e); uerr != nil {
				if torn || errors.Is(err, io.EOF) {
					break // torn final line from a crash mid-write
				}
				return r, fmt.Errorf("journal %s:%d: %v", path, line, uerr)
			}
			switch e.Kind {
			case "job":
				r.Job = e.Job
			case "dispatched":
				if e.Seq != r.AckedSteps {
					return r, fmt.Errorf("journal %s:%d: dispatched step %d but %d steps are acknowledged", path, line, e.Seq, r.AckedSteps)
				}
				ec := e
				r.InFlight = &ec
			case "acked":
				if e.Seq != r.AckedSteps || acked[e.Seq] {
					return r, fmt.Errorf("journal %s:%d: ack for step %d out of order (expected %d)", path, line, e.Seq, r.AckedSteps)
				}
				if r.InFlight == nil || r.InFlight.Seq != e.Seq {
					return r, fmt.Errorf("journal %s:%d: ack for step %d that was not dispatched", path, line, e.Seq)
				}
				acked[e.Seq] = true
				r.Acked = append(r.Acked, r.InFlight.Moves...)
				r.AckedSteps++
				r.InFlight = nil
			case "state":
				r.LastState = e.State
			default:
				return r, fmt.Errorf("journal %s:%d: unknown entry kind %q", path, line, e.Kind)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return r, fmt.Errorf("journal %s: %w", path, err)
		}
	}
	return r, nil
}
