"""File names and object keys, as the contract's "Object keys" section states them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stowage.domain.keys import (
    build_key,
    check_file_name,
    check_key,
    key_safe_name,
    name_variant,
)
from stowage.errors import InvalidFieldError
from stowage.models.identity import Owner

# The characters the contract says are replaced by `_` in keys, typed from CONTRACT.md.
UNSAFE = '?#%"<>[]{}^`|~'
BIDI_OVERRIDES = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
DAY = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)


def owner(key_prefix: str = "tenant-a", role: str = "user", user_id: str = "alice") -> Owner:
    return Owner(client_id="alice", key_prefix=key_prefix, role=role, user_id=user_id)


# --- check_file_name: accepted ------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "report.pdf",
        "résumé.pdf",
        "日本語のファイル.txt",
        "emoji 😀.png",
        "my file (final) v2.docx",
        " leading and trailing spaces ",
        ".bashrc",
        "...",
        "a..b",
        "a" * 255,
        "é" * 127 + "a",  # 254 + 1 = 255 bytes
        "😀" * 63 + "abc",  # 252 + 3 = 255 bytes
        'odd ?#%"<>[]{}^`|~ chars',
    ],
)
def test_check_file_name_accepts_plain_base_names_unchanged(name):
    # Given a base name of at most 255 UTF-8 bytes
    assert len(name.encode("utf-8")) <= 255
    # When
    checked = check_file_name(name)
    # Then it is returned as it is, never rewritten
    assert checked == name


# --- check_file_name: refused -------------------------------------------------------

REFUSED = [
    "",
    ".",
    "..",
    "/",
    "a/b",
    "../etc/passwd",
    "\\",
    "a\\b",
    "..\\windows",
    "a\x00b",
    "\x00",
    "a\x7fb",
    "a\u2028b",
    "a\u2029b",
    "a" * 256,
    "é" * 128,  # 128 characters, 256 bytes
    "😀" * 64,  # 64 characters, 256 bytes
    "a" * 254 + "é",  # 256 bytes
]
REFUSED += [f"name{chr(code)}.txt" for code in range(0x20)]  # every ASCII control
REFUSED += [f"name{chr(code)}.txt" for code in range(0x80, 0xA0)]  # C1 controls
REFUSED += [f"invoice{ch}fdp.exe" for ch in BIDI_OVERRIDES]


@pytest.mark.parametrize("name", REFUSED, ids=[repr(n)[:40] for n in REFUSED])
def test_check_file_name_refuses_anything_but_a_plain_base_name(name):
    # Given a name that is empty, a dot name, a path, has controls or is over 255 bytes
    # When
    with pytest.raises(InvalidFieldError) as caught:
        check_file_name(name)
    # Then it is INVALID_FIELD about file_name
    assert caught.value.field == "file_name"
    assert (caught.value.code, caught.value.status) == ("INVALID_FIELD", 400)


def test_check_file_name_reports_the_field_it_was_given():
    # Given a bad name checked for another field
    # When
    with pytest.raises(InvalidFieldError) as caught:
        check_file_name("a/b", field="new_name")
    # Then the error names that field
    assert caught.value.field == "new_name"
    assert caught.value.to_body()["error"]["field"] == "new_name"


# --- key_safe_name ------------------------------------------------------------------


@pytest.mark.parametrize("ch", list(UNSAFE))
def test_key_safe_name_replaces_each_unsafe_character(ch):
    # Given a name with one unsafe character in the middle
    name = f"a{ch}b.txt"
    # When
    safe = key_safe_name(name)
    # Then only that character became `_`
    assert safe == "a_b.txt"


def test_key_safe_name_keeps_every_other_character():
    # Given a name with unicode, spaces and punctuation the contract does not list
    name = "Résumé (v2) + notes, 50$ & co; it's @home=ok!.pdf"
    # When
    safe = key_safe_name(name)
    # Then it is unchanged
    assert safe == name


def test_key_safe_name_replaces_all_of_them_at_once():
    # Given
    name = UNSAFE + ".txt"
    # When
    safe = key_safe_name(name)
    # Then
    assert safe == "_" * len(UNSAFE) + ".txt"


# --- build_key ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_prefix", "expected"),
    [
        ("tenant-a", "tenant-a/user/alice/20260112/document/report.pdf"),
        ("", "user/alice/20260112/document/report.pdf"),
        ("/tenant-a", "tenant-a/user/alice/20260112/document/report.pdf"),
        ("tenant-a/", "tenant-a/user/alice/20260112/document/report.pdf"),
        ("//tenant-a//", "tenant-a/user/alice/20260112/document/report.pdf"),
        ("/", "user/alice/20260112/document/report.pdf"),
        ("org/team", "org/team/user/alice/20260112/document/report.pdf"),
    ],
)
def test_build_key_lays_out_prefix_role_user_day_category_name(key_prefix, expected):
    # Given an owner with this key prefix
    who = owner(key_prefix=key_prefix)
    # When
    key = build_key(who, DAY, "document", "report.pdf")
    # Then
    assert key == expected


def test_build_key_uses_the_owner_role_and_user_not_the_client():
    # Given an act_as client's owner: another role and user
    who = Owner(client_id="backend", key_prefix="app", role="admin", user_id="u-42@x.io")
    # When
    key = build_key(who, datetime(2025, 12, 31, 23, 59, tzinfo=UTC), "image", "cat.png")
    # Then
    assert key == "app/admin/u-42@x.io/20251231/image/cat.png"


def test_build_key_replaces_unsafe_characters_only_in_the_name_segment():
    # Given a name with characters API Gateway's path decoding would corrupt
    name = "50% off [draft] #1?.pdf"
    # When
    key = build_key(owner(), DAY, "document", name)
    # Then
    assert key == "tenant-a/user/alice/20260112/document/50_ off _draft_ _1_.pdf"


# --- name_variant -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "attempt", "expected"),
    [
        ("report.pdf", 0, "report.pdf"),
        ("report.pdf", 1, "report (1).pdf"),
        ("report.pdf", 2, "report (2).pdf"),
        ("report.pdf", 17, "report (17).pdf"),
        ("README", 1, "README (1)"),
        (".bashrc", 1, ".bashrc (1)"),
        ("photo.2026.jpg", 1, "photo.2026 (1).jpg"),
        ("résumé.pdf", 3, "résumé (3).pdf"),
    ],
)
def test_name_variant_inserts_the_attempt_before_the_extension(name, attempt, expected):
    # Given a taken name
    # When
    variant = name_variant(name, attempt)
    # Then
    assert variant == expected


@pytest.mark.parametrize(
    ("name", "ending"),
    [
        ("a" * 251 + ".pdf", " (1).pdf"),
        ("é" * 125 + ".pdf", " (1).pdf"),  # 250 + 4 bytes
        ("😀" * 62 + "abcdefg", " (1)"),  # 248 + 7 bytes, no extension
        ("a" + "日本" * 42 + ".t", " (1).t"),  # 255 bytes: the cut falls inside a character
    ],
)
def test_name_variant_of_a_long_name_stays_within_255_bytes(name, ending):
    # Given a name close to the 255-byte limit
    assert len(name.encode("utf-8")) >= 252
    # When
    variant = name_variant(name, 1)
    # Then it still fits, is still a valid name, keeps the tag and extension
    assert len(variant.encode("utf-8")) <= 255
    assert check_file_name(variant) == variant
    assert variant.endswith(ending)
    assert name.startswith(variant.removesuffix(ending))


@pytest.mark.parametrize("name", ["abc." + "x" * 251, "a." + "é" * 126, "ab." + "y" * 252])
def test_name_variant_with_a_very_long_extension_stays_within_255_bytes(name):
    # Given a valid name whose extension is almost all of its 255 bytes
    assert check_file_name(name) == name
    # When
    variant = name_variant(name, 1)
    # Then the variant is still a valid file name
    assert len(variant.encode("utf-8")) <= 255


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/abs/key",
        "a//b",
        "a/../b",
        "a/./b",
        "a/b\x00c",
        "a/b\nc",
        "a/" + "x" * 1100,
        "a/\u202eevil",
    ],
)
def test_keys_no_stowage_key_could_look_like_are_400(key):
    with pytest.raises(InvalidFieldError) as caught:
        check_key(key)
    assert caught.value.field == "key"


def test_keys_stowage_makes_pass_the_key_check():
    owner = Owner(client_id="c", key_prefix="p", role="r", user_id="u")
    day = datetime(2026, 1, 12, tzinfo=UTC)
    for name in ["a.txt", "ü ñ (1).pdf", "q____x_ ü.txt", "x" * 255]:
        key = build_key(owner, day, "other", name)
        assert check_key(key) == key
