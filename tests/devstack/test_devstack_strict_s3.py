"""The strict local S3 (devstack.strict_s3): every refusal S3 makes and moto does not,
each by a real HTTP request to devstack's moto server, beside the request S3 accepts.

Presigned URLs and POST forms come from boto3 itself; a clock in the past is botocore's
own (`get_current_datetime`), moved back, so an expired URL is a real one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import os
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import botocore.auth
import botocore.httpchecksum
import pytest
import requests
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from devstack import aws, s3_checksums

BUCKET = "strict-bucket"
OTHER_BUCKET = "strict-other"
MIB = 1024 * 1024
APP = "http://app.example"
CREDENTIALS = Credentials(aws.ACCESS_KEY_ID, aws.SECRET_ACCESS_KEY)


@pytest.fixture(scope="module")
def server() -> Iterator[aws.MotoServer]:
    server = aws.MotoServer(0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def endpoint(server: aws.MotoServer) -> Iterator[str]:
    url = server.endpoint
    s3 = aws.s3_client(url)
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket=OTHER_BUCKET)
    rule = {"AllowedMethods": ["PUT", "POST"], "AllowedOrigins": [APP], "ExposeHeaders": ["ETag"]}
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [rule]})
    yield url


@pytest.fixture
def s3(endpoint: str) -> Any:
    return aws.s3_client(endpoint)


def error_of(answer: requests.Response) -> tuple[int, str]:
    code = answer.text.partition("<Code>")[2].partition("</Code>")[0]
    return answer.status_code, code


def client_error(call: Callable[[], Any]) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return (
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Code"],
        error["Error"].get("Message", ""),
    )


def clock_back(monkeypatch: pytest.MonkeyPatch, delta: timedelta) -> None:
    """botocore signs as if it were `delta` ago (its own signer, and awscrt's when present)."""
    real = botocore.auth.get_current_datetime

    def earlier(*args: Any, **kwargs: Any) -> Any:
        return real(*args, **kwargs) - delta

    monkeypatch.setattr(botocore.auth, "get_current_datetime", earlier)
    if botocore.auth.HAS_CRT:
        crt_auth = importlib.import_module("botocore.crt.auth")
        monkeypatch.setattr(crt_auth, "get_current_datetime", earlier)


def checksum(algorithm: str, data: bytes) -> str:
    return s3_checksums.encoded(s3_checksums.digest(algorithm, data))


# --------------------------------------------------------- signatures, expiry


def test_a_presigned_get_is_served_in_its_life_and_403_once_expired(s3: Any, monkeypatch):
    # Given an object, a fresh URL and one signed two hours ago for one hour
    s3.put_object(Bucket=BUCKET, Key="life", Body=b"alive")
    params = {"Bucket": BUCKET, "Key": "life"}
    fresh = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=3600)
    clock_back(monkeypatch, timedelta(hours=2))
    stale = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=3600)
    # When / Then
    assert requests.get(fresh, timeout=10).content == b"alive"
    answer = requests.get(stale, timeout=10)
    assert error_of(answer) == (403, "AccessDenied")
    assert "<Message>Request has expired</Message>" in answer.text


def test_expires_is_at_most_a_week(s3: Any):
    params = {"Bucket": BUCKET, "Key": "week"}
    s3.put_object(Bucket=BUCKET, Key="week", Body=b"7")
    week = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=604800)
    longer = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=604801)
    assert requests.get(week, timeout=10).status_code == 200
    assert error_of(requests.get(longer, timeout=10)) == (400, "AuthorizationQueryParametersError")


def test_a_forged_or_redirected_presigned_url_is_403(s3: Any):
    # Given a presigned PUT
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "forge"})
    signature = parse_qs(urlparse(url).query)["X-Amz-Signature"][0]
    forged = url.replace(signature, signature[:-1] + ("0" if signature[-1] != "0" else "1"))
    elsewhere = url.replace("/forge?", "/other?")
    # When / Then: changed signature, changed key, then the URL as signed
    assert error_of(requests.put(forged, data=b"x", timeout=10)) == (403, "SignatureDoesNotMatch")
    assert error_of(requests.put(elsewhere, data=b"x", timeout=10)) == (
        403,
        "SignatureDoesNotMatch",
    )
    assert requests.put(url, data=b"x", timeout=10).status_code == 200


