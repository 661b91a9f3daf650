"""NGPC end to end on the one engine: the generator's frame graph, the engines and whole frames
checked by hand through `simulate`, the scheduler against the closed form of the frame,
`frames = 2`, NGPC-N scaling, `archsim run` = `archsim reproduce ngpc`, and the study producing
every required row (quick mode, a stand-in roofline GPU so the test does not depend on the GPU
model's calibration)."""
from __future__ import annotations

import json
import math
import sys
import types
from pathlib import Path

import attrs
import numpy as np
import pytest

from archsim.blocks.base import EvalContext, OpResult
from archsim.blocks.ngpc import kernels as hg
from archsim.blocks.ngpc.structure import nfp_structure, structure as ngpc_struct
from archsim.blocks.ngpc.generator import (PREPOST_COST_SCALE_DEFAULT, SPP_DEFAULT, Params, expand,
                                          sample_batch)
from archsim.config.arch import load_arch
from archsim.config.load import field
from archsim.simulate import simulate
from archsim.studies import ngpc as study
from archsim.workloads.load import Workload

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "arch_configs" / "ngpc"
NERF = REPO / "workloads" / "ng" / "nerf_hashgrid_1080p.toml"


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
    """NGPC-N with the stand-in GPU as its GPU component."""
    return study.ngpc_arch(n, gpu_preset=gpu_path,
                           overrides={f"components.ngpc.{k}": v for k, v in over.items()})


def _stand_in_stage_s(op):
    mod = _roofline_gpu_module()
    return mod.evaluate(mod.Spec(), op, EvalContext(arch=None, component_name="gpu")).latency_s / 9.94


def _run(arch, ops, after=None, seed=0):
    return simulate(arch, Workload(name="t", ops=tuple(ops), after=after, seed=seed))


def _frame(**kw):
    g = expand(Params(**kw))
    return g.ops, g.after


# ----------------------------------------------------------------------------- generator

def test_generator_frame_graph():
    ops, after = _frame(app="nerf", encoding="hashgrid", resolution="1080p", samples_per_pixel=10.0)
    kinds = [(o.KIND, getattr(o, "stage", "")) for o in ops]
    assert kinds == [("ng_stage", "ray_gen"), ("ng_stage", "ray_march"), ("ng_stage", "sh_encode"),
                     ("hash_encode", ""), ("mlp", ""), ("mlp", ""), ("ng_stage", "composite"),
                     ("ng_stage", "write_back")]
    # ray_gen -> march, SH; march -> encode -> density MLP -> color MLP (also after SH) -> composite -> write-back
    assert after == ((), (0,), (0,), (1,), (3,), (2, 4), (5,), (6,))
    he = ops[3]
    assert he.n_points == 1920 * 1080 * 10 and he.dims == 3 and he.levels == 16
    assert he.log2_table_size == 19 and he.finest_resolution == 2048 and he.grid == "hash"
    # MACs per sample (padded): NeRF 10,240 (papers/ngpc.md §1.2)
    assert sum(o.macs() for o in ops if o.KIND == "mlp") == he.n_points * 10240
    march = ops[1]
    assert march.launches == 28 and march.n_elements == he.n_points and march.repeat == 1
    gia, gia_after = _frame(app="gia", encoding="hashgrid", resolution="8k")
    assert gia_after == ((), (0,), (1,), (2,))
    he = [o for o in gia if o.KIND == "hash_encode"][0]
    assert he.dims == 2 and he.log2_table_size == 24 and he.n_points == 7680 * 4320
    assert he.finest_resolution == 56718 // 2
    assert sum(o.macs() for o in gia if o.KIND == "mlp") == he.n_points * 7168
    dense = [o for o in _frame(app="nsdf", encoding="densegrid")[0] if o.KIND == "hash_encode"][0]
    assert (dense.levels, dense.features_per_level, dense.finest_resolution, dense.grid) == (8, 2, 173, "dense")
    low, _ = _frame(app="nvr", encoding="lowres_densegrid", resolution="4k")
    he = [o for o in low if o.KIND == "hash_encode"][0]
    assert (he.levels, he.features_per_level, he.base_resolution, he.finest_resolution) == (2, 8, 128, 128)
    assert [o for o in low if o.KIND == "mlp"][0].layers == (16, 64, 64, 16)
    # frames: every op repeated
    assert {o.repeat for o in _frame(app="nsdf", frames=3)[0]} == {3}


