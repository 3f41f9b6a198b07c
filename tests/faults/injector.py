"""Faults injected into the real boto3 clients of handler modules, at the wire.

botocore announces each API call once (`before-call`, before any retry) and
each attempt at it once (`before-send`, where moto answers too). The injector numbers
the calls and, on the planned one, answers attempts itself, so the client's own retry
policy (standard mode, 3 attempts) runs exactly as it would against AWS:

- `throttled`: every attempt throttled (DynamoDB `ProvisionedThroughputExceededException`,
  S3 `SlowDown` 503), so the call fails;
- `internal`: a 500 `InternalError` (`InternalServerError` on DynamoDB), the first attempt
  only, as AWS's are: botocore's retry goes through;
- `timeout`: every attempt a `ReadTimeoutError`, the request never applied;
- `lost`: the first attempt applied (moto executes it) and its answer lost to a
  `ReadTimeoutError`; botocore's retry then meets the applied write;
- `conflict`: a conditional write answered `ConditionalCheckFailedException`, as a racing
  writer would cause (DynamoDB does not retry it);
- `partial`: a DeleteObjects that S3 answers 200 with `Errors` for some of its keys
  (every other one, the first included): those keys are left in place, the rest deleted.
  (stowage makes no BatchWriteItem call, so unprocessed items have no kind.)

A faulted attempt is pointed at an unknown host before moto's own `before-send` handler
sees it, so moto leaves it alone and the fault means "not applied".
"""

from __future__ import annotations

import io
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.client import BaseClient
from botocore.exceptions import ReadTimeoutError
from moto.core.models import botocore_stubber

KINDS = ("throttled", "internal", "timeout", "lost", "conflict", "partial")
PARTIAL = frozenset({"DeleteObjects"})
"""Calls that can fail for some of their items while answering 200."""
WRITES = {
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "CreateMultipartUpload",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "CopyObject",
    "DeleteObject",
    "DeleteObjects",
    "PutObject",
}
NOWHERE = "http://fault.invalid/"
_DYNAMO_TYPE = "com.amazonaws.dynamodb.v20120810#"


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    conditional: bool

    def __str__(self) -> str:
        return f"{self.service}.{self.operation}"


def applies(kind: str, call: Call) -> bool:
    """Whether a fault kind makes sense for a call: `lost` for writes, `conflict` for
    conditional writes; the rest for every call."""
    if kind == "lost":
        return call.operation in WRITES
    if kind == "conflict":
        return call.conditional
    if kind == "partial":
        return call.operation in PARTIAL
    return True


