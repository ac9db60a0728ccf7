// A stand-in for a CrewAI AMP deployed crew, written from CrewAI's published OpenAPI
// description (docs.crewai.com/en/api-reference: POST /kickoff {inputs, meta} ->
// {kickoff_id}; GET /status/{kickoff_id} -> {status: running, current_task, progress}
// | {status: completed, result: {output, tasks}} | {status: error, error}; bearer
// auth). CrewAI's service cannot run offline; this is NOT CrewAI, only its API shape,
// for the HTTP job adapter's tests (tests/httpjob/). Node's standard library only.
//
// It listens on 127.0.0.1 and a free port and prints {"port":N} on its first line.
// Every call needs "Authorization: Bearer crew-token" (else 401). What a crew does is
// chosen by its prompt (inputs.prompt, or any input holding "SCENARIO:NAME"):
//   ok (default)  completed after two polls, output "crew says: PROMPT"
//   slow          running until stopped (a timeout or a cancel ends the attempt)
//   slowdone      running for 3 s, then completed (briefdone: 2 s)
//   fail          error "the research tool crashed"
//   reject        /kickoff answers 422
//   ratelimit     /kickoff answers 429
//   flaky         the first /kickoff of this prompt answers 503, the next ones succeed
//   pollflaky     the first two polls answer 503, then completed
//   hang          /status never answers
//   huge          /status answers a 17 MiB body
//   malformed     /status answers malformed JSON
//   oddstatus     /status answers {"status": "exploded"}
//   input         paused for human feedback (CrewAI's human_input task): /status answers
//                 {status: "awaiting_human_feedback", current_task: "research_task",
//                 task_output: "Which market should I research?"} until POST /resume
//                 {execution_id, task_id, human_feedback, is_approve} (CrewAI's published
//                 /resume; the paused /status body is NOT in its description: this shape
//                 is the stand-in's assumption). is_approve true -> completed after one
//                 more poll, output "crew says: PROMPT; feedback: FEEDBACK"; false -> the
//                 task is done again with the feedback and pauses again.
//   inputhostile  as input, the question holding terminal escapes, shell syntax and 300 KB
//   hostile       kickoff_id "../admin?x=1", output shell code and a path out of the worktree
//   down          /kickoff always answers 503
//   lateonce      the first kickoff of this prompt runs 4 s, then completes "LATE" (a job
//                 whose attempt baton gave up and could not cancel: CrewAI has no cancel
//                 call); the next ones complete after two polls
// A prompt holding CONTRACT completes with the adapter contract's answer "done: contract"
// (tests/contract/) instead of "crew says: PROMPT".
// The same crews under a renamed API ("v2", NOT CrewAI's: for profiles declared in a
// config, docs/httpjob.md): POST /v2/jobs {payload, idempotency} -> {job: {ref}};
// GET /v2/jobs/{ref} -> {state: QUEUED | WORKING | DONE | BROKEN | ..., step,
// answer: {text}, problem}; auth "X-Crew-Key: crew-token" instead of the bearer token.
// Webhooks: a kickoff with `crewWebhookUrl` (CrewAI's crew webhook) is called back there
// when it ends: POST {kickoff_id, status, result, meta} (status "completed" or "error");
// the ok and fail scenarios then end 800 ms after the kickoff by their clock (after any
// earlier delivery), not by polls, and a poll sees the end only once that final
// delivery was answered. With `webhookSecret` (a "whsec_" secret; the crewai-signed profile, not a
// published CrewAI field) every delivery is signed by Standard Webhooks v1
// (webhook-id, webhook-timestamp, webhook-signature = v1,base64(HMAC-SHA256(key,
// id.timestamp.body))). More scenarios, by prompt words:
//   WEBHOOK:dup     at 300 ms a "running" delivery, sent twice with the same webhook-id
//   WEBHOOK:lost    no delivery at all (the attempt must end by its fallback polls)
//   WEBHOOK:other   before the end, a signed delivery claiming "completed" with output
//                   "FORGED" for another kickoff id
// POST /deliver {kickoff_id, mode} (no auth) sends one more delivery for a kickoff now and
// answers {status, answer} (what baton serve said): mode "again" replays the last one
// byte for byte (same webhook-id), "late" a new "error" one, "forged" one signed with
// another key, "stale" one signed 10 minutes ago, "other" one about another kickoff id,
// "huge" a 2 MiB body, "badtoken" one whose URL carries another token.
// GET /inputs (auth, as CrewAI's): {"inputs": ["prompt"]}, the crew's required inputs.
// POST /resume answers 422 for a missing or mistyped field or another task_id, 404 for
// an unknown execution_id, 409 when the kickoff is not paused.
// GET /stats (no auth): {"kickoffs": N, "resumes": [the /resume bodies], "paused": jobs
// waiting for feedback, "kickoff_keys": [meta.baton_key], "status_paths":
// [raw paths of /status calls], "auth": [Authorization headers seen], "running": jobs not
// ended (timed ones by their clock, others until a poll saw them end), "late": lateonce
// jobs that completed, "webhooks": [{kickoff_id, mode, status}] every delivery and what
// baton serve answered}.
import crypto from "node:crypto";
import http from "node:http";

