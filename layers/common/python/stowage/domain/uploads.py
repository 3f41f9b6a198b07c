"""The life of a resumable multipart upload: init, sign parts, status, complete, cancel.

S3 is the truth about which parts exist (ListParts); the session table is the
truth about the upload's state, which only moves forward:
initiated → in_progress → completed, or → cancelled / expired.
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
from stowage.domain.checksums import checked_value, header_for, parts_to_sign, required_algorithm
from stowage.domain.clock import utc_now
from stowage.domain.lease import Lease
from stowage.domain.naming import choose_key
from stowage.domain.parts import MAX_PARTS, MIN_PART_SIZE, PartPlan, plan_parts
from stowage.domain.ports import Digest, ObjectStore, SessionStore, StoredPart
from stowage.domain.session import ACTIVE, UploadSession
from stowage.domain.stored import META_UPLOAD, new_object
from stowage.domain.usage import NO_USAGE, UsageRecorder
from stowage.domain.waiting import Patience
from stowage.errors import (
    FileTooLargeError,
    InvalidFieldError,
    SizeMismatchError,
    StowageError,
    UploadCancelledError,
    UploadCompletedError,
    UploadCompletingError,
    UploadExpiredError,
    UploadIncompleteError,
    UploadNotFoundError,
)
from stowage.models.identity import Caller, Owner
from stowage.models.uploads import (
    CancelUploadResponse,
    CompleteUploadRequest,
    CompleteUploadResponse,
    DeduplicatedResponse,
    InitUploadRequest,
    InitUploadResponse,
    SignedPart,
    SignPartsRequest,
    SignPartsResponse,
    UploadedPart,
    UploadListResponse,
    UploadStatusResponse,
    UploadSummary,
)

UPLOAD_ID = re.compile(r"^up_[A-Za-z0-9_-]{16,64}$")
LOOKS = 3
"""Reads of a record whose conditional write found it changed, before giving up."""


def new_upload_id() -> str:
    return f"up_{secrets.token_urlsafe(18)}"


@dataclass(frozen=True)
class UploadRules:
    """The knobs of the upload life cycle, from configuration."""

    part_url_ttl: int
    default_part_size: int
    max_file_size: int
    session_idle: timedelta
    record_retention: timedelta
    completion_lease: timedelta = timedelta(seconds=60)
    patience: Patience = field(default_factory=Patience)


class UploadService:
    """Every upload route is one method here; the handlers only parse and answer."""

    def __init__(
        self,
        sessions: SessionStore,
        storage: ObjectStore,
        rules: UploadRules,
        catalog: Catalog,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = new_upload_id,
        usage: UsageRecorder = NO_USAGE,
    ) -> None:
        self.usage = usage
        self.sessions = sessions
        self.storage = storage
        self.rules = rules
        self.catalog = catalog
        self.clock = clock
        self.new_id = new_id

    # --- init -------------------------------------------------------------------------
    def init_upload(
        self, caller: Caller, request: InitUploadRequest
    ) -> InitUploadResponse | DeduplicatedResponse:
        now = self.clock()
        new = self.catalog.admit(caller, request, now, self.rules.max_file_size)
        if new.twin is not None:
            return deduplicated(new.twin)
        session = self._start(new.owner, (new.name, new.backup), request, now)
        return InitUploadResponse(**_init_fields(session))

    def init_open_upload(
        self, caller: Caller, request: InitUploadRequest, size_limit: int
    ) -> InitUploadResponse:
        """An upload whose size is known only when it completes (a browser's, through
        Uppy, which sends none): any part 1..10,000 may be signed, of any length, and
        complete refuses (and aborts) more than `size_limit` bytes in all."""
        now = self.clock()
        new = self.catalog.admit(caller, request, now, self.rules.max_file_size)
        session = self._start(new.owner, (new.name, None), request, now, size_limit)
        return InitUploadResponse(**_init_fields(session))

    def _start(
        self,
        owner: Owner,
        naming: tuple[str, BackupOf | None],
        request: InitUploadRequest,
        now: datetime,
        size_limit: int | None = None,
    ) -> UploadSession:
        name, backup = naming
        plan = (
            plan_parts(request.size, request.part_size, self.rules.default_part_size)
            if size_limit is None
            else PartPlan(size=0, part_size=MIN_PART_SIZE, part_count=MAX_PARTS)
        )
        content_type = content_type_for(name, request.content_type)
        upload_id = self.new_id()
        key = choose_key(
            self.storage,
            self.sessions,
            owner,
            (now, now + self.rules.record_retention),
            (category_for(content_type), name),
            upload_id,
            overwrite=request.overwrite,
            path=request.path,
        )
        new = new_object(key, content_type, owner, upload_id, name, request.sha256)
        s3_upload_id = self.storage.create_multipart(new, request.checksum_algorithm)
        session = UploadSession(
            upload_id=upload_id,
            client_id=owner.client_id,
            key_prefix=owner.key_prefix,
            role=owner.role,
            user_id=owner.user_id,
            key=key,
            file_name=name,
            path=request.path,
            content_type=content_type,
            size=plan.size,
            part_size=plan.part_size,
            part_count=plan.part_count,
            sha256=request.sha256,
            s3_upload_id=s3_upload_id,
            status="initiated",
            created_at=now,
            updated_at=now,
            expires_at=now + self.rules.session_idle,
            app=backup.app if backup else None,
            iteration=backup.iteration if backup else None,
            checksum_algorithm=request.checksum_algorithm,
            size_limit=size_limit,
        )
        self._record_or_abort(session)
        return session

    def _record_or_abort(self, session: UploadSession) -> None:
        """Never leave a multipart upload in S3 that no session knows about."""
        try:
            self.sessions.create(session)
        except StowageError:
            self.storage.abort_multipart(session.key, session.s3_upload_id)
            self.sessions.release_key(session.key, session.upload_id)
            raise

    # --- parts ------------------------------------------------------------------------
    def sign_parts(
        self, caller: Caller, upload_id: str, request: SignPartsRequest
    ) -> SignPartsResponse:
        now = self.clock()
        session, wanted = self._touched(caller, upload_id, request, now) or self._checked(
            caller, upload_id, request, now
        )
        numbers = sorted(wanted)
        ttl = self.rules.part_url_ttl
        expires_at = now + timedelta(seconds=ttl)
        parts = [self._signed(session, n, wanted[n], ttl, expires_at) for n in numbers]
        return SignPartsResponse(upload_id=upload_id, parts=parts)

    def _touched(
        self, caller: Caller, upload_id: str, request: SignPartsRequest, now: datetime
    ) -> tuple[UploadSession, dict[int, str | None]] | None:
        """The session's checks ride on the touch itself (owner, state, the last part
        number within the plan): one write instead of a read and a write. Checksums are
        checked against the algorithm of the session the touch answers, so a refused
        one has still touched it. None when the write does not apply; `_checked` then
        finds out why, in its order."""
        if not UPLOAD_ID.match(upload_id):
            return None
        numbers = [*(request.part_numbers or []), *(p.part_number for p in request.parts or [])]
        if not numbers or min(numbers) < 1:
            return None
        expires_at = now + self.rules.session_idle
        session = self.sessions.touch_own(
            upload_id, caller.client_id, now, expires_at, max(numbers)
        )
        if session is None:
            return None
        pairs = [(p.part_number, p.checksum) for p in request.parts] if request.parts else None
        return session, parts_to_sign(request.part_numbers, pairs, session.checksum_algorithm)

    def _checked(
        self, caller: Caller, upload_id: str, request: SignPartsRequest, now: datetime
    ) -> tuple[UploadSession, dict[int, str | None]]:
        """Read the session, check the request against it, then touch it."""
        session = self._active(caller, upload_id, now)
        pairs = [(p.part_number, p.checksum) for p in request.parts] if request.parts else None
        wanted = parts_to_sign(request.part_numbers, pairs, session.checksum_algorithm)
        outside = [n for n in sorted(wanted) if not 1 <= n <= session.part_count]
        if outside:
            raise InvalidFieldError(
                f"part numbers must be within 1..{session.part_count}", field="part_numbers"
            )
        if not self.sessions.touch(session, now, now + self.rules.session_idle):
            self._raise_for_state(self._owned(caller, upload_id), now)
        return session, wanted

    def _signed(
        self, session: UploadSession, number: int, checksum: str | None, ttl: int, until: datetime
    ) -> SignedPart:
        """One part's URL; with a checksum, the header its PUT must carry, signed in."""
        size = _signed_size(session, number)
        digest = _digest(session, checksum)
        url = self.storage.presign_part(
            session.key, session.s3_upload_id, number, size, ttl, digest
        )
        headers = {header_for(digest.algorithm): digest.value} if digest else {}
        return SignedPart(
            part_number=number, url=url, size=size or 0, expires_at=until, headers=headers
        )

    # --- status -----------------------------------------------------------------------
    def get_status(self, caller: Caller, upload_id: str) -> UploadStatusResponse:
        now = self.clock()
        session = self._owned(caller, upload_id)
        status = session.status_at(now)
        held: list[StoredPart] = []
        if status in ACTIVE:
            listed = self.storage.list_parts(session.key, session.s3_upload_id)
            status = status if listed is not None else "expired"
            held = [p for p in listed or [] if p.part_number <= session.part_count]
        return _status_answer(session, status, held)

    # --- complete ---------------------------------------------------------------------
    def complete_upload(
        self, caller: Caller, upload_id: str, request: CompleteUploadRequest | None
    ) -> CompleteUploadResponse:
        """Complete once, however many callers race: one takes a lease, the rest wait
        for its answer (or take over if its lease runs out)."""
        return self.usage.counting_failures(
            caller.client_id,
            lambda: self.completion_lease().until_answered(
                lambda: self._try_complete(caller, upload_id, request),
                lambda: UploadCompletingError("the upload is being completed; retry shortly"),
            ),
        )

    def completion_lease(self) -> Lease[UploadSession]:
        return Lease(
            self.sessions.claim_completion,
            self.sessions.release_completion,
            self.rules.completion_lease,
            self.rules.patience,
        )

    def _try_complete(
        self, caller: Caller, upload_id: str, request: CompleteUploadRequest | None
    ) -> CompleteUploadResponse | None:
        now, lease = self.clock(), self.completion_lease()
        session = self._owned(caller, upload_id)
        if session.status == "completed":
            return _completed_answer(session)
        self._raise_for_state(session, now)
        if lease.held(session, now):
            return None
        digest = _digest(session, request.checksum if request else None, "checksum")
        held = self.storage.list_parts(session.key, session.s3_upload_id)
        if held is None:
            return self._recover_completed(session, now)
        if session.size_limit is None:
            chosen, plan = _verified_parts(session, held, request), None
        else:
            chosen = _claimed_parts(held, request)
            plan = self._within_limit(session, chosen, now)
        # Whatever fails under the lease, a retry need not wait for it to run out: it
        # finds the upload still open, or completed in S3 and only to be recorded.
        return lease.hold(
            session,
            now,
            lambda: self._finish(
                session,
                self.storage.complete_multipart(session.key, session.s3_upload_id, chosen, digest),
                plan,
            ),
        )

    def _within_limit(
        self, session: UploadSession, chosen: list[StoredPart], now: datetime
    ) -> PartPlan:
        """The size an upload of unknown size turned out to have; over its limit, the
        upload is cancelled and aborted (nothing is stored) and the answer is 413."""
        total, limit = sum(p.size for p in chosen), session.size_limit or 0
        if total <= limit:
            return PartPlan(size=total, part_size=chosen[0].size, part_count=len(chosen))
        if self.sessions.mark_cancelled(session, now):
            self.storage.abort_multipart(session.key, session.s3_upload_id)
            self.sessions.mark_aborted(session)
            self.sessions.release_key(session.key, session.upload_id)
        raise FileTooLargeError(
            f"the upload holds {total} bytes, over its limit of {limit}; it is cancelled",
            field="size",
        )

    def _finish(
        self, session: UploadSession, etag: str, plan: PartPlan | None = None
    ) -> CompleteUploadResponse:
        """Record the stored file in the user's catalog, then the session as completed
        (pointing at an earlier identical backup if the catalog found one), and only then
        drop the duplicate copy: a failure in between leaves the copy, never neither."""
        now = self.clock()
        if plan is not None:
            session = session.model_copy(update={"size": plan.size})
        kept = self.catalog.stored(session.owner, index_entry(session, now))
        twin = kept.key if kept.key != session.key else None
        completed = self.sessions.mark_completed(session, now, etag, twin, plan)
        if twin is not None:
            self.catalog.drop_duplicate(session.key)
        self.usage.add(session.client_id, session.upload_id, uploads=1, bytes=session.size)
        return _completed_answer(completed)

    def _recover_completed(self, session: UploadSession, now: datetime) -> CompleteUploadResponse:
        """The multipart upload is gone: either a completion finished but was not recorded
        (a crash, a timeout) — the object then carries our upload id — or S3 aborted it."""
        info = self.storage.head(session.key)
        if info is None or info.metadata.get(META_UPLOAD) != session.upload_id:
            raise UploadExpiredError("the upload no longer exists in storage; start again")
        plan = None
        if session.size_limit is not None:  # its parts are gone; the object tells the size
            plan = PartPlan(size=info.size, part_size=info.size, part_count=1)
        return self._finish(session, info.etag, plan)

    # --- cancel -----------------------------------------------------------------------
    def cancel_upload(self, caller: Caller, upload_id: str) -> CancelUploadResponse:
        """Cancel and abort in S3. Cancelling twice is fine and retries the abort."""
        session = self._cancelled(caller, upload_id, self.clock())
        self.storage.abort_multipart(session.key, session.s3_upload_id)
        self.sessions.mark_aborted(session)
        self.sessions.release_key(session.key, upload_id)
        return CancelUploadResponse(upload_id=upload_id, status="cancelled")

    def _cancelled(self, caller: Caller, upload_id: str, now: datetime) -> UploadSession:
        """The session, marked cancelled unless it already was. When the write finds it
        changed, look again: it may have ended, be under completion, or be free again
        (a completion that failed and gave its lease back)."""
        for _ in range(LOOKS):
            session = self._owned(caller, upload_id)
            if session.status == "cancelled":
                return session
            self._raise_for_state(session, now)
            if Lease.held(session, now):
                break
            if self.sessions.mark_cancelled(session, now):
                return session
        raise UploadCompletedError("the upload is completed or being completed")

    # --- list -------------------------------------------------------------------------
    def list_uploads(
        self, caller: Caller, status: str | None, limit: int, cursor: str | None
    ) -> UploadListResponse:
        now = self.clock()
        stored = None if status in (None, "expired") else status
        page = self.sessions.list_for_client(caller.client_id, stored, limit, cursor)
        summaries = [
            UploadSummary(
                upload_id=s.upload_id,
                key=s.key,
                file_name=s.file_name,
                path=s.path,
                size=s.size,
                status=s.status_at(now),
                created_at=s.created_at,
                expires_at=s.expires_at,
            )
            for s in page.sessions
        ]
        if status is not None:
            summaries = [s for s in summaries if s.status == status]
        return UploadListResponse(uploads=summaries, next_cursor=page.cursor)

    # --- shared checks ----------------------------------------------------------------
    def find_own(self, caller: Caller, upload_id: str) -> UploadSession:
        """The caller's upload session, or 404 (UPLOAD_NOT_FOUND)."""
        return self._owned(caller, upload_id)

    def _owned(self, caller: Caller, upload_id: str) -> UploadSession:
        """The caller's upload, or 404 — also for other clients' uploads, so existence
        never leaks across tenants."""
        session = self.sessions.get(upload_id) if UPLOAD_ID.match(upload_id) else None
        if session is None or session.client_id != caller.client_id:
            raise UploadNotFoundError(f"no upload {upload_id!r}")
        return session

    def _active(self, caller: Caller, upload_id: str, now: datetime) -> UploadSession:
        session = self._owned(caller, upload_id)
        self._raise_for_state(session, now)
        return session

    @staticmethod
    def _raise_for_state(session: UploadSession, now: datetime) -> None:
        status = session.status_at(now)
        if status == "completed":
            raise UploadCompletedError("the upload is already completed")
        if status == "cancelled":
            raise UploadCancelledError("the upload was cancelled")
        if status == "expired":
            raise UploadExpiredError("the upload expired; start a new one")


