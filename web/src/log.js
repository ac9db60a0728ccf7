// The live tail of an attempt's log: the last TAIL bytes first, then what is appended,
// polled every POLL_MS while the attempt runs (logs have no events). The bytes are
// decoded as a UTF-8 stream (a read may end inside a character) and ANSI colours
// become classes (ansi_up, use_classes) or, for what has no class (bold, 256 and true
// colours), styles set through the CSSOM: no inline style attribute under the CSP.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { AnsiUp } from 'ansi_up';
import { fetchLog } from './api.js';

const TAIL = 65536;
const POLL_MS = 1000;
const KEEP_CHUNKS = 400;  // older chunks are dropped from the page

/** ansi_up's HTML with each style="..." attribute renamed data-ansi-style: it writes
 *  bold, faint, italic, underline and 256-colour or true colours as inline styles even
 *  with use_classes, which the page's CSP refuses when parsed from markup. Only
 *  ansi_up's own attributes match: the log's text is HTML-escaped (" is &quot;). */
function withoutInlineStyle(html) {
  return html.replace(/<span style="([^"<>]*)"/g, '<span data-ansi-style="$1"');
}

/** RUN, TASK, ATTEMPT (number) name the log; RUNNING keeps it polling. */
export function LogTail({ run, task, attempt, running }) {
  const pre = useRef(null);
  const runningRef = useRef(running);
  runningRef.current = running;
  const [info, setInfo] = useState({ size: 0, cut: false, error: null });

  useEffect(() => {
    let alive = true;
    let timer = null;
    const decoder = new TextDecoder('utf-8');
    const ansi = new AnsiUp();
    ansi.use_classes = true;
    let offset = 0;
    let first = true;
    if (pre.current) pre.current.textContent = '';
    const append = (text) => {
      const el = pre.current;
      if (!el || !text) return;
      const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
      const span = document.createElement('span');
      span.innerHTML = withoutInlineStyle(ansi.ansi_to_html(text));
      for (const el of span.querySelectorAll('[data-ansi-style]')) {
        el.style.cssText = el.dataset.ansiStyle;  // through the CSSOM, which the CSP allows
        el.removeAttribute('data-ansi-style');
      }
      el.appendChild(span);
      while (el.childNodes.length > KEEP_CHUNKS) el.removeChild(el.firstChild);
      if (atBottom) el.scrollTop = el.scrollHeight;
    };
    let busy = false;
    let again = false;  // asked to read again while a read was under way
    const poll = async () => {
      timer = null;
      busy = true;
      let more = false;
      try {
        let r = await fetchLog(run, task, attempt, offset);
        if (first && r.size > r.next) {  // a long log: start at its tail
          offset = r.size - TAIL;
          r = await fetchLog(run, task, attempt, offset);
          if (alive) setInfo((i) => ({ ...i, cut: true }));
        }
        first = false;
        if (!alive) return;  // (busy stays true: nothing restarts a dead tail)
        offset = r.next;
        append(decoder.decode(r.bytes, { stream: true }));
        setInfo((i) => ({ ...i, size: r.size, error: null }));
        more = r.next < r.size && r.bytes.length > 0;
      } catch (e) {
        if (!alive) return;  // (likewise)
        setInfo((i) => ({ ...i, error: e.message }));
      }
      busy = false;
      if (alive && (more || again || runningRef.current)) {
        timer = setTimeout(poll, more || again ? 0 : POLL_MS);
        again = false;
      }
    };
    poll();
    const restart = () => {
      if (busy) again = true;
      else if (alive && !timer) poll();
    };
    runningRef.restart = restart;
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
  }, [run, task, attempt]);

  // When the attempt ends, read once more: the log's last bytes.
  useEffect(() => {
    if (!running && runningRef.restart) runningRef.restart();
  }, [running]);

  return html`<div class="log">
    <div class="log-head">Log of attempt ${attempt} · ${info.size} bytes${info.cut ? ' (tail)' : ''}
      ${running && html`<span class="live-dot" title="following">●</span>`}
      ${info.error && html`<span class="error"> ${info.error}</span>`}</div>
    ${info.size === 0 && !info.error && html`<p class="note">${running ? 'Nothing printed yet.' : 'This attempt printed nothing.'}</p>`}
    <pre class=${info.size === 0 ? 'log-body empty-log' : 'log-body'} ref=${pre}></pre>
  </div>`;
}
