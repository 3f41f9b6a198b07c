"""Warm latency of init, parts and complete through the local gateway, next to a bare
Powertools hello handler (bench/hello) behind the same gateway code, in the same run.

Both stacks run side by side; each round is one upload (init, parts, PUT, complete) and
three hello calls, so a slow moment of a shared machine hits both. Each route's p50 is
shown with its ratio to hello's p50 (goal: <= 1.2). The hello stack runs in a child
process (one LocalStack per process), which stops when this one closes its stdin.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

from devstack.seed import seed
from devstack.stack import LocalStack
from tests.support.http import Api

ROUNDS = 100
GOAL = 1.2
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


def timed(
    samples: dict[str, list[float]], name: str, call: Callable[[], requests.Response]
) -> dict:
    start = time.perf_counter()
    answer = call()
    samples[name].append((time.perf_counter() - start) * 1000)
    assert answer.status_code < 300, answer.text
    return answer.json()


def one_cycle(api: Api, samples: dict[str, list[float]]) -> None:
    plan = timed(samples, "init", lambda: api.init(size=1))
    upload_id = plan["upload_id"]
    parts = timed(
        samples,
        "parts",
        lambda: api.call("POST", f"/v1/uploads/{upload_id}/parts", json={"part_numbers": [1]}),
    )
    requests.put(parts["parts"][0]["url"], data=b"x", timeout=30)
    timed(samples, "complete", lambda: api.complete(upload_id))


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def hello_calls(url: str, session: requests.Session, samples: list[float]) -> None:
    for _ in range(3):
        start = time.perf_counter()
        answer = session.post(f"{url}/hello", json={"hello": "?"}, timeout=30)
        samples.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, answer.text


def report() -> None:
    samples: dict[str, list[float]] = {"init": [], "parts": [], "complete": []}
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
        with LocalStack(port=0, s3_port=0, seed=seed) as stack, requests.Session() as session:
            api = Api(stack.url, stack.api_key)
            for _ in range(5):  # warm every function once (cold starts are not counted)
                one_cycle(api, {"init": [], "parts": [], "complete": []})
                hello_calls(hello_url, session, [])
            for _ in range(ROUNDS):
                one_cycle(api, samples)
                hello_calls(hello_url, session, hello)
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    base = percentile(hello, 50)
    print(f"## Warm latency through the local gateway ({ROUNDS} sequential uploads, ms)")
    print(f"bare Powertools hello handler: p50 {base:.1f}, p95 {percentile(hello, 95):.1f}")
    print(f"| route | p50 | p95 | p50 / hello's (goal <= {GOAL}) |")
    print("|---|---|---|---|")
    for name, values in samples.items():
        p50 = percentile(values, 50)
        print(f"| {name} | {p50:.1f} | {percentile(values, 95):.1f} | {p50 / base:.2f} |")
