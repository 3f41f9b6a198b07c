"""No client reaches another's uploads or files: every route of template.yaml, each
tenant's resources, the other tenant's key. A route without a check here fails."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from devstack.template import load_template
from tests.support.events import ROOT
from tests.support.http import Api

TUS = {"Tus-Resumable": "1.0.0"}
TUS_NAME = {"Upload-Metadata": "filename dHVzLmJpbg=="}
TUS_PATCH = {"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("STOWAGE_URL")), reason="needs the admin commands of the local stack"
)


def make_client(max_file_size: int = 10 * 1024 * 1024, **fields: Any) -> tuple[Any, str]:
    """A new client in the local stack's table, as the admin command makes it."""
    from stowage.domain.clients import NewClient
    from stowage.wiring import build_client_admin

    new = NewClient(client_id=f"c-{uuid.uuid4().hex[:8]}", max_file_size=max_file_size, **fields)
    return build_client_admin().create_client(new)


def new_client(api: Api, **fields: Any) -> Api:
    return Api(api.url, make_client(**fields)[1])


@pytest.fixture(scope="module")
def tenants(stack_api: Api) -> dict[str, Any]:
    """Two plain clients and a backend acting for two users, each owning an open
    upload and a stored file."""
    a, b = new_client(stack_api), new_client(stack_api)
    backend = new_client(stack_api, act_as=True)
    owned = {}
    for name, api, extra in [
        ("a", a, {}),
        ("b", b, {}),
        ("u1", backend, {"user_id": "u1"}),
        ("u2", backend, {"user_id": "u2", "role": "viewer"}),
    ]:
        open_upload = api.init(size=1, **extra).json()
        done = api.upload(b"secret of " + name.encode(), **extra)
        draft = api.draft(b"draft of " + name.encode(), **extra)["draft_id"]
        tus = api.call("POST", "/v1/tus/", headers=TUS | {"Upload-Length": "8"} | TUS_NAME)
        archive = api.call("POST", "/v1/archives", json={"keys": [done["key"]]}).json()
        owned[name] = {
            "user": extra.get("user_id", done["key"].split("/")[2]),
            "role": extra.get("role", "user"),
            "api": api,
            "upload": open_upload["upload_id"],
            "file": done["key"],
            "draft": draft,
            "tus": tus.headers["Location"],
            "archive": archive["archive_id"],
        }
    return owned


def as_other(other: Api, target: dict[str, Any]) -> dict[str, Callable[[], requests.Response]]:
    """How `other` would touch `target`'s resources, per route of the template."""
    upload, key, draft, tus = target["upload"], target["file"], target["draft"], target["tus"]
    user, role, archive = target["user"], target["role"], target["archive"]
    return {
        "POST /v1/archives": lambda: other.call("POST", "/v1/archives", json={"keys": [key]}),
        "GET /v1/archives/{archive_id}": lambda: other.call("GET", f"/v1/archives/{archive}"),
        "GET /v1/archives/{archive_id}/content": lambda: other.call(
            "GET", f"/v1/archives/{archive}/content"
        ),
        "POST /v1/uploads/{upload_id}/parts": lambda: other.call(
            "POST", f"/v1/uploads/{upload}/parts", json={"part_numbers": [1]}
        ),
        "GET /v1/uploads/{upload_id}": lambda: other.call("GET", f"/v1/uploads/{upload}"),
        "POST /v1/uploads/{upload_id}/complete": lambda: other.complete(upload),
        "DELETE /v1/uploads/{upload_id}": lambda: other.call("DELETE", f"/v1/uploads/{upload}"),
        "GET /v1/files/{key+}": lambda: other.download(key),
        "HEAD /v1/files/{key+}": lambda: _as_json_404(other.call("HEAD", "/v1/files/" + key)),
        "DELETE /v1/files/{key+}": lambda: other.call("DELETE", "/v1/files/" + key),
        "GET /v1/drafts/{draft_id}": lambda: other.call("GET", f"/v1/drafts/{draft}"),
        "GET /v1/drafts/{draft_id}/content": lambda: other.call(
            "GET", f"/v1/drafts/{draft}/content"
        ),
        "POST /v1/drafts/{draft_id}/confirm": lambda: other.call(
            "POST", f"/v1/drafts/{draft}/confirm"
        ),
        "DELETE /v1/drafts/{draft_id}": lambda: other.call("DELETE", f"/v1/drafts/{draft}"),
        "HEAD /v1/tus/{upload_id}": lambda: _as_json_404(
            other.http.head(tus, headers=other.headers() | TUS), "UPLOAD_NOT_FOUND"
        ),
        "PATCH /v1/tus/{upload_id}": lambda: other.http.patch(
            tus, data=b"intruder", headers=other.headers() | TUS | TUS_PATCH
        ),
        "DELETE /v1/tus/{upload_id}": lambda: other.http.delete(tus, headers=other.headers() | TUS),
        "GET /v1/users/{user_id}/latest": lambda: other.call(
            "GET", f"/v1/users/{user}/latest", params={"role": role}
        ),
        "GET /v1/users/{user_id}/backups": lambda: _empty_is_404(
            other.call("GET", f"/v1/users/{user}/backups", params={"role": role})
        ),
        "GET /v1/users/{user_id}/backups/latest": lambda: other.call(
            "GET", f"/v1/users/{user}/backups/latest", params={"role": role}
        ),
    }