def test_a_refusal_carries_the_buckets_cors_headers_for_an_allowed_origin(s3: Any):
    # Given a forged URL, sent from the bucket's allowed origin and from another
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "cors"})
    forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    allowed = requests.put(forged, data=b"x", headers={"Origin": APP}, timeout=10)
    other = requests.put(forged, data=b"x", headers={"Origin": "http://else.example"}, timeout=10)
    # Then a browser on the app can read the error; elsewhere it cannot
    assert error_of(allowed) == error_of(other) == (403, "SignatureDoesNotMatch")
    assert allowed.headers["Access-Control-Allow-Origin"] == APP
    assert allowed.headers["Access-Control-Expose-Headers"] == "ETag"
    assert "Access-Control-Allow-Origin" not in other.headers


def test_header_auth_needs_the_local_key_and_secret(endpoint: str, s3: Any):
    def client(key: str, secret: str) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=aws.REGION,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=aws.S3_CONFIG,
        )

    wrong_secret = client(aws.ACCESS_KEY_ID, "not-the-secret")
    wrong_key = client("AKIAOTHER", aws.SECRET_ACCESS_KEY)
    put = {"Bucket": BUCKET, "Key": "who", "Body": b"me"}
    assert client_error(lambda: wrong_secret.put_object(**put))[:2] == (
        403,
        "SignatureDoesNotMatch",
    )
    assert client_error(lambda: wrong_key.put_object(**put))[:2] == (403, "InvalidAccessKeyId")
    assert s3.put_object(**put)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_request_signed_long_ago_is_too_skewed(s3: Any, monkeypatch):
    clock_back(monkeypatch, timedelta(minutes=20))
    late = client_error(lambda: s3.head_bucket(Bucket=BUCKET))
    assert late[:2] == (403, "403")  # HEAD: no body, boto3 only sees the status
    status, code, _ = client_error(lambda: s3.list_objects_v2(Bucket=BUCKET))
    assert (status, code) == (403, "RequestTimeTooSkewed")
    monkeypatch.undo()
    assert s3.list_objects_v2(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_an_anonymous_request_is_403(endpoint: str, s3: Any):
    s3.put_object(Bucket=BUCKET, Key="private", Body=b"p")
    assert error_of(requests.get(f"{endpoint}/{BUCKET}/private", timeout=10)) == (
        403,
        "AccessDenied",
    )


def signed_put(endpoint: str, key: str, body: bytes, headers: dict[str, str] | None = None):
    """A header-auth PUT signed by botocore over `body`: x-amz-content-sha256 is its hash."""
    request = AWSRequest(method="PUT", url=f"{endpoint}/{BUCKET}/{key}", data=body)
    for name, value in (headers or {}).items():
        request.headers[name] = value
    S3SigV4Auth(CREDENTIALS, "s3", aws.REGION).add_auth(request)
    return dict(request.headers.items())


def test_a_body_other_than_the_signed_hash_is_refused(endpoint: str):
    headers = signed_put(endpoint, "hashed", b"aaaa")
    other = requests.put(f"{endpoint}/{BUCKET}/hashed", data=b"bbbb", headers=headers, timeout=10)
    assert error_of(other) == (400, "XAmzContentSHA256Mismatch")
    same = requests.put(f"{endpoint}/{BUCKET}/hashed", data=b"aaaa", headers=headers, timeout=10)
    assert same.status_code == 200


def test_a_body_of_another_length_than_the_signed_one_is_refused(s3: Any):
    # Given a part URL that signs ContentLength, as the API's are
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="sized")["UploadId"]
    url = s3.generate_presigned_url(
        "upload_part",
        Params={
            "Bucket": BUCKET,
            "Key": "sized",
            "UploadId": upload,
            "PartNumber": 1,
            "ContentLength": 5,
        },
    )
    assert "content-length" in parse_qs(urlparse(url).query)["X-Amz-SignedHeaders"][0]
    # When / Then
    assert error_of(requests.put(url, data=b"123456", timeout=10)) == (403, "SignatureDoesNotMatch")
    assert error_of(requests.put(url, data=b"1234", timeout=10)) == (403, "SignatureDoesNotMatch")
    assert requests.put(url, data=b"12345", timeout=10).status_code == 200


def test_an_unsigned_amz_header_on_a_presigned_url_is_403(s3: Any):
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "meta"})
    answer = requests.put(url, data=b"m", headers={"x-amz-meta-colour": "red"}, timeout=10)
    assert error_of(answer) == (403, "AccessDenied")
    assert "<HeadersNotSigned>x-amz-meta-colour</HeadersNotSigned>" in answer.text
    assert requests.put(url, data=b"m", timeout=10).status_code == 200


