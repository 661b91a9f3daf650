"""The HTML report and `archsim compare` without a browser: the page is self-contained (no
network reference), its embedded data is what the folder holds, the Gantt chart follows the
engine's timeline when report.json (or timeline.csv) has one and falls back to a labelled serial
schedule otherwise, and bad input is one clear message with exit 2."""
from __future__ import annotations

import json
import re

import pytest

from html_fixtures import REPO, add_timeline, cli, make_reproduce, make_run, make_sweep, strip_timeline

from archsim.errors import ConfigError
from archsim.report.compare import compare_data
from archsim.report.html import embed_json, folder_kind, run_data, write_html
from archsim.sweep.html import sweep_data, write_sweep_html


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("run") / "run")


def _data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="archsim-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def _assert_self_contained(page: str):
    assert "<script src" not in page and "<link" not in page
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page)
    assert "url(http" not in page and "@import" not in page
    # the only absolute URL is the SVG namespace string the script needs
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= {"http://www.w3.org/2000/svg"}


def test_run_page_is_self_contained_and_carries_the_report(run_dir):
    page = (run_dir / "report.html").read_text()
    _assert_self_contained(page)
    rep = json.loads((run_dir / "report.json").read_text())
    data = _data(page)
    assert data["kind"] == "run" and data["arch"] == rep["arch"]
    assert [r[1] for r in data["ops"]["rows"]] == [o["name"] for o in rep["ops"]]
    i = data["ops"]["columns"].index("latency_s")
    assert [r[i] for r in data["ops"]["rows"]] == pytest.approx([o["latency_s"] for o in rep["ops"]], rel=1e-5)
    j = data["ops"]["columns"].index("dram_bytes")
    assert [r[j] for r in data["ops"]["rows"]] == [int(o["dram_bytes"]) for o in rep["ops"]]   # counts exact
    keys = {m["key"] for m in data["summary"]}
    assert {"latency_s", "energy_j", "avg_power_w", "area_mm2"} <= keys
    area = next(m for m in data["summary"] if m["key"] == "area_mm2")
    assert area["limit"] == 20.0 and area["within"] == (rep["totals"]["area_mm2"] <= 20.0)
    assert data["baseline"]["arch"] == "h200"
    assert data["manifest"]["rerun"].startswith("archsim run")
    # no GPU TDP from the baseline's input file as this accelerator's power limit
    assert data["power"]["limit_w"] == 4.0 and data["power"]["limit_label"] == "budget power_w"


def test_engine_timeline_is_drawn_as_written(run_dir):
    rep = json.loads((run_dir / "report.json").read_text())
    if "timeline" not in rep:
        pytest.skip("this engine writes no timeline")
    g = run_data(run_dir)["gantt"]
    assert g["source"] == "timeline"
    assert [ln["name"] for ln in g["lanes"]] == [r["name"] for r in rep["timeline"]["resources"]]
    assert [(b["start_s"], b["end_s"]) for b in g["bars"]] == [(o["start_s"], o["end_s"]) for o in rep["ops"]]
    assert g["critical_path"] == rep["timeline"]["critical_path"]


def test_serial_fallback_is_labelled(run_dir, tmp_path):
    run_dir = strip_timeline(run_dir, tmp_path / "serial")
    g = run_data(run_dir)["gantt"]
    assert g["source"] == "serial" and "Serial schedule" in g["note"]
    starts = [b["start_s"] for b in g["bars"]]
    assert starts == sorted(starts) and starts[0] == 0.0
    assert g["makespan_s"] == pytest.approx(json.loads((run_dir / "report.json").read_text())["totals"]["latency_s"])


@pytest.mark.parametrize("csv_only", [False, True])
def test_gantt_follows_the_engine_timeline(run_dir, tmp_path, csv_only):
    d = add_timeline(run_dir, tmp_path / "tl", csv_only=csv_only)
    g = run_data(d)["gantt"]
    assert g["source"] == "timeline"
    assert [ln["name"] for ln in g["lanes"]] == ["sa.compute", "sa.dram"]
    n = len(json.loads((d / "report.json").read_text())["ops"])
    assert len(g["bars"]) == n and sum(b["critical"] for b in g["bars"]) == len(range(0, n, 3))
    assert all(0 < ln["utilization"] <= 1 for ln in g["lanes"])
    ops = run_data(d)["ops"]
    assert "start_s" in ops["columns"] and "resource" in ops["columns"]


def test_script_end_tags_in_data_cannot_break_the_page():
    text = embed_json({"name": "</script><script>alert(1)</script>", "x": float("nan"), "y": 1.23456789})
    assert "</" not in text
    back = json.loads(text)
    assert back == {"name": "</script><script>alert(1)</script>", "x": None, "y": 1.23457}


