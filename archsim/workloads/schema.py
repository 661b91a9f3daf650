"""JSON Schema of workload TOML files (and of one op of a .jsonl trace), generated from the op
and generator specs the loader uses (archsim/config/schema.py has the walker)."""
from __future__ import annotations

from typing import Any

import attrs

from archsim.config.schema import Walker, clean_doc, generator_params, op_classes, root, tagged


def op_extra_keys() -> dict[str, dict]:
    """Keys every op takes besides its class's fields, found by asking the loader: `after`
    (the ops it waits for) appears once the workload loader accepts it."""
    from archsim.errors import ConfigError
    from archsim.workloads.load import load_workload
    probe = {"name": "probe", "ops": [{"op": "copy", "bytes": 1, "name": "a"},
                                      {"op": "copy", "bytes": 1, "name": "b", "after": ["a"]}]}
    try:
        load_workload(probe)
    except (ConfigError, TypeError, ValueError):
        return {}
    if "after" in {f.name for f in attrs.fields(op_classes()["copy"])}:
        return {}                      # a field of every op: the walker gives it already
    return {"after": {"type": "array", "items": {"type": "string"},
                      "description": "names of earlier ops this one waits for; without it an op "
                                     "follows the previous one"}}



def workload_schema() -> dict:
    defs: dict[str, Any] = {}
    w = Walker(defs, strict=True)
    extra = op_extra_keys()
    ops = {}
    for kind, cls in op_classes().items():
        body = w.class_schema(cls, extra={"op": {"const": kind, "description": f"op kind: {kind}",
                                                 "_required": True},
                                          **{k: dict(v) for k, v in extra.items()}})
        doc = clean_doc(cls.__doc__)
        body["description"] = f"op = \"{kind}\"" + (f": {doc}" if doc else "")
        defs[f"op.{kind}"] = body
        ops[kind] = f"op.{kind}"
    defs["op"] = tagged("op", ops, "one op (a [[ops]] table or one line of a .jsonl trace)")
    gens = {}
    for name, params in generator_params().items():
        defs[f"params.{name}"] = w.class_schema(params)
        gens[name] = f"params.{name}"
    body = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "workload name (default: the file's stem)"},
            "description": {"type": "string"},
            "seed": {"type": "integer", "minimum": 0, "default": 0,
                     "description": "seed of anything random in the workload (generators, synthetic data)"},
            "ops": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/op"},
                    "description": "[[ops]] tables, one per op"},
            "generator": {"type": "string", "enum": list(gens),
                          "description": "expand this generator's [params] into ops (instead of [[ops]])"},
            "params": {"type": "object", "description": "the generator's parameters"},
        },
        "additionalProperties": False,
        "oneOf": [{"required": ["ops"], "not": {"required": ["generator"]}},
                  {"required": ["generator"], "not": {"required": ["ops"]}}],
        "allOf": [{"if": {"properties": {"generator": {"const": g}}, "required": ["generator"]},
                   "then": {"properties": {"params": {"$ref": f"#/definitions/{d}"}}}}
                  for g, d in gens.items()],
    }
    return root("workload", "an archsim workload (workloads/**.toml)", body, defs)
