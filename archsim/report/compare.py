"""Two or more run folders side by side (`archsim compare A B [C ...]`): what differs in the
inputs (the resolved arch configs, overrides and workload files), and latency, energy, power and
area in total and per op, each as a ratio to the first run.

Read from the folders only (report.json, manifest.json, inputs/), like the HTML report.
"""
from __future__ import annotations

import hashlib
import json
import string
from pathlib import Path
from typing import Any, Mapping, Sequence

from archsim.errors import ConfigError
from archsim.report.html import _num, load_run, render_page

TOTALS = ("latency_s", "energy_j", "avg_power_w", "peak_power_w", "area_mm2", "leakage_power_w",
          "cycles", "flops", "dram_bytes")
OP_METRICS = ("latency_s", "energy_j", "avg_power_w")
MISSING = "\u2014"


def labels_for(n: int) -> list[str]:
    letters = string.ascii_uppercase
    return [letters[i] if i < 26 else f"R{i + 1}" for i in range(n)]


def _flatten(d: Mapping, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def resolved_inputs(d: Path, rep: Mapping, man: Mapping | None) -> tuple[dict[str, Any], list[str]]:
    """(dotted key -> value of what the run was given, notes): the arch with its `extends`
    merged and the --set overrides applied, and the workload (name, file hash, overrides)."""
    from archsim.config.load import apply_overrides, read_toml, resolve_extends
    notes = []
    meta = rep.get("meta") or {}
    out: dict[str, Any] = {}
    inputs = (man or {}).get("inputs") or {}
    arch_src = meta.get("arch_source")
    arch_data = None
    if arch_src:
        name = Path(arch_src).name
        cands = [(orig, info) for orig, info in inputs.items() if Path(orig).name == name]
        for orig, info in cands:
            copy = d / info.get("copy", "")
            for p in (copy, Path(orig)):
                try:
                    if p.is_file() and _sha(p) == info.get("sha256"):
                        arch_data = resolve_extends(p)
                        break
                except ConfigError:
                    continue
            if arch_data is not None:
                break
        if arch_data is None and cands:
            copy = d / cands[0][1].get("copy", "")
            try:
                arch_data = read_toml(copy)
                notes.append(f"{d}: the presets {name} extends were not found; its own keys are compared")
            except ConfigError:
                arch_data = None
    if arch_data is None:
        notes.append(f"{d}: no copy of the arch file in inputs/ (manifest.json); only the Report is compared")
        arch_data = {}
    arch_data = dict(arch_data)
    arch_data.pop("extends", None)
    overrides = list((man or {}).get("overrides") or [])
    arch_over = [o for o in overrides if not str(o).startswith("workload.")]
    wl_over = [o for o in overrides if str(o).startswith("workload.")]
    try:
        arch_data = apply_overrides(arch_data, arch_over, file=d / "manifest.json")
    except ConfigError as exc:
        notes.append(f"{d}: overrides not applied ({exc.message})")
    out.update({f"arch.{k}": v for k, v in _flatten(arch_data).items()})
    out["workload.name"] = rep.get("workload")
    wl_src = meta.get("workload_source")
    if wl_src:
        for orig, info in inputs.items():
            if Path(orig).name == Path(wl_src).name:
                out["workload.file"] = Path(orig).name
                out["workload.sha256"] = (info.get("sha256") or "")[:12]
                break
    for o in wl_over:
        k, _, v = str(o).partition("=")
        out[k] = v
    base = rep.get("baseline")
    out["baseline.arch"] = base.get("arch") if isinstance(base, Mapping) else None
    out["archsim_version"] = rep.get("archsim_version")
    return out, notes


def _ratio(a, b):
    a, b = _num(a), _num(b)
    return b / a if a not in (None, 0) and b is not None else None


def _fmt_value(v) -> Any:
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v)
    return v


def _op_power(o: Mapping):
    e, t = _num(o.get("energy_j")), _num(o.get("latency_s"))
    return e / t if e is not None and t else None


