"""NGPC: a cluster of N neural-field processors (NFPs) beside a GPU (papers/ngpc.md §3).

One NFP = one input-encoding engine (`sub_engines` sub-engines, one per level of the 16-level
hash grid, each with its own grid SRAM) + one MLP engine (a MAC array running the small MLPs
fully fused: weights resident, activations ping-pong between two on-chip buffers). The GPU
keeps the pre/post-processing, fused into one kernel that runs `prepost_fusion_speedup` times
faster than the un-fused kernels (paper: 9.94x, measured in Vulkan).

Ops this block runs, and where they are placed for the scheduler (archsim.schedule):
- `hash_encode` on `<ngpc>.encoding`: the encoding engines over the real table addresses of
  representative batches (`kernels.engine_cycles` on points from `generator.sample_batch`),
  scaled to the frame: batches of `batch_points` inputs are dealt round-robin to the NFPs.
  `warmup_batches` batches fill the grid caches, then `measured_batches` batches are timed (the
  difference of two runs, so a batch costs its steady-state streaming time; the pipeline fill is
  paid once per frame and left out). The op streams in ceil(batches / N) chunks (the batches per
  NFP, each the mean batch time) after a prologue: the load of the level tables that fit in the
  grid SRAMs (every NFP and every parallel copy of a sub-engine loads its own copy, per frame
  unless `reload_tables_per_frame` is false). It never takes less than its DRAM traffic /
  bandwidth. Misses of spilled levels share the NFP's bandwidth (DRAM bandwidth / N) among its
  sub-engines in proportion to their miss traffic (two passes of the kernel).
- `mlp` on `<ngpc>.mlp`: the MAC array per batch with SCALE-Sim's weight-stationary fold timing
  (`archsim.blocks.systolic.kernels.fold_shape` / `sram_counts`) per layer and micro-batch (what
  the activation SRAM holds); the same chunks as the encoding (one per batch per NFP) after the
  weight load, so the scheduler pipelines MLP batch j behind encoding batch j:
  nb * max(e, m) + min(e, m) + loads for the pair. Consecutive MLPs of a frame (NeRF's density
  and color networks) interleave on the engine batch by batch (`Placement.interleave`): per
  batch the engine runs the first network, then the second, so m is their sum.
- Both engines move their DRAM traffic (table and weight loads, input coordinates, misses of
  spilled levels, MLP outputs) over the NGPC's share of the GPU's DRAM, the channel
  `<ngpc>.dram` of `dram_bandwidth_gb_s`: the scheduler keeps the pipelined pair from moving it
  faster than that (a frame is never shorter than the NGPC's DRAM bytes / bandwidth).
- `ng_stage` on the GPU component's resource (`<gpu>.sm`): evaluated by the GPU component
  `gpu_component` of the same arch (`ctx.evaluate_on`) and divided by `prepost_fusion_speedup`.
  With `overlap_with_gpu` it streams in the NGPC's batches too (ceil(items / batch_points / N)
  chunks) and interleaves batch by batch with the stage before it on the SMs (the stages are one
  fused kernel), so the SMs' pre-processing of batch n+1 and post-processing of batch n-1
  overlap the NFPs' batch n [Fig. 10b]; without it a stage is one piece and the frame runs GPU
  part, NGPC part, GPU part in turn.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from archsim.blocks.base import EvalContext, OpResult, Placement, mapping_pricer, mapping_score
from archsim.blocks.ngpc import kernels as hg
from archsim.blocks.ngpc.spec import Spec, interp_dtype
from archsim.errors import ConfigError, ModelError
from archsim.units import DTYPE_BYTES


def supports(spec: Spec, op) -> bool:
    return op.KIND in ("hash_encode", "mlp", "ng_stage")


def _batches(spec: Spec, n_items: int) -> tuple[int, int]:
    """(batches of the frame, batches per NFP = the chunks the frame streams in)."""
    total = math.ceil(n_items / spec.batch_points)
    return total, math.ceil(total / spec.n_nfp)


# ----------------------------------------------------------------------------- GPU part

def gpu_component(spec: Spec, ctx: EvalContext) -> str:
    """The arch component that runs the GPU part (ConfigError if the arch has none by that name)."""
    arch = ctx.arch
    name = spec.gpu_component
    if name in arch.components and arch.component_kinds[name] == "gpu":
        return name
    gpus = [n for n, k in arch.component_kinds.items() if k == "gpu"]
    raise ConfigError(arch.source or "<arch>", f"components.{ctx.component_name}.gpu_component",
                      f"got {name!r}; allowed: a component of kind gpu in this arch ("
                      + (", ".join(gpus) if gpus else "none: add one, e.g. extends = "
                         "\"../gpu/rtx3090.toml\"") + ")")


def overhead_reference(spec: Spec, arch) -> tuple[float | None, float | None]:
    """(die area mm2, TDP W) the NGPC's area and power overheads are relative to: the knobs,
    else the GPU component's `die_area_mm2` / `tdp_w`."""
    g = arch.components[spec.gpu_component] if spec.gpu_component in arch.components else None
    die = spec.gpu_die_area_mm2 if spec.gpu_die_area_mm2 is not None else getattr(g, "die_area_mm2", None)
    tdp = spec.gpu_tdp_w if spec.gpu_tdp_w is not None else getattr(g, "tdp_w", None)
    return die, tdp


