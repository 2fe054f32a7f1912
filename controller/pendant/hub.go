package pendant

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"fabcell/controller"
	"fabcell/controller/ops"
	"fabcell/safety"
)

// Hub follows the controller's events for the operator interfaces: it
// keeps the latest telemetry of the running job, a change counter, and
// the recent errors and refusals. One goroutine reads the Manager's event
// channel; readers poll (never block the controller).
type Hub struct {
	jobs ops.Jobs

	mu      sync.Mutex
	version uint64 // bumped on every job change
	telJob  string
	tel     map[string]float64
	telAt   time.Time
	telVer  uint64
	notes   []Note
	noteSeq uint64
	wake    chan struct{} // closed and replaced on every change

	unsub func()
	done  chan struct{}
}

// Note is an error or refusal reported by a running job.
type Note struct {
	Seq     uint64    `json:"seq"`
	Kind    string    `json:"kind"` // error, refusal
	JobID   string    `json:"job_id"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// NewHub subscribes to jobs' events; Close it.
func NewHub(jobs ops.Jobs) *Hub {
	events, unsub := jobs.Subscribe(1024)
	h := &Hub{jobs: jobs, wake: make(chan struct{}), unsub: unsub, done: make(chan struct{})}
	go h.run(events)
	return h
}

// Close stops following events.
func (h *Hub) Close() {
	h.unsub()
	<-h.done
}

func (h *Hub) run(events <-chan controller.Event) {
	defer close(h.done)
	for e := range events {
		h.mu.Lock()
		switch e.Kind {
		case "state", "progress":
			h.version++
			if e.Kind == "state" && e.Info != nil && e.Info.State.Terminal() && h.telJob == e.JobID {
				h.tel = nil
			}
		case "telemetry":
			h.telJob, h.tel, h.telAt = e.JobID, e.Telemetry, e.At
			h.telVer++
		case "error", "refusal":
			h.noteSeq++
			h.notes = append(h.notes, Note{Seq: h.noteSeq, Kind: e.Kind, JobID: e.JobID, Message: e.Message, At: e.At})
			if len(h.notes) > 50 {
				h.notes = h.notes[len(h.notes)-50:]
			}
			h.version++
		}
		close(h.wake)
		h.wake = make(chan struct{})
		h.mu.Unlock()
	}
}

// Changed returns a channel closed at the next change, and the current
// job and telemetry versions.
func (h *Hub) Changed() (<-chan struct{}, uint64, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.wake, h.version, h.telVer
}

// Telemetry returns the latest telemetry (a copy) and its job.
func (h *Hub) Telemetry() (jobID string, values map[string]float64, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]float64, len(h.tel))
	for k, v := range h.tel {
		out[k] = v
	}
	return h.telJob, out, h.telAt
}

// NotesAfter returns the notes with Seq > seq.
func (h *Hub) NotesAfter(seq uint64) []Note {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Note
	for _, n := range h.notes {
		if n.Seq > seq {
			out = append(out, n)
		}
	}
	return out
}

// View is the live status of the cell shown to an operator.
type View struct {
	Job         string           `json:"job"`
	State       controller.State `json:"state"`
	Reason      string           `json:"reason,omitempty"`
	ProgressPct int              `json:"progress_pct"`
	Step        int              `json:"step"`
	PlannerLead int              `json:"planner_lead"`
	ETAS        float64          `json:"eta_s,omitempty"`
	// Temperatures are the telemetry values in °C (keys ending in _degC).
	Temperatures map[string]float64 `json:"temperatures,omitempty"`
	// Safety is the robot's safety mode (UR name), RobotMode its robot mode.
	Safety    string             `json:"safety,omitempty"`
	RobotMode string             `json:"robot_mode,omitempty"`
	Values    map[string]float64 `json:"values,omitempty"`
}

// CurrentView returns the view of the active job (else the one that
// ended last, else the oldest queued one; "idle" without jobs).
func (h *Hub) CurrentView() View {
	info, ok := ops.Latest(h.jobs)
	if !ok {
		return View{State: "idle"}
	}
	return h.ViewOf(info)
}

// ViewOf returns the view of one job (telemetry only while it runs).
func (h *Hub) ViewOf(info controller.JobInfo) View {
	v := View{Job: info.ID, State: info.State, Reason: info.Reason, ProgressPct: pct(info.Progress), Step: info.StepsDone, PlannerLead: info.PlannerLead}
	if ops.Active(info.State) {
		v.ETAS = info.ETA
	}
	job, tel, _ := h.Telemetry()
	if job == info.ID && len(tel) > 0 && ops.Active(info.State) {
		v.Values = tel
		for k, x := range tel {
			if strings.HasSuffix(k, "_degC") || strings.HasSuffix(k, "_degc") {
				if v.Temperatures == nil {
					v.Temperatures = map[string]float64{}
				}
				v.Temperatures[k] = x
			}
		}
		if m, ok := tel["safety_mode"]; ok {
			v.Safety = safety.SafetyModeName(int32(m))
		}
		if m, ok := tel["robot_mode"]; ok {
			v.RobotMode = safety.RobotModeName(int32(m))
		}
	}
	return v
}

// String is the one-line status the pendant shows, e.g.
// "femur running 42% step 120, lead 8, nozzle 210.0°C, safety NORMAL".
func (v View) String() string {
	if v.Job == "" {
		return "idle: no job"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %d%% step %d", v.Job, v.State, v.ProgressPct, v.Step)
	if ops.Active(v.State) {
		fmt.Fprintf(&b, ", lead %d", v.PlannerLead)
	}
	keys := make([]string, 0, len(v.Temperatures))
	for k := range v.Temperatures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, ", %s %.1f°C", strings.TrimSuffix(strings.TrimSuffix(k, "_degC"), "_degc"), v.Temperatures[k])
	}
	if v.Safety != "" {
		fmt.Fprintf(&b, ", safety %s", v.Safety)
	}
	if v.Reason != "" && v.State != controller.Running {
		fmt.Fprintf(&b, " (%s)", v.Reason)
	}
	return b.String()
}

func pct(p float64) int {
	if !(p > 0) {
		return 0
	}
	return int(math.Min(100, math.Floor(p*100)))
}
