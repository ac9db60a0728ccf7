// The task panel: a task's state, why it failed or waits, its output (an agent's final
// answer), its attempts, the live tail of one attempt's log, and what can be done to
// it: Retry (with its downstream tasks), Approve or Reject (with a comment).
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, enc } from './api.js';
import { useLive } from './live.js';
import { LogTail } from './log.js';
import { Status, clock, elapsed, count, usd } from './format.js';

/** The task TASK of run RUN; ONCHANGED() after an action the server accepted. */
export function TaskPanel({ run, task, onClose }) {
  const [picked, setPicked] = useState(null);
  const live = useLive(() => api(`/api/v1/runs/${enc(run)}/tasks/${enc(task)}`),
    (ev) => ev.run_id === run && ev.task_id === task, [run, task]);
  const t = live.data;
  if (live.error && !t) return html`<aside class="task-panel"><p class="error">${live.error.message}</p></aside>`;
  if (!t) return html`<aside class="task-panel"><p class="note">Loading ${task}…</p></aside>`;
  const attempts = t.attempts || [];
  const shown = picked != null ? attempts.find((a) => a.number === picked) : attempts[attempts.length - 1];
  return html`<aside class="task-panel" data-task=${task}>
    <div class="panel-head">
      <h2 class="mono">${task}</h2> <${Status} status=${t.status} />
      <button class="close" title="Close" onClick=${onClose}>×</button>
    </div>
    <dl class="facts">
      ${t.agent && html`<dt>Agent</dt><dd>${t.agent}</dd>`}
      <dt>Attempts</dt><dd>${attempts.length}</dd>
      <dt>Started</dt><dd>${clock(t.started_at)}</dd>
      <dt>Duration</dt><dd>${elapsed(t.started_at, t.ended_at)}</dd>
      ${t.exit_code != null && html`<dt>Exit code</dt><dd>${t.exit_code}</dd>`}
      ${t.gate && html`<dt>Gate</dt><dd class="gate">${typeof t.gate === 'string' ? t.gate : t.gate.message || JSON.stringify(t.gate)}</dd>`}
      ${t.reason && html`<dt>Reason</dt><dd class="reason">${t.reason}</dd>`}
    </dl>
    <${Actions} run=${run} task=${task} status=${t.status} reload=${live.reload} />
    ${t.output && html`<h3>Output</h3><pre class="output">${t.output}</pre>`}
    ${attempts.length > 0 && html`<h3>Attempts</h3>
      <table class="attempts"><thead><tr><th>#</th><th>Agent</th><th>Status</th><th>Exit</th>
        <th>Error</th><th>Duration</th><th class="r">Tokens</th><th class="r">Cost</th></tr></thead>
      <tbody>${attempts.map((a) => html`<tr key=${a.number}
          class=${shown && a.number === shown.number ? 'sel' : ''} onClick=${() => setPicked(a.number)}>
        <td>${a.number}</td><td>${a.agent || 'command'}</td><td><${Status} status=${a.status} /></td>
        <td>${a.exit_code ?? a.exit_status ?? ''}</td>
        <td class="err">${[a.error_class, a.error].filter(Boolean).join(': ')}</td>
        <td>${elapsed(a.started_at, a.ended_at)}</td>
        <td class="r">${count(a.input_tokens)}/${count(a.output_tokens)}</td>
        <td class="r">${usd(a.cost_usd)}</td></tr>`)}</tbody></table>`}
    ${shown && html`<${LogTail} key=${shown.number} run=${run} task=${task}
      attempt=${shown.number} running=${!shown.ended_at} />`}
  </aside>`;
}

/** The buttons that act on a task in STATUS; RELOAD() after one succeeded. */
function Actions({ run, task, status, reload }) {
  const [comment, setComment] = useState('');
  const [downstream, setDownstream] = useState(true);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState(null);
  const act = async (what, body) => {
    setBusy(true);
    setMsg(null);
    try {
      await api(`/api/v1/runs/${enc(run)}/tasks/${enc(task)}/${what}`, { method: 'POST', body });
      setMsg({ ok: true, text: `${what}: done` });
      setComment('');
      reload();
    } catch (e) {
      setMsg({ ok: false, text: `${what}: ${e.message}` });
    }
    setBusy(false);
  };
  const canRetry = ['failed', 'cancelled', 'success', 'skipped'].includes(status);
  return html`<div class="actions">
    ${status === 'waiting' && html`<div class="decide">
      <textarea name="comment" placeholder="Comment (optional)" value=${comment}
        onInput=${(e) => setComment(e.target.value)}></textarea>
      <button class="approve" disabled=${busy} onClick=${() => act('approve', { comment })}>Approve</button>
      <button class="reject danger" disabled=${busy} onClick=${() => act('reject', { comment })}>Reject</button>
    </div>`}
    ${canRetry && html`<div class="retry">
      <button class="retry-task" disabled=${busy}
        onClick=${() => act('retry', { include_downstream: downstream })}>Retry task</button>
      <label><input type="checkbox" checked=${downstream}
        onChange=${(e) => setDownstream(e.target.checked)} /> with downstream tasks</label>
    </div>`}
    ${msg && html`<p class=${msg.ok ? 'ok' : 'error'}>${msg.text}</p>`}
  </div>`;
}
