"""S3's additional checksums, as the strict local S3 computes and compares them.

CRC32, CRC32C and CRC64NVME come from awscrt (what botocore itself uses), SHA-1 and
SHA-256 from hashlib. Values travel base64-encoded, big-endian for the CRCs. A
multipart upload's FULL_OBJECT checksum combines the parts' CRCs in order; a
COMPOSITE one is the checksum of the parts' raw checksums, written `value-N`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Buffer, Callable
from dataclasses import dataclass

from awscrt import checksums

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
FULL_OBJECT_ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME")
HEADER_PREFIX = "x-amz-checksum-"
_CRC_WIDTH = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8}
_DIGEST_SIZE = {**_CRC_WIDTH, "SHA1": 20, "SHA256": 32}
_CRC: dict[str, Callable[[Buffer, int], int]] = {
    "CRC32": checksums.crc32,
    "CRC32C": checksums.crc32c,
    "CRC64NVME": checksums.crc64nvme,
}
_COMBINE: dict[str, Callable[[int, int, int], int]] = {
    "CRC32": checksums.combine_crc32,
    "CRC32C": checksums.combine_crc32c,
    "CRC64NVME": checksums.combine_crc64nvme,
}


def header_name(algorithm: str) -> str:
    """CRC64NVME -> x-amz-checksum-crc64nvme."""
    return HEADER_PREFIX + algorithm.lower()


def algorithm_of_header(name: str) -> str | None:
    """x-amz-checksum-crc32 -> CRC32; None for other headers (-mode, -type, -algorithm)."""
    if not name.lower().startswith(HEADER_PREFIX):
        return None
    algorithm = name[len(HEADER_PREFIX) :].upper()
    return algorithm if algorithm in ALGORITHMS else None


def digest(algorithm: str, data: bytes) -> bytes:
    """The raw checksum of `data` (4 or 8 bytes for a CRC, the hash for SHA)."""
    if algorithm in _CRC:
        return crc_bytes(algorithm, crc(algorithm, data))
    return hashlib.new(algorithm.lower(), data).digest()


def crc(algorithm: str, data: Buffer, previous: int = 0) -> int:
    """The CRC of `data`, or of the bytes before it and `data` when `previous` is theirs."""
    return _CRC[algorithm](data, previous)


def crc_bytes(algorithm: str, value: int) -> bytes:
    """A CRC as S3 writes it, big-endian in its algorithm's width, before base64."""
    return value.to_bytes(_CRC_WIDTH[algorithm], "big")


def encoded(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def decoded(algorithm: str, value: str) -> bytes | None:
    """A header value's raw bytes, or None when it is not valid base64 of the right size."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == _DIGEST_SIZE[algorithm] else None


@dataclass(frozen=True)
class PartChecksum:
    """What S3 keeps of one part: its size and raw checksum in the upload's algorithm."""

    size: int
    raw: bytes


def full_object(algorithm: str, parts: list[PartChecksum]) -> bytes:
    """The whole object's CRC from its parts' CRCs, without re-reading any byte."""
    combine = _COMBINE[algorithm]
    total = 0
    for index, part in enumerate(parts):
        value = int.from_bytes(part.raw, "big")
        total = value if index == 0 else combine(total, value, part.size)
    return crc_bytes(algorithm, total)


def composite(algorithm: str, parts: list[PartChecksum]) -> str:
    """`base64(checksum(raw part checksums))-N`, as S3 writes a composite checksum."""
    joined = b"".join(part.raw for part in parts)
    return f"{encoded(digest(algorithm, joined))}-{len(parts)}"
