"""The plausibility layer: work estimates before an op runs, range checks on the counts it
forms, and checks on every result before it is reported.

**Work estimates** (`check_work(arch, workload)`, exit 2). Before simulating, every op is
mapped to its component and the block's `work_estimate(spec, op)` (or the fallback for the
block kind in `_FALLBACK_ESTIMATES`) gives the op's expected simulation time and peak memory.
An op over budget is refused with a `WorkBudgetError` (a `ConfigError`: exit 2) that gives the
estimate and the knob to raise:

    ARCHSIM_MAX_OP_SECONDS      per-op simulation time budget, seconds   (default 300)
    ARCHSIM_MAX_OP_MEMORY_GIB   per-op memory budget, GiB                (default: half the RAM,
                                                                          at most 32)

Estimates are deliberately pessimistic (upper bounds of the kernels' loop trips times a
measured per-trip cost); they only need to tell seconds from hours.

**Count overflow** (one policy, also in docs/hardening.md). Counts a kernel forms exactly
(cycles, MACs, words) are int64 there. Before such a kernel runs, the block recomputes the
counts in Python's unbounded integers and refuses the op (`ModelError`, exit 1: a valid input
the model cannot evaluate exactly) when one would reach `SAFE_INT` = 2**62 — beyond that int64
arithmetic may wrap silently. Quantities that need no exactness (energy, latency in seconds,
bytes in the Report, action counts) are floats. Config integers are limited to int64 at load
time (archsim.config.load).

**Result checks** (`check_report(report, workload)`, exit 1). Every op and total of a Report:
cycles, latency, energy, flops, DRAM bytes, action counts, area and power finite and >= 0;
cycles an integer below 2**63; an op's flops at least the op's own count (`op.flops()` times
`repeat`, where the op defines one; a block may execute more, e.g. an implementation's extra
kernels) and at most FLOPS_MAX_RATIO times it. A violation is a `ModelError` naming the op, the component
and the field.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import attrs

from archsim.errors import ConfigError, ModelError

from archsim.limits import (DEFAULT_SECONDS, ENV_MEMORY, ENV_SECONDS, INT64_MAX,  # noqa: F401
                            MAX_DEFAULT_MEMORY_GIB, SAFE_INT, Work, WorkBudgetError, check_budget,
                            check_counts, max_op_bytes, max_op_seconds)

#: relative tolerance of the flops identity (float sums of exact integers)
FLOPS_RTOL = 1e-9
#: most FLOPs a block may execute per FLOP of the op's own count (implementation overheads)
FLOPS_MAX_RATIO = 1000.0


# ----------------------------------------------------------------------------- estimates

def _elements(*vals) -> float:
    out = 1.0
    for v in vals:
        out *= float(v)
    return out


def _est_gpu(spec, op) -> Work:
    return Work(1e-4, 0.0, "analytic GPU model")


def _est_host_link(spec, op) -> Work:
    return Work(1e-4, 0.0, "analytic link model")


def _est_ngpc(spec, op) -> Work:
    """NGPC: hash_encode simulates a bounded number of representative batches of
    `batch_points` points (warmup + measured) per level; mlp folds per micro-batch."""
    kind = getattr(op, "KIND", "")
    if kind == "hash_encode":
        batch = float(getattr(spec, "batch_points", 1 << 16))
        nb = float(getattr(spec, "warmup_batches", 4)) + float(getattr(spec, "measured_batches", 4))
        pts = min(float(op.n_points), batch * nb)
        lookups = pts * op.levels * (2 ** op.dims)
        # kernel ~ 20 ns per corner lookup (two passes); points and corner indices in memory
        return Work(2e-8 * lookups * 2, lookups * 16.0 + pts * op.dims * 8.0,
                    f"{lookups:.3g} simulated corner lookups")
    mlp = getattr(spec, "mlp", None)
    if kind == "mlp" and getattr(mlp, "mapping", "fixed") == "search":
        # the mapper: dataflows x (plain, transposed) x micro-batches (powers of two up to the
        # batch), each a fold-model pass over the layers (~20 us a layer)
        n = 1 + len(mlp.mapping_dataflows) * 2 * (math.log2(max(float(spec.batch_points), 1.0)) + 1)
        return Work(1e-3 + n * len(op.layers) * 2e-5, 0.0, f"MLP mapper over ~{n:.0f} candidates")
    return Work(1e-3, 0.0, "analytic")


def _est_vrex(spec, op) -> Work:
    """V-Rex: a GEMM (and attention / lowered LLM ops, which are GEMMs) searches the core
    partitions over the divisors of `cores`, a Python loop of `cores` trips per GEMM when the
    batch has fewer instances than cores; the DRE ops and transfers are closed form."""
    kind = getattr(op, "KIND", "")
    if kind in ("elementwise", "copy", "hash_cluster", "wicsum_select", "kv_fetch", "kv_transfer"):
        return Work(1e-4, 0.0, "analytic")
    cores = float(getattr(spec, "cores", 1))
    gemms = 8.0          # GEMMs per op, generously (attention: QK and PV per group; LLM lowerings)
    lxe = getattr(spec, "lxe", None)
    if kind == "gemm" and getattr(lxe, "mapping", "fixed") == "search":
        # the LXE mapper: per core split, loop orders x blockings (powers of two of the held
        # side), each a kernel call plus Python (~50 us)
        n = cores * len(lxe.mapping_orders) * (math.log2(max(float(op.m), float(op.n), 1.0)) + 2)
        return Work(gemms * cores * 1.5e-7 + n * 5e-5, 0.0, f"LXE mapper over ~{n:.0f} candidates")
    return Work(gemms * cores * 1.5e-7, 0.0, f"core-partition search over {cores:.3g} cores")


def _op_counts(op) -> dict:
    """The integers an op hands to int64 kernels: its integer fields, MACs and bytes."""
    out = {}
    for f in attrs.fields(type(op)):
        v = getattr(op, f.name)
        if isinstance(v, int) and not isinstance(v, bool):
            out[f.name] = v
        elif isinstance(v, tuple) and v and all(isinstance(x, int) for x in v):
            out[f.name] = max(v)
    for name, fn in (("macs", "macs"), ("bytes", "min_bytes"), ("flops", "flops")):
        g = getattr(op, fn, None)
        if callable(g):
            try:
                v = g()
            except (OverflowError, ValueError, TypeError, ZeroDivisionError):
                out[name] = SAFE_INT
                continue
            if isinstance(v, float):
                v = int(v) if math.isfinite(v) else SAFE_INT
            out[name] = v
    return out


def _spec_ints(spec, prefix: str = "") -> dict:
    """Every integer field of a (nested) attrs spec, by dotted name."""
    out = {}
    if not attrs.has(type(spec)):
        return out
    for f in attrs.fields(type(spec)):
        v = getattr(spec, f.name)
        if isinstance(v, int) and not isinstance(v, bool):
            out[prefix + f.name] = v
        elif attrs.has(type(v)):
            out.update(_spec_ints(v, prefix + f.name + "."))
    return out


def _product(*vals) -> int:
    out = 1
    for v in vals:
        out *= int(v)
    return out


def _vrex_counts(spec, op) -> dict:
    """V-Rex: the op's counts, and the structural counts its kernels multiply: lanes over all
    cores (vector unit), MAC-tree inputs over all cores, each times the op's largest size."""
    out = _op_counts(op)
    biggest = max([v for v in out.values() if isinstance(v, int)] or [1])
    try:
        lx, cores = spec.lxe, spec.cores
        lanes = _product(lx.vpe_lanes, lx.vpe_units, cores)
        trees = _product(lx.dpe_trees, lx.dpe_inputs, cores)
    except AttributeError:
        return out
    out["lxe vector lanes x cores x size"] = lanes * biggest
    out["lxe tree inputs x cores x size"] = trees * biggest
    for k, v in _spec_ints(spec).items():      # structural counts (bytes, lanes, tokens)
        out[f"components.*.{k}"] = v * biggest
    return out