def _digest(session: UploadSession, value: str | None, field: str = "parts") -> Digest | None:
    """A checksum given for this upload, checked against its algorithm (400 if it has none)."""
    if value is None:
        return None
    algorithm = required_algorithm(session.checksum_algorithm, field)
    return Digest(algorithm, checked_value(algorithm, value, field))


def _plain_etag(etag: str) -> str:
    return etag.strip().strip('"')


def _signed_size(session: UploadSession, part_number: int) -> int | None:
    """The exact length a part's URL is signed for; None (any) in an upload of unknown size."""
    return None if session.size_limit is not None else session.plan.size_of(part_number)


def _claimed_parts(
    held: list[StoredPart], request: CompleteUploadRequest | None
) -> list[StoredPart]:
    """For an upload of unknown size: the parts the client lists (each held by S3 with
    that ETag), else every part S3 holds; in order."""
    by_number = {p.part_number: p for p in held}
    claimed = {p.part_number: _plain_etag(p.etag) for p in (request.parts or [])} if request else {}
    if not claimed:
        if not held:
            raise UploadIncompleteError("no part is uploaded yet", missing=[1])
        return sorted(held, key=lambda p: p.part_number)
    wrong = [
        n
        for n, tag in sorted(claimed.items())
        if n not in by_number or _plain_etag(by_number[n].etag) != tag
    ]
    if wrong:
        raise UploadIncompleteError(
            f"{len(wrong)} of the parts listed are not held by S3 with those ETags", missing=wrong
        )
    return [by_number[n] for n in sorted(claimed)]


