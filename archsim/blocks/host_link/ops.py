"""Op kinds of the host link block (PCIe to an offload target: CPU memory or an NVMe SSD).

| op | fields |
|---|---|
| `kv_transfer` | `bytes chunk_bytes direction source region_bytes` — move KV between device DRAM and the offload target over the host link (PCIe) |
"""
from __future__ import annotations

import math
from typing import Literal

import attrs

from archsim.config.load import field


@attrs.frozen(kw_only=True)
class KvTransfer:
    """`bytes` of KV moved between device DRAM and the offload target (CPU memory or an SSD)
    over the host link, as `ceil(bytes / chunk_bytes)` contiguous pieces. `chunk_bytes` is what
    cluster-contiguous layout changes: ~32 tokens x 256 B per KV head with the KVMU's cluster-wise
    mapping, one token-head (256 B) when tokens are scattered."""
    KIND = "kv_transfer"
    bytes: int = field(ge=1, doc="payload bytes moved")
    chunk_bytes: int = field(ge=1, doc="size of one contiguous piece (bytes)")
    direction: Literal["to_device", "to_host"] = field("to_device", doc="to_device = fetch, to_host = offload")
    source: Literal["ssd", "cpu_memory"] = field("cpu_memory", doc="where the offloaded KV lives")
    region_bytes: int = field(0, ge=0, doc="size of the offloaded region the pieces are picked from (0 = pieces are independent); sizes SSD page reuse of scattered pieces")
    name: str = ""
    repeat: int = field(1, ge=1)

    def __attrs_post_init__(self):
        if self.chunk_bytes > self.bytes:
            raise ValueError("chunk_bytes must be <= bytes")

    def chunks(self) -> int:
        return math.ceil(self.bytes / self.chunk_bytes)

    def flops(self) -> float:
        return 0.0

    def min_bytes(self) -> float:
        # the device side writes (fetch) or reads (offload) the payload once
        return float(self.bytes)



OPS = {KvTransfer.KIND: KvTransfer}
