"""NGPC: a cluster of N neural-field processors (NFPs) beside a GPU (papers/ngpc.md §3).

One NFP = one input-encoding engine (`sub_engines` sub-engines, one per level of the 16-level
hash grid, each with its own grid SRAM) + one MLP engine (a MAC array running the small MLPs
fully fused: weights resident, activations ping-pong between two on-chip buffers). The GPU
keeps the pre/post-processing, fused into one kernel that runs `prepost_fusion_speedup` times
faster than the un-fused kernels (paper: 9.94x, measured in Vulkan).

Ops this block runs:
- `hash_encode`: the encoding engines over the real table addresses of representative batches
  (`archsim.blocks.ngpc.kernels.engine_cycles` on points from `archsim.blocks.ngpc.generator.sample_batch`),
  scaled to the frame: batches of `batch_points` inputs are dealt round-robin to the NFPs.
  `warmup_batches` batches fill the grid caches, then `measured_batches` batches are timed (the
  difference of two runs, so a batch costs its steady-state streaming time; the pipeline fill
  is paid once per frame and left out); the frame takes ceil(batches / N) times the mean batch
  time, plus the load of the level tables that fit in the grid SRAMs (every NFP and every
  parallel copy of a sub-engine loads its own copy, per frame unless `reload_tables_per_frame`
  is false), and never less than its DRAM traffic / bandwidth. Misses of spilled levels share
  the NFP's bandwidth (DRAM bandwidth / N) among its sub-engines in proportion to their miss
  traffic (two passes of the kernel).
- `mlp`: the MAC array per batch with SCALE-Sim's weight-stationary fold timing
  (`archsim.blocks.systolic.kernels.fold_shape` / `sram_counts`, the systolic team's kernels) per
  layer and micro-batch; the micro-batch is what the activation SRAM holds.
- `ng_stage`: the GPU part, evaluated by the GPU-baseline model (the arch's component named
  `gpu_component`, or the arch file `gpu_preset`) and divided by `prepost_fusion_speedup`.

`archsim.simulate` adds op latencies (a serial schedule). `frame_time(spec, results)` composes a
frame the way the paper runs it [Fig. 10b]: per NFP the encoding and MLP engines are pipelined
over batches, and the SMs' fused pre/post kernel for batch n+1 overlaps the NGPC's batch n.
"""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Literal

import attrs
import numpy as np

from archsim.blocks.base import (DramInterface, EvalContext, LinkInterface, OpResult,
                                     SramInstance, Structure)
from archsim.config.load import field
from archsim.errors import ConfigError, ModelError
from archsim.blocks.ngpc import kernels as hg
from archsim.units import DTYPE_BYTES
from archsim.resources import shipped_root

KIND = "ngpc"
SHIPPED_NGPC_DIR = shipped_root() / "arch_configs" / "ngpc"    # the checkout's or the wheel's


