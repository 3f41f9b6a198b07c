"""A handler's import plus its first request, for the main routes, in fresh interpreters.

What a new instance pays before its first answer is its import and then its first
request: pydantic builds the models that request uses (they are `defer_build`),
Powertools builds the route's validation, botocore opens its first connection and signs
its first request. This runs init, parts and complete that way against a local stack
whose moto runs in this process (its CPU is not the child's), each round with a fresh
upload made through the local gateway. Beside them, in the same rounds: the baseline
(`import boto3` + S3 and DynamoDB clients) and the baseline plus one DynamoDB call and
one S3 call (what any handler's first request pays botocore). Ratios are of CPU time, to
the bare baseline and to the baseline with its first calls.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bench.cold_start import NO_CRT, PYCACHE, RUNS, Timing, environment, handler_code, medians
from devstack.events import HttpRequest, build_event
from devstack.seed import seed
from devstack.stack import LocalStack
from devstack.template import StackSpec
from tests.support.http import Api

BARE_FIRST_CALLS = (
    NO_CRT
    + """
import os, time; t, c = time.perf_counter(), time.process_time()
import boto3; s3 = boto3.client("s3"); dynamodb = boto3.client("dynamodb")
print((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)
dynamodb.describe_table(TableName=os.environ["UPLOADS_TABLE"])
s3.head_bucket(Bucket=os.environ["FILES_BUCKET"])
print((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)
"""
)
FIRST_REQUEST = """
import json, types
t1, c1 = time.perf_counter(), time.process_time()
context = types.SimpleNamespace(
    function_name="bench", function_version="$LATEST", memory_limit_in_mb="256",
    invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:bench",
    aws_request_id="cold-bench", log_group_name="bench", log_stream_name="bench",
    get_remaining_time_in_millis=lambda: 29000,
)
answer = getattr(module, {handler!r})(json.loads({event!r}), context)
t2, c2 = time.perf_counter(), time.process_time()
print("status", answer["statusCode"])
print((t1 - t) * 1000, (c1 - c) * 1000)
print((t2 - t) * 1000, (c2 - c) * 1000)
"""
BARE = "baseline + first calls"
ROUTES = {
    "init": ("UploadInit", "POST /v1/uploads"),
    "parts": ("UploadParts", "POST /v1/uploads/{upload_id}/parts"),
    "complete": ("UploadComplete", "POST /v1/uploads/{upload_id}/complete"),
}


@dataclass
class Run:
    imported: Timing
    answered: Timing


def run_child(code: str, env: dict[str, str]) -> Run:
    """What the child printed last: its import, then its import and first request or calls."""
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    lines = done.stdout.strip().splitlines()
    if any(line.startswith("status ") for line in lines):
        status = next(line for line in lines if line.startswith("status "))
        assert int(status.split()[1]) < 300, done.stdout[-2000:]
    *_, imported, answered = lines
    first, second = (tuple(map(float, line.split())) for line in (imported, answered))
    return Run(Timing(*first), Timing(*second))


def caller_context(stack: LocalStack) -> dict[str, object]:
    """What the authorizer tells the functions about the seeded development client."""
    event = {
        "version": "2.0",
        "type": "REQUEST",
        "routeKey": "POST /v1/uploads",
        "headers": {"authorization": f"Bearer {stack.api_key}"},
    }
    verdict = stack.invoke("Authorizer", event)
    assert verdict["isAuthorized"], verdict
    context: dict[str, object] = verdict["context"]
    return context


def event_for(
    caller: dict[str, object], route_key: str, parameters: dict[str, str], body: object
) -> str:
    """The payload-2.0 event the local gateway would hand the function, authorized."""
    method, _, template = route_key.partition(" ")
    path = template.format(**parameters)
    headers = [("content-type", "application/json"), ("host", "bench.local")]
    raw = json.dumps(body).encode() if body is not None else b""
    request = HttpRequest(method, path, headers, raw)
    event = build_event(request, route_key, path, parameters, f"bench-{uuid.uuid4().hex[:8]}")
    event["requestContext"]["authorizer"] = {"lambda": caller}
    return json.dumps(event)


def route_code(spec: StackSpec, name: str, api: Api, caller: dict[str, object]) -> str:
    """This round's child for a route: a fresh upload for parts and complete."""
    logical_id, route_key = ROUTES[name]
    handler = spec.function(logical_id).handler.rpartition(".")[2]
    if name == "init":
        body = {"file_name": f"{uuid.uuid4().hex}.bin", "size": 1}
        event = event_for(caller, route_key, {}, body)
    else:
        answer = api.init(size=1)
        assert answer.status_code == 201, answer.text
        upload_id = answer.json()["upload_id"]
        if name == "parts":
            event = event_for(caller, route_key, {"upload_id": upload_id}, {"part_numbers": [1]})
        else:
            api.put_part(api.sign(upload_id, [1])[0], b"x")
            event = event_for(caller, route_key, {"upload_id": upload_id}, None)
    code = handler_code(spec, logical_id).rsplit("print(", 1)[0]
    return code + FIRST_REQUEST.format(handler=handler, event=event)


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """The local stack's own functions log their setup requests to stdout: not here."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def report(runs: int = RUNS) -> None:
    with quiet_stdout(), LocalStack(port=0, s3_port=0, seed=seed) as stack:
        spec, api, caller = stack.spec, Api(stack.url, stack.api_key), caller_context(stack)
        env = environment(spec) | {
            "PYTHONPYCACHEPREFIX": str(PYCACHE),
            "AWS_ENDPOINT_URL": stack.aws_endpoint,
        }
        rows: dict[str, list[Run]] = {BARE: [], **{name: [] for name in ROUTES}}
        run_child(BARE_FIRST_CALLS, env)  # compiles, as the import table's first pass does
        for name in ROUTES:
            run_child(route_code(spec, name, api, caller), env)
        for _ in range(runs):
            rows[BARE].append(run_child(BARE_FIRST_CALLS, env))
            for name in ROUTES:
                rows[name].append(run_child(route_code(spec, name, api, caller), env))
    base = medians([r.imported for r in rows[BARE]])
    first = medians([r.answered for r in rows[BARE]])
    print(f"## Import and first request, main routes (median of {runs} fresh interpreters)")
    print(
        f"baseline `import boto3` + clients: {base.cpu_ms:.0f} ms CPU; with a first DynamoDB "
        f"and S3 call: {first.cpu_ms:.0f} ms. Ratios are of CPU time."
    )
    print(
        "| route | import ms | first request ms | import + first request ms "
        "| / baseline | / baseline + first calls |"
    )
    print("|---|---|---|---|---|---|")
    for name in ROUTES:
        imported = medians([r.imported for r in rows[name]])
        answered = medians([r.answered for r in rows[name]])
        alone = statistics.median(r.answered.cpu_ms - r.imported.cpu_ms for r in rows[name])
        print(
            f"| {name} | {imported.cpu_ms:.0f} | {alone:.0f} | {answered.cpu_ms:.0f} "
            f"| {answered.cpu_ms / base.cpu_ms:.2f} | {answered.cpu_ms / first.cpu_ms:.2f} |"
        )
