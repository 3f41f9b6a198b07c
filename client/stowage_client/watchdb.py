"""The watcher's memory, one SQLite file: what was uploaded (so a restart does not
upload it again), what is queued (so a stop loses nothing), and a log of uploads
and failures for `stowage watch --report`."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    local_path  TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    key         TEXT NOT NULL,
    uploaded_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS queue (
    local_path  TEXT PRIMARY KEY,
    queued_at   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS activity (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          REAL NOT NULL,
    local_path  TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('uploaded', 'failed')),
    size        INTEGER NOT NULL,
    key         TEXT,
    error       TEXT
);
CREATE INDEX IF NOT EXISTS activity_at ON activity (at);
"""


@dataclass(frozen=True)
class Uploaded:
    local_path: str
    size: int
    mtime_ns: int
    sha256: str
    key: str
    uploaded_at: float


@dataclass(frozen=True)
class DaySummary:
    day: str
    """YYYY-MM-DD, UTC."""
    files: int
    bytes: int
    failures: int


class WatchDb:
    """Opened per call, so the watcher's threads and `--report` can share the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self.connect()) as db, db:
            db.executescript(SCHEMA)

    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def uploaded(self, local_path: str) -> Uploaded | None:
        with closing(self.connect()) as db:
            row = db.execute(
                "SELECT local_path, size, mtime_ns, sha256, key, uploaded_at FROM files"
                " WHERE local_path = ?",
                (local_path,),
            ).fetchone()
        return None if row is None else Uploaded(*row)

    def record_upload(self, done: Uploaded) -> None:
        """The file is stored: remember its version, log it, and take it off the queue."""
        with closing(self.connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                (
                    done.local_path,
                    done.size,
                    done.mtime_ns,
                    done.sha256,
                    done.key,
                    done.uploaded_at,
                ),
            )
            db.execute(
                "INSERT INTO activity (at, local_path, outcome, size, key) VALUES (?, ?, ?, ?, ?)",
                (done.uploaded_at, done.local_path, "uploaded", done.size, done.key),
            )
            db.execute("DELETE FROM queue WHERE local_path = ?", (done.local_path,))

    def record_failure(self, local_path: str, size: int, error: str) -> None:
        with closing(self.connect()) as db, db:
            db.execute(
                "INSERT INTO activity (at, local_path, outcome, size, error)"
                " VALUES (?, ?, ?, ?, ?)",
                (time.time(), local_path, "failed", size, error[:1000]),
            )
            db.execute("DELETE FROM queue WHERE local_path = ?", (local_path,))

    def enqueue(self, local_path: str) -> None:
        with closing(self.connect()) as db, db:
            db.execute("INSERT OR IGNORE INTO queue VALUES (?, ?)", (local_path, time.time()))

    def dequeue(self, local_path: str) -> None:
        with closing(self.connect()) as db, db:
            db.execute("DELETE FROM queue WHERE local_path = ?", (local_path,))

    def queued(self) -> list[str]:
        with closing(self.connect()) as db:
            rows = db.execute("SELECT local_path FROM queue ORDER BY queued_at").fetchall()
        return [row[0] for row in rows]

    def report(self, days: int = 7) -> list[DaySummary]:
        """Per UTC day, newest first: files uploaded, their bytes, failures."""
        since = time.time() - days * 86400
        with closing(self.connect()) as db:
            rows = db.execute(
                "SELECT date(at, 'unixepoch') AS day,"
                " SUM(outcome = 'uploaded'),"
                " SUM(CASE WHEN outcome = 'uploaded' THEN size ELSE 0 END),"
                " SUM(outcome = 'failed')"
                " FROM activity WHERE at >= ? GROUP BY day ORDER BY day DESC",
                (since,),
            ).fetchall()
        return [DaySummary(*row) for row in rows]
