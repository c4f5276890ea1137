"use strict";
const $ = (id) => document.getElementById(id);
const el = {
  link: $("link"), banner: $("banner"), model: $("model"), average: $("average"),
  inflight: $("inflight"), waiting: $("waiting"), limit: $("limit"), peak: $("peak"),
  arate: $("admitted-rate"), rrate: $("rejected-rate"), trate: $("timedout-rate"),
  hold: $("hold"), procs: $("procs"), routes: $("routes"), runs: $("runs"),
  totals: $("totals"), chart: $("chart"), title: $("charttitle"), lives: $("live-s"),
  rates: $("rate-s"), runcur: $("runcur"), scalenote: $("scalenote"),
  gform: $("guessform"), groute: $("g-route"), gdur: $("g-duration"), grate: $("g-rate"),
  gpeak: $("g-peak"), gfailed: $("g-failed"), gclear: $("g-clear"), gstatus: $("g-status"),
};
const FINE_KEEP_MS = 62000, COARSE_MS = 1000, COARSE_KEEP_MS = 610000;
let fine = [];     // [t_ms, in_flight, waiting], 20 ms apart
let coarse = [];   // [t_ms (second), max in_flight, min in_flight, max waiting]
let procHist = new Map(); // "host/pid" -> [[t_ms, cpu %, rss kb]]
const procId = (p) => (p.host || "") + "/" + p.pid; // pids repeat across hosts
let counters = []; // [t_ms, admitted, rejected, timed_out]
let windowS = 60, limit = 0, dirty = true, streamUp = false, daemonUp = false;
let answering = true, lastT = 0, lastT_perf = 0, historyReady = false, pending = [];
let procKeyDrawn = "";
let runsDone = -1, currentRun = null, runList = [], procKey = "", sparksDirty = true;
let logScale = false, pendingGuess = null, runsHtml = "", curHtml = "";
const RATE_MS = 10000; // the rates' window: see the note under "Now"
window.__chart = { labels: [], max: 0 };

function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

// Numbers that fit: exact below 100,000 (with the given decimals), then k and M.
function fmtNum(v, dec = 0) {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a < 1e5) return v.toFixed(dec);
  if (a < 1e6) return (v / 1e3).toFixed(a < 1e6 - 500 ? 1 : 0) + "k";
  if (a < 1e9) return (v / 1e6).toFixed(a < 1e7 ? 2 : 1) + "M";
  return (v / 1e9).toFixed(2) + "G";
}
function fmtAxis(v) {
  const a = Math.abs(v);
  if (a >= 1e6) return +(v / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return +(v / 1e3).toFixed(1) + "k";
  return String(+v.toFixed(2));
}
function fmtRate(v) { return v >= 10 ? fmtNum(v, 0) : fmtNum(v, 1); }
function fmtMs(ms, zero = false) {
  if (zero && ms === 0) return "0 ms";
  if (!(ms > 0)) return "–";
  if (ms < 1) return (ms * 1000).toFixed(0) + " µs";
  if (ms < 100) return ms.toFixed(ms < 10 ? 2 : 1) + " ms";
  if (ms < 10000) return ms.toFixed(0) + " ms";
  return (ms / 1000).toFixed(1) + " s";
}
function fmtKB(kb) {
  if (kb >= 1024 * 1024) return (kb / 1048576).toFixed(2) + " GiB";
  if (kb >= 1024) return (kb / 1024).toFixed(1) + " MiB";
  return kb + " KiB";
}
function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
}
function codes(c) {
  const ks = Object.keys(c || {});
  if (!ks.length) return "–";
  return ks.map((k) => `${k === "0" ? "other" : k}: ${fmtNum(c[k])}`).join(", ");
}

// Shrinks a .fit element's font until its text fits its box.
const baseSize = new Map();
function fit(node) {
  if (!baseSize.has(node)) baseSize.set(node, parseFloat(getComputedStyle(node).fontSize));
  let size = baseSize.get(node);
  node.style.fontSize = size + "px";
  for (let i = 0; i < 12 && node.scrollWidth > node.clientWidth + 0.5 && size > 8; i++) {
    size = Math.max(8, size * Math.max(0.5, (node.clientWidth - 1) / node.scrollWidth));
    node.style.fontSize = size.toFixed(2) + "px";
  }
}
function setFit(node, text) {
  if (node.textContent === text && node.dataset.w == node.clientWidth) return;
  node.textContent = text;
  node.dataset.w = node.clientWidth;
  fit(node);
}
window.addEventListener("resize", () => {
  for (const n of document.querySelectorAll(".fit")) { n.dataset.w = ""; fit(n); }
  dirty = true; sparksDirty = true;
  redrawRunSparks();
});

