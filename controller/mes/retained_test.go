package mes

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// TestRetainedCommandNotRedelivered: a retained command is refused once
// and then gone from the broker — a fresh subscriber gets no retained copy
// and a restarted controller is not handed it again. On mosquitto the
// controller refuses the redelivery (RETAIN=1 after subscribing) and
// clears the topic with an empty retained message, whose echo is not
// reported as an empty command; the embedded broker refuses the retained
// publish itself. (Before the fix the retained message stayed on both
// brokers and every controller restart was refused it again.)
func TestRetainedCommandNotRedelivered(t *testing.T) {
	for _, bk := range brokers() {
		t.Run(bk.name, func(t *testing.T) {
			b := bk.start(t)
			cell := testCell(t, "cell1")
			models := modelDir(t)
			tp := NewTopics(cell.MQTT.TopicPrefix, cell.Name)
			mes := newRecorder(t, b.url(), "mes-"+t.Name(), tp.Events())
			mes.publish(t, tp.Command("stale", VerbStart), 1, true, `{"request_id":"r-stale"}`)
			s := newStack(t, b, cell, models)
			ms := mes.waitFor(t, "refusal", 10*time.Second, func(ms []msg) bool { return len(events(tp, ms)) >= 1 })
			if e := events(tp, ms)[0]; e.Type != "error" || e.Code != CodeRetained || e.Command != VerbStart || e.JobID != "stale" || e.RequestID != "r-stale" {
				t.Fatalf("event %+v", e)
			}
			s.waitOnline(t, newRecorder(t, b.url(), "state-"+t.Name(), tp.State()))
			// a fresh subscriber: the retained online state arrives, the
			// command does not
			fresh := newRecorder(t, b.url(), "fresh-"+t.Name(), tp.Command("stale", VerbStart), tp.State())
			fresh.waitFor(t, "retained online state", 10*time.Second, func(ms []msg) bool {
				return slices.ContainsFunc(ms, func(m msg) bool { return m.Topic == tp.State() && m.Retained })
			})
			time.Sleep(300 * time.Millisecond)
			for _, m := range fresh.all() {
				if m.Topic == tp.Command("stale", VerbStart) && len(m.Payload) > 0 {
					t.Fatalf("the broker still holds the retained command: %q (retained=%v)", m.Payload, m.Retained)
				}
			}
			// restart the controller (same client id, persistent session)
			s.close(t)
			s2 := newStack(t, b, cell, models)
			s2.waitOnline(t, fresh)
			time.Sleep(500 * time.Millisecond)
			if ev := events(tp, mes.all()); len(ev) != 1 {
				t.Fatalf("want the one refusal, got %d events: %+v", len(ev), ev)
			}
		})
	}
}

// TestRetainedCommandRefusedLiveByEmbeddedBroker: a retained command
// published while the controller is connected is refused by the embedded
// broker — not executed (under MQTT 3.1.1 it would reach the controller
// with RETAIN=0, indistinguishable from a normal command), answered with a
// retained_command error event — while the controller's own retained
// status and online state are still stored and delivered retained.
func TestRetainedCommandRefusedLiveByEmbeddedBroker(t *testing.T) {
	b := startMochi(t, "")
	cell := testCell(t, "cell1")
	s := newStack(t, b, cell, modelDir(t))
	mes := newRecorder(t, b.url(), "mes-live", s.tp.Base+"/#")
	s.waitOnline(t, mes)
	mes.publish(t, s.tp.Submit(), 1, true, submitJSON("ret", femurRef, ""))
	ms := mes.waitFor(t, "refusal", 10*time.Second, func(ms []msg) bool { return len(events(s.tp, ms)) >= 1 })
	if e := events(s.tp, ms)[0]; e.Type != "error" || e.Code != CodeRetained || e.Command != "submit" || e.RequestID != "req-ret" {
		t.Fatalf("event %+v", e)
	}
	// the same submission without retain is accepted
	mes.publish(t, s.tp.Submit(), 1, false, submitJSON("live", femurRef, ""))
	mes.waitFor(t, "ack", 10*time.Second, func(ms []msg) bool {
		return slices.ContainsFunc(events(s.tp, ms), func(e Event) bool { return e.Type == "ack" && e.JobID == "live" })
	})
	if _, err := s.mgr.Job("ret"); err == nil {
		t.Fatal("the retained submission was executed")
	}
	if n := len(s.mgr.Jobs()); n != 1 {
		t.Fatalf("%d jobs, want 1", n)
	}
	// the controller's retained messages are unaffected
	late := newRecorder(t, b.url(), "late-live", s.tp.Status("live"), s.tp.State(), s.tp.Submit())
	late.waitFor(t, "retained status and state", 10*time.Second, func(ms []msg) bool {
		var st, on bool
		for _, m := range ms {
			st = st || m.Topic == s.tp.Status("live") && m.Retained
			if m.Topic == s.tp.State() && m.Retained {
				var o OnlineState
				on = on || json.Unmarshal(m.Payload, &o) == nil && o.Online
			}
		}
		return st && on
	})
	for _, m := range late.all() {
		if m.Topic == s.tp.Submit() {
			t.Fatalf("retained submission stored: %q", m.Payload)
		}
	}
}
