"""Torch-free half of benchmarks/gpu/measure_llm.py: model shapes, the case lists of every new
section, each case's op list in archsim's trace vocabulary (archsim/workloads/ops.py), rough
time and memory estimates for `--plan`, and the pure helpers (nvidia-smi parsing, throttle-reason
decoding, power summaries) that the unit tests check without a GPU.

Op lists describe what the measured PyTorch code runs, one archsim op per logical step (a step
that PyTorch runs as several kernels, e.g. RoPE as mul/neg/cat/mul/add, is one op; the measured
per-step kernels come from the profiler in the `llm_profile` section). Every op carries a `name`
(the step: "qkv_proj", "attention", ...) so measured and predicted times can be matched step by
step. Shapes: Hugging Face config.json values of each model (no download).
"""
from __future__ import annotations

import json
import math
import re
import statistics

# ---------------------------------------------------------------------------------- models
# attn: gqa | mla;  ffn: dense | moe.  MoE: experts, top_k, moe_intermediate, shared experts
# (each of moe_intermediate), first_k_dense (layers before that use the dense `intermediate`).
MODELS: dict[str, dict] = {
    "llama-3-8b": dict(hidden=4096, heads=32, kv_heads=8, head_dim=128, intermediate=14336,
                       layers=32, vocab=128256, attn="gqa", ffn="dense", rope_theta=500000.0,
                       eps=1e-5),
    "llama-3-70b": dict(hidden=8192, heads=64, kv_heads=8, head_dim=128, intermediate=28672,
                        layers=80, vocab=128256, attn="gqa", ffn="dense", rope_theta=500000.0,
                        eps=1e-5),
    "mixtral-8x7b": dict(hidden=4096, heads=32, kv_heads=8, head_dim=128, intermediate=14336,
                         layers=32, vocab=32000, attn="gqa", ffn="moe", experts=8, top_k=2,
                         moe_intermediate=14336, shared_experts=0, first_k_dense=0,
                         norm_topk=True, rope_theta=1e6, eps=1e-5),
    "deepseek-v2-lite": dict(hidden=2048, heads=16, q_lora_rank=None, kv_lora_rank=512,
                             qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128,
                             intermediate=10944, layers=27, vocab=102400, attn="mla", ffn="moe",
                             experts=64, top_k=6, moe_intermediate=1408, shared_experts=2,
                             first_k_dense=1, norm_topk=False, rope_theta=10000.0, eps=1e-6),
    # tiny stand-ins for --dry-run on a CPU (same code paths, small shapes)
    "tiny-gqa": dict(hidden=64, heads=4, kv_heads=2, head_dim=16, intermediate=96, layers=2,
                     vocab=256, attn="gqa", ffn="dense", rope_theta=10000.0, eps=1e-5),
    "tiny-moe": dict(hidden=64, heads=4, kv_heads=2, head_dim=16, intermediate=96, layers=2,
                     vocab=256, attn="gqa", ffn="moe", experts=4, top_k=2, moe_intermediate=48,
                     shared_experts=0, first_k_dense=0, norm_topk=True, rope_theta=10000.0,
                     eps=1e-5),
    "tiny-mla": dict(hidden=64, heads=4, q_lora_rank=None, kv_lora_rank=32, qk_nope_head_dim=16,
                     qk_rope_head_dim=8, v_head_dim=16, intermediate=96, layers=2, vocab=256,
                     attn="mla", ffn="moe", experts=8, top_k=3, moe_intermediate=32,
                     shared_experts=1, first_k_dense=1, norm_topk=False, rope_theta=10000.0,
                     eps=1e-6),
}

# attention head shapes for the attention-implementation section: (heads, kv_heads, head_dim)
ATTN_HEADS = {
    "llama-3-8b": (32, 8, 128), "llama-3-70b": (64, 8, 128), "qwen2-7b": (28, 4, 128),
    "llama-2-7b": (32, 32, 128), "llama-3-70b-tp8": (8, 1, 128), "gemma-2b": (8, 1, 256),
    "gpt2-style-hd64": (16, 16, 64), "mla-naive-dsv2": (16, 16, 192), "tiny": (4, 2, 16),
}

BF = "bf16"
DTYPE_BYTES = {"int8": 1, "fp8": 1, "fp16": 2, "bf16": 2, "tf32": 4, "fp32": 4}


# ---------------------------------------------------------------------------------- op dicts

def gemm(name, m, k, n, dtype=BF, batch=1, repeat=1):
    d = {"op": "gemm", "m": int(m), "k": int(k), "n": int(n), "dtype": dtype, "batch": int(batch),
         "name": name}
    if repeat != 1:
        d["repeat"] = int(repeat)
    return d


def ew(name, n, n_inputs=1, fpe=1.0, dtype=BF, repeat=1):
    d = {"op": "elementwise", "n_elements": int(n), "n_inputs": int(n_inputs),
         "flops_per_element": float(fpe), "dtype": dtype, "name": name}
    if repeat != 1:
        d["repeat"] = int(repeat)
    return d


def copy(name, nbytes, repeat=1):
    d = {"op": "copy", "bytes": int(nbytes), "name": name}
    if repeat != 1:
        d["repeat"] = int(repeat)
    return d


