"""Cold import of a handler module next to `import boto3` + one client, in fresh interpreters."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
BOTO3_ONLY = """
import time; t = time.perf_counter()
import boto3; boto3.client("s3")
print((time.perf_counter() - t) * 1000)
"""
HANDLER = """
import time, importlib.util, sys; t = time.perf_counter()
sys.path.insert(0, "layers/common/python")
spec = importlib.util.spec_from_file_location("app", "functions/{name}/app.py")
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
print((time.perf_counter() - t) * 1000)
"""


def measure(code: str) -> float:
    env = os.environ | {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "UPLOADS_TABLE": "t",
        "FILES_BUCKET": "b",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    times = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def report() -> None:
    print(f"## Cold import (median of {RUNS} fresh interpreters, ms)")
    print("| what | ms |")
    print("|---|---|")
    print(f"| import boto3 + one client | {measure(BOTO3_ONLY):.0f} |")
    for name in ("health", "upload_init", "upload_complete", "download"):
        print(f"| functions/{name}/app.py | {measure(HANDLER.format(name=name)):.0f} |")
