"""The energy, area and power layer every block uses (Accelergy-style).

Performance models emit action counts (`OpResult.actions`, vocabulary in
archsim/blocks/base.py); this module prices them with a technology table scaled to the
arch's node and supply, and turns each component's `Structure` into area and leakage.

Fixed API (simulate, the studies and the benchmarks call these names):
  price_run(arch, results, timeline) -> PricedRun(ops, components, totals, provenance, budget, power_trace)
  area_mm2(structure, tech) -> {part: mm^2, ..., "total": mm^2}
  leakage_power_w(structure, tech) -> W
  price_actions(structure, actions, tech) -> {action_key: J}
`tech` is an `ArchSpec.tech` (TechSpec), a resolved `Tech`, or None (the default table at
its base node).

Conventions:
  * An op's `energy_j` is its *dynamic* energy; static power (logic + SRAM leakage, DRAM
    background) is charged over the whole run in the Report's totals (leakage x latency).
    An OpResult whose `energy_j` is already set (a block that prices itself, e.g. the GPU) is
    kept as is - except that a "static" entry of its energy_breakdown_j is taken out of the op
    when the block's Structure declares the same idle power as fixed_leakage_power_w (it is
    then charged once, over the run, and the run's total equals the block's own pricing).
  * Area of a block = logic units (MAC/ALU area by dtype, node-scaled) + SRAMs (SRAM model)
    + overhead ((logic + SRAM) x (overhead_factor - 1), wiring/control) + DRAM/PCIe PHYs;
    children are added, then x `count`. `fixed_area_mm2` / `fixed_leakage_power_w` replace
    the block's own parts (children still add).
  * Static power is charged over the makespan of the run's timeline (archsim.schedule).
  * Power trace: per interval of the timeline, the whole arch's static power + every active
    op's dynamic energy spread over its span.
  * Budget: area vs [budget] area_mm2; average AND peak (per-op) power vs [budget] power_w.
"""
from __future__ import annotations

import functools
import math
import warnings
from pathlib import Path
from typing import Any, Mapping

import attrs

from archsim.blocks.base import OpResult, SramInstance, Structure
from archsim.energy import dram as dram_mod
from archsim.energy.scaling import (ScalingWarning, logic_area_factor, logic_energy_factor,
                                    logic_leakage_factor, nominal_vdd_v, sram_factors,
                                    wire_energy_factor)
from archsim.energy.sram import SRAM_SOURCE_KEYS, SramCost, sram_cost
from archsim.energy.tables import LOGIC_OPS, TechTable, load_table
from archsim.errors import ModelError
from archsim.units import J_PER_PJ


# ------------------------------------------------------------------------------ tech

@attrs.frozen(kw_only=True)
class Tech:
    """A technology table resolved at one (node, Vdd): the factors every price uses."""
    table: TechTable
    node_nm: float
    vdd_v: float
    vdd_is_nominal: bool
    overhead_factor: float
    overhead_from_table: bool
    logic_area_factor: float
    logic_energy_factor: float
    logic_leakage_factor: float
    sram_energy_factor: float
    sram_leakage_factor: float
    sram_area_factor: float
    wire_energy_factor: float
    # Extrapolation warnings by what they concern; a run reports (and warns about) only the
    # ones whose numbers it actually uses (a GPU with fixed figures gets none).
    warnings_vdd: tuple[str, ...] = ()
    warnings_logic: tuple[str, ...] = ()
    warnings_sram: tuple[str, ...] = ()

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.warnings_vdd + self.warnings_logic + self.warnings_sram))

    def scaling_summary(self) -> dict:
        return {k: getattr(self, k) for k in (
            "logic_area_factor", "logic_energy_factor", "logic_leakage_factor",
            "sram_energy_factor", "sram_leakage_factor", "sram_area_factor",
            "wire_energy_factor")}


def resolve_tech(tech=None, *, relative_to=None) -> Tech:
    """TechSpec / Tech / None -> Tech. Extrapolation warnings are kept in the Tech and issued
    (and recorded in provenance) by the runs that use the numbers they concern."""
    if isinstance(tech, Tech):
        return tech
    table_name = getattr(tech, "table", "default") if tech is not None else "default"
    table = load_table(table_name, relative_to=relative_to)
    node = getattr(tech, "node_nm", None) if tech is not None else None
    vdd = getattr(tech, "vdd_v", None) if tech is not None else None
    over = getattr(tech, "overhead_factor", None) if tech is not None else None
    return _resolve(table, float(node if node is not None else table.base_node_nm),
                    None if vdd is None else float(vdd), None if over is None else float(over))


