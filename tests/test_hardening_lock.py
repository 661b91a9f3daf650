"""Issue 16, concurrency: one lock per output folder. A second sweep into the same --out is
refused (exit 2, naming the holding pid); the lock dies with its holder (kill -9 included), and
processes the holder forked (its pool workers) do not keep it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from hardening_util import OS32, REPO, cli, ops_toml

HOLD = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {repo!r})
    from archsim.io_safe import OutputLock
    lock = OutputLock({folder!r}, command="archsim sweep holder").acquire()
    if {fork}:
        if os.fork() == 0:          # a child (like a pool worker) that outlives the holder
            time.sleep(60)
            os._exit(0)
    print("locked", flush=True)
    time.sleep(60)
""")


def _holder(folder, fork=False):
    p = subprocess.Popen([sys.executable, "-c", HOLD.format(repo=str(REPO), folder=str(folder), fork=fork)],
                         stdout=subprocess.PIPE, start_new_session=True)
    assert p.stdout.readline().strip() == b"locked"
    return p


def _sweep(tmp_path):
    ops_toml(tmp_path / "w.toml", dict(op="gemm", m=64, k=64, n=64, dtype="int8"))
    s = tmp_path / "s.toml"
    s.write_text(f'[sweep]\nname = "lk"\narch = "{OS32}"\nworkload = "w.toml"\n'
                 '[space]\n"components.sa.rows" = [8, 16]\n')
    return s


def test_second_sweep_into_the_same_folder_is_refused(tmp_path):
    """Two sweeps into the same --out both computed everything."""
    s = _sweep(tmp_path)
    out = tmp_path / "out"
    holder = _holder(out)
    try:
        r = cli("sweep", s, "--out", out, "--jobs", "1")
        assert r.rc == 2 and f"pid {holder.pid}" in r.err and "--out" in r.err, r
        assert not (out / "sweep.sqlite").exists()        # refused before touching the store
        r = cli("sweep", s, "--out", out, "--jobs", "1", "--resume")
        assert r.rc == 2 and f"pid {holder.pid}" in r.err
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    r = cli("sweep", s, "--out", out, "--jobs", "1")      # kill -9 released it
    assert r.rc == 0, r


def test_lock_is_not_kept_by_forked_children(tmp_path):
    folder = tmp_path / "out"
    holder = _holder(folder, fork=True)
    try:
        os.kill(holder.pid, signal.SIGKILL)              # the holder only; its child lives on
        holder.wait()
        from archsim.io_safe import OutputLock
        deadline = time.monotonic() + 5
        while True:
            try:
                with OutputLock(folder):
                    break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        try:
            os.killpg(holder.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_lock_in_one_process_is_exclusive_and_released(tmp_path):
    from archsim.errors import ConfigError
    from archsim.io_safe import OutputLock
    with OutputLock(tmp_path / "o", command="first"):
        with pytest.raises(ConfigError, match=f"pid {os.getpid()}"):
            OutputLock(tmp_path / "o").acquire()
    with OutputLock(tmp_path / "o"):
        pass


def test_sweep_api_takes_the_lock(tmp_path):
    from archsim.errors import ConfigError
    from archsim.io_safe import OutputLock
    from archsim.sweep import load_sweep, run_sweep
    s = _sweep(tmp_path)
    with OutputLock(tmp_path / "out"):
        with pytest.raises(ConfigError, match="in use"):
            run_sweep(load_sweep(s), "serial", out_dir=tmp_path / "out")
