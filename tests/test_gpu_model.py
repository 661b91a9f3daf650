"""GPU model (archsim/blocks/gpu/spec.py, archsim/blocks/gpu/model.py): hand-computed cases on a
synthetic GPU with round numbers, physical invariants on every op kind, monotonicity, energy
bounds, error bands, presets."""
from __future__ import annotations

import math
from pathlib import Path

import attrs
import pytest

import archsim.blocks.gpu as gpu
from archsim.blocks.gpu.spec import (DtypeFractions, DtypeRates, GpuCalibration, GpuEfficiency,
                                    GpuEnergy, Spec)
from archsim.config.arch import load_arch
from archsim.errors import ConfigError
from archsim.blocks.gpu.model import hash_levels, predict, smax
from archsim.workloads.ops import (Attention, Conv2d, Copy, Elementwise, Gather, Gemm, HashEncode,
                                   KvRetrieve, Mlp, TopK)

REPO = Path(__file__).resolve().parents[1]
PRESETS = sorted((REPO / "arch_configs" / "gpu").rglob("*.toml"))

# A synthetic GPU with round numbers: 100 SMs at 1 GHz, 100 TFLOP/s fp16 tensor, 10 TFLOP/s
# fp32 vector, 1000 GB/s DRAM at 80 % sustained, 2 us launch, 1 us DRAM ramp, (near) max overlap.
EFF = GpuEfficiency(smoothmax_p=32.0, dram_fraction=0.8, dram_latency_us=1.0, vector_fraction=0.5,
                    gemm_fraction=DtypeFractions(int8=0.5, fp8=0.5, fp16=0.5, bf16=0.5, tf32=0.5, fp32=0.5),
                    gemm_small_tile_exponent=0.0, gemm_wave_overhead_us=0.0, gemm_streamk_overhead=10.0, gemm_fixed_us=0.0,
                    gemm_kstep_ns=0.0, gather_ns_per_row=1.0,
                    attn_bw_fraction=1.0, attn_fixed_us=0.0, host_dispatch_us=0.0)
SYN = Spec(device_name="synthetic", sm_count=100, boost_clock_ghz=1.0,
           tensor_tflops=DtypeRates(fp16=100.0, bf16=100.0, int8=200.0, fp8=200.0, tf32=50.0),
           vector_fp32_tflops=10.0, dram_bandwidth_gb_s=1000.0, dram_capacity_gib=16.0,
           l2_size_mib=32.0, l2_bandwidth_gb_s=4000.0, smem_per_sm_kib=100.0,
           launch_overhead_us=2.0, tdp_w=300.0, idle_power_w=50.0, die_area_mm2=500.0,
           energy=GpuEnergy(), efficiency=EFF,
           calibration=GpuCalibration(device="synthetic", ref_sm_count=100, ref_boost_clock_ghz=1.0,
                                      error_band={"copy": (-0.1, 0.2), "gemm": (-0.2, 0.3)}))


def h200():
    return load_arch(REPO / "arch_configs" / "gpu" / "h200.toml").components["gpu"]


# ----------------------------------------------------------------------------- hand cases

def test_copy_hand_computed():
    # 1e9 B copied = 2e9 B of traffic at 1000 GB/s x 0.8 = 2.5 ms, + 1 us ramp + 2 us launch
    p = predict(SYN, Copy(bytes=10**9))
    assert p.latency_s == pytest.approx(2.5e-3 + 1e-6 + 2e-6, rel=1e-9)
    assert p.dram_bytes == 2e9 and p.bound == "memory"


def test_elementwise_hand_computed():
    # 1e8 fp32 elements, 2 inputs: 1.2e9 B -> 1.5 ms + 1 us; compute 1e8 / (10e12 x 0.5) = 20 us,
    # smooth max with p = 32 adds (20/1501)^32 ~ 0 -> 1.501 ms; + 2 us launch
    p = predict(SYN, Elementwise(n_elements=10**8, n_inputs=2, flops_per_element=1.0, dtype="fp32"))
    assert p.latency_s == pytest.approx(1.5e-3 + 1e-6 + 2e-6, rel=1e-6)


