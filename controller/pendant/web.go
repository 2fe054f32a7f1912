package pendant

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"fabcell/controller"
	"fabcell/controller/ops"
)

//go:embed static
var staticFS embed.FS

// SessionCookie is the web pendant's session cookie.
const SessionCookie = "fabcell_session"

// sessionTTL is how long a web login lasts.
const sessionTTL = 12 * time.Hour

// WebOptions configure the web pendant.
type WebOptions struct {
	Jobs ops.Jobs
	Hub  *Hub
	Cell string
	// Token protects the page and its API (required, non-empty).
	Token string
	// UpdateHz bounds the live updates pushed to each page.
	UpdateHz float64
	// DryRun is shown on the page.
	DryRun bool
	Log    *slog.Logger
}

// Web is the web pendant: a page (embedded HTML + script) with the job
// list, start/pause/resume/abort buttons, live status over server-sent
// events and the toolpath plot of the run report.
//
// Routes (everything but the page shell, its static files and the login
// needs a session cookie or an "Authorization: Bearer <token>" header):
//
//	GET  /                         the page
//	POST /api/login                {"token": "..."} → session cookie
//	POST /api/logout
//	GET  /api/jobs                 {"cell", "dry_run", "jobs": [JobInfo…], "view": View}
//	POST /api/jobs/{id}/{start|pause|resume|abort}   (header X-Fabcell: 1)
//	GET  /api/events               text/event-stream: "jobs", "view", "note" events
//	GET  /reports/{id}/{file}      the job's run report files (toolpath.png, report.html, …)
//
// The token is compared in constant time (of SHA-256 digests, so its
// length does not leak) and never logged; cookies are HttpOnly,
// SameSite=Strict; state-changing requests also need the X-Fabcell header,
// which a cross-site form cannot send.
type Web struct {
	opts   WebOptions
	digest [32]byte
	log    *slog.Logger
	mux    *http.ServeMux

	mu       sync.Mutex
	sessions map[string]time.Time
	fails    []time.Time
}

// NewWeb builds the web pendant handler.
func NewWeb(opts WebOptions) (*Web, error) {
	if opts.Token == "" {
		return nil, errors.New("pendant: the web page needs a token")
	}
	if opts.UpdateHz <= 0 {
		opts.UpdateHz = 5
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	w := &Web{opts: opts, digest: sha256.Sum256([]byte(opts.Token)), log: opts.Log.With("component", "web"), sessions: map[string]time.Time{}}
	sub, _ := fs.Sub(staticFS, "static")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", w.page)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServer(http.FS(sub))))
	mux.HandleFunc("POST /api/login", w.login)
	mux.HandleFunc("POST /api/logout", w.logout)
	mux.HandleFunc("GET /api/jobs", w.auth(w.jobs))
	mux.HandleFunc("POST /api/jobs/{id}/{verb}", w.auth(w.command))
	mux.HandleFunc("GET /api/events", w.auth(w.events))
	mux.HandleFunc("GET /reports/{id}/{file}", w.auth(w.report))
	w.mux = mux
	return w, nil
}

// ServeHTTP implements http.Handler.
func (w *Web) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	h := rw.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	w.mux.ServeHTTP(rw, r)
}

func (w *Web) page(rw http.ResponseWriter, r *http.Request) {
	data, err := staticFS.ReadFile("static/index.html")
	if err != nil {
		http.Error(rw, "page missing", http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = rw.Write(data)
}

// tokenOK compares a presented token with the configured one in constant
// time.
func (w *Web) tokenOK(tok string) bool {
	d := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(d[:], w.digest[:]) == 1
}

// authorized checks the session cookie or bearer token.
func (w *Web) authorized(r *http.Request) (bool, bool) {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return w.tokenOK(strings.TrimPrefix(h, "Bearer ")), true
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return false, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	exp, ok := w.sessions[c.Value]
	if !ok || time.Now().After(exp) {
		delete(w.sessions, c.Value)
		return false, false
	}
	return true, false
}

func (w *Web) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		ok, bearer := w.authorized(r)
		if !ok {
			writeJSON(rw, http.StatusUnauthorized, map[string]string{"error": "log in with the web token"})
			return
		}
		if r.Method == http.MethodPost && !bearer && r.Header.Get("X-Fabcell") != "1" {
			writeJSON(rw, http.StatusForbidden, map[string]string{"error": "missing X-Fabcell header"})
			return
		}
		next(rw, r)
	}
}

