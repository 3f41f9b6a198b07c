"""The narrow interfaces the domain needs from storage and the session table.

Each lists only the calls the domain makes, so a fake for tests is small and
the IAM actions of each adapter are easy to check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from stowage.domain.checksums import StoredChecksum
from stowage.domain.draft import Draft
from stowage.domain.parts import PartPlan
from stowage.domain.session import UploadSession


@dataclass(frozen=True)
class StoredPart:
    part_number: int
    size: int
    etag: str
    checksum: str | None = None
    """In the upload's algorithm, when it has one (base64)."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    content_type: str
    last_modified: datetime
    metadata: dict[str, str]
    checksum: StoredChecksum | None = None


@dataclass(frozen=True)
class Digest:
    """A checksum to hold bytes to: `value` (base64) in `algorithm`."""

    algorithm: str
    value: str


@dataclass(frozen=True)
class NewObject:
    """What a new object carries from its first byte: type, download name and owner tags."""

    key: str
    content_type: str
    content_disposition: str
    metadata: dict[str, str]


class ObjectStore(Protocol):
    def create_multipart(self, new: NewObject, checksum_algorithm: str | None = None) -> str:
        """Start a multipart upload; with an algorithm, a FULL_OBJECT checksum one."""
        ...

    def presign_part(
        self,
        key: str,
        s3_upload_id: str,
        part_number: int,
        size: int | None,
        expires_in: int,
        checksum: Digest | None = None,
    ) -> str:
        """A presigned UploadPart: `size` (any when None, an upload of unknown size) and
        the checksum header signed into it."""
        ...

    def list_parts(self, key: str, s3_upload_id: str) -> list[StoredPart] | None:
        """Every part S3 holds, or None when the multipart upload no longer exists."""
        ...

    def complete_multipart(
        self, key: str, s3_upload_id: str, parts: list[StoredPart], checksum: Digest | None = None
    ) -> str:
        """Complete; with `checksum`, S3 checks it as the FULL_OBJECT checksum and raises
        ChecksumMismatchError (the upload left open) when it differs."""
        ...

    def abort_multipart(self, key: str, s3_upload_id: str) -> None: ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def presign_get(self, key: str, expires_in: int, disposition: str | None) -> str: ...


@dataclass(frozen=True)
class ListedObject:
    key: str
    size: int
    etag: str
    last_modified: datetime


class FileStore(ObjectStore, Protocol):
    """The files bucket as confirmed drafts, listings and deletions need it."""

    def list_after(self, prefix: str, after: str | None, limit: int) -> list[ListedObject]:
        """Up to `limit` objects under `prefix` whose keys sort after `after`, in key order."""
        ...

    def copy_from(self, source_bucket: str, source_key: str, new: NewObject) -> str:
        """Copy an object (at most 5 GiB) in as `new`; answers the new object's ETag."""
        ...

    def delete(self, key: str) -> None: ...

    def sha256_of(self, key: str) -> str:
        """Read the object through once and answer its SHA-256 (hex)."""
        ...

    def archive(self, key: str, new_key: str, tag: tuple[str, str]) -> None:
        """Move an object within the bucket, tagged (a lifecycle rule picks the tag up)."""
        ...


@dataclass(frozen=True)
class PostForm:
    url: str
    fields: dict[str, str]


class DraftObjects(Protocol):
    """The drafts bucket: where clients POST bytes before confirming them."""

    bucket: str

    def presign_post(
        self,
        key: str,
        content_type: str,
        size: int,
        expires_in: int,
        checksum: Digest | None = None,
    ) -> PostForm:
        """A form upload that only accepts exactly `size` bytes of `content_type` at `key`
        (and, given `checksum`, only bytes with that checksum)."""
        ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def presign_get(self, key: str, expires_in: int, disposition: str | None) -> str: ...

    def delete(self, key: str) -> None: ...


