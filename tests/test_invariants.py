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


# ----------------------------------------------------------------------------- issue 11: structural bounds

def _full_activity(arch):
    from archsim.energy.activity import full_activity_power_w
    from archsim.energy.model import resolve_tech
    tech = resolve_tech(arch.tech)
    return {n: full_activity_power_w(arch.component_module(n).structure(arch.components[n]), tech)
            for n in arch.component_kinds}


@pytest.mark.parametrize("arch_file,wl_file", CASES, ids=[G.case_id(a, w) for a, w in CASES])
def test_power_never_above_the_structural_maximum(reports, arch_file, wl_file):
    """average <= peak <= the blocks' structural maximum (every MAC and SRAM port busy every
    cycle, interfaces at full bandwidth, leakage; a GPU: its TDP); every op's on-die power <= its
    block's on-die full-activity power; each component's average <= its full-activity power."""
    from archsim.energy.activity import on_chip_class
    arch, rep = reports[(arch_file, wl_file)]
    fa = _full_activity(arch)
    t = rep.totals()
    assert t["avg_power_w"] <= t["peak_power_w"] * (1 + EPS)
    assert t["peak_power_w"] <= sum(v["total"] for v in fa.values()) * (1 + 1e-9)
    for c in rep.components:
        assert c.full_activity_power_w == pytest.approx(fa[c.name]["total"], rel=1e-12)
        assert c.avg_power_w <= c.full_activity_power_w * (1 + 1e-9), c.name
    for o in rep.ops:
        if o.latency_s <= 0 or not o.energy_breakdown_j:
            continue
        on_chip = sum(v for k, v in o.energy_breakdown_j.items() if on_chip_class(k) and k != "rf") / o.latency_s
        rf = o.energy_breakdown_j.get("rf", 0.0) / o.latency_s
        f = fa[o.component]
        if f["on_chip_dynamic"] > 0:
            assert on_chip <= f["on_chip_dynamic"] * (1 + 1e-9), (o.name, on_chip, f)
            assert rf <= f["operand_register_bound"] * (1 + 1e-9), (o.name, rf, f)
        if fa[o.component]["fixed"] > 0:      # a self-described block (GPU): never above its TDP
            assert o.energy_j / o.latency_s <= fa[o.component]["fixed"] * (1 + 1e-9), o.name


@pytest.mark.parametrize("arch_file,wl_file", CASES, ids=[G.case_id(a, w) for a, w in CASES])
def test_energy_per_action_within_the_tech_table(reports, arch_file, wl_file):
    """Energy per MAC, per SRAM bit, per DRAM bit and per PCIe bit of every op priced by the
    energy layer lies within what the tech table holds at the arch's node and Vdd."""
    from archsim.energy.activity import energy_ranges
    arch, rep = reports[(arch_file, wl_file)]
    r = energy_ranges(arch.tech)
    if "self_priced_components" in rep.provenance:
        self_priced = set(rep.provenance["self_priced_components"])
    else:
        self_priced = set()

    def within(v, lo_hi, what):
        lo, hi = lo_hi
        assert lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9), (what, v, lo_hi)
    for o in rep.ops:
        if o.component in self_priced or not o.energy_breakdown_j:
            continue
        br, a = o.energy_breakdown_j, o.actions
        macs = sum(v for k, v in a.items() if k.startswith("mac."))
        if macs > 0 and br.get("mac", 0) > 0:
            within(br["mac"] / macs * 1e12, r["mac_pj"], (o.name, "mac"))
        dram_bits = 8 * (a.get("dram.read_bytes", 0) + a.get("dram.write_bytes", 0))
        if dram_bits > 0:
            within(br["dram"] / dram_bits * 1e12, r["dram_pj_per_bit"], (o.name, "dram"))
        for cls, j in br.items():
            if cls.startswith("sram.") and j > 0:
                bits = 8 * (a.get(f"{cls}.read_bytes", 0) + a.get(f"{cls}.write_bytes", 0))
                within(j / bits * 1e12, r["sram_pj_per_bit"], (o.name, cls))
            if cls.startswith("link.") and j > 0 and f"{cls}.bytes" in a:
                link = cls.split(".", 1)[1]
                if link != "l2":          # on-chip wires are priced per bit and mm, not per PCIe bit
                    within(j / (8 * a[f"{cls}.bytes"]) * 1e12, r["link_pj_per_bit"], (o.name, cls))


