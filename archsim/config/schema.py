"""JSON Schemas (draft-07) generated from the attrs specs: the walker that turns a spec class
into a schema, the arch schema, and the markdown tables of the config reference.

    arch_schema()                         (here) arch_configs/**.toml: name, tech, budget,
                                          [components.NAME] tagged by `kind` (one definition per
                                          registered block Spec), [mapping]
    archsim.workloads.schema.workload_schema()  [[ops]] tagged by `op` or a `generator` + [params]
    archsim.sweep.schema.sweep_schema()   [sweep], [space], [derived], [constraints], [objectives]
    archsim.sweep.schema.schema(kind), reference_markdown()   every kind, docs/config-reference.md

(Each part lives in the package whose files it describes, so dependencies keep pointing down.)

What a field declares through `archsim.config.load.field` (ge/gt/le/lt, choices, doc) and its
annotation (int/float/str/bool, Literal, Enum, tuple/list, Mapping, nested attrs class) becomes
type, minimum/maximum, enum, description and nesting; a field without a default is required.
The unit is read off the key's suffix (DESIGN.md §4: `clock_ghz`, `sram_kib`, ...).

A file that `extends` another may leave out what its parent gives, so an arch with `extends`
is checked against a relaxed copy of the definitions (nothing required). Rules that tie two
fields together (a filter no larger than the ifmap, an SRAM holding two tiles) are the
loader's (`archsim validate`), not the schema's.
"""
from __future__ import annotations

import enum
import json
import re
import types
import typing
from typing import Any, Mapping

import attrs

DRAFT = "http://json-schema.org/draft-07/schema#"
KINDS = ("arch", "workload", "sweep")

# key suffix -> unit shown in descriptions and the reference (longest suffix wins)
UNIT_SUFFIXES = {
    "_ghz": "GHz", "_mhz": "MHz", "_hz": "Hz",
    "_kib": "KiB (1024 B)", "_mib": "MiB (2^20 B)", "_gib": "GiB (2^30 B)", "_bytes": "bytes",
    "_bits": "bits", "_gb_s": "GB/s (1e9 B/s)", "_words_per_cycle": "words per cycle",
    "_s": "s", "_ms": "ms", "_us": "us", "_ns": "ns", "_cycles": "cycles",
    "_pj": "pJ", "_pj_per_byte": "pJ/byte", "_pj_per_bit": "pJ/bit", "_j": "J",
    "_w": "W", "_mw": "mW", "_w_per_lane": "W per lane", "_v": "V", "_nm": "nm",
    "_mm2": "mm^2", "_um2": "um^2", "_pct": "%", "_tflops": "TFLOP/s", "_iops": "IO/s",
    "_px": "pixels", "_tokens": "tokens",
}


def unit_of(key: str) -> str | None:
    """The unit a key's suffix names (`clock_ghz` -> GHz), or None."""
    best = None
    for suf, unit in UNIT_SUFFIXES.items():
        if key.endswith(suf) and (best is None or len(suf) > len(best[0])):
            best = (suf, unit)
    return best[1] if best else None


# ----------------------------------------------------------------------------- type walk

def _def_name(cls) -> str:
    mod = cls.__module__.removeprefix("archsim.")
    return f"{mod}.{cls.__qualname__}"


def _hints(cls) -> dict:
    try:
        return typing.get_type_hints(cls)
    except NameError:
        return {f.name: f.type for f in attrs.fields(cls)}


