"""The per-user catalog against in-memory fakes: index, latest, retention, dedupe."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from stowage.domain.catalog import (
    Catalog,
    CatalogRules,
    IndexEntry,
    Naming,
    backup_area_key,
    name_for,
)
from stowage.domain.ports import NewObject
from stowage.errors import InvalidFieldError, MissingFieldError, StoredFileNotFoundError
from stowage.models.identity import Owner
from tests.support.fakes import FakeIndexStore, FakeObjectStore

OWNER = Owner(client_id="app", key_prefix="app", role="user", user_id="u1")
T0 = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)


def put(storage: FakeObjectStore, key: str, data: bytes, client: str = "app") -> None:
    storage.objects[key] = (data, NewObject(key, "x/y", "", {"client": client}))


def entry(key: str, minutes: int = 0, **extra: object) -> IndexEntry:
    fields = {"file_name": key.rsplit("/", 1)[-1], "category": "other", "size": 1}
    return IndexEntry(key=key, stored_at=T0 + timedelta(minutes=minutes), **(fields | extra))


@pytest.fixture
def world() -> tuple[Catalog, FakeObjectStore, FakeIndexStore]:
    storage, index = FakeObjectStore(), FakeIndexStore()
    return Catalog(index, storage, CatalogRules(keep_backups=3, recent=5)), storage, index


def test_backup_names_follow_the_storage_service_pattern():
    name, backup = name_for(OWNER, Naming("backup", None, "notes", 7), T0)
    assert name == "notes_db_u1_20260112T103000Z_it7.sqlite"
    assert (backup.app, backup.iteration) == ("notes", 7)
    assert backup_area_key(OWNER, "notes", name) == f"app/user/u1/backup/notes/{name}"


@pytest.mark.parametrize(
    ("naming", "error", "field"),
    [
        (Naming("backup", None, None, 1), MissingFieldError, "app"),
        (Naming("backup", None, "notes", None), MissingFieldError, "iteration"),
        (Naming("file", "a.txt", "notes", None), InvalidFieldError, "app"),
        (Naming("file", None, None, None), MissingFieldError, "file_name"),
        (Naming("file", "../a", None, None), InvalidFieldError, "file_name"),
    ],
)
def test_naming_mistakes_are_400(naming, error, field):
    with pytest.raises(error) as caught:
        name_for(OWNER, naming, T0)
    assert caught.value.field == field


def test_latest_skips_what_no_longer_exists_and_filters(world):
    catalog, storage, _ = world
    for n, (key, category) in enumerate([("k/a.jpg", "image"), ("k/b.pdf", "document")]):
        put(storage, key, b"x")
        catalog.stored(OWNER, entry(key, n, category=category))
    put(storage, "k/c.jpg", b"x")
    catalog.stored(OWNER, entry("k/c.jpg", 2, category="image"))
    del storage.objects["k/c.jpg"]  # deleted behind the index's back
    assert catalog.latest(OWNER, None, None).key == "k/b.pdf"
    assert catalog.latest(OWNER, "image", None).key == "k/a.jpg"
    assert catalog.latest(OWNER, None, "a").key == "k/a.jpg"
    with pytest.raises(StoredFileNotFoundError):
        catalog.latest(OWNER, "video", None)


def test_another_clients_object_at_an_indexed_key_is_not_served(world):
    catalog, storage, _ = world
    put(storage, "k/a.txt", b"x", client="intruder")
    catalog.stored(OWNER, entry("k/a.txt"))
    with pytest.raises(StoredFileNotFoundError):
        catalog.latest(OWNER, None, None)


def test_the_recent_list_is_trimmed_once_it_is_twice_its_bound(world):
    catalog, storage, index = world
    for n in range(10):
        put(storage, f"k/{n}", b"x")
        catalog.stored(OWNER, entry(f"k/{n}", n))
    assert len(index.load(OWNER).recent) == 10  # appends alone: no rewrite yet
    put(storage, "k/10", b"x")
    catalog.stored(OWNER, entry("k/10", 10))
    assert [e.key for e in index.load(OWNER).recent] == ["k/10", "k/9", "k/8", "k/7", "k/6"]


def test_a_key_recorded_twice_counts_once(world):
    catalog, storage, index = world
    put(storage, "k/a", b"x")
    catalog.stored(OWNER, entry("k/a", 1))
    catalog.stored(OWNER, entry("k/a", 2))
    assert [e.key for e in index.load(OWNER).recent] == ["k/a"]


def test_backups_beyond_the_kept_number_move_to_the_backup_area(world):
    catalog, storage, index = world
    for n in range(1, 5):
        put(storage, f"main/{n}.sqlite", f"db{n}".encode())
        catalog.stored(OWNER, entry(f"main/{n}.sqlite", n, app="notes", iteration=n))
    backups = index.load(OWNER).backups
    assert [b.area for b in backups] == ["main", "main", "main", "backup"]
    moved = backups[-1]
    assert moved.key == backup_area_key(OWNER, "notes", "1.sqlite")
    assert "main/1.sqlite" not in storage.objects and storage.objects[moved.key][0] == b"db1"
    assert storage.calls["archive"] == 1


def test_a_backup_equal_to_the_latest_is_dropped_for_it(world):
    catalog, storage, index = world
    put(storage, "main/1.sqlite", b"same")
    first = catalog.stored(OWNER, entry("main/1.sqlite", 1, app="notes", iteration=1))
    put(storage, "main/2.sqlite", b"same")
    kept = catalog.stored(OWNER, entry("main/2.sqlite", 2, app="notes", iteration=2))
    assert kept.key == first.key == "main/1.sqlite"
    assert "main/2.sqlite" in storage.objects  # until the caller has recorded the twin
    catalog.drop_duplicate("main/2.sqlite")
    assert "main/2.sqlite" not in storage.objects
    assert [b.key for b in index.load(OWNER).backups] == ["main/1.sqlite"]
    assert first.sha256 is not None  # computed, as the client sent none


def test_other_apps_and_older_backups_are_no_duplicates(world):
    catalog, storage, _ = world
    for n, (app, data) in enumerate([("notes", b"A"), ("notes", b"B"), ("mail", b"A")]):
        put(storage, f"main/{n}", data)
        kept = catalog.stored(OWNER, entry(f"main/{n}", n, app=app, iteration=n))
        assert kept.key == f"main/{n}"


def test_concurrent_recordings_lose_nothing(world):
    # Given eight files recorded at once (optimistic locking retries the losers)
    catalog, storage, index = world
    catalog.rules = CatalogRules(recent=50, save_attempts=50)
    for n in range(8):
        put(storage, f"k/{n}", b"x")
    threads = [
        threading.Thread(target=catalog.stored, args=(OWNER, entry(f"k/{n}", n))) for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(e.key for e in index.load(OWNER).recent) == [f"k/{n}" for n in range(8)]


def test_a_stale_write_is_refused_by_the_index_store():
    index = FakeIndexStore()
    first = index.load(OWNER)
    assert index.save(OWNER, first)
    assert not index.save(OWNER, first)  # written meanwhile: version moved on


def stored_with(storage: FakeObjectStore, key: str, data: bytes, sha: str, client: str) -> None:
    meta = {"client": client, "sha256": sha}
    storage.objects[key] = (data, NewObject(key, "x/y", "", meta))


@pytest.mark.parametrize(
    ("client", "sha", "size", "same"),
    [
        ("app", "ab" * 32, 3, True),
        ("app", "AB" * 32, 3, True),  # hex in either case
        ("other", "ab" * 32, 3, False),  # another client's object at that key
        ("app", "cd" * 32, 3, False),  # other bytes
        ("app", "ab" * 32, 4, False),  # another size
        ("app", None, 3, False),  # no SHA-256 sent: nothing to compare
    ],
)
def test_the_same_file_at_a_key_is_found_only_for_its_owner_and_bytes(
    world: tuple[Catalog, FakeObjectStore, FakeIndexStore],
    client: str,
    sha: str | None,
    size: int,
    same: bool,
):
    catalog, storage, _ = world
    stored_with(storage, "app/user/u1/tree/a/b.bin", b"abc", "ab" * 32, client)
    twin = catalog.same_file_at(OWNER, ("app/user/u1/tree/a/b.bin", "other"), sha, size)
    assert (twin is not None) == same
    if twin is not None:
        assert (twin.key, twin.size, twin.sha256) == ("app/user/u1/tree/a/b.bin", 3, "ab" * 32)
