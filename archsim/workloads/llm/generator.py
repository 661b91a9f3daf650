"""The `transformer` generator: one LLM inference step (or a whole request) of a model given
by its Hugging Face config.json, as an op graph.

```toml
generator = "transformer"
[params]
model = "workloads/llm/llama-3-8b.json"   # config.json; path relative to this file (then the
                                          # working directory, then the archsim checkout)
phase = "decode"                          # prefill | decode | request
batch = 8
context = 4096        # decode: tokens already cached; prefill / request: prompt length
layers = 32           # optional: the first N decoder layers only (no embedding / LM head
                      # unless N is the whole model); 0 or omitted = the whole model
first_layer = 0       # optional: the layers in scope start at this one (e.g. 1 with layers = 1:
                      # DeepSeek-V2-Lite's first MoE layer after its dense first layer)
```

A pass over the model is: [embedding] -> per layer (norm, QKV or MLA projections, RoPE,
KV-cache write, attention, o_proj, residual add, norm, dense FFN or router + MoE experts,
residual add) -> [final norm, LM head]. Identical layers are one op each with `repeat` = the
number of such layers (DeepSeek: the dense first-k layers, then the MoE layers), in a chain.
`kernels` (torch | fused) picks the kernel sequences the ops describe (archsim.workloads.llm.ops
KernelImpl: PyTorch eager as measured on the H100, or a serving stack's fused kernels).
Prefill attention is causal (counted once); `chunk` > 0 splits the prompt into chunks that
attend to the chunks before them (chunked prefill). A request is the prefill followed by
`output_tokens - 1` decode steps, expanded as one decode step at the steps' mean context with
every op's `repeat` x the step count (attention grows linearly with the context, so the total
is exact); the Report's `llm` object gives TTFT, TPOT and end-to-end latency.

The workload carries its memory needs (archsim.workloads.llm.memory) in `meta["memory_needs"]`;
simulate checks them against the device (Report `memory`).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import attrs

from archsim.config.load import field
from archsim.errors import ConfigError
from archsim.units import DTYPE_BYTES
from archsim.workloads.load import OpGraph
from archsim.workloads.llm import memory as M
from archsim.workloads.llm.config import ModelConfig, load_config
from archsim.workloads.llm.ops import Embedding, KvWrite, Linear, MlaAttention, MoeFfn, Norm, Rope
from archsim.workloads.ops import Attention, Elementwise
from archsim.resources import shipped_root

REPO = shipped_root()          # holds arch_configs/ and workloads/ (the checkout, or the wheel's copy)


@attrs.frozen(kw_only=True)
class Params:
    model: str = field(doc="a Hugging Face config.json (path relative to the workload file)")
    phase: Literal["prefill", "decode", "request"] = field("decode", doc="prefill: one pass over the prompt; decode: one step; request: prefill + output_tokens - 1 decode steps")
    batch: int = field(1, ge=1, le=1 << 20, doc="sequences processed together")
    context: int = field(1024, ge=1, le=1 << 24, doc="decode: tokens already cached; prefill / request: prompt tokens")
    output_tokens: int = field(128, ge=1, le=1 << 24, doc="request: tokens generated (the first by the prefill)")
    chunk: int = field(0, ge=0, le=1 << 24, doc="prefill chunk (tokens); 0 = the whole prompt in one pass")
    layers: int = field(0, ge=0, le=1 << 16, doc="first N decoder layers only; 0 = the whole model")
    first_layer: int = field(0, ge=0, le=1 << 16, doc="index of the first decoder layer in scope (with layers > 0)")
    dtype: Literal["bf16", "fp16", "fp8"] = field("bf16", doc="activation (and compute) dtype")
    weight_dtype: Literal["", "bf16", "fp16", "fp8", "int8", "int4"] = field(
        "", doc="stored weights; '' = the checkpoint's (fp8 for DeepSeek-V3, else dtype)")
    group_size: int = field(128, ge=0, le=1 << 20, doc="weights per quantisation scale; 0 = per channel")
    kv_dtype: Literal["", "bf16", "fp16", "fp8"] = field("", doc="KV cache dtype; '' = dtype")
    mla_form: Literal["auto", "naive", "absorbed"] = field(
        "auto", doc="MLA form; auto = naive for prefill, weight-absorbed for decode")
    routing: Literal["uniform", "skewed"] = field("uniform", doc="MoE routing for the expected active experts")
    routing_skew: float = field(1.0, ge=0.0, le=10.0, doc="Zipf exponent of expert popularity (skewed)")
    kernels: Literal["torch", "fused"] = field(
        "torch", doc="kernel sequences of RoPE, MoE and absorbed MLA: torch = PyTorch eager as measured "
                     "on the H100 (rotate_half, softmax/topk routing + sort dispatch + torch._grouped_mm "
                     "+ index_add combine, batched-GEMM MLA); fused = one RoPE kernel, fused MoE, FlashMLA-style")
    # multi-device splits: archsim/workloads/parallel.py
    tensor_parallel: int = field(1, ge=1, le=4096, doc="Megatron-style tensor parallelism (devices per layer)")
    pipeline_parallel: int = field(1, ge=1, le=4096, doc="GPipe-style pipeline stages")
    expert_parallel: int = field(1, ge=1, le=4096, doc="expert parallelism (ranks splitting experts and sequences)")
    micro_batches: int = field(0, ge=0, le=1 << 20, doc="micro-batches per step; 0 = pipeline_parallel")
    sequence_parallel: bool = field(False, doc="Megatron sequence parallelism with TP: reduce-scatter + all-gather")


def resolve_model(model: str, source) -> Path:
    """The config file: relative to the workload file's folder, else to the working directory,
    else to the archsim checkout (so `workloads/llm/NAME.json` works from anywhere)."""
    p = Path(model)
    tried = []
    if p.is_absolute():
        tried.append(p)
    else:
        if source and not str(source).startswith("<"):
            tried.append(Path(source).parent / p)
        tried += [Path.cwd() / p, REPO / p]
    for c in tried:
        if c.is_file():
            return c
    raise ConfigError(source or "<workload>", "params.model", f"config file {model!r} not found; looked at: "
                      + ", ".join(str(c) for c in tried))


@attrs.frozen(kw_only=True)
class _Shape:
    """Resolved dtypes of a run."""
    dtype: str
    weight_dtype: str
    group_size: int
    kv_dtype: str
    mla_form: str
    routing: str
    skew: float
    kernels: str = "torch"


def _shape(cfg: ModelConfig, p: Params, phase: str) -> _Shape:
    wdt = p.weight_dtype or (cfg.native_weight_dtype or p.dtype)
    group = p.group_size
    if not p.weight_dtype and cfg.native_weight_dtype == "fp8" and cfg.weight_block[0] > 0:
        group = cfg.weight_block[0] * cfg.weight_block[1]
    form = p.mla_form if p.mla_form != "auto" else ("absorbed" if phase == "decode" else "naive")
    return _Shape(dtype=p.dtype, weight_dtype=wdt, group_size=group, kv_dtype=p.kv_dtype or p.dtype,
                  mla_form=form, routing=p.routing, skew=p.routing_skew, kernels=p.kernels)


def _lin(name, tokens, k, n, s: _Shape, *, quantised=True):
    return Linear(name=name, tokens=tokens, in_features=k, out_features=n, dtype=s.dtype,
                  weight_dtype=s.weight_dtype if quantised else s.dtype, group_size=s.group_size)


def layer_ops(cfg: ModelConfig, *, batch: int, q_len: int, kv_len: int, moe: bool, s: _Shape,
              prefix: str = "") -> list:
    """One decoder layer's ops for `batch` sequences of `q_len` new tokens attending to
    `kv_len` tokens (the new ones included)."""
    t = batch * q_len
    h, dt = cfg.hidden, s.dtype
    norm = "rms" if cfg.norm == "rms" else "layer"
    kvb = M.kv_bytes_per_token_layer(cfg, s.kv_dtype)
    ops = [Norm(name=f"{prefix}attn_norm", tokens=t, hidden=h, kind=norm, dtype=dt)]
    if cfg.mla:
        qk = cfg.qk_nope_dim + cfg.qk_rope_dim
        torch_naive = s.mla_form == "naive" and s.kernels == "torch"   # the op writes its per-head cache
        if cfg.q_lora_rank:
            ops += [_lin(f"{prefix}q_a_proj", t, h, cfg.q_lora_rank, s),
                    Norm(name=f"{prefix}q_a_norm", tokens=t, hidden=cfg.q_lora_rank, dtype=dt),
                    _lin(f"{prefix}q_b_proj", t, cfg.q_lora_rank, cfg.heads * qk, s)]
        else:
            ops.append(_lin(f"{prefix}q_proj", t, h, cfg.heads * qk, s))
        ops += [_lin(f"{prefix}kv_a_proj", t, h, cfg.kv_lora_rank + cfg.qk_rope_dim, s),
                Norm(name=f"{prefix}kv_a_norm", tokens=t, hidden=cfg.kv_lora_rank, dtype=dt),
                Rope(name=f"{prefix}rope", tokens=t, heads=cfg.heads + 1, rot_dim=cfg.qk_rope_dim, dtype=dt,
                     impl=s.kernels),
                *([] if torch_naive else
                  [KvWrite(name=f"{prefix}kv_write", batch=batch, new_tokens=q_len, bytes_per_token=kvb)]),
                MlaAttention(name=f"{prefix}mla_attention", batch=batch, q_len=q_len, kv_len=kv_len,
                             heads=cfg.heads, qk_nope_dim=cfg.qk_nope_dim, qk_rope_dim=cfg.qk_rope_dim,
                             v_head_dim=cfg.v_head_dim, kv_lora_rank=cfg.kv_lora_rank, form=s.mla_form,
                             impl=s.kernels, dtype=dt, kv_dtype=s.kv_dtype, causal=q_len > 1)]
        attn_out = cfg.heads * cfg.v_head_dim
    else:
        ops.append(_lin(f"{prefix}qkv_proj", t, h, (cfg.heads + 2 * cfg.kv_heads) * cfg.head_dim, s))
        if not cfg.learned_positions:
            ops.append(Rope(name=f"{prefix}rope", tokens=t, heads=cfg.heads + cfg.kv_heads,
                            rot_dim=cfg.head_dim, dtype=dt, impl=s.kernels))
        ops += [KvWrite(name=f"{prefix}kv_write", batch=batch, new_tokens=q_len, bytes_per_token=kvb),
                Attention(name=f"{prefix}attention", batch=batch, q_len=q_len, kv_len=kv_len, heads=cfg.heads,
                          kv_heads=cfg.kv_heads, head_dim=cfg.head_dim,
                          dtype="fp8" if s.kv_dtype == "fp8" else dt, causal=q_len > 1)]
        attn_out = cfg.heads * cfg.head_dim
    ops += [_lin(f"{prefix}o_proj", t, attn_out, h, s),
            Elementwise(name=f"{prefix}attn_residual", n_elements=t * h, n_inputs=2, flops_per_element=1.0, dtype=dt),
            Norm(name=f"{prefix}ffn_norm", tokens=t, hidden=h, kind=norm, dtype=dt)]
    if moe:
        ops += [_lin(f"{prefix}router", t, h, cfg.experts, s, quantised=False),
                MoeFfn(name=f"{prefix}moe_experts", tokens=t, hidden=h, expert_ffn=cfg.moe_intermediate,
                       experts=cfg.experts, top_k=cfg.experts_per_token, shared_experts=cfg.shared_experts,
                       routing=s.routing, skew=s.skew, gated=cfg.gated_ffn, norm_topk=cfg.norm_topk,
                       impl=s.kernels, dtype=dt,
                       weight_dtype=s.weight_dtype, group_size=s.group_size)]
    elif cfg.gated_ffn:
        n_i = t * cfg.intermediate
        # torch: F.silu(gate) * up, two kernels in PyTorch eager, each reading a half of the fused
        # gate_up output (a strided view: the non-vectorised elementwise path)
        act = ([Elementwise(name=f"{prefix}silu", n_elements=n_i, n_inputs=1, flops_per_element=4.0, dtype=dt,
                            access="strided"),
                Elementwise(name=f"{prefix}mul", n_elements=n_i, n_inputs=2, flops_per_element=1.0, dtype=dt,
                            access="strided")]
               if s.kernels == "torch" else
               [Elementwise(name=f"{prefix}silu_mul", n_elements=n_i, n_inputs=2, flops_per_element=5.0, dtype=dt)])
        ops += [_lin(f"{prefix}gate_up_proj", t, h, 2 * cfg.intermediate, s), *act,
                _lin(f"{prefix}down_proj", t, cfg.intermediate, h, s)]
    else:
        ops += [_lin(f"{prefix}fc_in", t, h, cfg.intermediate, s),
                Elementwise(name=f"{prefix}gelu", n_elements=t * cfg.intermediate, n_inputs=1,
                            flops_per_element=8.0, dtype=dt),
                _lin(f"{prefix}fc_out", t, cfg.intermediate, h, s)]
    ops.append(Elementwise(name=f"{prefix}ffn_residual", n_elements=t * h, n_inputs=2, flops_per_element=1.0, dtype=dt))
    return ops


def _rep(ops, times: int):
    return [attrs.evolve(o, repeat=o.repeat * times) for o in ops]


def forward_ops(cfg: ModelConfig, *, batch: int, q_len: int, kv_len: int, n_layers: int, s: _Shape,
                head_tokens: int, prefix: str = "", first: int = 0) -> list:
    """One pass over the first `n_layers` layers (with embedding and LM head when it is the
    whole model); layers of one kind are one template op each, repeated."""
    t = batch * q_len
    whole = n_layers == cfg.layers and first == 0
    ops = []
    if whole:
        ops.append(Embedding(name=f"{prefix}embed", tokens=t, vocab=cfg.vocab, hidden=cfg.hidden, dtype=s.dtype))
    kinds = [cfg.is_moe_layer(i) for i in range(first, first + n_layers)]
    runs = []                     # consecutive layers of one kind
    for k in kinds:
        if runs and runs[-1][0] == k:
            runs[-1][1] += 1
        else:
            runs.append([k, 1])
    for j, (moe, count) in enumerate(runs):
        tag = f"{prefix}{'moe' if moe else 'dense'}_layers{j}." if len(runs) > 1 else prefix
        ops += _rep(layer_ops(cfg, batch=batch, q_len=q_len, kv_len=kv_len, moe=moe, s=s, prefix=tag), count)
    if whole and head_tokens > 0:
        ops += [Norm(name=f"{prefix}final_norm", tokens=head_tokens, hidden=cfg.hidden,
                     kind="rms" if cfg.norm == "rms" else "layer", dtype=s.dtype),
                _lin(f"{prefix}lm_head", head_tokens, cfg.hidden, cfg.vocab, s, quantised=False)]
    return ops


def _prefill(cfg, p: Params, s: _Shape, n_layers: int, context: int, prefix="prefill.") -> list:
    chunk = p.chunk if 0 < p.chunk < context else context
    ops, done, k = [], 0, 0
    while done < context:
        q = min(chunk, context - done)
        tag = f"{prefix}chunk{k}." if chunk < context else prefix
        ops += forward_ops(cfg, batch=p.batch, q_len=q, kv_len=done + q, n_layers=n_layers, s=s,
                           head_tokens=p.batch if done + q == context else 0, prefix=tag, first=p.first_layer)
        done += q
        k += 1
    return ops


def _decode(cfg, p: Params, s: _Shape, n_layers: int, kv_len: int, steps: int, prefix="decode.") -> list:
    return _rep(forward_ops(cfg, batch=p.batch, q_len=1, kv_len=kv_len, n_layers=n_layers, s=s,
                            head_tokens=p.batch, prefix=prefix, first=p.first_layer), steps)


def _block_transformer(cfg: ModelConfig, p: Params, s: _Shape) -> tuple[list, int, int]:
    """(ops, prefill op count, tokens produced per decode pass). A decode pass emits one block:
    the block decoder steps once over the cached blocks, the prefix projection maps its output
    to the token decoder, which then decodes block_length tokens attending only to the prefix
    and the block's own tokens."""
    lb, tok = cfg.block_length, cfg.token_decoder

    def block_pass(kv_blocks, q_blocks, prefix):
        ops = forward_ops(cfg, batch=p.batch, q_len=q_blocks, kv_len=kv_blocks, n_layers=cfg.layers, s=s,
                          head_tokens=0, prefix=prefix + "block.")
        ops.append(_lin(prefix + "prefix_proj", p.batch, cfg.hidden, tok.hidden, s))
        return ops

    def token_pass(steps, prefix):
        # mean local context over a block: prefix + (block_length + 1) / 2 tokens
        kv = 1 + max(1, (lb + 1) // 2)
        return _rep(forward_ops(tok, batch=p.batch, q_len=1, kv_len=kv, n_layers=tok.layers, s=s,
                                head_tokens=p.batch, prefix=prefix + "token."), steps)

    blocks = max(1, p.context // lb)
    if p.phase == "decode":
        ops = block_pass(blocks + 1, 1, "decode.") + token_pass(lb, "decode.")
        return ops, 0, lb
    pre = block_pass(blocks, blocks, "prefill.")
    pre += forward_ops(tok, batch=p.batch, q_len=lb + 1, kv_len=lb + 1, n_layers=tok.layers, s=s,
                       head_tokens=p.batch, prefix="prefill.token.")
    if p.phase == "prefill":
        return pre, len(pre), lb
    passes = max(0, math.ceil((p.output_tokens - 1) / lb))
    mean_blocks = blocks + max(1, passes // 2)
    dec = []
    if passes:
        dec = _rep(block_pass(mean_blocks, 1, "decode.") + token_pass(lb, "decode."), passes)
    return pre + dec, len(pre), lb


def expand(p: Params, *, seed: int = 0, source=None) -> OpGraph:
    path = resolve_model(p.model, source)
    cfg = load_config(path)
    if p.layers > cfg.layers:
        raise ConfigError(source or "<workload>", "params.layers",
                          f"must be <= the model's {cfg.layers} layers (0 = all); got {p.layers}")
    if p.first_layer and (p.layers == 0 or p.first_layer + p.layers > cfg.layers):
        raise ConfigError(source or "<workload>", "params.first_layer",
                          f"needs layers > 0 and first_layer + layers <= the model's {cfg.layers} layers; "
                          f"got first_layer {p.first_layer}, layers {p.layers}")
    if p.tensor_parallel * p.pipeline_parallel * p.expert_parallel * max(1, p.micro_batches) > 1:
        from archsim.workloads.parallel import split
        return split(p, expand, cfg, seed=seed, source=source)
    n_layers = p.layers or cfg.layers
    s = _shape(cfg, p, p.phase)
    if cfg.token_decoder is not None:
        if p.layers not in (0, cfg.layers):
            raise ConfigError(source or "<workload>", "params.layers", "a Block Transformer runs whole (layers = 0)")
        ops, n_prefill, per_pass = _block_transformer(cfg, p, s)
        decode_steps = 1 if p.phase == "decode" else (max(0, math.ceil((p.output_tokens - 1) / per_pass))
                                                       if p.phase == "request" else 0)
    else:
        per_pass = 1
        if p.phase == "decode":
            ops, n_prefill, decode_steps = _decode(cfg, p, s, n_layers, p.context + 1, 1), 0, 1
        else:
            pre = _prefill(cfg, p, s, n_layers, p.context)
            ops, n_prefill, decode_steps = pre, len(pre), 0
            if p.phase == "request" and p.output_tokens > 1:
                decode_steps = p.output_tokens - 1
                sd = _shape(cfg, p, "decode")
                mean_kv = p.context + 1 + round((decode_steps - 1) / 2)
                ops = pre + _decode(cfg, p, sd, n_layers, mean_kv, decode_steps)
    needs = memory_needs(cfg, p, s, n_layers)
    llm = {"model": cfg.name, "config_path": str(path), "family": cfg.family, "phase": p.phase, "batch": p.batch, "context": p.context,
           "layers": n_layers, "first_layer": p.first_layer, "whole_model": n_layers == cfg.layers, "prefill_ops": n_prefill,
           "decode_steps": decode_steps, "tokens_per_decode_step": per_pass,
           "prefill_passes": 0 if p.phase == "decode" else (math.ceil(p.context / p.chunk) if 0 < p.chunk < p.context else 1),
           "output_tokens": p.output_tokens if p.phase == "request" else (per_pass if p.phase == "decode" else 1),
           "dtype": s.dtype, "weight_dtype": s.weight_dtype, "kv_dtype": s.kv_dtype,
           "mla_form": s.mla_form if cfg.mla else None,
           "params": M.param_counts(cfg)["total"]}
    return OpGraph(ops=tuple(ops), meta={"llm": llm, "memory_needs": needs})


def memory_needs(cfg: ModelConfig, p: Params, s: _Shape, n_layers: int) -> dict:
    """Bytes the run holds on the device (archsim.workloads.llm.memory)."""
    scope = 0 if n_layers == cfg.layers else n_layers
    w = M.model_weight_bytes(cfg, weight_dtype=s.weight_dtype, group_size=s.group_size, dtype=s.dtype,
                             layers=scope, first_layer=p.first_layer)
    kv_tok = M.kv_bytes_per_token(cfg, s.kv_dtype, scope)
    if cfg.mla and s.mla_form == "naive" and s.kernels == "torch":
        # PyTorch's naive MLA caches per-head K and V (V padded to the K width), not the latent
        kv_tok = (cfg.layers if scope == 0 else scope) * 2 * cfg.heads * (cfg.qk_nope_dim + cfg.qk_rope_dim) \
            * DTYPE_BYTES[s.kv_dtype]
    held = p.context + (1 if p.phase == "decode" else (p.output_tokens if p.phase == "request" else 0))
    kv_seq = held * kv_tok + M.local_kv_bytes(cfg, s.kv_dtype)
    whole = n_layers == cfg.layers
    if p.phase == "decode":
        act = M.activation_bytes(cfg, batch=1, q_len=1, kv_len=held, dtype=s.dtype,
                                 mla_naive=s.mla_form == "naive", head_tokens=1 if whole else 0)
    else:
        q = p.chunk if 0 < p.chunk < p.context else p.context
        act = M.activation_bytes(cfg, batch=1, q_len=q, kv_len=p.context, dtype=s.dtype,
                                 mla_naive=s.mla_form == "naive", head_tokens=1 if whole else 0)
    n = cfg.layers if scope == 0 else scope
    return {"weights": w, "kv_per_token": kv_tok, "kv_per_token_per_layer": kv_tok / n if n else 0.0,
            "kv_cache": p.batch * kv_seq, "activations": p.batch * act, "batch": p.batch,
            "tokens_per_sequence": held, "per_sequence": kv_seq + act, "dtype_bytes": DTYPE_BYTES[s.dtype]}
