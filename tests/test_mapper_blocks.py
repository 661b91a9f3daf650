"""The mapper of the NGPC's MLP engine and of V-Rex's LXE (issue 14): hand-worked choices,
search never worse than fixed on its objective, SRAM capacities respected, the naive reference
of the LXE kernel, the Report's per-op mapping, and the knobs' config errors."""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsim.blocks.base import EvalContext
from archsim.blocks.ngpc import model as ngpc
from archsim.blocks.vrex import kernels as vk
from archsim.blocks.vrex import model as vrex
from archsim.config.arch import load_arch
from archsim.energy.model import OpPricer
from archsim.errors import ConfigError
from archsim.workloads.ops import Gemm, Mlp

REPO = Path(__file__).resolve().parents[1]
NGPC8 = REPO / "arch_configs" / "ngpc" / "ngpc-8.toml"
EDGE = REPO / "arch_configs" / "vrex" / "vrex8-edge.toml"


@pytest.fixture(scope="module")
def ngpc_arch():
    return load_arch(NGPC8)


@pytest.fixture(scope="module")
def edge():
    return load_arch(EDGE)


def _with(arch, cname, spec):
    return attrs.evolve(arch, components={**arch.components, cname: spec})


def _ctx(arch, cname):
    return EvalContext(arch=arch, component_name=cname, pricer=OpPricer(arch, cname))


def _energy(arch, cname, r):
    p = OpPricer(arch, cname)
    return p(r.actions) + p.static_w * r.latency_s


# ----------------------------------------------------------------------------- NGPC MLP engine

def _ngpc(arch, *, n_nfp=1, batch_points=64, **mlp):
    s = arch.components["ngpc"]
    return attrs.evolve(s, n_nfp=n_nfp, batch_points=batch_points, mlp=attrs.evolve(s.mlp, **mlp))


def test_mlp_fixed_is_the_default_and_reports_its_mapping(ngpc_arch):
    s = ngpc_arch.components["ngpc"]
    assert s.mlp.mapping == "fixed"
    op = Mlp(batch=8192, layers=(32, 64, 16), dtype="fp16", name="m")
    r = ngpc.evaluate(s, op, _ctx(ngpc_arch, "ngpc"))
    assert r.details["mapping"] == "fixed" and r.details["dataflow"] == s.mlp.dataflow
    assert r.details["transposed"] is False and "mapping_candidates" not in r.details


def test_mlp_mapper_by_hand(ngpc_arch):
    # 8x8 array, one 8 -> 8 layer, 64 points a batch, 2 KiB activation SRAM: the ping-pong limit
    # is 2048 // (2 x 8 x 2 B) = 64 points. Per batch (SCALE-Sim fold timing, R = C = 8):
    #   OS  (fixed): S_R = 64 points, S_C = 8, T = 8: 8 folds x (8 + 8 + 8 - 2) = 176 cycles
    #   WS:          S_R = 8, S_C = 8, T = 64:        1 fold  x (16 + 8 + 64 - 2) = 86
    #   IS:          S_R = 8, S_C = 64, T = 8:        8 folds x (16 + 8 + 8 - 2)  = 240
    #   transposed:  OS-t 176, WS-t 240, IS-t 86 (= WS); smaller micro-batches only add fills
    #   (WS at 32 points: 2 x (16 + 8 + 32 - 2) = 108).
    # The best is WS (listed before IS-t, so it wins the tie) at 86 cycles.
    spec = _ngpc(ngpc_arch, rows=8, cols=8, act_sram_kib=2, dataflow="os", mapping="search")
    arch = _with(ngpc_arch, "ngpc", spec)
    op = Mlp(batch=64, layers=(8, 8), dtype="fp16", name="m")
    assert ngpc.mlp_batch_cycles(spec, op)[0] == 176
    assert ngpc.mlp_batch_cycles(spec, op, "ws")[0] == 86
    assert ngpc.mlp_batch_cycles(spec, op, "is")[0] == 240
    assert ngpc.mlp_batch_cycles(spec, op, "is", transposed=True)[0] == 86
    assert ngpc.mlp_batch_cycles(spec, op, "ws", micro_batch=32)[0] == 108
    r = ngpc.evaluate(spec, op, _ctx(arch, "ngpc"))
    d = r.details
    assert (d["dataflow"], d["transposed"], d["micro_batch"], d["batch_cycles"]) == ("ws", False, 64, 86)
    # one batch on one NFP plus the weight load (8 x 8 x 2 B over 936 GB/s at 1 GHz)
    assert r.cycles == math.ceil(86 + 128 / spec.dram_bandwidth_gb_s)
    assert d["mapping_candidates"]["fixed"] == d["mapping_candidates"]["os"] > d["mapping_candidates"]["ws"]
    fixed = ngpc.evaluate(attrs.evolve(spec, mlp=attrs.evolve(spec.mlp, mapping="fixed")), op, _ctx(arch, "ngpc"))
    assert fixed.details["batch_cycles"] == 176 and fixed.cycles == d["mapping_candidates"]["fixed"]


