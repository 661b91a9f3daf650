"""Technology tables (arch_configs/tech/*.toml) -> one frozen, validated `TechTable`.

Every number in a table is an *entry*: ``key_unit = {value = ..., source = "...",
confidence = "..."}``. The unit is the key's suffix (see `UNIT_SUFFIXES`), the source is
mandatory and travels into the Report's provenance, and the confidence mark is one of
`CONFIDENCE` (tech.md's marks). A table that is malformed, misses an entry, has an entry
without a source, an unknown unit or an out-of-range value is one `ConfigError(file,
dotted_key, what is allowed)` - a bad table is bad input like a bad arch file.
"""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, Mapping

import attrs

from archsim.config.load import check_float_magnitude, read_toml
from archsim.errors import ConfigError
from archsim.units import DTYPES
from archsim.resources import shipped_root

#: The folder the named tables live in (`[tech] table = "default"` -> default.toml).
TECH_DIR = shipped_root() / "arch_configs" / "tech"      # the repo's, or the wheel's copy

CONFIDENCE = ("published", "unverified", "derived", "low")

#: Unit suffixes an entry key may end with (longest first when matching).
UNIT_SUFFIXES = (
    "_pj_per_bit_mm", "_mm2_per_lane", "_gb_s_per_lane", "_um2_per_bit", "_pj_per_bit",
    "_pj_per_byte", "_mw_per_mm2", "_mw_per_gib", "_w_per_lane", "_bytes", "_bits", "_count",
    "_factor",
    "_exponent", "_exp_read", "_exp_write", "_exp_leak", "_exp_area", "_slope_read",
    "_slope_write", "_slope_leak", "_slope_area", "_gb_s", "_gib", "_mm2", "_um2", "_pj",
    "_mw", "_nm", "_v", "_w", "_a", "_b", "_c",
)
#: Dimensionless suffixes (fit exponents / slopes / polynomial coefficients) -> unit text.
_DIMENSIONLESS = {"_count", "_factor", "_exponent", "_exp_read", "_exp_write", "_exp_leak", "_exp_area",
                  "_slope_read", "_slope_write", "_slope_leak", "_slope_area", "_a", "_b", "_c"}

LOGIC_OPS = ("mac", "add", "mul", "cmp")
#: Accumulator / helper widths the table carries besides the workload dtypes.
EXTRA_DTYPES = {"add": ("int16", "int32"), "mul": ("int16", "int32"), "mac": ("int16",)}
DRAM_TECHS = ("lpddr5", "hbm2e", "hbm3", "hbm3e", "gddr6x", "ddr4")
PCIE_GENS = ("pcie3", "pcie4", "pcie5", "pcie6")


@attrs.frozen(kw_only=True)
class Entry:
    """One sourced number (or array of numbers) of a table."""
    key: str                 # dotted key in the table, e.g. "logic.mac.int8.energy_pj"
    value: Any
    unit: str
    source: str
    confidence: str


@attrs.frozen(kw_only=True)
class LogicCost:
    energy_pj: float         # per operation at the base node and Vdd
    area_um2: float          # per functional unit at the base node


@attrs.frozen(kw_only=True)
class ScalingTable:
    nodes_nm: tuple[float, ...]           # descending, Stillmaker-Baas rows
    area_factor: tuple[float, ...]        # relative to the base node
    energy_a: tuple[float, ...]
    energy_b: tuple[float, ...]
    energy_c: tuple[float, ...]
    extension_area_exponent: float
    extension_energy_exponent: float
    vdd_nodes_nm: tuple[float, ...]
    nominal_vdd_v: tuple[float, ...]


@attrs.frozen(kw_only=True)
class SramTable:
    fit_capacity_bytes: tuple[float, ...]
    fit_read_pj: tuple[float, ...]
    fit_write_pj: tuple[float, ...]
    fit_leakage_mw: tuple[float, ...]
    fit_area_mm2: tuple[float, ...]
    width_exp_read: float
    width_exp_write: float
    width_exp_area: float
    bank_exp_read: float
    bank_exp_write: float
    bank_exp_leak: float
    bank_exp_area: float
    port_slope_read: float
    port_slope_write: float
    port_slope_leak: float
    port_slope_area: float
    fit_width_min_bits: float
    fit_width_max_bits: float
    fit_banks_max_count: float
    fit_ports_max_count: float
    node_nodes_nm: tuple[float, ...]      # ascending order is not required; descending here
    node_energy_factor: tuple[float, ...]
    node_leakage_factor: tuple[float, ...]
    node_area_factor: tuple[float, ...]


