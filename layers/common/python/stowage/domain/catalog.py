"""What a user has stored, kept small and at hand: the newest files (for "latest"),
the newest per category, and the backups of each app with their retention.

One DynamoDB item per user holds it (`IndexStore`), rewritten under optimistic
locking. It is updated when an upload completes or a draft is confirmed, so no
route ever lists a user's whole history. Backups: the newest `keep_backups` of
each app stay in the user's main area; older ones move to the backup area
(`{prefix}/{role}/{user}/backup/{app}/…`, tagged for a cheaper storage class).
A backup whose SHA-256 equals the user's latest backup of the same app is not
stored twice; nor is a file whose SHA-256 equals that of the caller's file already
under the key its name or path would take (a re-run of an upload).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from stowage.domain.categories import category_for, content_type_for
from stowage.domain.identity import check_size, resolve_owner
from stowage.domain.keys import check_file_name, owner_prefix
from stowage.domain.naming import base_name, candidate_key, check_path
from stowage.domain.ports import FileStore
from stowage.domain.stored import META_CLIENT, META_SHA256
from stowage.errors import (
    DatabaseError,
    InvalidFieldError,
    MissingFieldError,
    StorageError,
    StoredFileNotFoundError,
)
from stowage.models.common import FileKind, NewFileRequest
from stowage.models.identity import Caller, Owner
from stowage.models.uploads import DeduplicatedResponse
from stowage.units import GIB

BACKUP_TAG = ("stowage-area", "backup")
_APP = re.compile(r"^[a-z0-9_-]{1,64}$")


class IndexEntry(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    key: str
    file_name: str
    category: str
    size: int
    stored_at: datetime
    sha256: str | None = None
    app: str | None = None
    iteration: int | None = None
    area: Literal["main", "backup"] = "main"


class UserIndex(BaseModel):
    model_config = ConfigDict(defer_build=True)

    recent: list[IndexEntry] = Field(default_factory=list)
    by_category: dict[str, IndexEntry] = Field(default_factory=dict)
    backups: list[IndexEntry] = Field(default_factory=list)
    version: int = 0
    """The version this copy was read at; a save succeeds only if it is still current."""

    @field_validator("recent", "backups")
    @classmethod
    def _once_each(cls, entries: list[IndexEntry]) -> list[IndexEntry]:
        """A retried recording may append a key twice; the first (newest) one counts."""
        first = {e.key: e for e in reversed(entries)}
        return [e for e in entries if first[e.key] is e]


class IndexStore(Protocol):
    def load(self, owner: Owner) -> UserIndex: ...

    def append(self, owner: Owner, entry: IndexEntry, bounds: tuple[int, int]) -> bool:
        """Put `entry` first in the recent list (and the backups, for a backup) and make it
        its category's newest, in one atomic write that never conflicts; answers whether
        the recent or the backups list is now longer than its bound in `bounds`."""
        ...

    def save(self, owner: Owner, index: UserIndex) -> bool:
        """Write `index` if nobody wrote since it was loaded; False if someone did."""
        ...


@dataclass(frozen=True)
class BackupOf:
    app: str
    iteration: int


@dataclass(frozen=True)
class Naming:
    """What a request says about naming: a file's name, or a backup's app and iteration."""

    kind: FileKind
    file_name: str | None
    app: str | None
    iteration: int | None
    path: str | None = None


class NamedRequest(Protocol):
    @property
    def kind(self) -> FileKind: ...
    @property
    def file_name(self) -> str | None: ...
    @property
    def app(self) -> str | None: ...
    @property
    def iteration(self) -> int | None: ...
    @property
    def path(self) -> str | None: ...


def naming_of(request: NamedRequest) -> Naming:
    return Naming(request.kind, request.file_name, request.app, request.iteration, request.path)


def name_for(owner: Owner, asked: Naming, now: datetime) -> tuple[str, BackupOf | None]:
    """The file name to store under: the client's, or for a backup
    `{app}_db_{user_id}_{YYYYMMDDTHHMMSSZ}_it{iteration}.sqlite`. A file given by `path`
    is named by its last segment."""
    if asked.kind == "backup":
        if asked.path is not None:
            raise InvalidFieldError("path applies to files only", field="path")
        if asked.app is None:
            raise MissingFieldError("app is required for a backup", field="app")
        if asked.iteration is None:
            raise MissingFieldError("iteration is required for a backup", field="iteration")
        name = f"{asked.app}_db_{owner.user_id}_{now:%Y%m%dT%H%M%SZ}_it{asked.iteration}.sqlite"
        return name, BackupOf(asked.app, asked.iteration)
    for field, value in (("app", asked.app), ("iteration", asked.iteration)):
        if value is not None:
            raise InvalidFieldError(f"{field} applies to backups only", field=field)
    if asked.path is not None:
        if asked.file_name is not None:
            raise InvalidFieldError("give file_name or path, not both", field="path")
        return base_name(check_path(asked.path)), None
    if asked.file_name is None:
        raise MissingFieldError("file_name (or path) is required", field="file_name")
    return check_file_name(asked.file_name), None


def deduplicated(twin: IndexEntry) -> DeduplicatedResponse:
    """The answer to a backup whose bytes are already stored: nothing to upload."""
    return DeduplicatedResponse(
        key=twin.key, size=twin.size, sha256=twin.sha256 or "", status="deduplicated"
    )


def backup_area_key(owner: Owner, app: str, file_name: str) -> str:
    return f"{owner_prefix(owner)}backup/{app}/{file_name}"


@dataclass(frozen=True)
class Admission:
    """A new file, accepted: for whom, under which name (and path), and whether the user
    already has its bytes (`twin`: then there is nothing to upload)."""

    owner: Owner
    name: str
    backup: BackupOf | None
    twin: IndexEntry | None
    path: str | None = None


@dataclass(frozen=True)
class CatalogRules:
    keep_backups: int = 10
    recent: int = 50
    """Newest files kept per user; `latest` with a name prefix looks among these."""
    backups: int = 200
    """Backups listed per user (main and backup areas together)."""
    hash_limit: int = GIB
    """Largest backup whose SHA-256 stowage computes itself when the client sent none."""
    save_attempts: int = 12


class Catalog:
    def __init__(self, index: IndexStore, files: FileStore, rules: CatalogRules) -> None:
        self.index = index
        self.files = files
        self.rules = rules

    def admit(
        self, caller: Caller, request: NewFileRequest, now: datetime, max_size: int
    ) -> Admission:
        """The checks every new upload or draft starts with: identity, name, size, and
        with a SHA-256, whether the user already has those bytes: for a backup as the
        app's latest backup, for a file under the key its name or path would take."""
        owner = resolve_owner(caller, request.user_id, request.role)
        name, backup = name_for(owner, naming_of(request), now)
        check_size(caller, request.size, max_size)
        if backup is not None:
            twin = self.duplicate_of(owner, backup.app, request.sha256)
        else:
            category = category_for(content_type_for(name, request.content_type))
            key = candidate_key(owner, now, (category, name), request.path)
            twin = self.same_file_at(owner, (key, category), request.sha256, request.size)
        return Admission(owner, name, backup, twin, request.path)

    # --- recording --------------------------------------------------------------------
    def stored(self, owner: Owner, entry: IndexEntry) -> IndexEntry:
        """Record a newly stored file; answers the entry that holds its bytes, which for a
        duplicate backup is the earlier one. The caller then records that it points there
        and only then drops the new copy (`drop_duplicate`): a failure in between leaves
        the copy, never neither."""
        app = entry.app
        if app is not None:
            entry = entry.model_copy(update={"sha256": entry.sha256 or self._hash(entry)})
            twin = self.duplicate_of(owner, app, entry.sha256)
            if twin is not None and twin.key != entry.key:
                return twin
        # Appends never conflict, so many uploads of one user can finish at once; the
        # lists are trimmed back (a conditional rewrite) once they grow past twice the bound.
        if self.index.append(owner, entry, (2 * self.rules.recent, 2 * self.rules.backups)):
            self._trim(owner)
        if app is not None:
            self._rotate(owner, app)
        return entry

    def drop_duplicate(self, key: str) -> None:
        """Delete the new copy of a duplicate backup. A copy a failed delete leaves is only
        redundant: what recorded the twin answers from that record from now on."""
        try:
            self.files.delete(key)
        except StorageError:
            return

    def forget(self, owner: Owner, key: str) -> None:
        self._change(owner, lambda index: _without(index, key))

    def duplicate_of(self, owner: Owner, app: str, sha256: str | None) -> IndexEntry | None:
        """The user's latest backup of `app` if it has these bytes and still exists."""
        latest = next((b for b in self.index.load(owner).backups if b.app == app), None)
        if sha256 is None or latest is None or latest.sha256 != sha256.lower():
            return None
        return latest if self._exists(owner, latest.key) else None

    def same_file_at(
        self, owner: Owner, where: tuple[str, str], sha256: str | None, size: int
    ) -> IndexEntry | None:
        """The caller's file at `key` if it holds these bytes (by the SHA-256 it was
        stored with): a re-run of an upload that already finished."""
        key, category = where
        if sha256 is None:
            return None
        info = self.files.head(key)
        if (
            info is None
            or info.metadata.get(META_CLIENT) != owner.client_id
            or info.metadata.get(META_SHA256) != sha256.lower()
            or info.size != size
        ):
            return None
        return IndexEntry(
            key=key,
            file_name=key.rsplit("/", 1)[-1],
            category=category,
            size=info.size,
            stored_at=info.last_modified,
            sha256=sha256.lower(),
        )

    # --- reading ----------------------------------------------------------------------
    def latest(self, owner: Owner, category: str | None, name_prefix: str | None) -> IndexEntry:
        index = self.index.load(owner)
        candidates = index.recent
        if category and not name_prefix and category in index.by_category:
            candidates = [index.by_category[category], *index.recent]
        for entry in candidates:
            if _matches(entry, category, name_prefix) and self._exists(owner, entry.key):
                return entry
        raise StoredFileNotFoundError("no matching file for this user")

    def backups(self, owner: Owner, app: str | None) -> list[IndexEntry]:
        if app is not None and not _APP.match(app):
            raise InvalidFieldError("app must match [a-z0-9_-]{1,64}", field="app")
        return [b for b in self.index.load(owner).backups if app in (None, b.app)]

    def latest_backup(self, owner: Owner, app: str | None) -> IndexEntry:
        for entry in self.backups(owner, app):
            if self._exists(owner, entry.key):
                return entry
        raise StoredFileNotFoundError("no backup for this user")

    # --- helpers ----------------------------------------------------------------------
    def _rotate(self, owner: Owner, app: str) -> None:
        """Move the app's main-area backups beyond the newest `keep_backups` to the backup
        area. A crash between copy and delete leaves both; the next rotation finishes."""
        main = [b for b in self.index.load(owner).backups if b.app == app and b.area == "main"]
        for old in main[self.rules.keep_backups :]:
            new_key = backup_area_key(owner, app, old.file_name)
            self.files.archive(old.key, new_key, BACKUP_TAG)
            moved = old.model_copy(update={"key": new_key, "area": "backup"})
            self._change(owner, partial(_moved, old=old, moved=moved))

    def _trim(self, owner: Owner) -> None:
        """Housekeeping: while appends keep coming a rewrite may lose every race, and
        the next append tries again, so a lost race is no error here."""
        try:
            self._change(owner, partial(_trimmed, rules=self.rules))
        except DatabaseError:
            return

    def _hash(self, entry: IndexEntry) -> str | None:
        if entry.size > self.rules.hash_limit:
            return None
        return self.files.sha256_of(entry.key)

    def _exists(self, owner: Owner, key: str) -> bool:
        info = self.files.head(key)
        return info is not None and info.metadata.get(META_CLIENT) == owner.client_id

    def _change(self, owner: Owner, change: Callable[[UserIndex], UserIndex]) -> None:
        """Read, change, write back unless someone else wrote meanwhile; then again, after
        a short random pause so that racing writers spread out."""
        for attempt in range(self.rules.save_attempts):
            if self.index.save(owner, change(self.index.load(owner))):
                return
            time.sleep(random.uniform(0, 0.01 * 2 ** min(attempt, 5)))  # nosec B311  # retry jitter
        raise DatabaseError("the user's file index is too busy; retry")


def _matches(entry: IndexEntry, category: str | None, name_prefix: str | None) -> bool:
    return category in (None, entry.category) and entry.file_name.startswith(name_prefix or "")


def _trimmed(index: UserIndex, rules: CatalogRules) -> UserIndex:
    return index.model_copy(
        update={"recent": index.recent[: rules.recent], "backups": index.backups[: rules.backups]}
    )


def _without(index: UserIndex, key: str) -> UserIndex:
    return index.model_copy(
        update={
            "recent": [e for e in index.recent if e.key != key],
            "by_category": {c: e for c, e in index.by_category.items() if e.key != key},
            "backups": [e for e in index.backups if e.key != key],
        }
    )


def _moved(index: UserIndex, old: IndexEntry, moved: IndexEntry) -> UserIndex:
    def swap(entry: IndexEntry) -> IndexEntry:
        return moved if entry.key == old.key else entry

    return index.model_copy(
        update={
            "recent": [swap(e) for e in index.recent],
            "by_category": {c: swap(e) for c, e in index.by_category.items()},
            "backups": [swap(e) for e in index.backups],
        }
    )
