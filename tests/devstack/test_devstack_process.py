"""moto's server runs in a child process: it serves, and it never outlives the stack.

Each test waits on the event itself (a pidfd turns readable when its process ends),
with a deadline; nothing sleeps.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import aws

ROOT = Path(__file__).resolve().parent.parent.parent
DEADLINE_SECONDS = 60


def wait_gone(pidfd: int) -> bool:
    """Whether the process behind `pidfd` ended within the deadline."""
    readable, _, _ = select.select([pidfd], [], [], DEADLINE_SECONDS)
    return bool(readable)


def children(pid: int) -> list[int]:
    """The processes `pid` started (Linux's /proc/PID/task/*/children)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def alive_in_session(session: int) -> list[str]:
    """Processes (not zombies) still in session `session`, as `pid command`."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended while we looked
            continue
        state, _ppid, _pgrp, sid = stat.rpartition(")")[2].split()[:4]
        if int(sid) == session and state != "Z":
            alive.append(f"{entry.name} {stat.partition(' ')[2].partition(')')[0]})")
    return alive


def read_until(stream: object, marker: bytes) -> list[bytes]:
    lines = []
    for line in iter(stream.readline, b""):  # type: ignore[attr-defined]
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"the stack ended before it said {marker!r}: {lines}")


def test_the_server_runs_in_a_child_process_and_serves() -> None:
    # Given moto's server started the way LocalStack starts it
    server = aws.MotoServer(0)
    endpoint = server.start()
    try:
        # Then it is another process than this one, and it serves S3 and DynamoDB
        assert server.pid is not None
        assert server.pid != os.getpid()
        assert server.pid in children(os.getpid())
        aws.s3_client(endpoint).create_bucket(Bucket="in-the-child")
        assert [b["Name"] for b in aws.s3_client(endpoint).list_buckets()["Buckets"]] == [
            "in-the-child"
        ]
        # And reset() empties it
        server.reset()
        assert aws.s3_client(endpoint).list_buckets()["Buckets"] == []
        pidfd = os.pidfd_open(server.pid)
    finally:
        server.stop()
    # And stop() ends the process
    try:
        assert wait_gone(pidfd)
    finally:
        os.close(pidfd)


def test_the_server_dies_with_its_parent_even_on_sigkill() -> None:
    # Given a process that started moto's server and said the server's pid
    script = (
        "import sys\n"
        "from devstack import aws\n"
        "server = aws.MotoServer(0)\n"
        "server.start()\n"
        "print(server.pid, flush=True)\n"
        "sys.stdin.read()\n"
    )
    parent = subprocess.Popen(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert parent.stdout is not None
    try:
        moto_pid = int(parent.stdout.readline())
        pidfd = os.pidfd_open(moto_pid)
        # When the parent is killed outright, with no chance to clean up
        parent.kill()
        parent.wait(DEADLINE_SECONDS)
        # Then moto's process ends by itself
        try:
            assert wait_gone(pidfd), f"moto's process {moto_pid} outlived its parent"
        finally:
            os.close(pidfd)
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait()


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_make_dev_stops_and_leaves_no_process_behind(tmp_path: Path, how: int) -> None:
    # Given `python -m devstack` (what `make dev` runs) in a session of its own, as a
    # terminal runs it, on free ports
    environment = {
        **os.environ,
        "PORT": "0",
        "S3_PORT": "0",
        "SCHEDULE_SECONDS": "0",
        "DEVSTACK_INFO_FILE": str(tmp_path / "dev.json"),
    }
    dev = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", "devstack"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env=environment,
        start_new_session=True,
    )
    assert dev.stdout is not None
    try:
        read_until(dev.stdout, b"Ctrl-C stops.")
        (moto_pid,) = children(dev.pid)
        pidfd = os.pidfd_open(moto_pid)
        # When Ctrl-C reaches the whole foreground group (or SIGTERM the stack)
        if how == signal.SIGINT:
            os.killpg(dev.pid, signal.SIGINT)
        else:
            dev.send_signal(signal.SIGTERM)
        # Then the stack stops cleanly, moto's process ends, and nothing of the
        # session is left running
        assert dev.wait(DEADLINE_SECONDS) == 0
        try:
            assert wait_gone(pidfd)
        finally:
            os.close(pidfd)
        assert alive_in_session(dev.pid) == []
        assert not (tmp_path / "dev.json").exists()
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
        dev.wait()


def test_moto_keeps_its_object_files_where_devstack_moto_tmpdir_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Given moto's process started with DEVSTACK_MOTO_TMPDIR set to a folder of ours
    monkeypatch.setenv("DEVSTACK_MOTO_TMPDIR", str(tmp_path))
    server = aws.MotoServer(0)
    s3 = aws.s3_client(server.start())
    try:
        # When it stores an object too large for its memory buffer (5 MiB)
        s3.create_bucket(Bucket="tmpdir-bucket")
        s3.put_object(Bucket="tmpdir-bucket", Key="big", Body=b"b" * (6 * 1024 * 1024))
        assert server.pid is not None
        opened = []
        for fd in Path(f"/proc/{server.pid}/fd").iterdir():
            try:
                opened.append(os.readlink(fd))
            except OSError:
                continue
    finally:
        server.stop()
    # Then the object's (unlinked) file is in that folder
    assert any(name.startswith(f"{tmp_path}/") and "(deleted)" in name for name in opened)