def raw_put(url: str, head: dict[str, str], body: bytes) -> tuple[int, str]:
    """A PUT written by hand on a socket (its framing is the test), half-closed after
    the body; returns S3's status and error code."""
    parts = urlparse(url)
    lines = [f"PUT {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in head.items()]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"<Code>")[2].partition(b"</Code>")[0].decode()


def test_a_put_must_say_its_length_and_send_all_of_it(s3: Any):
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "framed"})
    chunked = {"Transfer-Encoding": "chunked"}
    assert raw_put(url, {}, b"") == (411, "MissingContentLength")
    assert raw_put(url, chunked, b"3\r\nabc\r\n0\r\n\r\n") == (501, "NotImplemented")
    assert raw_put(url, {"Content-Length": "10"}, b"short") == (400, "IncompleteBody")
    assert raw_put(url, {"Content-Length": "5"}, b"whole") == (200, "")


# ------------------------------------------------------------------ checksums


@pytest.mark.parametrize("algorithm", s3_checksums.ALGORITHMS)
def test_a_checksum_header_is_checked_against_the_body(s3: Any, algorithm: str):
    # Given a checksum of other bytes, then boto3 computing the right one
    wrong = {f"Checksum{algorithm}": checksum(algorithm, b"other bytes")}
    put = {"Bucket": BUCKET, "Key": f"sum-{algorithm}", "Body": b"these bytes"}
    # When / Then
    status, code, message = client_error(lambda: s3.put_object(**put, **wrong))
    assert (status, code) == (400, "BadDigest")
    assert message == f"The {algorithm} you specified did not match the calculated checksum."
    stored = s3.put_object(**put, ChecksumAlgorithm=algorithm)
    head = s3.head_object(Bucket=BUCKET, Key=put["Key"], ChecksumMode="ENABLED")
    expected = checksum(algorithm, b"these bytes")
    assert stored[f"Checksum{algorithm}"] == head[f"Checksum{algorithm}"] == expected
    assert head["ChecksumType"] == "FULL_OBJECT"


def test_a_signed_checksum_header_of_a_presigned_put_is_enforced(s3: Any):
    # Given a presigned PUT that signs the checksum header (botocore does not hoist it)
    value = checksum("CRC32", b"signed")
    params = {"Bucket": BUCKET, "Key": "signed-sum", "ChecksumCRC32": value}
    url = s3.generate_presigned_url("put_object", Params=params)
    assert "x-amz-checksum-crc32" in parse_qs(urlparse(url).query)["X-Amz-SignedHeaders"][0]
    header = {"x-amz-checksum-crc32": value}
    # When / Then: other bytes, the header left out, then the signed bytes
    corrupt = requests.put(url, data=b"signeD", headers=header, timeout=10)
    assert error_of(corrupt) == (400, "BadDigest")
    assert error_of(requests.put(url, data=b"signed", timeout=10)) == (403, "SignatureDoesNotMatch")
    assert requests.put(url, data=b"signed", headers=header, timeout=10).status_code == 200


def test_a_checksum_in_the_query_of_a_presigned_url_is_signed_but_ignored(endpoint: str):
    # Given a URL presigned with a wrong CRC32 as a query parameter (what hoisting SDKs do)
    request = AWSRequest(
        method="PUT", url=f"{endpoint}/{BUCKET}/hoisted?x-amz-checksum-crc32=AAAAAA%3D%3D"
    )
    S3SigV4QueryAuth(CREDENTIALS, "s3", aws.REGION, expires=60).add_auth(request)
    # When / Then: S3 stores the bytes; changing the signed parameter is still refused
    assert requests.put(request.url, data=b"abc", timeout=10).status_code == 200
    changed = request.url.replace("AAAAAA%3D%3D", "AAAAAB%3D%3D")
    assert error_of(requests.put(changed, data=b"abc", timeout=10)) == (
        403,
        "SignatureDoesNotMatch",
    )


def test_checksum_headers_that_are_malformed_or_missing_are_400(endpoint: str):
    body = b"data"
    cases = [
        ({"x-amz-checksum-crc32": "not base64!"}, "InvalidRequest"),
        ({"x-amz-checksum-crc32": checksum("SHA256", body)}, "InvalidRequest"),  # wrong size
        ({"x-amz-sdk-checksum-algorithm": "CRC32"}, "InvalidRequest"),
        (
            {"x-amz-checksum-crc32": checksum("CRC32", body), "x-amz-checksum-sha1": "x"},
            "InvalidRequest",
        ),
        ({"Content-MD5": base64.b64encode(b"short").decode()}, "InvalidDigest"),
        ({"Content-MD5": base64.b64encode(hashlib.md5(b"other").digest()).decode()}, "BadDigest"),
    ]
    for extra, code in cases:
        headers = signed_put(endpoint, "malformed", body, extra)
        answer = requests.put(
            f"{endpoint}/{BUCKET}/malformed", data=body, headers=headers, timeout=10
        )
        assert error_of(answer) == (400, code), extra
    good = {
        "x-amz-checksum-crc32": checksum("CRC32", body),
        "Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode(),
    }
    headers = signed_put(endpoint, "malformed", body, good)
    answer = requests.put(f"{endpoint}/{BUCKET}/malformed", data=body, headers=headers, timeout=10)
    assert answer.status_code == 200


