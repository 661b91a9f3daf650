"""V-Rex component (LXE / DRE / KVMU) and the host link: numbers by hand and invariants."""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import attrs
import pytest

from archsim.blocks.vrex import model as vrex
from archsim.blocks.vrex.structure import core_structure, structure as system_structure
from archsim.blocks.base import EvalContext
from archsim.blocks.host_link.model import HostLinkSpec, HostMemorySpec, host_transfer
from archsim.config.arch import load_arch
from archsim.errors import ConfigError
from archsim.workloads.ops import Gemm
from archsim.blocks.vrex.ops import KvFetch, WicsumSelect

REPO = Path(__file__).resolve().parents[1]
EDGE = REPO / "arch_configs" / "vrex" / "vrex8-edge.toml"
SERVER = REPO / "arch_configs" / "vrex" / "vrex48-server.toml"
ORIN = REPO / "arch_configs" / "gpu" / "vrex-paper" / "jetson-agx-orin-32gb.toml"


@pytest.fixture(scope="module")
def edge():
    return load_arch(EDGE)


def _ctx(arch):
    return EvalContext(arch=arch, component_name="vrex")


def test_peak_matches_tab1(edge):
    # (64 x 64 + 64) MACs x 2 x 0.8 GHz x cores: 53.248 (Tab. I "53.3") and 319.488 ("319.5") TFLOPS
    assert vrex.peak_flops(edge.components["vrex"]) == pytest.approx(53.248e12)
    assert vrex.peak_flops(load_arch(SERVER).components["vrex"]) == pytest.approx(319.488e12)


def test_gemv_is_weight_streaming_by_hand(edge):
    """4096 x 4096 GEMV on V-Rex8: best split = 8 cores over n (512 columns each).
    Per core: B 4096 x 512 x 2 B = 4194304, A 8192, C 1024 -> 4203520 B at
    204.8e9 x 0.9 / 0.8e9 / 8 = 28.8 B/cycle = 145955.6 cycles + 64 fill -> 146020 cycles."""
    r = vrex.evaluate(edge.components["vrex"], Gemm(m=1, k=4096, n=4096, dtype="bf16"), _ctx(edge))
    assert r.cycles == 146020 and r.bound == "memory"
    assert r.latency_s == pytest.approx(146020 / 0.8e9)
    assert r.actions["mac.bf16"] == 4096 * 4096


def test_compute_bound_gemm_never_beats_peak(edge):
    spec = edge.components["vrex"]
    for m in (64, 576, 2304):
        r = vrex.evaluate(spec, Gemm(m=m, k=1024, n=4096, dtype="bf16"), _ctx(edge))
        ideal_s = m * 1024 * 4096 / (spec.cores * spec.lxe.dpe_trees * spec.lxe.dpe_inputs * spec.clock_ghz * 1e9)
        assert r.latency_s >= ideal_s


def test_kv_fetch_bytes_by_hand(edge):
    """40K history, window 8192: offloaded 31808; selected 13080 -> fetched 13080 x 31808 / 40000
    = 10401.216 tokens x 8 heads x 512 B = 42603380.7 B in 32-token pieces of K or V
    (32 x 256 = 8192 B); 11 new tokens evict 11 x 8 x 512 = 45056 B."""
    op = KvFetch(batch=1, kv_len=40000, new_tokens=11, selected=13080, kv_heads=8, head_dim=128)
    kb = vrex.kv_fetch_bytes(edge.components["vrex"], op)
    assert kb["offloaded_tokens"] == 31808
    assert kb["payload_bytes"] == pytest.approx(10401.216 * 8 * 512)
    assert kb["chunk_bytes"] == 8192 and kb["evict_bytes"] == 45056
    # without the KVMU: no window (all offloaded) and pieces of run_tokens tokens
    no = attrs.evolve(edge.components["vrex"], kvmu=attrs.evolve(edge.components["vrex"].kvmu, enabled=False))
    kb2 = vrex.kv_fetch_bytes(no, attrs.evolve(op, run_tokens=2.0))
    assert kb2["offloaded_tokens"] == 40000 and kb2["chunk_bytes"] == 512
    r = vrex.evaluate(edge.components["vrex"], op, _ctx(edge))
    assert r.placement.resource == "vrex.pcie" and r.bound == "link"


