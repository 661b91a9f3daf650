"""Feasibility (budgets and constraints), Pareto fronts, and the sweep's CSV tables.

A point is feasible when it ran, its Report's budget check passed (unless `[constraints]
budget = false`; an arch without a [budget] has nothing to fail), and every constraint holds. A
constraint that reads a total the Report does not have (e.g. energy without an energy model)
counts as violated: an unknown value is never taken as within budget.

The Pareto front is computed among feasible points, per workload (latencies of different
workloads are not comparable; swept workload keys make different workloads): a point is on the front when no other point is at least as good
in every objective and strictly better in one. Objectives with goal "max" are negated.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import attrs

from archsim.sweep.space import Expr, ExprError, compile_expr
from archsim.sweep.spec import RESULT_NAMES, TOTALS

POINTS_CSV = "points.csv"
PARETO_CSV = "pareto.csv"


@attrs.frozen
class Criteria:
    """Objectives and constraints, rebuilt from the store's meta so a folder is self-describing."""
    objectives: tuple[tuple[str, str, Expr], ...]       # (text, goal, expr)
    constraints: tuple[tuple[str, Expr], ...]           # (text, expr)
    budget: bool
    param_keys: tuple[str, ...]

    def to_meta(self) -> dict:
        return {"objectives": [[t, g] for t, g, _ in self.objectives],
                "constraints": [t for t, _ in self.constraints], "budget": self.budget,
                "param_keys": list(self.param_keys)}

    @classmethod
    def from_spec(cls, spec) -> "Criteria":
        return cls(objectives=tuple((o.text, o.goal, o.expr) for o in spec.objectives),
                   constraints=tuple((c.text, c.expr) for c in spec.constraints),
                   budget=spec.budget, param_keys=spec.param_keys)

    @classmethod
    def from_meta(cls, meta: Mapping, *, file="sweep.sqlite") -> "Criteria":
        keys = tuple(meta.get("param_keys", ()))
        names = list(RESULT_NAMES) + list(keys)
        return cls(
            objectives=tuple((t, g, compile_expr(t, names, file=file, key=f"objectives.{t}"))
                             for t, g in meta.get("objectives", [["totals.latency_s", "min"]])),
            constraints=tuple((t, compile_expr(t, names, file=file, key="constraints", compare=True))
                              for t in meta.get("constraints", [])),
            budget=bool(meta.get("budget", True)), param_keys=keys)


def point_env(row: Mapping) -> dict[str, Any]:
    """The names expressions read for one stored point: totals.*, budget.ok and parameters."""
    env = {}
    for k, v in (row.get("totals") or {}).items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            env[f"totals.{k}"] = v
    budget = row.get("budget")
    if isinstance(budget, Mapping) and isinstance(budget.get("ok"), bool):
        env["budget.ok"] = int(budget["ok"])
    for k, v in (row.get("params") or {}).items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            env[k] = v
    return env


def violations(row: Mapping, crit: Criteria) -> list[str]:
    """Why a point is infeasible ([] = feasible)."""
    if row.get("status") != "ok":
        return ["point failed"]
    out = []
    budget = row.get("budget")
    if crit.budget and isinstance(budget, Mapping) and budget.get("ok") is False:
        out.append("arch budget")
    env = point_env(row)
    for text, expr in crit.constraints:
        try:
            ok = expr(env)
        except ExprError as exc:
            out.append(f"{text} ({exc})")
            continue
        if not ok:
            out.append(text)
    return out


def objective_values(row: Mapping, crit: Criteria) -> list[float | None]:
    env = point_env(row)
    vals = []
    for _, _, expr in crit.objectives:
        try:
            v = expr(env)
        except ExprError:
            v = None
        vals.append(float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None)
    return vals


def pareto_mask(values: Sequence[Sequence[float]], goals: Sequence[str]) -> list[bool]:
    """Non-dominated flags for `values` (one tuple per point), each objective "min" or "max".
    Sort lexicographically (a dominator always sorts first), keep a running front: O(n * front)."""
    sign = [1.0 if g == "min" else -1.0 for g in goals]
    vecs = [tuple(s * x for s, x in zip(sign, v)) for v in values]
    order = sorted(range(len(vecs)), key=lambda i: vecs[i])
    front: list[tuple] = []
    mask = [False] * len(vecs)
    for i in order:
        v = vecs[i]
        if any(all(f <= x for f, x in zip(fv, v)) and fv != v for fv in front):
            continue
        front.append(v)
        mask[i] = True
    return mask