def _eval_stage(spec: Spec, op, ctx: EvalContext) -> OpResult:
    gname = gpu_component(spec, ctx)
    g = ctx.evaluate_on(gname, op)
    f = spec.prepost_fusion_speedup
    lat = g.latency_s / f
    clock = g.clock_ghz
    if clock is None:
        clock = ctx.arch.component_module(gname).structure(ctx.arch.components[gname]).clock_ghz
    chunks = _batches(spec, op.n_elements)[1] if spec.overlap_with_gpu else 1
    actions = {k: (v / f if k.startswith("dram.") else v) for k, v in g.actions.items()}
    return OpResult(name=op.name, op=op.KIND, component=gname,
                    cycles=int(round(lat * clock * 1e9)), latency_s=lat, flops=g.flops,
                    dram_bytes=g.dram_bytes / f, bound=g.bound, actions=actions,
                    energy_j=None if g.energy_j is None else g.energy_j / f,
                    energy_breakdown_j={k: v / f for k, v in g.energy_breakdown_j.items()},
                    details={"fused_by": ctx.component_name, "unfused_latency_s": g.latency_s,
                             "fusion_speedup": f},
                    latency_error_band=g.latency_error_band,
                    placement=Placement(resource=g.resource, chunks=chunks,
                                        interleave=spec.overlap_with_gpu),
                    clock_ghz=clock)


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

    issue_width = min(e.lanes, e.hash_units)

    def run_all(line_cycles):
        counts = np.zeros(hg.N_COUNTS, dtype=np.int64)
        per_sub = np.zeros(e.sub_engines, dtype=np.float64)
        # per sub-engine and batch, the three throughput lower bounds: issue, interpolation and
        # the miss path (its channel occupancy, or its MSHRs over the miss latency: Little's law)
        bounds = np.zeros((3, e.sub_engines), dtype=np.float64)
        per_run_miss = []
        for k, ((sub, full, n_warm, fits), lc) in enumerate(zip(runs, line_cycles)):
            key = (k, 0.0 if fits else float(lc))    # resident levels do not see the miss channel
            if key not in memo:
                memo[key] = hg.engine_cycles(
                    full, issue_width, e.grid_sram_banks, e.bank_mapping == "xor",
                    e.grid_sram_ports, e.grid_sram_latency_cycles, fits, n_sets, line_entries,
                    entry_bytes, float(lc), miss_latency, e.mshrs, e.interp_units, occupancy,
                    e.fifo_depth, e.pipeline_depth_cycles, n_warm)
            cyc_full, cnt_full, cyc_warm, cnt_warm = memo[key]
            cnt = cnt_full - cnt_warm
            per_sub[sub] += (cyc_full - cyc_warm) / nb
            counts += cnt
            req, mis = cnt[hg.C_REQUESTS] / nb, cnt[hg.C_MISSES] / nb
            bounds[0, sub] += req / issue_width
            bounds[1, sub] += req * occupancy / e.interp_units
            bounds[2, sub] += mis * max(float(lc), miss_latency / e.mshrs)
            per_run_miss.append(float(cnt[hg.C_MISS_BYTES]))
        return per_sub, counts, per_run_miss, bounds

    # The NFP's share of the miss bandwidth (bw / N) is divided among its sub-engines: first
    # equally, then in proportion to each sub-engine's miss traffic of that first pass (a shared
    # FIFO channel serves whoever asks; an idle sub-engine leaves its share to the others).
    nfp_bw = bw / per_s / spec.n_nfp                           # bytes per NFP cycle
    equal = line_bytes / (nfp_bw / max(len(runs), 1))         # cycles per line (fractional)
    per_sub, counts, miss, bounds = run_all([equal] * len(runs))
    total_miss = sum(miss)
    if total_miss > 0:
        lcs = [line_bytes / (nfp_bw * m / total_miss) if m > 0 else equal for m in miss]
        per_sub, counts, _, bounds = run_all(lcs)
    else:
        lcs = [equal] * len(runs)
    miss_line_cycles = min(lcs)
    counts_per_batch = counts.astype(np.float64) / nb
    busiest = int(np.argmax(per_sub))
    return {"cycles": float(per_sub.max()), "counts": counts_per_batch,
            "entry_bytes": entry_bytes, "fits_levels": fits_levels, "load_bytes_per_nfp": load_bytes,
            "miss_line_cycles": miss_line_cycles, "miss_latency_cycles": miss_latency,
            "copies": copies,
            "bound_cycles": dict(zip(("issue", "interpolation", "miss_path"),
                                     (float(v) for v in bounds[:, busiest])))}


