"""A small TOML writer for the tables archsim writes (calibration files): nested dicts of
strings, numbers, booleans and arrays of those. No dependency beyond the standard library."""
from __future__ import annotations

import json
import math
from typing import Mapping


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot write non-finite number {v!r} to TOML")
        return repr(float(f"{v:.6g}"))
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def dumps(data: Mapping, prefix: str = "", comments: Mapping[str, str] | None = None) -> str:
    """TOML text of `data`; scalars first, then sub-tables as [a.b] headers. `comments` maps a
    dotted table name to a comment line written above its header."""
    comments = comments or {}
    lines = []
    scalars = {k: v for k, v in data.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in data.items() if isinstance(v, Mapping)}
    if prefix and (scalars or not tables):
        if prefix in comments:
            lines.append(f"# {comments[prefix]}")
        lines.append(f"[{prefix}]")
    for k, v in scalars.items():
        lines.append(f"{_key(k)} = {_value(v)}")
    if lines:
        lines.append("")
    for k, v in tables.items():
        lines.append(dumps(v, f"{prefix}.{_key(k)}" if prefix else _key(k), comments))
    return "\n".join(lines)
