"""GenZ (genz-llm) and llm-analysis on split (TP / EP) cases read from stdin (JSON list); prints
their predictions as JSON. Runs in the benchmark's own environment (.venv-bench), driven by
benchmarks/bench_serving.py. A case is benchmarks/llm_peers.py's plus "tp", "ep" and
"icn_gb_s" (the link bandwidth per direction both tools get). GenZ returns a dict
(out["Latency"], ms): attribute access would read class defaults.
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
    cfg = ModelConfig(model=f"archsim/{case['model_name']}", hidden_size=m["hidden"], num_attention_heads=m["heads"],
                      num_key_value_heads=m["kv_heads"], num_ffi=2, intermediate_size=m["intermediate"],
                      num_decoder_layers=m["layers"], vocab_size=m["vocab"],
                      max_model_len=max(m["max_positions"], case["context"] + 8), **kw)
    system = {"Flops": g["bf16_tflops"], "Memory_size": g["memory_gb"], "Memory_BW": g["hbm_gb_s"],
              "ICN": case["icn_gb_s"], "real_values": True}
    tp, ep = case["tp"], case["ep"]
    par = dict(tensor_parallel=tp, expert_parallel=ep, pipeline_parallel=1,
               parallelism_heirarchy=f"TP{{{tp}}}_EP{{{ep}}}_PP{{1}}")
    if case["phase"] == "prefill":
        out = prefill_moddeling(model=cfg, batch_size=case["batch"], input_tokens=case["context"],
                                system_name=system, bits="bf16", **par)
    else:
        out = decode_moddeling(model=cfg, batch_size=case["batch"], input_tokens=case["context"], output_tokens=1,
                               Bb=1, system_name=system, bits="bf16", **par)
    return float(out["Latency"]) / 1e3


def llm_analysis(case):
    from llm_analysis.analysis import LLMAnalysis
    from llm_analysis.config import GPUConfig, ModelConfig, ParallelismConfig
    m, g = case["model"], case["gpu"]
    ffn = int(1.5 * m["intermediate"])
    mc = ModelConfig(name=case["model_name"], num_layers=m["layers"], n_head=m["heads"], hidden_dim=m["hidden"],
                     vocab_size=m["vocab"], max_seq_len=max(m["max_positions"], case["context"] + 8),
                     num_key_value_heads=m["kv_heads"], ffn_embed_dim=ffn, expansion_ratio=ffn / m["hidden"],
                     model_type="llama", moe_num_experts=max(1, m["experts"]), moe_top_k=max(1, m["top_k"]))
    gc = GPUConfig(name=g["name"], mem_per_GPU_in_GB=g["memory_gb"], hbm_bandwidth_in_GB_per_sec=g["hbm_gb_s"],
                   intra_node_bandwidth_in_GB_per_sec=case["icn_gb_s"], intra_node_min_message_latency=8e-6,
                   peak_fp16_TFLOPS=g["bf16_tflops"])
    tp, ep = case["tp"], case["ep"]
    # llm-analysis: EP ranks are data-parallel ranks of the attention (dp_size = ep), as in archsim
    pc = ParallelismConfig(tp_size=tp, pp_size=1, dp_size=ep, ep_size=ep)
    a = LLMAnalysis(mc, gc, parallelism_config=pc)
    s = a.inference(batch_size_per_gpu=max(1, case["batch"] // ep), seq_len=case["context"], num_tokens_to_generate=1)
    return float(s["prefill_latency"] if case["phase"] == "prefill" else s["decode_latency"])


def main() -> int:
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
            except Exception as exc:          # a peer that refuses a case: record why
                row[f"{key}_s"] = None
                row[f"{key}_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        out.append(row)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
