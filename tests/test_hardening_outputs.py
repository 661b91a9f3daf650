"""Issue 16, output paths: every writer checks its destination before computing (exit 2, naming
the option) and writes atomically, so finished work is never lost to an output error."""
from __future__ import annotations

import json
import os

import pytest

from hardening_util import H200, OS32, REPO, RESNET18, cli, ops_toml

BAD_FILE_DESTS = {
    "existing folder": lambda d: str(d),
    "file as parent": lambda d: str(_plain(d) / "x.json"),
    "unwritable (/proc)": lambda d: "/proc/archsim-test/x.json",
    "device": lambda d: "/dev/null",
    "name too long": lambda d: str(d / ("n" * 300 + ".json")),
}
BAD_DIR_DESTS = {
    "existing file": lambda d: str(_plain(d)),
    "file as parent": lambda d: str(_plain(d) / "sub"),
    "unwritable (/proc)": lambda d: "/proc/archsim-test-dir",
}


def _plain(d):
    p = d / "plain.txt"
    p.write_text("x")
    return p


@pytest.mark.parametrize("dest", sorted(BAD_FILE_DESTS))
def test_run_json_destination_checked_first(tmp_path, dest):
    r = cli("run", OS32, RESNET18, "--quiet", "--json", BAD_FILE_DESTS[dest](tmp_path))
    assert r.rc == 2 and "--json" in r.err, r


@pytest.mark.parametrize("dest", sorted(BAD_DIR_DESTS))
def test_run_out_destination_checked_first(tmp_path, dest):
    r = cli("run", OS32, RESNET18, "--quiet", "--out", BAD_DIR_DESTS[dest](tmp_path))
    assert r.rc == 2 and "--out" in r.err, r


def test_empty_path_options_are_errors(tmp_path):
    for argv in (("run", OS32, RESNET18, "--json", ""), ("run", OS32, RESNET18, "--out", ""),
                 ("trace", RESNET18, "--out", ""), ("reproduce", "vrex", "--json", "")):
        r = cli(*argv)
        assert r.rc == 2 and "empty" in r.err, (argv, r)


def test_missing_parents_are_created(tmp_path):
    r = cli("run", OS32, RESNET18, "--quiet", "--json", tmp_path / "a/b/c/r.json",
            "--out", tmp_path / "x/y/run")
    assert r.rc == 0
    assert json.loads((tmp_path / "a/b/c/r.json").read_text())["totals"]["cycles"] > 0
    assert (tmp_path / "x/y/run/report.json").is_file()


@pytest.mark.parametrize("study", ["ngpc", "vrex"])
@pytest.mark.parametrize("flag,dest", [("--json", "folder"), ("--out", "file"), ("--json", "proc")])
def test_reproduce_checks_destinations_before_computing(tmp_path, monkeypatch, study, flag, dest):
    """`reproduce ngpc --json DIR` computed for 34 s, then crashed and lost the rows."""
    import importlib
    mod = importlib.import_module(f"archsim.studies.{study}")

    def must_not_run(*a, **k):
        raise AssertionError("the study ran before its destinations were checked")
    monkeypatch.setattr(mod, "run", must_not_run)
    target = {"folder": str(tmp_path), "file": str(_plain(tmp_path)), "proc": "/proc/x/rows.json"}[dest]
    r = cli("reproduce", study, flag, target)
    assert r.rc == 2 and flag in r.err


def test_calibrate_checks_destinations_before_fitting(tmp_path, monkeypatch):
    from archsim.blocks.gpu import calibrate as C

    def must_not_fit(*a, **k):
        raise AssertionError("fitted before the destinations were checked")
    monkeypatch.setattr(C, "fit", must_not_fit)
    meas = REPO / "benchmarks/gpu/measurements/h200-2026-11-30-run6.json"
    for flag, target in (("--out", str(tmp_path)), ("--json", str(tmp_path)),
                         ("--out", str(_plain(tmp_path) / "x.part"))):
        argv = ["calibrate", "gpu", meas, "--preset", "h200", "--out", tmp_path / "ok.part"]
        argv += [flag, target]
        r = cli(*argv)
        assert r.rc == 2 and flag in r.err, r


