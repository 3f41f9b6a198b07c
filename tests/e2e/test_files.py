"""The file routes over HTTP: describe, exists, delete and list, own files only."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
import requests

from tests.support.http import Api, unique_name


def path(key: str) -> str:
    return "/v1/files/" + quote(key)


def test_info_describes_an_own_file(api: Api):
    # Given
    name = f"ä report {uuid.uuid4().hex[:6]}?.pdf"
    done = api.upload(b"%PDF-1.4 tiny", file_name=name)
    # When
    info = api.call("GET", path(done["key"]), params={"info": "true"})
    # Then
    assert info.status_code == 200, info.text
    body = info.json()
    assert body["key"] == done["key"] and body["size"] == 13
    assert body["content_type"] == "application/pdf" and body["original_name"] == name
    assert body["etag"] == done["etag"] and body["last_modified"].endswith("Z")
    assert body["owner"] == {"client_id": "dev", "role": "user", "user_id": "dev"}
    assert body["sha256"] is None


def test_info_reports_the_sha256_the_client_sent(api: Api):
    data = b"checked"
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    done = api.upload(data, sha256=digest)
    info = api.call("GET", path(done["key"]), params={"info": "true"}).json()
    assert info["sha256"] == digest


def test_head_says_whether_a_file_exists(api: Api):
    done = api.upload(b"here")
    found = api.call("HEAD", path(done["key"]))
    missing = api.call("HEAD", path(done["key"] + ".nope"))
    assert found.status_code == 200 and found.headers["X-Stowage-Size"] == "4"
    assert found.headers["ETag"] == done["etag"]
    assert missing.status_code == 404 and missing.content == b""


def test_delete_removes_the_file_once(api: Api):
    # Given
    done = api.upload(b"bye")
    # When
    first = api.call("DELETE", path(done["key"]))
    again = api.call("DELETE", path(done["key"]))
    # Then
    assert (first.status_code, first.json()) == (200, {"key": done["key"], "status": "deleted"})
    assert (again.status_code, again.json()["error"]["code"]) == (404, "FILE_NOT_FOUND")
    assert api.download(done["key"]).status_code == 404


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "user/dev/../other/x", "nothing-here", "user/dev/2026/\x00"]
)
def test_strange_keys_are_404_never_500(api: Api, key: str):
    for method in ("GET", "HEAD", "DELETE"):
        answer = api.call(method, path(key))
        assert answer.status_code in (400, 404), (method, key, answer.text)


def test_list_pages_through_own_files_in_key_order(api: Api):
    # Given: five files in a folder of their own (one day, one category)
    marker = unique_name("")
    keys = [api.upload(b"x", file_name=f"{marker}-{n}.bin")["key"] for n in range(5)]
    prefix = keys[0].rsplit("/", 1)[0] + f"/{marker}"
    # When
    seen, cursor, pages = [], None, 0
    while True:
        params = {"prefix": prefix, "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.call("GET", "/v1/files", params=params).json()
        seen += [f["key"] for f in page["files"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    # Then
    assert seen == sorted(keys) and pages == 3


def test_list_outside_ones_corner_is_empty(api: Api):
    answer = api.call("GET", "/v1/files", params={"prefix": "someone-else/"})
    assert answer.status_code == 200 and answer.json() == {"files": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-base64!"}, "cursor"),
        ({"cursor": "eyJhZnRlciI6ICJvdGhlci8ifQ"}, "cursor"),  # {"after": "other/"}
    ],
)
def test_bad_list_parameters_are_400(api: Api, params, field):
    answer = api.call("GET", "/v1/files", params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field


def test_downloaded_bytes_match_after_listing(api: Api):
    done = api.upload(b"round trip")
    listed = api.call("GET", "/v1/files", params={"prefix": done["key"]}).json()["files"]
    assert [f["key"] for f in listed] == [done["key"]]
    url = api.download(done["key"]).headers["Location"]
    assert requests.get(url, timeout=30).content == b"round trip"


@pytest.mark.skipif(
    bool(__import__("os").environ.get("STOWAGE_URL")), reason="writes to the local stack's S3"
)
def test_list_pages_through_2500_files_without_gaps_or_repeats(stack_api: Api):
    # Given: a fresh client with 2,500 files, written straight into the local bucket
    from concurrent.futures import ThreadPoolExecutor

    from stowage.adapters.aws import s3_client
    from stowage.config import upload_settings
    from stowage.domain.clients import NewClient
    from stowage.wiring import build_client_admin

    record, key = build_client_admin().create_client(
        NewClient(client_id=f"lst-{uuid.uuid4().hex[:8]}", max_file_size=1024)
    )
    api = Api(stack_api.url, key)
    root = f"{record.key_prefix}/{record.role}/{record.client_id}/20260112/other/"
    keys = [f"{root}f{n:05d} ü.bin" for n in range(2500)]
    s3, bucket = s3_client(), upload_settings().files_bucket
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b"."), keys))
    # When: paged through, 1,000 at a time
    seen, cursor, calls = [], None, 0
    while True:
        params = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
        page = api.call("GET", "/v1/files", params=params)
        assert page.status_code == 200, page.text
        seen += [f["key"] for f in page.json()["files"]]
        calls, cursor = calls + 1, page.json()["next_cursor"]
        if not cursor:
            break
    # Then: every key once, in key order, in three pages
    assert seen == sorted(keys) and len(set(seen)) == 2500 and calls == 3
