package mes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"fabcell/config"
	"fabcell/controller"
	"fabcell/controller/ops"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Jobs is the part of the controller the MQTT API drives
// (*controller.Manager implements it).
type Jobs = ops.Jobs

// Options configure the MQTT API.
type Options struct {
	// Jobs is the controller's job manager.
	Jobs Jobs
	// Cell is the cell configuration: its name, the mqtt section (broker,
	// credentials, TLS, QoS, limits) and the defaults that submitted jobs
	// override with params.
	Cell config.Cell
	// ModelDir overrides mqtt.model_dir when non-empty.
	ModelDir string
	// DryRun is reported in the online state.
	DryRun bool
	// Log receives diagnostics (default slog.Default()). Payloads and
	// secrets are never logged.
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// SettleDelay is how long after a (re)connection the controller waits
	// before republishing its retained state, so that publications paho
	// resends from its session store cannot overwrite newer ones (default
	// 200 ms).
	SettleDelay time.Duration
}

// Status is the retained payload of jobs/<id>/status.
type Status struct {
	ID           string                  `json:"id"`
	State        controller.State        `json:"state"`
	Reason       string                  `json:"reason,omitempty"`
	Process      string                  `json:"process"`
	Planner      string                  `json:"planner,omitempty"`
	Model        string                  `json:"model"`
	Progress     float64                 `json:"progress"`
	StepsDone    int                     `json:"steps_done"`
	MovesDone    int                     `json:"moves_done"`
	MovesPlanned int                     `json:"moves_planned"`
	PlannerLead  int                     `json:"planner_lead"`
	ETAS         float64                 `json:"eta_s,omitempty"`
	Starved      int                     `json:"starved"`
	Pauses       int                     `json:"pauses"`
	Resumed      bool                    `json:"resumed,omitempty"`
	Metrics      map[string]float64      `json:"metrics,omitempty"`
	History      []controller.Transition `json:"history"`
	Submitted    time.Time               `json:"submitted"`
	Updated      time.Time               `json:"updated"`
	// Seq counts this job's status publications (1, 2, ...), so a
	// subscriber can order them and tell a republished one from a new one.
	Seq uint64 `json:"seq"`
}

