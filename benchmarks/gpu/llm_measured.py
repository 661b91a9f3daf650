"""Turn the raw LLM layer/step records of measure_llm.py (run b) into the `--measured` format of
benchmarks/bench_llm.py, so the transformer generator's predictions (not only the per-case op
lists of compare_llm.py) are checked against the device:

    python benchmarks/gpu/llm_measured.py benchmarks/gpu/measurements/h100-2026-12-07-run-b.json > m.json
    python benchmarks/bench_llm.py --measured m.json --no-peers

Layer records time one decoder layer (layers = 1; a MoE layer record is the model's first MoE
layer, `first_layer` = DeepSeek's dense first-k count); step records time the case's layers with
embedding and LM head (layers = the case's count; where that is every layer of the model the
generator includes embedding and LM head too, as measured; Mixtral's 8-layer step, which a
whole 80 GB card cannot hold at 32 layers, is predicted without them: ~2 % of that step). The looped-expert MoE variant is left out: the generator
models grouped expert GEMMs, as serving frameworks run them.
"""
from __future__ import annotations

import json
import sys


def _first_moe_layer(model: str) -> int:
    from pathlib import Path
    from archsim.workloads.llm.config import load_config
    cfg = load_config(Path(__file__).resolve().parents[2] / "workloads" / "llm" / f"{model}.json")
    return next(i for i in range(cfg.layers) if cfg.is_moe_layer(i))


def convert(raw: dict) -> dict:
    dev = raw.get("meta", {}).get("device", {}).get("name", "")
    recs = []
    for r in raw.get("results", []):
        c = r.get("case")
        if r.get("section") not in ("llm_layer", "llm_step") or not isinstance(c, dict) or "times_s" not in r:
            continue
        if c.get("ffn") == "moe_loop":
            continue
        decode = c["phase"] == "decode"
        rec = {"model": c["model"], "phase": c["phase"], "batch": c["batch"],
               "context": c["context"] if decode else c["q_len"],
               "layers": 1 if r["section"] == "llm_layer" else int(c.get("layers", 0)),
               "mode": "cuda_graph" if r.get("variant") == "graph" else "eager",
               "latency_s": r["times_s"]["median"],
               "latency_p10_s": r["times_s"].get("p10"), "latency_p90_s": r["times_s"].get("p90")}
        if r["section"] == "llm_layer" and c.get("ffn", "").startswith("moe"):
            # a MoE layer: the generator's first MoE layer (DeepSeek's first_k_dense layers
            # before it are dense)
            rec["first_layer"] = _first_moe_layer(c["model"])
        if c.get("attn", "").startswith("mla_"):
            rec["mla_form"] = c["attn"][len("mla_"):]
        recs.append(rec)
    return {"device": dev, "preset": "arch_configs/gpu/h100-sxm.toml" if "H100" in dev else None,
            "records": recs}


if __name__ == "__main__":
    out = convert(json.load(open(sys.argv[1])))
    if out["preset"] is None:
        del out["preset"]
    json.dump(out, sys.stdout, indent=1)
