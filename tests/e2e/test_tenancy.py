"""No client reaches another's uploads, drafts, files or backups: every route of
template.yaml, each tenant's resources, the other tenant's key, ids, user and role. A
template route without a check here fails, and so does a route taking a role that the
`act_as_roles` check does not try."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

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
    upload, a stored file, a backup and a draft."""
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
        backup = api.upload(
            b"backup of " + name.encode(), kind="backup", app="notes", iteration=1, **extra
        )
        draft = api.draft(b"draft of " + name.encode(), **extra)["draft_id"]
        tus = api.call("POST", "/v1/tus/", headers=TUS | {"Upload-Length": "8"} | TUS_NAME)
        owned[name] = {
            "user": extra.get("user_id", done["key"].split("/")[2]),
            "role": extra.get("role", "user"),
            "api": api,
            "upload": open_upload["upload_id"],
            "file": done["key"],
            "backup": backup["key"],
            "draft": draft,
            "corner": done["key"].rsplit("/", 3)[0] + "/",
            "tus": tus.headers["Location"],
        }
    return owned


Call = Callable[[], requests.Response]


def as_other(other: Api, target: dict[str, Any]) -> dict[str, Call]:
    """How `other` would touch `target`'s resources, per route of the template: with
    the target's ids, keys, user and role."""
    upload, key, draft, tus = target["upload"], target["file"], target["draft"], target["tus"]
    user, role = target["user"], target["role"]
    as_target = {"user_id": user, "role": role}
    return {
        "POST /v1/uploads": lambda: other.init(size=1, **as_target),
        "GET /v1/uploads": lambda: other.call("GET", "/v1/uploads", params={"limit": 1000}),
        "POST /v1/uploads/{upload_id}/parts": lambda: other.call(
            "POST", f"/v1/uploads/{upload}/parts", json={"part_numbers": [1]}
        ),
        "GET /v1/uploads/{upload_id}": lambda: other.call("GET", f"/v1/uploads/{upload}"),
        "POST /v1/uploads/{upload_id}/complete": lambda: other.complete(upload),
        "DELETE /v1/uploads/{upload_id}": lambda: other.call("DELETE", f"/v1/uploads/{upload}"),
        "GET /v1/files": lambda: other.call(
            "GET", "/v1/files", params={"prefix": target["corner"], "limit": 1000}
        ),
        "GET /v1/files/{key+}": lambda: other.download(key),
        "HEAD /v1/files/{key+}": lambda: _as_json_404(other.call("HEAD", "/v1/files/" + key)),
        "DELETE /v1/files/{key+}": lambda: other.call("DELETE", "/v1/files/" + key),
        "POST /v1/drafts": lambda: other.create_draft(size=1, **as_target),
        "GET /v1/drafts/{draft_id}": lambda: other.call("GET", f"/v1/drafts/{draft}"),
        "GET /v1/drafts/{draft_id}/content": lambda: other.call(
            "GET", f"/v1/drafts/{draft}/content"
        ),
        "POST /v1/drafts/{draft_id}/confirm": lambda: other.call(
            "POST", f"/v1/drafts/{draft}/confirm"
        ),
        "DELETE /v1/drafts/{draft_id}": lambda: other.call("DELETE", f"/v1/drafts/{draft}"),
        "GET /v1/users/{user_id}/latest": lambda: other.call(
            "GET", f"/v1/users/{user}/latest", params={"role": role}
        ),
        "GET /v1/users/{user_id}/backups": lambda: other.call(
            "GET", f"/v1/users/{user}/backups", params={"role": role}
        ),
        "GET /v1/users/{user_id}/backups/latest": lambda: other.call(
            "GET", f"/v1/users/{user}/backups/latest", params={"role": role, "app": "notes"}
        ),
        "POST /v1/upload-tokens": lambda: other.call("POST", "/v1/upload-tokens", json=as_target),
        "OPTIONS /v1/tus/": lambda: other.call("OPTIONS", "/v1/tus/", headers=TUS),
        "POST /v1/tus/": lambda: other.call(
            "POST", "/v1/tus/", headers=TUS | {"Upload-Length": "8"} | TUS_NAME
        ),
        "HEAD /v1/tus/{upload_id}": lambda: _as_json_404(
            other.http.head(tus, headers=other.headers() | TUS), "UPLOAD_NOT_FOUND"
        ),
        "PATCH /v1/tus/{upload_id}": lambda: other.http.patch(
            tus, data=b"intruder", headers=other.headers() | TUS | TUS_PATCH
        ),
        "DELETE /v1/tus/{upload_id}": lambda: other.http.delete(tus, headers=other.headers() | TUS),
    }


