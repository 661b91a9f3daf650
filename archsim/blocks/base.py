"""The interface between block models, the energy layer and the Report.

A component module (one per hardware block) provides:

    KIND: str                                # the `kind` tag in TOML, e.g. "systolic_array"
    Spec: an @attrs.frozen class             # the block's parameters, structured by archsim.config
    def supports(spec, op) -> bool           # can this block run this op?
    def evaluate(spec, op, ctx) -> OpResult  # performance + action counts (no energy pricing)
    def structure(spec) -> Structure         # what the block is built of, for area/leakage/energy

Optionally `def validate(spec, file, key)` for cross-field checks (raise ConfigError).

**Action counts** are the interface to the energy model (Accelergy style): `OpResult.actions`
maps an action key to a count. The vocabulary (keep to it; the energy layer prices it):

    "mac.<dtype>"                 multiply-accumulates (dtype in int8 fp8 fp16 bf16 tf32 fp32)
    "add.<dtype>" / "mul.<dtype>" / "cmp.<dtype>"   single ALU ops (comparisons for sorting, ...)
    "xor_popcount_bits"           bit-ops of an XOR+popcount array (Hamming distance)
    "sram.<name>.read_bytes"      bytes read from the SRAM instance `<name>` of the Structure
    "sram.<name>.write_bytes"     bytes written to it
    "rf.read_bytes" / "rf.write_bytes"   register-file / pipeline-register traffic
    "dram.read_bytes" / "dram.write_bytes"  off-chip DRAM traffic (technology from Structure.dram)
    "link.<name>.bytes"           bytes over the link `<name>` of the Structure (PCIe, L2 port, ...)
    "ssd.read_bytes" / "ssd.write_bytes"

Counts are floats (large layers overflow nothing) but hold integers where the model is exact.
"""
from __future__ import annotations

from typing import Any, Mapping

import attrs


@attrs.frozen(kw_only=True)
class SramInstance:
    """One on-chip SRAM (or a group of `count` identical ones)."""
    name: str
    capacity_bytes: int
    width_bits: int = 64            # access width of one port
    banks: int = 1
    ports: int = 1
    count: int = 1                  # identical copies (e.g. one per engine)


@attrs.frozen(kw_only=True)
class DramInterface:
    """Off-chip memory attached to a block."""
    technology: str                 # key into the tech table's [dram.*]: lpddr5, hbm2e, hbm3, hbm3e, gddr6x, ddr4
    bandwidth_gb_s: float
    capacity_gib: float = 0.0       # 0 = not counted in the chip's power/area (e.g. the GPU's own)
    owns_phy: bool = True           # False = the block uses another chip's DRAM interface (an NGPC
                                    # on the GPU's): no PHY area of its own, bandwidth still bounds it


@attrs.frozen(kw_only=True)
class LinkInterface:
    name: str                       # matches "link.<name>.bytes"
    technology: str                 # e.g. "pcie4", "pcie5", "onchip"
    lanes: int = 1
    bandwidth_gb_s: float = 0.0
    length_mm: float = 1.0          # wire length for technology "onchip" (energy ~ pJ/bit/mm)


@attrs.frozen(kw_only=True)
class Structure:
    """What a block is built of; the energy layer turns this into area and leakage and prices
    the block's actions. `units` counts functional units by action key, e.g.
    {"mac.int8": 16384} for a 128x128 int8 array, {"cmp.bf16": 64} for a sorter."""
    name: str
    kind: str
    clock_ghz: float
    units: Mapping[str, int] = attrs.field(factory=dict)     # + "reg_bits": register bits (area only)
    srams: tuple[SramInstance, ...] = ()
    dram: DramInterface | None = None
    links: tuple[LinkInterface, ...] = ()
    children: tuple["Structure", ...] = ()   # sub-blocks (e.g. NFPs of an NGPC, cores of V-Rex)
    count: int = 1                           # identical copies of this whole structure
    # A block that is not built by us (a GPU) gives its own figures instead:
    fixed_area_mm2: float | None = None
    fixed_leakage_power_w: float | None = None
    # ... and its power with everything busy (a GPU: its TDP, the board's power cap), the
    # structural maximum archsim.energy.activity.full_activity_power_w reports for it
    fixed_full_activity_power_w: float | None = None
    notes: Mapping[str, str] = attrs.field(factory=dict)   # provenance of structural numbers


@attrs.frozen(kw_only=True)
class Placement:
    """Where an op runs, for the scheduler (archsim.schedule).

    `resource` is what the op occupies for its whole latency, named `<component>.<unit>`
    (e.g. "ngpc.encoding", "gpu.sm", "vrex.lxe", "host.pcie_rd"); ops on one resource run one
    at a time. An op that streams its work in `chunks` equal pieces lets a dependent op on
    another resource that streams in as many chunks pipeline against it (chunk j after chunk
    j); `prologue_s` of its latency comes first and is not pipelined (e.g. loading tables).
    `interleave`: the op shares its resource chunk by chunk with the op right before it in
    program order when that op is on the same resource and streams in as many chunks (the
    resource alternates their chunks as one stream, like the stages of one fused kernel;
    archsim.schedule). `channel` names a shared data path its traffic uses (e.g. a DRAM port,
    "ngpc.dram") and `channel_s` the time that traffic needs on it at its full bandwidth: ops
    that pipeline against each other on one channel are not allowed to move their data faster
    than the channel together."""
    resource: str
    chunks: int = 1
    prologue_s: float = 0.0
    interleave: bool = False
    channel: str = ""
    channel_s: float = 0.0