#: Blocks whose kernels take int64 counts and do not check them yet: kind -> counts to check
#: (below SAFE_INT). The GPU model computes in floats and takes any size.
_FALLBACK_RANGES: dict[str, Callable[[Any, Any], dict]] = {
    "vrex": _vrex_counts,
    "ngpc": lambda spec, op: _op_counts(op),
    "host_link": lambda spec, op: _op_counts(op),
}


#: Blocks that do not (yet) export `work_estimate(spec, op)`: kind -> estimator.
_FALLBACK_ESTIMATES: dict[str, Callable[[Any, Any], Work]] = {
    "gpu": _est_gpu,
    "host_link": _est_host_link,
    "ngpc": _est_ngpc,
    "vrex": _est_vrex,
}


def estimate(arch, cname: str, op) -> Work:
    """The work estimate of `op` on component `cname` of `arch`."""
    kind = arch.component_kinds[cname]
    spec = arch.components[cname]
    mod = arch.component_module(cname)
    fn = getattr(mod, "work_estimate", None) or _FALLBACK_ESTIMATES.get(kind)
    if fn is None:
        return Work()
    try:
        w = fn(spec, op)
    except (AttributeError, TypeError):     # an estimator that does not know this op
        return Work()
    except (OverflowError, ValueError, ZeroDivisionError):
        return Work(math.inf, math.inf, "sizes beyond any budget")
    return w if isinstance(w, Work) else Work()


