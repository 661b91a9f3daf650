"""Energy layer end to end: hand-computed area / leakage / energy of small structures,
invariants, fixed figures, self-priced ops, price_run on the fake component."""
import math
import warnings

import pytest

from archsim import load_arch, load_workload, simulate
from archsim.blocks.base import (DramInterface, LinkInterface, OpResult, SramInstance,
                                     Structure)
from archsim.config.arch import TechSpec
from archsim.energy.model import (action_class, area_mm2, leakage_power_w, price_actions,
                                  price_run, resolve_tech)
from archsim.energy.scaling import ScalingWarning
from archsim.errors import ModelError

T45 = TechSpec(node_nm=45)          # the table's base node at its base 0.9 V: every factor is 1


def small(count=1, node_children=()):
    return Structure(name="pe", kind="test", clock_ghz=1.0, units={"mac.int8": 16},
                     srams=(SramInstance(name="buf", capacity_bytes=8192, width_bits=64),),
                     dram=DramInterface(technology="lpddr5", bandwidth_gb_s=12.8),
                     links=(LinkInterface(name="host", technology="pcie4", lanes=4),
                            LinkInterface(name="noc", technology="onchip", length_mm=2.0)),
                     count=count, children=node_children)


def test_area_hand_computed():
    a = area_mm2(small(), T45)
    # 16 int8 MACs x 706.04 um^2 = 0.01129664 mm^2 ; 8 KiB 64-bit SRAM (CACTI point) 0.0262817
    assert a["mac.int8"] == pytest.approx(0.01129664)
    assert a["sram.buf"] == pytest.approx(0.0262817)
    assert a["overhead"] == pytest.approx((0.01129664 + 0.0262817) * 0.4)
    assert a["dram_phy"] == pytest.approx(0.725)            # one LPDDR5 x16 channel PHY
    assert a["link.host"] == pytest.approx(4 * 0.48)        # PCIe4 0.48 mm^2 per lane
    assert a["total"] == pytest.approx((0.01129664 + 0.0262817) * 1.4 + 0.725 + 1.92)


def test_leakage_hand_computed():
    # logic: 0.01129664 mm^2 x 10.6 mW/mm^2 = 0.119744 mW ; SRAM 8 KiB: 0.227039 mW
    assert leakage_power_w(small(), T45) == pytest.approx(0.01129664 * 10.6e-3 + 0.227039e-3)


def test_price_actions_hand_computed():
    acts = {"mac.int8": 1000, "sram.buf.read_bytes": 64, "sram.buf.write_bytes": 8,
            "dram.read_bytes": 100, "rf.read_bytes": 4, "link.host.bytes": 10,
            "link.noc.bytes": 10, "cmp.bf16": 2, "xor_popcount_bits": 100, "ssd.read_bytes": 7.45e9}
    e = price_actions(small(), acts, T45)
    assert e["mac.int8"] == pytest.approx(1000 * 0.3e-12)              # 300 pJ
    assert e["sram.buf.read_bytes"] == pytest.approx(8 * 3.16221e-12)  # 64 B = 8 x 64-bit reads
    assert e["sram.buf.write_bytes"] == pytest.approx(3.24418e-12)     # 1 write
    assert e["dram.read_bytes"] == pytest.approx(800 * 6.4e-12)        # 5120 pJ
    assert e["rf.read_bytes"] == pytest.approx(1e-12)                  # 4 B x 0.25 pJ
    assert e["link.host.bytes"] == pytest.approx(80 * 5e-12)           # PCIe 5 pJ/bit
    assert e["link.noc.bytes"] == pytest.approx(80 * 0.121e-12 * 2.0)  # 0.121 pJ/bit/mm x 2 mm
    assert e["cmp.bf16"] == pytest.approx(2 * 0.05e-12)
    assert e["xor_popcount_bits"] == pytest.approx(100 * 0.0075e-12)
    assert e["ssd.read_bytes"] == pytest.approx(6.0)                   # 1 s at 6 W


