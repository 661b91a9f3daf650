"""Search instead of enumeration, for spaces too large to run point by point.

A sweep file's [sweep] table may say

    search = "nsga2"          # or "tpe" (multi-objective TPE) or "random"
    evaluations = 2000        # the budget: design points evaluated (more with --resume)
    seed = 1
    batch = 64                # points per generation: asked together, run in parallel, told

and the space's axes become the search's parameters (one per axis: an index into its values;
ordered when the values are numbers, categorical otherwise). Derived keys, constraints and
objectives work as in a grid sweep. Each generation is evaluated by the sweep's executor (so
systolic points are batched, archsim.sweep.batch) and committed to the same store as a grid
sweep's points: points.csv and pareto.csv (the front among the evaluated points) are written
the same way, and `--resume` replays the stored points into a fresh study and goes on until
`evaluations` points are stored.

Library: optuna (NSGA-II, multi-objective TPE and random sampling behind one ask/tell API, with
constraints; pure Python; pip `archsim[search]`). pymoo has NSGA-II but no TPE and pulls in
scipy and autograd; optuna's in-memory study suffices because the sweep store, not optuna's
storage, is the record of what ran.
"""
from __future__ import annotations

import math
import time
from typing import Callable

from archsim.errors import ConfigError
from archsim.sweep.pareto import Criteria, export, objective_values, violations

_OPTUNA_HINT = "the search needs optuna: pip install 'archsim[search]' (or pip install optuna)"


def _optuna():
    try:
        import optuna
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigError("sweep.search", "search", _OPTUNA_HINT) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _numeric(ax) -> bool:
    return (ax.kind == "values" and len(ax.keys) == 1
            and all(isinstance(r[0], (int, float)) and not isinstance(r[0], bool) for r in ax.rows))


def distributions(spec, optuna):
    out = {}
    for i, ax in enumerate(spec.axes):
        n = len(ax.rows)
        if _numeric(ax):
            out[f"a{i}"] = optuna.distributions.IntDistribution(0, n - 1)
        else:
            out[f"a{i}"] = optuna.distributions.CategoricalDistribution(tuple(range(n)))
    return out


def _sampler(spec, optuna, constraints):
    import warnings
    with warnings.catch_warnings():      # optuna 5 deprecates constraints_func (kept until 7)
        warnings.simplefilter("ignore", FutureWarning)
        return _make_sampler(spec, optuna, constraints)


def _make_sampler(spec, optuna, constraints):
    if spec.search == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=max(2, spec.batch), seed=spec.seed,
                                             constraints_func=constraints)
    if spec.search == "tpe":
        return optuna.samplers.TPESampler(seed=spec.seed, constraints_func=constraints,
                                          n_startup_trials=min(spec.batch, 32))
    return optuna.samplers.RandomSampler(seed=spec.seed)


def _choice_of(spec, params: dict) -> list[int] | None:
    """The axis indices of a stored point's parameters (None if it is not in the space)."""
    out = []
    for ax in spec.axes:
        want = tuple(params.get(k) for k in ax.keys)
        hit = next((j for j, r in enumerate(ax.rows) if tuple(r) == want), None)
        if hit is None:
            return None
        out.append(hit)
    return out