def test_sweep_page(tmp_path):
    d = make_sweep(tmp_path / "sweep")
    page = (d / "report.html").read_text()
    _assert_self_contained(page)
    data = sweep_data(d)
    assert data["counts"]["points"] == 36 and data["counts"]["failed"] == 12
    assert data["pareto_axes"] == ["totals.latency_s", "totals.area_mm2"]
    assert len(data["failed"]) == 12 and all("double buffering" in f[3] for f in data["failed"])
    assert {b[1] for b in data["best"]} == {"totals.latency_s", "totals.area_mm2"}
    assert set(data["sensitivity"]) == {"components.sa.rows", "components.sa.cols", "components.sa.dataflow",
                                        "components.sa.ifmap_sram_kib"}
    assert folder_kind(d) == "sweep"


def test_reproduce_page(tmp_path):
    d = make_reproduce(tmp_path / "rep")
    page = (d / "report.html").read_text()
    _assert_self_contained(page)
    data = _data(page)
    assert data["kind"] == "reproduce" and data["counts"] == {"paired": 3, "good": 1, "fair": 1, "poor": 1}
    assert data["plots"][0]["src"].startswith("data:image/png;base64,")
    assert data["rows"][-1][0] == "area_overhead_pct"          # rows without a paper value last


def test_compare(run_dir, tmp_path):
    other = tmp_path / "b"
    r = cli("run", REPO / "arch_configs/systolic/tpu-128x128.toml", REPO / "workloads/cnn/resnet18.csv",
            "--set", "components.sa.rows=64", "--out", other, "--quiet")
    assert r.returncode == 0, r.stderr
    data = compare_data([run_dir, other])
    diff = {row[0]: row[1:] for row in data["diff"]["rows"]}
    assert diff["arch.components.sa.rows"] == [128, 64]
    assert diff["arch.budget.area_mm2"] == [20.0, "\u2014"]
    assert diff["baseline.arch"] == ["h200", None]
    assert "arch.components.sa.cols" not in diff
    tot = {row[0]: row for row in data["totals"]["rows"]}
    a, b = json.loads((run_dir / "report.json").read_text()), json.loads((other / "report.json").read_text())
    assert tot["latency_s"][3] == pytest.approx(b["totals"]["latency_s"] / a["totals"]["latency_s"])
    assert len(data["ops"]["rows"]) == len(a["ops"])
    out = tmp_path / "cmp.html"
    r = cli("compare", run_dir, other, "--html", out)
    assert r.returncode == 0, r.stderr
    assert "B / A" in r.stdout and "components.sa.rows" in r.stdout
    _assert_self_contained(out.read_text())


@pytest.mark.parametrize("args, needle", [
    (("report", "no/such/folder", "--html"), "not a folder"),
    (("compare", "tests"), "two or more"),
    (("compare", "tests", "docs"), "not a run folder"),
    (("run", "arch_configs/systolic/tpu-128x128.toml", "workloads/cnn/resnet18.csv", "--html"), "--out"),
])
def test_bad_input_is_one_message_and_exit_2(args, needle):
    r = cli(*args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert needle in r.stderr and "Traceback" not in r.stderr


def test_folder_without_results_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no report.json, sweep.sqlite or reproduce.json"):
        write_html(tmp_path)
    (tmp_path / "report.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        write_html(tmp_path)


def test_ten_thousand_point_sweep_page_stays_small(tmp_path):
    """A 10^4-point store (synthetic totals, no simulation): every point is in the page and the
    page stays a few MB (benchmarks/bench_html_report.py measures a real one)."""
    import random

    from archsim.sweep.store import Store
    rng = random.Random(0)
    keys = ["components.sa.rows", "components.sa.cols", "components.sa.dataflow", "components.sa.clock_ghz"]
    rows = []
    for i in range(10_000):
        r, c, f = rng.randint(8, 256), rng.randint(8, 256), rng.uniform(0.5, 2.0)
        ok = i % 97 != 5
        lat = 1e-3 / (r * c * f) ** 0.5
        rows.append({"key": f"{i:064x}", "idx": i, "workload": "tiny", "status": "ok" if ok else "error",
                     "params": dict(zip(keys, (r, c, rng.choice(["os", "ws", "is"]), f))),
                     "error": None if ok else "ModelError: synthetic failure",
                     "totals": {"latency_s": lat, "energy_j": lat * (1 + r * c / 2e4), "area_mm2": r * c / 4e3,
                                "avg_power_w": 1 + r * c / 2e4, "peak_power_w": 2 + r * c / 2e4} if ok else None})
    with Store.open_dir(tmp_path) as st:
        st.set_meta({"name": "synthetic-1e4", "digest": "x", "objectives": [["totals.latency_s", "min"],
                     ["totals.area_mm2", "min"]], "constraints": ["totals.area_mm2 <= 10"], "budget": True,
                     "param_keys": keys})
        st.add(rows)
    page = write_sweep_html(tmp_path)
    data = _data(page.read_text())
    assert len(data["rows"]) == 10_000 and data["counts"]["failed"] == len(range(5, 10_000, 97))
    assert page.stat().st_size < 3e6, page.stat().st_size
