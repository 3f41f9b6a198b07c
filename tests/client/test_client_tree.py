"""Folder backups that restore: `watch` keeps the tree (names that flattening made
collide stay apart), `restore` rebuilds it byte for byte, skips what already matches,
and `--delete-after-upload` deletes a local file only once the server confirmed it."""

from __future__ import annotations

import json
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

from stowage_client.api import StowageApi
from stowage_client.watchdb import WatchDb
from tests.client.conftest import Cli
from tests.client.faults import Fault, FaultProxy
from tests.client.test_client_watch import content_of, eventually, watching

TREE = {
    "a_b/c": b"flattened, this was a_b_c",
    "a/b_c": b"and so was this",
    "uploads/users/123/avatar.png": b"\x89PNG\r\n" + bytes(range(256)) * 40,
    "docs/r\u00e9sum\u00e9 #1.txt": b"unicode and an unsafe character",
    "empty.bin": b"",
    "deep/er/and/deeper/x.json": b'{"x": 1}',
}


def make_tree(root: Path) -> None:
    for relative, data in TREE.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def tree_of(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def back_up(folder: Path, api: StowageApi, tmp_path: Path, prefix: str, **options: Any) -> WatchDb:
    db = WatchDb(tmp_path / f"watch-{uuid.uuid4().hex[:6]}.db")
    with watching(
        folder, db, api, tmp_path, remote_prefix=prefix, upload_existing=True, **options
    ) as running:
        eventually(lambda: all(db.uploaded(str(folder / r)) for r in TREE) and running.idle())
    return db


def test_a_watched_tree_restores_byte_identical_and_a_rerun_fetches_nothing(
    make_api, cli: Cli, tmp_path: Path
):
    # Given: a folder backed up by `watch` under a prefix of its own
    folder, top = tmp_path / "site", f"site-{uuid.uuid4().hex[:8]}/"
    make_tree(folder)
    db = back_up(folder, make_api(), tmp_path, top)
    keys = {r: db.uploaded(str(folder / r)).key for r in TREE}  # type: ignore[union-attr]
    assert keys["a_b/c"] != keys["a/b_c"]
    # When: restored into an empty folder
    target = tmp_path / "restored"
    done = cli.run("restore", f"user/dev/tree/{top}", str(target), "--json")
    # Then: the same tree, byte for byte (the key's unsafe `#` maps back to `_` only)
    assert done.returncode == 0, done.stderr
    expected = {r.replace("#", "_"): data for r, data in TREE.items()}
    assert tree_of(target) == expected
    lines = json_lines(done.stdout)
    assert sorted(line["status"] for line in lines[:-1]) == ["restored"] * len(TREE)
    assert lines[-1]["summary"]["restored"] == len(TREE)
    # When: run again, with one local file changed behind its back (same size)
    changed = target / "a_b" / "c"
    changed.write_bytes(b"X" * len(TREE["a_b/c"]))
    again = json_lines(cli.run("restore", f"user/dev/tree/{top}", str(target), "--json").stdout)
    # Then: only that file is fetched; the rest matched by size and checksum
    statuses = {
        Path(line["path"]).relative_to(target).as_posix(): line["status"] for line in again[:-1]
    }
    assert statuses.pop("a_b/c") == "restored"
    assert set(statuses.values()) == {"skipped"}
    assert tree_of(target) == expected


def test_a_restore_puts_no_corrupted_or_partial_file_in_place(
    make_api, cli: Cli, proxy: FaultProxy, tmp_path: Path
):
    # Given: a backed-up tree, and every download's fourth byte flipped on its way
    folder, top = tmp_path / "site", f"site-{uuid.uuid4().hex[:8]}/"
    make_tree(folder)
    back_up(folder, make_api(), tmp_path, top)
    proxy.add(Fault("range", flip=3, times=-1))
    target = tmp_path / "restored"
    # When
    done = cli.through(proxy).run("restore", f"user/dev/tree/{top}", str(target), "--json")
    # Then: every file with a fourth byte failed its checksum, exit 1, and nothing but
    # the empty file is in place (no temporary file either)
    assert done.returncode == 1
    assert json_lines(done.stdout)[-1]["summary"]["failed"] == len(TREE) - 1
    assert tree_of(target) == {"empty.bin": b""}


def test_delete_after_upload_deletes_only_what_the_server_confirmed(
    make_api, proxy: FaultProxy, tmp_path: Path
):
    # Given: a watched folder whose file info the server cannot answer
    folder, top = tmp_path / "in", f"del-{uuid.uuid4().hex[:8]}/"
    folder.mkdir()
    proxy.add(Fault("api", status=500, method="GET", match="/v1/files/", times=-1))
    kept, results = folder / "kept.txt", []
    db = WatchDb(tmp_path / "watch.db")
    with watching(
        folder, db, make_api(proxy), tmp_path, remote_prefix=top, delete_after_upload=True
    ) as running:
        running.watcher.on_result = results.append
        kept.write_bytes(b"uploaded but never confirmed")
        eventually(lambda: results and running.idle())
        # Then: uploaded, but the unconfirmed file stays
        assert kept.exists() and results[-1]["deleted"] is False
        # When: the server answers again and another file lands
        proxy.reset()
        gone = folder / "gone.txt"
        gone.write_bytes(b"confirmed")
        eventually(lambda: len(results) == 2 and running.idle())
    # Then: that one is deleted, and the server holds its bytes
    record = db.uploaded(str(gone))
    assert record is not None and not gone.exists()
    assert content_of(make_api(), record.key, tmp_path) == b"confirmed"
    assert results[-1] == results[-1] | {"event": "uploaded", "deleted": True}


def test_delete_after_upload_keeps_a_file_whose_stored_checksum_differs(make_api, tmp_path: Path):
    # Given: a server whose info answers another checksum than the file's
    folder, top = tmp_path / "in", f"del-{uuid.uuid4().hex[:8]}/"
    folder.mkdir()
    api = make_api()
    real = api.file_info

    def lying(key: str) -> dict[str, Any]:
        info = real(key)
        if info.get("checksum"):
            return info | {"checksum": info["checksum"] | {"value": "AAAAAAAAAAA="}}
        return info | {"sha256": "0" * 64}

    api.file_info = lying  # type: ignore[method-assign]
    db, path = WatchDb(tmp_path / "watch.db"), folder / "f.txt"
    with watching(
        folder, db, api, tmp_path, remote_prefix=top, delete_after_upload=True
    ) as running:
        path.write_bytes(b"keep me")
        eventually(lambda: db.uploaded(str(path)) and running.idle())
    # Then: uploaded, and still here
    assert db.uploaded(str(path)) is not None and path.read_bytes() == b"keep me"


def test_a_changed_file_replaces_its_own_key_and_a_rerun_sends_nothing(make_api, tmp_path: Path):
    # Given: a file backed up once
    folder, top = tmp_path / "in", f"chg-{uuid.uuid4().hex[:8]}/"
    folder.mkdir()
    api, path = make_api(), folder / "avatar.png"
    path.write_bytes(b"v1")
    db = WatchDb(tmp_path / "watch.db")
    results: list[dict[str, Any]] = []
    with watching(folder, db, api, tmp_path, remote_prefix=top, upload_existing=True) as running:
        running.watcher.on_result = results.append
        eventually(lambda: db.uploaded(str(path)) and running.idle())
        first = db.uploaded(str(path))
        # When: it changes
        path.write_bytes(b"version two")
        eventually(lambda: (db.uploaded(str(path)) or first).size == 11 and running.idle())  # type: ignore[union-attr]
    # Then: the same key, now with the new bytes (no `avatar (1).png`)
    second = db.uploaded(str(path))
    assert first is not None and second is not None and second.key == first.key
    assert content_of(api, first.key, tmp_path) == b"version two"
    # When: a watcher with a fresh database (a lost state) uploads the folder again
    rerun = WatchDb(tmp_path / "fresh.db")
    again: list[dict[str, Any]] = []
    with watching(folder, rerun, api, tmp_path, remote_prefix=top, upload_existing=True) as running:
        running.watcher.on_result = again.append
        eventually(lambda: again and running.idle())
    # Then: the server already held these bytes there: a skip, nothing uploaded
    assert [(r["event"], r.get("reason"), r["key"]) for r in again] == [
        ("skipped", "already stored", first.key)
    ]


def test_watch_json_prints_one_line_per_upload_on_stdout(cli: Cli, tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    top = f"json-{uuid.uuid4().hex[:8]}/"
    daemon = cli.start(
        "watch",
        str(folder),
        "--json",
        "--debounce",
        "0.3",
        "--remote-prefix",
        top,
        "--db",
        str(tmp_path / "w.db"),
        "--no-reports",
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(daemon.stdout or []), daemon=True).start()
    errors: list[str] = []
    threading.Thread(target=lambda: errors.extend(daemon.stderr or []), daemon=True).start()
    eventually(lambda: any("watching" in line for line in errors))
    (folder / "sub").mkdir()
    (folder / "sub" / "a.txt").write_text("a")
    try:
        eventually(lambda: any('"uploaded"' in line for line in lines))
    finally:
        daemon.terminate()
        daemon.wait(15)
    event = next(json.loads(line) for line in lines if '"uploaded"' in line)
    assert event["key"] == f"user/dev/tree/{top}sub/a.txt" and event["size"] == 1
    assert daemon.returncode == 0 and isinstance(subprocess.CompletedProcess, type)
