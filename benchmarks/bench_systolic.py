"""Speed of archsim's own systolic-array model (not a test; prints a table).

    python benchmarks/bench_systolic.py

For each shipped preset x CNN workload: the model's warm wall time (the kernels already
compiled), simulated cycles and cycles simulated per wall-second; then single large GEMMs.
The first call compiles the numba kernels (cached on disk): reported as the cold start.
The SCALE-Sim comparison (parity + speed ratio) is benchmarks/bench_scalesim.py.
"""
from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import archsim.blocks.systolic as S
from archsim.config.arch import load_arch
from archsim.workloads.load import load_workload
from archsim.workloads.ops import Gemm

REPO = Path(__file__).resolve().parents[1]
PRESETS = ("tpu-128x128", "scalesim-32x32-os", "eyeriss-like-12x14")
WORKLOADS = ("resnet18", "resnet50", "mobilenet_v2", "transformer_gemms")


def run_all(spec, ops):
    return sum(S.evaluate(spec, op, None).cycles for op in ops)


def main() -> None:
    t0 = time.perf_counter()
    S.evaluate(S.Spec(rows=4, cols=4, ifmap_sram_kib=1, filter_sram_kib=1, ofmap_sram_kib=1,
                      dram_bandwidth_words_per_cycle=1.0), Gemm(m=4, k=4, n=4, dtype="int8"), None)
    print(f"first call (numba compile or cache load): {time.perf_counter() - t0:.2f} s")
    print(f"{'preset':22s} {'workload':18s} {'layers':>6s} {'cycles':>14s} {'wall_s':>8s} {'Mcycles/s':>10s}")
    for preset in PRESETS:
        spec = load_arch(REPO / "arch_configs" / "systolic" / f"{preset}.toml").components["sa"]
        for wl in WORKLOADS:
            ops = load_workload(REPO / "workloads" / "cnn" / f"{wl}.csv").ops
            t = time.perf_counter()
            cycles = run_all(spec, ops)
            dt = time.perf_counter() - t
            print(f"{preset:22s} {wl:18s} {len(ops):6d} {cycles:14,d} {dt:8.3f} {cycles / dt / 1e6:10.1f}")
    for df in ("os", "ws", "is"):
        spec = S.Spec(rows=128, cols=128, dataflow=df, ifmap_sram_kib=512, filter_sram_kib=512,
                      ofmap_sram_kib=256, dram_bandwidth_words_per_cycle=64.0)
        for n in (2048, 4096):
            tracemalloc.start()
            t = time.perf_counter()
            r = S.evaluate(spec, Gemm(m=n, k=n, n=n, dtype="int8"), None)
            dt = time.perf_counter() - t
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"GEMM {n}^3 on 128x128 {df}: {r.cycles:,} cycles "
                  f"(compute {r.details['compute_cycles']:,}), {dt * 1e3:.2f} ms, "
                  f"peak traced Python memory {peak / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