@attrs.frozen(kw_only=True)
class EncodingEngineSpec:
    """Input-encoding engine of one NFP [Fig. 9a]. Only `sub_engines` and `grid_sram_kib` are
    from the paper; the rest are open parameters (papers/ngpc.md §3.2, §10)."""
    sub_engines: int = field(16, ge=1, le=256, doc="sub-engines per NFP, one per hashgrid level (paper)")
    lanes: int = field(8, ge=1, le=64, doc="corner requests a sub-engine issues per cycle (open; 2^3)")
    hash_units: int = field(8, ge=1, le=64, doc="grid_index units per sub-engine, one corner index per cycle each (open)")
    interp_units: int = field(8, ge=1, le=64, doc="interpolation units per sub-engine (open)")
    interp_macs_per_unit: int = field(2, ge=1, le=64,
                                      doc="MACs of one interpolation unit; a corner of F features "
                                          "occupies it ceil(F / macs) cycles (open; F = 2)")
    grid_sram_kib: int = field(1024, ge=1, le=1 << 20, doc="grid SRAM per sub-engine (paper: 1 MB)")
    grid_sram_banks: int = field(8, ge=1, le=256, doc="banks of a grid SRAM (open)")
    bank_mapping: Literal["xor", "low_bits"] = field(
        "xor", doc="entry -> bank: XOR-fold of the index bits (needs power-of-two banks) or index mod banks")
    grid_sram_ports: int = field(1, ge=1, le=8, doc="reads per bank per cycle (open)")
    grid_sram_latency_cycles: int = field(2, ge=1, le=64, doc="grid SRAM read latency (open)")
    cache_line_bytes: int = field(32, ge=4, le=4096,
                                  doc="line of the grid SRAM when a level spills (a GPU L2 sector, 32 B)")
    miss_path: Literal["dram", "l2", "ideal"] = field(
        "dram", doc="where a spilled level's misses go; 'ideal' = every level fits (paper silent)")
    dram_latency_ns: float = field(450.0, ge=0.0, le=1e5,
                                   doc="load-to-use DRAM latency through the GPU's L2 (Ampere "
                                       "microbenchmarks report ~400-500 ns; open)")
    l2_latency_ns: float = field(120.0, ge=0.0, le=1e5, doc="L2 hit latency (Ampere ~200 SM cycles; open)")
    mshrs: int = field(256, ge=1, le=65536,
                       doc="outstanding miss lines per sub-engine (open; sized for 450 ns at ~0.5 misses/cycle)")
    fifo_depth: int = field(1024, ge=1, le=65536,
                            doc="FIFO between grid fetch and interpolation, in corner requests (open); "
                                "sized to cover the DRAM latency at the issue rate (450 ns x ~2/cycle)")
    pipeline_depth_cycles: int = field(6, ge=0, le=1024,
                                       doc="pos_fract, grid_index, weights | accumulate, output stages")
    feature_dtype: Literal["fp16", "bf16", "fp32", "int8", "fp8"] = field(
        "fp16", doc="grid feature storage (instant-ngp: fp16; paper silent)")


@attrs.frozen(kw_only=True)
class MlpEngineSpec:
    """MLP engine of one NFP [Fig. 9b]: a rows x cols MAC array (paper: 64 x 64)."""
    rows: int = field(64, ge=1, le=1024, doc="MAC array rows (paper: 64)")
    cols: int = field(64, ge=1, le=1024, doc="MAC array columns (paper: 64)")
    dataflow: Literal["ws", "os", "is"] = field("ws", doc="SCALE-Sim dataflow (paper silent)")
    weight_sram_kib: int = field(64, ge=1, le=1 << 20, doc="resident weights (open)")
    act_sram_kib: int = field(256, ge=1, le=1 << 20,
                              doc="activation SRAM, two ping-pong halves (open); bounds the micro-batch")
    dtype: Literal["fp16", "bf16", "fp32", "int8", "fp8"] = field("fp16", doc="operands (instant-ngp fp16)")


@attrs.frozen(kw_only=True)
class Spec:
    """NGPC-N beside a GPU. Paper values carry their source; the others are open knobs."""
    n_nfp: int = field(8, ge=1, le=4096, doc="NFPs (paper: 8, 16, 32, 64)")
    clock_ghz: float = field(1.0, gt=0.0, le=10.0, doc="NFP clock (paper silent; ~1 GHz implied)")
    batch_points: int = field(4096, ge=16, le=1 << 22, doc="inputs per batch handed to one NFP (open)")
    warmup_batches: int = field(4, ge=1, le=64, doc="representative batches that warm the grid caches first")
    measured_batches: int = field(4, ge=1, le=64, doc="representative batches timed after the warm-up")
    overlap_with_gpu: bool = field(True, doc="SM pre/post of batch n+1 overlaps NGPC batch n [Fig. 10b]")
    prepost_fusion_speedup: float = field(9.94, ge=1.0, le=1000.0,
                                          doc="fused pre/post kernel vs un-fused (paper, Vulkan: 9.94)")
    gpu_component: str = field("gpu", doc="arch component that runs the GPU part")
    gpu_preset: str = field("", doc="GPU arch file (relative to this arch file) if no gpu_component")
    dram_bandwidth_gb_s: float = field(936.0, gt=0.0, le=1e6,
                                       doc="GPU DRAM bandwidth shared by the NFPs (RTX 3090 GDDR6X: 936)")
    dram_technology: Literal["gddr6x", "hbm2e", "hbm3", "hbm3e", "lpddr5", "ddr4"] = field(
        "gddr6x", doc="the GPU's DRAM, for pricing NGPC traffic (RTX 3090: GDDR6X)")
    l2_bandwidth_gb_s: float = field(2000.0, gt=0.0, le=1e6,
                                     doc="L2 bandwidth available to the NGPC (open; GA102 L2 ~2-2.5 TB/s)")
    table_broadcast: bool = field(False, doc="level tables loaded once and multicast to all NFPs")
    reload_tables_per_frame: bool = field(
        True, doc="resident level tables are loaded every frame (paper: 'loaded once and then serves "
                  "every input of the frame'); false = they stay resident across frames of one scene")
    gpu_die_area_mm2: float | None = field(None, gt=0.0, doc="GPU die for the area overhead; "
                                           "None = the GPU part's die_area_mm2 (GA102: 628.4 mm2)")
    gpu_tdp_w: float | None = field(None, gt=0.0, doc="GPU power for the power overhead; None = the "
                                    "GPU part's tdp_w (RTX 3090: 350 W)")
    encoding: EncodingEngineSpec = EncodingEngineSpec()
    mlp: MlpEngineSpec = MlpEngineSpec()


