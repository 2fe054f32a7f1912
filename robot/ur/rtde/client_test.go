package rtde_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"fabcell/robot/ur/rtde"
	"fabcell/simulation/ursim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startSim(t testing.TB, o ursim.Options) *ursim.Sim {
	t.Helper()
	o.RTDEAddr, o.DashboardAddr, o.ScriptAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	s, err := ursim.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestHandshakeAndStream500Hz(t *testing.T) {
	sim := startSim(t, ursim.Options{Ready: true})
	ctx := ctxT(t, 10*time.Second)
	c, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{
		FrequencyHz: 500,
		Outputs:     []string{"timestamp", "actual_q", "actual_TCP_pose", "robot_mode", "safety_mode", "runtime_state", "joint_mode", "actual_digital_output_bits", "output_int_register_0", "output_bit_register_64"},
		Inputs:      [][]string{{"input_int_register_0", "input_double_register_0"}, {"standard_digital_output_mask", "standard_digital_output"}},
		Logger:      quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v := c.ControllerVersion(); v.Major != 5 {
		t.Errorf("controller version %v", v)
	}
	types := c.OutputRecipe().TypeString()
	if types != "DOUBLE,VECTOR6D,VECTOR6D,INT32,INT32,UINT32,VECTOR6INT32,UINT64,INT32,BOOL" {
		t.Errorf("types %s", types)
	}
	sub := c.Subscribe(1024)
	defer sub.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var stamps []float64
	for len(stamps) < 250 {
		select {
		case f, ok := <-sub.C():
			if !ok {
				t.Fatal("subscription closed")
			}
			ts, err := f.Double("timestamp")
			if err != nil {
				t.Fatal(err)
			}
			stamps = append(stamps, ts)
		case <-ctx.Done():
			t.Fatal("timeout waiting for data")
		}
	}
	// controller timestamps advance by exactly one 2 ms cycle per package
	// (skipped packages would show as larger steps; allow a few on a
	// loaded CI machine)
	steps2ms := 0
	for i := 1; i < len(stamps); i++ {
		d := stamps[i] - stamps[i-1]
		if math.Abs(d-0.002) < 1e-9 {
			steps2ms++
		} else if d <= 0 {
			t.Fatalf("timestamp went from %v to %v", stamps[i-1], stamps[i])
		}
	}
	if steps2ms < len(stamps)*9/10 {
		t.Errorf("only %d of %d timestamp steps are 2 ms", steps2ms, len(stamps)-1)
	}
	f := c.Latest()
	if m, _ := f.Int32("robot_mode"); rtde.RobotMode(m) != rtde.RobotModeRunning {
		t.Errorf("robot_mode %v", rtde.RobotMode(m))
	}
	jm, _ := f.Get("joint_mode")
	if jm.Vec6Int32()[0] != 253 {
		t.Errorf("joint_mode %v", jm)
	}
	// two input recipes: registers and digital outputs
	r0, _ := c.InputRecipe(0)
	r1, _ := c.InputRecipe(1)
	if err := r0.Set(ctx, map[string]any{"input_int_register_0": 77, "input_double_register_0": 0.5}); err != nil {
		t.Fatal(err)
	}
	if err := r1.Set(ctx, map[string]any{"standard_digital_output_mask": 0b101, "standard_digital_output": 0b111}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(ctx, func(f *rtde.Frame) bool {
		bits, _ := f.Uint64("actual_digital_output_bits")
		return bits&0xff == 0b101
	}); err != nil {
		t.Fatalf("digital outputs never set: %v", err)
	}
	if err := r0.Set(ctx, map[string]any{"input_int_register_0": 1.5}); err == nil {
		t.Error("float into INT32 field accepted")
	}
	if err := r0.Set(ctx, map[string]any{"nope": 1}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown field: %v", err)
	}
	// text messages both ways: ours is logged by the controller, a runtime
	// exception of a program arrives as an exception-level message
	if err := c.SendMessage(ctx, rtde.TextMessage{Message: "hello from fabcell", Source: "test", Level: rtde.LevelInfo}); err != nil {
		t.Fatal(err)
	}
	if err := sim.RunProgram("def p():\n  x = 1 / 0\nend\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-c.Messages():
		if m.Level != rtde.LevelException || !strings.Contains(m.Message, "division by zero") {
			t.Errorf("message %+v", m)
		}
	case <-ctx.Done():
		t.Fatal("no runtime exception message")
	}
	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	n := c.Stats().Received
	time.Sleep(50 * time.Millisecond)
	if got := c.Stats().Received; got > n+2 {
		t.Errorf("%d packages after pause", got-n)
	}
}

func TestNotFoundAndInUseNameTheField(t *testing.T) {
	sim := startSim(t, ursim.Options{Ready: true})
	ctx := ctxT(t, 5*time.Second)
	_, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{Outputs: []string{"timestamp", "warp_drive_temperature"}, Logger: quietLogger()})
	if !errors.Is(err, rtde.ErrNotFound) || !strings.Contains(err.Error(), "warp_drive_temperature") {
		t.Fatalf("err = %v", err)
	}
	a, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{Outputs: []string{"timestamp"}, Inputs: [][]string{{"input_int_register_5"}}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{Outputs: []string{"timestamp"}, Inputs: [][]string{{"input_int_register_6", "input_int_register_5"}}, Logger: quietLogger()})
	if !errors.Is(err, rtde.ErrInUse) || !strings.Contains(err.Error(), "input_int_register_5") {
		t.Fatalf("err = %v", err)
	}
	a.Close()
	// released when the owner disconnects
	deadline := time.Now().Add(2 * time.Second)
	for {
		b, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{Outputs: []string{"timestamp"}, Inputs: [][]string{{"input_int_register_5"}}, Logger: quietLogger()})
		if err == nil {
			b.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("input not released: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{FrequencyHz: 501, Outputs: []string{"timestamp"}}); err == nil {
		t.Error("501 Hz accepted")
	}
}

func TestFrequencyDecimation(t *testing.T) {
	sim := startSim(t, ursim.Options{Ready: true})
	ctx := ctxT(t, 5*time.Second)
	c, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{FrequencyHz: 125, Outputs: []string{"timestamp"}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub := c.Subscribe(64)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var prev float64
	for i := 0; i < 20; i++ {
		f, ok := <-sub.C()
		if !ok {
			t.Fatal("subscription closed")
		}
		ts, _ := f.Double("timestamp")
		if i > 0 {
			d := ts - prev
			if math.Abs(d-0.008) > 1e-9 && math.Abs(d-0.016) > 1e-9 { // 8 ms, or one skipped
				t.Fatalf("125 Hz step %v s", d)
			}
		}
		prev = ts
	}
}

func TestSlowSubscriberDropsWithoutBlocking(t *testing.T) {
	sim := startSim(t, ursim.Options{Ready: true})
	ctx := ctxT(t, 5*time.Second)
	c, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{Outputs: []string{"timestamp"}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	slow := c.Subscribe(1) // never read
	fast := c.Subscribe(1024)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		<-fast.C()
	}
	if slow.Dropped() < 50 {
		t.Errorf("slow subscriber dropped %d, expected most of 100", slow.Dropped())
	}
	if fast.Dropped() != 0 {
		t.Errorf("fast subscriber dropped %d", fast.Dropped())
	}
	if c.Stats().SubscriberDrops != slow.Dropped()+fast.Dropped() {
		t.Errorf("stats %+v", c.Stats())
	}
}

func TestReconnectAfterDrop(t *testing.T) {
	sim := startSim(t, ursim.Options{Ready: true})
	ctx := ctxT(t, 10*time.Second)
	c, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{Outputs: []string{"timestamp"}, Inputs: [][]string{{"input_int_register_3"}},
		BackoffMin: 20 * time.Millisecond, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(ctx, func(*rtde.Frame) bool { return true }); err != nil {
		t.Fatal(err)
	}
	sim.DropConnections()
	// streaming resumes on a new connection without any call
	before := c.Latest().Seq
	f, err := c.Wait(ctx, func(f *rtde.Frame) bool { return c.Stats().Reconnects >= 1 && f.Seq > before+10 })
	if err != nil {
		t.Fatalf("no data after reconnect: %v (stats %+v, err %v)", err, c.Stats(), c.Err())
	}
	_ = f
	r, _ := c.InputRecipe(0)
	if err := r.Set(ctx, map[string]any{"input_int_register_3": 9}); err != nil {
		t.Fatalf("inputs after reconnect: %v", err)
	}
}

func TestCloseUnblocksWaiters(t *testing.T) {
	sim := startSim(t, ursim.Options{Ready: true})
	ctx := ctxT(t, 5*time.Second)
	c, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{Outputs: []string{"timestamp"}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var werr error
	go func() {
		defer wg.Done()
		_, werr = c.Wait(ctx, func(*rtde.Frame) bool { return false })
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	wg.Wait()
	if !errors.Is(werr, rtde.ErrClosed) {
		t.Errorf("Wait after Close: %v", werr)
	}
}

// malformed packets sent to the simulator close that connection only.
func TestSimulatorSurvivesMalformedPackets(t *testing.T) {
	sim := startSim(t, ursim.Options{Ready: true})
	ctx := ctxT(t, 10*time.Second)
	long := []byte(strings.Repeat("timestamp,", 250)) // 2500 bytes > 2048
	cases := map[string][]byte{
		"bad size":          {0, 1, 'V'},
		"truncated payload": {0, 40, 'I', 'a', 'b'},
		"recipe too long":   append([]byte{byte((len(long) + 3) >> 8), byte(len(long) + 3), 'I'}, long...),
		"bad V payload":     {0, 4, 'V', 2},
	}
	for name, pkt := range cases {
		conn, err := net.Dial("tcp", sim.RTDEAddr())
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(pkt)
		if name == "truncated payload" {
			conn.(*net.TCPConn).CloseWrite()
		}
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		data, err := io.ReadAll(conn) // server closes the connection
		conn.Close()
		if err != nil {
			t.Errorf("%s: connection not closed by the server: %v", name, err)
			continue
		}
		if name != "truncated payload" && !bytes.Contains(data, []byte("closing connection")) {
			t.Errorf("%s: no exception message before close, got %q", name, data)
		}
	}
	// well-framed packages the simulator cannot use (unknown type, input
	// recipe never set up) are reported in a text message and ignored; the
	// connection stays open (simulation/ursim TestRTDEOutOfOrderKeepsConnection)
	for name, pkt := range map[string][]byte{
		"unknown type":   {0, 3, 'X'},
		"unknown recipe": {0, 5, 'U', 9, 0},
	} {
		conn, err := net.Dial("tcp", sim.RTDEAddr())
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(pkt)
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		cmd, p, err := rtde.ReadPackage(conn, nil)
		if err != nil || cmd != rtde.CmdTextMessage || bytes.Contains(p, []byte("closing connection")) {
			t.Errorf("%s: want a text message and no close, got %v %q %v", name, cmd, p, err)
		}
		conn.Write([]byte{0, 3, 'v'}) // GET_URCONTROL_VERSION still answered
		if cmd, _, err := rtde.ReadPackage(conn, nil); err != nil || cmd != rtde.CmdGetURControlVersion {
			t.Errorf("%s: connection unusable afterwards: %v %v", name, cmd, err)
		}
		conn.Close()
	}
	// still serving
	c, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{Outputs: []string{"timestamp"}, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("simulator stopped serving: %v", err)
	}
	c.Close()
}

// fakeServer answers the handshake and then sends one bad package.
func fakeServer(t *testing.T, bad []byte) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			cmd, _, err := rtde.ReadPackage(conn, nil)
			if err != nil {
				return
			}
			var reply []byte
			switch cmd {
			case rtde.CmdRequestProtocolVersion, rtde.CmdStart, rtde.CmdPause:
				reply = rtde.EncodeAccepted(true)
			case rtde.CmdGetURControlVersion:
				reply = rtde.ControllerVersion{Major: 5, Minor: 21}.Encode()
			case rtde.CmdSetupOutputs:
				reply = rtde.SetupReply{RecipeID: 1, Types: []string{"DOUBLE"}}.Encode()
			}
			pkt, _ := rtde.AppendPackage(nil, cmd, reply)
			conn.Write(pkt)
			if cmd == rtde.CmdStart {
				conn.Write(bad)
				io.Copy(io.Discard, conn)
				return
			}
		}
	}()
	return ln.Addr().String()
}

// malformed packets sent to the client close the connection with a logged
// reason and never panic.
func TestClientSurvivesMalformedPackets(t *testing.T) {
	cases := map[string][]byte{
		"bad size":        {0, 2, 'U'},
		"unknown type":    {0, 3, 'Z'},
		"short data":      {0, 6, 'U', 1, 0, 0},
		"wrong recipe id": {0, 12, 'U', 7, 0, 0, 0, 0, 0, 0, 0, 0},
		"bad text":        {0, 5, 'M', 9, 'x'},
		"unexpected":      {0, 4, 'O', 1},
	}
	for name, bad := range cases {
		addr := fakeServer(t, bad)
		var logBuf bytes.Buffer
		var mu sync.Mutex
		logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logBuf, mu: &mu}, nil))
		ctx := ctxT(t, 5*time.Second)
		c, err := rtde.Dial(ctx, addr, rtde.Options{Outputs: []string{"timestamp"}, NoReconnect: true, Logger: logger})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_ = c.Start(ctx)
		deadline := time.Now().Add(3 * time.Second)
		for c.Err() == nil && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if c.Err() == nil {
			t.Errorf("%s: connection not closed", name)
		}
		c.Close()
		mu.Lock()
		if !strings.Contains(logBuf.String(), "closing connection") {
			t.Errorf("%s: no logged reason: %s", name, logBuf.String())
		}
		mu.Unlock()
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
