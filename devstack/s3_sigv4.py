"""SigV4 as S3 checks it: header and query (presigned) auth, POST policy signatures,
aws-chunked bodies. The strings to sign and the signatures come from botocore's own
signer (`SigV4Auth`) with the local credentials, so a client and this check share
nothing but the algorithm. The rules followed are listed in `devstack.strict_s3`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from devstack.aws import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, SESSION_TOKEN

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_EXPIRES = 7 * 24 * 3600  # a presigned URL lives at most a week
MAX_SKEW = timedelta(minutes=15)
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING = (STREAMING_UNSIGNED_TRAILER, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_QUERY_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)


class S3Error(Exception):
    """An answer S3 would give instead of doing the request: status, code, message and
    the extra elements S3 puts beside them in its XML error body."""

    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.extra = status, code, message, extra


def signature_mismatch(string_to_sign: str, canonical: str, provided: str) -> S3Error:
    return S3Error(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        AWSAccessKeyId=ACCESS_KEY_ID,
        StringToSign=string_to_sign,
        SignatureProvided=provided,
        CanonicalRequest=canonical,
    )


@dataclass
class Request:
    """What the checks need of one HTTP request; `headers` have lower-case names."""

    method: str
    path: str  # raw, still percent-encoded, without the query
    query: str  # raw
    headers: dict[str, str]
    body: bytes = b""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def params(self) -> list[tuple[str, str]]:
        """The query's decoded pairs, in order ("uploads" gives ("uploads", ""))."""
        pairs = []
        for item in self.query.split("&"):
            if item:
                name, _, value = item.partition("=")
                pairs.append((unquote(name), unquote(value)))
        return pairs

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.params() if key == name), None)


@dataclass(frozen=True)
class Credential:
    access_key: str
    date: str
    region: str
    service: str

    @classmethod
    def parse(cls, text: str, malformed: S3Error) -> Credential:
        parts = text.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request":
            raise malformed
        return cls(parts[0], parts[1], parts[2], parts[3])


@dataclass(frozen=True)
class Authorization:
    """A request's verified SigV4 identity; what aws-chunked bodies chain onto."""

    credential: Credential
    amz_date: str
    signature: str
    payload: str  # the x-amz-content-sha256 value, or UNSIGNED-PAYLOAD when presigned


def service_of(request: Request) -> str | None:
    """The service a signed request names in its credential scope (None: unsigned)."""
    text = request.headers.get("authorization", "")
    match = re.search(r"Credential=([^,\s]+)", text)
    credential = match.group(1) if match else request.param("X-Amz-Credential")
    if not credential:
        return None
    parts = credential.split("/")
    return parts[3] if len(parts) == 5 else None


def verify(request: Request) -> Authorization | None:
    """Check the request's SigV4 signature; None for a request that carries none."""
    if "authorization" in request.headers:
        return _verify_header_auth(request)
    if request.param("X-Amz-Algorithm") is not None or request.param("X-Amz-Signature"):
        return _verify_query_auth(request)
    if request.param("AWSAccessKeyId") is not None or request.param("Signature"):
        raise _unsupported_mechanism()
    return None


def _unsupported_mechanism() -> S3Error:
    return S3Error(
        400,
        "InvalidRequest",
        f"The authorization mechanism you have provided is not supported. Please use {ALGORITHM}.",
    )