def attention(name, batch, q_len, kv_len, heads, kv_heads, head_dim, causal, dtype=BF):
    return {"op": "attention", "batch": int(batch), "q_len": int(q_len), "kv_len": int(kv_len),
            "heads": int(heads), "kv_heads": int(kv_heads), "head_dim": int(head_dim),
            "dtype": dtype, "causal": bool(causal), "name": name}


def topk(name, rows, n, k, dtype=BF):
    return {"op": "topk", "rows": int(rows), "n": int(n), "k": int(k), "dtype": dtype, "name": name}


def gather(name, rows, row_bytes, table_bytes):
    return {"op": "gather", "rows": int(rows), "row_bytes": int(row_bytes),
            "table_bytes": int(max(table_bytes, row_bytes)), "name": name}


# ---------------------------------------------------------------------------------- layer op lists

def uniform_expert_tokens(tokens: int, experts: int, top_k: int) -> list[int]:
    """Assignments per expert under uniform routing (for plans and tests; the measured layers
    record the real counts of their random router)."""
    total = tokens * top_k
    base, rem = divmod(total, experts)
    return [base + (1 if e < rem else 0) for e in range(experts)]


def gqa_attn_ops(cfg, B, q, ctx, prefix=""):
    """Pre-norm GQA attention block as measure_llm.gqa_attention runs it: fused QKV GEMM, RoPE
    (HF rotate_half: 5 kernels per tensor, one op), K/V written into the cache, SDPA over the
    cache (native GQA, causal in prefill), O projection, residual add."""
    H, nh, nkv, hd = cfg["hidden"], cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    T = B * q
    kv = ctx + q
    ops = [ew(prefix + "attn_norm", T * H, 1, 4),
           gemm(prefix + "qkv_proj", T, H, (nh + 2 * nkv) * hd),
           ew(prefix + "rope", T * (nh + nkv) * hd, 2, 3),
           copy(prefix + "kv_write", 2 * T * nkv * hd * 2),
           attention(prefix + "attention", B, q, kv, nh, nkv, hd, causal=q > 1)]
    if q > 1:
        ops.append(copy(prefix + "attn_out_transpose", T * nh * hd * 2))
    ops += [gemm(prefix + "o_proj", T, nh * hd, H),
            ew(prefix + "residual_attn", T * H, 2, 1)]
    return ops


def mla_attn_ops(cfg, B, q, ctx, form, prefix=""):
    """DeepSeek-V2 MLA block (no q compression, as V2-Lite). `naive`: K/V decompressed per
    token and cached per head (K 192 wide, V padded from 128 to 192 so SDPA's fused kernels take
    it), SDPA over them. `absorbed` (decode): W_UK folded into the query, W_UV into the output,
    attention over the 576-wide latent cache (c_kv | k_pe) as two batched GEMMs and a softmax."""
    H, nh = cfg["hidden"], cfg["heads"]
    dn, dr, dv, r = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"], cfg["kv_lora_rank"]
    dq = dn + dr
    T = B * q
    L = ctx + q
    ops = [ew(prefix + "attn_norm", T * H, 1, 4),
           gemm(prefix + "q_proj", T, H, nh * dq),
           gemm(prefix + "kv_a_proj", T, H, r + dr),
           ew(prefix + "kv_norm", T * r, 1, 4),
           ew(prefix + "rope", T * (nh + 1) * dr, 2, 3)]
    if form == "naive":
        ops += [gemm(prefix + "kv_b_proj", T, r, nh * (dn + dv)),
                copy(prefix + "kv_write_k_nope", T * nh * dn * 2),
                copy(prefix + "kv_write_k_pe", T * nh * dr * 2),
                copy(prefix + "kv_write_v", T * nh * dv * 2),
                copy(prefix + "q_cat", T * nh * dq * 2),
                attention(prefix + "attention", B, q, L, nh, nh, dq, causal=q > 1),
                copy(prefix + "attn_out_slice", T * nh * dv * 2)]
    elif form == "absorbed":
        if q != 1:
            raise ValueError("the absorbed MLA form is measured for decode (q_len = 1) only")
        ops += [copy(prefix + "kv_write_c", T * r * 2),
                copy(prefix + "kv_write_pe", T * dr * 2),
                gemm(prefix + "q_absorb", T, dn, r, batch=nh),
                copy(prefix + "q_cat", T * nh * (r + dr) * 2),
                gemm(prefix + "scores", nh, r + dr, L, batch=B),
                ew(prefix + "softmax", B * nh * L, 1, 5),
                gemm(prefix + "attn_v", nh, L, r, batch=B),
                gemm(prefix + "v_absorb", T, r, dv, batch=nh),
                copy(prefix + "attn_out_transpose", T * nh * dv * 2)]
    else:
        raise ValueError(f"MLA form {form!r}")
    ops += [gemm(prefix + "o_proj", T, nh * dv, H),
            ew(prefix + "residual_attn", T * H, 2, 1)]
    return ops


def dense_ffn_ops(cfg, T, inter, prefix="", norm=True, residual=True):
    H = cfg["hidden"]
    ops = [ew(prefix + "ffn_norm", T * H, 1, 4)] if norm else []
    ops += [gemm(prefix + "gate_up_proj", T, H, 2 * inter),
            ew(prefix + "silu_mul", T * inter, 2, 5),
            gemm(prefix + "down_proj", T, inter, H)]
    if residual:
        ops.append(ew(prefix + "residual_ffn", T * H, 2, 1))
    return ops