def test_a_gpu_only_arch_runs_the_frame_graph_one_kernel_after_another():
    """On the GPU alone every op occupies the SMs: program order, latency = the sum."""
    rep = simulate(load_arch(REPO / "arch_configs/gpu/rtx3090.toml"),
                   study.frame_workload("nsdf", "hashgrid", "1080p", scale=6.0, nerf_spp=1.0))
    assert {o.resource for o in rep.ops} == {"gpu.sm"}
    assert list(rep.timeline.start_s[1:]) == pytest.approx(list(rep.timeline.end_s[:-1]))
    assert rep.latency_s == pytest.approx(sum(o.latency_s for o in rep.ops), rel=1e-12)
    # the sampling loop costs its 28 launches, as 28 kernels of 1/28 of the work each would
    from archsim.blocks.gpu.model import evaluate as gpu_eval
    spec = load_arch(REPO / "arch_configs/gpu/rtx3090.toml").components["gpu"]
    op = study.frame_workload("nsdf", "hashgrid", "1080p", scale=6.0, nerf_spp=1.0).ops[1]
    assert op.launches == 28
    one_launch = attrs.evolve(op, launches=1, bytes_per_element=op.bytes_per_element / 28,
                              flops_per_element=op.flops_per_element / 28)
    assert rep.ops[1].latency_s == pytest.approx(28 * gpu_eval(spec, one_launch).latency_s, rel=1e-12)
    assert rep.ops[1].energy_j + 0 == pytest.approx(28 * gpu_eval(spec, one_launch).energy_j, rel=1e-12) \
        or rep.ops[1].energy_j < 28 * gpu_eval(spec, one_launch).energy_j   # idle share moved to static


@pytest.mark.parametrize("app", ["nerf", "nsdf", "nvr", "gia"])
def test_samplers_are_seeded_and_in_the_unit_cube(app):
    he = [o for o in _frame(app=app, width_px=64, height_px=48)[0] if o.KIND == "hash_encode"][0]
    a = sample_batch(he.sampler, 300, dims=he.dims, seed=3, batch=1)
    b = sample_batch(he.sampler, 300, dims=he.dims, seed=3, batch=1)
    assert a.shape == (300, he.dims) and np.array_equal(a, b)
    assert (a >= 0).all() and (a <= 1).all()
    assert not np.array_equal(a, sample_batch(he.sampler, 300, dims=he.dims, seed=4, batch=1))


# ----------------------------------------------------------------------------- frames by hand

def _tiny_gia(gpu, n_nfp, w, h, **over):
    arch = _arch(n_nfp, gpu, batch_points=512, measured_batches=1, **{"encoding.grid_sram_banks": 1}, **over)
    ops, after = _frame(app="gia", encoding="densegrid", width_px=w, height_px=h)
    return arch, ops, after


