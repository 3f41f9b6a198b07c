"""Content type → key category, and the content type guessed from a file name."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stowage.domain.categories import category_for, content_type_for


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("image/png", "image"),
        ("image/jpeg", "image"),
        ("image/svg+xml", "image"),
        ("video/mp4", "video"),
        ("video/quicktime", "video"),
        ("audio/mpeg", "audio"),
        ("audio/ogg", "audio"),
        ("text/plain", "document"),
        ("text/csv", "document"),
        ("text/html", "document"),
        ("text/markdown", "document"),
        ("application/pdf", "document"),
        ("application/json", "document"),
        ("application/ld+json", "document"),
        ("application/vnd.api+json", "document"),
        ("application/xml", "document"),
        ("application/msword", "document"),
        ("application/vnd.ms-excel", "document"),
        ("application/vnd.ms-powerpoint", "document"),
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "document",
        ),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "document"),
        ("application/vnd.oasis.opendocument.text", "document"),
        ("application/octet-stream", "other"),
        ("application/zip", "other"),
        ("application/x-tar", "other"),
        ("font/woff2", "other"),
        ("model/gltf-binary", "other"),
    ],
)
def test_category_for_maps_content_types_to_the_contract_categories(content_type, expected):
    # Given a content type
    # When
    category = category_for(content_type)
    # Then
    assert category == expected


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/plain; charset=utf-8", "document"),
        ("application/json;charset=UTF-8", "document"),
        ('text/csv; header=present; charset="utf-8"', "document"),
        ("image/png; name=cat.png", "image"),
        ("application/octet-stream; x=text/plain", "other"),
        ("  video/mp4  ", "video"),
    ],
)
def test_category_for_ignores_parameters_and_spaces(content_type, expected):
    # Given a content type with parameters or surrounding spaces
    # When
    category = category_for(content_type)
    # Then only the type/subtype decides
    assert category == expected


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("IMAGE/PNG", "image"),
        ("Video/MP4", "video"),
        ("AUDIO/Mpeg", "audio"),
        ("TEXT/Plain; Charset=UTF-8", "document"),
        ("Application/PDF", "document"),
        ("APPLICATION/LD+JSON", "document"),
    ],
)
def test_category_for_is_case_insensitive(content_type, expected):
    # Given a content type in upper or mixed case
    # When / Then
    assert category_for(content_type) == expected


@pytest.mark.parametrize(
    "content_type",
    ["", "garbage", "application/x-unknown-thing", "imagepng", "x-image/png", "multipart/mixed"],
)
def test_unknown_content_types_are_other(content_type):
    # Given something that is not a known media or document type
    # When / Then
    assert category_for(content_type) == "other"


@settings(max_examples=100, deadline=None)
@given(
    major=st.sampled_from(["image", "video", "audio", "text"]),
    minor=st.from_regex(r"\A[a-z0-9][a-z0-9.+-]{0,30}\Z"),
    params=st.sampled_from(["", "; charset=utf-8", ";q=1"]),
)
def test_every_subtype_of_a_media_or_text_type_keeps_its_category(major, minor, params):
    # Given any subtype of image/video/audio/text, with or without parameters
    expected = {"image": "image", "video": "video", "audio": "audio", "text": "document"}
    # When / Then
    assert category_for(f"{major}/{minor}{params}") == expected[major]


# --- content_type_for ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("report.pdf", "application/pdf"),
        ("photo.jpg", "image/jpeg"),
        ("PHOTO.PNG", "image/png"),
        ("data.json", "application/json"),
        ("notes.txt", "text/plain"),
        ("table.csv", "text/csv"),
        ("clip.mp4", "video/mp4"),
        ("song.mp3", "audio/mpeg"),
        ("my report (final).pdf", "application/pdf"),
        ("issue #12.pdf", "application/pdf"),
        ("archive.zip", "application/zip"),
    ],
)
def test_content_type_for_guesses_from_the_name(file_name, expected):
    # Given no content type from the client
    # When
    guessed = content_type_for(file_name, None)
    # Then it comes from the extension
    assert guessed == expected


@pytest.mark.parametrize("file_name", ["README", ".bashrc", "blob.zzqqxx", "weird.", "a b c"])
def test_content_type_for_defaults_to_octet_stream(file_name):
    # Given a name with no known extension and no content type
    # When / Then
    assert content_type_for(file_name, None) == "application/octet-stream"


@pytest.mark.parametrize("given_type", ["text/plain", "application/x-custom", "image/png"])
def test_content_type_for_prefers_what_the_client_gave(given_type):
    # Given a content type from the client that disagrees with the name
    # When
    chosen = content_type_for("report.pdf", given_type)
    # Then the client's type wins, unchanged
    assert chosen == given_type


def test_content_type_for_guesses_when_the_client_gave_an_empty_type():
    # Given an empty content type
    # When / Then
    assert content_type_for("report.pdf", "") == "application/pdf"


@pytest.mark.parametrize("file_name", ["data.csv.gz", "backup.tar.gz", "notes.txt.bz2"])
def test_content_type_for_does_not_label_a_compressed_file_as_its_inner_type(file_name):
    # Given a compressed file named after what it contains
    # When
    guessed = content_type_for(file_name, None)
    # Then it is not served as the uncompressed type
    assert guessed in {
        "application/gzip",
        "application/x-gzip",
        "application/x-bzip2",
        "application/octet-stream",
    }
