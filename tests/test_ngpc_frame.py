"""NGPC end to end: generator op counts, the MLP engine and a whole tiny frame checked by hand,
and `reproduce ngpc` producing every required row (quick mode, a stand-in roofline GPU so the
test does not depend on the GPU team's calibration)."""
from __future__ import annotations

import math
import sys
import types
from pathlib import Path

import attrs
import numpy as np
import pytest

from archsim.blocks.ngpc import model as ngpc
from archsim.blocks.base import EvalContext, OpResult
from archsim.config.arch import load_arch
from archsim.config.load import field
from archsim.blocks.ngpc import kernels as hg
from archsim.blocks.ngpc.generator import Params, expand, sample_batch

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "arch_configs" / "ngpc"


# ----------------------------------------------------------------------------- a stand-in GPU

def _roofline_gpu_module():
    """Roofline GPU: latency = max(flops / 17.8 TFLOP/s, bytes / 468 GB/s) + 5 us per launch."""
    mod = types.ModuleType("archsim_test_roofline_gpu")

    @attrs.frozen(kw_only=True)
    class Spec:
        peak_tflops: float = field(17.8, gt=0.0)
        bandwidth_gb_s: float = field(468.0, gt=0.0)
        launch_us: float = field(5.0, ge=0.0)
        die_area_mm2: float = 628.4
        tdp_w: float = 350.0

    def supports(spec, op):
        return True

    def evaluate(spec, op, ctx):
        if op.KIND == "hash_encode":
            nbytes = op.lookups() * op.features_per_level * 2 + op.output_bytes() + op.n_points * op.dims * 4
        else:
            nbytes = op.min_bytes()
        flops = op.flops()
        lat = max(flops / (spec.peak_tflops * 1e12), nbytes / (spec.bandwidth_gb_s * 1e9)) + spec.launch_us * 1e-6
        return OpResult(name=op.name, op=op.KIND, component=ctx.component_name,
                        cycles=int(lat * 1.7e9), latency_s=lat, flops=flops, dram_bytes=nbytes,
                        energy_j=lat * 300.0)

    def structure(spec):
        from archsim.blocks.base import Structure
        return Structure(name="gpu", kind="gpu", clock_ghz=1.7, fixed_area_mm2=628.4,
                         fixed_leakage_power_w=30.0)

    mod.KIND, mod.Spec, mod.supports, mod.evaluate, mod.structure = "gpu", Spec, supports, evaluate, structure
    return mod


@pytest.fixture
def roofline_gpu(monkeypatch, tmp_path):
    from archsim.config import registry
    mod = _roofline_gpu_module()
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setitem(registry.COMPONENT_MODULES, "gpu", mod.__name__)
    p = tmp_path / "roofline-gpu.toml"
    p.write_text('name = "roofline-gpu"\n[components.gpu]\nkind = "gpu"\n')
    return p


def _arch(n, gpu_path, **over):
    o = {"components.ngpc.gpu_preset": str(gpu_path), "components.ngpc.n_nfp": n}
    o.update({f"components.ngpc.{k}": v for k, v in over.items()})
    return load_arch(PRESETS / "base.toml", o)


def _eval(arch, ops):
    from archsim.simulate import evaluate_ops
    from archsim.workloads.load import Workload
    return evaluate_ops(arch, Workload(name="t", ops=tuple(ops)))


# ----------------------------------------------------------------------------- generator

def test_generator_op_counts_and_shapes():
    ops = expand(Params(app="nerf", encoding="hashgrid", resolution="1080p", samples_per_pixel=10.0))
    kinds = [(o.KIND, getattr(o, "stage", "")) for o in ops]
    assert kinds == [("ng_stage", "ray_gen"), ("ng_stage", "ray_march"), ("ng_stage", "sh_encode"),
                     ("hash_encode", ""), ("mlp", ""), ("mlp", ""), ("ng_stage", "composite"),
                     ("ng_stage", "write_back")]
    he = ops[3]
    assert he.n_points == 1920 * 1080 * 10 and he.dims == 3 and he.levels == 16
    assert he.log2_table_size == 19 and he.finest_resolution == 2048 and he.grid == "hash"
    # MACs per sample (padded): NeRF 10,240 (papers/ngpc.md §1.2)
    assert sum(o.macs() for o in ops if o.KIND == "mlp") == he.n_points * 10240
    march = ops[1]
    assert march.repeat == 28 and march.n_elements * march.repeat >= he.n_points
    gia = expand(Params(app="gia", encoding="hashgrid", resolution="8k"))
    he = [o for o in gia if o.KIND == "hash_encode"][0]
    assert he.dims == 2 and he.log2_table_size == 24 and he.n_points == 7680 * 4320
    assert he.finest_resolution == 56718 // 2
    assert sum(o.macs() for o in gia if o.KIND == "mlp") == he.n_points * 7168
    dense = [o for o in expand(Params(app="nsdf", encoding="densegrid")) if o.KIND == "hash_encode"][0]
    assert (dense.levels, dense.features_per_level, dense.finest_resolution, dense.grid) == (8, 2, 173, "dense")
    low = expand(Params(app="nvr", encoding="lowres_densegrid", resolution="4k"))
    he = [o for o in low if o.KIND == "hash_encode"][0]
    assert (he.levels, he.features_per_level, he.base_resolution, he.finest_resolution) == (2, 8, 128, 128)
    assert [o for o in low if o.KIND == "mlp"][0].layers == (16, 64, 64, 16)


