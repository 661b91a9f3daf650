"""Physical sanity invariants over every shipped preset x its example workload (the golden cases)
and over random design points: utilisation <= 100 % per resource, average <= peak power, no op
faster than its bytes over peak bandwidth or its FLOPs over peak compute, idle components cost
leakage only, and a bigger or faster resource never makes a run slower."""
from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from archsim import load_arch, load_workload, simulate

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("make_goldens", HERE / "golden" / "make_goldens.py")
G = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(G)
REPO = G.REPO
EPS = 1e-9


def _run(arch, wl):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return simulate(arch, wl)


def _peaks(arch, cname):
    """(peak FLOP/s, peak DRAM bytes/s) of a component, where its kind gives them; None = n/a."""
    spec, kind = arch.components[cname], arch.component_kinds[cname]
    if kind == "systolic_array":
        return 2.0 * spec.rows * spec.cols * spec.clock_ghz * 1e9, spec.dram_bandwidth_gb_s() * 1e9
    if kind == "gpu":
        rates = [v for v in (getattr(spec.tensor_tflops, d) for d in ("int8", "fp8", "fp16", "bf16", "tf32"))
                 if v is not None] + [spec.vector_fp32_tflops]
        if getattr(spec, "fp16_accumulate_tflops", None):
            rates.append(spec.fp16_accumulate_tflops)
        return max(rates) * 1e12, spec.dram_bandwidth_gb_s * 1e9
    return None, None


CASES = list(G.CASES.items())


@pytest.fixture(scope="module")
def reports():
    out = {}
    for a, w in CASES:
        arch = load_arch(REPO / a)
        out[(a, w)] = (arch, _run(arch, load_workload(REPO / w)))
    return out


@pytest.mark.parametrize("arch_file,wl_file", CASES, ids=[G.case_id(a, w) for a, w in CASES])
def test_invariants_on_shipped_presets(reports, arch_file, wl_file):
    arch, rep = reports[(arch_file, wl_file)]
    t = rep.totals()
    assert math.isfinite(rep.latency_s) and rep.latency_s > 0
    # utilisation <= 100 % per resource and per component
    for u in rep.timeline.resources:
        assert 0.0 <= u.utilization <= 1.0 + EPS, u
    for c in rep.components:
        assert 0.0 <= c.utilization <= 1.0 + EPS, c
    # the makespan is at least the busiest resource and at most the serial sum
    busiest = max(u.busy_s for u in rep.timeline.resources)
    assert busiest <= rep.latency_s * (1 + EPS)
    assert rep.latency_s <= sum(o.latency_s for o in rep.ops) * (1 + EPS)
    # power: 0 <= leakage <= average <= peak; energy = dynamic + leakage x makespan
    assert 0.0 <= t["leakage_power_w"] <= t["avg_power_w"] * (1 + EPS)
    assert t["avg_power_w"] <= t["peak_power_w"] * (1 + EPS)
    assert t["energy_j"] == pytest.approx(t["dynamic_energy_j"] + t["leakage_power_w"] * t["latency_s"], rel=1e-9)
    # every op: non-negative figures; never faster than its FLOPs at peak or its DRAM bytes at peak
    for o in rep.ops:
        assert o.latency_s >= 0 and o.energy_j >= 0 and o.flops >= 0 and o.dram_bytes >= 0, o.name
        if o.resource.split(".")[0] != o.component:
            continue        # run on another component's resource (e.g. NGPC's GPU part)
        peak_f, peak_b = _peaks(arch, o.component)
        if peak_f:
            assert o.latency_s >= o.flops / peak_f * (1 - 1e-6), (o.name, o.latency_s, o.flops / peak_f)
        if peak_b:
            assert o.latency_s >= o.dram_bytes / peak_b * (1 - 1e-6), (o.name, o.latency_s, o.dram_bytes / peak_b)
    # an idle component costs leakage only
    busy = {o.component for o in rep.ops}
    for c in rep.components:
        if c.name not in busy:
            assert c.energy_j == pytest.approx(c.leakage_power_w * rep.latency_s, rel=1e-12)


def _random_systolic_points(n, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        r = int(rng.choice([8, 16, 32, 64, 128]))
        yield {"components.sa.rows": r, "components.sa.cols": int(rng.choice([8, 16, 32, 64, 128])),
               "components.sa.dataflow": str(rng.choice(["os", "ws", "is"])),
               "components.sa.ifmap_sram_kib": float(rng.choice([16, 64, 256, 1024])),
               "components.sa.filter_sram_kib": float(rng.choice([16, 64, 256, 1024])),
               "components.sa.ofmap_sram_kib": float(rng.choice([16, 64, 256, 1024])),
               "components.sa.dram_bandwidth_words_per_cycle": float(rng.choice([2, 8, 32, 128]))}


@pytest.mark.parametrize("point", list(_random_systolic_points(8)), ids=lambda p: "-".join(str(v) for v in p.values()))
def test_bigger_or_faster_memory_never_slower(point):
    """Systolic array on ResNet-18: doubling DRAM bandwidth or any SRAM never adds latency;
    utilisation stays <= 100 % and average power <= peak at every point."""
    base_file = REPO / "arch_configs/systolic/tpu-128x128.toml"
    wl = load_workload(REPO / "workloads/cnn/resnet18.csv")
    base = _run(load_arch(base_file, point), wl)
    assert base.totals()["avg_power_w"] <= base.totals()["peak_power_w"] * (1 + EPS)
    assert all(u.utilization <= 1 + EPS for u in base.timeline.resources)
    for key in ("components.sa.dram_bandwidth_words_per_cycle", "components.sa.ifmap_sram_kib",
                "components.sa.filter_sram_kib", "components.sa.ofmap_sram_kib"):
        bigger = _run(load_arch(base_file, {**point, key: point[key] * 2}), wl)
        assert bigger.latency_s <= base.latency_s * (1 + 1e-12), key


def test_faster_gpu_memory_never_slower():
    wl = load_workload(REPO / "workloads/cnn/resnet50.csv")
    f = REPO / "arch_configs/gpu/h100-sxm.toml"
    arch = load_arch(f)
    base = _run(arch, wl)
    fast = _run(load_arch(f, {"components.gpu.dram_bandwidth_gb_s": 2 * arch.components["gpu"].dram_bandwidth_gb_s}), wl)
    assert fast.latency_s <= base.latency_s * (1 + 1e-12)
