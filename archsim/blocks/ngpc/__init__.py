"""The NGPC block: spec (spec.py), encoding / MLP engines and the GPU part (model.py, kernels.py),
structure for area/leakage/SRAM energy (structure.py), the `ng_stage` op (ops.py) and the
neural-graphics frame generator (generator.py)."""
from archsim.blocks.ngpc.model import evaluate, supports
from archsim.blocks.ngpc.spec import KIND, Spec, validate
from archsim.blocks.ngpc.structure import structure

__all__ = ["KIND", "Spec", "evaluate", "structure", "supports", "validate"]
