"""Recompute the SigV4 signature of a presigned S3 URL or POST policy with botocore's own
signer, so a test can show what a signature covers: change any signed part and the
signature S3 would compute no longer matches the one in the URL.

moto checks no signature, expiry or length, so this is how the tests see what S3 would."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from botocore.auth import S3SigV4PostAuth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials


@dataclass(frozen=True)
class Signed:
    """What S3 would compute for a request: the canonical request and its signature."""

    canonical_request: str
    signature: str


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def resign_url(
    url: str, method: str, headers: dict[str, str], credentials: ReadOnlyCredentials, region: str
) -> Signed:
    """The signature S3 would expect for `method url` sent with `headers` (the host is added
    from the URL), the URL's own X-Amz-Signature left out."""
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if not p.startswith("X-Amz-Signature="))
    params = query_of(url)
    request = AWSRequest(
        method=method,
        url=urlunsplit(parts._replace(query=query)),
        headers={"host": parts.netloc, **headers},
    )
    request.context["timestamp"] = params["X-Amz-Date"]
    signer = S3SigV4QueryAuth(credentials, "s3", region, expires=int(params["X-Amz-Expires"]))
    canonical = signer.canonical_request(request)
    return Signed(canonical, signer.signature(signer.string_to_sign(request, canonical), request))


def resign_policy(
    policy_b64: str, amz_date: str, credentials: ReadOnlyCredentials, region: str
) -> str:
    """The signature of a presigned POST's base64 policy (SigV4 signs the policy itself)."""
    request = AWSRequest(method="POST", url="https://s3.amazonaws.com/")
    request.context["timestamp"] = amz_date
    return S3SigV4PostAuth(credentials, "s3", region).signature(policy_b64, request)
