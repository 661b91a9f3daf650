"""JSON Schema of sweep TOML files, from the sweep loader's own tables of keys (spec.py,
space.py); and the entry points over every file kind: `schema(kind)`, `schema_text(kind)` (what
schemas/*.schema.json hold) and `reference_markdown()` (docs/config-reference.md)."""
from __future__ import annotations

import json
import re

from archsim.config.schema import KINDS, arch_schema, ref_order, root, table_md
from archsim.workloads.schema import workload_schema


def sweep_schema() -> dict:
    from archsim.sweep import space as sp
    from archsim.sweep import spec as ss
    max_points = sp.MAX_POINTS if hasattr(sp, "MAX_POINTS") else None
    roots = "|".join(re.escape(r) for r in ss.PARAM_ROOTS)
    param_pattern = rf"^({roots})(\..+)?$"
    scalar = {"type": ["number", "string", "boolean"]}
    values = {"type": "array", "minItems": 1, "items": scalar,
              "description": "the values this parameter takes (one axis)"}
    range_props = {
        "values": values,
        "start": {"type": "number"}, "stop": {"type": "number"},
        "step": {"type": "number", "exclusiveMinimum": 0},
        "num": {"type": "integer", "minimum": 1, **({"maximum": max_points} if max_points else {})},
        "scale": {"enum": ["log2"]},
    }
    range_table = {
        "type": "object", "properties": range_props, "additionalProperties": False,
        "description": "{values=[...]}, {start, stop, step}, {start, stop, num} or {start, stop, scale=\"log2\"}",
        "oneOf": [{"required": ["values"], "maxProperties": 1},
                  {"required": ["start", "stop", "step"], "not": {"anyOf": [{"required": ["num"]}, {"required": ["scale"]}]}},
                  {"required": ["start", "stop", "num"], "not": {"anyOf": [{"required": ["step"]}, {"required": ["scale"]}]}},
                  {"required": ["start", "stop", "scale"], "not": {"anyOf": [{"required": ["step"]}, {"required": ["num"]}]}}],
    }
    pair = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
    sampler = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
               "properties": {"uniform": pair, "log_uniform": pair,
                              "randint": {**pair, "items": {"type": "integer"}},
                              "choice": values},
               "description": "{uniform=[lo, hi]}, {log_uniform=[lo, hi]}, {randint=[lo, hi]} or {choice=[...]}"}
    defs = {
        "values": values,
        "range": range_table,
        "space_node": {"anyOf": [
            {"$ref": "#/definitions/values"},
            {"$ref": "#/definitions/range"},
            {"type": "object", "minProperties": 1,
             "propertyNames": {"not": {"enum": list(sp._RANGE_KEYS)}},
             "additionalProperties": {"$ref": "#/definitions/space_node"}}]},
        "zip_table": {"type": "object", "minProperties": 1,
                      "description": "parameters varied together (equal lengths), not crossed",
                      "additionalProperties": {"$ref": "#/definitions/space_node"}},
        "sampler_node": {"anyOf": [sampler, {"type": "object", "minProperties": 1,
                                             "propertyNames": {"not": {"enum": list(sp._RANDOM_KINDS)}},
                                             "additionalProperties": {"$ref": "#/definitions/sampler_node"}}]},
    }
    expr = {"type": "string", "minLength": 1}
    body = {
        "type": "object",
        "required": ["sweep"],
        "additionalProperties": False,
        "properties": {
            "sweep": {"type": "object", "additionalProperties": False, "required": ["arch"],
                      "oneOf": [{"required": ["workload"], "not": {"required": ["workloads"]}},
                                {"required": ["workloads"], "not": {"required": ["workload"]}}],
                      "properties": {
                          "name": {"type": "string", "description": "sweep name (default: the file's stem)"},
                          "description": {"type": "string"},
                          "arch": {"type": "string", "description": "base arch TOML, relative to this file"},
                          "workload": {"type": "string", "description": "one workload file, relative to this file"},
                          "workloads": {"type": "array", "minItems": 1, "items": {"type": "string"},
                                        "description": "workload files, relative to this file"},
                          "search": {"enum": list(ss.SEARCHES),
                                     "description": "search the space instead of enumerating it "
                                                    "(optuna: NSGA-II, multi-objective TPE, random)"},
                          "evaluations": {"type": "integer", "minimum": 1,
                                          "description": "with search: design points to evaluate"},
                          "seed": {"type": "integer", "minimum": 0, "default": 0,
                                   "description": "with search: the sampler's seed"},
                          "batch": {"type": "integer", "minimum": 1, "default": 64,
                                    "description": "with search: points per generation"}}},
            "space": {"type": "object",
                      "description": "swept parameters: dotted arch keys (components.NAME.key, tech.*, ...) "
                                     "or workload.<key>; lists, range tables, [[space.zip]], [space.random]",
                      "propertyNames": {"anyOf": [{"enum": ["zip", "random"]}, {"pattern": param_pattern}]},
                      "properties": {
                          "zip": {"anyOf": [{"type": "array", "items": {"$ref": "#/definitions/zip_table"}},
                                            {"$ref": "#/definitions/zip_table"}]},
                          "random": {"type": "object", "required": ["samples"],
                                     "description": "samples random draws of the parameters below (one axis)",
                                     "properties": {
                                         "samples": {"type": "integer", "minimum": 1,
                                                     **({"maximum": max_points} if max_points else {})},
                                         "seed": {"type": "integer", "minimum": 0, "default": 0}},
                                     "additionalProperties": {"$ref": "#/definitions/sampler_node"}}},
                      "additionalProperties": {"$ref": "#/definitions/space_node"}},
            "derived": {"type": "object",
                        "description": "\"dotted.key\" = \"expression\" evaluated per point, in order",
                        "propertyNames": {"pattern": param_pattern},
                        "additionalProperties": {"anyOf": [expr, {"type": "object", "additionalProperties": {"$ref": "#/definitions/derived_node"}}]}},
            "constraints": {"type": "object", "additionalProperties": False, "properties": {
                "budget": {"type": "boolean", "default": True, "description": "apply the arch's [budget] check"},
                "area_mm2": {"type": "number", "exclusiveMinimum": 0, "description": "totals.area_mm2 <= this; unit: mm^2"},
                "power_w": {"type": "number", "exclusiveMinimum": 0, "description": "average and peak power <= this; unit: W"},
                "require": {"anyOf": [expr, {"type": "array", "items": expr}],
                            "description": "comparisons of Report totals and parameters, e.g. \"totals.latency_s < 0.05\""}}},
            "objectives": {"type": "object", "minProperties": 1,
                           "description": "\"totals.FIELD\" (or an expression) = \"min\" | \"max\"; Report fields: "
                                          + ", ".join(ss.RESULT_NAMES),
                           "additionalProperties": {"type": "string", "enum": sorted(ss.GOALS)}},
        },
    }
    defs["derived_node"] = {"anyOf": [expr, {"type": "object", "additionalProperties": {"$ref": "#/definitions/derived_node"}}]}
    return root("sweep", "an archsim design sweep (sweeps/*.toml)", body, defs)


