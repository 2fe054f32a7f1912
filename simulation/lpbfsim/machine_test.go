package lpbfsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fabcell/robot/lpbf"
	"fabcell/simulation/lpbfsim"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const cell = "sim"

func opts(url string) lpbfsim.Options {
	return lpbfsim.Options{BrokerURL: url, Prefix: "fab", Cell: cell, FieldSizeMM: 20, MaxPowerW: 300, TimeScale: 1000,
		ReconnectMax: 100 * time.Millisecond, Log: quiet()}
}

func start(t *testing.T, o lpbfsim.Options) *lpbfsim.Machine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := lpbfsim.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// rawClient is an independent MQTT client (plain paho, not robot/lpbf)
// that plays the controller at the byte level and records what the
// machine publishes.
type rawClient struct {
	c      paho.Client
	topics lpbf.Topics
	mu     sync.Mutex
	acks   []lpbf.Ack
	states []lpbf.State
	events []lpbf.Event
}

func newRaw(t *testing.T, url, id string) *rawClient {
	t.Helper()
	tp, _ := lpbf.NewTopics("fab", cell)
	r := &rawClient{topics: tp}
	o := paho.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(true).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			r.mu.Lock()
			defer r.mu.Unlock()
			switch m.Topic() {
			case tp.Ack():
				var a lpbf.Ack
				if err := json.Unmarshal(m.Payload(), &a); err == nil {
					r.acks = append(r.acks, a)
				}
			case tp.State():
				var s lpbf.State
				if err := json.Unmarshal(m.Payload(), &s); err == nil {
					r.states = append(r.states, s)
				}
			case tp.Events():
				var e lpbf.Event
				if err := json.Unmarshal(m.Payload(), &e); err == nil {
					r.events = append(r.events, e)
				}
			}
		})
	r.c = paho.NewClient(o)
	if tok := r.c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	if tok := r.c.SubscribeMultiple(map[string]byte{tp.Ack(): 1, tp.State(): 1, tp.Events(): 1}, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { lpbf.Disconnect(r.c, 100) })
	return r
}

func (r *rawClient) send(t *testing.T, topic string, payload string) {
	t.Helper()
	if tok := r.c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

// ack waits for the ack with request id req.
func (r *rawClient) ack(t *testing.T, req string) lpbf.Ack {
	t.Helper()
	var out lpbf.Ack
	waitFor(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, a := range r.acks {
			if a.Req == req {
				out = a
				return true
			}
		}
		return false
	})
	return out
}

func (r *rawClient) lastState() (lpbf.State, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.states) == 0 {
		return lpbf.State{}, false
	}
	return r.states[len(r.states)-1], true
}

const beginMsg = `{"v":1,"req":"b1","job":"J","layer":2,"z_mm":0.06,"thickness_mm":0.03,"pixels":10,"vector_count":0,
 "params":{"power_w":200,"scan_speed_mm_s":1000,"jump_speed_mm_s":4000,"mark_delay_s":0.001,"jump_delay_s":0.002,"spacing_mm":0.05,"field_size_mm":20}}`

