package mes

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fabcell/controller"
)

// stateSeq returns the distinct consecutive states of a status sequence.
func stateSeq(st []Status) []controller.State {
	var out []controller.State
	for _, s := range st {
		if n := len(out); n == 0 || out[n-1] != s.State {
			out = append(out, s.State)
		}
	}
	return out
}

func submitJSON(id, model string, extra string) string {
	return fmt.Sprintf(`{"id":%q,"process":%q,"model":%q,"request_id":"req-%s"%s}`, id, testProcess, model, id, extra)
}

// TestSubmitRunComplete: an MES submits a job, starts it, and an
// independent subscriber sees queued → planning → running → completed;
// a duplicate submission is the same job (no second print); a late
// subscriber gets the retained final status.
func TestSubmitRunComplete(t *testing.T) {
	for _, bk := range brokers() {
		t.Run(bk.name, func(t *testing.T) {
			b := bk.start(t)
			models := modelDir(t)
			s := newStack(t, b, testCell(t, "cell1"), models)
			mes := newRecorder(t, b.url(), "mes-"+t.Name(), s.tp.Base+"/#")
			s.waitOnline(t, mes)
			id := "femur-" + b.name()
			mes.publish(t, s.tp.Submit(), 1, false, submitJSON(id, femurRef, `,"planner":"greedy"`))
			mes.waitFor(t, "submit ack", 10*time.Second, func(ms []msg) bool {
				return slices.ContainsFunc(events(s.tp, ms), func(e Event) bool {
					return e.Type == "ack" && e.Command == "submit" && e.JobID == id && e.RequestID == "req-"+id && e.State == controller.Queued
				})
			})
			// queued, waiting for start (auto_start off)
			time.Sleep(50 * time.Millisecond)
			if n := len(execFor(id).executed()); n != 0 {
				t.Fatalf("%d steps executed before start", n)
			}
			mes.publish(t, s.tp.Command(id, VerbStart), 1, false, `{"request_id":"go-1"}`)
			ms := mes.waitFor(t, "completed status", 60*time.Second, func(ms []msg) bool {
				st, ok := lastStatus(s.tp, id, ms)
				return ok && st.State == controller.Completed
			})
			// duplicate submission: the same job, reported, not run again
			mes.publish(t, s.tp.Submit(), 1, false, strings.Replace(submitJSON(id, femurRef, ""), "req-", "again-", 1))
			ms = mes.waitFor(t, "duplicate event", 10*time.Second, func(ms []msg) bool {
				return slices.ContainsFunc(events(s.tp, ms), func(e Event) bool { return e.Type == "duplicate" && e.JobID == id })
			})
			if got := len(s.mgr.Jobs()); got != 1 {
				t.Fatalf("%d jobs after a duplicate submission", got)
			}
			sts := statuses(s.tp, id, ms)
			want := []controller.State{controller.Queued, controller.Planning, controller.Running, controller.Completed}
			if got := stateSeq(sts); !slices.Equal(got, want) {
				t.Fatalf("status transitions %v, want %v", got, want)
			}
			final := sts[len(sts)-1]
			edges := femurEdges(t)
			if printed := execFor(id).printedOnce(t); printed != edges {
				t.Fatalf("printed %d of %d edges", printed, edges)
			}
			if final.Progress != 1 || final.StepsDone != len(execFor(id).executed()) || final.Metrics["steps"] != float64(final.StepsDone) {
				t.Fatalf("final status: progress %v steps %d (executed %d) metrics %v", final.Progress, final.StepsDone, len(execFor(id).executed()), final.Metrics)
			}
			if len(final.History) != 3 || final.History[2].To != controller.Completed {
				t.Fatalf("history %+v", final.History)
			}
			for i := 1; i < len(sts); i++ {
				if sts[i].Seq <= sts[i-1].Seq {
					t.Fatalf("status seq not increasing: %d then %d", sts[i-1].Seq, sts[i].Seq)
				}
			}
			// the start command was acknowledged with its request id
			if !slices.ContainsFunc(events(s.tp, ms), func(e Event) bool {
				return e.Type == "ack" && e.Command == "start" && e.RequestID == "go-1"
			}) {
				t.Fatal("no ack for the start command")
			}
			// telemetry flowed, rate-limited, with the executor's values
			var (
				tel     []Telemetry
				telRecv []time.Time
			)
			for _, m := range ms {
				if m.Topic == s.tp.Telemetry() {
					var v Telemetry
					if err := json.Unmarshal(m.Payload, &v); err != nil {
						t.Fatal(err)
					}
					tel = append(tel, v)
					telRecv = append(telRecv, m.Received)
				}
			}
			if len(tel) == 0 || tel[0].Values["nozzle_degC"] != 210 || tel[0].JobID != id {
				t.Fatalf("telemetry %+v", tel)
			}
			// 20 Hz limit (50 ms). Single gaps do not measure it: At is when
			// the executor sampled the values, and QoS 0 messages can arrive
			// bunched on a loaded machine. The count over the span cannot
			// exceed the rate (+2 for the ends and one late tick).
			if span := telRecv[len(telRecv)-1].Sub(telRecv[0]); len(tel)-1 > int(span/(50*time.Millisecond))+2 {
				t.Fatalf("%d telemetry messages within %v: more than 20 Hz", len(tel), span)
			}
			// a late subscriber gets the retained completed status and online state
			late := newRecorder(t, b.url(), "late-"+t.Name(), s.tp.Status(id), s.tp.State())
			late.waitFor(t, "retained status", 10*time.Second, func(ms []msg) bool {
				st, ok := lastStatus(s.tp, id, ms)
				return ok && st.State == controller.Completed && ms[0].Retained
			})
		})
	}
}

