"""One engine: `run`, `sweep` and `reproduce` give the same design the same numbers."""
from __future__ import annotations

import json
import warnings

import pytest

from archsim import load_arch, load_workload, simulate
from archsim.cli import main
from archsim.sweep import load_sweep, run_sweep
from archsim.sweep.spec import split_params
from archsim.sweep.store import Store
from conftest import REPO


def _sweep_point_vs_run(tmp_path, sweep_file, n_points):
    spec = load_sweep(REPO / "sweeps" / sweep_file)
    pts = list(spec.points())[:n_points]
    res = run_sweep(spec, "serial", out_dir=tmp_path / "sw", timed_points=0)
    with Store.open_dir(tmp_path / "sw") as st:
        rows = {r["idx"]: r for r in st.rows()}
    assert res.n_failed == 0
    for p in pts:
        arch_over, wl_over = split_params(p.params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = simulate(load_arch(REPO / spec.arch_file, arch_over),
                           load_workload(spec.workloads[p.workload].path, wl_over or None))
        got = rows[p.index]["totals"]
        got = json.loads(got) if isinstance(got, str) else got
        want = rep.totals()
        for k in ("latency_s", "energy_j", "area_mm2", "cycles"):
            assert got[k] == pytest.approx(want[k], rel=1e-12), (p.params, k)


def test_a_sweep_point_equals_the_run_of_its_config(tmp_path):
    _sweep_point_vs_run(tmp_path, "systolic-resnet50.toml", 3)


def test_cli_run_json_equals_simulate(tmp_path):
    out = tmp_path / "r.json"
    assert main(["run", str(REPO / "arch_configs/systolic/tpu-128x128.toml"),
                 str(REPO / "workloads/cnn/resnet18.csv"), "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    rep = simulate(load_arch(REPO / "arch_configs/systolic/tpu-128x128.toml"),
                   load_workload(REPO / "workloads/cnn/resnet18.csv"))
    assert d["totals"] == json.loads(rep.to_json())["totals"]


def test_serial_workload_keeps_its_totals_exactly():
    """A trace without `after` is a chain: latency = the sum of op latencies and cycles = the sum
    of op cycles (ResNet-50 on the TPU preset: the README's figures)."""
    rep = simulate(load_arch(REPO / "arch_configs/systolic/tpu-128x128.toml"),
                   load_workload(REPO / "workloads/cnn/resnet50.csv"))
    assert rep.cycles == sum(o.cycles for o in rep.ops) == 1_074_333
    assert rep.latency_s == pytest.approx(sum(o.latency_s for o in rep.ops), rel=1e-12)
    assert rep.energy_j == pytest.approx(3.5198791702e-3, rel=1e-9)
    assert rep.timeline.critical_path == tuple(range(len(rep.ops)))


def test_run_folder_reruns_on_its_own(tmp_path, monkeypatch):
    """`--out` copies the arch, every file it extends (the NGPC preset's GPU part included) and
    the workload with their relative layout, so the folder's rerun command works from a copy
    of the folder alone and gives the same numbers."""
    import shutil
    out = tmp_path / "run"
    assert main(["run", str(REPO / "arch_configs/ngpc/ngpc-8.toml"),
                 str(REPO / "workloads/ng/nerf_hashgrid_1080p.toml"), "--set", "components.ngpc.n_nfp=16",
                 "--out", str(out)]) == 0
    man = json.loads((out / "manifest.json").read_text())
    assert any(c["copy"].endswith("gpu/rtx3090.toml") for c in man["inputs"].values())
    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(out, moved)
    monkeypatch.chdir(moved)
    argv = man["rerun"].split()[1:] + ["--json", "again.json"]
    assert main(argv) == 0
    a = json.loads((out / "report.json").read_text())["totals"]
    b = json.loads((moved / "again.json").read_text())["totals"]
    assert b["latency_s"] == a["latency_s"] and b["energy_j"] == a["energy_j"]
