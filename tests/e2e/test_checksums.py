"""Checksums over HTTP through the gateway: part checksums signed into presigned PUTs,
the whole file's checked at complete, the stored checksum in the file's info, and a
draft's POST policy pinning one.

S3 refuses a body that does not match a signed checksum header, and a whole-file checksum
that is not the parts'. moto accepts both, so the tests that need S3's refusal first ask
the stack's S3 whether it refuses a wrong checksum, and are skipped where it does not
(the strict local S3, and any deployment, do).
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from awscrt import checksums

from tests.support.http import Api, post_form, unique_name

MIB = 1024 * 1024
HEADER = "x-amz-checksum-crc64nvme"


def crc64(data: bytes) -> str:
    return base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()


def begin(api: Api, data: bytes, **body: Any) -> dict[str, Any]:
    answer = api.init(size=len(data), part_size=5 * MIB, checksum_algorithm="CRC64NVME", **body)
    assert answer.status_code == 201, answer.text
    plan: dict[str, Any] = answer.json()
    return plan


def pieces(plan: dict[str, Any], data: bytes) -> dict[int, bytes]:
    size = plan["part_size"]
    return {n: data[(n - 1) * size : n * size] for n in range(1, plan["part_count"] + 1)}


def sign(api: Api, upload_id: str, checksums_by_part: dict[int, str]) -> list[dict[str, Any]]:
    body = {"parts": [{"part_number": n, "checksum": c} for n, c in checksums_by_part.items()]}
    answer = api.call("POST", f"/v1/uploads/{upload_id}/parts", json=body)
    assert answer.status_code == 200, answer.text
    parts: list[dict[str, Any]] = answer.json()["parts"]
    return parts


def put(part: dict[str, Any], data: bytes) -> requests.Response:
    return requests.put(part["url"], data=data, headers=part["headers"], timeout=60)


def info(api: Api, key: str) -> dict[str, Any]:
    answer = api.call("GET", "/v1/files/" + quote(key), params={"info": "true"})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture(scope="module")
def strict_s3(stack_api: Api) -> bool:
    """Whether the stack's S3 refuses a part whose body is not its signed checksum."""
    plan = begin(stack_api, b"probe")
    (part,) = sign(stack_api, plan["upload_id"], {1: crc64(b"probe")})
    refused = put(part, b"prob3").status_code == 400
    stack_api.call("DELETE", f"/v1/uploads/{plan['upload_id']}")
    return refused


def needs_strict(strict: bool) -> None:
    if not strict:
        pytest.skip("this S3 accepts wrong checksums (moto); the strict local S3 refuses them")


def test_a_checksummed_upload_round_trips_and_its_checksum_is_stored(api: Api):
    # Given a three-part file and its checksums, part by part and whole
    data = os.urandom(12 * MIB)
    plan = begin(api, data)
    parts = pieces(plan, data)
    assert plan["checksum_algorithm"] == "CRC64NVME"
    # When each part is signed with its checksum and PUT with the headers the answer gives
    signed = sign(api, plan["upload_id"], {n: crc64(p) for n, p in parts.items()})
    for part in signed:
        # Then the checksum header is signed into the URL, not left to the query string
        signed_headers = parse_qs(urlsplit(part["url"]).query)["X-Amz-SignedHeaders"][0]
        assert HEADER in signed_headers.split(";")
        assert part["headers"] == {HEADER: crc64(parts[part["part_number"]])}
        answer = put(part, parts[part["part_number"]])
        assert answer.status_code == 200, answer.text
    done = api.complete(plan["upload_id"], checksum=crc64(data))
    # And the file is stored with its FULL_OBJECT checksum, byte-identical
    assert done.status_code == 200, done.text
    key = done.json()["key"]
    assert info(api, key)["checksum"] == {
        "algorithm": "CRC64NVME",
        "type": "FULL_OBJECT",
        "value": crc64(data),
    }
    head = api.call("HEAD", "/v1/files/" + quote(key))
    assert head.headers["X-Stowage-Checksum"] == crc64(data)
    assert head.headers["X-Stowage-Checksum-Algorithm"] == "CRC64NVME"
    link = api.download(key).headers["Location"]
    assert requests.get(link, timeout=60).content == data


