"""Estimated area and power of every shipped preset (arch_configs/**), from archsim's
energy layer: area and static power from each component's Structure, energy and power from
running a representative workload of the preset's family.

    python benchmarks/preset_area_power.py [--markdown]

Prints one row per preset: node, area (mm^2), static power (W), the workload run, latency,
energy and average / peak power. Presets that fail to load or run are listed with the error.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: preset folder -> workload run on it (relative to the repo)
WORKLOADS = {
    "systolic": "workloads/cnn/resnet50.csv",
    "gpu": "workloads/cnn/resnet50.csv",
    "ngpc": "workloads/ng/nerf_hashgrid_1080p.toml",
    "vrex": "workloads/video_llm/coin-avg-vrex.toml",
}


def presets():
    for p in sorted((REPO / "arch_configs").rglob("*.toml")):
        rel = p.relative_to(REPO / "arch_configs")
        if rel.parts[0] == "tech" or p.stem == "base":
            continue
        yield rel.parts[0], p


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    from archsim import load_arch, load_workload, simulate
    from archsim.energy.scaling import ScalingWarning
    cols = ["preset", "node_nm", "area_mm2", "static_w", "workload", "latency_s", "energy_j",
            "avg_power_w", "peak_power_w", "budget"]
    rows = []
    for family, path in presets():
        rel = str(path.relative_to(REPO))
        wl_rel = WORKLOADS.get(family)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ScalingWarning)
                arch = load_arch(path)
                if wl_rel is None:
                    raise RuntimeError(f"no workload chosen for family {family!r}")
                rep = simulate(arch, load_workload(REPO / wl_rel))
            t = rep.totals()
            b = rep.budget
            rows.append([rel, arch.tech.node_nm, t.get("area_mm2"), t.get("leakage_power_w"), wl_rel,
                         t.get("latency_s"), t.get("energy_j"), t.get("avg_power_w"),
                         t.get("peak_power_w"),
                         "-" if b is None else ("ok" if b["ok"] else "exceeded: " + ",".join(b["exceeded"]))])
        except Exception as exc:  # a benchmark lists every preset, failures included
            rows.append([rel, "", "", "", wl_rel or "", "", "", "", "",
                         f"FAILED: {type(exc).__name__}: {str(exc)[:120]}"])

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return "" if v is None else str(v)

    if args.markdown:
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for r in rows:
            print("| " + " | ".join(fmt(v) for v in r) + " |")
    else:
        widths = [max(len(c), *(len(fmt(r[i])) for r in rows)) for i, c in enumerate(cols)]
        print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
        for r in rows:
            print("  ".join(fmt(v).ljust(w) for v, w in zip(r, widths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
