"""A wheel that works: build it, install it into a fresh virtual environment (not editable),
and run archsim from a folder outside the checkout -- presets and workloads by name, the
README's run command, the tech tables -- all found through the package's own data
(archsim.resources), not the repository layout.

The fresh venv gets archsim from the wheel only; its dependencies (numpy, numba, ...) come from
this test environment's site-packages through a .pth entry, so the test needs no network."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


def _run(cmd, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert res.returncode == 0, f"{cmd}\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
    return res.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
          "-q", "-w", str(dist)], cwd=tmp)
    (whl,) = dist.glob("archsim-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(whl)])
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    deps = sysconfig.get_paths()["purelib"]          # this environment's numpy, numba, ...
    with open(os.path.join(purelib, "_archsim_test_deps.pth"), "w") as f:
        f.write(deps + "\n")
    away = tmp / "elsewhere"
    away.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return whl, venv, away, env


def test_the_wheel_carries_presets_workloads_and_tech_tables(installed):
    whl, *_ = installed
    names = zipfile.ZipFile(whl).namelist()
    for f in ("archsim/_data/arch_configs/systolic/tpu-128x128.toml",
              "archsim/_data/arch_configs/tech/default.toml",
              "archsim/_data/arch_configs/gpu/h200.toml",
              "archsim/_data/workloads/cnn/resnet50.csv"):
        assert f in names, f


def test_installed_archsim_runs_from_another_folder(installed):
    whl, venv, away, env = installed
    py, exe = venv / "bin" / "python", venv / "bin" / "archsim"
    where = _run([str(py), "-c", "import archsim, archsim.resources as r; "
                  "print(archsim.__file__); print(r.shipped_root())"], cwd=away, env=env)
    assert str(REPO) not in where and str(venv) in where, where
    out = _run([str(exe), "run", "tpu-128x128", "resnet50", "--quiet"], cwd=away, env=env)
    assert "1,074,333" in out
    # the README's command, verbatim, from outside the checkout
    out = _run([str(exe), "run", "arch_configs/systolic/tpu-128x128.toml", "workloads/cnn/resnet50.csv",
                "--baseline", "arch_configs/gpu/h200.toml", "--quiet"], cwd=away, env=env)
    assert "speedup" in out and "1,074,333" in out
    bad = subprocess.run([str(exe), "run", "no-such-preset", "resnet50"], cwd=away, env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "tpu-128x128" in bad.stderr
