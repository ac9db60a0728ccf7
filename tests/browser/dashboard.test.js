// End-to-end tests of the dashboard (issue 13): the built `baton serve` on a throwaway
// project, driven in headless Chromium (Debian's chromium through playwright-core).
// Tasks are shell commands that wait for files this test creates (`release`), so each
// step is caused by the test and awaited as a DOM state (Playwright's auto-waiting
// locators), never by a fixed sleep. Screenshots of each view go to BATON_SCREENSHOTS.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const lib = require('./lib.js');

const WAIT = 60000;  // the longest any one DOM state is awaited (ms)

after(lib.cleanup);

/** Creates the file NAME in DIR: the task waiting for it goes on. */
function release(dir, name) {
  fs.writeFileSync(path.join(dir, name), '');
}

/** A shell line that waits for the file NAME in the project. */
const waitFor = (name) => `while [ ! -e @DIR@/${name} ]; do sleep 0.05; done`;

const LIVE_WORKFLOW = `version: "1.0"
name: browser-live
settings: {timeout: 2m}
tasks:
  - id: first
    run: |
      printf 'first line\\n'
      printf '<img id=injected src=x> &amp; <b>not bold</b>\\n'
      ${waitFor('go-first')}
      printf '\\033[32msecond line\\033[0m \\033[1;38;5;208mbold orange\\033[0m \\033[38;2;1;2;3mtrue colour\\033[0m\\n'
      ${waitFor('go-first-2')}
      printf 'first done\\n'
  - id: second
    dependencies: [first]
    run: printf 'second ran\\n'
`;

/** Signs PAGE in with the URL SERVER printed and waits for the live stream. */
async function openDashboard(page, server) {
  await page.goto(server.url);
  await page.locator('[data-stream="live"]').waitFor({ timeout: WAIT });
  assert.equal(new URL(page.url()).hash.includes('token'), false, 'the token left the URL');
}

async function startRun(server, workflow) {
  const run = await lib.api(server, '/api/v1/runs', { method: 'POST', body: { workflow } });
  assert.ok(run.id, 'POST /api/v1/runs answered a run id');
  return run.id;
}

function noPageErrors(page) {
  assert.deepEqual(page.errors, [], 'console errors or exceptions in the page (CSP?)');
}

test('the runs list shows a run as it starts and as it ends', { timeout: 180000 }, async () => {
  const dir = lib.makeProject({ 'wf.yaml': LIVE_WORKFLOW });
  const server = await lib.startServer(dir);
  const page = await lib.newPage();
  await openDashboard(page, server);
  await page.locator('.runs-view .empty').waitFor({ timeout: WAIT });
  const id = await startRun(server, 'wf.yaml');
  const row = page.locator(`tr.run-row[data-run="${id}"]`);
  await row.waitFor({ timeout: WAIT });
  await page.locator(`tr.run-row[data-run="${id}"][data-status="running"]`).waitFor({ timeout: WAIT });
  assert.match(await row.innerText(), /browser-live/);
  await lib.screenshot(page, 'runs');
  release(dir, 'go-first');
  release(dir, 'go-first-2');
  await page.locator(`tr.run-row[data-run="${id}"][data-status="success"]`).waitFor({ timeout: WAIT });
  assert.match(await row.locator('.progress .num').innerText(), /^2\/2$/);
  noPageErrors(page);
  // The deliveries view, for its screenshot (no webhook is configured here; a server
  // without webhooks answers 404, which the view says).
  await page.goto(`${server.origin}/#/deliveries`);
  await page.locator('.deliveries-view .empty, .deliveries-view table').first().waitFor({ timeout: WAIT });
  await lib.screenshot(page, 'deliveries');
});

