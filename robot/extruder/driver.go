package extruder

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options tune the protocol. Zero values mean the defaults.
type Options struct {
	// ResponseTimeout: the longest silence (no "ok", "busy", "Resend")
	// while a line is unacknowledged before the driver pauses. Default 5 s.
	ResponseTimeout time.Duration
	// HeatTimeout bounds M109/M190 waits (WaitTemp breaks the wait with
	// M108 after it) and is the response timeout of other long commands
	// (G28, G29, M400, M303). Default 600 s.
	HeatTimeout time.Duration
	// MaxResends: how often one line may be resent before the driver
	// pauses with *ResendLimitError. Default 5; negative = never resend.
	MaxResends int
	// InFlight: lines sent ahead of their "ok". Default 1. Keep it below
	// the board's command buffer (Marlin BUFSIZE, 4 by default); when the
	// board reports free slots (ADVANCED_OK "B<n>") the driver also stays
	// within them.
	InFlight int
	// Trace, if set, receives every line sent ('>') and received ('<'),
	// without the trailing newline. It runs on the driver's goroutines and
	// must not block.
	Trace func(dir byte, line string)
}

func (o *Options) defaults() {
	if o.ResponseTimeout <= 0 {
		o.ResponseTimeout = 5 * time.Second
	}
	if o.HeatTimeout <= 0 {
		o.HeatTimeout = 600 * time.Second
	}
	if o.MaxResends == 0 {
		o.MaxResends = 5
	}
	if o.InFlight <= 0 {
		o.InFlight = 1
	}
}

// State is the driver's protocol state.
type State int

const (
	StateIdle    State = iota // not yet Reset: no numbered line may be sent
	StateReady                // streaming normally
	StateResync               // waiting for the resynchronisation marker
	StatePaused               // a response was lost or resends ran out: nothing is sent until Resume
	StateFaulted              // fatal board condition or link failure
	StateClosed
)

var stateNames = [...]string{"idle", "ready", "resync", "paused", "faulted", "closed"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Reply is the board's answer to one line.
type Reply struct {
	Line
	OK string // the "ok" line ("(resync)" when acknowledged by a resynchronisation)
	// Echo holds other lines received while this line was the oldest
	// unacknowledged one (M115 / M114 output, echo: messages), at most 64.
	Echo    []string
	Temps   *Temps        // the temperature report on the ok line (M105)
	Elapsed time.Duration // first send → ok
	Resends int
}

// Stats counts protocol events since New.
type Stats struct {
	Sent, Resent, Acked   int
	Resyncs, Timeouts     int
	UnexpectedOKs         int // "ok" with nothing in flight
	TempReports           int
	DroppedTempDeliveries int // subscriber channels that were full
}

// Status is a snapshot of the session.
type Status struct {
	State State
	// LastAcked: every line 1…LastAcked since the last Reset was
	// acknowledged by the board (lines are acknowledged in order).
	LastAcked int
	NextLine  int    // number the next new command will get
	InFlight  []Line // sent, not acknowledged
	Unsent    []Line // accepted, waiting to be (re)sent
	Err       error  // the pause or fault reason
	Stats     Stats
}

type entry struct {
	Line
	done    chan struct{}
	reply   Reply
	err     error
	timeout time.Duration
	firstAt time.Time
	resends int
	cmdErr  *CommandError
	echo    []string
}

type resyncKind int

const (
	resyncAfterResend resyncKind = iota
	resyncProbe
	resyncHandshake
)

type resync struct {
	kind      resyncKind
	nonce     string
	sawMarker bool
	resendN   int // last "Resend: N" seen during the resync, −1 none
	lineErrs  int
	lastErr   string
	done      chan struct{} // closed when the resync ends (any outcome)
	failed    bool          // handshake attempt failed
}

// Driver speaks the Marlin host protocol over a byte stream. Create it with
// New (any io.ReadWriteCloser) or Open (a serial port), call Reset, then
// Send / Stream.
type Driver struct {
	port io.ReadWriteCloser
	opts Options
	wq   writeQueue
	quit chan struct{}
	wg   sync.WaitGroup

	closeOnce sync.Once

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced on every state change
	state        State
	err          error
	nextN        int
	lastAcked    int
	maxSent      int
	inflight     []*entry
	unsent       []*entry
	lastActivity time.Time
	rs           *resync
	syncSeq      int
	freeSlots    int
	temps        Temps
	haveTemps    bool
	subs         map[chan Temps]struct{}
	stats        Stats
	lastLineErr  string
}

// New starts a driver on rwc (a serial port, a pty, a pipe in tests). The
// driver owns rwc and closes it in Close.
func New(rwc io.ReadWriteCloser, opts Options) *Driver {
	opts.defaults()
	d := &Driver{
		port:      rwc,
		opts:      opts,
		quit:      make(chan struct{}),
		changed:   make(chan struct{}),
		nextN:     1,
		freeSlots: -1,
		subs:      map[chan Temps]struct{}{},
	}
	d.wq.signal = make(chan struct{}, 1)
	d.wg.Add(3)
	go d.readLoop()
	go d.writeLoop()
	go d.watchdog()
	return d
}

// Close stops the driver, closes the port and waits for the goroutines.
// Waiting calls return ErrClosed.
func (d *Driver) Close() error {
	var err error
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.state = StateClosed
		d.failAllLocked(ErrClosed)
		d.notifyLocked()
		d.mu.Unlock()
		close(d.quit)
		err = d.port.Close()
		d.wg.Wait()
	})
	return err
}

