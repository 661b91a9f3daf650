"""report.json validated like a config before `archsim report` (or anything else) reads it.

archsim wrote the file, but a folder can hold a truncated, hand-edited or foreign one: every
problem is one ConfigError naming the file, the dotted key and what to do (rewrite it with
`archsim run ... --out DIR`), never a traceback and never an empty success.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

from archsim.errors import ConfigError

REDO = "rewrite it with 'archsim run ARCH WORKLOAD --out DIR'"


def _num(v, *, allow_none=False) -> bool:
    if v is None:
        return allow_none
    return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)


def read_report_json(path) -> dict:
    """Read and check DIR/report.json (or a report JSON file)."""
    from archsim.config.load import read_text
    p = Path(path)
    text = read_text(p)
    if not text.strip():
        raise ConfigError(p, "<file>", f"empty file (0 bytes of JSON); {REDO}")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(p, "<syntax>", f"not valid JSON ({getattr(exc, 'msg', exc)}): truncated or "
                          f"not written by archsim; {REDO}") from None
    return check_report_dict(data, file=p)


def check_report_dict(data: Any, *, file) -> dict:
    """The DESIGN.md §3 Report shape, checked key by key (ConfigError)."""
    def bad(key, what):
        return ConfigError(file, key, f"{what}; {REDO}")

    if not isinstance(data, Mapping):
        raise bad("<root>", f"expected a JSON object (a Report), got {type(data).__name__}")
    for k in ("totals", "ops"):
        if k not in data:
            raise bad(k, "required key is missing (not an archsim Report)")
    for k in ("arch", "workload", "archsim_version"):
        if k in data and not isinstance(data[k], str):
            raise bad(k, f"expected a string, got {data[k]!r:.60}")
    tot = data["totals"]
    if not isinstance(tot, Mapping):
        raise bad("totals", "expected an object of numbers")
    for k, v in tot.items():
        if isinstance(v, list):
            if not all(_num(x) for x in v):
                raise bad(f"totals.{k}", "expected an array of finite numbers")
        elif not _num(v, allow_none=True):
            raise bad(f"totals.{k}", f"expected a finite number, got {v!r:.60}")
    ops = data["ops"]
    if not isinstance(ops, list):
        raise bad("ops", "expected an array of op objects")
    for i, o in enumerate(ops):
        key = f"ops[{i}]"
        if not isinstance(o, Mapping):
            raise bad(key, f"expected an object, got {type(o).__name__}")
        for k in ("name", "op", "component", "bound"):
            if k in o and not isinstance(o[k], str):
                raise bad(f"{key}.{k}", f"expected a string, got {o[k]!r:.60}")
        for k in ("cycles", "latency_s", "flops", "dram_bytes", "energy_j"):
            if k in o and not _num(o[k], allow_none=True):
                raise bad(f"{key}.{k}", f"expected a finite number, got {o[k]!r:.60}")
        br = o.get("energy_breakdown_j")
        if br is not None and (not isinstance(br, Mapping) or not all(_num(v) for v in br.values())):
            raise bad(f"{key}.energy_breakdown_j", "expected an object of finite numbers")
    comps = data.get("components", [])
    if not isinstance(comps, list):
        raise bad("components", "expected an array of component objects")
    for i, c in enumerate(comps):
        key = f"components[{i}]"
        if not isinstance(c, Mapping):
            raise bad(key, f"expected an object, got {type(c).__name__}")
        for k in ("name", "kind"):
            if not isinstance(c.get(k), str):
                raise bad(f"{key}.{k}", "required string is missing")
        for k in ("area_mm2", "leakage_power_w", "energy_j", "utilization"):
            if k in c and not _num(c[k], allow_none=True):
                raise bad(f"{key}.{k}", f"expected a finite number, got {c[k]!r:.60}")
        br = c.get("breakdown", {})
        if not isinstance(br, Mapping):
            raise bad(f"{key}.breakdown", "expected an object")
        for part, sub in br.items():
            if not isinstance(sub, Mapping) or not all(_num(v) for v in sub.values()):
                raise bad(f"{key}.breakdown.{part}", "expected an object of finite numbers")
    budget = data.get("budget")
    if budget is not None and not isinstance(budget, Mapping):
        raise bad("budget", "expected an object or null")
    if isinstance(budget, Mapping) and "power_w" in budget and not _num(budget["power_w"], allow_none=True):
        raise bad("budget.power_w", "expected a finite number")
    trace = data.get("power_trace", [])
    if not isinstance(trace, list):
        raise bad("power_trace", "expected an array")
    for i, p in enumerate(trace):
        if not isinstance(p, Mapping) or not all(_num(p.get(k)) for k in ("t_start_s", "t_end_s", "power_w")):
            raise bad(f"power_trace[{i}]", "expected {t_start_s, t_end_s, power_w} finite numbers")
    prov = data.get("provenance", {})
    if not isinstance(prov, Mapping):
        raise bad("provenance", "expected an object")
    warns = prov.get("warnings", [])
    if not isinstance(warns, list) or not all(isinstance(w, str) for w in warns):
        raise bad("provenance.warnings", "expected an array of strings")
    return dict(data)


# ----------------------------------------------------------------------------- points.csv

POINTS_REQUIRED = ("idx", "key", "workload", "status", "feasible", "pareto", "violations", "error")
REDO_SWEEP = "rewrite it with 'archsim report DIR' or by resuming the sweep ('archsim sweep ... --resume')"


def read_points_csv(path) -> list[dict]:
    """DIR/points.csv (written by archsim sweep) read and checked like a config: the columns
    archsim writes, one cell per column, idx an integer, status ok|error, feasible and pareto
    True|False, totals.* finite numbers or empty. Returns typed rows; ConfigError otherwise."""
    import csv
    import io

    from archsim.config.load import read_text
    p = Path(path)
    text = read_text(p)
    if not text.strip():
        raise ConfigError(p, "<file>", f"empty file; {REDO_SWEEP}")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ConfigError(p, "<syntax>", f"not valid CSV ({exc}); {REDO_SWEEP}") from None
    header = rows[0]
    missing = [c for c in POINTS_REQUIRED if c not in header]
    if missing:
        raise ConfigError(p, "header", f"missing column(s) {', '.join(missing)}: not a points.csv "
                          f"written by archsim sweep; {REDO_SWEEP}")
    out = []
    for n, cells in enumerate(rows[1:], 2):
        if not cells:
            continue
        key = f"line {n}"
        if len(cells) != len(header):
            raise ConfigError(p, key, f"{len(cells)} cells for {len(header)} columns (truncated?); {REDO_SWEEP}")
        d = dict(zip(header, cells))
        try:
            d["idx"] = int(d["idx"])
        except ValueError:
            raise ConfigError(p, f"{key}.idx", f"expected an integer, got {d['idx']!r}") from None
        if d["status"] not in ("ok", "error"):
            raise ConfigError(p, f"{key}.status", f"got {d['status']!r}; allowed values: ok, error")
        for b in ("feasible", "pareto"):
            if d[b] not in ("True", "False"):
                raise ConfigError(p, f"{key}.{b}", f"got {d[b]!r}; allowed values: True, False")
            d[b] = d[b] == "True"
        for c in header:
            if c.startswith("totals.") and d[c] != "":
                try:
                    v = float(d[c])
                except ValueError:
                    v = math.nan
                if not math.isfinite(v):
                    raise ConfigError(p, f"{key}.{c}", f"expected a finite number, got {d[c]!r}")
                d[c] = v
        out.append(d)
    return out


# ----------------------------------------------------------------------------- reproduce.json

REDO_REPRO = "rewrite it with 'archsim reproduce STUDY --out DIR'"


def read_reproduce_json(path) -> dict:
    """DIR/reproduce.json (archsim reproduce --out) checked like a config: a list of rows or an
    object {study, rows, notes, plots}; every row {quantity, unit, value, paper_value, params}
    with numbers or null, params an object. ConfigError otherwise."""
    from archsim.config.load import read_text
    p = Path(path)
    text = read_text(p)
    if not text.strip():
        raise ConfigError(p, "<file>", f"empty file; {REDO_REPRO}")
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(p, "<syntax>", f"not valid JSON ({getattr(exc, 'msg', exc)}); {REDO_REPRO}") from None
    rows = doc.get("rows") if isinstance(doc, Mapping) else doc
    if not isinstance(rows, list):
        raise ConfigError(p, "rows", f"expected a list of rows; {REDO_REPRO}")
    for i, r in enumerate(rows):
        key = f"rows[{i}]"
        if not isinstance(r, Mapping):
            raise ConfigError(p, key, f"expected an object, got {type(r).__name__}; {REDO_REPRO}")
        for k in ("quantity", "unit", "study"):
            if k in r and not isinstance(r[k], str):
                raise ConfigError(p, f"{key}.{k}", f"expected a string, got {r[k]!r:.60}")
        for k in ("value", "paper_value"):
            if k in r and not _num(r[k], allow_none=True):
                raise ConfigError(p, f"{key}.{k}", f"expected a finite number or null, got {r[k]!r:.60}")
        if "params" in r and r["params"] is not None and not isinstance(r["params"], Mapping):
            raise ConfigError(p, f"{key}.params", f"expected an object, got {r['params']!r:.60}")
    if isinstance(doc, Mapping):
        for k in ("notes", "plots"):
            v = doc.get(k)
            if v is not None and (not isinstance(v, list) or not all(isinstance(x, str) for x in v)):
                raise ConfigError(p, k, f"expected a list of strings; {REDO_REPRO}")
        if "study" in doc and not isinstance(doc["study"], str):
            raise ConfigError(p, "study", "expected a string")
    return doc
