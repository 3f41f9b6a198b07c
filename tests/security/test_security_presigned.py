"""What the presigned URLs sign, through the real handlers and boto3 client under moto.

moto enforces no signature, expiry or length, so nothing here relies on S3 refusing a
request: each URL's SigV4 signature is recomputed with botocore's signer (tests/security/
sigv4.py) to show which parts it covers. Change one and S3's signature no longer matches.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.credentials import ReadOnlyCredentials
from pydantic import ValidationError

from devstack.template import read_template
from stowage import config
from stowage.config import DraftSettings, UploadSettings
from tests.integration.conftest import Invoke
from tests.security.sigv4 import query_of, resign_policy, resign_url
from tests.support.events import ROOT, load_event

MIB = 1024 * 1024
DEV = {"client_id": "dev", "role": "user", "key_prefix": "", "max_file_size": 100 * MIB}
REGION = "us-east-1"
SIGV4_MAX_EXPIRY = 7 * 24 * 3600  # S3 refuses a SigV4 presigned URL that lives longer


def credentials() -> ReadOnlyCredentials:
    """The credentials the handlers' clients sign with (moto's, from the environment)."""
    found = boto3.Session().get_credentials()
    assert found is not None
    return found.get_frozen_credentials()


def near(moment: datetime, seconds: int) -> bool:
    return abs(moment - (datetime.now(UTC) + timedelta(seconds=seconds))) < timedelta(minutes=1)


def timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def init(invoke: Invoke, size: int = 12 * MIB) -> dict[str, Any]:
    body = {"file_name": "report.pdf", "size": size, "part_size": 5 * MIB}
    answer = invoke("upload_init", load_event("upload_init", body=body, caller=DEV))
    assert answer.status == 201, answer.body
    return answer.body


def sign(invoke: Invoke, upload_id: str, numbers: list[int]) -> list[dict[str, Any]]:
    event = load_event(
        "upload_parts",
        body={"part_numbers": numbers},
        path_parameters={"upload_id": upload_id},
        caller=DEV,
    )
    answer = invoke("upload_parts", event)
    assert answer.status == 200, answer.body
    return answer.body["parts"]


def with_ttl(monkeypatch: pytest.MonkeyPatch, name: str, seconds: int) -> None:
    """Deploy-time setting for the handlers imported from here on."""
    monkeypatch.setenv(name, str(seconds))
    config.clear_settings()


@pytest.mark.parametrize("ttl", [60, SIGV4_MAX_EXPIRY])
def test_part_urls_expire_after_the_configured_ttl_and_sign_the_length(invoke, monkeypatch, ttl):
    # Given part URLs signed with PART_URL_TTL = ttl
    with_ttl(monkeypatch, "PART_URL_TTL", ttl)
    plan = init(invoke)
    parts = sign(invoke, plan["upload_id"], [1, 2, 3])
    for part, size in zip(parts, [5 * MIB, 5 * MIB, 2 * MIB], strict=True):
        query = query_of(part["url"])
        # Then each is SigV4, lives exactly ttl seconds (never past SigV4's 7 days)
        assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        assert int(query["X-Amz-Expires"]) == ttl <= SIGV4_MAX_EXPIRY
        assert near(timestamp(part["expires_at"]), ttl)
        # and signs the host and the exact length of that part
        assert query["X-Amz-SignedHeaders"] == "content-length;host"
        assert part["size"] == size
        signed = resign_url(
            part["url"], "PUT", {"content-length": str(size)}, credentials(), REGION
        )
        assert signed.signature == query["X-Amz-Signature"]
        assert f"\ncontent-length:{size}\n" in signed.canonical_request
        # and another length would not match the signature
        longer = resign_url(
            part["url"], "PUT", {"content-length": str(size + 1)}, credentials(), REGION
        )
        assert longer.signature != query["X-Amz-Signature"]


def test_a_part_url_is_bound_to_its_upload_and_part_number(invoke):
    # Given a signed part 1 of one upload, and the S3 upload id of another
    mine, other = init(invoke), init(invoke)
    (part,) = sign(invoke, mine["upload_id"], [1])
    (theirs,) = sign(invoke, other["upload_id"], [1])
    url, length = part["url"], {"content-length": str(5 * MIB)}
    signature = query_of(url)["X-Amz-Signature"]
    own_id, other_id = query_of(url)["uploadId"], query_of(theirs["url"])["uploadId"]
    assert own_id != other_id
    # Then the upload id and the part number are in what the signature covers
    signed = resign_url(url, "PUT", length, credentials(), REGION)
    assert signed.signature == signature
    canonical_query = signed.canonical_request.split("\n")[2].split("&")
    assert "partNumber=1" in canonical_query
    assert any(p.startswith("uploadId=") for p in canonical_query)
    # When the URL is pointed at another part number, another upload, or another key
    tampered = {
        "part 2": url.replace("partNumber=1&", "partNumber=2&"),
        "part 10000": url.replace("partNumber=1&", "partNumber=10000&"),
        "other upload": url.replace(_raw(url, "uploadId"), _raw(theirs["url"], "uploadId")),
        "other key": theirs["url"].split("?")[0] + "?" + url.split("?", 1)[1],
    }
    for what, changed in tampered.items():
        assert changed != url, what
        # Then the signature S3 computes for it differs: it would refuse the PUT
        assert resign_url(changed, "PUT", length, credentials(), REGION).signature != signature


def _raw(url: str, name: str) -> str:
    """`name=value` exactly as the URL carries it (still percent-encoded)."""
    (pair,) = [p for p in url.split("?", 1)[1].split("&") if p.startswith(name + "=")]
    return pair


def test_a_part_url_for_another_key_would_not_be_valid_either(invoke):
    # Given two uploads of the same name: the second gets another key
    first, second = init(invoke), init(invoke)
    assert first["key"] != second["key"]
    (part,) = sign(invoke, first["upload_id"], [1])
    # Then the key's path is signed too
    signed = resign_url(part["url"], "PUT", {"content-length": str(5 * MIB)}, credentials(), REGION)
    assert first["key"].replace(" ", "%20") in signed.canonical_request.split("\n")[1]


@pytest.mark.parametrize("ttl", [60, SIGV4_MAX_EXPIRY])
def test_download_urls_expire_after_the_configured_ttl(invoke, bucket, monkeypatch, ttl):
    # Given a stored file and PART_URL_TTL = ttl (it is the download links' lifetime too)
    with_ttl(monkeypatch, "PART_URL_TTL", ttl)
    plan = init(invoke, size=1)
    (part,) = sign(invoke, plan["upload_id"], [1])
    s3 = boto3.client("s3", region_name=REGION)
    s3.upload_part(
        Bucket=bucket,
        Key=plan["key"],
        UploadId=query_of(part["url"])["uploadId"],
        PartNumber=1,
        Body=b"x",
    )
    event = load_event("upload_complete", path_parameters={"upload_id": plan["upload_id"]})
    event["requestContext"]["authorizer"] = {"lambda": DEV}
    assert invoke("upload_complete", event).status == 200
    # When its download link is asked for
    answer = invoke(
        "download",
        load_event(
            "download",
            path_parameters={"key": plan["key"]},
            query={"redirect": "false"},
            caller=DEV,
        ),
    )
    assert answer.status == 200, answer.body
    url = answer.body["url"]
    query = query_of(url)
    # Then it is a SigV4 GET of that key, for ttl seconds
    assert int(query["X-Amz-Expires"]) == ttl <= SIGV4_MAX_EXPIRY
    assert near(timestamp(answer.body["expires_at"]), ttl)
    signed = resign_url(url, "GET", {}, credentials(), REGION)
    assert signed.signature == query["X-Amz-Signature"]
    # and neither the key nor the download name can be changed under the signature
    assert "response-content-disposition=" in signed.canonical_request
    renamed = url.replace("report.pdf", "other.pdf", 1)
    assert (
        resign_url(renamed, "GET", {}, credentials(), REGION).signature != query["X-Amz-Signature"]
    )


@pytest.mark.parametrize("ttl", [60, SIGV4_MAX_EXPIRY])
def test_a_drafts_post_policy_takes_exactly_its_bytes_until_the_ttl(invoke, monkeypatch, ttl):
    # Given UPLOAD_TTL = ttl
    with_ttl(monkeypatch, "UPLOAD_TTL", ttl)
    body = {"file_name": "note.txt", "size": 13, "content_type": "text/plain"}
    # When a draft is created
    answer = invoke("draft_create", load_event("draft_create", body=body, caller=DEV))
    assert answer.status == 201, answer.body
    fields = answer.body["upload"]["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    # Then its policy expires ttl from now, and the draft itself (OBJECT_LIFETIME) no sooner
    assert near(timestamp(policy["expiration"]), ttl)
    lifetime = int(os.environ["OBJECT_LIFETIME"])
    assert near(timestamp(answer.body["expires_at"]), lifetime)
    # and pins the bucket, the key, the type and the exact length
    conditions = policy["conditions"]
    assert ["content-length-range", 13, 13] in conditions
    assert {"Content-Type": "text/plain"} in conditions
    assert {"key": fields["key"]} in conditions
    assert {"bucket": os.environ["DRAFTS_BUCKET"]} in conditions
    # and the signature covers that policy: a wider one would not match
    date = fields["x-amz-date"]
    assert resign_policy(fields["policy"], date, credentials(), REGION) == fields["x-amz-signature"]
    conditions[conditions.index(["content-length-range", 13, 13])] = [
        "content-length-range",
        0,
        1 << 40,
    ]
    wider = base64.b64encode(json.dumps(policy).encode()).decode()
    assert resign_policy(wider, date, credentials(), REGION) != fields["x-amz-signature"]


@pytest.mark.parametrize(
    ("parameter", "settings", "field", "required"),
    [
        (
            "PartUrlTtlSeconds",
            UploadSettings,
            "part_url_ttl",
            {"uploads_table": "t", "files_bucket": "b"},
        ),
        ("DraftUploadTtlSeconds", DraftSettings, "upload_ttl", {"drafts_bucket": "d"}),
    ],
)
def test_url_lifetimes_are_bounded_in_the_template_and_the_settings_alike(
    parameter, settings, field, required
):
    # Given the template's bounds for a URL lifetime
    declared = read_template(ROOT / "template.yaml")["Parameters"][parameter]
    low, high = int(declared["MinValue"]), int(declared["MaxValue"])
    # Then they are the settings' bounds, and SigV4's limit caps both
    assert high <= SIGV4_MAX_EXPIRY
    for ok in (low, high):
        assert getattr(settings(**required, **{field: ok}), field) == ok
    for wrong in (low - 1, high + 1):
        with pytest.raises(ValidationError):
            settings(**required, **{field: wrong})
