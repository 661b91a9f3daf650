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

from archsim.blocks.base import EvalContext, OpResult, Placement
from archsim.config.arch import ArchSpec
from archsim.energy.model import OpPricer, price_run
from archsim.errors import ConfigError
from archsim.memory_plan import llm_metrics, plan_memory
from archsim.plausibility import cannot_run, check_report, find_component, no_component
from archsim.report.report import Report
from archsim.schedule import Timeline, schedule_arrays
from archsim.version import __version__
from archsim.workloads.load import Workload


def pick_component(arch: ArchSpec, op) -> str:
    """The arch's [mapping] entry for the op kind, else the first component that supports it."""
    name = find_component(arch, op)
    if name is None:
        raise no_component(arch, op)
    return name


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


def evaluate_op(arch: ArchSpec, op, seed: int = 0, device: int = 0) -> OpResult:
    """One op on the component the arch maps it to (on device `device` of a multi-device arch),
    repeats included."""
    cname = arch.device_component(pick_component(arch, op), device)
    spec = arch.components[cname]
    mod = arch.component_module(cname)
    if not mod.supports(spec, op):
        raise cannot_run(arch, cname, op)
    ctx = EvalContext(arch=arch, component_name=cname, seed=seed, pricer=OpPricer(arch, cname))
    return scale_result(mod.evaluate(spec, op, ctx), op.repeat)


def _relabel(r: OpResult, arch: ArchSpec, device: int) -> OpResult:
    """A result evaluated on device 0 moved to device `device`: the replica's component,
    resources and DRAM channel (`gpu0.sm` -> `gpu3.sm`); a component that is not replicated
    (the interconnect) gets the index on its resource (`nvswitch.link` -> `nvswitch.link3`)."""
    t = arch.system.device
    res = r.resource
    pl = r.placement
    ch = pl.channel if pl is not None else ""
    if r.component == f"{t}0":                     # a replica: rename the prefix
        comp = f"{t}{device}"

        def move(name):
            return comp + name[len(r.component):] if name.startswith(r.component) else name
        res, ch = move(res), move(ch) if ch else ch
    else:
        comp, res = r.component, f"{res}{device}"
        ch = f"{ch}{device}" if ch else ch
    if pl is not None:
        pl = attrs.evolve(pl, resource=res, channel=ch)
    elif res != comp:
        pl = Placement(resource=res)
    return attrs.evolve(r, component=comp, placement=pl)


def check_devices(arch: ArchSpec, workload: Workload) -> None:
    """A split workload needs as many devices as its split names: ConfigError (exit 2) naming
    the numbers otherwise."""
    need = max(workload.devices) + 1 if workload.devices else 1
    if need > arch.devices:
        split = workload.meta.get("parallel", {})
        what = (" x ".join(f"{k} {split[k]}" for k in ("tensor_parallel", "pipeline_parallel", "expert_parallel")
                           if k in split) or f"device indices up to {need - 1}")
        raise ConfigError(workload.source or workload.name, "params.tensor_parallel" if split else "device",
                          f"the split {what} needs {need} devices; arch {arch.name} has {arch.devices} "
                          f"(system.devices = {arch.devices}); allowed: a split whose product is <= "
                          f"{arch.devices}, or --set system.devices={need} on a multi-device preset")


def evaluate_ops(arch: ArchSpec, workload: Workload) -> list[OpResult]:
    """Every op evaluated; on a multi-device arch, an op placed on device d is evaluated once on
    device 0 (replicas share one spec) and moved to device d's component and resources."""
    if arch.system is None or workload.devices is None:
        return [evaluate_op(arch, op, workload.seed) for op in workload.ops]
    cache: dict = {}
    out = []
    for i, op in enumerate(workload.ops):
        try:
            r = cache.get(op)
        except TypeError:            # an op with unhashable fields
            r = None
        if r is None:
            r = evaluate_op(arch, op, workload.seed, 0)
            try:
                cache[op] = r
            except TypeError:
                pass
        out.append(_relabel(r, arch, workload.device_of(i)))
    return out


def schedule_results(results, workload: Workload) -> Timeline:
    """The timeline of evaluated ops under the workload's dependencies."""
    pls = [r.placement for r in results]
    placed = [p for p in pls if p is not None]
    return schedule_arrays(
        [r.latency_s for r in results], [r.resource for r in results], workload.dep_arrays,
        chunks=[p.chunks if p is not None else 1 for p in pls] if placed else None,
        prologue_s=[p.prologue_s if p is not None else 0.0 for p in pls] if placed else None,
        interleave=[p is not None and p.interleave for p in pls] if any(p.interleave for p in placed) else None,
        channel=[p.channel if p is not None else "" for p in pls] if any(p.channel for p in placed) else None,
        channel_s=[p.channel_s if p is not None else 0.0 for p in pls] if any(p.channel for p in placed) else None)


def _run(arch: ArchSpec, workload: Workload) -> tuple[Report, Workload]:
    """One arch, unchecked: the Report (no baseline) and the workload it ran (with the memory
    plan's offload transfers, one op per result)."""
    check_devices(arch, workload)
    arch, workload, memory = plan_memory(arch, workload, pick_component)
    results = evaluate_ops(arch, workload)
    timeline = schedule_results(results, workload)
    priced = price_run(arch, results, timeline)
    report = Report(archsim_version=__version__, arch=arch.name, workload=workload.name,
                    ops=priced.ops, components=priced.components, totals=priced.totals,
                    timeline=timeline, budget=priced.budget, provenance=dict(priced.provenance),
                    power_trace=priced.power_trace, baseline=None, memory=memory,
                    llm=llm_metrics(workload, timeline),
                    meta={"arch_source": arch.source, "workload_source": workload.source,
                          "seed": workload.seed})
    return report, workload


def simulate(arch: ArchSpec, workload: Workload, *, baseline: ArchSpec | None = None) -> Report:
    """Run `workload` on `arch` (and on `baseline`, e.g. a GPU arch, if given). LLM workloads
    are checked against the device's memory first (archsim.memory_plan). Every Report returned
    has passed the result checks (archsim.plausibility.check_report): an impossible number
    (negative, not finite, flops not the op's own) is a ModelError naming the op and field."""
    report, ran = _run(arch, workload)
    check_report(report, ran)
    if baseline is None:
        return report
    base, base_ran = _run(baseline, workload)
    check_report(base, base_ran, where="baseline: ")
    return attrs.evolve(report, baseline=base)
