"""Systolic array (archsim's own model): R x C MAC array, dataflow OS / WS / IS, three
double-buffered SRAMs (ifmap, filter, ofmap) and a DRAM interface.

Fold semantics follow SCALE-Sim; the memory model fixes SCALE-Sim's quirks (docs/systolic.md,
archsim/blocks/systolic/kernels.py). The SCALE-Sim-exact compatibility mode is a separate model
(archsim/scalesim_compat/kernels.py, `archsim scalesim`).

Runs `gemm` (batch folds into M: the `batch` instances share the B operand, as in a linear
layer applied to a batch) and `conv2d` (SCALE-Sim topology semantics: 'valid' convolution).
With `vector_lanes` > 0 (a TPU-like vector unit) it also runs `elementwise` and `copy`
(streamed through the DRAM interface, `vector_lanes` operations per cycle), and then the LLM op
kinds and `attention` as their lowering to GEMMs and element-wise passes
(archsim.workloads.llm.ops; docs/llm.md).
"""
from __future__ import annotations

from typing import NamedTuple

import math
import time

import numpy as np

from archsim import jit
from archsim.blocks.base import OpResult, evaluate_lowered, mapping_pricer, mapping_score
from archsim.blocks.systolic import kernels as K
from archsim.blocks.systolic.spec import KIND, Spec
from archsim.errors import ModelError
from archsim.units import HZ_PER_GHZ
from archsim.workloads.llm.ops import lower_attention
from archsim.workloads.ops import Attention, Conv2d, Copy, Elementwise, Gemm


def _lowering(op):
    if isinstance(op, Attention):
        return lower_attention(op)
    return op.lower() if hasattr(op, "lower") else None


def supports(spec: Spec, op) -> bool:
    if isinstance(op, (Gemm, Conv2d)):
        return True
    if isinstance(op, (Elementwise, Copy)):
        return spec.vector_lanes > 0
    parts = _lowering(op)
    return parts is not None and all(supports(spec, sub) for sub, _ in parts)


class _Lowered:
    """An op with a fixed lowering (core attention has no `lower` of its own)."""
    def __init__(self, op, parts):
        self.op, self.parts = op, parts
        self.KIND, self.name = op.KIND, op.name

    def lower(self):
        return self.parts


def _vector(spec: Spec, op, ctx) -> OpResult:
    """Element-wise pass / copy on the vector lanes, streamed through the DRAM interface."""
    flops = op.flops() if isinstance(op, Elementwise) else 0.0
    nbytes = op.min_bytes()
    bw_bytes = spec.dram_bandwidth_words_per_cycle * spec.word_bytes * (3 if spec.dram_channels == "per_operand" else 1)
    comp = math.ceil(flops / spec.vector_lanes)
    mem = math.ceil(nbytes / bw_bytes)
    cycles = max(comp, mem, 1)
    rd = nbytes * op.n_inputs / (op.n_inputs + 1) if isinstance(op, Elementwise) else nbytes / 2
    return OpResult(name=op.name or op.KIND, op=op.KIND, component=ctx.component_name if ctx else KIND,
                    cycles=cycles, latency_s=cycles / (spec.clock_ghz * HZ_PER_GHZ), flops=flops,
                    dram_bytes=float(nbytes), bound="compute" if comp >= mem else "memory",
                    actions={f"add.{spec.dtype}": float(flops), "dram.read_bytes": float(rd),
                             "dram.write_bytes": float(nbytes - rd)},
                    details={"unit": "vector", "vector_lanes": spec.vector_lanes,
                             "compute_cycles": comp, "dram_cycles": mem})


def memory_capacity_bytes(spec: Spec) -> float | None:
    return spec.dram_capacity_gib * 2**30 if spec.dram_capacity_gib > 0 else None


