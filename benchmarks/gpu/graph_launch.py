"""Per-kernel time CUDA-graph replay saves over eager launches, from the `graph` section's
kernel chains (measure_llm.py: n back-to-back launches of one tiny kernel, eager and graph):
the slope of (eager - graph) over the chain length, per kernel kind, and the median.

    python benchmarks/gpu/graph_launch.py benchmarks/gpu/measurements/h100-2026-12-07-run-a.json

bench_llm.py --measured prices cuda_graph records with the GPU's launch_overhead_us lowered by
this saving (a fitted number: fitted on run a's chains, checked on the layer and step records
of run b, which it was not fitted on).
"""
from __future__ import annotations

import json
import statistics
import sys


def savings(raw: dict) -> dict:
    t = {}
    for r in raw.get("results", []):
        if r.get("section") == "graph" and str(r.get("impl", "")).startswith("chain:") and "times_s" in r:
            n = (r.get("ops") or [{}])[0].get("repeat") or 1
            t.setdefault(r["impl"][6:], {}).setdefault(n, {})[r["variant"]] = r["times_s"]["median"]
    out = {}
    for kind, by_n in t.items():
        pts = sorted((n, v["eager"] - v["graph"]) for n, v in by_n.items() if "eager" in v and "graph" in v)
        if len(pts) >= 2:
            (n0, d0), (n1, d1) = pts[0], pts[-1]
            out[kind] = (d1 - d0) / (n1 - n0) * 1e6
    return {"per_kind_us": out, "median_us": statistics.median(out.values()) if out else None}


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(path, json.dumps(savings(json.load(open(path)))))
