"""S3 → EventBridge → Lambda, locally: objects created in moto reach the template's rules.

A bucket with `NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled`
sends every object it creates to EventBridge, which runs each function whose
`EventBridgeRule` pattern matches. Here a WSGI layer around moto's server (`watch`, in
moto's process: `moto_process.py`) watches the requests it answers: after a 2xx to a
PutObject, a form PostObject, a CopyObject or a CompleteMultipartUpload on such a
bucket, the stack's process builds S3's "Object Created" event (with `reason` as S3
sets it: PutObject, PostObject, CopyObject, CompleteMultipartUpload) and invokes the
matching functions on a background thread, as EventBridge does.

Follows: S3's event shape for EventBridge (`detail.bucket.name`, `detail.object.key`
as stored, `size`, `etag` without quotes, `sequencer`, `reason`, `request-id`);
asynchronous delivery after the request's answer; EventBridge patterns of exact values,
`prefix`, `suffix`, `anything-but` and `exists` on nested fields.

Does not follow: delivery is exactly once and in order (S3 and EventBridge promise only
at least once, in any order: a test re-sends `delivered` events to check idempotency);
the latency of seconds; retries of a failed invocation, `RetryPolicy`, dead-letter queues,
`InputPath`/`Input`/`InputTransformer`; numeric, wildcard and `$or` patterns; events
other than Object Created; S3 event notifications to Lambda, SNS or SQS (the template
uses none). A POST's key is read from the form's `key` field in the first 64 KiB of
the body, where S3 (and Uppy) put the fields before the file.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from devstack.runtime import log
from devstack.template import ACCOUNT_ID, Node, Resolver, StackSpec, read_template

Invoke = Callable[[str, Any], Any]
Head = Callable[[str, str], dict[str, Any] | None]
FORM_HEAD_BYTES = 64 * 1024
_KEY_FIELD = re.compile(
    rb'content-disposition:[ \t]*form-data;[ \t]*name="key"[^\r\n]*\r\n'
    rb"(?:[^\r\n]+\r\n)*\r\n(.*?)\r\n--",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class RuleTarget:
    function_id: str
    pattern: dict[str, Node]


def eventbridge_buckets(stack: StackSpec) -> set[str]:
    """Local names of the buckets that send their events to EventBridge."""
    names = set()
    for bucket in stack.buckets:
        config = (bucket.properties.get("NotificationConfiguration") or {}).get(
            "EventBridgeConfiguration"
        ) or {}
        if str(config.get("EventBridgeEnabled", "false")).lower() == "true":
            names.add(bucket.name)
    return names


def rule_targets(stack: StackSpec) -> list[RuleTarget]:
    """Every `EventBridgeRule` event of the template's functions, patterns resolved."""
    template = read_template(stack.template_path)
    resolver = Resolver(template, stack.parameters, stack.stack_name, stack.region)
    targets = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            if event.get("Type") == "EventBridgeRule":
                pattern = resolver.resolve((event.get("Properties") or {}).get("Pattern") or {})
                targets.append(RuleTarget(logical_id, pattern))
    return targets


def matches(pattern: Node, event: Node) -> bool:
    """Whether an EventBridge pattern matches an event (the subset named above)."""
    if not isinstance(pattern, dict):
        return False
    for name, wanted in pattern.items():
        present = isinstance(event, dict) and name in event
        value = event.get(name) if isinstance(event, dict) else None
        if isinstance(wanted, dict):
            if not present or not matches(wanted, value):
                return False
        elif not any(_value_matches(rule, present, value) for rule in wanted):
            return False
    return True


def _value_matches(rule: Node, present: bool, value: Node) -> bool:
    if isinstance(rule, dict):
        ((kind, argument),) = rule.items()
        text = value if isinstance(value, str) else None
        if kind == "exists":
            return present is bool(argument)
        if kind == "prefix":
            return text is not None and text.startswith(argument)
        if kind == "suffix":
            return text is not None and text.endswith(argument)
        if kind == "anything-but":
            excluded = argument if isinstance(argument, list) else [argument]
            return present and value not in excluded
        raise ValueError(f"EventBridge pattern {kind!r} is not emulated")
    values = value if isinstance(value, list) else [value]
    return present and rule in values


def object_created_event(
    bucket: str, key: str, head: dict[str, Any], reason: str, region: str
) -> dict[str, Any]:
    """S3's "Object Created" event as EventBridge delivers it."""
    found: dict[str, Any] = {
        "key": key,
        "size": int(head.get("ContentLength", 0)),
        "etag": str(head.get("ETag", "")).strip('"'),
        "sequencer": f"{time.time_ns():018X}",
    }
    if head.get("VersionId"):
        found["version-id"] = head["VersionId"]
    detail = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": found,
        "request-id": uuid.uuid4().hex[:16].upper(),
        "requester": ACCOUNT_ID,
        "source-ip-address": "127.0.0.1",
        "reason": reason,
    }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": detail,
    }


