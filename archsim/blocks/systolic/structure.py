"""What a systolic array's area, leakage and SRAM energies are priced from."""
from __future__ import annotations

from archsim.blocks.base import DramInterface, SramInstance, Structure
from archsim.blocks.systolic.spec import KIND, Spec
from archsim.units import BYTES_PER_KIB


def structure(spec: Spec) -> Structure:
    wbits = 8 * spec.word_bytes
    # port widths: words the array moves per cycle (ifmap rows / filter cols; IS swaps them)
    ifmap_words, filter_words = (spec.rows, spec.cols) if spec.dataflow != "is" else (spec.cols, spec.rows)
    srams = (
        SramInstance(name="ifmap", capacity_bytes=int(spec.ifmap_sram_kib * BYTES_PER_KIB),
                     width_bits=ifmap_words * wbits, banks=spec.sram_banks),
        SramInstance(name="filter", capacity_bytes=int(spec.filter_sram_kib * BYTES_PER_KIB),
                     width_bits=filter_words * wbits, banks=spec.sram_banks),
        SramInstance(name="ofmap", capacity_bytes=int(spec.ofmap_sram_kib * BYTES_PER_KIB),
                     width_bits=spec.cols * wbits, banks=spec.sram_banks),
    )
    return Structure(
        name=KIND, kind=KIND, clock_ghz=spec.clock_ghz,
        units={f"mac.{spec.dtype}": spec.rows * spec.cols,
               **({f"add.{spec.dtype}": spec.vector_lanes} if spec.vector_lanes else {})}, srams=srams,
        dram=DramInterface(technology=spec.dram_technology, bandwidth_gb_s=spec.dram_bandwidth_gb_s()),
        notes={"model": "archsim systolic array; SRAM port width = words moved per cycle",
               "dram_channels": spec.dram_channels})
