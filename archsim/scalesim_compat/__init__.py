"""SCALE-Sim 3.0.0 compatibility mode: SCALE-Sim's .cfg and topology files in, its three
report CSVs out, with SCALE-Sim's numbers (quirks included) from archsim's numba kernels
(`archsim.scalesim_compat.kernels`).

Library API:
  parse_config(cfg_path) -> ScaleSimConfig
  read_layers(topology_path, gemm=None) -> list[LayerDims]
  run_scalesim(cfg_path, topology_path, *, gemm=None) -> list[LayerReport]
  compat_layer(layer, config) -> LayerReport       (one layer, config object)
  compat_gemm(m, n, k, **arch) -> dict              (every report field of one GEMM layer)
  write_reports(reports, out_dir) -> list[Path]     (COMPUTE/BANDWIDTH/DETAILED_ACCESS_REPORT.csv)
"""
from archsim.scalesim_compat.config import ScaleSimConfig, parse_config
from archsim.scalesim_compat.model import (LayerDims, LayerReport, compat_gemm, compat_conv,
                                           compat_layer)
from archsim.scalesim_compat.reports import (BANDWIDTH_COLUMNS, COMPUTE_COLUMNS,
                                             DETAILED_COLUMNS, write_reports)
from archsim.scalesim_compat.topology import read_layers, run_scalesim

__all__ = ["ScaleSimConfig", "parse_config", "LayerDims", "LayerReport", "compat_gemm",
           "compat_conv", "compat_layer", "run_scalesim", "write_reports", "read_layers",
           "COMPUTE_COLUMNS", "BANDWIDTH_COLUMNS", "DETAILED_COLUMNS"]
