"""The admin operations and the authorizer's bookkeeping at their edges: which field a
refusal names and what it says, prefix bounds, ordering, and what is written."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from stowage.domain.clients import (
    LAST_USED_RESOLUTION,
    LOOKUP_FAILED,
    NOTE_USED_FAILED,
    ClientAdmin,
    KeyAuthorizer,
    NewClient,
    check_key_prefix,
)
from stowage.errors import DatabaseError, InvalidFieldError, NotFoundError
from stowage.observability import metrics
from tests.support.fakes import FakeClientStore

PEPPER = b"test-pepper"
NOW = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)
NAME_RULE = "must match [A-Za-z0-9_.@-]{1,128}"
PREFIX_RULE = "key_prefix must be plain segments of [A-Za-z0-9_.@=-]"


class RecordingStore(FakeClientStore):
    def __init__(self) -> None:
        super().__init__()
        self.noted: list[tuple[str, datetime, datetime]] = []
        self.fail: Exception | None = None

    def find_by_key_hash(self, key_hash: str):  # type: ignore[no-untyped-def]
        if isinstance(self.fail, LookupError):
            raise DatabaseError("looking up the key failed")
        return super().find_by_key_hash(key_hash)

    def note_used(self, client_id: str, now: datetime, before: datetime) -> None:
        if isinstance(self.fail, DatabaseError):
            raise self.fail
        self.noted.append((client_id, now, before))
        super().note_used(client_id, now, before)


@pytest.fixture
def store() -> RecordingStore:
    return RecordingStore()


@pytest.fixture
def admin(store: RecordingStore) -> ClientAdmin:
    return ClientAdmin(store, lambda: PEPPER, lambda: NOW)


def refusal(call, *args, **kwargs) -> InvalidFieldError:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidFieldError) as raised:
        call(*args, **kwargs)
    return raised.value


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"client_id": "a/b"}, "client_id"),
        ({"client_id": "."}, "client_id"),
        ({"client_id": ".."}, "client_id"),
        ({"client_id": "ok", "role": "r/x"}, "role"),
        ({"client_id": "ok", "role": "."}, "role"),
        ({"client_id": "ok", "role": ".."}, "role"),
        ({"client_id": "ok", "act_as_roles": ["fine", "b a d"]}, "act_as_roles"),
        ({"client_id": "ok", "act_as_roles": [".."]}, "act_as_roles"),
    ],
)
def test_a_bad_name_is_refused_naming_its_field(admin, fields, field):
    error = refusal(admin.create_client, NewClient(max_file_size=1, **fields))
    assert error.field == field
    assert str(error) == f"{field} {NAME_RULE}"


def test_names_with_dots_inside_are_fine(admin):
    record, _ = admin.create_client(
        NewClient(client_id="a.b", role=".r.", max_file_size=1, act_as_roles=["...", ".x"])
    )
    assert (record.client_id, record.role, record.act_as_roles) == ("a.b", ".r.", ["...", ".x"])


def test_a_taken_id_is_refused_naming_the_field(admin):
    admin.create_client(NewClient(client_id="cam", max_file_size=1))
    error = refusal(admin.create_client, NewClient(client_id="cam", max_file_size=1))
    assert (error.field, str(error)) == ("client_id", "client 'cam' exists")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("/tenants/X/", "tenants/X"),
        ("X-a/", "X-a"),
        ("", ""),
        ("  ", None),
    ],
)
def test_the_key_prefix_loses_only_its_outer_slashes(admin, given, stored):
    new = NewClient(client_id="cam", max_file_size=1, key_prefix=given)
    if stored is None:
        error = refusal(admin.create_client, new)
        assert (error.field, str(error)) == ("key_prefix", PREFIX_RULE)
        return
    record, _ = admin.create_client(new)
    assert record.key_prefix == stored


@pytest.mark.parametrize(
    ("prefix", "ok"),
    [
        ("", True),
        ("a" * 64 + ("/" + "b" * 63) * 3, True),  # 256 characters
        ("a" * 64 + ("/" + "b" * 63) * 3 + "c", False),  # 257
        ("a/./b", False),
        ("a/../b", False),
        (".", False),
        ("..", False),
        ("a/.x/..y", True),
    ],
)
def test_key_prefix_bounds(prefix, ok):
    if ok:
        check_key_prefix(prefix)
        return
    error = refusal(check_key_prefix, prefix)
    assert (error.field, str(error)) == ("key_prefix", PREFIX_RULE)


def test_an_unknown_client_is_not_found_by_name(admin):
    for change in (admin.rotate_key, admin.disable_client, admin.enable_client):
        with pytest.raises(NotFoundError) as raised:
            change("ghost")
        assert str(raised.value) == "no client 'ghost'"


def test_enabling_stores_false_and_clients_are_listed_by_id(admin, store):
    for name in ("m", "b", "z", "a"):
        admin.create_client(NewClient(client_id=name, max_file_size=1))
    admin.disable_client("b")
    assert admin.enable_client("b").disabled is False
    assert store.records["b"].disabled is False
    assert [r.client_id for r in admin.list_clients()] == ["a", "b", "m", "z"]


def test_use_is_noted_with_the_resolution_as_the_condition(admin, store):
    _, key = admin.create_client(NewClient(client_id="cam", max_file_size=1))
    assert KeyAuthorizer(store, lambda: PEPPER, lambda: NOW).authorize(f"Bearer {key}")
    assert store.noted == [("cam", NOW, NOW - LAST_USED_RESOLUTION)]


@pytest.mark.parametrize(
    ("fail", "metric", "message", "accepted"),
    [
        (
            DatabaseError("noting use failed"),
            NOTE_USED_FAILED,
            "noting the key's use failed; key accepted",
            True,
        ),
        (LookupError(), LOOKUP_FAILED, "key lookup failed; key refused", False),
    ],
)
def test_a_failure_is_logged_with_its_metric_and_counted_once(
    admin, store, caplog, fail, metric, message, accepted
):
    _, key = admin.create_client(NewClient(client_id="cam", max_file_size=1))
    store.fail = fail
    metrics.clear_metrics()
    caplog.set_level(logging.INFO)
    caller = KeyAuthorizer(store, lambda: PEPPER, lambda: NOW).authorize(f"Bearer {key}")
    assert (caller is not None) is accepted
    logged = [r for r in caplog.records if r.getMessage() == message]
    assert len(logged) == 1 and logged[0].levelno == logging.ERROR
    assert getattr(logged[0], "metric", None) == metric and logged[0].exc_info
    assert {n: (m["Unit"], m["Value"]) for n, m in metrics.metric_set.items()} == {
        metric: ("Count", [1.0])
    }
    metrics.clear_metrics()
