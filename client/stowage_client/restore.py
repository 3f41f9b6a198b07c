"""`stowage restore PREFIX DIR`: rebuild a folder tree from the files under a key prefix.

Each key below PREFIX (up to its last `/`) becomes a path below DIR. Files are fetched in
parallel, each into a temporary file renamed into place once its bytes match the stored
checksum (S3's CRC, else the SHA-256 stored with the file), so DIR never holds a
half-written or corrupted file. A file already in DIR with the stored
size and checksum is skipped: an interrupted restore, run again, fetches only the rest.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import httpx

from stowage_client.api import ApiError, StowageApi
from stowage_client.checksum import ChecksumMismatch, digest_slice
from stowage_client.download import Downloader, DownloadFailed, Expected, Link
from stowage_client.upload import sha256_of

FAILURES = (ApiError, httpx.TransportError, DownloadFailed, ChecksumMismatch, OSError, ValueError)
PAGE = 1000


@dataclass
class RestoreSummary:
    restored: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, status: str, size: int) -> None:
        with self.lock:
            setattr(self, status, getattr(self, status) + 1)
            if status == "restored":
                self.bytes += size

    def as_json(self) -> dict[str, Any]:
        return {
            "restored": self.restored,
            "skipped": self.skipped,
            "failed": self.failed,
            "bytes": self.bytes,
        }


def local_path(root: Path, prefix: str, key: str) -> Path:
    """Where `key` goes below `root`: its part after PREFIX's last `/`. A part that could
    climb out of `root` (no key stowage makes does) is refused."""
    base = prefix[: prefix.rfind("/") + 1]
    relative = PurePosixPath(key[len(base) :])
    if relative.is_absolute() or not relative.parts or ".." in relative.parts:
        raise ValueError(f"{key!r} has no safe place below {root}")
    return root.joinpath(*relative.parts)


def matches(path: Path, info: dict[str, Any]) -> bool:
    """The local file has the stored size and checksum (CRC, else SHA-256); with neither
    stored, nothing proves it the same, and it is fetched again."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    if size != info.get("size"):
        return False
    expected = Expected.of_info(info)
    if expected is not None:
        return expected.crc.encode(digest_slice(path, 0, size, expected.crc).crc) == expected.value
    if info.get("sha256"):
        return bool(sha256_of(path) == info["sha256"])
    return False


@dataclass
class Restorer:
    api: StowageApi
    downloader: Downloader
    concurrency: int = 4
    on_result: Callable[[dict[str, Any]], None] = lambda result: None
    stop: threading.Event = field(default_factory=threading.Event)

    def fetch(self, key: str, info: dict[str, Any], target: Path) -> None:
        """Download beside `target` and rename into place once the bytes are the stored
        ones: by the stored CRC as they arrive, else by the SHA-256 stored with the file."""
        target.parent.mkdir(parents=True, exist_ok=True)
        expected = Expected.of_info(info) if self.downloader.verify else None
        sha256 = info.get("sha256") if self.downloader.verify and expected is None else None
        if sha256 is None:
            self.downloader.save(Link.of_key(self.api, key), target, expected)
            return
        staged = target.with_name(f".{target.name}.{secrets.token_hex(4)}.restore")
        try:
            self.downloader.save(Link.of_key(self.api, key), staged)
            if sha256_of(staged) != sha256:
                raise ChecksumMismatch(f"{key}: the bytes received are not the stored SHA-256")
            os.replace(staged, target)
        finally:
            staged.unlink(missing_ok=True)

    def keys(self, prefix: str) -> Iterator[str]:
        cursor = None
        while True:
            page = self.api.list_files(prefix, PAGE, cursor)
            for item in page.get("files", []):
                yield str(item["key"])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def restore(self, prefix: str, root: Path) -> RestoreSummary:
        summary = RestoreSummary()
        root.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(self.concurrency, "stowage-restore") as pool:
            for _ in pool.map(lambda key: self.one(prefix, root, key, summary), self.keys(prefix)):
                pass
        return summary

    def one(self, prefix: str, root: Path, key: str, summary: RestoreSummary) -> None:
        if self.stop.is_set():
            return
        result: dict[str, Any] = {"key": key}
        try:
            target = local_path(root, prefix, key)
            result["path"] = str(target)
            info = self.api.file_info(key)
            result["size"] = info["size"]
            if matches(target, info):
                status = "skipped"
            else:
                self.fetch(key, info, target)
                status = "restored"
        except FAILURES as error:
            status, result["error"] = "failed", str(error)
        summary.count(status, int(result.get("size", 0)))
        self.on_result(result | {"status": status})