// TestCancelMidJob: a cancel command aborts a running job between steps.
func TestCancelMidJob(t *testing.T) {
	for _, bk := range brokers() {
		t.Run(bk.name, func(t *testing.T) {
			b := bk.start(t)
			cell := testCell(t, "cell1")
			cell.MQTT.AutoStart = true
			s := newStack(t, b, cell, modelDir(t))
			mes := newRecorder(t, b.url(), "mes-"+t.Name(), s.tp.Base+"/#")
			s.waitOnline(t, mes)
			id := "cancel-" + b.name()
			ex := execFor(id)
			ex.delay = 2 * time.Millisecond
			mes.publish(t, s.tp.Submit(), 1, false, submitJSON(id, femurRef, ""))
			mes.waitFor(t, "running with steps", 30*time.Second, func(ms []msg) bool {
				st, ok := lastStatus(s.tp, id, ms)
				return ok && st.State == controller.Running && st.StepsDone >= 5
			})
			mes.publish(t, s.tp.Command(id, VerbCancel), 1, false, `{"request_id":"c1","reason":"MES: order withdrawn"}`)
			ms := mes.waitFor(t, "aborted status", 20*time.Second, func(ms []msg) bool {
				st, ok := lastStatus(s.tp, id, ms)
				return ok && st.State == controller.Aborted
			})
			st, _ := lastStatus(s.tp, id, ms)
			if st.Reason != "MES: order withdrawn" {
				t.Fatalf("reason %q", st.Reason)
			}
			n := len(ex.executed())
			if n == 0 || n >= femurEdges(t) {
				t.Fatalf("%d steps executed: not a mid-job cancel", n)
			}
			time.Sleep(50 * time.Millisecond)
			if m := len(ex.executed()); m != n {
				t.Fatalf("steps executed after the abort: %d → %d", n, m)
			}
			// cancel again: idempotent ack; start an aborted job: error
			mes.publish(t, s.tp.Command(id, VerbCancel), 1, false, `{}`)
			mes.publish(t, s.tp.Command(id, VerbStart), 1, false, `{"request_id":"s2"}`)
			mes.waitFor(t, "second cancel ack and start refusal", 10*time.Second, func(ms []msg) bool {
				ev := events(s.tp, ms)
				return slices.ContainsFunc(ev, func(e Event) bool {
					return e.Type == "ack" && e.Command == "cancel" && strings.Contains(e.Message, "already aborted")
				}) &&
					slices.ContainsFunc(ev, func(e Event) bool { return e.Type == "error" && e.Code == CodeIllegalState && e.RequestID == "s2" })
			})
		})
	}
}