def test_tiny_frame_by_hand(roofline_gpu):
    """GIA, densegrid (8 levels, 2D, all resident), 32 x 16 px = 512 pixels = one batch of 512.

    Encoding: 16 sub-engines / 8 levels -> 2 inputs in parallel, so each sub-engine serves 256
    points x 4 corners = 1024 lookups. With ONE 1-port bank a sub-engine issues one lookup per
    cycle, so a batch streams in exactly 1024 cycles (the fill of 2 + 1 + 6 cycles is paid once
    per frame and removed by the warm-up subtraction). batches = ceil(512 / 512) = 1, batches per
    NFP = ceil(1 / 8) = 1 -> 1024 cycles = 1.024 us. Table load: each of the 8 levels (res^2
    rounded up to 8 entries x 4 B) x 2 copies x 8 NFPs.

    MLP [16, 64, 64, 16] (densegrid: 8 x 2 = 16 inputs): micro-batch = 256 KiB / (2 x 64 x 2 B)
    = 1024 >= 512, so one pass of 512. WS fold = 2 x 64 + 64 + 512 - 2 = 702 cycles per layer
    (every layer fits one 64 x 64 fold), 3 layers = 2106 cycles. Weights (16x64 + 64x64 +
    64x16) x 2 B = 12,288 B loaded once per NFP: 8 x 12,288 / 936e9 s.

    One batch per NFP = one chunk: nothing streams, so the frame is its graph in turn:
    pixel grid (GPU / 9.94) -> encoding -> MLP -> write-back (GPU / 9.94)."""
    arch, ops, after = _tiny_gia(roofline_gpu, 8, 32, 16)
    rep = _run(arch, ops, after)
    enc = next(r for r in rep.ops if r.op == "hash_encode")
    mlp = next(r for r in rep.ops if r.op == "mlp")
    assert enc.details["batch_cycles"] == 1024 and enc.placement.chunks == 1
    assert enc.details["inputs_in_parallel"] == 2 and enc.details["grid_hit_rate"] == 1.0
    _, _, size, _ = hg.level_layout(2, 8, 19, 16, math.exp(math.log(173 / 16) / 7), hg.GRID_DENSE)
    loads = int(size.sum()) * 4 * 2 * 8
    assert enc.details["table_load_bytes"] == loads
    assert enc.latency_s == pytest.approx(1024e-9 + loads / 936e9, rel=1e-12)
    assert enc.placement.resource == "ngpc.encoding" and enc.placement.prologue_s == pytest.approx(loads / 936e9)
    assert ops[1].n_points == 512
    assert mlp.details["micro_batch"] == 512 and mlp.details["batch_cycles"] == 3 * 702
    w_load = 8 * 12288 / 936e9
    assert mlp.latency_s == pytest.approx(2106e-9 + w_load, rel=1e-12)
    stages = [r for r in rep.ops if r.op == "ng_stage"]
    assert all(r.component == "gpu" and r.resource == "gpu" for r in stages)
    want_gpu = [_stand_in_stage_s(o) for o in ops if o.KIND == "ng_stage"]
    assert [r.latency_s for r in stages] == pytest.approx(want_gpu, rel=1e-12)
    assert rep.latency_s == pytest.approx(sum(want_gpu) + enc.latency_s + mlp.latency_s, rel=1e-12)


def test_the_scheduler_reproduces_the_frame_formula_on_an_encode_mlp_chain(roofline_gpu):
    """64 x 32 px GIA densegrid = 2048 points = 4 batches of 512 on 2 NFPs -> 2 chunks (batches
    per NFP). Per batch: encode e = 1024 cycles, MLP m = 2106 cycles. The pure encode -> MLP
    chain streams as n * max(e, m) + min(e, m) after the table load (2 x 2106 + 1024 = 5236
    cycles; serial engines would take 6260). The old frame_time added the MLP's weight load
    after the table load as well; here the weight load (0.026 us) runs beside it."""
    arch, ops, _ = _tiny_gia(roofline_gpu, 2, 64, 32)
    rep = _run(arch, ops[1:3], after=((), (0,)))
    enc, mlp = rep.ops
    assert enc.details["batches"] == 4 and enc.placement.chunks == mlp.placement.chunks == 2
    assert enc.details["batch_cycles"] == 1024 and mlp.details["batch_cycles"] == 2106
    le, lw = enc.placement.prologue_s, mlp.placement.prologue_s
    assert lw < le
    assert rep.latency_s == pytest.approx(5236e-9 + le, rel=1e-12)
    old_frame_time = (2 * max(1024, 2106) + min(1024, 2106)) * 1e-9 + le + lw
    assert rep.latency_s == pytest.approx(old_frame_time, abs=lw * (1 + 1e-9))