def _as_json_404(answer: requests.Response, code: str = "FILE_NOT_FOUND") -> requests.Response:
    """A HEAD answer has no body: stand in the code its GET would give."""
    if answer.status_code == 404 and not answer.content:
        answer._content = json.dumps({"error": {"code": code}}).encode()
    return answer


NOT_FOUND = {(404, c) for c in ("UPLOAD_NOT_FOUND", "FILE_NOT_FOUND", "DRAFT_NOT_FOUND")}
FORBIDDEN = (403, "FORBIDDEN")


def the_others_in(answer: requests.Response, target: dict[str, Any]) -> list[str]:
    """What of the target's a 2xx answer shows: its ids, its keys, anything in its
    corner of the bucket, or a presigned link there."""
    text = answer.text + answer.headers.get("location", "")
    mine = [target[k] for k in ("upload", "file", "backup", "draft", "corner")]
    mine.append(target["tus"].rsplit("/", 1)[-1])
    return [thing for thing in mine if thing in text or quote(thing, safe="") in text]


def tenancy_problems(route: str, answer: requests.Response, target: dict[str, Any]) -> list[str]:
    """A route answers as if the target's things were not there: 404 (or, naming the
    target's user, 403); a 2xx only when it shows and touches nothing of the target's
    (a list of one's own, or an upload an act-as backend starts in its own corner)."""
    if answer.status_code < 300:
        shown = the_others_in(answer, target)
        return [f"{route}: {answer.status_code} shows {shown}"] if shown else []
    error = answer.json().get("error", {}) if answer.content else {}
    status_code = answer.status_code, error.get("code")
    allowed = set(NOT_FOUND)
    if route.startswith(
        ("GET /v1/users/", "POST /v1/uploads", "POST /v1/drafts", "POST /v1/upload-tokens")
    ):
        allowed.add(FORBIDDEN)
    return [] if status_code in allowed else [f"{route}: {answer.status_code} {answer.text}"]


def template_routes() -> set[str]:
    return {
        route.route_key
        for function in load_template(ROOT / "template.yaml").functions
        for route in function.routes
        if route.authorizer
    }


def snapshot(target: dict[str, Any]) -> tuple[Any, ...]:
    api = target["api"]
    status = api.status(target["upload"])
    data = requests.get(api.download(target["file"]).headers["Location"], timeout=30).content
    backup = requests.get(api.download(target["backup"]).headers["Location"], timeout=30).content
    draft = api.call("GET", f"/v1/drafts/{target['draft']}").json()
    preview = api.call("GET", f"/v1/drafts/{target['draft']}/content").headers["Location"]
    tus = api.http.head(target["tus"], headers=api.headers() | TUS).headers["Upload-Offset"]
    return status, data, backup, draft, requests.get(preview, timeout=30).content, tus


PAIRS = [("a", "b"), ("b", "a"), ("a", "u1"), ("u1", "a"), ("u2", "b"), ("b", "u2")]


def test_the_matrix_knows_every_route_of_the_template(tenants):
    # A route added to template.yaml (upload tokens, companion, tus…) fails here until
    # as_other says how another tenant would try it
    known = set(as_other(tenants["b"]["api"], tenants["a"]))
    assert template_routes() == known, (
        f"routes without a tenancy check: {sorted(template_routes() - known)};"
        f" checks of routes the template lacks: {sorted(known - template_routes())}"
    )


@pytest.mark.parametrize(("owner", "intruder"), PAIRS)
def test_every_route_shows_and_touches_nothing_of_another_tenant(tenants, owner, intruder):
    # Given every route of template.yaml, and the owner's upload, file, backup, draft
    target, other = tenants[owner], tenants[intruder]["api"]
    calls = as_other(other, target)
    assert set(calls) == template_routes()
    before = snapshot(target)
    # When the intruder calls each of them with the owner's ids, keys, user and role
    problems = [p for route, call in calls.items() for p in tenancy_problems(route, call(), target)]
    # Then each answers as if nothing of the owner's were there, and nothing changed
    assert problems == []
    assert snapshot(target) == before