// ---- goroutines ----

const maxRxLine = 4096

func (d *Driver) readLoop() {
	defer d.wg.Done()
	br := bufio.NewReaderSize(d.port, maxRxLine)
	for {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// a runaway line without newline: drop it
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if len(b) > 0 {
			for _, l := range strings.FieldsFunc(string(b), func(r rune) bool { return r == '\n' || r == '\r' }) {
				if l = strings.TrimRight(l, " \x00"); l != "" {
					d.handle(l, time.Now())
				}
			}
		}
		if err != nil {
			select {
			case <-d.quit:
			default:
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				d.linkFault(fmt.Errorf("read: %w", err))
			}
			return
		}
	}
}

type writeQueue struct {
	mu     sync.Mutex
	bufs   []string
	signal chan struct{}
}

func (q *writeQueue) push(s string, front bool) {
	q.mu.Lock()
	if front {
		q.bufs = append([]string{s}, q.bufs...)
	} else {
		q.bufs = append(q.bufs, s)
	}
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *writeQueue) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.bufs
	q.bufs = nil
	return b
}

func (d *Driver) writeLoop() {
	defer d.wg.Done()
	for {
		select {
		case <-d.quit:
			return
		case <-d.wq.signal:
		}
		for _, s := range d.wq.take() {
			if d.opts.Trace != nil {
				d.opts.Trace('>', strings.TrimSuffix(s, "\n"))
			}
			if _, err := io.WriteString(d.port, s); err != nil {
				select {
				case <-d.quit:
				default:
					d.linkFault(fmt.Errorf("write: %w", err))
				}
				return
			}
		}
	}
}

func (d *Driver) watchdog() {
	defer d.wg.Done()
	period := min(max(d.opts.ResponseTimeout/20, 2*time.Millisecond), 100*time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-d.quit:
			return
		case now := <-t.C:
			d.checkDeadline(now)
		}
	}
}

// ---- state helpers (d.mu held) ----

func (d *Driver) notifyLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}

func (d *Driver) failAllLocked(err error) {
	for _, e := range d.inflight {
		d.finishLocked(e, err)
	}
	for _, e := range d.unsent {
		d.finishLocked(e, err)
	}
	d.inflight, d.unsent = nil, nil
	if d.rs != nil {
		close(d.rs.done)
		d.rs = nil
	}
}

