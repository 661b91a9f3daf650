"""Issue 16, malformed files archsim itself writes: report.json, points.csv, sweep.sqlite and
the calibration (measurements) JSON are validated like configs; a damaged store says how to
rebuild it, and nothing exits 0 with nothing done."""
from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from hardening_util import OS32, REPO, RESNET18, cli, ops_toml


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("run") / "run"
    assert cli("run", OS32, RESNET18, "--quiet", "--out", d).rc == 0
    return d


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("sweep")
    ops_toml(base / "w.toml", dict(op="gemm", m=64, k=64, n=64, dtype="int8"))
    (base / "s.toml").write_text(f'[sweep]\nname = "own"\narch = "{OS32}"\nworkload = "w.toml"\n'
                                 '[space]\n"components.sa.rows" = [8, 16, 32]\n')
    assert cli("sweep", base / "s.toml", "--out", base / "out", "--jobs", "1").rc == 0
    return base


REPORT_DAMAGE = {
    "a list": lambda p: p.write_text("[1, 2]"),
    "binary": lambda p: p.write_bytes(bytes(range(256))),
    "partial": lambda p: p.write_text(p.read_text()[:200]),
    "empty object": lambda p: p.write_text("{}"),
    "zero bytes": lambda p: p.write_text(""),
    "ops not a list": lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "ops": 5})),
    "NaN total": lambda p: p.write_text(p.read_text().replace('"latency_s": ', '"latency_s": NaN, "x": ', 1)),
    "deep nesting": lambda p: p.write_text("[" * 100000 + "]" * 100000),
}


@pytest.mark.parametrize("damage", sorted(REPORT_DAMAGE))
def test_report_json_damaged(tmp_path, run_dir, damage):
    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    REPORT_DAMAGE[damage](d / "report.json")
    r = cli("report", d)
    assert r.rc == 2 and "report.json" in r.err, r
    assert "archsim run" in r.err or "UTF-8" in r.err        # what to do about it


