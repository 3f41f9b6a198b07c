"""CRC checksums as S3 keeps them (FULL_OBJECT), with awscrt, the library botocore uses.

A part's CRC is computed as the part is read; the whole file's is the parts' CRCs
combined (awscrt's `combine_*`: a few multiplications a part, no second pass over the
bytes). Values travel base64-encoded, big-endian, as in S3's `x-amz-checksum-*`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from awscrt import checksums

from stowage_client.parts import FileChangedError

ALGORITHM = "CRC64NVME"
"""What the CLI sends: S3's own default, and the fastest of the three here."""
READ_SIZE = 4 * 1024 * 1024


@dataclass(frozen=True)
class Crc:
    name: str
    size: int
    update: Callable[[bytes, int], int]
    combine: Callable[[int, int, int], int]

    def encode(self, value: int) -> str:
        return base64.b64encode(value.to_bytes(self.size, "big")).decode()


CRCS = {
    "CRC64NVME": Crc("CRC64NVME", 8, checksums.crc64nvme, checksums.combine_crc64nvme),
    "CRC32C": Crc("CRC32C", 4, checksums.crc32c, checksums.combine_crc32c),
    "CRC32": Crc("CRC32", 4, checksums.crc32, checksums.combine_crc32),
}


class ChecksumMismatch(Exception):
    """Bytes whose checksum is not the one S3 stores (or was given)."""


def whole(crc: Crc, parts: Iterable[tuple[int, int]]) -> int:
    """The CRC of the concatenation of parts given as (crc, length), in order."""
    total = 0
    for value, length in parts:
        total = crc.combine(total, value, length)
    return total


@dataclass(frozen=True)
class SliceDigest:
    crc: int
    md5: str | None
    """hex, when asked for: S3's ETag of a part uploaded without a checksum."""


def digest_slice(
    path: Path, offset: int, size: int, crc: Crc, with_md5: bool = False
) -> SliceDigest:
    """The CRC (and MD5) of `size` bytes of `path` from `offset`, one read at a time."""
    value = 0
    md5 = hashlib.md5(usedforsecurity=False) if with_md5 else None
    buffer = memoryview(bytearray(min(READ_SIZE, size)))  # one buffer, read into
    with path.open("rb", buffering=0) as file:
        file.seek(offset)
        remaining = size
        while remaining:
            count = file.readinto(buffer[: min(len(buffer), remaining)])
            if not count:
                raise FileChangedError(f"{path} is shorter than when the upload started")
            data = buffer[:count]
            value = crc.update(data, value)  # type: ignore[arg-type]  # any buffer will do
            if md5 is not None:
                md5.update(data)
            remaining -= count
    return SliceDigest(value, md5.hexdigest() if md5 else None)
