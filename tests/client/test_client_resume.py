"""Interrupted uploads continue where they stopped: the same command, run again, asks
the status route what S3 holds and sends only the rest (PUTs counted at the proxy)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from stowage_client.api import StowageApi
from stowage_client.resume import ResumeStore
from tests.client.conftest import MIB, Cli, random_file
from tests.client.faults import Fault, FaultProxy
from tests.support.http import unique_name


def recorded_upload_id(cli: Cli, path: Path) -> str:
    store = ResumeStore(Path(cli.env["STOWAGE_STATE_DIR"]) / "uploads.db", cli.env["STOWAGE_URL"])
    recorded = store.find(str(path.resolve()))
    assert recorded is not None
    return recorded.upload_id


def test_an_upload_killed_midway_resumes_without_resending_finished_parts(
    cli: Cli, proxy: FaultProxy, tmp_path: Path
):
    # Given: six parts (5 x 5 MiB + 1 MiB); S3 takes two, then holds every other PUT
    source = tmp_path / unique_name()
    data = random_file(source, 26 * MIB)
    args = ("upload", str(source), "--part-size", "5M", "--concurrency", "2", "--json")
    proxy.add(Fault("part", hold=True, skip=2, times=-1))
    running = cli.through(proxy).start(*args)
    proxy.wait_for("part", 2)
    proxy.wait_for("part", 1, status=0)  # a third part is on its way when the kill comes
    # When: kill -9, then the same command again
    running.kill()
    assert running.wait(10) == -signal.SIGKILL
    proxy.reset()
    again = cli.through(proxy).json(*args[:-1])
    # Then: only the four missing parts were sent, and the stored file is whole
    assert again["parts_resumed"] == 2 and again["parts_sent"] == 4
    assert proxy.count("part") == proxy.count("part", 200) == 4
    cli.json("download", again["key"], "-o", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == data


def test_ctrl_c_stops_cleanly_and_the_rerun_finishes(cli: Cli, proxy: FaultProxy, tmp_path: Path):
    # Given: a slow S3 (each part takes a second), one part at a time
    source = tmp_path / unique_name()
    data = random_file(source, 21 * MIB)
    args = ("upload", str(source), "--part-size", "5M", "--concurrency", "1")
    proxy.add(Fault("part", delay=1.0, times=-1))
    running = cli.through(proxy).start(*args)
    proxy.wait_for("part", 1)
    # When: Ctrl-C
    running.send_signal(signal.SIGINT)
    _, stderr = running.communicate(timeout=20)
    # Then: it stops after the part in flight, says how to resume, and the rerun does
    assert running.returncode == 130 and "run the same command again" in stderr
    sent_before = proxy.count("part", 200)
    assert 1 <= sent_before < 5
    proxy.reset()
    again = cli.through(proxy).json(*args)
    assert again["parts_resumed"] == sent_before and proxy.count("part") == 5 - sent_before
    cli.json("download", again["key"], "-o", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == data


def test_a_changed_file_starts_over_and_cancels_the_stale_upload(
    cli: Cli, proxy: FaultProxy, tmp_path: Path, make_api
):
    # Given: an upload of a file that was interrupted after its first part
    source = tmp_path / unique_name()
    random_file(source, 11 * MIB)
    args = ("upload", str(source), "--part-size", "5M", "--concurrency", "1")
    proxy.add(Fault("part", hold=True, skip=1, times=-1))
    running = cli.through(proxy).start(*args)
    proxy.wait_for("part", 1)
    running.kill()
    running.wait(10)
    stale = recorded_upload_id(cli, source)
    # When: the file changes, then the same command runs again
    changed = random_file(source, 11 * MIB)
    os.utime(source, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    again = cli.json(*args)
    # Then: a new upload sent every part; the stale one is cancelled
    api: StowageApi = make_api()
    assert again["id"] != stale and again["parts_resumed"] == 0 and again["parts_sent"] == 3
    assert api.upload_status(stale)["status"] == "cancelled"
    cli.json("download", again["key"], "-o", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == changed
