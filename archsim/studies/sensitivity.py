"""`archsim sensitivity ngpc|vrex`: every open knob of a study moved -50 % and +50 %, the effect on
each headline output, tornado plots, and which conclusions flip.

A knob is a number the paper leaves open (an "open" knob, with the default archsim chose) or one
archsim fitted to a paper figure ("fitted"). Each is moved to 0.5x and 1.5x its default (rounded
to the nearest value the key allows: integers, powers of two, a fraction <= 1; a knob whose
default is 0 moves by a stated absolute step instead); the study's headline outputs are
recomputed through `archsim.simulate`, exactly as `archsim reproduce` computes them (the
conservative default presets). Rows:

    {"study", "quantity": <output>, "unit", "value", "paper_value": null,
     "params": {"knob", "kind", "step": "-50%" | "+50%" | "base", "knob_value", "base_value",
                "change_pct", "assumptions": "default"}}

plus one "base" row per output. `conclusions` says, per stated conclusion of the study (e.g.
"V-Rex8 beats AGX Orin + FlexGen at 40K"), which knob moves flip it.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import attrs

from archsim.studies.common import StudyResult, row

STEPS = (("-50%", 0.5), ("+50%", 1.5))


@attrs.frozen(kw_only=True)
class Knob:
    name: str                        # dotted key (arch) or "workload.<param>"
    kind: str                        # "open" | "fitted"
    doc: str
    base: float | None = None        # default value (None: read from the arch)
    integer: bool = False
    power_of_two: bool = False
    lo: float | None = None          # allowed range (values are clamped into it)
    hi: float | None = None
    zero_step: float | None = None   # a default of 0 moves to 0 and to this value

    def values(self, base: float) -> list[tuple[str, float]]:
        out = []
        for label, f in STEPS:
            if base == 0 and self.zero_step is not None:
                v = 0.0 if f < 1 else self.zero_step
            else:
                v = base * f
            if self.power_of_two and v > 0:
                v = 2.0 ** round(math.log2(v))
                if v == base:
                    v = base / 2 if f < 1 else base * 2
            if self.integer:
                v = float(max(1, round(v)) if base >= 1 else round(v))
            if self.lo is not None:
                v = max(self.lo, v)
            if self.hi is not None:
                v = min(self.hi, v)
            out.append((label, v))
        return out


@attrs.frozen(kw_only=True)
class Output:
    name: str
    unit: str
    doc: str


@attrs.frozen(kw_only=True)
class Conclusion:
    text: str
    holds: Callable[[dict], bool]


# ----------------------------------------------------------------------------- NGPC

NGPC_KNOBS = (
    Knob(name="components.ngpc.clock_ghz", kind="open", doc="NFP clock (paper: ~1 GHz implied)", hi=3.0),
    Knob(name="components.ngpc.batch_points", kind="open", doc="inputs per batch", integer=True),
    Knob(name="components.ngpc.encoding.lanes", kind="open", doc="corner requests issued per cycle", integer=True),
    Knob(name="components.ngpc.encoding.hash_units", kind="open", doc="grid_index units per sub-engine", integer=True),
    Knob(name="components.ngpc.encoding.interp_units", kind="open", doc="interpolation units per sub-engine",
         integer=True),
    Knob(name="components.ngpc.encoding.grid_sram_banks", kind="open", doc="banks per grid SRAM", integer=True,
         power_of_two=True),
    Knob(name="components.ngpc.encoding.grid_sram_latency_cycles", kind="open", doc="grid SRAM latency",
         integer=True),
    Knob(name="components.ngpc.encoding.dram_latency_ns", kind="open", doc="miss latency to DRAM"),
    Knob(name="components.ngpc.encoding.mshrs", kind="open", doc="outstanding miss lines", integer=True),
    Knob(name="components.ngpc.encoding.fifo_depth", kind="open", doc="fetch-to-interpolation FIFO", integer=True),
    Knob(name="components.ngpc.encoding.cache_line_bytes", kind="open", doc="spill cache line", integer=True,
         power_of_two=True, lo=4),
    Knob(name="components.ngpc.l2_bandwidth_gb_s", kind="open", doc="L2 bandwidth for the NGPC"),
    Knob(name="components.ngpc.mlp.act_sram_kib", kind="open", doc="activation SRAM (micro-batch)", integer=True),
    Knob(name="workload.prepost_cost_scale", kind="fitted", doc="GPU pre/post cost (fitted: 72.37 % share)",
         base=None),
    Knob(name="workload.samples_per_pixel", kind="fitted", doc="NeRF samples per pixel (fitted: 231 ms frame)",
         base=None),
)

NGPC_OUTPUTS = (
    Output(name="speedup_ngpc8_hashgrid_mean", unit="x", doc="NGPC-8 hashgrid 1080p speedup, mean over 4 apps"),
    Output(name="speedup_ngpc64_hashgrid_mean", unit="x", doc="NGPC-64 hashgrid 1080p speedup, mean over 4 apps"),
    Output(name="nerf_ngpc8_frame_s", unit="s", doc="NeRF hashgrid 1080p frame on NGPC-8"),
    Output(name="nfp_area_mm2", unit="mm2", doc="one NFP's area (7 nm)"),
    Output(name="nfp_power_w", unit="W", doc="one NFP's average power over the NeRF frame's NGPC span"),
)

NGPC_CONCLUSIONS = (
    Conclusion(text="NGPC-8 speeds the hashgrid apps up (mean speedup > 1)",
               holds=lambda o: o["speedup_ngpc8_hashgrid_mean"] > 1.0),
    Conclusion(text="NGPC-8 gains less than the paper's 12x (mean hashgrid speedup < 12)",
               holds=lambda o: o["speedup_ngpc8_hashgrid_mean"] < 12.0),
    Conclusion(text="NGPC-64 gains more than NGPC-8 (scaling continues past N = 8)",
               holds=lambda o: o["speedup_ngpc64_hashgrid_mean"] > o["speedup_ngpc8_hashgrid_mean"] * 1.05),
)


def _ngpc_outputs(arch_over: dict, wl_over: dict, quick: bool, cache: dict) -> dict:
    from archsim.blocks.ngpc.generator import PREPOST_COST_SCALE_DEFAULT, SPP_DEFAULT
    from archsim.config.arch import load_arch
    from archsim.studies import ngpc as S
    scale = wl_over.get("prepost_cost_scale", PREPOST_COST_SCALE_DEFAULT)
    spp = wl_over.get("samples_per_pixel", SPP_DEFAULT["nerf"])
    key = (scale, spp)
    if key not in cache:
        g = load_arch(S.GPU_PRESET)
        cache[key] = {app: S.gpu_frame(g, S.frame_workload(app, "hashgrid", "1080p", scale=scale, nerf_spp=spp))["total_s"]
                      for app in S.APPS}
    gpu = cache[key]
    out = {}
    for n in (8, 64):
        arch = S.ngpc_arch(n, quick=quick, overrides=arch_over)
        sp = []
        for app in S.APPS:
            f = S.ngpc_frame(arch, S.frame_workload(app, "hashgrid", "1080p", scale=scale, nerf_spp=spp))
            sp.append(gpu[app] / f["frame_s"])
            if n == 8 and app == "nerf":
                out["nerf_ngpc8_frame_s"] = f["frame_s"]
                out["nfp_area_mm2"] = f["area_mm2"] / n
                out["nfp_power_w"] = f["power_w"] / n if f["power_w"] is not None else float("nan")
        out[f"speedup_ngpc{n}_hashgrid_mean"] = sum(sp) / len(sp)
    return out


def _ngpc_base(knob: Knob) -> float:
    from archsim.blocks.ngpc.generator import PREPOST_COST_SCALE_DEFAULT, SPP_DEFAULT
    from archsim.studies import ngpc as S
    if knob.name == "workload.prepost_cost_scale":
        return PREPOST_COST_SCALE_DEFAULT
    if knob.name == "workload.samples_per_pixel":
        return SPP_DEFAULT["nerf"]
    return _arch_value(S.ngpc_arch(8), knob.name)


# ----------------------------------------------------------------------------- V-Rex

VREX_KNOBS = (
    Knob(name="window", kind="open", doc="recent-KV window per stream (default: from device memory); moved "
         "as a fixed token count, 0.5x the derived window (+50 % is capped at 1x: the derived window is the "
         "most the device memory holds)", base=None),
    Knob(name="components.vrex.memory.efficiency", kind="open", doc="sustained DRAM fraction", hi=1.0),
    Knob(name="components.vrex.dre.wtu_buckets", kind="open", doc="WTU buckets", integer=True),
    Knob(name="components.vrex.lxe.fill_cycles", kind="open", doc="per-op issue + tree fill", integer=True),
    Knob(name="components.vrex.dre.wtu_pipeline_cycles", kind="open", doc="WTU drain per row", integer=True),
    Knob(name="components.vrex.lxe.sram_banks", kind="open", doc="LXE SRAM banks", integer=True),
    Knob(name="components.vrex.lxe.softmax_ops_per_element", kind="open", doc="VPE ops per attention score"),
    Knob(name="components.vrex.core_sync_cycles", kind="open", doc="multi-core sync per op (default 0: "
         "moved to 0 and +64 cycles)", integer=True, zero_step=64.0),
    Knob(name="components.vrex.dre.hc_index_bytes", kind="open", doc="HC-table field width", integer=True),
    Knob(name="components.vrex.kvmu.buffer_kib", kind="open", doc="KVMU staging buffer"),
    Knob(name="components.vrex.host_link.tlp_overhead_bytes", kind="open", doc="PCIe framing per TLP",
         integer=True),
    Knob(name="components.vrex.host_link.latency_us", kind="open", doc="DMA round trip"),
    Knob(name="components.vrex.ssd.read_bandwidth_gb_s", kind="open", doc="SSD read bandwidth (BG6 class)"),
    Knob(name="components.vrex.ssd.read_latency_us", kind="open", doc="SSD first-read latency"),
    Knob(name="components.vrex.ssd.random_read_iops", kind="open", doc="SSD random-read IOPS"),
)

VREX_OUTPUTS = (
    Output(name="edge_frame_40k_s", unit="s", doc="V-Rex8 frame latency, 40K history, batch 1"),
    Output(name="edge_tpot_40k_s", unit="s", doc="V-Rex8 TPOT, 40K history, batch 1"),
    Output(name="edge_frame_40k_b4_s", unit="s", doc="V-Rex8 frame latency, 40K history, batch 4"),
    Output(name="edge_roofline_40k_b4_pct", unit="%", doc="V-Rex8 roofline utilisation, 40K, batch 4 (Fig. 18)"),
    Output(name="edge_speedup_vs_flexgen_40k", unit="x", doc="frame speedup over AGX Orin + FlexGen, 40K, batch 1"),
    Output(name="edge_energy_gain_vs_flexgen_40k", unit="x", doc="frame energy gain over AGX Orin + FlexGen, 40K"),
    Output(name="server_frame_40k_s", unit="s", doc="V-Rex48 frame latency, 40K history, batch 1"),
    Output(name="edge_system_power_w", unit="W", doc="V-Rex8 average system power over the 40K frame"),
)

VREX_CONCLUSIONS = (
    Conclusion(text="V-Rex8 beats AGX Orin + FlexGen on a 40K frame (speedup > 1)",
               holds=lambda o: o["edge_speedup_vs_flexgen_40k"] > 1.0),
    Conclusion(text="V-Rex8 uses less energy than AGX Orin + FlexGen on a 40K frame",
               holds=lambda o: o["edge_energy_gain_vs_flexgen_40k"] > 1.0),
    Conclusion(text="V-Rex8's 40K frame is within the paper's 254 ms",
               holds=lambda o: o["edge_frame_40k_s"] <= 0.254),
    Conclusion(text="V-Rex8 at 40K, batch 4 uses under 10 % of its peak (memory-bound frame)",
               holds=lambda o: o["edge_roofline_40k_b4_pct"] < 10.0),
)


def _vrex_outputs(knob: Knob | None, value: float | None, stats: dict, ref: dict) -> dict:
    from archsim.studies import vrex as V
    L = 40000
    over: dict = {"edge": {}, "server": {}}
    if knob is not None and knob.name != "window":
        for s in over:
            over[s][knob.name] = value
    ctx = V.load_context("default", over)
    out = {}

    def params(sysname, batch, policy):
        p = V._params(ctx[sysname], stats, L, batch, policy)
        return p

    def arch_for(sysname, batch):
        a = ctx[sysname]["va"]
        if knob is not None and knob.name == "window":
            from archsim.config.arch import load_arch
            w = V.device_window(ctx[sysname]["vspec"], params(sysname, batch, "vrex"))
            a = load_arch(a.source, {**over[sysname], "components.vrex.kvmu.window": "tokens",
                                     "components.vrex.kvmu.recent_kv_tokens": int(round(w * value))})
        return a

    fr = V.step(arch_for("edge", 1), params("edge", 1, "vrex"), "frame")
    out["edge_frame_40k_s"] = fr.latency_s
    out["edge_system_power_w"] = fr.avg_power_w
    out["edge_tpot_40k_s"] = V.step(arch_for("edge", 1), params("edge", 1, "vrex"), "answer").latency_s
    r4 = V.step(arch_for("edge", 4), params("edge", 4, "vrex"), "frame")
    out["edge_frame_40k_b4_s"] = r4.latency_s
    out["edge_roofline_40k_b4_pct"] = 100 * r4.totals_.flops / (r4.latency_s * V.peak_flops(arch_for("edge", 4)))
    if "flexgen" not in ref:
        g = V.step(ctx["edge"]["ga"], params("edge", 1, "flexgen"), "frame")
        ref["flexgen"] = (g.latency_s, g.energy_j)
    out["edge_speedup_vs_flexgen_40k"] = ref["flexgen"][0] / fr.latency_s
    out["edge_energy_gain_vs_flexgen_40k"] = ref["flexgen"][1] / fr.energy_j
    out["server_frame_40k_s"] = V.step(arch_for("server", 1), params("server", 1, "vrex"), "frame").latency_s
    return out


# ----------------------------------------------------------------------------- shared

def _arch_value(arch, dotted: str) -> float:
    parts = dotted.split(".")
    assert parts[0] == "components"
    obj = arch.components[parts[1]]
    for p in parts[2:]:
        obj = getattr(obj, p)
    return float(obj)


def run(study: str, out_dir, *, quick: bool = False, knobs: tuple[str, ...] = ()) -> StudyResult:
    """Rows, tornado plots (one PNG per headline output in `out_dir`) and notes (which
    conclusions flip under which knob move). `knobs` limits the run to those names; `quick`
    uses small representative batches (NGPC) and small ReSV runs (V-Rex): a smoke test."""
    import warnings

    from archsim.energy.scaling import ScalingWarning
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingWarning)
        if study == "ngpc":
            return _run_ngpc(out, quick, knobs)
        if study == "vrex":
            return _run_vrex(out, quick, knobs)
    from archsim.errors import ConfigError
    raise ConfigError("<command line>", "study", f"got {study!r}; allowed: ngpc, vrex")


def _select(all_knobs, names):
    if not names:
        return all_knobs
    known = {k.name: k for k in all_knobs}
    bad = [n for n in names if n not in known]
    if bad:
        from archsim.errors import ConfigError
        raise ConfigError("<command line>", "--knob", f"unknown knob(s) {', '.join(bad)}; allowed: "
                          + ", ".join(known))
    return tuple(known[n] for n in names)


def _run_ngpc(out: Path, quick: bool, names) -> StudyResult:
    cache: dict = {}
    base = _ngpc_outputs({}, {}, quick, cache)
    results = []
    for k in _select(NGPC_KNOBS, names):
        b = _ngpc_base(k)
        for label, v in k.values(b):
            if k.name.startswith("workload."):
                o = _ngpc_outputs({}, {k.name.split(".", 1)[1]: v}, quick, cache)
            else:
                o = _ngpc_outputs({k.name: int(v) if k.integer else v}, {}, quick, cache)
            results.append((k, label, v, b, o))
    return _finish("ngpc", out, NGPC_OUTPUTS, NGPC_CONCLUSIONS, base, results,
                   "NGPC-8 / NGPC-64 (arch_configs/ngpc/ngpc-N.toml) against the RTX 3090 model, hashgrid, 1080p"
                   + ("; quick mode (small batches)" if quick else ""))


def _run_vrex(out: Path, quick: bool, names) -> StudyResult:
    from archsim.studies import vrex as V
    stats = V._resv_stats(out, quick)
    ref: dict = {}
    base = _vrex_outputs(None, None, stats, ref)
    results = []
    spec = V.load_context("default")["edge"]["vspec"]
    for k in _select(VREX_KNOBS, names):
        if k.name == "window":
            for label, f in STEPS:
                f = min(f, 1.0)             # more than the device memory holds is not a design point
                results.append((k, label, f, 1.0, _vrex_outputs(k, f, stats, ref)))
            continue
        b = _arch_value_spec(spec, k.name)
        for label, v in k.values(b):
            vv = int(v) if k.integer else v
            results.append((k, label, vv, b, _vrex_outputs(k, vv, stats, ref)))
    return _finish("vrex", out, VREX_OUTPUTS, VREX_CONCLUSIONS, base, results,
                   "V-Rex8 / V-Rex48 (arch_configs/vrex/*.toml) and AGX Orin + FlexGen, 40K history"
                   + ("; quick ReSV runs" if quick else "") + "; the window knob's value is the factor on the "
                   "memory-derived window")


def _arch_value_spec(spec, dotted: str) -> float:
    obj = spec
    for p in dotted.split(".")[2:]:
        obj = getattr(obj, p)
    return float(obj)


def _finish(study, out: Path, outputs, conclusions, base, results, what: str) -> StudyResult:
    rows = []
    for o in outputs:
        rows.append(row(study, o.name, o.unit, base[o.name], None, knob="base", kind="base", step="base",
                        knob_value=None, base_value=None, change_pct=0.0, assumptions="default"))
    for k, label, v, b, res in results:
        for o in outputs:
            bv, nv = base[o.name], res[o.name]
            ch = 100.0 * (nv - bv) / bv if bv else None
            rows.append(row(study, o.name, o.unit, nv, None, knob=k.name, kind=k.kind, step=label,
                            knob_value=float(v), base_value=float(b), change_pct=ch, assumptions="default"))
    notes = [f"sensitivity of {what}: every knob moved to 0.5x and 1.5x its default (rounded to what the key "
             "allows; knob_value in each row), one at a time, through archsim.simulate"]
    for c in conclusions:
        holds = c.holds(base)
        flips = sorted({f"{k.name} {label}" for k, label, _v, _b, res in results if c.holds(res) != holds})
        notes.append(f"conclusion '{c.text}': {'holds' if holds else 'does NOT hold'} at the defaults; "
                     + (f"flipped by {', '.join(flips)}" if flips else "no single +-50 % knob move flips it"))
    for o in outputs:
        eff = []
        for k, label, _v, _b, res in results:
            if base[o.name]:
                eff.append((abs(res[o.name] - base[o.name]) / abs(base[o.name]) * 100, k.name, label))
        eff.sort(reverse=True)
        top = ", ".join(f"{n} {lab} ({e:.1f} %)" for e, n, lab in eff[:3] if e > 0.05) or "none above 0.05 %"
        notes.append(f"{o.name} ({o.doc}) = {base[o.name]:.4g} {o.unit}; largest effects: {top}")
    plots = [str(p) for p in _tornado(study, out, outputs, base, results)]
    return StudyResult(rows=rows, plots=plots, notes=notes)


def _tornado(study, out: Path, outputs, base, results) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    paths = []
    knobs = list(dict.fromkeys(k.name for k, *_ in results))
    for o in outputs:
        eff = {}
        for k, label, _v, _b, res in results:
            bv = base[o.name]
            eff.setdefault(k.name, {})[label] = 100.0 * (res[o.name] - bv) / bv if bv else 0.0
        order = sorted(knobs, key=lambda n: max(abs(x) for x in eff[n].values()))
        fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(order) + 1.4))
        y = range(len(order))
        lo = [eff[n].get("-50%", 0.0) for n in order]
        hi = [eff[n].get("+50%", 0.0) for n in order]
        ax.barh(list(y), lo, color="C0", label="knob -50 %")
        ax.barh(list(y), hi, color="C3", alpha=0.75, label="knob +50 %")
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(list(y), [n.replace("components.", "") + (" (fitted)" if any(
            k.name == n and k.kind == "fitted" for k, *_ in results) else "") for n in order], fontsize=7)
        ax.set_xlabel(f"change of {o.name} (%), base {base[o.name]:.4g} {o.unit}")
        ax.set_title(f"{study}: {o.doc}", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        p = out / f"tornado_{study}_{o.name}.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
    return paths
