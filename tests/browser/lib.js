// Helpers of the dashboard's end-to-end tests (tests/browser/*.test.js, node:test):
// throwaway projects, `baton serve` processes, the browser, the API from Node, and the
// cleanup of all of them. Environment (set by CTest, CMakeLists.txt):
//   BATON_BINARY       the built baton
//   BATON_SCREENSHOTS  where each view's screenshot goes (BUILD/screenshots)
//   NODE_PATH          BUILD/web/node_modules (playwright-core, from web/package-lock.json)
//   BATON_CHROMIUM     the browser (default /usr/bin/chromium, Debian's; scripts/setup-browser)
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const BATON = process.env.BATON_BINARY;
const SHOTS = process.env.BATON_SCREENSHOTS || path.join(os.tmpdir(), 'baton-screenshots');
const CHROMIUM = process.env.BATON_CHROMIUM || '/usr/bin/chromium';
if (!BATON) throw new Error('tests/browser: BATON_BINARY (the built baton) is not set');

const servers = new Set();
const dirs = [];
let browser = null;

/** A throwaway project: a git repository with one commit holding FILES ({relative
 *  path: text}, where @DIR@ stands for the project's absolute path); returns that path.
 *  Removed by cleanup(). */
function makeProject(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-browser-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text.replaceAll('@DIR@', dir));
  }
  const git = (...args) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.name=test', '-c', 'user.email=test@localhost', 'commit', '-q', '-m', 'init');
  return dir;
}

/** Starts `baton serve` in PROJECT on 127.0.0.1:PORT (0: a free port the server picks)
 *  and resolves, once it printed its URL, to {proc, url, origin, port, token}. Rejects
 *  when it exits first, or prints no URL within 60 s. */
function startServer(project, port = 0, extraEnv = {}) {
  const proc = spawn(BATON, ['serve', '--listen', `127.0.0.1:${port}`], {
    cwd: project,
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,  // its own process group: killed as a whole
  });
  servers.add(proc);
  proc.on('exit', () => servers.delete(proc));
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`baton serve printed no URL in 60 s:\n${out}\n${err}`)), 60000);
    proc.stderr.on('data', (d) => { err += d; });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /(http:\/\/127\.0\.0\.1:(\d+))\/#token=([A-Za-z0-9._~%-]+)/.exec(out);
      if (m) {
        clearTimeout(guard);
        resolve({ proc, url: m[0], origin: m[1], port: Number(m[2]), token: decodeURIComponent(m[3]) });
      }
    });
    proc.on('exit', (code, sig) => {
      clearTimeout(guard);
      reject(new Error(`baton serve exited (${code ?? sig}) before printing its URL:\n${out}\n${err}`));
    });
  });
}

/** Kills SERVER's process group with SIGKILL and resolves once it exited. */
function killServer(server) {
  return new Promise((resolve) => {
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) return resolve();
    server.proc.once('exit', () => resolve());
    try {
      process.kill(-server.proc.pid, 'SIGKILL');
    } catch {
      resolve();
    }
  });
}

/** The API of SERVER from Node: METHOD PATH with BODY (JSON), authorised by the token;
 *  resolves to the parsed answer; throws on a status other than 2xx. */
async function api(server, pathname, { method = 'GET', body } = {}) {
  const res = await fetch(server.origin + pathname, {
    method,
    headers: {
      Authorization: `Bearer ${server.token}`,
      Origin: server.origin,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${pathname}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** The ids of the store's events of RUN, read from the server's event stream from the
 *  start (Last-Event-ID: 0) up to the run's run.finished event. The run must have
 *  finished. Rejects after 30 s. */
async function storeEventIds(server, run) {
  const ctl = new AbortController();
  const guard = setTimeout(() => ctl.abort(), 30000);
  const res = await fetch(`${server.origin}/api/v1/events?run=${encodeURIComponent(run)}`, {
    headers: { Authorization: `Bearer ${server.token}`, 'Last-Event-ID': '0' },
    signal: ctl.signal,
  });
  if (!res.ok) throw new Error(`GET /api/v1/events: ${res.status}`);
  const ids = [];
  let buf = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
        if (!data || /^event:\s*reset/m.test(block)) continue;
        const ev = JSON.parse(data);
        if (ev.run_id !== run) continue;
        ids.push(ev.id);
        if (ev.kind === 'run.finished') return ids;
      }
    }
  } finally {
    clearTimeout(guard);
    ctl.abort();
  }
  throw new Error(`the event stream of run ${run} ended before run.finished (${ids.length} events)`);
}

/** The shared headless browser (Debian's chromium, no sandbox: the tests run as root). */
async function getBrowser() {
  if (!browser) {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }
  return browser;
}

/** A new page (its own cookies) that records console errors and uncaught exceptions
 *  in page.errors. */
async function newPage() {
  const context = await (await getBrowser()).newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  return page;
}

/** Saves PAGE's screenshot as SHOTS/NAME.png. */
async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** Kills every server (SIGKILL to its group), closes the browser, removes the projects. */
async function cleanup() {
  await Promise.all([...servers].map((proc) => killServer({ proc })));
  if (browser) {
    const b = browser;
    browser = null;
    await b.close().catch(() => {});
  }
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

// Even when a test throws, nothing outlives the test process.
process.on('exit', () => {
  for (const proc of servers) {
    try { process.kill(-proc.pid, 'SIGKILL'); } catch {}
  }
});

module.exports = { makeProject, startServer, killServer, api, storeEventIds, newPage, screenshot, cleanup };