def moe_ffn_ops(cfg, T, impl, expert_tokens=None, prefix=""):
    """MoE FFN: router GEMM, softmax, top-k (+ renormalisation for Mixtral), then
    `grouped`: sort the assignments by expert (a handful of small index kernels), gather the
    rows, one grouped GEMM for every expert's gate_up and one for down (listed as one GEMM per
    active expert: archsim has no grouped-GEMM op yet), SiLU-mul, weight and scatter-add back;
    `loop`: HF-style loop over experts (a host sync per expert for its token list), per active
    expert gather, gate_up GEMM, SiLU-mul, down GEMM, weighted index_add.
    Shared experts (DeepSeek) run as one dense MLP of width shared x moe_intermediate."""
    H, E, k, I = cfg["hidden"], cfg["experts"], cfg["top_k"], cfg["moe_intermediate"]
    counts = list(expert_tokens) if expert_tokens is not None else uniform_expert_tokens(T, E, k)
    A = T * k
    ops = [ew(prefix + "ffn_norm", T * H, 1, 4),
           gemm(prefix + "router", T, H, E),
           ew(prefix + "router_softmax", T * E, 1, 5, dtype="fp32"),
           topk(prefix + "router_topk", T, E, k, dtype="fp32")]
    if cfg.get("norm_topk"):
        ops.append(ew(prefix + "router_renorm", A, 1, 2, dtype="fp32"))
    active = [(e, c) for e, c in enumerate(counts) if c > 0]
    if impl == "grouped":
        ops += [ew(prefix + "dispatch_index", A, 1, 1, dtype="fp32", repeat=6),
                gather(prefix + "dispatch_gather", A, H * 2, T * H * 2)]
        ops += [gemm(prefix + f"expert{e}.gate_up", c, H, 2 * I) for e, c in active]
        ops.append(ew(prefix + "experts_silu_mul", A * I, 2, 5))
        ops += [gemm(prefix + f"expert{e}.down", c, I, H) for e, c in active]
        ops += [ew(prefix + "combine_weight", A * H, 2, 1),
                ew(prefix + "combine_scatter_add", A * H, 2, 1)]
    elif impl == "loop":
        ops.append(ew(prefix + "expert_select", A, 1, 1, dtype="fp32", repeat=E))
        for e, c in active:
            ops += [gather(prefix + f"expert{e}.gather", c, H * 2, T * H * 2),
                    gemm(prefix + f"expert{e}.gate_up", c, H, 2 * I),
                    ew(prefix + f"expert{e}.silu_mul", c * I, 2, 5),
                    gemm(prefix + f"expert{e}.down", c, I, H),
                    ew(prefix + f"expert{e}.combine", c * H, 2, 2)]
    else:
        raise ValueError(f"MoE impl {impl!r}")
    if cfg.get("shared_experts"):
        ops += dense_ffn_ops(cfg, T, cfg["shared_experts"] * I, prefix=prefix + "shared.",
                             norm=False, residual=False)
        ops.append(ew(prefix + "shared_add", T * H, 2, 1))
    ops.append(ew(prefix + "residual_ffn", T * H, 2, 1))
    return ops


def layer_ops(case: dict, expert_tokens=None, prefix="") -> list[dict]:
    """archsim ops of one decoder layer case (see layer_cases)."""
    cfg = MODELS[case["model"]]
    B, q, ctx = case["batch"], case["q_len"], case["context"]
    T = B * q
    attn = case["attn"]
    if attn == "gqa":
        ops = gqa_attn_ops(cfg, B, q, ctx, prefix)
    elif attn in ("mla_naive", "mla_absorbed"):
        ops = mla_attn_ops(cfg, B, q, ctx, attn.split("_")[1], prefix)
    else:
        raise ValueError(f"attention {attn!r}")
    ffn = case["ffn"]
    if ffn == "dense":
        ops += dense_ffn_ops(cfg, T, cfg["intermediate"], prefix)
    elif ffn in ("moe_grouped", "moe_loop"):
        ops += moe_ffn_ops(cfg, T, ffn.split("_")[1], expert_tokens, prefix)
    else:
        raise ValueError(f"ffn {ffn!r}")
    return ops


def step_layer_kinds(case) -> list[str]:
    """FFN kind of each layer of a step case: 'dense' for the first_k_dense layers of an MoE
    model, the case's ffn otherwise."""
    cfg = MODELS[case["model"]]
    n = case["layers"]
    fk = cfg.get("first_k_dense", 0) if cfg["ffn"] == "moe" else 0
    return ["dense" if i < fk else case["ffn"] for i in range(n)]


def step_ops(case: dict, expert_tokens_per_layer=None) -> list[dict]:
    """archsim ops of one decode step over `layers` layers; with all of the model's layers, the
    embedding gather, final norm, LM head and greedy argmax too (issue 12's contract: fewer
    layers than the model has = no embedding or LM head)."""
    cfg = MODELS[case["model"]]
    B, q = case["batch"], case["q_len"]
    T = B * q
    H = cfg["hidden"]
    full = case["layers"] == cfg["layers"]
    ops = []
    if full:
        ops.append(gather("embed", T, H * 2, cfg["vocab"] * H * 2))
    for i, kind in enumerate(step_layer_kinds(case)):
        lc = dict(case, ffn=kind)
        et = None if expert_tokens_per_layer is None else expert_tokens_per_layer[i]
        ops += layer_ops(lc, et if kind != "dense" else None, prefix=f"L{i}.")
    if full:
        ops += [ew("final_norm", T * H, 1, 4), gemm("lm_head", T, H, cfg["vocab"]),
                topk("argmax", T, cfg["vocab"], 1)]
    return ops


