"""Run a sweep's points: in this process, on a local process pool, or on a Dask cluster.

Workers get a `Context` (the resolved base arch data and the workload files' bytes, so a remote
worker needs archsim installed but none of the sweep's files) and chunks of tasks
`(key, idx, workload_index, params)`. A worker loads each workload once per process and keeps
it; numba kernels load from their on-disk cache (`cache=True`) once per process. Each chunk's
results stream back to the parent, which commits them to the store (archsim.sweep.store) as they
arrive; nothing else writes.

Failures: a point whose arch or model raises is a result with status "error" (recorded, the
sweep goes on). A worker that dies (killed, out of memory) loses only its chunk in flight: the
local pool is restarted and the unfinished chunks resubmitted (a few times at most); Dask
reschedules them itself. Whatever is still missing when the run ends is redone by --resume.
"""
from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
import weakref
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import attrs

from archsim.errors import ConfigError, ModelError

EXECUTORS = ("local", "dask", "serial")
MAX_POOL_RESTARTS = 3


@attrs.frozen(kw_only=True)
class Context:
    """What a worker needs to evaluate any point of one sweep (picklable, self-contained)."""
    digest: str
    arch_file: str
    arch_data: Mapping[str, Any] = attrs.field(repr=False)
    workloads: tuple[tuple[str, bytes, str], ...] = attrs.field(repr=False)  # (name, content, path)
    modules: tuple[str, ...] = ()          # to import up front (component and energy modules)
    workload_names: tuple[str, ...] = ()   # the label of each workload's points


def make_context(spec) -> Context:
    from archsim.config.registry import COMPONENT_MODULES
    files = tuple((Path(w.path).name, Path(w.path).read_bytes(), w.path) for w in spec.workloads)
    kinds = {t.get("kind") for t in spec.arch_data.get("components", {}).values() if isinstance(t, Mapping)}
    mods = tuple(sorted(COMPONENT_MODULES[k] for k in kinds if k in COMPONENT_MODULES))
    h = hashlib.sha256(spec.digest().encode())
    for name, content, _ in files:
        h.update(name.encode())
        h.update(content)
    return Context(digest=h.hexdigest(), arch_file=spec.arch_file, arch_data=spec.arch_data,
                   workloads=files, modules=mods + ("archsim.simulate",),
                   workload_names=tuple(w.name for w in spec.workloads))


class _Loaded:
    """Per-process state for one Context: the workload files (the originals when this machine
    has them unchanged, else copies in a temporary folder) and the workloads loaded from them."""

    def __init__(self, ctx: Context):
        import importlib
        for m in ctx.modules:          # component modules (plugins register their kinds on import)
            importlib.import_module(m)
        self.ctx = ctx
        self.paths = []
        tmp = None
        for i, (name, content, orig) in enumerate(ctx.workloads):
            p = Path(orig)
            try:
                same = p.is_file() and p.read_bytes() == content
            except OSError:
                same = False
            if not same:
                if tmp is None:
                    tmp = Path(tempfile.mkdtemp(prefix="archsim-sweep-"))
                    weakref.finalize(self, shutil.rmtree, tmp, True)
                p = tmp / str(i) / name      # keep the file name: it is the workload's name
                p.parent.mkdir()
                p.write_bytes(content)
            self.paths.append(p)
        self.workloads: dict[tuple, Any] = {}

    def workload(self, i: int, overrides: Mapping):
        from archsim.workloads.load import load_workload
        k = (i, json.dumps(overrides, sort_keys=True))
        wl = self.workloads.get(k)
        if wl is None:
            if len(self.workloads) > 64:
                self.workloads.clear()
            wl = self.workloads[k] = load_workload(self.paths[i], overrides or None)
        return wl


_PROCESS_STATE: dict[str, _Loaded] = {}     # per worker process: context digest -> loaded state


def _state(ctx: Context) -> _Loaded:
    st = _PROCESS_STATE.get(ctx.digest)
    if st is None:
        _PROCESS_STATE.clear()
        st = _PROCESS_STATE[ctx.digest] = _Loaded(ctx)
    return st


