"""Request bodies over MAX_BODY_BYTES are 413 PAYLOAD_TOO_LARGE before anything parses them;
the largest legitimate body, a complete listing 10,000 parts, is well under the limit."""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from typing import Any

import pytest

from stowage.api import create_app
from stowage.models.uploads import CompleteUploadRequest
from stowage.resolver import MAX_BODY_BYTES, body_bytes
from tests.integration.conftest import LambdaContext
from tests.support.events import load_event
from tests.support.http import Api

RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def complete_with_every_part(indent: int | None = None) -> str:
    """A complete listing all 10,000 parts with S3's ETags (quoted MD5 hex)."""
    parts = [{"part_number": n, "etag": f'"{uuid.uuid4().hex}"'} for n in range(1, 10_001)]
    return json.dumps({"parts": parts}, indent=indent)


def padded(size: int) -> str:
    """Valid JSON of exactly `size` bytes: `{}` and spaces."""
    return "{" + " " * (size - 2) + "}"


@pytest.fixture
def echo() -> tuple[Any, list[int]]:
    """The shared resolver with one route that counts the bodies it was handed."""
    app, seen = create_app(), []

    @app.post("/v1/uploads")
    def take(body: CompleteUploadRequest) -> dict[str, int]:
        seen.append(len(body.parts or []))
        return {"parts": len(body.parts or [])}

    return app, seen


def call(app: Any, body: str, *, base64_encoded: bool = False) -> dict[str, Any]:
    event = load_event("upload_init", raw_body=body)
    if base64_encoded:
        event["body"] = base64.b64encode(body.encode()).decode()
        event["isBase64Encoded"] = True
    answer: dict[str, Any] = app.resolve(event, LambdaContext())
    return answer


def error_of(answer: dict[str, Any]) -> tuple[int, str]:
    error = json.loads(answer["body"])["error"]
    assert RFC3339_Z.match(error["timestamp"]) and error["message"]
    return answer["statusCode"], error["code"]


@pytest.mark.parametrize("indent", [None, 2])
def test_the_largest_legitimate_body_is_under_the_limit_and_is_read(echo, indent):
    # Given a complete that lists every part, compact or pretty-printed
    app, seen = echo
    body = complete_with_every_part(indent)
    assert len(body.encode()) < MAX_BODY_BYTES
    # When / Then it reaches the route
    answer = call(app, body)
    assert answer["statusCode"] == 200, answer["body"]
    assert seen == [10_000]


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_a_body_one_byte_over_the_limit_is_413_and_never_parsed(echo, base64_encoded):
    # Given bodies of exactly the limit and one byte more
    app, seen = echo
    # When / Then the one at the limit is read, the other refused in the contract's shape
    assert call(app, padded(MAX_BODY_BYTES), base64_encoded=base64_encoded)["statusCode"] == 200
    over = call(app, padded(MAX_BODY_BYTES + 1), base64_encoded=base64_encoded)
    assert error_of(over) == (413, "PAYLOAD_TOO_LARGE")
    assert over["headers"]["Content-Type"] == "application/json"
    assert seen == [0]


def test_an_oversized_body_is_refused_before_it_is_parsed(echo):
    # Given over-limit bodies that parsing would refuse with a 400 (not JSON, not UTF-8)
    app, seen = echo
    not_json = "x" * (MAX_BODY_BYTES + 1)
    not_utf8 = base64.b64encode(b"\xff" * (MAX_BODY_BYTES + 1)).decode()
    event = load_event("upload_init")
    event |= {"body": not_utf8, "isBase64Encoded": True}
    # When / Then the size is what answers: nothing read them
    assert error_of(call(app, not_json)) == (413, "PAYLOAD_TOO_LARGE")
    assert error_of(app.resolve(event, LambdaContext())) == (413, "PAYLOAD_TOO_LARGE")
    assert error_of(call(app, "x" * 100)) == (400, "INVALID_JSON")  # small: parsed, refused
    assert seen == []


@pytest.mark.parametrize(
    ("event", "size"),
    [
        ({"body": None}, 0),
        ({"body": "{}"}, 2),
        ({"body": "é😀"}, 6),
        ({"body": base64.b64encode(b"12345").decode(), "isBase64Encoded": True}, 5),
        ({"body": base64.b64encode(b"123456").decode(), "isBase64Encoded": True}, 6),
        ({"body": "\ud800"}, 3),  # a lone surrogate is measured, not an error
    ],
)
def test_body_size_is_counted_in_bytes(event, size):
    assert body_bytes(event) == size


@pytest.mark.e2e
@pytest.mark.skipif(bool(os.environ.get("STOWAGE_URL")), reason="a deployment's limit may differ")
def test_over_http_an_oversized_body_is_413_and_every_part_listed_is_not(stack_api: Api):
    # Given an upload, and bodies over the limit for the routes that take one
    plan = stack_api.init(size=1).json()
    upload = plan["upload_id"]
    big = padded(MAX_BODY_BYTES + 1)
    headers = {"content-type": "application/json"}
    for path in ("/v1/uploads", f"/v1/uploads/{upload}/parts", "/v1/drafts"):
        # When / Then each is 413 in the contract's shape
        answer = stack_api.call("POST", path, data=big, headers=headers)
        assert answer.status_code == 413, (path, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "PAYLOAD_TOO_LARGE" and RFC3339_Z.match(error["timestamp"])
    # And a complete listing all 10,000 parts is read (and refused for what it says)
    answer = stack_api.call(
        "POST", f"/v1/uploads/{upload}/complete", data=complete_with_every_part(), headers=headers
    )
    assert answer.status_code != 413, answer.text
    assert answer.json()["error"]["code"] in {"UPLOAD_INCOMPLETE", "INVALID_FIELD", "SIZE_MISMATCH"}