// TestPauseResumeOverMQTT: pause holds the job between steps; resume
// continues it to completion.
func TestPauseResumeOverMQTT(t *testing.T) {
	b := startMochi(t, "")
	cell := testCell(t, "cell1")
	cell.MQTT.AutoStart = true
	s := newStack(t, b, cell, modelDir(t))
	mes := newRecorder(t, b.url(), "mes-pause", s.tp.Base+"/#")
	s.waitOnline(t, mes)
	id := "pause"
	ex := execFor(id)
	ex.delay = time.Millisecond
	mes.publish(t, s.tp.Submit(), 1, false, submitJSON(id, femurRef, ""))
	mes.waitFor(t, "running", 30*time.Second, func(ms []msg) bool {
		st, ok := lastStatus(s.tp, id, ms)
		return ok && st.State == controller.Running && st.StepsDone > 3
	})
	mes.publish(t, s.tp.Command(id, VerbPause), 1, false, `{"reason":"MES hold"}`)
	mes.waitFor(t, "paused with the MES's reason", 10*time.Second, func(ms []msg) bool {
		st, ok := lastStatus(s.tp, id, ms)
		return ok && st.State == controller.Paused && st.Reason == "MES hold"
	})
	n := len(ex.executed())
	time.Sleep(80 * time.Millisecond)
	if m := len(ex.executed()); m != n {
		t.Fatalf("executed while paused: %d → %d", n, m)
	}
	mes.publish(t, s.tp.Command(id, VerbResume), 1, false, `{}`)
	ms := mes.waitFor(t, "completed", 60*time.Second, func(ms []msg) bool {
		st, ok := lastStatus(s.tp, id, ms)
		return ok && st.State == controller.Completed
	})
	want := []controller.State{controller.Queued, controller.Planning, controller.Running, controller.Paused, controller.Running, controller.Completed}
	if got := stateSeq(statuses(s.tp, id, ms)); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	if ex.printedOnce(t) != femurEdges(t) {
		t.Fatal("not every edge printed")
	}
}

// TestBrokerRestartMidJob: the broker goes down and comes back (without
// persistence: it forgets retained messages and sessions) while a job
// runs; the job is unaffected and the controller republishes the retained
// status and online state after reconnecting.
func TestBrokerRestartMidJob(t *testing.T) {
	for _, bk := range brokers() {
		t.Run(bk.name, func(t *testing.T) {
			b := bk.start(t)
			cell := testCell(t, "cell1")
			cell.MQTT.AutoStart = true
			cell.MQTT.ReconnectMaxS = 1
			s := newStack(t, b, cell, modelDir(t))
			mes := newRecorder(t, b.url(), "mes-"+t.Name(), s.tp.Base+"/#")
			s.waitOnline(t, mes)
			id := "restart-" + b.name()
			ex := execFor(id)
			mes.publish(t, s.tp.Submit(), 1, false, submitJSON(id, femurRef, ""))
			mes.waitFor(t, "running", 30*time.Second, func(ms []msg) bool {
				st, ok := lastStatus(s.tp, id, ms)
				return ok && st.State == controller.Running && st.StepsDone > 10
			})
			ex.hold.Store(true) // keep the job mid-way while the broker is down
			connects := s.api.Stats().Connects
			b.restart(t)
			// the job keeps running without the broker
			time.Sleep(100 * time.Millisecond)
			info, _ := s.mgr.Job(id)
			if info.State != controller.Running {
				t.Fatalf("job %s during the broker outage: %s", id, info.Reason)
			}
			before := len(ex.executed())
			ex.hold.Store(false)
			// a fresh subscriber on the restarted broker: the retained status
			// must come back (republished by the controller)
			fresh := newRecorder(t, b.url(), "fresh-"+t.Name(), s.tp.Base+"/#")
			fresh.waitFor(t, "republished retained status", 30*time.Second, func(ms []msg) bool {
				_, ok := lastStatus(s.tp, id, ms)
				return ok
			})
			if s.api.Stats().Connects <= connects {
				t.Fatal("the controller did not reconnect")
			}
			ms := fresh.waitFor(t, "completed after the restart", 60*time.Second, func(ms []msg) bool {
				st, ok := lastStatus(s.tp, id, ms)
				return ok && st.State == controller.Completed
			})
			if len(ex.executed()) <= before {
				t.Fatal("no steps after the restart")
			}
			if ex.printedOnce(t) != femurEdges(t) {
				t.Fatal("not every edge printed exactly once")
			}
			st, _ := lastStatus(s.tp, id, ms)
			if st.StepsDone != len(ex.executed()) {
				t.Fatalf("final status says %d steps, executed %d", st.StepsDone, len(ex.executed()))
			}
			// and a late subscriber sees the retained final status and online
			late := newRecorder(t, b.url(), "late-"+t.Name(), s.tp.Status(id), s.tp.State())
			late.waitFor(t, "retained completed + online", 10*time.Second, func(ms []msg) bool {
				st, ok := lastStatus(s.tp, id, ms)
				online := slices.ContainsFunc(ms, func(m msg) bool {
					return m.Topic == s.tp.State() && strings.Contains(string(m.Payload), `"online":true`)
				})
				return ok && st.State == controller.Completed && online
			})
		})
	}
}