def test_count_and_children_roll_up():
    one = area_mm2(small(), T45)["total"]
    parent = Structure(name="chip", kind="test", clock_ghz=1.0, children=(small(count=2),), count=3)
    a = area_mm2(parent, T45)
    assert a["child.pe"] == pytest.approx(6 * one) and a["total"] == pytest.approx(6 * one)
    assert leakage_power_w(parent, T45) == pytest.approx(6 * leakage_power_w(small(), T45))


def test_fixed_figures_are_used():
    gpu = Structure(name="gpu", kind="gpu", clock_ghz=1.8, units={"mac.fp16": 10**6},
                    fixed_area_mm2=814.0, fixed_leakage_power_w=60.0)
    assert area_mm2(gpu, T45) == {"fixed": 814.0, "total": 814.0}
    assert leakage_power_w(gpu, T45) == 60.0


@pytest.mark.parametrize("dtype", ["int8", "fp8", "fp16", "bf16", "tf32", "fp32"])
@pytest.mark.parametrize("node", [45, 28, 7])
def test_energy_at_least_macs_times_mac_energy(dtype, node):
    tech = resolve_tech(TechSpec(node_nm=node))
    s = Structure(name="a", kind="t", clock_ghz=1.0, units={f"mac.{dtype}": 4},
                  srams=(SramInstance(name="b", capacity_bytes=4096),))
    acts = {f"mac.{dtype}": 12345, "sram.b.read_bytes": 999}
    total = sum(price_actions(s, acts, tech).values())
    per_mac = tech.table.logic["mac"][dtype].energy_pj * tech.logic_energy_factor * 1e-12
    assert total >= 12345 * per_mac


def test_smaller_node_never_increases_area():
    areas = []
    for node in (45, 32, 28, 22, 16, 14, 10, 7, 5):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScalingWarning)
            s = Structure(name="a", kind="t", clock_ghz=1.0, units={"mac.bf16": 1024, "cmp.fp16": 64},
                          srams=(SramInstance(name="b", capacity_bytes=2**20, width_bits=256, banks=4),))
            areas.append(area_mm2(s, TechSpec(node_nm=node))["total"])
    assert all(b < a for a, b in zip(areas, areas[1:]))


@pytest.mark.parametrize("acts,fragment", [
    ({"mac.int4": 1}, "dtype"), ({"sram.nope.read_bytes": 1}, "no SRAM named"),
    ({"flops": 1}, "unknown action"), ({"link.x.bytes": 1}, "no link named"),
    ({"mac.int8": -1}, ">= 0")])
def test_bad_actions_are_model_errors(acts, fragment):
    with pytest.raises(ModelError, match=fragment):
        price_actions(small(), acts, T45)


def test_dram_action_without_interface_is_model_error():
    s = Structure(name="a", kind="t", clock_ghz=1.0)
    with pytest.raises(ModelError, match="DramInterface"):
        price_actions(s, {"dram.read_bytes": 1}, T45)


def test_action_classes():
    assert [action_class(k) for k in ("mac.int8", "sram.ifmap.read_bytes", "dram.write_bytes",
                                      "link.pcie.bytes", "xor_popcount_bits", "rf.read_bytes")] \
        == ["mac", "sram.ifmap", "dram", "link.pcie", "xor_popcount", "rf"]


ARCH = {"name": "fa", "tech": {"node_nm": 45},
        "components": {"a": {"kind": "fake", "lanes": 16, "clock_ghz": 2.0}}}
WL = {"name": "w", "ops": [
    {"op": "gemm", "m": 4, "k": 8, "n": 2, "dtype": "int8", "name": "g"},            # 64 MACs
    {"op": "elementwise", "n_elements": 100, "dtype": "fp16", "repeat": 3, "name": "e"},  # 300 MACs
]}


