"""Plots of a sweep folder (`archsim report DIR` calls `plot_sweep(DIR)` for sweep folders):

(each also as .svg)
* `plots/sweep_pareto.png`      first two objectives: infeasible / feasible points and the front
* `plots/sweep_sensitivity.png` the first objective against each swept parameter (median line)
* `plots/sweep_best.png`        the best feasible point (first objective): energy and area
                                breakdowns from its stored component summaries

Everything is read from DIR/sweep.sqlite (points and the objectives/constraints in its meta),
so the folder alone is enough. `summarize(DIR)` gives the numbers behind the plots as a dict.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from archsim.errors import ConfigError
from archsim.sweep.pareto import Criteria, table
from archsim.sweep.store import DB_NAME, Store, is_sweep_dir

PLOT_DIR = "plots"


def load_table(out_dir) -> tuple[list[dict], list[dict], Criteria, dict]:
    """(stored rows, flat table rows, criteria, meta) of a sweep folder."""
    d = Path(out_dir)
    if not is_sweep_dir(d):
        raise ConfigError(d, "<dir>", f"not a sweep folder (no {DB_NAME}); run archsim sweep first")
    with Store.open_dir(d, create=False) as st:
        meta = st.meta()
        rows = st.rows()
    if not meta.get("digest"):
        raise ConfigError(d / DB_NAME, "meta", "the store has no sweep description (not written by "
                          "archsim sweep, or created but never started): run the sweep into this folder")
    from archsim.sweep.store import damaged
    try:
        crit = Criteria.from_meta(meta, file=d / DB_NAME)
        flat = table(rows, crit)
    except ConfigError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise damaged(d / DB_NAME, f"its meta or points are not shaped as archsim writes them "
                      f"({type(exc).__name__}: {exc})") from None
    return rows, flat, crit, meta


def best_point(flat: Sequence[Mapping], crit: Criteria, workload: str | None = None) -> Mapping | None:
    """The feasible point with the best first objective (on `workload`, default the first one);
    it is on the Pareto front, and ties are broken by the later objectives."""
    texts = [t for t, _, _ in crit.objectives]
    sign = [1.0 if g == "min" else -1.0 for _, g, _ in crit.objectives]
    cands = [r for r in flat if r["pareto"] and (workload is None or r["_workload"] == workload)]
    if workload is None and cands:
        first = cands[0]["_workload"]
        cands = [r for r in cands if r["_workload"] == first]
    if not cands:
        return None
    # ties in the first objective are broken by the next ones
    return min(cands, key=lambda r: tuple(s * _obj(r, t) for s, t in zip(sign, texts)))


def _obj(row: Mapping, text: str):
    v = row.get(text)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def summarize(out_dir) -> dict[str, Any]:
    """Counts, fronts and the best point, for a text summary."""
    rows, flat, crit, meta = load_table(out_dir)
    best = best_point(flat, crit)
    return {"name": meta.get("name"), "points": len(flat),
            "ok": sum(r["status"] == "ok" for r in flat),
            "failed": sum(r["status"] != "ok" for r in flat),
            "feasible": sum(bool(r["feasible"]) for r in flat),
            "pareto": sum(bool(r["pareto"]) for r in flat),
            "objectives": [[t, g] for t, g, _ in crit.objectives],
            "constraints": [t for t, _ in crit.constraints],
            "best": None if best is None else {k: best[k] for k in ("idx", "workload", *crit.param_keys,
                                                                     crit.objectives[0][0]) if k in best}}


def _logscale(ax, axis: str, values: Sequence[float]) -> None:
    pos = [v for v in values if v is not None and v > 0]
    if len(pos) == len(values) and pos and max(pos) / min(pos) > 50:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


def _pareto_plot(flat, crit, path: Path) -> Path:
    from matplotlib.figure import Figure
    workloads = list(dict.fromkeys(r["_workload"] for r in flat))
    objs = [t for t, _, _ in crit.objectives]
    xt = objs[0]
    yt = objs[1] if len(objs) > 1 else None
    if yt is None:                       # one objective: against the first swept parameter
        yt, xt = xt, (crit.param_keys[0] if crit.param_keys else "idx")
    workloads = workloads[:12]
    n = len(workloads)
    ncol = min(3, n)
    nrow = math.ceil(n / ncol)
    fig = Figure(figsize=(6 * ncol, 4.6 * nrow))
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    for ax, wl in zip(axes.flat, workloads):
        rs = [r for r in flat if r["_workload"] == wl and r["status"] == "ok"
              and _num(r.get(xt)) is not None and _num(r.get(yt)) is not None]
        groups = (("infeasible", [r for r in rs if not r["feasible"]], dict(c="0.65", marker="x", s=22)),
                  ("feasible", [r for r in rs if r["feasible"] and not r["pareto"]], dict(c="tab:blue", s=18)),
                  ("Pareto front", [r for r in rs if r["pareto"]], dict(c="tab:red", s=34, zorder=3)))
        for label, grp, style in groups:
            if grp:
                ax.scatter([_num(r[xt]) for r in grp], [_num(r[yt]) for r in grp],
                           label=f"{label} ({len(grp)})", **style)
        front = sorted((_num(r[xt]), _num(r[yt])) for r in rs if r["pareto"])
        if len(front) > 1 and len(objs) == 2:
            ax.step([p[0] for p in front], [p[1] for p in front], where="post", c="tab:red", lw=1)
        if rs:
            _logscale(ax, "x", [_num(r[xt]) for r in rs])
            _logscale(ax, "y", [_num(r[yt]) for r in rs])
        ax.set_xlabel(xt)
        ax.set_ylabel(yt)
        ax.set_title(f"{wl}: {len(rs)} points" + (f", {len(objs)} objectives (first two shown)"
                                                 if len(objs) > 2 else ""))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, path)


def _num(v):
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)) and math.isfinite(v):
        return float(v)
    return None


def _sensitivity_plot(flat, crit, path: Path) -> Path | None:
    import matplotlib
    from matplotlib.figure import Figure
    keys = [k for k in crit.param_keys if len({repr(r.get(k)) for r in flat}) > 1][:9]
    if not keys:
        return None
    text, goal, _ = crit.objectives[0]
    workloads = list(dict.fromkeys(r["_workload"] for r in flat))
    ncol = min(3, len(keys))
    nrow = math.ceil(len(keys) / ncol)
    fig = Figure(figsize=(5 * ncol, 3.8 * nrow))
    axes = fig.subplots(nrow, ncol, squeeze=False)
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, key in zip(axes.flat, keys):
        values = list(dict.fromkeys(r.get(key) for r in flat))
        numeric = all(_num(v) is not None for v in values)
        order = sorted(values, key=lambda v: (_num(v) if numeric else str(v)))
        pos = {repr(v): (_num(v) if numeric else i) for i, v in enumerate(order)}
        for wi, wl in enumerate(workloads):
            rs = [r for r in flat if r["_workload"] == wl and r["status"] == "ok" and _obj(r, text) is not None]
            c = colors[wi % len(colors)]
            ax.scatter([pos[repr(r[key])] for r in rs if r["feasible"]],
                       [_obj(r, text) for r in rs if r["feasible"]], s=12, color=c, alpha=0.6,
                       label=f"{wl} feasible" if len(workloads) > 1 else "feasible")
            ax.scatter([pos[repr(r[key])] for r in rs if not r["feasible"]],
                       [_obj(r, text) for r in rs if not r["feasible"]], s=14, c="0.65", marker="x",
                       label="infeasible" if wi == 0 else None)
            med = []
            for v in order:
                ys = sorted(_obj(r, text) for r in rs if repr(r[key]) == repr(v))
                if ys:
                    med.append((pos[repr(v)], ys[len(ys) // 2] if len(ys) % 2 else
                                0.5 * (ys[len(ys) // 2 - 1] + ys[len(ys) // 2])))
            if med:
                ax.plot([m[0] for m in med], [m[1] for m in med], color=c, lw=1.5)
        if not numeric:
            ax.set_xticks(range(len(order)), [str(v) for v in order])
        elif len(order) > 2 and min(_num(v) for v in order) > 0 and max(_num(v) for v in order) / min(
                _num(v) for v in order) > 50:
            ax.set_xscale("log", base=2)
        ys_all = [_obj(r, text) for r in flat if r["status"] == "ok" and _obj(r, text) is not None]
        if ys_all:
            _logscale(ax, "y", ys_all)
        ax.set_xlabel(key)
        ax.set_ylabel(f"{text} ({goal})")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.suptitle("sensitivity: every point (dots) and the median per value (line)")
    return _save(fig, path)


def _breakdowns(stored: Mapping) -> tuple[dict[str, float], dict[str, float]]:
    """(energy J by part, area mm2 by part) from a stored point's component summaries."""
    energy, area = {}, {}
    comps = stored.get("components") or []
    multi = len(comps) > 1
    for c in comps:
        pre = f"{c['name']}/" if multi else ""
        bd = c.get("breakdown") or {}
        e = bd.get("energy_j")
        if isinstance(e, Mapping) and e:
            energy.update({pre + k: float(v) for k, v in e.items() if _num(v) is not None})
        elif _num(c.get("energy_j")) is not None:
            energy[c["name"]] = float(c["energy_j"])
        a = bd.get("area_mm2")
        if isinstance(a, Mapping) and a:
            area.update({pre + k: float(v) for k, v in a.items() if _num(v) is not None})
        elif _num(c.get("area_mm2")) is not None:
            area[c["name"]] = float(c["area_mm2"])
    if not energy:
        energy = {k: float(v) for k, v in (stored.get("energy_breakdown") or {}).items()}
    return energy, area


