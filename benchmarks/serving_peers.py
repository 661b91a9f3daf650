"""GenZ (genz-llm) and llm-analysis on split (TP / EP) cases read from stdin (JSON list); prints
their predictions as JSON. Runs in the benchmark's own environment (.venv-bench), driven by
benchmarks/bench_serving.py. A case is benchmarks/llm_peers.py's (benchmarks/peers_common.py)
plus "tp", "ep" and "icn_gb_s" (the link bandwidth per direction both tools get).
"""
from __future__ import annotations

import sys

from peers_common import (  # this script's folder
    genz_latency_s,
    llm_analysis_latency_s,
    run_peers,
)


def genz(case):
    tp, ep = case["tp"], case["ep"]
    par = {"tensor_parallel": tp, "expert_parallel": ep, "pipeline_parallel": 1,
           "parallelism_heirarchy": f"TP{{{tp}}}_EP{{{ep}}}_PP{{1}}"}
    return genz_latency_s(case, icn_gb_s=case["icn_gb_s"], parallel=par)


def llm_analysis(case):
    return llm_analysis_latency_s(case, icn_gb_s=case["icn_gb_s"], tp=case["tp"], ep=case["ep"])


if __name__ == "__main__":
    sys.exit(run_peers(genz, llm_analysis))