test('a DAG node changes colour when its task ends', { timeout: 180000 }, async () => {
  const dir = lib.makeProject({ 'wf.yaml': LIVE_WORKFLOW });
  const server = await lib.startServer(dir);
  const page = await lib.newPage();
  await openDashboard(page, server);
  const id = await startRun(server, 'wf.yaml');
  await page.goto(`${server.origin}/#/runs/${id}`);
  const first = page.locator('g.node[data-task="first"]');
  await page.locator('g.node[data-task="first"][data-status="running"]').waitFor({ timeout: WAIT });
  await page.locator('g.node[data-task="second"][data-status="pending"]').waitFor({ timeout: WAIT });
  const fill = () => first.locator('rect').evaluate((r) => getComputedStyle(r).fill);
  const running = await fill();
  release(dir, 'go-first');
  release(dir, 'go-first-2');
  await page.locator('g.node[data-task="first"][data-status="success"]').waitFor({ timeout: WAIT });
  const ended = await fill();
  assert.notEqual(ended, running, 'the node of a task that ended has another colour');
  await page.locator('g.node[data-task="second"][data-status="success"]').waitFor({ timeout: WAIT });
  assert.equal(await page.locator('g.node[data-task="second"] rect').evaluate((r) => getComputedStyle(r).fill),
    ended, 'two tasks that succeeded have one colour');
  await page.locator('.run-view[data-status="success"]').waitFor({ timeout: WAIT });
  await page.locator('.timeline rect.tl-bar').first().waitFor({ timeout: WAIT });
  await lib.screenshot(page, 'run');
  noPageErrors(page);
});

test('the log tail of a running task grows', { timeout: 180000 }, async () => {
  const dir = lib.makeProject({ 'wf.yaml': LIVE_WORKFLOW });
  const server = await lib.startServer(dir);
  const page = await lib.newPage();
  await openDashboard(page, server);
  const id = await startRun(server, 'wf.yaml');
  await page.goto(`${server.origin}/#/runs/${id}/tasks/first`);
  const log = page.locator('.task-panel pre.log-body');
  await log.getByText('first line').waitFor({ timeout: WAIT });
  assert.equal(await log.getByText('second line').count(), 0);
  release(dir, 'go-first');
  // The ANSI green of the second line is a class (no inline style under the CSP).
  await log.locator('.ansi-green-fg', { hasText: 'second line' }).waitFor({ timeout: WAIT });
  assert.match(await log.innerText(),
    /first line\s+<img id=injected src=x> &amp; <b>not bold<\/b>\s+second line bold orange true colour/);
  // Bold, 256 and true colours have no class: styled without an inline style attribute
  // (which the CSP would refuse, and noPageErrors would see).
  const style = (text) => log.getByText(text).evaluate((e) => {
    const s = getComputedStyle(e);
    return `${s.color} ${s.fontWeight}`;
  });
  assert.equal(await style('bold orange'), 'rgb(255, 135, 0) 700');
  assert.equal(await style('true colour'), 'rgb(1, 2, 3) 400');
  // What a task prints is text, never markup.
  assert.equal(await page.locator('#injected').count(), 0);
  assert.equal(await log.locator('b').count(), 0);
  await lib.screenshot(page, 'task');
  release(dir, 'go-first-2');
  await log.getByText('first done').waitFor({ timeout: WAIT });
  await page.locator('.task-panel .badge[data-status="success"]').first().waitFor({ timeout: WAIT });
  noPageErrors(page);
});

test('clicking Approve in the inbox passes a gate', { timeout: 180000 }, async () => {
  const dir = lib.makeProject({
    'gate.yaml': `version: "1.0"
name: browser-gate
settings: {timeout: 2m}
tasks:
  - id: build
    run: printf 'built\\n'
  - id: ship
    dependencies: [build]
    gate: {message: "ship it?"}
  - id: after
    dependencies: [ship]
    run: printf 'shipped\\n'
`,
  });
  const server = await lib.startServer(dir);
  const page = await lib.newPage();
  await openDashboard(page, server);
  await page.goto(`${server.origin}/#/approvals`);
  await page.locator('.approvals-view .empty').waitFor({ timeout: WAIT });
  const id = await startRun(server, 'gate.yaml');
  const card = page.locator(`.approval[data-run="${id}"][data-task="ship"]`);
  await card.waitFor({ timeout: WAIT });
  assert.match(await card.innerText(), /ship it\?/);
  await lib.screenshot(page, 'approvals');
  await card.locator('textarea').fill('looks good');
  await card.locator('button.approve').click();
  await card.waitFor({ state: 'detached', timeout: WAIT });
  await page.goto(`${server.origin}/#/runs/${id}`);
  await page.locator('.run-view[data-status="success"]').waitFor({ timeout: WAIT });
  await page.locator('g.node[data-task="after"][data-status="success"]').waitFor({ timeout: WAIT });
  const ship = await lib.api(server, `/api/v1/runs/${id}/tasks/ship`);
  assert.equal(ship.status, 'success');
  noPageErrors(page);
});