def test_uploads_without_checksums_still_work(api: Api):
    # Given an upload started as browsers and older clients start one: no algorithm
    data = os.urandom(6 * MIB)
    init = api.init(size=len(data), part_size=5 * MIB)
    plan = init.json()
    # When its parts are signed by number and PUT without any header
    signed = api.sign(plan["upload_id"], [1, 2])
    for part in signed:
        start = (part["part_number"] - 1) * plan["part_size"]
        assert part["headers"] == {}
        api.put_part(part, data[start : start + part["size"]])
    status = api.status(plan["upload_id"])
    done = api.complete(plan["upload_id"])
    # Then it completes as before; no part claims a checksum
    assert plan["checksum_algorithm"] is None
    assert [p["checksum"] for p in status["parts"]] == [None, None]
    assert done.status_code == 200, done.text
    assert (
        requests.get(api.download(done.json()["key"]).headers["Location"], timeout=60).content
        == data
    )


def test_a_checksum_for_an_upload_without_an_algorithm_is_400(api: Api):
    plan = api.init(size=10).json()
    body = {"parts": [{"part_number": 1, "checksum": crc64(b"0123456789")}]}
    answer = api.call("POST", f"/v1/uploads/{plan['upload_id']}/parts", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "INVALID_FIELD"


def test_a_corrupted_part_is_refused_and_can_be_sent_again(api: Api, strict_s3: bool):
    needs_strict(strict_s3)
    # Given a part signed with the checksum of its true bytes
    data = os.urandom(6 * MIB)
    plan = begin(api, data)
    parts = pieces(plan, data)
    signed = {p["part_number"]: p for p in sign(api, plan["upload_id"], {1: crc64(parts[1])})}
    corrupted = bytearray(parts[1])
    corrupted[12345] ^= 0x01
    # When one flipped byte goes out with it
    refused = put(signed[1], bytes(corrupted))
    # Then S3 refuses it and holds nothing for that part; the true bytes then go through
    assert refused.status_code == 400 and "<Code>BadDigest</Code>" in refused.text
    assert api.status(plan["upload_id"])["parts"] == []
    assert put(signed[1], parts[1]).status_code == 200
    api.call("DELETE", f"/v1/uploads/{plan['upload_id']}")


def test_a_wrong_whole_file_checksum_is_409_and_nothing_is_stored(api: Api, strict_s3: bool):
    needs_strict(strict_s3)
    # Given every part uploaded with its own, right, checksum
    data = os.urandom(6 * MIB)
    plan = begin(api, data)
    parts = pieces(plan, data)
    for part in sign(api, plan["upload_id"], {n: crc64(p) for n, p in parts.items()}):
        assert put(part, parts[part["part_number"]]).status_code == 200
    # (and the status lists each part's checksum as S3 holds it)
    listed = api.status(plan["upload_id"])["parts"]
    assert [p["checksum"] for p in listed] == [crc64(parts[n]) for n in sorted(parts)]
    # When complete is asked with the checksum of other bytes
    wrong = api.complete(plan["upload_id"], checksum=crc64(data[:-1] + b"!"))
    # Then 409 CHECKSUM_MISMATCH, no file; the right checksum still completes it
    assert wrong.status_code == 409, wrong.text
    assert wrong.json()["error"]["code"] == "CHECKSUM_MISMATCH"
    assert api.call("HEAD", "/v1/files/" + quote(plan["key"])).status_code == 404
    right = api.complete(plan["upload_id"], checksum=crc64(data))
    assert right.status_code == 200, right.text
    assert info(api, plan["key"])["checksum"]["value"] == crc64(data)


def test_a_draft_with_a_checksum_pins_it_in_its_post_policy(api: Api, strict_s3: bool):
    # Given a draft created with the file's checksum
    data = b"pinned draft\n" * 10
    created = api.create_draft(
        size=len(data),
        content_type="text/plain",
        checksum_algorithm="CRC64NVME",
        checksum=crc64(data),
    )
    assert created.status_code == 201, created.text
    upload = created.json()["upload"]
    # Then the form carries the algorithm and the value, and the policy demands both
    fields = upload["fields"]
    assert fields["x-amz-checksum-algorithm"] == "CRC64NVME" and fields[HEADER] == crc64(data)
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"x-amz-checksum-algorithm": "CRC64NVME"} in policy["conditions"]
    assert {HEADER: crc64(data)} in policy["conditions"]
    # And the right bytes go in (and, where S3 is strict, other bytes do not)
    if strict_s3:
        assert post_form(upload, data[:-1] + b"?").status_code in (400, 403)
    assert post_form(upload, data).status_code in (200, 201, 204)


def test_a_draft_checksum_without_its_algorithm_is_400(api: Api):
    answer = api.create_draft(size=3, checksum=crc64(b"abc"), file_name=unique_name(".txt"))
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "checksum_algorithm"
