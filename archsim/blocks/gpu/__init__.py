"""The GPU baseline block: spec (spec.py), latency/energy model and the component protocol
(model.py), structure for area and idle power (structure.py), calibration (calibrate.py)."""
from archsim.blocks.gpu.model import evaluate, supports
from archsim.blocks.gpu.spec import KIND, Spec, validate
from archsim.blocks.gpu.structure import structure

__all__ = ["KIND", "Spec", "evaluate", "structure", "supports", "validate"]
