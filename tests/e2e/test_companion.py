"""The Companion routes over HTTP, called exactly as @uppy/aws-s3 6.x calls them
(lib/s3-client/CompanionS3.js), with real PUTs and POSTs to the presigned URLs."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.support.http import Api

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("STOWAGE_URL")), reason="needs the admin commands of the local stack"
)
MIB = 1024 * 1024
ORIGIN = "https://app.example"


class Uppy:
    """What CompanionS3.js sends: `fetch(companionEndpoint + "/s3" + path)`, no headers
    but the JSON content type, query strings built by URLSearchParams."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.http = requests.Session()

    def _fetch(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.endpoint}/s3{path}", timeout=30, **kwargs)

    def params(self, name: str, kind: str, **metadata: str) -> requests.Response:
        query = {"filename": name, "type": kind} | {
            f"metadata[{k}]": v for k, v in metadata.items()
        }
        return self._fetch("GET", "/params", params=query)

    def create(self, name: str, kind: str = "application/octet-stream") -> requests.Response:
        body = {"filename": name, "metadata": {"name": name, "type": kind}, "type": kind}
        return self._fetch("POST", "/multipart", json=body)

    def sign(self, upload_id: str, number: int, key: str) -> requests.Response:
        path = f"/multipart/{quote(upload_id, safe='')}/{number}"
        return self._fetch("GET", path, params={"key": key})

    def list(self, upload_id: str, key: str) -> requests.Response:
        return self._fetch("GET", f"/multipart/{quote(upload_id, safe='')}", params={"key": key})

    def complete(self, upload_id: str, key: str, parts: list[dict[str, Any]]) -> requests.Response:
        path = f"/multipart/{quote(upload_id, safe='')}/complete"
        return self._fetch("POST", path, params={"key": key}, json={"parts": parts})

    def abort(self, upload_id: str, key: str) -> requests.Response:
        return self._fetch("DELETE", f"/multipart/{quote(upload_id, safe='')}", params={"key": key})

    def put_parts(self, upload_id: str, key: str, chunks: list[bytes]) -> list[dict[str, Any]]:
        """Sign each part, PUT it (no Content-Length signed), keep S3's ETag as Uppy does."""
        parts = []
        for number, chunk in enumerate(chunks, start=1):
            signed = self.sign(upload_id, number, key)
            assert signed.status_code == 200, signed.text
            assert set(signed.json()) == {"url", "expires"}
            put = requests.put(signed.json()["url"], data=chunk, timeout=60)
            assert put.status_code == 200, put.text
            parts.append({"PartNumber": number, "ETag": put.headers["ETag"].strip('"')})
        return parts


def make_api(stack_api: Api, max_file_size: int = 64 * MIB, **fields: Any) -> Api:
    from stowage.domain.clients import NewClient
    from stowage.wiring import build_client_admin

    new = NewClient(client_id=f"u-{uuid.uuid4().hex[:8]}", max_file_size=max_file_size, **fields)
    return Api(stack_api.url, build_client_admin().create_client(new)[1])


def uppy_for(api: Api, **token: Any) -> Uppy:
    answer = api.call("POST", "/v1/upload-tokens", json=token)
    assert answer.status_code == 201, answer.text
    return Uppy(answer.json()["endpoint"])


def wait_for(condition: Callable[[], Any], seconds: float = 15) -> Any:
    """Poll until `condition()` is truthy; fail at the deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)  # polling interval, not synchronisation: the deadline decides
    pytest.fail("the condition did not hold in time")


def post_form(params: dict[str, Any], data: bytes, name: str) -> requests.Response:
    """What the plugin's postObject does: every field, then the file, last."""
    return requests.post(
        params["url"], data=params["fields"], files={"file": (name, data)}, timeout=60
    )


def registered(api: Api, draft_id: str) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        body: dict[str, Any] = api.call("GET", f"/v1/drafts/{draft_id}").json()
        return body if body.get("status") == "confirmed" else None

    return check


@pytest.fixture
def api(stack_api: Api) -> Api:
    return make_api(stack_api)


