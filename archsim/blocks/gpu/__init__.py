"""The GPU baseline block: the component protocol (KIND, Spec, supports, evaluate, structure, validate)."""
from archsim.blocks.gpu.spec import KIND, Spec, evaluate, structure, supports, validate

__all__ = ["KIND", "Spec", "evaluate", "structure", "supports", "validate"]