def _empty_is_404(answer: requests.Response) -> requests.Response:
    """An empty list of another tenant's backups shows nothing, as a 404 would."""
    if answer.status_code == 200 and answer.json() == {"backups": []}:
        answer.status_code = 404
        answer._content = b'{"error": {"code": "FILE_NOT_FOUND"}}'
    return answer


def _as_json_404(answer: requests.Response, code: str = "FILE_NOT_FOUND") -> requests.Response:
    """A HEAD answer has no body: stand in the code its GET would give."""
    if answer.status_code == 404 and not answer.content:
        answer._content = json.dumps({"error": {"code": code}}).encode()
    return answer


def snapshot(target: dict[str, Any]) -> tuple[Any, bytes, Any, bytes, str]:
    api = target["api"]
    tus = api.http.head(target["tus"], headers=api.headers() | TUS).headers["Upload-Offset"]
    status = api.status(target["upload"])
    data = requests.get(api.download(target["file"]).headers["Location"], timeout=30).content
    draft = api.call("GET", f"/v1/drafts/{target['draft']}").json()
    preview = api.call("GET", f"/v1/drafts/{target['draft']}/content").headers["Location"]
    return status, data, draft, requests.get(preview, timeout=30).content, tus


PAIRS = [("a", "b"), ("b", "a"), ("a", "u1"), ("u1", "a"), ("u2", "b")]


@pytest.mark.parametrize(("owner", "intruder"), PAIRS)
def test_every_resource_route_answers_404_to_another_tenant(tenants, owner, intruder):
    # Given the routes of template.yaml that take an upload id or a key
    routes = {
        route.route_key
        for function in load_template(ROOT / "template.yaml").functions
        for route in function.routes
        if route.authorizer
    }
    collection_routes = {
        "POST /v1/uploads",
        "GET /v1/uploads",
        "POST /v1/drafts",
        "GET /v1/files",
        "POST /v1/upload-tokens",  # mints; touches no resource
    }
    collection_routes |= {"POST /v1/tus/", "OPTIONS /v1/tus/"}
    target, other = tenants[owner], tenants[intruder]["api"]
    calls = as_other(other, target)
    assert routes - collection_routes == set(calls), "a route lacks a tenancy check"
    before = snapshot(target)
    # When the intruder calls each of them
    for route, call in calls.items():
        answer = call()
        # Then it is as if nothing were there (or, naming another user, forbidden)
        status_code = answer.status_code, answer.json()["error"]["code"]
        codes = ("UPLOAD_NOT_FOUND", "FILE_NOT_FOUND", "DRAFT_NOT_FOUND", "ARCHIVE_NOT_FOUND")
        allowed = {(404, c) for c in codes}
        if route.startswith("GET /v1/users/"):
            allowed.add((403, "FORBIDDEN"))
        assert status_code in allowed, (route, answer.text)
    # And nothing changed for the owner
    assert snapshot(target) == before


