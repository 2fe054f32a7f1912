package pendant

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"fabcell/controller"

	"github.com/gorilla/websocket"
)

// chromiumPath finds Debian's chromium, or skips the test (fails with
// FABCELL_REQUIRE_BROWSER=1, as CI sets).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("FABCELL_REQUIRE_BROWSER") == "1" {
		t.Fatal("chromium not installed (FABCELL_REQUIRE_BROWSER=1); run bash .ci/setup")
	}
	t.Skip("chromium not installed; run bash .ci/setup (set FABCELL_REQUIRE_BROWSER=1 to make this a failure)")
	return ""
}

// cdp is a minimal Chrome DevTools Protocol client over the page's
// websocket: one goroutine reads, calls wait for their id.
type cdp struct {
	ws      *websocket.Conn
	mu      sync.Mutex
	next    int
	pending map[int]chan cdpReply
	done    chan struct{}
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func dialCDP(t *testing.T, url string) *cdp {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("devtools websocket: %v", err)
	}
	c := &cdp{ws: ws, pending: map[int]chan cdpReply{}, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			var m struct {
				ID int `json:"id"`
				cdpReply
			}
			if err := ws.ReadJSON(&m); err != nil {
				return
			}
			if m.ID == 0 {
				continue // an event
			}
			c.mu.Lock()
			ch := c.pending[m.ID]
			delete(c.pending, m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m.cdpReply
			}
		}
	}()
	t.Cleanup(func() { ws.Close(); <-c.done })
	return c
}

func (c *cdp) call(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan cdpReply, 1)
	c.pending[id] = ch
	err := c.ws.WriteJSON(map[string]any{"id": id, "method": method, "params": params})
	c.mu.Unlock()
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			t.Fatalf("%s: %s", method, r.Error.Message)
		}
		return r.Result
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no answer", method)
	case <-c.done:
		t.Fatalf("%s: devtools connection closed", method)
	}
	return nil
}

// eval evaluates a JavaScript expression and returns its JSON value.
func (c *cdp) eval(t *testing.T, expr string) json.RawMessage {
	t.Helper()
	raw := c.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.ExceptionDetails != nil {
		t.Fatalf("%s: %s", expr, r.ExceptionDetails.Text)
	}
	return r.Result.Value
}

func (c *cdp) evalString(t *testing.T, expr string) string {
	var s string
	json.Unmarshal(c.eval(t, expr), &s)
	return s
}

func (c *cdp) waitText(t *testing.T, what, expr, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	got := ""
	for time.Now().Before(deadline) {
		if got = c.evalString(t, expr); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %q, want %q", what, got, want)
}

// click presses and releases the mouse on the centre of an element, as a
// person would.
func (c *cdp) click(t *testing.T, id string) {
	t.Helper()
	var r struct{ X, Y, W, H float64 }
	raw := c.eval(t, fmt.Sprintf(`(() => { const r = document.getElementById(%q).getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height}; })()`, id))
	if err := json.Unmarshal(raw, &r); err != nil || r.W == 0 {
		t.Fatalf("element %s not visible: %s", id, raw)
	}
	x, y := r.X+r.W/2, r.Y+r.H/2
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		c.call(t, "Input.dispatchMouseEvent", map[string]any{"type": typ, "x": x, "y": y, "button": "left", "clickCount": 1})
	}
}