def test_simulate_report_carries_energy_area_power(fake_component):
    arch = load_arch({**ARCH, "budget": {"area_mm2": 1.0, "power_w": 0.05}})
    rep = simulate(arch, load_workload(WL))
    g, e = rep.ops
    # g: 64 x 0.3 pJ = 19.2 pJ in 4 cycles @ 2 GHz = 2 ns ; e: 300 x 2.0 pJ = 600 pJ in 10.5 ns
    assert g.energy_j == pytest.approx(19.2e-12) and e.energy_j == pytest.approx(600e-12)
    assert g.energy_breakdown_j == {"mac": pytest.approx(19.2e-12)}
    # static: 16 int8 MACs (0.01129664 mm^2 x 10.6 mW/mm^2) + 1 KiB SRAM (log-log midpoint of
    # the 512 B and 2 KiB CACTI points: sqrt(0.0197312 * 0.0700258) mW)
    static = 0.01129664 * 10.6e-3 + math.sqrt(0.0197312 * 0.0700258) * 1e-3
    assert rep.leakage_power_w == pytest.approx(static)
    lat = 12.5e-9
    assert rep.energy_j == pytest.approx(619.2e-12 + static * lat)
    assert rep.avg_power_w == pytest.approx((619.2e-12 + static * lat) / lat)
    tr = rep.power_trace
    assert [p["op"] for p in tr] == ["g", "e"]
    assert tr[0]["t_start_s"] == 0 and tr[1]["t_start_s"] == pytest.approx(2e-9)
    assert tr[1]["t_end_s"] == pytest.approx(lat)
    assert tr[1]["power_w"] == pytest.approx(600e-12 / 10.5e-9 + static)        # 57.1 mW
    assert rep.peak_power_w == pytest.approx(600e-12 / 10.5e-9 + static)
    # energy over the trace = total energy
    assert sum(p["power_w"] * (p["t_end_s"] - p["t_start_s"]) for p in tr) == pytest.approx(rep.energy_j)
    area = (0.01129664 + math.sqrt(0.00214295 * 0.00754275)) * 1.4
    assert rep.area_mm2 == pytest.approx(area)
    c = rep.components[0]
    assert c.utilization == pytest.approx(1.0) and c.energy_j == pytest.approx(rep.energy_j)
    assert set(c.breakdown["area_mm2"]) == {"mac.int8", "sram.buf", "overhead"}
    assert c.breakdown["energy_j"]["leakage"] == pytest.approx(static * lat)
    # budget: area fine, average power 49.6 mW fine, peak 57.3 mW over the 50 mW limit
    b = rep.budget
    assert b["ok"] is False and b["exceeded"] == ["peak_power_w"]
    prov = rep.provenance
    assert prov["tech_table"] == "default" and prov["node_nm"] == 45 and prov["vdd_v"] == 0.9
    for k in ("logic.mac.int8.energy_pj", "logic.mac.fp16.energy_pj", "logic.mac.int8.area_um2",
              "sram.fit_area_mm2", "logic.leakage.leakage_mw_per_mm2", "logic.overhead.overhead_factor"):
        assert prov["sources"][k]
    assert "logic.mac.bf16.energy_pj" not in prov["sources"]       # only numbers actually used
    d = rep.to_dict()
    assert d["totals"]["area_mm2"] == pytest.approx(area) and d["budget"]["exceeded"] == ["peak_power_w"]


def test_budget_ok_and_area_exceeded(fake_component):
    ok = simulate(load_arch({**ARCH, "budget": {"area_mm2": 1.0, "power_w": 10.0}}), load_workload(WL))
    assert ok.budget["ok"] is True and ok.budget["exceeded"] == []
    bad = simulate(load_arch({**ARCH, "budget": {"area_mm2": 1e-3}}), load_workload(WL))
    assert bad.budget["exceeded"] == ["area_mm2"]
    assert simulate(load_arch(ARCH), load_workload(WL)).budget is None


def test_self_priced_ops_are_kept(fake_component):
    arch = load_arch(ARCH)
    r = OpResult(name="x", op="gemm", component="a", cycles=10, latency_s=1e-6, energy_j=5e-6,
                 energy_breakdown_j={"board": 5e-6})
    pr = price_run(arch, [r])
    assert pr.ops[0] is r
    assert pr.provenance["self_priced_components"] == ["a"]


def test_5nm_run_records_warning_in_provenance(fake_component):
    with pytest.warns(ScalingWarning):
        rep = simulate(load_arch({**ARCH, "tech": {"node_nm": 5, "vdd_v": 0.61}}), load_workload(WL))
    assert any("5 nm" in w for w in rep.provenance["warnings"])
    assert rep.provenance["vdd_v"] == 0.61
    assert "scaling.extension_area_exponent" in rep.provenance["sources"]