const jobs = new Map(); // kickoff_id -> {scenario, prompt, polls, started}
const seen = new Map(); // prompt -> kickoffs of it
const stats = { kickoffs: 0, kickoff_keys: [], status_paths: [], auth: [], webhooks: [], resumes: [] };
let next = 1;

const V2_STATES = { queued: "QUEUED", running: "WORKING", completed: "DONE", error: "BROKEN" };

// An answer of the CrewAI API in the v2 API's shape.
function toV2(b) {
  const out = {};
  if ("kickoff_id" in b) out.job = { ref: b.kickoff_id };
  if ("status" in b) out.state = V2_STATES[b.status] ?? b.status;
  if ("current_task" in b) out.step = b.current_task;
  if (b.result) out.answer = { text: b.result.output };
  if ("error" in b) out.problem = b.error;
  return out;
}

function send(res, code, body) {
  if (res.v2 && typeof body === "object") body = toV2(body);
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(text);
}

const TIMED = { slowdone: 3000, briefdone: 2000, late: 4000, hookok: 800, hookfail: 800 }; // scenario -> ms until it completes by itself

function isRunning(job) {
  if (job.paused) return false;
  if (job.scenario === "slow") return true;
  // A timed kickoff followed by webhooks ends once its final delivery was answered, not
  // by the clock: on a loaded machine the timers fire late, and a poll must not see the
  // end before the callbacks the scenario promises were delivered.
  if (job.scenario in TIMED && job.hook && !job.prompt.includes("WEBHOOK:lost")) return !job.delivered;
  if (job.scenario in TIMED) return Date.now() - job.started < TIMED[job.scenario];
  return !job.ended;
}

function scenarioOf(inputs) {
  const text = JSON.stringify(inputs ?? {});
  const m = /SCENARIO:([a-z]+)/.exec(text);
  return m ? m[1] : "ok";
}

function kickoff(req, res, body) {
  let parsed;
  try {
    parsed = JSON.parse(body);
  } catch {
    return send(res, 422, { error: "malformed JSON" });
  }
  const inputs = res.v2 ? parsed.payload : parsed.inputs;
  if (typeof inputs !== "object" || inputs === null) return send(res, 422, { error: "inputs is required" });
  const scenario = scenarioOf(inputs);
  const prompt = String(inputs.prompt ?? JSON.stringify(inputs));
  if (scenario === "reject") return send(res, 422, { error: "input 'topic' is required" });
  if (scenario === "ratelimit") return send(res, 429, { error: "rate limit exceeded" });
  const count = (seen.get(prompt) ?? 0) + 1;
  seen.set(prompt, count);
  if (scenario === "flaky" && count === 1) return send(res, 503, { error: "upstream unavailable" });
  if (scenario === "down") return send(res, 503, { error: "upstream unavailable" });
  stats.kickoffs++;
  stats.kickoff_keys.push((res.v2 ? parsed.idempotency : parsed.meta?.baton_key) ?? null);
  const id = scenario === "hostile" ? "../admin?x=1" : `00000000-0000-4000-8000-${String(next++).padStart(12, "0")}`;
  let timedScenario = scenario === "lateonce" ? (count === 1 ? "late" : "ok") : scenario;
  const hook = typeof parsed.crewWebhookUrl === "string" ? parsed.crewWebhookUrl : null;
  if (hook && (timedScenario === "ok" || timedScenario === "fail")) timedScenario = "hook" + timedScenario;
  const paused = scenario === "input" || scenario === "inputhostile";
  const job = { scenario: timedScenario, prompt, polls: 0, started: Date.now(), ended: false, paused, id };
  job.hook = hook;
  job.secret = typeof parsed.webhookSecret === "string" ? parsed.webhookSecret : null;
  job.meta = parsed.meta ?? null;
  jobs.set(id, job);
  send(res, 200, { kickoff_id: id });
  if (hook) scheduleHooks(job);
}

function answer(job) {
  return job.prompt.includes("CONTRACT") ? "done: contract" : "crew says: " + job.prompt;
}

