"""Read a workload: JSON Lines trace, TOML (`[[ops]]` tables or a `generator`), or a SCALE-Sim
topology CSV (conv format, or GEMM `name, M, N, K,` format detected from the header)."""
from __future__ import annotations

import functools
import hashlib
import inspect
import json
from pathlib import Path
from typing import Any, Mapping

import attrs

from archsim.config.load import apply_overrides, read_text, read_toml, structure
from archsim.config.registry import GENERATOR_MODULES, generator_module
from archsim.errors import ConfigError
from archsim.workloads.ops import Conv2d, Gemm, parse_op



@attrs.frozen(kw_only=True)
class OpGraph:
    """What a generator may return instead of a plain op list: the ops and, per op, the indices
    of the earlier ops it waits for (None = every op follows the previous one)."""
    ops: tuple
    after: tuple[tuple[int, ...], ...] | None = None
    meta: Mapping[str, Any] = attrs.field(factory=dict)   # merged into Workload.meta
    devices: tuple[int, ...] | None = None                # per op: the device it runs on (None = all on 0)


@attrs.frozen(kw_only=True)
class Workload:
    """An op graph: `ops` in program order and `after[i]`, the indices of the earlier ops op i
    waits for. `after` None (the default, and every trace without `after` keys) = a chain: each
    op follows the previous one."""
    name: str
    ops: tuple = ()
    source: str = ""
    seed: int = 0
    meta: Mapping[str, Any] = attrs.field(factory=dict)   # generator name and params, etc.
    after: tuple[tuple[int, ...], ...] | None = None
    devices: tuple[int, ...] | None = None   # per op: the device of a multi-device arch (None = 0)

    def __attrs_post_init__(self):
        if self.after is not None and len(self.after) != len(self.ops):
            raise ValueError(f"after has {len(self.after)} entries for {len(self.ops)} ops")
        if self.devices is not None and len(self.devices) != len(self.ops):
            raise ValueError(f"devices has {len(self.devices)} entries for {len(self.ops)} ops")

    def device_of(self, i: int) -> int:
        return self.devices[i] if self.devices is not None else 0

    def deps(self) -> tuple[tuple[int, ...], ...]:
        if self.after is not None:
            return self.after
        return ((),) + tuple((i,) for i in range(len(self.ops) - 1)) if self.ops else ()

    @functools.cached_property
    def dep_arrays(self):
        """`deps()` as the scheduler's (ptr, idx) arrays, built once per workload."""
        from archsim.schedule import csr
        return csr(self.deps())

    def digest(self) -> str:
        h = hashlib.sha256()
        for rec in self.trace_records():
            h.update(json.dumps(rec, sort_keys=True).encode())
        return h.hexdigest()

    def trace_records(self) -> list[dict]:
        """The trace form (JSON Lines records): ops with `after` names where the graph is not a
        chain; repeated names get a `#k` suffix so every `after` is unambiguous."""
        from archsim.workloads.ops import op_to_dict
        seen: dict[str, int] = {}
        names = []
        for op in self.ops:
            k = seen.get(op.name, 0)
            seen[op.name] = k + 1
            names.append(op.name if k == 0 else f"{op.name}#{k}")
        recs = []
        for i, op in enumerate(self.ops):
            d = op_to_dict(op)
            d["name"] = names[i]
            if self.after is not None:
                d["after"] = [names[j] for j in self.after[i]]
            if self.devices is not None:
                d["device"] = self.devices[i]
            recs.append(d)
        return recs


