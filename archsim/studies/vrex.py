"""`archsim reproduce vrex`: V-Rex (HPCA 2026, papers/vrex.md) from archsim's models.

What runs:
- ReSV (archsim.blocks.vrex.kernels) on seeded synthetic KV streams at 1K-40K tokens
  (archsim.blocks.vrex.resv_measure): retrieval ratios, cluster sizes, early-exit fractions, WTU
  buckets per row, HC-table size, Hamming-vs-cosine correlation — reported against the paper.
- V-Rex8 / V-Rex48 (arch_configs/vrex/) and AGX Orin / A100 (arch_configs/gpu/vrex-paper/, each
  with the paired V-Rex system's host link) run the same streaming sessions
  (archsim.blocks.vrex.generator) under ReSV and the GPU policies
  (archsim.blocks.vrex.policies). Every number comes from `archsim.simulate` on a `video_llm`
  workload — the path `archsim run` and `archsim sweep` take: a frame or answer step is the
  workload with `phase = "frame"` / `"answer"`, a whole session the workload with
  `phase = "session"`. Block power, prediction shares, roofline points and the bandwidth plot
  are read off those Reports (per-op energy by action class, the timeline); nothing is priced
  or scheduled here.

Inputs taken from the paper (papers/vrex.md §11): the Tab. II average retrieval ratios per
method and stage (ReSV 32.7 % / 2.5 %), ~32 tokens per cluster. The per-layer shape of the
ratio (which layers are light or heavy) and the WTU's buckets per row come from the ReSV runs
on the synthetic streams. Nothing is fitted to the paper's latencies.

End-to-end (COIN average: 26 frames, 25 question and 39 answer tokens): the session workload,
each phase one step at its mean history length with its ops repeated by the step count
(frames at L + 13 x 11, the question after the frames, answers at the middle of the answer).
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import attrs

from archsim.studies.common import StudyResult, row
from archsim.resources import shipped_root

STUDY = "vrex"
KV_LENS = (1000, 5000, 10000, 20000, 40000)
BASELINES = ("flexgen", "infinigen", "infinigenp", "rekv")
REPO = shipped_root()          # holds arch_configs/ (the checkout, or the wheel's copy)
SYSTEMS = {
    "edge": {"vrex": "arch_configs/vrex/vrex8-edge.toml",
             "gpu": "arch_configs/gpu/vrex-paper/jetson-agx-orin-32gb.toml", "batches": (1, 4)},
    "server": {"vrex": "arch_configs/vrex/vrex48-server.toml",
               "gpu": "arch_configs/gpu/vrex-paper/a100-80gb-pcie.toml", "batches": (1, 8)},
}
#: Paper-assumption presets beside the conservative defaults (docs/vrex.md, "Two columns"):
#: the recent-KV window = device capacity - model weights (the paper's silent assumption read
#: as 'the capacity the device memory allows'); the defaults also take the vision tower, the
#: activations, the HC table and fetch staging out of device memory first.
ASSUMPTIONS = ("default", "paper")
PAPER_VREX = {"edge": "arch_configs/vrex/paper/vrex8-edge.toml",
              "server": "arch_configs/vrex/paper/vrex48-server.toml"}
WINDOW_BASIS = {
    "memory": "device capacity - weights - vision tower and projector - activations - HC table - two layers "
              "of fetch staging",
    "weights_only": "device capacity - model weights",
    "tokens": "the fixed kvmu.recent_kv_tokens",
}
VREX = "vrex"            # the V-Rex component of the V-Rex presets
GPU = "gpu"              # the GPU and the host-link components of the GPU presets
HOST = "host"
# Fig. 13(a), §VI-B: V-Rex8 per-frame latency at batch 1 (ms) and TPOT range (1K -> 40K)
PAPER_FRAME_MS = {1000: 121.0, 5000: 123.0, 10000: 198.0, 20000: 200.0, 40000: 254.0}
PAPER_TPOT_MS = {1000: 89.0, 40000: 97.0}
PAPER_PEAK_TFLOPS = {"edge": 53.3, "server": 319.5}          # Tab. I
BLOCKS = ("dpe", "vpe", "lxe_sram", "hcu", "wtu", "kvmu")
DRE_BLOCKS = ("hcu", "wtu", "kvmu")


def run(out_dir, *, quick: bool = False, assumptions=ASSUMPTIONS) -> StudyResult:
    """All rows, plots in `out_dir`, for each preset set in `assumptions` ("default": the
    conservative presets, "paper": the paper-assumption presets); every row carries
    `params.assumptions`. `quick` shrinks only the ReSV runs (fewer layers, heads and shorter
    streams, mapped onto the same KV lengths) for tests."""
    import warnings

    from archsim.energy.scaling import ScalingWarning
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows, plots, notes = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingWarning)
        stats = _resv_stats(out, quick)
        for a in assumptions:
            res = _run(out, stats, a)
            for r in res.rows:
                r["params"]["assumptions"] = a
            rows += res.rows
            plots += res.plots
            notes += res.notes if a == "default" else [f"[paper assumptions] {n}" for n in res.notes]
    return StudyResult(rows=rows, plots=plots, notes=notes)


def load_context(assumptions: str = "default", overrides: dict | None = None) -> dict:
    """{system: {"va": V-Rex arch, "vspec": its vrex spec, "ga": the paired GPU arch}} for a
    preset set; `overrides` ({system: {dotted key: value}}) are applied to the V-Rex arch."""
    from archsim.config.arch import load_arch
    ctx = {}
    for sysname, cfg in SYSTEMS.items():
        path = cfg["vrex"] if assumptions == "default" else PAPER_VREX[sysname]
        va = load_arch(REPO / path, (overrides or {}).get(sysname))
        ga = load_arch(REPO / cfg["gpu"])
        ctx[sysname] = {"va": va, "vspec": va.components[VREX], "ga": ga, "assumptions": assumptions}
    return ctx


def _run(out: Path, stats: dict, assumptions: str) -> StudyResult:
    rows: list[dict] = []
    notes: list[str] = []
    _resv_rows(rows, notes, stats)
    ctx = load_context(assumptions)
    curves: dict = {}
    for sysname, cfg in SYSTEMS.items():
        c = ctx[sysname]
        for batch in cfg["batches"]:
            for L in KV_LENS:
                v = session(c["va"], _params(c, stats, L, batch, "vrex"))
                base = {b: session(c["ga"], _params(c, stats, L, batch, b)) for b in BASELINES}
                curves[(sysname, batch, L)] = (v, base)
                _perf_rows(rows, sysname, batch, L, v, base)
    _ablation_rows(rows, ctx, stats)
    _roofline_rows(rows, ctx, stats)
    _motivation_rows(rows, ctx, stats)
    _area_power_rows(rows, notes, ctx, stats)
    tag = "" if assumptions == "default" else f"_{assumptions}"
    plots = [_plot_latency(out, curves, tag), _plot_bandwidth(out, ctx, stats, tag)]
    notes += _notes(ctx, stats)
    return StudyResult(rows=rows, plots=[str(p) for p in plots if p], notes=notes)


# ----------------------------------------------------------------------------- ReSV

def _resv_config(quick: bool):
    from archsim.blocks.vrex.resv_measure import ResvConfig
    from archsim.blocks.vrex.kv_synth import SynthKvParams
    if quick:
        return ResvConfig(kv_lens=(500, 1500), sim_layers=2, synth=SynthKvParams(kv_heads=2, head_dim=32),
                          text_draws=1)
    return ResvConfig(kv_lens=KV_LENS)


def _resv_stats(out: Path, quick: bool) -> dict:
    """ReSV statistics per KV length, cached in out_dir (keyed by the config)."""
    from archsim.blocks.vrex.resv_measure import ResvStats, measure
    cfg = _resv_config(quick)
    key = hashlib.sha256(repr(cfg).encode()).hexdigest()[:16]
    cache = out / f".resv-cache-{key}.json"
    if cache.is_file():
        try:
            raw = json.loads(cache.read_text())
            stats = {int(k): ResvStats(**{f: (tuple(v) if isinstance(v, list) else v) for f, v in d.items()})
                     for k, d in raw.items()}
        except (ValueError, TypeError):
            stats = None
        if stats:
            return _map_lengths(stats)
    stats = measure(cfg)
    cache.write_text(json.dumps({str(k): attrs.asdict(v) for k, v in stats.items()}))
    return _map_lengths(stats)


def _map_lengths(stats: dict) -> dict:
    """Stats for every KV_LENS entry (quick mode: the nearest measured length)."""
    out = {}
    for L in KV_LENS:
        if L in stats:
            out[L] = stats[L]
        else:
            out[L] = stats[min(stats, key=lambda m: abs(math.log(m / L)))]
    return out


def _resv_rows(rows, notes, stats):
    for L in KV_LENS:
        s = stats[L]
        rows.append(row(STUDY, "retrieval_ratio_frame_pct", "%", 100 * s.frame_ratio, 32.7, kv_len=L, source="synthetic"))
        rows.append(row(STUDY, "retrieval_ratio_text_pct", "%", 100 * s.text_ratio, 2.5, kv_len=L, source="synthetic"))
        rows.append(row(STUDY, "avg_cluster_tokens", "tokens", s.mean_cluster_tokens, 32.0, kv_len=L, source="synthetic"))
        rows.append(row(STUDY, "wicsum_processed_pct", "%", 100 * s.processed_fraction_frame, 16.0, kv_len=L,
                        source="synthetic"))
        rows.append(row(STUDY, "hc_table_overhead_pct", "%", 100 * s.hc_table_fraction, 1.67, kv_len=L, source="synthetic"))
        rows.append(row(STUDY, "layer_ratio_min_pct", "%", 100 * min(s.layer_frame_ratios), 4.2, kv_len=L, source="synthetic"))
        rows.append(row(STUDY, "layer_ratio_max_pct", "%", 100 * max(s.layer_frame_ratios), 44.0, kv_len=L, source="synthetic"))
        rows.append(row(STUDY, "wtu_buckets_per_row", "buckets", s.wtu_buckets_frame, None, kv_len=L, source="synthetic"))
        rows.append(row(STUDY, "selected_run_tokens", "tokens", s.mean_run_tokens, None, kv_len=L, source="synthetic"))
    rows.append(row(STUDY, "hamming_cosine_corr", "", stats[KV_LENS[-1]].hamming_cosine_corr, 0.8, source="synthetic"))


# ----------------------------------------------------------------------------- workloads

def device_window(vspec, p) -> int:
    """The recent-KV window (tokens per stream) the V-Rex device keeps for the session of
    Params `p` at its starting history (archsim.blocks.vrex.model.recent_window, the function
    the KVMU's kv_fetch uses), or 0 without a KVMU."""
    from archsim.blocks.vrex.model import recent_window
    if not vspec.kvmu.enabled:
        return 0
    return recent_window(vspec, batch=p.batch, kv_len=p.kv_history_tokens, n_layers=p.n_layers,
                         kv_heads=p.n_kv_heads, head_dim=p.head_dim, dtype=p.dtype,
                         weight_bytes=p.weight_bytes(),
                         other_resident_bytes=p.vision_weight_bytes() + p.activation_bytes())["tokens"]


def _params(c, stats, L, batch, policy, **kw):
    from archsim.blocks.vrex.generator import Params
    from archsim.blocks.vrex.resv_measure import layer_scale
    s = stats[L]
    vspec = c["vspec"]
    resv = policy in ("vrex", "gpu_resv")
    p = Params(kv_history_tokens=L, batch=batch, policy=policy, offload_source=vspec.kvmu.offload,
               layer_ratio_scale=layer_scale(s.layer_frame_ratios) if resv else (),
               layer_ratio_scale_text=layer_scale(s.layer_text_ratios) if resv else (),
               wicsum_processed_fraction=min(1.0, s.processed_fraction_frame),
               wtu_buckets_processed=s.wtu_buckets_frame, cluster_tokens=32.0,
               token_run_tokens=max(1.0, s.mean_run_tokens), **kw)
    # the clusters the HCU compares with are those of the device's recent window (0 = all history)
    return attrs.evolve(p, recent_kv_tokens=device_window(vspec, p) if policy == "vrex" else 0)


def workload(params, phase: str | None = None, kv_len: int | None = None):
    """The `video_llm` workload of `params` (one phase at one history length if given), loaded
    as `archsim run` loads a workload TOML with these [params]."""
    from archsim.workloads.load import load_workload
    p = attrs.evolve(params, **({"phase": phase} if phase else {}),
                     **({"kv_history_tokens": kv_len} if kv_len is not None else {}))
    data = {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.asdict(p).items()}
    return load_workload({"generator": "video_llm", "params": data},
                         name=f"video_llm-{p.policy}-{p.phase}-{p.kv_history_tokens}")


def step(arch, params, phase: str, kv_len: int | None = None):
    """The Report of one step (`phase` frame, question or answer) of `params`' session."""
    from archsim.simulate import simulate
    return simulate(arch, workload(params, phase, kv_len))


@attrs.frozen
class Session:
    frame_s: float           # one frame step at the starting history
    frame_j: float
    answer_s: float          # one answer token (TPOT) at the starting history
    answer_j: float
    e2e_s: float             # the whole session (its Report's makespan)
    e2e_j: float


def session(arch, p) -> Session:
    from archsim.simulate import simulate
    fr = step(arch, p, "frame")
    an = step(arch, p, "answer")
    se = simulate(arch, workload(p, "session"))
    return Session(frame_s=fr.latency_s, frame_j=fr.energy_j, answer_s=an.latency_s, answer_j=an.energy_j,
                   e2e_s=se.latency_s, e2e_j=se.energy_j)


# ----------------------------------------------------------------------------- reading Reports

def op_spans(report):
    """(op, phase, stage, layer, start_s, end_s) of every op of a Report, from its timeline."""
    from archsim.blocks.vrex.generator import op_stage
    tl = report.timeline
    out = []
    for i, o in enumerate(report.ops):
        ph, stage, layer = op_stage(o.name)
        out.append((o, ph, stage, layer, float(tl.start_s[i]), float(tl.end_s[i])))
    return out


def stage_busy_s(report, stages) -> float:
    """Time the ops of the given stages ran (end - start on the timeline, summed)."""
    return float(sum(e - s for _, _, st, _, s, e in op_spans(report) if st in stages))


def resource_busy_s(report, resource: str) -> float:
    u = report.timeline.resource(resource)
    return u.busy_s if u is not None else 0.0


def link_bytes(report) -> float:
    """Bytes on the PCIe wire (every op's `link.pcie.bytes` action)."""
    return float(sum(o.actions.get("link.pcie.bytes", 0.0) for o in report.ops))


def block_energy_j(report, component: str, dtype: str) -> dict:
    """Dynamic energy per V-Rex block and of DRAM, PCIe and the SSD, from the Report's ops:
    each op's energy by action class (priced once by simulate) is assigned by the unit the op
    ran on (its placement) — LXE ops' MACs split DPE / VPE by the VPE's share of them."""
    out = {b: 0.0 for b in BLOCKS}
    out.update(dram=0.0, pcie=0.0, ssd=0.0)
    mac_key = f"mac.{dtype}"
    for o in report.ops:
        if o.component != component:
            continue
        unit = o.resource.rsplit(".", 1)[-1]
        for cls, j in (o.energy_breakdown_j or {}).items():
            if cls in ("dram", "ssd"):
                out[cls] += j
            elif cls.startswith("link."):
                out["pcie"] += j
            elif unit == "lxe":
                if cls.startswith("sram."):
                    out["lxe_sram"] += j
                elif cls == "mac":
                    macs = o.actions.get(mac_key, 0.0)
                    vpe = min(macs, float(o.details.get("vpe_ops", 0.0)) * o.details.get("repeat", 1))
                    frac = vpe / macs if macs else 0.0
                    out["vpe"] += j * frac
                    out["dpe"] += j * (1 - frac)
                else:
                    out["dpe"] += j
            elif unit == "pcie":
                out["kvmu"] += j
            else:
                out[unit] += j
    return out


def peak_flops(arch) -> float:
    """V-Rex: DPE + VPE MACs (Tab. I's peak); a GPU: its dense BF16 (else FP16) tensor peak."""
    from archsim.blocks.vrex.model import peak_flops as vrex_peak
    if VREX in arch.components:
        return vrex_peak(arch.components[VREX])
    rates = arch.components[GPU].tensor_tflops
    for d in ("bf16", "fp16"):
        v = getattr(rates, d, None)
        if v:
            return float(v) * 1e12
    return float("nan")


# ----------------------------------------------------------------------------- rows

def _perf_rows(rows, sysname, batch, L, v: Session, base: dict):
    pf = PAPER_FRAME_MS.get(L) if (sysname == "edge" and batch == 1) else None
    pt = PAPER_TPOT_MS.get(L) if (sysname == "edge" and batch == 1) else None
    kw = {"system": sysname, "batch": batch, "kv_len": L}
    rows.append(row(STUDY, "frame_latency_s", "s", v.frame_s, pf / 1e3 if pf else None, **kw))
    rows.append(row(STUDY, "fps", "1/s", 1.0 / v.frame_s, 1e3 / pf if pf else None, **kw))
    rows.append(row(STUDY, "tpot_s", "s", v.answer_s, pt / 1e3 if pt else None, **kw))
    rows.append(row(STUDY, "e2e_latency_s", "s", v.e2e_s, None, **kw))
    for b, g in base.items():
        bk = {**kw, "baseline": b}
        rows.append(row(STUDY, "frame_latency_s", "s", g.frame_s, None, **bk))
        rows.append(row(STUDY, "tpot_s", "s", g.answer_s, None, **bk))
        rows.append(row(STUDY, "e2e_latency_s", "s", g.e2e_s, None, **bk))
        rows.append(row(STUDY, "speedup_frame", "x", g.frame_s / v.frame_s, None, **bk))
        rows.append(row(STUDY, "speedup_tpot", "x", g.answer_s / v.answer_s, None, **bk))
        rows.append(row(STUDY, "speedup_e2e", "x", g.e2e_s / v.e2e_s, None, **bk))
        rows.append(row(STUDY, "energy_gain_frame", "x", g.frame_j / v.frame_j, None, **bk))
        rows.append(row(STUDY, "energy_gain_text", "x", g.answer_j / v.answer_j, None, **bk))


def _ablation_rows(rows, ctx, stats):
    """Fig. 16: edge, 40K, batch 1, frame processing; each step against AGX + FlexGen. The
    KV-prediction share is the time the prediction ops (hash, cluster, score, select) ran over
    the frame's latency, from the Report's timeline."""
    from archsim.blocks.vrex.policies import PREDICTION_STAGES
    from archsim.config.arch import load_arch
    L, batch = 40000, 1
    c = ctx["edge"]
    ref = step(c["ga"], _params(c, stats, L, batch, "flexgen"), "frame")
    kv_arch = load_arch(c["va"].source, {f"components.{VREX}.kvmu.enabled": False})
    ckv = {**c, "vspec": kv_arch.components[VREX]}
    variants = {
        "gpu_resv": step(c["ga"], _params(c, stats, L, batch, "gpu_resv"), "frame"),
        "kvpu": step(kv_arch, _params(ckv, stats, L, batch, "vrex"), "frame"),
        "all": step(c["va"], _params(c, stats, L, batch, "vrex"), "frame"),
    }
    for name, r in variants.items():
        kw = {"system": "edge", "batch": batch, "kv_len": L, "variant": name, "baseline": "flexgen"}
        rows.append(row(STUDY, "ablation_speedup", "x", ref.latency_s / r.latency_s, None, **kw))
        rows.append(row(STUDY, "ablation_energy_gain", "x", ref.energy_j / r.energy_j, None, **kw))
        rows.append(row(STUDY, "kv_prediction_share_pct", "%",
                        100 * stage_busy_s(r, PREDICTION_STAGES) / r.latency_s, None,
                        system="edge", batch=batch, kv_len=L, variant=name))


def _roofline_rows(rows, ctx, stats):
    """Fig. 18: edge, 40K, batch 4, frame processing."""
    L, batch = 40000, 4
    c = ctx["edge"]
    cases = {"vrex": (c["va"], "vrex"), "flexgen": (c["ga"], "flexgen"), "rekv": (c["ga"], "rekv")}
    for name, (arch, pol) in cases.items():
        r = step(arch, _params(c, stats, L, batch, pol), "frame")
        flops, dram = r.totals_.flops, r.totals_.dram_bytes
        kw = {"system": "edge", "batch": batch, "kv_len": L}
        if name != "vrex":
            kw["baseline"] = name
        # achieved FLOP/s over the frame-processing step (the phase Fig. 18 measures) / peak
        rows.append(row(STUDY, "roofline_utilization_pct", "%", 100 * flops / (r.latency_s * peak_flops(arch)),
                        None, **kw))
        # ... and over the time the compute engine (V-Rex LXE, the GPU's SMs) is busy
        busy = resource_busy_s(r, f"{VREX}.lxe" if name == "vrex" else f"{GPU}.sm")
        rows.append(row(STUDY, "compute_busy_utilization_pct", "%",
                        100 * flops / (busy * peak_flops(arch)) if busy > 0 else None, None, **kw))
        rows.append(row(STUDY, "operational_intensity_flop_per_byte", "FLOP/B",
                        flops / max(dram + link_bytes(r), 1.0), None, **kw))


def _motivation_rows(rows, ctx, stats):
    """Fig. 4(b, c): A100 + InfiniGen at 80K (prefill share of end-to-end: where the question
    phase ends on the session's timeline) and A100 + InfiniGenP at 40K with a 10K-token budget
    (KV prediction = the score / select ops' time; retrieval adds the time the GPU waits for
    PCIe: latency - the GPU's busy time)."""
    c = ctx["server"]
    L = 80000
    from archsim.simulate import simulate
    p = _params(c, {**stats, L: stats[KV_LENS[-1]]}, L, 1, "infinigen")
    se = simulate(c["ga"], workload(p, "session"))
    prefill_end = max(e for _, ph, _, _, _, e in op_spans(se) if ph in ("frame", "question"))
    rows.append(row(STUDY, "prefill_share_pct", "%", 100 * prefill_end / se.latency_s, 83.0, system="server",
                    batch=1, kv_len=L, baseline="infinigen"))
    L = 40000
    r = step(c["ga"], _params(c, stats, L, 1, "infinigenp", retrieval_ratio_frame=0.25), "frame")
    pred = stage_busy_s(r, ("score", "select"))
    fetch_exposed = r.latency_s - resource_busy_s(r, f"{GPU}.sm")
    rows.append(row(STUDY, "kv_prediction_share_pct", "%", 100 * pred / r.latency_s, 40.0, system="server",
                    batch=1, kv_len=L, baseline="infinigenp"))
    rows.append(row(STUDY, "kv_retrieval_share_pct", "%", 100 * (pred + max(0.0, fetch_exposed)) / r.latency_s, 79.0,
                    system="server", batch=1, kv_len=L, baseline="infinigenp"))


# ----------------------------------------------------------------------------- area / power

def _area_power_rows(rows, notes, ctx, stats):
    """Area and leakage from the energy layer (the core's and the system's Structure); dynamic
    power per block from the V-Rex frame Report at 40K, batch 1 (block_energy_j) over its
    latency; system power = the Report's energy over its latency."""
    from archsim.blocks.vrex.structure import core_structure, structure
    from archsim.energy.activity import full_activity_power_w
    from archsim.energy.model import area_mm2, leakage_breakdown_w
    for sysname in SYSTEMS:
        c = ctx[sysname]
        spec, tech = c["vspec"], c["va"].tech
        core = core_structure(spec)
        area = area_mm2(core, tech)
        leak = leakage_breakdown_w(core, tech)
        L = 40000
        r = step(c["va"], _params(c, stats, L, 1, "vrex"), "frame")
        dyn = block_energy_j(r, VREX, spec.dtype)
        blk_power = {b: dyn[b] / r.latency_s / spec.cores + leak[f"child.{b}"] for b in BLOCKS}
        core_area = area["total"]
        core_power = sum(blk_power.values())
        kw = {"system": sysname, "kv_len": L, "batch": 1}
        if sysname == "edge":      # one core is the same on both systems; report it once (edge workload)
            # two powers per block, each named for what it is: `power_w` = average over the 40K
            # frame (dynamic energy / frame latency + leakage: the core mostly waits for DRAM and
            # PCIe), `full_activity_power_w` = every MAC and SRAM port busy each cycle + leakage
            # (what a synthesis report such as the paper's Tab. III gives)
            fa = {c.name: full_activity_power_w(c, tech)["total"] for c in core.children}
            for b in BLOCKS:
                rows.append(row(STUDY, "area_mm2", "mm2", area[f"child.{b}"], None, block=b))
                rows.append(row(STUDY, "power_w", "W", blk_power[b], None, block=b, **kw))
                rows.append(row(STUDY, "full_activity_power_w", "W", fa[b], None, block=b))
            rows.append(row(STUDY, "area_mm2", "mm2", core_area, None, block="core"))
            rows.append(row(STUDY, "power_w", "W", core_power, None, block="core", **kw))
            rows.append(row(STUDY, "full_activity_power_w", "W", sum(fa.values()), None, block="core"))
            rows.append(row(STUDY, "dre_full_activity_power_share_pct", "%",
                            100 * sum(fa[b] for b in DRE_BLOCKS) / sum(fa.values()), None, block="core"))
            rows.append(row(STUDY, "dre_area_share_pct", "%", 100 * sum(area[f"child.{b}"] for b in DRE_BLOCKS) / core_area,
                            None, block="core"))
            rows.append(row(STUDY, "dre_power_share_pct", "%", 100 * sum(blk_power[b] for b in DRE_BLOCKS) / core_power,
                            None, block="core", **kw))
        sys_area = area_mm2(structure(spec), tech)["total"]
        rows.append(row(STUDY, "area_mm2", "mm2", sys_area, None, block="system", system=sysname))
        rows.append(row(STUDY, "system_power_w", "W", r.avg_power_w, None, **kw))
        rows.append(row(STUDY, "system_full_activity_power_w", "W",
                        full_activity_power_w(structure(spec), tech)["total"], None, system=sysname))
        rows.append(row(STUDY, "peak_tflops", "TFLOP/s", peak_flops(c["va"]) / 1e12, PAPER_PEAK_TFLOPS[sysname],
                        system=sysname))
        parts = {k: round(v / r.latency_s, 3) for k, v in dyn.items() if k in ("dram", "pcie", "ssd")}
        notes.append(f"{sysname} system power at 40K, batch 1, frame: {r.avg_power_w:.2f} W = "
                     f"cores {core_power * spec.cores:.2f} W + DRAM/PCIe/SSD dynamic {parts} W + DRAM background "
                     f"and SSD idle; PCIe per bit moved (tech table [link.pcie{spec.host_link.generation}]), "
                     "not the paper's 3 W/lane rating")


# ----------------------------------------------------------------------------- plots

def _plot_latency(out: Path, curves, tag: str = "") -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [(s, b) for s, cfg in SYSTEMS.items() for b in cfg["batches"]]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6))
    for ax, (s, b) in zip(axes, panels):
        xs = list(KV_LENS)
        ax.plot(xs, [curves[(s, b, L)][0].frame_s * 1e3 for L in xs], "o-", label="V-Rex (archsim)", lw=2)
        styles = {"flexgen": ("s-", 5), "infinigen": ("x--", 7), "infinigenp": ("^--", 5), "rekv": ("v--", 5)}
        for base in BASELINES:
            m, ms = styles[base]
            ax.plot(xs, [curves[(s, b, L)][1][base].frame_s * 1e3 for L in xs], m, ms=ms, lw=1,
                    label=f"GPU+{base}" + (" (= FlexGen in prefill)" if base == "infinigen" else ""))
        if s == "edge" and b == 1:
            ax.plot(xs, [PAPER_FRAME_MS[L] for L in xs], "k*", ms=9, label="V-Rex8 (paper)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{s}, batch {b}")
        ax.set_xlabel("KV history (tokens)")
        ax.set_ylabel("per-frame latency (ms)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    p = out / f"vrex_latency_vs_kv{tag}.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p


def bandwidth_timeline(report, *, layer: int, compute: str, n_points: int = 600) -> dict:
    """DRAM and PCIe bandwidth (GB/s) over one layer period of a step's Report: from the end of
    layer-1's last op on `compute` (a resource) to the end of `layer`'s (so in-flight prefetches
    of the next layer show). Each op spreads its DRAM and PCIe wire bytes evenly over its span on
    the timeline; `phases` lists (stage, layer, start, end, resource) of the ops overlapping the
    window, times relative to its start."""
    import numpy as np
    spans = op_spans(report)

    def last_end(lay):
        ends = [e for o, _, _, ly, _, e in spans if ly == lay and o.resource == compute]
        return max(ends) if ends else None
    t1 = last_end(layer)
    if t1 is None:
        return {"t_s": [], "dram_gb_s": [], "pcie_gb_s": [], "phases": []}
    t0 = last_end(layer - 1)
    if t0 is None:
        t0 = min(s for _, _, _, ly, s, _ in spans if ly == layer)
    grid = np.linspace(t0, t1, n_points)
    dram = np.zeros(n_points)
    pcie = np.zeros(n_points)
    phases = []
    for o, _, stage, ly, s, e in spans:
        if e - s <= 0 or e <= t0 or s >= t1:
            continue
        phases.append((stage, ly, max(s, t0) - t0, min(e, t1) - t0, o.resource))
        on = (grid >= s) & (grid < e)
        dram[on] += o.dram_bytes / (e - s) / 1e9
        pcie[on] += o.actions.get("link.pcie.bytes", 0.0) / (e - s) / 1e9
    return {"t_s": list(grid - t0), "dram_gb_s": list(dram), "pcie_gb_s": list(pcie), "phases": phases}


def _plot_bandwidth(out: Path, ctx, stats, tag: str = "") -> Path:
    """Fig. 17: V-Rex48, frame processing at 40K, one middle layer."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = ctx["server"]
    L = 40000
    p = _params(c, stats, L, 1, "vrex")
    r = step(c["va"], p, "frame")
    # a layer of the heaviest layer group (by ReSV's per-layer ratio), not its first layer
    groups = stats[L].layer_frame_ratios
    g = max(range(len(groups)), key=lambda i: groups[i])
    layer = min(p.n_layers - 1, g * p.n_layers // len(groups) + 1)
    tl = bandwidth_timeline(r, layer=layer, compute=f"{VREX}.lxe")
    fig, (ax, ax2, ax3) = plt.subplots(3, 1, figsize=(9, 6), sharex=True,
                                       gridspec_kw={"height_ratios": [2, 2, 1.4]})
    t_us = [t * 1e6 for t in tl["t_s"]]
    ax.plot(t_us, tl["dram_gb_s"], color="C0")
    ax.axhline(c["vspec"].memory.bandwidth_gb_s, color="C0", ls=":", lw=1)
    ax.set_ylabel("DRAM (GB/s)")
    ax2.plot(t_us, tl["pcie_gb_s"], color="C1")
    ax2.axhline(c["vspec"].host_link.payload_gb_s(), color="C1", ls=":", lw=1)
    ax2.set_ylabel("PCIe (GB/s)")
    ax.set_ylim(0, c["vspec"].memory.bandwidth_gb_s * 1.1)
    ax2.set_ylim(0, c["vspec"].host_link.payload_gb_s() * 1.15)
    lanes = {f"{VREX}.lxe": 2, f"{VREX}.hcu": 1, f"{VREX}.wtu": 1, f"{VREX}.pcie": 0}
    for stage, lay, s0, s1, res in tl["phases"]:
        y = lanes.get(res, 0)
        ax3.barh(y, (s1 - s0) * 1e6, left=s0 * 1e6, height=0.6, color=f"C{hash(stage) % 10}", edgecolor="k", lw=0.3)
        if (s1 - s0) * 1e6 > 0.03 * max(t_us[-1], 1e-9):
            ax3.text((s0 + s1) / 2 * 1e6, y, f"{stage}.l{lay}", fontsize=6, ha="center", va="center")
    ax3.set_yticks([0, 1, 2], ["PCIe", "DRE", "LXE"])
    ax3.set_xlabel(f"time within layer {layer}'s period (us)")
    ax.set_title("V-Rex48 frame processing, 40K KV, batch 1: one layer (archsim); dotted = peak")
    fig.tight_layout()
    p = out / f"vrex_bandwidth_timeline{tag}.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p


def _notes(ctx, stats) -> list[str]:
    from archsim.blocks.vrex.generator import Params
    from archsim.blocks.vrex.model import device_memory_gib, recent_window
    s40 = stats[KV_LENS[-1]]
    e = ctx["edge"]["vspec"]
    mem = []
    for n, cfg in SYSTEMS.items():
        sp = ctx[n]["vspec"]
        for b in cfg["batches"]:
            p = Params(batch=b, kv_history_tokens=KV_LENS[-1])
            w = recent_window(sp, batch=b, kv_len=p.kv_history_tokens, n_layers=p.n_layers, kv_heads=p.n_kv_heads,
                              head_dim=p.head_dim, dtype=p.dtype, weight_bytes=p.weight_bytes(),
                              other_resident_bytes=p.vision_weight_bytes() + p.activation_bytes())
            need = device_memory_gib(sp, batch=b, weight_bytes=p.weight_bytes(),
                                     kv_bytes_per_token=p.kv_bytes_per_token(), window_tokens=w["tokens"])
            mem.append(f"{n} batch {b}: {w['tokens']:,} tokens per stream at 40K ({need:.1f} of "
                       f"{sp.memory.capacity_gib:.0f} GiB with weights)")
    return [
        f"Recent-KV window per stream (kvmu.window = '{e.kvmu.window}': {WINDOW_BASIS[e.kvmu.window]}): "
        + "; ".join(mem) + ".",
        "Inputs from the paper: Tab. II average retrieval ratios per method and stage (ReSV 32.7 %/2.5 %, "
        "InfiniGen 100 %/6.8 %, InfiniGenP 50.8 %/6.8 %, ReKV 58.4 %/31.2 %) and ~32 tokens per cluster; "
        "per-layer ratio shape, WTU buckets per row and the run length of time-adjacent selected tokens "
        "(token-level fetches without cluster layout) from ReSV on synthetic streams. No knob was fitted to "
        "the paper's latencies.",
        f"ReSV on the synthetic streams at 40K: frame ratio {100 * s40.frame_ratio:.1f} % (paper 32.7 %), text "
        f"ratio {100 * s40.text_ratio:.1f} % (paper 2.5 %), {s40.mean_cluster_tokens:.1f} tokens/cluster (paper 32), "
        f"{100 * s40.processed_fraction_frame:.1f} % of each row before exit (paper ~16 %), HC table "
        f"{100 * s40.hc_table_fraction:.2f} % of KV (paper 1.67 %).",
        f"Open parameters (documented knobs): recent KV window from device memory (kvmu.window = '{e.kvmu.window}'; "
        f"the fixed-token form, window = 'tokens' with {e.kvmu.recent_kv_tokens}, is the curve-shape choice of before), "
        f"{e.dre.wtu_buckets} WTU buckets, DRAM efficiency {e.memory.efficiency}, ideal multi-core partitioning, "
        "SSD per Kioxia BG6 class (unverified). GPU model calibration: "
        + "; ".join(f"{n}: {ctx[n]['ga'].components[GPU].calibration.device or 'uncalibrated priors'}"
                    for n in SYSTEMS) + ".",
        "Every latency and energy is archsim.simulate on a video_llm workload (what archsim run gives for the "
        "same [params]): per-frame latency = one frame step (vision tower + projector + LLM prefill of 11 "
        "tokens + LM head) with batch streams in lock-step; TPOT = one answer token; end-to-end = the session "
        "workload. Energy gains are ratios of the Reports' energies (same work on both sides): dynamic energy "
        "priced per action by the tech table (PCIe per bit, SSD per byte) + static power (leakage, DRAM "
        "background, SSD idle; the GPU's idle power) over the makespan.",
    ]
