"""What the blocks register: tables of module paths, imported lazily on first use (no
import-time scanning, and no import of a block from the config layer).

- `COMPONENT_MODULES`: component kind (the `kind` tag in TOML) -> block package. A block package
  provides KIND, Spec, supports(spec, op), evaluate(spec, op, ctx) -> OpResult,
  structure(spec) -> Structure and optionally validate(spec, file, key).
- `OP_MODULES`: modules that define op kinds, each exporting `OPS = {kind: cls}`.
- `GENERATOR_MODULES`: workload generator name -> module with `Params` and `expand(params, *, seed)`.

Adding a block is a row in each table it needs, not an edit to code that dispatches on kinds.
"""
from __future__ import annotations

import importlib
from types import ModuleType

COMPONENT_MODULES: dict[str, str] = {
    "systolic_array": "archsim.blocks.systolic",
    "gpu": "archsim.blocks.gpu",
    "ngpc": "archsim.blocks.ngpc",
    "vrex": "archsim.blocks.vrex",
    "host_link": "archsim.blocks.host_link",
    "interconnect": "archsim.blocks.interconnect",
}

OP_MODULES: tuple[str, ...] = (
    "archsim.workloads.ops",
    "archsim.workloads.llm.ops",
    "archsim.blocks.ngpc.ops",
    "archsim.blocks.vrex.ops",
    "archsim.blocks.host_link.ops",
    "archsim.workloads.collective_ops",
)

GENERATOR_MODULES: dict[str, str] = {
    "ngpc": "archsim.blocks.ngpc.generator",
    "video_llm": "archsim.blocks.vrex.generator",
    "transformer": "archsim.workloads.llm.generator",
}


def kinds() -> list[str]:
    return sorted(COMPONENT_MODULES)


def component_module(kind: str) -> ModuleType:
    """The block package for `kind`; KeyError if unknown (callers turn it into ConfigError)."""
    return importlib.import_module(COMPONENT_MODULES[kind])


def op_types() -> dict[str, type]:
    """Every op kind -> its class (core kinds first, then the blocks' own)."""
    out: dict[str, type] = {}
    for mod in OP_MODULES:
        out.update(importlib.import_module(mod).OPS)
    return out


def generator_module(name: str) -> ModuleType:
    return importlib.import_module(GENERATOR_MODULES[name])
