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


_CFG_TEMPLATE = """[general]
run_name = {run_name}

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: {ifmap_kb}
FilterSramSzkB: {filter_kb}
OfmapSramSzkB: {ofmap_kb}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth : {ofmap_bw}
Dataflow : {dataflow}
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: {ifmap_bw}
IfmapSRAMBankNum: 1
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: {filter_bw}
FilterSRAMBankNum: 1
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: {mode}
UseRamulatorTrace: False
"""


def make_cfg(*, run_name: str, rows: int, cols: int, dataflow: str, mode: str,
             ifmap_kb: int, filter_kb: int, ofmap_kb: int,
             ifmap_bw: int, filter_bw: int, ofmap_bw: int) -> str:
    """A complete SCALE-Sim 3.0.0 .cfg text (every key 3.0.0 reads; scale.cfg's layout)."""
    return _CFG_TEMPLATE.format(run_name=run_name, rows=rows, cols=cols, dataflow=dataflow,
                                mode=mode, ifmap_kb=ifmap_kb, filter_kb=filter_kb,
                                ofmap_kb=ofmap_kb, ifmap_bw=ifmap_bw, filter_bw=filter_bw,
                                ofmap_bw=ofmap_bw)


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