// TestCommandsWhileOffline: with the persistent session, a submission
// published while the controller is down is delivered when it returns.
func TestCommandsWhileOffline(t *testing.T) {
	for _, bk := range brokers() {
		t.Run(bk.name, func(t *testing.T) {
			b := bk.start(t)
			cell := testCell(t, "cell1")
			models := modelDir(t)
			s := newStack(t, b, cell, models)
			mes := newRecorder(t, b.url(), "mes-"+t.Name(), s.tp.Base+"/#")
			s.waitOnline(t, mes)
			s.close(t) // clean shutdown: offline state published, session kept
			mes.waitFor(t, "offline state", 10*time.Second, func(ms []msg) bool {
				return slices.ContainsFunc(ms, func(m msg) bool {
					return m.Topic == s.tp.State() && strings.Contains(string(m.Payload), `"online":false`) && strings.Contains(string(m.Payload), "shutdown")
				})
			})
			id := "offline-" + b.name()
			mes.publish(t, s.tp.Submit(), 1, false, submitJSON(id, femurRef, ""))
			// the controller comes back with the same client id
			s2 := newStack(t, b, cell, models)
			mes.waitFor(t, "ack of the submission sent while offline", 15*time.Second, func(ms []msg) bool {
				return slices.ContainsFunc(events(s2.tp, ms), func(e Event) bool { return e.Type == "ack" && e.JobID == id })
			})
			if _, err := s2.mgr.Job(id); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRestartNoForeignStatus: the controller's own final statuses, queued
// in its persistent session while it shut down, are delivered to the next
// controller process when it connects; they are not a foreign writer, so
// no foreign_status error event is published (every restart used to report
// one per job the previous process had published).
func TestRestartNoForeignStatus(t *testing.T) {
	for _, bk := range brokers() {
		t.Run(bk.name, func(t *testing.T) {
			b := bk.start(t)
			cell := testCell(t, "cell1")
			models := modelDir(t)
			s := newStack(t, b, cell, models)
			mes := newRecorder(t, b.url(), "mes-"+t.Name(), s.tp.Base+"/#")
			s.waitOnline(t, mes)
			ids := []string{"a-" + b.name(), "b-" + b.name()}
			for _, id := range ids {
				mes.publish(t, s.tp.Submit(), 1, false, submitJSON(id, femurRef, ""))
			}
			mes.waitFor(t, "queued statuses", 10*time.Second, func(ms []msg) bool {
				_, ok1 := lastStatus(s.tp, ids[0], ms)
				_, ok2 := lastStatus(s.tp, ids[1], ms)
				return ok1 && ok2
			})
			s.close(t) // publishes the final statuses (aborted) and goes offline
			mes.waitFor(t, "offline state", 10*time.Second, func(ms []msg) bool {
				return slices.ContainsFunc(ms, func(m msg) bool {
					return m.Topic == s.tp.State() && strings.Contains(string(m.Payload), `"online":false`)
				})
			})
			n := len(mes.all())
			s2 := newStack(t, b, cell, models)
			s2.waitOnline(t, mes)
			time.Sleep(500 * time.Millisecond) // queued session messages arrive at once
			for _, e := range events(s2.tp, mes.all()[n:]) {
				if e.Type == "error" {
					t.Fatalf("restart published an error event: %+v", e)
				}
			}
			// a real foreign writer is still reported
			mes.publish(t, s2.tp.Status(ids[0]), 1, false, `{"id":"`+ids[0]+`","state":"completed"}`)
			mes.waitFor(t, "foreign_status error", 10*time.Second, func(ms []msg) bool {
				return slices.ContainsFunc(events(s2.tp, ms[n:]), func(e Event) bool { return e.Code == CodeForeignStatus })
			})
		})
	}
}

// TestLastWill: an unclean loss of the controller's connection publishes
// the retained offline state (the Will); the controller reconnects and
// says online again.
func TestLastWill(t *testing.T) {
	for _, bk := range brokers() {
		t.Run(bk.name, func(t *testing.T) {
			b := bk.start(t)
			px := newProxy(t, strings.TrimPrefix(b.url(), "tcp://"))
			cell := testCell(t, "cell1")
			cell.MQTT.ReconnectMaxS = 1
			s := newStack(t, proxied{b, px}, cell, modelDir(t))
			mes := newRecorder(t, b.url(), "mes-will", s.tp.State())
			s.waitOnline(t, mes)
			px.cut() // the network drops: no DISCONNECT reaches the broker
			ms := mes.waitFor(t, "will, then online again", 20*time.Second, func(ms []msg) bool {
				will := slices.IndexFunc(ms, func(m msg) bool {
					return strings.Contains(string(m.Payload), `"online":false`) && strings.Contains(string(m.Payload), "connection lost")
				})
				return will >= 0 && slices.ContainsFunc(ms[will:], func(m msg) bool { return strings.Contains(string(m.Payload), `"online":true`) })
			})
			// the Will carries no made-up time (it used to say year 1)
			for _, m := range ms {
				var st OnlineState
				if err := json.Unmarshal(m.Payload, &st); err != nil || st.Cell != "cell1" {
					t.Fatalf("state payload %s: %v", m.Payload, err)
				}
				if !st.Online && strings.Contains(string(m.Payload), `"at"`) {
					t.Fatalf("will carries a time: %s", m.Payload)
				}
				if st.Online && time.Since(st.At) > time.Minute {
					t.Fatalf("online state time %v", st.At)
				}
			}
		})
	}
}

// TestHostileMessages: every malformed or hostile message is answered with
// an error event naming the problem, and nothing is queued or dispatched.
func TestHostileMessages(t *testing.T) {
	for _, bk := range brokers() {
		t.Run(bk.name, func(t *testing.T) {
			b := bk.start(t)
			cell := testCell(t, "cell1")
			cell.MQTT.AutoStart = true
			cell.MQTT.MaxPayloadBytes = 4096
			models := modelDir(t)
			outside := t.TempDir()
			os.WriteFile(filepath.Join(outside, "NodeSecret_wireframe.txt"), []byte("secret"), 0o644)
			if err := os.Symlink(filepath.Join(outside, "NodeSecret_wireframe.txt"), filepath.Join(models, "NodeLink_wireframe.txt")); err != nil {
				t.Fatal(err)
			}
			s := newStack(t, b, cell, models)
			mes := newRecorder(t, b.url(), "mes-"+t.Name(), s.tp.Base+"/#")
			s.waitOnline(t, mes)
			sub := s.tp.Submit()
			big := `{"id":"big","process":"mestest","model":"` + strings.Repeat("a", 5000) + `"}`
			cases := []struct {
				name    string
				topic   string
				payload string
				qos     byte
				code    string
				mention string
			}{
				{"malformed JSON", sub, `{"id": "x", "process":`, 1, CodeMalformed, "unexpected end"},
				{"not an object", sub, `[1,2,3]`, 1, CodeMalformed, "not a JSON object"},
				{"trailing data", sub, submitJSON("t1", femurRef, "") + `{}`, 1, CodeMalformed, "trailing"},
				{"unknown field", sub, `{"id":"u1","process":"mestest","model":"` + femurRef + `","colour":"red"}`, 1, CodeUnknownField, `"colour"`},
				{"cell file injection", sub, `{"id":"u2","process":"mestest","model":"` + femurRef + `","cell":"/etc/passwd"}`, 1, CodeUnknownField, `"cell"`},
				{"wrong type", sub, `{"id":5,"process":"mestest","model":"` + femurRef + `"}`, 1, CodeInvalidField, `"id"`},
				{"bad job id", sub, `{"id":"../../x","process":"mestest","model":"` + femurRef + `"}`, 1, CodeInvalidJob, "id"},
				{"oversize", sub, big, 1, CodeTooLarge, "max_payload_bytes"},
				{"not UTF-8", sub, "{\"id\":\"\xff\xfe\",\"process\":\"mestest\"}", 1, CodeNotUTF8, "UTF-8"},
				{"empty payload", s.tp.Command("ghost", VerbCancel), ``, 1, CodeEmpty, "at least {}"},
				{"unknown process", sub, `{"id":"p1","process":"welding","model":"` + femurRef + `"}`, 1, CodeUnknownProcess, `"welding"`},
				{"unknown planner", sub, `{"id":"p2","process":"mestest","planner":"oracle","model":"` + femurRef + `"}`, 1, CodeUnknownPlanner, `"oracle"`},
				{"bad param key", sub, `{"id":"p3","process":"mestest","model":"` + femurRef + `","params":{"robot.warp_drive":1}}`, 1, CodeBadParams, "robot.warp_drive"},
				{"bad param value", sub, `{"id":"p4","process":"mestest","model":"` + femurRef + `","params":{"mqtt.qos":7}}`, 1, CodeBadParams, "mqtt.qos"},
				{"missing model", sub, `{"id":"m1","process":"mestest","model":"femur/NodeNope_wireframe.txt"}`, 1, CodeModelMissing, "not found"},
				{"no model at all", sub, `{"id":"m2","process":"mestest"}`, 1, CodeInvalidJob, "model"},
				{"path traversal", sub, `{"id":"m3","process":"mestest","model":"../../../../etc/passwd"}`, 1, CodeModelOutside, "leaves"},
				{"absolute path", sub, `{"id":"m4","process":"mestest","model":"/etc/passwd"}`, 1, CodeModelOutside, "absolute"},
				{"symlink escape", sub, `{"id":"m5","process":"mestest","model":"NodeLink_wireframe.txt"}`, 1, CodeModelOutside, "outside"},
				{"broken inline model", sub, `{"id":"m6","process":"mestest","model_inline":"v 1 2\nf 9 9 9\n","model_format":".obj"}`, 1, CodeBadModel, "does not load"},
				{"inline binary format", sub, `{"id":"m7","process":"mestest","model_inline":"x","model_format":".png"}`, 1, CodeInvalidJob, "model_format"},
				{"unknown job", s.tp.Command("ghost", VerbStart), `{"request_id":"g1"}`, 1, CodeUnknownJob, `"ghost"`},
				{"unknown command", s.tp.Base + "/jobs/ghost/explode", `{}`, 1, CodeBadTopic, `"explode"`},
				{"bad id in topic", s.tp.Base + "/jobs/bad id!/start", `{}`, 1, CodeBadTopic, "job id"},
				{"extra topic level", s.tp.Base + "/jobs/ghost/start/now", `{}`, 1, CodeBadTopic, "want"},
				{"command unknown field", s.tp.Command("ghost", VerbPause), `{"force":true}`, 1, CodeUnknownField, `"force"`},
				{"QoS 0 submission", sub, submitJSON("q0", femurRef, ""), 0, CodeQoS, "QoS"},
				{"forged status", s.tp.Status("ghost"), `{"id":"ghost","state":"completed"}`, 1, CodeForeignStatus, "controller only"},
			}
			seen := 0
			for _, c := range cases {
				mes.publish(t, c.topic, c.qos, false, c.payload)
				mes.waitFor(t, c.name+" error event", 10*time.Second, func(ms []msg) bool {
					ev := events(s.tp, ms)
					errs := 0
					for _, e := range ev {
						if e.Type == "error" {
							errs++
							if errs == seen+1 {
								if e.Code != c.code || !strings.Contains(e.Message, c.mention) {
									t.Fatalf("%s: error event %+v, want code %s mentioning %q", c.name, e, c.code, c.mention)
								}
								return true
							}
						}
					}
					return false
				})
				seen++
			}
			if len(cases) < 10 {
				t.Fatal("fewer than 10 hostile cases")
			}
			if jobs := s.mgr.Jobs(); len(jobs) != 0 {
				t.Fatalf("hostile messages queued jobs: %+v", jobs)
			}
			for _, id := range []string{"q0", "t1", "u1", "m5"} {
				if n := len(execFor(id).executed()); n != 0 {
					t.Fatalf("job %s dispatched %d steps", id, n)
				}
			}
			if st := s.api.Stats(); st.Rejected < int64(len(cases)) {
				t.Fatalf("stats %+v", st)
			}
			// the API still works after the onslaught
			mes.publish(t, sub, 1, false, submitJSON("after", femurRef, ""))
			mes.waitFor(t, "completed", 60*time.Second, func(ms []msg) bool {
				st, ok := lastStatus(s.tp, "after", ms)
				return ok && st.State == controller.Completed
			})
		})
	}
}

// TestRetainedCommandRefused: a retained command lying on the broker
// (published with retain=true) is replayed to the controller on every
// subscription with the RETAIN flag set; it is refused each time, never
// executed. (A retained command delivered live carries RETAIN=0 under MQTT
// 3.1.1 and cannot be told apart; its replays are what would re-run it.)
func TestRetainedCommandRefused(t *testing.T) {
	for _, bk := range brokers() {
		t.Run(bk.name, func(t *testing.T) {
			b := bk.start(t)
			cell := testCell(t, "cell1")
			cell.MQTT.AutoStart = true
			tp := NewTopics(cell.MQTT.TopicPrefix, cell.Name)
			mes := newRecorder(t, b.url(), "mes-"+t.Name(), tp.Events())
			mes.publish(t, tp.Submit(), 1, true, submitJSON("stale", femurRef, ""))
			mes.publish(t, tp.Command("stale", VerbStart), 1, true, `{}`)
			s := newStack(t, b, cell, modelDir(t))
			ms := mes.waitFor(t, "two refusals", 10*time.Second, func(ms []msg) bool { return len(events(tp, ms)) >= 2 })
			for _, e := range events(tp, ms) {
				if e.Type != "error" || e.Code != CodeRetained || !strings.Contains(e.Message, "retain") {
					t.Fatalf("event %+v", e)
				}
			}
			if len(s.mgr.Jobs()) != 0 || len(execFor("stale").executed()) != 0 {
				t.Fatal("a retained command ran")
			}
			// clear the retained messages (the empty payloads are refused
			// too) once the controller listens (the embedded broker answers
			// the retained publications before it subscribed)
			s.waitOnline(t, newRecorder(t, b.url(), "state-"+t.Name(), tp.State()))
			mes.publish(t, tp.Submit(), 1, true, []byte{})
			mes.publish(t, tp.Command("stale", VerbStart), 1, true, []byte{})
			mes.waitFor(t, "refusal of the clearing messages", 10*time.Second, func(ms []msg) bool { return len(events(tp, ms)) >= 4 })
			if len(s.mgr.Jobs()) != 0 {
				t.Fatal("a clearing message queued a job")
			}
		})
	}
}

// TestDuplicateRequestID: a redelivered command (same request id) returns
// the first answer and is not executed again.
func TestDuplicateRequestID(t *testing.T) {
	b := startMochi(t, "")
	s := newStack(t, b, testCell(t, "cell1"), modelDir(t))
	mes := newRecorder(t, b.url(), "mes-dup", s.tp.Base+"/#")
	s.waitOnline(t, mes)
	p := submitJSON("dup", femurRef, "")
	mes.publish(t, s.tp.Submit(), 1, false, p)
	mes.publish(t, s.tp.Submit(), 1, false, p)
	ms := mes.waitFor(t, "two answers", 10*time.Second, func(ms []msg) bool { return len(events(s.tp, ms)) >= 2 })
	ev := events(s.tp, ms)
	if ev[0].Type != "ack" || ev[0].DuplicateRequest || ev[1].Type != "duplicate" || !ev[1].DuplicateRequest || ev[1].RequestID != "req-dup" {
		t.Fatalf("events %+v", ev)
	}
	if len(s.mgr.Jobs()) != 1 {
		t.Fatal("duplicate request queued twice")
	}
}

// TestInlineModel: a job can carry its model inline (OBJ text).
func TestInlineModel(t *testing.T) {
	b := startMochi(t, "")
	cell := testCell(t, "cell1")
	cell.MQTT.AutoStart = true
	s := newStack(t, b, cell, modelDir(t))
	mes := newRecorder(t, b.url(), "mes-inline", s.tp.Base+"/#")
	s.waitOnline(t, mes)
	// a tetrahedron frame standing on the bed
	obj := "v 0 0 0\nv 20 0 0\nv 0 20 0\nv 0 0 20\nl 1 2\nl 1 3\nl 1 4\nl 2 3\nl 2 4\nl 3 4\n"
	payload, _ := json.Marshal(map[string]any{"id": "tet", "process": testProcess, "model_inline": obj, "model_format": ".obj"})
	mes.publish(t, s.tp.Submit(), 1, false, payload)
	ms := mes.waitFor(t, "completed", 30*time.Second, func(ms []msg) bool {
		st, ok := lastStatus(s.tp, "tet", ms)
		return ok && st.State.Terminal()
	})
	st, _ := lastStatus(s.tp, "tet", ms)
	if st.State != controller.Completed {
		t.Fatalf("inline job %s: %s", st.State, st.Reason)
	}
	if n := execFor("tet").printedOnce(t); n != 6 {
		t.Fatalf("printed %d of 6 edges", n)
	}
}

func TestCloseBeforeStart(t *testing.T) {
	mgr := controller.NewManager(controller.Options{Log: quietLog()})
	defer mgr.Close()
	s, err := New(Options{Jobs: mgr, Cell: testCell(t, "c")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestDryRunOverMQTT: the full stack of `fabcell serve --dry-run` below
// the command line — the Femur wire frame as a "travel" job on the UR5e
// simulator (controller.OpenCell), submitted and started over MQTT and
// followed by an independent subscriber to completion.
func TestDryRunOverMQTT(t *testing.T) {
	b := startMochi(t, "")
	cell := testCell(t, "dry1")
	cell.Controller.TimeScale = 50
	cell.Robot.PrintSpeedMMS = 20
	b.configure(&cell)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cio, err := controller.OpenCell(ctx, cell, true, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer cio.Close()
	models := modelDir(t)
	mgr := controller.NewManager(controller.Options{Cell: cell, IO: cio, ModelDir: models, Log: quietLog()})
	api, err := New(Options{Jobs: mgr, Cell: cell, ModelDir: models, DryRun: true, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	api.Start(ctx)
	s := &stack{cell: cell, mgr: mgr, api: api, tp: api.Topics()}
	defer s.close(t)
	mes := newRecorder(t, b.url(), "mes-dry", s.tp.Base+"/#")
	s.waitOnline(t, mes)
	mes.publish(t, s.tp.Submit(), 1, false, `{"id":"femur","process":"travel","model":"`+femurRef+`","max_steps":120,"request_id":"r1"}`)
	mes.publish(t, s.tp.Command("femur", VerbStart), 1, false, `{"request_id":"r2"}`)
	ms := mes.waitFor(t, "completed", 90*time.Second, func(ms []msg) bool {
		st, ok := lastStatus(s.tp, "femur", ms)
		return ok && st.State.Terminal()
	})
	st, _ := lastStatus(s.tp, "femur", ms)
	if st.State != controller.Completed || st.StepsDone != 120 {
		t.Fatalf("femur %s after %d steps: %s", st.State, st.StepsDone, st.Reason)
	}
	want := []controller.State{controller.Queued, controller.Planning, controller.Running, controller.Completed}
	if got := stateSeq(statuses(s.tp, "femur", ms)); !slices.Equal(got, want) {
		t.Fatalf("transitions %v", got)
	}
	// robot telemetry from the simulator reached the MES
	if !slices.ContainsFunc(ms, func(m msg) bool {
		return m.Topic == s.tp.Telemetry() && strings.Contains(string(m.Payload), `"safety_mode":1`) && strings.Contains(string(m.Payload), `"q0_rad"`)
	}) {
		t.Fatal("no robot telemetry")
	}
}
