"""`stowage watch`: upload files that appear in folders, once each, when they are done.

Filesystem events (watchdog) only put paths on a queue; the loop decides. A queued
file is uploaded when its size and mtime have not changed for `debounce` seconds
(a file still being written keeps changing), at most `max_attempts` checks. The
upload refuses to complete if the file changed meanwhile; then it goes back on
the queue. Failures are retried `retries` times, `retry_delay` apart, then logged
and recorded, and the watcher moves on. The queue lives in the database too, so
files queued when the watcher stops are picked up when it starts again.

Each file keeps its place in the tree: it is stored by path (`--remote-prefix`, then
its path below the watched folder), overwriting its own key when it changes; its
SHA-256 goes along, so a file the server already holds there is not sent again. With
`delete_after_upload`, the local copy goes only once the server's file info shows the
same size and checksum. Every outcome goes to `on_result` (the CLI's `--json` lines),
and once a UTC day is over (and at stop) its tally goes to `on_day` (the server's
daily report).
"""

from __future__ import annotations

import fnmatch
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from stowage_client.api import ApiError
from stowage_client.checksum import digest_slice
from stowage_client.download import Expected
from stowage_client.parts import Cancelled, FileChangedError
from stowage_client.upload import (
    StorageRefused,
    TransferFailed,
    Uploader,
    UploadRequest,
    sha256_of,
)
from stowage_client.watchdb import Uploaded, WatchDb

log = logging.getLogger("stowage.watch")

# Editors' and browsers' scratch files, hidden files: never the finished file.
DEFAULT_IGNORE = (".*", "*~", "*.swp", "*.tmp", "*.part", "*.crdownload")
# What one upload try can fail with and still be worth another try later.
UPLOAD_ERRORS = (ApiError, httpx.TransportError, StorageRefused, TransferFailed, OSError)


@dataclass(frozen=True)
class WatchOptions:
    remote_prefix: str = ""
    upload_existing: bool = False
    overwrite: bool = False
    debounce: float = 3.0
    max_attempts: int = 100
    retries: int = 3
    retry_delay: float = 5.0
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    delete_after_upload: bool = False
    """Delete the local file once the server confirms its size and checksum."""


@dataclass(frozen=True)
class DayTally:
    """What the watcher did on one UTC day, for the server's daily report."""

    date: str
    uploaded: int
    skipped: int
    failed: int


def utc_day() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def ignore_result(result: dict[str, Any]) -> None:
    return None


def ignore_day(tally: DayTally) -> None:
    return None


@dataclass
class Pending:
    """A queued file and where its checks stand."""

    path: Path
    folder: Path
    seen: tuple[int, int] | None = None
    """(size, mtime_ns) at the last check; None before the first."""
    checks: int = 0
    failures: int = 0
    due: float = 0.0


class EventQueue(FileSystemEventHandler):
    """watchdog's thread hands paths to the watcher's loop, nothing more."""

    def __init__(self) -> None:
        self.paths: queue.SimpleQueue[Path] = queue.SimpleQueue()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("deleted", "closed_no_write", "opened"):
            return
        if event.is_directory and event.event_type == "modified":
            return  # a folder's listing changed: its files have events of their own
        target = event.dest_path if event.event_type == "moved" else event.src_path
        self.paths.put(Path(str(target)))


