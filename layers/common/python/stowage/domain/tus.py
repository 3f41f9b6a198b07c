"""tus 1.0 resumable uploads over the ordinary upload sessions and files bucket.

A tus upload is an upload session (created by `UploadService.init_upload`, so key,
name and limits follow the usual rules) plus its tus progress. Each PATCH passes its
bytes through the function; S3 parts must be at least 5 MiB except the last, so as
tusd's s3store does, bytes that do not fill a part wait in an incomplete-part object
(the tail) and are folded into the next part.

One PATCH at a time: it takes the session's lease with a conditional write on the
offset it starts from, writes to S3 (a part, or a new tail named by the offset it ends
at), then moves the offset under the same lease. A crash in between leaves the offset
where it was and the lease to run out (it outlasts the function's timeout): the retry
from that offset writes the same part number or tail name again, so no byte is lost
or counted twice. The PATCH that reaches `Upload-Length` completes the multipart upload
and records the file as any completed upload.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import ValidationError

from stowage.domain.clock import utc_now
from stowage.domain.lease import Lease
from stowage.domain.parts import MAX_PARTS, MIN_PART_SIZE
from stowage.domain.ports import StoredPart
from stowage.domain.session import UploadSession
from stowage.domain.stored import META_UPLOAD
from stowage.domain.uploads import UPLOAD_ID, UploadService, index_entry
from stowage.domain.waiting import Patience
from stowage.errors import (
    FileTooLargeError,
    InvalidFieldError,
    MissingFieldError,
    OffsetMismatchError,
    PayloadTooLargeError,
    SizeMismatchError,
    StowageError,
    UploadCancelledError,
    UploadExpiredError,
    UploadNotFoundError,
)
from stowage.models.identity import Caller
from stowage.models.tus import TusCreation, TusProgress, TusState
from stowage.models.uploads import InitUploadRequest, InitUploadResponse
from stowage.units import MIB

MAX_CHUNK = 4 * MIB
"""The largest PATCH body: base64-encoded it stays inside Lambda's 6 MB payload."""
MAX_TUS_SIZE = MAX_PARTS * MIN_PART_SIZE
"""Parts are at least 5 MiB (one tail plus one chunk at most 9 MiB), so 10,000 of them
always hold this much."""
LOOKS = 3
"""Reads of the upload whose conditional write found it changed, before answering 409."""


@dataclass(frozen=True)
class TusUpload:
    session: UploadSession
    progress: TusProgress

    @property
    def completing_until(self) -> datetime | None:
        return self.session.completing_until


class TusStore(Protocol):
    """The tus progress of upload sessions; every change is a conditional write."""

    def start(self, session: UploadSession, metadata: str | None) -> None:
        """Make a new session a tus upload at offset 0."""
        ...

    def get_tus(self, upload_id: str) -> TusUpload | None:
        """The session with its tus progress; None if there is none (or it is not tus)."""
        ...

    def claim_append(self, upload: TusUpload, token: str, now: datetime, until: datetime) -> bool:
        """Take the lease if the upload is active, free and still at its offset."""
        ...

    def record_append(
        self, upload: TusUpload, token: str, progress: TusProgress, now: datetime, expires: datetime
    ) -> bool:
        """Move to `progress` and give the lease back, if the lease is still `token`'s."""
        ...

    def release_append(self, upload: TusUpload, token: str) -> None: ...


class TusParts(Protocol):
    """The S3 calls of an append: parts of the multipart upload and the tails."""

    def upload_part(self, key: str, s3_upload_id: str, part_number: int, data: bytes) -> str:
        """Upload (or replace) one part; answers its ETag."""
        ...

    def put_tail(self, upload_id: str, offset: int, data: bytes) -> None: ...

    def get_tail(self, upload_id: str, offset: int) -> bytes: ...

    def delete_tails(self, upload_id: str, keep: int | None = None) -> None:
        """Delete the upload's tails except the one ending at `keep`."""
        ...


