"""Run streaming video-LLM steps with their overlaps (the latency model for V-Rex studies).

`simulate()` sums op latencies serially; a V-Rex layer overlaps KV prediction on the DRE and
the KVMU's PCIe fetch with LXE compute, and the GPU baselines overlap their prefetch with GPU
compute (papers/vrex.md Fig. 5, §VI-B). Here each task of a step (archsim.blocks.vrex.policies) runs
on one resource — compute (LXE or GPU), hcu, wtu, link (V-Rex KVMU: both directions in one op)
or link_rd / link_wr (GPU baselines) — in program order per resource, and starts when its
resource is free and its dependencies are done (list scheduling). Step latency = the last end.

Energy of a step = dynamic energy of its ops (V-Rex: its action counts priced by the energy
layer; GPU: the GPU model's own energy) + PCIe at `power_w_per_lane` x lanes while the link is
busy (the paper's 3 W per lane at full load, §VI-A, on both sides) + SSD traffic priced by the
tech table + static power (leakage, DRAM background, SSD idle) x step latency.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import attrs

from archsim.blocks.vrex import model as vrex_mod
from archsim.blocks.base import EvalContext, OpResult, Structure
from archsim.blocks.host_link.model import host_transfer
from archsim.simulate import scale_result
from archsim.blocks.host_link.ops import KvTransfer

_VREX_RESOURCE = {"lxe": "compute", "hcu": "hcu", "wtu": "wtu", "kvmu": "link"}


@attrs.frozen(kw_only=True)
class Evaluated:
    result: OpResult
    resource: str
    energy_j: float            # dynamic energy incl. link and SSD
    link_bytes: float = 0.0    # wire bytes over PCIe


@attrs.frozen(kw_only=True)
class TaskRun:
    name: str
    stage: str
    layer: int
    resource: str
    start_s: float
    end_s: float
    energy_j: float
    flops: float
    dram_bytes: float
    link_bytes: float


@attrs.frozen(kw_only=True)
class StepRun:
    kind: str
    kv_len: int
    batch: int
    latency_s: float
    energy_j: float
    dynamic_energy_j: float
    static_power_w: float
    flops: float
    dram_bytes: float
    link_bytes: float
    prediction_exposed_s: float     # latency removed if prediction took no time
    prediction_busy_s: float        # total time spent in prediction tasks
    tasks: tuple[TaskRun, ...] = ()


def _energy_sum(d) -> float:
    return float(sum(d.values()))


class VrexEvaluator:
    """Evaluates ops on a V-Rex arch (one `vrex` component)."""

    def __init__(self, arch, component: str = "vrex"):
        from archsim.energy.model import leakage_power_w
        self.arch = arch
        self.spec = arch.components[component]
        self.ctx = EvalContext(arch=arch, component_name=component)
        self.structure = vrex_mod.structure(self.spec)
        self.tech = arch.tech
        self._cache: dict = {}
        ssd_idle = self.spec.ssd.idle_power_w if self.spec.kvmu.offload == "ssd" else 0.0
        self.static_power_w = leakage_power_w(self.structure, self.tech) + ssd_idle
        self.link_power_w = self.spec.host_link.power_w_per_lane * self.spec.host_link.lanes
        self.gap_power_w = 0.0

    @property
    def peak_flops(self) -> float:
        return vrex_mod.peak_flops(self.spec)

    def __call__(self, op) -> Evaluated:
        hit = self._cache.get(op)
        if hit is not None:
            return hit
        from archsim.energy.model import price_actions
        base = op if op.repeat == 1 else attrs.evolve(op, repeat=1)
        r = scale_result(vrex_mod.evaluate(self.spec, base, self.ctx), op.repeat)
        acts = {k: v for k, v in r.actions.items() if not k.startswith("link.")}
        e = _energy_sum(price_actions(self.structure, acts, self.tech))
        link_bytes = float(r.actions.get("link.pcie.bytes", 0.0))
        if link_bytes:
            e += self.link_power_w * float(r.details.get("link_busy_s", 0.0)) * op.repeat
        ev = Evaluated(result=attrs.evolve(r, energy_j=e), resource=_VREX_RESOURCE[r.details["unit"]],
                       energy_j=e, link_bytes=link_bytes)
        self._cache[op] = ev
        return ev


class GpuEvaluator:
    """Evaluates ops on a GPU arch; KV transfers go over the host link of `system_spec` (the
    paired V-Rex system's PCIe / SSD / CPU memory — Tab. I gives both sides the same)."""

    def __init__(self, gpu_arch, system_spec, component: str | None = None):
        from archsim.energy.model import price_actions  # noqa: F401  (fail early if absent)
        self.arch = gpu_arch
        self.cname = component or next(iter(gpu_arch.components))
        self.spec = gpu_arch.components[self.cname]
        self.mod = gpu_arch.component_module(self.cname)
        self.ctx = EvalContext(arch=gpu_arch, component_name=self.cname)
        self.sys = system_spec
        self._cache: dict = {}
        self.link_power_w = system_spec.host_link.power_w_per_lane * system_spec.host_link.lanes
        self.static_power_w = (system_spec.ssd.idle_power_w if system_spec.kvmu.offload == "ssd" else 0.0) \
            + _gpu_static_power_w(self.mod, self.spec)
        self._ssd_structure = Structure(name="ssd", kind="ssd", clock_ghz=1.0)
        # the GPU model charges idle power only while its ops run; charge it in the gaps too
        self.gap_power_w = float(getattr(self.spec, "idle_power_w", 0.0))

    @property
    def peak_flops(self) -> float:
        return _gpu_peak_flops(self.mod, self.spec)

    def __call__(self, op) -> Evaluated:
        hit = self._cache.get(op)
        if hit is not None:
            return hit
        if isinstance(op, KvTransfer):
            ev = self._transfer(op)
        else:
            base = op if op.repeat == 1 else attrs.evolve(op, repeat=1)
            r = scale_result(self.mod.evaluate(self.spec, base, self.ctx), op.repeat)
            ev = Evaluated(result=r, resource="compute", energy_j=float(r.energy_j or 0.0))
        self._cache[op] = ev
        return ev

    def _transfer(self, op: KvTransfer) -> Evaluated:
        from archsim.energy.model import price_actions
        s = self.sys
        tr = host_transfer(s.host_link, op.bytes, op.chunk_bytes, source=op.source, direction=op.direction,
                           ssd=s.ssd, host_mem=s.host_memory, region_bytes=op.region_bytes)
        e = self.link_power_w * tr.link_s
        if op.source == "ssd":
            key = "ssd.read_bytes" if op.direction == "to_device" else "ssd.write_bytes"
            e += _energy_sum(price_actions(self._ssd_structure, {key: tr.storage_bytes}))
        lat = tr.time_s * op.repeat
        r = OpResult(name=op.name or op.KIND, op=op.KIND, component="host_link", cycles=0, latency_s=lat,
                     dram_bytes=float(op.bytes) * op.repeat, bound="link", energy_j=e * op.repeat,
                     details={"link_busy_s": tr.link_s * op.repeat, "wire_bytes": tr.wire_bytes * op.repeat})
        return Evaluated(result=r, resource="link_rd" if op.direction == "to_device" else "link_wr",
                         energy_j=e * op.repeat, link_bytes=tr.wire_bytes * op.repeat)


def _gpu_static_power_w(mod, spec) -> float:
    """Idle power the GPU model does not already charge per op (0 when its op energies include
    it). Uses the module's `static_power_w(spec)` if it provides one."""
    fn = getattr(mod, "static_power_w", None)
    return float(fn(spec)) if fn is not None else 0.0


def _gpu_peak_flops(mod, spec) -> float:
    """Dense BF16 (else FP16) tensor peak in FLOP/s."""
    rates = getattr(spec, "tensor_tflops", None)
    for d in ("bf16", "fp16"):
        v = getattr(rates, d, None) if rates is not None else None
        if v:
            return float(v) * 1e12
    return float("nan")


def schedule(durations, resources, deps) -> tuple[list[float], list[float]]:
    """List scheduling: in program order, start = max(resource free, deps' ends)."""
    free: dict[str, float] = defaultdict(float)
    start, end = [], []
    for i, dur in enumerate(durations):
        r = resources[i]
        s = free[r]
        for d in deps[i]:
            if end[d] > s:
                s = end[d]
        e = s + dur
        start.append(s)
        end.append(e)
        free[r] = e
    return start, end


def run_step(step, evaluator, *, keep_tasks: bool = False) -> StepRun:
    evs = [evaluator(t.op) for t in step.tasks]
    durs = [ev.result.latency_s for ev in evs]
    res = [ev.resource for ev in evs]
    deps = [t.deps for t in step.tasks]
    start, end = schedule(durs, res, deps)
    latency = max(end) if end else 0.0
    pred = [t.is_prediction for t in step.tasks]
    durs0 = [0.0 if p else d for p, d in zip(pred, durs)]
    _, end0 = schedule(durs0, res, deps)
    lat0 = max(end0) if end0 else 0.0
    dyn = float(sum(ev.energy_j for ev in evs))
    busy = sum(d for d, r in zip(durs, res) if r == "compute")
    dyn += evaluator.gap_power_w * max(0.0, latency - busy)
    static = evaluator.static_power_w
    tasks = ()
    if keep_tasks:
        tasks = tuple(TaskRun(name=t.name, stage=t.stage, layer=t.layer, resource=ev.resource, start_s=s, end_s=e,
                              energy_j=ev.energy_j, flops=ev.result.flops, dram_bytes=ev.result.dram_bytes,
                              link_bytes=ev.link_bytes)
                      for t, ev, s, e in zip(step.tasks, evs, start, end))
    return StepRun(kind=step.kind, kv_len=step.kv_len, batch=step.batch, latency_s=latency,
                   energy_j=dyn + static * latency, dynamic_energy_j=dyn, static_power_w=static,
                   flops=float(sum(ev.result.flops for ev in evs)),
                   dram_bytes=float(sum(ev.result.dram_bytes for ev in evs)),
                   link_bytes=float(sum(ev.link_bytes for ev in evs)),
                   prediction_exposed_s=max(0.0, latency - lat0),
                   prediction_busy_s=float(sum(d for p, d in zip(pred, durs) if p)), tasks=tasks)


def bandwidth_timeline(run: StepRun, *, layer: int, n_points: int = 600) -> dict[str, Any]:
    """DRAM and PCIe bandwidth (GB/s) over one layer period of a kept-task StepRun: from the end
    of layer-1's last task to the end of `layer`'s last task (so in-flight prefetches of the
    next layer show). Each task spreads its bytes evenly over its duration; `phases` lists
    (stage, layer, start, end, resource) of the tasks overlapping the window, times relative
    to its start."""
    def last_end(lay):
        ends = [t.end_s for t in run.tasks if t.layer == lay and t.resource == "compute"]
        return max(ends) if ends else None
    t1 = last_end(layer)
    if t1 is None:
        return {"t_s": [], "dram_gb_s": [], "pcie_gb_s": [], "phases": []}
    t0 = last_end(layer - 1)
    if t0 is None:
        t0 = min(t.start_s for t in run.tasks if t.layer == layer)
    grid = [t0 + (t1 - t0) * i / (n_points - 1) for i in range(n_points)]
    dram = [0.0] * n_points
    pcie = [0.0] * n_points
    phases = []
    for t in run.tasks:
        dur = t.end_s - t.start_s
        if dur <= 0 or t.end_s <= t0 or t.start_s >= t1:
            continue
        phases.append((t.stage, t.layer, max(t.start_s, t0) - t0, min(t.end_s, t1) - t0, t.resource))
        bw_d = t.dram_bytes / dur / 1e9
        bw_l = t.link_bytes / dur / 1e9
        for i, x in enumerate(grid):
            if t.start_s <= x < t.end_s:
                dram[i] += bw_d
                pcie[i] += bw_l
    return {"t_s": [g - t0 for g in grid], "dram_gb_s": dram, "pcie_gb_s": pcie, "phases": phases}
