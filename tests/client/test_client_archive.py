"""`stowage archive`: a zip of a prefix (or of keys), built by the server, downloaded."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.client.conftest import Cli
from tests.support.http import unique_name


def test_archive_a_prefix_and_download_it(cli: Cli, tmp_path: Path):
    # Given: two uploaded files sharing a name prefix
    stem = unique_name("")
    sources = {}
    for n in range(2):
        path = tmp_path / f"{stem}-{n}.txt"
        path.write_text(f"file {n}\n" * 100)
        sources[path.name] = path.read_bytes()
    keys = [cli.json("upload", str(tmp_path / name))["key"] for name in sources]
    prefix = keys[0].rsplit("/", 1)[0] + f"/{stem}-"
    # When: archived into a named zip
    out = tmp_path / "out.zip"
    result = cli.json("archive", prefix, "-o", str(out))
    by_key = cli.json("archive", "--key", keys[1], "-o", str(tmp_path))
    # Then: the zip holds both files, byte for byte
    assert result["files"] == 2 and result["size"] == out.stat().st_size
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        assert {n: archive.read(n) for n in archive.namelist()} == sources
    with zipfile.ZipFile(by_key["path"]) as archive:
        assert archive.namelist() == [f"{stem}-1.txt"]


def test_archive_of_nothing_fails_with_the_servers_reason(cli: Cli, tmp_path: Path):
    answer = cli.run("archive", f"user/{unique_name('')}", "-o", str(tmp_path / "x.zip"))
    assert answer.returncode == 1 and "FILE_NOT_FOUND" in answer.stderr
    assert not (tmp_path / "x.zip").exists()
    usage = cli.run("archive", "-o", str(tmp_path / "x.zip"))
    assert usage.returncode == 2
