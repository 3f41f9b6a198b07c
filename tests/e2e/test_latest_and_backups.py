"""Latest-per-user and backups over HTTP: the per-user index, retention, dedupe."""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import Any

import pytest
import requests

from tests.support.http import Api

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("STOWAGE_URL")), reason="makes clients with the local admin commands"
)


@pytest.fixture
def backend(stack_api: Api) -> Api:
    """A fresh `act_as` client, so each test has users of its own."""
    from stowage.domain.clients import NewClient
    from stowage.wiring import build_client_admin

    new = NewClient(client_id=f"be-{uuid.uuid4().hex[:8]}", max_file_size=1 << 30, act_as=True)
    return Api(stack_api.url, build_client_admin().create_client(new)[1])


def content_at(answer: requests.Response) -> bytes:
    assert answer.status_code == 302, answer.text
    return requests.get(answer.headers["Location"], timeout=30).content


def backup(api: Api, user: str, data: bytes, iteration: int, **extra: Any) -> dict[str, Any]:
    body = {"kind": "backup", "app": "notes", "iteration": iteration, "user_id": user}
    return api.upload(data, **(body | extra))


def test_latest_follows_the_newest_file_per_category_and_name(backend: Api):
    # Given: three files of one user, in two categories
    for name, data in [("a.jpg", b"A"), ("b.pdf", b"B"), ("c.png", b"C")]:
        backend.upload(data, file_name=name, user_id="u1")
    latest = "/v1/users/u1/latest"
    # When / Then
    assert content_at(backend.call("GET", latest)) == b"C"
    assert content_at(backend.call("GET", latest, params={"category": "document"})) == b"B"
    assert content_at(backend.call("GET", latest, params={"name_prefix": "a"})) == b"A"
    answer = backend.call("GET", latest, params={"category": "video"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "FILE_NOT_FOUND")


def test_latest_skips_a_deleted_file(backend: Api):
    older = backend.upload(b"old", file_name="x.txt", user_id="u2")
    newer = backend.upload(b"new", file_name="y.txt", user_id="u2")
    assert backend.call("DELETE", "/v1/files/" + newer["key"]).status_code == 200
    assert content_at(backend.call("GET", "/v1/users/u2/latest")) == b"old"
    assert older["key"] != newer["key"]


def test_a_plain_client_may_ask_only_for_itself(api: Api):
    api.upload(b"mine", file_name="mine.txt")
    assert content_at(api.call("GET", "/v1/users/dev/latest", params={"name_prefix": "mine"}))
    answer = api.call("GET", "/v1/users/somebody-else/latest")
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "FORBIDDEN")


def test_an_eleventh_backup_moves_the_oldest_to_the_backup_area(backend: Api):
    # Given: ten backups of one app
    first = backup(backend, "u3", b"db 1", 1)
    for n in range(2, 11):
        backup(backend, "u3", f"db {n}".encode(), n)
    # When: an eleventh arrives
    eleventh = backup(backend, "u3", b"db 11", 11)
    # Then: the oldest is in the backup area, ten stay in main, latest is the eleventh
    listed = backend.call("GET", "/v1/users/u3/backups").json()["backups"]
    assert [b["iteration"] for b in listed] == list(range(11, 0, -1))
    assert [b["area"] for b in listed] == ["main"] * 10 + ["backup"]
    oldest = listed[-1]
    assert "/u3/backup/notes/notes_db_u3_" in oldest["key"] and oldest["key"] != first["key"]
    assert backend.download(first["key"]).status_code == 404
    assert content_at(backend.download(oldest["key"])) == b"db 1"
    assert listed[0]["key"] == eleventh["key"]
    assert content_at(backend.call("GET", "/v1/users/u3/backups/latest")) == b"db 11"
    assert eleventh["key"].endswith("_it11.sqlite") and "notes_db_u3_" in eleventh["key"]


def test_a_repeated_backup_with_its_sha256_is_deduplicated_at_init(backend: Api):
    # Given: a stored backup, and its checksum
    data = b"same database"
    digest = hashlib.sha256(data).hexdigest()
    stored = backup(backend, "u4", data, 1, sha256=digest)
    # When: the same bytes are offered again, with the checksum
    body = {"kind": "backup", "app": "notes", "iteration": 2, "user_id": "u4"}
    again = backend.call("POST", "/v1/uploads", json=body | {"size": len(data), "sha256": digest})
    draft = backend.call("POST", "/v1/drafts", json=body | {"size": len(data), "sha256": digest})
    # Then: nothing to upload; the answer is the stored backup
    expected = {"key": stored["key"], "size": len(data), "sha256": digest, "status": "deduplicated"}
    assert (again.status_code, again.json()) == (200, expected)
    assert (draft.status_code, draft.json()) == (200, expected)


def test_a_repeated_backup_without_sha256_is_found_at_complete(backend: Api):
    # Given: a stored backup, sent without a checksum
    data = b"another database"
    stored = backup(backend, "u5", data, 1)
    # When: the same bytes again, still without a checksum
    again = backup(backend, "u5", data, 2)
    # Then: complete points at the stored one, and only one object is kept
    assert again["deduplicated"] is True and again["key"] == stored["key"]
    prefix = stored["key"].split("/u5/")[0] + "/u5/"
    files = backend.call("GET", "/v1/files", params={"prefix": prefix}).json()["files"]
    assert [f["key"] for f in files] == [stored["key"]]
    listed = backend.call("GET", "/v1/users/u5/backups").json()["backups"]
    assert len(listed) == 1 and listed[0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_backup_confirmed_from_a_draft_counts_too(backend: Api):
    body = {"kind": "backup", "app": "notes", "iteration": 1, "user_id": "u6"}
    draft = backend.draft(b"drafted db", **body)
    confirmed = backend.call("POST", f"/v1/drafts/{draft['draft_id']}/confirm").json()
    assert confirmed["key"].endswith("_it1.sqlite")
    assert content_at(backend.call("GET", "/v1/users/u6/backups/latest")) == b"drafted db"


@pytest.mark.parametrize(
    ("extra", "code", "field"),
    [
        ({"kind": "backup", "iteration": 1}, "MISSING_FIELD", "app"),
        ({"kind": "backup", "app": "notes"}, "MISSING_FIELD", "iteration"),
        ({"kind": "backup", "app": "Notes!", "iteration": 1}, "INVALID_FIELD", "app"),
        ({"kind": "backup", "app": "notes", "iteration": -1}, "INVALID_FIELD", "iteration"),
        ({"kind": "backup", "app": "notes", "iteration": "3"}, "INVALID_FIELD", "iteration"),
        ({"kind": "backup", "app": "x" * 65, "iteration": 1}, "INVALID_FIELD", "app"),
        ({"app": "notes"}, "INVALID_FIELD", "app"),
        ({"kind": "snapshot"}, "INVALID_FIELD", "kind"),
    ],
)
def test_bad_backup_requests_are_400(api: Api, extra, code, field):
    for route in ("/v1/uploads", "/v1/drafts"):
        answer = api.call("POST", route, json={"file_name": "db.sqlite", "size": 1} | extra)
        assert answer.status_code == 400, (route, answer.text)
        assert answer.json()["error"]["code"] == code and answer.json()["error"]["field"] == field


@pytest.mark.parametrize("params", [{"app": "Bad App"}, {"role": "../x"}])
def test_bad_backup_queries_are_400(api: Api, params):
    answer = api.call("GET", "/v1/users/dev/backups", params=params)
    assert answer.status_code == 400, answer.text
