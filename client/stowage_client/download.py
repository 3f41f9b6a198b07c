"""Downloading a file: the API hands out a presigned GET; large files come in ranges
fetched in parallel into a temporary file that is renamed into place at the end, so
the destination is either the whole file or untouched.

When S3 keeps a FULL_OBJECT CRC of the file (every upload of the CLI), each range's CRC
is computed as it is written and the ranges' CRCs combined: a file whose bytes are not
the stored checksum's is never renamed into place (ChecksumMismatch).
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from stowage_client.api import StowageApi
from stowage_client.checksum import CRCS, ChecksumMismatch, Crc, whole
from stowage_client.progress import Meter, NullProgress, Progress
from stowage_client.retry import TRANSIENT_STATUSES, RetryPolicy, retrying

MIB = 1024 * 1024
TOTAL = re.compile(r"/(\d+)$")
CHUNK = 1 * MIB


class LinkExpired(Exception):
    """S3 answered 403 to the presigned GET: ask the API for a fresh link."""


class DownloadFailed(Exception):
    pass


class DownloadCorrupted(DownloadFailed, ChecksumMismatch):
    """The bytes received are not the file S3 stores: nothing was put in place."""


@dataclass(frozen=True)
class Expected:
    """The checksum the whole download must have (base64), in `crc`."""

    crc: Crc
    value: str

    @classmethod
    def of_info(cls, info: dict[str, Any]) -> Expected | None:
        """From the file's info; None when S3 keeps no full-object CRC we can check."""
        stored = info.get("checksum") or {}
        crc = CRCS.get(stored.get("algorithm", ""))
        if crc is None or stored.get("type") != "FULL_OBJECT" or not stored.get("value"):
            return None
        return cls(crc, stored["value"])


@dataclass
class DownloadResult:
    key: str
    path: str
    size: int
    checksum: str | None = None
    """The stored checksum the bytes were verified against, if S3 keeps one."""

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "path": self.path, "size": self.size, "checksum": self.checksum}


@dataclass
class Downloader:
    api: StowageApi
    s3: httpx.Client
    concurrency: int = 8
    range_size: int = 8 * MIB
    retry: RetryPolicy = RetryPolicy()
    progress: Progress = field(default_factory=NullProgress)
    verify: bool = True
    """Check the bytes against the stored checksum (one info call, CRCs on the way)."""

    def download(self, key: str, destination: Path) -> DownloadResult:
        """Fetch `key` into `destination` (a file path, or a folder to put it in),
        verified against the checksum S3 stores for it."""
        if destination.is_dir():
            destination = destination / key.rsplit("/", 1)[-1]
        expected = Expected.of_info(self.api.file_info(key)) if self.verify else None
        size = self.save(Link.of_key(self.api, key), destination, expected)
        return DownloadResult(key, str(destination), size, expected.value if expected else None)

    def save(self, link: Link, destination: Path, expected: Expected | None = None) -> int:
        """Write what `link` serves to a temporary file beside `destination`, then
        rename it into place: readers never see a half-written file, nor one whose
        bytes are not the `expected` checksum's."""
        handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
        try:
            with os.fdopen(handle, "r+b") as file:
                os.fchmod(file.fileno(), 0o666 & ~current_umask())
                size, crcs = self.fetch(link, file.fileno(), destination.name, expected)
                if expected is not None:
                    got = expected.crc.encode(whole(expected.crc, crcs))
                    if got != expected.value:
                        raise DownloadCorrupted(
                            f"{destination.name}: the bytes received have {expected.crc.name} "
                            f"{got}, not the stored {expected.value}; nothing was written"
                        )
                os.fsync(file.fileno())
            os.replace(temporary, destination)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return size

    def fetch(
        self, link: Link, fd: int, name: str, expected: Expected | None = None
    ) -> tuple[int, list[tuple[int, int]]]:
        """Ask for one byte to learn the size, then fetch the ranges in parallel; answers
        the size and, with `expected`, each range's (CRC, length) in order."""
        size = retrying(lambda: self.probe(link), self.retry, retry_download)
        meter = self.progress.meter(name, size)
        crc = expected.crc if expected else None
        try:
            starts = range(0, size, self.range_size)
            with ThreadPoolExecutor(self.concurrency, "stowage-range") as pool:
                crcs = list(
                    pool.map(
                        lambda start: self.copy_range(link, fd, start, size, meter, crc), starts
                    )
                )
        finally:
            meter.close()
        return size, crcs

    def probe(self, link: Link) -> int:
        with self.s3.stream("GET", link.url(), headers={"Range": "bytes=0-0"}) as answer:
            check(answer, link)
            if answer.status_code == 416:  # S3's answer to any range of an empty object
                return 0
            if answer.status_code == 200:
                raise DownloadFailed("the storage ignored the Range header")
            return total_size(answer)

    def copy_range(
        self, link: Link, fd: int, start: int, size: int, meter: Meter, crc: Crc | None
    ) -> tuple[int, int]:
        end = min(start + self.range_size, size) - 1
        value = retrying(
            lambda: self.stream_range(link, fd, start, end, meter, crc), self.retry, retry_download
        )
        return value, end - start + 1

    def stream_range(
        self, link: Link, fd: int, start: int, end: int, meter: Meter, crc: Crc | None = None
    ) -> int:
        """Bytes `start..end` written at their place in the file, a chunk at a time (their
        CRC computed on the way); a try that fails half-way takes its bytes back from the
        progress bar."""
        written = value = 0
        headers = {"Range": f"bytes={start}-{end}"}
        try:
            with self.s3.stream("GET", link.url(), headers=headers) as answer:
                check(answer, link)
                for chunk in answer.iter_bytes(CHUNK):
                    os.pwrite(fd, chunk, start + written)
                    if crc is not None:
                        value = crc.update(chunk, value)
                    written += len(chunk)
                    meter.advance(len(chunk))
        except BaseException:
            meter.advance(-written)
            raise
        if written != end - start + 1:
            meter.advance(-written)
            raise httpx.TransportError(f"bytes {start}-{end}: the answer had {written} bytes")
        return value


def current_umask() -> int:
    """mkstemp makes 0600 files; the download gets the usual mode instead."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check(answer: httpx.Response, link: Link) -> None:
    if answer.status_code == 403:
        link.expire()
        raise LinkExpired("S3 refused the download link (403)")
    if answer.status_code in TRANSIENT_STATUSES:
        raise httpx.TransportError(f"S3 answered {answer.status_code}")
    if answer.status_code not in (200, 206, 416):
        answer.read()
        raise DownloadFailed(f"S3 answered {answer.status_code}: {answer.text[:200]}")


def retry_download(error: BaseException) -> bool:
    return isinstance(error, httpx.TransportError | LinkExpired)


def total_size(answer: httpx.Response) -> int:
    """From `Content-Range: bytes 0-0/1073741824`."""
    match = TOTAL.search(answer.headers.get("content-range", ""))
    if match is None:
        raise DownloadFailed("S3 sent a partial answer without its total size")
    return int(match.group(1))


class Link:
    """A presigned GET URL, fetched again after it expires."""

    def __init__(self, fetch: Callable[[], str]) -> None:
        self.fetch = fetch
        self.lock = threading.Lock()
        self.current: str | None = None

    @classmethod
    def of_key(cls, api: StowageApi, key: str) -> Link:
        return cls(lambda: str(api.download_link(key)["url"]))

    def url(self) -> str:
        with self.lock:
            if self.current is None:
                self.current = self.fetch()
            return self.current

    def expire(self) -> None:
        with self.lock:
            self.current = None
