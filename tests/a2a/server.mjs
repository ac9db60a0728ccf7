// A scripted A2A server for baton's A2A client tests (tests/a2a_test.cc), built on the
// real @a2a-js/sdk server (DefaultRequestHandler, InMemoryTaskStore, jsonRpcHandler
// with its v0.3 compatibility layer). Binds 127.0.0.1 on a free port and prints
// {"port":N} on its first line.
//
// One server holds several agents, each under its own base path with its own card:
//   /v1-stream/  A2A 1.0, card offers streaming     /v1-poll/   A2A 1.0, no streaming
//   /v03-stream/ A2A 0.3, streaming                  /v03-poll/  A2A 0.3, no streaming
//   /auth/       A2A 1.0, needs "Authorization: Bearer s3cret" or "X-API-Key: k3y"
//   /legacy-card/ card only at /.well-known/agent.json (0.3)
//   /malformed/  answers every JSON-RPC call with broken JSON
//   /hang/       never answers a JSON-RPC call
//   /elsewhere/  a card whose endpoint is on another port
//   /drop/       streams one "working" event, then closes the stream
//   /v1-push/    A2A 1.0, push notifications, no streaming (the sdk's push sender)
//   /v03-push/   A2A 0.3, the same
//   /late/       streams a completed task with artifact "on time", then an artifact
//                update "LATE" and a failed status for the same task (to be ignored)
// What the agent does is chosen by the prompt: it holds "SCENARIO:NAME" with NAME one of
// complete (artifact "done: PROMPT"), steps (three status updates, then the artifact),
// slow (works until cancelled), slowdone (works ~4 s, then completes), briefdone (~2 s), file (a file
// part named by "NAME:<file name>"), input (ends in input-required), fail (failed),
// stubborn (ignores tasks/cancel, completes with artifact "LATE" after ~4 s), lateonce
// (stubborn the first time after a reset, complete after that).
// A message on a task that is in input-required (the answer to its question) completes
// it with the artifact "answer: TEXT", TEXT the message's text.
// GET /stats answers {"calls":{METHOD:N},"cancels":N,"auth":[...last auth headers],
// "running":N (executions not ended yet),"late":N (stubborn tasks that completed),
// "message_ids":[the messageId of each of the last 50 message sends],
// "tasks":N (new tasks executed),"answers":[{taskId,contextId,text,question}],
// "push":[{taskId,url,token}] (push configs registered)}.
// POST /fault {"status":S,"times":K} ("reset":true first empties the queue and re-arms
// lateonce) answers the next K message sends (SendMessage,
// SendStreamingMessage, message/send, message/stream) of any agent with HTTP S; they
// are counted in "calls" all the same. For the adapter contract suite (tests/contract/).
import express from 'express';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { DefaultRequestHandler, InMemoryTaskStore, AgentEvent, InMemoryPushNotificationStore } from '@a2a-js/sdk/server';
import { createLegacyAwarePushNotificationSender } from '@a2a-js/sdk/compat/v0_3/server';
import { jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';

const stats = { calls: {}, cancels: 0, auth: [], running: 0, late: 0, message_ids: [], tasks: 0,
  answers: [], push: [] };
const cancelled = new Set();
const stubborn = new Set();
const faults = []; // HTTP statuses for the next message sends, one each
let lateArmed = true; // the next lateonce is stubborn
const SENDS = new Set(['SendMessage', 'SendStreamingMessage', 'message/send', 'message/stream']);

function textOf(message) {
  return (message?.parts ?? []).map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function status(ctx, state, text) {
  return AgentEvent.statusUpdate({
    taskId: ctx.taskId,
    contextId: ctx.contextId,
    status: {
      state,
      message: text
        ? { messageId: `m-${Math.random()}`, contextId: ctx.contextId, taskId: ctx.taskId, role: 2,
            parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
            metadata: undefined, extensions: [], referenceTaskIds: [] }
        : undefined,
      timestamp: new Date().toISOString(),
    },
    metadata: undefined,
  });
}

function artifact(ctx, parts) {
  return AgentEvent.artifactUpdate({
    taskId: ctx.taskId, contextId: ctx.contextId,
    artifact: { artifactId: `a-${Math.random()}`, name: 'result', description: '', parts, metadata: undefined, extensions: [] },
    append: false, lastChunk: true, metadata: undefined,
  });
}

const text = (value) => ({ content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: 'text/plain' });

// TaskState numbers (@a2a-js/sdk's enum): 1 submitted, 2 working, 3 completed, 4 failed,
// 5 canceled, 6 input-required.
const S = { submitted: 1, working: 2, completed: 3, failed: 4, canceled: 5, inputRequired: 6 };

const executor = {
  async execute(ctx, bus) {
    stats.running += 1;
    try {
      await executor.play(ctx, bus);
    } finally {
      stats.running -= 1;
    }
  },
  async play(ctx, bus) {
    const prompt = textOf(ctx.userMessage);
    if (ctx.task && ctx.task.status?.state === S.inputRequired) {
      const question = textOf(ctx.task.status.message);
      stats.answers.push({ taskId: ctx.taskId, contextId: ctx.contextId, text: prompt, question });
      bus.publish(AgentEvent.task({ ...ctx.task, status: { state: S.working, message: undefined,
        timestamp: new Date().toISOString() } }));
      bus.publish(status(ctx, S.working, 'read the answer'));
      bus.publish(artifact(ctx, [text(`answer: ${prompt}`)]));
      bus.publish(status(ctx, S.completed));
      return bus.finished();
    }
    stats.tasks += 1;
    let scenario = (prompt.match(/SCENARIO:([a-z]+)/) ?? [])[1] ?? 'complete';
    if (scenario === 'lateonce') {
      scenario = lateArmed ? 'stubborn' : 'complete';
      lateArmed = false;
    }
    bus.publish(AgentEvent.task({ id: ctx.taskId, contextId: ctx.contextId,
      status: { state: S.submitted, message: undefined, timestamp: new Date().toISOString() },
      artifacts: [], history: [ctx.userMessage], metadata: undefined }));
    bus.publish(status(ctx, S.working, 'started'));
    const finish = (state, msg) => { bus.publish(status(ctx, state, msg)); bus.finished(); };
    if (scenario === 'steps') {
      for (const step of ['reading', 'thinking', 'writing']) { await sleep(100); bus.publish(status(ctx, S.working, step)); }
    }
    if (scenario === 'stubborn') {
      stubborn.add(ctx.taskId);
      await sleep(4000);
      stats.late += 1;
      bus.publish(artifact(ctx, [text('LATE')]));
      return finish(S.completed);
    }
    if (scenario === 'slow' || scenario === 'slowdone' || scenario === 'briefdone') {
      const until = Date.now() + ({ slow: 600000, slowdone: 4000, briefdone: 2000 })[scenario];
      while (Date.now() < until && !cancelled.has(ctx.taskId)) await sleep(50);
      if (cancelled.has(ctx.taskId)) return; // cancelTask published canceled
    }
    if (scenario === 'input') return finish(S.inputRequired, 'which branch should I review?');
    if (scenario === 'fail') return finish(S.failed, 'the review tool crashed');
    if (scenario === 'file') {
      const name = (prompt.match(/NAME:(\S+)/) ?? [])[1] ?? 'out.txt';
      bus.publish(artifact(ctx, [text('wrote a file'),
        { content: { $case: 'raw', value: Buffer.from('file body\n') }, metadata: undefined, filename: name, mediaType: 'text/plain' }]));
      return finish(S.completed);
    }
    bus.publish(artifact(ctx, [text(`done: ${prompt.replace(/SCENARIO:[a-z]+\s*/, '').trim()}`)]));
    finish(S.completed);
  },
  async cancelTask(taskId, bus) {
    stats.cancels += 1;
    if (stubborn.has(taskId)) return; // works on as if it never heard
    cancelled.add(taskId);
    bus.publish(AgentEvent.statusUpdate({ taskId, contextId: '', metadata: undefined,
      status: { state: S.canceled, message: undefined, timestamp: new Date().toISOString() } }));
    bus.finished();
  },
};

const app = express();
// With A2A_TLS_CERT and A2A_TLS_KEY (PEM files), the server speaks HTTPS (the https://
// agents test, its CA made by the test).
const tls = process.env.A2A_TLS_CERT && process.env.A2A_TLS_KEY;
const server = (tls
  ? https.createServer({ cert: fs.readFileSync(process.env.A2A_TLS_CERT), key: fs.readFileSync(process.env.A2A_TLS_KEY) }, app)
  : http.createServer(app)).listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
  // The test reads the first line only: the sdk's logging (its push sender's) must not
  // write to a closed pipe.
  process.stdout.on('error', () => {});
  console.log = console.info = () => {};
});
const base = () => `${tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;

function card10(path, streaming) {
  return {
    name: `baton test agent ${path}`, description: 'scripted', version: '1.0.0',
    supportedInterfaces: [
      { url: `${base()}/${path}/`, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' },
      { url: `${base()}/${path}/`, protocolBinding: 'JSONRPC', protocolVersion: '0.3', tenant: '' },
    ],
    provider: undefined, capabilities: { streaming, pushNotifications: path.endsWith('push'), extensions: [] },
    securitySchemes: {}, securityRequirements: [], defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'], skills: [], signatures: [],
  };
}

function card03(path, streaming) {
  return {
    name: `baton test agent ${path}`, description: 'scripted', version: '1.0.0', protocolVersion: '0.3.0',
    url: `${base()}/${path}/`, preferredTransport: 'JSONRPC', capabilities: { streaming, pushNotifications: path.endsWith('push') },
    defaultInputModes: ['text/plain'], defaultOutputModes: ['text/plain'], skills: [],
  };
}

const handlers = new Map();
function handlerFor(path, streaming) {
  if (!handlers.has(path)) {
    let pushStore, pushSender;
    if (path.endsWith('push')) {
      pushStore = new InMemoryPushNotificationStore();
      const save = pushStore.save.bind(pushStore);
      pushStore.save = async (taskId, context, config) => {
        stats.push.push({ taskId, url: config.url, token: config.token });
        return save(taskId, context, config);
      };
      pushSender = createLegacyAwarePushNotificationSender(pushStore);
    }
    const rh = new DefaultRequestHandler(card10(path, streaming), new InMemoryTaskStore(), executor,
      undefined, pushStore, pushSender);
    handlers.set(path, jsonRpcHandler({ requestHandler: rh, userBuilder: UserBuilder.noAuthentication, legacyCompat: { enabled: true } }));
  }
  return handlers.get(path);
}

app.get('/stats', (req, res) => res.json(stats));
app.post('/fault', express.json(), (req, res) => {
  if (req.body?.reset) {
    faults.length = 0;
    lateArmed = true;
  }
  const times = Math.min(Number(req.body?.times ?? 1), 100);
  for (let i = 0; i < times; i += 1) faults.push(Number(req.body?.status ?? 500));
  res.json({ queued: faults.length });
});

const agents = {
  'v1-stream': { v: '1.0', streaming: true }, 'v1-poll': { v: '1.0', streaming: false },
  'v03-stream': { v: '0.3', streaming: true }, 'v03-poll': { v: '0.3', streaming: false },
  'v1-push': { v: '1.0', streaming: false }, 'v03-push': { v: '0.3', streaming: false },
  auth: { v: '1.0', streaming: false, auth: true }, 'legacy-card': { v: '0.3', streaming: false, legacyCard: true },
};
for (const [path, a] of Object.entries(agents)) {
  const card = () => (a.v === '1.0' ? card10(path, a.streaming) : card03(path, a.streaming));
  if (a.legacyCard) app.get(`/${path}/.well-known/agent.json`, (req, res) => res.json(card()));
  else app.get(`/${path}/.well-known/agent-card.json`, (req, res) => res.json(card()));
  app.use(`/${path}`, express.json({ limit: '10mb' }), (req, res, next) => {
    if (req.method !== 'POST') return next();
    const method = req.body?.method ?? '?';
    stats.calls[method] = (stats.calls[method] ?? 0) + 1;
    if (SENDS.has(method)) {
      stats.message_ids.push(req.body?.params?.message?.messageId ?? '');
      if (stats.message_ids.length > 50) stats.message_ids.shift();
    }
    if (SENDS.has(method) && faults.length > 0) {
      const code = faults.shift();
      return res.status(code).json({ error: `scripted fault: HTTP ${code}` });
    }
    if (a.auth) {
      stats.auth.push({ authorization: req.get('authorization') ?? '', 'x-api-key': req.get('x-api-key') ?? '' });
      if (req.get('authorization') !== 'Bearer s3cret' && req.get('x-api-key') !== 'k3y') {
        return res.status(401).json({ error: 'unauthorized' });
      }
    }
    handlerFor(path, a.streaming)(req, res, next);
  });
}
for (const path of ['malformed', 'hang', 'drop', 'late']) {
  const streaming = path === 'drop' || path === 'late';
  app.get(`/${path}/.well-known/agent-card.json`, (req, res) => res.json(card10(path, streaming)));
}
app.get('/elsewhere/.well-known/agent-card.json', (req, res) => {
  const card = card10('elsewhere', false);
  card.supportedInterfaces[0].url = 'http://127.0.0.1:1/elsewhere/';
  res.json(card);
});
const sse = (res, results) => {
  res.type('text/event-stream');
  for (const result of results) res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result })}\n\n`);
  res.end();
};
app.post('/drop/', (req, res) => sse(res, [{ task: { id: 'd1', status: { state: 'TASK_STATE_WORKING' } } }]));
app.post('/late/', (req, res) => sse(res, [
  { task: { id: 'l1', status: { state: 'TASK_STATE_COMPLETED' },
            artifacts: [{ artifactId: 'a', parts: [{ text: 'on time' }] }] } },
  { artifactUpdate: { taskId: 'l1', artifact: { artifactId: 'b', parts: [{ text: 'LATE' }] } } },
  { statusUpdate: { taskId: 'l1', status: { state: 'TASK_STATE_FAILED' } } },
]));
app.post('/malformed/', (req, res) => res.type('application/json').send('{"jsonrpc":"2.0","result":{"task":{"id":'));
app.post('/hang/', () => {});