def evaluate_point(ctx: Context, task) -> dict:
    """One point -> a store row (status ok with totals, or error with the message)."""
    from archsim.config.arch import arch_from_data
    from archsim.config.load import apply_overrides
    from archsim.plausibility import check_work
    from archsim.report.report import _clean
    from archsim.simulate import simulate
    from archsim.sweep.spec import split_params
    key, idx, wi, params = task
    t0 = time.perf_counter()
    row = {"key": key, "idx": idx, "workload": None, "params": params, "status": "ok", "error": None,
           "worker": f"{socket.gethostname()}:{os.getpid()}", "sim_s": None, "cpu_s": None}
    arch_over, wl_over = split_params(params)
    st = _state(ctx)
    row["workload"] = ctx.workload_names[wi]
    try:
        arch = arch_from_data(apply_overrides(dict(ctx.arch_data), arch_over, file=ctx.arch_file),
                              file=ctx.arch_file)
        wl = st.workload(wi, wl_over)
        check_work(arch, wl)            # an op over the work budget fails the point, not the run
        t1, c1 = time.perf_counter(), time.process_time()
        rep = simulate(arch, wl)        # impossible numbers fail the point (ModelError)
        row["sim_s"] = time.perf_counter() - t1
        row["cpu_s"] = time.process_time() - c1
        breakdown: dict[str, float] = {}
        for o in rep.ops:
            for k, v in o.energy_breakdown_j.items():
                breakdown[k] = breakdown.get(k, 0.0) + float(v)
        row.update(_clean({
            "totals": rep.totals(), "budget": dict(rep.budget) if rep.budget is not None else None,
            "components": [{k: v for k, v in attrs.asdict(c).items() if v is not None and v != {}}
                           for c in rep.components],
            "energy_breakdown": breakdown}))
    except ConfigError as exc:
        row.update(status="error", error=f"ConfigError: {exc}")
    except Exception as exc:    # a failing point is recorded and the sweep goes on
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" [{Path(tb[-1].filename).name}:{tb[-1].lineno}]" if tb else ""
        row.update(status="error", error=f"{type(exc).__name__}: {exc}{where}")
    row["eval_s"] = time.perf_counter() - t0
    row["finished_unix"] = time.time()
    return row


def run_chunk(ctx: Context | None, tasks: Sequence) -> list[dict]:
    """Evaluate a chunk of tasks (the unit of work sent to a worker): systolic-only points on
    chain workloads in batch (archsim.sweep.batch, same numbers), the others one by one."""
    ctx = ctx if ctx is not None else _WORKER_CTX
    from archsim.sweep.batch import evaluate_chunk
    return evaluate_chunk(ctx, tasks, evaluate_point)


# ---------------------------------------------------------------- local process pool

_WORKER_CTX: Context | None = None


def _init_worker(ctx: Context, parent_pid: int) -> None:
    """Pool worker start: ignore Ctrl-C (the parent handles it), import the model modules, and
    exit if the process that started the pool goes away (a SIGKILLed sweep leaves no orphans)."""
    global _WORKER_CTX
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_CTX = ctx
    _state(ctx)
    ppid = os.getppid()

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != ppid or not _alive(parent_pid):
                os._exit(1)
    threading.Thread(target=watch, daemon=True, name="archsim-parent-watch").start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _mp_context(modules: Sequence[str]):
    """fork on Linux: workers start in milliseconds and inherit the imported model and the numba
    code the parent already loaded (the timed points ran here). The pool forks before the caller
    starts any thread (see `on_ready`). Elsewhere forkserver (macOS: fork is unsafe), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        mp = multiprocessing.get_context("forkserver")
        mp.set_forkserver_preload(["archsim.sweep.execute", *modules])
        return mp
    return multiprocessing.get_context("spawn")


def _chunks(tasks: Sequence, size: int) -> list[list]:
    return [list(tasks[i:i + size]) for i in range(0, len(tasks), size)]


def run_local(ctx: Context, tasks: Sequence, *, jobs: int, chunk_size: int,
              on_results: Callable[[list[dict]], None],
              on_ready: Callable[[], None] | None = None) -> list:
    """Process pool; returns the tasks that could not be run (workers kept dying).
    `on_ready()` is called once the first pool's workers are started (forked)."""
    todo = _chunks(tasks, chunk_size)
    restarts = 0
    mp = _mp_context(ctx.modules)
    while todo:
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=mp,
                                   initializer=_init_worker, initargs=(ctx, os.getpid()))
        pending = {pool.submit(run_chunk, None, c): c for c in todo}   # the first submit starts them
        todo = []
        if on_ready is not None:
            on_ready()
            on_ready = None
        broken = False
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    chunk = pending.pop(fut)
                    try:
                        results = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        todo.append(chunk)
                        continue
                    on_results(results)
                if broken:
                    todo.extend(pending.values())
                    pending.clear()
        except BaseException:
            _kill_pool(pool)
            raise
        if broken:
            _kill_pool(pool)
            restarts += 1
            if restarts > MAX_POOL_RESTARTS:
                return [t for c in todo for t in c]
        else:
            pool.shutdown(wait=True)
    return []