@functools.lru_cache(maxsize=256)
def _resolve(table: TechTable, node_nm: float, vdd_v: float | None, overhead: float | None) -> Tech:
    rv: list[str] = []
    rl: list[str] = []
    rs: list[str] = []
    with warnings.catch_warnings():      # issued later, by the runs that use these numbers
        warnings.simplefilter("ignore", ScalingWarning)
        vdd = vdd_v if vdd_v is not None else nominal_vdd_v(node_nm=node_nm, table=table, record=rv)
        la = logic_area_factor(node_nm=node_nm, table=table, record=rl)
        le = logic_energy_factor(node_nm=node_nm, vdd_v=vdd, table=table, record=rl)
        ll = logic_leakage_factor(node_nm=node_nm, vdd_v=vdd, table=table, record=None)
        sf = sram_factors(node_nm=node_nm, vdd_v=vdd, table=table, record=rs)
    return Tech(table=table, node_nm=node_nm, vdd_v=vdd, vdd_is_nominal=vdd_v is None,
                overhead_factor=overhead if overhead is not None else table.overhead_factor,
                overhead_from_table=overhead is None,
                logic_area_factor=la, logic_energy_factor=le, logic_leakage_factor=ll,
                sram_energy_factor=sf["energy"], sram_leakage_factor=sf["leakage"],
                sram_area_factor=sf["area"], wire_energy_factor=wire_energy_factor(vdd_v=vdd, table=table),
                warnings_vdd=tuple(rv), warnings_logic=tuple(rl),
                warnings_sram=tuple(m for m in rs if m not in rv))


class _Ledger:
    """Collects the table entries a price used (-> provenance.sources) and warnings."""

    def __init__(self, tech: Tech):
        self.tech = tech
        self.used: set[str] = set()
        self.warnings: list[str] = []
        self._flagged: set[str] = set()
        self._sram: dict = {}
        self.use("meta.base_node_nm", "meta.base_vdd_v")

    def flag(self, what: str) -> None:
        """Numbers scaled by rule `what` ("logic", "sram", "wire") are used: record their
        sources and warnings (issuing each warning as a ScalingWarning)."""
        if what in self._flagged:
            return
        self._flagged.add(what)
        t = self.tech
        msgs = list(t.warnings_vdd)
        if t.vdd_is_nominal:
            self.use("scaling.nominal_vdd.nodes_nm", "scaling.nominal_vdd.vdd_v")
        if what == "logic":
            msgs += t.warnings_logic
            self.use(*[f"scaling.{k}" for k in ("nodes_nm", "area_factor", "energy_a", "energy_b",
                                                 "energy_c")])
            if t.node_nm < min(t.table.scaling.nodes_nm) or t.node_nm > max(t.table.scaling.nodes_nm):
                self.use("scaling.extension_area_exponent", "scaling.extension_energy_exponent")
        elif what == "sram":
            msgs += t.warnings_sram
            self.use("sram.node.nodes_nm", "sram.node.energy_factor", "sram.node.leakage_factor",
                     "sram.node.area_factor")
        for m in msgs:
            if m not in self.warnings:
                self.warnings.append(m)
                warnings.warn(m, ScalingWarning, stacklevel=4)

    def use(self, *keys: str) -> None:
        self.used.update(keys)

    def sram(self, inst: SramInstance) -> SramCost:
        k = (inst.capacity_bytes, inst.width_bits, inst.banks, inst.ports)
        if k not in self._sram:
            t = self.tech
            record: list[str] = []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ScalingWarning)   # node ones: flag("sram") below
                cost = sram_cost(capacity_bytes=inst.capacity_bytes, width_bits=inst.width_bits,
                                 banks=inst.banks, ports=inst.ports, node_nm=t.node_nm,
                                 vdd_v=t.vdd_v, table=t.table, record=record)
            self.flag("sram")
            for msg in record:
                if msg not in t.warnings:        # fit-range extrapolation of this instance
                    m = f"sram {inst.name!r}: {msg}"
                    if m not in self.warnings:
                        self.warnings.append(m)
                        warnings.warn(m, ScalingWarning, stacklevel=3)
            self.use(*SRAM_SOURCE_KEYS, "scaling.nominal_vdd.nodes_nm", "scaling.nominal_vdd.vdd_v")
            if inst.width_bits != 64:
                self.use("sram.width_exp_read", "sram.width_exp_write", "sram.width_exp_area",
                         "sram.fit_width_min_bits", "sram.fit_width_max_bits")
            if inst.banks != 1:
                self.use("sram.bank_exp_read", "sram.bank_exp_write", "sram.bank_exp_leak",
                         "sram.bank_exp_area", "sram.fit_banks_max_count")
            if inst.ports != 1:
                self.use("sram.port_slope_read", "sram.port_slope_write", "sram.port_slope_leak",
                         "sram.port_slope_area", "sram.fit_ports_max_count")
            self._sram[k] = cost
        return self._sram[k]

    def sources(self) -> dict[str, str]:
        e = self.tech.table.entries
        return {k: e[k].source for k in sorted(self.used) if k in e}


def _ledger(tech, ledger: _Ledger | None) -> _Ledger:
    return ledger if ledger is not None else _Ledger(resolve_tech(tech))


# ------------------------------------------------------------------------------ structure lookups

def _find_srams(s: Structure) -> dict[str, SramInstance]:
    out: dict[str, SramInstance] = {}
    for inst in s.srams:
        out.setdefault(inst.name, inst)
    for c in s.children:
        for name, inst in _find_srams(c).items():
            out.setdefault(name, inst)
    return out


def _find_dram(s: Structure):
    if s.dram is not None:
        return s.dram
    for c in s.children:
        d = _find_dram(c)
        if d is not None:
            return d
    return None