# --- multipart ----------------------------------------------------------------------------
def test_a_multipart_upload_in_the_plugins_exact_shapes(api: Api):
    # Given a token and a file of two parts (5 MiB + a little), as Uppy would cut it
    uppy = uppy_for(api)
    data = os.urandom(5 * MIB) + b"tail of the file"
    name = f"movie {uuid.uuid4().hex[:6]}.mp4"
    # When it creates, signs and PUTs each part, lists them, then completes
    created = uppy.create(name, "video/mp4")
    assert created.status_code == 200, created.text
    assert set(created.json()) == {"key", "uploadId"}
    key, upload_id = created.json()["key"], created.json()["uploadId"]
    parts = uppy.put_parts(upload_id, key, [data[: 5 * MIB], data[5 * MIB :]])
    listed = uppy.list(upload_id, key)
    done = uppy.complete(upload_id, key, parts)
    # Then the list was Uppy's shape, and the answer names the file
    assert listed.status_code == 200
    assert listed.json() == [
        {"PartNumber": 1, "Size": 5 * MIB, "ETag": f'"{parts[0]["ETag"]}"'},
        {"PartNumber": 2, "Size": 16, "ETag": f'"{parts[1]["ETag"]}"'},
    ]
    assert done.status_code == 200, done.text
    assert done.json() == {"location": f"{api.url}/v1/files/{quote(key)}", "key": key}
    # And it is an ordinary stowage upload of the client's: key, session, bytes, latest
    user = key.split("/")[2]
    assert key.split("/")[1:3] == ["user", user] and key.endswith(f"/video/{name}")
    status = api.status(upload_id)
    assert (status["status"], status["size"], status["file_name"]) == ("completed", len(data), name)
    download = api.download(key)
    assert requests.get(download.headers["Location"], timeout=60).content == data
    latest = api.call("GET", f"/v1/users/{user}/latest", params={"category": "video"})
    assert latest.status_code == 302


def test_the_same_name_twice_never_overwrites(api: Api):
    uppy = uppy_for(api)
    keys = []
    for content in (b"first", b"second"):
        created = uppy.create("same.bin").json()
        parts = uppy.put_parts(created["uploadId"], created["key"], [content])
        assert uppy.complete(created["uploadId"], created["key"], parts).status_code == 200
        keys.append(created["key"])
    assert keys[0].endswith("/same.bin") and keys[1].endswith("/same (1).bin")


def test_over_the_token_size_limit_at_complete_is_413_and_aborted(api: Api):
    # Given a token of at most 5 MiB, and an upload that grows past it
    uppy = uppy_for(api, max_file_size=5 * MIB)
    created = uppy.create("big.bin").json()
    key, upload_id = created["key"], created["uploadId"]
    parts = uppy.put_parts(upload_id, key, [os.urandom(5 * MIB), b"one byte too many"])
    # When it completes
    done = uppy.complete(upload_id, key, parts)
    # Then 413, the upload is cancelled and aborted in S3, and nothing is stored
    assert (done.status_code, done.json()["error"]["code"]) == (413, "FILE_TOO_LARGE")
    assert api.status(upload_id)["status"] == "cancelled"
    assert uppy.sign(upload_id, 3, key).status_code == 409
    assert api.call("HEAD", "/v1/files/" + quote(key)).status_code == 404
    from devstack.stack import LocalStack

    stack = LocalStack.current()
    assert stack is not None
    uploads = stack.s3().list_multipart_uploads(Bucket=stack.bucket_name("FilesBucket"))
    assert key not in {u["Key"] for u in uploads.get("Uploads", [])}


def test_exactly_at_the_limit_completes(api: Api):
    uppy = uppy_for(api, max_file_size=5 * MIB + 3)
    created = uppy.create("edge.bin").json()
    parts = uppy.put_parts(created["uploadId"], created["key"], [os.urandom(5 * MIB), b"abc"])
    assert uppy.complete(created["uploadId"], created["key"], parts).status_code == 200


def test_abort_answers_an_empty_object_and_cancels(api: Api):
    uppy = uppy_for(api)
    created = uppy.create("gone.bin").json()
    uppy.put_parts(created["uploadId"], created["key"], [b"some bytes"])
    answer = uppy.abort(created["uploadId"], created["key"])
    assert (answer.status_code, answer.json()) == (200, {})
    assert api.status(created["uploadId"])["status"] == "cancelled"


def test_a_token_reaches_only_its_own_uploads(stack_api: Api):
    # Given a backend's upload for alice, and tokens for bob (same client) and another client
    backend = make_api(stack_api, act_as=True)
    alice = uppy_for(backend, user_id="alice")
    created = alice.create("mine.bin").json()
    upload_id, key = created["uploadId"], created["key"]
    others = [uppy_for(backend, user_id="bob"), uppy_for(make_api(stack_api))]
    # When they touch it, or alice names another key
    calls: list[Callable[[Uppy], requests.Response]] = [
        lambda u: u.sign(upload_id, 1, key),
        lambda u: u.list(upload_id, key),
        lambda u: u.complete(upload_id, key, [{"PartNumber": 1, "ETag": "x"}]),
        lambda u: u.abort(upload_id, key),
    ]
    answers = [call(u) for u in others for call in calls]
    answers += [alice.sign(upload_id, 1, key + "x"), alice.list(upload_id, "user/bob/x")]
    # Then every one is 404, and the upload is untouched
    for answer in answers:
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "UPLOAD_NOT_FOUND")
    assert backend.status(upload_id)["status"] == "initiated"
    assert key.split("/")[1:3] == ["user", "alice"]


