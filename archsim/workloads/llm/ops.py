"""Op kinds of an LLM inference step (DESIGN.md §3 "add kinds as blocks need them").

| op | fields |
|---|---|
| `linear` | `tokens in_features out_features dtype weight_dtype group_size` — a projection y = x W with W stored at `weight_dtype` (int4/int8/fp8 with one fp16 scale per `group_size` weights; 0 = per output channel), computed at the activation `dtype` |
| `moe_ffn` | `tokens hidden expert_ffn experts top_k shared_experts routing skew gated norm_topk impl dtype weight_dtype group_size` — routed experts (each token to `top_k` of `experts`) + `shared_experts` every token uses; weights read only for the experts the batch activates (expected count under `uniform` or Zipf-`skewed` routing) |
| `mla_attention` | `batch q_len kv_len heads qk_nope_dim qk_rope_dim v_head_dim kv_lora_rank form impl dtype kv_dtype causal` — multi-head latent attention from the cached latent (`kv_lora_rank + qk_rope_dim` values per token) to per-head outputs: `naive` decompresses the cached latent to per-head K/V every step; `absorbed` folds W_UK into the query and W_UV into the output and attends over the latent directly (MQA-like) |
| `kv_write` | `batch new_tokens bytes_per_token` — append the new tokens' K/V (or latent) of one layer to the cache |
| `embedding` | `tokens vocab hidden dtype` — token embedding lookup (a row gather) |
| `norm` | `tokens hidden kind dtype` — RMSNorm (`rms`) or LayerNorm (`layer`) |
| `rope` | `tokens heads rot_dim impl dtype` — rotary position embedding of `heads` (query + key) heads |

`impl` (KernelImpl below): the kernel sequence of the implementation (torch: PyTorch eager as
measured on the H100; fused: a serving stack's fused kernels).

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
from archsim.workloads.ops import (Attention, Copy, Dtype, Elementwise, Gather, Gemm, TopK, _nbytes,
                                   attended_pairs)

WeightDtype = Literal["fp32", "bf16", "fp16", "fp8", "int8", "int4"]
# Kernel sequence of an op's implementation. "torch": the PyTorch-eager sequence timed kernel by
# kernel on the H100 (benchmarks/gpu/measure_llm.py, run b's llm_profile records): rotate-half
# RoPE (5 kernels per tensor), MoE with softmax + topk routing, a sort / scan dispatch index,
# torch._grouped_mm experts and an index_add combine, absorbed MLA as batched GEMMs. "fused":
# a serving stack's fused kernels (one RoPE kernel, fused-MoE grouped GEMMs, FlashMLA-style
# latent attention), not measured here.
KernelImpl = Literal["torch", "fused"]


def portable(seq):
    """A kernel list as core ops every block runs: a top-k as an element-wise pass over its
    rows, a row gather as a copy of the rows it moves."""
    out = []
    for o, c in seq:
        if o.KIND == "topk":
            o = Elementwise(n_elements=o.rows * o.n, n_inputs=1, flops_per_element=math.log2(max(o.k, 2)),
                            dtype=o.dtype, name=o.name)
        elif o.KIND == "gather":
            o = Copy(bytes=o.rows * o.row_bytes, name=o.name)
        out.append((o, c))
    return tuple(out)
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
    norm_topk: bool = field(False, doc="routing weights renormalised over the top-k (Mixtral; DeepSeek: norm_topk_prob)")
    impl: KernelImpl = field("torch", doc="kernel sequence (see KernelImpl)")
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

    def route_kernels(self) -> list:
        """impl torch: the kernels before the expert GEMMs (the router GEMM is its own `linear`):
        softmax in fp32 (cast + softmax), top-k (select + sort of the k), the renormalisation
        (sum + divide) where the model has it, the dispatch index (argsort of the tokens x top_k
        expert ids: a radix sort, then 11 small index kernels: copies, arange, division, fills,
        scatter_add counts, scan init + scan, offsets cast), the row gather of the routed copies."""
        if self.impl != "torch":
            return []
        t, e, k, a = self.tokens, self.experts, self.top_k, self.tokens * self.top_k
        n = self.name
        ks = [Elementwise(n_elements=t * e, n_inputs=1, flops_per_element=0.0, dtype="fp32", name=f"{n}.router_cast"),
              Elementwise(n_elements=t * e, n_inputs=1, flops_per_element=5.0, dtype="fp32", name=f"{n}.router_softmax"),
              TopK(rows=t, n=e, k=k, dtype="fp32", name=f"{n}.router_topk"),
              Elementwise(n_elements=a, n_inputs=1, flops_per_element=math.log2(max(k, 2)), dtype="fp32",
                          name=f"{n}.router_topk_sort")]
        if self.norm_topk:
            ks += [Elementwise(n_elements=a, n_inputs=1, flops_per_element=1.0, dtype="fp32", name=f"{n}.renorm_sum"),
                   Elementwise(n_elements=a, n_inputs=2, flops_per_element=1.0, dtype="fp32", name=f"{n}.renorm_div")]
        # int64 indices: 2 fp32 words each
        ks.append(Elementwise(n_elements=2 * a, n_inputs=1, flops_per_element=math.log2(max(a, 2)), dtype="fp32",
                              name=f"{n}.dispatch_sort"))
        ks += [Elementwise(n_elements=2 * (a if i < 8 else e), n_inputs=1, flops_per_element=1.0, dtype="fp32",
                           name=f"{n}.dispatch_index{i}") for i in range(11)]
        b = _nbytes(self.dtype)
        ks.append(Gather(rows=a, row_bytes=self.hidden * b, table_bytes=t * self.hidden * b, name=f"{n}.dispatch_gather"))
        return ks

    def combine_kernels(self) -> list:
        """impl torch: after the expert GEMMs, the routing weights gathered and cast (2 small
        kernels) and multiplied into the expert outputs, a zero fill of the output and the
        index_add of every routed copy into its token's row."""
        if self.impl != "torch":
            return []
        t, h, a, n = self.tokens, self.hidden, self.tokens * self.top_k, self.name
        return [Elementwise(n_elements=a, n_inputs=1, flops_per_element=0.0, dtype="fp32", name=f"{n}.combine_index"),
                Elementwise(n_elements=a, n_inputs=1, flops_per_element=0.0, dtype=self.dtype, name=f"{n}.combine_cast"),
                Elementwise(n_elements=a * h, n_inputs=2, flops_per_element=1.0, dtype=self.dtype, access="strided",
                            name=f"{n}.combine_weight"),
                Elementwise(n_elements=t * h, n_inputs=0, flops_per_element=0.0, dtype=self.dtype, name=f"{n}.combine_zero"),
                Elementwise(n_elements=a * h, n_inputs=2, flops_per_element=1.0, dtype=self.dtype, access="atomic",
                            name=f"{n}.combine_scatter_add")]

    def shared_kernels(self) -> list:
        """impl torch: the shared experts as one dense gated FFN of shared x expert_ffn width
        over all tokens (gate_up GEMM, SiLU, multiply, down GEMM) and the add to the routed sum."""
        if self.impl != "torch" or self.shared_experts == 0:
            return []
        t, h, f, n = self.tokens, self.hidden, self.shared_experts * self.expert_ffn, self.name
        ks = [Gemm(m=t, k=h, n=(2 if self.gated else 1) * f, dtype=self.dtype, name=f"{n}.shared.gate_up")]
        # gated: SiLU and the multiply read the gate and up halves of the fused gate_up output
        ks.append(Elementwise(n_elements=t * f, n_inputs=1, flops_per_element=4.0 if self.gated else 8.0,
                              dtype=self.dtype, access="strided" if self.gated else "contiguous",
                              name=f"{n}.shared.act"))
        if self.gated:
            ks.append(Elementwise(n_elements=t * f, n_inputs=2, flops_per_element=1.0, dtype=self.dtype,
                                  access="strided", name=f"{n}.shared.mul"))
        ks += [Gemm(m=t, k=f, n=h, dtype=self.dtype, name=f"{n}.shared.down"),
               Elementwise(n_elements=t * h, n_inputs=2, flops_per_element=1.0, dtype=self.dtype,
                           name=f"{n}.shared_add")]
        return ks

    def lower(self):
        """Grouped GEMMs: the tokens x top_k routed rows spread as evenly as they go over the
        expected active experts (rounded to whole experts; some get one row more, so the MACs
        stay exact), each expert's rows through up(+gate), the activation and down; the shared
        experts the same over all tokens (impl fused) or as one dense FFN (impl torch, with the
        routing, dispatch and combine kernels around the experts)."""
        ffn_in = (2 if self.gated else 1) * self.expert_ffn
        routed_rows = self.tokens * self.top_k
        n_act = min(routed_rows, max(1, round(self.active_experts())))
        r0, extra = divmod(routed_rows, n_act)
        groups = [("routed", n_act - extra, r0), ("routed_plus1", extra, r0 + 1),
                  ("shared", 0 if self.impl == "torch" else self.shared_experts, self.tokens)]
        out = [(o, 1) for o in self.route_kernels()]
        for tag, count, m in groups:
            if count == 0 or m == 0:
                continue
            out.append((Gemm(m=m, k=self.hidden, n=ffn_in, dtype=self.dtype, name=f"{self.name}.{tag}.up"), count))
            out.append((Elementwise(n_elements=m * self.expert_ffn, n_inputs=2 if self.gated else 1,
                                    flops_per_element=5.0 if self.gated else 8.0, dtype=self.dtype,
                                    name=f"{self.name}.{tag}.act"), count))
            out.append((Gemm(m=m, k=self.expert_ffn, n=self.hidden, dtype=self.dtype,
                             name=f"{self.name}.{tag}.down"), count))
        out += [(o, 1) for o in self.combine_kernels() + self.shared_kernels()]
        return portable(out)


