"""keys.py at its edges: the key length bound, what a refusal says, headers and
metadata encodings, and name variants whose extension leaves no room."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stowage.domain.keys import (
    MAX_KEY_BYTES,
    MAX_NAME_BYTES,
    build_key,
    check_key,
    content_disposition,
    decode_name,
    encode_name,
    name_variant,
    owner_prefix,
)
from stowage.errors import InvalidFieldError
from stowage.models.identity import Owner


def test_a_key_of_exactly_1024_bytes_is_fine_and_one_more_is_refused():
    fine = "/".join(["a" * 200] * 4 + ["b" * 220])
    assert len(fine.encode()) == MAX_KEY_BYTES and check_key(fine) == fine
    with pytest.raises(InvalidFieldError) as raised:
        check_key(fine + "c")
    assert (str(raised.value), raised.value.field) == ("key is not a valid file key", "key")


def test_the_attachment_header_keeps_quotes_backslashes_and_question_marks_out():
    assert content_disposition('a"b\\c?d é.txt') == (
        "attachment; filename=\"a_b_c_d _.txt\"; filename*=UTF-8''a%22b%5Cc%3Fd%20%C3%A9.txt"
    )


@pytest.mark.parametrize(
    ("name", "encoded"),
    [("a/b c.txt", "a%2Fb%20c.txt"), ("é", "%C3%A9"), ("plain-X_1.txt", "plain-X_1.txt")],
)
def test_names_travel_in_metadata_percent_encoded_slashes_included(name, encoded):
    assert encode_name(name) == encoded
    assert decode_name(encoded) == name


def test_a_variant_drops_an_extension_that_leaves_no_room():
    # Given a tag and extension of exactly 255 bytes together: " (1)" and 251
    name = "a." + "b" * 250
    variant = name_variant(name, 1)
    # Then the extension is just part of the name, cut to fit
    assert variant == name[: MAX_NAME_BYTES - 4] + " (1)"
    assert len(variant.encode()) == MAX_NAME_BYTES


def test_a_variant_keeps_an_extension_that_leaves_room():
    name = "a." + "b" * 249  # tag and extension: 254 bytes
    assert name_variant(name, 1) == "a (1)." + "b" * 249


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("X", "X/user/u/"), ("/Xa/", "Xa/user/u/"), ("aX/", "aX/user/u/"), ("/", "user/u/")],
)
def test_only_slashes_are_trimmed_from_the_key_prefix(prefix, expected):
    owner = Owner(client_id="c", key_prefix=prefix, role="user", user_id="u")
    assert owner_prefix(owner) == expected
    day = datetime(2026, 1, 12, tzinfo=UTC)
    assert build_key(owner, day, "image", "a.png") == f"{expected}20260112/image/a.png"