def test_self_priced_static_is_not_counted_twice(fake_component, monkeypatch):
    """A GPU-like block: op energy = idle x latency + dynamic, Structure.fixed_leakage = idle.
    The Report total must equal the block's own sum (idle counted once)."""
    idle = 100.0
    monkeypatch.setattr(fake_component, "structure", lambda spec: Structure(
        name="gpu", kind="gpu", clock_ghz=1.0, fixed_area_mm2=800.0, fixed_leakage_power_w=idle))
    arch = load_arch(ARCH)
    rs = [OpResult(name=f"k{i}", op="gemm", component="a", cycles=1, latency_s=1e-3,
                   energy_j=idle * 1e-3 + 0.2, energy_breakdown_j={"static": idle * 1e-3, "compute": 0.2})
          for i in range(3)]
    pr = price_run(arch, rs)
    from archsim.report.report import Report
    rep = Report(archsim_version="t", arch="a", workload="w", ops=pr.ops, components=pr.components,
                 totals=pr.totals, power_trace=pr.power_trace)
    assert rep.energy_j == pytest.approx(3 * (0.1 + 0.2))            # = the block's own total
    assert rep.avg_power_w == pytest.approx(300.0)                   # 0.3 J per ms
    assert rep.area_mm2 == 800.0 and rep.leakage_power_w == idle
    assert "a" in pr.provenance["static_moved_to_leakage"]


def test_fixed_and_empty_structures_are_flagged(fake_component, monkeypatch):
    monkeypatch.setattr(fake_component, "structure", lambda spec: Structure(
        name="x", kind="x", clock_ghz=1.0))
    pr = price_run(load_arch(ARCH), [])
    assert any("area and leakage are 0" in w for w in pr.provenance["warnings"])
    monkeypatch.setattr(fake_component, "structure", lambda spec: Structure(
        name="x", kind="x", clock_ghz=1.0, fixed_area_mm2=1.0))
    pr = price_run(load_arch(ARCH), [])
    assert "do not scale" in pr.provenance["fixed_figures"]["a"]


@pytest.mark.parametrize("seed", range(12))
def test_random_structures_invariants(seed):
    """Random blocks: area never grows at a smaller node, energy is linear in the counts,
    a bigger SRAM never costs less per byte, static power is positive."""
    import numpy as np
    rng = np.random.default_rng(seed)
    dts = ["int8", "fp8", "fp16", "bf16", "tf32", "fp32"]
    dt = dts[int(rng.integers(len(dts)))]
    cap = int(rng.integers(1, 4096)) * 1024
    w = int(2 ** rng.integers(4, 11))
    b, p = int(2 ** rng.integers(0, 5)), int(rng.integers(1, 3))

    def block(c):
        return Structure(name="r", kind="t", clock_ghz=1.0,
                         units={f"mac.{dt}": 1000, f"cmp.{dt}": 16},
                         srams=(SramInstance(name="s", capacity_bytes=c, width_bits=w, banks=b, ports=p,
                                             count=2),))
    acts = {f"mac.{dt}": float(rng.integers(1, 10**9)), "sram.s.read_bytes": float(rng.integers(1, 10**8)),
            "sram.s.write_bytes": float(rng.integers(1, 10**8))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingWarning)
        prev = math.inf
        for node in (45, 32, 22, 14, 7):
            a = area_mm2(block(cap), TechSpec(node_nm=node))["total"]
            assert a <= prev
            prev = a
        tech = TechSpec(node_nm=int(rng.choice([45, 28, 16, 7])))
        e1 = price_actions(block(cap), acts, tech)
        e2 = price_actions(block(cap), {k: 2 * v for k, v in acts.items()}, tech)
        for k in acts:
            assert e2[k] == pytest.approx(2 * e1[k])
        big = price_actions(block(4 * cap), acts, tech)
        assert big["sram.s.read_bytes"] >= e1["sram.s.read_bytes"]
        assert big["sram.s.write_bytes"] >= e1["sram.s.write_bytes"]
        assert leakage_power_w(block(cap), tech) > 0
