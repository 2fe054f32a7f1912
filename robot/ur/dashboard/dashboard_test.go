package dashboard_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"fabcell/robot/ur/dashboard"
	"fabcell/robot/ur/rtde"
	"fabcell/robot/ur/script"
	"fabcell/simulation/ursim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startSim(t *testing.T, o ursim.Options) *ursim.Sim {
	t.Helper()
	o.RTDEAddr, o.DashboardAddr, o.ScriptAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := ursim.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t *testing.T, ctx context.Context, addr string) *dashboard.Client {
	t.Helper()
	c, err := dashboard.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitMode(t *testing.T, ctx context.Context, c *dashboard.Client, want rtde.RobotMode) {
	t.Helper()
	for {
		m, err := c.RobotMode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("robot mode %v, want %v", m, want)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// The full state machine: POWER_OFF → power on → IDLE → brake release →
// RUNNING; load / play / pause / play / stop a program.
func TestDashboardStateMachine(t *testing.T) {
	dir := t.TempDir()
	prog := "def wiggle():\n  q = get_actual_joint_positions()\n  while True:\n    q[5] = q[5] + 0.001\n    servoj(q, t=0.002)\n  end\nend\n"
	if err := os.WriteFile(filepath.Join(dir, "wiggle.script"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "broken.script"), []byte("def b():\n  x = (\nend\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "job.urp"), []byte("gz"), 0o644)
	sim := startSim(t, ursim.Options{ProgramDir: dir, PowerOnDelay: 50 * time.Millisecond, BrakeReleaseDelay: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := dial(t, ctx, sim.DashboardAddr())

	if m, err := c.RobotMode(ctx); err != nil || m != rtde.RobotModePowerOff {
		t.Fatalf("initial mode %v %v", m, err)
	}
	if remote, err := c.IsInRemoteControl(ctx); err != nil || !remote {
		t.Fatalf("remote %v %v", remote, err)
	}
	if err := c.Play(ctx); !errors.Is(err, dashboard.ErrFailed) {
		t.Errorf("play without program: %v", err)
	}
	if err := c.PowerOn(ctx); err != nil {
		t.Fatal(err)
	}
	waitMode(t, ctx, c, rtde.RobotModeIdle)
	if err := c.BrakeRelease(ctx); err != nil {
		t.Fatal(err)
	}
	waitMode(t, ctx, c, rtde.RobotModeRunning)

	if _, err := c.Load(ctx, "missing.script"); !errors.Is(err, dashboard.ErrFileNotFound) {
		t.Errorf("load missing: %v", err)
	}
	if _, err := c.Load(ctx, "../../etc/passwd"); !errors.Is(err, dashboard.ErrFileNotFound) {
		t.Errorf("load outside the program dir: %v", err)
	}
	if _, err := c.Load(ctx, "broken.script"); !errors.Is(err, dashboard.ErrLoad) {
		t.Errorf("load broken: %v", err)
	}
	if _, err := c.Load(ctx, "job.urp"); !errors.Is(err, dashboard.ErrLoad) {
		t.Errorf("load urp: %v", err)
	}
	path, err := c.Load(ctx, "wiggle.script")
	if err != nil || !strings.HasSuffix(path, "wiggle.script") {
		t.Fatalf("load: %q %v", path, err)
	}
	if got, err := c.LoadedProgram(ctx); err != nil || got != path {
		t.Errorf("loaded program %q %v", got, err)
	}
	if err := c.Play(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.ProgramState(ctx); err != nil || st.State != "PLAYING" || st.Program != "wiggle.script" {
		t.Errorf("program state %+v %v", st, err)
	}
	if run, err := c.Running(ctx); err != nil || !run {
		t.Errorf("running %v %v", run, err)
	}
	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	q1 := sim.State().QRad[5]
	time.Sleep(50 * time.Millisecond)
	if st, _ := c.ProgramState(ctx); st.State != "PAUSED" || sim.State().QRad[5] != q1 {
		t.Errorf("paused: state %+v, joint 5 moved %v", st, sim.State().QRad[5]-q1)
	}
	if err := c.Pause(ctx); !errors.Is(err, dashboard.ErrFailed) {
		t.Errorf("pause while paused: %v", err)
	}
	if err := c.Play(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if sim.State().QRad[5] <= q1 {
		t.Error("program did not resume")
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if run, _ := c.Running(ctx); run {
		t.Error("still running after stop")
	}
	if err := c.Stop(ctx); !errors.Is(err, dashboard.ErrFailed) {
		t.Errorf("stop when stopped: %v", err)
	}
	if sm, err := c.SafetyStatus(ctx); err != nil || sm != rtde.SafetyNormal {
		t.Errorf("safety status %v %v", sm, err)
	}
	if model, _ := c.RobotModel(ctx); model != "UR5" {
		t.Errorf("model %q", model)
	}
	if _, err := c.Raw(ctx, "make coffee"); !errors.Is(err, dashboard.ErrNotUnderstood) {
		t.Errorf("unknown command: %v", err)
	}
	if err := c.PowerOff(ctx); err != nil {
		t.Fatal(err)
	}
	waitMode(t, ctx, c, rtde.RobotModePowerOff)
	if err := c.Quit(ctx); err != nil {
		t.Errorf("quit: %v", err)
	}
}

// A program that drives a joint past its limit is protective-stopped;
// unlocking is refused for 5 s (here: the configured delay), then the
// dashboard recovers the robot and a new program runs.
func TestProtectiveStopOnJointLimitAndRecovery(t *testing.T) {
	lo := [6]float64{-math.Pi, -2 * math.Pi, -math.Pi, -2 * math.Pi, -2 * math.Pi, -2 * math.Pi}
	hi := [6]float64{math.Pi, 2 * math.Pi, math.Pi, 2 * math.Pi, 2 * math.Pi, 2 * math.Pi}
	sim := startSim(t, ursim.Options{Ready: true, JointMinRad: &lo, JointMaxRad: &hi, UnlockDelay: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := dial(t, ctx, sim.DashboardAddr())
	rc, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{Outputs: []string{"actual_q", "safety_mode", "runtime_state", "safety_status_bits"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := rc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	q := sim.State().QRad
	q[0] = 3.3 // beyond +π
	p := script.NewProgram("overreach")
	p.MoveJ(q, script.Motion{Speed: 3, Accel: 10})
	src, _ := p.Build()
	sender := &script.Sender{Addr: sim.ScriptAddr()}
	if _, err := sender.Send(ctx, src); err != nil {
		t.Fatal(err)
	}
	f, err := rc.Wait(ctx, func(f *rtde.Frame) bool {
		m, _ := f.Int32("safety_mode")
		return rtde.SafetyMode(m) == rtde.SafetyProtectiveStop
	})
	if err != nil {
		t.Fatalf("no protective stop: %v", err)
	}
	if rs, _ := f.Uint32("runtime_state"); rtde.RuntimeState(rs) != rtde.RuntimePaused {
		t.Errorf("runtime %v, want PAUSED", rtde.RuntimeState(rs))
	}
	if bits, _ := f.Uint32("safety_status_bits"); bits&(1<<2) == 0 {
		t.Errorf("safety_status_bits %b lacks protective stop", bits)
	}
	if aq, _ := f.Vector6D("actual_q"); aq[0] > math.Pi {
		t.Errorf("joint 0 at %v beyond the limit", aq[0])
	}
	if sm, _ := c.SafetyMode(ctx); sm != rtde.SafetyProtectiveStop {
		t.Errorf("dashboard safety mode %v", sm)
	}
	if err := c.UnlockProtectiveStop(ctx); !errors.Is(err, dashboard.ErrTooSoon) {
		t.Errorf("early unlock: %v", err)
	}
	time.Sleep(350 * time.Millisecond)
	if err := c.UnlockProtectiveStop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseSafetyPopup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if sm, _ := c.SafetyStatus(ctx); sm != rtde.SafetyNormal {
		t.Fatalf("safety after unlock %v", sm)
	}
	// back inside the limits
	q[0] = 0.5
	p = script.NewProgram("recover")
	p.MoveJ(q, script.Motion{Speed: 3, Accel: 10})
	src, _ = p.Build()
	if _, err := sender.Send(ctx, src); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Wait(ctx, func(f *rtde.Frame) bool {
		aq, _ := f.Vector6D("actual_q")
		rs, _ := f.Uint32("runtime_state")
		return math.Abs(aq[0]-0.5) < 1e-9 && rtde.RuntimeState(rs) == rtde.RuntimeStopped
	}); err != nil {
		t.Fatalf("recovery move: %v", err)
	}
}

func TestLocalModeRefusesCommands(t *testing.T) {
	sim := startSim(t, ursim.Options{LocalMode: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := dial(t, ctx, sim.DashboardAddr())
	if err := c.PowerOn(ctx); !errors.Is(err, dashboard.ErrNotAllowed) {
		t.Errorf("power on in local mode: %v", err)
	}
	if _, err := c.Load(ctx, "x.script"); !errors.Is(err, dashboard.ErrNotAllowed) {
		t.Errorf("load in local mode: %v", err)
	}
	if remote, err := c.IsInRemoteControl(ctx); err != nil || remote {
		t.Errorf("is in remote control: %v %v", remote, err)
	}
	if _, err := c.RobotMode(ctx); err != nil {
		t.Errorf("robotmode must work in local mode: %v", err)
	}
	// scripts are refused too
	_, err := (&script.Sender{Addr: sim.ScriptAddr()}).Send(ctx, "def p():\n  sync()\nend\n")
	if !errors.Is(err, script.ErrNotRemote) {
		t.Errorf("script in local mode: %v", err)
	}
}

func TestEmergencyStop(t *testing.T) {
	sim := startSim(t, ursim.Options{Ready: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := dial(t, ctx, sim.DashboardAddr())
	sim.EmergencyStop()
	if sm, _ := c.SafetyMode(ctx); sm != rtde.SafetyRobotEmergencyStop {
		t.Errorf("safety %v", sm)
	}
	if m, _ := c.RobotMode(ctx); m != rtde.RobotModePowerOff {
		t.Errorf("mode %v", m)
	}
	if err := c.PowerOn(ctx); !errors.Is(err, dashboard.ErrFailed) {
		t.Errorf("power on while e-stopped: %v", err)
	}
	sim.ReleaseEmergencyStop()
	if err := c.BrakeRelease(ctx); err != nil {
		t.Fatal(err)
	}
	waitMode(t, ctx, c, rtde.RobotModeRunning)
}

// The client parses replies of a scripted server exactly (no simulator).
func TestClientAgainstScriptedServer(t *testing.T) {
	replies := map[string]string{
		"robotmode":              "Robotmode: BACKDRIVE",
		"safetystatus":           "Safetystatus: SYSTEM_EMERGENCY_STOP",
		"programState":           "PAUSED my prog.urp",
		"get loaded program":     "No program loaded",
		"unlock protective stop": dashboard.ReplyUnlockTooSoon,
		"play":                   "Failed to execute: play",
		"robotmode2":             "garbage",
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Write([]byte(dashboard.Greeting + "\n"))
		br := bufio.NewReader(conn)
		n := 0
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			cmd := strings.TrimSpace(line)
			if cmd == "robotmode" && n > 0 {
				cmd = "robotmode2"
			}
			if cmd == "robotmode" {
				n++
			}
			conn.Write([]byte(replies[cmd] + "\n"))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := dashboard.Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if m, err := c.RobotMode(ctx); err != nil || m != rtde.RobotModeBackdrive {
		t.Errorf("robotmode %v %v", m, err)
	}
	if m, err := c.SafetyStatus(ctx); err != nil || m != rtde.SafetySystemEmergencyStop {
		t.Errorf("safetystatus %v %v", m, err)
	}
	if st, err := c.ProgramState(ctx); err != nil || st != (dashboard.ProgramState{State: "PAUSED", Program: "my prog.urp"}) {
		t.Errorf("programState %+v %v", st, err)
	}
	if p, err := c.LoadedProgram(ctx); err != nil || p != "" {
		t.Errorf("loaded %q %v", p, err)
	}
	if err := c.UnlockProtectiveStop(ctx); !errors.Is(err, dashboard.ErrTooSoon) {
		t.Errorf("unlock: %v", err)
	}
	if err := c.Play(ctx); !errors.Is(err, dashboard.ErrFailed) {
		t.Errorf("play: %v", err)
	}
	if _, err := c.RobotMode(ctx); !errors.Is(err, dashboard.ErrUnexpected) {
		t.Errorf("garbage reply: %v", err)
	}
	if _, err := c.Raw(ctx, "load a\nplay"); err == nil {
		t.Error("command with a newline accepted")
	}
	c.Close()
	<-done
}
