"""The systolic block: the component protocol (KIND, Spec, supports, evaluate, structure, validate)
and its work estimate (archsim.plausibility)."""
from archsim.blocks.systolic.model import (KIND, Spec, evaluate, structure, supports, validate,
                                           work_estimate)

__all__ = ["KIND", "Spec", "evaluate", "structure", "supports", "validate", "work_estimate"]
