"""The catalog's reading and rewriting paths at their edges: what each refusal says,
forgetting one key everywhere, moving backups and trimming, the index too busy, and
which owner every existence check is made for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stowage.domain.catalog import (
    BACKUP_TAG,
    Catalog,
    CatalogRules,
    IndexEntry,
    Naming,
    backup_area_key,
    deduplicated,
    name_for,
)
from stowage.domain.ports import NewObject
from stowage.errors import (
    DatabaseError,
    InvalidFieldError,
    MissingFieldError,
    StoredFileNotFoundError,
)
from stowage.models.common import NewFileRequest
from stowage.models.identity import Caller, Owner
from tests.support.fakes import FakeIndexStore, FakeObjectStore

OWNER = Owner(client_id="app", key_prefix="app", role="user", user_id="u1")
T0 = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)


def put(storage: FakeObjectStore, key: str, data: bytes = b"x", client: str = "app") -> None:
    storage.objects[key] = (data, NewObject(key, "x/y", "", {"client": client}))


def entry(key: str, minutes: int = 0, **extra: Any) -> IndexEntry:
    fields = {"file_name": key.rsplit("/", 1)[-1], "category": "other", "size": 1}
    return IndexEntry(key=key, stored_at=T0 + timedelta(minutes=minutes), **(fields | extra))


class Archiving(FakeObjectStore):
    def __init__(self) -> None:
        super().__init__()
        self.archived: list[tuple[str, str, tuple[str, str]]] = []

    def archive(self, key: str, new_key: str, tag: tuple[str, str]) -> None:
        self.archived.append((key, new_key, tag))
        super().archive(key, new_key, tag)


@pytest.fixture
def roomy() -> tuple[Catalog, FakeObjectStore, FakeIndexStore]:
    """Bounds that never move or trim anything."""
    storage, index = FakeObjectStore(), FakeIndexStore()
    return Catalog(index, storage, CatalogRules(keep_backups=100)), storage, index


@pytest.fixture
def world() -> tuple[Catalog, Archiving, FakeIndexStore]:
    storage, index = Archiving(), FakeIndexStore()
    return (
        Catalog(index, storage, CatalogRules(keep_backups=1, recent=2, backups=2)),
        storage,
        index,
    )


@pytest.mark.parametrize(
    ("naming", "error", "message", "field"),
    [
        (Naming("backup", None, None, 1), MissingFieldError, "app is required for a backup", "app"),
        (
            Naming("backup", None, "notes", None),
            MissingFieldError,
            "iteration is required for a backup",
            "iteration",
        ),
        (Naming("file", "a", "n", None), InvalidFieldError, "app applies to backups only", "app"),
        (
            Naming("file", "a", None, 2),
            InvalidFieldError,
            "iteration applies to backups only",
            "iteration",
        ),
        (
            Naming("file", None, None, None),
            MissingFieldError,
            "file_name (or path) is required",
            "file_name",
        ),
    ],
)
def test_each_naming_mistake_says_what_and_where(naming, error, message, field):
    with pytest.raises(error) as raised:
        name_for(OWNER, naming, T0)
    assert (str(raised.value), raised.value.field) == (message, field)


def test_a_deduplicated_answer_points_at_the_twin():
    twin = entry("k/t", size=7, sha256=None)
    answer = deduplicated(twin)
    assert answer.model_dump() == {"key": "k/t", "size": 7, "sha256": "", "status": "deduplicated"}
    assert deduplicated(entry("k/t", sha256="ab" * 32)).sha256 == "ab" * 32


def test_admit_acts_for_the_named_user_and_finds_its_twin(world):
    catalog, storage, _ = world
    backend = Caller(client_id="app", role="svc", key_prefix="app", max_file_size=100, act_as=True)
    owner = Owner(client_id="app", key_prefix="app", role="viewer", user_id="u7")
    put(storage, "app/viewer/u7/b1")
    catalog.stored(owner, entry("app/viewer/u7/b1", app="notes", iteration=1, sha256="ab" * 32))
    request = NewFileRequest(
        kind="backup",
        app="notes",
        iteration=2,
        size=1,
        sha256="AB" * 32,
        user_id="u7",
        role="viewer",
    )
    admission = catalog.admit(backend, request, T0, 100)
    assert admission.owner == owner
    assert admission.twin is not None and admission.twin.key == "app/viewer/u7/b1"
    other_app = request.model_copy(update={"app": "todo"})
    assert catalog.admit(backend, other_app, T0, 100).twin is None
    other_bytes = request.model_copy(update={"sha256": "cd" * 32})
    assert catalog.admit(backend, other_bytes, T0, 100).twin is None


def test_a_twin_whose_file_is_gone_is_no_twin(world):
    catalog, storage, _ = world
    put(storage, "app/user/u1/b1")
    catalog.stored(OWNER, entry("app/user/u1/b1", app="notes", iteration=1, sha256="ab" * 32))
    assert catalog.duplicate_of(OWNER, "notes", "ab" * 32) is not None
    del storage.objects["app/user/u1/b1"]
    assert catalog.duplicate_of(OWNER, "notes", "ab" * 32) is None


def test_forget_removes_one_key_everywhere_and_keeps_the_rest(roomy):
    catalog, storage, index = roomy
    for n, key in enumerate(("k/a", "k/b", "k/c")):
        put(storage, key)
        app = "notes" if key != "k/c" else None
        catalog.stored(OWNER, entry(key, n, app=app, iteration=n if app else None, sha256=key))
    catalog.forget(OWNER, "k/b")
    after = index.load(OWNER)
    assert [e.key for e in after.recent] == ["k/c", "k/a"]
    assert [e.key for e in after.backups] == ["k/a"]
    assert [e.key for e in after.recent] == ["k/c", "k/a"]
    assert {e.key for e in after.by_category.values()} == {"k/c"}
    catalog.forget(OWNER, "k/c")
    assert index.load(OWNER).by_category == {}
    assert [e.key for e in index.load(OWNER).recent] == ["k/a"]


def test_latest_uses_the_category_shortcut_only_without_a_name_prefix(world):
    catalog, storage, index = world
    put(storage, "k/photo.png")
    catalog.stored(OWNER, entry("k/photo.png", 0, category="image", file_name="photo.png"))
    for n in range(3):  # pushes the image out of the short recent list
        put(storage, f"k/doc{n}")
        catalog.stored(OWNER, entry(f"k/doc{n}", n + 1))
    index.saved[OWNER.model_dump_json()] = index.load(OWNER).model_copy(
        update={"recent": index.load(OWNER).recent[:2]}
    )
    assert catalog.latest(OWNER, "image", None).key == "k/photo.png"
    with pytest.raises(StoredFileNotFoundError) as raised:
        catalog.latest(OWNER, "image", "photo")
    assert str(raised.value) == "no matching file for this user"


def test_backups_check_the_app_and_list_newest_first(roomy):
    catalog, storage, _ = roomy
    for n, app in enumerate(("notes", "todo", "notes")):
        put(storage, f"k/{n}")
        catalog.stored(OWNER, entry(f"k/{n}", n, app=app, iteration=n, sha256=str(n)))
    assert [b.key for b in catalog.backups(OWNER, None)] == ["k/2", "k/1", "k/0"]
    assert [b.key for b in catalog.backups(OWNER, "todo")] == ["k/1"]
    with pytest.raises(InvalidFieldError) as raised:
        catalog.backups(OWNER, "No")
    assert (str(raised.value), raised.value.field) == ("app must match [a-z0-9_-]{1,64}", "app")


def test_the_latest_backup_is_the_newest_existing_one_of_the_app(roomy):
    catalog, storage, _ = roomy
    put(storage, "k/notes1")
    catalog.stored(OWNER, entry("k/notes1", 0, app="notes", iteration=1, sha256="1"))
    put(storage, "k/todo")
    catalog.stored(OWNER, entry("k/todo", 1, app="todo", iteration=1, sha256="2"))
    put(storage, "k/notes2")
    catalog.stored(OWNER, entry("k/notes2", 2, app="notes", iteration=2, sha256="3"))
    del storage.objects["k/notes2"]  # the newest is gone: the one before it answers
    assert catalog.latest_backup(OWNER, "notes").key == "k/notes1"
    assert catalog.latest_backup(OWNER, "todo").key == "k/todo"
    # a file of another client at that key does not count
    storage.objects["k/todo"] = (b"x", NewObject("k/todo", "x/y", "", {"client": "other"}))
    with pytest.raises(StoredFileNotFoundError) as raised:
        catalog.latest_backup(OWNER, "todo")
    assert str(raised.value) == "no backup for this user"


def test_older_backups_of_the_app_move_to_the_backup_area_tagged(world):
    catalog, storage, index = world
    put(storage, "k/other")
    catalog.stored(OWNER, entry("k/other", 0, app="todo", iteration=1, sha256="o"))
    put(storage, "k/old")
    catalog.stored(OWNER, entry("k/old", 1, app="notes", iteration=1, sha256="a"))
    put(storage, "k/new")
    catalog.stored(OWNER, entry("k/new", 2, app="notes", iteration=2, sha256="b"))
    moved = backup_area_key(OWNER, "notes", "old")
    assert storage.archived == [("k/old", moved, BACKUP_TAG)]
    after = index.load(OWNER)
    assert {e.key: e.area for e in after.backups} == {
        "k/new": "main",
        moved: "backup",
        "k/other": "main",
    }
    assert moved in {e.key for e in after.recent}
    assert "k/old" not in {e.key for e in after.recent}


def test_lists_are_trimmed_once_past_twice_their_bound(world):
    catalog, storage, index = world
    for n in range(5):  # recent bound 2: five appends pass 2 * 2
        put(storage, f"k/{n}")
        catalog.stored(OWNER, entry(f"k/{n}", n))
    assert [e.key for e in index.load(OWNER).recent] == ["k/4", "k/3"]


def test_backups_alone_past_twice_their_bound_are_trimmed_too():
    storage, index = FakeObjectStore(), FakeIndexStore()
    catalog = Catalog(index, storage, CatalogRules(keep_backups=100, recent=100, backups=2))
    for n in range(5):
        put(storage, f"k/{n}")
        catalog.stored(OWNER, entry(f"k/{n}", n, app=f"a{n}", iteration=1, sha256=str(n)))
    assert len(index.load(OWNER).backups) == 2
    assert len(index.load(OWNER).recent) == 5


def test_a_busy_index_gives_up_with_a_clear_error():
    class Busy(FakeIndexStore):
        def save(self, owner, index) -> bool:  # type: ignore[no-untyped-def]
            self.tries = getattr(self, "tries", 0) + 1
            return False

    index = Busy()
    catalog = Catalog(index, FakeObjectStore(), CatalogRules(save_attempts=3))
    with pytest.raises(DatabaseError) as raised:
        catalog.forget(OWNER, "k/a")
    assert str(raised.value) == "the user's file index is too busy; retry"
    assert index.tries == 3


def test_the_hash_limit_is_inclusive():
    storage, index = FakeObjectStore(), FakeIndexStore()
    put(storage, "k/a", b"abc")
    catalog = Catalog(index, storage, CatalogRules(hash_limit=3))
    stored = catalog.stored(OWNER, entry("k/a", size=3, app="notes", iteration=1))
    assert stored.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    put(storage, "k/b", b"abcd")
    bigger = catalog.stored(OWNER, entry("k/b", 1, size=4, app="notes", iteration=2))
    assert bigger.sha256 is None
