"""Op kinds of an LLM inference step (DESIGN.md §3 "add kinds as blocks need them").

| op | fields |
|---|---|
| `linear` | `tokens in_features out_features dtype weight_dtype group_size` — a projection y = x W with W stored at `weight_dtype` (int4/int8/fp8 with one fp16 scale per `group_size` weights; 0 = per output channel), computed at the activation `dtype` |
| `moe_ffn` | `tokens hidden expert_ffn experts top_k shared_experts routing skew gated dtype weight_dtype group_size` — routed experts (each token to `top_k` of `experts`) + `shared_experts` every token uses; weights read only for the experts the batch activates (expected count under `uniform` or Zipf-`skewed` routing) |
| `mla_attention` | `batch q_len kv_len heads qk_nope_dim qk_rope_dim v_head_dim kv_lora_rank form dtype kv_dtype causal` — multi-head latent attention from the cached latent (`kv_lora_rank + qk_rope_dim` values per token) to per-head outputs: `naive` decompresses the cached latent to per-head K/V every step; `absorbed` folds W_UK into the query and W_UV into the output and attends over the latent directly (MQA-like) |
| `kv_write` | `batch new_tokens bytes_per_token` — append the new tokens' K/V (or latent) of one layer to the cache |
| `embedding` | `tokens vocab hidden dtype` — token embedding lookup (a row gather) |
| `norm` | `tokens hidden kind dtype` — RMSNorm (`rms`) or LayerNorm (`layer`) |
| `rope` | `tokens heads rot_dim dtype` — rotary position embedding of `heads` (query + key) heads |

Every op gives `flops()`, `min_bytes()` (compulsory DRAM traffic) and `lower()`: the same work
as core ops (`gemm`, `attention`, `elementwise`, `copy`), each with a count of independent
instances (a GEMM instance has its own B operand: per head, per expert) — what a block runs
when it has no model of its own for the kind (archsim.blocks.base.evaluate_lowered).
"""
from __future__ import annotations

import math
from typing import Literal

import attrs

from archsim.config.load import field
from archsim.workloads.ops import Attention, Copy, Dtype, Elementwise, Gemm, _nbytes

WeightDtype = Literal["fp32", "bf16", "fp16", "fp8", "int8", "int4"]
WEIGHT_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
SCALE_BYTES = 2          # one fp16 scale per quantisation group (GPTQ / AWQ style)


def weight_bytes(params: float, weight_dtype: str, group_size: int, out_features: int = 0) -> float:
    """Bytes of `params` weights at `weight_dtype`, with one fp16 scale per `group_size` weights
    for integer and fp8 formats (group_size 0: one per output channel, `out_features` of them)."""
    b = params * WEIGHT_BYTES[weight_dtype]
    if weight_dtype in ("int8", "int4", "fp8"):
        groups = params / group_size if group_size > 0 else float(out_features)
        b += groups * SCALE_BYTES
    return b


@attrs.frozen(kw_only=True)
class Linear:
    """y[tokens, out] = x[tokens, in] @ W[in, out]; weights at `weight_dtype` (dequantised to
    `dtype` on the fly when they differ), MACs at the activation `dtype`."""
    KIND = "linear"
    tokens: int = field(ge=1, doc="rows of x (batch x new tokens)")
    in_features: int = field(ge=1)
    out_features: int = field(ge=1)
    dtype: Dtype = field("bf16", doc="activation (and compute) dtype")
    weight_dtype: WeightDtype = field("bf16", doc="stored weight dtype")
    group_size: int = field(128, ge=0, doc="weights per fp16 scale (int/fp8 formats); 0 = per channel")
    name: str = ""
    repeat: int = field(1, ge=1)

    def params(self) -> int:
        return self.in_features * self.out_features

    def weight_bytes(self) -> float:
        return weight_bytes(self.params(), self.weight_dtype, self.group_size, self.out_features)

    def act_bytes(self) -> float:
        return self.tokens * (self.in_features + self.out_features) * _nbytes(self.dtype)

    def macs(self) -> int:
        return self.tokens * self.in_features * self.out_features

    def flops(self) -> float:
        return 2.0 * self.macs()

    def min_bytes(self) -> float:
        return self.act_bytes() + self.weight_bytes()

    def lower(self):
        return ((Gemm(m=self.tokens, k=self.in_features, n=self.out_features, dtype=self.dtype,
                      name=self.name), 1),)


