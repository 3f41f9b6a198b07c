"""Request models are strict; answer timestamps are RFC 3339 UTC with a `Z`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from stowage.models.errors import ErrorDetail, ErrorResponse
from stowage.models.files import DownloadLinkResponse
from stowage.models.uploads import (
    CompleteUploadRequest,
    InitUploadRequest,
    InitUploadResponse,
    SignPartsRequest,
)

MIB = 1024 * 1024
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
FULL = {
    "file_name": "résumé 2026.pdf",
    "size": 123_456_789,
    "content_type": "application/pdf",
    "part_size": 8 * MIB,
    "sha256": SHA,
    "user_id": "u-42@example.com",
    "role": "member",
    "overwrite": True,
    "checksum_algorithm": "CRC64NVME",
}


def test_a_full_valid_init_request_is_accepted_as_sent():
    # Given every field of the contract with valid values
    # When
    request = InitUploadRequest.model_validate(FULL)
    # Then nothing was changed
    assert request.model_dump(exclude={"kind", "app", "iteration", "path"}) == FULL


def test_only_file_name_and_size_are_required():
    # Given the two required fields
    # When
    request = InitUploadRequest.model_validate({"file_name": "a.txt", "size": 0})
    # Then the rest take their defaults
    assert (request.content_type, request.part_size, request.sha256) == (None, None, None)
    assert (request.user_id, request.role, request.overwrite) == (None, None, False)


BAD_FIELDS = [
    ("size", "1"),
    ("size", True),
    ("size", 1.0),
    ("size", None),
    ("size", -1),
    ("file_name", ""),
    ("file_name", 7),
    ("part_size", 5 * MIB - 1),
    ("part_size", 5 * 1024 * MIB + 1),
    ("part_size", "8388608"),
    ("sha256", "abc"),
    ("sha256", SHA[:-1] + "g"),
    ("sha256", SHA + "0"),
    ("sha256", SHA + "\n"),
    ("overwrite", "true"),
    ("overwrite", 1),
    ("role", "a/b"),
    ("role", ".."),
    ("role", "."),
    ("role", ""),
    ("role", "x" * 129),
    ("role", "admin\n"),
    ("user_id", "../bob"),
    ("user_id", "bob/../alice"),
    ("user_id", ".."),
    ("user_id", "u" * 129),
    ("user_id", "bob smith"),
    ("user_id", "bob%2F"),
    ("content_type", "text"),
    ("content_type", "text/plain\n"),
    ("content_type", "text/plain\x00"),
    ("content_type", "text/pla in"),
    ("content_type", "/plain"),
    ("content_type", "text/"),
    ("content_type", "image/" + "x" * 250),
]


BAD_IDS = [f"{field}={value!r}"[:40] for field, value in BAD_FIELDS]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS, ids=BAD_IDS)
def test_init_request_refuses_wrong_types_and_values(field, value):
    # Given a valid request with one field made wrong
    body = {"file_name": "a.txt", "size": 10, field: value}
    # When / Then it is refused, naming that field
    with pytest.raises(ValidationError) as caught:
        InitUploadRequest.model_validate(body)
    assert caught.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize(
    ("field", "value"),
    [("role", "x" * 128), ("user_id", "A-z_0.9@x"), ("role", "..."), ("sha256", SHA.upper())],
)
def test_init_request_accepts_values_at_the_edges(field, value):
    # Given values the contract allows, at its limits
    # When
    request = InitUploadRequest.model_validate({"file_name": "a", "size": 1, field: value})
    # Then
    assert getattr(request, field) == value


def test_init_request_refuses_unknown_fields():
    # Given a field the contract does not have
    # When / Then
    with pytest.raises(ValidationError) as caught:
        InitUploadRequest.model_validate({"file_name": "a", "size": 1, "bucket": "other"})
    assert caught.value.errors()[0]["type"] == "extra_forbidden"


def test_init_request_from_json_text_is_strict_too():
    # Given a JSON body with the size as a string
    # When / Then
    with pytest.raises(ValidationError):
        InitUploadRequest.model_validate_json('{"file_name": "a", "size": "1"}')


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "text/plain;charset=UTF-8",
        'text/csv; header=present; charset="utf-8"',
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/ld+json",
        "image/svg+xml",
    ],
)
def test_init_request_accepts_ordinary_content_types(content_type):
    # Given an ordinary content type, with or without parameters
    # When
    request = InitUploadRequest.model_validate(
        {"file_name": "a", "size": 1, "content_type": content_type}
    )
    # Then
    assert request.content_type == content_type


CONTROL_IN_CONTENT_TYPE = [
    "text/plain;\r\ncharset=utf-8",
    "text/plain\n; charset=utf-8",
    "text/plain;\x0bcharset=utf-8",
    "text/plain;\x0ccharset=utf-8",
    'text/plain; charset="utf\x7f8"',
    'text/plain; charset="utf\x858"',
    "text/plain;\u2028charset=utf-8",
]


@pytest.mark.parametrize("content_type", CONTROL_IN_CONTENT_TYPE, ids=repr)
def test_init_request_refuses_control_characters_in_content_type(content_type):
    # Given a content type with a control character inside its parameters
    # When / Then it is refused: it would become an S3 header
    with pytest.raises(ValidationError):
        InitUploadRequest.model_validate(
            {"file_name": "a", "size": 1, "content_type": content_type}
        )


# --- sign parts, complete -----------------------------------------------------------


@pytest.mark.parametrize("numbers", [[1], list(range(1, 1001)), [10_000, 3]])
def test_sign_parts_takes_1_to_1000_numbers(numbers):
    # Given a list of 1 to 1000 part numbers
    # When
    request = SignPartsRequest.model_validate({"part_numbers": numbers})
    # Then
    assert request.part_numbers == numbers


@pytest.mark.parametrize("numbers", [[], list(range(1, 1002)), ["1"], [1.0], 1])
def test_sign_parts_refuses_empty_too_many_or_non_integers(numbers):
    # Given no numbers, 1001 numbers, or numbers of the wrong type (none at all may come
    # with `parts` instead: the domain refuses a request with neither)
    # When / Then
    with pytest.raises(ValidationError):
        SignPartsRequest.model_validate({"part_numbers": numbers})


@pytest.mark.parametrize(
    "body",
    [{"parts": [{"part_number": 0, "etag": "x"}]}, {"parts": [{"part_number": 1, "etag": ""}]}],
)
def test_complete_refuses_bad_part_entries(body):
    # Given a part number below 1 or an empty etag
    # When / Then
    with pytest.raises(ValidationError):
        CompleteUploadRequest.model_validate(body)


# --- timestamps ---------------------------------------------------------------------

IST = timezone(timedelta(hours=5, minutes=30))
PST = timezone(timedelta(hours=-8))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 1, 12, 10, 30, tzinfo=UTC), "2026-01-12T10:30:00Z"),
        (datetime(2026, 1, 12, 16, 0, 59, 999_999, tzinfo=IST), "2026-01-12T10:30:59Z"),
        (datetime(2026, 1, 11, 20, 5, 7, tzinfo=PST), "2026-01-12T04:05:07Z"),
        (datetime(2026, 1, 1, 3, 0, tzinfo=IST), "2025-12-31T21:30:00Z"),
    ],
)
def test_timestamps_are_rfc3339_utc_to_the_second(moment, expected):
    # Given an answer whose time is in any time zone
    answer = InitUploadResponse(
        upload_id="u1",
        key="k",
        part_size=5 * MIB,
        part_count=1,
        status="initiated",
        expires_at=moment,
    )
    # When
    as_json = json.loads(answer.model_dump_json())
    as_dict = answer.model_dump(mode="json")
    # Then it is written in UTC with a Z, in both renderings
    assert as_json["expires_at"] == expected
    assert as_dict["expires_at"] == expected


def test_every_timestamp_field_uses_the_same_format():
    # Given other answers with timestamps
    moment = datetime(2026, 7, 4, 23, 59, 1, tzinfo=PST)
    link = DownloadLinkResponse(url="https://x", expires_at=moment)
    error = ErrorResponse(error=ErrorDetail(code="C", message="m", timestamp=moment))
    # When / Then
    assert link.model_dump(mode="json")["expires_at"] == "2026-07-05T07:59:01Z"
    assert json.loads(error.model_dump_json())["error"]["timestamp"] == "2026-07-05T07:59:01Z"
