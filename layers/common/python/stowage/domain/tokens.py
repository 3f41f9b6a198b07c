"""Upload tokens: what a web app's backend hands a browser instead of its API key.

A token is stateless and signed: `stu1.<claims>.<mac>`, the claims base64url JSON
(the owner it uploads for, its limits, its expiry) and the mac HMAC-SHA-256 under a
secret of its own (not the API-key pepper). Verifying needs no read, so a page of
Uppy requests costs no database round trip for the token itself; only `max_files`
needs state, a counter per token (`FileCounter`) that expires with it. The same
signer signs the claim a single-request POST carries to S3 (`purpose: "post"`), so
the function S3's event invokes can tell a stowage POST from anything else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import ValidationError

from stowage.domain.clock import utc_now
from stowage.domain.identity import resolve_owner
from stowage.errors import FileTooLargeError, ForbiddenError, InvalidTokenError, TokenUsedUpError
from stowage.models.browser import MintTokenRequest, TokenClaims
from stowage.models.identity import Caller

TOKEN_PREFIX = "stu1"  # nosec B105  # the format tag of a token, not a secret
MAX_TOKEN_LENGTH = 4096


class FileCounter(Protocol):
    """How many uploads each token has started."""

    def take(self, token_id: str, limit: int, until: datetime) -> bool:
        """Count one more upload for `token_id` if fewer than `limit` were counted;
        False when it is used up. The count may be forgotten after `until`."""
        ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Signs and verifies claims; the secret is read when needed (it is cached below)."""

    def __init__(self, secret: Callable[[], bytes], clock: Callable[[], datetime] = utc_now):
        self.secret = secret
        self.clock = clock

    def sign(self, claims: TokenClaims) -> str:
        payload = _b64(claims.model_dump_json(exclude_none=True).encode("utf-8"))
        return f"{TOKEN_PREFIX}.{payload}.{self._mac(payload)}"

    def verify(
        self, token: str, purpose: str = "upload", at: datetime | None = None
    ) -> TokenClaims:
        """The claims of a genuine token of this purpose, unexpired `at` (default: now);
        403 for anything else (the message never says which check failed)."""
        claims = self._genuine(token)
        if claims is None or claims.purpose != purpose:
            raise InvalidTokenError("the upload token is not valid")
        if claims.exp <= int((at or self.clock()).timestamp()):
            raise InvalidTokenError("the upload token has expired; ask for a new one")
        return claims

    def _genuine(self, token: str) -> TokenClaims | None:
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        prefix, _, rest = token.partition(".")
        payload, _, mac = rest.partition(".")
        if prefix != TOKEN_PREFIX or not payload or not mac:
            return None
        if not hmac.compare_digest(mac.encode("ascii", "replace"), self._mac(payload).encode()):
            return None
        try:
            return TokenClaims.model_validate(json.loads(_unb64(payload)))
        except (binascii.Error, ValueError, ValidationError):
            return None

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self.secret(), f"{TOKEN_PREFIX}.{payload}".encode(), hashlib.sha256)
        return _b64(digest.digest())


class TokenService:
    """Mint tokens for an API client; check what a token may do."""

    def __init__(
        self,
        signer: TokenSigner,
        counter: FileCounter,
        service_limit: int,
        new_id: Callable[[], str] = lambda: secrets.token_urlsafe(12),
    ) -> None:
        self.signer = signer
        self.counter = counter
        self.service_limit = service_limit
        self.new_id = new_id

    def mint(self, caller: Caller, request: MintTokenRequest) -> tuple[str, datetime]:
        """A token for the user the request names (act_as rules), within the client's
        limits; answers the token and its expiry."""
        owner = resolve_owner(caller, request.user_id, request.role)
        limit = min(caller.max_file_size, self.service_limit)
        if request.max_file_size is not None and request.max_file_size > limit:
            raise FileTooLargeError(
                f"max_file_size is over this client's limit of {limit} bytes",
                field="max_file_size",
            )
        expires_at = self.signer.clock().astimezone(UTC).replace(microsecond=0) + timedelta(
            seconds=request.ttl_seconds
        )
        claims = TokenClaims(
            jti=self.new_id(),
            client_id=owner.client_id,
            key_prefix=owner.key_prefix,
            role=owner.role,
            user_id=owner.user_id,
            max_file_size=limit if request.max_file_size is None else request.max_file_size,
            max_files=request.max_files,
            content_types=[t.lower() for t in request.content_types or []] or None,
            exp=int(expires_at.timestamp()),
        )
        return self.signer.sign(claims), expires_at

    def verify(self, token: str) -> TokenClaims:
        return self.signer.verify(token)

    def start_file(self, claims: TokenClaims, content_type: str) -> None:
        """One more upload under this token: its type must be allowed, and it counts
        against `max_files` (a refused type is not counted)."""
        check_type(claims, content_type)
        if claims.max_files is None:
            return
        until = datetime.fromtimestamp(claims.exp, UTC)
        if not self.counter.take(claims.jti, claims.max_files, until):
            raise TokenUsedUpError(f"this token may start at most {claims.max_files} uploads")


def type_matches(pattern: str, content_type: str) -> bool:
    """`image/*` takes `image/png`; `*/*` takes anything; parameters are ignored."""
    wanted_type, _, wanted_sub = pattern.lower().partition("/")
    kind, _, sub = content_type.split(";", 1)[0].strip().lower().partition("/")
    return wanted_type in ("*", kind) and wanted_sub in ("*", sub)


def check_type(claims: TokenClaims, content_type: str) -> None:
    patterns = claims.content_types
    if patterns and not any(type_matches(p, content_type) for p in patterns):
        raise ForbiddenError(
            f"this token does not take files of type {content_type!r}", field="type"
        )


def token_caller(claims: TokenClaims) -> Caller:
    """The caller a token acts as: its client, already resolved to its one user (the
    act_as rules were applied when it was minted)."""
    return Caller(
        client_id=claims.client_id,
        role=claims.role,
        key_prefix=claims.key_prefix,
        max_file_size=claims.max_file_size,
        act_as=True,
    )
