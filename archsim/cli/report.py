"""archsim report DIR: plots and a short table from a run folder (report.json) or, for a
sweep folder (points.csv / sweep.sqlite), the sweep plots (archsim.sweep.report)."""
from __future__ import annotations

import sys
from pathlib import Path

from archsim.errors import ConfigError


def add_parser(sub):
    p = sub.add_parser("report", help="tables and plots (PNG + SVG) from a run or sweep folder")
    p.add_argument("dir", metavar="DIR", help="folder written by 'archsim run --out' or 'archsim sweep --out'")
    p.add_argument("--html", action="store_true",
                   help="write one self-contained DIR/report.html (run, sweep or reproduce folder) instead")
    p.set_defaults(func=cmd_report)


def _fmt(v):
    if isinstance(v, float):
        a = abs(v)
        return f"{v:.4g}" if a == 0 or 1e-3 <= a < 1e6 else f"{v:.4e}"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v)) or "-"
    return "-" if v is None else str(v)


def write_html_report(d) -> Path:
    """DIR/report.html, with its size and write time on stdout (also used by run/sweep/reproduce --html)."""
    import time

    from archsim.report.html import folder_kind, write_html
    t0 = time.perf_counter()
    if folder_kind(d) == "sweep":
        from archsim.sweep.html import write_sweep_html
        path = write_sweep_html(d)
    else:
        path = write_html(d)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.2f} MiB in {time.perf_counter() - t0:.2f} s)")
    return path


def cmd_report(args) -> int:
    d = Path(args.dir)
    if args.html or (d / "reproduce.json").is_file():
        write_html_report(d)
        return 0
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
