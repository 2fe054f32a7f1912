// Package lpbfsim is a simulated LPBF machine controller for dry runs and
// tests. It connects to a real MQTT broker and speaks exactly the protocol
// of package robot/lpbf (topics under <prefix>/<cell>/lpbf/): it opens
// layers, validates every scan vector against its own scan field (the
// square of FieldSizeMM centred at 0,0) and power/speed limits, enforces
// the chunk and layer sequence, "executes" each chunk with the timing model
// of robot/lpbf.Timing (mark length/speed + mark delay, jump distance/jump
// speed + jump delay; wall time = model time / TimeScale) and acknowledges
// it. It executes each chunk id of a job at most once — redelivered chunks
// are re-acknowledged without scanning — and can persist what it executed
// to a file so that a restarted machine still knows (a chunk cut short by a
// restart is never rescanned automatically).
//
// Fault injection for tests: RejectChunk, SetAckDelay, HoldAcks /
// ReleaseAcks, GoOffline / GoOnline (an abrupt disconnect: the broker
// publishes the Last Will) and Kill (a crash).
package lpbfsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"fabcell/robot/lpbf"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Options configure the simulated machine. Zero values take the documented
// defaults.
type Options struct {
	// BrokerURL is tcp://host:port or ssl://host:port (also mqtt, tls,
	// mqtts, tcps).
	BrokerURL    string
	Prefix, Cell string
	// ClientID defaults to "fabcell-lpbfsim-<Cell>"; stable, with a
	// persistent session, so chunks sent while the machine is offline are
	// delivered when it comes back (as long as the broker keeps sessions).
	ClientID           string
	Username, Password string
	TLS                *tls.Config
	// FieldSizeMM is the side of the square scan field centred at (0, 0);
	// MaxPowerW the laser's power limit. Both required (> 0).
	FieldSizeMM float64
	MaxPowerW   float64
	// MaxSpeedMMS bounds the scan speed (0 = no upper bound).
	MaxSpeedMMS float64
	// MaxChunkVectors bounds the vectors of one chunk (default 1 000 000).
	MaxChunkVectors int
	// MaxPayloadBytes bounds every incoming message (default 4 MiB).
	MaxPayloadBytes int
	// TimeScale divides the modelled execution time (default 1 = real
	// time; 100 runs a 1 s chunk in 10 ms).
	TimeScale float64
	// StateFile, if set, persists the executed chunk ids (and digests) of
	// every job, the open layer and the chunk in progress; Start reads it.
	StateFile string
	// RescanInterrupted makes a chunk cut short by a restart executable
	// again (for dry runs, where a simulated scan leaves no molten powder);
	// by default such a chunk is refused (code "interrupted") as a real
	// machine must.
	RescanInterrupted bool
	// MaxJobs is how many job records are kept (default 256; the oldest
	// finished ones are dropped first).
	MaxJobs int
	// RecordVectors keeps the vectors of every executed chunk in Records
	// (tests).
	RecordVectors bool
	// QoS of the machine's messages (default 1).
	QoS byte
	// KeepAlive (default 10 s) and ReconnectMax, the cap of the reconnect
	// back-off (default 1 s).
	KeepAlive, ReconnectMax time.Duration
	Log                     *slog.Logger
	Now                     func() time.Time
}

// Record is one executed chunk.
type Record struct {
	Job     string
	Layer   int
	Chunk   int64
	N       int           // vectors
	Vectors []lpbf.Vector // when Options.RecordVectors
	MarkS   float64
	JumpS   float64
	ExecS   float64 // MarkS + JumpS
	WallS   float64
	At      time.Time
}

// Stats count what the machine saw and did.
type Stats struct {
	Received   int // controller messages
	Executed   int // chunks scanned
	Vectors    int // vectors scanned
	Duplicates int // redelivered chunks/layer messages acknowledged without action
	Rejected   int
	Connects   int
}

type jobRec struct {
	LastChunk   int64             `json:"last_chunk"`
	Digests     []string          `json:"digests"` // index = chunk id
	Layers      map[int]*layerRec `json:"layers"`
	Latest      int               `json:"latest_layer"`
	Interrupted int64             `json:"interrupted"`
	Updated     time.Time         `json:"updated"`
}

type layerRec struct {
	Chunks  int     `json:"chunks"`
	Vectors int     `json:"vectors"`
	ExecS   float64 `json:"exec_s"`
	Ended   bool    `json:"ended"`
}

type openLayer struct {
	Job    string           `json:"job"`
	Layer  int              `json:"layer"`
	Params lpbf.LayerParams `json:"params"`
	Timing lpbf.Timing      `json:"timing"`
}

type progress struct {
	Job   string `json:"job"`
	Layer int    `json:"layer"`
	Chunk int64  `json:"chunk"`
}

