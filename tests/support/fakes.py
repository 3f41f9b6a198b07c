"""In-memory stand-ins for the domain's ports, with the same conditional semantics."""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from awscrt import checksums

from stowage.domain.catalog import Catalog, CatalogRules
from stowage.domain.checksums import FULL_OBJECT, StoredChecksum
from stowage.domain.ports import Digest, NewObject, ObjectInfo, SessionPage, StoredPart
from stowage.domain.session import ACTIVE, UploadSession
from stowage.domain.uploads import UploadRules, UploadService
from stowage.domain.waiting import Patience
from stowage.errors import ChecksumMismatchError


class FakeSessionStore:
    def __init__(self) -> None:
        self.sessions: dict[str, UploadSession] = {}
        self.keys: dict[str, tuple[str, datetime]] = {}
        self.lock = threading.Lock()

    def create(self, session: UploadSession) -> None:
        with self.lock:
            assert session.upload_id not in self.sessions
            self.sessions[session.upload_id] = session

    def get(self, upload_id: str) -> UploadSession | None:
        return self.sessions.get(upload_id)

    def _free(self, s: UploadSession, now: datetime) -> bool:
        lease = s.completing_until
        return s.status in ACTIVE and s.expires_at > now and (lease is None or lease < now)

    def _replace(self, s: UploadSession, **changes: object) -> UploadSession:
        self.sessions[s.upload_id] = s.model_copy(update=changes)
        return self.sessions[s.upload_id]

    def touch(self, session: UploadSession, now: datetime, expires_at: datetime) -> bool:
        with self.lock:
            current = self.sessions[session.upload_id]
            if not self._free(current, now):
                return False
            self._replace(current, status="in_progress", updated_at=now, expires_at=expires_at)
            return True

    def touch_own(
        self, upload_id: str, client_id: str, now: datetime, expires_at: datetime, last_part: int
    ) -> UploadSession | None:
        with self.lock:
            current = self.sessions.get(upload_id)
            if current is None or current.client_id != client_id:
                return None
            if current.part_count < last_part or not self._free(current, now):
                return None
            return self._replace(
                current, status="in_progress", updated_at=now, expires_at=expires_at
            )

    def claim_completion(self, session: UploadSession, now: datetime, until: datetime) -> bool:
        with self.lock:
            current = self.sessions[session.upload_id]
            if not self._free(current, now):
                return False
            self._replace(current, completing_until=until)
            return True

    def release_completion(self, session: UploadSession) -> None:
        with self.lock:
            self._replace(self.sessions[session.upload_id], completing_until=None)

    def mark_completed(
        self,
        session: UploadSession,
        now: datetime,
        etag: str,
        twin: str | None = None,
        plan: Any = None,
    ) -> UploadSession:
        with self.lock:
            current = self.sessions[session.upload_id]
            moved: dict[str, Any] = {"key": twin, "deduplicated": True} if twin else {}
            if plan is not None:
                moved |= {"size": plan.size, "part_size": plan.part_size}
                moved |= {"part_count": plan.part_count}
            return self._replace(
                current,
                status="completed",
                etag=etag,
                updated_at=now,
                completing_until=None,
                **moved,
            )

    def mark_cancelled(self, session: UploadSession, now: datetime) -> bool:
        with self.lock:
            current = self.sessions[session.upload_id]
            lease = current.completing_until
            if current.status not in ACTIVE or (lease is not None and lease >= now):
                return False
            self._replace(current, status="cancelled", updated_at=now)
            return True

    def mark_aborted(self, session: UploadSession) -> None:
        """Nothing to do: cancelled sessions never show in this fake's `expired`."""

    def claim_key(self, key: str, upload_id: str, now: datetime, until: datetime) -> bool:
        with self.lock:
            holder = self.keys.get(key)
            if holder and holder[0] != upload_id and holder[1] >= now:
                return False
            self.keys[key] = (upload_id, until)
            return True

    def release_key(self, key: str, upload_id: str) -> None:
        with self.lock:
            if self.keys.get(key, ("",))[0] == upload_id:
                del self.keys[key]

    def list_for_client(
        self, client_id: str, status: str | None, limit: int, cursor: str | None
    ) -> SessionPage:
        mine = sorted(
            (s for s in self.sessions.values() if s.client_id == client_id),
            key=lambda s: s.created_at,
            reverse=True,
        )
        if status:
            mine = [s for s in mine if s.status == status]
        start = int(cursor or 0)
        page = mine[start : start + limit]
        more = start + limit < len(mine)
        return SessionPage(sessions=page, cursor=str(start + limit) if more else None)