func (w *Web) login(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		Token string `json:"token"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, 4096))
	if err != nil || json.Unmarshal(body, &req) != nil {
		writeJSON(rw, http.StatusBadRequest, map[string]string{"error": `send {"token": "..."}`})
		return
	}
	now := time.Now()
	w.mu.Lock()
	recent := w.fails[:0]
	for _, t := range w.fails {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	w.fails = recent
	throttled := len(w.fails) >= 20
	w.mu.Unlock()
	if throttled {
		writeJSON(rw, http.StatusTooManyRequests, map[string]string{"error": "too many failed logins; wait a minute"})
		return
	}
	if !w.tokenOK(req.Token) {
		w.mu.Lock()
		w.fails = append(w.fails, now)
		w.mu.Unlock()
		w.log.Warn("web login refused: wrong token", "remote", r.RemoteAddr)
		writeJSON(rw, http.StatusUnauthorized, map[string]string{"error": "wrong token"})
		return
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		writeJSON(rw, http.StatusInternalServerError, map[string]string{"error": "no randomness"})
		return
	}
	id := hex.EncodeToString(b[:])
	w.mu.Lock()
	for k, exp := range w.sessions {
		if now.After(exp) {
			delete(w.sessions, k)
		}
	}
	if len(w.sessions) >= 1000 { // bound memory: drop the oldest
		var oldest string
		for k, exp := range w.sessions {
			if oldest == "" || exp.Before(w.sessions[oldest]) {
				oldest = k
			}
		}
		delete(w.sessions, oldest)
	}
	w.sessions[id] = now.Add(sessionTTL)
	w.mu.Unlock()
	http.SetCookie(rw, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL.Seconds()), Secure: r.TLS != nil})
	w.log.Info("web login", "remote", r.RemoteAddr)
	writeJSON(rw, http.StatusOK, map[string]string{"ok": "logged in"})
}

func (w *Web) logout(rw http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		w.mu.Lock()
		delete(w.sessions, c.Value)
		w.mu.Unlock()
	}
	http.SetCookie(rw, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	writeJSON(rw, http.StatusOK, map[string]string{"ok": "logged out"})
}

// jobView is a job as the page shows it.
type jobView struct {
	controller.JobInfo
	// Plots lists the run report's images (toolpath.png first), served
	// under /reports/<id>/.
	Plots      []string `json:"plots,omitempty"`
	ReportHTML bool     `json:"report_html,omitempty"`
}

func (w *Web) snapshot() map[string]any {
	jobs := w.opts.Jobs.Jobs()
	out := make([]jobView, 0, len(jobs))
	for _, j := range jobs {
		j.Model = filepath.Base(j.Model)
		v := jobView{JobInfo: j}
		if dir := reportDir(j); dir != "" {
			v.Plots, v.ReportHTML = listReport(dir)
		}
		v.Report = "" // server path, not for the page
		out = append(out, v)
	}
	return map[string]any{"cell": w.opts.Cell, "dry_run": w.opts.DryRun, "jobs": out, "view": w.opts.Hub.CurrentView()}
}

func (w *Web) jobs(rw http.ResponseWriter, r *http.Request) {
	writeJSON(rw, http.StatusOK, w.snapshot())
}

func (w *Web) command(rw http.ResponseWriter, r *http.Request) {
	id, verb := r.PathValue("id"), r.PathValue("verb")
	switch verb {
	case "start", "pause", "resume":
	case "abort":
		verb = ops.Cancel
	default:
		writeJSON(rw, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("unknown command %q (start, pause, resume, abort)", clip(verb, 30))})
		return
	}
	info, err := w.opts.Jobs.Job(id)
	if err != nil {
		writeJSON(rw, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no job %q", clip(id, 64))})
		return
	}
	reason := ""
	if verb == ops.Cancel {
		reason = "aborted from the web pendant"
	}
	msg, err := ops.Apply(w.opts.Jobs, info, verb, reason, "web pendant")
	if err != nil {
		writeJSON(rw, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	w.log.Info("web command", "job", id, "command", verb, "remote", r.RemoteAddr, "result", msg)
	writeJSON(rw, http.StatusOK, map[string]string{"ok": msg})
}

// events streams server-sent events: "jobs" (the snapshot of /api/jobs)
// when jobs change, "view" when telemetry changes, "note" for errors and
// refusals; at most pendant.web_update_hz per stream, plus a comment every
// 15 s to keep proxies from closing the stream.
func (w *Web) events(rw http.ResponseWriter, r *http.Request) {
	fl, ok := rw.(http.Flusher)
	if !ok {
		http.Error(rw, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/event-stream")
	rw.Header().Set("X-Accel-Buffering", "no")
	period := time.Duration(float64(time.Second) / w.opts.UpdateHz)
	send := func(event string, v any) bool {
		data, err := json.Marshal(v)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(rw, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	var lastJobs, lastTel uint64
	var lastNote uint64
	if notes := w.opts.Hub.NotesAfter(0); len(notes) > 0 {
		lastNote = notes[len(notes)-1].Seq // only new notes
	}
	first := true
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		wake, jv, tv := w.opts.Hub.Changed()
		if first || jv != lastJobs {
			if !send("jobs", w.snapshot()) {
				return
			}
			lastJobs = jv
		}
		if first || tv != lastTel {
			if !send("view", w.opts.Hub.CurrentView()) {
				return
			}
			lastTel = tv
		}
		for _, n := range w.opts.Hub.NotesAfter(lastNote) {
			if !send("note", n) {
				return
			}
			lastNote = n.Seq
		}
		first = false
		select {
		case <-r.Context().Done():
			return
		case <-keep.C:
			if _, err := io.WriteString(rw, ": keep-alive\n\n"); err != nil {
				return
			}
			fl.Flush()
			continue
		case <-wake:
		}
		// rate limit: at most one update per period
		select {
		case <-r.Context().Done():
			return
		case <-time.After(period):
		}
	}
}

var reportFile = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,100}\.(png|html|json)$`)