def test_the_scheduler_reproduces_the_old_frame_time_on_nerf_1080p():
    """NGPC-8, the NeRF 1080p hashgrid frame's encoding and two MLPs as a pure chain: the two MLPs
    interleave on the MLP engine, so the chain takes nb x max(e, m0 + m1) + min(e, m0 + m1) +
    the table load, as the old frame_time (62.50 ms on commit 377d84e) without the MLP weight
    load it added on top (0.17 us)."""
    # the frame of commit 377d84e: pre/post scale 6.02, NeRF 40.65 samples per pixel (the
    # calibration of then; the defaults moved with the RTX 3090's power cap, issue 11)
    wl = study.frame_workload("nerf", "hashgrid", "1080p", scale=6.02, nerf_spp=40.65)
    rep = _run(load_arch(PRESETS / "ngpc-8.toml"), wl.ops[3:6], after=((), (0,), (1,)), seed=wl.seed)
    enc, m0, m1 = rep.ops
    nb = enc.placement.chunks
    e, m = enc.details["batch_cycles"], m0.details["batch_cycles"] + m1.details["batch_cycles"]
    assert nb == 2573 and m > e
    want = (nb * max(e, m) + min(e, m)) * 1e-9 + enc.placement.prologue_s
    assert rep.latency_s == pytest.approx(want, rel=1e-12)
    old = want + m0.placement.prologue_s + m1.placement.prologue_s
    assert rep.latency_s == pytest.approx(old, rel=1e-5)
    assert rep.latency_s == pytest.approx(0.062499, rel=1e-4)


def test_overlap_streams_the_gpu_part_beside_the_nfps(roofline_gpu):
    """The 4-batch GIA frame: with overlap the pixel grid streams into the encoding and the
    write-back out of the MLP (all in 2 chunks); without it the frame is GPU part, NGPC part,
    GPU part in turn."""
    arch, ops, after = _tiny_gia(roofline_gpu, 2, 64, 32)
    serial_arch, *_ = _tiny_gia(roofline_gpu, 2, 64, 32, overlap_with_gpu=False)
    over, serial = _run(arch, ops, after), _run(serial_arch, ops, after)
    pre, post = _stand_in_stage_s(ops[0]), _stand_in_stage_s(ops[3])
    ngpc = _run(arch, ops[1:3], after=((), (0,))).latency_s
    assert serial.latency_s == pytest.approx(pre + ngpc + post, rel=1e-12)
    assert over.latency_s < serial.latency_s
    assert [o.placement.chunks for o in over.ops] == [2, 2, 2, 2]
    # streamed: the pixel grid's first chunk hides under the table load, the write-back's last
    # chunk follows the last MLP batch
    le = over.ops[1].placement.prologue_s
    assert pre / 2 < le
    assert over.latency_s == pytest.approx(ngpc + post / 2, rel=1e-9)


def test_the_nfps_dram_traffic_is_shared_no_faster_than_the_dram():
    """NeRF hashgrid 1080p on NGPC-64: the frame moves the encoding's and the MLPs' DRAM bytes
    together no faster than the 936 GB/s the NGPC shares (each op alone would allow more)."""
    wl = study.frame_workload("nerf", "hashgrid", "1080p", scale=PREPOST_COST_SCALE_DEFAULT,
                              nerf_spp=SPP_DEFAULT["nerf"])
    f = study.ngpc_frame(load_arch(PRESETS / "ngpc-64.toml"), wl)
    assert f["dram_bytes"] / f["ngpc_s"] <= 936e9 * (1 + 1e-9)
    assert f["dram_bytes"] / f["ngpc_s"] == pytest.approx(936e9, rel=1e-3)      # DRAM-bound here


# ----------------------------------------------------------------------------- frames, N

