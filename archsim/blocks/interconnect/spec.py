"""The device-to-device interconnect of a multi-device system (TOML `kind = "interconnect"`),
named by `[system] interconnect = "<component>"`: NVLink through NVSwitch, PCIe through a host
switch, or a chip-to-chip ring (TPU ICI-style) joining the devices' replicas.

Bandwidths are per device and per direction (full duplex). Presets carry the published numbers
and their sources (arch_configs/multi/); the defaults here are NVLink 4 on NVSwitch (H100 SXM).
"""
from __future__ import annotations

from typing import Literal

import attrs

from archsim.config.load import field

KIND = "interconnect"


@attrs.frozen(kw_only=True)
class Spec:
    technology: str = field("nvlink4", doc="label of the link technology (reported; e.g. nvlink4, pcie5, ici)")
    topology: Literal["switch", "ring"] = field(
        "switch", doc="switch: every device has its full bandwidth to any other (NVSwitch, PCIe switch); "
                      "ring: neighbours only (chip-to-chip), all_to_all crosses N/4 hops on average")
    bandwidth_gb_s: float = field(450.0, gt=0.0, doc="per device, per direction (NVLink 4: 18 links x 25 GB/s = 450 GB/s, "
                                                     "900 GB/s bidirectional; NVIDIA H100 datasheet)")
    latency_us: float = field(1.0, ge=0.0, doc="per algorithm step (one hop + synchronisation); assumption of the order "
                                               "nccl-tests small-message all-reduce times imply (~10-15 us for 8 H100 ring), unverified")
    bandwidth_efficiency: float = field(0.8, gt=0.0, le=1.0, doc="achieved / peak bus bandwidth for large messages "
                                                                 "(assumption: NCCL busbw plateaus near 80 % of the NVLink peak on H100; unverified)")
    in_network_reduction: bool = field(False, doc="the switch reduces (NVLink SHARP / NVLS on third-generation NVSwitch): "
                                                  "an all-reduce moves each rank's data once instead of 2(N-1)/N times")
    algorithm: Literal["auto", "ring", "tree", "in_network"] = field(
        "auto", doc="default algorithm for ops that say auto: auto = the fastest available")
    ports: int = field(0, ge=0, le=4096, doc="devices attached; set from [system] devices by the config layer "
                                             "(0 = not part of a system)")
    energy_pj_per_bit: float = field(5.0, ge=0.0, doc="link energy per bit moved (assumption: NVLink-C2C is 1.3 pJ/bit "
                                                      "(NVIDIA Grace Hopper whitepaper); an off-package SerDes + switch hop "
                                                      "taken as ~5 pJ/bit, the PCIe-class figure of the tech table; low confidence)")
