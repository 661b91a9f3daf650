"""Sweep files: `load_sweep(path) -> SweepSpec`.

    [sweep]
    name = "systolic-resnet50"
    arch = "../arch_configs/systolic/tpu-128x128.toml"     # relative to this file
    workloads = ["../workloads/cnn/resnet50.csv"]          # or workload = "..."

    [space]                                      # any dotted key of the arch, or workload.<key>
    "components.sa.dataflow" = ["os", "ws", "is"]
    "components.sa.ifmap_sram_kib" = { start = 64, stop = 1024, scale = "log2" }
    [[space.zip]]                                # varied together, not crossed
    "components.sa.rows" = [32, 64, 128]
    "components.sa.cols" = [32, 64, 128]
    [space.random]                               # `samples` random draws, one more axis
    samples = 8
    seed = 1
    "components.sa.clock_ghz" = { uniform = [0.5, 1.5] }

    [derived]                                    # evaluated per point, in order (no eval)
    "components.sa.filter_sram_kib" = "max(64, rows * cols // 64)"

    [constraints]
    budget = true                                # the Report's budget check (arch [budget])
    area_mm2 = 100.0                             # totals.area_mm2 <= 100
    power_w = 5.0                                # average and peak power <= 5 W
    require = ["totals.latency_s < 0.05"]        # any comparison of Report totals / parameters

    [objectives]                                 # minimise / maximise Report fields (or expressions)
    "totals.latency_s" = "min"
    "totals.energy_j" = "min"

Every problem is one ConfigError(file, dotted key, what is allowed). The first point of the
space is built into a full arch (and workload) at load time, so a misspelt key or a derived
value of the wrong type is reported here, not as N failing points.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

import attrs

from archsim.config.arch import arch_from_data
from archsim.config.load import apply_overrides, read_toml, resolve_extends
from archsim.errors import ConfigError
from archsim.sweep.space import (MAX_POINTS, Axis, Expr, ExprError, build_axes, compile_expr,
                                 count_points, flatten_data, flatten_params, iter_grid)

_TOP = ("sweep", "space", "derived", "constraints", "objectives")
_SWEEP_KEYS = ("name", "description", "arch", "workload", "workloads", "search", "evaluations",
               "seed", "batch")
SEARCHES = ("nsga2", "tpe", "random")
_CONSTRAINT_KEYS = ("budget", "area_mm2", "power_w", "require")
PARAM_ROOTS = ("name", "description", "tech", "budget", "components", "mapping", "workload")
# Report.totals() keys (archsim/report/report.py); absent ones (e.g. energy without an energy
# model) make a constraint fail and an objective undefined for that point.
TOTALS = ("cycles", "latency_s", "flops", "dram_bytes", "energy_j", "dynamic_energy_j",
          "avg_power_w", "peak_power_w", "leakage_power_w", "area_mm2")
RESULT_NAMES = tuple(f"totals.{t}" for t in TOTALS) + ("budget.ok",)
GOALS = {"min": "min", "minimise": "min", "minimize": "min",
         "max": "max", "maximise": "max", "maximize": "max"}


@attrs.frozen
class WorkloadRef:
    name: str
    path: str          # absolute
    suffix: str
    sha256: str


@attrs.frozen
class Objective:
    text: str
    expr: Expr
    goal: str          # "min" | "max"


@attrs.frozen
class Constraint:
    text: str
    expr: Expr


@attrs.frozen
class Point:
    """One design point: parameter values (axes then derived) on one workload."""
    index: int
    params: Mapping[str, Any]
    workload: int

    @property
    def arch_overrides(self) -> dict:
        return split_params(self.params)[0]

    @property
    def workload_overrides(self) -> dict:
        return split_params(self.params)[1]


def split_params(params: Mapping[str, Any]) -> tuple[dict, dict]:
    """A point's values -> (arch overrides, workload overrides without the `workload.` prefix)."""
    arch, wl = {}, {}
    for k, v in params.items():
        if k.startswith("workload."):
            wl[k[len("workload."):]] = v
        else:
            arch[k] = v
    return arch, wl


