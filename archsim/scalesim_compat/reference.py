"""Run the real SCALE-Sim 3.0.0 (PyPI `scalesim`, optional dependency) for differential tests and
the speed benchmark. Not used by archsim's own model.

SCALE-Sim needs a layout file even when no custom layout is used (scalesim.md section 1), so a
header-only one is written into `workdir`. Traces are off (`save_disk_space=True`), reports go
to `workdir/out/<run_name>/`.
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

from archsim.scalesim_compat.reports import read_report

REPORT_FILES = ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv")


def run_reference(cfg_path, topology_path, *, gemm: bool, workdir) -> Path:
    """Run scalesim on (cfg, topology); returns the folder holding its three report CSVs."""
    from scalesim.scale_sim import scalesim   # optional dependency (extra "test")
    from archsim.scalesim_compat.config import parse_config
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    layout = workdir / "layout.csv"
    layout.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                      "Channels, Num Filter, Strides,\n")
    out = workdir / "out"
    with contextlib.redirect_stdout(io.StringIO()):
        sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg_path),
                       topology=str(topology_path), layout=str(layout), input_type_gemm=gemm)
        sim.run_scale(top_path=str(out))
    return out / parse_config(cfg_path).run_name


def read_reports(folder) -> list[dict]:
    """Merge the three report CSVs of a folder into one dict per layer (values are strings)."""
    merged: list[dict] = []
    for fname in REPORT_FILES:
        for i, row in enumerate(read_report(Path(folder) / fname)):
            if len(merged) <= i:
                merged.append({})
            merged[i].update(row)
    return merged
