"""bench/run --postgres: the cost of the PostgreSQL store against SQLite.

Starts a throwaway PostgreSQL 15 cluster (Debian's postgresql-15, scripts/setup-postgres):
initdb in a new directory under /var/tmp (on disk, as baton's SQLite state),
as the user `nobody` when run as root (runuser), trust authentication for the role
`baton`, listening on 127.0.0.1 on a free port with its unix socket in that directory,
default durability (fsync on, synchronous_commit on). It is stopped (pg_ctl stop -m
fast) and its directory removed at the end, also on error or SIGINT/SIGTERM.

Then runs the same no-op workflows (bench/gen.py, argv tasks `run: [true]`) with
baton's SQLite store (.baton/state.db, the default) and with `--store postgres://...`,
interleaved (the order alternates per repetition), REPS times per cell: wide 1,000 and
10,000 tasks at -j 8 and a chain of 1,000. Each run starts from empty state: the
run's .baton/ is removed and, for PostgreSQL, its database is dropped and created
again (outside the measured time). Per cell: wall median, min, max (monotonic clock),
ms/task = median / N, PG ÷ SQLite, peak RSS of baton's process tree (GNU time; the
PostgreSQL server's own processes are not in it) and the 1-minute load average before
and after the cell. A cell's store whose first run takes longer than --slow seconds
runs once (said in the table). Writes its own section of RESULTS.md ("postgres").

The helpers it shares with bench/run (measure, Case, the machine rows, the section
writer) come in as RUN, bench/run's module.
"""

import atexit
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

PG_BIN = "/usr/lib/postgresql/15/bin"
LABEL = "postgres"
# (shape, N, J) at --scale 1; N is multiplied by --scale.
CELLS = [("wide", 1000, 8), ("wide", 10000, 8), ("chain", 1000, 8)]
STORES = ("sqlite", "postgres")
# Where the cluster's directory goes: on disk like the default work directory, and
# reachable by `nobody` (a mkdtemp work directory is not).
CLUSTER_ROOT = "/var/tmp"