@attrs.frozen(kw_only=True)
class SweepSpec:
    file: str
    name: str
    description: str
    arch_file: str
    arch_data: Mapping[str, Any] = attrs.field(repr=False)
    workloads: tuple[WorkloadRef, ...]
    axes: tuple[Axis, ...] = attrs.field(repr=False)
    derived: tuple[tuple[str, Expr], ...] = ()
    constraints: tuple[Constraint, ...] = ()
    budget: bool = True
    objectives: tuple[Objective, ...] = ()
    n_points: int = 0
    # search instead of enumeration (archsim/sweep/search.py): sampler, evaluations, seed, and
    # evaluations per generation (asked, run in parallel, then told)
    search: str | None = None
    evaluations: int = 0
    seed: int = 0
    batch: int = 0

    @property
    def param_keys(self) -> tuple[str, ...]:
        return tuple(k for a in self.axes for k in a.keys) + tuple(k for k, _ in self.derived)

    def digest(self) -> str:
        """What determines the set of points (not constraints/objectives, which only filter)."""
        blob = {"arch": self.arch_data, "workloads": [w.sha256 for w in self.workloads],
                "axes": [[list(a.keys), [list(r) for r in a.rows]] for a in self.axes],
                "derived": [[k, e.text] for k, e in self.derived]}
        if self.search:       # the sampler decides which points run (the evaluations may grow)
            blob["search"] = [self.search, self.seed, self.batch]
        return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()

    def points(self):
        """Every point, in sweep order (workload outermost, then the grid, last axis fastest)."""
        base = flatten_data(self.arch_data)
        i = 0
        for w in range(len(self.workloads)):
            for params in iter_grid(self.axes):
                self._derive(params, base)
                yield Point(index=i, params=params, workload=w)
                i += 1

    def point_at(self, choice, workload: int = 0) -> Point:
        """The point at one row index per axis (its `index` is its place in the grid order)."""
        base = flatten_data(self.arch_data)
        params: dict = {}
        idx = 0
        for ax, c in zip(self.axes, choice):
            params.update(zip(ax.keys, ax.rows[c]))
            idx = idx * len(ax.rows) + c
        self._derive(params, base)
        return Point(index=workload * count_points(self.axes, 1) + idx, params=params, workload=workload)

    def _derive(self, params: dict, base: Mapping) -> None:
        for key, expr in self.derived:
            env = {**base, **params}
            try:
                params[key] = expr(env)
            except ExprError as exc:
                shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
                raise ConfigError(self.file, f"derived.{key}", f"{exc} (at {shown})") from None

    def point_key(self, point: Point) -> str:
        """sha256 of the point's full resolved arch config and its workload (content + overrides)."""
        return point_key(self.resolved_arch(point), self.workloads[point.workload], point.workload_overrides)

    def resolved_arch(self, point: Point) -> dict:
        return apply_overrides(dict(self.arch_data), point.arch_overrides, file=self.file)


def point_key(arch_data: Mapping, workload: WorkloadRef, workload_overrides: Mapping) -> str:
    blob = {"arch": arch_data, "workload": {"sha256": workload.sha256, "suffix": workload.suffix,
                                            "overrides": dict(workload_overrides)}}
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()


def _str(raw, *, file, key, required=False):
    if raw is None:
        if required:
            raise ConfigError(file, key, "required key is missing")
        return ""
    if not isinstance(raw, str):
        raise ConfigError(file, key, f"expected a string, got {raw!r}")
    return raw


def load_sweep(path) -> SweepSpec:
    """Read and validate a sweep TOML (see the module docstring for the format)."""
    return sweep_from_data(read_toml(path), file=Path(path))


