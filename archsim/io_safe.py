"""Safe outputs: destinations checked before any work, atomic writes, one lock per output folder,
and names from inputs made safe for file names.

Every command that writes checks its destinations first (`check_out_file`, `check_out_dir`):
a file destination must not be a folder (or a device), a folder destination must not be a file,
and the folder that will receive the file must exist and be writable or be creatable under a
writable folder — checked by really creating (and removing) a probe file there, which also
catches read-only file systems and `/proc`, where permission bits do not tell. A refusal is one
`ConfigError(flag, path, what is wrong)`: exit 2 before a second of work is spent.

Writes go through `atomic_write_text` / `atomic_write_bytes` / `atomic_savefig`: a temporary
file beside the destination, then `os.replace`, so a reader (or a crash) never sees half a file
and an existing file is only replaced by a complete one.

`OutputLock(folder)` holds an exclusive `flock` on `folder/.archsim.lock` while a sweep writes
the folder. The kernel drops the lock when the holder dies (kill -9 included), so a stale lock
never blocks a later `--resume`. The lock file records the holder's pid, host and command, and
a second process is refused with them (exit 2). Processes forked by the holder (the local
process pool) do not keep the lock: their inherited descriptor is closed right after the fork.
"""
from __future__ import annotations

import errno
import json
import os
import re
import socket
import tempfile
import time
from pathlib import Path

from archsim.errors import ConfigError

LOCK_NAME = ".archsim.lock"


# ----------------------------------------------------------------------------- names

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def safe_name(text, *, default: str = "run", max_len: int = 96) -> str:
    """A file-name component made from untrusted text: letters, digits and `._+-` kept, every
    other run of characters (path separators, '..' chains, spaces, control characters) becomes
    '_', leading dots and separators are dropped. Never empty, never '.' or '..'."""
    s = _UNSAFE.sub("_", str(text))
    s = s.lstrip("._-")
    s = s[:max_len].rstrip("._-")
    return s or default


def ensure_inside(base, path, *, flag: str = "--out") -> Path:
    """`path` resolved, refusing anything that resolves outside `base` (ConfigError)."""
    b = Path(base).resolve()
    p = Path(path).resolve()
    if p != b and b not in p.parents:
        raise ConfigError(flag, str(path), f"resolves to {p}, outside the output folder {b}")
    return p


# ----------------------------------------------------------------------------- destinations

NAME_MAX = 255          # bytes per path component (ext4, xfs, btrfs, tmpfs)
PATH_MAX = 4096


def _check_name(path, *, flag: str) -> None:
    """Path components and the whole path within the file system's limits (the OS would answer
    ENAMETOOLONG only when the file is written)."""
    text = str(path)
    if "\x00" in text:
        raise ConfigError(flag, repr(text), "a path cannot contain a NUL character")
    if len(os.fsencode(text)) >= PATH_MAX:
        raise ConfigError(flag, text[:60] + "...", f"path longer than {PATH_MAX} bytes")
    for part in Path(text).parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise ConfigError(flag, text if len(text) < 100 else text[:60] + "...",
                              f"a name in the path is longer than {NAME_MAX} bytes")


def _nearest_existing(p: Path) -> Path:
    q = p
    while not os.path.lexists(q):
        if q.parent == q:
            break
        q = q.parent
    return q


