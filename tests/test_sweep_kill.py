"""Nothing lost: SIGKILL the `archsim sweep` process mid-run, resume, and compare with an
uninterrupted run; SIGKILL a Dask worker mid-sweep and check the sweep still completes.
(Polls the store for progress; asserts no timings.)"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from archsim.sweep import load_sweep, run_sweep
from archsim.sweep.store import DB_NAME
from test_sweep_toy import HERE, write_toy_sweep

# 40 points x 2 ops x 15 ms sleep: ~1.2 s of work on 2 workers, long enough to land a kill
SLOW = """\
[space]
"components.t.lanes" = { start = 1, stop = 512, scale = "log2" }
"components.t.clock_ghz" = [1.0, 1.5, 2.0, 3.0]
"components.t.delay_s" = [0.015]
"components.t.fail_lanes" = [64]
"""
REPO = HERE.parent


def _cli(args, **kw):
    code = ("import sys; sys.path.insert(0, %r); import test_sweep_toy; "
            "from archsim.cli import main; sys.exit(main(sys.argv[1:]))" % str(HERE))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE)])}
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=str(HERE),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("SELECT COUNT(*) FROM points").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def _keys_once(db: Path) -> list[str]:
    con = sqlite3.connect(db)
    keys = [k for (k,) in con.execute("SELECT key FROM points")]
    con.close()
    return keys


def _assert_complete_and_equal(res, out: Path, reference: str) -> None:
    """All 40 points stored exactly once, and the CSV equals the uninterrupted run's."""
    assert res.n_missing == 0 and res.n_ok + res.n_failed == 40
    keys = _keys_once(out / DB_NAME)
    assert len(keys) == len(set(keys)) == 40
    assert res.points_csv.read_text() == reference


def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    path = write_toy_sweep(tmp_path, SLOW)
    spec = load_sweep(path)
    reference = run_sweep(spec, "local", out_dir=tmp_path / "ref", jobs=2).points_csv.read_text()

    out = tmp_path / "killed"
    db = out / DB_NAME
    proc = _cli(["sweep", str(path), "--jobs", "2", "--out", str(out)], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while _count(db) < 8 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "sweep finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)     # the CLI, its forkserver and pool workers
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    done_at_kill = _count(db)
    assert 8 <= done_at_kill < 40
    assert (out / "points.csv").exists() is False       # killed before the export

    resumed = _cli(["sweep", str(path), "--jobs", "2", "--out", str(out), "--resume"])
    stdout, stderr = resumed.communicate(timeout=120)
    # the toy space has 4 points that fail by design (fail_lanes): exit 1, and it says so
    assert resumed.returncode == 1, stderr.decode()
    assert "4 of 40 points failed" in stderr.decode()
    assert f"{done_at_kill} stored, {40 - done_at_kill} to run" in stdout.decode()
    keys = _keys_once(db)
    assert len(keys) == len(set(keys)) == 40
    assert (out / "points.csv").read_text() == reference


def test_dask_worker_killed_mid_sweep(tmp_path):
    from distributed import Client, LocalCluster
    path = write_toy_sweep(tmp_path, SLOW)
    spec = load_sweep(path)
    reference = run_sweep(spec, "serial", out_dir=tmp_path / "ref", timed_points=0).points_csv.read_text()
    killed = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        def on_progress(done, total):
            if not killed and done >= 4:
                pids = client.run(os.getpid)        # {worker address: pid}, processes we started
                pid = sorted(pids.values())[0]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        res = run_sweep(spec, "dask", out_dir=tmp_path / "dask", client=client, chunk_size=3,
                        timed_points=0, on_progress=on_progress)
    assert killed
    _assert_complete_and_equal(res, tmp_path / "dask", reference)


def test_local_pool_worker_killed_mid_sweep(tmp_path):
    """A pool worker dies (SIGKILL, as the OOM killer would): the pool is restarted, the lost
    chunks are resubmitted, and the sweep completes with the uninterrupted results."""
    import multiprocessing
    path = write_toy_sweep(tmp_path, SLOW)
    spec = load_sweep(path)
    reference = run_sweep(spec, "serial", out_dir=tmp_path / "ref", timed_points=0).points_csv.read_text()
    killed = []

    def on_progress(done, total):
        if not killed and done >= 4:
            workers = multiprocessing.active_children()    # the pool's worker processes (ours)
            assert workers
            os.kill(workers[0].pid, signal.SIGKILL)
            killed.append(workers[0].pid)

    res = run_sweep(spec, "local", out_dir=tmp_path / "local", jobs=2, chunk_size=3,
                    timed_points=0, on_progress=on_progress)
    assert killed
    _assert_complete_and_equal(res, tmp_path / "local", reference)