// persisted is the state file's content.
type persisted struct {
	V          int                `json:"v"`
	Jobs       map[string]*jobRec `json:"jobs"`
	Open       *openLayer         `json:"open,omitempty"`
	InProgress *progress          `json:"in_progress,omitempty"`
}

type inMsg struct {
	topic   string
	payload []byte
}

type rejKey struct {
	job   string
	chunk int64
}

// maxQueue bounds the messages waiting for the machine (the controller
// sends one chunk at a time, plus resends).
const maxQueue = 4096

// Machine is a running simulated LPBF machine.
type Machine struct {
	opts   Options
	topics lpbf.Topics
	log    *slog.Logger
	boot   string
	c      paho.Client

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	qmu   sync.Mutex
	queue []inMsg
	wake  chan struct{}

	connMu  sync.Mutex
	conn    *dropConn
	offline bool

	pubMu sync.Mutex // orders state publications

	mu          sync.Mutex
	jobs        map[string]*jobRec
	open        *openLayer
	inProgress  *progress
	laserOn     bool
	conns       int64
	records     []Record
	stats       Stats
	rejects     map[rejKey]string
	ackDelay    time.Duration
	hold        chan struct{} // non-nil while acks are held; closed on release
	holdFrom    *rejKey       // hold the acks of this job's chunks from this id on
	offlineAt   *rejKey       // drop the connection when this chunk arrives
	interrupted []progress    // found in the state file, reported at connect
	closed      bool
}

// Start connects the machine to the broker and waits until it is
// subscribed and has published its online state (or ctx ends).
func Start(ctx context.Context, opts Options) (*Machine, error) {
	if err := (&opts).defaults(); err != nil {
		return nil, err
	}
	t, err := lpbf.NewTopics(opts.Prefix, opts.Cell)
	if err != nil {
		return nil, err
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	m := &Machine{opts: opts, topics: t, log: opts.Log, boot: hex.EncodeToString(b[:]), wake: make(chan struct{}, 1),
		jobs: map[string]*jobRec{}, rejects: map[rejKey]string{}}
	if err := m.load(); err != nil {
		return nil, err
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	will, _ := json.Marshal(lpbf.State{V: lpbf.Version, Online: false, Will: true, Boot: m.boot, Layer: -1,
		FieldSizeMM: opts.FieldSizeMM, MaxPowerW: opts.MaxPowerW})
	connected := make(chan struct{})
	var once sync.Once
	po := paho.NewClientOptions().AddBroker(opts.BrokerURL).SetClientID(opts.ClientID).
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(opts.ReconnectMax).
		SetConnectTimeout(5*time.Second).
		SetKeepAlive(opts.KeepAlive).SetPingTimeout(opts.KeepAlive).SetWriteTimeout(10*time.Second).
		SetOrderMatters(true).
		SetBinaryWill(t.State(), will, opts.QoS, true).
		SetCustomOpenConnectionFn(m.dial).
		SetDefaultPublishHandler(m.onMessage).
		SetOnConnectHandler(func(c paho.Client) {
			if m.onConnect(c) {
				once.Do(func() { close(connected) })
			}
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			m.log.Info("lpbfsim: connection lost", "err", err)
		})
	lpbf.SetCredentials(po, opts.Username, opts.Password, opts.TLS)
	m.c = paho.NewClient(po)
	m.wg.Add(1)
	go m.run()
	if err := lpbf.ConnectWithRetry(ctx, m.c, opts.ReconnectMax); err != nil {
		m.Kill()
		return nil, fmt.Errorf("lpbfsim: connect to %s: %w", opts.BrokerURL, err)
	}
	select {
	case <-connected:
		return m, nil
	case <-ctx.Done():
		m.Kill()
		return nil, fmt.Errorf("lpbfsim: connect to %s: %w", opts.BrokerURL, ctx.Err())
	}
}

func (o *Options) defaults() error {
	u, err := url.Parse(o.BrokerURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("lpbfsim: broker %q is not a URL like tcp://host:1883", o.BrokerURL)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps":
	default:
		return fmt.Errorf("lpbfsim: broker scheme %q not supported by the simulator (tcp, ssl)", u.Scheme)
	}
	if !(o.FieldSizeMM > 0) || math.IsInf(o.FieldSizeMM, 0) {
		return fmt.Errorf("lpbfsim: field size %v mm: want a finite value > 0", o.FieldSizeMM)
	}
	if !(o.MaxPowerW > 0) || math.IsInf(o.MaxPowerW, 0) {
		return fmt.Errorf("lpbfsim: max power %v W: want a finite value > 0", o.MaxPowerW)
	}
	if o.MaxSpeedMMS < 0 || math.IsNaN(o.MaxSpeedMMS) {
		return fmt.Errorf("lpbfsim: max speed %v mm/s: want >= 0", o.MaxSpeedMMS)
	}
	if o.ClientID == "" {
		o.ClientID = "fabcell-lpbfsim-" + o.Cell
	}
	if o.MaxChunkVectors <= 0 {
		o.MaxChunkVectors = 1_000_000
	}
	if o.MaxPayloadBytes <= 0 {
		o.MaxPayloadBytes = lpbf.DefaultMaxPayloadBytes
	}
	if o.TimeScale == 0 {
		o.TimeScale = 1
	}
	if !(o.TimeScale > 0) || math.IsInf(o.TimeScale, 0) {
		return fmt.Errorf("lpbfsim: time scale %v: want a finite value > 0", o.TimeScale)
	}
	if o.MaxJobs <= 0 {
		o.MaxJobs = 256
	}
	switch o.QoS {
	case 0:
		o.QoS = 1
	case 1, 2:
	default:
		return fmt.Errorf("lpbfsim: QoS %d: want 1 or 2", o.QoS)
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 10 * time.Second
	}
	if o.ReconnectMax <= 0 {
		o.ReconnectMax = time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// dial opens the broker connection (paho's custom opener), refusing while
// the machine is offline by fault injection, and keeps the connection so
// GoOffline can drop it abruptly.
func (m *Machine) dial(u *url.URL, o paho.ClientOptions) (net.Conn, error) {
	m.connMu.Lock()
	off := m.offline
	m.connMu.Unlock()
	if off {
		return nil, errOffline
	}
	d := &net.Dialer{Timeout: o.ConnectTimeout}
	host := u.Host
	var conn net.Conn
	var err error
	switch u.Scheme {
	case "ssl", "tls", "mqtts", "tcps":
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "8883")
		}
		conn, err = tls.DialWithDialer(d, "tcp", host, o.TLSConfig)
	default:
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "1883")
		}
		conn, err = d.Dial("tcp", host)
	}
	if err != nil {
		return nil, err
	}
	m.connMu.Lock()
	defer m.connMu.Unlock()
	if m.offline {
		conn.Close()
		return nil, errOffline
	}
	dc := &dropConn{Conn: conn}
	m.conn = dc
	return dc, nil
}

