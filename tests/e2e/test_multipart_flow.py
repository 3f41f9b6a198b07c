"""A multipart upload over real HTTP: presigned PUTs, a crash and resume, a download."""

from __future__ import annotations

import os
import threading
from urllib.parse import parse_qs, urlparse

import requests

from tests.support.http import Api, unique_name

MIB = 1024 * 1024


def test_upload_resume_complete_and_download_byte_identical(api: Api):
    # Given a 12 MiB file cut into three 5 MiB parts
    data = os.urandom(12 * MIB)
    init = api.init(file_name=unique_name(".bin"), size=len(data), part_size=5 * MIB)
    assert init.status_code == 201, init.text
    plan = init.json()
    assert (plan["part_count"], plan["status"]) == (3, "initiated")
    # When the client PUTs parts 1 and 2, then "crashes" and forgets everything
    for part in api.sign(plan["upload_id"], [1, 2]):
        start = (part["part_number"] - 1) * plan["part_size"]
        api.put_part(part, data[start : start + part["size"]])
    # Then the status route tells it what S3 holds, and it resumes from there
    status = api.status(plan["upload_id"])
    assert status["status"] == "in_progress"
    assert [p["part_number"] for p in status["parts"]] == [1, 2]
    assert status["bytes_uploaded"] == 10 * MIB
    held = {p["part_number"] for p in status["parts"]}
    missing = [n for n in range(1, plan["part_count"] + 1) if n not in held]
    assert missing == [3]
    (last,) = api.sign(plan["upload_id"], missing)
    assert last["size"] == 2 * MIB
    api.put_part(last, data[10 * MIB :])
    done = api.complete(plan["upload_id"])
    assert done.status_code == 200, done.text
    assert done.json()["size"] == len(data)
    # And the download route redirects to the same bytes
    redirect = api.download(done.json()["key"])
    assert redirect.status_code == 302
    fetched = requests.get(redirect.headers["Location"], timeout=60)
    assert fetched.status_code == 200 and fetched.content == data


def test_names_with_spaces_unicode_and_unsafe_characters_round_trip(api: Api):
    # Given a name that API Gateway's path decoding would corrupt if it reached a key as is
    name = f"Bericht {unique_name('')} ü?#%.txt"
    data = b"hello, stowage\n"
    # When
    done = api.upload(data, file_name=name, content_type="text/plain")
    # Then the key is safe, the original name is kept for the download, and both
    # a literal-slash and a %2F-encoded key reach the file
    key = done["key"]
    assert "/document/" in key and key.endswith(" ü___.txt")
    link = api.download(key, redirect="false")
    assert link.status_code == 200, link.text
    url = link.json()["url"]
    disposition = parse_qs(urlparse(url).query)["response-content-disposition"][0]
    assert "filename*=UTF-8''Bericht" in disposition and "%C3%BC%3F%23%25.txt" in disposition
    assert requests.get(url, timeout=30).content == data
    encoded = api.call("GET", "/v1/files/" + requests.utils.quote(key, safe=""))
    assert encoded.status_code == 302


def test_an_empty_file_is_one_empty_part(api: Api):
    init = api.init(size=0)
    assert init.status_code == 201, init.text
    assert (init.json()["part_count"], init.json()["part_size"]) == (1, 8 * MIB)
    (part,) = api.sign(init.json()["upload_id"], [1])
    assert part["size"] == 0
    api.put_part(part, b"")
    done = api.complete(init.json()["upload_id"])
    assert done.status_code == 200 and done.json()["size"] == 0


def test_concurrent_completes_all_get_the_same_answer(api: Api):
    # Given an upload with every part in S3
    data = os.urandom(6 * MIB)
    plan = api.init(size=len(data)).json()
    for part in api.sign(plan["upload_id"], [1]):
        api.put_part(part, data)
    answers: list[requests.Response] = []
    # When eight clients complete it at once
    threads = [
        threading.Thread(target=lambda: answers.append(api.complete(plan["upload_id"])))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then every answer is the same 200
    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.text for a in answers}) == 1
    assert requests.get(api.download(plan["key"]).headers["Location"], timeout=30).content == data


def test_a_taken_name_gets_a_variant_and_overwrite_reuses_it(api: Api):
    name = unique_name(".txt")
    first = api.upload(b"one", file_name=name)
    second = api.upload(b"two", file_name=name)
    forced = api.upload(b"three", file_name=name, overwrite=True)
    assert second["key"] == first["key"].replace(".txt", " (1).txt")
    assert forced["key"] == first["key"]
    fetched = requests.get(api.download(first["key"]).headers["Location"], timeout=30)
    assert fetched.content == b"three"


def test_cancel_then_every_step_is_409(api: Api):
    plan = api.init(size=1).json()
    upload_id = plan["upload_id"]
    cancelled = api.call("DELETE", f"/v1/uploads/{upload_id}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    parts = api.call("POST", f"/v1/uploads/{upload_id}/parts", json={"part_numbers": [1]})
    assert (parts.status_code, parts.json()["error"]["code"]) == (409, "UPLOAD_CANCELLED")
    done = api.complete(upload_id)
    assert (done.status_code, done.json()["error"]["code"]) == (409, "UPLOAD_CANCELLED")
    assert api.status(upload_id)["status"] == "cancelled"


def test_list_shows_in_progress_uploads(api: Api):
    plan = api.init(size=1).json()
    api.sign(plan["upload_id"], [1])
    listed = api.call("GET", "/v1/uploads", params={"status": "in_progress", "limit": 1000})
    assert listed.status_code == 200
    assert plan["upload_id"] in {u["upload_id"] for u in listed.json()["uploads"]}


def test_health_needs_no_key(api: Api):
    answer = api.call("GET", "/health", api_key="")
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


def test_a_part_put_labelled_as_a_form_is_stored_like_curl_data_binary_does(api: Api):
    # Given what `curl -X PUT --data-binary` sends: a form content type
    plan = api.init(size=3).json()
    (part,) = api.sign(plan["upload_id"], [1])
    # When
    put = requests.put(
        part["url"],
        data=b"abc",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    # Then
    assert put.status_code == 200
    assert api.complete(plan["upload_id"]).status_code == 200
