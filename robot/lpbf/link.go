package lpbf

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Link is the controller's connection to one LPBF machine (package
// comment). It is safe for concurrent use; requests for different keys may
// run in parallel, but fabcell sends one chunk at a time.
type Link struct {
	opts   Options
	topics Topics
	log    *slog.Logger
	c      paho.Client
	reqID  string
	reqN   atomic.Uint64

	mu        sync.Mutex
	connected bool
	connEpoch uint64
	state     State
	haveState bool
	// fresh: a state message arrived since the last (re)connect. A broker
	// restart loses the retained state; until the machine republishes it,
	// the machine counts as offline.
	fresh   bool
	changed chan struct{} // closed and replaced on every change
	waiters map[ackKey]*waiter
	events  []Event
	stats   Stats
	closed  bool
	done    chan struct{}
	subWG   sync.WaitGroup
}

// Stats count the link's traffic.
type Stats struct {
	Requests   int64 // messages sent (first sends)
	Resends    int64 // sends repeated after a reconnect of either side
	Acks       int64 // acks matched to a request
	Duplicates int64 // acks marked duplicate by the machine
	StaleAcks  int64 // acks for no pending request (e.g. for a previous controller process)
	Events     int64
	Reconnects int64
}

type ackKey struct {
	kind, job string
	layer     int
	chunk     int64
}

type waiter struct {
	req string
	ch  chan Ack
}

// Dial connects to the broker and waits until the link is subscribed to
// the machine's topics (or ctx ends; an attempt under way is finished
// first, at most Options.ConnectTimeout). The client then reconnects on its
// own with exponential back-off.
func Dial(ctx context.Context, opts Options) (*Link, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	t, err := NewTopics(opts.Prefix, opts.Cell)
	if err != nil {
		return nil, err
	}
	var rb [6]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return nil, fmt.Errorf("lpbf: request id: %w", err)
	}
	l := &Link{opts: opts, topics: t, log: opts.Log, reqID: hex.EncodeToString(rb[:]), changed: make(chan struct{}),
		waiters: map[ackKey]*waiter{}, done: make(chan struct{})}
	retry := min(time.Second, opts.ReconnectMax)
	po := paho.NewClientOptions().AddBroker(opts.BrokerURL).SetClientID(opts.ClientID).
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(opts.ReconnectMax).
		SetConnectTimeout(opts.ConnectTimeout).
		SetKeepAlive(opts.KeepAlive).SetPingTimeout(min(10*time.Second, opts.KeepAlive)).
		SetWriteTimeout(10 * time.Second).SetOrderMatters(true).
		SetDefaultPublishHandler(l.onMessage).
		SetOnConnectHandler(l.onConnect).
		SetConnectionLostHandler(l.onLost)
	SetCredentials(po, opts.Username, opts.Password, opts.TLS)
	l.c = paho.NewClient(po)
	if err := ConnectWithRetry(ctx, l.c, retry); err != nil {
		l.Close()
		return nil, fmt.Errorf("lpbf: connect to %s: %w", redact(opts.BrokerURL), err)
	}
	for {
		l.mu.Lock()
		ok, ch := l.connEpoch > 0, l.changed
		l.mu.Unlock()
		if ok {
			return l, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			l.Close()
			return nil, fmt.Errorf("lpbf: connect to %s: %w", redact(opts.BrokerURL), ctx.Err())
		}
	}
}

func redact(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}

// Topics returns the link's topics.
func (l *Link) Topics() Topics { return l.topics }