// startChromium runs headless chromium and returns the devtools websocket
// of its page.
func startChromium(t *testing.T) string {
	t.Helper()
	bin := chromiumPath(t)
	profile, err := os.MkdirTemp("", "fabcell-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-dev-shm-usage", "--disable-extensions", "--disable-sync", "--no-first-run", "--no-default-browser-check",
		"--mute-audio", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--remote-allow-origins=*",
		"--window-size=1280,1000", "--user-data-dir="+profile, "about:blank")
	// Chromium forks helpers (zygote, crashpad) that outlive the main
	// process: run it in its own process group and kill the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		// helpers may still be flushing the profile for a moment
		for i := 0; i < 50; i++ {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("could not remove chromium profile %s", profile)
	})
	re := regexp.MustCompile(`DevTools listening on (ws://[^\s]+)`)
	found := make(chan string, 1)
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			} else if log.Len() < 4096 {
				log.WriteString(sc.Text() + "\n")
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	var browserWS string
	select {
	case browserWS = <-found:
	case <-time.After(30 * time.Second):
		t.Fatalf("chromium did not start its devtools server:\n%s", log.String())
	}
	host := strings.TrimPrefix(browserWS, "ws://")
	host = host[:strings.IndexByte(host, '/')]
	for i := 0; i < 100; i++ {
		resp, err := http.Get("http://" + host + "/json/list")
		if err == nil {
			var targets []struct {
				Type string `json:"type"`
				WS   string `json:"webSocketDebuggerUrl"`
			}
			json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
			for _, tg := range targets {
				if tg.Type == "page" && tg.WS != "" {
					return tg.WS
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("chromium has no page target")
	return ""
}

// TestBrowserStartsJob: in headless Chromium, an operator logs in to the
// web pendant, clicks Start on a queued job and watches it finish on the
// page (live updates over server-sent events), with the run report's plot
// shown afterwards.
func TestBrowserStartsJob(t *testing.T) {
	mgr, srv := webServer(t)
	if _, _, err := mgr.Submit(controller.JobSpec{ID: "femur", Process: "travel", Model: model(t, "NodeFemur_wireframe.txt"), MaxSteps: 60}); err != nil {
		t.Fatal(err)
	}
	page := dialCDP(t, startChromium(t))
	page.call(t, "Page.enable", map[string]any{})
	page.call(t, "Page.navigate", map[string]any{"url": srv.URL + "/"})
	page.waitText(t, "login form", `document.readyState === "complete" && !document.getElementById("login").hidden ? "login" : ""`, "login", 20*time.Second)
	// type the token and press the button
	page.eval(t, `document.getElementById("token").focus()`)
	page.call(t, "Input.insertText", map[string]any{"text": testToken})
	page.click(t, "login-button")
	page.waitText(t, "job row", `(document.getElementById("state-femur") || {}).textContent || ""`, "queued", 20*time.Second)
	page.waitText(t, "live stream", `document.getElementById("conn").textContent`, "live", 20*time.Second)
	if got := page.evalString(t, `String(document.getElementById("start-femur").disabled)`); got != "false" {
		t.Fatal("start button disabled for a queued job")
	}
	page.click(t, "start-femur")
	page.waitText(t, "job finished on the page", `(document.getElementById("state-femur") || {}).textContent || ""`, "completed", 90*time.Second)
	info, _ := mgr.Job("femur")
	if info.State != controller.Completed || info.StepsDone != 60 {
		t.Fatalf("job %s after %d steps: %s", info.State, info.StepsDone, info.Reason)
	}
	page.waitText(t, "status panel", `document.getElementById("v-state").textContent`, "completed", 10*time.Second)
	if got := page.evalString(t, `document.getElementById("cmd-msg").textContent`); !strings.Contains(got, "started") {
		t.Fatalf("command message %q", got)
	}
	// the report plot is shown (the image loads through the session cookie)
	page.waitText(t, "plot image", `(() => { const i = document.getElementById("plot"); return !document.getElementById("plot-panel").hidden && i.complete && i.naturalWidth > 0 ? "loaded" : ""; })()`, "loaded", 20*time.Second)
	if dir := os.Getenv("FABCELL_SCREENSHOT_DIR"); dir != "" {
		raw := page.call(t, "Page.captureScreenshot", map[string]any{"format": "png"})
		var shot struct {
			Data string `json:"data"`
		}
		json.Unmarshal(raw, &shot)
		png, _ := base64.StdEncoding.DecodeString(shot.Data)
		os.WriteFile(filepath.Join(dir, "web-pendant.png"), png, 0o644)
	}
}
