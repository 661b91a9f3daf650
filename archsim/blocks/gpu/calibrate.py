"""Fit the GPU model's efficiency parameters to measured kernel times, and its energy
coefficients to measured board energy (benchmarks/gpu/measure.py output).

- Records: every timed, L2-cold record whose op parses; duplicates (the same op measured in
  several runs) are merged by the median of their medians.
- Split (deterministic; the ops of the shipped workloads, section "workload", are never fitted
  and are reported apart): held out = every 4th distinct op of each op kind in file order
  (`every4th`, the default), or (`family`, a stricter check) the whole seeded random-shape
  family plus every 4th grid op; the rest is fitted.
- Fit: staged least squares on the soft-L1 of log(pred/measured), one stage per group of
  parameters and the op kinds they govern, each by a bounded Nelder-Mead in log-parameter
  space (numpy only; scipy is not a dependency).
- Energy: from the duty-cycled loads (dynamic energy per call below the power cap): L2 pJ/B
  from an L2-resident copy, DRAM pJ/B from a DRAM copy minus its L2 share, pJ/FLOP per dtype
  from GEMMs minus their memory share.
- Error bands: per op kind, p10 and p90 of measured/predicted - 1 over all its records.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Callable, Iterable, Sequence

import attrs
import numpy as np

from archsim.errors import ConfigError
from archsim.blocks.gpu.model import predict
from archsim.workloads.ops import parse_op


@attrs.frozen(kw_only=True)
class Record:
    op: object
    kind: str
    measured_s: float
    heldout: bool
    family: str                 # "grid" | "random"
    sources: tuple[str, ...]
    impl: str


def _int8_valid(meta: dict) -> bool:
    """int8 GEMMs before the column-major-B fix (runs without --gemm-dtypes) took cuBLASLt's
    slow non-IMMA path: not the GPU's int8 capability."""
    return "gemm_dtypes" in (meta.get("args") or {})


SPLITS = ("every4th", "family")

# measure_llm.py sections whose records are not single kernels of one archsim op (attention
# implementations, eager/graph timings, whole layers and steps): never fitted here
NOT_KERNEL_SECTIONS = frozenset({"attn_impl", "graph", "llm_layer", "llm_step", "llm_profile"})


def device_family(name: str) -> str:
    """'NVIDIA H100 80GB HBM3' -> 'h100', 'NVIDIA H200' -> 'h200', 'NVIDIA A100-SXM4-80GB' ->
    'a100', 'NVIDIA GeForce RTX 3090' -> 'rtx3090', 'NVIDIA L40S' -> 'l40s'; '' when no model
    number is found (Jetson Orin)."""
    up = (name or "").upper()
    m = re.search(r"RTX\s*(A?\d{4})", up)
    if m:
        return "rtx" + m.group(1).lower()
    m = re.search(r"(?<![A-Z0-9])([A-Z]{1,2}\d{2,3}[A-Z]?)(?![0-9A-Z])", up.replace("NVIDIA", ""))
    return m.group(1).lower() if m else ""


def measured_devices(paths: Sequence[Path]) -> list[str]:
    """Device names recorded in the measurement files' meta (measure.py: meta.device.name, else
    nvidia-smi's name); files without one are skipped."""
    names = []
    for path in paths:
        try:
            meta = json.loads(Path(path).read_text()).get("meta") or {}
        except (OSError, json.JSONDecodeError, AttributeError):
            continue
        name = (meta.get("device") or {}).get("name") or (meta.get("smi") or {}).get("name")
        if name and name not in names:
            names.append(name)
    return names


def check_device(spec, paths: Sequence[Path], preset="--preset") -> list[str]:
    """The measured devices, or ConfigError when any is another GPU than the preset's: a preset
    is fitted on its own GPU's measurements only (an H100 never inherits the H200's fit, nor
    the H200 the H100's)."""
    names = measured_devices(paths)
    want = device_family(spec.device_name)
    other = [n for n in names if want and device_family(n) and device_family(n) != want]
    if other:
        raise ConfigError(preset, "device", f"the measurements are from {', '.join(other)} but the "
                          f"preset is a {spec.device_name}: calibrate the preset of that GPU "
                          f"(or measure this one)")
    return names