@pytest.mark.parametrize("arch_file,wl_file", CASES, ids=[G.case_id(a, w) for a, w in CASES])
def test_power_density_within_what_cooling_allows(reports, arch_file, wl_file):
    """On-die power density (logic, registers, SRAM, leakage over the die area) stays below
    POWER_DENSITY_LIMIT_W_PER_MM2 (its source in archsim/energy/activity.py) on average over the
    run and at full activity; a GPU's TDP over its die area too."""
    from archsim.energy.activity import POWER_DENSITY_LIMIT_W_PER_MM2 as LIMIT
    from archsim.energy.activity import on_chip_power_density_w_per_mm2
    arch, rep = reports[(arch_file, wl_file)]
    fa = _full_activity(arch)
    for c in rep.components:
        area = c.area_mm2 or 0.0
        if area <= 0:
            continue
        if fa[c.name]["fixed"] > 0:        # a GPU: TDP over its published die (if published)
            die = arch.component_module(c.name).structure(arch.components[c.name]).fixed_area_mm2
            if die:
                assert fa[c.name]["fixed"] / die <= LIMIT, c.name
            continue
        phy = sum(v for k, v in c.breakdown["area_mm2"].items() if k == "dram_phy" or k.startswith("link."))
        die = area - phy
        if die <= 0:
            continue
        by_class = {k: v / rep.latency_s for k, v in c.breakdown["energy_j"].items() if k != "leakage"}
        assert on_chip_power_density_w_per_mm2(by_class, c.leakage_power_w, die) <= LIMIT, c.name
        full = (fa[c.name]["on_chip_dynamic"] + fa[c.name]["leakage"]) / die
        assert full <= LIMIT, (c.name, full)


def _structure_peak_flops(arch, cname) -> float:
    """2 x MAC units x clock (+ other ALU units x clock) of a structure-described block."""
    s = arch.component_module(cname).structure(arch.components[cname])

    def walk(st):
        own = sum((2 if k.startswith("mac.") else 1) * n for k, n in st.units.items()
                  if k.split(".")[0] in ("mac", "add", "mul", "cmp")) * st.clock_ghz * 1e9
        return (own + sum(walk(c) for c in st.children)) * st.count
    return walk(s)


@pytest.mark.parametrize("arch_file,wl_file", [c for c in CASES if "ngpc" in c[0] or "vrex" in c[0]],
                         ids=[G.case_id(a, w) for a, w in CASES if "ngpc" in a or "vrex" in a])
def test_ngpc_and_vrex_ops_within_their_peaks(reports, arch_file, wl_file):
    """No NGPC or V-Rex op is faster than its FLOPs at the block's peak (its MAC and ALU units
    every cycle) or its DRAM bytes at the peak DRAM bandwidth."""
    arch, rep = reports[(arch_file, wl_file)]
    for o in rep.ops:
        kind = arch.component_kinds[o.component]
        if kind not in ("ngpc", "vrex") or o.resource.split(".")[0] != o.component:
            continue
        spec = arch.components[o.component]
        bw = (spec.memory.bandwidth_gb_s if kind == "vrex" else spec.dram_bandwidth_gb_s) * 1e9
        if kind == "vrex":
            from archsim.blocks.vrex.model import peak_flops
            peak = max(peak_flops(spec), _structure_peak_flops(arch, o.component))
        else:
            peak = _structure_peak_flops(arch, o.component)
        assert o.latency_s >= o.flops / peak * (1 - 1e-9), (o.name, o.latency_s, o.flops / peak)
        assert o.latency_s >= o.dram_bytes / bw * (1 - 1e-9), (o.name, o.latency_s, o.dram_bytes / bw)


# ----------------------------------------------------------------------------- bigger is never slower

VREX_EDGE = REPO / "arch_configs/vrex/vrex8-edge.toml"
VREX_SERVER = REPO / "arch_configs/vrex/vrex48-server.toml"


def _vrex_step(arch, phase, kv_len, batch, **params):
    return _run(arch, load_workload({"generator": "video_llm", "params": {
        "phase": phase, "kv_history_tokens": kv_len, "batch": batch, "policy": "vrex", **params}}))