def validate(spec: Spec, file, key: str) -> None:
    e = spec.encoding
    if e.grid_sram_kib * 1024 < e.cache_line_bytes:
        raise ConfigError(file, f"{key}.encoding.cache_line_bytes",
                          f"must be <= the grid SRAM ({e.grid_sram_kib} KiB)")
    if e.cache_line_bytes & (e.cache_line_bytes - 1):
        raise ConfigError(file, f"{key}.encoding.cache_line_bytes", "must be a power of two")
    if e.bank_mapping == "xor" and e.grid_sram_banks & (e.grid_sram_banks - 1):
        raise ConfigError(file, f"{key}.encoding.grid_sram_banks",
                          "must be a power of two with bank_mapping = 'xor' (or use 'low_bits')")
    if not spec.gpu_component and not spec.gpu_preset:
        raise ConfigError(file, f"{key}.gpu_component", "give gpu_component or gpu_preset (the GPU part)")


def supports(spec: Spec, op) -> bool:
    return op.KIND in ("hash_encode", "mlp", "ng_stage")


# ----------------------------------------------------------------------------- GPU part

@functools.lru_cache(maxsize=16)
def _load_gpu_preset(path: str):
    from archsim.config.arch import load_arch
    return load_arch(path)


def gpu_part(spec: Spec, ctx: EvalContext):
    """(module, spec, component name, arch) of the GPU that runs the pre/post-processing."""
    arch = ctx.arch
    if spec.gpu_component and arch is not None and spec.gpu_component in arch.components:
        name = spec.gpu_component
        return arch.component_module(name), arch.components[name], name, arch
    if spec.gpu_preset:
        p = Path(spec.gpu_preset)
        if not p.is_absolute():
            # relative to the arch file; else to the shipped arch_configs/ngpc/ (for user files
            # elsewhere that extend the shipped base.toml)
            cands = [Path(arch.source).parent / p] if arch is not None and arch.source else []
            cands.append(SHIPPED_NGPC_DIR / p)
            p = next((c for c in cands if c.is_file()), cands[0])
        g = _load_gpu_preset(str(p.resolve()))
        name = next(n for n, k in g.component_kinds.items() if k == "gpu")
        return g.component_module(name), g.components[name], name, g
    raise ModelError(f"NGPC component {ctx.component_name!r}: no GPU part (gpu_component "
                     f"{spec.gpu_component!r} not in the arch and no gpu_preset)")


def gpu_die_and_tdp(spec: Spec, ctx: EvalContext) -> tuple[float | None, float | None]:
    """(die area mm2, TDP W) the overheads are relative to: the knobs, else the GPU part's spec."""
    die, tdp = spec.gpu_die_area_mm2, spec.gpu_tdp_w
    if die is None or tdp is None:
        _mod, gspec, _name, _arch = gpu_part(spec, ctx)
        die = die if die is not None else getattr(gspec, "die_area_mm2", None)
        tdp = tdp if tdp is not None else getattr(gspec, "tdp_w", None)
    return die, tdp


