"""A strict S3 in front of moto: it refuses what S3 refuses and moto lets through.

moto's server stores whatever it is sent: a forged or expired signature, a body
that does not match its checksum, a form outside its POST policy. This WSGI
middleware sits between the socket and moto's app and answers such requests
itself, with S3's status, error code and XML body (`Code`, `Message`,
`RequestId`, `HostId` and the extra elements S3 adds); the rest reaches moto
unchanged. It is on in `make dev` and in every test that starts devstack's moto
server; `STOWAGE_STRICT_S3=0` turns it off (nothing in the tests does).

Rules it follows (S3's, as documented, for path-style requests to 127.0.0.1):

- Authentication: every S3 request but a CORS preflight is signed (buckets are
  private), with SigV4 (`AWS4-HMAC-SHA256`; SigV2 is refused as on buckets made
  since 2020) by the local credentials (`devstack.aws`): any other key id is
  `InvalidAccessKeyId`; region `us-east-1`, service `s3`.
- The signature is recomputed with botocore's signer, for header auth and query
  auth (presigned URLs): the path and query re-encoded as RFC 3986, the signed
  headers with the values sent, so a changed `content-length` (a body of another
  length), `content-type` or `x-amz-checksum-*` is `403 SignatureDoesNotMatch`.
  `x-amz-*` headers sent but not signed are `403 AccessDenied` ("There were headers
  present in the request which were not signed"), `x-amz-content-sha256` excepted.
- Presigned URLs: all six `X-Amz-*` parameters, `X-Amz-Expires` at most 604800
  (a week), and `403 AccessDenied "Request has expired"` once X-Amz-Date +
  X-Amz-Expires has passed. Header auth: `x-amz-date` within 15 minutes
  (`RequestTimeTooSkewed`), its day that of the credential scope.
- Payload: header auth needs `x-amz-content-sha256`; a hex hash is checked against
  the body (`XAmzContentSHA256Mismatch`); `UNSIGNED-PAYLOAD`; aws-chunked bodies
  (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, what boto3 ≥ 1.36 sends over HTTPS, and the
  signed `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`, chunk and trailer
  signatures checked) are decoded, `x-amz-decoded-content-length` and the
  trailing `x-amz-checksum-*` checked; moto still gets the body as sent.
  A PUT without Content-Length is `411 MissingContentLength` (`501 NotImplemented`
  when chunked without aws-chunked); a short body `400 IncompleteBody`.
- Checksums: one `x-amz-checksum-{crc32,crc32c,crc64nvme,sha1,sha256}` header or
  trailer, checked against the body (`400 BadDigest`; a value that is not base64 of
  the right size is `400 InvalidRequest`; two of them `InvalidRequest`;
  `x-amz-sdk-checksum-algorithm` with neither `InvalidRequest`). `Content-MD5` too
  (`InvalidDigest`, `BadDigest`). A checksum in the *query* of a presigned URL is
  signed and otherwise ignored, as S3 does (only a header counts).
- PutObject without a checksum gets S3's default CRC64NVME (of the decoded payload),
  so HeadObject/GetObject with `ChecksumMode=ENABLED` return one, with
  `x-amz-checksum-type`.
- Multipart: `x-amz-checksum-algorithm`/`-type` are fixed at
  CreateMultipartUpload (FULL_OBJECT only for CRC32/CRC32C/CRC64NVME, COMPOSITE not
  for CRC64NVME, a type needs an algorithm); a part carrying a checksum of another
  algorithm, or any checksum when the upload has none, is `400 InvalidRequest
  "Checksum Type mismatch occurred, expected checksum Type: null, actual checksum
  Type: crc32"`. At CompleteMultipartUpload a part's checksum must be the one
  stored (`InvalidPart`), COMPOSITE uploads list every part's (`InvalidRequest`),
  a different `x-amz-checksum-type` is `BadDigest`, and the whole object's
  `x-amz-checksum-*` is checked: FULL_OBJECT by combining the parts' CRCs,
  COMPOSITE as the checksum of the part checksums (`400 BadDigest`). The answer
  carries the object's checksum and type, and so do HeadObject/GetObject with
  `ChecksumMode=ENABLED` (uploads created without an algorithm get S3's default
  FULL_OBJECT CRC64NVME). ListParts lists each part's checksum and the upload's
  algorithm and type.
- POST policy (browser forms): fields up to the file, `key`/`policy`/SigV4 fields
  required, the policy's signature (`SignatureDoesNotMatch`), `expiration`
  (`AccessDenied "Invalid according to Policy: Policy expired."`), every `eq`,
  `starts-with` and `{"field": "value"}` condition on any field, `$bucket`
  included (`AccessDenied "...Policy Condition failed: [...]"`), fields no
  condition covers (`"Extra input fields: ..."`; `x-ignore-*`, `policy`,
  `x-amz-signature` and `file` exempt), `content-length-range` (`400
  EntityTooLarge` / `EntityTooSmall`), `x-amz-checksum-*` fields against the file.
- Its refusals carry the bucket's CORS headers when a rule allows the `Origin`,
  so a browser can read them.

Rules it does not follow (moto's behaviour, or simply absent):

- IAM, bucket policies, ACLs, public access: every signed request by the local key
  is allowed; anonymous ones are refused everywhere.
- DynamoDB requests (moto serves them on the same port) are not checked at all.
- SigV4A (`AWS4-ECDSA-P256-SHA256`), SigV2, virtual-hosted addressing, presigned
  URLs dated in the future, session tokens other than the local one's value.
- The per-operation fine print not listed above: part sizes (moto checks the 5 MiB
  minimum at Complete), `x-amz-sdk-checksum-algorithm` naming another algorithm
  than the header, Content-MD5 on POST forms, POST-form `Content-Type` lists,
  the default CRC64NVME of POST-form objects.
- Error messages are S3's where documented; a few rare ones are close paraphrases.

What devstack changes in moto for speed and resources alone (the same stored bytes,
ETags and checksums) is in `moto_s3.py`.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import uuid

# Local clients' CompleteMultipartUpload bodies only; expat >= 2.4.1 (Python 3.13's) refuses
# entity expansion attacks, so the stdlib parser is safe for what devstack reads.
import xml.etree.ElementTree as ElementTree  # nosec B405
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from io import BytesIO
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape  # nosec B406  # escapes text for output, parses nothing

import moto.s3.models
import moto.s3.responses
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.s3.utils import compute_checksum, cors_matches_origin

from devstack import s3_checksums, s3_policy
from devstack.s3_checksums import PartChecksum
from devstack.s3_sigv4 import (
    STREAMING,
    Authorization,
    Request,
    S3Error,
    decode_chunked,
    service_of,
    verify,
)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

DEFAULT_ALGORITHM = "CRC64NVME"  # what S3 computes for every new object
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TYPES = ("FULL_OBJECT", "COMPOSITE")


@dataclass
class Upload:
    """What S3 remembers of a multipart upload from its creation."""

    algorithm: str | None
    type: str
    parts: dict[int, PartChecksum] = field(default_factory=dict)

    @property
    def stored_algorithm(self) -> str:
        return self.algorithm or DEFAULT_ALGORITHM


@dataclass(frozen=True)
class ObjectChecksum:
    algorithm: str
    type: str
    value: str
    etag: str


@dataclass
class Call:
    """One S3 request as the strict layer sees it."""

    request: Request
    bucket: str
    key: str
    auth: Authorization | None = None
    data: bytes = b""  # the payload, aws-chunked decoding done
    checksum: tuple[str, bytes] | None = None  # (algorithm, raw) sent and verified

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self.request.params())


class StrictS3:
    """WSGI middleware: S3's refusals before moto, S3's checksums after it."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._uploads: dict[str, Upload] = {}
        self._objects: dict[tuple[str, str], ObjectChecksum] = {}

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/moto-api"):
            if path.startswith("/moto-api/reset"):
                with self._lock:
                    self._uploads.clear()
                    self._objects.clear()
            return self.app(environ, start_response)
        if "HTTP_X_AMZ_TARGET" in environ:  # DynamoDB, served on the same port
            return self.app(environ, start_response)
        try:
            request = _read(environ)
            if service_of(request) not in (None, "s3"):
                return self.app(environ, start_response)
            call = self._check(request, environ)
        except S3Error as error:
            return _error_response(error, environ, start_response, self._cors(environ))
        return self._forward(call, environ, start_response)

    @staticmethod
    def _cors(environ: Environ) -> list[tuple[str, str]]:
        """The CORS headers S3 adds to an answer when the bucket's rules allow the origin."""
        origin = environ.get("HTTP_ORIGIN")
        bucket = unquote(environ.get("PATH_INFO", "").lstrip("/").partition("/")[0])
        if not origin or not bucket:
            return []
        rules = getattr(s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets.get(bucket), "cors", [])
        for rule in rules:
            if cors_matches_origin(origin, rule.allowed_origins or []):
                exposed = ", ".join(rule.exposed_headers or [])
                headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
                headers.append(("Access-Control-Allow-Methods", ", ".join(rule.allowed_methods)))
                return headers + ([("Access-Control-Expose-Headers", exposed)] if exposed else [])
        return []

    # -- before moto

    def _check(self, request: Request, environ: Environ) -> Call:
        bucket, _, key = request.path.lstrip("/").partition("/")
        call = Call(request, unquote(bucket), unquote(key))
        if request.method == "OPTIONS":
            return call  # CORS preflights are never signed
        if request.method == "POST" and not key and _is_form(request):
            form = s3_policy.parse_form(request.headers.get("content-type", ""), request.body)
            s3_policy.check(form, call.bucket, request.now)
            return call
        call.auth = verify(request)
        if call.auth is None:
            raise S3Error(403, "AccessDenied", "Access Denied")
        call.data, trailers = self._payload(call)
        call.checksum = _verified_checksum(request, call.data, trailers)
        _check_content_md5(request, call.data)
        if request.method == "PUT" and key and "x-amz-copy-source" not in request.headers:
            self._before_put(call, environ)
        elif request.method == "POST" and key and call.has("uploads"):
            _check_create(request)
        elif request.method == "POST" and key and call.has("uploadId"):
            self._check_complete(call)
        return call

    def _payload(self, call: Call) -> tuple[bytes, dict[str, str]]:
        request, auth = call.request, call.auth
        if auth is None:  # _check verified it
            raise RuntimeError("payload checked before its authorization")
        claimed = request.headers.get("x-amz-content-sha256", "")
        if _HEX64.match(claimed):
            computed = hashlib.sha256(request.body).hexdigest()
            if computed != claimed:
                raise S3Error(
                    400,
                    "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    ClientComputedContentSHA256=claimed,
                    S3ComputedContentSHA256=computed,
                )
        if auth.payload not in STREAMING:
            return request.body, {}
        chunked = decode_chunked(request.body, auth)
        declared = request.headers.get("x-amz-decoded-content-length")
        if declared is None or declared != str(len(chunked.data)):
            raise S3Error(
                400,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the "
                "x-amz-decoded-content-length HTTP header",
            )
        named = [n.strip().lower() for n in request.headers.get("x-amz-trailer", "").split(",")]
        for name in filter(None, named):
            if name not in chunked.trailers:
                raise S3Error(
                    400,
                    "MalformedTrailerError",
                    "The request contained trailing data that was not well-formed "
                    "or did not conform to our published schema.",
                )
        return chunked.data, chunked.trailers

    def _before_put(self, call: Call, environ: Environ) -> None:
        sent = call.checksum[0] if call.checksum else None
        if call.has("partNumber") and call.has("uploadId"):
            with self._lock:
                upload = self._uploads.get(call.request.param("uploadId") or "")
            if upload is not None and sent is not None and sent != upload.algorithm:
                raise _type_mismatch(upload.algorithm, sent)
        elif sent is None and not _subresource(call):
            # S3's default checksum, over the decoded payload (moto would hash an
            # aws-chunked body as sent)
            value = s3_checksums.encoded(s3_checksums.digest(DEFAULT_ALGORITHM, call.data))
            environ["HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM"] = DEFAULT_ALGORITHM
            environ["HTTP_X_AMZ_CHECKSUM_CRC64NVME"] = value
        if sent is not None and "HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM" not in environ:
            environ["HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM"] = sent  # so moto stores it

    def _check_complete(self, call: Call) -> None:
        with self._lock:
            upload = self._uploads.get(call.request.param("uploadId") or "")
        if upload is None:
            return  # moto answers NoSuchUpload
        listed = _listed_parts(call.data)
        sent = call.checksum[0] if call.checksum else None
        for _, checksums in listed:
            for algorithm in checksums:
                if algorithm != upload.algorithm:
                    raise _type_mismatch(upload.algorithm, algorithm)
        if sent is not None and sent != upload.algorithm:
            raise _type_mismatch(upload.algorithm, sent)
        wanted_type = call.request.headers.get("x-amz-checksum-type", "").upper()
        if upload.algorithm and wanted_type and wanted_type != upload.type:
            raise S3Error(
                400,
                "BadDigest",
                f"The upload was created using the {upload.type} checksum mode. "
                "The complete request must use the same checksum mode.",
            )
        parts = [upload.parts.get(number) for number, _ in listed]
        for (number, checksums), part in zip(listed, parts, strict=True):
            _check_listed_part(upload, number, checksums, part)
        if call.checksum is not None and all(parts):
            expected = _whole(upload, [p for p in parts if p])
            given = s3_checksums.encoded(call.checksum[1])
            if given != expected.partition("-")[0]:
                raise S3Error(
                    400,
                    "BadDigest",
                    f"The {sent.lower() if sent else ''} you specified did not match the "
                    "calculated checksum.",
                )

    # -- moto, and after it

    def _forward(
        self, call: Call, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        request = call.request
        is_create = request.method == "POST" and call.key and call.has("uploads")
        is_complete = request.method == "POST" and call.key and call.has("uploadId")
        if is_create or is_complete:
            status, headers, body = _run(self.app, environ)
            if status.startswith("200"):
                body = (
                    self._after_create(call, body)
                    if is_create
                    else self._after_complete(call, headers, body)
                )
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(body))))
            start_response(status, headers)
            return [body]
        if request.method == "GET" and call.key and call.has("uploadId"):
            status, headers, body = _run(self.app, environ)
            if status.startswith("200"):
                body = self._with_part_checksums(call, body)
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(body))))
            start_response(status, headers)
            return [body]
        if request.method == "PUT" and call.has("partNumber") and call.has("uploadId"):
            return self._app_then(call, environ, start_response, self._after_part)
        if request.method == "DELETE" and call.has("uploadId"):
            with self._lock:
                self._uploads.pop(request.param("uploadId") or "", None)
        if request.method in ("GET", "HEAD") and call.key:
            return self.app(environ, self._with_checksum_headers(call, start_response))
        return self.app(environ, start_response)

    def _app_then(
        self,
        call: Call,
        environ: Environ,
        start_response: StartResponse,
        after: Callable[[Call], None],
    ) -> Iterable[bytes]:
        def started(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            if status.startswith("200"):
                after(call)
            return start_response(status, headers, *rest)

        return self.app(environ, started)

    def _with_part_checksums(self, call: Call, body: bytes) -> bytes:
        """ListParts as S3 answers it for an upload with an algorithm: each part's
        checksum, and the upload's algorithm and type (moto lists neither)."""
        with self._lock:
            upload = self._uploads.get(call.request.param("uploadId") or "")
            parts = dict(upload.parts) if upload else {}
        if upload is None or upload.algorithm is None:
            return body
        tag = f"Checksum{upload.algorithm}"

        def part(match: re.Match[bytes]) -> bytes:
            number = re.search(rb"<PartNumber>(\d+)</PartNumber>", match.group(0))
            stored = parts.get(int(number.group(1))) if number else None
            if stored is None:
                return match.group(0)
            value = f"<{tag}>{s3_checksums.encoded(stored.raw)}</{tag}>".encode()
            return match.group(0).replace(b"</Part>", value + b"</Part>")

        body = re.sub(rb"<Part>.*?</Part>", part, body, flags=re.DOTALL)
        upload_level = f"<ChecksumAlgorithm>{upload.algorithm}</ChecksumAlgorithm>"
        upload_level += f"<ChecksumType>{upload.type}</ChecksumType>"
        closing = re.search(rb"</ListParts\w*>\s*$", body)  # moto's root: ListPartsResponse
        if closing is None:
            return body
        return body[: closing.start()] + upload_level.encode() + body[closing.start() :]

    def _after_create(self, call: Call, body: bytes) -> bytes:
        headers = call.request.headers
        algorithm = headers.get("x-amz-checksum-algorithm", "").upper() or None
        kind = headers.get("x-amz-checksum-type", "").upper() or _default_type(algorithm)
        match = re.search(rb"<UploadId>([^<]+)</UploadId>", body)
        if match:
            with self._lock:
                self._uploads[match.group(1).decode()] = Upload(algorithm, kind)
        return body

    def _after_part(self, call: Call) -> None:
        with self._lock:
            upload = self._uploads.get(call.request.param("uploadId") or "")
            if upload is None:
                return
            number = int(call.request.param("partNumber") or 0)
            raw = s3_checksums.digest(upload.stored_algorithm, call.data)
            upload.parts[number] = PartChecksum(len(call.data), raw)

    def _after_complete(self, call: Call, headers: list[tuple[str, str]], body: bytes) -> bytes:
        with self._lock:
            upload = self._uploads.pop(call.request.param("uploadId") or "", None)
        match = re.search(rb"<ETag>([^<]+)</ETag>", body)
        if upload is None or match is None:
            return body
        parts = [upload.parts.get(number) for number, _ in _listed_parts(call.data)]
        if not all(parts):
            return body
        algorithm = upload.stored_algorithm
        kind = upload.type if upload.algorithm else "FULL_OBJECT"
        value = _whole(upload, [p for p in parts if p])
        etag = match.group(1).decode().replace("&quot;", '"')
        with self._lock:
            self._objects[(call.bucket, call.key)] = ObjectChecksum(algorithm, kind, value, etag)
        extra = f"<Checksum{algorithm}>{value}</Checksum{algorithm}>"
        extra += f"<ChecksumType>{kind}</ChecksumType>"
        return body.replace(b"</ETag>", b"</ETag>" + extra.encode(), 1)

    def _with_checksum_headers(self, call: Call, start_response: StartResponse) -> StartResponse:
        """HeadObject/GetObject with ChecksumMode=ENABLED: the checksum and its type."""
        enabled = call.request.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"
        ranged = "range" in call.request.headers or call.has("partNumber")

        def started(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            if enabled and not ranged and status.startswith("200"):
                headers = self._checksum_headers(call, headers)
            return start_response(status, headers, *rest)

        return started

    def _checksum_headers(
        self, call: Call, headers: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        etag = next((v for k, v in headers if k.lower() == "etag"), "")
        with self._lock:
            known = self._objects.get((call.bucket, call.key))
        if known is not None and known.etag == etag:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("x-amz-checksum-")]
            return [
                *kept,
                (s3_checksums.header_name(known.algorithm), known.value),
                ("x-amz-checksum-type", known.type),
            ]
        names = {k.lower() for k, _ in headers}
        has_value = any(s3_checksums.algorithm_of_header(k) for k in names)
        if has_value and "x-amz-checksum-type" not in names:
            return [*headers, ("x-amz-checksum-type", "FULL_OBJECT")]
        return headers


# ------------------------------------------------------------------- helpers


def _read(environ: Environ) -> Request:
    """The request, its body read whole (moto reads it whole too) and put back."""
    headers = {
        name[5:].replace("_", "-").lower(): value
        for name, value in environ.items()
        if name.startswith("HTTP_")
    }
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers[name.replace("_", "-").lower()] = environ[name]
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
    path, _, query = raw_uri.partition("?")
    if path.startswith(("http://", "https://")):
        path = "/" + path.split("/", 3)[-1]
    method = environ.get("REQUEST_METHOD", "GET")
    length = headers.get("content-length")
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    if length is None:
        if chunked and method == "PUT" and "x-amz-decoded-content-length" not in headers:
            raise S3Error(
                501,
                "NotImplemented",
                "A header you provided implies functionality that is not implemented",
                Header="Transfer-Encoding",
            )
        if method == "PUT" and not chunked:
            raise S3Error(
                411, "MissingContentLength", "You must provide the Content-Length HTTP header."
            )
        body = environ["wsgi.input"].read() if environ.get("wsgi.input_terminated") else b""
    else:
        body = _read_exactly(environ["wsgi.input"], int(length))
    environ["wsgi.input"] = BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return Request(method, path, query, headers, body)


def _read_exactly(stream: Any, length: int) -> bytes:
    chunks, remaining = [], length
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            raise S3Error(
                400,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length "
                "HTTP header",
            )
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


def _subresource(call: Call) -> bool:
    return any(call.has(name) for name in ("acl", "tagging", "retention", "legal-hold"))


def _verified_checksum(
    request: Request, data: bytes, trailers: dict[str, str]
) -> tuple[str, bytes] | None:
    """The one x-amz-checksum-* header or trailer, checked against the payload."""
    given = {
        algorithm: value
        for name, value in [*request.headers.items(), *trailers.items()]
        if (algorithm := s3_checksums.algorithm_of_header(name))
    }
    if len(given) > 1:
        raise S3Error(
            400,
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    named = request.headers.get("x-amz-sdk-checksum-algorithm", "").upper()
    if named and not given:
        raise S3Error(
            400,
            "InvalidRequest",
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* "
            "or x-amz-trailer headers were found.",
        )
    if not given:
        return None
    ((algorithm, value),) = given.items()
    if _is_complete(request):
        value = re.sub(r"-\d+$", "", value)  # a COMPOSITE checksum may come as value-N
    raw = s3_checksums.decoded(algorithm, value)
    if raw is None:
        raise S3Error(
            400,
            "InvalidRequest",
            f"Value for {s3_checksums.header_name(algorithm)} header is invalid.",
        )
    if not _is_complete(request) and raw != s3_checksums.digest(algorithm, data):
        raise S3Error(
            400,
            "BadDigest",
            f"The {algorithm} you specified did not match the calculated checksum.",
        )
    return algorithm, raw


def _is_complete(request: Request) -> bool:
    """CompleteMultipartUpload's checksum headers are the object's, not the body's."""
    return request.method == "POST" and request.param("uploadId") is not None


def _check_content_md5(request: Request, data: bytes) -> None:
    value = request.headers.get("content-md5")
    if value is None:
        return
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 16:
        raise S3Error(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
    if raw != hashlib.md5(data, usedforsecurity=False).digest():
        raise S3Error(
            400, "BadDigest", "The Content-MD5 you specified did not match what we received."
        )


def _default_type(algorithm: str | None) -> str:
    if algorithm is None:
        return ""
    return "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"


def _check_create(request: Request) -> None:
    algorithm = request.headers.get("x-amz-checksum-algorithm", "").upper()
    kind = request.headers.get("x-amz-checksum-type", "").upper()
    if algorithm and algorithm not in s3_checksums.ALGORITHMS:
        raise S3Error(
            400,
            "InvalidRequest",
            "Checksum algorithm provided is unsupported. Please try again with any of the "
            "valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]",
        )
    if kind and not algorithm:
        raise S3Error(
            400,
            "InvalidRequest",
            "The x-amz-checksum-type header can only be used with the "
            "x-amz-checksum-algorithm header.",
        )
    if kind and kind not in _TYPES:
        raise S3Error(400, "InvalidRequest", "Value for x-amz-checksum-type header is invalid.")
    if kind == "FULL_OBJECT" and algorithm not in s3_checksums.FULL_OBJECT_ALGORITHMS:
        raise S3Error(
            400,
            "InvalidRequest",
            f"The FULL_OBJECT checksum type cannot be used with the {algorithm.lower()} "
            "checksum algorithm.",
        )
    if kind == "COMPOSITE" and algorithm == "CRC64NVME":
        raise S3Error(
            400,
            "InvalidRequest",
            "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.",
        )


def _type_mismatch(expected: str | None, actual: str) -> S3Error:
    return S3Error(
        400,
        "InvalidRequest",
        "Checksum Type mismatch occurred, expected checksum Type: "
        f"{expected.lower() if expected else 'null'}, actual checksum Type: {actual.lower()}",
    )


def _listed_parts(body: bytes) -> list[tuple[int, dict[str, str]]]:
    """CompleteMultipartUpload's parts: number and the checksums each one lists."""
    try:
        root = ElementTree.fromstring(body)  # nosec B314  # see the import
    except ElementTree.ParseError:
        return []  # moto answers MalformedXML
    parts = []
    for element in root.iter():
        if element.tag.rpartition("}")[2] != "Part":
            continue
        number, checksums = 0, {}
        for child in element:
            tag = child.tag.rpartition("}")[2]
            if tag == "PartNumber":
                number = int((child.text or "0").strip() or 0)
            elif tag.startswith("Checksum") and tag[8:].upper() in s3_checksums.ALGORITHMS:
                checksums[tag[8:].upper()] = (child.text or "").strip()
        parts.append((number, checksums))
    return parts


_INVALID_PART = (
    "One or more of the specified parts could not be found.  The part may not have been "
    "uploaded, or the specified entity tag may not match the part's entity tag."
)


def _check_listed_part(
    upload: Upload, number: int, checksums: dict[str, str], part: PartChecksum | None
) -> None:
    value = checksums.get(upload.algorithm or "")
    if upload.type == "COMPOSITE" and upload.algorithm and value is None:
        raise S3Error(
            400,
            "InvalidRequest",
            f"The upload was created using a {upload.algorithm.lower()} checksum. The complete "
            "request must include the checksum for each part. It was missing for part "
            f"{number} in the request.",
        )
    if value is not None and part is not None and value != s3_checksums.encoded(part.raw):
        raise S3Error(400, "InvalidPart", _INVALID_PART, PartNumber=str(number))


def _whole(upload: Upload, parts: list[PartChecksum]) -> str:
    algorithm = upload.stored_algorithm
    if upload.algorithm is None or upload.type == "FULL_OBJECT":
        return s3_checksums.encoded(s3_checksums.full_object(algorithm, parts))
    return s3_checksums.composite(algorithm, parts)


def _run(app: WsgiApp, environ: Environ) -> tuple[str, list[tuple[str, str]], bytes]:
    """Call moto and keep its whole (small) answer, to read or amend it."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
        captured["status"], captured["headers"] = status, list(headers)
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return captured["status"], captured["headers"], body


def _error_response(
    error: S3Error,
    environ: Environ,
    start_response: StartResponse,
    cors: list[tuple[str, str]],
) -> Iterable[bytes]:
    request_id = uuid.uuid4().hex[:16].upper()
    host_id = base64.b64encode(uuid.uuid4().bytes * 2).decode()
    extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in error.extra.items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{error.code}</Code><Message>{escape(error.message)}</Message>{extra}"
        f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
    ).encode()
    headers = [
        ("Content-Type", "application/xml"),
        ("Content-Length", str(len(body))),
        ("x-amz-request-id", request_id),
        ("x-amz-id-2", host_id),
        *cors,
    ]
    if error.status in (411, 501) or error.code == "IncompleteBody":
        headers.append(("Connection", "close"))  # the rest of the body was never read
    start_response(f"{error.status} {HTTPStatus(error.status).phrase}", headers)
    return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def _moto_checksum(body: bytes, algorithm: str, encode_base64: bool = True) -> bytes:
    """moto's checksums, but a true CRC32C (moto falls back to CRC32 without the crc32c
    package), as awscrt computes it for S3 and botocore."""
    if algorithm.upper() != "CRC32C":
        return bytes(compute_checksum(body, algorithm, encode_base64))
    raw = s3_checksums.digest("CRC32C", body)
    return base64.b64encode(raw) if encode_base64 else raw


def strict(app: WsgiApp) -> WsgiApp:
    """moto's WSGI app behind the strict layer."""
    moto.s3.models.compute_checksum = _moto_checksum  # type: ignore[attr-defined]
    moto.s3.responses.compute_checksum = _moto_checksum  # type: ignore[attr-defined]
    return StrictS3(app)
