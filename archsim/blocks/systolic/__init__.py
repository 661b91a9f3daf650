"""The systolic array block: spec (spec.py), fold + memory model (model.py, kernels.py),
structure for area/leakage/SRAM energy (structure.py). gemm and conv2d are core op kinds."""
from archsim.blocks.systolic.model import evaluate, memory_capacity_bytes, roofline_peaks, supports
from archsim.blocks.systolic.spec import KIND, Spec, validate
from archsim.blocks.systolic.structure import structure

__all__ = ["KIND", "Spec", "evaluate", "memory_capacity_bytes", "roofline_peaks", "structure",
           "supports", "validate"]
