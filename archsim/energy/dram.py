"""Off-chip memory, host links and SSDs: energy per byte moved, static power, PHY area.

DRAM:  energy = bytes x 8 x energy_pj_per_bit (device + I/O; not node-scaled: it is off
       the accelerator die); background power = capacity_gib x background_mw_per_gib (only
       when the DramInterface states a capacity); PHY area on the die = bandwidth / per-device
       bandwidth x phy_area_mm2 (a share of a chip's bandwidth owns that share of a PHY;
       PHY/IO area is not node-scaled).
PCIe:  energy = bytes x 8 x energy_pj_per_bit; PHY area = lanes x phy_area_mm2_per_lane.
       An idle link is taken to draw no power (link power is charged per bit moved).
on-chip link: energy = bytes x 8 x pJ/bit/mm x length_mm x (V/V_base)^2.
SSD:   energy per byte = active power / bandwidth (read and write separately).
"""
from __future__ import annotations

from archsim.energy.scaling import wire_energy_factor
from archsim.errors import ModelError
from archsim.units import J_PER_PJ


def dram_tech(table, technology: str):
    try:
        return table.dram[technology]
    except KeyError:
        raise ModelError(f"DRAM technology {technology!r} is not in tech table {table.name!r}; "
                         "allowed: " + ", ".join(table.dram)) from None


def dram_energy_j(*, table, technology: str, n_bytes: float) -> float:
    return n_bytes * 8.0 * dram_tech(table, technology).energy_pj_per_bit * J_PER_PJ


def dram_devices(*, table, technology: str, bandwidth_gb_s: float) -> float:
    """Devices / stacks' worth of interface for `bandwidth_gb_s` (fractional: a block that
    uses a share of a chip's DRAM bandwidth owns that share of a PHY; 0 without bandwidth)."""
    if bandwidth_gb_s <= 0:
        return 0.0
    return bandwidth_gb_s / dram_tech(table, technology).bandwidth_gb_s


def dram_phy_area_mm2(*, table, technology: str, bandwidth_gb_s: float) -> float:
    """PHY area proportional to bandwidth: bandwidth / per-device bandwidth x PHY per device."""
    n = dram_devices(table=table, technology=technology, bandwidth_gb_s=bandwidth_gb_s)
    return n * dram_tech(table, technology).phy_area_mm2


def dram_background_power_w(*, table, technology: str, capacity_gib: float) -> float:
    return capacity_gib * dram_tech(table, technology).background_mw_per_gib * 1e-3


LINK_TECHS = ("pcie3", "pcie4", "pcie5", "pcie6", "onchip")


def link_energy_j(*, table, technology: str, n_bytes: float, length_mm: float = 1.0,
                  vdd_v: float) -> float:
    if technology == "onchip":
        return (n_bytes * 8.0 * table.onchip_pj_per_bit_mm * length_mm
                * wire_energy_factor(vdd_v=vdd_v, table=table) * J_PER_PJ)
    if technology in table.pcie:
        return n_bytes * 8.0 * table.pcie[technology].energy_pj_per_bit * J_PER_PJ
    raise ModelError(f"link technology {technology!r} is not priced by tech table {table.name!r}; "
                     "allowed: " + ", ".join(LINK_TECHS))


def link_phy_area_mm2(*, table, technology: str, lanes: int) -> float:
    if technology == "onchip":
        return 0.0      # wires run over the logic; their area is in the overhead factor
    if technology in table.pcie:
        return lanes * table.pcie[technology].phy_area_mm2_per_lane
    raise ModelError(f"link technology {technology!r} is not in tech table {table.name!r}; "
                     "allowed: " + ", ".join(LINK_TECHS))


def ssd_energy_j(*, table, n_bytes: float, write: bool) -> float:
    s = table.ssd
    if write:
        return n_bytes / (s.write_bandwidth_gb_s * 1e9) * s.write_power_w
    return n_bytes / (s.read_bandwidth_gb_s * 1e9) * s.read_power_w