function showState() {
  let msg = "";
  if (!streamUp) msg = "Dashboard unreachable: reconnecting…";
  else if (!daemonUp) msg = "mockresd unreachable: the dashboard keeps retrying; the counts resume when it is back.";
  else if (!answering) msg = "mockresd not answering: connected, but no update for over a second (stopped or overloaded?).";
  setText(el.banner, msg);
  el.banner.classList.toggle("show", msg !== "");
  const live = streamUp && daemonUp && answering;
  el.link.className = "pill " + (live ? "live" : "down");
  setText(el.link, live ? "live" : (!streamUp ? "offline" : (!daemonUp ? "mockresd down" : "not answering")));
  document.body.classList.toggle("down", !live);
}

function modelLine(s) {
  const m = s.model;
  if (!m) return `hold ${s.hold_ms} ms, every use in flight at once` + (s.limit ? `, limit ${s.limit}` : ", no limit");
  const parts = [];
  let dist = `${m.hold_dist || "fixed"} ${m.hold_ms} ms`;
  if (m.hold_dist === "uniform" && m.hold_spread !== undefined) dist += ` ± ${m.hold_spread} ms`;
  if (m.hold_dist === "lognormal" && m.hold_sigma !== undefined) dist += ` σ ${m.hold_sigma}`;
  parts.push(dist);
  parts.push(m.slots ? `${m.slots} slots, queue ${m.queue}, timeout ${m.queue_timeout_ms ? m.queue_timeout_ms + " ms" : "none"}, ${m.queue_discipline || "fifo"}` : "unlimited slots");
  if (m.contention && m.contention !== "none") parts.push(`contention ${m.contention}`);
  parts.push(s.limit ? `limit ${s.limit}` : "no limit");
  let line = "model" + (s.preset ? ` ${s.preset}` : "") + ": " + parts.join(" · ");
  const w = s.wait_ms;
  line += w && w.count && w.max > 0 ? ` · wait p50 ${fmtMs(w.p50, true)} p99 ${fmtMs(w.p99, true)}` : " · no waits yet";
  const v = s.service_ms;
  line += v && v.count ? ` · service p50 ${fmtMs(v.p50, true)} p99 ${fmtMs(v.p99, true)}` : " · no uses yet";
  return line;
}

function addPoint(t, inflight, waiting) {
  fine.push([t, inflight, waiting]);
  while (fine.length && t - fine[0][0] > FINE_KEEP_MS) fine.shift();
  const key = Math.floor(t / COARSE_MS) * COARSE_MS, last = coarse[coarse.length - 1];
  if (last && last[0] === key) {
    last[1] = Math.max(last[1], inflight); last[2] = Math.min(last[2], inflight);
    last[3] = Math.max(last[3], waiting);
  } else {
    coarse.push([key, inflight, inflight, waiting]);
    while (coarse.length && t - coarse[0][0] > COARSE_KEEP_MS) coarse.shift();
  }
}

function addProcs(t, procs) {
  for (const p of procs) {
    let h = procHist.get(procId(p));
    if (!h) { h = []; procHist.set(procId(p), h); }
    const last = h[h.length - 1];
    if (!last || t - last[0] >= 450) { h.push([t, p.cpu_percent, p.rss_kb]); sparksDirty = true; }
    while (h.length && t - h[0][0] > COARSE_KEEP_MS) h.shift();
  }
}

function rates(s) {
  const last = counters[counters.length - 1];
  const to = s.timed_out || 0;
  if (last && (s.admitted < last[1] || s.rejected < last[2] || to < last[3])) counters = [];
  counters.push([s.t_ms, s.admitted, s.rejected, to]);
  while (counters.length > 2 && s.t_ms - counters[1][0] >= RATE_MS) counters.shift();
  const first = counters[0], dt = (s.t_ms - first[0]) / 1000;
  if (dt < 0.2) return null;
  return [(s.admitted - first[1]) / dt, (s.rejected - first[2]) / dt, (to - first[3]) / dt];
}

