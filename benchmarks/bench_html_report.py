"""What the HTML report costs for a large sweep: a 10^4-point random systolic sweep on a tiny
GEMM workload (tests/data/html/tiny.toml) is stored once, then `archsim report DIR --html` is
timed (wall time of the command, and of write_sweep_html alone in this process) and the page's size
printed; with --browser, the time headless Chromium takes to open and draw it.

    python benchmarks/bench_html_report.py                 # 10,000 points, 2 workers
    python benchmarks/bench_html_report.py --points 2000 --browser
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "data" / "html" / "tiny.toml"

SWEEP = """\
[sweep]
name = "html-bench-{n}"
arch = "{arch}"
workload = "{workload}"

[space.random]
samples = {n}
seed = 15
"components.sa.rows" = {{ randint = [8, 256] }}
"components.sa.cols" = {{ randint = [8, 256] }}
"components.sa.clock_ghz" = {{ uniform = [0.5, 2.0] }}
"components.sa.ifmap_sram_kib" = {{ choice = [64, 128, 256, 512, 1024] }}
"components.sa.dataflow" = {{ choice = ["os", "ws", "is"] }}

[constraints]
area_mm2 = 12.0
power_w = 6.0

[objectives]
"totals.latency_s" = "min"
"totals.energy_j" = "min"
"totals.area_mm2" = "min"
"""


def browser_open_s(page: Path) -> float | None:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(driver), options=opts)
    try:
        d.get("about:blank")
        t0 = time.perf_counter()
        d.get(page.resolve().as_uri())
        while not d.execute_script("return document.body.getAttribute('data-rendered')"):
            time.sleep(0.02)
        return time.perf_counter() - t0
    finally:
        d.quit()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, help="sweep folder (default: a temporary one)")
    ap.add_argument("--browser", action="store_true", help="also time opening the page in headless Chromium")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-html-"))
    out = args.out or tmp / "sweep"
    spec = tmp / "sweep.toml"
    spec.write_text(SWEEP.format(n=args.points, arch=REPO / "arch_configs/systolic/tpu-128x128.toml",
                                 workload=TINY))
    exe = [sys.executable, "-m", "archsim"]
    if not (out / "sweep.sqlite").is_file():
        t0 = time.perf_counter()
        r = subprocess.run([*exe, "sweep", str(spec), "--jobs", str(args.jobs), "--out", str(out)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:])
            return 1
        print(f"stored {args.points} points in {time.perf_counter() - t0:.1f} s ({out})")
    t0 = time.perf_counter()
    r = subprocess.run([*exe, "report", str(out), "--html"], capture_output=True, text=True)
    cmd_s = time.perf_counter() - t0
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        return 1
    from archsim.sweep.html import write_sweep_html
    t0 = time.perf_counter()
    page = write_sweep_html(out)
    lib_s = time.perf_counter() - t0
    mb = page.stat().st_size / 1e6
    print(f"archsim report --html: {cmd_s:.2f} s wall (command, incl. ~interpreter start), "
          f"write_sweep_html {lib_s:.2f} s in-process; report.html {mb:.2f} MB ({page.stat().st_size / 2**20:.2f} MiB)")
    if args.browser:
        s = browser_open_s(page)
        print("headless Chromium: " + ("no chromium/chromedriver" if s is None else f"opened and drawn in {s:.2f} s"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
