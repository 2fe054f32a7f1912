package pendant

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"fabcell/controller"
)

// call posts a hand-written XML-RPC request the way the UR controller's
// rpc_factory("xmlrpc", ...) client does and returns the raw answer.
func call(t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "URControl XML-RPC")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// methodCall writes the request body of a call with string or int params.
func methodCall(method string, params ...any) string {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n<methodCall>\n<methodName>" + method + "</methodName>\n<params>\n")
	for _, p := range params {
		switch v := p.(type) {
		case string:
			fmt.Fprintf(&b, "<param><value><string>%s</string></value></param>\n", v)
		case int:
			fmt.Fprintf(&b, "<param><value><i4>%d</i4></value></param>\n", v)
		}
	}
	b.WriteString("</params>\n</methodCall>\n")
	return b.String()
}

// result decodes a methodResponse: the string or int it carries, or the
// fault.
func result(t *testing.T, body string) (s string, n int, fault string) {
	t.Helper()
	r := parseResponse(t, []byte(body))
	if r.Fault != nil {
		var code, msg string
		for _, m := range r.Fault.Members {
			if m.Name == "faultString" && m.Value.String != nil {
				msg = *m.Value.String
			}
			if m.Name == "faultCode" && m.Value.Int != nil {
				code = *m.Value.Int
			}
		}
		return "", 0, code + " " + msg
	}
	if r.Param == nil {
		t.Fatalf("response without a value: %s", body)
	}
	if r.Param.String != nil {
		return *r.Param.String, 0, ""
	}
	if r.Param.Int != nil {
		fmt.Sscan(*r.Param.Int, &n)
		return "", n, ""
	}
	t.Fatalf("unexpected response %s", body)
	return
}

func TestPendantRPCDryRun(t *testing.T) {
	mgr, hub, cell := dryRun(t)
	rpc, err := NewRPC(mgr, hub, cell.Name, []string{"127.0.0.1", "::1"}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rpc)
	defer srv.Close()
	url := srv.URL + "/RPC2"
	str := func(method string, params ...any) string {
		t.Helper()
		code, body := call(t, url, methodCall(method, params...))
		s, _, f := result(t, body)
		if code != 200 || f != "" {
			t.Fatalf("%s: HTTP %d fault %q", method, code, f)
		}
		return s
	}
	num := func(method string) int {
		t.Helper()
		_, body := call(t, url, methodCall(method))
		_, n, f := result(t, body)
		if f != "" {
			t.Fatalf("%s: fault %q", method, f)
		}
		return n
	}
	if got := str("ping"); got != "fabcell "+cell.Name {
		t.Fatalf("ping %q", got)
	}
	if got := str("status"); got != "idle: no job" {
		t.Fatalf("idle status %q", got)
	}
	if got := str("pause"); !strings.HasPrefix(got, "error: no active job") {
		t.Fatalf("pause without a job: %q", got)
	}
	for _, id := range []string{"frame", "second"} {
		if _, _, err := mgr.Submit(controller.JobSpec{ID: id, Process: "travel", Model: model(t, "assembly_instances/four-frame.json")}); err != nil {
			t.Fatal(err)
		}
	}
	if got := str("list_jobs"); got != "frame queued 0%; second queued 0%" {
		t.Fatalf("list_jobs %q", got)
	}
	if n := num("job_count"); n != 2 {
		t.Fatalf("job_count %d", n)
	}
	if got := str("job_id", 1); got != "second" {
		t.Fatalf("job_id(1) %q", got)
	}
	if got := str("job_id", 7); got != "" {
		t.Fatalf("job_id(7) %q", got)
	}
	if got := str("next_job"); got != "frame" {
		t.Fatalf("next_job %q", got)
	}
	if got := str("job_state", "second"); got != "queued" {
		t.Fatalf("job_state %q", got)
	}
	if got := str("job_state", "ghost"); got != "unknown" {
		t.Fatalf("job_state of an unknown job %q", got)
	}
	if got := str("start_job", "nope"); got != `error: no job "nope"` {
		t.Fatalf("start unknown: %q", got)
	}
	if got := str("start_job", "frame"); !strings.HasPrefix(got, "ok: job frame started") {
		t.Fatalf("start_job %q", got)
	}
	info := waitJob(t, mgr, "frame", time.Minute, func(i controller.JobInfo) bool { return i.State.Terminal() })
	if info.State != controller.Completed {
		t.Fatalf("frame %s: %s", info.State, info.Reason)
	}
	if got := str("state"); got != "completed" {
		t.Fatalf("state %q", got)
	}
	if got := str("job_status", "frame"); !strings.HasPrefix(got, "frame completed 100%") {
		t.Fatalf("job_status %q", got)
	}
	if n := num("progress"); n != 100 {
		t.Fatalf("progress %d", n)
	}
	if n := num("step"); n != info.StepsDone || n == 0 {
		t.Fatalf("step %d, job did %d", n, info.StepsDone)
	}
	if got := str("status"); !strings.HasPrefix(got, "frame completed 100% step ") {
		t.Fatalf("status %q", got)
	}
	if got := str("start_job", "frame"); !strings.HasPrefix(got, "error: job frame is completed") {
		t.Fatalf("restart a completed job: %q", got)
	}
	// start_job("") starts the next queued job; pause, resume, abort act
	// on the active job
	if got := str("start_job", ""); !strings.Contains(got, "job second started") {
		t.Fatalf("start next: %q", got)
	}
	waitJob(t, mgr, "second", time.Minute, func(i controller.JobInfo) bool { return i.State == controller.Running || i.State.Terminal() })
	if got := str("pause"); !strings.HasPrefix(got, "ok:") && !strings.Contains(got, "already completed") {
		t.Fatalf("pause %q", got)
	}
	if i, _ := mgr.Job("second"); !i.State.Terminal() {
		waitJob(t, mgr, "second", 30*time.Second, func(i controller.JobInfo) bool { return i.State == controller.Paused })
		if got := str("status"); !strings.Contains(got, "second paused") {
			t.Fatalf("status while paused %q", got)
		}
		if got := str("resume"); !strings.HasPrefix(got, "ok:") {
			t.Fatalf("resume %q", got)
		}
		waitJob(t, mgr, "second", 30*time.Second, func(i controller.JobInfo) bool { return i.State != controller.Paused })
		if got := str("abort"); !strings.HasPrefix(got, "ok:") && !strings.HasPrefix(got, "error: no active job") {
			t.Fatalf("abort %q", got)
		}
		info := waitJob(t, mgr, "second", 30*time.Second, func(i controller.JobInfo) bool { return i.State.Terminal() })
		if info.State == controller.Aborted && info.Reason != "aborted from the teach pendant" {
			t.Fatalf("abort reason %q", info.Reason)
		}
	}
}

