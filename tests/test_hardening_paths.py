"""Issue 16, path safety: names from inputs (SCALE-Sim run_name, sweep names, op and layer
names) never write outside the chosen output folder, and are shown escaped (terminal tables,
plots)."""
from __future__ import annotations

import os

import pytest

from hardening_util import OS32, REPO, cli, ops_toml

CFG = (REPO / "tests/data/scalesim/scale.cfg").read_text()
TOPO = REPO / "tests/data/scalesim/alexnet_part.csv"


def _cfg(tmp_path, run_name):
    import re
    p = tmp_path / "c.cfg"
    p.write_text(re.sub(r"(?m)^run_name\s*=.*$", f"run_name = {run_name}", CFG))
    return p


def _tree(root):
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("run_name", ["../../..", "../escape", "/etc", "a/b/../../c", "..", "x y\tz"])
def test_scalesim_run_name_cannot_leave_results(tmp_path, monkeypatch, run_name):
    """A .cfg run_name of ../../.. wrote reports outside the output folder."""
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    cfg = _cfg(tmp_path, run_name)
    monkeypatch.chdir(work)
    before = _tree(tmp_path)
    r = cli("scalesim", "-c", cfg, "-t", TOPO)
    assert r.rc == 0, r
    new = _tree(tmp_path) - before
    assert new and all(n == "a/b/c/results" or n.startswith("a/b/c/results/scalesim-") for n in new), new
    (folder,) = {n.split("/")[4] for n in new if n != "a/b/c/results"}
    assert folder not in ("scalesim-", "scalesim-..") and "/" not in folder


def test_empty_run_name_is_an_error(tmp_path):
    r = cli("scalesim", "-c", _cfg(tmp_path, ""), "-t", TOPO, "--out", tmp_path / "o")
    assert r.rc == 2 and "run_name" in r.err


def test_safe_name():
    from archsim.io_safe import safe_name
    assert safe_name("../../..") == "run"
    assert safe_name("a/b") == "a_b"
    assert safe_name("..hidden") == "hidden"
    assert safe_name("x" * 500) == "x" * 96
    assert safe_name("") == "run" and safe_name(".", default="d") == "d"
    assert safe_name("ok-name_1.2") == "ok-name_1.2"


def test_sweep_name_cannot_leave_results(tmp_path, monkeypatch):
    ops_toml(tmp_path / "w.toml", dict(op="gemm", m=16, k=16, n=16, dtype="int8"))
    (tmp_path / "s.toml").write_text(f'[sweep]\nname = "../../evil"\narch = "{OS32}"\nworkload = "w.toml"\n')
    work = tmp_path / "x" / "y"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    r = cli("sweep", tmp_path / "s.toml", "--jobs", "1")
    assert r.rc == 0, r
    assert (work / "results" / "evil" / "sweep.sqlite").is_file()
    assert not (tmp_path / "evil").exists()


HOSTILE = ["[/bold]", "$\\frac{$", "\x1b[2J\x1b[31mred", "../../etc/passwd", "<script>x</script>"]


def test_hostile_op_names_in_tables_and_plots(tmp_path):
    """Rich markup in a name was a MarkupError; mathtext in a plot label a ValueError."""
    ops = [dict(op="gemm", m=16, k=16, n=16, dtype="int8", name=n) for n in HOSTILE]
    w = ops_toml(tmp_path / "w.toml", *ops, name="$\\frac{$[/i]")
    out = tmp_path / "run"
    r = cli("run", OS32, w, "--out", out)
    assert r.rc == 0, r
    assert "\x1b" not in r.out                           # control characters not passed through
    assert "[/bold]" in r.out                            # markup shown as text
    r = cli("report", out)
    assert r.rc == 0, r
    assert sorted(os.listdir(tmp_path)) == ["run", "w.toml"]          # nothing written beside it
    names = [str(p.relative_to(out)) for p in out.rglob("*")]
    assert {"report.json", "energy_breakdown.png", "inputs"} <= set(names)
    for n in names:                                  # no file is named after an op
        assert not any(h.strip("./") and h.strip("./") in n for h in HOSTILE[:3]), n


def test_hostile_layer_names_in_scalesim_output(tmp_path):
    t = tmp_path / "t.csv"
    t.write_text("Layer, M, N, K,\n\x1b[2J[/b]../x, 16, 16, 16,\n")
    r = cli("scalesim", "-c", _cfg(tmp_path, "ok"), "-t", t, "--gemm", "--out", tmp_path / "o")
    assert r.rc == 0 and "\x1b" not in r.out, r
    assert sorted(os.listdir(tmp_path / "o")) == ["BANDWIDTH_REPORT.csv", "COMPUTE_REPORT.csv",
                                                  "DETAILED_ACCESS_REPORT.csv"]


def test_hostile_names_in_compare_and_roofline(tmp_path):
    ops = [dict(op="gemm", m=16, k=16, n=16, dtype="int8", name=n) for n in HOSTILE]
    w = ops_toml(tmp_path / "w.toml", *ops, name="[/b]$x$")
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli("run", OS32, w, "--out", a, "--quiet").rc == 0
    assert cli("run", OS32, w, "--out", b, "--quiet", "--set", "components.sa.rows=16").rc == 0
    r = cli("compare", a, b)
    assert r.rc == 0 and "\x1b" not in r.out, r
    r = cli("roofline", OS32, w, "--plot", tmp_path / "p.png")
    assert r.rc == 0 and (tmp_path / "p.png").is_file(), r
