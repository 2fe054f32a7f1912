package extruder

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"fabcell/config"
	"fabcell/robot/extruder/boardsim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig is a simulated board on a real pty and a driver that opened the pty
// slave through go.bug.st/serial.
type rig struct {
	b *boardsim.Board
	d *Driver
}

func newRig(t *testing.T, bo boardsim.Options, o Options) *rig {
	t.Helper()
	b, err := boardsim.Start(context.Background(), bo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	port, err := OpenPort(b.Path(), 115200)
	if err != nil {
		t.Fatal(err)
	}
	d := New(port, o)
	t.Cleanup(func() { d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	return &rig{b: b, d: d}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// job is a print stream of n lines for the dual head: tool changes, E in
// relative and absolute mode, resets, a cutter servo. It returns the
// commands and the filament each tool should have pushed, computed
// independently of the board.
func job(n int) ([]string, [2]float64) {
	var cmds []string
	var want [2]float64
	tool := 0
	ePos := [2]float64{}
	abs := true
	for i := 0; len(cmds) < n; i++ {
		switch {
		case i%50 == 0:
			tool = (i / 50) % 2
			cmds = append(cmds, fmt.Sprintf("T%d", tool))
		case i%37 == 0:
			cmds = append(cmds, "M280 P0 S"+fmt.Sprint(i%180), "; cut")
		case i%23 == 0:
			if abs {
				cmds = append(cmds, "M83")
			} else {
				cmds = append(cmds, "M82", "G92 E0")
				ePos[tool] = 0
			}
			abs = !abs
		default:
			de := 0.01 * float64(i%7+1)
			x, y := float64(i%100)*0.5, float64(i/100)*0.5
			if abs {
				ePos[tool] += de
				cmds = append(cmds, fmt.Sprintf("G1 X%.2f Y%.2f E%.5f F1200", x, y, ePos[tool]))
			} else {
				ePos[tool] += de
				cmds = append(cmds, fmt.Sprintf("G1 X%.2f Y%.2f E%.5f F1200 ; extrude", x, y, de))
			}
			want[tool] += de
		}
	}
	return cmds, want
}

func cleaned(cmds []string) []string {
	var out []string
	for _, c := range cmds {
		if s, _ := CleanCommand(c); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// checkExecutedOnce verifies that the board ran exactly the numbered lines
// 1…len(want) once each, in order, with the wanted commands.
func checkExecutedOnce(t *testing.T, b *boardsim.Board, want []string) {
	t.Helper()
	var got []boardsim.Executed
	for _, e := range b.Executed() {
		if e.N > 0 {
			got = append(got, e)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("board executed %d numbered lines, want %d", len(got), len(want))
	}
	for i, e := range got {
		if e.N != i+1 || e.Cmd != want[i] {
			t.Fatalf("execution %d: N%d %q, want N%d %q", i, e.N, e.Cmd, i+1, want[i])
		}
	}
}

func heatBoth(t *testing.T, r *rig) {
	t.Helper()
	for _, tool := range []int{0, 1} {
		if err := r.d.WaitTemp(ctxT(t, 10*time.Second), tool, 200, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStreamNormal(t *testing.T) {
	for _, window := range []int{1, 3} {
		t.Run(fmt.Sprintf("window%d", window), func(t *testing.T) {
			r := newRig(t, boardsim.Options{Speed: 500, AdvancedOK: window > 1}, Options{InFlight: window, ResponseTimeout: 2 * time.Second})
			heatBoth(t, r)
			cmds, want := job(400)
			n, err := r.d.Stream(ctxT(t, 20*time.Second), slices.Values(cmds))
			if err != nil || n != len(cmds) {
				t.Fatalf("Stream = %d, %v", n, err)
			}
			// WaitTemp lines come first
			exec := append([]string{"M109 T0 S200.0", "M109 T1 S200.0"}, cleaned(cmds)...)
			checkExecutedOnce(t, r.b, exec)
			s := r.b.Snapshot()
			for tool := 0; tool < 2; tool++ {
				if math.Abs(s.ExtrudedMM[tool]-want[tool]) > 1e-6 {
					t.Errorf("T%d extruded %.5f mm, want %.5f", tool, s.ExtrudedMM[tool], want[tool])
				}
			}
			st := r.d.Status()
			if st.State != StateReady || st.LastAcked != len(exec) || st.Stats.Resent != 0 || st.Stats.Sent != len(exec) {
				t.Fatalf("status %+v", st)
			}
		})
	}
}

func TestChecksumErrorResend(t *testing.T) {
	for _, window := range []int{1, 3} {
		t.Run(fmt.Sprintf("window%d", window), func(t *testing.T) {
			r := newRig(t, boardsim.Options{}, Options{InFlight: window, ResponseTimeout: 2 * time.Second})
			if _, err := r.d.Send(ctxT(t, time.Second), "M302 P1"); err != nil { // allow cold extrusion
				t.Fatal(err)
			}
			r.b.CorruptLine(50)
			r.b.CorruptLine(120)
			r.b.CorruptLine(120) // twice in a row
			r.b.CorruptLine(121)
			cmds, _ := job(200)
			if n, err := r.d.Stream(ctxT(t, 20*time.Second), slices.Values(cmds)); err != nil || n != len(cmds) {
				t.Fatalf("Stream = %d, %v", n, err)
			}
			checkExecutedOnce(t, r.b, append([]string{"M302 P1"}, cleaned(cmds)...))
			st := r.d.Status()
			if st.Stats.Resyncs < 3 || st.Stats.Resent < 4 {
				t.Fatalf("stats %+v", st.Stats)
			}
		})
	}
}

func TestLostOKPausesAndResumes(t *testing.T) {
	// With one line in flight the driver stops right at line 41. With
	// three, a lost "ok" is only noticed when the oks run short at the end
	// of the stream (acknowledgements stay a lower bound of what ran: the
	// k-th ok proves k lines ran), and a lost line is noticed at once by
	// the board ("Line Number is not Last Line Number+1") without a pause.
	tests := []struct {
		name      string
		window    int
		inject    func(b *boardsim.Board, last int)
		wantPause bool
	}{
		{"ok dropped", 1, func(b *boardsim.Board, _ int) { b.DropOK(41) }, true},
		{"line lost on the wire", 1, func(b *boardsim.Board, _ int) { b.DropLine(41) }, true},
		{"ok dropped, window 3", 3, func(b *boardsim.Board, _ int) { b.DropOK(41) }, true},
		{"line lost, window 3", 3, func(b *boardsim.Board, _ int) { b.DropLine(41) }, false},
		{"last line lost, window 3", 3, func(b *boardsim.Board, last int) { b.DropLine(last) }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const timeout = 300 * time.Millisecond
			r := newRig(t, boardsim.Options{}, Options{InFlight: tc.window, ResponseTimeout: timeout})
			if _, err := r.d.Send(ctxT(t, time.Second), "M302 P1"); err != nil {
				t.Fatal(err)
			}
			cmds, want := job(120)
			tc.inject(r.b, 1+len(cleaned(cmds)))
			n, err := r.d.Stream(ctxT(t, 10*time.Second), slices.Values(cmds))
			if !tc.wantPause {
				if err != nil || n != len(cmds) {
					t.Fatalf("Stream = %d, %v", n, err)
				}
				checkExecutedOnce(t, r.b, append([]string{"M302 P1"}, cleaned(cmds)...))
				return
			}
			var te *TimeoutError
			if !errors.As(err, &te) || !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrPaused) {
				t.Fatalf("Stream = %d, %v; want *TimeoutError", n, err)
			}
			st := r.d.Status()
			if st.State != StatePaused || te.LastAcked != te.Waiting.N-1 || te.Waiting.N < 41 ||
				(tc.window == 1 && te.Waiting.N != 41) || len(te.InFlight) == 0 {
				t.Fatalf("paused at %+v, status %+v", te, st)
			}
			// nothing is sent while paused
			before := r.b.Snapshot().Received
			time.Sleep(2 * timeout)
			if after := r.b.Snapshot().Received; after != before {
				t.Fatalf("board received %d lines while paused", after-before)
			}
			if _, err := r.d.Submit(ctxT(t, time.Second), "M105"); !errors.Is(err, ErrPaused) {
				t.Fatalf("Submit while paused: %v", err)
			}
			if err := r.d.Resume(ctxT(t, 2*time.Second)); err != nil {
				t.Fatalf("Resume: %v", err)
			}
			rest, err := r.d.Stream(ctxT(t, 10*time.Second), slices.Values(cmds[n:]))
			if err != nil || n+rest != len(cmds) {
				t.Fatalf("second Stream = %d, %v", rest, err)
			}
			checkExecutedOnce(t, r.b, append([]string{"M302 P1"}, cleaned(cmds)...))
			s := r.b.Snapshot()
			for tool := 0; tool < 2; tool++ {
				if math.Abs(s.ExtrudedMM[tool]-want[tool]) > 1e-6 {
					t.Errorf("T%d extruded %.5f mm, want %.5f", tool, s.ExtrudedMM[tool], want[tool])
				}
			}
			if st := r.d.Status(); st.LastAcked != len(cleaned(cmds))+1 || st.State != StateReady {
				t.Fatalf("final status %+v", st)
			}
		})
	}
}

func TestResendLimit(t *testing.T) {
	r := newRig(t, boardsim.Options{}, Options{MaxResends: 2, ResponseTimeout: time.Second})
	for i := 0; i < 4; i++ {
		r.b.CorruptLine(3)
	}
	_, err := r.d.Stream(ctxT(t, 5*time.Second), slices.Values([]string{"M105", "M105", "G92 E0", "M105"}))
	var re *ResendLimitError
	if !errors.As(err, &re) || re.Line.N != 3 || !strings.Contains(re.Last, "checksum mismatch") {
		t.Fatalf("err = %v", err)
	}
	// one more corruption is pending: Resume resends (count restarted)
	if err := r.d.Resume(ctxT(t, 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Flush(ctxT(t, 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.d.Send(ctxT(t, time.Second), "M105"); err != nil {
		t.Fatal(err)
	}
	checkExecutedOnce(t, r.b, []string{"M105", "M105", "G92 E0", "M105"})
}

func TestThermalRunawayAborts(t *testing.T) {
	r := newRig(t, boardsim.Options{Speed: 200}, Options{ResponseTimeout: 2 * time.Second})
	if err := r.d.WaitTemp(ctxT(t, 10*time.Second), 0, 210, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.d.Send(ctxT(t, time.Second), "M302 P1"); err != nil { // T1 stays cold
		t.Fatal(err)
	}
	if err := r.b.HeaterFailure(0); err != nil {
		t.Fatal(err)
	}
	// keep printing until the board aborts
	cmds, _ := job(100000)
	_, err := r.d.Stream(ctxT(t, 10*time.Second), slices.Values(cmds))
	var fe *FaultError
	if !errors.As(err, &fe) || !errors.Is(err, ErrFault) {
		t.Fatalf("err = %v", err)
	}
	if fe.Kind != FaultThermalRunaway || fe.Heater != "0" {
		t.Fatalf("fault %+v", fe)
	}
	// the halt message follows; the reason stays thermal runaway
	deadline := time.Now().Add(time.Second)
	for !fe.Halted && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		r.d.mu.Lock()
		fe = r.d.err.(*FaultError)
		r.d.mu.Unlock()
	}
	if !fe.Halted || !strings.Contains(fe.Error(), "thermal runaway on heater 0") {
		t.Fatalf("fault %q halted=%v", fe.Error(), fe.Halted)
	}
	if _, err := r.d.Send(ctxT(t, time.Second), "M105"); !errors.Is(err, ErrFault) {
		t.Fatalf("Send after fault: %v", err)
	}
	if st := r.d.Status(); st.State != StateFaulted || len(st.InFlight) != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestMinTempDuringHeaterWait(t *testing.T) {
	r := newRig(t, boardsim.Options{Speed: 1}, Options{ResponseTimeout: time.Second, HeatTimeout: 10 * time.Second})
	go func() {
		time.Sleep(200 * time.Millisecond)
		r.b.ThermistorOpen(1)
	}()
	var reports int
	err := r.d.WaitTemp(ctxT(t, 5*time.Second), 1, 240, func(Temps) { reports++ })
	var fe *FaultError
	if !errors.As(err, &fe) || fe.Kind != FaultMinTemp || fe.Heater != "1" {
		t.Fatalf("err = %v", err)
	}
	if reports == 0 {
		t.Fatal("no progress report before the fault")
	}
}

func TestHeaterWaitTimeout(t *testing.T) {
	r := newRig(t, boardsim.Options{Speed: 1}, Options{ResponseTimeout: time.Second, HeatTimeout: 400 * time.Millisecond})
	var last Temps
	var mu sync.Mutex
	err := r.d.WaitTemp(ctxT(t, 5*time.Second), HeaterBed, 80, func(t Temps) { mu.Lock(); last = t; mu.Unlock() })
	var he *HeatTimeoutError
	if !errors.As(err, &he) || !errors.Is(err, ErrHeatTimeout) || he.Heater != HeaterBed || he.TargetC != 80 || !he.BrokenOK {
		t.Fatalf("err = %#v", err)
	}
	if !(he.LastC >= 25 && he.LastC < 30) || !last.HasBed || last.Bed.TargetC != 80 {
		t.Fatalf("last reading %v, last report %+v", he.LastC, last)
	}
	// the session is consistent: the wait was broken, not lost
	tp, err := r.d.QueryTemps(ctxT(t, time.Second))
	if err != nil || tp.Bed.TargetC != 80 {
		t.Fatalf("M105 after break: %+v %v", tp, err)
	}
	if st := r.d.Status(); st.State != StateReady || st.Stats.Timeouts != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestHeaterWaitCancel(t *testing.T) {
	r := newRig(t, boardsim.Options{Speed: 1}, Options{ResponseTimeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := r.d.WaitTemp(ctx, 0, 200, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if _, err := r.d.Send(ctxT(t, time.Second), "M105"); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
}

func TestBusyKeepaliveExtendsTimeout(t *testing.T) {
	// G4 P100 lasts 2 s of wall time at Speed 0.05; the driver allows
	// 100 ms + ResponseTimeout = 0.6 s for it, so only the keep-alives
	// (every 40 ms of wall time) keep the line alive.
	for _, tc := range []struct {
		keepaliveS float64
		wantErr    bool
	}{{0.002, false}, {10, true}} {
		r := newRig(t, boardsim.Options{Speed: 0.05, KeepaliveS: tc.keepaliveS}, Options{ResponseTimeout: 500 * time.Millisecond})
		_, err := r.d.Send(ctxT(t, 5*time.Second), "G4 P100")
		if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrTimeout)) {
			t.Fatalf("keep-alive every %v s: err = %v", tc.keepaliveS, err)
		}
	}
}

func TestAutoReportSubscription(t *testing.T) {
	r := newRig(t, boardsim.Options{Speed: 20}, Options{})
	ch, cancel := r.d.SubscribeTemps(4)
	defer cancel()
	if err := r.d.AutoReport(ctxT(t, time.Second), time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case tp := <-ch:
		if len(tp.Tools) != 2 || !tp.HasBed || tp.Tools[1].CurrentC != 25 {
			t.Fatalf("report %+v", tp)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no auto-report")
	}
	if err := r.d.AutoReport(ctxT(t, time.Second), 61*time.Second); !errors.Is(err, ErrBadCommand) {
		t.Fatalf("61 s accepted: %v", err)
	}
}

func TestCommandErrors(t *testing.T) {
	r := newRig(t, boardsim.Options{}, Options{})
	ctx := ctxT(t, 5*time.Second)
	tests := []struct {
		cmd, kind string
	}{
		{"G999 X1", "unknown command"},
		{"G1 E5", "refused"}, // cold extrusion
		{"T4", "refused"},
		{"M280 P9 S10", "refused"},
	}
	for _, tc := range tests {
		_, err := r.d.Send(ctx, tc.cmd)
		var ce *CommandError
		if !errors.As(err, &ce) || ce.Kind != tc.kind || ce.Line.Cmd != tc.cmd {
			t.Errorf("%s: err = %v", tc.cmd, err)
		}
	}
	// the session goes on
	if _, err := r.d.Send(ctx, "M105"); err != nil {
		t.Fatal(err)
	}
	// a stream stops at the first refused command
	n, err := r.d.Stream(ctx, slices.Values([]string{"G92 E0", "G1 E1", "M105", "M105"}))
	if !errors.Is(err, ErrCommand) || n < 2 {
		t.Fatalf("Stream = %d, %v", n, err)
	}
	for _, bad := range []string{"", "M110 N5", "M112", "G1 X1*3", "N3 G1"} {
		if _, err := r.d.Submit(ctx, bad); !errors.Is(err, ErrBadCommand) {
			t.Errorf("Submit(%q) = %v", bad, err)
		}
	}
	for _, tc := range []struct {
		h int
		c float64
	}{{0, math.NaN()}, {0, -1}, {0, 600}, {HeaterBed, 250}, {12, 100}} {
		if err := r.d.SetTemp(ctx, tc.h, tc.c); !errors.Is(err, ErrBadCommand) {
			t.Errorf("SetTemp(%d, %v) = %v", tc.h, tc.c, err)
		}
	}
}

func TestBoardRebootIsFault(t *testing.T) {
	r := newRig(t, boardsim.Options{}, Options{ResponseTimeout: time.Second})
	r.b.Reboot()
	deadline := time.Now().Add(2 * time.Second)
	for r.d.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	var fe *FaultError
	if !errors.As(r.d.Err(), &fe) || fe.Kind != FaultReset {
		t.Fatalf("err = %v", r.d.Err())
	}
}

func TestEmergency(t *testing.T) {
	r := newRig(t, boardsim.Options{}, Options{})
	r.d.Emergency()
	deadline := time.Now().Add(2 * time.Second)
	for !r.b.Snapshot().Halted && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s := r.b.Snapshot(); !s.Halted || s.HaltReason != "M112" {
		t.Fatalf("board %+v", s)
	}
	if _, err := r.d.Send(ctxT(t, time.Second), "M105"); !errors.Is(err, ErrFault) {
		t.Fatal(err)
	}
}

func TestResetToleratesBootChatter(t *testing.T) {
	r := newRig(t, boardsim.Options{Banner: true}, Options{})
	if _, err := r.d.Send(ctxT(t, time.Second), "M115"); err != nil {
		t.Fatal(err)
	}
	rep, err := r.d.Send(ctxT(t, time.Second), "M115")
	if err != nil || len(rep.Echo) == 0 || !strings.HasPrefix(rep.Echo[0], "FIRMWARE_NAME:Marlin") {
		t.Fatalf("M115 reply %+v %v", rep, err)
	}
}

func TestCloseUnblocksWaiters(t *testing.T) {
	r := newRig(t, boardsim.Options{Speed: 1}, Options{})
	errc := make(chan error, 1)
	go func() { errc <- r.d.WaitTemp(context.Background(), 0, 200, nil) }()
	time.Sleep(100 * time.Millisecond)
	r.d.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("WaitTemp still blocked after Close")
	}
	if _, err := r.d.Send(context.Background(), "M105"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
}

func TestOpenFromConfig(t *testing.T) {
	b, err := boardsim.Start(context.Background(), boardsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := config.Defaults().Serial
	d, err := Open(ctxT(t, 5*time.Second), b.Path(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.opts.ResponseTimeout != 5*time.Second || d.opts.InFlight != 1 || d.opts.MaxResends != 5 {
		t.Fatalf("options %+v", d.opts)
	}
	if _, err := d.QueryTemps(ctxT(t, time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctxT(t, time.Second), "/dev/does-not-exist", c, nil); err == nil {
		t.Fatal("opened a missing port")
	}
}

// A pty has no modem lines: go.bug.st/serial's DTR/RTS/status calls fail
// with ENOTTY there, and OpenPort must still work.
func TestOpenPortWithoutModemLines(t *testing.T) {
	b, err := boardsim.Start(context.Background(), boardsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := OpenPort(b.Path(), 250000)
	if err != nil {
		t.Fatal(err)
	}
	sp := p.(interface{ SetDTR(bool) error })
	if err := sp.SetDTR(true); err == nil {
		t.Log("this pty accepted SetDTR; the tolerance path is not exercised here")
	}
	d := New(p, Options{})
	defer d.Close()
	if err := d.Reset(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPort("", 115200); err == nil {
		t.Fatal("empty port name accepted")
	}
}

func benchStream(b *testing.B, window int) {
	board, err := boardsim.Start(context.Background(), boardsim.Options{AdvancedOK: window > 1})
	if err != nil {
		b.Fatal(err)
	}
	defer board.Close()
	port, err := OpenPort(board.Path(), 115200)
	if err != nil {
		b.Fatal(err)
	}
	d := New(port, Options{InFlight: window})
	defer d.Close()
	ctx := context.Background()
	if err := d.Reset(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := d.Send(ctx, "M302 P1"); err != nil {
		b.Fatal(err)
	}
	cmds, _ := job(1000)
	b.ResetTimer()
	lines := 0
	for b.Loop() {
		n, err := d.Stream(ctx, slices.Values(cmds))
		if err != nil {
			b.Fatal(err)
		}
		lines += n
	}
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkStreamPTY measures the round trip driver ↔ pty ↔ simulated
// board (no baud-rate limit on a pty).
func BenchmarkStreamPTYWindow1(b *testing.B) { benchStream(b, 1) }
func BenchmarkStreamPTYWindow3(b *testing.B) { benchStream(b, 3) }

func BenchmarkParseTemps(b *testing.B) {
	line := "ok T:210.00 /210.00 B:60.00 /60.00 T0:210.00 /210.00 T1:180.50 /185.00 @:127 B@:0 @0:127 @1:64"
	var sink Temps
	for b.Loop() {
		sink, _ = ParseTemps(line, time.Time{})
	}
	_ = sink
}

func BenchmarkFormatLine(b *testing.B) {
	var sink string
	for b.Loop() {
		sink = FormatLine(123456, "G1 X102.35 Y88.10 E0.04210 F1800")
	}
	_ = sink
}
