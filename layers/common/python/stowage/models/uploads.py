"""Requests and answers of the resumable multipart upload routes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from stowage.models.common import (
    NewFileRequest,
    Request,
    Response,
    Timestamp,
)
from stowage.units import GIB, MIB

UploadStatus = Literal["initiated", "in_progress", "completed", "cancelled", "expired"]
ChecksumAlgorithm = Literal["CRC64NVME", "CRC32C", "CRC32"]
"""The algorithms S3 keeps as a FULL_OBJECT checksum of a multipart upload."""
ChecksumValue = Annotated[
    str, Field(min_length=8, max_length=16, pattern=r"^[A-Za-z0-9+/]+={0,2}$")
]
"""A digest in base64, as S3 writes it (`x-amz-checksum-*`)."""


class InitUploadRequest(NewFileRequest):
    part_size: int | None = Field(default=None, ge=5 * MIB, le=5 * GIB)
    checksum_algorithm: ChecksumAlgorithm | None = None
    """Parts and the whole file are then checked by S3 with this algorithm; without it
    the upload takes no checksums (browsers, older clients)."""


class InitUploadResponse(Response):
    upload_id: str
    key: str
    part_size: int
    part_count: int
    status: UploadStatus
    expires_at: Timestamp
    checksum_algorithm: ChecksumAlgorithm | None = None


class PartChecksum(Request):
    part_number: int = Field(ge=1, le=10_000)
    checksum: ChecksumValue
    """The part's checksum in the upload's algorithm; S3 refuses a body that differs."""


class SignPartsRequest(Request):
    """Parts to sign, by number (`part_numbers`), with their checksums (`parts`), or both;
    at most 1,000 in all."""

    part_numbers: list[int] | None = Field(default=None, min_length=1, max_length=1000)
    parts: list[PartChecksum] | None = Field(default=None, min_length=1, max_length=1000)


class SignedPart(Response):
    part_number: int
    url: str
    size: int
    expires_at: Timestamp
    headers: dict[str, str] = Field(default_factory=dict)
    """Headers the PUT must carry as they are: they are signed into the URL."""


class SignPartsResponse(Response):
    upload_id: str
    parts: list[SignedPart]


class UploadedPart(Response):
    part_number: int
    size: int
    etag: str
    checksum: str | None = None
    """The part's checksum as S3 holds it, in the upload's algorithm (base64)."""


class UploadStatusResponse(InitUploadResponse):
    file_name: str
    path: str | None = None
    """Set for an upload by path; `file_name` is then its last segment."""
    content_type: str
    size: int
    user_id: str
    role: str
    parts_uploaded: int
    bytes_uploaded: int
    parts: list[UploadedPart]
    created_at: Timestamp
    updated_at: Timestamp


class CompletedPart(Request):
    part_number: int = Field(ge=1, le=10_000)
    etag: str = Field(min_length=1, max_length=128)


class CompleteUploadRequest(Request):
    parts: list[CompletedPart] | None = Field(default=None, max_length=10_000)
    checksum: ChecksumValue | None = None
    """The whole file's checksum in the upload's algorithm; S3 checks it as a FULL_OBJECT
    checksum and stores nothing when it differs."""


class CompleteUploadResponse(Response):
    upload_id: str
    key: str
    size: int
    etag: str
    status: Literal["completed"]
    deduplicated: bool = False
    """The same bytes were already the user's latest backup of this app: `key` is
    that backup's, and no second copy is stored."""


class CancelUploadResponse(Response):
    upload_id: str
    status: Literal["cancelled"]


class UploadSummary(Response):
    upload_id: str
    key: str
    file_name: str
    path: str | None = None
    size: int
    status: UploadStatus
    created_at: Timestamp
    expires_at: Timestamp


class UploadListResponse(Response):
    uploads: list[UploadSummary]
    next_cursor: str | None


class DeduplicatedResponse(Response):
    """Init or upload-url whose SHA-256 the user already has stored (a backup's as that
    app's latest backup, a file's under the key its name or path would take): nothing
    to upload, `key` is the stored file."""

    key: str
    size: int
    sha256: str
    status: Literal["deduplicated"]