def expected_active_experts(tokens: int, experts: int, top_k: int, routing: str = "uniform",
                            skew: float = 1.0) -> float:
    """Expected number of distinct experts that `tokens` tokens route to, each choosing `top_k`
    of `experts`. uniform: every expert is in a token's top-k with probability k/E, so
    E (1 - (1 - k/E)^T). skewed: expert i's popularity follows Zipf p_i ~ 1/i^skew, its
    per-token selection probability q_i = min(1, k p_i) (mass above 1 handed down to the
    next experts), and the expectation is sum_i 1 - (1 - q_i)^T. Both are independence
    approximations across tokens (MoE-Lens's weight-traffic-vs-batch effect)."""
    if experts <= 0 or top_k <= 0:
        return 0.0
    if routing == "uniform":
        # E identical terms: closed form (a list of E probabilities was E x 8 bytes of memory)
        return float(experts * (1.0 - (1.0 - top_k / experts) ** tokens))
    import numpy as np
    w = 1.0 / np.arange(1, experts + 1, dtype=np.float64) ** skew
    v0 = top_k * w / w.sum()
    total, carry, i = 0.0, 0.0, 0
    while i < experts:          # the head, where probabilities above 1 carry to the next experts
        v = float(v0[i]) + carry
        carry = max(0.0, v - 1.0)
        total += 1.0 - (1.0 - min(1.0, v)) ** tokens
        i += 1
        if carry == 0.0 and (i >= experts or v0[i] < 1.0):
            break
    tail = v0[i:]               # decreasing, below 1, nothing carried: q = v
    return float(total + np.sum(1.0 - (1.0 - tail) ** tokens))


