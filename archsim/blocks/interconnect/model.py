"""Link model of collectives (alpha-beta): time = wire bytes per rank / (bandwidth x efficiency)
+ steps x latency, with, for N ranks and `bytes` = S per rank (see archsim/workloads/collective_ops.py):

| op | ring | tree (double binary) | in_network (switch reduces) |
|---|---|---|---|
| all_reduce | 2(N-1)/N S, 2(N-1) steps | 2 S, 2 ceil(log2 N) steps | S, 2 steps |
| all_gather, reduce_scatter | (N-1)/N S, N-1 steps | as ring | as ring |
| all_to_all | (N-1)/N S (x N/4 on a ring topology), N-1 steps | as ring | as ring |
| send_recv | S, 1 step | | |

`auto` takes the fastest the interconnect offers (in_network only where the spec says the switch
reduces). Each collective op occupies `<component>.link` (the scheduler adds the device index,
`nvswitch.link3`), so a device's communication overlaps its compute (`gpu3.sm`) wherever the op
graph lets it. Energy: wire bytes x 8 x energy_pj_per_bit (the block prices itself).
"""
from __future__ import annotations

import math

import attrs

from archsim.blocks.base import EvalContext, OpResult, Placement
from archsim.blocks.interconnect.spec import Spec
from archsim.errors import ModelError
from archsim.workloads.collective_ops import COLLECTIVES, SendRecv

CLOCK_GHZ = 1.0          # no core clock: cycles count nanoseconds


@attrs.frozen(kw_only=True)
class CollectiveTime:
    time_s: float
    wire_bytes: float        # per rank, sent (and received)
    steps: int
    algorithm: str


def _candidates(spec: Spec, kind: str, algorithm: str) -> list[str]:
    if kind == "send_recv":
        return ["ring"]
    if algorithm == "auto":
        algorithm = spec.algorithm
    if algorithm == "auto":
        out = ["ring"]
        if kind == "all_reduce":
            out.append("tree")
            if spec.in_network_reduction and spec.topology == "switch":
                out.append("in_network")
        return out
    if algorithm == "in_network" and not (spec.in_network_reduction and spec.topology == "switch"):
        raise ModelError("algorithm in_network needs an interconnect with in_network_reduction = true "
                         "and topology = switch")
    if kind != "all_reduce" and algorithm in ("tree", "in_network"):
        return ["ring"]            # NCCL runs these as rings
    return [algorithm]


def _one(spec: Spec, kind: str, nbytes: float, n: int, algorithm: str) -> CollectiveTime:
    if kind == "send_recv":
        wire, steps = float(nbytes), 1
    elif kind == "all_reduce":
        if algorithm == "ring":
            wire, steps = 2.0 * (n - 1) / n * nbytes, 2 * (n - 1)
        elif algorithm == "tree":
            wire, steps = 2.0 * nbytes, 2 * math.ceil(math.log2(n))
        else:
            wire, steps = float(nbytes), 2
    elif kind in ("all_gather", "reduce_scatter"):
        wire, steps = (n - 1) / n * nbytes, n - 1
    elif kind == "all_to_all":
        wire, steps = (n - 1) / n * nbytes, n - 1
        if spec.topology == "ring":
            wire *= max(1.0, n / 4.0)
    else:
        raise ModelError(f"interconnect cannot run op kind {kind}")
    bw = spec.bandwidth_gb_s * 1e9 * spec.bandwidth_efficiency
    return CollectiveTime(time_s=wire / bw + steps * spec.latency_us * 1e-6, wire_bytes=wire, steps=steps,
                          algorithm=algorithm)


def collective_time(spec: Spec, kind: str, nbytes: float, ranks: int = 2, algorithm: str = "auto") -> CollectiveTime:
    """The time of one collective of `nbytes` per rank over `ranks` devices (table above)."""
    return min((_one(spec, kind, nbytes, ranks, a) for a in _candidates(spec, kind, algorithm)),
               key=lambda c: c.time_s)


def supports(spec: Spec, op) -> bool:
    return isinstance(op, COLLECTIVES)


def evaluate(spec: Spec, op, ctx: EvalContext) -> OpResult:
    if not isinstance(op, COLLECTIVES):
        raise ModelError(f"interconnect cannot run op kind {op.KIND}")
    ranks = 2 if isinstance(op, SendRecv) else op.ranks
    alg = "auto" if isinstance(op, SendRecv) else op.algorithm
    ct = collective_time(spec, op.KIND, op.bytes, ranks, alg)
    energy = ct.wire_bytes * 8.0 * spec.energy_pj_per_bit * 1e-12
    return OpResult(name=op.name or op.KIND, op=op.KIND, component=ctx.component_name,
                    cycles=int(round(ct.time_s * CLOCK_GHZ * 1e9)), latency_s=ct.time_s,
                    dram_bytes=float(op.bytes), bound="link",
                    energy_j=energy, energy_breakdown_j={"link": energy},
                    details={"algorithm": ct.algorithm, "steps": ct.steps, "wire_bytes": ct.wire_bytes,
                             "ranks": ranks, "technology": spec.technology},
                    placement=Placement(resource=f"{ctx.component_name}.link"))
