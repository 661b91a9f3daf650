"""Splitting a transformer workload over devices: tensor (Megatron-style), pipeline
(GPipe-style) and expert parallelism, with the collectives they need as ops
(archsim/workloads/collective_ops.py) and the op graph placed per device (Workload.devices).

Devices: TP x PP x EP of them, device = (stage x EP + ep_rank) x TP + tp_rank.

- **TP** (Megatron-LM, Shoeybi et al. 2019): QKV / gate_up / fc_in and the LM head are
  column-parallel (out_features / TP), o_proj / down_proj / fc_out row-parallel (in_features /
  TP), attention heads / TP (KV heads / TP, replicated when TP > KV heads), MoE experts' width /
  TP; an `all_reduce` of the hidden states after attention (o_proj) and after the FFN / MoE, an
  `all_gather` of the logits after the LM head. Norms, residuals, the router, MLA's q_a / kv_a
  projections and the embedding are replicated.
- **PP** (GPipe, Huang et al. 2019): layers in PP contiguous stages (the embedding with the
  first, the final norm and LM head with the last), the batch in `micro_batches` micro-batches
  (default: PP); a `send_recv` of the micro-batch's hidden states between stages. A step takes
  (PP + m - 1) micro-batch stage times plus the transfers, as GPipe's bubble says.
- **Sequence parallelism** (`sequence_parallel = true`, Korthikanti et al. 2022): the norms and
  residuals work on tokens / TP; a `reduce_scatter` replaces each all-reduce and an
  `all_gather` comes before the next block's first projection (same bytes on a ring, less
  activation memory and norm work).
- **EP** (GShard / DeepSeek-style, with data-parallel attention): the EP ranks each hold
  batch / EP sequences and E / EP experts; an `all_to_all` dispatch before the experts and a
  combine after (tokens x top_k x hidden per rank).

Overlap: each device's ops run on its own resources (`gpu3.sm`) and each collective on its link
(`nvswitch.link3`), so compute and communication overlap wherever the graph lets them: PP's
micro-batches in flight, and with `micro_batches` > 1 and PP = 1 the two-micro-batch overlap
(NanoFlow, DeepSeek-V3 inference): micro-batch i's all-reduce runs while micro-batch i + 1
computes. Collectives wait for every rank of their group (one op per rank, all depending on all
the group's producers).

Limits: PP is for the prefill and decode phases (a request with PP > 1 is refused); chunked
prefill sends each micro-batch's whole pass between stages once; the embedding is replicated
(not vocab-parallel).
"""
from __future__ import annotations

import math

import attrs

from archsim.errors import ConfigError
from archsim.units import DTYPE_BYTES
from archsim.workloads.collective_ops import AllGather, AllReduce, AllToAll, ReduceScatter, SendRecv
from archsim.workloads.llm import memory as M
from archsim.workloads.llm.ops import Embedding, KvWrite, Linear, MlaAttention, MoeFfn, Norm, Rope
from archsim.workloads.load import OpGraph
from archsim.workloads.ops import Attention, Elementwise

COLUMN = ("qkv_proj", "q_proj", "q_b_proj", "gate_up_proj", "fc_in", "lm_head")
ROW = ("o_proj", "down_proj", "fc_out")
HEAD = ("embed", "final_norm", "lm_head")


