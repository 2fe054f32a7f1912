package ursim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"fabcell/robot/ur/rtde"
	"fabcell/robot/ur/script"
)

func tcpSim(t *testing.T, o Options) *Sim {
	t.Helper()
	o.RTDEAddr, o.DashboardAddr, o.ScriptAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func waitState(t *testing.T, s *Sim, what string, cond func(State) bool) State {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := s.State()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s: %+v", what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSecondaryInterface(t *testing.T) {
	s := tcpSim(t, Options{Ready: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snd := &script.Sender{Addr: s.ScriptAddr()}
	// a one-line program (as sent by simple drivers, "\r\n" terminated)
	if _, err := snd.Send(ctx, "set_standard_digital_out(5, True)\r\n"); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "DO 5", func(st State) bool { return st.StdDO == 1<<5 })
	// a long-running program is replaced by the next def program
	if _, err := snd.Send(ctx, "def spin():\n  while True:\n    sync()\n  end\nend\n"); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "spin running", func(st State) bool { return st.Program == "spin" && st.Runtime == rtde.RuntimePlaying })
	// a sec program runs alongside and may not move
	if _, err := snd.Send(ctx, "sec io():\n  set_tool_digital_out(0, True)\nend\n"); err != nil {
		t.Fatal(err)
	}
	st := waitState(t, s, "tool DO", func(st State) bool { return st.ToolDO == 1 })
	if st.Program != "spin" || st.Runtime != rtde.RuntimePlaying {
		t.Errorf("sec program disturbed the main program: %+v", st)
	}
	_, err := snd.Send(ctx, "sec bad():\n  movej([0,0,0,0,0,0])\nend\n")
	var re *script.RuntimeError
	if !errors.As(err, &re) || !strings.Contains(re.Text, "not allowed in a secondary") || re.Line != 2 {
		t.Errorf("sec program with movej: %v", err)
	}
	if _, err := snd.Send(ctx, "def done():\n  textmsg(\"replaced\")\nend\n"); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "replacement", func(st State) bool { return st.Program == "done" && st.Runtime == rtde.RuntimeStopped })
}

// The secondary stream starts with a VERSION message and a robot state and
// then sends states at 10 Hz.
func TestSecondaryStream(t *testing.T) {
	s := tcpSim(t, Options{Ready: true})
	conn, err := net.Dial("tcp", s.ScriptAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	br := bufio.NewReader(conn)
	typ, p, err := script.ReadPrimary(br)
	if err != nil || typ != script.MsgRobotMessage {
		t.Fatalf("first message %d %v", typ, err)
	}
	if m, _ := script.ParseRobotMessage(p); m.Type != script.RobotMsgVersion || m.Major != 5 {
		t.Errorf("version %+v", m)
	}
	states := 0
	start := time.Now()
	for states < 6 {
		typ, p, err := script.ReadPrimary(br)
		if err != nil {
			t.Fatal(err)
		}
		if typ == script.MsgRobotState {
			st, err := script.ParseRobotState(p)
			if err != nil || !st.HasJoints || st.RobotMode != uint8(rtde.RobotModeRunning) {
				t.Fatalf("state %+v %v", st, err)
			}
			states++
		}
	}
	if el := time.Since(start); el < 350*time.Millisecond {
		t.Errorf("5 periodic states in %v: faster than 10 Hz", el)
	}
}

func TestOversizedAndBinaryInputClosesOnlyThatConnection(t *testing.T) {
	s := tcpSim(t, Options{Ready: true})
	// dashboard: a line longer than 64 KiB
	conn, err := net.Dial("tcp", s.DashboardAddr())
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(bytes.Repeat([]byte("x"), 70000))
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("dashboard kept the connection: %v", err)
		}
	}
	conn.Close()
	// secondary: binary garbage is a compile error, not a crash
	conn, err = net.Dial("tcp", s.ScriptAddr())
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("\x00\xff\xfe garbage (\n"))
	conn.Close()
	time.Sleep(50 * time.Millisecond)
	if _, err := (&script.Sender{Addr: s.ScriptAddr()}).Send(context.Background(), "def ok():\n  sync()\nend\n"); err != nil {
		t.Fatalf("secondary interface broken: %v", err)
	}
}

func TestRTDEWatchdogPausesProgram(t *testing.T) {
	s := manual(t, Options{Ready: true})
	if err := s.RunProgram("def p():\n  rtde_set_watchdog(\"input_int_register_0\", 10, \"PAUSE\")\n  while True:\n    sync()\n  end\nend\n"); err != nil {
		t.Fatal(err)
	}
	s.Step(5)
	s.mu.Lock()
	s.c.applyInputs([]string{"input_int_register_0"}, []rtde.Value{rtde.Int32Value(1)})
	s.mu.Unlock()
	s.Step(40) // 80 ms < 100 ms
	if st := s.State(); st.Runtime != rtde.RuntimePlaying {
		t.Fatalf("paused too early: %v", st.Runtime)
	}
	s.Step(20)
	if st := s.State(); st.Runtime != rtde.RuntimePaused {
		t.Fatalf("watchdog did not pause: %v", st.Runtime)
	}
}

