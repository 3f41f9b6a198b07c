"""Uploads by path: the rules a path follows, and the key it takes (`…/tree/{path}`),
which no date-layout or backup key can ever equal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stowage.domain.catalog import Naming, backup_area_key, name_for
from stowage.domain.keys import build_key
from stowage.domain.naming import MAX_PATH_BYTES, candidate_key, check_path, choose_key, tree_key
from stowage.errors import InvalidFieldError, MissingFieldError
from stowage.models.identity import Owner
from tests.unit.test_naming import Claims, Objects

OWNER = Owner(client_id="cam", key_prefix="t", role="user", user_id="u")
NOW = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)

BAD_PATHS = [
    ("traversal", "../etc/passwd"),
    ("traversal inside", "a/../../b"),
    ("dot segment", "a/./b"),
    ("empty segment", "a//b"),
    ("trailing slash", "a/b/"),
    ("absolute", "/etc/passwd"),
    ("empty", ""),
    ("backslash", "a\\..\\b"),
    ("nul", "a/b\u0000c"),
    ("newline", "a/b\nc"),
    ("escape", "a/\x1b[31m"),
    ("bidi", "a/\u202egnp.exe"),
    ("segment over 255 bytes", "a/" + "é" * 128),
    ("over 1,024 bytes", "/".join(["x" * 200] * 6)),
]


@pytest.mark.parametrize("path", [p for _, p in BAD_PATHS], ids=[c for c, _ in BAD_PATHS])
def test_a_bad_path_is_refused_by_field(path: str):
    with pytest.raises(InvalidFieldError) as caught:
        check_path(path)
    assert caught.value.field == "path"


def test_a_path_of_exactly_1024_bytes_is_taken():
    path = "/".join(["x" * 204] * 4 + ["y" * 204])  # 5 * 204 + 4 slashes
    assert len(path) == MAX_PATH_BYTES
    assert check_path(path) == path


def test_a_path_keeps_its_tree_under_the_reserved_segment():
    assert tree_key(OWNER, "uploads/users/123/avatar.png") == (
        "t/user/u/tree/uploads/users/123/avatar.png"
    )
    # unsafe characters are replaced per segment, never the separators
    assert tree_key(OWNER, "a#b/c?d.txt") == "t/user/u/tree/a_b/c_d.txt"


def test_flattened_names_that_collided_stay_apart():
    assert tree_key(OWNER, "a_b/c") != tree_key(OWNER, "a/b_c")


@pytest.mark.parametrize("path", ["20260112/other/x.bin", "backup/notes/x.sqlite", "tree/x", "a/b"])
def test_no_path_key_equals_a_date_layout_or_backup_key(path: str):
    key = tree_key(OWNER, path)
    assert key.startswith("t/user/u/tree/")
    assert key != build_key(OWNER, NOW, "other", "x.bin")
    assert key != backup_area_key(OWNER, "notes", "x.sqlite")
    # what comes right after the user is never a day, and never the backup area
    segment = key.removeprefix("t/user/u/").split("/")[0]
    assert segment == "tree" and not segment.isdigit() and segment != "backup"


def test_a_key_over_s3s_limit_is_a_400_on_path():
    long = "/".join(["x" * 200] * 5) + "/" + "y" * 15  # 1,020 bytes: fine as a path
    check_path(long)
    with pytest.raises(InvalidFieldError) as caught:
        tree_key(OWNER, long)
    assert caught.value.field == "path"


def test_a_taken_path_gets_a_variant_of_its_last_segment_in_its_folder():
    taken = tree_key(OWNER, "docs/a.txt")
    objects, claims = Objects({taken: "up_other"}), Claims()
    when = (NOW, NOW + timedelta(hours=1))
    where = ("document", "a.txt")
    chosen = choose_key(
        objects, claims, OWNER, when, where, "up_1", overwrite=False, path="docs/a.txt"
    )  # type: ignore[arg-type]
    assert chosen == tree_key(OWNER, "docs/a (1).txt")
    # overwrite takes the path as it is, whoever holds it
    assert (
        choose_key(objects, claims, OWNER, when, where, "up_1", overwrite=True, path="docs/a.txt")
        == taken
    )  # type: ignore[arg-type]


def test_candidate_key_without_a_path_is_the_date_layout():
    assert candidate_key(OWNER, NOW, ("other", "x.bin"), None) == build_key(
        OWNER, NOW, "other", "x.bin"
    )


def test_a_path_names_the_file_by_its_last_segment():
    assert name_for(OWNER, Naming("file", None, None, None, "a/b/c.png"), NOW) == ("c.png", None)


@pytest.mark.parametrize(
    ("naming", "error", "field"),
    [
        (Naming("file", "c.png", None, None, "a/c.png"), InvalidFieldError, "path"),
        (Naming("backup", None, "notes", 1, "a/c.png"), InvalidFieldError, "path"),
        (Naming("file", None, None, None, "a/../c.png"), InvalidFieldError, "path"),
        (Naming("file", None, None, None, None), MissingFieldError, "file_name"),
    ],
)
def test_path_with_a_name_a_backup_or_a_bad_path_is_refused(
    naming: Naming, error: type[Exception], field: str
):
    with pytest.raises(error) as caught:
        name_for(OWNER, naming, NOW)
    assert getattr(caught.value, "field", None) == field