def _verified_parts(
    session: UploadSession, held: list[StoredPart], request: CompleteUploadRequest | None
) -> list[StoredPart]:
    """Parts 1..part_count as S3 holds them, each of the size the plan expects."""
    by_number = {p.part_number: p for p in held if p.part_number <= session.part_count}
    expected = range(1, session.part_count + 1)
    missing = [n for n in expected if n not in by_number]
    if missing:
        raise UploadIncompleteError(
            f"{len(missing)} of {session.part_count} parts are not uploaded", missing=missing
        )
    wrong = [n for n in expected if by_number[n].size != session.plan.size_of(n)]
    if wrong:
        raise SizeMismatchError(
            f"{len(wrong)} parts have the wrong size; upload them again", missing=wrong
        )
    claimed = {p.part_number: _plain_etag(p.etag) for p in (request.parts or [])} if request else {}
    differ = [
        n
        for n, tag in sorted(claimed.items())
        if n in by_number and _plain_etag(by_number[n].etag) != tag
    ]
    if differ:
        raise UploadIncompleteError(
            "S3 holds other data than the ETags given for some parts", missing=differ
        )
    return [by_number[n] for n in expected]


def _init_fields(session: UploadSession) -> dict[str, object]:
    return {
        "upload_id": session.upload_id,
        "key": session.key,
        "part_size": session.part_size,
        "part_count": session.part_count,
        "status": session.status,
        "expires_at": session.expires_at,
        "checksum_algorithm": session.checksum_algorithm,
    }


