"""Bad input gets a clear 4xx in the contract's shape, and changes nothing stored."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.support.http import Api

MIB = 1024 * 1024
MAX = 5 * 1024 * 1024 * MIB

INIT_CASES: list[tuple[str, Any, int, str]] = [
    ("not json", "{nope", 400, "INVALID_JSON"),
    ("array body", [], 400, "INVALID_JSON"),
    ("no body", None, 400, "INVALID_JSON"),
    ("missing size", {"file_name": "a.bin"}, 400, "MISSING_FIELD"),
    ("missing name", {"size": 1}, 400, "MISSING_FIELD"),
    ("size as text", {"file_name": "a.bin", "size": "1"}, 400, "INVALID_FIELD"),
    ("negative size", {"file_name": "a.bin", "size": -1}, 400, "INVALID_FIELD"),
    ("unknown field", {"file_name": "a.bin", "size": 1, "bucket": "x"}, 400, "INVALID_FIELD"),
    ("slash", {"file_name": "a/b.bin", "size": 1}, 400, "INVALID_FIELD"),
    ("dot dot", {"file_name": "..", "size": 1}, 400, "INVALID_FIELD"),
    ("climbing", {"file_name": "../../etc/passwd", "size": 1}, 400, "INVALID_FIELD"),
    ("backslash", {"file_name": "..\\x.bin", "size": 1}, 400, "INVALID_FIELD"),
    ("nul", {"file_name": "a\u0000.bin", "size": 1}, 400, "INVALID_FIELD"),
    ("newline", {"file_name": "a\n.bin", "size": 1}, 400, "INVALID_FIELD"),
    ("256 bytes", {"file_name": "é" * 128, "size": 1}, 400, "INVALID_FIELD"),
    ("empty name", {"file_name": "", "size": 1}, 400, "INVALID_FIELD"),
    ("small part", {"file_name": "a.bin", "size": 1, "part_size": 1024}, 400, "INVALID_FIELD"),
    ("bad sha256", {"file_name": "a.bin", "size": 1, "sha256": "xyz"}, 400, "INVALID_FIELD"),
    ("bad role", {"file_name": "a.bin", "size": 1, "role": "../x"}, 400, "INVALID_FIELD"),
    ("other user", {"file_name": "a.bin", "size": 1, "user_id": "mallory"}, 403, "FORBIDDEN"),
    ("too large", {"file_name": "a.bin", "size": MAX + 1}, 413, "FILE_TOO_LARGE"),
]


def assert_error(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["message"] and error["timestamp"].endswith("Z")
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(
    ("case", "body", "status", "code"), INIT_CASES, ids=[c[0] for c in INIT_CASES]
)
def test_bad_init_requests(api: Api, case: str, body: Any, status: int, code: str):
    # Given / When
    if isinstance(body, str):
        answer = api.call(
            "POST", "/v1/uploads", data=body, headers={"content-type": "application/json"}
        )
    else:
        answer = api.call("POST", "/v1/uploads", json=body)
    # Then
    assert_error(answer, status, code)


@pytest.fixture
def upload(api: Api) -> dict[str, Any]:
    answer = api.init(size=11 * MIB, part_size=5 * MIB)
    assert answer.status_code == 201
    return answer.json()


PART_CASES = [
    ("zero", {"part_numbers": [0]}, "INVALID_FIELD"),
    ("past the end", {"part_numbers": [4]}, "INVALID_FIELD"),
    ("negative", {"part_numbers": [-1]}, "INVALID_FIELD"),
    ("too many", {"part_numbers": list(range(1, 1002))}, "INVALID_FIELD"),
    ("empty", {"part_numbers": []}, "INVALID_FIELD"),
    ("text", {"part_numbers": ["1"]}, "INVALID_FIELD"),
    ("missing", {}, "MISSING_FIELD"),
]


@pytest.mark.parametrize(("case", "body", "code"), PART_CASES, ids=[c[0] for c in PART_CASES])
def test_bad_part_requests_change_nothing(api: Api, upload: dict[str, Any], case, body, code):
    # Given
    before = api.status(upload["upload_id"])
    # When
    answer = api.call("POST", f"/v1/uploads/{upload['upload_id']}/parts", json=body)
    # Then
    assert_error(answer, 400, code)
    assert api.status(upload["upload_id"]) == before


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("DELETE", ""), ("POST", "/parts"), ("POST", "/complete")],
)
@pytest.mark.parametrize("upload_id", ["up_doesnotexist000000000", "nope", "up_%2E%2E"])
def test_unknown_uploads_are_404(api: Api, method: str, suffix: str, upload_id: str):
    body = {"part_numbers": [1]} if suffix == "/parts" else None
    answer = api.call(method, f"/v1/uploads/{upload_id}{suffix}", json=body)
    assert_error(answer, 404, "UPLOAD_NOT_FOUND")


def test_complete_with_missing_parts_is_409_with_the_list(api: Api, upload: dict[str, Any]):
    # Given only part 2 uploaded
    (part,) = api.sign(upload["upload_id"], [2])
    api.put_part(part, b"x" * part["size"])
    # When
    answer = api.complete(upload["upload_id"])
    # Then
    assert_error(answer, 409, "UPLOAD_INCOMPLETE")
    assert answer.json()["error"]["missing"] == [1, 3]
    assert api.status(upload["upload_id"])["status"] == "in_progress"


def test_a_short_part_through_its_signed_url_is_refused_and_the_stored_part_stands(
    api: Api, upload: dict[str, Any]
):
    # Given every part uploaded at its signed length
    parts = api.sign(upload["upload_id"], [1, 2, 3])
    for part in parts:
        api.put_part(part, b"x" * part["size"])
    import requests

    # When part 1 is sent again, 10 bytes long: its URL signs the length
    short = requests.put(parts[0]["url"], data=b"x" * 10, timeout=30)
    # Then S3 refuses it, and the full part is what completes
    assert short.status_code == 403, short.text
    assert "<Code>SignatureDoesNotMatch</Code>" in short.text
    sizes = {p["part_number"]: p["size"] for p in api.status(upload["upload_id"])["parts"]}
    assert sizes[1] == parts[0]["size"]
    assert api.complete(upload["upload_id"]).status_code == 200


def test_cancel_after_complete_is_409(api: Api):
    done = api.upload(b"abc")
    answer = api.call("DELETE", f"/v1/uploads/{done['upload_id']}")
    assert_error(answer, 409, "UPLOAD_COMPLETED")
    assert api.status(done["upload_id"])["status"] == "completed"


def test_download_of_a_missing_or_foreign_key_is_404_and_a_climbing_one_400(api: Api):
    # Given keys that do not exist, lie outside the caller's area, or climb; slashes
    # encoded as %2F so no client normalises the dots away before the gateway decodes them
    for key in ["user/dev/20260101/other/none.bin", "other/x"]:
        answer = api.call("GET", "/v1/files/" + quote(key, safe=""))
        assert_error(answer, 404, "FILE_NOT_FOUND")
    for key in ["../../etc/passwd", "user/dev/../../x", "user//dev/x"]:
        answer = api.call("GET", "/v1/files/" + quote(key, safe=""))
        assert_error(answer, 400, "INVALID_FIELD")


def test_unknown_routes_are_404(api: Api):
    answer = api.call("GET", "/v1/nothing-here")
    assert answer.status_code == 404