def test_an_object_put_without_a_checksum_gets_s3s_default_crc64nvme(s3: Any):
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "default"})
    assert requests.put(url, data=b"no checksum sent", timeout=10).status_code == 200
    head = s3.head_object(Bucket=BUCKET, Key="default", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == checksum("CRC64NVME", b"no checksum sent")
    assert head["ChecksumType"] == "FULL_OBJECT"


# ------------------------------------------------- aws-chunked, boto3's trailer


@pytest.fixture
def trailing(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 sends its default trailer form (STREAMING-UNSIGNED-PAYLOAD-TRAILER, aws-chunked,
    a trailing x-amz-checksum-crc32) over HTTPS only; make it take this endpoint for one."""
    real = botocore.httpchecksum.urlparse
    monkeypatch.setattr(
        botocore.httpchecksum, "urlparse", lambda url: real(url.replace("http:", "https:", 1))
    )


def test_boto3s_trailing_checksum_is_decoded_and_checked(s3: Any, trailing: None):
    # Given boto3's own aws-chunked PUT, once as sent and once with a byte flipped in flight
    sent: list[dict[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        headers = request.headers.items()
        sent.append({str(k).lower(): v.decode() if isinstance(v, bytes) else v for k, v in headers})

    def flip(request: Any, **_: Any) -> None:
        body = request.body.read() if hasattr(request.body, "read") else bytes(request.body)
        request.body = body.replace(b"payload", b"paYload")

    s3.meta.events.register("before-send.s3.PutObject", record)
    stored = s3.put_object(Bucket=BUCKET, Key="chunked", Body=b"the payload")
    assert sent[0]["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert sent[0]["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert s3.get_object(Bucket=BUCKET, Key="chunked")["Body"].read() == b"the payload"
    assert stored["ChecksumCRC32"] == checksum("CRC32", b"the payload")
    # When a byte is flipped
    s3.meta.events.register_first("before-send.s3.PutObject", flip)
    status, code, _ = client_error(
        lambda: s3.put_object(Bucket=BUCKET, Key="chunked", Body=b"new payload")
    )
    # Then
    assert (status, code) == (400, "BadDigest")
    assert s3.get_object(Bucket=BUCKET, Key="chunked")["Body"].read() == b"the payload"


def signed_chunks(endpoint: str, key: str, chunks: list[bytes]) -> tuple[dict[str, str], bytes]:
    """A STREAMING-AWS4-HMAC-SHA256-PAYLOAD PUT built from the AWS docs' recipe: the seed
    signature by botocore, each chunk's chained to the previous one by hand."""
    streaming = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    encoded_length = sum(
        len(f"{len(c):x};chunk-signature={'0' * 64}\r\n\r\n") + len(c) for c in chunks
    )
    encoded_length += len(f"0;chunk-signature={'0' * 64}\r\n\r\n")
    request = AWSRequest(method="PUT", url=f"{endpoint}/{BUCKET}/{key}")
    request.headers["X-Amz-Content-SHA256"] = streaming
    request.headers["Content-Encoding"] = "aws-chunked"
    request.headers["X-Amz-Decoded-Content-Length"] = str(sum(map(len, chunks)))
    request.headers["Content-Length"] = str(encoded_length)
    botocore.auth.SigV4Auth(CREDENTIALS, "s3", aws.REGION).add_auth(request)
    headers = dict(request.headers.items())
    amz_date = headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/{aws.REGION}/s3/aws4_request"
    key_bytes = f"AWS4{aws.SECRET_ACCESS_KEY}".encode()
    for part in (amz_date[:8], aws.REGION, "s3", "aws4_request"):
        key_bytes = hmac.new(key_bytes, part.encode(), hashlib.sha256).digest()
    previous = headers["Authorization"].rpartition("Signature=")[2]
    body = b""
    for chunk in [*chunks, b""]:
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                amz_date,
                scope,
                previous,
                hashlib.sha256(b"").hexdigest(),
                hashlib.sha256(chunk).hexdigest(),
            ]
        )
        previous = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
        body += f"{len(chunk):x};chunk-signature={previous}\r\n".encode() + chunk + b"\r\n"
    assert len(body) == encoded_length
    return headers, body


