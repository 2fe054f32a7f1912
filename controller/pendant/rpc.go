package pendant

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"fabcell/controller"
	"fabcell/controller/ops"
)

// MaxRPCBytes bounds an XML-RPC request body (URScript calls are tiny).
const MaxRPCBytes = 64 << 10

// RPC is the teach-pendant XML-RPC server (mounted at /RPC2). A URScript
// program on the UR controller calls it with
//
//	rpc = rpc_factory("xmlrpc", "http://<controller>:<port>/RPC2")
//
// Methods and return types (all URScript-friendly: strings and ints):
//
//	ping()            string  "fabcell <cell>"
//	list_jobs()       string  "femur queued 0%; duck completed 100%" ("" = none)
//	job_count()       int
//	job_id(i)         string  id of job i (0-based, submission order; "" out of range)
//	next_job()        string  oldest queued job ("" = none)
//	job_state(id)     string  the job's state, "unknown" if there is no such job
//	job_status(id)    string  like status(), for that job
//	start_job(id)     string  "ok: …" or "error: …"; id "" = next_job()
//	pause()           string  "ok: …" or "error: …" (the active job)
//	resume()          string  "ok: …" or "error: …"
//	abort()           string  "ok: …" or "error: …"
//	status()          string  "femur running 42% step 120, lead 8, nozzle 210.0°C, safety NORMAL"
//	state()           string  queued|planning|running|paused|completed|aborted|failed|idle
//	progress()        int     percent of the active (else latest) job, 0..100
//	step()            int     steps done
//	planner_lead()    int     moves planned ahead of execution
//	system.listMethods()  array of strings
//
// Command methods report refusals as "error: …" strings rather than
// faults, because a fault stops the pendant program; faults are kept for
// protocol errors (malformed XML -32700, not a methodCall -32600, unknown
// method -32601, wrong parameters -32602). Requests from addresses not in
// the allow list get HTTP 403 and are logged.
type RPC struct {
	jobs    ops.Jobs
	hub     *Hub
	cell    string
	allowed []netip.Prefix
	log     *slog.Logger
}

// NewRPC builds the server; allowed lists IPs or CIDRs
// (pendant.allowed_clients).
func NewRPC(jobs ops.Jobs, hub *Hub, cell string, allowed []string, log *slog.Logger) (*RPC, error) {
	if log == nil {
		log = slog.Default()
	}
	nets, err := ParseAllowList(allowed)
	if err != nil {
		return nil, fmt.Errorf("pendant.allowed_clients: %w", err)
	}
	return &RPC{jobs: jobs, hub: hub, cell: cell, allowed: nets, log: log.With("component", "xmlrpc")}, nil
}

// ParseAllowList parses IPs and CIDRs.
func ParseAllowList(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP nor a CIDR", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Allowed reports whether remote (host:port) is in the allow list.
func Allowed(list []netip.Prefix, remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

var rpcMethods = []string{"ping", "list_jobs", "job_count", "job_id", "next_job", "job_state", "job_status", "start_job", "pause", "resume", "abort",
	"status", "state", "progress", "step", "planner_lead", "system.listMethods"}

// ServeHTTP implements http.Handler.
func (s *RPC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !Allowed(s.allowed, r.RemoteAddr) {
		s.log.Warn("XML-RPC request refused: client not in pendant.allowed_clients", "remote", r.RemoteAddr)
		http.Error(w, "forbidden: this address is not in pendant.allowed_clients", http.StatusForbidden)
		return
	}
	if r.URL.Path != "/RPC2" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "XML-RPC needs POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRPCBytes))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			s.reply(w, "", nil, &Fault{FaultInvalidRequest, fmt.Sprintf("request larger than %d bytes", MaxRPCBytes)})
			return
		}
		s.reply(w, "", nil, &Fault{FaultParse, "reading the request: " + err.Error()})
		return
	}
	call, err := DecodeCall(bytes.NewReader(body))
	if err != nil {
		var f *Fault
		if !errors.As(err, &f) {
			f = &Fault{FaultParse, err.Error()}
		}
		s.log.Warn("XML-RPC request refused", "remote", r.RemoteAddr, "fault", f.String)
		s.reply(w, "", nil, f)
		return
	}
	v, ferr := s.call(call)
	s.reply(w, call.Method, v, ferr)
}

func (s *RPC) reply(w http.ResponseWriter, method string, v any, f *Fault) {
	var buf bytes.Buffer
	if f == nil {
		if err := EncodeResponse(&buf, v); err != nil {
			f = &Fault{FaultInternal, err.Error()}
		}
	}
	if f != nil {
		buf.Reset()
		_ = EncodeFault(&buf, f)
	}
	_, _ = w.Write(buf.Bytes())
}