def _find_links(s: Structure) -> dict:
    out = {li.name: li for li in s.links}
    for c in s.children:
        for k, v in _find_links(c).items():
            out.setdefault(k, v)
    return out


def _logic_cost(table: TechTable, op: str, dtype: str, key: str):
    try:
        return table.logic[op][dtype]
    except KeyError:
        raise ModelError(f"action/unit {key!r}: no {op} cost for dtype {dtype!r} in tech table "
                         f"{table.name!r}; allowed dtypes: " + ", ".join(table.logic.get(op, {}))) from None


_VOCAB = ("mac.<dtype>", "add.<dtype>", "mul.<dtype>", "cmp.<dtype>", "xor_popcount_bits",
          "sram.<name>.read_bytes", "sram.<name>.write_bytes", "rf.read_bytes", "rf.write_bytes",
          "dram.read_bytes", "dram.write_bytes", "link.<name>.bytes", "ssd.read_bytes",
          "ssd.write_bytes")


def action_class(key: str) -> str:
    """The energy-breakdown class of an action key: mac, add, mul, cmp, xor_popcount, rf,
    sram.<name>, dram, link.<name>, ssd."""
    head = key.split(".", 1)[0]
    if head in ("sram", "link"):
        return key.rsplit(".", 1)[0]
    if key == "xor_popcount_bits":
        return "xor_popcount"
    return head


# ------------------------------------------------------------------------------ pricing

class _Pricing:
    """What an action pricer may look at: the structure's SRAMs, links and DRAM (found once per
    call) and the ledger (tech factors, sources used)."""

    def __init__(self, structure: Structure, led: _Ledger):
        self.structure, self.led = structure, led
        self._srams = self._links = None
        self._dram = False

    @property
    def srams(self):
        if self._srams is None:
            self._srams = _find_srams(self.structure)
        return self._srams

    @property
    def links(self):
        if self._links is None:
            self._links = _find_links(self.structure)
        return self._links

    @property
    def dram(self):
        if self._dram is False:
            self._dram = _find_dram(self.structure)
        return self._dram


# A linear price as data: count -> ((count op1 c1) op2 c2) ..., ops "*" or "/", evaluated left
# to right exactly as the pricer's own expression, so a batched evaluator that applies the
# same steps to arrays of counts gets the same joules, bit for bit (archsim/sweep/batch.py).
MUL, DIV = 0, 1


def apply_recipe(count: float, steps) -> float:
    x = count
    for op, c in steps:
        x = x * c if op == MUL else x / c
    return x


def _recipe_logic(key: str, parts: list[str], pr: _Pricing):
    if len(parts) != 2:
        raise KeyError(key)
    t = pr.led.tech
    c = _logic_cost(t.table, parts[0], parts[1], key)
    pr.led.flag("logic")
    pr.led.use(f"logic.{parts[0]}.{parts[1]}.energy_pj")
    return ((MUL, c.energy_pj), (MUL, t.logic_energy_factor), (MUL, J_PER_PJ))


def _price_logic(key: str, parts: list[str], count: float, pr: _Pricing) -> float:
    return apply_recipe(count, _recipe_logic(key, parts, pr))


def _price_xor_popcount(key, parts, count, pr: _Pricing) -> float:
    if key != "xor_popcount_bits":
        raise KeyError(key)
    t = pr.led.tech
    pr.led.flag("logic")
    pr.led.use("logic.xor_popcount.energy_pj_per_bit")
    return count * t.table.xor_popcount_energy_pj_per_bit * t.logic_energy_factor * J_PER_PJ


def _price_rf(key, parts, count, pr: _Pricing) -> float:
    if key not in ("rf.read_bytes", "rf.write_bytes"):
        raise KeyError(key)
    t = pr.led.tech
    write = key == "rf.write_bytes"
    pr.led.flag("logic")
    pr.led.use("rf.write_pj_per_byte" if write else "rf.read_pj_per_byte")
    pj = t.table.rf_write_pj_per_byte if write else t.table.rf_read_pj_per_byte
    return count * pj * t.logic_energy_factor * J_PER_PJ


def _recipe_sram(key, parts, pr: _Pricing):
    if len(parts) < 3 or parts[-1] not in ("read_bytes", "write_bytes"):
        raise KeyError(key)
    name = ".".join(parts[1:-1])
    if name not in pr.srams:
        raise ModelError(f"action {key!r}: structure {pr.structure.name!r} has no SRAM named "
                         f"{name!r}; SRAMs: " + (", ".join(pr.srams) or "none"))
    cost = pr.led.sram(pr.srams[name])
    pj = cost.write_pj if parts[-1] == "write_bytes" else cost.read_pj
    # bytes -> accesses of the port width -> pJ -> J
    return ((MUL, 8.0), (DIV, cost.width_bits), (MUL, pj), (MUL, J_PER_PJ))


def _price_sram(key, parts, count, pr: _Pricing) -> float:
    return apply_recipe(count, _recipe_sram(key, parts, pr))