@attrs.frozen(kw_only=True)
class MoeFfn:
    """The expert part of a MoE layer (the router is a separate `linear`): each of `tokens`
    tokens runs `top_k` routed experts and all `shared_experts`; an expert is a gated (SwiGLU:
    gate, up, down) or plain (up, down) FFN of width `expert_ffn`. Expert weights are read for
    the experts the batch activates (`active_experts()`), so weight traffic per step grows with
    the batch until every expert is active."""
    KIND = "moe_ffn"
    tokens: int = field(ge=1)
    hidden: int = field(ge=1)
    expert_ffn: int = field(ge=1, doc="intermediate width of one expert (moe_intermediate_size)")
    experts: int = field(ge=1, le=1 << 24, doc="routed experts")
    top_k: int = field(ge=1, doc="routed experts per token")
    shared_experts: int = field(0, ge=0, doc="experts every token runs (DeepSeek), width expert_ffn each")
    routing: Literal["uniform", "skewed"] = field("uniform")
    skew: float = field(1.0, ge=0.0, le=10.0, doc="Zipf exponent of expert popularity for routing = skewed")
    gated: bool = True
    dtype: Dtype = field("bf16")
    weight_dtype: WeightDtype = field("bf16")
    group_size: int = field(128, ge=0)
    name: str = ""
    repeat: int = field(1, ge=1)

    def __attrs_post_init__(self):
        if self.top_k > self.experts:
            raise ValueError("top_k must be <= experts")

    def expert_params(self) -> int:
        return (3 if self.gated else 2) * self.hidden * self.expert_ffn

    def active_experts(self) -> float:
        return expected_active_experts(self.tokens, self.experts, self.top_k, self.routing, self.skew)

    def tokens_per_active_expert(self) -> int:
        return max(1, math.ceil(self.tokens * self.top_k / max(self.active_experts(), 1e-9)))

    def weight_bytes(self) -> float:
        """Expert weights read this step: the active routed experts + the shared ones."""
        n = self.active_experts() + self.shared_experts
        return n * weight_bytes(self.expert_params(), self.weight_dtype, self.group_size, self.expert_ffn)

    def macs(self) -> float:
        return float(self.tokens) * (self.top_k + self.shared_experts) * self.expert_params()

    def flops(self) -> float:
        return 2.0 * self.macs()

    def act_bytes(self) -> float:
        # each routed copy of a token reads its hidden vector and writes an output
        return float(self.tokens) * (self.top_k + self.shared_experts) * 2 * self.hidden * _nbytes(self.dtype)

    def min_bytes(self) -> float:
        return self.act_bytes() + self.weight_bytes()

    def lower(self):
        """Grouped GEMMs: the tokens x top_k routed rows spread as evenly as they go over the
        expected active experts (rounded to whole experts; some get one row more, so the MACs
        stay exact), each expert's rows through up(+gate), the activation and down; the shared
        experts the same over all tokens."""
        ffn_in = (2 if self.gated else 1) * self.expert_ffn
        routed_rows = self.tokens * self.top_k
        n_act = min(routed_rows, max(1, round(self.active_experts())))
        r0, extra = divmod(routed_rows, n_act)
        groups = [("routed", n_act - extra, r0), ("routed_plus1", extra, r0 + 1),
                  ("shared", self.shared_experts, self.tokens)]
        out = []
        for tag, count, m in groups:
            if count == 0 or m == 0:
                continue
            out.append((Gemm(m=m, k=self.hidden, n=ffn_in, dtype=self.dtype, name=f"{self.name}.{tag}.up"), count))
            out.append((Elementwise(n_elements=m * self.expert_ffn, n_inputs=2 if self.gated else 1,
                                    flops_per_element=5.0 if self.gated else 8.0, dtype=self.dtype,
                                    name=f"{self.name}.{tag}.act"), count))
            out.append((Gemm(m=m, k=self.expert_ffn, n=self.hidden, dtype=self.dtype,
                             name=f"{self.name}.{tag}.down"), count))
        return tuple(out)