// notify wakes every waiter; l.mu must be held.
func (l *Link) notify() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// onConnect subscribes (again: a restarted broker forgets subscriptions)
// and then opens a new connection epoch, which makes pending requests
// resend.
func (l *Link) onConnect(c paho.Client) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.subWG.Add(1) // under mu and before closed: never concurrent with Close's Wait
	// Only a state received after this (re)subscription counts: the broker
	// sends the retained state on every subscribe.
	l.fresh = false
	l.mu.Unlock()
	defer l.subWG.Done()
	subs := map[string]byte{l.topics.Ack(): l.opts.QoS, l.topics.State(): l.opts.QoS, l.topics.Events(): l.opts.QoS}
	for attempt := 0; ; attempt++ {
		err := Subscribe(c, subs, l.opts.ConnectTimeout, l.done)
		if err == nil {
			break
		}
		if errors.Is(err, ErrClosed) {
			return
		}
		l.log.Warn("lpbf link: subscribe failed; retrying", "err", err, "attempt", attempt)
		if !c.IsConnectionOpen() {
			return // the next connection subscribes again
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-l.done:
			return
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	if l.connEpoch > 0 {
		l.stats.Reconnects++
	}
	l.connected = true
	l.connEpoch++
	l.notify()
}

func (l *Link) onLost(_ paho.Client, err error) {
	l.log.Warn("lpbf link: connection lost; reconnecting", "broker", redact(l.opts.BrokerURL), "err", err)
	l.mu.Lock()
	l.connected, l.fresh = false, false
	l.notify()
	l.mu.Unlock()
}

// onMessage dispatches every incoming message by topic. It never blocks:
// acks go to a waiter's buffered channel or are counted as stale.
func (l *Link) onMessage(_ paho.Client, m paho.Message) {
	p := m.Payload()
	if len(p) > l.opts.MaxPayloadBytes {
		l.log.Warn("lpbf link: oversized message dropped", "topic", m.Topic(), "bytes", len(p))
		return
	}
	switch m.Topic() {
	case l.topics.Ack():
		var a Ack
		if err := json.Unmarshal(p, &a); err != nil {
			l.log.Warn("lpbf link: malformed ack dropped", "err", err)
			return
		}
		l.mu.Lock()
		w, ok := l.waiters[ackKey{a.Kind, a.Job, a.Layer, a.Chunk}]
		if ok && w.req == a.Req {
			select {
			case w.ch <- a:
			default: // a second ack for the same request: the first one counts
			}
		} else {
			l.stats.StaleAcks++
		}
		l.mu.Unlock()
	case l.topics.State():
		if len(p) == 0 { // retained state cleared
			return
		}
		var s State
		if err := json.Unmarshal(p, &s); err != nil {
			l.log.Warn("lpbf link: malformed state dropped", "err", err)
			return
		}
		l.mu.Lock()
		if s.Will && l.haveState && s.Boot == l.state.Boot {
			// The Last Will carries no job table: keep the last one seen.
			s.Jobs = l.state.Jobs
		}
		if !s.Online {
			s.LaserOn = false
		}
		l.state, l.haveState, l.fresh = s, true, true
		l.notify()
		l.mu.Unlock()
	case l.topics.Events():
		var e Event
		if err := json.Unmarshal(p, &e); err != nil {
			l.log.Warn("lpbf link: malformed event dropped", "err", err)
			return
		}
		l.log.Warn("lpbf machine event", "kind", e.Kind, "job", e.Job, "layer", e.Layer, "chunk", e.Chunk, "code", e.Code, "msg", e.Message)
		l.mu.Lock()
		l.stats.Events++
		if len(l.events) == 64 {
			copy(l.events, l.events[1:])
			l.events = l.events[:63]
		}
		l.events = append(l.events, e)
		l.mu.Unlock()
	}
}

// State returns the machine's latest state and whether one was received.
func (l *Link) State() (State, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state, l.haveState
}

// Events returns the machine's latest events (at most 64), oldest first.
func (l *Link) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

// Stats returns the traffic counters.
func (l *Link) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Connected reports whether the link is connected and subscribed.
func (l *Link) Connected() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.connected
}

// machineOnline: a state received on the current connection says online.
func (l *Link) machineOnline() bool { return l.connected && l.fresh && l.haveState && l.state.Online }

// WaitOnline waits until the link is connected and the machine's state on
// the current connection says online, and returns that state. On ctx's end
// it returns an error wrapping ErrOffline.
func (l *Link) WaitOnline(ctx context.Context) (State, error) {
	for {
		l.mu.Lock()
		ok, st, ch, closed := l.machineOnline(), l.state, l.changed, l.closed
		conn := l.connected
		l.mu.Unlock()
		if closed {
			return State{}, ErrClosed
		}
		if ok {
			return st, nil
		}
		select {
		case <-ch:
		case <-l.done:
			return State{}, ErrClosed
		case <-ctx.Done():
			why := "no online state on " + l.topics.State()
			if !conn {
				why = "not connected to the broker " + redact(l.opts.BrokerURL)
			}
			return State{}, fmt.Errorf("%w: %s (%v)", ErrOffline, why, ctx.Err())
		}
	}
}

