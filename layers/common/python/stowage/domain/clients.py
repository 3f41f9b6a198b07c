"""API-key clients: key format, keyed hashing, the authorizer's decision, administration.

Keys are 32 random bytes (URL-safe base64) behind a recognisable `stw_` prefix.
Only HMAC-SHA-256(pepper, key) is stored, so a leaked table reveals no key, and
a key is recognised by looking its hash up: no per-character comparison of
secrets ever happens, and the final check uses `hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from stowage.errors import InvalidFieldError, NotFoundError
from stowage.models.identity import Caller
from stowage.observability import logger, metrics

KEY_PREFIX = "stw_"
_KEY = re.compile(r"^stw_[A-Za-z0-9_-]{43}$")
_BEARER = re.compile(r"^[Bb]earer (\S+)$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
_KEY_PREFIX_SEGMENT = re.compile(r"^[A-Za-z0-9_.@=-]{1,64}$")
LAST_USED_RESOLUTION = timedelta(hours=1)
LOOKUP_FAILED = "AuthorizerLookupFailed"
"""Metric: a key could not be looked up (pepper or table unreachable); it was refused."""
NOTE_USED_FAILED = "AuthorizerLastUsedWriteFailed"
"""Metric: the hourly last-used write failed; the key was let through all the same."""


class ClientRecord(BaseModel):
    """One client as stored; `key_hash` never leaves the server."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    client_id: str
    role: str
    key_prefix: str = ""
    max_file_size: int = Field(ge=0)
    act_as: bool = False
    act_as_roles: list[str] = Field(default_factory=list)
    disabled: bool = False
    key_hash: str
    created_at: datetime
    last_used_at: datetime | None = None

    def caller(self) -> Caller:
        return Caller(
            client_id=self.client_id,
            role=self.role,
            key_prefix=self.key_prefix,
            max_file_size=self.max_file_size,
            act_as=self.act_as,
            act_as_roles=",".join(self.act_as_roles),
        )


class ClientStore(Protocol):
    def find_by_key_hash(self, key_hash: str) -> ClientRecord | None: ...

    def get(self, client_id: str) -> ClientRecord | None: ...

    def create(self, record: ClientRecord) -> bool:
        """Store a new client; False if the id is taken."""
        ...

    def update(self, client_id: str, **changes: object) -> ClientRecord | None: ...

    def note_used(self, client_id: str, now: datetime, before: datetime) -> None:
        """Record use, at most once per resolution (a write per request would cost)."""
        ...

    def list_all(self) -> list[ClientRecord]: ...


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str, pepper: bytes) -> str:
    return hmac.new(pepper, key.encode("utf-8"), hashlib.sha256).hexdigest()


def bearer_key(header: str | None) -> str | None:
    """The key of an `Authorization: Bearer stw_…` header, or None when malformed."""
    match = _BEARER.match(header or "")
    if match is None or not _KEY.match(match.group(1)):
        return None
    return match.group(1)


@dataclass(frozen=True)
class ClientKeys:
    """Where clients live, the pepper of their key hashes, and the time."""

    store: ClientStore
    pepper: Callable[[], bytes]
    clock: Callable[[], datetime]


class KeyAuthorizer(ClientKeys):
    """The decision of the HTTP API's Lambda authorizer."""

    def authorize(self, header: str | None) -> Caller | None:
        """The caller for a valid, enabled key; None for anything else, a failed lookup
        included (API Gateway turns an authorizer's error into a 500: a refusal is a 403).
        Noting the use is bookkeeping: its failure is logged and counted, never raised."""
        key = bearer_key(header)
        if key is None:
            return None
        try:
            key_hash = hash_api_key(key, self.pepper())
            record = self.store.find_by_key_hash(key_hash)
        except Exception:  # fail closed, whatever broke: never a 500 at the gateway
            _failed(LOOKUP_FAILED, "key lookup failed; key refused")
            return None
        if record is None or record.disabled:
            return None
        if not hmac.compare_digest(record.key_hash, key_hash):
            return None
        now = self.clock()
        if record.last_used_at is None or record.last_used_at < now - LAST_USED_RESOLUTION:
            try:
                self.store.note_used(record.client_id, now, now - LAST_USED_RESOLUTION)
            except Exception:  # best effort: the next request past the hour tries again
                _failed(NOTE_USED_FAILED, "noting the key's use failed; key accepted")
        return record.caller()


def _failed(metric: str, message: str) -> None:
    logger.exception(message, extra={"metric": metric})
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)


class NewClient(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    client_id: str
    role: str = "user"
    key_prefix: str | None = None
    max_file_size: int = Field(ge=0)
    act_as: bool = False
    act_as_roles: list[str] = Field(default_factory=list)


class ClientAdmin(ClientKeys):
    """What the admin commands do; keys are shown once, when made."""

    def create_client(self, new: NewClient) -> tuple[ClientRecord, str]:
        """A new client and its key. Its key prefix defaults to its id, so every client
        has a corner of the bucket of its own."""
        _check_name("client_id", new.client_id)
        _check_name("role", new.role)
        for role in new.act_as_roles:
            _check_name("act_as_roles", role)
        prefix = new.client_id if new.key_prefix is None else new.key_prefix.strip("/")
        check_key_prefix(prefix)
        key = new_api_key()
        record = ClientRecord(
            **new.model_dump(exclude={"key_prefix"}),
            key_prefix=prefix,
            key_hash=hash_api_key(key, self.pepper()),
            created_at=self.clock(),
        )
        if not self.store.create(record):
            raise InvalidFieldError(f"client {new.client_id!r} exists", field="client_id")
        return record, key

    def rotate_key(self, client_id: str) -> str:
        """A new key; the old one stops working (after the authorizer cache's TTL)."""
        key = new_api_key()
        self._change(client_id, key_hash=hash_api_key(key, self.pepper()))
        return key

    def disable_client(self, client_id: str) -> ClientRecord:
        return self._change(client_id, disabled=True)

    def enable_client(self, client_id: str) -> ClientRecord:
        return self._change(client_id, disabled=False)

    def list_clients(self) -> list[ClientRecord]:
        return sorted(self.store.list_all(), key=lambda r: r.client_id)

    def _change(self, client_id: str, **changes: object) -> ClientRecord:
        record = self.store.update(client_id, **changes)
        if record is None:
            raise NotFoundError(f"no client {client_id!r}")
        return record


def _check_name(field: str, value: str) -> None:
    if not _CLIENT_ID.match(value) or value in {".", ".."}:
        raise InvalidFieldError(f"{field} must match [A-Za-z0-9_.@-]{{1,128}}", field=field)


def check_key_prefix(prefix: str) -> None:
    """A key prefix is a few plain segments: it must never let keys climb or collide."""
    segments = prefix.split("/") if prefix else []
    if len(prefix) > 256 or any(
        not _KEY_PREFIX_SEGMENT.match(s) or s in {".", ".."} for s in segments
    ):
        raise InvalidFieldError(
            "key_prefix must be plain segments of [A-Za-z0-9_.@=-]", field="key_prefix"
        )
