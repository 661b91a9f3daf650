"""Where archsim's shipped data lives: presets (arch_configs/: systolic, gpu, ngpc, vrex, tech
tables) and workloads (workloads/).

In a checkout (an editable install) they are the repository's top-level folders; a wheel
carries copies under the package (archsim/_data/, put there by setup.py's build step) and they
are found through importlib.resources. `find_preset("tpu-128x128")` and
`find_workload("resnet50")` turn the names the CLI accepts into paths.
"""
from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

DATA_DIRS = ("arch_configs", "workloads")
WORKLOAD_SUFFIXES = (".toml", ".csv", ".jsonl")


@functools.lru_cache(maxsize=None)
def shipped_root() -> Path:
    """The folder holding arch_configs/ and workloads/."""
    repo = Path(__file__).resolve().parents[1]
    if (repo / "arch_configs").is_dir() and (repo / "archsim").is_dir():
        return repo
    return Path(str(resources.files("archsim") / "_data"))


def data_dir(name: str) -> Path:
    """arch_configs/ or workloads/ of the shipped data."""
    if name not in DATA_DIRS:
        raise ValueError(f"{name!r}: one of {DATA_DIRS}")
    return shipped_root() / name


def _named(folder: Path, name: str, suffixes) -> list[Path]:
    stem = Path(name).stem if Path(name).suffix in suffixes else name
    out = []
    for suf in suffixes:
        out += sorted(p for p in folder.rglob(f"{stem}{suf}") if "calibration" not in p.parts)
    return out


def preset_names() -> list[str]:
    root = data_dir("arch_configs")
    return sorted({p.stem for p in root.rglob("*.toml")
                   if p.stem not in ("base", "default") and "tech" not in p.parts
                   and "calibration" not in p.parts})


def workload_names() -> list[str]:
    root = data_dir("workloads")
    return sorted({p.stem for suf in WORKLOAD_SUFFIXES for p in root.rglob(f"*{suf}")})


def _resolve(text: str, folder: str, suffixes) -> Path | None:
    p = Path(text)
    if p.exists():
        return p
    if not p.is_absolute():
        parts = p.parts
        if parts and parts[0] == folder:              # "arch_configs/systolic/x.toml" from elsewhere
            q = shipped_root() / p
            if q.exists():
                return q
        if len(parts) == 1:                           # a bare name: search the shipped folder
            hits = _named(data_dir(folder), text, suffixes)
            if hits:                                  # the shallowest (gpu/x over gpu/vrex-paper/x)
                return min(hits, key=lambda q: (len(q.parts), str(q)))
    return None


def find_preset(text: str) -> Path | None:
    """An arch argument -> a path: an existing file, a path under arch_configs/ of the shipped
    data, or a preset name (`tpu-128x128`, `h200`); None if none (or an ambiguous name)."""
    return _resolve(text, "arch_configs", (".toml",))


def find_workload(text: str) -> Path | None:
    """A workload argument -> a path, as `find_preset` (`resnet50`, `nerf_hashgrid_1080p`)."""
    return _resolve(text, "workloads", WORKLOAD_SUFFIXES)
