// The one live stream of the tab: GET /api/v1/events (Server-Sent Events). The
// browser's EventSource reconnects by itself and resends Last-Event-ID, so a server
// restart loses nothing; `event: reset` means the server no longer has the events
// after that id, and every view refetches. Each id received is kept, in order, on
// window.__baton.events (the end-to-end tests compare it with the store's events).

const listeners = new Set();
const state = { status: 'connecting', lastId: 0 };
const statusListeners = new Set();
let source = null;

window.__baton = window.__baton || {};
window.__baton.events = [];

function setStatus(s) {
  state.status = s;
  window.__baton.stream = s;
  for (const fn of statusListeners) fn(s);
}

function deliver(ev) {
  for (const fn of listeners) {
    try {
      fn(ev);
    } catch (e) {
      console.error(e);
    }
  }
}

/** Opens the stream (once). */
export function startEvents() {
  if (source) return;
  open();
}

function open() {
  source = new EventSource('/api/v1/events');
  source.onopen = () => setStatus('live');
  source.onmessage = (m) => {
    let ev;
    try {
      ev = JSON.parse(m.data);
    } catch {
      return;
    }
    const id = Number(m.lastEventId || ev.id);
    window.__baton.events.push(id);
    if (id <= state.lastId) return;  // already seen: never applied twice
    state.lastId = id;
    deliver(ev);
  };
  source.addEventListener('reset', () => deliver({ kind: 'reset' }));
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      // The server answered with an error (not a lost connection): the browser
      // gives up, so open a new stream later and have every view refetch, since
      // that stream starts from now.
      setStatus('offline');
      source = null;
      setTimeout(() => {
        open();
        deliver({ kind: 'reset' });
      }, 3000);
    } else {
      setStatus('reconnecting');
    }
  };
}

/** Calls FN(event) for every event from now on ({kind: 'reset'} after a reset);
 *  returns the function that stops it. */
export function onEvent(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Calls FN(status) whenever the stream's status changes: connecting, live,
 *  reconnecting or offline; returns the function that stops it. */
export function onStreamStatus(fn) {
  statusListeners.add(fn);
  fn(state.status);
  return () => statusListeners.delete(fn);
}
