"""HTTP APIs pick a request body's encoding by its Content-Type: a binary type arrives
base64-encoded with isBase64Encoded, even when its bytes happen to be UTF-8."""

from __future__ import annotations

import base64

import pytest

from devstack.events import event_body


@pytest.mark.parametrize(
    "content_type",
    ["application/offset+octet-stream", "application/octet-stream", "image/png", "video/mp4"],
)
def test_a_binary_type_is_base64_even_when_its_bytes_are_text(content_type):
    assert event_body(b"plain ascii", content_type) == (
        base64.b64encode(b"plain ascii").decode(),
        True,
    )


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/problem+json",
        "application/x-www-form-urlencoded",
    ],
)
def test_a_text_type_stays_text(content_type):
    assert event_body(b'{"a": 1}', content_type) == ('{"a": 1}', False)


def test_bytes_that_are_not_utf8_are_base64_whatever_the_type():
    assert event_body(b"\xff\xfe", "text/plain") == ("//4=", True)


def test_no_body_is_none():
    assert event_body(b"", "application/octet-stream") == (None, False)
