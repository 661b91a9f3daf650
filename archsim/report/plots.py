"""Plots of one run folder (report.json): energy breakdown per op, area breakdown per
component, power over time against the budget (or TDP), the schedule as a Gantt chart. matplotlib's object API with the Agg
canvas (no pyplot global state, no display); files go only into the folder given.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from archsim.errors import ConfigError

#: Most bars drawn per plot; more ops are grouped by op name (largest kept, rest "other").
MAX_BARS = 60
#: Most ops drawn as bars in the Gantt chart (the longest); the rest are ticks.
MAX_GANTT_OPS = 400


def load_report(run_dir) -> dict:
    p = Path(run_dir) / "report.json"
    try:
        return json.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(run_dir, "<dir>", "no report.json here; expected a run folder written by "
                          "'archsim run ... --out DIR' or a sweep folder (points.csv / sweep.sqlite)") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(p, "<syntax>", f"not valid JSON: {exc}") from None


def _figure(w=10.0, h=5.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, out_dir: Path, stem: str) -> list[Path]:
    paths = []
    for ext in ("png", "svg"):
        p = out_dir / f"{stem}.{ext}"
        fig.savefig(p, dpi=130 if ext == "png" else None)
        paths.append(p)
    return paths


def op_energy_rows(report: Mapping[str, Any]) -> tuple[list[str], dict[str, list[float]]]:
    """(labels, {class: [J per bar]}) with leakage (static power x op latency) as a class.
    More than MAX_BARS ops are grouped by op name (top MAX_BARS-1 by energy + "other")."""
    ops = report.get("ops", [])
    static_w = report.get("totals", {}).get("leakage_power_w") or 0.0
    rows = []
    for i, o in enumerate(ops):
        br = dict(o.get("energy_breakdown_j") or {})
        if not br and o.get("energy_j") is not None:
            br = {"self_priced": o["energy_j"]}
        if static_w:
            br["leakage"] = br.get("leakage", 0.0) + static_w * o.get("latency_s", 0.0)
        rows.append((o.get("name") or f"{o.get('op')}#{i}", br))
    if len(rows) > MAX_BARS:
        grouped: dict[str, dict[str, float]] = {}
        for name, br in rows:
            g = grouped.setdefault(name, {})
            for k, v in br.items():
                g[k] = g.get(k, 0.0) + v
        items = sorted(grouped.items(), key=lambda kv: -sum(kv[1].values()))
        keep, rest = items[:MAX_BARS - 1], items[MAX_BARS - 1:]
        if rest:
            other: dict[str, float] = {}
            for _, br in rest:
                for k, v in br.items():
                    other[k] = other.get(k, 0.0) + v
            keep.append((f"other ({len(rest)} names)", other))
        rows = keep
    classes = sorted({k for _, br in rows for k in br},
                     key=lambda k: (k == "leakage", k))
    return [n for n, _ in rows], {c: [br.get(c, 0.0) for _, br in rows] for c in classes}


def plot_energy_breakdown(report: Mapping[str, Any], out_dir) -> list[Path]:
    """Stacked bars: energy per op (or op name) by action class, in uJ."""
    labels, series = op_energy_rows(report)
    fig = _figure(max(8.0, 0.22 * len(labels) + 3), 5.0)
    ax = fig.add_subplot()
    bottom = [0.0] * len(labels)
    x = list(range(len(labels)))
    cmap = _colors(len(series))
    for (cls, vals), color in zip(series.items(), cmap):
        uj = [v * 1e6 for v in vals]
        ax.bar(x, uj, bottom=bottom, label=cls, color=color, width=0.8)
        bottom = [b + v for b, v in zip(bottom, uj)]
    ax.set_xticks(x, labels, rotation=90, fontsize=7)
    ax.set_ylabel("energy per op (uJ)")
    tot = report.get("totals", {})
    ax.set_title(f"{report.get('workload')} on {report.get('arch')}: energy by action class "
                 f"(total {tot.get('energy_j', 0) * 1e3:.4g} mJ)")
    ax.legend(fontsize=7, ncols=2)
    return _save(fig, Path(out_dir), "energy_breakdown")


def plot_area_breakdown(report: Mapping[str, Any], out_dir) -> list[Path]:
    """Horizontal stacked bar per component by part (mm^2)."""
    comps = [c for c in report.get("components", []) if c.get("area_mm2") is not None]
    fig = _figure(10.0, 1.2 + 0.7 * max(1, len(comps)))
    ax = fig.add_subplot()
    parts = sorted({p for c in comps for p in (c.get("breakdown", {}).get("area_mm2") or {"total": 0})})
    colors = dict(zip(parts, _colors(len(parts))))
    labelled: set[str] = set()
    for i, c in enumerate(comps):
        br = c.get("breakdown", {}).get("area_mm2") or {"total": c["area_mm2"]}
        left = 0.0
        for p in parts:
            v = br.get(p, 0.0)
            if v:
                ax.barh(i, v, left=left, color=colors[p], label=None if p in labelled else p)
                labelled.add(p)
                left += v
    ax.set_yticks(range(len(comps)), [f"{c['name']} ({c['kind']})" for c in comps])
    ax.set_xlabel("area (mm^2)")
    ax.set_title(f"{report.get('arch')}: area by component and part "
                 f"(total {report.get('totals', {}).get('area_mm2', 0):.4g} mm^2)")
    ax.legend(fontsize=7, ncols=3, loc="lower right")
    return _save(fig, Path(out_dir), "area_breakdown")


def power_limit(report: Mapping[str, Any], run_dir=None) -> tuple[float | None, str]:
    """(W, label): the budget's power_w, else a `tdp_w` key in the run's own arch file or the
    files it extends (copied under inputs/) — never the baseline's."""
    b = report.get("budget") or {}
    if b.get("power_w"):
        return float(b["power_w"]), "budget power_w"
    src = (report.get("meta") or {}).get("arch_source")
    if run_dir is None or not src:
        return None, ""
    from archsim.config.load import read_toml
    inputs = Path(run_dir) / "inputs"
    todo, seen = [Path(src).name], set()
    while todo:
        name = todo.pop()
        p = inputs / name
        if name in seen or not p.is_file():
            continue
        seen.add(name)
        try:
            data = read_toml(p)
        except ConfigError:
            continue
        found = _find_key({k: v for k, v in data.items() if k != "extends"}, "tdp_w")
        if found is not None:
            return float(found), f"TDP ({p.name})"
        ext = data.get("extends")
        todo += [Path(e).name for e in ([ext] if isinstance(ext, str) else ext or [])]
    return None, ""


