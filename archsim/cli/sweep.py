"""archsim sweep SWEEP.toml: count the points, estimate the wall time, run with a progress bar."""
from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("sweep", help="run a design sweep (local process pool or Dask), resumable")
    p.add_argument("sweep", help="sweep TOML (e.g. sweeps/systolic-resnet50.toml)")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local process pool (default) or a dask.distributed cluster")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="worker processes (local pool, or a Dask LocalCluster); default: all cores")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address (tcp://host:8786); default: start a LocalCluster")
    p.add_argument("--resume", action="store_true",
                   help="continue a sweep in --out: run only the points not yet stored")
    p.add_argument("--out", metavar="DIR", help="result folder (default: results/<sweep name>)")
    p.add_argument("--chunk-size", type=int, metavar="N", help="points per task (default: automatic)")
    p.add_argument("--html", action="store_true", help="also write OUT/report.html")
    p.add_argument("--timed-points", type=int, default=4, metavar="N",
                   help="points run first, in this process, to estimate the wall time (default 4)")
    p.set_defaults(func=cmd_sweep)


def _dur(s) -> str:
    if s is None:
        return "?"
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60)} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60)} min"


def cmd_sweep(args) -> int:
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    from archsim.errors import ConfigError
    from archsim.sweep import load_sweep, run_sweep
    if args.scheduler and args.executor != "dask":
        raise ConfigError("--scheduler", "scheduler", "needs --executor dask")
    for flag, v in (("--jobs", args.jobs), ("--chunk-size", args.chunk_size)):
        if v is not None and v < 1:
            raise ConfigError(flag, flag.lstrip("-"), f"expected an integer >= 1, got {v}")
    if args.timed_points < 0:
        raise ConfigError("--timed-points", "timed-points", f"expected an integer >= 0, got {args.timed_points}")
    spec = load_sweep(args.sweep)
    out = Path(args.out) if args.out else Path("results") / spec.name
    console = Console(file=sys.stdout, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("ETA"),
                        TimeRemainingColumn(), console=console, transient=False)
    state = {}
    console.print(f"sweep {spec.name}: {spec.n_points} points "
                  f"({len(spec.workloads)} workload{'s' if len(spec.workloads) != 1 else ''}) -> {out}")

    def on_plan(plan):
        dup = plan.n_points - plan.n_unique
        console.print(f"{plan.n_unique} distinct points"
                      + (f" ({dup} duplicates share a config)" if dup else "")
                      + f", {plan.n_done} stored, {plan.n_todo} to run on {plan.executor} "
                        f"with {plan.workers} worker{'s' if plan.workers != 1 else ''} "
                        f"(chunks of {plan.chunk_size})")
        if plan.point_s is not None:
            console.print(f"estimated wall time: {_dur(plan.est_wall_s)} "
                          f"({plan.point_s * 1e3:.1f} ms per point, from {plan.n_timed} timed points)")
        state["task"] = progress.add_task(spec.name, total=plan.n_unique, completed=plan.n_done + plan.n_timed)
        progress.start()

    def on_progress(done, total):
        if "task" in state:
            progress.update(state["task"], completed=done)

    try:
        res = run_sweep(spec, args.executor, out_dir=out, jobs=args.jobs, scheduler=args.scheduler,
                        resume=args.resume, chunk_size=args.chunk_size, timed_points=args.timed_points,
                        on_plan=on_plan, on_progress=on_progress)
    except KeyboardInterrupt:
        progress.stop()
        print(f"archsim: interrupted; finished points are stored in {out}. Continue with:\n"
              f"  archsim sweep {args.sweep} --out {out} --resume", file=sys.stderr)
        return 130
    finally:
        progress.stop()
    console.print(f"{res.n_ok} ok, {res.n_failed} failed"
                  + (f", {res.n_missing} not run (rerun with --resume)" if res.n_missing else "")
                  + f"; ran {res.n_run} points in {_dur(res.wall_s)}")
    _print_front(console, out)
    console.print(f"wrote {res.points_csv}, {res.pareto_csv}; plots: archsim report {out}")
    if args.html:
        from archsim.cli.report import write_html_report
        write_html_report(out)
    return 1 if res.n_missing else 0


def _print_front(console, out: Path, limit: int = 12) -> None:
    """The Pareto front (its first rows), parameters that vary and the objectives."""
    from rich.table import Table

    from archsim.sweep.report import load_table
    _, flat, crit, _ = load_table(out)
    front = [r for r in flat if r["pareto"]]
    if not front:
        console.print("no feasible point: the Pareto front is empty (see violations in points.csv)")
        return
    objs = [t for t, _, _ in crit.objectives]
    keys = [k for k in crit.param_keys if len({repr(r.get(k)) for r in front}) > 1]
    multi = len({r["_workload"] for r in front}) > 1
    t = Table(title=f"Pareto front: {len(front)} of {sum(r['feasible'] for r in flat)} feasible points"
                    + (f" (first {limit})" if len(front) > limit else ""))
    last = [k.rsplit(".", 1)[-1] for k in keys]
    short = [s if last.count(s) == 1 else k for s, k in zip(last, keys)]
    cols = (["workload"] if multi else []) + short + [
        f"{o.removeprefix('totals.')} ({g})" for o, g, _ in crit.objectives]
    for c in cols:
        t.add_column(c, justify="left" if c == "workload" else "right")
    for r in front[:limit]:
        vals = ([r["_workload"]] if multi else []) + [r.get(k) for k in keys] + [r.get(o) for o in objs]
        t.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in vals))
    console.print(t)
