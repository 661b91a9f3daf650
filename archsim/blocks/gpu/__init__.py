"""The GPU baseline block: spec (spec.py), latency/energy model and the component protocol
(model.py), structure for area and idle power (structure.py), calibration (calibrate.py)."""
from archsim.blocks.gpu.model import evaluate, memory_capacity_bytes, roofline_peaks, supports
from archsim.blocks.gpu.spec import KIND, Spec, validate
from archsim.blocks.gpu.structure import structure

__all__ = ["KIND", "Spec", "evaluate", "memory_capacity_bytes", "roofline_peaks", "structure",
           "supports", "validate"]