def test_mlp_micro_batch_search_by_hand(ngpc_arch):
    # one 8 -> 12 layer: the ping-pong limit is 1024 // (2 x 12 x 2) = 21 points, so a batch of 64
    # is 3 x 21 + 1. OS only, not transposed (R = C = 8, fold = 8 + 8 + 8 - 2 = 22, 2 column folds):
    #   21 points: 3 x ceil(21/8) + 1 = 10 row folds -> 10 x 2 x 22 = 440 cycles
    #   16 points: 4 x 2 = 8 row folds               ->  8 x 2 x 22 = 352 (8, 4, 2, 1: more)
    spec = _ngpc(ngpc_arch, rows=8, cols=8, act_sram_kib=1, dataflow="os", mapping="search",
                 mapping_dataflows=("os",), mapping_transpose=False)
    op = Mlp(batch=64, layers=(8, 12), dtype="fp16", name="m")
    assert ngpc.mlp_micro_batch(spec, op) == 21
    assert ngpc.mlp_micro_batches(spec, op) == [21, 16, 8, 4, 2, 1]
    r = ngpc.evaluate(spec, op, _ctx(_with(ngpc_arch, "ngpc", spec), "ngpc"))
    assert (r.details["micro_batch"], r.details["batch_cycles"]) == (16, 352)
    assert ngpc.mlp_batch_cycles(spec, op)[0] == 440


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layers=st.lists(st.integers(1, 200), min_size=2, max_size=5),
       rows=st.sampled_from([4, 8, 16, 64]), cols=st.sampled_from([4, 8, 32, 64]),
       act=st.integers(1, 64), batch_points=st.sampled_from([16, 100, 1024]),
       dataflow=st.sampled_from(["os", "ws", "is"]), objective=st.sampled_from(["cycles", "energy", "edp"]),
       weight_kib=st.sampled_from([1, 64]), timing=st.sampled_from(["fold", "full_utilization"]))
def test_mlp_search_never_worse_than_fixed(ngpc_arch, layers, rows, cols, act, batch_points, dataflow,
                                          objective, weight_kib, timing):
    spec = _ngpc(ngpc_arch, n_nfp=2, batch_points=batch_points, rows=rows, cols=cols, act_sram_kib=act,
                 dataflow=dataflow, weight_sram_kib=weight_kib, timing=timing, mapping="search",
                 mapping_objective=objective)
    arch = _with(ngpc_arch, "ngpc", spec)
    op = Mlp(batch=3 * batch_points + 5, layers=tuple(layers), dtype="fp16", name="m")
    s = ngpc.evaluate(spec, op, _ctx(arch, "ngpc"))
    f = ngpc.evaluate(attrs.evolve(spec, mlp=attrs.evolve(spec.mlp, mapping="fixed")), op, _ctx(arch, "ngpc"))
    score = {"cycles": lambda r: r.cycles, "energy": lambda r: _energy(arch, "ngpc", r),
             "edp": lambda r: _energy(arch, "ngpc", r) * r.latency_s}[objective]
    assert score(s) <= score(f) * (1 + 1e-12)
    assert s.details["mapping_candidates"]["fixed"] == pytest.approx(score(f), rel=1e-12)
    # the micro-batch fits the activation SRAM's two ping-pong halves
    width = max(layers)
    assert 2 * s.details["micro_batch"] * width * 2 <= max(act * 1024, 2 * width * 2)
    assert s.flops == f.flops and s.actions["mac.fp16"] == pytest.approx(f.actions["mac.fp16"])


