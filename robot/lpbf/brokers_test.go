package lpbf_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// testBroker is a real MQTT broker on loopback that can be restarted on
// the same address (losing sessions and retained messages, like a broker
// without persistence).
type testBroker interface {
	URL() string
	Restart(t testing.TB)
	Stop()
}

func quiet() *slog.Logger {
	if os.Getenv("LPBF_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type mochi struct {
	mu   sync.Mutex
	srv  *mqtt.Server
	addr string
}

func startMochiAt(t testing.TB, addr string) (*mqtt.Server, string) {
	t.Helper()
	var err error
	for i := 0; i < 100; i++ {
		srv := mqtt.New(&mqtt.Options{InlineClient: true, Logger: quiet()})
		if err = srv.AddHook(new(auth.AllowHook), nil); err != nil {
			t.Fatal(err)
		}
		l := listeners.NewTCP(listeners.Config{ID: "t", Address: addr})
		if err = srv.AddListener(l); err == nil {
			if err = srv.Serve(); err == nil {
				return srv, l.Address()
			}
		}
		srv.Close()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("mochi on %s: %v", addr, err)
	return nil, ""
}

func startMochi(t testing.TB) *mochi {
	t.Helper()
	srv, addr := startMochiAt(t, "127.0.0.1:0")
	m := &mochi{srv: srv, addr: addr}
	t.Cleanup(m.Stop)
	return m
}

func (m *mochi) URL() string { return "tcp://" + m.addr }
func (m *mochi) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.srv != nil {
		m.srv.Close()
		m.srv = nil
	}
}
func (m *mochi) Restart(t testing.TB) {
	m.Stop()
	srv, _ := startMochiAt(t, m.addr)
	m.mu.Lock()
	m.srv = srv
	m.mu.Unlock()
}

type mosquitto struct {
	bin, conf, addr string
	cmd             *exec.Cmd
}

// mosquittoPath finds Debian's mosquitto or skips (fails with
// FABCELL_REQUIRE_MOSQUITTO=1).
func mosquittoPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"mosquitto", "/usr/sbin/mosquitto"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("FABCELL_REQUIRE_MOSQUITTO") == "1" {
		t.Fatal("mosquitto not installed (FABCELL_REQUIRE_MOSQUITTO=1); run bash .ci/setup")
	}
	t.Skip("mosquitto not installed; run bash .ci/setup (FABCELL_REQUIRE_MOSQUITTO=1 makes this a failure)")
	return ""
}

func startMosquitto(t *testing.T) *mosquitto {
	t.Helper()
	bin := mosquittoPath(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	body := fmt.Sprintf("persistence false\nlog_dest none\nlistener %d 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 0\nmax_queued_messages 10000\n", port)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &mosquitto{bin: bin, conf: conf, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	m.start(t)
	t.Cleanup(m.Stop)
	return m
}

func (m *mosquitto) URL() string { return "tcp://" + m.addr }
func (m *mosquitto) start(t testing.TB) {
	t.Helper()
	m.cmd = exec.Command(m.bin, "-c", m.conf)
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", m.addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not listen on %s", m.addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
func (m *mosquitto) Stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		m.cmd.Process.Signal(syscall.SIGTERM)
		m.cmd.Wait()
		m.cmd = nil
	}
}
func (m *mosquitto) Restart(t testing.TB) { m.Stop(); m.start(t) }

// eachBroker runs f against the embedded mochi broker and, when
// installed, Debian's mosquitto.
func eachBroker(t *testing.T, f func(t *testing.T, b testBroker)) {
	t.Run("mochi", func(t *testing.T) { f(t, startMochi(t)) })
	t.Run("mosquitto", func(t *testing.T) { f(t, startMosquitto(t)) })
}
