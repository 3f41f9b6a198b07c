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


class FileInfoResponse(Response):
    key: str
    size: int
    etag: str
    content_type: str
    last_modified: Timestamp
    sha256: str | None
    original_name: str | None
    owner: FileOwner


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
