"""tus (bytes through the function, 4 MiB PATCHes) next to the CLI's presigned-part path
(bytes straight to S3), the same file through the same local stack in the same run, and
the function invocations each costs per GiB.

tuspy uploads in this process (one connection, chunks in order, as tus requires); the
CLI runs as a subprocess (`stowage upload`, 8 parallel part PUTs). Throughput is the
file's size over the upload's time. Invocations are counted at the local stack's
function pools, authorizer included (its cache is 300 s, as deployed), and scaled to
1 GiB. Locally the gateway, the functions and S3 share one process and two cores, so
the ratio says more than the absolute MiB/s.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tusclient.client import TusClient

from bench.cli import STOWAGE
from devstack.seed import seed
from devstack.stack import LocalStack

MIB = 1024 * 1024
GIB = 1024 * MIB
SIZE = 256 * MIB
CHUNK = 4 * MIB
RUNS = 2


@contextmanager
def counted(stack: LocalStack) -> Iterator[Counter[str]]:
    """Count every function invocation the gateway makes while the block runs."""
    counts: Counter[str] = Counter()
    pools = stack._gateway.pools  # type: ignore[union-attr]  # the bench looks inside
    originals: dict[str, Callable[..., Any]] = {}
    for name, pool in pools.items():
        originals[name] = pool.invoke

        def invoke(event: Any, wait: float | None = None, *, _name: str = name) -> Any:
            counts[_name] += 1
            return originals[_name](event, wait)

        pool.invoke = invoke  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        for name, pool in pools.items():
            pool.invoke = originals[name]  # type: ignore[method-assign]


def tus_upload(stack: LocalStack, data: bytes) -> float:
    client = TusClient(f"{stack.url}/v1/tus/", headers={"Authorization": f"Bearer {stack.api_key}"})
    start = time.perf_counter()
    uploader = client.uploader(
        file_stream=io.BytesIO(data), chunk_size=CHUNK, metadata={"filename": "bench-tus.bin"}
    )
    uploader.upload()
    return time.perf_counter() - start


def cli_upload(stack: LocalStack, path: Path, folder: Path) -> float:
    env = os.environ | {
        "STOWAGE_URL": stack.url,
        "STOWAGE_API_KEY": stack.api_key,
        "STOWAGE_STATE_DIR": str(folder / "state"),
        "STOWAGE_CONFIG": str(folder / "none.toml"),
        "NO_PROXY": "*",
    }
    command = [str(STOWAGE), "upload", str(path), "-q", "--json", "--overwrite"]
    done = subprocess.run(command, env=env, capture_output=True, check=True)
    return float(json.loads(done.stdout.decode().splitlines()[-1])["seconds"])


def per_gib(counts: Counter[str], runs: int) -> str:
    total = sum(counts.values()) / runs * GIB / SIZE
    parts = ", ".join(f"{name} {n / runs * GIB / SIZE:.0f}" for name, n in sorted(counts.items()))
    return f"{total:.0f} ({parts})"


def report(size: int = SIZE) -> None:
    overrides = {"AuthorizerCacheTtlSeconds": "300"}
    with (
        tempfile.TemporaryDirectory() as folder,
        LocalStack(seed=seed, parameter_overrides=overrides) as stack,
    ):
        data = os.urandom(size)
        path = Path(folder) / "bench-tus.bin"
        path.write_bytes(data)
        tus_upload(stack, data[: 5 * MIB])  # warm the functions once
        tus_times, cli_times = [], []
        with counted(stack) as tus_counts:
            for _ in range(RUNS):
                tus_times.append(tus_upload(stack, data))
        with counted(stack) as cli_counts:
            for _ in range(RUNS):
                cli_times.append(cli_upload(stack, path, Path(folder)))
    mib = size / MIB
    tus_rate = mib / statistics.median(tus_times)
    cli_rate = mib / statistics.median(cli_times)
    print(f"## tus vs the CLI's presigned parts, {mib:.0f} MiB (local stack, median of {RUNS})")
    print("| path | MiB/s | function invocations per GiB |")
    print("|---|---|---|")
    print(f"| tus (tuspy, 4 MiB PATCHes) | {tus_rate:.0f} | {per_gib(tus_counts, RUNS)} |")
    print(f"| stowage CLI (presigned parts) | {cli_rate:.0f} | {per_gib(cli_counts, RUNS)} |")
