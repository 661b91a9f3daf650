"""One self-contained HTML page per run, sweep or reproduction folder (`archsim report DIR
--html`), and for a comparison of runs (`archsim compare`). The page machinery, run and
reproduction pages are here; the sweep page's data comes from archsim/sweep/html.py (the sweep
package reads its own store; report does not import sweep).

Everything is read from the folder's files (report.json, manifest.json, timeline.csv,
sweep.sqlite, reproduce.json), never from the engine's Python objects, so the page follows
whatever the engine writes. Fields the engine may add are shown when present:
`timeline` (per-resource busy time, utilisation, critical path) and per-op `resource`,
`start_s`, `end_s`, `critical` draw the Gantt chart; without them the ops are drawn back to back
(serial), labelled as such.

The page embeds its data (JSON), its CSS and its JavaScript (archsim/report/assets/, hand-written
SVG charts, no third-party code): it opens offline, with no server. Numbers are rounded to six
significant digits in the embedded data (the folder's files keep full precision).
"""
from __future__ import annotations

import base64
import csv
import html
import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from archsim.errors import ConfigError
from archsim.version import __version__

ASSETS = Path(__file__).resolve().parent / "assets"
HTML_NAME = "report.html"
REPRODUCE_JSON = "reproduce.json"
TIMELINE_CSV = "timeline.csv"
SIG_DIGITS = 6
MAX_PLOT_BYTES = 3 * 1024 * 1024       # larger study plots are linked, not embedded


# ----------------------------------------------------------------------------- page

def _round(v):
    """JSON-ready copy: floats to SIG_DIGITS significant digits, NaN/inf to None."""
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        if v.is_integer() and abs(v) < 2 ** 53:
            return int(v)          # counts (bytes, FLOPs) stay exact
        return float(f"{v:.{SIG_DIGITS}g}")
    if isinstance(v, Mapping):
        return {str(k): _round(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_round(x) for x in v]
    return v


def embed_json(data) -> str:
    """JSON safe inside <script>: no '</' (end tag) or '<!--' sequences."""
    text = json.dumps(_round(data), separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def render_page(data: Mapping[str, Any], *, title: str, subtitle: str = "") -> str:
    """The whole page: CSS, data and the renderer inline."""
    css = (ASSETS / "report.css").read_text()
    js = (ASSETS / "report.js").read_text()
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<meta name=\"generator\" content=\"archsim {html.escape(__version__)}\">\n"
        f"<title>{html.escape(title)}</title>\n<style>\n{css}</style>\n</head>\n<body>\n"
        f"<header class=\"top\"><h1>{html.escape(title)}</h1>"
        f"<div class=\"sub\">{html.escape(subtitle)}</div><nav class=\"toc\" id=\"toc\"></nav></header>\n"
        "<main id=\"main\"><noscript>This report draws its tables and charts with JavaScript, "
        "which is embedded in the file (no network needed); enable it to see them.</noscript></main>\n"
        f"<footer>written by archsim {html.escape(__version__)}; self-contained: open it anywhere, offline</footer>\n"
        f"<script type=\"application/json\" id=\"archsim-data\">{embed_json(data)}</script>\n"
        f"<script>\n{js}</script>\n</body>\n</html>\n")


# ----------------------------------------------------------------------------- folders

def folder_kind(d) -> str:
    """'sweep', 'reproduce' or 'run', from the files in the folder; ConfigError otherwise."""
    d = Path(d)
    if not d.is_dir():
        raise ConfigError(d, "<dir>", "not a folder; expected a run folder (report.json), a sweep "
                          "folder (sweep.sqlite) or a reproduction folder (reproduce.json)")
    if (d / "sweep.sqlite").is_file():
        return "sweep"
    if (d / REPRODUCE_JSON).is_file():
        return "reproduce"
    if (d / "report.json").is_file():
        return "run"
    raise ConfigError(d, "<dir>", "no report.json, sweep.sqlite or reproduce.json here; expected a "
                      "folder written by 'archsim run --out', 'archsim sweep --out' or "
                      "'archsim reproduce --out'")


def write_page(data: Mapping[str, Any], path, *, title: str, subtitle: str = "") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(data, title=title, subtitle=subtitle), encoding="utf-8")
    return path


