"""Archives: many of a caller's files as one zip, built by a function of its own.

A request checks every file (the caller's own, within the size limit), writes the list
of members (the manifest) next to where the zip will be, records the archive as
`pending` and starts the builder asynchronously. The builder takes the archive's lease
(an asynchronous invocation may be delivered twice), reads each file in ranged GETs
through a streaming zip writer into a multipart upload, and records its progress. Memory
stays constant: one part of the zip and one chunk of a file at a time. A build that fails
aborts its multipart upload (no half archive) and says why; a build that dies (timeout,
memory) leaves its lease to run out, and Lambda's retry starts over, aborting the dead
run's upload first. The cleanup deletes archives past their expiry.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict
from zipstream import ZIP_DEFLATED, ZIP_STORED, ZipStream  # type: ignore[import-untyped]

from stowage.domain.clock import utc_now
from stowage.domain.identity import key_is_visible, visible_root
from stowage.domain.keys import check_key, content_disposition, decode_name, name_variant
from stowage.domain.lease import Lease
from stowage.domain.ports import FileStore, ListedObject, ObjectInfo, StoredPart
from stowage.domain.stored import META_CLIENT, META_NAME
from stowage.domain.waiting import Patience
from stowage.errors import (
    ArchiveNotFoundError,
    ArchiveNotReadyError,
    FileTooLargeError,
    InvalidFieldError,
    MissingFieldError,
    StoredFileNotFoundError,
    StowageError,
)
from stowage.models.archives import (
    MAX_ARCHIVE_FILES,
    ArchiveCreatedResponse,
    ArchiveStatus,
    ArchiveStatusResponse,
    CreateArchiveRequest,
)
from stowage.models.files import DownloadLinkResponse
from stowage.models.identity import Caller
from stowage.units import MIB

MAX_ATTEMPTS = 3
"""One asynchronous invocation and Lambda's two retries: after that a dead build is failed."""
PART_SIZE = 16 * MIB
"""The zip's multipart part size: 10,000 parts hold 156 GiB, well above ArchiveMaxBytes."""
READ_CHUNK = 8 * MIB
"""Bytes of a file read per ranged GET."""
PROGRESS_EVERY = timedelta(seconds=1)

_COMPRESSED = {
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/x-7z-compressed",
    "application/x-rar-compressed",
    "application/vnd.rar",
    "application/x-bzip2",
    "application/x-xz",
    "application/zstd",
    "application/pdf",
    "application/epub+zip",
    "application/java-archive",
}
_UNCOMPRESSED_MEDIA = {"image/svg+xml", "image/bmp", "image/tiff", "audio/wav", "audio/x-wav"}


def compresses(content_type: str) -> bool:
    """Deflate text and unknown binaries; store what is compressed already (media,
    archives, PDFs, office documents, which are zips)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in _UNCOMPRESSED_MEDIA:
        return True
    if kind.split("/", 1)[0] in ("image", "video", "audio"):
        return False
    return kind not in _COMPRESSED and "openxmlformats" not in kind and "opendocument" not in kind


# --------------------------------------------------------------------------- records


class Archive(BaseModel):
    """An archive as it is stored."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    archive_id: str
    client_id: str
    name: str
    status: ArchiveStatus
    object_key: str
    """Where the zip is written, in the drafts bucket."""
    manifest_key: str
    total_files: int
    total_bytes: int
    files: int = 0
    bytes_done: int = 0
    size: int | None = None
    reason: str | None = None
    s3_upload_id: str | None = None
    attempts: int = 0
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    completing_until: datetime | None = None
    """The build lease: while it runs, another delivery of the same event leaves it be."""

    def status_at(self, now: datetime) -> tuple[ArchiveStatus, str | None]:
        """A build that died on every attempt (its last lease ran out) has failed."""
        dead = self.completing_until is None or self.completing_until <= now
        if self.status == "building" and dead and self.attempts >= MAX_ATTEMPTS:
            return "failed", f"the build stopped {self.attempts} times (timeout or memory)"
        return self.status, self.reason


