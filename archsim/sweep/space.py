"""The design space of a sweep: axes (lists, ranges, zipped groups, random samples), derived
parameters, and the tiny safe expression language used by derived parameters, constraints and
objectives.

Expressions are parsed with `ast` and only a whitelist of nodes is accepted: numbers, parameter
names (dotted, e.g. `components.sa.rows`, or a bare last segment such as `rows` when it is
unambiguous), `+ - * / // % **`, unary minus, and calls of min, max, round, int, float, abs,
ceil, floor, log2. Constraints add comparisons (`<`, `<=`, `>`, `>=`, `==`, `!=`, chained) and
`and` / `or` / `not`. Nothing is ever passed to `eval`.

Expansion order is deterministic: the grid is the cartesian product of the axes in file order
(the last axis varies fastest), each point then crossed with the sweep's workloads; random
samples come from `random.Random(seed)`, whose sequence Python keeps stable across versions.
"""
from __future__ import annotations

import ast
import itertools
import math
import operator
import random
from typing import Any, Mapping, Sequence

import attrs

from archsim.errors import ConfigError

# ------------------------------------------------------------------------- expressions

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
           ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_CMPOPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
           ast.Eq: operator.eq, ast.NotEq: operator.ne}
FUNCS = {"min": min, "max": max, "round": round, "int": int, "float": float, "abs": abs,
         "ceil": math.ceil, "floor": math.floor, "log2": math.log2}
_ALLOWED_TEXT = ("numbers, parameter names, + - * / // % **, and min/max/round/int/float/abs/"
                 "ceil/floor/log2(...)")
_MAX_INT_BITS = 4096      # keeps `2 ** 10 ** 9` from hanging the loader


class ExprError(ValueError):
    """An expression that cannot be evaluated for one point (the caller adds file and key)."""


