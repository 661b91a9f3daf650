"""Write a run folder: report.json, ops.csv, timeline.csv, copies of the inputs and a manifest with hashes."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
from pathlib import Path

from archsim.report.report import Report


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def input_files(arch_source: str) -> list[Path]:
    """The arch file and every file it extends (so a copy reproduces the run)."""
    from archsim.config.load import read_toml
    out, todo = [], [Path(arch_source)]
    while todo:
        p = todo.pop().resolve()
        if p in out or not p.is_file():
            continue
        out.append(p)
        ext = read_toml(p).get("extends")
        for e in ([ext] if isinstance(ext, str) else ext or []):
            todo.append(p.parent / e)
    return out


def write_run(report: Report, out_dir, *, arch_path=None, workload_path=None, overrides=(),
              extra_inputs=()) -> Path:
    """Write the run folder `out_dir` (created); returns it."""
    out = Path(out_dir)
    (out / "inputs").mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(report.to_json())
    (out / "ops.csv").write_text(report.ops_csv())
    (out / "timeline.csv").write_text(report.timeline_csv())
    copies = {}
    paths = []
    if arch_path is not None:
        paths += input_files(arch_path)
    if workload_path is not None:
        paths.append(Path(workload_path).resolve())
    paths += [Path(p).resolve() for p in extra_inputs]
    paths = [p for p in dict.fromkeys(paths) if p.is_file()]
    # the copies keep their layout relative to one another, so `extends = "../gpu/x.toml"`
    # (and any relative path a file names) still resolves inside inputs/: the folder reruns alone
    root = Path(os.path.commonpath([str(p.parent) for p in paths])) if paths else out
    for p in paths:
        dest = out / "inputs" / p.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, dest)
        copies[str(p)] = {"copy": str(dest.relative_to(out)), "sha256": sha256_file(p)}
    try:
        import numba
        numba_version = numba.__version__
    except Exception:  # pragma: no cover
        numba_version = None
    import numpy
    manifest = {
        "archsim_version": report.archsim_version,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba_version,
        "arch": report.arch,
        "workload": report.workload,
        "inputs": copies,
        "overrides": list(overrides),
        "seed": report.meta.get("seed"),
        "rerun": (f"archsim run {_copy(copies, arch_path)} {_copy(copies, workload_path)}"
                  + "".join(f" --set {o}" for o in overrides)) if arch_path and workload_path else None,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out


def _copy(copies: dict, path) -> str:
    """The copy of `path` under the run folder (what the rerun command names), else the path."""
    c = copies.get(str(Path(path).resolve()))
    return c["copy"] if c else str(path)
