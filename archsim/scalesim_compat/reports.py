"""SCALE-Sim's three report CSVs, byte-compatible with scalesim 3.0.0's output.

SCALE-Sim joins cells with ", " and ends every line with ",": read by a csv reader, its column
names are the header strings below with a leading space (all but LayerID) and a trailing empty
column. The writers use the csv module with exactly those cells, header and values taken from
the same dict, so a file written here is byte-identical to SCALE-Sim's. Values are formatted
as SCALE-Sim's `str()` formats them: start/stop cycles are numpy float64 there ("33.0"),
counts are ints, ratios are Python floats (repr).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

COMPUTE_COLUMNS = ("LayerID", "Total Cycles (incl. prefetch)", "Total Cycles", "Stall Cycles",
                   "Overall Util %", "Mapping Efficiency %", "Compute Util %")
BANDWIDTH_COLUMNS = ("LayerID", "Avg IFMAP SRAM BW", "Avg FILTER SRAM BW", "Avg OFMAP SRAM BW",
                     "Avg IFMAP DRAM BW", "Avg FILTER DRAM BW", "Avg OFMAP DRAM BW")
DETAILED_COLUMNS = ("LayerID",
                    "SRAM IFMAP Start Cycle", "SRAM IFMAP Stop Cycle", "SRAM IFMAP Reads",
                    "SRAM Filter Start Cycle", "SRAM Filter Stop Cycle", "SRAM Filter Reads",
                    "SRAM OFMAP Start Cycle", "SRAM OFMAP Stop Cycle", "SRAM OFMAP Writes",
                    "DRAM IFMAP Start Cycle", "DRAM IFMAP Stop Cycle", "DRAM IFMAP Reads",
                    "DRAM Filter Start Cycle", "DRAM Filter Stop Cycle", "DRAM Filter Reads",
                    "DRAM OFMAP Start Cycle", "DRAM OFMAP Stop Cycle", "DRAM OFMAP Writes")


def _cyc(v: int) -> str:
    return str(float(v))


def compute_row(r) -> dict:
    return {"LayerID": r.layer_id,
            "Total Cycles (incl. prefetch)": r.total_cycles_incl_prefetch,
            "Total Cycles": r.total_cycles,
            "Stall Cycles": r.stall_cycles,
            "Overall Util %": r.overall_util_pct,
            "Mapping Efficiency %": r.mapping_efficiency_pct,
            "Compute Util %": r.compute_util_pct}


def bandwidth_row(r) -> dict:
    return {"LayerID": r.layer_id,
            "Avg IFMAP SRAM BW": r.avg_ifmap_sram_bw,
            "Avg FILTER SRAM BW": r.avg_filter_sram_bw,
            "Avg OFMAP SRAM BW": r.avg_ofmap_sram_bw,
            "Avg IFMAP DRAM BW": r.avg_ifmap_dram_bw,
            "Avg FILTER DRAM BW": r.avg_filter_dram_bw,
            "Avg OFMAP DRAM BW": r.avg_ofmap_dram_bw}


def detailed_row(r) -> dict:
    return {"LayerID": r.layer_id,
            "SRAM IFMAP Start Cycle": _cyc(r.sram_ifmap_start_cycle),
            "SRAM IFMAP Stop Cycle": _cyc(r.sram_ifmap_stop_cycle),
            "SRAM IFMAP Reads": r.sram_ifmap_reads,
            "SRAM Filter Start Cycle": _cyc(r.sram_filter_start_cycle),
            "SRAM Filter Stop Cycle": _cyc(r.sram_filter_stop_cycle),
            "SRAM Filter Reads": r.sram_filter_reads,
            "SRAM OFMAP Start Cycle": _cyc(r.sram_ofmap_start_cycle),
            "SRAM OFMAP Stop Cycle": _cyc(r.sram_ofmap_stop_cycle),
            "SRAM OFMAP Writes": r.sram_ofmap_writes,
            "DRAM IFMAP Start Cycle": _cyc(r.dram_ifmap_start_cycle),
            "DRAM IFMAP Stop Cycle": _cyc(r.dram_ifmap_stop_cycle),
            "DRAM IFMAP Reads": r.dram_ifmap_reads,
            "DRAM Filter Start Cycle": _cyc(r.dram_filter_start_cycle),
            "DRAM Filter Stop Cycle": _cyc(r.dram_filter_stop_cycle),
            "DRAM Filter Reads": r.dram_filter_reads,
            "DRAM OFMAP Start Cycle": _cyc(r.dram_ofmap_start_cycle),
            "DRAM OFMAP Stop Cycle": _cyc(r.dram_ofmap_stop_cycle),
            "DRAM OFMAP Writes": r.dram_ofmap_writes}


REPORTS = (("COMPUTE_REPORT.csv", COMPUTE_COLUMNS, compute_row),
           ("BANDWIDTH_REPORT.csv", BANDWIDTH_COLUMNS, bandwidth_row),
           ("DETAILED_ACCESS_REPORT.csv", DETAILED_COLUMNS, detailed_row))


def _cells(items) -> list[str]:
    # SCALE-Sim's ", ".join(...) + ",": a space before every cell but the first, empty last cell
    return [str(v) if i == 0 else f" {v}" for i, v in enumerate(items)] + [""]


def write_report(path, rows: list[dict], columns) -> Path:
    from archsim.io_safe import atomic_write_text
    path = Path(path)
    fh = io.StringIO(newline="")
    w = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    header = list(rows[0].keys()) if rows else list(columns)
    if tuple(header) != tuple(columns):
        raise ValueError(f"report columns drifted: {header}")
    w.writerow(_cells(header))
    for row in rows:
        w.writerow(_cells(row.values()))
    atomic_write_text(path, fh.getvalue(), flag="--out")
    return path


def write_reports(reports, out_dir) -> list[Path]:
    """Write COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv."""
    from archsim.io_safe import make_dir
    out = Path(out_dir)
    make_dir(out, flag="--out")
    return [write_report(out / fname, [make(r) for r in reports], cols)
            for fname, cols, make in REPORTS]


def read_report(path) -> list[dict]:
    """Read a SCALE-Sim (or archsim compat) report CSV -> list of {column: value string}."""
    with open(path, newline="") as fh:
        rows = [[c.strip() for c in row] for row in csv.reader(fh)]
    header = [h for h in rows[0] if h]
    return [dict(zip(header, row)) for row in rows[1:] if any(row)]