@pytest.mark.parametrize("app", ["nerf", "nsdf", "nvr", "gia"])
def test_samplers_are_seeded_and_in_the_unit_cube(app):
    ops = expand(Params(app=app, width_px=64, height_px=48))
    he = [o for o in ops if o.KIND == "hash_encode"][0]
    a = sample_batch(he.sampler, 300, dims=he.dims, seed=3, batch=1)
    b = sample_batch(he.sampler, 300, dims=he.dims, seed=3, batch=1)
    assert a.shape == (300, he.dims) and np.array_equal(a, b)
    assert (a >= 0).all() and (a <= 1).all()
    assert not np.array_equal(a, sample_batch(he.sampler, 300, dims=he.dims, seed=4, batch=1))


# ----------------------------------------------------------------------------- tiny frame by hand

def test_tiny_frame_by_hand(roofline_gpu):
    """GIA, densegrid (8 levels, 2D, all resident), 32 x 16 px = 512 pixels = one batch of 512.

    Encoding: 16 sub-engines / 8 levels -> 2 inputs in parallel, so each sub-engine serves 256
    points x 4 corners = 1024 lookups. With ONE 1-port bank a sub-engine issues one lookup per
    cycle, so a batch streams in exactly 1024 cycles (the fill of 2 + 1 + 6 cycles is paid once
    per frame and removed by the warm-up subtraction). 1 batch on each of... only NFP 0 works:
    batches = ceil(512 / 512) = 1, batches per NFP = ceil(1 / 8) = 1 -> 1024 cycles = 1.024 us.
    Table load: each of the 8 levels (res^2 rounded up to 8 entries x 4 B) x 2 copies x 8 NFPs.

    MLP [16, 64, 64, 16] (densegrid: 8 x 2 = 16 inputs): micro-batch = 256 KiB / (2 x 64 x 2 B)
    = 1024 >= 512, so one pass of 512. WS fold = 2 x 64 + 64 + 512 - 2 = 702 cycles per layer
    (every layer fits one 64 x 64 fold), 3 layers = 2106 cycles. Weights (16x64 + 64x64 +
    64x16) x 2 B = 12,288 B loaded once per NFP: 8 x 12,288 / 936e9 s.

    Frame (overlap): NGPC = 1 x max(1024, 2106) + min(1024, 2106) = 3130 cycles + loads;
    GPU part = sum of the stand-in GPU's stage latencies / 9.94; frame = max(GPU, NGPC) +
    min(GPU, NGPC) / 1 (one wave)."""
    arch = _arch(8, roofline_gpu, batch_points=512, measured_batches=1,
                 **{"encoding.grid_sram_banks": 1})
    spec = arch.components["ngpc"]
    ops = expand(Params(app="gia", encoding="densegrid", width_px=32, height_px=16))
    res = _eval(arch, ops)
    enc = next(r for r in res if r.op == "hash_encode")
    mlp = next(r for r in res if r.op == "mlp")
    assert enc.details["batch_cycles"] == 1024
    assert enc.details["inputs_in_parallel"] == 2 and enc.details["grid_hit_rate"] == 1.0
    he = ops[1]
    _, _, size, _ = hg.level_layout(2, 8, 19, 16, math.exp(math.log(173 / 16) / 7), hg.GRID_DENSE)
    loads = int(size.sum()) * 4 * 2 * 8
    assert enc.details["table_load_bytes"] == loads
    assert enc.latency_s == pytest.approx(1024e-9 + loads / 936e9, rel=1e-12)
    assert he.n_points == 512
    assert mlp.details["micro_batch"] == 512 and mlp.details["batch_cycles"] == 3 * 702
    w_load = 8 * 12288 / 936e9
    assert mlp.latency_s == pytest.approx(2106e-9 + w_load, rel=1e-12)
    gpu_part = sum(r.latency_s for r in res if r.op == "ng_stage")
    stage_gpu = sum(_roofline_gpu_module().evaluate(_roofline_gpu_module().Spec(), o,
                                                    EvalContext(arch=None, component_name="gpu")).latency_s
                    for o in ops if o.KIND == "ng_stage")
    assert gpu_part == pytest.approx(stage_gpu / 9.94, rel=1e-12)
    ft = ngpc.frame_time(spec, res)
    ngpc_s = 3130e-9 + loads / 936e9 + w_load
    assert ft["ngpc_s"] == pytest.approx(ngpc_s, rel=1e-12)
    assert ft["frame_time_s"] == pytest.approx(max(gpu_part, ngpc_s) + min(gpu_part, ngpc_s), rel=1e-12)
    serial = ngpc.frame_time(attrs.evolve(spec, overlap_with_gpu=False), res)
    assert serial["frame_time_s"] == pytest.approx(gpu_part + ngpc_s, rel=1e-12)