def _find_key(d, key):
    if isinstance(d, Mapping):
        if key in d and isinstance(d[key], (int, float)):
            return d[key]
        for v in d.values():
            r = _find_key(v, key)
            if r is not None:
                return r
    return None


def plot_power_trace(report: Mapping[str, Any], out_dir, *, run_dir=None) -> list[Path]:
    """Power over the simulated timeline (per interval of the schedule), with average power and
    the budget/TDP."""
    tr = report.get("power_trace") or []
    fig = _figure(10.0, 4.5)
    ax = fig.add_subplot()
    xs, ys = [], []
    for p in tr:
        xs += [p["t_start_s"] * 1e3, p["t_end_s"] * 1e3]
        ys += [p["power_w"], p["power_w"]]
    ax.plot(xs, ys, lw=1.0, label="power (timeline)")
    tot = report.get("totals", {})
    if tot.get("avg_power_w") is not None:
        ax.axhline(tot["avg_power_w"], color="tab:green", ls="--", lw=1,
                   label=f"average {tot['avg_power_w']:.4g} W")
    limit, label = power_limit(report, run_dir)
    if limit is not None:
        ax.axhline(limit, color="tab:red", ls="-", lw=1.2, label=f"{label} {limit:.4g} W")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("power (W)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{report.get('workload')} on {report.get('arch')}: power over time")
    ax.legend(fontsize=8)
    return _save(fig, Path(out_dir), "power_trace")


