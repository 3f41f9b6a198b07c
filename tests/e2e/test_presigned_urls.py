"""What we sign: a local S3 checks no signature, expiry or length, so inspect the URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

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