@dataclass(frozen=True)
class TusRules:
    session_idle: timedelta
    append_lease: timedelta = timedelta(seconds=60)
    """Longer than the function's timeout: a lease that ran out has no living holder."""
    patience: Patience = Patience(wait=0.0, poll=0.1)


def parse_metadata(header: str | None) -> dict[str, str]:
    """`Upload-Metadata`: comma-separated `key base64value` pairs (the value optional)."""
    fields: dict[str, str] = {}
    for pair in (header or "").split(","):
        if not pair.strip():
            continue
        name, _, value = pair.strip().partition(" ")
        try:
            fields[name] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidFieldError(
                f"Upload-Metadata {name!r} is not base64 of UTF-8 text", field="Upload-Metadata"
            ) from exc
    return fields


def read_creation(length: str | None, metadata: str | None) -> TusCreation:
    """A creation's `Upload-Length` and `Upload-Metadata`, or a 400 naming the header."""
    if length is None:
        raise MissingFieldError("Upload-Length is required", field="Upload-Length")
    if not length.isdigit() or len(length) > 19:
        raise InvalidFieldError("Upload-Length must be a whole number", field="Upload-Length")
    fields = parse_metadata(metadata)
    if not fields.get("filename"):
        raise MissingFieldError(
            "Upload-Metadata needs filename (base64)", field="Upload-Metadata.filename"
        )
    return TusCreation(
        length=int(length),
        file_name=fields["filename"],
        content_type=fields.get("filetype") or None,
        metadata=metadata,
    )


def read_offset(header: str | None) -> int:
    if header is None or not header.isdigit() or len(header) > 19:
        raise InvalidFieldError("Upload-Offset must be a whole number", field="Upload-Offset")
    return int(header)