class ObjectSweeper(Protocol):
    """Bulk removal of objects, for the cleanup."""

    def delete_many(self, keys: list[str]) -> list[str]:
        """Delete up to 1,000 keys in one call; answers the keys that failed."""
        ...


@dataclass(frozen=True)
class SessionPage:
    sessions: list[UploadSession]
    cursor: str | None


class SessionStore(Protocol):
    """Upload sessions plus key reservations; state changes are conditional writes."""

    def create(self, session: UploadSession) -> None: ...

    def get(self, upload_id: str) -> UploadSession | None: ...

    def touch(self, session: UploadSession, now: datetime, expires_at: datetime) -> bool:
        """Mark active (→ in_progress) and push expiry; False if no longer active."""
        ...

    def touch_own(
        self, upload_id: str, client_id: str, now: datetime, expires_at: datetime, last_part: int
    ) -> UploadSession | None:
        """`touch` in one write without reading first: the session as it is now, if it is
        `client_id`'s, active, free and has parts up to `last_part`; None if any of that
        does not hold (or cannot be told without a read)."""
        ...

    def claim_completion(self, session: UploadSession, now: datetime, until: datetime) -> bool:
        """Take the right to complete; False if another holds it or the upload is not active."""
        ...

    def release_completion(self, session: UploadSession) -> None:
        """Give the completion lease back after a failed attempt, so a retry need not wait."""
        ...

    def mark_completed(
        self,
        session: UploadSession,
        now: datetime,
        etag: str,
        twin: str | None = None,
        plan: PartPlan | None = None,
    ) -> UploadSession:
        """Completed, whatever the state was; `twin` is the key of an earlier identical
        backup the session now points at (its own object was not kept); `plan` the size
        and parts an upload of unknown size turned out to have."""
        ...

    def mark_cancelled(self, session: UploadSession, now: datetime) -> bool:
        """Active → cancelled; False if not active or a completion is under way. The
        cleanup still sees it until `mark_aborted`."""
        ...

    def mark_aborted(self, session: UploadSession) -> None:
        """A cancelled session's multipart upload is aborted: nothing left to clean up."""
        ...

    def claim_key(self, key: str, record_id: str, now: datetime, until: datetime) -> bool:
        """Reserve a key for one upload so concurrent uploads never pick the same one."""
        ...

    def release_key(self, key: str, record_id: str) -> None: ...

    def list_for_client(
        self, client_id: str, status: str | None, limit: int, cursor: str | None
    ) -> SessionPage: ...

    def expired(self, now: datetime, limit: int) -> list[UploadSession]:
        """Active sessions past their expiry (and cancelled ones whose multipart upload
        is not aborted yet), for the cleanup."""
        ...

    def mark_expired(self, session: UploadSession, now: datetime) -> bool:
        """Active and past expiry → expired; False if it moved on meanwhile."""
        ...


class DraftStore(Protocol):
    """Draft records plus key reservations; state changes are conditional writes."""

    def create(self, draft: Draft) -> None: ...

    def get(self, draft_id: str) -> Draft | None: ...

    def claim_confirmation(self, draft: Draft, now: datetime, until: datetime) -> bool:
        """Take the right to confirm; False if another holds it or the draft is not pending."""
        ...

    def release_confirmation(self, draft: Draft) -> None: ...

    def mark_confirmed(
        self, draft: Draft, now: datetime, key: str, etag: str, deduplicated: bool = False
    ) -> Draft:
        """Confirmed as the file at `key` (an earlier identical backup if `deduplicated`)."""
        ...

    def mark_discarded(self, draft: Draft, now: datetime) -> bool:
        """Pending → discarded; False if it is not pending or a confirm is under way."""
        ...

    def mark_expired(self, draft: Draft, now: datetime) -> bool: ...

    def expired(self, now: datetime, limit: int) -> list[Draft]: ...

    def claim_key(self, key: str, record_id: str, now: datetime, until: datetime) -> bool: ...

    def release_key(self, key: str, record_id: str) -> None: ...
