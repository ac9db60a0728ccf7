// The example's remote agent: a release-notes writer that runs as an A2A service
// (A2A 1.0 over JSON-RPC, streaming), without a model. It is built on the real
// @a2a-js/sdk server (pinned in tests/a2a/package.json, installed into
// BUILD/a2a-server/ by scripts/setup-a2a; run-example copies this file there).
// Binds 127.0.0.1 on a free port and prints {"port":N} as its first line.
//
// What it does with a prompt: it reads baton's "Context:" lines (build_prompt,
// src/agents/prompt.h: "key: value", a longer value indented by two spaces), and
// answers with a file part NOTES.md (one bullet per key: the first line of its value)
// and the text "NOTES.md: release notes from N inputs (KEYS)".
import express from 'express';
import { DefaultRequestHandler, InMemoryTaskStore, AgentEvent } from '@a2a-js/sdk/server';
import { jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';

// TaskState numbers of @a2a-js/sdk: 1 submitted, 2 working, 3 completed.
const S = { submitted: 1, working: 2, completed: 3 };
const part = (content, filename = '') =>
  ({ content, metadata: undefined, filename, mediaType: 'text/plain' });

function promptOf(message) {
  return (message?.parts ?? []).map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
}

// The context items of a baton prompt: [[key, first line of the value], ...].
function contextOf(prompt) {
  const lines = prompt.split('\n');
  const at = lines.indexOf('Context:');
  if (at < 0) return [];
  const items = [];
  for (const line of lines.slice(at + 1)) {
    const m = line.match(/^([A-Za-z0-9_-]+): ?(.*)$/);
    if (m) items.push([m[1], m[2]]);
    else if (items.length && !items.at(-1)[1] && line.startsWith('  ')) items.at(-1)[1] = line.trim();
  }
  return items;
}

const executor = {
  async execute(ctx, bus) {
    const now = () => new Date().toISOString();
    bus.publish(AgentEvent.task({ id: ctx.taskId, contextId: ctx.contextId,
      status: { state: S.submitted, message: undefined, timestamp: now() },
      artifacts: [], history: [ctx.userMessage], metadata: undefined }));
    bus.publish(AgentEvent.statusUpdate({ taskId: ctx.taskId, contextId: ctx.contextId,
      status: { state: S.working, message: undefined, timestamp: now() }, metadata: undefined }));
    const items = contextOf(promptOf(ctx.userMessage));
    const notes = ['# Release notes', '', ...items.map(([k, v]) => `- ${k}: ${v}`), ''].join('\n');
    const summary = `NOTES.md: release notes from ${items.length} inputs (${items.map((i) => i[0]).join(', ')})`;
    bus.publish(AgentEvent.artifactUpdate({ taskId: ctx.taskId, contextId: ctx.contextId,
      artifact: { artifactId: 'notes', name: 'notes', description: '', metadata: undefined, extensions: [],
        parts: [part({ $case: 'text', value: summary }),
                part({ $case: 'raw', value: Buffer.from(notes) }, 'NOTES.md')] },
      append: false, lastChunk: true, metadata: undefined }));
    bus.publish(AgentEvent.statusUpdate({ taskId: ctx.taskId, contextId: ctx.contextId,
      status: { state: S.completed, message: undefined, timestamp: now() }, metadata: undefined }));
    bus.finished();
  },
  async cancelTask(taskId, bus) {
    bus.publish(AgentEvent.statusUpdate({ taskId, contextId: '', metadata: undefined,
      status: { state: 5, message: undefined, timestamp: new Date().toISOString() } }));
    bus.finished();
  },
};

const app = express();
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
const card = () => ({
  name: 'release-notes', description: 'Writes NOTES.md from the context it is given (scripted, no model)',
  version: '1.0.0',
  supportedInterfaces: [{ url: `http://127.0.0.1:${server.address().port}/`, protocolBinding: 'JSONRPC',
    protocolVersion: '1.0', tenant: '' }],
  provider: undefined, capabilities: { streaming: true, pushNotifications: false, extensions: [] },
  securitySchemes: {}, securityRequirements: [], defaultInputModes: ['text/plain'],
  defaultOutputModes: ['text/plain'], skills: [], signatures: [],
});
let rpc;
app.get('/.well-known/agent-card.json', (req, res) => res.json(card()));
app.post('/', express.json({ limit: '10mb' }), (req, res, next) => {
  rpc ??= jsonRpcHandler({
    requestHandler: new DefaultRequestHandler(card(), new InMemoryTaskStore(), executor),
    userBuilder: UserBuilder.noAuthentication,
  });
  rpc(req, res, next);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
