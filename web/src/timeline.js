// The run's attempts on a time axis: one row per task (in order of first start), one
// bar per attempt from its start to its end (or now, while it runs), coloured by the
// attempt's status. At most MAX_ROWS rows are drawn.
import { html } from 'htm/preact';
import { duration } from './format.js';

const MAX_ROWS = 150;
const ROW_H = 18;
const LABEL_W = 170;
const WIDTH = 760;

/** ATTEMPTS [{task_id, number, status, started_at, ended_at, agent}] of a run that
 *  started at START (Unix s) and ended at END (0 = still going); ONSELECT(task). */
export function Timeline({ attempts, start, end, onSelect }) {
  const started = attempts.filter((a) => a.started_at > 0);
  if (started.length === 0) return html`<p class="note">No attempt has started yet.</p>`;
  const now = Date.now() / 1000;
  const t0 = Math.min(start || Infinity, ...started.map((a) => a.started_at));
  const t1 = Math.max(end || 0, ...started.map((a) => a.ended_at || now), t0 + 1);
  const rows = [];
  const byTask = new Map();
  for (const a of [...started].sort((x, y) => x.started_at - y.started_at)) {
    if (!byTask.has(a.task_id)) {
      byTask.set(a.task_id, []);
      rows.push(a.task_id);
    }
    byTask.get(a.task_id).push(a);
  }
  const shown = rows.slice(0, MAX_ROWS);
  const scale = (WIDTH - LABEL_W - 10) / (t1 - t0);
  const x = (t) => LABEL_W + (t - t0) * scale;
  const height = shown.length * ROW_H + 22;
  return html`<div class="timeline">
    <svg width=${WIDTH} height=${height} viewBox=${`0 0 ${WIDTH} ${height}`} role="img"
      aria-label="timeline of attempts">
      ${shown.map((task, i) => html`<g key=${task} class="tl-row" onClick=${() => onSelect(task)}>
        <text x="4" y=${i * ROW_H + 13} class="tl-label">${task.length > 24 ? `${task.slice(0, 23)}…` : task}</text>
        ${byTask.get(task).map((a) => html`<rect class=${`tl-bar st-${a.status}`}
          x=${x(a.started_at)} y=${i * ROW_H + 3} height=${ROW_H - 6}
          width=${Math.max(2, ((a.ended_at || now) - a.started_at) * scale)}>
          <title>${task} #${a.number} ${a.agent || ''}: ${a.status}, ${duration((a.ended_at || now) - a.started_at)}</title>
        </rect>`)}
      </g>`)}
      <text x=${LABEL_W} y=${height - 4} class="tl-axis">0</text>
      <text x=${WIDTH - 10} y=${height - 4} class="tl-axis" text-anchor="end">${duration(t1 - t0)}</text>
    </svg>
    ${rows.length > MAX_ROWS && html`<p class="note">${rows.length - MAX_ROWS} more tasks not drawn.</p>`}
  </div>`;
}
