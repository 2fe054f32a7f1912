package main

import (
	"strings"
	"testing"
)

func TestSimCommandServesAndMeasures(t *testing.T) {
	stdout, stderr, err := runCLI(t, "sim", "--rtde-addr", "127.0.0.1:0", "--dashboard-addr", "127.0.0.1:0",
		"--script-addr", "127.0.0.1:0", "--ready", "--measure", "300ms")
	if err != nil {
		t.Fatalf("sim: %v\n%s", err, stderr)
	}
	for _, want := range []string{"rtde       127.0.0.1:", "dashboard  127.0.0.1:", "secondary  127.0.0.1:", "packages at 500 Hz"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestSimCommandRejectsBadFlags(t *testing.T) {
	if _, _, err := runCLI(t, "sim", "--time-scale", "-1", "--rtde-addr", "127.0.0.1:0", "--dashboard-addr", "127.0.0.1:0", "--script-addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "time scale") {
		t.Errorf("negative time scale: %v", err)
	}
	if _, _, err := runCLI(t, "sim", "--rtde-addr", "256.1.1.1:1"); err == nil {
		t.Error("bad address accepted")
	}
}
