"""Running sweeps: executors agree, failures are recorded, resume redoes only what is missing,
duplicates run once, budgets/constraints and Pareto fronts on hand-computed toy numbers."""
from __future__ import annotations

import csv
import io
import sqlite3

import pytest

from archsim.errors import ConfigError
from archsim.sweep import load_sweep, run_sweep
from archsim.sweep.store import DB_NAME, Store
from test_sweep_toy import TOY_MACS, write_toy_sweep

GRID = """\
[space]
"components.t.lanes" = { start = 1, stop = 32, scale = "log2" }
"components.t.clock_ghz" = [1.0, 2.0]
"components.t.fail_lanes" = [FAIL]
[constraints]
require = ["totals.latency_s < 5e-5"]
[objectives]
"totals.latency_s" = "min"
"components.t.lanes" = "min"
"""


def _rows(path):
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_local_pool_equals_serial_and_records_failures(tmp_path):
    spec = load_sweep(write_toy_sweep(tmp_path, GRID.replace("FAIL", "4")))
    a = run_sweep(spec, "serial", out_dir=tmp_path / "a", timed_points=0)
    b = run_sweep(spec, "local", out_dir=tmp_path / "b", jobs=2, chunk_size=2)
    assert (a.n_ok, a.n_failed, a.n_missing) == (10, 2, 0)
    assert (b.n_ok, b.n_failed, b.n_missing) == (10, 2, 0)
    assert a.points_csv.read_text() == b.points_csv.read_text()
    rows = _rows(b.points_csv)
    assert len(rows) == 12
    failed = [r for r in rows if r["status"] == "error"]
    assert {r["components.t.lanes"] for r in failed} == {"4"}
    assert all("toy failure at lanes=4" in r["error"] for r in failed)
    # hand check: lanes=8 at 1 GHz: ceil(262144/8) + ceil(65536/8) = 40960 cycles = 40.96 us
    r = next(r for r in rows if r["components.t.lanes"] == "8" and r["components.t.clock_ghz"] == "1.0")
    assert int(r["totals.cycles"]) == TOY_MACS // 8 == 40960
    assert float(r["totals.latency_s"]) == pytest.approx(40.96e-6, rel=1e-12)
    with Store.open_dir(tmp_path / "b") as st:
        assert st.count() == 12
        assert st.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_constraints_and_pareto_front(tmp_path):
    spec = load_sweep(write_toy_sweep(tmp_path, GRID.replace("FAIL", "0")))
    res = run_sweep(spec, "serial", out_dir=tmp_path / "o", timed_points=0)
    rows = _rows(res.points_csv)
    # latency = 327680 / lanes / clock ns; feasible iff < 50 us:
    # at 1 GHz lanes >= 8 (40.96 us), at 2 GHz lanes >= 4 (40.96 us)
    feas = {(int(r["components.t.lanes"]), float(r["components.t.clock_ghz"]))
            for r in rows if r["feasible"] == "True"}
    assert feas == {(8, 1.0), (16, 1.0), (32, 1.0), (4, 2.0), (8, 2.0), (16, 2.0), (32, 2.0)}
    infeasible = next(r for r in rows if r["components.t.lanes"] == "1")
    assert infeasible["violations"] == "totals.latency_s < 5e-5"
    # objectives (latency, lanes), both minimised: for equal lanes 2 GHz dominates 1 GHz,
    # and among 2 GHz points every lane count is a trade-off
    front = {(int(r["components.t.lanes"]), float(r["components.t.clock_ghz"])) for r in _rows(res.pareto_csv)}
    assert front == {(4, 2.0), (8, 2.0), (16, 2.0), (32, 2.0)}


def test_resume_redoes_only_missing_and_guards_the_folder(tmp_path):
    spec = load_sweep(write_toy_sweep(tmp_path, GRID.replace("FAIL", "0")))
    out = tmp_path / "o"
    first = run_sweep(spec, "serial", out_dir=out, timed_points=0)
    reference = first.points_csv.read_text()
    con = sqlite3.connect(out / DB_NAME)
    con.execute("DELETE FROM points WHERE idx IN (1, 5, 9)")
    con.commit()
    con.close()
    with pytest.raises(ConfigError, match="--resume"):
        run_sweep(spec, "serial", out_dir=out)
    again = run_sweep(spec, "local", out_dir=out, jobs=2, resume=True, timed_points=1)
    assert again.n_run == 3 and again.n_missing == 0
    assert again.points_csv.read_text() == reference
    other = load_sweep(write_toy_sweep(tmp_path / "x", '[space]\n"components.t.lanes" = [3]\n'))
    with pytest.raises(ConfigError, match="different sweep"):
        run_sweep(other, "serial", out_dir=out, resume=True)