def _base(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def shard(op, tp: int, ep: int, cfg, sp: bool = False):
    """One device's part of `op` under TP (and EP for the experts; with sequence parallelism
    the norms and residuals of the layers work on tokens / TP)."""
    b = _base(op.name)
    if sp and tp > 1:
        if isinstance(op, Norm) and b in ("attn_norm", "ffn_norm"):
            return attrs.evolve(op, tokens=math.ceil(op.tokens / tp))
        if isinstance(op, Elementwise) and b in ("attn_residual", "ffn_residual"):
            return attrs.evolve(op, n_elements=math.ceil(op.n_elements / tp))
    if isinstance(op, Linear) and tp > 1:
        if b in COLUMN:
            return attrs.evolve(op, out_features=math.ceil(op.out_features / tp))
        if b in ROW:
            return attrs.evolve(op, in_features=math.ceil(op.in_features / tp))
        return op
    if isinstance(op, Attention) and tp > 1:
        return attrs.evolve(op, heads=op.heads // tp, kv_heads=max(1, op.kv_heads // tp))
    if isinstance(op, MlaAttention) and tp > 1:
        return attrs.evolve(op, heads=op.heads // tp)
    if isinstance(op, Rope) and tp > 1:
        return attrs.evolve(op, heads=math.ceil(op.heads / tp))
    if isinstance(op, KvWrite) and tp > 1 and not cfg.mla:      # MLA's latent is replicated
        return attrs.evolve(op, bytes_per_token=math.ceil(op.bytes_per_token / min(tp, cfg.kv_heads)))
    if isinstance(op, Elementwise) and tp > 1 and b in ("silu_mul", "silu", "mul", "gelu"):
        return attrs.evolve(op, n_elements=math.ceil(op.n_elements / tp))
    if isinstance(op, MoeFfn):
        if tp > 1:
            op = attrs.evolve(op, expert_ffn=math.ceil(op.expert_ffn / tp))
        if ep > 1:
            # after dispatch a rank holds E / EP experts and receives tokens x top_k assignments
            e_loc = op.experts // ep
            k = min(op.top_k, e_loc)
            op = attrs.evolve(op, experts=e_loc, top_k=k, tokens=math.ceil(op.tokens * op.top_k / k))
        return op
    return op


def _comms_after(op, tp: int, cfg, sp: bool = False) -> list:
    """Collectives (TP group) that follow `op` on every rank (with sequence parallelism a
    reduce-scatter instead of the all-reduce; the all-gather comes before the next projection)."""
    if tp == 1:
        return []
    b = _base(op.name)
    if not (b in ROW or b == "lm_head" or isinstance(op, MoeFfn)):
        return []
    db = DTYPE_BYTES[op.dtype]
    if b in ROW or isinstance(op, MoeFfn):
        t = op.tokens
        if sp:
            return [ReduceScatter(name=f"{op.name}.reduce_scatter", bytes=max(1, int(t * cfg.hidden * db)), ranks=tp,
                                  repeat=op.repeat)]
        return [AllReduce(name=f"{op.name}.all_reduce", bytes=max(1, int(t * cfg.hidden * db)), ranks=tp,
                          repeat=op.repeat)]
    if b == "lm_head":
        return [AllGather(name=f"{op.name}.all_gather", bytes=max(1, int(op.tokens * op.out_features * db)),
                          ranks=tp, repeat=op.repeat)]
    return []


def _stage_layers(n_layers: int, pp: int) -> list[range]:
    base, extra = divmod(n_layers, pp)
    out, start = [], 0
    for s in range(pp):
        n = base + (1 if s < extra else 0)
        out.append(range(start, start + n))
        start += n
    return out


def _runs(cfg, n_layers: int, first: int = 0) -> list[tuple[int, int]]:
    """(first layer, count) of each run of consecutive layers of one kind, layers counted from
    the first in scope."""
    runs = []
    for i in range(n_layers):
        k = cfg.is_moe_layer(first + i)
        if runs and runs[-1][0] == k:
            runs[-1][2] += 1
        else:
            runs.append([k, i, 1])
    return [(a, c) for _, a, c in runs]


def _run_of(name: str, n_runs: int) -> int:
    if n_runs == 1:
        return 0
    for part in name.split("."):
        for tag in ("moe_layers", "dense_layers"):
            if part.startswith(tag) and part[len(tag):].isdigit():
                return int(part[len(tag):])
    return 0


def stage_ops(ops, cfg, n_layers: int, pp: int, stage: int, first: int = 0) -> list:
    """The ops of pipeline stage `stage`: its layers' share of each layer op's repeat, the
    embedding on the first stage, the final norm and LM head on the last."""
    if pp == 1:
        return list(ops)
    rng = _stage_layers(n_layers, pp)[stage]
    runs = _runs(cfg, n_layers, first)
    out = []
    for op in ops:
        b = _base(op.name)
        if b in HEAD:
            if (b == "embed" and stage == 0) or (b != "embed" and stage == pp - 1):
                out.append(op)
            continue
        first, count = runs[_run_of(op.name, len(runs))]
        mine = len(set(range(first, first + count)) & set(rng))
        if mine:
            out.append(attrs.evolve(op, repeat=op.repeat // count * mine))
    return out


def _check(p, cfg, source):
    file = source or "<workload>"
    tp, pp, ep = p.tensor_parallel, p.pipeline_parallel, p.expert_parallel
    n_layers = p.layers or cfg.layers
    if cfg.token_decoder is not None:
        raise ConfigError(file, "params.tensor_parallel", "a Block Transformer runs on one device "
                          f"(got tensor_parallel {tp} x pipeline_parallel {pp} x expert_parallel {ep}); allowed: 1")
    if cfg.heads % tp:
        raise ConfigError(file, "params.tensor_parallel", f"{cfg.name} has {cfg.heads} attention heads, "
                          f"not divisible by tensor_parallel {tp}; allowed: a divisor of {cfg.heads}")
    if pp > n_layers:
        raise ConfigError(file, "params.pipeline_parallel", f"pipeline_parallel {pp} > the {n_layers} layers "
                          f"in scope; allowed: 1 ... {n_layers}")
    if pp > 1 and p.phase == "request":
        raise ConfigError(file, "params.pipeline_parallel", "pipeline parallelism is modelled for phase prefill "
                          "and decode (a request with pipeline_parallel > 1 is not); allowed: 1 for phase request")
    if ep > 1:
        if not cfg.experts:
            raise ConfigError(file, "params.expert_parallel", f"{cfg.name} has no experts; allowed: 1")
        if cfg.experts % ep:
            raise ConfigError(file, "params.expert_parallel", f"{cfg.name} has {cfg.experts} experts, not divisible "
                              f"by expert_parallel {ep}; allowed: a divisor of {cfg.experts}")
    m = p.micro_batches or pp
    if p.batch < ep * m:
        raise ConfigError(file, "params.batch", f"batch {p.batch} cannot feed expert_parallel {ep} x "
                          f"micro_batches {m} = {ep * m} sequence groups; allowed: batch >= {ep * m}")


def split(p, expand, cfg, *, seed: int = 0, source=None) -> OpGraph:
    """The workload of `p` (tensor_parallel x pipeline_parallel x expert_parallel > 1, or
    micro_batches > 1) placed on TP x PP x EP devices. `expand` is the generator's own
    expand, called for the un-split whole batch (memory, metadata) and for one micro-batch."""
    _check(p, cfg, source)
    tp, pp, ep = p.tensor_parallel, p.pipeline_parallel, p.expert_parallel
    m = p.micro_batches or pp
    one = dict(tensor_parallel=1, pipeline_parallel=1, expert_parallel=1, micro_batches=0)
    whole = expand(attrs.evolve(p, **one), seed=seed, source=source)
    mb_batch = math.ceil(p.batch / (ep * m))
    micro = expand(attrs.evolve(p, batch=mb_batch, **one), seed=seed, source=source)
    n_layers = p.layers or cfg.layers
    db = DTYPE_BYTES[p.dtype]
    sp = bool(getattr(p, "sequence_parallel", False)) and tp > 1
    stages = [[shard(o, tp, ep, cfg, sp) for o in stage_ops(micro.ops, cfg, n_layers, pp, s, getattr(p, "first_layer", 0))] for s in range(pp)]

    ops, after, devices = [], [], []

    def emit(op, dev, deps):
        ops.append(op)
        devices.append(dev)
        after.append(tuple(sorted({d for d in deps if d is not None})))
        return len(ops) - 1

    def dev_of(s, e, t):
        return (s * ep + e) * tp + t

    ranks = [(e, t) for e in range(ep) for t in range(tp)]

    def by(last, key):
        grp: dict = {}
        for e, t in ranks:
            grp.setdefault(key(e, t), []).append(last[(e, t)])
        return grp

    def run_stage(s, tag, last, op_list):
        """Emit one micro-batch's ops of stage s on every (ep, tp) rank; `last[(e, t)]` = the
        op each rank's chain waits for (None = nothing), updated as ops are emitted."""
        for op in op_list:
            op = attrs.evolve(op, name=f"{tag}{op.name}") if tag else op
            if sp and last.get("gather") and isinstance(op, Linear):
                # sequence parallelism: gather the sequence-sharded hidden states before the
                # block's first projection
                nb = max(1, int(op.tokens * cfg.hidden * db))
                grp = by(last, lambda e, t: e)
                last.update({(e, t): emit(AllGather(name=f"{op.name}.all_gather", bytes=nb, ranks=tp,
                                                    repeat=op.repeat), dev_of(s, e, t), grp[e]) for e, t in ranks})
                last["gather"] = False
            if sp and isinstance(op, Norm) and _base(op.name) in ("attn_norm", "ffn_norm"):
                last["gather"] = True
            if isinstance(op, MoeFfn) and ep > 1:
                nb = max(1, int(op.tokens * op.top_k * cfg.hidden * db))
                grp = by(last, lambda e, t: t)
                last.update({(e, t): emit(AllToAll(name=f"{op.name}.dispatch", bytes=nb, ranks=ep, repeat=op.repeat),
                                          dev_of(s, e, t), grp[t]) for e, t in ranks})
                last.update({(e, t): emit(op, dev_of(s, e, t), [last[(e, t)]]) for e, t in ranks})
                grp = by(last, lambda e, t: t)
                last.update({(e, t): emit(AllToAll(name=f"{op.name}.combine", bytes=nb, ranks=ep, repeat=op.repeat),
                                          dev_of(s, e, t), grp[t]) for e, t in ranks})
            else:
                last.update({(e, t): emit(op, dev_of(s, e, t), [last[(e, t)]]) for e, t in ranks})
            for c in _comms_after(op, tp, cfg, sp):
                grp = by(last, lambda e, t: e)
                last.update({(e, t): emit(c, dev_of(s, e, t), grp[e]) for e, t in ranks})

    pre_end = 0
    if pp > 1:
        for i in range(m):
            recv = {r: None for r in ranks}
            for s in range(pp):
                last = dict(recv)
                run_stage(s, f"mb{i}.s{s}." if m > 1 else f"s{s}.", last, stages[s])
                if s < pp - 1:
                    nb = max(1, int(mb_batch * (p.context if p.phase != "decode" else 1) * cfg.hidden * db))
                    recv = {}
                    for e, t in ranks:
                        k = emit(SendRecv(name=f"mb{i}.s{s}.send_recv", bytes=nb), dev_of(s, e, t), [last[(e, t)]])
                        recv[(e, t)] = k
    else:
        lasts = [{r: None for r in ranks} for _ in range(m)]
        n_pre = micro.meta.get("llm", {}).get("prefill_ops", 0)
        pre_end = 0
        for j, op in enumerate(stages[0]):
            for i in range(m):
                run_stage(0, f"mb{i}." if m > 1 else "", lasts[i], [op])
            if j == n_pre - 1:
                pre_end = len(ops)      # a request's prefill ends with this op (all ranks)
    meta = dict(whole.meta)
    llm = dict(meta.get("llm", {}))
    if p.phase == "request" and pp == 1 and pre_end:
        llm["prefill_ops"] = pre_end
    llm.update({"tensor_parallel": tp, "pipeline_parallel": pp, "expert_parallel": ep, "micro_batches": m,
                "devices": tp * pp * ep})
    meta["llm"] = llm
    meta["parallel"] = {"tensor_parallel": tp, "pipeline_parallel": pp, "expert_parallel": ep,
                        "micro_batches": m, "devices": tp * pp * ep}
    needs = dict(meta["memory_needs"])
    needs["per_device"] = per_device_memory(needs, cfg, p, n_layers, mb_batch)
    meta["memory_needs"] = needs
    return OpGraph(ops=tuple(ops), after=tuple(after), devices=tuple(devices), meta=meta)


def per_device_memory(needs: dict, cfg, p, n_layers: int, mb_batch: int) -> list[dict]:
    """Bytes per device (the Report's `memory.per_device`): weights by part and share (see the
    module docstring: replicated parts counted on every device that holds them), KV of the
    device's layers, sequences and KV heads, activations of its sequences, and communication
    buffers (two of the largest message it sends). Summed over devices: the single-device
    totals plus the replicated copies and the buffers."""
    tp, pp, ep = p.tensor_parallel, p.pipeline_parallel, p.expert_parallel
    pc = M.param_counts(cfg)
    whole = n_layers == cfg.layers
    lf = n_layers / cfg.layers
    scope = {k: pc[k] * lf for k in ("attention", "dense_ffn", "routed_experts", "shared_experts", "routers")}
    scope["norms"] = pc["norms"] * lf
    scope["embedding"] = pc["embedding"] if whole else 0.0
    scope["lm_head"] = pc["lm_head"] if whole else 0.0
    total_params = sum(scope.values()) or 1.0
    bpp = needs["weights"] / total_params
    naive = p.mla_form == "naive" or (p.mla_form == "auto" and p.phase != "decode")
    per_head_mla = cfg.mla and naive and getattr(p, "kernels", "fused") == "torch"   # per-head K/V cache
    kv_div = (tp if per_head_mla else 1) if cfg.mla else min(tp, max(1, cfg.kv_heads))
    db = DTYPE_BYTES[p.dtype]
    tokens = mb_batch * (1 if p.phase == "decode" else (p.chunk if 0 < p.chunk < p.context else p.context))
    msg = tokens * cfg.hidden * db
    if ep > 1:
        msg = max(msg, tokens * max(1, cfg.experts_per_token) * cfg.hidden * db)
    out = []
    stages = _stage_layers(n_layers, pp)
    for s in range(pp):
        frac = len(stages[s]) / n_layers
        w = (scope["attention"] / tp + scope["dense_ffn"] / tp + scope["shared_experts"] / tp
             + scope["routed_experts"] / (tp * ep) + scope["routers"] + scope["norms"]) * frac
        if s == 0:
            w += scope["embedding"]
        if s == pp - 1:
            w += scope["lm_head"] / tp
        wb = w * bpp
        kv = needs["kv_cache"] * frac / ep / kv_div
        act = needs["activations"] / ep
        buf = 2.0 * msg if tp * pp * ep > 1 else 0.0
        per_seq = (needs["kv_cache"] * frac / kv_div + needs["activations"]) / max(1, needs["batch"])
        for e in range(ep):
            for t in range(tp):
                out.append({"device": (s * ep + e) * tp + t, "stage": s, "weights": wb, "kv_cache": kv,
                            "kv_per_token": needs["kv_per_token"] * frac / kv_div, "activations": act,
                            "comm_buffers": buf, "total": wb + kv + act + buf, "per_sequence": per_seq})
    return out