def load_workload(path_or_mapping, overrides=None, *, name: str | None = None) -> Workload:
    """Load a workload file (.jsonl, .toml, .csv, .onnx) or a mapping shaped like the TOML form."""
    if isinstance(path_or_mapping, Mapping):
        data = apply_overrides(dict(path_or_mapping), overrides)
        return _from_toml_data(data, file="<mapping>", default_name=name or "workload")
    p = Path(path_or_mapping)
    suffix = p.suffix.lower()
    if suffix == ".jsonl":
        if overrides:
            raise ConfigError(p, "--set", "overrides apply to TOML workloads only")
        return _read_jsonl(p)
    if suffix == ".csv":
        if overrides:
            raise ConfigError(p, "--set", "overrides apply to TOML workloads only")
        return read_topology_csv(p)
    if suffix == ".toml":
        data = apply_overrides(read_toml(p), overrides, file=p)
        return _from_toml_data(data, file=p, default_name=p.stem)
    if suffix == ".onnx":
        if overrides:
            raise ConfigError(p, "--set", "overrides apply to TOML workloads only")
        from archsim.workloads.onnx_model import read_onnx
        return read_onnx(p)
    if not p.exists():
        raise ConfigError(p, "<file>", "file not found")
    raise ConfigError(p, "<file>", "unknown workload format; allowed extensions: .toml, .jsonl, .csv, .onnx")


def _from_toml_data(data: dict, *, file, default_name: str) -> Workload:
    allowed = ("name", "description", "seed", "ops", "generator", "params")
    for k in data:
        if k not in allowed:
            raise ConfigError(file, k, "unknown key; allowed: " + ", ".join(allowed))
    name = data.get("name", default_name)
    if not isinstance(name, str):
        raise ConfigError(file, "name", f"expected string, got {name!r}")
    seed = data.get("seed", 0)
    if type(seed) is not int or seed < 0:
        raise ConfigError(file, "seed", f"expected an integer >= 0, got {seed!r}")
    gen = data.get("generator")
    if gen is not None:
        if "ops" in data:
            raise ConfigError(file, "ops", "a workload has either [[ops]] or a generator, not both")
        if not isinstance(gen, str) or gen not in GENERATOR_MODULES:
            raise ConfigError(file, "generator", f"got {gen!r}; allowed values: " + ", ".join(GENERATOR_MODULES))
        mod = generator_module(gen)
        params = structure(mod.Params, data.get("params", {}), file=file, key="params")
        # a generator that reads files named in its params gets the workload file to resolve them
        kw = {"source": file} if "source" in inspect.signature(mod.expand).parameters else {}
        out = mod.expand(params, seed=seed, **kw)
        graph = out if isinstance(out, OpGraph) else OpGraph(ops=tuple(out))
        return Workload(name=name, ops=tuple(graph.ops), source=str(file), seed=seed, after=graph.after,
                        devices=graph.devices, meta={"generator": gen, "params": attrs.asdict(params), **graph.meta})
    raw_ops = data.get("ops")
    if raw_ops is None:
        raise ConfigError(file, "ops", "required key is missing: give [[ops]] tables or a generator")
    if not isinstance(raw_ops, list) or not raw_ops:
        raise ConfigError(file, "ops", "expected a non-empty array of [[ops]] tables")
    ops, after, devices = _parse_graph(raw_ops, file, lambda i: f"ops[{i}]")
    return Workload(name=name, ops=ops, source=str(file), seed=seed, after=after, devices=devices)


def _named(op, i: int):
    return op if op.name else attrs.evolve(op, name=f"{op.KIND}{i}")


def _parse_graph(raw_ops: list, file, key_of):
    """Ops from trace records; `after = [names]` on a record names the earlier ops it waits for
    (without it, an op follows the previous one); `device = N` the device of a multi-device arch
    it runs on. Returns (ops, after or None for a chain, devices or None)."""
    ops, after, index, devices = [], [], {}, []
    for i, raw in enumerate(raw_ops):
        key = key_of(i)
        names = None
        dev = 0
        if isinstance(raw, dict) and "device" in raw:
            raw = dict(raw)
            dev = raw.pop("device")
            if not isinstance(dev, int) or isinstance(dev, bool) or dev < 0:
                raise ConfigError(file, f"{key}.device", f"expected a device index >= 0, got {dev!r}")
        devices.append(dev)
        if isinstance(raw, dict) and "after" in raw:
            raw = dict(raw)
            names = raw.pop("after")
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ConfigError(file, f"{key}.after", f"expected a list of earlier op names, got {names!r}")
        op = _named(parse_op(raw, file=file, key=key), len(ops))
        if names is None:
            deps = (len(ops) - 1,) if ops else ()
        else:
            missing = [n for n in names if n not in index]
            if missing:
                raise ConfigError(file, f"{key}.after", f"{missing[0]!r} is not the name of an earlier op; "
                                  "an op may wait only for ops above it")
            deps = tuple(sorted({index[n] for n in names}))
        index.setdefault(op.name, len(ops))
        ops.append(op)
        after.append(deps)
    chain = all(d == ((i - 1,) if i else ()) for i, d in enumerate(after))
    return tuple(ops), None if chain else tuple(after), tuple(devices) if any(devices) else None