def test_mlp_report_carries_the_mapping_per_op(ngpc_arch):
    from archsim.simulate import simulate
    from archsim.workloads.load import load_workload
    warnings.simplefilter("ignore")
    arch = load_arch(NGPC8, overrides=["components.ngpc.mlp.mapping=search",
                                       "components.ngpc.mlp.dataflow=os"])
    w = load_workload({"ops": [{"op": "mlp", "batch": 65536, "layers": [32, 64, 16], "dtype": "fp16", "name": "a"},
                               {"op": "mlp", "batch": 65536, "layers": [16, 64, 64, 3], "dtype": "fp16", "name": "b"}]})
    rep = simulate(arch, w).to_dict()
    ops = {o["name"]: o for o in rep["ops"]}
    for name in ("a", "b"):
        d = ops[name]                   # the Report's op entry carries the block's details
        assert d["mapping"] == "search" and d["mapping_objective"] == "cycles"
        assert {"dataflow", "transposed", "micro_batch"} <= set(d)
        assert set(d["mapping_candidates"]) >= {"fixed", "os", "ws", "is", "os-t", "ws-t", "is-t"}
        assert d["mapping_candidates"]["fixed"] >= min(d["mapping_candidates"].values())


# ----------------------------------------------------------------------------- V-Rex LXE

def _lxe_reference(m, k, n, batch, trees, inputs, eb, bpc, fill, a_dram, c_dram, a_stat, mb, nb):
    """Naive twin of kernels.lxe_gemm: walk the mb x nb output blocks, the k-slices and the held
    tiles one by one, bringing A on chip once per block column and B once per block row."""
    compute = a_in = b_in = 0
    for _ in range(batch):
        for i0 in range(0, m, mb):
            rows = min(mb, m - i0)
            b_in += k * n * eb                       # this block row streams all of B
            for j0 in range(0, n, nb):
                cols = min(nb, n - j0)
                if i0 == 0:
                    a_in += m * k * eb               # this block column streams all of A
                for _k0 in range(0, k, inputs):
                    if a_stat:       # tiles of A (rows on the trees) held, the block's columns stream
                        for r0 in range(0, rows, trees):
                            compute += cols
                    else:            # tiles of B (columns on the trees) held, the block's rows stream
                        for c0 in range(0, cols, trees):
                            compute += rows
    dram = b_in + (a_in if a_dram else 0) + (batch * m * n * eb if c_dram else 0)
    return max(compute, dram / bpc) + fill, compute, dram


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 300), k=st.integers(1, 300), n=st.integers(1, 300), batch=st.integers(1, 3),
       trees=st.sampled_from([4, 8, 64]), inputs=st.sampled_from([4, 16, 64]), a_stat=st.booleans(),
       held_tiles=st.integers(1, 4), other=st.integers(1, 300), a_dram=st.booleans(), c_dram=st.booleans())
