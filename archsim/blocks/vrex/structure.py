"""What V-Rex is built of, for area, leakage and SRAM energies: per core the LXE (DPE, VPE,
on-chip memory) and the DRE (HCU, WTU, KVMU); per system `cores` cores, device DRAM, the PCIe
link (energy per bit from the tech table) and, on the edge, the offload SSD's idle power."""
from __future__ import annotations

import math

import attrs

from archsim.blocks.base import DramInterface, SramInstance, Structure
from archsim.blocks.host_link.structure import pcie_link, ssd_structure
from archsim.blocks.vrex.spec import KIND, Spec
from archsim.units import BYTES_PER_KIB, DTYPE_BYTES


def core_structure(spec: Spec) -> Structure:
    """One V-Rex core: LXE (DPE, VPE, on-chip memory) and DRE (HCU, WTU, KVMU)."""
    lx, d = spec.lxe, spec.dre
    dt = spec.dtype
    dpe = Structure(name="dpe", kind="vrex_dpe", clock_ghz=spec.clock_ghz,
                    units={f"mac.{dt}": lx.dpe_trees * lx.dpe_inputs},
                    notes={"source": "§V-A: 64 MAC trees x 64 inputs, BF16"})
    vpe = Structure(name="vpe", kind="vrex_vpe", clock_ghz=spec.clock_ghz,
                    units={f"mac.{dt}": lx.vpe_units * lx.vpe_lanes},
                    notes={"source": "§V-A: 1 vector unit x 64 lanes, BF16"})
    sram = Structure(name="lxe_sram", kind="vrex_lxe_sram", clock_ghz=spec.clock_ghz,
                     srams=(SramInstance(name="lxe", capacity_bytes=int(lx.sram_kib * BYTES_PER_KIB),
                                         width_bits=lx.dpe_inputs * DTYPE_BYTES[dt] * 8, banks=lx.sram_banks),),
                     notes={"source": "Tab. III: 384 KB LXE on-chip memory; width = one DPE input slice"})
    hb = math.ceil(d.n_hyperplanes / 8)
    hcu = Structure(name="hcu", kind="vrex_hcu", clock_ghz=spec.clock_ghz,
                    units={"xor_popcount_bits": d.hcu_units * d.hcu_width * d.n_hyperplanes,
                           "cmp.int8": d.hcu_units * d.hcu_width, f"add.{dt}": d.hcu_units},
                    srams=(SramInstance(name="hcu_current_hash", capacity_bytes=d.hcu_current_hash_bytes,
                                        width_bits=hb * 8),
                           SramInstance(name="hcu_cluster_hash", capacity_bytes=int(d.hcu_cluster_hash_kib * BYTES_PER_KIB),
                                        width_bits=hb * 8 * d.hcu_width)),
                    notes={"source": "§V-B / Fig. 10: 1 x 16-wide XOR-accumulator array, 128 B + 4 KB hash memories"})
    wtu = Structure(name="wtu", kind="vrex_wtu", clock_ghz=spec.clock_ghz,
                    units={f"cmp.{dt}": d.wtu_units * (2 * d.wtu_width + 3),
                           f"mul.{dt}": d.wtu_units * d.wtu_width, f"add.{dt}": d.wtu_units * d.wtu_width},
                    srams=(SramInstance(name="wtu_score", capacity_bytes=int(d.wtu_score_kib * BYTES_PER_KIB),
                                        width_bits=d.wtu_width * DTYPE_BYTES[dt] * 8),
                           SramInstance(name="wtu_count", capacity_bytes=int(d.wtu_count_kib * BYTES_PER_KIB),
                                        width_bits=d.wtu_width * d.hc_index_bytes * 8)),
                    notes={"source": "§V-B / Fig. 10-11: 1 x 16-wide WTU (upper/lower bucket sorters, multipliers, "
                                     "adder tree, threshold compare, min/max), 8 KB score + 8 KB count memories"})
    kvmu = Structure(name="kvmu", kind="vrex_kvmu", clock_ghz=spec.clock_ghz,
                     units={"add.int32": 4, "cmp.int8": 4},
                     srams=(SramInstance(name="kvmu_buffer", capacity_bytes=int(spec.kvmu.buffer_kib * BYTES_PER_KIB),
                                         width_bits=512),) if spec.kvmu.enabled else (),
                     notes={"source": "§V-C: KV cache manager; its logic is not detailed in the paper — modelled as "
                                      "address generators and a staging buffer (knob kvmu.buffer_kib)"})
    return Structure(name="vrex_core", kind="vrex_core", clock_ghz=spec.clock_ghz,
                     children=(dpe, vpe, sram, hcu, wtu, kvmu),
                     notes={"source": "papers/vrex.md §5: one V-Rex core, 14 nm, 0.8 V, 800 MHz"})


def structure(spec: Spec) -> Structure:
    """The V-Rex system: `cores` cores + device DRAM + the PCIe host link (+ the offload SSD's
    idle power when the KVMU offloads to it; the system power counts storage, §VI-A)."""
    core = attrs.evolve(core_structure(spec), count=spec.cores)
    dram = DramInterface(technology=spec.memory.technology, bandwidth_gb_s=spec.memory.bandwidth_gb_s,
                         capacity_gib=spec.memory.capacity_gib)
    ssd = (ssd_structure(spec.ssd),) if spec.kvmu.offload == "ssd" else ()
    return Structure(name="vrex_system", kind=KIND, clock_ghz=spec.clock_ghz, children=(core, *ssd), dram=dram,
                     links=(pcie_link(spec.host_link),),
                     notes={"offload": spec.kvmu.offload,
                            "source": "papers/vrex.md Tab. I: system = cores + DRAM + PCIe + storage"})