// LastCompleted returns the last chunk id of job the machine completed, from
// its retained state (−1: none), once the machine is online; known=false
// when ctx ends first.
func (l *Link) LastCompleted(ctx context.Context, job string) (chunk int64, known bool) {
	st, err := l.WaitOnline(ctx)
	if err != nil {
		return -1, false
	}
	js, ok := st.Jobs[job]
	if !ok {
		return -1, true
	}
	return js.LastChunk, true
}

func (l *Link) nextReq() string {
	return fmt.Sprintf("%s-%d", l.reqID, l.reqN.Add(1))
}

// BeginLayer sends layer/begin and waits for its ack. The machine accepts a
// repeated begin of the open layer (a resumed job) and reports it as a
// duplicate.
func (l *Link) BeginLayer(ctx context.Context, b LayerBegin) (Ack, error) {
	b.V = Version
	b.Req = l.nextReq()
	if err := b.Validate(); err != nil {
		return Ack{}, err
	}
	data, err := l.encode(b)
	if err != nil {
		return Ack{}, err
	}
	return l.request(ctx, ackKey{KindLayerBegin, b.Job, b.Layer, -1}, b.Req, l.topics.LayerBegin(), data, l.opts.AckTimeout)
}

// SendChunk sends a chunk and waits for its ack, resending it after every
// reconnect of the link and every new connection of the machine; the ack
// timeout (Options.AckTimeout + the chunk's estimate) runs only while both
// are connected. A rejection is a *RejectedError (errors.Is ErrRejected and
// ErrFieldSize / ErrPower / ErrSequence ... by code) naming the vector.
func (l *Link) SendChunk(ctx context.Context, c Chunk) (Ack, error) {
	c.Req = l.nextReq()
	if err := c.Validate(0); err != nil {
		return Ack{}, err
	}
	data, err := l.encode(c)
	if err != nil {
		return Ack{}, fmt.Errorf("chunk %d: %w", c.ID, err)
	}
	budget := l.opts.AckTimeout + time.Duration(c.EstimateS*float64(time.Second))
	return l.request(ctx, ackKey{KindChunk, c.Job, c.Layer, c.ID}, c.Req, l.topics.Vectors(), data, budget)
}

// EndLayer sends layer/end with the layer's totals and waits for its ack;
// the machine rejects it (code "count") if they differ from what it
// executed.
func (l *Link) EndLayer(ctx context.Context, e LayerEnd) (Ack, error) {
	e.Req = l.nextReq()
	if err := e.Validate(); err != nil {
		return Ack{}, err
	}
	data, err := l.encode(e)
	if err != nil {
		return Ack{}, err
	}
	return l.request(ctx, ackKey{KindLayerEnd, e.Job, e.Layer, -1}, e.Req, l.topics.LayerEnd(), data, l.opts.AckTimeout)
}

func (l *Link) encode(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("lpbf: encode: %w", err)
	}
	if len(data) > l.opts.MaxPayloadBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d (use smaller chunks)", ErrTooLarge, len(data), l.opts.MaxPayloadBytes)
	}
	return data, nil
}

