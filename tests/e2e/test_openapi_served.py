"""GET /v1/openapi.json: the committed document, served to anyone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.http import Api

DOCUMENT = Path(__file__).parents[2] / "docs" / "openapi.json"


@pytest.mark.parametrize("api_key", ["", "stw_not-a-key"], ids=["no key", "a bad key"])
def test_the_document_is_served_without_a_key(api: Api, api_key: str) -> None:
    # Given no key, or one the authorizer would refuse
    # When the document is asked for
    answer = api.call("GET", "/v1/openapi.json", api_key=api_key)
    # Then it is the committed docs/openapi.json, as JSON
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == json.loads(DOCUMENT.read_text(encoding="utf-8"))
