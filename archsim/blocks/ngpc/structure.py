"""What an NGPC's area, leakage and SRAM energies are priced from: N NFPs, each an encoding
engine (interpolation MACs, pos_fract / weight multipliers, hash multipliers and adders, one grid
SRAM per sub-engine) and an MLP engine (the MAC array, its weight and activation SRAMs).

SRAM port widths follow the data each port moves per cycle: a grid-SRAM read returns the
features one interpolation unit consumes per cycle (`interp_macs_per_unit` features of
`feature_dtype`; 2 x fp16 = 32 bits by default), the MLP weight port feeds one array row
(`cols` operands of `mlp.dtype`) and the activation port one array column (`rows` operands).
"""
from __future__ import annotations

from archsim.blocks.base import DramInterface, LinkInterface, SramInstance, Structure
from archsim.blocks.ngpc.spec import KIND, Spec, interp_dtype
from archsim.units import BYTES_PER_KIB, DTYPE_BYTES


def nfp_structure(spec: Spec, count: int = 1) -> Structure:
    """One NFP (or `count` identical ones): encoding engine + MLP engine."""
    e, m = spec.encoding, spec.mlp
    s = e.sub_engines
    grid_bits = 8 * DTYPE_BYTES[e.feature_dtype] * e.interp_macs_per_unit
    op_bits = 8 * DTYPE_BYTES[m.dtype]
    enc = Structure(
        name="encoding_engine", kind="ngpc.encoding", clock_ghz=spec.clock_ghz,
        units={f"mac.{interp_dtype(e)}": s * e.interp_units * e.interp_macs_per_unit,  # weight x feature
               "mul.fp32": s * (3 + 2 * e.interp_units),   # pos_fract (3) + corner-weight products
               "mul.int32": s * 2 * e.hash_units,          # two prime multipliers per hash unit
               "add.int32": s * 3 * e.hash_units},         # XOR / dense-index adders
        srams=(SramInstance(name="grid", capacity_bytes=e.grid_sram_kib * BYTES_PER_KIB,
                            width_bits=grid_bits, banks=e.grid_sram_banks, ports=e.grid_sram_ports,
                            count=s),),
        notes={"sub_engines": "paper Fig. 9a: 16 per NFP", "grid": "paper: 1 MB per sub-engine",
               "grid_width": "features one interpolation unit consumes per cycle x feature_dtype"})
    mlp = Structure(
        name="mlp_engine", kind="ngpc.mlp", clock_ghz=spec.clock_ghz,
        units={f"mac.{m.dtype}": m.rows * m.cols},
        srams=(SramInstance(name="mlp_weight", capacity_bytes=m.weight_sram_kib * BYTES_PER_KIB,
                            width_bits=op_bits * m.cols),
               SramInstance(name="mlp_act", capacity_bytes=m.act_sram_kib * BYTES_PER_KIB,
                            width_bits=op_bits * m.rows, banks=2)),
        notes={"array": "paper Fig. 9b: 64 x 64 MACs",
               "sram_width": "one array row (weights) / column (activations) of mlp.dtype operands"})
    return Structure(name="nfp", kind="ngpc.nfp", clock_ghz=spec.clock_ghz, children=(enc, mlp),
                     count=count)


def structure(spec: Spec) -> Structure:
    # The NGPC uses the GPU's DRAM (priced per byte, up to its bandwidth); it owns no PHY.
    return Structure(name="ngpc", kind=KIND, clock_ghz=spec.clock_ghz,
                     children=(nfp_structure(spec, spec.n_nfp),),
                     dram=DramInterface(technology=spec.dram_technology, bandwidth_gb_s=spec.dram_bandwidth_gb_s,
                                        owns_phy=False),
                     links=(LinkInterface(name="l2", technology="onchip",
                                          bandwidth_gb_s=spec.l2_bandwidth_gb_s),),
                     notes={"n_nfp": "paper: NGPC-8/16/32/64"})