def roofline_peaks(spec: Spec, op) -> tuple[float, float]:
    """(peak FLOP/s: 2 x rows x cols x clock for GEMM work, vector_lanes x clock for element-wise
    work; DRAM bytes/s)."""
    vec = isinstance(op, (Elementwise, Copy)) or op.KIND in ("norm", "rope", "kv_write", "embedding")
    per_cycle = spec.vector_lanes if vec else 2 * spec.rows * spec.cols
    return per_cycle * spec.clock_ghz * HZ_PER_GHZ, spec.dram_bandwidth_gb_s() * 1e9


def layer_geometry(op) -> tuple[int, int, int, int, int, int, int]:
    """(ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters, stride) in SCALE-Sim's
    conv form; a GEMM M x K @ K x N is ifmap M x K, filter 1 x K, 1 channel, N filters."""
    if isinstance(op, Gemm):
        return (op.batch * op.m, op.k, 1, op.k, 1, op.n, 1)
    return (op.ifmap_h, op.ifmap_w, op.filter_h, op.filter_w, op.channels, op.num_filters,
            op.stride)


def transposable(op) -> bool:
    """Whether the op's im2col windows do not overlap, so its GEMM can run transposed (the
    memory model then treats both operands alike)."""
    h, w, fh, fw, ch, nf, s = layer_geometry(op)
    eh, ew = (h - fh + s) // s, (w - fw + s) // s
    return not ((eh > 1 and fh > s) or (ew > 1 and fw > s))


