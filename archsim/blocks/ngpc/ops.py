"""Op kinds of the neural-graphics (NGPC) workloads.

`ng_stage` — one GPU-side pre- or post-processing kernel of a neural-graphics frame (ray
generation, ray marching / sphere tracing / delta tracking, direction encoding, compositing,
pixel write-back). It is a streaming kernel over `n_elements` items that moves
`bytes_per_element` bytes (reads + writes, DRAM) and does `flops_per_element` FP32 operations
per item, split into `launches` equal kernel launches (instant-ngp's NeRF marches rays in a loop
of launches; each launch pays its own launch overhead on a GPU). A GPU evaluates it through its
generic flops / min_bytes path, launch by launch; an NGPC arch runs it on its GPU part, fused
(papers/ngpc.md §3.1). `repeat` is the number of identical frames.

Fields: `stage` (ray_gen | ray_march | sphere_trace | delta_track | sh_encode | composite |
pixel_grid | write_back), `n_elements` (items over all launches), `bytes_per_element`,
`flops_per_element`, `launches`, `dtype` (of the arithmetic), `name`, `repeat`.
"""
from __future__ import annotations

from typing import Literal

import attrs

from archsim.config.load import field
from archsim.workloads.ops import Dtype

Stage = Literal["ray_gen", "ray_march", "sphere_trace", "delta_track", "sh_encode", "composite",
                "pixel_grid", "write_back"]


@attrs.frozen(kw_only=True)
class NgStage:
    """A GPU-side pre/post-processing kernel of a neural-graphics frame (see module doc)."""
    KIND = "ng_stage"
    stage: Stage = field(doc="which pipeline stage this kernel is")
    n_elements: int = field(ge=1, doc="items (rays, samples or pixels) over all launches")
    bytes_per_element: float = field(ge=0.0, le=1e6, doc="DRAM bytes read + written per item")
    flops_per_element: float = field(0.0, ge=0.0, le=1e6, doc="arithmetic operations per item")
    launches: int = field(1, ge=1, le=1_000_000, doc="equal kernel launches the items are split into")
    dtype: Dtype = field("fp32", doc="dtype of the arithmetic")
    name: str = ""
    repeat: int = field(1, ge=1, doc="identical frames")

    def flops(self) -> float:
        return float(self.n_elements) * self.flops_per_element

    def min_bytes(self) -> float:
        return float(self.n_elements) * self.bytes_per_element


OPS = {NgStage.KIND: NgStage}