def test_large_gemm_hand_computed():
    # 8192^3 fp16 at 0.5 x 100 TFLOP/s = 5e11 FLOP/s per SM-group of 100 SMs:
    # 128x128 tiles: 64 x 64 = 4096 tiles -> ceil(40.96) = 41 waves x (2*128*128*8192 / 5e11 s)
    # = 41 x 0.53687 ms = 22.012 ms (128x256: 21 waves x 1.0737 ms = 22.55 ms; 16x128: 328 waves
    # x 67.1 us = 22.012 ms too); memory 3 x 128 MiB is hidden; + 2 us launch
    p = predict(SYN, Gemm(m=8192, k=8192, n=8192, dtype="fp16"))
    assert p.latency_s == pytest.approx(41 * 2 * 128 * 128 * 8192 / 5e11 + 2e-6, rel=1e-3)
    assert p.bound == "compute"
    assert p.flops == 2.0 * 8192**3


def test_wave_quantisation():
    # batch 100 of 128x256 tiles fills exactly one wave on 100 SMs; batch 101 needs a second
    # full wave: about twice the time (split-K cannot help: 2 x 101 tiles > 2 x 100 SMs; with
    # small-tile exponent 1, a 128x128 tile runs at half the per-SM rate, so smaller tiles give
    # 3 waves x 1 = 3 units against 2 x 1: the 128x256 tile stays best)
    spec = attrs.evolve(SYN, efficiency=attrs.evolve(EFF, gemm_small_tile_exponent=1.0))
    t100 = predict(spec, Gemm(m=128, k=8192, n=256, batch=100, dtype="fp16")).latency_s
    t101 = predict(spec, Gemm(m=128, k=8192, n=256, batch=101, dtype="fp16")).latency_s
    assert t101 / t100 == pytest.approx(2.0, rel=0.02)


def test_tile_quantisation():
    # m = 3200 x n = 1024 is exactly 25 x 4 = 100 tiles of 128x256: one wave on 100 SMs. One
    # more row (m = 3201) adds a partial row of 4 tiles that costs like full ones: 104 tiles,
    # two waves, twice the time for 0.03 % more work (128x128 tiles: 208 tiles = 3 waves of
    # equally long tiles at exponent 1; split-K: 2 x 104 > 2 x 100 SMs)
    spec = attrs.evolve(SYN, efficiency=attrs.evolve(EFF, gemm_small_tile_exponent=1.0))
    t0 = predict(spec, Gemm(m=3200, k=8192, n=1024, dtype="fp16")).latency_s
    t1 = predict(spec, Gemm(m=3201, k=8192, n=1024, dtype="fp16")).latency_s
    assert t1 / t0 == pytest.approx(2.0, rel=0.02)


def test_decode_attention_is_kv_streaming():
    # decode: K and V of 8 KV heads x 65536 x 128 x 2 B x batch 4 = 1.074 GB read once (GQA: the
    # 32 query heads share them) -> / 800 GB/s = 1.342 ms; compute 2*2*4*32*65536*128 FLOP at
    # 50 TFLOP/s = 86 us is hidden; + 1 us ramp + 2 us launch
    op = Attention(batch=4, q_len=1, kv_len=65536, heads=32, kv_heads=8, head_dim=128, dtype="fp16")
    kv = 2 * 4 * 8 * 65536 * 128 * 2
    qo = 2 * 4 * 32 * 1 * 128 * 2
    p = predict(SYN, op)
    assert p.latency_s == pytest.approx((kv + qo) / 800e9 + 1e-6 + 2e-6, rel=1e-3)
    assert p.bound == "memory"


def test_gather_row_cost():
    # 1e6 rows of 64 B from a 1 MiB table (L2 resident): 1 ns per row = 1 ms dominates the
    # sector traffic (64 MB at 4000 GB/s x 0.7 = 23 us) and the writes; + 2 us launch
    p = predict(SYN, Gather(rows=10**6, row_bytes=64, table_bytes=2**20))
    assert p.latency_s == pytest.approx(1e-3 + 2e-6, rel=0.01)
    assert p.details["l2_hit_rate"] == 1.0


