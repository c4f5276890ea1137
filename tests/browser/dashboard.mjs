// dashboard.mjs: the dashboard page in real headless Chromium.
//
// Starts mockresd and mockres-dashboard on a temporary socket and a free
// port, opens the page, starts uses through mockresctl and checks that the
// displayed in-flight count and the process table follow; then kills
// mockresd and checks the page says so and recovers, and stops it
// (SIGSTOP) and checks the page says "not answering".  Saves a screenshot.
//
// node dashboard.mjs --mockresd BIN --mockresctl BIN --dashboard BIN
//                    --out DIR [--chromium /usr/bin/chromium]
// Exit 0 pass, 1 fail, 77 skipped (playwright-core or Chromium missing).
import path from "node:path";
import { parseArgs, loadChromium, launch, sleep, until, freePort, connectable,
         check, Procs } from "./support.mjs";

const args = parseArgs(["mockresd", "mockresctl", "dashboard", "out"]);
const chromium = await loadChromium(args.chromium);
const procs = new Procs();
const sock = procs.sock;
const start = (bin, argv, name) => procs.start(bin, argv, name);
const stop = (child, sig) => procs.stop(child, sig);
const ctl = (...argv) => procs.run(args.mockresctl, ["--socket", sock, ...argv], 20000);
let browser = null;

async function startDaemon() {
  const d = start(args.mockresd, ["--socket", sock, "--limit", "15"], "mockresd");
  await until("mockresd's socket", () => connectable(sock));
  return d;
}

let page = null;
let failed = false;
try {
  let daemon = await startDaemon();
  const port = await freePort();
  const dash = start(args.dashboard, ["--socket", sock, "--listen", `127.0.0.1:${port}`], "dashboard");
  const url = `http://127.0.0.1:${port}/`;
  await until("the dashboard's port", async () => (await fetch(url + "api/stats")).ok);

  browser = await launch(chromium, args.chromium);
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(url);

  check(await page.title() === "Concurrent Requests to Mock Resource", "page title");
  const text = (sel) => page.locator(sel).first().textContent({ timeout: 2000 });
  const cell = (role, col) => text(`#procs tr[data-role="${role}"] td.${col}`);
  await until("the page to say live", async () => (await text("#link")) === "live");
  await until("in flight 0", async () => (await text("#inflight")) === "0");
  check((await text("#limit")) === "15", "limit shows 15");
  await until("mockresd's row", async () =>
    Number(await page.locator(`#procs tr[data-role="mockresd"]`).getAttribute("data-pid")) === daemon.pid);
  check(true, "process table lists mockresd with its pid");
  await until("the dashboard's row", async () =>
    Number(await page.locator(`#procs tr[data-role="dashboard"]`).getAttribute("data-pid")) === dash.pid);
  check(true, "process table lists the dashboard with its pid");
  check(Number(await page.locator(`#procs tr[data-role="dashboard"] td.rss`).getAttribute("data-kb")) > 0,
    "the dashboard's RSS is shown");

  // Five async uses held 3 s: the count and mockresd's row follow.
  for (let i = 0; i < 5; i++) await ctl("use", "--async", "--hold-ms", "3000");
  await until("in flight 5", async () => (await text("#inflight")) === "5", 2000);
  check(true, "displayed in-flight count follows to 5");
  await until("average 5.00", async () => (await text("#average")) === "5.00", 2000);
  check(true, "rolling average reaches 5.00");
  await until("mockresd's row at 5", async () => (await cell("mockresd", "inflight")) === "5", 2000);
  check(true, "mockresd's row shows 5 in flight");

  // A bench client (3 connections, serial uses held 1.5 s) gets its own row.
  const bench = ctl("bench", "-c", "3", "-n", "6", "--hold-ms", "1500");
  await until("the bench row at 3", async () => (await cell("bench", "inflight")) === "3", 3000);
  check(true, "process table shows the bench client with 3 in flight");
  await until("in flight 8", async () => (await text("#inflight")) === "8", 2000);
  check(true, "displayed in-flight count follows to 8");
  await sleep(300); // let the chart show the rise
  const shot = path.join(args.out, "dashboard-browser.png");
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  await bench;

  await until("in flight back to 0", async () => (await text("#inflight")) === "0", 6000);
  check(true, "in-flight count falls back to 0 when the holds end");
  await until("the bench row gone", async () =>
    (await page.locator(`#procs tr[data-role="bench"]`).count()) === 0, 3000);
  check(true, "the bench row leaves with the bench client");

  // mockresd gone: the page says so; back: the page recovers.
  await stop(daemon, "SIGKILL");
  await until("the unreachable banner", async () =>
    /mockresd unreachable/.test(await text("#banner")) && await page.locator("#banner").isVisible(), 3000);
  check(true, "banner says mockresd unreachable");
  daemon = await startDaemon();
  await until("live again", async () => (await text("#link")) === "live" &&
    !(await page.locator("#banner").isVisible()), 5000);
  check(true, "page recovers when mockresd is back");
  await until("the new mockresd's row", async () =>
    Number(await page.locator(`#procs tr[data-role="mockresd"]`).getAttribute("data-pid")) === daemon.pid, 3000);
  check(true, "process table shows the new mockresd pid");

  // mockresd stopped (SIGSTOP): connected but silent, the page says so.
  daemon.kill("SIGSTOP");
  await until("the not-answering banner", async () =>
    /mockresd not answering/.test(await text("#banner")) && await page.locator("#banner").isVisible(), 4000);
  check(true, "banner says mockresd not answering while it is stopped");
  daemon.kill("SIGCONT");
  await until("live after SIGCONT", async () => (await text("#link")) === "live" &&
    !(await page.locator("#banner").isVisible()), 4000);
  check(true, "page is live again after SIGCONT");

  check(pageErrors.length === 0, `no script errors on the page (${pageErrors.join("; ")})`);
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e.message}`);
  if (page) {
    const shot = path.join(args.out, "dashboard-browser-failure.png");
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    console.error(`screenshot of the failure: ${shot}`);
  }
  procs.dumpLogs();
} finally {
  if (browser) await browser.close().catch(() => {});
  await procs.cleanup();
}
process.exit(failed ? 1 : 0);
