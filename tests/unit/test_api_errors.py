"""Validation problems become contract errors; errors become JSON answers."""

from __future__ import annotations

import base64
import json
import re
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import ValidationError

from stowage.api import create_app, error_response, to_contract_error
from stowage.errors import (
    FileTooLargeError,
    InvalidFieldError,
    InvalidJsonError,
    MissingFieldError,
    StorageError,
    UploadIncompleteError,
)
from stowage.models.uploads import InitUploadRequest

RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


# --- to_contract_error --------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "loc", "error_class", "field"),
    [
        ("json_invalid", ("body", 1), InvalidJsonError, None),
        ("missing", ("body", "size"), MissingFieldError, "size"),
        ("int_type", ("body", "size"), InvalidFieldError, "size"),
        ("extra_forbidden", ("body", "bucket"), InvalidFieldError, "bucket"),
        ("greater_than_equal", ("query", "limit"), InvalidFieldError, "limit"),
        ("missing", ("query", "status"), MissingFieldError, "status"),
        ("string_too_long", ("path", "upload_id"), InvalidFieldError, "upload_id"),
        ("missing", ("body", "parts", 0, "etag"), MissingFieldError, "parts.0.etag"),
        ("model_attributes_type", ("body",), InvalidJsonError, None),
        ("missing", ("body",), InvalidJsonError, None),
    ],
)
def test_validation_problems_map_to_contract_codes(kind, loc, error_class, field):
    # Given one validation problem as the resolver reports it
    problem = {"type": kind, "loc": loc, "msg": "some reason", "input": None}
    # When
    error = to_contract_error([problem])
    # Then it is the contract error for it, naming the input when there is one
    assert type(error) is error_class
    assert error.field == field
    assert error.status == 400


def test_the_first_problem_is_the_one_reported():
    # Given several problems
    problems = [
        {"type": "missing", "loc": ("body", "file_name"), "msg": "Field required"},
        {"type": "int_type", "loc": ("body", "size"), "msg": "not int"},
    ]
    # When
    error = to_contract_error(problems)
    # Then
    assert (error.code, error.field) == ("MISSING_FIELD", "file_name")


def test_the_message_of_an_invalid_field_names_it_and_says_why():
    # Given
    problem = {"type": "int_type", "loc": ("body", "size"), "msg": "Input should be an integer"}
    # When
    error = to_contract_error([problem])
    # Then
    assert "size" in error.message and "Input should be an integer" in error.message


def test_real_pydantic_errors_under_body_map_like_the_resolver_reports_them():
    # Given the errors pydantic gives for a request missing its size, located under `body`
    with pytest.raises(ValidationError) as caught:
        InitUploadRequest.model_validate({"file_name": "a"})
    problems = [{**p, "loc": ("body", *p["loc"])} for p in caught.value.errors()]
    # When
    error = to_contract_error(problems)
    # Then
    assert (error.code, error.field) == ("MISSING_FIELD", "size")


# --- error_response -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "extra"),
    [
        (InvalidFieldError("bad", field="size"), 400, {"field": "size"}),
        (UploadIncompleteError("missing", missing=[1, 3]), 409, {"missing": [1, 3]}),
        (FileTooLargeError("too big", field="size"), 413, {"field": "size"}),
        (StorageError("s3 is down"), 502, {}),
    ],
)
def test_error_response_is_json_with_the_status(error, status, extra):
    # Given a contract error
    # When
    response = error_response(error)
    # Then the answer has its status, a JSON content type and the contract body
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    body = json.loads(response.body)
    assert body["error"]["code"] == error.code
    assert body["error"]["message"] == error.message
    assert RFC3339_Z.match(body["error"]["timestamp"])
    assert {k: v for k, v in body["error"].items() if k in {"field", "missing"}} == extra


# --- through the resolver -----------------------------------------------------------

app = create_app()


@app.post("/things")
def _init(body: InitUploadRequest) -> dict[str, Any]:
    return {"ok": True}


@app.get("/things")
def _list(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    return {"limit": limit}


@app.put("/things")
def _broken() -> dict[str, Any]:
    raise ValueError("a bug")


def call(
    method: str,
    body: str | None = None,
    query: dict[str, str] | None = None,
    base64_encoded: bool = False,
    content_type: str = "application/json",
):
    event = {
        "version": "2.0",
        "routeKey": f"{method} /things",
        "rawPath": "/things",
        "rawQueryString": "",
        "headers": {"content-type": content_type},
        "queryStringParameters": query,
        "requestContext": {"http": {"method": method, "path": "/things"}, "stage": "$default"},
        "body": body,
        "isBase64Encoded": base64_encoded,
    }
    answer = app.resolve(event, None)
    return answer["statusCode"], json.loads(answer["body"])


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ("{not json", "INVALID_JSON", None),
        ("[1, 2]", "INVALID_JSON", None),
        ('"text"', "INVALID_JSON", None),
        (None, "INVALID_JSON", None),
        ('{"file_name": "a"}', "MISSING_FIELD", "size"),
        ('{"file_name": "a", "size": "1"}', "INVALID_FIELD", "size"),
        ('{"file_name": "a", "size": true}', "INVALID_FIELD", "size"),
        ('{"file_name": "a", "size": 1, "bucket": "b"}', "INVALID_FIELD", "bucket"),
    ],
)
def test_bad_bodies_answer_400_in_contract_shape(body, code, field):
    # Given a POST with a bad body
    # When
    status, answer = call("POST", body)
    # Then
    assert status == 400
    assert answer["error"]["code"] == code
    assert answer["error"].get("field") == field


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data"])
def test_a_body_that_is_not_json_by_its_content_type_answers_invalid_json(content_type):
    # Given a JSON body sent as text/plain, or as a form without a boundary
    # (found by the fuzzer: both were 500s)
    # When
    status, answer = call("POST", '{"file_name": "a", "size": 1}', content_type=content_type)
    # Then
    assert (status, answer["error"]["code"]) == (400, "INVALID_JSON")


def test_a_value_error_of_the_code_itself_stays_a_500():
    # Given a route that fails with a ValueError on a well-formed JSON request
    # When
    status, answer = call("PUT", "{}")
    # Then it is the bug it is, not the client's fault
    assert (status, answer["error"]["code"]) == (500, "INTERNAL_ERROR")


def test_a_body_that_is_not_utf8_answers_invalid_json():
    # Given bytes that are not UTF-8, which API Gateway hands over base64-encoded
    # (found by the fuzzer: it was a 500)
    body = base64.b64encode(b'{"file_name": "\xca\x00", "size": 1}').decode()
    # When
    status, answer = call("POST", body, base64_encoded=True)
    # Then
    assert (status, answer["error"]["code"]) == (400, "INVALID_JSON")


def test_a_utf8_base64_body_is_read_as_usual():
    # Given a base64-encoded body that is valid UTF-8 JSON
    body = base64.b64encode(b'{"file_name": "a", "size": 1}').decode()
    # When
    status, answer = call("POST", body, base64_encoded=True)
    # Then
    assert (status, answer) == (200, {"ok": True})


@pytest.mark.parametrize("limit", ["0", "1001", "ten"])
def test_bad_query_values_answer_invalid_field(limit):
    # Given a GET with a bad `limit`
    # When
    status, answer = call("GET", query={"limit": limit})
    # Then
    assert (status, answer["error"]["code"], answer["error"]["field"]) == (
        400,
        "INVALID_FIELD",
        "limit",
    )