def test_gather_l2_hit_rate_from_capacity():
    # table 4x the usable L2 (32 MiB x 0.75): a quarter of the random rows hit
    p = predict(SYN, Gather(rows=1000, row_bytes=256, table_bytes=4 * 24 * 2**20))
    assert p.details["l2_hit_rate"] == pytest.approx(0.25)


def test_hash_levels_instant_ngp():
    # 16 levels from 16 to 2048: b = exp(ln(128)/15) = 1.3819; level 0 res 16 -> 17^3 = 4913
    # dense entries; the finest levels are hashed into 2^19 entries
    op = HashEncode(n_points=1000, dims=3, levels=16, features_per_level=2, log2_table_size=19,
                    base_resolution=16, finest_resolution=2048)
    lv = hash_levels(op)
    assert lv[0] == (16, 17**3)
    assert lv[-1][0] in (2047, 2048) and lv[-1][1] == 2**19
    assert predict(SYN, op).details["lookups"] == 1000 * 16 * 8


def test_mlp_fused_beats_layer_by_layer():
    op = dict(batch=2**20, layers=(32, 64, 64, 16), dtype="fp16")
    fused = predict(SYN, Mlp(fused=True, **op))
    lbl = predict(SYN, Mlp(fused=False, **op))
    # layer-by-layer: 3 GEMMs + 2 activation kernels, every activation through DRAM
    assert lbl.kernels == 5 and fused.kernels == 1
    assert lbl.dram_bytes > 3 * fused.dram_bytes
    assert fused.latency_s < lbl.latency_s


def test_kv_retrieve_is_score_topk_gather():
    p = predict(SYN, KvRetrieve(batch=1, queries=4, kv_len=32768, kv_heads=8, head_dim=128,
                                selected=1024, dtype="bf16"))
    # GEMM, cast, reduce, top-k, two gathers
    assert p.kernels == 6
    parts = p.details["parts"]
    assert parts[0] == "kv_retrieve" and "topk" in parts


def test_conv2d_hand_computed():
    # 58x58x64 -> 64 filters 3x3 fp16 = implicit GEMM M = 56*56 = 3136, N = 64, K = 576 (64
    # channels: no padding); rate per SM = 100e12 x 0.5 (gemm) x 0.7 (conv) / 100 = 3.5e11.
    # Tiles: 64x64 -> 49 tiles, one wave, 2*64*64*576 / 3.5e11 = 13.4817 us (32x128 the same;
    # 128x256: 25 tiles of 107.9 us). DRAM 905,728 B / 800 GB/s + 1 us = 2.13 us (hidden).
    # + 2 us launch + 2 us conv_fixed_us
    op = Conv2d(ifmap_h=58, ifmap_w=58, filter_h=3, filter_w=3, channels=64, num_filters=64, dtype="fp16")
    p = predict(SYN, op)
    assert p.latency_s == pytest.approx(2e-6 + 2 * 64 * 64 * 576 / 3.5e11 + 2e-6, rel=1e-4)
    assert p.flops == 2.0 * 3136 * 64 * 576


def test_conv2d_pads_channels_to_8_on_tensor_cores():
    # 3 input channels run as 8 on the tensor cores: same time as 8 real channels
    a = predict(SYN, Conv2d(ifmap_h=64, ifmap_w=64, filter_h=7, filter_w=7, channels=3, num_filters=64, dtype="fp16"))
    b = predict(SYN, Conv2d(ifmap_h=64, ifmap_w=64, filter_h=7, filter_w=7, channels=8, num_filters=64, dtype="fp16"))
    assert a.details["compute_s"] == pytest.approx(b.details["compute_s"])
    assert a.flops == pytest.approx(b.flops * 3 / 8)


