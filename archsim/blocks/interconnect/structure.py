"""What an interconnect is priced from: nothing static (the links' PHYs sit on the devices'
dies, whose fixed area and idle power already hold them; switch chips are not charged — a
stated gap). Its energy is per bit moved, priced by the model."""
from __future__ import annotations

from archsim.blocks.base import Structure
from archsim.blocks.interconnect.model import CLOCK_GHZ
from archsim.blocks.interconnect.spec import KIND, Spec


def structure(spec: Spec) -> Structure:
    # structural maximum: every port moving data both ways at full bandwidth, priced per bit
    full = spec.ports * 2.0 * spec.bandwidth_gb_s * 1e9 * 8.0 * spec.energy_pj_per_bit * 1e-12
    return Structure(name="interconnect", kind=KIND, clock_ghz=CLOCK_GHZ, fixed_area_mm2=0.0,
                     fixed_leakage_power_w=0.0, fixed_full_activity_power_w=full,
                     notes={"link": f"{spec.technology}, {spec.topology}, {spec.bandwidth_gb_s:g} GB/s per device "
                                    f"per direction, {spec.latency_us:g} us per step; switch chips not charged"})
