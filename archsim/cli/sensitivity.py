"""archsim sensitivity ngpc|vrex: every open knob of a study moved -50 % / +50 %, its effect on
each headline output (table + tornado plots), and which of the study's conclusions flip."""
from __future__ import annotations

from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("sensitivity", help="every open knob of a study moved -50 %% / +50 %%: effect on the "
                                           "headline outputs, tornado plots, conclusions that flip")
    p.add_argument("study", choices=("ngpc", "vrex"))
    p.add_argument("--knob", action="append", default=[], metavar="NAME",
                   help="only this knob (repeatable; names as in the table)")
    p.add_argument("--json", metavar="FILE", help="write the rows as a JSON list ('-' for stdout)")
    p.add_argument("--out", metavar="DIR", help="folder for the tornado plots (default results/sensitivity-STUDY)")
    p.add_argument("--quick", action="store_true", help="small representative batches / ReSV runs (a smoke test)")
    p.set_defaults(func=cmd_sensitivity)


def cmd_sensitivity(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from archsim.cli.text import print_study_tail
    from archsim.io_safe import check_out_dir, check_out_file
    from archsim.studies import sensitivity as S
    out = Path(args.out or f"results/sensitivity-{args.study}")
    check_out_dir(out, flag="--out")          # destinations before the study computes
    if args.json and args.json != "-":
        check_out_file(args.json, flag="--json")
    res = S.run(args.study, out, quick=args.quick, knobs=tuple(args.knob))
    console = Console(width=170)
    outputs = [r["quantity"] for r in res.rows if r["params"]["step"] == "base"]
    t = Table(title=f"{args.study}: change of each headline output (%) with each knob at -50 % / +50 %")
    t.add_column("knob")
    t.add_column("kind")
    for o in outputs:
        t.add_column(o, justify="right")
    by = {}
    for r in res.rows:
        p = r["params"]
        if p["step"] != "base":
            by.setdefault((p["knob"], p["kind"]), {}).setdefault(r["quantity"], {})[p["step"]] = p["change_pct"]

    def cell(d):
        return " / ".join("-" if d.get(s) is None else f"{d[s]:+.1f}" for s in ("-50%", "+50%"))
    for (knob, kind), d in by.items():
        t.add_row(knob.replace("components.", ""), kind, *[cell(d.get(o, {})) for o in outputs])
    console.print(t)
    print_study_tail(console, res, args.json)
    return 0