@dataclass
class Watcher:
    folders: list[Path]
    uploader: Uploader
    db: WatchDb
    options: WatchOptions = field(default_factory=WatchOptions)
    pending: dict[Path, Pending] = field(default_factory=dict)
    on_result: Callable[[dict[str, Any]], None] = ignore_result
    """Told every upload, skip and failure (one JSON-able dict each)."""
    on_day: Callable[[DayTally], None] = ignore_day
    """Told a day's tally when the day is over, and today's so far at stop."""
    skipped: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.folders = [folder.resolve() for folder in self.folders]
        self.events = EventQueue()
        self.ready = threading.Event()
        """Set once the folders are watched: a file created after this is seen."""
        self.day = utc_day()

    def run(self, stop: threading.Event) -> None:
        """Watch until `stop` is set (the CLI sets it on SIGINT and SIGTERM)."""
        observer = Observer()
        for folder in self.folders:
            observer.schedule(self.events, str(folder), recursive=True)
        observer.start()
        try:
            self.start_queue()
            self.ready.set()
            log.info("watching %s", ", ".join(map(str, self.folders)))
            while not stop.is_set():
                self.take_events()
                self.work(stop)
                self.roll_day()
                stop.wait(min(0.25, self.options.debounce / 4))
        finally:
            observer.stop()
            observer.join()
            self.send_day(self.day)
            log.info("stopped; %d file(s) stay queued for the next start", len(self.pending))

    # -- the queue

    def start_queue(self) -> None:
        """What was queued when the watcher last stopped, then (if asked) every file
        already in the folders that is not recorded as uploaded in this version."""
        for text in self.db.queued():
            self.add(Path(text))
        if self.options.upload_existing:
            for folder in self.folders:
                for path in sorted(folder.rglob("*")):
                    if path.is_file() and not self.is_recorded(path):
                        self.add(path)

    def take_events(self) -> None:
        while True:
            try:
                path = self.events.paths.get_nowait()
            except queue.Empty:
                return
            if path.is_dir():  # a folder moved in brings files no event names
                for inner in path.rglob("*"):
                    self.add(inner)
            else:
                self.add(path)

    def add(self, path: Path) -> None:
        """Queue a file once, however many events name it."""
        path = path.absolute()
        folder = self.folder_of(path)
        if folder is None or path in self.pending or self.ignores(path, folder):
            return
        self.pending[path] = Pending(path, folder)
        self.db.enqueue(str(path))

    def drop(self, entry: Pending) -> None:
        self.pending.pop(entry.path, None)
        self.db.dequeue(str(entry.path))

    def folder_of(self, path: Path) -> Path | None:
        return next((f for f in self.folders if path.is_relative_to(f)), None)

    def ignores(self, path: Path, folder: Path) -> bool:
        """Scratch files by name, and the watcher's own database (with its journal)."""
        own = self.db.path.resolve()
        if path.resolve().parent == own.parent and path.name.startswith(own.name):
            return True
        parts = path.relative_to(folder).parts
        return any(
            fnmatch.fnmatch(part, pattern) for part in parts for pattern in self.options.ignore
        )

    def is_recorded(self, path: Path) -> bool:
        done = self.db.uploaded(str(path))
        if done is None:
            return False
        stat = path.stat()
        return (done.size, done.mtime_ns) == (stat.st_size, stat.st_mtime_ns)

    # -- checks and uploads

    def work(self, stop: threading.Event) -> None:
        """One pass over the entries that are due, oldest first."""
        now = time.monotonic()
        for entry in sorted(self.pending.values(), key=lambda e: e.due):
            if stop.is_set() or entry.due > now:
                return
            self.check(entry)

    def check(self, entry: Pending) -> None:
        try:
            stat = entry.path.stat()
        except FileNotFoundError:
            self.drop(entry)  # deleted or renamed away before it settled
            return
        if not entry.path.is_file() or self.is_recorded(entry.path):
            if entry.path.is_file():
                self.skip(entry.path, "unchanged since its upload")
            self.drop(entry)
            return
        current = stat_version(stat)
        if current == entry.seen:
            self.upload(entry)
            return
        entry.seen, entry.checks = current, entry.checks + 1
        if entry.checks > self.options.max_attempts:
            log.warning("%s never stopped changing; skipped", entry.path)
            self.db.record_failure(str(entry.path), stat.st_size, "never stable")
            self.on_result({"event": "failed", "path": str(entry.path), "error": "never stable"})
            self.drop(entry)
            return
        entry.due = time.monotonic() + self.options.debounce

    def upload(self, entry: Pending) -> None:
        size, mtime_ns = entry.seen or (0, 0)
        try:
            digest = sha256_of(entry.path)
            # A file's key is its own path: a changed file replaces it (the bucket's
            # versioning keeps the old bytes), an unchanged one is not sent again.
            request = UploadRequest(
                remote_path=self.remote_path(entry), overwrite=True, sha256=digest
            )
            result = self.uploader.upload(entry.path, request)
            # The uploader checks against its own first look; this covers the moments
            # between the stability check and that look (and the hashing) too.
            if version_of(entry.path) != entry.seen:
                raise FileChangedError(f"{entry.path} changed since it was found stable")
        except Cancelled:
            return  # stopping: the entry stays queued in the database
        except FileChangedError:
            log.info("%s changed during its upload; queued again", entry.path)
            entry.seen, entry.due = None, time.monotonic() + self.options.debounce
            return
        except UPLOAD_ERRORS as error:
            self.failed(entry, size, error)
            return
        done = Uploaded(str(entry.path), size, mtime_ns, digest, result.key, time.time())
        self.db.record_upload(done)
        self.pending.pop(entry.path, None)
        outcome: dict[str, Any] = {"path": str(entry.path), "key": result.key, "size": size}
        if self.options.delete_after_upload:
            outcome["deleted"] = self.delete_confirmed(entry.path, result.key, (size, mtime_ns))
        if result.method == "deduplicated":
            self.skip(entry.path, "already stored", outcome)
            return
        log.info("uploaded %s as %s (%d bytes)", entry.path, result.key, size)
        self.on_result({"event": "uploaded"} | outcome | {"checksum": result.checksum})

    def delete_confirmed(self, path: Path, key: str, version: tuple[int, int]) -> bool:
        """Delete the local copy only if the server's file at `key` has its size and its
        checksum (the stored CRC, else the SHA-256), and the file did not change since."""
        try:
            info = self.uploader.api.file_info(key)
            if info.get("size") != version[0]:
                raise ValueError(f"the server holds {info.get('size')} bytes")
            expected = Expected.of_info(info)
            if expected is not None:
                local = expected.crc.encode(digest_slice(path, 0, version[0], expected.crc).crc)
                same = local == expected.value
            else:
                same = info.get("sha256") == sha256_of(path)
            if not same:
                raise ValueError("the server's checksum differs from the local file's")
            if version_of(path) != version:
                raise ValueError("the file changed since its upload")
            path.unlink()
        except (*UPLOAD_ERRORS, ValueError) as error:
            log.warning("kept %s: its upload is not confirmed (%s)", path, error)
            return False
        log.info("deleted %s: the server confirmed its size and checksum", path)
        return True

    def skip(self, path: Path, reason: str, extra: dict[str, Any] | None = None) -> None:
        day = utc_day()
        self.skipped[day] = self.skipped.get(day, 0) + 1
        self.on_result({"event": "skipped", "path": str(path), "reason": reason} | (extra or {}))

    # -- daily reports

    def roll_day(self) -> None:
        today = utc_day()
        if today != self.day:
            self.send_day(self.day)
            self.day = today

    def send_day(self, day: str) -> None:
        summary = next((d for d in self.db.report(2) if d.day == day), None)
        uploaded, failed = (summary.files, summary.failures) if summary else (0, 0)
        try:
            self.on_day(DayTally(day, uploaded, self.skipped.get(day, 0), failed))
        except UPLOAD_ERRORS as error:
            log.warning("the daily report for %s was not sent (%s)", day, error)

    def failed(self, entry: Pending, size: int, error: BaseException) -> None:
        entry.failures += 1
        if entry.failures <= self.options.retries:
            log.warning("upload of %s failed (%s); retrying", entry.path, error)
            entry.due = time.monotonic() + self.options.retry_delay
            return
        log.error("upload of %s failed %d times (%s); moving on", entry.path, entry.failures, error)
        self.db.record_failure(str(entry.path), size, str(error))
        self.on_result({"event": "failed", "path": str(entry.path), "error": str(error)})
        self.pending.pop(entry.path, None)

    def remote_path(self, entry: Pending) -> str:
        """The prefix, then the path below the watched folder: the tree is kept."""
        return self.options.remote_prefix + entry.path.relative_to(entry.folder).as_posix()


def version_of(path: Path) -> tuple[int, int]:
    return stat_version(path.stat())


def stat_version(stat: os.stat_result) -> tuple[int, int]:
    """(size, mtime_ns): what "unchanged" means here."""
    return stat.st_size, stat.st_mtime_ns