// Event is the payload of the events topic.
type Event struct {
	// Type is ack (command done), duplicate (job id already submitted),
	// error (inbound message refused), job_error or refusal (from a running
	// job).
	Type      string `json:"type"`
	Command   string `json:"command,omitempty"` // submit, start, pause, resume, cancel
	JobID     string `json:"job_id,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Code classifies errors (Code* constants).
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
	// Topic is the inbound topic an error refers to.
	Topic string `json:"topic,omitempty"`
	// State is the job's state after an ack or duplicate.
	State controller.State `json:"state,omitempty"`
	// DuplicateRequest marks the answer to a request id seen before (the
	// command was not executed again).
	DuplicateRequest bool `json:"duplicate_request,omitempty"`
	// Suppressed counts error events not sent since the previous one
	// (error events are rate-limited).
	Suppressed int       `json:"suppressed_errors,omitempty"`
	At         time.Time `json:"at"`
}

// OnlineState is the retained payload of the state topic (and the Will).
type OnlineState struct {
	Online bool   `json:"online"`
	Cell   string `json:"cell"`
	Reason string `json:"reason,omitempty"`
	DryRun bool   `json:"dry_run,omitempty"`
	Jobs   int    `json:"jobs,omitempty"`
	// At is when the state was published; absent in the Will (registered
	// at connection time, published by the broker later).
	At time.Time `json:"at,omitzero"`
}

// Telemetry is the payload of the telemetry topic.
type Telemetry struct {
	JobID string           `json:"job_id"`
	State controller.State `json:"state,omitempty"`
	// Values holds the running job's telemetry: planner_lead_moves, step,
	// and the executor's values (joint angles, TCP, temperatures, safety and
	// robot modes), each key naming its unit.
	Values map[string]float64 `json:"values"`
	At     time.Time          `json:"at"`
}

// Stats counts what the API did.
type Stats struct {
	Received   int64 // inbound messages
	Rejected   int64 // inbound messages answered with an error event
	Published  int64 // outbound messages
	Dropped    int64 // outbound events dropped (queue full while offline)
	Suppressed int64 // error events suppressed by the rate limit
	Connects   int64 // successful (re)connections
}

// Server is fabcell's MQTT API for one cell (see the package doc for the
// topics). One goroutine (the pump) owns all outbound publishing; paho's
// router goroutine runs the inbound handler.
type Server struct {
	opts     Options
	cell     string
	cfg      config.MQTT
	topics   Topics
	modelDir string
	log      *slog.Logger
	qos      byte
	client   paho.Client
	spb      *sparkplugNode

	out       chan Event
	connected chan struct{}
	ctx       context.Context
	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	started   time.Time // when Start ran: statuses updated before it are from an earlier session

	mu        sync.Mutex
	recent    map[string][]uint64 // job → hashes of recently published statuses
	lastPub   map[string]pubKey   // job → what its last status said
	seq       map[string]uint64   // job → status publications so far
	requests  map[string]Event    // command/job/request id → answer
	reqOrder  []string
	clearing  map[string]time.Time // command topic → when clearRetained emptied it
	errTokens float64
	errLast   time.Time
	errSupp   int

	stats struct {
		received, rejected, published, dropped, suppressed, connects atomic.Int64
	}
}

// New prepares the API; Start connects it.
func New(opts Options) (*Server, error) {
	if opts.Jobs == nil {
		return nil, errors.New("mes: Options.Jobs is required")
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SettleDelay <= 0 {
		opts.SettleDelay = 200 * time.Millisecond
	}
	cfg := opts.Cell.MQTT
	dir := opts.ModelDir
	if dir == "" {
		dir = cfg.ModelDir
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("mes: model dir %q: %w", dir, err)
	}
	s := &Server{
		opts: opts, cell: opts.Cell.Name, cfg: cfg, topics: NewTopics(cfg.TopicPrefix, opts.Cell.Name), modelDir: abs,
		log: opts.Log.With("component", "mqtt"), qos: byte(cfg.QoS),
		out: make(chan Event, 1024), connected: make(chan struct{}, 1), done: make(chan struct{}),
		recent: map[string][]uint64{}, lastPub: map[string]pubKey{}, seq: map[string]uint64{}, requests: map[string]Event{}, errTokens: errBurst,
		clearing: map[string]time.Time{},
	}
	co, err := ClientOptions(cfg, ClientID(cfg, s.cell, ""))
	if err != nil {
		return nil, err
	}
	will, _ := json.Marshal(OnlineState{Online: false, Cell: s.cell, Reason: "connection lost"})
	co.SetBinaryWill(s.topics.State(), will, s.qos, true)
	co.SetDefaultPublishHandler(s.onMessage)
	co.SetOnConnectHandler(func(c paho.Client) {
		s.stats.connects.Add(1)
		s.log.Info("connected to broker", "broker", BrokerURL(cfg))
		select {
		case s.connected <- struct{}{}:
		default:
		}
	})
	co.SetConnectionLostHandler(func(_ paho.Client, err error) {
		s.log.Warn("broker connection lost; reconnecting with back-off", "err", err)
	})
	s.client = paho.NewClient(co)
	if cfg.Sparkplug {
		s.spb, err = newSparkplugNode(s, opts.Cell)
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Topics returns the cell's topics.
func (s *Server) Topics() Topics { return s.topics }

// ModelDir returns the absolute model directory.
func (s *Server) ModelDir() string { return s.modelDir }

// Start connects to the broker (retrying with back-off in the background
// while it is unreachable) and starts publishing. It returns at once.
func (s *Server) Start(ctx context.Context) error {
	s.ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	s.started = s.opts.Now()
	events, unsub := s.opts.Jobs.Subscribe(4096)
	s.client.Connect() // ConnectRetry: completes when connected
	if s.spb != nil {
		s.spb.start()
	}
	go s.pump(events, unsub)
	return nil
}

// WaitConnected blocks until the API is connected or ctx ends.
func (s *Server) WaitConnected(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !s.client.IsConnectionOpen() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("mqtt %s: %w", BrokerURL(s.cfg), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Connected reports whether the broker connection is up.
func (s *Server) Connected() bool { return s.client.IsConnectionOpen() }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{Received: s.stats.received.Load(), Rejected: s.stats.rejected.Load(), Published: s.stats.published.Load(),
		Dropped: s.stats.dropped.Load(), Suppressed: s.stats.suppressed.Load(), Connects: s.stats.connects.Load()}
}

// Close publishes the final job statuses and the offline state (retained),
// then disconnects cleanly; the broker keeps the persistent session, so
// commands sent while the controller is down wait for the next start.
// Close the Manager first so that final states are published.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		if s.stop == nil { // never started
			return
		}
		s.stop()
		<-s.done
		if s.client.IsConnectionOpen() {
			s.reconcile(true)
			off, _ := json.Marshal(OnlineState{Online: false, Cell: s.cell, Reason: "shutdown", At: s.opts.Now().UTC()})
			err = wait(ctx, s.client.Publish(s.topics.State(), s.qos, true, off))
		}
		if s.spb != nil {
			s.spb.close(ctx)
		}
		s.client.Disconnect(250)
	})
	return err
}

// errBurst and errRate bound error events (token bucket): a flood of bad
// messages is answered, but not one for one.
const (
	errBurst = 200
	errRate  = 20 // per second
)

// pump owns outbound publishing: job statuses (state changes at once,
// progress coalesced to mqtt.telemetry_hz), telemetry (rate-limited),
// events, and the republication of all retained state after every
// (re)connection.
func (s *Server) pump(events <-chan controller.Event, unsub func()) {
	defer close(s.done)
	defer unsub()
	period := time.Duration(float64(time.Second) / s.cfg.TelemetryHz)
	tick := time.NewTicker(min(period, 250*time.Millisecond))
	defer tick.Stop()
	var (
		settle     <-chan time.Time
		pending    []Event
		dirty      = map[string]bool{}
		lastStatus = map[string]time.Time{}
		tel        *Telemetry
		lastTel    time.Time
		lastRecon  time.Time
	)
	flushEvents := func() {
		for len(pending) > 0 && s.client.IsConnectionOpen() {
			s.publishJSON(s.topics.Events(), s.qos, false, pending[0])
			pending = pending[1:]
		}
	}
	for {
		select {
		case <-s.ctx.Done():
			// drain what is queued
			for {
				select {
				case e := <-s.out:
					pending = append(pending, e)
				default:
					flushEvents()
					return
				}
			}
		case e, ok := <-events:
			if !ok {
				events = nil
				s.reconcile(false)
				continue
			}
			switch e.Kind {
			case "state":
				if e.Info != nil && e.Info.State.Terminal() && tel != nil && tel.JobID == e.JobID {
					tel = nil // no "running" telemetry after the final status
				}
				if e.Info != nil {
					s.publishStatus(*e.Info)
					lastStatus[e.JobID] = s.opts.Now()
					delete(dirty, e.JobID)
				}
			case "progress":
				dirty[e.JobID] = true
			case "telemetry":
				st := controller.State("")
				if info, err := s.opts.Jobs.Job(e.JobID); err == nil {
					st = info.State
				}
				tel = &Telemetry{JobID: e.JobID, State: st, Values: e.Telemetry, At: e.At.UTC()}
			case "error", "refusal":
				typ := "job_error"
				if e.Kind == "refusal" {
					typ = "refusal"
				}
				pending = append(pending, Event{Type: typ, JobID: e.JobID, Message: e.Message, At: e.At.UTC()})
			}
			if s.spb != nil {
				s.spb.jobEvent(e)
			}
			flushEvents()
		case ev := <-s.out:
			pending = append(pending, ev)
			if len(pending) > 1024 {
				s.stats.dropped.Add(int64(len(pending) - 1024))
				pending = pending[len(pending)-1024:]
			}
			flushEvents()
		case <-s.connected:
			settle = time.After(s.opts.SettleDelay)
		case <-settle:
			settle = nil
			// (if the connection was lost again meanwhile, OnConnect fires
			// again after the next one)
			if s.client.IsConnectionOpen() {
				// Subscribe first, so that "online" means commands are heard.
				if err := s.subscribeRetry(); err != nil {
					// Not announcing "online": commands would go unheard.
					// Try again shortly (or after the next reconnect).
					s.log.Error("subscribe failed; staying offline and retrying", "topic", s.topics.Jobs(), "err", err)
					settle = time.After(2 * time.Second)
					continue
				}
				on, _ := json.Marshal(OnlineState{Online: true, Cell: s.cell, DryRun: s.opts.DryRun, Jobs: len(s.opts.Jobs.Jobs()), At: s.opts.Now().UTC()})
				s.publish(s.topics.State(), s.qos, true, on)
				s.reconcile(true)
				flushEvents()
			}
		case now := <-tick.C:
			if !s.client.IsConnectionOpen() {
				continue
			}
			for id := range dirty {
				if now.Sub(lastStatus[id]) >= period {
					if info, err := s.opts.Jobs.Job(id); err == nil {
						s.publishStatus(info)
					}
					lastStatus[id] = now
					delete(dirty, id)
				}
			}
			if tel != nil && now.Sub(lastTel) >= period {
				s.publishJSON(s.topics.Telemetry(), 0, false, tel)
				if s.spb != nil {
					s.spb.telemetry(tel)
				}
				tel, lastTel = nil, now
			}
			// Catch changes whose events a full subscriber buffer dropped.
			if now.Sub(lastRecon) >= time.Second {
				lastRecon = now
				s.reconcile(false)
			}
			flushEvents()
		}
	}
}

// subscribeRetry subscribes, retrying a refused SUBACK a few times:
// mochi v2.7.9 refuses a SUBSCRIBE whose packet id is still in use by a
// message queued in the resumed persistent session ("packet identifier in
// use"), which clears once that message is delivered.
func (s *Server) subscribeRetry() error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if err = s.subscribe(); err == nil || !s.client.IsConnectionOpen() {
			return err
		}
		select {
		case <-time.After(time.Duration(100*(attempt+1)) * time.Millisecond):
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	}
	return err
}

// subscribe (re)subscribes the command topics and waits for the SUBACK.
// The persistent session already holds the subscription after the first
// connection; this matters after a broker lost its sessions (restart
// without persistence).
func (s *Server) subscribe() error {
	tok := s.client.Subscribe(s.topics.Jobs(), s.qos, nil) // nil: default handler
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if err := wait(ctx, tok); err != nil {
		return err
	}
	if st, ok := tok.(*paho.SubscribeToken); ok {
		for topic, code := range st.Result() {
			if code >= 0x80 {
				return fmt.Errorf("broker refused the subscription to %s (code 0x%02x; check the ACL)", topic, code)
			}
		}
	}
	return nil
}

// pubKey is what reconcile compares to decide whether a job's status
// changed since its last publication.
type pubKey struct {
	state  controller.State
	reason string
	steps  int
	report string
}

// reconcile publishes the status of every job whose state, reason or step
// count differs from its last publication (all of them when force).
func (s *Server) reconcile(force bool) {
	if !s.client.IsConnectionOpen() {
		return
	}
	for _, info := range s.opts.Jobs.Jobs() {
		k := pubKey{info.State, info.Reason, info.StepsDone, info.Report}
		s.mu.Lock()
		last, ok := s.lastPub[info.ID]
		s.mu.Unlock()
		if force || !ok || last != k {
			s.publishStatus(info)
		}
	}
}

// publishStatus publishes a job's retained status.
func (s *Server) publishStatus(info controller.JobInfo) {
	if !s.client.IsConnectionOpen() {
		return // republished after the next connection
	}
	s.mu.Lock()
	s.seq[info.ID]++
	seq := s.seq[info.ID]
	s.mu.Unlock()
	st := Status{
		ID: info.ID, State: info.State, Reason: info.Reason, Process: info.Process, Planner: info.Planner, Model: info.Model,
		Progress: info.Progress, StepsDone: info.StepsDone, MovesDone: info.MovesDone, MovesPlanned: info.MovesPlanned,
		PlannerLead: info.PlannerLead, ETAS: info.ETA, Starved: info.Starved, Pauses: info.Pauses, Resumed: info.Resumed,
		History: info.History, Submitted: info.Submitted.UTC(), Updated: s.opts.Now().UTC(), Seq: seq,
	}
	if st.History == nil {
		st.History = []controller.Transition{}
	}
	if info.State.Terminal() {
		st.Metrics = info.Metrics
	}
	data, err := json.Marshal(st)
	if err != nil {
		s.log.Error("status encoding", "job", info.ID, "err", err)
		return
	}
	h := fnv.New64a()
	h.Write(data)
	s.mu.Lock()
	r := append(s.recent[info.ID], h.Sum64())
	if len(r) > 32 {
		r = r[len(r)-32:]
	}
	s.recent[info.ID] = r
	s.lastPub[info.ID] = pubKey{info.State, info.Reason, info.StepsDone, info.Report}
	s.mu.Unlock()
	s.publish(s.topics.Status(info.ID), s.qos, true, data)
}

func (s *Server) publishJSON(topic string, qos byte, retain bool, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encoding", "topic", topic, "err", err)
		return
	}
	s.publish(topic, qos, retain, data)
}

// publish sends without waiting for the acknowledgement (paho completes
// QoS 1/2 flows in the background); while disconnected it sends nothing —
// retained state is republished after the next connection.
func (s *Server) publish(topic string, qos byte, retain bool, data []byte) {
	if !s.client.IsConnectionOpen() {
		return
	}
	s.client.Publish(topic, qos, retain, data)
	s.stats.published.Add(1)
}

// emit queues an event for the pump (never blocks the MQTT router).
func (s *Server) emit(e Event) {
	if e.At.IsZero() {
		e.At = s.opts.Now().UTC()
	}
	select {
	case s.out <- e:
	default:
		s.stats.dropped.Add(1)
	}
}

// fail answers a refused inbound message with a rate-limited error event.
func (s *Server) fail(topic, command, jobID, requestID string, r *reject) {
	s.stats.rejected.Add(1)
	now := s.opts.Now()
	s.mu.Lock()
	if !s.errLast.IsZero() {
		s.errTokens = min(errBurst, s.errTokens+now.Sub(s.errLast).Seconds()*errRate)
	}
	s.errLast = now
	if s.errTokens < 1 {
		s.errSupp++
		s.mu.Unlock()
		s.stats.suppressed.Add(1)
		return
	}
	s.errTokens--
	supp := s.errSupp
	s.errSupp = 0
	s.mu.Unlock()
	s.log.Warn("inbound message refused", "topic", clip(topic, 200), "code", r.code, "err", r.msg)
	s.emit(Event{Type: "error", Command: command, JobID: jobID, RequestID: requestID, Code: r.code, Message: r.msg, Topic: clip(topic, 256), Suppressed: supp})
}

// answer records the answer to a request id (for duplicate deliveries) and
// emits it.
func (s *Server) answer(key string, e Event) {
	if key != "" {
		s.mu.Lock()
		if _, ok := s.requests[key]; !ok {
			s.reqOrder = append(s.reqOrder, key)
			if len(s.reqOrder) > 1024 {
				delete(s.requests, s.reqOrder[0])
				s.reqOrder = s.reqOrder[1:]
			}
		}
		s.requests[key] = e
		s.mu.Unlock()
	}
	s.emit(e)
}

// seen returns the earlier answer to a request id.
func (s *Server) seen(key string) (Event, bool) {
	if key == "" {
		return Event{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.requests[key]
	return e, ok
}

// onMessage validates and executes one inbound message. It never panics
// and never blocks for long (paho's router waits for it).
func (s *Server) onMessage(_ paho.Client, m paho.Message) {
	topic := m.Topic()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("inbound handler panic", "topic", clip(topic, 200), "panic", p, "stack", string(debug.Stack()))
			s.fail(topic, "", "", "", rejectf(CodeInternal, "internal error handling the message (reported in the controller log)"))
		}
	}()
	s.stats.received.Add(1)
	in, err := s.topics.parse(topic)
	if err != nil {
		s.fail(topic, "", "", "", rejectf(CodeBadTopic, "%v", err))
		return
	}
	payload := m.Payload()
	if in.verb == verbStatus {
		s.checkStatus(topic, in.jobID, m.Retained(), payload)
		return
	}
	if len(payload) == 0 && s.ownClear(topic) {
		return // the echo of the controller clearing a retained command
	}
	command := in.verb
	if in.submit {
		command = "submit"
	}
	if len(payload) > s.cfg.MaxPayloadBytes {
		s.fail(topic, command, in.jobID, "", rejectf(CodeTooLarge, "payload of %d bytes exceeds mqtt.max_payload_bytes = %d", len(payload), s.cfg.MaxPayloadBytes))
		return
	}
	if !utf8.Valid(payload) {
		s.fail(topic, command, in.jobID, "", rejectf(CodeNotUTF8, "payload is not valid UTF-8 (send a JSON object)"))
		return
	}
	reqID := lenientRequestID(payload)
	if m.Retained() {
		s.fail(topic, command, in.jobID, reqID, rejectf(CodeRetained, "retained %s command ignored: publish commands with retain=false (a retained command would run again on every reconnect); the controller cleared it from the broker", command))
		s.clearRetained(topic)
		return
	}
	motion := command == "submit" || command == VerbStart || command == VerbResume
	if motion && m.Qos() < min(1, s.qos) {
		s.fail(topic, command, in.jobID, reqID, rejectf(CodeQoS, "%s arrived with QoS %d: commands that start motion must be published with QoS >= 1", command, m.Qos()))
		return
	}
	if in.submit {
		s.handleSubmit(topic, payload)
		return
	}
	s.handleCommand(topic, in.jobID, in.verb, payload)
}

// clearRetained removes a retained command from the broker by publishing
// an empty retained message to its topic (MQTT 3.1.1 §3.3.1.3), so that it
// is not delivered again after the next reconnect. An external broker
// delivers a retained command live with RETAIN=0 — indistinguishable from
// a normal one — and only its later redeliveries carry RETAIN=1; the
// embedded broker refuses retained commands outright (retainGuard). The
// broker delivers the empty message to the controller's own subscription
// too; ownClear recognises that echo.
func (s *Server) clearRetained(topic string) {
	now := s.opts.Now()
	s.mu.Lock()
	for t, at := range s.clearing {
		if now.Sub(at) > clearEchoWindow {
			delete(s.clearing, t)
		}
	}
	if len(s.clearing) < 4096 {
		s.clearing[topic] = now
	}
	s.mu.Unlock()
	s.log.Warn("retained command refused; clearing it on the broker (empty retained message)", "topic", clip(topic, 200))
	s.publish(topic, s.qos, true, []byte{})
}

// clearEchoWindow is how long after clearing a retained command its empty
// echo is expected.
const clearEchoWindow = time.Minute

// ownClear reports (once) whether an empty message on topic is the echo of
// clearRetained.
func (s *Server) ownClear(topic string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.clearing[topic]
	if !ok {
		return false
	}
	delete(s.clearing, topic)
	return s.opts.Now().Sub(at) <= clearEchoWindow
}

// checkStatus ignores the controller's own status publications (echoes and
// retained copies) and reports foreign writers, restoring the true status.
func (s *Server) checkStatus(topic, id string, retained bool, payload []byte) {
	if retained {
		return // stored copy delivered on (re)subscription
	}
	h := fnv.New64a()
	h.Write(payload)
	sum := h.Sum64()
	s.mu.Lock()
	ours := false
	for _, r := range s.recent[id] {
		ours = ours || r == sum
	}
	s.mu.Unlock()
	if ours {
		return
	}
	if staleOwn(payload, id, s.started) {
		// A status this controller published before it (re)started: its
		// persistent session queued the echo while it was offline. Not a
		// foreign writer; make sure the true status is the newest anyway.
		s.mu.Lock()
		delete(s.lastPub, id)
		s.mu.Unlock()
		return
	}
	if len(payload) == 0 {
		// Someone cleared the retained status; restore it if the job exists.
		if _, err := s.opts.Jobs.Job(id); err != nil {
			return
		}
	}
	s.fail(topic, "", id, "", rejectf(CodeForeignStatus, "%s is written by the controller only; the published message was not from it (the true status is republished)", topic))
	if _, err := s.opts.Jobs.Job(id); err == nil {
		s.mu.Lock()
		delete(s.lastPub, id) // the pump's next reconcile republishes it
		s.mu.Unlock()
	}
}

// staleOwn reports whether a status payload is a controller status of job
// id (its "id", "state", "seq" and "updated" fields are set) last updated before
// since — i.e. published by an earlier controller session, not written
// now by someone else.
func staleOwn(payload []byte, id string, since time.Time) bool {
	var st struct {
		ID      string           `json:"id"`
		State   controller.State `json:"state"`
		Seq     uint64           `json:"seq"`
		Updated time.Time        `json:"updated"`
	}
	if json.Unmarshal(payload, &st) != nil || st.ID != id || st.State == "" || st.Seq == 0 || st.Updated.IsZero() {
		return false
	}
	return st.Updated.Before(since)
}

func (s *Server) handleSubmit(topic string, payload []byte) {
	var msg submitMsg
	if rej := decodeStrict(payload, &msg); rej != nil {
		s.fail(topic, "submit", "", lenientRequestID(payload), rej)
		return
	}
	msg.RequestID = clip(msg.RequestID, 128)
	// Submission is idempotent by job id: a redelivery or a resubmission
	// is answered with the job's current state (a repeated request id is
	// marked), never queued again.
	key := ""
	if msg.RequestID != "" {
		key = "submit\x00" + msg.RequestID
	}
	spec := msg.JobSpec
	if controller.ValidJobID(spec.ID) {
		if info, err := s.opts.Jobs.Job(spec.ID); err == nil {
			e := s.duplicate(spec, info, msg.RequestID)
			if prev, ok := s.seen(key); ok && prev.JobID == spec.ID {
				e.DuplicateRequest = true
			}
			s.answer(key, e)
			return
		}
	}
	spec, rej := checkSpec(s.opts.Cell, s.modelDir, spec)
	if rej != nil {
		s.fail(topic, "submit", spec.ID, msg.RequestID, rej)
		return
	}
	info, existed, err := s.opts.Jobs.Submit(spec)
	if err != nil {
		s.fail(topic, "submit", spec.ID, msg.RequestID, rejectf(CodeRejected, "%v", err))
		return
	}
	if existed {
		s.answer(key, s.duplicate(spec, info, msg.RequestID))
		return
	}
	s.log.Info("job submitted over MQTT", "job", info.ID, "process", info.Process)
	note := "queued; waiting for a start command"
	if s.cfg.AutoStart {
		note = "queued; starts when the cell is free"
	}
	s.answer(key, Event{Type: "ack", Command: "submit", JobID: info.ID, RequestID: msg.RequestID, State: info.State, Message: "job " + info.ID + " " + note})
}

// duplicate answers a submission whose job id exists: same job, no second
// print.
func (s *Server) duplicate(spec controller.JobSpec, info controller.JobInfo, reqID string) Event {
	msg := fmt.Sprintf("job %s already exists (%s); the submission was not queued again", info.ID, info.State)
	if spec.Process != info.Process {
		msg += fmt.Sprintf("; note: it differs from the existing job (process %s, not %s)", info.Process, spec.Process)
	}
	return Event{Type: "duplicate", Command: "submit", JobID: info.ID, RequestID: reqID, State: info.State, Message: msg}
}

func (s *Server) handleCommand(topic, id, verb string, payload []byte) {
	var msg commandMsg
	if rej := decodeStrict(payload, &msg); rej != nil {
		s.fail(topic, verb, id, lenientRequestID(payload), rej)
		return
	}
	msg.RequestID = clip(msg.RequestID, 128)
	reason := clip(msg.Reason, 200)
	key := ""
	if msg.RequestID != "" {
		key = verb + "\x00" + id + "\x00" + msg.RequestID
		if e, ok := s.seen(key); ok {
			e.DuplicateRequest, e.At = true, s.opts.Now().UTC()
			s.emit(e)
			return
		}
	}
	info, err := s.opts.Jobs.Job(id)
	if err != nil {
		s.fail(topic, verb, id, msg.RequestID, rejectf(CodeUnknownJob, "no job %q (submit it on %s first)", id, s.topics.Submit()))
		return
	}
	res, err := ops.Apply(s.opts.Jobs, info, verb, reason, "MES")
	if err != nil {
		s.fail(topic, verb, id, msg.RequestID, rejectf(CodeIllegalState, "%v", err))
		return
	}
	after := info.State
	if i, err := s.opts.Jobs.Job(id); err == nil {
		after = i.State
	}
	s.log.Info("MQTT command", "job", id, "command", verb, "result", res)
	s.answer(key, Event{Type: "ack", Command: verb, JobID: id, RequestID: msg.RequestID, State: after, Message: res})
}
