"""The NGPC's parameters (TOML `kind = "ngpc"`) and their cross-field checks.

Only the values marked "paper" come from the NGPC paper (papers/ngpc.md); the others are open
knobs with the default archsim uses and why (arch_configs/ngpc/base.toml repeats them).
"""
from __future__ import annotations

from typing import Literal

import attrs

from archsim.config.load import field
from archsim.errors import ConfigError

KIND = "ngpc"

Dtype = Literal["fp16", "bf16", "fp32", "int8", "fp8"]


@attrs.frozen(kw_only=True)
class EncodingEngineSpec:
    """Input-encoding engine of one NFP [Fig. 9a]. Only `sub_engines` and `grid_sram_kib` are
    from the paper; the rest are open parameters (papers/ngpc.md §3.2, §10)."""
    sub_engines: int = field(16, ge=1, le=256, doc="sub-engines per NFP, one per hashgrid level (paper)")
    lanes: int = field(8, ge=1, le=64, doc="corner requests a sub-engine issues per cycle (open; 2^3)")
    hash_units: int = field(8, ge=1, le=64, doc="grid_index units per sub-engine, one corner index per cycle each (open)")
    interp_units: int = field(8, ge=1, le=64, doc="interpolation units per sub-engine (open)")
    interp_macs_per_unit: int = field(2, ge=1, le=64,
                                      doc="MACs of one interpolation unit; a corner of F features "
                                          "occupies it ceil(F / macs) cycles (open; F = 2)")
    grid_sram_kib: int = field(1024, ge=1, le=1 << 20, doc="grid SRAM per sub-engine (paper: 1 MB)")
    grid_sram_banks: int = field(8, ge=1, le=256, doc="banks of a grid SRAM (open)")
    bank_mapping: Literal["xor", "low_bits"] = field(
        "xor", doc="entry -> bank: XOR-fold of the index bits (needs power-of-two banks) or index mod banks")
    grid_sram_ports: int = field(1, ge=1, le=8, doc="reads per bank per cycle (open)")
    grid_sram_latency_cycles: int = field(2, ge=1, le=64, doc="grid SRAM read latency (open)")
    cache_line_bytes: int = field(32, ge=4, le=4096,
                                  doc="line of the grid SRAM when a level spills (a GPU L2 sector, 32 B)")
    miss_path: Literal["dram", "l2", "ideal"] = field(
        "dram", doc="where a spilled level's misses go; 'ideal' = every level fits (paper silent)")
    dram_latency_ns: float = field(450.0, ge=0.0, le=1e5,
                                   doc="load-to-use DRAM latency through the GPU's L2 (Ampere "
                                       "microbenchmarks report ~400-500 ns; open)")
    l2_latency_ns: float = field(120.0, ge=0.0, le=1e5, doc="L2 hit latency (Ampere ~200 SM cycles; open)")
    mshrs: int = field(256, ge=1, le=65536,
                       doc="outstanding miss lines per sub-engine (open; sized for 450 ns at ~0.5 misses/cycle)")
    fifo_depth: int = field(1024, ge=1, le=65536,
                            doc="FIFO between grid fetch and interpolation, in corner requests (open); "
                                "sized to cover the DRAM latency at the issue rate (450 ns x ~2/cycle)")
    pipeline_depth_cycles: int = field(6, ge=0, le=1024,
                                       doc="pos_fract, grid_index, weights | accumulate, output stages")
    feature_dtype: Dtype = field("fp16", doc="grid feature storage (instant-ngp: fp16; paper silent)")


@attrs.frozen(kw_only=True)
class MlpEngineSpec:
    """MLP engine of one NFP [Fig. 9b]: a rows x cols MAC array (paper: 64 x 64)."""
    rows: int = field(64, ge=1, le=1024, doc="MAC array rows (paper: 64)")
    cols: int = field(64, ge=1, le=1024, doc="MAC array columns (paper: 64)")
    dataflow: Literal["ws", "os", "is"] = field("ws", doc="SCALE-Sim dataflow (paper silent)")
    weight_sram_kib: int = field(64, ge=1, le=1 << 20, doc="resident weights (open)")
    act_sram_kib: int = field(256, ge=1, le=1 << 20,
                              doc="activation SRAM, two ping-pong halves (open); bounds the micro-batch")
    dtype: Dtype = field("fp16", doc="operands (instant-ngp fp16)")
    timing: Literal["fold", "full_utilization"] = field(
        "fold", doc="'fold': SCALE-Sim fold timing of each layer on the array (fill, drain, "
        "partly used rows and columns); 'full_utilization': every MAC busy every cycle "
        "(MACs / array size), what the paper's emulator appears to assume (paper-assumption preset)")
    mapping: Literal["fixed", "search"] = field(
        "fixed", doc="fixed = every MLP runs `dataflow` on batch x d_out with the largest micro-batch "
        "the activation SRAM holds; search = per MLP, the mapper tries every dataflow of "
        "`mapping_dataflows`, the transposed GEMMs (`mapping_transpose`) and smaller micro-batches "
        "(`mapping_micro_batch`) and keeps the best for `mapping_objective` (the Report's per-op "
        "`dataflow`, `transposed`, `micro_batch` and `mapping_candidates` say what it chose)")
    mapping_dataflows: tuple[Literal["os", "ws", "is"], ...] = field(
        ("os", "ws", "is"), doc="dataflows the MLP engine supports (mapping = search), in tie-break "
        "order after the fixed mapping")
    mapping_transpose: bool = field(
        True, doc="the mapper also tries each dataflow on the transposed layer GEMMs (d_out x batch: "
        "the weights enter the array where the activations did, and the other way round)")
    mapping_micro_batch: bool = field(
        True, doc="the mapper also tries every power-of-two micro-batch below the largest one the "
        "activation SRAM's ping-pong halves hold")
    mapping_objective: Literal["cycles", "energy", "edp"] = field(
        "cycles", doc="what the MLP mapper minimises per op: cycles, energy (dynamic + the arch's "
        "static power over the op's latency) or energy x latency")


