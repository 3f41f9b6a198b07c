"""docs/openapi.json: up to date with the code, valid OpenAPI 3.1, and saying what the
gateway and the contract say (routes, keys, errors, links)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from devstack.template import load_template
from stowage_cli.openapi import codes_by_status, document_path

ROOT = Path(__file__).parents[2]
DOCUMENT = ROOT / "docs" / "openapi.json"
SERVED = ROOT / "functions" / "openapi" / "openapi.json"
METHODS = {"get", "head", "post", "put", "patch", "delete", "options"}

document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
stack = load_template(ROOT / "template.yaml")
ROUTES = [route for spec in stack.functions for route in spec.routes]
OPERATIONS = [
    (path, method, operation)
    for path, item in document["paths"].items()
    for method, operation in item.items()
    if method in METHODS
]
IDS = [f"{method.upper()} {path}" for path, method, _ in OPERATIONS]


def operation_of(route):
    return document["paths"][document_path(route.path)][route.method.lower()]


def test_the_committed_document_is_what_make_openapi_generates():
    # Given the generator, run as `make openapi` runs it (a process of its own: it
    # imports every handler under the template's environment)
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers/common/python")])
    }
    generated = subprocess.run(
        [sys.executable, "-m", "stowage_cli", "openapi", "--stdout"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    # When compared with the committed file
    # Then they are the same
    assert generated == DOCUMENT.read_text(encoding="utf-8"), (
        "docs/openapi.json is out of date: run `make openapi` and commit it"
    )


def test_the_function_packages_the_committed_document():
    # Given what the OpenApi function serves (a link to docs/openapi.json)
    # Then it is byte for byte the committed document
    assert SERVED.read_bytes() == DOCUMENT.read_bytes()


def test_it_is_valid_openapi_3_1():
    # Given the document
    # When validated against the OpenAPI 3.1 specification
    validate(document)
    # Then it passes
    assert document["openapi"].startswith("3.1")


def test_every_route_of_the_template_is_documented_and_nothing_else():
    # Given the routes API Gateway serves
    expected = {(document_path(r.path), r.method.lower()) for r in ROUTES}
    # When compared with the document's operations
    documented = {(path, method) for path, method, _ in OPERATIONS}
    # Then they are the same
    assert documented == expected


def test_routes_without_an_authorizer_need_no_key_and_the_others_the_bearer_key():
    # Given the bearer scheme every route needs by default
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    assert document["security"] == [{"ApiKey": []}]
    for route in ROUTES:
        operation = operation_of(route)
        # Then open routes say so, keyed ones keep the default and gateway's 401/403
        if route.authorizer is None:
            assert operation["security"] == [], route.route_key
            assert "401" not in operation["responses"], route.route_key
        else:
            assert "security" not in operation, route.route_key
            assert {"401", "403"} <= set(operation["responses"]), route.route_key


def schemas_of(response):
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return [option.get("$ref") for option in schema.get("anyOf", [schema])]


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_every_error_answer_is_the_contract_error_or_the_gateway_message(path, method, operation):
    # Given the operation's error answers
    errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
    assert {"429", "500"} <= set(errors)
    status_of = codes_by_status()
    for status, response in errors.items():
        refs = set() if method == "head" else set(schemas_of(response))
        codes = response.get("x-error-codes", [])
        # Then each is the contract's error (with codes of that status) or API Gateway's
        assert codes or "#/components/schemas/GatewayMessage" in refs or method == "head"
        assert all(status_of[code] == int(status) for code in codes), (status, codes)
        if codes and method != "head":
            assert "#/components/schemas/Error" in refs


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_every_success_answer_is_described_not_a_bare_string(path, method, operation):
    # Given the operation's success answers (routes returning Response[str] among them)
    successes = {s: r for s, r in operation["responses"].items() if s[0] in "23"}
    assert successes
    for status, response in successes.items():
        pages = {t: c for t, c in response.get("content", {}).items() if t.startswith("text/")}
        if pages:  # the web page and its assets: text of the media types they name
            assert all(c["schema"]["type"] == "string" for c in pages.values()), response
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        # Then each has a real schema, or is a redirect or a HEAD answer with headers only
        if schema is None:
            # tus answers in headers only (201, 204)
            headers_only = method == "head" or path.startswith("/v1/tus/")
            assert status == "302" or headers_only, (status, response)
            assert response.get("headers"), (status, response)
        else:
            assert schema.get("type") != "string", (status, schema)


def test_the_error_schema_is_the_contracts():
    # Given the error component
    detail = document["components"]["schemas"]["ErrorDetail"]
    # Then it has the contract's fields, and exactly the contract's codes
    assert set(detail["required"]) == {"code", "message", "timestamp"}
    assert set(detail["properties"]) == {"code", "message", "timestamp", "field", "missing"}
    assert set(detail["properties"]["code"]["enum"]) == set(codes_by_status())
    assert detail["additionalProperties"] is False


def test_greedy_keys_are_documented_as_one_parameter_that_may_hold_slashes():
    # Given the {key+} routes
    for route in ROUTES:
        if "{key+}" in route.path:
            operation = operation_of(route)
            # Then `{key}` is a required path parameter that says `/` may stay literal
            (key,) = [p for p in operation["parameters"] if p["in"] == "path"]
            assert key["name"] == "key" and key["required"] is True
            assert "`/` may stay literal" in key["description"]


def test_links_lead_from_init_to_parts_complete_and_status_and_from_drafts_to_confirm():
    # Given the operations by id
    by_id = {operation["operationId"]: operation for _, _, operation in OPERATIONS}
    init_links = by_id["UploadInit"]["responses"]["201"]["links"]
    draft_links = by_id["DraftCreate"]["responses"]["201"]["links"]
    # Then the sequences stateful fuzzing follows are there
    assert {"UploadParts", "UploadComplete", "UploadStatus"} <= {
        link["operationId"] for link in init_links.values()
    }
    assert "DraftConfirm" in {link["operationId"] for link in draft_links.values()}
    for _, _, operation in OPERATIONS:
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                # And every link names an operation and parameters it has
                target = by_id[link["operationId"]]
                names = {p["name"] for p in target.get("parameters", [])}
                assert set(link["parameters"]) <= names, link