def test_max_files_counts_every_upload_started(api: Api):
    # Given a token for two files
    uppy = uppy_for(api, max_files=2)
    # When it starts a multipart upload, a single upload, then one more of each
    first = uppy.create("one.bin")
    second = uppy.params("two.txt", "text/plain")
    third, fourth = uppy.create("three.bin"), uppy.params("four.txt", "text/plain")
    # Then the first two are taken and the rest are refused
    assert (first.status_code, second.status_code) == (200, 200)
    for answer in (third, fourth):
        assert (answer.status_code, answer.json()["error"]["code"]) == (403, "TOKEN_USED_UP")
    names = {u["file_name"] for u in api.call("GET", "/v1/uploads").json()["uploads"]}
    assert "one.bin" in names and "three.bin" not in names


def test_content_types_are_matched_and_a_refused_type_is_not_counted(api: Api):
    uppy = uppy_for(api, content_types=["image/*", "application/pdf"], max_files=1)
    refused = uppy.create("notes.txt", "text/plain")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "FORBIDDEN")
    assert uppy.params("doc.pdf", "text/plain").status_code == 403
    assert uppy.create("cat.png", "image/png").status_code == 200


@pytest.mark.parametrize(
    ("name", "kind"), [("../up.bin", "text/plain"), ("a\x00b", "text/plain"), ("ok.bin", "no type")]
)
def test_bad_names_and_types_are_400(api: Api, name, kind):
    uppy = uppy_for(api)
    for answer in (uppy.create(name, kind), uppy.params(name, kind)):
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "INVALID_FIELD"


def test_a_query_string_that_is_not_utf8_is_400(api: Api):
    uppy = uppy_for(api)
    answer = requests.get(f"{uppy.endpoint}/s3/params?filename=%FF.txt&type=text/plain", timeout=30)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "INVALID_FIELD")


def test_missing_key_and_bad_part_numbers_are_400(api: Api):
    uppy = uppy_for(api)
    created = uppy.create("x.bin").json()
    no_key = uppy._fetch("GET", f"/multipart/{created['uploadId']}/1")
    assert (no_key.status_code, no_key.json()["error"]["code"]) == (400, "MISSING_FIELD")
    for number in (0, 10001):
        answer = uppy.sign(created["uploadId"], number, created["key"])
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "INVALID_FIELD")


# --- single-request uploads ---------------------------------------------------------------
def test_a_single_upload_registers_itself_from_s3s_event(api: Api):
    # Given a token and the presigned POST the plugin asks for
    uppy = uppy_for(api)
    name = f"photo {uuid.uuid4().hex[:6]}.jpg"
    answer = uppy.params(name, "image/jpeg", caption="holiday")
    assert answer.status_code == 200, answer.text
    params = answer.json()
    assert set(params) == {"method", "url", "fields", "expires"} and params["method"] == "POST"
    fields = params["fields"]
    assert fields["Content-Type"] == "image/jpeg" and fields["key"].startswith("drafts/dr_")
    assert not {"file", "success_action_redirect", "redirect"} & {f.lower() for f in fields}
    # When the browser POSTs the file and calls nothing more
    data = os.urandom(300_000)
    posted = post_form(params, data, name)
    assert posted.status_code == 204, posted.text
    # Then S3's event makes it the client's file, under the user's key, with its name
    draft_id = fields["key"].removeprefix("drafts/")
    confirmed = wait_for(registered(api, draft_id))
    assert (confirmed["file_name"], confirmed["size"]) == (name, len(data))
    key = confirmed["key"]
    assert key.split("/")[1] == "user" and key.endswith(f"/image/{name}")
    info = api.download(key, info="true").json()
    assert (info["original_name"], info["size"], info["content_type"]) == (
        name,
        len(data),
        "image/jpeg",
    )
    assert requests.get(api.download(key).headers["Location"], timeout=30).content == data