def test_two_frames_double_everything():
    """params.frames = 2: every op (the NGPC's too) does twice the work and the NGPC engines are
    busy twice as long; the frame pair takes twice as long less at most one frame's pipeline
    fill (the second frame streams in behind the first)."""
    arch = load_arch(PRESETS / "ngpc-8.toml", {k: v for k, v in study.QUICK.items()})
    kw = dict(app="nerf", encoding="hashgrid", width_px=256, height_px=192, samples_per_pixel=8.0)
    one, two = (_run(arch, *_frame(frames=f, **kw)) for f in (1, 2))
    for a, b in zip(one.ops, two.ops):
        assert b.latency_s == pytest.approx(2 * a.latency_s, rel=1e-12)
        assert b.energy_j == pytest.approx(2 * a.energy_j, rel=1e-12)
        assert b.dram_bytes == pytest.approx(2 * a.dram_bytes, rel=1e-12)
        assert b.placement.chunks == 2 * a.placement.chunks
    for res in ("ngpc.encoding", "ngpc.mlp", "gpu.sm"):
        assert two.timeline.resource(res).busy_s == pytest.approx(2 * one.timeline.resource(res).busy_s)
    assert two.dynamic_energy_j == pytest.approx(2 * one.dynamic_energy_j, rel=1e-12)
    assert 1.9 * one.latency_s < two.latency_s <= 2 * one.latency_s * (1 + 1e-12)
    assert two.energy_j == pytest.approx(2 * one.energy_j, rel=0.05)


@pytest.mark.parametrize("overlap", [True, False])
def test_more_nfps_never_slower_with_shared_tables(roofline_gpu, overlap):
    # with every level resident and the tables multicast once (per-NFP copies of the tables make
    # a DRAM-bound frame slower on more NFPs: the load grows with N), more NFPs never hurt
    ops, after = _frame(app="nsdf", encoding="hashgrid", width_px=128, height_px=96)
    prev = None
    for n in (8, 16, 32, 64):
        arch = _arch(n, roofline_gpu, batch_points=256, measured_batches=1, table_broadcast=True,
                     overlap_with_gpu=overlap, **{"encoding.miss_path": "ideal"})
        t = _run(arch, ops, after).latency_s
        assert prev is None or t <= prev * (1 + 1e-12)
        prev = t


def test_ngpc_n_presets_are_monotone_in_n_on_nerf_1080p():
    """NGPC-8/16/32/64 on the NeRF 1080p frame with the level tables multicast: twice the NFPs,
    about twice as fast while the NFPs bound the frame. Once the DRAM does (N = 32, 64), more
    NFPs cost only their own copies of the MLP weights (20 KiB each) in the NGPC part, and the
    SMs' post-processing of the last wave of N batches (one chunk) grows with N."""
    wl = study.frame_workload("nerf", "hashgrid", "1080p", scale=PREPOST_COST_SCALE_DEFAULT,
                              nerf_spp=SPP_DEFAULT["nerf"])
    ns = (8, 16, 32, 64)
    f = [study.ngpc_frame(load_arch(PRESETS / f"ngpc-{n}.toml", {"components.ngpc.table_broadcast": True}), wl)
         for n in ns]
    weights = sum(a * b for layers in ((32, 64, 16), (32, 64, 64, 16))
                  for a, b in zip(layers[:-1], layers[1:])) * 2
    for (na, a), (nb, b) in zip(zip(ns, f), zip(ns[1:], f[1:])):
        assert b["ngpc_s"] <= a["ngpc_s"] + (nb - na) * weights / 936e9 * (1 + 1e-9)
        assert b["frame_s"] <= a["frame_s"] * (1 + 1e-3)
    t = [x["frame_s"] for x in f]
    assert t[0] / t[1] > 1.9 and t[1] / t[2] > 1.8


def test_spilling_tables_cost_dram_traffic(roofline_gpu):
    ops, after = _frame(app="nerf", encoding="hashgrid", width_px=64, height_px=64)
    kw = dict(batch_points=512, measured_batches=1)
    real = _run(_arch(8, roofline_gpu, **kw), ops, after)
    ideal = _run(_arch(8, roofline_gpu, **kw, **{"encoding.miss_path": "ideal"}), ops, after)
    e_real = next(r for r in real.ops if r.op == "hash_encode")
    e_ideal = next(r for r in ideal.ops if r.op == "hash_encode")
    assert e_real.details["levels_resident"] < 16 == e_ideal.details["levels_resident"]
    assert e_real.details["miss_bytes"] > 0 == e_ideal.details["miss_bytes"]
    assert e_real.details["batch_cycles"] >= e_ideal.details["batch_cycles"]
    bc = e_real.details["bound_cycles_per_batch"]
    assert e_real.bound == ("dram_miss" if bc["miss_path"] > max(bc["issue"], bc["interpolation"])
                            else "compute") or e_real.bound == "memory"
    assert e_ideal.details["bound_cycles_per_batch"]["miss_path"] == 0.0


