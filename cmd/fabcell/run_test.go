package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"fabcell/controller"
	"fabcell/planners"
	"fabcell/robot/ur/rtde"
	"fabcell/simulation/ursim"
)

// TestMain lets the tests run the fabcell command as a child process (the
// test binary re-executed with FABCELL_TEST_MAIN=1), so a controller can
// be killed with SIGKILL like a crashed process.
func TestMain(m *testing.M) {
	if os.Getenv("FABCELL_TEST_MAIN") == "1" {
		os.Args = append([]string{"fabcell"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func fabcellCmd(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(exe, args...)
	c.Dir = dir
	c.Env = append(os.Environ(), "FABCELL_TEST_MAIN=1")
	return c
}

func portOf(t *testing.T, addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunKilledControllerResumesFromJournal prints a wire-frame on an
// external UR5e simulator (the robot keeps running when the controller
// dies), kills the controller process with SIGKILL in the middle of the
// job, starts it again with the same job file, and checks that the job
// completes with every strut printed exactly once: the journal lists
// each print acknowledged once, and the robot switched the extruder on
// exactly once per strut across both processes.
func TestRunKilledControllerResumesFromJournal(t *testing.T) {
	sim, err := ursim.Start(ursim.Options{RTDEAddr: "127.0.0.1:0", DashboardAddr: "127.0.0.1:0", ScriptAddr: "127.0.0.1:0",
		TimeScale: 10, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	sim.SetRemoteControl(true)

	// Watch the extruder output (tool digital output 0 = bit 16) from an
	// independent RTDE client.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rc, err := rtde.Dial(ctx, sim.RTDEAddr(), rtde.Options{FrequencyHz: 500, Outputs: []string{"timestamp", "actual_digital_output_bits"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := rc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sub := rc.Subscribe(1 << 14)
	var mu sync.Mutex
	rises := 0
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		prev := false
		for {
			select {
			case f, ok := <-sub.C():
				if !ok || f == nil {
					return
				}
				b, err := f.Uint64("actual_digital_output_bits")
				if err != nil {
					continue
				}
				on := b&(1<<16) != 0
				if on && !prev {
					mu.Lock()
					rises++
					mu.Unlock()
				}
				prev = on
			case <-quit:
				return
			}
		}
	}()

	dir := t.TempDir()
	model, _ := filepath.Abs("../../processes/wireframe/testdata/simple_frame.json")
	cfg := fmt.Sprintf(`robot:
  host: 127.0.0.1
  rtde_port: %s
  dashboard_port: %s
  script_port: %s
controller:
  journal_dir: %s
  report_dir: %s
planner:
  name: greedy
`, portOf(t, sim.RTDEAddr()), portOf(t, sim.DashboardAddr()), portOf(t, sim.ScriptAddr()), filepath.Join(dir, "journal"), filepath.Join(dir, "reports"))
	if err := os.WriteFile(filepath.Join(dir, "cell.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	job := fmt.Sprintf("id: crash\nprocess: wireframe\nmodel: %s\n", model)
	if err := os.WriteFile(filepath.Join(dir, "job.yaml"), []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(dir, "journal", "crash.jsonl")
	acked := func() int {
		f, err := os.Open(journal)
		if err != nil {
			return 0
		}
		defer f.Close()
		n := 0
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"kind":"acked"`) {
				n++
			}
		}
		return n
	}

	first := fabcellCmd(t, dir, "--config", "cell.yaml", "run", "-q", "job.yaml")
	var out1 strings.Builder
	first.Stdout, first.Stderr = &out1, &out1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	for acked() < 6 {
		if ctx.Err() != nil {
			t.Fatalf("first controller made no progress:\n%s", out1.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	killedAt := acked()
	if killedAt >= 19 {
		t.Fatalf("the first controller finished before it was killed (%d acks)", killedAt)
	}

	second := fabcellCmd(t, dir, "--config", "cell.yaml", "run", "-q", "job.yaml")
	out2, err := second.CombinedOutput()
	if err != nil {
		t.Fatalf("second controller: %v\n%s", err, out2)
	}
	if !strings.Contains(string(out2), "completed") {
		t.Fatalf("second controller:\n%s", out2)
	}
	time.Sleep(100 * time.Millisecond) // last RTDE frames
	close(quit)
	wg.Wait()

	rec, err := controller.ReadJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	printed := map[int]int{}
	for _, mv := range rec.Acked {
		if mv.Kind == planners.Print {
			printed[mv.Edge]++
		}
	}
	for e, n := range printed {
		if n != 1 {
			t.Fatalf("strut %d acknowledged %d times", e, n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// simple_frame: 19 struts, one unreachable for the head
	if len(printed) != 18 || rises != len(printed) {
		t.Fatalf("killed after %d acks; journal prints %d struts, the robot switched the extruder on %d times\n%s", killedAt, len(printed), rises, out2)
	}
}