var errOffline = errors.New("lpbfsim: machine offline (fault injection)")

// dropConn is the machine's broker connection. After drop, its reads and
// writes fail with errOffline: paho ignores "use of closed network
// connection" (it assumes it closed the socket itself) and would notice the
// loss only at the next missed ping.
type dropConn struct {
	net.Conn
	dropped atomic.Bool
}

func (d *dropConn) Read(p []byte) (int, error) {
	n, err := d.Conn.Read(p)
	if err != nil && d.dropped.Load() {
		return n, errOffline
	}
	return n, err
}

func (d *dropConn) Write(p []byte) (int, error) {
	if d.dropped.Load() {
		return 0, errOffline
	}
	return d.Conn.Write(p)
}

// drop closes the socket abruptly (no DISCONNECT: the broker publishes the
// Last Will).
func (d *dropConn) drop() {
	d.dropped.Store(true)
	d.Conn.Close()
}

// onConnect subscribes and publishes the online state; false if the
// connection went away meanwhile.
func (m *Machine) onConnect(c paho.Client) bool {
	q := m.opts.QoS
	subs := map[string]byte{m.topics.LayerBegin(): q, m.topics.Vectors(): q, m.topics.LayerEnd(): q}
	for {
		err := lpbf.Subscribe(c, subs, 10*time.Second, m.ctx.Done())
		if err == nil {
			break
		}
		if errors.Is(err, lpbf.ErrClosed) {
			return false
		}
		m.log.Warn("lpbfsim: subscribe failed; retrying", "err", err)
		if !c.IsConnectionOpen() {
			return false // the next connection subscribes again
		}
		if !m.sleep(200 * time.Millisecond) {
			return false
		}
	}
	m.mu.Lock()
	m.conns++
	m.stats.Connects++
	intr := m.interrupted
	m.interrupted = nil
	m.mu.Unlock()
	rescan := "it will not be rescanned"
	if m.opts.RescanInterrupted {
		rescan = "it will be executed again when it is resent (simulation)"
	}
	m.publishState()
	for _, p := range intr {
		m.event(lpbf.Event{Kind: "interrupted", Job: p.Job, Layer: p.Layer, Chunk: p.Chunk, Code: lpbf.CodeInterrupted,
			Message: fmt.Sprintf("chunk %d of job %s was cut short by a machine restart; %s", p.Chunk, p.Job, rescan)})
	}
	return true
}