def write_html(d, out=None) -> Path:
    """Write DIR/report.html (or `out`) for a run or reproduction folder; returns its path.
    (Sweep folders: archsim.sweep.html.write_sweep_html, as the sweep package reads its store.)"""
    d = Path(d)
    kind = folder_kind(d)
    if kind == "sweep":
        raise ConfigError(d, "<dir>", "a sweep folder: its page is written by archsim.sweep.html."
                          "write_sweep_html (archsim report DIR --html)")
    if kind == "reproduce":
        data = reproduce_data(d)
        title = f"archsim reproduction: {data['study']}"
        sub = f"{len(data['rows'])} quantities, folder {d}"
    else:
        data = run_data(d)
        title = f"archsim run: {data['workload']} on {data['arch']}"
        sub = f"folder {d}" + (f"; baseline {data['baseline']['arch']}" if data.get("baseline") else "")
    return write_page(data, Path(out) if out else d / HTML_NAME, title=title, subtitle=sub)


def _read_json(p: Path, what: str):
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(p, "<file>", f"file not found ({what})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(p, "<syntax>", f"not valid JSON ({what}): {exc}") from None


def _num(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)) and math.isfinite(v):
        return v
    return None


# ----------------------------------------------------------------------------- run

_SUMMARY = (("latency_s", "latency", "s", "speedup"), ("energy_j", "energy", "J", "energy gain"),
            ("avg_power_w", "average power", "W", "baseline \u00f7 this"),
            ("peak_power_w", "peak power", "W", "baseline \u00f7 this"),
            ("area_mm2", "area", "mm\u00b2", "baseline \u00f7 this"),
            ("leakage_power_w", "leakage power", "W", "baseline \u00f7 this"),
            ("cycles", "cycles", "", "baseline \u00f7 this"),
            ("dram_bytes", "DRAM traffic", "bytes", "baseline \u00f7 this"))


def load_run(d) -> tuple[dict, dict | None]:
    """(report.json, manifest.json or None) of a run folder."""
    d = Path(d)
    rep = _read_json(d / "report.json", "the Report written by archsim run --out")
    if not isinstance(rep, Mapping) or not isinstance(rep.get("ops"), list):
        raise ConfigError(d / "report.json", "ops", "expected an archsim Report (an object with an ops list)")
    man = None
    if (d / "manifest.json").is_file():
        man = _read_json(d / "manifest.json", "the run's manifest")
    return rep, man


def _summary(rep: Mapping) -> list[dict]:
    tot = rep.get("totals") or {}
    base = (rep.get("baseline") or {}).get("totals") or {}
    budget = rep.get("budget") or {}
    out = []
    for key, label, unit, ratio_label in _SUMMARY:
        v = _num(tot.get(key))
        if v is None:
            continue
        m = {"key": key, "label": label, "value": v, "unit": unit}
        b = _num(base.get(key))
        if b is not None:
            m["baseline"] = b
            m["ratio"] = b / v if v else None
            m["ratio_label"] = ratio_label
        limit = None
        if key == "area_mm2":
            limit = _num(budget.get("area_mm2"))
        elif key in ("avg_power_w", "peak_power_w"):
            limit = _num(budget.get("power_w"))
        if limit is not None:
            m["limit"] = limit
            m["within"] = v <= limit
        out.append(m)
    return out


def _timeline_csv(d: Path) -> dict[int, dict]:
    """Per-op rows of timeline.csv (name,op,component,resource,start_s,end_s,critical), by order."""
    p = d / TIMELINE_CSV
    if not p.is_file():
        return {}
    out = {}
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            for i, row in enumerate(csv.DictReader(fh)):
                r = dict(row)
                for k in ("start_s", "end_s"):
                    try:
                        r[k] = float(r[k])
                    except (KeyError, TypeError, ValueError):
                        r.pop(k, None)
                r["critical"] = str(r.get("critical", "")).strip().lower() in ("1", "true", "yes")
                out[i] = r
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise ConfigError(p, "<file>", f"cannot read the timeline CSV: {exc}") from None
    return out


def _ops_table(ops: Sequence[Mapping], has_timeline: bool, has_baseline: bool) -> dict:
    cols = ["#", "name", "op", "component"]
    if any(o.get("resource") for o in ops):
        cols.append("resource")
    if has_timeline:
        cols += ["start_s", "end_s"]
    cols += ["latency_s", "cycles", "energy_j", "flops", "dram_bytes", "intensity_flop_per_byte",
             "achieved_flop_s", "bound"]
    if has_baseline:
        cols += ["baseline_latency_s", "speedup", "energy_gain"]
    if has_timeline and any("critical" in o for o in ops):
        cols.append("critical")
    rows = []
    for i, o in enumerate(ops):
        fl, db, lat = _num(o.get("flops")), _num(o.get("dram_bytes")), _num(o.get("latency_s"))
        derived = {"#": i, "intensity_flop_per_byte": fl / db if fl and db else None,
                   "achieved_flop_s": fl / lat if fl and lat else None}
        rows.append([derived[c] if c in derived else o.get(c) for c in cols])
    numeric = [c for c in cols if c not in ("name", "op", "component", "resource", "bound", "critical")]
    return {"columns": cols, "rows": rows, "numeric": numeric}


