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


class Store:
    """SQLite store; use as a context manager (closes the connection)."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (not a power cut); FULL would fsync per point.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)
        have = {r[1] for r in self.conn.execute("PRAGMA table_info(points)")}
        for c in COLUMNS:          # a store written by an older archsim: add the new columns
            if c not in have:
                self.conn.execute(f"ALTER TABLE points ADD COLUMN {c}")

    @classmethod
    def open_dir(cls, out_dir) -> "Store":
        return cls(Path(out_dir) / DB_NAME)

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -------------------------------------------------------------- meta
    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    def set_meta(self, items: Mapping[str, Any]) -> None:
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                  [(k, json.dumps(v, sort_keys=True)) for k, v in items.items()])

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
    def add(self, results: Iterable[Mapping[str, Any]]) -> int:
        """Commit finished points (one transaction); returns how many were new."""
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
            self.conn.executemany(
                f"INSERT OR IGNORE INTO points ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                rows)
            return self.conn.total_changes - before

    def keys(self) -> set[str]:
        return {k for (k,) in self.conn.execute("SELECT key FROM points")}

    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM points").fetchone()[0]

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
