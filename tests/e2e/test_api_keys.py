"""The gateway's answers for missing and bad keys (API Gateway shapes, not ours)."""

from __future__ import annotations

import pytest

from tests.support.http import Api


def test_no_authorization_header_is_401(api: Api):
    answer = api.call("GET", "/v1/uploads", api_key="")
    assert (answer.status_code, answer.json()) == (401, {"message": "Unauthorized"})


@pytest.mark.parametrize(
    "header",
    [
        "Bearer stw_" + "A" * 43,  # well formed, unknown
        "Bearer {key}x",  # longer
        "Bearer {key_truncated}",
        "Bearer {key_upper}",
        "{key}",  # no scheme
        "Bearer  {key}",  # extra whitespace
        "Basic {key}",
    ],
    ids=["unknown", "longer", "truncated", "case", "no-bearer", "whitespace", "basic"],
)
def test_bad_keys_are_403(api: Api, header: str):
    key = api.api_key or ""
    value = header.format(key=key, key_truncated=key[:-3], key_upper=key.upper())
    answer = api.call("GET", "/v1/uploads", api_key="", headers={"Authorization": value})
    assert (answer.status_code, answer.json()) == (403, {"message": "Forbidden"})


def test_the_right_key_passes(api: Api):
    assert api.call("GET", "/v1/uploads").status_code == 200