func (d *Driver) finishLocked(e *entry, err error) {
	select {
	case <-e.done:
		return
	default:
	}
	e.err = err
	close(e.done)
}

func (d *Driver) faultLocked(f *FaultError) {
	if d.state == StateClosed {
		return
	}
	if prev, ok := d.err.(*FaultError); ok && d.state == StateFaulted {
		// keep the first reason; a following kill() only marks it halted
		if f.Kind == FaultHalted {
			prev.Halted = true
		}
		return
	}
	if f.Kind == FaultHalted {
		f.Halted = true
	}
	d.state = StateFaulted
	d.err = f
	d.failAllLocked(f)
	d.notifyLocked()
}

func (d *Driver) linkFault(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faultLocked(&FaultError{Kind: FaultLink, Err: err})
}

func (d *Driver) window() int {
	w := d.opts.InFlight
	if d.freeSlots >= 0 {
		w = min(w, max(1, len(d.inflight)+d.freeSlots))
	}
	return w
}

// pumpLocked sends unsent lines while the window allows.
func (d *Driver) pumpLocked(now time.Time) {
	for d.state == StateReady && len(d.unsent) > 0 && len(d.inflight) < d.window() {
		e := d.unsent[0]
		d.unsent = d.unsent[1:]
		if len(d.inflight) == 0 {
			d.lastActivity = now
		}
		if e.firstAt.IsZero() {
			e.firstAt = now
			d.stats.Sent++
		}
		d.inflight = append(d.inflight, e)
		d.maxSent = max(d.maxSent, e.N)
		d.wq.push(FormatLine(e.N, e.Cmd), false)
	}
}

func (d *Driver) ackLocked(e *entry, okLine string, t *Temps, now time.Time) {
	d.lastAcked = e.N
	d.stats.Acked++
	e.reply = Reply{Line: e.Line, OK: okLine, Echo: e.echo, Temps: t, Elapsed: now.Sub(e.firstAt), Resends: e.resends}
	if e.cmdErr != nil {
		d.finishLocked(e, e.cmdErr)
		return
	}
	d.finishLocked(e, nil)
}

func lines(es []*entry) []Line {
	out := make([]Line, len(es))
	for i, e := range es {
		out[i] = e.Line
	}
	return out
}

// ---- receive path ----