def aggregate_ops(ops: list[dict]) -> list[dict]:
    """Identical ops (all fields but name and repeat) merged into one with the repeats summed;
    a layer prefix "L<i>." is dropped from the kept name. Same total under any per-op model."""
    out: dict[str, dict] = {}
    for o in ops:
        key = json.dumps({k: v for k, v in sorted(o.items()) if k not in ("name", "repeat")})
        if key in out:
            out[key]["repeat"] = out[key].get("repeat", 1) + o.get("repeat", 1)
        else:
            d = dict(o)
            d["name"] = re.sub(r"^L\d+\.", "", o.get("name", ""))
            d["repeat"] = o.get("repeat", 1)
            out[key] = d
    return list(out.values())


def logical_attention(case) -> dict | None:
    """The attention of a layer case as one archsim attention op (for MLA-absorbed: MQA over
    the 576-wide latent), for comparisons once issue 12's MLA op exists."""
    cfg = MODELS[case["model"]]
    B, q, ctx = case["batch"], case["q_len"], case["context"]
    if case["attn"] == "gqa":
        return attention("attention", B, q, ctx + q, cfg["heads"], cfg["kv_heads"], cfg["head_dim"], q > 1)
    dq = cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"]
    if case["attn"] == "mla_naive":
        return attention("attention", B, q, ctx + q, cfg["heads"], cfg["heads"], dq, q > 1)
    return attention("attention", B, q, ctx + q, cfg["heads"], 1,
                     cfg["kv_lora_rank"] + cfg["qk_rope_head_dim"], q > 1)


# ---------------------------------------------------------------------------------- memory

def layer_weight_bytes(cfg, ffn_kind, attn=None) -> int:
    """bf16 bytes of one layer's weights (ffn_kind 'dense' or 'moe')."""
    H = cfg["hidden"]
    if cfg["attn"] == "gqa":
        a = H * (cfg["heads"] + 2 * cfg["kv_heads"]) * cfg["head_dim"] + cfg["heads"] * cfg["head_dim"] * H
    else:
        nh, dn, dr, dv, r = (cfg["heads"], cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"],
                             cfg["v_head_dim"], cfg["kv_lora_rank"])
        a = H * nh * (dn + dr) + H * (r + dr) + r * nh * (dn + dv) + nh * dv * H
    if ffn_kind == "dense":
        f = 3 * H * cfg["intermediate"]
    else:
        f = cfg["experts"] * 3 * H * cfg["moe_intermediate"] + H * cfg["experts"]
        f += 3 * H * cfg["moe_intermediate"] * cfg.get("shared_experts", 0)
    return 2 * (a + f + 2 * H)


def kv_bytes_per_token(cfg, attn) -> int:
    """Cache bytes per token per layer as the measured code stores it (bf16)."""
    if attn == "gqa":
        return 2 * 2 * cfg["kv_heads"] * cfg["head_dim"]
    dq = cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"]
    if attn == "mla_naive":
        return 2 * 2 * cfg["heads"] * dq          # K 192 wide, V padded to 192
    return 2 * (cfg["kv_lora_rank"] + cfg["qk_rope_head_dim"])


def case_memory_bytes(case) -> int:
    """Weights + KV cache + a generous activation allowance for a layer or step case."""
    cfg = MODELS[case["model"]]
    B, q, ctx = case["batch"], case["q_len"], case["context"]
    n_layers = case.get("layers", 1)
    kinds = step_layer_kinds(case) if "layers" in case else [
        "dense" if case["ffn"] == "dense" else "moe"]
    w = sum(layer_weight_bytes(cfg, "dense" if k == "dense" else "moe") for k in kinds)
    if "layers" in case and case["layers"] == cfg["layers"]:
        w += 2 * 2 * cfg["vocab"] * cfg["hidden"]
    kv = n_layers * B * (ctx + q) * kv_bytes_per_token(cfg, case["attn"])
    T = B * q
    inter = max(cfg["intermediate"], cfg.get("moe_intermediate", 0) * cfg.get("top_k", 1))
    act = 12 * T * max(cfg["hidden"], 2 * inter) * 2
    if q > 1:      # prefill: SDPA workspace, expanded heads
        act += 4 * B * cfg["heads"] * q * 256 * 2
    if case["attn"] == "mla_absorbed":
        act += 3 * B * cfg["heads"] * (ctx + q) * 4
    return int(w + kv + act)


# ---------------------------------------------------------------------------------- estimates

PEAK_TFLOPS = 700.0     # rough sustained bf16 on an H100 (plan estimates only)
PEAK_TBPS = 2.8


