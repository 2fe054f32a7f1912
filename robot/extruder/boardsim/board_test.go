package boardsim

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// host is a minimal raw client on the pty slave, independent of the
// driver: it writes bytes and reads lines with a deadline.
type host struct {
	t  *testing.T
	f  *os.File
	br *bufio.Reader
}

func newHost(t *testing.T, b *Board) *host {
	t.Helper()
	f, err := os.OpenFile(b.Path(), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &host{t: t, f: f, br: bufio.NewReader(f)}
}

func numbered(n int, cmd string) string {
	body := "N" + strconv.Itoa(n) + " " + cmd
	cs := 0
	for i := 0; i < len(body); i++ {
		cs ^= int(body[i])
	}
	return body + "*" + strconv.Itoa(cs)
}

func (h *host) send(line string) {
	h.t.Helper()
	if _, err := h.f.WriteString(line + "\n"); err != nil {
		h.t.Fatal(err)
	}
}

// until reads lines until pred matches one, returning all lines read.
func (h *host) until(pred func(string) bool, timeout time.Duration) []string {
	h.t.Helper()
	h.f.SetReadDeadline(time.Now().Add(timeout))
	var got []string
	for {
		l, err := h.br.ReadString('\n')
		if err != nil {
			h.t.Fatalf("waiting: %v; got %q", err, got)
		}
		l = strings.TrimRight(l, "\r\n")
		got = append(got, l)
		if pred(l) {
			return got
		}
	}
}

func isOK(l string) bool { return l == "ok" || strings.HasPrefix(l, "ok ") }

func start(t *testing.T, o Options) *Board {
	t.Helper()
	b, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestLineProtocol(t *testing.T) {
	b := start(t, Options{})
	h := newHost(t, b)
	h.send(numbered(0, "M110 N0"))
	h.until(isOK, time.Second)
	h.send(numbered(1, "G1 X10 Y5"))
	h.until(isOK, time.Second)

	tests := []struct {
		name, line string
		want       []string
	}{
		{"bad checksum", "N2 G1 X11*7", []string{"Error:checksum mismatch, Last Line: 1", "Resend: 2", "ok"}},
		{"skipped number", numbered(3, "G1 X11"), []string{"Error:Line Number is not Last Line Number+1, Last Line: 1", "Resend: 2", "ok"}},
		{"no checksum", "N2 G1 X11", []string{"Error:No Checksum with line number, Last Line: 1", "Resend: 2", "ok"}},
		{"checksum without number", "G1 X11*12", []string{"Error:No Line Number with checksum, Last Line: 1", "Resend: 2", "ok"}},
		{"good", numbered(2, "G1 X11"), []string{"ok"}},
		{"unknown", numbered(3, "G999 X1"), []string{`echo:Unknown command: "G999 X1"`, "ok"}},
		{"marker", "M118 E1 fabcell-sync-7", []string{"echo:fabcell-sync-7", "ok"}},
		{"unnumbered", "G92 E0", []string{"ok"}},
		{"M110 renumbers", numbered(9, "M110 N41"), []string{"ok"}},
		{"after M110", numbered(42, "M114"), []string{"X:11.00 Y:5.00 Z:0.00 E:0.00 Count X:880 Y:400 Z:0", "ok"}},
		{"invalid tool", numbered(43, "T5"), []string{"echo:T5 Invalid extruder", "ok"}},
		{"servo", numbered(44, "M280 P0 S90"), []string{"ok"}},
	}
	for _, tc := range tests {
		h.send(tc.line)
		got := h.until(isOK, time.Second)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	s := b.Snapshot()
	if s.LastN != 44 || s.Servo[0] != 90 {
		t.Fatalf("snapshot %+v", s)
	}
	var ns []int
	for _, e := range b.Executed() {
		ns = append(ns, e.N)
	}
	if fmt.Sprint(ns) != "[0 1 2 3 -1 -1 41 42 43 44]" {
		t.Fatalf("executed line numbers %v", ns)
	}
}

func TestTemperatureReportAndAutoReport(t *testing.T) {
	b := start(t, Options{})
	h := newHost(t, b)
	h.send("M105")
	got := h.until(isOK, time.Second)
	want := "ok T:25.00 /0.00 B:25.00 /0.00 T0:25.00 /0.00 T1:25.00 /0.00 @:0 B@:0 @0:0 @1:0"
	if got[len(got)-1] != want {
		t.Fatalf("M105: %q, want %q", got, want)
	}
	h.send("M155 S1")
	h.until(isOK, time.Second)
	// one report per (simulated) second without asking
	got = h.until(func(l string) bool { return strings.HasPrefix(l, " T:") }, 2*time.Second)
	if !strings.Contains(got[len(got)-1], "T0:25.00 /0.00") {
		t.Fatalf("auto-report %q", got)
	}
}

// M109 reaches the target after the analytic heating time of the
// first-order model plus the residency time; the board prints one report
// per simulated second, so their count measures simulated time.
func TestM109HeatingTime(t *testing.T) {
	const speed = 50
	b := start(t, Options{Speed: speed, KeepaliveS: 2})
	h := newHost(t, b)
	t0 := time.Now()
	h.send("M109 T1 S210")
	got := h.until(isOK, 20*time.Second)
	simS := time.Since(t0).Seconds() * speed
	reports, busy := 0, 0
	for _, l := range got {
		if strings.HasPrefix(l, " T:") && strings.Contains(l, " W:") {
			reports++
		}
		if l == "echo:busy: processing" {
			busy++
		}
	}
	// t = τ·ln((Tfull − T0)/(Tfull − target)) + residency
	want := 60*math.Log((450.0-25)/(450-210)) + 10
	// the wait ends at the first tick (0.5 s simulated) after the
	// residency time; scheduling jitter on a loaded machine adds a little
	if simS < want-0.5 || simS > want+3 {
		t.Fatalf("M109 took %.1f simulated s, analytic %.1f s", simS, want)
	}
	if reports < int(want)-3 || reports > int(want)+2 {
		t.Fatalf("%d one-second reports in %.1f s", reports, want)
	}
	// one keep-alive per 2 s, each delayed by up to one 0.5 s tick
	if busy < int(want/2.5)-1 || busy > int(want/2)+1 {
		t.Fatalf("%d keep-alives in %.0f s", busy, want)
	}
	s := b.Snapshot()
	if math.Abs(s.TempsC[1]-210) > 1e-9 || s.TargetsC[1] != 210 {
		t.Fatalf("T1 at %v target %v", s.TempsC[1], s.TargetsC[1])
	}
}

func TestEmergencyBreakEndsWait(t *testing.T) {
	b := start(t, Options{Speed: 1})
	h := newHost(t, b)
	h.send(numbered(1, "M109 S200"))
	h.until(func(l string) bool { return strings.Contains(l, "W:?") }, time.Second)
	h.send(numbered(2, "M108"))
	got := h.until(isOK, time.Second) // M109 ends
	if isOK(got[len(got)-1]) && b.Snapshot().TargetsC[0] != 200 {
		t.Fatal("M108 must keep the target")
	}
	h.until(isOK, time.Second) // the queued M108 itself
	if n := len(b.Executed()); n != 2 {
		t.Fatalf("executed %d", n)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		inject func(b *Board) error
		heat   string
		want   string
	}{
		{"thermal runaway", func(b *Board) error { return b.HeaterFailure(0) }, "M109 T0 S210",
			"Error:Thermal Runaway, system stopped! Heater_ID: 0"},
		{"heating failed", func(b *Board) error { return b.HeaterFailure(1) }, "",
			"Error:Heating failed, system stopped! Heater_ID: 1"},
		{"mintemp", func(b *Board) error { return b.ThermistorOpen(1) }, "", "Error:MINTEMP triggered, system stopped! Heater_ID: 1"},
		{"maxtemp bed", func(b *Board) error { return b.ThermistorShort(Bed) }, "", "Error:MAXTEMP triggered, system stopped! Heater_ID: bed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := start(t, Options{Speed: 200})
			h := newHost(t, b)
			if tc.heat != "" {
				h.send(tc.heat)
				h.until(isOK, 10*time.Second)
			} else {
				h.send("M104 T1 S210")
				h.until(isOK, time.Second)
			}
			if err := tc.inject(b); err != nil {
				t.Fatal(err)
			}
			got := h.until(func(l string) bool { return strings.HasPrefix(l, "Error:Printer halted") }, 10*time.Second)
			if got[len(got)-2] != tc.want {
				t.Fatalf("got %q, want %q before the halt", got, tc.want)
			}
			if s := b.Snapshot(); !s.Halted {
				t.Fatal("not halted")
			}
			// a killed board answers nothing
			h.send("M105")
			h.f.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if l, err := h.br.ReadString('\n'); err == nil {
				t.Fatalf("halted board answered %q", l)
			}
		})
	}
}

func TestColdExtrusionAndModes(t *testing.T) {
	b := start(t, Options{})
	h := newHost(t, b)
	h.send("G1 E5")
	got := h.until(isOK, time.Second)
	if got[0] != "echo: cold extrusion prevented" {
		t.Fatalf("%q", got)
	}
	for _, c := range []string{"M302 P1", "M83", "G1 E2", "G1 E3", "T1", "M82", "G92 E10", "G1 E12.5", "T0", "G1 E-1"} {
		h.send(c)
		h.until(isOK, time.Second)
	}
	s := b.Snapshot()
	// T0: 5 (prevented, position moves), +2, +3 relative, then absolute
	// −1 from 10 → −11; T1: 10 → 12.5.
	if s.EPosMM[0] != -1 || s.ExtrudedMM[0] != 2+3-11 || s.EPosMM[1] != 12.5 || s.ExtrudedMM[1] != 2.5 {
		t.Fatalf("E positions %v extruded %v", s.EPosMM, s.ExtrudedMM)
	}
}

func TestWireFaultInjection(t *testing.T) {
	b := start(t, Options{})
	h := newHost(t, b)
	b.CorruptLine(1)
	h.send(numbered(1, "G1 X1"))
	if got := h.until(isOK, time.Second); got[0] != "Error:checksum mismatch, Last Line: 0" {
		t.Fatalf("%q", got)
	}
	h.send(numbered(1, "G1 X1"))
	h.until(isOK, time.Second)
	b.DropOK(2)
	h.send(numbered(2, "G1 X2"))
	h.send("M118 fabcell-x")
	if got := h.until(isOK, time.Second); got[0] != "fabcell-x" {
		t.Fatalf("ok of a dropped line arrived: %q", got)
	}
	b.DropLine(3)
	h.send(numbered(3, "G1 X3"))
	h.send(numbered(4, "G1 X4"))
	if got := h.until(isOK, time.Second); got[0] != "Error:Line Number is not Last Line Number+1, Last Line: 2" {
		t.Fatalf("%q", got)
	}
	if s := b.Snapshot(); s.LastN != 2 {
		t.Fatalf("last line %d", s.LastN)
	}
}

func TestStartOptionsValidation(t *testing.T) {
	for _, o := range []Options{{Tools: 9}, {Speed: -1}, {Speed: math.NaN()}, {BufSize: 100}} {
		if b, err := Start(context.Background(), o); err == nil {
			b.Close()
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestContextStopsBoard(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b, err := Start(ctx, Options{Banner: true})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for {
		select {
		case <-b.quit:
			b.Close()
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("board still running after ctx cancel")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
