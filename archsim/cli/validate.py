"""archsim validate FILE ...: load configs, workloads and sweep files; print errors only."""
from __future__ import annotations

import sys
from pathlib import Path

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


def validate_file(path: Path) -> str:
    kind = classify(path)
    if kind == "arch":
        from archsim.config.arch import load_arch
        load_arch(path)
    elif kind == "workload":
        from archsim.workloads.load import load_workload
        load_workload(path)
    elif kind == "tech":
        from archsim.config.load import read_toml
        from archsim.energy.tables import table_from_data
        table_from_data(read_toml(path), file=path)
    else:
        from archsim.sweep.spec import load_sweep
        load_sweep(path)
    return kind


def cmd_validate(args) -> int:
    bad = 0
    for f in args.files:
        try:
            validate_file(Path(f))
        except ConfigError as exc:
            print(f"archsim: error: {exc}", file=sys.stderr)
            bad += 1
    return 2 if bad else 0