def _gantt(rep: Mapping, ops: Sequence[Mapping]) -> dict:
    tl = rep.get("timeline") if isinstance(rep.get("timeline"), Mapping) else None
    timed = bool(ops) and all(_num(o.get("start_s")) is not None and _num(o.get("end_s")) is not None for o in ops)
    bars, lanes = [], []
    if timed:
        crit_names = set((tl or {}).get("critical_path") or [])
        res_info = {r.get("name"): r for r in (tl or {}).get("resources") or [] if isinstance(r, Mapping)}
        order = list(res_info)
        for o in ops:
            r = o.get("resource") or o.get("component") or "?"
            if r not in order:
                order.append(r)
        index = {r: k for k, r in enumerate(order)}
        makespan = _num((tl or {}).get("makespan_s")) or max(o["end_s"] for o in ops)
        for r in order:
            info = res_info.get(r, {})
            busy = _num(info.get("busy_s"))
            if busy is None:
                busy = sum(o["end_s"] - o["start_s"] for o in ops if (o.get("resource") or o.get("component")) == r)
            util = _num(info.get("utilization"))
            if util is None and makespan:
                util = busy / makespan
            lanes.append({"name": r, "busy_s": busy, "utilization": util,
                          "label": f"{r} ({util * 100:.3g} %)" if util is not None else r})
        for i, o in enumerate(ops):
            crit = bool(o.get("critical")) or (o.get("name") in crit_names)
            bars.append({"lane": index[o.get("resource") or o.get("component") or "?"], "start_s": o["start_s"],
                         "end_s": o["end_s"], "op": i, "name": o.get("name"), "kind": o.get("op"),
                         "component": o.get("component"), "critical": crit})
        note = ("From the engine's timeline: one lane per resource (utilisation = busy time / makespan); "
                "ops on the critical path have a red outline. Hover a bar for the op, click it to open its row.")
        return {"source": "timeline", "lanes": lanes, "bars": bars, "makespan_s": makespan,
                "critical_path": list((tl or {}).get("critical_path") or []),
                "has_critical": any(b["critical"] for b in bars), "note": note}
    # serial fallback: ops back to back in trace order, one lane per component
    order = list(dict.fromkeys(o.get("component") or "?" for o in ops))
    index = {c: k for k, c in enumerate(order)}
    t = 0.0
    for i, o in enumerate(ops):
        lat = _num(o.get("latency_s")) or 0.0
        bars.append({"lane": index[o.get("component") or "?"], "start_s": t, "end_s": t + lat, "op": i,
                     "name": o.get("name"), "kind": o.get("op"), "component": o.get("component"),
                     "critical": False})
        t += lat
    for c in order:
        busy = sum(b["end_s"] - b["start_s"] for b in bars if b["component"] == c)
        util = busy / t if t else None
        lanes.append({"name": c, "busy_s": busy, "utilization": util,
                      "label": f"{c} ({util * 100:.3g} %)" if util is not None else c})
    note = ("Serial schedule: this report.json has no timeline (no start_s / end_s per op), so the "
            "ops are drawn back to back by their latency_s, one lane per component, as the serial "
            "engine adds them. Every op is then on the critical path.")
    return {"source": "serial", "lanes": lanes, "bars": bars, "makespan_s": t, "critical_path": [],
            "has_critical": False, "note": note}


def _roofline(rep: Mapping, ops: Sequence[Mapping]) -> dict:
    pts, skipped = [], 0
    for i, o in enumerate(ops):
        fl, db, lat = _num(o.get("flops")), _num(o.get("dram_bytes")), _num(o.get("latency_s"))
        if not fl or not db or not lat:
            skipped += 1
            continue
        pts.append([fl / db, fl / lat, i, str(o.get("bound") or "?")])
    roofs = []
    given = rep.get("roofline")
    if isinstance(given, Mapping):
        given = [given]
    for r in given or []:
        if isinstance(r, Mapping) and _num(r.get("peak_flop_s")) and _num(r.get("bandwidth_bytes_s")):
            roofs.append({"label": str(r.get("name") or "peak"), "peak_flop_s": r["peak_flop_s"],
                          "bandwidth_bytes_s": r["bandwidth_bytes_s"], "observed": False})
    if roofs:
        note = "Roofs from report.json (peak FLOP/s and DRAM bandwidth)."
    elif pts:
        peak = max(p[1] for p in pts)
        bw = max(ops[p[2]]["dram_bytes"] / ops[p[2]]["latency_s"] for p in pts)
        roofs = [{"label": "highest achieved (not the hardware peak)", "peak_flop_s": peak,
                  "bandwidth_bytes_s": bw, "observed": True}]
        note = ("report.json gives no peak rates, so the dashed roof is the highest FLOP/s and the "
                "highest DRAM bytes/s any op achieved: ops far below it left the most on the table.")
    else:
        note = ""
    return {"points": pts, "roofs": roofs, "skipped": skipped, "note": note}