@attrs.frozen(kw_only=True)
class OpResult:
    """One op evaluated on one component. Units are in the names."""
    name: str
    op: str                                  # op kind
    component: str                           # component name in the arch
    cycles: int                              # in the clock of `clock_ghz`
    latency_s: float
    flops: float = 0.0                       # 2 per MAC
    dram_bytes: float = 0.0
    bound: str = "compute"                   # compute | memory | latency | link | ...
    actions: Mapping[str, float] = attrs.field(factory=dict)
    details: Mapping[str, Any] = attrs.field(factory=dict)     # block-specific fields
    # Filled by the energy layer (or by a block that models its own energy, e.g. the GPU):
    energy_j: float | None = None
    energy_breakdown_j: Mapping[str, float] = attrs.field(factory=dict)
    # Relative 1-sigma-ish uncertainty of latency_s (GPU model: from calibration residuals).
    latency_error_band: tuple[float, float] | None = None
    # Scheduling: the resource it occupies (None = the whole component, "<component>"), and
    # the clock its `cycles` count (None = the component's Structure clock).
    placement: Placement | None = None
    clock_ghz: float | None = None

    @property
    def resource(self) -> str:
        return self.placement.resource if self.placement is not None else self.component


@attrs.frozen(kw_only=True)
class EvalContext:
    """What a block may need besides its own spec and the op."""
    arch: Any                                # the ArchSpec (read-only)
    component_name: str
    seed: int = 0
    # Set by simulate for mappers with an energy objective: pricer(actions) -> dynamic J of one
    # op on this component, as the energy layer prices it; pricer.static_w -> the arch's
    # static power (W). None outside simulate.
    pricer: Any = attrs.field(default=None, eq=False, repr=False)

    def evaluate_on(self, component: str, op) -> OpResult:
        """`op` evaluated by another component of the same arch (e.g. an NGPC's GPU part)."""
        mod = self.arch.component_module(component)
        return mod.evaluate(self.arch.components[component], op,
                            attrs.evolve(self, component_name=component))


def mapping_pricer(ctx, objective: str, knob: str):
    """The energy pricer a block's mapper needs for `objective` (None for "cycles"): the
    context's `pricer`, or a ModelError naming the knob when there is none (outside simulate)."""
    pricer = getattr(ctx, "pricer", None) if ctx is not None else None
    if objective != "cycles" and pricer is None:
        from archsim.errors import ModelError
        raise ModelError(f"{knob} = {objective!r} needs the energy layer's prices: evaluate the op "
                         "through archsim.simulate")
    return pricer


def mapping_score(objective: str, cycles: float, latency_s: float, energy_j: float | None) -> float:
    """A mapper's score of one candidate (lower is better): cycles, energy (J) or energy x
    latency (J s)."""
    if objective == "cycles":
        return float(cycles)
    if objective == "energy":
        return energy_j
    return energy_j * latency_s


def evaluate_lowered(evaluate, spec, op, ctx) -> OpResult:
    """`op` run as its lowering (`op.lower()`: core ops with a count of independent instances
    each, archsim.workloads.llm.ops) by a block's own `evaluate`: times, counts and energy add
    up over the parts, one after another on the block. The bound is the slowest part's; the
    placement is the first part's resource; `details["lowered"]` lists the parts."""
    parts = []
    for sub, count in op.lower():
        r = evaluate(spec, sub, ctx)
        parts.append((r, count))
    first = parts[0][0]
    acts: dict = {}
    for r, c in parts:
        for k, v in r.actions.items():
            acts[k] = acts.get(k, 0.0) + v * c
    energy = None
    if all(r.energy_j is not None for r, _ in parts):
        energy = sum(r.energy_j * c for r, c in parts)
    breakdown: dict = {}
    for r, c in parts:
        for k, v in r.energy_breakdown_j.items():
            breakdown[k] = breakdown.get(k, 0.0) + v * c
    clocks = {r.clock_ghz for r, _ in parts}
    slowest = max(parts, key=lambda rc: rc[0].latency_s * rc[1])[0]
    return OpResult(
        name=op.name or op.KIND, op=op.KIND, component=first.component,
        cycles=int(sum(r.cycles * c for r, c in parts)), latency_s=sum(r.latency_s * c for r, c in parts),
        flops=sum(r.flops * c for r, c in parts), dram_bytes=sum(r.dram_bytes * c for r, c in parts),
        bound=slowest.bound, actions=acts, energy_j=energy, energy_breakdown_j=breakdown,
        details={"lowered": [{"op": r.op, "name": r.name, "count": c, "latency_s": r.latency_s,
                              "bound": r.bound} for r, c in parts]},
        placement=Placement(resource=first.resource) if first.placement is not None else None,
        clock_ghz=first.clock_ghz if len(clocks) == 1 else None)