// A process's sparkline over the chart's window, 0 to its highest value;
// returns that highest value (the scale printed beside it).
function spark(canvas, pts, idx, color) {
  const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
  if (!w || !h) return null;
  canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const now = lastT, span = (windowS === 10 ? 60 : windowS) * 1000;
  const ps = pts.filter((p) => now - p[0] <= span);
  if (ps.length < 2) return null;
  let max = 0;
  for (const p of ps) max = Math.max(max, p[idx]);
  if (idx === 1) max = Math.max(max, 5);
  const top = max || 1;
  g.beginPath();
  ps.forEach((p, i) => {
    const x = w * (1 - (now - p[0]) / span), y = h - 1 - (h - 3) * p[idx] / top;
    if (i) g.lineTo(x, y); else g.moveTo(x, y);
  });
  g.strokeStyle = color; g.lineWidth = 1.5; g.stroke();
  return max;
}

// The process table, grouped by host (a heading row per host when there
// are several), in the server's order within each.
function procTable(list) {
  const hosts = [];
  for (const p of list) if (!hosts.includes(p.host || "")) hosts.push(p.host || "");
  const procs = hosts.flatMap((h) => list.filter((p) => (p.host || "") === h));
  const key = procs.map((p) => procId(p) + ":" + p.role).join(",");
  if (key !== procKey) {
    procKey = key;
    el.procs.innerHTML = hosts.map((h) =>
      (hosts.length > 1 ? `<tr class="hostrow"><th class="l" colspan="7">${esc(h || "?")}</th></tr>` : "") +
      procs.filter((p) => (p.host || "") === h).map((p) =>
      `<tr data-pid="${p.pid}" data-host="${esc(p.host || "")}" data-role="${esc(p.role)}"><td>${p.pid}</td>` +
      `<td class="l"><span class="role">${esc(p.role)}</span></td><td class="inflight"></td>` +
      `<td class="cpu"></td><td class="l"><canvas class="spark cpuspark"></canvas><span class="sc"></span></td>` +
      `<td class="rss"></td><td class="l"><canvas class="spark rssspark"></canvas><span class="sc"></span></td></tr>`).join("")).join("");
  }
  const redraw = sparksDirty || key !== procKeyDrawn;
  procKeyDrawn = key;
  const css = redraw ? getComputedStyle(document.documentElement) : null;
  const rows = el.procs.querySelectorAll("tr[data-pid]");
  procs.forEach((p, i) => {
    const r = rows[i];
    if (!r) return;
    setText(r.cells[2], fmtNum(p.in_flight));
    setText(r.cells[3], p.cpu_percent.toFixed(1));
    setText(r.cells[5], fmtKB(p.rss_kb));
    r.cells[5].dataset.kb = p.rss_kb;
    if (!redraw) return;
    const h = procHist.get(procId(p)) || [];
    const cmax = spark(r.cells[4].firstChild, h, 1, css.getPropertyValue("--accent"));
    const rmax = spark(r.cells[6].firstChild, h, 2, css.getPropertyValue("--wait"));
    setText(r.cells[4].lastChild, cmax === null ? "" : `0–${fmtNum(cmax, cmax < 10 ? 1 : 0)}%`);
    setText(r.cells[6].lastChild, rmax === null ? "" : `0–${fmtKB(rmax)}`);
  });
  sparksDirty = false;
}

function routeTable(http) {
  if (!http) return;
  setText(el.lives, String(http.live_s));
  if (http.rate_s) setText(el.rates, String(http.rate_s));
  const rows = [];
  for (const name of ["serial", "async", "other"]) {
    const r = http.routes[name];
    if (!r || (!r.requests && name === "other")) continue;
    const l = r.live;
    rows.push(`<tr data-route="${name}"><td class="l">/part1/${name === "other" ? "… (other)" : name}</td>` +
      `<td>${fmtRate(r.rate)}</td><td>${fmtNum(r.requests)}</td><td class="l small">${esc(codes(r.codes))}</td>` +
      `<td data-ms="${l.p50_ms}">${fmtMs(l.p50_ms)}</td><td>${fmtMs(l.p90_ms)}</td><td>${fmtMs(l.p99_ms)}</td><td>${fmtMs(l.max_ms)}</td></tr>`);
  }
  const html = rows.join("");
  if (el.routes.innerHTML !== html) el.routes.innerHTML = html;
}

const ROLE_SHORT = { "mockresd": "mockresd", "frontend-master": "master",
  "frontend-worker": "workers", "bench": "bench", "dashboard": "dashboard" };
