// The HTTP API of `baton serve` (docs/openapi.json): JSON in and out, errors as RFC 9457
// problem details. Every call rides on the session cookie (POST /api/v1/session);
// a 401 anywhere tells the app to ask for the token again.

/** An API failure: `status` is the HTTP status (0 = no answer), `message` the
 *  problem's detail (or title), e.g. "task build is not waiting". */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let onUnauthorized = () => {};

/** Calls FN (no arguments) whenever the API answers 401. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

async function problem(res) {
  let text = '';
  try {
    text = await res.text();
    const p = JSON.parse(text);
    return new ApiError(res.status, p.detail || p.title || `HTTP ${res.status}`);
  } catch {
    return new ApiError(res.status, text.slice(0, 200) || `HTTP ${res.status}`);
  }
}

/** Sends METHOD PATH (with BODY as JSON when given) and returns the parsed JSON
 *  answer (null for an empty one). Throws ApiError. */
export async function api(path, { method = 'GET', body } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'the server does not answer');
  }
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw await problem(res);
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/** Exchanges TOKEN for the session cookie; true when the server accepted it. */
export async function login(token) {
  const res = await fetch('/api/v1/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  return res.ok;
}

/** Bytes of an attempt's log from OFFSET (at most LIMIT): {bytes: Uint8Array, size,
 *  next} where size is the log's size now and next the offset to ask for next. */
export async function fetchLog(run, task, attempt, offset, limit = 65536) {
  const path = `/api/v1/runs/${enc(run)}/tasks/${enc(task)}/attempts/${attempt}/log` +
    `?offset=${offset}&limit=${limit}`;
  const res = await fetch(path, { credentials: 'same-origin' });
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw await problem(res);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const size = Number(res.headers.get('X-Log-Size') ?? offset + bytes.length);
  const next = Number(res.headers.get('X-Next-Offset') ?? offset + bytes.length);
  return { bytes, size, next };
}

/** PART escaped for a URL path segment. */
export function enc(part) {
  return encodeURIComponent(part);
}
