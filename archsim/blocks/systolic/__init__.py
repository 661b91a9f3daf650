"""The systolic array block: spec (spec.py), fold + memory model (model.py, kernels.py),
structure for area/leakage/SRAM energy (structure.py). gemm and conv2d are core op kinds.
`work_estimate` is the op's simulation cost (archsim.plausibility)."""
from archsim.blocks.systolic.model import (evaluate, memory_capacity_bytes, roofline_peaks, supports,
                                           work_estimate)
from archsim.blocks.systolic.spec import KIND, Spec, validate
from archsim.blocks.systolic.structure import structure

__all__ = ["KIND", "Spec", "evaluate", "memory_capacity_bytes", "roofline_peaks", "structure",
           "supports", "validate", "work_estimate"]