def compare_data(dirs: Sequence) -> dict:
    """Everything `archsim compare` prints and draws, for run folders `dirs` (two or more)."""
    dirs = [Path(x) for x in dirs]
    if len(dirs) < 2:
        raise ConfigError("compare", "<dirs>", "give two or more run folders (written by archsim run --out)")
    runs = []
    for d in dirs:
        if not d.is_dir() or not (d / "report.json").is_file():
            raise ConfigError(d, "<dir>", "not a run folder: expected report.json written by "
                              "'archsim run ... --out DIR'")
        rep, man = load_run(d)
        runs.append((d, rep, man))
    labels = labels_for(len(runs))
    a = labels[0]
    # inputs
    resolved, notes = [], []
    for d, rep, man in runs:
        r, n = resolved_inputs(d, rep, man)
        resolved.append(r)
        notes += n
    keys = list(dict.fromkeys(k for r in resolved for k in r))
    diff_rows = []
    for k in keys:
        vals = [r.get(k, MISSING) for r in resolved]
        if len({json.dumps(v, sort_keys=True, default=str) for v in vals}) > 1:
            diff_rows.append([k, *[_fmt_value(v) for v in vals]])
    # totals
    tcols = ["quantity", a]
    for lab in labels[1:]:
        tcols += [lab, f"{lab} / {a}"]
    trows = []
    for t in TOTALS:
        vals = [(rep.get("totals") or {}).get(t) for _, rep, _ in runs]
        if all(_num(v) is None for v in vals):
            continue
        row = [t, vals[0]]
        for v in vals[1:]:
            row += [v, _ratio(vals[0], v)]
        trows.append(row)
    # per op: matched by name (the k-th op of a name with the k-th of the same name)
    keyed = []
    for _, rep, _ in runs:
        seen: dict[str, int] = {}
        m = {}
        for o in rep.get("ops") or []:
            nm = str(o.get("name") or o.get("op"))
            k = seen.get(nm, 0)
            seen[nm] = k + 1
            m[(nm, k)] = o
        keyed.append(m)
    order = list(dict.fromkeys(k for m in keyed for k in m))
    ocols = ["op", "kind"]
    for met in OP_METRICS:
        ocols.append(f"{a} {met}")
        for lab in labels[1:]:
            ocols += [f"{lab} {met}", f"{lab} / {a} {met.rsplit('_', 1)[0]}"]
    orows = []
    for key in order:
        os_ = [m.get(key) for m in keyed]
        first = next(o for o in os_ if o is not None)
        name = key[0] if key[1] == 0 else f"{key[0]} #{key[1] + 1}"
        row = [name, first.get("op")]
        for met in OP_METRICS:
            vals = [None if o is None else (_op_power(o) if met == "avg_power_w" else o.get(met)) for o in os_]
            row.append(vals[0])
            for v in vals[1:]:
                row += [v, _ratio(vals[0], v)]
        orows.append(row)
    unmatched = sum(1 for key in order if any(m.get(key) is None for m in keyed))
    op_note = (f"{len(order)} ops, matched by name across the runs"
               + (f"; {unmatched} appear in only some runs ({MISSING} where absent)" if unmatched else "")
               + f". Ratios are each run \u00f7 {a}; power per op = its energy / its latency.")
    return {
        "kind": "compare", "labels": labels,
        "runs": [[lab, str(d), rep.get("arch"), rep.get("workload"), (rep.get("totals") or {}).get("latency_s"),
                  (rep.get("totals") or {}).get("energy_j")] for lab, (d, rep, _) in zip(labels, runs)],
        "diff": {"columns": ["key", *labels], "rows": diff_rows, "notes": notes},
        "totals": {"columns": tcols, "rows": trows},
        "ops": {"columns": ocols, "rows": orows, "note": op_note},
    }


def write_compare_html(data: Mapping, out) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    title = "archsim compare: " + " vs ".join(f"{r[0]} {r[2]}/{r[3]}" for r in data["runs"])
    sub = "; ".join(f"{r[0]} = {r[1]}" for r in data["runs"])
    out.write_text(render_page(data, title=title, subtitle=sub), encoding="utf-8")
    return out