// TestMachineProtocol drives the simulated machine with hand-written JSON
// over a plain MQTT client.
func TestMachineProtocol(t *testing.T) {
	eachBroker(t, func(t *testing.T, b testBroker) {
		m := start(t, opts(b.URL()))
		r := newRaw(t, b.URL(), "raw-"+t.Name()[len("TestMachineProtocol/"):])
		tp := r.topics
		waitFor(t, func() bool {
			s, ok := r.lastState()
			return ok && s.Online && s.FieldSizeMM == 20 && s.MaxPowerW == 300 && s.Layer == -1
		})

		r.send(t, tp.LayerBegin(), beginMsg)
		if a := r.ack(t, "b1"); a.Status != lpbf.StatusOK || a.Kind != lpbf.KindLayerBegin || a.Layer != 2 || a.Chunk != -1 || a.LastChunk != -1 {
			t.Fatalf("begin ack %+v", a)
		}
		waitFor(t, func() bool {
			s, _ := r.lastState()
			return s.Job == "J" && s.Layer == 2 && s.Jobs["J"].LayerOpen
		})
		// One 2 mm vector at 1000 mm/s: 2 ms + 1 ms mark delay; then a
		// jump of 1 mm at 4000 mm/s + 2 ms and a 1 mm vector: 1 + 1 ms.
		r.send(t, tp.Vectors(), `{"req":"c0","job":"J","layer":2,"chunk":0,"vectors":[{"x0":-1,"y0":0,"x1":1,"y1":0,"power_w":200,"speed_mm_s":1000}]}`)
		a := r.ack(t, "c0")
		if a.Status != lpbf.StatusOK || a.Chunk != 0 || a.LastChunk != 0 || a.Vector != -1 || a.ExecS != 0.003 {
			t.Fatalf("chunk 0 ack %+v", a)
		}
		r.send(t, tp.Vectors(), `{"req":"c1","job":"J","layer":2,"chunk":1,"vectors":[{"x0":1,"y0":1,"x1":0,"y1":1,"power_w":200,"speed_mm_s":1000}]}`)
		a = r.ack(t, "c1")
		want := 1.0/4000 + 0.002 + 0.001 + 0.001
		if a.Status != lpbf.StatusOK || a.ExecS < want-1e-12 || a.ExecS > want+1e-12 {
			t.Fatalf("chunk 1 ack %+v, want exec %v", a, want)
		}
		bad := []struct {
			req, payload, code string
			chunk              int64
			vector             int
		}{
			{"m1", `{"req":"m1","job":"J","layer":2,"chunk":2,"vectors":[{"x0":0,"y0":0,"x1":1,"y1":0,"power_w":200,"speed_mm_s":1000}],"extra":true}`, lpbf.CodeMalformed, 2, -1},
			{"m2", `{"req":"m2","job":"J","layer":2,"chunk":2,"vectors":[]}`, lpbf.CodeMalformed, 2, -1},
			{"m3", `{"req":"m3","job":"J","layer":2,"chunk":2,"vectors":[{"x0":0,"y0":0,"x1":10.5,"y1":0,"power_w":200,"speed_mm_s":1000}]}`, lpbf.CodeField, 2, 0},
			{"m4", `{"req":"m4","job":"J","layer":2,"chunk":2,"vectors":[{"x0":0,"y0":0,"x1":1,"y1":0,"power_w":200,"speed_mm_s":1000},{"x0":0,"y0":0,"x1":1,"y1":0,"power_w":301,"speed_mm_s":1000}]}`, lpbf.CodePower, 2, 1},
			{"m5", `{"req":"m5","job":"J","layer":3,"chunk":2,"vectors":[{"x0":0,"y0":0,"x1":1,"y1":0,"power_w":200,"speed_mm_s":1000}]}`, lpbf.CodeSequence, 2, -1},
			{"m6", `{"req":"m6","job":"J","layer":2,"chunk":4,"vectors":[{"x0":0,"y0":0,"x1":1,"y1":0,"power_w":200,"speed_mm_s":1000}]}`, lpbf.CodeSequence, 4, -1},
			{"m7", `{"req":"m7","job":"J","layer":2,"chunk":0,"vectors":[{"x0":0,"y0":0,"x1":1,"y1":0,"power_w":200,"speed_mm_s":1000}]}`, lpbf.CodeSequence, 0, -1},
			{"m8", `{"req":"m8","job":"J","layer":2,"chunk":2,`, lpbf.CodeMalformed, 2, -1},
		}
		for _, c := range bad {
			r.send(t, tp.Vectors(), c.payload)
			a := r.ack(t, c.req)
			if a.Status != lpbf.StatusRejected || a.Code != c.code || a.Chunk != c.chunk || a.Vector != c.vector || a.Reason == "" {
				t.Fatalf("%s: ack %+v", c.req, a)
			}
		}
		// redelivery of chunk 0: acknowledged, not executed
		r.send(t, tp.Vectors(), `{"req":"d0","job":"J","layer":2,"chunk":0,"vectors":[{"x0":-1,"y0":0,"x1":1,"y1":0,"power_w":200,"speed_mm_s":1000}]}`)
		if a := r.ack(t, "d0"); a.Status != lpbf.StatusOK || !a.Duplicate || a.ExecS != 0 || a.LastChunk != 1 {
			t.Fatalf("duplicate ack %+v", a)
		}
		r.send(t, tp.LayerEnd(), `{"req":"e1","job":"J","layer":2,"chunks":2,"vectors":2}`)
		if a := r.ack(t, "e1"); a.Status != lpbf.StatusOK {
			t.Fatalf("end ack %+v", a)
		}
		r.send(t, tp.LayerBegin(), strings.Replace(beginMsg, `"v":1,"req":"b1"`, `"v":9,"req":"b9"`, 1))
		if a := r.ack(t, "b9"); a.Code != lpbf.CodeMalformed || !strings.Contains(a.Reason, "version 9") {
			t.Fatalf("version ack %+v", a)
		}
		if st := m.Stats(); st.Executed != 2 || st.Duplicates != 1 || st.Rejected != 9 {
			t.Fatalf("stats %+v", st)
		}
		waitFor(t, func() bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			return len(r.events) == 9 && r.events[0].Kind == "rejected"
		})
		// The Last Will: the retained state says offline after an abrupt
		// disconnect; a late subscriber sees it.
		m.GoOffline()
		late := newRaw(t, b.URL(), "late-"+t.Name()[len("TestMachineProtocol/"):])
		waitFor(t, func() bool { s, ok := late.lastState(); return ok && !s.Online && s.Will })
		m.GoOnline()
		waitFor(t, func() bool {
			s, ok := late.lastState()
			return ok && s.Online && s.Conn == 2 && s.Jobs["J"].LastChunk == 1
		})
	})
}