def test_topk_hand_computed():
    # defaults: one-row latency 2 us x (1024/1024)^0.3 x (4/4)^0.5 = 2 us; streaming 4096 B at
    # 800 GB/s x 0.1 = 0.05 us (hidden); rows 1 x 0.5 us / 100 SMs = 0.005 us; sort 8 x log2 8 x
    # 0.05 ns = 1.2 ns; output 8 x (4 + 8) B = 96 B -> 0.12 ns + 1 us ramp; + 2 us launch
    p = predict(SYN, TopK(rows=1, n=1024, k=8, dtype="fp32"))
    expect = 2e-6 + 2e-6 + 0.005e-6 + 1.2e-9 + 96 / 800e9 + 1e-6
    assert p.latency_s == pytest.approx(expect, rel=1e-3)
    # 16-bit keys: half the radix passes -> latency term x (2/4)^0.5
    p16 = predict(SYN, TopK(rows=1, n=1024, k=8, dtype="fp16"))
    assert p16.latency_s < p.latency_s


def test_mlp_fused_hand_computed():
    # 2^20 x [64, 64, 64, 64] fp16, fused: rate 100e12 x 0.5 x 0.6 x 64/(64+64) = 15 TFLOP/s;
    # 2^20 x 3 x 64 x 64 x 2 = 25.77 GFLOP -> 1.71799 ms x 82/81.92 (8192 CTAs of 128 rows on
    # 100 SMs) + 1 us prologue; I/O 2^20 x 128 x 2 B + weights = 268.46 MB -> 335.6 us (hidden)
    # + 2 us launch
    op = Mlp(batch=2**20, layers=(64, 64, 64, 64), dtype="fp16", fused=True)
    t_c = 2**20 * 3 * 64 * 64 * 2 / 15e12 * (82 / 81.92) + 1e-6
    assert predict(SYN, op).latency_s == pytest.approx(2e-6 + t_c, rel=1e-4)


def test_smax_bounds():
    for a, b in ((1.0, 2.0), (3.0, 3.0), (0.0, 5.0)):
        for pp in (1.0, 2.0, 8.0):
            s = smax(a, b, pp)
            assert max(a, b) - 1e-12 <= s <= a + b + 1e-12


# ----------------------------------------------------------------------------- invariants

OPS = [
    Gemm(m=4096, k=4096, n=4096, dtype="bf16"), Gemm(m=1, k=4096, n=4096, dtype="fp16"),
    Gemm(m=333, k=777, n=555, dtype="tf32"), Gemm(m=64, k=64, n=64, dtype="fp32", batch=32),
    Gemm(m=2048, k=2048, n=2048, dtype="int8"), Gemm(m=2048, k=2048, n=2048, dtype="fp8"),
    Conv2d(ifmap_h=58, ifmap_w=58, filter_h=3, filter_w=3, channels=64, num_filters=64, dtype="fp16"),
    Conv2d(ifmap_h=230, ifmap_w=230, filter_h=7, filter_w=7, channels=3, num_filters=64, stride=2),
    Mlp(batch=2**18, layers=(32, 64, 64, 16), dtype="fp16", fused=True),
    Mlp(batch=2**18, layers=(32, 64, 64, 16), dtype="fp16", fused=False),
    HashEncode(n_points=2**20, dims=3, levels=16, features_per_level=2, log2_table_size=22,
               base_resolution=16, finest_resolution=2048),
    Attention(batch=8, q_len=1, kv_len=8192, heads=32, kv_heads=8, head_dim=128, dtype="bf16"),
    Attention(batch=1, q_len=4096, kv_len=4096, heads=32, kv_heads=8, head_dim=128, dtype="bf16", causal=True),
    Attention(batch=1, q_len=512, kv_len=8192, heads=32, kv_heads=8, head_dim=64, dtype="fp16", causal=True),
    KvRetrieve(batch=2, queries=4, kv_len=16384, kv_heads=8, head_dim=128, selected=512, dtype="fp16"),
    Elementwise(n_elements=2**24, n_inputs=2, dtype="fp16"), Copy(bytes=2**28), Copy(bytes=64),
    TopK(rows=64, n=65536, k=256, dtype="fp32"), Gather(rows=2**16, row_bytes=256, table_bytes=2**30),
]


