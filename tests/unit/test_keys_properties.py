"""Properties of file names and keys over generated names, owners and days."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time
from urllib.parse import quote, unquote

from hypothesis import given, settings
from hypothesis import strategies as st

from stowage.domain.keys import (
    build_key,
    check_file_name,
    content_disposition,
    key_safe_name,
    name_variant,
)
from stowage.errors import InvalidFieldError
from stowage.models.identity import Owner

UNSAFE = '?#%"<>[]{}^`|~'
BIDI_OVERRIDES = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CATEGORIES = ["image", "video", "audio", "document", "other"]
FEW = settings(max_examples=150, deadline=None)

# Characters a base name may hold: no controls, line/paragraph separators, surrogates,
# slashes or bidi overrides. Unsafe-in-key characters, dots and spaces are mixed in often.
plain_chars = st.one_of(
    st.characters(
        exclude_categories=("Cc", "Cs", "Zl", "Zp"),
        exclude_characters="/\\" + BIDI_OVERRIDES,
    ),
    st.sampled_from(UNSAFE + ". é😀"),
)
valid_names = st.text(plain_chars, min_size=1, max_size=90).filter(
    lambda n: n not in {".", ".."} and len(n.encode("utf-8")) <= 255
)
forbidden_chars = st.one_of(
    st.characters(categories=("Cc", "Zl", "Zp")),
    st.sampled_from(["/", "\\", *BIDI_OVERRIDES]),
)
ids = st.from_regex(r"\A[A-Za-z0-9_.@-]{1,128}\Z").filter(lambda s: s not in {".", ".."})
prefixes = st.sampled_from(["", "tenant-a", "/tenant-a/", "org/team", "org/team/", "/"])
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2199, 12, 31))


def byte_len(text: str) -> int:
    return len(text.encode("utf-8"))


@FEW
@given(
    name=valid_names,
    role=ids,
    user=ids,
    key_prefix=prefixes,
    category=st.sampled_from(CATEGORIES),
    day=days,
)
def test_every_key_is_a_clean_path_under_the_owner_prefix(
    name, role, user, key_prefix, category, day
):
    # Given a valid name and an owner with a valid role and user id
    assert check_file_name(name) == name
    who = Owner(client_id="c", key_prefix=key_prefix, role=role, user_id=user)
    prefix_parts = key_prefix.strip("/").split("/") if key_prefix.strip("/") else []
    # When
    key = build_key(who, datetime.combine(day, time(12), UTC), category, name)
    # Then it starts with the owner's prefix and the name adds no `/`
    assert key.startswith("/".join([*prefix_parts, role, user]) + "/")
    safe = "".join("_" if ch in UNSAFE else ch for ch in name)
    assert key.split("/") == [*prefix_parts, role, user, f"{day:%Y%m%d}", category, safe]
    assert key.count("/") == len(prefix_parts) + 4
    # and it has no dot segment, no control or unsafe characters
    assert ".." not in key.split("/") and "" not in key.split("/")
    assert not any(unicodedata.category(ch) in {"Cc", "Zl", "Zp"} for ch in key)
    assert not set(key) & set(UNSAFE)
    # and API Gateway's path decoding hands the same key back
    assert unquote(quote(key)) == key
    assert unquote(quote(key, safe="")) == key
    assert unquote(key) == key


@FEW
@given(name=valid_names)
def test_key_safe_name_changes_exactly_the_unsafe_characters(name):
    # Given any valid name
    # When
    safe = key_safe_name(name)
    # Then the length is kept and every character is either kept or an unsafe one made `_`
    assert len(safe) == len(name)
    for before, after in zip(name, safe, strict=True):
        assert after == ("_" if before in UNSAFE else before)


@FEW
@given(name=st.text(plain_chars, min_size=1, max_size=300))
def test_check_file_name_limit_is_255_bytes_not_characters(name):
    # Given a name of plain characters, short or long, 1 to 4 bytes each
    if name in {".", ".."}:
        return
    # When
    try:
        check_file_name(name)
        accepted = True
    except InvalidFieldError:
        accepted = False
    # Then it is accepted exactly when its UTF-8 form fits in 255 bytes
    assert accepted == (byte_len(name) <= 255)


@FEW
@given(name=valid_names, bad=forbidden_chars, where=st.integers(min_value=0, max_value=300))
def test_one_forbidden_character_anywhere_is_refused(name, bad, where):
    # Given a valid name with one control, separator, slash or bidi override inserted
    spot = where % (len(name) + 1)
    tainted = name[:spot] + bad + name[spot:]
    # When / Then
    try:
        check_file_name(tainted)
    except InvalidFieldError as error:
        assert error.field == "file_name"
    else:
        raise AssertionError(f"{tainted!r} was accepted")


@FEW
@given(name=valid_names)
def test_content_disposition_is_ascii_and_carries_the_exact_name(name):
    # Given any valid name
    # When
    header = content_disposition(name)
    # Then the header is pure ASCII with a quoted fallback and an RFC 5987 name
    assert header.isascii()
    match = re.fullmatch(
        r'attachment; filename="(?P<plain>[^"\\\x00-\x1f\x7f]*)"; '
        r"filename\*=UTF-8''(?P<star>[A-Za-z0-9%!#$&+.^_`|~-]*)",
        header,
    )
    assert match, header
    assert unquote(match["star"], encoding="utf-8", errors="strict") == name
    assert len(match["plain"]) == len(name)


# Names with a short extension (or none) after a dot-free stem, cut to fit in 255 bytes.
extensions = st.one_of(st.just(""), st.from_regex(r"\A\.[a-z0-9]{1,8}\Z"))
stems = st.text(plain_chars.filter(lambda ch: ch != "."), min_size=1, max_size=90)


@st.composite
def names_with_extension(draw):
    ext = draw(extensions)
    stem = draw(stems).encode("utf-8")[: 255 - len(ext)].decode("utf-8", errors="ignore")
    return stem + ext, ext


@FEW
@given(named=names_with_extension(), attempt=st.integers(min_value=1, max_value=9999))
def test_name_variant_is_a_distinct_valid_name_keeping_the_extension(named, attempt):
    # Given a valid name with at most a short extension, and a retry number
    name, ext = named
    assert check_file_name(name) == name
    # When
    variant = name_variant(name, attempt)
    # Then it is still a valid name within 255 bytes, tagged before the extension
    assert variant != name
    assert check_file_name(variant) == variant
    assert byte_len(variant) <= 255
    tail = f" ({attempt}){ext}"
    assert variant.endswith(tail)
    # and what comes before the tag is the start of the original stem
    assert name.startswith(variant.removesuffix(tail))
