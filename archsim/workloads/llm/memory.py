"""Memory accounting of an LLM on a device (bytes): weights, KV cache per token and in total,
activations / workspace, and the largest batch that fits.

Conventions (docs/llm.md):
- weights: every parameter of the layers in scope at its stored dtype; decoder linear layers
  (attention projections, dense FFN, experts) at `weight_dtype` with one fp16 scale per
  `group_size` weights for int4 / int8 / fp8 (fp8 with a block shape, e.g. DeepSeek-V3's
  128 x 128: one fp32 scale per block); embeddings, LM head, norms and routers at the activation
  dtype. With fewer layers than the model has, only those layers (no embedding or LM head).
- KV per token: per layer 2 x kv_heads x head_dim values (GQA / MHA) or kv_lora_rank +
  qk_rope_dim (MLA: the latent and the shared RoPE key), x kv dtype bytes, summed over layers —
  DeepSeek-V3's own table (70,272 B MLA; Qwen-2.5-72B 327,680; Llama-3.1-405B 516,096) at bf16.
- activations: the residual stream plus the largest working set of one layer's ops for the
  pass's tokens (flash attention: no score matrix; MLA naive: the decompressed K/V), plus the
  fp32 logits of the positions that reach the LM head.
"""
from __future__ import annotations

import math

from archsim.units import DTYPE_BYTES
from archsim.workloads.llm.config import ModelConfig
from archsim.workloads.llm.ops import weight_bytes as _wbytes


def attention_params(cfg: ModelConfig) -> int:
    h = cfg.hidden
    if cfg.mla:
        qk = cfg.qk_nope_dim + cfg.qk_rope_dim
        if cfg.q_lora_rank:
            q = h * cfg.q_lora_rank + cfg.q_lora_rank + cfg.q_lora_rank * cfg.heads * qk
        else:
            q = h * cfg.heads * qk
        kv = h * (cfg.kv_lora_rank + cfg.qk_rope_dim) + cfg.kv_lora_rank \
            + cfg.kv_lora_rank * cfg.heads * (cfg.qk_nope_dim + cfg.v_head_dim)
        return q + kv + cfg.heads * cfg.v_head_dim * h
    qkv = h * (cfg.heads + 2 * cfg.kv_heads) * cfg.head_dim
    bias = (cfg.heads + 2 * cfg.kv_heads) * cfg.head_dim if cfg.qkv_bias else 0
    return qkv + bias + cfg.heads * cfg.head_dim * h + (h if cfg.family == "gpt2" else 0)


def dense_ffn_params(cfg: ModelConfig) -> int:
    n = (3 if cfg.gated_ffn else 2) * cfg.hidden * cfg.intermediate
    return n + ((cfg.intermediate + cfg.hidden) if cfg.family == "gpt2" else 0)


def expert_params(cfg: ModelConfig) -> int:
    return (3 if cfg.gated_ffn else 2) * cfg.hidden * cfg.moe_intermediate


def norm_params(cfg: ModelConfig) -> int:
    return (2 if cfg.norm == "rms" else 4) * cfg.hidden       # two norms per layer (+ biases)


def param_counts(cfg: ModelConfig) -> dict:
    """Parameter counts by part (whole model)."""
    moe_layers = sum(cfg.is_moe_layer(i) for i in range(cfg.layers))
    dense_layers = cfg.layers - moe_layers
    out = {
        "embedding": cfg.vocab * cfg.hidden + (cfg.max_positions * cfg.hidden if cfg.learned_positions else 0),
        "attention": cfg.layers * attention_params(cfg),
        "dense_ffn": dense_layers * dense_ffn_params(cfg),
        "routed_experts": moe_layers * cfg.experts * expert_params(cfg),
        "shared_experts": moe_layers * cfg.shared_experts * expert_params(cfg),
        "routers": moe_layers * cfg.hidden * cfg.experts,
        "norms": cfg.layers * norm_params(cfg) + cfg.hidden * (1 if cfg.norm == "rms" else 2),
        "lm_head": 0 if cfg.tie_embeddings else cfg.vocab * cfg.hidden,
    }
    if cfg.token_decoder is not None:
        tok = param_counts(cfg.token_decoder)
        out = {k: v + tok[k] for k, v in out.items()}
        out["embedding"] -= cfg.token_decoder.vocab * cfg.token_decoder.hidden   # one shared embedder
        out["prefix_projection"] = cfg.hidden * cfg.token_decoder.hidden
    out["total"] = sum(out.values())
    return out


