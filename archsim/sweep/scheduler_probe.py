"""Fail fast on a `--scheduler` address that is not a Dask scheduler.

`distributed.Client(address)` waits forever on a server that accepts the connection but never
speaks Dask's protocol (an HTTP server, the dashboard port, an SSH daemon...). Before the
client connects, `probe_scheduler` opens a plain TCP connection and reads the handshake a Dask
comm sends first, unprompted: an 8-byte little-endian length, then a frame count and the
frame lengths (distributed/comm/tcp.py). No answer within the timeout, or an answer of another
shape, is one ConfigError naming --scheduler and what was found.
"""
from __future__ import annotations

import socket
import struct
from urllib.parse import urlsplit

from archsim.errors import ConfigError

DEFAULT_PORT = 8786
MAX_HANDSHAKE_BYTES = 1 << 20


def _split(address: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a Dask address: tcp://host:port, host:port, [v6]:port."""
    a = address.strip()
    if "://" not in a:
        a = "tcp://" + a
    try:
        u = urlsplit(a)
        host, port = u.hostname, u.port
    except ValueError as exc:
        raise ConfigError("--scheduler", address, f"not an address ({exc}); expected "
                          "tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786)") from None
    if not host:
        raise ConfigError("--scheduler", address, "no host; expected tcp://HOST:PORT")
    return u.scheme, host, port if port is not None else DEFAULT_PORT


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def probe_scheduler(address: str, timeout: float = 5.0) -> None:
    """ConfigError unless `address` accepts a connection and answers with a Dask handshake.
    Schemes other than tcp (tls, ws, ucx, inproc) are left to distributed itself."""
    scheme, host, port = _split(address)
    if scheme != "tcp":
        return
    where = f"{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        raise ConfigError("--scheduler", address, f"no answer from {where} within {timeout:g} s "
                          "(is the scheduler running, and the port open?)") from None
    except OSError as exc:
        raise ConfigError("--scheduler", address, f"cannot connect to {where}: "
                          f"{exc.strerror or exc}") from None
    try:
        sock.settimeout(timeout)
        try:
            head = _recv_exact(sock, 8)
        except socket.timeout:
            raise ConfigError("--scheduler", address, f"{where} accepted the connection but sent "
                              f"no Dask handshake within {timeout:g} s: not a Dask scheduler (an "
                              "HTTP server or the dashboard port? the scheduler listens on 8786 by "
                              "default)") from None
        except OSError as exc:
            raise ConfigError("--scheduler", address, f"{where}: {exc.strerror or exc}") from None
        if len(head) < 8:
            raise ConfigError("--scheduler", address, f"{where} closed the connection without a "
                              "Dask handshake: not a Dask scheduler")
        (n,) = struct.unpack("<Q", head)
        if not 16 <= n <= MAX_HANDSHAKE_BYTES:
            raise ConfigError("--scheduler", address, f"{where} answered, but not in Dask's "
                              f"protocol (first bytes {head!r}): not a Dask scheduler")
        try:
            body = _recv_exact(sock, min(n, 4096))
        except (socket.timeout, OSError):
            body = b""
        if len(body) >= 8:
            (frames,) = struct.unpack("<Q", body[:8])
            if not 1 <= frames <= 64 or 8 + 8 * frames > n:
                raise ConfigError("--scheduler", address, f"{where} answered, but not in Dask's "
                                  "protocol: not a Dask scheduler")
    finally:
        try:
            sock.close()
        except OSError:
            pass