func (d *Driver) handle(line string, now time.Time) {
	if d.opts.Trace != nil {
		d.opts.Trace('<', line)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state == StateClosed {
		return
	}
	var temps *Temps
	if strings.Contains(line, "T:") || strings.Contains(line, "B:") || strings.Contains(line, "T0:") {
		if t, ok := ParseTemps(line, now); ok {
			temps = &t
			d.setTempsLocked(t)
		}
	}
	if d.state == StateFaulted {
		if r := parseResponse(line); r.kind == respFault {
			d.faultLocked(r.fault) // may mark halted
		}
		return
	}
	if d.rs != nil && containsToken(line, d.rs.nonce) {
		d.rs.sawMarker = true
		d.lastActivity = now
		return
	}
	r := parseResponse(line)
	switch r.kind {
	case respOK:
		d.lastActivity = now
		if r.free >= 0 {
			d.freeSlots = r.free
		}
		d.onOKLocked(line, temps, now)
	case respResend:
		d.lastActivity = now
		d.onResendLocked(r.n, now)
	case respLineError:
		d.lastActivity = now
		d.lastLineErr = line
		if d.rs != nil {
			d.rs.lineErrs++
			d.rs.lastErr = line
		}
	case respBusy:
		d.lastActivity = now
	case respFault:
		d.faultLocked(r.fault)
	case respStart:
		if d.state != StateIdle && !(d.rs != nil && d.rs.kind == resyncHandshake) {
			d.faultLocked(&FaultError{Kind: FaultReset, Msg: "board printed \"start\": it rebooted and lost its queue"})
		}
	case respUnknownCmd:
		if e := d.matchInflightLocked(r.text); e != nil && e.cmdErr == nil {
			e.cmdErr = &CommandError{Line: e.Line, Kind: "unknown command", Reason: line}
		}
	case respRefused:
		if e := d.oldestLocked(); e != nil && e.cmdErr == nil {
			e.cmdErr = &CommandError{Line: e.Line, Kind: "refused", Reason: r.text}
		}
	case respError:
		if e := d.oldestLocked(); e != nil && e.cmdErr == nil {
			e.cmdErr = &CommandError{Line: e.Line, Kind: "error", Reason: line}
		}
	default:
		if temps == nil {
			if e := d.oldestLocked(); e != nil && len(e.echo) < 64 {
				e.echo = append(e.echo, line)
			}
		}
	}
}

func (d *Driver) oldestLocked() *entry {
	if len(d.inflight) == 0 {
		return nil
	}
	return d.inflight[0]
}

// matchInflightLocked finds the in-flight line whose command the board
// quoted (Marlin prints it without number and checksum); else the oldest.
func (d *Driver) matchInflightLocked(text string) *entry {
	text = strings.TrimSpace(text)
	for _, e := range d.inflight {
		if text != "" && strings.EqualFold(e.Cmd, text) {
			return e
		}
	}
	return d.oldestLocked()
}

func (d *Driver) onOKLocked(line string, temps *Temps, now time.Time) {
	if d.rs != nil {
		if d.rs.sawMarker {
			d.finishResyncLocked(now)
		}
		return
	}
	if d.state != StateReady && d.state != StatePaused {
		d.stats.UnexpectedOKs++
		return
	}
	if len(d.inflight) == 0 {
		d.stats.UnexpectedOKs++
		return
	}
	e := d.inflight[0]
	d.inflight = d.inflight[1:]
	d.ackLocked(e, line, temps, now)
	d.pumpLocked(now)
	d.notifyLocked()
}

func (d *Driver) onResendLocked(n int, now time.Time) {
	if d.rs != nil {
		// The rejection that printed this request drained the board's
		// receive buffer, possibly with our marker in it: send a fresh
		// one. Only the newest marker ends the resync.
		d.rs.resendN = n
		d.newMarkerLocked()
		return
	}
	if d.state != StateReady {
		return // paused: Resume's probe will ask again
	}
	d.startResyncLocked(resyncAfterResend, "", now)
	d.rs.resendN = n
}

func (d *Driver) startResyncLocked(kind resyncKind, probe string, now time.Time) {
	d.rs = &resync{kind: kind, resendN: -1, done: make(chan struct{})}
	d.state = StateResync
	d.stats.Resyncs++
	d.lastActivity = now
	if probe != "" {
		d.wq.push(probe, false)
	}
	d.newMarkerLocked()
	d.notifyLocked()
}

// newMarkerLocked sends a resync marker with a fresh nonce.
func (d *Driver) newMarkerLocked() {
	d.syncSeq++
	d.rs.nonce = "fabcell-sync-" + strconv.Itoa(d.syncSeq)
	d.rs.sawMarker = false
	d.wq.push("M118 E1 "+d.rs.nonce+"\n", false)
}

func (d *Driver) finishResyncLocked(now time.Time) {
	rs := d.rs
	d.rs = nil
	defer close(rs.done)
	defer d.notifyLocked()
	if rs.kind == resyncHandshake {
		if rs.lineErrs > 0 {
			rs.failed = true
			d.state = StateIdle
			return
		}
		d.nextN, d.lastAcked, d.maxSent, d.freeSlots = 1, 0, 0, -1
		d.state = StateReady
		d.err = nil
		return
	}
	if rs.resendN < 0 {
		// The board accepted a line number it should have rejected, or
		// never answered the probe: we cannot know what ran.
		d.state = StatePaused
		d.err = &TimeoutError{Waiting: lineOf(d.oldestLocked()), LastAcked: d.lastAcked,
			InFlight: lines(d.inflight), Unsent: lines(d.unsent), Resync: true}
		return
	}
	last := rs.resendN - 1
	if last < d.lastAcked || last > d.maxSent {
		d.faultLocked(&FaultError{Kind: FaultProtocol,
			Msg: fmt.Sprintf("board reports last line N%d, but lines ≤ N%d were acknowledged and N%d is the last sent", last, d.lastAcked, d.maxSent)})
		return
	}
	for len(d.inflight) > 0 && d.inflight[0].N <= last {
		e := d.inflight[0]
		d.inflight = d.inflight[1:]
		d.ackLocked(e, "(resync)", nil, now)
	}
	if len(d.inflight) > 0 {
		first := d.inflight[0]
		first.resends++
		d.stats.Resent += len(d.inflight)
		d.unsent = append(append([]*entry(nil), d.inflight...), d.unsent...)
		d.inflight = nil
		if d.opts.MaxResends < 0 || first.resends > d.opts.MaxResends {
			d.state = StatePaused
			d.err = &ResendLimitError{Line: first.Line, Resends: first.resends - 1, Last: firstNonEmpty(rs.lastErr, d.lastLineErr)}
			return
		}
	}
	d.state = StateReady
	d.err = nil
	d.pumpLocked(now)
}

// containsToken reports whether tok occurs in s not followed by a digit
// ("fabcell-sync-1" must not match "fabcell-sync-12").
func containsToken(s, tok string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], tok)
		if j < 0 {
			return false
		}
		end := i + j + len(tok)
		if end == len(s) || s[end] < '0' || s[end] > '9' {
			return true
		}
		i = i + j + 1
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func lineOf(e *entry) Line {
	if e == nil {
		return Line{}
	}
	return e.Line
}

