"""Technology-node and supply scaling (keyword-only; never positional callables).

Logic (Stillmaker & Baas 2017, via the table's [scaling] rows):
  area factor  = the table's area factor at the node (relative to the base node);
  energy factor = E_node(V) / E_base(V_base), E(V) = a V^2 + b V + c per node,
  so the factor credits a lower supply at the new node (voltage-aware).
Nodes between rows interpolate linearly in nm (like the Accelergy / hwcomponents plug-in).
Outside the table's rows (below 7 nm, above 130 nm for the default table) the plug-in's
extension is used - area ~ node^1, energy ~ node^0.5 from the nearest row - and a
`ScalingWarning` is issued (Python `warnings`) and appended to the caller's `record` list,
which ends up in the Report's provenance. Nothing ever silently returns an unscaled number.

SRAM has its own rule (table [sram.node]); on-chip wires scale with Vdd^2 only.
"""
from __future__ import annotations

import warnings

from archsim.errors import ConfigError


class ScalingWarning(UserWarning):
    """A scaled number comes from outside a rule's validity range (extrapolated)."""


def _warn(msg: str, record: list | None) -> None:
    if record is not None and msg not in record:
        record.append(msg)
    warnings.warn(msg, ScalingWarning, stacklevel=3)


def _bracket(nodes, node_nm):
    """(i, j, t): node lies between nodes[i] >= node >= nodes[j] with weight t on j."""
    for i in range(len(nodes) - 1):
        hi, lo = nodes[i], nodes[i + 1]
        if hi >= node_nm >= lo:
            t = 0.0 if hi == lo else (hi - node_nm) / (hi - lo)
            return i, i + 1, t
    raise ValueError("node outside the table")


def _interp(nodes, values, node_nm):
    i, j, t = _bracket(nodes, node_nm)
    return values[i] * (1 - t) + values[j] * t


def _check_node(node_nm) -> float:
    if not (isinstance(node_nm, (int, float)) and node_nm > 0):
        raise ConfigError("<tech>", "tech.node_nm", f"must be a positive number of nm; got {node_nm!r}")
    return float(node_nm)


def nominal_vdd_v(*, node_nm: float, table, record: list | None = None) -> float:
    """The table's nominal supply at `node_nm` (linear in nm between listed nodes; the
    nearest listed value, with a warning, outside them)."""
    node_nm = _check_node(node_nm)
    s = table.scaling
    nodes, vdd = s.vdd_nodes_nm, s.nominal_vdd_v
    if node_nm > nodes[0]:
        _warn(f"nominal Vdd: {node_nm:g} nm is above the table's {nodes[0]:g} nm; using "
              f"{vdd[0]:g} V (set [tech] vdd_v)", record)
        return vdd[0]
    if node_nm < nodes[-1]:
        _warn(f"nominal Vdd: {node_nm:g} nm is below the table's {nodes[-1]:g} nm; using "
              f"{vdd[-1]:g} V (set [tech] vdd_v)", record)
        return vdd[-1]
    return _interp(nodes, vdd, node_nm)


def logic_area_factor(*, node_nm: float, table, record: list | None = None) -> float:
    """Logic area at `node_nm` relative to the table's base node (Stillmaker-Baas)."""
    node_nm = _check_node(node_nm)
    s = table.scaling
    nodes = s.nodes_nm
    if node_nm < nodes[-1] or node_nm > nodes[0]:
        edge = nodes[-1] if node_nm < nodes[-1] else nodes[0]
        f_edge = s.area_factor[nodes.index(edge)]
        f = f_edge * (node_nm / edge) ** s.extension_area_exponent
        _warn(f"logic area at {node_nm:g} nm is outside Stillmaker-Baas {nodes[-1]:g}-{nodes[0]:g} nm: "
              f"extrapolated from {edge:g} nm as (node/{edge:g})^{s.extension_area_exponent:g} "
              f"-> factor {f:.4g} vs {table.base_node_nm:g} nm", record)
        return f
    return _interp(nodes, s.area_factor, node_nm)


