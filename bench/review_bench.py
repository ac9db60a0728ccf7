"""bench/run --review: the time baton adds per review cycle (docs/review.md).

N agent tasks (default 50, times --scale) in worktrees (`isolation: worktree`, -j 2),
implemented and reviewed by two stand-in custom agents (/bin/sh scripts) that answer at
once: the implementer writes a file in its worktree; the reviewer answers a fenced
```json verdict. Three workflows, each run REPS times (interleaved) from a fresh copy of
the same git repository with cold state:

  none     no `review:`; 1 attempt per task
  1 cycle  `review:`, the reviewer approves; 2 attempts per task
  2 cycles the reviewer requests changes once per task, then approves; the rework runs
           in the same worktree with the feedback; 4 attempts per task

Reported: each workflow's median, min and max wall time (monotonic clock, the whole
`baton run`), and against `none`: the added ms per review cycle per task ((median -
none's median) / N / cycles) and per added attempt ((median - none's median) / N /
added attempts). The stand-ins' own time (a /bin/sh start, a few coreutils) is in
every attempt, so the figures are baton plus the cheapest possible agent. A run fails
when baton exits non-zero or the reviewer did not review each task CYCLES times.
Standard library only; called by bench/run (run: the bench/run module).
"""

import os
import shutil
import statistics
import subprocess
import tempfile
import time

LABEL = "review cycles"
TASKS = 50
JOBS = 2

IMPL = r"""#!/bin/sh
# Stand-in implementer: writes work-ID.txt (the ID from the prompt's "TASK-ID").
set -eu
p=$(cat)
id=$(printf '%s\n' "$p" | grep -o 'TASK-t[0-9]*' | head -n 1 | cut -c6-)
printf '%s\n' "$id $(date +%s%N)" >>"work-$id.txt"
echo "implemented $id"
"""

REVIEW = r"""#!/bin/sh
# Stand-in reviewer: requests changes once per task when $BENCH_CTL/reject exists,
# approves otherwise; appends the task's ID to $BENCH_CTL/reviewed.
set -eu
p=$(cat)
id=$(printf '%s\n' "$p" | grep -o 'TASK-t[0-9]*' | head -n 1 | cut -c6-)
echo "$id" >>"$BENCH_CTL/reviewed"
if [ -e "$BENCH_CTL/reject" ] && [ ! -e "$BENCH_CTL/rejected-$id" ]; then
  : >"$BENCH_CTL/rejected-$id"
  printf 'Not yet.\n```json\n{"verdict": "changes_requested", "feedback": "Add a line."}\n```\n'
else
  printf 'Fine.\n```json\n{"verdict": "approved", "feedback": "ok"}\n```\n'
fi
"""

# (name, review cycles per task, attempts per task)
MODES = [("none", 0, 1), ("1 cycle", 1, 2), ("2 cycles", 2, 4)]


def workflow(n, reviewed):
    lines = ["name: review-bench", f"settings: {{isolation: worktree, max_parallel: {JOBS}}}",
             "tasks:"]
    for i in range(n):
        lines.append(f"  - id: t{i:04d}")
        lines.append("    agent: impl")
        lines.append(f"    parameters: {{task: \"Do TASK-t{i:04d}.\"}}")
        if reviewed:
            lines.append("    review: {agent: rev, max_cycles: 3}")
    return "\n".join(lines) + "\n"


def make_template(root, n):
    """ROOT/agents (the two stand-ins) and ROOT/repo: a git repository with both
    workflows and the config naming the stand-ins (their ctl directory: ROOT/ctl)."""
    agents = os.path.join(root, "agents")
    os.makedirs(agents)
    for name, text in (("impl", IMPL), ("rev", REVIEW)):
        with open(os.path.join(agents, name), "w") as f:
            f.write(text)
    repo = os.path.join(root, "template")
    os.makedirs(os.path.join(repo, ".baton"))
    ctl = os.path.join(root, "ctl")
    with open(os.path.join(repo, ".baton", "config.yaml"), "w") as f:
        f.write("custom_agents:\n"
                f"  impl: {{command: [sh, {agents}/impl]}}\n"
                f"  rev: {{command: [sh, {agents}/rev], env: {{BENCH_CTL: {ctl}}}}}\n")
    for name, reviewed in (("plain.yaml", False), ("reviewed.yaml", True)):
        with open(os.path.join(repo, name), "w") as f:
            f.write(workflow(n, reviewed))
    with open(os.path.join(repo, "README"), "w") as f:
        f.write("bench\n")
    subprocess.run("git init -q -b main && git add -A && "
                   "git -c user.name=bench -c user.email=bench@localhost commit -qm base",
                   shell=True, cwd=repo, check=True)
    return repo, ctl