function roles(run, key, fmt) {
  const out = [];
  for (const [role, v] of Object.entries(run.roles || {}))
    if (v[key] > 0) out.push(`${esc(ROLE_SHORT[role] || role)} ${esc(fmt(v[key]))}`);
  return out.join(" · ") || "–";
}

// Is the measured M more than 10% from the reference REF (a prediction or
// a guess)?  Nothing to compare when either is missing.
const OFF = 0.10;
function isOff(m, ref) {
  if (ref === null || ref === undefined || ref < 0 || m === null || m === undefined || !isFinite(m)) return false;
  return ref === 0 ? m > 0 : Math.abs(m - ref) / ref > OFF;
}
function offBy(m, ref) {
  if (ref === 0) return `${fmtNum(m)} where 0 was`;
  const d = (m - ref) / ref * 100;
  return `${d > 0 ? "+" : ""}${d.toFixed(0)}%`;
}
// Guess, predicted, measured, one under the other; the measured one
// marked when more than 10% from either.
function gpm(g, p, m, fmt, live) {
  const why = [];
  if (!live && isOff(m, p)) why.push(`${offBy(m, p)} from the prediction`);
  if (!live && isOff(m, g)) why.push(`${offBy(m, g)} from the guess`);
  const f = (v) => (v === null || v === undefined || v < 0) ? "–" : esc(fmt(v));
  return `<span class="gpm g"><span class="k">g</span>${f(g)}</span>` +
    `<span class="gpm p"><span class="k">p</span>${f(p)}</span>` +
    `<span class="gpm m${why.length ? " off" : ""}"${why.length ? ` title="${esc(why.join("; "))}"` : ""}>` +
    `<span class="k">m</span>${f(m)}</span>`;
}
function failedOf(r) {
  let ok = 0;
  for (const [k, v] of Object.entries(r.codes || {})) if (k >= 200 && k < 300) ok += v;
  return r.requests - ok;
}
const fmtSec = (ms) => fmtMs(ms);
const fmtR = (v) => fmtRate(v);
const fmtInt = (v) => fmtNum(Math.round(v));

function runRows(run) {
  const live = !!run.running;
  const routes = Object.entries(run.routes || {});
  const when = new Date(run.start_unix_ms).toLocaleTimeString([], { hour12: false });
  const su = run.setup || {}, p = run.predicted || {}, g = run.guess || {};
  const guessFor = (route) => !run.guess || !g.route || g.route === route;
  let html = `<tr class="runhead${live ? " running" : ""}" data-run="${run.id}"><td class="l" colspan="8">` +
    `<b>#${run.id}</b> ${esc(when)}${live ? " (running)" : ""} · <span class="setup">${esc(su.line || "setup unknown")}</span>` +
    ` · <span class="clients">${fmtNum(run.clients || 0)} clients</span>` +
    (run.changed ? ` · <span class="changed">${esc(run.changed)}</span>` : "") + "</td></tr>";
  routes.forEach(([name, r], i) => {
    const lat = r.latency_ms || {};
    const first = i === 0, gg = first && guessFor(name) ? g : {};
    const pp = first ? p : {};
    html += `<tr class="route${live ? " running" : ""}" data-run="${run.id}" data-route="${name}" data-requests="${r.requests}" data-p50="${lat.p50}">` +
      `<td class="l" data-label="run">#${run.id}<br><span class="muted small">${esc(when)}</span></td>` +
      `<td class="l" data-label="route">${name}<br><span class="muted small">${fmtNum(r.requests)} req · ${fmtNum(run.clients || 0)} clients</span></td>` +
      `<td data-label="time">${first ? gpm(gg.duration_ms, pp.duration_ms, run.duration_ms, fmtSec, live) : ""}</td>` +
      `<td data-label="req/s">${gpm(gg.req_per_s, pp.req_per_s, r.req_per_s, fmtR, live)}</td>` +
      `<td data-label="peak in flight">${first ? gpm(gg.peak_in_flight, pp.peak_in_flight, run.peak_in_flight, fmtInt, live) +
        `<span class="muted small">waiting ${fmtNum(run.peak_waiting)}${pp.peak_waiting > 0 ? ` (p ${fmtNum(pp.peak_waiting)})` : ""}</span>` : ""}</td>` +
      `<td data-label="failed">${gpm(gg.failed, pp.failed, failedOf(r), fmtInt, live)}<span class="muted small">${esc(codes(r.codes))}</span></td>` +
      `<td data-label="latency">${fmtMs(lat.p50)} / ${fmtMs(lat.p99)} / ${fmtMs(lat.max)}` +
        `<br><span class="muted small">mean ${fmtMs(lat.mean)}${first && pp.mean_ms > 0 ? `, p ${fmtMs(pp.mean_ms)}` : ""}</span></td>` +
      (first ? `<td class="l" data-label="in flight" rowspan="${routes.length}"><canvas class="runspark" data-run="${run.id}"></canvas><span class="sparkmax"></span></td>` : "") +
      "</tr>";
  });
  const formula = p.formula ? `<span class="formula">p: ${esc(p.formula)}</span>` :
    `<span class="formula">p: no closed form: ${esc(run.predicted_why || "–")}</span>`;
  html += `<tr class="details" data-run="${run.id}"><td class="l" colspan="8">${formula}` +
    ` · CPU s: ${roles(run, "cpu_s", (v) => v.toFixed(2))} · peak RSS: ${roles(run, "peak_rss_kb", fmtKB)}` +
    (run.guess ? ` · g: your guess${g.route ? ` for ${esc(g.route)}` : ""}` : "") +
    (run.clipped ? " · longer than the history: peaks and CPU of its last 10 min" : "") + "</td></tr>";
  return html;
}