def fragment_path(preset_path: Path, extends: Sequence[str], device_name: str) -> Path:
    """Where the calibration fragment of a preset's GPU goes: calibration/<family>.part beside
    the fragment the preset extends (h200.part for the H200, h100.part for the H100), so
    calibrating one GPU never overwrites another GPU's fit."""
    parts = [e for e in extends if str(e).endswith(".part")]
    if not parts:
        raise ConfigError(preset_path, "extends", "the preset extends no calibration fragment (*.part); "
                          "give --out FILE")
    fam = device_family(device_name)
    cur = (Path(preset_path).parent / parts[0]).resolve()
    if not fam:
        return cur
    return cur.parent / f"{fam}.part"


def load_records(paths: Sequence[Path], split: str = "every4th") -> list[Record]:
    """Timed, cold records of all files, merged by op, with the held-out flag:
    `every4th` = every 4th distinct op of each kind (grid and random family alike, file order);
    `family` = the whole random-shape family plus every 4th grid op of each kind."""
    if split not in SPLITS:
        raise ConfigError("--split", "split", f"got {split!r}; allowed values: " + ", ".join(SPLITS))
    by_key: dict[str, dict] = {}
    order: list[str] = []
    for path in paths:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(path, "<file>", f"cannot read measurements JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise ConfigError(path, "results", "expected benchmarks/gpu/measure.py output with a results list")
        meta = data.get("meta", {})
        for i, r in enumerate(data["results"]):
            if "times_s" not in r or r.get("variant", "cold") != "cold":
                continue
            if r.get("section") in NOT_KERNEL_SECTIONS or "op" not in r:
                continue
            raw = dict(r["op"])
            if raw.get("op") == "gemm" and raw.get("dtype") == "int8" and not _int8_valid(meta):
                continue
            op = parse_op(raw, file=path, key=f"results[{i}].op")
            key = json.dumps({k: v for k, v in sorted(raw.items()) if k not in ("name", "repeat")})
            if key not in by_key:
                sec = r.get("section")
                by_key[key] = {"op": op, "times": [], "sources": [], "family":
                               sec if sec in ("random", "workload") else "grid",
                               "impl": r.get("impl", "")}
                order.append(key)
            if r.get("section") == "workload" and by_key[key]["times"]:
                # a later file's workload record supersedes an earlier one (run 6 re-measured
                # run 5's attention ops after a harness fix)
                by_key[key]["times"], by_key[key]["sources"] = [], []
            by_key[key]["times"].append(float(r["times_s"]["median"]))
            by_key[key]["sources"].append(f"{path.name}#{i}")
    out = []
    seen_per_kind: dict[str, int] = {}
    for key in order:
        e = by_key[key]
        kind = e["op"].KIND
        if e["family"] == "workload" or (e["family"] == "random" and split == "family"):
            held = True          # the shipped workloads' ops: never fitted, reported apart
        else:
            n = seen_per_kind.get(kind, 0)
            seen_per_kind[kind] = n + 1
            held = n % 4 == 3
        out.append(Record(op=e["op"], kind=kind, measured_s=float(np.median(e["times"])),
                          heldout=held, family=e["family"], sources=tuple(e["sources"]),
                          impl=e["impl"]))
    return out


# ----------------------------------------------------------------------------- parameters

def get_param(spec, path: str) -> float:
    obj = spec
    for part in path.split("."):
        obj = getattr(obj, part)
    return float(obj)


def set_params(spec, values: dict[str, float]):
    """attrs.evolve along dotted paths, e.g. {"efficiency.gemm_fraction.bf16": 0.8}."""
    for path, v in values.items():
        parts = path.split(".")
        objs = [spec]
        for p in parts[:-1]:
            objs.append(getattr(objs[-1], p))
        new = attrs.evolve(objs[-1], **{parts[-1]: v})
        for obj, p in zip(reversed(objs[:-1]), reversed(parts[:-1])):
            new = attrs.evolve(obj, **{p: new})
        spec = new
    return spec


# (parameter path, lower bound, upper bound) per stage, and the op kinds each stage fits on.
STAGES: list[tuple[str, tuple[str, ...], list[tuple[str, float, float]]]] = [
    ("launch+dram", ("copy", "elementwise"), [
        ("launch_overhead_us", 0.5, 10.0), ("efficiency.dram_fraction", 0.5, 1.0),
        ("efficiency.dram_latency_us", 0.01, 10.0), ("efficiency.vector_fraction", 0.3, 1.2)]),
    ("gemm", ("gemm",), [
        ("efficiency.gemm_fraction.bf16", 0.2, 1.0), ("efficiency.gemm_fraction.fp16", 0.2, 1.0),
        ("efficiency.gemm_fraction.fp8", 0.1, 1.0), ("efficiency.gemm_fraction.int8", 0.05, 1.0),
        ("efficiency.gemm_fraction.tf32", 0.1, 1.0), ("efficiency.gemm_fraction.fp32", 0.1, 1.0),
        ("efficiency.gemm_unaligned_fraction.bf16", 0.02, 1.0),
        ("efficiency.gemm_unaligned_fraction.fp16", 0.02, 1.0),
        ("efficiency.gemm_unaligned_fraction.int8", 0.02, 1.0),
        ("efficiency.gemm_unaligned_fraction.tf32", 0.02, 1.0),
        ("efficiency.gemm_kstep_ns", 1.0, 2000.0), ("efficiency.gemm_unaligned_kstep_factor", 1.0, 50.0),
        ("efficiency.gemm_small_tile_exponent", 0.01, 2.0),
        ("efficiency.gemm_wave_overhead_us", 0.001, 5.0), ("efficiency.gemm_fixed_us", 0.01, 20.0),
        ("efficiency.gemm_streamk_overhead", 0.01, 10.0),
        ("efficiency.smoothmax_p", 1.0, 32.0)]),
    ("conv2d", ("conv2d",), [("efficiency.conv_fraction", 0.05, 1.5), ("efficiency.conv_fixed_us", 0.01, 50.0)]),
    ("mlp", ("mlp",), [
        ("efficiency.mlp_fused_fraction", 0.02, 1.2), ("efficiency.mlp_width_half", 1.0, 1024.0),
        ("efficiency.mlp_fused_fixed_us", 0.01, 20.0),
        ("efficiency.host_dispatch_us", 0.5, 30.0)]),
    ("attention", ("attention",), [
        ("efficiency.attn_fraction", 0.05, 1.2), ("efficiency.attn_head_dim_half", 1.0, 1024.0),
        ("efficiency.attn_bw_fraction", 0.1, 1.2), ("efficiency.attn_fixed_us", 0.01, 50.0),
        ("efficiency.attn_chunked_fraction", 0.05, 1.5)]),
    ("gather+hash", ("gather", "hash_encode"), [
        ("efficiency.gather_ns_per_row", 0.01, 10.0), ("efficiency.hash_ns_per_lookup", 1e-4, 1.0),
        ("efficiency.random_dram_fraction", 0.05, 1.2), ("efficiency.l2_fraction", 0.05, 3.0),
        ("efficiency.l2_effective_fraction", 0.1, 1.0)]),
    ("topk", ("topk",), [
        ("efficiency.topk_row_latency_us", 0.05, 100.0), ("efficiency.topk_latency_exponent", 0.01, 1.0),
        ("efficiency.topk_bw_fraction", 0.01, 1.2), ("efficiency.topk_row_us", 0.001, 100.0),
        ("efficiency.topk_row_exponent", 0.01, 1.5), ("efficiency.topk_sort_ns", 1e-4, 100.0),
        ("efficiency.topk_dtype_exponent", 0.01, 2.0)]),
    ("kv_retrieve", ("kv_retrieve", "mlp"), [("efficiency.kv_host_calls", 1.0, 100.0),
                                              ("efficiency.host_overlap", 0.01, 1.0)]),
]


def log_errors(spec, records: Iterable[Record]) -> np.ndarray:
    return np.array([math.log(predict(spec, r.op).latency_s / r.measured_s) for r in records])


def _loss(residuals: np.ndarray, delta: float = 0.15) -> float:
    """Soft-L1 (pseudo-Huber) of log errors: quadratic below `delta`, linear above."""
    return float(np.sum(delta**2 * (np.sqrt(1.0 + (residuals / delta) ** 2) - 1.0)))


def nelder_mead(f: Callable[[np.ndarray], float], x0: np.ndarray, *, step: float = 0.3,
                max_iter: int = 600, tol: float = 1e-7) -> tuple[np.ndarray, float]:
    """Minimise f from x0 (standard Nelder-Mead: reflection 1, expansion 2, contraction 0.5,
    shrink 0.5)."""
    n = len(x0)
    simplex = [np.array(x0, dtype=float)]
    for i in range(n):
        x = np.array(x0, dtype=float)
        x[i] += step
        simplex.append(x)
    vals = [f(x) for x in simplex]
    for _ in range(max_iter):
        idx = np.argsort(vals)
        simplex = [simplex[i] for i in idx]
        vals = [vals[i] for i in idx]
        if abs(vals[-1] - vals[0]) <= tol * (abs(vals[0]) + tol):
            break
        centroid = np.mean(simplex[:-1], axis=0)
        xr = centroid + (centroid - simplex[-1])
        fr = f(xr)
        if fr < vals[0]:
            xe = centroid + 2.0 * (centroid - simplex[-1])
            fe = f(xe)
            simplex[-1], vals[-1] = (xe, fe) if fe < fr else (xr, fr)
        elif fr < vals[-2]:
            simplex[-1], vals[-1] = xr, fr
        else:
            xc = centroid + 0.5 * (simplex[-1] - centroid)
            fc = f(xc)
            if fc < vals[-1]:
                simplex[-1], vals[-1] = xc, fc
            else:
                for i in range(1, len(simplex)):
                    simplex[i] = simplex[0] + 0.5 * (simplex[i] - simplex[0])
                    vals[i] = f(simplex[i])
    i = int(np.argmin(vals))
    return simplex[i], vals[i]


def fit_stage(spec, records: Sequence[Record], params: list[tuple[str, float, float]],
              *, restarts: int = 2):
    """Fit `params` (log-space, clipped to bounds) on `records`; returns (spec, loss)."""
    if not records:
        return spec, 0.0
    lo = np.log([p[1] for p in params])
    hi = np.log([p[2] for p in params])

    def build(z):
        zc = np.clip(z, lo, hi)
        return set_params(spec, {p[0]: float(min(p[2], max(p[1], np.exp(v)))) for p, v in zip(params, zc)})

    def f(z):
        try:
            s = build(z)
            pen = float(np.sum((z - np.clip(z, lo, hi)) ** 2))
            return _loss(log_errors(s, records)) + pen
        except (ValueError, ZeroDivisionError, OverflowError):
            return 1e30
    z = np.log(np.clip([get_param(spec, p[0]) for p in params], [p[1] for p in params],
                       [p[2] for p in params]))
    best = f(z)
    for _ in range(restarts):
        z, best = nelder_mead(f, z, step=0.3)
    return build(z), best


@attrs.frozen(kw_only=True)
class FitResult:
    spec: object
    records: tuple[Record, ...]
    stage_losses: dict
    energy: dict                # fitted energy coefficients and their check residuals


def fit(spec, records: Sequence[Record], *, stages=STAGES, restarts: int = 2) -> FitResult:
    """Staged fit of the latency parameters on the non-held-out records."""
    losses = {}
    for name, kinds, params in stages:
        rs = [r for r in records if r.kind in kinds and not r.heldout]
        spec, loss = fit_stage(spec, rs, params, restarts=restarts)
        losses[name] = loss
    return FitResult(spec=spec, records=tuple(records), stage_losses=losses, energy={})


# ----------------------------------------------------------------------------- energy

def fit_energy(spec, measurement_files: Sequence[Path]) -> tuple[object, dict]:
    """Energy coefficients from the duty-cycled power loads ("power" -> "duty")."""
    duty = {}
    for path in measurement_files:
        data = json.loads(Path(path).read_text())
        for name, rec in (data.get("power", {}).get("duty") or {}).items():
            if isinstance(rec, dict) and "dynamic_energy_per_call_j" in rec:
                duty[name] = rec
    if "copy_16mib" not in duty or "copy_1024mib" not in duty:
        return spec, {"skipped": "no duty-cycled copy loads in the measurements"}
    e_l2 = duty["copy_16mib"]["dynamic_energy_per_call_j"] / (2.0 * 2**24)       # J per L2 byte
    big = duty["copy_1024mib"]
    nbytes = 2.0 * 2**30
    e_dram = big["dynamic_energy_per_call_j"] / nbytes - e_l2                       # extra J per DRAM byte
    vals = {"energy.l2_pj_per_byte": e_l2 * 1e12, "energy.dram_pj_per_byte": e_dram * 1e12}
    report = {"l2_pj_per_byte": e_l2 * 1e12, "dram_pj_per_byte": e_dram * 1e12}
    for name, dt in (("gemm_bf16_8192", "bf16"), ("gemm_fp16_4096", "fp16"), ("gemm_fp8_8192", "fp8"),
                     ("gemm_tf32_8192", "tf32"), ("gemm_fp32_4096", "fp32")):
        rec = duty.get(name)
        if rec is None:
            continue
        mem = rec["dram_bytes_per_call"] * (e_l2 + e_dram)
        e = (rec["dynamic_energy_per_call_j"] - mem) / rec["flops_per_call"]
        vals[f"energy.pj_per_flop.{dt}"] = e * 1e12
        report[f"pj_per_flop_{dt}"] = e * 1e12
    if "energy.pj_per_flop.fp8" in vals:     # int8 not measured: the fp8 path's energy (same tensor-core width)
        vals["energy.pj_per_flop.int8"] = vals["energy.pj_per_flop.fp8"]
    spec = set_params(spec, vals)
    # random-lookup L2 bytes: what the hash-encoding load's dynamic energy leaves after its
    # FLOPs, streaming and DRAM bytes (one load: fitted, not validated)
    h = duty.get("hash_encode_2m_t22")
    if h is not None:
        op = parse_op(dict(h["op"]), file="duty", key="hash_encode_2m_t22")
        p = predict(spec, op)
        if p.l2_random_bytes > 0:
            s0 = set_params(spec, {"energy.l2_random_pj_per_byte": 0.0})
            e0, br0, _ = p.energy(s0)
            rest = h["dynamic_energy_per_call_j"] - (e0 - br0["static"])
            e_rand = max(0.0, rest / p.l2_random_bytes)
            spec = set_params(spec, {"energy.l2_random_pj_per_byte": e_rand * 1e12})
            report["l2_random_pj_per_byte"] = e_rand * 1e12
    # check: predicted vs measured dynamic energy per call for every duty load, and the board
    # energy of the sustained (power-capped) loads
    for name, rec in duty.items():
        op = parse_op(dict(rec["op"]), file="duty", key=name)
        p = predict(spec, op)
        e_tot, br, _ = p.energy(spec)
        dyn = e_tot - br["static"]
        report[f"check_dynamic_j_{name}"] = dyn
        report[f"measured_dynamic_j_{name}"] = rec["dynamic_energy_per_call_j"]
    for path in measurement_files:
        data = json.loads(Path(path).read_text())
        for name, rec in (data.get("power", {}).get("loads") or {}).items():
            if not isinstance(rec, dict) or "op" not in rec or "time_per_call_s" not in rec:
                continue
            op = parse_op(dict(rec["op"]), file="power", key=name)
            p = predict(spec, op)
            e_tot, _, capped = p.energy(spec)
            report[f"sustained_{name}_predicted_w"] = e_tot / p.latency_s
            report[f"sustained_{name}_measured_w"] = rec.get("energy_counter_power_w", rec.get("mean_power_w"))
    return spec, report


# ----------------------------------------------------------------------------- residuals

def residuals(spec, records: Sequence[Record]) -> list[dict]:
    out = []
    for r in records:
        pred = predict(spec, r.op).latency_s
        out.append({"kind": r.kind, "heldout": r.heldout, "family": r.family,
                    "measured_s": r.measured_s, "predicted_s": pred,
                    "rel_error": pred / r.measured_s - 1.0, "op": r.op, "sources": r.sources,
                    "impl": r.impl})
    return out


def summary(rows: Sequence[dict]) -> dict:
    """Median and p90 absolute relative error (of predicted vs measured), fit and held-out."""
    def stats(sel):
        a = np.abs([r["rel_error"] for r in sel])
        if len(a) == 0:
            return {"n": 0, "median_abs_error": None, "p90_abs_error": None}
        return {"n": int(len(a)), "median_abs_error": float(np.median(a)),
                "p90_abs_error": float(np.percentile(a, 90))}
    def held(r):
        return r["heldout"] and r.get("family") != "workload"
    out = {"fit": stats([r for r in rows if not r["heldout"]]),
           "heldout": stats([r for r in rows if held(r)]),
           "workload": stats([r for r in rows if r.get("family") == "workload"]), "per_kind": {}}
    for kind in sorted({r["kind"] for r in rows}):
        out["per_kind"][kind] = {
            "fit": stats([r for r in rows if r["kind"] == kind and not r["heldout"]]),
            "heldout": stats([r for r in rows if r["kind"] == kind and held(r)]),
            "workload": stats([r for r in rows if r["kind"] == kind and r.get("family") == "workload"])}
    return out


def error_bands(rows: Sequence[dict]) -> dict[str, list[float]]:
    """Per op kind: [p10, p90] of measured/predicted - 1 (so latency x (1 + band) brackets
    about 80 % of the measurements)."""
    bands = {}
    for kind in sorted({r["kind"] for r in rows}):
        x = np.array([r["measured_s"] / r["predicted_s"] - 1.0 for r in rows if r["kind"] == kind])
        bands[kind] = [round(float(np.percentile(x, 10)), 4), round(float(np.percentile(x, 90)), 4)]
    return bands


def calibration_tables(spec, fit_result: FitResult, rows: Sequence[dict], energy_report: dict,
                       files: Sequence[Path], date: str, split: str = "every4th",
                       measured_on: Sequence[str] = ()) -> dict:
    """The [components.gpu] tables to write into the calibration fragment."""
    eff = attrs.asdict(spec.efficiency)
    en = attrs.asdict(spec.energy)
    s = summary(rows)
    notes = ("int8 GEMMs measured through torch._int_mm (cuBLASLt IMMA, column-major B); "
             "attention through F.scaled_dot_product_attention; fused MLP and hash encoding "
             "through this project's Triton kernels (benchmarks/gpu/measure.py)")
    if measured_on:
        notes += "; measured on: " + ", ".join(measured_on)
    if "skipped" in energy_report:
        notes += ("; energy NOT fitted (" + str(energy_report["skipped"]) + "): the energy table "
                  "is the preset's prior (what its own extends chain gave it)")
    else:
        notes += "; energy fitted on the duty-cycled loads of these files"
    cal = {
        "device": spec.device_name, "data": ", ".join(Path(f).name for f in files), "date": date,
        "split": split,
        "method": ("staged soft-L1 least squares on log(predicted/measured), bounded Nelder-Mead "
                   "(archsim/blocks/gpu/calibrate.py); held out: " +
                   ("every 4th distinct op per kind" if split == "every4th" else
                    "the random-shape family and every 4th grid op per kind")),
        "ref_sm_count": spec.sm_count, "ref_boost_clock_ghz": spec.boost_clock_ghz,
        "n_fit": s["fit"]["n"], "n_heldout": s["heldout"]["n"],
        "median_abs_error_fit": s["fit"]["median_abs_error"], "p90_abs_error_fit": s["fit"]["p90_abs_error"],
        "median_abs_error_heldout": s["heldout"]["median_abs_error"],
        "p90_abs_error_heldout": s["heldout"]["p90_abs_error"],
        "notes": notes,
        "error_band": error_bands(rows),
        "energy_fit": {k: float(v) for k, v in energy_report.items() if isinstance(v, (int, float))},
    }
    return {"components": {"gpu": {"launch_overhead_us": spec.launch_overhead_us,
                                   "efficiency": eff, "energy": en, "calibration": cal}}}
