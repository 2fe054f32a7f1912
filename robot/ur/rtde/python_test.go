package rtde_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fabcell/robot/ur/rtde"
	"fabcell/robot/ur/script"
	"fabcell/simulation/ursim"
)

// The Python tests run testdata/rtde_client.py, an independent standard
// library client that does what UR's official record.py and
// example_control_loop.py do on the wire, against the simulator.

func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	return p
}

func runPy(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, python(t), append([]string{"testdata/rtde_client.py"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func hostPort(t *testing.T, addr string) (string, string) {
	i := strings.LastIndex(addr, ":")
	return addr[:i], addr[i+1:]
}

func TestPythonRecord500Hz(t *testing.T) {
	sim := startSim(t, ursim.Options{Ready: true})
	ctx := ctxT(t, 30*time.Second)
	host, port := hostPort(t, sim.RTDEAddr())
	out := filepath.Join(t.TempDir(), "robot_data.csv")
	samples := 1000
	if testing.Short() {
		samples = 250
	}
	msg := runPy(t, ctx, "record", "--host", host, "--port", port, "--frequency", "500", "--samples", strconv.Itoa(samples),
		"--config", "testdata/record_configuration.xml", "--output", out, "--buffered")
	if !strings.Contains(msg, fmt.Sprintf("recorded %d samples", samples)) {
		t.Fatalf("output %q", msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ' '
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != samples+1 {
		t.Fatalf("%d rows", len(rows))
	}
	header := strings.Join(rows[0][:8], " ")
	if header != "timestamp actual_q_0 actual_q_1 actual_q_2 actual_q_3 actual_q_4 actual_q_5 actual_qd_0" {
		t.Errorf("header %q", header)
	}
	// every package in order, 2 ms apart in controller time (allow a few
	// skipped packages on a loaded machine)
	rmCol := -1
	for i, h := range rows[0] {
		if h == "robot_mode" {
			rmCol = i
		}
	}
	if rmCol != 19 || len(rows[0]) != 35 {
		t.Fatalf("robot_mode at column %d of %d", rmCol, len(rows[0]))
	}
	gaps := 0
	prev := -1.0
	for i, row := range rows[1:] {
		ts, err := strconv.ParseFloat(row[0], 64)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			d := ts - prev
			if d <= 0 {
				t.Fatalf("row %d: timestamp %v after %v", i, ts, prev)
			}
			if math.Abs(d-0.002) > 1e-9 {
				gaps++
			}
		}
		prev = ts
		if rm := row[rmCol]; rm != "7" { // RUNNING
			t.Fatalf("row %d: robot_mode %q", i, rm)
		}
	}
	if gaps > samples/100 {
		t.Errorf("%d of %d steps are not 2 ms", gaps, samples)
	}
}

func TestPythonControlLoop(t *testing.T) {
	// Real time: the program's 1 Hz RTDE watchdog must mean one second of
	// wall time, or a Python client descheduled for 250 ms on a loaded
	// machine trips it (at TimeScale 4 it did, in CI).
	sim := startSim(t, ursim.Options{Ready: true, TimeScale: 1})
	ctx := ctxT(t, 60*time.Second)
	host, port := hostPort(t, sim.RTDEAddr())
	// the robot side of example_control_loop.py (rtde_control_loop.urp):
	// watchdog, ready flag in output_int_register_0, set-point from six
	// input float registers, MoveL v=0.08 a=1.2
	prog, err := os.ReadFile("testdata/rtde_control_loop.script")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&script.Sender{Addr: sim.ScriptAddr()}).Send(ctx, string(prog)); err != nil {
		t.Fatal(err)
	}
	// the set-points of UR's example_control_loop.py
	setp1 := "-0.12,-0.43,0.14,0,3.11,0.04"
	setp2 := "-0.12,-0.51,0.21,0,3.11,0.04"
	out := runPy(t, ctx, "control", "--host", host, "--port", port, "--setp1="+setp1, "--setp2="+setp2, "--moves", "3")
	if !strings.Contains(out, "completed 3 moves") {
		t.Fatalf("output %q", out)
	}
}

func TestPythonRaisesOnNotFound(t *testing.T) {
	sim := startSim(t, ursim.Options{Ready: true})
	ctx := ctxT(t, 10*time.Second)
	host, port := hostPort(t, sim.RTDEAddr())
	out := runPy(t, ctx, "badfield", "--host", host, "--port", port, "--field", "flux_capacitor")
	if !strings.Contains(out, "ValueError: Unknown data type: NOT_FOUND") {
		t.Fatalf("output %q", out)
	}
}

func TestPythonRaisesOnInUse(t *testing.T) {
	sim := startSim(t, ursim.Options{Ready: true})
	ctx := ctxT(t, 10*time.Second)
	owner, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{Outputs: []string{"timestamp"}, Inputs: [][]string{{"input_int_register_0"}}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	host, port := hostPort(t, sim.RTDEAddr())
	out := runPy(t, ctx, "badfield", "--host", host, "--port", port, "--field", "input_int_register_0", "--input")
	if !strings.Contains(out, "ValueError: Unknown data type: IN_USE") {
		t.Fatalf("output %q", out)
	}
}
