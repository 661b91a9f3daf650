"""Run GenZ (genz-llm) and llm-analysis on cases read from stdin (JSON list), print their
predictions as JSON on stdout. Runs inside the benchmark's own environment (the peers are not
archsim dependencies); benchmarks/bench_llm.py drives it:

    python3 -m venv .venv-bench && .venv-bench/bin/pip install genz-llm llm-analysis
    .venv/bin/python benchmarks/bench_llm.py            # calls .venv-bench/bin/python llm_peers.py

One device per case; both tools get the same shapes and the same spec-sheet numbers, with
their default efficiencies. The case and row formats and the model hand-over are in
benchmarks/peers_common.py.
"""
from __future__ import annotations

import sys

from peers_common import (  # this script's folder
    genz_latency_s,
    llm_analysis_latency_s,
    run_peers,
)

ICN_GB_S = 450          # GenZ's interconnect bandwidth (system "ICN")
INTRA_NODE_GB_S = 300   # llm-analysis's intra-node bandwidth


def genz(case):
    return genz_latency_s(case, icn_gb_s=ICN_GB_S)


def llm_analysis(case):
    return llm_analysis_latency_s(case, icn_gb_s=INTRA_NODE_GB_S)


if __name__ == "__main__":
    sys.exit(run_peers(genz, llm_analysis))
