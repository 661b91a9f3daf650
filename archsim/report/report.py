"""One Report per (arch, workload) run; DESIGN.md §3 gives its JSON shape.

Totals are sums over the per-op results; power = energy / latency is derived here, never
stored twice. Energy fields are absent (not zero) when no energy model priced the run.
"""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Mapping

import attrs

from archsim.blocks.base import OpResult


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
class ComponentSummary:
    name: str
    kind: str
    area_mm2: float | None = None
    leakage_power_w: float | None = None
    energy_j: float | None = None
    utilization: float | None = None       # busy time / run latency, 0..1
    breakdown: Mapping[str, Any] = attrs.field(factory=dict)   # e.g. area per sub-part


@attrs.frozen(kw_only=True)
class Report:
    archsim_version: str
    arch: str
    workload: str
    ops: tuple[OpResult, ...]
    components: tuple[ComponentSummary, ...] = ()
    budget: Mapping[str, Any] | None = None
    provenance: Mapping[str, Any] = attrs.field(factory=dict)
    power_trace: tuple[Mapping[str, float], ...] = ()   # [{"t_start_s","t_end_s","power_w","op"}]
    baseline: "Report | None" = None
    meta: Mapping[str, Any] = attrs.field(factory=dict)

    # ------------------------------------------------------------------ totals
    @property
    def latency_s(self) -> float:
        return float(sum(o.latency_s for o in self.ops))

    @property
    def cycles(self) -> int:
        return int(sum(o.cycles for o in self.ops))

    @property
    def has_energy(self) -> bool:
        return bool(self.ops) and all(o.energy_j is not None for o in self.ops)

    @property
    def dynamic_energy_j(self) -> float | None:
        return float(sum(o.energy_j for o in self.ops)) if self.has_energy else None

    @property
    def leakage_power_w(self) -> float | None:
        vals = [c.leakage_power_w for c in self.components]
        return float(sum(vals)) if vals and all(v is not None for v in vals) else None

    @property
    def energy_j(self) -> float | None:
        """Dynamic energy of every op plus leakage over the whole latency."""
        dyn = self.dynamic_energy_j
        if dyn is None:
            return None
        leak = self.leakage_power_w or 0.0
        return dyn + leak * self.latency_s

    @property
    def area_mm2(self) -> float | None:
        vals = [c.area_mm2 for c in self.components]
        return float(sum(vals)) if vals and all(v is not None for v in vals) else None

    @property
    def avg_power_w(self) -> float | None:
        e = self.energy_j
        return e / self.latency_s if e is not None and self.latency_s > 0 else None

    @property
    def peak_power_w(self) -> float | None:
        if not self.power_trace:
            return None
        return float(max(p["power_w"] for p in self.power_trace))

    def totals(self) -> dict:
        t = {"cycles": self.cycles, "latency_s": self.latency_s,
             "flops": float(sum(o.flops for o in self.ops)),
             "dram_bytes": float(sum(o.dram_bytes for o in self.ops))}
        if self.has_energy:
            t["energy_j"] = self.energy_j
            t["dynamic_energy_j"] = self.dynamic_energy_j
            t["avg_power_w"] = self.avg_power_w
            if self.peak_power_w is not None:
                t["peak_power_w"] = self.peak_power_w
        if self.leakage_power_w is not None:
            t["leakage_power_w"] = self.leakage_power_w
        if self.area_mm2 is not None:
            t["area_mm2"] = self.area_mm2
        bands = [o.latency_error_band for o in self.ops]
        if bands and all(b is not None for b in bands):
            # latency-weighted relative band of the total
            lo = sum(o.latency_s * o.latency_error_band[0] for o in self.ops) / max(self.latency_s, 1e-300)
            hi = sum(o.latency_s * o.latency_error_band[1] for o in self.ops) / max(self.latency_s, 1e-300)
            t["latency_error_band"] = [lo, hi]
        return t

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
             "latency_s": o.latency_s, "flops": o.flops, "dram_bytes": o.dram_bytes, "bound": o.bound}
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
        if self.budget is not None:
            out["budget"] = dict(self.budget)
        out["provenance"] = dict(self.provenance)
        if self.power_trace:
            out["power_trace"] = [dict(p) for p in self.power_trace]
        if self.meta:
            out["meta"] = dict(self.meta)
        if self.baseline is not None:
            out["baseline"] = self.baseline.to_dict()
            out["speedup"] = self.speedup
            out["energy_gain"] = self.energy_gain
        return _clean(out)

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