# ----------------------------------------------------------------------------- run = reproduce

def test_run_and_reproduce_agree_on_ngpc8_nerf_1080p(tmp_path):
    """`archsim run arch_configs/ngpc/ngpc-8.toml workloads/ng/nerf_hashgrid_1080p.toml` and the
    study's frame for the same parameters are the same simulate: the same numbers. The study's
    fitted parameters are the generator's defaults (to 0.1 %), so its row agrees with run too."""
    from archsim.cli import main
    out = tmp_path / "r.json"
    assert main(["run", str(PRESETS / "ngpc-8.toml"), str(NERF), "--json", str(out),
                 "--out", str(tmp_path / "run")]) == 0
    d = json.loads(out.read_text())
    wl = study.frame_workload("nerf", "hashgrid", "1080p", scale=PREPOST_COST_SCALE_DEFAULT,
                              nerf_spp=SPP_DEFAULT["nerf"])
    f = study.ngpc_frame(study.ngpc_arch(8), wl)
    assert d["totals"]["latency_s"] == pytest.approx(f["frame_s"], rel=1e-12)
    assert d["totals"]["energy_j"] == pytest.approx(f["energy_j"], rel=1e-12)
    assert d["totals"]["latency_s"] == pytest.approx(0.0525, rel=0.01)
    cal = study.calibrate(load_arch(study.GPU_PRESET))
    assert cal["prepost_cost_scale"] == pytest.approx(PREPOST_COST_SCALE_DEFAULT, rel=1e-3)
    assert cal["nerf_spp"] == pytest.approx(SPP_DEFAULT["nerf"], rel=1e-3)
    fitted = study.ngpc_frame(study.ngpc_arch(8), study.frame_workload(
        "nerf", "hashgrid", "1080p", scale=cal["prepost_cost_scale"], nerf_spp=cal["nerf_spp"]))
    assert fitted["frame_s"] == pytest.approx(d["totals"]["latency_s"], rel=1e-3)
    assert fitted["energy_j"] == pytest.approx(d["totals"]["energy_j"], rel=1e-3)
    # the run folder holds the GPU preset the NGPC arch extends
    names = {p.name for p in (tmp_path / "run" / "inputs").rglob("*") if p.is_file()}
    assert {"ngpc-8.toml", "base.toml", "rtx3090.toml", "nerf_hashgrid_1080p.toml"} <= names


# ----------------------------------------------------------------------------- structure, knobs

def test_structure_prices_with_the_energy_layer():
    from archsim.energy.model import area_mm2, leakage_power_w, price_actions
    arch = load_arch(PRESETS / "ngpc-8.toml")
    spec = arch.components["ngpc"]
    one = area_mm2(nfp_structure(spec, 1), arch.tech)["total"]
    eight = area_mm2(ngpc_struct(spec), arch.tech)["total"]
    assert one > 0 and eight == pytest.approx(8 * one, rel=1e-9)
    assert leakage_power_w(nfp_structure(spec, 1), arch.tech) > 0
    j = price_actions(ngpc_struct(spec), {"sram.grid.read_bytes": 4e6, "mac.fp16": 1e6,
                                                       "dram.read_bytes": 1e6, "link.l2.bytes": 1e6}, arch.tech)
    assert all(v > 0 for v in j.values())


def test_sram_widths_follow_the_dtypes():
    arch = load_arch(PRESETS / "ngpc-8.toml", {"components.ngpc.mlp.dtype": "fp32",
                                               "components.ngpc.encoding.feature_dtype": "fp32"})
    s = nfp_structure(arch.components["ngpc"])
    srams = {i.name: i for c in s.children for i in c.srams}
    assert srams["mlp_weight"].width_bits == 32 * 64 and srams["mlp_act"].width_bits == 32 * 64
    assert srams["grid"].width_bits == 32 * 2
    assert "mac.fp32" in s.children[1].units and "mac.fp32" in s.children[0].units
    default = nfp_structure(load_arch(PRESETS / "ngpc-8.toml").components["ngpc"])
    srams = {i.name: i for c in default.children for i in c.srams}
    assert srams["mlp_weight"].width_bits == 16 * 64 and srams["grid"].width_bits == 32


