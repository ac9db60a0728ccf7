// The dashboard of `baton serve` (docs/dashboard.md): signs in with the token of the URL
// that `baton serve` printed (#token=...), opens the one event stream of the tab, and
// routes between the views by the location's hash:
//   #/                      runs list          #/approvals   approvals inbox
//   #/runs/ID               run detail         #/deliveries  webhook deliveries
//   #/runs/ID/tasks/TASK    run detail with the task's panel
import { html } from 'htm/preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, login, setUnauthorizedHandler } from './api.js';
import { startEvents, onEvent, onStreamStatus } from './events.js';
import { RunsView } from './runs.js';
import { RunView } from './run.js';
import { ApprovalsView } from './approvals.js';
import { DeliveriesView } from './deliveries.js';

/** The view named by HASH: {view, run, task}. */
function route(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'runs' && parts[1]) {
    return { view: 'run', run: parts[1], task: parts[2] === 'tasks' ? parts.slice(3).join('/') : '' };
  }
  if (parts[0] === 'approvals') return { view: 'approvals' };
  if (parts[0] === 'deliveries') return { view: 'deliveries' };
  return { view: 'runs' };
}

function navigate(hash) {
  if (location.hash !== hash) location.hash = hash;
}

function useHash() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

/** The live stream's state (data-stream: connecting, live, reconnecting, offline). */
function StreamBadge() {
  const [s, setS] = useState('connecting');
  useEffect(() => onStreamStatus(setS), []);
  return html`<span class=${`stream stream-${s}`} data-stream=${s}
    title="the live event stream">${s === 'live' ? '● live' : `○ ${s}…`}</span>`;
}

/** How many tasks wait for a decision (nothing when none). */
function ApprovalsCount() {
  const [n, setN] = useState(0);
  useEffect(() => {
    let alive = true;
    const load = () => api('/api/v1/approvals').then((r) => alive && setN(r.approvals.length), () => {});
    load();
    const stop = onEventThrottled(load);
    return () => { alive = false; stop(); };
  }, []);
  return n > 0 ? html`<span class="count">${n}</span>` : null;
}

/** Calls FN at most every 500 ms while task events (or a reset) arrive. */
function onEventThrottled(fn) {
  let timer = null;
  const stop = onEvent((ev) => {
    if (ev.kind !== 'reset' && !ev.kind.startsWith('task.')) return;
    if (!timer) timer = setTimeout(() => { timer = null; fn(); }, 500);
  });
  return () => { stop(); if (timer) clearTimeout(timer); };
}

/** The top bar (views, the approvals count, the stream's state) and the routed view. */
function Shell() {
  const hash = useHash();
  const r = route(hash);
  const tab = (name, href, label, extra) => html`<a href=${href}
    class=${r.view === name || (name === 'runs' && r.view === 'run') ? 'tab on' : 'tab'}>${label}${extra}</a>`;
  return html`<div class="shell">
    <header class="top">
      <a href="#/" class="brand">baton</a>
      <nav>${tab('runs', '#/', 'Runs')}${tab('approvals', '#/approvals', 'Approvals', html`<${ApprovalsCount} />`)}
        ${tab('deliveries', '#/deliveries', 'Deliveries')}</nav>
      <${StreamBadge} />
    </header>
    <main>
      ${r.view === 'runs' && html`<${RunsView} navigate=${navigate} />`}
      ${r.view === 'run' && html`<${RunView} key=${r.run} id=${r.run} task=${r.task} navigate=${navigate} />`}
      ${r.view === 'approvals' && html`<${ApprovalsView} />`}
      ${r.view === 'deliveries' && html`<${DeliveriesView} />`}
    </main>
  </div>`;
}

/** The token form, shown when the API answers 401 (no session cookie, or a stale one). */
function SignIn({ onDone, failed }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(failed ? 'That token was not accepted.' : null);
  const submit = async (e) => {
    e.preventDefault();
    if (await login(token.trim())) onDone();
    else setError('That token was not accepted.');
  };
  return html`<form class="signin card" onSubmit=${submit}>
    <h1>baton</h1>
    <p>Open the URL that <code>baton serve</code> printed, or paste its token
      (the part after <code>#token=</code>).</p>
    <input name="token" type="password" autocomplete="off" placeholder="token" value=${token}
      onInput=${(e) => setToken(e.target.value)} />
    <button type="submit">Sign in</button>
    ${error && html`<p class="error">${error}</p>`}
  </form>`;
}

/** Signs in (the URL's #token=, else the session cookie, else the token form), then
 *  opens the event stream and shows the shell. */
function App() {
  // unknown: checking; in: signed in; out: the token form (failed: a token was refused)
  const [auth, setAuth] = useState({ state: 'unknown', failed: false });
  useEffect(() => {
    setUnauthorizedHandler(() => setAuth({ state: 'out', failed: false }));
    (async () => {
      const m = /^#token=([^&]*)/.exec(location.hash);
      let failed = false;
      if (m) {
        const ok = await login(decodeURIComponent(m[1]));
        history.replaceState(null, '', `${location.pathname}${location.search}#/`);
        failed = !ok;
      }
      try {
        await api('/api/v1/runs?page_size=1');
        setAuth({ state: 'in', failed: false });
      } catch (e) {
        setAuth({ state: e.status === 401 ? 'out' : 'in', failed });
      }
    })();
  }, []);
  useEffect(() => {
    if (auth.state === 'in') startEvents();
  }, [auth.state]);
  if (auth.state === 'unknown') return html`<p class="boot">Signing in…</p>`;
  if (auth.state === 'out') {
    return html`<${SignIn} failed=${auth.failed}
      onDone=${() => setAuth({ state: 'in', failed: false })} />`;
  }
  return html`<${Shell} />`;
}

render(html`<${App} />`, document.getElementById('app'));