def run_once(run, a, baton, root, template, ctl, n, cycles):
    """One `baton run` of the workflow of CYCLES from a fresh copy; (wall s, problem)."""
    repo = os.path.join(root, "repo")
    run.rm(repo)
    run.rm(ctl)
    os.makedirs(ctl)
    shutil.copytree(template, repo, symlinks=True)
    if cycles == 2:
        open(os.path.join(ctl, "reject"), "w").close()
    flow = "reviewed.yaml" if cycles else "plain.yaml"
    m = run.measure([baton, "run", flow, "--plain"], repo, a.timeout)
    problem = None
    if m["rc"] != 0:
        problem = f"baton run exited {m['rc']}"
    elif cycles:
        path = os.path.join(ctl, "reviewed")
        count = 0
        if os.path.exists(path):
            with open(path) as f:
                count = len(f.read().split())
        if count != n * cycles:
            problem = f"{count} reviews, expected {n * cycles}"
    return m["wall"], problem


def render(run, mach, rows, n, a, argv, elapsed):
    out = [f"`bench/run {' '.join(argv)}`: {n} agent tasks in worktrees at -j {JOBS}, "
           f"stand-in agents that answer at once, {a.reps} runs per workflow "
           f"(interleaved), {elapsed:.0f} s in all.", "",
           "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in mach]
    out += ["", "| workflow | attempts/task | runs | failed | wall median s | min s | max s | "
            "ms/task | added ms per cycle per task | added ms per added attempt |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    base = rows[0]["median"]
    for r in rows:
        med = r["median"]
        per_task = f"{med / n * 1000:.1f}" if med is not None else "-"
        added_cycle = added_attempt = "-"
        if r["cycles"] and med is not None and base is not None:
            extra = (med - base) / n * 1000
            added_cycle = f"{extra / r['cycles']:.1f}"
            added_attempt = f"{extra / (r['attempts'] - 1):.1f}"
        fmt = (lambda v: f"{v:.2f}" if v is not None else "-")
        out.append(f"| {r['name']} | {r['attempts']} | {len(r['walls'])} | {r['failed']} | "
                   f"{fmt(med)} | {fmt(r['min'])} | {fmt(r['max'])} | {per_task} | "
                   f"{added_cycle} | {added_attempt} |")
    return out


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "?"


def main(run, a, argv):
    """bench/run --review (A: bench/run's parsed options). Exit status: 0, 1 when a run
    failed."""
    n = max(2, int(round(TASKS * a.scale)))
    a.reps = a.reps or 3
    run.set_env(a.short_path)
    baton = run.build_baton(a)
    baton_sha = run.head_sha() + ("" if not a.baton else " (worktree HEAD; --baton given)")
    work = a.work or tempfile.mkdtemp(prefix="baton-bench-", dir="/var/tmp")
    os.makedirs(work, exist_ok=True)
    if subprocess.run(["git", "-C", work, "rev-parse"], capture_output=True).returncode == 0:
        run.log(f"bench: {work} is inside a git work tree; baton would keep state at its top")
        return 2
    mach = [
        ("date (UTC)", time.strftime("%Y-%m-%d %H:%M", time.gmtime())),
        ("CPU", f"{cpu_model()}, {os.cpu_count()} logical cores"),
        ("load average at start", run.loadavg()),
        ("CPU pressure at start", run.cpu_pressure()),
        ("work directory", f"{work} ({run.fs_type(work)})"),
        ("baton", f"{run.first_line([baton, '--version'])}, git {baton_sha}"),
        ("git", run.first_line(["git", "--version"])),
        ("/bin/sh", os.path.realpath("/bin/sh")),
    ]
    started = time.monotonic()
    rows = [{"name": name, "cycles": c, "attempts": k, "walls": [], "failed": 0}
            for name, c, k in MODES]
    problems = []
    try:
        template, ctl = make_template(work, n)
        for rep in range(a.reps):
            for r in rows:
                wall, problem = run_once(run, a, baton, work, template, ctl, n, r["cycles"])
                run.log(f"bench: review {r['name']} run {rep + 1}: {wall:.2f} s"
                        + (f" ({problem})" if problem else ""))
                if problem:
                    r["failed"] += 1
                    problems.append(f"{r['name']} run {rep + 1}: {problem}")
                else:
                    r["walls"].append(wall)
        mach.append(("load average at end", run.loadavg()))
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    for r in rows:
        w = r["walls"]
        r["median"] = statistics.median(w) if w else None
        r["min"] = min(w) if w else None
        r["max"] = max(w) if w else None
    elapsed = time.monotonic() - started
    section = render(run, mach, rows, n, a, argv, elapsed)
    print("\n".join(section))
    if not a.no_write:
        run.write_section(a.out, LABEL, section)
        run.log(f"bench: wrote {a.out}/RESULTS.md")
    for m in problems:
        run.log(f"bench: {m}")
    return 1 if problems else 0
