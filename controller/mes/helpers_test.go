package mes

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/controller"
	"fabcell/planners"
	_ "fabcell/planners/baseline"
	"fabcell/planners/graph"
	"fabcell/robot/lpbf/brokertest"
	"fabcell/safety"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// testProcess is the process of these tests: the planner's "travel" test
// process under its own name, bound to a recording executor, so the API is
// tested against the real Manager and pipeline without a robot.
const testProcess = "mestest"

type testProc struct{ *planners.TravelProcess }

func (p testProc) Name() string { return testProcess }

// recExec executes steps by sleeping; hold stops it between steps.
type recExec struct {
	delay time.Duration
	hold  atomic.Bool

	mu    sync.Mutex
	steps []controller.Step
}

func (e *recExec) Begin(context.Context) error { return nil }
func (e *recExec) Do(ctx context.Context, s controller.Step) error {
	for e.hold.Load() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	select {
	case <-time.After(e.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	e.mu.Lock()
	e.steps = append(e.steps, s)
	e.mu.Unlock()
	return nil
}
func (e *recExec) SafePoint(context.Context) error { return nil }
func (e *recExec) Completed(context.Context, controller.JournalEntry) (bool, bool, error) {
	return false, false, nil
}
func (e *recExec) End(context.Context) error { return nil }
func (e *recExec) Status() (safety.RobotStatus, bool) {
	return safety.RobotStatus{}, false
}
func (e *recExec) Telemetry() map[string]float64 {
	return map[string]float64{"nozzle_degC": 210, "safety_mode": 1}
}
func (e *recExec) Close() error { return nil }

func (e *recExec) executed() []controller.Step {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]controller.Step(nil), e.steps...)
}

// printedOnce checks that every edge was printed exactly once and returns
// the count.
func (e *recExec) printedOnce(t *testing.T) int {
	t.Helper()
	seen := map[int]int{}
	for _, s := range e.executed() {
		for _, mv := range s.Moves {
			if mv.Kind == planners.Print {
				seen[mv.Edge]++
			}
		}
	}
	for edge, n := range seen {
		if n != 1 {
			t.Errorf("edge %d printed %d times", edge, n)
		}
	}
	return len(seen)
}

type stepAdapter struct{ n int }

func (a *stepAdapter) Check(planners.Move) error { return nil }
func (a *stepAdapter) Apply(m planners.Move) ([]controller.Step, error) {
	a.n++
	return []controller.Step{{Moves: []planners.Move{m}, Label: fmt.Sprintf("%s %d→%d", m.Kind, m.From, m.To), Estimate: time.Millisecond}}, nil
}
func (a *stepAdapter) Flush() ([]controller.Step, error) { return nil, nil }
func (a *stepAdapter) Metrics() map[string]float64 {
	return map[string]float64{"applied": float64(a.n)}
}
func (a *stepAdapter) Series() map[string][]float64 { return nil }

var (
	execMu    sync.Mutex
	execs     = map[string]*recExec{}
	execDelay = 300 * time.Microsecond
)

// execFor returns the executor of job id (created on first use).
func execFor(id string) *recExec {
	execMu.Lock()
	defer execMu.Unlock()
	e, ok := execs[id]
	if !ok {
		e = &recExec{delay: execDelay}
		execs[id] = e
	}
	return e
}

func init() {
	planners.RegisterProcess(testProcess, func(cfg config.Cell) (planners.Process, error) {
		return testProc{&planners.TravelProcess{Cfg: cfg, TurnWeight: 0.1}}, nil
	})
	controller.RegisterAdapter(testProcess, func(ctx context.Context, env *controller.Env) (controller.Adapter, controller.Executor, error) {
		return &stepAdapter{}, execFor(env.Job.ID), nil
	})
}

const femurDir = "../../planners/graph/testdata"