def test_lxe_gemm_matches_its_naive_reference(m, k, n, batch, trees, inputs, a_stat, held_tiles, other,
                                             a_dram, c_dram):
    # the held side's blocks are whole tiles (a multiple of the trees), as the mapper makes them
    mb, nb = (trees * held_tiles, other) if a_stat else (other, trees * held_tiles)
    mbl, nbl = -(-m // mb), -(-n // nb)
    mb, nb = min(mb, m), min(nb, n)
    args = (m, k, n, batch, trees, inputs, 2, 10.0, 7, a_dram, c_dram, a_stat)
    cyc, comp, dcyc, counts = vk.lxe_gemm.py_func(*args, mbl, nbl)
    rc, rcomp, rdram = _lxe_reference(*args, mb, nb)
    assert comp == rcomp and cyc == pytest.approx(rc) and dcyc * 10.0 == pytest.approx(rdram)
    assert counts[vk.LXE_DRAM_RD] + counts[vk.LXE_DRAM_WR] == pytest.approx(rdram)
    assert counts[vk.LXE_MAC] == batch * m * k * n
    # the compiled kernel agrees with its Python
    c2 = vk.lxe_gemm(*args, mbl, nbl)
    assert c2[0] == cyc and list(c2[3]) == list(counts)


def test_mactree_gemm_is_lxe_gemm_with_the_fixed_blocks():
    for m, k, n, acc in ((576, 1024, 3072, 196608), (11, 4096, 28672, 196608), (4096, 512, 512, 196608),
                         (44, 128, 157, 0)):
        mb, nb = vk.fixed_blocks(m, k, n, 64, acc)
        old = vk.mactree_gemm(m, k, n, 1, 64, 64, acc, 2, 28.8, 64, True, True)
        new = vk.lxe_gemm(m, k, n, 1, 64, 64, 2, 28.8, 64, True, True, False, mb, nb)
        assert old[3] == mb and old[:3] == new[:3] and list(old[4]) == list(new[3])


def _lxe(arch, **kw):
    s = arch.components["vrex"]
    lx = {k: v for k, v in kw.items() if k in attrs.fields_dict(type(s.lxe))}
    top = {k: v for k, v in kw.items() if k not in lx and k != "bandwidth_gb_s"}
    mem = s.memory if "bandwidth_gb_s" not in kw else attrs.evolve(s.memory, bandwidth_gb_s=kw["bandwidth_gb_s"])
    return attrs.evolve(s, lxe=attrs.evolve(s.lxe, **lx), memory=mem, **top)


def test_lxe_loop_order_by_hand(edge):
    # one core, DRAM fast enough to be compute bound. C[128, 65] = A[128, 64] B[64, 65]:
    #   B-stationary: ceil(65/64) x ceil(64/64) = 2 tiles, each held for 128 rows = 256 cycles
    #   A-stationary: ceil(128/64) x 1 = 2 tiles, each held for 65 columns     = 130 cycles
    # plus the 64-cycle fill: 320 fixed, 194 searched.
    spec = _lxe(edge, cores=1, bandwidth_gb_s=1.0e5, mapping="search")
    arch = _with(edge, "vrex", spec)
    op = Gemm(m=128, k=64, n=65, dtype="bf16", name="g")
    r = vrex.evaluate(spec, op, _ctx(arch, "vrex"))
    assert r.details["loop_order"] == "a_stationary" and r.cycles == 194
    assert r.details["mapping_candidates"] == {"fixed": 320.0, "B-stationary, batch/1": 320.0,
                                               "A-stationary, batch/1": 194.0}
    f = vrex.evaluate(attrs.evolve(spec, lxe=attrs.evolve(spec.lxe, mapping="fixed")), op, _ctx(arch, "vrex"))
    assert f.cycles == 320 and f.details["loop_order"] == "b_stationary"


def test_lxe_blocking_by_hand(edge):
    # one core, 384 KiB: 192 KiB = 49152 fp32 accumulators; DRAM 20.48 GB/s x 0.9 / 0.8 GHz =
    # 23.04 B/cycle, so C[1024, 1024] = A[1024, 64] B[64, 1024] is DRAM bound (compute 16384).
    # B-stationary blocks (columns a multiple of 64, rows as many as fit):
    #   64 x 768 -> 2 x 16 blocks, 128 x 384 -> 3 x 8, 256 x 192 -> 6 x 4, 512 x 96 -> 11 x 2,
    #   1024 x 48 -> 22 x 1. DRAM bytes: A once per n-block, B once per m-block, C once:
    #   64 x 1024 x 2 B x (n_blocks + m_blocks) + 2 MiB; 6 x 4 moves the least (10 x 128 KiB);
    #   A-stationary's 4 x 6 moves as much and comes later. Today's rule takes n-blocks of 64
    #   columns (1 x 16: 17 x 128 KiB) whose 1024 x 64 accumulators (256 KiB) do not fit.
    spec = _lxe(edge, cores=1, bandwidth_gb_s=20.48, mapping="search")
    arch = _with(edge, "vrex", spec)
    op = Gemm(m=1024, k=64, n=1024, dtype="bf16", name="g")
    r = vrex.evaluate(spec, op, _ctx(arch, "vrex"))
    d = r.details
    assert (d["loop_order"], d["m_blocks"], d["n_blocks"]) == ("b_stationary", 6, 4)
    bpc = 20.48e9 * 0.9 / 0.8e9
    assert r.cycles == math.ceil((10 * 64 * 1024 * 2 + 1024 * 1024 * 2) / bpc + 64)
    assert d["fits_sram"] is True and d["fixed_fits_sram"] is False and "fixed" not in d["mapping_candidates"]
    f = vrex.evaluate(attrs.evolve(spec, lxe=attrs.evolve(spec.lxe, mapping="fixed")), op, _ctx(arch, "vrex"))
    assert (f.details["m_blocks"], f.details["n_blocks"], f.details["fits_sram"]) == (1, 16, False)
    assert f.cycles == math.ceil((17 * 64 * 1024 * 2 + 1024 * 1024 * 2) / bpc + 64)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=st.integers(1, 3000), k=st.integers(1, 5000), n=st.integers(1, 5000), batch=st.integers(1, 12),
       cores=st.sampled_from([1, 2, 6, 8]), sram=st.sampled_from([32.0, 96.0, 384.0]),
       bw=st.sampled_from([20.0, 204.8, 1.0e5]), objective=st.sampled_from(["cycles", "energy", "edp"]))
