"""Error classes carry the contract's code and status, and render the contract's body."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from stowage import errors
from stowage.errors import (
    InvalidFieldError,
    StowageError,
    UploadIncompleteError,
)

# The "Errors" table of CONTRACT.md, typed from the contract (gateway-only answers left out).
CONTRACT_CODES = {
    "MISSING_FIELD": 400,
    "INVALID_FIELD": 400,
    "INVALID_JSON": 400,
    "FORBIDDEN": 403,
    "UPLOAD_NOT_FOUND": 404,
    "DRAFT_NOT_FOUND": 404,
    "FILE_NOT_FOUND": 404,
    "ARCHIVE_NOT_FOUND": 404,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "UPLOAD_COMPLETED": 409,
    "UPLOAD_CANCELLED": 409,
    "UPLOAD_INCOMPLETE": 409,
    "SIZE_MISMATCH": 409,
    "DRAFT_NOT_UPLOADED": 409,
    "CHECKSUM_MISMATCH": 409,
    "ARCHIVE_NOT_READY": 409,
    "UPLOAD_EXPIRED": 410,
    "DRAFT_EXPIRED": 410,
    "FILE_TOO_LARGE": 413,
    "RATE_LIMITED": 429,
    "DATABASE_ERROR": 502,
    "STORAGE_ERROR": 502,
    "INTERNAL_ERROR": 500,
}
# Codes the source adds on purpose and documents as outside contract v1.
OUTSIDE_CONTRACT = {
    "UPLOAD_COMPLETING": 409,
    "DRAFT_CONFIRMING": 409,
    "DRAFT_CONFIRMED": 409,
    "PAYLOAD_TOO_LARGE": 413,
    # tus routes keep tus's statuses (CONTRACT.md, "tus")
    "OFFSET_MISMATCH": 409,
    "UNSUPPORTED_VERSION": 412,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "INVALID_TOKEN": 403,  # browser uploads: "401/403 with the error JSON"
    "TOKEN_USED_UP": 403,
}
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def error_classes() -> list[type[StowageError]]:
    """Every concrete error class the errors module defines (the base excluded)."""
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, StowageError) and cls is not StowageError
    ]


def test_every_contract_code_has_exactly_one_class_with_its_status():
    # Given the error classes of the errors module
    classes = error_classes()
    # When grouped by code
    by_code: dict[str, list[type[StowageError]]] = {}
    for cls in classes:
        by_code.setdefault(cls.code, []).append(cls)
    # Then every contract code has one class, with the contract's status
    for code, status in CONTRACT_CODES.items():
        assert len(by_code.get(code, [])) == 1, f"{code}: {by_code.get(code)}"
        assert by_code[code][0].status == status, code


def test_no_class_answers_a_code_the_contract_does_not_know():
    # Given the error classes of the errors module
    # When
    known = CONTRACT_CODES | OUTSIDE_CONTRACT
    unknown = {cls.__name__: cls.code for cls in error_classes() if cls.code not in known}
    # Then
    assert unknown == {}
    assert all(cls.status == known[cls.code] for cls in error_classes())


@pytest.mark.parametrize("cls", error_classes(), ids=lambda cls: cls.__name__)
def test_each_error_renders_its_code_in_the_contract_shape(cls):
    # Given an error of this class
    error = cls("something went wrong")
    # When
    body = error.to_body()
    # Then only code, message and timestamp are set
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "timestamp"}
    assert body["error"]["code"] == cls.code
    assert body["error"]["message"] == "something went wrong"
    assert RFC3339_Z.match(body["error"]["timestamp"])
    assert str(error) == "something went wrong"


def test_field_and_missing_appear_only_when_set():
    # Given errors with a field, with missing parts, and with neither
    now = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)
    # When
    with_field = InvalidFieldError("bad size", field="size").to_body(now)
    with_missing = UploadIncompleteError("parts missing", missing=[2, 5]).to_body(now)
    plain = InvalidFieldError("bad").to_body(now)
    # Then
    assert with_field == {
        "error": {
            "code": "INVALID_FIELD",
            "message": "bad size",
            "timestamp": "2026-01-12T10:30:00Z",
            "field": "size",
        }
    }
    assert with_missing["error"]["missing"] == [2, 5]
    assert "field" not in with_missing["error"]
    assert "field" not in plain["error"] and "missing" not in plain["error"]


def test_an_empty_missing_list_is_still_reported():
    # Given an incomplete upload whose missing list is empty (set, but empty)
    # When
    body = UploadIncompleteError("x", missing=[]).to_body()
    # Then it is there, as set
    assert body["error"]["missing"] == []


def test_the_timestamp_defaults_to_now_in_utc():
    # Given the time around rendering
    before = datetime.now(UTC).replace(microsecond=0)
    # When
    stamp = InvalidFieldError("x").to_body()["error"]["timestamp"]
    after = datetime.now(UTC)
    # Then it is the UTC time of the call
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= moment <= after


def test_a_given_non_utc_time_is_rendered_in_utc():
    # Given a time 2 hours ahead of UTC
    now = datetime(2026, 1, 12, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    # When
    stamp = InvalidFieldError("x").to_body(now)["error"]["timestamp"]
    # Then it is the same instant, written in UTC
    assert stamp == "2026-01-12T10:30:00Z"
