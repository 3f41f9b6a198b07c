"""tus 1.0 at /v1/tus/ over HTTP, with the stock clients tuspy and tus-js-client (Node) and
with raw requests for every error status: stopped and resumed uploads, the sizes at a
part's edges, a race of two PATCHes, termination, CORS."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from tusclient.client import TusClient

from tests.support.events import ROOT
from tests.support.http import Api

MIB = 1024 * 1024
CHUNK = 4 * MIB
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK_TYPE = {"Content-Type": "application/offset+octet-stream"}
JS = ROOT / "tests" / "tus"


def data_of(size: int) -> bytes:
    """Bytes that differ at every offset a chunk or a part could start at."""
    seed = uuid.uuid4().bytes
    block = bytes((seed[i % 16] + i) % 256 for i in range(MIB + 7))
    return (block * (size // len(block) + 1))[:size]


def metadata(name: str, content_type: str = "application/octet-stream") -> str:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return f"filename {b64(name)},filetype {b64(content_type)}"


def create(api: Api, length: int, name: str | None = None, **headers: str) -> requests.Response:
    name = name or f"tus-{uuid.uuid4().hex[:10]}.bin"
    sent = TUS | {"Upload-Length": str(length), "Upload-Metadata": metadata(name)} | headers
    return api.call("POST", "/v1/tus/", headers=sent)


def created(api: Api, length: int) -> str:
    answer = create(api, length)
    assert answer.status_code == 201, answer.text
    return str(answer.headers["Location"])


def patch(api: Api, url: str, offset: int, data: bytes, **headers: str) -> requests.Response:
    sent = TUS | CHUNK_TYPE | {"Upload-Offset": str(offset)} | headers
    return api.http.request("PATCH", url, data=data, headers=api.headers() | sent, timeout=60)


def head(api: Api, url: str, key: str | None = None) -> requests.Response:
    return api.http.request("HEAD", url, headers=api.headers(key) | TUS, timeout=30)


def stored_bytes(api: Api, upload_id: str) -> bytes:
    """The finished upload's file, through the ordinary status and download routes."""
    status = api.status(upload_id)
    assert status["status"] == "completed", status
    link = api.download(status["key"])
    assert link.status_code == 302, link.text
    return requests.get(link.headers["Location"], timeout=60).content


def upload_id_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def tus_client(api: Api) -> TusClient:
    return TusClient(f"{api.url}/v1/tus/", headers=api.headers())


# --- tuspy ---------------------------------------------------------------------------
def test_tuspy_stops_and_a_new_client_resumes_from_heads_offset(api: Api):
    # Given 13 MiB sent by tuspy in 4 MiB chunks, stopped after the second chunk
    data = data_of(13 * MIB)
    name = f"resumed-{uuid.uuid4().hex[:8]}.bin"
    first = tus_client(api).uploader(
        file_stream=io.BytesIO(data), chunk_size=CHUNK, metadata={"filename": name}
    )
    first.upload(stop_at=2 * CHUNK)
    assert first.offset == 2 * CHUNK
    # When a new client, knowing only the URL, resumes it
    assert int(head(api, first.url).headers["Upload-Offset"]) == 2 * CHUNK
    second = tus_client(api).uploader(file_stream=io.BytesIO(data), url=first.url, chunk_size=CHUNK)
    assert second.offset == 2 * CHUNK
    second.upload()
    # Then the stored file is the same bytes, an ordinary completed upload with its key
    upload_id = upload_id_of(first.url)
    assert stored_bytes(api, upload_id) == data
    status = api.status(upload_id)
    assert status["file_name"] == name and status["size"] == len(data)
    info = api.download(status["key"], info="true").json()
    assert info["original_name"] == name
    # And it is in the user's catalog: their latest file of that name
    latest = api.call(
        "GET", f"/v1/users/{status['user_id']}/latest", params={"name_prefix": name[:12]}
    )
    assert latest.status_code == 302, latest.text
    assert requests.get(latest.headers["Location"], timeout=60).content == data


