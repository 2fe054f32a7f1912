// Package controller is fabcell's runtime: a job (model + process + planner
// + cell configuration) runs as a pipeline of goroutines — the planner
// streams moves into a bounded look-ahead buffer, a checker validates each
// move against simulation and the safety gate, and a dispatcher turns
// checked moves into robot motions, extrusion commands or laser scan
// vectors, waits for each acknowledgement and journals it durably. The same
// pipeline drives a real cell or the built-in simulators (dry run).
package controller

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// JobSpec is what a user submits: from a job YAML file (`fabcell run
// job.yaml`), from MQTT (JSON) or from the pendant.
type JobSpec struct {
	// ID identifies the job; resubmitting the same ID is idempotent.
	ID string `yaml:"id" json:"id"`
	// Process is wireframe, ccf, lpbf (or travel for tests).
	Process string `yaml:"process" json:"process"`
	// Model is a path to the model file (relative paths are resolved
	// against the job file's directory, or against the server's model
	// directory for MQTT jobs).
	Model string `yaml:"model" json:"model,omitempty"`
	// ModelInline carries a model in the message itself (MQTT); ModelFormat
	// names its format by file extension (".json", ".obj", "Node.txt"...).
	ModelInline string `yaml:"model_inline,omitempty" json:"model_inline,omitempty"`
	ModelFormat string `yaml:"model_format,omitempty" json:"model_format,omitempty"`
	// Planner overrides planner.name; Ring and Seed override planner.ring
	// and planner.seed when non-zero.
	Planner string `yaml:"planner,omitempty" json:"planner,omitempty"`
	Ring    int    `yaml:"ring,omitempty" json:"ring,omitempty"`
	Seed    int64  `yaml:"seed,omitempty" json:"seed,omitempty"`
	// Cell is a cell configuration file (relative to the job file); empty =
	// the server's configuration.
	Cell string `yaml:"cell,omitempty" json:"-"`
	// Layers selects layers of a layered model (LPBF CLI), empty = all.
	Layers []int `yaml:"layers,omitempty" json:"layers,omitempty"`
	// MaxSteps stops the job after this many steps of the run (0 = all);
	// running it again continues from the journal. For demos.
	MaxSteps int `yaml:"max_steps,omitempty" json:"max_steps,omitempty"`
	// Params are process parameters overriding cell settings by YAML path
	// (e.g. "robot.print_speed_mm_s": 6); safety.*, controller.*, mqtt.*,
	// pendant.*, serial.*, name and the robot's connection and calibration
	// keys are cell settings a job cannot change (see ApplyOverrides).
	Params map[string]any `yaml:"params,omitempty" json:"params,omitempty"`

	// dir is the directory relative paths are resolved against.
	dir string
}

// MaxJobSpecBytes bounds a job file or message.
const MaxJobSpecBytes = 64 << 20

