"""The HTML reports as a person sees them: each kind of page opened in headless Chromium
(Debian's `chromium` + `chromium-driver`, driven by Selenium; .ci/run installs them) and checked
for console errors, table rows, rendered chart marks, sorting, filtering, the Gantt chart with its
critical path, and the Pareto hover tooltip and click. Screenshots go to results/screenshots/.

Without a browser the test is skipped locally and fails under CI=true.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from html_fixtures import REPO, add_timeline, cli, make_reproduce, make_run, make_sweep, strip_timeline

SHOTS = REPO / "results" / "screenshots"


def _browser_paths():
    browser = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(n)), None)
    return browser, shutil.which("chromedriver")


@pytest.fixture(scope="module")
def driver():
    browser, chromedriver = _browser_paths()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:            # pragma: no cover
        webdriver = None
    if webdriver is None or not browser or not chromedriver:
        msg = ("headless Chromium test needs selenium, chromium and chromedriver "
               "(apt-get install chromium chromium-driver; .ci/run does)")
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1000", "--force-device-scale-factor=1"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(chromedriver), options=opts)
    d.set_page_load_timeout(30)
    yield d
    d.quit()


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("html")
    run = make_run(base / "run")
    return {"run": run, "timeline": add_timeline(run, base / "timeline"),
            "serial": strip_timeline(run, base / "serial"),
            "sweep": make_sweep(base / "sweep"), "reproduce": make_reproduce(base / "reproduce"),
            "base": base}


# ----------------------------------------------------------------------------- helpers

def _open(d, page: Path):
    d.get(page.resolve().as_uri())
    for _ in range(100):
        state = d.execute_script("return document.body.getAttribute('data-rendered')")
        if state:
            break
        time.sleep(0.05)
    assert state == "1", f"page did not render: {state}"


def _console_errors(d):
    return [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]


def _rows(d, table):
    return d.find_elements("css selector", f'table[data-table="{table}"] tbody tr')


def _marks(d, chart, extra=""):
    return d.find_elements("css selector", f'svg[data-chart="{chart}"] .mark{extra}')


def _col(d, table, name):
    ths = d.find_elements("css selector", f'table[data-table="{table}"] thead th')
    j = [th.get_attribute("data-col") for th in ths].index(name)
    return [tr.find_elements("tag name", "td")[j].text for tr in _rows(d, table)], ths[j]


def _num(text):
    return float(text.replace(",", "")) if text else float("nan")


def _hover(d, el):
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(d).move_to_element(el).perform()
    time.sleep(0.1)
    tip = d.find_element("id", "tooltip")
    assert "show" in tip.get_attribute("class"), "tooltip not shown"
    return tip.text


def _shot(d, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    h = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(1400, min(h + 40, 16000))
    d.save_screenshot(str(SHOTS / f"{name}.png"))
    d.set_window_size(1400, 1000)


# ----------------------------------------------------------------------------- tests

def test_run_report(driver, folders):
    d, run = driver, folders["run"]
    rep = json.loads((run / "report.json").read_text())
    ops = rep["ops"]
    _open(d, run / "report.html")
    _shot(d, "run_report")
    assert not _console_errors(d), _console_errors(d)
    # summary: every total shown, with the baseline and the budget check
    metrics = {m.get_attribute("data-metric"): m.text for m in d.find_elements("css selector", ".metric")}
    for k in ("latency_s", "energy_j", "avg_power_w", "peak_power_w", "area_mm2"):
        assert k in metrics, metrics.keys()
    assert "baseline" in metrics["latency_s"] and "speedup" in metrics["latency_s"]
    assert "budget" in metrics["area_mm2"] and ("within" in metrics["area_mm2"] or "over" in metrics["area_mm2"])
    # the per-op table: one row per op, in trace order
    assert len(_rows(d, "ops")) == len(ops)
    names, _ = _col(d, "ops", "name")
    assert names == [o["name"] for o in ops]
    # sorting by latency: ascending after one click, descending after two
    lat, th = _col(d, "ops", "latency_s")
    th.click()
    asc, th = _col(d, "ops", "latency_s")
    asc = [_num(x) for x in asc]
    assert asc == sorted(asc) and asc != [_num(x) for x in lat]
    th.click()
    desc = [_num(x) for x in _col(d, "ops", "latency_s")[0]]
    assert desc == sorted(desc, reverse=True)
    name_sorted = _col(d, "ops", "name")[0]
    assert name_sorted[0] == max(ops, key=lambda o: o["latency_s"])["name"]
    # filtering
    box = d.find_elements("css selector", "#ops input[type=search]")[0]
    box.send_keys("downsample")
    assert len(_rows(d, "ops")) == sum("downsample" in o["name"] for o in ops)
    box.clear()
    box.send_keys(" ")                       # an input event with an empty query: every row back
    assert len(_rows(d, "ops")) == len(ops)
    # charts: marks drawn from the data
    n_energy = sum(1 for o in ops for v in (o.get("energy_breakdown_j") or {}).values() if v > 0)
    assert len(_marks(d, "energy")) >= n_energy > 0
    assert len(_marks(d, "area")) == sum(1 for c in rep["components"] for v in c["breakdown"]["area_mm2"].values() if v > 0)
    assert len(_marks(d, "gantt")) == len(ops)
    assert len(_marks(d, "roofline", "")) == sum(1 for o in ops if o["flops"] and o["dram_bytes"])
    assert _marks(d, "power")
    sched = d.find_element("id", "schedule").text
    if "timeline" in rep:             # the engine's schedule, its critical path outlined
        assert "engine's timeline" in sched and "Critical path:" in sched
        assert len(_marks(d, "gantt", ".critical")) == sum(bool(o.get("critical")) for o in ops)
    else:
        assert "Serial schedule" in sched
    # provenance and the rerun command
    assert len(_rows(d, "sources")) == min(40, len(rep["provenance"]["sources"])
                                           + len((rep.get("baseline") or {}).get("provenance", {}).get("sources", {})))
    assert "archsim run" in d.find_element("id", "manifest").text
    # a roofline point's tooltip names its op; clicking it highlights the op's row
    pt = _marks(d, "roofline")[0]
    i = int(pt.get_attribute("data-i"))
    assert ops[i]["name"] in _hover(d, pt)
    pt.click()
    hl = d.find_elements("css selector", 'table[data-table="ops"] tbody tr.hl')
    assert len(hl) == 1 and hl[0].get_attribute("data-row") == str(i)
    assert not _console_errors(d)


def test_run_report_with_timeline(driver, folders):
    d, run = driver, folders["timeline"]
    r = cli("report", run, "--html")
    assert r.returncode == 0, r.stderr
    rep = json.loads((run / "report.json").read_text())
    _open(d, run / "report.html")
    assert not _console_errors(d)
    sched = d.find_element("id", "schedule")
    _shot(d, "run_report_timeline")
    assert "critical path" in sched.text.lower() and "Serial" not in sched.text
    bars = _marks(d, "gantt")
    assert len(bars) == len(rep["ops"])
    crit = _marks(d, "gantt", ".critical")
    assert len(crit) == sum(o["critical"] for o in rep["ops"]) > 0
    assert len(_rows(d, "resources")) == 2
    # two lanes: bars of the second resource sit lower than those of the first
    ys = {float(b.get_attribute("y")) for b in bars}
    assert len(ys) == 2
    text = _hover(d, crit[0])
    assert "critical path" in text and rep["ops"][int(crit[0].get_attribute("data-i"))]["name"] in text


def test_run_report_without_timeline_draws_a_labelled_serial_schedule(driver, folders):
    d, run = driver, folders["serial"]
    r = cli("report", run, "--html")
    assert r.returncode == 0, r.stderr
    ops = json.loads((run / "report.json").read_text())["ops"]
    _open(d, run / "report.html")
    assert not _console_errors(d)
    assert "Serial schedule" in d.find_element("id", "schedule").text
    bars = _marks(d, "gantt")
    assert len(bars) == len(ops) and not _marks(d, "gantt", ".critical")
    xs = [float(b.get_attribute("x")) for b in bars]
    assert xs == sorted(xs)                   # back to back, in trace order


def test_sweep_report(driver, folders):
    d, sw = driver, folders["sweep"]
    pts = list(__import__("csv").DictReader((sw / "points.csv").open()))
    _open(d, sw / "report.html")
    _shot(d, "sweep_report")
    assert not _console_errors(d), _console_errors(d)
    assert len(_rows(d, "points")) == min(50, len(pts))
    failed = [p for p in pts if p["status"] != "ok"]
    assert failed and len(_rows(d, "failed")) == len(failed)
    assert "double buffering" in d.find_element("id", "failed").text
    ok = [p for p in pts if p["status"] == "ok"]
    front = [p for p in pts if p["pareto"] == "True"]
    assert len(_marks(d, "pareto")) == len(ok)
    front_marks = _marks(d, "pareto", ".front")
    assert len(front_marks) == len(front) >= 2
    assert d.find_elements("css selector", 'svg[data-chart="pareto"] path.line')   # the front's step line
    assert len(d.find_elements("css selector", 'svg[data-chart="sensitivity"]')) == 4   # rows, cols, dataflow, ifmap_sram_kib
    assert len(_rows(d, "best")) == 2
    # hover: the tooltip names the design point and its parameters
    m = front_marks[-1]
    row = int(m.get_attribute("data-i"))
    p = pts[row]
    text = _hover(d, m)
    assert f"point {p['idx']}" in text and "on the Pareto front" in text
    assert f"rows = {p['components.sa.rows']}" in text and f"dataflow = {p['components.sa.dataflow']}" in text
    # click: its row opens in the table, highlighted
    m.click()
    hl = d.find_elements("css selector", 'table[data-table="points"] tbody tr.hl')
    assert len(hl) == 1 and hl[0].get_attribute("data-row") == str(row)
    assert hl[0].find_elements("tag name", "td")[0].text == p["idx"]
    # sorting the points by latency puts the fastest first
    lat, th = _col(d, "points", "totals.latency_s")
    th.click()
    first = _col(d, "points", "totals.latency_s")[0][0]
    assert _num(first) == pytest.approx(min(float(p["totals.latency_s"]) for p in ok), rel=1e-3)
    assert not _console_errors(d)


def test_reproduce_report(driver, folders):
    d, rp = driver, folders["reproduce"]
    rows = json.loads((rp / "reproduce.json").read_text())["rows"]
    _open(d, rp / "report.html")
    _shot(d, "reproduce_report")
    assert not _console_errors(d)
    assert len(_rows(d, "quantities")) == len(rows)
    assert len(d.find_elements("css selector", "td.agree-good")) == 1      # 12.6 vs 12.0
    assert len(d.find_elements("css selector", "td.agree-fair")) == 1      # 25.0 vs 20.1
    assert len(d.find_elements("css selector", "td.agree-poor")) == 1      # 80 vs 33
    assert len(_marks(d, "paper_vs_archsim")) == 3
    img = d.find_element("css selector", "img.plot")
    assert d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 0
    assert "</script>" in d.find_element("id", "notes").text


def test_compare_report(driver, folders):
    d = driver
    out = folders["base"] / "compare.html"
    r = cli("compare", folders["run"], folders["timeline"], "--html", out)
    assert r.returncode == 0, r.stderr
    _open(d, out)
    _shot(d, "compare_report")
    assert not _console_errors(d)
    assert len(_rows(d, "runs")) == 2
    assert len(_rows(d, "compare_ops")) == len(json.loads((folders["run"] / "report.json").read_text())["ops"])
    assert _rows(d, "totals") and _marks(d, "totals_ratio")
