package lpbf_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/robot/lpbf"
	"fabcell/simulation/lpbfsim"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const cell = "c1"

func startMachine(t *testing.T, url string, mod func(*lpbfsim.Options)) *lpbfsim.Machine {
	t.Helper()
	o := lpbfsim.Options{BrokerURL: url, Prefix: "fab", Cell: cell, FieldSizeMM: 100, MaxPowerW: 400, TimeScale: 1000,
		ReconnectMax: 100 * time.Millisecond, RecordVectors: true, Log: quiet()}
	if mod != nil {
		mod(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := lpbfsim.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func dial(t *testing.T, url string, mod func(*lpbf.Options)) *lpbf.Link {
	t.Helper()
	o := lpbf.Options{BrokerURL: url, Prefix: "fab", Cell: cell, ReconnectMax: 100 * time.Millisecond, AckTimeout: 5 * time.Second, Log: quiet()}
	if mod != nil {
		mod(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := lpbf.Dial(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func begin(job string) lpbf.LayerBegin {
	return lpbf.LayerBegin{Job: job, Layer: 0, ZMM: 0.03, ThicknessMM: 0.03, Pixels: 100,
		Params: lpbf.LayerParams{PowerW: 200, ScanSpeedMMS: 800, JumpSpeedMMS: 5000, MarkDelayS: 1e-4, JumpDelayS: 5e-4, SpacingMM: 0.05, FieldSizeMM: 100}}
}

// vecs returns n horizontal 1 mm vectors on consecutive rows starting at
// row r0 (0.05 mm pitch), power p.
func vecs(r0, n int, p float64) []lpbf.Vector {
	out := make([]lpbf.Vector, n)
	for i := range out {
		y := float64(r0+i) * 0.05
		out[i] = lpbf.Vector{X0: -0.5, Y0: y, X1: 0.5, Y1: y, PowerW: p, SpeedMMS: 800}
	}
	return out
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestLinkLayerChunksAndDuplicates(t *testing.T) {
	eachBroker(t, func(t *testing.T, b testBroker) {
		m := startMachine(t, b.URL(), nil)
		l := dial(t, b.URL(), nil)
		ctx := ctxT(t, 20*time.Second)
		if _, err := l.WaitOnline(ctx); err != nil {
			t.Fatal(err)
		}
		a, err := l.BeginLayer(ctx, begin("j1"))
		if err != nil || a.Duplicate || a.LastChunk != -1 {
			t.Fatalf("begin: %+v %v", a, err)
		}
		// The machine's time model, computed independently here: each
		// 1 mm vector marks 1/800 s + 1e-4 s; between vectors the laser
		// jumps from (0.5, y) back to (−0.5, y+0.05): √(1+0.0025) mm at
		// 5000 mm/s + 5e-4 s. Chunk 1 starts with that jump too.
		mark := 1.0/800 + 1e-4
		jump := math.Sqrt(1+0.05*0.05)/5000 + 5e-4
		want := []float64{5*mark + 4*jump, 5*mark + 5*jump, 3*mark + 3*jump}
		sizes := []int{5, 5, 3}
		row := 0
		for id, n := range sizes {
			a, err := l.SendChunk(ctx, lpbf.Chunk{Job: "j1", Layer: 0, ID: int64(id), Vectors: vecs(row, n, 200)})
			row += n
			if err != nil || a.Status != lpbf.StatusOK || a.Duplicate || a.LastChunk != int64(id) {
				t.Fatalf("chunk %d: %+v %v", id, a, err)
			}
			if math.Abs(a.ExecS-want[id]) > 1e-12 {
				t.Fatalf("chunk %d exec %.12f s, want %.12f", id, a.ExecS, want[id])
			}
		}
		// A redelivered chunk is acknowledged without scanning; the same id
		// with other vectors is refused.
		a, err = l.SendChunk(ctx, lpbf.Chunk{Job: "j1", Layer: 0, ID: 1, Vectors: vecs(5, 5, 200)})
		if err != nil || !a.Duplicate || a.ExecS != 0 {
			t.Fatalf("duplicate: %+v %v", a, err)
		}
		_, err = l.SendChunk(ctx, lpbf.Chunk{Job: "j1", Layer: 0, ID: 1, Vectors: vecs(7, 5, 200)})
		if !errors.Is(err, lpbf.ErrSequence) || !strings.Contains(err.Error(), "different vectors") {
			t.Fatalf("reused id: %v", err)
		}
		if got := len(m.Records()); got != 3 {
			t.Fatalf("machine executed %d chunks, want 3", got)
		}
		if n, ok := l.LastCompleted(ctx, "j1"); !ok || n != 2 {
			t.Fatalf("last completed %d %v", n, ok)
		}
		if n, ok := l.LastCompleted(ctx, "nope"); !ok || n != -1 {
			t.Fatalf("unknown job: %d %v", n, ok)
		}
		// layer/end checks the totals.
		_, err = l.EndLayer(ctx, lpbf.LayerEnd{Job: "j1", Layer: 0, Chunks: 3, Vectors: 12})
		if !errors.Is(err, lpbf.ErrSequence) || !strings.Contains(err.Error(), "executed 3 / 13") {
			t.Fatalf("bad totals: %v", err)
		}
		if a, err := l.EndLayer(ctx, lpbf.LayerEnd{Job: "j1", Layer: 0, Chunks: 3, Vectors: 13}); err != nil || a.Duplicate {
			t.Fatalf("end: %+v %v", a, err)
		}
		if a, err := l.EndLayer(ctx, lpbf.LayerEnd{Job: "j1", Layer: 0, Chunks: 3, Vectors: 13}); err != nil || !a.Duplicate {
			t.Fatalf("end again: %+v %v", a, err)
		}
		// After the layer ended no new chunk is accepted.
		_, err = l.SendChunk(ctx, lpbf.Chunk{Job: "j1", Layer: 0, ID: 3, Vectors: vecs(20, 1, 200)})
		if !errors.Is(err, lpbf.ErrSequence) {
			t.Fatalf("chunk after end: %v", err)
		}
		st := l.Stats()
		if st.Duplicates != 2 || st.Acks < 8 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestLinkRejections(t *testing.T) {
	b := startMochi(t)
	m := startMachine(t, b.URL(), nil)
	l := dial(t, b.URL(), nil)
	ctx := ctxT(t, 20*time.Second)
	if _, err := l.WaitOnline(ctx); err != nil {
		t.Fatal(err)
	}
	// A chunk before layer/begin.
	_, err := l.SendChunk(ctx, lpbf.Chunk{Job: "r", Layer: 0, ID: 0, Vectors: vecs(0, 2, 100)})
	if !errors.Is(err, lpbf.ErrSequence) || !strings.Contains(err.Error(), "no layer is open") {
		t.Fatalf("no begin: %v", err)
	}
	if _, err := l.BeginLayer(ctx, begin("r")); err != nil {
		t.Fatal(err)
	}
	outside := vecs(0, 4, 100)
	outside[2].X1 = 50.001 // field ±50 mm
	tooHot := vecs(0, 4, 100)
	tooHot[3].PowerW = 400.5
	slow := vecs(0, 4, 100)
	slow[1].SpeedMMS = 0
	cases := []struct {
		name   string
		id     int64
		vs     []lpbf.Vector
		target error
		vector int
		text   string
	}{
		{"field", 0, outside, lpbf.ErrFieldSize, 2, "outside the scan field"},
		{"power", 0, tooHot, lpbf.ErrPower, 3, "power 400.5 W"},
		{"speed", 0, slow, lpbf.ErrSpeed, 1, "speed 0 mm/s"},
		{"gap", 1, vecs(0, 1, 100), lpbf.ErrSequence, -1, "the next chunk of job r is 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := l.SendChunk(ctx, lpbf.Chunk{Job: "r", Layer: 0, ID: c.id, Vectors: c.vs})
			var re *lpbf.RejectedError
			if !errors.As(err, &re) || !errors.Is(err, c.target) || !errors.Is(err, lpbf.ErrRejected) {
				t.Fatalf("err %v, want %v", err, c.target)
			}
			if re.Vector != c.vector || re.Chunk != c.id || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("rejection %+v: %v", re, err)
			}
		})
	}
	// Injected fault.
	m.RejectChunk("r", 0, "galvo fault")
	_, err = l.SendChunk(ctx, lpbf.Chunk{Job: "r", Layer: 0, ID: 0, Vectors: vecs(0, 1, 100)})
	if !errors.Is(err, lpbf.ErrRejected) || !strings.Contains(err.Error(), "galvo fault") {
		t.Fatalf("injected: %v", err)
	}
	if len(m.Records()) != 0 {
		t.Fatalf("rejected chunks were executed: %d", len(m.Records()))
	}
	// The fault is consumed: the chunk now goes through.
	if _, err := l.SendChunk(ctx, lpbf.Chunk{Job: "r", Layer: 0, ID: 0, Vectors: vecs(0, 1, 100)}); err != nil {
		t.Fatal(err)
	}
	// Client-side checks never reach the machine.
	if _, err := l.SendChunk(ctx, lpbf.Chunk{Job: "r", Layer: 0, ID: 1}); !errors.Is(err, lpbf.ErrMalformed) {
		t.Fatalf("empty chunk: %v", err)
	}
	nan := vecs(0, 1, 100)
	nan[0].Y1 = math.NaN()
	if _, err := l.SendChunk(ctx, lpbf.Chunk{Job: "r", Layer: 0, ID: 1, Vectors: nan}); err == nil || !strings.Contains(err.Error(), "vector 0") {
		t.Fatalf("NaN: %v", err)
	}
	if _, err := l.SendChunk(ctx, lpbf.Chunk{Job: "r/x", Layer: 0, ID: 1, Vectors: vecs(0, 1, 100)}); !errors.Is(err, lpbf.ErrMalformed) {
		t.Fatalf("bad job id: %v", err)
	}
	small := dial(t, b.URL(), func(o *lpbf.Options) { o.ClientID = "small"; o.MaxPayloadBytes = 2048 })
	if _, err := small.SendChunk(ctx, lpbf.Chunk{Job: "r", Layer: 0, ID: 1, Vectors: vecs(0, 100, 100)}); !errors.Is(err, lpbf.ErrTooLarge) {
		t.Fatalf("oversize: %v", err)
	}
	if st := m.Stats(); st.Executed != 1 || st.Rejected != 6 {
		t.Fatalf("machine stats %+v", st)
	}
}

// TestLinkOutages: the machine drops off (Last Will) while a chunk is on
// its way, and the broker restarts while an ack is on its way; every chunk
// is scanned exactly once.
func TestLinkOutages(t *testing.T) {
	eachBroker(t, func(t *testing.T, b testBroker) {
		m := startMachine(t, b.URL(), nil)
		l := dial(t, b.URL(), nil)
		ctx := ctxT(t, 30*time.Second)
		if _, err := l.WaitOnline(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := l.BeginLayer(ctx, begin("o")); err != nil {
			t.Fatal(err)
		}
		// 1. The machine goes offline; the chunk waits (no timeout while
		// the machine is offline) and is delivered when it is back.
		m.GoOffline()
		waitFor(t, func() bool { s, _ := l.State(); return !s.Online })
		done := make(chan error, 1)
		go func() {
			_, err := l.SendChunk(ctx, lpbf.Chunk{Job: "o", Layer: 0, ID: 0, Vectors: vecs(0, 3, 100)})
			done <- err
		}()
		time.Sleep(150 * time.Millisecond)
		if n, ok := l.LastCompleted(ctxT(t, 50*time.Millisecond), "o"); ok {
			t.Fatalf("offline machine reported last chunk %d", n)
		}
		m.GoOnline()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// 2. The broker restarts after the machine scanned a chunk and
		// before its ack reached the controller.
		m.SetAckDelay(200 * time.Millisecond)
		go func() {
			_, err := l.SendChunk(ctx, lpbf.Chunk{Job: "o", Layer: 0, ID: 1, Vectors: vecs(3, 3, 100)})
			done <- err
		}()
		waitFor(t, func() bool { return len(m.Records()) == 2 })
		b.Restart(t)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		m.SetAckDelay(0)
		// 3. The broker restarts before the chunk reached the machine.
		b.Stop()
		go func() {
			_, err := l.SendChunk(ctx, lpbf.Chunk{Job: "o", Layer: 0, ID: 2, Vectors: vecs(6, 3, 100)})
			done <- err
		}()
		time.Sleep(100 * time.Millisecond)
		b.Restart(t)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		recs := m.Records()
		if len(recs) != 3 {
			t.Fatalf("executed %d chunks, want 3", len(recs))
		}
		for i, r := range recs {
			if r.Chunk != int64(i) {
				t.Fatalf("execution %d is chunk %d", i, r.Chunk)
			}
		}
		if st := l.Stats(); st.Reconnects < 2 {
			t.Fatalf("link stats %+v", st)
		}
	})
}

func TestLinkAckTimeoutAndStaleAcks(t *testing.T) {
	b := startMochi(t)
	m := startMachine(t, b.URL(), nil)
	l1 := dial(t, b.URL(), func(o *lpbf.Options) { o.AckTimeout = 300 * time.Millisecond })
	ctx := ctxT(t, 20*time.Second)
	if _, err := l1.BeginLayer(ctx, begin("s")); err != nil {
		t.Fatal(err)
	}
	m.HoldAcks()
	_, err := l1.SendChunk(ctx, lpbf.Chunk{Job: "s", Layer: 0, ID: 0, Vectors: vecs(0, 2, 100)})
	if !errors.Is(err, lpbf.ErrAckTimeout) {
		t.Fatalf("want ack timeout, got %v", err)
	}
	// The "controller" goes away; the held ack is published while it is
	// gone and waits in its persistent session.
	l1.Close()
	m.ReleaseAcks()
	waitFor(t, func() bool { return m.LastCompleted("s") == 0 })
	time.Sleep(50 * time.Millisecond)
	l2 := dial(t, b.URL(), nil)
	if n, ok := l2.LastCompleted(ctx, "s"); !ok || n != 0 {
		t.Fatalf("last completed %d %v", n, ok)
	}
	waitFor(t, func() bool { return l2.Stats().StaleAcks >= 1 })
	// The restarted controller resends the in-flight chunk: acknowledged as
	// a duplicate, scanned once.
	a, err := l2.SendChunk(ctx, lpbf.Chunk{Job: "s", Layer: 0, ID: 0, Vectors: vecs(0, 2, 100)})
	if err != nil || !a.Duplicate || len(m.Records()) != 1 {
		t.Fatalf("resend: %+v %v, %d executions", a, err, len(m.Records()))
	}
}

func TestLinkDialErrors(t *testing.T) {
	ctx := ctxT(t, 300*time.Millisecond)
	if _, err := lpbf.Dial(ctx, lpbf.Options{BrokerURL: "tcp://127.0.0.1:1", Prefix: "p", Cell: "c", Log: quiet()}); err == nil || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("unreachable broker: %v", err)
	}
	for _, o := range []lpbf.Options{
		{BrokerURL: "", Prefix: "p", Cell: "c"},
		{BrokerURL: "nourl", Prefix: "p", Cell: "c"},
		{BrokerURL: "tcp://h:1", Prefix: "p/#", Cell: "c"},
		{BrokerURL: "tcp://h:1", Prefix: "p", Cell: "a/b"},
		{BrokerURL: "tcp://h:1", Prefix: "p", Cell: "c", QoS: 3},
		{BrokerURL: "tcp://h:1", Prefix: "p", Cell: "c", MaxPayloadBytes: 10},
	} {
		if _, err := lpbf.Dial(context.Background(), o); err == nil {
			t.Fatalf("options %+v accepted", o)
		}
	}
}

func TestOptionsFromConfig(t *testing.T) {
	c := config.Defaults()
	c.Name = "cellA"
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("s3cret\r\nignored\n"), 0o600)
	c.MQTT.PasswordFile = pw
	c.MQTT.Username = "u"
	c.MQTT.QoS = 0
	o, err := lpbf.OptionsFromConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	if o.BrokerURL != "tcp://"+c.MQTT.EmbeddedAddr || o.ClientID != "fabcell-cellA-lpbf" || o.Password != "s3cret" || o.Username != "u" ||
		o.Prefix != "fabcell" || o.Cell != "cellA" || o.AckTimeout != 60*time.Second || o.TLS != nil {
		t.Fatalf("options %+v", o)
	}
	c.MQTT.Broker = "ssl://broker:8883"
	c.MQTT.ClientID = "x"
	c.MQTT.TLS.CAFile = filepath.Join(dir, "missing.pem")
	if _, err := lpbf.OptionsFromConfig(c); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Fatalf("missing CA: %v", err)
	}
	c.MQTT.TLS.CAFile = ""
	o, err = lpbf.OptionsFromConfig(c)
	if err != nil || o.TLS == nil || o.ClientID != "x-lpbf" {
		t.Fatalf("tls: %+v %v", o, err)
	}
	os.WriteFile(pw, nil, 0o600)
	if _, err := lpbf.OptionsFromConfig(c); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty password file: %v", err)
	}
}

func TestLinkConcurrentRequestsSameKey(t *testing.T) {
	b := startMochi(t)
	m := startMachine(t, b.URL(), nil)
	l := dial(t, b.URL(), nil)
	ctx := ctxT(t, 20*time.Second)
	if _, err := l.BeginLayer(ctx, begin("k")); err != nil {
		t.Fatal(err)
	}
	m.HoldAcks()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = l.SendChunk(ctx, lpbf.Chunk{Job: "k", Layer: 0, ID: 0, Vectors: vecs(0, 1, 100)})
		}()
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	m.ReleaseAcks()
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || !strings.Contains(errors.Join(errs...).Error(), "already waiting") {
		t.Fatalf("errors %v", errs)
	}
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
