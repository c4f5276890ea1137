// lab.mjs: the lab page in real headless Chromium, after real ab runs.
//
// Starts mockresd (no limit), mockres-frontend and mockres-dashboard on a
// temporary socket and free ports, then:
// - runs `ab -n 200 -c 20 .../part1/serial`, opens the page and finds that
//   run in the runs table with 200 requests and a p50 within 5% of ab's;
// - runs the seed's async spike (`ab -k -n 3000 -c 50`): the serial row's
//   own chart still has a visible line (its own scale: non-background
//   pixels over at least a third of its height), every run shows its
//   setup line, and at 1280 and 1024 px the runs table is no wider than
//   its container;
// - starts a long async ab run, reloads the page during it and finds the
//   spike on the chart (the history reaches the reloaded page);
// - for in-flight values from 0 to 10^6, at widths from a phone's to
//   1920 px, light and dark, checks that no number overflows its box,
//   that the chart's labels lie inside the canvas and that the page does
//   not scroll sideways;
// - checks there was no script error, and that the page fetched nothing
//   but its own origin;
// - saves screenshots in --out (and in --docs, when given, for docs/).
//
// node lab.mjs --mockresd BIN --mockresctl BIN --dashboard BIN
//              --frontend BIN --out DIR [--ab BIN] [--docs DIR]
// Exit 0 pass, 1 fail, 77 skipped (playwright-core, Chromium or ab missing).
import { copyFileSync, existsSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { parseArgs, loadChromium, launch, sleep, until, freePort, connectable,
         check, Procs } from "./support.mjs";

const args = parseArgs(["mockresd", "mockresctl", "dashboard", "frontend", "out"]);
const ab = args.ab || "/usr/bin/ab";
if (!existsSync(ab)) { console.error(`SKIP: no ab at ${ab} (apt-get install apache2-utils)`); process.exit(77); }
const chromium = await loadChromium(args.chromium);
const procs = new Procs();
const sock = procs.sock;
let browser = null, page = null, failed = false;
const pageErrors = [], foreign = [];

function abMedian(out) {
  const m = /^\s+50%\s+(\d+)/m.exec(out);
  if (!m) throw new Error(`no median in ab's output:\n${out}`);
  return Number(m[1]);
}

async function shot(name, p = page) {
  const file = path.join(args.out, name);
  await p.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
  if (args.docs) copyFileSync(file, path.join(args.docs, name));
}

function watch(p, origin) {
  p.on("pageerror", (e) => pageErrors.push(e.message));
  p.on("console", (m) => { if (m.type() === "error") pageErrors.push(m.text()); });
  p.on("request", (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith("data:")) foreign.push(r.url()); });
}

// Every .fit box, chart label and the page itself, measured in the page.
async function overflows(p) {
  return p.evaluate(() => {
    const bad = [];
    for (const n of document.querySelectorAll(".fit"))
      if (n.scrollWidth > n.clientWidth + 1) bad.push(`#${n.id} "${n.textContent}" ${n.scrollWidth} > ${n.clientWidth}`);
    for (const l of (window.__chart.labels || []))
      if (l.x0 < -0.5 || l.x1 > l.w + 0.5) bad.push(`chart label "${l.text}" at ${l.x0.toFixed(1)}..${l.x1.toFixed(1)} of ${l.w}`);
    if (document.documentElement.scrollWidth > window.innerWidth + 1)
      bad.push(`page ${document.documentElement.scrollWidth} px wide in ${window.innerWidth}`);
    return bad;
  });
}

