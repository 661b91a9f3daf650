"""archsim report DIR: plots and tables from a run folder; sweep folders delegate; bad dirs
are exit 2. Also checks the power trace / budget fields end up in report.json."""
import json
import types

import pytest

from archsim import load_arch, load_workload, simulate
from archsim.cli import main
from archsim.report.plots import MAX_BARS, op_energy_rows
from archsim.report.write import write_run

ARCH = {"name": "fa", "tech": {"node_nm": 7}, "budget": {"power_w": 0.01},
        "components": {"a": {"kind": "fake", "lanes": 16, "clock_ghz": 2.0}}}
WL = {"name": "w", "ops": [
    {"op": "gemm", "m": 4, "k": 8, "n": 2, "dtype": "int8", "name": "g"},
    {"op": "elementwise", "n_elements": 100, "dtype": "fp16", "repeat": 3, "name": "e"}]}


def test_report_run_folder_writes_plots(fake_component, tmp_path, capsys):
    rep = simulate(load_arch(ARCH), load_workload(WL))
    write_run(rep, tmp_path)
    d = json.loads((tmp_path / "report.json").read_text())
    assert len(d["power_trace"]) == 2 and d["budget"]["power_w"] == 0.01
    assert main(["report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "timeline.csv").read_text().splitlines()[0] == "name,op,component,resource,start_s,end_s,critical"
    for stem in ("energy_breakdown", "area_breakdown", "power_trace", "timeline"):
        for ext in ("png", "svg"):
            p = tmp_path / f"{stem}.{ext}"
            assert p.is_file() and p.stat().st_size > 1000
    assert "avg_power_w" in out and "energy_j by class" in out and "mac" in out


def test_report_bad_dir_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert main(["report", str(tmp_path)]) == 2          # empty folder: no report.json
    assert "report.json" in capsys.readouterr().err


def test_report_sweep_folder_delegates(tmp_path, monkeypatch, capsys):
    (tmp_path / "points.csv").write_text("a\n1\n")
    called = []
    fake = types.ModuleType("archsim.sweep.report")
    fake.plot_sweep = lambda d: called.append(d) or [d / "plots" / "x.png"]
    monkeypatch.setitem(__import__("sys").modules, "archsim.sweep.report", fake)
    assert main(["report", str(tmp_path)]) == 0
    assert called == [tmp_path] and "x.png" in capsys.readouterr().out


def test_many_ops_grouped_by_name():
    ops = [{"name": f"op{i % 100}", "op": "gemm", "latency_s": 1e-6,
            "energy_j": 1e-6 * (i % 100), "energy_breakdown_j": {"mac": 1e-6 * (i % 100)}} for i in range(400)]
    labels, series = op_energy_rows({"ops": ops, "totals": {"leakage_power_w": 1.0}})
    assert len(labels) == MAX_BARS and labels[0] == "op99" and labels[-1].startswith("other")
    # grouping keeps the total: dynamic 4 x sum(0..99) uJ, leakage 400 x 1 uJ
    assert sum(series["mac"]) == pytest.approx(4 * sum(range(100)) * 1e-6)
    assert sum(series["leakage"]) == pytest.approx(400e-6)


def test_power_limit_is_the_archs_own_not_the_baselines(tmp_path):
    """The power plot's limit: the budget, else the run's own arch TDP — never the baseline GPU's."""
    from archsim.config.arch import load_arch as la
    from archsim.report.plots import power_limit
    from conftest import REPO
    tpu = REPO / "arch_configs/systolic/tpu-128x128.toml"
    h200 = REPO / "arch_configs/gpu/h200.toml"
    wl = load_workload(REPO / "workloads/cnn/resnet18.csv")
    rep = simulate(la(tpu), wl, baseline=la(h200))
    write_run(rep, tmp_path / "a", arch_path=tpu, extra_inputs=[h200])
    d = json.loads((tmp_path / "a" / "report.json").read_text())
    d.pop("budget", None)
    assert power_limit(d, tmp_path / "a") == (None, "")
    g = simulate(la(h200), wl)
    write_run(g, tmp_path / "g", arch_path=h200)
    lim, label = power_limit(json.loads((tmp_path / "g" / "report.json").read_text()), tmp_path / "g")
    assert lim == 700.0 and "h200" in label
