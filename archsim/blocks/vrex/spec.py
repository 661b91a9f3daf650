"""V-Rex's parameters (TOML `kind = "vrex"`; papers/vrex.md §5, Tab. I): N cores of LXE
(MAC-tree DPE + vector VPE + on-chip memory) and DRE (HCU, WTU, KVMU), device DRAM, and the PCIe
host link to the offload target (its `host_link`, `ssd`, `host_memory` tables are the host_link
block's)."""
from __future__ import annotations

from typing import Literal

import attrs

from archsim.blocks.host_link.spec import HostLinkSpec, HostMemorySpec, Offload, SsdSpec
from archsim.config.load import field
from archsim.errors import ConfigError
from archsim.units import BYTES_PER_KIB, DTYPE_BYTES

KIND = "vrex"


@attrs.frozen(kw_only=True)
class LxeSpec:
    dpe_trees: int = field(64, ge=1, doc="MAC trees (N_DPE-h = 64, §V-A)")
    dpe_inputs: int = field(64, ge=1, doc="inputs per tree (N_DPE-w = 64, §V-A)")
    vpe_units: int = field(1, ge=1, doc="vector units (N_VPE-h = 1, §V-A)")
    vpe_lanes: int = field(64, ge=1, doc="lanes per vector unit (N_VPE-w = 64, §V-A)")
    sram_kib: float = field(384.0, gt=0.0, doc="LXE on-chip memory per core (Tab. III: 384 KB)")
    sram_banks: int = field(16, ge=1, doc="banks of the on-chip memory (not given; assumption)")
    fill_cycles: int = field(64, ge=0, doc="per-op issue + tree pipeline fill (not given; assumption)")
    softmax_ops_per_element: float = field(4.0, ge=0.0, doc="VPE ops per attention score: max, exp, sum, scale (assumption)")
    mapping: Literal["fixed", "search"] = field(
        "fixed", doc="fixed = every GEMM runs B-stationary (weight tiles held in the MAC trees, "
        "activation rows streamed) with the m-pass / n-block split that moves fewer DRAM bytes and "
        "the fastest split over the cores; search = per GEMM, the mapper also tries every loop order "
        "of `mapping_orders`, core split and output blocking within `sram_kib` and keeps the best "
        "for `mapping_objective` (the Report's per-op `loop_order`, `core_split`, `m_blocks`, "
        "`n_blocks` and `mapping_candidates` say what it chose); attention keeps its flash mapping")
    mapping_orders: tuple[Literal["b_stationary", "a_stationary"], ...] = field(
        ("b_stationary", "a_stationary"), doc="loop orders the LXE supports (mapping = search), in "
        "tie-break order after the fixed mapping: b_stationary = B (weight) tiles held, A rows "
        "streamed; a_stationary = A tiles held (m on the trees), B columns streamed")
    mapping_objective: Literal["cycles", "energy", "edp"] = field(
        "cycles", doc="what the LXE mapper minimises per GEMM: cycles, energy (dynamic + the arch's "
        "static power over the op's latency) or energy x latency")


@attrs.frozen(kw_only=True)
class DreSpec:
    n_hyperplanes: int = field(32, ge=1, le=64, doc="hash bits N_hp (§VI-E: 32)")
    hcu_units: int = field(1, ge=1, doc="XOR-accumulator arrays (N_HCU-h = 1)")
    hcu_width: int = field(16, ge=1, doc="cluster hashes compared per cycle (N_HCU-w = 16; '16 tokens or 16 words' is ambiguous, we read hashes)")
    hcu_current_hash_bytes: int = field(128, ge=1, doc="current hash-bit memory (Fig. 10: 128 B)")
    hcu_cluster_hash_kib: float = field(4.0, gt=0.0, doc="cluster hash-bit memory (Fig. 10: 4 KB)")
    wtu_units: int = field(1, ge=1, doc="WTU cores (N_WTU-h = 1)")
    wtu_width: int = field(16, ge=1, doc="WTU width (N_WTU-w = 16)")
    wtu_buckets: int = field(16, ge=1, doc="bucket count (not given in the paper — a knob)")
    wtu_score_kib: float = field(8.0, gt=0.0, doc="score memory (Fig. 10: 8 KB)")
    wtu_count_kib: float = field(8.0, gt=0.0, doc="token-count memory (Fig. 10: 8 KB)")
    wtu_pipeline_cycles: int = field(8, ge=0, doc="drain cycles per row (not given; assumption)")
    hc_index_bytes: int = field(4, ge=1, doc="bytes of a token index / count in the HC table (not given)")


