// The approvals inbox: every waiting task across runs (gates, escalated failures),
// each with a comment and Approve / Reject; live on task events.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, enc } from './api.js';
import { useLive } from './live.js';
import { clock, elapsed } from './format.js';

/** The approvals inbox: GET /api/v1/approvals, refetched on task and run events. */
export function ApprovalsView() {
  const live = useLive(() => api('/api/v1/approvals'),
    (ev) => ev.kind.startsWith('task.') || ev.kind.startsWith('run.'), []);
  const list = live.data ? live.data.approvals : [];
  return html`<section class="view approvals-view">
    <h1>Approvals</h1>
    ${live.error && html`<p class="error">${live.error.message}</p>`}
    ${live.data && list.length === 0 && html`<p class="empty">Nothing waits for a decision.</p>`}
    ${list.map((a) => html`<${Approval} key=${`${a.run_id}/${a.task_id}`} a=${a} reload=${live.reload} />`)}
  </section>`;
}

/** One waiting task A {run_id, task_id, workflow, since, reason}; RELOAD() after a decision. */
function Approval({ a, reload }) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const act = async (what) => {
    setBusy(true);
    setError(null);
    try {
      await api(`/api/v1/runs/${enc(a.run_id)}/tasks/${enc(a.task_id)}/${what}`,
        { method: 'POST', body: { comment } });
      reload();
    } catch (e) {
      setError(e.message);
      setBusy(false);
    }
  };
  return html`<div class="approval card" data-run=${a.run_id} data-task=${a.task_id}>
    <div class="approval-head">
      <a href=${`#/runs/${a.run_id}/tasks/${encodeURIComponent(a.task_id)}`} class="mono">${a.task_id}</a>
      <span> in ${a.workflow} (<a href=${`#/runs/${a.run_id}`} class="mono">${a.run_id}</a>)</span>
      <span class="since" title=${clock(a.since)}>waiting ${elapsed(a.since)}</span>
    </div>
    ${a.reason && html`<p class="reason">${a.reason}</p>`}
    <div class="decide">
      <textarea name="comment" placeholder="Comment (optional)" value=${comment}
        onInput=${(e) => setComment(e.target.value)}></textarea>
      <button class="approve" disabled=${busy} onClick=${() => act('approve')}>Approve</button>
      <button class="reject danger" disabled=${busy} onClick=${() => act('reject')}>Reject</button>
    </div>
    ${error && html`<p class="error">${error}</p>`}
  </div>`;
}