def _peaks(spec):
    t = spec.tensor_tflops
    flops = max([v for v in (t.int8, t.fp8, t.fp16, t.bf16, t.tf32, t.fp32) if v] +
                [spec.vector_fp32_tflops, spec.vector_fp16_tflops or 0.0, 2 * spec.vector_fp32_tflops]) * 1e12
    return flops, spec.dram_bandwidth_gb_s * 1e9, max(spec.dram_bandwidth_gb_s, spec.l2_bandwidth_gb_s * 3) * 1e9


@pytest.mark.parametrize("preset", ["synthetic", "h200", "rtx3090"])
@pytest.mark.parametrize("op", OPS, ids=lambda o: o.KIND)
def test_never_faster_than_peak_or_launch(preset, op):
    spec = SYN if preset == "synthetic" else (
        h200() if preset == "h200" else load_arch(REPO / "arch_configs/gpu/rtx3090.toml").components["gpu"])
    p = predict(spec, op)
    peak_flops, dram_bw, fastest_bw = _peaks(spec)
    assert p.latency_s >= spec.launch_overhead_us * 1e-6
    assert p.latency_s >= p.flops / peak_flops
    if hasattr(op, "flops"):
        assert p.latency_s >= op.flops() / peak_flops
    if hasattr(op, "min_bytes") and op.KIND not in ("gather",):
        assert p.latency_s >= op.min_bytes() / dram_bw * (1 - 1e-9)
    if op.KIND == "gather":       # rows may come from L2: bounded by the fastest memory
        assert p.latency_s >= op.min_bytes() / fastest_bw
    r = gpu.evaluate(spec, op, None)
    assert r.energy_j >= spec.idle_power_w * r.latency_s * (1 - 1e-12)
    assert r.energy_j <= spec.tdp_w * r.latency_s * (1 + 1e-12)
    lo, hi = r.latency_error_band
    assert lo < hi


SIZES = {
    "gemm": lambda s: Gemm(m=64 * s, k=64 * s, n=64 * s, dtype="bf16"),
    "gemm_skinny": lambda s: Gemm(m=8, k=4096, n=512 * s, dtype="fp16"),
    "conv2d": lambda s: Conv2d(ifmap_h=8 * s + 2, ifmap_w=8 * s + 2, filter_h=3, filter_w=3,
                               channels=64, num_filters=64, dtype="fp16"),
    "mlp_fused": lambda s: Mlp(batch=4096 * s, layers=(32, 64, 64, 16), dtype="fp16", fused=True),
    "mlp_lbl": lambda s: Mlp(batch=4096 * s, layers=(32, 64, 64, 16), dtype="fp16", fused=False),
    "hash_points": lambda s: HashEncode(n_points=4096 * s, dims=3, levels=16, features_per_level=2,
                                        log2_table_size=19, base_resolution=16, finest_resolution=2048),
    # base resolution 512: every level hashed (513^3 > 2^27), so a bigger table only adds misses
    # (with dense coarse levels a bigger table can be faster: more levels indexed densely, as
    # measured on the H200 between 2^14 and 2^16)
    "hash_table": lambda s: HashEncode(n_points=2**20, dims=3, levels=8, features_per_level=2,
                                       log2_table_size=11 + s, base_resolution=512, finest_resolution=2048),
    "attn_decode": lambda s: Attention(batch=4, q_len=1, kv_len=1024 * s, heads=32, kv_heads=8,
                                       head_dim=128, dtype="bf16"),
    "attn_prefill": lambda s: Attention(batch=1, q_len=256 * s, kv_len=256 * s, heads=32, kv_heads=8,
                                        head_dim=128, dtype="bf16", causal=True),
    "kv_retrieve": lambda s: KvRetrieve(batch=1, queries=4, kv_len=2048 * s, kv_heads=8, head_dim=128,
                                        selected=256, dtype="bf16"),
    "elementwise": lambda s: Elementwise(n_elements=2**14 * s, n_inputs=2, dtype="fp16"),
    "copy": lambda s: Copy(bytes=2**16 * s),
    "topk_n": lambda s: TopK(rows=16, n=1024 * s, k=64, dtype="fp32"),
    "topk_rows": lambda s: TopK(rows=16 * s, n=4096, k=64, dtype="fp32"),
    "gather_rows": lambda s: Gather(rows=1024 * s, row_bytes=256, table_bytes=2**28),
    "gather_table": lambda s: Gather(rows=2**16, row_bytes=256, table_bytes=2**20 * s),
}