def _poly(table, node_nm: float, vdd_v: float, record) -> float:
    s = table.scaling
    nodes = s.nodes_nm

    def at(i):
        return s.energy_a[i] * vdd_v ** 2 + s.energy_b[i] * vdd_v + s.energy_c[i]

    if node_nm < nodes[-1] or node_nm > nodes[0]:
        edge_i = len(nodes) - 1 if node_nm < nodes[-1] else 0
        edge = nodes[edge_i]
        e = at(edge_i) * (node_nm / edge) ** s.extension_energy_exponent
        _warn(f"logic energy at {node_nm:g} nm is outside Stillmaker-Baas {nodes[-1]:g}-{nodes[0]:g} nm: "
              f"extrapolated from {edge:g} nm as (node/{edge:g})^{s.extension_energy_exponent:g}",
              record)
        return e
    i, j, t = _bracket(nodes, node_nm)
    return at(i) * (1 - t) + at(j) * t


def logic_energy_factor(*, node_nm: float, vdd_v: float, table, record: list | None = None) -> float:
    """Dynamic energy per logic op at (node_nm, vdd_v) relative to the table's base
    (base_node_nm at base_vdd_v): E_node(vdd_v) / E_base(base_vdd_v)."""
    node_nm = _check_node(node_nm)
    if not vdd_v > 0:
        raise ConfigError("<tech>", "tech.vdd_v", f"must be > 0; got {vdd_v!r}")
    if not 0.5 <= vdd_v <= 1.3:
        _warn(f"Vdd {vdd_v:g} V is outside 0.5-1.3 V where the Stillmaker-Baas quadratics "
              "were fitted; energy extrapolated", record)
    base = _poly(table, table.base_node_nm, table.base_vdd_v, None)
    return _poly(table, node_nm, vdd_v, record) / base


def logic_leakage_factor(*, node_nm: float, vdd_v: float, table, record: list | None = None) -> float:
    """Leakage power of one logic unit relative to the base node: scaled like its dynamic
    energy (the hwcomponents `tech_node_leak` rule: leakage factor = energy factor)."""
    return logic_energy_factor(node_nm=node_nm, vdd_v=vdd_v, table=table, record=record)


def sram_factors(*, node_nm: float, vdd_v: float, table, record: list | None = None) -> dict:
    """SRAM rule: {"energy", "leakage", "area"} factors relative to the base node at
    (node_nm, vdd_v). Node factors from the table's [sram.node] rows (linear in nm between
    rows); supply: energy x (V / Vnom(node))^2, leakage x (V / Vnom(node))."""
    node_nm = _check_node(node_nm)
    q = table.sram
    nodes = q.node_nodes_nm
    if node_nm < nodes[-1] or node_nm > nodes[0]:
        edge_i = len(nodes) - 1 if node_nm < nodes[-1] else 0
        edge = nodes[edge_i]
        r = node_nm / edge
        ef = q.node_energy_factor[edge_i] * r ** 0.5
        lf = q.node_leakage_factor[edge_i] * r ** 0.5
        af = q.node_area_factor[edge_i] * r
        _warn(f"SRAM at {node_nm:g} nm is outside the SRAM rule's {nodes[-1]:g}-{nodes[0]:g} nm: "
              f"extrapolated from {edge:g} nm (energy, leakage ~ node^0.5, area ~ node)", record)
    else:
        ef = _interp(nodes, q.node_energy_factor, node_nm)
        lf = _interp(nodes, q.node_leakage_factor, node_nm)
        af = _interp(nodes, q.node_area_factor, node_nm)
    vnom = nominal_vdd_v(node_nm=node_nm, table=table, record=record)
    return {"energy": ef * (vdd_v / vnom) ** 2, "leakage": lf * (vdd_v / vnom), "area": af}


def wire_energy_factor(*, vdd_v: float, table) -> float:
    """On-chip wire energy per bit per mm relative to the base: (V / V_base)^2 (wire
    capacitance per mm barely changes with the node)."""
    return (vdd_v / table.base_vdd_v) ** 2