def evaluate_gpu_op(spec: Spec, op, ctx: EvalContext) -> OpResult:
    """The op on the GPU alone (the baseline the kernel speedups are measured against)."""
    mod, gspec, name, garch = gpu_part(spec, ctx)
    return mod.evaluate(gspec, op, EvalContext(arch=garch, component_name=name, seed=ctx.seed))


def _eval_stage(spec: Spec, op, ctx: EvalContext) -> OpResult:
    g = evaluate_gpu_op(spec, op, ctx)
    f = spec.prepost_fusion_speedup
    lat = g.latency_s / f
    return OpResult(name=op.name, op=op.KIND, component=ctx.component_name,
                    cycles=int(round(lat * spec.clock_ghz * 1e9)), latency_s=lat, flops=g.flops,
                    dram_bytes=g.dram_bytes / f, bound=g.bound, actions={},
                    energy_j=None if g.energy_j is None else g.energy_j / f,
                    details={"side": "gpu", "gpu_latency_s": g.latency_s, "fusion_speedup": f},
                    latency_error_band=g.latency_error_band)


# ----------------------------------------------------------------------------- encoding engine

def _level_layout(op):
    b = 1.0 if op.levels <= 1 else math.exp(math.log(op.finest_resolution / op.base_resolution) / (op.levels - 1))
    grid = hg.GRID_HASH if op.grid == "hash" else hg.GRID_DENSE
    return (*hg.level_layout(op.dims, op.levels, op.log2_table_size, op.base_resolution, b, grid), grid)


@functools.lru_cache(maxsize=8)      # ~32 MiB each at the default batch; recomputing is cheap
def _corner_entries(op, n_points: int, n_batches: int, seed: int):
    """Per level, the int64 table indices (point-major, corner-minor) of `n_batches` batches of
    `n_points` representative points (the first ones warm the caches up)."""
    from archsim.blocks.ngpc.generator import sample_batch
    scales, res, size, _off, grid = _level_layout(op)
    pts = np.concatenate([sample_batch(op.sampler, n_points, dims=op.dims, seed=seed, batch=b)
                          for b in range(n_batches)])
    if pts.shape[1] != op.dims:
        raise ConfigError("<op>", f"{op.name or op.KIND}.sampler",
                          f"sampler {op.sampler!r} makes {pts.shape[1]}-D points but the op has dims = {op.dims}")
    out = []
    for lv in range(op.levels):
        idx, _w = hg.corner_indices(pts, float(scales[lv]), int(res[lv]), int(size[lv]), grid)
        out.append(idx)
    return tuple(out), size


def _sub_engine_plan(spec: Spec, levels: int):
    """(copies, levels per sub-engine): sub-engines left over by an encoding with fewer levels
    serve more inputs in parallel (paper: densegrid 2, low-res 8); more levels than sub-engines
    run in sequence on one sub-engine."""
    s = spec.encoding.sub_engines
    if levels >= s:
        return 1, math.ceil(levels / s)
    return s // levels, 1