@attrs.frozen(kw_only=True)
class DramTech:
    energy_pj_per_bit: float
    bandwidth_gb_s: float      # per device / stack
    capacity_gib: float        # per device / stack
    background_mw_per_gib: float
    phy_area_mm2: float        # per device / stack interface


@attrs.frozen(kw_only=True)
class PcieTech:
    bandwidth_gb_s_per_lane: float
    energy_pj_per_bit: float
    power_w_per_lane: float
    phy_area_mm2_per_lane: float


@attrs.frozen(kw_only=True)
class SsdTech:
    read_power_w: float
    write_power_w: float
    read_bandwidth_gb_s: float
    write_bandwidth_gb_s: float
    idle_power_w: float


@attrs.frozen(kw_only=True, eq=False)   # identity equality/hash: cached per file version
class TechTable:
    """A validated technology table. `entries` keeps every number with its unit and source."""
    name: str
    path: str
    base_node_nm: float
    base_vdd_v: float
    logic: Mapping[str, Mapping[str, LogicCost]]     # op -> dtype -> cost
    register_area_um2_per_bit: float
    xor_popcount_energy_pj_per_bit: float
    xor_popcount_area_um2_per_bit: float
    logic_leakage_mw_per_mm2: float
    overhead_factor: float
    rf_read_pj_per_byte: float
    rf_write_pj_per_byte: float
    scaling: ScalingTable
    sram: SramTable
    dram: Mapping[str, DramTech]
    pcie: Mapping[str, PcieTech]
    onchip_pj_per_bit_mm: float
    ssd: SsdTech
    entries: Mapping[str, Entry] = attrs.field(repr=False)

    def source(self, key: str) -> str:
        return self.entries[key].source

    def sources(self, prefix: str) -> dict[str, str]:
        """{dotted key: source} of every entry at or under `prefix`."""
        return {k: e.source for k, e in self.entries.items()
                if k == prefix or k.startswith(prefix + ".")}


# ------------------------------------------------------------------------------ parsing

def unit_of(key: str) -> str | None:
    """The unit suffix of an entry name (``energy_pj`` -> ``pj``), or None if it has none."""
    for suf in UNIT_SUFFIXES:
        if key.endswith(suf) and len(key) > len(suf):
            return "1" if suf in _DIMENSIONLESS else suf[1:]
    return None


def _is_number(v) -> bool:
    return type(v) in (int, float) and math.isfinite(v)


def _collect(node: Mapping, *, file, prefix: str, out: dict[str, Entry]) -> None:
    """Walk the TOML tree; every table with a `value` key is an entry."""
    for k, v in node.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if key in ("meta.name", "meta.schema_version", "meta.description"):
            continue
        if not isinstance(v, Mapping):
            raise ConfigError(file, key, "expected an entry {value = ..., source = \"...\", "
                              "confidence = \"...\"} or a table of entries, got "
                              + repr(v)[:60])
        if "value" not in v:
            _collect(v, file=file, prefix=key, out=out)
            continue
        extra = set(v) - {"value", "source", "confidence", "note"}
        if extra:
            raise ConfigError(file, f"{key}.{sorted(extra)[0]}",
                              "unknown key in an entry; allowed: value, source, confidence, note")
        unit = unit_of(str(k))
        if unit is None:
            raise ConfigError(file, key, "entry name must end with its unit; allowed suffixes: "
                              + ", ".join(UNIT_SUFFIXES))
        src = v.get("source")
        if not isinstance(src, str) or not src.strip():
            raise ConfigError(file, f"{key}.source", "every entry needs a non-empty source string")
        conf = v.get("confidence", "published")
        if conf not in CONFIDENCE:
            raise ConfigError(file, f"{key}.confidence",
                              f"got {conf!r}; allowed values: " + ", ".join(CONFIDENCE))
        val = v["value"]
        if isinstance(val, list):
            if not val or not all(_is_number(x) for x in val):
                raise ConfigError(file, f"{key}.value", "expected a non-empty array of finite numbers")
            val = tuple(check_float_magnitude(float(x), file=file, key=f"{key}.value") for x in val)
        elif not _is_number(val):
            raise ConfigError(file, f"{key}.value", f"expected a finite number, got {val!r}")
        else:
            val = check_float_magnitude(float(val), file=file, key=f"{key}.value")
        out[key] = Entry(key=key, value=val, unit=unit, source=src.strip(), confidence=conf)


