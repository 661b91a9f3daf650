"""archsim compare DIR_A DIR_B [...]: run folders side by side: what differs in the inputs,
totals and per-op latency / energy / power with ratios to the first run; --html FILE too."""
from __future__ import annotations

import sys


def add_parser(sub):
    p = sub.add_parser("compare", help="compare run folders: input diff, per-op and total ratios")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="run folders written by 'archsim run --out' (two or more)")
    p.add_argument("--html", metavar="FILE", help="also write the comparison as one self-contained HTML page")
    p.add_argument("--ops", type=int, default=25, metavar="N",
                   help="per-op rows printed: the N slowest ops of the first run (default 25; 0 = all)")
    p.set_defaults(func=cmd_compare)


def _fmt(v):
    if v is None:
        return "\u2014"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        a = abs(v)
        return f"{v:.4g}" if a == 0 or 1e-3 <= a < 1e6 else f"{v:.3e}"
    text = str(v)
    return text if len(text) <= 60 else text[:57] + "..."


def cmd_compare(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from archsim.errors import ConfigError
    from archsim.report.compare import compare_data, write_compare_html
    if len(args.dirs) < 2:
        raise ConfigError("compare", "<dirs>", "give two or more run folders (written by archsim run --out)")
    if args.ops < 0:
        raise ConfigError("--ops", "ops", f"expected an integer >= 0, got {args.ops}")
    data = compare_data(args.dirs)
    console = Console(file=sys.stdout, width=160)
    t = Table(title="runs")
    for c in ("", "folder", "arch", "workload", "latency_s", "energy_j"):
        t.add_column(c, justify="right" if c in ("latency_s", "energy_j") else "left")
    for r in data["runs"]:
        t.add_row(*(_fmt(v) for v in r))
    console.print(t)

    diff = data["diff"]
    if diff["rows"]:
        t = Table(title=f"inputs that differ ({len(diff['rows'])} keys)")
        for c in diff["columns"]:
            t.add_column(c)
        for r in diff["rows"][:60]:
            t.add_row(*(_fmt(v) for v in r))
        console.print(t)
        if len(diff["rows"]) > 60:
            console.print(f"... {len(diff['rows']) - 60} more keys (see --html)")
    else:
        console.print("inputs: the resolved configs, workloads and overrides are identical")
    for n in diff["notes"]:
        console.print(f"note: {n}")

    tot = data["totals"]
    t = Table(title=f"totals (ratios: each run / {data['labels'][0]})")
    for c in tot["columns"]:
        t.add_column(c, justify="left" if c == "quantity" else "right")
    for r in tot["rows"]:
        t.add_row(*(_fmt(v) for v in r))
    console.print(t)

    ops = data["ops"]
    rows = ops["rows"]
    lat = ops["columns"].index(f"{data['labels'][0]} latency_s")
    if args.ops:
        rows = sorted(rows, key=lambda r: -(r[lat] or 0.0))[:args.ops]
    keep = [i for i, c in enumerate(ops["columns"]) if "avg_power" not in c]   # latency and energy
    t = Table(title="per op" + (f": the {len(rows)} slowest in {data['labels'][0]}" if args.ops and len(rows) < len(ops["rows"]) else ""))
    for i in keep:
        t.add_column(ops["columns"][i], justify="left" if i < 2 else "right", no_wrap=i == 0)
    for r in rows:
        t.add_row(*(_fmt(r[i]) for i in keep))
    console.print(t)
    console.print(ops["note"])
    if args.html:
        out = write_compare_html(data, args.html)
        print(f"wrote {out} ({out.stat().st_size / 2**20:.2f} MiB)")
    return 0