function resume(req, res, body) {
  let p;
  try {
    p = JSON.parse(body);
  } catch {
    return send(res, 422, { error: "malformed JSON" });
  }
  if (typeof p.execution_id !== "string" || typeof p.task_id !== "string" ||
      typeof p.human_feedback !== "string" || typeof p.is_approve !== "boolean") {
    return send(res, 422, { error: "execution_id, task_id, human_feedback and is_approve are required" });
  }
  const job = jobs.get(p.execution_id);
  if (!job) return send(res, 404, { error: "execution not found" });
  if (p.task_id !== "research_task") return send(res, 422, { error: "task " + p.task_id + " is not awaiting feedback" });
  if (!job.paused) return send(res, 409, { error: "the execution is not awaiting human feedback" });
  stats.resumes.push(p);
  if (p.is_approve) {
    job.paused = false;
    job.feedback = p.human_feedback;
    job.resumedAt = job.polls;
  }
  send(res, 200, { status: "resumed", message: "Execution resumed successfully" });
}

function status(req, res, id) {
  const job = jobs.get(id);
  if (!job) return send(res, 404, { error: "kickoff not found" });
  job.polls++;
  const running = { status: "running", current_task: "research_task", progress: { completed_tasks: 0, total_tasks: 1 } };
  const completed = (output) => {
    job.ended = true;
    return {
    status: "completed",
    result: { output, tasks: [{ task_id: "research_task", agent: "researcher", output, execution_time: 1.5 }] },
    execution_time: 1.5,
    };
  };
  switch (job.scenario) {
    case "slow":
      return send(res, 200, running);
    case "slowdone":
    case "briefdone":
      return send(res, 200, isRunning(job) ? running : completed(answer(job)));
    case "late":
      return send(res, 200, isRunning(job) ? running : completed("LATE"));
    case "hookok":
      return send(res, 200, isRunning(job) ? running : completed(answer(job)));
    case "hookfail":
      if (isRunning(job)) return send(res, 200, running);
      return send(res, 200, { status: "error", error: "the research tool crashed", execution_time: 0.5 });
    case "fail":
      if (job.polls < 2) return send(res, 200, running);
      job.ended = true;
      return send(res, 200, { status: "error", error: "the research tool crashed", execution_time: 0.5 });
    case "pollflaky":
      if (job.polls <= 2) return send(res, 503, { error: "try again" });
      return send(res, 200, completed(answer(job)));
    case "hang":
      return; // never answered
    case "huge":
      return send(res, 200, JSON.stringify({ status: "completed", result: { output: "x".repeat(17 * 1024 * 1024) } }));
    case "malformed":
      return send(res, 200, '{"status": "completed", "result": {"output": ');
    case "oddstatus":
      return send(res, 200, { status: "exploded" });
    case "input":
    case "inputhostile":
      if (job.paused) {
        const question =
          job.scenario === "input"
            ? "Which market should I research?"
            : "\u001b]0;pwned\u0007\u001b[2J$(touch /tmp/baton-crew-ask-pwned) `touch pwned`; rm -rf ~ \r\n" +
              "Q".repeat(300 * 1024);
        return send(res, 200, { status: "awaiting_human_feedback", current_task: "research_task", task_output: question });
      }
      if (job.polls - job.resumedAt < 2) return send(res, 200, running);
      return send(res, 200, completed("crew says: " + job.prompt + "; feedback: " + job.feedback));
    case "hostile":
      return send(res, 200, completed("$(touch /tmp/baton-crew-pwned) `touch pwned` ; rm -rf ../../ ../../escape.txt"));
    default:
      return send(res, 200, job.polls < 2 ? running : completed(answer(job)));
  }
}

// The body a kickoff's webhook reports when it ends.
function finalBody(job) {
  return job.scenario === "hookfail"
    ? { kickoff_id: job.id, status: "error", error: "the research tool crashed", meta: job.meta }
    : { kickoff_id: job.id, status: "completed", result: { output: answer(job) }, meta: job.meta };
}

// POSTs BODY to the job's webhook (signed when it has a secret; SIGN overrides the key,
// the timestamp and the id for the attack modes); resolves to {status, answer}.
function post(job, body, mode, sign = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const headers = { "Content-Type": "application/json" };
  let url = job.hook;
  if (mode === "badtoken") url = url.replace(/token=[0-9a-f]+/, "token=" + "a".repeat(64));
  if (job.secret) {
    const id = sign.id ?? "msg_" + crypto.randomBytes(12).toString("hex");
    const ts = String(sign.ts ?? Math.floor(Date.now() / 1000));
    const secret = sign.secret ?? job.secret;
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    const sig = crypto.createHmac("sha256", key).update(`${id}.${ts}.${text}`).digest("base64");
    Object.assign(headers, { "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": "v1," + sig });
  }
  if (!["forged", "stale", "huge", "badtoken", "other"].includes(mode)) job.last = { text, headers, url };
  return send_raw(url, headers, text, job, mode);
}

