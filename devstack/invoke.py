"""Lambda's Invoke API, locally: a handler's `lambda.invoke(...)` reaches the template's
functions through the same endpoint as S3 and DynamoDB (`AWS_ENDPOINT_URL`).

A WSGI layer answers `POST /2015-03-31/functions/{name}/invocations` signed for the
`lambda` service, on an endpoint of this process (`listen()`), where the functions run:
moto's process passes such requests on to it (`moto_process.py`). The
function is named as Lambda accepts it: its name, `name:qualifier`, or its ARN.

Follows, for `InvocationType: Event` (asynchronous): the 202 answer at once, before the
function runs; the event queued and run in the background, several at a time, like the
schedules; a failed run (an error or a timeout) retried `EventInvokeConfig.
MaximumRetryAttempts` times (Lambda's default 2), each retry after a pause that grows
(Lambda's 1 then 2 minutes, here `retry_seconds` then twice that); an event older than
`MaximumEventAgeInSeconds` dropped instead of retried; once retries are exhausted, a
record in the shape Lambda sends to an on-failure destination (`requestContext.condition:
RetriesExhausted`, `approximateInvokeCount`, `requestPayload`, `responsePayload`) kept in
`failures` and logged. `RequestResponse` runs the function and answers its result (200,
`X-Amz-Function-Error: Unhandled` on failure); `DryRun` answers 204. An unknown function
is 404 `ResourceNotFoundException`.

Does not follow: the on-failure destination (an SQS queue or the `DeadLetterQueue`) is
not written to — SQS is not emulated — so failure records stay in `failures`; delivery
is exactly once unless the function fails, whereas Lambda may deliver an event twice
(a test invokes the builder a second time itself to check it); the 256 KB async payload
limit, throttling, reserved concurrency, on-success destinations, `ClientContext`,
`LogType: Tail`, versions and aliases (a qualifier is ignored), and IAM.
`held()` keeps queued events from starting until it ends, so a test can change the
world between a request and its asynchronous work (as a busy Lambda queue would).
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from devstack.moto_process import run_wsgi
from devstack.runtime import InvocationError, log
from devstack.template import FunctionSpec, StackSpec

Invoke = Callable[[str, Any], Any]
PREFIX = "/2015-03-31/functions/"
DEFAULT_RETRIES = 2
DEFAULT_MAX_AGE = 6 * 3600


@dataclass
class Queued:
    function_id: str
    payload: Any
    request_id: str
    queued_at: float = field(default_factory=time.monotonic)
    attempts: int = 0


class AsyncInvoker:
    """Answers Lambda Invoke requests; runs asynchronous ones on background workers."""

    def __init__(
        self, stack: StackSpec, invoke: Invoke, *, workers: int = 4, retry_seconds: float = 1.0
    ) -> None:
        self.functions = stack.functions
        self.invoke = invoke
        self.workers = workers
        self.retry_seconds = retry_seconds
        self.pending: queue.Queue[Queued | None] = queue.Queue()
        self.failures: list[dict[str, Any]] = []
        self.threads: list[threading.Thread] = []
        self.stopping = threading.Event()
        self.released = threading.Event()
        self.released.set()
        self.server: Any = None

    def listen(self) -> str:
        """Serve the Invoke API on a free port of 127.0.0.1 and return its URL; moto's
        process passes handlers' Invoke requests on to it (`moto_process.py`)."""
        self.server, _, url = run_wsgi(self.wrap(_not_found), "devstack-invoke-api")
        return url

    # -- lifecycle

    def start(self) -> None:
        self.stopping.clear()
        for number in range(self.workers):
            thread = threading.Thread(target=self._loop, name=f"devstack-invoke-{number}")
            thread.daemon = True
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        """Stop taking events; runs in flight end first (at most their Timeout)."""
        self.stopping.set()
        self.released.set()
        for _ in self.threads:
            self.pending.put(None)
        for thread in self.threads:
            thread.join()
        self.threads = []
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Queue asynchronous invocations without running them until the block ends."""
        self.released.clear()
        try:
            yield
        finally:
            self.released.set()

    # -- the HTTP side

    def wrap(self, app: Any) -> Any:
        """The WSGI layer in front of moto's server."""

        def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
            path = environ.get("PATH_INFO", "")
            signed_for_lambda = "/lambda/aws4_request" in environ.get("HTTP_AUTHORIZATION", "")
            if not (path.startswith(PREFIX) and path.endswith("/invocations")):
                return app(environ, start_response)
            if not signed_for_lambda or environ.get("REQUEST_METHOD") != "POST":
                return app(environ, start_response)
            name = unquote(path[len(PREFIX) : -len("/invocations")])
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(size) if size else b""
            kind = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
            status, headers, answer = self.answer(name, kind, body)
            start_response(status, [*headers, ("Content-Length", str(len(answer)))])
            return [answer]

        return wrapped

    def answer(self, name: str, kind: str, body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        request_id = str(uuid.uuid4())
        headers = [("x-amzn-RequestId", request_id), ("Content-Type", "application/json")]
        spec = self.function_named(name)
        if spec is None:
            error = {"Type": "User", "message": f"Function not found: {name}"}
            return (
                "404 Not Found",
                [*headers, ("x-amzn-ErrorType", "ResourceNotFoundException")],
                (json.dumps(error).encode()),
            )
        payload = json.loads(body) if body.strip() else {}
        if kind == "DryRun":
            return "204 No Content", headers, b""
        if kind == "Event":
            self.pending.put(Queued(spec.logical_id, payload, request_id))
            return "202 Accepted", headers, b""
        try:
            result = self.invoke(spec.logical_id, payload)
        except InvocationError as error:
            failed = {"errorMessage": str(error), "errorType": "Unhandled"}
            return (
                "200 OK",
                [*headers, ("X-Amz-Function-Error", "Unhandled")],
                (json.dumps(failed).encode()),
            )
        return (
            "200 OK",
            [*headers, ("X-Amz-Executed-Version", "$LATEST")],
            (json.dumps(result).encode()),
        )

    def function_named(self, name: str) -> FunctionSpec | None:
        """By name, `name:qualifier` or ARN (`arn:aws:lambda:region:account:function:name`)."""
        parts = name.split(":")
        bare = parts[6] if name.startswith("arn:") and len(parts) > 6 else parts[0]
        for spec in self.functions:
            if bare in (spec.function_name, spec.logical_id):
                return spec
        return None

    # -- the background side

    def _loop(self) -> None:
        while (item := self.pending.get()) is not None:
            self.released.wait()
            if self.stopping.is_set():
                return
            self._run(item)

    def _run(self, item: Queued) -> None:
        spec = next(s for s in self.functions if s.logical_id == item.function_id)
        config = spec.event_invoke
        retries = int(config.get("MaximumRetryAttempts", DEFAULT_RETRIES))
        max_age = float(config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE))
        while True:
            item.attempts += 1
            try:
                self.invoke(item.function_id, json.loads(json.dumps(item.payload)))
                return
            except Exception as error:  # the dev stack must outlive a broken function
                reason = str(error)
            old = time.monotonic() - item.queued_at > max_age
            if item.attempts > retries or old or self.stopping.is_set():
                self._failed(item, reason, "EventAgeExceeded" if old else "RetriesExhausted")
                return
            log(f"async {item.function_id} failed ({reason}); retry {item.attempts} of {retries}")
            if self.stopping.wait(self.retry_seconds * item.attempts):
                self._failed(item, reason, "RetriesExhausted")
                return

    def _failed(self, item: Queued, reason: str, condition: str) -> None:
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": item.request_id,
                "functionArn": item.function_id,
                "condition": condition,
                "approximateInvokeCount": item.attempts,
            },
            "requestPayload": item.payload,
            "responsePayload": {"errorMessage": reason},
        }
        self.failures.append(record)
        log(f"async {item.function_id} gave up after {item.attempts} attempts: {reason}")


def _not_found(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """What the invoke endpoint answers to anything but an Invoke request."""
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
    return [b"not found"]
