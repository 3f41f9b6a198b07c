"""Archives over HTTP: many files as one zip, built by the asynchronous builder (locally
devstack/invoke.py runs it in the background), fetched through a presigned link."""

from __future__ import annotations

import io
import os
import time
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.support.http import Api, unique_name

MIB = 1024 * 1024
local_only = pytest.mark.skipif(
    bool(os.environ.get("STOWAGE_URL")), reason="changes the local stack's clock or S3"
)


def wait_for(api: Api, archive_id: str, *states: str, seconds: float = 120) -> dict[str, Any]:
    """Poll the archive's status until it is one of `states` (or the deadline passes)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = api.call("GET", f"/v1/archives/{archive_id}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["status"] in states or time.monotonic() > deadline:
            return body
        time.sleep(0.1)  # polling interval, not synchronisation: the loop checks the state


def fetch_zip(api: Api, archive_id: str) -> tuple[zipfile.ZipFile, int]:
    link = api.call("GET", f"/v1/archives/{archive_id}/content")
    assert link.status_code == 302, link.text
    data = requests.get(link.headers["Location"], timeout=60)
    assert data.status_code == 200
    return zipfile.ZipFile(io.BytesIO(data.content)), len(data.content)


def stored(api: Api, data: bytes, **body: Any) -> str:
    key: str = api.upload(data, **body)["key"]
    return key


def test_an_archive_holds_each_file_byte_for_byte(api: Api):
    # Given: a unicode name, an empty file, a multi-MiB binary and a text file
    big = os.urandom(6 * MIB + 123)
    files = {
        unique_name(" ünï côdé ☃.txt"): "héllo wörld\n".encode() * 1000,
        unique_name("-empty.bin"): b"",
        unique_name("-big.bin"): big,
        unique_name(".json"): b'{"a": 1}',
        unique_name(".png"): b"\x89PNG\r\n\x1a\n" + os.urandom(3000),
    }
    keys = {stored(api, data, file_name=name): name for name, data in files.items()}
    # members sit in the folders below the keys' common one: their categories
    members = {f"{key.split('/')[-2]}/{keys[key]}": files[keys[key]] for key in keys}
    # When: they are archived
    created = api.call("POST", "/v1/archives", json={"keys": list(keys), "name": "mine"})
    assert created.status_code == 202, created.text
    body = created.json()
    assert body["status"] == "pending" and set(body) == {"archive_id", "status", "expires_at"}
    status = wait_for(api, body["archive_id"], "ready", "failed")
    # Then: ready, every byte counted, and each member is its file under its original name
    assert status["status"] == "ready", status.get("reason")
    assert status["files"] == len(files) and status["bytes_done"] == sum(map(len, files.values()))
    archive, size = fetch_zip(api, body["archive_id"])
    assert status["size"] == size
    assert archive.testzip() is None  # every member's CRC-32 checks out
    assert sorted(archive.namelist()) == sorted(members)
    for name, data in members.items():
        assert archive.read(name) == data
    info = {i.filename: i for i in archive.infolist()}
    text = next(n for n in members if n.endswith(".txt"))
    assert info[text].compress_type == zipfile.ZIP_DEFLATED
    assert info[text].compress_size < len(members[text])
    image = next(n for n in members if n.endswith(".png"))
    assert info[image].compress_type == zipfile.ZIP_STORED  # compressed already: stored
    link = api.call("GET", f"/v1/archives/{body['archive_id']}/content?redirect=false")
    assert link.status_code == 200 and "mine.zip" in requests.utils.unquote(link.json()["url"])


def test_a_key_the_caller_does_not_own_is_404_and_nothing_is_built(api: Api):
    # Given: an own file and a key of someone else's corner
    own = stored(api, b"mine")
    foreign = "user/someone-else/20260101/other/theirs.bin"
    # When
    answer = api.call("POST", "/v1/archives", json={"keys": [own, foreign]})
    # Then: 404 naming the foreign key
    assert answer.status_code == 404, answer.text
    error = answer.json()["error"]
    assert error["code"] == "FILE_NOT_FOUND" and foreign in error["message"]


def test_a_prefix_archives_the_callers_files_under_it(api: Api):
    # Given: three files whose names share a prefix, and one that does not
    stem = unique_name("")
    inside = {f"{stem}-{n}.bin": os.urandom(100 + n) for n in range(3)}
    keys = [stored(api, data, file_name=name) for name, data in inside.items()]
    stored(api, b"elsewhere", file_name=unique_name(".bin"))
    prefix = keys[0].rsplit("/", 1)[0] + f"/{stem}-"
    # When: the prefix is archived
    created = api.call("POST", "/v1/archives", json={"prefix": prefix})
    assert created.status_code == 202, created.text
    status = wait_for(api, created.json()["archive_id"], "ready", "failed")
    # Then: exactly the three, named by their file names
    assert status["status"] == "ready", status.get("reason")
    archive, _ = fetch_zip(api, created.json()["archive_id"])
    assert {name: archive.read(name) for name in archive.namelist()} == inside


def test_same_names_are_made_unique_and_a_second_delivery_builds_nothing(api: Api):
    # Given: two files stored under the same original name (the second a variant key)
    name = unique_name(".txt")
    first, second = b"first\n", b"second\n"
    keys = [stored(api, first, file_name=name), stored(api, second, file_name=name)]
    created = api.call("POST", "/v1/archives", json={"keys": keys}).json()
    assert wait_for(api, created["archive_id"], "ready", "failed")["status"] == "ready"
    archive, size = fetch_zip(api, created["archive_id"])
    stem = name[: -len(".txt")]
    assert {n: archive.read(n) for n in archive.namelist()} == {
        name: first,
        f"{stem} (1).txt": second,
    }
    # When: Lambda delivers the same asynchronous event again
    again = local_stack().invoke("ArchiveBuilder", {"archive_id": created["archive_id"]})
    # Then: nothing is rebuilt, the archive is as it was
    assert again["outcome"] == "skipped"
    assert fetch_zip(api, created["archive_id"])[1] == size


def test_bad_archive_requests(api: Api):
    key = stored(api, b"x")
    cases = [
        ({}, 400, "MISSING_FIELD"),
        ({"keys": [key], "prefix": "user/"}, 400, "MISSING_FIELD"),
        ({"keys": []}, 400, "INVALID_FIELD"),
        ({"keys": [key] * 10_001}, 400, "INVALID_FIELD"),
        ({"keys": [key], "name": "a/b"}, 400, "INVALID_FIELD"),
        ({"keys": ["../etc/passwd"]}, 400, "INVALID_FIELD"),
        ({"prefix": f"user/{unique_name('')}"}, 404, "FILE_NOT_FOUND"),
    ]
    for body, status, code in cases:
        answer = api.call("POST", "/v1/archives", json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), body
    for path in ("/v1/archives/nope", "/v1/archives/nope/content"):
        answer = api.call("GET", path)
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "ARCHIVE_NOT_FOUND")


def local_stack() -> Any:
    from devstack.stack import LocalStack

    stack = LocalStack.current()
    assert stack is not None
    return stack


def archive_objects(stack: Any, archive_id: str) -> list[str]:
    listed = stack.s3().list_objects_v2(
        Bucket=stack.bucket_name("DraftsBucket"), Prefix=f"archives/{archive_id}/"
    )
    return [o["Key"] for o in listed.get("Contents", [])]


@local_only
def test_a_failure_mid_build_leaves_no_half_archive(api: Api):
    # Given: an archive of a 20 MiB file (more than one 16 MiB part) and a small one,
    # whose build is held in Lambda's queue while the small file is deleted
    stack = local_stack()
    big, small = stored(api, os.urandom(20 * MIB)), stored(api, b"soon gone")
    with stack.invoker.held():
        created = api.call("POST", "/v1/archives", json={"keys": [big, small]})
        assert created.status_code == 202, created.text
        assert api.call("DELETE", "/v1/files/" + small).status_code == 200
    archive_id = created.json()["archive_id"]
    # When the build runs
    status = wait_for(api, archive_id, "ready", "failed")
    # Then: failed, naming the file, with no zip and no multipart upload left behind
    assert status["status"] == "failed"
    assert small in status["reason"]
    content = api.call("GET", f"/v1/archives/{archive_id}/content")
    assert (content.status_code, content.json()["error"]["code"]) == (409, "ARCHIVE_NOT_READY")
    uploads = stack.s3().list_multipart_uploads(
        Bucket=stack.bucket_name("DraftsBucket"), Prefix=f"archives/{archive_id}/"
    )
    assert uploads.get("Uploads", []) == []
    assert archive_objects(stack, archive_id) == [f"archives/{archive_id}/manifest.jsonl"]


@local_only
def test_an_expired_archive_is_gone_and_the_cleanup_deletes_it(api: Api):
    # Given: a ready archive
    stack = local_stack()
    created = api.call("POST", "/v1/archives", json={"keys": [stored(api, b"keep me")]}).json()
    archive_id = created["archive_id"]
    assert wait_for(api, archive_id, "ready", "failed")["status"] == "ready"
    assert len(archive_objects(stack, archive_id)) == 2  # the zip and its manifest
    table = stack.table_name("UploadsTable")
    # When: its lifetime has passed (the record says so), then the cleanup runs
    past = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    stack.dynamodb().update_item(
        TableName=table,
        Key={"pk": {"S": archive_id}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"S": past}},
    )
    before_cleanup = api.call("GET", f"/v1/archives/{archive_id}")
    report = stack.invoke("Cleanup")
    # Then: expired at once for the API, and the cleanup deleted the zip and the record
    assert (before_cleanup.status_code, before_cleanup.json()["error"]["code"]) == (
        404,
        "ARCHIVE_NOT_FOUND",
    )
    assert report["archives_deleted"] >= 1 and report["archives_failed"] == 0
    assert archive_objects(stack, archive_id) == []
    assert "Item" not in stack.dynamodb().get_item(TableName=table, Key={"pk": {"S": archive_id}})