def plot_timeline(report: Mapping[str, Any], out_dir) -> list[Path]:
    """Gantt chart of the schedule: one row per resource, one bar per op (start to end), the
    critical path outlined. Runs folded from more than MAX_GANTT_OPS ops keep the longest ops
    and draw the rest as thin ticks."""
    ops = [o for o in report.get("ops", []) if o.get("start_s") is not None]
    if not ops:
        return []
    resources = list(dict.fromkeys(o.get("resource") or o.get("component") for o in ops))
    row = {r: i for i, r in enumerate(resources)}
    kinds = list(dict.fromkeys(o.get("op") for o in ops))
    color = dict(zip(kinds, _colors(len(kinds))))
    fig = _figure(11.0, 1.2 + 0.45 * len(resources))
    ax = fig.add_subplot()
    big = sorted(ops, key=lambda o: o["end_s"] - o["start_s"], reverse=True)[:MAX_GANTT_OPS]
    keep = {id(o) for o in big}
    scale, unit = _time_unit(max(o["end_s"] for o in ops))
    for o in ops:
        y = row[o.get("resource") or o.get("component")]
        x0, w = o["start_s"] * scale, (o["end_s"] - o["start_s"]) * scale
        crit = bool(o.get("critical"))
        if id(o) in keep:
            ax.barh(y, w, left=x0, height=0.6, color=color[o.get("op")],
                    edgecolor="black" if crit else "none", linewidth=1.2 if crit else 0)
        else:
            ax.plot([x0, x0 + w], [y, y], color=color[o.get("op")], lw=2)
    ax.set_yticks(range(len(resources)), resources)
    ax.invert_yaxis()
    ax.set_xlabel(f"time ({unit})")
    ax.set_title(f"{report.get('workload')} on {report.get('arch')}: schedule per resource "
                 "(critical path outlined)")
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color=color[k], label=k) for k in kinds[:12]], fontsize=7,
              loc="upper right", ncols=min(4, len(kinds)))
    return _save(fig, Path(out_dir), "timeline")


def _time_unit(t_max_s: float) -> tuple[float, str]:
    for scale, unit in ((1.0, "s"), (1e3, "ms"), (1e6, "us"), (1e9, "ns")):
        if t_max_s * scale >= 1.0:
            return scale, unit
    return 1e9, "ns"


def _colors(n: int):
    from matplotlib import colormaps
    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


def plot_run(run_dir) -> list[Path]:
    """Every plot (PNG + SVG) of a run folder, written into that folder."""
    d = Path(run_dir)
    report = load_report(d)
    paths = []
    if any(o.get("energy_j") is not None for o in report.get("ops", [])):
        paths += plot_energy_breakdown(report, d)
    if report.get("components"):
        paths += plot_area_breakdown(report, d)
    if report.get("power_trace"):
        paths += plot_power_trace(report, d, run_dir=d)
    paths += plot_timeline(report, d)
    return paths


def summary_rows(report: Mapping[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """Small tables for the CLI: totals, energy by class, area by component, budget."""
    tot = report.get("totals", {})
    keys = ("latency_s", "energy_j", "dynamic_energy_j", "avg_power_w", "peak_power_w",
            "leakage_power_w", "area_mm2")
    totals = [(k, tot[k]) for k in keys if k in tot]
    labels, series = op_energy_rows({**report, "ops": report.get("ops", [])})
    by_class = sorted(((c, sum(v)) for c, v in series.items()), key=lambda kv: -kv[1])
    area = [(f"{c['name']} ({c['kind']})", c.get("area_mm2")) for c in report.get("components", [])]
    budget = list((report.get("budget") or {}).items())
    return {"totals": totals, "energy_j by class": by_class, "area_mm2 by component": area,
            "budget": budget}
