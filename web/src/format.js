// Small formatting helpers shared by the views (times are Unix seconds, costs USD).
import { html } from 'htm/preact';

/** A coloured badge for a run or task status (running, success, failed, ...). */
export function Status({ status }) {
  return html`<span class=${`badge st-${status}`} data-status=${status}>${status}</span>`;
}

/** "3.2 s", "4 min 05 s", "2 h 10 min" for SECONDS (≥ 0); "–" for a negative value. */
export function duration(seconds) {
  if (!(seconds >= 0)) return '–';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${String(Math.round(seconds % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** How long something that started at START (Unix s) has run: until END, or now. */
export function elapsed(start, end) {
  if (!start) return '–';
  return duration((end || Date.now() / 1000) - start);
}

/** A Unix time as local "HH:MM:SS" today, else "YYYY-MM-DD HH:MM". */
export function clock(t) {
  if (!t) return '–';
  const d = new Date(t * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.toDateString() === new Date().toDateString()) return `${hm}:${pad(d.getSeconds())}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

/** 1234567 → "1.2M", 12345 → "12.3k". */
export function count(n) {
  if (n == null) return '–';
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** USD with cents (or four decimals below a cent); "–" when unknown (null). */
export function usd(x) {
  if (x == null) return '–';
  if (x > 0 && x < 0.01) return `$${x.toFixed(4)}`;
  return `$${x.toFixed(2)}`;
}

/** The order statuses are shown in (progress bars, legends). */
export const STATUS_ORDER = ['success', 'running', 'waiting', 'ready', 'pending', 'failed',
  'cancelled', 'skipped', 'paused'];

/** A run's tasks by status as one stacked bar. */
export function Progress({ byStatus, total }) {
  const parts = STATUS_ORDER.filter((s) => byStatus && byStatus[s] > 0);
  const done = ((byStatus && byStatus.success) || 0);
  return html`<div class="progress" title=${parts.map((s) => `${s}: ${byStatus[s]}`).join(', ')}>
    <div class="bar">${parts.map((s) => html`<span class=${`seg st-${s}`}
      style=${{ flexGrow: byStatus[s] }}></span>`)}</div>
    <span class="num">${done}/${total}</span>
  </div>`;
}