// onMessage queues a message for the machine goroutine (never blocks).
func (m *Machine) onMessage(_ paho.Client, msg paho.Message) {
	m.mu.Lock()
	at := m.offlineAt
	m.mu.Unlock()
	if at != nil && msg.Topic() == m.topics.Vectors() {
		if _, job, _, chunk := ids(msg.Payload()); job == at.job && chunk == at.chunk {
			m.mu.Lock()
			m.offlineAt = nil
			m.mu.Unlock()
			m.GoOffline() // before paho acknowledges the delivery
			return
		}
	}
	m.qmu.Lock()
	if len(m.queue) >= maxQueue {
		m.qmu.Unlock()
		m.event(lpbf.Event{Kind: "overflow", Layer: -1, Chunk: -1, Message: "input queue full: message dropped (it will be resent)"})
		return
	}
	m.queue = append(m.queue, inMsg{msg.Topic(), append([]byte(nil), msg.Payload()...)})
	m.qmu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Machine) run() {
	defer m.wg.Done()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.wake:
		}
		for {
			m.qmu.Lock()
			if len(m.queue) == 0 {
				m.qmu.Unlock()
				break
			}
			msg := m.queue[0]
			m.queue[0] = inMsg{}
			m.queue = m.queue[1:]
			m.qmu.Unlock()
			if m.ctx.Err() != nil {
				return
			}
			m.handle(msg)
		}
	}
}

func (m *Machine) handle(msg inMsg) {
	m.mu.Lock()
	m.stats.Received++
	m.mu.Unlock()
	switch msg.topic {
	case m.topics.LayerBegin():
		m.handleBegin(msg.payload)
	case m.topics.Vectors():
		m.handleChunk(msg.payload)
	case m.topics.LayerEnd():
		m.handleEnd(msg.payload)
	}
}

// ids extracts the identifying fields of a message that failed strict
// decoding, for the rejection ack: the top-level fields that parse before
// the first error (so a truncated message still names its chunk).
func ids(p []byte) (req, job string, layer int, chunk int64) {
	chunk = -1
	dec := json.NewDecoder(bytes.NewReader(p))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return
		}
		var dst any
		switch t {
		case "req":
			dst = &req
		case "job":
			dst = &job
		case "layer":
			dst = &layer
		case "chunk":
			dst = &chunk
		default:
			dst = new(json.RawMessage)
		}
		if err := dec.Decode(dst); err != nil {
			return
		}
	}
	return
}

func (m *Machine) job(id string) *jobRec {
	j := m.jobs[id]
	if j == nil {
		j = &jobRec{LastChunk: -1, Interrupted: -1, Layers: map[int]*layerRec{}}
		m.jobs[id] = j
	}
	return j
}

func (m *Machine) handleBegin(p []byte) {
	var b lpbf.LayerBegin
	err := lpbf.Decode(p, m.opts.MaxPayloadBytes, &b)
	if err == nil {
		err = b.Validate()
	}
	if err != nil {
		req, job, layer, _ := ids(p)
		m.reject(lpbf.Ack{Kind: lpbf.KindLayerBegin, Req: req, Job: job, Layer: layer, Chunk: -1}, lpbf.CodeMalformed, err.Error(), -1)
		return
	}
	a := lpbf.Ack{Kind: lpbf.KindLayerBegin, Req: b.Req, Job: b.Job, Layer: b.Layer, Chunk: -1}
	m.mu.Lock()
	j := m.job(b.Job)
	lr := j.Layers[b.Layer]
	switch {
	case lr != nil && lr.Ended:
		a.Duplicate, a.Reason = true, "layer already completed"
	case m.open != nil && m.open.Job == b.Job && m.open.Layer == b.Layer:
		a.Duplicate, a.Reason = true, "layer already open (resumed)"
	default:
		var abandoned *openLayer
		if m.open != nil {
			abandoned = m.open
		}
		if lr == nil {
			j.Layers[b.Layer] = &layerRec{}
		}
		m.open = &openLayer{Job: b.Job, Layer: b.Layer, Params: b.Params,
			Timing: lpbf.Timing{JumpSpeedMMS: b.Params.JumpSpeedMMS, MarkDelayS: b.Params.MarkDelayS, JumpDelayS: b.Params.JumpDelayS}}
		j.Latest, j.Updated = b.Layer, m.opts.Now()
		m.prune()
		if err := m.persistLocked(); err != nil {
			m.open = abandoned
			m.mu.Unlock()
			m.reject(a, lpbf.CodeFault, "state file: "+err.Error(), -1)
			return
		}
		if abandoned != nil {
			defer m.event(lpbf.Event{Kind: "layer_abandoned", Job: abandoned.Job, Layer: abandoned.Layer, Chunk: -1,
				Message: fmt.Sprintf("layer %d of job %s was left open and is abandoned for layer %d of job %s", abandoned.Layer, abandoned.Job, b.Layer, b.Job)})
		}
	}
	if a.Duplicate {
		m.stats.Duplicates++
	}
	a.LastChunk = j.LastChunk
	m.mu.Unlock()
	m.publishState()
	m.ack(a)
}