// request publishes data and waits for the ack of key/req (see SendChunk).
func (l *Link) request(ctx context.Context, key ackKey, req, topic string, data []byte, budget time.Duration) (Ack, error) {
	w := &waiter{req: req, ch: make(chan Ack, 1)}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return Ack{}, ErrClosed
	}
	if _, busy := l.waiters[key]; busy {
		l.mu.Unlock()
		return Ack{}, fmt.Errorf("lpbf: %s %s/%d/%d is already waiting for an ack", key.kind, key.job, key.layer, key.chunk)
	}
	l.waiters[key] = w
	l.stats.Requests++
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		if l.waiters[key] == w {
			delete(l.waiters, key)
		}
		l.mu.Unlock()
	}()

	var (
		sentConn     uint64
		sentMachine  string
		tok          paho.Token
		tokDone      <-chan struct{}
		timer        = time.NewTimer(time.Hour)
		timerRunning bool
		started      time.Time
		remaining    = budget
	)
	timer.Stop()
	defer timer.Stop()
	publish := func(resend bool) error {
		l.mu.Lock()
		sentConn, sentMachine = l.connEpoch, l.state.Epoch()
		if resend {
			l.stats.Resends++
		}
		l.mu.Unlock()
		tok = l.c.Publish(topic, l.opts.QoS, false, data)
		tokDone = tok.Done()
		remaining = budget
		if timerRunning {
			timer.Stop()
			timerRunning = false
		}
		return nil
	}
	_ = publish(false)
	for {
		l.mu.Lock()
		conn, online, ch := l.connected, l.machineOnline(), l.changed
		epoch, machine := l.connEpoch, l.state.Epoch()
		closed := l.closed
		l.mu.Unlock()
		if closed {
			return Ack{}, ErrClosed
		}
		if conn && online && (epoch != sentConn || machine != sentMachine) {
			l.log.Info("lpbf link: resending after reconnect", "kind", key.kind, "job", key.job, "chunk", key.chunk)
			_ = publish(true)
		}
		switch active := conn && online; {
		case active && !timerRunning:
			timer.Reset(remaining)
			started, timerRunning = time.Now(), true
		case !active && timerRunning:
			timer.Stop()
			remaining -= time.Since(started)
			timerRunning = false
		}
		select {
		case a := <-w.ch:
			l.mu.Lock()
			l.stats.Acks++
			if a.Duplicate {
				l.stats.Duplicates++
			}
			l.mu.Unlock()
			if a.Status != StatusOK {
				return a, rejection(a)
			}
			return a, nil
		case <-tokDone:
			// A publish that failed with the connection is sent again
			// after the reconnect; one that failed on an open connection
			// ends in the ack timeout.
			tokDone = nil
			if err := tok.Error(); err != nil {
				l.log.Info("lpbf link: publish failed; resending after reconnect", "topic", topic, "err", err)
			}
		case <-ch:
		case <-timer.C:
			timerRunning = false
			return Ack{}, fmt.Errorf("%w for %s %s/%d/%d within %v (connected, machine online)", ErrAckTimeout, key.kind, key.job, key.layer, key.chunk, budget)
		case <-ctx.Done():
			return Ack{}, ctx.Err()
		case <-l.done:
			return Ack{}, ErrClosed
		}
	}
}

// Close disconnects (pending requests return ErrClosed) and waits for the
// link's goroutines.
func (l *Link) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	l.notify()
	l.mu.Unlock()
	Disconnect(l.c, 250)
	l.subWG.Wait()
	return nil
}

// Disconnect disconnects a paho client and waits until paho's own
// disconnect goroutine has finished: paho's Disconnect may return before it
// (its quiesce timer races the one inside); a second call blocks until the
// running disconnect completed (bounded by 2 s). Exactly two calls: in
// paho v1.5.1 a third one, after a disconnect that interrupted a reconnect
// attempt, would block forever on a nil channel. A disconnect during a
// reconnect back-off finishes when paho's back-off sleep ends (at most the
// reconnect interval).
func Disconnect(c paho.Client, quiesceMS uint) {
	c.Disconnect(quiesceMS)
	c.Disconnect(2000)
}

// Subscribe subscribes c to subs and waits for the SUBACK (at most timeout,
// or until done is closed: ErrClosed). A filter the broker refused (return
// code 0x80) is an error — paho reports it only in the token's result; a
// broker may refuse e.g. when a new client instance of a persistent session
// reuses the packet id of a message still queued for the session (mochi
// v2.7.9 answers ErrPacketIdentifierInUse) — and the caller should retry.
func Subscribe(c paho.Client, subs map[string]byte, timeout time.Duration, done <-chan struct{}) error {
	tok := c.SubscribeMultiple(subs, nil)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
wait:
	for {
		select {
		case <-tok.Done():
			break wait
		case <-poll.C:
			if !c.IsConnectionOpen() { // paho may not fail the token on a lost connection
				return errors.New("subscribe: connection lost")
			}
		case <-deadline.C:
			return errors.New("subscribe timed out")
		case <-done:
			return ErrClosed
		}
	}
	if err := tok.Error(); err != nil {
		return err
	}
	st, ok := tok.(*paho.SubscribeToken)
	if !ok {
		return nil
	}
	for filter, code := range st.Result() {
		if code >= 0x80 {
			return fmt.Errorf("the broker refused the subscription to %s (code 0x%02x)", filter, code)
		}
	}
	return nil
}

// ConnectWithRetry makes the first connection of a client built without
// paho's ConnectRetry: one attempt at a time (each bounded by the client's
// ConnectTimeout), retried every interval until it succeeds or ctx ends.
// Because no attempt is abandoned half-way, a failed call leaves no paho
// goroutine behind. After the first connection paho's AutoReconnect takes
// over.
func ConnectWithRetry(ctx context.Context, c paho.Client, interval time.Duration) error {
	for {
		tok := c.Connect()
		<-tok.Done()
		err := tok.Error()
		if err == nil {
			return nil
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last attempt: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}
