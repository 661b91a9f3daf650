"""V-Rex running the LLM op kinds (archsim.workloads.llm.ops): the LXE runs each as its
lowering — projections and experts as MAC-tree GEMMs, attention (and MLA's latent attention)
on the DPE + VPE, norms / RoPE / activations on the VPE, KV writes and embedding rows as
copies — through the block's own `evaluate` (docs/llm.md). Kept apart from model.py so the
V-Rex model itself is untouched."""
from __future__ import annotations

from archsim.blocks.base import EvalContext, OpResult, evaluate_lowered
from archsim.blocks.vrex import model
from archsim.blocks.vrex.spec import Spec
from archsim.workloads.llm.ops import OPS as LLM_OPS


def supports(spec: Spec, op) -> bool:
    if model.supports(spec, op):
        return True
    return op.KIND in LLM_OPS and all(model.supports(spec, sub) for sub, _ in op.lower())


def evaluate(spec: Spec, op, ctx: EvalContext) -> OpResult:
    if op.KIND in LLM_OPS and not model.supports(spec, op):
        return evaluate_lowered(model.evaluate, spec, op, ctx)
    return model.evaluate(spec, op, ctx)


def memory_capacity_bytes(spec: Spec) -> float:
    return spec.memory.capacity_gib * 2**30


def roofline_peaks(spec: Spec, op) -> tuple[float, float]:
    """(peak FLOP/s, peak DRAM bytes/s) of the whole device (all cores)."""
    return model.peak_flops(spec), spec.memory.bandwidth_gb_s * 1e9
