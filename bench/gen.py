#!/usr/bin/env python3
"""Writes one DAG of no-op tasks in four build languages: baton, ninja, make, Snakemake.

Usage: gen.py SHAPE N [--seed S] [--jobs 2,8] [--out DIR]

SHAPE is one of
  wide     N independent tasks;
  chain    t0 <- t1 <- ... <- t(N-1), each depends on the one before;
  layered  layers of LAYER_WIDTH tasks; each task of layer k > 0 depends on 1..3
           tasks of layer k-1 picked at random (seeded): fan-in and fan-out;
  diamond  a chain of diamonds: a top task, DIAMOND_WIDTH middle tasks that depend
           on it, and a bottom task that depends on all of them and is the next
           diamond's top.

Every task runs `true` with no shell where the tool allows it:
  workflow-jJ.yaml  baton, `run: [true]` (argv, no shell), settings.max_parallel = J;
                    workflow.yaml is the same with the largest J;
  workflow-sh-jJ.yaml  baton, `run: "true"` (a string: baton runs `/bin/sh -c true`,
                    as ninja does), settings.max_parallel = J;
  build.ninja       `command = true` (ninja always runs /bin/sh -c COMMAND);
  Makefile          phony targets, recipe `true` (GNU make execs a command without
                    shell metacharacters directly, no /bin/sh);
  Snakefile         one wildcard rule with `touch()` outputs under out/ (Snakemake runs
                    shell commands through bash and needs an output file per job).
Task ids are t0..t(N-1) in declaration (topological) order; the same graph (same
edges) is written to every file. Standard library only.
"""

import argparse
import os
import random
import sys

LAYER_WIDTH = 100
DIAMOND_WIDTH = 8


def build_graph(shape, n, seed):
    """Returns deps: a list of N lists; deps[i] holds indexes < i that task i needs."""
    rng = random.Random(seed)
    deps = [[] for _ in range(n)]
    if shape == "wide":
        pass
    elif shape == "chain":
        for i in range(1, n):
            deps[i] = [i - 1]
    elif shape == "layered":
        for i in range(LAYER_WIDTH, n):
            layer_start = (i // LAYER_WIDTH - 1) * LAYER_WIDTH
            k = rng.randint(1, 3)
            deps[i] = sorted(rng.sample(range(layer_start, layer_start + LAYER_WIDTH), k))
    elif shape == "diamond":
        # Index 0 is the first top; each diamond adds DIAMOND_WIDTH middles and a bottom.
        top = 0
        i = 1
        while i < n:
            middles = list(range(i, min(i + DIAMOND_WIDTH, n)))
            for m in middles:
                deps[m] = [top]
            i += len(middles)
            if i < n:
                deps[i] = middles
                top = i
                i += 1
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return deps


def write_baton(path, name, deps, jobs, shell=False):
    run = '"true"' if shell else "[true]"
    with open(path, "w") as f:
        f.write(f'version: "1.0"\nname: {name}\n')
        f.write(f"settings: {{max_parallel: {jobs}}}\ntasks:\n")
        for i, d in enumerate(deps):
            if d:
                ds = ", ".join(f"t{j}" for j in d)
                f.write(f"  - {{id: t{i}, run: {run}, dependencies: [{ds}]}}\n")
            else:
                f.write(f"  - {{id: t{i}, run: {run}}}\n")


def write_ninja(path, deps):
    # Order-only dependencies (||) would not run a task after a failed one either; plain
    # inputs express "after" the same way baton's dependencies do. Outputs are never
    # created, so every invocation runs every task (no incremental skip).
    with open(path, "w") as f:
        f.write("rule run\n  command = true\n  description = $out\n\n")
        for i, d in enumerate(deps):
            ds = " ".join(f"t{j}" for j in d)
            f.write(f"build t{i}: run {ds}\n" if ds else f"build t{i}: run\n")
        f.write("build all: phony " + " ".join(f"t{i}" for i in range(len(deps))) + "\n")
        f.write("default all\n")


def write_make(path, deps):
    with open(path, "w") as f:
        f.write("all: " + " ".join(f"t{i}" for i in range(len(deps))) + "\n")
        f.write(".PHONY: all " + " ".join(f"t{i}" for i in range(len(deps))) + "\n")
        for i, d in enumerate(deps):
            f.write(f"t{i}: " + " ".join(f"t{j}" for j in d) + "\n\ttrue\n")


def write_snake(path, deps):
    with open(path, "w") as f:
        f.write("DEPS = [\n")
        for d in deps:
            f.write("  [" + ",".join(str(j) for j in d) + "],\n")
        f.write("]\n\n")
        f.write('rule all:\n    input: expand("out/{i}", i=range(len(DEPS)))\n\n')
        f.write("rule task:\n")
        f.write('    input: lambda w: [f"out/{j}" for j in DEPS[int(w.i)]]\n')
        f.write('    output: touch("out/{i}")\n')
        f.write('    wildcard_constraints: i="[0-9]+"\n')
        f.write('    shell: "true"\n')


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("shape", choices=["wide", "chain", "layered", "diamond"])
    p.add_argument("n", type=int)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", default="2,8", help="comma-separated max_parallel values")
    p.add_argument("--out", default=".")
    a = p.parse_args(argv)
    if a.n < 1:
        p.error("N must be at least 1")
    jobs = [int(j) for j in a.jobs.split(",")]
    os.makedirs(a.out, exist_ok=True)
    deps = build_graph(a.shape, a.n, a.seed)
    name = f"bench-{a.shape}-{a.n}"
    for j in jobs:
        write_baton(os.path.join(a.out, f"workflow-j{j}.yaml"), name, deps, j)
        write_baton(os.path.join(a.out, f"workflow-sh-j{j}.yaml"), name, deps, j, shell=True)
    write_baton(os.path.join(a.out, "workflow.yaml"), name, deps, max(jobs))
    write_ninja(os.path.join(a.out, "build.ninja"), deps)
    write_make(os.path.join(a.out, "Makefile"), deps)
    write_snake(os.path.join(a.out, "Snakefile"), deps)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
