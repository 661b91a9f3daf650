"""Issue 16: a Dask --scheduler that is not a Dask scheduler fails fast with a clear message
instead of hanging."""
from __future__ import annotations

import socket
import threading

import pytest

from hardening_util import REPO, cli

SWEEP = REPO / "sweeps" / "systolic-resnet50.toml"


class _Server:
    """A TCP server on localhost: `mode` silent (accepts, never speaks: an HTTP server waiting
    for a request) or banner (speaks first, not Dask: an SSH daemon)."""

    def __init__(self, mode):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.mode = mode
        self.conns = []
        self.stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            if self.mode == "banner":
                c.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    def close(self):
        self.stop = True
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.mark.parametrize("mode", ["silent", "banner"])
def test_scheduler_that_is_not_dask_fails_fast(tmp_path, mode):
    srv = _Server(mode)
    try:
        r = cli("sweep", SWEEP, "--executor", "dask", "--scheduler", f"tcp://127.0.0.1:{srv.port}",
                "--out", tmp_path / "o")
    finally:
        srv.close()
    assert r.rc == 2 and "--scheduler" in r.err and "not a Dask scheduler" in r.err, r
    assert r.seconds < 30, r
    assert not (tmp_path / "o" / "sweep.sqlite").exists()


@pytest.mark.parametrize("address,what", [("tcp://127.0.0.1:1", "cannot connect"),
                                          ("tcp://[::1", "not an address"),
                                          ("http://127.0.0.1:1", "scheme")])
def test_bad_scheduler_addresses(tmp_path, address, what):
    r = cli("sweep", SWEEP, "--executor", "dask", "--scheduler", address, "--out", tmp_path / "o")
    assert r.rc == 2 and "--scheduler" in r.err and what in r.err and r.seconds < 30, r


def test_a_real_scheduler_passes_the_probe():
    from distributed import LocalCluster

    from archsim.sweep.scheduler_probe import probe_scheduler
    with LocalCluster(n_workers=0, processes=False, protocol="tcp", dashboard_address=None) as c:
        probe_scheduler(c.scheduler_address, timeout=10)
        probe_scheduler(c.scheduler_address.replace("tcp://", ""), timeout=10)
