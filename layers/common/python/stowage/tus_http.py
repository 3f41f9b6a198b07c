"""HTTP glue of the tus routes: tus's headers, its version check, its chunk bodies.

tus speaks in headers; every answer carries `Tus-Resumable`, and errors keep tus's
status codes with the contract's JSON body.
"""

from __future__ import annotations

import base64
import binascii
import json
from email.utils import format_datetime

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponse,
    OpenAPIResponseHeader,
)
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from stowage.api import create_app
from stowage.errors import (
    InvalidFieldError,
    StowageError,
    TusVersionError,
    UnsupportedMediaTypeError,
)
from stowage.models.tus import (
    CHUNK_TYPE,
    TUS_EXTENSIONS,
    TUS_VERSION,
    TusState,
)
from stowage.observability import logger
from stowage.resolver import LimitedResolver
from stowage.units import MIB


def _header(description: str) -> OpenAPIResponseHeader:
    return {"description": description, "schema": {"type": "string"}}


TUS_RESUMABLE = {"Tus-Resumable": _header("`1.0.0`")}
OFFSET = {"Upload-Offset": _header("Bytes the upload holds now")}
EXPIRES = {"Upload-Expires": _header("HTTP date after which the upload expires")}
OPTIONS_RESPONSES: dict[int, OpenAPIResponse] = {
    204: {
        "description": "What this tus server supports (no body)",
        "headers": TUS_RESUMABLE
        | {
            "Tus-Version": _header("`1.0.0`"),
            "Tus-Extension": _header(",".join(TUS_EXTENSIONS)),
            "Tus-Max-Size": _header("The largest Upload-Length the caller may create"),
        },
    }
}
CREATED_RESPONSES: dict[int, OpenAPIResponse] = {
    201: {
        "description": "Created (no body); bytes sent with the creation are stored",
        "headers": TUS_RESUMABLE | OFFSET | {"Location": _header("…/v1/tus/{upload_id}")},
    }
}
HEAD_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "How far the upload is (no body, never cached)",
        "headers": TUS_RESUMABLE
        | OFFSET
        | EXPIRES
        | {"Upload-Length": _header("The upload's size"), "Cache-Control": _header("no-store")},
    }
}
PATCH_RESPONSES: dict[int, OpenAPIResponse] = {
    204: {
        "description": "The chunk is stored (no body)",
        "headers": TUS_RESUMABLE | OFFSET | EXPIRES,
    }
}
TERMINATED_RESPONSES: dict[int, OpenAPIResponse] = {
    204: {"description": "Terminated: the S3 upload aborted (no body)", "headers": TUS_RESUMABLE}
}


def create_tus_app() -> APIGatewayHttpResolver:
    """The usual resolver, answering errors the tus way and reading bodies up to Lambda's
    payload size: the service itself answers 413 past 4 MiB, saying what to change."""
    app = create_app()
    if isinstance(app, LimitedResolver):
        app.max_body_bytes = 6 * MIB
    app.exception_handler(StowageError)(tus_error)
    return app


def tus_response(status: int, headers: dict[str, str], body: str = "") -> Response[str]:
    headers = {"Tus-Resumable": TUS_VERSION} | headers
    return Response(status, "application/json" if body else None, body, headers)


def tus_error(error: StowageError) -> Response[str]:
    if error.status >= 500:
        logger.warning("request failed", extra={"code": error.code, "reason": error.message})
    headers = {"Tus-Version": TUS_VERSION} if isinstance(error, TusVersionError) else {}
    return tus_response(error.status, headers, json.dumps(error.to_body()))


def options_headers(max_size: int) -> dict[str, str]:
    return {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": ",".join(TUS_EXTENSIONS),
        "Tus-Max-Size": str(max_size),
    }


def check_version(event: APIGatewayProxyEventV2) -> APIGatewayProxyEventV2:
    """412 unless the request speaks tus 1.0.0."""
    version = event.headers.get("tus-resumable")
    if version != TUS_VERSION:
        said = "no Tus-Resumable header" if version is None else f"Tus-Resumable {version!r}"
        raise TusVersionError(f"{said}; this server speaks tus {TUS_VERSION}")
    return event


def chunk(event: APIGatewayProxyEventV2, *, required: bool) -> bytes | None:
    """The request's bytes, which must come as `application/offset+octet-stream`; binary
    bodies arrive base64-encoded from API Gateway."""
    raw = event.body
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if not raw and not required:
        return None
    if content_type != CHUNK_TYPE:
        raise UnsupportedMediaTypeError(f"a chunk must be sent as Content-Type: {CHUNK_TYPE}")
    if not raw:
        return b""
    if not event.is_base64_encoded:
        return raw.encode("utf-8", errors="surrogatepass")
    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error as exc:
        raise InvalidFieldError("the body is not valid base64", field="body") from exc


def location(event: APIGatewayProxyEventV2, upload_id: str) -> str:
    """The new upload's absolute URL, on the host and scheme the client called."""
    host = event.headers.get("host") or event.request_context.domain_name
    scheme = event.headers.get("x-forwarded-proto") or "https"
    return f"{scheme}://{host}/v1/tus/{upload_id}"


def state_headers(state: TusState, *, with_length: bool = True) -> dict[str, str]:
    headers = {"Upload-Offset": str(state.offset)}
    if with_length:
        headers["Upload-Length"] = str(state.length)
    if state.expires_at is not None:
        headers["Upload-Expires"] = format_datetime(state.expires_at, usegmt=True)
    if with_length and state.metadata:
        headers["Upload-Metadata"] = state.metadata
    return headers
