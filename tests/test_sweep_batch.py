"""The batched sweep path (archsim/sweep/batch.py) stores exactly what `simulate` gives: every
stored field of every point of random spaces (array shapes, dataflows, the mapper, fold
overlap, SRAMs, bandwidth, channels, clocks, nodes, budgets; conv and GEMM workloads with
repeats), compared as JSON, bit for bit."""
from __future__ import annotations

import json
import warnings

import pytest

from archsim.sweep import load_sweep, plan_tasks
from archsim.sweep.batch import batchable, evaluate_chunk, evaluate_points_batched
from archsim.sweep.execute import _state, evaluate_point, make_context
from conftest import REPO

FIELDS = ("key", "idx", "workload", "params", "status", "error", "totals", "budget", "components",
          "energy_breakdown")

OPS_TOML = """name = "ops-with-repeats"
[[ops]]
op = "gemm"
m = 300
k = 200
n = 100
batch = 3
dtype = "bf16"
repeat = 4
[[ops]]
op = "conv2d"
ifmap_h = 20
ifmap_w = 17
filter_h = 3
filter_w = 3
channels = 7
num_filters = 33
stride = 2
repeat = 2
[[ops]]
op = "gemm"
m = 1
k = 4096
n = 512
dtype = "bf16"
"""


def _sweep(tmp_path, seed, samples, fixed=None):
    (tmp_path / "ops.toml").write_text(OPS_TOML)
    text = f"""
[sweep]
name = "batch-eq"
arch = "{REPO / 'arch_configs/systolic/tpu-128x128.toml'}"
workloads = ["{REPO / 'workloads/cnn/resnet18.csv'}", "{REPO / 'workloads/cnn/transformer_gemms.csv'}",
             "{tmp_path / 'ops.toml'}"]
[space.random]
samples = {samples}
seed = {seed}
"components.sa.rows" = {{ randint = [3, 160] }}
"components.sa.cols" = {{ choice = [4, 16, 32, 100, 128] }}
"components.sa.dataflow" = {{ choice = ["os", "ws", "is"] }}
"components.sa.ifmap_sram_kib" = {{ choice = [1, 8, 64, 512, 2048] }}
"components.sa.filter_sram_kib" = {{ choice = [1, 16, 256, 1536] }}
"components.sa.ofmap_sram_kib" = {{ choice = [2, 64, 1024] }}
"components.sa.dram_bandwidth_words_per_cycle" = {{ uniform = [0.5, 300.0] }}
"components.sa.dram_channels" = {{ choice = ["shared", "per_operand"] }}
"components.sa.clock_ghz" = {{ uniform = [0.3, 2.0] }}
"components.sa.mapping" = {{ choice = ["fixed", "search"] }}
"components.sa.mapping_objective" = {{ choice = ["cycles", "energy", "edp"] }}
"components.sa.fold_overlap" = {{ choice = [true, false] }}
"components.sa.mapping_transpose" = {{ choice = [true, false] }}
"components.sa.mapping_tiling" = {{ choice = [true, false] }}
"components.sa.mapping_loop_order" = {{ choice = [true, false] }}
"components.sa.sram_banks" = {{ choice = [1, 4] }}
"tech.node_nm" = {{ choice = [7, 16, 28] }}
"budget.power_w" = {{ choice = [2.0, 50.0] }}
"budget.area_mm2" = {{ choice = [5.0, 500.0] }}
"""
    for key, value in (fixed or {}).items():        # pin a sampled key to one value
        text = "\n".join(f'"components.sa.{key}" = {{ choice = [{value}] }}'
                          if line.startswith(f'"components.sa.{key}" =') else line
                          for line in text.splitlines())
    path = tmp_path / "s.toml"
    path.write_text(text)
    return load_sweep(path)


@pytest.mark.parametrize("seed, fixed", [
    (1, None), (2, None),
    # the batched mapper in both loop orders (tiling off: tiled points run per point)
    (5, {"mapping": '"search"', "mapping_tiling": "false", "mapping_loop_order": "true"})])
def test_batched_points_equal_simulate(tmp_path, seed, fixed):
    spec = _sweep(tmp_path, seed, 12, fixed)
    tasks, _ = plan_tasks(spec)
    ctx = make_context(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = [evaluate_point(ctx, t) for t in tasks]
        got = evaluate_chunk(ctx, tasks, evaluate_point)
    assert all(w["status"] == "ok" for w in want)
    for w, g in zip(want, got):
        for f in FIELDS:
            assert json.dumps(w[f], sort_keys=True) == json.dumps(g[f], sort_keys=True), (f, w["params"])


def test_the_batch_path_is_taken_and_falls_back_for_other_archs(tmp_path):
    from archsim import load_arch, load_workload
    spec = _sweep(tmp_path, 3, 6)
    tasks, _ = plan_tasks(spec)
    ctx = make_context(spec)
    st = _state(ctx)
    from archsim.config.arch import arch_from_data
    from archsim.config.load import apply_overrides
    from archsim.sweep.spec import split_params
    pts = []
    for n, t in enumerate(tasks[:6]):
        arch = arch_from_data(apply_overrides(dict(ctx.arch_data), split_params(t[3])[0],
                                              file=ctx.arch_file), file=ctx.arch_file)
        pts.append((arch, n))
    wl = st.workload(0, {})
    assert batchable(pts[0][0], wl) == "sa"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = evaluate_points_batched(pts, wl, "sa")
    # only the mapper's temporal tiling (search + mapping_tiling) runs per point
    tiled = {n for arch, n in pts if arch.components["sa"].mapping == "search"
             and arch.components["sa"].mapping_tiling}
    assert {r[0] for r in res if r[1] is None} == tiled
    assert len(tiled) < len(pts)
    ngpc = load_arch(REPO / "arch_configs/ngpc/ngpc-8.toml")
    assert batchable(ngpc, wl) is None
    gpu = load_arch(REPO / "arch_configs/gpu/h200.toml")
    assert batchable(gpu, load_workload(REPO / "workloads/cnn/resnet18.csv")) is None