func (m *Machine) handleEnd(p []byte) {
	var e lpbf.LayerEnd
	err := lpbf.Decode(p, m.opts.MaxPayloadBytes, &e)
	if err == nil {
		err = e.Validate()
	}
	if err != nil {
		req, job, layer, _ := ids(p)
		m.reject(lpbf.Ack{Kind: lpbf.KindLayerEnd, Req: req, Job: job, Layer: layer, Chunk: -1}, lpbf.CodeMalformed, err.Error(), -1)
		return
	}
	a := lpbf.Ack{Kind: lpbf.KindLayerEnd, Req: e.Req, Job: e.Job, Layer: e.Layer, Chunk: -1, LastChunk: -1}
	m.mu.Lock()
	j := m.jobs[e.Job]
	var lr *layerRec
	if j != nil {
		lr = j.Layers[e.Layer]
		a.LastChunk = j.LastChunk
	}
	switch {
	case lr == nil:
		m.mu.Unlock()
		m.reject(a, lpbf.CodeSequence, fmt.Sprintf("layer %d of job %s was never begun", e.Layer, e.Job), -1)
		return
	case lr.Ended:
		m.stats.Duplicates++
		a.Duplicate = true
	case m.open == nil || m.open.Job != e.Job || m.open.Layer != e.Layer:
		m.mu.Unlock()
		m.reject(a, lpbf.CodeSequence, fmt.Sprintf("layer %d of job %s is not open (abandoned for another layer)", e.Layer, e.Job), -1)
		return
	case lr.Chunks != e.Chunks || lr.Vectors != e.Vectors:
		m.mu.Unlock()
		m.reject(a, lpbf.CodeCount, fmt.Sprintf("controller sent %d chunks / %d vectors for layer %d, the machine executed %d / %d",
			e.Chunks, e.Vectors, e.Layer, lr.Chunks, lr.Vectors), -1)
		return
	default:
		lr.Ended = true
		open := m.open
		m.open = nil
		j.Updated = m.opts.Now()
		if err := m.persistLocked(); err != nil {
			lr.Ended, m.open = false, open
			m.mu.Unlock()
			m.reject(a, lpbf.CodeFault, "state file: "+err.Error(), -1)
			return
		}
	}
	m.mu.Unlock()
	m.publishState()
	m.ack(a)
}

// checkVectors validates vectors against the machine's limits and returns
// the first violation.
func (m *Machine) checkVectors(vs []lpbf.Vector) *lpbf.VectorError {
	half := m.opts.FieldSizeMM / 2
	for i, v := range vs {
		for _, pt := range [2][2]float64{{v.X0, v.Y0}, {v.X1, v.Y1}} {
			if math.Abs(pt[0]) > half || math.Abs(pt[1]) > half {
				return &lpbf.VectorError{Index: i, Code: lpbf.CodeField,
					Msg: fmt.Sprintf("end point (%g, %g) mm outside the scan field [±%g mm]", pt[0], pt[1], half)}
			}
		}
		if v.PowerW < 0 || v.PowerW > m.opts.MaxPowerW {
			return &lpbf.VectorError{Index: i, Code: lpbf.CodePower,
				Msg: fmt.Sprintf("power %g W outside the machine's range [0, %g] W", v.PowerW, m.opts.MaxPowerW)}
		}
		if !(v.SpeedMMS > 0) || (m.opts.MaxSpeedMMS > 0 && v.SpeedMMS > m.opts.MaxSpeedMMS) {
			lim := "> 0"
			if m.opts.MaxSpeedMMS > 0 {
				lim = fmt.Sprintf("in (0, %g] mm/s", m.opts.MaxSpeedMMS)
			}
			return &lpbf.VectorError{Index: i, Code: lpbf.CodeSpeed, Msg: fmt.Sprintf("speed %g mm/s: must be %s", v.SpeedMMS, lim)}
		}
	}
	return nil
}

