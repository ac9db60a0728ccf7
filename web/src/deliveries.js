// Webhook deliveries: each with its event type, target URL, status, attempts and last
// error, filtered by status, with Redeliver. Refetched every REFRESH_MS while shown
// (deliveries have no events on the stream) and after Redeliver.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, enc } from './api.js';
import { useLive } from './live.js';
import { Status, clock } from './format.js';

const REFRESH_MS = 5000;
const STATUSES = ['', 'pending', 'delivered', 'failed', 'disabled'];

/** The webhook deliveries: GET /api/v1/webhooks/deliveries, with Redeliver. */
export function DeliveriesView() {
  const [status, setStatus] = useState('');
  const [pages, setPages] = useState(1);
  const live = useLive(async () => {
    let deliveries = [];
    let token = '';
    for (let i = 0; i < pages; i++) {
      const q = new URLSearchParams({ status, page_token: token });
      const r = await api(`/api/v1/webhooks/deliveries?${q}`);
      deliveries = deliveries.concat(r.deliveries);
      token = r.next_page_token;
      if (!token) break;
    }
    return { deliveries, more: Boolean(token) };
  }, () => false, [status, pages]);
  useEffect(() => {
    const t = setInterval(live.reload, REFRESH_MS);  // (reload reads a ref: stable)
    return () => clearInterval(t);
  }, []);
  const [msg, setMsg] = useState(null);
  const redeliver = async (id) => {
    setMsg(null);
    try {
      await api(`/api/v1/webhooks/deliveries/${enc(id)}/redeliver`, { method: 'POST' });
      setMsg({ ok: true, text: `delivery ${id} queued again` });
      live.reload();
    } catch (e) {
      setMsg({ ok: false, text: `redeliver ${id}: ${e.message}` });
    }
  };
  const list = live.data ? live.data.deliveries : [];
  return html`<section class="view deliveries-view">
    <div class="toolbar"><h1>Webhook deliveries</h1>
      <label>Status <select value=${status} onChange=${(e) => { setStatus(e.target.value); setPages(1); }}>
        ${STATUSES.map((s) => html`<option value=${s}>${s || 'any'}</option>`)}</select></label></div>
    ${live.error && live.error.status === 404 && html`<p class="empty unavailable">This server
      keeps no webhook deliveries (${live.error.message}).</p>`}
    ${live.error && live.error.status !== 404 && html`<p class="error">${live.error.message}</p>`}
    ${msg && html`<p class=${msg.ok ? 'ok' : 'error'}>${msg.text}</p>`}
    ${live.data && list.length === 0 && html`<p class="empty">No deliveries${status ? ' with this status' : ''}.
      Webhooks are configured in <code>.baton/config.yaml</code>.</p>`}
    ${list.length > 0 && html`<table class="deliveries"><thead><tr><th>Id</th><th>Event</th>
      <th>URL</th><th>Status</th><th class="r">Attempts</th><th>Last answer</th><th>Created</th>
      <th>Next attempt</th><th></th></tr></thead>
      <tbody>${list.map((d) => html`<tr key=${d.id} data-delivery=${d.id}>
        <td class="mono">${d.id}</td><td>${d.type}</td><td class="url" title=${d.url}>${d.url}</td>
        <td><${Status} status=${d.status} /></td><td class="r">${d.attempts}</td>
        <td class=${d.last_error || !(d.last_status_code >= 200 && d.last_status_code < 300) ? 'err' : 'ok'}>
          ${d.last_status_code ? `HTTP ${d.last_status_code}` : ''}${d.last_error ? ` ${d.last_error}` : ''}</td>
        <td>${clock(d.created_at)}</td>
        <td>${d.status === 'pending' && d.next_attempt_at ? clock(d.next_attempt_at) : ''}</td>
        <td><button class="redeliver" onClick=${() => redeliver(d.id)}>Redeliver</button></td>
      </tr>`)}</tbody></table>`}
    ${live.data && live.data.more && html`<button onClick=${() => setPages(pages + 1)}>More</button>`}
  </section>`;
}