def _best_plot(rows, flat, crit, path: Path) -> Path | None:
    from matplotlib.figure import Figure
    best = best_point(flat, crit)
    if best is None:
        return None
    stored = next(r for r in rows if r["key"] == best["key"])
    energy, area = _breakdowns(stored)
    panels = [(t, d, unit) for t, d, unit in (("energy", energy, "J"), ("area", area, "mm²")) if d]
    if not panels:
        return None
    fig = Figure(figsize=(6 * len(panels), 4.2))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (title, data, unit) in zip(axes[0], panels):
        items = sorted(data.items(), key=lambda kv: -kv[1])[:14]
        total = sum(data.values())
        ax.barh([k for k, _ in items][::-1], [v for _, v in items][::-1], color="tab:blue")
        ax.set_xlabel(f"{title} ({unit}); total {total:.4g} {unit}")
        ax.grid(axis="x", alpha=0.3)
    params = ", ".join(f"{k.rsplit('.', 1)[-1]}={best.get(k)}" for k in crit.param_keys)
    text = crit.objectives[0][0]
    fig.suptitle(f"best feasible point on {best['_workload']} by {text} = {best[text]:.4g}\n{params}",
                 fontsize=9)
    return _save(fig, path)


def plot_sweep(out_dir: Path) -> list[Path]:
    """Write the sweep's plots into DIR/plots/ and return their paths (mathtext off: names and
    parameters from the inputs are drawn as text)."""
    from matplotlib import rc_context
    with rc_context({"text.parse_math": False}):
        return _plot_sweep(out_dir)


def _plot_sweep(out_dir: Path) -> list[Path]:
    from archsim.io_safe import make_dir
    rows, flat, crit, _ = load_table(out_dir)
    if not flat:
        raise ConfigError(Path(out_dir) / DB_NAME, "points", "the store holds no points yet: run "
                          "(or --resume) the sweep into this folder first")
    pdir = make_dir(Path(out_dir) / PLOT_DIR, flag="DIR")
    out = [_pareto_plot(flat, crit, pdir / "sweep_pareto.png"),
           _sensitivity_plot(flat, crit, pdir / "sweep_sensitivity.png"),
           _best_plot(rows, flat, crit, pdir / "sweep_best.png")]
    return [p for p in out if p is not None]


def _save(fig, path: Path) -> Path:
    """PNG (returned) plus an SVG twin, as the run plots of archsim report do."""
    from archsim.io_safe import atomic_savefig
    fig.tight_layout()
    atomic_savefig(fig, path, flag="DIR", dpi=110)
    atomic_savefig(fig, path.with_suffix(".svg"), flag="DIR")
    return path
