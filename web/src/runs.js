// The runs list: newest first, live (refetched on every run-level or task event),
// filtered by status and workflow, with tokens and cost per run, and a form that
// starts a run of a workflow file of the project.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { useLive } from './live.js';
import { Status, Progress, clock, elapsed, count, usd } from './format.js';

const STATUSES = ['', 'running', 'waiting', 'paused', 'success', 'failed', 'cancelled'];
const PAGE = 50;

/** The runs list (the first view); NAVIGATE(hash) opens a run. */
export function RunsView({ navigate }) {
  const [status, setStatus] = useState('');
  const [workflow, setWorkflow] = useState('');
  const [pages, setPages] = useState(1);
  const live = useLive(async () => {
    // The first PAGES pages, so that "More" survives live refreshes.
    let runs = [];
    let token = '';
    for (let i = 0; i < pages; i++) {
      const q = new URLSearchParams({ status, workflow, page_size: PAGE, page_token: token });
      const r = await api(`/api/v1/runs?${q}`);
      runs = runs.concat(r.runs);
      token = r.next_page_token;
      if (!token) break;
    }
    return { runs, more: Boolean(token) };
  }, (ev) => ev.kind.startsWith('run.') || ev.kind.startsWith('task.'), [status, workflow, pages]);

  const runs = live.data ? live.data.runs : [];
  return html`<section class="view runs-view">
    <div class="toolbar">
      <h1>Runs</h1>
      <label>Status <select name="status" value=${status}
        onChange=${(e) => { setStatus(e.target.value); setPages(1); }}>
        ${STATUSES.map((s) => html`<option value=${s}>${s || 'any'}</option>`)}
      </select></label>
      <label>Workflow <input name="workflow" placeholder="name" value=${workflow}
        onChange=${(e) => { setWorkflow(e.target.value.trim()); setPages(1); }} /></label>
      <${StartRun} navigate=${navigate} />
    </div>
    ${live.error && html`<p class="error">${live.error.message}</p>`}
    ${live.data && runs.length === 0 && html`<div class="empty">
      <p>No runs${status || workflow ? ' match these filters' : ' yet'}.</p>
      <p>Start one with the form above, or <code>baton run WORKFLOW.yaml</code> in this
      project: it appears here as it starts.</p></div>`}
    ${runs.length > 0 && html`<table class="runs">
      <thead><tr><th>Run</th><th>Workflow</th><th>Status</th><th>Tasks</th>
        <th>Started</th><th>Duration</th><th class="r">Tokens in/out</th>
        <th class="r">Cost</th></tr></thead>
      <tbody>${runs.map((r) => html`<tr key=${r.id} class="run-row" data-run=${r.id}
          data-status=${r.status} onClick=${() => navigate(`#/runs/${r.id}`)}>
        <td><a href=${`#/runs/${r.id}`} class="mono">${r.id}</a></td>
        <td title=${r.workflow_path}>${r.workflow}</td>
        <td><${Status} status=${r.status} /></td>
        <td><${Progress} byStatus=${r.tasks_by_status} total=${r.tasks_total} /></td>
        <td>${clock(r.created_at)}</td>
        <td>${elapsed(r.created_at, r.ended_at)}</td>
        <td class="r">${count(r.input_tokens)} / ${count(r.output_tokens)}</td>
        <td class="r">${usd(r.cost_usd)}</td>
      </tr>`)}</tbody></table>`}
    ${live.data && live.data.more && html`<button onClick=${() => setPages(pages + 1)}>
      More runs</button>`}
  </section>`;
}

/** A workflow path of the project and a button that starts it (POST /api/v1/runs). */
function StartRun({ navigate }) {
  const [path, setPath] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    if (!path.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const run = await api('/api/v1/runs', { method: 'POST', body: { workflow: path.trim() } });
      navigate(`#/runs/${run.id}`);
    } catch (err) {
      setError(err.message);
    }
    setBusy(false);
  };
  return html`<form class="start" onSubmit=${submit}>
    <input name="workflow-path" placeholder="workflow.yaml" value=${path}
      onInput=${(e) => setPath(e.target.value)} />
    <button type="submit" disabled=${busy}>Start run</button>
    ${error && html`<span class="error">${error}</span>`}
  </form>`;
}