def test_signed_chunks_are_checked_one_by_one(endpoint: str, s3: Any):
    # Given a body sent in two signed chunks, and the same with one byte changed
    headers, body = signed_chunks(endpoint, "signed-chunks", [b"first chunk ", b"second chunk"])
    tampered = body.replace(b"second", b"Second")
    url = f"{endpoint}/{BUCKET}/signed-chunks"
    # When / Then
    refused = requests.put(url, data=tampered, headers=headers, timeout=10)
    assert error_of(refused) == (403, "SignatureDoesNotMatch")
    assert requests.put(url, data=body, headers=headers, timeout=10).status_code == 200
    stored = s3.get_object(Bucket=BUCKET, Key="signed-chunks")["Body"].read()
    assert stored == b"first chunk second chunk"


# ------------------------------------------------------------------ multipart


def part_url(s3: Any, key: str, upload: str, number: int) -> str:
    params = {"Bucket": BUCKET, "Key": key, "UploadId": upload, "PartNumber": number}
    return str(s3.generate_presigned_url("upload_part", Params=params))


def test_a_part_with_a_checksum_for_an_upload_created_without_is_400(s3: Any):
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="plain")["UploadId"]
    status, code, message = client_error(
        lambda: s3.upload_part(
            Bucket=BUCKET, Key="plain", UploadId=upload, PartNumber=1, Body=b"x"
        )  # boto3 adds CRC32 by default
    )
    assert (status, code) == (400, "InvalidRequest")
    assert message == (
        "Checksum Type mismatch occurred, expected checksum Type: null, actual checksum Type: crc32"
    )
    assert requests.put(part_url(s3, "plain", upload, 1), data=b"x", timeout=10).status_code == 200


def test_a_corrupted_part_through_a_url_that_signs_its_checksum_is_bad_digest(s3: Any):
    # Given a CRC64NVME upload and a part URL signing the part's checksum, as the API signs
    created = s3.create_multipart_upload(
        Bucket=BUCKET, Key="corrupt", ChecksumAlgorithm="CRC64NVME", ChecksumType="FULL_OBJECT"
    )
    value = checksum("CRC64NVME", b"part bytes")
    params = {"Bucket": BUCKET, "Key": "corrupt", "UploadId": created["UploadId"]}
    url = s3.generate_presigned_url(
        "upload_part", Params={**params, "PartNumber": 1, "ChecksumCRC64NVME": value}
    )
    header = {"x-amz-checksum-crc64nvme": value}
    # When a byte flips on the way, then the part arrives intact
    flipped = requests.put(url, data=b"part byteS", headers=header, timeout=10)
    intact = requests.put(url, data=b"part bytes", headers=header, timeout=10)
    # Then
    assert error_of(flipped) == (400, "BadDigest")
    assert intact.status_code == 200
    listed = s3.list_parts(**params)
    assert [(p["PartNumber"], p["Size"], p["ChecksumCRC64NVME"]) for p in listed["Parts"]] == [
        (1, 10, value)
    ]
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("CRC64NVME", "FULL_OBJECT")


def test_a_part_with_another_algorithm_than_the_uploads_is_400(s3: Any):
    created = s3.create_multipart_upload(Bucket=BUCKET, Key="algo", ChecksumAlgorithm="SHA256")
    part = {"Bucket": BUCKET, "Key": "algo", "UploadId": created["UploadId"], "PartNumber": 1}
    status, code, message = client_error(
        lambda: s3.upload_part(**part, Body=b"x", ChecksumAlgorithm="CRC32")
    )
    assert (status, code) == (400, "InvalidRequest")
    assert "expected checksum Type: sha256, actual checksum Type: crc32" in message
    assert s3.upload_part(**part, Body=b"x", ChecksumAlgorithm="SHA256")["ChecksumSHA256"]


@pytest.mark.parametrize(
    ("algorithm", "kind", "code"),
    [
        ("SHA256", "FULL_OBJECT", "InvalidRequest"),
        ("SHA1", "FULL_OBJECT", "InvalidRequest"),
        ("CRC64NVME", "COMPOSITE", "InvalidRequest"),
        ("CRC32", "COMPOSITE", None),
        ("CRC32C", "FULL_OBJECT", None),
    ],
)
def test_create_takes_only_the_checksum_types_s3_has(s3: Any, algorithm, kind, code):
    create = {"Bucket": BUCKET, "Key": "kinds", "ChecksumAlgorithm": algorithm}
    if code is None:
        assert s3.create_multipart_upload(**create, ChecksumType=kind)["UploadId"]
    else:
        assert client_error(lambda: s3.create_multipart_upload(**create, ChecksumType=kind))[
            :2
        ] == (400, code)