def _layer_linear_weight_bytes(cfg: ModelConfig, i: int, wdt: str, group: int, act: str) -> float:
    """Stored bytes of layer i's linear weights (+ its norms and router at the activation dtype)."""
    ab = DTYPE_BYTES[act]
    w = _wbytes(attention_params(cfg), wdt, group, cfg.hidden)
    if cfg.is_moe_layer(i):
        w += (cfg.experts + cfg.shared_experts) * _wbytes(expert_params(cfg), wdt, group, cfg.moe_intermediate)
        w += cfg.hidden * cfg.experts * ab
    else:
        w += _wbytes(dense_ffn_params(cfg), wdt, group, cfg.intermediate)
    return w + norm_params(cfg) * ab


def model_weight_bytes(cfg: ModelConfig, *, weight_dtype: str, group_size: int, dtype: str,
                       layers: int = 0, first_layer: int = 0) -> float:
    """Weights of `layers` decoder layers from layer `first_layer` on (layers 0 = the whole
    model with embeddings, final norm and LM head)."""
    if cfg.token_decoder is not None:
        full = layers in (0, cfg.layers)
        w = sum(_layer_linear_weight_bytes(cfg, i, weight_dtype, group_size, dtype) for i in range(cfg.layers))
        tok = cfg.token_decoder
        w += sum(_layer_linear_weight_bytes(tok, i, weight_dtype, group_size, dtype) for i in range(tok.layers))
        if full:
            ab = DTYPE_BYTES[dtype]
            w += (cfg.vocab * tok.hidden * 2 + cfg.hidden * tok.hidden + cfg.hidden + tok.hidden) * ab
        return w
    n = cfg.layers if layers in (0,) else min(layers, cfg.layers)
    w = sum(_layer_linear_weight_bytes(cfg, i, weight_dtype, group_size, dtype)
            for i in range(first_layer, min(first_layer + n, cfg.layers)))
    if layers == 0:
        ab = DTYPE_BYTES[dtype]
        pc = param_counts(cfg)
        w += (pc["embedding"] + pc["lm_head"] + cfg.hidden) * ab
    return w


def kv_bytes_per_token_layer(cfg: ModelConfig, kv_dtype: str) -> int:
    b = DTYPE_BYTES[kv_dtype]
    if cfg.mla:
        return (cfg.kv_lora_rank + cfg.qk_rope_dim) * b
    return 2 * cfg.kv_heads * cfg.head_dim * b


def kv_bytes_per_token(cfg: ModelConfig, kv_dtype: str, layers: int = 0) -> float:
    """KV bytes one token adds to the cache over the layers in scope. Block Transformer: the
    block decoder caches one entry per block (1 / block_length per token); the token decoder's
    local cache does not grow with the context (see `local_kv_bytes`)."""
    n = cfg.layers if layers == 0 else min(layers, cfg.layers)
    per = n * kv_bytes_per_token_layer(cfg, kv_dtype)
    if cfg.token_decoder is not None:
        return per / cfg.block_length
    return float(per)


def local_kv_bytes(cfg: ModelConfig, kv_dtype: str) -> float:
    """Block Transformer's token-decoder cache per sequence: prefix + block_length positions."""
    if cfg.token_decoder is None:
        return 0.0
    tok = cfg.token_decoder
    return (cfg.block_length + 1) * tok.layers * kv_bytes_per_token_layer(tok, kv_dtype)


def activation_bytes(cfg: ModelConfig, *, batch: int, q_len: int, kv_len: int, dtype: str,
                     mla_naive: bool = False, head_tokens: int = 0) -> float:
    """Peak live activations of one forward pass of `batch` x `q_len` new tokens (see the
    module docstring); `head_tokens` positions reach the LM head (0 = none)."""
    ab = DTYPE_BYTES[dtype]
    t = batch * q_len
    h = cfg.hidden
    sets = [t * (h + (cfg.heads * cfg.qk_head_dim + 2 * cfg.kv_heads * cfg.head_dim)) * ab,
            t * (2 * cfg.heads * max(cfg.qk_head_dim, cfg.attn_v_dim)) * ab]
    if cfg.mla and mla_naive:
        sets.append(batch * kv_len * cfg.heads * (cfg.qk_nope_dim + cfg.v_head_dim) * ab)
    ffn = cfg.intermediate * (2 if cfg.gated_ffn else 1)
    sets.append(t * (h + ffn) * ab)
    if cfg.moe:
        sets.append(t * cfg.experts_per_token * (h + 2 * cfg.moe_intermediate) * ab)
    return t * h * ab + max(sets) + head_tokens * cfg.vocab * 4.0


def max_batch(*, capacity: float, fixed_bytes: float, per_sequence_bytes: float) -> int:
    """The largest batch whose weights + per-sequence KV and activations fit in `capacity`."""
    if per_sequence_bytes <= 0:
        return 0
    return max(0, int(math.floor((capacity - fixed_bytes) / per_sequence_bytes)))