def schema(kind: str) -> dict:
    """The JSON Schema of one file kind: arch, workload or sweep."""
    from archsim.errors import ConfigError
    builders = {"arch": arch_schema, "workload": workload_schema, "sweep": sweep_schema}
    if kind not in builders:
        raise ConfigError("--kind", "kind", f"got {kind!r}; allowed values: " + ", ".join(KINDS))
    return builders[kind]()


def schema_text(kind: str) -> str:
    """The schema as the shipped file holds it (stable key order, trailing newline)."""
    return json.dumps(schema(kind), indent=1) + "\n"


def reference_markdown() -> str:
    """docs/config-reference.md: every key of arch, workload and generator files, from the specs."""
    arch, wl = arch_schema(), workload_schema()
    adefs, wdefs = arch["definitions"], wl["definitions"]
    lines = [
        "# Configuration reference",
        "",
        "<!-- generated by `archsim schema --reference --out docs/config-reference.md`; do not edit "
        "(tests/test_schema.py checks it is current) -->",
        "",
        "Every key archsim's TOML files take, generated from the attrs specs the loader uses "
        "(`archsim/config/schema.py`), so it cannot drift from what `archsim validate` accepts. "
        "The same source gives the JSON Schemas in `schemas/` (`archsim schema --kind "
        "arch|workload|sweep`) that TOML editors use for completion and checking (README, "
        "\"Editor support\"). Units follow the key's suffix (DESIGN.md §4); KiB/MiB/GiB are powers of two. "
        "A key marked required must be given unless the file `extends` a preset that gives it.",
        "",
        "## Arch files (`arch_configs/`)",
        "",
    ]
    for name in ref_order(["arch"], adefs):
        if "properties" in adefs[name]:
            table_md(name, adefs[name], adefs, lines)
    lines += ["## Workload files (`workloads/`)", "",
              "A TOML workload has `[[ops]]` tables or a `generator` with `[params]`; a `.jsonl` trace "
              "holds one op object per line with the same keys.", ""]
    table_md("workload", {k: v for k, v in wl.items() if k in ("properties", "required", "description")},
              wdefs, lines)
    for name in ref_order(["op", *sorted(k for k in wdefs if k.startswith("params."))], wdefs):
        if "properties" in wdefs[name]:
            table_md(name, wdefs[name], wdefs, lines)
    lines += ["## Sweep files (`sweeps/`)", "",
              "See `docs/sweeps.md` for the format; the keys and their checks:", ""]
    sw = sweep_schema()
    for key, s in sw["properties"].items():
        if "properties" in s:
            table_md(f"sweep.{key}" if key != "sweep" else "sweep", s, sw["definitions"], lines)
    return "\n".join(lines).rstrip() + "\n"
