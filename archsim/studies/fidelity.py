"""The validation suite (`archsim validate-model`): every reference figure archsim can be checked
against, one table of reference / archsim / ratio / within tolerance, grouped by block.

Groups and what they compare (the numbers come from the same code `archsim run` / `reproduce`
use):

- `systolic.scalesim`: archsim's SCALE-Sim compatibility mode against SCALE-Sim 3.0.0's own
  golden reports (tests/data/scalesim/golden; the bar is exact: tolerance 1).
- `gpu.<kind>`: the GPU model (arch_configs/gpu/h200.toml, boost-clock kernel times: how the
  measurements were taken) against every H200 kernel timing in benchmarks/gpu/measurements/
  (fit and held-out alike; `kind` says which).
- `gpu.sustained`: board power, SM clock, throughput and energy per call of the sustained loads
  at the 700 W cap (run 1), against the power-capped clock model (`power_cap.mode =
  "sustained"`; nothing fitted to them).
- `gpu.energy`: dynamic energy per call of the duty-cycled loads (run 3): these fitted the
  energy coefficients (`fitted`).
- `ngpc.paper`, `vrex.paper`, `vrex.resv`: every row of `archsim reproduce ngpc|vrex` that has
  a paper value, both preset sets (`assumptions`); rows fitted to their paper value are listed
  and marked `fitted`, never counted as predictions.
- `published.<chip>`: the area / power calibration set (archsim/studies/published_blocks.py).

`quick` (what CI runs, tests/test_validation.py): the NGPC study with small batches and the
V-Rex study with small ReSV runs; everything else in full.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import attrs

REPO = Path(__file__).resolve().parents[2]
MEAS = REPO / "benchmarks" / "gpu" / "measurements"
SCALESIM = REPO / "tests" / "data" / "scalesim"
GPU_TOL = (1 / 1.3, 1.3)           # kernel timings: within 30 %
SUSTAINED_TOL = (1 / 1.15, 1.15)   # sustained power / clock / throughput: within 15 %
PAPER_TOL = (0.8, 1.25)            # paper figures: within 25 %
EXACT = (1 - 1e-9, 1 + 1e-9)


@attrs.frozen(kw_only=True)
class Check:
    group: str
    id: str
    quantity: str
    unit: str
    reference: float
    archsim: float
    tolerance: tuple[float, float]
    basis: str = "prediction"          # prediction | fitted | exact
    source: str = ""
    note: str = ""

    @property
    def ratio(self) -> float:
        if self.reference == 0:
            return 1.0 if self.archsim == 0 else math.inf
        return self.archsim / self.reference

    @property
    def within(self) -> bool:
        r = self.ratio
        return math.isfinite(r) and self.tolerance[0] <= r <= self.tolerance[1]

    def to_dict(self) -> dict:
        d = attrs.asdict(self)
        d.update(ratio=self.ratio, within=self.within, tolerance=list(self.tolerance))
        return d


# ----------------------------------------------------------------------------- SCALE-Sim

SCALESIM_CASES = {"calc": ("scale.cfg", "alexnet_part.csv"),
                  "user_os": ("scale_user_os.cfg", "test_mnk_input.csv"),
                  "user_ws": ("scale_user_ws.cfg", "test_mnk_input.csv"),
                  "user_is": ("scale_user_is.cfg", "test_mnk_input.csv")}


def scalesim_checks() -> list[Check]:
    import csv
    import io
    import tempfile

    from archsim.scalesim_compat import run_scalesim, write_reports
    out = []
    for case, (cfg, topo) in SCALESIM_CASES.items():
        reports = run_scalesim(SCALESIM / cfg, SCALESIM / topo)
        with tempfile.TemporaryDirectory() as d:
            write_reports(reports, Path(d))
            for fname in ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"):
                ours = list(csv.reader(io.StringIO((Path(d) / fname).read_text())))
                gold = list(csv.reader(io.StringIO((SCALESIM / "golden" / case / fname).read_text())))
                header = [h.strip() for h in gold[0]]
                for i, (g, o) in enumerate(zip(gold[1:], ours[1:])):
                    for j, h in enumerate(header):
                        if not h or h == "LayerID" or j >= len(g) or not g[j].strip():
                            continue
                        try:
                            ref, val = float(g[j]), float(o[j])
                        except ValueError:
                            continue
                        out.append(Check(group="systolic.scalesim", id=f"{case}/{fname[:-4]}/{g[0].strip()}/{h}",
                                         quantity=h, unit="", reference=ref, archsim=val, tolerance=EXACT,
                                         basis="exact", source=f"SCALE-Sim 3.0.0 golden report {case}/{fname}"))
    return out


# ----------------------------------------------------------------------------- GPU

def gpu_kernel_checks() -> list[Check]:
    from archsim.blocks.gpu import calibrate as C
    from archsim.config.arch import load_arch
    from archsim.workloads.ops import op_to_dict
    spec = load_arch(REPO / "arch_configs" / "gpu" / "h200.toml").components["gpu"]
    files = sorted(MEAS.glob("h200-*.json"))
    rows = C.residuals(spec, C.load_records(files, spec.calibration.split))
    out = []
    for r in rows:
        d = {k: v for k, v in op_to_dict(r["op"]).items() if k not in ("name", "repeat")}
        basis = "workload" if r.get("family") == "workload" else ("held-out" if r["heldout"] else "fitted")
        out.append(Check(group=f"gpu.{r['kind']}", id=json.dumps(d, sort_keys=True), quantity="kernel_time_s",
                         unit="s", reference=r["measured_s"], archsim=r["predicted_s"], tolerance=GPU_TOL,
                         basis="prediction" if basis != "fitted" else "fitted",
                         source="H200 measurements (benchmarks/gpu/measurements, CUDA events, L2 cold)",
                         note=basis))
    return out


def _op(raw: dict):
    from archsim.workloads.ops import parse_op
    return parse_op(dict(raw), file=MEAS, key="op")


#: Sustained loads at the power cap: (group, preset, measurement files). The H200's run 1
#: (measure.py's power section: energy counter, median clock over the load) and the H100's runs
#: a / a2 (measure_llm.py's power_clock section: steady-state means after the settle time).
SUSTAINED = (("gpu.sustained", "h200.toml", ("h200-2026-11-30-run1.json",)),
             ("gpu.sustained.h100", "h100-sxm.toml", ("h100-2026-12-07-run-a.json", "h100-2026-12-07-run-a2.json")))


def gpu_sustained_checks() -> list[Check]:
    """Sustained loads at the 700 W cap against the power-capped clock model (each GPU with its
    own preset and calibration; nothing fitted to these loads)."""
    from archsim.blocks.gpu.model import evaluate
    from archsim.config.arch import load_arch
    out = []
    for group, preset, files in SUSTAINED:
        spec = load_arch(REPO / "arch_configs" / "gpu" / preset).components["gpu"]
        for fname in files:
            path = MEAS / fname
            if path.is_file():
                out += _sustained(group, spec, path, evaluate)
    return out


def _sustained(group, spec, path, evaluate) -> list[Check]:
    data = json.loads(path.read_text())
    src = (f"{spec.device_name} sustained loads at the {spec.tdp_w:g} W cap ({path.name}: NVML power, SM clock, "
           "achieved rate)")
    out = []
    tag = path.stem.split("-")[-1]
    for name, ld in (data.get("power", {}).get("loads") or {}).items():
        t_meas = ld.get("steady_time_per_call_s") or ld.get("time_per_call_s") if isinstance(ld, dict) else None
        if not isinstance(ld, dict) or "op" not in ld or not t_meas:
            continue
        op = _op(ld["op"])
        r = evaluate(spec, op)
        p_meas = ld.get("mean_steady_power_w") or ld.get("energy_counter_power_w") or ld["mean_power_w"]
        clk = ld.get("mean_steady_sm_mhz") or ld.get("median_sm_clock_mhz")
        name = f"{name}@{tag}" if group != "gpu.sustained" else name
        out += [
            Check(group=group, id=f"{name}/power_w", quantity="board_power_w", unit="W",
                  reference=p_meas, archsim=r.energy_j / r.latency_s, tolerance=SUSTAINED_TOL, source=src),
            Check(group=group, id=f"{name}/sm_clock_ghz", quantity="sm_clock_ghz", unit="GHz",
                  reference=clk / 1e3, archsim=r.details["sm_clock_ghz"], tolerance=SUSTAINED_TOL, source=src),
            Check(group=group, id=f"{name}/time_per_call_s", quantity="time_per_call_s", unit="s",
                  reference=t_meas, archsim=r.latency_s, tolerance=SUSTAINED_TOL, source=src),
            Check(group=group, id=f"{name}/energy_per_call_j", quantity="energy_per_call_j", unit="J",
                  reference=p_meas * t_meas, archsim=r.energy_j, tolerance=SUSTAINED_TOL, source=src,
                  note="measured: board power x time per call"),
        ]
    return out


ATTN_IMPL = {"sdpa:default": "default", "sdpa:flash": "flash", "sdpa:efficient": "efficient",
             "sdpa:cudnn": "cudnn", "sdpa:math": "math", "flash_attn.flash_attn_func": "flash_attn"}
ATTN_GQA = {"gqa_native": "native", "gqa_expanded": "expanded", "gqa_expand_per_call": "expand_per_call"}


def gpu_attn_impl_checks() -> list[Check]:
    """Every attention implementation x GQA mode the H100 runs measured (device time, L2 cold,
    dispatch hidden) against the model with `kernels.attention` / `kernels.gqa` set to it, on
    the H100 preset. The fused implementations' rates were fitted on these records (median
    ratio: `fitted`); the math path and the GQA expansions are modelled, not fitted."""
    from archsim.blocks.gpu.model import predict
    from archsim.config.arch import load_arch
    out = []
    specs: dict = {}
    for path in sorted(MEAS.glob("h100-2026-12-07-run-*.json")):
        data = json.loads(path.read_text())
        for i, r in enumerate(data.get("results", [])):
            if r.get("section") != "attn_impl" or not r.get("times_s") or r.get("error") or r.get("skipped"):
                continue
            impl, gqa = ATTN_IMPL.get(r.get("impl")), ATTN_GQA.get(r.get("variant"))
            if impl is None or gqa is None:
                continue
            if (impl, gqa) not in specs:
                specs[(impl, gqa)] = load_arch(REPO / "arch_configs" / "gpu" / "h100-sxm.toml", {
                    "components.gpu.kernels.attention": impl, "components.gpu.kernels.gqa": gqa}).components["gpu"]
            p = predict(specs[(impl, gqa)], _op(r["op"]))
            d = {k: v for k, v in r["op"].items() if k not in ("name", "repeat", "op")}
            fitted = impl in ("flash", "efficient", "cudnn") and gqa == "native"
            # kernels.attn_cta_stream_gb_s: fitted on run a's memory-efficient decode, <= 64 CTAs
            o = r["op"]
            fitted = fitted or (impl == "efficient" and path.stem.endswith("run-a") and o.get("q_len") == 1
                                and o.get("batch", 1) * o.get("heads", 1) <= 64)
            out.append(Check(group=f"gpu.attn_impl.{impl}", id=f"{gqa} {json.dumps(d, sort_keys=True)} {path.stem[-2:]}#{i}",
                             quantity="kernel_time_s", unit="s", reference=r["times_s"]["median"],
                             archsim=p.latency_s, tolerance=GPU_TOL, basis="fitted" if fitted else "prediction",
                             source=f"H100 attention implementations ({path.name}, section attn_impl: device time, "
                                    "L2 cold, dispatch hidden)", note=f"gqa {gqa}"))
    return out


def gpu_energy_checks() -> list[Check]:
    """Duty-cycled loads (run 3): dynamic energy per call (these fitted the energy coefficients)."""
    from archsim.blocks.gpu.model import predict
    from archsim.config.arch import load_arch
    spec = load_arch(REPO / "arch_configs" / "gpu" / "h200.toml").components["gpu"]
    data = json.loads((MEAS / "h200-2026-11-30-run3.json").read_text())
    out = []
    for name, ld in (data.get("power", {}).get("duty") or {}).items():
        if "op" not in ld or not ld.get("dynamic_energy_per_call_j"):
            continue
        p = predict(spec, _op(ld["op"]))
        on, dram = p.dynamic_parts(spec)
        out.append(Check(group="gpu.energy", id=f"{name}/dynamic_energy_per_call_j", quantity="dynamic_energy_j",
                         unit="J", reference=ld["dynamic_energy_per_call_j"], archsim=on + dram,
                         tolerance=SUSTAINED_TOL, basis="fitted",
                         source="H200 duty-cycled loads (h200-2026-11-30-run3.json), the energy fit's data"))
    return out


# ----------------------------------------------------------------------------- papers

def paper_checks(rows_by_study: dict) -> list[Check]:
    out = []
    for study, rows in rows_by_study.items():
        for r in rows:
            if r.get("paper_value") is None or r.get("value") is None:
                continue
            p = r["params"]
            group = f"{study}.resv" if p.get("source") == "synthetic" else f"{study}.paper"
            key = ",".join(f"{k}={v}" for k, v in sorted(p.items()) if k != "fitted")
            out.append(Check(group=group, id=f"{r['quantity']}[{key}]", quantity=r["quantity"],
                             unit=r.get("unit", ""), reference=r["paper_value"], archsim=r["value"],
                             tolerance=PAPER_TOL, basis="fitted" if p.get("fitted") else "prediction",
                             source=f"papers/{study}.md via archsim reproduce {study}",
                             note=f"assumptions={p.get('assumptions', 'default')}"))
    return out


def study_rows(study: str, quick: bool, out_dir: Path) -> list[dict]:
    """The study's rows (`archsim reproduce`); quick: NGPC with small batches, V-Rex only its
    calibration anchors (edge, batch 1: frame latency, FPS, TPOT) with small ReSV runs."""
    import importlib
    mod = importlib.import_module(f"archsim.studies.{study}")
    if study == "ngpc":
        return mod.run(out_dir / "ngpc", quick=quick).rows
    if not quick:
        return mod.run(out_dir / "vrex").rows
    return vrex_anchor_rows(out_dir / "vrex")


def vrex_anchor_rows(out_dir: Path) -> list[dict]:
    """V-Rex8 frame latency, FPS and TPOT at batch 1 against Fig. 13(a), both preset sets, on
    small ReSV runs (the rows `reproduce vrex` writes for them, computed the same way)."""
    from archsim.studies import vrex as V
    from archsim.studies.common import row
    out_dir.mkdir(parents=True, exist_ok=True)
    stats = V._resv_stats(out_dir, True)
    rows = []
    for a in V.ASSUMPTIONS:
        c = V.load_context(a)["edge"]
        for L in V.KV_LENS:
            p = V._params(c, stats, L, 1, "vrex")
            fr = V.step(c["va"], p, "frame").latency_s
            an = V.step(c["va"], p, "answer").latency_s
            kw = {"system": "edge", "batch": 1, "kv_len": L, "assumptions": a}
            pf, pt = V.PAPER_FRAME_MS[L], V.PAPER_TPOT_MS.get(L)
            rows.append(row("vrex", "frame_latency_s", "s", fr, pf / 1e3, **kw))
            rows.append(row("vrex", "fps", "1/s", 1.0 / fr, 1e3 / pf, **kw))
            rows.append(row("vrex", "tpot_s", "s", an, pt / 1e3 if pt else None, **kw))
    return rows


# ----------------------------------------------------------------------------- published

def published_checks() -> list[Check]:
    from archsim.studies import published_blocks as P
    out = []
    for c in P.checks():
        out.append(Check(group=f"published.{c.block}", id=f"{c.block}/{c.quantity}", quantity=c.quantity,
                         unit=c.unit, reference=c.reference, archsim=c.archsim, tolerance=c.tolerance,
                         basis="prediction" if c.independent else "not independent",
                         source=c.source, note=f"confidence {c.confidence}; {c.note}"))
    return out


# ----------------------------------------------------------------------------- suite

GROUP_ORDER = ("systolic", "gpu", "ngpc", "vrex", "published")


def run(*, quick: bool = False, out_dir=None, rows_by_study: dict | None = None,
        only: tuple[str, ...] = ()) -> list[Check]:
    """Every check. `rows_by_study` ({"ngpc": rows, "vrex": rows}) reuses reproduce output;
    missing studies are run (`quick`: small batches / ReSV runs). `only` keeps groups whose
    name starts with one of the given prefixes."""
    import tempfile
    import warnings

    def want(prefix):
        return not only or any(prefix.startswith(o) or o.startswith(prefix) for o in only)
    checks: list[Check] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if want("systolic"):
            checks += scalesim_checks()
        if want("gpu"):
            checks += gpu_kernel_checks() + gpu_sustained_checks() + gpu_energy_checks() + gpu_attn_impl_checks()
        studies = [s for s in ("ngpc", "vrex") if want(s)]
        if studies:
            rows = dict(rows_by_study or {})
            with tempfile.TemporaryDirectory() as tmp:
                base = Path(out_dir) if out_dir else Path(tmp)
                for s in studies:
                    if s not in rows:
                        rows[s] = study_rows(s, quick, base)
            checks += paper_checks({s: rows[s] for s in studies})
        if want("published"):
            checks += published_checks()
    if only:
        checks = [c for c in checks if any(c.group.startswith(o) for o in only)]
    return checks


def summary(checks: list[Check]) -> list[dict]:
    """Per group: checks, predictions, within tolerance (all / predictions), worst ratio (the
    prediction farthest from 1 in log terms)."""
    groups: dict[str, list[Check]] = {}
    for c in checks:
        groups.setdefault(c.group, []).append(c)
    out = []
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    for g in sorted(groups, key=lambda g: (order.get(g.split(".")[0], 99), g)):
        cs = groups[g]
        pred = [c for c in cs if c.basis in ("prediction", "exact")]
        worst = max(pred or cs, key=lambda c: abs(math.log(c.ratio)) if c.ratio > 0 and math.isfinite(c.ratio)
                    else math.inf)
        out.append({"group": g, "n": len(cs), "predictions": len(pred),
                    "within": sum(c.within for c in cs), "predictions_within": sum(c.within for c in pred),
                    "fitted": sum(c.basis == "fitted" for c in cs), "worst_ratio": worst.ratio,
                    "worst_id": worst.id})
    return out


def overall(checks: list[Check]) -> dict:
    pred = [c for c in checks if c.basis in ("prediction", "exact")]
    return {"n": len(checks), "predictions": len(pred), "predictions_within": sum(c.within for c in pred),
            "fitted": sum(c.basis == "fitted" for c in checks), "within": sum(c.within for c in checks)}


def markdown(checks: list[Check], *, title: str, detail_groups=("systolic", "gpu.sustained", "gpu.energy",
                                                                 "ngpc", "vrex", "published")) -> str:
    """The validation table as Markdown: the summary per group, then every check of the groups
    in `detail_groups` (the GPU kernel groups and SCALE-Sim fields are summarised only)."""
    lines = [f"# {title}", "",
             "Generated by `archsim validate-model --markdown docs/validation.md` (archsim/studies/fidelity.py). "
             "ratio = archsim / reference; a check is within tolerance when the ratio is inside the stated band. "
             "`fitted` = the value was fitted to this reference (not a prediction); `not independent` = the "
             "tech table was derived from the same number.", "",
             "## Summary", "",
             "| group | checks | predictions | within (predictions) | fitted | worst ratio (prediction) |",
             "|---|---:|---:|---:|---:|---:|"]
    for s in summary(checks):
        lines.append(f"| {s['group']} | {s['n']} | {s['predictions']} | {s['predictions_within']} / "
                     f"{s['predictions']} | {s['fitted']} | {s['worst_ratio']:.3g} |")
    o = overall(checks)
    lines += ["", f"**All: {o['n']} checks, {o['predictions']} predictions, {o['predictions_within']} within "
                  f"tolerance ({100 * o['predictions_within'] / max(o['predictions'], 1):.0f} %), {o['fitted']} "
                  "fitted.**", ""]
    for g in detail_groups:
        sel = [c for c in checks if c.group == g or c.group.startswith(g + ".")
               and not (c.group.startswith("systolic"))]
        if g == "systolic":
            continue
        if not sel:
            continue
        lines += [f"## {g}", "", "| check | reference | archsim | ratio | tolerance | within | basis | note |",
                  "|---|---:|---:|---:|---|:-:|---|---|"]
        for c in sel:
            lines.append(f"| {c.group}: {c.id} | {c.reference:.4g} {c.unit} | {c.archsim:.4g} | {c.ratio:.3f} | "
                         f"{c.tolerance[0]:.3g}-{c.tolerance[1]:.3g} | {'yes' if c.within else '**no**'} | "
                         f"{c.basis} | {c.note} |")
        lines.append("")
    srcs = sorted({c.source for c in checks if c.source})
    lines += ["## Sources", ""] + [f"- {s}" for s in srcs] + [""]
    return "\n".join(lines)


def regressions(checks: list[Check], baseline: dict) -> list[str]:
    """Checks of `baseline` ({id: {"group", "within", "ratio"}}, as `baseline_of` writes it)
    that regressed: were within tolerance and are not now, moved farther from 1 by more than 2 %
    of their log ratio (and 0.5 % absolute), or are gone."""
    now = {f"{c.group}|{c.id}": c for c in checks}
    bad = []
    for key, b in baseline.items():
        c = now.get(key)
        if c is None:
            bad.append(f"{key}: missing")
            continue
        if b["within"] and not c.within:
            bad.append(f"{key}: within tolerance before (ratio {b['ratio']:.4g}), now {c.ratio:.4g}")
            continue
        if b["ratio"] > 0 and c.ratio > 0 and math.isfinite(c.ratio):
            old, new = abs(math.log(b["ratio"])), abs(math.log(c.ratio))
            if new > old * 1.02 + 0.005:
                bad.append(f"{key}: ratio moved away from 1: {b['ratio']:.4g} -> {c.ratio:.4g}")
    return bad


def baseline_of(checks: list[Check]) -> dict:
    return {f"{c.group}|{c.id}": {"group": c.group, "within": c.within, "ratio": c.ratio} for c in checks}
