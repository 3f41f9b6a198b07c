"""Uploads by path over HTTP: the tree is kept under `tree/`, bad paths are 400s, the
overwrite rules are those of names, and a re-run with `sha256` stores nothing twice."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.support.http import Api, post_form


def init_path(api: Api, data: bytes, path: str, **extra: Any) -> requests.Response:
    body = {"path": path, "size": len(data)} | extra
    return api.call("POST", "/v1/uploads", json=body)


def upload_path(api: Api, data: bytes, path: str, **extra: Any) -> dict[str, Any]:
    init = init_path(api, data, path, **extra)
    assert init.status_code == 201, init.text
    plan = init.json()
    for part in api.sign(plan["upload_id"], list(range(1, plan["part_count"] + 1))):
        api.put_part(part, data)
    done = api.complete(plan["upload_id"])
    assert done.status_code == 200, done.text
    result: dict[str, Any] = done.json()
    return result


def content(api: Api, key: str) -> bytes:
    answer = api.download(key)
    assert answer.status_code == 302, answer.text
    return requests.get(answer.headers["Location"], timeout=30).content


def root() -> str:
    return f"site-{uuid.uuid4().hex[:8]}"


BAD = [
    ("traversal", "../../etc/passwd"),
    ("inner traversal", "a/../../b.txt"),
    ("empty segment", "a//b.txt"),
    ("dot segment", "./b.txt"),
    ("absolute", "/etc/passwd"),
    ("control character", "a/b\u0007.txt"),
    ("newline", "a/b\n.txt"),
    ("backslash", "a\\b.txt"),
    ("too long", "x/" * 600),
]


@pytest.mark.parametrize("path", [p for _, p in BAD], ids=[c for c, _ in BAD])
@pytest.mark.parametrize("route", ["/v1/uploads", "/v1/drafts"])
def test_a_bad_path_is_400_on_path(api: Api, route: str, path: str):
    answer = api.call("POST", route, json={"path": path, "size": 1})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "INVALID_FIELD" and error["field"] == "path"
    assert "Traceback" not in answer.text


def test_path_and_file_name_together_is_400(api: Api):
    answer = api.call("POST", "/v1/uploads", json={"path": "a/b", "file_name": "b", "size": 1})
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "path"


def test_a_tree_keeps_its_folders_and_lists_by_prefix(api: Api):
    # Given: names that flattening into one name made collide
    top = root()
    first = upload_path(api, b"one", f"{top}/a_b/c")
    second = upload_path(api, b"two", f"{top}/a/b_c")
    image = upload_path(api, b"\x89PNG", f"{top}/uploads/users/123/avatar.png")
    # Then each has its own key under tree/, and its own bytes
    assert first["key"] == f"user/dev/tree/{top}/a_b/c"
    assert second["key"] == f"user/dev/tree/{top}/a/b_c"
    assert content(api, first["key"]) == b"one" and content(api, second["key"]) == b"two"
    # listing by prefix and HEAD work as on any key
    listed = api.call("GET", "/v1/files", params={"prefix": f"user/dev/tree/{top}/uploads/"})
    assert [f["key"] for f in listed.json()["files"]] == [image["key"]]
    head = api.call("HEAD", "/v1/files/" + quote(image["key"]))
    assert head.status_code == 200 and head.headers["X-Stowage-Size"] == "4"
    # the type (and so the category) comes from the last segment
    info = api.call("GET", "/v1/files/" + quote(image["key"]), params={"info": "true"}).json()
    assert info["content_type"] == "image/png" and info["original_name"] == "avatar.png"


def test_a_taken_path_gets_a_variant_unless_overwrite(api: Api):
    top = root()
    old = upload_path(api, b"old", f"{top}/doc.txt")
    beside = upload_path(api, b"new", f"{top}/doc.txt")
    assert beside["key"] == f"user/dev/tree/{top}/doc (1).txt"
    replaced = upload_path(api, b"newer", f"{top}/doc.txt", overwrite=True)
    assert replaced["key"] == old["key"] and content(api, old["key"]) == b"newer"


def test_a_draft_by_path_confirms_to_its_tree_key(api: Api):
    top = root()
    created = api.call(
        "POST",
        "/v1/drafts",
        json={"path": f"{top}/notes/n.txt", "size": 5, "content_type": "text/plain"},
    )
    assert created.status_code == 201, created.text
    draft = created.json()
    assert post_form(draft["upload"], b"hello").status_code in (200, 201, 204)
    status = api.call("GET", f"/v1/drafts/{draft['draft_id']}").json()
    assert status["path"] == f"{top}/notes/n.txt" and status["file_name"] == "n.txt"
    done = api.call("POST", f"/v1/drafts/{draft['draft_id']}/confirm")
    assert done.json()["key"] == f"user/dev/tree/{top}/notes/n.txt"


@pytest.mark.parametrize("route", ["/v1/uploads", "/v1/drafts"])
@pytest.mark.parametrize("by", ["path", "file_name"])
def test_a_rerun_with_sha256_stores_nothing_twice(api: Api, route: str, by: str):
    # Given: a file stored with its SHA-256
    data = uuid.uuid4().bytes
    digest = hashlib.sha256(data).hexdigest()
    where = f"{root()}/f.bin" if by == "path" else f"f-{uuid.uuid4().hex[:8]}.bin"
    stored = api.upload(data, **{"file_name": None, by: where, "sha256": digest})
    # When: the same upload runs again, as init or as a draft
    again = api.call("POST", route, json={by: where, "size": len(data), "sha256": digest})
    # Then: nothing to upload, the same key
    assert again.status_code == 200, again.text
    assert again.json() == {
        "key": stored["key"],
        "size": len(data),
        "sha256": digest,
        "status": "deduplicated",
    }
    # other bytes under the same name are a new upload (a variant), not a dedupe
    other = hashlib.sha256(b"other" + data).hexdigest()
    fresh = api.call("POST", route, json={by: where, "size": len(data), "sha256": other})
    assert fresh.status_code == 201, fresh.text


def test_a_rerun_does_not_dedupe_against_another_clients_file(api: Api):
    # the same path of another client is another key: nothing to dedupe against, and the
    # dedupe only ever answers keys under the caller's own corner
    data = uuid.uuid4().bytes
    digest = hashlib.sha256(data).hexdigest()
    again = init_path(api, data, f"{root()}/never-stored.bin", sha256=digest)
    assert again.status_code == 201, again.text