@pytest.mark.parametrize("family", sorted(SIZES))
def test_monotone_in_size(family):
    spec = h200()
    steps = [1, 2, 3, 4, 6, 8, 12, 16]
    times = [predict(spec, SIZES[family](s)).latency_s for s in steps]
    assert all(b >= a * (1 - 1e-9) for a, b in zip(times, times[1:])), times


def test_generic_fallback_for_unknown_kinds():
    @attrs.frozen(kw_only=True)
    class Fancy:
        KIND = "fancy"
        n: int = 10**9
        dtype: str = "bf16"
        name: str = ""
        repeat: int = 1

        def flops(self):
            return 2.0 * self.n

        def min_bytes(self):
            return 1e6

    spec = h200()
    assert gpu.supports(spec, Fancy())
    r = gpu.evaluate(spec, Fancy(), None)
    assert r.details["model"] == "generic roofline + launch"
    assert r.latency_s >= 2e9 / (spec.tensor_tflops.bf16 * 1e12)
    lo, hi = r.latency_error_band
    assert lo <= -0.5 and hi >= 1.0


def test_error_band_widens_off_the_calibration_device():
    band = predict(SYN, Copy(bytes=10**6)).error_band(SYN)
    assert band == pytest.approx((-0.1, 0.2))
    other = attrs.evolve(SYN, device_name="another GPU", transfer_band_factor=2.0)
    assert predict(other, Copy(bytes=10**6)).error_band(other) == pytest.approx((-0.2, 0.4))


def test_energy_capped_at_tdp():
    # a huge fp32 GEMM at 10 pJ/FLOP on a tiny TDP would exceed it: charged TDP x latency
    spec = attrs.evolve(SYN, tdp_w=60.0)
    r = gpu.evaluate(spec, Gemm(m=4096, k=4096, n=4096, dtype="fp32"), None)
    assert r.details["power_capped"]
    assert r.energy_j == pytest.approx(60.0 * r.latency_s)


def test_energy_hand_computed_copy():
    # 1e9 B copy: 2e9 B through L2 (55 pJ/B) and DRAM (70 pJ/B) = 0.25 J dynamic, + 50 W idle
    # x 2.503 ms = 0.125 J
    r = gpu.evaluate(SYN, Copy(bytes=10**9), None)
    assert r.energy_j == pytest.approx(2e9 * (55 + 70) * 1e-12 + 50.0 * r.latency_s, rel=1e-9)
    assert not r.details["power_capped"]


# ----------------------------------------------------------------------------- presets

@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_presets_load(path):
    arch = load_arch(path)
    # a GPU, and for the V-Rex paper's baselines the host link they offload KV over
    assert arch.component_kinds["gpu"] == "gpu" and set(arch.component_kinds.values()) <= {"gpu", "host_link"}
    spec = arch.components["gpu"]
    # the H100 and H200 carry their own fits; every other GPU the H200's, carried over and said so
    own = {"h100-sxm": "NVIDIA H100 SXM", "h200": "NVIDIA H200"}
    assert spec.calibration.device == own.get(path.stem, "NVIDIA H200")
    if spec.calibration.device != spec.device_name:
        assert "carried over" in gpu.structure(spec).notes["calibration"]
    assert spec.idle_power_w < spec.tdp_w
    for key in ("sm_count", "tensor_tflops", "dram_bandwidth_gb_s", "tdp_w", "idle_power_w", "die_area_mm2"):
        assert spec.sources.get(key), f"{path.name}: no source for {key}"
    st = gpu.structure(spec)
    assert st.fixed_area_mm2 == spec.die_area_mm2 and st.fixed_leakage_power_w == spec.idle_power_w