@dataclass(frozen=True)
class Member:
    """One file of an archive: where it is, what it is called inside the zip."""

    key: str
    name: str
    size: int
    etag: str
    content_type: str


# ----------------------------------------------------------------------------- ports


class ArchiveStore(Protocol):
    def create(self, archive: Archive) -> None: ...

    def get(self, archive_id: str) -> Archive | None: ...

    def claim_build(self, archive: Archive, now: datetime, until: datetime) -> bool:
        """Pending or building, no live lease → building, leased until `until`, one more
        attempt counted; False when another delivery holds it or it is finished."""
        ...

    def release_build(self, archive: Archive) -> None: ...

    def record_upload(self, archive: Archive, s3_upload_id: str) -> None:
        """The multipart upload a build writes to, so a later attempt can abort it."""
        ...

    def record_progress(self, archive: Archive, files: int, bytes_done: int) -> None: ...

    def mark_ready(self, archive: Archive, now: datetime, size: int) -> None: ...

    def mark_failed(self, archive: Archive, now: datetime, reason: str) -> None: ...

    def expired(self, now: datetime, limit: int) -> list[Archive]: ...

    def forget(self, archive: Archive, now: datetime) -> bool:
        """Delete the record (the archive's objects are gone); False if a build holds it."""
        ...


class ArchiveObjects(Protocol):
    """Where manifests and zips live (the drafts bucket, under `archives/`)."""

    def put_manifest(self, key: str, members: list[Member]) -> None: ...

    def read_manifest(self, key: str) -> list[Member]: ...

    def start_upload(self, key: str, disposition: str) -> str: ...

    def upload_part(self, key: str, s3_upload_id: str, number: int, data: bytes) -> StoredPart:
        """Answers the part as S3 holds it (ETag and checksum)."""
        ...

    def complete_upload(self, key: str, s3_upload_id: str, parts: list[StoredPart]) -> None: ...

    def abort_upload(self, key: str, s3_upload_id: str) -> None: ...

    def presign_get(self, key: str, expires_in: int, disposition: str | None) -> str: ...

    def delete_many(self, keys: list[str]) -> list[str]: ...


class RangeReader(Protocol):
    def read_range(self, key: str, start: int, end: int, etag: str) -> bytes:
        """Bytes `start..end` (inclusive) of the file, if it still has this ETag."""
        ...


class BuildTrigger(Protocol):
    def start(self, archive_id: str) -> None:
        """Invoke the builder asynchronously for this archive."""
        ...


@dataclass(frozen=True)
class ArchiveRules:
    max_bytes: int
    lifetime: timedelta
    url_ttl: int
    workers: int = 16
    """HEADs of the requested files at once."""


# --------------------------------------------------------------------------- members


def member_names(entries: list[tuple[str, str | None]]) -> list[str]:
    """Each file's path below the folder all share, ending in its original name, made
    unique (`a.txt`, `a (1).txt`). `entries` are (key, original name or None)."""
    folders = [key.split("/")[:-1] for key in entries_keys(entries)]
    common = _common_folders(folders)
    taken: set[str] = set()
    names = []
    for (key, original), folder in zip(entries, folders, strict=True):
        base = original if _plain_name(original) else key.rsplit("/", 1)[-1]
        path = "/".join([*folder[common:], base or "file"])
        names.append(_unique(path, taken))
    return names


def entries_keys(entries: list[tuple[str, str | None]]) -> list[str]:
    return [key for key, _ in entries]


def _common_folders(folders: list[list[str]]) -> int:
    if not folders:
        return 0
    shortest = min(len(f) for f in folders)
    depth = 0
    while depth < shortest and len({f[depth] for f in folders}) == 1:
        depth += 1
    return depth


def _plain_name(name: str | None) -> bool:
    bad = name is None or name in ("", ".", "..") or "/" in name or "\\" in name
    return not bad and not any(ord(c) < 32 for c in name or "")


