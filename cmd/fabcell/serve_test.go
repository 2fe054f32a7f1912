package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"fabcell/controller/mes"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// syncBuf is a goroutine-safe output buffer.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestServeEndToEnd runs `fabcell serve --dry-run` in-process with every
// listener on a free loopback port: an MES (its own paho client) submits
// the Femur job over MQTT, the teach pendant starts it over XML-RPC, the
// job runs on the UR5e simulator and completes; a second job is running
// when the service gets its shutdown signal — it is aborted safely and the
// offline state is published.
func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	models := filepath.Join(dir, "models")
	os.MkdirAll(filepath.Join(models, "femur"), 0o755)
	for _, f := range []string{"NodeFemur_wireframe.txt", "EdgeFemur_wireframe.txt"} {
		data, err := os.ReadFile(filepath.Join(graphTD, f))
		if err != nil {
			t.Skip(err)
		}
		os.WriteFile(filepath.Join(models, "femur", f), data, 0o644)
	}
	cfgPath := filepath.Join(dir, "cell.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`name: serve1
planner: {name: greedy}
mqtt: {embedded_addr: "127.0.0.1:0", telemetry_hz: 10}
pendant: {xmlrpc_addr: "127.0.0.1:0", web_addr: "127.0.0.1:0"}
controller: {journal_dir: %q, report_dir: %q, time_scale: 50}
robot: {print_speed_mm_s: 20}
`, filepath.Join(dir, "journal"), filepath.Join(dir, "reports"))), 0o644)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	root := newRootCmd()
	out, errb := &syncBuf{}, &syncBuf{}
	root.SetOut(out)
	root.SetErr(errb)
	root.SetArgs([]string{"serve", "--config", cfgPath, "--dry-run", "--model-dir", models})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "fabcell serve: ready") {
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s\n%s", err, out.String(), errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	text := out.String()
	broker := regexp.MustCompile(`mqtt broker  (tcp://\S+)`).FindStringSubmatch(text)
	rpcURL := regexp.MustCompile(`xml-rpc      (http://\S+)`).FindStringSubmatch(text)
	web := regexp.MustCompile(`web pendant  (http://\S+) \(token: (\S+)`).FindStringSubmatch(text)
	if broker == nil || rpcURL == nil || web == nil {
		t.Fatalf("addresses missing:\n%s", text)
	}
	if strings.Contains(errb.String(), "web-token") && strings.Contains(errb.String(), readFile(t, web[2])) {
		t.Fatal("the web token appears in the log")
	}

	// the MES: an independent paho client
	tp := mes.NewTopics("fabcell", "serve1")
	var mu sync.Mutex
	var statuses []mes.Status
	var online []string
	o := paho.NewClientOptions().AddBroker(broker[1]).SetClientID("mes-test").SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasSuffix(m.Topic(), "/status"):
			var s mes.Status
			if json.Unmarshal(m.Payload(), &s) == nil {
				statuses = append(statuses, s)
			}
		case m.Topic() == tp.State():
			online = append(online, string(m.Payload()))
		}
	})
	mesc := paho.NewClient(o)
	if tok := mesc.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer mesc.Disconnect(0)
	if tok := mesc.SubscribeMultiple(map[string]byte{tp.Base + "/jobs/+/status": 1, tp.State(): 1}, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	waitUntil := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		end := time.Now().Add(d)
		for !cond() {
			if time.Now().After(end) {
				mu.Lock()
				t.Fatalf("timed out: %s (%d statuses, state %v)\n%s", what, len(statuses), online, errb.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	last := func(id string) (mes.Status, bool) {
		mu.Lock()
		defer mu.Unlock()
		for i := len(statuses) - 1; i >= 0; i-- {
			if statuses[i].ID == id {
				return statuses[i], true
			}
		}
		return mes.Status{}, false
	}
	waitUntil("online", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(online) > 0 && strings.Contains(online[len(online)-1], `"online":true`)
	})
	pub := func(topic, payload string) {
		if tok := mesc.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	pub(tp.Submit(), `{"id":"femur","process":"travel","model":"femur/NodeFemur_wireframe.txt","max_steps":150}`)
	waitUntil("queued", 10*time.Second, func() bool { s, ok := last("femur"); return ok && s.State == "queued" })

	// the pendant starts it
	rpcCall := func(body string) string {
		resp, err := http.Post(rpcURL[1], "text/xml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return string(data)
	}
	if r := rpcCall(`<?xml version="1.0"?><methodCall><methodName>start_job</methodName><params><param><value><string>femur</string></value></param></params></methodCall>`); !strings.Contains(r, "ok: job femur started") {
		t.Fatalf("start_job: %s", r)
	}
	waitUntil("completed", 90*time.Second, func() bool { s, ok := last("femur"); return ok && s.State.Terminal() })
	if s, _ := last("femur"); s.State != "completed" || s.StepsDone != 150 {
		t.Fatalf("femur %s after %d steps: %s", s.State, s.StepsDone, s.Reason)
	}
	if r := rpcCall(`<?xml version="1.0"?><methodCall><methodName>status</methodName><params></params></methodCall>`); !strings.Contains(r, "femur completed") {
		t.Fatalf("status: %s", r)
	}
	// the web page answers with the token
	req, _ := http.NewRequest("GET", web[1]+"api/jobs", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(readFile(t, web[2])))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("web: %v %v", err, resp)
	}
	resp.Body.Close()

	// a second, long job is running when the shutdown signal comes
	pub(tp.Submit(), `{"id":"long","process":"travel","model":"femur/NodeFemur_wireframe.txt"}`)
	pub(tp.Command("long", "start"), `{}`)
	waitUntil("long running", 30*time.Second, func() bool { s, ok := last("long"); return ok && s.State == "running" && s.StepsDone > 3 })
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
	waitUntil("final status and offline state", 10*time.Second, func() bool {
		s, ok := last("long")
		mu.Lock()
		defer mu.Unlock()
		return ok && s.State == "aborted" && len(online) > 0 && strings.Contains(online[len(online)-1], `"online":false`)
	})
	if s, _ := last("long"); !strings.Contains(s.Reason, "shutting down") {
		t.Fatalf("long job: %s %q", s.State, s.Reason)
	}
	if !strings.Contains(out.String(), "fabcell serve: stopped") {
		t.Fatal(out.String())
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	path = strings.TrimSuffix(path, ")")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("token file: %v", err)
	}
	return strings.TrimSpace(string(data))
}