@attrs.frozen(kw_only=True)
class MlaAttention:
    """Multi-head latent attention (DeepSeek-V2/V3), from the per-head queries (nope + rope
    parts, already projected) and the cached latent (kv_lora_rank + qk_rope_dim per token,
    shared by all heads) to per-head outputs of v_head_dim (before o_proj).

    naive: K_nope, V = latent @ W_UK, W_UV for all kv_len cached tokens (a GEMM every step),
    then ordinary attention with heads x (nope + rope) keys and v_head_dim values.
    absorbed: q_nope @ W_UK^T per head (-> kv_lora_rank wide), attention of all heads against
    the single latent (scores over kv_lora_rank + rope, values over kv_lora_rank: the latent is
    read once for both), then @ W_UV per head."""
    KIND = "mla_attention"
    batch: int = field(ge=1)
    q_len: int = field(ge=1)
    kv_len: int = field(ge=1)
    heads: int = field(ge=1)
    qk_nope_dim: int = field(ge=1)
    qk_rope_dim: int = field(ge=0)
    v_head_dim: int = field(ge=1)
    kv_lora_rank: int = field(ge=1)
    form: Literal["naive", "absorbed"] = field("absorbed")
    dtype: Dtype = field("bf16")
    kv_dtype: Dtype = field("bf16", doc="dtype of the cached latent")
    causal: bool = True
    name: str = ""
    repeat: int = field(1, ge=1)

    def seen(self) -> int:
        """(query, key) pairs per batch element and head; causal: counted once (no upper half)."""
        if self.causal and self.q_len > 1:
            return self.q_len * (self.kv_len - self.q_len) + self.q_len * (self.q_len + 1) // 2
        return self.q_len * self.kv_len

    def _attn_dims(self) -> tuple[int, int]:
        if self.form == "naive":
            return self.qk_nope_dim + self.qk_rope_dim, self.v_head_dim
        return self.kv_lora_rank + self.qk_rope_dim, self.kv_lora_rank

    def macs(self) -> float:
        dqk, dv = self._attn_dims()
        core = float(self.batch) * self.heads * self.seen() * (dqk + dv)
        if self.form == "naive":
            extra = float(self.batch) * self.kv_len * self.kv_lora_rank * self.heads * (self.qk_nope_dim + self.v_head_dim)
        else:
            extra = float(self.batch) * self.q_len * self.heads * self.kv_lora_rank * (self.qk_nope_dim + self.v_head_dim)
        return core + extra

    def flops(self) -> float:
        return 2.0 * self.macs()

    def latent_bytes(self) -> float:
        return float(self.batch) * self.kv_len * (self.kv_lora_rank + self.qk_rope_dim) * _nbytes(self.kv_dtype)

    def min_bytes(self) -> float:
        b = _nbytes(self.dtype)
        qo = float(self.batch) * self.q_len * self.heads * (self.qk_nope_dim + self.qk_rope_dim + self.v_head_dim) * b
        w = self.kv_lora_rank * self.heads * (self.qk_nope_dim + self.v_head_dim) * b      # W_UK, W_UV
        return qo + w + self.latent_bytes()

    def lower(self):
        b, hq = self.batch, self.heads
        tok = b * self.q_len
        if self.form == "naive":
            dqk, dv = self._attn_dims()
            up = Gemm(m=b * self.kv_len, k=self.kv_lora_rank, n=hq * (self.qk_nope_dim + self.v_head_dim),
                      dtype=self.dtype, name=f"{self.name}.kv_up")
            # an attention with head_dim = (dqk + dv) / 2 has exactly these MACs and bytes
            att = Attention(batch=b, q_len=self.q_len, kv_len=self.kv_len, heads=hq, kv_heads=hq,
                            head_dim=max(1, (dqk + dv) // 2), dtype=self.dtype, causal=self.causal,
                            name=f"{self.name}.attn")
            return ((up, 1), (att, 1))
        dqk, dv = self._attn_dims()
        q_abs = Gemm(m=tok, k=self.qk_nope_dim, n=self.kv_lora_rank, dtype=self.dtype,
                     name=f"{self.name}.q_absorb")
        kv_eff = max(1, round(self.seen() / self.q_len))
        # all heads share one latent: per batch element, scores = (heads x q_len) x dqk @ dqk x kv
        scores = Gemm(m=hq * self.q_len, k=dqk, n=kv_eff, dtype=self.kv_dtype, name=f"{self.name}.scores")
        soft = Elementwise(n_elements=b * hq * self.q_len * kv_eff, n_inputs=1, flops_per_element=5.0,
                           dtype=self.dtype, name=f"{self.name}.softmax")
        pv = Gemm(m=hq * self.q_len, k=kv_eff, n=dv, dtype=self.kv_dtype, name=f"{self.name}.pv")
        v_abs = Gemm(m=tok, k=self.kv_lora_rank, n=self.v_head_dim, dtype=self.dtype,
                     name=f"{self.name}.v_absorb")
        return ((q_abs, hq), (scores, b), (soft, 1), (pv, b), (v_abs, hq))


@attrs.frozen(kw_only=True)
class KvWrite:
    """Append `new_tokens` tokens per sequence to one layer's KV cache (`bytes_per_token`: K and
    V of every KV head, or MLA's latent)."""
    KIND = "kv_write"
    batch: int = field(ge=1)
    new_tokens: int = field(ge=1)
    bytes_per_token: int = field(ge=1)
    name: str = ""
    repeat: int = field(1, ge=1)

    def bytes(self) -> int:
        return self.batch * self.new_tokens * self.bytes_per_token

    def flops(self) -> float:
        return 0.0

    def min_bytes(self) -> float:
        return 2.0 * self.bytes()           # read the projected K/V, write them into the cache

    def lower(self):
        return ((Copy(bytes=self.bytes(), name=self.name), 1),)


@attrs.frozen(kw_only=True)
class Embedding:
    """Token embedding lookup: `tokens` rows of `hidden` from a `vocab` x `hidden` table."""
    KIND = "embedding"
    tokens: int = field(ge=1)
    vocab: int = field(ge=1)
    hidden: int = field(ge=1)
    dtype: Dtype = field("bf16")
    name: str = ""
    repeat: int = field(1, ge=1)

    def flops(self) -> float:
        return 0.0

    def min_bytes(self) -> float:
        return 2.0 * self.tokens * self.hidden * _nbytes(self.dtype)

    def lower(self):
        return ((Copy(bytes=self.tokens * self.hidden * _nbytes(self.dtype), name=self.name), 1),)


NORM_FLOPS = {"rms": 4.0, "layer": 7.0}   # per element: square, sum, scale, weight (+ mean, sub, bias)


@attrs.frozen(kw_only=True)
class Norm:
    KIND = "norm"
    tokens: int = field(ge=1)
    hidden: int = field(ge=1)
    kind: Literal["rms", "layer"] = field("rms")
    dtype: Dtype = field("bf16")
    name: str = ""
    repeat: int = field(1, ge=1)

    def flops(self) -> float:
        return self.tokens * self.hidden * NORM_FLOPS[self.kind]

    def min_bytes(self) -> float:
        return 2.0 * self.tokens * self.hidden * _nbytes(self.dtype)

    def lower(self):
        return ((Elementwise(n_elements=self.tokens * self.hidden, n_inputs=1,
                             flops_per_element=NORM_FLOPS[self.kind], dtype=self.dtype, name=self.name), 1),)


@attrs.frozen(kw_only=True)
class Rope:
    """Rotary embedding of `heads` heads (queries + keys) over `rot_dim` dims per token:
    per pair of dims 4 multiplies and 2 adds with a cached cos/sin table."""
    KIND = "rope"
    tokens: int = field(ge=1)
    heads: int = field(ge=1)
    rot_dim: int = field(ge=1)
    dtype: Dtype = field("bf16")
    name: str = ""
    repeat: int = field(1, ge=1)

    def flops(self) -> float:
        return 3.0 * self.tokens * self.heads * self.rot_dim

    def min_bytes(self) -> float:
        return 2.0 * self.tokens * self.heads * self.rot_dim * _nbytes(self.dtype)

    def lower(self):
        return ((Elementwise(n_elements=self.tokens * self.heads * self.rot_dim, n_inputs=1,
                             flops_per_element=3.0, dtype=self.dtype, name=self.name), 1),)


def lower_attention(op: Attention):
    """Core `attention` as GEMMs for blocks without an attention unit (systolic arrays): per
    (batch, KV head), the group's query rows against K (scores) and the probabilities against
    V; softmax as an element-wise pass. Causal: the keys each query sees, counted once."""
    g = op.heads // op.kv_heads
    kv_eff = max(1, round(op.macs() / (2 * op.batch * op.heads * op.q_len * op.head_dim)))
    inst = op.batch * op.kv_heads
    return ((Gemm(m=g * op.q_len, k=op.head_dim, n=kv_eff, dtype=op.dtype, name=f"{op.name}.scores"), inst),
            (Elementwise(n_elements=inst * g * op.q_len * kv_eff, n_inputs=1, flops_per_element=5.0,
                         dtype=op.dtype, name=f"{op.name}.softmax"), 1),
            (Gemm(m=g * op.q_len, k=kv_eff, n=op.head_dim, dtype=op.dtype, name=f"{op.name}.pv"), inst))


OPS = {cls.KIND: cls for cls in (Linear, MoeFfn, MlaAttention, KvWrite, Embedding, Norm, Rope)}
