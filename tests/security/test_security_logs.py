"""Nothing secret reaches the logs: not an API key or its hash, not the pepper, not a
presigned URL or its signature, whatever the request, in every flow of the API.

The local stack runs the handlers in this process, so every record the service logs is
collected as it is written, and everything printed is captured too."""

from __future__ import annotations

import inspect
import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devstack.template import load_template
from stowage.api import api_handler
from stowage.resolver import MAX_BODY_BYTES
from tests.support.events import ROOT
from tests.support.http import Api, post_form

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        bool(os.environ.get("STOWAGE_URL")), reason="reads the local stack's own logs"
    ),
]


class Collect(logging.Handler):
    """Every record, formatted by the service's own formatter when it has one."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def collected(stack_api: Api) -> Iterator[list[str]]:
    """What the service (Powertools' "stowage" logger) and any other logger write."""
    assert Api(stack_api.url, stack_api.api_key).call("GET", "/v1/uploads").status_code == 200
    service = logging.getLogger("stowage")
    formatter = service.handlers[0].formatter if service.handlers else None
    collect = Collect(formatter)
    loggers = [service, logging.getLogger()]
    for each in loggers:
        each.addHandler(collect)
    try:
        yield collect.lines
    finally:
        for each in loggers:
            each.removeHandler(collect)


def new_client() -> tuple[str, str, str]:
    """A client made as the admin command makes it: its id, its key and the hash the table
    keeps."""
    from stowage.domain.clients import NewClient
    from stowage.wiring import build_client_admin

    new = NewClient(client_id=f"logs-{uuid.uuid4().hex[:8]}", max_file_size=64 * 1024 * 1024)
    record, key = build_client_admin().create_client(new)
    return record.client_id, key, record.key_hash


class Secrets:
    """Everything a flow was handed that must never be logged."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self.url_routes: set[str] = set()

    def url(self, route: str, url: str) -> str:
        self.url_routes.add(route)
        self.values.add(url)
        query = parse_qs(urlsplit(url).query)
        self.values |= {v[0] for k, v in query.items() if k in {"X-Amz-Signature", "Signature"}}
        return url

    def form(self, route: str, upload: dict[str, Any]) -> dict[str, Any]:
        self.url_routes.add(route)
        self.values |= {upload["fields"]["policy"], upload["fields"]["x-amz-signature"]}
        return upload


def run_every_flow(api: Api, user: str, secrets: Secrets) -> None:
    """Uploads, downloads, drafts, latest and backups, good requests and bad ones."""
    data = b"log me not " * 100
    init = api.init(size=len(data), content_type="text/plain").json()
    (part,) = api.sign(init["upload_id"], [1])
    api.put_part({"url": secrets.url("POST /v1/uploads/{upload_id}/parts", part["url"])}, data)
    key = api.complete(init["upload_id"]).json()["key"]
    location = api.download(key).headers["Location"]
    secrets.url("GET /v1/files/{key+}", location)
    link = api.download(key, redirect="false").json()["url"]
    secrets.url("GET /v1/files/{key+}", link)
    api.download(key, info="true")
    api.call("HEAD", "/v1/files/" + key)
    draft = api.create_draft(size=5, content_type="text/plain").json()
    post_form(secrets.form("POST /v1/drafts", draft["upload"]), b"draft")
    preview = api.call("GET", f"/v1/drafts/{draft['draft_id']}/content").headers["Location"]
    secrets.url("GET /v1/drafts/{draft_id}/content", preview)
    api.call("POST", f"/v1/drafts/{draft['draft_id']}/confirm")
    latest = api.call("GET", f"/v1/users/{user}/latest").headers["Location"]
    secrets.url("GET /v1/users/{user_id}/latest", latest)
    backup = api.create_draft(kind="backup", app="logs", iteration=1, size=4).json()
    post_form(secrets.form("POST /v1/drafts", backup["upload"]), b"SQLi")
    api.call("POST", f"/v1/drafts/{backup['draft_id']}/confirm")
    newest = api.call("GET", f"/v1/users/{user}/backups/latest", params={"app": "logs"})
    secrets.url("GET /v1/users/{user_id}/backups/latest", newest.headers["Location"])
    # and requests that fail: a wrong key, bad JSON, a body over the limit, a 404
    api.call("GET", "/v1/uploads", api_key=(api.api_key or "")[:-1] + "A")
    api.call("POST", "/v1/uploads", data="{bad", headers={"content-type": "application/json"})
    api.call("POST", "/v1/uploads", data="{" + " " * MAX_BODY_BYTES + "}")
    api.call("GET", f"/v1/uploads/up_{uuid.uuid4().hex}")
    requests.get(link, timeout=30)


def test_no_key_pepper_or_presigned_url_is_ever_logged(stack_api: Api, collected, capfd):
    # Given a fresh client, its key, the hash the table keeps and the pepper
    from stowage.adapters.secrets import api_key_pepper

    client_id, key, key_hash = new_client()
    pepper = api_key_pepper().decode()
    secrets = Secrets()
    # When it goes through every flow (a plain client is its own user)
    run_every_flow(Api(stack_api.url, key), client_id, secrets)
    out, err = capfd.readouterr()
    logged = "\n".join(collected) + out + err
    # Then the service did log (so this looked at real output) ...
    assert "upload started" in logged and "key accepted" in logged
    assert len(secrets.values) >= 10 and len(secrets.url_routes) >= 5
    # ... and never one of those secrets
    named = {"the API key": key, "its random part": key[4:], "its hash": key_hash}
    named |= {"the pepper": pepper} | {f"signed #{n}": v for n, v in enumerate(secrets.values)}
    leaked = [name for name, secret in named.items() if secret in logged]
    assert not leaked
    # and the functions whose answers hold a URL do not put their answers in traces either:
    # they go through the one entry point, which never captures an answer
    leaky = {
        function.logical_id
        for function in load_template(ROOT / "template.yaml").functions
        for route in function.routes
        if route.route_key in secrets.url_routes
        and "lambda_handler = api_handler(app)"
        not in (ROOT / function.code_uri / "app.py").read_text()
    }
    assert not leaky
    entry = inspect.getsource(api_handler)
    assert "capture_response=False" in entry and "capture_response=True" not in entry


def test_no_function_is_configured_to_log_its_events():
    # Given every function's environment in template.yaml
    for function in load_template(ROOT / "template.yaml").functions:
        env = function.environment
        # Then none logs whole events (they hold the Authorization header) or debug output
        assert env.get("POWERTOOLS_LOGGER_LOG_EVENT", "false").lower() != "true", function
        assert env.get("POWERTOOLS_LOG_LEVEL", "INFO").upper() not in {"DEBUG"}, function