def _verify_header_auth(request: Request) -> Authorization:
    text = request.headers["authorization"]
    if not text.startswith(ALGORITHM + " "):
        raise _unsupported_mechanism()
    fields = dict(item.strip().partition("=")[::2] for item in text[len(ALGORITHM) :].split(","))
    malformed = S3Error(
        400, "AuthorizationHeaderMalformed", "The authorization header is malformed."
    )
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        raise malformed
    credential = Credential.parse(fields["Credential"], malformed)
    _check_credential(credential, "AuthorizationHeaderMalformed", "The authorization header")
    amz_date = request.headers.get("x-amz-date", "")
    when = _parse_amz_date(amz_date)
    if when is None:
        raise S3Error(
            403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        )
    if amz_date[:8] != credential.date:
        raise S3Error(
            400,
            "AuthorizationHeaderMalformed",
            "The authorization header is malformed; Invalid credential date. "
            "Date is not the same as X-Amz-Date.",
        )
    if abs(request.now - when) > MAX_SKEW:
        raise S3Error(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            RequestTime=amz_date,
            ServerTime=request.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            MaxAllowedSkewMilliseconds="900000",
        )
    payload = request.headers.get("x-amz-content-sha256")
    if payload is None:
        raise S3Error(
            400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    if payload not in (UNSIGNED, *STREAMING) and not _HEX64.match(payload):
        raise S3Error(
            400,
            "InvalidArgument",
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER "
            "or a valid sha256 value.",
        )
    signed = fields["SignedHeaders"].split(";")
    _check_headers_signed(request, signed)
    canonical = canonical_request(request, signed, payload, drop_signature=False)
    _check_signature(credential, amz_date, canonical, fields["Signature"])
    return Authorization(credential, amz_date, fields["Signature"], payload)


def _verify_query_auth(request: Request) -> Authorization:
    values = {name: request.param(name) for name in _QUERY_AUTH_PARAMS}
    if any(value is None for value in values.values()):
        raise _query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
            "and X-Amz-Expires parameters."
        )
    if values["X-Amz-Algorithm"] != ALGORITHM:
        raise _query_error(
            'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256" and "AWS4-ECDSA-P256-SHA256"'
        )
    credential = Credential.parse(
        str(values["X-Amz-Credential"]),
        _query_error("Error parsing the X-Amz-Credential parameter."),
    )
    _check_credential(credential, "AuthorizationQueryParametersError", "X-Amz-Credential")
    amz_date = str(values["X-Amz-Date"])
    when = _parse_amz_date(amz_date)
    if when is None:
        raise _query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    expires = _expires(str(values["X-Amz-Expires"]))
    if request.now > when + timedelta(seconds=expires):
        raise S3Error(
            403,
            "AccessDenied",
            "Request has expired",
            **{"X-Amz-Expires": str(expires)},
            Expires=(when + timedelta(seconds=expires)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ServerTime=request.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    if request.param("X-Amz-Security-Token") not in (None, SESSION_TOKEN):
        raise S3Error(400, "InvalidToken", "The provided token is malformed or otherwise invalid.")
    signed = str(values["X-Amz-SignedHeaders"]).split(";")
    _check_headers_signed(request, signed)
    payload = request.param("X-Amz-Content-Sha256") or UNSIGNED
    canonical = canonical_request(request, signed, payload, drop_signature=True)
    _check_signature(credential, amz_date, canonical, str(values["X-Amz-Signature"]))
    return Authorization(credential, amz_date, str(values["X-Amz-Signature"]), UNSIGNED)


def _query_error(message: str) -> S3Error:
    return S3Error(400, "AuthorizationQueryParametersError", message)


def _expires(text: str) -> int:
    try:
        expires = int(text)
    except ValueError:
        raise _query_error("X-Amz-Expires should be a number") from None
    if expires < 0:
        raise _query_error("X-Amz-Expires must be non-negative")
    if expires > MAX_EXPIRES:
        raise _query_error(
            "X-Amz-Expires must be less than a week (in seconds) that is; "
            "the maximum expires is 604800 seconds"
        )
    return expires


def _check_credential(credential: Credential, code: str, what: str) -> None:
    if credential.access_key != ACCESS_KEY_ID:
        raise S3Error(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=credential.access_key,
        )
    if credential.region != REGION:
        raise S3Error(
            400,
            code,
            f"{what} is malformed; the region '{credential.region}' is wrong; expecting '{REGION}'",
            Region=REGION,
        )
    if credential.service != "s3":
        raise S3Error(
            400,
            code,
            f"{what} is malformed; incorrect service '{credential.service}'. "
            "This endpoint belongs to 's3'.",
        )


def _parse_amz_date(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, _AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        return None


def _check_headers_signed(request: Request, signed: list[str]) -> None:
    """Every x-amz-* header sent must be signed (x-amz-content-sha256 excepted), and
    the host always is."""
    unsigned = sorted(
        name
        for name in request.headers
        if name.startswith("x-amz-") and name != "x-amz-content-sha256" and name not in signed
    )
    if unsigned:
        raise S3Error(
            403,
            "AccessDenied",
            "There were headers present in the request which were not signed",
            HeadersNotSigned=", ".join(unsigned),
        )
    if "host" not in signed:
        raise S3Error(
            400,
            "AuthorizationHeaderMalformed",
            "The authorization header is malformed; the host header must be signed.",
        )
    if request.headers.get("x-amz-security-token") not in (None, SESSION_TOKEN):
        raise S3Error(400, "InvalidToken", "The provided token is malformed or otherwise invalid.")


def canonical_request(
    request: Request, signed: list[str], payload: str, *, drop_signature: bool
) -> str:
    """SigV4's canonical request, from the path and query re-encoded the way S3 does
    (decoded, then RFC 3986 encoded) and the signed headers' values as sent."""
    path = quote(unquote(request.path), safe="/~") or "/"
    pairs = [
        (quote(name, safe="-_.~"), quote(value, safe="-_.~"))
        for name, value in request.params()
        if not (drop_signature and name == "X-Amz-Signature")
    ]
    query = "&".join(f"{name}={value}" for name, value in sorted(pairs))
    headers = "".join(
        f"{name}:{' '.join(request.headers.get(name, '').split())}\n" for name in signed
    )
    return "\n".join([request.method, path, query, headers, ";".join(signed), payload])


def _signer(credential: Credential, amz_date: str) -> tuple[SigV4Auth, AWSRequest]:
    signer = SigV4Auth(
        ReadOnlyCredentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None),
        credential.service,
        credential.region,
    )
    carrier = AWSRequest(method="GET", url="http://localhost/")
    carrier.context["timestamp"] = amz_date
    return signer, carrier


def _check_signature(credential: Credential, amz_date: str, canonical: str, provided: str) -> None:
    signer, carrier = _signer(credential, amz_date)
    string_to_sign = signer.string_to_sign(carrier, canonical)
    expected = signer.signature(string_to_sign, carrier)
    if not hmac.compare_digest(expected, provided):
        raise signature_mismatch(string_to_sign, canonical, provided)


def policy_signature(credential: Credential, amz_date: str, policy_b64: str) -> str:
    """What S3 expects as a POST form's x-amz-signature: the policy, signed."""
    signer, carrier = _signer(credential, amz_date)
    return str(signer.signature(policy_b64, carrier))


def verify_policy_credential(credential_text: str, amz_date: str) -> Credential:
    """A POST form's x-amz-credential and x-amz-date, checked as header auth's are."""
    credential = Credential.parse(
        credential_text,
        S3Error(400, "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential."),
    )
    _check_credential(credential, "AuthorizationQueryParametersError", "X-Amz-Credential")
    if _parse_amz_date(amz_date) is None:
        raise S3Error(400, "InvalidArgument", "X-Amz-Date must be in the ISO8601 Long Format")
    return credential


# ----------------------------------------------------------------- aws-chunked


@dataclass(frozen=True)
class Chunked:
    data: bytes
    trailers: dict[str, str]


def decode_chunked(body: bytes, auth: Authorization) -> Chunked:
    """An aws-chunked body's bytes and trailing headers. With the signed forms, each
    chunk's signature chains from the request's and is checked; so is the trailer's."""
    signed = auth.payload in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)
    position, previous, data = 0, auth.signature, bytearray()
    while True:
        end = body.find(b"\r\n", position)
        if end < 0:
            raise _incomplete()
        size_text, _, extension = body[position:end].decode("latin-1").partition(";")
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _incomplete() from None
        chunk = body[end + 2 : end + 2 + size]
        if len(chunk) != size:
            raise _incomplete()
        if signed:
            previous = _check_chunk(auth, previous, extension, chunk)
        position = end + 2 + size
        if size == 0:
            break
        data += chunk
        if body[position : position + 2] != b"\r\n":
            raise _incomplete()
        position += 2
    trailers = _trailers(body[position:])
    if auth.payload == STREAMING_SIGNED_TRAILER:
        _check_trailer_signature(auth, previous, trailers)
    trailers.pop("x-amz-trailer-signature", None)
    return Chunked(bytes(data), trailers)


def _incomplete() -> S3Error:
    return S3Error(
        400,
        "IncompleteBody",
        "The request body terminated unexpectedly",
    )


def _trailers(text: bytes) -> dict[str, str]:
    trailers = {}
    for line in text.decode("latin-1").split("\n"):
        name, colon, value = line.strip().partition(":")
        if colon:
            trailers[name.strip().lower()] = value.strip()
    return trailers


def _chained(auth: Authorization, kind: str, previous: str, last_hash: str) -> str:
    credential = auth.credential
    scope = f"{credential.date}/{credential.region}/{credential.service}/aws4_request"
    parts = [kind, auth.amz_date, scope, previous]
    if kind == "AWS4-HMAC-SHA256-PAYLOAD":
        parts.append(_EMPTY_SHA256)
    parts.append(last_hash)
    signer, carrier = _signer(credential, auth.amz_date)
    return str(signer.signature("\n".join(parts), carrier))


def _check_chunk(auth: Authorization, previous: str, extension: str, chunk: bytes) -> str:
    provided = extension.partition("chunk-signature=")[2].strip()
    expected = _chained(
        auth, "AWS4-HMAC-SHA256-PAYLOAD", previous, hashlib.sha256(chunk).hexdigest()
    )
    if not hmac.compare_digest(expected, provided):
        raise signature_mismatch("AWS4-HMAC-SHA256-PAYLOAD", "(chunk)", provided)
    return expected


def _check_trailer_signature(auth: Authorization, previous: str, trailers: dict[str, str]) -> None:
    provided = trailers.get("x-amz-trailer-signature", "")
    lines = "".join(
        f"{name}:{value}\n" for name, value in trailers.items() if name != "x-amz-trailer-signature"
    )
    expected = _chained(
        auth, "AWS4-HMAC-SHA256-TRAILER", previous, hashlib.sha256(lines.encode()).hexdigest()
    )
    if not hmac.compare_digest(expected, provided):
        raise signature_mismatch("AWS4-HMAC-SHA256-TRAILER", "(trailer)", provided)
