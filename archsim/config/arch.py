"""The architecture spec: tech node, budget, tagged components and the op -> component mapping."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import attrs

from archsim.config.registry import COMPONENT_MODULES, component_module, op_types
from archsim.config.load import apply_overrides, field, resolve_extends, structure
from archsim.errors import ConfigError


@attrs.frozen(kw_only=True)
class TechSpec:
    """Technology the accelerator is priced in (see arch_configs/tech/)."""
    node_nm: int = field(45, ge=1, le=180, doc="process node the tables are scaled to")
    vdd_v: float | None = field(None, gt=0.0, le=2.0, doc="supply voltage; None = the node's nominal")
    table: str = field("default", doc="tech table name under arch_configs/tech/ (without .toml)")
    overhead_factor: float | None = field(None, ge=1.0, le=10.0,
                                          doc="area multiplier for wiring/control; None = the table's")


@attrs.frozen(kw_only=True)
class BudgetSpec:
    area_mm2: float | None = field(None, gt=0.0)
    power_w: float | None = field(None, gt=0.0)


@attrs.frozen(kw_only=True)
class SystemSpec:
    """N devices of one component joined by an interconnect (`[system]`). The config layer
    expands the named `device` component into N components `<device>0 ... <device>N-1` (same
    spec, same kind); [mapping] entries may keep naming the template. Ops of a split workload
    carry a device index (Workload.devices) that picks the replica and its resources
    (`gpu3.sm`); ops on components that are not replicated (the interconnect) get the index on
    their resource (`nvswitch.link3`)."""
    devices: int = field(1, ge=1, le=4096, doc="devices used (--set system.devices=2)")
    device: str = field(doc="the component replicated per device (e.g. gpu, sa, vrex)")
    interconnect: str = field("", doc="the component (kind interconnect) joining them; '' = none")


@attrs.frozen(kw_only=True)
class ArchSpec:
    name: str
    description: str = ""
    tech: TechSpec = TechSpec()
    budget: BudgetSpec | None = None
    components: Mapping[str, Any] = attrs.field(factory=dict)   # name -> component Spec
    component_kinds: Mapping[str, str] = attrs.field(factory=dict)  # name -> kind
    mapping: Mapping[str, str] = attrs.field(factory=dict)      # op kind -> component name
    system: SystemSpec | None = None
    source: str = ""
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)  # resolved TOML

    def component_module(self, name: str):
        if name not in self.component_kinds and self.system is not None and name == self.system.device:
            name = self.device_component(name, 0)
        return component_module(self.component_kinds[name])

    @property
    def devices(self) -> int:
        return self.system.devices if self.system is not None else 1

    def device_component(self, name: str, device: int) -> str:
        """The component that runs an op mapped to `name` on device `device`: the replica for
        the replicated device component (its template name or any replica's), else `name`."""
        sysm = self.system
        if sysm is None:
            return name
        t = sysm.device
        if name == t or (name.startswith(t) and name[len(t):].isdigit() and name in self.components):
            return f"{t}{device}"
        return name


_TOP_KEYS = ("name", "description", "extends", "tech", "budget", "components", "mapping", "system")


def load_arch(path_or_mapping, overrides=None) -> ArchSpec:
    """Load an arch TOML (following `extends`) or a mapping, apply `--set` overrides
    (a mapping of dotted keys or KEY=VALUE strings), validate, and build the frozen spec."""
    if isinstance(path_or_mapping, Mapping):
        file = "<mapping>"
        data = dict(path_or_mapping)
        if "extends" in data:
            raise ConfigError(file, "extends", "extends needs a file path; load the arch from a file")
    else:
        file = Path(path_or_mapping)
        data = resolve_extends(file)
    data = apply_overrides(data, overrides, file=file)
    return arch_from_data(data, file=file)


def arch_from_data(data: Mapping, *, file) -> ArchSpec:
    data = dict(data)
    data.pop("extends", None)
    for k in data:
        if k not in _TOP_KEYS:
            raise ConfigError(file, k, "unknown key; allowed: " + ", ".join(_TOP_KEYS))
    name = data.get("name", Path(str(file)).stem)
    if not isinstance(name, str):
        raise ConfigError(file, "name", f"expected string, got {name!r}")
    desc = data.get("description", "")
    if not isinstance(desc, str):
        raise ConfigError(file, "description", f"expected string, got {desc!r}")
    tech = structure(TechSpec, data.get("tech", {}), file=file, key="tech")
    budget = structure(BudgetSpec, data["budget"], file=file, key="budget") if "budget" in data else None
    comps_raw = data.get("components")
    if not isinstance(comps_raw, Mapping) or not comps_raw:
        raise ConfigError(file, "components",
                          "required: at least one [components.NAME] table with a kind; allowed kinds: "
                          + ", ".join(sorted(COMPONENT_MODULES)))
    comps, kinds = {}, {}
    for cname, table in comps_raw.items():
        key = f"components.{cname}"
        if not isinstance(table, Mapping):
            raise ConfigError(file, key, f"expected a table with a kind, got {table!r}")
        kind = table.get("kind")
        if kind is None:
            raise ConfigError(file, f"{key}.kind", "required key is missing; allowed values: "
                              + ", ".join(sorted(COMPONENT_MODULES)))
        if not isinstance(kind, str) or kind not in COMPONENT_MODULES:
            raise ConfigError(file, f"{key}.kind", f"got {kind!r}; allowed values: "
                              + ", ".join(sorted(COMPONENT_MODULES)))
        mod = component_module(kind)
        body = {k: v for k, v in table.items() if k != "kind"}
        spec = structure(mod.Spec, body, file=file, key=key)
        if hasattr(mod, "validate"):
            mod.validate(spec, file=file, key=key)
        comps[cname], kinds[cname] = spec, kind
    system = None
    if "system" in data:
        system = structure(SystemSpec, data["system"], file=file, key="system")
        if system.device not in comps:
            raise ConfigError(file, "system.device", f"got {system.device!r}; allowed values (components): "
                              + ", ".join(comps))
        if system.interconnect:
            if system.interconnect not in comps or kinds[system.interconnect] != "interconnect":
                raise ConfigError(file, "system.interconnect", f"got {system.interconnect!r}; allowed values "
                                  "(components of kind interconnect): "
                                  + (", ".join(n for n, k in kinds.items() if k == "interconnect") or "none"))
        elif system.devices > 1:
            raise ConfigError(file, "system.interconnect", "required when system.devices > 1: the name of a "
                              "component of kind interconnect")
        if system.interconnect and "ports" in attrs.fields_dict(type(comps[system.interconnect])):
            # the interconnect learns how many devices it joins (its ports), e.g. for its power
            comps[system.interconnect] = attrs.evolve(comps[system.interconnect], ports=system.devices)
        t = system.device
        new_c, new_k = {}, {}
        for cname in comps:
            if cname == t:
                for d in range(system.devices):
                    new_c[f"{t}{d}"], new_k[f"{t}{d}"] = comps[t], kinds[t]
            else:
                new_c[cname], new_k[cname] = comps[cname], kinds[cname]
        comps, kinds = new_c, new_k
    mapping_raw = data.get("mapping", {})
    if not isinstance(mapping_raw, Mapping):
        raise ConfigError(file, "mapping", f"expected a table of op kind = component name, got {mapping_raw!r}")
    known_ops = op_types()
    mapping = {}
    for opk, cname in mapping_raw.items():
        if opk not in known_ops:
            raise ConfigError(file, f"mapping.{opk}", "unknown op kind; allowed: " + ", ".join(known_ops))
        if cname not in comps and not (system is not None and cname == system.device):
            raise ConfigError(file, f"mapping.{opk}", f"got {cname!r}; allowed values (components): "
                              + ", ".join(comps))
        mapping[opk] = cname
    return ArchSpec(name=name, description=desc, tech=tech, budget=budget, components=comps,
                    component_kinds=kinds, mapping=mapping, system=system, source=str(file), raw=data)
