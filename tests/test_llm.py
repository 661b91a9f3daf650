"""LLM workloads (issue 12): model configs, hand-worked FLOPs / bytes / KV per token, memory
fit, the physical floor, every block running the LLM ops, the contract TOML and CLI."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import archsim
from archsim.errors import ConfigError, ModelError
from archsim.workloads.llm import memory as M
from archsim.workloads.llm.config import load_config, parse_config
from archsim.workloads.llm.ops import Linear, MlaAttention, MoeFfn, expected_active_experts

ROOT = Path(__file__).resolve().parents[1]
LLM = ROOT / "workloads" / "llm"
GPU_PRESETS = sorted((ROOT / "arch_configs" / "gpu").glob("*.toml"))


def cfg(name):
    return load_config(LLM / f"{name}.json")


def wl(model, **params):
    return archsim.load_workload({"generator": "transformer",
                                  "params": {"model": str(LLM / f"{model}.json"), **params}})


# ----------------------------------------------------------------------------- configs

def test_deepseek_v3_kv_cache_table_exact():
    """DeepSeek-V3 technical report, KV cache per token (bf16): MLA 70,272 B; Qwen-2.5-72B
    GQA 327,680 B; Llama-3.1-405B GQA 516,096 B."""
    assert M.kv_bytes_per_token(cfg("deepseek-v3"), "bf16") == 70_272        # 61 x (512 + 64) x 2
    assert M.kv_bytes_per_token(cfg("qwen2.5-72b"), "bf16") == 327_680       # 80 x 2 x 8 x 128 x 2
    assert M.kv_bytes_per_token(cfg("llama-3.1-405b"), "bf16") == 516_096    # 126 x 2 x 8 x 128 x 2


@pytest.mark.parametrize("name,kv", [("llama-2-7b", 32 * 2 * 32 * 128 * 2), ("llama-3-8b", 32 * 2 * 8 * 128 * 2),
                                     ("llama-3-70b", 80 * 2 * 8 * 128 * 2), ("qwen2-7b", 28 * 2 * 4 * 128 * 2),
                                     ("mixtral-8x7b", 32 * 2 * 8 * 128 * 2), ("deepseek-v2-lite", 27 * 576 * 2),
                                     ("gpt2", 12 * 2 * 768 * 2), ("llama-2-7b-transmla", 32 * 576 * 2)])
def test_kv_bytes_per_token(name, kv):
    assert M.kv_bytes_per_token(cfg(name), "bf16") == kv
    assert M.kv_bytes_per_token(cfg(name), "fp8") == kv / 2


def test_transmla_shrinks_llama2_kv_by_93_percent():
    r = M.kv_bytes_per_token(cfg("llama-2-7b-transmla"), "bf16") / M.kv_bytes_per_token(cfg("llama-2-7b"), "bf16")
    assert 1 - r == pytest.approx(0.93, abs=0.005)


@pytest.mark.parametrize("name,billions", [("llama-2-7b", 6.738), ("llama-3-8b", 8.030), ("llama-3-70b", 70.554),
                                           ("qwen2-7b", 7.616), ("mixtral-8x7b", 46.703), ("deepseek-v2-lite", 15.706),
                                           ("deepseek-v3", 671.03), ("llama-3.1-405b", 405.85), ("gpt2", 0.124440)])
def test_parameter_counts_match_model_cards(name, billions):
    assert M.param_counts(cfg(name))["total"] / 1e9 == pytest.approx(billions, rel=2e-3)


def test_gpt2_parameters_exact():
    assert M.param_counts(cfg("gpt2"))["total"] == 124_439_808


def test_config_errors_name_file_and_key(tmp_path):
    with pytest.raises(ConfigError, match="model_type"):
        parse_config({"model_type": "rwkv"}, file="x.json")
    with pytest.raises(ConfigError, match="hidden_size"):
        parse_config({"model_type": "llama"}, file="x.json")
    with pytest.raises(ConfigError, match="params.model"):
        wl("no-such-model")
    with pytest.raises(ConfigError, match="params.layers"):
        wl("llama-3-8b", layers=33)
    with pytest.raises(ConfigError, match="params.phase"):
        wl("llama-3-8b", phase="training")


# ----------------------------------------------------------------------------- FLOPs and bytes

def _flops(w, kinds=None):
    return sum(o.flops() * o.repeat for o in w.ops if hasattr(o, "flops") and (kinds is None or o.KIND in kinds))


def test_llama2_7b_decode_flops_hand_worked():
    """Per layer: 2 x (4096 x 12288 [qkv] + 4096 x 4096 [o] + 4096 x 22016 [gate_up] +
    11008 x 4096 [down]) = 404,750,336; 32 layers + LM head 2 x 4096 x 32000; attention
    4 x 32 heads x 128 x kv_len per layer."""
    c = 1024
    w = wl("llama-2-7b", phase="decode", batch=1, context=c)
    assert _flops(w, ("linear",)) == 32 * 404_750_336 + 2 * 4096 * 32000
    assert _flops(w, ("attention",)) == 32 * 4 * 32 * 128 * (c + 1)


def test_prefill_causal_attention_counted_once():
    s = 512
    w = wl("llama-3-8b", phase="prefill", batch=2, context=s, layers=1)
    att = next(o for o in w.ops if o.KIND == "attention")
    assert att.causal and att.flops() == 4 * 2 * 32 * 128 * s * (s + 1) // 2
    # chunked prefill: every chunk sees the chunks before it; together the same causal work
    wc = wl("llama-3-8b", phase="prefill", batch=2, context=s, layers=1, chunk=128)
    assert _flops(wc, ("attention",)) == att.flops()
    assert _flops(wc, ("linear",)) == _flops(w, ("linear",))
    m = MlaAttention(batch=1, q_len=s, kv_len=s, heads=16, qk_nope_dim=128, qk_rope_dim=64, v_head_dim=128,
                     kv_lora_rank=512, form="naive")
    assert m.seen() == s * (s + 1) // 2


def test_mla_forms_same_cache_different_work():
    kw = dict(batch=8, q_len=1, kv_len=4096, heads=128, qk_nope_dim=128, qk_rope_dim=64, v_head_dim=128,
              kv_lora_rank=512)
    naive, absorbed = MlaAttention(form="naive", impl="fused", **kw), MlaAttention(form="absorbed", **kw)
    assert naive.latent_bytes() == absorbed.latent_bytes() == 8 * 4096 * 576 * 2
    # decode: decompressing every cached token costs far more than absorbing into the query
    assert naive.flops() > 10 * absorbed.flops()
    # absorbed: 128 heads x 4096 keys x (576 + 512) MACs per batch element + the two absorptions
    assert absorbed.macs() == 8 * 128 * 4096 * (576 + 512) + 8 * 128 * 512 * (128 + 128)


def test_expected_active_experts():
    assert expected_active_experts(1, 256, 8) == pytest.approx(8.0)
    assert expected_active_experts(10_000, 256, 8) == pytest.approx(256.0, rel=1e-6)
    t = 16
    assert expected_active_experts(t, 64, 6) == pytest.approx(64 * (1 - (1 - 6 / 64) ** t))
    assert expected_active_experts(t, 64, 6, "skewed", 1.0) < expected_active_experts(t, 64, 6)
    moe = MoeFfn(tokens=4, hidden=7168, expert_ffn=2048, experts=256, top_k=8, shared_experts=1)
    per = 3 * 7168 * 2048 * 2
    assert moe.weight_bytes() == pytest.approx((moe.active_experts() + 1) * per)
    assert moe.flops() == 2 * 4 * 9 * 3 * 7168 * 2048


def test_quantised_weights_bytes():
    lin = Linear(tokens=1, in_features=4096, out_features=4096, weight_dtype="int4", group_size=128)
    assert lin.weight_bytes() == 4096 * 4096 / 2 + 4096 * 4096 / 128 * 2
    c = cfg("llama-3-8b")
    bf16 = M.model_weight_bytes(c, weight_dtype="bf16", group_size=128, dtype="bf16")
    int4 = M.model_weight_bytes(c, weight_dtype="int4", group_size=128, dtype="bf16")
    assert bf16 == pytest.approx(2 * M.param_counts(c)["total"])
    assert int4 < 0.4 * bf16


def test_first_n_layers_only():
    full = wl("llama-3-8b", phase="decode", batch=1, context=128)
    two = wl("llama-3-8b", phase="decode", batch=1, context=128, layers=2)
    kinds = {o.KIND for o in two.ops}
    assert "embedding" not in kinds and not any(o.name.endswith("lm_head") for o in two.ops)
    assert {o.repeat for o in two.ops} == {2}
    assert two.meta["memory_needs"]["kv_per_token"] == 2 * 4096
    assert full.meta["memory_needs"]["kv_per_token"] == 32 * 4096


def test_deepseek_dense_first_k_then_moe():
    w = wl("deepseek-v3", phase="decode", batch=4, context=256)
    dense = [o for o in w.ops if o.name.endswith("gate_up_proj")]
    moe = [o for o in w.ops if o.KIND == "moe_ffn"]
    assert [o.repeat for o in dense] == [3] and [o.repeat for o in moe] == [58]
    assert moe[0].shared_experts == 1 and moe[0].top_k == 8 and moe[0].experts == 256
    assert w.meta["llm"]["weight_dtype"] == "fp8" and w.meta["llm"]["mla_form"] == "absorbed"


# ----------------------------------------------------------------------------- memory

def test_llama2_70b_does_not_fit_an_a100_80gb():
    a = archsim.load_arch(ROOT / "arch_configs/gpu/a100-80gb.toml")
    with pytest.raises(ModelError) as e:
        archsim.simulate(a, wl("llama-2-70b", phase="decode", batch=1, context=1024))
    msg = str(e.value)
    assert "137.95 GB" in msg and "capacity 79.99 GB" in msg and "host_link" in msg


def test_offload_plan_is_priced():
    a = archsim.load_arch(ROOT / "arch_configs/llm/a100-80gb-offload.toml")
    r = archsim.simulate(a, wl("llama-2-70b", phase="decode", batch=1, context=1024))
    m = r.memory
    assert m["fits"] is False and m["offload"]["bytes_per_pass"] == pytest.approx(m["total"] - m["capacity"], abs=2)
    xfer = next(o for o in r.ops if o.op == "kv_transfer")
    assert xfer.resource == "host.pcie_rd" and xfer.energy_j > 0
    assert r.latency_s >= m["offload"]["bytes_per_pass"] / (m["offload"]["link_gb_s"] * 1e9)


def test_memory_object_and_max_batch():
    a = archsim.load_arch(ROOT / "arch_configs/gpu/h100-sxm.toml")
    r = archsim.simulate(a, wl("llama-3-8b", phase="decode", batch=8, context=4096))
    m = r.memory
    for k in ("weights", "kv_cache", "kv_per_token", "activations", "capacity", "fits"):
        assert k in m
    assert m["kv_cache"] == 8 * 4097 * 131072 and m["fits"] is True
    nb = m["max_batch"]
    ok = archsim.simulate(a, wl("llama-3-8b", phase="decode", batch=nb, context=4096))
    assert ok.memory["fits"]
    with pytest.raises(ModelError, match=f"largest batch that fits at this context is {nb}"):
        archsim.simulate(a, wl("llama-3-8b", phase="decode", batch=nb + 1, context=4096))


# ----------------------------------------------------------------------------- physical floor

FLOOR_CASES = [("llama-3-8b", dict(batch=1, context=1024)), ("llama-3-8b", dict(batch=16, context=8192)),
               ("llama-3-8b", dict(batch=4, context=2048, weight_dtype="int4", kv_dtype="fp8")),
               ("deepseek-v2-lite", dict(batch=8, context=4096)), ("mixtral-8x7b", dict(batch=4, context=1024)),
               ("qwen2-7b", dict(batch=32, context=512))]


@pytest.mark.parametrize("preset", GPU_PRESETS, ids=lambda p: p.stem)
def test_decode_never_beats_memory_bandwidth(preset):
    """A decode step moves at least its weights (the experts it touches) and its KV cache
    once: latency >= those bytes / peak DRAM bandwidth, on every GPU preset."""
    a = archsim.load_arch(preset)
    gpu = next(s for s in a.components.values() if hasattr(s, "dram_bandwidth_gb_s"))
    bw = gpu.dram_bandwidth_gb_s * 1e9
    ran = 0
    for model, kw in FLOOR_CASES:
        w = wl(model, phase="decode", **kw)
        try:
            r = archsim.simulate(a, w)
        except ModelError:
            continue                      # does not fit this GPU (the fit check says so)
        need = w.meta["memory_needs"]
        touched = sum((o.weight_bytes() if hasattr(o, "weight_bytes") else 0.0) * o.repeat for o in w.ops)
        kv = need["kv_per_token"] * need["batch"] * (need["tokens_per_sequence"] - 1)
        assert r.latency_s >= (touched + kv) / bw, (model, kw)
        assert r.latency_s >= sum(o.min_bytes() * o.repeat for o in w.ops if o.KIND != "kv_transfer") / bw
        ran += 1
    assert ran >= 2


# ----------------------------------------------------------------------------- every block

BLOCK_ARCHS = ["arch_configs/gpu/h100-sxm.toml", "arch_configs/systolic/tpu-v4-llm.toml",
               "arch_configs/vrex/vrex48-server.toml"]


@pytest.mark.parametrize("arch", BLOCK_ARCHS, ids=lambda p: Path(p).stem)
@pytest.mark.parametrize("model,phase", [("deepseek-v2-lite", "decode"), ("deepseek-v2-lite", "prefill"),
                                         ("mixtral-8x7b", "decode"), ("gpt2", "prefill"),
                                         ("llama-2-7b-transmla", "decode"), ("block-transformer-1.2b", "decode")])
def test_every_block_runs_the_llm_ops(arch, model, phase):
    a = archsim.load_arch(ROOT / arch)
    w = wl(model, phase=phase, batch=2, context=256, layers=0)
    if model == "mixtral-8x7b":
        w = wl(model, phase=phase, batch=2, context=256, layers=2)
    r = archsim.simulate(a, w)
    assert r.latency_s > 0 and math.isfinite(r.latency_s)
    assert all(o.latency_s > 0 for o in r.ops)
    # the blocks do the op's work: FLOPs within the lowering's rounding of expert rows
    assert r.totals()["flops"] == pytest.approx(_flops(w), rel=0.03)


def test_systolic_needs_vector_lanes_for_llm_ops():
    a = archsim.load_arch(ROOT / "arch_configs/systolic/tpu-v4-llm.toml", {"components.sa.vector_lanes": 0})
    with pytest.raises(ModelError, match="no component"):
        archsim.simulate(a, wl("llama-3-8b", phase="decode", batch=1, context=64, layers=1))


def test_request_metrics():
    a = archsim.load_arch(ROOT / "arch_configs/gpu/h100-sxm.toml")
    r = archsim.simulate(a, wl("llama-3-8b", phase="request", batch=2, context=1024, output_tokens=65))
    m = r.llm
    assert m["ttft_s"] + 64 * m["tpot_s"] == pytest.approx(m["e2e_s"])
    pre = archsim.simulate(a, wl("llama-3-8b", phase="prefill", batch=2, context=1024))
    assert m["ttft_s"] == pytest.approx(pre.latency_s)


# ----------------------------------------------------------------------------- CLI and contract

def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "archsim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_contract_workload_toml_and_set(tmp_path):
    f = tmp_path / "w.toml"
    f.write_text('generator = "transformer"\n[params]\nmodel = "workloads/llm/llama-3-8b.json"\n'
                 'phase = "decode"\nbatch = 8\ncontext = 4096\nlayers = 32\n')
    out = tmp_path / "r.json"
    p = _cli("run", "arch_configs/gpu/h100-sxm.toml", str(f), "--json", str(out),
             "--set", "workload.params.batch=16", "--quiet")
    assert p.returncode == 0, p.stderr
    rep = json.loads(out.read_text())
    mem = rep["memory"]
    assert set(("weights", "kv_cache", "kv_per_token", "activations", "capacity", "fits")) <= set(mem)
    assert mem["kv_cache"] == 16 * 4097 * 131072 and mem["kv_per_token"] == 131072
    assert rep["llm"]["tpot_s"] == pytest.approx(rep["totals"]["latency_s"])


def test_cli_does_not_fit_exits_1_with_numbers(tmp_path):
    f = tmp_path / "w.toml"
    f.write_text('generator = "transformer"\n[params]\nmodel = "workloads/llm/llama-2-70b.json"\n')
    p = _cli("run", "arch_configs/gpu/a100-80gb.toml", str(f))
    assert p.returncode == 1 and "137.95 GB" in p.stderr and "capacity 79.99 GB" in p.stderr


def test_roofline_cli(tmp_path):
    f = tmp_path / "w.toml"
    f.write_text('generator = "transformer"\n[params]\nmodel = "workloads/llm/llama-2-7b.json"\ncontext = 512\n')
    p = _cli("roofline", "arch_configs/gpu/h100-sxm.toml", str(f), "--json", str(tmp_path / "r.json"),
             "--plot", str(tmp_path / "roof.png"))
    assert p.returncode == 0, p.stderr
    rows = json.loads((tmp_path / "r.json").read_text())
    qkv = next(r for r in rows if r["name"] == "decode.qkv_proj")
    assert qkv["roofline_bound"] == "memory" and 0 < qkv["achieved_flops_s"] <= qkv["attainable_flops_s"]
    assert (tmp_path / "roof.png").stat().st_size > 0
    p = _cli("roofline", "arch_configs/gpu/a100-80gb.toml", str(f), "--llm-viewer", "--json", "-")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["decode"]["q_proj"]["OPs"] == 2 * 4096 * 4096


def test_bench_llm_reads_measurements(tmp_path):
    """benchmarks/bench_llm.py --measured: the format the device measurement script writes."""
    f = tmp_path / "m.json"
    f.write_text(json.dumps({"device": "NVIDIA H100 80GB HBM3", "records": [
        {"model": "llama-3-8b", "phase": "decode", "batch": 8, "context": 4096, "layers": 1, "mode": "eager",
         "latency_s": 3.1e-4},
        {"model": "deepseek-v2-lite", "phase": "prefill", "batch": 1, "context": 512, "layers": 2,
         "mode": "cuda_graph", "latency_ms": 0.9}]}))
    out = tmp_path / "o.json"
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_llm.py"), "--measured", str(f), "--no-peers",
                        "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rows = json.loads(out.read_text())["measured"]
    assert len(rows) == 2 and all(r["archsim_s"] > 0 and r["error"] is not None for r in rows)
    assert "mode=cuda_graph" in p.stdout and "median |err|" in p.stdout


def test_torch_kernel_sequences():
    """kernels = torch: the op lists say what PyTorch eager launched on the H100 (run b's
    llm_profile records): rotate_half RoPE, the MoE routing / dispatch / combine around
    torch._grouped_mm, HF-style naive MLA caching per-head K/V, absorbed MLA as bmm."""
    from archsim.workloads.llm.ops import MoeFfn, Rope
    assert len(Rope(tokens=4, heads=40, rot_dim=128).kernels()) == 10
    assert len(Rope(tokens=4, heads=40, rot_dim=128, impl="fused").kernels()) == 1
    moe = MoeFfn(tokens=8, hidden=2048, expert_ffn=1408, experts=64, top_k=6, shared_experts=2)
    # cast + softmax, topk + sort, the 12 dispatch-index kernels, the gather
    assert len(moe.route_kernels()) == 2 + 2 + 12 + 1
    assert len(MoeFfn(tokens=8, hidden=4096, expert_ffn=14336, experts=8, top_k=2, norm_topk=True)
               .route_kernels()) == 2 + 2 + 2 + 12 + 1
    assert len(moe.combine_kernels()) == 5 and len(moe.shared_kernels()) == 5
    # the lowering keeps the MACs (routed GEMMs + the shared experts as one dense FFN)
    macs = sum(o.m * o.k * o.n * c for o, c in moe.lower() if o.KIND == "gemm")
    assert macs == moe.macs()
    kw = dict(batch=8, q_len=1, kv_len=4097, heads=16, qk_nope_dim=128, qk_rope_dim=64, v_head_dim=128,
              kv_lora_rank=512)
    naive = MlaAttention(form="naive", **kw)
    assert naive.cached_per_head() and naive.cache_bytes_per_token() == 2 * 16 * 192 * 2
    # the cache writes and the V slice are strided copies (elementwise kernels); q_cat a cat kernel
    assert [o.KIND for o, _ in naive.lower()] == ["gemm", "elementwise", "elementwise", "elementwise", "copy",
                                                  "attention", "elementwise"]
    assert next(o for o, _ in naive.lower() if o.KIND == "gemm").m == 8      # the new tokens only
    absorbed = MlaAttention(form="absorbed", **kw)
    assert [o.name.split(".")[-1] for o, _ in absorbed.lower()] == [
        "q_absorb", "q_cat", "scores", "softmax", "pv", "v_absorb", "out_transpose"]
    w = wl("deepseek-v2-lite", phase="decode", batch=4, context=1024, layers=1, first_layer=1, mla_form="naive")
    assert not any(o.KIND == "kv_write" for o in w.ops)           # the MLA op writes its per-head cache
    assert any(o.KIND == "moe_ffn" for o in w.ops)                # layer 1 is DeepSeek-V2-Lite's first MoE layer
    assert w.meta["memory_needs"]["kv_per_token"] == 2 * 16 * 192 * 2
    wf = wl("deepseek-v2-lite", phase="decode", batch=4, context=1024, layers=1, kernels="fused", mla_form="naive")
    assert wf.meta["memory_needs"]["kv_per_token"] == 576 * 2 and not any(o.KIND == "moe_ffn" for o in wf.ops)
