"""The archive builder: time and peak memory (RSS) for 1,000 files of 1 MiB and for
4 files of 256 MiB, on the local stack.

The builder runs in a process of its own (as on Lambda, where the function's memory is
its own), reading from and writing to the local stack's S3 over HTTP; its peak RSS is
the child's `ru_maxrss`. The goal: at most 256 MiB, the function's MemorySize, for both.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404  # runs this repository's own Python, no shell
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from devstack.stack import LocalStack
from stowage import config
from stowage.domain.stored import META_CLIENT, META_NAME
from stowage.models.archives import CreateArchiveRequest
from stowage.models.identity import Caller
from stowage.wiring import build_archive_service

MIB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent
CASES = [(1000, 1 * MIB, "application/octet-stream"), (4, 256 * MIB, "video/mp4")]

# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child forked from this
# process (moto holding every object in memory) would report the parent's peak.
CHILD = """
import json, sys, time
from datetime import timedelta
def peak_kib():
    lines = open("/proc/self/status").read().splitlines()
    return int(next(line for line in lines if line.startswith("VmHWM:")).split()[1])
from stowage.wiring import build_archive_builder
builder = build_archive_builder()
before = peak_kib()
started = time.monotonic()
outcome = builder.build(sys.argv[1], timedelta(minutes=15))
seconds = time.monotonic() - started
result = {"outcome": outcome, "seconds": seconds, "peak_kib": peak_kib(), "base_kib": before}
print(json.dumps(result))
"""


class NoTrigger:
    """The bench starts the builder itself, in a process of its own."""

    def start(self, archive_id: str) -> None:
        return None


def seed(stack: LocalStack, count: int, size: int, content_type: str) -> str:
    """`count` objects of `size` random bytes owned by the dev client; answers their prefix."""
    s3, bucket = stack.s3(), stack.bucket_name("FilesBucket")
    prefix = f"user/dev/20260101/bench-{count}x{size // MIB}/"
    chunk = os.urandom(size)

    def put(n: int) -> None:
        name = f"file-{n:05d}.bin"
        s3.put_object(
            Bucket=bucket,
            Key=prefix + name,
            Body=chunk[n % 7 :] + chunk[: n % 7],  # different bytes, same size
            ContentType=content_type,
            Metadata={META_CLIENT: "dev", META_NAME: name},
        )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(put, range(count)))
    return prefix


def build_in_child(archive_id: str) -> dict[str, float]:
    env = os.environ | {"PYTHONPATH": str(ROOT / "layers" / "common" / "python")}
    answer = subprocess.run(  # nosec B603  # our own interpreter and script
        [sys.executable, "-c", CHILD, archive_id],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    result: dict[str, float] = json.loads(answer.stdout.strip().splitlines()[-1])
    return result


def report() -> None:
    print("## archives: the builder, in its own process, against the local stack")
    print("| files | each | total | content type | build s | MiB/s | peak RSS MiB | zip MiB |")
    print("|---|---|---|---|---|---|---|---|")
    notes = []
    with LocalStack(port=0, s3_port=0) as stack:
        config.clear_settings()  # the stack set the functions' environment just now
        service = build_archive_service()
        service.trigger = NoTrigger()
        caller = Caller(client_id="dev", role="user", max_file_size=1 << 40)
        for count, size, content_type in CASES:
            prefix = seed(stack, count, size, content_type)
            started = time.monotonic()
            created = service.create(caller, CreateArchiveRequest(prefix=prefix))
            checked = time.monotonic() - started
            result = build_in_child(created.archive_id)
            status = service.status(caller, created.archive_id)
            total = count * size
            assert status.status == "ready", status.reason
            print(
                f"| {count:,} | {size // MIB} MiB | {total // MIB:,} MiB | {content_type} "
                f"| {result['seconds']:.1f} | {total / MIB / result['seconds']:.0f} "
                f"| {result['peak_kib'] / 1024:.0f} | {(status.size or 0) / MIB:,.0f} |"
            )
            notes.append(
                f"- {count:,} files: the request checked them in {checked:.1f} s; the builder "
                f"process peaked at {result['base_kib'] / 1024:.0f} MiB before its first byte"
            )
    print("\n".join(notes))
