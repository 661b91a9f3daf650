"""SCALE-Sim input files -> LayerDims -> the compat model (`run_scalesim`). Topology files ->
LayerDims (conv rows as they are; GEMM rows `name, M, N, K` as
SCALE-Sim maps them: ifmap M x K, filter 1 x K, 1 channel, N filters, stride 1)."""
from __future__ import annotations

from archsim.scalesim_compat.config import parse_config
from archsim.scalesim_compat.model import LayerDims, LayerReport, compat_layer
from archsim.workloads.load import read_topology_csv
from archsim.workloads.ops import Conv2d, Gemm


def layers_from_ops(ops) -> list[LayerDims]:
    out = []
    for op in ops:
        if isinstance(op, Gemm):
            out.append(LayerDims.from_gemm(op.m, op.n, op.k, name=op.name))
        elif isinstance(op, Conv2d):
            out.append(LayerDims(name=op.name, ifmap_h=op.ifmap_h, ifmap_w=op.ifmap_w,
                                 filter_h=op.filter_h, filter_w=op.filter_w,
                                 channels=op.channels, num_filters=op.num_filters,
                                 stride=op.stride))
        else:   # read_topology_csv only makes these two
            raise TypeError(f"not a SCALE-Sim layer: {op!r}")
    return out


def read_layers(path, gemm: bool | None = None) -> list[LayerDims]:
    """Read a SCALE-Sim topology CSV; the format comes from the header (`name, M, N, K`) unless
    `gemm` is given. Depth-wise layers (name contains 'DP') expand into `channels` 1-channel
    layers, as SCALE-Sim does."""
    return layers_from_ops(read_topology_csv(path, gemm=gemm).ops)


def run_scalesim(cfg_path, topology_path, *, gemm: bool | None = None) -> list[LayerReport]:
    """Run a SCALE-Sim .cfg + topology CSV through the compat kernels, one LayerReport per
    layer (LayerID = position, depth-wise layers expanded as SCALE-Sim does)."""
    from archsim import jit
    from archsim.scalesim_compat.model import (
        NUMPY_CALC_ROWS_MAX,
        check_layer,
        demand_rows,
    )
    cfg = parse_config(cfg_path)
    layers = read_layers(topology_path, gemm=gemm)
    for i, layer in enumerate(layers):      # every layer checked before any is computed
        check_layer(layer, cfg, i)
    if not cfg.user_bandwidth and sum(demand_rows(x, cfg) for x in layers) > NUMPY_CALC_ROWS_MAX:
        jit.compile_all()                   # enough work to repay numba's start-up
    return [compat_layer(layer, cfg, i) for i, layer in enumerate(layers)]