class Walker:
    """Builds `definitions` for attrs classes; `strict=False` drops every `required`."""

    def __init__(self, defs: dict, strict: bool):
        self.defs = defs
        self.strict = strict
        self.suffix = "" if strict else ".partial"

    def ref(self, cls) -> dict:
        name = _def_name(cls) + self.suffix
        if name not in self.defs:
            self.defs[name] = {}          # placeholder against recursion
            self.defs[name] = self.class_schema(cls)
        return {"$ref": f"#/definitions/{name}"}

    def class_schema(self, cls, *, extra: Mapping[str, dict] | None = None,
                     skip: tuple[str, ...] = ()) -> dict:
        hints = _hints(cls)
        props: dict[str, dict] = dict(extra or {})
        required = [k for k, v in (extra or {}).items() if v.pop("_required", False)]
        for f in attrs.fields(cls):
            if not f.init or f.name in skip:
                continue
            props[f.name] = self.field_schema(f, hints.get(f.name, f.type))
            if f.default is attrs.NOTHING:
                required.append(f.name)
        out: dict[str, Any] = {"type": "object"}
        doc = clean_doc(cls.__doc__)
        if doc:
            out["description"] = doc
        out["properties"] = props
        out["additionalProperties"] = False
        if required and self.strict:
            out["required"] = required
        return out

    def field_schema(self, f, tp) -> dict:
        s = self.type_schema(tp)
        meta = f.metadata or {}
        bounds = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}
        numeric = s.get("type") in ("integer", "number")
        for k, jk in bounds.items():
            if k in meta and numeric:
                s[jk] = meta[k]
        if "choices" in meta:
            s["enum"] = list(meta["choices"])
        d = _default(f)
        if d is not _NO_DEFAULT:
            s["default"] = d
        desc = describe(f.name, meta.get("doc", ""), meta, s)
        if desc:
            s["description"] = desc
        if "$ref" in s:                      # draft-07 ignores siblings of $ref
            ref = {"$ref": s.pop("$ref")}
            s = {"allOf": [ref], **{k: v for k, v in s.items() if k != "default"}}
        return s

    def type_schema(self, tp) -> dict:
        if tp is Any or tp is typing.Any or tp is None:
            return {}
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            alts = [a for a in args if a is not type(None)]   # TOML has no null: leave the key out
            if len(alts) == 1:
                return self.type_schema(alts[0])
            return {"anyOf": [self.type_schema(a) for a in alts]}
        if origin is typing.Literal:
            types_ = {type(a) for a in args}
            s = {"enum": list(args)}
            if types_ == {str}:
                s = {"type": "string", **s}
            return s
        if origin in (tuple, list):
            item = args[0] if args else Any
            return {"type": "array", "items": self.type_schema(item)}
        if origin in (dict, Mapping, typing.Mapping) or tp is dict:
            vt = args[1] if len(args) == 2 else Any
            return {"type": "object", "additionalProperties": self.type_schema(vt)}
        if isinstance(tp, type) and attrs.has(tp):
            return self.ref(tp)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"type": "string", "enum": [m.name.lower() for m in tp]}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is float:
            return {"type": "number"}
        if tp is str:
            return {"type": "string"}
        return {}


_NO_DEFAULT = object()


def _default(f):
    d = f.default
    if d is attrs.NOTHING or isinstance(d, attrs.Factory) or d is None:
        return _NO_DEFAULT
    if isinstance(d, enum.Enum):
        return d.name.lower()
    if isinstance(d, tuple):
        d = list(d)
    try:
        json.dumps(d)
    except TypeError:
        return _NO_DEFAULT
    return d


def clean_doc(doc: str | None) -> str:
    if not doc:
        return ""
    return re.sub(r"\s+", " ", doc).strip()


def describe(name: str, doc: str, meta: Mapping, s: Mapping) -> str:
    """One line for hover text: the doc, the unit, the allowed range or values."""
    parts = [doc.rstrip(".")] if doc else []
    unit = unit_of(name)
    if unit:
        parts.append(f"unit: {unit}")
    rng = _range_text(meta)
    if rng:
        parts.append(rng)
    return "; ".join(p for p in parts if p)


def _range_text(meta: Mapping) -> str:
    lo = f">= {meta['ge']}" if "ge" in meta else (f"> {meta['gt']}" if "gt" in meta else "")
    hi = f"<= {meta['le']}" if "le" in meta else (f"< {meta['lt']}" if "lt" in meta else "")
    return " and ".join(x for x in (lo, hi) if x)


# ----------------------------------------------------------------------------- registries

