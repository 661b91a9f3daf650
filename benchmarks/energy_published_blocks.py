"""Structure-based estimates of published accelerators vs their reported totals.

    python benchmarks/energy_published_blocks.py

archsim estimates area and power from a block's *structure* (array size, SRAM sizes, clock,
node) with the default tech table; it never copies the paper's totals. This script builds
such a structure for published chips, runs a workload on it, and prints archsim's estimate
next to the published figure with their ratio. No knob is tuned to match: the rows show how
far a table-based estimate of what is modelled lands from silicon that has more in it.

TPU v1 (Jouppi et al., "In-Datacenter Performance Analysis of a Tensor Processing Unit",
ISCA 2017): 28 nm, 700 MHz, 256x256 int8 MACs, 24 MiB Unified Buffer, 4 MiB accumulators,
weight FIFO (4 tiles of 64 KiB), DDR3 at 34 GB/s, die <= 331 mm^2, busy power 40 W and idle
28 W (measured, whole card), TDP 75 W. archsim models the matrix unit, the three buffers and
the DRAM PHY share - not the activation/normalise/pool pipelines, host interface, control or
PCIe, so its area and power are expected to be below the chip's.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TPU_V1 = {
    "name": "tpu-v1-structure",
    "tech": {"node_nm": 28},                       # ISCA'17: 28 nm
    "components": {"mxu": {
        "kind": "systolic_array",
        "rows": 256, "cols": 256,                  # ISCA'17: 256x256 8-bit MACs
        "dataflow": "ws",                          # weight stationary (ISCA'17)
        "ifmap_sram_kib": 24 * 1024,               # Unified Buffer 24 MiB
        "filter_sram_kib": 256,                    # weight FIFO: 4 x 64 KiB tiles
        "ofmap_sram_kib": 4 * 1024,                # accumulators 4 MiB
        "word_bytes": 1, "dtype": "int8",
        "clock_ghz": 0.7,                          # 700 MHz
        "dram_bandwidth_words_per_cycle": 34.0 / 0.7,   # DDR3 34 GB/s
        "dram_channels": "shared",
        "dram_technology": "ddr4",                 # closest entry of the table to DDR3
        "sram_banks": 16,                          # archsim choice (not published)
    }},
}
PUBLISHED = {"tpu_v1": {"die_area_mm2": 331.0, "busy_power_w": 40.0, "idle_power_w": 28.0,
                        "tdp_w": 75.0}}


def main() -> int:
    from archsim import load_arch, load_workload, simulate
    from archsim.energy.scaling import ScalingWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingWarning)
        arch = load_arch(TPU_V1)
        rep = simulate(arch, load_workload(REPO / "workloads/cnn/resnet50.csv"))
    t = rep.totals()
    p = PUBLISHED["tpu_v1"]
    c = rep.components[0]
    rows = [
        ("area_mm2 (modelled parts vs die)", t["area_mm2"], p["die_area_mm2"]),
        ("static power_w (vs measured idle, whole card)", t["leakage_power_w"], p["idle_power_w"]),
        ("avg power_w on ResNet-50 (vs measured busy, whole card)", t["avg_power_w"], p["busy_power_w"]),
        ("avg dynamic power_w (vs measured busy - idle)",
         t["dynamic_energy_j"] / t["latency_s"], p["busy_power_w"] - p["idle_power_w"]),
        ("peak per-layer power_w (vs TDP)", t["peak_power_w"], p["tdp_w"]),
    ]
    print("TPU v1 structure (256x256 int8 @ 700 MHz, 28 nm, 24 MiB UB + 4 MiB acc + 256 KiB weights)")
    print(f"{'quantity':58s} {'archsim':>10s} {'published':>10s} {'ratio':>7s}")
    for name, a, b in rows:
        print(f"{name:58s} {a:10.4g} {b:10.4g} {a / b:7.3f}")
    print("area by part (mm^2): " + ", ".join(f"{k} {v:.3g}" for k, v in c.breakdown["area_mm2"].items()))
    e = c.breakdown["energy_j"]
    tot = sum(e.values())
    print("energy by class: " + ", ".join(f"{k} {v / tot:.1%}" for k, v in sorted(e.items(), key=lambda kv: -kv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
