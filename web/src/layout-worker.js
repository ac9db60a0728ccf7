// The DAG's layout, off the main thread (a Web Worker from 'self', bundled by esbuild
// into /assets/layout-worker.js). Message in: {id, nodes: [{id, width, height}],
// edges: [{from, to}]} (pixels). Message out: {id, width, height, nodes: {ID: {x, y,
// width, height}} (x, y = the node's centre), edges: [{from, to, points: [{x, y}]}]}
// or {id, error}. Layout by dagre (Sugiyama-style layered drawing, left to right).
import dagre from '@dagrejs/dagre';

self.onmessage = (msg) => {
  const { id, nodes, edges } = msg.data;
  try {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: 'LR', nodesep: 14, ranksep: 46, marginx: 10, marginy: 10 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of nodes) g.setNode(n.id, { width: n.width, height: n.height });
    for (const e of edges) {
      if (g.hasNode(e.from) && g.hasNode(e.to)) g.setEdge(e.from, e.to);
    }
    dagre.layout(g);
    const out = {};
    for (const n of g.nodes()) {
      const v = g.node(n);
      out[n] = { x: v.x, y: v.y, width: v.width, height: v.height };
    }
    const lines = g.edges().map((e) => ({ from: e.v, to: e.w, points: g.edge(e).points }));
    const size = g.graph();
    self.postMessage({ id, width: size.width, height: size.height, nodes: out, edges: lines });
  } catch (e) {
    self.postMessage({ id, error: String(e && e.message ? e.message : e) });
  }
};