@dataclass
class Injector:
    """Records every call of the clients it is attached to; fails the planned one."""

    calls: list[Call] = field(default_factory=list)
    kind: str | None = None
    target: int = -1
    attempts: int = 0
    """Attempts botocore made at the faulted call."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _current: threading.local = field(default_factory=threading.local)

    def attach(self, client: BaseClient) -> None:
        service = client.meta.service_model.service_id.hyphenize()
        events = client.meta.events
        events.register(f"before-call.{service}", self._on_call)
        events.register(f"before-send.{service}", self._on_send)

    def plan(self, kind: str | None, target: int = -1) -> None:
        """From now on: record calls afresh, and fail call number `target` with `kind`."""
        with self._lock:
            self.calls, self.kind, self.target, self.attempts = [], kind, target, 0

    def _on_call(self, params: dict[str, Any], model: Any, event_name: str, **_: Any) -> None:
        # `before-call` comes once per call that is sent (presigning makes none); the
        # serialized request says whether it carries a condition.
        body = params.get("body") or b""
        # A body of bytes S3 streams (UploadPart, PutObject) is a file object: no condition.
        raw = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else b""
        conditional = b'"ConditionExpression"' in raw  # not a query's KeyConditionExpression
        call = Call(event_name.split(".")[1], model.name, conditional)
        with self._lock:
            self.calls.append(call)
            self._current.index = len(self.calls) - 1

    def _on_send(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> Any:
        if self.kind is None or getattr(self._current, "index", None) != self.target:
            return None
        self.attempts += 1
        service = event_name.split(".")[1]
        if self.kind == "partial":
            return partly_deleted(event_name, request)
        if self.kind == "lost":
            if self.attempts > 1:
                return None
            botocore_stubber(event_name, request)  # applied: moto executes it...
            raise ReadTimeoutError(endpoint_url=request.url)  # ...and the answer is lost
        if self.kind == "internal" and self.attempts > 1:
            return None
        url, request.url = request.url, NOWHERE
        if self.kind == "timeout":
            raise ReadTimeoutError(endpoint_url=url)
        return error_response(service, self.kind, request.method or "GET")


_S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def partly_deleted(event_name: str, request: AWSPreparedRequest) -> AWSResponse:
    """A DeleteObjects applied to every other key, its answer listing the rest in
    `Errors`, as S3 answers when some deletes fail (a 200 all the same)."""
    body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
    keys = [k.text or "" for k in ElementTree.fromstring(body).iter(f"{{{_S3_NS}}}Key")]
    failing, kept = keys[::2], keys[1::2]
    if kept:
        objects = "".join(f"<Object><Key>{escape(k)}</Key></Object>" for k in kept)
        request.body = (f'<Delete xmlns="{_S3_NS}"><Quiet>true</Quiet>{objects}</Delete>').encode()
        request.headers["Content-Length"] = str(len(request.body))
        applied = botocore_stubber(event_name, request)
        assert applied is not None and applied.status_code == 200, "moto refused the delete"
    # Quiet mode, as stowage asks: only the keys that failed are listed.
    errors = "".join(
        f"<Error><Key>{escape(k)}</Key><Code>InternalError</Code>"
        "<Message>We encountered an internal error. Please try again.</Message></Error>"
        for k in failing
    )
    answer = f'<DeleteResult xmlns="{_S3_NS}">{errors}</DeleteResult>'.encode()
    headers = {"Content-Type": "application/xml", "x-amz-request-id": "fault"}
    request.url = NOWHERE
    return AWSResponse(NOWHERE, 200, headers, _Raw(answer))


def error_response(service: str, kind: str, method: str) -> AWSResponse:
    status, code, message = {
        ("dynamodb", "throttled"): (400, "ProvisionedThroughputExceededException", "Throttled"),
        ("dynamodb", "internal"): (500, "InternalServerError", "Internal server error"),
        ("dynamodb", "conflict"): (400, "ConditionalCheckFailedException", "Condition failed"),
        ("s3", "throttled"): (503, "SlowDown", "Please reduce your request rate."),
        ("s3", "internal"): (500, "InternalError", "We encountered an internal error."),
        ("secrets-manager", "throttled"): (400, "ThrottlingException", "Rate exceeded"),
        ("secrets-manager", "internal"): (500, "InternalServiceError", "Internal error"),
    }[(service, kind)]
    if service == "dynamodb":
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fault"}
        body = json.dumps({"__type": _DYNAMO_TYPE + code, "message": message}).encode()
    elif service == "secrets-manager":
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "fault"}
        body = json.dumps({"__type": code, "message": message}).encode()
    else:
        headers = {"Content-Type": "application/xml", "x-amz-request-id": "fault"}
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
            f"<Message>{message}</Message><RequestId>fault</RequestId></Error>"
        ).encode()
    if method == "HEAD":
        body = b""  # S3 answers HEAD errors without a body
    return AWSResponse(NOWHERE, status, headers, _Raw(body))


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield from itertools.takewhile(bool, iter(lambda: self.read(65536), b""))


def clients_of(root: object, depth: int = 4) -> list[BaseClient]:
    """Every boto3 client reachable from `root` through attributes (a service and its
    adapters), each once."""
    found: dict[int, BaseClient] = {}

    def walk(node: object, level: int) -> None:
        if isinstance(node, BaseClient):
            found[id(node)] = node
            return
        if level == 0 or not hasattr(node, "__dict__"):
            return
        for value in vars(node).values():
            walk(value, level - 1)

    walk(root, depth)
    return list(found.values())
