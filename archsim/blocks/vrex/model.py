"""V-Rex's performance model (papers/vrex.md §5): the component protocol's `supports` and
`evaluate`, op by op.

Multi-core: the paper describes no partitioning (a config knob here): GEMMs split their output
columns (or their batch, when it has at least `cores` instances) over the cores, each core
streaming its share of the weights through its share of the DRAM bandwidth; DRE work splits by
rows / tokens. `core_sync_cycles` is charged per op for the cores to agree (0 = ideal).

Op -> unit, and the resource it occupies (`OpResult.placement`, named `<component>.<unit>`):
gemm / attention / elementwise / copy -> the LXE (`.lxe`); hash_cluster -> the HCU (`.hcu`);
wicsum_select -> the WTU (`.wtu`); kv_fetch / kv_transfer -> the KVMU driving the PCIe host link
(`.pcie`: one resource for both directions, a kv_fetch streams its fetch and its eviction full
duplex within one op). The transfer model is the host_link block's (archsim.blocks.host_link).
"""
from __future__ import annotations

import math

from archsim.blocks.base import EvalContext, OpResult, Placement, mapping_pricer, mapping_score
from archsim.blocks.host_link.model import (check_source, host_transfer, transfer_actions,
                                            transfer_details)
from archsim.blocks.host_link.ops import KvTransfer
from archsim.blocks.vrex.kernels import (LXE_DRAM_RD, LXE_DRAM_WR, LXE_MAC, LXE_SRAM_RD, LXE_SRAM_WR,
                                         fixed_blocks, lxe_gemm, mactree_gemm, vector_op)
from archsim.blocks.vrex.ops import HashCluster, KvFetch, WicsumSelect
from archsim.blocks.vrex.spec import Spec
from archsim.errors import ModelError
from archsim.units import BYTES_PER_KIB, DTYPE_BYTES
from archsim.workloads.ops import Attention, Copy, Elementwise, Gemm

UNITS = ("lxe", "hcu", "wtu", "pcie")
"""The resources of a V-Rex component, `<component>.<unit>`: LXE, HCU, WTU and the KVMU's PCIe link."""


def supports(spec: Spec, op) -> bool:
    return isinstance(op, (Gemm, Attention, Elementwise, Copy, HashCluster, WicsumSelect, KvFetch, KvTransfer))


# ----------------------------------------------------------------------------- helpers

def peak_flops(spec: Spec) -> float:
    """DPE + VPE MACs x 2 x clock x cores (the paper's Tab. I peak counts both)."""
    macs = spec.lxe.dpe_trees * spec.lxe.dpe_inputs + spec.lxe.vpe_units * spec.lxe.vpe_lanes
    return 2.0 * macs * spec.clock_ghz * 1e9 * spec.cores


def _dram_bytes_per_cycle_core(spec: Spec) -> float:
    return spec.memory.bandwidth_gb_s * 1e9 * spec.memory.efficiency / (spec.clock_ghz * 1e9) / spec.cores


def _result(spec: Spec, op, ctx: EvalContext, cycles: float, *, unit: str, flops: float, dram: float,
            bound: str, actions: dict, details: dict | None = None, latency_s: float | None = None) -> OpResult:
    cyc = int(math.ceil(cycles))
    lat = latency_s if latency_s is not None else cyc / (spec.clock_ghz * 1e9)
    return OpResult(name=op.name or op.KIND, op=op.KIND, component=ctx.component_name, cycles=cyc,
                    latency_s=float(lat), flops=float(flops), dram_bytes=float(dram), bound=bound,
                    actions={k: float(v) for k, v in actions.items() if v}, details=dict(details or {}),
                    placement=Placement(resource=f"{ctx.component_name}.{unit}"))


