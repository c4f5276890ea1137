// support.mjs: what the browser tests share: arguments, processes on a
// temporary socket and free ports, waits with deadlines, and Chromium.
import { spawn, execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, openSync, readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

// --key value pairs; REQUIRED are checked (exit 2 if missing).
export function parseArgs(required) {
  const args = {};
  for (let i = 2; i < process.argv.length; i += 2)
    args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
  for (const k of required)
    if (!args[k]) { console.error(`usage: missing --${k}`); process.exit(2); }
  args.chromium = args.chromium || process.env.CHROMIUM || "/usr/bin/chromium";
  return args;
}

// playwright-core's chromium, or exit 77 (skipped) without it.
export async function loadChromium(chromiumPath) {
  let chromium;
  try {
    ({ chromium } = await import("playwright-core"));
  } catch {
    console.error("SKIP: playwright-core is not installed: run `npm ci` in tests/browser");
    process.exit(77);
  }
  if (!existsSync(chromiumPath)) {
    console.error(`SKIP: no Chromium at ${chromiumPath} (apt-get install chromium)`);
    process.exit(77);
  }
  return chromium;
}

export function launch(chromium, chromiumPath) {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update",
           "--disable-sync"],
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(what, fn, timeoutMs = 10000) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < timeoutMs) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e.message; }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on("error", reject);
  });
}

export function connectable(target) {
  return new Promise((resolve) => {
    const c = net.connect(target);
    c.on("connect", () => { c.destroy(); resolve(true); });
    c.on("error", () => resolve(false));
  });
}

export function check(cond, msg) {
  if (!cond) throw new Error(msg);
  console.log(`ok - ${msg}`);
}

// A temporary directory and the processes started in it, logged there.
export class Procs {
  constructor() {
    this.tmp = mkdtempSync(path.join(os.tmpdir(), "mockres-browser-"));
    this.sock = path.join(this.tmp, "mockresd.sock");
    this.children = new Set();
    this.names = [];
  }
  start(bin, argv, name) {
    const log = openSync(path.join(this.tmp, `${name}.log`), "a");
    const child = spawn(bin, argv, { stdio: ["ignore", log, log] });
    this.children.add(child);
    if (!this.names.includes(name)) this.names.push(name);
    child.on("exit", () => this.children.delete(child));
    return child;
  }
  stop(child, sig = "SIGTERM") {
    return new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill(sig);
    });
  }
  run(bin, argv, timeout = 60000) {
    return new Promise((resolve, reject) => {
      execFile(bin, argv, { timeout, maxBuffer: 1 << 24 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${path.basename(bin)} ${argv.join(" ")}: ${err.message} ${stderr}`)) : resolve(stdout));
    });
  }
  dumpLogs() {
    for (const name of this.names) {
      try { console.error(`--- ${name}.log\n` + readFileSync(path.join(this.tmp, `${name}.log`), "utf8")); } catch {}
    }
  }
  async cleanup() {
    for (const c of [...this.children]) await this.stop(c);
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
