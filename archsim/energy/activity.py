"""Full-activity (structural maximum) power of a block, the tech table's energy ranges at a
node, and the power-density limit the physical-sanity checks use.

`full_activity_power_w(structure, tech)` is what a synthesis report with every unit toggling
gives: every functional unit of `Structure.units` does one operation per cycle of the
structure's clock, every SRAM bank port does one access (the dearer of a read and a write) per
cycle, every DRAM / PCIe / on-chip interface moves data at its full bandwidth (both directions
for PCIe), an offload SSD reads at its active power, and the static power (leakage, DRAM
background) is on. Register files and pipeline registers (`reg_bits` units: area only) are
priced from the rf.* actions ops emit; the "operand_register_bound" part (not in the total)
bounds that traffic: every unit's two operands in and one result out per cycle at register-file
prices.
Children add, `count` multiplies. A block that gives its own figures (a GPU) states its
structural maximum as `Structure.fixed_full_activity_power_w` (the GPU's TDP: its power cap).

No op of a run can draw more than this: the peak of a run's power trace is at most the sum of
its components' full-activity power (tests/test_invariants.py). The average power over a
workload (the Report's `avg_power_w`) is the other figure a paper may quote; the Report names
both (`components[].full_activity_power_w`, `components[].avg_power_w`).
"""
from __future__ import annotations

from typing import Mapping

import warnings

import attrs

from archsim.blocks.base import Structure
from archsim.energy import dram as dram_mod
from archsim.energy.model import (_ledger, _logic_cost, _Ledger, leakage_breakdown_w,
                                  resolve_tech)
from archsim.energy.scaling import ScalingWarning
from archsim.energy.sram import sram_cost
from archsim.energy.tables import LOGIC_OPS
from archsim.units import DTYPE_BYTES, J_PER_PJ

#: Highest sustained on-die power density (W/mm^2) the physical-sanity checks allow. It is a
#: cooling limit, not a node property: ~100 W/cm^2 is what an air- or cold-plate-cooled
#: package removes from a die in volume products. Checks: the H100 / H200 SXM (700 W over an
#: 814 mm^2 die, shared/reference/gpus.md) run at 0.86 W/mm^2, the densest part in the shared
#: reference; A100 400 W / 826 mm^2 = 0.48, RTX 3090 350 W / 628 mm^2 = 0.56 (derived).
POWER_DENSITY_LIMIT_W_PER_MM2 = 1.0
POWER_DENSITY_LIMIT_SOURCE = (
    "cooling limit of about 100 W/cm^2 (1 W/mm^2) for air / cold-plate cooled dies (engineering "
    "rule, low confidence); the densest part in shared/reference/gpus.md, H100/H200 SXM, runs at "
    "700 W / 814 mm^2 = 0.86 W/mm^2 (derived)")

#: Action classes that are on the die (logic, registers, SRAMs); the rest (dram, link.*, ssd)
#: is interface / off-chip energy.
ON_CHIP_CLASSES = ("mac", "add", "mul", "cmp", "xor_popcount", "rf", "sram")


def on_chip_class(cls: str) -> bool:
    """Whether an energy-breakdown class (energy.model.action_class) is on-die."""
    return cls.split(".", 1)[0] in ON_CHIP_CLASSES


def _unit_operand_bytes(key: str) -> float:
    parts = key.split(".")
    if parts[0] in LOGIC_OPS and len(parts) == 2:
        return float(DTYPE_BYTES.get(parts[1], 4 if parts[1].endswith("32") else 2))
    return 0.0