func (w *Web) report(rw http.ResponseWriter, r *http.Request) {
	id, file := r.PathValue("id"), r.PathValue("file")
	info, err := w.opts.Jobs.Job(id)
	if err != nil {
		http.NotFound(rw, r)
		return
	}
	dir := reportDir(info)
	if dir == "" || !reportFile.MatchString(file) {
		http.NotFound(rw, r)
		return
	}
	p := filepath.Join(dir, file)
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(rw, r)
		return
	}
	if strings.HasSuffix(file, ".html") {
		// the report page loads its images relative to itself
		rw.Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'")
	}
	http.ServeFile(rw, r, p)
}

// reportDir is the directory of a job's run report ("" = none yet).
func reportDir(j controller.JobInfo) string {
	if j.Report == "" {
		return ""
	}
	return filepath.Dir(j.Report)
}

// listReport lists the report's PNG plots (toolpath.png first) and whether
// report.html exists.
func listReport(dir string) (plots []string, html bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, false
	}
	for _, e := range entries {
		n := e.Name()
		switch {
		case n == "report.html":
			html = true
		case strings.HasSuffix(n, ".png") && reportFile.MatchString(n):
			if n == "toolpath.png" {
				plots = append([]string{n}, plots...)
			} else {
				plots = append(plots, n)
			}
		}
	}
	return plots, html
}

func writeJSON(rw http.ResponseWriter, code int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(code)
	_ = json.NewEncoder(rw).Encode(v)
}
