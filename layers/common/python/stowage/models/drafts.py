"""Requests and answers of the draft (two-stage upload) routes."""

from __future__ import annotations

from typing import Literal

from stowage.models.common import NewFileRequest, Response, Timestamp
from stowage.models.uploads import ChecksumAlgorithm, ChecksumValue

DraftStatus = Literal["pending", "uploaded", "confirmed", "discarded", "expired"]


class CreateDraftRequest(NewFileRequest):
    """The upload-url step; the same fields as a multipart init, without a part size."""

    checksum_algorithm: ChecksumAlgorithm | None = None
    checksum: ChecksumValue | None = None
    """The file's checksum in `checksum_algorithm` (both or neither): the POST policy pins
    it, so S3 refuses other bytes."""


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
    path: str | None = None
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
