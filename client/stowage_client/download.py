"""Downloading a file: the API hands out a presigned GET; large files come in ranges
fetched in parallel into a temporary file that is renamed into place at the end, so
the destination is either the whole file or untouched."""

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
from stowage_client.progress import Meter, NullProgress, Progress
from stowage_client.retry import TRANSIENT_STATUSES, RetryPolicy, retrying

MIB = 1024 * 1024
TOTAL = re.compile(r"/(\d+)$")
CHUNK = 1 * MIB


class LinkExpired(Exception):
    """S3 answered 403 to the presigned GET: ask the API for a fresh link."""


class DownloadFailed(Exception):
    pass


@dataclass
class DownloadResult:
    key: str
    path: str
    size: int

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "path": self.path, "size": self.size}


@dataclass
class Downloader:
    api: StowageApi
    s3: httpx.Client
    concurrency: int = 8
    range_size: int = 8 * MIB
    retry: RetryPolicy = RetryPolicy()
    progress: Progress = field(default_factory=NullProgress)

    def download(self, key: str, destination: Path) -> DownloadResult:
        """Fetch `key` into `destination` (a file path, or a folder to put it in)."""
        if destination.is_dir():
            destination = destination / key.rsplit("/", 1)[-1]
        size = self.save(Link.of_key(self.api, key), destination)
        return DownloadResult(key, str(destination), size)

    def save(self, link: Link, destination: Path) -> int:
        """Write what `link` serves to a temporary file beside `destination`, then
        rename it into place: readers never see a half-written file."""
        handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
        try:
            with os.fdopen(handle, "r+b") as file:
                os.fchmod(file.fileno(), 0o666 & ~current_umask())
                size = self.fetch(link, file.fileno(), destination.name)
                os.fsync(file.fileno())
            os.replace(temporary, destination)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return size

    def fetch(self, link: Link, fd: int, name: str) -> int:
        """Ask for one byte to learn the size, then fetch the ranges in parallel."""
        size = retrying(lambda: self.probe(link), self.retry, retry_download)
        meter = self.progress.meter(name, size)
        try:
            starts = range(0, size, self.range_size)
            with ThreadPoolExecutor(self.concurrency, "stowage-range") as pool:
                list(pool.map(lambda start: self.copy_range(link, fd, start, size, meter), starts))
        finally:
            meter.close()
        return size

    def probe(self, link: Link) -> int:
        with self.s3.stream("GET", link.url(), headers={"Range": "bytes=0-0"}) as answer:
            check(answer, link)
            if answer.status_code == 416:  # S3's answer to any range of an empty object
                return 0
            if answer.status_code == 200:
                raise DownloadFailed("the storage ignored the Range header")
            return total_size(answer)

    def copy_range(self, link: Link, fd: int, start: int, size: int, meter: Meter) -> None:
        end = min(start + self.range_size, size) - 1
        retrying(lambda: self.stream_range(link, fd, start, end, meter), self.retry, retry_download)

    def stream_range(self, link: Link, fd: int, start: int, end: int, meter: Meter) -> None:
        """Bytes `start..end` written at their place in the file, a chunk at a time; a try
        that fails half-way takes its bytes back from the progress bar."""
        written = 0
        headers = {"Range": f"bytes={start}-{end}"}
        try:
            with self.s3.stream("GET", link.url(), headers=headers) as answer:
                check(answer, link)
                for chunk in answer.iter_bytes(CHUNK):
                    os.pwrite(fd, chunk, start + written)
                    written += len(chunk)
                    meter.advance(len(chunk))
        except BaseException:
            meter.advance(-written)
            raise
        if written != end - start + 1:
            meter.advance(-written)
            raise httpx.TransportError(f"bytes {start}-{end}: the answer had {written} bytes")


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