@pytest.mark.parametrize(("owner", "intruder"), PAIRS)
def test_collections_show_only_ones_own(tenants, owner, intruder):
    target, other = tenants[owner], tenants[intruder]["api"]
    listed = other.call("GET", "/v1/uploads", params={"limit": 1000}).json()["uploads"]
    assert target["upload"] not in {u["upload_id"] for u in listed}
    for prefix in ("", target["file"]):
        files = other.call("GET", "/v1/files", params={"prefix": prefix, "limit": 1000}).json()
        assert target["file"] not in {f["key"] for f in files["files"]}


def test_a_plain_client_cannot_name_another_user(tenants):
    a = tenants["a"]["api"]
    answer = a.init(size=1, user_id="u1")
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "FORBIDDEN")


def test_each_tenant_writes_only_under_its_own_prefix(tenants):
    # Key prefixes default to the client id, so two plain clients never share a corner
    a_prefix, b_prefix = (tenants[n]["file"].split("/")[0] for n in ("a", "b"))
    assert a_prefix != b_prefix
    assert tenants["u1"]["file"].split("/")[1:3] == ["user", "u1"]
    assert tenants["u2"]["file"].split("/")[1:3] == ["viewer", "u2"]


def test_a_client_limit_of_1_mib_refuses_1_mib_plus_1(stack_api: Api):
    # Given a client whose max_file_size is 1 MiB
    limit = 1024 * 1024
    tiny = new_client(stack_api, max_file_size=limit)
    # When / Then
    assert tiny.init(size=limit).status_code == 201
    answer = tiny.init(size=limit + 1)
    assert (answer.status_code, answer.json()["error"]["code"]) == (413, "FILE_TOO_LARGE")


class Collect(logging.Handler):
    """Every record the service logs, formatted as its own handler formats it."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_keys_and_their_hashes_never_reach_the_logs(stack_api: Api, capfd):
    # Given a fresh client, its key and its stored hash, and the service's log
    # records collected as they are written (Powertools' logger is named "stowage")
    service_log = logging.getLogger("stowage")
    api_probe = Api(stack_api.url, stack_api.api_key)
    assert api_probe.call("GET", "/v1/uploads").status_code == 200  # handlers imported
    collect = Collect(service_log.handlers[0].formatter if service_log.handlers else None)
    service_log.addHandler(collect)
    from stowage.adapters.secrets import api_key_pepper
    from stowage.domain.clients import hash_api_key

    record, key = make_client()
    assert record.key_hash == hash_api_key(key, api_key_pepper())
    api = Api(stack_api.url, key)
    # When it makes good and bad requests
    api.upload(b"x")
    api.call("GET", "/v1/uploads", api_key=key[:-1] + "A")
    api.call("POST", "/v1/uploads", data="{bad")
    # Then neither the key nor its hash appears in anything logged or printed
    service_log.removeHandler(collect)
    out, err = capfd.readouterr()
    logged = "\n".join(collect.lines) + out + err
    assert "upload started" in logged and "key accepted" in logged  # logs were seen
    for secret in (key, record.key_hash, key[4:]):
        assert secret not in logged


def test_disabled_and_rotated_away_keys_are_403(stack_api: Api):
    # Given a client that works
    from stowage.wiring import build_client_admin

    admin = build_client_admin()
    record, old = make_client()
    assert Api(stack_api.url, old).call("GET", "/v1/uploads").status_code == 200
    # When its key is rotated, then the client disabled
    new = admin.rotate_key(record.client_id)
    rotated_away = Api(stack_api.url, old).call("GET", "/v1/uploads")
    rotated_in = Api(stack_api.url, new).call("GET", "/v1/uploads")
    admin.disable_client(record.client_id)
    disabled = Api(stack_api.url, new).call("GET", "/v1/uploads")
    # Then
    assert (rotated_away.status_code, rotated_away.json()) == (403, {"message": "Forbidden"})
    assert rotated_in.status_code == 200
    assert (disabled.status_code, disabled.json()) == (403, {"message": "Forbidden"})