def run_search(spec, executor: str, out, crit: Criteria, *, workers: int, resume: bool,
               chunk_size: int | None, client, on_plan: Callable | None,
               on_progress: Callable | None):
    from archsim.sweep import SweepPlan, SweepResult, _copy_inputs, _sim_sum
    from archsim.sweep.execute import make_context, run_chunk, run_dask
    from archsim.sweep.store import Store
    optuna = _optuna()
    from optuna.samplers._base import _CONSTRAINTS_KEY
    from optuna.trial import TrialState, create_trial

    dists = distributions(spec, optuna)
    directions = ["minimize" if g == "min" else "maximize" for _, g, _ in crit.objectives]

    def constraints(trial):
        return [float(trial.user_attrs.get("violation", 0.0))]

    study = optuna.create_study(directions=directions,
                                sampler=_sampler(spec, optuna, constraints))

    def outcome(row):
        """(values or None for a failed trial, violation >= 0)."""
        vals = objective_values(row, crit) if row.get("status") == "ok" else None
        if vals is None or any(v is None or not math.isfinite(v) for v in vals):
            return None, 1.0
        return vals, (1.0 if violations(row, crit) else 0.0)

    def tell(trial, row):
        vals, vio = outcome(row)
        trial.set_user_attr("violation", vio)
        if vals is None:
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, vals)

    with Store.open_dir(out) as store:
        store.check_or_init(spec, resume=resume, out_dir=out)
        store.set_meta({**crit.to_meta(), "search": {"sampler": spec.search, "seed": spec.seed,
                                                     "batch": spec.batch,
                                                     "evaluations": spec.evaluations}})
        _copy_inputs(spec, out)
        ctx = make_context(spec)
        by_key = {r["key"]: r for r in store.rows()}
        for r in sorted(by_key.values(), key=lambda r: r["finished_unix"] or 0.0):   # resume
            choice = _choice_of(spec, r["params"] or {})
            if choice is None:
                continue
            vals, vio = outcome(r)
            params = {f"a{i}": c for i, c in enumerate(choice)}
            study.add_trial(create_trial(
                params=params, distributions=dists, values=vals,
                state=TrialState.COMPLETE if vals is not None else TrialState.FAIL,
                user_attrs={"violation": vio}, system_attrs={_CONSTRAINTS_KEY: [vio]}))
        n_stored = len(by_key)
        todo_total = max(0, spec.evaluations - n_stored)
        size0 = chunk_size or max(1, min(256, math.ceil(spec.batch / max(1, workers))))
        if on_plan is not None:
            on_plan(SweepPlan(name=spec.name, out_dir=out, executor=executor, workers=workers,
                              n_points=n_stored + todo_total, n_unique=n_stored + todo_total,
                              n_done=n_stored, n_todo=todo_total, n_timed=0, chunk_size=size0,
                              point_s=None, est_wall_s=None))
        sim_before = _sim_sum(store)
        t0 = time.perf_counter()
        n_run = 0
        missing: list = []
        pool = None

        def commit(results):
            store.add(results)
            for r in results:
                by_key[r["key"]] = r
            if on_progress is not None:
                on_progress(len(by_key), n_stored + todo_total)

        try:
            while len(by_key) < spec.evaluations:
                want = min(spec.batch, spec.evaluations - len(by_key))
                asked, later, tasks, keys = [], [], [], set()
                tries = 0
                while len(tasks) < want and tries < 50 * want:
                    tries += 1
                    trial = study.ask(dists)
                    p = spec.point_at([trial.params[f"a{i}"] for i in range(len(spec.axes))])
                    key = spec.point_key(p)
                    if key in by_key:            # evaluated already: told at once, costs nothing
                        tell(trial, by_key[key])
                    elif key in keys:
                        later.append((trial, key))
                    else:
                        keys.add(key)
                        tasks.append((key, p.index, p.workload, dict(p.params)))
                        asked.append((trial, key))
                if not tasks:                   # the sampler finds nothing new: space exhausted
                    break
                size = chunk_size or max(1, min(256, math.ceil(len(tasks) / max(1, workers))))
                if executor == "local" and workers > 1 and len(tasks) > 1:
                    if pool is None:
                        pool = _Pool(ctx, workers)
                    missing += pool.run(tasks, size, commit)
                elif executor == "dask":
                    missing += run_dask(ctx, tasks, chunk_size=size, client=client, on_results=commit)
                else:
                    for i in range(0, len(tasks), size):
                        commit(run_chunk(ctx, tasks[i:i + size]))
                n_run += len(tasks)
                for trial, key in asked + later:
                    if key in by_key:
                        tell(trial, by_key[key])
                    else:
                        study.tell(trial, state=TrialState.FAIL)
        finally:
            if pool is not None:
                pool.close()
            wall = time.perf_counter() - t0
            rows = store.rows()
            pts, par = export(out, rows, crit)
        n_ok = sum(r["status"] == "ok" for r in rows)
        return SweepResult(out_dir=out, n_points=spec.n_points, n_unique=len(rows), n_ok=n_ok,
                           n_failed=len(rows) - n_ok, n_missing=len(missing), n_run=n_run,
                           wall_s=wall, sim_s=_sim_sum(store) - sim_before, points_csv=pts,
                           pareto_csv=par)


class _Pool:
    """One local process pool for every generation: its workers keep their loaded model and
    the batch path's count caches from one generation to the next. A pool that breaks (a
    worker killed) hands the generation to archsim.sweep.execute.run_local, which restarts."""

    def __init__(self, ctx, workers: int):
        self.ctx = ctx
        self.workers = workers
        self.pool = None

    def _start(self):
        import os
        from concurrent.futures import ProcessPoolExecutor

        from archsim.sweep.execute import _init_worker, _mp_context
        self.pool = ProcessPoolExecutor(max_workers=self.workers,
                                        mp_context=_mp_context(self.ctx.modules),
                                        initializer=_init_worker, initargs=(self.ctx, os.getpid()))

    def run(self, tasks, size, on_results) -> list:
        if self.pool is None:
            self._start()
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        from archsim.sweep.execute import _chunks, _kill_pool, run_chunk, run_local
        pending = {self.pool.submit(run_chunk, None, c): c for c in _chunks(tasks, size)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    chunk = pending.pop(fut)
                    on_results(fut.result())
        except BrokenProcessPool:
            _kill_pool(self.pool)
            left = [t for c in pending.values() for t in c] + list(chunk)
            self.pool = None
            return run_local(self.ctx, left, jobs=self.workers, chunk_size=size, on_results=on_results)
        except BaseException:
            _kill_pool(self.pool)
            self.pool = None
            raise
        return []

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None
