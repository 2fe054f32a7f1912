package rtde

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Client. Zero values mean the defaults.
type Options struct {
	// FrequencyHz is the requested output rate, in (0, 500]; default 500
	// (spec §1 "Rate").
	FrequencyHz float64
	// Outputs names the output recipe fields (required).
	Outputs []string
	// Inputs lists input recipes; each gets its own recipe id.
	Inputs [][]string
	// DialTimeout bounds one connection attempt including the handshake
	// (default 5 s).
	DialTimeout time.Duration
	// ReadTimeout: while streaming, no package for this long means the
	// connection is dead (default max(1 s, 20 output periods)).
	ReadTimeout time.Duration
	// WriteTimeout bounds a write when the ctx has no deadline (default 1 s).
	WriteTimeout time.Duration
	// BackoffMin/BackoffMax bound the reconnect delay, which doubles after
	// each failed attempt (default 100 ms, 5 s).
	BackoffMin, BackoffMax time.Duration
	// NoReconnect makes a lost connection final (Err reports why).
	NoReconnect bool
	// Logger receives connection events (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) defaults() error {
	if o.FrequencyHz == 0 {
		o.FrequencyHz = MaxFrequencyHz
	}
	if !(o.FrequencyHz > 0 && o.FrequencyHz <= MaxFrequencyHz) {
		return fmt.Errorf("rtde: frequency %v Hz outside (0, %d]", o.FrequencyHz, MaxFrequencyHz)
	}
	if len(o.Outputs) == 0 {
		return errors.New("rtde: no output fields requested")
	}
	if _, err := joinNames(o.Outputs); err != nil {
		return fmt.Errorf("outputs: %w", err)
	}
	for i, in := range o.Inputs {
		if _, err := joinNames(in); err != nil {
			return fmt.Errorf("input recipe %d: %w", i, err)
		}
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = max(time.Second, time.Duration(20/o.FrequencyHz*float64(time.Second)))
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = time.Second
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = 100 * time.Millisecond
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = max(o.BackoffMin, 5*time.Second)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// Frame is one received output DATA_PACKAGE. Frames are immutable and may
// be shared between goroutines.
type Frame struct {
	Recipe   *Recipe
	Values   []Value
	Seq      uint64    // 1, 2, … over the client's lifetime (across reconnects)
	Received time.Time // local receive time
}

// Get returns the value of a field.
func (f *Frame) Get(name string) (Value, bool) {
	i := f.Recipe.Index(name)
	if i < 0 {
		return Value{}, false
	}
	return f.Values[i], true
}

func (f *Frame) typed(name string, t DataType) (Value, error) {
	v, ok := f.Get(name)
	if !ok {
		return Value{}, fmt.Errorf("rtde: field %q is not in the output recipe", name)
	}
	if v.typ != t {
		return Value{}, fmt.Errorf("rtde: field %q is %s, not %s", name, v.typ, t)
	}
	return v, nil
}

// Double returns a DOUBLE field.
func (f *Frame) Double(name string) (float64, error) {
	v, err := f.typed(name, Double)
	return v.Float(), err
}

// Vector6D returns a VECTOR6D field.
func (f *Frame) Vector6D(name string) ([6]float64, error) {
	v, err := f.typed(name, Vector6D)
	return v.Vec6(), err
}

// Int32 returns an INT32 field.
func (f *Frame) Int32(name string) (int32, error) {
	v, err := f.typed(name, Int32)
	return v.Int(), err
}

// Uint32 returns a UINT32 field.
func (f *Frame) Uint32(name string) (uint32, error) {
	v, err := f.typed(name, Uint32)
	return uint32(v.Uint()), err
}

// Uint64 returns a UINT64 field.
func (f *Frame) Uint64(name string) (uint64, error) {
	v, err := f.typed(name, Uint64)
	return v.Uint(), err
}

// Bool returns a BOOL field.
func (f *Frame) Bool(name string) (bool, error) {
	v, err := f.typed(name, Bool)
	return v.Bool(), err
}

// Stats are cumulative client counters.
type Stats struct {
	Received        uint64 // output DATA_PACKAGEs received
	Reconnects      uint64 // successful reconnects after a lost connection
	SubscriberDrops uint64 // frames not delivered to a slow subscriber
	MessagesDropped uint64 // text messages dropped because Messages() was full
	Connected       bool
}

// Client is an RTDE client. One goroutine owns the connection's life cycle
// and all reads; writers (Start, Pause, inputs, messages) are serialised by
// a mutex and bounded by their ctx. Consumers read the newest frame with
// Latest or subscribe; the reader never blocks on them.
type Client struct {
	addr string
	opts Options
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu          sync.Mutex
	conn        net.Conn
	sess        *session
	wantStarted bool
	pending     map[Command]chan bool
	lastErr     error
	inputVals   [][]Value // last values sent per input recipe

	writeMu sync.Mutex

	version ControllerVersion
	latest  atomic.Pointer[Frame]
	subs    atomic.Pointer[[]*Subscription]
	msgs    chan TextMessage

	received, reconnects, subDrops, msgDrops atomic.Uint64
	seq                                      uint64 // owned by the reader
}

// session is what one connection negotiated.
type session struct {
	output *Recipe
	inputs []*Recipe
}

// Dial connects to addr ("host:30004"), negotiates protocol version 2,
// reads the controller version and sets up the output recipe and every
// input recipe. A refused field is a *FieldError naming it (errors.Is
// ErrNotFound / ErrInUse). Call Start to begin streaming.
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	c := &Client{addr: addr, opts: opts, log: opts.Logger.With("rtde", addr), done: make(chan struct{}),
		pending: map[Command]chan bool{}, msgs: make(chan TextMessage, 64)}
	conn, br, sess, ver, err := c.connect(ctx, false)
	if err != nil {
		return nil, err
	}
	c.version = ver
	c.conn, c.sess = conn, sess
	c.inputVals = make([][]Value, len(sess.inputs))
	for i, r := range sess.inputs {
		c.inputVals[i] = make([]Value, len(r.Types))
		for j, t := range r.Types {
			c.inputVals[i][j] = Value{typ: t}
		}
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.run(conn, br)
	return c, nil
}

// ControllerVersion returns what the controller reported at Dial.
func (c *Client) ControllerVersion() ControllerVersion { return c.version }

// OutputRecipe returns the accepted output recipe of the current
// connection.
func (c *Client) OutputRecipe() *Recipe {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess.output
}

// connect dials and performs the handshake; with start it also sends S.
func (c *Client) connect(ctx context.Context, start bool) (net.Conn, *bufio.Reader, *session, ControllerVersion, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, nil, nil, ControllerVersion{}, fmt.Errorf("rtde: dial %s: %w", c.addr, err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	br := bufio.NewReaderSize(conn, 1<<16)
	sess, ver, err := c.handshake(conn, br, start)
	if err != nil {
		conn.Close()
		if ctx.Err() != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInUse) {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return nil, nil, nil, ControllerVersion{}, fmt.Errorf("rtde: handshake with %s: %w", c.addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, br, sess, ver, nil
}

func (c *Client) handshake(conn net.Conn, br *bufio.Reader, start bool) (*session, ControllerVersion, error) {
	var lastMsg *TextMessage
	request := func(cmd Command, payload []byte) ([]byte, error) {
		pkt, err := AppendPackage(nil, cmd, payload)
		if err != nil {
			return nil, err
		}
		if _, err := conn.Write(pkt); err != nil {
			return nil, err
		}
		for {
			rc, p, err := ReadPackage(br, nil)
			if err != nil {
				return nil, err
			}
			switch {
			case rc == cmd:
				return p, nil
			case rc == CmdTextMessage:
				if m, err := DecodeTextMessage(p); err == nil {
					lastMsg = &m
					c.deliverMessage(m)
				}
			case rc == CmdDataPackage:
				// stale data of an earlier recipe: skip
			default:
				return nil, malformed("got %s while waiting for %s", rc, cmd)
			}
		}
	}
	withMsg := func(err error) error {
		if lastMsg != nil && lastMsg.Level <= LevelError {
			return fmt.Errorf("%w (controller: %s)", err, lastMsg.Message)
		}
		return err
	}
	p, err := request(CmdRequestProtocolVersion, EncodeVersionRequest(ProtocolVersion))
	if err != nil {
		return nil, ControllerVersion{}, err
	}
	ok, err := DecodeAccepted(p)
	if err != nil {
		return nil, ControllerVersion{}, err
	}
	if !ok {
		return nil, ControllerVersion{}, withMsg(fmt.Errorf("controller refused protocol version %d", ProtocolVersion))
	}
	if p, err = request(CmdGetURControlVersion, nil); err != nil {
		return nil, ControllerVersion{}, err
	}
	ver, err := DecodeControllerVersion(p)
	if err != nil {
		return nil, ControllerVersion{}, err
	}
	sess := &session{}
	payload, err := EncodeSetupOutputs(ProtocolVersion, c.opts.FrequencyHz, c.opts.Outputs)
	if err != nil {
		return nil, ver, err
	}
	if p, err = request(CmdSetupOutputs, payload); err != nil {
		return nil, ver, err
	}
	reply, err := DecodeSetupReply(p)
	if err != nil {
		return nil, ver, err
	}
	if sess.output, err = ParseRecipe(c.opts.Outputs, reply); err != nil {
		return nil, ver, withMsg(fmt.Errorf("output recipe: %w", err))
	}
	for i, names := range c.opts.Inputs {
		payload, err := EncodeSetupInputs(names)
		if err != nil {
			return nil, ver, err
		}
		if p, err = request(CmdSetupInputs, payload); err != nil {
			return nil, ver, err
		}
		reply, err := DecodeSetupReply(p)
		if err != nil {
			return nil, ver, err
		}
		r, err := ParseRecipe(names, reply)
		if err != nil {
			return nil, ver, withMsg(fmt.Errorf("input recipe %d: %w", i, err))
		}
		sess.inputs = append(sess.inputs, r)
	}
	if start {
		if p, err = request(CmdStart, nil); err != nil {
			return nil, ver, err
		}
		if ok, err := DecodeAccepted(p); err != nil || !ok {
			return nil, ver, withMsg(fmt.Errorf("controller refused CONTROL_PACKAGE_START (%v)", err))
		}
	}
	return sess, ver, nil
}

// run owns the connection: it reads until the connection fails, then
// reconnects with backoff until Close.
func (c *Client) run(conn net.Conn, br *bufio.Reader) {
	defer close(c.done)
	defer c.closeSubs()
	for {
		err := c.readLoop(conn, br)
		conn.Close()
		c.mu.Lock()
		c.conn = nil
		for cmd, ch := range c.pending {
			close(ch)
			delete(c.pending, cmd)
		}
		c.mu.Unlock()
		if c.ctx.Err() != nil {
			return
		}
		c.log.Warn("rtde connection lost", "err", err)
		if c.opts.NoReconnect {
			c.setErr(fmt.Errorf("rtde: connection lost: %w", err))
			return
		}
		backoff := c.opts.BackoffMin
		for {
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(backoff):
			}
			c.mu.Lock()
			start := c.wantStarted
			c.mu.Unlock()
			nc, nbr, sess, _, err := c.connect(c.ctx, start)
			if err == nil {
				c.mu.Lock()
				if c.ctx.Err() != nil {
					c.mu.Unlock()
					nc.Close()
					return
				}
				c.conn, c.sess, conn, br = nc, sess, nc, nbr
				c.lastErr = nil
				c.mu.Unlock()
				c.reconnects.Add(1)
				c.log.Info("rtde reconnected")
				break
			}
			c.setErr(err)
			c.log.Warn("rtde reconnect failed", "err", err, "retry_in", backoff)
			backoff = min(2*backoff, c.opts.BackoffMax)
		}
	}
}

func (c *Client) setErr(err error) {
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
}

// Err returns the last connection error (nil while connected).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

func (c *Client) readLoop(conn net.Conn, br *bufio.Reader) error {
	buf := make([]byte, 4096)
	for {
		c.mu.Lock()
		streaming := c.wantStarted
		sess := c.sess
		c.mu.Unlock()
		if streaming {
			_ = conn.SetReadDeadline(time.Now().Add(c.opts.ReadTimeout))
		} else {
			_ = conn.SetReadDeadline(time.Time{})
		}
		cmd, p, err := ReadPackage(br, buf)
		if err != nil {
			if errors.Is(err, ErrMalformed) {
				c.log.Error("rtde: closing connection", "reason", err)
			}
			return err
		}
		if cap(p) > cap(buf) {
			buf = p[:0]
		}
		now := time.Now()
		switch cmd {
		case CmdDataPackage:
			vals, err := sess.output.Unpack(p, nil)
			if err != nil {
				c.log.Error("rtde: closing connection", "reason", err)
				return err
			}
			c.seq++
			f := &Frame{Recipe: sess.output, Values: vals, Seq: c.seq, Received: now}
			c.received.Add(1)
			c.latest.Store(f)
			if subs := c.subs.Load(); subs != nil {
				for _, s := range *subs {
					select {
					case s.ch <- f:
					default:
						s.dropped.Add(1)
						c.subDrops.Add(1)
					}
				}
			}
		case CmdTextMessage:
			m, err := DecodeTextMessage(p)
			if err != nil {
				c.log.Error("rtde: closing connection", "reason", err)
				return err
			}
			c.deliverMessage(m)
		case CmdStart, CmdPause:
			ok, err := DecodeAccepted(p)
			if err != nil {
				c.log.Error("rtde: closing connection", "reason", err)
				return err
			}
			c.mu.Lock()
			if ch, found := c.pending[cmd]; found {
				ch <- ok // buffered 1
				delete(c.pending, cmd)
			}
			c.mu.Unlock()
		default:
			err := malformed("unexpected %s while streaming", cmd)
			c.log.Error("rtde: closing connection", "reason", err)
			return err
		}
	}
}

func (c *Client) deliverMessage(m TextMessage) {
	if m.Level <= LevelError {
		c.log.Warn("rtde controller message", "level", m.Level, "source", m.Source, "msg", m.Message)
	}
	select {
	case c.msgs <- m:
	default:
		c.msgDrops.Add(1)
	}
}

// Messages returns text messages from the controller (buffer 64; when full,
// new messages are dropped and counted).
func (c *Client) Messages() <-chan TextMessage { return c.msgs }

// Latest returns the newest frame, or nil before the first one.
func (c *Client) Latest() *Frame { return c.latest.Load() }

// Stats returns the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	connected := c.conn != nil
	c.mu.Unlock()
	return Stats{Received: c.received.Load(), Reconnects: c.reconnects.Load(), SubscriberDrops: c.subDrops.Load(),
		MessagesDropped: c.msgDrops.Load(), Connected: connected}
}

// Subscription delivers every frame while its buffer has room; frames that
// do not fit are dropped and counted (the reader never waits).
type Subscription struct {
	c       *Client
	ch      chan *Frame
	dropped atomic.Uint64
	once    sync.Once
}

// C receives frames. It is closed when the client is closed, not by
// Subscription.Close.
func (s *Subscription) C() <-chan *Frame { return s.ch }

// Dropped is the number of frames this subscriber missed.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close stops delivery.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.c.mu.Lock()
		defer s.c.mu.Unlock()
		old := s.c.subs.Load()
		if old == nil {
			return
		}
		var next []*Subscription
		for _, x := range *old {
			if x != s {
				next = append(next, x)
			}
		}
		s.c.subs.Store(&next)
	})
}

