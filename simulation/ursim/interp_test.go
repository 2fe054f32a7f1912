package ursim

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"fabcell/robot/ur/kin"
	"fabcell/robot/ur/rtde"
)

// manual starts a simulator without listeners, stepped by the test.
func manual(t *testing.T, o Options) *Sim {
	t.Helper()
	o.Manual = true
	o.RTDEAddr, o.DashboardAddr, o.ScriptAddr = "-", "-", "-"
	s, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// run starts src and steps until the program stops (or maxSteps).
func run(t *testing.T, s *Sim, src string, maxSteps int) State {
	t.Helper()
	if err := s.RunProgram(src); err != nil {
		t.Fatalf("compile: %v", err)
	}
	s.Step(1)
	for i := 0; i < maxSteps; i++ {
		st := s.State()
		if st.Runtime != rtde.RuntimePlaying {
			return st
		}
		s.Step(1)
	}
	t.Fatalf("program still running after %d cycles", maxSteps)
	return State{}
}

// events drains the controller's pending events.
func events(s *Sim) []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := append(s.history, s.c.events...)
	s.history, s.c.events = nil, nil
	return ev
}

func TestInterpreterSemantics(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[int]int32 // output int registers
	}{
		{"arithmetic", `
  write_output_integer_register(0, 7 / 2)
  write_output_integer_register(1, -7 / 2)
  write_output_integer_register(2, 7 % 3)
  write_output_integer_register(3, floor(7.0 / 2 * 10))
  write_output_integer_register(4, 2 + 3 * 4 - (1 + 1))`,
			map[int]int32{0: 3, 1: -3, 2: 1, 3: 35, 4: 12}},
		{"logic", `
  a = True and not False
  b = (1 < 2) xor (2 < 3)
  if a and not b and 3 >= 3 and 2 != 3:
    write_output_integer_register(0, 1)
  elif a:
    write_output_integer_register(0, 2)
  else:
    write_output_integer_register(0, 3)
  end`, map[int]int32{0: 1}},
		{"while break continue", `
  i = 0
  s = 0
  while True:
    i = i + 1
    if i > 10:
      break
    end
    if i % 2 == 0:
      continue
    end
    s = s + i
  end
  write_output_integer_register(0, s)`, map[int]int32{0: 25}},
		{"functions and scope", `
  g = 5
  def add(x, y=10):
    local t = x + y
    return t
  end
  def setg(v):
    global g = v
  end
  def shadow():
    g = 100
    return g
  end
  def fact(n):
    if n <= 1:
      return 1
    end
    return n * fact(n - 1)
  end
  write_output_integer_register(0, add(1))
  write_output_integer_register(1, add(1, y=2))
  write_output_integer_register(2, shadow())
  write_output_integer_register(3, g)
  setg(42)
  write_output_integer_register(4, g)
  write_output_integer_register(5, fact(6))`,
			map[int]int32{0: 11, 1: 3, 2: 100, 3: 5, 4: 42, 5: 720}},
		{"lists and poses", `
  l = [1, 2, 3]
  m = l
  m[0] = 9
  p = p[0.1, 0.2, 0.3, 0, 0, 0]
  p[2] = 0.5
  q = pose_trans(p, p[0, 0, 0.1, 0, 0, 0])
  write_output_integer_register(0, l[0])
  write_output_integer_register(1, m[0])
  write_output_integer_register(2, length(l))
  write_output_integer_register(3, floor(q[2] * 1000 + 0.5))`,
			map[int]int32{0: 1, 1: 9, 2: 3, 3: 600}},
		{"math", `
  write_output_integer_register(0, floor(r2d(atan2(1, 1)) + 0.5))
  write_output_integer_register(1, floor(sqrt(pow(3, 2) + 16) + 0.5))
  write_output_integer_register(2, floor(norm([3, 4]) + 0.5))
  write_output_integer_register(3, ceil(0.1))
  write_output_integer_register(4, to_num("12") + 1)`,
			map[int]int32{0: 45, 1: 5, 2: 5, 3: 1, 4: 13}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := manual(t, Options{Ready: true})
			st := run(t, s, "def prog():"+tc.body+"\nend\n", 100)
			for _, ev := range events(s) {
				if ev.kind == evRuntimeException {
					t.Fatalf("runtime exception: %s", runtimeText(ev))
				}
			}
			for reg, want := range tc.want {
				if got := st.OutInt[reg]; got != want {
					t.Errorf("register %d = %d, want %d", reg, got, want)
				}
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{"def p():\n  foo(1)\nend\n", "unknown function 'foo'"},
		{"def p():\n  movej([0,0,0,0,0,0], speed=1)\nend\n", "movej has no parameter named speed"},
		{"def p():\n  x = (1 + 2\nend\n", "expected"},
		{"def p():\n  thread t():\n  end\nend\n", "'thread' is not supported"},
		{"def p():\n  h.call(1)\nend\n", "method calls"},
		{"def p():\n  x = \"abc\nend\n", "unterminated string"},
		{"def p():\n  if True:\n    sync()\nend\n", "missing 'end'"},
		{"def p():\n  movel()\nend\n", "missing argument pose"},
		{"def p():\n  x = p[1, 2]\nend\n", "pose literal needs 6 numbers"},
		{"def a():\nend\ndef b():\nend\n", "more than one top-level program"},
		{"def p():\n  x = 1 2\nend\n", "expected end of line"},
		{"def p():\n  x = 1 ; y = 2\nend\n", "unexpected character"},
	}
	for _, tc := range tests {
		_, err := parseProgram(tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to contain %q", tc.src, err, tc.want)
		}
		var se *ScriptError
		if err != nil && !asScriptError(err, &se) {
			t.Errorf("%q: error %T is not a *ScriptError", tc.src, err)
		}
	}
}

func asScriptError(err error, se **ScriptError) bool {
	e, ok := err.(*ScriptError)
	*se = e
	return ok
}

func TestRuntimeErrors(t *testing.T) {
	tests := []struct {
		body, want string
	}{
		{"  x = 1 / 0", "division by zero"},
		{"  l = [1]\n  x = l[3]", "index 3 out of range"},
		{"  x = y + 1", "variable 'y' is not defined"},
		{"  if 1:\n    sync()\n  end", "condition must be a boolean"},
		{"  while True:\n    x = 1\n  end", "infinite loop detected"},
		{"  set_standard_digital_out(9, True)", "out of range"},
		{"  set_standard_analog_out(0, 1.5)", "outside [0, 1]"},
		{"  movel(p[5, 5, 5, 0, 0, 0])", "not reachable"},
		{"  write_output_integer_register(48, 1)", "out of range"},
		{"  def f():\n    return f()\n  end\n  f()", "call depth"},
	}
	for _, tc := range tests {
		s := manual(t, Options{Ready: true})
		st := run(t, s, "def prog():\n"+tc.body+"\nend\n", 100)
		if st.Runtime != rtde.RuntimeStopped {
			t.Errorf("%q: runtime %v", tc.body, st.Runtime)
		}
		found := false
		for _, ev := range events(s) {
			if ev.kind == evRuntimeException && strings.Contains(ev.text, tc.want) {
				found = true
				if ev.line == 0 {
					t.Errorf("%q: exception without a line: %s", tc.body, ev.text)
				}
			}
		}
		if !found {
			t.Errorf("%q: no runtime exception containing %q", tc.body, tc.want)
		}
	}
}

func near(a, b [6]float64, tol float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

func TestMoveJProfileAndTarget(t *testing.T) {
	// movej of the leading joint by d = 1 rad with v = 1 rad/s, a = 2 rad/s²
	// is a trapezoid taking d/v + v/a = 1.5 s.
	s := manual(t, Options{Ready: true})
	q0 := s.State().QRad
	target := q0
	target[0] += 1
	target[1] += 0.5
	prog := "def p():\n  movej([" + fmtQ(target) + "], a=2, v=1)\nend\n"
	if err := s.RunProgram(prog); err != nil {
		t.Fatal(err)
	}
	s.Step(1)
	steps := 0
	for s.State().Runtime == rtde.RuntimePlaying && steps < 5000 {
		s.Step(1)
		steps++
	}
	st := s.State()
	if !near(st.QRad, target, 1e-9) {
		t.Fatalf("q = %v, want %v", st.QRad, target)
	}
	dur := float64(steps) * dt
	if math.Abs(dur-1.5) > 0.01 {
		t.Errorf("movej took %.3f s, want 1.5 s (trapezoid d/v + v/a)", dur)
	}
	if st.SafetyMode != rtde.SafetyNormal {
		t.Errorf("safety %v: %s", st.SafetyMode, st.ProtectiveWhy)
	}
}

func TestMoveJTimeOverride(t *testing.T) {
	s := manual(t, Options{Ready: true})
	target := s.State().QRad
	target[2] -= 0.6
	st := run(t, s, "def p():\n  movej(["+fmtQ(target)+"], a=3, v=3, t=2.0)\nend\n", 5000)
	if !near(st.QRad, target, 1e-9) {
		t.Fatalf("q = %v, want %v", st.QRad, target)
	}
	if math.Abs(st.TimeS-2.0) > 0.02 {
		t.Errorf("movej with t=2 ended at %.3f s", st.TimeS)
	}
}

func TestMoveLStraightLine(t *testing.T) {
	// the tool must stay on the segment between start and target
	s := manual(t, Options{Ready: true})
	start := s.State().TCPPose
	goal := start
	goal[0] += 0.1
	goal[1] -= 0.15
	goal[2] -= 0.05
	if err := s.RunProgram("def p():\n  movel(p[" + fmtQ(goal) + "], a=1.2, v=0.25)\nend\n"); err != nil {
		t.Fatal(err)
	}
	maxDev := 0.0
	for i := 0; i < 5000; i++ {
		s.Step(1)
		st := s.State()
		maxDev = math.Max(maxDev, distToSegment(st.TCPPose, start, goal))
		if i > 0 && st.Runtime != rtde.RuntimePlaying {
			break
		}
	}
	st := s.State()
	if !poseNear(st.TCPPose, goal, 1e-6) {
		t.Fatalf("TCP %v, want %v", st.TCPPose, goal)
	}
	if maxDev > 1e-6 {
		t.Errorf("tool left the straight line by %.3g m", maxDev)
	}
	// independent check of actual_TCP_pose: FK of actual_q
	x := kin.UR5e().FK(st.QRad)
	if math.Abs(x.P.X-goal[0])+math.Abs(x.P.Y-goal[1])+math.Abs(x.P.Z-goal[2]) > 1e-6 {
		t.Errorf("FK(actual_q) = %v, want %v", x.P, goal[:3])
	}
}

func distToSegment(x, a, b [6]float64) float64 {
	d := [3]float64{b[0] - a[0], b[1] - a[1], b[2] - a[2]}
	w := [3]float64{x[0] - a[0], x[1] - a[1], x[2] - a[2]}
	l2 := d[0]*d[0] + d[1]*d[1] + d[2]*d[2]
	u := math.Max(0, math.Min(1, (w[0]*d[0]+w[1]*d[1]+w[2]*d[2])/l2))
	e := [3]float64{w[0] - u*d[0], w[1] - u*d[1], w[2] - u*d[2]}
	return math.Sqrt(e[0]*e[0] + e[1]*e[1] + e[2]*e[2])
}

func TestMovePBlendKeepsMoving(t *testing.T) {
	// Two movep segments with a 2 cm blend: the tool passes the corner
	// without stopping and never comes closer to the corner than the
	// blend allows to skip it entirely; without blend it stops there.
	for _, blend := range []bool{false, true} {
		s := manual(t, Options{Ready: true})
		start := s.State().TCPPose
		c := start
		c[0] += 0.1
		e := c
		e[1] -= 0.1
		r := "0"
		if blend {
			r = "0.02"
		}
		src := "def p():\n  movep(p[" + fmtQ(c) + "], a=1, v=0.1, r=" + r + ")\n  movep(p[" + fmtQ(e) + "], a=1, v=0.1)\nend\n"
		if err := s.RunProgram(src); err != nil {
			t.Fatal(err)
		}
		minSpeedNearCorner, minDist := math.Inf(1), math.Inf(1)
		for i := 0; i < 10000; i++ {
			s.Step(1)
			st := s.State()
			d := math.Hypot(st.TCPPose[0]-c[0], st.TCPPose[1]-c[1])
			minDist = math.Min(minDist, d)
			if d < 0.03 {
				s.mu.Lock()
				v := math.Hypot(s.c.tcpVel[0], s.c.tcpVel[1])
				s.mu.Unlock()
				minSpeedNearCorner = math.Min(minSpeedNearCorner, v)
			}
			if i > 10 && st.Runtime != rtde.RuntimePlaying {
				break
			}
		}
		if !poseNear(s.State().TCPPose, e, 1e-6) {
			t.Fatalf("blend=%v: ended at %v, want %v", blend, s.State().TCPPose, e)
		}
		if blend {
			if minSpeedNearCorner < 0.05 {
				t.Errorf("blended corner: speed dropped to %.4f m/s", minSpeedNearCorner)
			}
			// quadratic Bézier with control point at the corner: closest
			// approach is r/2·(1/√2)·… > 0; it must cut the corner
			if minDist < 0.002 || minDist > 0.02 {
				t.Errorf("blended path passes %.4f m from the corner", minDist)
			}
		} else {
			// the arm stops at the corner: the speed sampled around it drops
			// to a·dt/2 (one cycle of the ramp)
			if minSpeedNearCorner > 0.0015 || minDist > 1e-9 {
				t.Errorf("unblended corner: min speed %.4g, distance %.4g", minSpeedNearCorner, minDist)
			}
		}
	}
}

func TestJointLimitProtectiveStop(t *testing.T) {
	lim := [6]float64{math.Pi, math.Pi, math.Pi, math.Pi, math.Pi, math.Pi}
	neg := [6]float64{-math.Pi, -math.Pi, -math.Pi, -math.Pi, -math.Pi, -math.Pi}
	s := manual(t, Options{Ready: true, JointMaxRad: &lim, JointMinRad: &neg, UnlockDelay: time.Millisecond})
	q := s.State().QRad
	q[0] = 3.5 // beyond +π
	if err := s.RunProgram("def p():\n  movej([" + fmtQ(q) + "], a=3, v=2)\nend\n"); err != nil {
		t.Fatal(err)
	}
	s.Step(3000)
	st := s.State()
	if st.SafetyMode != rtde.SafetyProtectiveStop || st.Runtime != rtde.RuntimePaused {
		t.Fatalf("safety %v runtime %v, want PROTECTIVE_STOP / PAUSED", st.SafetyMode, st.Runtime)
	}
	if !strings.Contains(st.ProtectiveWhy, "joint 0 position limit") {
		t.Errorf("reason %q", st.ProtectiveWhy)
	}
	if st.QRad[0] > math.Pi+1e-9 {
		t.Errorf("joint 0 at %v beyond the limit", st.QRad[0])
	}
	if st.QDRadS != [6]float64{} {
		t.Errorf("arm still moving: %v", st.QDRadS)
	}
	// unlocked, the paused program must not re-trigger the stop by itself
	if r, _ := s.dashboardCommand("unlock protective stop"); r != "Protective stop releasing" {
		t.Fatalf("unlock: %q", r)
	}
	s.Step(100)
	if st := s.State(); st.SafetyMode != rtde.SafetyNormal || st.Runtime != rtde.RuntimePaused {
		t.Fatalf("after unlock: safety %v runtime %v (%s)", st.SafetyMode, st.Runtime, st.ProtectiveWhy)
	}
	// resuming continues the move from where it stopped: it hits the limit
	// again at once, without a jump
	if r, _ := s.dashboardCommand("play"); r != "Starting program" {
		t.Fatalf("play: %q", r)
	}
	s.Step(100)
	st2 := s.State()
	if st2.SafetyMode != rtde.SafetyProtectiveStop || math.Abs(st2.QRad[0]-st.QRad[0]) > 0.01 {
		t.Errorf("resume: safety %v, joint 0 moved from %v to %v", st2.SafetyMode, st.QRad[0], st2.QRad[0])
	}
}

func TestSpeedJAndStopJ(t *testing.T) {
	s := manual(t, Options{Ready: true})
	q0 := s.State().QRad
	st := run(t, s, "def p():\n  speedj([0.5, 0, 0, 0, 0, 0], 1.0, 1.0)\n  stopj(2.0)\nend\n", 5000)
	// ramp 0.5 s to 0.5 rad/s at 1 rad/s² (½·1·0.5² = 0.125 rad), 0.5 s
	// cruise (0.25 rad), stop at 2 rad/s² from 0.5 rad/s (0.5²/4 =
	// 0.0625 rad): 0.4375 rad
	if d := st.QRad[0] - q0[0]; math.Abs(d-0.4375) > 0.002 {
		t.Errorf("speedj moved joint 0 by %.4f rad, want 0.4375", d)
	}
	if st.QDRadS != [6]float64{} {
		t.Errorf("still moving after stopj: %v", st.QDRadS)
	}
}

func TestServoJTracksSetpoints(t *testing.T) {
	s := manual(t, Options{Ready: true})
	q := s.State().QRad
	src := "def p():\n  q = get_actual_joint_positions()\n  i = 0\n  while i < 100:\n    q[5] = q[5] + 0.002\n    servoj(q, t=0.002, lookahead_time=0.1, gain=300)\n    i = i + 1\n  end\nend\n"
	st := run(t, s, src, 1000)
	if d := st.QRad[5] - q[5]; math.Abs(d-0.2) > 1e-9 {
		t.Errorf("servoj moved joint 5 by %v, want 0.2", d)
	}
	// 1 rad/s set-point stream
	if st.SafetyMode != rtde.SafetyNormal {
		t.Errorf("safety %v: %s", st.SafetyMode, st.ProtectiveWhy)
	}
}

func TestServoJJumpIsProtectiveStop(t *testing.T) {
	s := manual(t, Options{Ready: true})
	q := s.State().QRad
	q[0] += 0.5 // 0.5 rad in 2 ms = 250 rad/s
	if err := s.RunProgram("def p():\n  servoj([" + fmtQ(q) + "], t=0.002)\nend\n"); err != nil {
		t.Fatal(err)
	}
	s.Step(5)
	if st := s.State(); st.SafetyMode != rtde.SafetyProtectiveStop || !strings.Contains(st.ProtectiveWhy, "speed limit") {
		t.Fatalf("safety %v (%s), want a speed-limit protective stop", st.SafetyMode, st.ProtectiveWhy)
	}
}

func TestIOAndRegisters(t *testing.T) {
	s := manual(t, Options{Ready: true})
	st := run(t, s, `def p():
  set_standard_digital_out(3, True)
  set_tool_digital_out(1, True)
  set_configurable_digital_out(0, True)
  set_standard_analog_out(1, 0.25)
  set_analog_out(0, 0.5)
  write_output_float_register(5, 1.5)
  write_output_boolean_register(70, True)
  if get_standard_digital_out(3) and not get_standard_digital_out(2):
    write_output_integer_register(0, 1)
  end
  textmsg("done ", 7)
  sleep(0.1)
end
`, 500)
	if st.StdDO != 1<<3 || st.ToolDO != 2 || st.ConfDO != 1 {
		t.Errorf("digital outputs std %08b tool %02b conf %08b", st.StdDO, st.ToolDO, st.ConfDO)
	}
	if st.AnalogOut != [2]float64{0.5, 0.25} {
		t.Errorf("analog %v", st.AnalogOut)
	}
	if st.OutDouble[5] != 1.5 || st.OutInt[0] != 1 {
		t.Errorf("registers double5=%v int0=%v", st.OutDouble[5], st.OutInt[0])
	}
	if math.Abs(st.TimeS-0.104) > 0.005 {
		t.Errorf("sleep(0.1) program ended at %.3f s", st.TimeS)
	}
	found := false
	for _, ev := range events(s) {
		if ev.kind == evText && ev.text == "done 7" {
			found = true
		}
	}
	if !found {
		t.Error("textmsg not reported")
	}
}

func TestProgramRefusedWhenNotRunning(t *testing.T) {
	s := manual(t, Options{}) // POWER_OFF
	if err := s.RunProgram("def p():\n  sync()\nend\n"); err != nil {
		t.Fatal(err)
	}
	s.Step(2)
	found := false
	for _, ev := range events(s) {
		if ev.kind == evRuntimeException && strings.Contains(ev.text, "POWER_OFF") {
			found = true
		}
	}
	if !found || s.State().Runtime != rtde.RuntimeStopped {
		t.Error("program in POWER_OFF was not refused with a runtime exception")
	}
}

func fmtQ(q [6]float64) string {
	s := make([]string, 6)
	for i, x := range q {
		s[i] = strconvF(x)
	}
	return strings.Join(s, ", ")
}

func strconvF(x float64) string { return strconv.FormatFloat(x, 'g', 17, 64) }

// poseNear compares positions and rotations (rotation vectors of angle π
// have two signs).
func poseNear(a, b [6]float64, tol float64) bool {
	pa, pb := fromPoseVal(poseVal(a)), fromPoseVal(poseVal(b))
	return pa.P.Sub(pb.P).Norm() <= tol && pa.R.Mul(pb.R.T()).Angle() <= tol
}

func TestMoveJBlendPassesViaPoint(t *testing.T) {
	// movej through a via point with a 5 cm blend: the leading joint never
	// stops between the two moves, and the arm ends exactly at the target
	s := manual(t, Options{Ready: true})
	q0 := s.State().QRad
	via, end := q0, q0
	via[0] += 0.4
	via[1] += 0.2
	end[0] += 0.4
	end[1] += 0.6
	src := "def p():\n  movej([" + fmtQ(via) + "], a=3, v=1, r=0.05)\n  movej([" + fmtQ(end) + "], a=3, v=1)\nend\n"
	if err := s.RunProgram(src); err != nil {
		t.Fatal(err)
	}
	minSpeed := math.Inf(1)
	for i := 0; i < 5000; i++ {
		s.Step(1)
		st := s.State()
		if i > 20 && st.Runtime != rtde.RuntimePlaying {
			break
		}
		// between leaving the start and approaching the end
		if st.QRad[1]-q0[1] > 0.1 && end[1]-st.QRad[1] > 0.1 {
			minSpeed = math.Min(minSpeed, math.Hypot(st.QDRadS[0], st.QDRadS[1]))
		}
	}
	if st := s.State(); !near(st.QRad, end, 1e-9) {
		t.Fatalf("q = %v, want %v", st.QRad, end)
	}
	if minSpeed < 0.2 {
		t.Errorf("arm slowed to %.3f rad/s at the via point", minSpeed)
	}
}
