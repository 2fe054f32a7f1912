package mes

import (
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// retainGuard is the embedded broker's hook that refuses retained
// commands (MQTT 3.1.1 §3.3.1.3: a broker delivers a retained PUBLISH to
// the subscribers it already has with RETAIN=0, so the controller cannot
// tell a retained command from a live one — but the broker stores it and
// redelivers it on every later subscription, and a retained "start" would
// restart a job after each reconnect or restart).
//
// A retained PUBLISH with a non-empty payload to a command topic
// (<prefix>/<cell>/jobs/submit or jobs/<id>/<start|pause|resume|cancel>)
// is neither stored nor delivered: an MQTT 5 publisher with QoS ≥ 1 gets a
// PUBACK with reason 0x83 and a reason string, every publisher gets an
// error event with code retained_command on <prefix>/<cell>/events (rate
// limited like the controller's own error events). Retained Sparkplug
// NCMD/DCMD (which Sparkplug 3.0 requires to be published with
// retain=false) are dropped the same way, with a log line.
//
// Empty retained payloads pass: they clear a retained message (MQTT
// 3.1.1 §3.3.1.3) and never are a command. Non-command topics — the
// controller's retained job status and online state among them — are not
// touched.
type retainGuard struct {
	mqtt.HookBase
	prefix string // mqtt.topic_prefix ("" = any)
	qos    byte   // QoS of the error events
	log    *slog.Logger
	srv    *mqtt.Server // set after mqtt.New, before Serve
	now    func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
	supp   int
}

var _ mqtt.Hook = (*retainGuard)(nil)

// ID names the hook in mochi's logs.
func (g *retainGuard) ID() string { return "fabcell-retained-commands" }

// Provides selects the OnPublish event.
func (g *retainGuard) Provides(b byte) bool { return b == mqtt.OnPublish }

// OnPublish refuses retained commands (see retainGuard).
func (g *retainGuard) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if !pk.FixedHeader.Retain || len(pk.Payload) == 0 {
		return pk, nil
	}
	client := ""
	v5 := false
	if cl != nil {
		client, v5 = cl.ID, cl.Properties.ProtocolVersion == 5
	}
	refuse := func() (packets.Packet, error) {
		if v5 && pk.FixedHeader.Qos > 0 {
			return pk, packets.Code{Code: packets.ErrImplementationSpecificError.Code,
				Reason: "retained command refused: publish commands with retain=false"}
		}
		return pk, packets.CodeSuccessIgnore // acknowledged, not stored, not delivered
	}
	if isSparkplugCommand(pk.TopicName) {
		g.log.Warn("embedded broker refused a retained Sparkplug command (NCMD/DCMD must not be retained)",
			"topic", clip(pk.TopicName, 200), "client", client)
		return refuse()
	}
	base, in, ok := g.command(pk.TopicName)
	if !ok {
		return pk, nil
	}
	command := in.verb
	if in.submit {
		command = "submit"
	}
	g.log.Warn("embedded broker refused a retained command (not stored, not delivered)",
		"topic", clip(pk.TopicName, 200), "client", client, "code", CodeRetained)
	if g.allow() {
		ev := Event{Type: "error", Command: command, JobID: in.jobID, RequestID: lenientRequestID(pk.Payload),
			Code: CodeRetained, Topic: clip(pk.TopicName, 256), At: g.now().UTC(),
			Message: "retained " + command + " command refused by the broker (not stored, not delivered, not executed): " +
				"publish commands with retain=false (a retained command would run again on every reconnect)"}
		g.mu.Lock()
		ev.Suppressed, g.supp = g.supp, 0
		g.mu.Unlock()
		if data, err := json.Marshal(ev); err == nil && g.srv != nil {
			if err := g.srv.Publish(Topics{Base: base}.Events(), data, false, g.qos); err != nil {
				g.log.Warn("embedded broker: publishing the retained-command error event", "err", err)
			}
		}
	}
	return refuse()
}

// command reports whether topic is a command topic of some cell under the
// prefix, with the cell's topic base and the parsed topic.
func (g *retainGuard) command(topic string) (base string, in inbound, ok bool) {
	var cell, rest string
	if g.prefix != "" {
		r, found := strings.CutPrefix(topic, g.prefix+"/")
		if !found {
			return "", inbound{}, false
		}
		cell, rest, found = strings.Cut(r, "/")
		if !found || !strings.HasPrefix(rest, "jobs/") {
			return "", inbound{}, false
		}
		base = g.prefix + "/" + cell
	} else {
		i := strings.LastIndex(topic, "/jobs/")
		if i <= 0 {
			return "", inbound{}, false
		}
		base = topic[:i]
	}
	in, err := Topics{Base: base}.parse(topic)
	if err != nil || (!in.submit && in.verb == verbStatus) {
		return "", inbound{}, false
	}
	return base, in, true
}

// isSparkplugCommand: spBv1.0/<group>/NCMD/<node>[/<device>] or DCMD.
func isSparkplugCommand(topic string) bool {
	p := strings.Split(topic, "/")
	return len(p) >= 4 && p[0] == "spBv1.0" && (p[2] == "NCMD" || p[2] == "DCMD")
}

// allow is the error-event token bucket (errBurst, errRate per second).
func (g *retainGuard) allow() bool {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.last.IsZero() {
		g.tokens = min(errBurst, g.tokens+now.Sub(g.last).Seconds()*errRate)
	}
	g.last = now
	if g.tokens < 1 {
		g.supp++
		return false
	}
	g.tokens--
	return true
}
