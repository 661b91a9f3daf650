"""archsim report DIR: plots and a short table from a run folder (report.json) or, for a
sweep folder (points.csv / sweep.sqlite), the sweep plots (archsim.sweep.report)."""
from __future__ import annotations

import sys
from pathlib import Path

from archsim.errors import ConfigError


def add_parser(sub):
    p = sub.add_parser("report", help="tables and plots (PNG + SVG) from a run or sweep folder")
    p.add_argument("dir", metavar="DIR", help="folder written by 'archsim run --out' or 'archsim sweep --out'")
    p.set_defaults(func=cmd_report)


def _fmt(v):
    if isinstance(v, float):
        a = abs(v)
        return f"{v:.4g}" if a == 0 or 1e-3 <= a < 1e6 else f"{v:.4e}"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v)) or "-"
    return "-" if v is None else str(v)


def cmd_report(args) -> int:
    d = Path(args.dir)
    if not d.is_dir():
        raise ConfigError(d, "<dir>", "not a folder; expected a run folder (report.json) or a "
                          "sweep folder (points.csv / sweep.sqlite)")
    if (d / "points.csv").exists() or (d / "sweep.sqlite").exists():
        from archsim.sweep.report import plot_sweep
        paths = plot_sweep(d)
        for p in paths:
            print(f"wrote {p}")
        return 0
    from archsim.report.plots import load_report, plot_run, summary_rows
    report = load_report(d)
    paths = plot_run(d)
    from rich.console import Console
    from rich.table import Table
    console = Console(file=sys.stdout, width=120)
    for title, rows in summary_rows(report).items():
        if not rows:
            continue
        t = Table(title=title, show_header=False)
        t.add_column("what")
        t.add_column("value", justify="right")
        for k, v in rows:
            t.add_row(str(k), _fmt(v))
        console.print(t)
    warns = (report.get("provenance") or {}).get("warnings") or []
    for w in warns:
        print(f"warning: {w}")
    for p in paths:
        print(f"wrote {p}")
    return 0
