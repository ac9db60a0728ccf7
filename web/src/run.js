// The run detail: the run's state, tokens and cost, Cancel / Pause / Resume, its DAG
// (live colours), the timeline of its attempts, and the panel of the selected task.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, enc } from './api.js';
import { useLive } from './live.js';
import { Dag } from './dag.js';
import { Timeline } from './timeline.js';
import { TaskPanel } from './task.js';
import { Status, Progress, clock, elapsed, count, usd } from './format.js';

/** Run ID; TASK the selected task ('' for none); NAVIGATE(hash). */
export function RunView({ id, task, navigate }) {
  const forRun = (ev) => ev.run_id === id;
  const run = useLive(() => api(`/api/v1/runs/${enc(id)}`), forRun, [id]);
  const graph = useLive(() => api(`/api/v1/runs/${enc(id)}/graph`),
    (ev) => ev.run_id === id && ev.kind === 'run.created', [id]);
  const attempts = useLive(() => api(`/api/v1/runs/${enc(id)}/attempts`),
    (ev) => ev.run_id === id && (ev.kind.startsWith('attempt.') || ev.kind.startsWith('run.')), [id]);
  const r = run.data;
  if (run.error && !r) return html`<section class="view"><p class="error">${run.error.message}</p>
    <a href="#/">All runs</a></section>`;
  if (!r) return html`<section class="view"><p class="note">Loading run ${id}…</p></section>`;
  const statuses = new Map((r.tasks || []).map((t) => [t.id, t.status]));
  const status = (t) => statuses.get(t) || 'pending';
  const select = (t) => navigate(`#/runs/${id}/tasks/${encodeURIComponent(t)}`);
  return html`<section class="view run-view" data-run=${id} data-status=${r.status}>
    <div class="run-head">
      <div>
        <a href="#/" class="back">← Runs</a>
        <h1><span class="mono">${id}</span> · ${r.workflow}</h1>
        <div class="sub">
          <${Status} status=${r.status} />
          ${r.live ? html`<span class="tag">live</span>` : ''}
          <span>started ${clock(r.created_at)}</span>
          <span>${elapsed(r.created_at, r.ended_at)}</span>
          <span>tokens ${count(r.input_tokens)} in / ${count(r.output_tokens)} out</span>
          <span>cost ${usd(r.cost_usd)}</span>
          <span class="path mono">${r.workflow_path}</span>
        </div>
      </div>
      <${RunActions} run=${r} reload=${run.reload} />
    </div>
    <${Progress} byStatus=${r.tasks_by_status} total=${r.tasks_total} />
    <div class=${task ? 'run-body with-panel' : 'run-body'}>
      <div class="run-main">
        <h2>Graph</h2>
        ${graph.data ? html`<${Dag} graph=${graph.data} status=${status} selected=${task}
          onSelect=${select} />` : html`<p class="note">${graph.error ? graph.error.message : 'Loading the graph…'}</p>`}
        <h2>Timeline</h2>
        ${attempts.data && html`<${Timeline} attempts=${attempts.data.attempts}
          start=${r.created_at} end=${r.ended_at} onSelect=${select} />`}
        ${r.inputs && Object.keys(r.inputs).length > 0 && html`<h2>Inputs</h2>
          <dl class="facts">${Object.entries(r.inputs).map(([k, v]) => html`<dt>${k}</dt>
            <dd class="mono">${typeof v === 'string' ? v : JSON.stringify(v)}</dd>`)}</dl>`}
      </div>
      ${task && html`<${TaskPanel} key=${task} run=${id} task=${task}
        onClose=${() => navigate(`#/runs/${id}`)} />`}
    </div>
  </section>`;
}

const ACTIVE = ['running', 'waiting', 'paused'];

/** Cancel (asks once more), Pause and Resume for RUN; RELOAD() after one. */
function RunActions({ run, reload }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const act = async (what) => {
    setBusy(true);
    setError(null);
    try {
      await api(`/api/v1/runs/${enc(run.id)}/${what}`, { method: 'POST' });
      reload();
    } catch (e) {
      setError(`${what}: ${e.message}`);
    }
    setConfirming(false);
    setBusy(false);
  };
  const active = ACTIVE.includes(run.status);
  return html`<div class="run-actions">
    ${run.status === 'running' && html`<button class="pause" disabled=${busy}
      onClick=${() => act('pause')}>Pause</button>`}
    ${(run.status === 'paused' || run.status === 'waiting' || (active && !run.live)) &&
      html`<button class="resume" disabled=${busy} onClick=${() => act('resume')}>Resume</button>`}
    ${active && !confirming && html`<button class="cancel danger" disabled=${busy}
      onClick=${() => setConfirming(true)}>Cancel run</button>`}
    ${confirming && html`<span class="confirm">Cancel this run?
      <button class="confirm-cancel danger" disabled=${busy} onClick=${() => act('cancel')}>Yes, cancel</button>
      <button onClick=${() => setConfirming(false)}>No</button></span>`}
    ${error && html`<p class="error">${error}</p>`}
  </div>`;
}