@pytest.mark.parametrize(("owner", "intruder"), [("a", "b"), ("b", "a")])
def test_a_plain_client_is_refused_naming_another_tenants_user(tenants, owner, intruder):
    target, other = tenants[owner], tenants[intruder]["api"]
    for route in ("POST /v1/uploads", "POST /v1/drafts", "GET /v1/users/{user_id}/latest"):
        answer = as_other(other, target)[route]()
        assert (answer.status_code, answer.json()["error"]["code"]) == FORBIDDEN, route


@pytest.mark.parametrize(("owner", "intruder"), PAIRS)
def test_lists_hold_the_intruders_own_and_none_of_the_owners(tenants, owner, intruder):
    # An empty list proves nothing, so each list must show the intruder's own things
    target, me = tenants[owner], tenants[intruder]
    other = me["api"]
    uploads = other.call("GET", "/v1/uploads", params={"limit": 1000}).json()["uploads"]
    assert me["upload"] in {u["upload_id"] for u in uploads}
    assert target["upload"] not in {u["upload_id"] for u in uploads}
    files = other.call("GET", "/v1/files", params={"limit": 1000}).json()["files"]
    assert {me["file"], me["backup"]} <= {f["key"] for f in files}
    assert not {target["file"], target["backup"]} & {f["key"] for f in files}
    mine = other.call("GET", f"/v1/users/{me['user']}/backups", params={"role": me["role"]}).json()[
        "backups"
    ]
    assert [b["key"] for b in mine] == [me["backup"]]


ROLE_ROUTES: dict[str, Callable[[Api, str], requests.Response]] = {
    "POST /v1/uploads": lambda api, role: api.init(size=1, user_id="u9", role=role),
    "POST /v1/drafts": lambda api, role: api.create_draft(size=1, user_id="u9", role=role),
    "GET /v1/users/{user_id}/latest": lambda api, role: api.call(
        "GET", "/v1/users/u9/latest", params={"role": role}
    ),
    "GET /v1/users/{user_id}/backups": lambda api, role: api.call(
        "GET", "/v1/users/u9/backups", params={"role": role}
    ),
    "GET /v1/users/{user_id}/backups/latest": lambda api, role: api.call(
        "GET", "/v1/users/u9/backups/latest", params={"role": role}
    ),
    "POST /v1/upload-tokens": lambda api, role: api.call(
        "POST", "/v1/upload-tokens", json={"user_id": "u9", "role": role}
    ),
}


def routes_taking_a_role() -> set[str]:
    """The operations of docs/openapi.json with a `role` query parameter or body field."""
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    schemas = document.get("components", {}).get("schemas", {})

    def has_role(schema: dict[str, Any]) -> bool:
        if "$ref" in schema:
            return has_role(schemas[schema["$ref"].rsplit("/", 1)[-1]])
        nested = schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", [])
        return "role" in schema.get("properties", {}) or any(has_role(s) for s in nested)

    found = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {})
            schema = body.get("application/json", {}).get("schema", {})
            if any(p.get("name") == "role" for p in operation.get("parameters", [])) or (
                schema and has_role(schema)
            ):
                found.add(f"{method.upper()} {path}")
    return found


def test_a_backend_limited_to_one_role_cannot_name_another_on_any_route(stack_api: Api):
    # Given a backend that may act only as `viewer`, and the routes that take a role
    assert set(ROLE_ROUTES) == routes_taking_a_role(), "a route taking a role lacks a check"
    limited = new_client(stack_api, act_as=True, act_as_roles=["viewer"])
    for route, call in ROLE_ROUTES.items():
        # When it names another role, Then it is refused; naming its own is not
        refused, allowed = call(limited, "admin"), call(limited, "viewer")
        code = refused.json().get("error", {}).get("code")
        assert (refused.status_code, code) == FORBIDDEN, (route, refused.text)
        assert allowed.status_code != 403, (route, allowed.text)
        assert allowed.status_code in (200, 201, 404), (route, allowed.text)


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
