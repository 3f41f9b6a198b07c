"""`stowage watch` against the local stack, with a short debounce: new files are
uploaded once they settle, once; restarts and 5xx answers are survived."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stowage_client import watch
from stowage_client.api import StowageApi
from stowage_client.download import Downloader
from stowage_client.resume import ResumeStore
from stowage_client.upload import Uploader, UploadOptions
from stowage_client.watch import Watcher, WatchOptions
from stowage_client.watchdb import WatchDb
from tests.client.conftest import FAST_RETRY, Cli
from tests.client.faults import Fault, FaultProxy
from tests.support.http import unique_name

DEBOUNCE = 0.3


def eventually(check: Callable[[], object], timeout: float = 20.0) -> None:
    """Poll `check` until it holds; fail past the deadline."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@dataclass
class Running:
    thread: threading.Thread
    watcher: Watcher

    def idle(self) -> bool:
        """Nothing left queued: every event taken, every file uploaded or given up."""
        return not self.watcher.pending and self.watcher.events.paths.empty()


class Clock:
    """The watcher's clock, moved by the test: its debounce passes only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return time.time()


@contextmanager
def watching(
    folder: Path, db: WatchDb, api: StowageApi, tmp_path: Path, **options: object
) -> Iterator[Running]:
    """A watcher on its own thread, stopped (as SIGTERM would) on leaving."""
    settings = {"debounce": DEBOUNCE, "retry_delay": 0.1} | options
    uploader = Uploader(
        api,
        api.http,
        UploadOptions(retry=FAST_RETRY),
        ResumeStore(tmp_path / "uploads.db", api.url),
    )
    watcher = Watcher([folder], uploader, db, WatchOptions(**settings))  # type: ignore[arg-type]
    errors: list[BaseException] = []

    def run() -> None:
        try:
            watcher.run(uploader.stop)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert watcher.ready.wait(10), errors
    try:
        yield Running(thread, watcher)
    finally:
        uploader.stop.set()
        thread.join(10)
    assert not thread.is_alive() and errors == []


def log_lines(process: subprocess.Popen[str]) -> list[str]:
    """The process's stderr lines as they come (read on a thread, never blocking)."""
    lines: list[str] = []
    assert process.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stderr or []), daemon=True)
    reader.start()
    return lines


def content_of(api: StowageApi, key: str, tmp_path: Path) -> bytes:
    target = tmp_path / f"download-{unique_name()}"
    Downloader(api, api.http).download(key, target)
    return target.read_bytes()


def drafts_created(proxy: FaultProxy) -> int:
    return sum(1 for s in proxy.seen if s.kind == "api" and s.path == "/v1/drafts")


def test_a_new_file_is_uploaded_under_its_prefixed_path(make_api, tmp_path: Path):
    # Given: a watched folder
    folder, db, api = tmp_path / "in", WatchDb(tmp_path / "watch.db"), make_api()
    (folder / "sub").mkdir(parents=True)
    name = unique_name(".txt")
    with watching(folder, db, api, tmp_path, remote_prefix="cam1-") as running:
        # When: a hidden scratch file lands in a subfolder, then a file beside it (its
        # events come in that order, so the scratch file's was taken before the upload)
        (folder / "sub" / ".scratch.txt").write_text("not this")
        (folder / "sub" / name).write_text("frame\n")
        eventually(lambda: db.uploaded(str(folder / "sub" / name)) and running.idle())
    # Then: stored by path, its prefix and folder kept; the hidden file never
    done = db.uploaded(str(folder / "sub" / name))
    assert done is not None and done.key.endswith(f"/tree/cam1-sub/{name}")
    assert content_of(api, done.key, tmp_path) == b"frame\n"
    assert db.uploaded(str(folder / "sub" / ".scratch.txt")) is None
    assert db.queued() == []


