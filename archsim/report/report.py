"""One Report per (arch, workload) run; DESIGN.md §3 gives its JSON shape.

The Report holds what simulate produced: the priced ops, the timeline, and the totals that
pricing computed (archsim.energy.model.RunTotals) — it derives nothing twice. Energy fields are
absent (not zero) when no energy model priced the run.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import math
from typing import Any, Mapping

import attrs

from archsim.blocks.base import OpResult
from archsim.energy.model import ComponentSummary, RunTotals
from archsim.schedule import Timeline


def _clean(v):
    """JSON-safe value: tuples -> lists, numpy scalars -> Python, NaN/inf -> None."""
    if isinstance(v, Mapping):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            return v.tolist()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


@attrs.frozen(kw_only=True)
class Report:
    archsim_version: str
    arch: str
    workload: str
    ops: tuple[OpResult, ...]
    totals_: RunTotals = attrs.field(alias="totals")
    components: tuple[ComponentSummary, ...] = ()
    timeline: Timeline | None = None
    budget: Mapping[str, Any] | None = None
    provenance: Mapping[str, Any] = attrs.field(factory=dict)
    power_trace: tuple[Mapping[str, float], ...] = ()   # [{"t_start_s","t_end_s","power_w",...}]
    baseline: "Report | None" = None
    meta: Mapping[str, Any] = attrs.field(factory=dict)
    memory: Mapping[str, Any] | None = None     # LLM workloads: device memory (bytes) and fit
    llm: Mapping[str, Any] | None = None        # LLM workloads: ttft_s, tpot_s, e2e_s, tokens_per_s

    # ------------------------------------------------------------------ totals (from pricing)
    @property
    def latency_s(self) -> float:
        return self.totals_.latency_s

    @property
    def cycles(self) -> int:
        return self.totals_.cycles

    @property
    def has_energy(self) -> bool:
        return self.totals_.energy_j is not None

    @property
    def dynamic_energy_j(self) -> float | None:
        return self.totals_.dynamic_energy_j

    @property
    def leakage_power_w(self) -> float | None:
        return self.totals_.leakage_power_w

    @property
    def energy_j(self) -> float | None:
        return self.totals_.energy_j

    @property
    def area_mm2(self) -> float | None:
        return self.totals_.area_mm2

    @property
    def avg_power_w(self) -> float | None:
        return self.totals_.avg_power_w

    @property
    def peak_power_w(self) -> float | None:
        return self.totals_.peak_power_w

    def totals(self) -> dict:
        return self.totals_.to_dict()

    def timeline_dict(self) -> dict | None:
        """Per-resource busy time and utilisation, and the critical path (op names)."""
        tl = self.timeline
        if tl is None:
            return None
        owner = {}
        for o in self.ops:
            owner.setdefault(o.resource, o.component)
        return {"makespan_s": tl.makespan_s,
                "resources": [{"name": u.name, "component": owner.get(u.name), "busy_s": u.busy_s,
                               "utilization": u.utilization, "ops": u.ops} for u in tl.resources],
                "critical_path": [self.ops[i].name or self.ops[i].op for i in tl.critical_path]}

    # ------------------------------------------------------------------ comparisons
    @property
    def speedup(self) -> float | None:
        if self.baseline is None or self.latency_s <= 0:
            return None
        return self.baseline.latency_s / self.latency_s

    @property
    def energy_gain(self) -> float | None:
        if self.baseline is None or not self.energy_j or self.baseline.energy_j is None:
            return None
        return self.baseline.energy_j / self.energy_j

    def op_dict(self, i: int) -> dict:
        o = self.ops[i]
        d = {"name": o.name, "op": o.op, "component": o.component, "cycles": int(o.cycles),
             "latency_s": o.latency_s, "flops": o.flops, "dram_bytes": o.dram_bytes, "bound": o.bound,
             "resource": o.resource}
        tl = self.timeline
        if tl is not None:
            d["start_s"] = float(tl.start_s[i])
            d["end_s"] = float(tl.end_s[i])
            d["critical"] = i in self._critical
        if o.placement is not None and o.placement.chunks > 1:
            d["chunks"] = o.placement.chunks
            d["prologue_s"] = o.placement.prologue_s
        if o.energy_j is not None:
            d["energy_j"] = o.energy_j
            if o.energy_breakdown_j:
                d["energy_breakdown_j"] = dict(o.energy_breakdown_j)
        if o.latency_error_band is not None:
            d["latency_error_band"] = list(o.latency_error_band)
        d["actions"] = dict(o.actions)
        d.update({k: v for k, v in o.details.items() if k not in d})
        if self.baseline is not None and i < len(self.baseline.ops):
            b = self.baseline.ops[i]
            d["baseline_latency_s"] = b.latency_s
            d["speedup"] = b.latency_s / o.latency_s if o.latency_s > 0 else None
            if b.energy_j is not None and o.energy_j:
                d["baseline_energy_j"] = b.energy_j
                d["energy_gain"] = b.energy_j / o.energy_j
        return d

    def to_dict(self) -> dict:
        out: dict[str, Any] = {
            "archsim_version": self.archsim_version,
            "arch": self.arch,
            "workload": self.workload,
            "totals": self.totals(),
            "ops": [self.op_dict(i) for i in range(len(self.ops))],
            "components": [
                {k: v for k, v in attrs.asdict(c).items() if v is not None and v != {}}
                for c in self.components],
        }
        tl = self.timeline_dict()
        if tl is not None:
            out["timeline"] = tl
        if self.budget is not None:
            out["budget"] = dict(self.budget)
        out["provenance"] = dict(self.provenance)
        if self.power_trace:
            out["power_trace"] = [dict(p) for p in self.power_trace]
        if self.meta:
            out["meta"] = dict(self.meta)
        if self.memory is not None:
            out["memory"] = dict(self.memory)
        if self.llm is not None:
            out["llm"] = dict(self.llm)
        if self.baseline is not None:
            out["baseline"] = self.baseline.to_dict()
            out["speedup"] = self.speedup
            out["energy_gain"] = self.energy_gain
        return _clean(out)

    @functools.cached_property
    def _critical(self) -> frozenset:
        return frozenset(self.timeline.critical_path) if self.timeline is not None else frozenset()

    def timeline_csv(self) -> str:
        """One row per op: name, op, component, resource, start_s, end_s, critical."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["name", "op", "component", "resource", "start_s", "end_s", "critical"])
        tl = self.timeline
        for i, o in enumerate(self.ops):
            s = float(tl.start_s[i]) if tl is not None else ""
            e = float(tl.end_s[i]) if tl is not None else ""
            w.writerow([o.name, o.op, o.component, o.resource, s, e, i in self._critical])
        return buf.getvalue()

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def ops_csv(self) -> str:
        """One row per op; header and values from the same dicts (csv.DictWriter)."""
        rows = []
        for i in range(len(self.ops)):
            d = self.op_dict(i)
            actions = d.pop("actions", {})
            d.pop("energy_breakdown_j", None)
            row = {k: v for k, v in d.items() if not isinstance(v, (dict, list))}
            row.update({f"action.{k}": v for k, v in actions.items()})
            rows.append(_clean(row))
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(c for r in rows for c in r)), restval="")
        w.writeheader()
        w.writerows(rows)
        return buf.getvalue()