def _energy(rep: Mapping) -> dict | None:
    from archsim.report.plots import MAX_BARS, op_energy_rows
    ops = rep.get("ops") or []
    if not any(o.get("energy_j") is not None for o in ops):
        return None
    labels, series = op_energy_rows(rep)
    top = max((sum(col) for col in zip(*series.values())), default=0.0)
    unit, scale = ("\u00b5J", 1e6) if top < 1e-2 else (("mJ", 1e3) if top < 10 else ("J", 1.0))
    return {"labels": labels, "series": {k: [v * scale for v in vals] for k, vals in series.items()},
            "unit": unit, "grouped": len(ops) > MAX_BARS}


def _component_parts(rep: Mapping, key: str) -> list[dict]:
    rows = []
    for c in rep.get("components") or []:
        br = ((c.get("breakdown") or {}).get(key)) or {}
        parts = {k: v for k, v in br.items() if _num(v)} if isinstance(br, Mapping) else {}
        if not parts and _num(c.get(key)):
            parts = {"total": c[key]}
        if parts:
            rows.append({"label": f"{c.get('name')} ({c.get('kind')})", "parts": parts})
    return rows


def _flat(prefix: str, v, out: list):
    if isinstance(v, Mapping):
        for k, x in v.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), x, out)
    elif isinstance(v, (list, tuple)):
        out.append([prefix, "; ".join(map(str, v)) if v else "-"])
    else:
        out.append([prefix, v])


def _provenance(rep: Mapping) -> dict:
    scalars, sources = [], []
    for label, r in (("", rep), ("baseline: ", rep.get("baseline") or {})):
        prov = r.get("provenance") or {}
        for k, v in prov.items():
            if k == "sources" and isinstance(v, Mapping):
                sources += [[f"{label}{sk}", str(sv)] for sk, sv in sorted(v.items())]
            else:
                tmp: list = []
                _flat(k, v, tmp)
                scalars += [[f"{label}{a}", b] for a, b in tmp]
    return {"scalars": scalars, "sources": sources}


def _manifest(man: Mapping | None) -> dict | None:
    if not isinstance(man, Mapping):
        return None
    fields = []
    for k, v in man.items():
        if k in ("inputs", "rerun"):
            continue
        _flat(k, v, fields)
    inputs = [[k, (v or {}).get("copy"), (v or {}).get("sha256")]
              for k, v in (man.get("inputs") or {}).items() if isinstance(v, Mapping)]
    return {"rerun": man.get("rerun"), "fields": fields, "inputs": inputs}


def _power_limit(rep: Mapping, d: Path) -> tuple[float | None, str]:
    """The budget's power_w; else, for a GPU arch, its TDP. (A TDP found in the input copies
    of an accelerator run is the baseline GPU's, not a limit of this design.)"""
    b = _num((rep.get("budget") or {}).get("power_w"))
    if b is not None:
        return b, "budget power_w"
    if any(c.get("kind") == "gpu" for c in rep.get("components") or []):
        from archsim.report.plots import power_limit
        return power_limit(rep, d)
    return None, ""


