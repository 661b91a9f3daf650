"""The V-Rex block: spec (spec.py), LXE / DRE / KVMU model and the component protocol
(model.py, kernels.py), structure for area/leakage/SRAM energy (structure.py), the ops it adds
(ops.py), the `video_llm` generator and its KV policies (generator.py, policies.py), ReSV on
synthetic KV streams (kv_synth.py, resv_measure.py). `supports` / `evaluate` come from llm.py,
which adds the LLM op kinds (archsim.workloads.llm.ops) on top of model.py's."""
from archsim.blocks.vrex.llm import evaluate, memory_capacity_bytes, roofline_peaks, supports
from archsim.blocks.vrex.spec import KIND, Spec, validate
from archsim.blocks.vrex.structure import structure

__all__ = ["KIND", "Spec", "evaluate", "memory_capacity_bytes", "roofline_peaks", "structure",
           "supports", "validate"]