// Feeds the page snapshots with every number at V (the stream closed).
async function showValue(p, v) {
  await p.evaluate((v) => {
    es.close();
    const base = window.__fakeT || (lastT + 1000);
    const procsv = [{ pid: 1, role: "mockresd", in_flight: v, cpu_percent: Math.min(v, 100), rss_kb: v },
                    { pid: 2, role: "frontend-worker", in_flight: v, cpu_percent: 1, rss_kb: v }];
    const http = { live_s: 5, reporters: 2, departed: 0, active: 0, routes: {
      serial: { requests: v, rate: v, codes: { "200": v, "500": v }, live: { p50_ms: v, p90_ms: v, p99_ms: v, max_ms: v } },
      async: { requests: v, rate: v, codes: { "200": v }, live: { p50_ms: v / 1000, p90_ms: v, p99_ms: v, max_ms: v } } } };
    for (let i = 0; i < 3; i++) {
      const t = base + i * 500;
      onSnapshot({ connected: true, answering: true, t_ms: t, in_flight: v, waiting: v, limit: v, peak: v,
        average: v, admitted: v * (i + 1), rejected: v * (i + 1), timed_out: v * (i + 1), completed: v,
        hold_ms: 500, uptime_ms: t, processes: procsv, http, runs_done: runsDone, run: null });
    }
    window.__fakeT = base + 1500;
    dirty = true;
  }, v);
  await sleep(100); // a frame or two for the chart
}

