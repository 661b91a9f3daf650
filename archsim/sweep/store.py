"""The durable result store of a sweep: `DIR/sweep.sqlite` (WAL mode).

One row per point, keyed by the sha256 of the point's resolved config and workload (PRIMARY KEY,
so a point is never stored twice: `INSERT OR IGNORE`). Only the parent process writes, one
transaction per batch of results as they stream back, so a killed run loses at most the points
that were still in flight. `meta` holds the sweep's name, digest and the spec's file, so
`archsim report DIR` needs nothing but the folder.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from archsim.errors import ConfigError
from archsim.version import __version__

DB_NAME = "sweep.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY,           -- sha256 of resolved arch config + workload
    idx INTEGER NOT NULL,           -- position in the sweep's order
    workload TEXT NOT NULL,
    params TEXT NOT NULL,           -- JSON {dotted key: value}
    status TEXT NOT NULL,           -- ok | error
    error TEXT,
    totals TEXT,                    -- JSON Report.totals()
    budget TEXT,                    -- JSON Report.budget
    components TEXT,                -- JSON [{name, kind, area_mm2, leakage_power_w, energy_j, ...}]
    energy_breakdown TEXT,          -- JSON {action/part: joules} summed over ops
    sim_s REAL,                     -- in-worker simulate() wall time
    cpu_s REAL,                     -- CPU time of this process during simulate()
    eval_s REAL,                    -- in-worker time for the whole point (load + simulate)
    worker TEXT,
    finished_unix REAL
);
"""
COLUMNS = ("key", "idx", "workload", "params", "status", "error", "totals", "budget", "components",
           "energy_breakdown", "sim_s", "cpu_s", "eval_s", "worker", "finished_unix")
_JSON_COLS = ("params", "totals", "budget", "components", "energy_breakdown")


def model_fingerprint() -> str:
    """sha256 of archsim's model sources (all but the CLI and the sweep machinery) and its tech
    tables: what decides a point's numbers besides its config and workload."""
    from archsim.energy.tables import TECH_DIR
    pkg = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(__version__.encode())
    files = sorted(p for p in pkg.rglob("*.py") if p.relative_to(pkg).parts[0] not in ("cli", "sweep"))
    files += sorted(p for p in Path(TECH_DIR).glob("*") if p.is_file())
    for p in files:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def is_sweep_dir(path) -> bool:
    return (Path(path) / DB_NAME).is_file()


SQLITE_MAGIC = b"SQLite format 3\x00"


def rebuild_hint(path) -> str:
    p = Path(path)
    return (f"to rebuild it, move it aside (mv {p} {p}.damaged) and run the sweep again into "
            f"{p.parent} with --resume: the stored points are recomputed")


def damaged(path, what: str) -> ConfigError:
    return ConfigError(path, "<file>", f"damaged sweep store: {what}; {rebuild_hint(path)}")


