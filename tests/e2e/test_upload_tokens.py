"""POST /v1/upload-tokens over HTTP: what a token says, what it may do, and what not."""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.support.http import Api

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("STOWAGE_URL")), reason="needs the admin commands of the local stack"
)


def make_api(stack_api: Api, max_file_size: int = 64 * 1024 * 1024, **fields: Any) -> Api:
    from stowage.domain.clients import NewClient
    from stowage.wiring import build_client_admin

    new = NewClient(client_id=f"t-{uuid.uuid4().hex[:8]}", max_file_size=max_file_size, **fields)
    return Api(stack_api.url, build_client_admin().create_client(new)[1])


def mint(api: Api, **body: Any) -> requests.Response:
    return api.call("POST", "/v1/upload-tokens", json=body)


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return decoded


def params(endpoint: str, name: str = "a.txt", kind: str = "text/plain") -> requests.Response:
    return requests.get(
        f"{endpoint}/s3/params", params={"filename": name, "type": kind}, timeout=30
    )


@pytest.fixture
def plain(stack_api: Api) -> Api:
    return make_api(stack_api)


def test_a_token_is_minted_with_an_absolute_companion_endpoint(plain: Api):
    # When a client mints a token with no body at all
    before = datetime.now(UTC)
    answer = plain.call("POST", "/v1/upload-tokens")
    # Then it gets the token, Uppy's endpoint on this API, and an expiry an hour out
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert set(body) == {"token", "endpoint", "expires_at"}
    assert body["endpoint"] == f"{plain.url}/v1/companion/{body['token']}"
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert before + timedelta(seconds=3590) <= expires <= before + timedelta(seconds=3610)
    claims = claims_of(body["token"])
    assert claims["role"] == "user" and claims["user_id"] == claims["client_id"]
    assert claims["max_file_size"] == 64 * 1024 * 1024


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"ttl_seconds": 86401}, 400, "INVALID_FIELD"),
        ({"ttl_seconds": 59}, 400, "INVALID_FIELD"),
        ({"max_files": 0}, 400, "INVALID_FIELD"),
        ({"content_types": ["image"]}, 400, "INVALID_FIELD"),
        ({"content_types": []}, 400, "INVALID_FIELD"),
        ({"max_file_size": 64 * 1024 * 1024 + 1}, 413, "FILE_TOO_LARGE"),
        ({"user_id": "someone-else"}, 403, "FORBIDDEN"),
        ({"role": "admin"}, 403, "FORBIDDEN"),
        ({"surprise": 1}, 400, "INVALID_FIELD"),
    ],
)
def test_a_token_never_exceeds_what_its_client_may_do(plain: Api, body, status, code):
    answer = mint(plain, **body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text


@pytest.mark.parametrize("body", ["[null, null]", '[{"max_files": 1}]', '"text"', "7"])
def test_a_body_that_is_not_an_object_is_400(plain: Api, body):
    answer = plain.call(
        "POST", "/v1/upload-tokens", data=body, headers={"content-type": "application/json"}
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "INVALID_JSON")


def test_an_act_as_backend_mints_for_its_users(stack_api: Api):
    # Given a backend that acts for its users, only in role "viewer" besides its own
    backend = make_api(stack_api, act_as=True, act_as_roles=["viewer"])
    # When it mints for a user, and for a role it may not name
    ok = mint(backend, user_id="alice", role="viewer", ttl_seconds=86400)
    refused = mint(backend, user_id="alice", role="admin")
    # Then
    assert ok.status_code == 201, ok.text
    claims = claims_of(ok.json()["token"])
    assert (claims["user_id"], claims["role"]) == ("alice", "viewer")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "FORBIDDEN")


def test_minting_needs_an_api_key(stack_api: Api):
    answer = requests.post(f"{stack_api.url}/v1/upload-tokens", timeout=30)
    assert (answer.status_code, answer.json()) == (401, {"message": "Unauthorized"})


@pytest.mark.parametrize("route", ["/v1/uploads", "/v1/files", "/v1/upload-tokens"])
def test_a_token_is_no_api_key(plain: Api, route):
    # Given a valid token
    token = mint(plain).json()["token"]
    # When it is sent as a Bearer key to a route of the API
    answer = plain.call("GET" if route != "/v1/upload-tokens" else "POST", route, api_key=token)
    # Then the authorizer refuses it
    assert (answer.status_code, answer.json()) == (403, {"message": "Forbidden"})


def test_a_tampered_token_uploads_nothing(plain: Api):
    # Given a token whose claims are rewritten to raise its limit (mac kept)
    token = mint(plain, max_file_size=10).json()["token"]
    prefix, payload, mac = token.split(".")
    claims = claims_of(token) | {"max_file_size": 10**12}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    endpoint = f"{plain.url}/v1/companion"
    # When each forgery is used
    answers = [
        params(f"{endpoint}/{prefix}.{forged}.{mac}"),
        params(f"{endpoint}/{prefix}.{payload}.{mac[:-2]}AA"),
        params(f"{endpoint}/{token[:-1]}"),
        params(f"{endpoint}/not-a-token"),
    ]
    # Then each is 403 with the error JSON, and the genuine token still works
    for answer in answers:
        assert (answer.status_code, answer.json()["error"]["code"]) == (403, "INVALID_TOKEN")
    assert params(f"{endpoint}/{token}").status_code == 200


def test_an_expired_token_is_refused(plain: Api):
    # Given a token signed with the stack's secret that expired a second ago
    from stowage.adapters.tokens import upload_token_secret
    from stowage.domain.tokens import TokenSigner
    from stowage.models.browser import TokenClaims

    good = claims_of(mint(plain).json()["token"])
    expired = TokenClaims.model_validate(good | {"exp": int(datetime.now(UTC).timestamp()) - 1})
    token = TokenSigner(upload_token_secret).sign(expired)
    # When it asks for an upload
    answer = params(f"{plain.url}/v1/companion/{token}")
    # Then
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "INVALID_TOKEN")
    assert "expired" in answer.json()["error"]["message"]


def test_the_access_log_names_route_keys_never_paths():
    # Given the HTTP API's access log format in template.yaml
    from devstack.template import read_template
    from tests.support.events import ROOT

    api = read_template(ROOT / "template.yaml")["Resources"]["HttpApi"]["Properties"]
    log_format = api["AccessLogSettings"]["Format"]
    # Then it logs the route key, and nothing that holds a path (where tokens ride)
    assert "$context.routeKey" in log_format
    for field in ("$context.path", "$context.http.path", "$context.resourcePath", "rawPath"):
        assert field not in log_format