try {
  const daemon = procs.start(args.mockresd, ["--socket", sock, "--limit", "0"], "mockresd");
  await until("mockresd's socket", () => connectable(sock));
  const fport = await freePort(), dport = await freePort();
  procs.start(args.frontend, ["--socket", sock, "--listen", `127.0.0.1:${fport}`, "--workers", "2"], "frontend");
  procs.start(args.dashboard, ["--socket", sock, "--listen", `127.0.0.1:${dport}`], "dashboard");
  const url = `http://127.0.0.1:${dport}/`, front = `http://127.0.0.1:${fport}`;
  // Without keep-alive: a connection left open would count as a client
  // of the first run.
  await until("the frontend", () => new Promise((resolve) =>
    http.get(front + "/healthz", { agent: false }, (r) => { r.resume(); resolve(r.statusCode === 200); })
      .on("error", () => resolve(false))));
  await sleep(2500); // the /healthz is a run of its own
  await until("the dashboard", async () => (await fetch(url + "api/stats")).ok);
  // Both workers report before the run, so its counts start from them.
  await until("both workers reporting", async () =>
    ((await (await fetch(url + "api/stats")).json()).http || {}).reporters === 2, 5000);

  // 1. A serial run before the page is open: found in the runs table.
  const out = await procs.run(ab, ["-n", "200", "-c", "20", `${front}/part1/serial`]);
  const median = abMedian(out);
  check(/Complete requests:\s+200/.test(out), `ab sent 200 serial requests (median ${median} ms)`);
  browser = await launch(chromium, args.chromium);
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  watch(page, url.replace(/\/$/, ""));
  await page.goto(url);
  const row = page.locator('#runs tr[data-route="serial"][data-requests="200"]').first();
  await until("the serial run in the runs table", async () => (await row.count()) > 0 &&
    !(await row.getAttribute("class")).includes("running"), 8000);
  const p50 = Number(await row.getAttribute("data-p50"));
  check(Math.abs(p50 - median) <= 0.05 * median,
    `runs table: 200 serial requests, p50 ${p50} ms within 5% of ab's median ${median} ms`);
  await sleep(2500); // a gap, so that the next ab is a run of its own

  // 2. The seed's async spike: each run's own chart keeps the serial one
  // readable, every row has its setup line, nothing is cut at 1280/1024.
  await procs.run(ab, ["-k", "-n", "3000", "-c", "50", `${front}/part1/async`]);
  await until("the spike's run in the runs table", async () =>
    (await page.locator('#runs tr.route[data-route="async"]').count()) > 0, 15000);
  const serialInk = await page.evaluate(() => {
    const c = document.querySelector('#runs tr.route[data-route="serial"] canvas.runspark');
    const g = c.getContext("2d"), d = g.getImageData(0, 0, c.width, c.height).data;
    let rows = 0;
    for (let y = 0; y < c.height; y++)
      for (let x = 0; x < c.width; x++)
        if (d[(y * c.width + x) * 4 + 3] > 0) { rows++; break; }
    return rows / c.height;
  });
  check(serialInk >= 1 / 3, `after a spike of 3000, the serial row's own chart has ink over ${(serialInk * 100).toFixed(0)}% of its height (>= 33%)`);
  for (const width of [1280, 1024]) {
    await page.setViewportSize({ width, height: 1000 });
    await sleep(300);
    const m = await page.evaluate(() => {
      const t = document.getElementById("runstable"), w = document.getElementById("runswrap");
      const heads = [...document.querySelectorAll("#runs tr.runhead")];
      return { table: t.scrollWidth, wrap: w.clientWidth, runs: heads.length,
               setups: heads.filter((h) => (h.querySelector(".setup") || {}).textContent?.includes(" workers")).length,
               lines: heads.map((h) => h.querySelector(".setup").textContent) };
    });
    check(m.table <= m.wrap, `${width} px: the runs table (${m.table} px) fits its container (${m.wrap} px)`);
    check(m.runs >= 2 && m.setups === m.runs, `${width} px: each of the ${m.runs} runs shows its setup line (${m.lines[0]})`);
  }
  await page.setViewportSize({ width: 1280, height: 1000 });
  await sleep(2500);

  // 3. Reload during an async run: the spike is on the chart at once.
  await procs.run(args.mockresctl, ["--socket", sock, "hold", "3000"]);
  const abAsync = procs.run(ab, ["-k", "-n", "40000", "-c", "20", `${front}/part1/async`], 120000);
  await until("the async run under way", async () =>
    (await (await fetch(url + "api/stats")).json()).in_flight >= 1000, 20000);
  await page.reload();
  await until("the spike on the reloaded chart", async () =>
    (await page.evaluate(() => window.__chart.max)) >= 1000, 5000);
  check(true, "reloaded during an async run, the chart shows the spike (>= 1000 in flight)");
  await abAsync;
  await until("the async run in the runs table", async () =>
    (await page.locator('#runs tr[data-route="async"][data-requests="40000"]:not(.running)').count()) > 0, 15000);
  check(true, "the async run has its row, beside the serial one");
  await procs.run(args.mockresctl, ["--socket", sock, "hold", "500"]);
  await shot("dashboard-lab.png");
  await page.click("#win-600");
  await sleep(300);
  await shot("dashboard-lab-10min.png");
  await page.click("#win-60");

  // 4. Every number fits, phone to 1920 px, light and dark.
  const values = [0, 7, 99.99, 2345.5, 12345.67, 99999, 123456, 999999, 1e6];
  for (const scheme of ["light", "dark"]) {
    for (const width of [360, 390, 768, 1024, 1280, 1920]) {
      const p = await browser.newPage({ viewport: { width, height: 900 }, colorScheme: scheme });
      watch(p, url.replace(/\/$/, ""));
      await p.goto(url);
      await until("history loaded", () => p.evaluate(() => historyReady), 5000);
      const bad = [];
      for (const v of values) {
        await showValue(p, v);
        for (const b of await overflows(p)) bad.push(`${v}: ${b}`);
      }
      check(bad.length === 0, `${scheme}, ${width} px: nothing overflows for 0..10^6 ${bad.slice(0, 4).join("; ")}`);
      if (width === 390 && scheme === "dark") await shot("dashboard-phone-dark.png", p);
      await p.close();
    }
  }
  check(pageErrors.length === 0, `no script errors (${pageErrors.join("; ")})`);
  check(foreign.length === 0, `the page fetched nothing outside its origin (${foreign.join(", ")})`);
  void daemon;
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e.message}`);
  if (page) await page.screenshot({ path: path.join(args.out, "dashboard-lab-failure.png"), fullPage: true }).catch(() => {});
  procs.dumpLogs();
} finally {
  if (browser) await browser.close().catch(() => {});
  await procs.cleanup();
}
process.exit(failed ? 1 : 0);