def component_specs() -> dict[str, type]:
    """kind -> Spec class of every registered block that has one."""
    from archsim.config.registry import COMPONENT_MODULES, component_module
    out = {}
    for kind in sorted(COMPONENT_MODULES):
        spec = getattr(component_module(kind), "Spec", None)
        if spec is not None and attrs.has(spec):
            out[kind] = spec
    return out


def op_classes() -> dict[str, type]:
    from archsim.config.registry import op_types
    return dict(op_types())


def generator_params() -> dict[str, type]:
    from archsim.config.registry import GENERATOR_MODULES, generator_module
    return {name: generator_module(name).Params for name in GENERATOR_MODULES}


def tagged(tag: str, variants: Mapping[str, str], doc: str, *, untagged_any: bool = False) -> dict:
    """An object tagged by `tag` whose other keys follow the definition its value names.
    `untagged_any`: without the tag (a preset that extends one giving it), the keys must fit
    at least one of the variants."""
    out = {
        "type": "object",
        "description": doc,
        "properties": {tag: {"type": "string", "enum": list(variants),
                             "description": f"{tag}: one of " + ", ".join(variants)}},
        "allOf": [{"if": {"properties": {tag: {"const": v}}, "required": [tag]},
                   "then": {"$ref": f"#/definitions/{d}"}} for v, d in variants.items()],
    }
    if untagged_any:
        out["allOf"].append({"if": {"not": {"required": [tag]}},
                             "then": {"anyOf": [{"$ref": f"#/definitions/{d}"} for d in variants.values()]}})
    return out


# ----------------------------------------------------------------------------- arch

def _arch_body(defs: dict, strict: bool) -> dict:
    from archsim.config.arch import BudgetSpec, SystemSpec, TechSpec
    w = Walker(defs, strict)
    sfx = w.suffix
    variants = {}
    for kind, spec in component_specs().items():
        body = w.class_schema(spec, extra={"kind": {"const": kind, "description": f"component kind: {kind}",
                                                    "_required": True}})
        doc = clean_doc(getattr(spec, "__doc__", ""))
        if doc:
            body["description"] = f"[components.NAME] with kind = \"{kind}\": {doc}"
        defs[f"component.{kind}{sfx}"] = body
        variants[kind] = f"component.{kind}{sfx}"
    defs[f"component{sfx}"] = tagged("kind", variants, "one component: kind = \"...\" and that block's keys",
                                      untagged_any=not strict)
    body = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "preset name (default: the file's stem)"},
            "description": {"type": "string"},
            "extends": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                        "description": "path(s), relative to this file, of presets this one extends; keys here win"},
            "tech": {"allOf": [w.ref(TechSpec)], "description": clean_doc(TechSpec.__doc__)},
            "budget": {"allOf": [w.ref(BudgetSpec)],
                       "description": "optional budget; the Report's budget.ok says whether it holds"},
            "system": {"allOf": [w.ref(SystemSpec)], "description": clean_doc(SystemSpec.__doc__)},
            "components": {"type": "object", "description": "[components.NAME] tables, each tagged with kind",
                           "additionalProperties": {"$ref": f"#/definitions/component{sfx}"}},
            "mapping": {"type": "object", "description": "op kind = component name (which component runs an op kind)",
                        "propertyNames": {"enum": list(op_classes())},
                        "additionalProperties": {"type": "string"}},
        },
        "additionalProperties": False,
    }
    if strict:
        body["required"] = ["components"]
        body["properties"]["components"]["minProperties"] = 1
    return body


def arch_schema() -> dict:
    defs: dict[str, Any] = {}
    defs["arch"] = _arch_body(defs, strict=True)
    defs["arch.partial"] = _arch_body(defs, strict=False)
    return root("arch", "an archsim architecture (arch_configs/**.toml)", {
        "if": {"required": ["extends"]},
        "then": {"$ref": "#/definitions/arch.partial"},
        "else": {"$ref": "#/definitions/arch"},
    }, defs)


