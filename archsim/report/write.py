"""Write a run folder: report.json, ops.csv, timeline.csv, copies of the inputs and a manifest with hashes."""
from __future__ import annotations

import hashlib
import json
import os
import platform
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
    from archsim.io_safe import atomic_write_bytes, atomic_write_text, make_dir
    out = Path(out_dir)
    make_dir(out / "inputs", flag="--out")
    atomic_write_text(out / "report.json", report.to_json(), flag="--out")
    atomic_write_text(out / "ops.csv", report.ops_csv(), flag="--out")
    atomic_write_text(out / "timeline.csv", report.timeline_csv(), flag="--out")
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
        atomic_write_bytes(dest, p.read_bytes(), flag="--out")
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
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2), flag="--out")
    return out


def _copy(copies: dict, path) -> str:
    """The copy of `path` under the run folder (what the rerun command names), else the path."""
    c = copies.get(str(Path(path).resolve()))
    return c["copy"] if c else str(path)
