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
 *  and resolves, once it printed where to open it, to {proc, url, origin, port, token}:
 *  url is the dashboard's URL with the token. The first start in a project prints
 *  the token (`open http://127.0.0.1:PORT/#token=T`), a later one the file that keeps
 *  it (`open http://127.0.0.1:PORT/ (token in F)`). Rejects when the server exits
 *  first, or prints nothing of the sort within 60 s. */
function startServer(project, port = 0) {
  const proc = spawn(BATON, ['serve', '--listen', `127.0.0.1:${port}`], {
    cwd: project,
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
      const m = /open (http:\/\/127\.0\.0\.1:(\d+))\/(?:#token=(\S+)|\s*\(token in (.+)\))\n/.exec(out);
      if (!m) return;
      clearTimeout(guard);
      const token = m[3] ? decodeURIComponent(m[3]) : fs.readFileSync(m[4], 'utf8').trim();
      resolve({ proc, url: `${m[1]}/#token=${encodeURIComponent(token)}`, origin: m[1], port: Number(m[2]), token });
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

/** Runs SQL on PROJECT's state database (read-only, Debian's sqlite3) and returns its
 *  rows' first column, one string a row. */
function sql(project, query) {
  const out = execFileSync('sqlite3', ['-readonly', path.join(project, '.baton', 'state.db'), query],
    { encoding: 'utf8', timeout: 30000 });
  return out.split('\n').filter((l) => l !== '');
}

/** The global ids of RUN's events in PROJECT's store (the rowids the event stream
 *  sends as `id:`), in order. */
function storeEventIds(project, run) {
  if (!/^[A-Za-z0-9._-]+$/.test(run)) throw new Error(`unexpected run id ${run}`);
  return sql(project, `SELECT rowid FROM events WHERE run_id = '${run}' ORDER BY rowid`).map(Number);
}

/** Resolves once CHECK() (sync or async) is true, asking every 100 ms, for a state
 *  that sends no event (a process outside the test ended); rejects after 30 s with
 *  WHAT in the message. */
async function until(what, check) {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`still not true after 30 s: ${what}`);
}

/** The shared headless browser (Debian's chromium, no sandbox: the tests run as root). */
async function getBrowser() {
  if (!browser) {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/setup-browser`);
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

/** Cancels the runs a test left unfinished (`baton cancel`: their `baton run` lives in
 *  a session of its own and outlives the server), kills every server (SIGKILL to its
 *  group), closes the browser and removes the projects. */
async function cleanup() {
  for (const dir of dirs) {
    let open = [];
    try {
      open = sql(dir, "SELECT id FROM runs WHERE status IN ('running', 'waiting', 'paused')");
    } catch {}  // no state database: no run
    for (const run of open) {
      try {
        execFileSync(BATON, ['cancel', run, '--timeout', '20'], { cwd: dir, stdio: 'ignore', timeout: 60000 });
      } catch {}
    }
  }
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

module.exports = { makeProject, startServer, killServer, api, storeEventIds, sql, until, newPage, screenshot, cleanup };
