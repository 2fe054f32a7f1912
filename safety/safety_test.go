package safety

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"fabcell/config"

	"github.com/golang/geo/r3"
)

func testGate(t *testing.T, mod func(*config.Cell)) *Gate {
	t.Helper()
	c := config.Defaults()
	c.Safety.KeepOut = []config.Box{{MinMM: config.Vec3{100, -50, 0}, MaxMM: config.Vec3{200, 50, 300}}}
	if mod != nil {
		mod(&c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return New(c)
}

func TestCheckMotionRules(t *testing.T) {
	g := testGate(t, nil)
	nan := math.NaN()
	ok := Motion{Where: "move 1", Linear: true, FromMM: r3.Vector{X: 400, Z: 100}, ToMM: r3.Vector{X: 420, Z: 100}, BedZMM: 5, TCPSpeedMMS: 10}
	if err := g.CheckMotion(ok); err != nil {
		t.Fatalf("nominal motion refused: %v", err)
	}
	cases := []struct {
		name string
		mod  func(m *Motion)
		rule Rule
		want string
	}{
		{"nan position", func(m *Motion) { m.ToMM.X = nan }, RuleNonFinite, "to position is not finite"},
		{"outside workspace", func(m *Motion) { m.ToMM.Z = 1200 }, RuleWorkspace, "1200 mm exceeds limit 1000 mm"},
		{"keep-out crossed", func(m *Motion) { m.FromMM = r3.Vector{X: 50, Z: 100}; m.ToMM = r3.Vector{X: 250, Z: 100} }, RuleKeepOut, "keep_out[0]"},
		{"below bed", func(m *Motion) { m.BedZMM = -3 }, RuleMinHeight, "-3 mm exceeds limit -0.5 mm"},
		{"tcp speed", func(m *Motion) { m.TCPSpeedMMS = 1500 }, RuleTCPSpeed, "1500 mm/s exceeds limit 1000 mm/s"},
		{"joint limit", func(m *Motion) { m.HasJoints = true; m.QTo[2] = 7 }, RuleJointPosition, "joint 2: 7 rad exceeds limit 6.28319 rad"},
		{"joint speed", func(m *Motion) { m.Linear = false; m.JointSpeedRadS = 4 }, RuleJointSpeed, "4 rad/s exceeds limit 3.14159"},
		{"joint accel", func(m *Motion) { m.JointAccelRadS2 = 50 }, RuleJointAccel, "rad/s²"},
		{"negative speed", func(m *Motion) { m.TCPSpeedMMS = -1 }, RuleNonFinite, "not a finite non-negative"},
	}
	for _, c := range cases {
		m := ok
		c.mod(&m)
		err := g.CheckMotion(m)
		var v *Violation
		if !errors.As(err, &v) {
			t.Errorf("%s: got %v, want a violation", c.name, err)
			continue
		}
		if v.Rule != c.rule || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "move 1") {
			t.Errorf("%s: got %q (rule %s), want rule %s containing %q", c.name, err, v.Rule, c.rule, c.want)
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: not ErrRefused", c.name)
		}
	}
}

func TestKeepOutSegmentOnly(t *testing.T) {
	g := testGate(t, nil)
	// Passes above the keep-out box: allowed.
	m := Motion{Where: "m", Linear: true, FromMM: r3.Vector{X: 50, Z: 400}, ToMM: r3.Vector{X: 250, Z: 400}, BedZMM: math.NaN(), TCPSpeedMMS: 10}
	if err := g.CheckMotion(m); err != nil {
		t.Fatal(err)
	}
	// Diagonal that clips the corner.
	m.FromMM, m.ToMM = r3.Vector{X: 90, Y: -60, Z: 10}, r3.Vector{X: 110, Y: -40, Z: 10}
	if err := g.CheckMotion(m); err == nil {
		t.Fatal("corner clip not detected")
	}
}

func TestProcessLimits(t *testing.T) {
	g := testGate(t, nil)
	if err := g.CheckDisplacement("strut 3", 0.2); err != nil {
		t.Fatal(err)
	}
	err := g.CheckDisplacement("strut 3", 0.7)
	if err == nil || !strings.Contains(err.Error(), "fea_displacement: strut 3: 0.7 mm exceeds limit 0.5 mm") {
		t.Fatalf("got %v", err)
	}
	if err := g.CheckDisplacement("strut 3", math.NaN()); err == nil {
		t.Fatal("NaN displacement accepted")
	}
	if err := g.CheckNozzleTemp("layer 2", 1, 150); err == nil || !strings.Contains(err.Error(), "cold extrusion") {
		t.Fatalf("cold nozzle: %v", err)
	}
	if err := g.CheckNozzleTemp("layer 2", 0, 260); err != nil {
		t.Fatal(err)
	}
	if err := g.CheckNozzleTarget("x", 0, 0); err != nil {
		t.Fatal("heater off refused")
	}
	if err := g.CheckNozzleTarget("x", 0, 350); err == nil {
		t.Fatal("set-point above limit accepted")
	}
	if err := g.CheckBedTemp("bed", 130); err == nil {
		t.Fatal("hot bed accepted")
	}
	if err := g.CheckLaserVector("v1", 500, 0, 0, 1, 1, 250); err == nil || !strings.Contains(err.Error(), "laser_power") {
		t.Fatalf("laser power: %v", err)
	}
	if err := g.CheckLaserVector("v1", 200, 0, 0, 130, 1, 250); err == nil || !strings.Contains(err.Error(), "laser_field") {
		t.Fatalf("laser field: %v", err)
	}
	if err := g.CheckLaserVector("v1", 200, -100, 0, 100, 1, 250); err != nil {
		t.Fatal(err)
	}
}

func TestJointContinuity(t *testing.T) {
	s := [][6]float64{{0, 0, 0, 0, 0, 0}, {0.01, 0, 0, 0, 0, 0}, {0.02, 0, 0, 3, 0, 0}}
	err := CheckJointContinuity("strut 9", s, 0.2)
	if err == nil || !strings.Contains(err.Error(), "joint 3 sample 2") {
		t.Fatalf("got %v", err)
	}
	if err := CheckJointContinuity("strut 9", s[:2], 0.2); err != nil {
		t.Fatal(err)
	}
}

func TestAssess(t *testing.T) {
	g := testGate(t, func(c *config.Cell) { c.Safety.DoorInterlock = true; c.Safety.DoorInputBit = 3 })
	closed := uint64(1 << 3)
	cases := []struct {
		st   RobotStatus
		want Verdict
		msg  string
	}{
		{RobotStatus{RobotMode: RobotModeRunning, SafetyMode: SafetyModeNormal, DigitalInputs: closed}, Continue, ""},
		{RobotStatus{RobotMode: RobotModeRunning, SafetyMode: SafetyModeProtectiveStop, DigitalInputs: closed}, Pause, "PROTECTIVE_STOP"},
		{RobotStatus{RobotMode: RobotModeRunning, SafetyMode: SafetyModeRobotEmergencyStop, DigitalInputs: closed}, Abort, "ROBOT_EMERGENCY_STOP"},
		{RobotStatus{RobotMode: RobotModeIdle, SafetyMode: SafetyModeNormal, DigitalInputs: closed}, Pause, "IDLE"},
		{RobotStatus{RobotMode: RobotModeRunning, SafetyMode: SafetyModeNormal}, Pause, "door open"},
		{RobotStatus{RobotMode: RobotModeRunning, SafetyMode: SafetyModeFault, DigitalInputs: closed}, Abort, "FAULT"},
		// a program paused on the pendant or from the dashboard pauses the job
		{RobotStatus{RobotMode: RobotModeRunning, SafetyMode: SafetyModeNormal, RuntimeState: RuntimePaused, DigitalInputs: closed}, Pause, "runtime_state"},
		{RobotStatus{RobotMode: RobotModeRunning, SafetyMode: SafetyModeNormal, RuntimeState: RuntimePausing, DigitalInputs: closed}, Pause, "program paused"},
		{RobotStatus{RobotMode: RobotModeRunning, SafetyMode: SafetyModeNormal, RuntimeState: RuntimePlaying, DigitalInputs: closed}, Continue, ""},
		{RobotStatus{RobotMode: RobotModeRunning, SafetyMode: SafetyModeProtectiveStop, RuntimeState: RuntimePaused, DigitalInputs: closed}, Pause, "PROTECTIVE_STOP"},
	}
	for _, c := range cases {
		v, viol := g.Assess(c.st)
		if v != c.want {
			t.Errorf("%+v: verdict %v want %v", c.st, v, c.want)
		}
		if c.msg != "" && (viol == nil || !strings.Contains(viol.Error(), c.msg)) {
			t.Errorf("%+v: violation %v want %q", c.st, viol, c.msg)
		}
	}
	ok := RobotStatus{RobotMode: RobotModeRunning, SafetyMode: SafetyModeNormal, DigitalInputs: closed}
	if err := g.ReadyToStart(ok, false); err == nil || !strings.Contains(err.Error(), "Remote Control") {
		t.Fatalf("local mode accepted: %v", err)
	}
	if err := g.ReadyToStart(ok, true); err != nil {
		t.Fatal(err)
	}
	// another program paused on the robot does not stop fabcell starting its own
	if err := g.ReadyToStart(RobotStatus{RobotMode: RobotModeRunning, SafetyMode: SafetyModeNormal, RuntimeState: RuntimePaused, DigitalInputs: closed}, true); err != nil {
		t.Fatal(err)
	}
	if err := g.ReadyToStart(RobotStatus{RobotMode: RobotModeRunning, SafetyMode: SafetyModeReduced, DigitalInputs: closed}, true); err == nil {
		t.Fatal("reduced mode accepted at start")
	}
}

func TestWatchdog(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(0, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w := NewWatchdog(100*time.Millisecond, clock)
	if v := w.Check(); v != nil {
		t.Fatal(v)
	}
	mu.Lock()
	now = now.Add(150 * time.Millisecond)
	mu.Unlock()
	v := w.Check()
	if v == nil || v.Rule != RuleWatchdog {
		t.Fatalf("stall not detected: %v", v)
	}
	w.Kick()
	if v := w.Check(); v != nil {
		t.Fatal("kick did not reset")
	}
	// Run fires once per stall episode.
	ctx, cancel := context.WithCancel(context.Background())
	fired := make(chan *Violation, 4)
	done := make(chan struct{})
	go func() { w.Run(ctx, func(v *Violation) { fired <- v }); close(done) }()
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	select {
	case <-fired:
	case <-time.After(2 * time.Second):
		t.Fatal("watchdog did not fire")
	}
	time.Sleep(60 * time.Millisecond)
	cancel()
	<-done
	if n := w.Stalls(); n != 1 {
		t.Fatalf("stalls = %d, want 1", n)
	}
}
