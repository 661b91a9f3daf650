"""KIND -> component module. Explicit, lazy (import on first use); no import-time scanning."""
from __future__ import annotations

import importlib
from types import ModuleType

# kind tag -> module path. A module provides KIND, Spec, supports, evaluate, structure.
COMPONENT_MODULES: dict[str, str] = {
    "systolic_array": "archsim.components.systolic",
    "gpu": "archsim.components.gpu",
    "ngpc": "archsim.components.ngpc",
    "vrex": "archsim.components.vrex",
}


def kinds() -> list[str]:
    return sorted(COMPONENT_MODULES)


def component_module(kind: str) -> ModuleType:
    """The module for `kind`; KeyError if unknown (callers turn it into ConfigError)."""
    return importlib.import_module(COMPONENT_MODULES[kind])
