"""The GPU model's kernel choice (attention implementation, GQA handling, eager vs CUDA graph)
and its power-capped clock (issue 11)."""
from __future__ import annotations

import warnings

import pytest

from archsim import load_arch, load_workload, simulate
from archsim.blocks.gpu.model import capped_clock, evaluate, predict
from archsim.workloads.ops import Attention, Copy, Gemm, KvRetrieve

H200 = "arch_configs/gpu/h200.toml"


def _spec(over=None):
    from pathlib import Path
    return load_arch(Path(__file__).resolve().parents[1] / H200, over).components["gpu"]


ATT = Attention(batch=1, q_len=4096, kv_len=4096, heads=32, kv_heads=8, head_dim=128, dtype="bf16", causal=False)


def test_default_attention_is_the_calibrated_kernel():
    s = _spec()
    assert s.kernels.attention == "default" and s.kernels.gqa == "native"
    # SDPA's default on Hopper is the cuDNN backend (rate 1.0, fitted on the H100's records)
    cudnn = _spec({"components.gpu.kernels.attention": "cudnn"})
    assert predict(cudnn, ATT).latency_s == pytest.approx(predict(s, ATT).latency_s, rel=1e-12)
    flash = _spec({"components.gpu.kernels.attention": "flash"})
    assert predict(flash, ATT).latency_s > predict(s, ATT).latency_s
    assert evaluate(s, ATT).details["attention_impl"] == "default"


def test_attention_implementations_differ_as_modelled():
    base = predict(_spec(), ATT)
    eff = predict(_spec({"components.gpu.kernels.attention": "efficient"}), ATT)
    math_ = predict(_spec({"components.gpu.kernels.attention": "math"}), ATT)
    assert eff.latency_s > base.latency_s
    # the math path materialises the scores (fp32, written and read) in DRAM
    assert math_.dram_bytes >= 32 * 4096 * 4096 * 8 and math_.latency_s > base.latency_s
    exp = predict(_spec({"components.gpu.kernels.gqa": "expanded"}), ATT)
    per_call = predict(_spec({"components.gpu.kernels.gqa": "expand_per_call"}), ATT)
    assert exp.dram_bytes > base.dram_bytes and per_call.latency_s > exp.latency_s


def test_cuda_graph_removes_the_host_floor():
    op = KvRetrieve(batch=1, queries=1, kv_len=4096, kv_heads=8, head_dim=128, selected=64, dtype="bf16")
    eager, graph = predict(_spec(), op), predict(_spec({"components.gpu.kernels.launch": "cuda_graph"}), op)
    assert eager.details["host_s"] > 0 and graph.details["host_s"] == 0
    assert graph.latency_s < eager.latency_s


def test_power_cap_lowers_the_clock_of_a_big_gemm_only():
    s = _spec()
    big, small = Gemm(m=8192, k=8192, n=8192, dtype="bf16"), Copy(bytes=1 << 20)
    r = evaluate(s, big)
    b = predict(s, big)
    assert r.details["power_capped"] and r.details["sm_clock_ghz"] < s.boost_clock_ghz
    assert r.latency_s > b.latency_s
    assert r.energy_j / r.latency_s == pytest.approx(s.tdp_w, rel=1e-6)      # at the cap
    c = capped_clock(s, b)
    assert c["x"] == pytest.approx(r.details["sm_clock_ghz"] / s.boost_clock_ghz)
    # energy at the capped clock exceeds the old burst pricing (TDP x burst time)
    assert r.energy_j > s.tdp_w * b.latency_s
    # an op below the cap runs at the boost clock, unchanged
    rs, bs = evaluate(s, small), predict(s, small)
    assert not rs.details["power_capped"] and rs.latency_s == bs.latency_s
    # burst mode keeps the boost-clock time, energy capped at TDP x time
    burst = evaluate(_spec({"components.gpu.power_cap.mode": "burst"}), big)
    assert burst.latency_s == b.latency_s and burst.energy_j == pytest.approx(s.tdp_w * b.latency_s)


def test_higher_voltage_floor_throttles_more():
    big = Gemm(m=8192, k=8192, n=8192, dtype="bf16")
    lo = evaluate(_spec({"components.gpu.power_cap.voltage_floor_fraction": 0.3}), big)
    hi = evaluate(_spec({"components.gpu.power_cap.voltage_floor_fraction": 0.8}), big)
    assert hi.details["sm_clock_ghz"] < lo.details["sm_clock_ghz"]


def test_every_report_states_the_kernels_and_the_power_cap():
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = simulate(load_arch(root / H200), load_workload(root / "workloads/cnn/resnet18.csv"))
    notes = rep.to_dict()["provenance"]["structure_notes"]["gpu"]
    assert "attention: default" in notes["kernels"] and "launch: eager" in notes["kernels"]
    assert notes["power_cap"].startswith("sustained")
    assert all("sm_clock_ghz" in o and "power_cap_mode" in o for o in rep.to_dict()["ops"])
