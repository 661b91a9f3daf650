"""Roofline analysis of a run: per op, its arithmetic intensity (FLOPs per DRAM byte, the
bytes the block's model moved), the component's peak compute for that op (dtype, tensor or
vector unit) and peak DRAM bandwidth (the block's `roofline_peaks(spec, op)`), the attainable
throughput min(peak, intensity x bandwidth), the achieved throughput (FLOPs / modelled
latency), and which roof bounds it. Plus a log-log roofline plot."""
from __future__ import annotations

from pathlib import Path


def roofline_rows(arch, ops, report) -> list[dict]:
    """One row per op; `ops` are the op records in the Report's order."""
    rows = []
    for op, r in zip(ops, report.ops):
        mod = arch.component_module(r.component)
        fn = getattr(mod, "roofline_peaks", None)
        peak, bw = fn(arch.components[r.component], op) if fn is not None else (0.0, 0.0)
        flops, nbytes = float(r.flops), float(r.dram_bytes)
        ai = flops / nbytes if nbytes > 0 else float("inf") if flops > 0 else 0.0
        ridge = peak / bw if bw > 0 else float("inf")
        attainable = min(peak, ai * bw) if bw > 0 else peak
        achieved = flops / r.latency_s if r.latency_s > 0 else 0.0
        t_roof = max(flops / peak if peak > 0 else 0.0, nbytes / bw if bw > 0 else 0.0)
        rows.append({"name": r.name, "op": r.op, "component": r.component, "flops": flops, "dram_bytes": nbytes,
                     "intensity_flop_per_byte": ai, "peak_flops_s": peak, "peak_bytes_s": bw,
                     "ridge_flop_per_byte": ridge, "attainable_flops_s": attainable,
                     "achieved_flops_s": achieved,
                     "fraction_of_attainable": achieved / attainable if attainable > 0 else None,
                     "roofline_bound": ("compute" if ai >= ridge else "memory") if flops > 0 else "memory",
                     "model_bound": r.bound, "latency_s": r.latency_s, "roofline_time_s": t_roof})
    return rows


def plot_roofline(rows: list[dict], path, title: str = "") -> list[Path]:
    """Roofline (per component and peak) with one point per op (achieved), PNG + SVG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(9, 6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    pts = [r for r in rows if r["flops"] > 0 and r["dram_bytes"] > 0 and r["achieved_flops_s"] > 0]
    if pts:
        lo = min(r["intensity_flop_per_byte"] for r in pts) / 4
        hi = max(max(r["intensity_flop_per_byte"] for r in pts), max(r["ridge_flop_per_byte"] for r in pts)) * 4
    else:
        lo, hi = 0.1, 1000.0
    roofs = {(r["component"], r["peak_flops_s"], r["peak_bytes_s"]) for r in pts}
    for comp, peak, bw in sorted(roofs):
        xs = [lo, peak / bw, hi]
        ax.plot(xs, [min(peak, x * bw) for x in xs], lw=1.5,
                label=f"{comp}: {peak / 1e12:.4g} TFLOP/s, {bw / 1e9:.4g} GB/s")
    kinds = sorted({r["op"] for r in pts})
    for k in kinds:
        sel = [r for r in pts if r["op"] == k]
        ax.scatter([r["intensity_flop_per_byte"] for r in sel], [r["achieved_flops_s"] for r in sel], s=18, label=k)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP / DRAM byte)")
    ax.set_ylabel("FLOP/s (achieved: points; attainable: lines)")
    ax.set_title(title or "roofline")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    outs = []
    for ext in (".png", ".svg"):
        q = p.with_suffix(ext)
        fig.savefig(q, dpi=120)
        outs.append(q)
    return outs