@attrs.frozen(kw_only=True)
class KvmuSpec:
    enabled: bool = field(True, doc="KVMU present: recent-KV window in DRAM + cluster-contiguous layout (ablation: V-Rex8_KVPU has none)")
    window: Literal["memory", "weights_only", "tokens"] = field(
        "memory", doc="recent-KV window per stream in device DRAM (the paper's 'predefined maximum "
        "capacity', not given): 'memory' = what the device memory holds after the weights (vision "
        "tower and projector included), the step's activations, the HC table and two layers of "
        "fetch staging; 'weights_only' = capacity minus the model weights (the paper-assumption "
        "preset); 'tokens' = the fixed recent_kv_tokens (docs/vrex.md)")
    recent_kv_tokens: int = field(8192, ge=0, doc="the fixed window with window = 'tokens' (and when the op "
                                  "does not say which model runs); 8192 was read off the paper's Fig. 13(a) "
                                  "latency steps, a curve-shape choice")
    offload: Offload = field("ssd", doc="where older KV goes (edge: NVMe SSD, server: CPU memory; Tab. I)")
    buffer_kib: float = field(8.0, gt=0.0, doc="reorder / DMA staging buffer (not given; assumption)")


@attrs.frozen(kw_only=True)
class MemorySpec:
    technology: Literal["lpddr5", "hbm2e", "hbm3", "ddr4", "gddr6x"] = field("lpddr5", doc="device DRAM (Tab. I)")
    bandwidth_gb_s: float = field(204.8, gt=0.0, doc="peak DRAM bandwidth (Tab. I)")
    bus_bits: int = field(256, ge=1, doc="bus width (Tab. I)")
    capacity_gib: float = field(32.0, gt=0.0, doc="capacity (Tab. I: 32 GB edge, 80 GB server)")
    efficiency: float = field(0.9, gt=0.0, le=1.0, doc="sustained fraction of peak for long streams (LPU reports ~90 % bandwidth use; unverified)")


@attrs.frozen(kw_only=True)
class Spec:
    cores: int = field(8, ge=1, doc="V-Rex cores (V-Rex8 edge, V-Rex48 server)")
    clock_ghz: float = field(0.8, gt=0.0, doc="core clock (§VI-A: 800 MHz at 0.8 V, 14 nm)")
    dtype: Literal["bf16", "fp16"] = field("bf16", doc="datapath type (BF16)")
    core_sync_cycles: int = field(0, ge=0, doc="per-op multi-core synchronisation (paper: no scheme given; 0 = ideal)")
    lxe: LxeSpec = LxeSpec()
    dre: DreSpec = DreSpec()
    kvmu: KvmuSpec = KvmuSpec()
    memory: MemorySpec = MemorySpec()
    host_link: HostLinkSpec = HostLinkSpec()
    ssd: SsdSpec = SsdSpec()
    host_memory: HostMemorySpec = HostMemorySpec()


def validate(spec: Spec, file, key: str) -> None:
    orders = spec.lxe.mapping_orders
    if not orders or len(set(orders)) != len(orders):
        raise ConfigError(file, f"{key}.lxe.mapping_orders", "a non-empty list of distinct loop orders "
                          f"(b_stationary, a_stationary); got {list(orders)!r}")
    if spec.lxe.sram_kib * BYTES_PER_KIB < 2 * spec.lxe.dpe_trees * spec.lxe.dpe_inputs * DTYPE_BYTES[spec.dtype]:
        raise ConfigError(file, f"{key}.lxe.sram_kib", "must hold two DPE weight tiles (2 x trees x inputs x dtype bytes)")