func (m *Machine) handleChunk(p []byte) {
	var c lpbf.Chunk
	err := lpbf.Decode(p, m.opts.MaxPayloadBytes, &c)
	if err == nil {
		err = c.Validate(m.opts.MaxChunkVectors)
	}
	if err != nil {
		req, job, layer, chunk := ids(p)
		a := lpbf.Ack{Kind: lpbf.KindChunk, Req: req, Job: job, Layer: layer, Chunk: chunk}
		var ve *lpbf.VectorError
		if errors.As(err, &ve) {
			m.reject(a, lpbf.CodeMalformed, ve.Error(), ve.Index)
		} else {
			m.reject(a, lpbf.CodeMalformed, err.Error(), -1)
		}
		return
	}
	a := lpbf.Ack{Kind: lpbf.KindChunk, Req: c.Req, Job: c.Job, Layer: c.Layer, Chunk: c.ID, LastChunk: -1}
	digest := lpbf.Digest(c.Vectors)
	m.mu.Lock()
	j := m.jobs[c.Job]
	if j != nil {
		a.LastChunk = j.LastChunk
	}
	fail := func(code, reason string, vec int) {
		m.mu.Unlock()
		m.reject(a, code, reason, vec)
	}
	switch {
	case j != nil && c.ID <= j.LastChunk:
		if j.Digests[c.ID] != digest {
			fail(lpbf.CodeSequence, fmt.Sprintf("chunk %d of job %s was already executed with different vectors (job id reused?); a chunk id is never rescanned", c.ID, c.Job), -1)
			return
		}
		m.stats.Duplicates++
		a.Duplicate = true
		m.mu.Unlock()
		m.ack(a)
		return
	case j != nil && j.Interrupted == c.ID:
		fail(lpbf.CodeInterrupted, fmt.Sprintf("chunk %d of job %s was cut short by a machine restart mid-scan; it is not rescanned automatically", c.ID, c.Job), -1)
		return
	case m.open == nil || m.open.Job != c.Job || m.open.Layer != c.Layer:
		open := "no layer is open"
		if m.open != nil {
			open = fmt.Sprintf("the open layer is %d of job %s", m.open.Layer, m.open.Job)
		}
		fail(lpbf.CodeSequence, fmt.Sprintf("chunk %d for layer %d of job %s: %s (send layer/begin first)", c.ID, c.Layer, c.Job, open), -1)
		return
	case c.ID != j.LastChunk+1:
		fail(lpbf.CodeSequence, fmt.Sprintf("chunk %d out of order: the next chunk of job %s is %d", c.ID, c.Job, j.LastChunk+1), -1)
		return
	}
	if ve := m.checkVectors(c.Vectors); ve != nil {
		fail(ve.Code, ve.Error(), ve.Index)
		return
	}
	if reason, ok := m.rejects[rejKey{c.Job, c.ID}]; ok {
		delete(m.rejects, rejKey{c.Job, c.ID})
		fail(lpbf.CodeFault, reason, -1)
		return
	}
	// Execute: record the chunk as in progress first, so that a crash
	// mid-scan is known after a restart.
	m.inProgress = &progress{Job: c.Job, Layer: c.Layer, Chunk: c.ID}
	if err := m.persistLocked(); err != nil {
		m.inProgress = nil
		fail(lpbf.CodeFault, "state file: "+err.Error(), -1)
		return
	}
	m.laserOn = true
	tim := m.open.Timing
	m.mu.Unlock()
	m.publishState()

	markS, jumpS := tim.Add(c.Vectors)
	execS := markS + jumpS
	t0 := time.Now()
	if !m.sleep(time.Duration(execS / m.opts.TimeScale * float64(time.Second))) {
		return // shut down mid-scan: the chunk stays in progress (interrupted)
	}
	wallS := time.Since(t0).Seconds()

	m.mu.Lock()
	m.open.Timing = tim
	j.LastChunk = c.ID
	j.Digests = append(j.Digests, digest)
	j.Updated = m.opts.Now()
	lr := j.Layers[c.Layer]
	lr.Chunks++
	lr.Vectors += len(c.Vectors)
	lr.ExecS += execS
	m.inProgress = nil
	m.laserOn = false
	m.stats.Executed++
	m.stats.Vectors += len(c.Vectors)
	rec := Record{Job: c.Job, Layer: c.Layer, Chunk: c.ID, N: len(c.Vectors), MarkS: markS, JumpS: jumpS, ExecS: execS, WallS: wallS, At: m.opts.Now()}
	if m.opts.RecordVectors {
		rec.Vectors = c.Vectors
	}
	m.records = append(m.records, rec)
	perr := m.persistLocked()
	a.LastChunk, a.ExecS, a.WallS = c.ID, execS, wallS
	m.mu.Unlock()
	if perr != nil {
		// The scan happened; only its record on disk failed. Acknowledge
		// (the controller must not resend it) and raise a fault.
		m.event(lpbf.Event{Kind: "fault", Job: c.Job, Layer: c.Layer, Chunk: c.ID, Code: lpbf.CodeFault, Message: "state file: " + perr.Error()})
	}
	m.publishState()
	if !m.waitAckRelease(c.Job, c.ID) {
		return
	}
	m.ack(a)
}