def _eval_encode(spec: Spec, op, ctx: EvalContext) -> OpResult:
    r = encode_batch(spec, op, ctx.seed)
    e = spec.encoding
    total_b, per_nfp = _batches(spec, op.n_points)
    frac = op.n_points / (total_b * spec.batch_points)        # last batch partly filled
    c = r["counts"] * total_b * frac                          # frame totals
    compute_cycles = per_nfp * r["cycles"]
    f_hz = spec.clock_ghz * 1e9
    loads = r["load_bytes_per_nfp"] * (1 if spec.table_broadcast else spec.n_nfp) \
        if spec.reload_tables_per_frame else 0.0
    io_in = op.n_points * op.dims * 4.0                       # fp32 coordinates
    miss_bytes = float(c[hg.C_MISS_BYTES])
    l2_misses = e.miss_path == "l2"     # misses served by the L2 (never reach DRAM)
    dram = loads + io_in + (0.0 if l2_misses else miss_bytes)
    l2 = loads + io_in + miss_bytes
    dram_bw = spec.dram_bandwidth_gb_s * 1e9
    load_s = loads / dram_bw
    compute_s = compute_cycles / f_hz
    bw_s = max(dram / dram_bw, l2 / (spec.l2_bandwidth_gb_s * 1e9))
    lat = max(compute_s + load_s, bw_s)
    # what limits it: the DRAM/L2 traffic of the whole op, else the largest per-batch
    # throughput bound of the busiest sub-engine (issue, interpolation or the miss path)
    bc = r["bound_cycles"]
    if bw_s > compute_s + load_s:
        bound = "memory"
    elif bc["miss_path"] > max(bc["issue"], bc["interpolation"]):
        bound = f"{e.miss_path}_miss"
    else:
        bound = "compute"
    eb = r["entry_bytes"]
    corners = 1 << op.dims
    lookups = float(c[hg.C_REQUESTS])
    actions = {
        "sram.grid.read_bytes": float(c[hg.C_HITS]) * eb,
        "sram.grid.write_bytes": miss_bytes + loads,
        f"mac.{interp_dtype(e)}": lookups * op.features_per_level,        # weight x feature
        "mul.fp32": op.n_points * op.levels * (op.dims + corners * (op.dims - 1)),  # pos_fract + weights
        "mul.int32": lookups * (op.dims - 1),                             # hash: x_d * pi_d (pi_0 = 1)
        "add.int32": lookups * op.dims,                                   # XOR / index accumulate, mask
        "rf.write_bytes": lookups * eb,                                   # FIFOs
        "rf.read_bytes": lookups * eb,
        "dram.read_bytes": dram,
        "link.l2.bytes": l2,
    }
    details = {"batch_cycles": r["cycles"], "batches": total_b, "batches_per_nfp": per_nfp,
               "load_s": load_s, "compute_s": compute_s, "dram_bound_s": bw_s,
               "bound_cycles_per_batch": bc,
               "grid_hit_rate": float(c[hg.C_HITS] / max(lookups, 1.0)),
               "bank_conflicts_per_lookup": float(c[hg.C_BANK_CONFLICTS] / max(lookups, 1.0)),
               "levels_resident": r["fits_levels"], "levels": op.levels,
               "inputs_in_parallel": r["copies"], "miss_bytes": miss_bytes,
               "table_load_bytes": loads, "io_bytes": io_in}
    return OpResult(name=op.name, op=op.KIND, component=ctx.component_name,
                    cycles=int(math.ceil(lat * f_hz)), latency_s=lat, flops=op.flops(),
                    dram_bytes=dram, bound=bound, actions=actions, details=details,
                    placement=Placement(resource=f"{ctx.component_name}.encoding", chunks=per_nfp,
                                        prologue_s=load_s, channel=f"{ctx.component_name}.dram",
                                        channel_s=dram / dram_bw))


