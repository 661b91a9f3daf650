"""Search sweeps (archsim/sweep/search.py): a sampler (optuna: NSGA-II, TPE, random) picks the
points of a space too large to enumerate; they are evaluated and stored like grid points (so
equal to `simulate`), the front is exported, and --resume goes on to a larger budget without
rerunning a stored point."""
from __future__ import annotations

import pytest

from archsim.errors import ConfigError
from archsim.sweep import load_sweep, run_sweep
from archsim.sweep.store import Store
from conftest import REPO

pytest.importorskip("optuna")


def _write(tmp_path, search="nsga2", evaluations=24, extra=""):
    text = f"""
[sweep]
name = "search-test"
arch = "{REPO / 'arch_configs/systolic/tpu-128x128.toml'}"
workload = "{REPO / 'workloads/cnn/resnet18.csv'}"
search = "{search}"
evaluations = {evaluations}
seed = 3
batch = 8
{extra}
[space.components.sa]
rows = [32, 64, 96, 128, 192, 256]
cols = [32, 64, 96, 128, 192, 256]
dataflow = ["os", "ws", "is"]
ifmap_sram_kib = [128, 256, 512, 1024, 2048]
filter_sram_kib = [128, 256, 512, 1024, 2048]
dram_bandwidth_words_per_cycle = [16, 32, 64, 128, 256]
mapping = ["fixed", "search"]

[constraints]
area_mm2 = 30.0

[objectives]
"totals.latency_s" = "min"
"totals.energy_j" = "min"
"""
    p = tmp_path / f"{search}.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("search", ["nsga2", "tpe", "random"])
def test_search_runs_its_budget_and_resumes(tmp_path, search):
    f = _write(tmp_path, search)
    spec = load_sweep(f)
    assert spec.search == search and spec.n_points == 6 * 6 * 3 * 5 * 5 * 5 * 2
    out = tmp_path / "out"
    res = run_sweep(spec, "serial", out_dir=out)
    assert res.n_ok == 24 and res.n_failed == 0
    assert (out / "pareto.csv").read_text().count("\n") >= 2
    with Store.open_dir(out) as st:
        first = {r["key"]: r["finished_unix"] for r in st.rows()}
    spec2 = load_sweep(_write(tmp_path, search, evaluations=40))
    res2 = run_sweep(spec2, "local", out_dir=out, jobs=2, resume=True)
    with Store.open_dir(out) as st:
        rows = st.rows()
    assert len(rows) == 40 and res2.n_run == 16
    assert all(first[r["key"]] == r["finished_unix"] for r in rows if r["key"] in first)


def test_search_is_reproducible(tmp_path):
    keys = []
    for i in range(2):
        spec = load_sweep(_write(tmp_path, "nsga2", evaluations=16))
        run_sweep(spec, "serial", out_dir=tmp_path / f"o{i}")
        with Store.open_dir(tmp_path / f"o{i}") as st:
            keys.append(sorted(r["key"] for r in st.rows()))
    assert keys[0] == keys[1]


def test_search_keys_are_checked(tmp_path):
    bad = _write(tmp_path, "annealing")
    with pytest.raises(ConfigError, match="sweep.search"):
        load_sweep(bad)
    p = _write(tmp_path, "random", evaluations=0)
    with pytest.raises(ConfigError, match="sweep.evaluations"):
        load_sweep(p)
    text = (REPO / "sweeps/systolic-resnet50.toml").read_text().replace('"../', f'"{REPO}/').replace(
        'workload = "', 'evaluations = 5\nworkload = "')
    q = tmp_path / "eval_without_search.toml"
    q.write_text(text)
    with pytest.raises(ConfigError, match="sweep.evaluations"):
        load_sweep(q)
