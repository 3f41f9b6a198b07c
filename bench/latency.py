"""Warm latency of init, parts and complete through the local gateway, next to a bare
Powertools hello handler (bench/hello) behind the same gateway code, in the same run.

Both stacks run side by side; each round is one upload (init, parts, PUT, complete) and
three hello calls, so a slow moment of a shared machine hits both. Both are called the
same way: one keep-alive `requests.Session` per stack (tests/support/http.py's Api),
the same headers. Each route's p50 is shown with its ratio to hello's p50 (goal:
<= 1.2). The hello stack runs in a child process (one LocalStack per process), which
stops when this one closes its stdin.

What differs, on purpose: hello has no authorizer; stowage's routes have theirs, whose
answer API Gateway (and devstack) caches for the template's ReauthorizeEvery (300 s),
so after the warm-up rounds it is a cache hit, as it would be in AWS. The bench counts
the authorizer's own AWS calls in the measured rounds to show it.

How much of each route's time is moto's: every botocore call made on a function's
thread is timed from `before-send` to `before-parse` (the HTTP round trip to moto,
the answer's body read, not its parsing), and summed per request.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session
import requests

from devstack.seed import seed
from devstack.stack import LocalStack
from tests.support.http import Api

ROUNDS = 100
GOAL = 1.2
ROUTES = ("init", "parts", "complete")
HELLO = Path(__file__).parent / "hello"
SERVE_HELLO = f"""
import os, sys
from pathlib import Path
from devstack.stack import LocalStack
with LocalStack(root=Path({str(HELLO)!r}), port=0, s3_port=0) as stack:
    print(stack.url, flush=True)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the handler's log lines: nobody reads them
    sys.stdin.read()
"""


@dataclass
class AwsCall:
    thread: str
    operation: str
    started: float
    ms: float


@dataclass
class AwsCalls:
    """Every botocore call of this process's functions, timed at the HTTP layer."""

    calls: list[AwsCall] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    local: threading.local = field(default_factory=threading.local)

    def watch(self) -> None:
        """Register on every client created from now on (the functions' are created at
        their cold starts, during the warm-up)."""
        create = botocore.session.Session.create_client
        calls = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = create(session, *args, **kwargs)
            client.meta.events.register("before-send", calls.sending)
            client.meta.events.register("before-parse", calls.answered)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]

    def sending(self, event_name: str, **_: Any) -> None:
        self.local.sent = (event_name.rsplit(".", 1)[-1], time.perf_counter())

    def answered(self, **_: Any) -> None:
        sent = getattr(self.local, "sent", None)
        thread = threading.current_thread().name
        if sent is None or not thread.startswith("lambda-"):
            return
        operation, started = sent
        call = AwsCall(thread, operation, started, (time.perf_counter() - started) * 1000)
        with self.lock:
            self.calls.append(call)

    def between(self, start: float, end: float) -> list[AwsCall]:
        with self.lock:
            return [call for call in self.calls if start <= call.started <= end]


@dataclass
class Route:
    """One route's samples: the client's time, the moto time within it, its calls."""

    ms: list[float] = field(default_factory=list)
    aws_ms: list[float] = field(default_factory=list)
    operations: Counter[str] = field(default_factory=Counter)
    operation_ms: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    threads: Counter[str] = field(default_factory=Counter)


def timed(
    routes: dict[str, Route], name: str, aws: AwsCalls, call: Callable[[], requests.Response]
) -> dict[str, Any]:
    start = time.perf_counter()
    answer = call()
    end = time.perf_counter()
    assert answer.status_code < 300, answer.text
    calls = aws.between(start, end)
    route = routes[name]
    route.ms.append((end - start) * 1000)
    route.aws_ms.append(sum(made.ms for made in calls))
    route.operations.update(made.operation for made in calls)
    route.threads.update(made.thread for made in calls)
    for made in calls:
        route.operation_ms[made.operation] += made.ms
    body: dict[str, Any] = answer.json()
    return body


def one_cycle(api: Api, routes: dict[str, Route], aws: AwsCalls) -> None:
    plan = timed(routes, "init", aws, lambda: api.init(size=1))
    upload_id = plan["upload_id"]
    parts = timed(
        routes,
        "parts",
        aws,
        lambda: api.call("POST", f"/v1/uploads/{upload_id}/parts", json={"part_numbers": [1]}),
    )
    requests.put(parts["parts"][0]["url"], data=b"x", timeout=30)
    timed(routes, "complete", aws, lambda: api.complete(upload_id))


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def hello_calls(hello: Api, samples: list[float]) -> None:
    for _ in range(3):
        start = time.perf_counter()
        answer = hello.call("POST", "/hello", json={"hello": "?"})
        samples.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, answer.text


def new_routes() -> dict[str, Route]:
    return {name: Route() for name in ROUTES}


def report() -> None:
    aws = AwsCalls()
    aws.watch()
    routes = new_routes()
    hello: list[float] = []
    child = subprocess.Popen(
        [sys.executable, "-c", SERVE_HELLO],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        hello_url = child.stdout.readline().strip()
        # The functions' log lines go where hello's go: nowhere (a pipe would cost more).
        with (
            open(os.devnull, "w") as devnull,
            contextlib.redirect_stdout(devnull),
            LocalStack(port=0, s3_port=0, seed=seed) as stack,
        ):
            api = Api(stack.url, stack.api_key)
            hello_api = Api(hello_url, stack.api_key)  # same client, same headers
            for _ in range(5):  # warm every function once (cold starts are not counted)
                one_cycle(api, new_routes(), aws)
                hello_calls(hello_api, [])
            for _ in range(ROUNDS):
                one_cycle(api, routes, aws)
                hello_calls(hello_api, hello)
            authorizer = stack.spec.function("Authorizer").function_name or "Authorizer"
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    print_report(routes, hello, f"lambda-{authorizer}")


def print_report(routes: dict[str, Route], hello: list[float], authorizer_thread: str) -> None:
    base = percentile(hello, 50)
    print(f"## Warm latency through the local gateway ({ROUNDS} sequential uploads, ms)")
    print(f"bare Powertools hello handler: p50 {base:.1f}, p95 {percentile(hello, 95):.1f}")
    print(
        f"| route | p50 | p95 | p50 / hello's (goal <= {GOAL}) | AWS calls | "
        "moto p50 | p50 without moto | without moto / hello's |"
    )
    print("|---|---|---|---|---|---|---|---|")
    authorizer_calls = 0
    for name, route in routes.items():
        p50 = percentile(route.ms, 50)
        moto = percentile(route.aws_ms, 50)
        rest = percentile([ms - aws for ms, aws in zip(route.ms, route.aws_ms, strict=True)], 50)
        calls = sum(route.operations.values()) / len(route.ms)
        authorizer_calls += route.threads[authorizer_thread]
        print(
            f"| {name} | {p50:.1f} | {percentile(route.ms, 95):.1f} | {p50 / base:.2f} | "
            f"{calls:.0f} | {moto:.1f} | {rest:.1f} | {rest / base:.2f} |"
        )
    for name, route in routes.items():
        each = ", ".join(
            f"{op} ×{n / len(route.ms):.3g} ({route.operation_ms[op] / n:.1f} ms each)"
            for op, n in route.operations.items()
        )
        print(f"{name}'s AWS calls per request (mean): {each}")
    print(
        f"authorizer AWS calls in the measured rounds: {authorizer_calls} "
        "(its answer is cached for ReauthorizeEvery, as API Gateway does; hello has none)"
    )