def test_paper_variants_differ_from_datasheet():
    orin = load_arch(REPO / "arch_configs/gpu/jetson-agx-orin-32gb.toml").components["gpu"]
    vrex = load_arch(REPO / "arch_configs/gpu/vrex-paper/jetson-agx-orin-32gb.toml").components["gpu"]
    assert vrex.tensor_tflops.fp16 == 54.0 and orin.tensor_tflops.fp16 < 54.0
    a100 = load_arch(REPO / "arch_configs/gpu/vrex-paper/a100-80gb-pcie.toml").components["gpu"]
    assert a100.dram_bandwidth_gb_s == 1935.0


def test_bad_spec_is_config_error():
    with pytest.raises(ConfigError) as e:
        load_arch(REPO / "arch_configs/gpu/h200.toml", {"components.gpu.idle_power_w": 900.0})
    assert "idle_power_w" in e.value.key
    with pytest.raises(ConfigError):
        load_arch(REPO / "arch_configs/gpu/h200.toml", {"components.gpu.sm_count": 0})


def test_h200_calibration_accuracy_recorded():
    cal = h200().calibration
    assert cal.n_fit > 100 and cal.n_heldout > 100
    assert cal.median_abs_error_heldout is not None and cal.median_abs_error_heldout < 0.5
    assert set(cal.error_band) >= {"gemm", "attention", "copy", "hash_encode"}
    assert math.isclose(h200().calibration.ref_sm_count, 132)


def test_math_attention_is_aten_kernel_sequence_hand_worked():
    """SDPA's math path, decode b1 x 32 query heads / 8 KV heads x 1024 tokens x 128, bf16,
    native GQA: ATen upcasts Q, K, V to fp32, repeat_interleaves K and V to 32 heads, scales Q
    and K^T, runs two fp32 batched GEMMs around the (safe) softmax and casts O and P back (the
    16 kernels the H100 profile lists, h100-2026-12-07-math-sdpa.log). Bytes of the non-GEMM
    kernels, by hand."""
    spec = load_arch(REPO / "arch_configs" / "gpu" / "h100-sxm.toml",
                     {"components.gpu.kernels.attention": "math"}).components["gpu"]
    op = Attention(batch=1, q_len=1, kv_len=1024, heads=32, kv_heads=8, head_dim=128, dtype="bf16")
    p = predict(spec, op)
    assert p.details["parts"] == ["q_to_fp32", "k_to_fp32", "v_to_fp32", "k_repeat", "v_repeat",
                                  "q_scale", "kt_scale", "qk", "softmax", "isneginf", "row_all",
                                  "where_rows", "pv", "o_to_input_dtype", "p_to_input_dtype"]
    q, kv, kx, s = 32 * 128, 8 * 1024 * 128, 32 * 1024 * 128, 32 * 1024
    by_hand = (q * 6 + 2 * kv * 6            # upcasts: read bf16, write fp32
               + 2 * (kv * 4 + kx * 4)       # repeat_interleave: read fp32 K/V, write 4x
               + q * 8 + kx * 8              # Q and K^T scaled in fp32
               + s * 8                       # softmax over S in fp32
               + s * 5 + (s + 32) + (s * 8 + 32)   # _safe_softmax: isneginf, all() per row, where
               + q * 6 + s * 6)              # O and P back to bf16
    gemms = [predict(spec, Gemm(m=1, k=128, n=1024, batch=32, dtype="fp32")),
             predict(spec, Gemm(m=1, k=1024, n=128, batch=32, dtype="fp32"))]
    assert p.dram_bytes == pytest.approx(by_hand + sum(g.dram_bytes for g in gemms), rel=1e-12)
    assert p.details["math_dtype"] == "fp32"
    # allow_fp16_bf16_reduction_math_sdp(True): no upcasts, bf16 GEMMs, less traffic, faster
    low = predict(attrs.evolve(spec, kernels=attrs.evolve(spec.kernels, math_fp32=False)), op)
    assert "q_to_fp32" not in low.details["parts"] and low.details["math_dtype"] == "bf16"
    assert low.dram_bytes < p.dram_bytes and low.latency_s < p.latency_s
    # causal prefill adds the L x S mask kernels and the mask add
    pre = predict(spec, Attention(batch=1, q_len=512, kv_len=512, heads=32, kv_heads=8, head_dim=128,
                                  dtype="bf16", causal=True))
    assert {"mask_tril", "mask_where", "mask_add"} <= set(pre.details["parts"])


