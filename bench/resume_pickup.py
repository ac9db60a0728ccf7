#!/usr/bin/env python3
"""Time for `baton resume` to pick up a large run killed partway (docs/gates-and-resume.md).

Usage: resume_pickup.py BATON [N]   (N tasks, default 1000)

Writes N no-op tasks (`run: [true]`, max_parallel 8, task i depends on task i-8),
runs them with BATON, SIGKILLs it once >= 300 tasks succeeded, then times
`baton resume RUN` from its launch to its `run.resumed` event and to the first
`attempt.started` after it (event times from the state database), and to its exit.
Prints one JSON line. Standard library only."""
import json, os, signal, sqlite3, subprocess, sys, tempfile, time
baton = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
d = tempfile.mkdtemp(prefix="resume-bench-")
lines = ["name: bench", "settings: {max_parallel: 8}", "tasks:"]
for i in range(n):
    lines.append("  - id: t%d" % i)
    lines.append("    run: [true]")
    if i >= 8:
        lines.append("    dependencies: [t%d]" % (i - 8))
open(os.path.join(d, "flow.yaml"), "w").write("\n".join(lines) + "\n")
p = subprocess.Popen([baton, "run", "flow.yaml", "--plain"], cwd=d, stdout=subprocess.DEVNULL)
db = os.path.join(d, ".baton", "state.db")
while True:
    time.sleep(0.05)
    if not os.path.exists(db): continue
    try:
        c = sqlite3.connect(db)
        k = c.execute("select count(*) from tasks where status='success'").fetchone()[0]
        c.close()
    except sqlite3.Error:
        continue
    if k >= 300: break
p.send_signal(signal.SIGKILL); p.wait()
c = sqlite3.connect(db)
run_id, = c.execute("select id from runs").fetchone()
done, = c.execute("select count(*) from tasks where status='success'").fetchone()
c.close()
t0 = time.time()
r = subprocess.run([baton, "resume", run_id, "--plain"], cwd=d, stdout=subprocess.DEVNULL)
t_end = time.time()
c = sqlite3.connect(db)
ev = c.execute("select seq, time, kind from events where run_id=? order by seq", (run_id,)).fetchall()
resumed = [e for e in ev if e[2] == "run.resumed"][0]
first = [e for e in ev if e[0] > resumed[0] and e[2] == "attempt.started"][0]
print(json.dumps({"tasks": n, "done_before_kill": done, "resume_exit": r.returncode,
                  "to_run_resumed_s": round(resumed[1] - t0, 4),
                  "to_first_new_start_s": round(first[1] - t0, 4),
                  "whole_resume_s": round(t_end - t0, 3),
                  "final": c.execute("select status from runs").fetchone()[0]}))
subprocess.run(["rm", "-rf", d])