// TestMachinePersistence: a restarted machine still knows what it
// executed; a chunk cut short by a crash is never rescanned.
func TestMachinePersistence(t *testing.T) {
	b := startMochi(t)
	o := opts(b.URL())
	o.StateFile = filepath.Join(t.TempDir(), "machine.json")
	m1 := start(t, o)
	l := dial(t, b.URL())
	ctx := ctxT(t, 20*time.Second)
	if _, err := l.BeginLayer(ctx, begin("P")); err != nil {
		t.Fatal(err)
	}
	for id := int64(0); id < 2; id++ {
		if _, err := l.SendChunk(ctx, chunk("P", id, 1)); err != nil {
			t.Fatal(err)
		}
	}
	m1.Close()
	waitFor(t, func() bool { s, _ := l.State(); return !s.Online })
	m2 := start(t, o)
	if n := m2.LastCompleted("P"); n != 1 {
		t.Fatalf("restarted machine: last chunk %d", n)
	}
	if a, err := l.SendChunk(ctx, chunk("P", 1, 1)); err != nil || !a.Duplicate {
		t.Fatalf("redelivered after restart: %+v %v", a, err)
	}
	if a, err := l.SendChunk(ctx, chunk("P", 2, 1)); err != nil || a.Duplicate {
		t.Fatalf("next chunk: %+v %v", a, err)
	}
	// Crash mid-scan: a chunk of 200 vectors takes ~0.2 s of model time; at
	// time scale 0.01 the scan lasts ~20 s, far longer than the test waits.
	m2.Kill()
	o.TimeScale = 0.01
	m3 := start(t, o)
	inFlight := make(chan error, 1)
	go func() { _, err := l.SendChunk(ctx, chunk("P", 3, 200)); inFlight <- err }()
	waitFor(t, func() bool { return m3.State().LaserOn })
	m3.Kill()
	o.TimeScale = 1000
	m4 := start(t, o)
	if n := m4.LastCompleted("P"); n != 2 {
		t.Fatalf("after crash: last chunk %d", n)
	}
	if s := m4.State(); s.Jobs["P"].Interrupted != 3 {
		t.Fatalf("state %+v", s.Jobs["P"])
	}
	// The link resends the in-flight chunk to the restarted machine, which
	// refuses to rescan it.
	if err := <-inFlight; !errors.Is(err, lpbf.ErrInterrupted) {
		t.Fatalf("interrupted chunk: %v", err)
	}
	if len(m4.Records()) != 0 {
		t.Fatal("the interrupted chunk was rescanned")
	}
	waitFor(t, func() bool {
		for _, e := range l.Events() {
			if e.Kind == "interrupted" && e.Chunk == 3 {
				return true
			}
		}
		return false
	})
}

func TestMachineLayers(t *testing.T) {
	b := startMochi(t)
	o := opts(b.URL())
	o.MaxJobs = 2
	m := start(t, o)
	l := dial(t, b.URL())
	ctx := ctxT(t, 20*time.Second)
	for _, j := range []string{"A", "B"} {
		if _, err := l.BeginLayer(ctx, begin(j)); err != nil {
			t.Fatal(err)
		}
	}
	// B's begin abandoned A's layer.
	if _, err := l.SendChunk(ctx, chunk("A", 0, 1)); !errors.Is(err, lpbf.ErrSequence) || !strings.Contains(err.Error(), "open layer is 0 of job B") {
		t.Fatalf("abandoned layer: %v", err)
	}
	if _, err := l.EndLayer(ctx, lpbf.LayerEnd{Job: "A", Layer: 0}); !errors.Is(err, lpbf.ErrSequence) {
		t.Fatalf("end of abandoned layer: %v", err)
	}
	if _, err := l.EndLayer(ctx, lpbf.LayerEnd{Job: "Z", Layer: 0}); !errors.Is(err, lpbf.ErrSequence) || !strings.Contains(err.Error(), "never begun") {
		t.Fatalf("end of unknown layer: %v", err)
	}
	// Re-beginning the open layer is a duplicate (a resumed job).
	if a, err := l.BeginLayer(ctx, begin("B")); err != nil || !a.Duplicate {
		t.Fatalf("resume: %+v %v", a, err)
	}
	// A third job drops the oldest record (A).
	if _, err := l.BeginLayer(ctx, begin("C")); err != nil {
		t.Fatal(err)
	}
	if s := m.State(); len(s.Jobs) != 2 || s.Jobs["A"] != (lpbf.JobState{}) || s.Job != "C" {
		t.Fatalf("jobs %+v", s.Jobs)
	}
}

