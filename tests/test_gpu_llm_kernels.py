"""Kernel paths of the LLM ops on the GPU model: elementwise kernels off the vectorised path
(strided views, broadcasts) and atomic accumulates (index_add), hand-worked on the H100 preset."""
from __future__ import annotations

from pathlib import Path

import pytest

from archsim.blocks.gpu.model import launch_s, predict, smax
from archsim.config.arch import load_arch
from archsim.workloads.llm.ops import MlaAttention, MoeFfn, Rope
from archsim.workloads.ops import Elementwise

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def h100():
    return load_arch(REPO / "arch_configs" / "gpu" / "h100-sxm.toml").components["gpu"]


def _dram_s(spec, nbytes):
    return nbytes / (spec.dram_bandwidth_gb_s * 1e9 * spec.efficiency.dram_fraction) + \
        spec.efficiency.dram_latency_us * 1e-6


def test_strided_silu_is_element_issue_bound(h100):
    # Llama-3-8B b4 x 2048 prefill: SiLU over the gate half of the fused gate_up output,
    # 8192 tokens x 14336 = 117,440,512 bf16 elements; read 2 B + write 2 B each = 469.8 MB
    n = 8192 * 14336
    op = Elementwise(n_elements=n, n_inputs=1, flops_per_element=4.0, dtype="bf16", access="strided")
    p = predict(h100, op)
    eff = h100.efficiency
    assert eff.strided_ns_per_element == pytest.approx(0.00291)
    t_issue = n * 0.00291e-9                       # 341.75 us (time_scale 1: fitted on this card)
    assert t_issue == pytest.approx(341.75e-6, rel=1e-4)
    t_dram = _dram_s(h100, 4.0 * n)                # 469.8 MB at 2.96 TB/s: ~160 us
    assert t_dram < 0.5 * t_issue
    t_c = 4.0 * n / (2 * h100.vector_fp32_tflops * 1e12 * min(1.0, eff.vector_fraction))
    want = launch_s(h100) + smax(t_c, t_issue, eff.smoothmax_p)
    assert p.latency_s == pytest.approx(want, rel=1e-9)
    assert p.dram_bytes == 4.0 * n                 # the path costs time, not bytes
    assert p.details["access"] == "strided"
    # the same elements on the vectorised path stream at the DRAM rate: about half the time
    c = predict(h100, Elementwise(n_elements=n, n_inputs=1, flops_per_element=4.0, dtype="bf16"))
    assert p.latency_s > 1.8 * c.latency_s


def test_strided_mul_still_dram_bound_when_bytes_dominate(h100):
    # fp32, 3 operands: 12 B per element -> DRAM time (n x 12 / 2.96 TB/s = 4.06 ps/el) above
    # the issue time (2.91 ps/el): the kernel stays DRAM-bound
    n = 1 << 26
    p = predict(h100, Elementwise(n_elements=n, n_inputs=2, flops_per_element=1.0, dtype="fp32", access="strided"))
    c = predict(h100, Elementwise(n_elements=n, n_inputs=2, flops_per_element=1.0, dtype="fp32"))
    assert p.latency_s == pytest.approx(c.latency_s, rel=1e-9)


def test_atomic_index_add_hand_worked(h100):
    # DeepSeek-V2-Lite b4 x 2048 MoE combine: 8192 tokens x top-6 = 49,152 routed rows of 2048
    # bf16 added into their token rows: 100,663,296 atomics at 8.0 ps = 805.3 us
    n = 49152 * 2048
    p = predict(h100, Elementwise(n_elements=n, n_inputs=2, flops_per_element=1.0, dtype="bf16", access="atomic"))
    t_issue = n * 0.0080e-9
    assert t_issue == pytest.approx(805.3e-6, rel=1e-4)
    assert p.latency_s == pytest.approx(launch_s(h100) + t_issue, rel=1e-3)   # FLOPs/DRAM hidden
    assert p.details["access"] == "atomic"


def test_small_strided_kernels_stay_launch_bound(h100):
    # decode-sized kernels (one token's 14336 activations): the path adds < 0.1 us
    for access in ("strided", "atomic"):
        s = predict(h100, Elementwise(n_elements=14336, n_inputs=2, flops_per_element=1.0, dtype="bf16",
                                      access=access))
        c = predict(h100, Elementwise(n_elements=14336, n_inputs=2, flops_per_element=1.0, dtype="bf16"))
        assert s.latency_s - c.latency_s < 0.1e-6


def test_llm_kernel_sequences_mark_their_paths():
    rope = {k.name.rsplit(".", 1)[-1]: k.access for k in Rope(tokens=8, heads=40, rot_dim=128, name="r").kernels()}
    assert rope == {"neg": "strided", "cat": "contiguous", "mul_cos": "strided", "mul_sin": "strided",
                    "add": "contiguous"}
    moe = MoeFfn(tokens=64, hidden=2048, expert_ffn=1408, experts=64, top_k=6, shared_experts=2, name="m")
    comb = {k.name.rsplit(".", 1)[-1]: k.access for k in moe.combine_kernels()}
    assert comb["combine_weight"] == "strided" and comb["combine_scatter_add"] == "atomic"
    assert comb["combine_zero"] == "contiguous"
    shared = {k.name.rsplit(".", 1)[-1]: getattr(k, "access", None) for k in moe.shared_kernels()}
    assert shared["act"] == "strided" and shared["mul"] == "strided" and shared["shared_add"] == "contiguous"
    mla = MlaAttention(batch=1, q_len=16, kv_len=16, heads=16, qk_nope_dim=128, qk_rope_dim=64,
                       v_head_dim=128, kv_lora_rank=512, form="naive", name="a")
    ks = {k.name.rsplit(".", 1)[-1]: k for k, _ in mla.torch_kernels()}
    for name, width in (("cache_k_nope", 128), ("cache_k_rope", 64), ("cache_v", 128), ("out_slice", 128)):
        k = ks[name]
        assert k.KIND == "elementwise" and k.access == "strided"
        assert k.min_bytes() == 2 * 16 * 16 * width * 2      # read + write, as the copy it was
    assert ks["q_cat"].KIND == "copy"                          # CatArrayBatchedCopy: its own kernel


def test_moe_activation_on_the_strided_path(h100):
    # Mixtral b4 x 2048: 16384 routed rows x 14336; torch impl: SiLU and mul each issue-bound
    op = MoeFfn(tokens=8192, hidden=4096, expert_ffn=14336, experts=8, top_k=2, norm_topk=True, name="m")
    p = predict(h100, op)
    parts = p.details["parts"]
    assert "routed.act0" in parts and "routed.act1" in parts
    fused = predict(h100, MoeFfn(tokens=8192, hidden=4096, expert_ffn=14336, experts=8, top_k=2,
                                 norm_topk=True, impl="fused", name="m"))
    # the torch sequence costs at least the two strided activation kernels' issue time more
    n = 16384 * 14336
    assert p.latency_s - fused.latency_s > 2 * n * 0.00291e-9 * 0.9