func (d *Driver) timeoutLocked() time.Duration {
	t := d.opts.ResponseTimeout
	if d.rs != nil {
		for _, e := range d.inflight {
			t = max(t, e.timeout)
		}
		return t
	}
	if e := d.oldestLocked(); e != nil {
		return e.timeout
	}
	return t
}

func (d *Driver) checkDeadline(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	waiting := d.rs != nil || (d.state == StateReady && len(d.inflight) > 0)
	if !waiting {
		return
	}
	waited := now.Sub(d.lastActivity)
	if waited <= d.timeoutLocked() {
		return
	}
	d.stats.Timeouts++
	inResync := d.rs != nil
	if rs := d.rs; rs != nil {
		d.rs = nil
		close(rs.done)
		if rs.kind == resyncHandshake {
			rs.failed = true
			d.state = StateIdle
			d.notifyLocked()
			return
		}
	}
	d.state = StatePaused
	d.err = &TimeoutError{Waiting: lineOf(d.oldestLocked()), Waited: waited, LastAcked: d.lastAcked,
		InFlight: lines(d.inflight), Unsent: lines(d.unsent), Resync: inResync}
	d.notifyLocked()
}

func (d *Driver) setTempsLocked(t Temps) {
	d.temps, d.haveTemps = t, true
	d.stats.TempReports++
	for ch := range d.subs {
		select {
		case ch <- t:
		default:
			d.stats.DroppedTempDeliveries++
		}
	}
}

// ---- public API ----

// ErrNotReady: Reset has not completed.
var ErrNotReady = errors.New("extruder: driver not reset (call Reset)")

