"""`stowage archive`: ask for a zip of many files, follow its build, then download it.

The server builds the zip in the background (POST /v1/archives → 202); this polls its
status, showing the bytes read so far against the total, until it is ready or failed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stowage_client.api import StowageApi
from stowage_client.download import Downloader, Link
from stowage_client.progress import Progress

POLL_SECONDS = 1.0


class ArchiveFailed(Exception):
    """The server could not build the archive (its reason), or it took too long."""


@dataclass(frozen=True)
class ArchiveResult:
    archive_id: str
    path: str
    size: int
    files: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def wait_until_built(
    api: StowageApi,
    archive_id: str,
    progress: Progress,
    timeout: float,
    stop: threading.Event,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll the status until ready (answers it) or failed (ArchiveFailed)."""
    deadline = clock() + timeout
    status = api.archive_status(archive_id)
    meter = progress.meter(f"building {archive_id[:8]}", status["total_bytes"])
    shown = 0
    try:
        while True:
            meter.advance(status["bytes_done"] - shown)
            shown = status["bytes_done"]
            if status["status"] == "ready":
                return status
            if status["status"] == "failed":
                raise ArchiveFailed(f"the archive failed: {status.get('reason')}")
            if clock() > deadline:
                raise ArchiveFailed(
                    f"the archive is still {status['status']} after {timeout:.0f} s"
                )
            if stop.wait(POLL_SECONDS):
                raise KeyboardInterrupt
            status = api.archive_status(archive_id)
    finally:
        meter.close()


def make_archive(
    api: StowageApi,
    downloader: Downloader,
    request: dict[str, Any],
    output: Path,
    timeout: float,
    stop: threading.Event,
) -> ArchiveResult:
    created = api.create_archive(request)
    archive_id = created["archive_id"]
    status = wait_until_built(api, archive_id, downloader.progress, timeout, stop)
    if output.is_dir():
        output = output / status["name"]
    size = downloader.save(Link(lambda: str(api.archive_link(archive_id)["url"])), output)
    return ArchiveResult(archive_id, str(output), size, status["files"])