def run_data(d) -> dict:
    """The data the run page draws, from DIR/report.json (+ manifest.json, timeline.csv)."""
    d = Path(d)
    rep, man = load_run(d)
    ops = [dict(o) for o in rep.get("ops") or []]
    tcsv = _timeline_csv(d)
    if tcsv and not all("start_s" in o for o in ops) and len(tcsv) == len(ops):
        for i, o in enumerate(ops):          # timeline.csv fills what report.json lacks
            for k in ("resource", "start_s", "end_s", "critical"):
                if k not in o and k in tcsv[i]:
                    o[k] = tcsv[i][k]
    gantt = _gantt(rep, ops)
    limit, limit_label = _power_limit(rep, d)
    tot = rep.get("totals") or {}
    conv = ((rep.get("provenance") or {}).get("conventions") or {}).get("power_trace")
    power = {"segs": [[p.get("t_start_s"), p.get("t_end_s"), p.get("power_w"), p.get("op", ""),
                       p.get("active_ops", 1)]
                      for p in rep.get("power_trace") or [] if isinstance(p, Mapping)],
             "avg_w": _num(tot.get("avg_power_w")), "limit_w": limit, "limit_label": limit_label,
             "note": "Power over the run" + (f" ({conv})" if isinstance(conv, str) else "")
                     + "; the dashed line is the average, the red line the budget or TDP when there is one."}
    base = rep.get("baseline")
    return {
        "kind": "run", "arch": rep.get("arch"), "workload": rep.get("workload"),
        "archsim_version": rep.get("archsim_version"),
        "summary": _summary(rep), "totals": tot,
        "budget": rep.get("budget") if isinstance(rep.get("budget"), Mapping) else None,
        "baseline": {"arch": base.get("arch"), "totals": base.get("totals")} if isinstance(base, Mapping) else None,
        "speedup": rep.get("speedup"), "energy_gain": rep.get("energy_gain"),
        "warnings": list((rep.get("provenance") or {}).get("warnings") or []),
        "ops": _ops_table(ops, gantt["source"] == "timeline", isinstance(base, Mapping)),
        "gantt": gantt, "energy": _energy(rep),
        "energy_components": _component_parts(rep, "energy_j"), "area": _component_parts(rep, "area_mm2"),
        "power": power, "roofline": _roofline(rep, ops), "provenance": _provenance(rep),
        "manifest": _manifest(man),
    }


# ----------------------------------------------------------------------------- reproduction

def _agreement(ratio) -> str:
    if ratio is None or ratio <= 0:
        return ""
    off = max(ratio, 1.0 / ratio)
    return "good" if off <= 1.10 else ("fair" if off <= 1.50 else "poor")


def reproduce_data(d) -> dict:
    """The data the reproduction page draws, from DIR/reproduce.json (rows, notes, plots)."""
    d = Path(d)
    p = d / REPRODUCE_JSON
    doc = _read_json(p, "written by archsim reproduce --out")
    rows_in = doc.get("rows") if isinstance(doc, Mapping) else doc
    if not isinstance(rows_in, list) or not all(isinstance(r, Mapping) for r in rows_in):
        raise ConfigError(p, "rows", "expected a list of rows {study, quantity, unit, value, paper_value, params}")
    study = (doc.get("study") if isinstance(doc, Mapping) else None) or (rows_in[0].get("study") if rows_in else d.name)
    cols = ["quantity", "params", "unit", "paper", "archsim", "ratio", "assumptions"]
    rows, agree = [], []
    ordered = sorted(rows_in, key=lambda r: r.get("paper_value") is None)      # paired rows first
    for r in ordered:
        params = dict(r.get("params") or {})
        assumptions = params.pop("assumptions", "")
        v, pv = _num(r.get("value")), _num(r.get("paper_value"))
        ratio = v / pv if v is not None and pv else None
        rows.append([r.get("quantity"), " ".join(f"{k}={x}" for k, x in params.items()), r.get("unit", ""),
                     pv, v, ratio, assumptions])
        agree.append(_agreement(ratio))
    notes = [str(n) for n in (doc.get("notes") or [])] if isinstance(doc, Mapping) else []
    plots = []
    names = [Path(x).name for x in (doc.get("plots") or [])] if isinstance(doc, Mapping) else []
    names = names or sorted(x.name for x in d.glob("*.png"))
    for name in names:
        f = d / name
        if f.suffix.lower() != ".png" or not f.is_file():
            continue
        if f.stat().st_size > MAX_PLOT_BYTES:
            notes.append(f"plot {name} not embedded ({f.stat().st_size / 2**20:.1f} MiB); it is in the folder")
            continue
        plots.append({"name": name, "src": "data:image/png;base64," + base64.b64encode(f.read_bytes()).decode()})
    counts = {"paired": sum(1 for a in agree if a), "good": agree.count("good"), "fair": agree.count("fair"),
              "poor": agree.count("poor")}
    return {"kind": "reproduce", "study": study, "columns": cols, "rows": rows, "agree": agree,
            "counts": counts, "notes": notes, "plots": plots}


def write_reproduce_folder(out_dir, study: str, rows, notes, plots) -> Path:
    """DIR/reproduce.json: what `archsim report DIR --html` needs to draw a reproduction."""
    p = Path(out_dir) / REPRODUCE_JSON
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps({"study": study, "rows": list(rows), "notes": [str(n) for n in notes],
                             "plots": [str(x) for x in plots]}, indent=1))
    return p
