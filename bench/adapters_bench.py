"""bench/run --adapters: the time each way of running an agent adds around a task.

One small workflow, task `t` -> dependant `d` (`run: [true]`), with `t` run six ways:

  command     `run: [echo, done]`: the floor, a plain process under the run supervisor
  cli-claude  `agent: claude`: Claude Code headless (`claude -p`), under --rehearse
  cli-gemini  `agent: gemini`: Gemini CLI headless (`gemini -p`), under --rehearse: the
              plain CLI path of the agent that the ACP row drives
  acp-gemini  `agent: {use: gemini, via: acp}`: Gemini CLI over ACP through
              `baton __acp-bridge`, under --rehearse
  a2a         an A2A 1.0 streaming agent declared in .baton/config.yaml: the scripted
           @a2a-js/sdk server of tests/a2a/server.mjs (scripts/setup-a2a), through
           `baton __a2a-client`; it answers at once, without a model
  http-job    a CrewAI-profile HTTP job (custom_agents: {crew: {http_job: ...}}) against
              the CrewAI stand-in of tests/crewai/server.mjs, through `baton
              __http-job`: kickoff, then polls (0.2 s doubling) until it completes after
              two; no model

The rehearsal model answers the agents' first request with a text (one turn, no tool).
Each adapter runs REPS times (adapters interleaved), each run from a fresh copy of the
same git repository with cold state. Every figure comes from the run's own records:

  dispatch             the attempt's `started_at` (attempts table: when the engine
                       dispatched it)
  first / last event   the agent's first and last event. baton's own adapter clients
                       stamp each log line they write with "time_ms" (Unix ms when
                       written, agents/event_time.h): ACP, the bridge's first `recv` of a
                       `session/update` notification and its last `recv` (the
                       `session/prompt` answer); A2A, the client's first and last
                       `status` or `artifact` line (a status-update or artifact-update,
                       or the task's state in an answer); HTTP job, the first and last
                       `status` line (a poll that read the job's status). An agent
                       CLI's lines carry no time: for the command and the CLIs they are
                       the birth and modification times of the attempt's log (statx;
                       the log is created with the first byte: claude's first
                       stream-json event) and the last write
  first / last model   the first and last request of the attempt's session in the run's
  request              rehearsal log (.baton/runs/RUN/rehearse.jsonl): CLI and ACP only
  attempt end          the attempt's `ended_at` (the supervisor saw the process end)
  dependant ready      the `task.ready` event of `d` (events table)

File times come from the kernel's coarse clock (a few ms of resolution); "time_ms"
from the real-time clock, like `started_at` and the events' times. Reported per
adapter: median and p90 of each interval, over the runs that succeeded. A run fails
when baton exits non-zero or a record is missing. Standard library only; called by
bench/run (run: the bench/run module).
"""

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time

LABEL = "adapters"
ADAPTERS = ["command", "cli-claude", "cli-gemini", "acp-gemini", "a2a", "http-job"]
REHEARSED = ("cli-claude", "cli-gemini", "acp-gemini")
REPS = 10

FLOWS = {
    "command": "  - {id: t, run: [echo, done]}",
    "cli-claude": "  - {id: t, agent: claude, parameters: {task: Answer done.}}",
    "cli-gemini": "  - {id: t, agent: gemini, parameters: {task: Answer done.}}",
    "acp-gemini": "  - {id: t, agent: {use: gemini, via: acp}, parameters: {task: Answer done.}}",
    "a2a": "  - {id: t, agent: svc, parameters: {task: \"SCENARIO:complete answer\"}}",
    "http-job": "  - {id: t, agent: crew, parameters: {task: answer}}",
}
# Adapter -> (kind of its log's time-stamped lines, test on such a line for an event,
# test for the last event); adapters not here take the log file's times.
STAMPED = {
    "acp-gemini": ("acp", lambda e: e.get("acp") == "recv" and
                   isinstance(e.get("message"), dict) and
                   e["message"].get("method") == "session/update",
                   lambda e: e.get("acp") == "recv"),
    "a2a": ("a2a", lambda e: e.get("a2a") in ("status", "artifact"),
            lambda e: e.get("a2a") in ("status", "artifact")),
    "http-job": ("httpjob", lambda e: e.get("httpjob") == "status",
                 lambda e: e.get("httpjob") == "status"),
}
EVENT_SOURCE = {
    "acp-gemini": "time_ms: first session/update, last recv",
    "a2a": "time_ms: first / last status or artifact",
    "http-job": "time_ms: first / last status poll",
}
# (key, title, from, to): the intervals reported, between the records named above.
INTERVALS = [
    ("first", "dispatch -> first event", "dispatch", "first_event"),
    ("model", "dispatch -> first model request", "dispatch", "first_model"),
    ("after_model", "last model request -> dependant ready", "last_model", "ready"),
    ("after", "last event -> dependant ready", "last_event", "ready"),
    ("end", "attempt end -> dependant ready", "end", "ready"),
    ("total", "dispatch -> dependant ready", "dispatch", "ready"),
]


