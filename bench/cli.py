"""The `stowage` CLI next to boto3's `upload_file` (s3transfer), against the same
local S3 in the same run, and the CLI's peak memory for a small and a large file.

Both tools run as subprocesses and upload the same file with the same part size
(8 MiB) and concurrency (8). Throughput is the file's size over the upload's own
time (`seconds` in the CLI's JSON: init, parts, complete; boto3: `upload_file`);
the whole command's wall time, interpreter start included, is shown too. boto3 is
told not to send CRC32 part checksums (`request_checksum_calculation=
"when_required"`): presigned part PUTs carry none, and moto completes a multipart
upload much faster when its parts have them (without, it computes a CRC64NVME of
the whole object), so leaving them on would compare unlike things. The default
boto3 (CRC32 on) is shown for reference.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devstack.seed import seed
from devstack.stack import LocalStack

MIB = 1024 * 1024
SIZES = {"256 MiB": 256 * MIB, "1 GiB": 1024 * MIB}
RUNS = 3
STOWAGE = Path(sys.executable).parent / "stowage"

BOTO3_UPLOAD = """
import sys, time, boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
endpoint, bucket, key, path, checksums = sys.argv[1:6]
config = Config(
    signature_version="s3v4",
    s3={"addressing_style": "path"},
    request_checksum_calculation=checksums,
)
s3 = boto3.client(
    "s3", endpoint_url=endpoint, region_name="us-east-1",
    aws_access_key_id="testing", aws_secret_access_key="testing", config=config,
)
transfer = TransferConfig(multipart_threshold=8 * 2**20, multipart_chunksize=8 * 2**20,
                          max_concurrency=8)
start = time.perf_counter()
s3.upload_file(path, bucket, key, Config=transfer)
print(time.perf_counter() - start)
"""


def random_file(folder: Path, size: int) -> Path:
    path = folder / f"bench-{size // MIB}MiB.bin"
    with path.open("wb") as file:
        for _ in range(size // MIB):
            file.write(os.urandom(MIB))
    return path


# Linux counts the memory a child had before exec (its parent's, when forked) in its
# peak RSS, and this process holds moto's gigabytes: so the command is started by a
# small launcher, whose own few MiB are all that precede the exec.
LAUNCHER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)
sys.stdout.buffer.write(done.stdout)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""


@dataclass
class Run:
    wall: float
    """Seconds, interpreter start to exit."""
    upload: float
    """Seconds of the upload itself, as the command reports it."""
    peak_mib: int


def timed(command: list[str], env: dict[str, str], upload_time: Callable[[str], float]) -> Run:
    """Run one command, which must succeed; `upload_time` reads its last output line."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, *command], env=env, capture_output=True
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stderr.decode()[-500:]}")
    *output, peak_kib = done.stdout.decode().splitlines()
    return Run(wall, upload_time(output[-1]), int(peak_kib) // 1024)  # KiB on Linux


class Bench:
    def __init__(self, stack: LocalStack, folder: Path) -> None:
        self.stack, self.folder = stack, folder
        self.bucket = stack.bucket_name("FilesBucket")
        self.env = os.environ | {
            "STOWAGE_URL": stack.url,
            "STOWAGE_API_KEY": stack.api_key,
            "STOWAGE_STATE_DIR": str(folder / "state"),
            "STOWAGE_CONFIG": str(folder / "none.toml"),
            "NO_PROXY": "*",
        }

    def cli(self, path: Path) -> Run:
        command = [str(STOWAGE), "upload", str(path), "-q", "--json", "--overwrite"]
        return timed(command, self.env, lambda line: float(json.loads(line)["seconds"]))

    def boto3(self, path: Path, checksums: str = "when_required") -> Run:
        key = f"bench/{path.name}"
        command = [sys.executable, "-c", BOTO3_UPLOAD, self.stack.s3_endpoint, self.bucket]
        run = timed([*command, key, str(path), checksums], self.env, float)
        self.stack.s3().delete_object(Bucket=self.bucket, Key=key)  # moto holds it in memory
        return run

    def throughput_row(self, label: str, size: int) -> str:
        path = random_file(self.folder, size)
        cli, boto = [], []
        for _ in range(RUNS):  # alternated, so a slow moment hits both
            cli.append(self.cli(path))
            boto.append(self.boto3(path))
        default = self.boto3(path, "when_supported")
        path.unlink()
        mib = size / MIB
        cli_rate = mib / statistics.median(r.upload for r in cli)
        boto_rate = mib / statistics.median(r.upload for r in boto)
        walls = [statistics.median(r.wall for r in runs) for runs in (cli, boto)]
        return (
            f"| {label} | {cli_rate:.0f} | {boto_rate:.0f} | {cli_rate / boto_rate:.2f} "
            f"| {walls[0]:.1f} / {walls[1]:.1f} | {mib / default.upload:.0f} |"
        )

    def memory_row(self) -> str:
        peaks = []
        for size in (10 * MIB, 1024 * MIB):
            path = random_file(self.folder, size)
            peaks.append(self.cli(path).peak_mib)
            path.unlink()
        return f"| {peaks[0]} | {peaks[1]} | {peaks[1] - peaks[0]:+d} |"


def report(sizes: dict[str, int] = SIZES) -> None:
    with tempfile.TemporaryDirectory() as folder, LocalStack(seed=seed) as stack:
        bench = Bench(stack, Path(folder))
        bench.cli(random_file(Path(folder), MIB))  # warm the API's functions once
        memory = bench.memory_row()
        rows = [bench.throughput_row(label, size) for label, size in sizes.items()]
    print(f"## CLI upload vs boto3 upload_file (local stack, median of {RUNS})")
    print(
        "| file | stowage CLI MiB/s | boto3 MiB/s, no checksums | ratio "
        "| wall s, CLI / boto3 | boto3 default (CRC32) MiB/s |"
    )
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print("## Peak RSS of `stowage upload` (MiB)")
    print("| 10 MiB file | 1 GiB file | difference |")
    print("|---|---|---|")
    print(memory)
