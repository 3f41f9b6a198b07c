"""Stock @uppy/aws-s3 6.x, given only `companionEndpoint` (a token's `endpoint`), on a
page of another origin than the API: single POSTs, multipart, pause/resume, cancel and
a tampered token, each checked through the API. Every call crosses origins (the API's
CORS, and S3's for the POST, the part PUTs and the ETag they expose)."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page, Request

from tests.browser.helpers import file_bytes, find_file, wait_for_file
from tests.support.http import Api, unique_name

MiB = 1024 * 1024
FIRST_PART = re.compile(r"[?&]partNumber=1(&|$)")
TESTBED_TIMEOUT_MS = 60_000


def mint(api: Api, **body: Any) -> str:
    answer = api.call("POST", "/v1/upload-tokens", json=body)
    assert answer.status_code == 201, answer.text
    endpoint: str = answer.json()["endpoint"]
    return endpoint


def open_testbed(page: Page, other_origin: str, api: Api) -> list[Request]:
    """The testbed on its own origin; the requests it makes, to inspect afterwards."""
    assert urlsplit(other_origin).netloc != urlsplit(api.url).netloc
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    page.goto(f"{other_origin}/testbed.html")
    page.wait_for_function("typeof window.upload === 'function'")
    return requests


def upload(page: Page, **options: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("(options) => window.upload(options)", options)
    return result


def stored_sha256(api: Api, key: str) -> str:
    return hashlib.sha256(file_bytes(api, key)).hexdigest()


def test_a_1_mib_file_is_one_post_to_s3_and_registers_itself(
    page: Page, api: Api, other_origin: str
) -> None:
    # Given the testbed on another origin and a token's endpoint
    requests = open_testbed(page, other_origin, api)
    name = unique_name()
    # When stock Uppy uploads 1 MiB (below its multipart threshold)
    result = upload(page, endpoint=mint(api), name=name, size=MiB)
    # Then it asked for POST params once and POSTed the form to S3, nothing more
    assert result["outcome"] == "success", result
    companion = [r for r in requests if "/v1/companion/" in r.url]
    assert [(r.method, urlsplit(r.url).path.rsplit("/", 1)[-1]) for r in companion] == [
        ("GET", "params")
    ]
    # And S3's event made it the client's file: listed, its bytes the browser's
    info = wait_for_file(api, name)
    assert info["size"] == MiB
    assert stored_sha256(api, info["key"]) == result["sha256"]


def test_a_12_mib_file_goes_up_in_parts_put_straight_to_s3(
    page: Page, api: Api, other_origin: str
) -> None:
    # Given the testbed on another origin
    requests = open_testbed(page, other_origin, api)
    name = unique_name()
    # When Uppy uploads 12 MiB as a multipart upload
    result = upload(page, endpoint=mint(api), name=name, size=12 * MiB, multipart=True)
    # Then three parts went to S3 (5 + 5 + 2 MiB), each PUT cross-origin, ETags read
    assert result["outcome"] == "success", result
    assert result["parts"] == [1, 2, 3]
    puts = [r for r in requests if r.method == "PUT"]
    assert len(puts) == 3
    assert all(urlsplit(r.url).netloc != urlsplit(api.url).netloc for r in puts)
    # And complete made it the client's file at once, byte for byte
    info = find_file(api, name)
    assert info is not None and info["key"] == result["key"]
    assert info["size"] == 12 * MiB
    assert stored_sha256(api, result["key"]) == result["sha256"]


def test_a_paused_upload_resumes_without_sending_its_parts_again(
    page: Page, api: Api, other_origin: str
) -> None:
    # Given a 12 MiB upload paused as soon as its first part is in S3
    requests = open_testbed(page, other_origin, api)
    name = unique_name()
    paused = upload(
        page, endpoint=mint(api), name=name, size=12 * MiB, multipart=True, then="pause"
    )
    assert paused["outcome"] == "pause" and paused["paused"], paused
    # Then, paused, it is an upload in progress with S3 holding part 1, not a file yet
    status = api.status(paused["uploadId"])
    assert status["status"] in ("initiated", "in_progress")
    assert 1 in {part["part_number"] for part in status["parts"]}
    assert status["parts_uploaded"] < 3
    assert find_file(api, name) is None
    # When it is resumed
    done: dict[str, Any] = page.evaluate("() => window.resume()")
    # Then Uppy asked S3 (through the API) which parts it holds and sent only the rest
    assert done["outcome"] == "success", done
    part_lists = [
        r
        for r in requests
        if r.method == "GET" and urlsplit(r.url).path.endswith("/" + paused["uploadId"])
    ]
    assert part_lists, "resuming did not list the parts S3 holds"
    first_part = [r for r in requests if r.method == "PUT" and FIRST_PART.search(r.url)]
    assert len(first_part) == 1
    # And the file is whole
    assert stored_sha256(api, done["key"]) == paused["sha256"]


def test_a_cancelled_upload_is_aborted_and_leaves_no_file(
    page: Page, api: Api, other_origin: str
) -> None:
    # Given a 12 MiB upload with its first part in S3
    open_testbed(page, other_origin, api)
    name = unique_name()
    with page.expect_response(
        lambda r: r.request.method == "DELETE" and "/s3/multipart/" in r.url,
        timeout=TESTBED_TIMEOUT_MS,
    ) as aborted:
        # When the person removes it from Uppy mid-way
        result = upload(
            page, endpoint=mint(api), name=name, size=12 * MiB, multipart=True, then="cancel"
        )
    # Then Uppy aborted it through the API, which said yes
    assert result["outcome"] == "cancel", result
    assert aborted.value.status == 200
    # And the client's upload is cancelled, and no file came of it
    assert api.status(result["uploadId"])["status"] == "cancelled"
    assert find_file(api, name) is None


def test_a_tampered_token_is_refused_and_nothing_stored(
    page: Page, api: Api, other_origin: str
) -> None:
    # Given an endpoint whose token has one character changed
    endpoint = mint(api)
    base, token = endpoint.rsplit("/", 1)
    tampered = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    open_testbed(page, other_origin, api)
    name = unique_name()
    # When Uppy tries a single upload and a multipart one with it
    single = upload(page, endpoint=f"{base}/{tampered}", name=name, size=1024)
    multi = upload(page, endpoint=f"{base}/{tampered}", name=name, size=6 * MiB, multipart=True)
    # Then both fail with the API's refusal (all the plugin shows is the status text)
    for result in (single, multi):
        assert result["outcome"] == "error", result
        assert "Companion request failed: " in result["message"]
        assert result["message"].endswith(("Unauthorized", "Forbidden")), result
    # And nothing was stored
    assert find_file(api, name) is None


def test_the_api_answers_another_origin_with_cors(page: Page, api: Api, other_origin: str) -> None:
    # Given the testbed on another origin
    open_testbed(page, other_origin, api)
    # When its script calls the API with a key (a preflighted request) and reads the answer
    answer = page.evaluate(
        """async ([url, key]) => {
            const headers = {Authorization: 'Bearer ' + key}
            const r = await fetch(url + '/v1/files?limit=1', {headers})
            return {status: r.status, body: await r.json()}
        }""",
        [api.url, api.api_key],
    )
    # Then the browser let it through
    assert answer["status"] == 200 and "files" in answer["body"]
