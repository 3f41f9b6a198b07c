"""The `stowage` CLI next to boto3's `upload_file` (s3transfer), against the same
local S3 in the same run; the cost of the CLI's checksums; and its peak memory for a
small and a large file.

Both tools run as subprocesses and upload the same file with the same part size
(8 MiB) and concurrency (8). Throughput is the file's size over the upload's own
time (`seconds` in the CLI's JSON: init, parts, complete; boto3: `upload_file`);
the whole command's wall time, interpreter start included, is shown too.

boto3 runs with its defaults (`request_checksum_calculation="when_supported"`: a
CRC32 of every part), which is what a user would run instead; the CLI with its own
(a CRC64NVME of every part, signed into its URL, and of the whole file at complete).
Each of the 7 runs is one CLI upload next to one boto3 upload, and its ratio is
printed (goal: >= 1.0 in each). The CLI with `--no-checksums` on the same file gives
the checksums' cost (goal: <= 5 %).

Every stored version is deleted after each upload: the files bucket is versioned and
moto keeps each version (in memory or its temporary files).

moto's object files go to /dev/shm (tmpfs) when it is there (`DEVSTACK_MOTO_TMPDIR`):
on this VM's ext4 a 1 GiB write takes 2.2-3.6 s (300-480 MB/s, dd) against 0.4-0.9 s on
tmpfs, so with files on disk every upload's time swung with the disk, whichever tool
sent it, and runs of the same command differed by up to 45 %. Both tools write to the
same local S3 either way; the header says where its files were.
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

from devstack.moto_process import OBJECTS_DIR_VARIABLE
from devstack.seed import seed
from devstack.stack import LocalStack

MIB = 1024 * 1024
SIZES = {"256 MiB": 256 * MIB, "1 GiB": 1024 * MIB}
RUNS = 7
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

    def cli(self, path: Path, *flags: str) -> Run:
        command = [str(STOWAGE), "upload", str(path), "-q", "--json", "--overwrite", *flags]
        run = timed(command, self.env, lambda line: float(json.loads(line)["seconds"]))
        self.purge()
        return run

    def boto3(self, path: Path, checksums: str = "when_supported") -> Run:
        key = f"bench/{path.name}"
        command = [sys.executable, "-c", BOTO3_UPLOAD, self.stack.s3_endpoint, self.bucket]
        run = timed([*command, key, str(path), checksums], self.env, float)
        self.purge()
        return run

    def purge(self) -> None:
        """Delete every version of every object: moto holds them all in memory."""
        s3 = self.stack.s3()
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket):
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                s3.delete_object(Bucket=self.bucket, Key=entry["Key"], VersionId=entry["VersionId"])

    def throughput_rows(self, label: str, size: int) -> tuple[str, str]:
        """One row of CLI vs boto3 (each run's ratio), one of the checksums' cost."""
        path = random_file(self.folder, size)
        cli, boto, bare = [], [], []
        for _ in range(RUNS):  # alternated, so a slow moment hits all three
            cli.append(self.cli(path))
            boto.append(self.boto3(path))
            bare.append(self.cli(path, "--no-checksums"))
        path.unlink()
        mib = size / MIB
        ratios = [b.upload / c.upload for c, b in zip(cli, boto, strict=True)]
        cli_time = statistics.median(r.upload for r in cli)
        boto_time = statistics.median(r.upload for r in boto)
        bare_time = statistics.median(r.upload for r in bare)
        walls = [statistics.median(r.wall for r in runs) for runs in (cli, boto)]
        versus = (
            f"| {label} | {mib / cli_time:.0f} | {mib / boto_time:.0f} "
            f"| {' / '.join(f'{r:.2f}' for r in ratios)} | {min(ratios):.2f} "
            f"| {walls[0]:.1f} / {walls[1]:.1f} |"
        )
        each = [(c.upload / b.upload - 1) * 100 for c, b in zip(cli, bare, strict=True)]
        cost = (
            f"| {label} | {mib / cli_time:.0f} | {mib / bare_time:.0f} "
            f"| {(cli_time / bare_time - 1) * 100:+.1f} % | {statistics.median(each):+.1f} % "
            f"| {' / '.join(f'{c:+.0f}' for c in each)} |"
        )
        return versus, cost

    def memory_row(self) -> str:
        peaks = []
        for size in (10 * MIB, 1024 * MIB):
            path = random_file(self.folder, size)
            peaks.append(self.cli(path).peak_mib)
            path.unlink()
        return f"| {peaks[0]} | {peaks[1]} | {peaks[1] - peaks[0]:+d} |"


def whole_file_crc_row(size: int = 1024 * MIB, part: int = 8 * MIB) -> str:
    """The whole file's CRC64NVME, two ways: combining the parts' CRCs (what the CLI does)
    or one more pass over the file as it is read."""
    from awscrt import checksums

    data = os.urandom(part)
    count = size // part
    crcs = [checksums.crc64nvme(data)] * count
    start = time.perf_counter()
    total = 0
    for value in crcs:
        total = checksums.combine_crc64nvme(total, value, part)
    combine = time.perf_counter() - start
    start = time.perf_counter()
    running = 0
    for _ in range(count):
        running = checksums.crc64nvme(data, running)
    one_pass = time.perf_counter() - start
    assert running == total
    return f"| {count} | {combine * 1e3:.2f} | {one_pass * 1e3:.0f} |"


def objects_in_memory() -> str | None:
    """tmpfs for moto's object files, if this machine has one we may write to."""
    shm = Path("/dev/shm")  # nosec B108  # tmpfs, for the local S3's files only
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def report(sizes: dict[str, int] = SIZES) -> None:
    crc_row = whole_file_crc_row()
    objects = objects_in_memory()
    before = os.environ.get(OBJECTS_DIR_VARIABLE)
    if objects:
        os.environ[OBJECTS_DIR_VARIABLE] = objects
    try:
        with tempfile.TemporaryDirectory() as folder, LocalStack(seed=seed) as stack:
            bench = Bench(stack, Path(folder))
            bench.cli(random_file(Path(folder), 9 * MIB))  # warm the multipart functions
            memory = bench.memory_row()
            rows = [bench.throughput_rows(label, size) for label, size in sizes.items()]
    finally:
        if before is None:
            os.environ.pop(OBJECTS_DIR_VARIABLE, None)
        else:
            os.environ[OBJECTS_DIR_VARIABLE] = before
    where = f"its object files in {objects}" if objects else "its object files on disk"
    print(
        f"## CLI upload vs boto3 upload_file, both with their defaults "
        f"(local stack, {where}, {RUNS} runs)"
    )
    print(
        "| file | stowage CLI MiB/s (median) | boto3 MiB/s (median) | ratio, each run "
        "| lowest ratio (goal >= 1.0) | wall s, CLI / boto3 |"
    )
    print("|---|---|---|---|---|---|")
    print("\n".join(versus for versus, _ in rows))
    print()
    print("## The CLI's checksums: with and without (`--no-checksums`), same file")
    print(
        "| file | with MiB/s | without MiB/s | cost of the medians (goal <= 5 %) "
        "| median of each run's cost | cost %, each run |"
    )
    print("|---|---|---|---|---|---|")
    print("\n".join(cost for _, cost in rows))
    print()
    print("## The whole file's CRC64NVME of 1 GiB in 8 MiB parts (in memory)")
    print("| parts | combining their CRCs, ms | one more pass over the bytes, ms |")
    print("|---|---|---|")
    print(crc_row)
    print()
    print("## Peak RSS of `stowage upload` (MiB)")
    print("| 10 MiB file | 1 GiB file | difference |")
    print("|---|---|---|")
    print(memory)