// femurEdges is the Femur wire frame's edge count (every one printed once).
func femurEdges(t *testing.T) int {
	g, err := graph.Load(filepath.Join(femurDir, "NodeFemur_wireframe.txt"), graph.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return g.NumEdges()
}

// modelDirB is modelDir for benchmarks.
func modelDirB(b *testing.B) string {
	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, "femur"), 0o755)
	for _, f := range []string{"NodeFemur_wireframe.txt", "EdgeFemur_wireframe.txt"} {
		data, err := os.ReadFile(filepath.Join(femurDir, f))
		if err != nil {
			b.Skip(err)
		}
		os.WriteFile(filepath.Join(dir, "femur", f), data, 0o644)
	}
	return dir
}

// modelDir returns a model directory holding femur/NodeFemur_wireframe.txt
// (+ its edge file).
func modelDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "femur"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"NodeFemur_wireframe.txt", "EdgeFemur_wireframe.txt"} {
		data, err := os.ReadFile(filepath.Join(femurDir, f))
		if err != nil {
			t.Skipf("Femur model not available: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "femur", f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const femurRef = "femur/NodeFemur_wireframe.txt"

func testCell(t testing.TB, name string) config.Cell {
	c := config.Defaults()
	c.Name = name
	dir := t.TempDir()
	c.Controller.JournalDir = filepath.Join(dir, "journal")
	c.Controller.ReportDir = filepath.Join(dir, "reports")
	c.Controller.LookaheadDepth = 8
	c.Planner.Name = "greedy"
	c.MQTT.TelemetryHz = 20
	return c
}

func quietLog() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// broker is a broker under test: the embedded mochi broker or a mosquitto
// process, restartable on the same port.
type broker interface {
	url() string
	// configure points a cell at the broker.
	configure(c *config.Cell)
	restart(t *testing.T)
	stop()
	name() string
}

type mochiBroker struct {
	b    *Broker
	addr string
	auth string
}

func startMochi(t *testing.T, authFile string) *mochiBroker {
	t.Helper()
	cfg := config.Defaults().MQTT
	cfg.EmbeddedAddr = "127.0.0.1:0"
	cfg.EmbeddedAuthFile = authFile
	b, err := StartBroker(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	m := &mochiBroker{b: b, addr: b.Addr(), auth: authFile}
	t.Cleanup(m.stop)
	return m
}

func (m *mochiBroker) name() string { return "mochi" }
func (m *mochiBroker) url() string  { return "tcp://" + m.addr }
func (m *mochiBroker) configure(c *config.Cell) {
	c.MQTT.Broker = ""
	c.MQTT.EmbeddedAddr = m.addr
}
func (m *mochiBroker) stop() {
	if m.b != nil {
		m.b.Close()
		m.b = nil
	}
}
func (m *mochiBroker) restart(t *testing.T) {
	t.Helper()
	m.stop()
	cfg := config.Defaults().MQTT
	cfg.EmbeddedAddr = m.addr
	cfg.EmbeddedAuthFile = m.auth
	var err error
	for i := 0; i < 100; i++ {
		if m.b, err = StartBroker(cfg, quietLog()); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal(err)
}

// mosquittoPath finds Debian's mosquitto, or skips (fails with
// FABCELL_REQUIRE_MOSQUITTO=1); shared with the other broker tests.
var mosquittoPath = brokertest.MosquittoPath

type mosquitto struct {
	bin, conf, addr string
	cmd             *exec.Cmd
	out             *lockedBuf
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startMosquitto runs mosquitto on a free loopback port with the listener
// settings in extra (e.g. "allow_anonymous true", an acl_file); %PORT% in
// extra is replaced by the port.
func startMosquitto(t *testing.T, extra string) *mosquitto {
	t.Helper()
	bin := mosquittoPath(t)
	dir := t.TempDir()
	port := freePort(t)
	conf := filepath.Join(dir, "mosquitto.conf")
	body := fmt.Sprintf("per_listener_settings false\npersistence false\nlog_dest stdout\nlog_type error\nlog_type warning\nlistener %d 127.0.0.1\n", port) + strings.ReplaceAll(extra, "%PORT%", strconv.Itoa(port))
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &mosquitto{bin: bin, conf: conf, addr: fmt.Sprintf("127.0.0.1:%d", port), out: &lockedBuf{}}
	m.start(t)
	t.Cleanup(m.stop)
	return m
}

func (m *mosquitto) name() string { return "mosquitto" }
func (m *mosquitto) url() string  { return "tcp://" + m.addr }
func (m *mosquitto) configure(c *config.Cell) {
	c.MQTT.Broker = m.url()
}

func (m *mosquitto) start(t *testing.T) {
	t.Helper()
	m.cmd = exec.Command(m.bin, "-c", m.conf)
	m.cmd.Stdout, m.cmd.Stderr = m.out, m.out
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", m.addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not listen on %s: %s", m.addr, m.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (m *mosquitto) stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		m.cmd.Process.Signal(syscall.SIGTERM)
		m.cmd.Wait()
		m.cmd = nil
	}
}

func (m *mosquitto) restart(t *testing.T) {
	m.stop()
	m.start(t)
}

// brokers returns the brokers every end-to-end test runs against.
func brokers() []struct {
	name  string
	start func(t *testing.T) broker
} {
	return []struct {
		name  string
		start func(t *testing.T) broker
	}{
		{"mochi", func(t *testing.T) broker { return startMochi(t, "") }},
		{"mosquitto", func(t *testing.T) broker { return startMosquitto(t, "allow_anonymous true\n") }},
	}
}

// msg is a message seen by the recorder.
type msg struct {
	Topic    string
	Payload  []byte
	Retained bool
	QoS      byte
	Received time.Time // when the recorder's client got it
}

// recorder is an independent MES-side client (its own paho connection)
// that records everything under a filter.
type recorder struct {
	c    paho.Client
	mu   sync.Mutex
	msgs []msg
	note chan struct{}
}

func newRecorder(t *testing.T, url, clientID string, filters ...string) *recorder {
	t.Helper()
	return newRecorderAuth(t, url, clientID, "", "", filters...)
}

func newRecorderAuth(t *testing.T, url, clientID, user, pass string, filters ...string) *recorder {
	t.Helper()
	r := &recorder{note: make(chan struct{}, 1)}
	o := paho.NewClientOptions().AddBroker(url).SetClientID(clientID).SetCleanSession(true).
		SetAutoReconnect(true).SetMaxReconnectInterval(time.Second).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetUsername(user).SetPassword(pass).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			r.mu.Lock()
			r.msgs = append(r.msgs, msg{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), Retained: m.Retained(), QoS: m.Qos(), Received: time.Now()})
			r.mu.Unlock()
			select {
			case r.note <- struct{}{}:
			default:
			}
		})
	subs := map[string]byte{}
	for _, f := range filters {
		subs[f] = 1
	}
	o.SetOnConnectHandler(func(c paho.Client) {
		if len(subs) > 0 {
			c.SubscribeMultiple(subs, nil)
		}
	})
	r.c = paho.NewClient(o)
	tok := r.c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("recorder connect %s: %v", url, tok.Error())
	}
	// wait for the subscription to be active
	if len(subs) > 0 {
		tok := r.c.SubscribeMultiple(subs, nil)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("recorder subscribe: %v", tok.Error())
		}
	}
	t.Cleanup(func() { r.c.Disconnect(50) })
	return r
}

