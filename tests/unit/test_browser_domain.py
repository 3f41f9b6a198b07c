"""Upload tokens and uploads of unknown size, against in-memory stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stowage.domain.catalog import Catalog, CatalogRules
from stowage.domain.tokens import TokenService, TokenSigner, type_matches
from stowage.domain.uploads import UploadRules, UploadService
from stowage.errors import (
    FileTooLargeError,
    ForbiddenError,
    InvalidTokenError,
    TokenUsedUpError,
    UploadIncompleteError,
)
from stowage.models.browser import MintTokenRequest, TokenClaims
from stowage.models.identity import Caller
from stowage.models.uploads import CompleteUploadRequest, InitUploadRequest, SignPartsRequest
from tests.support.fakes import FakeIndexStore, FakeObjectStore, FakeSessionStore

MIB = 1024 * 1024
NOW = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)
CLIENT = Caller(client_id="app", role="user", key_prefix="p", max_file_size=50 * MIB)


class Counter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def take(self, token_id: str, limit: int, until: datetime) -> bool:
        if self.counts.get(token_id, 0) >= limit:
            return False
        self.counts[token_id] = self.counts.get(token_id, 0) + 1
        return True


def tokens(clock: list[datetime]) -> TokenService:
    return TokenService(TokenSigner(lambda: b"k" * 32, lambda: clock[0]), Counter(), 100 * MIB)


def test_a_minted_token_verifies_to_its_claims_until_it_expires():
    clock = [NOW]
    service = tokens(clock)
    token, expires_at = service.mint(CLIENT, MintTokenRequest(ttl_seconds=60, max_files=2))
    claims = service.verify(token)
    assert (claims.client_id, claims.user_id, claims.role) == ("app", "app", "user")
    assert (claims.max_file_size, claims.max_files) == (50 * MIB, 2)
    assert expires_at == NOW + timedelta(seconds=60)
    clock[0] = NOW + timedelta(seconds=59)
    assert service.verify(token) == claims
    clock[0] = NOW + timedelta(seconds=60)
    with pytest.raises(InvalidTokenError):
        service.verify(token)


def test_another_secret_or_purpose_or_any_changed_character_is_refused():
    clock = [NOW]
    token, _ = tokens(clock).mint(CLIENT, MintTokenRequest())
    other = TokenSigner(lambda: b"j" * 32, lambda: NOW)
    with pytest.raises(InvalidTokenError):
        other.verify(token)
    with pytest.raises(InvalidTokenError):
        TokenSigner(lambda: b"k" * 32, lambda: NOW).verify(token, "post")
    for index in range(len(token)):
        changed = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]
        with pytest.raises(InvalidTokenError):
            tokens(clock).verify(changed)


def test_max_files_is_counted_and_a_refused_type_is_not():
    service = tokens([NOW])
    token, _ = service.mint(CLIENT, MintTokenRequest(max_files=1, content_types=["image/*"]))
    claims = service.verify(token)
    with pytest.raises(ForbiddenError):
        service.start_file(claims, "text/plain")
    service.start_file(claims, "image/png")
    with pytest.raises(TokenUsedUpError):
        service.start_file(claims, "image/png")


@pytest.mark.parametrize(
    ("pattern", "kind", "expected"),
    [
        ("image/*", "image/png", True),
        ("image/*", "IMAGE/PNG; q=1", True),
        ("image/*", "video/png", False),
        ("*/*", "anything/at-all", True),
        ("application/pdf", "application/pdf", True),
        ("application/pdf", "application/pdfx", False),
        ("text/plain", "text/html", False),
    ],
)
def test_content_type_patterns(pattern, kind, expected):
    assert type_matches(pattern, kind) is expected


def test_a_token_cannot_raise_its_clients_limit():
    with pytest.raises(FileTooLargeError):
        tokens([NOW]).mint(CLIENT, MintTokenRequest(max_file_size=50 * MIB + 1))


@pytest.fixture
def uploads() -> tuple[UploadService, FakeSessionStore, FakeObjectStore]:
    sessions, storage = FakeSessionStore(), FakeObjectStore()
    rules = UploadRules(
        part_url_ttl=3600,
        default_part_size=5 * MIB,
        max_file_size=1024 * MIB,
        session_idle=timedelta(days=7),
        record_retention=timedelta(days=30),
    )
    catalog = Catalog(FakeIndexStore(), storage, CatalogRules())
    return UploadService(sessions, storage, rules, catalog, clock=lambda: NOW), sessions, storage


def open_upload(service: UploadService, limit: int) -> str:
    request = InitUploadRequest(file_name="clip.mp4", size=0)
    return service.init_open_upload(CLIENT, request, limit).upload_id


def put(storage: FakeObjectStore, sessions: FakeSessionStore, upload_id: str, *chunks: bytes):
    session = sessions.get(upload_id)
    assert session is not None
    for number, chunk in enumerate(chunks, start=1):
        storage.put_part(session.s3_upload_id, number, chunk)


def test_an_open_upload_signs_any_part_without_a_length(uploads):
    service, _, _ = uploads
    upload_id = open_upload(service, 10 * MIB)
    signed = service.sign_parts(CLIENT, upload_id, SignPartsRequest(part_numbers=[1, 10000]))
    assert [p.url.endswith("len=None") for p in signed.parts] == [True, True]


def test_an_open_upload_completes_with_its_real_size(uploads):
    service, sessions, storage = uploads
    upload_id = open_upload(service, 10 * MIB)
    put(storage, sessions, upload_id, b"a" * (5 * MIB), b"tail")
    done = service.complete_upload(CLIENT, upload_id, None)
    assert done.size == 5 * MIB + 4
    status = service.get_status(CLIENT, upload_id)
    assert (status.status, status.size, status.part_count) == ("completed", 5 * MIB + 4, 2)


def test_an_open_upload_over_its_limit_is_aborted_with_413(uploads):
    service, sessions, storage = uploads
    upload_id = open_upload(service, 5 * MIB)
    put(storage, sessions, upload_id, b"a" * (5 * MIB), b"!")
    with pytest.raises(FileTooLargeError):
        service.complete_upload(CLIENT, upload_id, None)
    assert service.get_status(CLIENT, upload_id).status == "cancelled"
    session = sessions.get(upload_id)
    assert session is not None and session.s3_upload_id not in storage.uploads


def test_an_open_upload_completes_only_the_parts_listed_with_their_etags(uploads):
    service, sessions, storage = uploads
    upload_id = open_upload(service, 10 * MIB)
    put(storage, sessions, upload_id, b"only part")
    held = service.get_status(CLIENT, upload_id).parts
    wrong = CompleteUploadRequest.model_validate({"parts": [{"part_number": 1, "etag": "nope"}]})
    with pytest.raises(UploadIncompleteError):
        service.complete_upload(CLIENT, upload_id, wrong)
    right = CompleteUploadRequest.model_validate(
        {"parts": [{"part_number": 1, "etag": held[0].etag}]}
    )
    assert service.complete_upload(CLIENT, upload_id, right).size == len(b"only part")


def test_claims_reject_unknown_fields():
    with pytest.raises(ValueError):
        TokenClaims.model_validate(
            {
                "jti": "12345678",
                "client_id": "a",
                "key_prefix": "",
                "role": "user",
                "user_id": "a",
                "max_file_size": 1,
                "exp": 1,
                "admin": True,
            }
        )
