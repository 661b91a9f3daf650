"""archsim validate-model: every reference figure archsim can be checked against (SCALE-Sim
reports, GPU measurements, the papers' figures, published silicon) in one table of reference /
archsim / ratio / within tolerance, grouped by block, with a summary line."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("validate-model", help="check archsim against every reference figure it can be checked "
                                              "against: table by block, summary, regressions")
    p.add_argument("--quick", action="store_true", help="the CI subset: NGPC study with small batches, V-Rex "
                                                        "with small ReSV runs (everything else in full)")
    p.add_argument("--only", action="append", default=[], metavar="GROUP",
                   help="only groups starting with this (systolic, gpu, ngpc, vrex, published; repeatable)")
    p.add_argument("--rows", action="append", default=[], metavar="STUDY=FILE",
                   help="reuse `archsim reproduce STUDY --json FILE` output instead of running the study")
    p.add_argument("--json", metavar="FILE", help="write every check as JSON ('-' for stdout)")
    p.add_argument("--markdown", metavar="FILE", help="write the table as Markdown (docs/validation.md)")
    p.add_argument("--baseline", metavar="FILE", help="compare with a baseline (--write-baseline output): "
                                                      "exit 1 if a check regressed")
    p.add_argument("--write-baseline", metavar="FILE", help="write the checks' within / ratio as a baseline")
    p.add_argument("--all", action="store_true", help="print every check, not only the summary and misses")
    p.set_defaults(func=cmd_validate_model)


def cmd_validate_model(args) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from archsim.errors import ConfigError
    from archsim.studies import fidelity as F
    from archsim.io_safe import atomic_write_text, check_out_file, json_text
    from archsim.report.check import read_reproduce_json
    rows = {}
    for item in args.rows:
        study, _, path = item.partition("=")
        if study not in ("ngpc", "vrex") or not path:
            raise ConfigError("--rows", item, "expected ngpc=FILE or vrex=FILE")
        doc = read_reproduce_json(path)             # rows checked like a config
        rows[study] = doc.get("rows") if isinstance(doc, dict) else doc
    # destinations and the baseline before the checks run (minutes)
    for flag, dest in (("--json", args.json), ("--markdown", args.markdown),
                       ("--write-baseline", args.write_baseline)):
        if dest and dest != "-":
            check_out_file(dest, flag=flag)
    base = None
    if args.baseline:
        from archsim.config.load import read_text
        try:
            base = json.loads(read_text(args.baseline))
        except ValueError as exc:
            raise ConfigError(args.baseline, "<syntax>", f"not valid JSON: {exc}; write one with "
                              "--write-baseline") from None
        if not isinstance(base, dict):
            raise ConfigError(args.baseline, "<root>", "expected an object written by --write-baseline")
    checks = F.run(quick=args.quick, rows_by_study=rows, only=tuple(args.only))
    console = Console(width=170)
    t = Table(title="archsim validate-model: reference vs archsim, by block")
    for c in ("group", "checks", "predictions", "within (pred.)", "fitted", "worst ratio", "worst check"):
        t.add_column(c, justify="left" if c in ("group", "worst check") else "right")
    for s in F.summary(checks):
        t.add_row(s["group"], str(s["n"]), str(s["predictions"]), f"{s['predictions_within']}/{s['predictions']}",
                  str(s["fitted"]), f"{s['worst_ratio']:.3g}", escape(s["worst_id"][:70]))
    console.print(t)
    # the misses among predictions (the GPU's per-kernel groups are summarised above only)
    shown = checks if args.all else [c for c in checks if not c.within and c.basis != "fitted" and (
        not c.group.startswith("gpu.") or c.group == "gpu.sustained")]
    if shown:
        d = Table(title="checks outside tolerance" if not args.all else "every check")
        for c in ("group", "check", "reference", "archsim", "ratio", "tolerance", "basis"):
            d.add_column(c, justify="right" if c in ("reference", "archsim", "ratio") else "left")
        for c in shown:
            d.add_row(escape(c.group), escape(c.id[:110]), f"{c.reference:.4g} {c.unit}", f"{c.archsim:.4g}",
                      f"{c.ratio:.3f}", f"{c.tolerance[0]:.3g}-{c.tolerance[1]:.3g}", c.basis)
        console.print(d)
    o = F.overall(checks)
    console.print(f"summary: {o['n']} checks, {o['predictions']} predictions, {o['predictions_within']} within "
                  f"tolerance ({100 * o['predictions_within'] / max(o['predictions'], 1):.0f} %), {o['fitted']} "
                  "fitted (not counted as predictions)")
    if args.json:
        text = json_text([c.to_dict() for c in checks], indent=1)
        if args.json == "-":
            sys.stdout.write(text + "\n")
        else:
            atomic_write_text(args.json, text, flag="--json")
    if args.markdown:
        atomic_write_text(args.markdown, F.markdown(checks, title="Validation: archsim against every reference "
                                                                "it can be checked against"), flag="--markdown")
        console.print(f"wrote {args.markdown}")
    if args.write_baseline:
        atomic_write_text(args.write_baseline, json.dumps(F.baseline_of(checks), indent=1, sort_keys=True) + "\n",
                          flag="--write-baseline")
    if base is not None:
        try:
            bad = F.regressions(checks, base)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(args.baseline, "<root>", f"not a baseline written by --write-baseline "
                              f"({type(exc).__name__}: {exc})") from None
        for b in bad:
            console.print(f"regression: {b}")
        if bad:
            return 1
    return 0