// Subscribe returns a subscription with a buffer of n frames (n ≥ 1).
func (c *Client) Subscribe(n int) *Subscription {
	s := &Subscription{c: c, ch: make(chan *Frame, max(n, 1))}
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		close(s.ch)
		return s
	default:
	}
	var next []*Subscription
	if old := c.subs.Load(); old != nil {
		next = append(next, *old...)
	}
	next = append(next, s)
	c.subs.Store(&next)
	return s
}

func (c *Client) closeSubs() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.subs.Swap(nil); old != nil {
		for _, s := range *old {
			close(s.ch)
		}
	}
}

// Wait returns the first frame (the current latest included) for which
// pred is true.
func (c *Client) Wait(ctx context.Context, pred func(*Frame) bool) (*Frame, error) {
	sub := c.Subscribe(16)
	defer sub.Close()
	if f := c.Latest(); f != nil && pred(f) {
		return f, nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case f, ok := <-sub.C():
			if !ok {
				return nil, ErrClosed
			}
			if pred(f) {
				return f, nil
			}
		}
	}
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("rtde: client closed")

// ErrNotConnected is returned by writes while the client reconnects.
var ErrNotConnected = errors.New("rtde: not connected")

// write sends one framed package under the write mutex, bounded by ctx
// (or WriteTimeout).
func (c *Client) write(ctx context.Context, cmd Command, payload []byte) error {
	pkt, err := AppendPackage(nil, cmd, payload)
	if err != nil {
		return err
	}
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	if conn == nil {
		return ErrNotConnected
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(c.opts.WriteTimeout)
	}
	_ = conn.SetWriteDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetWriteDeadline(time.Unix(1, 0)) })
	_, err = conn.Write(pkt)
	stop()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("rtde: write %s: %w", cmd, err)
	}
	return nil
}

