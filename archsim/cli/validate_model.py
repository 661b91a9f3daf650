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
    rows = {}
    for item in args.rows:
        study, _, path = item.partition("=")
        if study not in ("ngpc", "vrex") or not path:
            raise ConfigError("<command line>", "--rows", f"got {item!r}; expected ngpc=FILE or vrex=FILE")
        try:
            rows[study] = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(path, "<file>", f"cannot read reproduce rows: {exc}") from None
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
            d.add_row(c.group, escape(c.id[:110]), f"{c.reference:.4g} {c.unit}", f"{c.archsim:.4g}",
                      f"{c.ratio:.3f}", f"{c.tolerance[0]:.3g}-{c.tolerance[1]:.3g}", c.basis)
        console.print(d)
    o = F.overall(checks)
    console.print(f"summary: {o['n']} checks, {o['predictions']} predictions, {o['predictions_within']} within "
                  f"tolerance ({100 * o['predictions_within'] / max(o['predictions'], 1):.0f} %), {o['fitted']} "
                  "fitted (not counted as predictions)")
    if args.json:
        text = json.dumps([c.to_dict() for c in checks], indent=1)
        if args.json == "-":
            sys.stdout.write(text + "\n")
        else:
            Path(args.json).write_text(text)
    if args.markdown:
        Path(args.markdown).write_text(F.markdown(checks, title="Validation: archsim against every reference "
                                                                "it can be checked against"))
        console.print(f"wrote {args.markdown}")
    if args.write_baseline:
        Path(args.write_baseline).write_text(json.dumps(F.baseline_of(checks), indent=1, sort_keys=True) + "\n")
    if args.baseline:
        try:
            base = json.loads(Path(args.baseline).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(args.baseline, "<file>", f"cannot read the baseline: {exc}") from None
        bad = F.regressions(checks, base)
        for b in bad:
            console.print(f"regression: {b}")
        if bad:
            return 1
    return 0
