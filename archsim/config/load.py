"""Generic TOML -> attrs loader.

Validate, then construct (ZigZag style): `structure(cls, data, file=..., key=...)` walks
`attrs.fields(cls)`, refuses unknown and missing keys, checks types, converts enums by name,
recurses into nested attrs classes, tuples, lists and dicts, and turns every validator failure
into one `ConfigError(file, dotted_key, what is allowed)`.

Fields are declared with `field(...)` below so that ranges and allowed values are part of the
spec (and of the error message), not scattered `if` statements.
"""
from __future__ import annotations

import collections.abc
import enum
import functools
import math
import types
import typing
from pathlib import Path
from typing import Any, Mapping

import attrs

from archsim.errors import ConfigError

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib  # type: ignore[no-redef]


INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
#: Plausibility window of every float in a config, in the key's own unit: 0, or a magnitude in
#: [FLOAT_MIN_MAG, FLOAT_MAX_MAG]. Shipped presets use 2e-3 .. 7e5; a value 1e-300 or 1e308
#: passes a "> 0" check but overflows or underflows the model's arithmetic (a clock of 1e308 GHz
#: is an infinite frequency in Hz), so it is refused here with the key's name.
FLOAT_MIN_MAG, FLOAT_MAX_MAG = 1e-12, 1e12


def check_float_magnitude(v: float, *, file, key) -> float:
    if v != 0 and not FLOAT_MIN_MAG <= abs(v) <= FLOAT_MAX_MAG:
        raise ConfigError(file, key, f"got {v!r}: outside the range archsim computes with (0, or a "
                          f"magnitude from {FLOAT_MIN_MAG:g} to {FLOAT_MAX_MAG:g} in the key's unit; "
                          "check the unit)")
    return v


class _FieldError(ValueError):
    """Raised by field validators; `structure` attaches the file and dotted key."""


def field(default=attrs.NOTHING, *, ge=None, gt=None, le=None, lt=None, choices=None,
          doc: str = "", factory=None, converter=None):
    """An attrs field with a declarative range / choice check and a one-line doc.

    The check's text ("must be >= 1", "allowed values: os, ws, is") is what the user sees.
    """
    checks = []
    if gt is not None:
        checks.append((lambda v, b=gt: v > b, f"must be > {gt}"))
    if ge is not None:
        checks.append((lambda v, b=ge: v >= b, f"must be >= {ge}"))
    if lt is not None:
        checks.append((lambda v, b=lt: v < b, f"must be < {lt}"))
    if le is not None:
        checks.append((lambda v, b=le: v <= b, f"must be <= {le}"))
    if choices is not None:
        allowed = tuple(choices)
        checks.append((lambda v, a=allowed: v in a, "allowed values: " + ", ".join(map(str, allowed))))

    def _validate(_inst, attribute, value):
        if value is None:
            return
        if isinstance(value, float) and not math.isfinite(value):
            raise _FieldError(attribute.name, f"must be a finite number, got {value!r}")
        for ok, text in checks:
            try:
                good = ok(value)
            except TypeError:
                good = False
            if not good:
                raise _FieldError(attribute.name, f"{text}; got {value!r}")

    # the bounds and choices also travel as metadata, for the JSON Schema and the config
    # reference generated from the specs (archsim/config/schema.py)
    meta = {"doc": doc, **{k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt))
                           if v is not None}}
    if choices is not None:
        meta["choices"] = tuple(choices)
    kwargs: dict[str, Any] = {"validator": _validate, "metadata": meta}
    if factory is not None:
        kwargs["factory"] = factory
    else:
        kwargs["default"] = default
    if converter is not None:
        kwargs["converter"] = converter
    return attrs.field(**kwargs)


def _join(key: str, name) -> str:
    return f"{key}.{name}" if key else str(name)


def _type_name(tp) -> str:
    if isinstance(tp, type):
        return {"int": "integer", "float": "number", "str": "string", "bool": "boolean"}.get(
            tp.__name__, tp.__name__)
    return str(tp).replace("typing.", "")


def structure(cls, data, *, file, key: str = ""):
    """Build `cls` (an attrs class) from a mapping, or raise one ConfigError."""
    if not isinstance(data, Mapping):
        raise ConfigError(file, key or "<root>", f"expected a table, got {_short(data)}")
    hints = _type_hints(cls)
    fields = {f.name: f for f in attrs.fields(cls) if f.init}
    unknown = sorted(set(data.keys()) - set(fields))
    if unknown:
        raise ConfigError(file, _join(key, unknown[0]),
                          "unknown key; allowed: " + ", ".join(fields))
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = convert(hints.get(name, f.type), data[name], file=file, key=_join(key, name))
        elif f.default is attrs.NOTHING:
            doc = f.metadata.get("doc", "")
            raise ConfigError(file, _join(key, name),
                              "required key is missing" + (f" ({doc})" if doc else ""))
    try:
        return cls(**kwargs)
    except _FieldError as exc:
        name, msg = exc.args
        raise ConfigError(file, _join(key, name), msg) from None
    except ConfigError:
        raise
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise ConfigError(file, key or "<root>", str(exc.args[0] if exc.args else exc)) from None


