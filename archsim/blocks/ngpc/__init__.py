"""The ngpc block: the component protocol (KIND, Spec, supports, evaluate, structure, validate)."""
from archsim.blocks.ngpc.model import KIND, Spec, evaluate, structure, supports, validate

__all__ = ["KIND", "Spec", "evaluate", "structure", "supports", "validate"]
