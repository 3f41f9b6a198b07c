"""Checksums as S3 takes them: the algorithms a multipart upload may carry as a
FULL_OBJECT checksum, the header each travels in, and the base64 values S3 expects.

S3 enforces a checksum on a presigned PUT only when its header is signed into the URL
(`X-Amz-SignedHeaders`); a value hoisted into the query string is ignored
(../shared/notes/presigned-checksums.md). The algorithm is fixed when the multipart
upload is created: an upload created without one refuses parts that carry one.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from stowage.domain.parts import SIGN_BATCH
from stowage.errors import InvalidFieldError, MissingFieldError

FULL_OBJECT = "FULL_OBJECT"
DIGEST_BYTES = {"CRC64NVME": 8, "CRC32C": 4, "CRC32": 4}
"""The algorithms with full-object checksums of multipart uploads, and their sizes."""


@dataclass(frozen=True)
class StoredChecksum:
    """A checksum as S3 reports it for an object (HeadObject with ChecksumMode)."""

    algorithm: str
    type: str
    value: str


def header_for(algorithm: str) -> str:
    """`x-amz-checksum-crc64nvme` for CRC64NVME: the header a part's PUT carries."""
    return f"x-amz-checksum-{algorithm.lower()}"


def checked_value(algorithm: str, value: str, field: str) -> str:
    """`value` if it is the base64 of a digest of `algorithm`'s size, else a 400."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidFieldError(f"{field} must be base64", field=field) from exc
    if len(raw) != DIGEST_BYTES[algorithm]:
        raise InvalidFieldError(
            f"{field} must be the base64 of a {DIGEST_BYTES[algorithm]}-byte {algorithm}",
            field=field,
        )
    return value


def required_algorithm(algorithm: str | None, field: str) -> str:
    """The upload's algorithm; a checksum for an upload created without one is a 400
    (S3 itself refuses such parts: the algorithm is fixed at creation)."""
    if algorithm is None:
        raise InvalidFieldError(
            f"{field}: this upload was started without checksum_algorithm, so it takes no "
            "checksums",
            field=field,
        )
    return algorithm


def parts_to_sign(
    part_numbers: list[int] | None, parts: list[tuple[int, str]] | None, algorithm: str | None
) -> dict[int, str | None]:
    """Part number → its checksum (None: signed without one), from a sign request's
    `part_numbers` and `parts`; a part named twice with two checksums is a 400."""
    if not part_numbers and not parts:
        raise MissingFieldError("part_numbers or parts is required", field="part_numbers")
    wanted: dict[int, str | None] = dict.fromkeys(part_numbers or [])
    if parts:
        upload_algorithm = required_algorithm(algorithm, "parts")
        for number, value in parts:
            checked = checked_value(upload_algorithm, value, "parts.checksum")
            if wanted.get(number) not in (None, checked):
                raise InvalidFieldError(
                    f"part {number} is given two different checksums", field="parts"
                )
            wanted[number] = checked
    if len(wanted) > SIGN_BATCH:
        raise InvalidFieldError(f"at most {SIGN_BATCH} parts a call", field="parts")
    return wanted
