// Package brokertest starts real MQTT brokers for tests — the embedded
// mochi broker and Debian's mosquitto — that can be restarted on the same
// address (losing sessions and retained messages, like a broker without
// persistence). It is shared by the LPBF link, the LPBF machine simulator
// and the controller's LPBF tests.
package brokertest

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

// Broker is a real MQTT broker on loopback.
type Broker interface {
	URL() string
	Restart(t testing.TB)
	Stop()
}

var (
	_ Broker = (*Mochi)(nil)
	_ Broker = (*Mosquitto)(nil)
)

// quiet is the brokers' logger: silent unless LPBF_TEST_LOG is set.
func quiet() *slog.Logger {
	if os.Getenv("LPBF_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Mochi is a restartable embedded broker.
type Mochi struct {
	mu   sync.Mutex
	srv  *mqtt.Server
	addr string
}

// StartMochiAt starts an embedded mochi broker (anonymous access) on
// addr, retrying while the address is still in use after a restart.
func StartMochiAt(t testing.TB, addr string) (*mqtt.Server, string) {
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

// StartMochi starts an embedded mochi broker on a free loopback port,
// stopped when the test ends.
func StartMochi(t testing.TB) *Mochi {
	t.Helper()
	srv, addr := StartMochiAt(t, "127.0.0.1:0")
	m := &Mochi{srv: srv, addr: addr}
	t.Cleanup(m.Stop)
	return m
}

// URL implements Broker.
func (m *Mochi) URL() string { return "tcp://" + m.addr }

// Stop implements Broker.
func (m *Mochi) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.srv != nil {
		m.srv.Close()
		m.srv = nil
	}
}

// Restart implements Broker.
func (m *Mochi) Restart(t testing.TB) {
	m.Stop()
	srv, _ := StartMochiAt(t, m.addr)
	m.mu.Lock()
	m.srv = srv
	m.mu.Unlock()
}

// Mosquitto is a restartable mosquitto process.
type Mosquitto struct {
	bin, conf, addr string
	cmd             *exec.Cmd
}

// MosquittoPath finds Debian's mosquitto or skips (fails with
// FABCELL_REQUIRE_MOSQUITTO=1).
func MosquittoPath(t *testing.T) string {
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

// StartMosquitto starts Debian's mosquitto on a free loopback port
// without persistence, stopped when the test ends.
func StartMosquitto(t *testing.T) *Mosquitto {
	t.Helper()
	bin := MosquittoPath(t)
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
	m := &Mosquitto{bin: bin, conf: conf, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	m.start(t)
	t.Cleanup(m.Stop)
	return m
}

// URL implements Broker.
func (m *Mosquitto) URL() string { return "tcp://" + m.addr }
func (m *Mosquitto) start(t testing.TB) {
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

// Stop implements Broker.
func (m *Mosquitto) Stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		m.cmd.Process.Signal(syscall.SIGTERM)
		m.cmd.Wait()
		m.cmd = nil
	}
}

// Restart implements Broker.
func (m *Mosquitto) Restart(t testing.TB) { m.Stop(); m.start(t) }

// Each runs f against the embedded mochi broker and, when
// installed, Debian's mosquitto.
func Each(t *testing.T, f func(t *testing.T, b Broker)) {
	t.Run("mochi", func(t *testing.T) { f(t, StartMochi(t)) })
	t.Run("mosquitto", func(t *testing.T) { f(t, StartMosquitto(t)) })
}