def _recipe_dram(key, parts, pr: _Pricing):
    if key not in ("dram.read_bytes", "dram.write_bytes"):
        raise KeyError(key)
    dram = pr.dram
    if dram is None:
        raise ModelError(f"action {key!r}: structure {pr.structure.name!r} has no DramInterface "
                         "(Structure.dram) to price DRAM traffic with")
    pr.led.use(f"dram.{dram.technology}.energy_pj_per_bit")
    e = dram_mod.dram_tech(pr.led.tech.table, dram.technology).energy_pj_per_bit
    return ((MUL, 8.0), (MUL, e), (MUL, J_PER_PJ))     # as dram_mod.dram_energy_j


def _price_dram(key, parts, count, pr: _Pricing) -> float:
    return apply_recipe(count, _recipe_dram(key, parts, pr))


def _price_link(key, parts, count, pr: _Pricing) -> float:
    if len(parts) < 3 or parts[-1] != "bytes":
        raise KeyError(key)
    name = ".".join(parts[1:-1])
    if name not in pr.links:
        raise ModelError(f"action {key!r}: structure {pr.structure.name!r} has no link named "
                         f"{name!r}; links: " + (", ".join(pr.links) or "none"))
    li = pr.links[name]
    if li.technology == "onchip":
        pr.led.flag("wire")
    pr.led.use("link.onchip.energy_pj_per_bit_mm" if li.technology == "onchip"
               else f"link.{li.technology}.energy_pj_per_bit")
    return dram_mod.link_energy_j(table=pr.led.tech.table, technology=li.technology, n_bytes=count,
                                  length_mm=li.length_mm, vdd_v=pr.led.tech.vdd_v)


def _price_ssd(key, parts, count, pr: _Pricing) -> float:
    if key not in ("ssd.read_bytes", "ssd.write_bytes"):
        raise KeyError(key)
    write = key == "ssd.write_bytes"
    pr.led.use("ssd.write_power_w" if write else "ssd.read_power_w",
               "ssd.write_bandwidth_gb_s" if write else "ssd.read_bandwidth_gb_s")
    return dram_mod.ssd_energy_j(table=pr.led.tech.table, n_bytes=count, write=write)


#: Action kinds as data: the first dotted part of an action key -> its pricer
#: (key, parts, count, _Pricing) -> J. Adding an action kind is a row here (and its
#: vocabulary line in archsim/blocks/base.py), not an edit to a chain of ifs.
ACTION_PRICERS = {
    **{op: _price_logic for op in LOGIC_OPS},
    "xor_popcount_bits": _price_xor_popcount,
    "rf": _price_rf,
    "sram": _price_sram,
    "dram": _price_dram,
    "link": _price_link,
    "ssd": _price_ssd,
}


#: The action kinds whose price is linear in the count, as recipes (steps applied to the count):
#: what a batched evaluator may price without calling the pricers per op.
ACTION_RECIPES = {
    **{op: _recipe_logic for op in LOGIC_OPS},
    "sram": _recipe_sram,
    "dram": _recipe_dram,
}


def action_recipes(structure: Structure, keys, tech=None, *, ledger: _Ledger | None = None):
    """{action key: recipe steps} for `keys` (see apply_recipe); None if a key has no recipe
    (its kind is priced only by ACTION_PRICERS). Records sources in the ledger as pricing does."""
    pr = _Pricing(structure, _ledger(tech, ledger))
    out = {}
    for key in keys:
        parts = key.split(".")
        rec = ACTION_RECIPES.get(parts[0])
        if rec is None:
            return None
        try:
            out[key] = rec(key, parts, pr)
        except KeyError:
            raise ModelError(f"unknown action key {key!r} (structure {structure.name!r}); the "
                             "energy layer prices: " + ", ".join(_VOCAB)) from None
    return out


def price_actions(structure: Structure, actions: Mapping[str, float], tech=None, *,
                  ledger: _Ledger | None = None) -> dict[str, float]:
    """Joules per action key: count x energy per action at the tech's node and Vdd.

    Unknown action keys, dtypes, SRAM/link names or a dram.* action without a
    DramInterface are a ModelError (never priced at zero silently)."""
    pr = _Pricing(structure, _ledger(tech, ledger))
    out: dict[str, float] = {}
    for key, count in actions.items():
        count = float(count)
        if count == 0:
            out[key] = 0.0
            continue
        if count < 0 or not math.isfinite(count):
            raise ModelError(f"action {key!r} has count {count!r}; counts must be finite and >= 0")
        parts = key.split(".")
        pricer = ACTION_PRICERS.get(parts[0])
        try:
            if pricer is None:
                raise KeyError(key)
            out[key] = pricer(key, parts, count, pr)
        except KeyError:
            raise ModelError(f"unknown action key {key!r} (structure {structure.name!r}); the "
                             "energy layer prices: " + ", ".join(_VOCAB)) from None
    return out


def _unit_area_um2(table: TechTable, key: str, led: _Ledger) -> float:
    led.flag("logic")
    parts = key.split(".")
    if parts[0] in LOGIC_OPS and len(parts) == 2:
        led.use(f"logic.{parts[0]}.{parts[1]}.area_um2")
        return _logic_cost(table, parts[0], parts[1], key).area_um2
    if key == "xor_popcount_bits":
        led.use("logic.xor_popcount.area_um2_per_bit")
        return table.xor_popcount_area_um2_per_bit
    if key == "reg_bits":          # register (flip-flop) bits: scratchpad register files, pipeline registers
        led.use("logic.register.area_um2_per_bit")
        return table.register_area_um2_per_bit
    raise ModelError(f"Structure.units key {key!r} is not a functional unit the tech table prices; "
                     "allowed: mac.<dtype>, add.<dtype>, mul.<dtype>, cmp.<dtype>, xor_popcount_bits, reg_bits")


