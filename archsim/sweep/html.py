"""The sweep page of the HTML report (`archsim report DIR --html` on a sweep folder): the Pareto
front as an interactive scatter, sensitivity plots, the best point per objective, every point and
the failed ones, all from DIR/sweep.sqlite. The page itself is archsim/report/html.py's."""
from __future__ import annotations

from pathlib import Path
import math
from typing import Mapping, Sequence

from archsim.report.html import HTML_NAME, write_page


def _num(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return v


_SWEEP_TOTALS = ("totals.latency_s", "totals.energy_j", "totals.avg_power_w", "totals.peak_power_w",
                 "totals.area_mm2")


def _short_names(keys: Sequence[str]) -> dict[str, str]:
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: (s if last.count(s) == 1 else k) for k, s in zip(keys, last)}


def _params_text(r: Mapping, keys: Sequence[str], short: Mapping[str, str]) -> str:
    return ", ".join(f"{short.get(k, k)}={r.get(k)}" for k in keys)


def sweep_data(d) -> dict:
    """The data the sweep page draws, from DIR/sweep.sqlite (the folder alone is enough)."""
    from archsim.sweep.report import best_point, load_table
    d = Path(d)
    stored, flat, crit, meta = load_table(d)
    objs = [(t, g) for t, g, _ in crit.objectives]
    keys = list(crit.param_keys)
    varying = [k for k in keys if len({repr(r.get(k)) for r in flat}) > 1]
    cols = ["idx", "workload", *keys, "status", "feasible", "pareto"]
    for t, _ in objs:
        if t not in cols:
            cols.append(t)
    for t in _SWEEP_TOTALS:
        if t not in cols and any(_num(r.get(t)) is not None for r in flat):
            cols.append(t)
    cols += ["violations", "error"]
    rows = []
    for r in flat:
        row = {**r, "workload": r["_workload"]}
        rows.append([row.get(c) for c in cols])
    numeric = [c for c in cols if c not in ("workload", "status", "feasible", "pareto", "violations", "error")
               and all(_num(r.get(c)) is not None or r.get(c) in (None, "") for r in flat)]
    short = {**_short_names(keys), **{c: c.removeprefix("totals.") for c in cols if c.startswith("totals.")}}
    workloads = list(dict.fromkeys(r["_workload"] for r in flat))
    # Pareto axes: the first two objectives, or (first numeric swept parameter, the objective)
    if len(objs) >= 2:
        axes = [objs[0][0], objs[1][0]]
    else:
        num_keys = [k for k in varying if k in numeric]
        axes = [num_keys[0] if num_keys else "idx", objs[0][0]]
    best, best_rows = [], []
    pos = {id(r): i for i, r in enumerate(flat)}
    for wl in workloads:
        cands = [r for r in flat if r["_workload"] == wl and r["feasible"]]
        for t, g in objs:
            vals = [r for r in cands if _num(r.get(t)) is not None]
            if not vals:
                continue
            b = (min if g == "min" else max)(vals, key=lambda r: r[t])
            best.append([wl, t, g, b[t], b["idx"], _params_text(b, keys, short)])
            best_rows.append(pos[id(b)])
    first = best_point(flat, crit)
    failed = [[r["idx"], r["_workload"], _params_text(r, keys, short), r.get("error") or ""]
              for r in flat if r["status"] != "ok"]
    counts = {"points": len(flat), "ok": sum(r["status"] == "ok" for r in flat),
              "failed": len(failed), "feasible": sum(bool(r["feasible"]) for r in flat),
              "pareto": sum(bool(r["pareto"]) for r in flat)}
    return {"kind": "sweep", "name": meta.get("name") or d.name, "description": meta.get("description", ""),
            "sweep_file": meta.get("sweep_file"), "counts": counts, "objectives": objs,
            "constraints": [t for t, _ in crit.constraints], "budget": crit.budget,
            "param_keys": keys, "short": short, "columns": cols, "numeric": numeric, "rows": rows,
            "workloads": workloads, "pareto_axes": axes, "sensitivity": varying[:9],
            "best": best, "best_rows": best_rows, "failed": failed,
            "best_first": None if first is None else first["idx"], "truncated": ""}



def write_sweep_html(d, out=None) -> Path:
    """Write DIR/report.html (or `out`) for a sweep folder; returns its path."""
    d = Path(d)
    data = sweep_data(d)
    return write_page(data, Path(out) if out else d / HTML_NAME, title=f"archsim sweep: {data['name']}",
                      subtitle=f"{data['counts']['points']} points, folder {d}")