def root(kind: str, title: str, body: dict, defs: dict) -> dict:
    """A schema document: draft, id, title, the body's keywords and its definitions."""
    return {"$schema": DRAFT, "$id": f"https://archsim.invalid/schemas/{kind}.schema.json",
            "title": f"archsim {kind}", "description": title, **body, "definitions": defs}


# ----------------------------------------------------------------------------- reference page

def _type_text(s: Mapping, defs: Mapping) -> str:
    if "allOf" in s and len(s["allOf"]) == 1 and "$ref" in s["allOf"][0]:
        s = s["allOf"][0]
    if "$ref" in s:
        name = s["$ref"].rsplit("/", 1)[-1]
        return f"table ({_anchor_link(name)})"
    if "enum" in s:
        return " \\| ".join(f"`{v}`" for v in s["enum"])
    if "anyOf" in s:
        return " or ".join(_type_text(a, defs) for a in s["anyOf"])
    t = s.get("type")
    if t == "array":
        return f"array of {_type_text(s.get('items', {}), defs)}"
    if t == "object":
        ap = s.get("additionalProperties")
        return f"table of {_type_text(ap, defs)}" if isinstance(ap, Mapping) and ap else "table"
    return {"integer": "integer", "number": "number", "string": "string", "boolean": "boolean"}.get(t, "any")


def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", name.lower().replace(".", "-").replace("_", "-"))


def _anchor_link(name: str) -> str:
    return f"[{name}](#{_anchor(name)})"


def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _range_md(s: Mapping) -> str:
    lo = (f">= {s['minimum']}" if "minimum" in s else f"> {s['exclusiveMinimum']}"
          if "exclusiveMinimum" in s else "")
    hi = (f"<= {s['maximum']}" if "maximum" in s else f"< {s['exclusiveMaximum']}"
          if "exclusiveMaximum" in s else "")
    return " and ".join(x for x in (lo, hi) if x)


def table_md(title: str, s: Mapping, defs: Mapping, lines: list[str]) -> None:
    lines.append(f"### {title}")
    lines.append(f'<a id="{_anchor(title)}"></a>')
    lines.append("")
    if s.get("description"):
        lines.append(_md(s["description"]))
        lines.append("")
    req = set(s.get("required", ()))
    lines.append("| key | type | unit | default | allowed | description |")
    lines.append("|---|---|---|---|---|---|")
    for k, p in s.get("properties", {}).items():
        desc = p.get("description", "")
        # the description repeats unit and range for hover text; the table has columns for them
        desc = "; ".join(x for x in desc.split("; ") if not x.startswith("unit: ")
                         and x != _range_text_from_schema(p))
        default = "required" if k in req else (f"`{json.dumps(p['default'])}`" if "default" in p else "")
        lines.append(f"| `{k}` | {_type_text(p, defs)} | {unit_of(k) or ''} | {default} | "
                     f"{_range_md(p)} | {_md(desc)} |")
    lines.append("")


def _range_text_from_schema(p: Mapping) -> str:
    meta = {}
    for jk, k in (("minimum", "ge"), ("exclusiveMinimum", "gt"), ("maximum", "le"), ("exclusiveMaximum", "lt")):
        if jk in p:
            meta[k] = p[jk]
    return _range_text(meta)


def _refs(node) -> list[str]:
    """Definition names a schema node refers to, in document order."""
    out = []
    if isinstance(node, Mapping):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.append(v.rsplit("/", 1)[-1])
            else:
                out.extend(_refs(v))
    elif isinstance(node, list):
        for v in node:
            out.extend(_refs(v))
    return out


def ref_order(start: list[str], defs: Mapping) -> list[str]:
    """Definitions reachable from `start`, breadth first: a table comes before its sub-tables."""
    seen, order, queue = set(), [], list(start)
    while queue:
        name = queue.pop(0)
        if name in seen or name not in defs:
            continue
        seen.add(name)
        order.append(name)
        queue.extend(_refs(defs[name]))
    return order
