"""The systolic array's parameters (TOML `kind = "systolic_array"`) and their cross-field checks."""
from __future__ import annotations

from typing import Literal

import attrs

from archsim.config.load import field
from archsim.errors import ConfigError
from archsim.units import BYTES_PER_KIB, DTYPE_BYTES


KIND = "systolic_array"

Dtype = Literal["int8", "fp8", "fp16", "bf16", "tf32", "fp32"]
DramTech = Literal["lpddr5", "hbm2e", "hbm3", "hbm3e", "gddr6x", "ddr4"]
Dataflow = Literal["os", "ws", "is"]


@attrs.frozen(kw_only=True)
class Spec:
    """One systolic array. Sizes in KiB (1024 bytes); an SRAM holds floor(KiB*1024/word_bytes)
    words, half of them active and half being filled / drained (double buffering)."""
    rows: int = field(ge=1, le=4096, doc="PE rows R (S_R of the mapping is cut into ceil(S_R/R) row folds)")
    cols: int = field(ge=1, le=4096, doc="PE columns C")
    dataflow: Literal["os", "ws", "is"] = field(
        "ws", doc="os = output stationary, ws = weight (filter) stationary, is = input stationary")
    ifmap_sram_kib: float = field(gt=0.0, le=1048576.0, doc="ifmap (input activation) SRAM, KiB")
    filter_sram_kib: float = field(gt=0.0, le=1048576.0, doc="filter (weight) SRAM, KiB")
    ofmap_sram_kib: float = field(gt=0.0, le=1048576.0,
                                  doc="ofmap SRAM, KiB; WS/IS partial sums accumulate here")
    word_bytes: int = field(1, ge=1, le=8, doc="bytes per operand word (SCALE-Sim: always 1); "
                            "DRAM / SRAM bytes = words * word_bytes")
    dram_bandwidth_words_per_cycle: float = field(
        gt=0.0, le=1.0e6, doc="DRAM interface bandwidth in words per array cycle "
        "(per channel; see dram_channels)")
    dram_channels: Literal["shared", "per_operand"] = field(
        "shared", doc="shared = one DRAM channel for ifmap reads, filter reads and ofmap writes; "
        "per_operand = each of the three gets its own channel of that bandwidth (SCALE-Sim USER "
        "mode with equal bandwidths)")
    clock_ghz: float = field(1.0, gt=0.0, le=10.0, doc="array clock, GHz")
    dtype: Dtype = field("int8", doc="MAC datatype the array is built for (prices mac.<dtype>)")
    dram_technology: DramTech = field("lpddr5", doc="DRAM technology (energy per bit, PHY area)")
    sram_banks: int = field(1, ge=1, le=1024, doc="banks per SRAM (area/energy only; the access "
                            "model assumes conflict-free banking)")
    mapping: Literal["fixed", "search"] = field(
        "fixed", doc="fixed = every layer runs `dataflow`; search = per layer, the mapper picks the "
        "best of `mapping_dataflows` for `mapping_objective` (the Report's per-op `dataflow` and "
        "`mapping_candidates` say what it chose and why)")
    mapping_dataflows: tuple[Dataflow, ...] = field(
        ("os", "ws", "is"), doc="dataflows the array supports, in tie-break order (mapping = search)")
    mapping_transpose: bool = field(
        True, doc="the mapper also tries every dataflow on the transposed GEMM (filters x pixels: "
        "the operands trade SRAMs and rows/columns) for layers whose windows do not overlap "
        "(GEMMs, 1x1 convolutions)")
    mapping_loop_order: bool = field(
        True, doc="the mapper also tries the folds in the other loop order, row folds outer: a row "
        "fold's operand tile (OS/WS ifmap, IS filter) stays resident across the column folds, and "
        "WS/IS hold every column's partial sums at once (they spill when those overflow the ofmap "
        "SRAM); not for IS with overlapping windows")
    mapping_tiling: bool = field(
        True, doc="the mapper also tries tiling the streamed (temporal) dimension against the ofmap "
        "SRAM: a WS/IS layer whose partial-sum tile (T x cols words) overflows the ofmap SRAM and "
        "would spill to DRAM is also run as the fewest back-to-back sub-layers (WS: output rows; "
        "IS: filters) whose tiles fit, paying a fill/drain per fold and the stationary operand "
        "once per sub-layer instead")
    mapping_objective: Literal["cycles", "energy", "edp"] = field(
        "cycles", doc="what the mapper minimises per layer: cycles, energy (dynamic + the arch's "
        "static power over the layer's latency) or energy x latency")
    fold_overlap: bool = field(
        False, doc="overlap the fill/drain of consecutive folds (every fold after the first takes "
        "max(T, rows) cycles instead of the whole fold L); false = SCALE-Sim's rule")
    vector_lanes: int = field(0, ge=0, le=1 << 20, doc="element-wise ALUs beside the array (a TPU's "
                              "vector unit) for norms, softmax, activations, copies; 0 = none "
                              "(such ops cannot run on this component)")
    dram_capacity_gib: float = field(0.0, ge=0.0, doc="device memory for the LLM fit check; "
                                     "0 = not modelled (no check)")

    def sram_words(self) -> tuple[int, int, int]:
        """(ifmap, filter, ofmap) capacities in words."""
        return tuple(int(kib * BYTES_PER_KIB) // self.word_bytes
                     for kib in (self.ifmap_sram_kib, self.filter_sram_kib, self.ofmap_sram_kib))

    def dram_bandwidth_gb_s(self) -> float:
        """Total DRAM interface bandwidth in GB/s (1e9 bytes/s)."""
        per = self.dram_bandwidth_words_per_cycle * self.word_bytes * self.clock_ghz
        return per * (3 if self.dram_channels == "per_operand" else 1)


def validate(spec: Spec, file, key: str) -> None:
    for name, words in zip(("ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib"), spec.sram_words()):
        if words < 2:
            raise ConfigError(file, f"{key}.{name}", f"must hold at least 2 words of "
                              f"{spec.word_bytes} bytes (double buffering); got {getattr(spec, name)!r}")
    if not spec.mapping_dataflows or len(set(spec.mapping_dataflows)) != len(spec.mapping_dataflows):
        raise ConfigError(file, f"{key}.mapping_dataflows", "a non-empty list of distinct dataflows "
                          f"(os, ws, is); got {list(spec.mapping_dataflows)!r}")
    if spec.word_bytes < DTYPE_BYTES[spec.dtype]:
        raise ConfigError(file, f"{key}.word_bytes", f"must be >= {DTYPE_BYTES[spec.dtype]} "
                          f"(bytes of dtype {spec.dtype}); got {spec.word_bytes}")