def test_host_transfer_by_hand():
    """1 MiB in 8 KiB pieces from CPU memory over PCIe 3.0 x4 (3.94 GB/s): 128 pieces x 32 TLPs
    x 24 B = 98304 B of overhead -> 1146880 wire bytes / 3.94e9 = 291.09 us; host DRAM
    1 MiB / 102.4e9 = 10.2 us; + 1 us latency."""
    link = HostLinkSpec(generation=3, lanes=4)
    t = host_transfer(link, 1 << 20, 8192, source="cpu_memory", host_mem=HostMemorySpec())
    assert t.wire_bytes == 1146880
    assert t.time_s == pytest.approx(1146880 / 3.94e9 + 1e-6)
    # SSD, 16 scattered 256 B pieces out of a 64 KiB region (16 pages of 16 pieces, p = 1/16):
    # pages touched = 16 x (1 - (15/16)^16) = 10.30
    t = host_transfer(link, 4096, 256, source="ssd", region_bytes=65536)
    assert t.storage_bytes == pytest.approx(16 * (1 - (15 / 16) ** 16) * 4096)


def test_more_pcie_bandwidth_is_never_slower():
    from archsim.simulate import simulate
    from archsim.studies.vrex import workload
    from archsim.blocks.vrex.generator import Params
    warnings.simplefilter("ignore")
    for policy in ("vrex", "flexgen", "infinigen"):
        prev = math.inf
        for lanes in (1, 2, 4, 8, 16):
            a = (load_arch(EDGE, {"components.vrex.host_link.lanes": lanes}) if policy == "vrex"
                 else load_arch(ORIN, {"components.host.pcie.lanes": lanes}))
            p = Params(kv_history_tokens=20000, phase="answer" if policy == "infinigen" else "frame",
                       policy=policy, recent_kv_tokens=8192, n_layers=4)
            lat = simulate(a, workload(p)).latency_s
            assert lat <= prev * (1 + 1e-12)
            prev = lat


def test_structure_area_and_power_parts(edge):
    from archsim.energy.model import area_mm2, leakage_power_w
    warnings.simplefilter("ignore")
    spec = edge.components["vrex"]
    core = core_structure(spec)
    a = area_mm2(core, edge.tech)
    for b in ("dpe", "vpe", "lxe_sram", "hcu", "wtu", "kvmu"):
        assert a[f"child.{b}"] > 0
    dre = a["child.hcu"] + a["child.wtu"] + a["child.kvmu"]
    assert 0 < dre / a["total"] < 0.1           # the DRE is a small add-on
    sysa = area_mm2(system_structure(spec), edge.tech)
    assert sysa["total"] > 8 * a["total"] and sysa["link.pcie"] > 0 and sysa["dram_phy"] > 0
    assert leakage_power_w(system_structure(spec), edge.tech) > 8 * leakage_power_w(core, edge.tech)


def test_wtu_cycles_from_op(edge):
    # rows split over 8 WTUs; per row ceil(1250 / 16) = 79 cycles x (1 + 3 buckets) + 8 drain = 324
    op = WicsumSelect(rows=352, clusters=1250, processed_fraction=0.16, buckets_processed=3.0)
    r = vrex.evaluate(edge.components["vrex"], op, _ctx(edge))
    assert r.cycles == 44 * 324 and r.placement.resource == "vrex.wtu"


def test_bad_knob_is_config_error():
    with pytest.raises(ConfigError) as exc:
        load_arch(EDGE, {"components.vrex.host_link.lanes": 3})
    assert exc.value.key == "components.vrex.host_link.lanes"
    with pytest.raises(ConfigError) as exc:
        load_arch(EDGE, {"components.vrex.kvmu.offload": "tape"})
    assert exc.value.key == "components.vrex.kvmu.offload"


def test_simulate_runs_a_vrex_workload_with_energy():
    from archsim.simulate import simulate
    from archsim.workloads.load import load_workload
    warnings.simplefilter("ignore")
    w = load_workload({"generator": "video_llm",
                       "params": {"n_layers": 2, "frames": 1, "answer_tokens": 1, "kv_history_tokens": 20000,
                                  "phase": "frame", "recent_kv_tokens": 8192}})
    rep = simulate(load_arch(EDGE), w)
    assert rep.latency_s > 0 and rep.energy_j is not None and rep.energy_j > 0