func nargs(c Call, n int, what string) *Fault {
	if len(c.Params) != n {
		return &Fault{FaultInvalidParams, fmt.Sprintf("%s expects %s, got %d parameter(s)", c.Method, what, len(c.Params))}
	}
	return nil
}

// call dispatches one method.
func (s *RPC) call(c Call) (any, *Fault) {
	switch c.Method {
	case "ping", "list_jobs", "job_count", "next_job", "pause", "resume", "abort", "status", "state", "progress", "step", "planner_lead", "system.listMethods":
		if f := nargs(c, 0, "no parameters"); f != nil {
			return nil, f
		}
	}
	switch c.Method {
	case "system.listMethods":
		return rpcMethods, nil
	case "ping":
		return "fabcell " + s.cell, nil
	case "list_jobs":
		var parts []string
		for _, j := range s.jobs.Jobs() {
			parts = append(parts, fmt.Sprintf("%s %s %d%%", j.ID, j.State, pct(j.Progress)))
		}
		return strings.Join(parts, "; "), nil
	case "job_count":
		return len(s.jobs.Jobs()), nil
	case "job_id":
		if f := nargs(c, 1, "1 integer (job index)"); f != nil {
			return nil, f
		}
		i, ok := c.Params[0].(int64)
		if !ok {
			return nil, &Fault{FaultInvalidParams, fmt.Sprintf("job_id expects an integer, got %s", typeName(c.Params[0]))}
		}
		jobs := s.jobs.Jobs()
		if i < 0 || i >= int64(len(jobs)) {
			return "", nil
		}
		return jobs[i].ID, nil
	case "next_job":
		return nextQueued(s.jobs), nil
	case "job_state", "job_status":
		if f := nargs(c, 1, "1 string (job id)"); f != nil {
			return nil, f
		}
		id, ok := c.Params[0].(string)
		if !ok {
			return nil, &Fault{FaultInvalidParams, fmt.Sprintf("%s expects a string job id, got %s", c.Method, typeName(c.Params[0]))}
		}
		info, err := s.jobs.Job(strings.TrimSpace(id))
		if err != nil {
			if c.Method == "job_state" {
				return "unknown", nil
			}
			return fmt.Sprintf("no job %q", clip(id, 64)), nil
		}
		if c.Method == "job_state" {
			return string(info.State), nil
		}
		return s.hub.ViewOf(info).String(), nil
	case "start_job":
		if f := nargs(c, 1, "1 string (job id)"); f != nil {
			return nil, f
		}
		var id string
		switch v := c.Params[0].(type) {
		case string:
			id = strings.TrimSpace(v)
		case int64:
			id = fmt.Sprint(v)
		default:
			return nil, &Fault{FaultInvalidParams, fmt.Sprintf("start_job expects a string job id, got %s", typeName(v))}
		}
		if id == "" {
			if id = nextQueued(s.jobs); id == "" {
				return "error: no queued job to start", nil
			}
		}
		return s.command(id, ops.Start), nil
	case "pause", "resume", "abort":
		cur, ok := ops.Current(s.jobs)
		if !ok {
			return "error: no active job", nil
		}
		verb := c.Method
		if verb == "abort" {
			verb = ops.Cancel
		}
		return s.command(cur.ID, verb), nil
	case "status":
		return s.hub.CurrentView().String(), nil
	case "state":
		return string(s.hub.CurrentView().State), nil
	case "progress":
		return s.hub.CurrentView().ProgressPct, nil
	case "step":
		return s.hub.CurrentView().Step, nil
	case "planner_lead":
		return s.hub.CurrentView().PlannerLead, nil
	}
	return nil, &Fault{FaultUnknownMethod, fmt.Sprintf("unknown method %q (known: %s)", clip(c.Method, 60), strings.Join(rpcMethods, ", "))}
}

// command runs a job command and words the result for the pendant.
func (s *RPC) command(id, verb string) string {
	info, err := s.jobs.Job(id)
	if err != nil {
		return fmt.Sprintf("error: no job %q", clip(id, 64))
	}
	reason := ""
	if verb == ops.Cancel {
		reason = "aborted from the teach pendant"
	}
	msg, err := ops.Apply(s.jobs, info, verb, reason, "teach pendant")
	if err != nil {
		s.log.Info("pendant command refused", "job", id, "command", verb, "err", err)
		return "error: " + err.Error()
	}
	s.log.Info("pendant command", "job", id, "command", verb, "result", msg)
	return "ok: " + msg
}

// nextQueued returns the oldest queued job's id ("" none).
func nextQueued(jobs ops.Jobs) string {
	for _, j := range jobs.Jobs() {
		if j.State == controller.Queued {
			return j.ID
		}
	}
	return ""
}

func typeName(v any) string {
	switch v.(type) {
	case int64:
		return "an integer"
	case float64:
		return "a double"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "a struct"
	case nil:
		return "nil"
	}
	return fmt.Sprintf("%T", v)
}