def test_a_repeated_event_registers_the_file_once(api: Api):
    # Given a single upload that S3's event has registered
    from devstack.stack import LocalStack

    stack = LocalStack.current()
    assert stack is not None
    uppy = uppy_for(api)
    params = uppy.params("twice.txt", "text/plain").json()
    assert post_form(params, b"only once", "twice.txt").status_code == 204
    draft_id = params["fields"]["key"].removeprefix("drafts/")
    first = wait_for(registered(api, draft_id))
    event = next(e for _, e in reversed(stack.notifier.delivered) if draft_id in str(e))
    # When the same event arrives again, twice (S3 delivers at least once)
    answers = [stack.invoke("PostRegistrar", event) for _ in range(2)]
    # Then nothing changes: one file, the same key
    assert [a["outcome"] for a in answers] == ["gone", "gone"]
    assert wait_for(registered(api, draft_id))["key"] == first["key"]
    listed = api.call("GET", "/v1/files", params={"limit": 1000}).json()["files"]
    assert [f["key"] for f in listed if "twice" in f["key"]] == [first["key"]]


def test_an_event_before_and_during_registration_is_harmless(api: Api):
    # Given a POST whose event is delivered by hand at once, beside the stack's own
    from devstack.notifications import object_created_event
    from devstack.stack import LocalStack

    stack = LocalStack.current()
    assert stack is not None
    uppy = uppy_for(api)
    params = uppy.params("race.txt", "text/plain").json()
    assert post_form(params, b"racing", "race.txt").status_code == 204
    bucket, key = stack.bucket_name("DraftsBucket"), params["fields"]["key"]
    head = stack.s3().head_object(Bucket=bucket, Key=key)
    event = object_created_event(bucket, key, dict(head), "PostObject", "us-east-1")
    # When
    outcome = stack.invoke("PostRegistrar", event)["outcome"]
    # Then whichever came first registered it, once
    assert outcome in ("confirmed", "gone")
    confirmed = wait_for(registered(api, key.removeprefix("drafts/")))
    listed = api.call("GET", "/v1/files", params={"limit": 1000}).json()["files"]
    assert [f["key"] for f in listed if "race" in f["key"]] == [confirmed["key"]]


def test_a_post_without_a_genuine_claim_never_becomes_a_file(api: Api):
    # Given a valid form whose claim is swapped for a forged one
    uppy = uppy_for(api)
    params = uppy.params("forged.txt", "text/plain").json()
    claim = params["fields"]["x-amz-meta-claim"]
    forged = claim[:-4] + ("AAAA" if claim[-4:] != "AAAA" else "BBBB")
    params["fields"]["x-amz-meta-claim"] = forged
    key = params["fields"]["key"]
    draft_id = key.removeprefix("drafts/")
    from devstack.notifications import object_created_event
    from devstack.stack import LocalStack

    stack = LocalStack.current()
    assert stack is not None
    bucket = stack.bucket_name("DraftsBucket")
    # When it is POSTed, S3 refuses it: the policy pins the claim field
    refused = post_form(params, b"forged", "forged.txt")
    assert refused.status_code == 403 and b"AccessDenied" in refused.content, refused.text
    # And were such an object there all the same (written past the policy), its event
    s3 = stack.s3()
    s3.put_object(
        Bucket=bucket, Key=key, Body=b"forged", ContentType="text/plain", Metadata={"claim": forged}
    )
    event = object_created_event(
        bucket, key, dict(s3.head_object(Bucket=bucket, Key=key)), "PostObject", "us-east-1"
    )
    outcome = stack.invoke("PostRegistrar", event)["outcome"]
    # Then registers nothing: the object is deleted and no draft or file exists
    assert outcome == "refused"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=key)
    assert api.call("GET", f"/v1/drafts/{draft_id}").status_code == 404


@pytest.mark.parametrize(
    ("change", "data"),
    [
        ({}, b"eleven byte"),  # one byte over the token's 10
        ({"Content-Type": "text/html"}, b"<b>hi</b>"),  # another type than was signed
    ],
)
def test_a_post_outside_its_claim_is_deleted_not_registered(api: Api, change, data):
    # Given a token of at most 10 bytes, and a POST beyond what its form allows (moto
    # takes it; S3 would refuse it against the policy)
    from devstack.stack import LocalStack

    stack = LocalStack.current()
    assert stack is not None
    uppy = uppy_for(api, max_file_size=10)
    params = uppy.params("small.txt", "text/plain").json()
    params["fields"] |= change
    draft_id = params["fields"]["key"].removeprefix("drafts/")
    seen = len(stack.notifier.delivered)
    # When it is POSTed and S3's event goes out
    assert post_form(params, data, "small.txt").status_code == 204
    wait_for(lambda: any(draft_id in str(e) for _, e in stack.notifier.delivered[seen:]))
    # Then the object is deleted and never becomes a draft or a file
    bucket = stack.bucket_name("DraftsBucket")
    wait_for(
        lambda: (
            "Contents" not in stack.s3().list_objects_v2(Bucket=bucket, Prefix=f"drafts/{draft_id}")
        )
    )
    assert api.call("GET", f"/v1/drafts/{draft_id}").status_code == 404


