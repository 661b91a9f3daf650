"""What a host link is priced from: the PCIe link (energy per bit from the tech table) and the
SSD's idle power while it is the offload target. No area: the PCIe PHY sits on the device's die
(a GPU's fixed die area already holds it) and the SSD and the host's memory are off the
device; the host's CPU memory is the host's and is not charged."""
from __future__ import annotations

from archsim.blocks.base import LinkInterface, Structure
from archsim.blocks.host_link.model import CLOCK_GHZ, LINK_NAME
from archsim.blocks.host_link.spec import KIND, HostLinkSpec, SsdSpec, Spec


def pcie_link(link: HostLinkSpec) -> LinkInterface:
    return LinkInterface(name=LINK_NAME, technology=link.technology(), lanes=link.lanes,
                         bandwidth_gb_s=link.payload_gb_s())


def ssd_structure(ssd: SsdSpec) -> Structure:
    """The offload SSD: its idle power (a bought part's own figure) as static power, no area on
    the device; its active energy is priced per byte (ssd.* actions)."""
    return Structure(name="ssd", kind="ssd", clock_ghz=CLOCK_GHZ, fixed_area_mm2=0.0,
                     fixed_leakage_power_w=ssd.idle_power_w,
                     notes={"source": "SsdSpec.idle_power_w (client NVMe class; paper: Kioxia BG6)"})


def structure(spec: Spec) -> Structure:
    children = (ssd_structure(spec.ssd),) if spec.offload == "ssd" else ()
    return Structure(name="host_link", kind=KIND, clock_ghz=CLOCK_GHZ, links=(pcie_link(spec.pcie),),
                     children=children, fixed_area_mm2=0.0, fixed_leakage_power_w=0.0,
                     notes={"offload": spec.offload,
                            "pcie": f"gen{spec.pcie.generation} x{spec.pcie.lanes}, "
                                    f"{spec.pcie.payload_gb_s():.3g} GB/s per direction; energy per bit "
                                    "from the tech table, an idle link draws none"})
