"""Which multipart upload belongs to which local file, so a rerun resumes it.

One row per (API URL, absolute path): the upload id, and the file's size and mtime
and the request's options when it started. A row that no longer matches the file
means the file changed: the caller cancels that upload and starts over. The parts
themselves are never recorded here: S3 (the status route) is the truth about those.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    api_url     TEXT NOT NULL,
    local_path  TEXT NOT NULL,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    options     TEXT NOT NULL,
    upload_id   TEXT NOT NULL,
    started_at  REAL NOT NULL,
    PRIMARY KEY (api_url, local_path)
)
"""


@dataclass(frozen=True)
class FileVersion:
    """What identifies one version of a local file and of the request made for it."""

    path: str
    size: int
    mtime_ns: int
    options: str
    """The request's fields as canonical JSON: another name or owner is another upload."""

    @classmethod
    def of(cls, path: Path, options: dict[str, Any]) -> FileVersion:
        stat = path.stat()
        canonical = json.dumps(options, sort_keys=True, separators=(",", ":"))
        return cls(str(path.resolve()), stat.st_size, stat.st_mtime_ns, canonical)


@dataclass(frozen=True)
class Recorded:
    upload_id: str
    version: FileVersion


class ResumeStore:
    """A small SQLite file; every call opens it, so processes can share it."""

    def __init__(self, path: Path, api_url: str) -> None:
        self.path, self.api_url = path, api_url
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self.connect()) as db, db:
            db.execute(SCHEMA)

    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def find(self, local_path: str) -> Recorded | None:
        query = (
            "SELECT upload_id, size, mtime_ns, options FROM uploads"
            " WHERE api_url = ? AND local_path = ?"
        )
        with closing(self.connect()) as db:
            row = db.execute(query, (self.api_url, local_path)).fetchone()
        if row is None:
            return None
        upload_id, size, mtime_ns, options = row
        return Recorded(upload_id, FileVersion(local_path, size, mtime_ns, options))

    def remember(self, upload_id: str, version: FileVersion) -> None:
        with closing(self.connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self.api_url,
                    version.path,
                    version.size,
                    version.mtime_ns,
                    version.options,
                    upload_id,
                    time.time(),
                ),
            )

    def forget(self, local_path: str) -> None:
        with closing(self.connect()) as db, db:
            db.execute(
                "DELETE FROM uploads WHERE api_url = ? AND local_path = ?",
                (self.api_url, local_path),
            )