def test_more_nfps_never_slower_with_resident_tables(roofline_gpu):
    # with every level resident and the tables multicast once (per-NFP copies of the tables make
    # a tiny frame slower on more NFPs: the load grows with N), more NFPs never hurt the NGPC
    # part. (With SM/NGPC overlap a tiny frame can get slower: fewer waves of N batches leave
    # more of the shorter side exposed, min(T_gpu, T_ngpc) / waves, so we check the serial frame.)
    ops = expand(Params(app="nsdf", encoding="hashgrid", width_px=128, height_px=96))
    prev = None
    for n in (8, 16, 32, 64):
        arch = _arch(n, roofline_gpu, batch_points=256, measured_batches=1, table_broadcast=True,
                     overlap_with_gpu=False, **{"encoding.miss_path": "ideal"})
        t = ngpc.frame_time(arch.components["ngpc"], _eval(arch, ops))["frame_time_s"]
        assert prev is None or t <= prev * (1 + 1e-12)
        prev = t


def test_spilling_tables_cost_dram_traffic(roofline_gpu):
    ops = expand(Params(app="nerf", encoding="hashgrid", width_px=64, height_px=64))
    kw = dict(batch_points=512, measured_batches=1)
    real = _eval(_arch(8, roofline_gpu, **kw), ops)
    ideal = _eval(_arch(8, roofline_gpu, **kw, **{"encoding.miss_path": "ideal"}), ops)
    e_real = next(r for r in real if r.op == "hash_encode")
    e_ideal = next(r for r in ideal if r.op == "hash_encode")
    assert e_real.details["levels_resident"] < 16 == e_ideal.details["levels_resident"]
    assert e_real.details["miss_bytes"] > 0 == e_ideal.details["miss_bytes"]
    assert e_real.details["batch_cycles"] >= e_ideal.details["batch_cycles"]


def test_structure_prices_with_the_energy_layer():
    from archsim.energy.model import area_mm2, leakage_power_w, price_actions
    arch = load_arch(PRESETS / "ngpc-8.toml")
    spec = arch.components["ngpc"]
    one = area_mm2(ngpc.nfp_structure(spec, 1), arch.tech)["total"]
    eight = area_mm2(ngpc.structure(spec), arch.tech)["total"]
    assert one > 0 and eight == pytest.approx(8 * one, rel=1e-9)
    assert leakage_power_w(ngpc.nfp_structure(spec, 1), arch.tech) > 0
    j = price_actions(ngpc.structure(spec), {"sram.grid.read_bytes": 4e6, "mac.fp16": 1e6,
                                             "dram.read_bytes": 1e6, "link.l2.bytes": 1e6}, arch.tech)
    assert all(v > 0 for v in j.values())


# ----------------------------------------------------------------------------- reproduce

