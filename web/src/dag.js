// The run's DAG as SVG, each node coloured by its task's status (live: the statuses
// come from the run, refetched on every task event). The layout runs in a Web Worker
// (layout-worker.js) so a large graph never blocks the page. Above CAP nodes the graph
// is collapsed into a grid of status squares (no edges) until asked for in full.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';

/** Above this many nodes the graph starts collapsed. */
export const CAP = 300;
const NODE_H = 26;
const CHAR_W = 7;
const MAX_LABEL = 28;

function label(id) {
  return id.length > MAX_LABEL ? `${id.slice(0, MAX_LABEL - 1)}…` : id;
}

let worker = null;
let nextId = 1;
const waiting = new Map();

/** The layout of NODES and EDGES from the shared worker (a promise). */
function layout(nodes, edges) {
  if (!worker) {
    worker = new Worker('/assets/layout-worker.js');
    worker.onmessage = (m) => {
      const done = waiting.get(m.data.id);
      waiting.delete(m.data.id);
      if (done) done(m.data);
    };
    worker.onerror = (e) => {
      for (const done of waiting.values()) done({ error: e.message || 'the layout worker failed' });
      waiting.clear();
    };
  }
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    worker.postMessage({
      id,
      nodes: nodes.map((n) => ({ id: n.id, width: label(n.id).length * CHAR_W + 22, height: NODE_H })),
      edges,
    });
  });
}

function path(points) {
  return points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
}

/** GRAPH {nodes: [{id}], edges: [{from, to}], note?}; STATUS(id) a task's status now;
 *  SELECTED the selected task id; ONSELECT(id) when a node is clicked. */
export function Dag({ graph, status, selected, onSelect }) {
  const [full, setFull] = useState(false);
  const [drawn, setDrawn] = useState(null);
  const big = graph.nodes.length > CAP && !full;
  const box = useRef(null);

  // Once drawn, a graph larger than its box scrolls to the first running (else
  // waiting) task, so a large run opens where it is at.
  useEffect(() => {
    const el = box.current;
    if (!drawn || drawn.error || !el || el.scrollHeight <= el.clientHeight) return;
    const at = el.querySelector('g.node.st-running, g.node.st-waiting');
    if (!at) return;
    const r = at.getBoundingClientRect();
    const b = el.getBoundingClientRect();
    el.scrollTop += r.top - b.top - el.clientHeight / 2;
    el.scrollLeft += r.left - b.left - el.clientWidth / 3;
  }, [drawn]);

  useEffect(() => {
    if (big) return;
    let alive = true;
    setDrawn(null);
    layout(graph.nodes, graph.edges).then((d) => alive && setDrawn(d));
    return () => { alive = false; };
  }, [graph, big]);

  // The server says why the graph may be incomplete (e.g. the workflow file is gone).
  const note = graph.note ? html`<p class="note graph-note">${graph.note}</p>` : null;
  if (big) {
    return html`<div class="dag collapsed">${note}
      <p class="note">${graph.nodes.length} tasks: shown as squares, without edges.
        <button onClick=${() => setFull(true)}>Draw the full graph</button></p>
      <div class="grid">${graph.nodes.map((n) => html`<span key=${n.id}
        class=${`cell st-${status(n.id)}${n.id === selected ? ' sel' : ''}`}
        data-task=${n.id} data-status=${status(n.id)} title=${`${n.id}: ${status(n.id)}`}
        onClick=${() => onSelect(n.id)}></span>`)}</div>
    </div>`;
  }
  if (!drawn) return html`<div class="dag"><p class="note">Laying out ${graph.nodes.length} tasks…</p></div>`;
  if (drawn.error) return html`<div class="dag"><p class="error">Layout failed: ${drawn.error}</p></div>`;
  return html`<div class="dag" ref=${box}>${note}
    <svg class="graph" width=${drawn.width} height=${drawn.height}
      viewBox=${`0 0 ${drawn.width} ${drawn.height}`} role="img" aria-label="task graph">
      <defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7"
        markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" class="arrowhead" /></marker></defs>
      ${drawn.edges.map((e) => html`<path key=${`${e.from}>${e.to}`} class="edge"
        d=${path(e.points)} marker-end="url(#arrow)" />`)}
      ${graph.nodes.map((n) => {
        const p = drawn.nodes[n.id];
        if (!p) return null;
        const st = status(n.id);
        return html`<g key=${n.id} class=${`node st-${st}${n.id === selected ? ' sel' : ''}`}
          data-task=${n.id} data-status=${st} onClick=${() => onSelect(n.id)}
          transform=${`translate(${p.x - p.width / 2},${p.y - p.height / 2})`}>
          <title>${n.id}: ${st}${n.agent ? ` (${n.agent})` : ''}</title>
          <rect width=${p.width} height=${p.height} rx="5" />
          <text x="11" y=${p.height / 2 + 4}>${label(n.id)}</text>
        </g>`;
      })}
    </svg></div>`;
}
