"""Requests and answers of the archive routes: many files as one zip, built as a job."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from stowage.models.common import Request, Response, Timestamp

MAX_ARCHIVE_FILES = 10_000

ArchiveStatus = Literal["pending", "building", "ready", "failed"]


class CreateArchiveRequest(Request):
    """Either `keys` (the caller's own files) or `prefix` (every own file under it)."""

    keys: list[str] | None = Field(default=None, min_length=1, max_length=MAX_ARCHIVE_FILES)
    prefix: str | None = Field(default=None, min_length=1, max_length=1024)
    name: str | None = Field(default=None, min_length=1, max_length=255)
    """The zip's download name (`.zip` is added when missing); default `archive-{id}.zip`."""


class ArchiveCreatedResponse(Response):
    archive_id: str
    status: ArchiveStatus
    expires_at: Timestamp


class ArchiveStatusResponse(Response):
    archive_id: str
    status: ArchiveStatus
    files: int
    """Members written so far (all of them once ready)."""
    total_files: int
    bytes_done: int
    """Bytes of the members read so far."""
    total_bytes: int
    size: int | None
    """The zip's size, once ready."""
    name: str
    expires_at: Timestamp
    reason: str | None = None
    """Why the build failed."""
