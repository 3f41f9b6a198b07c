"""`stowage watch`: upload files that appear in folders, once each, when they are done.

Filesystem events (watchdog) only put paths on a queue; the loop decides. A queued
file is uploaded when its size and mtime have not changed for `debounce` seconds
(a file still being written keeps changing), at most `max_attempts` checks. The
upload refuses to complete if the file changed meanwhile; then it goes back on
the queue. Failures are retried `retries` times, `retry_delay` apart, then logged
and recorded, and the watcher moves on. The queue lives in the database too, so
files queued when the watcher stops are picked up when it starts again.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from stowage_client.api import ApiError
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

    def __post_init__(self) -> None:
        self.folders = [folder.resolve() for folder in self.folders]
        self.events = EventQueue()
        self.ready = threading.Event()
        """Set once the folders are watched: a file created after this is seen."""

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
                stop.wait(min(0.25, self.options.debounce / 4))
        finally:
            observer.stop()
            observer.join()
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
            self.drop(entry)
            return
        entry.due = time.monotonic() + self.options.debounce

    def upload(self, entry: Pending) -> None:
        size, mtime_ns = entry.seen or (0, 0)
        try:
            digest = sha256_of(entry.path)
            request = UploadRequest(
                name=self.remote_name(entry),
                overwrite=self.options.overwrite or None,
                sha256=digest,
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
        log.info("uploaded %s as %s (%d bytes)", entry.path, result.key, size)

    def failed(self, entry: Pending, size: int, error: BaseException) -> None:
        entry.failures += 1
        if entry.failures <= self.options.retries:
            log.warning("upload of %s failed (%s); retrying", entry.path, error)
            entry.due = time.monotonic() + self.options.retry_delay
            return
        log.error("upload of %s failed %d times (%s); moving on", entry.path, entry.failures, error)
        self.db.record_failure(str(entry.path), size, str(error))
        self.pending.pop(entry.path, None)

    def remote_name(self, entry: Pending) -> str:
        """The prefix, then the path below the watched folder with its folders joined
        by `_`: stowage names are base names, the key holds no folders of ours."""
        return self.options.remote_prefix + "_".join(entry.path.relative_to(entry.folder).parts)


def version_of(path: Path) -> tuple[int, int]:
    return stat_version(path.stat())


def stat_version(stat: os.stat_result) -> tuple[int, int]:
    """(size, mtime_ns): what "unchanged" means here."""
    return stat.st_size, stat.st_mtime_ns
