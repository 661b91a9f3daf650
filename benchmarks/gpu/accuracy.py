"""Predicted vs measured GPU kernel times: archsim's calibrated GPU model (arch_configs/gpu/
h200.toml) against the H200 measurements in benchmarks/gpu/measurements/.

Prints one line per kernel (with --all), then the median and 90th-percentile absolute error,
separately for the kernels used in the fit, for the held-out ones (the split the preset's
calibration was fitted with, calibration.split; archsim/blocks/gpu/calibrate.py) and for the ops of the
shipped workloads (never fitted), overall and per op kind.

    python benchmarks/gpu/accuracy.py [--all] [--preset PATH] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from archsim.config.arch import load_arch          # noqa: E402
from archsim.blocks.gpu import calibrate as C              # noqa: E402
from archsim.workloads.ops import op_to_dict        # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default=str(REPO / "arch_configs" / "gpu" / "h200.toml"))
    ap.add_argument("--measurements", nargs="*",
                    default=sorted(str(p) for p in (REPO / "benchmarks" / "gpu" / "measurements").glob("h200-*.json")))
    ap.add_argument("--all", action="store_true", help="print every kernel")
    ap.add_argument("--json", help="write per-kernel rows and the summary as JSON")
    args = ap.parse_args(argv)
    spec = load_arch(args.preset).components["gpu"]
    records = C.load_records([Path(p) for p in args.measurements], spec.calibration.split)
    rows = C.residuals(spec, records)
    if args.all:
        print(f"{'kind':12s} {'set':8s} {'measured_us':>12s} {'predicted_us':>12s} {'error':>8s}  op")
        for r in sorted(rows, key=lambda r: (r["kind"], r["heldout"], r["measured_s"])):
            d = {k: v for k, v in op_to_dict(r["op"]).items() if k not in ("op", "name", "repeat")}
            print(f"{r['kind']:12s} {'held-out' if r['heldout'] else 'fit':8s} {r['measured_s'] * 1e6:12.2f} "
                  f"{r['predicted_s'] * 1e6:12.2f} {100 * r['rel_error']:+7.1f}%  {json.dumps(d)}")
    s = C.summary(rows)
    print(f"GPU model accuracy: {spec.device_name}, preset {Path(args.preset).name}, "
          f"calibration {spec.calibration.date or '-'} ({spec.calibration.device or 'uncalibrated'}), "
          f"held-out split {spec.calibration.split}")
    print("error = predicted / measured - 1 of the median kernel time (CUDA events, L2 cold)")
    print(f"{'':14s} {'fit n':>6s} {'median':>8s} {'p90':>8s}   {'held-out n':>10s} {'median':>8s} {'p90':>8s}"
          f"   {'workload n':>10s} {'median':>8s} {'p90':>8s}")

    def fmt(st):
        if not st["n"]:
            return f"{0:6d} {'-':>8s} {'-':>8s}"
        return f"{st['n']:6d} {100 * st['median_abs_error']:7.1f}% {100 * st['p90_abs_error']:7.1f}%"
    for kind, st in s["per_kind"].items():
        print(f"{kind:14s} {fmt(st['fit'])}   {fmt(st['heldout']):>28s}   {fmt(st['workload']):>28s}")
    print(f"{'ALL':14s} {fmt(s['fit'])}   {fmt(s['heldout']):>28s}   {fmt(s['workload']):>28s}")
    print("workload = the distinct core ops of the shipped workloads (NGPC frames, V-Rex / FlexGen "
          "video-LLM sessions; benchmarks/gpu/workload_ops.jsonl), never fitted")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": s, "rows": [
            {**{k: v for k, v in r.items() if k != "op"}, "op": op_to_dict(r["op"])} for r in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
