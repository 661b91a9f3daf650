"""simulate(arch, workload) -> Report: map each op to a component, evaluate it, price it
(energy, area, leakage, budget and provenance from archsim.energy.model.price_run)."""
from __future__ import annotations

import attrs

from archsim.blocks.base import EvalContext, OpResult
from archsim.config.arch import ArchSpec
from archsim.energy.model import price_run
from archsim.errors import ModelError
from archsim.report.report import Report
from archsim.version import __version__
from archsim.workloads.load import Workload


def pick_component(arch: ArchSpec, op) -> str:
    """The arch's [mapping] entry for the op kind, else the first component that supports it."""
    name = arch.mapping.get(op.KIND)
    if name is not None:
        return name
    for cname, spec in arch.components.items():
        if arch.component_module(cname).supports(spec, op):
            return cname
    raise ModelError(f"no component of arch {arch.name!r} runs op {op.name or op.KIND!r} "
                     f"(kind {op.KIND}); components: "
                     + ", ".join(f"{n} ({k})" for n, k in arch.component_kinds.items()))


def scale_result(r: OpResult, times: int) -> OpResult:
    """`times` back-to-back repetitions of the same op."""
    if times == 1:
        return r
    return attrs.evolve(
        r, cycles=r.cycles * times, latency_s=r.latency_s * times, flops=r.flops * times,
        dram_bytes=r.dram_bytes * times,
        actions={k: v * times for k, v in r.actions.items()},
        energy_j=None if r.energy_j is None else r.energy_j * times,
        energy_breakdown_j={k: v * times for k, v in r.energy_breakdown_j.items()},
        details={**r.details, "repeat": times})


def evaluate_ops(arch: ArchSpec, workload: Workload) -> list[OpResult]:
    results = []
    for op in workload.ops:
        cname = pick_component(arch, op)
        spec = arch.components[cname]
        mod = arch.component_module(cname)
        if not mod.supports(spec, op):
            raise ModelError(f"component {cname!r} ({arch.component_kinds[cname]}) cannot run op "
                             f"{op.name!r} of kind {op.KIND}")
        ctx = EvalContext(arch=arch, component_name=cname, seed=workload.seed)
        r = mod.evaluate(spec, op, ctx)
        results.append(scale_result(r, op.repeat))
    return results


def simulate(arch: ArchSpec, workload: Workload, *, baseline: ArchSpec | None = None) -> Report:
    """Run `workload` on `arch` (and on `baseline`, a GPU arch, if given)."""
    results = evaluate_ops(arch, workload)
    priced = price_run(arch, results)
    base = simulate(baseline, workload) if baseline is not None else None
    return Report(archsim_version=__version__, arch=arch.name, workload=workload.name,
                  ops=tuple(priced.ops), components=tuple(priced.components),
                  budget=priced.budget, provenance=dict(priced.provenance),
                  power_trace=tuple(priced.power_trace), baseline=base,
                  meta={"arch_source": arch.source, "workload_source": workload.source,
                        "seed": workload.seed})

