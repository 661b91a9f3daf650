"""archsim validate FILE ...: load configs, workloads and sweep files; print errors only."""
from __future__ import annotations

import sys
from pathlib import Path

from archsim.cli.text import plain
from archsim.errors import ConfigError


def add_parser(sub):
    p = sub.add_parser("validate", help="check arch, workload, sweep and tech-table files without running")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cmd_validate)


def classify(path: Path) -> str:
    """'arch', 'workload' or 'sweep' from the file's content (TOML) or extension."""
    from archsim.config.load import read_toml
    if path.suffix.lower() in (".jsonl", ".csv", ".onnx"):
        return "workload"
    data = read_toml(path)
    if "sweep" in data or "space" in data:
        return "sweep"
    if "components" in data or "extends" in data:
        return "arch"
    if "ops" in data or "generator" in data:
        return "workload"
    if "meta" in data and "logic" in data:
        return "tech"
    raise ConfigError(path, "<root>", "cannot tell the file's type: an arch has [components.*], "
                      "a workload [[ops]] or generator = ..., a sweep a [sweep] table, "
                      "a tech table [meta] and [logic.*]")


def validate_file(path: Path):
    """Load and check one file as `run` / `sweep` would, short of simulating.
    Returns (kind, loaded object: ArchSpec, Workload, SweepSpec or TechTable)."""
    from archsim.plausibility import check_arch
    kind = classify(path)
    if kind == "arch":
        from archsim.config.arch import load_arch
        obj = load_arch(path)
        check_arch(obj)                 # tech table, node scaling, structures, GPU part files
    elif kind == "workload":
        from archsim.workloads.load import load_workload
        obj = load_workload(path)
    elif kind == "tech":
        from archsim.config.load import read_toml
        from archsim.energy.tables import table_from_data
        obj = table_from_data(read_toml(path), file=path)
    else:
        from archsim.config.arch import arch_from_data
        from archsim.sweep.spec import load_sweep
        obj = load_sweep(path)
        first = next(iter(obj.points()))
        check_arch(arch_from_data(obj.resolved_arch(first), file=obj.arch_file))
    return kind, obj


def cmd_validate(args) -> int:
    from archsim.errors import ModelError
    from archsim.plausibility import check_pair
    bad = 0
    loaded = []
    for f in args.files:
        try:
            kind, obj = validate_file(Path(f))
            loaded.append((f, kind, obj))
        except ConfigError as exc:
            print(f"archsim: error: {plain(exc)}", file=sys.stderr)
            bad += 1
        except ModelError as exc:
            print(f"archsim: model error: {plain(f)}: {plain(exc)}", file=sys.stderr)
            bad += 1
    # an arch and a workload given together: also what `run ARCH WORKLOAD` checks before
    # simulating (every op has a component, no op over the work budget)
    archs = [(f, o) for f, k, o in loaded if k == "arch"]
    wls = [(f, o) for f, k, o in loaded if k == "workload"]
    for af, arch in archs:
        for wf, wl in wls:
            try:
                check_pair(arch, wl)
            except ConfigError as exc:
                print(f"archsim: error: {plain(exc)} (running {plain(wf)} on {plain(af)})", file=sys.stderr)
                bad += 1
            except ModelError as exc:
                print(f"archsim: model error: running {plain(wf)} on {plain(af)}: {plain(exc)}", file=sys.stderr)
                bad += 1
    return 2 if bad else 0