// sleep waits d unless the machine shuts down (false).
func (m *Machine) sleep(d time.Duration) bool {
	if d <= 0 {
		return m.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-m.ctx.Done():
		return false
	}
}

// waitAckRelease applies the injected ack delay and hold to the ack of a
// chunk.
func (m *Machine) waitAckRelease(job string, chunk int64) bool {
	m.mu.Lock()
	if f := m.holdFrom; f != nil && f.job == job && chunk >= f.chunk && m.hold == nil {
		m.hold = make(chan struct{})
	}
	d, hold := m.ackDelay, m.hold
	m.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-m.ctx.Done():
			return false
		}
	}
	return m.sleep(d)
}

func (m *Machine) reject(a lpbf.Ack, code, reason string, vector int) {
	a.Status, a.Code, a.Reason, a.Vector = lpbf.StatusRejected, code, reason, vector
	m.mu.Lock()
	m.stats.Rejected++
	m.mu.Unlock()
	m.log.Warn("lpbfsim: rejected", "kind", a.Kind, "job", a.Job, "chunk", a.Chunk, "code", code, "reason", reason)
	m.event(lpbf.Event{Kind: "rejected", Job: a.Job, Layer: a.Layer, Chunk: a.Chunk, Code: code, Message: reason})
	m.ack(a)
}

func (m *Machine) ack(a lpbf.Ack) {
	if a.Status == "" {
		a.Status = lpbf.StatusOK
		a.Vector = -1
	}
	a.At = m.opts.Now().UTC()
	data, _ := json.Marshal(a)
	m.c.Publish(m.topics.Ack(), m.opts.QoS, false, data)
}

func (m *Machine) event(e lpbf.Event) {
	e.At = m.opts.Now().UTC()
	data, _ := json.Marshal(e)
	m.c.Publish(m.topics.Events(), m.opts.QoS, false, data)
}

// State returns the machine's current state as it publishes it.
func (m *Machine) State() lpbf.State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stateLocked()
}

func (m *Machine) stateLocked() lpbf.State {
	s := lpbf.State{V: lpbf.Version, Online: true, Boot: m.boot, Conn: m.conns, LaserOn: m.laserOn, Layer: -1,
		Jobs: make(map[string]lpbf.JobState, len(m.jobs)), FieldSizeMM: m.opts.FieldSizeMM, MaxPowerW: m.opts.MaxPowerW, At: m.opts.Now().UTC()}
	if m.open != nil {
		s.Job, s.Layer = m.open.Job, m.open.Layer
	}
	for id, j := range m.jobs {
		open := m.open != nil && m.open.Job == id && m.open.Layer == j.Latest
		s.Jobs[id] = lpbf.JobState{LastChunk: j.LastChunk, Layer: j.Latest, LayerOpen: open, Interrupted: j.Interrupted}
	}
	return s
}

// publishState publishes the retained state (in order of the changes).
func (m *Machine) publishState() {
	m.pubMu.Lock()
	defer m.pubMu.Unlock()
	m.mu.Lock()
	s := m.stateLocked()
	m.mu.Unlock()
	data, _ := json.Marshal(s)
	m.c.Publish(m.topics.State(), m.opts.QoS, true, data)
}

// prune drops the oldest job records beyond MaxJobs (never the open job's).
func (m *Machine) prune() {
	if len(m.jobs) <= m.opts.MaxJobs {
		return
	}
	ids := make([]string, 0, len(m.jobs))
	for id := range m.jobs {
		if m.open == nil || id != m.open.Job {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(a, b int) bool { return m.jobs[ids[a]].Updated.Before(m.jobs[ids[b]].Updated) })
	for _, id := range ids[:len(m.jobs)-m.opts.MaxJobs] {
		delete(m.jobs, id)
	}
}

// load reads the state file (if configured and present). A chunk recorded
// as in progress was cut short: it is marked interrupted.
func (m *Machine) load() error {
	if m.opts.StateFile == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(m.opts.StateFile), 0o755); err != nil {
		return fmt.Errorf("lpbfsim: state file: %w", err)
	}
	data, err := os.ReadFile(m.opts.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lpbfsim: state file: %w", err)
	}
	var p persisted
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("lpbfsim: state file %s: %v", m.opts.StateFile, err)
	}
	if p.V != 1 {
		return fmt.Errorf("lpbfsim: state file %s: version %d, want 1", m.opts.StateFile, p.V)
	}
	for id, j := range p.Jobs {
		if j == nil || j.LastChunk < -1 || int64(len(j.Digests)) != j.LastChunk+1 || j.Layers == nil {
			return fmt.Errorf("lpbfsim: state file %s: job %q is inconsistent", m.opts.StateFile, id)
		}
		m.jobs[id] = j
	}
	m.open = p.Open
	if m.open != nil && m.jobs[m.open.Job] == nil {
		return fmt.Errorf("lpbfsim: state file %s: open layer of unknown job %q", m.opts.StateFile, m.open.Job)
	}
	if p.InProgress != nil {
		if j := m.jobs[p.InProgress.Job]; j != nil && !m.opts.RescanInterrupted {
			j.Interrupted = p.InProgress.Chunk
		}
		m.interrupted = append(m.interrupted, *p.InProgress)
		m.log.Warn("lpbfsim: a chunk was cut short by the last shutdown", "job", p.InProgress.Job, "chunk", p.InProgress.Chunk)
		return m.persistLocked()
	}
	return nil
}