def full_activity_power_w(structure: Structure, tech=None, *, ledger: _Ledger | None = None) -> dict[str, float]:
    """{part: W} of a structure at full activity (module docstring): "logic", "sram", "dram",
    "link", "ssd", "leakage", "fixed" (self-described blocks), "on_chip_dynamic" (logic +
    SRAM), "total", and "operand_register_bound" (not in the total). Children and `count`
    included."""
    led = _ledger(tech, ledger)
    t = led.tech
    table = t.table
    parts = {"logic": 0.0, "sram": 0.0, "dram": 0.0, "link": 0.0, "ssd": 0.0,
             "leakage": 0.0, "fixed": 0.0, "operand_register_bound": 0.0}
    f_hz = structure.clock_ghz * 1e9
    fixed = getattr(structure, "fixed_full_activity_power_w", None)
    if fixed is not None:
        parts["fixed"] = float(fixed)
    else:
        for key, n in structure.units.items():
            p = key.split(".")
            if key == "reg_bits":      # area only: register traffic is priced from rf.* actions
                continue
            if key == "xor_popcount_bits":
                pj = table.xor_popcount_energy_pj_per_bit
            elif p[0] in LOGIC_OPS and len(p) == 2:
                pj = _logic_cost(table, p[0], p[1], key).energy_pj
            else:
                continue
            parts["logic"] += n * pj * t.logic_energy_factor * J_PER_PJ * f_hz
            # bound on operand-register traffic (two operands in, one result out per cycle, at
            # register-file prices): not part of the total, an allowance for blocks that emit rf.*
            # actions without declaring their registers (physical-sanity checks)
            ob = _unit_operand_bytes(key)
            parts["operand_register_bound"] += n * ob * (2 * table.rf_read_pj_per_byte + table.rf_write_pj_per_byte) \
                * t.logic_energy_factor * J_PER_PJ * f_hz
        if structure.srams:
            with warnings.catch_warnings():     # price_run has warned about these numbers already
                warnings.simplefilter("ignore", ScalingWarning)
                for inst in structure.srams:    # the ledger's (cached) cost of each instance
                    c = led.sram(inst)
                    parts["sram"] += (inst.count * inst.banks * inst.ports * max(c.read_pj, c.write_pj)
                                      * J_PER_PJ * f_hz)
        d = structure.dram
        if d is not None and d.bandwidth_gb_s > 0:
            parts["dram"] += dram_mod.dram_energy_j(table=table, technology=d.technology,
                                                    n_bytes=d.bandwidth_gb_s * 1e9)
        for li in structure.links:
            if li.technology == "onchip":
                bw = li.bandwidth_gb_s
            else:
                bw = 2.0 * li.lanes * table.pcie[li.technology].bandwidth_gb_s_per_lane \
                    if li.technology in table.pcie else 2.0 * li.bandwidth_gb_s
            parts["link"] += dram_mod.link_energy_j(table=table, technology=li.technology, n_bytes=bw * 1e9,
                                                    length_mm=li.length_mm, vdd_v=t.vdd_v)
        if structure.kind == "ssd":     # an offload SSD reading or writing at its active power
            parts["ssd"] += max(table.ssd.read_power_w, table.ssd.write_power_w)
        with warnings.catch_warnings():     # price_run has warned about these numbers already
            warnings.simplefilter("ignore", ScalingWarning)
            parts["leakage"] += leakage_breakdown_w(attrs.evolve(structure, children=(), count=1),
                                                    ledger=led)["total"]
    for c in structure.children:
        sub = full_activity_power_w(c, ledger=led)
        for k in parts:
            parts[k] += sub[k]
    parts = {k: v * structure.count for k, v in parts.items()}
    parts["on_chip_dynamic"] = parts["logic"] + parts["sram"]
    parts["total"] = float(sum(v for k, v in parts.items() if k not in ("on_chip_dynamic", "operand_register_bound")))
    return parts


def energy_ranges(tech=None) -> dict[str, tuple[float, float]]:
    """The tech table's (min, max) energy per action at the tech's node and Vdd, over what the
    table holds: "mac_pj" (every MAC dtype), "sram_pj_per_bit" (reads and writes of every
    fitted capacity at 32-1024-bit ports, 1-16 banks, 1-4 ports), "dram_pj_per_bit" (every DRAM
    technology), "link_pj_per_bit" (every PCIe generation)."""
    t = resolve_tech(tech)
    table = t.table
    macs = [c.energy_pj * t.logic_energy_factor for c in table.logic["mac"].values()]
    q = table.sram
    per_bit = []
    for cap in (q.fit_capacity_bytes[0], q.fit_capacity_bytes[-1]):
        for w in (q.fit_width_min_bits, q.fit_width_max_bits):
            for banks in (1, int(q.fit_banks_max_count)):
                for ports in (1, int(q.fit_ports_max_count)):
                    c = sram_cost(capacity_bytes=cap, width_bits=int(w), banks=banks, ports=ports,
                                  node_nm=t.node_nm, vdd_v=t.vdd_v, table=table)
                    per_bit += [c.read_pj / c.width_bits, c.write_pj / c.width_bits]
    drams = [d.energy_pj_per_bit for d in table.dram.values()]
    links = [p.energy_pj_per_bit for p in table.pcie.values()]
    return {"mac_pj": (min(macs), max(macs)), "sram_pj_per_bit": (min(per_bit), max(per_bit)),
            "dram_pj_per_bit": (min(drams), max(drams)), "link_pj_per_bit": (min(links), max(links))}


def on_chip_power_density_w_per_mm2(power_w_by_class: Mapping[str, float], leakage_w: float,
                                    area_mm2: float) -> float:
    """On-die power density: the on-chip classes' power (see ON_CHIP_CLASSES) plus leakage,
    over the die area (0 area -> 0)."""
    if area_mm2 <= 0:
        return 0.0
    p = sum(v for k, v in power_w_by_class.items() if on_chip_class(k)) + leakage_w
    return p / area_mm2
