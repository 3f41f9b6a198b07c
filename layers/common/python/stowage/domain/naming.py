"""Choosing a file's final key: never silently replacing a file, never racing another upload.

A file given by name lands in the date layout (`…/{YYYYMMDD}/{category}/{name}`); a file
given by `path` keeps its folder tree under a reserved segment:
`{key_prefix/}{role}/{user_id}/tree/{path}`. Right after the user comes either eight
digits (a day), `backup` (the backup area) or `tree`, so no path key can ever equal a
date-layout or backup key, whatever the path holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from stowage.domain.keys import (
    MAX_KEY_BYTES,
    build_key,
    check_file_name,
    key_safe_name,
    name_variant,
    owner_prefix,
)
from stowage.domain.ports import ObjectStore
from stowage.domain.stored import META_UPLOAD
from stowage.errors import InvalidFieldError
from stowage.models.identity import Owner

MAX_NAME_VARIANTS = 1000
MAX_PATH_BYTES = 1024
TREE_SEGMENT = "tree"
"""The segment path keys live under: never a day (`YYYYMMDD`) and never `backup`."""


def check_path(path: str) -> str:
    """Return `path` if it is a relative `/`-separated path whose every segment is a file
    name (no empty, `.` or `..` segment, no leading `/`); else 400 INVALID_FIELD."""
    if path.startswith("/"):
        raise InvalidFieldError("path must be relative, not start with '/'", field="path")
    if len(path.encode("utf-8", errors="replace")) > MAX_PATH_BYTES:
        raise InvalidFieldError(f"path must be at most {MAX_PATH_BYTES} bytes", field="path")
    for segment in path.split("/"):
        check_file_name(segment, field="path")
    return path


def base_name(path: str) -> str:
    """A path's last segment: its file name (for the content type and downloads)."""
    return path.rsplit("/", 1)[-1]


def tree_key(owner: Owner, path: str) -> str:
    """The key of a file stored by path; unsafe characters become `_` in each segment."""
    safe = "/".join(key_safe_name(segment) for segment in path.split("/"))
    key = f"{owner_prefix(owner)}{TREE_SEGMENT}/{safe}"
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidFieldError(
            f"path is too long: its key would exceed S3's {MAX_KEY_BYTES} bytes", field="path"
        )
    return key


def candidate_key(
    owner: Owner, day: datetime, where: tuple[str, str], path: str | None, attempt: int = 0
) -> str:
    """The key a file would take at `attempt` (0: its own name, then `name (1)`…)."""
    category, name = where
    if path is None:
        return build_key(owner, day, category, name_variant(name, attempt))
    folder, _, last = path.rpartition("/")
    variant = name_variant(last, attempt)
    return tree_key(owner, f"{folder}/{variant}" if folder else variant)


class KeyClaims(Protocol):
    """Reservations of keys, so two uploads racing for one name never both get it."""

    def claim_key(self, key: str, record_id: str, now: datetime, until: datetime) -> bool:
        """Reserve `key` for one upload or draft; claiming it again for the same id succeeds."""
        ...

    def release_key(self, key: str, record_id: str) -> None: ...


def choose_key(
    storage: ObjectStore,
    claims: KeyClaims,
    owner: Owner,
    when: tuple[datetime, datetime],
    where: tuple[str, str],
    record_id: str,
    *,
    overwrite: bool,
    path: str | None = None,
) -> str:
    """The first free key among `name`, `name (1)`…, reserved for `record_id` until
    `when[1]`. `where` is (category, name); with `path`, the variants are of its last
    segment in its own folder. A key already holding this record's own object counts as
    free, so a retried confirm or completion lands on the same key."""
    now, until = when
    for attempt in range(MAX_NAME_VARIANTS):
        key = candidate_key(owner, now, where, path, attempt)
        if overwrite:
            return key
        info = storage.head(key)
        free = info is None or info.metadata.get(META_UPLOAD) == record_id
        if free and claims.claim_key(key, record_id, now, until):
            return key
    if path is None:
        raise InvalidFieldError("too many files with this name today", field="file_name")
    raise InvalidFieldError("too many files with this path", field="path")