class TusService:
    """Every tus route is one method here; the handler only reads and writes headers."""

    def __init__(
        self,
        uploads: UploadService,
        store: TusStore,
        parts: TusParts,
        rules: TusRules,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.uploads = uploads
        self.store = store
        self.parts = parts
        self.rules = rules
        self.clock = clock

    def max_size(self, caller: Caller) -> int:
        return min(caller.max_file_size, self.uploads.rules.max_file_size, MAX_TUS_SIZE)

    # --- creation ---------------------------------------------------------------------
    def create(self, caller: Caller, creation: TusCreation, body: bytes | None) -> TusUpload:
        """A new upload; bytes sent with the creation are appended at offset 0."""
        if creation.length > MAX_TUS_SIZE:
            raise FileTooLargeError(
                f"tus uploads hold at most {MAX_TUS_SIZE} bytes", field="Upload-Length"
            )
        request = _init_request(creation)
        started = self.uploads.init_upload(caller, request)
        if not isinstance(started, InitUploadResponse):  # only backups are deduplicated
            raise InvalidFieldError("a tus upload cannot be a deduplicated backup")
        session = self.uploads.sessions.get(started.upload_id)
        if session is None:
            raise UploadNotFoundError("the new upload could not be read back")
        self.store.start(session, creation.metadata)
        upload = self._owned(caller, session.upload_id)
        if body or creation.length == 0:
            self.append(caller, session.upload_id, 0, body or b"")
            upload = self._owned(caller, session.upload_id)
        return upload

    # --- HEAD -------------------------------------------------------------------------
    def state(self, caller: Caller, upload_id: str) -> TusState:
        upload = self._owned(caller, upload_id)
        session = upload.session
        if session.status == "completed":
            return TusState(
                offset=session.size,
                length=session.size,
                expires_at=None,
                metadata=upload.progress.metadata,
            )
        _raise_for_state(session, self.clock())
        return TusState(
            offset=upload.progress.offset,
            length=session.size,
            expires_at=session.expires_at,
            metadata=upload.progress.metadata,
        )

    # --- PATCH ------------------------------------------------------------------------
    def append(self, caller: Caller, upload_id: str, offset: int, body: bytes) -> TusState:
        """Append `body` at `offset`; answers where the upload is now."""
        if len(body) > MAX_CHUNK:
            raise PayloadTooLargeError(
                f"a PATCH body holds at most {MAX_CHUNK} bytes (4 MiB); set the tus"
                f" client's chunk size to {MAX_CHUNK} or less"
            )
        for _ in range(LOOKS):
            done = self._try_append(caller, upload_id, offset, body)
            if done is not None:
                return done
        raise OffsetMismatchError(f"the upload moved on from offset {offset}; HEAD it")

    def _try_append(
        self, caller: Caller, upload_id: str, offset: int, body: bytes
    ) -> TusState | None:
        """One look: None when the lease could not be taken though the upload seemed free."""
        now = self.clock()
        upload = self._owned(caller, upload_id)
        settled = _settled(upload, offset, body, now)
        if settled is not None:
            return settled
        token = secrets.token_hex(16)
        lease = self._lease(token)
        if lease.held(upload, now):
            raise OffsetMismatchError(f"another PATCH is writing at offset {offset}")
        return lease.hold(upload, now, lambda: self._write(upload, body, token))

    def _lease(self, token: str) -> Lease[TusUpload]:
        return Lease(
            lambda upload, now, until: self.store.claim_append(upload, token, now, until),
            lambda upload: self.store.release_append(upload, token),
            self.rules.append_lease,
            self.rules.patience,
        )

    def _write(self, upload: TusUpload, body: bytes, token: str) -> TusState:
        session, before = upload.session, upload.progress
        end = before.offset + len(body)
        if end == session.size:
            return self._finish(upload, body)
        data = self._tail(upload) + body
        if len(data) >= MIN_PART_SIZE:
            number = before.parts + 1
            self.parts.upload_part(session.key, session.s3_upload_id, number, data)
            after = before.model_copy(
                update={"offset": end, "parts": number, "part_bytes": before.part_bytes + len(data)}
            )
        else:
            self.parts.put_tail(session.upload_id, end, data)
            after = before.model_copy(update={"offset": end})
        self._record(upload, token, after)
        if before.tail_size:
            self._forget_tails(session.upload_id, keep=end if after.tail_size else None)
        return TusState(
            offset=end,
            length=session.size,
            expires_at=self.clock() + self.rules.session_idle,
            metadata=before.metadata,
        )

    def _tail(self, upload: TusUpload) -> bytes:
        progress = upload.progress
        if not progress.tail_size:
            return b""
        data = self.parts.get_tail(upload.session.upload_id, progress.offset)
        if len(data) != progress.tail_size:
            raise SizeMismatchError("the stored incomplete part has the wrong size")
        return data

    def _record(self, upload: TusUpload, token: str, after: TusProgress) -> None:
        """Move the offset; a write that finds the upload changed looks whether it was
        its own (a resent write) before giving up the PATCH."""
        for _ in range(LOOKS):
            now = self.clock()
            expires = now + self.rules.session_idle
            if self.store.record_append(upload, token, after, now, expires):
                return
            now_held = self.store.get_tus(upload.session.upload_id)
            if now_held is not None and now_held.progress == after:
                return
        raise OffsetMismatchError("the upload changed while this PATCH wrote; HEAD it")

    # --- the last PATCH ---------------------------------------------------------------
    def _finish(self, upload: TusUpload, body: bytes) -> TusState:
        """Write the last part, complete the multipart upload and record the file."""
        session, before = upload.session, upload.progress
        held = self.uploads.storage.list_parts(session.key, session.s3_upload_id)
        if held is None:
            etag = self._completed_in_s3(session)
        else:
            data = self._tail(upload) + body
            count = before.parts
            if data or count == 0:
                count += 1
                etag = self.parts.upload_part(session.key, session.s3_upload_id, count, data)
                held = [p for p in held if p.part_number != count]
                held.append(StoredPart(count, len(data), etag))
            chosen = _chosen_parts(session, held, count)
            etag = self.uploads.storage.complete_multipart(
                session.key, session.s3_upload_id, chosen
            )
        now = self.clock()
        catalog = self.uploads.catalog
        kept = catalog.stored(session.owner, index_entry(session, now))
        twin = kept.key if kept.key != session.key else None
        self.uploads.sessions.mark_completed(session, now, etag, twin)
        if twin is not None:
            catalog.drop_duplicate(session.key)
        self._forget_tails(session.upload_id)
        return TusState(
            offset=session.size, length=session.size, expires_at=None, metadata=before.metadata
        )

    def _completed_in_s3(self, session: UploadSession) -> str:
        """The multipart upload is gone: completed by a PATCH whose recording failed (the
        object carries our upload id), or aborted."""
        info = self.uploads.storage.head(session.key)
        if info is None or info.metadata.get(META_UPLOAD) != session.upload_id:
            raise UploadExpiredError("the upload no longer exists in storage; start again")
        return info.etag

    def _forget_tails(self, upload_id: str, keep: int | None = None) -> None:
        # Tails left behind are removed with the upload, or by the bucket's lifecycle rule.
        try:
            self.parts.delete_tails(upload_id, keep)
        except StowageError:
            return

    # --- termination ------------------------------------------------------------------
    def terminate(self, caller: Caller, upload_id: str) -> None:
        self._owned(caller, upload_id)
        self.uploads.cancel_upload(caller, upload_id)
        self._forget_tails(upload_id)

    # --- shared checks ----------------------------------------------------------------
    def _owned(self, caller: Caller, upload_id: str) -> TusUpload:
        """The caller's tus upload, or 404; a terminated one is gone too."""
        upload = self.store.get_tus(upload_id) if UPLOAD_ID.match(upload_id) else None
        if upload is None or upload.session.client_id != caller.client_id:
            raise UploadNotFoundError(f"no tus upload {upload_id!r}")
        if upload.session.status == "cancelled":
            raise UploadNotFoundError(f"the tus upload {upload_id!r} was terminated")
        return upload


HEADER_OF = {"file_name": "Upload-Metadata.filename", "content_type": "Upload-Metadata.filetype"}


def _init_request(creation: TusCreation) -> InitUploadRequest:
    """The creation as an ordinary upload's init; a value it refuses is a 400 naming the
    tus header it came from."""
    try:
        return InitUploadRequest(
            file_name=creation.file_name, size=creation.length, content_type=creation.content_type
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        header = HEADER_OF.get(str(first["loc"][0]), "Upload-Length")
        raise InvalidFieldError(f"{header}: {first['msg']}", field=header) from exc


def _settled(upload: TusUpload, offset: int, body: bytes, now: datetime) -> TusState | None:
    """The answer when there is nothing to write (a completed upload, an empty chunk);
    raises when the PATCH cannot apply; None when it is to be written."""
    session, progress = upload.session, upload.progress
    if session.status == "completed":
        if offset == session.size and not body:
            return TusState(
                offset=offset, length=session.size, expires_at=None, metadata=progress.metadata
            )
        raise OffsetMismatchError(f"the upload is complete at offset {session.size}")
    _raise_for_state(session, now)
    if offset != progress.offset:
        raise OffsetMismatchError(f"the upload is at offset {progress.offset}, not {offset}")
    end = offset + len(body)
    if end > session.size:
        raise PayloadTooLargeError(f"the chunk ends at {end}, past Upload-Length {session.size}")
    if not body and end != session.size:
        return TusState(
            offset=offset,
            length=session.size,
            expires_at=session.expires_at,
            metadata=progress.metadata,
        )
    return None


def _raise_for_state(session: UploadSession, now: datetime) -> None:
    status = session.status_at(now)
    if status == "expired":
        raise UploadExpiredError("the tus upload expired; start a new one")
    if status == "cancelled":
        raise UploadCancelledError("the tus upload was terminated")


def _chosen_parts(session: UploadSession, held: list[StoredPart], count: int) -> list[StoredPart]:
    """Parts 1..count as S3 holds them; together exactly the upload's length."""
    by_number = {p.part_number: p for p in held if p.part_number <= count}
    chosen = [by_number[n] for n in range(1, count + 1) if n in by_number]
    if len(chosen) != count or sum(p.size for p in chosen) != session.size:
        raise SizeMismatchError("the stored parts do not add up to Upload-Length")
    return chosen