def _breakdown(structure: Structure, led: _Ledger, fixed: str, own) -> dict[str, float]:
    """What the area and the leakage breakdowns share: the structure's `fixed` number (e.g.
    fixed_area_mm2) if set, else `own(structure, led)`'s parts; each child's total (the same
    breakdown, recursively); every part times `count`; "total" their sum."""
    v = getattr(structure, fixed)
    parts = {"fixed": float(v)} if v is not None else own(structure, led)
    for c in structure.children:
        parts[f"child.{c.name}"] = parts.get(f"child.{c.name}", 0.0) + _breakdown(c, led, fixed, own)["total"]
    parts = {k: v * structure.count for k, v in parts.items()}
    parts["total"] = float(sum(parts.values()))
    return parts


def _own_area_mm2(structure: Structure, led: _Ledger) -> dict[str, float]:
    """{part: mm^2} of one instance of the structure itself (no fixed area, no children)."""
    t = led.tech
    table = t.table
    parts: dict[str, float] = {}
    logic = 0.0
    for key, n in structure.units.items():
        a = n * _unit_area_um2(table, key, led) * 1e-6 * t.logic_area_factor
        parts[key] = parts.get(key, 0.0) + a
        logic += a
    sram_total = 0.0
    for inst in structure.srams:
        a = led.sram(inst).area_mm2 * inst.count
        parts[f"sram.{inst.name}"] = parts.get(f"sram.{inst.name}", 0.0) + a
        sram_total += a
    if logic + sram_total > 0:
        if t.overhead_from_table:
            led.use("logic.overhead.overhead_factor")
        parts["overhead"] = (logic + sram_total) * (t.overhead_factor - 1.0)
    d = structure.dram
    if d is not None and d.bandwidth_gb_s > 0 and d.owns_phy:
        led.use(f"dram.{d.technology}.phy_area_mm2", f"dram.{d.technology}.bandwidth_gb_s")
        parts["dram_phy"] = dram_mod.dram_phy_area_mm2(table=table, technology=d.technology,
                                                       bandwidth_gb_s=d.bandwidth_gb_s)
    for li in structure.links:
        a = dram_mod.link_phy_area_mm2(table=table, technology=li.technology, lanes=li.lanes)
        if li.technology != "onchip":
            led.use(f"link.{li.technology}.phy_area_mm2_per_lane")
            parts[f"link.{li.name}"] = a
    return parts


def area_breakdown(structure: Structure, tech=None, *, ledger: _Ledger | None = None) -> dict[str, float]:
    """{part: mm^2} of one structure incl. children and count; "total" is their sum."""
    return _breakdown(structure, _ledger(tech, ledger), "fixed_area_mm2", _own_area_mm2)


def area_mm2(structure: Structure, tech=None, *, ledger: _Ledger | None = None) -> dict[str, float]:
    """Per-part area breakdown in mm^2 (incl. "total") of a structure (fixed API)."""
    return area_breakdown(structure, tech, ledger=ledger)


def _own_leakage_w(structure: Structure, led: _Ledger) -> dict[str, float]:
    """{part: W} of one instance of the structure itself (no fixed leakage, no children)."""
    t = led.tech
    table = t.table
    parts: dict[str, float] = {}
    logic_mm2_base = sum(n * _unit_area_um2(table, k, led) * 1e-6 for k, n in structure.units.items())
    if logic_mm2_base > 0:
        led.use("logic.leakage.leakage_mw_per_mm2")
        parts["logic"] = logic_mm2_base * table.logic_leakage_mw_per_mm2 * 1e-3 * t.logic_leakage_factor
    for inst in structure.srams:
        k = f"sram.{inst.name}"
        parts[k] = parts.get(k, 0.0) + led.sram(inst).leakage_w * inst.count
    d = structure.dram
    if d is not None and d.capacity_gib > 0:
        led.use(f"dram.{d.technology}.background_mw_per_gib")
        parts["dram_background"] = dram_mod.dram_background_power_w(
            table=table, technology=d.technology, capacity_gib=d.capacity_gib)
    return parts


def leakage_breakdown_w(structure: Structure, tech=None, *, ledger: _Ledger | None = None) -> dict[str, float]:
    """{part: W} static power (logic and SRAM leakage, DRAM background) incl. children and count."""
    return _breakdown(structure, _ledger(tech, ledger), "fixed_leakage_power_w", _own_leakage_w)


def leakage_power_w(structure: Structure, tech=None, *, ledger: _Ledger | None = None) -> float:
    """Static power in W of a structure (fixed API)."""
    return leakage_breakdown_w(structure, tech, ledger=ledger)["total"]


# ------------------------------------------------------------------------------ whole run