function send_raw(url, headers, text, job, mode) {
  return fetch(url, { method: "POST", headers, body: text })
    .then(async (r) => ({ status: r.status, answer: await r.text() }))
    .catch((e) => ({ status: 0, answer: String(e) }))
    .then((result) => {
      stats.webhooks.push({ kickoff_id: job.id, mode, status: result.status, answer: result.answer });
      return result;
    });
}

function scheduleHooks(job) {
  const lost = job.prompt.includes("WEBHOOK:lost");
  // The final delivery comes after the earlier ones, whenever their timers fire.
  let before = Promise.resolve();
  if (job.prompt.includes("WEBHOOK:dup")) {
    before = new Promise((resolve) => setTimeout(async () => {
      await post(job, { kickoff_id: job.id, status: "running", meta: job.meta }, "dup");
      await send_raw(job.last.url, job.last.headers, job.last.text, job, "dup-again");
      resolve();
    }, 300));
  }
  if (job.prompt.includes("WEBHOOK:other")) {
    setTimeout(() => post(job, { kickoff_id: "00000000-0000-4000-8000-999999999999", status: "completed",
                                 result: { output: "FORGED" } }, "other"), 300);
  }
  const end = job.scenario in TIMED ? TIMED[job.scenario] : null;
  if (end !== null && !lost) {
    setTimeout(async () => {
      await before;
      job.ended = true;
      await post(job, finalBody(job), "final");
      job.delivered = true;
    }, end);
  }
}

// POST /deliver: one more delivery for a kickoff, by mode (see the header).
async function deliver(res, body) {
  let parsed;
  try {
    parsed = JSON.parse(body);
  } catch {
    return send(res, 400, { error: "malformed JSON" });
  }
  const job = jobs.get(parsed.kickoff_id);
  if (!job || !job.hook) return send(res, 404, { error: "no such kickoff with a webhook" });
  const mode = parsed.mode;
  let result;
  if (mode === "again") {
    result = await send_raw(job.last.url, job.last.headers, job.last.text, job, mode);
  } else if (mode === "late") {
    result = await post(job, { kickoff_id: job.id, status: "error", error: "LATE", meta: job.meta }, mode);
  } else if (mode === "forged") {
    result = await post(job, finalBody(job), mode, { secret: "whsec_" + crypto.randomBytes(32).toString("base64") });
  } else if (mode === "stale") {
    result = await post(job, finalBody(job), mode, { ts: Math.floor(Date.now() / 1000) - 600 });
  } else if (mode === "other") {
    result = await post(job, { kickoff_id: "00000000-0000-4000-8000-999999999999", status: "completed",
                               result: { output: "FORGED" } }, mode);
  } else if (mode === "huge") {
    result = await post(job, { kickoff_id: job.id, status: "completed", pad: "x".repeat(2 << 20) }, mode);
  } else if (mode === "badtoken") {
    result = await post(job, finalBody(job), mode);
  } else {
    return send(res, 400, { error: "unknown mode" });
  }
  send(res, 200, result);
}

const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => {
    if (body.length < 1 << 20) body += c;
  });
  req.on("end", () => {
    if (req.method === "POST" && req.url === "/deliver") return deliver(res, body);
    if (req.url === "/stats") {
      const all = [...jobs.values()];
      const late = all.filter((j) => j.scenario === "late" && !isRunning(j)).length;
      const paused = all.filter((j) => j.paused).length;
      return send(res, 200, { ...stats, running: all.filter(isRunning).length, late, paused });
    }
    if (req.url.startsWith("/v2/")) {
      res.v2 = true;
      stats.auth.push(req.headers["x-crew-key"] ?? null);
      if (req.headers["x-crew-key"] !== "crew-token") return send(res, 401, { error: "invalid key" });
      if (req.method === "POST" && req.url === "/v2/jobs") return kickoff(req, res, body);
      if (req.method === "GET" && req.url.startsWith("/v2/jobs/")) {
        stats.status_paths.push(req.url);
        return status(req, res, decodeURIComponent(req.url.slice("/v2/jobs/".length)));
      }
      return send(res, 404, { error: "not found" });
    }
    stats.auth.push(req.headers.authorization ?? null);
    if (req.headers.authorization !== "Bearer crew-token") return send(res, 401, { error: "invalid bearer token" });
    if (req.method === "POST" && req.url === "/kickoff") return kickoff(req, res, body);
    if (req.method === "POST" && req.url === "/resume") return resume(req, res, body);
    if (req.method === "GET" && req.url === "/inputs") return send(res, 200, { inputs: ["prompt"] });
    if (req.method === "GET" && req.url.startsWith("/status/")) {
      stats.status_paths.push(req.url);
      return status(req, res, decodeURIComponent(req.url.slice("/status/".length)));
    }
    send(res, 404, { error: "not found" });
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
