"""Part plumbing for multipart uploads: presigned URLs signed in batches as they are
needed (and again when they expire), and part bodies streamed from disk."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stowage_client.api import StowageApi

if TYPE_CHECKING:
    from stowage_client.checksum import Crc

SIGN_BATCH = 1000  # the contract's most part numbers per sign call
EXPIRY_MARGIN = 60.0  # seconds: re-sign a URL this close to its end rather than get a 403
READ_AHEAD = 512 * 1024 * 1024


class Cancelled(Exception):
    """The transfer was asked to stop (Ctrl-C, SIGTERM, or another part failed)."""


class FileChangedError(Exception):
    """The local file changed while it was being sent."""


@dataclass(frozen=True)
class PartCrcs:
    """How to checksum the parts of one file: its path, the part size, the algorithm."""

    path: Path
    part_size: int
    size: int
    crc: Crc

    def length(self, number: int) -> int:
        return max(0, min(self.part_size, self.size - (number - 1) * self.part_size))


class PartSigner:
    """Presigned part URLs by part number, thread-safe.

    A miss signs the next batch of parts in upload order (up to 1,000) at once, so
    a whole upload costs one sign call per 1,000 parts; URLs are signed when the
    workers get to them, so none expires waiting in a long upload.

    With `crcs`, each part is signed with its checksum, computed (one read of the part,
    before its PUT reads it again from the page cache) for the batch being signed.
    The first batch is one round of workers, whose checksums the uploader has usually
    computed while init was on its way (`computed`), so the first PUT waits for the sign
    call only; each later one is as many parts as fit in the read-ahead (512 MiB,
    so that they are still in the page cache when their PUTs read them again), so a
    1 GiB file of 8 MiB parts takes 3 calls (doubling from 8 took 5, and each call is
    a request and a write). Once the workers are within half the next batch of the last
    signed part (and never less than one round of them), that batch is checksummed and
    signed in the background, so no worker waits for it (waiting until one round was
    left stalled the workers while a batch of 64 was read and signed).
    """

    def __init__(
        self,
        api: StowageApi,
        upload_id: str,
        order: list[int],
        crcs: PartCrcs | None = None,
        first_batch: int = 8,
        computed: dict[int, int] | None = None,
    ) -> None:
        self.api, self.upload_id, self.order = api, upload_id, order
        self.position = {number: index for index, number in enumerate(order)}
        self.signed: dict[int, tuple[dict[str, Any], float]] = {}
        self.lock = threading.Lock()
        """Guards `signed` and `frontier`: held for moments only."""
        self.signing = threading.Lock()
        """One sign call (and its checksums) at a time."""
        self.frontier = 0
        """Index in `order` of the first part never signed."""
        self.ahead = max(1, first_batch)
        self.prefetching = False
        self.sign_calls = 0
        self.crcs = crcs
        self.computed: dict[int, int] = dict(computed or {})
        """Part number → its CRC (as an int), for the whole file's checksum."""
        self.batch = max(1, first_batch)
        # Parts checksummed ahead of their PUT: at most ~512 MiB, so that they are still
        # in the page cache when the PUT reads them again.
        self.most = max(self.batch, READ_AHEAD // crcs.part_size) if crcs else SIGN_BATCH

    def part(self, number: int) -> dict[str, Any]:
        """`{part_number, url, size, expires_at}` for part `number`."""
        held = self.usable(number)
        if held is None:
            with self.signing:
                held = self.usable(number) or self.sign_from(number)
        self.prefetch_after(number)
        return held

    def usable(self, number: int) -> dict[str, Any] | None:
        with self.lock:
            held = self.signed.get(number)
            return held[0] if held is not None and held[1] > time.monotonic() else None

    def prefetch_after(self, number: int) -> None:
        """Sign the next batch in the background once the workers are close to it."""
        if self.crcs is None:
            return
        with self.lock:
            near = self.frontier - self.position[number] <= max(self.ahead, self.batch // 2)
            if self.prefetching or not near or self.frontier >= len(self.order):
                return
            self.prefetching, start = True, self.order[self.frontier]
        threading.Thread(target=self.prefetch, args=(start,), daemon=True).start()

    def prefetch(self, number: int) -> None:
        try:
            with self.signing:
                if self.usable(number) is None:
                    self.sign_from(number)
        except Exception:  # nosec B110  # the worker that needs the part signs it and sees why
            return
        finally:
            with self.lock:
                self.prefetching = False

    def forget(self, number: int) -> None:
        """S3 refused this part's URL (403, expired): sign it again on next use."""
        with self.lock:
            self.signed.pop(number, None)

    def sign_from(self, number: int) -> dict[str, Any]:
        """Sign a batch from part `number` on (the caller holds `signing`)."""
        now = time.monotonic()
        start = self.position[number]
        with self.lock:
            batch = [n for n in self.order[start:] if self.signed.get(n, ({}, 0.0))[1] <= now]
        batch = batch[:SIGN_BATCH]
        self.sign_calls += 1
        if self.crcs is None:
            parts = self.api.sign_parts(self.upload_id, batch)
        else:
            batch = batch[: self.batch]
            self.batch = min(self.most, SIGN_BATCH)
            parts = self.api.sign_parts(self.upload_id, batch, self.checksums_of(batch))
        with self.lock:
            for part in parts:
                self.signed[part["part_number"]] = (part, usable_until(part["expires_at"], now))
            last = max(self.position[p["part_number"]] for p in parts)
            self.frontier = max(self.frontier, last + 1)
        return next(p for p in parts if p["part_number"] == number)

    def checksums_of(self, numbers: list[int]) -> dict[int, str]:
        """The parts' checksums (base64), computed once each."""
        from stowage_client.checksum import digest_slice

        crcs = self.crcs
        if crcs is None:
            raise RuntimeError("checksums asked of a plan made without them")
        for n in numbers:
            if n not in self.computed:
                offset = (n - 1) * crcs.part_size
                self.computed[n] = digest_slice(crcs.path, offset, crcs.length(n), crcs.crc).crc
        return {n: crcs.crc.encode(self.computed[n]) for n in numbers}


def usable_until(expires_at: str, now: float) -> float:
    """The monotonic time to stop using a URL. If this machine's clock says the URL is
    already (nearly) expired, the clocks disagree: trust the URL until S3 says 403."""
    left = datetime.fromisoformat(expires_at).timestamp() - time.time() - EXPIRY_MARGIN
    return now + left if left > 0 else float("inf")


def read_slice(
    path: Path,
    offset: int,
    size: int,
    chunk_size: int,
    on_bytes: Callable[[int], None],
    stopping: Callable[[], bool],
) -> Iterator[bytes]:
    """Yield `size` bytes of `path` from `offset`, `chunk_size` at a time: memory stays
    at one chunk per worker, whatever the part size."""
    with path.open("rb") as file:
        file.seek(offset)
        remaining = size
        while remaining:
            if stopping():
                raise Cancelled("stopped")
            data = file.read(min(chunk_size, remaining))
            if not data:
                raise FileChangedError(f"{path} is shorter than when the upload started")
            remaining -= len(data)
            on_bytes(len(data))
            yield data