test('Cancel stops a running run and its task', { timeout: 180000 }, async () => {
  const dir = lib.makeProject({
    'long.yaml': `version: "1.0"
name: browser-cancel
settings: {timeout: 5m, kill_grace: 2s}
tasks:
  - id: long
    run: echo $$ > @DIR@/long.pid; exec sleep 300
  - id: never
    dependencies: [long]
    run: printf 'should not run\\n'
`,
  });
  const server = await lib.startServer(dir);
  const page = await lib.newPage();
  await openDashboard(page, server);
  const id = await startRun(server, 'long.yaml');
  await page.goto(`${server.origin}/#/runs/${id}`);
  await page.locator('g.node[data-task="long"][data-status="running"]').waitFor({ timeout: WAIT });
  await page.locator('button.cancel').click();
  await page.locator('button.confirm-cancel').click();
  await page.locator('.run-view[data-status="cancelled"]').waitFor({ timeout: WAIT });
  await page.locator('g.node[data-task="never"][data-status="cancelled"]').waitFor({ timeout: WAIT });
  const run = await lib.api(server, `/api/v1/runs/${id}`);
  assert.equal(run.status, 'cancelled');
  assert.notEqual(run.tasks.find((t) => t.id === 'long').status, 'success');
  // The task's process is gone (it is not our child: bounded polling, 30 s).
  const pid = Number(fs.readFileSync(path.join(dir, 'long.pid'), 'utf8'));
  await lib.until(`the cancelled task's process ${pid} ended`, () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
  noPageErrors(page);
});

test('after the server is killed and restarted the page misses no event', { timeout: 240000 }, async () => {
  const dir = lib.makeProject({
    'wf.yaml': `version: "1.0"
name: browser-restart
settings: {timeout: 2m}
tasks:
  - id: a
    run: |
      printf 'a waits\\n'
      ${waitFor('go-a')}
  - id: b
    dependencies: [a]
    run: |
      printf 'b waits\\n'
      ${waitFor('go-b')}
`,
  });
  const first = await lib.startServer(dir);
  const page = await lib.newPage();
  await openDashboard(page, first);
  const id = await startRun(first, 'wf.yaml');
  await page.goto(`${first.origin}/#/runs/${id}`);
  await page.locator('g.node[data-task="a"][data-status="running"]').waitFor({ timeout: WAIT });

  await lib.killServer(first);
  await page.locator('[data-stream="reconnecting"], [data-stream="offline"]').first().waitFor({ timeout: WAIT });
  release(dir, 'go-a');  // a ends while no server runs
  const second = await lib.startServer(dir, first.port);
  await page.locator('[data-stream="live"]').waitFor({ timeout: WAIT });
  const now = await lib.api(second, `/api/v1/runs/${id}`);
  if (!now.live && !['success', 'failed', 'cancelled'].includes(now.status)) {
    await lib.api(second, `/api/v1/runs/${id}/resume`, { method: 'POST' });
  }
  await page.locator('g.node[data-task="b"][data-status="running"]').waitFor({ timeout: WAIT });
  release(dir, 'go-b');
  await page.locator('.run-view[data-status="success"]').waitFor({ timeout: WAIT });

  const store = lib.storeEventIds(dir, id);
  assert.ok(store.length > 5, `the store holds the run's events (${store.length})`);
  const last = store[store.length - 1];
  await page.waitForFunction((n) => window.__baton.events.includes(n), last, { timeout: WAIT });
  const seen = await page.evaluate(() => window.__baton.events);
  assert.deepEqual(seen, store, 'the page holds every event of the store once, in order');
});

test('without the token the page asks for it, and refuses a wrong one', { timeout: 120000 }, async () => {
  const dir = lib.makeProject({ 'wf.yaml': LIVE_WORKFLOW });
  const server = await lib.startServer(dir);
  // The page and its files need no token and come with a strict CSP.
  const index = await fetch(`${server.origin}/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-security-policy') || '', /default-src 'self'/);
  const app = await fetch(`${server.origin}/assets/app.js`);
  assert.equal(app.status, 200);
  assert.match(app.headers.get('content-type'), /^text\/javascript/);
  assert.equal((await fetch(`${server.origin}/assets/nope.js`)).status, 404);
  const page = await lib.newPage();
  await page.goto(`${server.origin}/`);
  const form = page.locator('form.signin');
  await form.waitFor({ timeout: WAIT });
  await form.locator('input[name="token"]').fill('not-the-token');
  await form.locator('button[type="submit"]').click();
  await form.locator('.error').waitFor({ timeout: WAIT });
  await lib.screenshot(page, 'signin');
  await form.locator('input[name="token"]').fill(server.token);
  await form.locator('button[type="submit"]').click();
  await page.locator('.runs-view').waitFor({ timeout: WAIT });
  await page.locator('[data-stream="live"]').waitFor({ timeout: WAIT });
});

test('a run of 400 tasks starts as a grid and draws in full on demand', { timeout: 180000 }, async () => {
  const tasks = [`  - id: t0\n    run: ${waitFor('go')}`];
  for (let i = 1; i < 400; i++) {
    tasks.push(`  - id: t${i}\n    dependencies: [t${Math.floor((i - 1) / 3)}]\n    run: "true"`);
  }
  const dir = lib.makeProject({
    'big.yaml': `version: "1.0"\nname: browser-big\nsettings: {timeout: 2m}\ntasks:\n${tasks.join('\n')}\n`,
  });
  const server = await lib.startServer(dir);
  const page = await lib.newPage();
  await openDashboard(page, server);
  const id = await startRun(server, 'big.yaml');
  await page.goto(`${server.origin}/#/runs/${id}`);
  await page.locator('.dag.collapsed .cell[data-task="t0"][data-status="running"]').waitFor({ timeout: WAIT });
  assert.equal(await page.locator('.dag.collapsed .cell').count(), 400);
  assert.equal(await page.locator('g.node').count(), 0);
  await page.getByRole('button', { name: 'Draw the full graph' }).click();
  // The layout runs in the worker; the page draws every node once it answers.
  await page.locator('g.node[data-task="t399"]').waitFor({ timeout: WAIT });
  assert.equal(await page.locator('g.node').count(), 400);
  assert.equal(await page.locator('path.edge').count(), 399);
  await page.locator('g.node[data-task="t0"][data-status="running"]').waitFor({ timeout: WAIT });
  await lib.screenshot(page, 'run-400-tasks');
  await page.locator('button.cancel').click();
  await page.locator('button.confirm-cancel').click();
  await page.locator('.run-view[data-status="cancelled"]').waitFor({ timeout: WAIT });
  noPageErrors(page);
});

test('Retry task runs a failed task and its downstream again', { timeout: 180000 }, async () => {
  const dir = lib.makeProject({
    'flaky.yaml': `version: "1.0"
name: browser-retry
settings: {timeout: 2m}
tasks:
  - id: flaky
    run: test -e @DIR@/fixed || { echo 'not fixed yet' >&2; exit 3; }
  - id: after
    dependencies: [flaky]
    run: printf 'after ran\\n'
`,
  });
  const server = await lib.startServer(dir);
  const page = await lib.newPage();
  await openDashboard(page, server);
  const id = await startRun(server, 'flaky.yaml');
  await page.goto(`${server.origin}/#/runs/${id}/tasks/flaky`);
  await page.locator('.run-view[data-status="failed"]').waitFor({ timeout: WAIT });
  await page.locator('g.node[data-task="after"][data-status="cancelled"]').waitFor({ timeout: WAIT });
  const panel = page.locator('.task-panel[data-task="flaky"]');
  await panel.locator('pre.log-body').getByText('not fixed yet').waitFor({ timeout: WAIT });
  release(dir, 'fixed');
  await panel.locator('button.retry-task').click();
  await page.locator('.run-view[data-status="success"]').waitFor({ timeout: WAIT });
  await page.locator('g.node[data-task="after"][data-status="success"]').waitFor({ timeout: WAIT });
  const flaky = await lib.api(server, `/api/v1/runs/${id}/tasks/flaky`);
  assert.equal(flaky.attempts.length, 2);
  noPageErrors(page);
});

test('Pause stops new tasks from starting and Resume goes on', { timeout: 180000 }, async () => {
  const dir = lib.makeProject({
    'two.yaml': `version: "1.0"
name: browser-pause
settings: {timeout: 2m}
tasks:
  - id: one
    run: ${waitFor('go-one')}
  - id: two
    dependencies: [one]
    run: printf 'two ran\\n'
`,
  });
  const server = await lib.startServer(dir);
  const page = await lib.newPage();
  await openDashboard(page, server);
  const id = await startRun(server, 'two.yaml');
  await page.goto(`${server.origin}/#/runs/${id}`);
  await page.locator('g.node[data-task="one"][data-status="running"]').waitFor({ timeout: WAIT });
  // The server answers once `baton pause` recorded the request.
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/runs/${id}/pause`), { timeout: WAIT }),
    page.locator('button.pause').click(),
  ]);
  assert.equal(answer.status(), 202);
  release(dir, 'go-one');  // the running attempt finishes; nothing new starts
  await page.locator('.run-view[data-status="paused"]').waitFor({ timeout: WAIT });
  assert.equal(await page.locator('g.node[data-task="two"][data-status="success"]').count(), 0);
  // The paused `baton run` exits after recording it (no event says when).
  await lib.until('the paused run has no live orchestrator', async () =>
    !(await lib.api(server, `/api/v1/runs/${id}`)).live);
  await page.locator('button.resume').click();
  await page.locator('.run-view[data-status="success"]').waitFor({ timeout: WAIT });
  await page.locator('g.node[data-task="two"][data-status="success"]').waitFor({ timeout: WAIT });
  noPageErrors(page);
});

test('deliveries are listed and Redeliver sends one again', { timeout: 180000 }, async (t) => {
  // A receiver on 127.0.0.1 that takes every delivery; each request resolves a waiter.
  const http = require('node:http');
  const received = [];
  let onRequest = () => {};
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      received.push(body);
      res.end('ok');
      onRequest();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  t.after(() => receiver.close());
  const nextRequest = () => new Promise((r) => { onRequest = r; });
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  const dir = lib.makeProject({
    'one.yaml': 'version: "1.0"\nname: browser-hooks\ntasks:\n  - id: only\n    run: "true"\n',
    '.baton/hook.secret': `${secret}\n`,
    '.baton/config.yaml': `webhooks:\n  - url: http://127.0.0.1:${receiver.address().port}/hook\n` +
      '    secret: {file: .baton/hook.secret}\n',
  });
  const server = await lib.startServer(dir);
  const probe = await fetch(`${server.origin}/api/v1/webhooks/deliveries`,
    { headers: { Authorization: `Bearer ${server.token}` } });
  if (probe.status === 404) {
    t.skip('this baton serve lists no webhook deliveries yet (404)');
    return;
  }
  const page = await lib.newPage();
  await openDashboard(page, server);
  const id = await startRun(server, 'one.yaml');
  await page.goto(`${server.origin}/#/runs/${id}`);
  await page.locator('.run-view[data-status="success"]').waitFor({ timeout: WAIT });
  await page.goto(`${server.origin}/#/deliveries`);
  const delivered = page.locator('tr[data-delivery]:has(.badge[data-status="delivered"])');
  await delivered.first().waitFor({ timeout: WAIT });
  await lib.screenshot(page, 'deliveries');
  const before = received.length;
  const again = nextRequest();
  await delivered.first().locator('button.redeliver').click();
  await page.getByText('queued again').waitFor({ timeout: WAIT });
  let guard;
  await Promise.race([again, new Promise((_, no) => {  // the receiver got it once more
    guard = setTimeout(() => no(new Error('the redelivery never reached the receiver (60 s)')), WAIT);
  })]);
  clearTimeout(guard);
  assert.ok(received.length > before);
  noPageErrors(page);
});