def make_template(root, a2a_url, crew_url):
    repo = os.path.join(root, "template")
    os.makedirs(os.path.join(repo, ".baton"))
    with open(os.path.join(repo, ".baton", "config.yaml"), "w") as f:
        f.write(f"custom_agents:\n  svc:\n    a2a: {{url: \"{a2a_url}\"}}\n"
                f"  crew:\n    http_job: {{profile: crewai, url: \"{crew_url}\", "
                "auth: {env: CREW_TOKEN}}\n")
    for name, task in FLOWS.items():
        with open(os.path.join(repo, f"{name}.yaml"), "w") as f:
            f.write(f"name: adapter-{name}\nsettings: {{timeout: 2m}}\ntasks:\n{task}\n"
                    "  - {id: d, dependencies: [t], run: [true]}\n")
    with open(os.path.join(repo, "rehearse.yaml"), "w") as f:
        f.write("fallback: [{text: done}]\n")
    with open(os.path.join(repo, "README"), "w") as f:
        f.write("bench\n")
    subprocess.run("git init -q -b main && git add -A && "
                   "git -c user.name=bench -c user.email=bench@localhost commit -qm base",
                   shell=True, cwd=repo, check=True)
    return repo


def start_a2a_server(build_dir):
    """The scripted A2A server (tests/a2a/server.mjs from BUILD/a2a-server): (process,
    URL of its A2A 1.0 streaming agent)."""
    script = os.path.join(build_dir, "a2a-server", "server.mjs")
    if not os.path.isdir(os.path.join(build_dir, "a2a-server", "node_modules", "@a2a-js")):
        raise SystemExit(f"bench: {script} is not installed: run scripts/setup-a2a")
    p = subprocess.Popen(["node", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    line = p.stdout.readline().decode()
    port = json.loads(line)["port"]
    return p, f"http://127.0.0.1:{port}/v1-stream/"


def start_crew_server():
    """The CrewAI stand-in (tests/crewai/server.mjs, Node's standard library only):
    (process, its URL)."""
    script = os.path.join(run_root(), "tests", "crewai", "server.mjs")
    p = subprocess.Popen(["node", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    port = json.loads(p.stdout.readline().decode())["port"]
    return p, f"http://127.0.0.1:{port}"


def stamped_events(log_path, kind, is_event, is_last):
    """(first, last) event time in Unix seconds from the "time_ms" of the lines of
    LOG_PATH whose KIND key matches IS_EVENT (first) and IS_LAST (last); None where
    there is none."""
    first = last = None
    with open(log_path, errors="replace") as f:
        for line in f:
            if "\"" + kind + "\":" not in line:
                continue
            try:
                e = json.loads(line)
            except ValueError:
                continue
            t = e.get("time_ms")
            if not isinstance(t, (int, float)):
                continue
            if first is None and is_event(e):
                first = t / 1000
            if is_last(e):
                last = t / 1000
    return first, last


def birth_and_mtime(path):
    """(birth, modification) time of PATH in Unix seconds, from statx (GNU stat %W,
    %Y); birth None when the file system does not keep it."""
    out = subprocess.run(["stat", "--format=%.9W %.9Y", path], capture_output=True,
                         text=True)
    if out.returncode != 0:
        return None, None
    w, y = out.stdout.split()
    return (float(w) if float(w) > 0 else None), float(y)


def records(repo, adapter):
    """The records of the run in REPO (of ADAPTER's workflow): dict of the times named in the module doc, or
    (None, reason)."""
    db = sqlite3.connect(os.path.join(repo, ".baton", "state.db"))
    try:
        run_id, run_dir = db.execute("SELECT id, run_dir FROM runs").fetchone()
        att = db.execute("SELECT started_at, ended_at, log_path, status FROM attempts "
                         "WHERE run_id = ? AND task_id = 't' AND number = 1",
                         (run_id,)).fetchone()
        ready = db.execute("SELECT time FROM events WHERE run_id = ? AND task_id = 'd' AND "
                           "kind = 'task.ready' ORDER BY seq LIMIT 1", (run_id,)).fetchone()
    finally:
        db.close()
    if not att or not ready:
        return None, "no attempt of t or no task.ready of d in the database"
    started, ended, log_path, status = att
    if status != "success":
        return None, f"t's attempt is {status}"
    log_path = log_path if os.path.isabs(log_path) else os.path.join(repo, log_path)
    birth, mtime = birth_and_mtime(log_path)
    if birth is None:
        return None, f"no birth time of {log_path}"
    r = {"dispatch": started, "end": ended, "first_event": birth, "last_event": mtime,
         "ready": ready[0], "first_model": None, "last_model": None}
    if adapter in STAMPED:
        r["first_event"], r["last_event"] = stamped_events(log_path, *STAMPED[adapter])
        if r["first_event"] is None or r["last_event"] is None:
            return None, f"no time-stamped event of the agent in {log_path}"
    rehearse = os.path.join(run_dir if os.path.isabs(run_dir) else os.path.join(repo, run_dir),
                            "rehearse.jsonl")
    if os.path.exists(rehearse):
        times = []
        with open(rehearse) as f:
            for line in f:
                e = json.loads(line)
                if e.get("session", "").startswith("baton-rehearse:t:"):
                    times.append(e["time"])
        if times:
            r["first_model"], r["last_model"] = min(times), max(times)
    return r, None


def run_once(run, a, baton, env, root, template, adapter):
    """One `baton run` of ADAPTER's workflow from a fresh copy: (records, problem)."""
    repo = os.path.join(root, "repo")
    run.rm(repo)
    shutil.copytree(template, repo, symlinks=True)
    argv = [baton, "run", f"{adapter}.yaml", "--plain"]
    if adapter in REHEARSED:
        argv += ["--rehearse", "rehearse.yaml"]
    p = subprocess.run(argv, cwd=repo, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=a.timeout)
    if p.returncode != 0:
        return None, f"baton run exited {p.returncode}: {(p.stdout + p.stderr)[-400:]}"
    r, problem = records(repo, adapter)
    if r and adapter in REHEARSED and r["first_model"] is None:
        return None, "no model request of t in the rehearsal log"
    return r, problem


def p90(values):
    """The 90th percentile (nearest rank)."""
    s = sorted(values)
    return s[max(0, -(-9 * len(s) // 10) - 1)]


def render(mach, rows, a, argv, elapsed):
    out = [f"`bench/run {' '.join(argv)}`: task `t` -> dependant `d` (`run: [true]`), `t` "
           f"run {len(rows)} ways, {a.reps} runs each (interleaved), cold state, {elapsed:.0f} s in "
           "all. Milliseconds, median / p90 over the runs that succeeded; from the run's own "
           "records (bench/adapters_bench.py says which).", "",
           "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in mach]
    out += ["", "| adapter | runs | failed | " + " | ".join(t for _, t, _, _ in INTERVALS) +
            " | first / last event from |",
            "|---|---:|---:|" + "---:|" * len(INTERVALS) + "---|"]
    for r in rows:
        cells = []
        for key, _, _, _ in INTERVALS:
            v = r["values"][key]
            cells.append(f"{statistics.median(v):.0f} / {p90(v):.0f}" if v else "-")
        source = EVENT_SOURCE.get(r["name"], "log file: birth / last write")
        out.append(f"| {r['name']} | {r['runs']} | {r['failed']} | " + " | ".join(cells) +
                   f" | {source} |")
    by = {r["name"]: r["values"] for r in rows}

    def diff(a_, b_, key):
        va, vb = by[a_][key], by[b_][key]
        return f"{statistics.median(va) - statistics.median(vb):+.0f}" if va and vb else "-"

    out += ["", f"ACP over the plain CLI (acp-gemini - cli-gemini, medians): "
            f"{diff('acp-gemini', 'cli-gemini', 'model')} ms before the first model request, "
            f"{diff('acp-gemini', 'cli-gemini', 'after_model')} ms after the last one, "
            f"{diff('acp-gemini', 'cli-gemini', 'total')} ms dispatch -> dependant ready. "
            f"Over the command floor (ADAPTER - command, medians), dispatch -> first event / "
            f"last event -> dependant ready: A2A {diff('a2a', 'command', 'first')} / "
            f"{diff('a2a', 'command', 'after')} ms, HTTP job "
            f"{diff('http-job', 'command', 'first')} / {diff('http-job', 'command', 'after')} "
            f"ms (its dispatch -> dependant ready, {diff('http-job', 'command', 'total')} ms, "
            "is mostly the stand-in's two polls, 0.2 s apart)."]
    return out


def versions():
    """The agent CLIs' and the A2A SDK's versions, from their package.json files."""
    got = []
    for name, pkg in (("claude-code", "@anthropic-ai/claude-code"),
                      ("gemini-cli", "@google/gemini-cli")):
        path = os.path.join(run_root(), ".agents", "node_modules", pkg, "package.json")
        try:
            with open(path) as f:
                got.append(f"{name} {json.load(f)['version']}")
        except (OSError, ValueError, KeyError):
            got.append(f"{name} ?")
    return ", ".join(got)


def run_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(run, a, argv):
    """bench/run --adapters (A: bench/run's parsed options). Exit status: 0, 1 when a run
    failed, 77 when the agent CLIs are not installed."""
    a.reps = a.reps or REPS
    run.set_env(a.short_path)
    baton = run.build_baton(a)
    baton_sha = run.head_sha() + ("" if not a.baton else " (worktree HEAD; --baton given)")
    build_dir = os.path.dirname(baton)
    root = run_root()
    # Installed once (scripts/test runs setup-a2a): not again here, since setup-a2a
    # rewrites server.mjs, which a test beside this one may be starting.
    if not os.path.isdir(os.path.join(build_dir, "a2a-server", "node_modules", "@a2a-js")):
        subprocess.run([os.path.join(root, "scripts", "setup-a2a"), "--build-dir", build_dir],
                       check=True, stdout=subprocess.DEVNULL)
    env = dict(run.ENV)
    bin_dir = os.path.join(root, ".agents", "node_modules", ".bin")
    missing = [c for c in ("claude", "gemini") if not os.access(os.path.join(bin_dir, c), os.X_OK)]
    if missing:
        run.log(f"bench: {', '.join(missing)} not in {bin_dir} (scripts/setup-agents); skipped")
        return 77
    env["PATH"] = bin_dir + ":" + env["PATH"]
    work = a.work or tempfile.mkdtemp(prefix="baton-bench-", dir="/var/tmp")
    os.makedirs(work, exist_ok=True)
    if subprocess.run(["git", "-C", work, "rev-parse"], capture_output=True).returncode == 0:
        run.log(f"bench: {work} is inside a git work tree; baton would keep state at its top")
        return 2
    with open(os.path.join(build_dir, "a2a-server", "node_modules", "@a2a-js", "sdk",
                           "package.json")) as f:
        sdk = json.load(f)["version"]
    mach = [
        ("date (UTC)", time.strftime("%Y-%m-%d %H:%M", time.gmtime())),
        ("CPU", f"{cpu_model()}, {os.cpu_count()} logical cores"),
        ("load average at start", run.loadavg()),
        ("CPU pressure at start", run.cpu_pressure()),
        ("work directory", f"{work} ({run.fs_type(work)})"),
        ("baton", f"{run.first_line([baton, '--version'])}, git {baton_sha}"),
        ("agents", f"{versions()}, @a2a-js/sdk {sdk}, "
                   f"{run.first_line(['node', '--version'])}"),
    ]
    started = time.monotonic()
    rows = [{"name": n, "runs": 0, "failed": 0, "values": {k: [] for k, *_ in INTERVALS}}
            for n in ADAPTERS]
    problems = []
    env["CREW_TOKEN"] = "crew-token"
    server, url = start_a2a_server(build_dir)
    crew, crew_url = start_crew_server()
    try:
        template = make_template(work, url, crew_url)
        for rep in range(a.reps):
            for r in rows:
                rec, problem = run_once(run, a, baton, env, work, template, r["name"])
                if problem:
                    r["failed"] += 1
                    problems.append(f"{r['name']} run {rep + 1}: {problem}")
                    run.log(f"bench: adapters {r['name']} run {rep + 1}: {problem}")
                    continue
                r["runs"] += 1
                for key, _, frm, to in INTERVALS:
                    if rec[frm] is not None and rec[to] is not None:
                        r["values"][key].append((rec[to] - rec[frm]) * 1000)
                run.log(f"bench: adapters {r['name']} run {rep + 1}: total "
                        f"{r['values']['total'][-1]:.0f} ms")
        mach.append(("load average at end", run.loadavg()))
    finally:
        for p in (server, crew):
            os.killpg(p.pid, 9)
            p.wait()
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - started
    section = render(mach, rows, a, argv, elapsed)
    print("\n".join(section))
    if not a.no_write:
        run.write_section(a.out, LABEL, section)
        run.log(f"bench: wrote {a.out}/RESULTS.md")
    for m in problems:
        run.log(f"bench: {m}")
    return 1 if problems else 0


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "?"
