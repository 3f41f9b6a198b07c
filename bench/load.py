"""Load through the local gateway: 1,000 full upload cycles (init → sign → PUT one part →
complete) from 16 concurrent clients. Loopback only, bounded in count and time."""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.latency import percentile
from devstack.seed import seed
from devstack.stack import LocalStack
from tests.support.http import Api

CYCLES = int(os.environ.get("BENCH_LOAD_CYCLES", "1000"))
CLIENTS = 16
DEADLINE_SECONDS = 600
WARM_ROUNDS = 2
STEPS = ("init", "parts", "put", "complete")


class Recorder:
    """Latencies per step and errors, from many threads."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def timed(self, step: str, call: Callable[[], requests.Response]) -> requests.Response:
        start = time.perf_counter()
        answer = call()
        elapsed = (time.perf_counter() - start) * 1000
        with self.lock:
            self.samples[step].append(elapsed)
            if answer.status_code >= 300:
                self.errors[f"{step} {answer.status_code}"] += 1
        return answer


def one_cycle(api: Api, record: Recorder, number: int) -> None:
    init = record.timed("init", lambda: api.init(size=1, file_name=f"load-{number}.bin"))
    if init.status_code != 201:
        return
    upload_id = init.json()["upload_id"]
    body = {"part_numbers": [1]}
    parts = record.timed(
        "parts", lambda: api.call("POST", f"/v1/uploads/{upload_id}/parts", json=body)
    )
    if parts.status_code != 200:
        return
    url = parts.json()["parts"][0]["url"]
    put = record.timed("put", lambda: api.http.put(url, data=b"x", timeout=60))
    if put.status_code == 200:
        record.timed("complete", lambda: api.complete(upload_id))


def run(stack: LocalStack, record: Recorder) -> float:
    apis = [Api(stack.url, stack.api_key) for _ in range(CLIENTS)]  # a connection pool each
    # Warm as many instances of each function as the clients keep busy at once, as a
    # steady load would: cold starts are not counted here (`bench cold_start` has them).
    with ThreadPoolExecutor(CLIENTS) as pool:
        for _ in range(WARM_ROUNDS):
            list(pool.map(lambda api: one_cycle(api, Recorder(), -1), apis))
    deadline = time.monotonic() + DEADLINE_SECONDS
    start = time.perf_counter()

    def work(number: int) -> None:
        if time.monotonic() < deadline:
            one_cycle(apis[number % CLIENTS], record, number)

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(work, range(CYCLES)))
    return time.perf_counter() - start


def report() -> None:
    record = Recorder()
    with LocalStack(port=0, s3_port=0, seed=seed) as stack:
        elapsed = run(stack, record)
    done = len(record.samples["complete"])
    errors = sum(record.errors.values())
    print(f"## Load: {CYCLES:,} upload cycles from {CLIENTS} concurrent clients (local gateway)")
    print(
        f"completed: {done:,} in {elapsed:.1f} s ({done / elapsed:.1f} uploads/s), "
        f"errors: {errors} {dict(record.errors) or ''}"
    )
    print("| step | count | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for step in STEPS:
        values = record.samples[step]
        if len(values) >= 2:
            p50, p95, p99 = (percentile(values, q) for q in (50, 95, 99))
            print(f"| {step} | {len(values):,} | {p50:.0f} | {p95:.0f} | {p99:.0f} |")