// LoadJobSpec reads a job YAML file; unknown keys are errors.
func LoadJobSpec(path string) (JobSpec, error) {
	f, err := os.Open(path)
	if err != nil {
		return JobSpec{}, fmt.Errorf("job: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxJobSpecBytes+1))
	if err != nil {
		return JobSpec{}, fmt.Errorf("job %s: %w", path, err)
	}
	if len(data) > MaxJobSpecBytes {
		return JobSpec{}, fmt.Errorf("job %s: larger than %d bytes", path, MaxJobSpecBytes)
	}
	var s JobSpec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return JobSpec{}, fmt.Errorf("job %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	s.dir = filepath.Dir(path)
	if s.ID == "" {
		s.ID = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	if err := s.Validate(); err != nil {
		return JobSpec{}, fmt.Errorf("job %s: %w", path, err)
	}
	return s, nil
}

// ParseJobJSON decodes a JSON job (MQTT); unknown fields are errors.
func ParseJobJSON(data []byte, dir string) (JobSpec, error) {
	if len(data) > MaxJobSpecBytes {
		return JobSpec{}, fmt.Errorf("job: message larger than %d bytes", MaxJobSpecBytes)
	}
	var s JobSpec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return JobSpec{}, fmt.Errorf("job: malformed JSON: %v", err)
	}
	if dec.More() {
		return JobSpec{}, errors.New("job: trailing data after the JSON object")
	}
	s.dir = dir
	if err := s.Validate(); err != nil {
		return JobSpec{}, err
	}
	return s, nil
}

// Validate checks the spec's own fields (the process and model are checked
// when the job is prepared).
func (s JobSpec) Validate() error {
	if !ValidJobID(s.ID) {
		return fmt.Errorf("job: id %q: use 1–64 letters, digits, '-', '_' or '.'", s.ID)
	}
	if s.Process == "" {
		return errors.New("job: process is required")
	}
	if (s.Model == "") == (s.ModelInline == "") {
		return errors.New("job: exactly one of model and model_inline is required")
	}
	if s.ModelInline != "" && s.ModelFormat == "" {
		return errors.New("job: model_inline needs model_format (e.g. \".obj\", \".json\")")
	}
	if s.Ring < 0 || s.Ring > 8 {
		return fmt.Errorf("job: ring %d: must be in [1, 8]", s.Ring)
	}
	if s.MaxSteps < 0 {
		return fmt.Errorf("job: max_steps %d: must be >= 0", s.MaxSteps)
	}
	for _, l := range s.Layers {
		if l < 0 {
			return fmt.Errorf("job: layer %d: must be >= 0", l)
		}
	}
	return nil
}

// ModelPath resolves the model path against the spec's directory.
func (s JobSpec) ModelPath() string {
	if s.Model == "" || filepath.IsAbs(s.Model) || s.dir == "" {
		return s.Model
	}
	return filepath.Join(s.dir, s.Model)
}

// CellPath resolves the cell configuration path ("" = none).
func (s JobSpec) CellPath() string {
	if s.Cell == "" || filepath.IsAbs(s.Cell) || s.dir == "" {
		return s.Cell
	}
	return filepath.Join(s.dir, s.Cell)
}

// Dir returns the directory relative paths resolve against.
func (s JobSpec) Dir() string { return s.dir }

// WithDir returns a copy resolving relative paths against dir.
func (s JobSpec) WithDir(dir string) JobSpec { s.dir = dir; return s }

// ValidJobID reports whether id is a legal job id: 1–64 letters, digits,
// '-', '_' or '.', not "." or "..". Ids become file names and MQTT topic
// levels, so the rule is strict.
func ValidJobID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return id != "." && id != ".."
}

// State is a job's lifecycle state.
type State string

// Job states. queued → planning → running ⇄ paused → completed | aborted |
// failed. A job may also fail or abort from queued/planning/paused.
const (
	Queued    State = "queued"
	Planning  State = "planning"
	Running   State = "running"
	Paused    State = "paused"
	Completed State = "completed"
	Aborted   State = "aborted"
	Failed    State = "failed"
)

// Terminal reports whether no further transition is possible.
func (s State) Terminal() bool { return s == Completed || s == Aborted || s == Failed }

var transitions = map[State][]State{
	Queued:   {Planning, Aborted, Failed},
	Planning: {Running, Paused, Aborted, Failed, Completed},
	Running:  {Paused, Completed, Aborted, Failed},
	Paused:   {Running, Aborted, Failed},
}

// ErrTransition is returned for a transition the state machine forbids.
var ErrTransition = errors.New("illegal job state transition")

// Transition is one recorded state change.
type Transition struct {
	From   State     `json:"from"`
	To     State     `json:"to"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// StateMachine tracks a job's state with reasons; safe for concurrent use.
// Subscribers get every transition in order (buffered; a slow subscriber
// drops and counts, never blocks the job).
type StateMachine struct {
	mu      sync.Mutex
	state   State
	reason  string
	history []Transition
	subs    []chan Transition
	dropped int
	now     func() time.Time
}

// NewStateMachine starts in Queued.
func NewStateMachine(now func() time.Time) *StateMachine {
	if now == nil {
		now = time.Now
	}
	return &StateMachine{state: Queued, now: now}
}

// State returns the current state and the reason of the last transition.
func (m *StateMachine) State() (State, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state, m.reason
}

// To moves to state to with a reason, or returns ErrTransition.
func (m *StateMachine) To(to State, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	from := m.state
	ok := false
	for _, s := range transitions[from] {
		ok = ok || s == to
	}
	if !ok {
		return fmt.Errorf("%w: %s → %s", ErrTransition, from, to)
	}
	t := Transition{From: from, To: to, Reason: reason, At: m.now()}
	m.state, m.reason = to, reason
	m.history = append(m.history, t)
	for _, c := range m.subs {
		select {
		case c <- t:
		default:
			m.dropped++
		}
	}
	return nil
}

// History returns every transition so far.
func (m *StateMachine) History() []Transition {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Transition(nil), m.history...)
}

// Subscribe returns a channel receiving future transitions (capacity 64).
func (m *StateMachine) Subscribe() <-chan Transition {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := make(chan Transition, 64)
	m.subs = append(m.subs, c)
	return c
}
