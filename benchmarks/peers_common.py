"""What benchmarks/llm_peers.py (one device) and benchmarks/serving_peers.py (TP / EP splits)
share: the same model and GPU handed to GenZ (genz-llm) and llm-analysis, and the stdin ->
stdout JSON loop. Runs inside the benchmark's own environment (.venv-bench, where the peers
are installed; they are not archsim dependencies), imported by the two scripts from their
folder.

A case: {"id", "model_name", "model": {hidden, layers, heads, kv_heads, head_dim,
intermediate, vocab, experts, top_k, max_positions}, "gpu": {name, bf16_tflops, hbm_gb_s,
memory_gb}, "phase": "prefill"|"decode", "batch", "context"}; output per case: {"id",
"genz_s", "llm_analysis_s", "genz_error", "llm_analysis_error"} (latency of the prefill pass,
or of one decode step with `context` tokens cached; an error is null where the peer answered).
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
import warnings


def genz_latency_s(case, *, icn_gb_s: float, parallel: dict | None = None) -> float:
    """GenZ's prefill or one-decode-step latency of `case` (seconds); `parallel` are GenZ's
    tensor/expert/pipeline-parallel keyword arguments (none: one device)."""
    from GenZ.LLM_inference import decode_moddeling, prefill_moddeling
    from GenZ.Models.default_models import ModelConfig
    m, g = case["model"], case["gpu"]
    moe = m["experts"] > 0
    kw = {"num_experts": m["experts"], "expert_top_k": m["top_k"]} if moe else {}
    # num_ffi = 2: SwiGLU's gate and up projections (GenZ's own Llama configs do the same)
    cfg = ModelConfig(model=f"archsim/{case['model_name']}", hidden_size=m["hidden"], num_attention_heads=m["heads"],
                      num_key_value_heads=m["kv_heads"], num_ffi=2, intermediate_size=m["intermediate"],
                      num_decoder_layers=m["layers"], vocab_size=m["vocab"],
                      max_model_len=max(m["max_positions"], case["context"] + 8), **kw)
    system = {"Flops": g["bf16_tflops"], "Memory_size": g["memory_gb"], "Memory_BW": g["hbm_gb_s"],
              "ICN": icn_gb_s, "real_values": True}
    par = parallel or {}
    if case["phase"] == "prefill":
        out = prefill_moddeling(model=cfg, batch_size=case["batch"], input_tokens=case["context"],
                                system_name=system, bits="bf16", **par)
    else:
        out = decode_moddeling(model=cfg, batch_size=case["batch"], input_tokens=case["context"], output_tokens=1,
                               Bb=1, system_name=system, bits="bf16", **par)
    return float(out["Latency"]) / 1e3       # GenZ: milliseconds; a dict (attribute access reads class defaults)


def llm_analysis_latency_s(case, *, icn_gb_s: float, tp: int | None = None, ep: int | None = None) -> float:
    """llm-analysis's prefill or one-decode-step latency of `case` (seconds); `tp`/`ep` set a
    parallelism config (none: llm-analysis's single-device default)."""
    from llm_analysis.analysis import LLMAnalysis
    from llm_analysis.config import GPUConfig, ModelConfig
    m, g = case["model"], case["gpu"]
    # llm-analysis counts 2 FFN matrices of ffn_embed_dim: SwiGLU's 3 of `intermediate` are
    # 1.5 x intermediate (its own Llama-2-7B config uses 16384 = 1.5 x 11008, rounded)
    ffn = int(1.5 * m["intermediate"])
    mc = ModelConfig(name=case["model_name"], num_layers=m["layers"], n_head=m["heads"], hidden_dim=m["hidden"],
                     vocab_size=m["vocab"], max_seq_len=max(m["max_positions"], case["context"] + 8),
                     num_key_value_heads=m["kv_heads"], ffn_embed_dim=ffn, expansion_ratio=ffn / m["hidden"],
                     model_type="llama", moe_num_experts=max(1, m["experts"]), moe_top_k=max(1, m["top_k"]))
    gc = GPUConfig(name=g["name"], mem_per_GPU_in_GB=g["memory_gb"], hbm_bandwidth_in_GB_per_sec=g["hbm_gb_s"],
                   intra_node_bandwidth_in_GB_per_sec=icn_gb_s, intra_node_min_message_latency=8e-6,
                   peak_fp16_TFLOPS=g["bf16_tflops"])
    if tp is None and ep is None:
        a = LLMAnalysis(mc, gc)
        batch = case["batch"]
    else:
        from llm_analysis.config import ParallelismConfig
        tp, ep = tp or 1, ep or 1
        # EP ranks are data-parallel ranks of the attention (dp_size = ep), as in archsim
        a = LLMAnalysis(mc, gc, parallelism_config=ParallelismConfig(tp_size=tp, pp_size=1, dp_size=ep, ep_size=ep))
        batch = max(1, case["batch"] // ep)
    s = a.inference(batch_size_per_gpu=batch, seq_len=case["context"], num_tokens_to_generate=1)
    return float(s["prefill_latency"] if case["phase"] == "prefill" else s["decode_latency"])


def run_peers(genz, llm_analysis) -> int:
    """Read the cases (a JSON list) from stdin, run both peers on each (their own output
    swallowed; a peer refusing a case is a result, not a crash) and print the rows as JSON."""
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    out = []
    for c in json.load(sys.stdin):
        row = {"id": c["id"]}
        for key, fn in (("genz", genz), ("llm_analysis", llm_analysis)):
            buf = io.StringIO()
            try:
                with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                    row[f"{key}_s"] = fn(c)
                row[f"{key}_error"] = None
            except Exception as exc:  # noqa: BLE001 -- a peer that refuses a case: record why
                row[f"{key}_s"] = None
                row[f"{key}_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        out.append(row)
    print(json.dumps(out))
    return 0
