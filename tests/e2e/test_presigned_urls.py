"""What we sign, read from the URLs, and S3 refusing a URL whose signature was changed
(the local S3 checks signatures, expiry and signed lengths as S3 does)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import requests

from tests.support.http import Api

MIB = 1024 * 1024


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def test_part_urls_are_sigv4_sign_the_length_and_expire_in_an_hour(api: Api):
    # Given
    plan = api.init(size=7 * MIB, part_size=5 * MIB).json()
    # When
    parts = api.sign(plan["upload_id"], [1, 2])
    # Then
    for part, size in zip(parts, [5 * MIB, 2 * MIB], strict=True):
        query = query_of(part["url"])
        assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        assert "content-length" in query["X-Amz-SignedHeaders"].split(";")
        assert query["X-Amz-Expires"] == "3600"
        assert query["partNumber"] == str(part["part_number"])
        assert part["size"] == size
        expires = datetime.fromisoformat(part["expires_at"].replace("Z", "+00:00"))
        assert abs(expires - (datetime.now(UTC) + timedelta(hours=1))) < timedelta(minutes=1)


def test_download_urls_are_sigv4_and_expire(api: Api):
    done = api.upload(b"x")
    link = api.download(done["key"], redirect="false").json()
    query = query_of(link["url"])
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "3600"


def test_a_download_link_with_a_changed_signature_or_key_is_refused_by_s3(api: Api):
    done = api.upload(b"signed bytes")
    url = api.download(done["key"], redirect="false").json()["url"]
    signature = query_of(url)["X-Amz-Signature"]
    forged = url.replace(signature, signature[::-1])
    elsewhere = url.replace(done["key"].rsplit("/", 1)[1], "other.bin")
    for changed in (forged, elsewhere):
        answer = requests.get(changed, timeout=30)
        assert answer.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in answer.text
    assert requests.get(url, timeout=30).content == b"signed bytes"