def test_duplicate_configs_run_once(tmp_path):
    body = '[space]\n"components.t.lanes" = [8, 8, 16]\n"components.t.clock_ghz" = [1.0]\n'
    res = run_sweep(load_sweep(write_toy_sweep(tmp_path, body)), "serial", out_dir=tmp_path / "o")
    assert (res.n_points, res.n_unique, res.n_ok) == (3, 2, 2)
    assert len(_rows(res.points_csv)) == 2


def test_cli_sweep_prints_estimate_and_resumes(tmp_path, capsys):
    from archsim.cli import main
    path = write_toy_sweep(tmp_path, GRID.replace("FAIL", "0"))
    out = tmp_path / "o"
    assert main(["sweep", str(path), "--jobs", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "12 points" in text and "estimated wall time" in text and "12 ok, 0 failed" in text
    assert main(["sweep", str(path), "--out", str(out)]) == 2          # exists: needs --resume
    assert "--resume" in capsys.readouterr().err
    assert main(["sweep", str(path), "--out", str(out), "--resume"]) == 0
    assert "12 stored, 0 to run" in capsys.readouterr().out
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "0"]) == 2


def test_plot_sweep_writes_the_three_plots(tmp_path):
    from archsim.sweep.report import plot_sweep, summarize
    spec = load_sweep(write_toy_sweep(tmp_path, GRID.replace("FAIL", "4")))
    out = tmp_path / "o"
    run_sweep(spec, "serial", out_dir=out, timed_points=0)
    paths = plot_sweep(out)
    assert [p.name for p in paths] == ["sweep_pareto.png", "sweep_sensitivity.png", "sweep_best.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
    s = summarize(out)
    assert (s["points"], s["ok"], s["failed"]) == (12, 10, 2)
    # feasible: as in test_constraints_and_pareto_front but lanes=4 failed -> 6; the front's best
    # latency is lanes=32 at 2 GHz
    assert (s["feasible"], s["pareto"]) == (6, 3)
    assert (s["best"]["components.t.lanes"], s["best"]["components.t.clock_ghz"]) == (32, 2.0)


def test_plot_sweep_refuses_other_folders(tmp_path):
    from archsim.sweep.report import plot_sweep
    with pytest.raises(ConfigError, match="not a sweep folder"):
        plot_sweep(tmp_path)


def test_resume_refuses_a_changed_model(tmp_path, monkeypatch):
    from archsim.sweep import store
    spec = load_sweep(write_toy_sweep(tmp_path, '[space]\n"components.t.lanes" = [1, 2]\n'))
    run_sweep(spec, "serial", out_dir=tmp_path / "o", timed_points=0)
    monkeypatch.setattr(store, "model_fingerprint", lambda: "another model")
    with pytest.raises(ConfigError, match="different archsim model"):
        run_sweep(spec, "serial", out_dir=tmp_path / "o", resume=True)


def test_arch_budget_makes_points_infeasible_unless_disabled(tmp_path):
    """The Report's budget check (energy layer, arch [budget]) feeds feasibility: a swept
    budget.area_mm2 far below / above any toy area fails / passes every point."""
    body = '[space]\n"components.t.lanes" = [1, 64]\n"budget.area_mm2" = [1e-12, 1e12]\n'
    res = run_sweep(load_sweep(write_toy_sweep(tmp_path, body)), "serial", out_dir=tmp_path / "o")
    rows = _rows(res.points_csv)
    if "budget.ok" not in rows[0]:
        pytest.skip("no energy model installed: the Report has no budget check")
    for r in rows:
        tiny = float(r["budget.area_mm2"]) < 1
        assert r["budget.ok"] == str(not tiny)
        assert r["feasible"] == str(not tiny)
        assert r["violations"] == ("arch budget" if tiny else "")
    off = run_sweep(load_sweep(write_toy_sweep(tmp_path / "off", body + "[constraints]\nbudget = false\n")),
                    "serial", out_dir=tmp_path / "o2")
    assert all(r["feasible"] == "True" for r in _rows(off.points_csv))