def crc_of(algorithm: str, data: bytes) -> str:
    """The base64 checksum S3 computes, for the algorithms of FULL_OBJECT uploads."""
    if algorithm == "CRC64NVME":
        raw = checksums.crc64nvme(data).to_bytes(8, "big")
    elif algorithm == "CRC32C":
        raw = checksums.crc32c(data).to_bytes(4, "big")
    else:
        raw = binascii.crc32(data).to_bytes(4, "big")
    return base64.b64encode(raw).decode()


class FakeBadDigest(Exception):
    """What S3 answers a part PUT whose signed checksum header does not match its body."""


@dataclass
class FakeMultipart:
    new: NewObject
    parts: dict[int, bytes] = field(default_factory=dict)
    algorithm: str | None = None


class FakeObjectStore:
    """S3 in a dict: multipart uploads, objects with metadata, and call counters."""

    def __init__(self) -> None:
        self.uploads: dict[str, FakeMultipart] = {}
        self.objects: dict[str, tuple[bytes, NewObject]] = {}
        self.checksums: dict[str, StoredChecksum] = {}
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self.lock:
            self.calls[name] = self.calls.get(name, 0) + 1

    def create_multipart(self, new: NewObject, checksum_algorithm: str | None = None) -> str:
        self._count("create_multipart")
        upload_id = f"s3-{len(self.uploads) + 1}"
        self.uploads[upload_id] = FakeMultipart(new, algorithm=checksum_algorithm)
        return upload_id

    def put_part(
        self, s3_upload_id: str, part_number: int, data: bytes, checksum: str | None = None
    ) -> None:
        """What a client's PUT to a presigned URL does (refused as S3 refuses it when its
        checksum header does not match the body)."""
        upload = self.uploads[s3_upload_id]
        if checksum is not None and checksum != crc_of(upload.algorithm or "", data):
            raise FakeBadDigest(f"part {part_number}")
        upload.parts[part_number] = data

    def presign_part(
        self,
        key: str,
        s3_upload_id: str,
        part_number: int,
        size: int | None,
        expires_in: int,
        checksum: Digest | None = None,
    ) -> str:
        self._count("presign_part")
        signed = f"&x-amz-checksum-{checksum.algorithm.lower()}" if checksum else ""
        return (
            f"https://fake/{key}?uploadId={s3_upload_id}&partNumber={part_number}&len={size}"
            + signed
        )

    def list_parts(self, key: str, s3_upload_id: str) -> list[StoredPart] | None:
        self._count("list_parts")
        upload = self.uploads.get(s3_upload_id)
        if upload is None:
            return None
        algorithm = upload.algorithm
        return [
            StoredPart(n, len(d), _etag(d), crc_of(algorithm, d) if algorithm else None)
            for n, d in sorted(upload.parts.items())
        ]

    def complete_multipart(
        self, key: str, s3_upload_id: str, parts: list[StoredPart], checksum: Digest | None = None
    ) -> str:
        self._count("complete_multipart")
        upload = self.uploads[s3_upload_id]
        data = b"".join(upload.parts[p.part_number] for p in parts)
        if checksum is not None and checksum.value != crc_of(checksum.algorithm, data):
            raise ChecksumMismatchError("BadDigest")  # the upload stays open, as in S3
        del self.uploads[s3_upload_id]
        self.objects[key] = (data, upload.new)
        if upload.algorithm:
            self.checksums[key] = StoredChecksum(
                upload.algorithm, FULL_OBJECT, crc_of(upload.algorithm, data)
            )
        return _etag(data)

    def abort_multipart(self, key: str, s3_upload_id: str) -> None:
        self._count("abort_multipart")
        self.uploads.pop(s3_upload_id, None)

    def head(self, key: str) -> ObjectInfo | None:
        self._count("head")
        if key not in self.objects:
            return None
        data, new = self.objects[key]
        return ObjectInfo(
            key,
            len(data),
            _etag(data),
            new.content_type,
            datetime.now(),
            new.metadata,
            self.checksums.get(key),
        )

    def presign_get(self, key: str, expires_in: int, disposition: str | None) -> str:
        return f"https://fake/{key}?get&expires={expires_in}&disposition={disposition}"

    def delete(self, key: str) -> None:
        self._count("delete")
        self.objects.pop(key, None)

    def sha256_of(self, key: str) -> str:
        self._count("sha256_of")
        return hashlib.sha256(self.objects[key][0]).hexdigest()

    def archive(self, key: str, new_key: str, tag: tuple[str, str]) -> None:
        self._count("archive")
        self.objects[new_key] = self.objects.pop(key)


