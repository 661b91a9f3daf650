"""The vrex block: the component protocol (KIND, Spec, supports, evaluate, structure, validate).
`supports` / `evaluate` come from llm.py, which adds the LLM op kinds on top of model.py's."""
from archsim.blocks.vrex.llm import evaluate, memory_capacity_bytes, roofline_peaks, supports
from archsim.blocks.vrex.model import KIND, Spec, structure, validate

__all__ = ["KIND", "Spec", "evaluate", "memory_capacity_bytes", "roofline_peaks", "structure",
           "supports", "validate"]
