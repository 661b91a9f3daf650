"""archsim trace WORKLOAD.toml --out FILE.jsonl: expand a generator into its op trace."""
from __future__ import annotations

import json
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("trace", help="expand a workload (generator) into a JSON Lines op trace")
    p.add_argument("workload")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", required=True, metavar="FILE.jsonl")
    p.set_defaults(func=cmd_trace)


def cmd_trace(args) -> int:
    from archsim.io_safe import atomic_write_text, check_out_file
    from archsim.workloads.load import load_workload
    check_out_file(args.out, flag="--out")
    wl = load_workload(args.workload, args.overrides)
    out = Path(args.out)
    atomic_write_text(out, "".join(json.dumps(rec) + "\n" for rec in wl.trace_records()), flag="--out")
    print(f"wrote {len(wl.ops)} ops to {out}")
    return 0
