package mes

import (
	"fmt"

	"fabcell/controller"

	"fabcell/controller/ops"
	"strings"
	"unicode/utf8"
)

// Topics names the topic API of one cell: every topic lies under
// Base = <mqtt.topic_prefix>/<cell name>.
type Topics struct {
	Base string
}

// NewTopics returns the topics of cell under prefix.
func NewTopics(prefix, cell string) Topics { return Topics{Base: prefix + "/" + cell} }

// Submit is where an MES publishes JSON jobs.
func (t Topics) Submit() string { return t.Base + "/jobs/submit" }

// Command is jobs/<id>/<verb> (verb: start, pause, resume, cancel).
func (t Topics) Command(id, verb string) string { return t.Base + "/jobs/" + id + "/" + verb }

// Status is the retained status of job id.
func (t Topics) Status(id string) string { return t.Base + "/jobs/" + id + "/status" }

// Jobs is the filter the controller subscribes to (submissions, commands,
// and — to detect foreign writers — the status topics).
func (t Topics) Jobs() string { return t.Base + "/jobs/#" }

// Telemetry carries rate-limited robot state, planner lead and temperatures.
func (t Topics) Telemetry() string { return t.Base + "/telemetry" }

// Events carries acknowledgements, errors and refusals.
func (t Topics) Events() string { return t.Base + "/events" }

// State is the retained online/offline state (also the Last Will).
func (t Topics) State() string { return t.Base + "/state" }

// Command verbs accepted on jobs/<id>/<verb>.
const (
	VerbStart  = ops.Start
	VerbPause  = ops.Pause
	VerbResume = ops.Resume
	VerbCancel = ops.Cancel
	verbStatus = "status"
)

// inbound is a parsed inbound topic.
type inbound struct {
	submit bool
	jobID  string
	verb   string
}

// parse classifies an inbound topic under t.Jobs(); the error names what is
// wrong with it.
func (t Topics) parse(topic string) (inbound, error) {
	if !utf8.ValidString(topic) {
		return inbound{}, fmt.Errorf("topic is not valid UTF-8")
	}
	rest, ok := strings.CutPrefix(topic, t.Base+"/jobs/")
	if !ok {
		return inbound{}, fmt.Errorf("topic %q is not under %s/jobs/", topic, t.Base)
	}
	if rest == "submit" {
		return inbound{submit: true}, nil
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 2 {
		return inbound{}, fmt.Errorf("topic %q: want %s/jobs/submit or %s/jobs/<id>/<start|pause|resume|cancel>", topic, t.Base, t.Base)
	}
	id, verb := parts[0], parts[1]
	if !controller.ValidJobID(id) {
		return inbound{}, fmt.Errorf("topic %q: job id %q: use 1–64 letters, digits, '-', '_' or '.'", topic, id)
	}
	switch verb {
	case VerbStart, VerbPause, VerbResume, VerbCancel, verbStatus:
	default:
		return inbound{}, fmt.Errorf("topic %q: unknown command %q (want start, pause, resume or cancel)", topic, verb)
	}
	return inbound{jobID: id, verb: verb}, nil
}