def test_the_ngpc_arch_has_the_gpu_as_a_component():
    arch = load_arch(PRESETS / "ngpc-8.toml")
    assert arch.component_kinds == {"gpu": "gpu", "ngpc": "ngpc"}
    assert arch.components["ngpc"].gpu_component == "gpu"
    assert not hasattr(arch.components["ngpc"], "gpu_preset")


@pytest.mark.parametrize("key,value,fragment", [
    ("components.ngpc.encoding.grid_sram_banks", 6, "power of two"),
    ("components.ngpc.encoding.cache_line_bytes", 48, "power of two"),
    ("components.ngpc.n_nfp", 0, ">= 1"),
    ("components.ngpc.encoding.miss_path", "cache", "allowed values"),
    ("components.ngpc.mlp.dataflow", "rs", "allowed values"),
    ("components.ngpc.gpu_component", "", "gpu"),
    ("components.ngpc.gpu_preset", "../gpu/rtx3090.toml", "unknown"),
])
def test_bad_ngpc_knobs_are_config_errors(key, value, fragment):
    from archsim.errors import ConfigError
    with pytest.raises(ConfigError) as exc:
        load_arch(PRESETS / "ngpc-8.toml", {key: value})
    assert fragment in exc.value.message


def test_a_missing_gpu_component_is_a_config_error():
    from archsim.errors import ConfigError
    arch = load_arch(PRESETS / "ngpc-8.toml", {"components.ngpc.gpu_component": "sm"})
    ops, after = _frame(app="gia", encoding="densegrid", width_px=32, height_px=16)
    with pytest.raises(ConfigError) as exc:
        _run(arch, ops, after)
    assert exc.value.key == "components.ngpc.gpu_component" and "gpu" in exc.value.message


def test_sampler_errors_are_config_errors():
    from archsim.blocks.ngpc.generator import parse_sampler
    from archsim.errors import ConfigError
    with pytest.raises(ConfigError):
        parse_sampler("teapot spp=1")
    with pytest.raises(ConfigError):
        parse_sampler("nerf spp=-1")
    assert parse_sampler("gia spp=2 width_px=64")["width_px"] == 64


# ----------------------------------------------------------------------------- reproduce

def test_reproduce_quick_has_every_required_row(roofline_gpu, tmp_path):
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
        assert set(r["params"]) - {"fitted"} == {"app", "encoding", "n_nfp", "resolution", "gpu", "assumptions"}
        assert r["study"] == "ngpc" and (r["value"] is None or math.isfinite(r["value"]))
    # both preset sets are written, row for row
    sets = {a: [(r["quantity"], tuple(sorted((k, v) for k, v in r["params"].items() if k not in ("assumptions", "fitted"))))
                for r in rows if r["params"]["assumptions"] == a] for a in ("default", "paper")}
    assert sets["default"] and sets["default"] == sets["paper"]
    assert all(r["params"].get("fitted") is not False for r in rows if r["quantity"] == "gpu_mlp_share_pct"
               and r["params"]["app"] == "mean" and r["params"]["assumptions"] == "paper")
    rows = [r for r in rows if r["params"]["assumptions"] == "default"]
    paired = {(r["quantity"], r["params"]["app"], r["params"]["encoding"]): r for r in rows
              if r["paper_value"] is not None}
    # the calibration targets hold on the stand-in GPU
    assert paired[("gpu_encoding_mlp_share_pct", "mean", "hashgrid")]["value"] == pytest.approx(72.37, abs=0.05)
    assert any(r["quantity"] == "frame_time_s" and r["params"]["resolution"] == "1080p" and
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
    for (q, *_k), v in val.items():
        if q == "dram_bandwidth_gb_s":
            assert v <= 936.0 * (1 + 1e-9)
    assert len(res.plots) == 24 and all(Path(p).is_file() for p in res.plots)
    assert any("calibrated" in n for n in res.notes)
