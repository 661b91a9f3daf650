"""Design sweeps: sweep files (spec, space), execution (execute), the durable store (store),
budgets and Pareto fronts (pareto), plots (report).

    from archsim.sweep import load_sweep, run_sweep
    result = run_sweep(load_sweep("sweeps/systolic-resnet50.toml"), "local",
                       out_dir="results/systolic-resnet50", jobs=2)

The folder `out_dir` gets `sweep.sqlite` (every finished point, committed as it arrives),
`points.csv`, `pareto.csv` and `inputs/` (copies of the sweep, arch and workload files).
"""
from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import Callable

import attrs

from archsim.errors import ConfigError
from archsim.sweep.execute import (EXECUTORS, dask_workers, default_chunk_size, default_jobs,
                                   evaluate_point, make_context, open_dask, run_chunk, run_dask,
                                   run_local)
from archsim.sweep.pareto import Criteria, export
from archsim.sweep.spec import SweepSpec, load_sweep
from archsim.sweep.store import Store


@attrs.frozen(kw_only=True)
class SweepPlan:
    """What a run will do, known before the pool starts (handed to `on_plan`)."""
    name: str
    out_dir: Path
    executor: str
    workers: int
    n_points: int          # points in the space (x workloads)
    n_unique: int          # distinct configs (duplicates share one key)
    n_done: int            # already in the store when this call started (resume)
    n_todo: int            # to run by this call (the timed points included)
    n_timed: int           # run first in this process to estimate the wall time
    chunk_size: int
    point_s: float | None  # measured seconds per point (from the timed points), None if none ran
    est_wall_s: float | None


@attrs.frozen(kw_only=True)
class SweepResult:
    out_dir: Path
    n_points: int
    n_unique: int
    n_ok: int
    n_failed: int
    n_missing: int         # not run (workers kept dying); `--resume` redoes them
    n_run: int             # evaluated by this call
    wall_s: float          # executor wall time of this call (after the timed points)
    sim_s: float           # sum of in-worker simulate() time of the points this call ran
    points_csv: Path
    pareto_csv: Path


def plan_tasks(spec: SweepSpec) -> tuple[list[tuple], int]:
    """Tasks (key, idx, workload_index, params) in sweep order, one per distinct key; and the
    number of points in the space. Two points resolving to the same config run once."""
    tasks, seen, n = [], set(), 0
    for p in spec.points():
        n += 1
        key = spec.point_key(p)
        if key in seen:
            continue
        seen.add(key)
        tasks.append((key, p.index, p.workload, dict(p.params)))
    return tasks, n


def _copy_inputs(spec: SweepSpec, out: Path) -> None:
    from archsim.report.write import input_files
    dest = out / "inputs"
    dest.mkdir(parents=True, exist_ok=True)
    for p in [Path(spec.file), *input_files(spec.arch_file), *(Path(w.path) for w in spec.workloads)]:
        if p.is_file() and not (dest / p.name).exists():
            shutil.copy2(p, dest / p.name)


def run_sweep(sweep_spec, executor: str = "local", *, out_dir, jobs: int | None = None,
              scheduler: str | None = None, resume: bool = False, chunk_size: int | None = None,
              timed_points: int = 4, client=None, retry_failed: bool = False,
              on_plan: Callable[[SweepPlan], None] | None = None,
              on_progress: Callable[[int, int], None] | None = None) -> SweepResult:
    """Run (or `resume`) a sweep into `out_dir`.

    executor: "local" (process pool of `jobs` workers, default all cores), "dask" (the cluster
    at `scheduler`, a given distributed `client`, or a LocalCluster of `jobs` workers), or
    "serial" (this process). `timed_points` points run here first to estimate the wall time
    (they are real results and are stored). `on_plan(plan)` is called once before the executor
    starts, `on_progress(done, total)` after each batch of results is committed.

    `out_dir` is locked for the run (archsim.io_safe.OutputLock): a second sweep into the same
    folder is refused (ConfigError naming the holder's pid). `retry_failed` (with `resume`)
    runs the stored failed points again; a success replaces the failure, a success is never
    replaced.
    """
    spec = sweep_spec if isinstance(sweep_spec, SweepSpec) else load_sweep(sweep_spec)
    if executor not in EXECUTORS:
        raise ConfigError("--executor", "executor", f"got {executor!r}; allowed values: {', '.join(EXECUTORS)}")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ConfigError("--jobs", "jobs", f"expected an integer >= 1, got {jobs!r}")
    if retry_failed and not resume:
        raise ConfigError("--retry-failed", "retry-failed", "needs --resume (it re-runs the failed "
                          "points stored in --out)")
    from archsim.io_safe import OutputLock, check_out_dir
    starts_processes = executor == "local" or (executor == "dask" and client is None and not scheduler)
    limit = max(16, 8 * default_jobs())
    if jobs is not None and starts_processes and jobs > limit:
        raise ConfigError("--jobs", "jobs", f"{jobs} worker processes on a machine with "
                          f"{default_jobs()} cores: at most {limit} (8 per core) are started here")
    workers = jobs or (1 if executor == "serial" else default_jobs())
    out = Path(out_dir)
    check_out_dir(out, flag="--out")
    crit = Criteria.from_spec(spec)
    tasks, n_points = plan_tasks(spec) if not spec.search else ([], spec.n_points)
    with OutputLock(out, flag="--out", command=f"archsim sweep {spec.name}"):
        close_dask = None
        if executor == "dask" and client is None:      # connect first: a bad address fails fast
            client, close_dask = open_dask(scheduler, workers)
        try:
            if spec.search:                            # a sampler picks the points (sweep/search.py)
                if retry_failed:
                    raise ConfigError("--retry-failed", "retry-failed", "not for a search sweep (its "
                                      "sampler chooses the points; failed ones are scored as such)")
                from archsim.sweep.search import run_search
                return run_search(spec, executor, out, crit,
                                  workers=dask_workers(client) if executor == "dask" else workers,
                                  resume=resume, chunk_size=chunk_size, client=client,
                                  on_plan=on_plan, on_progress=on_progress)
            return _run(spec, executor, out, tasks, n_points, crit, workers=workers, resume=resume,
                        chunk_size=chunk_size, timed_points=timed_points, client=client,
                        retry_failed=retry_failed, on_plan=on_plan, on_progress=on_progress)
        finally:
            if close_dask is not None:
                close_dask()