def _etag(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'  # noqa: S324 - S3's ETag is an MD5


class FakeClientStore:
    """Clients in a dict, found by key hash like the DynamoDB index finds them."""

    def __init__(self) -> None:
        from stowage.domain.clients import ClientRecord

        self.records: dict[str, ClientRecord] = {}
        self.lookups = 0
        self.used: list[str] = []

    def find_by_key_hash(self, key_hash: str):  # type: ignore[no-untyped-def]
        self.lookups += 1
        found = [r for r in self.records.values() if r.key_hash == key_hash]
        return found[0] if len(found) == 1 else None

    def get(self, client_id: str):  # type: ignore[no-untyped-def]
        return self.records.get(client_id)

    def create(self, record) -> bool:  # type: ignore[no-untyped-def]
        if record.client_id in self.records:
            return False
        self.records[record.client_id] = record
        return True

    def update(self, client_id: str, **changes: object):  # type: ignore[no-untyped-def]
        if client_id not in self.records:
            return None
        self.records[client_id] = self.records[client_id].model_copy(update=changes)
        return self.records[client_id]

    def note_used(self, client_id: str, now: datetime, before: datetime) -> None:
        self.used.append(client_id)
        self.update(client_id, last_used_at=now)

    def list_all(self):  # type: ignore[no-untyped-def]
        return list(self.records.values())


class FakeDraftStore:
    """Draft records in a dict: what the cleanup reads and marks."""

    def __init__(self) -> None:
        from stowage.domain.draft import Draft

        self.drafts: dict[str, Draft] = {}
        self.lock = threading.Lock()

    def create(self, draft) -> None:  # type: ignore[no-untyped-def]
        self.drafts[draft.draft_id] = draft

    def get(self, draft_id: str):  # type: ignore[no-untyped-def]
        return self.drafts.get(draft_id)

    def expired(self, now: datetime, limit: int):  # type: ignore[no-untyped-def]
        pending = [d for d in self.drafts.values() if d.status == "pending" and d.expires_at < now]
        return sorted(pending, key=lambda d: d.expires_at)[:limit]

    def mark_expired(self, draft, now: datetime) -> bool:  # type: ignore[no-untyped-def]
        with self.lock:
            current = self.drafts[draft.draft_id]
            if current.status != "pending" or current.expires_at > now:
                return False
            self.drafts[draft.draft_id] = current.model_copy(update={"status": "expired"})
            return True


def draft_record(draft_id: str, created: datetime, lifetime: timedelta = timedelta(hours=24)):  # type: ignore[no-untyped-def]
    """A pending one-byte draft created at `created`, as the table would hold it."""
    from stowage.domain.draft import Draft

    return Draft(
        draft_id=draft_id,
        client_id="dev",
        key_prefix="",
        role="user",
        user_id="dev",
        file_name=f"{draft_id}.bin",
        content_type="application/octet-stream",
        size=1,
        object_key=f"drafts/{draft_id}",
        status="pending",
        created_at=created,
        updated_at=created,
        expires_at=created + lifetime,
    )


class FakeIndexStore:
    """Users' file indexes in a dict, with the same optimistic locking as DynamoDB's."""

    def __init__(self) -> None:
        self.saved: dict[str, object] = {}
        self.lock = threading.Lock()

    def load(self, owner):  # type: ignore[no-untyped-def]
        from stowage.domain.catalog import UserIndex

        found = self.saved.get(owner.model_dump_json())
        return found if found is not None else UserIndex()

    def append(self, owner, entry, bounds):  # type: ignore[no-untyped-def]
        with self.lock:
            index = self.load(owner)
            changes = {
                "recent": [entry, *index.recent],
                "by_category": index.by_category | {entry.category: entry},
                "version": index.version + 1,
            }
            if entry.app is not None:
                changes["backups"] = [entry, *index.backups]
            stored = type(index).model_validate(index.model_dump() | changes)
            self.saved[owner.model_dump_json()] = stored
            lengths = len(changes["recent"]), len(changes.get("backups", index.backups))
            return lengths[0] > bounds[0] or lengths[1] > bounds[1]

    def save(self, owner, index) -> bool:  # type: ignore[no-untyped-def]
        with self.lock:
            current = self.saved.get(owner.model_dump_json())
            if (current.version if current is not None else 0) != index.version:  # type: ignore[attr-defined]
                return False
            self.saved[owner.model_dump_json()] = index.model_copy(
                update={"version": index.version + 1}
            )
            return True


def upload_service(
    clock: Any, part_size: int = 5 * 1024 * 1024, wait: float = 2.0
) -> tuple[UploadService, FakeSessionStore, FakeObjectStore]:
    """An UploadService on the in-memory stores, with the rules the unit tests share."""
    sessions, storage = FakeSessionStore(), FakeObjectStore()
    rules = UploadRules(
        part_url_ttl=3600,
        default_part_size=part_size,
        max_file_size=1024 * 1024 * 1024,
        session_idle=timedelta(days=7),
        record_retention=timedelta(days=30),
        patience=Patience(wait=wait, poll=0.01),
    )
    catalog = Catalog(FakeIndexStore(), storage, CatalogRules())
    return UploadService(sessions, storage, rules, catalog, clock=clock), sessions, storage