@functools.lru_cache(maxsize=None)
def _type_hints(cls) -> dict:
    """A class's resolved annotations (cached: resolving them costs ~0.5 ms a call)."""
    try:
        return typing.get_type_hints(cls)
    except NameError:          # a class defined in a function with string annotations
        return {f.name: f.type for f in attrs.fields(cls)}


def _short(raw) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def convert(tp, raw, *, file, key):
    """Convert one raw TOML value to the annotated type `tp`."""
    if tp is Any or tp is typing.Any:
        return raw
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if raw is None and len(non_none) < len(args):
            return None
        errors = []
        for alt in non_none:
            try:
                return convert(alt, raw, file=file, key=key)
            except ConfigError as exc:
                errors.append(exc.message)
        raise ConfigError(file, key, " or ".join(dict.fromkeys(errors)))
    if origin is typing.Literal:
        if raw in args and type(raw) in {type(a) for a in args}:
            return raw
        raise ConfigError(file, key, f"got {_short(raw)}; allowed values: " + ", ".join(map(str, args)))
    if origin in (tuple, list, collections.abc.Sequence):
        if not isinstance(raw, (list, tuple)):
            raise ConfigError(file, key, f"expected an array, got {_short(raw)}")
        item = args[0] if args else Any
        out = [convert(item, v, file=file, key=f"{key}[{i}]") for i, v in enumerate(raw)]
        return tuple(out) if origin is tuple else out
    if origin in (dict, Mapping, typing.Mapping, collections.abc.Mapping) or tp is dict:
        if not isinstance(raw, Mapping):
            raise ConfigError(file, key, f"expected a table, got {_short(raw)}")
        vtype = args[1] if len(args) == 2 else Any
        return {str(k): convert(vtype, v, file=file, key=_join(key, k)) for k, v in raw.items()}
    if attrs.has(tp):
        return structure(tp, raw, file=file, key=key)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        names = [m.name.lower() for m in tp]
        if isinstance(raw, str) and raw.lower() in names:
            return tp[raw.upper()]
        raise ConfigError(file, key, f"got {_short(raw)}; allowed values: {', '.join(names)}")
    if tp is float:
        if type(raw) is int:
            if abs(raw) > FLOAT_MAX_MAG:
                raise ConfigError(file, key, f"got {_short(raw)}: outside the range archsim computes "
                                  f"with (0, or a magnitude from {FLOAT_MIN_MAG:g} to {FLOAT_MAX_MAG:g} "
                                  "in the key's unit; check the unit)")
            return check_float_magnitude(float(raw), file=file, key=key)
        if type(raw) is float:
            if not math.isfinite(raw):
                raise ConfigError(file, key, f"must be a finite number, got {raw!r}")
            return check_float_magnitude(raw, file=file, key=key)
        raise ConfigError(file, key, f"expected a number, got {_short(raw)}")
    if tp in (int, str, bool):
        if type(raw) is not tp:
            raise ConfigError(file, key, f"expected {_type_name(tp)}, got {_short(raw)}")
        if tp is int and not INT64_MIN <= raw <= INT64_MAX:
            # counts go into int64 kernels: a larger integer is refused here, not wrapped there
            raise ConfigError(file, key, f"must fit in a signed 64-bit integer "
                              f"(|value| < 2**63); got {_short(raw)}")
        return raw
    return raw


# ----------------------------------------------------------------------------- TOML files

