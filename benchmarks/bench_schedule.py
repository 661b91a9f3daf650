"""The one scheduler's cost: a 10,000-op graph, and what scheduling adds to a sweep point.

1. Schedule random 10,000-op graphs (4 resources, up to 2 dependencies per op, 10 % of the ops
   streaming in 8 chunks), median of 20 calls, from `Task` objects and from columns (what
   `simulate` passes). Target: < 5 ms.
2. A sweep point's cost: `simulate` on each of the 48 points of sweeps/systolic-resnet50.toml
   (ResNet-50, 54 layers), in process, warm, median of 5 passes, and the share of it spent in
   `archsim.schedule`. With `--before DIR` the same points also run on another checkout (e.g.
   the commit before the scheduler existed, in a git worktree) in a subprocess, and the ratio
   is printed. Target: the per-point cost grows by <= 10 %.

    python benchmarks/bench_schedule.py
    git worktree add /tmp/archsim-before 377d84e
    python benchmarks/bench_schedule.py --before /tmp/archsim-before
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def graph(n: int, seed: int = 0):
    from archsim.schedule import Task
    rng = random.Random(seed)
    out = []
    for i in range(n):
        chunked = rng.random() < 0.1
        out.append(Task(duration_s=rng.uniform(1e-6, 1e-3), resource=rng.choice("abcd"),
                        after=tuple(sorted(rng.sample(range(i), min(i, rng.randint(0, 2))))),
                        chunks=8 if chunked else 1))
    return out


def bench_graph(n: int = 10_000, calls: int = 20) -> dict:
    from archsim.schedule import schedule, schedule_arrays
    tasks = graph(n)
    cols = ([t.duration_s for t in tasks], [t.resource for t in tasks], [t.after for t in tasks],
            [t.chunks for t in tasks])
    schedule(tasks)                                   # load the kernel from numba's cache
    t_obj, t_col, c_obj, c_col = [], [], [], []
    for _ in range(calls):
        t0, c0 = time.perf_counter(), time.process_time()
        schedule(tasks)
        t_obj.append(time.perf_counter() - t0)
        c_obj.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        schedule_arrays(cols[0], cols[1], cols[2], chunks=cols[3])
        t_col.append(time.perf_counter() - t0)
        c_col.append(time.process_time() - c0)
    med = statistics.median
    return {"ops": n, "tasks_ms": 1e3 * med(t_obj), "columns_ms": 1e3 * med(t_col),
            "tasks_cpu_ms": 1e3 * med(c_obj), "columns_cpu_ms": 1e3 * med(c_col)}


def points():
    """The 48 override sets of the shipped systolic sweep."""
    from archsim.sweep import load_sweep
    spec = load_sweep(REPO / "sweeps" / "systolic-resnet50.toml")
    return [dict(p.params) for p in spec.points()]


def bench_points(repo: Path, point_list, passes: int = 5) -> dict:
    """Per-point simulate time on the checkout `repo` (this process must have it first on sys.path)."""
    from archsim import load_arch, load_workload, simulate
    arch_file = repo / "arch_configs/systolic/tpu-128x128.toml"
    wl = load_workload(repo / "workloads/cnn/resnet50.csv")
    archs = [load_arch(arch_file, p) for p in point_list]
    sched_s = [0.0]
    try:
        import archsim.schedule as S
        sim = sys.modules["archsim.simulate"]
        inner = sim.schedule_arrays

        def timed(*a, **k):
            t0 = time.perf_counter()
            r = inner(*a, **k)
            sched_s[0] += time.perf_counter() - t0
            return r
        sim.schedule_arrays = timed
        del S
    except (ImportError, AttributeError):       # a checkout without the scheduler
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for a in archs:
            simulate(a, wl)                           # warm
        per_pass = []
        sched_s[0] = 0.0
        for _ in range(passes):
            t0 = time.perf_counter()
            for a in archs:
                simulate(a, wl)
            per_pass.append((time.perf_counter() - t0) / len(archs))
    return {"points": len(archs), "ms_per_point": 1e3 * statistics.median(per_pass),
            "schedule_ms_per_point": 1e3 * sched_s[0] / (passes * len(archs))}


def _child(repo: str, pts: str) -> None:
    sys.path.insert(0, repo)
    print(json.dumps(bench_points(Path(repo), json.loads(pts))))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", metavar="DIR", help="another archsim checkout to compare the sweep points with")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    print(f"cpus: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}")
    g = bench_graph()
    print(f"schedule a {g['ops']:,}-op graph: {g['tasks_ms']:.2f} ms from Task objects, "
          f"{g['columns_ms']:.2f} ms from columns (target < 5 ms); CPU time "
          f"{g['tasks_cpu_ms']:.2f} / {g['columns_cpu_ms']:.2f} ms (what other processes' load does not inflate)")
    pts = points()
    now = bench_points(REPO, pts)
    print(f"sweep point (ResNet-50 on the 48 points of sweeps/systolic-resnet50.toml): "
          f"{now['ms_per_point']:.2f} ms, of which scheduling {now['schedule_ms_per_point']:.3f} ms")
    if args.before:
        env = {**os.environ, "PYTHONPATH": args.before}
        out = subprocess.run([sys.executable, __file__, "--child", args.before, json.dumps(pts)],
                             capture_output=True, text=True, env=env, cwd=args.before)
        if out.returncode != 0:
            print(out.stderr[-2000:])
            return 1
        before = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  before ({args.before}): {before['ms_per_point']:.2f} ms per point; "
              f"now / before = {now['ms_per_point'] / before['ms_per_point']:.3f} (target <= 1.10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