# ----------------------------------------------------------------------------- MLP engine

def mlp_micro_batch(spec: Spec, op) -> int:
    """Points per pass: two ping-pong activation buffers of the widest layer."""
    m = spec.mlp
    width = max(op.layers)
    mb = (m.act_sram_kib * 1024) // (2 * width * DTYPE_BYTES[m.dtype])
    return int(max(1, min(mb, spec.batch_points)))


def mlp_batch_cycles(spec: Spec, op, dataflow: str | None = None, transposed: bool = False,
                     micro_batch: int | None = None) -> tuple[int, dict]:
    """Cycles of one batch of `batch_points` inputs through all layers, and per-batch counts.
    Each layer of each micro-batch is one SCALE-Sim GEMM (M = micro-batch, K = d_in, N = d_out;
    `transposed`: M = d_out, N = micro-batch, the weights streaming where the activations did)
    under `dataflow` (default `mlp.dataflow`), micro-batches of `micro_batch` points (default
    `mlp_micro_batch`); with `mlp.timing = "full_utilization"` a layer takes its MACs / array
    size cycles (SRAM counts stay the fold model's). Counts: `ifmap_reads` are reads of the
    activation operand, `filter_reads` of the weights, whichever array edge they enter."""
    from archsim.blocks.systolic.kernels import DATAFLOW_CODES, fold_shape, sram_counts
    m = spec.mlp
    df = DATAFLOW_CODES[dataflow or m.dataflow]
    mb = micro_batch or mlp_micro_batch(spec, op)
    full, rest = divmod(spec.batch_points, mb)
    cycles = 0
    cnt = {"macs": 0, "ifmap_reads": 0, "filter_reads": 0, "ofmap_writes": 0, "ofmap_reads": 0}
    for size, times in ((mb, full), (rest, 1)):
        if size == 0 or times == 0:
            continue
        for k, n in zip(op.layers[:-1], op.layers[1:]):
            gm, gn = (n, size) if transposed else (size, n)
            _sr, _sc, _t, rf, cf, fold = fold_shape(df, gm, gn, k, m.rows, m.cols)
            ir, fr, ow, orr = sram_counts(df, gm, gn, k, m.rows, m.cols)
            if transposed:
                ir, fr = fr, ir
            if m.timing == "full_utilization":
                cycles += times * math.ceil(size * n * k / (m.rows * m.cols))
            else:
                cycles += times * int(rf) * int(cf) * int(fold)
            cnt["macs"] += times * size * n * k
            cnt["ifmap_reads"] += times * int(ir)
            cnt["filter_reads"] += times * int(fr)
            cnt["ofmap_writes"] += times * int(ow)
            cnt["ofmap_reads"] += times * int(orr)
    return cycles, {**cnt, "micro_batch": mb}


def mlp_micro_batches(spec: Spec, op) -> list[int]:
    """The micro-batches the mapper tries: the largest the activation SRAM holds
    (`mlp_micro_batch`), then, with `mapping_micro_batch`, every power of two below it."""
    top = mlp_micro_batch(spec, op)
    out = [top]
    if spec.mlp.mapping_micro_batch:
        p = 1 << (top.bit_length() - 1)
        if p == top:
            p //= 2
        while p >= 1:
            out.append(p)
            p //= 2
    return out