def _run(spec, executor, out, tasks, n_points, crit, *, workers, resume, chunk_size, timed_points,
         client, on_plan, on_progress, retry_failed=False) -> SweepResult:
    if executor == "dask":
        workers = dask_workers(client)
    with Store.open_dir(out) as store:
        store.check_or_init(spec, resume=resume, out_dir=out)
        store.set_meta(crit.to_meta())
        _copy_inputs(spec, out)
        done = store.keys(ok_only=retry_failed)     # --retry-failed: failed points run again
        todo = [t for t in tasks if t[0] not in done]
        ctx = make_context(spec)

        n_done = n_stored = len(tasks) - len(todo)

        def commit(results):
            nonlocal n_done
            store.add(results, replace_failed=retry_failed)
            n_done += len(results)
            if on_progress is not None:
                on_progress(n_done, len(tasks))

        # a few timed points in this process: the estimate, and real results. The first warms
        # up (imports, numba cache loads; a forked pool inherits them); the timed ones are spread
        # evenly over the space, whose corners can differ a lot in cost.
        n_t = min(timed_points, len(todo))        # no more timed points than points to run
        picks = sorted({0, *(len(todo) * (i + 1) // (n_t + 1) for i in range(n_t))}
                       ) if n_t and todo else []
        times = []
        if picks:   # the first alone (warm-up), the others as one chunk, as a worker runs them
            for batch in ([todo[picks[0]]], [todo[i] for i in picks[1:]]):
                if batch:
                    rs = run_chunk(ctx, batch)
                    commit(rs)
                    times.extend(r["eval_s"] for r in rs)
        n_timed = len(picks)
        picked = set(picks)
        todo = [t for i, t in enumerate(todo) if i not in picked]
        # the mean (not the median): the estimate is of a total
        point_s = (statistics.fmean(times[1:]) if len(times) > 1 else times[0]) if times else None
        size = chunk_size or default_chunk_size(len(todo), workers, point_s,
                                                target_s=2.0 if executor == "dask" else 0.5)
        plan = SweepPlan(name=spec.name, out_dir=out, executor=executor, workers=workers,
                         n_points=n_points, n_unique=len(tasks), n_done=n_stored,
                         n_todo=len(todo) + n_timed, n_timed=n_timed, chunk_size=size, point_s=point_s,
                         est_wall_s=None if point_s is None else len(todo) * point_s / workers)
        announce = (lambda: on_plan(plan)) if on_plan is not None else (lambda: None)

        sim_before = _sim_sum(store)
        t0 = time.perf_counter()
        missing: list = []
        try:
            if executor == "local" and todo:
                # announced once the pool has forked: the caller may start threads (a progress bar)
                missing = run_local(ctx, todo, jobs=workers, chunk_size=size, on_results=commit,
                                    on_ready=announce)
            elif executor == "dask" and todo:
                announce()
                missing = run_dask(ctx, todo, chunk_size=size, client=client, on_results=commit)
            else:
                announce()
                for t in todo:
                    commit([evaluate_point(ctx, t)])
        finally:
            wall = time.perf_counter() - t0
            rows = store.rows()
            pts, par = export(out, rows, crit)
        n_ok = sum(r["status"] == "ok" for r in rows)
        return SweepResult(out_dir=out, n_points=n_points, n_unique=len(tasks), n_ok=n_ok,
                           n_failed=len(rows) - n_ok, n_missing=len(tasks) - len(rows),
                           n_run=len(todo) - len(missing) + n_timed, wall_s=wall,
                           sim_s=_sim_sum(store) - sim_before, points_csv=pts, pareto_csv=par)


def _sim_sum(store: Store) -> float:
    return float(store.conn.execute("SELECT COALESCE(SUM(sim_s), 0) FROM points").fetchone()[0])


__all__ = ["SweepPlan", "SweepResult", "SweepSpec", "load_sweep", "plan_tasks", "run_sweep"]
