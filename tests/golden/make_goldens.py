"""Regenerate the golden Reports: every shipped preset x its example workload.

    python tests/golden/make_goldens.py            # all cases
    python tests/golden/make_goldens.py tpu-128x128__resnet50   # some

Each case writes tests/golden/reports/<arch>__<workload>.json: the Report's totals, per-op
figures, components, timeline summary and budget (the fields tests/test_golden_reports.py
compares, with tolerances). When a number moves on purpose, regenerate and say in the commit
message which numbers moved and why (a changelog line).
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "reports"

CNN = "workloads/cnn/resnet50.csv"
NERF = "workloads/ng/nerf_hashgrid_1080p.toml"
VLLM = "workloads/video_llm/frame-40k-vrex.toml"
VLLM_GPU = "workloads/video_llm/frame-40k-flexgen.toml"
VLLM_GPU_SERVER = "workloads/video_llm/frame-40k-flexgen-server.toml"   # CPU-memory offload (A100, Tab. I)
LLM = "workloads/llm/llama-3-8b-decode.toml"
LLM_OFFLOAD = "workloads/llm/llama-3-70b-decode.toml"
LLM_TP8 = "workloads/llm/llama-3-70b-decode-tp8.toml"     # multi-device presets (issue 13)
LLM_TP4 = "workloads/llm/llama-3-8b-decode-tp4.toml"

# preset -> its example workload
CASES = {
    "arch_configs/systolic/tpu-128x128.toml": CNN,
    "arch_configs/systolic/eyeriss-like-12x14.toml": CNN,
    "arch_configs/systolic/scalesim-32x32-os.toml": CNN,
    "arch_configs/systolic/scalesim-32x32-ws.toml": CNN,
    "arch_configs/systolic/tpu-v4-llm.toml": LLM,
    "arch_configs/gpu/a100-80gb.toml": CNN,
    "arch_configs/gpu/h100-sxm.toml": CNN,
    "arch_configs/gpu/h200.toml": CNN,
    "arch_configs/llm/a100-80gb-offload.toml": LLM_OFFLOAD,
    "arch_configs/gpu/rtx3090.toml": NERF,
    "arch_configs/gpu/jetson-agx-orin-32gb.toml": CNN,
    "arch_configs/gpu/jetson-agx-orin-64gb.toml": CNN,
    "arch_configs/gpu/vrex-paper/jetson-agx-orin-32gb.toml": VLLM_GPU,
    "arch_configs/gpu/vrex-paper/a100-80gb-pcie.toml": VLLM_GPU_SERVER,
    "arch_configs/ngpc/ngpc-8.toml": NERF,
    "arch_configs/ngpc/ngpc-16.toml": NERF,
    "arch_configs/ngpc/ngpc-32.toml": NERF,
    "arch_configs/ngpc/ngpc-64.toml": NERF,
    "arch_configs/vrex/vrex8-edge.toml": VLLM,
    "arch_configs/vrex/vrex48-server.toml": VLLM,
    "arch_configs/multi/h100-x8-nvlink.toml": LLM_TP8,
    "arch_configs/multi/h200-x8-nvlink.toml": LLM_TP8,
    "arch_configs/multi/h100-x8-pcie.toml": LLM_TP8,
    "arch_configs/multi/tpu-v4-llm-x4-ici.toml": LLM_TP4,
    "arch_configs/multi/vrex48-x4-pcie.toml": LLM_TP4,
    # paper-assumption presets (issue 11): reproduce's "paper" column
    "arch_configs/ngpc/paper/ngpc-8.toml": NERF,
    "arch_configs/ngpc/paper/ngpc-16.toml": NERF,
    "arch_configs/ngpc/paper/ngpc-32.toml": NERF,
    "arch_configs/ngpc/paper/ngpc-64.toml": NERF,
    "arch_configs/vrex/paper/vrex8-edge.toml": VLLM,
    "arch_configs/vrex/paper/vrex48-server.toml": VLLM,
}

OP_FIELDS = ("name", "op", "component", "resource", "cycles", "latency_s", "start_s", "end_s",
             "flops", "dram_bytes", "energy_j")


def case_id(arch: str, workload: str) -> str:
    stem = Path(arch).stem
    if Path(arch).parent.name == "paper":        # paper-assumption presets beside their defaults
        stem = f"paper-{stem}"
    return f"{stem}__{Path(workload).stem}"


def golden_of(report: dict) -> dict:
    """The compared part of a Report dict."""
    tl = report.get("timeline") or {}
    return {
        "arch": report["arch"], "workload": report["workload"],
        "totals": report["totals"],
        "ops": [{k: o.get(k) for k in OP_FIELDS} for o in report["ops"]],
        "components": [{k: c.get(k) for k in ("name", "kind", "area_mm2", "leakage_power_w", "energy_j",
                                              "utilization")} for c in report["components"]],
        "timeline": {"makespan_s": tl.get("makespan_s"),
                     "resources": [{k: r[k] for k in ("name", "busy_s", "utilization")}
                                   for r in tl.get("resources", [])],
                     "critical_path": tl.get("critical_path")},
        "budget": report.get("budget"),
    }


def simulate_case(arch: str, workload: str) -> dict:
    from archsim import load_arch, load_workload, simulate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return simulate(load_arch(REPO / arch), load_workload(REPO / workload)).to_dict()


def main(argv: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for arch, wl in CASES.items():
        cid = case_id(arch, wl)
        if argv and cid not in argv:
            continue
        g = golden_of(simulate_case(arch, wl))
        (OUT / f"{cid}.json").write_text(json.dumps(g, indent=1, sort_keys=True) + "\n")
        print(f"wrote {cid}: latency {g['totals']['latency_s']:.6g} s, energy {g['totals'].get('energy_j')} J")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