def read_text(path) -> str:
    """Read a UTF-8 text file; a missing, unreadable or non-UTF-8 file becomes one ConfigError."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(p, "<file>", "file not found") from None
    except IsADirectoryError:
        raise ConfigError(p, "<file>", "is a directory, expected a file") from None
    except OSError as exc:
        raise ConfigError(p, "<file>", f"cannot read file: {exc.strerror or exc}") from None
    try:
        # utf-8-sig: a leading byte-order mark (Windows editors write one) is not content
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(p, "<syntax>", f"not UTF-8 text (byte {exc.start})") from None


def read_toml(path) -> dict:
    """Read one TOML file; syntax errors and unreadable files become ConfigError."""
    p = Path(path)
    decoded = read_text(p)
    try:
        return tomllib.loads(decoded)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(p, "<syntax>", f"TOML syntax error: {exc}") from None
    except (ValueError, RecursionError) as exc:  # pathological nesting etc.
        raise ConfigError(p, "<syntax>", f"TOML syntax error: {exc}") from None


def deep_merge(base: Mapping, top: Mapping) -> dict:
    """`top` wins; tables merge recursively; arrays and scalars are replaced."""
    out = dict(base)
    for k, v in top.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def resolve_extends(path, data: dict | None = None, _chain: tuple = ()) -> dict:
    """Read `path` (or use `data` read from it) and merge the files it `extends`.

    `extends` is a path (or list of paths) relative to the extending file. Cycles and missing
    files are ConfigErrors naming the file and the `extends` key.
    """
    p = Path(path).resolve()
    if p in _chain:
        cycle = " -> ".join(str(c) for c in (*_chain, p))
        raise ConfigError(_chain[-1], "extends", f"extends cycle: {cycle}")
    raw = read_toml(p) if data is None else data
    ext = raw.get("extends")
    if ext is None:
        return dict(raw)
    parents = [ext] if isinstance(ext, str) else ext
    if not isinstance(parents, list) or not all(isinstance(e, str) for e in parents):
        raise ConfigError(p, "extends", f"expected a path string or a list of them, got {_short(ext)}")
    merged: dict = {}
    for parent in parents:
        pp = (p.parent / parent)
        if not pp.is_file():
            raise ConfigError(p, "extends", f"extended file not found: {parent} (resolved to {pp})")
        merged = deep_merge(merged, resolve_extends(pp, None, (*_chain, p)))
    own = {k: v for k, v in raw.items() if k != "extends"}
    return deep_merge(merged, own)


def parse_override(text: str, *, file="--set") -> tuple[str, Any]:
    """`a.b.c=VALUE` -> ("a.b.c", value). VALUE is read as a TOML value, else a bare string."""
    if "=" not in text:
        raise ConfigError(file, text, "expected KEY=VALUE (e.g. components.sa.rows=64)")
    key, _, value = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(file, key or "<empty>", "expected a dotted key such as components.sa.rows")
    value = value.strip()
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except Exception:
        parsed = value
    return key, parsed


def apply_overrides(data: dict, overrides, *, file="--set") -> dict:
    """Set dotted keys in a nested dict (copying). `overrides` is a mapping or KEY=VALUE strings."""
    if not overrides:
        return data
    items = overrides.items() if isinstance(overrides, Mapping) else (
        parse_override(o, file=file) if isinstance(o, str) else o for o in overrides)
    out = deep_merge({}, data)
    for key, value in items:
        parts = str(key).split(".")
        node = out
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            elif not isinstance(nxt, dict):
                raise ConfigError(file, ".".join(parts[: i + 1]),
                                  f"is a value ({_short(nxt)}), not a table; cannot set {key}")
            else:
                nxt = node[part] = dict(nxt)
            node = nxt
        node[parts[-1]] = value
    return out


# ----------------------------------------------------------------------------- override blame

def override_label(overrides) -> str:
    """How errors name overrides: `--set` for KEY=VALUE strings (the CLI), else `overrides`."""
    if overrides and not isinstance(overrides, Mapping) and any(isinstance(o, str) for o in overrides):
        return "--set"
    return "overrides"


def override_keys(overrides) -> list[str]:
    if not overrides:
        return []
    if isinstance(overrides, Mapping):
        return [str(k) for k in overrides]
    out = []
    for o in overrides:
        if isinstance(o, str):
            out.append(o.partition("=")[0].strip())
        else:
            out.append(str(o[0]))
    return out


def refuse_reserved_overrides(overrides, reserved=("extends",), *, label="--set", prefix="") -> None:
    """Keys resolved when the file is read (`extends`) cannot be overridden afterwards: refuse
    them instead of ignoring them."""
    for k in override_keys(overrides):
        root = k.split(".")[0]
        if root in reserved:
            raise ConfigError(label, prefix + k, f"{root} cannot be overridden: it is resolved when "
                              "the file is read; write it in the file (or use another file)")


def _related(over_key: str, err_key: str) -> bool:
    return (err_key == over_key or err_key.startswith(over_key + ".")
            or err_key.startswith(over_key + "[") or over_key.startswith(err_key + "."))


def reblame(exc: ConfigError, overrides, *, file, label: str, base_valid, prefix: str = "") -> ConfigError:
    """An error found after applying overrides names the override (`--set KEY`) when the
    override's key is the bad one, or when the file alone is valid; otherwise the file."""
    if not overrides or exc.file != str(file):
        return exc
    keys = override_keys(overrides)
    if any(_related(k, exc.key) for k in keys) or base_valid():
        return ConfigError(label, prefix + exc.key if exc.key != "<root>" else exc.key,
                           f"{exc.message} (after overriding {file})")
    return exc