def _guard(method):
    """Store methods: a damaged database (sqlite3.DatabaseError, undecodable JSON) becomes one
    ConfigError naming the file and how to rebuild it."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except ConfigError:
            raise
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise ConfigError(self.path, "<file>", f"the store is busy ({exc}): another process "
                                  "holds it; wait for it to finish") from None
            raise damaged(self.path, str(exc)) from None
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, str(exc)) from None
        except (ValueError, TypeError) as exc:       # JSON columns that do not decode
            raise damaged(self.path, f"a stored value does not decode ({exc})") from None
    return wrapper


class Store:
    """SQLite store; use as a context manager (closes the connection).

    An existing file is checked before use: not empty, an SQLite database (header), passing
    SQLite's quick_check, with the store's tables; anything else is a ConfigError that says
    how to rebuild it (never a traceback, never a silent recompute of everything)."""

    def __init__(self, path, *, create: bool = True):
        self.path = Path(path)
        existed = self.path.exists()
        if existed:
            self._check_file()
        elif not create:
            raise ConfigError(self.path, "<file>", "no sweep store here; run archsim sweep first")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(self.path.parent, "<dir>", f"cannot create the folder: {exc.strerror or exc}") from None
        self.conn = None
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
            if existed:
                row = self.conn.execute("PRAGMA quick_check").fetchone()
                if not row or row[0] != "ok":
                    raise damaged(self.path, f"SQLite quick_check: {row[0] if row else 'no answer'}")
                tables = {r[0] for r in self.conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
                if not {"meta", "points"} <= tables:
                    raise ConfigError(self.path, "<file>", "an SQLite database but not an archsim "
                                      f"sweep store (tables {sorted(tables)}; expected meta and "
                                      f"points); {rebuild_hint(self.path)}")
            self.conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (not a power cut); FULL would fsync per point.
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(_SCHEMA)
            have = {r[1] for r in self.conn.execute("PRAGMA table_info(points)")}
            for c in COLUMNS:          # a store written by an older archsim: add the new columns
                if c not in have:
                    self.conn.execute(f"ALTER TABLE points ADD COLUMN {c}")
        except ConfigError:
            self.close()
            raise
        except sqlite3.OperationalError as exc:
            self.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise ConfigError(self.path, "<file>", f"the store is busy ({exc}); another process "
                                  "holds it") from None
            if not existed:
                raise ConfigError(self.path, "<file>", f"cannot create the sweep store: {exc}") from None
            raise damaged(self.path, str(exc)) from None
        except sqlite3.DatabaseError as exc:
            self.close()
            raise damaged(self.path, str(exc)) from None

    def _check_file(self) -> None:
        p = self.path
        if p.is_dir():
            raise ConfigError(p, "<file>", "is a folder; expected the sweep's SQLite store")
        try:
            with open(p, "rb") as fh:
                head = fh.read(len(SQLITE_MAGIC))
        except OSError as exc:
            raise ConfigError(p, "<file>", f"cannot read: {exc.strerror or exc}") from None
        if not head:
            raise damaged(p, "the file is empty (0 bytes: truncated)")
        if head != SQLITE_MAGIC:
            raise damaged(p, "not an SQLite database (overwritten or garbage)")

    @classmethod
    def open_dir(cls, out_dir, *, create: bool = True) -> "Store":
        return cls(Path(out_dir) / DB_NAME, create=create)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -------------------------------------------------------------- meta
    @_guard
    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    @_guard
    def set_meta(self, items: Mapping[str, Any]) -> None:
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                  [(k, json.dumps(v, sort_keys=True)) for k, v in items.items()])

    @_guard
    def check_or_init(self, spec, *, resume: bool, out_dir) -> None:
        """A new folder gets the spec's meta; an existing one needs --resume, the same points and
        the same model (archsim's code and tech tables), so resumed results never mix models."""
        meta = self.meta()
        model = model_fingerprint()
        if meta.get("digest") is None:
            self.set_meta({"name": spec.name, "digest": spec.digest(), "sweep_file": spec.file,
                           "created_unix": time.time(), "model": model, "archsim_version": __version__})
            return
        if meta["digest"] != spec.digest():
            raise ConfigError(spec.file, "<root>", f"{out_dir} holds a different sweep "
                              f"({meta.get('name')!r} from {meta.get('sweep_file')}: its space, base arch "
                              "or workload files differ from this one's); choose another --out")
        if meta.get("model") != model and self.count() > 0:
            raise ConfigError(spec.file, "<root>", f"{out_dir} was computed by a different archsim model "
                              f"(version {meta.get('archsim_version')}, code or tech tables changed since); "
                              "resuming would mix two models: choose another --out")
        if not resume and self.count() > 0:
            raise ConfigError(spec.file, "<root>", f"{out_dir} already holds {self.count()} points of "
                              "this sweep; pass --resume to continue it (or choose another --out)")

    # -------------------------------------------------------------- points
    @_guard
    def add(self, results: Iterable[Mapping[str, Any]], *, replace_failed: bool = False) -> int:
        """Commit finished points (one transaction); returns how many were new. A point already
        stored is kept, except that with `replace_failed` a stored failure (status error) is
        replaced by the new result (`--resume --retry-failed`); a stored success never is."""
        rows = []
        for r in results:
            row = [r.get(c) for c in COLUMNS]
            for c in _JSON_COLS:
                i = COLUMNS.index(c)
                row[i] = None if row[i] is None else json.dumps(row[i], sort_keys=True)
            rows.append(row)
        if not rows:
            return 0
        with self.conn:
            self.conn.execute("BEGIN")
            before = self.conn.total_changes
            cols = ", ".join(COLUMNS)
            marks = ", ".join("?" * len(COLUMNS))
            if replace_failed:
                sets = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "key")
                sql = (f"INSERT INTO points ({cols}) VALUES ({marks}) ON CONFLICT(key) DO UPDATE "
                       f"SET {sets} WHERE points.status != 'ok'")
            else:
                sql = f"INSERT OR IGNORE INTO points ({cols}) VALUES ({marks})"
            self.conn.executemany(sql, rows)
            return self.conn.total_changes - before

    @_guard
    def keys(self, *, ok_only: bool = False) -> set[str]:
        """Keys of the stored points (`ok_only`: of the successful ones only)."""
        q = "SELECT key FROM points" + (" WHERE status = 'ok'" if ok_only else "")
        return {k for (k,) in self.conn.execute(q)}

    @_guard
    def count_failed(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM points WHERE status != 'ok'").fetchone()[0]

    @_guard
    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM points").fetchone()[0]

    @_guard
    def rows(self) -> list[dict[str, Any]]:
        """All points, in sweep order, JSON columns decoded."""
        out = []
        cur = self.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM points ORDER BY idx, key")
        for values in cur:
            d = dict(zip(COLUMNS, values))
            for c in _JSON_COLS:
                if d[c] is not None:
                    d[c] = json.loads(d[c])
            out.append(d)
        return out