@attrs.frozen(kw_only=True)
class Spec:
    """NGPC-N beside a GPU. Paper values carry their source; the others are open knobs."""
    n_nfp: int = field(8, ge=1, le=4096, doc="NFPs (paper: 8, 16, 32, 64)")
    clock_ghz: float = field(1.0, gt=0.0, le=10.0, doc="NFP clock (paper silent; ~1 GHz implied)")
    batch_points: int = field(4096, ge=16, le=1 << 22, doc="inputs per batch handed to one NFP (open)")
    warmup_batches: int = field(4, ge=1, le=64, doc="representative batches that warm the grid caches first")
    measured_batches: int = field(4, ge=1, le=64, doc="representative batches timed after the warm-up")
    overlap_with_gpu: bool = field(True, doc="SM pre/post of batch n+1 overlaps NGPC batch n [Fig. 10b]: "
                                             "the GPU part streams in the NGPC's batches")
    prepost_fusion_speedup: float = field(9.94, ge=1.0, le=1000.0,
                                          doc="fused pre/post kernel vs un-fused (paper, Vulkan: 9.94)")
    gpu_component: str = field("gpu", doc="the arch component (kind gpu) that runs the pre/post-processing")
    dram_bandwidth_gb_s: float = field(936.0, gt=0.0, le=1e6,
                                       doc="GPU DRAM bandwidth shared by the NFPs (RTX 3090 GDDR6X: 936)")
    dram_technology: Literal["gddr6x", "hbm2e", "hbm3", "hbm3e", "lpddr5", "ddr4"] = field(
        "gddr6x", doc="the GPU's DRAM, for pricing NGPC traffic (RTX 3090: GDDR6X)")
    l2_bandwidth_gb_s: float = field(2000.0, gt=0.0, le=1e6,
                                     doc="L2 bandwidth available to the NGPC (open; GA102 L2 ~2-2.5 TB/s)")
    table_broadcast: bool = field(False, doc="level tables loaded once and multicast to all NFPs")
    reload_tables_per_frame: bool = field(
        True, doc="resident level tables are loaded every frame (paper: 'loaded once and then serves "
                  "every input of the frame'); false = they stay resident across frames of one scene")
    gpu_die_area_mm2: float | None = field(None, gt=0.0, doc="GPU die for the area overhead; "
                                           "None = the GPU component's area (GA102: 628.4 mm2)")
    gpu_tdp_w: float | None = field(None, gt=0.0, doc="GPU power for the power overhead; None = the "
                                    "GPU component's tdp_w (RTX 3090: 350 W)")
    encoding: EncodingEngineSpec = EncodingEngineSpec()
    mlp: MlpEngineSpec = MlpEngineSpec()


def interp_dtype(e: EncodingEngineSpec) -> str:
    """The arithmetic of the interpolation MACs: fp32 features are interpolated in fp32, narrower
    ones (fp16, bf16, fp8, int8) in fp16."""
    return "fp32" if e.feature_dtype == "fp32" else "fp16"


def validate(spec: Spec, file, key: str) -> None:
    dfs = spec.mlp.mapping_dataflows
    if not dfs or len(set(dfs)) != len(dfs):
        raise ConfigError(file, f"{key}.mlp.mapping_dataflows", "a non-empty list of distinct dataflows "
                          f"(os, ws, is); got {list(dfs)!r}")
    e = spec.encoding
    if e.grid_sram_kib * 1024 < e.cache_line_bytes:
        raise ConfigError(file, f"{key}.encoding.cache_line_bytes",
                          f"must be <= the grid SRAM ({e.grid_sram_kib} KiB)")
    if e.cache_line_bytes & (e.cache_line_bytes - 1):
        raise ConfigError(file, f"{key}.encoding.cache_line_bytes", "must be a power of two")
    if e.bank_mapping == "xor" and e.grid_sram_banks & (e.grid_sram_banks - 1):
        raise ConfigError(file, f"{key}.encoding.grid_sram_banks",
                          "must be a power of two with bank_mapping = 'xor' (or use 'low_bits')")
    if not spec.gpu_component:
        raise ConfigError(file, f"{key}.gpu_component",
                          "name the arch component (kind gpu) that runs the pre/post-processing")
