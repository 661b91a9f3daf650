"""archsim reproduce ngpc|vrex: paper value, archsim value and ratio for every quantity.

A study module `archsim.studies.<study>` provides
    run(out_dir: pathlib.Path) -> archsim.studies.common.StudyResult
with `.rows` (DESIGN.md §3 rows), `.plots` (written files) and `.notes` (calibrated parameters
and what they were fitted to, and other remarks).
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

STUDIES = ("ngpc", "vrex")


def add_parser(sub):
    p = sub.add_parser("reproduce", help="reproduce a paper's figures: paper value, archsim value, ratio")
    p.add_argument("study", choices=STUDIES)
    p.add_argument("--json", metavar="FILE", help="write the rows as a JSON list")
    p.add_argument("--out", metavar="DIR", help="folder for plots (default results/reproduce-STUDY)")
    p.add_argument("--html", action="store_true", help="also write DIR/report.html")
    p.set_defaults(func=cmd_reproduce)


def _fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        a = abs(v)
        return f"{v:.3e}" if a and (a < 1e-3 or a >= 1e5) else f"{v:.4g}"
    return str(v)


def _params(p: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in p.items())


def cmd_reproduce(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from archsim.cli.text import cell, print_study_tail
    from archsim.io_safe import check_out_dir, check_out_file, make_dir
    out = Path(args.out or f"results/reproduce-{args.study}")
    # destinations first: a study computes for tens of seconds; its rows must not be lost
    check_out_dir(out, flag="--out")
    if args.json and args.json != "-":
        check_out_file(args.json, flag="--json")
    mod = importlib.import_module(f"archsim.studies.{args.study}")
    make_dir(out, flag="--out")
    res = mod.run(out)
    from archsim.report.html import write_reproduce_folder
    write_reproduce_folder(out, args.study, res.rows, res.notes, res.plots)
    console = Console(width=170, file=sys.stderr if args.json == "-" else sys.stdout)
    paired = [r for r in res.rows if r.get("paper_value") is not None]
    t = Table(title=f"{args.study}: quantities with a paper value")
    for c in ("quantity", "params", "unit", "paper", "archsim", "archsim/paper"):
        t.add_column(c, justify="right" if c in ("paper", "archsim", "archsim/paper") else "left")
    for r in paired:
        ratio = (r["value"] / r["paper_value"]) if r["value"] is not None and r["paper_value"] else None
        t.add_row(cell(r["quantity"]), cell(_params(r["params"])), cell(r.get("unit", "")),
                  _fmt(r["paper_value"]), _fmt(r["value"]), _fmt(ratio))
    console.print(t)
    rest = [r for r in res.rows if r.get("paper_value") is None]
    console.print(f"{len(rest)} further quantities archsim predicts (no paper value): "
                  + cell(", ".join(sorted({r['quantity'] for r in rest}))))
    print_study_tail(console, res, args.json)
    if args.html:
        from archsim.cli.report import write_html_report
        write_html_report(out)
    return 0