def workload_label(row: Mapping) -> str:
    """The workload a point ran: its name plus any swept workload keys (a 4k frame is not a
    1080p frame, though both come from the same file)."""
    params = row.get("params") or {}
    keys = [f"{k[len('workload.'):]}={v}" for k, v in params.items() if k.startswith("workload.")]
    return f"{row['workload']} ({', '.join(keys)})" if keys else str(row["workload"])


def table(rows: Sequence[Mapping], crit: Criteria) -> list[dict]:
    """One flat dict per stored point: parameters, status, feasible, pareto, totals.*, budget.*,
    objective expressions, violations, error. Header order is fixed by the data, not by arrival."""
    flat = []
    objs = [t for t, _, _ in crit.objectives]
    for r in rows:
        vio = violations(r, crit)
        ov = objective_values(r, crit)
        d: dict[str, Any] = {"idx": r["idx"], "key": r["key"], "workload": r["workload"]}
        for k in crit.param_keys:
            d[k] = (r.get("params") or {}).get(k)
        d["status"] = r["status"]
        d["feasible"] = not vio
        d["pareto"] = False
        for k, v in (r.get("totals") or {}).items():
            if isinstance(v, list):
                for j, x in enumerate(v):
                    d[f"totals.{k}[{j}]"] = x
            else:
                d[f"totals.{k}"] = v
        budget = r.get("budget")
        if isinstance(budget, Mapping):
            for k, v in budget.items():
                if isinstance(v, (int, float, str, bool)) or v is None:
                    d[f"budget.{k}"] = v
        for t, v in zip(objs, ov):
            if t not in d:
                d[t] = v
        d["violations"] = "; ".join(vio) if vio else ""
        d["error"] = r.get("error") or ""
        d["_objectives"] = ov
        d["_workload"] = workload_label(r)
        flat.append(d)
    by_wl: dict[str, list[int]] = {}
    for i, d in enumerate(flat):
        if d["feasible"] and all(v is not None for v in d["_objectives"]):
            by_wl.setdefault(d["_workload"], []).append(i)
    goals = [g for _, g, _ in crit.objectives]
    for idxs in by_wl.values():
        mask = pareto_mask([flat[i]["_objectives"] for i in idxs], goals)
        for i, m in zip(idxs, mask):
            flat[i]["pareto"] = m
    for d in flat:
        del d["_objectives"]
    return flat


def strip_private(flat: Sequence[Mapping]) -> list[dict]:
    return [{k: v for k, v in d.items() if not k.startswith("_")} for d in flat]


def _columns(flat: Sequence[Mapping]) -> list[str]:
    cols = list(dict.fromkeys(c for d in flat for c in d))
    totals = [c for c in cols if c.startswith("totals.")]
    known = {f"totals.{t}": i for i, t in enumerate(TOTALS)}
    totals.sort(key=lambda c: (known.get(c.split("[")[0], len(known)), c))
    head = [c for c in cols if not c.startswith("totals.") and c not in ("violations", "error")]
    return head[:head.index("pareto") + 1] + totals + head[head.index("pareto") + 1:] + ["violations", "error"]


def to_csv(flat: Sequence[Mapping]) -> str:
    if not flat:
        return ""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=_columns(flat), restval="", lineterminator="\n")
    w.writeheader()
    w.writerows(flat)
    return buf.getvalue()


def export(out_dir, rows: Sequence[Mapping], crit: Criteria) -> tuple[Path, Path]:
    """Write DIR/points.csv (every point) and DIR/pareto.csv (the fronts); returns both paths."""
    out = Path(out_dir)
    flat = strip_private(table(rows, crit))
    pts, par = out / POINTS_CSV, out / PARETO_CSV
    text = to_csv(flat)
    from archsim.io_safe import atomic_write_text
    atomic_write_text(pts, text, flag="--out")
    front = [d for d in flat if d["pareto"]]
    atomic_write_text(par, to_csv(front) if front else (text.splitlines()[0] + "\n" if text else ""),
                      flag="--out")
    return pts, par