def two_parts(s3: Any, key: str, upload: str, algorithm: str) -> tuple[bytes, list[dict]]:
    data = [b"a" * (5 * MIB), b"tail"]
    parts = []
    for number, chunk in enumerate(data, start=1):
        answer = s3.upload_part(
            Bucket=BUCKET,
            Key=key,
            UploadId=upload,
            PartNumber=number,
            Body=chunk,
            ChecksumAlgorithm=algorithm,
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    return b"".join(data), parts


@pytest.mark.parametrize("algorithm", s3_checksums.FULL_OBJECT_ALGORITHMS)
def test_a_full_object_checksum_is_checked_at_complete(s3: Any, algorithm: str):
    # Given a FULL_OBJECT upload of two parts
    key = f"whole-{algorithm}"
    upload = s3.create_multipart_upload(
        Bucket=BUCKET, Key=key, ChecksumAlgorithm=algorithm, ChecksumType="FULL_OBJECT"
    )["UploadId"]
    data, parts = two_parts(s3, key, upload, algorithm)
    complete = {"Bucket": BUCKET, "Key": key, "UploadId": upload, "ChecksumType": "FULL_OBJECT"}
    complete["MultipartUpload"] = {"Parts": parts}
    field = f"Checksum{algorithm}"
    # When the whole-file checksum is another file's, then the file's own
    wrong = checksum(algorithm, data + b"!")
    status, code, _ = client_error(
        lambda: s3.complete_multipart_upload(**complete, **{field: wrong})
    )
    right = checksum(algorithm, data)
    done = s3.complete_multipart_upload(**complete, **{field: right})
    # Then the first is refused and nothing stored, the second stored and reported
    assert (status, code) == (400, "BadDigest")
    assert (done[field], done["ChecksumType"]) == (right, "FULL_OBJECT")
    head = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    assert (head[field], head["ChecksumType"]) == (right, "FULL_OBJECT")
    attributes = s3.get_object_attributes(Bucket=BUCKET, Key=key, ObjectAttributes=["Checksum"])
    assert attributes["Checksum"][field] == right  # moto's own record (its CRC32C fixed)


def test_complete_with_another_checksum_type_is_bad_digest(s3: Any):
    created = s3.create_multipart_upload(
        Bucket=BUCKET, Key="typed", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT"
    )
    _, parts = two_parts(s3, "typed", created["UploadId"], "CRC32")
    complete = {"Bucket": BUCKET, "Key": "typed", "UploadId": created["UploadId"]}
    complete["MultipartUpload"] = {"Parts": parts}
    assert client_error(lambda: s3.complete_multipart_upload(**complete, ChecksumType="COMPOSITE"))[
        :2
    ] == (400, "BadDigest")
    assert s3.complete_multipart_upload(**complete, ChecksumType="FULL_OBJECT")["ETag"]


def test_a_composite_upload_lists_every_parts_checksum_at_complete(s3: Any):
    # Given a COMPOSITE SHA-256 upload
    created = s3.create_multipart_upload(Bucket=BUCKET, Key="composite", ChecksumAlgorithm="SHA256")
    upload = created["UploadId"]
    data, parts = two_parts(s3, "composite", upload, "SHA256")
    sums = [checksum("SHA256", data[: 5 * MIB]), checksum("SHA256", data[5 * MIB :])]
    complete = {"Bucket": BUCKET, "Key": "composite", "UploadId": upload}
    # When the parts come without their checksums, with a wrong one, then with theirs
    missing = client_error(
        lambda: s3.complete_multipart_upload(**complete, MultipartUpload={"Parts": parts})
    )
    wrong = [{**parts[0], "ChecksumSHA256": sums[1]}, {**parts[1], "ChecksumSHA256": sums[1]}]
    mismatch = client_error(
        lambda: s3.complete_multipart_upload(**complete, MultipartUpload={"Parts": wrong})
    )
    listed = [{**p, "ChecksumSHA256": s} for p, s in zip(parts, sums, strict=True)]
    raw = b"".join(base64.b64decode(s) for s in sums)
    whole = f"{checksum('SHA256', raw)}-2"
    not_whole = client_error(
        lambda: s3.complete_multipart_upload(
            **complete, MultipartUpload={"Parts": listed}, ChecksumSHA256=f"{sums[0]}-2"
        )
    )
    done = s3.complete_multipart_upload(
        **complete, MultipartUpload={"Parts": listed}, ChecksumSHA256=whole
    )
    # Then
    assert missing[:2] == (400, "InvalidRequest")
    assert "It was missing for part 1 in the request." in missing[2]
    assert mismatch[:2] == (400, "InvalidPart")
    assert not_whole[:2] == (400, "BadDigest")
    assert done["ChecksumSHA256"] == whole
    assert done["ChecksumType"] == "COMPOSITE"


def test_an_upload_created_without_a_checksum_gets_s3s_default_crc64nvme(s3: Any):
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="plain-whole")["UploadId"]
    data = [b"b" * (5 * MIB), b"end"]
    parts = []
    for number, chunk in enumerate(data, start=1):
        answer = requests.put(part_url(s3, "plain-whole", upload, number), data=chunk, timeout=30)
        parts.append({"PartNumber": number, "ETag": answer.headers["ETag"]})
    s3.complete_multipart_upload(
        Bucket=BUCKET, Key="plain-whole", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    head = s3.head_object(Bucket=BUCKET, Key="plain-whole", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == checksum("CRC64NVME", b"".join(data))
    assert head["ChecksumType"] == "FULL_OBJECT"
    # and moto (whose complete devstack replaces, for speed) stored the parts in order,
    # with S3's multipart ETag
    stored = s3.get_object(Bucket=BUCKET, Key="plain-whole")["Body"].read()
    assert stored == b"".join(data)
    md5s = b"".join(hashlib.md5(chunk, usedforsecurity=False).digest() for chunk in data)
    assert head["ETag"] == f'"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-2"'


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1"])
def test_a_completed_object_is_its_parts_in_order_however_it_is_read(s3: Any, algorithm: str):
    # Given a COMPOSITE upload of parts that live in moto's temporary files (over 5 MiB),
    # whose files devstack hands to the object at complete instead of copying them
    key = f"taken-{algorithm}"
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm=algorithm)
    data = [b"x" * (6 * MIB - 1) + b"|", b"y" * (6 * MIB), b"end"]
    parts = []
    for number, chunk in enumerate(data, start=1):
        answer = s3.upload_part(
            Bucket=BUCKET,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=chunk,
            ChecksumAlgorithm=algorithm,
        )
        parts.append(
            {
                "PartNumber": number,
                "ETag": answer["ETag"],
                f"Checksum{algorithm}": answer[f"Checksum{algorithm}"],
            }
        )
    # When it completes, and is read whole, in a range across two parts, and copied
    s3.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    whole = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    edge = f"bytes={6 * MIB - 2}-{6 * MIB + 1}"
    ranged = s3.get_object(Bucket=BUCKET, Key=key, Range=edge)["Body"].read()
    s3.copy_object(Bucket=BUCKET, Key=f"{key}-copy", CopySource={"Bucket": BUCKET, "Key": key})
    # (read by URL: moto gives the copy the source's COMPOSITE value as a whole-object
    # checksum, which boto3 would check against the bytes and refuse)
    copy_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": f"{key}-copy"}
    )
    copied = requests.get(copy_url, timeout=30).content
    attributes = s3.get_object_attributes(Bucket=BUCKET, Key=key, ObjectAttributes=["Checksum"])
    # Then each is the parts' bytes in order, and moto's own record of the checksum is
    # S3's COMPOSITE one: the checksum of the parts' checksums
    assert whole == copied == b"".join(data)
    assert ranged == b"x|yy"
    raw = b"".join(s3_checksums.digest(algorithm, chunk) for chunk in data)
    assert attributes["Checksum"][f"Checksum{algorithm}"] == checksum(algorithm, raw)
    # and the object goes away whole (its files closed with it)
    for name in (key, f"{key}-copy"):
        s3.delete_object(Bucket=BUCKET, Key=name)
    assert client_error(lambda: s3.head_object(Bucket=BUCKET, Key=key))[0] == 404


