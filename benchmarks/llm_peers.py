"""Run GenZ (genz-llm) and llm-analysis on cases read from stdin (JSON list), print their
predictions as JSON on stdout. Runs inside the benchmark's own environment (the peers are not
archsim dependencies); benchmarks/bench_llm.py drives it:

    python3 -m venv .venv-bench && .venv-bench/bin/pip install genz-llm llm-analysis
    .venv/bin/python benchmarks/bench_llm.py            # calls .venv-bench/bin/python llm_peers.py

A case: {"id", "model": {hidden, layers, heads, kv_heads, head_dim, intermediate, vocab,
experts, top_k, max_positions}, "gpu": {name, bf16_tflops, hbm_gb_s, memory_gb},
"phase": "prefill"|"decode", "batch", "context"}. Both tools get the same shapes and the same
spec-sheet numbers, with their default efficiencies. Output per case: {"id", "genz_s",
"llm_analysis_s", "genz_error", "llm_analysis_error"} (latency of the prefill pass, or of one
decode step with `context` tokens cached).
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
import warnings


def genz(case):
    from GenZ.LLM_inference import decode_moddeling, prefill_moddeling
    from GenZ.Models.default_models import ModelConfig
    m, g = case["model"], case["gpu"]
    moe = m["experts"] > 0
    kw = dict(num_experts=m["experts"], expert_top_k=m["top_k"]) if moe else {}
    # num_ffi = 2: SwiGLU's gate and up projections (GenZ's own Llama configs do the same)
    cfg = ModelConfig(model=f"archsim/{case['model_name']}", hidden_size=m["hidden"], num_attention_heads=m["heads"],
                      num_key_value_heads=m["kv_heads"], num_ffi=2, intermediate_size=m["intermediate"],
                      num_decoder_layers=m["layers"], vocab_size=m["vocab"],
                      max_model_len=max(m["max_positions"], case["context"] + 8), **kw)
    system = {"Flops": g["bf16_tflops"], "Memory_size": g["memory_gb"], "Memory_BW": g["hbm_gb_s"],
              "ICN": 450, "real_values": True}
    if case["phase"] == "prefill":
        out = prefill_moddeling(model=cfg, batch_size=case["batch"], input_tokens=case["context"],
                                system_name=system, bits="bf16")
    else:
        out = decode_moddeling(model=cfg, batch_size=case["batch"], input_tokens=case["context"], output_tokens=1,
                               Bb=1, system_name=system, bits="bf16")
    return float(out["Latency"]) / 1e3       # GenZ: milliseconds; a dict (attribute access reads class defaults)


def llm_analysis(case):
    from llm_analysis.analysis import LLMAnalysis
    from llm_analysis.config import GPUConfig, ModelConfig
    m, g = case["model"], case["gpu"]
    # llm-analysis counts 2 FFN matrices of ffn_embed_dim: SwiGLU's 3 of `intermediate` are
    # 1.5 x intermediate (its own Llama-2-7B config uses 16384 = 1.5 x 11008, rounded)
    ffn = int(1.5 * m["intermediate"])
    mc = ModelConfig(name=case["model_name"], num_layers=m["layers"], n_head=m["heads"], hidden_dim=m["hidden"],
                     vocab_size=m["vocab"], max_seq_len=max(m["max_positions"], case["context"] + 8),
                     num_key_value_heads=m["kv_heads"], ffn_embed_dim=ffn, expansion_ratio=ffn / m["hidden"],
                     model_type="llama",
                     moe_num_experts=max(1, m["experts"]), moe_top_k=max(1, m["top_k"]))
    gc = GPUConfig(name=g["name"], mem_per_GPU_in_GB=g["memory_gb"], hbm_bandwidth_in_GB_per_sec=g["hbm_gb_s"],
                   intra_node_bandwidth_in_GB_per_sec=300, intra_node_min_message_latency=8e-6,
                   peak_fp16_TFLOPS=g["bf16_tflops"])
    a = LLMAnalysis(mc, gc)
    if case["phase"] == "prefill":
        s = a.inference(batch_size_per_gpu=case["batch"], seq_len=case["context"], num_tokens_to_generate=1)
        return float(s["prefill_latency"])
    s = a.inference(batch_size_per_gpu=case["batch"], seq_len=case["context"], num_tokens_to_generate=1)
    return float(s["decode_latency"])


def main() -> int:
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    cases = json.load(sys.stdin)
    out = []
    for c in cases:
        row = {"id": c["id"]}
        for key, fn in (("genz", genz), ("llm_analysis", llm_analysis)):
            buf = io.StringIO()
            try:
                with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                    row[f"{key}_s"] = fn(c)
            except Exception as exc:       # a peer refusing a case is a result, not a crash
                row[f"{key}_s"] = None
                row[f"{key}_error"] = f"{type(exc).__name__}: {str(exc)[:160]}"
        out.append(row)
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
