"""The host link's parameters (TOML `kind = "host_link"`): a PCIe link from the device to an
offload target, an M.2 NVMe SSD or the host CPU's memory (papers/vrex.md §5.4, Tab. I).

`HostLinkSpec`, `SsdSpec` and `HostMemorySpec` are also embedded by blocks that own their host
link (V-Rex's KVMU: `[components.vrex.host_link]`, `.ssd`, `.host_memory`); the `host_link`
component (`Spec`) puts the same three beside a device that has none of its own, e.g. the GPU
baselines of the V-Rex study (`[components.host]` with `[mapping] kv_transfer = "host"`).
"""
from __future__ import annotations

from typing import Literal

import attrs

from archsim.config.load import field

KIND = "host_link"

PCIE_GB_S_PER_LANE = {3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563}
"""Usable PCIe bandwidth per lane and direction after line coding (gen3-5: 128b/130b;
gen6: FLIT 242/256), PCI-SIG base specs: 8, 16, 32, 64 GT/s per lane."""

Offload = Literal["ssd", "cpu_memory"]


@attrs.frozen(kw_only=True)
class HostLinkSpec:
    """The PCIe link. Its energy is priced per bit moved by the tech table
    ([link.pcie<generation>] energy_pj_per_bit); an idle link draws no power."""
    generation: int = field(3, choices=(3, 4, 5, 6), doc="PCIe generation (V-Rex8 / AGX Orin: 3, V-Rex48 / A100: 4; Tab. I)")
    lanes: int = field(4, choices=(1, 2, 4, 8, 16), doc="PCIe lanes (Tab. I: x4 edge, x16 server)")
    bandwidth_gb_s: float = field(0.0, ge=0.0, doc="per-direction bandwidth; 0 = generation x lanes (Tab. I rounds to 4 / 32 GB/s)")
    max_payload_bytes: int = field(256, ge=64, doc="PCIe max payload size per TLP (common default 256 B)")
    tlp_overhead_bytes: int = field(24, ge=0, doc="framing + header + LCRC per TLP (~20-26 B, PCIe base spec)")
    latency_us: float = field(1.0, ge=0.0, doc="one DMA round trip per transfer op (assumption, ~1 us)")

    def payload_gb_s(self) -> float:
        return self.bandwidth_gb_s if self.bandwidth_gb_s > 0 else PCIE_GB_S_PER_LANE[self.generation] * self.lanes

    def technology(self) -> str:
        """The tech table's link technology (`link.<technology>`): pcie3 ... pcie6."""
        return f"pcie{self.generation}"


@attrs.frozen(kw_only=True)
class SsdSpec:
    """M.2 NVMe SSD (paper: Kioxia BG6; bandwidth from MQSim). Defaults from the Kioxia BG6
    product brief as we recall it (unverified): PCIe 4.0 x4 DRAM-less client drive. Its active
    energy is priced per byte by the tech table ([ssd] power / bandwidth); its idle power is
    static power of the system while the SSD is the offload target."""
    read_bandwidth_gb_s: float = field(6.0, gt=0.0, doc="sequential read (BG6 brief: up to ~6 GB/s; unverified)")
    write_bandwidth_gb_s: float = field(5.0, gt=0.0, doc="sequential write (BG6 brief: up to ~5 GB/s; unverified)")
    random_read_iops: float = field(650000.0, gt=0.0, doc="4 KiB random-read IOPS at high queue depth (unverified)")
    page_bytes: int = field(4096, ge=512, doc="read granularity (NVMe LBA / flash page)")
    max_io_bytes: int = field(131072, ge=4096, doc="largest single read command (typical MDTS 128 KiB)")
    read_latency_us: float = field(70.0, ge=0.0, doc="first-read latency (typical TLC NVMe; unverified)")
    idle_power_w: float = field(0.05, ge=0.0, doc="idle power (client NVMe class), static power while it is the offload target")


@attrs.frozen(kw_only=True)
class HostMemorySpec:
    technology: Literal["ddr4", "ddr5", "lpddr5"] = field("ddr4", doc="CPU memory holding offloaded KV (server: DDR4, Tab. I)")
    bandwidth_gb_s: float = field(102.4, gt=0.0, doc="host DRAM bandwidth (4 x DDR4-3200 channels; assumption)")
    access_bytes: int = field(64, ge=1, doc="DRAM access granularity (cache line)")


@attrs.frozen(kw_only=True)
class Spec:
    """A host link beside a device that has none of its own (e.g. a GPU baseline): the PCIe
    link, the offload target it reaches and both targets' parameters."""
    offload: Offload = field("ssd", doc="the offload target attached (edge: NVMe SSD, server: CPU memory; Tab. I); kv_transfer ops must name it as their source")
    pcie: HostLinkSpec = HostLinkSpec()
    ssd: SsdSpec = SsdSpec()
    host_memory: HostMemorySpec = HostMemorySpec()