def mlp_candidates(spec: Spec, op) -> list[tuple[str, bool, int]]:
    """The MLP mapper's (dataflow, transposed, micro-batch) candidates, in tie-break order: the
    fixed mapping first, then every dataflow of `mapping_dataflows` (plain, then transposed with
    `mapping_transpose`) at every micro-batch of `mlp_micro_batches`."""
    m = spec.mlp
    out = [(m.dataflow, False, mlp_micro_batch(spec, op))]
    for df in m.mapping_dataflows:
        for tr in ((False, True) if m.mapping_transpose else (False,)):
            for mb in mlp_micro_batches(spec, op):
                if (df, tr, mb) not in out:
                    out.append((df, tr, mb))
    return out


def mlp_candidate_name(dataflow: str, transposed: bool) -> str:
    """The Report's name of a group of candidates (its score is its best micro-batch's)."""
    return f"{dataflow}-t" if transposed else dataflow


def _mlp_result(spec: Spec, op, ctx: EvalContext, dataflow: str, transposed: bool,
                micro_batch: int) -> OpResult:
    m = spec.mlp
    wbytes = sum(a * b for a, b in zip(op.layers[:-1], op.layers[1:])) * DTYPE_BYTES[m.dtype]
    batch_cycles, cnt = mlp_batch_cycles(spec, op, dataflow, transposed, micro_batch)
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
    details = {"batch_cycles": batch_cycles, "batches": total_b, "batches_per_nfp": per_nfp,
               "micro_batch": cnt["micro_batch"], "weights_resident": resident, "load_s": load_s,
               "compute_s": compute_s, "mac_utilization": ideal / compute_s if compute_s else 0.0,
               "io_bytes": out_bytes, "mapping": m.mapping, "dataflow": dataflow,
               "transposed": transposed}
    return OpResult(name=op.name, op=op.KIND, component=ctx.component_name,
                    cycles=int(math.ceil(lat * f_hz)), latency_s=lat, flops=op.flops(),
                    dram_bytes=dram, bound="memory" if bw_s > compute_s + load_s else "compute",
                    actions=actions, details=details,
                    placement=Placement(resource=f"{ctx.component_name}.mlp", chunks=per_nfp,
                                        prologue_s=load_s, interleave=True,
                                        channel=f"{ctx.component_name}.dram", channel_s=bw_s))


def _eval_mlp(spec: Spec, op, ctx: EvalContext) -> OpResult:
    """The MLP on the MLP engine: the fixed mapping (`mlp.dataflow`, batch x d_out, the largest
    micro-batch), or with `mlp.mapping = "search"` the best of `mlp_candidates` for
    `mlp.mapping_objective` (ties: the first listed, so the fixed mapping wins them). Energy =
    the op's dynamic energy as the energy layer prices it + the arch's static power over its
    latency."""
    m = spec.mlp
    if m.mapping != "search":
        return _mlp_result(spec, op, ctx, m.dataflow, False, mlp_micro_batch(spec, op))
    pricer = mapping_pricer(ctx, m.mapping_objective, "mlp.mapping_objective")
    best, best_v, scores = None, math.inf, {}
    for i, (df, tr, mb) in enumerate(mlp_candidates(spec, op)):
        r = _mlp_result(spec, op, ctx, df, tr, mb)
        energy = None
        if m.mapping_objective != "cycles":
            energy = pricer(r.actions) + pricer.static_w * r.latency_s
        v = mapping_score(m.mapping_objective, r.cycles, r.latency_s, energy)
        if i == 0:
            scores["fixed"] = v
        name = mlp_candidate_name(df, tr)
        scores[name] = min(v, scores.get(name, math.inf))
        if v < best_v:
            best, best_v = r, v
    best.details["mapping_objective"] = m.mapping_objective
    best.details["mapping_candidates"] = scores
    return best


# ----------------------------------------------------------------------------- protocol

EVALUATORS = {"hash_encode": _eval_encode, "mlp": _eval_mlp, "ng_stage": _eval_stage}


def evaluate(spec: Spec, op, ctx: EvalContext) -> OpResult:
    fn = EVALUATORS.get(op.KIND)
    if fn is None:
        raise ModelError(f"ngpc cannot run op kind {op.KIND!r}; it runs " + ", ".join(EVALUATORS))
    return fn(spec, op, ctx)