def held_bytes(pid: int) -> int:
    """The size of the deleted files (moto's temporary ones) a process holds open."""
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if "(deleted)" in os.readlink(fd):
                held += fd.stat().st_size
        except OSError:
            continue  # closed meanwhile
    return held


def test_listing_versions_copies_no_bytes_and_a_deleted_object_holds_none(server: Any, s3: Any):
    # Given an object large enough for a temporary file of moto's
    pid = server.pid
    body = b"z" * (6 * MIB)
    start = held_bytes(pid)
    s3.put_object(Bucket=BUCKET, Key="held", Body=body)
    stored = held_bytes(pid) - start
    # When its versions are listed twice (moto deep-copies each version to list it),
    # then it is deleted by its version, as a purge does
    listings = [s3.list_object_versions(Bucket=BUCKET, Prefix="held") for _ in range(2)]
    listed = held_bytes(pid) - start
    s3.delete_object(Bucket=BUCKET, Key="held", VersionId=listings[0]["Versions"][0]["VersionId"])
    deleted = held_bytes(pid) - start
    # Then the listings name it with its own facts, and the bytes of one copy are held
    # while it lives, none once it is gone
    versions = [listing["Versions"] for listing in listings]
    assert [(v[0]["Key"], v[0]["Size"], v[0]["IsLatest"]) for v in versions] == [
        ("held", len(body), True)
    ] * 2
    assert versions[0][0]["ETag"] == f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
    assert (stored, listed, deleted) == (len(body), len(body), 0)