class Cluster:
    """A throwaway PostgreSQL cluster in a new directory under ROOT (see the module
    doc). start() raises RuntimeError naming the step and its log; stop() is
    idempotent."""

    def __init__(self, root):
        self.dir = tempfile.mkdtemp(prefix="baton-bench-pg-", dir=root)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.log = os.path.join(self.dir, "setup.log")
        self.port = None
        self.started = False

    def _run(self, argv):
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "nobody", "--"] + argv
        with open(self.log, "a") as log:
            return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                  timeout=120).returncode == 0

    def start(self):
        if not os.access(os.path.join(PG_BIN, "initdb"), os.X_OK):
            raise RuntimeError(f"{PG_BIN}/initdb not found: run scripts/setup-postgres")
        os.chmod(self.dir, 0o755)
        for d in (self.data, self.sock):
            os.mkdir(d, 0o700)
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.chown(d, nobody.pw_uid, nobody.pw_gid)
        if not self._run([f"{PG_BIN}/initdb", "-D", self.data, "-U", "baton", "-A", "trust",
                          "-E", "UTF8", "--locale=C"]):
            raise RuntimeError(f"initdb failed (see {self.log})")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        options = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=200")
        self.started = True  # pg_ctl may leave a server behind even when it fails
        if not self._run([f"{PG_BIN}/pg_ctl", "-D", self.data, "-l",
                          os.path.join(self.sock, "server.log"), "-w", "-t", "60", "-o",
                          options, "start"]):
            raise RuntimeError(f"pg_ctl start failed (see {self.log})")

    def url(self, db):
        return f"postgres://baton@127.0.0.1:{self.port}/{db}"

    def sql(self, statement):
        """Runs STATEMENT with psql in the database postgres; returns its output."""
        out = subprocess.run([f"{PG_BIN}/psql", "-X", "-q", "-t", "-A", "-v",
                              "ON_ERROR_STOP=1", "-d", self.url("postgres"), "-c", statement],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"psql: {statement}: {out.stderr.strip()}")
        return out.stdout.strip()

    def fresh_database(self, name):
        """Drops database NAME if it exists and creates it empty; its URL."""
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.sql(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self):
        if self.started:
            self._run([f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"])
            self.started = False
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def load1():
    return os.getloadavg()[0]


def run_cells(run, a, baton, cluster, work, cells):
    """Measures every cell; returns the rows (dicts)."""
    rows = []
    for shape, n, j in cells:
        case = run.Case(shape, n, a.seed, [j], work, None)
        load_before = load1()
        runs = {s: [] for s in STORES}
        for rep in range(a.reps):
            order = STORES if rep % 2 == 0 else STORES[::-1]
            for store in order:
                first = runs[store][0] if runs[store] else None
                if first and (first["rc"] != 0 or first["wall"] > a.slow):
                    continue
                argv, cwd, _ = case.command("baton", j, baton)
                if store == "postgres":
                    argv = argv + ["--store", cluster.fresh_database("bench")]
                r = run.measure(argv, cwd, a.timeout)
                if r["rc"] == 0 and store == "sqlite" and \
                        not os.path.exists(os.path.join(cwd, ".baton", "state.db")):
                    r["rc"] = "no state.db"
                if r["rc"] == 0 and store == "postgres":
                    done = cluster_tasks(cluster)
                    if done != n:
                        r["rc"] = f"{done} of {n} tasks in the database"
                runs[store].append(r)
                run.log(f"postgres-bench {shape:5} N={n:<6} J={j} {store:8} rep {rep + 1}: "
                        f"{r['wall']:.3f}s rc={r['rc']} load {load1():.2f}")
        case.clean()
        row = {"shape": shape, "n": n, "jobs": j, "load_before": load_before,
               "load_after": load1()}
        for store in STORES:
            ok = [r["wall"] for r in runs[store] if r["rc"] == 0]
            row[store] = {
                "runs": len(runs[store]), "failed": len(runs[store]) - len(ok),
                "median": statistics.median(ok) if ok else None,
                "min": min(ok) if ok else None, "max": max(ok) if ok else None,
                "rss_mb": max((r["rss_mb"] for r in runs[store] if r["rc"] == 0), default=None),
                "errors": sorted({str(r["rc"]) for r in runs[store] if r["rc"] != 0}),
            }
        rows.append(row)
    return rows


def cluster_tasks(cluster):
    """Tasks of the last run in the database bench that ended as success."""
    out = subprocess.run([f"{PG_BIN}/psql", "-X", "-q", "-t", "-A", "-d", cluster.url("bench"),
                          "-c", "SELECT count(*) FROM tasks WHERE status = 'success'"],
                         capture_output=True, text=True, timeout=120)
    try:
        return int(out.stdout.strip())
    except ValueError:
        return -1


def fmt(v, spec, none="–"):
    return none if v is None else format(v, spec)


def table(rows, reps):
    lines = ["| cell | SQLite wall median (min–max) s | PostgreSQL wall median (min–max) s | "
             "SQLite ms/task | PostgreSQL ms/task | PG ÷ SQLite | peak RSS SQLite / PG MB | "
             "runs SQLite / PG | load avg (1 min) before → after |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s, p = r["sqlite"], r["postgres"]
        ratio = p["median"] / s["median"] if s["median"] and p["median"] else None

        def wall(x):
            return (f"{x['median']:.3f} ({x['min']:.3f}–{x['max']:.3f})"
                    if x["median"] is not None else "failed")

        def per(x):
            return fmt(x["median"] and x["median"] / r["n"] * 1000, ".3f")

        def count(x):
            note = "" if x["runs"] >= reps or x["failed"] else " (slow: fewer runs)"
            bad = f", {x['failed']} failed: {'; '.join(x['errors'])}" if x["failed"] else ""
            return f"{x['runs']}{note}{bad}"

        lines.append(
            f"| {r['shape']}, {r['n']:,}, -j {r['jobs']} | {wall(s)} | {wall(p)} | {per(s)} | "
            f"{per(p)} | {fmt(ratio, '.2f')}{'×' if ratio else ''} | {fmt(s['rss_mb'], '.1f')} / "
            f"{fmt(p['rss_mb'], '.1f')} | {count(s)} / {count(p)} | "
            f"{r['load_before']:.2f} → {r['load_after']:.2f} |")
    return "\n".join(lines)


def render(run, mach, rows, a, argv, elapsed):
    out = [f"### {LABEL}: machine", "", "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in mach]
    out += ["", f"Command: `bench/run {' '.join(argv)}` ({elapsed / 60:.1f} min).", "",
            f"### {LABEL}: PostgreSQL store against SQLite", "",
            "Argv no-op tasks (`run: [true]`), state on disk, runs of the two stores "
            "interleaved; every run from empty state (PostgreSQL: a new database, created "
            "outside the measured time; baton creates the schema inside it, as it creates "
            "state.db). ms/task = wall median ÷ N; PG ÷ SQLite = ratio of the medians; peak "
            "RSS = the largest process of baton's tree (GNU time; the PostgreSQL server's "
            "processes are not counted). Other work (other builds and test suites) runs on "
            "this machine at the same time: the load average column says how busy it was "
            "around each cell, and the figures move with it.", "", table(rows, a.reps)]
    return out


def machine_rows(run, baton, baton_sha, work, cluster):
    rows = run.machine(baton, baton_sha, None, work, None)
    keep = ("date (UTC)", "CPU", "memory", "OS", "load average at start",
            "CPU pressure at start", "fsync latency at start", "work directory (state)",
            "baton (after)")
    rows = [(("baton" if k == "baton (after)" else k), v) for k, v in rows if k in keep]
    server = cluster.sql("SELECT version()")
    settings = cluster.sql("SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) "
                           "FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', "
                           "'shared_buffers', 'wal_level', 'full_page_writes')")
    rows += [("PostgreSQL", f"{server.split(',')[0]}, {PG_BIN}"),
             ("PostgreSQL settings", f"{settings} (defaults of initdb; shared_buffers in 8 kB "
                                     "pages)"),
             ("PostgreSQL cluster", f"throwaway, in {os.path.dirname(cluster.dir)} "
                                    f"({run.fs_type(cluster.dir)}), over TCP 127.0.0.1"),
             ("SQLite", "Debian libsqlite3-0 " +
              run.first_line(["dpkg-query", "-W", "-f", "${Version}", "libsqlite3-0"]))]
    return rows


def main(run, a, argv):
    """bench/run --postgres (A: bench/run's parsed options). Exit status: 0, 1 when a
    run failed, 2 when the cluster could not start."""
    cells = [(shape, max(2, int(round(n * a.scale))), j) for shape, n, j in CELLS]
    a.reps = a.reps or 3
    run.set_env(a.short_path)
    baton = run.build_baton(a)
    baton_sha = run.head_sha() + ("" if not a.baton else " (worktree HEAD; --baton given)")
    work = a.work or tempfile.mkdtemp(prefix="baton-bench-", dir="/var/tmp")
    os.makedirs(work, exist_ok=True)
    if subprocess.run(["git", "-C", work, "rev-parse"], capture_output=True).returncode == 0:
        run.log(f"bench: {work} is inside a git work tree; baton would keep state at its top")
        return 2
    cluster = Cluster(CLUSTER_ROOT)
    atexit.register(cluster.stop)
    previous = {}

    def stop_on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, stop_on_signal)
    started = time.monotonic()
    try:
        try:
            cluster.start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            run.log(f"bench: the PostgreSQL cluster did not start: {e}")
            return 2
        mach = machine_rows(run, baton, baton_sha, work, cluster)
        rows = run_cells(run, a, baton, cluster, work, cells)
        mach.append(("load average at end", run.loadavg()))
        mach.append(("CPU pressure at end", run.cpu_pressure()))
    finally:
        cluster.stop()
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    elapsed = time.monotonic() - started
    section = render(run, mach, rows, a, argv, elapsed)
    print("\n".join(section))
    if not a.no_write:
        run.write_section(a.out, LABEL, section)
        run.log(f"bench: wrote {a.out}/RESULTS.md")
    failed = [r for r in rows for s in STORES if r[s]["failed"] or r[s]["median"] is None]
    if failed:
        run.log(f"bench: {len(failed)} cells had failed runs")
    return 1 if failed else 0
