"""simulate(arch, workload) -> Report: the one path every command takes.

    evaluate each op on the component the arch maps it to (OpResult: cycles, action counts,
    placement)  ->  schedule the op graph over the resources (archsim.schedule: dependencies,
    resources, chunk pipelining -> timeline)  ->  price the run once (archsim.energy.model:
    actions x energy per action, static power over the makespan, area, power trace from the
    timeline, budget)  ->  Report.

`run`, `sweep` and `reproduce` all call this function; the latency of a run is the makespan of
its timeline.
"""
from __future__ import annotations

import attrs

from archsim.blocks.base import EvalContext, OpResult
from archsim.config.arch import ArchSpec
from archsim.energy.model import OpPricer, price_run
from archsim.errors import ModelError
from archsim.memory_plan import llm_metrics, plan_memory
from archsim.report.report import Report
from archsim.schedule import Timeline, schedule_arrays
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
    """`times` back-to-back repetitions of the same op: every count and time scales. An op that
    streams in chunks streams `times` as many (with `times` prologues up front); an op that does
    not stream stays one block (its repetitions do not pipeline with other ops). `details`
    keep describing one repetition (plus `repeat`)."""
    if times == 1:
        return r
    pl = r.placement
    if pl is not None:
        pl = attrs.evolve(pl, chunks=pl.chunks * times if pl.chunks > 1 else 1,
                          prologue_s=pl.prologue_s * times, channel_s=pl.channel_s * times)
    return attrs.evolve(
        r, cycles=r.cycles * times, latency_s=r.latency_s * times, flops=r.flops * times,
        dram_bytes=r.dram_bytes * times,
        actions={k: v * times for k, v in r.actions.items()},
        energy_j=None if r.energy_j is None else r.energy_j * times,
        energy_breakdown_j={k: v * times for k, v in r.energy_breakdown_j.items()},
        details={**r.details, "repeat": times}, placement=pl)


def evaluate_op(arch: ArchSpec, op, seed: int = 0) -> OpResult:
    """One op on the component the arch maps it to, repeats included."""
    cname = pick_component(arch, op)
    spec = arch.components[cname]
    mod = arch.component_module(cname)
    if not mod.supports(spec, op):
        raise ModelError(f"component {cname!r} ({arch.component_kinds[cname]}) cannot run op "
                         f"{op.name!r} of kind {op.KIND}")
    ctx = EvalContext(arch=arch, component_name=cname, seed=seed, pricer=OpPricer(arch, cname))
    return scale_result(mod.evaluate(spec, op, ctx), op.repeat)


def evaluate_ops(arch: ArchSpec, workload: Workload) -> list[OpResult]:
    return [evaluate_op(arch, op, workload.seed) for op in workload.ops]


def schedule_results(results, workload: Workload) -> Timeline:
    """The timeline of evaluated ops under the workload's dependencies."""
    return schedule_arrays(
        [r.latency_s for r in results], [r.resource for r in results], workload.dep_arrays,
        chunks=[r.placement.chunks if r.placement is not None else 1 for r in results],
        prologue_s=[r.placement.prologue_s if r.placement is not None else 0.0 for r in results],
        interleave=[r.placement is not None and r.placement.interleave for r in results],
        channel=[r.placement.channel if r.placement is not None else "" for r in results],
        channel_s=[r.placement.channel_s if r.placement is not None else 0.0 for r in results])


def simulate(arch: ArchSpec, workload: Workload, *, baseline: ArchSpec | None = None) -> Report:
    """Run `workload` on `arch` (and on `baseline`, e.g. a GPU arch, if given). LLM workloads
    are checked against the device's memory first (archsim.memory_plan)."""
    original = workload
    arch, workload, memory = plan_memory(arch, workload, pick_component)
    results = evaluate_ops(arch, workload)
    timeline = schedule_results(results, workload)
    priced = price_run(arch, results, timeline)
    base = simulate(baseline, original) if baseline is not None else None
    return Report(archsim_version=__version__, arch=arch.name, workload=workload.name,
                  ops=priced.ops, components=priced.components, totals=priced.totals,
                  timeline=timeline, budget=priced.budget, provenance=dict(priced.provenance),
                  power_trace=priced.power_trace, baseline=base, memory=memory,
                  llm=llm_metrics(workload, timeline),
                  meta={"arch_source": arch.source, "workload_source": workload.source,
                        "seed": workload.seed})
