"""Folders the HTML report tests draw: a run (with an H200 baseline and a budget), the same run
with a two-resource overlapping timeline written over the engine's, the same run without any
timeline (as a serial engine wrote it), a sweep with failing points and a reproduction (rows,
notes, a plot); built through the CLI, as a user would."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "html"


def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archsim", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or REPO)


def make_run(out: Path) -> Path:
    r = cli("run", REPO / "arch_configs/systolic/tpu-128x128.toml", REPO / "workloads/cnn/resnet18.csv",
            "--baseline", REPO / "arch_configs/gpu/h200.toml", "--set", "budget.area_mm2=20",
            "--set", "budget.power_w=4", "--out", out, "--html", "--quiet")
    assert r.returncode == 0, r.stderr
    return out


def add_timeline(src: Path, out: Path, *, csv_only: bool = False) -> Path:
    """A copy of run folder `src` whose report.json carries what the scheduling engine writes:
    ops on two resources overlapping, start_s / end_s / resource / critical per op and a
    `timeline` summary (or, with csv_only, the same in timeline.csv and nothing in the JSON)."""
    shutil.copytree(src, out)
    (out / "report.html").unlink(missing_ok=True)
    rep = json.loads((out / "report.json").read_text())
    ends = {"sa.compute": 0.0, "sa.dram": 0.0}
    prev_start = 0.0
    crit = []
    for i, o in enumerate(rep["ops"]):
        res = "sa.compute" if i % 2 == 0 else "sa.dram"
        start = max(ends[res], prev_start + 0.3 * (rep["ops"][i - 1]["latency_s"] if i else 0.0))
        o["resource"], o["start_s"], o["end_s"] = res, start, start + o["latency_s"]
        o["critical"] = i % 3 == 0
        if o["critical"]:
            crit.append(o["name"])
        ends[res] = o["end_s"]
        prev_start = start
    makespan = max(ends.values())
    busy = {r: sum(o["latency_s"] for o in rep["ops"] if o["resource"] == r) for r in ends}
    timeline = {"makespan_s": makespan, "critical_path": crit,
                "resources": [{"name": r, "component": "sa", "busy_s": b, "utilization": b / makespan}
                              for r, b in busy.items()]}
    if csv_only:
        rep.pop("timeline", None)
        lines = ["name,op,component,resource,start_s,end_s,critical"]
        for o in rep["ops"]:
            lines.append(f"{o['name']},{o['op']},{o['component']},{o.pop('resource')},{o.pop('start_s')!r},"
                         f"{o.pop('end_s')!r},{str(o.pop('critical')).lower()}")
        (out / "timeline.csv").write_text("\n".join(lines) + "\n")
    else:
        rep["timeline"] = timeline
    (out / "report.json").write_text(json.dumps(rep, indent=1))
    return out


def strip_timeline(src: Path, out: Path) -> Path:
    """A copy of run folder `src` as a serial engine wrote it: no `timeline`, no start_s / end_s /
    resource / critical per op, no timeline.csv (the report must fall back to a serial Gantt)."""
    shutil.copytree(src, out)
    (out / "report.html").unlink(missing_ok=True)
    (out / "timeline.csv").unlink(missing_ok=True)
    rep = json.loads((out / "report.json").read_text())
    rep.pop("timeline", None)
    for o in rep["ops"]:
        for k in ("resource", "start_s", "end_s", "critical"):
            o.pop(k, None)
    (out / "report.json").write_text(json.dumps(rep, indent=1))
    return out


def make_sweep(out: Path) -> Path:
    r = cli("sweep", DATA / "sweep.toml", "--jobs", "2", "--out", out, "--html", "--timed-points", "0")
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def make_reproduce(out: Path) -> Path:
    """A reproduction folder as `archsim reproduce --out` leaves it: reproduce.json and a plot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(4, 3))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([8, 16, 32, 64], [12, 20, 33, 47], marker="o")
    ax.set_title("speedup vs N")
    fig.savefig(out / "speedup.png", dpi=80)
    rows = []
    for n, paper, value in ((8, 12.0, 12.6), (16, 20.1, 25.0), (32, 33.0, 80.0), (64, 47.0, None)):
        rows.append({"study": "demo", "quantity": "speedup", "unit": "x", "value": value,
                     "paper_value": paper, "params": {"n_nfp": n, "assumptions": "default"}})
    rows.append({"study": "demo", "quantity": "area_overhead_pct", "unit": "%", "value": 4.2,
                 "paper_value": None, "params": {"n_nfp": 8, "assumptions": "paper"}})
    (out / "reproduce.json").write_text(json.dumps({
        "study": "demo", "rows": rows, "plots": ["speedup.png"],
        "notes": ["calibrated: nothing </script> here (an end tag inside a note must not break the page)"]}))
    r = cli("report", out, "--html")
    assert r.returncode == 0, r.stderr
    return out
