package controller

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"sort"
	"time"

	"fabcell/planners"
)

// Report is the run report written at the end of every job (JSON, plus an
// HTML page with PNG plots next to it).
type Report struct {
	Job         JobSpec              `json:"job"`
	State       State                `json:"state"`
	Reason      string               `json:"reason,omitempty"`
	Planner     string               `json:"planner"`
	Metrics     map[string]float64   `json:"metrics"`
	History     []Transition         `json:"history"`
	Lead        []LeadSample         `json:"lead"`
	Steps       []StepSample         `json:"steps"`
	Series      map[string][]float64 `json:"series,omitempty"`
	Plots       []string             `json:"plots,omitempty"`
	GeneratedAt time.Time            `json:"generated_at"`
}

func (r *runner) writeReport(metrics map[string]float64) (string, error) {
	dir := filepath.Join(r.cell.Controller.ReportDir, r.j.spec.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	st, reason := r.j.sm.State()
	r.mu.Lock()
	rep := Report{
		Job: r.j.spec, State: st, Reason: reason, Planner: r.cell.Planner.Name, Metrics: metrics,
		History: r.j.sm.History(), Lead: append([]LeadSample(nil), r.leadSeries...),
		Steps: append([]StepSample(nil), r.stepSeries...), Series: r.ad.Series(), GeneratedAt: time.Now().UTC(),
	}
	r.mu.Unlock()

	var plots []string
	save := func(name string, c Chart) {
		var buf bytes.Buffer
		if err := c.WritePNG(&buf); err != nil {
			return
		}
		if os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644) == nil {
			plots = append(plots, name)
		}
	}
	if len(rep.Lead) > 0 {
		xs, ys := make([]float64, len(rep.Lead)), make([]float64, len(rep.Lead))
		for i, l := range rep.Lead {
			xs[i], ys[i] = l.T, float64(l.Lead)
		}
		save("lead.png", Chart{Title: "planner lead over execution", XLabel: "time since start (s)", YLabel: "moves", Series: []Series{{Name: "lead (moves planned, not executed)", X: xs, Y: ys}}})
	}
	for _, k := range sortedKeys(rep.Series) {
		ys := rep.Series[k]
		xs := make([]float64, len(ys))
		for i := range xs {
			xs[i] = float64(i)
		}
		save("series-"+k+".png", Chart{Title: k + " over the sequence", XLabel: "move", YLabel: k, Series: []Series{{Name: k, X: xs, Y: ys}}})
	}
	// The process's own toolpath plot, when it has one.
	if ap, ok := r.env.Process.(planners.ArtifactProvider); ok {
		for _, a := range ap.Artifacts() {
			if a.Name != "plot" {
				continue
			}
			moves := r.ackedMoveList()
			if len(moves) == 0 {
				break
			}
			sess, err := r.env.Process.NewSession(r.env.Graph)
			if err != nil {
				break
			}
			if _, err := planners.Replay(sess, planners.PathOf(moves)); err != nil {
				break
			}
			var buf bytes.Buffer
			res := &planners.Result{Process: r.j.spec.Process, Planner: r.cell.Planner.Name, Model: r.j.spec.Model, Graph: r.env.Graph, Session: sess, Moves: moves, Metrics: metrics, Config: r.cell}
			if err := a.Write(&buf, res); err == nil && os.WriteFile(filepath.Join(dir, "toolpath.png"), buf.Bytes(), 0o644) == nil {
				plots = append(plots, "toolpath.png")
			}
		}
	}
	rep.Plots = plots
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", err
	}
	jp := filepath.Join(dir, "report.json")
	if err := os.WriteFile(jp, data, 0o644); err != nil {
		return "", err
	}
	var html bytes.Buffer
	keys := make([]string, 0, len(metrics))
	for k := range metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if err := reportHTML.Execute(&html, map[string]any{"R": rep, "Keys": keys}); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.html"), html.Bytes(), 0o644); err != nil {
		return "", err
	}
	return jp, nil
}

// ackedMoveList reads the acknowledged moves back from the journal.
func (r *runner) ackedMoveList() []planners.Move {
	rec, err := ReadJournal(r.jr.Path())
	if err != nil {
		return nil
	}
	return rec.Acked
}

var reportHTML = template.Must(template.New("report").Funcs(template.FuncMap{
	"f": func(v float64) string { return fmt.Sprintf("%.6g", v) },
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>fabcell run {{.R.Job.ID}}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:60em} td,th{padding:2px 10px;text-align:left} img{max-width:100%;border:1px solid #ddd;margin:6px 0}</style></head>
<body>
<h1>Run report: {{.R.Job.ID}}</h1>
<p>Process <b>{{.R.Job.Process}}</b>, planner <b>{{.R.Planner}}</b>, model <code>{{.R.Job.Model}}</code>.</p>
<p>Final state: <b>{{.R.State}}</b>{{if .R.Reason}} — {{.R.Reason}}{{end}}</p>
<h2>Metrics</h2>
<table>{{range .Keys}}<tr><th>{{.}}</th><td>{{f (index $.R.Metrics .)}}</td></tr>{{end}}</table>
<h2>Plots</h2>
{{range .R.Plots}}<div><img src="{{.}}" alt="{{.}}"></div>{{end}}
<h2>State history</h2>
<table><tr><th>at</th><th>from</th><th>to</th><th>reason</th></tr>
{{range .R.History}}<tr><td>{{.At.Format "15:04:05.000"}}</td><td>{{.From}}</td><td>{{.To}}</td><td>{{.Reason}}</td></tr>{{end}}</table>
</body></html>
`))
