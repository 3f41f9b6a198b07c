"""Stored files: find, describe, list and delete the caller's own, and nothing else.

A key outside the caller's corner of the bucket, or an object another client
stored, answers 404 exactly like a key that does not exist.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from stowage.domain.catalog import Catalog
from stowage.domain.clock import utc_now
from stowage.domain.identity import key_is_visible, owner_of_key, resolve_owner, visible_root
from stowage.domain.keys import check_key, content_disposition, decode_name
from stowage.domain.ports import FileStore, ObjectInfo
from stowage.domain.stored import META_CLIENT, META_NAME, META_SHA256
from stowage.domain.usage import NO_USAGE, UsageRecorder
from stowage.errors import DatabaseError, InvalidFieldError, StoredFileNotFoundError
from stowage.models.files import (
    BackupListResponse,
    BackupSummary,
    DeleteFileResponse,
    DownloadLinkResponse,
    FileChecksum,
    FileInfoResponse,
    FileListResponse,
    FileOwner,
    FileSummary,
)
from stowage.models.identity import Caller

MAX_LIST_LIMIT = 1000


@dataclass(frozen=True)
class LatestQuery:
    user_id: str
    role: str | None = None
    category: str | None = None
    name_prefix: str | None = None


@dataclass(frozen=True)
class FileRules:
    url_ttl: int


class FileService:
    def __init__(
        self,
        storage: FileStore,
        rules: FileRules,
        catalog: Catalog,
        clock: Callable[[], datetime] = utc_now,
        usage: UsageRecorder = NO_USAGE,
    ) -> None:
        self.storage = storage
        self.rules = rules
        self.catalog = catalog
        self.clock = clock
        self.usage = usage

    def find_own(self, caller: Caller, key: str) -> ObjectInfo:
        """The object at `key` if the caller owns it; 404 for missing and foreign keys alike."""
        check_key(key)
        info = self.storage.head(key) if key_is_visible(caller, key) else None
        if info is None or info.metadata.get(META_CLIENT) != caller.client_id:
            raise StoredFileNotFoundError("no such file")
        return info

    def download_link(self, caller: Caller, key: str) -> DownloadLinkResponse:
        """A presigned GET that saves under the file's original name."""
        info = self.find_own(caller, key)
        name = info.metadata.get(META_NAME)
        ttl = self.rules.url_ttl
        disposition = content_disposition(decode_name(name)) if name else None
        url = self.storage.presign_get(key, ttl, disposition)
        return DownloadLinkResponse(url=url, expires_at=self.clock() + timedelta(seconds=ttl))

    def describe(self, caller: Caller, key: str) -> FileInfoResponse:
        info = self.find_own(caller, key)
        owner = owner_of_key(caller, key)
        name = info.metadata.get(META_NAME)
        stored = info.checksum
        return FileInfoResponse(
            key=key,
            size=info.size,
            etag=info.etag,
            content_type=info.content_type,
            last_modified=info.last_modified,
            sha256=info.metadata.get(META_SHA256),
            original_name=decode_name(name) if name else None,
            owner=FileOwner(client_id=caller.client_id, role=owner.role, user_id=owner.user_id),
            checksum=FileChecksum(algorithm=stored.algorithm, type=stored.type, value=stored.value)
            if stored
            else None,
        )

    def delete(self, caller: Caller, key: str) -> DeleteFileResponse:
        return self.usage.counting_failures(caller.client_id, lambda: self._delete(caller, key))

    def _delete(self, caller: Caller, key: str) -> DeleteFileResponse:
        self.find_own(caller, key)
        self.storage.delete(key)
        try:
            self.catalog.forget(owner_of_key(caller, key), key)
        except DatabaseError:
            pass  # the file is gone; `latest` checks existence, so a stale entry is skipped
        self.usage.add(caller.client_id, deleted=1)
        return DeleteFileResponse(key=key, status="deleted")

    def latest_link(self, caller: Caller, wanted: LatestQuery) -> DownloadLinkResponse:
        """A link to the user's newest file matching the query (from the user's index)."""
        owner = resolve_owner(caller, wanted.user_id, wanted.role)
        entry = self.catalog.latest(owner, wanted.category, wanted.name_prefix)
        return self.download_link(caller, entry.key)

    def latest_backup_link(
        self, caller: Caller, user_id: str, role: str | None, app: str | None
    ) -> DownloadLinkResponse:
        owner = resolve_owner(caller, user_id, role)
        return self.download_link(caller, self.catalog.latest_backup(owner, app).key)

    def list_backups(
        self, caller: Caller, user_id: str, role: str | None, app: str | None
    ) -> BackupListResponse:
        owner = resolve_owner(caller, user_id, role)
        return BackupListResponse(
            backups=[
                BackupSummary(
                    key=b.key,
                    app=b.app or "",
                    iteration=b.iteration or 0,
                    size=b.size,
                    sha256=b.sha256,
                    stored_at=b.stored_at,
                    area=b.area,
                )
                for b in self.catalog.backups(owner, app)
            ]
        )

    def list_files(
        self, caller: Caller, prefix: str, limit: int, cursor: str | None
    ) -> FileListResponse:
        """The caller's files under `prefix`, in key order (so by user, then day), `limit`
        a page; a prefix outside the caller's corner lists nothing."""
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidFieldError(f"limit must be within 1..{MAX_LIST_LIMIT}", field="limit")
        scope = _scope(visible_root(caller), prefix)
        if scope is None:
            return FileListResponse(files=[], next_cursor=None)
        after = decode_file_cursor(cursor, scope) if cursor else None
        listed = self.storage.list_after(scope, after, limit + 1)
        page = listed[:limit]
        more = len(listed) > limit
        return FileListResponse(
            files=[
                FileSummary(key=o.key, size=o.size, etag=o.etag, last_modified=o.last_modified)
                for o in page
            ],
            next_cursor=encode_file_cursor(page[-1].key) if more else None,
        )


def _scope(root: str, prefix: str) -> str | None:
    """The narrower of the caller's root and the asked prefix; None if they are disjoint."""
    if prefix.startswith(root):
        return prefix
    if root.startswith(prefix):
        return root
    return None


def encode_file_cursor(last_key: str) -> str:
    raw = json.dumps({"after": last_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_file_cursor(cursor: str, scope: str) -> str:
    """A cursor is only a position inside this listing; anything else is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = json.loads(raw).get("after")
    except (binascii.Error, ValueError, UnicodeDecodeError, AttributeError) as exc:
        raise InvalidFieldError("cursor is not valid", field="cursor") from exc
    if not isinstance(after, str) or not after.startswith(scope):
        raise InvalidFieldError("cursor is not valid", field="cursor")
    return after