def test_broadcast_kernel_is_element_or_byte_bound_hand_worked():
    """repeat_interleave of K/V along heads, b16 x 8 -> 32 heads x 16384 x 128 bf16 (H100
    measured 2208 us, h100-2026-12-07-repeat-kv.json): 1.07 G output elements x 2.06 ps =
    2.21 ms beats 2.69 GB at 0.656 x the streaming rate; an fp32 repeat (b4 x 16384: 268 M
    elements, 1.34 GB; measured 710 us, math-sdpa.log) is byte-bound."""
    from archsim.blocks.gpu.model import _elementwise, dram_time
    spec = load_arch(REPO / "arch_configs" / "gpu" / "h100-sxm.toml").components["gpu"]
    eff = spec.efficiency
    n = 16 * 32 * 16384 * 128
    p = _elementwise(spec, "attention", n, n * 2 + n // 4 * 2, n // 4 * 2, 0.0, "bf16", "broadcast")
    assert p.details["issue_s"] == pytest.approx(n * eff.broadcast_ns_per_element * 1e-9)
    assert p.latency_s == pytest.approx(p.details["issue_s"] + spec.launch_overhead_us * 1e-6)
    assert p.latency_s == pytest.approx(2208e-6, rel=0.05)
    n = 4 * 32 * 16384 * 128
    nbytes = n * 4 + n // 4 * 4
    p = _elementwise(spec, "attention", n, nbytes, n // 4 * 4, 0.0, "fp32", "broadcast")
    assert p.details["memory_s"] == pytest.approx(dram_time(spec, nbytes, eff.broadcast_dram_fraction))
    assert p.details["memory_s"] > p.details["issue_s"]
    assert p.latency_s == pytest.approx(710e-6, rel=0.05)


def test_memory_efficient_decode_does_not_split_kv_hand_worked():
    """SDPA's memory-efficient kernel runs one CTA per (batch, head) in decode, streaming the
    head's whole K/V: b1 x 8 heads x 131072 x 128 bf16 -> 67.1 MB per CTA at 15 GB/s = 4.47 ms
    (H100 measured 4.09 ms, h100-2026-12-07-run-b), while the split-KV kernels stream the
    537 MB total at the DRAM rate (~0.2 ms)."""
    spec = load_arch(REPO / "arch_configs" / "gpu" / "h100-sxm.toml",
                     {"components.gpu.kernels.attention": "efficient"}).components["gpu"]
    op = Attention(batch=1, q_len=1, kv_len=131072, heads=8, kv_heads=8, head_dim=128, dtype="bf16")
    p = predict(spec, op)
    per_cta = 2 * 131072 * 128 * 2 / 15e9
    assert p.details["memory_s"] == pytest.approx(per_cta)
    assert per_cta < p.latency_s < per_cta * 1.01 + 20e-6
    cudnn = predict(load_arch(REPO / "arch_configs" / "gpu" / "h100-sxm.toml",
                              {"components.gpu.kernels.attention": "cudnn"}).components["gpu"], op)
    assert cudnn.latency_s < 0.1 * p.latency_s
    # with enough CTAs the DRAM stream binds again: 32 x 16 heads
    big = Attention(batch=32, q_len=1, kv_len=4096, heads=16, kv_heads=16, head_dim=128, dtype="bf16")
    pb = predict(spec, big)
    assert pb.details["memory_s"] > 2 * 4096 * 128 * 2 / 15e9