// Reset synchronises with the board: "N0 M110 N0" followed by the marker,
// retried up to three times (a board that reboots when the port opens
// needs a moment). Lines are numbered from 1 afterwards. It fails if lines
// are still unacknowledged.
func (d *Driver) Reset(ctx context.Context) error {
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		d.mu.Lock()
		switch {
		case d.state == StateClosed:
			d.mu.Unlock()
			return ErrClosed
		case d.state == StateFaulted:
			err := d.err
			d.mu.Unlock()
			return err
		case len(d.inflight) > 0 || len(d.unsent) > 0:
			n := len(d.inflight) + len(d.unsent)
			d.mu.Unlock()
			return fmt.Errorf("extruder: reset with %d lines unacknowledged would lose them; Resume and Flush first", n)
		case d.rs != nil:
			d.mu.Unlock()
			return errors.New("extruder: reset during a resynchronisation")
		}
		d.startResyncLocked(resyncHandshake, FormatLine(0, "M110 N0"), time.Now())
		rs := d.rs
		d.mu.Unlock()
		select {
		case <-rs.done:
		case <-ctx.Done():
			d.mu.Lock()
			if d.rs == rs {
				d.rs = nil
				close(rs.done)
				d.state = StateIdle
				d.notifyLocked()
			}
			d.mu.Unlock()
			return ctx.Err()
		}
		d.mu.Lock()
		st, err := d.state, d.err
		d.mu.Unlock()
		switch st {
		case StateReady:
			return nil
		case StateFaulted, StateClosed:
			return err
		}
		last = fmt.Errorf("extruder: reset attempt %d: no clean answer to M110 within %v (last error %q)", attempt+1, d.opts.ResponseTimeout, rs.lastErr)
	}
	return fmt.Errorf("%w: %w", ErrTimeout, last)
}

// Pending is a submitted line.
type Pending struct {
	d *Driver
	e *entry
}

// N returns the line number.
func (p *Pending) N() int { return p.e.N }

// Done is closed when the line is acknowledged or failed for good.
func (p *Pending) Done() <-chan struct{} { return p.e.done }

// Wait blocks until the board acknowledged the line and returns its reply.
// It returns early with the pause reason (*TimeoutError,
// *ResendLimitError) when the driver pauses; the line is not lost — after
// Resume, Wait again. Faults and command errors are final.
func (p *Pending) Wait(ctx context.Context) (Reply, error) {
	for {
		select {
		case <-p.e.done:
			return p.e.reply, p.e.err
		default:
		}
		p.d.mu.Lock()
		st, err, ch := p.d.state, p.d.err, p.d.changed
		p.d.mu.Unlock()
		if st == StatePaused {
			return Reply{}, err
		}
		select {
		case <-p.e.done:
			return p.e.reply, p.e.err
		case <-ch:
		case <-ctx.Done():
			return Reply{}, ctx.Err()
		}
	}
}

// timeoutFor returns the response timeout of a command.
func (d *Driver) timeoutFor(cmd string) time.Duration {
	switch commandCode(cmd) {
	case "M109", "M190", "M191", "M303", "G28", "G29", "M400":
		return d.opts.HeatTimeout + d.opts.ResponseTimeout
	case "G4":
		var dwell time.Duration
		for _, f := range strings.Fields(cmd)[1:] {
			if len(f) < 2 {
				continue
			}
			v, err := strconv.ParseFloat(f[1:], 64)
			if err != nil || v < 0 || v > 1e6 {
				continue
			}
			switch f[0] {
			case 'P', 'p':
				dwell = time.Duration(v * float64(time.Millisecond))
			case 'S', 's':
				dwell = time.Duration(v * float64(time.Second))
			}
		}
		return dwell + d.opts.ResponseTimeout
	}
	return d.opts.ResponseTimeout
}