def _kill_pool(pool: ProcessPoolExecutor) -> None:
    """Stop the pool's worker processes now (they are ours: started by this executor)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)


# ---------------------------------------------------------------- Dask

def open_dask(scheduler: str | None, jobs: int):
    """A distributed Client for the cluster at `scheduler`, or on a new LocalCluster of `jobs`
    single-threaded worker processes. Returns (client, close); call close() when done."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover
        raise ConfigError("--executor", "dask", "dask.distributed is not installed "
                          "(pip install 'dask[distributed]')") from None
    if scheduler:
        from archsim.sweep.scheduler_probe import probe_scheduler
        probe_scheduler(scheduler)          # a server that is not Dask would hang Client()
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError("--scheduler", scheduler, f"cannot reach the Dask scheduler: {exc}") from None
        except Exception as exc:       # distributed's own errors (handshake, version mismatch)
            raise ConfigError("--scheduler", scheduler, f"cannot use the Dask scheduler: "
                              f"{type(exc).__name__}: {exc}") from None
        return client, client.close
    import dask
    # no dashboard, so the workers' statistical profiler (a stack sample every 10 ms) would
    # only cost CPU
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(cluster)

    def close():
        client.close()
        cluster.close()
    return client, close


def dask_workers(client) -> int:
    return max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))


def run_dask(ctx: Context, tasks: Sequence, *, chunk_size: int, client,
             on_results: Callable[[list[dict]], None]) -> list:
    """On a dask.distributed cluster (see `open_dask`). Dask reschedules the chunks of a dead
    worker; a chunk that still fails (KilledWorker after repeated deaths) is returned as not run."""
    from distributed import as_completed
    failed: list = []
    futs: dict = {}
    try:
        futs = {client.submit(run_chunk, ctx, c, pure=False): c for c in _chunks(tasks, chunk_size)}
        for fut in as_completed(list(futs)):
            if fut.status == "finished":
                on_results(fut.result())
            else:                     # e.g. KilledWorker: its workers kept dying; --resume
                failed.extend(futs[fut])
            fut.release()
    except BaseException:
        for f in futs:
            f.cancel()
        raise
    return failed


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


def default_chunk_size(n_tasks: int, workers: int, point_s: float | None, *,
                       target_s: float = 0.5) -> int:
    """At least eight chunks per worker (load balance: point costs vary a lot across a space),
    about `target_s` of estimated work per chunk (results stream back and are committed often;
    a kill loses little), at most 256 points. A pool task costs well under a millisecond, so
    local chunks matter for points of microseconds to milliseconds; a Dask task costs a few
    milliseconds of scheduler and worker time, so Dask gets a longer target."""
    size = math.ceil(n_tasks / max(1, workers * 8))
    if point_s and point_s > 0:
        size = min(size, max(1, int(target_s / point_s)))
    return max(1, min(size, 256))