func TestMachineOptions(t *testing.T) {
	for name, o := range map[string]lpbfsim.Options{
		"no url":    {FieldSizeMM: 1, MaxPowerW: 1, Prefix: "p", Cell: "c"},
		"ws":        {BrokerURL: "ws://h:1", FieldSizeMM: 1, MaxPowerW: 1, Prefix: "p", Cell: "c"},
		"field":     {BrokerURL: "tcp://h:1", FieldSizeMM: 0, MaxPowerW: 1, Prefix: "p", Cell: "c"},
		"power":     {BrokerURL: "tcp://h:1", FieldSizeMM: 1, MaxPowerW: -1, Prefix: "p", Cell: "c"},
		"scale":     {BrokerURL: "tcp://h:1", FieldSizeMM: 1, MaxPowerW: 1, TimeScale: -2, Prefix: "p", Cell: "c"},
		"cell":      {BrokerURL: "tcp://h:1", FieldSizeMM: 1, MaxPowerW: 1, Prefix: "p", Cell: "a/b"},
		"qos":       {BrokerURL: "tcp://h:1", FieldSizeMM: 1, MaxPowerW: 1, Prefix: "p", Cell: "c", QoS: 5},
		"statefile": {BrokerURL: "tcp://h:1", FieldSizeMM: 1, MaxPowerW: 1, Prefix: "p", Cell: "c", StateFile: "testdata/bad-state.json"},
	} {
		if _, err := lpbfsim.Start(context.Background(), o); err == nil {
			t.Fatalf("%s: accepted", name)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := lpbfsim.Start(ctx, lpbfsim.Options{BrokerURL: "tcp://127.0.0.1:1", FieldSizeMM: 1, MaxPowerW: 1, Prefix: "p", Cell: "c", Log: quiet()}); err == nil {
		t.Fatal("unreachable broker accepted")
	}
}

func begin(job string) lpbf.LayerBegin {
	return lpbf.LayerBegin{Job: job, Layer: 0, Params: lpbf.LayerParams{PowerW: 200, ScanSpeedMMS: 1000, JumpSpeedMMS: 4000, MarkDelayS: 1e-4, JumpDelayS: 5e-4}}
}

// chunk returns chunk id of job with n 1 mm vectors.
func chunk(job string, id int64, n int) lpbf.Chunk {
	vs := make([]lpbf.Vector, n)
	for i := range vs {
		y := float64(i)*0.05 - 5
		vs[i] = lpbf.Vector{X0: -0.5, Y0: y, X1: 0.5, Y1: y, PowerW: 200, SpeedMMS: 1000}
	}
	return lpbf.Chunk{Job: job, Layer: 0, ID: id, Vectors: vs}
}

func dial(t *testing.T, url string) *lpbf.Link {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	l, err := lpbf.Dial(ctx, lpbf.Options{BrokerURL: url, Prefix: "fab", Cell: cell, ReconnectMax: 100 * time.Millisecond, AckTimeout: 5 * time.Second, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestMachineRescanInterrupted: in a dry run (RescanInterrupted) a chunk
// cut short by a crash runs again when the controller resends it.
func TestMachineRescanInterrupted(t *testing.T) {
	b := startMochi(t)
	o := opts(b.URL())
	o.StateFile = filepath.Join(t.TempDir(), "state", "machine.json") // directory created
	o.RescanInterrupted = true
	o.TimeScale = 0.01
	m1 := start(t, o)
	l := dial(t, b.URL())
	ctx := ctxT(t, 20*time.Second)
	if _, err := l.BeginLayer(ctx, begin("R")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := l.SendChunk(ctx, chunk("R", 0, 200)); done <- err }()
	waitFor(t, func() bool { return m1.State().LaserOn })
	m1.Kill()
	o.TimeScale = 1000
	m2 := start(t, o)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r := m2.Records(); len(r) != 1 || r[0].Chunk != 0 || m2.LastCompleted("R") != 0 {
		t.Fatalf("records %+v", r)
	}
}