def test_a_file_still_being_written_waits_until_it_is_stable(
    make_api, proxy: FaultProxy, tmp_path: Path, monkeypatch
):
    # Given: a watched folder, the watcher's clock in the test's hands
    folder, db, api = tmp_path / "in", WatchDb(tmp_path / "watch.db"), make_api(proxy)
    folder.mkdir()
    path = folder / unique_name()
    clock = Clock()
    monkeypatch.setattr(watch, "time", clock)
    with watching(folder, db, api, tmp_path) as running:
        # When: the file grows 20 times, each growth after the watcher has looked at the
        # size before it and a whole debounce has passed
        with path.open("wb") as file:
            for chunk in range(20):
                file.write(b"x" * 65536)
                file.flush()
                size = (chunk + 1) * 65536

                def looked(size: int = size) -> bool:
                    entry = running.watcher.pending.get(path.absolute())
                    return entry is not None and entry.seen is not None and entry.seen[0] == size

                clock.now += 2 * DEBOUNCE
                eventually(looked)
                assert db.uploaded(str(path)) is None
        # and then stops growing, for a debounce
        clock.now += 2 * DEBOUNCE
        eventually(lambda: db.uploaded(str(path)))
    # Then: one upload, after the writing stopped, of the whole file
    done = db.uploaded(str(path))
    assert done is not None and done.size == 20 * 65536
    assert drafts_created(proxy) == 1
    assert content_of(api, done.key, tmp_path) == path.read_bytes()


def test_a_restart_uploads_nothing_twice_and_keeps_its_queue(
    make_api, proxy: FaultProxy, tmp_path: Path
):
    # Given: a file uploaded by one run, and a file queued but not yet stable at its stop
    folder, db = tmp_path / "in", WatchDb(tmp_path / "watch.db")
    folder.mkdir()
    first, queued, existing = (folder / unique_name() for _ in range(3))
    with watching(folder, db, make_api(), tmp_path):
        first.write_bytes(b"first")
        eventually(lambda: db.uploaded(str(first)))
    with watching(folder, db, make_api(), tmp_path, debounce=60):
        queued.write_bytes(b"queued")
        eventually(lambda: db.queued() == [str(queued)])
    existing.write_bytes(b"existing")  # appears while nothing watches
    # When: a new run that also uploads existing files
    with watching(folder, db, make_api(proxy), tmp_path, upload_existing=True) as running:
        eventually(
            lambda: db.uploaded(str(queued)) and db.uploaded(str(existing)) and running.idle()
        )
    # Then: the queued and the existing file went up; the first one not again
    assert drafts_created(proxy) == 2
    assert db.queued() == []
    assert sum(day.files for day in db.report()) == 3


def test_a_failing_server_is_recorded_and_the_watcher_goes_on(
    make_api, proxy: FaultProxy, tmp_path: Path
):
    # Given: an API answering 500 to everything
    folder, db, api = tmp_path / "in", WatchDb(tmp_path / "watch.db"), make_api(proxy)
    folder.mkdir()
    broken, later = folder / unique_name(), folder / unique_name()
    proxy.add(Fault("api", status=500, times=-1))
    with watching(folder, db, api, tmp_path, retries=2) as running:
        # When: a file lands, then the server heals and another file lands
        broken.write_bytes(b"broken")
        eventually(lambda: db.report() and db.report()[0].failures == 1)
        assert running.thread.is_alive()
        proxy.reset()
        later.write_bytes(b"later")
        eventually(lambda: db.uploaded(str(later)))
    # Then: three tries (the first and two retries), each retried by the client first
    assert db.uploaded(str(broken)) is None
    assert [(d.files, d.failures) for d in db.report()] == [(1, 1)]
    assert db.queued() == []


def test_the_daemon_stops_on_sigterm_and_reports(cli: Cli, tmp_path: Path):
    # Given: `stowage watch` running
    folder, db_path = tmp_path / "in", tmp_path / "watch.db"
    folder.mkdir()
    daemon = cli.start("watch", str(folder), "--debounce", str(DEBOUNCE), "--db", str(db_path))
    log = log_lines(daemon)
    eventually(lambda: any("watching" in line for line in log))
    # When: a file lands, is uploaded, and the daemon gets SIGTERM
    (folder / "report.csv").write_text("a,b\n1,2\n")
    eventually(lambda: WatchDb(db_path).uploaded(str(folder / "report.csv")))
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(15)
    report = cli.run("watch", "--report", "--db", str(db_path), "--json")
    # Then: a clean exit, its log on stderr, and today's line in the report
    assert daemon.returncode == 0
    eventually(lambda: any("stopped" in line for line in log))
    assert any("uploaded" in line and "report.csv" in line for line in log)
    day = json.loads(report.stdout.splitlines()[0])
    assert (day["files"], day["bytes"], day["failures"]) == (1, 8, 0)
