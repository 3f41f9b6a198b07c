"""No body under the size limit reaches a 5xx: an adversarial corpus against every route of
template.yaml that takes a body, over HTTP through the local gateway, and the strict JSON
reader (`stowage.jsonbody`) on its own.

Routes come from the template (a new POST route is in the corpus the day it lands); which
of them read a JSON body comes from the OpenAPI document, which tests/unit proves current.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from devstack.template import load_template
from stowage.jsonbody import MAX_DEPTH, MAX_NUMBER_CHARS, read_json
from tests.support.events import ROOT
from tests.support.http import Api

BODY_METHODS = {"POST", "PUT", "PATCH"}
JSON = {"Content-Type": "application/json"}


def nested(depth: int, inner: str = "1") -> str:
    return '{"a":' * depth + inner + "}" * depth


def listed(depth: int) -> str:
    return "[" * depth + "]" * depth


# Each must be refused by a route that reads JSON (400), and by none answered 5xx.
REFUSED: dict[str, bytes] = {
    "nested 100,000 deep (objects)": nested(100_000).encode(),
    "nested 100,000 deep (arrays)": listed(100_000).encode(),
    "nested one level past the limit": nested(MAX_DEPTH + 1).encode(),
    "an integer of 5,000 digits": b'{"size": ' + b"9" * 5000 + b"}",
    "a negative integer of 5,000 digits": b'{"size": -' + b"9" * 5000 + b"}",
    "an exponent that overflows": b'{"size": 1e999999}',
    "a float of 400 digits": b'{"size": 1' + b"0" * 400 + b".5}",
    "NaN": b'{"size": NaN}',
    "-Infinity": b'{"size": -Infinity}',
    "duplicate member names": b'{"file_name": "a.txt", "size": 1, "size": 2}',
    "duplicate names in a nested member": b'{"parts": [{"part_number": 1, "part_number": 2}]}',
    "a lone surrogate": b'{"file_name": "\\ud800.txt", "size": 1}',
    "a lone low surrogate in a name": b'{"\\udc00": 1}',
    "a byte-order mark": '\ufeff{"file_name": "a.txt", "size": 1}'.encode(),
    "overlong UTF-8": b'{"file_name": "\xc0\xaf.txt", "size": 1}',
    "invalid UTF-8": b'{"file_name": "\xff\xfe.txt", "size": 1}',
    "truncated": b'{"file_name": "a.txt", "si',
    "a raw control character in a string": b'{"file_name": "a\x01.txt", "size": 1}',
    "an invalid escape": b'{"file_name": "\\x41.txt", "size": 1}',
    "trailing garbage": b'{"file_name": "a.txt", "size": 1} x',
}
# JSON, but not an object: the reader refuses them, so every route answers INVALID_JSON.
NOT_OBJECTS: dict[str, bytes] = {
    "an array": b"[]",
    "an array of an object": b'[{"file_name": "a.txt", "size": 1}]',
    "an array of null": b"[null]",
    "a string": b'"upload"',
    "a number": b"1",
}

# Valid JSON that a route may take or refuse as a field problem, but never with a 5xx.
TOLERATED: dict[str, bytes] = {
    "NUL in a name": b'{"file_name": "a\\u0000.txt", "size": 1}',
    "NUL in a content type": b'{"file_name": "a.txt", "size": 1, "content_type": "text/\\u0000"}',
    "a raw NUL byte after the document": b'{"file_name": "a.txt", "size": 1}\x00',
    "a size as a string of digits": b'{"file_name": "a.txt", "size": "1"}',
    "a negative size": b'{"file_name": "a.txt", "size": -1}',
    "a size of 2**63": b'{"file_name": "a.txt", "size": 9223372036854775808}',
    "a float size": b'{"file_name": "a.txt", "size": 1.5}',
    "a part number of 2**64": b'{"part_numbers": [18446744073709551616]}',
    "a name of 10,000 characters": b'{"file_name": "' + b"a" * 10_000 + b'", "size": 1}',
    "unicode escapes of a valid pair": b'{"file_name": "\\ud83d\\ude00.txt", "size": 1}',
    "an empty body object": b"{}",
    "null (an optional body left out)": b"null",
    "nested at the limit": nested(MAX_DEPTH).encode(),
    "an empty member name and NUL": b'{"": 1, "file_name": "a\\u0000.txt", "size": 1}',
}


def body_routes() -> list[str]:
    template = load_template(ROOT / "template.yaml")
    return sorted(
        route.route_key
        for function in template.functions
        for route in function.routes
        if route.method in BODY_METHODS
    )


def json_body_routes() -> set[str]:
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    return {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    }


def concrete(path: str) -> str:
    """A path of the route with every parameter filled in: ids that exist nowhere."""
    return re.sub(r"\{[^}]+\}", "hostile-0000", path)


def send(api: Api, route: str, body: bytes) -> Any:
    method, path = route.split(" ", 1)
    return api.call(method, concrete(path), data=body, headers=JSON)


def test_the_corpus_reaches_every_route_that_reads_json():
    # Given the template's body routes and the document's JSON ones
    routes, readers = set(body_routes()), json_body_routes()
    # Then the routes that read JSON are body routes of the template, and there are some
    assert readers, "the OpenAPI document names no JSON body"
    assert readers <= routes, readers - routes


@pytest.mark.parametrize("route", body_routes())
def test_no_hostile_body_is_a_5xx_and_json_routes_refuse_it_as_invalid_json(
    stack_api: Api, route: str
):
    # Given a route of the template that takes a body
    reads_json = route in json_body_routes()
    wrong: list[str] = []
    # When each body of the corpus is sent to it
    for name, body in (REFUSED | NOT_OBJECTS | TOLERATED).items():
        answer = send(stack_api, route, body)
        # Then the answer is never a 5xx, and a 4xx carries the contract's error
        if answer.status_code >= 500:
            wrong.append(f"{name}: {answer.status_code} {answer.text[:200]}")
            continue
        if answer.status_code >= 400:
            error = answer.json()["error"]
            assert error["code"] and error["message"] and error["timestamp"], answer.text
        # And a route that reads JSON refuses the refused ones as INVALID_JSON (400)
        if reads_json and name not in TOLERATED:
            code = answer.json().get("error", {}).get("code") if answer.content else None
            if (answer.status_code, code) != (400, "INVALID_JSON"):
                wrong.append(f"{name}: {answer.status_code} {code}, not 400 INVALID_JSON")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", sorted(REFUSED | NOT_OBJECTS))
def test_the_reader_refuses_each_hostile_document(name: str):
    with pytest.raises(json.JSONDecodeError):
        read_json((REFUSED | NOT_OBJECTS)[name])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (nested(MAX_DEPTH), json.loads(nested(MAX_DEPTH))),
        ('{"n": ' + "9" * MAX_NUMBER_CHARS + "}", {"n": int("9" * MAX_NUMBER_CHARS)}),
        (
            '{"n": ' + "1" * (MAX_NUMBER_CHARS - 2) + ".5}",
            {"n": float("1" * (MAX_NUMBER_CHARS - 2) + ".5")},
        ),
        ('{"a": 1, "b": {"a": 2}}', {"a": 1, "b": {"a": 2}}),
        ('{"n": "\\ud83d\\ude00"}', {"n": "\U0001f600"}),
        ('{"n": -1.5e3}', {"n": -1500.0}),
    ],
)
def test_the_reader_takes_standard_json_up_to_its_limits(text: str, value: Any):
    assert read_json(text) == value
    assert read_json(text.encode()) == value


@pytest.mark.parametrize(
    "text",
    [
        nested(MAX_DEPTH + 1),
        '{"n": ' + "9" * (MAX_NUMBER_CHARS + 1) + "}",
        '{"n": ' + "1" * (MAX_NUMBER_CHARS - 1) + ".5}",
        '{"n": -' + "9" * MAX_NUMBER_CHARS + "}",
        '{"a": 1, "a": 1}',
        '{"n": Infinity}',
        '{"n": 1e309}',
        '{"n": "\\udfff"}',
    ],
)
def test_the_reader_refuses_just_past_its_limits(text: str):
    with pytest.raises(json.JSONDecodeError):
        read_json(text)