def _dotted(node) -> str | None:
    """`a.b.c` (Name/Attribute chain) -> 'a.b.c'; None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


@attrs.frozen
class Expr:
    """A parsed, whitelisted expression. `names` are the dotted names it reads (resolved)."""
    text: str
    tree: Any = attrs.field(eq=False, repr=False)
    names: tuple[str, ...] = ()

    def __call__(self, env: Mapping[str, Any]):
        return _eval(self.tree, env)


def compile_expr(text, known: Sequence[str], *, file, key, compare: bool = False) -> Expr:
    """Parse `text` and check every node and name; ConfigError(file, key, ...) if not allowed.

    `known` lists the dotted names the expression may read. A bare name matches a dotted one by
    its last segment when exactly one known name ends with it.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ConfigError(file, key, f"expected an expression string or a number, got {text!r}")
    if not isinstance(text, str):
        text = repr(text)
    allowed = ("a comparison such as 'totals.latency_s < 0.01' (" + _ALLOWED_TEXT
               + ", < <= > >= == !=, and/or/not)") if compare else _ALLOWED_TEXT
    if len(text) > 2000:
        raise ConfigError(file, key, "expression longer than 2000 characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ConfigError(file, key, f"cannot parse expression {text!r} ({getattr(exc, 'msg', exc)}); "
                          f"allowed: {allowed}") from None
    known = list(known)
    by_last: dict[str, list[str]] = {}
    for k in known:
        by_last.setdefault(k.rsplit(".", 1)[-1], []).append(k)
    names: list[str] = []

    def resolve(name: str) -> str:
        if name in known:
            return name
        cands = by_last.get(name, []) if "." not in name else []
        if len(cands) == 1:
            return cands[0]
        if len(cands) > 1:
            raise ConfigError(file, key, f"name {name!r} is ambiguous in {text!r}; write one of: "
                              + ", ".join(cands))
        shown = ", ".join(known[:40]) + (", ..." if len(known) > 40 else "")
        raise ConfigError(file, key, f"unknown name {name!r} in {text!r}; allowed names: {shown}")

    def check(node, top=False):
        if isinstance(node, ast.Expression):
            return ast.Expression(body=check(node.body, top=True))
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ConfigError(file, key, f"only numbers are allowed as constants in {text!r}, "
                                  f"got {node.value!r}; allowed: {allowed}")
            return node
        name = _dotted(node)
        if name is not None:
            full = resolve(name)
            names.append(full)
            return ast.Name(id=full, ctx=ast.Load())
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return ast.BinOp(left=check(node.left), op=node.op, right=check(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return ast.UnaryOp(op=node.op, operand=check(node.operand))
        if isinstance(node, ast.Call):
            fname = node.func.id if isinstance(node.func, ast.Name) else None
            if fname not in FUNCS or node.keywords or not node.args or any(
                    isinstance(a, ast.Starred) for a in node.args):
                raise ConfigError(file, key, f"call not allowed in {text!r}; allowed functions: "
                                  + ", ".join(FUNCS) + " with positional arguments")
            return ast.Call(func=node.func, args=[check(a) for a in node.args], keywords=[])
        if compare:
            if isinstance(node, ast.Compare) and all(type(o) in _CMPOPS for o in node.ops):
                return ast.Compare(left=check(node.left), ops=node.ops,
                                   comparators=[check(c) for c in node.comparators])
            if isinstance(node, ast.BoolOp):
                return ast.BoolOp(op=node.op, values=[check(v) for v in node.values])
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
                return ast.UnaryOp(op=node.op, operand=check(node.operand))
        raise ConfigError(file, key, f"{type(node).__name__} not allowed in {text!r}; allowed: {allowed}")

    try:
        checked = check(tree)
    except RecursionError:
        raise ConfigError(file, key, f"expression nested too deeply: {text[:60]!r}") from None
    body = checked.body
    is_test = isinstance(body, (ast.Compare, ast.BoolOp)) or (
        isinstance(body, ast.UnaryOp) and isinstance(body.op, ast.Not))
    if compare and not is_test:
        raise ConfigError(file, key, f"expected a comparison, got {text!r}; allowed: {allowed}")
    return Expr(text=text, tree=checked, names=tuple(dict.fromkeys(names)))


def _num(v, what):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ExprError(f"{what} is {v!r}, not a number")
    return v


def _eval(node, env):
    if isinstance(node, ast.Expression):
        return _eval(node.body, env)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise ExprError(f"{node.id} has no value for this point")
        return env[node.id]
    if isinstance(node, ast.BinOp):
        a = _num(_eval(node.left, env), "left operand")
        b = _num(_eval(node.right, env), "right operand")
        if isinstance(node.op, ast.Pow):
            if abs(b) > 1024 or (isinstance(a, int) and isinstance(b, int) and b > 0
                                 and a.bit_length() * b > _MAX_INT_BITS):
                raise ExprError(f"power {a!r} ** {b!r} too large")
        try:
            out = _BINOPS[type(node.op)](a, b)
        except ZeroDivisionError:
            raise ExprError("division by zero") from None
        except OverflowError:
            raise ExprError("numeric overflow") from None
        if isinstance(out, complex):
            raise ExprError(f"{a!r} ** {b!r} is not a real number")
        if isinstance(out, int) and out.bit_length() > _MAX_INT_BITS:
            raise ExprError("integer result too large")
        if isinstance(out, float) and not math.isfinite(out):
            raise ExprError("result is not finite")
        return out
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        if isinstance(node.op, ast.Not):
            return not v
        return _UNARY[type(node.op)](_num(v, "operand"))
    if isinstance(node, ast.Call):
        args = [_num(_eval(a, env), f"argument of {node.func.id}") for a in node.args]
        try:
            return FUNCS[node.func.id](*args)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExprError(f"{node.func.id}(...): {exc}") from None
    if isinstance(node, ast.Compare):
        left = _num(_eval(node.left, env), "left side")
        for op, comp in zip(node.ops, node.comparators):
            right = _num(_eval(comp, env), "right side")
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BoolOp):
        vals = (_eval(v, env) for v in node.values)
        return all(vals) if isinstance(node.op, ast.And) else any(vals)
    raise ExprError(f"cannot evaluate {type(node).__name__}")  # pragma: no cover (checked at compile)


# ------------------------------------------------------------------------- axes

MAX_POINTS = 1_000_000
_RANGE_KEYS = ("values", "start", "stop", "step", "num", "scale")
_RANDOM_KINDS = ("uniform", "log_uniform", "randint", "choice")


def _is_scalar(v) -> bool:
    return isinstance(v, (int, float, str, bool))


def _check_values(values, *, file, key) -> tuple:
    if not isinstance(values, list) or not values:
        raise ConfigError(file, key, "expected a non-empty array of values")
    for i, v in enumerate(values):
        if not _is_scalar(v):
            raise ConfigError(file, f"{key}[{i}]", f"expected a number, string or boolean, got {v!r}")
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(file, f"{key}[{i}]", f"must be a finite number, got {v!r}")
    return tuple(values)


def _real(v, *, file, key, positive=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(file, key, f"expected a finite number, got {v!r}")
    if positive and v <= 0:
        raise ConfigError(file, key, f"must be > 0; got {v!r}")
    return v


def range_values(spec: Mapping, *, file, key) -> tuple:
    """`{values=[...]}`, `{start, stop, step}` (linear, stop included when on the grid),
    `{start, stop, num}` (num evenly spaced), `{start, stop, scale="log2"}` (start * 2**i <= stop)."""
    allowed = ("a list of values, or a table {values=[...]}, {start, stop, step}, {start, stop, num} "
               "or {start, stop, scale=\"log2\"}")
    unknown = [k for k in spec if k not in _RANGE_KEYS]
    if unknown:
        raise ConfigError(file, f"{key}.{unknown[0]}", f"unknown key; allowed: {', '.join(_RANGE_KEYS)}")
    if "values" in spec:
        if len(spec) != 1:
            raise ConfigError(file, key, "`values` cannot be combined with start/stop/step/num/scale")
        return _check_values(spec["values"], file=file, key=f"{key}.values")
    for k in ("start", "stop"):
        if k not in spec:
            raise ConfigError(file, f"{key}.{k}", f"required key is missing; expected {allowed}")
    start = _real(spec["start"], file=file, key=f"{key}.start")
    stop = _real(spec["stop"], file=file, key=f"{key}.stop")
    if stop < start:
        raise ConfigError(file, f"{key}.stop", f"must be >= start ({start!r}); got {stop!r}")
    modes = [k for k in ("step", "num", "scale") if k in spec]
    if len(modes) != 1:
        raise ConfigError(file, key, f"give exactly one of step, num, scale; expected {allowed}")
    mode = modes[0]
    integral = isinstance(start, int) and isinstance(stop, int)
    if mode == "scale":
        if spec["scale"] != "log2":
            raise ConfigError(file, f"{key}.scale", f"got {spec['scale']!r}; allowed values: log2")
        _real(start, file=file, key=f"{key}.start", positive=True)
        n = int(math.floor(math.log2(stop / start) + 1e-9)) + 1
        if n > MAX_POINTS:
            raise ConfigError(file, key, f"range has {n} values; at most {MAX_POINTS}")
        return tuple((start * 2 ** i) if integral else float(start * 2 ** i) for i in range(n))
    if mode == "step":
        step = _real(spec["step"], file=file, key=f"{key}.step", positive=True)
        n = int(math.floor((stop - start) / step + 1e-9)) + 1
        if n > MAX_POINTS:
            raise ConfigError(file, key, f"range has {n} values; at most {MAX_POINTS}")
        if integral and isinstance(step, int):
            return tuple(start + i * step for i in range(n))
        return tuple(float(start + i * step) for i in range(n))
    num = spec["num"]
    if isinstance(num, bool) or not isinstance(num, int) or num < 1 or num > MAX_POINTS:
        raise ConfigError(file, f"{key}.num", f"expected an integer from 1 to {MAX_POINTS}, got {num!r}")
    if num == 1:
        return (start,)
    return tuple(float(start + (stop - start) * i / (num - 1)) for i in range(num))


@attrs.frozen
class Axis:
    """One dimension of the grid: `keys` vary together; `rows[i]` gives one value per key."""
    keys: tuple[str, ...]
    rows: tuple[tuple, ...]
    kind: str        # values | zip | random


def random_axis(table: Mapping, *, file, key) -> Axis:
    """`[space.random]`: samples = N, seed = S, and per parameter one of
    {uniform=[lo, hi]}, {log_uniform=[lo, hi]}, {randint=[lo, hi]} (inclusive), {choice=[...]}."""
    if not isinstance(table, Mapping):
        raise ConfigError(file, key, "expected a table: samples = N, seed = S, and parameter = "
                          "{uniform|log_uniform|randint|choice = ...}")
    samples = table.get("samples")
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_POINTS:
        raise ConfigError(file, f"{key}.samples", f"expected an integer from 1 to {MAX_POINTS}, got {samples!r}")
    seed = table.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(file, f"{key}.seed", f"expected an integer >= 0, got {seed!r}")
    dists = [(k, v) for k, v in flatten_params({k: v for k, v in table.items()
                                                if k not in ("samples", "seed")}, file=file, key=key,
                                               leaf=lambda v: isinstance(v, Mapping) and not any(
                                                   isinstance(x, Mapping) for x in v.values()))]
    if not dists:
        raise ConfigError(file, key, "no parameters to sample; add e.g. "
                          "\"components.sa.clock_ghz\" = {uniform = [0.5, 2.0]}")
    samplers = []
    for pkey, d in dists:
        dkey = f"{key}.{pkey}"
        if not isinstance(d, Mapping) or len(d) != 1 or next(iter(d)) not in _RANDOM_KINDS:
            raise ConfigError(file, dkey, "expected one of {uniform=[lo, hi]}, {log_uniform=[lo, hi]}, "
                              "{randint=[lo, hi]}, {choice=[...]}")
        kind, arg = next(iter(d.items()))
        if kind == "choice":
            samplers.append((kind, _check_values(arg, file=file, key=f"{dkey}.choice")))
            continue
        if not isinstance(arg, list) or len(arg) != 2:
            raise ConfigError(file, f"{dkey}.{kind}", f"expected [lo, hi], got {arg!r}")
        lo = _real(arg[0], file=file, key=f"{dkey}.{kind}[0]", positive=kind == "log_uniform")
        hi = _real(arg[1], file=file, key=f"{dkey}.{kind}[1]", positive=kind == "log_uniform")
        if hi < lo:
            raise ConfigError(file, f"{dkey}.{kind}", f"expected lo <= hi, got {arg!r}")
        if kind == "randint" and not (isinstance(lo, int) and isinstance(hi, int)):
            raise ConfigError(file, f"{dkey}.{kind}", f"expected two integers, got {arg!r}")
        samplers.append((kind, (lo, hi)))
    rng = random.Random(seed)
    rows = []
    for _ in range(samples):
        row = []
        for kind, arg in samplers:
            if kind == "choice":
                row.append(arg[rng.randrange(len(arg))])
            elif kind == "randint":
                row.append(rng.randint(arg[0], arg[1]))
            elif kind == "uniform":
                row.append(rng.uniform(arg[0], arg[1]))
            else:
                row.append(math.exp(rng.uniform(math.log(arg[0]), math.log(arg[1]))))
        rows.append(tuple(row))
    return Axis(keys=tuple(k for k, _ in dists), rows=tuple(rows), kind="random")


def flatten_params(table: Mapping, *, file, key, leaf) -> list[tuple[str, Any]]:
    """Nested tables -> (dotted key, value) pairs; `leaf(v)` says where a parameter starts, so
    `"components.sa.rows" = [...]` and `[space.components.sa] rows = [...]` mean the same."""
    out = []
    for k, v in table.items():
        dk = f"{key}.{k}" if key else str(k)
        if isinstance(v, Mapping) and not leaf(v):
            if not v:
                raise ConfigError(file, dk, "empty table")
            sub = flatten_params(v, file=file, key="", leaf=leaf)
            out.extend((f"{k}.{sk}", sv) for sk, sv in sub)
        else:
            out.append((str(k), v))
    return out


def _is_range_table(v) -> bool:
    return isinstance(v, Mapping) and any(k in v for k in _RANGE_KEYS)


def build_axes(space: Mapping, *, file, key="space") -> list[Axis]:
    """The axes of `[space]`, in file order: each list / range parameter is an axis, each
    `[[space.zip]]` table one axis (its lists zipped, equal lengths), `[space.random]` one axis."""
    if not isinstance(space, Mapping):
        raise ConfigError(file, key, "expected a table of parameters")
    axes: list[Axis] = []
    for k, v in space.items():
        if k == "zip":
            groups = v if isinstance(v, list) else [v]
            for gi, g in enumerate(groups):
                gkey = f"{key}.zip[{gi}]"
                if not isinstance(g, Mapping) or not g:
                    raise ConfigError(file, gkey, "expected a table of parameter = [values...] of equal length")
                cols = []
                for pk, pv in flatten_params(g, file=file, key="", leaf=_is_range_table):
                    vals = (range_values(pv, file=file, key=f"{gkey}.{pk}") if isinstance(pv, Mapping)
                            else _check_values(pv, file=file, key=f"{gkey}.{pk}"))
                    cols.append((pk, vals))
                n = len(cols[0][1])
                for pk, vals in cols:
                    if len(vals) != n:
                        raise ConfigError(file, f"{gkey}.{pk}", f"zipped parameters need equal lengths: "
                                          f"{cols[0][0]} has {n} values, {pk} has {len(vals)}")
                axes.append(Axis(keys=tuple(c[0] for c in cols),
                                 rows=tuple(zip(*(c[1] for c in cols))), kind="zip"))
        elif k == "random":
            axes.append(random_axis(v, file=file, key=f"{key}.random"))
        else:
            for pk, pv in flatten_params({k: v}, file=file, key="", leaf=_is_range_table):
                pkey = f"{key}.{pk}"
                if isinstance(pv, Mapping):
                    vals = range_values(pv, file=file, key=pkey)
                elif isinstance(pv, list):
                    vals = _check_values(pv, file=file, key=pkey)
                else:
                    raise ConfigError(file, pkey, "expected a list of values or a range table "
                                      "{start, stop, step|num|scale=\"log2\"}; a fixed value belongs "
                                      "in the base arch (or write [value])")
                axes.append(Axis(keys=(pk,), rows=tuple((x,) for x in vals), kind="values"))
    seen: dict[str, int] = {}
    for i, ax in enumerate(axes):
        for pk in ax.keys:
            if pk in seen:
                raise ConfigError(file, f"{key}.{pk}", "parameter appears in more than one axis")
            seen[pk] = i
    return axes


def count_points(axes: Sequence[Axis], n_workloads: int) -> int:
    return math.prod(len(a.rows) for a in axes) * n_workloads


def iter_grid(axes: Sequence[Axis]):
    """Parameter dicts of the cartesian product (last axis fastest), without derived values."""
    for combo in itertools.product(*(a.rows for a in axes)):
        params: dict[str, Any] = {}
        for ax, row in zip(axes, combo):
            params.update(zip(ax.keys, row))
        yield params


def flatten_data(data: Mapping, prefix: str = "") -> dict[str, Any]:
    """Nested config dict -> {dotted key: scalar} (for names a derived expression may read)."""
    out = {}
    for k, v in data.items():
        dk = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten_data(v, dk + "."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[dk] = v
    return out
