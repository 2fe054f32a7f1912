package pendant

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"fabcell/controller"
)

const testToken = "correct-horse-battery-staple"

func webServer(t *testing.T) (*controller.Manager, *httptest.Server) {
	t.Helper()
	mgr, hub, cell := dryRun(t)
	web, err := NewWeb(WebOptions{Jobs: mgr, Hub: hub, Cell: cell.Name, Token: testToken, UpdateHz: 20, DryRun: true, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web)
	t.Cleanup(srv.Close)
	return mgr, srv
}

func do(t *testing.T, c *http.Client, method, url, body string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), resp.Header
}

func TestWebAuthAndCommands(t *testing.T) {
	mgr, srv := webServer(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if code, body, h := do(t, c, "GET", srv.URL+"/", "", nil); code != 200 || !strings.Contains(body, "fabcell") || h.Get("Content-Security-Policy") == "" {
		t.Fatalf("page: %d", code)
	}
	if code, _, _ := do(t, c, "GET", srv.URL+"/static/app.js", "", nil); code != 200 {
		t.Fatalf("app.js: %d", code)
	}
	if code, _, _ := do(t, c, "GET", srv.URL+"/api/jobs", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("jobs without login: %d", code)
	}
	if code, _, _ := do(t, c, "POST", srv.URL+"/api/login", `{"token":"wrong"}`, nil); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", code)
	}
	if code, _, _ := do(t, c, "POST", srv.URL+"/api/login", `{"token":"`+testToken+`"}`, nil); code != 200 {
		t.Fatalf("login: %d", code)
	}
	mgr.Submit(controller.JobSpec{ID: "frame", Process: "travel", Model: model(t, "assembly_instances/four-frame.json")})
	code, body, _ := do(t, c, "GET", srv.URL+"/api/jobs", "", nil)
	var snap struct {
		Cell string `json:"cell"`
		Jobs []struct {
			ID    string `json:"id"`
			State string `json:"state"`
			Model string `json:"model"`
			// the page gets report_html (the server path is blanked)
			ReportHTML bool `json:"report_html"`
		} `json:"jobs"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &snap) != nil || len(snap.Jobs) != 1 || snap.Jobs[0].State != "queued" || snap.Jobs[0].Model != "four-frame.json" {
		t.Fatalf("jobs: %d %s", code, body)
	}
	// state-changing requests need the X-Fabcell header (no cross-site forms)
	if code, _, _ := do(t, c, "POST", srv.URL+"/api/jobs/frame/start", "", nil); code != http.StatusForbidden {
		t.Fatalf("start without header: %d", code)
	}
	if code, body, _ := do(t, c, "POST", srv.URL+"/api/jobs/ghost/start", "", map[string]string{"X-Fabcell": "1"}); code != http.StatusNotFound || !strings.Contains(body, "ghost") {
		t.Fatalf("unknown job: %d %s", code, body)
	}
	if code, _, _ := do(t, c, "POST", srv.URL+"/api/jobs/frame/explode", "", map[string]string{"X-Fabcell": "1"}); code != http.StatusNotFound {
		t.Fatalf("unknown verb: %d", code)
	}
	// live events: open the stream, then start the job and follow it
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events", nil)
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %v %v", err, resp)
	}
	defer resp.Body.Close()
	if code, body, _ := do(t, c, "POST", srv.URL+"/api/jobs/frame/start", "", map[string]string{"X-Fabcell": "1"}); code != 200 || !strings.Contains(body, "started") {
		t.Fatalf("start: %d %s", code, body)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	event, states := "", []string{}
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok && event == "jobs" {
			if err := json.Unmarshal([]byte(v), &snap); err != nil {
				t.Fatal(err)
			}
			if st := snap.Jobs[0].State; len(states) == 0 || states[len(states)-1] != st {
				states = append(states, st)
			}
			// The run report is written after the job reaches its final
			// state; the stream delivers a snapshot with its path when it is.
			if snap.Jobs[0].State == "completed" && snap.Jobs[0].ReportHTML {
				break
			}
		}
	}
	if len(states) == 0 || states[len(states)-1] != "completed" {
		t.Fatalf("stream ended with states %v (%v)", states, sc.Err())
	}
	cancel()
	// the run report's files are served; nothing else is
	info, _ := mgr.Job("frame")
	if info.Report == "" {
		t.Fatal("no run report")
	}
	if code, body, _ := do(t, c, "GET", srv.URL+"/reports/frame/report.json", "", nil); code != 200 || !strings.Contains(body, `"state": "completed"`) {
		t.Fatalf("report.json: %d", code)
	}
	if code, _, h := do(t, c, "GET", srv.URL+"/reports/frame/report.html", "", nil); code != 200 || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("report.html: %d", code)
	}
	for _, p := range []string{"/reports/frame/..%2F..%2Fjournal%2Fframe.jsonl", "/reports/frame/.hidden.png", "/reports/ghost/report.json", "/reports/frame/nope.png", "/reports/frame/report.exe"} {
		if code, _, _ := do(t, c, "GET", srv.URL+p, "", nil); code != http.StatusNotFound {
			t.Errorf("%s: %d", p, code)
		}
	}
	// bearer token for API clients; logout ends the session
	anon := &http.Client{}
	if code, _, _ := do(t, anon, "GET", srv.URL+"/api/jobs", "", map[string]string{"Authorization": "Bearer " + testToken}); code != 200 {
		t.Fatalf("bearer: %d", code)
	}
	if code, _, _ := do(t, anon, "GET", srv.URL+"/api/jobs", "", map[string]string{"Authorization": "Bearer " + testToken + "x"}); code != http.StatusUnauthorized {
		t.Fatalf("wrong bearer: %d", code)
	}
	do(t, c, "POST", srv.URL+"/api/logout", "", nil)
	if code, _, _ := do(t, c, "GET", srv.URL+"/api/jobs", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", code)
	}
}

func TestWebLoginThrottle(t *testing.T) {
	_, srv := webServer(t)
	c := &http.Client{}
	last := 0
	for i := 0; i < 25; i++ {
		last, _, _ = do(t, c, "POST", srv.URL+"/api/login", `{"token":"guess"}`, nil)
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("after 25 wrong tokens: %d", last)
	}
	// even the right token waits
	if code, _, _ := do(t, c, "POST", srv.URL+"/api/login", `{"token":"`+testToken+`"}`, nil); code != http.StatusTooManyRequests {
		t.Fatalf("right token while throttled: %d", code)
	}
	if _, err := NewWeb(WebOptions{}); err == nil {
		t.Fatal("web pendant without a token")
	}
}