// TestPendantRPCProtocolErrors: faults for malformed XML, unknown methods
// and wrong parameters; HTTP errors for wrong methods, paths and sizes.
func TestPendantRPCProtocolErrors(t *testing.T) {
	mgr, hub, cell := dryRun(t)
	rpc, _ := NewRPC(mgr, hub, cell.Name, []string{"127.0.0.0/8"}, quietLog())
	srv := httptest.NewServer(rpc)
	defer srv.Close()
	url := srv.URL + "/RPC2"
	faults := []struct{ name, body, want string }{
		{"malformed XML", `<methodCall><methodName>status</methodName`, "-32700 malformed XML"},
		{"not a call", `<?xml version="1.0"?><methodResponse/>`, "-32600"},
		{"unknown method", methodCall("get_next_pose"), "-32601 unknown method \"get_next_pose\""},
		{"pose to unknown method", `<?xml version="1.0"?><methodCall><methodName>send_pose</methodName><params><param><value><struct><member><name>x</name><value><double>0.1</double></value></member></struct></value></param></params></methodCall>`, "-32601"},
		{"missing argument", methodCall("start_job"), "-32602 start_job expects 1 string (job id), got 0"},
		{"extra argument", methodCall("status", "x"), "-32602 status expects no parameters"},
		{"wrong type", `<methodCall><methodName>start_job</methodName><params><param><value><double>1.5</double></value></param></params></methodCall>`, "-32602 start_job expects a string job id, got a double"},
		{"job_id wants int", methodCall("job_id", "x"), "-32602 job_id expects an integer"},
		{"entity expansion", `<!DOCTYPE lol [<!ENTITY a "aaaa">]><methodCall><methodName>&a;</methodName></methodCall>`, "-32600 DOCTYPE"},
		{"oversize", "<methodCall><methodName>" + strings.Repeat("a", MaxRPCBytes) + "</methodName></methodCall>", "-32600 request larger"},
	}
	for _, f := range faults {
		code, body := call(t, url, f.body)
		_, _, fault := result(t, body)
		if code != 200 || !strings.HasPrefix(fault, f.want) {
			t.Errorf("%s: HTTP %d fault %q, want %q", f.name, code, fault, f.want)
		}
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	if code, _ := call(t, srv.URL+"/other", methodCall("ping")); code != http.StatusNotFound {
		t.Errorf("wrong path: %d", code)
	}
	if len(mgr.Jobs()) != 0 {
		t.Fatal("a malformed call created a job")
	}
}

// TestPendantRPCRefusedClient: a client outside pendant.allowed_clients
// gets HTTP 403 and nothing runs.
func TestPendantRPCRefusedClient(t *testing.T) {
	mgr, hub, cell := dryRun(t)
	mgr.Submit(controller.JobSpec{ID: "frame", Process: "travel", Model: model(t, "assembly_instances/four-frame.json")})
	rpc, _ := NewRPC(mgr, hub, cell.Name, []string{"192.168.56.101"}, quietLog()) // the robot, not us
	srv := httptest.NewServer(rpc)
	defer srv.Close()
	code, body := call(t, srv.URL+"/RPC2", methodCall("start_job", "frame"))
	if code != http.StatusForbidden || !strings.Contains(body, "allowed_clients") {
		t.Fatalf("HTTP %d %q", code, body)
	}
	time.Sleep(50 * time.Millisecond)
	if info, _ := mgr.Job("frame"); info.State != controller.Queued {
		t.Fatalf("refused client started the job: %s", info.State)
	}
	_ = xml.Name{}
}