// A run's own chart: in flight (filled) and waiting, each step's highest,
// scaled to the run's own highest.
function runSpark(canvas, run, css) {
  const sp = run.spark, dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (!sp || !w || !h) return;
  canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const a = sp.in_flight || [], b = sp.waiting || [];
  let max = 0;
  for (const v of a) max = Math.max(max, v);
  for (const v of b) max = Math.max(max, v);
  const top = max || 1, n = a.length || 1, dx = w / n;
  const Y = (v) => h - 1 - (h - 3) * v / top;
  const path = (vals) => {
    g.beginPath(); g.moveTo(0, Y(vals[0] || 0));
    vals.forEach((v, i) => { g.lineTo(i * dx, Y(v)); g.lineTo((i + 1) * dx, Y(v)); });
  };
  if (a.length) {
    path(a); g.lineTo(w, h); g.lineTo(0, h); g.closePath();
    g.fillStyle = css.getPropertyValue("--accent-soft"); g.fill();
    path(a); g.strokeStyle = css.getPropertyValue("--accent"); g.lineWidth = 1.5; g.stroke();
  }
  if (b.length) { path(b); g.strokeStyle = css.getPropertyValue("--wait"); g.lineWidth = 1.5; g.stroke(); }
  const secs = (sp.to_ms - sp.from_ms) / 1000;
  const label = canvas.nextSibling;
  if (label) setText(label, `0–${fmtNum(max)}${b.length ? " (waiting orange)" : ""} over ${secs < 10 ? secs.toFixed(1) : secs.toFixed(0)} s`);
}
function drawRunSparks(tbody, runs) {
  const css = getComputedStyle(document.documentElement);
  const byId = new Map(runs.map((r) => [String(r.id), r]));
  for (const c of tbody.querySelectorAll("canvas.runspark")) {
    const run = byId.get(c.dataset.run);
    if (run) runSpark(c, run, css);
  }
}

function runTable() {
  const cur = currentRun ? runRows(currentRun) : "";
  if (cur !== curHtml) {
    curHtml = cur; el.runcur.innerHTML = cur;
    if (currentRun) drawRunSparks(el.runcur, [currentRun]);
  }
  const html = runList.length ? runList.map(runRows).join("") :
    '<tr><td class="l muted" colspan="8">no run yet: run ab against the frontend</td></tr>';
  if (html !== runsHtml) {
    runsHtml = html; el.runs.innerHTML = html;
    drawRunSparks(el.runs, runList);
  }
}
function redrawRunSparks() {
  if (currentRun) drawRunSparks(el.runcur, [currentRun]);
  drawRunSparks(el.runs, runList);
}

function showGuess() {
  const g = pendingGuess;
  if (!g) { setText(el.gstatus, "no guess waiting: the next run gets none"); return; }
  const parts = [];
  if (g.route) parts.push(g.route);
  if (g.duration_ms !== null) parts.push(`time ${fmtMs(g.duration_ms)}`);
  if (g.req_per_s !== null) parts.push(`${fmtRate(g.req_per_s)} req/s`);
  if (g.peak_in_flight !== null) parts.push(`peak ${fmtNum(g.peak_in_flight)}`);
  if (g.failed !== null) parts.push(`failed ${fmtNum(g.failed)}`);
  setText(el.gstatus, `waiting for the next run: ${parts.join(", ")}`);
}