def _status_answer(
    session: UploadSession, status: str, held: list[StoredPart]
) -> UploadStatusResponse:
    done = status == "completed"
    fields = _init_fields(session) | {"status": status}
    return UploadStatusResponse.model_validate(
        fields
        | {
            "file_name": session.file_name,
            "path": session.path,
            "content_type": session.content_type,
            "size": session.size,
            "user_id": session.user_id,
            "role": session.role,
            "parts_uploaded": session.part_count if done else len(held),
            "bytes_uploaded": session.size if done else sum(p.size for p in held),
            "parts": [
                UploadedPart(
                    part_number=p.part_number, size=p.size, etag=p.etag, checksum=p.checksum
                )
                for p in sorted(held, key=lambda p: p.part_number)
            ],
            "created_at": session.created_at,
            "updated_at": session.updated_at,
        }
    )


def _completed_answer(session: UploadSession) -> CompleteUploadResponse:
    return CompleteUploadResponse(
        upload_id=session.upload_id,
        key=session.key,
        size=session.size,
        etag=session.etag or "",
        status="completed",
        deduplicated=session.deduplicated,
    )


def index_entry(session: UploadSession, now: datetime) -> IndexEntry:
    return IndexEntry(
        key=session.key,
        file_name=session.file_name,
        category=category_for(session.content_type),
        size=session.size,
        stored_at=now,
        sha256=session.sha256,
        app=session.app,
        iteration=session.iteration,
    )