def _read_jsonl(p: Path) -> Workload:
    text = read_text(p)
    raws, linenos = [], []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            raws.append(json.loads(line))
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ConfigError(p, f"line {lineno}", f"invalid JSON: {getattr(exc, 'msg', exc)}") from None
        linenos.append(lineno)
    if not raws:
        raise ConfigError(p, "<file>", "no ops in trace (expected one JSON object per line)")
    ops, after, devices = _parse_graph(raws, p, lambda i: f"line {linenos[i]}")
    return Workload(name=p.stem, ops=ops, source=str(p), after=after, devices=devices)


def read_topology_csv(p, *, gemm: bool | None = None) -> Workload:
    """SCALE-Sim topology CSV. Conv rows: name, ifmap_h, ifmap_w, filter_h, filter_w, channels,
    num_filters, stride[, sparsity]. GEMM rows: name, M, N, K. The format is taken from the
    header (M, N, K columns) unless `gemm` says. Unlike SCALE-Sim, a missing trailing comma
    does not silently drop the stride. Depth-wise layers (name containing 'DP', SCALE-Sim's
    convention) expand into `channels` 1-channel layers, as SCALE-Sim does."""
    p = Path(p)
    lines = read_text(p).splitlines()
    if not lines:
        raise ConfigError(p, "<file>", "empty topology file")
    header = [c.strip().lower() for c in lines[0].split(",")]
    if gemm is None:
        gemm = header[1:4] == ["m", "n", "k"]
    ops = []
    for lineno, line in enumerate(lines[1:], 2):
        cells = [c.strip() for c in line.split(",")]
        while cells and cells[-1] == "":
            cells.pop()
        if not cells:
            continue
        key = f"line {lineno}"
        need = 4 if gemm else 8
        if len(cells) < need:
            cols = "name, M, N, K" if gemm else "name, ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters, stride"
            raise ConfigError(p, key, f"expected {need} columns ({cols}), got {len(cells)}")
        name = cells[0]
        try:
            nums = [int(c) for c in cells[1:need]]
        except ValueError:
            raise ConfigError(p, key, f"expected integer columns after the name, got {cells[1:need]}") from None
        if any(v < 1 for v in nums):
            raise ConfigError(p, key, f"all dimensions must be >= 1, got {nums}")
        if gemm:
            m, n, k = nums
            ops.append(Gemm(m=m, n=n, k=k, dtype="int8", name=name))
            continue
        h, w, fh, fw, ch, nf, s = nums
        if fh > h or fw > w:
            raise ConfigError(p, key, f"filter {fh}x{fw} larger than ifmap {h}x{w}")
        if "DP" in name:
            ops.extend(Conv2d(ifmap_h=h, ifmap_w=w, filter_h=fh, filter_w=fw, channels=1,
                              num_filters=nf, stride=s, name=f"{name}_ch{c}") for c in range(ch))
        else:
            ops.append(Conv2d(ifmap_h=h, ifmap_w=w, filter_h=fh, filter_w=fw, channels=ch,
                              num_filters=nf, stride=s, name=name))
    if not ops:
        raise ConfigError(p, "<file>", "no layers in topology file")
    return Workload(name=p.stem, ops=tuple(ops), source=str(p),
                    meta={"format": "scalesim-gemm" if gemm else "scalesim-conv"})
