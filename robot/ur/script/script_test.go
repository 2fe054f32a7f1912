package script_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/golang/geo/r3"
	"go.uber.org/goleak"

	"fabcell/robot/ur/kin"
	"fabcell/robot/ur/rtde"
	"fabcell/robot/ur/script"
	"fabcell/simulation/geom"
	"fabcell/simulation/ursim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startSim(t *testing.T, o ursim.Options) *ursim.Sim {
	t.Helper()
	o.RTDEAddr, o.DashboardAddr, o.ScriptAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	o.Logger = quiet()
	s, err := ursim.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestIdentifier(t *testing.T) {
	tests := map[string]string{
		"bracket v2":            "bracket_v2",
		"":                      "job",
		"2nd job":               "j2nd_job",
		"end":                   "end_",
		"a\"):\n  halt\n#":      "a______halt__",
		"Ölfilter":              "j_lfilter",
		strings.Repeat("x", 99): strings.Repeat("x", 60),
	}
	for in, want := range tests {
		if got := script.Identifier(in); got != want {
			t.Errorf("Identifier(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStringLiteralCannotEscape(t *testing.T) {
	evil := []string{
		"job\"); movej([0,0,0,0,0,0]) #",
		"line1\nend\ndef evil():\n  halt",
		"back\\slash\" + str_cat(\"",
		"tab\there\r\x00\x7f",
		"unicode ☃ ünïcode",
	}
	for _, s := range evil {
		lit := script.String(s)
		inner := lit[1 : len(lit)-1]
		if lit[0] != '"' || lit[len(lit)-1] != '"' || strings.ContainsAny(inner, "\"\\\n\r\t\x00\x7f") {
			t.Errorf("String(%q) = %q is not a closed, clean literal", s, lit)
		}
		for _, r := range inner {
			if r < 0x20 || r > 0x7e {
				t.Errorf("String(%q) keeps %U", s, r)
			}
		}
	}
	if got := script.String(strings.Repeat("a", 300)); len(got) != 257 {
		t.Errorf("long literal has %d bytes", len(got))
	}
	if c := script.Comment("x\nhalt"); strings.Contains(c, "\n") {
		t.Errorf("comment %q spans lines", c)
	}
}

func TestProgramBuilder(t *testing.T) {
	p := script.NewProgram("job 7: \"bracket\"")
	p.Comment("from plan.json\nhalt").SetTCP(script.Pose{0, 0, 0.15, 0, 0, 0}).
		MoveJ([6]float64{0, -1.57, 1.57, -1.57, -1.57, 0}, script.Motion{Speed: 1, Accel: 2}).
		MoveL(script.Pose{-0.4, -0.2, 0.3, 0, math.Pi, 0}, script.Motion{Speed: 0.1, BlendM: 0.001}).
		MoveP(script.Pose{-0.4, -0.25, 0.3, 0, math.Pi, 0}, script.Motion{Speed: 0.01, Time: time.Second}).
		SetStandardDigitalOut(2, true).SetStandardAnalogOut(0, 0.3).Sleep(250*time.Millisecond).
		TextMsg("layer \"1\" done\n").WriteOutputIntRegister(24, -3)
	src, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := `def job_7___bracket_():
  # from plan.json halt
  set_tcp(p[0, 0, 0.15, 0, 0, 0])
  movej([0, -1.57, 1.57, -1.57, -1.57, 0], a=2, v=1)
  movel(p[-0.4, -0.2, 0.3, 0, 3.141592653589793, 0], v=0.1, r=0.001)
  movep(p[-0.4, -0.25, 0.3, 0, 3.141592653589793, 0], v=0.01)
  set_standard_digital_out(2, True)
  set_standard_analog_out(0, 0.3)
  sleep(0.25)
  textmsg("layer '1' done ")
  write_output_integer_register(24, -3)
end
`
	if src != want {
		t.Errorf("program:\n%s\nwant:\n%s", src, want)
	}
	bad := []func(*script.Program){
		func(p *script.Program) { p.MoveJ([6]float64{math.NaN()}, script.Motion{}) },
		func(p *script.Program) { p.SetStandardDigitalOut(8, true) },
		func(p *script.Program) { p.SetToolDigitalOut(2, true) },
		func(p *script.Program) { p.SetStandardAnalogOut(0, 1.2) },
		func(p *script.Program) { p.MoveL(script.Pose{}, script.Motion{Speed: -1}) },
		func(p *script.Program) { p.Sleep(-time.Second) },
		func(p *script.Program) {},
	}
	for i, f := range bad {
		p := script.NewProgram("x")
		f(p)
		if _, err := p.Build(); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
}

func TestPrimaryRoundTrip(t *testing.T) {
	st := script.RobotState{TimestampUS: 123456, PowerOn: true, ProtectiveStopped: true, ProgramPaused: true, RobotMode: 7,
		TargetSpeedFrac: 0.5, SpeedScaling: 1, Q: [6]float64{1, 2, 3, 4, 5, 6}, QD: [6]float64{-1}, JointMode: [6]uint8{253, 253, 253, 253, 253, 253},
		TCPPose: [6]float64{0.1, 0.2, 0.3, 0, 3.14, 0}}
	var b []byte
	b = script.AppendVersionMessage(b, 1, "URControl", 5, 21, 3, 1234, "Jan 1 2025")
	b = script.AppendRobotState(b, st)
	b = script.AppendRuntimeException(b, 2, 7, 3, "bad thing")
	b = script.AppendTextMessage(b, 3, "hello")
	r := bytes.NewReader(b)
	typ, p, err := script.ReadPrimary(r)
	if err != nil || typ != script.MsgRobotMessage {
		t.Fatal(typ, err)
	}
	v, err := script.ParseRobotMessage(p)
	if err != nil || v.Project != "URControl" || v.Major != 5 || v.Minor != 21 || v.Bugfix != 3 || v.Build != 1234 || v.BuildDate != "Jan 1 2025" {
		t.Errorf("version %+v %v", v, err)
	}
	typ, p, _ = script.ReadPrimary(r)
	got, err := script.ParseRobotState(p)
	if err != nil || typ != script.MsgRobotState {
		t.Fatal(err)
	}
	st.RealRobotEnabled, st.HasJoints, st.HasTCP = false, true, true
	got.RealRobotEnabled = false
	st.QTarget, got.QTarget = [6]float64{}, [6]float64{}
	if got != st {
		t.Errorf("state\n%+v\nwant\n%+v", got, st)
	}
	_, p, _ = script.ReadPrimary(r)
	ex, err := script.ParseRobotMessage(p)
	if err != nil || ex.Type != script.RobotMsgRuntimeException || ex.Line != 7 || ex.Column != 3 || ex.Text != "bad thing" {
		t.Errorf("exception %+v %v", ex, err)
	}
	_, p, _ = script.ReadPrimary(r)
	if m, err := script.ParseRobotMessage(p); err != nil || m.Text != "hello" {
		t.Errorf("text %+v %v", m, err)
	}
	// malformed sizes
	if _, _, err := script.ReadPrimary(bytes.NewReader([]byte{0, 0, 0, 2, 16})); !errors.Is(err, script.ErrMalformedPrimary) {
		t.Errorf("size 2: %v", err)
	}
	if _, err := script.ParseRobotState([]byte{0, 0, 0, 99, 0}); !errors.Is(err, script.ErrMalformedPrimary) {
		t.Errorf("bad sub-package: %v", err)
	}
}

func rtdeClient(t *testing.T, ctx context.Context, sim *ursim.Sim, outputs []string, inputs [][]string) *rtde.Client {
	t.Helper()
	c, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{Outputs: outputs, Inputs: inputs, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(ctx, func(*rtde.Frame) bool { return true }); err != nil {
		t.Fatal(err)
	}
	return c
}

// A URScript program sent on the secondary interface moves the arm to the
// commanded pose; checked through RTDE actual_q and actual_TCP_pose and
// independently with the forward kinematics.
func TestProgramMovesArmToPose(t *testing.T) {
	sim := startSim(t, ursim.Options{Ready: true, TimeScale: 4})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := rtdeClient(t, ctx, sim, []string{"actual_q", "actual_TCP_pose", "runtime_state", "actual_digital_output_bits"}, nil)
	goalQ := [6]float64{0.3, -1.4, 1.7, -1.9, -1.5707963267948966, 0.2}
	tcp := script.Pose{0, 0, 0.15, 0, 0, 0}
	target := script.Pose{-0.45, -0.2, 0.25, 0, math.Pi, 0}
	p := script.NewProgram("move test")
	p.SetTCP(tcp).MoveJ(goalQ, script.Motion{Speed: 2, Accel: 4}).
		MoveL(target, script.Motion{Speed: 0.5, Accel: 2}).SetStandardDigitalOut(1, true)
	src, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	started := c.Latest().Seq
	res, err := (&script.Sender{Addr: sim.ScriptAddr()}).Send(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version == nil || res.Version.Major != 5 {
		t.Errorf("version message %+v", res.Version)
	}
	f, err := c.Wait(ctx, func(f *rtde.Frame) bool {
		rs, _ := f.Uint32("runtime_state")
		do, _ := f.Uint64("actual_digital_output_bits")
		return f.Seq > started+5 && rtde.RuntimeState(rs) == rtde.RuntimeStopped && do&2 != 0
	})
	if err != nil {
		t.Fatalf("program did not finish: %v (%+v)", err, sim.State())
	}
	pose, _ := f.Vector6D("actual_TCP_pose")
	q, _ := f.Vector6D("actual_q")
	want := target.Geom()
	got := script.Pose(pose).Geom()
	if d := got.P.Sub(want.P).Norm(); d > 1e-6 {
		t.Errorf("actual_TCP_pose %v is %.3g m from the target", pose, d)
	}
	if a := got.R.Mul(want.R.T()).Angle(); a > 1e-6 {
		t.Errorf("orientation off by %.3g rad", a)
	}
	// independent: FK of actual_q with the 0.15 m tool
	fk := kin.UR5e().WithTCP(geom.PoseFromRotVec(r3.Vector{Z: 0.15}, r3.Vector{})).FK(q)
	if d := fk.P.Sub(want.P).Norm(); d > 1e-6 {
		t.Errorf("FK(actual_q) %v is %.3g m from the target", fk.P, d)
	}
}

func TestCompileErrorIsReported(t *testing.T) {
	sim := startSim(t, ursim.Options{Ready: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s := &script.Sender{Addr: sim.ScriptAddr()}
	_, err := s.Send(ctx, "def p():\n  movej([0,0,0,0,0,0])\n  flyto(3)\nend\n")
	var re *script.RuntimeError
	if !errors.As(err, &re) || re.Line != 3 || !strings.Contains(re.Text, "flyto") {
		t.Fatalf("err = %v", err)
	}
	// not running: the program is refused
	sim.ProtectiveStop("test")
	_, err = s.Send(ctx, "def p():\n  sync()\nend\n")
	if !errors.As(err, &re) || !strings.Contains(re.Text, "PROTECTIVE_STOP") {
		t.Fatalf("err = %v", err)
	}
}

// The register command channel executes a sequence of moves and I/O with
// acknowledgements, with both register ranges.
func TestDispatcherSequence(t *testing.T) {
	for _, offset := range []int{0, 24} {
		t.Run(map[int]string{0: "lower", 24: "upper"}[offset], func(t *testing.T) {
			sim := startSim(t, ursim.Options{Ready: true, TimeScale: 4})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			outs := append([]string{"actual_q", "actual_TCP_pose", "actual_digital_output_bits", "standard_analog_output0"}, script.DispatcherOutputs(offset)...)
			c := rtdeClient(t, ctx, sim, outs, [][]string{script.DispatcherInputs(offset)})
			d, err := script.NewDispatcher(ctx, c, 0, &script.Sender{Addr: sim.ScriptAddr()}, offset)
			if err != nil {
				t.Fatal(err)
			}
			q1 := [6]float64{0.2, -1.3, 1.6, -1.9, -1.5707963267948966, 0}
			if err := d.MoveJ(ctx, q1, script.Motion{Speed: 2, Accel: 5}); err != nil {
				t.Fatal(err)
			}
			if got := sim.State().QRad; !near(got[:], q1[:], 1e-9) {
				t.Fatalf("after MoveJ q = %v", got)
			}
			start := kin.UR5e().FK(q1)
			rv := start.RotVec()
			pts := []script.Pose{
				{start.P.X + 0.05, start.P.Y, start.P.Z, rv.X, rv.Y, rv.Z},
				{start.P.X + 0.05, start.P.Y - 0.05, start.P.Z, rv.X, rv.Y, rv.Z},
				{start.P.X, start.P.Y - 0.05, start.P.Z - 0.02, rv.X, rv.Y, rv.Z},
			}
			for i, x := range pts {
				blend := 0.005
				if i == len(pts)-1 {
					blend = 0
				}
				if err := d.MoveP(ctx, x, script.Motion{Speed: 0.2, Accel: 2, BlendM: blend}); err != nil {
					t.Fatalf("movep %d: %v", i, err)
				}
			}
			got := script.Pose(sim.State().TCPPose).Geom()
			if dd := got.P.Sub(pts[2].Geom().P).Norm(); dd > 1e-6 {
				t.Errorf("final TCP %.3g m from the last point", dd)
			}
			if err := d.SetStandardDigitalOut(ctx, 4, true); err != nil {
				t.Fatal(err)
			}
			if err := d.SetStandardAnalogOut(ctx, 0, 0.75); err != nil {
				t.Fatal(err)
			}
			st := sim.State()
			if st.StdDO != 1<<4 || st.AnalogOut[0] != 0.75 {
				t.Errorf("I/O: DO %08b AO %v", st.StdDO, st.AnalogOut)
			}
			t0 := sim.State().TimeS
			if err := d.Dwell(ctx, 200*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if dt := sim.State().TimeS - t0; dt < 0.2 {
				t.Errorf("dwell lasted %.3f s of controller time", dt)
			}
			if err := d.MoveJPose(ctx, script.PoseFromGeom(start), script.Motion{Speed: 2, Accel: 5}); err != nil {
				t.Fatal(err)
			}
			if got := sim.State().QRad; !near(got[:], q1[:], 1e-6) {
				t.Errorf("MoveJPose back: q = %v, want %v", got, q1)
			}
			// a protective stop fails the waiting command
			sim.ProtectiveStop("collision (test)")
			err = d.MoveJ(ctx, [6]float64{0, -1.57, 1.57, -1.57, -1.57, 0}, script.Motion{})
			if !errors.Is(err, script.ErrProtectiveStop) {
				t.Errorf("command during protective stop: %v", err)
			}
		})
	}
}

func TestDispatcherQuit(t *testing.T) {
	sim := startSim(t, ursim.Options{Ready: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := rtdeClient(t, ctx, sim, script.DispatcherOutputs(0), [][]string{script.DispatcherInputs(0)})
	d, err := script.NewDispatcher(ctx, c, 0, &script.Sender{Addr: sim.ScriptAddr()}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Dwell(ctx, time.Millisecond); !errors.Is(err, script.ErrProgramStopped) {
		t.Errorf("command after quit: %v", err)
	}
	if _, err := script.NewDispatcher(ctx, c, 0, &script.Sender{Addr: sim.ScriptAddr()}, 12); err == nil {
		t.Error("offset 12 accepted")
	}
}

func near(a, b []float64, tol float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}