async function loadRuns() {
  try {
    const r = await fetch("api/runs", { cache: "no-store" });
    const j = await r.json();
    runList = j.runs || [];
    currentRun = j.current;
    pendingGuess = j.guess || null;
    showGuess();
    runTable();
  } catch (e) { /* the stream's next change tries again */ runsDone = -1; }
}

async function saveGuess(ev) {
  ev.preventDefault();
  const body = {};
  if (el.groute.value) body.route = el.groute.value;
  const num = (input, key, mul) => { if (input.value !== "") body[key] = Number(input.value) * mul; };
  num(el.gdur, "duration_ms", 1000); num(el.grate, "req_per_s", 1);
  num(el.gpeak, "peak_in_flight", 1); num(el.gfailed, "failed", 1);
  try {
    const r = await fetch("api/guess", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const t = await r.text();
    if (!r.ok) { setText(el.gstatus, t.trim()); return; }
    pendingGuess = JSON.parse(t);
    showGuess();
  } catch (e) { setText(el.gstatus, "could not save the guess: " + e.message); }
}
async function clearGuess() {
  try { await fetch("api/guess", { method: "DELETE" }); } catch (e) { /* shown below */ }
  pendingGuess = null;
  for (const n of [el.gdur, el.grate, el.gpeak, el.gfailed]) n.value = "";
  showGuess();
}
el.gform.addEventListener("submit", saveGuess);
el.gclear.addEventListener("click", clearGuess);

function onSnapshot(s, old = false) {
  if (!historyReady) { pending.push(s); return; }
  daemonUp = !!s.connected;
  answering = s.answering !== false;
  showState();
  lastT = s.t_ms; lastT_perf = performance.now();
  if (daemonUp) {
    setFit(el.average, fmtNum(s.average, 2));
    setFit(el.inflight, fmtNum(s.in_flight));
    setFit(el.waiting, fmtNum(s.waiting || 0));
    setFit(el.limit, s.limit > 0 ? fmtNum(s.limit) : "none");
    setFit(el.peak, fmtNum(s.peak));
    setFit(el.hold, (s.model ? s.model.hold_ms : s.hold_ms) + " ms");
    setText(el.model, modelLine(s));
    const r = rates(s);
    if (r) { setFit(el.arate, fmtRate(r[0])); setFit(el.rrate, fmtRate(r[1])); setFit(el.trate, fmtRate(r[2])); }
    setText(el.totals, `admitted ${s.admitted} · rejected ${s.rejected} · completed ${s.completed}` +
      (s.timed_out !== undefined ? ` · timed out ${s.timed_out}` : "") +
      ` · mockresd up ${Math.floor(s.uptime_ms / 1000)} s · `);
    limit = s.limit;
    if (answering && !old) addPoint(s.t_ms, s.in_flight, s.waiting || 0);
  } else {
    for (const n of [el.average, el.inflight, el.waiting, el.arate, el.rrate, el.trate]) setFit(n, "–");
    setText(el.totals, "");
    counters = [];
  }
  addProcs(s.t_ms, s.processes || []);
  procTable(s.processes || []);
  if (s.http) routeTable(s.http);
  if ("run" in s) {
    const began = s.run && !currentRun;
    currentRun = s.run;
    if (s.runs_done !== runsDone || began) { runsDone = s.runs_done; loadRuns(); } else runTable();
  }
  dirty = true;
}

function niceStep(max) {
  const raw = max / 4, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

function draw() {
  requestAnimationFrame(draw);
  const c = el.chart, dpr = window.devicePixelRatio || 1;
  const w = c.clientWidth, h = c.clientHeight;
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
    c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); dirty = true;
  }
  if (!dirty) return;
  dirty = false;
  const g = c.getContext("2d"), css = getComputedStyle(document.documentElement);
  const ink = css.getPropertyValue("--muted"), grid = css.getPropertyValue("--line");
  const accent = css.getPropertyValue("--accent"), soft = css.getPropertyValue("--accent-soft");
  const wait = css.getPropertyValue("--wait"), red = css.getPropertyValue("--limit");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const span = windowS * 1000;
  const now = lastT + (lastT ? Math.min(performance.now() - lastT_perf, 2000) : 0);
  const useCoarse = windowS > 60;
  const pts = (useCoarse ? coarse : fine).filter((p) => now - p[0] <= span + (useCoarse ? COARSE_MS : 40));
  let vmax = 5;
  for (const p of pts) vmax = Math.max(vmax, p[1], useCoarse ? p[3] : p[2]);
  if (limit > 0) vmax = Math.max(vmax, limit);
  // Linear: 0 to a round number above the highest.  Log: log10(1 + v),
  // gridlines at 0, 1, 10, 100, ... up to the power of ten above it, so
  // a spike of 3000 leaves a line at 50 readable.
  let ymax;
  const labels = [];
  if (logScale) {
    ymax = Math.pow(10, Math.max(1, Math.ceil(Math.log10(vmax + 1))));
    labels.push([0, "0"]);
    for (let v = 1; v <= ymax; v *= 10) labels.push([v, fmtAxis(v)]);
  } else {
    const step = niceStep(vmax * 1.15);
    ymax = Math.ceil(vmax * 1.15 / step) * step;
    for (let v = 0; v <= ymax + 1e-9; v += step) labels.push([v, fmtAxis(v)]);
  }
  g.font = "11px system-ui, sans-serif";
  let lw = 0;
  for (const [, t] of labels) lw = Math.max(lw, g.measureText(t).width);
  const L = Math.ceil(lw) + 10, R = 8, T = 8, B = 22, pw = w - L - R, ph = h - T - B;
  const lmax = Math.log10(1 + ymax);
  const X = (t) => L + pw * (1 - (now - t) / span);
  const Y = logScale ? (v) => T + ph * (1 - Math.log10(1 + Math.max(0, v)) / lmax) : (v) => T + ph * (1 - v / ymax);
  const drawn = [];
  g.fillStyle = ink; g.strokeStyle = grid; g.lineWidth = 1;
  g.textAlign = "right"; g.textBaseline = "middle";
  for (const [v, t] of labels) {
    const y = Math.round(Y(v)) + .5;
    g.beginPath(); g.moveTo(L, y); g.lineTo(L + pw, y); g.stroke();
    g.fillText(t, L - 6, y);
    drawn.push({ text: t, x0: L - 6 - g.measureText(t).width, x1: L - 6, w });
  }
  g.textBaseline = "top";
  const ticks = windowS === 10 ? [10, 5, 0] : windowS === 60 ? [60, 45, 30, 15, 0] : [600, 480, 360, 240, 120, 0];
  for (const s of ticks) {
    const lab = s === 0 ? "now" : (s >= 120 ? `-${s / 60} min` : `-${s} s`);
    const x = L + pw * (1 - s / windowS), tw = g.measureText(lab).width;
    const align = s === windowS ? "left" : (s === 0 ? "right" : "center");
    g.textAlign = align;
    g.fillText(lab, x, T + ph + 6);
    const x0 = align === "left" ? x : align === "right" ? x - tw : x - tw / 2;
    drawn.push({ text: lab, x0, x1: x0 + tw, w });
  }
  g.save(); g.beginPath(); g.rect(L, T, pw, ph); g.clip();
  const gapMs = useCoarse ? 3 * COARSE_MS : 200;
  const series = (idx, color, fill) => {
    let run = [];
    const flush = () => {
      if (!run.length) return;
      g.beginPath();
      run.forEach((p, j) => {
        if (j === 0) g.moveTo(X(p[0]), Y(p[idx]));
        else { g.lineTo(X(p[0]), Y(run[j - 1][idx])); g.lineTo(X(p[0]), Y(p[idx])); }
      });
      const endX = Math.min(X(run[run.length - 1][0] + (useCoarse ? COARSE_MS : 20)), L + pw);
      g.lineTo(endX, Y(run[run.length - 1][idx]));
      g.strokeStyle = color; g.lineWidth = 2; g.lineJoin = "round"; g.stroke();
      if (fill) { g.lineTo(endX, Y(0)); g.lineTo(X(run[0][0]), Y(0)); g.closePath(); g.fillStyle = fill; g.fill(); }
      run = [];
    };
    for (let i = 0; i < pts.length; i++) {
      if (i && pts[i][0] - pts[i - 1][0] > gapMs) flush();
      run.push(pts[i]);
    }
    flush();
  };
  let plotted = 0;
  for (const p of pts) plotted = Math.max(plotted, p[1]);
  series(1, accent, soft);
  series(useCoarse ? 3 : 2, wait, null);
  g.restore();
  if (limit > 0) {
    const y = Math.round(Y(limit)) + .5;
    g.setLineDash([6, 4]); g.strokeStyle = red; g.lineWidth = 1.5;
    g.beginPath(); g.moveTo(L, y); g.lineTo(L + pw, y); g.stroke(); g.setLineDash([]);
    g.fillStyle = red; g.textAlign = "left"; g.textBaseline = "bottom";
    const lab = `limit ${fmtAxis(limit)}`;
    g.fillText(lab, L + 6, y - 3);
    drawn.push({ text: lab, x0: L + 6, x1: L + 6 + g.measureText(lab).width, w });
  }
  window.__chart = { labels: drawn, max: plotted, ymax, windowS, log: logScale };
}