def op_estimate_s(op) -> float:
    """Roofline-ish time of one op for --plan (not a model: archsim predicts the real thing)."""
    k = op["op"]
    rep = op.get("repeat", 1)
    if k == "gemm":
        f = 2.0 * op["m"] * op["k"] * op["n"] * op["batch"]
        b = (op["m"] * op["k"] + op["k"] * op["n"] + op["m"] * op["n"]) * op["batch"] * DTYPE_BYTES[op["dtype"]]
    elif k == "attention":
        f = 4.0 * op["batch"] * op["heads"] * op["q_len"] * op["kv_len"] * op["head_dim"] * (0.5 if op["causal"] else 1)
        b = 2 * op["batch"] * (op["heads"] * op["q_len"] + op["kv_heads"] * op["kv_len"]) * op["head_dim"] * 2
    elif k == "elementwise":
        f = op["n_elements"] * op["flops_per_element"]
        b = op["n_elements"] * (op["n_inputs"] + 1) * DTYPE_BYTES[op["dtype"]]
    elif k == "copy":
        f, b = 0.0, 2 * op["bytes"]
    elif k == "gather":
        f, b = 0.0, 2 * op["rows"] * op["row_bytes"]
    elif k == "topk":
        f, b = 0.0, op["rows"] * op["n"] * DTYPE_BYTES[op["dtype"]]
    else:
        f, b = 0.0, 0.0
    return rep * (max(f / (PEAK_TFLOPS * 1e12), b / (PEAK_TBPS * 1e12)) + 4e-6)


def ops_estimate_s(ops) -> float:
    return sum(op_estimate_s(o) for o in ops)


# ---------------------------------------------------------------------------------- case lists

def _layer_case(model, attn, ffn, phase, batch, tokens, modes=("eager", "graph")):
    q, ctx = (tokens, 0) if phase == "prefill" else (1, tokens)
    c = {"model": model, "attn": attn, "ffn": ffn, "phase": phase, "batch": batch, "q_len": q,
         "context": ctx, "modes": list(modes)}
    if ffn == "moe_loop":
        c["modes"] = ["eager"]        # a host sync per expert: not capturable in a CUDA graph
    return c


def layer_cases(set_name: str) -> list[dict]:
    """Decoder-layer cases. `smoke`: the few layers of the eager-vs-graph section (run a);
    `full`: section llm_layer (run b); `tiny`: dry run on a CPU."""
    out = []
    if set_name == "tiny":
        for model, attn, ffn in (("tiny-gqa", "gqa", "dense"), ("tiny-moe", "gqa", "moe_grouped"),
                                 ("tiny-moe", "gqa", "moe_loop"), ("tiny-mla", "mla_naive", "moe_grouped"),
                                 ("tiny-mla", "mla_absorbed", "moe_grouped")):
            if attn != "mla_absorbed":
                out.append(_layer_case(model, attn, ffn, "prefill", 2, 8))
            out.append(_layer_case(model, attn, ffn, "decode", 2, 16))
        return out
    if set_name == "smoke":
        for b, ctx in ((1, 1024), (1, 4096), (16, 4096), (64, 1024)):
            out.append(_layer_case("llama-3-8b", "gqa", "dense", "decode", b, ctx))
        for b, s in ((1, 512), (1, 2048)):
            out.append(_layer_case("llama-3-8b", "gqa", "dense", "prefill", b, s))
        for b in (1, 16):
            out.append(_layer_case("mixtral-8x7b", "gqa", "moe_grouped", "decode", b, 1024))
        out.append(_layer_case("deepseek-v2-lite", "mla_absorbed", "moe_grouped", "decode", 1, 1024))
        out.append(_layer_case("deepseek-v2-lite", "mla_naive", "moe_grouped", "decode", 1, 1024))
        out.append(_layer_case("deepseek-v2-lite", "mla_absorbed", "moe_grouped", "decode", 32, 4096))
        return out
    if set_name != "full":
        raise ValueError(f"layer case set {set_name!r}")
    prefill = ((1, 512), (1, 2048), (1, 4096), (4, 2048), (16, 512))
    decode_b = (1, 8, 32, 64)
    decode_ctx = (1024, 4096, 8192)
    for b, s in prefill:
        out.append(_layer_case("llama-3-8b", "gqa", "dense", "prefill", b, s))
    for b in decode_b:
        for ctx in decode_ctx:
            out.append(_layer_case("llama-3-8b", "gqa", "dense", "decode", b, ctx))
    for ffn in ("moe_grouped", "moe_loop"):
        for b, s in ((1, 512), (1, 2048), (4, 2048)):
            out.append(_layer_case("mixtral-8x7b", "gqa", ffn, "prefill", b, s))
        for b in decode_b:
            for ctx in (1024, 4096):
                out.append(_layer_case("mixtral-8x7b", "gqa", ffn, "decode", b, ctx))
    for b, s in ((1, 512), (1, 2048), (4, 2048)):
        out.append(_layer_case("deepseek-v2-lite", "mla_naive", "moe_grouped", "prefill", b, s))
    for attn in ("mla_absorbed", "mla_naive"):
        for b in decode_b:
            for ctx in decode_ctx:
                out.append(_layer_case("deepseek-v2-lite", attn, "moe_grouped", "decode", b, ctx))
    out.append(_layer_case("deepseek-v2-lite", "mla_absorbed", "moe_loop", "decode", 1, 4096))
    out.append(_layer_case("deepseek-v2-lite", "mla_absorbed", "moe_loop", "decode", 32, 4096))
    return out


