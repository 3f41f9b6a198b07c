"""API keys: format, hashing, the authorizer's decision, and the admin operations."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

import pytest

from stowage.domain import clients
from stowage.domain.clients import ClientAdmin, KeyAuthorizer, NewClient, bearer_key
from stowage.errors import InvalidFieldError, NotFoundError
from tests.support.fakes import FakeClientStore

PEPPER = b"test-pepper"
NOW = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)


@pytest.fixture
def store() -> FakeClientStore:
    return FakeClientStore()


@pytest.fixture
def admin(store: FakeClientStore) -> ClientAdmin:
    return ClientAdmin(store, lambda: PEPPER, lambda: NOW)


@pytest.fixture
def authorizer(store: FakeClientStore) -> KeyAuthorizer:
    return KeyAuthorizer(store, lambda: PEPPER, lambda: NOW)


def make(admin: ClientAdmin, client_id: str = "camera", **fields: object) -> str:
    _, key = admin.create_client(NewClient(client_id=client_id, max_file_size=1024, **fields))
    return key


def test_keys_are_long_random_prefixed_and_stored_only_as_a_keyed_hash(admin, store):
    # Given / When
    record, key = admin.create_client(NewClient(client_id="camera", max_file_size=1024))
    other = make(admin, "backup")
    # Then
    assert key.startswith("stw_") and len(key) == 47 and key != other
    assert key not in record.model_dump_json()
    assert record.key_hash == hmac.new(PEPPER, key.encode(), "sha256").hexdigest()
    assert store.records["camera"].key_prefix == "camera"


def test_a_valid_key_gives_the_clients_identity(admin, authorizer):
    key = make(admin, role="device", key_prefix="cams/1", act_as=True, act_as_roles=["a", "b"])
    caller = authorizer.authorize(f"Bearer {key}")
    assert caller is not None
    assert (caller.client_id, caller.role, caller.key_prefix) == ("camera", "device", "cams/1")
    assert caller.act_as and caller.allowed_roles == {"a", "b"}


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # wrong last character
        lambda k: k[:-5],  # truncated
        lambda k: k.upper(),  # different case
        lambda k: k + "x",  # too long
        lambda k: "",  # empty
    ],
    ids=["wrong", "truncated", "case", "longer", "empty"],
)
def test_near_miss_keys_are_refused(admin, authorizer, mangle):
    key = make(admin)
    assert authorizer.authorize(f"Bearer {mangle(key)}") is None


@pytest.mark.parametrize(
    "header",
    ["{key}", "Basic {key}", "Bearer  {key}", "Bearer {key} x", "Bearer\t{key}", "Token {key}", ""],
)
def test_malformed_headers_are_refused_without_a_lookup(admin, authorizer, store, header):
    key = make(admin)
    assert authorizer.authorize(header.format(key=key)) is None
    assert store.lookups == 0


def test_the_scheme_is_case_insensitive(admin, authorizer):
    key = make(admin)
    assert authorizer.authorize(f"bearer {key}") is not None


def test_the_final_check_is_constant_time(admin, authorizer, monkeypatch):
    # Given a spy on hmac.compare_digest as the domain module uses it
    key = make(admin)
    calls: list[tuple[str, str]] = []
    real = clients.hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(clients.hmac, "compare_digest", spy)
    # When
    assert authorizer.authorize(f"Bearer {key}") is not None
    # Then the key itself is never compared, only hashes, and in constant time
    assert len(calls) == 1 and key not in calls[0]


def test_disabled_and_rotated_away_keys_stop_working(admin, authorizer):
    # Given
    old = make(admin)
    # When
    new = admin.rotate_key("camera")
    # Then
    assert authorizer.authorize(f"Bearer {old}") is None
    assert authorizer.authorize(f"Bearer {new}") is not None
    admin.disable_client("camera")
    assert authorizer.authorize(f"Bearer {new}") is None
    admin.enable_client("camera")
    assert authorizer.authorize(f"Bearer {new}") is not None


def test_use_is_noted_at_most_once_an_hour(admin, store):
    key = make(admin)
    clock = [NOW]
    authorizer = KeyAuthorizer(store, lambda: PEPPER, lambda: clock[0])
    for _ in range(3):
        authorizer.authorize(f"Bearer {key}")
    clock[0] += timedelta(hours=2)
    authorizer.authorize(f"Bearer {key}")
    assert store.used == ["camera", "camera"]


def test_admin_refuses_bad_ids_prefixes_and_duplicates(admin):
    make(admin)
    with pytest.raises(InvalidFieldError):
        make(admin)
    for bad in [{"client_id": "../x"}, {"client_id": "a/b"}, {"client_id": ".."}]:
        with pytest.raises(InvalidFieldError):
            admin.create_client(NewClient(max_file_size=1, **bad))
    for prefix in ["../x", "a/../b", "a//b", "a b", "ü"]:
        with pytest.raises(InvalidFieldError):
            make(admin, "p" + str(abs(hash(prefix))), key_prefix=prefix)
    with pytest.raises(NotFoundError):
        admin.rotate_key("nobody")


def test_bearer_key_parses_only_the_exact_form():
    key = "stw_" + "A" * 43
    assert bearer_key(f"Bearer {key}") == key
    assert bearer_key(None) is None
    assert bearer_key(f"Bearer stw_{'A' * 42}") is None