@attrs.frozen(kw_only=True)
class ComponentSummary:
    name: str
    kind: str
    area_mm2: float | None = None
    leakage_power_w: float | None = None
    energy_j: float | None = None
    utilization: float | None = None       # busiest of its resources: busy time / makespan, 0..1
    breakdown: Mapping[str, Any] = attrs.field(factory=dict)   # e.g. area per sub-part
    # Two powers, each named for what it is (archsim.energy.activity): the block with every
    # unit and SRAM port busy every cycle (a synthesis report's figure; a GPU: its TDP), and
    # its energy over this run's makespan (the average over the workload, idle time included).
    full_activity_power_w: float | None = None
    avg_power_w: float | None = None


@attrs.frozen(kw_only=True)
class ClockDomain:
    """Ops whose cycles count the same clock: busy cycles and the makespan in that clock."""
    clock_ghz: float
    resources: tuple[str, ...]
    busy_cycles: int
    makespan_cycles: int


@attrs.frozen(kw_only=True)
class RunTotals:
    """The run's totals, computed once by pricing (the Report only reads them)."""
    latency_s: float                      # makespan of the timeline
    cycles: int                           # makespan in the first component's clock
    flops: float
    dram_bytes: float
    clock_domains: tuple[ClockDomain, ...] = ()
    dynamic_energy_j: float | None = None
    leakage_power_w: float | None = None
    energy_j: float | None = None          # dynamic + static power x makespan
    avg_power_w: float | None = None
    peak_power_w: float | None = None      # highest interval of the power trace
    area_mm2: float | None = None
    latency_error_band: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"cycles": self.cycles, "latency_s": self.latency_s, "flops": self.flops,
                             "dram_bytes": self.dram_bytes}
        for k in ("energy_j", "dynamic_energy_j", "avg_power_w", "peak_power_w", "leakage_power_w",
                  "area_mm2"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        if self.latency_error_band is not None:
            d["latency_error_band"] = list(self.latency_error_band)
        if len(self.clock_domains) > 1:
            d["cycles_by_clock_domain"] = [attrs.asdict(c) for c in self.clock_domains]
        return d


@attrs.frozen(kw_only=True)
class PricedRun:
    ops: tuple[OpResult, ...]
    components: tuple[ComponentSummary, ...]
    totals: RunTotals
    provenance: Mapping[str, Any]
    budget: Mapping[str, Any] | None
    power_trace: tuple[Mapping[str, Any], ...]


def _structure_of(arch, cname: str) -> Structure:
    mod = arch.component_module(cname)
    if not hasattr(mod, "structure"):
        raise ModelError(f"component {cname!r} ({arch.component_kinds[cname]}) has no structure(spec); "
                         "the energy layer needs it for area, leakage and SRAM energies")
    s = mod.structure(arch.components[cname])
    if not isinstance(s, Structure):
        raise ModelError(f"component {cname!r}: structure(spec) returned {type(s).__name__}, not a Structure")
    return s


class OpPricer:
    """Dynamic energy of one op's actions on component `cname`, priced as `price_run` prices
    it, and the arch's static power `static_w`: what a mapper minimising energy reads
    (EvalContext.pricer). Built lazily: nothing is priced until it is called."""

    def __init__(self, arch, cname: str):
        self.arch, self.cname = arch, cname
        self._struct = None

    def _setup(self):
        arch = self.arch
        tech = resolve_tech(arch.tech, relative_to=arch.source if arch.source and Path(arch.source).exists() else None)
        self._led = _Ledger(tech)
        with warnings.catch_warnings():          # price_run issues them for the run
            warnings.simplefilter("ignore")
            self._struct = _structure_of(arch, self.cname)
            self._static_w = float(sum(leakage_breakdown_w(_structure_of(arch, n), ledger=self._led)["total"]
                                       for n in arch.component_kinds))

    @property
    def static_w(self) -> float:
        if self._struct is None:
            self._setup()
        return self._static_w

    def __call__(self, actions: Mapping[str, float]) -> float:
        if self._struct is None:
            self._setup()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            per_key = price_actions(self._struct, actions, ledger=self._led)
        return float(sum(per_key.values()))


def check_budget(budget, *, area_mm2_total: float | None, avg_power_w: float | None,
                 peak_power_w: float | None) -> dict | None:
    """{"area_mm2", "power_w", "ok", "exceeded", ...}: area vs the area limit; average and
    peak power vs the power limit (either exceeding fails the budget)."""
    if budget is None:
        return None
    out: dict[str, Any] = {"area_mm2": budget.area_mm2, "power_w": budget.power_w,
                           "area_used_mm2": area_mm2_total, "avg_power_w": avg_power_w,
                           "peak_power_w": peak_power_w,
                           "power_checks": "avg_power_w and peak_power_w (power trace) vs power_w"}
    exceeded = []
    if budget.area_mm2 is not None and area_mm2_total is not None and area_mm2_total > budget.area_mm2:
        exceeded.append("area_mm2")
    if budget.power_w is not None:
        if avg_power_w is not None and avg_power_w > budget.power_w:
            exceeded.append("avg_power_w")
        if peak_power_w is not None and peak_power_w > budget.power_w:
            exceeded.append("peak_power_w")
    out["exceeded"] = exceeded
    out["ok"] = not exceeded
    return out


def power_trace(ops, start_s, end_s, static_w: float) -> list[dict]:
    """Power over the timeline: per interval between op starts and ends, the static power plus
    each active op's dynamic energy spread over its span (start to end). Intervals with one
    active op name it (`op`, `component`); `active_ops` counts them."""
    import numpy as np
    start = np.asarray(start_s, dtype=np.float64)
    end = np.asarray(end_s, dtype=np.float64)
    if start.size == 0:
        return []
    span = end - start
    live = span > 0
    energy = np.array([o.energy_j or 0.0 for o in ops])
    p = np.where(live, energy / np.where(live, span, 1.0), 0.0)
    times = np.unique(np.concatenate([start[live], end[live], [0.0]]))
    if times.size < 2:
        return []
    a = np.searchsorted(times, start[live])
    b = np.searchsorted(times, end[live])
    idx = np.flatnonzero(live)
    k = times.size
    dp = np.zeros(k)
    dn = np.zeros(k, dtype=np.int64)
    di = np.zeros(k, dtype=np.int64)
    np.add.at(dp, a, p[live])
    np.add.at(dp, b, -p[live])
    np.add.at(dn, a, 1)
    np.add.at(dn, b, -1)
    np.add.at(di, a, idx)
    np.add.at(di, b, -idx)
    pw, n, who = np.cumsum(dp)[:-1], np.cumsum(dn)[:-1], np.cumsum(di)[:-1]
    out = []
    for j in range(k - 1):
        row = {"t_start_s": float(times[j]), "t_end_s": float(times[j + 1]),
               "power_w": float(max(pw[j], 0.0)) + static_w, "active_ops": int(n[j])}
        if n[j] == 1:
            o = ops[int(who[j])]
            row["op"] = o.name or o.op
            row["component"] = o.component
        out.append(row)
    return out


def price_run(arch, results, timeline=None) -> PricedRun:
    """Price every op of a run once, sum area and leakage per component, charge static power
    over the makespan, build the power trace from the timeline, check the budget and list the
    source of every number used (fixed API). Without a timeline the ops run back to back."""
    if timeline is None:
        from archsim.schedule import schedule_arrays
        n = len(results)
        timeline = schedule_arrays([r.latency_s for r in results], ["all"] * n,
                                   [(i - 1,) if i else () for i in range(n)])
    tech = resolve_tech(arch.tech, relative_to=arch.source if arch.source and Path(arch.source).exists() else None)
    led = _Ledger(tech)
    names = list(arch.component_kinds)
    structs = {n: _structure_of(arch, n) for n in names}
    areas = {n: area_breakdown(structs[n], ledger=led) for n in names}
    leaks = {n: leakage_breakdown_w(structs[n], ledger=led) for n in names}
    static_w = float(sum(v["total"] for v in leaks.values()))

    ops: list[OpResult] = []
    self_priced: set[str] = set()
    moved_static: set[str] = set()
    for r in results:
        if r.component not in structs:
            raise ModelError(f"op {r.name!r} ran on unknown component {r.component!r}")
        if r.energy_j is not None:
            self_priced.add(r.component)
            st = (r.energy_breakdown_j or {}).get("static")
            s = structs.get(r.component)
            if st and s is not None and s.fixed_leakage_power_w is not None:
                # The block priced its idle power into the op AND declares it as its fixed
                # static power: keep the static part once, in the run's static power x makespan.
                moved_static.add(r.component)
                br = {k: v for k, v in r.energy_breakdown_j.items() if k != "static"}
                r = attrs.evolve(r, energy_j=r.energy_j - st, energy_breakdown_j=br)
            ops.append(r)
            continue
        per_key = price_actions(structs[r.component], r.actions, ledger=led)
        by_class: dict[str, float] = {}
        for k, j in per_key.items():
            c = action_class(k)
            by_class[c] = by_class.get(c, 0.0) + j
        ops.append(attrs.evolve(r, energy_j=float(sum(per_key.values())), energy_breakdown_j=by_class))

    makespan = float(timeline.makespan_s)
    trace = power_trace(ops, timeline.start_s, timeline.end_s, static_w)
    util = {u.name: u.utilization for u in timeline.resources}

    from archsim.energy.activity import full_activity_power_w
    comps = []
    for n in names:
        mine = [o for o in ops if o.component == n]
        dyn = float(sum(o.energy_j for o in mine))
        by_class: dict[str, float] = {}
        for o in mine:
            for k, j in (o.energy_breakdown_j or {"self_priced": o.energy_j}).items():
                by_class[k] = by_class.get(k, 0.0) + j
        leak_j = leaks[n]["total"] * makespan
        by_class["leakage"] = leak_j
        own = [u for r, u in util.items() if r == n or r.startswith(n + ".")]
        comps.append(ComponentSummary(
            name=n, kind=arch.component_kinds[n], area_mm2=areas[n]["total"],
            leakage_power_w=leaks[n]["total"], energy_j=dyn + leak_j,
            utilization=max(own, default=0.0),
            full_activity_power_w=full_activity_power_w(structs[n], ledger=led)["total"],
            avg_power_w=(dyn + leak_j) / makespan if makespan > 0 else None,
            breakdown={"area_mm2": {k: v for k, v in areas[n].items() if k != "total"},
                       "energy_j": by_class,
                       "leakage_power_w": {k: v for k, v in leaks[n].items() if k != "total"}}))

    dyn_total = float(sum(o.energy_j for o in ops))
    energy_total = dyn_total + static_w * makespan
    avg_w = energy_total / makespan if makespan > 0 else None
    peak_w = max((p["power_w"] for p in trace), default=None)
    area_total = float(sum(a["total"] for a in areas.values()))
    budget = check_budget(arch.budget, area_mm2_total=area_total, avg_power_w=avg_w, peak_power_w=peak_w)
    totals = RunTotals(
        latency_s=makespan, cycles=_cycles(ops, timeline, structs, names),
        clock_domains=_clock_domains(ops, timeline, structs),
        flops=float(sum(o.flops for o in ops)), dram_bytes=float(sum(o.dram_bytes for o in ops)),
        dynamic_energy_j=dyn_total, leakage_power_w=static_w, energy_j=energy_total,
        avg_power_w=avg_w, peak_power_w=peak_w, area_mm2=area_total,
        latency_error_band=_error_band(ops))

    table = tech.table
    provenance = {
        "tech_table": table.name,
        "tech_table_path": _rel(table.path),
        "node_nm": tech.node_nm,
        "vdd_v": tech.vdd_v,
        "vdd_source": ("nominal Vdd of the node from the table ([scaling.nominal_vdd])"
                       if tech.vdd_is_nominal else "[tech] vdd_v of the arch"),
        "overhead_factor": tech.overhead_factor,
        "scaling": tech.scaling_summary(),
        "sources": led.sources(),
        "warnings": list(led.warnings),
        "conventions": {
            "latency_s": "makespan of the timeline (archsim.schedule: dependencies, resources, "
                         "chunk pipelining)",
            "op energy_j": "dynamic energy (action counts x energy per action); static power is "
                           "charged over the makespan in totals",
            "static power": "logic leakage + SRAM leakage + DRAM background (leakage_power_w)",
            "power_trace": "per interval of the timeline: static power + each active op's "
                           "dynamic energy / its span",
            "budget": "area vs area_mm2; average and peak (power trace) power vs power_w",
        },
    }
    if self_priced:
        provenance["self_priced_components"] = sorted(self_priced)
    if moved_static:
        provenance["static_moved_to_leakage"] = {
            c: "the block's own 'static' energy per op (its idle power x op latency) is charged "
               "once, as fixed_leakage_power_w x makespan, not twice" for c in sorted(moved_static)}
    fixed = {n: [k for k, v in (("area", structs[n].fixed_area_mm2),
                                 ("leakage", structs[n].fixed_leakage_power_w)) if v is not None]
             for n in names}
    fixed = {n: v for n, v in fixed.items() if v}
    if fixed:
        provenance["fixed_figures"] = {
            n: f"{' and '.join(v)} from the block's own figures (Structure.fixed_*); [tech] "
               "node_nm / vdd_v do not scale them" for n, v in fixed.items()}
    for n in names:
        if areas[n]["total"] == 0 and n not in fixed:
            provenance["warnings"].append(
                f"component {n!r}: its Structure has no units, SRAMs, PHYs or fixed area, so its "
                "area and leakage are 0")
    notes = {n: dict(structs[n].notes) for n in names if structs[n].notes}
    if notes:
        provenance["structure_notes"] = notes
    return PricedRun(ops=tuple(ops), components=tuple(comps), totals=totals, provenance=provenance,
                     budget=budget, power_trace=tuple(trace))


def _op_clock(o: OpResult, structs) -> float:
    return float(o.clock_ghz if o.clock_ghz is not None else structs[o.component].clock_ghz)


def _cycles(ops, timeline, structs, names) -> int:
    """The makespan in the clock of the first component (the arch's primary clock)."""
    f = structs[names[0]].clock_ghz * 1e9 if names else 0.0
    return int(round(timeline.makespan_s * f))


def _clock_domains(ops, timeline, structs) -> tuple[ClockDomain, ...]:
    doms: dict[float, dict] = {}
    for o in ops:
        d = doms.setdefault(_op_clock(o, structs), {"resources": {}, "cycles": 0})
        d["resources"][o.resource] = None
        d["cycles"] += int(o.cycles)
    return tuple(ClockDomain(clock_ghz=f, resources=tuple(d["resources"]), busy_cycles=d["cycles"],
                             makespan_cycles=int(round(timeline.makespan_s * f * 1e9)))
                 for f, d in doms.items())


def _error_band(ops) -> tuple[float, float] | None:
    """Latency-weighted relative error band of the ops (when every op has one)."""
    bands = [o.latency_error_band for o in ops]
    if not bands or any(b is None for b in bands):
        return None
    total = max(sum(o.latency_s for o in ops), 1e-300)
    return (sum(o.latency_s * o.latency_error_band[0] for o in ops) / total,
            sum(o.latency_s * o.latency_error_band[1] for o in ops) / total)


def _rel(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(__file__).resolve().parents[2]))
    except ValueError:
        return str(path)