def test_lxe_search_never_worse_than_fixed(edge, m, k, n, batch, cores, sram, bw, objective):
    spec = _lxe(edge, cores=cores, sram_kib=sram, bandwidth_gb_s=bw, mapping="search", mapping_objective=objective)
    arch = _with(edge, "vrex", spec)
    op = Gemm(m=m, k=k, n=n, batch=batch, dtype="bf16", name="g")
    s = vrex.evaluate(spec, op, _ctx(arch, "vrex"))
    f = vrex.evaluate(attrs.evolve(spec, lxe=attrs.evolve(spec.lxe, mapping="fixed")), op, _ctx(arch, "vrex"))
    assert s.details["fits_sram"] or not any(s.details["mapping_candidates"])
    assert s.actions["mac.bf16"] == f.actions["mac.bf16"] == batch * m * k * n
    if s.details["fixed_fits_sram"]:
        score = {"cycles": lambda r: r.cycles, "energy": lambda r: _energy(arch, "vrex", r),
                 "edp": lambda r: _energy(arch, "vrex", r) * r.latency_s}[objective]
        assert score(s) <= score(f) * (1 + 1e-12)
        assert s.details["mapping_candidates"]["fixed"] == pytest.approx(score(f), rel=1e-12)


def test_lxe_report_carries_the_mapping_per_op(edge):
    from archsim.simulate import simulate
    from archsim.workloads.load import load_workload
    warnings.simplefilter("ignore")
    arch = load_arch(EDGE, overrides=["components.vrex.lxe.mapping=search",
                                      "components.vrex.lxe.mapping_objective=energy"])
    w = load_workload({"ops": [{"op": "gemm", "m": 576, "k": 1024, "n": 3072, "dtype": "bf16", "name": "fc1"},
                               {"op": "gemm", "m": 11, "k": 4096, "n": 4096, "dtype": "bf16", "name": "o"}]})
    rep = simulate(arch, w).to_dict()
    for d in rep["ops"]:
        assert d["mapping"] == "search" and d["mapping_objective"] == "energy"
        assert d["loop_order"] in ("b_stationary", "a_stationary") and d["fits_sram"] is True
        assert {"core_split", "m_blocks", "n_blocks", "mapping_candidates"} <= set(d)
        assert min(d["mapping_candidates"].values()) <= d["mapping_candidates"]["fixed"]


# ----------------------------------------------------------------------------- config errors

@pytest.mark.parametrize("key,value,allowed", [
    ("components.ngpc.mlp.mapping", "best", "search"),
    ("components.ngpc.mlp.mapping_objective", "area", "edp"),
    ("components.ngpc.mlp.mapping_dataflows", "[\"rs\"]", "ws"),
])
def test_ngpc_mapper_knob_errors(key, value, allowed):
    with pytest.raises(ConfigError) as ei:
        load_arch(NGPC8, overrides=[f"{key}={value}"])
    # a bad list element is named by its index
    assert ei.value.key == key + ("[0]" if value.startswith("[") else "") and allowed in ei.value.message


@pytest.mark.parametrize("key,value,allowed", [
    ("components.vrex.lxe.mapping", "best", "search"),
    ("components.vrex.lxe.mapping_objective", "area", "edp"),
    ("components.vrex.lxe.mapping_orders", "[\"c_stationary\"]", "a_stationary"),
])
def test_vrex_mapper_knob_errors(key, value, allowed):
    with pytest.raises(ConfigError) as ei:
        load_arch(EDGE, overrides=[f"{key}={value}"])
    assert ei.value.key == key + ("[0]" if value.startswith("[") else "") and allowed in ei.value.message


def test_mapper_lists_must_be_distinct_and_non_empty():
    for path, key in ((NGPC8, "components.ngpc.mlp.mapping_dataflows"),
                      (EDGE, "components.vrex.lxe.mapping_orders")):
        for bad in ("[]", '["a_stationary", "a_stationary"]' if "vrex" in key else '["ws", "ws"]'):
            with pytest.raises(ConfigError) as ei:
                load_arch(path, overrides=[f"{key}={bad}"])
            assert ei.value.key == key