func (r *recorder) all() []msg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]msg(nil), r.msgs...)
}

func (r *recorder) publish(t *testing.T, topic string, qos byte, retain bool, payload any) {
	t.Helper()
	tok := r.c.Publish(topic, qos, retain, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// waitFor waits until cond holds over the recorded messages.
func (r *recorder) waitFor(t *testing.T, what string, timeout time.Duration, cond func([]msg) bool) []msg {
	t.Helper()
	deadline := time.After(timeout)
	for {
		ms := r.all()
		if cond(ms) {
			return ms
		}
		select {
		case <-r.note:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			var b strings.Builder
			for _, m := range ms[max(0, len(ms)-15):] {
				fmt.Fprintf(&b, "  %s %s\n", m.Topic, clip(string(m.Payload), 300))
			}
			t.Fatalf("timed out waiting for %s; last messages:\n%s", what, b.String())
		}
	}
}

// events returns the decoded events among ms.
func events(tp Topics, ms []msg) []Event {
	var out []Event
	for _, m := range ms {
		if m.Topic == tp.Events() {
			var e Event
			if json.Unmarshal(m.Payload, &e) == nil {
				out = append(out, e)
			}
		}
	}
	return out
}

// statuses returns the decoded statuses of job id among ms.
func statuses(tp Topics, id string, ms []msg) []Status {
	var out []Status
	for _, m := range ms {
		if m.Topic == tp.Status(id) && len(m.Payload) > 0 {
			var s Status
			if json.Unmarshal(m.Payload, &s) == nil {
				out = append(out, s)
			}
		}
	}
	return out
}

func lastStatus(tp Topics, id string, ms []msg) (Status, bool) {
	s := statuses(tp, id, ms)
	if len(s) == 0 {
		return Status{}, false
	}
	return s[len(s)-1], true
}

// stack is a Manager plus the MQTT API connected to a broker.
type stack struct {
	cell config.Cell
	mgr  *controller.Manager
	api  *Server
	tp   Topics
}

func newStack(t *testing.T, b broker, cell config.Cell, models string) *stack {
	t.Helper()
	// The recording executors are kept per job id; forget them when the
	// test ends so that a repetition (-count=N) starts from nothing.
	t.Cleanup(func() {
		execMu.Lock()
		clear(execs)
		execMu.Unlock()
	})
	b.configure(&cell)
	mgr := controller.NewManager(controller.Options{Cell: cell, ModelDir: models, AutoStart: cell.MQTT.AutoStart, Log: quietLog()})
	api, err := New(Options{Jobs: mgr, Cell: cell, ModelDir: models, Log: quietLog(), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := api.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := api.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	s := &stack{cell: cell, mgr: mgr, api: api, tp: api.Topics()}
	t.Cleanup(func() { s.close(t) })
	return s
}

// waitOnline waits until the state topic says online (the API subscribed
// and republished after its connection).
func (s *stack) waitOnline(t *testing.T, r *recorder) {
	t.Helper()
	r.waitFor(t, "online state", 15*time.Second, func(ms []msg) bool {
		for i := len(ms) - 1; i >= 0; i-- {
			if ms[i].Topic == s.tp.State() {
				var st OnlineState
				return json.Unmarshal(ms[i].Payload, &st) == nil && st.Online
			}
		}
		return false
	})
}

func (s *stack) close(t *testing.T) {
	if s.mgr != nil {
		s.mgr.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.api.Close(ctx)
}

func readLines(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// proxy forwards TCP connections to a broker; cut drops every open
// connection (as a network failure would) and keeps accepting new ones.
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
	// downUntil: after a cut the network stays down this long (new
	// connections are refused), so the broker sees the old connection
	// die before the client can reconnect and take its session over —
	// otherwise whether the Will is published races with the takeover.
	downUntil time.Time
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := time.Now().Before(p.downUntil)
			p.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); io.Copy(u, c); u.Close() }()
			go func() { defer p.wg.Done(); io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(func() { l.Close(); p.cut(); p.wg.Wait() })
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.downUntil = time.Now().Add(time.Second)
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
	p.conns = nil
}

// proxied is a broker reached through a proxy by the controller.
type proxied struct {
	broker
	p *proxy
}

func (x proxied) configure(c *config.Cell) { c.MQTT.Broker = "tcp://" + x.p.addr() }
