"""`choose_key`: the first free variant of a name, reserved; a record's own object
counts as free; overwrite takes the name as it is; a thousand variants is the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stowage.domain.keys import build_key
from stowage.domain.naming import MAX_NAME_VARIANTS, choose_key
from stowage.domain.ports import ObjectInfo
from stowage.errors import InvalidFieldError
from stowage.models.identity import Owner

OWNER = Owner(client_id="cam", key_prefix="t", role="user", user_id="u")
NOW = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)
WHEN = (NOW, NOW + timedelta(hours=1))


def key(name: str) -> str:
    return build_key(OWNER, NOW, "document", name)


class Objects:
    def __init__(self, owners: dict[str, str]) -> None:
        self.owners = owners
        """key -> the upload id in its metadata"""
        self.heads: list[str] = []

    def head(self, key: str) -> ObjectInfo | None:
        self.heads.append(key)
        if key not in self.owners:
            return None
        return ObjectInfo(key, 1, "e", "text/plain", NOW, {"upload": self.owners[key]})


class Claims:
    def __init__(self, taken: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.taken = set(taken)
        self.claimed: list[tuple[str, str, datetime, datetime]] = []

    def claim_key(self, key: str, record_id: str, now: datetime, until: datetime) -> bool:
        if key in self.taken:
            return False
        self.claimed.append((key, record_id, now, until))
        return True

    def release_key(self, key: str, record_id: str) -> None:
        raise AssertionError("not used")


def choose(objects: Objects, claims: Claims, *, overwrite: bool = False) -> str:
    return choose_key(
        objects, claims, OWNER, WHEN, ("document", "a.txt"), "up_1", overwrite=overwrite
    )  # type: ignore[arg-type]


def test_a_free_name_is_reserved_as_it_is():
    objects, claims = Objects({}), Claims()
    assert choose(objects, claims) == key("a.txt")
    assert objects.heads == [key("a.txt")]
    assert claims.claimed == [(key("a.txt"), "up_1", NOW, NOW + timedelta(hours=1))]


def test_another_records_file_moves_the_name_on():
    objects, claims = Objects({key("a.txt"): "up_other", key("a (1).txt"): "up_x"}), Claims()
    assert choose(objects, claims) == key("a (2).txt")
    assert [c[0] for c in claims.claimed] == [key("a (2).txt")]


def test_the_records_own_file_is_its_key_again():
    objects, claims = Objects({key("a.txt"): "up_1"}), Claims()
    assert choose(objects, claims) == key("a.txt")


def test_a_name_another_upload_reserved_moves_the_name_on():
    objects, claims = Objects({}), Claims({key("a.txt")})
    assert choose(objects, claims) == key("a (1).txt")


def test_overwrite_takes_the_name_without_looking_or_reserving():
    objects, claims = Objects({key("a.txt"): "up_other"}), Claims()
    assert choose(objects, claims, overwrite=True) == key("a.txt")
    assert objects.heads == [] and claims.claimed == []


def test_a_thousand_taken_variants_is_a_clear_400():
    taken = {key("a.txt")} | {key(f"a ({n}).txt") for n in range(1, MAX_NAME_VARIANTS)}
    objects, claims = Objects(dict.fromkeys(taken, "up_other")), Claims()
    with pytest.raises(InvalidFieldError) as raised:
        choose(objects, claims)
    assert (str(raised.value), raised.value.field) == (
        "too many files with this name today",
        "file_name",
    )
    assert len(objects.heads) == MAX_NAME_VARIANTS == 1000
