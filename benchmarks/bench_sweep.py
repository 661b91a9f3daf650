"""Sweep throughput: a systolic-array sweep (array sizes x dataflows x SRAM sizes) on ResNet-50,
run with 1 and 2 local workers and on a Dask LocalCluster of 2 worker processes.

Prints, per executor: points per second (points / executor wall time), the per-point
overhead = (workers x wall - sum of in-worker simulate() time) / points, i.e. the
worker-seconds per point not spent simulating (process start, imports, numba cache loads,
arch/workload loading, pickling, the parent's SQLite commits and the idle tail), and the
scaling efficiency from 1 to 2 local workers = rate(2) / (2 x rate(1)). Also checks that the
three runs stored identical results. Targets (issue 7): efficiency >= 80 %, overhead < 5 ms.

On a machine whose cores other processes also use, wall-clock rates measure that competition.
So the same quantities are also given in CPU time (getrusage of this process and its reaped
pool workers; process_time of Dask workers): CPU per point with 1 vs 2 workers (the scaling
efficiency two free cores would give) and CPU per point outside simulate() (the overhead).

    python benchmarks/bench_sweep.py                   # the shipped sweep, 48 points
    python benchmarks/bench_sweep.py --repeat 4        # 192 points (4 clock variants)
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SWEEP = REPO / "sweeps" / "systolic-resnet50.toml"


def _spec(repeat: int, tmp: Path):
    """The shipped sweep, optionally with `repeat` clock values (more points, same per-point cost)."""
    from archsim.sweep import load_sweep
    if repeat == 1:
        return load_sweep(SWEEP)
    text = SWEEP.read_text()
    clocks = ", ".join(f"{1.0 + 0.05 * i:.2f}" for i in range(repeat))
    text = text.replace("[space.components.sa]\n", f"[space.components.sa]\nclock_ghz = [{clocks}]\n")
    text = text.replace('"../', f'"{REPO}/')
    p = tmp / "bench-sweep.toml"
    p.write_text(text)
    return load_sweep(p)


def _warm():
    """Import the model and load its numba kernels from the on-disk cache (once per process)."""
    from archsim import load_arch, load_workload, simulate
    simulate(load_arch(REPO / "arch_configs/systolic/tpu-128x128.toml"),
             load_workload(REPO / "workloads/cnn/resnet50.csv"))
    return os.getpid()


def _cpu(usage) -> float:
    return usage.ru_utime + usage.ru_stime


def measure(spec, executor: str, jobs: int, out: Path, client=None) -> dict:
    from archsim.sweep import run_sweep
    from archsim.sweep.store import Store
    self0, kids0 = _cpu(resource.getrusage(resource.RUSAGE_SELF)), _cpu(resource.getrusage(resource.RUSAGE_CHILDREN))
    dask0 = sum(client.run(time.process_time).values()) if client is not None else 0.0
    res = run_sweep(spec, executor, out_dir=out, jobs=jobs, timed_points=0, client=client)
    # CPU seconds of this process (the parent: commits, pickling, the Dask scheduler) and of
    # the workers (pool workers are reaped children; Dask workers report their own)
    parent_cpu = _cpu(resource.getrusage(resource.RUSAGE_SELF)) - self0
    worker_cpu = (sum(client.run(time.process_time).values()) - dask0 if client is not None
                  else _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - kids0)
    with Store.open_dir(out) as st:
        rows = st.rows()
    n = len(rows)
    sim = sum(r["sim_s"] or 0.0 for r in rows)
    ev = sum(r["eval_s"] or 0.0 for r in rows)
    cpu = sum(r["cpu_s"] or 0.0 for r in rows)
    total_cpu = parent_cpu + worker_cpu
    return {"executor": executor if executor != "dask" else "dask LocalCluster", "workers": jobs,
            "points": n, "failed": res.n_failed, "wall_s": res.wall_s, "rate": n / res.wall_s,
            "sim_ms": 1e3 * sim / n, "overhead_ms": 1e3 * (jobs * res.wall_s - sim) / n,
            "outside_ms": 1e3 * (jobs * res.wall_s - ev) / n, "cpu_share": cpu / sim,
            "cpu_ms": 1e3 * total_cpu / n, "cpu_overhead_ms": 1e3 * (total_cpu - cpu) / n, "csv": res.points_csv.read_text()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=1, help="clock variants per design (x48 points)")
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args(argv)
    # as `archsim sweep` does with its timed points: the parent has the model loaded before the
    # pool forks (and the numba on-disk cache is warm, so no run pays a first compilation)
    _warm()
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        spec = _spec(args.repeat, tmp)
        print(f"load average (1/5/15 min) at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"sweep: {spec.name}, {spec.n_points} points (ResNet-50, {len(spec.workloads)} workload); "
              f"cpus: {len(os.sched_getaffinity(0))}; python {sys.version.split()[0]}")
        results = []
        for jobs in (1, 2):
            t = time.perf_counter()
            results.append(measure(spec, "local", jobs, tmp / f"local-{jobs}"))
            print(f"  ran local x{jobs} in {time.perf_counter() - t:.1f} s", flush=True)
        if not args.no_dask:
            import dask
            from distributed import Client, LocalCluster
            t = time.perf_counter()
            # as archsim's own LocalCluster: no dashboard, no worker profiler
            with dask.config.set({"distributed.worker.profile.enabled": False}), \
                    LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=None) as cluster, Client(cluster) as client:
                client.run(_warm)       # a running cluster: workers started, model imported
                print(f"  Dask LocalCluster (2 worker processes) started and warmed in "
                      f"{time.perf_counter() - t:.1f} s (not in its wall time)", flush=True)
                t = time.perf_counter()
                results.append(measure(spec, "dask", 2, tmp / "dask-2", client=client))
                print(f"  ran dask x2 in {time.perf_counter() - t:.1f} s", flush=True)
    print()
    hdr = (f"{'executor':<18} {'workers':>7} {'points':>6} {'wall_s':>8} {'points/s':>9} "
           f"{'simulate ms/pt':>14} {'cpu share':>9} {'overhead ms/pt':>14} {'(outside eval)':>14}")
    print(hdr)
    print("-" * len(hdr))
    for r in results:
        print(f"{r['executor']:<18} {r['workers']:>7} {r['points']:>6} {r['wall_s']:>8.2f} {r['rate']:>9.2f} "
              f"{r['sim_ms']:>14.1f} {r['cpu_share']:>9.2f} {r['overhead_ms']:>14.1f} {r['outside_ms']:>14.1f}")
    print()
    print("CPU time (contention-free view: what the sweep costs, not how long it waited for a core)")
    hdr2 = f"{'executor':<18} {'workers':>7} {'CPU ms/pt':>10} {'simulate CPU ms/pt':>19} {'overhead CPU ms/pt':>19}"
    print(hdr2)
    print("-" * len(hdr2))
    for r in results:
        print(f"{r['executor']:<18} {r['workers']:>7} {r['cpu_ms']:>10.1f} {r['cpu_ms'] - r['cpu_overhead_ms']:>19.1f} "
              f"{r['cpu_overhead_ms']:>19.2f}")
    eff = results[1]["rate"] / (2 * results[0]["rate"])
    eff_cpu = results[0]["cpu_ms"] / results[1]["cpu_ms"]
    same = all(r["csv"] == results[0]["csv"] for r in results)
    print()
    print(f"scaling efficiency 1 -> 2 local workers (wall clock): {100 * eff:.1f} %  (target >= 80 %)")
    print(f"  CPU per point, 1 worker / 2 workers: {100 * eff_cpu:.1f} %  (a proxy for the efficiency on two free cores)")
    worst = max(r["overhead_ms"] for r in results)
    print(f"per-point overhead (wall clock), worst executor: {worst:.1f} ms  (target < 5 ms)")
    print(f"  in CPU time, worst executor: {max(r['cpu_overhead_ms'] for r in results):.2f} ms")
    print(f"identical points.csv across executors: {'yes' if same else 'NO'}")
    print(f"load average (1/5/15 min) at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          "cpu share = CPU time / wall time of the workers while simulating (< 1: other processes "
          "competed for the cores)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
