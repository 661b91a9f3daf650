"""archsim roofline ARCH WORKLOAD: per-op intensity, attainable vs achieved, bound, plot."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("roofline", help="roofline analysis of a workload on an arch (per op; --llm-viewer "
                                        "for LLM-Viewer's per-layer table)")
    p.add_argument("arch")
    p.add_argument("workload")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="as for archsim run (workload.* keys go to the workload)")
    p.add_argument("--json", metavar="FILE", help="write the rows as JSON ('-' for stdout)")
    p.add_argument("--plot", metavar="FILE.png", help="write the roofline plot (PNG + SVG)")
    p.add_argument("--top", type=int, default=40, help="rows printed (longest ops first; default 40)")
    p.add_argument("--llm-viewer", action="store_true",
                   help="LLM-Viewer's per-layer table (OPs, memory access, intensity, bound, time at peak)")
    p.add_argument("--peak-tflops", type=float, help="--llm-viewer: peak TOP/s (default: the arch's)")
    p.add_argument("--bandwidth-gb-s", type=float, help="--llm-viewer: DRAM GB/s (default: the arch's)")
    p.set_defaults(func=cmd_roofline)


def _f(v):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    a = abs(v)
    return f"{v:.3e}" if a and (a < 1e-2 or a >= 1e5) else f"{v:.4g}"


def cmd_roofline(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from archsim.cli.run import split_overrides
    from archsim.config.arch import load_arch
    from archsim.workloads.load import load_workload
    import math

    from archsim.cli.text import cell
    from archsim.errors import ConfigError
    from archsim.io_safe import check_out_file
    from archsim.plausibility import check_work
    if args.top < 0:
        raise ConfigError("--top", "top", f"expected an integer >= 0, got {args.top}")
    for flag, v in (("--peak-tflops", args.peak_tflops), ("--bandwidth-gb-s", args.bandwidth_gb_s)):
        if v is not None and not (math.isfinite(v) and 1e-12 <= v <= 1e12):
            raise ConfigError(flag, flag.lstrip("-"), f"expected a number from 1e-12 to 1e12, got {v!r}")
    arch_over, wl_over = split_overrides(args.overrides)
    arch = load_arch(args.arch, arch_over)
    wl = load_workload(args.workload, wl_over, override_prefix="workload.")
    # destinations and work before any simulation
    if args.json and args.json != "-":
        check_out_file(args.json, flag="--json")
    if args.plot:
        check_out_file(args.plot, flag="--plot")
        try:
            twins = [Path(args.plot).with_suffix(e) for e in (".png", ".svg")]
        except ValueError:
            raise ConfigError("--plot", args.plot, "expected a file path such as roofline.png") from None
        for q in twins:                   # what plot_roofline writes
            check_out_file(q, flag="--plot")
    check_work(arch, wl)
    console = Console(width=180)
    if args.llm_viewer:
        from archsim.studies.roofline import llm_viewer
        tab = llm_viewer(arch, wl, peak_ops_s=args.peak_tflops * 1e12 if args.peak_tflops else None,
                         bandwidth_bytes_s=args.bandwidth_gb_s * 1e9 if args.bandwidth_gb_s else None)
        if args.json:
            _write(args.json, tab)
        if args.json == "-":
            return 0
        hw = tab["hardware"]
        for stage in ("prefill", "decode"):
            t = Table(title=f"LLM-Viewer method: {tab['model']} {stage} per layer "
                            f"({hw['peak_ops_s'] / 1e12:.4g} TOP/s, {hw['bandwidth_bytes_s'] / 1e9:.4g} GB/s)")
            for c in ("layer", "OPs", "memory_access", "arithmetic_intensity", "bound", "inference_time"):
                t.add_column(c, justify="left" if c in ("layer", "bound") else "right")
            for name, r in tab[stage].items():
                t.add_row(cell(name), _f(r["OPs"]), _f(r["memory_access"]), _f(r["arithmetic_intensity"]),
                          cell(r["bound"]), _f(r["inference_time"]))
            tot = tab["total"][stage]
            t.add_row("total (x layers)", _f(tot["OPs"]), _f(tot["memory_access"]), "", "", _f(tot["inference_time"]))
            console.print(t)
        return 0
    from archsim.report.roofline import plot_roofline
    from archsim.studies.roofline import roofline
    report, rows = roofline(arch, wl)       # simulate checked the Report (ModelError)
    if args.json:
        _write(args.json, rows)
        if args.json == "-":
            return 0
    t = Table(title=f"roofline: {cell(report.workload)} on {cell(report.arch)} (longest {args.top} ops)")
    cols = ("op", "kind", "component", "intensity", "ridge", "attainable_tflops", "achieved_tflops",
            "of_attainable", "roof_bound", "model_bound", "latency_s")
    for c in cols:
        t.add_column(c, justify="left" if c in ("op", "kind", "component", "roof_bound", "model_bound") else "right")
    for r in sorted(rows, key=lambda r: -r["latency_s"])[:args.top]:
        frac = r["fraction_of_attainable"]
        t.add_row(cell(r["name"]), cell(r["op"]), cell(r["component"]), _f(r["intensity_flop_per_byte"]),
                  _f(r["ridge_flop_per_byte"]),
                  _f(r["attainable_flops_s"] / 1e12), _f(r["achieved_flops_s"] / 1e12),
                  "-" if frac is None else f"{100 * frac:.1f} %", cell(r["roofline_bound"]), cell(r["model_bound"]),
                  _f(r["latency_s"]))
    console.print(t)
    if args.plot:
        from matplotlib import rc_context
        with rc_context({"text.parse_math": False}):      # names from inputs are text
            outs = plot_roofline(rows, args.plot, title=f"{report.workload} on {report.arch}")
        print("wrote " + ", ".join(str(o) for o in outs))
    return 0


def _write(dest, obj):
    from archsim.io_safe import atomic_write_text, json_text
    text = json_text(obj, indent=2, default=float)
    if dest == "-":
        sys.stdout.write(text + "\n")
    else:
        atomic_write_text(dest, text, flag="--json")
