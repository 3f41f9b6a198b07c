"""Archives over HTTP: many files as one zip, built by the asynchronous builder (locally
devstack/invoke.py runs it in the background), fetched through a presigned link."""

from __future__ import annotations

import io
import os
import time
import zipfile
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
    assert status["files"] == 4 and status["bytes_done"] == sum(map(len, files.values()))
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
    big_member = next(n for n in members if n.endswith("-big.bin"))
    assert info[big_member].compress_type == zipfile.ZIP_DEFLATED  # octet-stream: deflated
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
