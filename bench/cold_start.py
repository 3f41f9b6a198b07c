"""Cold import of every function of template.yaml next to `import boto3` + an S3 and a
DynamoDB client, in fresh interpreters, in one run.

What a new Lambda instance pays before its first event: the interpreter is up, then the
handler module is imported (its module scope runs: Powertools, models, the composition
root, clients). The baseline is the least any handler here can do: `import boto3` and
create an S3 and a DynamoDB client. Each function's import runs with the environment the
template gives it plus what Lambda sets (`AWS_LAMBDA_FUNCTION_NAME`, region, keys), with
tracing on as `Tracing: Active` deploys it. Rounds alternate the baseline and every
function so a slow moment of this shared machine hits them all; the median of the rounds
is shown, and each function's ratio to the baseline's median (goal: <= 1.3). Ratios are
of CPU time (the child's own `process_time`), which other processes of a loaded machine
barely move; wall time is shown too. Every module runs from bytecode compiled by a
first, unmeasured import, as on Lambda.

Two reference rows sit beside the functions. `floor`: the baseline plus what every API
function needs before any stowage code runs (Powertools' HTTP API resolver with its
pydantic validation, its Logger and Metrics): no function can import for less while it
uses them. And awscrt is kept out of every child (baseline included): the dev
environment has it for the CLI, but neither the layer nor Lambda's Python runtime ships
it, and botocore imports it at `import boto3` when it is there (~60 ms).

Nothing is hidden by deferring it: pydantic builds each model at its first use
(`defer_build`), Powertools builds a route's validation at its first request, and the
X-Ray SDK (when asked for) comes at the first request too. So the second table runs the
main routes (init, parts, complete) once in fresh interpreters, against a local stack
(moto in this process, so its CPU is not the child's): the handler's import plus its
first request, next to the baseline plus a first DynamoDB and S3 call.

`python -X importtime` on one handler shows where its time goes:
`python -m bench.cold_start --importtime UploadInit`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devstack.runtime import function_environment
from devstack.template import StackSpec, load_template

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))
GOAL = 1.3
FLOOR_ROW = "floor: baseline + Powertools resolver, validation, Logger, Metrics"
# Bytecode goes here, not beside the sources: Lambda runs precompiled modules (the
# runtime's boto3, pip-installed dependencies), and this shell may forbid writing them.
PYCACHE = Path(tempfile.gettempdir()) / "stowage-bench-pycache"
# Neither the layer nor Lambda's runtime has awscrt (the dev environment has it, for the
# CLI); botocore imports it at `import boto3` when it can. A None entry makes it absent.
NO_CRT = 'import sys; sys.modules["awscrt"] = None\n'
BASELINE = (
    NO_CRT
    + """
import time; t, c = time.perf_counter(), time.process_time()
import boto3; boto3.client("s3"); boto3.client("dynamodb")
print((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)
"""
)
FLOOR = (
    NO_CRT
    + """
import time; t, c = time.perf_counter(), time.process_time()
import boto3; boto3.client("s3"); boto3.client("dynamodb")
from aws_lambda_powertools.logging import Logger; from aws_lambda_powertools.metrics import Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel
Logger(); Metrics(); APIGatewayHttpResolver(enable_validation=True)
print((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)
"""
)
HANDLER = (
    NO_CRT
    + """
import time, importlib.util, sys; t, c = time.perf_counter(), time.process_time()
sys.path[:0] = {paths!r}
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec); sys.modules["app"] = module
spec.loader.exec_module(module)
getattr(module, {handler!r})
print((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)
"""
)


def stack() -> StackSpec:
    return load_template(ROOT / "template.yaml")


def environment(spec: StackSpec) -> dict[str, str]:
    """The functions' variables and what Lambda adds; nothing of this shell's AWS setup."""
    skip = ("AWS_", "POWERTOOLS_", "PYTHONDONTWRITEBYTECODE")
    base = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    return (
        base
        | function_environment(spec)
        | {
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "UPLOAD_TOKEN_SECRET": "bench-secret",
        }
    )


def handler_code(spec: StackSpec, logical_id: str) -> str:
    function = spec.function(logical_id)
    module_file, _, handler = function.handler.rpartition(".")
    code_dir = (spec.base_dir / function.code_uri).resolve()
    path = code_dir / (module_file.replace(".", "/") + ".py")
    layers = [str((spec.base_dir / p).resolve()) for p in function.layer_paths]
    return HANDLER.format(paths=[str(code_dir), *layers], path=str(path), handler=handler)


@dataclass
class Timing:
    wall_ms: float
    cpu_ms: float
    """The process's own CPU time: what the import costs, less what other processes of a
    loaded machine take from it."""


def measure_once(code: str, env: dict[str, str]) -> Timing:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return Timing(float(wall), float(cpu))


def measure_all(
    runs: int = RUNS, names: list[str] | None = None
) -> tuple[list[Timing], dict[str, list[Timing]]]:
    """Each round: the baseline, then every function (or those named)."""
    spec = stack()
    env = environment(spec) | {"PYTHONPYCACHEPREFIX": str(PYCACHE)}
    wanted = names or [f.logical_id for f in spec.functions]
    codes = {name: handler_code(spec, name) for name in wanted}
    baseline: list[Timing] = []
    handlers: dict[str, list[Timing]] = {name: [] for name in codes}
    codes[FLOOR_ROW] = FLOOR
    handlers[FLOOR_ROW] = []
    for code in [BASELINE, *codes.values()]:
        measure_once(code, env)  # compiles the bytecode, as a deployed package has it
    for _ in range(runs):
        baseline.append(measure_once(BASELINE, env))
        for name, code in codes.items():
            handlers[name].append(measure_once(code, env))
    return baseline, handlers


def medians(timings: list[Timing]) -> Timing:
    return Timing(
        statistics.median(t.wall_ms for t in timings), statistics.median(t.cpu_ms for t in timings)
    )


def report(names: list[str] | None = None) -> None:
    baseline, handlers = measure_all(names=names)
    base = medians(baseline)
    print(f"## Cold import, every function (median of {RUNS} fresh interpreters)")
    print(
        f"baseline `import boto3` + S3 and DynamoDB clients: {base.cpu_ms:.0f} ms CPU, "
        f"{base.wall_ms:.0f} ms wall. Ratio = the function's CPU ms over the baseline's "
        f"(goal <= {GOAL}); wall time is shown too, but on a shared machine it measures the load."
    )
    print("| function | CPU ms | ratio | wall ms | wall ratio |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for name, times in handlers.items():
        own = medians(times)
        ratio = own.cpu_ms / base.cpu_ms
        worst = max(worst, ratio) if name != FLOOR_ROW else worst
        print(
            f"| {name} | {own.cpu_ms:.0f} | {ratio:.2f} "
            f"| {own.wall_ms:.0f} | {own.wall_ms / base.wall_ms:.2f} |"
        )
    print(f"worst ratio: {worst:.2f} ({'within' if worst <= GOAL else 'over'} {GOAL})")
    print()
    from bench import first_requests  # it builds on this module

    first_requests.report()


def importtime(logical_id: str) -> None:
    """The 25 costliest imports of one function (cumulative microseconds)."""
    spec = stack()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", handler_code(spec, logical_id)],
        cwd=ROOT,
        env=environment(spec) | {"PYTHONPYCACHEPREFIX": str(PYCACHE)},
        check=True,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), name.rstrip()))
    for cumulative, name in sorted(rows, reverse=True)[:25]:
        print(f"{cumulative / 1000:8.1f} ms {name}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--importtime"]:
        importtime(sys.argv[2])
    else:
        report(sys.argv[1:] or None)