def transposed_geometry(op) -> tuple[int, int, int, int, int, int, int]:
    """The transposed GEMM ofmap^T[N, M] = filter^T[N, K] @ ifmap^T[K, M] in the kernel's GEMM
    form (ifmap N x K, filter 1 x K, M 'filters'): the weights stream as the 'ifmap' operand."""
    h, w, fh, fw, ch, nf, s = layer_geometry(op)
    m = ((h - fh + s) // s) * ((w - fw + s) // s)
    k = fh * fw * ch
    return (nf, k, 1, k, 1, m, 1)


MAX_TEMPORAL_TILES = 256     # bounds the mapper's work (one kernel run per sub-layer), not a hardware limit


def _out_dims(geom) -> tuple[int, int]:
    h, w, fh, fw, ch, nf, s = geom
    return (h - fh + s) // s, (w - fw + s) // s


def temporal_tiles(spec: Spec, geom, dataflow: str) -> int:
    """The fewest sub-layers along the streamed dimension T (WS: whole output rows of M; IS:
    filters of N) whose partial-sum tile T' x cols fits the ofmap SRAM, for a WS/IS layer whose
    whole tile T x cols would spill (kernels._fold_traffic); 1 when nothing spills, when one
    output row alone overflows, or beyond MAX_TEMPORAL_TILES."""
    if dataflow == "os":
        return 1
    z = _layer_sizes(spec, geom, dataflow)
    if z["row_folds"] == 1:                       # no accumulation across row folds
        return 1
    so = spec.sram_words()[2]
    cols_used = min(spec.cols, z["n"] if dataflow == "ws" else z["m"])
    t = z["m"] if dataflow == "ws" else z["n"]
    if t * cols_used <= so:
        return 1
    if dataflow == "ws":
        eh, ew = _out_dims(geom)
        per = so // (ew * cols_used)              # whole output rows per sub-layer
        tiles = -(-eh // per) if per else 0
    else:
        per = so // cols_used
        tiles = -(-t // per) if per else 0
    return tiles if 1 < tiles <= MAX_TEMPORAL_TILES else 1


def temporal_split(geom, dataflow: str, tiles: int) -> list[tuple]:
    """The sub-layer geometries of `temporal_tiles` (WS: output-row bands, each with its input
    halo; IS: filter groups), in order."""
    h, w, fh, fw, ch, nf, s = geom
    out = []
    if dataflow == "ws":
        eh, _ew = _out_dims(geom)
        per = -(-eh // tiles)
        for r0 in range(0, eh, per):
            r = min(per, eh - r0)
            out.append(((r - 1) * s + fh, w, fh, fw, ch, nf, s))
    else:
        per = -(-nf // tiles)
        for n0 in range(0, nf, per):
            out.append((h, w, fh, fw, ch, min(per, nf - n0), s))
    return out


class Candidate(NamedTuple):
    """One mapping the systolic mapper evaluates."""
    dataflow: str
    transposed: bool = False        # the GEMM ofmap^T = filter^T x ifmap^T
    tiles: int = 1                  # temporal sub-layers against the ofmap SRAM
    row_outer: bool = False         # fold loop order: row folds outer


def loop_orders(spec: Spec, geom, dataflow: str) -> tuple[bool, ...]:
    """The fold loop orders the mapper tries (row_outer flags): column folds outer, and with
    `mapping_loop_order` row folds outer, unless there is one row or one column fold (the same
    order) or the layer is IS with overlapping windows (kernels.layer_into refuses it)."""
    if not spec.mapping_loop_order:
        return (False,)
    z = _layer_sizes(spec, geom, dataflow)
    if z["row_folds"] == 1 or z["col_folds"] == 1 or (dataflow == "is" and z["overlap"]):
        return (False,)
    return (False, True)


def candidates(spec: Spec, op) -> list[Candidate]:
    """The mapper's candidates for op, in tie-break order: each dataflow, on the transposed
    GEMM where allowed, in each loop order of `loop_orders`, then (with `mapping_tiling`) tiled
    against the ofmap SRAM where its partial sums would spill."""
    out = []
    for df in spec.mapping_dataflows:
        for tr in ((False, True) if spec.mapping_transpose and transposable(op) else (False,)):
            geom = _geometry(op, tr)
            for ro in loop_orders(spec, geom, df):
                out.append(Candidate(df, tr, 1, ro))
            if spec.mapping_tiling:
                n = temporal_tiles(spec, geom, df)
                if n > 1:
                    out.append(Candidate(df, tr, n, False))
    return out


def action_keys(spec: Spec) -> tuple[str, ...]:
    """The block's action keys, in the order of kernels.action_counts' slots."""
    return (f"mac.{spec.dtype}", "sram.ifmap.read_bytes", "sram.ifmap.write_bytes",
            "sram.filter.read_bytes", "sram.filter.write_bytes", "sram.ofmap.write_bytes",
            "sram.ofmap.read_bytes", "dram.read_bytes", "dram.write_bytes")


# Until numba is loaded, small layers run the kernel as Python (same numbers): a short run
# (one network on a large array) then finishes before numba would have started (~0.5 s).
# A process spends at most this much interpreted time; then it loads numba.
INTERPRET_BUDGET_S = 0.15
INTERPRET_MAX_FOLDS = 4096
_interpreted_s = 0.0


# ----------------------------------------------------------------------------- size guards
# Per-trip costs of simulate_layer, measured on a 2-core x86 machine (numba, warm) and rounded
# up: ~60 ns per fold, ~1 ns per ifmap element visited by the unique-word count.
FOLD_STEP_S = 1.0e-7
STAMP_STEP_S = 2.0e-9


def _layer_sizes(spec: Spec, geom, dataflow: str) -> dict:
    """Exact (Python int) sizes the kernel forms for a layer of geometry `geom` (the kernel's
    conv form) under `dataflow`."""
    h, w, fh, fw, ch, nf, s = geom
    eh = (h - fh + s) // s
    ew = (w - fw + s) // s
    m, k, n = eh * ew, fh * fw * ch, nf
    r, c = spec.rows, spec.cols
    if dataflow == "os":
        s_r, s_c, t = m, n, k
        fold = t + r + c - 2
    elif dataflow == "ws":
        s_r, s_c, t = k, n, m
        fold = 2 * r + c + t - 2
    else:
        s_r, s_c, t = k, m, n
        fold = 2 * r + c + t - 2
    rf, cf = -(-s_r // r), -(-s_c // c)
    overlap = (eh > 1 and fh > s) or (ew > 1 and fw > s)
    return {"m": m, "k": k, "n": n, "row_folds": rf, "col_folds": cf, "folds": rf * cf,
            "fold_cycles": fold, "ifmap_elements": h * w * ch, "overlap": overlap}


def _geometry(op, transposed: bool):
    return transposed_geometry(op) if transposed else layer_geometry(op)


def work_estimate(spec: Spec, op):
    """Simulation time and memory of `simulate_layer` for this op (archsim.plausibility): every
    mapper candidate (dataflow, transposed) runs the kernel once; a lowered op costs the sum of
    its parts, vector work is closed form."""
    from archsim.limits import Work
    if isinstance(op, (Elementwise, Copy)):
        return Work(1e-5, 0.0, "vector pass (closed form)")
    if not isinstance(op, (Gemm, Conv2d)):
        parts = _lowering(op) or []
        ws = [work_estimate(spec, sub) for sub, _ in parts]
        return Work(sum(w.seconds for w in ws), max((w.bytes for w in ws), default=0.0),
                    f"{len(ws)} lowered parts" + (f": {ws[0].what}, ..." if ws else ""))
    seconds, mem, folds_all, visits_all = 0.0, 0.0, 0, 0
    cands = (candidates(spec, op) if spec.mapping == "search" else []) or [Candidate(spec.dataflow)]
    for df, tr, _tiles, _ro in cands:
        z = _layer_sizes(spec, _geometry(op, tr), df)     # tiles: the same folds, split
        # the unique-ifmap-word count visits every im2col element of every new ifmap tile: at
        # most M*K per column fold (OS / WS with the ifmap resident), M*K in all for IS
        visits = z["m"] * z["k"] * (1 if df == "is" else z["col_folds"]) if z["overlap"] else 0
        seconds += z["folds"] * FOLD_STEP_S + visits * STAMP_STEP_S
        mem = max(mem, (4 * z["ifmap_elements"] if z["overlap"] else 0) + 8 * (z["row_folds"] if z["overlap"] else 1))
        folds_all += z["folds"]
        visits_all += visits
    what = f"{folds_all:.3g} folds of {spec.rows}x{spec.cols}" + (
        f" over {len(cands)} mapper candidates" if len(cands) > 1 else "")
    if visits_all:
        what += f", {visits_all:.3g} im2col elements scanned"
    return Work(float(seconds), float(mem), what)


def check_ranges(spec: Spec, op, dataflow: str, transposed: bool = False) -> None:
    """Refuse (ModelError) a layer whose exact int64 counts could overflow (archsim.plausibility
    policy: every count below 2**62, checked here in Python's unbounded integers)."""
    from archsim.limits import check_counts
    z = _layer_sizes(spec, _geometry(op, transposed), dataflow)
    m, k, n, rf, cf = z["m"], z["k"], z["n"], z["row_folds"], z["col_folds"]
    label = f"op {op.name or op.KIND!r} ({op.KIND} on {spec.rows}x{spec.cols} {dataflow})"
    fold_max = max(rf, cf)
    words = (m * k + k * n + 2 * m * n) * fold_max       # bounds every SRAM / DRAM word count
    check_counts({"macs": m * n * k, "sram/dram words": words,
                  "compute cycles": z["folds"] * z["fold_cycles"],
                  "ifmap elements": z["ifmap_elements"]},
                 op_label=label, hint="the op is too large to count exactly; split it (e.g. a "
                 "smaller batch or m) and use repeat")
    # cycles: compute plus at most the DRAM time of every word, twice (gap and period)
    bw = spec.dram_bandwidth_words_per_cycle
    bound = z["folds"] * z["fold_cycles"] + 2.0 * words / bw + 2.0
    if not bound < float(2 ** 62):
        raise ModelError(f"{label}: its cycle count could reach {bound:.3e}, beyond the exact range "
                         f"of the model's counters (2**62), with dram_bandwidth_words_per_cycle = "
                         f"{bw!r}; use a bandwidth of at least {words / 2 ** 60:.3g} words/cycle or "
                         "a smaller op")


# slots that describe the fold geometry, not amounts: a tiled layer keeps its first tile's
# (T_LEN sums to the whole T; OFMAP_SPILL is the worst tile's)
_GEOMETRY_SLOTS = (K.ROW_FOLDS, K.COL_FOLDS, K.FOLD_CYCLES, K.S_R, K.S_C)


def run_raw(spec: Spec, op, dataflow: str, transposed: bool = False, tiles: int = 1,
            row_outer: bool = False):
    """The kernel's raw int64 slots for `op` under `dataflow` (on its transposed GEMM; with
    `tiles` > 1 as the `temporal_split` sub-layers run back to back: amounts add up; folds in
    the `row_outer` loop order)."""
    check_ranges(spec, op, dataflow, transposed)
    geom = transposed_geometry(op) if transposed else layer_geometry(op)
    if tiles <= 1:
        return _run_geometry(spec, geom, dataflow, row_outer)
    parts = [_run_geometry(spec, g, dataflow, row_outer) for g in temporal_split(geom, dataflow, tiles)]
    raw = np.sum(parts, axis=0)
    for slot in _GEOMETRY_SLOTS:
        raw[slot] = parts[0][slot]
    raw[K.OFMAP_SPILL] = max(p[K.OFMAP_SPILL] for p in parts)
    return raw


def _run_geometry(spec: Spec, geom, dataflow: str, row_outer: bool = False):
    global _interpreted_s
    si, sf, so = spec.sram_words()
    args = (K.DATAFLOW_CODES[dataflow], spec.rows, spec.cols, *geom, si, sf, so,
            float(spec.dram_bandwidth_words_per_cycle), spec.dram_channels == "per_operand",
            spec.fold_overlap, row_outer)
    if not jit.ready() and _interpreted_s < INTERPRET_BUDGET_S:
        g = args[3:10]
        eh, ew = (g[0] - g[2] + g[6]) // g[6], (g[1] - g[3] + g[6]) // g[6]
        *_, rf, cf, _fold = K.fold_shape.py_func(args[0], eh * ew, g[5], g[2] * g[3] * g[4],
                                                  spec.rows, spec.cols)
        if rf * cf <= INTERPRET_MAX_FOLDS:
            t0 = time.perf_counter()
            with jit.interpreted():
                raw = K.simulate_layer(*args)
            _interpreted_s += time.perf_counter() - t0
            return raw
    return K.simulate_layer(*args)


def run_kernel(spec: Spec, op, dataflow: str | None = None):
    """The kernel's raw result: dict slot name -> int."""
    raw = run_raw(spec, op, dataflow or spec.dataflow)
    return {name: int(v) for name, v in zip(K.SLOT_NAMES, raw)}


def actions_of(spec: Spec, raw) -> dict[str, float]:
    # nine multiplications: as Python (the same arithmetic), whether or not numba is loaded
    counts = K.action_counts.py_func(raw, spec.word_bytes, np.zeros(K.N_ACTIONS))
    return {k: float(v) for k, v in zip(action_keys(spec), counts)}


def candidate_name(c: Candidate) -> str:
    """`ws`, `ws-t` (transposed), `ws-r` (row folds outer), `ws-x4` (4 sub-layers), combined."""
    return (f"{c.dataflow}{'-t' if c.transposed else ''}{'-r' if c.row_outer else ''}"
            f"{f'-x{c.tiles}' if c.tiles > 1 else ''}")


def choose_dataflow(spec: Spec, op, ctx) -> tuple[Candidate, dict[str, float]]:
    """The mapper: every candidate of `candidates` (each dataflow of `mapping_dataflows`, its
    transposed GEMM where allowed, each untiled and tiled against the ofmap SRAM where that
    avoids a partial-sum spill) evaluated on the op, the one with the lowest
    `mapping_objective` kept (ties: the first listed). Energy = the op's dynamic energy as the
    energy layer prices it + the arch's static power over the op's latency (their sum over a
    chain of ops is the run's energy). Returns (the chosen Candidate, {candidate name: score})."""
    pricer = mapping_pricer(ctx, spec.mapping_objective, "mapping_objective")
    hz = spec.clock_ghz * HZ_PER_GHZ
    best, best_v, scores = None, math.inf, {}
    for cand in candidates(spec, op):
        raw = run_raw(spec, op, *cand)
        cycles = int(raw[K.TOTAL_CYCLES])
        lat = cycles / hz
        energy = None
        if spec.mapping_objective != "cycles":
            energy = pricer(actions_of(spec, raw)) + pricer.static_w * lat
        v = mapping_score(spec.mapping_objective, cycles, lat, energy)
        scores[candidate_name(cand)] = v
        if v < best_v:
            best, best_v = cand, v
    return best, scores


def _peak_sram_bw(spec: Spec, r: dict, dataflow: str) -> tuple[int, int, int]:
    """Peak words per cycle the array moves to/from each SRAM (rows / cols in use)."""
    rows_used = min(spec.rows, r["s_r"])
    cols_used = min(spec.cols, r["s_c"])
    if dataflow == "os":
        return rows_used, cols_used, cols_used
    if dataflow == "ws":   # filter preload writes one row of cols_used words per cycle
        return rows_used, cols_used, cols_used
    return cols_used, rows_used, cols_used   # is: ifmap preload one row per cycle


def evaluate(spec: Spec, op, ctx) -> OpResult:
    if isinstance(op, (Elementwise, Copy)):
        return _vector(spec, op, ctx)
    if not isinstance(op, (Gemm, Conv2d)):
        return evaluate_lowered(evaluate, spec, _Lowered(op, _lowering(op)), ctx)
    scores = None
    cand = Candidate(spec.dataflow)
    if spec.mapping == "search":
        cand, scores = choose_dataflow(spec, op, ctx)
    dataflow, transposed, tiles = cand.dataflow, cand.transposed, cand.tiles
    raw = run_raw(spec, op, *cand)
    r = {name: int(v) for name, v in zip(K.SLOT_NAMES, raw)}
    wb = spec.word_bytes
    bw = spec.dram_bandwidth_words_per_cycle
    macs = r["macs"]
    total = r["total_cycles"]
    compute = r["compute_cycles"]
    pes = spec.rows * spec.cols
    dram_rd = r["dram_ifmap_reads"] + r["dram_filter_reads"] + r["dram_ofmap_reads"]
    dram_wr = r["dram_ofmap_writes"]
    busy = {"ifmap": r["dram_ifmap_reads"] / bw, "filter": r["dram_filter_reads"] / bw,
            "ofmap": (r["dram_ofmap_writes"] + r["dram_ofmap_reads"]) / bw}
    dram_time = max(busy.values()) if spec.dram_channels == "per_operand" else sum(busy.values())
    bound = "memory" if dram_time > compute else "compute"
    pk_i, pk_f, pk_o = _peak_sram_bw(spec, r, dataflow)
    folds_per_tile = r["row_folds"] * r["col_folds"]
    folds = folds_per_tile * tiles
    actions = actions_of(spec, raw)
    m, n, k = r["s_r"], r["s_c"], r["t"]
    if dataflow == "ws":
        m, n, k = r["t"], r["s_c"], r["s_r"]
    elif dataflow == "is":
        m, n, k = r["s_c"], r["t"], r["s_r"]
    if transposed:              # the kernel ran ofmap^T: its M is the op's N
        m, n = n, m
    details = {
        "model": "archsim systolic (fold model per SCALE-Sim, fixed memory model; docs/systolic.md)",
        "dataflow": dataflow, "mapping": spec.mapping, "rows": spec.rows, "cols": spec.cols,
        "m": m, "n": n, "k": k, "macs": macs,
        "s_r": r["s_r"], "s_c": r["s_c"], "t": r["t"],
        "row_folds": r["row_folds"], "col_folds": r["col_folds"], "folds": folds,
        "fold_cycles": r["fold_cycles"],
        "compute_cycles": compute,
        "stall_cycles": r["stall_cycles"],
        "fill_cycles": r["fill_cycles"],
        "drain_cycles": r["drain_cycles"],
        # SCALE-Sim's "Total Cycles" analogue (no initial fill, no final drain, no -1)
        "compute_plus_stall_cycles": compute + r["stall_cycles"],
        "total_cycles": total,
        "overall_util_pct": 100.0 * macs / (pes * total),
        "mapping_efficiency_pct": 100.0 * r["s_r"] * r["s_c"] / (pes * folds_per_tile),
        "compute_util_pct": 100.0 * macs / (pes * compute),
        "sram_ifmap_read_words": r["sram_ifmap_reads"],
        "sram_filter_read_words": r["sram_filter_reads"],
        "sram_ofmap_write_words": r["sram_ofmap_writes"],
        "sram_ofmap_read_words": r["sram_ofmap_reads"],
        "sram_ifmap_write_words": r["dram_ifmap_reads"],
        "sram_filter_write_words": r["dram_filter_reads"],
        "dram_ifmap_read_words": r["dram_ifmap_reads"],
        "dram_filter_read_words": r["dram_filter_reads"],
        "dram_ofmap_write_words": r["dram_ofmap_writes"],
        "dram_ofmap_read_words": r["dram_ofmap_reads"],
        "ofmap_spill": bool(r["ofmap_spill"]),
        "avg_ifmap_sram_bw_words_per_cycle": r["sram_ifmap_reads"] / total,
        "avg_filter_sram_bw_words_per_cycle": r["sram_filter_reads"] / total,
        "avg_ofmap_sram_bw_words_per_cycle": r["sram_ofmap_writes"] / total,
        "avg_ifmap_dram_bw_words_per_cycle": r["dram_ifmap_reads"] / total,
        "avg_filter_dram_bw_words_per_cycle": r["dram_filter_reads"] / total,
        "avg_ofmap_dram_bw_words_per_cycle": (r["dram_ofmap_writes"] + r["dram_ofmap_reads"]) / total,
        "max_ifmap_sram_bw_words_per_cycle": pk_i,
        "max_filter_sram_bw_words_per_cycle": pk_f,
        "max_ofmap_sram_bw_words_per_cycle": pk_o,
        "max_ifmap_dram_bw_words_per_cycle": bw if r["dram_ifmap_reads"] else 0.0,
        "max_filter_dram_bw_words_per_cycle": bw if r["dram_filter_reads"] else 0.0,
        "max_ofmap_dram_bw_words_per_cycle": bw if (r["dram_ofmap_writes"] + r["dram_ofmap_reads"]) else 0.0,
        "dram_busy_cycles": math.ceil(dram_time - 1e-9),
        "word_bytes": wb,
    }
    if spec.fold_overlap:
        details["fold_overlap"] = True
    if scores is not None:
        details["transposed"] = transposed
        details["temporal_tiles"] = tiles
        details["loop_order"] = "row_outer" if cand.row_outer else "col_outer"
        details["mapping_objective"] = spec.mapping_objective
        details["mapping_candidates"] = scores
    return OpResult(
        name=op.name or op.KIND, op=op.KIND, component=ctx.component_name if ctx else KIND,
        cycles=total, latency_s=total / (spec.clock_ghz * HZ_PER_GHZ), flops=2.0 * macs,
        dram_bytes=float((dram_rd + dram_wr) * wb), bound=bound, actions=actions, details=details)
