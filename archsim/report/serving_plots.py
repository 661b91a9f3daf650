"""Plots of the serving view (rows from archsim.studies.serving.serve): the throughput-latency
frontier per split, the decode step's time breakdown per split (compute / communication /
exposed communication) and the memory per device."""
from __future__ import annotations

from pathlib import Path

from archsim.report.plots import _figure, _save


def plot_serving(rows, out_dir) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    splits = list(dict.fromkeys(r["split"] for r in rows))
    fig = _figure(8, 5)
    ax = fig.add_subplot()
    for s in splits:
        rs = sorted((r for r in rows if r["split"] == s), key=lambda r: r["batch"])
        ax.plot([r["tpot_s"] * 1e3 for r in rs], [r["tokens_per_s"] for r in rs], marker="o", label=s)
    ax.set_xlabel("TPOT (ms)")
    ax.set_ylabel("output tokens/s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title("throughput vs TPOT per split (points: batch sizes)")
    ax.legend(fontsize=7)
    paths += _save(fig, out, "serving_frontier")
    # breakdown at each split's largest batch
    last = {s: max((r for r in rows if r["split"] == s), key=lambda r: r["batch"]) for s in splits}
    fig = _figure(max(6, len(splits) * 0.6), 5)
    ax = fig.add_subplot()
    x = range(len(splits))
    comp = [last[s]["compute_s"] * 1e3 for s in splits]
    hidden = [(last[s]["communication_s"] - last[s]["exposed_communication_s"]) * 1e3 for s in splits]
    exposed = [last[s]["exposed_communication_s"] * 1e3 for s in splits]
    ax.bar(x, comp, label="compute")
    ax.bar(x, exposed, bottom=comp, label="exposed communication")
    ax.bar(x, hidden, bottom=[c + e for c, e in zip(comp, exposed)], label="hidden communication", alpha=0.5)
    ax.set_xticks(list(x), [f"{s}\nb{last[s]['batch']}" for s in splits], rotation=60, fontsize=7)
    ax.set_ylabel("device 0, one decode step (ms)")
    ax.legend(fontsize=7)
    paths += _save(fig, out, "serving_breakdown")
    fig = _figure(max(6, len(splits) * 0.6), 5)
    ax = fig.add_subplot()
    ax.bar(x, [last[s]["memory_per_device_bytes"] / 1e9 for s in splits])
    ax.set_xticks(list(x), [f"{s}\nb{last[s]['batch']}" for s in splits], rotation=60, fontsize=7)
    ax.set_ylabel("memory per device, largest (GB)")
    paths += _save(fig, out, "serving_memory")
    return paths
