"""Checksums through the handlers and the real S3 adapter, under moto.

moto accepts wrong checksums, so what S3 refuses is proved in tests/e2e against the
strict local S3; here: what we ask of S3 (the algorithm at create, the checksum header
signed into the part URL, ChecksumMode on HeadObject) and how S3's refusal is answered.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from awscrt import checksums
from botocore.stub import Stubber

from stowage.adapters.s3 import S3ObjectStore
from stowage.domain.ports import Digest, StoredPart
from stowage.errors import ChecksumMismatchError, StorageError
from tests.integration.conftest import Invoke
from tests.support.events import load_event

MIB = 1024 * 1024
DEV = {"client_id": "dev", "role": "user", "key_prefix": "", "max_file_size": 100 * MIB}


def crc64(data: bytes) -> str:
    return base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()


def call(invoke: Invoke, name: str, upload_id: str | None = None, **kwargs: Any) -> Any:
    path = {"upload_id": upload_id} if upload_id else None
    return invoke(name, load_event(name, path_parameters=path, caller=DEV, **kwargs))


def start(invoke: Invoke, size: int, algorithm: str | None = "CRC64NVME") -> dict[str, Any]:
    body: dict[str, Any] = {"file_name": "data.bin", "size": size}
    if algorithm:
        body["checksum_algorithm"] = algorithm
    answer = call(invoke, "upload_init", body=body)
    assert answer.status == 201, answer.body
    return dict(answer.body)


def test_a_part_checksum_is_a_signed_header_of_its_url(invoke, bucket):
    # Given a CRC64NVME upload of one part
    data = b"checksummed part"
    plan = start(invoke, len(data))
    # When its part is signed with its checksum
    body = {"parts": [{"part_number": 1, "checksum": crc64(data)}]}
    answer = call(invoke, "upload_parts", plan["upload_id"], body=body)
    # Then the answer names the header, and the URL signs it (not a query value S3 ignores)
    assert answer.status == 200, answer.body
    (part,) = answer.body["parts"]
    assert part["headers"] == {"x-amz-checksum-crc64nvme": crc64(data)}
    query = parse_qs(urlsplit(part["url"]).query)
    assert "x-amz-checksum-crc64nvme" in query["X-Amz-SignedHeaders"][0].split(";")
    assert not any(name.lower().startswith("x-amz-checksum") for name in query)


def test_a_checksum_for_an_upload_started_without_an_algorithm_is_400(invoke, bucket):
    plan = start(invoke, 10, algorithm=None)
    body = {"parts": [{"part_number": 1, "checksum": crc64(b"x")}]}
    answer = call(invoke, "upload_parts", plan["upload_id"], body=body)
    assert (answer.status, answer.body["error"]["code"]) == (400, "INVALID_FIELD")
    assert answer.body["error"]["field"] == "parts"
    done = call(invoke, "upload_complete", plan["upload_id"], body={"checksum": crc64(b"x")})
    assert (done.status, done.body["error"]["code"]) == (400, "INVALID_FIELD")


@pytest.mark.parametrize(
    "body",
    [{}, {"parts": [{"part_number": 1, "checksum": "not base64!"}]}, {"part_numbers": None}],
)
def test_a_sign_request_without_parts_or_with_a_bad_checksum_is_400(invoke, bucket, body):
    plan = start(invoke, 10)
    answer = call(invoke, "upload_parts", plan["upload_id"], body=body)
    assert answer.status == 400, answer.body
    assert answer.body["error"]["code"] in {"MISSING_FIELD", "INVALID_FIELD"}


def test_completed_with_its_checksum_the_file_info_reports_it(invoke, bucket):
    # Given a two-part CRC64NVME upload, its parts sent with their checksums
    data = bytes(range(256)) * (24 * 1024) + b"tail"
    plan = start(invoke, len(data))
    s3 = boto3.client("s3")
    s3_upload_id = s3.list_multipart_uploads(Bucket=bucket)["Uploads"][0]["UploadId"]
    for number, start_at in ((1, 0), (2, plan["part_size"])):
        piece = data[start_at : start_at + plan["part_size"]]
        s3.upload_part(
            Bucket=bucket,
            Key=plan["key"],
            UploadId=s3_upload_id,
            PartNumber=number,
            Body=piece,
            ChecksumCRC64NVME=crc64(piece),
        )
    # When it completes with the whole file's checksum
    done = call(invoke, "upload_complete", plan["upload_id"], body={"checksum": crc64(data)})
    assert done.status == 200, done.body
    # Then the file's info carries the stored FULL_OBJECT checksum
    key = done.body["key"]
    info = invoke(
        "download",
        load_event("download", path_parameters={"key": key}, query={"info": "true"}, caller=DEV),
    )
    assert info.status == 200, info.body
    assert info.body["checksum"] == {
        "algorithm": "CRC64NVME",
        "type": "FULL_OBJECT",
        "value": crc64(data),
    }


@pytest.mark.parametrize("code", ["BadDigest", "InvalidRequest"])
def test_s3_refusing_the_whole_file_checksum_is_a_checksum_mismatch(code):
    # Given S3 answering CompleteMultipartUpload with its refusal of the checksum
    client = boto3.client("s3", region_name="us-east-1")
    store = S3ObjectStore(client, "bucket")
    with Stubber(client) as stub:
        stub.add_client_error("complete_multipart_upload", code, http_status_code=400)
        # When / Then
        with pytest.raises(ChecksumMismatchError):
            store.complete_multipart(
                "k",
                "u",
                [StoredPart(1, 1, '"e"', "AAAAAAAAAAA=")],
                Digest("CRC64NVME", "AAAAAAAAAAA="),
            )
    # And without a checksum, the same answer stays a storage error
    with Stubber(client) as stub:
        stub.add_client_error("complete_multipart_upload", code, http_status_code=400)
        with pytest.raises(StorageError) as caught:
            store.complete_multipart("k", "u", [StoredPart(1, 1, '"e"')])
        assert not isinstance(caught.value, ChecksumMismatchError)


def test_the_complete_request_sends_the_checksum_and_the_part_checksums():
    client = boto3.client("s3", region_name="us-east-1")
    store = S3ObjectStore(client, "bucket")
    parts = [StoredPart(1, 5, '"a"', "AAAAAAAAAAE="), StoredPart(2, 5, '"b"', "AAAAAAAAAAI=")]
    expected = {
        "Bucket": "bucket",
        "Key": "k",
        "UploadId": "u",
        "ChecksumCRC64NVME": "AAAAAAAAAAM=",
        "ChecksumType": "FULL_OBJECT",
        "MultipartUpload": {
            "Parts": [
                {"PartNumber": 1, "ETag": '"a"', "ChecksumCRC64NVME": "AAAAAAAAAAE="},
                {"PartNumber": 2, "ETag": '"b"', "ChecksumCRC64NVME": "AAAAAAAAAAI="},
            ]
        },
    }
    with Stubber(client) as stub:
        stub.add_response("complete_multipart_upload", {"ETag": '"x-2"'}, expected)
        assert (
            store.complete_multipart("k", "u", parts, Digest("CRC64NVME", "AAAAAAAAAAM="))
            == '"x-2"'
        )