def test_reproduce_quick_has_every_required_row(roofline_gpu, tmp_path):
    from archsim.studies import ngpc as study
    res = study.run(tmp_path / "out", gpu_preset=roofline_gpu, quick=True)
    rows = res.rows
    keyed = {(r["quantity"], r["params"]["app"], r["params"]["encoding"], r["params"]["n_nfp"],
              r["params"]["resolution"]) for r in rows}
    for app in study.APPS:
        for enc in study.ENCODINGS:
            for n in study.N_VALUES:
                for r in study.RESOLUTIONS:
                    for q in ("speedup", "fps", "frame_time_s", "encoding_kernel_speedup",
                              "mlp_kernel_speedup", "dram_bandwidth_gb_s"):
                        assert (q, app, enc, n, r) in keyed, (q, app, enc, n, r)
                for q in ("nfp_area_mm2", "nfp_power_w", "area_overhead_pct", "power_overhead_pct"):
                    assert (q, app, enc, n, "1080p") in keyed
            assert ("gpu_encoding_mlp_share_pct", app, enc, 0, "1080p") in keyed
    for r in rows:
        assert set(r["params"]) == {"app", "encoding", "n_nfp", "resolution", "gpu"}
        assert r["study"] == "ngpc" and (r["value"] is None or math.isfinite(r["value"]))
    paired = {(r["quantity"], r["params"]["app"], r["params"]["encoding"]): r for r in rows
              if r["paper_value"] is not None}
    # the calibration targets hold on the stand-in GPU
    assert paired[("gpu_encoding_mlp_share_pct", "mean", "hashgrid")]["value"] == pytest.approx(72.37, abs=0.05)
    assert paired[("frame_time_s", "nerf", "hashgrid")]["value"] == pytest.approx(0.231, rel=1e-3) or \
        any(r["quantity"] == "frame_time_s" and r["params"]["resolution"] == "1080p" and
            r["params"]["n_nfp"] == 0 and r["params"]["app"] == "nerf" and
            r["params"]["encoding"] == "hashgrid" and r["value"] == pytest.approx(0.231, rel=1e-3)
            for r in rows)
    assert ("speedup", "mean", "hashgrid") in paired
    val = {(r["quantity"], r["params"]["app"], r["params"]["encoding"], r["params"]["n_nfp"],
            r["params"]["resolution"]): r["value"] for r in rows}
    area = val[("nfp_area_mm2", "nerf", "hashgrid", 16, "1080p")]
    assert area > 0 and val[("area_overhead_pct", "nerf", "hashgrid", 16, "1080p")] == \
        pytest.approx(16 * area / 628.4 * 100)
    assert val[("power_overhead_pct", "gia", "densegrid", 64, "1080p")] > 0
    assert len(res.plots) == 12 and all(Path(p).is_file() for p in res.plots)
    assert any("calibrated" in n for n in res.notes)


@pytest.mark.parametrize("key,value,fragment", [
    ("components.ngpc.encoding.grid_sram_banks", 6, "power of two"),
    ("components.ngpc.encoding.cache_line_bytes", 48, "power of two"),
    ("components.ngpc.n_nfp", 0, ">= 1"),
    ("components.ngpc.encoding.miss_path", "cache", "allowed values"),
    ("components.ngpc.mlp.dataflow", "rs", "allowed values"),
])
def test_bad_ngpc_knobs_are_config_errors(key, value, fragment):
    from archsim.errors import ConfigError
    with pytest.raises(ConfigError) as exc:
        load_arch(PRESETS / "ngpc-8.toml", {key: value})
    assert fragment in exc.value.message


def test_sampler_errors_are_config_errors():
    from archsim.errors import ConfigError
    from archsim.blocks.ngpc.generator import parse_sampler
    with pytest.raises(ConfigError):
        parse_sampler("teapot spp=1")
    with pytest.raises(ConfigError):
        parse_sampler("nerf spp=-1")
    assert parse_sampler("gia spp=2 width_px=64")["width_px"] == 64


def test_batch_pipeline_by_hand(roofline_gpu):
    """64 x 32 px GIA densegrid = 2048 points = 4 batches of 512 on 2 NFPs -> 2 batches per NFP.
    Per batch: encode 1024 cycles (one 1-port bank, as above), MLP 2106 cycles. Pipelined on one
    NFP: 2 x max(1024, 2106) + min(1024, 2106) = 5236 cycles (the MLP of batch 1 overlaps the
    encoding of batch 2; the first encoding is the fill). Serial engines would take 6260."""
    arch = _arch(2, roofline_gpu, batch_points=512, measured_batches=1,
                 **{"encoding.grid_sram_banks": 1})
    spec = arch.components["ngpc"]
    ops = expand(Params(app="gia", encoding="densegrid", width_px=64, height_px=32))
    res = _eval(arch, ops)
    enc = next(r for r in res if r.op == "hash_encode")
    mlp = next(r for r in res if r.op == "mlp")
    assert enc.details["batches"] == 4 and enc.details["batches_per_nfp"] == 2
    assert enc.details["batch_cycles"] == 1024 and mlp.details["batch_cycles"] == 2106
    loads = enc.details["load_s"] + mlp.details["load_s"]
    ft = ngpc.frame_time(spec, res)
    assert ft["ngpc_s"] == pytest.approx(5236e-9 + loads, rel=1e-12)
    gpu_part = ft["gpu_part_s"]
    # two waves: max(GPU, NGPC) + min(GPU, NGPC) / 2
    assert ft["frame_time_s"] == pytest.approx(max(gpu_part, ft["ngpc_s"]) + min(gpu_part, ft["ngpc_s"]) / 2,
                                               rel=1e-12)
