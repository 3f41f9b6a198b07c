"""The authorizer under failing AWS calls: bookkeeping never refuses a valid key, and a
lookup that fails refuses it (a 403) instead of raising (API Gateway's 500)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from stowage.domain import clients
from stowage.domain.clients import (
    LOOKUP_FAILED,
    NOTE_USED_FAILED,
    ClientAdmin,
    KeyAuthorizer,
    NewClient,
)
from stowage.errors import DatabaseError
from stowage.observability import metrics
from tests.support.fakes import FakeClientStore

PEPPER = b"test-pepper"
NOW = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)


class FailingStore(FakeClientStore):
    def __init__(self) -> None:
        super().__init__()
        self.fail_lookup = self.fail_note = False

    def find_by_key_hash(self, key_hash: str):  # type: ignore[no-untyped-def]
        if self.fail_lookup:
            raise DatabaseError("looking up the key failed (Throttled)")
        return super().find_by_key_hash(key_hash)

    def note_used(self, client_id: str, now: datetime, before: datetime) -> None:
        if self.fail_note:
            raise DatabaseError("noting use failed (ProvisionedThroughputExceededException)")
        super().note_used(client_id, now, before)


@pytest.fixture(autouse=True)
def no_metrics_before_or_after() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def totals() -> dict[str, float]:
    """The Powertools metrics added since the test began: {name: total}."""
    return {name: sum(m["Value"]) for name, m in metrics.metric_set.items()}


@pytest.fixture
def store() -> FailingStore:
    return FailingStore()


@pytest.fixture
def key(store: FailingStore) -> str:
    admin = ClientAdmin(store, lambda: PEPPER, lambda: NOW)
    _, key = admin.create_client(NewClient(client_id="camera", max_file_size=1024))
    return key


def test_a_failed_last_used_write_lets_the_valid_key_through_and_is_counted(store, key, caplog):
    # Given a table that refuses the bookkeeping write
    store.fail_note = True
    authorizer = KeyAuthorizer(store, lambda: PEPPER, lambda: NOW)
    # When a valid key is presented
    caller = authorizer.authorize(f"Bearer {key}")
    # Then it is accepted, the failure counted once and logged, and nothing noted
    assert caller is not None and caller.client_id == "camera"
    assert totals() == {NOTE_USED_FAILED: 1}
    assert store.used == []
    assert "noting the key's use failed" in caplog.text


def test_the_write_is_tried_again_on_the_next_request_after_a_failure(store, key):
    # Given a first request whose bookkeeping failed
    store.fail_note = True
    authorizer = KeyAuthorizer(store, lambda: PEPPER, lambda: NOW)
    assert authorizer.authorize(f"Bearer {key}") is not None
    # When the table recovers
    store.fail_note = False
    # Then the next request notes the use (the failure did not count as noted)
    assert authorizer.authorize(f"Bearer {key}") is not None
    assert store.used == ["camera"]
    assert totals() == {NOTE_USED_FAILED: 1}


def test_a_failed_lookup_refuses_the_key_without_raising_and_is_counted(store, key):
    store.fail_lookup = True
    authorizer = KeyAuthorizer(store, lambda: PEPPER, lambda: NOW)
    assert authorizer.authorize(f"Bearer {key}") is None
    assert totals() == {LOOKUP_FAILED: 1}
    assert store.used == []


def test_an_unreachable_pepper_refuses_the_key_without_raising(store, key):
    def pepper() -> bytes:
        raise RuntimeError("GetSecretValue failed")

    authorizer = KeyAuthorizer(store, pepper, lambda: NOW)
    assert authorizer.authorize(f"Bearer {key}") is None
    assert totals() == {LOOKUP_FAILED: 1}
    assert store.lookups == 0


def test_nothing_is_counted_when_nothing_fails(store, key):
    clock = [NOW]
    authorizer = KeyAuthorizer(store, lambda: PEPPER, lambda: clock[0])
    assert authorizer.authorize(f"Bearer {key}") is not None
    clock[0] += timedelta(minutes=59)
    assert authorizer.authorize(f"Bearer {key}") is not None
    assert store.used == ["camera"] and totals() == {}
    assert authorizer.authorize("Bearer stw_" + "A" * 43) is None
    assert totals() == {}


def test_use_is_noted_exactly_at_the_resolution_boundary(store, key):
    # Given a key last used exactly one resolution ago, and one just inside it
    clock = [NOW]
    authorizer = KeyAuthorizer(store, lambda: PEPPER, lambda: clock[0])
    assert authorizer.authorize(f"Bearer {key}") is not None
    clock[0] = NOW + clients.LAST_USED_RESOLUTION
    assert authorizer.authorize(f"Bearer {key}") is not None
    assert store.used == ["camera"]
    clock[0] += timedelta(microseconds=1)
    assert authorizer.authorize(f"Bearer {key}") is not None
    assert store.used == ["camera", "camera"]