@pytest.mark.parametrize("phase", ["frame", "question", "answer"])
@pytest.mark.parametrize("kv_len,batch", [(1000, 1), (40000, 1), (40000, 4), (80000, 8)])
def test_vrex48_server_never_slower_than_vrex8_edge(phase, kv_len, batch):
    """The server (48 cores, HBM2e 1935 GB/s, 80 GB, PCIe 4.0 x16 to CPU memory) never takes
    longer than the edge system (8 cores, LPDDR5 204.8 GB/s, 32 GB, PCIe 3.0 x4 to an SSD) on
    the same step: every resource of the server is the larger one, so no stated limit applies."""
    edge = _vrex_step(load_arch(VREX_EDGE), phase, kv_len, batch)
    server = _vrex_step(load_arch(VREX_SERVER), phase, kv_len, batch)
    assert server.latency_s <= edge.latency_s * (1 + 1e-9), (edge.latency_s, server.latency_s)


@pytest.mark.parametrize("key,factor", [("components.vrex.cores", 2), ("components.vrex.memory.bandwidth_gb_s", 2),
                                        ("components.vrex.host_link.lanes", 2),
                                        ("components.vrex.memory.capacity_gib", 2),
                                        ("components.vrex.lxe.sram_kib", 2)])
@pytest.mark.parametrize("window", ["memory", "tokens"])
def test_vrex_bigger_resource_never_slower(key, factor, window):
    """More cores, DRAM bandwidth, PCIe lanes, device memory or LXE SRAM never make a V-Rex8
    frame or answer step (40K, batch 4) slower, with the memory-derived or the fixed window -
    except by what the stated limit explains: every core streams its own copy of a GEMM's
    activations from DRAM (the paper gives no multi-core scheme; archsim/blocks/vrex/model.py),
    so more cores move more DRAM bytes, and a DRAM-bound step may lose at most their time."""
    base_arch = load_arch(VREX_EDGE, {"components.vrex.kvmu.window": window})
    spec = base_arch.components["vrex"]
    cur = {"components.vrex.cores": spec.cores, "components.vrex.memory.bandwidth_gb_s": spec.memory.bandwidth_gb_s,
           "components.vrex.host_link.lanes": spec.host_link.lanes,
           "components.vrex.memory.capacity_gib": spec.memory.capacity_gib,
           "components.vrex.lxe.sram_kib": spec.lxe.sram_kib}[key]
    big = load_arch(VREX_EDGE, {"components.vrex.kvmu.window": window, key: type(cur)(cur * factor)})
    for phase in ("frame", "answer"):
        a = _vrex_step(base_arch, phase, 40000, 4)
        b = _vrex_step(big, phase, 40000, 4)
        if b.latency_s > a.latency_s * (1 + 1e-9):
            assert key == "components.vrex.cores", (key, phase, a.latency_s, b.latency_s)
            extra = sum(o.dram_bytes for o in b.ops) - sum(o.dram_bytes for o in a.ops)
            rate = spec.memory.bandwidth_gb_s * 1e9 * spec.memory.efficiency
            assert extra > 0 and b.latency_s - a.latency_s <= extra / rate, (phase, a.latency_s, b.latency_s, extra)


@pytest.mark.parametrize("wl", ["workloads/ng/nerf_hashgrid_1080p.toml", "workloads/ng/gia_hashgrid_8k.toml"])
def test_more_nfps_never_slower_unless_the_per_nfp_loads_explain_it(wl):
    """NGPC-2N is never slower than NGPC-N, except by what the stated limit explains: every NFP
    (and every sub-engine copy) loads its own copy of the resident level tables and MLP weights
    (docs/ngpc.md), so a DRAM-bound frame can lose at most the extra loads' time (their bytes
    over the DRAM bandwidth, plus the longer load prologue)."""
    w = load_workload(REPO / wl)
    prev = None
    for n in (8, 16, 32, 64):
        arch = load_arch(REPO / "arch_configs/ngpc/base.toml", {"components.ngpc.n_nfp": n})
        rep = _run(arch, w)
        mine = [o for o in rep.ops if o.component == "ngpc"]
        cur = (rep.latency_s, sum(o.dram_bytes for o in mine), sum(o.placement.prologue_s for o in mine))
        if prev is not None and cur[0] > prev[0]:
            bw = arch.components["ngpc"].dram_bandwidth_gb_s * 1e9
            explained = (cur[1] - prev[1]) / bw + (cur[2] - prev[2])
            assert cur[1] > prev[1] and cur[0] - prev[0] <= explained * (1 + 1e-6), (n, prev, cur)
        prev = cur
