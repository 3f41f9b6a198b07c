"""Choosing a file's final key: never silently replacing a file, never racing another upload."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from stowage.domain.keys import build_key, name_variant
from stowage.domain.ports import ObjectStore
from stowage.domain.stored import META_UPLOAD
from stowage.errors import InvalidFieldError
from stowage.models.identity import Owner

MAX_NAME_VARIANTS = 1000


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
) -> str:
    """The first free key among `name`, `name (1)`…, reserved for `record_id` until
    `when[1]`. `where` is (category, name). A key already holding this record's own
    object counts as free, so a retried confirm or completion lands on the same key."""
    now, until = when
    category, name = where
    for attempt in range(MAX_NAME_VARIANTS):
        key = build_key(owner, now, category, name_variant(name, attempt))
        if overwrite:
            return key
        info = storage.head(key)
        free = info is None or info.metadata.get(META_UPLOAD) == record_id
        if free and claims.claim_key(key, record_id, now, until):
            return key
    raise InvalidFieldError("too many files with this name today", field="file_name")
