"""Requests and answers of the draft (two-stage upload) routes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from stowage.models.common import (
    AppName,
    ContentType,
    FileKind,
    Name,
    Request,
    Response,
    Sha256Hex,
    Timestamp,
)

DraftStatus = Literal["pending", "uploaded", "confirmed", "discarded", "expired"]


class CreateDraftRequest(Request):
    file_name: str | None = Field(default=None, min_length=1, max_length=1024)
    """Required for files; a backup is named by stowage."""
    size: int = Field(ge=0)
    content_type: ContentType | None = None
    sha256: Sha256Hex | None = None
    user_id: Name | None = None
    role: Name | None = None
    overwrite: bool = False
    kind: FileKind = "file"
    app: AppName | None = None
    iteration: int | None = Field(default=None, ge=0)


class PresignedPost(Response):
    """A browser-style form upload: POST `fields` plus a `file` field to `url`."""

    url: str
    fields: dict[str, str]
    expires_at: Timestamp


class CreateDraftResponse(Response):
    draft_id: str
    upload: PresignedPost
    expires_at: Timestamp
    """Confirm before this; after it the draft is removed."""


class DraftStatusResponse(Response):
    draft_id: str
    status: DraftStatus
    file_name: str
    content_type: str
    size: int
    user_id: str
    role: str
    key: str | None
    created_at: Timestamp
    updated_at: Timestamp
    expires_at: Timestamp


class ConfirmDraftResponse(Response):
    draft_id: str
    key: str
    size: int
    status: Literal["confirmed"]
    deduplicated: bool = False


class DiscardDraftResponse(Response):
    draft_id: str
    status: Literal["discarded"]
