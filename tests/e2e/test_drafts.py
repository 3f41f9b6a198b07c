"""Drafts over HTTP: a real multipart/form-data POST to the presigned URL, preview,
confirm, and the file under its final key. The local S3 enforces the POST policy as
S3 does (docs/local-s3.md), so a form outside it is refused here as on AWS."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import requests

from tests.support.http import Api, post_form, unique_name


def test_the_whole_draft_flow(api: Api):
    # Given: a draft, its bytes POSTed as a browser form would
    name = unique_name(".txt")
    data = b"hello, draft\n" * 100
    created = api.create_draft(file_name=name, size=len(data), content_type="text/plain")
    assert created.status_code == 201, created.text
    draft = created.json()
    assert draft["draft_id"].startswith("dr_") and draft["upload"]["url"].startswith("http")
    posted = post_form(draft["upload"], data, name)
    assert posted.status_code in (200, 201, 204), posted.text
    path = f"/v1/drafts/{draft['draft_id']}"
    # When: previewed, then confirmed
    status = api.call("GET", path).json()
    preview = api.call("GET", f"{path}/content")
    previewed = requests.get(preview.headers["Location"], timeout=30).content
    confirmed = api.call("POST", f"{path}/confirm")
    # Then: the preview served the draft's bytes, and the file sits under its final key
    assert status["status"] == "uploaded" and status["size"] == len(data)
    assert preview.status_code == 302 and previewed == data
    assert confirmed.status_code == 200, confirmed.text
    key = confirmed.json()["key"]
    day = datetime.now(UTC).strftime("%Y%m%d")
    assert key.endswith(f"/{day}/document/{name}")
    download = api.download(key)
    assert download.status_code == 302
    assert requests.get(download.headers["Location"], timeout=30).content == data
    # And the draft is confirmed; its preview now shows the stored file
    assert api.call("GET", path).json()["status"] == "confirmed"
    after = api.call("GET", f"{path}/content").headers["Location"]
    assert requests.get(after, timeout=30).content == data
    assert api.call("POST", f"{path}/confirm").json() == confirmed.json()


def test_a_name_with_unsafe_characters_survives_the_round_trip(api: Api):
    # Given: a name with characters the key replaces by "_"
    stem = unique_name("")
    name = f"q?#%[{stem}] ü.txt"
    draft = api.draft(b"x", file_name=name)
    # When
    key = api.call("POST", f"/v1/drafts/{draft['draft_id']}/confirm").json()["key"]
    answer = api.call("GET", "/v1/files/" + quote(key))
    # Then: the key is safe, and the download still saves under the original name
    assert key.endswith(f"/q____{stem}_ ü.txt")
    assert answer.status_code == 302
    assert quote(f"filename*=UTF-8''{quote(name, safe='')}", safe="") in answer.headers["Location"]


def test_discard_then_confirm_is_410(api: Api):
    draft = api.draft(b"bye")
    path = f"/v1/drafts/{draft['draft_id']}"
    assert api.call("DELETE", path).json() == {"draft_id": draft["draft_id"], "status": "discarded"}
    answer = api.call("POST", f"{path}/confirm")
    assert (answer.status_code, answer.json()["error"]["code"]) == (410, "DRAFT_EXPIRED")


def test_confirm_before_the_post_is_409(api: Api):
    draft = api.create_draft(size=3).json()
    answer = api.call("POST", f"/v1/drafts/{draft['draft_id']}/confirm")
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "DRAFT_NOT_UPLOADED")


def test_bad_draft_requests_are_400(api: Api):
    cases = [
        ({"size": 1}, "MISSING_FIELD"),
        ({"file_name": "../x", "size": 1}, "INVALID_FIELD"),
        ({"file_name": "a", "size": -1}, "INVALID_FIELD"),
        ({"file_name": "a", "size": 1, "content_type": "text/plain\r\nX: y"}, "INVALID_FIELD"),
    ]
    for body, code in cases:
        answer = api.call("POST", "/v1/drafts", json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, code), body


def test_a_confirmed_draft_keeps_the_sha256_the_client_sent(api: Api):
    import hashlib

    data = b"checked draft"
    digest = hashlib.sha256(data).hexdigest()
    draft = api.draft(data, sha256=digest)
    key = api.call("POST", f"/v1/drafts/{draft['draft_id']}/confirm").json()["key"]
    info = api.call("GET", "/v1/files/" + quote(key), params={"info": "true"}).json()
    assert info["sha256"] == digest


def test_a_post_outside_the_drafts_policy_is_refused_by_s3_and_stores_nothing(api: Api):
    # Given a draft of 13 bytes of text/plain
    data = b"thirteen byte"
    created = api.create_draft(size=len(data), content_type="text/plain")
    assert created.status_code == 201, created.text
    draft = created.json()
    upload = draft["upload"]
    other_type = {**upload, "fields": {**upload["fields"], "Content-Type": "text/html"}}
    # When the form carries one byte more, one less, or another content type
    larger, smaller = post_form(upload, data + b"!"), post_form(upload, data[:-1])
    retyped = post_form(other_type, data)
    # Then S3 refuses each one, and the draft has nothing to confirm
    assert (larger.status_code, "<Code>EntityTooLarge</Code>" in larger.text) == (400, True)
    assert (smaller.status_code, "<Code>EntityTooSmall</Code>" in smaller.text) == (400, True)
    assert (retyped.status_code, "<Code>AccessDenied</Code>" in retyped.text) == (403, True)
    assert api.call("POST", f"/v1/drafts/{draft['draft_id']}/confirm").status_code == 409