def test_calibrate_nan_fit_is_a_model_error_and_writes_nothing(tmp_path, monkeypatch):
    """`calibrate` fitted 40 s, then failed writing a NaN: now a ModelError, nothing written."""
    from archsim.blocks.gpu import calibrate as C
    real_tables = C.calibration_tables

    def nan_tables(*a, **k):          # the fit diverged: a parameter came out NaN
        t = real_tables(*a, **k)
        t["components"]["gpu"]["efficiency"]["dram_fraction"] = float("nan")
        return t
    monkeypatch.setattr(C, "calibration_tables", nan_tables)
    out = tmp_path / "o.part"
    out.write_text("previous fit\n")
    meas = REPO / "benchmarks/gpu/measurements/h200-2026-11-30-run6.json"
    r = cli("calibrate", "gpu", meas, "--preset", "h200", "--restarts", "1", "--out", out)
    assert r.rc == 1 and "nothing was written" in r.err, r
    assert out.read_text() == "previous fit\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    from archsim.errors import ConfigError
    from archsim.io_safe import atomic_write_text
    p = tmp_path / "r.json"
    atomic_write_text(p, "old")

    def boom(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ConfigError, match="No space left"):
        atomic_write_text(p, "new" * 1000, flag="--json")
    assert p.read_text() == "old"
    assert [q.name for q in tmp_path.iterdir()] == ["r.json"]      # no temporary left behind


@pytest.mark.parametrize("argv", [
    ("trace", str(REPO / "workloads/ng/nerf_densegrid_1080p.toml"), "--out", "{dir}"),
    ("scalesim", "-c", str(REPO / "tests/data/scalesim/scale.cfg"), "-t",
     str(REPO / "tests/data/scalesim/alexnet_part.csv"), "--out", "{file}"),
    ("sweep", str(REPO / "sweeps/systolic-resnet50.toml"), "--out", "{file}"),
    ("report", "{file}"),
])
def test_other_writers_check_destinations(tmp_path, argv):
    f = _plain(tmp_path)
    r = cli(*[a.replace("{dir}", str(tmp_path)).replace("{file}", str(f)) for a in argv])
    assert r.rc == 2 and r.seconds < 20, r


def test_report_plot_write_failure_is_an_error_not_a_traceback(tmp_path):
    run = tmp_path / "run"
    assert cli("run", OS32, RESNET18, "--quiet", "--out", run).rc == 0
    (run / "energy_breakdown.png").mkdir()           # a folder where a plot goes
    r = cli("report", run)
    assert r.rc == 2 and "energy_breakdown.png" in r.err


def test_baseline_run_json_roundtrip(tmp_path):
    w = ops_toml(tmp_path / "w.toml", dict(op="gemm", m=64, k=64, n=64, dtype="int8"))
    r = cli("run", OS32, w, "--baseline", H200, "--json", "-", "--quiet")
    assert r.rc == 0
    d = json.loads(r.out)
    assert d["speedup"] > 0 and d["baseline"]["totals"]["latency_s"] > 0


@pytest.mark.parametrize("argv,flag", [
    (("roofline", OS32, RESNET18, "--json", "{dir}"), "--json"),
    (("roofline", OS32, RESNET18, "--plot", "{file}/r.png"), "--plot"),
    (("roofline", OS32, RESNET18, "--json", "/proc/version"), "--json"),
    (("schema", "--kind", "arch", "--out", "{dir}"), "--out"),
    (("schema", "--reference", "--out", "/proc/version"), "--out"),
    (("compare", "{run}", "{run}", "--html", "{dir}"), "--html"),
    (("compare", "{run}", "{run}", "--html", ""), "--html"),
])
def test_new_commands_check_destinations(tmp_path, argv, flag):
    """compare, schema and roofline (added by other issues) wrote with bare write_text."""
    run = tmp_path / "run"
    if "{run}" in argv:
        assert cli("run", OS32, RESNET18, "--quiet", "--out", run).rc == 0
    f = _plain(tmp_path)
    r = cli(*[str(a).replace("{dir}", str(tmp_path)).replace("{file}", str(f)).replace("{run}", str(run))
              for a in argv])
    assert r.rc == 2 and flag in r.err, r