def find_component(arch, op) -> str | None:
    """The arch's [mapping] entry for the op kind, else the first component that supports it;
    None if none does (archsim.simulate.pick_component raises `no_component` then)."""
    name = arch.mapping.get(op.KIND)
    if name is not None:
        return name
    for cname, spec in arch.components.items():
        if arch.component_module(cname).supports(spec, op):
            return cname
    return None


def no_component(arch, op) -> ModelError:
    """The error for an op no component of `arch` runs."""
    return ModelError(f"no component of arch {arch.name!r} runs op {op.name or op.KIND!r} "
                      f"(kind {op.KIND}); components: "
                      + ", ".join(f"{n} ({k})" for n, k in arch.component_kinds.items()))


def cannot_run(arch, cname: str, op) -> ModelError:
    """The error for an op mapped to a component that does not support it."""
    return ModelError(f"component {cname!r} ({arch.component_kinds[cname]}) cannot run op "
                      f"{op.name!r} of kind {op.KIND}")


def check_work(arch, workload) -> None:
    """Refuse (exit 2) any op of `workload` whose estimated work on `arch` exceeds the budget.
    Ops no component runs are left to the simulator (it raises a ModelError for them)."""
    for i, op in enumerate(workload.ops):
        cname = find_component(arch, op)
        if cname is None:
            continue
        label = f"op {op.name or op.KIND + str(i)!r} ({op.KIND})"
        kind = arch.component_kinds[cname]
        mod = arch.component_module(cname)
        ranges = getattr(mod, "count_ranges", None) or _FALLBACK_RANGES.get(kind)
        if ranges is not None:
            check_counts(ranges(arch.components[cname], op), op_label=f"{label} on {cname} ({kind})",
                         hint="the op is too large for this block's exact counters; split it "
                              "and use repeat")
        w = estimate(arch, cname, op)
        check_budget(w, op_label=label, component=f"on {cname} ({kind})")


# ----------------------------------------------------------------------------- result checks

def _bad_number(v, *, integer: bool = False) -> str | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        try:
            v = float(v)
        except (TypeError, ValueError):
            return f"not a number ({v!r})"
    if isinstance(v, float) and not math.isfinite(v):
        return "not finite"
    if v < 0:
        return "negative"
    if integer and v > INT64_MAX:
        return "beyond the int64 range"
    return None


def _op_flops(op) -> float | None:
    fn = getattr(op, "flops", None)
    if not callable(fn):
        return None
    try:
        return float(fn()) * getattr(op, "repeat", 1)
    except (OverflowError, ValueError, TypeError):
        return None