@functools.lru_cache(maxsize=1024)
def encode_batch(spec: Spec, op, seed: int) -> dict:
    """Cycle-level result of one representative batch on one NFP (mean over measured batches)."""
    e = spec.encoding
    b = spec.batch_points
    nb = spec.measured_batches
    nw = spec.warmup_batches
    entries, size = _corner_entries(op, b, nw + nb, seed)
    copies, seq = _sub_engine_plan(spec, op.levels)
    fbytes = DTYPE_BYTES[e.feature_dtype]
    entry_bytes = op.features_per_level * fbytes
    sram_bytes = e.grid_sram_kib * 1024
    corners = 1 << op.dims
    per_s = spec.clock_ghz                                     # cycles per ns
    if e.miss_path == "l2":
        bw, lat_ns = spec.l2_bandwidth_gb_s, e.l2_latency_ns
    else:
        bw, lat_ns = spec.dram_bandwidth_gb_s, e.dram_latency_ns
    line_entries = max(1, e.cache_line_bytes // entry_bytes)
    line_bytes = line_entries * entry_bytes
    miss_latency = int(round(lat_ns * per_s))
    n_sets = max(1, sram_bytes // line_bytes)
    occupancy = math.ceil(op.features_per_level / e.interp_macs_per_unit)
    fits_levels = 0
    load_bytes = 0
    runs = []                                   # (sub-engine, requests, warm-up requests, fits)
    for lv in range(op.levels):
        table_bytes = int(size[lv]) * entry_bytes
        fits = e.miss_path == "ideal" or table_bytes <= sram_bytes
        if fits:
            fits_levels += 1
            load_bytes += table_bytes * copies
        idx = entries[lv].reshape(nw + nb, b, corners)
        for c in range(copies):
            sub = (lv * copies + c) if seq == 1 else lv % e.sub_engines
            full = np.ascontiguousarray(idx[:, c::copies].reshape(-1))
            runs.append((sub, full, idx[:nw, c::copies].size, fits))
    memo = {}

    def run_all(line_cycles):
        counts = np.zeros(hg.N_COUNTS, dtype=np.int64)
        per_sub = np.zeros(e.sub_engines, dtype=np.float64)
        per_run_miss = []
        for k, ((sub, full, n_warm, fits), lc) in enumerate(zip(runs, line_cycles)):
            key = (k, 0.0 if fits else float(lc))    # resident levels do not see the miss channel
            if key not in memo:
                memo[key] = hg.engine_cycles(
                    full, min(e.lanes, e.hash_units), e.grid_sram_banks, e.bank_mapping == "xor",
                    e.grid_sram_ports, e.grid_sram_latency_cycles, fits, n_sets, line_entries,
                    entry_bytes, float(lc), miss_latency, e.mshrs, e.interp_units, occupancy,
                    e.fifo_depth, e.pipeline_depth_cycles, n_warm)
            cyc_full, cnt_full, cyc_warm, cnt_warm = memo[key]
            per_sub[sub] += (cyc_full - cyc_warm) / nb
            counts += cnt_full - cnt_warm
            per_run_miss.append(float(cnt_full[hg.C_MISS_BYTES] - cnt_warm[hg.C_MISS_BYTES]))
        return per_sub, counts, per_run_miss

    # The NFP's share of the miss bandwidth (bw / N) is divided among its sub-engines: first
    # equally, then in proportion to each sub-engine's miss traffic of that first pass (a shared
    # FIFO channel serves whoever asks; an idle sub-engine leaves its share to the others).
    nfp_bw = bw / per_s / spec.n_nfp                           # bytes per NFP cycle
    equal = line_bytes / (nfp_bw / max(len(runs), 1))         # cycles per line (fractional)
    per_sub, counts, miss = run_all([equal] * len(runs))
    total_miss = sum(miss)
    if total_miss > 0:
        lcs = [line_bytes / (nfp_bw * m / total_miss) if m > 0 else equal for m in miss]
        per_sub, counts, _ = run_all(lcs)
    else:
        lcs = [equal] * len(runs)
    miss_line_cycles = min(lcs)
    counts_per_batch = counts.astype(np.float64) / nb
    return {"cycles": float(per_sub.max()), "counts": counts_per_batch,
            "entry_bytes": entry_bytes, "fits_levels": fits_levels, "load_bytes_per_nfp": load_bytes,
            "miss_line_cycles": miss_line_cycles, "miss_latency_cycles": miss_latency,
            "copies": copies}


def _batches(spec: Spec, n_points: int) -> tuple[int, int]:
    total = math.ceil(n_points / spec.batch_points)
    return total, math.ceil(total / spec.n_nfp)


def _eval_encode(spec: Spec, op, ctx: EvalContext) -> OpResult:
    r = encode_batch(spec, op, ctx.seed)
    total_b, per_nfp = _batches(spec, op.n_points)
    frac = op.n_points / (total_b * spec.batch_points)        # last batch partly filled
    c = r["counts"] * total_b * frac                          # frame totals
    compute_cycles = per_nfp * r["cycles"]
    f_hz = spec.clock_ghz * 1e9
    loads = r["load_bytes_per_nfp"] * (1 if spec.table_broadcast else spec.n_nfp) \
        if spec.reload_tables_per_frame else 0.0
    io_in = op.n_points * op.dims * 4.0                       # fp32 coordinates
    miss_bytes = float(c[hg.C_MISS_BYTES])
    l2_misses = spec.encoding.miss_path == "l2"     # misses served by the L2 (never reach DRAM)
    dram = loads + io_in + (0.0 if l2_misses else miss_bytes)
    l2 = loads + io_in + miss_bytes
    dram_bw = spec.dram_bandwidth_gb_s * 1e9
    load_s = loads / dram_bw
    compute_s = compute_cycles / f_hz
    bw_s = max(dram / dram_bw, l2 / (spec.l2_bandwidth_gb_s * 1e9))
    lat = max(compute_s + load_s, bw_s)
    bound = "memory" if bw_s > compute_s + load_s else ("dram_miss" if c[hg.C_MISSES] > 0.05 * c[hg.C_REQUESTS] else "compute")
    eb = r["entry_bytes"]
    corners = 1 << op.dims
    lookups = float(c[hg.C_REQUESTS])
    actions = {
        "sram.grid.read_bytes": float(c[hg.C_HITS]) * eb,
        "sram.grid.write_bytes": miss_bytes + loads,
        "mac.fp16": lookups * op.features_per_level,                       # weight x feature
        "mul.fp32": op.n_points * op.levels * (op.dims + corners * (op.dims - 1)),  # pos_fract + weights
        "mul.int32": lookups * (op.dims - 1),                             # hash: x_d * pi_d (pi_0 = 1)
        "add.int32": lookups * op.dims,                                   # XOR / index accumulate, mask
        "rf.write_bytes": lookups * eb,                                   # FIFOs
        "rf.read_bytes": lookups * eb,
        "dram.read_bytes": dram,
        "link.l2.bytes": l2,
    }
    details = {"side": "ngpc", "stage": "encode", "batch_cycles": r["cycles"],
               "batches": total_b, "batches_per_nfp": per_nfp, "load_s": load_s,
               "compute_s": compute_s, "dram_bound_s": bw_s,
               "grid_hit_rate": float(c[hg.C_HITS] / max(lookups, 1.0)),
               "bank_conflicts_per_lookup": float(c[hg.C_BANK_CONFLICTS] / max(lookups, 1.0)),
               "levels_resident": r["fits_levels"], "levels": op.levels,
               "inputs_in_parallel": r["copies"], "miss_bytes": miss_bytes,
               "table_load_bytes": loads, "io_bytes": io_in}
    return OpResult(name=op.name, op=op.KIND, component=ctx.component_name,
                    cycles=int(math.ceil(lat * f_hz)), latency_s=lat, flops=op.flops(),
                    dram_bytes=dram, bound=bound, actions=actions, details=details)


# ----------------------------------------------------------------------------- MLP engine

def mlp_micro_batch(spec: Spec, op) -> int:
    """Points per pass: two ping-pong activation buffers of the widest layer."""
    m = spec.mlp
    width = max(op.layers)
    mb = (m.act_sram_kib * 1024) // (2 * width * DTYPE_BYTES[m.dtype])
    return int(max(1, min(mb, spec.batch_points)))


def mlp_batch_cycles(spec: Spec, op) -> tuple[int, dict]:
    """Cycles of one batch of `batch_points` inputs through all layers, and per-batch counts.
    Each layer of each micro-batch is one SCALE-Sim GEMM (M = micro-batch, K = d_in, N = d_out)."""
    from archsim.blocks.systolic.kernels import DATAFLOW_CODES, fold_shape, sram_counts
    m = spec.mlp
    df = DATAFLOW_CODES[m.dataflow]
    mb = mlp_micro_batch(spec, op)
    full, rest = divmod(spec.batch_points, mb)
    cycles = 0
    cnt = {"macs": 0, "ifmap_reads": 0, "filter_reads": 0, "ofmap_writes": 0, "ofmap_reads": 0}
    for size, times in ((mb, full), (rest, 1)):
        if size == 0 or times == 0:
            continue
        for k, n in zip(op.layers[:-1], op.layers[1:]):
            _sr, _sc, _t, rf, cf, fold = fold_shape(df, size, n, k, m.rows, m.cols)
            ir, fr, ow, orr = sram_counts(df, size, n, k, m.rows, m.cols)
            cycles += times * int(rf) * int(cf) * int(fold)
            cnt["macs"] += times * size * n * k
            cnt["ifmap_reads"] += times * int(ir)
            cnt["filter_reads"] += times * int(fr)
            cnt["ofmap_writes"] += times * int(ow)
            cnt["ofmap_reads"] += times * int(orr)
    return cycles, {**cnt, "micro_batch": mb}


def _eval_mlp(spec: Spec, op, ctx: EvalContext) -> OpResult:
    m = spec.mlp
    wbytes = sum(a * b for a, b in zip(op.layers[:-1], op.layers[1:])) * DTYPE_BYTES[m.dtype]
    batch_cycles, cnt = mlp_batch_cycles(spec, op)
    total_b, per_nfp = _batches(spec, op.batch)
    f_hz = spec.clock_ghz * 1e9
    dram_bw = spec.dram_bandwidth_gb_s * 1e9
    resident = wbytes <= m.weight_sram_kib * 1024
    # weights: loaded once per NFP if resident, else re-streamed every micro-batch over the L2
    weight_loads = wbytes * spec.n_nfp if resident else \
        wbytes * spec.n_nfp * per_nfp * math.ceil(spec.batch_points / cnt["micro_batch"])
    stream_cycles = 0 if resident else per_nfp * math.ceil(spec.batch_points / cnt["micro_batch"]) * \
        math.ceil(wbytes / (spec.l2_bandwidth_gb_s / spec.clock_ghz / spec.n_nfp))
    compute_s = (per_nfp * batch_cycles + stream_cycles) / f_hz
    out_bytes = op.batch * op.layers[-1] * DTYPE_BYTES[m.dtype]
    dram = out_bytes + weight_loads
    bw_s = dram / dram_bw
    load_s = wbytes * spec.n_nfp / dram_bw if resident else 0.0
    lat = max(compute_s + load_s, bw_s)
    frac = op.batch / (total_b * spec.batch_points)
    scale = total_b * frac
    b = DTYPE_BYTES[m.dtype]
    actions = {
        f"mac.{m.dtype}": float(cnt["macs"]) * scale,
        "sram.mlp_act.read_bytes": (cnt["ifmap_reads"] + cnt["ofmap_reads"]) * b * scale,
        "sram.mlp_act.write_bytes": cnt["ofmap_writes"] * b * scale,
        "sram.mlp_weight.read_bytes": cnt["filter_reads"] * b * scale,
        "sram.mlp_weight.write_bytes": float(weight_loads),
        "dram.read_bytes": float(weight_loads),
        "dram.write_bytes": float(out_bytes),
        "link.l2.bytes": float(dram),
    }
    ideal = op.macs() / (m.rows * m.cols) / spec.n_nfp / f_hz
    details = {"side": "ngpc", "stage": "mlp", "batch_cycles": batch_cycles, "batches": total_b,
               "batches_per_nfp": per_nfp, "micro_batch": cnt["micro_batch"],
               "weights_resident": resident, "load_s": load_s, "compute_s": compute_s,
               "mac_utilization": ideal / compute_s if compute_s else 0.0, "io_bytes": out_bytes}
    return OpResult(name=op.name, op=op.KIND, component=ctx.component_name,
                    cycles=int(math.ceil(lat * f_hz)), latency_s=lat, flops=op.flops(),
                    dram_bytes=dram, bound="memory" if bw_s > compute_s + load_s else "compute",
                    actions=actions, details=details)


# ----------------------------------------------------------------------------- protocol

def evaluate(spec: Spec, op, ctx: EvalContext) -> OpResult:
    if op.KIND == "hash_encode":
        return _eval_encode(spec, op, ctx)
    if op.KIND == "mlp":
        return _eval_mlp(spec, op, ctx)
    if op.KIND == "ng_stage":
        return _eval_stage(spec, op, ctx)
    raise ModelError(f"ngpc cannot run op kind {op.KIND!r}")


def nfp_structure(spec: Spec, count: int = 1) -> Structure:
    """One NFP (or `count` identical ones): encoding engine + MLP engine."""
    e, m = spec.encoding, spec.mlp
    s = e.sub_engines
    enc = Structure(
        name="encoding_engine", kind="ngpc.encoding", clock_ghz=spec.clock_ghz,
        units={"mac.fp16": s * e.interp_units * e.interp_macs_per_unit,    # weight x feature
               "mul.fp32": s * (3 + 2 * e.interp_units),   # pos_fract (3) + corner-weight products
               "mul.int32": s * 2 * e.hash_units,          # two prime multipliers per hash unit
               "add.int32": s * 3 * e.hash_units},         # XOR / dense-index adders
        srams=(SramInstance(name="grid", capacity_bytes=e.grid_sram_kib * 1024,
                            width_bits=32, banks=e.grid_sram_banks, ports=e.grid_sram_ports,
                            count=s),),
        notes={"sub_engines": "paper Fig. 9a: 16 per NFP", "grid": "paper: 1 MB per sub-engine"})
    mlp = Structure(
        name="mlp_engine", kind="ngpc.mlp", clock_ghz=spec.clock_ghz,
        units={f"mac.{m.dtype}": m.rows * m.cols},
        srams=(SramInstance(name="mlp_weight", capacity_bytes=m.weight_sram_kib * 1024,
                            width_bits=16 * m.cols),
               SramInstance(name="mlp_act", capacity_bytes=m.act_sram_kib * 1024,
                            width_bits=16 * m.rows, banks=2)),
        notes={"array": "paper Fig. 9b: 64 x 64 MACs"})
    return Structure(name="nfp", kind="ngpc.nfp", clock_ghz=spec.clock_ghz, children=(enc, mlp),
                     count=count)


def structure(spec: Spec) -> Structure:
    # The NGPC uses the GPU's DRAM (priced per byte); it owns no PHY (bandwidth 0 = no PHY area).
    return Structure(name="ngpc", kind=KIND, clock_ghz=spec.clock_ghz,
                     children=(nfp_structure(spec, spec.n_nfp),),
                     dram=DramInterface(technology=spec.dram_technology, bandwidth_gb_s=0.0),
                     links=(LinkInterface(name="l2", technology="onchip",
                                          bandwidth_gb_s=spec.l2_bandwidth_gb_s),),
                     notes={"n_nfp": "paper: NGPC-8/16/32/64"})


# ----------------------------------------------------------------------------- frame

def frame_time(spec: Spec, results) -> dict:
    """Compose one frame from its per-op results on this component (papers/ngpc.md §7):
    per NFP, encoding and MLP engines pipeline over batches (nb * max(e, m) + min(e, m));
    the GPU's fused pre/post overlaps the NGPC batch pipeline when `overlap_with_gpu`
    (max(T_gpu, T_ngpc) + one wave of the shorter side), else the two add."""
    gpu_s = sum(r.latency_s for r in results if r.details.get("side") == "gpu")
    enc = [r for r in results if r.details.get("stage") == "encode"]
    mlps = [r for r in results if r.details.get("stage") == "mlp"]
    f_hz = spec.clock_ghz * 1e9
    e_c = sum(r.details["batch_cycles"] for r in enc)
    m_c = sum(r.details["batch_cycles"] for r in mlps)
    nb = max([r.details["batches_per_nfp"] for r in enc + mlps] or [0])
    loads = sum(r.details["load_s"] for r in enc + mlps)
    pipe_s = (nb * max(e_c, m_c) + min(e_c, m_c)) / f_hz + loads if nb else 0.0
    dram = sum(r.dram_bytes for r in enc + mlps)
    ngpc_s = max(pipe_s, dram / (spec.dram_bandwidth_gb_s * 1e9))
    if spec.overlap_with_gpu and nb:
        total = max(gpu_s, ngpc_s) + min(gpu_s, ngpc_s) / nb
    else:
        total = gpu_s + ngpc_s
    return {"frame_time_s": total, "gpu_part_s": gpu_s, "ngpc_s": ngpc_s,
            "encode_s": sum(r.latency_s for r in enc), "mlp_s": sum(r.latency_s for r in mlps),
            "ngpc_dram_bytes": dram, "batches_per_nfp": nb,
            "dram_bandwidth_gb_s": dram / ngpc_s / 1e9 if ngpc_s else 0.0}