// Submit queues one command and returns once it has a line number (it is
// sent as soon as the window allows). It blocks while the window is full
// or a resynchronisation runs, and fails at once when the driver is
// paused, faulted or not reset. Commands are cleaned with CleanCommand;
// M110 (use Reset) and M112 (use Emergency) are refused.
func (d *Driver) Submit(ctx context.Context, cmd string) (*Pending, error) {
	clean, err := CleanCommand(cmd)
	if err != nil {
		return nil, err
	}
	if clean == "" {
		return nil, fmt.Errorf("%w: empty command %q", ErrBadCommand, cmd)
	}
	switch commandCode(clean) {
	case "M110":
		return nil, fmt.Errorf("%w: M110 renumbers the session; use Reset", ErrBadCommand)
	case "M112":
		return nil, fmt.Errorf("%w: M112 is an emergency stop; use Emergency", ErrBadCommand)
	}
	for {
		d.mu.Lock()
		switch d.state {
		case StateClosed:
			d.mu.Unlock()
			return nil, ErrClosed
		case StateFaulted, StatePaused:
			err := d.err
			d.mu.Unlock()
			return nil, err
		case StateIdle:
			d.mu.Unlock()
			return nil, ErrNotReady
		}
		if d.state == StateReady && len(d.unsent) == 0 && len(d.inflight) < d.window() {
			e := &entry{Line: Line{N: d.nextN, Cmd: clean}, done: make(chan struct{}), timeout: d.timeoutFor(clean)}
			d.nextN++
			d.unsent = append(d.unsent, e)
			d.pumpLocked(time.Now())
			d.mu.Unlock()
			return &Pending{d: d, e: e}, nil
		}
		ch := d.changed
		d.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Send submits one command and waits for its acknowledgement.
func (d *Driver) Send(ctx context.Context, cmd string) (Reply, error) {
	p, err := d.Submit(ctx, cmd)
	if err != nil {
		return Reply{}, err
	}
	return p.Wait(ctx)
}

// Stream sends the commands in order (blank and comment-only lines are
// skipped), keeping up to InFlight lines in flight, and waits until all
// of them, and any line accepted before, are acknowledged (Flush). n is the number of items of cmds consumed: on error,
// items from n on were not accepted (after Resume, continue from there;
// the accepted ones are completed by the driver). The first command error
// (unknown command, cold extrusion) stops the stream.
func (d *Driver) Stream(ctx context.Context, cmds iter.Seq[string]) (n int, err error) {
	var pend []*Pending
	check := func() error {
		k := 0
		for _, p := range pend {
			select {
			case <-p.e.done:
				if p.e.err != nil {
					return p.e.err
				}
				continue
			default:
			}
			pend[k] = p
			k++
		}
		pend = pend[:k]
		return nil
	}
	for cmd := range cmds {
		clean, err := CleanCommand(cmd)
		if err != nil {
			return n, fmt.Errorf("item %d: %w", n, err)
		}
		if clean != "" {
			p, err := d.Submit(ctx, clean)
			if err != nil {
				return n, err
			}
			pend = append(pend, p)
		}
		n++
		if err := check(); err != nil {
			return n, err
		}
	}
	for _, p := range pend {
		if _, err := p.Wait(ctx); err != nil {
			return n, err
		}
	}
	// lines accepted earlier (e.g. before a pause) must be done too
	return n, d.Flush(ctx)
}

// Flush waits until every accepted line is acknowledged.
func (d *Driver) Flush(ctx context.Context) error {
	for {
		d.mu.Lock()
		st, err, ch := d.state, d.err, d.changed
		empty := len(d.inflight) == 0 && len(d.unsent) == 0
		d.mu.Unlock()
		switch {
		case st == StateClosed:
			return ErrClosed
		case st == StateFaulted || st == StatePaused:
			return err
		case empty && st != StateResync:
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Resume leaves the paused state. With lines in flight it resynchronises:
// a probe the board must reject ("N<last sent+2> M105") plus the marker
// reveal the board's last line; lines up to it are acknowledged, the rest
// resent. It returns nil when streaming continues, or the new pause or
// fault reason. After a *ResendLimitError the resend count restarts.
func (d *Driver) Resume(ctx context.Context) error {
	d.mu.Lock()
	switch d.state {
	case StateClosed:
		d.mu.Unlock()
		return ErrClosed
	case StateFaulted:
		err := d.err
		d.mu.Unlock()
		return err
	case StateIdle:
		d.mu.Unlock()
		return ErrNotReady
	case StateReady:
		d.mu.Unlock()
		return nil
	case StatePaused:
		now := time.Now()
		for _, e := range d.unsent {
			e.resends = 0
		}
		if len(d.inflight) == 0 {
			d.state, d.err = StateReady, nil
			d.pumpLocked(now)
			d.notifyLocked()
			d.mu.Unlock()
			return nil
		}
		d.startResyncLocked(resyncProbe, FormatLine(d.maxSent+2, "M105"), now)
	}
	rs := d.rs
	d.mu.Unlock()
	if rs != nil {
		select {
		case <-rs.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch d.state {
	case StateReady:
		return nil
	case StateClosed:
		return ErrClosed
	default:
		return d.err
	}
}

// Break sends M108 (Marlin: "break and continue", handled by the emergency
// parser even during M109/M190) as the next numbered line, bypassing the
// window.
func (d *Driver) Break() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch d.state {
	case StateClosed:
		return ErrClosed
	case StateFaulted:
		return d.err
	case StateIdle:
		return ErrNotReady
	}
	now := time.Now()
	e := &entry{Line: Line{N: d.nextN, Cmd: "M108"}, done: make(chan struct{}), timeout: d.opts.ResponseTimeout, firstAt: now}
	d.nextN++
	if len(d.unsent) > 0 || d.state != StateReady {
		// keep the numbering in order; the board's emergency parser acts
		// on the bytes even if the line is rejected and resent later
		d.unsent = append(d.unsent, e)
		d.wq.push(FormatLine(e.N, e.Cmd), true)
		return nil
	}
	if len(d.inflight) == 0 {
		d.lastActivity = now
	}
	d.stats.Sent++
	d.inflight = append(d.inflight, e)
	d.maxSent = max(d.maxSent, e.N)
	d.wq.push(FormatLine(e.N, e.Cmd), true)
	return nil
}

// Emergency sends M112 at once (ahead of queued output) and faults the
// driver; the board must be reset.
func (d *Driver) Emergency() {
	d.wq.push("M112\n", true)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faultLocked(&FaultError{Kind: FaultEmergency, Msg: "M112 sent by the host"})
}

// Status returns a snapshot.
func (d *Driver) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return Status{State: d.state, LastAcked: d.lastAcked, NextLine: d.nextN,
		InFlight: lines(d.inflight), Unsent: lines(d.unsent), Err: d.err, Stats: d.stats}
}

// Err returns the pause or fault reason, nil when streaming normally.
func (d *Driver) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state == StateReady || d.state == StateResync || d.state == StateIdle {
		return nil
	}
	return d.err
}

// Temps returns the latest temperature report.
func (d *Driver) Temps() (Temps, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.temps, d.haveTemps
}

// SubscribeTemps delivers every temperature report to the returned channel
// (capacity buf ≥ 1); reports are dropped, never queued, when it is full.
// Call cancel to unsubscribe.
func (d *Driver) SubscribeTemps(buf int) (<-chan Temps, func()) {
	ch := make(chan Temps, max(buf, 1))
	d.mu.Lock()
	d.subs[ch] = struct{}{}
	d.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			d.mu.Lock()
			delete(d.subs, ch)
			d.mu.Unlock()
		})
	}
}

// QueryTemps sends M105 and returns the report on its "ok".
func (d *Driver) QueryTemps(ctx context.Context) (Temps, error) {
	r, err := d.Send(ctx, "M105")
	if err != nil {
		return Temps{}, err
	}
	if r.Temps == nil {
		return Temps{}, fmt.Errorf("extruder: M105 answered %q without temperatures", r.OK)
	}
	return *r.Temps, nil
}

// AutoReport asks the board to report temperatures every interval (M155
// S<seconds>, whole seconds 1–60); 0 turns it off.
func (d *Driver) AutoReport(ctx context.Context, interval time.Duration) error {
	s := int(math.Round(interval.Seconds()))
	if interval < 0 || s > 60 || (interval > 0 && s == 0) {
		return fmt.Errorf("%w: auto-report interval %v outside 1–60 s", ErrBadCommand, interval)
	}
	_, err := d.Send(ctx, "M155 S"+strconv.Itoa(s))
	return err
}
