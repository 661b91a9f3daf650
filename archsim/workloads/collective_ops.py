"""Collective op kinds (multi-device runs; priced by the `interconnect` block's link model).

Each collective op stands for one rank's part of the collective: a split workload
(archsim/workloads/parallel.py) emits one per participating device, all waiting for every
rank's producer, so the collective starts when its last rank is ready.

| op | fields | `bytes` is |
|---|---|---|
| `all_reduce` | `bytes ranks algorithm` | the buffer each rank holds (input = output size) |
| `all_gather` | `bytes ranks algorithm` | the gathered output per rank (each contributes bytes / ranks) |
| `reduce_scatter` | `bytes ranks algorithm` | the input per rank (each keeps bytes / ranks) |
| `all_to_all` | `bytes ranks algorithm` | what one rank sends in all (bytes / ranks to each peer, its own share stays) |
| `send_recv` | `bytes` | what one rank sends to the next (pipeline stage boundary) |

`algorithm`: `auto` (the faster of what the interconnect offers), `ring`, `tree`,
`in_network` (switch reduction, e.g. NVLink SHARP on NVSwitch; all_reduce / reduce_scatter only).
"""
from __future__ import annotations

from typing import Literal

import attrs

from archsim.config.load import field

Algorithm = Literal["auto", "ring", "tree", "in_network"]


@attrs.frozen(kw_only=True)
class _Collective:
    bytes: int = field(ge=1, doc="bytes per rank (see the op table)")
    ranks: int = field(2, ge=2, le=1 << 16, doc="devices taking part")
    algorithm: Algorithm = field("auto", doc="auto | ring | tree | in_network")
    name: str = ""
    repeat: int = field(1, ge=1)

    def flops(self) -> float:
        return 0.0

    def min_bytes(self) -> float:
        return float(self.bytes)


@attrs.frozen(kw_only=True)
class AllReduce(_Collective):
    KIND = "all_reduce"


@attrs.frozen(kw_only=True)
class AllGather(_Collective):
    KIND = "all_gather"


@attrs.frozen(kw_only=True)
class ReduceScatter(_Collective):
    KIND = "reduce_scatter"


@attrs.frozen(kw_only=True)
class AllToAll(_Collective):
    KIND = "all_to_all"


@attrs.frozen(kw_only=True)
class SendRecv:
    """One pipeline-stage boundary: `bytes` from one device to the next."""
    KIND = "send_recv"
    bytes: int = field(ge=1, doc="bytes sent")
    name: str = ""
    repeat: int = field(1, ge=1)

    def flops(self) -> float:
        return 0.0

    def min_bytes(self) -> float:
        return float(self.bytes)


COLLECTIVES = (AllReduce, AllGather, ReduceScatter, AllToAll, SendRecv)
OPS = {cls.KIND: cls for cls in COLLECTIVES}