def step_cases(set_name: str) -> list[dict]:
    """Whole decode steps (section llm_step): all layers + embedding + LM head (Llama-3-8B,
    DeepSeek-V2-Lite), or the first 8 layers (Mixtral-8x7B does not fit one 80 GB GPU)."""
    out = []

    def add(model, attn, ffn, b, ctx, layers=None):
        c = _layer_case(model, attn, ffn, "decode", b, ctx)
        c["layers"] = layers or MODELS[model]["layers"]
        out.append(c)
    if set_name == "tiny":
        add("tiny-gqa", "gqa", "dense", 2, 16)
        add("tiny-mla", "mla_absorbed", "moe_grouped", 2, 16)
        add("tiny-moe", "gqa", "moe_grouped", 2, 16, layers=1)
        return out
    if set_name != "full":
        raise ValueError(f"step case set {set_name!r}")
    for b, ctx in ((1, 1024), (1, 4096), (8, 4096), (32, 1024), (32, 4096), (64, 1024)):
        add("llama-3-8b", "gqa", "dense", b, ctx)
    for b, ctx in ((1, 1024), (1, 4096), (8, 4096), (32, 4096), (64, 4096)):
        add("deepseek-v2-lite", "mla_absorbed", "moe_grouped", b, ctx)
    for b, ctx in ((1, 1024), (8, 4096)):
        add("deepseek-v2-lite", "mla_naive", "moe_grouped", b, ctx)
    for b, ctx in ((1, 1024), (32, 1024)):
        add("mixtral-8x7b", "gqa", "moe_grouped", b, ctx, layers=8)
    return out


def attn_cases(set_name: str) -> list[dict]:
    """Attention shapes of the attention-implementation section: `a` (run a: Llama-3-8B/70B
    heads, decode kv 1K-32K x batch 1-16, prefill 512-4096, chunked prefill), `b` (run b: other
    head shapes, longer contexts, bigger batches, head dims 64/192/256, fp16), `tiny`."""
    out = []

    def add(model, b, q, kv, causal, dtype=BF):
        h, kvh, hd = ATTN_HEADS[model]
        out.append({"model": model, "batch": b, "q_len": q, "kv_len": kv, "heads": h,
                    "kv_heads": kvh, "head_dim": hd, "causal": causal, "dtype": dtype})
    if set_name == "tiny":
        add("tiny", 2, 1, 64, False)
        add("tiny", 1, 32, 32, True)
        add("tiny", 1, 8, 64, True)
        return out
    if set_name == "a":
        for model in ("llama-3-8b", "llama-3-70b"):
            for b in (1, 4, 16):
                for kv in (1024, 4096, 16384, 32768):
                    add(model, b, 1, kv, False)
            for b, s in ((1, 512), (1, 1024), (1, 2048), (1, 4096), (4, 2048)):
                add(model, b, s, s, True)
        for q, kv in ((512, 4096), (1024, 8192), (2048, 16384)):
            add("llama-3-8b", 1, q, kv, True)
        return out
    if set_name != "b":
        raise ValueError(f"attention case set {set_name!r}")
    for model in ("qwen2-7b", "llama-2-7b", "llama-3-70b-tp8"):
        for b, kv in ((1, 2048), (8, 8192), (32, 2048), (32, 8192), (64, 4096), (8, 65536), (1, 131072)):
            add(model, b, 1, kv, False)
    for model in ("qwen2-7b", "llama-2-7b"):
        for b, s in ((1, 8192), (2, 4096), (8, 1024)):
            add(model, b, s, s, True)
    for model in ("gemma-2b", "gpt2-style-hd64", "mla-naive-dsv2"):
        for b, kv in ((1, 4096), (32, 4096), (8, 32768)):
            add(model, b, 1, kv, False)
        add(model, 1, 4096, 4096, True)
    for q, kv in ((256, 8192), (4096, 32768)):
        add("qwen2-7b", 1, q, kv, True)
    for b, kv in ((8, 4096), (1, 32768)):
        add("llama-3-8b", b, 1, kv, False, dtype="fp16")
    add("llama-3-8b", 1, 2048, 2048, True, dtype="fp16")
    return out


ATTN_BACKENDS = ("default", "flash", "efficient", "cudnn", "math")
# (impl, gqa mode): native = enable_gqa=True; expanded = K/V repeated to every query head once,
# outside the timed region; expand_per_call = repeat_interleave inside it (what HF eager code
# that calls repeat_kv every step pays)
ATTN_VARIANTS = ([(b, "native") for b in ATTN_BACKENDS] + [(b, "expanded") for b in ATTN_BACKENDS]
                 + [("default", "expand_per_call"), ("flash_attn", "native")])


def attn_variants(case) -> list[tuple[str, str]]:
    """Variants of one attention shape (MHA shapes have nothing to expand)."""
    if case["heads"] == case["kv_heads"]:
        return [(b, "native") for b in ATTN_BACKENDS] + [("flash_attn", "native")]
    return list(ATTN_VARIANTS)


def attn_op(case) -> dict:
    return attention("attention", case["batch"], case["q_len"], case["kv_len"], case["heads"],
                     case["kv_heads"], case["head_dim"], case["causal"], case["dtype"])