// persistLocked writes the state file atomically (temp file, fsync,
// rename, fsync of the directory). m.mu must be held (or no goroutine
// running).
func (m *Machine) persistLocked() error {
	if m.opts.StateFile == "" {
		return nil
	}
	data, err := json.Marshal(persisted{V: 1, Jobs: m.jobs, Open: m.open, InProgress: m.inProgress})
	if err != nil {
		return err
	}
	tmp := m.opts.StateFile + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, m.opts.StateFile); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(m.opts.StateFile)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Records returns every chunk executed since Start, in order.
func (m *Machine) Records() []Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Record(nil), m.records...)
}

// Stats returns the counters.
func (m *Machine) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// LastCompleted returns the last completed chunk of job (−1: none).
func (m *Machine) LastCompleted(job string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if j := m.jobs[job]; j != nil {
		return j.LastChunk
	}
	return -1
}

// RejectChunk makes the machine reject chunk id of job once, with code
// "fault" and reason, when it arrives (fault injection).
func (m *Machine) RejectChunk(job string, chunk int64, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rejects[rejKey{job, chunk}] = reason
}

// SetAckDelay delays every following chunk ack by d after the scan.
func (m *Machine) SetAckDelay(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ackDelay = d
}

// HoldAcks makes the machine scan chunks but hold their acks until
// ReleaseAcks (the machine processes nothing else meanwhile).
func (m *Machine) HoldAcks() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hold == nil {
		m.hold = make(chan struct{})
	}
}

// HoldAcksFrom holds the acks of job's chunks from id chunk on, as
// HoldAcks does, until ReleaseAcks.
func (m *Machine) HoldAcksFrom(job string, chunk int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.holdFrom = &rejKey{job, chunk}
}

// GoOfflineAtChunk makes the machine drop its connection abruptly (as
// GoOffline) when chunk id of job is delivered, before it acknowledges the
// delivery: the broker keeps the chunk queued in the machine's session and
// delivers it again after GoOnline.
func (m *Machine) GoOfflineAtChunk(job string, chunk int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.offlineAt = &rejKey{job, chunk}
}

// ReleaseAcks releases held acks (and ends HoldAcksFrom).
func (m *Machine) ReleaseAcks() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.holdFrom = nil
	if m.hold != nil {
		close(m.hold)
		m.hold = nil
	}
}

// GoOffline drops the broker connection abruptly (the broker publishes the
// Last Will: state online=false) and refuses to reconnect until GoOnline.
// Messages sent meanwhile wait in the machine's persistent session.
func (m *Machine) GoOffline() {
	m.connMu.Lock()
	m.offline = true
	c := m.conn
	m.conn = nil
	m.connMu.Unlock()
	if c != nil {
		c.drop()
	}
}

// GoOnline lets the machine reconnect (within Options.ReconnectMax).
func (m *Machine) GoOnline() {
	m.connMu.Lock()
	m.offline = false
	m.connMu.Unlock()
}

// Kill simulates a crash: the connection drops abruptly (Last Will), a
// chunk being scanned stays recorded as in progress, nothing more is
// published. The state file is left as the crash left it.
func (m *Machine) Kill() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	m.mu.Unlock()
	m.GoOffline()
	m.cancel()
	m.wg.Wait()
	lpbf.Disconnect(m.c, 0)
}

// Close shuts the machine down: a chunk being scanned is cut short (and
// recorded as interrupted in the state file), the retained state says
// offline, and the connection is closed.
func (m *Machine) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	m.mu.Lock()
	s := m.stateLocked()
	m.mu.Unlock()
	s.Online, s.LaserOn = false, false
	data, _ := json.Marshal(s)
	if m.c.IsConnectionOpen() {
		tok := m.c.Publish(m.topics.State(), m.opts.QoS, true, data)
		tok.WaitTimeout(time.Second)
	}
	lpbf.Disconnect(m.c, 250)
	return nil
}