def _probe_writable(folder: Path, *, flag: str, shown) -> None:
    """Create and remove a file in `folder` (which exists and is a folder)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".archsim-probe-", dir=str(folder))
    except OSError as exc:
        raise ConfigError(flag, str(shown), f"cannot write into {folder}: "
                          f"{exc.strerror or exc}") from None
    os.close(fd)
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _check_parent(p: Path, *, flag: str, shown) -> None:
    """The folder that will hold `p` exists and is writable, or can be created."""
    parent = p.parent
    q = _nearest_existing(parent)
    if not q.exists():          # a dangling symlink on the way
        raise ConfigError(flag, str(shown), f"{q} is a broken symbolic link")
    if not q.is_dir():
        raise ConfigError(flag, str(shown), f"{q} is a file, not a folder; cannot create {parent}")
    _probe_writable(q, flag=flag, shown=shown)


def _check_out(path, flag: str, what: str, check) -> Path:
    """The checks a file and a folder destination share: a name, then `check(p, path, flag)`,
    an OSError on the way becoming one ConfigError."""
    if path is None or str(path) == "":
        raise ConfigError(flag, "<empty>", f"expected a {what} path")
    _check_name(path, flag=flag)
    try:
        return check(Path(path), path, flag)
    except OSError as exc:
        raise ConfigError(flag, str(path), f"cannot use this path: {exc.strerror or exc}") from None


def check_out_file(path, *, flag: str) -> Path:
    """Check a file destination before any work (ConfigError if it cannot be written)."""
    return _check_out(path, flag, "file", _check_out_file)


def _check_out_file(p: Path, path, flag: str) -> Path:
    if os.path.lexists(p):
        if p.is_dir():
            raise ConfigError(flag, str(path), "is a folder; expected a file path"
                              + (" (or '-' for stdout)" if flag in ("--json",) else ""))
        if not p.exists():
            raise ConfigError(flag, str(path), "is a broken symbolic link")
        if not p.is_file():
            raise ConfigError(flag, str(path), "is not a regular file (a device, pipe or socket); "
                              "expected a file path" + (" (or '-' for stdout)" if flag == "--json" else ""))
        if not os.access(p, os.W_OK):
            raise ConfigError(flag, str(path), "exists and is not writable")
    _check_parent(p, flag=flag, shown=path)
    return p


def check_out_dir(path, *, flag: str) -> Path:
    """Check a folder destination before any work (ConfigError if it cannot be written)."""
    return _check_out(path, flag, "folder", _check_out_dir)


def _check_out_dir(p: Path, path, flag: str) -> Path:
    if os.path.lexists(p):
        if not p.exists():
            raise ConfigError(flag, str(path), "is a broken symbolic link")
        if not p.is_dir():
            raise ConfigError(flag, str(path), "is a file; expected a folder (give a new or "
                              "existing folder path)")
        _probe_writable(p, flag=flag, shown=path)
        return p
    _check_parent(p / "x", flag=flag, shown=path)
    return p


def make_dir(path, *, flag: str) -> Path:
    """mkdir -p, with an OSError turned into a ConfigError naming `flag`."""
    p = Path(path)
    _check_name(p, flag=flag)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(flag, str(path), "a file is in the way; expected a folder") from None
    except OSError as exc:
        raise ConfigError(flag, str(path), f"cannot create the folder: {exc.strerror or exc}") from None
    return p


# ----------------------------------------------------------------------------- atomic writes

def atomic_write_bytes(path, data: bytes, *, flag: str | None = None) -> Path:
    """Write `data` to `path` through a temporary file in the same folder and os.replace."""
    p = Path(path)
    shown = flag or "<output>"
    _check_name(p, flag=shown)
    try:
        if not p.parent.is_dir():
            make_dir(p.parent, flag=shown)
        if p.is_dir():
            raise ConfigError(shown, str(p), "is a folder; expected a file path")
    except OSError as exc:
        raise ConfigError(shown, str(p), f"cannot write: {exc.strerror or exc}") from None

    def write(fd, tmp):
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return _replace_via_temp(p, shown, write, prefix=f".{p.name[:40]}.", suffix=".tmp")


def atomic_write_text(path, text: str, *, flag: str | None = None) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), flag=flag)


def atomic_savefig(fig, path, *, flag: str | None = None, **kwargs) -> Path:
    """matplotlib `fig.savefig` into a temporary file, then os.replace."""
    p = Path(path)

    def write(fd, tmp):
        os.close(fd)
        fig.savefig(tmp, format=p.suffix.lstrip(".") or None, **kwargs)
    return _replace_via_temp(p, flag or "<output>", write, prefix=f".{p.stem[:40]}.", suffix=p.suffix)


def _replace_via_temp(p: Path, shown: str, write, *, prefix: str, suffix: str) -> Path:
    """The one atomic write: a temporary file in `p`'s folder, filled by `write(fd, tmp_path)`
    (which owns the descriptor), given the umask's permissions and os.replace'd onto `p`. An
    OSError is a ConfigError naming `shown`; the temporary file never outlives a failure."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=str(p.parent))
        write(fd, tmp)
        try:
            os.chmod(tmp, 0o666 & ~_umask())
        except OSError:
            pass
        os.replace(tmp, p)
        tmp = None
    except OSError as exc:
        raise ConfigError(shown, str(p), f"cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return p


_UMASK: int | None = None


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        m = os.umask(0)
        os.umask(m)
        _UMASK = m
    return _UMASK


# ----------------------------------------------------------------------------- folder lock

_HELD_FDS: set[int] = set()


def _close_inherited() -> None:
    """In a forked child: drop the parent's lock descriptors (the child must not keep the lock
    alive after the parent dies)."""
    for fd in list(_HELD_FDS):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD_FDS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited)


class OutputLock:
    """Exclusive lock of an output folder for the life of a `with` block (see module doc)."""

    def __init__(self, folder, *, flag: str = "--out", command: str = "sweep"):
        self.folder = Path(folder)
        self.flag = flag
        self.command = command
        self.fd: int | None = None

    @property
    def path(self) -> Path:
        return self.folder / LOCK_NAME

    def holder(self) -> dict:
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self) -> "OutputLock":
        import fcntl
        make_dir(self.folder, flag=self.flag)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise ConfigError(self.flag, str(self.folder),
                              f"cannot create the lock file {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise ConfigError(self.flag, str(self.folder),
                                  f"cannot lock the folder: {exc.strerror or exc}") from None
            h = self.holder()
            who = (f"pid {h.get('pid')} on {h.get('host')}" if h.get("pid") else "another process")
            what = f" ({h.get('command')}, since {h.get('started')})" if h.get("command") else ""
            raise ConfigError(self.flag, str(self.folder),
                              f"in use by {who}{what}: another archsim is writing this folder. "
                              "Wait for it to finish (or stop it), or choose another --out") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        except OSError:
            pass
        self.fd = fd
        _HELD_FDS.add(fd)
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        import fcntl
        fd, self.fd = self.fd, None
        _HELD_FDS.discard(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def json_text(obj, **kwargs) -> str:
    """JSON text that any JSON reader accepts: NaN / inf become null (never 'NaN')."""
    import math

    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if hasattr(v, "item") and not isinstance(v, (str, bytes)):
            try:
                return clean(v.item())
            except (ValueError, AttributeError):
                return clean(v.tolist())
        return v
    return json.dumps(clean(obj), allow_nan=False, **kwargs)