def attn_skip_reason(case, impl, gqa, mem_limit_bytes) -> str | None:
    """Why a variant is not run (memory), or None."""
    b, h, q, kv, hd = case["batch"], case["heads"], case["q_len"], case["kv_len"], case["head_dim"]
    if impl == "math":
        scores = 4 * b * h * q * kv * 3           # fp32 scores, softmax, a copy
        if scores > min(12 * 2**30, mem_limit_bytes // 4):
            return f"math backend would materialise {scores / 2**30:.1f} GiB of scores"
    if gqa in ("expanded", "expand_per_call"):
        extra = 2 * b * h * kv * hd * 2
        if extra > min(8 * 2**30, mem_limit_bytes // 4):
            return f"expanded K/V would take {extra / 2**30:.1f} GiB"
    return None


def attn_mask_mode(case, impl) -> str:
    """How causality is expressed (archsim's causal = bottom-right aligned): `none` (not causal,
    or q_len = 1), `is_causal` (q = kv; or flash_attn's own causal, bottom-right for q < kv),
    `causal_lower_right` (SDPA's CausalBias, the default backend), `aten_flash_causal` (forced
    flash with q < kv: SDPA refuses is_causal with q != kv on flash, so aten's flash op is called
    with is_causal, bottom-right as CausalBias itself does), `bool_mask` (an explicit lower-right
    mask for the forced efficient/cudnn/math backends)."""
    if not case["causal"] or case["q_len"] == 1:
        return "none"
    if case["q_len"] == case["kv_len"] or impl == "flash_attn":
        return "is_causal"
    if impl == "default":
        return "causal_lower_right"
    if impl == "flash":
        return "aten_flash_causal"
    return "bool_mask"


# graph section: chains of small kernels (kind, n kernels per call)
GRAPH_CHAINS = [("mul1", 1), ("mul1", 8), ("mul1", 64), ("mul1", 256),
                ("add1m", 1), ("add1m", 16), ("add1m", 64),
                ("gemv4096", 1), ("gemv4096", 8), ("gemv4096", 32)]
GRAPH_CHAINS_TINY = [("mul1", 1), ("mul1", 8), ("add1m", 4), ("gemv4096", 2)]


def chain_op(kind, n, tiny=False) -> dict:
    if kind == "mul1":
        return ew("mul1", 1, 1, 1, dtype="fp32", repeat=n)
    if kind == "add1m":
        return ew("add1m", 4096 if tiny else 2**20, 2, 1, repeat=n)
    if kind == "gemv4096":
        d = 64 if tiny else 4096
        return gemm("gemv4096", 1, d, d, repeat=n)
    raise ValueError(kind)


# ---------------------------------------------------------------------------------- power helpers

# NVML clocks-event (throttle) reason bits (nvml.h nvmlClocksEventReason*)
THROTTLE_BITS = {0x1: "gpu_idle", 0x2: "applications_clocks_setting", 0x4: "sw_power_cap",
                 0x8: "hw_slowdown", 0x10: "sync_boost", 0x20: "sw_thermal_slowdown",
                 0x40: "hw_thermal_slowdown", 0x80: "hw_power_brake_slowdown",
                 0x100: "display_clock_setting"}


def decode_throttle(mask) -> list[str]:
    if mask is None:
        return []
    mask = int(mask)
    names = [n for bit, n in THROTTLE_BITS.items() if mask & bit]
    rest = mask & ~sum(THROTTLE_BITS)
    if rest:
        names.append(f"other_0x{rest:x}")
    return names


def _num(s):
    s = s.strip()
    if s in ("", "[N/A]", "N/A", "[Not Supported]", "Not Supported"):
        return None
    if s.lower().startswith("0x"):
        return int(s, 16)
    try:
        return float(s)
    except ValueError:
        return None


def parse_smi_line(line: str, fields: list[str]):
    """One line of `nvidia-smi --query-gpu=timestamp,<fields> --format=csv,noheader,nounits -lms N`
    -> (epoch-free seconds of day, {field: value}); None if it does not parse."""
    parts = [p.strip() for p in line.split(",")]
    if len(parts) != len(fields) + 1:
        return None
    m = re.match(r"\d{4}/\d{2}/\d{2} (\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)", parts[0])
    if not m:
        return None
    t = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return t, {f: _num(v) for f, v in zip(fields, parts[1:])}


def pct(vals, p):
    vals = sorted(vals)
    if not vals:
        return None
    i = (len(vals) - 1) * p / 100.0
    lo, hi = math.floor(i), math.ceil(i)
    return vals[lo] + (vals[hi] - vals[lo]) * (i - lo)


def stats(vals) -> dict:
    vals = sorted(v for v in vals if v is not None)
    if not vals:
        return {"n": 0}
    return {"median": statistics.median(vals), "min": vals[0], "p10": pct(vals, 10),
            "p90": pct(vals, 90), "max": vals[-1], "n": len(vals)}


def summarise_samples(samples: list[dict], t0: float, t1: float, settle_s: float) -> dict:
    """Power / clock samples ({t, power_w, sm_mhz, mem_mhz, temp_c, reasons, energy_mj}) of one
    load between t0 and t1 (same clock as t): means over the steady part (after settle_s),
    energy by the NVML counter where present and by integrating power (trapezoids), the
    throttle reasons seen (fraction of steady samples)."""
    win = [s for s in samples if t0 <= s["t"] <= t1]
    steady = [s for s in win if s["t"] >= t0 + settle_s] or win
    out = {"n_samples": len(win), "n_steady": len(steady), "settle_s": settle_s}
    if not win:
        return out
    for key in ("power_w", "sm_mhz", "mem_mhz", "temp_c"):
        vals = [s[key] for s in steady if s.get(key) is not None]
        if vals:
            out[f"steady_{key}"] = stats(vals)
            out[f"mean_steady_{key}"] = sum(vals) / len(vals)
    pw = [(s["t"], s["power_w"]) for s in win if s.get("power_w") is not None]
    if len(pw) >= 2:
        e = sum(0.5 * (a[1] + b[1]) * (b[0] - a[0]) for a, b in zip(pw, pw[1:]))
        out["energy_integrated_j"] = e
        out["integrated_span_s"] = pw[-1][0] - pw[0][0]
    ps = [(s["t"], s["power_w"]) for s in steady if s.get("power_w") is not None]
    if len(ps) >= 2:
        out["energy_integrated_steady_j"] = sum(0.5 * (a[1] + b[1]) * (b[0] - a[0]) for a, b in zip(ps, ps[1:]))
        out["integrated_steady_span_s"] = ps[-1][0] - ps[0][0]
    es = [(s["t"], s["energy_mj"]) for s in win if s.get("energy_mj") is not None]
    if len(es) >= 2 and es[-1][0] > es[0][0]:
        out["energy_counter_j"] = (es[-1][1] - es[0][1]) * 1e-3
        out["energy_counter_span_s"] = es[-1][0] - es[0][0]
        out["energy_counter_power_w"] = out["energy_counter_j"] / out["energy_counter_span_s"]
    est = [(s["t"], s["energy_mj"]) for s in steady if s.get("energy_mj") is not None]
    if len(est) >= 2 and est[-1][0] > est[0][0]:
        out["steady_energy_counter_power_w"] = (est[-1][1] - est[0][1]) * 1e-3 / (est[-1][0] - est[0][0])
    seen: dict[str, int] = {}
    for s in steady:
        for n in decode_throttle(s.get("reasons")):
            seen[n] = seen.get(n, 0) + 1
    out["throttle_reasons_steady"] = {n: c / len(steady) for n, c in sorted(seen.items())}
    return out


def downsample(rows: list, n: int = 300) -> list:
    if len(rows) <= n:
        return rows
    step = len(rows) / n
    return [rows[int(i * step)] for i in range(n)]


# ---------------------------------------------------------------------------------- plan

def plan_sections(sections, attn_set, layer_set, step_set, power_load_s) -> list[dict]:
    """Case counts and rough device-time estimates per section (no torch needed)."""
    rows = []
    for sec in sections:
        if sec == "attn_impl":
            cases = attn_cases(attn_set)
            n = sum(len(attn_variants(c)) for c in cases)
            est = sum(len(attn_variants(c)) * (0.1 + 14 * ops_estimate_s([attn_op(c)])) for c in cases)
            rows.append({"section": sec, "cases": len(cases), "timings": n, "est_s": est + 10})
        elif sec in ("llm_layer", "graph"):
            cases = layer_cases("smoke" if sec == "graph" else layer_set)
            n = sum(len(c["modes"]) for c in cases)
            est = sum(len(c["modes"]) * (1.0 + 40 * ops_estimate_s(layer_ops(c))) for c in cases)
            if sec == "graph":
                est += 2 * len(GRAPH_CHAINS) * 0.5
                n += 2 * len(GRAPH_CHAINS)
            rows.append({"section": sec, "cases": len(cases), "timings": n, "est_s": est + 15,
                         "max_mem_gib": max(case_memory_bytes(c) for c in cases) / 2**30})
        elif sec == "llm_profile":
            cases = layer_cases(layer_set)
            rows.append({"section": sec, "cases": len(cases), "timings": len(cases),
                         "est_s": 20 + 0.6 * len(cases)})
        elif sec == "llm_step":
            cases = step_cases(step_set)
            est = sum(2 * (3.0 + 40 * ops_estimate_s(step_ops(c))) for c in cases)
            rows.append({"section": sec, "cases": len(cases), "timings": 2 * len(cases), "est_s": est + 15,
                         "max_mem_gib": max(case_memory_bytes(c) for c in cases) / 2**30})
        elif sec == "power_clock":
            rows.append({"section": sec, "cases": 5, "timings": 5,
                         "est_s": 2.3 * power_load_s + 25})
        else:
            rows.append({"section": sec, "cases": None, "timings": None,
                         "est_s": MEASURE_PY_EST_S.get(sec, 60)})
    return rows


# measure.py sections (run through measure.py in their own process): nominal seconds on an
# H200 (2026-11-30 runs: grids 20 s, random 11 s, workload 12 s, power_duty 55 s, power 45 s)
MEASURE_PY_SECTIONS = {
    "calib": "launch,gemm,conv2d,mlp,hash_encode,attention,kv_retrieve,topk,gather,elementwise,copy",
    "power_duty": "power_duty", "workload": "workload", "random": "random", "mpower": "power"}
MEASURE_PY_EST_S = {"calib": 45, "power_duty": 70, "workload": 25, "random": 30, "mpower": 55}
NEW_SECTIONS = ("attn_impl", "graph", "power_clock", "llm_layer", "llm_profile", "llm_step")
ALL_SECTIONS = tuple(MEASURE_PY_SECTIONS) + NEW_SECTIONS
