"""Answers of the file routes."""

from __future__ import annotations

from typing import Literal

from stowage.models.common import Response, Timestamp


class DownloadLinkResponse(Response):
    url: str
    expires_at: Timestamp


class FileOwner(Response):
    client_id: str
    role: str
    user_id: str


class FileChecksum(Response):
    algorithm: str
    """CRC64NVME, CRC32C, CRC32 (or SHA1, SHA256 for objects stored another way)."""
    type: str
    """FULL_OBJECT (a checksum of the bytes) or COMPOSITE (of the part checksums)."""
    value: str
    """base64, as S3 writes it"""


class FileInfoResponse(Response):
    key: str
    size: int
    etag: str
    content_type: str
    last_modified: Timestamp
    sha256: str | None
    original_name: str | None
    owner: FileOwner
    checksum: FileChecksum | None = None
    """What S3 stores and checks for the object, when it keeps one."""


class FileSummary(Response):
    key: str
    size: int
    etag: str
    last_modified: Timestamp


class FileListResponse(Response):
    files: list[FileSummary]
    next_cursor: str | None


class DeleteFileResponse(Response):
    key: str
    status: Literal["deleted"]


class BackupSummary(Response):
    key: str
    app: str
    iteration: int
    size: int
    sha256: str | None
    stored_at: Timestamp
    area: Literal["main", "backup"]


class BackupListResponse(Response):
    backups: list[BackupSummary]
