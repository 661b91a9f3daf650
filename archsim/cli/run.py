"""archsim run ARCH WORKLOAD: per-op table and totals; --json / --out write the Report."""
from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("run", help="simulate a workload on an architecture")
    p.add_argument("arch", help="arch TOML (e.g. arch_configs/systolic/tpu-128x128.toml) or a "
                                "shipped preset's name (tpu-128x128)")
    p.add_argument("workload", help="workload: .toml, .jsonl trace or SCALE-Sim topology .csv, or a "
                                    "shipped workload's name (resnet50)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override an arch key (components.sa.rows=64) or, prefixed with "
                        "'workload.', a workload key (workload.params.n_nfp=16); repeatable")
    p.add_argument("--baseline", metavar="GPU_ARCH", help="also run on this GPU arch and report speedup")
    p.add_argument("--out", metavar="DIR", help="write report.json, ops.csv, inputs/ and manifest.json")
    p.add_argument("--json", metavar="FILE", help="write the Report as JSON ('-' for stdout)")
    p.add_argument("--quiet", action="store_true", help="no table, totals only")
    p.add_argument("--html", action="store_true", help="also write DIR/report.html (needs --out)")
    p.set_defaults(func=cmd_run)


def split_overrides(items):
    arch, wl = [], []
    for o in items:
        (wl if o.startswith("workload.") else arch).append(o[len("workload."):] if o.startswith("workload.") else o)
    return arch, wl


def _fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, int):
        return f"{v:,}"
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e6):
        return f"{v:.3e}{unit}"
    return f"{v:.4g}{unit}"


def _fmt_item(x):
    """A list entry of the totals: a number, or a table (e.g. one clock domain) as key=value."""
    if isinstance(x, dict):
        return "(" + " ".join(f"{k}={_fmt(v) if isinstance(v, (int, float)) else v}" for k, v in x.items()) + ")"
    return _fmt(x)


def print_report(report, *, quiet=False, file=None):
    from rich.console import Console
    from rich.table import Table

    from archsim.cli.text import cell
    console = Console(file=file or sys.stdout, width=160)
    if not quiet:
        t = Table(title=f"{cell(report.workload)} on {cell(report.arch)}", show_lines=False)
        cols = ["op", "kind", "component", "cycles", "latency_s", "bound"]
        has_e = report.has_energy
        if has_e:
            cols.append("energy_j")
        if report.baseline is not None:
            cols += ["baseline_s", "speedup"]
        for c in cols:
            t.add_column(c, justify="left" if c in ("op", "kind", "component", "bound") else "right")
        for i, o in enumerate(report.ops):
            row = [cell(o.name), cell(o.op), cell(o.component), _fmt(int(o.cycles)),
                   _fmt(o.latency_s), cell(o.bound)]
            if has_e:
                row.append(_fmt(o.energy_j))
            if report.baseline is not None:
                b = report.baseline.ops[i]
                row += [_fmt(b.latency_s), _fmt(b.latency_s / o.latency_s if o.latency_s else None)]
            t.add_row(*row)
        console.print(t)
    tot = report.totals()
    t2 = Table(title="totals", show_header=False)
    t2.add_column("quantity")
    t2.add_column("value", justify="right")
    for k, v in tot.items():
        t2.add_row(k, _fmt(v) if not isinstance(v, list) else ", ".join(_fmt_item(x) for x in v))
    if report.budget is not None:
        for k, v in report.budget.items():
            t2.add_row(f"budget.{cell(k)}", cell(v))
    for k, v in (report.llm or {}).items():
        if k != "phase" and v is not None:
            t2.add_row(f"llm.{cell(k)}", _fmt(v))
    for k, v in (report.memory or {}).items():
        if k == "per_device" and isinstance(v, list):
            for d in v:
                t2.add_row(f"memory.per_device[{cell(d['device'])}]",
                           f"total {_fmt(d['total'])} B (weights {_fmt(d['weights'])}, KV {_fmt(d['kv_cache'])}, "
                           f"buffers {_fmt(d['comm_buffers'])}), fits {d['fits']}, max_batch {d['max_batch']}")
        elif not isinstance(v, dict):
            t2.add_row(f"memory.{cell(k)}" + ("_bytes" if k in ("weights", "kv_cache", "kv_per_token", "activations",
                                                                "total", "capacity") else ""),
                       cell(v) if isinstance(v, (bool, str)) or v is None else _fmt(v))
    if report.baseline is not None:
        t2.add_row("baseline latency_s", _fmt(report.baseline.latency_s))
        t2.add_row("speedup", _fmt(report.speedup))
        t2.add_row("energy_gain", _fmt(report.energy_gain))
    console.print(t2)


def shipped(text: str, kind: str) -> str:
    """A file path as given, or a shipped preset / workload (by name, or by its path under
    arch_configs/ or workloads/ when run outside the checkout); else the text unchanged (the
    loader then reports the missing file)."""
    from archsim import resources
    p = (resources.find_preset if kind == "arch" else resources.find_workload)(text)
    if p is not None:
        return str(p)
    if "/" not in text and "\\" not in text and "." not in text:     # meant as a name
        from archsim.errors import ConfigError
        names = resources.preset_names() if kind == "arch" else resources.workload_names()
        raise ConfigError(text, kind, f"no such file, and no shipped {'preset' if kind == 'arch' else 'workload'} "
                          "of that name; shipped: " + ", ".join(names))
    return text


def cmd_run(args) -> int:
    from archsim.config.arch import load_arch
    from archsim.io_safe import atomic_write_text, check_out_dir, check_out_file
    from archsim.plausibility import check_work
    from archsim.simulate import simulate
    from archsim.workloads.load import load_workload
    if args.html and not args.out:
        from archsim.errors import ConfigError
        raise ConfigError("--html", "html", "needs --out DIR (the page is written as DIR/report.html)")
    args.arch = shipped(args.arch, "arch")
    args.workload = shipped(args.workload, "workload")
    if args.baseline:
        args.baseline = shipped(args.baseline, "arch")
    arch_over, wl_over = split_overrides(args.overrides)
    arch = load_arch(args.arch, arch_over)
    wl = load_workload(args.workload, wl_over, override_prefix="workload.")
    base = load_arch(args.baseline) if args.baseline else None
    # destinations and work estimates before any simulation (nothing computed is lost later)
    if args.json and args.json != "-":
        check_out_file(args.json, flag="--json")
    if args.out:
        check_out_dir(args.out, flag="--out")
        if args.json and args.json != "-" and Path(args.json).resolve() == Path(args.out).resolve():
            from archsim.errors import ConfigError
            raise ConfigError("--json", args.json, "is the --out folder itself; give a file path")
    check_work(arch, wl)
    if base is not None:
        check_work(base, wl)
    report = simulate(arch, wl, baseline=base)       # result-checked (ModelError)
    if args.json == "-":
        sys.stdout.write(report.to_json() + "\n")
    else:
        print_report(report, quiet=args.quiet)
        if args.json:
            atomic_write_text(args.json, report.to_json(), flag="--json")
    if args.out:
        from archsim.report.write import write_run
        extra = [args.baseline] if args.baseline else []
        out = write_run(report, args.out, arch_path=args.arch, workload_path=args.workload,
                        overrides=args.overrides, extra_inputs=extra)
        if args.json != "-":
            print(f"wrote {out}/report.json, ops.csv, manifest.json, inputs/")
        if args.html:
            from archsim.cli.report import write_html_report
            write_html_report(out)
    return 0