// control sends S or P and waits for the accepted reply.
func (c *Client) control(ctx context.Context, cmd Command) error {
	ch := make(chan bool, 1)
	c.mu.Lock()
	if cmd == CmdStart {
		c.wantStarted = true
	} else {
		c.wantStarted = false
	}
	c.pending[cmd] = ch
	c.mu.Unlock()
	if err := c.write(ctx, cmd, nil); err != nil {
		return err
	}
	select {
	case ok, open := <-ch:
		if !open {
			return fmt.Errorf("rtde: %s: %w", cmd, ErrNotConnected)
		}
		if !ok {
			return fmt.Errorf("rtde: controller refused %s", cmd)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return ErrClosed
	}
}

// Start asks the controller to start streaming outputs (and accepting
// inputs). After a reconnect the client restarts automatically.
func (c *Client) Start(ctx context.Context) error { return c.control(ctx, CmdStart) }

// Pause stops the output stream.
func (c *Client) Pause(ctx context.Context) error { return c.control(ctx, CmdPause) }

// SendMessage sends a text message to the controller log.
func (c *Client) SendMessage(ctx context.Context, m TextMessage) error {
	return c.write(ctx, CmdTextMessage, m.Encode())
}

// InputRecipe returns a handle to input recipe i (in Options.Inputs order).
func (c *Client) InputRecipe(i int) (*InputRecipe, error) {
	if i < 0 || i >= len(c.opts.Inputs) {
		return nil, fmt.Errorf("rtde: no input recipe %d (have %d)", i, len(c.opts.Inputs))
	}
	return &InputRecipe{c: c, idx: i}, nil
}

// InputRecipe sends DATA_PACKAGEs of one input recipe. The controller
// keeps inputs at their last value, and a package carries every field of
// the recipe, so the client remembers the last value of each field
// (initially zero) and Set merges into it.
type InputRecipe struct {
	c   *Client
	idx int
}

// Names returns the field names.
func (r *InputRecipe) Names() []string { return r.c.opts.Inputs[r.idx] }

// Set converts each value to its field's type (exact conversions only,
// see Convert), merges them into the last sent values and sends one
// package. Unknown names and conversion errors name the field.
func (r *InputRecipe) Set(ctx context.Context, kv map[string]any) error {
	c := r.c
	c.mu.Lock()
	if c.sess == nil {
		c.mu.Unlock()
		return ErrNotConnected
	}
	rec := c.sess.inputs[r.idx]
	vals := append([]Value(nil), c.inputVals[r.idx]...)
	c.mu.Unlock()
	for name, x := range kv {
		i := rec.Index(name)
		if i < 0 {
			return fmt.Errorf("rtde: field %q is not in input recipe %d", name, r.idx)
		}
		if f, ok := x.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return fmt.Errorf("rtde: field %q: refusing to send %v", name, f)
		}
		v, err := Convert(rec.Types[i], x)
		if err != nil {
			return fmt.Errorf("field %q: %w", name, err)
		}
		vals[i] = v
	}
	return r.SendValues(ctx, vals)
}

// SendValues sends a full package; values are in recipe order with the
// recipe's types.
func (r *InputRecipe) SendValues(ctx context.Context, values []Value) error {
	c := r.c
	c.mu.Lock()
	if c.sess == nil {
		c.mu.Unlock()
		return ErrNotConnected
	}
	rec := c.sess.inputs[r.idx]
	c.mu.Unlock()
	payload, err := rec.Pack(nil, values)
	if err != nil {
		return err
	}
	if err := c.write(ctx, CmdDataPackage, payload); err != nil {
		return err
	}
	c.mu.Lock()
	copy(c.inputVals[r.idx], values)
	c.mu.Unlock()
	return nil
}

// Close pauses the stream (best effort), closes the connection and waits
// for the reader goroutine.
func (c *Client) Close() error {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn != nil && c.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_ = c.write(ctx, CmdPause, nil)
		cancel()
	}
	c.cancel()
	c.mu.Lock()
	if c.conn != nil {
		c.conn.Close()
	}
	c.mu.Unlock()
	<-c.done
	return nil
}

var _ io.Closer = (*Client)(nil)
