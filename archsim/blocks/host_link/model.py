"""Host link (PCIe), SSD and CPU-memory model shared by V-Rex's KVMU and the GPU baselines'
KV offloading (papers/vrex.md §5.3-5.4: same PCIe and offload target on both sides, Tab. I).

A transfer of `payload` bytes in `n_chunks` contiguous pieces costs
  link:    wire bytes / link bandwidth, wire = payload + TLPs x TLP overhead, one TLP per
           `max_payload_bytes` of each piece (PCIe transaction-layer framing);
  storage: SSD — 4 KiB-page reads, an I/O command per piece (or per `max_io_bytes` of it),
           time = max(bytes read / read bandwidth, commands / random-read IOPS); pieces smaller
           than a page inside a region read each touched page once (uniform random selection);
           CPU memory — 64 B-granular DRAM reads at the host memory bandwidth;
and time = max(link, storage) + one link latency (+ the SSD's read latency): the link and the
storage stream concurrently, the fixed latencies are paid once per transfer op.
"""
from __future__ import annotations

import math
from typing import Literal

import attrs

from archsim.config.load import field

PCIE_GB_S_PER_LANE = {3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563}
"""Usable PCIe bandwidth per lane and direction after line coding (gen3-5: 128b/130b;
gen6: FLIT 242/256), PCI-SIG base specs: 8, 16, 32, 64 GT/s per lane."""


@attrs.frozen(kw_only=True)
class HostLinkSpec:
    generation: int = field(3, choices=(3, 4, 5, 6), doc="PCIe generation (V-Rex8 / AGX Orin: 3, V-Rex48 / A100: 4; Tab. I)")
    lanes: int = field(4, choices=(1, 2, 4, 8, 16), doc="PCIe lanes (Tab. I: x4 edge, x16 server)")
    bandwidth_gb_s: float = field(0.0, ge=0.0, doc="per-direction bandwidth; 0 = generation x lanes (Tab. I rounds to 4 / 32 GB/s)")
    max_payload_bytes: int = field(256, ge=64, doc="PCIe max payload size per TLP (common default 256 B)")
    tlp_overhead_bytes: int = field(24, ge=0, doc="framing + header + LCRC per TLP (~20-26 B, PCIe base spec)")
    latency_us: float = field(1.0, ge=0.0, doc="one DMA round trip per transfer op (assumption, ~1 us)")
    power_w_per_lane: float = field(3.0, ge=0.0, doc="PCIe power at full load per lane (paper §VI-A: 3 W per lane)")

    def payload_gb_s(self) -> float:
        return self.bandwidth_gb_s if self.bandwidth_gb_s > 0 else PCIE_GB_S_PER_LANE[self.generation] * self.lanes


@attrs.frozen(kw_only=True)
class SsdSpec:
    """M.2 NVMe SSD (paper: Kioxia BG6; bandwidth from MQSim). Defaults from the Kioxia BG6
    product brief as we recall it (unverified): PCIe 4.0 x4 DRAM-less client drive."""
    read_bandwidth_gb_s: float = field(6.0, gt=0.0, doc="sequential read (BG6 brief: up to ~6 GB/s; unverified)")
    write_bandwidth_gb_s: float = field(5.0, gt=0.0, doc="sequential write (BG6 brief: up to ~5 GB/s; unverified)")
    random_read_iops: float = field(650000.0, gt=0.0, doc="4 KiB random-read IOPS at high queue depth (unverified)")
    page_bytes: int = field(4096, ge=512, doc="read granularity (NVMe LBA / flash page)")
    max_io_bytes: int = field(131072, ge=4096, doc="largest single read command (typical MDTS 128 KiB)")
    read_latency_us: float = field(70.0, ge=0.0, doc="first-read latency (typical TLC NVMe; unverified)")
    idle_power_w: float = field(0.05, ge=0.0, doc="idle power (client NVMe class; active energy is priced per byte by the tech table)")


@attrs.frozen(kw_only=True)
class HostMemorySpec:
    technology: Literal["ddr4", "ddr5", "lpddr5"] = field("ddr4", doc="CPU memory holding offloaded KV (server: DDR4, Tab. I)")
    bandwidth_gb_s: float = field(102.4, gt=0.0, doc="host DRAM bandwidth (4 x DDR4-3200 channels; assumption)")
    access_bytes: int = field(64, ge=1, doc="DRAM access granularity (cache line)")


@attrs.frozen(kw_only=True)
class Transfer:
    time_s: float
    link_s: float
    storage_s: float
    wire_bytes: float
    storage_bytes: float
    commands: float


def host_transfer(link: HostLinkSpec, payload_bytes: float, chunk_bytes: float, *, source: str,
                  direction: str = "to_device", ssd: SsdSpec | None = None,
                  host_mem: HostMemorySpec | None = None, region_bytes: float = 0.0) -> Transfer:
    """Time and traffic of one KV transfer (see the module docstring)."""
    if payload_bytes <= 0:
        return Transfer(time_s=0.0, link_s=0.0, storage_s=0.0, wire_bytes=0.0, storage_bytes=0.0, commands=0.0)
    chunk = max(1.0, min(float(chunk_bytes), float(payload_bytes)))
    n_chunks = math.ceil(payload_bytes / chunk)
    tlps = n_chunks * math.ceil(chunk / link.max_payload_bytes)
    wire = payload_bytes + tlps * link.tlp_overhead_bytes
    link_s = wire / (link.payload_gb_s() * 1e9)
    fixed = link.latency_us * 1e-6
    if source == "ssd":
        s = ssd or SsdSpec()
        page = s.page_bytes
        if chunk < page and region_bytes > payload_bytes:
            per_page = max(1, int(page // chunk))
            pages_region = math.ceil(region_bytes / page)
            p = min(1.0, n_chunks / (region_bytes / chunk))
            pages = pages_region * (1.0 - (1.0 - p) ** per_page)
            commands = pages
        else:
            pages = n_chunks * math.ceil(chunk / page)
            commands = n_chunks * math.ceil(chunk / s.max_io_bytes)
        st_bytes = pages * page
        bw = s.read_bandwidth_gb_s if direction == "to_device" else s.write_bandwidth_gb_s
        storage_s = max(st_bytes / (bw * 1e9), commands / s.random_read_iops)
        fixed += s.read_latency_us * 1e-6 if direction == "to_device" else 0.0
    elif source == "cpu_memory":
        h = host_mem or HostMemorySpec()
        st_bytes = n_chunks * math.ceil(chunk / h.access_bytes) * h.access_bytes
        storage_s = st_bytes / (h.bandwidth_gb_s * 1e9)
        commands = float(n_chunks)
    else:
        raise ValueError(f"unknown offload source {source!r}")
    return Transfer(time_s=max(link_s, storage_s) + fixed, link_s=link_s, storage_s=storage_s,
                    wire_bytes=float(wire), storage_bytes=float(st_bytes), commands=float(commands))