// FuzzRTDEServer feeds arbitrary packages to the server's handler; it may
// refuse them but must not panic.
func FuzzRTDEServer(f *testing.F) {
	f.Add([]byte{0, 5, 'V', 0, 2, 0, 3, 'v', 0, 0x13, 'O', 0x40, 0x7f, 0x40, 0, 0, 0, 0, 0, 't', 'i', 'm', 'e', 's', 't', 'a', 'm', 'p', 0, 3, 'S'})
	f.Add([]byte{0, 0x17, 'I', 'i', 'n', 'p', 'u', 't', '_', 'i', 'n', 't', '_', 'r', 'e', 'g', 'i', 's', 't', 'e', 'r', '_', '0', 0, 8, 'U', 1, 0, 0, 0, 7})
	f.Add([]byte{0, 4, 'V', 1, 0, 3, 'P', 0, 9, 'M', 2, 'h', 'i', 1, 's', 3})
	s, err := Start(Options{Manual: true, Ready: true, RTDEAddr: "-", DashboardAddr: "-", ScriptAddr: "-",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		rc := &rtdeConn{s: s, conn: server, version: 1, inputs: map[uint8]*rtde.Recipe{}, nextIn: 1, wake: make(chan struct{}, 1)}
		go io.Copy(io.Discard, client)
		r := bytes.NewReader(in)
		for {
			cmd, p, err := rtde.ReadPackage(r, nil)
			if err != nil {
				break
			}
			if rc.handle(cmd, p) != nil {
				break
			}
		}
		s.mu.Lock()
		for k, o := range s.owner {
			if o == rc {
				delete(s.owner, k)
			}
		}
		s.mu.Unlock()
		s.Step(1)
		client.Close()
		server.Close()
	})
}

// FuzzParseProgram: the URScript front end never panics.
func FuzzParseProgram(f *testing.F) {
	f.Add("def p():\n  movej([0,0,0,0,0,0], a=1)\nend\n")
	f.Add("def p():\n  x = p[1,2,3,4,5,6]\n  if x[0] > 1 and not False:\n    textmsg(\"a\")\n  elif True:\n    sync()\n  end\nend\n")
	f.Add("sec s():\n  set_standard_digital_out(1, True)\nend\n")
	s, err := Start(Options{Manual: true, Ready: true, RTDEAddr: "-", DashboardAddr: "-", ScriptAddr: "-",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, src string) {
		if _, err := parseProgram(src); err != nil {
			return
		}
		// programs that compile also run without panicking
		s.mu.Lock()
		s.c.stopProgram()
		s.c.safetyMode = rtde.SafetyNormal
		s.c.q = s.opts.InitialQRad
		s.mu.Unlock()
		if err := s.RunProgram(src); err == nil {
			s.Step(20)
		}
	})
}

// A protocol-v1 client: SETUP_OUTPUTS without frequency (maximum rate) and
// v1 text messages (level byte + text).
func TestRTDEProtocolV1(t *testing.T) {
	s := tcpSim(t, Options{Ready: true})
	conn, err := net.Dial("tcp", s.RTDEAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	send := func(cmd rtde.Command, p []byte) []byte {
		pkt, _ := rtde.AppendPackage(nil, cmd, p)
		conn.Write(pkt)
		for {
			c, reply, err := rtde.ReadPackage(conn, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c == cmd {
				return reply
			}
		}
	}
	if ok, _ := rtde.DecodeAccepted(send(rtde.CmdRequestProtocolVersion, rtde.EncodeVersionRequest(1))); !ok {
		t.Fatal("v1 refused")
	}
	if ok, _ := rtde.DecodeAccepted(send(rtde.CmdRequestProtocolVersion, rtde.EncodeVersionRequest(3))); ok {
		t.Fatal("v3 accepted")
	}
	rep, err := rtde.DecodeSetupReply(send(rtde.CmdSetupOutputs, []byte("timestamp,robot_mode")))
	if err != nil || rep.RecipeID != 1 || strings.Join(rep.Types, ",") != "DOUBLE,INT32" {
		t.Fatalf("v1 outputs: %+v %v", rep, err)
	}
	send(rtde.CmdStart, nil)
	r, _ := rtde.NewRecipe(1, []string{"timestamp", "robot_mode"}, []rtde.DataType{rtde.Double, rtde.Int32})
	var prev float64
	for i := 0; i < 5; i++ {
		c, p, err := rtde.ReadPackage(conn, nil)
		if err != nil || c != rtde.CmdDataPackage {
			t.Fatalf("%v %v", c, err)
		}
		v, err := r.Unpack(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && v[0].Float()-prev > 0.0021 && v[0].Float()-prev < 0.0039 {
			t.Errorf("v1 stream not at the maximum rate: step %v", v[0].Float()-prev)
		}
		prev = v[0].Float()
	}
}

func TestSpeedSliderSlowsMotion(t *testing.T) {
	var times [2]float64
	for i, frac := range []float64{1, 0.5} {
		s := manual(t, Options{Ready: true})
		s.mu.Lock()
		s.c.applyInputs([]string{"speed_slider_mask", "speed_slider_fraction"}, []rtde.Value{rtde.Uint32Value(1), rtde.DoubleValue(frac)})
		s.mu.Unlock()
		q := s.State().QRad
		q[0] += 1
		st := run(t, s, "def p():\n  movej(["+fmtQ(q)+"], a=100, v=1)\nend\n", 10000)
		times[i] = st.TimeS
	}
	// a = 100 rad/s²: nearly all cruise, so half the speed ≈ twice the time
	if r := times[1] / times[0]; r < 1.9 || r > 2.05 {
		t.Errorf("slider 0.5: %.3f s vs %.3f s (ratio %.2f)", times[1], times[0], r)
	}
}