# --- CORS and logs ------------------------------------------------------------------------
def test_cors_for_another_origin_on_answers_errors_and_preflights(api: Api):
    uppy = uppy_for(api)
    # A preflight of the JSON POST the plugin sends
    preflight = requests.options(
        f"{uppy.endpoint}/s3/multipart",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=30,
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] in (ORIGIN, "*")
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"]
    # An answer and an error both carry the origin
    ok = uppy.http.get(
        f"{uppy.endpoint}/s3/params",
        params={"filename": "a.txt"},
        headers={"Origin": ORIGIN},
        timeout=30,
    )
    bad = requests.get(
        f"{api.url}/v1/companion/nope/s3/params?filename=a", headers={"Origin": ORIGIN}, timeout=30
    )
    assert ok.status_code == 200 and bad.status_code == 403
    for answer in (ok, bad):
        assert answer.headers["access-control-allow-origin"] in (ORIGIN, "*")


def test_the_buckets_take_browser_posts_and_puts_and_expose_etag(api: Api):
    from devstack.stack import LocalStack

    stack = LocalStack.current()
    assert stack is not None
    for logical_id, method in (("DraftsBucket", "POST"), ("FilesBucket", "PUT")):
        rules = stack.s3().get_bucket_cors(Bucket=stack.bucket_name(logical_id))["CORSRules"]
        assert any(
            method in r["AllowedMethods"] and "ETag" in r.get("ExposeHeaders", []) for r in rules
        )
    preflight = requests.options(
        f"{stack.s3_endpoint}/{stack.bucket_name('DraftsBucket')}",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in (ORIGIN, "*")


def test_no_token_reaches_any_log_line(api: Api, capfd):
    # Given the service's log records collected as they are written
    collected: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            collected.append(self.format(record))

    service_log = logging.getLogger("stowage")
    handler = Collect()
    service_log.addHandler(handler)
    try:
        # When a token is minted and used for every route, and a bad one is tried
        answer = api.call("POST", "/v1/upload-tokens", json={"max_files": 3})
        token = answer.json()["token"]
        uppy = Uppy(answer.json()["endpoint"])
        created = uppy.create("logged.bin").json()
        parts = uppy.put_parts(created["uploadId"], created["key"], [b"bytes"])
        uppy.list(created["uploadId"], created["key"])
        uppy.complete(created["uploadId"], created["key"], parts)
        params = uppy.params("logged.txt", "text/plain").json()
        post_form(params, b"posted", "logged.txt")
        wait_for(registered(api, params["fields"]["key"].removeprefix("drafts/")))
        Uppy(f"{api.url}/v1/companion/{token}x").params("a.txt", "text/plain")
        api.call("GET", "/v1/uploads", api_key=token)
    finally:
        service_log.removeHandler(handler)
    out, err = capfd.readouterr()
    logged = "\n".join(collected) + out + err
    # Then the logs were written, and hold neither the token nor its signature
    assert (
        "browser upload completed" in logged and "POST /v1/companion/{token}/s3/multipart" in logged
    )
    for secret in (token, token.split(".")[2], params["fields"]["x-amz-meta-claim"]):
        assert secret not in logged


def test_list_parts_reads_every_page_of_listparts(api: Api):
    # Given an upload holding 1,001 parts (S3 answers ListParts 1,000 at a time)
    from devstack.stack import LocalStack
    from stowage.wiring import build_upload_service

    stack = LocalStack.current()
    assert stack is not None
    uppy = uppy_for(api)
    created = uppy.create("many.bin").json()
    session = build_upload_service().sessions.get(created["uploadId"])
    assert session is not None
    s3, bucket = stack.s3(), stack.bucket_name("FilesBucket")

    def put(number: int) -> None:
        s3.upload_part(
            Bucket=bucket,
            Key=created["key"],
            UploadId=session.s3_upload_id,
            PartNumber=number,
            Body=b"p",
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(1, 1002)))
    # When Uppy lists them to resume
    listed = uppy.list(created["uploadId"], created["key"])
    # Then it gets all of them, in order
    assert listed.status_code == 200
    assert [p["PartNumber"] for p in listed.json()] == list(range(1, 1002))
