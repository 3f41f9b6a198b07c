"""Two-stage uploads: a presigned POST into the drafts bucket, an optional preview,
then confirm (copy into the files bucket under the final key) or discard.

A draft only moves forward: pending → confirmed | discarded | expired. Confirm
records the file before it deletes the draft object, so a crash at any point
leaves either a draft to confirm again or a confirmed file; never neither.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from stowage.domain.catalog import (
    BackupOf,
    Catalog,
    IndexEntry,
    deduplicated,
)
from stowage.domain.categories import category_for, content_type_for
from stowage.domain.checksums import checked_value
from stowage.domain.clock import utc_now
from stowage.domain.draft import Draft
from stowage.domain.keys import content_disposition
from stowage.domain.lease import Lease
from stowage.domain.naming import choose_key
from stowage.domain.ports import Digest, DraftObjects, DraftStore, FileStore
from stowage.domain.stored import new_object
from stowage.domain.usage import NO_USAGE, UsageRecorder
from stowage.domain.waiting import Patience
from stowage.errors import (
    DraftConfirmedError,
    DraftConfirmingError,
    DraftExpiredError,
    DraftNotFoundError,
    DraftNotUploadedError,
    FileTooLargeError,
    MissingFieldError,
    SizeMismatchError,
    StorageError,
    StowageError,
)
from stowage.models.drafts import (
    ConfirmDraftResponse,
    CreateDraftRequest,
    CreateDraftResponse,
    DiscardDraftResponse,
    DraftStatusResponse,
    PresignedPost,
)
from stowage.models.files import DownloadLinkResponse
from stowage.models.identity import Caller, Owner
from stowage.models.uploads import DeduplicatedResponse
from stowage.units import MAX_SINGLE_REQUEST_SIZE

DRAFT_ID = re.compile(r"^dr_[A-Za-z0-9_-]{16,64}$")
DRAFTS_PREFIX = "drafts/"
LOOKS = 3
"""Reads of a draft whose conditional write found it changed, before giving up."""


def new_draft_id() -> str:
    return f"dr_{secrets.token_urlsafe(18)}"


@dataclass(frozen=True)
class DraftRules:
    """The knobs of the draft life cycle, from configuration."""

    upload_ttl: timedelta
    lifetime: timedelta
    url_ttl: int
    max_file_size: int
    confirm_lease: timedelta = timedelta(seconds=60)
    patience: Patience = field(default_factory=Patience)


class DraftService:
    """Every draft route is one method here; the handlers only parse and answer."""

    def __init__(
        self,
        drafts: DraftStore,
        objects: DraftObjects,
        files: FileStore,
        rules: DraftRules,
        catalog: Catalog,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = new_draft_id,
        usage: UsageRecorder = NO_USAGE,
    ) -> None:
        self.usage = usage
        self.drafts = drafts
        self.objects = objects
        self.files = files
        self.rules = rules
        self.catalog = catalog
        self.clock = clock
        self.new_id = new_id

    # --- upload-url -------------------------------------------------------------------
    def create_draft(
        self, caller: Caller, request: CreateDraftRequest
    ) -> CreateDraftResponse | DeduplicatedResponse:
        now = self.clock()
        new = self.catalog.admit(caller, request, now, self.rules.max_file_size)
        _check_draft_size(request.size)
        pinned = _pinned_checksum(request)
        if new.twin is not None:
            return deduplicated(new.twin)
        draft = self._new_draft(new.owner, (new.name, new.backup), request, now)
        self.drafts.create(draft)
        ttl = self.rules.upload_ttl
        form = self.objects.presign_post(
            draft.object_key, draft.content_type, draft.size, int(ttl.total_seconds()), pinned
        )
        upload = PresignedPost(url=form.url, fields=form.fields, expires_at=now + ttl)
        return CreateDraftResponse(
            draft_id=draft.draft_id, upload=upload, expires_at=draft.expires_at
        )

    def adopt_draft(self, caller: Caller, request: CreateDraftRequest, draft_id: str) -> None:
        """Record a draft whose bytes already sit at `drafts/{draft_id}` (a browser's POST,
        told by S3's event), unless it is recorded already: events come more than once."""
        if self.drafts.get(draft_id) is not None:
            return
        now = self.clock()
        new = self.catalog.admit(caller, request, now, self.rules.max_file_size)
        _check_draft_size(request.size)
        draft = self._new_draft(new.owner, (new.name, new.backup), request, now, draft_id)
        try:
            self.drafts.create(draft)
        except StowageError:
            if self.drafts.get(draft_id) is None:  # not a twin event that recorded it first
                raise

    def _new_draft(
        self,
        owner: Owner,
        naming: tuple[str, BackupOf | None],
        request: CreateDraftRequest,
        now: datetime,
        draft_id: str | None = None,
    ) -> Draft:
        (name, backup), draft_id = naming, draft_id or self.new_id()
        return Draft(
            draft_id=draft_id,
            client_id=owner.client_id,
            key_prefix=owner.key_prefix,
            role=owner.role,
            user_id=owner.user_id,
            file_name=name,
            path=request.path,
            content_type=content_type_for(name, request.content_type),
            size=request.size,
            overwrite=request.overwrite,
            object_key=f"{DRAFTS_PREFIX}{draft_id}",
            status="pending",
            created_at=now,
            updated_at=now,
            expires_at=now + self.rules.lifetime,
            sha256=request.sha256,
            app=backup.app if backup else None,
            iteration=backup.iteration if backup else None,
        )

    # --- status and preview -----------------------------------------------------------
    def get_status(self, caller: Caller, draft_id: str) -> DraftStatusResponse:
        draft = self._owned(caller, draft_id)
        status = draft.status_at(self.clock())
        uploaded = status == "pending" and self.objects.head(draft.object_key) is not None
        return DraftStatusResponse(
            draft_id=draft.draft_id,
            status="uploaded" if uploaded else status,
            file_name=draft.file_name,
            path=draft.path,
            content_type=draft.content_type,
            size=draft.size,
            user_id=draft.user_id,
            role=draft.role,
            key=draft.key,
            created_at=draft.created_at,
            updated_at=draft.updated_at,
            expires_at=draft.expires_at,
        )

    def preview_link(self, caller: Caller, draft_id: str) -> DownloadLinkResponse:
        """A presigned GET of the draft's bytes (of the file, once confirmed)."""
        now = self.clock()
        draft = self._owned(caller, draft_id)
        ttl = self.rules.url_ttl
        disposition = content_disposition(draft.file_name)
        if draft.status == "confirmed" and draft.key:
            url = self.files.presign_get(draft.key, ttl, disposition)
        else:
            _raise_for_state(draft, now)
            if self.objects.head(draft.object_key) is None:
                raise DraftNotUploadedError("nothing was uploaded to this draft yet")
            url = self.objects.presign_get(draft.object_key, ttl, disposition)
        return DownloadLinkResponse(url=url, expires_at=now + timedelta(seconds=ttl))

    # --- confirm ----------------------------------------------------------------------
    def confirm(self, caller: Caller, draft_id: str) -> ConfirmDraftResponse:
        """Confirm once, however many callers race: one takes a lease and copies, the
        others wait for its answer (or take over if its lease runs out)."""
        return self.usage.counting_failures(
            caller.client_id,
            lambda: self.confirm_lease().until_answered(
                lambda: self._try_confirm(caller, draft_id),
                lambda: DraftConfirmingError("the draft is being confirmed; retry shortly"),
            ),
        )

    def confirm_lease(self) -> Lease[Draft]:
        return Lease(
            self.drafts.claim_confirmation,
            self.drafts.release_confirmation,
            self.rules.confirm_lease,
            self.rules.patience,
        )

    def _try_confirm(self, caller: Caller, draft_id: str) -> ConfirmDraftResponse | None:
        now, lease = self.clock(), self.confirm_lease()
        draft = self._owned(caller, draft_id)
        if draft.status == "confirmed":
            return _confirmed_answer(draft)
        _raise_for_state(draft, now)
        if lease.held(draft, now):
            return None
        if not self._uploaded(draft):
            if self._owned(caller, draft_id) != draft:
                return None  # confirmed (and its draft deleted) meanwhile: look again
            raise DraftNotUploadedError("nothing was uploaded to this draft yet")
        confirmed = lease.hold(draft, now, lambda: self._store(draft, now))
        if confirmed is None:
            return None
        self._delete_draft_object(draft)
        return _confirmed_answer(confirmed)

    def _uploaded(self, draft: Draft) -> bool:
        """Whether the draft's bytes are there; 409 if they are not what was declared."""
        info = self.objects.head(draft.object_key)
        if info is None:
            return False
        if info.size != draft.size:
            raise SizeMismatchError(
                f"the draft holds {info.size} bytes, not the {draft.size} declared; upload it again"
            )
        return True

    def _store(self, draft: Draft, now: datetime) -> Draft:
        """Copy into the files bucket, catalogue it (a duplicate backup is dropped for the
        earlier copy), and record the draft as confirmed."""
        key, etag = self._copy_to_files(draft, now)
        entry = IndexEntry(
            key=key,
            file_name=draft.file_name,
            category=category_for(draft.content_type),
            size=draft.size,
            stored_at=now,
            sha256=draft.sha256,
            app=draft.app,
            iteration=draft.iteration,
        )
        kept = self.catalog.stored(draft.owner, entry)
        confirmed = self.drafts.mark_confirmed(draft, self.clock(), kept.key, etag, kept.key != key)
        if kept.key != key:
            self.catalog.drop_duplicate(key)
        self.usage.add(draft.client_id, draft.draft_id, uploads=1, bytes=draft.size, confirmed=1)
        return confirmed

    def _copy_to_files(self, draft: Draft, now: datetime) -> tuple[str, str]:
        key = choose_key(
            self.files,
            self.drafts,
            draft.owner,
            (now, now + self.rules.confirm_lease * 2),
            (category_for(draft.content_type), draft.file_name),
            draft.draft_id,
            overwrite=draft.overwrite,
            path=draft.path,
        )
        new = new_object(
            key, draft.content_type, draft.owner, draft.draft_id, draft.file_name, draft.sha256
        )
        return key, self.files.copy_from(self.objects.bucket, draft.object_key, new)

    def _delete_draft_object(self, draft: Draft) -> None:
        # The file is safe in the files bucket; a draft object left behind by a failed
        # delete is removed by the cleanup once its lifetime is over.
        try:
            self.objects.delete(draft.object_key)
        except StorageError:
            return

    # --- discard ----------------------------------------------------------------------
    def discard(self, caller: Caller, draft_id: str) -> DiscardDraftResponse:
        """Discard and delete the draft's bytes. Discarding twice is fine."""
        draft = self._discarded(caller, draft_id, self.clock())
        self.objects.delete(draft.object_key)
        return DiscardDraftResponse(draft_id=draft_id, status="discarded")

    def _discarded(self, caller: Caller, draft_id: str, now: datetime) -> Draft:
        """The draft, marked discarded unless it already was. When the write finds it
        changed, look again: it may be confirmed, expired, or free again (a confirm that
        failed and gave its lease back)."""
        for _ in range(LOOKS):
            draft = self._owned(caller, draft_id)
            if draft.status == "discarded":
                return draft
            _raise_for_discard(draft, now)
            if self.drafts.mark_discarded(draft, now):
                return draft
        raise DraftConfirmingError("the draft changed meanwhile; retry")

    # --- shared checks ----------------------------------------------------------------
    def _owned(self, caller: Caller, draft_id: str) -> Draft:
        """The caller's draft, or 404, also for other clients' drafts."""
        draft = self.drafts.get(draft_id) if DRAFT_ID.match(draft_id) else None
        if draft is None or draft.client_id != caller.client_id:
            raise DraftNotFoundError(f"no draft {draft_id!r}")
        return draft


def _check_draft_size(size: int) -> None:
    if size > MAX_SINGLE_REQUEST_SIZE:
        raise FileTooLargeError(
            f"drafts hold at most {MAX_SINGLE_REQUEST_SIZE} bytes; "
            "use a multipart upload (POST /v1/uploads) for larger files",
            field="size",
        )


def _pinned_checksum(request: CreateDraftRequest) -> Digest | None:
    """The checksum the POST policy pins: `checksum_algorithm` and `checksum` together."""
    algorithm, value = request.checksum_algorithm, request.checksum
    if algorithm is None and value is None:
        return None
    if algorithm is None:
        raise MissingFieldError("checksum needs checksum_algorithm", field="checksum_algorithm")
    if value is None:
        raise MissingFieldError("checksum_algorithm needs checksum", field="checksum")
    return Digest(algorithm, checked_value(algorithm, value, "checksum"))


def _raise_for_state(draft: Draft, now: datetime) -> None:
    status = draft.status_at(now)
    if status == "expired":
        raise DraftExpiredError("the draft expired; create a new one")
    if status == "discarded":
        raise DraftExpiredError("the draft was discarded; create a new one")


def _raise_for_discard(draft: Draft, now: datetime) -> None:
    """Why a draft cannot be discarded now (nothing, if it is already discarded)."""
    if draft.status == "confirmed" or Lease.held(draft, now):
        raise DraftConfirmedError("the draft is confirmed or being confirmed")
    if draft.status != "discarded":
        _raise_for_state(draft, now)


def _confirmed_answer(draft: Draft) -> ConfirmDraftResponse:
    return ConfirmDraftResponse(
        draft_id=draft.draft_id,
        key=draft.key or "",
        size=draft.size,
        status="confirmed",
        deduplicated=draft.deduplicated,
    )
