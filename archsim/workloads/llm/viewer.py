"""LLM-Viewer compatibility: its per-layer roofline table, computed its way, so results can be
checked against LLM-Viewer (Yuan et al., "LLM Inference Unveiled: Survey and Roofline Model
Insights", 2024; github hahnyuan/LLM-Viewer, model_analyzer.py, without flash attention).

The method (reproduced, quirks included, for llama-style models):
- per decoder layer, for the `decode` stage (one new token, `seqlen` cached) and the
  `prefill` stage (`seqlen` tokens): q/k/v/out/gate/up/down projections (OPs = 2 x in x out
  x tokens; weights loaded once; k_proj / v_proj outputs go to the KV cache instead of
  activations), qk_matmul and sv_matmul (no causal halving in prefill), softmax (5 OPs per
  score), attn_norm / mlp_norm (7 OPs per element), attn_add / mlp_add (1 OP per element) and
  mlp_act (2 OPs per element of the hidden size — LLM-Viewer's choice);
- memory access = load_weight + load_act + store_act + load_kv_cache + store_kv_cache;
- arithmetic intensity = OPs / memory access; below max_OPS / bandwidth the layer is memory
  bound at intensity x bandwidth, else compute bound at max_OPS; time = OPs / performance;
- totals = the per-layer rows x num_hidden_layers (no embedding, no LM head).
archsim's own model differs on purpose (causal attention counted once, fused QKV, achieved
rather than peak rates); `archsim roofline --llm-viewer` prints this table beside nothing else.
"""
from __future__ import annotations

from archsim.workloads.llm.config import ModelConfig

FIELDS = ("OPs", "memory_access", "arithmetic_intensity", "performance", "bound", "load_weight",
          "load_act", "store_act", "load_kv_cache", "store_kv_cache", "inference_time")


def roofline_analyze(bandwidth: float, max_ops: float, ops: float, memory_access: float):
    """(arithmetic intensity, performance, bound) as LLM-Viewer's roofline_analyze."""
    turning = max_ops / bandwidth
    ai = ops / memory_access
    if ai < turning:
        return ai, ai * bandwidth, "memory"
    return ai, max_ops, "compute"


def _row(bw, peak, ops, load_weight=0.0, load_act=0.0, store_act=0.0, load_kv_cache=0.0, store_kv_cache=0.0):
    mem = load_weight + load_act + store_act + load_kv_cache + store_kv_cache
    ai, perf, bound = roofline_analyze(bw, peak, ops, mem)
    return {"OPs": ops, "memory_access": mem, "arithmetic_intensity": ai, "performance": perf,
            "bound": bound, "load_weight": load_weight, "load_act": load_act, "store_act": store_act,
            "load_kv_cache": load_kv_cache, "store_kv_cache": store_kv_cache, "inference_time": ops / perf}


def llm_viewer_table(cfg: ModelConfig, *, seqlen: int, batch: int, bandwidth_bytes_s: float,
                     peak_ops_s: float, w_bit: int = 16, a_bit: int = 16, kv_bit: int | None = None) -> dict:
    """{"decode": {layer: row}, "prefill": {layer: row}, "total": {"decode": {...}, "prefill": {...}}}."""
    if cfg.mla or cfg.token_decoder is not None:
        raise ValueError("LLM-Viewer's table is defined for llama-style (GQA / MHA) decoders")
    wb, ab = w_bit / 8, a_bit / 8
    kb = (kv_bit if kv_bit is not None else a_bit) / 8
    h, heads, kvh, inter = cfg.hidden, cfg.heads, cfg.kv_heads, cfg.intermediate
    hd = h // heads
    bw, peak = bandwidth_bytes_s, peak_ops_s
    linears = {"q_proj": (h, h), "k_proj": (h, h * kvh // heads), "v_proj": (h, h * kvh // heads),
               "out_proj": (h, h), "gate_proj": (h, inter), "up_proj": (h, inter), "down_proj": (inter, h)}
    out = {"decode": {}, "prefill": {}}
    for stage, tok in (("decode", 1), ("prefill", seqlen)):
        r = out[stage]
        for name, (ic, oc) in linears.items():
            kv = name in ("k_proj", "v_proj")
            r[name] = _row(bw, peak, ic * oc * batch * tok * 2, load_weight=ic * oc * wb,
                           load_act=ic * batch * tok * ab, store_act=0 if kv else oc * batch * tok * ab,
                           store_kv_cache=oc * batch * tok * kb if kv else 0)
        if stage == "decode":
            r["qk_matmul"] = _row(bw, peak, seqlen * hd * heads * batch * 2, load_act=hd * batch * heads * ab,
                                  store_act=seqlen * batch * heads * ab, load_kv_cache=seqlen * hd * batch * kvh * kb)
            r["sv_matmul"] = _row(bw, peak, hd * seqlen * heads * batch * 2, load_act=seqlen * batch * heads * ab,
                                  store_act=hd * batch * heads * ab, load_kv_cache=seqlen * hd * batch * kvh * kb)
            r["softmax"] = _row(bw, peak, batch * heads * seqlen * 5, load_act=batch * heads * seqlen * ab,
                                store_act=batch * heads * seqlen * ab)
        else:
            s2 = seqlen * seqlen
            r["qk_matmul"] = _row(bw, peak, s2 * hd * heads * batch * 2, load_act=seqlen * hd * batch * heads * ab,
                                  store_act=s2 * batch * heads * ab, load_kv_cache=seqlen * hd * batch * kvh * kb)
            r["sv_matmul"] = _row(bw, peak, seqlen * hd * seqlen * heads * batch * 2, load_act=s2 * batch * heads * ab,
                                  store_act=seqlen * hd * batch * heads * ab,
                                  load_kv_cache=seqlen * hd * batch * kvh * kb)
            r["softmax"] = _row(bw, peak, batch * heads * s2 * 5, load_act=batch * heads * s2 * ab,
                                store_act=batch * heads * s2 * ab)
        for name in ("attn_norm", "mlp_norm"):
            r[name] = _row(bw, peak, batch * h * tok * 7, load_act=batch * h * tok * ab, store_act=batch * h * tok * ab)
        for name in ("attn_add", "mlp_add"):
            r[name] = _row(bw, peak, batch * h * tok, load_act=batch * h * tok * ab, store_act=batch * h * tok * ab)
        r["mlp_act"] = _row(bw, peak, batch * h * tok * 2, load_act=batch * h * tok * ab * 2,
                            store_act=batch * h * tok * ab)
    total = {}
    for stage in ("decode", "prefill"):
        t = {k: 0.0 for k in ("OPs", "memory_access", "load_weight", "load_act", "store_act",
                              "load_kv_cache", "store_kv_cache", "inference_time")}
        for row in out[stage].values():
            for k in t:
                t[k] += row[k] * cfg.layers
        total[stage] = t
    out["total"] = total
    return out