function setWindow(s) {
  windowS = s;
  for (const b of document.querySelectorAll(".seg button[data-s]")) b.classList.toggle("on", Number(b.dataset.s) === s);
  const label = s === 600 ? "10 min" : `${s} s`;
  setText(el.title, `In flight, last ${label}`);
  for (const n of document.querySelectorAll(".winlabel")) setText(n, s === 10 ? "60 s" : label);
  dirty = true;
  sparksDirty = true;
}
for (const b of document.querySelectorAll(".seg button[data-s]")) b.addEventListener("click", () => setWindow(Number(b.dataset.s)));
function setScale(log) {
  logScale = log;
  for (const b of document.querySelectorAll(".seg button[data-scale]")) b.classList.toggle("on", (b.dataset.scale === "log") === log);
  setText(el.scalenote, log ? "log scale: each gridline 10 times the one below" : "");
  try { localStorage.setItem("mockres.scale", log ? "log" : "lin"); } catch (e) { /* private mode */ }
  dirty = true;
}
for (const b of document.querySelectorAll(".seg button[data-scale]")) b.addEventListener("click", () => setScale(b.dataset.scale === "log"));
try { if (localStorage.getItem("mockres.scale") === "log") setScale(true); } catch (e) { /* private mode */ }

// History first (the page may open after the run), then the live stream.
function cols(c) {
  const out = [];
  let t = c.t0_ms;
  for (let i = 0; i < c.dt_ms.length; i++) { t += c.dt_ms[i]; out.push(t); }
  return out;
}
async function loadHistory() {
  try {
    const [longR, shortR] = await Promise.all([
      fetch("api/history?seconds=600&step=1000&format=columns", { cache: "no-store" }),
      fetch("api/history?seconds=60&format=columns", { cache: "no-store" })]);
    const long = await longR.json(), short = await shortR.json();
    const lt = cols(long.samples);
    coarse = lt.map((t, i) => [t, long.samples.in_flight[i], long.samples.in_flight_min[i], long.samples.waiting[i]]);
    const st = cols(short.samples);
    fine = st.map((t, i) => [t, short.samples.in_flight[i], short.samples.waiting[i]]);
    for (const p of long.processes) {
      const ts = cols(p);
      procHist.set(procId(p), ts.map((t, i) => [t, p.cpu_percent[i], p.rss_kb[i]]));
    }
    lastT = short.now_ms; lastT_perf = performance.now();
  } catch (e) { /* no history: the live stream alone */ }
  historyReady = true;
  const q = pending; pending = [];
  const tmax = fine.length ? fine[fine.length - 1][0] : 0;
  for (const s of q) onSnapshot(s, s.t_ms <= tmax);
  loadRuns();
}

let es = null;
function connect() {
  es = new EventSource("events");
  es.onopen = () => { streamUp = true; showState(); };
  es.onmessage = (e) => { streamUp = true; onSnapshot(JSON.parse(e.data)); };
  es.onerror = () => {
    streamUp = false; showState();
    // EventSource retries by itself, except after a refusal: the
    // dashboard's 503 (too many streams) says Retry-After: 5.
    if (es.readyState === EventSource.CLOSED) { es.close(); setTimeout(connect, 5000); }
  };
}
// keep the chart scrolling even when no event comes (dashboard gone)
setInterval(() => { dirty = true; }, 250);
showState();
connect();
loadHistory();
requestAnimationFrame(draw);
