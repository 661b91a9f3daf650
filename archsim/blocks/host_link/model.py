"""Host link (PCIe), SSD and CPU-memory transfers, shared by V-Rex's KVMU and the GPU baselines'
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

As a component (`kind = "host_link"`) it runs `kv_transfer` ops: a fetch (`to_device`)
occupies `<component>.pcie_rd`, an offload (`to_host`) `<component>.pcie_wr` — PCIe is full
duplex, so the two directions overlap. Actions: the wire bytes over the link
(`link.pcie.bytes`) and the SSD's page traffic (`ssd.read_bytes` / `ssd.write_bytes`), both
priced by the tech table.
"""
from __future__ import annotations

import math

import attrs

from archsim.blocks.base import EvalContext, OpResult, Placement
from archsim.blocks.host_link.ops import KvTransfer
from archsim.blocks.host_link.spec import HostLinkSpec, HostMemorySpec, SsdSpec, Spec
from archsim.errors import ModelError

LINK_NAME = "pcie"                 # the LinkInterface's name: actions "link.pcie.bytes"
CLOCK_GHZ = 1.0                    # a link has no core clock: cycles count nanoseconds


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
        raise ModelError(f"unknown offload source {source!r}; allowed: ssd, cpu_memory")
    return Transfer(time_s=max(link_s, storage_s) + fixed, link_s=link_s, storage_s=storage_s,
                    wire_bytes=float(wire), storage_bytes=float(st_bytes), commands=float(commands))


def transfer_actions(tr: Transfer, *, source: str, direction: str) -> dict[str, float]:
    """The priced traffic of a transfer: wire bytes over the PCIe link, SSD page traffic."""
    act = {f"link.{LINK_NAME}.bytes": tr.wire_bytes}
    if source == "ssd":
        act["ssd.read_bytes" if direction == "to_device" else "ssd.write_bytes"] = tr.storage_bytes
    return act


def transfer_details(tr: Transfer) -> dict:
    return {"link_busy_s": tr.link_s, "storage_s": tr.storage_s, "wire_bytes": tr.wire_bytes,
            "storage_bytes": tr.storage_bytes, "commands": tr.commands}


def check_source(op: KvTransfer, offload: str, component: str) -> None:
    """A kv_transfer must name the offload target the component has attached."""
    if op.source != offload:
        raise ModelError(f"op {op.name or op.KIND!r} moves KV from {op.source!r} but component "
                         f"{component!r} has {offload!r} attached (its offload); set the "
                         f"workload's offload source to {offload!r} or attach {op.source!r}")


def link_resource(component: str, direction: str) -> str:
    """The resource a transfer occupies: one per PCIe direction (full duplex)."""
    return f"{component}.pcie_rd" if direction == "to_device" else f"{component}.pcie_wr"


# ----------------------------------------------------------------------------- component protocol

def supports(spec: Spec, op) -> bool:
    return isinstance(op, KvTransfer)


def evaluate(spec: Spec, op, ctx: EvalContext) -> OpResult:
    if not isinstance(op, KvTransfer):
        raise ModelError(f"host_link cannot run op kind {op.KIND}")
    name = ctx.component_name
    check_source(op, spec.offload, name)
    tr = host_transfer(spec.pcie, op.bytes, op.chunk_bytes, source=op.source, direction=op.direction,
                       ssd=spec.ssd, host_mem=spec.host_memory, region_bytes=op.region_bytes)
    return OpResult(name=op.name or op.KIND, op=op.KIND, component=name,
                    cycles=int(round(tr.time_s * CLOCK_GHZ * 1e9)), latency_s=tr.time_s,
                    dram_bytes=float(op.bytes), bound="link",
                    actions={k: v for k, v in transfer_actions(tr, source=op.source, direction=op.direction).items() if v},
                    details=transfer_details(tr),
                    placement=Placement(resource=link_resource(name, op.direction)))