def _strided_copy(n_elements: int, dtype: str, name: str) -> Elementwise:
    """A copy from or into a strided view (a slice of the per-head K/V output, the RoPE key
    broadcast to every head, the V slice of the padded output): PyTorch's non-vectorised
    direct_copy kernel."""
    return Elementwise(n_elements=max(1, n_elements), n_inputs=1, flops_per_element=0.0, dtype=dtype,
                       access="strided", name=name)


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
    impl: KernelImpl = field("torch", doc="absorbed form: torch = batched GEMMs + softmax (as measured); fused = one FlashMLA-style kernel")
    dtype: Dtype = field("bf16")
    kv_dtype: Dtype = field("bf16", doc="dtype of the cached latent")
    causal: bool = True
    name: str = ""
    repeat: int = field(1, ge=1)

    def seen(self) -> int:
        """(query, key) pairs per batch element and head; causal: counted once (no upper half)."""
        return attended_pairs(self.q_len, self.kv_len, self.causal)

    def _attn_dims(self) -> tuple[int, int]:
        if self.form == "naive":
            return self.qk_nope_dim + self.qk_rope_dim, self.v_head_dim
        return self.kv_lora_rank + self.qk_rope_dim, self.kv_lora_rank

    def cached_per_head(self) -> bool:
        """naive form as PyTorch (Hugging Face DeepSeek-V2) runs it: the new tokens' latents are
        decompressed once and the per-head K (nope + rope) and V (padded to the K width) are what
        the cache holds; the fused naive form caches the latent and decompresses all of it every
        pass."""
        return self.form == "naive" and self.impl == "torch"

    def cache_bytes_per_token(self) -> float:
        """Bytes one token occupies in this layer's cache."""
        if self.cached_per_head():
            return 2.0 * self.heads * (self.qk_nope_dim + self.qk_rope_dim) * _nbytes(self.kv_dtype)
        return (self.kv_lora_rank + self.qk_rope_dim) * _nbytes(self.kv_dtype)

    def macs(self) -> float:
        dqk, dv = self._attn_dims()
        core = float(self.batch) * self.heads * self.seen() * (dqk + dv)
        if self.cached_per_head():
            extra = float(self.batch) * self.q_len * self.kv_lora_rank * self.heads * (self.qk_nope_dim + self.v_head_dim)
        elif self.form == "naive":
            extra = float(self.batch) * self.kv_len * self.kv_lora_rank * self.heads * (self.qk_nope_dim + self.v_head_dim)
        else:
            extra = float(self.batch) * self.q_len * self.heads * self.kv_lora_rank * (self.qk_nope_dim + self.v_head_dim)
        return core + extra

    def flops(self) -> float:
        return 2.0 * self.macs()

    def latent_bytes(self) -> float:
        """The cache this pass reads (the latent; per-head K/V for the torch naive form)."""
        return float(self.batch) * self.kv_len * self.cache_bytes_per_token()

    def min_bytes(self) -> float:
        b = _nbytes(self.dtype)
        qo = float(self.batch) * self.q_len * self.heads * (self.qk_nope_dim + self.qk_rope_dim + self.v_head_dim) * b
        w = self.kv_lora_rank * self.heads * (self.qk_nope_dim + self.v_head_dim) * b      # W_UK, W_UV
        return qo + w + self.latent_bytes()

    def lower(self):
        b, hq = self.batch, self.heads
        tok = b * self.q_len
        if self.cached_per_head():
            return self.torch_kernels()
        if self.form == "naive":
            dqk, dv = self._attn_dims()
            up = Gemm(m=b * self.kv_len, k=self.kv_lora_rank, n=hq * (self.qk_nope_dim + self.v_head_dim),
                      dtype=self.dtype, name=f"{self.name}.kv_up")
            # an attention with head_dim = (dqk + dv) / 2 has exactly these MACs and bytes
            att = Attention(batch=b, q_len=self.q_len, kv_len=self.kv_len, heads=hq, kv_heads=hq,
                            head_dim=max(1, (dqk + dv) // 2), dtype=self.dtype, causal=self.causal,
                            name=f"{self.name}.attn")
            return ((up, 1), (att, 1))
        if self.impl == "torch":
            return self.torch_kernels()
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

    def torch_kernels(self):
        """The absorbed form as PyTorch runs it (one kernel per line, `count` = batched GEMM
        instances): q_nope @ W_UK^T (bmm over heads), the [q_latent, q_rope] concatenation,
        scores = q @ latent^T (bmm over the batch: heads x q_len rows against kv_len cached
        latents, kv_lora_rank + rope wide), softmax, P @ latent (bmm over the batch), @ W_UV
        (bmm over heads) and the heads-to-hidden transpose. kv_len is the GEMM's n / k as is:
        an odd length leaves the rows unaligned for 16-byte loads, as on the device."""
        b, hq, q = self.batch, self.heads, self.q_len
        tok, dqk, dv = b * q, self.kv_lora_rank + self.qk_rope_dim, self.kv_lora_rank
        kvd = self.kv_dtype if self.kv_dtype == "fp8" else self.dtype
        n = self.name
        if self.form == "naive":
            # new tokens' latents -> per-head K_nope, V; K_nope, the shared RoPE key (broadcast
            # to every head) and V copied into the per-head cache; [q_nope, q_rope]
            # concatenated; SDPA over the cache at the K width (V padded to it); V sliced out
            dq, ab = self.qk_nope_dim + self.qk_rope_dim, _nbytes(self.dtype)
            return ((Gemm(m=tok, k=self.kv_lora_rank, n=hq * (self.qk_nope_dim + self.v_head_dim), dtype=self.dtype,
                          name=f"{n}.kv_up"), 1),
                    (_strided_copy(tok * hq * self.qk_nope_dim, self.kv_dtype, f"{n}.cache_k_nope"), 1),
                    (_strided_copy(tok * hq * self.qk_rope_dim, self.kv_dtype, f"{n}.cache_k_rope"), 1),
                    (_strided_copy(tok * hq * self.v_head_dim, self.kv_dtype, f"{n}.cache_v"), 1),
                    (Copy(bytes=tok * hq * dq * ab, name=f"{n}.q_cat"), 1),
                    (Attention(batch=b, q_len=q, kv_len=self.kv_len, heads=hq, kv_heads=hq, head_dim=dq,
                               dtype=kvd, causal=self.causal, name=f"{n}.attn"), 1),
                    (_strided_copy(tok * hq * self.v_head_dim, self.dtype, f"{n}.out_slice"), 1))
        return ((Gemm(m=tok, k=self.qk_nope_dim, n=self.kv_lora_rank, dtype=self.dtype, name=f"{n}.q_absorb"), hq),
                (Copy(bytes=tok * hq * dqk * _nbytes(self.dtype), name=f"{n}.q_cat"), 1),
                (Gemm(m=hq * q, k=dqk, n=self.kv_len, dtype=kvd, name=f"{n}.scores"), b),
                (Elementwise(n_elements=b * hq * q * self.kv_len, n_inputs=1, flops_per_element=5.0,
                             dtype=self.dtype, name=f"{n}.softmax"), 1),
                (Gemm(m=hq * q, k=self.kv_len, n=dv, dtype=kvd, name=f"{n}.pv"), b),
                (Gemm(m=tok, k=self.kv_lora_rank, n=self.v_head_dim, dtype=self.dtype, name=f"{n}.v_absorb"), hq),
                (Copy(bytes=tok * hq * self.v_head_dim * _nbytes(self.dtype), name=f"{n}.out_transpose"), 1))


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
    impl: KernelImpl = field("torch", doc="torch: rotate_half, 5 kernels per tensor (q, k); fused: one kernel")
    dtype: Dtype = field("bf16")
    name: str = ""
    repeat: int = field(1, ge=1)

    def flops(self) -> float:
        return 3.0 * self.tokens * self.heads * self.rot_dim

    def kernels(self) -> list:
        """impl torch (HF rotate_half on q and on k, the elements split evenly between them):
        per tensor neg of one half, cat, x * cos, rotated * sin, add; fused: one kernel."""
        n = self.tokens * self.heads * self.rot_dim
        if self.impl != "torch":
            return [Elementwise(n_elements=n, n_inputs=1, flops_per_element=3.0, dtype=self.dtype, name=self.name)]
        out = []
        for part, nt in (("q", n - n // 2), ("k", max(1, n // 2))):
            # neg of a strided half, cos / sin broadcast over the heads: the strided path
            out += [Elementwise(n_elements=max(1, nt // 2), n_inputs=1, flops_per_element=1.0, dtype=self.dtype,
                                access="strided", name=f"{self.name}.{part}.neg"),
                    Elementwise(n_elements=nt, n_inputs=1, flops_per_element=0.0, dtype=self.dtype,
                                name=f"{self.name}.{part}.cat"),
                    Elementwise(n_elements=nt, n_inputs=2, flops_per_element=1.0, dtype=self.dtype,
                                access="strided", name=f"{self.name}.{part}.mul_cos"),
                    Elementwise(n_elements=nt, n_inputs=2, flops_per_element=1.0, dtype=self.dtype,
                                access="strided", name=f"{self.name}.{part}.mul_sin"),
                    Elementwise(n_elements=nt, n_inputs=2, flops_per_element=1.0, dtype=self.dtype,
                                name=f"{self.name}.{part}.add")]
        return out

    def min_bytes(self) -> float:
        return 2.0 * self.tokens * self.heads * self.rot_dim * _nbytes(self.dtype)

    def lower(self):
        return tuple((k, 1) for k in self.kernels())


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