class _HeadRecorder:
    """A request body that keeps its first bytes as moto reads it."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.head = bytearray()

    def _keep(self, data: bytes) -> bytes:
        if len(self.head) < FORM_HEAD_BYTES:
            self.head += data[: FORM_HEAD_BYTES - len(self.head)]
        return data

    def read(self, *args: Any) -> bytes:
        return self._keep(self.stream.read(*args))

    def readline(self, *args: Any) -> bytes:
        return self._keep(self.stream.readline(*args))

    def __iter__(self) -> Iterable[bytes]:
        return iter(self.readline, b"")


def _created(environ: dict[str, Any]) -> tuple[str, str | None] | None:
    """(reason, key or None for a form POST) when the request may create an object."""
    method, query = environ.get("REQUEST_METHOD"), parse_qs(environ.get("QUERY_STRING", ""))
    if method == "PUT" and "partNumber" not in query and "uploadId" not in query:
        if set(query) - {"x-id"}:  # ?tagging, ?acl… change an object, create none
            return None
        copied = "HTTP_X_AMZ_COPY_SOURCE" in environ
        return ("CopyObject" if copied else "PutObject"), ""
    if method == "POST" and "uploadId" in query:
        return "CompleteMultipartUpload", ""
    if method == "POST" and environ.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
        return "PostObject", None
    return None


class Notifier:
    """Watches moto's answers and delivers Object Created events to the rules' functions."""

    def __init__(self, stack: StackSpec, invoke: Invoke, head: Head) -> None:
        self.region = stack.region
        self.buckets = eventbridge_buckets(stack)
        self.targets = rule_targets(stack)
        self.invoke = invoke
        self.head = head
        self.delivered: list[tuple[str, dict[str, Any]]] = []
        """Every event handed to a function, in order (tests re-send them)."""
        self.pending: queue.Queue[tuple[str, str, str] | None] = queue.Queue()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if self.buckets and self.targets:
            self.thread = threading.Thread(
                target=self._loop, name="devstack-s3-events", daemon=True
            )
            self.thread.start()

    def stop(self) -> None:
        """Deliver what is queued, then stop."""
        if self.thread is not None:
            self.pending.put(None)
            self.thread.join()
            self.thread = None

    def enqueue(self, bucket: str, key: str, reason: str) -> None:
        """An object was created: deliver its event (once started; the seed's are not)."""
        if self.thread is not None:
            self.pending.put((bucket, key, reason))

    def _loop(self) -> None:
        while (item := self.pending.get()) is not None:
            bucket, key, reason = item
            try:
                self._deliver(bucket, key, reason)
            except Exception as error:  # the dev stack must outlive a broken function
                log(f"S3 event for {bucket} ({reason}) failed: {error}")

    def _deliver(self, bucket: str, key: str, reason: str) -> None:
        head = self.head(bucket, key)
        if head is None:  # gone again before the event went out
            return
        event = object_created_event(bucket, key, head, reason, self.region)
        for target in self.targets:
            if matches(target.pattern, event):
                copy = json.loads(json.dumps(event))  # a handler may change its event
                self.delivered.append((target.function_id, copy))
                self.invoke(target.function_id, json.loads(json.dumps(event)))


def watch(app: Any, buckets: set[str], created: Callable[[str, str, str], None]) -> Any:
    """A WSGI layer that calls `created(bucket, key, reason)` after each 2xx that
    created an object in one of `buckets`, before the answer goes out."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        kind = _created(environ)
        bucket, _, key = unquote(environ.get("PATH_INFO", "")).lstrip("/").partition("/")
        if kind is None or bucket not in buckets:
            return app(environ, start_response)
        recorder = _HeadRecorder(environ["wsgi.input"])
        environ["wsgi.input"] = recorder
        status: list[str] = []

        def recording_start(code: str, headers: Any, *rest: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *rest)

        body = list(app(environ, recording_start))
        if status and status[0].startswith("2"):
            reason, known = kind
            name = key if known is not None else _form_key(bytes(recorder.head))
            if name:
                created(bucket, name, reason)
        return body

    return wrapped


def _form_key(head: bytes) -> str | None:
    match = _KEY_FIELD.search(head)
    if match is None or b"${filename}" in match.group(1):
        return None
    return match.group(1).decode("utf-8", "replace")
