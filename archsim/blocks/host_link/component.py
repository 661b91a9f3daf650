"""The host link as a component (`kind = "host_link"`): a PCIe link from the device to an
offload target (CPU memory or an NVMe SSD). It runs `kv_transfer` ops (any bytes moved over the
link: offloaded KV, or weights streamed in by an offload plan) with the transfer model of
model.py, on its own resource `<name>.pcie`, so transfers overlap the device's compute in the
schedule. An arch with one may hold an LLM larger than device memory (archsim.memory_plan)."""
from __future__ import annotations

from typing import Literal

import attrs

from archsim.blocks.base import EvalContext, LinkInterface, OpResult, Placement, Structure
from archsim.blocks.host_link.model import HostLinkSpec, HostMemorySpec, SsdSpec, host_transfer
from archsim.blocks.host_link.ops import KvTransfer
from archsim.config.load import field

KIND = "host_link"


@attrs.frozen(kw_only=True)
class Spec:
    link: HostLinkSpec = HostLinkSpec()
    offload: Literal["cpu_memory", "ssd"] = field("cpu_memory", doc="where offloaded bytes live")
    host_capacity_gib: float = field(512.0, gt=0.0, doc="capacity of the offload target")
    host_memory: HostMemorySpec = HostMemorySpec()
    ssd: SsdSpec = SsdSpec()


def supports(spec: Spec, op) -> bool:
    return isinstance(op, KvTransfer)


def evaluate(spec: Spec, op, ctx: EvalContext | None = None) -> OpResult:
    name = ctx.component_name if ctx is not None else KIND
    tr = host_transfer(spec.link, op.bytes, op.chunk_bytes, source=op.source, direction=op.direction,
                       ssd=spec.ssd, host_mem=spec.host_memory, region_bytes=op.region_bytes)
    actions = {"link.pcie.bytes": tr.wire_bytes}
    if op.source == "ssd":
        actions["ssd.read_bytes" if op.direction == "to_device" else "ssd.write_bytes"] = tr.storage_bytes
    clock = 1.0
    return OpResult(name=op.name or op.KIND, op=op.KIND, component=name,
                    cycles=int(round(tr.time_s * clock * 1e9)), latency_s=tr.time_s, flops=0.0,
                    dram_bytes=0.0, bound="link", actions=actions,
                    details={"link_busy_s": tr.link_s, "storage_s": tr.storage_s, "wire_bytes": tr.wire_bytes,
                             "storage_bytes": tr.storage_bytes, "payload_gb_s": spec.link.payload_gb_s()},
                    placement=Placement(resource=f"{name}.pcie"), clock_ghz=clock)


def structure(spec: Spec) -> Structure:
    return Structure(name=KIND, kind=KIND, clock_ghz=1.0,
                     links=(LinkInterface(name="pcie", technology=f"pcie{spec.link.generation}",
                                          lanes=spec.link.lanes, bandwidth_gb_s=spec.link.payload_gb_s()),),
                     notes={"model": "PCIe link + offload target (archsim.blocks.host_link.model)"})


def roofline_peaks(spec: Spec, op) -> tuple[float, float]:
    return 0.0, spec.link.payload_gb_s() * 1e9