# ---------------------------------------------------------------- POST policy


def form(s3: Any, key: str = "form/a.txt", **options: Any) -> dict[str, Any]:
    post: dict[str, Any] = s3.generate_presigned_post(BUCKET, key, **options)
    return post


def post(target: dict[str, Any], data: bytes, **fields: str) -> requests.Response:
    return requests.post(
        target["url"], data={**target["fields"], **fields}, files={"file": ("a", data)}, timeout=10
    )


def test_a_post_form_is_stored_only_with_its_own_signature(s3: Any):
    target = form(s3)
    forged = {**target, "fields": {**target["fields"], "x-amz-signature": "0" * 64}}
    assert error_of(post(forged, b"hi")) == (403, "SignatureDoesNotMatch")
    assert post(target, b"hi").status_code == 204
    assert s3.get_object(Bucket=BUCKET, Key="form/a.txt")["Body"].read() == b"hi"


def test_an_expired_post_policy_is_403(s3: Any):
    expired = form(s3, ExpiresIn=-60)
    answer = post(expired, b"late")
    assert error_of(answer) == (403, "AccessDenied")
    assert "Invalid according to Policy: Policy expired." in answer.text
    assert post(form(s3, ExpiresIn=60), b"late").status_code == 204


def test_content_length_range_refuses_too_large_and_too_small(s3: Any):
    target = form(s3, Conditions=[["content-length-range", 2, 4]])
    assert error_of(post(target, b"12345")) == (400, "EntityTooLarge")
    assert error_of(post(target, b"1")) == (400, "EntityTooSmall")
    assert post(target, b"1234").status_code == 204


def test_every_policy_condition_is_checked(s3: Any):
    # Given a form that pins a key prefix, a content type and a metadata field
    target = form(
        s3,
        key="form/${filename}",
        Fields={"Content-Type": "text/plain", "x-amz-meta-colour": "red"},
        Conditions=[
            ["starts-with", "$key", "form/"],
            {"Content-Type": "text/plain"},
            ["eq", "$x-amz-meta-colour", "red"],
        ],
    )
    # When one field at a time is changed
    for name, value in [
        ("key", "other/a"),
        ("Content-Type", "text/html"),
        ("x-amz-meta-colour", "blue"),
    ]:
        answer = post(target, b"c", **{name: value})
        # Then
        assert error_of(answer) == (403, "AccessDenied"), name
        assert "Invalid according to Policy: Policy Condition failed" in answer.text
    assert post(target, b"c", key="form/b").status_code == 204


def test_a_post_to_another_bucket_is_refused(s3: Any, endpoint: str):
    target = form(s3)
    elsewhere = {**target, "url": f"{endpoint}/{OTHER_BUCKET}"}
    answer = post(elsewhere, b"x")
    assert error_of(answer) == (403, "AccessDenied")
    assert '["eq", "$bucket", "strict-bucket"]' in answer.text


def test_fields_the_policy_does_not_cover_are_refused(s3: Any):
    target = form(s3)
    answer = post(target, b"x", **{"x-amz-meta-extra": "1"})
    assert error_of(answer) == (403, "AccessDenied")
    assert "Extra input fields: x-amz-meta-extra" in answer.text
    assert post(target, b"x", **{"x-ignore-note": "1"}).status_code == 204


def test_a_post_forms_checksum_fields_are_checked_against_the_file(s3: Any):
    value = checksum("CRC32", b"form bytes")
    fields = {"x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-crc32": value}
    target = form(s3, Fields=fields, Conditions=[{k: v} for k, v in fields.items()])
    assert error_of(post(target, b"form byteZ")) == (400, "BadDigest")
    assert post(target, b"form bytes").status_code == 204