def _divisor_pairs(n: int):
    return [(d, n // d) for d in range(1, n + 1) if n % d == 0]


def _partitions(spec: Spec, m: int, n: int, batch: int) -> list[tuple[str, int, int, int]]:
    """The multi-core partitions of a GEMM, in tie-break order: (label, batch, m, n per core)."""
    cores = spec.cores
    if batch >= cores:
        return [(f"batch/{cores}", math.ceil(batch / cores), m, n)]
    return [(f"n/{cn} x m/{cm}", batch, math.ceil(m / cm), math.ceil(n / cn))
            for cn, cm in _divisor_pairs(cores)]


def _gemm_fixed(spec: Spec, m: int, k: int, n: int, batch: int, *, a_dram=True, c_dram=True,
                flash=False):
    """Today's GEMM mapping: every partition B-stationary with `kernels.fixed_blocks`' blocking,
    the fastest partition kept (ties: the first). Returns (cycles, compute_cycles, dram_cycles,
    counts summed over cores, passes, mapping dict)."""
    cores = spec.cores
    bpc = _dram_bytes_per_cycle_core(spec)
    acc = 0 if flash else int(spec.lxe.sram_kib * BYTES_PER_KIB) // 2
    eb = DTYPE_BYTES[spec.dtype]
    best, label = None, None
    for lab, b_core, m_core, n_core in _partitions(spec, m, n, batch):
        out = mactree_gemm(m_core, k, n_core, b_core, spec.lxe.dpe_trees, spec.lxe.dpe_inputs, acc, eb, bpc,
                           spec.lxe.fill_cycles, a_dram, c_dram)
        if best is None or out[0] < best[0]:
            best, label = out, (lab, m_core, n_core)
    cyc, comp, dcyc, passes, counts = best
    total = counts * cores
    total[LXE_MAC] = float(batch) * m * k * n
    m_blocks, n_blocks = fixed_blocks(label[1], k, label[2], spec.lxe.dpe_trees, acc)
    mapping = {"core_split": label[0], "loop_order": "b_stationary", "m_blocks": int(m_blocks),
               "n_blocks": int(n_blocks), "m_core": label[1], "n_core": label[2]}
    return cyc + spec.core_sync_cycles, comp, dcyc, total, passes, mapping


def _gemm_core(spec: Spec, m: int, k: int, n: int, batch: int, *, a_dram=True, c_dram=True, flash=False):
    """Split a GEMM over the cores and return (cycles, compute_cycles, dram_cycles, counts,
    passes) of one core (all cores do equal shares) with counts summed over cores.

    The partition is searched: the batch of independent GEMMs first (when it has at least
    `cores` instances), else a grid of cn x cm cores over (n, m) — cn splits the weights
    (each core streams 1/cn of B), cm splits the tokens (B re-streamed by each of the cm
    groups) — taking the fastest."""
    return _gemm_fixed(spec, m, k, n, batch, a_dram=a_dram, c_dram=c_dram, flash=flash)[:5]


# ----------------------------------------------------------------------------- LXE mapper

def _pow2_multiples(unit: int, limit: int) -> list[int]:
    """unit, 2 unit, 4 unit, ... below `limit`, then `limit`."""
    out, v = [], unit
    while v < limit:
        out.append(v)
        v *= 2
    return out + [limit]


def _sram_budget(spec: Spec) -> tuple[int, int]:
    """(accumulator bytes, bytes for the streamed k-slice) of one core's LXE memory: half of it
    for C's fp32 accumulators, the other half for two held tiles (double buffering) and the
    rest for the streamed operand's k-slice."""
    lx = spec.lxe
    sram = int(lx.sram_kib * BYTES_PER_KIB)
    acc = sram // 2
    return acc, sram - acc - 2 * lx.dpe_trees * lx.dpe_inputs * DTYPE_BYTES[spec.dtype]


def block_fits(spec: Spec, m: int, n: int, a_stationary: bool, m_blocks: int, n_blocks: int) -> bool:
    """Whether one core's m x n output in m_blocks x n_blocks blocks fits its LXE memory: a
    block's fp32 accumulators and the streamed operand's `dpe_inputs`-wide k-slice of the block
    (A's rows B-stationary, B's columns A-stationary) beside two held tiles."""
    acc, room = _sram_budget(spec)
    mb, nb = -(-m // m_blocks), -(-n // n_blocks)
    streamed = nb if a_stationary else mb
    return mb * nb * 4 <= acc and streamed * spec.lxe.dpe_inputs * DTYPE_BYTES[spec.dtype] <= room


def block_options(spec: Spec, m: int, k: int, n: int, a_stationary: bool) -> list[tuple[int, int]]:
    """The (m_blocks, n_blocks) output blockings the mapper tries for one core's m x k x n GEMM
    under a loop order, each within the LXE's on-chip memory: the block's fp32 accumulators in
    the accumulator half (`sram_kib` / 2), the streamed operand's k-slice of the block
    (`dpe_inputs` wide) plus two held tiles (double buffering) in the other half. The held
    operand's side of a block is a multiple of `dpe_trees` (or all of it) and the other side as
    large as fits. One block when C fits; none when nothing fits."""
    lx = spec.lxe
    acc, room = _sram_budget(spec)
    eb = DTYPE_BYTES[spec.dtype]
    held, other = (m, n) if a_stationary else (n, m)
    if held * other * 4 <= acc and other * lx.dpe_inputs * eb <= room:
        return [(1, 1)]
    out = []
    for hb in _pow2_multiples(lx.dpe_trees, held):
        ob = min(other, acc // (hb * 4), room // (lx.dpe_inputs * eb))
        if ob < 1:
            continue
        hblocks, oblocks = -(-held // hb), -(-other // ob)
        pair = (hblocks, oblocks) if a_stationary else (oblocks, hblocks)
        if pair not in out:
            out.append(pair)
    return out


def mapping_candidates(spec: Spec, op: Gemm) -> list[tuple[str, int, int, int, str, int, int]]:
    """The LXE mapper's candidates for a GEMM, in tie-break order (after today's mapping, which
    is always evaluated first): (core split, batch, m, n per core, loop order, m_blocks,
    n_blocks) for every partition over the cores, every loop order of `lxe.mapping_orders` and
    every blocking of `block_options`."""
    out = []
    for lab, b_core, m_core, n_core in _partitions(spec, op.m, op.n, op.batch):
        for order in spec.lxe.mapping_orders:
            for mb, nb in block_options(spec, m_core, op.k, n_core, order == "a_stationary"):
                out.append((lab, b_core, m_core, n_core, order, mb, nb))
    return out


def candidate_name(split: str, order: str) -> str:
    """The Report's name of a group of candidates (the group's score is its best blocking's)."""
    return ("A" if order == "a_stationary" else "B") + "-stationary, " + split


def _gemm_search(spec: Spec, op: Gemm, ctx):
    """The LXE mapper: today's mapping and every candidate of `mapping_candidates`, each timed by
    `kernels.lxe_gemm`, the one with the lowest `lxe.mapping_objective` kept (ties: the first
    evaluated, today's mapping first). Energy = the op's dynamic energy as the energy layer
    prices it + the arch's static power over its latency. Today's mapping is a candidate when
    it fits the LXE memory (`block_fits`; its n-blocks are at least `dpe_trees` wide and may
    not). Returns what `_gemm_fixed` does plus the scores ("fixed" and, per loop order and
    core split, its best blocking's) and whether today's mapping fits."""
    lx = spec.lxe
    objective = lx.mapping_objective
    pricer = mapping_pricer(ctx, objective, "lxe.mapping_objective")
    hz = spec.clock_ghz * 1e9
    bpc = _dram_bytes_per_cycle_core(spec)
    eb = DTYPE_BYTES[spec.dtype]
    macs = float(op.batch) * op.m * op.k * op.n

    def score(cyc, counts):
        lat = math.ceil(cyc) / hz
        energy = None if objective == "cycles" else pricer(_lxe_actions(spec, counts)) + pricer.static_w * lat
        return mapping_score(objective, math.ceil(cyc), lat, energy)

    fixed = _gemm_fixed(spec, op.m, op.k, op.n, op.batch)
    fm = fixed[5]
    fixed_fits = block_fits(spec, fm["m_core"], fm["n_core"], False, fm["m_blocks"], fm["n_blocks"])
    best, best_v, scores = None, math.inf, {}
    if fixed_fits:
        best, best_v = fixed, score(fixed[0], fixed[3])
        scores["fixed"] = best_v
    for lab, b_core, m_core, n_core, order, mb, nb in mapping_candidates(spec, op):
        cyc, comp, dcyc, counts = lxe_gemm(m_core, op.k, n_core, b_core, lx.dpe_trees, lx.dpe_inputs, eb, bpc,
                                           lx.fill_cycles, True, True, order == "a_stationary", mb, nb)
        total = counts * spec.cores
        total[LXE_MAC] = macs
        cyc = cyc + spec.core_sync_cycles
        v = score(cyc, total)
        name = candidate_name(lab, order)
        scores[name] = min(v, scores.get(name, math.inf))
        if v < best_v:
            best_v = v
            best = (cyc, comp, dcyc, total, mb,
                    {"core_split": lab, "loop_order": order, "m_blocks": int(mb), "n_blocks": int(nb),
                     "m_core": m_core, "n_core": n_core})
    if best is None:           # nothing fits the LXE memory: today's mapping, as `fixed` runs it
        best = fixed
    return (*best, scores, fixed_fits)


def _lxe_actions(spec: Spec, counts) -> dict:
    return {f"mac.{spec.dtype}": counts[LXE_MAC], "sram.lxe.read_bytes": counts[LXE_SRAM_RD],
            "sram.lxe.write_bytes": counts[LXE_SRAM_WR], "dram.read_bytes": counts[LXE_DRAM_RD],
            "dram.write_bytes": counts[LXE_DRAM_WR]}


# ----------------------------------------------------------------------------- evaluate

def evaluate(spec: Spec, op, ctx: EvalContext) -> OpResult:
    if isinstance(op, Gemm):
        return _gemm(spec, op, ctx)
    if isinstance(op, Attention):
        return _attention(spec, op, ctx)
    if isinstance(op, (Elementwise, Copy)):
        n_el = op.n_elements if isinstance(op, Elementwise) else 0
        ope = op.flops_per_element if isinstance(op, Elementwise) else 0.0
        moved = op.min_bytes()
        lanes = spec.lxe.vpe_lanes * spec.lxe.vpe_units * spec.cores
        cyc, comp = vector_op(n_el, ope, lanes, moved, _dram_bytes_per_cycle_core(spec) * spec.cores,
                              spec.lxe.fill_cycles)
        return _result(spec, op, ctx, cyc, unit="lxe", flops=n_el * ope, dram=moved,
                       bound="compute" if comp * 1.0 >= cyc - spec.lxe.fill_cycles else "memory",
                       actions={f"mac.{spec.dtype}": n_el * ope, "dram.read_bytes": moved / 2,
                                "dram.write_bytes": moved / 2}, details={"vpe_ops": n_el * ope})
    if isinstance(op, HashCluster):
        return _hcu(spec, op, ctx)
    if isinstance(op, WicsumSelect):
        return _wtu(spec, op, ctx)
    if isinstance(op, KvFetch):
        return _kv_fetch(spec, op, ctx)
    if isinstance(op, KvTransfer):
        return _kv_transfer(spec, op, ctx)
    raise ModelError(f"vrex cannot run op kind {op.KIND}")


def _gemm(spec: Spec, op: Gemm, ctx) -> OpResult:
    """A GEMM on the DPE: today's mapping, or the LXE mapper's choice (`lxe.mapping`)."""
    scores = None
    if spec.lxe.mapping == "search":
        cyc, comp, dcyc, counts, passes, mapping, scores, fixed_fits = _gemm_search(spec, op, ctx)
    else:
        cyc, comp, dcyc, counts, passes, mapping = _gemm_fixed(spec, op.m, op.k, op.n, op.batch)
    details = {"compute_cycles": comp, "dram_cycles": dcyc, "a_passes": int(passes),
               "mapping": spec.lxe.mapping, **mapping,
               "fits_sram": block_fits(spec, mapping["m_core"], mapping["n_core"],
                                       mapping["loop_order"] == "a_stationary", mapping["m_blocks"],
                                       mapping["n_blocks"])}
    if scores is not None:
        details["mapping_objective"] = spec.lxe.mapping_objective
        details["mapping_candidates"] = scores
        details["fixed_fits_sram"] = fixed_fits
    return _result(spec, op, ctx, cyc, unit="lxe", flops=op.flops(),
                   dram=counts[LXE_DRAM_RD] + counts[LXE_DRAM_WR],
                   bound="compute" if comp >= dcyc else "memory", actions=_lxe_actions(spec, counts),
                   details=details)


def _attention(spec: Spec, op: Attention, ctx) -> OpResult:
    """QK^T and PV per KV head on the DPE (the group's query rows share each streamed K / V
    tile), softmax on the VPE, flash-style (scores consumed block by block, K and V streamed
    once). Causal prefill shrinks the streamed work proportionally."""
    g = op.heads // op.kv_heads
    rows = g * op.q_len
    inst = op.batch * op.kv_heads
    kv_eff = op.kv_len
    if op.causal:
        kv_eff = max(1, int(round(op.macs() / (2 * op.batch * op.heads * op.q_len * op.head_dim))))
    c1, comp1, d1, n1, _ = _gemm_core(spec, rows, op.head_dim, kv_eff, inst, a_dram=True, c_dram=False, flash=True)
    c2, comp2, d2, n2, _ = _gemm_core(spec, rows, kv_eff, op.head_dim, inst, a_dram=False, c_dram=True, flash=True)
    scores = float(inst) * rows * kv_eff
    lanes = spec.lxe.vpe_lanes * spec.lxe.vpe_units * spec.cores
    c3, comp3 = vector_op(int(scores), spec.lxe.softmax_ops_per_element, lanes, 0.0, 1.0, 0)
    counts = n1 + n2
    act = _lxe_actions(spec, counts)
    act[f"mac.{spec.dtype}"] = counts[LXE_MAC] + scores * spec.lxe.softmax_ops_per_element
    cyc = c1 + c2 + c3
    comp, dcyc = comp1 + comp2 + comp3, d1 + d2
    return _result(spec, op, ctx, cyc, unit="lxe", flops=op.flops(),
                   dram=counts[LXE_DRAM_RD] + counts[LXE_DRAM_WR],
                   bound="compute" if comp >= dcyc else "memory", actions=act,
                   details={"compute_cycles": comp, "dram_cycles": dcyc, "kv_len_effective": kv_eff,
                            "vpe_ops": scores * spec.lxe.softmax_ops_per_element})


def _hcu(spec: Spec, op: HashCluster, ctx) -> OpResult:
    """XOR+popcount of each new token's hash against `clusters` cluster hashes, `hcu_width` per
    cycle per unit, units of all cores sharing the tokens. The cluster hashes come from the HC
    table in DRAM, reloaded each time they overflow the 4 KB hash memory."""
    d = spec.dre
    hb = math.ceil(d.n_hyperplanes / 8)
    tokens = op.batch * op.new_tokens
    per_tok = math.ceil(max(op.clusters, 1) / d.hcu_width) + 2      # + compare-with-Th and update
    units = d.hcu_units * spec.cores
    cyc = math.ceil(tokens / units) * per_tok + spec.core_sync_cycles
    hash_mem = d.hcu_cluster_hash_kib * BYTES_PER_KIB
    loads = op.batch * max(1, math.ceil(op.clusters * hb / hash_mem))
    dram_rd = float(op.batch * op.clusters * hb) + tokens * op.key_dim * DTYPE_BYTES[op.dtype]
    dram_wr = float(tokens * (d.hc_index_bytes + op.key_dim * DTYPE_BYTES[op.dtype]))
    bpc = _dram_bytes_per_cycle_core(spec) * spec.cores
    mem_cyc = (dram_rd + dram_wr) / bpc
    comps = float(tokens) * max(op.clusters, 1)
    act = {"xor_popcount_bits": comps * d.n_hyperplanes, "cmp.int8": comps,
           "sram.hcu_cluster_hash.read_bytes": comps * hb,
           "sram.hcu_cluster_hash.write_bytes": float(op.batch * op.clusters * hb),
           "sram.hcu_current_hash.write_bytes": float(tokens * hb),
           "sram.hcu_current_hash.read_bytes": comps * hb / d.hcu_width,
           f"add.{spec.dtype}": float(tokens * op.key_dim),
           "dram.read_bytes": dram_rd, "dram.write_bytes": dram_wr}
    total = max(float(cyc), mem_cyc)
    return _result(spec, op, ctx, total, unit="hcu", flops=op.flops(), dram=dram_rd + dram_wr,
                   bound="compute" if cyc >= mem_cyc else "memory", actions=act,
                   details={"hash_memory_loads": loads, "comparisons": comps})


def wtu_row_cycles(spec: Spec, clusters: int, buckets_processed: float) -> float:
    """Cycles of one WiCSum row on one WTU: a preprocess pass plus one pass per scanned bucket
    (archsim.blocks.vrex.kernels.wtu_cycles is the cycle loop this summarises), plus drain."""
    per_pass = math.ceil(clusters / spec.dre.wtu_width)
    return per_pass * (1.0 + buckets_processed) + spec.dre.wtu_pipeline_cycles


def _wtu(spec: Spec, op: WicsumSelect, ctx) -> OpResult:
    d = spec.dre
    b = op.buckets_processed if op.buckets_processed > 0 else max(1.0, op.processed_fraction * d.wtu_buckets)
    per_row = wtu_row_cycles(spec, op.clusters, b)
    units = d.wtu_units * spec.cores
    cyc = math.ceil(op.rows / units) * per_row + spec.core_sync_cycles
    sb = DTYPE_BYTES[op.dtype]
    entries = float(op.rows) * op.clusters
    act = {f"cmp.{op.dtype}": entries * (2 + 2 * b), f"mul.{op.dtype}": entries * (1 + op.processed_fraction),
           f"add.{op.dtype}": entries * (1 + op.processed_fraction),
           "sram.wtu_score.write_bytes": entries * sb, "sram.wtu_score.read_bytes": entries * sb * (1 + b),
           "sram.wtu_count.read_bytes": entries * d.hc_index_bytes * (1 + op.processed_fraction),
           "sram.wtu_count.write_bytes": float(op.clusters) * d.hc_index_bytes,
           "dram.read_bytes": float(op.clusters) * d.hc_index_bytes * spec.cores}
    return _result(spec, op, ctx, cyc, unit="wtu", flops=op.flops(), dram=float(op.clusters) * d.hc_index_bytes * spec.cores,
                   bound="compute", actions=act, details={"buckets_per_row": b, "cycles_per_row": per_row})


def recent_window(spec: Spec, *, batch: int, kv_len: int, n_layers: int, kv_heads: int, head_dim: int,
                  dtype: str, weight_bytes: float, other_resident_bytes: float = 0.0) -> dict:
    """The recent-KV window per stream the KVMU keeps in device DRAM (tokens) and how it was
    derived (`kvmu.window`):

    - "memory" (default): device capacity - weights - other resident bytes (vision tower,
      projector, activations) - two layers of fetch staging (a layer's whole history per
      stream, double-buffered: 2 x batch x kv_heads x kv_len x K+V bytes), over the bytes one
      token of history takes on the device per stream (K and V of every layer and KV head + its
      HC-table entry per layer: a cluster index and a share of its cluster's hash);
    - "weights_only" (the paper-assumption preset): capacity - weights, over K + V bytes per
      token (papers/vrex.md §10's arithmetic: '32 GB total minus 16 GB of weights');
    - "tokens", or a model not stated (n_layers = 0): the fixed `kvmu.recent_kv_tokens`.
    Without a KVMU the window is 0 (everything offloaded)."""
    k = spec.kvmu
    if not k.enabled:
        return {"tokens": 0, "basis": "no KVMU: all history offloaded"}
    if k.window == "tokens" or n_layers <= 0:
        return {"tokens": int(k.recent_kv_tokens),
                "basis": "fixed kvmu.recent_kv_tokens" + ("" if k.window == "tokens" else
                                                          " (the op does not name the model)")}
    cap = spec.memory.capacity_gib * 2**30
    thb = 2 * head_dim * DTYPE_BYTES[dtype]
    if k.window == "weights_only":
        free = cap - weight_bytes
        per_token = batch * n_layers * kv_heads * thb
        basis = "device capacity - model weights"
    else:
        staging = 2.0 * batch * kv_heads * kv_len * thb
        free = cap - weight_bytes - other_resident_bytes - staging
        hc = spec.dre.hc_index_bytes + math.ceil(spec.dre.n_hyperplanes / 8) / 32.0
        per_token = batch * n_layers * (kv_heads * thb + hc)
        basis = ("device capacity - weights - other resident bytes (vision tower, projector, "
                 "activations) - two layers of fetch staging")
    tokens = int(max(0.0, free) // per_token) if per_token > 0 else 0
    return {"tokens": tokens, "basis": basis, "free_bytes": free, "bytes_per_token": per_token}


def kv_fetch_bytes(spec: Spec, op: KvFetch) -> dict:
    """Where the KV of a kv_fetch step lives and what moves (per layer, all streams).

    Offloaded tokens = history beyond the recent window (`recent_window`; all of it without a
    KVMU). Selected tokens are assumed spread uniformly over the history, so the fetched share
    is selected x offloaded / kv_len. Pieces: whole clusters with the KVMU's cluster-contiguous
    layout, else runs of `run_tokens` time-adjacent tokens."""
    w = recent_window(spec, batch=op.batch, kv_len=op.kv_len, n_layers=op.n_layers, kv_heads=op.kv_heads,
                      head_dim=op.head_dim, dtype=op.dtype, weight_bytes=op.weight_bytes,
                      other_resident_bytes=op.other_resident_bytes)
    win = w["tokens"]
    off = max(0, op.kv_len - win)
    fetched = op.selected * (off / op.kv_len) if op.kv_len > 0 else 0.0
    thb = op.token_head_bytes()
    per_piece_tokens = op.cluster_tokens if spec.kvmu.enabled else op.run_tokens
    payload = op.batch * op.kv_heads * fetched * thb
    # K and V of a piece are two contiguous runs
    chunk = max(1.0, per_piece_tokens * thb / 2)
    evict = op.new_tokens if op.kv_len + op.new_tokens > win else 0
    evict_bytes = op.batch * op.kv_heads * evict * thb
    region = op.batch * op.kv_heads * off * thb
    return {"offloaded_tokens": off, "fetched_tokens": fetched, "payload_bytes": payload,
            "chunk_bytes": chunk, "evict_bytes": evict_bytes, "region_bytes": region,
            "recent_window_tokens": win, "recent_window_basis": w["basis"]}


def _kv_fetch(spec: Spec, op: KvFetch, ctx) -> OpResult:
    kb = kv_fetch_bytes(spec, op)
    src = spec.kvmu.offload
    rd = host_transfer(spec.host_link, kb["payload_bytes"], kb["chunk_bytes"], source=src,
                       direction="to_device", ssd=spec.ssd, host_mem=spec.host_memory,
                       region_bytes=kb["region_bytes"])
    wr = host_transfer(spec.host_link, kb["evict_bytes"], max(1.0, min(kb["evict_bytes"], op.cluster_tokens * op.token_head_bytes() / 2)),
                       source=src, direction="to_host", ssd=spec.ssd, host_mem=spec.host_memory)
    # PCIe is full duplex: fetch and eviction stream concurrently
    lat = max(rd.time_s, wr.time_s)
    dram = kb["payload_bytes"] + kb["evict_bytes"]
    act = {"link.pcie.bytes": rd.wire_bytes + wr.wire_bytes, "dram.write_bytes": kb["payload_bytes"],
           "dram.read_bytes": kb["evict_bytes"]}
    if spec.kvmu.enabled:
        # cluster-wise reordering stages the streamed KV through the KVMU buffer
        act.update({"sram.kvmu_buffer.write_bytes": dram, "sram.kvmu_buffer.read_bytes": dram,
                    "add.int32": rd.commands + wr.commands})
    if src == "ssd":
        act["ssd.read_bytes"] = rd.storage_bytes
        act["ssd.write_bytes"] = wr.storage_bytes
    return _result(spec, op, ctx, lat * spec.clock_ghz * 1e9, unit="pcie", flops=0.0, dram=dram, bound="link",
                   actions=act, latency_s=lat,
                   details={**kb, "link_busy_s": max(rd.link_s, wr.link_s), "storage_s": rd.storage_s,
                            "wire_bytes": rd.wire_bytes + wr.wire_bytes, "storage_bytes": rd.storage_bytes,
                            "commands": rd.commands})


def _kv_transfer(spec: Spec, op: KvTransfer, ctx) -> OpResult:
    check_source(op, spec.kvmu.offload, ctx.component_name)
    tr = host_transfer(spec.host_link, op.bytes, op.chunk_bytes, source=op.source, direction=op.direction,
                       ssd=spec.ssd, host_mem=spec.host_memory, region_bytes=op.region_bytes)
    act = {**transfer_actions(tr, source=op.source, direction=op.direction),
           ("dram.write_bytes" if op.direction == "to_device" else "dram.read_bytes"): float(op.bytes)}
    return _result(spec, op, ctx, tr.time_s * spec.clock_ghz * 1e9, unit="pcie", flops=0.0, dram=float(op.bytes),
                   bound="link", actions=act, latency_s=tr.time_s, details=transfer_details(tr))


def device_memory_gib(spec: Spec, *, batch: int, weight_bytes: float, kv_bytes_per_token: float,
                      window_tokens: int | None = None) -> float:
    """Device DRAM the session needs: weights + the recent-KV window of every stream
    (`window_tokens`, default the fixed `kvmu.recent_kv_tokens`; the HC table's ~1.6 % is left
    out). Compare with `spec.memory.capacity_gib`."""
    win = (window_tokens if window_tokens is not None else spec.kvmu.recent_kv_tokens) if spec.kvmu.enabled else 0
    return (weight_bytes + batch * win * kv_bytes_per_token) / 2**30
