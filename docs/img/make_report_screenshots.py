"""Regenerate the README's report screenshots (docs/img/run-report.png, sweep-report.png):
a V-Rex8 frame at 40K tokens (with the Jetson AGX Orin baseline of the paper and a budget) and
the shipped 48-point sweeps/systolic-resnet50.toml, opened in headless Chromium, a few sections
of each stitched into one image.

    python docs/img/make_report_screenshots.py
"""
from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from html_fixtures import cli  # noqa: E402

SECTIONS = {"run-report.png": ("run", ("summary", "schedule", "power")),
            "sweep-report.png": ("sweep", ("summary", "pareto", "best"))}


def main() -> int:
    import numpy as np
    from matplotlib.image import imread, imsave
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    tmp = Path(tempfile.mkdtemp(prefix="shots-"))
    r = cli("sweep", REPO / "sweeps" / "systolic-resnet50.toml", "--jobs", "2", "--out", tmp / "sweep", "--html")
    assert r.returncode == 0, r.stderr
    r = cli("run", REPO / "arch_configs/vrex/vrex8-edge.toml", REPO / "workloads/video_llm/frame-40k-vrex.toml",
            "--baseline", REPO / "arch_configs/gpu/vrex-paper/jetson-agx-orin-32gb.toml",
            "--set", "budget.power_w=10", "--set", "budget.area_mm2=80", "--out", tmp / "run", "--html", "--quiet")
    assert r.returncode == 0, r.stderr
    folders = {"run": tmp / "run", "sweep": tmp / "sweep"}
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,4000",
              "--force-device-scale-factor=1"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        for name, (kind, ids) in SECTIONS.items():
            d.get((folders[kind] / "report.html").as_uri())
            while d.execute_script("return document.body.getAttribute('data-rendered')") != "1":
                time.sleep(0.05)
            parts = [imread(io.BytesIO(d.find_element("css selector", "header.top").screenshot_as_png), format="png")]
            for i in ids:
                sec = d.find_element("id", i)
                d.execute_script("arguments[0].scrollIntoView({block: 'start'})", sec)
                if i == "pareto":                 # show the hover tooltip of a point on the front
                    from selenium.webdriver.common.action_chains import ActionChains
                    front = d.find_elements("css selector", 'svg[data-chart="pareto"] .mark.front')
                    top = min(front, key=lambda m: float(m.get_attribute("cy")))   # room for the tooltip below
                    ActionChains(d).move_to_element(top).perform()
                    time.sleep(0.2)
                parts.append(imread(io.BytesIO(sec.screenshot_as_png), format="png"))
            w = max(p.shape[1] for p in parts)
            rows = [np.pad(p[..., :3], ((0, 8), (0, w - p.shape[1]), (0, 0)), constant_values=0.96) for p in parts]
            imsave(REPO / "docs" / "img" / name, np.concatenate(rows, axis=0))
            print(f"wrote docs/img/{name}")
    finally:
        d.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