def sweep_from_data(data: Mapping, *, file: Path) -> SweepSpec:
    """Validate sweep data read from `file` (paths in it are relative to the file's folder)."""
    file = Path(file)
    if not isinstance(data, Mapping):
        raise ConfigError(file, "<root>", "expected a table")
    for k in data:
        if k not in _TOP:
            raise ConfigError(file, k, "unknown key; allowed: " + ", ".join(_TOP))
    sw = data.get("sweep")
    if not isinstance(sw, Mapping):
        raise ConfigError(file, "sweep", "required table [sweep] with arch = \"...\" and workloads = [...]")
    for k in sw:
        if k not in _SWEEP_KEYS:
            raise ConfigError(file, f"sweep.{k}", "unknown key; allowed: " + ", ".join(_SWEEP_KEYS))
    name = _str(sw.get("name"), file=file, key="sweep.name") or file.stem
    description = _str(sw.get("description"), file=file, key="sweep.description")

    # base arch
    arch_rel = _str(sw.get("arch"), file=file, key="sweep.arch", required=True)
    arch_path = (file.parent / arch_rel).resolve()
    if not arch_path.is_file():
        raise ConfigError(file, "sweep.arch", f"arch file not found: {arch_rel} (resolved to {arch_path})")
    arch_data = resolve_extends(arch_path)
    arch_data.pop("extends", None)
    arch_from_data(arch_data, file=arch_path)          # the base itself must be valid

    # workloads
    if ("workload" in sw) == ("workloads" in sw):
        raise ConfigError(file, "sweep.workloads", "give exactly one of workload = \"PATH\" or "
                          "workloads = [\"PATH\", ...] (paths relative to the sweep file)")
    wkey = "sweep.workload" if "workload" in sw else "sweep.workloads"
    wraw = sw.get("workload", sw.get("workloads"))
    wlist = [wraw] if isinstance(wraw, str) else wraw
    if not isinstance(wlist, list) or not wlist or not all(isinstance(w, str) for w in wlist):
        raise ConfigError(file, wkey, f"expected a path or a non-empty array of paths, got {wraw!r}")
    refs = []
    from archsim.workloads.load import load_workload
    for i, w in enumerate(wlist):
        wp = (file.parent / w).resolve()
        k = wkey if isinstance(wraw, str) else f"{wkey}[{i}]"
        if not wp.is_file():
            raise ConfigError(file, k, f"workload file not found: {w} (resolved to {wp})")
        wl = load_workload(wp)
        refs.append(WorkloadRef(name=wl.name, path=str(wp), suffix=wp.suffix.lower(),
                                sha256=hashlib.sha256(wp.read_bytes()).hexdigest()))
    names = [r.name for r in refs]
    if len(set(names)) != len(names):
        raise ConfigError(file, wkey, f"workload names must differ (they label the results): {names}")

    # space
    space = data.get("space", {})
    axes = build_axes(space, file=file)
    for ax in axes:
        for pk in ax.keys:
            _check_param_key(pk, file=file, key=f"space.{pk}", refs=refs)
    n = count_points(axes, len(refs))
    search, evaluations, seed, batch = _search_keys(sw, file=file, n_workloads=len(refs))
    if n > MAX_POINTS and search is None:
        raise ConfigError(file, "space", f"{n} points; at most {MAX_POINTS} per sweep (split it, "
                          "or search it: search = \"nsga2\" | \"tpe\" | \"random\" with evaluations = N)")

    # derived
    derived_raw = data.get("derived", {})
    if not isinstance(derived_raw, Mapping):
        raise ConfigError(file, "derived", "expected a table of \"dotted.key\" = \"expression\"")
    base_names = list(flatten_data(arch_data))
    known = [k for ax in axes for k in ax.keys]
    derived = []
    for dk, text in flatten_params(derived_raw, file=file, key="derived", leaf=lambda v: False):
        key = f"derived.{dk}"
        _check_param_key(dk, file=file, key=key, refs=refs)
        if dk in known:
            raise ConfigError(file, key, "is already a swept parameter; a key is either swept or derived")
        names = known + [b for b in base_names if b not in known]
        derived.append((dk, compile_expr(text, names, file=file, key=key)))
        known.append(dk)

    # constraints and objectives
    result_names = list(RESULT_NAMES) + known
    cons_raw = data.get("constraints", {})
    if not isinstance(cons_raw, Mapping):
        raise ConfigError(file, "constraints", "expected a table with " + ", ".join(_CONSTRAINT_KEYS))
    for k in cons_raw:
        if k not in _CONSTRAINT_KEYS:
            raise ConfigError(file, f"constraints.{k}", "unknown key; allowed: " + ", ".join(_CONSTRAINT_KEYS))
    budget = cons_raw.get("budget", True)
    if not isinstance(budget, bool):
        raise ConfigError(file, "constraints.budget", f"expected true or false, got {budget!r}")
    constraints = []
    # as archsim.energy.model.check_budget: area total; average and peak per-op power
    for k, totals in (("area_mm2", ("totals.area_mm2",)),
                      ("power_w", ("totals.avg_power_w", "totals.peak_power_w"))):
        if k in cons_raw:
            v = cons_raw[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or v == float("inf"):
                raise ConfigError(file, f"constraints.{k}", f"expected a number > 0, got {v!r}")
            text = " and ".join(f"{t} <= {v!r}" for t in totals)
            constraints.append(Constraint(text=text, expr=compile_expr(
                text, result_names, file=file, key=f"constraints.{k}", compare=True)))
    req = cons_raw.get("require", [])
    if isinstance(req, str):
        req = [req]
    if not isinstance(req, list):
        raise ConfigError(file, "constraints.require", f"expected an array of comparisons, got {req!r}")
    for i, text in enumerate(req):
        if not isinstance(text, str):
            raise ConfigError(file, f"constraints.require[{i}]", f"expected a string such as "
                              f"\"totals.latency_s < 0.01\", got {text!r}")
        constraints.append(Constraint(text=text, expr=compile_expr(
            text, result_names, file=file, key=f"constraints.require[{i}]", compare=True)))
    obj_raw = data.get("objectives", {"totals.latency_s": "min"})
    if not isinstance(obj_raw, Mapping) or not obj_raw:
        raise ConfigError(file, "objectives", "expected a table of \"totals.FIELD\" = \"min\" | \"max\"")
    objectives = []
    for text, goal in obj_raw.items():
        okey = f"objectives.{text}"
        if not isinstance(goal, str) or goal.lower() not in GOALS:
            raise ConfigError(file, okey, f"got {goal!r}; allowed values: min, max")
        objectives.append(Objective(text=text, goal=GOALS[goal.lower()],
                                    expr=compile_expr(text, result_names, file=file, key=okey)))

    spec = SweepSpec(file=str(file), name=name, description=description, arch_file=str(arch_path),
                     arch_data=arch_data, workloads=tuple(refs), axes=tuple(axes),
                     derived=tuple(derived), constraints=tuple(constraints), budget=budget,
                     objectives=tuple(objectives), n_points=n, search=search,
                     evaluations=evaluations, seed=seed, batch=batch)
    _check_first_point(spec)
    return spec


def _search_keys(sw: Mapping, *, file, n_workloads: int):
    """[sweep] search = "nsga2" | "tpe" | "random", evaluations = N, seed = S, batch = B."""
    search = sw.get("search")
    if search is None:
        for k in ("evaluations", "seed", "batch"):
            if k in sw:
                raise ConfigError(file, f"sweep.{k}", "only with search = " + " | ".join(SEARCHES))
        return None, 0, 0, 0
    if search not in SEARCHES:
        raise ConfigError(file, "sweep.search", f"got {search!r}; allowed values: {', '.join(SEARCHES)}")
    if n_workloads != 1:
        raise ConfigError(file, "sweep.workloads", "a search explores one workload (objectives of "
                          "different workloads do not compare); give one, or one sweep per workload")
    out = []
    for k, default, lo, hi in (("evaluations", None, 1, MAX_POINTS), ("seed", 0, 0, 2**32 - 1),
                               ("batch", 64, 1, 100_000)):
        v = sw.get(k, default)
        if v is None:
            raise ConfigError(file, f"sweep.{k}", "required with search: how many design points to "
                              "evaluate (the search's budget)")
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ConfigError(file, f"sweep.{k}", f"expected an integer from {lo} to {hi}, got {v!r}")
        out.append(v)
    return (search, *out)


def _check_param_key(pk: str, *, file, key, refs):
    parts = pk.split(".")
    if any(not p for p in parts) or parts[0] not in PARAM_ROOTS:
        raise ConfigError(file, key, "a parameter is a dotted key of the arch (tech.*, budget.*, "
                          "components.NAME.*, mapping.*) or of the workload (workload.*)")
    if parts[0] == "workload":
        if len(parts) < 2:
            raise ConfigError(file, key, "expected workload.<key>, e.g. workload.params.n_nfp")
        bad = [r.name for r in refs if r.suffix != ".toml"]
        if bad:
            raise ConfigError(file, key, f"workload keys apply to TOML workloads only; not to {', '.join(bad)}")


def _check_first_point(spec: SweepSpec) -> None:
    """Build the first point for every workload, so typos surface at load time."""
    from archsim.workloads.load import load_workload
    first = next(iter(spec.points()))
    arch_file = Path(spec.arch_file)
    try:
        arch_from_data(spec.resolved_arch(first), file=arch_file)
    except ConfigError as exc:
        where = next((p for p in spec.param_keys if exc.key == p or exc.key.startswith(p + ".")
                      or p.startswith(exc.key + ".")), None)
        origin = "space" if where in {k for a in spec.axes for k in a.keys} else "derived"
        shown = ", ".join(f"{k}={v!r}" for k, v in first.params.items())
        raise ConfigError(spec.file, f"{origin}.{where}" if where else "space",
                          f"the first point ({shown}) is not a valid arch: {exc}") from None
    over = first.workload_overrides
    if over:
        for ref in spec.workloads:
            try:
                load_workload(ref.path, over)
            except ConfigError as exc:
                raise ConfigError(spec.file, "space", f"the first point's workload keys do not "
                                  f"apply to {ref.name}: {exc}") from None
