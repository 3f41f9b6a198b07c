"""Warm latency of init, parts and complete through the local gateway."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import requests

from devstack.seed import seed
from devstack.stack import LocalStack
from tests.support.http import Api

ROUNDS = 100


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


def report() -> None:
    samples: dict[str, list[float]] = {"init": [], "parts": [], "complete": []}
    with LocalStack(port=0, s3_port=0, seed=seed) as stack:
        api = Api(stack.url, stack.api_key)
        for _ in range(5):  # warm every function once (cold starts are not counted)
            one_cycle(api, {"init": [], "parts": [], "complete": []})
        for _ in range(ROUNDS):
            one_cycle(api, samples)
    print(f"## Warm latency through the local gateway ({ROUNDS} sequential uploads, ms)")
    print("| route | p50 | p95 |")
    print("|---|---|---|")
    for name, values in samples.items():
        print(f"| {name} | {percentile(values, 50):.1f} | {percentile(values, 95):.1f} |")