def _unique(path: str, taken: set[str]) -> str:
    folder, _, base = path.rpartition("/")
    for attempt in range(len(taken) + 1):
        candidate = (f"{folder}/" if folder else "") + name_variant(base, attempt)
        if candidate.lower() not in taken:  # case-insensitive file systems unpack it too
            taken.add(candidate.lower())
            return candidate
    raise AssertionError("unreachable: a free variant always exists")  # pragma: no cover


def zip_name(name: str | None, archive_id: str) -> str:
    if not name:
        return f"archive-{archive_id}.zip"
    if not _plain_name(name):
        raise InvalidFieldError("name must be a file name, without / or \\", field="name")
    return name if PurePosixPath(name).suffix.lower() == ".zip" else f"{name}.zip"


# --------------------------------------------------------------------------- service


class ArchiveService:
    """The API's side: request an archive, follow it, fetch it."""

    def __init__(
        self,
        store: ArchiveStore,
        files: FileStore,
        objects: ArchiveObjects,
        trigger: BuildTrigger,
        rules: ArchiveRules,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.files = files
        self.objects = objects
        self.trigger = trigger
        self.rules = rules
        self.clock = clock

    def create(self, caller: Caller, request: CreateArchiveRequest) -> ArchiveCreatedResponse:
        if (request.keys is None) == (request.prefix is None):
            raise MissingFieldError("give either keys or prefix", field="keys")
        archive_id = secrets.token_hex(16)
        name = zip_name(request.name, archive_id)
        infos = (
            self._own_files(caller, list(dict.fromkeys(request.keys)))
            if request.keys is not None
            else self._under_prefix(caller, request.prefix or "")
        )
        total = sum(info.size for info in infos)
        if total > self.rules.max_bytes:
            raise FileTooLargeError(
                f"the files hold {total} bytes, over the archive limit of "
                f"{self.rules.max_bytes} bytes",
                field="keys" if request.keys is not None else "prefix",
            )
        names = member_names([(i.key, _original_name(i)) for i in infos])
        members = [
            Member(i.key, n, i.size, i.etag, i.content_type)
            for i, n in zip(infos, names, strict=True)
        ]
        now = self.clock()
        archive = Archive(
            archive_id=archive_id,
            client_id=caller.client_id,
            name=name,
            status="pending",
            object_key=f"archives/{archive_id}/{name}",
            manifest_key=f"archives/{archive_id}/manifest.jsonl",
            total_files=len(members),
            total_bytes=total,
            created_at=now,
            updated_at=now,
            expires_at=now + self.rules.lifetime,
        )
        self.objects.put_manifest(archive.manifest_key, members)
        self.store.create(archive)
        try:
            self.trigger.start(archive_id)
        except StowageError as exc:
            self.store.mark_failed(archive, self.clock(), "the builder could not be started")
            raise exc
        return ArchiveCreatedResponse(
            archive_id=archive_id, status="pending", expires_at=archive.expires_at
        )

    def status(self, caller: Caller, archive_id: str) -> ArchiveStatusResponse:
        archive = self._find(caller, archive_id)
        status, reason = archive.status_at(self.clock())
        return ArchiveStatusResponse(
            archive_id=archive.archive_id,
            status=status,
            files=archive.files,
            total_files=archive.total_files,
            bytes_done=archive.bytes_done,
            total_bytes=archive.total_bytes,
            size=archive.size if status == "ready" else None,
            name=archive.name,
            expires_at=archive.expires_at,
            reason=reason if status == "failed" else None,
        )

    def content_link(self, caller: Caller, archive_id: str) -> DownloadLinkResponse:
        archive = self._find(caller, archive_id)
        now = self.clock()
        status, reason = archive.status_at(now)
        if status != "ready":
            why = f": {reason}" if status == "failed" and reason else ""
            raise ArchiveNotReadyError(f"the archive is {status}{why}")
        left = int((archive.expires_at - now).total_seconds())
        ttl = max(1, min(self.rules.url_ttl, left))
        url = self.objects.presign_get(archive.object_key, ttl, content_disposition(archive.name))
        return DownloadLinkResponse(url=url, expires_at=now + timedelta(seconds=ttl))

    def _find(self, caller: Caller, archive_id: str) -> Archive:
        archive = self.store.get(archive_id) if len(archive_id) <= 64 else None
        if archive is None or archive.client_id != caller.client_id:
            raise ArchiveNotFoundError("no such archive")
        if archive.expires_at <= self.clock():
            raise ArchiveNotFoundError("the archive expired")
        return archive

    def _own_files(self, caller: Caller, keys: list[str]) -> list[ObjectInfo]:
        for key in keys:
            check_key(key)
            if not key_is_visible(caller, key):
                raise StoredFileNotFoundError(f"no such file: {key}", field="keys")
        infos = self._heads(keys)
        for key, info in zip(keys, infos, strict=True):
            if info is None or info.metadata.get(META_CLIENT) != caller.client_id:
                raise StoredFileNotFoundError(f"no such file: {key}", field="keys")
        return [i for i in infos if i is not None]

    def _under_prefix(self, caller: Caller, prefix: str) -> list[ObjectInfo]:
        root = visible_root(caller)
        scope = prefix if prefix.startswith(root) else root if root.startswith(prefix) else None
        listed: list[ListedObject] = []
        after: str | None = None
        while scope is not None:
            page = self.files.list_after(scope, after, 1000)
            listed += page
            if len(listed) > MAX_ARCHIVE_FILES:
                raise FileTooLargeError(
                    f"more than {MAX_ARCHIVE_FILES} files under the prefix", field="prefix"
                )
            if len(page) < 1000:
                break
            after = page[-1].key
        infos = self._heads([o.key for o in listed])
        own = [
            i for i in infos if i is not None and i.metadata.get(META_CLIENT) == caller.client_id
        ]
        if not own:
            raise StoredFileNotFoundError(f"no files of yours under {prefix}", field="prefix")
        return own

    def _heads(self, keys: list[str]) -> list[ObjectInfo | None]:
        with ThreadPoolExecutor(self.rules.workers) as pool:
            return list(pool.map(self.files.head, keys))


def _original_name(info: ObjectInfo) -> str | None:
    encoded = info.metadata.get(META_NAME)
    return decode_name(encoded) if encoded else None


# --------------------------------------------------------------------------- builder


class PartWriter:
    """Bytes in, S3 parts of `part_size` out: holds at most one part (and one chunk)."""

    def __init__(
        self, upload: Callable[[int, bytes], StoredPart], part_size: int = PART_SIZE
    ) -> None:
        self.upload = upload
        self.part_size = part_size
        self.buffer = bytearray()
        self.parts: list[StoredPart] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.buffer += data
        self.size += len(data)
        while len(self.buffer) >= self.part_size:
            self._send(bytes(self.buffer[: self.part_size]))
            del self.buffer[: self.part_size]

    def close(self) -> list[StoredPart]:
        if self.buffer or not self.parts:  # the last part may be short (or the only one)
            self._send(bytes(self.buffer))
            self.buffer = bytearray()
        return self.parts

    def _send(self, data: bytes) -> None:
        self.parts.append(self.upload(len(self.parts) + 1, data))


class ArchiveBuilder:
    """The builder function's side: one archive, under its lease, start to finish."""

    def __init__(
        self,
        store: ArchiveStore,
        objects: ArchiveObjects,
        reader: RangeReader,
        clock: Callable[[], datetime] = utc_now,
        part_size: int = PART_SIZE,
        read_chunk: int = READ_CHUNK,
    ) -> None:
        self.store = store
        self.objects = objects
        self.reader = reader
        self.clock = clock
        self.part_size = part_size
        self.read_chunk = read_chunk

    def build(self, archive_id: str, time_left: timedelta) -> str:
        """Build the archive unless it is finished or another delivery builds it; answers
        what happened (`ready`, `failed`, `skipped`). The lease lasts as long as this
        invocation may run, so a retry after a crash finds it run out."""
        archive = self.store.get(archive_id)
        now = self.clock()
        if archive is None or archive.status in ("ready", "failed") or Lease.held(archive, now):
            return "skipped"
        lease: Lease[Archive] = Lease(
            claim=self.store.claim_build,
            release=self.store.release_build,
            duration=time_left,
            patience=Patience(),
        )
        outcome = lease.hold(archive, now, lambda: self._build(archive))
        return outcome or "skipped"

    def _build(self, archive: Archive) -> str:
        if archive.s3_upload_id:  # a run before this one died half-way
            self.objects.abort_upload(archive.object_key, archive.s3_upload_id)
        upload_id: str | None = None
        try:
            members = self.objects.read_manifest(archive.manifest_key)
            upload_id = self.objects.start_upload(
                archive.object_key, content_disposition(archive.name)
            )
            self.store.record_upload(archive, upload_id)
            size = self._write(archive, members, upload_id)
        except StowageError as exc:
            self._fail(archive, upload_id, exc.message)
            return "failed"
        except Exception as exc:  # a bug: still no half archive, and the reason is recorded
            self._fail(archive, upload_id, f"an unexpected error stopped the build ({exc!r})")
            raise
        self.store.mark_ready(archive, self.clock(), size)
        return "ready"

    def _write(self, archive: Archive, members: list[Member], upload_id: str) -> int:
        key = archive.object_key
        writer = PartWriter(
            lambda n, data: self.objects.upload_part(key, upload_id, n, data), self.part_size
        )
        progress = _Progress(self.store, archive, self.clock)
        stream = ZipStream(compress_type=ZIP_DEFLATED, compress_level=6)
        for member in members:
            kind = ZIP_DEFLATED if compresses(member.content_type) else ZIP_STORED
            stream.add(
                self._chunks(member, progress), member.name, size=member.size, compress_type=kind
            )
        for data in stream:
            writer.write(data)
        self.objects.complete_upload(key, upload_id, writer.close())
        progress.flush()
        return writer.size

    def _chunks(self, member: Member, progress: _Progress) -> Iterator[bytes]:
        for start in range(0, member.size, self.read_chunk):
            end = min(start + self.read_chunk, member.size) - 1
            data = self.reader.read_range(member.key, start, end, member.etag)
            if len(data) != end - start + 1:
                raise StoredFileNotFoundError(f"{member.key} changed while it was archived")
            progress.add(len(data))
            yield data
        progress.file_done()

    def _fail(self, archive: Archive, upload_id: str | None, reason: str) -> None:
        if upload_id is not None:
            try:
                self.objects.abort_upload(archive.object_key, upload_id)
            except StowageError:
                pass  # the bucket's abort-incomplete-uploads rule is the backstop
        self.store.mark_failed(archive, self.clock(), reason)


class _Progress:
    """Files and bytes done, written to the record at most once a `PROGRESS_EVERY`."""

    def __init__(
        self, store: ArchiveStore, archive: Archive, clock: Callable[[], datetime]
    ) -> None:
        self.store, self.archive, self.clock = store, archive, clock
        self.files = self.bytes_done = 0
        self.written_at = clock()

    def add(self, count: int) -> None:
        self.bytes_done += count

    def file_done(self) -> None:
        self.files += 1
        if self.clock() - self.written_at >= PROGRESS_EVERY:
            self.flush()

    def flush(self) -> None:
        self.store.record_progress(self.archive, self.files, self.bytes_done)
        self.written_at = self.clock()


def manifest_lines(members: list[Member]) -> bytes:
    return b"".join(json.dumps(asdict(m)).encode() + b"\n" for m in members)


def parse_manifest(data: bytes) -> list[Member]:
    return [Member(**json.loads(line)) for line in data.splitlines() if line.strip()]


BuildOutcome = Literal["ready", "failed", "skipped"]
