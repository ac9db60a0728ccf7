// useLive: data fetched from the API and fetched again when a relevant event arrives
// (or after a stream reset). At most one fetch is in flight; events that arrive during
// it cause one more fetch after it, no sooner than MIN_GAP_MS (or three times the last
// fetch's duration, if longer) after the last one, so a burst of events from a large
// run costs a few fetches, not one per event, and a slow answer is asked for less often.
import { useEffect, useRef, useState } from 'preact/hooks';
import { onEvent } from './events.js';

const MIN_GAP_MS = 300;

/** Returns {data, error, reload}. FETCH() returns a promise of the data; WANTS(event)
 *  says whether an event concerns it; DEPS restart everything when they change. */
export function useLive(fetch, wants, deps) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const ctl = useRef(null);

  useEffect(() => {
    let alive = true;
    let inFlight = false;
    let again = false;
    let timer = null;
    let last = 0;
    let gap = MIN_GAP_MS;
    setData(null);
    setError(null);
    const run = async () => {
      timer = null;
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = true;
      last = Date.now();
      try {
        const d = await fetch();
        gap = Math.max(MIN_GAP_MS, 3 * (Date.now() - last));
        if (alive) {
          setData(d);
          setError(null);
        }
      } catch (e) {
        if (alive) setError(e);
      }
      inFlight = false;
      if (again && alive) {
        again = false;
        schedule();
      }
    };
    const schedule = () => {
      if (timer) return;
      if (inFlight) {
        again = true;
        return;
      }
      timer = setTimeout(run, Math.max(0, last + gap - Date.now()));
    };
    ctl.current = schedule;
    run();
    const stop = onEvent((ev) => {
      if (ev.kind === 'reset' || wants(ev)) schedule();
    });
    return () => {
      alive = false;
      stop();
      if (timer) clearTimeout(timer);
    };
  }, deps);

  return { data, error, reload: () => ctl.current && ctl.current() };
}