def check_ops(results, workload=None, *, where: str = "") -> None:
    """Check per-op results (OpResult-like: name, op, component, cycles, latency_s, flops,
    dram_bytes, energy_j, actions). `workload` (same order) enables the flops identity."""
    ops = list(getattr(workload, "ops", None) or [])
    by_pos = len(ops) == len(results)
    for i, r in enumerate(results):
        label = f"{where}op {r.name!r} ({r.op} on {r.component})"
        for field, integer in (("cycles", True), ("latency_s", False), ("flops", False),
                               ("dram_bytes", False), ("energy_j", False)):
            v = getattr(r, field, None)
            if v is None:
                continue
            bad = _bad_number(v, integer=integer)
            if bad:
                raise ModelError(f"{label}: {field} = {v!r} is {bad}; the model produced an "
                                 "impossible result for this op's parameters")
        for k, v in (getattr(r, "actions", None) or {}).items():
            bad = _bad_number(v)
            if bad:
                raise ModelError(f"{label}: action count {k} = {v!r} is {bad}")
        for k, v in (getattr(r, "energy_breakdown_j", None) or {}).items():
            if isinstance(v, (int, float)) and not math.isfinite(v):
                raise ModelError(f"{label}: energy_breakdown_j.{k} = {v!r} is not finite")
        if by_pos:
            want = _op_flops(ops[i])
            got = getattr(r, "flops", None)
            # a block may execute more FLOPs than the op's own count (an implementation's extra
            # kernels: rotate_half's negation, padding), never fewer, and not orders of magnitude
            # more: outside [1, FLOPS_MAX_RATIO] x the op's count a count overflowed or was lost
            if want is not None and got is not None and want > 0 and not \
                    want * (1 - FLOPS_RTOL) <= float(got) <= want * FLOPS_MAX_RATIO:
                raise ModelError(f"{label}: flops = {float(got):.6g} but the op itself counts "
                                 f"{want:.6g} (op.flops() x repeat); a count overflowed or was lost")


def check_report(report, workload=None, *, where: str = "") -> None:
    """Check a Report (and its baseline) before it is shown or written; ModelError if any op,
    component or total is impossible (negative, not finite, flops not the op's own). `where`
    prefixes the message (e.g. "baseline: "). archsim.simulate.simulate calls this on every
    Report it returns."""
    _check_one(report, workload, where=where)
    base = getattr(report, "baseline", None)
    if base is not None:
        _check_one(base, workload, where=where + "baseline: ")


def _check_one(report, workload, *, where: str) -> None:
    check_ops(report.ops, workload, where=where)
    for c in getattr(report, "components", ()) or ():
        for field in ("area_mm2", "leakage_power_w", "energy_j", "utilization"):
            v = getattr(c, field, None)
            if v is None:
                continue
            bad = _bad_number(v)
            if bad:
                raise ModelError(f"{where}component {c.name!r} ({c.kind}): {field} = {v!r} is {bad}")
    totals = report.totals()
    for k, v in totals.items():
        if isinstance(v, (list, tuple)):
            if any(isinstance(x, float) and not math.isfinite(x) for x in v):
                raise ModelError(f"{where}totals.{k} = {v!r} is not finite")
            continue
        if v is None:
            continue
        bad = _bad_number(v, integer=(k == "cycles"))
        if bad:
            raise ModelError(f"{where}totals.{k} = {v!r} is {bad} (report of {report.workload} "
                             f"on {report.arch})")


def check_row_totals(totals: Mapping[str, Any], *, label: str) -> None:
    """The same checks on a stored sweep row's totals (a dict)."""
    for k, v in (totals or {}).items():
        if isinstance(v, (list, tuple)) or v is None:
            continue
        bad = _bad_number(v, integer=(k == "cycles"))
        if bad:
            raise ModelError(f"{label}: totals.{k} = {v!r} is {bad}")


# ----------------------------------------------------------------------------- arch preflight

#: Blocks without a `preflight(spec, arch, cname)` of their own: kind -> check.
_FALLBACK_PREFLIGHT: dict[str, Callable] = {}


def check_arch(arch) -> None:
    """Every check `run` makes on an arch short of simulating: the tech table is found and
    valid and the node scales, every component's structure prices (area, leakage, budget), and
    a block's own `preflight(spec, arch, cname)` passes. ConfigError / ModelError."""
    from archsim.energy.model import price_run
    price_run(arch, [])
    for cname, spec in arch.components.items():
        mod = arch.component_module(cname)
        fn = getattr(mod, "preflight", None)
        if fn is not None:
            fn(spec, arch, cname)
            continue
        fb = _FALLBACK_PREFLIGHT.get(arch.component_kinds[cname])
        if fb is not None:
            fb(mod, spec, arch, cname)


def check_pair(arch, workload) -> None:
    """What `run ARCH WORKLOAD` checks before simulating: every op has a component that runs
    it (ModelError otherwise) and no op exceeds the work budget (WorkBudgetError)."""
    for op in workload.ops:
        cname = find_component(arch, op)
        if cname is None:
            raise no_component(arch, op)
        spec = arch.components[cname]
        if not arch.component_module(cname).supports(spec, op):
            raise cannot_run(arch, cname, op)
    check_work(arch, workload)