class _Reader:
    """Typed access to the collected entries with range checks naming the dotted key."""

    def __init__(self, entries: Mapping[str, Entry], file):
        self.e, self.file = entries, file
        self.read: set[str] = set()

    def num(self, key: str, *, gt=None, ge=None, le=None) -> float:
        self.read.add(key)
        if key not in self.e:
            raise ConfigError(self.file, key, "required entry is missing")
        v = self.e[key].value
        if isinstance(v, tuple):
            raise ConfigError(self.file, f"{key}.value", "expected a number, got an array")
        self._check(key, v, gt=gt, ge=ge, le=le)
        return v

    def arr(self, key: str, *, n: int | None = None, gt=None, ge=None) -> tuple[float, ...]:
        self.read.add(key)
        if key not in self.e:
            raise ConfigError(self.file, key, "required entry is missing")
        v = self.e[key].value
        if not isinstance(v, tuple):
            raise ConfigError(self.file, f"{key}.value", "expected an array of numbers")
        if n is not None and len(v) != n:
            raise ConfigError(self.file, f"{key}.value", f"expected {n} values (one per node / "
                              f"fit point), got {len(v)}")
        for x in v:
            self._check(key, x, gt=gt, ge=ge)
        return v

    def _check(self, key, v, *, gt=None, ge=None, le=None):
        if gt is not None and not v > gt:
            raise ConfigError(self.file, f"{key}.value", f"must be > {gt}; got {v!r}")
        if ge is not None and not v >= ge:
            raise ConfigError(self.file, f"{key}.value", f"must be >= {ge}; got {v!r}")
        if le is not None and not v <= le:
            raise ConfigError(self.file, f"{key}.value", f"must be <= {le}; got {v!r}")


def _strictly(seq, *, increasing: bool) -> bool:
    return all((b > a) if increasing else (b < a) for a, b in zip(seq, seq[1:]))