@pytest.mark.parametrize(
    ("size", "chunk"),
    [
        (0, CHUNK),  # an empty file: complete at creation, one empty part
        (5 * MIB, CHUNK),  # exactly one part: a 4 MiB tail folded into the last PATCH
        (10 * MIB, 5 * MIB // 2),  # two parts of exactly 5 MiB each
        (1000, CHUNK),  # less than a chunk
    ],
    ids=["zero", "one-part", "part-multiple", "small"],
)
def test_tuspy_sizes_at_a_parts_edges(api: Api, size: int, chunk: int):
    # Given a file of that size
    data = data_of(size)
    uploader = tus_client(api).uploader(
        file_stream=io.BytesIO(data), chunk_size=chunk, metadata={"filename": "edge.bin"}
    )
    # When tuspy uploads it
    uploader.upload()
    # Then the stored file holds exactly those bytes
    assert stored_bytes(api, upload_id_of(uploader.url)) == data
    assert int(head(api, uploader.url).headers["Upload-Offset"]) == size


# --- tus-js-client -------------------------------------------------------------------
def node_job(api: Api, path: Path, **job: Any) -> dict[str, Any]:
    job = {
        "endpoint": f"{api.url}/v1/tus/",
        "key": api.api_key,
        "file": str(path),
        "chunkSize": CHUNK,
        "metadata": {"filename": path.name, "filetype": "application/octet-stream"},
    } | job
    ran = subprocess.run(
        ["node", str(JS / "upload.mjs"), json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    result: dict[str, Any] = json.loads(ran.stdout.strip().splitlines()[-1])
    return result


needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (JS / "node_modules" / "tus-js-client").is_dir(),
    reason="tus-js-client is not installed: run `make tests/tus/node_modules/.installed`",
)


@needs_node
def test_tus_js_client_stops_and_a_new_client_resumes(api: Api, tmp_path: Path):
    # Given 13 MiB that tus-js-client stops sending after 8 MiB
    data = data_of(13 * MIB)
    path = tmp_path / "js-big.bin"
    path.write_bytes(data)
    stopped = node_job(api, path, stopAfter=2 * CHUNK)
    assert stopped["status"] == "stopped", stopped
    offset = int(head(api, stopped["url"]).headers["Upload-Offset"])
    assert 0 < offset < len(data)
    # When a new tus-js-client resumes it from the URL (HEAD, then PATCHes)
    resumed = node_job(api, path, uploadUrl=stopped["url"])
    # Then the stored file is the same bytes
    assert resumed == {"status": "done", "url": stopped["url"]}
    assert stored_bytes(api, upload_id_of(stopped["url"])) == data


@needs_node
@pytest.mark.parametrize("size", [0, 5 * MIB, 8 * MIB], ids=["zero", "one-part", "two-chunks"])
def test_tus_js_client_sizes(api: Api, tmp_path: Path, size: int):
    data = data_of(size)
    path = tmp_path / "js-edge.bin"
    path.write_bytes(data)
    done = node_job(api, path)
    assert done["status"] == "done", done
    assert stored_bytes(api, upload_id_of(done["url"])) == data


# --- the protocol's answers ----------------------------------------------------------
def test_options_tells_version_extensions_and_the_callers_limit(api: Api):
    answer = api.call("OPTIONS", "/v1/tus/")
    assert answer.status_code == 204, answer.text
    assert answer.headers["Tus-Resumable"] == answer.headers["Tus-Version"] == "1.0.0"
    extensions = set(answer.headers["Tus-Extension"].split(","))
    assert extensions == {"creation", "creation-with-upload", "termination", "expiration"}
    assert int(answer.headers["Tus-Max-Size"]) > 0


def test_creation_with_upload_and_head(api: Api):
    # Given a creation that carries the first bytes
    data = data_of(3000)
    sent = (
        TUS | CHUNK_TYPE | {"Upload-Length": str(len(data)), "Upload-Metadata": metadata("a.bin")}
    )
    answer = api.call("POST", "/v1/tus/", headers=sent, data=data[:1000])
    # Then it is created at the offset after them
    assert answer.status_code == 201, answer.text
    url = answer.headers["Location"]
    assert url.startswith(f"{api.url}/v1/tus/up_")
    assert answer.headers["Upload-Offset"] == "1000"
    # And HEAD tells offset, length, expiry, never to be cached
    state = head(api, url)
    assert state.status_code == 200
    assert (state.headers["Upload-Offset"], state.headers["Upload-Length"]) == ("1000", "3000")
    assert state.headers["Upload-Expires"].endswith("GMT")
    assert state.headers["Cache-Control"] == "no-store"
    # And the rest completes it
    done = patch(api, url, 1000, data[1000:])
    assert (done.status_code, done.headers["Upload-Offset"]) == (204, "3000")
    assert stored_bytes(api, upload_id_of(url)) == data


def error_code(answer: requests.Response) -> str:
    assert answer.headers["Tus-Resumable"] == "1.0.0"
    return str(answer.json()["error"]["code"])


def test_every_error_has_its_tus_status_and_our_error_json(api: Api):
    url = created(api, 10)
    # A missing or unsupported Tus-Resumable: 412
    no_version = api.http.request(
        "PATCH",
        url,
        data=b"x",
        headers=api.headers() | CHUNK_TYPE | {"Upload-Offset": "0"},
        timeout=30,
    )
    assert (no_version.status_code, error_code(no_version)) == (412, "UNSUPPORTED_VERSION")
    old = patch(api, url, 0, b"x", **{"Tus-Resumable": "0.2.2"})
    assert (old.status_code, old.headers["Tus-Version"]) == (412, "1.0.0")
    # A wrong content type: 415
    typed = patch(api, url, 0, b"x", **{"Content-Type": "application/json"})
    assert (typed.status_code, error_code(typed)) == (415, "UNSUPPORTED_MEDIA_TYPE")
    # A wrong offset: 409, and nothing written
    wrong = patch(api, url, 3, b"x")
    assert (wrong.status_code, error_code(wrong)) == (409, "OFFSET_MISMATCH")
    assert head(api, url).headers["Upload-Offset"] == "0"
    # Past Upload-Length: 413
    past = patch(api, url, 0, b"x" * 11)
    assert past.status_code == 413
    # A creation without Upload-Length or a filename: 400
    missing = api.call("POST", "/v1/tus/", headers=TUS | {"Upload-Metadata": metadata("a")})
    assert (missing.status_code, missing.json()["error"]["field"]) == (400, "Upload-Length")
    nameless = api.call("POST", "/v1/tus/", headers=TUS | {"Upload-Length": "1"})
    assert nameless.status_code == 400
    for name in ("../up", "x" * 1025):
        bad = create(api, 1, name=name)
        assert (bad.status_code, error_code(bad)) == (400, "INVALID_FIELD"), bad.text
    typed_badly = {"Upload-Metadata": metadata("a.bin", "not a type")}
    assert create(api, 1, **typed_badly).status_code == 400
    not_base64 = create(api, 1, **{"Upload-Metadata": "filename ***"})
    assert (not_base64.status_code, not_base64.json()["error"]["field"]) == (
        400,
        "Upload-Metadata",
    )
    # No key: the gateway's 401; an unknown upload: 404
    assert head(api, url, key="").status_code == 401
    assert head(api, url.rsplit("/", 1)[0] + "/up_" + "x" * 24).status_code == 404


def test_a_chunk_over_4_mib_is_413_saying_what_chunk_size_to_set(api: Api):
    url = created(api, 5 * MIB)
    answer = patch(api, url, 0, data_of(CHUNK + 1))
    assert (answer.status_code, error_code(answer)) == (413, "PAYLOAD_TOO_LARGE")
    assert "chunk size" in answer.json()["error"]["message"]
    assert "4194304" in answer.json()["error"]["message"]
    # The largest chunk is taken
    assert patch(api, url, 0, data_of(CHUNK)).status_code == 204


def test_another_clients_upload_is_404(api: Api):
    from tests.e2e.test_tenancy import new_client

    if os.environ.get("STOWAGE_URL"):
        pytest.skip("needs the admin commands of the local stack")
    url = created(api, 10)
    other = new_client(api)
    assert head(other, url).status_code == 404
    answer = patch(other, url, 0, b"0123456789")
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "UPLOAD_NOT_FOUND")
    assert other.http.request("DELETE", url, headers=other.headers() | TUS).status_code == 404
    assert head(api, url).headers["Upload-Offset"] == "0"


def test_termination_aborts_and_the_upload_is_gone(api: Api):
    # Given an upload holding a tail of 1 MiB
    url = created(api, 10 * MIB)
    assert patch(api, url, 0, data_of(MIB)).status_code == 204
    # When it is terminated
    answer = api.http.request("DELETE", url, headers=api.headers() | TUS, timeout=30)
    # Then it is gone for tus, and cancelled (its S3 upload aborted) for the upload routes
    assert answer.status_code == 204, answer.text
    assert head(api, url).status_code in (404, 410)
    assert patch(api, url, MIB, b"more").status_code in (404, 410)
    assert api.status(upload_id_of(url))["status"] == "cancelled"


def test_two_patches_at_one_offset_one_wins_the_other_is_409(api: Api):
    # Given an upload and two different chunks for its offset 0
    size = 2 * MIB
    url = created(api, size)
    chunks = [data_of(size), data_of(size)]
    answers: list[requests.Response | None] = [None, None]
    start = threading.Barrier(2)

    def send(index: int) -> None:
        start.wait()
        answers[index] = patch(api, url, 0, chunks[index])

    # When both are sent at once
    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then one wins, the other is told the offset is taken, and the file is the winner's
    statuses = sorted(a.status_code for a in answers if a is not None)
    assert statuses == [204, 409], [a.text for a in answers if a is not None]
    winner = next(i for i, a in enumerate(answers) if a is not None and a.status_code == 204)
    assert stored_bytes(api, upload_id_of(url)) == chunks[winner]


# --- CORS ----------------------------------------------------------------------------
def test_a_preflight_allows_the_tus_headers_and_answers_expose_them(api: Api):
    origin = {"Origin": "https://app.example"}
    preflight = api.http.options(
        f"{api.url}/v1/tus/",
        headers=origin
        | {
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "tus-resumable,upload-offset,content-type",
        },
        timeout=30,
    )
    assert preflight.status_code == 204
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    for name in ("tus-resumable", "upload-offset", "upload-length", "upload-metadata"):
        assert name in allowed
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    answer = create(api, 1, **origin)
    exposed = answer.headers["Access-Control-Expose-Headers"].lower().split(",")
    for name in ("location", "upload-offset", "upload-length", "upload-expires", "tus-resumable"):
        assert name in exposed
