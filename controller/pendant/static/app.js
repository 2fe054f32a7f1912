// fabcell web pendant: job list, commands, live status over server-sent
// events. No framework; the server sends JSON snapshots.
"use strict";

const $ = (id) => document.getElementById(id);
let source = null;

function show(loggedIn) {
  $("login").hidden = loggedIn;
  $("app").hidden = !loggedIn;
  $("logout").hidden = !loggedIn;
}

function setConn(on) {
  const c = $("conn");
  c.textContent = on ? "live" : "offline";
  c.className = "conn " + (on ? "on" : "off");
}

async function api(path, opts = {}) {
  opts.headers = Object.assign({ "X-Fabcell": "1" }, opts.headers || {});
  opts.credentials = "same-origin";
  const r = await fetch(path, opts);
  let body = {};
  try { body = await r.json(); } catch (e) { /* empty */ }
  return { status: r.status, body };
}

function fmtETA(s) {
  if (!s || s <= 0) return "–";
  if (s < 60) return Math.round(s) + " s";
  if (s < 3600) return Math.round(s / 60) + " min";
  return (s / 3600).toFixed(1) + " h";
}

function renderView(v) {
  $("v-job").textContent = v.job || "–";
  const st = $("v-state");
  st.textContent = v.state || "idle";
  st.className = "state s-" + (v.state || "idle");
  $("v-progress").value = v.progress_pct || 0;
  $("v-pct").textContent = (v.progress_pct || 0) + "%";
  $("v-step").textContent = v.step || 0;
  $("v-lead").textContent = v.planner_lead || 0;
  $("v-eta").textContent = fmtETA(v.eta_s);
  $("v-safety").textContent = v.safety || "–";
  $("v-robot").textContent = v.robot_mode || "–";
  const t = v.temperatures || {};
  const keys = Object.keys(t).sort();
  $("v-temps").textContent = keys.length ? keys.map((k) => k.replace(/_degC$/i, "") + " " + t[k].toFixed(1) + " °C").join(", ") : "–";
  $("v-reason").textContent = v.reason || "";
}

const active = (s) => s === "planning" || s === "running" || s === "paused";

function button(job, verb, label, enabled) {
  const b = document.createElement("button");
  b.textContent = label;
  b.id = verb + "-" + job.id;
  b.className = verb;
  b.dataset.job = job.id;
  b.dataset.verb = verb;
  b.disabled = !enabled;
  b.addEventListener("click", () => command(job.id, verb));
  return b;
}

function renderJobs(snap) {
  $("cell").textContent = snap.cell || "";
  $("dryrun").hidden = !snap.dry_run;
  const tbody = $("jobs").querySelector("tbody");
  tbody.textContent = "";
  const jobs = snap.jobs || [];
  $("no-jobs").hidden = jobs.length > 0;
  let plotJob = null;
  for (const j of jobs) {
    const tr = document.createElement("tr");
    tr.id = "job-" + j.id;
    const cells = [j.id, j.process, j.model, j.state, Math.floor((j.progress || 0) * 100) + "%", j.reason || ""];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (i === 3) { td.id = "state-" + j.id; td.className = "state s-" + j.state; }
      tr.appendChild(td);
    });
    const td = document.createElement("td");
    td.className = "actions";
    td.appendChild(button(j, "start", "Start", j.state === "queued"));
    td.appendChild(button(j, "pause", "Pause", j.state === "running" || j.state === "planning"));
    td.appendChild(button(j, "resume", "Resume", j.state === "paused"));
    td.appendChild(button(j, "abort", "Abort", j.state === "queued" || active(j.state)));
    tr.appendChild(td);
    tbody.appendChild(tr);
    if (j.plots && j.plots.length) plotJob = j;
  }
  renderView(snap.view || {});
  if (plotJob) {
    $("plot-panel").hidden = false;
    $("plot-job").textContent = plotJob.id;
    const src = "/reports/" + encodeURIComponent(plotJob.id) + "/" + encodeURIComponent(plotJob.plots[0]);
    if ($("plot").getAttribute("src") !== src) $("plot").setAttribute("src", src);
    const links = $("plot-links");
    links.textContent = "";
    if (plotJob.report_html) {
      const a = document.createElement("a");
      a.href = "/reports/" + encodeURIComponent(plotJob.id) + "/report.html";
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = "Run report";
      links.appendChild(a);
    }
  }
}

function addNote(n) {
  const li = document.createElement("li");
  li.textContent = new Date(n.at).toLocaleTimeString() + " " + n.job_id + " " + n.kind + ": " + n.message;
  $("notes").prepend(li);
}

async function command(id, verb) {
  const r = await api("/api/jobs/" + encodeURIComponent(id) + "/" + verb, { method: "POST" });
  $("cmd-msg").textContent = r.body.ok || r.body.error || ("HTTP " + r.status);
  $("cmd-msg").className = r.body.ok ? "msg" : "msg error";
}

function connect() {
  if (source) source.close();
  source = new EventSource("/api/events");
  source.addEventListener("open", () => setConn(true));
  source.addEventListener("error", async () => {
    setConn(false);
    const r = await api("/api/jobs");
    if (r.status === 401) { source.close(); source = null; show(false); }
  });
  source.addEventListener("jobs", (e) => renderJobs(JSON.parse(e.data)));
  source.addEventListener("view", (e) => renderView(JSON.parse(e.data)));
  source.addEventListener("note", (e) => addNote(JSON.parse(e.data)));
}

async function start() {
  const r = await api("/api/jobs");
  if (r.status === 401) { show(false); return; }
  show(true);
  renderJobs(r.body);
  connect();
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await api("/api/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: $("token").value }) });
  $("token").value = "";
  if (r.status !== 200) { $("login-error").textContent = r.body.error || ("HTTP " + r.status); return; }
  $("login-error").textContent = "";
  start();
});

$("logout").addEventListener("click", async () => {
  await api("/api/logout", { method: "POST" });
  if (source) { source.close(); source = null; }
  setConn(false);
  show(false);
});

start();