def test_report_json_with_bom_and_hostile_names_is_fine(tmp_path, run_dir):
    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    data = json.loads((d / "report.json").read_text())
    data["ops"][0]["name"] = "$\\frac{$ [/bold] \x1b[31m"
    data["arch"] = "[red]x"
    (d / "report.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(data).encode())
    r = cli("report", d)
    assert r.rc == 0 and (d / "energy_breakdown.png").is_file()


def _damage_store(db, how):
    for extra in ("-wal", "-shm"):
        (db.parent / (db.name + extra)).unlink(missing_ok=True)
    if how == "garbage":
        db.write_bytes(b"\x00garbage" * 600)
    elif how == "zero bytes":
        db.write_bytes(b"")
    elif how == "truncated":
        db.write_bytes(db.read_bytes()[:1500])
    elif how == "overwritten header":
        b = bytearray(db.read_bytes())
        b[:16] = b"not sqlite at al"
        db.write_bytes(bytes(b))
    elif how == "foreign database":
        db.unlink()
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
    elif how == "bad meta":
        con = sqlite3.connect(db)
        con.execute("UPDATE meta SET value = '[1' WHERE key = 'objectives'")
        con.commit()
        con.close()


STORE_DAMAGE = ["garbage", "zero bytes", "truncated", "overwritten header", "foreign database", "bad meta"]


@pytest.mark.parametrize("how", STORE_DAMAGE)
def test_report_on_damaged_store(tmp_path, sweep_dir, how):
    out = tmp_path / "out"
    shutil.copytree(sweep_dir / "out", out)
    db = out / "sweep.sqlite"
    _damage_store(db, how)
    size = db.stat().st_size
    r = cli("report", out)
    assert r.rc == 2 and "sweep.sqlite" in r.err, r
    assert db.stat().st_size == size           # a 0-byte file is not turned into a database


@pytest.mark.parametrize("how", STORE_DAMAGE)
def test_resume_on_damaged_store_says_how_to_rebuild(tmp_path, sweep_dir, how):
    """A truncated or overwritten store gave sqlite3.DatabaseError; truncated to 0 bytes,
    --resume silently recomputed everything."""
    base = tmp_path / "b"
    shutil.copytree(sweep_dir, base)
    db = base / "out" / "sweep.sqlite"
    _damage_store(db, how)
    r = cli("sweep", base / "s.toml", "--out", base / "out", "--resume", "--jobs", "1")
    assert r.rc == 2 and "sweep.sqlite" in r.err, r
    if how != "bad meta":
        assert "rebuild" in r.err and "mv " in r.err and "--resume" in r.err, r
    # following the advice works: move it aside and resume
    if how != "bad meta":
        db.rename(db.with_name("sweep.sqlite.damaged"))
        for extra in ("-wal", "-shm"):
            (db.parent / (db.name + extra)).unlink(missing_ok=True)
        r = cli("sweep", base / "s.toml", "--out", base / "out", "--resume", "--jobs", "1")
        assert r.rc == 0, r


def test_points_csv_without_store(tmp_path, sweep_dir):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(sweep_dir / "out" / "points.csv", out / "points.csv")
    r = cli("report", out)
    assert r.rc == 2 and "sweep.sqlite" in r.err


def test_store_with_no_points(tmp_path, sweep_dir):
    out = tmp_path / "out"
    shutil.copytree(sweep_dir / "out", out)
    con = sqlite3.connect(out / "sweep.sqlite")
    con.execute("DELETE FROM points")
    con.commit()
    con.close()
    r = cli("report", out)
    assert r.rc == 2 and "no points" in r.err


MEAS = REPO / "benchmarks/gpu/measurements/h200-2026-11-30-run6.json"


def _meas(tmp_path, mutate):
    d = json.loads(MEAS.read_text())
    mutate(d)
    p = tmp_path / "m.json"
    p.write_text(json.dumps(d))
    return p


@pytest.mark.parametrize("what,mutate,key", [
    ("a list", lambda d: d.clear(), "results"),
    ("NaN time", lambda d: d["results"][0]["times_s"].update(median=float("nan")), "results[0].times_s.median"),
    ("zero time", lambda d: d["results"][0]["times_s"].update(median=0), "results[0].times_s.median"),
    ("op not an object", lambda d: d["results"][0].update(op=[1]), "results[0].op"),
    ("bad op", lambda d: d["results"][0].update(op={"op": "gemm", "m": -1}), "results[0].op"),
    ("result not an object", lambda d: d["results"].insert(0, 5), "results[0]"),
])
def test_calibration_json_validated_before_fit(tmp_path, what, mutate, key):
    p = _meas(tmp_path, mutate)
    r = cli("calibrate", "gpu", p, "--preset", "h200", "--out", tmp_path / "o.part")
    assert r.rc == 2 and key in r.err and r.seconds < 10, r
    assert not (tmp_path / "o.part").exists()


def test_calibration_json_garbage(tmp_path):
    for content in (b"", b"\xff\xfe\x00", b"{", b"[]"):
        p = tmp_path / "m.json"
        p.write_bytes(content)
        r = cli("calibrate", "gpu", p, "--preset", "h200", "--out", tmp_path / "o.part")
        assert r.rc == 2 and "m.json" in r.err, (content, r)


def test_points_csv_reader(tmp_path, sweep_dir):
    from archsim.errors import ConfigError
    from archsim.report.check import read_points_csv
    good = (sweep_dir / "out" / "points.csv").read_text()
    rows = read_points_csv(sweep_dir / "out" / "points.csv")
    assert [r["idx"] for r in rows] == [0, 1, 2] and all(r["status"] == "ok" for r in rows)
    p = tmp_path / "points.csv"
    for bad, key in ((good[: len(good) // 2], "line"), ("a,b\n1,2\n", "header"), ("", "<file>"),
                     (good.replace(",ok,", ",maybe,", 1), "status"),
                     (good.replace(",True,", ",yes,", 1), "feasible"),
                     (b"\xff\xfe".decode("latin-1"), "<syntax>")):
        p.write_text(bad, encoding="latin-1" if key == "<syntax>" else "utf-8")
        with pytest.raises(ConfigError, match=key):
            read_points_csv(p)


@pytest.mark.parametrize("damage", ["a list", "binary", "empty object", "NaN total"])
def test_compare_and_html_report_check_report_json(tmp_path, run_dir, damage):
    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    REPORT_DAMAGE[damage](d / "report.json")
    r = cli("compare", run_dir, d)
    assert r.rc == 2 and "report.json" in r.err, r
    r = cli("report", d, "--html")
    assert r.rc == 2 and "report.json" in r.err, r


@pytest.mark.parametrize("text,key", [("[1, 2]", "rows[0]"), ("{", "<syntax>"), ("", "<file>"),
                                      ('{"rows": [{"quantity": "q", "value": "x"}]}', "rows[0].value"),
                                      ('{"rows": [], "notes": 3}', "notes"),
                                      ('{"rows": [{"params": 5}]}', "rows[0].params")])
def test_reproduce_json_damaged(tmp_path, text, key):
    d = tmp_path / "repro"
    d.mkdir()
    (d / "reproduce.json").write_text(text)
    r = cli("report", d, "--html")
    assert r.rc == 2 and "reproduce.json" in r.err and key in r.err, r


def test_html_report_on_damaged_store(tmp_path, sweep_dir):
    out = tmp_path / "out"
    shutil.copytree(sweep_dir / "out", out)
    _damage_store(out / "sweep.sqlite", "garbage")
    r = cli("report", out, "--html")
    assert r.rc == 2 and "rebuild" in r.err
