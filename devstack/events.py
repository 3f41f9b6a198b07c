"""HTTP requests and responses, and their API Gateway payload-format-2.0 forms.

Kept apart from the server so each rule of the real service (decoding, header
joining, cookies, base64, response inference) is a small function of its own.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from devstack.template import ACCOUNT_ID, API_ID

# Hop-by-hop headers end at API Gateway's front door and never reach the event.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "expect",
}
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


@dataclass
class HttpRequest:
    """A request as it arrived; `target` is the raw `path?query`."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    port: int = 0

    def header(self, name: str) -> str | None:
        """All values of a header, joined with commas as HTTP allows; None if absent."""
        values = [value for key, value in self.headers if key.lower() == name]
        return ",".join(values) if values else None


@dataclass
class HttpResponse:
    """A response to write back to the client."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of a header, case-insensitively."""
        return next((value for key, value in self.headers if key.lower() == name), None)


class MalformedResponse(Exception):
    """The function's answer is not something API Gateway can turn into HTTP."""


def message_response(status: int, message: str) -> HttpResponse:
    """API Gateway's own error shape, e.g. 404 `{"message":"Not Found"}`."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return HttpResponse(status, [("content-type", "application/json")], body)


# ----------------------------------------------------------------- the request


def split_target(target: str) -> tuple[str, str]:
    """Raw path and raw query string of a request-target (absolute form allowed)."""
    if not target.startswith("/"):
        parts = urllib.parse.urlsplit(target)
        return parts.path or "/", parts.query
    path, _, query = target.partition("?")
    return path, query


def decode_path(raw_path: str) -> str:
    """Percent-decode the path as UTF-8, as HTTP API does before matching routes."""
    return urllib.parse.unquote(raw_path, encoding="utf-8", errors="strict")


def query_parameters(raw_query: str) -> dict[str, str]:
    """Decoded parameters, repeated keys joined with commas; `+` stays a plus sign."""
    parameters: dict[str, list[str]] = {}
    for pair in filter(None, raw_query.split("&")):
        key, _, value = pair.partition("=")
        parameters.setdefault(urllib.parse.unquote(key), []).append(urllib.parse.unquote(value))
    return {key: ",".join(values) for key, values in parameters.items()}


def event_headers(request: HttpRequest) -> tuple[dict[str, str], list[str]]:
    """Lowercased headers (repeats joined by commas) and cookies, taken out of them."""
    headers: dict[str, list[str]] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies += [cookie.strip() for cookie in value.split(";") if cookie.strip()]
        elif key not in _HOP_BY_HOP:
            headers.setdefault(key, []).append(value)
    joined = {key: ",".join(values) for key, values in headers.items()}
    return {**joined, **_forwarding_headers(request, joined)}, cookies


def _forwarding_headers(request: HttpRequest, headers: dict[str, str]) -> dict[str, str]:
    """The headers API Gateway adds on its way to the integration."""
    forwarded_for = headers.get("x-forwarded-for")
    return {
        "x-amzn-trace-id": f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}",
        "x-forwarded-for": f"{forwarded_for}, {request.source_ip}"
        if forwarded_for
        else request.source_ip,
        "x-forwarded-port": str(request.port),
        "x-forwarded-proto": "http",
    }


_TEXT_TYPES = ("json", "xml", "javascript", "x-www-form-urlencoded")
_BINARY_MAIN_TYPES = ("application", "image", "audio", "video", "font")


def is_binary_type(content_type: str | None) -> bool:
    """HTTP APIs infer the encoding from the request's Content-Type: a binary type
    (`application/octet-stream`, tus's `application/offset+octet-stream`, images…)
    arrives base64-encoded even when its bytes happen to be valid UTF-8."""
    media = (content_type or "").split(";")[0].strip().lower()
    main, _, sub = media.partition("/")
    return main in _BINARY_MAIN_TYPES and not any(text in sub for text in _TEXT_TYPES)


def event_body(body: bytes, content_type: str | None = None) -> tuple[str | None, bool]:
    """Text when the bytes are UTF-8 of a text type, base64 otherwise; None when there
    is no body."""
    if not body:
        return None, False
    if is_binary_type(content_type):
        return base64.b64encode(body).decode("ascii"), True
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def request_id() -> str:
    """An id shaped like API Gateway's (`apigw-requestid`)."""
    return (
        base64.b64encode(secrets.token_bytes(11))
        .decode("ascii")
        .replace("/", "A")
        .replace("+", "B")
    )


def _request_time(epoch: float) -> str:
    """`12/Mar/2020:19:03:58 +0000`, independent of the locale."""
    moment = time.gmtime(epoch)
    month = _MONTHS[moment.tm_mon - 1]
    clock = time.strftime("%H:%M:%S", moment)
    return f"{moment.tm_mday:02d}/{month}/{moment.tm_year}:{clock} +0000"


def request_context(
    request: HttpRequest,
    route_key: str,
    path: str,
    headers: dict[str, str],
    req_id: str,
) -> dict[str, Any]:
    """`requestContext` of the event; `authorizer` is added once authorization ran."""
    now = time.time()
    domain = headers.get("host", f"127.0.0.1:{request.port}")
    return {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain,
        "domainPrefix": domain.split(".")[0],
        "http": {
            "method": request.method,
            "path": path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": req_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": _request_time(now),
        "timeEpoch": int(now * 1000),
    }


def build_event(
    request: HttpRequest,
    route_key: str,
    path: str,
    path_parameters: dict[str, str],
    req_id: str,
) -> dict[str, Any]:
    """The payload-format-2.0 event; empty parts are left out, as the service does."""
    _, raw_query = split_target(request.target)
    headers, cookies = event_headers(request)
    body, is_base64 = event_body(request.body, request.header("content-type"))
    event: dict[str, Any] = {"version": "2.0", "routeKey": route_key, "rawPath": path}
    event["rawQueryString"] = raw_query
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    optional = {
        "queryStringParameters": query_parameters(raw_query),
        "pathParameters": path_parameters,
    }
    event.update({key: value for key, value in optional.items() if value})
    event["requestContext"] = request_context(request, route_key, path, headers, req_id)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = is_base64
    return event


# ---------------------------------------------------------------- the response


def to_http_response(result: Any) -> HttpResponse:
    """Turn the function's answer into HTTP, as the payload-2.0 integration does.

    A dict with `statusCode` is a full response; anything else is the body of a
    200 `application/json` answer (a string as it is, other values as JSON).
    """
    if isinstance(result, dict) and "statusCode" in result:
        return _full_response(result)
    body = result if isinstance(result, str) else json.dumps(result)
    return HttpResponse(200, [("content-type", "application/json")], body.encode())


def _full_response(result: dict[str, Any]) -> HttpResponse:
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode must be an HTTP status, got {status!r}")
    headers = [
        (str(name), _header_value(value)) for name, value in (result.get("headers") or {}).items()
    ]
    headers += [("set-cookie", _header_value(cookie)) for cookie in result.get("cookies") or []]
    return HttpResponse(status, headers, _response_body(result))


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedResponse(f"header values must be scalars, got {value!r}")


def _response_body(result: dict[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResponse(f"body must be a string, got {type(body).__name__}")
    if not result.get("isBase64Encoded"):
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error as error:
        raise MalformedResponse(f"isBase64Encoded but body is not base64: {error}") from None