def table_from_data(data: Mapping, *, file, name: str = "") -> TechTable:
    """Validate a parsed table and build the frozen `TechTable` (or raise ConfigError)."""
    if not isinstance(data, Mapping):
        raise ConfigError(file, "<root>", "expected a table")
    meta = data.get("meta")
    if not isinstance(meta, Mapping):
        raise ConfigError(file, "meta", "required table [meta] with name and base_node_nm/base_vdd_v")
    entries: dict[str, Entry] = {}
    _collect(data, file=file, prefix="", out=entries)
    r = _Reader(entries, file)

    logic: dict[str, dict[str, LogicCost]] = {}
    for op in LOGIC_OPS:
        logic[op] = {}
        for dt in DTYPES + EXTRA_DTYPES.get(op, ()):
            base = f"logic.{op}.{dt}"
            logic[op][dt] = LogicCost(energy_pj=r.num(f"{base}.energy_pj", gt=0),
                                      area_um2=r.num(f"{base}.area_um2", gt=0))

    s = "scaling"
    nodes = r.arr(f"{s}.nodes_nm", gt=0)
    if not _strictly(nodes, increasing=False):
        raise ConfigError(file, f"{s}.nodes_nm.value", "nodes must be strictly decreasing (e.g. 130 ... 7)")
    n = len(nodes)
    area_f = r.arr(f"{s}.area_factor", n=n, gt=0)
    if not _strictly(area_f, increasing=False):
        raise ConfigError(file, f"{s}.area_factor.value",
                          "area factors must strictly decrease with the node (a smaller node never has more area)")
    vnodes = r.arr(f"{s}.nominal_vdd.nodes_nm", gt=0)
    scaling = ScalingTable(
        nodes_nm=nodes, area_factor=area_f,
        energy_a=r.arr(f"{s}.energy_a", n=n), energy_b=r.arr(f"{s}.energy_b", n=n),
        energy_c=r.arr(f"{s}.energy_c", n=n),
        extension_area_exponent=r.num(f"{s}.extension_area_exponent", gt=0),
        extension_energy_exponent=r.num(f"{s}.extension_energy_exponent", gt=0),
        vdd_nodes_nm=vnodes,
        nominal_vdd_v=r.arr(f"{s}.nominal_vdd.vdd_v", n=len(vnodes), gt=0))
    base_node = r.num("meta.base_node_nm", gt=0)
    if base_node not in nodes:
        raise ConfigError(file, "meta.base_node_nm.value",
                          f"the base node must be one of scaling.nodes_nm: {list(nodes)}")
    if area_f[nodes.index(base_node)] != 1.0:
        raise ConfigError(file, f"{s}.area_factor.value", "the base node's area factor must be 1.0")
    if base_node not in vnodes:
        raise ConfigError(file, f"{s}.nominal_vdd.nodes_nm.value", "must include the base node")
    base_vdd = r.num("meta.base_vdd_v", gt=0, le=2.0)
    for i in range(n):   # every node's E(V) polynomial must be positive over 0.5..1.3 V
        for v in (0.5, 0.7, 0.9, 1.1, 1.3):
            if scaling.energy_a[i] * v * v + scaling.energy_b[i] * v + scaling.energy_c[i] <= 0:
                raise ConfigError(file, f"{s}.energy_a.value",
                                  f"node {nodes[i]} nm: a V^2 + b V + c is not positive at {v} V")

    q = "sram"
    cap = r.arr(f"{q}.fit_capacity_bytes", gt=0)
    if not _strictly(cap, increasing=True):
        raise ConfigError(file, f"{q}.fit_capacity_bytes.value", "fit capacities must strictly increase")
    k = len(cap)
    fits = {}
    for f in ("fit_read_pj", "fit_write_pj", "fit_leakage_mw", "fit_area_mm2"):
        fits[f] = r.arr(f"{q}.{f}", n=k, gt=0)
        if not _strictly(fits[f], increasing=True):
            raise ConfigError(file, f"{q}.{f}.value",
                              "must strictly increase with capacity (a bigger SRAM is never cheaper)")
    sn = r.arr(f"{q}.node.nodes_nm", gt=0)
    if not _strictly(sn, increasing=False):
        raise ConfigError(file, f"{q}.node.nodes_nm.value", "nodes must be strictly decreasing")
    if base_node not in sn:
        raise ConfigError(file, f"{q}.node.nodes_nm.value", "must include the base node")
    sram_area_f = r.arr(f"{q}.node.area_factor", n=len(sn), gt=0)
    if not _strictly(sram_area_f, increasing=False):
        raise ConfigError(file, f"{q}.node.area_factor.value", "SRAM area factors must strictly decrease with the node")
    sram = SramTable(
        fit_capacity_bytes=cap, **fits,
        **{f: r.num(f"{q}.{f}") for f in (
            "width_exp_read", "width_exp_write", "width_exp_area", "bank_exp_read",
            "bank_exp_write", "bank_exp_leak", "bank_exp_area")},
        **{f: r.num(f"{q}.{f}", ge=0) for f in (
            "port_slope_read", "port_slope_write", "port_slope_leak", "port_slope_area")},
        **{f: r.num(f"{q}.{f}", ge=1) for f in (
            "fit_width_min_bits", "fit_width_max_bits", "fit_banks_max_count", "fit_ports_max_count")},
        node_nodes_nm=sn,
        node_energy_factor=r.arr(f"{q}.node.energy_factor", n=len(sn), gt=0),
        node_leakage_factor=r.arr(f"{q}.node.leakage_factor", n=len(sn), gt=0),
        node_area_factor=sram_area_f)

    dram = {}
    for t in DRAM_TECHS:
        b = f"dram.{t}"
        dram[t] = DramTech(energy_pj_per_bit=r.num(f"{b}.energy_pj_per_bit", gt=0),
                           bandwidth_gb_s=r.num(f"{b}.bandwidth_gb_s", gt=0),
                           capacity_gib=r.num(f"{b}.capacity_gib", gt=0),
                           background_mw_per_gib=r.num(f"{b}.background_mw_per_gib", ge=0),
                           phy_area_mm2=r.num(f"{b}.phy_area_mm2", ge=0))
    pcie = {}
    for g in PCIE_GENS:
        b = f"link.{g}"
        pcie[g] = PcieTech(bandwidth_gb_s_per_lane=r.num(f"{b}.bandwidth_gb_s_per_lane", gt=0),
                           energy_pj_per_bit=r.num(f"{b}.energy_pj_per_bit", gt=0),
                           power_w_per_lane=r.num(f"{b}.power_w_per_lane", ge=0),
                           phy_area_mm2_per_lane=r.num(f"{b}.phy_area_mm2_per_lane", ge=0))
    ssd = SsdTech(**{f: r.num(f"ssd.{f}", gt=0) for f in (
        "read_power_w", "write_power_w", "read_bandwidth_gb_s", "write_bandwidth_gb_s",
        "idle_power_w")})
    tname = meta.get("name", name)
    if not isinstance(tname, str):
        raise ConfigError(file, "meta.name", f"expected a string, got {tname!r}")
    table = TechTable(
        name=tname or name, path=str(file), base_node_nm=base_node, base_vdd_v=base_vdd,
        logic=logic,
        register_area_um2_per_bit=r.num("logic.register.area_um2_per_bit", gt=0),
        xor_popcount_energy_pj_per_bit=r.num("logic.xor_popcount.energy_pj_per_bit", gt=0),
        xor_popcount_area_um2_per_bit=r.num("logic.xor_popcount.area_um2_per_bit", gt=0),
        logic_leakage_mw_per_mm2=r.num("logic.leakage.leakage_mw_per_mm2", ge=0),
        overhead_factor=r.num("logic.overhead.overhead_factor", ge=1.0, le=10.0),
        rf_read_pj_per_byte=r.num("rf.read_pj_per_byte", gt=0),
        rf_write_pj_per_byte=r.num("rf.write_pj_per_byte", gt=0),
        scaling=scaling, sram=sram, dram=dram, pcie=pcie,
        onchip_pj_per_bit_mm=r.num("link.onchip.energy_pj_per_bit_mm", gt=0),
        ssd=ssd, entries=entries)
    unknown = sorted(set(entries) - r.read)
    if unknown:
        # an entry no model reads is a typo or a number that silently does nothing
        raise ConfigError(file, unknown[0], "unknown entry: no model reads it (a misspelt key or "
                          "an unsupported dtype / technology?); remove it or fix its name")
    return table


def table_path(table: str, *, relative_to=None) -> Path:
    """`[tech] table` -> file: a bare name is arch_configs/tech/NAME.toml; a value ending in
    .toml is a path (relative to the arch file's folder when given)."""
    if table.endswith(".toml"):
        p = Path(table)
        if not p.is_absolute() and relative_to is not None:
            p = Path(relative_to).parent / p
        return p
    return TECH_DIR / f"{table}.toml"


def available_tables() -> list[str]:
    return sorted(p.stem for p in TECH_DIR.glob("*.toml"))


def load_table(table: str = "default", *, relative_to=None, key: str = "tech.table") -> TechTable:
    """Load and validate a technology table by name or path (cached per file version)."""
    p = table_path(table, relative_to=relative_to)
    if not p.is_file():
        where = relative_to if relative_to is not None else "<arch>"
        raise ConfigError(where, key, f"technology table {table!r} not found ({p}); available: "
                          + ", ".join(available_tables()))
    st = p.stat()
    return _load_cached(str(p.resolve()), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=32)
def _load_cached(path: str, _mtime_ns: int, _size: int) -> TechTable:
    data = read_toml(path)
    return table_from_data(data, file=path, name=Path(path).stem)
